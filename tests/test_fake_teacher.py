"""The fake teacher: the dry-run answers (``wizardcoder.evol.dry_run``) by prompt kind and their
determinism; the fault server (``wizardcoder.testing.fault_server``) over real HTTP with the openai
client: counters, each injected fault as the client sees it, capacity, keep-alive, its ``python -m``;
the in-process engine answering as the server does; and ``wizardcoder evolve --teacher fake`` with no server."""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from conftest import CODE_ALPACA
from wizardcoder.engines import Request, SamplingParams, load_engine, resolve_model
from wizardcoder.errors import WizardCoderError
from wizardcoder.evol.dry_run import CONSTRAINTS, answer_for, prompt_kind
from wizardcoder.evol.prompts import (
    ALL_METHODS,
    CODE_METHODS,
    LEAK_PHRASES,
    clean_evolved,
    evolve_prompt,
    judge_prompt,
    parse_judgement,
)
from wizardcoder.testing.fault_server import FakeTeacher, serve_in_thread

TASK = "Write a function that adds two numbers."
WC = [sys.executable, "-m", "wizardcoder.cli"]


@pytest.fixture
def teacher():
    made = []

    def start(**kwargs) -> FakeTeacher:
        server, stop = serve_in_thread(**kwargs)
        made.append(stop)
        return server

    yield start
    for stop in made:
        stop()


_CLIENTS: list[openai.OpenAI] = []


@pytest.fixture(autouse=True)
def _close_clients():
    yield
    while _CLIENTS:
        _CLIENTS.pop().close()


def _client(server: FakeTeacher, **kwargs) -> openai.OpenAI:
    _CLIENTS.append(openai.OpenAI(base_url=server.base_url, api_key="x", max_retries=0, **kwargs))
    return _CLIENTS[-1]


def _chat(client: openai.OpenAI, text: str, **kwargs):
    return client.chat.completions.create(model="m", messages=[{"role": "user", "content": text}], **kwargs)


def _leaks(text: str) -> bool:
    return any(p in clean_evolved(text).lower() for p in LEAK_PHRASES)


def test_answers_by_kind_deterministic_and_counted(teacher):
    server = teacher()
    client = _client(server)
    evolve = evolve_prompt(CODE_METHODS["constraints"], TASK)
    reply = _chat(client, evolve, seed=1, temperature=0.7)
    text = reply.choices[0].message.content
    assert reply.object == "chat.completion" and reply.choices[0].finish_reason == "stop"
    assert text.startswith(TASK) and text[len(TASK):].strip() in CONSTRAINTS
    assert reply.usage.completion_tokens == len(text.split()) and reply.usage.total_tokens > reply.usage.prompt_tokens
    # The same prompt gives the same answer whatever the seed, from chat and text completions alike.
    assert _chat(client, evolve, seed=2).choices[0].message.content == text
    completion = client.completions.create(model="m", prompt=evolve, seed=3)
    assert completion.object == "text_completion" and completion.choices[0].text == text
    # Evolving again grows the task by one more constraint.
    again = _chat(client, evolve_prompt(CODE_METHODS["constraints"], text)).choices[0].message.content
    assert again.startswith(text) and len(again) > len(text)

    judged = _chat(client, judge_prompt(TASK, text)).choices[0].message.content
    assert parse_judgement(judged) is not None
    answer = _chat(client, TASK).choices[0].message.content
    assert answer == answer_for(TASK)

    stats = server.stats()
    assert stats["requests"] == stats["completed"] == 6
    assert stats["by_kind"] == {"evolve": 4, "judge": 1, "answer": 1}
    assert stats["prompts"][hashlib.sha1(evolve.encode()).hexdigest()] == 3
    assert stats["faults"] == {"429": 0, "500": 0, "hang": 0, "garbage": 0}
    assert [m.id for m in client.models.list()] == ["fake-teacher"]


def test_odd_answers_at_their_rates():
    """Over many prompts: leaks, 'Equal' and refusals show up, at roughly the module's rates."""
    n = 2000
    leaks = sum(_leaks(answer_for(evolve_prompt(CODE_METHODS["constraints"], f"Task number {i}."))) for i in range(n))
    equal = sum(parse_judgement(answer_for(judge_prompt("a", f"b{i}"))) is True for i in range(n))
    answers = [answer_for(f"Write function number {i}.") for i in range(n)]
    refusals = sum(a.startswith("I'm sorry") for a in answers)
    empty = sum(a == "..." for a in answers)
    assert 0.02 * n < leaks < 0.08 * n and 0.10 * n < equal < 0.20 * n
    assert 0.02 * n < refusals < 0.08 * n and 0.01 * n < empty < 0.05 * n
    assert all(40 <= len(a.split()) <= 120 and "```python" in a for a in answers if len(a) > 50)


def test_max_tokens_stop_and_stream(teacher):
    client = _client(teacher())
    reply = _chat(client, TASK, max_tokens=5)
    assert reply.choices[0].finish_reason == "length" and len(reply.choices[0].message.content.split()) == 5
    full = _chat(client, TASK).choices[0].message.content
    cut = _chat(client, TASK, stop=["```"]).choices[0].message.content
    assert cut == full[:full.index("```")] and cut
    with pytest.raises(openai.BadRequestError):
        _chat(client, TASK, stream=True)


def test_stats_endpoint_and_reset(teacher):
    server = teacher()
    _chat(_client(server), TASK)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/stats")
    assert json.loads(conn.getresponse().read())["completed"] == 1
    conn.request("POST", "/reset")  # same connection: keep-alive
    response = conn.getresponse()
    assert response.status == 200 and json.loads(response.read()) == {"ok": True}
    conn.request("GET", "/stats", headers={"Connection": "close"})
    response = conn.getresponse()
    assert json.loads(response.read())["requests"] == 0 and response.getheader("Connection") == "close"
    conn.close()


def test_429_has_retry_after(teacher):
    client = _client(teacher(rate_429=1.0, retry_after=0.25))
    with pytest.raises(openai.RateLimitError) as caught:
        _chat(client, TASK)
    assert caught.value.response.headers["retry-after"] == "0.25"
    assert caught.value.status_code == 429


def test_500(teacher):
    server = teacher(rate_500=1.0)
    with pytest.raises(openai.InternalServerError):
        _chat(_client(server), TASK)
    assert server.stats()["faults"]["500"] == 1 and server.stats()["completed"] == 0


def test_hang_times_out(teacher):
    server = teacher(rate_hang=1.0)
    start = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        _chat(_client(server, timeout=0.5), TASK)
    assert 0.4 < time.monotonic() - start < 3
    assert server.stats()["faults"]["hang"] == 1


def test_garbage(teacher):
    """Alternately truncated JSON (the client raises json's error) and an HTML page with status 200
    (the client returns the page as a str; with strict validation it raises APIResponseValidationError)."""
    server = teacher(rate_garbage=1.0)
    client = _client(server)
    with pytest.raises(json.JSONDecodeError):
        _chat(client, TASK)
    assert isinstance(_chat(client, TASK), str)
    with pytest.raises(json.JSONDecodeError):
        _chat(client, TASK)
    with pytest.raises(openai.APIResponseValidationError):
        _chat(_client(server, _strict_response_validation=True), TASK)
    assert server.stats()["faults"]["garbage"] == 4


def test_fault_mix_is_seeded(teacher):
    def kinds(seed: int) -> list[str]:
        server = teacher(rate_429=0.3, rate_500=0.3, fault_seed=seed)
        client = _client(server)
        seen = []
        for _ in range(20):
            try:
                _chat(client, TASK)
                seen.append("ok")
            except openai.APIStatusError as exc:
                seen.append(str(exc.status_code))
        return seen

    first = kinds(7)
    assert first == kinds(7) and {"ok", "429", "500"} <= set(first)


def test_capacity_limits_concurrency(teacher):
    server = teacher(latency=0.2, capacity=2)
    client = _client(server)
    start = time.monotonic()
    with ThreadPoolExecutor(4) as pool:
        replies = list(pool.map(lambda i: _chat(client, f"task {i}"), range(4)))
    assert time.monotonic() - start >= 0.4 and len(replies) == 4


def test_cli_serves_until_sigterm():
    with subprocess.Popen([sys.executable, "-m", "wizardcoder.testing.fault_server", "--port", "0", "--rate-429", "0"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        try:
            line = proc.stdout.readline().strip()
            assert line.startswith("listening on http://127.0.0.1:") and line.endswith("/v1")
            with openai.OpenAI(base_url=line.split()[-1], api_key="x", max_retries=0) as client:
                assert _chat(client, TASK).choices[0].message.content == answer_for(TASK)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=10) == 0
            assert proc.stderr.read() == ""
        finally:
            if proc.poll() is None:
                proc.kill()


def test_prompt_kinds_follow_the_meta_prompts():
    """The fake teacher tells evol's requests apart by their fixed first lines, for every method."""
    assert {prompt_kind(evolve_prompt(m, TASK)) for m in ALL_METHODS.values()} == {"evolve"}
    assert prompt_kind(judge_prompt(TASK, TASK)) == "judge" and prompt_kind(TASK) == "answer"
    for m in ALL_METHODS.values():  # the task is found after the method's header, and grows
        assert answer_for(evolve_prompt(m, TASK)).removeprefix("Rewritten task: ").startswith(TASK)


def test_in_process_engine_answers_as_the_server(teacher):
    """``--teacher fake`` and ``--teacher fake --base-url <fault server>`` get equal completions (text,
    finish reason, usage) for chat and text prompts, max_tokens and stop strings, including stops past
    the API's four (the server ignores those, our client trims them)."""
    server = teacher()
    local = load_engine(resolve_model("fake"))
    remote = load_engine(resolve_model("fake", base_url=server.base_url), base_url=server.base_url, max_retries=0)
    evolve = evolve_prompt(CODE_METHODS["reasoning"], TASK)
    texts = [TASK, evolve, judge_prompt(TASK, evolve), *(f"Write function number {i}." for i in range(30))]
    requests = [Request(messages=({"role": "system", "content": "Be brief."}, {"role": "user", "content": t}))
                for t in texts] + [Request(prompt=TASK, seed=3)]
    with local, remote:
        assert local.name == "fake" and local.model_id == remote.model_id == "fake"
        for params in (SamplingParams(), SamplingParams(max_tokens=7), SamplingParams(stop=("```",)),
                       SamplingParams(max_tokens=30, stop=("zzz", "yyy", "xxx", "www", "```"))):
            mine, theirs = dict(local.generate(requests, params)), dict(remote.generate(requests, params))
            assert mine == theirs
        # The last settings: the server cut at 30 words ("length"), then our side at the fifth stop, "```".
        assert {c.finish_reason for c in mine.values()} == {"stop"} and any(c.text.endswith("\n") for c in mine.values())
        assert "".join(local.stream(requests[0], SamplingParams())) == answer_for(TASK)
    assert server.stats()["completed"] == 4 * len(requests)


@pytest.mark.slow  # ~8 s: three whole runs (tests/test_cli_config.py runs `--teacher fake` in the fast tier)
def test_evolve_dry_run_needs_no_server(tmp_path):
    """`wizardcoder evolve --teacher fake` (the real command line, no --base-url, no server anywhere)
    writes a dataset; a second run and the Python API write the same bytes."""
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_BASE_URL"}

    def cli(name: str):
        out = tmp_path / name
        proc = subprocess.run([*WC, "evolve", "--seeds", str(CODE_ALPACA), "--limit", "12", "--rounds", "2",
                               "--teacher", "fake", "-o", str(out), "--quiet"],
                              capture_output=True, text=True, timeout=300, env=env)
        assert proc.returncode == 0, proc.stderr
        return out

    first, second = cli("first"), cli("second")
    rows = [json.loads(line) for line in (first / "data.jsonl").read_text().splitlines()]
    seeds = [r for r in rows if r["round"] == 0]
    evolved = [r for r in rows if r["round"] > 0]
    assert len(seeds) == 12 and {r["round"] for r in evolved} == {1, 2}
    assert all(r["teacher"] == "fake" and r["method"] in CODE_METHODS and r["parent_id"] and "```python" in r["output"]
               and r["completion_tokens"] > len(r["output"].split()) for r in evolved)  # evolve + judge + answer
    assert json.loads((first / "run.json").read_text())["teacher"] == "fake"
    for name in ("data.jsonl", "eliminated.jsonl", "data.alpaca.json"):
        assert (first / name).read_bytes() == (second / name).read_bytes(), name

    from wizardcoder import evolve

    result = evolve(CODE_ALPACA, tmp_path / "api", "fake", limit=12, rounds=2)
    assert result.export.rows == len(rows)
    assert (tmp_path / "api" / "data.jsonl").read_bytes() == (first / "data.jsonl").read_bytes()


def test_fake_is_in_process_only_without_a_server():
    assert resolve_model("fake").kind == "builtin"
    assert resolve_model("fake", base_url="http://127.0.0.1:9/v1").kind == "remote"
    with pytest.raises(WizardCoderError, match="built-in"):
        resolve_model("fake", "llamacpp")
