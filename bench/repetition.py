"""Does ending looping answers (``--repetition-stop``) change any verdict? Replayed on recorded runs.

The repetition check reads only the text at check points the text defines
(``wizardcoder.prompting.repetition``), so the answer an engine with the check writes is the
recorded answer cut where ``repetition_cut`` says. This script cuts every answer of recorded
evaluations (runs made without the check), scores the answers it cut in the sandbox, and prints,
per run: answers cut, tokens saved (counted on the recorded answers: the share of each cut answer's
characters dropped, times its tokens), pass@1 before and after, and every task whose verdict moved.

Caveat stated in bench/RESULTS.md: llama.cpp's batched logits depend a little on which sequences
share a decode step, so a live run whose answers end earlier can differ from the replay on greedy
near-ties; the live runs check that.

    python bench/repetition.py bench/method-check/out/stages/eval-base-humaneval-* ...

Each argument: an evaluation directory (``summary.json``, ``results.jsonl``) or a recipe's eval
stage (its ``eval/`` inside). Run from the directory the summaries' relative paths start at, or
give ``--root``.

``--min-span N`` / ``--min-repeats N`` replay a rule other than the default (a tighter one).

The live check: ``--live BEFORE AFTER`` compares a run without the check with the same run made
with ``--repetition-stop`` (same model, benchmark and settings): answers equal to the replayed cut,
answers that differ, verdicts that moved, generated tokens and generation seconds (ratio).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from wizardcoder import evaluate
from wizardcoder.prompting.repetition import _DIGITS, DEFAULT_RULE, RepetitionRule, repeating_period, repetition_cut


def _rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _verdict(row: dict) -> tuple[str, str | None]:
    return row["base_status"], row.get("plus_status")


def replay(run: Path, root: Path, rule: RepetitionRule = DEFAULT_RULE) -> dict:
    ev = run / "eval" if (run / "eval" / "summary.json").exists() else run
    summary = json.loads((ev / "summary.json").read_text())
    samples = Path(summary["samples"])
    samples = samples if samples.is_absolute() else root / samples
    rows = _rows(samples)
    before = {(r["task_id"], r.get("index", 0)): r for r in _rows(ev / "results.jsonl")}
    cut_rows, saved, total, length = [], 0.0, 0, 0
    for r in rows:
        text = r.get("response") or ""
        total += int(r.get("completion_tokens") or 0)
        length += r.get("finish_reason") == "length"
        end = repetition_cut(text, rule)
        if end is None:
            continue
        saved += int(r.get("completion_tokens") or 0) * (1 - end / max(len(text), 1))
        cut_rows.append({**r, "response": text[:end], "finish_reason": "repetition"})
    moved = []
    after_pass = {"base": 0, "plus": 0}
    if cut_rows:
        with tempfile.TemporaryDirectory() as tmp:
            cut_path = Path(tmp) / "cut.jsonl"
            cut_path.write_text("".join(json.dumps(r) + "\n" for r in cut_rows), encoding="utf-8")
            evaluate(summary["benchmark"], samples=cut_path, output=str(Path(tmp) / "eval"), partial=True,
                     dataset_path=summary.get("dataset_path"))
            after = {(r["task_id"], r.get("index", 0)): r for r in _rows(Path(tmp) / "eval" / "results.jsonl")}
        for key, row in after.items():
            old = _verdict(before[key])
            new = _verdict(row)
            if old != new:
                moved.append(f"{key[0]}: {old[0]}->{new[0]}" + (f" (plus {old[1]}->{new[1]})" if old[1] != new[1] else ""))
    n = len(before)
    base_before = sum(r["base_status"] == "pass" for r in before.values())
    plus_before = sum(r.get("plus_status") == "pass" for r in before.values())
    for row in before.values():  # answers not cut keep their verdicts
        after_pass["base"] += row["base_status"] == "pass"
        after_pass["plus"] += row.get("plus_status") == "pass"
    if cut_rows:
        for key, row in after.items():
            after_pass["base"] += (row["base_status"] == "pass") - (before[key]["base_status"] == "pass")
            after_pass["plus"] += (row.get("plus_status") == "pass") - (before[key].get("plus_status") == "pass")
    return {"run": str(run), "benchmark": summary["benchmark"], "answers": n, "length_stops": length,
            "cut": len(cut_rows), "tokens": total, "tokens_saved": round(saved), "pass_before": base_before,
            "pass_after": after_pass["base"], "plus_before": plus_before, "plus_after": after_pass["plus"],
            "moved": moved}


def _eval_dir(run: Path) -> Path:
    return run / "eval" if (run / "eval" / "summary.json").exists() else run


def _samples(run: Path, root: Path) -> Path:
    summary = json.loads((_eval_dir(run) / "summary.json").read_text())
    path = Path(summary["samples"])
    return path if path.is_absolute() else root / path


def _gen_seconds(samples: Path) -> float | None:
    meta = samples.with_name(samples.name + ".run.json")
    if not meta.exists():
        return None
    return json.loads(meta.read_text()).get("stats", {}).get("seconds")


def loop_waste(text: str, tokens: int) -> float:
    """Tokens an answer ended by the check spent inside its loop after the loop's first block (the
    repeats the check needs to see), counted by their share of the characters."""
    for repeats, tail in ((DEFAULT_RULE.min_repeats, text), (DEFAULT_RULE.number_repeats, _DIGITS.sub("0", text))):
        period = repeating_period(tail[-DEFAULT_RULE.window:], repeats) if repeats else None
        if period is not None:
            span = max(repeats * period, DEFAULT_RULE.min_span)
            return tokens * (span - period) / max(len(tail), 1)
    return 0.0


def waste(rows: list[dict]) -> str:
    """Generated tokens that the evaluation cannot use: looping repeats before the check ended them,
    and answers still running at the token limit (an upper bound: some are long, not looping)."""
    total = sum(int(r.get("completion_tokens") or 0) for r in rows)
    looped = sum(loop_waste(r["response"], int(r.get("completion_tokens") or 0)) for r in rows
                 if r.get("finish_reason") == "repetition")
    at_limit = sum(int(r.get("completion_tokens") or 0) for r in rows if r.get("finish_reason") == "length")
    return (f"wasted: {looped:,.0f} tokens in loops before the check ({looped / max(total, 1):.1%}), "
            f"{at_limit:,} in answers at the limit ({at_limit / max(total, 1):.1%}) of {total:,}")


def live(before_run: Path, after_run: Path, root: Path) -> None:
    before = {(r["task_id"], r.get("completion_id", 0)): r for r in _rows(_samples(before_run, root))}
    after = {(r["task_id"], r.get("completion_id", 0)): r for r in _rows(_samples(after_run, root))}
    same = differ = 0
    for key, r in after.items():
        text = before[key]["response"]
        end = repetition_cut(text)
        expected = text if end is None else text[:end]
        if r["response"] == expected:
            same += 1
        else:
            differ += 1
            print(f"    differs from the replay: {key[0]}")
    vb = {(r["task_id"], r.get("index", 0)): _verdict(r) for r in _rows(_eval_dir(before_run) / "results.jsonl")}
    va = {(r["task_id"], r.get("index", 0)): _verdict(r) for r in _rows(_eval_dir(after_run) / "results.jsonl")}
    moved = [k[0] for k in va if (va[k][0] == "pass") != (vb[k][0] == "pass") or
             (va[k][1] == "pass") != (vb[k][1] == "pass")]
    tok_b = sum(int(r.get("completion_tokens") or 0) for r in before.values())
    tok_a = sum(int(r.get("completion_tokens") or 0) for r in after.values())
    pb = sum(v[0] == "pass" for v in vb.values())
    pa = sum(v[0] == "pass" for v in va.values())
    reasons: dict[str, int] = {}
    for r in after.values():
        reasons[r.get("finish_reason", "?")] = reasons.get(r.get("finish_reason", "?"), 0) + 1
    sb, sa = _gen_seconds(_samples(before_run, root)), _gen_seconds(_samples(after_run, root))
    secs = f"; generation {sa:.0f} s vs {sb:.0f} s ({sa / sb:.2f}x)" if sa and sb else ""
    print(f"{after_run.name}: {same} answers equal to the replay, {differ} differ; finish {reasons}; pass "
          f"{pb} -> {pa}, verdicts moved (pass/no pass): {moved or 'none'}; tokens {tok_a}/{tok_b} "
          f"({tok_a / max(tok_b, 1):.2f}x){secs}")
    print(f"    {waste(list(after.values()))}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("runs", nargs="+", type=Path)
    ap.add_argument("--root", type=Path, default=Path("."), help="where the summaries' relative paths start")
    ap.add_argument("--live", action="store_true", help="runs: BEFORE AFTER (without, with --repetition-stop)")
    ap.add_argument("--min-span", type=int, default=DEFAULT_RULE.min_span,
                    help="replay with another rule: characters the repeating tail must cover")
    ap.add_argument("--min-repeats", type=int, default=DEFAULT_RULE.min_repeats, help="replay with another rule")
    args = ap.parse_args()
    rule = RepetitionRule(min_repeats=args.min_repeats, min_span=args.min_span)
    if args.live:
        if len(args.runs) != 2:
            ap.error("--live takes two runs: BEFORE AFTER")
        live(args.runs[0], args.runs[1], args.root)
        return
    if rule != DEFAULT_RULE:
        print(f"rule: {rule}")
    print(f"{'run':44} {'bench':11} {'cut':>9} {'length':>6} {'tokens saved':>18} {'pass@1 before->after':>22}")
    for run in args.runs:
        r = replay(run, args.root, rule)
        plus = f" plus {r['plus_before']}->{r['plus_after']}" if r["plus_before"] or r["plus_after"] else ""
        print(f"{Path(r['run']).name[:44]:44} {r['benchmark']:11} {r['cut']:>4}/{r['answers']:<4} {r['length_stops']:>6} "
              f"{r['tokens_saved']:>7}/{r['tokens']:<7} {r['tokens_saved'] / max(r['tokens'], 1):5.1%} "
              f"{r['pass_before']:>4}->{r['pass_after']}{plus}")
        for m in r["moved"]:
            print(f"    moved: {m}")


if __name__ == "__main__":
    main()
