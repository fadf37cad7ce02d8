"""What we ask the teacher: evolve a task by one method, judge parent vs child, answer a task.

The five code heuristics are the paper's (method notes §4); the wording is ours. In-depth
(deepening, concretizing) and in-breadth come from the general Evol-Instruct and are off by
default for code. Every meta-prompt opens with a fixed first line, so a reply that leaks the
meta-prompt's own words is recognisable (:data:`LEAK_PHRASES`), and so is each prompt's kind
(the dry-run teacher, :mod:`wizardcoder.evol.dry_run`, reads it from these heads and the task from
the "Task to rewrite:" / "Task for inspiration:" lines).
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    name: str
    breadth: bool  # in-breadth: a new task of the same domain instead of a harder version
    text: str


CODE_METHODS: dict[str, Method] = {m.name: m for m in (
    Method("constraints", False, "Add one new constraint or requirement to the task, using about ten more words."),
    Method("uncommon", False, "Replace a requirement that is common in programming tasks with a less common, "
                              "more specific one."),
    Method("reasoning", False, "If the task can be solved in only a few logical steps, extend it so that solving "
                               "it needs more steps of reasoning."),
    Method("erroneous_code", False, "Include a short piece of erroneous code related to the task as a reference, "
                                    "to increase misdirection; say that it is erroneous."),
    Method("complexity", False, "Ask for a stricter time or space complexity bound (do not do this too often)."),
)}
DEPTH_METHODS: dict[str, Method] = {m.name: m for m in (
    Method("deepening", False, "If the task asks about a specific point, make it ask about that point in more "
                               "depth and breadth."),
    Method("concretizing", False, "Replace general concepts in the task with more specific ones."),
)}
BREADTH_METHODS: dict[str, Method] = {m.name: m for m in (
    Method("breadth", True, "Write a brand-new task in the same domain, rarer than the given one, of similar "
                            "length and difficulty."),
)}
ALL_METHODS: dict[str, Method] = {**CODE_METHODS, **DEPTH_METHODS, **BREADTH_METHODS}

EVOLVE_HEAD = "I want you to act as a programming task rewriter."
BREADTH_HEAD = "I want you to act as a programming task creator."
JUDGE_HEAD = "Here are two programming tasks."

_EVOLVE = """{head}
Make the programming task below a bit harder, by this method:
{method}

The rewritten task must stay self-contained and answerable by a person, keep the code, inputs and
examples it needs, and must not contain a solution. Reply with the rewritten task only, without a
title or any preamble.

Task to rewrite:
{task}"""

_BREADTH = """{head}
Taking the programming task below as inspiration, do this:
{method}

The created task must be self-contained and answerable by a person and must not contain a solution.
Reply with the created task only, without a title or any preamble.

Task for inspiration:
{task}"""

_JUDGE = """{head}

First task:
{first}

Second task:
{second}

Do the two tasks have the same constraints and requirements, and the same depth and breadth of
inquiry? Reply with "Equal" if they do, or "Not Equal" if the second asks for more or different
things. Reply with those words only."""

# Words of the meta-prompts (ours and the paper's) that must not appear in an evolved task.
LEAK_PHRASES = (
    "task to rewrite", "rewritten task", "task for inspiration", "created task", "programming task rewriter",
    "programming task creator", "given prompt", "rewritten prompt", "#given prompt#", "#rewritten prompt#",
    "#created prompt#", "original task", "given task", "by this method",
)

# A label the teacher may put before the new task ("Rewritten task:"): removed, not a failure.
_LABEL = re.compile(r"^\s*(?:#+\s*|\*\*)?(?:new|rewritten|harder|created|updated|modified|evolved)\s+"
                    r"(?:programming\s+)?(?:task|prompt|question|problem)\s*(?:#+|\*\*)?\s*:?\s*(?:\*\*)?\s*\n?",
                    re.IGNORECASE)


def task_text(instruction: str, input: str = "") -> str:
    """The task as one text: an evolved task carries its input inside itself."""
    return f"{instruction}\n\n{input}" if input.strip() else instruction


def evolve_prompt(method: Method, task: str) -> str:
    if method.breadth:
        return _BREADTH.format(head=BREADTH_HEAD, method=method.text, task=task)
    return _EVOLVE.format(head=EVOLVE_HEAD, method=method.text, task=task)


def judge_prompt(parent: str, child: str) -> str:
    return _JUDGE.format(head=JUDGE_HEAD, first=parent, second=child)


def clean_evolved(text: str) -> str:
    """The evolved task without a leading label or surrounding whitespace."""
    return _LABEL.sub("", text.strip(), count=1).strip()


def parse_judgement(text: str) -> bool | None:
    """True: the tasks are equal (no information gain); False: not equal; None: unreadable.

    Beyond the two words asked for, the plain-English forms models use instead are read too
    ("identical", "the same" / "different", "differ")."""
    words = re.sub(r"[^a-z ]+", " ", text.lower()).split()
    joined = f" {' '.join(words)} "
    if any(p in joined for p in (" not equal ", " unequal ", " not the same ", " not identical ", " different ",
                                 " differ ", " differs ")):
        return False
    if any(p in joined for p in (" equal ", " identical ", " the same ")):
        return True
    return None

