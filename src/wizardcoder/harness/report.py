"""Readable tables of scores: one evaluation, the model card's four columns, and MultiPL-E's languages."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rich.table import Table

from wizardcoder.errors import WizardCoderError, at
from wizardcoder.harness.datasets import BENCHMARKS
from wizardcoder.harness.evaluate import SUMMARY
from wizardcoder.jsonl import read_json_object
from wizardcoder.prompting.registry import FAMILY, PEERS, find

COLUMNS = ("HumanEval", "HumanEval+", "MBPP", "MBPP+")


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def summary_table(summary: dict[str, Any]) -> Table:
    """One evaluation: pass@k on base (and plus) tests, with status counts."""
    table = Table(title=f"{summary['benchmark']} · {summary['label']}",
                  caption=f"{summary['n_tasks']} tasks, {summary['n_samples']} samples", min_width=48)
    table.add_column("tests")
    ks = list(summary["base"])
    for k in ks:
        table.add_column(k, justify="right")
    table.add_column("statuses")
    rows = [("base", summary["base"], summary["base_status"])]
    if "plus" in summary:
        rows.append(("base + plus", summary["plus"], summary["plus_status"]))
    for name, scores, statuses in rows:
        counts = ", ".join(f"{k} {v}" for k, v in sorted(statuses.items(), key=lambda kv: str(kv[0])))
        table.add_row(name, *[pct(scores.get(k)) for k in ks], counts)
    return table


def read_summaries(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """summary.json files, given directly or as the directories holding them (searched recursively)."""
    found: list[dict[str, Any]] = []
    for p in paths:
        if not p.exists():
            raise WizardCoderError(f"{p}: no such file or directory")
        files = [p] if p.is_file() else sorted(p.rglob(SUMMARY))
        if not files:
            raise WizardCoderError(f"{p}: no {SUMMARY} here (is the evaluation finished?)")
        for f in files:
            found.append(check_summary(f, read_json_object(f, "an evaluation summary")))
    return found


def check_summary(path: Path, s: dict[str, Any]) -> dict[str, Any]:
    """The fields the card's table reads, with their types: a bad summary is one line, not a traceback."""
    def field(name: str, kind: type | tuple[type, ...], what: str) -> Any:
        value = s.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            got = "nothing" if name not in s else type(value).__name__
            raise at(path, None, name, f"expected {what}, got {got}; not a summary.json of `wizardcoder eval`?")
        return value

    field("label", str, "a string")
    benchmark = field("benchmark", str, "a string")
    if benchmark not in BENCHMARKS:
        raise at(path, None, "benchmark", f"unknown benchmark {benchmark!r}")
    for part in ("base", "plus") if benchmark.endswith("+") else ("base",):
        scores = field(part, dict, "an object of pass@k scores")
        p1 = scores.get("pass@1")
        if p1 is not None and (not isinstance(p1, int | float) or isinstance(p1, bool) or not 0 <= p1 <= 1):
            raise at(path, None, f"{part}.pass@1", f"expected a fraction in [0, 1] or null, got {p1!r}"[:200])
    return s


def card_scores(summaries: Iterable[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """label -> column -> pass@1, mapping benchmarks onto the card's columns.

    HumanEval comes from the original HumanEval run, else from HumanEval+'s base tests (the
    same 164 tasks); likewise MBPP from the 500-task MBPP run, else MBPP+'s base tests.
    """
    table: dict[str, dict[str, float]] = {}
    for s in summaries:
        if is_multiple(s):
            continue
        row = table.setdefault(s["label"], {})
        p1 = s["base"].get("pass@1")
        if s["benchmark"] == "humaneval":
            row["HumanEval"] = p1
        elif s["benchmark"] == "humaneval+":
            row.setdefault("HumanEval", p1)
            row["HumanEval+"] = s["plus"].get("pass@1")
        elif s["benchmark"] == "mbpp":
            row["MBPP"] = p1
        elif s["benchmark"] == "mbpp+":
            row.setdefault("MBPP", p1)
            row["MBPP+"] = s["plus"].get("pass@1")
    return table


def card_table(summaries: list[dict[str, Any]], published: bool = True) -> Table:
    """Our pass@1 in the card's layout; with the card's published rows below for reference."""
    table = Table(title="pass@1 (%) — the WizardCoder model card's columns")
    table.add_column("model")
    for c in COLUMNS:
        table.add_column(c, justify="right")
    for label, row in card_scores(summaries).items():
        table.add_row(f"[bold]{label}[/bold]", *[pct(row.get(c)) for c in COLUMNS])
        card = find(label)
        if card is not None and any(v is not None for v in card.published().values()):
            table.add_row(f"  published: {card.name}", *[_num(v) for v in card.published().values()])
    if published:
        table.add_section()
        for card in FAMILY:
            table.add_row(f"[dim]{card.name} (card)[/dim]", *[_num(v) for v in card.published().values()])
        for name, scores in PEERS.items():
            table.add_row(f"[dim]{name} (card)[/dim]", *[_num(v) for v in scores])
    return table


def is_multiple(summary: dict[str, Any]) -> bool:
    return BENCHMARKS[summary["benchmark"]].kind == "multiple"


def multiple_scores(summaries: Iterable[dict[str, Any]]) -> dict[str, dict[str, dict[str, float | None]]]:
    """family ("HumanEval", "MBPP") -> label -> language -> pass@1, from MultiPL-E summaries."""
    out: dict[str, dict[str, dict[str, float | None]]] = {}
    for s in summaries:
        if not is_multiple(s):
            continue
        family, lang = s["benchmark"].split("-", 1)
        out.setdefault("HumanEval" if family == "humaneval" else "MBPP", {}).setdefault(s["label"], {})[lang] = \
            s["base"].get("pass@1")
    return out


def multiple_tables(summaries: list[dict[str, Any]]) -> list[Table]:
    """pass@1 per language, the languages as columns (the paper's MultiPL-E table): one table per family."""
    tables = []
    for family, rows in multiple_scores(summaries).items():
        langs = sorted({lang for row in rows.values() for lang in row})
        table = Table(title=f"pass@1 (%) — MultiPL-E {family}", min_width=40)
        table.add_column("model")
        for lang in langs:
            table.add_column(lang, justify="right")
        for label, row in rows.items():
            table.add_row(f"[bold]{label}[/bold]", *[pct(row.get(lang)) for lang in langs])
        tables.append(table)
    return tables


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"
