"""How long the kernel takes to tear down a fork bomb, by the sandbox's process cap.

Runs the hostile suite's fork bomb (io mode) N times in a sandbox per cap (``Limits.processes`` P gives
a cgroup ``pids.max`` of 4 x P) and times ``_Killer.wait_gone``: the wait, after the kill, for the
job's PID namespace to empty. Three seconds into a wait it samples the sandbox's processes (state and
``wchan``), which shows where they wait. Needs root (the cgroup) and a PID namespace.

    python bench/forkbomb_teardown.py --runs 16
"""

from __future__ import annotations

import argparse
import collections
import statistics
import tempfile
import threading
import time
from pathlib import Path

import wizardcoder.sandbox.sandbox as sandbox_module
from wizardcoder.harness.attacks import ATTACKS, _expected, _stage, run_attack
from wizardcoder.sandbox.sandbox import Limits, Sandbox

ROOT = Path(__file__).resolve().parents[1]


def _where() -> str:
    pids = [int(x) for d in Path("/sys/fs/cgroup/pids").rglob("wizardcoder-sandbox-*")
            for x in (d / "cgroup.procs").read_text().split()]
    chans: collections.Counter[str] = collections.Counter()
    for pid in pids:
        try:
            chans[Path(f"/proc/{pid}/wchan").read_text() or "running"] += 1
        except OSError:
            pass
    return f"{len(pids)} tasks, waiting in {dict(chans.most_common(4))}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=16)
    ap.add_argument("--processes", type=int, nargs="+", default=[64, 32])
    args = ap.parse_args()
    waits: list[float] = []
    original = sandbox_module._Killer.wait_gone

    def timed(self: sandbox_module._Killer, timeout: float) -> None:
        t0 = time.monotonic()
        timer = threading.Timer(3.0, lambda: print(f"    3 s into a teardown: {_where()}", flush=True))
        timer.start()
        try:
            original(self, timeout)
        finally:
            timer.cancel()
            waits.append(time.monotonic() - t0)

    sandbox_module._Killer.wait_gone = timed  # type: ignore[method-assign]
    bomb = next(a for a in ATTACKS if a.name == "fork bomb")
    table = []
    for procs in args.processes:
        walls, longest = [], []
        with Sandbox(Limits(memory_bytes=1 << 30, sandbox_memory_bytes=2 << 30, processes=procs)) as sb, \
                _stage(ROOT) as st:
            st["expected"] = _expected(Path(tempfile.mkdtemp()))
            for _ in range(args.runs):
                waits.clear()
                t0 = time.monotonic()
                outcome = run_attack(sb, bomb, "io", st, st["expected"])
                walls.append(time.monotonic() - t0)
                longest.append(max(waits, default=0.0))
                assert outcome.status == "timeout", outcome
        table.append((procs, 4 * procs, longest, walls))
    print(f"\n{'processes':>9} {'pids.max':>8} {'runs':>4} {'teardown median':>15} {'max':>6} {'> 2.5 s':>7} "
          f"{'> 20 s':>6} {'wall max':>8}")
    for procs, cap, longest, walls in table:
        print(f"{procs:>9} {cap:>8} {len(longest):>4} {statistics.median(longest):>14.2f}s {max(longest):>5.1f}s "
              f"{sum(w > 2.5 for w in longest):>7} {sum(w > 20 for w in longest):>6} {max(walls):>7.1f}s")
    if len(table) == 2:
        a, b = table
        print(f"slowest teardown, cap {a[1]} / cap {b[1]}: x{max(a[2]) / max(max(b[2]), 1e-3):.0f}")


if __name__ == "__main__":
    main()
