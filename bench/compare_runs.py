"""Two evaluations of the same benchmark side by side: do other weights (``--reencode``) or settings
give the same answers and the same verdicts?

    python bench/compare_runs.py /tmp/live-base-he /tmp/live-f16-he [more pairs ...]

Each argument pair: BEFORE AFTER, evaluation directories (``samples.jsonl``, ``results.jsonl``).
Printed per pair: answers identical, pass counts before -> after (base, and plus where scored), the
tasks whose verdict moved (pass <-> not pass), and generated tokens. The issue's bar for offering a
re-encoding: scores within one task on the full runs.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def _rows(path: Path) -> dict[tuple[str, int], dict]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {(r["task_id"], int(r.get("completion_id", r.get("index", 0)))): r for r in rows}


def compare(before: Path, after: Path) -> str:
    sb, sa = _rows(before / "samples.jsonl"), _rows(after / "samples.jsonl")
    rb, ra = _rows(before / "results.jsonl"), _rows(after / "results.jsonl")
    same = sum(sb[k].get("response") == sa[k].get("response") for k in sa if k in sb)
    lines = [f"{before.name} -> {after.name}: {same} of {len(sa)} answers identical; tokens "
             f"{sum(int(r.get('completion_tokens') or 0) for r in sb.values()):,} -> "
             f"{sum(int(r.get('completion_tokens') or 0) for r in sa.values()):,}"]
    for field in ("base_status", "plus_status"):
        if not any(field in r and r[field] is not None for r in ra.values()):
            continue
        pb = sum(r.get(field) == "pass" for r in rb.values())
        pa = sum(r.get(field) == "pass" for r in ra.values())
        moved = sorted(f"{k[0]} ({rb[k].get(field)} -> {ra[k].get(field)})" for k in ra
                       if k in rb and (ra[k].get(field) == "pass") != (rb[k].get(field) == "pass"))
        lines.append(f"    {field.split('_')[0]}: pass {pb} -> {pa} ({pa - pb:+d}); moved: {', '.join(moved) or 'none'}")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path, help="BEFORE AFTER [BEFORE AFTER ...]")
    args = ap.parse_args()
    if len(args.runs) % 2:
        ap.error("give runs in pairs: BEFORE AFTER")
    for before, after in zip(args.runs[::2], args.runs[1::2]):
        print(compare(before, after))


if __name__ == "__main__":
    main()
