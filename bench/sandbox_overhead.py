"""Per-sample cost of the sandbox, before and after hardening, against a fresh interpreter.

    .venv/bin/python bench/sandbox_overhead.py [--jobs 300] [--baseline-rev e46fbb0]

Runs the same trivial jobs N times, one at a time, in one process:
- through this checkout's ``Sandbox`` (zygote -> launcher -> job PID namespace: supervisor + sample,
  private tmpfs, no capabilities, rlimits, pidfd kill), for an io job (call f on one input) and a
  script job (one assert: the test runs in the supervisor, the call in the sample's process);
- through the sandbox of ``--baseline-rev`` (default e46fbb0, before the hardening: one forked child
  per job, tests in the sample's process), extracted from git into a temporary package;
- through ``subprocess.run([python, "-I", "-c", ...])``, what a plain per-sample subprocess pays.
Prints milliseconds per job and the ratios.
"""

from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from wizardcoder.sandbox.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[1]
CODE = "def f(x):\n    return x + 1\n"
IO_JOB = {"mode": "io", "code": CODE, "entry_point": "f", "inputs": [[1]], "time_limits": [4.0], "load_limit": 4.0}
SCRIPT_JOB = {"mode": "script", "code": CODE, "entry_point": "f", "tests": ["assert f(1) == 2"], "time_limits": [4.0],
              "load_limit": 4.0}


def baseline_sandbox(rev: str, tmp: Path):  # type: ignore[no-untyped-def]
    """The Sandbox class of an older revision, importable next to this one."""
    pkg = tmp / "wc_baseline_execution"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    folder = "src/wizardcoder/sandbox"
    names = subprocess.run(["git", "ls-tree", "--name-only", f"{rev}:{folder}"], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split()
    for name in (n for n in names if n.endswith(".py") and n != "__init__.py"):
        text = subprocess.run(["git", "show", f"{rev}:{folder}/{name}"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout
        (pkg / name).write_text(text.replace("wizardcoder.sandbox", "wc_baseline_execution"))
    sys.path.insert(0, str(tmp))
    return importlib.import_module("wc_baseline_execution.sandbox").Sandbox


def per_job(sb, job: dict, n: int) -> float:  # type: ignore[no-untyped-def]
    records: list[dict] = []

    def on_record(rec: dict) -> float:
        records.append(rec)
        return 10.0

    sb.execute(job, first_wait=10, wall_timeout=10, on_record=on_record)  # start the zygote
    records.clear()
    t0 = time.perf_counter()
    for _ in range(n):
        sb.execute(job, first_wait=10, wall_timeout=10, on_record=on_record)
    elapsed = (time.perf_counter() - t0) / n
    kinds = {r.get("k") for r in records}
    assert ("out" in kinds) if job["mode"] == "io" else any(r.get("ok") for r in records if r.get("k") == "test"), kinds
    return elapsed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=300)
    ap.add_argument("--baseline-rev", default="e46fbb0", help="git revision before the hardening")
    args = ap.parse_args()
    n = args.jobs
    with tempfile.TemporaryDirectory() as tmp:
        Before = baseline_sandbox(args.baseline_rev, Path(tmp))
        with Before() as sb:
            before = {"io": per_job(sb, IO_JOB, n), "script": per_job(sb, SCRIPT_JOB, n)}
        with Sandbox() as sb:
            status = sb.ensure_started()
            after = {"io": per_job(sb, IO_JOB, n), "script": per_job(sb, SCRIPT_JOB, n)}
    t0 = time.perf_counter()
    for _ in range(n):
        subprocess.run([sys.executable, "-I", "-c", CODE + "print(f(1))"], capture_output=True, check=True)
    fresh = (time.perf_counter() - t0) / n
    in_force = ", ".join(k for k, v in status.items() if v is True)
    print(f"jobs: {n} per row, one at a time; in force now: {in_force}; cgroups: {status['cgroup_limits'] or 'none'}")
    print(f"{'':34} {'io job':>10} {'script job':>11}")
    print(f"{'before (' + args.baseline_rev + ')':34} {before['io'] * 1e3:7.2f} ms {before['script'] * 1e3:8.2f} ms")
    print(f"{'after (this checkout)':34} {after['io'] * 1e3:7.2f} ms {after['script'] * 1e3:8.2f} ms")
    print(f"{'fresh interpreter (subprocess)':34} {fresh * 1e3:7.2f} ms")
    print(f"added per sample: io {1e3 * (after['io'] - before['io']):+.2f} ms (x{after['io'] / before['io']:.2f}), "
          f"script {1e3 * (after['script'] - before['script']):+.2f} ms (x{after['script'] / before['script']:.2f})")
    print(f"after / fresh interpreter: io {after['io'] / fresh:.2f}, script {after['script'] / fresh:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
