"""How an instruction becomes a prompt: ``wizardcoder`` (the card's template, the default),
``chat`` (the model's own chat template, for instruct models that are not WizardCoders) or
``raw`` (the text as it is). ``auto`` picks the registry's format for known models and the card's
template otherwise.
"""

from __future__ import annotations

from wizardcoder.prompting.registry import ModelCard
from wizardcoder.prompting.request import Request
from wizardcoder.prompting.template import format_prompt

FORMATS = ("auto", "wizardcoder", "chat", "raw")


def resolve_format(prompt_format: str, card: ModelCard | None) -> str:
    if prompt_format not in FORMATS:
        raise ValueError(f"unknown prompt format {prompt_format!r} (choose from {', '.join(FORMATS)})")
    if prompt_format != "auto":
        return prompt_format
    return card.prompt_format if card is not None else "wizardcoder"


def make_request(instruction: str, prompt_format: str, input: str | None = None, seed: int | None = None) -> Request:
    """A request for one instruction in a resolved format (not ``auto``)."""
    if prompt_format == "wizardcoder":
        return Request(prompt=format_prompt(instruction, input), seed=seed)
    text = f"{instruction}\n\n{input}" if input else instruction
    if prompt_format == "chat":
        return Request(messages=({"role": "user", "content": text},), seed=seed)
    if prompt_format == "raw":
        return Request(prompt=text, seed=seed)
    raise ValueError(f"unresolved prompt format {prompt_format!r}")


def default_stops(card: ModelCard | None) -> tuple[str, ...]:
    """The family's stop string, passed explicitly (some tokenizers split ``</s>``)."""
    return (card.stop,) if card is not None and card.stop else ()
