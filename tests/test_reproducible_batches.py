"""Reproducible batches in ``generate_file``: the chunk / skip logic with a fake engine whose answers
depend on their batch (as llama.cpp's and transformers' do), and the real default model killed
mid-run and resumed (answers equal to an uninterrupted run's)."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from wizardcoder.engines import batch
from wizardcoder.engines.base import Completion, Engine, Request, SamplingParams
from wizardcoder.engines.batch import CHUNK_PER_BATCH, Job, generate_file, plan_calls
from wizardcoder.errors import WizardCoderError

WC = [sys.executable, "-m", "wizardcoder.cli"]


class BatchSensitive(Engine):
    """Each answer names its prompt, its seed and a digest of every prompt in the same call: an answer
    changes whenever its batch does. ``stop_after`` completions raise KeyboardInterrupt (a Ctrl-C)."""

    name = "fake"

    def __init__(self, width: int | None = 3, stop_after: int | None = None, salt: str = "") -> None:
        self.batch_width, self.stop_after, self.salt = width, stop_after, salt
        self.calls: list[list[str]] = []
        self.closed = False

    @classmethod
    def load(cls, ref: Any, **options: Any) -> BatchSensitive:
        return cls()

    def generate(self, requests: Sequence[Request], params: SamplingParams) -> Iterator[tuple[int, Completion]]:
        prompts = [r.prompt or "" for r in requests]
        self.calls.append(prompts)
        batch = hashlib.md5(("|".join(prompts) + self.salt).encode()).hexdigest()[:6]
        for i in reversed(range(len(requests))):  # any order, as engines finish them
            if self.stop_after is not None and self.stop_after <= 0:
                raise KeyboardInterrupt
            if self.stop_after is not None:
                self.stop_after -= 1
            yield i, Completion(f"{prompts[i]} seed={requests[i].seed} batch={batch}", "stop", 3, 5)

    def stream(self, request: Request, params: SamplingParams) -> Iterator[str]:
        yield from ()

    def close(self) -> None:
        self.closed = True


def _jobs(n: int) -> list[Job]:
    return [Job(f"t{i}", Request(prompt=f"p{i}"), {"task_id": f"t{i}"}) for i in range(n)]


def _run(engine: BatchSensitive, out: Path, *, jobs: list[Job] | None = None, params: SamplingParams | None = None,
         n_samples: int = 1, resume: bool = False, reproducible: bool = True) -> dict[str, Any]:
    return generate_file(lambda: engine, jobs or _jobs(11), params or SamplingParams(max_tokens=8), out,
                         n_samples=n_samples, resume=resume, reproducible=reproducible, show_progress=False,
                         console=Console(stderr=True, quiet=True))


def _rows(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def _by_key(path: Path) -> dict[tuple[str, int], str]:
    rows = _rows(path)
    keys = [(r["task_id"], r["completion_id"]) for r in rows]
    assert len(keys) == len(set(keys)), "a row was written twice"
    return {(r["task_id"], r["completion_id"]): r["response"] for r in rows}


def test_plan_calls_cuts_fixed_chunks_and_skips_finished_ones() -> None:
    pairs = [(j, 0) for j in range(10)]
    assert plan_calls(pairs, set(), None) == [pairs]
    assert plan_calls(pairs, {(0, 0), (5, 0)}, None) == [[p for p in pairs if p not in {(0, 0), (5, 0)}]]
    assert plan_calls(pairs, set(), 4) == [pairs[0:4], pairs[4:8], pairs[8:10]]
    # Chunk 0 done: skipped; chunk 1 half done: whole again; chunk 2 untouched.
    done = {(0, 0), (1, 0), (2, 0), (3, 0), (4, 0), (6, 0)}
    assert plan_calls(pairs, done, 4) == [pairs[4:8], pairs[8:10]]


@pytest.mark.parametrize("n_samples, temperature, per_batch", [(1, 0.0, CHUNK_PER_BATCH), (2, 0.7, CHUNK_PER_BATCH),
                                                               (1, 0.0, 4)])
def test_any_interruption_then_resume_writes_the_uninterrupted_rows(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                    n_samples: int, temperature: float,
                                                                    per_batch: int) -> None:
    monkeypatch.setattr(batch, "CHUNK_PER_BATCH", per_batch)
    params = SamplingParams(max_tokens=8, temperature=temperature, seed=5)
    ref = tmp_path / "ref.jsonl"
    stats = _run(BatchSensitive(), ref, params=params, n_samples=n_samples)
    expected = _by_key(ref)
    total = 11 * n_samples
    assert len(expected) == total and stats["generated"] == total and stats["redone"] == 0
    width = 3
    assert json.loads((tmp_path / "ref.jsonl.run.json").read_text())["reproducible_batches"] == {
        "chunk": per_batch * width, "batch_width": width}
    for stop in range(total):
        out = tmp_path / f"cut{stop}.jsonl"
        with pytest.raises(WizardCoderError, match="interrupted"):
            _run(BatchSensitive(stop_after=stop), out, params=params, n_samples=n_samples)
        if stop % 3 == 1:  # a SIGKILL in the middle of a write leaves half a line
            with out.open("a") as f:
                f.write('{"task_id": "t9", "compl')
        engine = BatchSensitive()
        stats = _run(engine, out, params=params, n_samples=n_samples, resume=True)
        assert _by_key(out) == expected, stop
        assert stats["skipped"] == stop and stats["generated"] == total - stop
        assert stats["redone_differ"] == 0 and engine.closed
        assert all(len(call) == per_batch * width or call is engine.calls[-1] for call in engine.calls)
        # Only the chunk cut by the interruption is generated again.
        assert stats["redone"] == stop % (per_batch * width)


def test_interrupted_again_and_again(tmp_path: Path) -> None:
    """Two new rows per run, each run cut: the end result is still the uninterrupted one."""
    ref, out = tmp_path / "ref.jsonl", tmp_path / "out.jsonl"
    _run(BatchSensitive(width=4), ref)
    runs = 0
    while len(_rows(out) if out.exists() else []) < 11:
        kept = out.read_text().count("\n") if out.exists() else 0
        stop = kept % (CHUNK_PER_BATCH * 4) + 2  # the rows redone with their chunk, then 2 new ones
        try:
            _run(BatchSensitive(width=4, stop_after=stop), out, resume=out.exists())
        except WizardCoderError as exc:
            assert "interrupted" in str(exc)
        runs += 1
    assert runs >= 5 and _by_key(out) == _by_key(ref)


def test_without_reproducible_batches_a_resume_changes_answers(tmp_path: Path) -> None:
    """The failure the chunks prevent, shown by the same fake engine."""
    ref, out = tmp_path / "ref.jsonl", tmp_path / "out.jsonl"
    _run(BatchSensitive(), ref, reproducible=False)
    with pytest.raises(WizardCoderError, match="interrupted"):
        _run(BatchSensitive(stop_after=5), out, reproducible=False)
    _run(BatchSensitive(), out, resume=True, reproducible=False)
    got, expected = _by_key(out), _by_key(ref)
    assert got.keys() == expected.keys() and got != expected
    assert "reproducible_batches" not in json.loads((tmp_path / "out.jsonl.run.json").read_text())


def test_a_resume_that_would_batch_otherwise_is_refused(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with pytest.raises(WizardCoderError, match="interrupted"):
        _run(BatchSensitive(stop_after=3), out)
    wider = BatchSensitive(width=4)
    with pytest.raises(WizardCoderError, match=f"chunks of {3 * CHUNK_PER_BATCH} requests, 3 decoded together.*"
                                               f"chunks of {4 * CHUNK_PER_BATCH} requests, 4"):
        _run(wider, out, resume=True)
    assert wider.closed and not wider.calls and len(_rows(out)) == 3
    # A run started without chunks (or before they existed) is finished as it began, with a warning.
    plain = tmp_path / "plain.jsonl"
    with pytest.raises(WizardCoderError, match="interrupted"):
        _run(BatchSensitive(stop_after=3), plain, reproducible=False)
    _run(BatchSensitive(), plain, resume=True)
    assert len(_by_key(plain)) == 11 and len(_rows(plain)) == 11
    assert "reproducible_batches" not in json.loads((tmp_path / "plain.jsonl.run.json").read_text())
    # Without the guarantee any run can be finished; its record then says it is not reproducible.
    _run(BatchSensitive(width=4), out, resume=True, reproducible=False)
    assert len(_by_key(out)) == 11
    assert "reproducible_batches" not in json.loads((tmp_path / "out.jsonl.run.json").read_text())


def test_regenerated_rows_that_differ_are_counted_not_written(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with pytest.raises(WizardCoderError, match="interrupted"):
        _run(BatchSensitive(width=5, stop_after=3), out)
    kept = out.read_text()
    stats = _run(BatchSensitive(width=5, salt="another build"), out, resume=True)
    assert stats["redone"] == 3 and stats["redone_differ"] == 3
    assert out.read_text().startswith(kept) and len(_by_key(out)) == 11


def test_engines_without_a_batch_width_get_one_call_with_what_is_left(tmp_path: Path) -> None:
    out = tmp_path / "out.jsonl"
    with pytest.raises(WizardCoderError, match="interrupted"):
        _run(BatchSensitive(width=None, stop_after=4), out)
    engine = BatchSensitive(width=None)
    stats = _run(engine, out, resume=True)
    assert len(engine.calls) == 1 and len(engine.calls[0]) == 7 and stats["redone"] == 0
    assert len(_by_key(out)) == 11
    assert "reproducible_batches" not in json.loads((tmp_path / "out.jsonl.run.json").read_text())


# -- the real default model ---------------------------------------------------------------------

def _prompts(path: Path, n: int) -> None:
    from wizardcoder.harness.datasets import load_dataset
    from wizardcoder.harness.prompts import build_instruction

    tasks = list(load_dataset("humaneval", None, None).tasks.values())[:n]
    path.write_text("".join(json.dumps({"task_id": t.task_id, "instruction": build_instruction(t, "humaneval")}) + "\n"
                            for t in tasks))


@pytest.mark.slow
def test_sigkill_then_resume_gives_the_uninterrupted_answers(tmp_path: Path) -> None:
    """12 HumanEval prompts, greedy, --parallel 4: killed with SIGKILL after 3 rows, resumed; every answer equals
    an uninterrupted run's, no row twice, and the chunk cut by the kill is regenerated with the same answers."""
    prompts = tmp_path / "p.jsonl"
    _prompts(prompts, 12)
    parallel = 4
    common = ["generate", "-i", str(prompts), "--max-tokens", "48", "--parallel", str(parallel), "-q"]
    ref = tmp_path / "ref.jsonl"
    done = subprocess.run([*WC, *common, "-o", str(ref)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = _by_key(ref)
    assert len(expected) == 12

    out = tmp_path / "out.jsonl"
    proc = subprocess.Popen([*WC, *common, "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline and not (out.exists() and out.read_bytes().count(b"\n") >= 3):
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    kept = out.read_bytes().count(b"\n")
    assert 3 <= kept < 12, kept
    resumed = subprocess.run([*WC, *common, "-o", str(out), "--resume"], capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"({kept} kept from before)" in resumed.stderr
    if cut := kept % (CHUNK_PER_BATCH * parallel):  # rows of the chunk the kill cut: generated again, not written
        assert f"regenerated {cut} answers" in resumed.stderr and "all equal to the kept ones" in resumed.stderr
    assert _by_key(out) == expected


@pytest.mark.parametrize("n_samples, width, chunk", [(5, 3, 5), (2, 8, 8), (3, 8, 6), (10, 8, 10)])
def test_samples_of_one_prompt_stay_in_one_call_where_the_engine_shares_prompts(
        tmp_path: Path, n_samples: int, width: int, chunk: int) -> None:
    class Sharing(BatchSensitive):
        share_prompts = True

    params = SamplingParams(max_tokens=8, temperature=0.7, seed=5)
    engine = Sharing(width)
    _run(engine, tmp_path / "ref.jsonl", params=params, n_samples=n_samples)
    assert json.loads((tmp_path / "ref.jsonl.run.json").read_text())["reproducible_batches"] == {
        "chunk": chunk, "batch_width": width}
    for call in engine.calls:  # whole prompts: each prompt's n samples in one call
        assert all(call.count(p) == n_samples for p in call), call
    expected = _by_key(tmp_path / "ref.jsonl")
    for stop in (1, n_samples + 1):
        out = tmp_path / f"cut{stop}.jsonl"
        with pytest.raises(WizardCoderError, match="interrupted"):
            _run(Sharing(width, stop_after=stop), out, params=params, n_samples=n_samples)
        _run(Sharing(width), out, params=params, n_samples=n_samples, resume=True)
        assert _by_key(out) == expected
