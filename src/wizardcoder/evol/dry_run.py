"""The dry-run teacher ``fake``: deterministic stand-in answers to evol's requests, with no model.

``wizardcoder evolve --seeds S -o DIR --teacher fake`` runs the whole pipeline in process with it
(no server, no weights): evolved tasks that grow by one constraint per round, judgements, answers
with code, and now and then the odd replies a real teacher gives (a leaked meta-prompt, "Equal", a
refusal, an empty answer) at fixed rates, so that every elimination rule gets some work.

Invariants:

- An answer is a function of the prompt text alone: never of the seed, temperature, timing or order
  of requests. A run resumed after a crash, a clean run and a repeated run give the same dataset.
- Tokens are whitespace-separated words (``max_tokens`` cuts at a word; usage counts words).
- This module is the one place of the answer logic. The in-process engine here and the
  fault-injecting HTTP server (:mod:`wizardcoder.testing.fault_server`) both answer through
  :func:`reply`, and the engine trims stop strings as the openai path does after a server
  (:func:`wizardcoder.engines.openai.to_completion`), so a run's rows are byte-identical either way.
- A prompt's kind is read from the fixed first line of evol's meta-prompts (:mod:`.prompts`):
  the fake teacher knows evol's requests, which is why it lives in evol and is registered with the
  engines' resolver (``wizardcoder.evol`` does that on import) instead of being one of theirs.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from typing import Any

from wizardcoder.engines.base import Completion, Engine, FinishReason, Request, SamplingParams
from wizardcoder.engines.openai import MAX_STOPS
from wizardcoder.engines.render import render_messages
from wizardcoder.engines.resolve import ModelRef
from wizardcoder.evol.prompts import BREADTH_HEAD, EVOLVE_HEAD, JUDGE_HEAD
from wizardcoder.prompting.stops import trim_at_stop

# Fractions of prompts (by their hash) that get an odd answer, as a real teacher sometimes gives.
LEAK_RATE = 0.05  # evolve: a reply that leaks the meta-prompt's words ("given prompt")
EQUAL_RATE = 0.15  # judge: "Equal" (the evolved task gained nothing)
REFUSAL_RATE = 0.05  # answer: a refusal
EMPTY_RATE = 0.03  # answer: punctuation only

# Where the task starts in an evolve meta-prompt (prompts._EVOLVE and _BREADTH).
_EVOLVE_HEADERS = ("Task to rewrite:\n", "Task for inspiration:\n")

# One of these is added per evolution, so repeated evolution makes the task grow.
CONSTRAINTS = (
    "The solution must run in O(n log n) time.",
    "Handle empty input by returning None.",
    "Do not use any built-in sorting functions.",
    "The function must also accept negative numbers and zero.",
    "Use only constant extra space apart from the output.",
    "Raise a ValueError when the input contains a value that is not an integer.",
    "Return the result together with the number of steps the algorithm took, as a tuple.",
    "The input may hold up to one million elements, so avoid quadratic algorithms.",
)

_ANSWERS = (
    '''Here is a straightforward solution.

```python
def solve(items):
    """Return the distinct items in ascending order."""
    seen = set()
    result = []
    for item in items:
        if item not in seen:
            seen.add(item)
            result.append(item)
    return sorted(result)
```

The function keeps the first occurrence of each item and then sorts the result, so it runs in
O(n log n) time and uses O(n) extra space.''',
    '''We can solve this with a single pass and a running total.

```python
def solve(numbers):
    if not numbers:
        return None
    best = current = numbers[0]
    for value in numbers[1:]:
        current = max(value, current + value)
        best = max(best, current)
    return best
```

This is Kadane's algorithm: it runs in O(n) time and O(1) extra space, and it returns None for an
empty input.''',
    '''A dictionary makes the lookups constant time.

```python
def solve(words):
    counts = {}
    for word in words:
        key = word.lower()
        counts[key] = counts.get(key, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
```

The result lists each word with its count, most frequent first and ties in alphabetical order.
Counting is O(n) and the final sort is O(k log k) for k distinct words.''',
    '''Binary search finds the position in logarithmic time.

```python
def solve(sorted_values, target):
    low, high = 0, len(sorted_values)
    while low < high:
        middle = (low + high) // 2
        if sorted_values[middle] < target:
            low = middle + 1
        else:
            high = middle
    return low
```

The function returns the leftmost index at which target could be inserted while keeping the list
sorted, in O(log n) time.''',
)
_REFUSAL = "I'm sorry, but I cannot help with that."
_EMPTY = "..."
_WORD = re.compile(r"\S+")


def prompt_kind(text: str) -> str:
    """``evolve``, ``judge`` or ``answer``: which of evol's requests ``text`` is."""
    if text.startswith((EVOLVE_HEAD, BREADTH_HEAD)):
        return "evolve"
    if text.startswith(JUDGE_HEAD):
        return "judge"
    return "answer"


def answer_for(text: str) -> str:
    """The teacher's whole reply to ``text``: a function of the text alone (see the module's rates)."""
    h = int(hashlib.sha1(text.encode()).hexdigest(), 16)
    u = (h & 0xFFFF) / 0x10000  # which odd answer, if any
    pick = h >> 16  # which of the ordinary ones
    kind = prompt_kind(text)
    if kind == "judge":
        return "Equal" if u < EQUAL_RATE else "Not Equal"
    if kind == "evolve":
        cut = max(text.rfind(head) + len(head) if head in text else -1 for head in _EVOLVE_HEADERS)
        task = text[cut:].strip() if cut >= 0 else text.strip()
        start = pick % len(CONSTRAINTS)
        # The first sentence, from a place chosen by the hash, that the task does not have yet.
        added = next((s for i in range(len(CONSTRAINTS)) if (s := CONSTRAINTS[(start + i) % len(CONSTRAINTS)]) not in task),
                     CONSTRAINTS[start])
        if u < LEAK_RATE:
            return f"Rewritten task: {task} {added} Keep the inputs and outputs as in the given prompt and the original task."
        return f"{task} {added}"
    if u < REFUSAL_RATE:
        return _REFUSAL
    if u < REFUSAL_RATE + EMPTY_RATE:
        return _EMPTY
    return _ANSWERS[pick % len(_ANSWERS)]


def reply(text: str, max_tokens: int | None, stop: Sequence[str]) -> tuple[str, FinishReason]:
    """What a server sends for ``text``: the answer cut at the first stop string, then to ``max_tokens``
    words, with the finish reason."""
    out = answer_for(text)
    for s in stop:
        if s and (i := out.find(s)) >= 0:
            out = out[:i]
    if max_tokens is not None and max_tokens >= 0:
        for n, m in enumerate(_WORD.finditer(out), 1):
            if n > max_tokens:
                return out[:m.start()].rstrip(), "length"
    return out, "stop"


def count_tokens(text: str) -> int:
    return len(text.split())


def message_text(message: Any) -> str:
    """A chat message's text (content parts joined); "" for anything else."""
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):  # content parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def chat_text(messages: Sequence[Any]) -> str:
    """The text a chat is answered from: its last user message (else its last message)."""
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    return message_text(users[-1] if users else messages[-1])


class FakeTeacherEngine(Engine):
    """The dry-run teacher as an in-process engine: each completion is :func:`reply` to the text a
    server would have received for the request (see the module's invariants)."""

    name = "fake"

    def __init__(self, ref: ModelRef) -> None:
        self.ref, self.model_id = ref, ref.location

    @classmethod
    def load(cls, ref: ModelRef, **_: Any) -> FakeTeacherEngine:
        return cls(ref)

    def _text(self, request: Request) -> str:
        """As :func:`wizardcoder.engines.openai.call_args` would send it."""
        if request.prompt is not None:
            return request.prompt
        messages = list(request.messages or ())
        if request.chat_template is not None:
            return render_messages(None, messages, "", "", self.ref.card, request.chat_template)
        return chat_text(messages)

    def complete(self, request: Request, params: SamplingParams) -> Completion:
        text = self._text(request)
        out, finish = reply(text, params.max_tokens, params.stop[:MAX_STOPS])
        completion_tokens = count_tokens(out)  # as the server counts, before the client trims
        out, cut = trim_at_stop(out, params.stop)
        return Completion(out, "length" if finish == "length" and not cut else "stop", count_tokens(text),
                          completion_tokens)

    def generate(self, requests: Sequence[Request], params: SamplingParams) -> Iterator[tuple[int, Completion]]:
        for i, request in enumerate(requests):
            yield i, self.complete(request, params)

    def stream(self, request: Request, params: SamplingParams) -> Iterator[str]:
        text = self.complete(request, params).text
        if text:
            yield text
