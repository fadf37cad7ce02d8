"""Fenced code blocks in model answers.

The WizardCoder post-processing keeps the first fenced python block of an answer. Once that
block's closing fence has been generated, nothing the model says afterwards can change the
extracted code, so generation for evaluation may stop there (``SamplingParams.stop_after_code``)
without changing any verdict: on a 135M model this halves the decoded tokens.
"""

from __future__ import annotations

import re

FENCE = re.compile(r"^```[ \t]*([\w+.-]*)[^\n]*\n(.*?)(?:^```|\Z)", re.S | re.M)
PY_TAGS = frozenset({"python", "py", "python3", "py3", ""})


def _first_python_match(text: str) -> re.Match[str] | None:
    for match in FENCE.finditer(text):
        if match.group(1).lower() in PY_TAGS:
            return match
    return None


def first_python_block(text: str) -> str | None:
    """The body of the first fenced block tagged python (or untagged), if any."""
    match = _first_python_match(text)
    return match.group(2) if match else None


def code_block_end(text: str) -> int | None:
    """Where the first python block's closing fence ends, once it has been written (else None).

    ``text`` must be free of ``\\r`` (the post-processing drops them before matching).
    """
    match = _first_python_match(text)
    if match is None or match.end() == match.end(2):  # ended by the end of the text, not a fence
        return None
    return match.end()


def cut_after_code(before: str, piece: str) -> str | None:
    """For text streamed as ``before`` then ``piece``: the part of ``piece`` up to the first
    python block's closing fence if ``piece`` completes it, else None."""
    text = (before + piece).replace("\r", "")
    end = code_block_end(text)
    if end is None:
        return None
    return text[len(before.replace("\r", "")):end]
