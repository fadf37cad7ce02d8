"""``wizardcoder recipe``: the file's one-line errors, the stage fingerprints and plan (fast), and the
smoke recipe run end to end, killed inside training and continued, and cached by stage (slow)."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import CODE_ALPACA
from wizardcoder.errors import WizardCoderError
from wizardcoder.recipe import load, recipe_plan
from wizardcoder.recipe.run import launch_command
from wizardcoder.recipe.stages import STAGE_FILE, build, scaled_batch, warnings

ROOT = Path(__file__).resolve().parents[1]
SMOKE = ROOT / "recipes" / "smoke.yaml"
WC = [sys.executable, "-m", "wizardcoder.cli"]


def _write(tmp: Path, text: str, name: str = "r.yaml") -> Path:
    shutil.copy(ROOT / "recipes" / "smoke-seeds.jsonl", tmp / "seeds.jsonl")
    path = tmp / name
    path.write_text(text)
    return path


BASE = """\
seeds: seeds.jsonl
teacher:
  model: fake
evolve:
  rounds: 1
  decontaminate: false
arms:
  - name: base
    data: none
  - name: evolved
    data: evolved
    train:
      max_steps: 2
      batch_size: 2
      global_batch_size: 4
eval:
  benchmarks: [humaneval]
  limit: 3
"""


@pytest.mark.parametrize("edit, where", [
    (("  rounds: 1\n", "  rounds: 1\n  colour: red\n"), "r.yaml:6: evolve.colour: unknown key"),
    (("      max_steps: 2\n", "      max_steps: 2\n      lr: fast\n"),
     "r.yaml:14: arms[1].train.lr: unknown key (did you mean learning_rate?)"),
    (("      max_steps: 2\n", "      max_steps: 2\n      learning_rate: fast\n"),
     "r.yaml:14: arms[1].train.learning_rate: expected a number, got 'fast'"),
    (("      max_steps: 2\n", "      max_steps: -2\n"), "r.yaml:13: arms[1].train.max_steps: max_steps (--max-steps) "
     "must be at least 1, got -2"),
    (("seeds: seeds.jsonl\n", ""), "r.yaml:1: recipe: missing: arm 'evolved' trains on 'evolved'"),
    (("seeds: seeds.jsonl\n", "seeds: nothere.jsonl\n"), "r.yaml:1: seeds: no such file"),
    (("    data: evolved\n", "    data: evolvd\n"), "r.yaml:11: arms[1].data: no stage makes 'evolvd'"),
    (("  rounds: 1\n", "  rounds: one\n"), "r.yaml:5: evolve.rounds: expected an integer, got 'one'"),
    (("  model: fake\n", "  model: fake\n  seed: 3\n"), "r.yaml:4: teacher.seed: set by the run"),
    (("  limit: 3\n", "  limit: 3\n  temperature: -1\n"), "r.yaml:19: eval.temperature: temperature (--temperature) "
     "must be at least 0"),
    (("  benchmarks: [humaneval]\n", "  benchmarks: [humaneval, nope]\n"), "r.yaml:17: eval.benchmarks: unknown "
     "benchmark 'nope'"),
    (("    data: none\n", "    data: none\n    train: {max_steps: 1}\n"), "r.yaml:10: arms[0].train: an arm with "
     "data: none is not trained"),
])
def test_bad_recipes_are_one_line_with_file_line_and_key(tmp_path: Path, edit: tuple[str, str], where: str) -> None:
    assert edit[0] in BASE
    path = _write(tmp_path, BASE.replace(edit[0], edit[1], 1))
    with pytest.raises(WizardCoderError) as info:
        load(path)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(str(path.parent)) and where in msg, msg


def test_sections_are_the_settings_objects(tmp_path: Path) -> None:
    text = BASE.replace("  rounds: 1\n", "  rounds: 2\n  methods: [constraints, uncommon=2]\n  limit: 4\n"
                        "  filters: {no_rule: [leak], min_instruction_words: 2}\n")
    r = load(_write(tmp_path, text))
    assert r.teacher.model == "fake" and (r.teacher.temperature, r.teacher.top_p, r.teacher.retries) == (1.0, 0.95, 6)
    assert r.evolve.rounds == 2 and r.evolve.methods == (("constraints", 1.0), ("uncommon", 2.0))
    assert "leak" not in r.evolve.filters.rules and r.evolve.filters.min_instruction_words == 2
    assert r.evolve_job == {"decontaminate": False, "limit": 4, "decontam_multiple": True}  # newer settings travel
    arm = r.arms[1]
    assert arm.train is not None and arm.train.max_steps == 2 and arm.train.learning_rate == 2e-5  # the paper's default
    assert r.eval.benchmarks == ("humaneval",) and r.eval.limit == 3
    resolved = r.resolved()
    assert resolved["arms"][1]["train"]["global_batch_size"] == 4 and resolved["teacher"]["retries"] == 6
    yaml.safe_dump(resolved)  # plain data


def test_changing_an_arms_learning_rate_changes_only_its_train_and_eval(tmp_path: Path) -> None:
    three = BASE.replace("eval:", "  - name: other\n    data: evolved\n    train: {max_steps: 2}\neval:")
    a = {s.name: s.fingerprint for s in build(load(_write(tmp_path, three)))}
    b = {s.name: s.fingerprint for s in build(load(_write(tmp_path, three.replace(
        "      global_batch_size: 4\n", "      global_batch_size: 4\n      learning_rate: 1.0e-4\n"), "r2.yaml")))}
    assert list(a) == ["answer-seeds", "evolve", "train-evolved", "train-other", "eval-base-humaneval",
                       "eval-evolved-humaneval", "eval-other-humaneval"]
    assert {k for k in a if a[k] != b[k]} == {"train-evolved", "eval-evolved-humaneval"}
    moved = tmp_path / "moved"  # the same recipe and seeds elsewhere: the same stages (content, not paths)
    moved.mkdir()
    assert {s.name: s.fingerprint for s in build(load(_write(moved, three)))} == a
    c = {s.name: s.fingerprint for s in build(load(_write(tmp_path, three.replace("rounds: 1", "rounds: 2"), "r3.yaml")))}
    assert {k for k in a if a[k] != c[k]} == {"evolve", "train-evolved", "train-other", "eval-evolved-humaneval",
                                              "eval-other-humaneval"}


def test_a_newer_evolve_default_changes_the_evolve_stage_and_set_back_keeps_it(tmp_path: Path) -> None:
    """MultiPL-E's prompts joined evolve's decontamination set after recipes had run: a recipe that sets
    ``decontam_multiple: false`` keeps the fingerprints it had (and its run gets False, not the new
    default); one that leaves it out gets new data, so its evolve stage and what follows run again."""
    def stages(text: str, name: str) -> dict[str, str]:
        return {s.name: s.fingerprint for s in build(load(_write(tmp_path, text, name)))}

    base = BASE.replace("decontaminate: false", "decontaminate: true")
    off = base.replace("evolve:\n", "evolve:\n  decontam_multiple: false\n")
    assert off != base != BASE
    now, old = stages(base, "now.yaml"), stages(off, "off.yaml")
    assert load(_write(tmp_path, off, "off.yaml")).evolve_job["decontam_multiple"] is False
    assert {k for k in now if now[k] != old[k]} == {"evolve", "train-evolved", "eval-evolved-humaneval"}
    evolve = next(s for s in build(load(_write(tmp_path, off, "off.yaml"))) if s.name == "evolve")
    assert "decontam_multiple" not in evolve.settings  # what the stage recorded before the setting existed
    assert "decontaminate: false" in BASE  # and without decontamination the setting changes nothing
    assert stages(BASE, "now.yaml") == stages(BASE.replace("decontaminate: false", "decontaminate: false\n  "
                                                           "decontam_multiple: false"), "same.yaml")


def test_humaneval_plus_takes_humanevals_answers_as_an_input(tmp_path: Path) -> None:
    both = {s.name: s for s in build(load(_write(tmp_path, BASE.replace("[humaneval]", "[humaneval, humaneval+]"))))}
    plus, first = both["eval-evolved-humanevalplus"], both["eval-evolved-humaneval"]
    assert plus.settings["shared_from"] == "humaneval" and plus.inputs[first.name] == first.fingerprint
    alone = {s.name: s for s in build(load(_write(tmp_path, BASE.replace("[humaneval]", "[humaneval+, mbpp+]"),
                                                  "r2.yaml")))}
    assert "shared_from" not in alone["eval-evolved-humanevalplus"].settings
    assert "shared_from" not in alone["eval-evolved-mbppplus"].settings  # MBPP+ words its prompts otherwise


@pytest.mark.parametrize("report, where", [
    ("report: {colour: red}\n", "r.yaml:19: report.colour: unknown key"),
    ("report: {baseline: nobody}\n", "r.yaml:19: report.baseline: no arm named 'nobody' (arms: base, evolved)"),
    ("report: {compare: [[evolved, evolved]]}\n", "r.yaml:19: report.compare[0]: expected a pair of two different "
     "arms"),
])
def test_bad_report_settings_are_one_line(tmp_path: Path, report: str, where: str) -> None:
    with pytest.raises(WizardCoderError) as exc:
        load(_write(tmp_path, BASE + report))
    assert str(exc.value).startswith(str(tmp_path / where))


def test_plan_says_done_continue_rerun_and_run(tmp_path: Path) -> None:
    path = _write(tmp_path, BASE)
    out = tmp_path / "run"
    plan = recipe_plan(path, out)
    assert [r.state for r in plan.rows] == ["run"] * 5
    answer, evolve, train = plan.rows[0], plan.rows[1], plan.rows[2]
    answer.directory.mkdir(parents=True)
    (answer.directory / STAGE_FILE).write_text("{}")
    evolve.directory.mkdir(parents=True)  # stopped inside
    (out / "stages" / "train-evolved-000000000000").mkdir()  # finished with other settings
    states = {r.name: r.state for r in recipe_plan(path, out).rows}
    assert states == {"answer-seeds": "done", "evolve": "resume", "train-evolved": "rerun",
                      "eval-base-humaneval": "run", "eval-evolved-humaneval": "run"}
    assert train.directory.name.startswith("train-evolved-") and len(train.directory.name) == len("train-evolved-") + 12
    proc = subprocess.run([*WC, "recipe", "plan", str(path), "-o", str(out)], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    assert "will rerun" in proc.stdout and "continue" in proc.stdout and "4 of 5 stages to run" in proc.stdout
    bad = subprocess.run([*WC, "recipe", "plan", str(_write(tmp_path, "arms: 3\n", "bad.yaml")), "-o", str(out)],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and bad.stderr.strip().endswith("bad.yaml:1: arms: expected a list of arms (name, "
                                                               "model, data, train)")


def test_chosen_arms_take_the_stages_they_read_and_nothing_else(tmp_path: Path) -> None:
    path = _write(tmp_path, BASE)
    out = tmp_path / "run"
    assert recipe_plan(path, out, arms=["base"]).selected == {"eval-base-humaneval"}
    plan = recipe_plan(path, out, arms=["evolved"])
    assert plan.selected == {"answer-seeds", "evolve", "train-evolved", "eval-evolved-humaneval"} and plan.todo == 4
    assert [s.fingerprint for s in plan.stages] == [s.fingerprint for s in recipe_plan(path, out).stages]
    with pytest.raises(WizardCoderError) as exc:
        recipe_plan(path, out, arms=["basee"])
    assert str(exc.value) == f"{path}: arm 'basee' is not in the recipe (arms: base, evolved)"
    proc = subprocess.run([*WC, "recipe", "plan", str(path), "-o", str(out), "--arm", "base"], capture_output=True,
                          text=True, env={**os.environ, "COLUMNS": "200"})
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("(not chosen)") == 4 and "1 of 5 stages to run" in proc.stdout


def test_warnings_for_a_batch_bigger_than_the_data_and_the_scaling_rule(tmp_path: Path) -> None:
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"instruction": f"q{i}", "output": f"a{i}"}) + "\n" for i in range(50)))
    text = BASE.replace("    data: evolved\n    train:\n      max_steps: 2\n      batch_size: 2\n      global_batch_size: 4\n",
                        "    data: rows.jsonl\n    train: {max_steps: 5}\n"
                        "  - name: scaled\n    data: rows.jsonl\n    scale_batch: true\n    train: {max_steps: 5}\n")
    w = warnings(load(_write(tmp_path, text)))
    assert w == ["arm evolved: 50 rows < global batch 512: each optimizer step is about 10 passes over the data "
                 "(set scale_batch: true, or a smaller global_batch_size)",
                 "arm scaled: 50 rows < global batch 512: scale_batch sets it to 48 (batch size 16) at train time "
                 "(min(global, rows) rounded down to a multiple of batch_size)"]
    assert scaled_batch(512, 16, 50) == (48, 16) and scaled_batch(512, 16, 600) == (512, 16)
    assert scaled_batch(512, 16, 5) == (5, 5) and scaled_batch(4, 2, 13) == (4, 2)


def test_launch_commands() -> None:
    y, o = Path("/s/train.yaml"), Path("/s/model")
    assert launch_command("torchrun", 2, None, y, o, True, False) == [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2", "-m", "wizardcoder.cli",
        "train", "--config", "/s/train.yaml", "--output", "/s/model", "--resume"]
    assert launch_command("accelerate", 8, "/c/zero3.yaml", y, o, False, False)[:8] == [
        sys.executable, "-m", "accelerate.commands.launch", "--num_processes", "8", "--config_file", "/c/zero3.yaml", "-m"]


def test_shipped_recipes_load(tmp_path: Path) -> None:
    smoke = load(SMOKE)
    assert smoke.teacher.model == "fake" and [a.data for a in smoke.arms] == ["none", "evolved"]
    shutil.copy(ROOT / "recipes" / "paper.yaml", tmp_path / "paper.yaml")  # with stand-ins for what it needs
    shutil.copy(ROOT / "recipes" / "smoke-seeds.jsonl", tmp_path / "code_alpaca_20k.json")
    (tmp_path / "zero3-offload.yaml").write_text("distributed_type: DEEPSPEED\n")
    paper = load(tmp_path / "paper.yaml")
    assert paper.evolve.rounds == 3 and any(a.launcher.kind == "accelerate" for a in paper.arms)
    assert all(a.train is None or a.train.learning_rate == 2e-5 for a in paper.arms)
    shutil.copy(ROOT / "recipes" / "method-check.yaml", tmp_path / "method-check.yaml")
    shutil.copy(CODE_ALPACA, tmp_path / "code_alpaca_2k.json")  # 200 of its rows stand in for the file
    check = load(tmp_path / "method-check.yaml")
    assert [a.data for a in check.arms] == ["none", "seeds", "evolved", "seeds-matched", "none"]
    assert {a.train.gguf for a in check.arms if a.train} == {"f16"} and check.evolve.filters.judge_gain is False
    assert check.report["compare"][0] == ["evolved", "seeds-matched"] and not warnings(check)


# -- end to end (slow) ------------------------------------------------------------------------

def _run(recipe: Path, out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WC, "recipe", "run", str(recipe), "-o", str(out), "-q"], capture_output=True, text=True,
                          timeout=900)


def _losses(out: Path) -> list[str]:
    log = next((out / "stages").glob("train-evolved-*/model/logs/train_log.csv"))
    with log.open() as fh:
        return [r["loss"] for r in csv.DictReader(fh) if r.get("loss")]


def _pass(out: Path) -> dict[str, float]:
    return {p.parent.parent.name.rsplit("-", 1)[0]: json.loads(p.read_text())["base"]["pass@1"]
            for p in (out / "stages").glob("eval-*/eval/summary.json")}


@pytest.mark.slow
def test_smoke_recipe_killed_in_training_continues_to_the_same_results_and_caches_stages(tmp_path: Path) -> None:
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    t0 = time.monotonic()
    proc = _run(SMOKE, whole)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "all 5 stages done (5 run now)" in proc.stdout
    took = time.monotonic() - t0
    # killed inside training, once its first checkpoint is written
    p = subprocess.Popen([*WC, "recipe", "run", str(SMOKE), "-o", str(killed), "-q"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 600
    while not list((killed / "stages").glob("train-evolved-*/model/checkpoints/checkpoint-1/trainer_state.json")):
        assert p.poll() is None and time.monotonic() < deadline, "the run ended before training's first checkpoint"
        time.sleep(0.2)
    os.killpg(p.pid, signal.SIGKILL)
    p.wait()
    train_dir = next((killed / "stages").glob("train-evolved-*"))
    assert not (train_dir / STAGE_FILE).exists()
    plan = subprocess.run([*WC, "recipe", "plan", str(SMOKE), "-o", str(killed)], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"})
    assert "continue" in plan.stdout and "3 of 5 stages to run" in plan.stdout, plan.stdout
    proc = _run(SMOKE, killed)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "all 5 stages done (3 run now)" in proc.stdout
    assert "train-evolved: continuing" in proc.stderr
    rec = json.loads((train_dir / "model" / "wizardcoder_train.json").read_text())
    assert rec["status"] == "finished" and rec.get("resumed") == 1
    a, b = json.loads((whole / "results.json").read_text()), json.loads((killed / "results.json").read_text())
    assert a["arms"] == b["arms"] and _pass(whole) == _pass(killed)
    assert _losses(whole) == _losses(killed) and len(_losses(whole)) == 2
    assert a["train"]["evolved"]["rows"] == b["train"]["evolved"]["rows"]
    assert sorted(p.name for p in (whole / "stages").iterdir()) == sorted(p.name for p in (killed / "stages").iterdir())
    # a second rerun does nothing
    proc = _run(SMOKE, killed)
    assert proc.returncode == 0 and "all 5 stages done, nothing to run" in proc.stdout
    # the learning rate of the arm changed: its train and eval only
    before = {p.name for p in (whole / "stages").iterdir()}
    changed = tmp_path / "smoke-lr.yaml"
    changed.write_text(SMOKE.read_text().replace("learning_rate: 1.0e-5", "learning_rate: 2.0e-5"))
    shutil.copy(ROOT / "recipes" / "smoke-seeds.jsonl", tmp_path / "smoke-seeds.jsonl")
    proc = _run(changed, whole)
    assert proc.returncode == 0, proc.stderr[-3000:]
    new = {p.name for p in (whole / "stages").iterdir()} - before
    assert sorted(n.rsplit("-", 1)[0] for n in new) == ["eval-evolved-humaneval", "train-evolved"]
    assert "all 5 stages done (2 run now)" in proc.stdout
    run = json.loads((whole / "run.json").read_text())
    assert run["versions"]["wizardcoder"] and run["seeds"]["sha256"] and run["models"]["default"].endswith(".gguf")
    assert len(run["model_sha256"]["default"]) == 64 and run["teacher"]["sha256"] is None  # fake: no bytes
    assert run["datasets"]["evolved"]["rows"] == a["train"]["evolved"]["rows"] and run["datasets"]["evolved"]["data_sha256"]
    assert yaml.safe_load((whole / "recipe.resolved.yaml").read_text())["arms"][1]["train"]["learning_rate"] == 2e-5
    # the report, rebuilt at every run: the arms, the columns, its figures
    md = (whole / "report.md").read_text()
    assert "**evolved** (evolved)" in md and "| model | arm / data | HumanEval |" in md
    assert {p.name for p in (whole / "report").glob("*.png")} == {"scores.png", "loss.png", "evolution.png"}
    assert (whole / "report.html").read_text().count("data:image/png;base64,") == 3
    print(f"smoke recipe, uninterrupted: {took:.0f} s")


@pytest.mark.slow
def test_a_failing_stage_stops_with_one_line_and_finished_stages_stay(tmp_path: Path) -> None:
    text = """\
arms:
  - name: good
    data: none
  - name: bad
    model: /nowhere/model.gguf
    data: none
eval:
  benchmarks: [humaneval]
  limit: 1
  max_tokens: 8
"""
    out = tmp_path / "run"
    recipe = _write(tmp_path, text)
    proc = _run(recipe, out)
    assert proc.returncode == 2
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: stage eval-bad-humaneval (") and "nowhere" in last, proc.stderr
    states = {r.name: r.state for r in recipe_plan(recipe, out).rows}
    assert states == {"eval-good-humaneval": "done", "eval-bad-humaneval": "resume"}


@pytest.mark.slow
def test_a_run_of_one_arm_leaves_the_others_pending_and_a_later_run_finishes_them(tmp_path: Path) -> None:
    text = BASE.replace("  limit: 3\n", "  limit: 1\n  max_tokens: 8\n")
    recipe, out = _write(tmp_path, text), tmp_path / "run"
    wide = {**os.environ, "COLUMNS": "300"}
    proc = subprocess.run([*WC, "recipe", "run", str(recipe), "-o", str(out), "-q", "--arm", "base"],
                          capture_output=True, text=True, timeout=900, env=wide)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1 of 5 stages done, not chosen: answer-seeds, evolve, train-evolved, eval-evolved-humaneval" in proc.stdout
    states = {r.name: r.state for r in recipe_plan(recipe, out).rows}
    assert states["eval-base-humaneval"] == "done" and list(states.values()).count("run") == 4
    results = json.loads((out / "results.json").read_text())
    assert results["arms"]["base"]["humaneval"]["n_tasks"] == 1 and results["arms"]["evolved"] == {}
    run = json.loads((out / "run.json").read_text())
    assert run["pending"] == ["answer-seeds", "evolve", "train-evolved", "eval-evolved-humaneval"]
    assert "finished" not in run and "pending" in (out / "report.md").read_text()
    again = subprocess.run([*WC, "recipe", "run", str(recipe), "-o", str(out), "-q"], capture_output=True, text=True,
                           timeout=900, env=wide)  # every arm now: the chosen one's stage is not redone
    assert again.returncode == 0, again.stderr[-3000:]
    assert "eval-base-humaneval: done" in again.stderr and "all 5 stages done (4 run now)" in again.stdout
    assert "finished" in json.loads((out / "run.json").read_text())
    # Paths are recorded relative to the run directory: moved, and run from elsewhere, it is all done.
    train = json.loads(next(out.glob("stages/train-evolved-*/stage.json")).read_text())["result"]
    assert train["model"] == str(Path(next(out.glob("stages/train-evolved-*")).name) / "model").replace(
        "train-", "stages/train-", 1)
    moved = tmp_path / "elsewhere" / "run"
    moved.parent.mkdir()
    shutil.move(out, moved)
    third = subprocess.run([*WC, "recipe", "run", str(recipe), "-o", "run", "-q"], capture_output=True, text=True,
                           timeout=900, env=wide, cwd=moved.parent)
    assert third.returncode == 0 and "all 5 stages done, nothing to run" in third.stdout, third.stderr[-3000:]


def test_the_api_names() -> None:
    import wizardcoder

    assert wizardcoder.recipe_plan is recipe_plan and callable(wizardcoder.recipe_run)


@pytest.mark.slow
def test_torchrun_launcher_trains_an_arm_with_two_cpu_processes(tmp_path: Path) -> None:
    from tiny_models import make_tiny_model

    model = make_tiny_model("llama", tmp_path / "tiny")
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"instruction": f"Add {i} and {i % 5}.", "output": f"{i + i % 5}"}) + "\n"
                            for i in range(16)))
    text = f"""\
arms:
  - name: two
    model: {model}
    data: rows.jsonl
    launcher: {{kind: torchrun, processes: 2}}
    train: {{max_steps: 2, batch_size: 2, global_batch_size: 8, warmup_steps: 0, max_length: 128, report_to: [csv]}}
eval:
  benchmarks: [humaneval]
  limit: 1
  max_tokens: 8
"""
    out = tmp_path / "run"
    proc = _run(_write(tmp_path, text), out)
    assert proc.returncode == 0, proc.stderr[-3000:]
    stage = next((out / "stages").glob("train-two-*"))
    rec = json.loads((stage / "model" / "wizardcoder_train.json").read_text())
    assert (rec["world_size"], rec["gradient_accumulation_steps"], rec["status"]) == (2, 2, "finished")
    assert "torch.distributed.run" in (stage / "train.log").read_text()
    assert (stage / "train.yaml").is_file() and json.loads((stage / STAGE_FILE).read_text())["result"]["steps"] == 2


@pytest.mark.slow
def test_seeds_evolved_and_seeds_matched_arms_train_on_teacher_answers(tmp_path: Path) -> None:
    """(b) seeds, (c) evolved, (d) seeds-matched: the same teacher answers every row; (d) has (c)'s row count."""
    from tiny_models import make_tiny_model
    from wizardcoder.recipe import recipe_run

    model = make_tiny_model("llama", tmp_path / "tiny")
    train = "{max_steps: 1, batch_size: 2, global_batch_size: 2, max_length: 128, report_to: [csv]}"
    text = f"""\
seeds: seeds.jsonl
teacher: {{model: fake, max_tokens: 128}}
evolve: {{rounds: 1, limit: 3, decontaminate: false}}
arms:
  - {{name: b, model: {model}, data: seeds, train: {train}}}
  - {{name: c, model: {model}, data: evolved, train: {train}}}
  - {{name: d, model: {model}, data: seeds-matched, train: {train}}}
eval: {{benchmarks: [humaneval], limit: 1, max_tokens: 8}}
"""
    result = recipe_run(_write(tmp_path, text), tmp_path / "run")
    assert [s.name for s in result.stages][:6] == ["answer-seeds", "evolve", "answer-matched", "train-b", "train-c",
                                                   "train-d"]
    by = {s.name: s.result for s in result.stages}

    def rows(path: str) -> list[dict]:
        p = Path(path)
        p = p / "data.jsonl" if p.is_dir() else p
        return [json.loads(line) for line in p.read_text().splitlines()]

    seeds = [json.loads(line) for line in (tmp_path / "seeds.jsonl").read_text().splitlines()]
    b, c, d = rows(by["train-b"]["data"]), rows(by["train-c"]["data"]), rows(by["train-d"]["data"])
    assert len(b) == 3 and len(d) == len(c) == by["evolve"]["rows"] > 3
    assert [r["instruction"] for r in d] == [s["instruction"] for s in seeds[:len(d)]]
    assert all(r["output"] != s["output"] for r, s in zip(b, seeds, strict=False))  # the teacher's, not the file's
    assert [r["output"] for r in c if r["round"] == 0] == [r["output"] for r in b]
    assert [r["output"] for r in d[:3]] == [r["output"] for r in b]  # the same teacher, the same seeded answers
    assert by["train-d"]["rows"] == len(c) and set(result.results["arms"]) == {"b", "c", "d"}
    assert (by["answer-matched"]["reused"], by["answer-matched"]["asked"]) == (3, len(c) - 3)  # not asked twice


@pytest.mark.slow
def test_an_arm_exported_to_gguf_is_evaluated_through_llama_cpp(tmp_path: Path) -> None:
    from tiny_models import make_tiny_model
    from wizardcoder.recipe import recipe_run
    from wizardcoder.training.gguf import find_converter

    try:
        find_converter()
    except WizardCoderError as exc:
        pytest.skip(f"no llama.cpp converter: {exc}")
    model = make_tiny_model("llama", tmp_path / "tiny")
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"instruction": f"Add {i} and 1.", "output": f"{i + 1}"}) + "\n"
                            for i in range(8)))
    text = f"""\
arms:
  - name: g
    model: {model}
    data: rows.jsonl
    train: {{max_steps: 1, batch_size: 4, global_batch_size: 4, max_length: 128, report_to: [csv], gguf: f32}}
eval: {{benchmarks: [humaneval, humaneval+], limit: 2, max_tokens: 8, prompt_format: wizardcoder}}
"""
    result = recipe_run(_write(tmp_path, text), tmp_path / "run")
    by = {s.name: s.result for s in result.stages}
    assert by["train-g"]["gguf"].endswith("model-f32.gguf") and Path(by["train-g"]["gguf"]).is_file()
    assert by["eval-g-humaneval"]["model"] == by["train-g"]["gguf"]
    samples = Path(by["eval-g-humaneval"]["samples"])
    info = json.loads(samples.with_name(samples.name + ".run.json").read_text())
    assert info["engine"] == "llamacpp" and info["model"] == by["train-g"]["gguf"]
    assert (by["eval-g-humanevalplus"]["shared_tasks"], by["eval-g-humanevalplus"]["generated_tasks"]) == (2, 0)
    first, plus = (Path(by[n]["samples"]).read_text().splitlines() for n in ("eval-g-humaneval", "eval-g-humanevalplus"))
    assert [json.loads(x)["response"] for x in first] == [json.loads(x)["response"] for x in plus]  # judged twice
    assert result.report is not None and result.report.is_file()
    # The run kept without its weights: an evaluation still to run trains the arm again, which must
    # give the recorded weights (sha256), or the recipe stops and leaves no other weights behind.
    train_dir = next((tmp_path / "run" / "stages").glob("train-g-*"))
    want = by["train-g"]["weights_sha256"]
    assert want == hashlib.sha256(Path(by["train-g"]["gguf"]).read_bytes()).hexdigest()
    shutil.rmtree(train_dir / "model")
    shutil.rmtree(next((tmp_path / "run" / "stages").glob("eval-g-humanevalplus-*")))
    proc = _run(tmp_path / "r.yaml", tmp_path / "run")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"train-g: trained again, the same weights (sha256 {want[:12]})" in proc.stderr
    assert len(json.loads((train_dir / STAGE_FILE).read_text())["rebuilt"]) == 1
    record = json.loads((train_dir / STAGE_FILE).read_text())
    record["result"]["weights_sha256"] = "0" * 64  # as if this machine trained otherwise
    (train_dir / STAGE_FILE).write_text(json.dumps(record))
    shutil.rmtree(train_dir / "model")
    shutil.rmtree(next((tmp_path / "run" / "stages").glob("eval-g-humanevalplus-*")))
    proc = _run(tmp_path / "r.yaml", tmp_path / "run")
    assert proc.returncode == 2 and not (train_dir / "model").exists()
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: stage train-g ({train_dir}): training again gave "
                                                           f"other weights (sha256 {want[:12]}, recorded 000000000000)")
