"""Prompt formats of the WizardCoder family: the card's template, its chat-template form, stops."""

from wizardcoder.prompting.chat_template import CHAT_TEMPLATE, render_chat, wizardcoder_chat_template
from wizardcoder.prompting.stops import StopScanner, trim_at_stop
from wizardcoder.prompting.template import PROMPT_NO_INPUT, PROMPT_WITH_INPUT, format_prompt

__all__ = [
    "CHAT_TEMPLATE",
    "PROMPT_NO_INPUT",
    "PROMPT_WITH_INPUT",
    "StopScanner",
    "format_prompt",
    "render_chat",
    "trim_at_stop",
    "wizardcoder_chat_template",
]
