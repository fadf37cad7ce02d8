"""The Python API, called as a notebook user would: no CLI, typed results, one-line errors.

Each job runs for real (the sandbox, the default model, the dry-run teacher server, a tiny model's
fine-tune) and its result is checked against the files the job wrote.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import BENCH_DATA, CODE_ALPACA

HUMANEVAL = BENCH_DATA / "HumanEval.jsonl.gz"


def test_import_is_lazy_and_pulls_no_torch_or_cli():
    code = ("import sys, wizardcoder; assert 'torch' not in sys.modules and 'typer' not in sys.modules, sys.modules;"
            "from wizardcoder import evaluate, EngineSpec, TrainConfig; assert 'typer' not in sys.modules;"
            "assert 'torch' not in sys.modules; print(evaluate.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "wizardcoder.api"


def test_evaluate_a_samples_file_returns_the_written_summary(tmp_path):
    from wizardcoder import EvalSummary, evaluate

    samples = tmp_path / "s.jsonl"
    samples.write_text("".join(json.dumps({"task_id": f"HumanEval/{i}", "completion": body}) + "\n"
                               for i, body in ((0, "    return False\n"), (2, "    return number % 1.0\n"))))
    got = evaluate("humaneval", samples, output=tmp_path / "out", dataset_path=str(HUMANEVAL), partial=True, workers=1)
    assert isinstance(got, EvalSummary)
    on_disk = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert {k: v for k, v in got.data.items() if k != "output_dir"} == on_disk
    assert got.n_tasks == 2 and got.status == {"fail": 1, "pass": 1}
    assert got.pass_at_1 == 0.5 and got.plus is None and got.output_dir == tmp_path / "out"


def test_errors_are_one_line_exceptions_not_exits(tmp_path):
    from wizardcoder import EngineSpec, TrainConfig, WizardCoderError, evaluate, generate, train

    with pytest.raises(WizardCoderError, match="give samples .* or a model"):
        evaluate("humaneval")
    with pytest.raises(WizardCoderError, match="unknown setting 'wokers'"):
        evaluate("humaneval", "canonical", wokers=2)
    with pytest.raises(WizardCoderError, match=r"max_tokens \(--max-tokens\) must be at least 1"):
        generate(tmp_path / "p.jsonl", tmp_path / "o.jsonl", max_tokens=0)
    with pytest.raises(WizardCoderError, match="engine .* must be one of"):
        EngineSpec(engine="gpu")
    with pytest.raises(WizardCoderError, match=r"max_steps \(--max-steps\) must be at least 1"):
        train(model="default", data=str(CODE_ALPACA), output_dir=str(tmp_path / "t"), max_steps=-1)
    with pytest.raises(WizardCoderError, match="unknown setting 'learning_rat'"):
        train(TrainConfig(), learning_rat=1)


@pytest.mark.slow
def test_generate_with_the_default_model_equals_the_command(tmp_path):
    from wizardcoder import EngineSpec, GenerateStats, generate

    prompts = tmp_path / "p.jsonl"
    prompts.write_text("".join(json.dumps({"id": str(i), "prompt": f"def add_{i}(a, b):\n    return"}) + "\n"
                               for i in range(3)))
    stats = generate(prompts, tmp_path / "api.jsonl", EngineSpec(max_tokens=8), parallel=2)
    assert isinstance(stats, GenerateStats) and stats.generated == 3 and stats.completion_tokens > 0
    subprocess.run([sys.executable, "-m", "wizardcoder.cli", "generate", "-i", str(prompts), "-o",
                    str(tmp_path / "cli.jsonl"), "--max-tokens", "8", "--parallel", "2", "-q"], check=True,
                   capture_output=True)

    def answers(name: str) -> dict[str, str]:
        return {r["id"]: r["response"] for r in map(json.loads, (tmp_path / name).read_text().splitlines())}
    assert answers("api.jsonl") == answers("cli.jsonl")


@pytest.mark.slow
def test_evolve_with_a_teacher_server(tmp_path):
    from wizardcoder import evolve
    from wizardcoder.testing.fault_server import serve_in_thread

    server, stop = serve_in_thread()
    try:
        result = evolve(CODE_ALPACA, tmp_path / "run", "fake", base_url=server.base_url, rounds=1, limit=6,
                        decontaminate=False)
    finally:
        stop()
    rows = (tmp_path / "run" / "data.jsonl").read_text().splitlines()
    assert result.seeds == 6 and result.export.rows == len(rows) > 6


@pytest.mark.slow
def test_train_a_tiny_model(tmp_path):
    from tiny_models import make_tiny_model
    from wizardcoder import train

    model = make_tiny_model("llama", tmp_path / "tiny")
    data = tmp_path / "d.jsonl"
    data.write_text("".join(json.dumps({"instruction": f"Add {i} and 1.", "output": f"{i + 1}"}) + "\n"
                            for i in range(16)))
    result = train(model=str(model), data=str(data), output_dir=str(tmp_path / "out"), max_steps=2, batch_size=4,
                   global_batch_size=4, max_length=64, report_to=["none"], save_steps=100)
    assert result.steps == 2 and Path(result.output_dir, "config.json").is_file()
    assert json.loads((tmp_path / "out" / "wizardcoder_train.json").read_text())["status"] == "finished"
