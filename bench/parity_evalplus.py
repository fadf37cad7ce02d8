"""Compare per-sample verdicts of evalplus 0.3.1 and ours on the same samples file.

    .venv/bin/python bench/parity_evalplus.py tests/data/humanevalplus-mutants.jsonl \\
        --benchmark humaneval+ --min-time-limit 1

Both tools run with 2 workers (evalplus --parallel 2). A sample "passes base" when base_status
is pass, and "passes plus" only when base and plus both pass. Prints the disagreements and a
final line ``disagreements: N of M samples (K known: ...)``. Exit 0 unless a tool crashed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _evalplus import BENCH, WORKERS, ToolCrash, compare, run_evalplus, run_ours


def main() -> int:
    ap = argparse.ArgumentParser(description="evalplus 0.3.1 vs ours: per-sample verdicts")
    ap.add_argument("samples", type=Path)
    ap.add_argument("--benchmark", required=True, choices=sorted(BENCH))
    ap.add_argument("--min-time-limit", type=float, default=1.0,
                    help="per-input time limit floor for BOTH tools (evalplus 0.3.1 default: 1)")
    ap.add_argument("--time-limit-factor", type=float, default=4.0)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/wizardcoder-bench/parity"),
                    help="scratch dir; its caches are reused between runs")
    args = ap.parse_args()

    work = args.workdir.resolve()
    samples = args.samples.resolve()
    print(f"{args.benchmark}: {args.samples} | min time limit {args.min_time_limit:g} s, "
          f"factor {args.time_limit_factor:g} | evalplus --parallel {WORKERS}, ours --workers {WORKERS}")
    try:
        theirs = run_evalplus(samples, args.benchmark, work, work / "evalplus-cache",
                              args.min_time_limit, args.time_limit_factor)
        ours = run_ours(samples, args.benchmark, work, work / "ours-cache",
                        args.min_time_limit, args.time_limit_factor)
    except ToolCrash as e:
        print(f"CRASH: {e}", file=sys.stderr)
        return 1
    print(f"evalplus {theirs.seconds:.1f} s, ours {ours.seconds:.1f} s")
    cmp = compare(ours.verdicts, theirs.verdicts)
    print(cmp.table())
    print(cmp.final_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
