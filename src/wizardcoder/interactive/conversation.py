"""A conversation turned into requests in the chosen prompt format (shared by chat and demo)."""

from __future__ import annotations

from dataclasses import dataclass, field

from wizardcoder.engines.base import Message, Request
from wizardcoder.prompting.chat_template import wizardcoder_chat_template
from wizardcoder.prompting.registry import ModelCard


@dataclass
class Conversation:
    prompt_format: str  # resolved: wizardcoder | chat | raw
    card: ModelCard | None = None
    system: str | None = None
    turns: list[Message] = field(default_factory=list)

    def request(self, user: str) -> Request:
        """The request for a new user message (with the history before it)."""
        messages = [*([{"role": "system", "content": self.system}] if self.system else []),
                    *self.turns, {"role": "user", "content": user}]
        if self.prompt_format == "raw":
            return Request(prompt=user)
        if self.prompt_format == "wizardcoder":
            adds_bos = self.card.adds_bos if self.card is not None else False
            return Request(messages=tuple(messages), chat_template=wizardcoder_chat_template(adds_bos))
        return Request(messages=tuple(messages))

    def add(self, user: str, answer: str) -> None:
        self.turns += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]

    def reset(self) -> None:
        self.turns.clear()
