"""``wizardcoder chat``: a streaming terminal chat.

Enter sends one line; a message that starts with triple quotes runs until a line that ends
with them (for pasted code). Ctrl-C while the model answers stops that answer (what was said
so far stays in the history); Ctrl-C at the prompt clears the line; Ctrl-D or /exit leaves.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

from rich.console import Console

from wizardcoder.engines.base import Engine, SamplingParams
from wizardcoder.interactive.conversation import Conversation

HELP = ('Enter sends. """ starts and ends a multi-line message. Ctrl-C stops an answer. '
        "/reset clears the history, /exit (or Ctrl-D) leaves.")


def read_message(read: Callable[[str], str]) -> str | None:
    """One user message (None at end of input)."""
    try:
        line = read(">>> ")
    except EOFError:
        return None
    if not line.lstrip().startswith('"""'):
        return line
    body = line.lstrip()[3:]
    if body.rstrip().endswith('"""') and body.strip():
        return body.rstrip()[:-3]
    lines = [body] if body else []
    while True:
        try:
            line = read("... ")
        except EOFError:
            return "\n".join(lines)
        if line.rstrip().endswith('"""'):
            lines.append(line.rstrip()[:-3])
            return "\n".join(lines).rstrip("\n")
        lines.append(line)


def chat_loop(engine: Engine, conv: Conversation, params: SamplingParams, console: Console,
              read: Callable[[str], str] = input) -> None:
    try:  # line editing and up-arrow recall of earlier messages for input()
        import readline  # noqa: F401
    except ImportError:  # pragma: no cover - not on every platform
        pass
    console.print(f"[bold]{engine.model_id}[/bold] via {engine.name} · prompt format {conv.prompt_format}. {HELP}",
                  highlight=False)
    while True:
        try:
            message = read_message(read)
        except KeyboardInterrupt:
            console.print("\n(cleared; /exit or Ctrl-D to leave)")
            continue
        if message is None or message.strip() in ("/exit", "/quit"):
            console.print()
            return
        if message.strip() == "/reset":
            conv.reset()
            console.print("(history cleared)")
            continue
        if message.strip() in ("/help", "/?"):
            console.print(HELP)
            continue
        if not message.strip():
            continue
        answer = _answer(engine, conv, message, params, console)
        conv.add(message, answer)


def _answer(engine: Engine, conv: Conversation, message: str, params: SamplingParams, console: Console) -> str:
    pieces: list[str] = []
    stream = engine.stream(conv.request(message), params)
    start, stopped = time.perf_counter(), False
    try:
        for piece in stream:
            pieces.append(piece)
            sys.stdout.write(piece)
            sys.stdout.flush()
    except KeyboardInterrupt:
        stopped = True
    finally:
        stream.close()  # type: ignore[attr-defined]
    elapsed = time.perf_counter() - start
    note = "stopped" if stopped else f"{elapsed:.1f} s"
    sys.stdout.write("\n")
    console.print(f"[dim]({note})[/dim]", highlight=False)
    return "".join(pieces)
