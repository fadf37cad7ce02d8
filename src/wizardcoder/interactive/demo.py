"""``wizardcoder demo``: a Gradio web chat with streaming answers that never goes online.

Gradio lives only here, so the rest of the package works without the ``demo`` extra. Engines
decode one stream at a time, and freeing a model while a worker thread decodes would crash:
every step of a stream runs under one lock, and shutdown closes the open stream under it.
"""

from __future__ import annotations

import os

# Before gradio is imported: no version check and no telemetry (api.gradio.app).
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

import threading
import time
from collections.abc import Iterator
from typing import Any

import gradio as gr
from rich.console import Console

from wizardcoder.engines.base import Engine, Message, SamplingParams
from wizardcoder.engines.resolve import ModelRef
from wizardcoder.errors import WizardCoderError
from wizardcoder.interactive.conversation import Conversation

EXAMPLES = [
    "Write a Python function that reverses a string.",
    "Write a Python function that checks whether a number is prime.",
    "Explain what this does: `[x * x for x in range(10) if x % 2 == 0]`",
    "Write a SQL query that returns the 5 most recent rows of an `orders` table.",
]

_FORMAT_NOTE = {
    "wizardcoder": "Answers use the WizardCoder card's template (`### Instruction:` / `### Response:`), with the chat so far.",
    "chat": "Answers use the model's own chat template, with the chat so far.",
    "raw": "Each message goes to the model as it is (raw prompt: no template, no history).",
}


def _text(content: Any) -> str:
    """The text of a Gradio message (a string, or a list of parts; files are left out)."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return content.get("text", "") if content.get("type", "text") == "text" else ""
    if isinstance(content, list | tuple):
        return "".join(_text(part) for part in content)
    return ""


def history_turns(history: list[dict[str, Any]] | None) -> list[Message]:
    """Gradio's messages-style history as conversation turns."""
    turns: list[Message] = []
    for message in history or []:
        if message.get("role") in ("user", "assistant") and not (message.get("metadata") or {}).get("title"):
            turns.append({"role": message["role"], "content": _text(message.get("content"))})
    return turns


class DemoChat:
    """The chat function, plus the lock that keeps the engine to one stream at a time."""

    def __init__(self, engine: Engine, ref: ModelRef, prompt_format: str, params: SamplingParams) -> None:
        self.engine, self.ref, self.prompt_format, self.params = engine, ref, prompt_format, params
        self._turn = threading.Lock()  # one generation at a time
        self._step = threading.Lock()  # one engine call at a time (and none after shutdown)
        self._active: Iterator[str] | None = None
        self._closed = False

    def respond(self, message: str, history: list[dict[str, Any]]) -> Iterator[str]:
        conv = Conversation(self.prompt_format, self.ref.card)
        conv.turns = history_turns(history)
        request = conv.request(_text(message))
        answer = ""
        with self._turn:
            with self._step:
                if self._closed:
                    return
                stream = self._active = self.engine.stream(request, self.params)
            try:
                while True:
                    with self._step:
                        if self._closed:
                            return
                        piece = next(stream, None)
                    if piece is None:
                        break
                    answer += piece
                    yield answer
            except WizardCoderError as exc:
                raise gr.Error(str(exc)) from exc
            finally:
                with self._step:
                    if self._active is stream:
                        self._active = None
                        stream.close()  # type: ignore[attr-defined]
        if not answer:
            yield "*(no answer)*"

    def shutdown(self, timeout: float = 30.0) -> None:
        """Stop the open stream, if any; after this the engine is never called again."""
        if not self._step.acquire(timeout=timeout):  # a single decoding step is running past the timeout
            return
        try:
            self._closed = True
            if self._active is not None:
                self._active.close()  # type: ignore[attr-defined]
                self._active = None
        finally:
            self._step.release()


def build_app(engine: Engine, ref: ModelRef, prompt_format: str, params: SamplingParams) -> tuple[gr.ChatInterface, DemoChat]:
    chat = DemoChat(engine, ref, prompt_format, params)
    sampling = "greedy" if params.greedy else f"temperature {params.temperature:g}, top-p {params.top_p:g}"
    description = (f"{_FORMAT_NOTE.get(prompt_format, '')} Runs locally via {engine.name} "
                   f"({sampling}, at most {params.max_tokens} new tokens).")
    app = gr.ChatInterface(
        chat.respond,
        title=f"WizardCoder demo · {ref.label} · {prompt_format} format",
        description=description,
        # No "share" button: it would post the chat to Hugging Face.
        chatbot=gr.Chatbot(label=ref.label, scale=1, buttons=["copy", "copy_all"], feedback_options=None),
        examples=EXAMPLES,
        run_examples_on_click=True,
        cache_examples=False,
        analytics_enabled=False,
        flagging_mode="never",
        fill_height=True,
    )
    app.queue(default_concurrency_limit=1)
    return app, chat


def run_demo(engine: Engine, ref: ModelRef, prompt_format: str, params: SamplingParams, host: str, port: int,
             console: Console) -> None:
    """Serve the chat until Ctrl-C."""
    app, chat = build_app(engine, ref, prompt_format, params)
    try:
        _, local_url, _ = app.launch(
            server_name=host, server_port=port, share=False, prevent_thread_lock=True, quiet=True,
            ssr_mode=False, mcp_server=False, pwa=False, enable_monitoring=False, inbrowser=False, show_error=True,
        )
    except OSError as exc:
        raise WizardCoderError(f"demo: cannot listen on {host}:{port} ({str(exc).split('. ')[0]})") from exc
    try:
        console.print(f"demo: {local_url.rstrip('/')}", highlight=False, soft_wrap=True)
        while True:
            time.sleep(0.5)
    except KeyboardInterrupt:
        console.print("\ndemo: stopping")
    finally:
        app.close()
        chat.shutdown()
