"""The card's prompt format as a Jinja chat template, so WizardCoder models work through any
engine's standard chat API (``tokenizer.apply_chat_template``, ``vllm serve --chat-template``,
llama.cpp's server), and the renderer our own engines use for any model's chat template.

One user turn renders exactly as :func:`wizardcoder.prompting.format_prompt`. A system message
replaces the preamble; earlier assistant turns end with the EOS token, as in training. The BOS
token is written only for families whose tokenizer adds one (Code Llama, DeepSeek), because
chat APIs tokenize the rendered text without adding special tokens.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from wizardcoder.prompting.template import PREAMBLE

_BODY = (
    "{%- if messages and messages[0]['role'] == 'system' -%}"
    "{%- set preamble = messages[0]['content'] -%}{%- set turns = messages[1:] -%}"
    "{%- else -%}"
    "{%- set preamble = '" + PREAMBLE + "' -%}{%- set turns = messages -%}"
    "{%- endif -%}"
    "{{- preamble -}}"
    "{%- for message in turns -%}"
    "{%- if message['role'] == 'user' -%}"
    "{{- '\\n\\n### Instruction:\\n' + message['content'] -}}"
    "{%- if not loop.last or add_generation_prompt -%}{{- '\\n\\n### Response:' -}}{%- endif -%}"
    "{%- elif message['role'] == 'assistant' -%}"
    "{{- message['content'] + eos_token -}}"
    "{%- else -%}"
    "{{- raise_exception('roles must be user/assistant (after an optional system message)') -}}"
    "{%- endif -%}"
    "{%- endfor -%}"
)

CHAT_TEMPLATE = _BODY
CHAT_TEMPLATE_WITH_BOS = "{{- bos_token -}}" + _BODY


def wizardcoder_chat_template(adds_bos: bool) -> str:
    """The card's format as a chat template for a tokenizer that does (not) add BOS itself."""
    return CHAT_TEMPLATE_WITH_BOS if adds_bos else CHAT_TEMPLATE


class TemplateError(ValueError):
    """A chat template refused the conversation (``raise_exception`` in the template)."""


def _raise(message: str) -> None:
    raise TemplateError(message)


@lru_cache(maxsize=16)
def _compile(template: str) -> Any:
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    # The same environment settings as transformers' apply_chat_template.
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.globals["raise_exception"] = _raise
    return env.from_string(template)


def render_chat(
    template: str,
    messages: list[dict[str, str]],
    *,
    bos_token: str = "",
    eos_token: str = "",
    add_generation_prompt: bool = True,
) -> str:
    """Render a conversation with a (Hugging Face style) Jinja chat template."""
    return _compile(template).render(
        messages=messages, bos_token=bos_token, eos_token=eos_token, add_generation_prompt=add_generation_prompt
    )
