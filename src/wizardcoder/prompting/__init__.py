"""Prompt formats of the WizardCoder family."""

from wizardcoder.prompting.template import PROMPT_NO_INPUT, PROMPT_WITH_INPUT, format_prompt

__all__ = ["PROMPT_NO_INPUT", "PROMPT_WITH_INPUT", "format_prompt"]
