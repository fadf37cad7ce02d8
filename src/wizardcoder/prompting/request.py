"""What a prompt is, before any engine sees it: text, or chat messages.

Lives with the prompting code (which builds requests) so that engines depend on prompting and
never the other way round; ``wizardcoder.engines.base`` re-exports it.
"""

from __future__ import annotations

from dataclasses import dataclass

Message = dict[str, str]


@dataclass(frozen=True)
class Request:
    """One prompt: ``prompt`` text, or ``messages`` for the chat template / chat endpoint."""

    prompt: str | None = None
    messages: tuple[Message, ...] | None = None
    seed: int | None = None  # overrides SamplingParams.seed (one seed per sample for pass@k)
    chat_template: str | None = None  # renders ``messages`` instead of the model's own template

    def __post_init__(self) -> None:
        if (self.prompt is None) == (self.messages is None):
            raise ValueError("a Request has either a prompt or messages")
