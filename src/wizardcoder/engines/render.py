"""Prompt preparation shared by the engines that tokenize locally (transformers, vLLM, llama.cpp).

Kept in one place so that every engine turns the same request into the same token ids: chat
messages go through the model's own chat template (or the card's, for WizardCoders without one),
and a rendered text that already starts with the BOS token is tokenized without special tokens,
so the model never sees two BOS tokens.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from wizardcoder.engines.base import Message, Request
from wizardcoder.errors import PromptTooLong, WizardCoderError
from wizardcoder.prompting.chat_template import TemplateError, render_chat, wizardcoder_chat_template
from wizardcoder.prompting.registry import ModelCard


def render_messages(
    chat_template: str | None,
    messages: Sequence[Message],
    bos_token: str | None,
    eos_token: str | None,
    card: ModelCard | None,
    request_template: str | None = None,
) -> str:
    """Chat ``messages`` as prompt text, ready for generation (the assistant turn opened).

    ``request_template`` (a request's own template) comes first; WizardCoders then get the card's
    format whatever template a converter left in their files; other models use their own, and
    a model without one is an error, since guessing a format would silently skew results.
    """
    if card is not None and card.prompt_format == "wizardcoder":
        chat_template = wizardcoder_chat_template(card.adds_bos)
    chat_template = request_template or chat_template
    if not chat_template:
        name = card.name if card is not None else "this model"
        raise WizardCoderError(f"{name} has no chat template: send prompts as text (--prompt-format wizardcoder or raw)")
    try:
        return render_chat(chat_template, [dict(m) for m in messages], bos_token=bos_token or "",
                           eos_token=eos_token or "", add_generation_prompt=True)
    except TemplateError as exc:
        raise WizardCoderError(f"the chat template refused the conversation: {exc}") from None


def adds_special_tokens(text: str, bos_token: str | None) -> bool:
    """Whether to let the tokenizer add its special tokens: not when the text brings its own BOS."""
    return not (bos_token and text.startswith(bos_token))


def encode(tokenizer: Any, text: str) -> list[int]:
    """Token ids of a prompt text under the BOS rule (works for HF and vLLM tokenizers)."""
    bos = getattr(tokenizer, "bos_token", None)
    return list(tokenizer.encode(text, add_special_tokens=adds_special_tokens(text, bos)))


def request_text(tokenizer: Any, request: Request, card: ModelCard | None) -> str:
    """The prompt text of a request: its ``prompt``, or its messages rendered for ``tokenizer``."""
    if request.prompt is not None:
        return request.prompt
    assert request.messages is not None
    return render_messages(getattr(tokenizer, "chat_template", None), request.messages,
                           getattr(tokenizer, "bos_token", None), getattr(tokenizer, "eos_token", None), card,
                           request.chat_template)


def fit_context(prompt_tokens: int, max_tokens: int, max_positions: int | None, index: int) -> tuple[int, list[str]]:
    """``max_tokens`` clipped to the context window, with a warning when clipped.

    A prompt that fills the window by itself is an error, not a silent empty completion.
    """
    if max_positions is None or prompt_tokens + max_tokens <= max_positions:
        return max_tokens, []
    room = max_positions - prompt_tokens
    if room <= 0:
        raise PromptTooLong(index, f"the prompt ({prompt_tokens} tokens) does not fit the context ({max_positions} "
                                   "tokens; raise --n-ctx where the model allows)")
    return room, [f"max_tokens clipped from {max_tokens} to {room}: the prompt ({prompt_tokens} tokens) and the "
                  f"completion must fit the model's context ({max_positions} tokens)"]


def special_stop_ids(tokenizer: Any, stops: Iterable[str]) -> list[int]:
    """Ids of stop strings that are single special tokens, which decoding would hide from text matching."""
    added = getattr(tokenizer, "get_added_vocab", None)
    vocab = added() if callable(added) else {}
    return [vocab[s] for s in stops if s in vocab]
