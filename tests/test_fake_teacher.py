"""The fake teacher over real HTTP with the openai client: answers by prompt kind, determinism,
counters, each injected fault as the client sees it, capacity, keep-alive, and the CLI."""

from __future__ import annotations

import hashlib
import http.client
import json
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from wizardcoder.evol.fake_teacher import CONSTRAINTS, FakeTeacher, answer_for, serve_in_thread
from wizardcoder.evol.prompts import CODE_METHODS, LEAK_PHRASES, clean_evolved, evolve_prompt, judge_prompt, parse_judgement

TASK = "Write a function that adds two numbers."


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
    with subprocess.Popen([sys.executable, "-m", "wizardcoder.evol.fake_teacher", "--port", "0", "--rate-429", "0"],
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
