"""Whole benchmarks, default settings: the reference solutions score 1.0, `pass` stubs 0.0."""

from __future__ import annotations

import json

import pytest

from test_evaluate import write_samples
from wizardcoder.harness.datasets import load_dataset
from wizardcoder.harness.evaluate import EvalConfig, evaluate
from wizardcoder.harness.samples import stub_program as stub

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("benchmark", ["humaneval", "humaneval+", "mbpp", "mbpp+"])
def test_whole_benchmark_canonical_and_stubs(tmp_path, benchmark):
    summary = evaluate(EvalConfig(benchmark, "canonical", output=tmp_path / "canon"), show_progress=False)
    failures = [json.loads(x) for x in (tmp_path / "canon" / "results.jsonl").read_text().splitlines()
                if '"pass"' not in x or (benchmark.endswith("+") and '"plus_status": "pass"' not in x)]
    assert summary["base"]["pass@1"] == 1.0, [(r["task_id"], r["error"]) for r in failures]
    if benchmark.endswith("+"):
        assert summary["plus"]["pass@1"] == 1.0, [(r["task_id"], r["error"]) for r in failures]
    dataset = load_dataset(benchmark)
    samples = write_samples(tmp_path / "stubs.jsonl", [{"task_id": t.task_id, "solution": stub(t)}
                                                       for t in dataset.tasks.values()])
    summary = evaluate(EvalConfig(benchmark, str(samples), output=tmp_path / "stubs"), show_progress=False)
    assert summary["n_tasks"] == len(dataset.tasks)
    passing = [r["task_id"] for r in map(json.loads, (tmp_path / "stubs" / "results.jsonl").read_text().splitlines())
               if r["base_status"] == "pass"]
    assert passing == [] and summary["base"]["pass@1"] == 0.0
