"""The inference commands end to end on the real default model: generate, eval --model, chat,
bad input, and Ctrl-C + --resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

WC = [sys.executable, "-m", "wizardcoder.cli"]


def wc(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*WC, *args], capture_output=True, text=True, timeout=timeout)


def error_line(proc: subprocess.CompletedProcess[str]) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("error: ")
    return last


def test_bad_model_input_gives_one_line_errors(tmp_path: Path) -> None:
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"id": 1, "instruction": "Say hi."}\n')
    out = str(tmp_path / "o.jsonl")
    assert "unknown model 'nonsense'" in error_line(wc("generate", "-m", "nonsense", "-i", str(prompts), "-o", out))
    assert "no such model file" in error_line(wc("eval", "-b", "humaneval", "-m", str(tmp_path / "missing.gguf")))
    down = "http://127.0.0.1:9/v1"
    line = error_line(wc("generate", "-m", "some-model", "--base-url", down, "--retries", "0", "-i", str(prompts), "-o", out))
    assert down in line and "unreachable" in line
    line = error_line(wc("eval", "-b", "humaneval", "--limit", "1", "--n-ctx", "32", "-o", str(tmp_path / "ctx")))
    assert "'HumanEval/0'" in line and "does not fit" in line and "--n-ctx" in line
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1, "instruction": "ok"}\n{"id": 2}\n')
    assert f"{bad}:2: field 'prompt': missing" in error_line(wc("generate", "-i", str(bad), "-o", out))


@pytest.mark.slow  # ~4 s of real-model generation, twice
def test_generate_samples_resume_and_job_check(tmp_path: Path) -> None:
    prompts = tmp_path / "p.jsonl"
    rows = [{"id": "a", "instruction": "Write a Python function that adds two numbers."},
            {"id": "b", "messages": [{"role": "user", "content": "What is a Python list?"}]},
            {"id": "c", "prompt": "def fibonacci(n):", "meta": 3}]
    prompts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "out.jsonl"
    args = ["generate", "-i", str(prompts), "-o", str(out), "--max-tokens", "16", "--n-samples", "2",
            "--temperature", "0.8", "--seed", "3", "-q"]
    first = wc(*args)
    assert first.returncode == 0, first.stderr
    got = [json.loads(line) for line in out.read_text().splitlines()]
    assert sorted((r["id"], r["completion_id"]) for r in got) == [(k, s) for k in "abc" for s in (0, 1)]
    assert all(r["response"] and r["completion_tokens"] <= 16 for r in got)
    assert next(r for r in got if r["id"] == "c")["meta"] == 3
    assert "exists" in error_line(wc(*args))
    again = wc(*args, "--resume")
    assert again.returncode == 0 and "0 generated (6 kept" in again.stderr
    assert "different job" in error_line(wc(*[a if a != "16" else "17" for a in args], "--resume"))


@pytest.mark.slow
def test_eval_model_ctrl_c_then_resume(tmp_path: Path) -> None:
    out = tmp_path / "run"
    args = ["eval", "-b", "humaneval", "--limit", "8", "--parallel", "1", "--max-tokens", "96", "--full-answers",
            "-o", str(out)]
    proc = subprocess.Popen([*WC, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    samples = out / "samples.jsonl"
    deadline = time.monotonic() + 600  # a busy CI machine: the first answer once took over 2 minutes
    while time.monotonic() < deadline and not (samples.exists() and samples.read_text().count("\n") >= 1):
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    assert samples.exists() and samples.read_text().count("\n") >= 1, "no answer written before Ctrl-C"
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err and "--resume" in err and "Traceback" not in err
    kept = samples.read_text()
    assert 1 <= kept.count("\n") < 8
    done = wc(*args, "--resume")
    assert done.returncode == 0, done.stderr[-2000:]
    final = samples.read_text()
    assert final.startswith(kept)  # nothing kept was redone
    ids = [json.loads(line)["task_id"] for line in final.splitlines()]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 8
    summary = json.loads((out / "summary.json").read_text())
    assert summary["n_samples"] == 8 and summary["label"] == "SmolLM2-135M-Instruct"
    assert "HumanEval" in done.stdout and "pass@1" in done.stdout
    # The same finished job again: nothing regenerated, the table reprinted.
    again = wc(*args)
    assert again.returncode == 0 and "generated" not in again.stderr and "pass@1" in again.stdout


@pytest.mark.slow
def test_chat_streams_and_ctrl_c_stops_one_answer() -> None:
    pexpect = pytest.importorskip("pexpect")
    # No repetition stop: a looping answer must still be running when Ctrl-C comes (once it ended in 0.9 s).
    child = pexpect.spawn(sys.executable, ["-m", "wizardcoder.cli", "chat", "--max-tokens", "1500",
                                           "--no-repetition-stop"], encoding="utf-8",
                          timeout=60, dimensions=(50, 200), env={**os.environ, "TERM": "dumb"})  # no ANSI styles
    try:
        child.expect_exact(">>> ")
        child.sendline("Write a long Python program with many functions for a library system.")
        child.expect(r"\w+")  # the answer starts streaming
        time.sleep(1.0)
        child.sendintr()
        child.expect_exact("stopped")
        child.expect_exact(">>> ")  # still running, ready for the next message
        child.sendline('"""')
        child.expect_exact("... ")
        child.sendline("Reply with one word:")
        child.expect_exact("... ")
        child.sendline('hello"""')
        child.expect(r"\d+\.\d s")  # a complete answer this time (its time, not "stopped")
        child.expect_exact(">>> ")
        child.sendline("/exit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
