"""One writer per output: the lock every writing command holds, tried with real processes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import CODE_ALPACA
from wizardcoder import outlock
from wizardcoder.errors import WizardCoderError

WC = [sys.executable, "-m", "wizardcoder.cli"]
HOLDER = ("import sys, time\nfrom wizardcoder import outlock\n"
          "with outlock.hold(sys.argv[1], is_dir=sys.argv[2] == 'dir'):\n"
          "    print('held', flush=True)\n    time.sleep(120)\n")


def holder(output: Path, is_dir: bool = True) -> subprocess.Popen:
    """Another process holding the lock of ``output`` until killed."""
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(output), "dir" if is_dir else "file"],
                            stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    return proc


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_a_second_writer_is_refused_with_the_holder_and_a_dead_holder_is_taken_over(tmp_path):
    out = tmp_path / "out"
    other = holder(out)
    try:
        with pytest.raises(WizardCoderError) as err, outlock.hold(out):
            pass
        message = str(err.value)
        assert message.startswith(f"{out}: in use by another run (pid {other.pid}, ") and "\n" not in message
        assert "-c " in message and " since 20" in message  # the holder's command line and start time
    finally:
        kill(other)  # SIGKILL: the lock is not released by the holder, the kernel drops it
    with outlock.hold(out), outlock.hold(out):  # taken over; re-entrant in one process
        info = json.loads((out / outlock.LOCK_NAME).read_text())
        assert info["pid"] == os.getpid()
    with outlock.hold(out):  # released by the outer block
        pass


def test_an_output_under_a_file_is_one_line(tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(WizardCoderError, match=r"file/out: cannot be an output: .*/file is a file, not a directory"), \
            outlock.hold(tmp_path / "file" / "out"):
        pass


def _one_line_refusal(proc: subprocess.CompletedProcess, output: Path, pid: int) -> None:
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert f"{output}: in use by another run (pid {pid}, " in lines[0], lines[0]


def test_every_writing_command_refuses_a_locked_output(tmp_path):
    samples = tmp_path / "samples.jsonl"
    samples.write_text(json.dumps({"task_id": "HumanEval/2", "completion": "    return number % 1.0\n"}) + "\n")
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(json.dumps({"id": "a", "prompt": "def f():"}) + "\n")
    commands = {
        "eval": (tmp_path / "eval", True, ["eval", "-b", "humaneval", "-s", str(samples), "--partial", "-q"]),
        "generate": (tmp_path / "answers.jsonl", False, ["generate", "-m", "default", "-i", str(prompts),
                                                         "--max-tokens", "4"]),
        "evolve": (tmp_path / "evolve", True, ["evolve", "--seeds", str(CODE_ALPACA), "--limit", "2", "--teacher",
                                               "fake", "--base-url", "http://127.0.0.1:9/v1", "--no-decontam"]),
        "train": (tmp_path / "train", True, ["train", "--model", "default", "--data", str(CODE_ALPACA), "--limit", "4",
                                             "--max-steps", "1"]),
    }
    for name, (output, is_dir, args) in commands.items():
        other = holder(output, is_dir)
        try:
            flag = "--output"
            proc = subprocess.run([*WC, *args, flag, str(output)], capture_output=True, text=True, timeout=300)
            _one_line_refusal(proc, output, other.pid)
        finally:
            kill(other)
        if is_dir:  # nothing but the lock file was written
            assert [p.name for p in output.iterdir()] == [outlock.LOCK_NAME], name
        else:
            assert not output.exists(), name


def test_two_evaluations_on_one_directory_cannot_both_proceed(tmp_path):
    """The issue's scenario: run A is scoring; run B (--overwrite, other samples) starts on the same
    directory. B is refused at once; A's summary stays tied to A's samples."""
    slow = tmp_path / "slow.jsonl"
    slow.write_text(json.dumps({"task_id": "HumanEval/2", "completion": "    import time\n    time.sleep(1.5)\n"
                                                                       "    return number % 1.0\n"}) + "\n")
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"task_id": "HumanEval/2", "completion": "    return 0.0\n"}) + "\n")
    out = tmp_path / "out"
    a = subprocess.Popen([*WC, "eval", "-b", "humaneval", "-s", str(slow), "--partial", "-o", str(out), "-q"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (out / outlock.LOCK_NAME).exists() or not (out / outlock.LOCK_NAME).read_text():
        assert time.monotonic() < deadline and a.poll() is None
        time.sleep(0.05)
    b = subprocess.run([*WC, "eval", "-b", "humaneval", "-s", str(other), "--partial", "-o", str(out), "--overwrite",
                        "-q"], capture_output=True, text=True, timeout=120)
    _one_line_refusal(b, out, a.pid)
    assert a.wait(timeout=120) == 0, a.stderr.read() if a.stderr else ""
    summary = json.loads((out / "summary.json").read_text())
    assert summary["samples"] == str(slow) and summary["base"]["pass@1"] == 1.0
    # Now that A is done, B may overwrite; its summary is its own.
    b = subprocess.run([*WC, "eval", "-b", "humaneval", "-s", str(other), "--partial", "-o", str(out), "--overwrite",
                        "-q"], capture_output=True, text=True, timeout=120)
    assert b.returncode == 0, b.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["samples"] == str(other) and summary["base"]["pass@1"] == 0.0


def test_a_summary_of_other_samples_is_never_reported(tmp_path):
    from wizardcoder.harness.evaluate import EvalConfig, evaluate

    samples = tmp_path / "s.jsonl"
    samples.write_text(json.dumps({"task_id": "HumanEval/2", "completion": "    return number % 1.0\n"}) + "\n")
    cfg = EvalConfig("humaneval", str(samples), output=tmp_path / "out", partial=True)
    first = evaluate(cfg, show_progress=False)
    assert evaluate(cfg, show_progress=False)["created"] == first["created"]  # the finished job: reused
    summary_file = tmp_path / "out" / "summary.json"
    forged = json.loads(summary_file.read_text())
    forged["samples_md5"] = "0" * 32  # a summary of other samples beside this run's manifest
    summary_file.write_text(json.dumps(forged))
    with pytest.raises(WizardCoderError, match="holds results already"):
        evaluate(cfg, show_progress=False)  # not reported as finished: it must be redone
