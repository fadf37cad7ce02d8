"""Per-sample cost of the sandbox: our zygote fork vs a fresh interpreter per sample.

    .venv/bin/python bench/sandbox_overhead.py [--jobs 300]

Runs the same trivial job (define a function, call it on one input) N times, one job at a time:
through ``Sandbox.execute`` (fork from a warm zygote, limits, private dir, process-group kill),
and through ``subprocess.run([python, "-I", "-c", ...])`` (what a plain per-sample subprocess
harness pays). Prints milliseconds per job and the ratio.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from wizardcoder.bench.execution.sandbox import Sandbox

CODE = "def f(x):\n    return x + 1\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=300)
    n = ap.parse_args().jobs
    job = {"mode": "io", "code": CODE, "entry_point": "f", "inputs": [[1]], "time_limits": [4.0], "load_limit": 4.0}
    with Sandbox() as sb:
        sb.execute(job, first_wait=10, wall_timeout=10, on_record=lambda r: 10)  # start the zygote
        t0 = time.perf_counter()
        for _ in range(n):
            sb.execute(job, first_wait=10, wall_timeout=10, on_record=lambda r: 10)
        ours = (time.perf_counter() - t0) / n
        isolated = sb.network_isolated
    t0 = time.perf_counter()
    for _ in range(n):
        subprocess.run([sys.executable, "-I", "-c", CODE + "print(f(1))"], capture_output=True, check=True)
    fresh = (time.perf_counter() - t0) / n
    print(f"jobs: {n}, one at a time; network namespace: {isolated}")
    print(f"sandbox (zygote fork):          {ours * 1000:6.1f} ms/job")
    print(f"fresh interpreter (subprocess): {fresh * 1000:6.1f} ms/job")
    print(f"ratio sandbox/fresh: {ours / fresh:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
