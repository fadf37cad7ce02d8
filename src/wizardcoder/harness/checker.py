"""One program against one task: build the sandbox job, watch its records, give the verdict.

``io`` tasks (HumanEval+, MBPP+): the child reports each output; the harness compares it with
the expected output (``oracles``) as it arrives and stops the child at the first failure.
``script`` tasks (HumanEval, MBPP): the child runs each test snippet and reports which passed.
A verdict needs a record for every test: a child that exits early, crashes or goes silent fails.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

from wizardcoder.harness.datasets import Task
from wizardcoder.harness.expected import BIG_OUTPUT, Expected
from wizardcoder.harness.oracles import MBPP_SET_EQ, Comparator
from wizardcoder.sandbox.codec import Opaque, loads, mbpp_deserialize
from wizardcoder.sandbox.sandbox import STOP, Execution, Sandbox
from wizardcoder.settings import check_fields, setting

PASS, FAIL, TIMEOUT, ERROR = "pass", "fail", "timeout", "error"
Answer = float | tuple[float, bytes] | None  # an on_record answer: the next wait, with a byte for the child, or STOP
GRACE = 1.0  # seconds the harness adds to a child-side time limit before it kills


@dataclass(frozen=True)
class TimeSettings:
    """Per-input limit = max(floor, factor x canonical time); see docs/evaluation.md "Time limits"."""

    min_time_limit: float = setting(4.0, ge=0.05, help="Per-input time limit floor, seconds.")
    time_limit_factor: float = setting(4.0, ge=1.0, help="Limit = max(floor, factor x canonical time).")
    timeout_per_task: float = setting(60.0, ge=1.0, help="Cap on one phase of one sample, seconds (as evalplus's "
                                      "per-task timeout).")
    script_time_limit: float = setting(10.0, ge=0.05, help="Per-test limit for HumanEval/MBPP asserts, s (no "
                                       "canonical times to scale).")

    def __post_init__(self) -> None:
        check_fields(self)

    def per_input(self, canonical_times: list[float]) -> list[float]:
        return [max(self.min_time_limit, self.time_limit_factor * t) for t in canonical_times]


@dataclass
class Verdict:
    base_status: str
    plus_status: str | None = None
    failed_phase: str | None = None
    failed_input: str | None = None
    error: str | None = None
    n_passed: int = 0
    n_tests: int = 0
    seconds: float = 0.0
    steps: dict[str, float] | None = None  # MultiPL-E: seconds of each step (compile, run); not in Python rows

    def row(self) -> dict[str, Any]:
        row = {**asdict(self), "seconds": round(self.seconds, 4)}
        if self.steps is None:
            del row["steps"]
        return row


class _Failure(NamedTuple):
    """The first failure of a run: its status, the test or input it failed on, why."""

    status: str
    item: int | None  # the input's or test's index; None: the program did not load (or the test is unknown)
    error: str | None


@dataclass
class _Tally:
    """A run's progress across its jobs (records arrive in order: ``passed`` is also the next index)."""

    passed: int = 0
    fail: _Failure | None = None
    phase: str | None = None  # the phase that failed
    seconds: float = 0.0

    def failed(self, status: str, item: int | None, error: str | None) -> Answer:
        """Record the failure; returns STOP, the ``on_record`` answer that ends the job."""
        self.fail = _Failure(status, item, error)
        return STOP


def _short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _unfinished(ex: Execution, passed: int, total: int) -> _Failure | None:
    """Why a child that reported no failure still has tests without a verdict (or None)."""
    if passed >= total:
        return None
    if ex.timed_out:
        return _Failure(TIMEOUT, passed, "time limit exceeded (killed by the harness)")
    return _Failure(ERROR, passed, _crash_text(ex.output))


def _crash_text(output: bytes) -> str:
    text = output.decode(errors="replace").strip()
    first = text.splitlines()[0] if text else "no output"
    return f"process ended without a result ({first})"[:500]


@dataclass(frozen=True)
class _IoCase:
    """One program on one task's inputs: base inputs first (``n_base`` of them), then plus."""

    task: Task
    program: str
    expected: Expected
    family: str
    settings: TimeSettings
    inputs: list
    limits: list[float]  # per input, in seconds
    n_base: int

    def args(self, i: int) -> list:
        """Input ``i`` as the program gets it (some MBPP+ inputs are stored as lists: tuples and sets rebuilt)."""
        return _args_of(self.task, self.inputs[i])


def check_io(
    sandbox: Sandbox,
    task: Task,
    program: str,
    expected: Expected,
    family: str,
    settings: TimeSettings,
    with_plus: bool,
) -> Verdict:
    """Run ``program`` on the task's inputs (base, then plus) and compare as outputs arrive.

    Each phase runs in a fresh process, as in evalplus: module state (globals, caches) set by the
    base inputs is not there for the plus inputs. Plus runs only when base passed."""
    n_base = len(task.base_inputs)
    inputs = list(task.base_inputs) + (list(task.plus_inputs) if with_plus else [])
    limits = settings.per_input(expected.base_time)
    if with_plus:
        limits += settings.per_input(expected.plus_time)
    case = _IoCase(task, program, expected, family, settings, inputs, limits, n_base)
    tally = _Tally()
    phases = [("base", 0, n_base)] + ([("plus", n_base, len(inputs))] if with_plus else [])
    for phase, lo, hi in phases:
        if lo == hi and lo > 0:
            continue  # no plus inputs (the base phase always runs: a program that does not load fails)
        _run_io_phase(sandbox, case, lo, hi, tally)
        if tally.fail is not None:
            tally.phase = phase
            break
    return _io_verdict(case, tally, with_plus)


def _io_verdict(case: _IoCase, tally: _Tally, with_plus: bool) -> Verdict:
    """The verdict row: a failure's status is the base status when base failed, and the plus
    status in any case when plus was asked for (a failed base fails plus too)."""
    verdict = Verdict(base_status=PASS, n_passed=tally.passed, n_tests=len(case.inputs), seconds=tally.seconds)
    if tally.fail is not None:
        status, i, error = tally.fail
        verdict.failed_phase = tally.phase
        if i is not None and i < len(case.inputs):  # None: the program itself did not load
            verdict.failed_input = _short(case.args(i))
        verdict.error = (error or "")[:500] or None
        if verdict.failed_phase == "base":
            verdict.base_status = status
        if with_plus:
            verdict.plus_status = status
    elif with_plus:
        verdict.plus_status = PASS
    return verdict


def _args_of(task: Task, args: list) -> list:
    return mbpp_deserialize(task.mbpp_number, args) if task.mbpp_number is not None else args


def _run_io_phase(sandbox: Sandbox, case: _IoCase, lo: int, hi: int, tally: _Tally) -> None:
    """One phase (inputs ``lo:hi``) in its own job; records the first failure in ``tally.fail``
    (its item is None when the program does not load)."""
    settings = case.settings
    wall = min(sum(case.limits[lo:hi]), settings.timeout_per_task)
    wall += settings.min_time_limit + 2 * GRACE  # loading the program, starting the child
    wall += settings.timeout_per_task  # encoding and shipping outputs (see the "ran" record)
    judge = _IoJudge(case, lo, hi, tally)
    ex = sandbox.execute(_io_job(case, lo, hi), first_wait=settings.min_time_limit + GRACE, wall_timeout=wall,
                         on_record=judge)
    tally.seconds += ex.seconds
    if tally.fail is None and (unfinished := _unfinished(ex, tally.passed - lo, hi - lo)) is not None:
        tally.fail = unfinished._replace(item=tally.passed)


def _io_job(case: _IoCase, lo: int, hi: int) -> dict[str, Any]:
    """The sandbox job for inputs ``lo:hi`` (the runner's ``io`` mode; it numbers them from 0)."""
    task, settings = case.task, case.settings
    return {
        "mode": "io",
        "code": case.program,
        "entry_point": task.entry_point,
        "inputs": case.inputs[lo:hi],
        "time_limits": case.limits[lo:hi],
        "load_limit": settings.min_time_limit,
        "mbpp_task": task.mbpp_number,
        "as_set": case.family == "mbpp" and task.entry_point in MBPP_SET_EQ,
        "big": BIG_OUTPUT,
        "caller": "io",
    }


class _IoJudge:
    """One io phase's ``on_record``: judges each record as it arrives and answers with the wait for
    the next one, or STOP at the first failure and after the phase's last input. A big output is
    first offered by its digest: answered b"y" (matches, judged) or b"n" (send the value)."""

    def __init__(self, case: _IoCase, lo: int, hi: int, tally: _Tally) -> None:
        self.case, self.lo, self.hi, self.tally = case, lo, hi, tally
        self.comparator = Comparator(case.family, case.task.entry_point, case.task.atol)
        # Exact text match is judged by digest; find_zero is judged by its oracle only.
        self.fast = case.task.entry_point != "find_zero" or case.family != "humaneval"

    def __call__(self, rec: dict) -> Answer:
        tally, limits, settings = self.tally, self.case.limits, self.case.settings
        kind = rec.get("k")
        i = rec.get("i")
        if isinstance(i, int) and not isinstance(i, bool):
            i += self.lo  # the job numbers its inputs from 0
        if kind == "load":
            if not rec.get("ok"):
                return tally.failed(rec.get("status", ERROR), None, rec.get("error"))
            return limits[self.lo] + GRACE if self.lo < self.hi else STOP
        if kind == "ran" and i == tally.passed:
            return settings.timeout_per_task + GRACE  # time to encode and ship the output
        if kind == "dig" and i == tally.passed:  # a big output, offered by its digest
            if self._digest_matches(rec, i):
                wait = self._passed(i)
                return STOP if wait is STOP else (wait, b"y")
            return settings.timeout_per_task + GRACE, b"n"  # send the value: compare it
        if kind not in ("out", "exc") or i != tally.passed:
            return tally.failed(ERROR, tally.passed, f"unexpected record from the sandbox: {_short(rec, 120)}")
        if kind == "exc":
            return tally.failed(rec.get("status", FAIL), i, rec.get("error"))
        if not self._digest_matches(rec, i):
            failure = self._wrong_output(rec.get("raw", b""), i)
            if failure is not None:
                return tally.failed(FAIL, i, failure)
        return self._passed(i)

    def _digest_matches(self, rec: dict, i: int) -> bool:
        """Judged without parsing: the output's digest is the expected output's (exact match is
        enough for this task); the comparator's tolerance state is kept as if it had compared."""
        expected = self.case.expected
        if self.fast and expected.exact_ok[i] and rec.get("d") == expected.digests[i]:
            self.comparator.observe_exact(expected.floats[i])
            return True
        return False

    def _wrong_output(self, raw: bytes, i: int) -> str | None:
        """Why output ``i`` (raw JSON) fails the task's oracle, or None when it passes."""
        try:
            out = loads(raw)
        except (ValueError, RecursionError):
            return "unreadable output record"
        if isinstance(out, Opaque) and not self.comparator.accepts_opaque:
            return f"wrong output: got {out!r}"
        if not self.comparator.check(out, self.case.expected.value(i), self.case.args(i)):
            return f"wrong output: got {_short(out, 200)}"
        return None

    def _passed(self, i: int) -> float | None:
        """Input ``i`` passed: STOP after the phase's last input, else the wait for the next."""
        self.tally.passed += 1
        if self.tally.passed == self.hi:
            return STOP
        return self.case.limits[i + 1] + GRACE


def check_script(sandbox: Sandbox, task: Task, program: str, settings: TimeSettings) -> Verdict:
    """Run the task's test snippets after ``program`` (HumanEval ``check``, MBPP asserts)."""
    tests = task.tests
    code = program + ("\n" + task.setup if task.setup else "")
    tally = _Tally()
    limit = max(settings.min_time_limit, settings.script_time_limit)

    def on_record(rec: dict) -> Answer:
        kind = rec.get("k")
        if kind == "load":
            if not rec.get("ok"):
                return tally.failed(rec.get("status", ERROR), None, rec.get("error"))
            return limit + GRACE
        if kind != "test" or rec.get("i") != tally.passed:
            return tally.failed(ERROR, None, f"unexpected record from the sandbox: {_short(rec, 120)}")
        if not rec.get("ok"):
            return tally.failed(rec.get("status", FAIL), rec["i"], rec.get("error"))
        tally.passed += 1
        return STOP if tally.passed == len(tests) else limit + GRACE

    job = {"mode": "script", "code": code, "entry_point": task.entry_point, "tests": tests,
           "time_limits": [limit] * len(tests), "load_limit": limit,
           # how the official harness calls the program: HumanEval's check(candidate), MBPP's asserts
           "caller": "check" if task.task_id.startswith("HumanEval/") else "asserts"}
    wall = limit * (len(tests) + 1) + 2 * GRACE
    ex = sandbox.execute(job, first_wait=limit + GRACE, wall_timeout=wall, on_record=on_record)
    verdict = Verdict(base_status=PASS, n_passed=tally.passed, n_tests=len(tests),
                      seconds=ex.seconds)
    fail = tally.fail or _unfinished(ex, tally.passed, len(tests))
    if fail is not None:
        status, i, error = fail
        verdict.base_status = status
        verdict.failed_phase = "base"
        if i is not None and i < len(tests):
            verdict.failed_input = _short(tests[i].strip(), 300)
        verdict.error = (error or "")[:500] or None
    return verdict
