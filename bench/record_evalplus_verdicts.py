"""Record evalplus 0.3.1's verdicts on a samples file, for tests/test_parity.py.

    .venv/bin/python bench/record_evalplus_verdicts.py tests/data/humanevalplus-mutants.jsonl \\
        --benchmark humaneval+ --out tests/data/humanevalplus-mutants.evalplus.json

The test then checks our verdicts against these without needing evalplus installed.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _evalplus import BENCH, run_evalplus


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("samples", type=Path)
    ap.add_argument("--benchmark", required=True, choices=sorted(BENCH))
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--min-time-limit", type=float, default=1.0)
    ap.add_argument("--time-limit-factor", type=float, default=4.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run = run_evalplus(args.samples, args.benchmark, Path(tmp), Path(tmp) / "cache",
                           args.min_time_limit, args.time_limit_factor)
    verdicts: dict[str, list] = {}
    for (task_id, index), statuses in sorted(run.verdicts.items(), key=lambda kv: kv[0][1]):
        rows = verdicts.setdefault(task_id, [])
        assert index == len(rows)
        rows.append(list(statuses))
    args.out.write_text(json.dumps({
        "tool": "evalplus 0.3.1", "benchmark": args.benchmark, "samples": args.samples.name,
        "min_time_limit": args.min_time_limit, "time_limit_factor": args.time_limit_factor,
        "verdicts": verdicts}, indent=0) + "\n")
    print(f"{sum(len(v) for v in verdicts.values())} verdicts written to {args.out} ({run.seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
