"""The model card's prompt template, reproduced exactly.

Nothing follows ``### Response:``: the model's answer starts right after the colon. Rows with a
non-empty ``input`` use the Alpaca "with input" variant (its own first sentence, as in Alpaca and
the authors' training script).
"""

from __future__ import annotations

PREAMBLE = (
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request."
)
PROMPT_NO_INPUT = PREAMBLE + "\n\n### Instruction:\n{instruction}\n\n### Response:"
PROMPT_WITH_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further "
    "context. Write a response that appropriately completes the request."
    "\n\n### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:"
)


def format_prompt(instruction: str, input: str | None = None) -> str:
    """The full prompt for one instruction (and optional input)."""
    if input:
        return PROMPT_WITH_INPUT.format(instruction=instruction, input=input)
    return PROMPT_NO_INPUT.format(instruction=instruction)
