"""DS-1000 scoring speed: ``wizardcoder eval -b ds1000`` against DS-1000's official judging procedure.

    python bench/ds1000_exec.py [--dataset-path FILE] [--answers FILE] [--limit N | --every K]
                                [--workers 2] [--out bench/out/ds1000_exec.json]

The same answers (default: the problems' reference solutions; ``--answers``: rows {task_id, solution})
are scored twice in one run, each timed end to end (wall clock, interpreter and library start included):

- ours: ``wizardcoder eval -b ds1000 -s SAMPLES --workers W`` as a subprocess of the toolkit's CLI, in the
  sandbox: DS-1000's environment's interpreter as one zygote per library that imports the library's
  problems' modules once, one forked job per problem;
- official: DS-1000's procedure (tests/data/ds1000/official.py, a standalone reimplementation of
  xlang-ai/DS-1000's test_ds1000.py + execution.py) run by the same environment's interpreter with
  ``--workers W``: a process pool, a Manager and a freshly forked process per problem, no sandbox.

Before the timing: ``wizardcoder env ds1000`` (makes the environment or waits for whoever makes it),
then one import of the heavy libraries by that interpreter, so that neither side pays a cold page cache.
The official side gets the environment's variables too (MPLBACKEND=Agg, and the folders of the data
prefetched for the offline machine: seaborn's example data, California housing), as our jobs do: on a
machine without a network both sides read the same cached data.

Printed: the wall time of each side, the ratio ours/official, the problems with the same verdict (our
``base_status == "pass"`` against the official ``passed``), each disagreement (our status and error, the
official result), and per library the sum of the per-problem seconds of each side (each side's own row
``seconds``: our sandboxed job, the official check_correctness call; sums, not wall times).
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

WIZARDCODER = ROOT / ".venv" / "bin" / "wizardcoder"
OFFICIAL = ROOT / "tests" / "data" / "ds1000" / "official.py"
SHARED = Path("/work/shared/data/ds1000/ds1000.jsonl.gz")
WARM = "import numpy, pandas, scipy, sklearn, matplotlib.pyplot, seaborn, tensorflow, torch"


def source_md5() -> str:
    """The toolkit's source as it ran (the working tree, edits included): to tie figures to a code state."""
    h = hashlib.md5()
    for f in sorted((ROOT / "src" / "wizardcoder").rglob("*.py")):
        h.update(str(f.relative_to(ROOT)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()


def dataset_file(given: str | None) -> str:
    if given:
        return given
    if SHARED.exists():
        return str(SHARED)
    from wizardcoder.harness.datasets import load_dataset  # the package's own lookup (WIZARDCODER_DATA_DIR...)

    return str(load_dataset("ds1000").path)


def problems(path: str) -> list[dict]:
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh if line.strip()]
    return [{"task_id": f"DS1000/{r['metadata']['problem_id']}", "library": r["metadata"]["library"],
             "reference": r["reference_code"]} for r in rows]


def task_id(value: object) -> str:
    return f"DS1000/{str(value).removeprefix('DS1000/')}"


def select(probs: list[dict], limit: int | None, every: int | None) -> list[dict]:
    """``limit``: the first N problems of each library; ``every``: every K-th problem (both: in file order)."""
    if every:
        probs = probs[::every]
    if limit:
        seen: dict[str, int] = defaultdict(int)
        kept = []
        for p in probs:
            if seen[p["library"]] < limit:
                seen[p["library"]] += 1
                kept.append(p)
        probs = kept
    return probs


def environment() -> tuple[str, dict[str, str], float]:
    """Make or wait for DS-1000's environment (the CLI, outside the timing); its interpreter and variables."""
    t = time.monotonic()
    done = subprocess.run([str(WIZARDCODER), "env", "ds1000"], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"wizardcoder env ds1000 failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    from wizardcoder.harness.pyenv import DS1000_ENV, ensure

    env = ensure(DS1000_ENV)
    return env.python, dict(env.environment), time.monotonic() - t


def ours(samples: Path, dataset: str, workers: int, partial: bool, out: Path) -> tuple[float, dict[str, dict], dict]:
    cmd = [str(WIZARDCODER), "eval", "-b", "ds1000", "-s", str(samples), "--workers", str(workers), "-o", str(out),
           "--overwrite", "--dataset-path", dataset, "-q", *(["--partial"] if partial else [])]
    start = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.monotonic() - start
    if done.returncode:
        raise SystemExit(f"ours failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-3000:]}")
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines() if line.strip()]
    summary = json.loads((out / "summary.json").read_text())
    return wall, {r["task_id"]: r for r in rows}, summary


def official(python: str, variables: dict[str, str], dataset: str, answers: Path, workers: int,
             out: Path) -> tuple[float, dict[str, dict]]:
    cmd = [python, str(OFFICIAL), dataset, str(answers), str(out), "--workers", str(workers)]
    start = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **variables})
    wall = time.monotonic() - start
    if done.returncode:
        raise SystemExit(f"official failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-3000:]}")
    rows = [json.loads(line) for line in out.read_text().splitlines() if line.strip()]
    return wall, {task_id(r["task_id"]): r for r in rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dataset-path", help=f"DS-1000's file (default: {SHARED} if there, else the package's lookup)")
    ap.add_argument("--answers", type=Path, help="rows {task_id, solution} (default: the reference solutions)")
    ap.add_argument("--limit", type=int, help="only the first N problems of each library")
    ap.add_argument("--every", type=int, help="only every K-th problem")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "out" / "ds1000_exec.json")
    args = ap.parse_args()

    dataset = dataset_file(args.dataset_path)
    probs = select(problems(dataset), args.limit, args.every)
    library = {p["task_id"]: p["library"] for p in probs}
    if args.answers:
        given = {}
        for line in args.answers.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                given.setdefault(task_id(row["task_id"]), row.get("solution", row.get("answer")))
        answers = {tid: given[tid] for tid in library if tid in given}
    else:
        answers = {p["task_id"]: p["reference"] for p in probs}
    partial = len(answers) < len(problems(dataset))

    src = source_md5()
    python, variables, env_s = environment()
    t = time.monotonic()
    warm = subprocess.run([python, "-c", WARM], capture_output=True, text=True, env={**os.environ, **variables})
    warm_s = time.monotonic() - t
    print(f"{os.cpu_count()} CPUs; both sides --workers {args.workers}; {len(answers)} problems "
          f"({'reference solutions' if not args.answers else args.answers}); dataset {dataset}")
    print(f"environment {python} (ready in {env_s:.1f} s; libraries imported once in {warm_s:.1f} s"
          f"{'' if warm.returncode == 0 else ', with errors'}; both before the timing); source md5 {src}",
          flush=True)

    with tempfile.TemporaryDirectory(prefix="ds1000-exec-") as tmp:
        samples, answers_file = Path(tmp) / "samples.jsonl", Path(tmp) / "answers.jsonl"
        samples.write_text("".join(json.dumps({"task_id": k, "solution": v}) + "\n" for k, v in answers.items()))
        answers_file.write_text("".join(json.dumps({"task_id": k, "answer": v}) + "\n" for k, v in answers.items()))
        o_wall, o_rows, summary = ours(samples, dataset, args.workers, partial, Path(tmp) / "ours")
        print(f"ours:     {o_wall:8.1f} s wall", flush=True)
        p_wall, p_rows = official(python, variables, dataset, answers_file, args.workers, Path(tmp) / "official.jsonl")
        print(f"official: {p_wall:8.1f} s wall", flush=True)

    ids = list(answers)
    o_pass = {k: o_rows.get(k, {}).get("base_status") == "pass" for k in ids}
    p_pass = {k: bool(p_rows.get(k, {}).get("passed")) for k in ids}
    differ = [k for k in ids if o_pass[k] != p_pass[k]]
    print(f"ratio ours/official: {o_wall / p_wall:.3f}")
    print(f"passed: ours {sum(o_pass.values())}, official {sum(p_pass.values())}; same verdict "
          f"{len(ids) - len(differ)}/{len(ids)}")

    per_lib: dict[str, dict[str, float]] = {}
    for k in ids:
        lib = per_lib.setdefault(library[k], {"n": 0, "ours_s": 0.0, "official_s": 0.0, "same": 0})
        lib["n"] += 1
        lib["ours_s"] += o_rows.get(k, {}).get("seconds", 0.0)
        lib["official_s"] += p_rows.get(k, {}).get("seconds", 0.0)
        lib["same"] += o_pass[k] == p_pass[k]
    print("per library, sums of the per-problem seconds (each side's rows; not wall times):")
    header = f"{'library':<12} {'n':>4} | {'official s':>10} | {'ours s':>8} | {'ours/official':>13} | verdicts"
    print(header)
    print("-" * len(header))
    for name, v in sorted(per_lib.items()):
        print(f"{name:<12} {v['n']:>4} | {v['official_s']:>10.1f} | {v['ours_s']:>8.1f} | "
              f"{v['ours_s'] / max(v['official_s'], 1e-9):>13.2f} | {v['same']}/{v['n']} same")
    disagreements = []
    for k in differ:
        o, p = o_rows.get(k, {}), p_rows.get(k, {})
        disagreements.append({"task_id": k, "library": library[k], "ours": o.get("base_status"),
                              "ours_error": o.get("error"), "official_passed": p.get("passed"),
                              "official_result": p.get("result")})
        print(f"  {k} ({library[k]}): ours {o.get('base_status')} ({(o.get('error') or '')[:160]!r}); "
              f"official {'passed' if p.get('passed') else 'failed'} ({str(p.get('result'))[:160]!r})")

    failed = [k for k in ids if not o_pass[k] and not p_pass[k]]
    if failed:
        print(f"failed on both sides: {len(failed)}")
    for k in failed:
        print(f"  {k} ({library[k]}): ours {o_rows.get(k, {}).get('base_status')} "
              f"({(o_rows.get(k, {}).get('error') or '')[:120]!r}); official {str(p_rows[k].get('result'))[:120]!r}")

    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "cpus": os.cpu_count(), "workers": args.workers, "problems": len(ids), "dataset": dataset,
        "answers": str(args.answers) if args.answers else "reference", "limit": args.limit, "every": args.every,
        "source_md5": src, "python": python, "environment_ready_s": round(env_s, 2), "warm_import_s": round(warm_s, 2),
        "ours_wall_s": round(o_wall, 2), "official_wall_s": round(p_wall, 2), "ratio": round(o_wall / p_wall, 4),
        "ours_passed": sum(o_pass.values()), "official_passed": sum(p_pass.values()),
        "same_verdict": len(ids) - len(differ), "disagreements": disagreements,
        "failed_both": [{"task_id": k, "library": library[k], "ours": o_rows.get(k, {}).get("base_status"),
                         "ours_error": o_rows.get(k, {}).get("error"), "official_result": p_rows[k].get("result")}
                        for k in failed],
        "per_library_seconds": {k: {**v, "ours_s": round(v["ours_s"], 2), "official_s": round(v["official_s"], 2)}
                                for k, v in per_lib.items()},
        "ours_summary": {k: summary.get(k) for k in ("base", "base_status", "seconds", "sandbox", "environment")},
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }, indent=2) + "\n")
    print(f"figures: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
