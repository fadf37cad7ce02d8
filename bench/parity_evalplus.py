"""Compare per-sample verdicts of evalplus 0.3.1 and ours on the same samples file.

    .venv/bin/python bench/parity_evalplus.py tests/data/humanevalplus-mutants.jsonl \\
        --benchmark humaneval+ --min-time-limit 1
    .venv/bin/python bench/parity_evalplus.py --corpus    # the execution-semantics corpus, both benchmarks

Both tools run with 2 workers (evalplus --parallel 2). A sample "passes base" when base_status
is pass, and "passes plus" only when base and plus both pass. Prints the disagreements and a
final line ``disagreements: N of M samples (K known: ...)``. Exit 0 unless a tool crashed.
``--corpus`` runs tests/semantics_corpus.py's programs (one thing a sample can depend on each) on
HumanEval+ and MBPP+, with each expected disagreement's reason from that file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent / "tests"))
from _evalplus import BENCH, WORKERS, ToolCrash, compare, run_evalplus, run_ours


def corpus_reasons(family: str, benchmark: str) -> tuple[Path, dict[tuple[str, int], str]]:
    """The corpus samples file of ``family`` and the reason of each disagreement it expects."""
    from semantics_corpus import CASES, DATA, EVALPLUS_DIFFERS, STRICTER

    reasons, seen = {}, {}
    for case in (c for c in CASES if c.family == family):
        index = seen.get(case.task_id, 0)
        seen[case.task_id] = index + 1
        why = EVALPLUS_DIFFERS.get(case.name) or STRICTER.get((case.name, benchmark))
        if why:
            reasons[(case.task_id, index)] = f"case {case.name}"
            LEGEND[f"case {case.name}"] = why
    return DATA / f"corpus-{family}.jsonl", reasons


LEGEND: dict[str, str] = {}  # a corpus case -> why evalplus and we disagree on it


def main() -> int:
    ap = argparse.ArgumentParser(description="evalplus 0.3.1 vs ours: per-sample verdicts")
    ap.add_argument("samples", type=Path, nargs="?")
    ap.add_argument("--benchmark", choices=sorted(BENCH))
    ap.add_argument("--corpus", action="store_true", help="the execution-semantics corpus on humaneval+ and mbpp+")
    ap.add_argument("--min-time-limit", type=float, default=1.0,
                    help="per-input time limit floor for BOTH tools (evalplus 0.3.1 default: 1)")
    ap.add_argument("--time-limit-factor", type=float, default=4.0)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/wizardcoder-bench/parity"),
                    help="scratch dir; its caches are reused between runs")
    args = ap.parse_args()
    if args.corpus:
        runs = [(*corpus_reasons(family, benchmark), benchmark) for family, benchmark in
                (("humaneval", "humaneval+"), ("mbpp", "mbpp+"))]
    elif args.samples and args.benchmark:
        runs = [(args.samples, {}, args.benchmark)]
    else:
        ap.error("give SAMPLES and --benchmark, or --corpus")
    work = args.workdir.resolve()
    for samples, reasons, benchmark in runs:
        print(f"{benchmark}: {samples} | min time limit {args.min_time_limit:g} s, "
              f"factor {args.time_limit_factor:g} | evalplus --parallel {WORKERS}, ours --workers {WORKERS}")
        try:
            theirs = run_evalplus(samples.resolve(), benchmark, work, work / "evalplus-cache",
                                  args.min_time_limit, args.time_limit_factor)
            ours = run_ours(samples.resolve(), benchmark, work, work / "ours-cache",
                            args.min_time_limit, args.time_limit_factor)
        except ToolCrash as e:
            print(f"CRASH: {e}", file=sys.stderr)
            return 1
        print(f"evalplus {theirs.seconds:.1f} s, ours {ours.seconds:.1f} s")
        cmp = compare(ours.verdicts, theirs.verdicts, reasons)
        print(cmp.table())
        for label in sorted({row[4] for row in cmp.rows} & set(LEGEND)):
            print(f"  {label}: {LEGEND[label]}")
        print(cmp.final_line())
    return 0


if __name__ == "__main__":
    sys.exit(main())
