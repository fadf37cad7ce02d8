"""Every failure is one line: hostile input files, bad options and operating-system refusals.

Each case runs the real command line (``wizardcoder.cli.run``, in this process for speed) and
asserts what a user sees: exit code 2, exactly one line on stderr, no traceback, and every file
that was in the output before the command byte-for-byte the same after it. The readers are
fuzzed with Hypothesis (random bytes and mutated rows) and must only ever raise our one-line error.
Full disks are real: a tmpfs of a few KiB mounted in a private user namespace (``unshare -Urm``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import BENCH_DATA, CODE_ALPACA
from wizardcoder.cli import run
from wizardcoder.errors import WizardCoderError

HUMANEVAL = BENCH_DATA / "HumanEval.jsonl.gz"
WIZARDCODER = [sys.executable, "-m", "wizardcoder.cli"]


def snapshot(root: Path) -> dict[str, bytes]:
    if root.is_file():
        return {str(root): root.read_bytes()}
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def one_line_failure(capsys: pytest.CaptureFixture[str], argv: list[str], keep: Path | None = None,
                     code: int = 2) -> str:
    """Run the command; assert the one-line failure and that ``keep`` (earlier output) is untouched."""
    before = snapshot(keep) if keep is not None and keep.exists() else None
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        run([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert exit_.value.code == code, (argv, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), (argv, err)
    assert "Traceback" not in err + out
    if before is not None:
        after = {k: v for k, v in snapshot(keep).items() if not k.endswith(".wizardcoder.lock")}
        assert after == {k: v for k, v in before.items() if not k.endswith(".wizardcoder.lock")}, argv
    return lines[0]


# -- hostile files ------------------------------------------------------------------------------
ROW = {"task_id": "HumanEval/0", "prompt": "def f():", "instruction": "Write f.", "output": "def f(): pass",
       "solution": "def f(): pass"}
HUGE_INT = "9" * 5000
DEEP = "[" * 100_000 + "]" * 100_000


def _row(**extra: object) -> str:
    return json.dumps({**ROW, **extra})


HOSTILE_ROWS = {  # name -> (JSONL text, words the error must contain)
    "huge integer": (_row()[:-1] + f', "n": {HUGE_INT}}}\n', "number too long"),
    "deep nesting": (_row()[:-1] + f', "n": {DEEP}}}\n', "nested deeper"),
    "moderate nesting (500)": (_row()[:-1] + ', "n": ' + "[" * 500 + "]" * 500 + "}\n", "nested deeper"),
    "utf-16": ((_row() + "\n").encode("utf-16").decode("latin-1"), "UTF-16"),
    "utf-16 without a byte-order mark": ((_row() + "\n").encode("utf-16-le").decode("latin-1"), "UTF-16"),
    "not json": ("{task_id: 1}\n", "invalid JSON"),
    "not utf-8": ("\udcff", "not UTF-8"),
    "an array row": ("[1, 2]\n", "expected a JSON object"),
    "trailing data": (_row() + " {}\n", "trailing data"),
}


def _write(path: Path, text: str) -> Path:
    if text == "\udcff":
        path.write_bytes(b'{"task_id": "\xff"}\n')
    elif text.startswith("\xff\xfe") or "\x00" in text:
        path.write_bytes(text.encode("latin-1"))
    else:
        path.write_text(text)
    return path


@pytest.fixture()
def earlier_eval(tmp_path: Path) -> Path:
    """An output directory holding an earlier evaluation that no failing command may touch."""
    out = tmp_path / "earlier"
    out.mkdir()
    (out / "results.jsonl").write_text('{"task_id": "HumanEval/0", "base_status": "pass"}\n')
    (out / "summary.json").write_text('{"label": "x"}\n')
    return out


@pytest.mark.parametrize("case", list(HOSTILE_ROWS))
def test_hostile_samples_prompts_seeds_and_data_are_one_line(case, tmp_path, capsys, earlier_eval):
    text, words = HOSTILE_ROWS[case]
    bad = _write(tmp_path / "bad.jsonl", text)
    earlier_gen = tmp_path / "gen.jsonl"
    earlier_gen.write_text('{"id": "a", "completion_id": 0, "response": "x"}\n')
    earlier_evolve = tmp_path / "evolve"
    earlier_evolve.mkdir()
    (earlier_evolve / "state.sqlite").write_bytes(b"an earlier run")
    earlier_train = tmp_path / "trained"
    earlier_train.mkdir()
    (earlier_train / "wizardcoder_train.json").write_text('{"status": "finished"}')
    commands = [
        ["eval", "-b", "humaneval", "--dataset-path", HUMANEVAL, "-s", bad, "-o", earlier_eval, "--overwrite"],
        ["generate", "-i", bad, "-o", earlier_gen, "--overwrite"],
        ["evolve", "--seeds", bad, "-o", earlier_evolve, "--no-decontam", "--overwrite"],
        ["train", "--data", bad, "-o", tmp_path / "train"],
        ["train", "--data", bad, "-o", earlier_train, "--overwrite"],
    ]
    for argv, keep in zip(commands, (earlier_eval, earlier_gen, earlier_evolve, tmp_path / "train", earlier_train)):
        line = one_line_failure(capsys, argv, keep)
        assert str(bad) in line and words in line, line
    assert not (tmp_path / "train").exists()


_PEAK_PROBE = (  # a small parent, so the peak is the command's own (a fork of pytest would count pytest's pages)
    "import os, subprocess, sys\n"
    "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)\n"
    "err = p.stderr.read()\n"
    "_, status, usage = os.wait4(p.pid, 0)\n"
    "sys.stderr.buffer.write(err)\n"
    "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss)\n")


def test_a_50_mb_row_is_refused_before_it_costs_memory(tmp_path):
    """Measured on the command's own process (wait4): before the fix it used 6.3 GB for 80 s."""
    import time

    bad = tmp_path / "big.jsonl"
    bad.write_text(json.dumps({"id": "a", "prompt": "x" * (50 << 20)}) + "\n")
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", _PEAK_PROBE, *WIZARDCODER, "generate", "-i", str(bad), "-o",
                           str(tmp_path / "out.jsonl")], capture_output=True, text=True, timeout=120)
    code, peak_kib = map(int, proc.stdout.split())
    assert code == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert "more than the" in proc.stderr and f"{bad}:1:" in proc.stderr
    assert peak_kib < 600 << 10, f"peak {peak_kib >> 10} MiB reading a 50 MB file"
    assert time.monotonic() - start < 30


@pytest.mark.parametrize("text,words", [
    ('[{"instruction": "a", "output": "b"}] garbage', "trailing data after the array"),
    ('[{"instruction": "a", "output": "b"} {"instruction": "c", "output": "d"}]', "expected ',' or ']'"),
    ('[{"instruction": "a", "output": "b"},', "not closed"),
    ('[{"instruction": "a", "output": "b", "n": ' + HUGE_INT + "}]", "number too long"),
    ('[{"instruction": "a", "output": "b", "n": ' + DEEP + "}]", "nested deeper"),
])
def test_json_array_seeds_and_training_data_are_strict(text, words, tmp_path, capsys):
    bad = tmp_path / "seeds.json"
    bad.write_text(text)
    for argv in (["evolve", "--seeds", bad, "-o", tmp_path / "ev", "--no-decontam"],
                 ["train", "--data", bad, "-o", tmp_path / "tr"]):
        line = one_line_failure(capsys, argv)
        assert words in line and str(bad) in line, line
    assert not (tmp_path / "ev" / "state.sqlite").exists()


@pytest.mark.parametrize("value,field", [
    ({"task_id": {"a": 1}, "prompt": "x"}, "task_id"),
    ({"id": [1], "prompt": "x"}, "id"),
    ({"id": True, "prompt": "x"}, "id"),
    ({"id": "a", "prompt": 3}, "prompt"),
    ({"id": "a", "messages": "hi"}, "messages"),
])
def test_wrong_types_in_prompts_name_the_field(value, field, tmp_path, capsys):
    bad = tmp_path / "p.jsonl"
    bad.write_text(json.dumps(value) + "\n")
    line = one_line_failure(capsys, ["generate", "-i", bad, "-o", tmp_path / "o.jsonl"])
    assert f"{bad}:1: field '{field}'" in line


@pytest.mark.parametrize("text,words", [
    ("[1, 2]", "expected a JSON object, got list"),
    ('{"label": "x"}', "field 'benchmark'"),
    ('{"label": "x", "benchmark": "humaneval", "base": {"pass@1": "high"}}', "field 'base.pass@1'"),
    ('{"label": "x", "benchmark": "humaneval+", "base": {"pass@1": 0.5}}', "field 'plus'"),
    ('{"label": 1, "benchmark": "humaneval", "base": {}}', "field 'label'"),
    ('{"label": "x", "benchmark": "humaneval", "base": {"pass@1": ' + HUGE_INT + "}}", "number too long"),
    ("{" * 100_000, "nested deeper"),
    ('{"label": "x"} []', "trailing data"),
])
def test_report_refuses_a_bad_summary_in_one_line(text, words, tmp_path, capsys):
    bad = tmp_path / "summary.json"
    bad.write_text(text)
    line = one_line_failure(capsys, ["report", bad])
    assert words in line and str(bad) in line, line


# -- options --------------------------------------------------------------------------------------
BAD_NUMBERS = ["-1", "0", "nan", "1e400", "x"]  # 1e400 parses as infinity
NUMERIC_OPTIONS = {  # command prefix -> options that must refuse every value of BAD_NUMBERS
    ("eval", "-b", "humaneval", "-s", "canonical"): ["--workers", "--min-time-limit", "--timeout-per-task",
                                                      "--script-time-limit", "--memory-limit", "--n-samples", "--limit",
                                                      "--max-tokens", "--parallel"],
    ("generate", "-i", "IN", "-o", "OUT"): ["--n-samples", "--max-tokens", "--parallel", "--n-ctx", "--threads",
                                            "--batch-size", "--concurrency", "--timeout"],
    ("evolve", "--seeds", "IN", "-o", "OUT", "--no-decontam"): [
        "--rounds", "--max-instruction-chars", "--max-answer-chars", "--max-tokens", "--concurrency", "--timeout",
        "--rpm", "--tpm", "--max-failures", "--parallel", "--limit", "--dedup-threshold", "--decontam-ngram"],
    ("train", "--data", "IN", "-o", "OUT"): ["--max-steps", "--lr", "--batch-size", "--global-batch-size",
                                             "--max-length", "--lora-r", "--lora-alpha", "--save-steps",
                                             "--logging-steps", "--limit"],
}
SIGNED_OPTIONS = {  # may be 0 or more, but never negative, NaN or infinite
    ("eval", "-b", "humaneval", "-s", "canonical"): ["--temperature"],
    ("generate", "-i", "IN", "-o", "OUT"): ["--temperature", "--top-p", "--retries"],
    ("evolve", "--seeds", "IN", "-o", "OUT", "--no-decontam"): ["--temperature", "--backoff", "--retries"],
    ("train", "--data", "IN", "-o", "OUT"): ["--epochs", "--warmup-steps", "--eval-split"],
}


@pytest.fixture()
def option_case(tmp_path: Path, earlier_eval: Path):
    prompts = tmp_path / "in.jsonl"
    prompts.write_text(json.dumps({"id": "a", "prompt": "def f():", "instruction": "Write f.", "output": "x"}) + "\n")

    def argv(prefix: tuple[str, ...], option: str, value: str) -> tuple[list[str], Path]:
        out = earlier_eval if prefix[0] in ("eval", "evolve") else tmp_path / "out.jsonl"
        if prefix[0] == "generate" and not out.exists():
            out.write_text('{"id": "a", "completion_id": 0, "response": "x"}\n')
        words = [str(prompts) if w == "IN" else str(out) if w == "OUT" else w for w in prefix]
        return [*words, "-o", str(out), option, value] if prefix[0] == "eval" else [*words, option, value], out
    return argv


@pytest.mark.parametrize("prefix", list(NUMERIC_OPTIONS), ids=lambda p: p[0])
def test_every_numeric_option_refuses_out_of_range_values(prefix, option_case, capsys):
    for option in NUMERIC_OPTIONS[prefix]:
        for value in BAD_NUMBERS:
            argv, keep = option_case(prefix, option, value)
            line = one_line_failure(capsys, argv, keep)
            assert option in line or option.lstrip("-").replace("-", "_") in line, (option, value, line)


@pytest.mark.parametrize("prefix", list(SIGNED_OPTIONS), ids=lambda p: p[0])
def test_options_that_may_be_zero_refuse_negative_and_non_finite(prefix, option_case, capsys):
    for option in SIGNED_OPTIONS[prefix]:
        for value in ("-1", "nan", "inf", "x"):
            argv, keep = option_case(prefix, option, value)
            one_line_failure(capsys, argv, keep)


def test_settings_objects_refuse_what_the_flags_refuse():
    from wizardcoder.engines.base import SamplingParams
    from wizardcoder.evol.config import EvolveConfig
    from wizardcoder.harness.checker import TimeSettings
    from wizardcoder.harness.evaluate import EvalConfig
    from wizardcoder.sandbox.sandbox import Limits
    from wizardcoder.training.config import TrainConfig

    for make in (lambda: TrainConfig(max_steps=-1), lambda: TrainConfig(learning_rate=float("nan")),
                 lambda: TrainConfig(epochs=0), lambda: TrainConfig(seed=-1), lambda: TimeSettings(float("inf")),
                 lambda: Limits(memory_bytes=0), lambda: Limits(isolation="none"), lambda: SamplingParams(max_tokens=0),
                 lambda: SamplingParams(top_p=1.5), lambda: EvolveConfig(rounds=0),
                 lambda: EvalConfig("humaneval", workers=0), lambda: EvalConfig("humaneval", resume=True, overwrite=True)):
        with pytest.raises(WizardCoderError) as exc:
            make()
        assert "\n" not in str(exc.value)
    assert TrainConfig(max_steps=5).max_steps == 5 and TrainConfig().max_steps is None


def test_usage_errors_are_one_line(capsys):
    assert "No such option: --bogus" in one_line_failure(capsys, ["eval", "--bogus"])
    assert "No such command 'evl'" in one_line_failure(capsys, ["evl"])
    assert "Missing argument" in one_line_failure(capsys, ["report"])


# -- the operating system says no -----------------------------------------------------------------
def test_outputs_that_cannot_be_written_are_one_line(tmp_path, capsys):
    afile = tmp_path / "afile"
    afile.write_text("x")
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"id": "a", "prompt": "def f():"}\n')
    eval_ = ["eval", "-b", "humaneval", "--dataset-path", HUMANEVAL, "-s", "canonical", "-o"]
    assert "is a file, not a directory" in one_line_failure(capsys, [*eval_, afile], afile)
    assert "is a file, not a directory" in one_line_failure(capsys, [*eval_, afile / "sub"], afile)
    assert "cannot be an output" in one_line_failure(capsys, [*eval_, "/proc/wizardcoder-test"])
    assert "cannot be an output" in one_line_failure(capsys, ["generate", "-i", prompts, "-o", afile / "x.jsonl"])
    assert "cannot be an output" in one_line_failure(capsys, ["evolve", "--seeds", CODE_ALPACA, "-o", "/proc/x",
                                                              "--no-decontam"])
    assert "not a directory" in one_line_failure(capsys, ["train", "--data", CODE_ALPACA, "-o", afile], afile)
    outdir = tmp_path / "outdir"
    outdir.mkdir()
    (outdir / "keep").write_text("x")
    for flag in ("--overwrite", "--resume", None):
        line = one_line_failure(capsys, ["generate", "-i", prompts, "-o", outdir, *([flag] if flag else [])], outdir)
        assert line.endswith("outdir: is a directory; give a file path, not a directory"), line
    assert not (tmp_path / "outdir.run.json").exists()  # nothing written beside it


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("chattr"), reason="chattr +i needs root and e2fsprogs")
def test_an_immutable_directory_is_one_line(tmp_path, capsys):
    imm = tmp_path / "imm"
    imm.mkdir()
    if subprocess.run(["chattr", "+i", str(imm)], capture_output=True).returncode:
        pytest.skip("this file system has no immutable attribute")
    try:
        prompts = tmp_path / "p.jsonl"
        prompts.write_text('{"id": "a", "prompt": "def f():"}\n')
        for argv in (["eval", "-b", "humaneval", "--dataset-path", HUMANEVAL, "-s", "canonical", "-o", imm],
                     ["generate", "-i", prompts, "-o", imm / "x.jsonl"],
                     ["train", "--data", CODE_ALPACA, "-o", imm / "t"],
                     ["evolve", "--seeds", CODE_ALPACA, "-o", imm / "e", "--no-decontam"]):
            assert "operation not permitted" in one_line_failure(capsys, argv)
    finally:
        subprocess.run(["chattr", "-i", str(imm)])


def _userns_tmpfs() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-Urm", "sh", "-c", "mount -t tmpfs -o size=64k tmpfs /mnt"], capture_output=True).returncode == 0


@pytest.mark.skipif(not _userns_tmpfs(), reason="needs user and mount namespaces (unshare -Urm) to mount a small tmpfs")
def test_a_full_disk_is_one_line_and_resume_finishes_the_evaluation(tmp_path):
    """A 24 KiB tmpfs fills during the evaluation; after it grows, --resume completes with the true score."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    cmd = [*WIZARDCODER, "eval", "-b", "humaneval", "--dataset-path", str(HUMANEVAL), "-s", "canonical", "-q",
           "-o", f"{mnt}/ev"]
    script = (f"mount -t tmpfs -o size=24k tmpfs {mnt} && {' '.join(cmd)} 2>{tmp_path}/err1; echo rc=$? >{tmp_path}/rc1;"
              f" mount -o remount,size=4m {mnt} && {' '.join(cmd)} --resume >/dev/null 2>{tmp_path}/err2;"
              f" echo rc=$? >{tmp_path}/rc2; cat {mnt}/ev/summary.json")
    proc = subprocess.run(["unshare", "-Urm", "sh", "-c", script], capture_output=True, text=True, timeout=600)
    err1 = (tmp_path / "err1").read_text()
    assert (tmp_path / "rc1").read_text().strip() == "rc=2", err1
    assert len(err1.strip().splitlines()) == 1 and "no space left on device" in err1 and "--resume" in err1, err1
    assert "Traceback" not in err1
    assert (tmp_path / "rc2").read_text().strip() == "rc=0", (tmp_path / "err2").read_text()
    summary = json.loads(proc.stdout)
    assert summary["base"]["pass@1"] == 1.0 and summary["n_samples"] == 164


# -- fuzzing the readers --------------------------------------------------------------------------
def _mutations() -> st.SearchStrategy[bytes]:
    good = [json.dumps(ROW).encode(), json.dumps([ROW, ROW]).encode()]
    cut = st.tuples(st.sampled_from(good), st.integers(0, 200)).map(lambda t: t[0][:t[1]])
    insert = st.tuples(st.sampled_from(good), st.integers(0, 200), st.binary(min_size=1, max_size=8)).map(
        lambda t: t[0][:t[1]] + t[2] + t[0][t[1]:])
    typed = st.tuples(st.sampled_from(sorted(ROW)), st.one_of(
        st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.lists(st.integers(), max_size=3),
        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))).map(
        lambda t: json.dumps({**ROW, t[0]: t[1]}).encode())
    return st.one_of(st.binary(max_size=300), cut, insert, typed,
                     st.integers(1, 3000).map(lambda n: b'{"a": ' + b"[" * n + b"]" * n + b"}"),
                     st.integers(4301, 6000).map(lambda n: b'{"task_id": ' + b"7" * n + b"}"))


def _readers(tmp_path: Path):
    from wizardcoder.engines.batch import read_prompts
    from wizardcoder.harness.datasets import load_dataset
    from wizardcoder.harness.report import read_summaries
    from wizardcoder.harness.samples import load_samples
    from wizardcoder.jsonl import read_json
    from wizardcoder.records import read_records

    dataset = load_dataset("humaneval", HUMANEVAL)
    return {
        "samples": lambda p: load_samples(p, dataset),
        "prompts": lambda p: read_prompts(p, "wizardcoder"),
        "seeds": lambda p: read_records(p, what="seed", require_output=False),
        "seeds (lenient)": lambda p: read_records(p, what="seed", require_output=False, lenient=True),
        "training data": lambda p: read_records(p, what="training data", require_output=True),
        "summary": lambda p: read_summaries([p]),
        "json": lambda p: read_json(p),
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_mutations())
def test_fuzzed_files_only_ever_give_our_one_line_error(data, tmp_path):
    """Whatever the bytes, every reader either accepts them or raises WizardCoderError naming the file."""
    path = tmp_path / "fuzz.jsonl"
    path.write_bytes(data)
    for name, read in _READERS_CACHE.setdefault("r", _readers(tmp_path)).items():
        try:
            read(path)
        except WizardCoderError as exc:
            text = str(exc)
            assert "\n" not in text and text.startswith(str(path)), (name, data[:80], text)


_READERS_CACHE: dict[str, dict] = {}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=_mutations())
def test_fuzzed_samples_through_the_cli_keep_earlier_results(data, tmp_path_factory, capsys):
    tmp = tmp_path_factory.mktemp("fz")
    bad = tmp / "s.jsonl"
    bad.write_bytes(data)
    out = tmp / "earlier"
    out.mkdir()
    (out / "results.jsonl").write_text('{"task_id": "HumanEval/0"}\n')
    before = snapshot(out)
    capsys.readouterr()
    with pytest.raises(SystemExit) as exit_:
        run(["eval", "-b", "humaneval", "--dataset-path", str(HUMANEVAL), "-s", str(bad), "-o", str(out),
             "--overwrite", "--partial", "-q", "--workers", "1"])
    out_text, err = capsys.readouterr()
    assert "Traceback" not in err
    if exit_.value.code != 0:  # a row that happens to be a valid sample is simply scored
        assert exit_.value.code == 2 and len(err.strip().splitlines()) == 1, err
        assert {k: v for k, v in snapshot(out).items() if "lock" not in k} == before


@pytest.mark.slow
@pytest.mark.skipif(not _userns_tmpfs(), reason="needs user and mount namespaces (unshare -Urm) to mount a small tmpfs")
def test_a_full_disk_during_evolution_is_one_line_and_resume_equals_a_clean_run(tmp_path):
    """SQLite's 'database or disk is full' inside the teacher's task group is one line, and the run resumed
    after the disk grows gives the same dataset as a run that never hit the wall."""
    from wizardcoder.testing.fault_server import serve_in_thread

    server, stop = serve_in_thread()
    try:
        def cmd(out: Path, *extra: str) -> str:
            return " ".join([*WIZARDCODER, "evolve", "--seeds", str(CODE_ALPACA), "--limit", "40", "--teacher", "fake",
                             "--base-url", server.base_url, "--rounds", "2", "-o", str(out), "-q", "--no-decontam",
                             *extra])
        subprocess.run(cmd(tmp_path / "clean"), shell=True, check=True, capture_output=True, timeout=300)
        mnt = tmp_path / "mnt"
        mnt.mkdir()
        script = (f"mount -t tmpfs -o size=150k tmpfs {mnt} && {cmd(mnt / 'ev')} >/dev/null 2>{tmp_path}/err1;"
                  f" echo $? >{tmp_path}/rc1; mount -o remount,size=20m {mnt} &&"
                  f" {cmd(mnt / 'ev', '--resume')} >/dev/null 2>{tmp_path}/err2; echo $? >{tmp_path}/rc2;"
                  f" cat {mnt}/ev/data.jsonl")
        proc = subprocess.run(["unshare", "-Urm", "sh", "-c", script], capture_output=True, text=True, timeout=600)
    finally:
        stop()
    err1 = (tmp_path / "err1").read_text()
    assert (tmp_path / "rc1").read_text().strip() == "2", err1
    assert len(err1.strip().splitlines()) == 1 and "disk is full" in err1 and "--resume" in err1, err1
    assert (tmp_path / "rc2").read_text().strip() == "0", (tmp_path / "err2").read_text()
    resumed = [json.loads(line) for line in proc.stdout.splitlines()]
    clean = [json.loads(line) for line in (tmp_path / "clean" / "data.jsonl").read_text().splitlines()]
    assert len(resumed) > 40 and resumed == clean


# -- fuzzing the option parsers -------------------------------------------------------------------
FUZZED = {  # command -> the fixed words: a missing input, and an output holding an earlier result
    "eval": ["eval", "-b", "humaneval", "-s", "MISSING", "-o", "EARLIER"],
    "generate": ["generate", "-i", "MISSING", "-o", "EARLIER/gen.jsonl"],
    "evolve": ["evolve", "--seeds", "MISSING", "-o", "EARLIER", "--no-decontam"],
    "train": ["train", "--data", "MISSING", "-o", "EARLIER"],
    "report": ["report", "MISSING"],
    "merge": ["merge", "MISSING", "-o", "EARLIER/merged"],
}
_FIXED = {"--samples", "-s", "--input", "-i", "--output", "-o", "--seeds", "--data", "--help", "--version",
          "--print-command", "--print-config", "--base-url", "--resume", "--overwrite"}  # these may succeed


def _options(command: str) -> list[tuple[str, bool]]:
    import typer

    from wizardcoder.cli import app

    cmd = typer.main.get_command(app)
    sub = cmd.commands[command]  # type: ignore[attr-defined]
    found = []
    for p in sub.params:
        for opt in [*getattr(p, "opts", []), *getattr(p, "secondary_opts", [])]:
            if opt.startswith("-") and opt not in _FIXED:
                found.append((opt, bool(getattr(p, "is_flag", False))))
    return found


_VALUES = st.one_of(st.sampled_from(["-1", "0", "1", "nan", "inf", "-inf", "1e400", "", "x", "0.5", "2",
                                     "99999999999999999999", "auto", "none", "a=b", "--", "-"]),
                    st.text(max_size=12), st.integers(-10**6, 10**6).map(str),
                    st.floats(allow_nan=True, allow_infinity=True).map(repr))


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fuzzed_command_lines_fail_in_one_line_and_touch_nothing(data, tmp_path_factory, capsys):
    """Random options and values on every writing command, with the input missing: whatever the parser
    or a settings object refuses first, the user gets one line, exit 2, and the earlier output stays."""
    command = data.draw(st.sampled_from(sorted(FUZZED)))
    options = _options(command)
    picks = data.draw(st.lists(st.tuples(st.sampled_from(options), _VALUES), max_size=4)) if options else []
    tmp = tmp_path_factory.mktemp("argv")
    earlier = tmp / "earlier"
    earlier.mkdir()
    (earlier / "results.jsonl").write_text('{"task_id": "HumanEval/0"}\n')
    (earlier / "gen.jsonl").write_text('{"id": "a", "completion_id": 0, "response": "x"}\n')
    words = [w.replace("MISSING", str(tmp / "missing")).replace("EARLIER", str(earlier)) for w in FUZZED[command]]
    for (opt, is_flag), value in picks:
        words += [opt] if is_flag else [opt, value]
    one_line_failure(capsys, words, earlier)


@pytest.mark.slow
@pytest.mark.skipif(not _userns_tmpfs(), reason="needs user and mount namespaces (unshare -Urm) to mount a small tmpfs")
def test_a_full_disk_during_generation_is_one_line_and_resume_completes_without_duplicates(tmp_path):
    """The real default model writes answers until an 8 KiB tmpfs is full; after it grows, --resume
    writes every missing row once, and the answers equal an uninterrupted run's."""
    prompts = tmp_path / "p.jsonl"
    subprocess.run([*WIZARDCODER, "prompts", "-b", "humaneval", "--dataset-path", str(HUMANEVAL), "-o", str(prompts)],
                   check=True, capture_output=True)
    prompts.write_text("".join(prompts.read_text().splitlines(keepends=True)[:20]))
    cmd = " ".join([*WIZARDCODER, "generate", "-i", str(prompts), "--max-tokens", "32", "-q", "-o"])
    subprocess.run(f"{cmd} {tmp_path / 'clean.jsonl'}", shell=True, check=True, capture_output=True, timeout=300)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    script = (f"mount -t tmpfs -o size=8k tmpfs {mnt} && {cmd} {mnt}/g.jsonl 2>{tmp_path}/err1; echo $? >{tmp_path}/rc1;"
              f" mount -o remount,size=4m {mnt} && {cmd} {mnt}/g.jsonl --resume 2>{tmp_path}/err2;"
              f" echo $? >{tmp_path}/rc2; cat {mnt}/g.jsonl")
    proc = subprocess.run(["unshare", "-Urm", "sh", "-c", script], capture_output=True, text=True, timeout=600)
    err1 = (tmp_path / "err1").read_text()
    assert (tmp_path / "rc1").read_text().strip() == "2" and err1.count("\n") == 1, err1
    assert "no space left on device" in err1 and "--resume" in err1 and "Traceback" not in err1
    assert (tmp_path / "rc2").read_text().strip() == "0", (tmp_path / "err2").read_text()
    rows = [json.loads(line) for line in proc.stdout.splitlines()]
    clean = [json.loads(line) for line in (tmp_path / "clean.jsonl").read_text().splitlines()]
    assert len(rows) == len({r["task_id"] for r in rows}) == 20
    assert {r["task_id"]: r["response"] for r in rows} == {r["task_id"]: r["response"] for r in clean}


def test_paths_that_look_like_markup_are_printed_as_they_are(tmp_path, capsys):
    """Rich markup in a message ("[/b]" in a path) once crashed the error printer itself."""
    odd = tmp_path / "a[/b]" / "s[1].jsonl"
    odd.parent.mkdir(parents=True)
    odd.write_text("x\n")
    line = one_line_failure(capsys, ["eval", "-b", "humaneval", "--dataset-path", HUMANEVAL, "-s", odd])
    assert f"{odd}:1: invalid JSON" in line
