"""One program against one task: build the sandbox job, watch its records, give the verdict.

``io`` tasks (HumanEval+, MBPP+): the child reports each output; the harness compares it with
the expected output (``oracles``) as it arrives and stops the child at the first failure.
``script`` tasks (HumanEval, MBPP): the child runs each test snippet and reports which passed.
A verdict needs a record for every test: a child that exits early, crashes or goes silent fails.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from wizardcoder.harness.datasets import Task
from wizardcoder.harness.expected import BIG_OUTPUT, Expected
from wizardcoder.harness.oracles import MBPP_SET_EQ, Comparator
from wizardcoder.sandbox.codec import Opaque, loads, mbpp_deserialize
from wizardcoder.sandbox.sandbox import STOP, Execution, Sandbox
from wizardcoder.settings import check_number

PASS, FAIL, TIMEOUT, ERROR = "pass", "fail", "timeout", "error"
GRACE = 1.0  # seconds the harness adds to a child-side time limit before it kills


@dataclass(frozen=True)
class TimeSettings:
    """Per-input limit = max(floor, factor x canonical time); see README "Time limits"."""

    min_time_limit: float = 4.0
    time_limit_factor: float = 4.0
    timeout_per_task: float = 60.0  # cap on one phase's total, as evalplus's per-task timeout
    script_time_limit: float = 10.0  # HumanEval/MBPP test snippets (no canonical times to scale)

    def __post_init__(self) -> None:
        check_number("min_time_limit", self.min_time_limit, ge=0.05)
        check_number("time_limit_factor", self.time_limit_factor, ge=1)
        check_number("timeout_per_task", self.timeout_per_task, ge=1)
        check_number("script_time_limit", self.script_time_limit, ge=0.05)

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

    def row(self) -> dict[str, Any]:
        return {**asdict(self), "seconds": round(self.seconds, 4)}


def _short(value: Any, limit: int = 300) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _unfinished(ex: Execution, passed: int, total: int) -> tuple[str, int, str] | None:
    """Why a child that reported no failure still has tests without a verdict (or None)."""
    if passed >= total:
        return None
    if ex.timed_out:
        return TIMEOUT, passed, "time limit exceeded (killed by the harness)"
    return ERROR, passed, _crash_text(ex.output)


def _crash_text(output: bytes) -> str:
    text = output.decode(errors="replace").strip()
    first = text.splitlines()[0] if text else "no output"
    return f"process ended without a result ({first})"[:500]


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
    state: dict[str, Any] = {"passed": 0, "fail": None, "seconds": 0.0}
    phases = [("base", 0, n_base)] + ([("plus", n_base, len(inputs))] if with_plus else [])
    for phase, lo, hi in phases:
        comparator = Comparator(family, task.entry_point, task.atol)
        _run_io_phase(sandbox, task, program, expected, family, settings, inputs, limits, lo, hi, comparator, state)
        if state["fail"] is not None:
            state["phase"] = phase
            break
    verdict = Verdict(base_status=PASS, n_passed=state["passed"], n_tests=len(inputs), seconds=state["seconds"])
    if state["fail"] is not None:
        status, i, error = state["fail"]
        verdict.failed_phase = state["phase"]
        if i is not None and i < len(inputs):  # None: the program itself did not load
            verdict.failed_input = _short(_args_of(task, inputs[i]))
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


def _run_io_phase(sandbox: Sandbox, task: Task, program: str, expected: Expected, family: str,
                  settings: TimeSettings, inputs: list, limits: list[float], lo: int, hi: int,
                  comparator: Comparator, state: dict[str, Any]) -> None:
    """One phase (inputs ``lo:hi``) in its own job; records the first failure in ``state["fail"]`` as
    (status, input index or None when the program does not load, error)."""
    # Exact text match is judged by digest; find_zero is judged by its oracle only.
    fast = task.entry_point != "find_zero" or family != "humaneval"
    if lo == hi and lo > 0:
        return  # no plus inputs (the base phase always runs: a program that does not load fails)

    def on_record(rec: dict) -> float | tuple[float, bytes] | None:
        kind = rec.get("k")
        i = rec.get("i")
        if isinstance(i, int) and not isinstance(i, bool):
            i += lo  # the job numbers its inputs from 0
        if kind == "load":
            if not rec.get("ok"):
                state["fail"] = (rec.get("status", ERROR), None, rec.get("error"))
                return STOP
            return limits[lo] + GRACE if lo < hi else STOP
        if kind == "ran" and i == state["passed"]:
            return settings.timeout_per_task + GRACE  # time to encode and ship the output
        if kind == "dig" and i == state["passed"]:  # a big output, offered by its digest
            if fast and expected.exact_ok[i] and rec.get("d") == expected.digests[i]:
                comparator.observe_exact(expected.floats[i])
                state["passed"] += 1
                if state["passed"] == hi:
                    return STOP
                return limits[i + 1] + GRACE, b"y"
            return settings.timeout_per_task + GRACE, b"n"  # send the value: compare it
        if kind not in ("out", "exc") or i != state["passed"]:
            state["fail"] = (ERROR, state["passed"], f"unexpected record from the sandbox: {_short(rec, 120)}")
            return STOP
        if kind == "exc":
            state["fail"] = (rec.get("status", FAIL), i, rec.get("error"))
            return STOP
        raw = rec.get("raw", b"")
        if fast and expected.exact_ok[i] and rec.get("d") == expected.digests[i]:
            comparator.observe_exact(expected.floats[i])
        else:
            try:
                out = loads(raw)
            except (ValueError, RecursionError):
                state["fail"] = (FAIL, i, "unreadable output record")
                return STOP
            if isinstance(out, Opaque) and not comparator.accepts_opaque:
                state["fail"] = (FAIL, i, f"wrong output: got {out!r}")
                return STOP
            if not comparator.check(out, expected.value(i), _args_of(task, inputs[i])):
                state["fail"] = (FAIL, i, f"wrong output: got {_short(out, 200)}")
                return STOP
        state["passed"] += 1
        if state["passed"] == hi:
            return STOP
        return limits[i + 1] + GRACE

    wall = min(sum(limits[lo:hi]), settings.timeout_per_task)
    wall += settings.min_time_limit + 2 * GRACE  # loading the program, starting the child
    wall += settings.timeout_per_task  # encoding and shipping outputs (see the "ran" record)
    job = {
        "mode": "io",
        "code": program,
        "entry_point": task.entry_point,
        "inputs": inputs[lo:hi],
        "time_limits": limits[lo:hi],
        "load_limit": settings.min_time_limit,
        "mbpp_task": task.mbpp_number,
        "as_set": family == "mbpp" and task.entry_point in MBPP_SET_EQ,
        "big": BIG_OUTPUT,
        "caller": "io",
    }
    ex = sandbox.execute(job, first_wait=settings.min_time_limit + GRACE, wall_timeout=wall, on_record=on_record)
    state["seconds"] += ex.seconds
    if state["fail"] is None and (unfinished := _unfinished(ex, state["passed"] - lo, hi - lo)) is not None:
        status, _, error = unfinished
        state["fail"] = (status, state["passed"], error)


def check_script(sandbox: Sandbox, task: Task, program: str, settings: TimeSettings) -> Verdict:
    """Run the task's test snippets after ``program`` (HumanEval ``check``, MBPP asserts)."""
    tests = task.tests
    code = program + ("\n" + task.setup if task.setup else "")
    state: dict[str, Any] = {"passed": 0, "fail": None}
    limit = max(settings.min_time_limit, settings.script_time_limit)

    def on_record(rec: dict) -> float | None:
        kind = rec.get("k")
        if kind == "load":
            if not rec.get("ok"):
                state["fail"] = (rec.get("status", ERROR), None, rec.get("error"))
                return STOP
            return limit + GRACE
        if kind != "test" or rec.get("i") != state["passed"]:
            state["fail"] = (ERROR, None, f"unexpected record from the sandbox: {_short(rec, 120)}")
            return STOP
        if not rec.get("ok"):
            state["fail"] = (rec.get("status", FAIL), rec["i"], rec.get("error"))
            return STOP
        state["passed"] += 1
        return STOP if state["passed"] == len(tests) else limit + GRACE

    job = {"mode": "script", "code": code, "entry_point": task.entry_point, "tests": tests,
           "time_limits": [limit] * len(tests), "load_limit": limit,
           # how the official harness calls the program: HumanEval's check(candidate), MBPP's asserts
           "caller": "check" if task.task_id.startswith("HumanEval/") else "asserts"}
    wall = limit * (len(tests) + 1) + 2 * GRACE
    ex = sandbox.execute(job, first_wait=limit + GRACE, wall_timeout=wall, on_record=on_record)
    verdict = Verdict(base_status=PASS, n_passed=state["passed"], n_tests=len(tests),
                      seconds=ex.seconds)
    fail = state["fail"] or _unfinished(ex, state["passed"], len(tests))
    if fail is not None:
        status, i, error = fail
        verdict.base_status = status
        verdict.failed_phase = "base"
        if i is not None and i < len(tests):
            verdict.failed_input = _short(tests[i].strip(), 300)
        verdict.error = (error or "")[:500] or None
    return verdict
