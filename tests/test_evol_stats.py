"""`evolve stats`: the numbers of a real state.sqlite, the tables, the PNG, and reading while a run writes."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from rich.console import Console

from wizardcoder.errors import WizardCoderError
from wizardcoder.evol.state import RequestRecord, Row, child_id, open_store, seed_id
from wizardcoder.evol.stats import EvolStats, collect, error_type, plot, render

# (slot, round, method, status, reason)
EVOLVED = [
    (0, 1, "constraints", "accepted", None),
    (1, 1, "constraints", "accepted", None),
    (2, 1, "reasoning", "eliminated", "no_gain"),
    (3, 1, "uncommon", "eliminated", "refusal"),
    (0, 2, "reasoning", "accepted", None),
    (1, 2, "erroneous_code", "eliminated", "leak"),
    (2, 2, "complexity", "eliminated", "no_gain"),
    (3, 2, "constraints", "accepted", None),
]


def words(n: int, w: str = "w") -> str:
    return " ".join([w] * n)


def build_run(directory: Path, export: bool = True) -> Path:
    """4 seeds, 8 decided rows in rounds 1-2, their requests (some retried, one failed), and an export."""
    store = open_store(directory)
    # seed instructions of 5..8 words (seed 1 has a 2-word input too); outputs of 10, 20, 30 words, seed 3 none
    store.add_seeds(Row(id=seed_id(i), slot=i, round=0, instruction=words(5 + i), input="a b" if i == 1 else "",
                        output=words(10 * (i + 1)) if i < 3 else "", source_line=i + 1) for i in range(4))
    for slot, rnd, method, status, reason in EVOLVED:
        store.add_row(Row(id=child_id(slot, rnd), slot=slot, round=rnd, parent_id=seed_id(slot), method=method,
                          status=status, reason=reason, instruction=words(10 * rnd + slot),
                          output=words(40 * rnd + slot) if status == "accepted" else ""))
        rid = child_id(slot, rnd)
        retried = (slot, rnd) == (0, 1)
        store.put_request(RequestRecord(f"{rid}:evolve", rid, "evolve", "done", response="x", prompt_tokens=100,
                                        completion_tokens=50, attempts=3 if retried else 1,
                                        errors=["429", "timeout"] if retried else [], seconds=6.0 if retried else 2.0))
        malformed = (slot, rnd) == (1, 2)
        store.put_request(RequestRecord(f"{rid}:judge", rid, "judge", "done", response="Equal", prompt_tokens=200,
                                        completion_tokens=5, attempts=2 if malformed else 1,
                                        errors=["malformed: no verdict"] if malformed else [], seconds=1.0))
        if status == "accepted":
            store.put_request(RequestRecord(f"{rid}:answer", rid, "answer", "done", response="y", prompt_tokens=150,
                                            completion_tokens=300, attempts=1, seconds=4.0))
    # round 3 of slot 0 in flight: its evolve request failed every attempt
    rid = child_id(0, 3)
    store.put_request(RequestRecord(f"{rid}:evolve", rid, "evolve", "failed", attempts=4, seconds=8.0,
                                    errors=["429", "429", "connection reset by peer", "500"]))
    store.close()
    if export:
        (directory / "data.jsonl").write_text("".join(
            json.dumps({"id": f"r{i}", "instruction": "i", "input": "", "output": "o", "parent_id": None, "round": r,
                        "method": None}) + "\n" for i, r in enumerate([0, 0, 1, 1, 2, 2])))
        (directory / "removed.jsonl").write_text(
            json.dumps({"id": "s000002", "reason": "duplicate"}) + "\n"
            + json.dumps({"id": "s000003.r2", "reason": "contaminated", "benchmark": "HumanEval"}) + "\n")
    return directory


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_run(tmp_path_factory.mktemp("run"))


@pytest.fixture(scope="module")
def stats(run_dir: Path) -> EvolStats:
    return collect(run_dir)


def test_counts(stats: EvolStats) -> None:
    assert (stats.seeds, stats.attempted, stats.accepted, stats.eliminated) == (4, 8, 4, 4)
    assert stats.rounds == [1, 2]
    assert stats.methods == ["constraints", "uncommon", "reasoning", "erroneous_code", "complexity"]
    cells = {(r, m): (c.attempted, c.accepted, c.eliminated) for r, per in stats.cells.items() for m, c in per.items()}
    assert cells == {(1, "constraints"): (2, 2, 0), (1, "reasoning"): (1, 0, 1), (1, "uncommon"): (1, 0, 1),
                     (2, "reasoning"): (1, 1, 0), (2, "erroneous_code"): (1, 0, 1), (2, "complexity"): (1, 0, 1),
                     (2, "constraints"): (1, 1, 0)}
    assert stats.eliminated_by_reason == {"no_gain": 2, "leak": 1, "refusal": 1}
    assert list(stats.eliminated_by_reason) == ["no_gain", "leak", "refusal"]  # most frequent first
    assert stats.eliminated_by_round == {1: {"no_gain": 1, "refusal": 1}, 2: {"leak": 1, "no_gain": 1}}


def test_requests_and_errors(stats: EvolStats) -> None:
    assert list(stats.requests) == ["evolve", "judge", "answer"]
    ev, ju, an = (stats.requests[k] for k in ("evolve", "judge", "answer"))
    assert (ev.count, ev.attempts, ev.retries, ev.failed, ev.prompt_tokens, ev.completion_tokens) == (9, 14, 5, 1, 800, 400)
    assert ev.mean_seconds == pytest.approx(28 / 9)
    assert (ju.count, ju.attempts, ju.retries, ju.failed, ju.prompt_tokens, ju.completion_tokens) == (8, 9, 1, 0, 1600, 40)
    assert (an.count, an.attempts, an.retries, an.failed, an.prompt_tokens, an.completion_tokens) == (4, 4, 0, 0, 600, 1200)
    assert an.mean_seconds == pytest.approx(4.0)
    assert (stats.prompt_tokens, stats.completion_tokens) == (3000, 1640)
    assert stats.errors == {"429": 3, "500": 1, "connection": 1, "malformed": 1, "timeout": 1}
    assert [error_type(e) for e in ("429", "malformed: no task", "  timeout after 60s", "")] == \
        ["429", "malformed", "timeout", "unknown"]


def test_export_and_lengths(stats: EvolStats) -> None:
    assert stats.dataset_rows == 6
    assert stats.dataset_by_round == {0: 2, 1: 2, 2: 2}
    assert stats.removed == {"contaminated": 1, "duplicate": 1}
    assert sorted(stats.lengths) == [0, 1, 2]
    assert sorted(stats.lengths[0].instruction) == [5, 7, 8, 8]  # seed 1: 6 words + a 2-word input
    assert sorted(stats.lengths[0].output) == [10, 20, 30]  # seed 3 has no answer: not a 0-word answer
    assert sorted(stats.lengths[1].instruction) == [10, 11] and sorted(stats.lengths[1].output) == [40, 41]
    assert sorted(stats.lengths[2].instruction) == [20, 23] and sorted(stats.lengths[2].output) == [80, 83]


def test_to_dict_is_json(stats: EvolStats) -> None:
    d = json.loads(json.dumps(stats.to_dict()))
    assert d["totals"] == {"seeds": 4, "attempted": 8, "accepted": 4, "eliminated": 4, "requests": 21, "attempts": 27,
                           "retries": 6, "failed_requests": 1, "prompt_tokens": 3000, "completion_tokens": 1640}
    assert d["rounds"]["1"]["constraints"] == {"attempted": 2, "accepted": 2, "eliminated": 0}
    assert d["eliminated_by_round"]["2"] == {"leak": 1, "no_gain": 1}
    assert d["requests"]["evolve"]["mean_seconds"] == pytest.approx(3.111)
    assert d["dataset"] == {"rows": 6, "by_round": {"0": 2, "1": 2, "2": 2}}
    assert d["removed"] == {"contaminated": 1, "duplicate": 1}
    assert d["lengths"]["0"]["output"] == {"n": 3, "mean": 20.0, "min": 10, "p10": 12.0, "p50": 20.0, "p90": 28.0, "max": 30}


def test_render(stats: EvolStats, tmp_path: Path) -> None:
    console = Console(record=True, width=200)
    render(stats, console)
    text = console.export_text()
    for needle in ("4 seeds", "constraints", "erroneous_code", "2/2", "0/1", "50.0%",  # rounds x methods
                   "no_gain", "25.0%", "12.5%",  # eliminations, % of the 8 attempts
                   "1,600", "1,200", "3,000", "1,640", "3.11", "429 3", "malformed 1",  # requests
                   "exported dataset", "data.jsonl", "contaminated", "duplicate"):
        assert needle in text, needle
    console = Console(record=True, width=200)
    render(collect(build_run(tmp_path / "fresh", export=False)), console)
    assert "not exported yet" in console.export_text()


def test_plot(stats: EvolStats, tmp_path: Path) -> None:
    import matplotlib.image

    out = plot(stats, tmp_path / "plots" / "stats.png")
    data = out.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    img = matplotlib.image.imread(out)
    assert img.shape[:2] == (500, 1700) and img.shape[2] in (3, 4)
    assert img[..., :3].std() > 0.05  # something was drawn
    # a run with seeds only still plots (empty bar panel, no answers)
    store = open_store(tmp_path / "seeds-only")
    store.add_seeds([Row(id=seed_id(0), slot=0, round=0, instruction="write a sort")])
    store.close()
    assert plot(collect(tmp_path / "seeds-only"), tmp_path / "empty.png").read_bytes()[:4] == b"\x89PNG"


def test_no_state_is_one_line_error(tmp_path: Path) -> None:
    for where in (tmp_path, tmp_path / "missing"):
        with pytest.raises(WizardCoderError) as err:
            collect(where)
        assert "state.sqlite" in str(err.value) and "\n" not in str(err.value)
    (tmp_path / "state.sqlite").write_bytes(b"not a database, just some bytes" * 100)
    with pytest.raises(WizardCoderError, match="not a usable run state") as err:
        collect(tmp_path)
    assert "\n" not in str(err.value)


def test_reads_while_a_run_writes(tmp_path: Path) -> None:
    run = build_run(tmp_path / "run", export=False)
    writer = sqlite3.connect(run / "state.sqlite", isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")  # the run holds the write lock with an uncommitted row
        writer.execute("INSERT INTO rows(id, slot, round, method, instruction, status, reason, created) "
                       "VALUES ('s000001.r3', 1, 3, 'reasoning', 'x', 'eliminated', 'length', 0)")
        stats = collect(run)  # neither blocks nor sees the uncommitted row
        assert (stats.attempted, stats.eliminated, stats.rounds) == (8, 4, [1, 2])
        writer.execute("COMMIT")
        stats = collect(run)
        assert (stats.attempted, stats.eliminated, stats.rounds) == (9, 5, [1, 2, 3])
        assert stats.eliminated_by_reason["length"] == 1
    finally:
        writer.close()
