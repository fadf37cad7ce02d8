"""This checkout's harness against an earlier revision's, on the same samples, in one run.

    .venv/bin/python bench/harness_ab.py --baseline-rev 3ff8f1f [--rounds 3]

The revision is checked out into a temporary git worktree and run with this venv
(``PYTHONPATH=<worktree>/src``). For each benchmark (the mutants files of tests/data, which mix
reference solutions and mutants) both harnesses run ``wizardcoder eval`` with 2 workers and a 1 s
time-limit floor, alternately, ``--rounds`` times, each with its own expected-output cache: round 1
computes it (cold), later rounds reuse it (warm). Prints each wall time, the warm median ratio
after/before, and whether the verdicts are the same.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA_DIR = os.environ.get("WIZARDCODER_DATA_DIR", str(ROOT.parent / "shared" / "data"))
SAMPLES = {"humaneval+": ROOT / "tests/data/humanevalplus-mutants.jsonl", "mbpp+": ROOT / "tests/data/mbppplus-mutants.jsonl"}


def run(src: Path, benchmark: str, work: Path, who: str) -> tuple[float, dict]:
    out = work / f"out-{who}-{benchmark}"
    env = dict(os.environ, PYTHONPATH=str(src), WIZARDCODER_DATA_DIR=DATA_DIR,
               WIZARDCODER_CACHE_DIR=str(work / f"cache-{who}"))
    cmd = [sys.executable, "-m", "wizardcoder.cli", "eval", "-b", benchmark, "-s", str(SAMPLES[benchmark]), "-o", str(out),
           "--overwrite", "--workers", "2", "--min-time-limit", "1", "-q"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{who} failed on {benchmark}:\n{proc.stderr[-2000:]}")
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    return seconds, {(r["task_id"], r["index"]): (r["base_status"], r.get("plus_status")) for r in rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline-rev", required=True)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        tree = work / "baseline"
        subprocess.run(["git", "worktree", "add", "-q", "--detach", str(tree), args.baseline_rev], cwd=ROOT, check=True)
        try:
            for benchmark in SAMPLES:
                times: dict[str, list[float]] = {"before": [], "after": []}
                verdicts = {}
                for r in range(1, args.rounds + 1):
                    for who, src in (("before", tree / "src"), ("after", ROOT / "src")):
                        seconds, verdicts[who] = run(src, benchmark, work, who)
                        times[who].append(seconds)
                        print(f"{benchmark} round {r} ({'cold' if r == 1 else 'warm'}) {who:6} {seconds:6.1f} s", flush=True)
                warm = {who: statistics.median(t[1:]) for who, t in times.items()} if args.rounds > 1 else None
                same = sum(verdicts["before"][k] == verdicts["after"].get(k) for k in verdicts["before"])
                line = f"{benchmark}: verdicts the same on {same} of {len(verdicts['before'])} samples"
                if warm:
                    line += (f"; warm median before {warm['before']:.1f} s, after {warm['after']:.1f} s, "
                             f"after/before {warm['after'] / warm['before']:.2f}")
                print(line, flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
