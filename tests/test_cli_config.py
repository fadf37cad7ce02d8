"""Flags, YAML files and Python calls are filled from one settings object per capability.

``--print-config`` prints a command's resolved settings; ``--config`` reads them back (flags win),
so a run can be written down and repeated; ``train``'s flags are TrainConfig's fields, evolve's
teacher options EngineSpec's, with their defaults taken from the objects, not restated.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import typer
import yaml

from wizardcoder.api import TEACHER_DEFAULTS
from wizardcoder.cli import app, run
from wizardcoder.engines.spec import EngineSpec
from wizardcoder.training.config import TrainConfig

SRC = Path(__file__).resolve().parents[1] / "src" / "wizardcoder" / "cli"


def _cli(capsys: pytest.CaptureFixture[str], *argv: object) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stop:
        run([str(a) for a in argv])
    out, err = capsys.readouterr()
    return int(stop.value.code or 0), out, err


def _settings(capsys: pytest.CaptureFixture[str], *argv: object) -> dict[str, object]:
    code, out, err = _cli(capsys, *argv, "--print-config")
    assert code == 0, err
    return yaml.safe_load(out)


@pytest.mark.parametrize("argv", [
    ("eval", "-b", "mbpp+", "-s", "canonical", "--workers", "3", "--memory-limit", "2", "--no-dedup"),
    ("generate", "-i", "p.jsonl", "-o", "o.jsonl", "--max-tokens", "64", "--stop", "###", "--parallel", "2"),
    ("evolve", "--seeds", "s.json", "-o", "run", "--teacher", "fake", "--rounds", "2", "--method", "breadth=2"),
    ("train", "--data", "d.json", "-o", "out", "--lr", "1e-4", "--lora", "--report-to", "csv", "--no-merge"),
])
def test_printed_settings_read_back_are_the_same_run(argv, capsys, tmp_path):
    first = _settings(capsys, *argv)
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(first))
    assert _settings(capsys, argv[0], "--config", path) == first


def test_flags_win_over_the_file_and_the_file_over_defaults(capsys, tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("benchmark: humaneval\nsamples: canonical\nworkers: 3\nmax-tokens: 99\n")
    got = _settings(capsys, "eval", "--config", path, "--workers", "1")
    assert (got["workers"], got["max_tokens"], got["benchmark"]) == (1, 99, "humaneval")
    path.write_text("model: a.gguf\nlearning_rate: 0.001\nmax_steps: 7\n")
    got = _settings(capsys, "train", "--config", path, "--max-steps", "9")
    assert (got["model"], got["learning_rate"], got["max_steps"]) == ("a.gguf", 0.001, 9)


@pytest.mark.parametrize("text, words", [
    ("benchmark: humaneval\nworker: 3\n", ":2: unknown setting 'worker'"),
    ("benchmark: humaneval\n\nworkers: many\n", ":3: workers: Invalid value for '--workers'"),
    ("benchmark: [humaneval\n", "invalid YAML"),
    ("- workers\n", "a config is a mapping of settings"),
])
def test_a_bad_config_file_is_one_line_naming_file_and_line(text, words, capsys, tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    code, _, err = _cli(capsys, "eval", "--config", path, "-s", "canonical")
    assert code == 2 and f"{path}" in err and words in err and len(err.strip().splitlines()) == 1, err


def test_train_flags_are_train_config_fields_with_its_defaults(capsys):
    got = _settings(capsys, "train", "--data", "d", "-o", "o")
    assert got == dataclasses.asdict(TrainConfig(data="d", output_dir="o"))
    train = typer.main.get_command(app).commands["train"]
    flags = {o for p in train.params for o in [*p.opts, *p.secondary_opts]}
    for f in dataclasses.fields(TrainConfig):
        if f.metadata["setting"]["cli"]:
            flag = (f.metadata["setting"]["flags"] or ("--" + f.name.replace("_", "-"),))[0].split("/")[0]
            assert flag in flags, f"{f.name}: no {flag} flag"


def test_evolve_teacher_options_are_engine_spec_fields_with_the_teacher_defaults(capsys):
    got = _settings(capsys, "evolve", "--seeds", "s", "-o", "o")
    for name, value in {**TEACHER_DEFAULTS, "temperature": 1.0, "top_p": 0.95}.items():
        assert got[name] == value, name
    shared = {f.name for f in dataclasses.fields(EngineSpec)} - {"seed", "stop"}
    assert shared <= set(got)  # every engine setting reaches a teacher (batch size and device included)
    assert got["model"] == "default"
    assert _settings(capsys, "evolve", "-t", "x.gguf", "--seeds", "s", "-o", "o")["model"] == "x.gguf"


def test_the_command_modules_are_short():
    long = {p.name: n for p in SRC.glob("*.py") if (n := len(p.read_text().splitlines())) > 160}
    assert not long, long


def test_a_run_records_its_settings_and_they_repeat_it(capsys, tmp_path):
    import gzip
    import json

    bench = Path(__file__).parent / "data" / "benchmarks" / "HumanEval.jsonl.gz"
    with gzip.open(bench, "rt") as lines:
        tasks = [json.loads(line) for line in lines][:3]
    samples = tmp_path / "three.jsonl"
    samples.write_text("".join(json.dumps({"task_id": t["task_id"], "solution": t["prompt"] + t["canonical_solution"]})
                               + "\n" for t in tasks))
    out = tmp_path / "eval"
    code, _, err = _cli(capsys, "eval", "-b", "humaneval", "--dataset-path", bench, "-s", samples, "--partial",
                        "-o", out, "--workers", "2", "-q")
    assert code == 0, err
    recorded = yaml.safe_load((out / "config.yaml").read_text())
    assert (recorded["samples"], recorded["output"], recorded["workers"], recorded["partial"]) == (
        str(samples), str(out), 2, True)
    assert _settings(capsys, "eval", "--config", out / "config.yaml") == recorded
    code, out_text, err = _cli(capsys, "eval", "--config", out / "config.yaml", "-q")
    assert code == 0 and "already evaluated" in " ".join((out_text + err).split())  # the same job, known as done


def test_evolve_seed_is_the_run_seed_in_the_command_and_the_api(capsys, tmp_path):
    """``seed`` names both EvolveConfig's run seed and EngineSpec's sampling seed: evolve means the first."""
    import json

    from wizardcoder import evolve

    seeds = Path(__file__).parent / "data" / "code_alpaca_200.json"
    evolve(seeds, tmp_path / "api", teacher="fake", seed=7, rounds=1, limit=2, decontaminate=False)
    assert json.loads((tmp_path / "api" / "run.json").read_text())["seed"] == 7
    code, _, err = _cli(capsys, "evolve", "--teacher", "fake", "--seeds", seeds, "-o", tmp_path / "cli", "--seed", "7",
                        "--rounds", "1", "--limit", "2", "--no-decontam", "-q")
    assert code == 0, err
    assert json.loads((tmp_path / "cli" / "run.json").read_text())["seed"] == 7
    assert yaml.safe_load((tmp_path / "cli" / "config.yaml").read_text())["seed"] == 7
