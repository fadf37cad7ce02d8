"""Degenerate repetition: an answer whose tail is one block of text over and over.

Small models often fall into a loop (the same line, or the same few lines, until the token limit):
on the default model a fifth of the answers do, holding over half of the decoded tokens. Once an
answer's tail repeats a block several times, greedy decoding almost never leaves the loop, and the
code the evaluation extracts cannot get better by waiting, so generation may end there with
``finish_reason: "repetition"``.

Invariants:
- The decision depends on the text alone, taken at *check points* that the text itself defines
  (the end of every line, and every ``line_chars``-th character of a line without a newline).
  An engine that checks while decoding therefore ends an answer exactly where
  :func:`repetition_cut` applied to the full answer of a run without the check says it would
  (greedy decoding makes the text before that point identical), which is how
  ``bench/repetition.py`` replays recorded runs to show the check changes no verdict.
- What is kept is the answer up to and including that check point: a prefix of the answer the
  model would have written, never an edited one.
- A loop is a block of ``period`` characters (at most ``max_period``) that the last
  ``max(repeats * period, min_span)`` characters repeat without a break: exactly
  (``repeats = min_repeats``), or with every run of digits taken as equal (``repeats =
  number_repeats``; ``fib(24) -> 15`` then ``fib(25) -> 18`` ...). Only the last
  :attr:`RepetitionRule.window` characters before a check point are read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from wizardcoder.settings import check_fields, setting

_KEY = 8  # characters matched first to find candidate periods
_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True)
class RepetitionRule:
    min_repeats: int = setting(3, ge=2, integer=True)
    min_span: int = setting(320, ge=16, integer=True)  # characters the repeating tail must cover
    max_period: int = setting(1024, ge=1, integer=True)
    line_chars: int = setting(256, ge=16, integer=True)  # check points inside a long line
    number_repeats: int = setting(4, ge=0, integer=True)  # 0: numbers must repeat exactly too

    def __post_init__(self) -> None:
        check_fields(self)

    @property
    def window(self) -> int:
        return self.max_period * max(self.min_repeats, self.number_repeats) + self.min_span + _KEY


DEFAULT_RULE = RepetitionRule()


def repeating_period(text: str, repeats: int, rule: RepetitionRule = DEFAULT_RULE) -> int | None:
    """The shortest period that the tail of ``text`` repeats ``repeats`` times (and over
    ``rule.min_span`` characters), if any."""
    n = len(text)
    if n < rule.min_span or n < _KEY + 1:
        return None
    key = text[-_KEY:]
    end = n - 1  # occurrences of key ending before the last character
    lowest = max(0, n - _KEY - rule.max_period)
    while True:
        i = text.rfind(key, lowest, end)
        if i < 0:
            return None
        period = n - (i + _KEY)
        need = max(repeats * period, rule.min_span)
        if need <= n and text[n - need:n - period] == text[n - need + period:]:
            return period
        end = i + _KEY - 1


def loops(text: str, rule: RepetitionRule = DEFAULT_RULE) -> bool:
    """Whether the answer so far ends in a loop (read at a check point)."""
    tail = text[-rule.window:]
    if repeating_period(tail, rule.min_repeats, rule) is not None:
        return True
    if rule.number_repeats and _DIGITS.search(tail):
        return repeating_period(_DIGITS.sub("0", tail), rule.number_repeats, rule) is not None
    return False


def check_points(text: str, start: int, line_start: int, rule: RepetitionRule = DEFAULT_RULE) -> list[int]:
    """Ends (exclusive) of the check points in ``text[start:]``; ``line_start``: where the line
    holding ``text[start]`` begins."""
    points = []
    for i in range(start, len(text)):
        if text[i] == "\n":
            points.append(i + 1)
            line_start = i + 1
        elif (i + 1 - line_start) % rule.line_chars == 0:
            points.append(i + 1)
    return points


def repetition_cut(text: str, rule: RepetitionRule = DEFAULT_RULE) -> int | None:
    """Where an answer checked while decoding would have ended (its length then), or None."""
    for end in check_points(text, 0, 0, rule):
        if loops(text[:end], rule):
            return end
    return None


class RepetitionGuard:
    """The check while decoding: feed each new piece of text; a cut says how much of it to keep."""

    def __init__(self, rule: RepetitionRule = DEFAULT_RULE) -> None:
        self.rule = rule
        self.text = ""  # the answer's tail: long enough for any period the rule can find
        self._base = 0  # index in the answer of text[0]
        self._line = 0  # index in the answer where the current line starts
        self._keep = rule.window

    def feed(self, piece: str) -> int | None:
        """None, or how many characters of ``piece`` to keep before ending with "repetition"."""
        start = len(self.text)
        self.text += piece
        for end in check_points(self.text, start, self._line - self._base, self.rule):
            if loops(self.text[:end], self.rule):
                return end - start
        nl = self.text.rfind("\n", start)
        if nl >= 0:
            self._line = self._base + nl + 1
        if len(self.text) > 2 * self._keep:
            drop = len(self.text) - self._keep
            self.text, self._base = self.text[drop:], self._base + drop
        return None
