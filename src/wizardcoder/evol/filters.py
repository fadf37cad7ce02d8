"""Elimination of failed evolutions (the Evol-Instruct rules), each switchable, each with a reason.

Rules and the reasons they give:

- ``no_gain``: the child adds nothing over its parent (the teacher judges "Equal", unless
  ``judge_gain`` is off, or the text is unchanged) -> ``no_gain``
- ``refusal``: the answer is short (under ``refusal_max_words``) and apologises or refuses -> ``refusal``
- ``trivial_answer``: the answer is only punctuation and stop words -> ``trivial_answer``
- ``leak``: the evolved task copies the meta-prompt's own words ("rewritten task", "given prompt") -> ``leak``
- ``length``: the evolved task is too short or too long, or the answer too long -> ``length``; the answer
  was cut at the token limit -> ``truncated``

The checks here are pure functions; the teacher's judgement is asked for by the pipeline, which
calls these before spending a request where it can.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from wizardcoder.errors import WizardCoderError
from wizardcoder.evol.prompts import LEAK_PHRASES
from wizardcoder.settings import check_number, setting

RULES = ("no_gain", "refusal", "trivial_answer", "leak", "length")

_REFUSAL = re.compile(
    r"\b(sorry|apologi[sz]e|i can(?:not|'t|’t) (?:help|assist|provide|do|complete|answer|fulfil)|i am unable|i'm unable|"
    r"as an ai\b|as a language model|i (?:won't|will not) be able)", re.IGNORECASE)

STOP_WORDS = frozenset((
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and", "any", "are", "as", "at", "be",
    "because", "been", "before", "being", "below", "between", "both", "but", "by", "can", "could", "did", "do",
    "does", "doing", "down", "during", "each", "few", "for", "from", "further", "had", "has", "have", "having",
    "he", "her", "here", "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it",
    "its", "itself", "just", "me", "more", "most", "my", "myself", "no", "nor", "not", "now", "of", "off", "on",
    "once", "only", "or", "other", "our", "ours", "ourselves", "out", "over", "own", "same", "she", "should",
    "so", "some", "such", "than", "that", "the", "their", "theirs", "them", "themselves", "then", "there",
    "these", "they", "this", "those", "through", "to", "too", "under", "until", "up", "very", "was", "we",
    "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "you",
    "your", "yours", "yourself", "yourselves", "yes", "ok", "okay", "sure", "here's",
))

_WORD = re.compile(r"[^\W_]+", re.UNICODE)


@dataclass(frozen=True)
class FilterConfig:
    """The elimination rules in force and their thresholds (``--no-rule`` switches a rule off)."""

    rules: frozenset[str] = setting(None, cli=False, default_factory=lambda: frozenset(RULES))
    min_instruction_words: int = setting(3, ge=0, integer=True, help="Shorter evolved tasks are eliminated.")
    max_instruction_chars: int = setting(8000, ge=1, integer=True, help="Longer evolved tasks are eliminated.")
    max_answer_chars: int = setting(32000, ge=1, integer=True, help="Longer answers are eliminated.")
    refusal_max_words: int = setting(80, ge=1, integer=True, help="Answers this short are checked for refusals.")
    judge_gain: bool = setting(True, help="no_gain asks the teacher whether an evolved task gains over its parent "
                               "(the paper's first rule); off: only an unchanged task is no gain, for a teacher too "
                               "small to judge (one that always answers Equal).")

    def __post_init__(self) -> None:
        for name in ("min_instruction_words", "max_instruction_chars", "max_answer_chars", "refusal_max_words"):
            check_number(name, getattr(self, name), ge=1 if name != "min_instruction_words" else 0, integer=True)

    def on(self, rule: str) -> bool:
        return rule in self.rules

    @classmethod
    def without(cls, rules: Iterable[str], **settings: Any) -> FilterConfig:
        """Every rule but ``rules`` (``--no-rule``); an unknown name is refused, not ignored."""
        off = list(rules)
        for rule in off:
            if rule not in RULES:
                raise WizardCoderError(f"--no-rule {rule}: unknown rule (choose from {', '.join(RULES)})")
        return cls(rules=frozenset(RULES) - set(off), **settings)


Verdict = tuple[str, str] | None  # (reason, detail), or None when the row passes


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def check_instruction(child: str, parent: str, cfg: FilterConfig) -> Verdict:
    """Rules that need no teacher: run before the judge and the answer are paid for."""
    if cfg.on("length"):
        words = len(child.split())
        if words < cfg.min_instruction_words:
            return "length", f"evolved task has {words} words (< {cfg.min_instruction_words})"
        if len(child) > cfg.max_instruction_chars:
            return "length", f"evolved task has {len(child)} characters (> {cfg.max_instruction_chars})"
    if cfg.on("leak"):
        low = child.lower()
        for phrase in LEAK_PHRASES:
            if phrase in low:
                return "leak", f"contains {phrase!r}"
    if cfg.on("no_gain") and _norm(child) == _norm(parent):
        return "no_gain", "identical to its parent"
    return None


def check_answer(answer: str, finish_reason: str, cfg: FilterConfig) -> Verdict:
    if cfg.on("length"):
        if finish_reason == "length":
            return "truncated", "answer cut at the token limit"
        if finish_reason == "repetition":
            return "truncated", "answer looped (ended by the repetition check)"
        if len(answer) > cfg.max_answer_chars:
            return "length", f"answer has {len(answer)} characters (> {cfg.max_answer_chars})"
    if cfg.on("trivial_answer"):
        words = [w.lower() for w in _WORD.findall(answer)]
        if all(w in STOP_WORDS for w in words):
            return "trivial_answer", "only punctuation and stop words" if answer.strip() else "empty"
    if cfg.on("refusal") and len(answer.split()) < cfg.refusal_max_words:
        m = _REFUSAL.search(answer)
        if m:
            return "refusal", f"short answer with {m.group(0)!r}"
    return None
