"""`wizardcoder serve` (llama.cpp's OpenAI-compatible server on loopback, the default model) and
the openai engine talking to it: chat and text completions, streaming, stops, `eval --base-url`."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wizardcoder.engines import Request, SamplingParams, load_engine, resolve_model
from wizardcoder.errors import WizardCoderError
from wizardcoder.prompting.fences import code_block_end
from wizardcoder.prompting.formats import make_request
from wizardcoder.prompting.repetition import repetition_cut

pytestmark = pytest.mark.slow
WC = [sys.executable, "-m", "wizardcoder.cli"]
NAME = "SmolLM2-135M-Instruct"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    pytest.importorskip("llama_cpp.server", reason="llama-cpp-python[server] is not installed")
    port = _free_port()
    proc = subprocess.Popen([*WC, "serve", "--port", str(port), "--n-ctx", "2048"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    url = f"http://127.0.0.1:{port}/v1"
    lines = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        lines.append(line)
        if "ready" in line:
            break
        if proc.poll() is not None:
            pytest.fail("server exited: " + "".join(lines))
    assert url in lines[-1] and NAME in lines[-1]
    yield url
    proc.terminate()  # `kill`, not Ctrl-C: the server it started must go too
    proc.wait(timeout=20)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _server_pids(port):
        time.sleep(0.2)
    assert not _server_pids(port), "the llama.cpp server outlived `wizardcoder serve`"


def _server_pids(port: int) -> list[str]:
    found = subprocess.run(["pgrep", "-f", f"llama_server.*--port {port}"], capture_output=True, text=True)
    return found.stdout.split()


@pytest.fixture(scope="module")
def remote(server):
    with load_engine(resolve_model(NAME, base_url=server), base_url=server, max_retries=0) as eng:
        yield eng


def test_chat_completion_matches_local_engine(remote) -> None:
    req = make_request("Write a Python function that reverses a string.", "chat")
    params = SamplingParams(max_tokens=40)
    (_, answer), = list(remote.generate([req], params))
    with load_engine(resolve_model("default"), parallel=1, n_ctx=2048) as local:
        (_, mine), = list(local.generate([req], params))
    assert answer.text.strip() and answer.completion_tokens > 0
    # Same model, same chat template: the same prompt tokens, and greedy answers that agree until the
    # two llama.cpp contexts' different batch shapes flip a near-tie (they diverge after ~120 characters).
    assert answer.prompt_tokens == mine.prompt_tokens
    assert answer.text[:40] == mine.text[:40]


def test_stream_and_stops_over_http(remote) -> None:
    req = make_request("Write a Python function that reverses a string.", "chat")
    params = SamplingParams(max_tokens=40)
    pieces = list(remote.stream(req, params))
    (_, whole), = list(remote.generate([req], params))
    assert len(pieces) > 3 and "".join(pieces) == whole.text
    stop = whole.text[10:14]
    (_, cut), = list(remote.generate([req], SamplingParams(max_tokens=40, stop=(stop,))))
    assert cut.text == whole.text[: whole.text.index(stop)] and cut.finish_reason == "stop"
    (_, text), = list(remote.generate([Request(prompt="def add(a, b):\n    return")], SamplingParams(max_tokens=8)))
    assert text.text and text.finish_reason in ("stop", "length")


def test_the_server_stops_after_the_code_block_and_on_loops_like_llamacpp(remote) -> None:
    """Streamed and cut on the client: the same text as the full answer cut where the llama.cpp
    engine cuts it, in fewer tokens."""
    req = make_request("Write a Python function that reverses a string.", "chat")
    (_, full), = list(remote.generate([req], SamplingParams(max_tokens=200)))
    end = code_block_end(full.text)
    assert end is not None and end < len(full.text), full.text  # prose follows its code
    (_, early), = list(remote.generate([req], SamplingParams(max_tokens=200, stop_after_code=True)))
    assert early.text == full.text[:end] and early.finish_reason == "stop"
    assert 0 < early.completion_tokens < full.completion_tokens
    looping = Request(prompt="x = x + 1\n" * 20)  # /v1/completions; the model goes on repeating
    (_, whole), = list(remote.generate([looping], SamplingParams(max_tokens=500)))
    cut = repetition_cut(whole.text)
    assert cut is not None, whole.text
    (_, ended), = list(remote.generate([looping], SamplingParams(max_tokens=500, repetition_stop=True)))
    assert ended.text == whole.text[:cut] and ended.finish_reason == "repetition"
    assert ended.completion_tokens < whole.completion_tokens


def test_unknown_model_name_and_down_server(server) -> None:
    with load_engine(resolve_model("default-typo", base_url=server), base_url="http://127.0.0.1:9/v1", max_retries=0) as eng, \
            pytest.raises(WizardCoderError, match=r"http://127.0.0.1:9/v1 unreachable"):
        list(eng.generate([Request(prompt="x")], SamplingParams(max_tokens=2)))


def test_eval_through_the_server(server, tmp_path: Path) -> None:
    out = tmp_path / "remote"
    proc = subprocess.run([*WC, "eval", "-b", "humaneval", "--limit", "3", "--base-url", server, "--model", NAME,
                           "--max-tokens", "256", "-o", str(out)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert [r["task_id"] for r in sorted(rows, key=lambda r: r["task_id"])] == ["HumanEval/0", "HumanEval/1", "HumanEval/2"]
    assert json.loads((out / "samples.jsonl.run.json").read_text())["engine"] == "openai"
    assert json.loads((out / "summary.json").read_text())["n_tasks"] == 3


def test_serve_print_command_for_other_engines() -> None:
    vllm = subprocess.run([*WC, "serve", "--print-command", "--engine", "vllm", "-m", "WizardCoder-Python-34B-V1.0"],
                          capture_output=True, text=True, timeout=60)
    assert vllm.returncode == 0, vllm.stderr
    assert "vllm serve WizardLMTeam/WizardCoder-Python-34B-V1.0" in vllm.stdout and "--chat-template" in vllm.stdout
    hf = subprocess.run([*WC, "serve", "--print-command", "-m", "WizardLMTeam/WizardCoder-15B-V1.0"],
                        capture_output=True, text=True, timeout=60)
    assert hf.returncode == 0 and "serve WizardLMTeam/WizardCoder-15B-V1.0" in hf.stdout


def test_evolve_with_the_served_model_as_teacher(server, tmp_path: Path) -> None:
    """Code Evol-Instruct end to end against a real OpenAI-compatible server: 3 seeds, 2 rounds."""
    seeds = tmp_path / "seeds.jsonl"
    rows = [{"instruction": "Write a Python function that returns the largest of three numbers.", "input": "",
             "output": "def largest(a, b, c):\n    return max(a, b, c)"},
            {"instruction": "Write a Python function that reverses a string.", "input": "",
             "output": "def rev(s):\n    return s[::-1]"},
            {"instruction": "Write a Python function that counts the vowels in a string.", "input": "",
             "output": "def vowels(s):\n    return sum(ch in 'aeiou' for ch in s.lower())"}]
    seeds.write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "run"
    args = [*WC, "evolve", "--seeds", str(seeds), "--teacher", NAME, "--base-url", server, "--rounds", "2",
            "--max-tokens", "96", "-o", str(out), "--quiet", "--concurrency", "2", "--seed", "1",
            # The 135M model rarely answers "Equal"/"Not Equal" or stays under the token limit: without these
            # rules its evolutions would all be eliminated, and the test would not see an accepted row.
            "--no-rule", "no_gain", "--no-rule", "length"]
    res = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr
    import sqlite3

    db = sqlite3.connect(out / "state.sqlite")
    decided = db.execute("SELECT round, COUNT(*) FROM rows WHERE round > 0 GROUP BY round").fetchall()
    assert decided == [(1, 3), (2, 3)]
    # Every request went to the server and came back with the server's token counts.
    requests = db.execute("SELECT kind, status, prompt_tokens, completion_tokens FROM requests").fetchall()
    assert {k for k, *_ in requests} == {"evolve", "answer"} and all(s == "done" and p > 0 for _, s, p, _c in requests)
    data = [json.loads(line) for line in (out / "data.jsonl").read_text().splitlines()]
    evolved = [r for r in data if r["round"] > 0]
    assert len(data) == 3 + len(evolved) and evolved, "no accepted evolution with the rules that need a capable model off"
    for r in evolved:
        assert r["teacher"] == NAME and r["instruction"].strip() and r["output"].strip() and r["completion_tokens"] > 0
        assert r["parent_id"] in {d["id"] for d in data} | {f"s{i:06d}" for i in range(3)}
    assert "dataset" in res.stdout and "3 seeds" in res.stdout
