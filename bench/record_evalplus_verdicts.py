"""Record evalplus 0.3.1's verdicts on a samples file, for tests/test_parity.py.

    .venv/bin/python bench/record_evalplus_verdicts.py tests/data/humanevalplus-mutants.jsonl \\
        --benchmark humaneval+ --out tests/data/humanevalplus-mutants.evalplus.json

The test then checks our verdicts against these without needing evalplus installed.
``--from-results X_eval_results.json`` converts the result file of an evalplus run made on the
same samples (e.g. by parity_evalplus.py, under its --workdir) instead of running evalplus again.
"""

from __future__ import annotations

import argparse
import hashlib
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
    ap.add_argument("--from-results", type=Path, help="an evalplus *_eval_results.json of these samples")
    args = ap.parse_args()
    verdicts: dict[str, list] = {}
    if args.from_results:
        for task_id, rows in json.loads(args.from_results.read_text())["eval"].items():
            verdicts[task_id] = [[r["base_status"], r["plus_status"]] for r in rows]
        seconds = 0.0
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run = run_evalplus(args.samples, args.benchmark, Path(tmp), Path(tmp) / "cache",
                               args.min_time_limit, args.time_limit_factor)
        seconds = run.seconds
        for (task_id, index), statuses in sorted(run.verdicts.items(), key=lambda kv: kv[0][1]):
            rows = verdicts.setdefault(task_id, [])
            assert index == len(rows)
            rows.append(list(statuses))
    args.out.write_text(json.dumps({
        "tool": "evalplus 0.3.1", "benchmark": args.benchmark, "samples": args.samples.name,
        "samples_md5": hashlib.md5(args.samples.read_bytes()).hexdigest(),
        "min_time_limit": args.min_time_limit, "time_limit_factor": args.time_limit_factor,
        "verdicts": verdicts}, indent=0) + "\n")
    print(f"{sum(len(v) for v in verdicts.values())} verdicts written to {args.out} ({seconds:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
