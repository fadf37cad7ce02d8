"""`wizardcoder evolve` against a real HTTP teacher on loopback (the deterministic fake teacher):
rounds, elimination, lineage, output files, resume, faults, bad seeds, pacing."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import pytest

from conftest import CODE_ALPACA
from wizardcoder.engines import Request, SamplingParams
from wizardcoder.engines.resolve import resolve_model
from wizardcoder.evol.filters import FilterConfig, check_answer, check_instruction
from wizardcoder.evol.limits import RateLimiter, RetryPolicy
from wizardcoder.evol.prompts import CODE_METHODS, clean_evolved, evolve_prompt, parse_judgement
from wizardcoder.evol.seeds import read_seeds
from wizardcoder.evol.state import open_store
from wizardcoder.evol.teacher import OpenAIBackend, TeacherClient
from wizardcoder.testing.fault_server import serve_in_thread

SEEDS = CODE_ALPACA
WC = [sys.executable, "-m", "wizardcoder.cli"]


@pytest.fixture
def teacher():
    server, stop = serve_in_thread()
    yield server
    stop()


def _evolve(tmp: Path, url: str, *extra: str, seeds: Path = SEEDS, limit: int = 20, out: str = "run"):
    from typer.testing import CliRunner

    from wizardcoder.cli import app

    teacher = ["--teacher", "fake", "--base-url", url] if url else []
    args = ["evolve", "--seeds", str(seeds), "--limit", str(limit), *teacher,
            "--rounds", "2", "-o", str(tmp / out), "--quiet", "--backoff", "0.01", *extra]
    return CliRunner().invoke(app, args)


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_two_rounds_lineage_and_files(teacher, tmp_path: Path) -> None:
    res = _evolve(tmp_path, teacher.base_url)
    assert res.exit_code == 0, res.output
    run = tmp_path / "run"
    data = _rows(run / "data.jsonl")
    ids = [r["id"] for r in data]
    assert len(ids) == len(set(ids))
    store = open_store(run)
    rows = {r.id: r for r in store.rows()}
    # Every pool slot was decided in both rounds, each row by one method of the five.
    for rnd in (1, 2):
        decided = [r for r in rows.values() if r.round == rnd]
        assert len(decided) == 20
        assert {r.method for r in decided} <= set(CODE_METHODS)
    # Lineage: a round-2 row descends from its slot's round-1 child if that was accepted, else from the seed.
    for r in rows.values():
        if r.round == 2:
            first = rows[f"s{r.slot:06d}.r1"]
            assert r.parent_id == (first.id if first.status == "accepted" else f"s{r.slot:06d}")
            parent = rows[r.parent_id]
            assert r.instruction.startswith(clean_evolved(parent.instruction)[:20]) or r.status == "eliminated"
    eliminated = _rows(run / "eliminated.jsonl")
    assert eliminated and all(e["reason"] for e in eliminated)
    assert {e["reason"] for e in eliminated} <= {"no_gain", "refusal", "trivial_answer", "leak", "length", "truncated"}
    assert sum(r.status == "eliminated" for r in rows.values()) == len(eliminated)
    # The dataset: seeds (all answered here) + accepted rows, minus what removed.jsonl lists.
    removed = _rows(run / "removed.jsonl")
    kept = [r for r in rows.values() if r.kept]
    assert len(data) + len(removed) == len(kept)
    evolved = [r for r in data if r["round"] > 0]
    assert evolved and all(r["teacher"] == "fake" and r["method"] and r["parent_id"] and r["completion_tokens"] > 0
                           for r in evolved)
    alpaca = json.loads((run / "data.alpaca.json").read_text())
    assert [a["instruction"] for a in alpaca] == [r["instruction"] for r in data]
    assert set(alpaca[0]) == {"instruction", "input", "output"}
    # Requests: one evolve per decided row, a judge unless a free check eliminated it first, an answer unless judged equal.
    kinds = dict(store.db.execute("SELECT kind, COUNT(*) FROM requests GROUP BY kind").fetchall())
    assert kinds["evolve"] == 40 and kinds["answer"] <= kinds["judge"] <= 40


def test_no_judge_gain_asks_no_judgement_and_still_drops_unchanged_tasks(teacher, tmp_path: Path) -> None:
    res = _evolve(tmp_path, teacher.base_url, "--no-judge-gain", limit=8)
    assert res.exit_code == 0, res.output
    store = open_store(tmp_path / "run")
    kinds = dict(store.db.execute("SELECT kind, COUNT(*) FROM requests GROUP BY kind").fetchall())
    assert kinds["evolve"] == 16 and "judge" not in kinds
    judged = [r for r in store.rows() if r.reason == "no_gain"]
    assert all(r.detail == "identical to its parent" for r in judged)


def test_load_dataset_reads_the_output(teacher, tmp_path: Path) -> None:
    datasets = pytest.importorskip("datasets")
    assert _evolve(tmp_path, teacher.base_url, limit=8).exit_code == 0
    ds = datasets.load_dataset("json", data_files=str(tmp_path / "run" / "data.jsonl"), split="train")
    assert {"instruction", "input", "output", "id", "parent_id", "round", "method"} <= set(ds.column_names)


def test_resume_adds_rounds_without_repeating_requests(teacher, tmp_path: Path) -> None:
    assert _evolve(tmp_path, teacher.base_url, "--rounds", "1", limit=10).exit_code == 0
    first = teacher.stats()["requests"]
    again = _evolve(tmp_path, teacher.base_url, "--rounds", "1", "--resume", limit=10)
    assert again.exit_code == 0, again.output
    assert teacher.stats()["requests"] == first  # nothing left to do: nothing sent
    more = _evolve(tmp_path, teacher.base_url, "--rounds", "3", "--resume", limit=10)
    assert more.exit_code == 0, more.output
    store = open_store(tmp_path / "run")
    assert sorted({r.round for r in store.rows()}) == [0, 1, 2, 3]
    # Each recorded request was sent exactly once over the three invocations (no faults here: one try each).
    recorded = store.db.execute("SELECT COUNT(*), SUM(attempts) FROM requests").fetchone()
    assert recorded[0] == recorded[1] == teacher.stats()["requests"]


def test_resume_refuses_other_settings(teacher, tmp_path: Path) -> None:
    assert _evolve(tmp_path, teacher.base_url, limit=4).exit_code == 0
    res = _evolve(tmp_path, teacher.base_url, "--resume", "--seed", "7", limit=4)
    assert res.exit_code == 2 and "different seed" in res.output
    res = _evolve(tmp_path, teacher.base_url, limit=4)
    assert res.exit_code == 2 and "--resume continues it" in res.output


def test_faults_are_retried_to_the_same_result(tmp_path: Path) -> None:
    clean, stop = serve_in_thread()
    try:
        assert _evolve(tmp_path, clean.base_url, out="clean").exit_code == 0
    finally:
        stop()
    faulty, stop = serve_in_thread(rate_429=0.1, rate_500=0.1, rate_hang=0.05, rate_garbage=0.05, retry_after=0.05,
                                   fault_seed=3)
    try:
        res = _evolve(tmp_path, faulty.base_url, "--timeout", "0.5", "--retries", "10", out="faulty")
        stats = faulty.stats()
    finally:
        stop()
    assert res.exit_code == 0, res.output
    assert all(stats["faults"][k] > 0 for k in ("429", "500", "hang", "garbage")), stats["faults"]
    ids = [r["id"] for r in _rows(tmp_path / "clean" / "data.jsonl")]
    assert [r["id"] for r in _rows(tmp_path / "faulty" / "data.jsonl")] == ids
    assert _rows(tmp_path / "faulty" / "data.jsonl") == _rows(tmp_path / "clean" / "data.jsonl")
    # What happened is reported and recorded.
    assert "retried errors" in res.output and "429" in res.output
    errors = [e for (e,) in open_store(tmp_path / "faulty").db.execute("SELECT errors FROM requests") for e in json.loads(e)]
    kinds = {e.split(":")[0] for e in errors}
    assert {"429", "500", "timeout", "malformed"} <= kinds


def test_teacher_down_stops_with_one_line(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("".join(json.dumps({"instruction": f"Task {i} about lists", "output": "x"}) + "\n" for i in range(6)))
    res = _evolve(tmp_path, "http://127.0.0.1:9/v1", "--retries", "0", "--max-failures", "3", "--no-decontam",
                  seeds=seeds)
    assert res.exit_code == 2
    line = res.output.strip()
    assert "\n" not in line and "requests in a row failed" in line and "--resume" in line
    assert open_store(tmp_path / "run").db.execute("SELECT COUNT(*) FROM rows WHERE round > 0").fetchone()[0] == 0


def test_teacher_down_with_the_default_retries_says_why_in_one_line(tmp_path: Path) -> None:
    """Fewer failed requests than --max-failures: the run ends incomplete (exit 1), and says the cause."""
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("".join(json.dumps({"instruction": f"Task {i} about lists", "output": "x"}) + "\n" for i in range(2)))
    res = _evolve(tmp_path, "http://127.0.0.1:9/v1", "--no-decontam", seeds=seeds)
    assert res.exit_code == 1
    last = res.output.strip().splitlines()[-1]
    assert last.startswith("error: 2 pool slots unfinished: the teacher kept failing (last: connection: connection "
                           "refused") and last.endswith("run again with --resume"), res.output
    assert "timed out" not in res.output


@pytest.mark.parametrize(("content", "message"), [
    ('{"instruction": "a", "output": "b"}\n{"instruction": "c", "output": ', "seeds.jsonl:2: invalid JSON"),
    ('{"instruction": "a", "output": "b"}\n{"output": "b"}\n', "seeds.jsonl:2: field 'instruction': missing"),
    ('{"instruction": "  ", "output": "b"}\n', "seeds.jsonl:1: field 'instruction': empty"),
    ('{"instruction": "a", "input": 3, "output": "b"}\n', "seeds.jsonl:1: field 'input': expected a string"),
    ('{"instruction": "a"}\n', "seeds.jsonl:1: field 'output': missing"),
])
def test_bad_seeds_one_line_error(tmp_path: Path, content: str, message: str) -> None:
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(content)
    res = _evolve(tmp_path, "http://127.0.0.1:9/v1", "--no-decontam", seeds=seeds)
    assert res.exit_code == 2
    assert message in res.output and res.output.count("\n") == 1


def test_lenient_skips_and_counts(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text('{"instruction": "a b c", "output": "x"}\nnot json\n{"output": "y"}\n'
                     '{"instruction": "d e f", "output": "z"}\n')
    got = read_seeds(seeds, lenient=True)
    assert [s.line for s in got.seeds] == [1, 4] and len(got.skipped) == 2
    assert "seeds.jsonl:2" in got.skipped[0] and "seeds.jsonl:3" in got.skipped[1]


def test_alpaca_json_line_numbers(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.json"
    seeds.write_text('[\n  {"instruction": "a", "output": "b"},\n  {\n    "instruction": "",\n    "output": "b"\n  }\n]\n')
    with pytest.raises(Exception, match=r"seeds.json:3: field 'instruction': empty"):
        read_seeds(seeds)


def test_filters() -> None:
    cfg = FilterConfig()
    assert check_instruction("Rewrite the given prompt to sort a list", "sort", cfg)[0] == "leak"
    assert check_instruction("Sort  a list", "sort a LIST", cfg)[0] == "no_gain"
    assert check_instruction("Sort", "x", cfg)[0] == "length"
    assert check_instruction("Sort a list of numbers in place.", "Sort a list.", cfg) is None
    assert check_answer("I'm sorry, but I can't help with that.", "stop", cfg)[0] == "refusal"
    assert check_answer("Sorry, " + "the code is below. " * 30, "stop", cfg) is None  # long: not a refusal
    assert check_answer("... !!! the of and", "stop", cfg)[0] == "trivial_answer"
    assert check_answer("def f(): pass", "length", cfg)[0] == "truncated"
    assert check_answer("def f(): pass", "stop", cfg) is None
    off = FilterConfig(rules=frozenset({"refusal"}))
    assert check_instruction("Rewrite the given prompt", "x", off) is None
    assert parse_judgement("Not Equal.") is False and parse_judgement("**Equal**") is True
    assert parse_judgement("The second task is different.") is False
    assert parse_judgement("The two tasks are identical.") is True
    assert parse_judgement("I'm ready to help. What's your task?") is None
    assert clean_evolved("Rewritten task: Sort a list.") == "Sort a list."
    assert clean_evolved("**New Task:**\nSort a list.") == "Sort a list."


def test_retry_after_is_honoured_and_budget_kept() -> None:
    server, stop = serve_in_thread(rate_429=0.5, retry_after=0.3, fault_seed=1)
    try:
        backend = OpenAIBackend(resolve_model("fake", base_url=server.base_url), server.base_url, "x", 5.0)
        client = TeacherClient(backend, RetryPolicy(retries=20, base=0.001))
        req = Request(messages=({"role": "user", "content": evolve_prompt(CODE_METHODS["complexity"], "Add numbers.")},))

        async def go():
            try:
                return await asyncio.gather(*[client.ask(req, SamplingParams(max_tokens=50)) for _ in range(6)])
            finally:
                await client.aclose()

        outs = asyncio.run(go())
    finally:
        stop()
    assert all(o.ok for o in outs)
    for o in outs:
        n429 = sum(e.startswith("429") for e in o.errors)
        assert o.attempts == n429 + 1
        assert o.seconds >= 0.3 * n429 * 0.95  # each 429 waited its Retry-After (0.3 s), not the 1 ms backoff
    assert sum(o.attempts for o in outs) > 6


def test_rate_limits() -> None:
    async def spend(limiter: RateLimiter, n: int, tokens: int) -> float:
        start = time.monotonic()
        for _ in range(n):
            await limiter.acquire(tokens)
            limiter.settle(tokens, tokens)
        return time.monotonic() - start

    # 600 rpm = 10/s; the bucket holds one second's worth (10): the first 10 pass at once, 5 more need 0.5 s.
    assert asyncio.run(spend(RateLimiter(rpm=600), 10, 1)) < 0.1
    assert 0.45 <= asyncio.run(spend(RateLimiter(rpm=600), 15, 1)) < 0.7
    # 6000 tpm = 100 tokens/s, bucket 100: the first request at once, each next one 1 s later.
    assert 1.95 <= asyncio.run(spend(RateLimiter(tpm=6000), 3, 100)) < 2.3
    assert RetryPolicy(base=1, cap=60).delay(0, 5.0, __import__("random").Random(0)) >= 5.0
    delays = [RetryPolicy(base=1, cap=8).delay(a, None, __import__("random").Random(a)) for a in range(6)]
    assert all(0.5 * min(8, 2 ** a) <= d <= min(8, 2 ** a) for a, d in enumerate(delays))


@pytest.mark.slow
def test_in_process_teacher(tmp_path: Path) -> None:
    """The default model in llama.cpp, in process, as the teacher: batched asks, tokens counted."""
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("".join(json.dumps({"instruction": t, "output": "x"}) + "\n" for t in (
        "Write a Python function that returns the square of a number.",
        "Write a Python function that checks whether a string is a palindrome.",
        "Write a Python function that sums a list of integers.")))
    res = _evolve(tmp_path, "", "--teacher", "default", "--rounds", "1", "--max-tokens", "64", "--no-decontam",
                  "--no-rule", "no_gain", "--no-rule", "length", seeds=seeds)
    assert res.exit_code == 0, res.output
    store = open_store(tmp_path / "run")
    rows = [r for r in store.rows() if r.round == 1]
    assert len(rows) == 3 and all(r.teacher == "SmolLM2-135M-Instruct" for r in rows)
    reqs = store.db.execute("SELECT kind, status, completion_tokens FROM requests").fetchall()
    assert {k for k, _, _ in reqs} >= {"evolve"} and all(s == "done" and c > 0 for _, s, c in reqs)
    assert any(r.status == "accepted" and r.output for r in rows)


def test_methods_weights_and_in_breadth(teacher, tmp_path: Path) -> None:
    res = _evolve(tmp_path, teacher.base_url, "--method", "constraints=0", "--method", "uncommon", "--in-breadth",
                  "--rounds", "1", "--no-decontam", limit=30)
    assert res.exit_code == 0, res.output
    methods = {r.method for r in open_store(tmp_path / "run").rows() if r.round == 1}
    assert methods == {"uncommon", "breadth"}  # weight 0 never drawn; in-breadth added
    assert teacher.stats()["by_kind"]["evolve"] == 30
    bad = _evolve(tmp_path, teacher.base_url, "--method", "nosuch", out="bad")
    assert bad.exit_code == 2 and "unknown method 'nosuch'" in bad.output


def test_rows_left_unfinished_by_failures_are_finished_by_resume(tmp_path: Path) -> None:
    flaky, stop = serve_in_thread(rate_500=0.5, fault_seed=5)
    try:
        res = _evolve(tmp_path, flaky.base_url, "--retries", "0", "--max-failures", "1000", "--no-decontam", limit=12)
    finally:
        stop()
    assert res.exit_code == 1, res.output  # finished, but not everything: say so
    assert "unfinished" in res.output and "--resume" in res.output
    store = open_store(tmp_path / "run")
    failed = store.db.execute("SELECT COUNT(*) FROM requests WHERE status = 'failed'").fetchone()[0]
    decided = store.db.execute("SELECT COUNT(*) FROM rows WHERE round > 0").fetchone()[0]
    assert failed > 0 and decided < 24
    good, stop = serve_in_thread()
    try:
        again = _evolve(tmp_path, good.base_url, "--resume", "--retries", "0", "--max-failures", "1000",
                        "--no-decontam", limit=12)
    finally:
        stop()
    assert again.exit_code == 0, again.output
    assert store.db.execute("SELECT COUNT(*) FROM rows WHERE round > 0").fetchone()[0] == 24
