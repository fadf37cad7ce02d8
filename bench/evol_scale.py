"""How `wizardcoder evolve`'s own work grows with the run size: state, resume, export, stats.

    .venv/bin/python bench/evol_scale.py [--sizes 10000 30000] [--rounds 3]

No teacher is involved: for each size N, a run state is filled directly (N seeds, ``rounds``
rounds, about 70 % of evolutions accepted, a few requests of undecided rows), the way a run leaves
it. Timed: storing the seeds, what ``--resume`` does before its first request (the frontier of
every pool slot and the finished requests to reuse), the export (exact + MinHash dedup,
decontamination against the four benchmarks, JSONL + Alpaca JSON) and ``evolve stats`` (tables and
PNG). Printed: seconds per phase and the ratio of each to the smallest size, next to the ratio of
the sizes (linear growth: equal ratios). Needs the benchmark files (WIZARDCODER_DATA_DIR).
"""

from __future__ import annotations

import argparse
import io
import os
import random
import tempfile
import time
from pathlib import Path

from rich.console import Console
from rich.table import Table

from wizardcoder.evol.decontam import Decontaminator
from wizardcoder.evol.export import export
from wizardcoder.evol.state import RequestRecord, Row, child_id, open_store, seed_id
from wizardcoder.evol.stats import collect, plot, render

_VOCAB = ("list string integer array sort reverse count sum maximum minimum unique prime palindrome matrix tree graph "
          "node path cache queue stack binary search merge split join filter map key value pair window interval")
WORDS = _VOCAB.split()


def _text(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def build(directory: Path, n: int, rounds: int) -> dict[str, float]:
    rng = random.Random(n)
    store = open_store(directory)
    times: dict[str, float] = {}
    t = time.perf_counter()
    store.add_seeds(Row(seed_id(i), i, 0, "Write a function that " + _text(rng, 20), "", _text(rng, 40))
                    for i in range(n))
    times["store seeds"] = time.perf_counter() - t
    parents = {i: seed_id(i) for i in range(n)}
    store.db.execute("BEGIN")
    for rnd in range(1, rounds + 1):
        for i in range(n):
            ok = rng.random() < 0.7
            rid = child_id(i, rnd)
            store.add_row(Row(rid, i, rnd, "Write a function that " + _text(rng, 20 + 8 * rnd), "", _text(rng, 60),
                              status="accepted" if ok else "eliminated", parent_id=parents[i], method="constraints",
                              reason=None if ok else "no_gain", teacher="bench", prompt_tokens=300, completion_tokens=200))
            for kind in ("evolve", "judge", "answer"):
                store.put_request(RequestRecord(f"{rid}:{kind}", rid, kind, "done", "x", "stop", 100, 60, 1, [], 1.0))
            if ok:
                parents[i] = rid
    for i in range(0, n, 100):  # undecided rows of the next round, with some requests finished
        rid = child_id(i, rounds + 1)
        store.put_request(RequestRecord(f"{rid}:evolve", rid, "evolve", "done", "x", "stop", 100, 60, 1, [], 1.0))
    store.db.execute("COMMIT")
    store.close()
    return times


def measure(n: int, rounds: int, decon: Decontaminator) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        times = build(d, n, rounds)
        store = open_store(d)
        t = time.perf_counter()
        frontier = store.frontier()
        reuse = store.done_requests()
        times["resume start"] = time.perf_counter() - t
        assert len(frontier) == n and len(reuse) == len(range(0, n, 100))
        t = time.perf_counter()
        summary = export(store, d, decon, 0.8)
        times["export"] = time.perf_counter() - t
        store.close()
        t = time.perf_counter()
        stats = collect(d)
        render(stats, Console(file=io.StringIO(), width=150))
        plot(stats, d / "stats.png")
        times["stats + PNG"] = time.perf_counter() - t
        times["dataset rows"] = summary.rows
        times["state MB"] = os.path.getsize(d / "state.sqlite") / 1e6
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10000, 30000])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    decon = Decontaminator.from_benchmarks()
    results = {n: measure(n, args.rounds, decon) for n in args.sizes}
    base = args.sizes[0]
    table = Table(title=f"evolve state, resume, export and stats vs run size ({args.rounds} rounds)")
    table.add_column("phase")
    for n in args.sizes:
        table.add_column(f"{n:,} seeds", justify="right")
        if n != base:
            table.add_column(f"x {base:,} (size x{n / base:g})", justify="right")
    for phase in ("store seeds", "resume start", "export", "stats + PNG", "dataset rows", "state MB"):
        cells = []
        for n in args.sizes:
            v = results[n][phase]
            cells.append(f"{v:,.0f}" if phase in ("dataset rows", "state MB") else f"{v:.2f} s")
            if n != base:
                cells.append(f"{v / results[base][phase]:.1f}x" if results[base][phase] else "-")
        table.add_row(phase, *cells)
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
