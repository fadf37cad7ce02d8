"""Per-task verdicts of a recipe's evaluations, and the statistics its report prints.

A benchmark column of the report is one test suite judged over tasks: HumanEval's own checks, the
HumanEval+ / MBPP+ extended tests (evalplus's "plus"), or their base tests. Each arm has, per column,
a pass rate per task (0 or 1 for greedy decoding; the share of passing samples with ``n_samples``).

Invariants:
- pass@1 is the mean of the per-task rates, so it equals the evaluation's own ``summary.json``.
- The 95 % interval of one arm is Wilson's score interval when every rate is 0 or 1 (greedy), else
  the normal interval of the mean over tasks; both clipped to [0, 1].
- A comparison of two arms is paired over the tasks both were judged on: the difference of the means
  with the normal interval of the mean paired difference, and a two-sided p-value from the exact
  McNemar (sign) test on the discordant tasks when rates are 0/1, else the normal approximation.
  Tasks that flipped are listed by id, so a reader can look at them.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from wizardcoder.jsonl import iter_jsonl

Z95 = 1.959963984540054


@dataclass(frozen=True)
class Column:
    """One report column: which evaluation and which of its test suites."""

    key: str  # "humaneval", "humaneval+", "mbpp+/base", ...
    label: str  # what the card calls it
    benchmark: str
    suite: str  # "base" or "plus"
    published: str | None  # the ModelCard.published() key whose number this column can be set beside


def columns_for(benchmarks: list[str]) -> list[Column]:
    """The columns a list of benchmarks gives, in the card's order: HumanEval, HumanEval+, MBPP, MBPP+.

    evalplus's base tests of HumanEval+ are shown only when HumanEval itself was not run; the card's
    MBPP number is evalplus's base tests on the MBPP+ tasks, and this tool's ``mbpp`` (500 tasks, the
    WizardLM prompt) gets a column of its own."""
    cols: list[Column] = []
    if "humaneval" in benchmarks:
        cols.append(Column("humaneval", "HumanEval", "humaneval", "base", "humaneval"))
    if "humaneval+" in benchmarks:
        if "humaneval" not in benchmarks:
            cols.append(Column("humaneval+/base", "HumanEval (base tests)", "humaneval+", "base", "humaneval"))
        cols.append(Column("humaneval+", "HumanEval+", "humaneval+", "plus", "humaneval+"))
    if "mbpp" in benchmarks:
        cols.append(Column("mbpp", "MBPP (500)", "mbpp", "base", None))
    if "mbpp+" in benchmarks:
        cols.append(Column("mbpp+/base", "MBPP", "mbpp+", "base", "mbpp"))
        cols.append(Column("mbpp+", "MBPP+", "mbpp+", "plus", "mbpp+"))
    return cols


def task_rates(results: Path, suite: str) -> dict[str, float]:
    """Per task, the share of its samples that pass ``suite`` (an evaluation's ``results.jsonl``).

    A sample passes plus only if it passes base too (evalplus's rule: the plus verdict of a sample
    that failed base is a fail)."""
    passed: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    for _, row in iter_jsonl(results):
        task = str(row["task_id"])
        ok = row.get("base_status") == "pass"
        if suite == "plus":
            ok = ok and row.get("plus_status") == "pass"
        total[task] += 1
        passed[task] += int(ok)
    return {t: passed[t] / total[t] for t in total}


def _binary(rates: dict[str, float]) -> bool:
    return all(r in (0.0, 1.0) for r in rates.values())


@dataclass(frozen=True)
class Score:
    """One arm on one column."""

    rates: dict[str, float]
    pass_at_1: float
    low: float
    high: float

    @property
    def n(self) -> int:
        return len(self.rates)

    @property
    def passed(self) -> float:
        return sum(self.rates.values())


def wilson(k: float, n: int, z: float = Z95) -> tuple[float, float]:
    """Wilson's score interval for k successes in n trials."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    low = 0.0 if k <= 0 else max(0.0, centre - half)  # exact at the ends, not off by rounding
    high = 1.0 if k >= n else min(1.0, centre + half)
    return low, high


def score(rates: dict[str, float]) -> Score:
    n = len(rates)
    if n == 0:
        return Score({}, 0.0, 0.0, 1.0)
    mean = sum(rates.values()) / n
    if _binary(rates):
        low, high = wilson(sum(rates.values()), n)
    else:
        sd = math.sqrt(sum((r - mean) ** 2 for r in rates.values()) / max(n - 1, 1))
        low, high = max(0.0, mean - Z95 * sd / math.sqrt(n)), min(1.0, mean + Z95 * sd / math.sqrt(n))
    return Score(dict(rates), mean, low, high)


def mcnemar_exact(gained: int, lost: int) -> float:
    """Two-sided exact McNemar p-value: the discordant pairs under H0 are Binomial(b + c, 1/2)."""
    n = gained + lost
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(gained, lost) + 1)) / 2 ** n
    return min(1.0, 2 * tail)


@dataclass(frozen=True)
class Comparison:
    """Arm ``arm`` against ``against`` on one column, paired over the tasks both were judged on."""

    arm: str
    against: str
    n: int
    diff: float  # pass@1 difference, arm - against (a fraction)
    low: float
    high: float
    p_value: float
    gained: list[str] = field(default_factory=list)  # passed by arm, not by against
    lost: list[str] = field(default_factory=list)


def compare(arm: str, a: dict[str, float], against: str, b: dict[str, float]) -> Comparison:
    tasks = sorted(set(a) & set(b), key=_task_order)
    n = len(tasks)
    if n == 0:
        return Comparison(arm, against, 0, 0.0, 0.0, 0.0, 1.0)
    d = [a[t] - b[t] for t in tasks]
    mean = sum(d) / n
    sd = math.sqrt(sum((x - mean) ** 2 for x in d) / max(n - 1, 1))
    half = Z95 * sd / math.sqrt(n)
    gained = [t for t in tasks if a[t] > b[t]]
    lost = [t for t in tasks if a[t] < b[t]]
    if _binary(a) and _binary(b):
        p = mcnemar_exact(len(gained), len(lost))
    else:
        p = 1.0 if sd == 0 else math.erfc(abs(mean) / (sd / math.sqrt(n)) / math.sqrt(2))
    return Comparison(arm, against, n, mean, mean - half, mean + half, p, gained, lost)


def _task_order(task: str) -> tuple[str, int, str]:
    """HumanEval/2 before HumanEval/10."""
    head, _, tail = task.rpartition("/")
    return (head, int(tail), "") if tail.isdigit() else (head, -1, tail)
