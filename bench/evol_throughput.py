"""Request throughput of `wizardcoder evolve` against a teacher of known capacity, in one run.

    .venv/bin/python bench/evol_throughput.py [--latency 0.25] [--capacity 32] [--seeds 600] [--rounds 2]

The teacher is the fake OpenAI-compatible endpoint (``wizardcoder.testing.fault_server``) in its own
process: every request takes ``latency`` seconds and at most ``capacity`` are served at once, so
no client can do better than ``capacity / latency`` requests/s. Measured, each a full run of the
pipeline (seeds -> rounds -> export, state in SQLite, decontamination off):

- ours with ``--concurrency capacity``: requests/s as a fraction of that capacity (target >= 90 %);
- one request at a time, as the authors' script did (fewer seeds: it is slow): requests/s;
- ours with ``--rpm`` set to half the capacity: how closely the limit is kept.

Also printed: the CPU time our process spent per request (client, pipeline, SQLite, export).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from rich.console import Console
from rich.table import Table

from wizardcoder.engines import SamplingParams
from wizardcoder.engines.spec import EngineSpec
from wizardcoder.evol.config import EvolveConfig
from wizardcoder.evol.run import EvolveJob, run_evolve


def start_teacher(latency: float, capacity: int) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, "-m", "wizardcoder.testing.fault_server", "--port", "0", "--latency",
                             str(latency), "--capacity", str(capacity)], stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    if "listening on" not in line:
        raise SystemExit(f"fake teacher did not start: {line!r}")
    return proc, line.split("listening on", 1)[1].strip()


def server_requests(url: str) -> int:
    with urllib.request.urlopen(url.removesuffix("/v1") + "/stats") as resp:
        return json.load(resp)["requests"]


def write_seeds(path: Path, n: int) -> Path:
    rows = [{"instruction": f"Write a function that returns the {i}-th element of a list, or None when the list is "
                            f"shorter than {i + 1}.", "input": "", "output": f"def get(xs):\n    return xs[{i}]"}
            for i in range(n)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def run(url: str, seeds: Path, out: Path, rounds: int, concurrency: int, rpm: float | None = None) -> dict[str, float]:
    cfg = EvolveConfig(rounds=rounds, concurrency=concurrency,
                       sampling=SamplingParams(max_tokens=512, temperature=1.0, top_p=0.95))
    job = EvolveJob(output=out, teacher=EngineSpec(model="fake", base_url=url, retries=2), config=cfg, seeds=seeds,
                    rpm=rpm, decontaminate=False)
    sent = server_requests(url)
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    result = run_evolve(job)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    requests = server_requests(url) - sent
    assert requests == result.counts.requests, (requests, result.counts.requests)
    cpu_s = (after.ru_utime - cpu.ru_utime) + (after.ru_stime - cpu.ru_stime)
    return {"requests": requests, "wall": wall, "rate": requests / wall, "cpu_ms": 1000 * cpu_s / max(requests, 1),
            "rows": result.export.rows}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=float, default=0.25)
    ap.add_argument("--capacity", type=int, default=32)
    ap.add_argument("--seeds", type=int, default=600)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--serial-seeds", type=int, default=20)
    args = ap.parse_args()
    capacity = args.capacity / args.latency
    proc, url = start_teacher(args.latency, args.capacity)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            t = Path(tmp)
            ours = run(url, write_seeds(t / "seeds.jsonl", args.seeds), t / "ours", args.rounds, args.capacity)
            serial = run(url, write_seeds(t / "few.jsonl", args.serial_seeds), t / "serial", args.rounds, 1)
            rpm = capacity * 60 / 2
            limited = run(url, write_seeds(t / "lim.jsonl", args.seeds // 2), t / "limited", args.rounds,
                          args.capacity, rpm=rpm)
    finally:
        proc.terminate()
        proc.wait()
    table = Table(title=f"evolve throughput: teacher latency {args.latency} s, capacity {args.capacity} in flight "
                        f"= {capacity:.0f} requests/s at most")
    for col in ("run", "requests", "wall s", "requests/s", "x one-at-a-time", "of capacity", "CPU ms/request"):
        table.add_column(col, justify="right" if col != "run" else "left")
    table.add_row(f"ours, concurrency {args.capacity}", str(ours["requests"]), f"{ours['wall']:.1f}", f"{ours['rate']:.1f}",
                  f"{ours['rate'] / serial['rate']:.1f}x", f"{ours['rate'] / capacity:.1%}", f"{ours['cpu_ms']:.2f}")
    table.add_row("one at a time (the authors' script)", str(serial["requests"]), f"{serial['wall']:.1f}",
                  f"{serial['rate']:.2f}", "1.0x", f"{serial['rate'] / capacity:.1%}", f"{serial['cpu_ms']:.2f}")
    table.add_row(f"ours, --rpm {rpm:.0f} (half the capacity)", str(limited["requests"]), f"{limited['wall']:.1f}",
                  f"{limited['rate']:.1f}", f"{limited['rate'] / serial['rate']:.1f}x",
                  f"{limited['rate'] / capacity:.1%}", f"{limited['cpu_ms']:.2f}")
    console = Console(width=150)
    console.print(table)
    console.print(f"--rpm kept: {limited['rate'] * 60:.0f} requests/min achieved for a limit of {rpm:.0f} "
                  f"({limited['rate'] * 60 / rpm:.1%})")


if __name__ == "__main__":
    main()
