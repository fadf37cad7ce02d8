"""Script-mode verdicts (HumanEval, MBPP) before and after the hardening, on the same programs.

    .venv/bin/python bench/script_parity.py [--baseline-rev e46fbb0]

Before: the test snippets ran in the sample's own process. After: they run in the supervisor,
against proxies of the program's functions (see docs/sandbox.md). Programs: every reference
solution, a `pass` stub per task, and the mutants of tests/data (the HumanEval+/MBPP+ mutants whose
task is also in HumanEval / MBPP's 500 test tasks). Prints agreement and every disagreement.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sandbox_overhead import baseline_sandbox
from wizardcoder.harness.checker import TimeSettings, check_script
from wizardcoder.harness.datasets import Dataset, load_dataset
from wizardcoder.sandbox.sandbox import Sandbox

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data"
MUTANTS = {"humaneval": ROOT / "tests" / "data" / "humanevalplus-mutants.jsonl",
           "mbpp": ROOT / "tests" / "data" / "mbppplus-mutants.jsonl"}
FILES = {"humaneval": DATA / "HumanEval.jsonl.gz", "mbpp": DATA / "mbpp-full-974.jsonl"}


def programs(benchmark: str) -> tuple[list[tuple[str, str, str]], Dataset]:
    """(task_id, kind, program) triples, and the dataset."""
    ds = load_dataset(benchmark, FILES[benchmark] if FILES[benchmark].exists() else None)
    out = []
    for task in ds.tasks.values():
        out.append((task.task_id, "reference", task.canonical))
        out.append((task.task_id, "stub", f"def {task.entry_point}(*args, **kwargs):\n    pass\n"))
    for line in MUTANTS[benchmark].read_text().splitlines():
        row = json.loads(line)
        if row["task_id"] in ds.tasks:  # full programs (the prompt included)
            out.append((row["task_id"], "mutant", row["solution"]))
    return out, ds


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--baseline-rev", default="e46fbb0")
    args = ap.parse_args()
    settings = TimeSettings()
    total = differ = 0
    with tempfile.TemporaryDirectory() as tmp:
        Before = baseline_sandbox(args.baseline_rev, Path(tmp))
        with Before() as old, Sandbox() as new:
            for benchmark in ("humaneval", "mbpp"):
                items, ds = programs(benchmark)
                t_old = t_new = 0.0
                rows = []
                for tid, kind, prog in items:
                    task = ds.tasks[tid]
                    t0 = time.perf_counter()
                    a = check_script(old, task, prog, settings)
                    t1 = time.perf_counter()
                    b = check_script(new, task, prog, settings)
                    t2 = time.perf_counter()
                    t_old += t1 - t0
                    t_new += t2 - t1
                    if a.base_status != b.base_status:
                        rows.append((tid, kind, a.base_status, b.base_status, (a.error or "")[:60], (b.error or "")[:60]))
                total += len(items)
                differ += len(rows)
                kinds = {k: sum(1 for _, kk, _ in items if kk == k) for k in ("reference", "stub", "mutant")}
                print(f"{benchmark}: {len(items)} programs {kinds}: {len(items) - len(rows)} same verdict, "
                      f"{len(rows)} differ; time before {t_old:.1f} s, after {t_new:.1f} s (x{t_new / t_old:.2f})")
                for r in rows:
                    print(f"  {r[0]:14} {r[1]:9} before={r[2]:8} after={r[3]:8} | {r[4]} | {r[5]}")
    print(f"all: {total - differ}/{total} same verdict")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
