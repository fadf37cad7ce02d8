"""Wall time of evalplus 0.3.1 vs ours on the same samples, cold then warm expected-output cache.

    .venv/bin/python bench/eval_speed.py                 # the two mutants files in tests/data
    .venv/bin/python bench/eval_speed.py --canonical     # the reference solutions as samples

For each benchmark, in one run: both tools with fresh (empty) cache dirs ("cold": expected
outputs are computed), then both again with those caches filled ("warm"). Both use 2 workers
(evalplus --parallel 2) and the same per-input time limits (max(floor, 4 x canonical), floor 1 s
by default as in evalplus 0.3.1). Times are whole-process wall times; evalplus is timed through
its evaluate() function (see bench/_evalplus.py). Verdicts are compared as in parity_evalplus.py.
"""

from __future__ import annotations

import argparse
import datetime
import platform
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _evalplus import (
    ROOT,
    WORKERS,
    ToolCrash,
    canonical_samples_file,
    compare,
    run_evalplus,
    run_ours,
)

DEFAULT = {
    "humaneval+": ROOT / "tests" / "data" / "humanevalplus-mutants.jsonl",
    "mbpp+": ROOT / "tests" / "data" / "mbppplus-mutants.jsonl",
}


def main() -> int:
    ap = argparse.ArgumentParser(description="evalplus 0.3.1 vs ours: wall time, cold and warm cache")
    ap.add_argument("--samples-he", type=Path, default=DEFAULT["humaneval+"])
    ap.add_argument("--samples-mbpp", type=Path, default=DEFAULT["mbpp+"])
    ap.add_argument("--canonical", action="store_true", help="use the reference solutions as samples")
    ap.add_argument("--stubs", action="store_true",
                    help="use `pass`-body stubs as samples: every sample fails at once, like a weak model's")
    ap.add_argument("--benchmark", choices=sorted(DEFAULT), action="append", help="default: both")
    ap.add_argument("--min-time-limit", type=float, default=1.0)
    ap.add_argument("--time-limit-factor", type=float, default=4.0)
    ap.add_argument("--keep", action="store_true", help="keep the scratch dir (caches, results)")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="wizardcoder-speed-"))
    given = {"humaneval+": args.samples_he, "mbpp+": args.samples_mbpp}
    print(f"{datetime.datetime.now():%Y-%m-%d %H:%M} | {platform.node()} | {platform.python_version()} | "
          f"workers {WORKERS} (evalplus --parallel {WORKERS}, ours --workers {WORKERS}) | "
          f"min time limit {args.min_time_limit:g} s, factor {args.time_limit_factor:g}")
    rows, details = [], []
    try:
        for bench in args.benchmark or list(DEFAULT):
            if args.canonical:
                samples = canonical_samples_file(bench, work / f"canonical-{bench.rstrip('+')}.jsonl")
                label = "canonical"
            elif args.stubs:
                samples = canonical_samples_file(bench, work / f"stubs-{bench.rstrip('+')}.jsonl", stubs=True)
                label = "stubs"
            else:
                samples, label = given[bench].resolve(), given[bench].name
            ep_cache, our_cache = work / f"evalplus-cache-{bench}", work / f"ours-cache-{bench}"
            for state in ("cold", "warm"):
                ep = run_evalplus(samples, bench, work, ep_cache, args.min_time_limit, args.time_limit_factor)
                ours = run_ours(samples, bench, work, our_cache, args.min_time_limit, args.time_limit_factor)
                cmp = compare(ours.verdicts, ep.verdicts)
                same = "identical" if not cmp.rows else f"{len(cmp.rows)} differ ({cmp.n_known} known)"
                rows.append((bench, label, state, f"{ep.seconds:.1f}", f"{ours.seconds:.1f}",
                             f"{ours.seconds / ep.seconds:.2f}", f"{same} / {cmp.n_samples}"))
                if cmp.rows:
                    details.append((f"{bench} {state}", cmp))
                print(f"  done: {bench} {state}: evalplus {ep.seconds:.1f} s, ours {ours.seconds:.1f} s",
                      flush=True)
    except ToolCrash as e:
        print(f"CRASH: {e}", file=sys.stderr)
        return 1
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    head = ("benchmark", "samples", "cache", "evalplus s", "ours s", "ours/evalplus", "verdicts")
    cells = [head, *rows]
    widths = [max(len(c[j]) for c in cells) for j in range(len(head))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    print()
    print(fmt.format(*head).rstrip())
    print(fmt.format(*("-" * w for w in widths)).rstrip())
    for r in rows:
        print(fmt.format(*r).rstrip())
    for name, cmp in details:
        print(f"\n{name}:\n{cmp.table()}\n{cmp.final_line()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
