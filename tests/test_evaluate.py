"""Samples in, scores out: end to end through the real sandbox."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wizardcoder.errors import WizardCoderError
from wizardcoder.harness.checker import TimeSettings
from wizardcoder.harness.datasets import load_dataset
from wizardcoder.harness.evaluate import EvalConfig, evaluate
from wizardcoder.harness.samples import stub_program as stub

FAST = TimeSettings(min_time_limit=1.0, script_time_limit=2.0)
SUBSET = 12  # tasks per benchmark in the quick tests (whole benchmarks: test_slow.py)


def write_samples(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def run(tmp_path: Path, benchmark: str, rows: list[dict], **kw) -> dict:
    samples = write_samples(tmp_path / "samples.jsonl", rows)
    cfg = EvalConfig(benchmark=benchmark, samples=str(samples), output=tmp_path / "out", partial=True,
                     time=kw.pop("time", FAST), **kw)
    return evaluate(cfg, show_progress=False)


def results(tmp_path: Path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]


def subset(benchmark: str, n: int = SUBSET):
    return list(load_dataset(benchmark).tasks.values())[:n]


BENCHMARKS = ["humaneval", "humaneval+", "mbpp", "mbpp+"]


@pytest.mark.parametrize("benchmark", BENCHMARKS)
def test_canonical_solutions_pass_and_stubs_fail(tmp_path, benchmark):
    tasks = subset(benchmark)
    rows = [{"task_id": t.task_id, "solution": t.canonical} for t in tasks]
    rows += [{"task_id": t.task_id, "solution": stub(t)} for t in tasks]
    summary = run(tmp_path, benchmark, rows)
    assert summary["n_tasks"] == SUBSET and summary["n_samples"] == 2 * SUBSET
    by_index = {(r["task_id"], r["index"]): r for r in results(tmp_path)}
    for t in tasks:
        assert by_index[(t.task_id, 0)]["base_status"] == "pass", by_index[(t.task_id, 0)]
        assert by_index[(t.task_id, 1)]["base_status"] != "pass", t.task_id
        if benchmark.endswith("+"):
            assert by_index[(t.task_id, 0)]["plus_status"] == "pass"
            assert by_index[(t.task_id, 1)]["plus_status"] != "pass"
    assert summary["base"]["pass@1"] == pytest.approx(0.5)  # one of the two samples of each task passes
    summary_file = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary_file["dataset_md5"] == load_dataset(benchmark).md5
    for key in ("benchmark", "n_tasks", "n_samples", "base"):
        assert key in summary_file
    assert ("plus" in summary_file) == benchmark.endswith("+")
    sandbox = summary_file["sandbox"]  # what was in force, recorded with the scores
    assert sandbox["isolation"] == "auto" and {"pid_namespace", "read_only_root", "no_capabilities"} <= set(sandbox)


def test_mutants_fail_where_plus_tests_catch_them(tmp_path):
    ds = load_dataset("humaneval+")
    # HumanEval/0 `has_close_elements`: `<` -> `<=` passes base tests, plus tests catch it.
    canon = ds.tasks["HumanEval/0"].canonical
    assert "] < threshold" in canon
    rows = [{"task_id": "HumanEval/0", "solution": canon.replace("] < threshold", "] <= threshold")},
            {"task_id": "HumanEval/0", "solution": canon.replace("return True", "return False")}]
    run(tmp_path, "humaneval+", rows)
    r = results(tmp_path)
    assert r[0]["base_status"] == "pass" and r[0]["plus_status"] == "fail" and r[0]["failed_phase"] == "plus"
    assert r[1]["base_status"] == "fail" and r[1]["failed_input"] and "wrong output" in r[1]["error"]


def test_find_zero_canonical_passes(tmp_path):
    t = load_dataset("humaneval+").tasks["HumanEval/32"]
    wrong = t.canonical.replace("    return x\n", "    return x + 0.5\n")
    assert wrong != t.canonical
    run(tmp_path, "humaneval+", [{"task_id": t.task_id, "solution": t.canonical},
                                 {"task_id": t.task_id, "solution": wrong}])
    r = results(tmp_path)
    assert r[0]["plus_status"] == "pass" and r[1]["base_status"] == "fail"


def test_infinite_loop_is_a_timeout_and_others_still_run(tmp_path):
    rows = [{"task_id": "HumanEval/0", "completion": "    while True:\n        pass\n"},
            {"task_id": "HumanEval/4", "completion": "    import time\n    time.sleep(100)\n"},
            {"task_id": "HumanEval/2", "completion": "    return number % 1.0\n"}]
    t0 = time.monotonic()
    summary = run(tmp_path, "humaneval", rows)
    assert time.monotonic() - t0 < 20
    statuses = {r["task_id"]: r["base_status"] for r in results(tmp_path)}
    assert statuses == {"HumanEval/0": "timeout", "HumanEval/4": "timeout", "HumanEval/2": "pass"}
    assert summary["base_status"] == {"timeout": 2, "pass": 1}


def test_responses_are_postprocessed(tmp_path):
    response = ("Here is my solution:\n```python\ndef truncate_number(number: float) -> float:\n"
                "    return number % 1.0\n\nprint(truncate_number(3.5))\n```\nIt works.")
    for mode, status in (("wizardcoder", "pass"), ("evalplus", "pass"), ("none", "error")):
        out = tmp_path / mode
        out.mkdir()
        run(out, "humaneval", [{"task_id": "HumanEval/2", "response": response}], postprocess=mode)
        assert results(out)[0]["base_status"] == status, mode


def test_pass_at_k_with_many_samples_and_dedup(tmp_path):
    good, bad = "    return number % 1.0\n", "    return 0.0\n"
    rows = [{"task_id": "HumanEval/2", "completion": c} for c in [good] * 3 + [bad] * 7]
    rows += [{"task_id": "HumanEval/0", "completion": "    return False\n"}] * 10
    summary = run(tmp_path, "humaneval", rows)
    # task 2: n=10, c=3 -> pass@1 0.3, pass@10 1; task 0: 0 -> means 0.15 and 0.5
    assert summary["base"]["pass@1"] == pytest.approx(0.15)
    assert summary["base"]["pass@10"] == pytest.approx(0.5)
    assert "pass@100" not in summary["base"]
    assert [r["index"] for r in results(tmp_path) if r["task_id"] == "HumanEval/2"] == list(range(10))


def test_missing_tasks_need_partial(tmp_path):
    samples = write_samples(tmp_path / "s.jsonl", [{"task_id": "HumanEval/0", "completion": "    return 1\n"}])
    with pytest.raises(WizardCoderError, match="cover 1 of 164 humaneval tasks; pass --partial"):
        evaluate(EvalConfig("humaneval", str(samples), output=tmp_path / "o"), show_progress=False)


def cli(*args: str, env: dict | None = None, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wizardcoder.cli", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300, **kw)


@pytest.mark.parametrize(("content", "message"), [
    ('{"task_id": "HumanEval/0", "completion": "x"}\n{"task_id": "HumanEval/1", \n', r"s\.jsonl:2: invalid JSON"),
    ('{"completion": "x"}\n', r"s\.jsonl:1: field 'task_id': missing"),
    ('{"task_id": "HumanEval/0"}\n', r"s\.jsonl:1: field 'solution': missing: each row needs one of"),
    ('{"task_id": "HumanEval/0", "completion": 3}\n', r"s\.jsonl:1: field 'completion': expected a string"),
    ('{"task_id": "HumanEval/0", "completion": "x"}\n{"task_id": "HumanEval/999", "completion": "x"}\n',
     r"s\.jsonl:2: field 'task_id': unknown task 'HumanEval/999' for benchmark humaneval"),
    ('{"task_id": "HumanEval/0", "completion": "x", "completion_id": 0}\n'
     '{"task_id": "HumanEval/0", "completion": "y", "completion_id": 0}\n',
     r"s\.jsonl:2: field 'completion_id': duplicate sample 0 of HumanEval/0 \(first on line 1\)"),
    ("[1, 2]\n", r"s\.jsonl:1: expected a JSON object"),
])
def test_bad_samples_give_one_line_errors_and_write_nothing(tmp_path, content, message):
    (tmp_path / "s.jsonl").write_text(content)
    proc = cli("eval", "-b", "humaneval", "-s", str(tmp_path / "s.jsonl"), "-o", str(tmp_path / "out"), "--partial")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    import re

    assert re.search(message, lines[0]), lines[0]
    assert not (tmp_path / "out" / "summary.json").exists()


def test_wrong_dataset_file_is_a_one_line_error(tmp_path):
    from conftest import BENCH_DATA

    proc = cli("eval", "-b", "humaneval+", "--dataset-path", str(BENCH_DATA / "HumanEval.jsonl.gz"))
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "is not a known HumanEval+ file" in proc.stderr


def test_existing_results_need_resume_or_overwrite(tmp_path):
    rows = [{"task_id": "HumanEval/2", "completion": "    return number % 1.0\n"}]
    first = run(tmp_path, "humaneval", rows)
    again = run(tmp_path, "humaneval", rows)  # the same finished job: its summary, nothing rerun
    assert again["created"] == first["created"] and again["base"] == first["base"]
    with pytest.raises(WizardCoderError, match="holds results already; pass --resume"):
        run(tmp_path, "humaneval", rows * 2)
    with pytest.raises(WizardCoderError, match="cannot resume: the run differs in samples_md5"):
        run(tmp_path, "humaneval", rows * 2, resume=True)
    assert run(tmp_path, "humaneval", rows * 2, overwrite=True)["n_samples"] == 2


@pytest.mark.slow
def test_ctrl_c_keeps_finished_rows_and_resume_completes_without_duplicates(tmp_path):
    # 6 quick passing samples, then 6 slow ones (each sleeps 1.5 s): interrupt in the middle.
    fast = [{"task_id": f"HumanEval/{i}", "solution": t.canonical} for i, t in enumerate(subset("humaneval", 6))]
    slow_code = "import time\ntime.sleep(1.5)\n"
    slow = [{"task_id": f"HumanEval/{i}", "solution": slow_code + t.canonical}
            for i, t in enumerate(subset("humaneval", 12)) if i >= 6]
    samples = write_samples(tmp_path / "s.jsonl", fast + slow)
    out = tmp_path / "out"
    args = ["eval", "-b", "humaneval", "-s", str(samples), "-o", str(out), "--partial", "--workers", "1",
            "--script-time-limit", "5", "-q"]
    proc = subprocess.Popen([sys.executable, "-m", "wizardcoder.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = (out / "results.jsonl").read_text().count("\n") if (out / "results.jsonl").exists() else 0
        if done >= 7:
            break
        time.sleep(0.1)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "interrupted" in err and "--resume" in err
    kept = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert 7 <= len(kept) < 12
    assert not (out / "summary.json").exists()  # incomplete runs have no summary
    t0 = time.monotonic()
    proc = cli(*args, "--resume")
    assert proc.returncode == 0, proc.stderr
    final = [json.loads(x) for x in (out / "results.jsonl").read_text().splitlines()]
    assert sorted((r["task_id"], r["index"]) for r in final) == sorted((r["task_id"], 0) for r in fast + slow)
    assert all(r["base_status"] == "pass" for r in final)
    assert time.monotonic() - t0 < 1.5 * (12 - len(kept)) + 10  # finished rows were not redone
    assert json.loads((out / "summary.json").read_text())["n_samples"] == 12


def test_prompts_command(tmp_path):
    proc = cli("prompts", "-b", "humaneval")
    rows = [json.loads(x) for x in proc.stdout.splitlines()]
    assert len(rows) == 164 and rows[0]["task_id"] == "HumanEval/0"
    assert rows[0]["prompt"].endswith("### Response:")
    assert rows[0]["instruction"].startswith("Create a Python script for this problem:\nfrom typing import List")


def test_report_prints_the_card_table(tmp_path):
    run(tmp_path, "humaneval", [{"task_id": "HumanEval/2", "completion": "    return number % 1.0\n"}],
        label="WizardCoder-15B-V1.0")
    proc = cli("report", str(tmp_path / "out"))
    assert proc.returncode == 0
    assert "HumanEval+" in proc.stdout and "MBPP+" in proc.stdout
    assert "100.0" in proc.stdout  # ours
    assert "59.8" in proc.stdout  # the card's published figure for this model


def test_strict_sandbox_runs_or_refuses_in_one_line(tmp_path):
    from wizardcoder.sandbox.sandbox import STRICT_NEEDS, Limits, Sandbox, SandboxUnavailable

    (tmp_path / "s.jsonl").write_text(json.dumps({"task_id": "HumanEval/0", "completion": "    return False\n"}) + "\n")
    proc = cli("eval", "-b", "humaneval", "-s", str(tmp_path / "s.jsonl"), "-o", str(tmp_path / "out"), "--partial",
               "--sandbox", "strict", "-q")
    try:
        with Sandbox(Limits(isolation="strict")) as sb:
            sb.ensure_started()
    except SandboxUnavailable:
        assert proc.returncode == 2 and proc.stderr.count("\n") == 1 and "strict sandbox" in proc.stderr
        return
    assert proc.returncode == 0, proc.stderr
    sandbox = json.loads((tmp_path / "out" / "summary.json").read_text())["sandbox"]
    assert sandbox["isolation"] == "strict" and all(sandbox[k] for k in STRICT_NEEDS)
