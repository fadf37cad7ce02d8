"""Crash safety of `wizardcoder evolve`: SIGKILL at random moments, then --resume, equals one clean run."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wizardcoder.testing.fault_server import serve_in_thread

WC = [sys.executable, "-m", "wizardcoder.cli"]
SEEDS = 30
CONCURRENCY = 4


def _seeds(path: Path) -> Path:
    rows = [{"instruction": f"Write a function number {i} that returns the sum of a list of {i} integers.",
             "input": "", "output": f"def f(xs):\n    return sum(xs)  # {i}"} for i in range(SEEDS)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _cmd(seeds: Path, out: Path, url: str, *extra: str) -> list[str]:
    return [*WC, "evolve", "--seeds", str(seeds), "--teacher", "fake", "--base-url", url, "--rounds", "3",
            "-o", str(out), "--quiet", "--no-decontam", "--concurrency", str(CONCURRENCY), *extra]


def _decided(out: Path) -> int:
    db = out / "state.sqlite"
    if not db.exists():
        return 0
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT COUNT(*) FROM rows WHERE round > 0").fetchone()[0]
    except sqlite3.OperationalError:  # killed before the schema was written
        return 0
    finally:
        con.close()


def _ids(out: Path) -> list[str]:
    return [json.loads(line)["id"] for line in (out / "data.jsonl").read_text().splitlines()]


@pytest.mark.slow
def test_kill9_and_resume_equals_clean_run(tmp_path: Path) -> None:
    seeds = _seeds(tmp_path / "seeds.jsonl")
    server, stop = serve_in_thread(latency=0.03)
    try:
        clean = tmp_path / "clean"
        subprocess.run(_cmd(seeds, clean, server.base_url), check=True, capture_output=True, timeout=300)
        clean_requests = server.stats()["requests"]
        server.reset()

        crashed = tmp_path / "crashed"
        rng = random.Random(7)
        kills, mid_run = 0, 0
        total = 3 * SEEDS
        for _ in range(12):
            args = _cmd(seeds, crashed, server.base_url, *(["--resume"] if (crashed / "state.sqlite").exists() else []))
            proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            # Kill at a random moment of the work: wait until a few more rows are decided, then a random extra delay.
            before = _decided(crashed)
            deadline = time.monotonic() + 60
            while proc.poll() is None and _decided(crashed) < before + 3 and time.monotonic() < deadline:
                time.sleep(0.02)
            time.sleep(rng.uniform(0, 0.3))
            if proc.poll() is not None:
                break
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            kills += 1
            done = _decided(crashed)
            mid_run += 0 < done < total
            if kills >= 5:
                break
        assert kills >= 3 and mid_run >= 3, (kills, mid_run)
        final = subprocess.run(_cmd(seeds, crashed, server.base_url, "--resume"), capture_output=True, text=True,
                               timeout=300)
        assert final.returncode == 0, final.stderr
        crashed_requests = server.stats()["requests"]
        server.reset()
        # Once finished, resuming again sends nothing.
        subprocess.run(_cmd(seeds, crashed, server.base_url, "--resume"), check=True, capture_output=True, timeout=300)
        assert server.stats()["requests"] == 0
    finally:
        stop()

    assert _ids(crashed) == _ids(clean)
    assert (crashed / "data.jsonl").read_text() == (clean / "data.jsonl").read_text()
    con = sqlite3.connect(crashed / "state.sqlite")
    rows = con.execute("SELECT id FROM rows").fetchall()
    assert len(rows) == len(set(rows)) == SEEDS + total
    # Only requests in flight at a kill may have been sent twice: at most `concurrency` per kill.
    assert clean_requests <= crashed_requests <= clean_requests + kills * CONCURRENCY, (clean_requests, crashed_requests)


@pytest.mark.slow
def test_ctrl_c_exits_130_and_resumes(tmp_path: Path) -> None:
    seeds = _seeds(tmp_path / "seeds.jsonl")
    server, stop = serve_in_thread(latency=0.05)
    out = tmp_path / "run"
    try:
        proc = subprocess.Popen(_cmd(seeds, out, server.base_url), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True)
        deadline = time.monotonic() + 60
        while _decided(out) < 5 and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == 130, err
        assert "interrupted" in err and "--resume" in err and "Traceback" not in err
        done = _decided(out)
        assert 0 < done < 3 * SEEDS
        res = subprocess.run(_cmd(seeds, out, server.base_url, "--resume"), capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stderr
    finally:
        stop()
    assert _decided(out) == 3 * SEEDS


def test_killed_while_writing_seeds_leaves_all_or_none(tmp_path: Path) -> None:
    """A run killed while it writes its seeds leaves either all of them or none (one transaction)."""
    seeds = _seeds(tmp_path / "seeds.jsonl")
    out = tmp_path / "run"
    proc = subprocess.Popen(_cmd(seeds, out, "http://127.0.0.1:9/v1", "--retries", "0"), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not (out / "state.sqlite").exists() and time.monotonic() < deadline:
        time.sleep(0.001)
    proc.kill()
    proc.wait()
    con = sqlite3.connect(out / "state.sqlite")
    try:
        n = con.execute("SELECT COUNT(*) FROM rows").fetchone()[0]
    except sqlite3.OperationalError:
        n = 0
    assert n in (0, SEEDS)
