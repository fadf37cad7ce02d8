"""DS-1000: the official file and semantics, its own environment, the sandboxed checks, parity.

The tests that run programs need DS-1000's environment (`wizardcoder env ds1000`, made by .ci/run):
they are skipped, saying so, where it has not been made.
"""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from wizardcoder.errors import WizardCoderError
from wizardcoder.harness import ds1000
from wizardcoder.harness.checker import ERROR, FAIL, PASS, TIMEOUT
from wizardcoder.harness.datasets import load_dataset
from wizardcoder.harness.prompts import prompt_rows
from wizardcoder.harness.pyenv import DS1000_ENV, EnvSpec, _complete, ensure
from wizardcoder.harness.samples import load_samples

ROOT = Path(__file__).resolve().parents[1]
OFFICIAL = Path(__file__).parent / "data" / "ds1000" / "official.py"
DATA = Path(__file__).parent / "data" / "benchmarks" / "ds1000" / "ds1000.jsonl.gz"
WIZARDCODER = str(Path(sys.executable).with_name("wizardcoder"))

needs_env = pytest.mark.skipif(
    _complete(DS1000_ENV.root()) is None and not os.environ.get(DS1000_ENV.env_var),
    reason="DS-1000's environment is not made here: run `wizardcoder env ds1000` (.ci/run does)")


@pytest.fixture(scope="module")
def data():
    return load_dataset("ds1000")


def test_the_official_file_loads_with_every_problem_and_its_metadata(data) -> None:
    assert len(data.tasks) == 1000 and data.version == "2024-04"
    libs = Counter(t.library for t in data.tasks.values())
    assert libs == {"Pandas": 291, "Numpy": 220, "Matplotlib": 155, "Sklearn": 115, "Scipy": 106, "Pytorch": 68,
                    "Tensorflow": 45}
    assert Counter(t.perturbation for t in data.tasks.values()) == {"Origin": 452, "Semantic": 234,
                                                                    "Difficult-Rewrite": 162, "Surface": 152}
    first = data.tasks["DS1000/0"]
    assert first.prompt.endswith("<code>\n") and "def test_execution(" in first.context
    assert first.canonical.startswith("def g(df, List)")


def test_a_subset_per_library_and_the_aliases() -> None:
    pandas = load_dataset("ds1000-pandas")
    assert len(pandas.tasks) == 291 and {t.library for t in pandas.tasks.values()} == {"Pandas"}
    torch = load_dataset("ds1000-torch")  # alias of ds1000-pytorch
    assert torch.benchmark == "ds1000-pytorch" and len(torch.tasks) == 68
    assert list(torch.tasks) == sorted(torch.tasks, key=lambda t: int(t.split("/")[1]))


def test_another_file_is_refused_by_its_hash(tmp_path: Path) -> None:
    with gzip.open(DATA, "rt") as fh:
        rows = [json.loads(line) for line in fh][:3]
    bad = tmp_path / "ds1000.jsonl"
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(WizardCoderError, match=r"ds1000.jsonl: md5 .* not a known DS-1000 file"):
        load_dataset("ds1000", bad)


def test_task_ids_as_numbers_strings_or_prefixed(tmp_path: Path, data) -> None:
    path = tmp_path / "s.jsonl"
    path.write_text(json.dumps({"task_id": 0, "solution": "a"}) + "\n" + json.dumps({"task_id": "1", "solution": "b"})
                    + "\n" + json.dumps({"task_id": "DS1000/2", "solution": "c"}) + "\n")
    samples, _ = load_samples(path, data)
    assert [(s.task_id, s.program) for s in samples] == [("DS1000/0", "a"), ("DS1000/1", "b"), ("DS1000/2", "c")]
    path.write_text(json.dumps({"task_id": 0, "solution": "a"}) + "\n" + json.dumps({"task_id": 1000, "solution": "b"})
                    + "\n")
    with pytest.raises(WizardCoderError, match=r"s.jsonl:2: field 'task_id': unknown task 1000 for benchmark ds1000"):
        load_samples(path, data)


def test_the_official_cleanup_in_its_order() -> None:
    assert ds1000.clean("result = 1\n</code>\nEND SOLUTION\nblah") == "result = 1\n"
    assert ds1000.clean("```python\nresult = df.sum()\n```\nThis sums it.") == "\nresult = df.sum()\n"
    assert ds1000.clean("<code>\nresult = 2\nEND SOLUTION\n<code>") == "\nresult = 2"
    # "```" after "```python" is removed cuts the rest, as officially: text before a fence stays
    assert ds1000.clean("Here:\n```\nx = 1\n```") == "Here:\n"


def test_rows_become_answers_by_their_kind(tmp_path: Path, data) -> None:
    path = tmp_path / "s.jsonl"
    rows = [{"task_id": 0, "solution": "r = 1\n</code>"}, {"task_id": 1, "completion": "r = 2\n</code>\nEND"},
            {"task_id": 2, "response": "```python\nr = 3\n```\nDone."}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    samples, _ = load_samples(path, data)
    assert [s.program for s in samples] == ["r = 1\n</code>", "r = 2\n", "\nr = 3\n"]
    raw, _ = load_samples(path, data, postprocess="none")
    assert raw[2].program == rows[2]["response"]


def test_the_program_is_the_official_one(data) -> None:
    with_string = next(t for t in data.tasks.values() if "test_string(" in t.context)
    without = data.tasks["DS1000/0"]
    prog = ds1000.program(with_string, "x = 1")
    assert prog == with_string.context + "\ncode = 'x = 1'\ntest_execution(code)\ntest_string(code)\n"
    assert ds1000.program(without, "x = 1").endswith("\ncode = 'x = 1'\ntest_execution(code)\n\n")


def test_prompts_use_ds1000s_instruction_in_the_card_template(data) -> None:
    row = next(iter(prompt_rows(data)))
    assert row["task_id"] == "DS1000/0"
    assert row["instruction"] == ds1000.INSTRUCTION + data.tasks["DS1000/0"].prompt
    assert row["prompt"].startswith("Below is an instruction") and row["prompt"].rstrip().endswith("### Response:")


def test_preload_modules_are_what_the_problems_import() -> None:
    tf = ds1000.preload_modules(load_dataset("ds1000-tensorflow").tasks.values())
    assert "tensorflow" in tf and "torch" not in tf
    mpl = ds1000.preload_modules(load_dataset("ds1000-matplotlib").tasks.values())
    assert {"matplotlib.pyplot", "seaborn", "numpy", "pandas"} <= set(mpl)


def test_an_uninstallable_pin_is_one_line_and_leaves_no_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("WIZARDCODER_ENVS_DIR", str(tmp_path))
    spec = EnvSpec("ds1000", ("wizardcoder-no-such-distribution==0.0.1",), {}, {})
    with pytest.raises(WizardCoderError) as info:
        ensure(spec)
    msg = str(info.value)
    assert "\n" not in msg and "wizardcoder-no-such-distribution" in msg and "WIZARDCODER_DS1000_PYTHON" in msg
    assert spec.root().exists() and _complete(spec.root()) is None  # made again on the next try


def test_an_own_interpreter_without_the_libraries_is_refused(monkeypatch) -> None:
    monkeypatch.setenv("WIZARDCODER_DS1000_PYTHON", sys.executable)
    spec = EnvSpec("ds1000", (), {"wizardcoder": "wizardcoder", "nope": "wizardcoder_no_such_module"}, {})
    with pytest.raises(WizardCoderError, match=r"cannot import wizardcoder_no_such_module: ModuleNotFoundError"):
        ensure(spec)


# ------------------------------------------------------------------------------------------------
# Programs, run in DS-1000's environment.

@pytest.fixture(scope="module")
def env():
    return ensure(DS1000_ENV)


@pytest.fixture(scope="module")
def box(env, data):
    with ds1000.open_sandbox(env, data.tasks.values()) as sb:
        yield sb


@needs_env
def test_the_environment_holds_the_pinned_versions(env) -> None:
    for req in DS1000_ENV.requirements:
        dist, version = req.split("==")
        assert env.versions[dist].split("+")[0] == version
    assert set(env.differences(DS1000_ENV)) <= {"python", "torch"}  # 3.11 and torch's CPU build here


@needs_env
@pytest.mark.slow
def test_references_pass_and_wrong_answers_fail_by_cause(box, data) -> None:
    for tid in ("DS1000/0", "DS1000/291", "DS1000/511", "DS1000/666", "DS1000/711", "DS1000/817", "DS1000/932"):
        task = data.tasks[tid]
        assert ds1000.check_ds1000(box, task, task.canonical).base_status == PASS, tid
    task = data.tasks["DS1000/0"]
    wrong = ds1000.check_ds1000(box, task, "result = df")
    assert wrong.base_status == FAIL and wrong.error.startswith("AssertionError")
    broken = ds1000.check_ds1000(box, task, "result = (")
    assert broken.base_status == ERROR and "SyntaxError" in broken.error
    early = ds1000.check_ds1000(box, task, "import os\nos._exit(0)")
    assert early.base_status == ERROR and "ended before its tests finished" in early.error
    slow = ds1000.check_ds1000(box, task, "while True:\n    pass", timeout=1.5)
    assert slow.base_status == TIMEOUT


@needs_env
@pytest.mark.slow
def test_a_program_has_no_network_and_cannot_write_outside_its_directory(box, data) -> None:
    task = data.tasks["DS1000/0"]
    net = ("import socket\ntry:\n    socket.create_connection(('1.1.1.1', 53), timeout=3)\n    up = True\n"
           "except OSError:\n    up = False\nassert not up\nresult = df.iloc[List]\n")
    assert ds1000.check_ds1000(box, task, net).base_status == PASS
    write = ("import os\ntry:\n    open(os.path.expanduser('~/../etc/wc-ds1000-probe'), 'w')\n    wrote = True\n"
             "except OSError:\n    wrote = False\nassert not wrote\nopen('here.txt', 'w').write('ok')\n"
             "result = df.iloc[List]\n")
    assert ds1000.check_ds1000(box, task, write).base_status == PASS


def _parity_rows(data) -> list[dict]:
    """Per library every 16th problem: its reference, a wrong answer and another problem's reference."""
    rows = []
    by_lib: dict[str, list] = {}
    for task in data.tasks.values():
        by_lib.setdefault(task.library, []).append(task)
    for tasks in by_lib.values():
        for i, task in enumerate(tasks[::16]):
            other = tasks[(i * 16 + 1) % len(tasks)]
            rows += [{"task_id": task.task_id, "answer": task.canonical},
                     {"task_id": task.task_id, "answer": "result = None\n"},
                     {"task_id": task.task_id, "answer": other.canonical}]
    return rows


@needs_env
@pytest.mark.slow
def test_verdicts_equal_the_official_procedures(tmp_path: Path, env, box, data) -> None:
    rows = _parity_rows(data)
    answers, out = tmp_path / "answers.jsonl", tmp_path / "official.jsonl"
    answers.write_text("".join(json.dumps(r) + "\n" for r in rows))
    subprocess.run([env.python, str(OFFICIAL), str(DATA), str(answers), str(out), "--workers", "2"], check=True,
                   env={**os.environ, **env.environment}, timeout=1800)
    official = [json.loads(line) for line in out.read_text().splitlines()]
    ours = [ds1000.check_ds1000(box, data.tasks[r["task_id"]], r["answer"]) for r in rows]
    differ = [(r["task_id"], o["result"], v.base_status, v.error) for r, o, v in zip(rows, official, ours)
              if o["passed"] != (v.base_status == PASS)]
    assert len(rows) >= 180 and not differ
    assert sum(o["passed"] for o in official) >= len(rows) // 3  # the references, at least


@needs_env
@pytest.mark.slow
def test_eval_cli_writes_the_per_library_summary(tmp_path: Path, data) -> None:
    samples = tmp_path / "answers.jsonl"
    picked = ["DS1000/0", "DS1000/291", "DS1000/666", "DS1000/932"]
    samples.write_text("".join(json.dumps({"task_id": int(t.split("/")[1]), "completion": data.tasks[t].canonical
                                           + "\n</code>\nEND SOLUTION"}) + "\n" for t in picked)
                       + json.dumps({"task_id": 1, "response": "```python\nresult = 0\n```"}) + "\n")
    out = tmp_path / "out"
    done = subprocess.run([WIZARDCODER, "eval", "-b", "ds1000", "-s", str(samples), "--partial", "-o", str(out)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["base"]["pass@1"] == pytest.approx(0.8) and summary["n_tasks"] == 5
    assert summary["ds1000"]["library"]["Pandas"] == {"n": 2, "pass@1": 0.5}
    assert summary["ds1000"]["library"]["Tensorflow"] == {"n": 1, "pass@1": 1.0}
    assert set(summary["ds1000"]["perturbation"]) <= {"Origin", "Surface", "Semantic", "Difficult-Rewrite"}
    assert summary["environment"]["versions"]["pandas"] == "1.5.3"
    assert summary["settings"]["memory_bytes"] == ds1000.MEMORY_BYTES
    assert summary["sandbox"]["network"] is True and not summary["sandbox"]["preload_errors"]
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert [r["base_status"] for r in rows if r["task_id"] == "DS1000/1"] == [FAIL]
    assert {(r["task_id"], r["library"], r["perturbation"]) for r in rows} >= {("DS1000/0", "Pandas", "Origin"),
                                                                                ("DS1000/666", "Tensorflow", "Origin")}


@needs_env
@pytest.mark.slow
def test_prefetched_data_is_read_from_the_data_folder_without_network(tmp_path: Path, env, data) -> None:
    """Problem 519 loads seaborn's "tips" (a download): with the file in the data folder it runs offline.
    The rows here are made up (this machine cannot fetch the real ones); the plumbing is what is tested."""
    import dataclasses

    folder = tmp_path / "seaborn"
    folder.mkdir()
    lines = ["total_bill,tip,sex,smoker,day,time,size"]
    lines += [f"{10 + i},{1 + i % 3},{'Male' if i % 2 else 'Female'},No,{day},Dinner,{2 + i % 2}"
              for i, day in enumerate(["Thur", "Fri", "Sat", "Sun"] * 5)]
    (folder / "tips.csv").write_text("\n".join(lines) + "\n")
    local = dataclasses.replace(env, environment={**env.environment, "SEABORN_DATA": str(folder)}, data_dir=tmp_path)
    task = data.tasks["DS1000/519"]
    with ds1000.open_sandbox(local, [task]) as sb:
        assert ds1000.check_ds1000(sb, task, task.canonical).base_status == PASS
    (tmp_path / "empty").mkdir()
    gone = dataclasses.replace(local, environment={**env.environment, "SEABORN_DATA": str(tmp_path / "empty")})
    with ds1000.open_sandbox(gone, [task]) as sb:
        verdict = ds1000.check_ds1000(sb, task, task.canonical)
    assert verdict.base_status == ERROR and "URLError" in verdict.error  # it would download: no network


@needs_env
@pytest.mark.slow
def test_eval_the_default_model_in_both_formats_stops_at_the_code_end(tmp_path: Path) -> None:
    """The real default model answers two TensorFlow problems in the card's template and continues the
    raw prompts (a base model's way); generation stops at "</code>", and every answer gets a verdict."""
    from wizardcoder.api import evaluate

    chat = evaluate("ds1000-tensorflow", model="default", limit=2, max_tokens=96, output=str(tmp_path / "chat"))
    rows = [json.loads(line) for line in (chat.output_dir / "samples.jsonl").read_text().splitlines()]
    assert len(rows) == 2 and chat.n_tasks == 2 and sum(chat.status.values()) == 2
    assert all("</code>" not in r["response"] for r in rows)
    assert chat.data["environment"]["versions"]["tensorflow-cpu"] == "2.16.1"
    raw = evaluate("ds1000-tensorflow", model="default", limit=2, max_tokens=96, prompt_format="raw",
                   output=str(tmp_path / "raw"))
    rows = [json.loads(line) for line in (raw.output_dir / "samples.jsonl").read_text().splitlines()]
    assert all("</code>" not in r["response"] for r in rows) and sum(raw.status.values()) == 2
