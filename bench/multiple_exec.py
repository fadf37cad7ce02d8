"""MultiPL-E scoring speed: ``wizardcoder eval -s`` against a plain sequential loop of MultiPL-E's executor.

    python bench/multiple_exec.py --samples-dir DIR [--data-dir DIR] [--lang java ...] [--workers 2]

DIR/<lang>/samples.jsonl are samples files of humaneval-<lang> (e.g. the output of ``wizardcoder eval -m
default -b humaneval-<lang> -o DIR/<lang>``). For each language, the same programs are scored twice:

- the peer: MultiPL-E's procedure as its evaluator runs it, one program after another, each step a fresh
  process outside any sandbox (MultiPL-E's commands, flags and timeouts, its status rules), by
  tests/data/multipl-e/check_parity.py (stdlib only; MultiPL-E's own code is not vendored here);
- ours: ``wizardcoder.evaluate`` in the sandbox (``--workers``, default 2), with its per-language
  preparation (C++: <bits/stdc++.h> precompiled once, built before the timing and reported apart).

Printed per language: programs, wall time of each, their compile/run split (sums of the steps' own
times; ours is CPU-parallel so its split can exceed its wall time), the ratio ours/peer and whether
the statuses agree. The only expected disagreement is a program that exits 0 before its tests ran:
MultiPL-E passes it, we fail it (each such row is listed).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from wizardcoder import evaluate  # noqa: E402
from wizardcoder.harness.datasets import load_dataset  # noqa: E402
from wizardcoder.harness.multiple import LANGUAGES, javatuples_jar, prepare  # noqa: E402
from wizardcoder.harness.samples import load_samples  # noqa: E402

COMPILERS = {"g++", "javac", "rustc", "tsc", "scalac", "mcs", "ldmd2", "ldc2"}


def _peer_module():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("check_parity", ROOT / "tests/data/multipl-e/check_parity.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def peer(lang: str, programs: list[tuple[str, str, str]]) -> tuple[float, dict[str, float], dict[tuple[str, str], str]]:
    """MultiPL-E's procedure, sequential: (wall, step seconds by kind, verdict by (task, index))."""
    cp = _peer_module()
    split = {"compile": 0.0, "run": 0.0}
    real_run = cp.run

    def timed(argv, timeout, cwd, env=None):  # type: ignore[no-untyped-def]
        out = real_run(argv, timeout, cwd, env)
        split["compile" if Path(argv[0]).name in COMPILERS else "run"] += out[3]
        return out

    cp.run = timed
    verdicts = {}
    jar = javatuples_jar() or ""
    start = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="multiple-peer-") as tmp:
        for i, (task_id, index, program) in enumerate(programs):
            work = Path(tmp) / f"{i:04d}"
            work.mkdir()
            status, code, _ = cp.evaluate(lang, program, work, jar)
            verdicts[(task_id, index)] = cp.verdict_of(status, code)
    return time.monotonic() - start, split, verdicts


def ours(bench: str, samples: Path, data: Path, workers: int) -> tuple[float, dict[str, float], dict, dict]:
    split = {"compile": 0.0, "run": 0.0}
    with tempfile.TemporaryDirectory(prefix="multiple-ours-") as out:
        start = time.monotonic()
        evaluate(bench, samples=str(samples), dataset_path=str(data), output=out, workers=workers, partial=True,
                 overwrite=True, show_progress=False)
        wall = time.monotonic() - start
        rows = [json.loads(line) for line in (Path(out) / "results.jsonl").read_text().splitlines()]
    for r in rows:
        for name, secs in (r.get("steps") or {}).items():
            split[name] += secs
    return wall, split, {(r["task_id"], str(r["index"])): r["base_status"] for r in rows}, \
        {(r["task_id"], str(r["index"])): r.get("error") or "" for r in rows}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples-dir", required=True, type=Path)
    ap.add_argument("--data-dir", type=Path, default=Path(os.environ.get("WIZARDCODER_DATA_DIR", "/work/shared/data"))
                    / "multipl-e")
    ap.add_argument("--lang", action="append", choices=sorted(LANGUAGES))
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    langs = args.lang or ["java", "js", "cpp", "rs", "php"]
    print(f"{os.cpu_count()} CPUs; ours: --workers {args.workers}; peer: sequential")
    header = (f"{'lang':<5} {'n':>4} | {'peer s':>7} {'compile':>7} {'run':>6} | {'ours s':>7} {'compile':>7} "
              f"{'run':>6} | {'ours/peer':>9} | statuses")
    print(header)
    print("-" * len(header))
    totals = [0.0, 0.0]
    notes: list[str] = []
    for lang in langs:
        bench = f"humaneval-{lang}"
        data = args.data_dir / f"{bench}-reworded.jsonl.gz"
        samples_path = args.samples_dir / lang / "samples.jsonl"
        dataset = load_dataset(bench, str(data))
        samples, _ = load_samples(samples_path, dataset, "wizardcoder")
        programs = [(s.task_id, str(s.index), s.program + "\n" + dataset.tasks[s.task_id].tests[0]) for s in samples]
        t = time.monotonic()
        made = prepare(LANGUAGES[lang])
        if made.note:
            notes.append(f"{lang}: {made.note} (ready in {time.monotonic() - t:.1f} s, before the timing)")
        p_wall, p_split, p_verdicts = peer(lang, programs)
        o_wall, o_split, o_verdicts, o_errors = ours(bench, samples_path, data, args.workers)
        same = sum(p_verdicts[k] == o_verdicts.get(k) for k in p_verdicts)
        for k in p_verdicts:
            if p_verdicts[k] != o_verdicts.get(k):
                notes.append(f"{lang} {k[0]}#{k[1]}: MultiPL-E {p_verdicts[k]}, ours {o_verdicts.get(k)} "
                             f"({o_errors.get(k, '')[:90]})")
        totals[0] += p_wall
        totals[1] += o_wall
        print(f"{lang:<5} {len(programs):>4} | {p_wall:>7.1f} {p_split['compile']:>7.1f} {p_split['run']:>6.1f} | "
              f"{o_wall:>7.1f} {o_split['compile']:>7.1f} {o_split['run']:>6.1f} | {o_wall / p_wall:>9.2f} | "
              f"{same}/{len(programs)} same", flush=True)
    print("-" * len(header))
    print(f"{'all':<5} {'':>4} | {totals[0]:>7.1f} {'':>7} {'':>6} | {totals[1]:>7.1f} {'':>7} {'':>6} | "
          f"{totals[1] / totals[0]:>9.2f} |")
    for n in notes:
        print("  " + n)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
