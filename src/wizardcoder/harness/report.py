"""Readable tables of scores: one evaluation, the model card's four columns, MultiPL-E's languages and
DS-1000's libraries and perturbations."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rich.table import Table

from wizardcoder.errors import WizardCoderError, at
from wizardcoder.harness.datasets import BENCHMARKS, DS1000_LIBRARIES
from wizardcoder.harness.evaluate import SUMMARY
from wizardcoder.jsonl import read_json_object
from wizardcoder.prompting.registry import FAMILY, PEERS, find

COLUMNS = ("HumanEval", "HumanEval+", "MBPP", "MBPP+")
DS1000_COLUMN = "DS-1000"  # the card table's fifth column, only when a full DS-1000 run is given
# DS-1000's columns in the paper's order, under the paper's spelling; keys: the data file's names, lowercased
DS1000_LIBRARY_COLUMNS = {"matplotlib": "Matplotlib", "numpy": "NumPy", "pandas": "Pandas", "pytorch": "PyTorch",
                          "scipy": "SciPy", "sklearn": "Sklearn", "tensorflow": "TensorFlow"}
DS1000_PERTURBATIONS = ("Origin", "Surface", "Semantic", "Difficult-Rewrite")


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
    if BENCHMARKS[benchmark].kind == "ds1000":
        _check_ds1000(path, s)
    return s


def _check_ds1000(path: Path, s: dict[str, Any]) -> None:
    """DS-1000's breakdown and environment, which its table reads: optional, but well-formed when there."""
    def obj(value: Any, name: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise at(path, None, name, f"expected an object, got {type(value).__name__}")
        return value

    breakdown = obj(s.get("ds1000", {}), "ds1000")
    for part in ("library", "perturbation"):
        for group, scores in obj(breakdown.get(part, {}), f"ds1000.{part}").items():
            p1 = obj(scores, f"ds1000.{part}.{group}").get("pass@1")
            if p1 is not None and (not isinstance(p1, int | float) or isinstance(p1, bool) or not 0 <= p1 <= 1):
                raise at(path, None, f"ds1000.{part}.{group}.pass@1"[:120],
                         f"expected a fraction in [0, 1] or null, got {p1!r}"[:200])
    env = obj(s.get("environment", {}), "environment")
    for dist, versions in obj(env.get("differs_from_official", {}), "environment.differs_from_official").items():
        where = f"environment.differs_from_official.{dist}"[:120]
        if not all(isinstance(v, str) for v in (obj(versions, where).get("official"), versions.get("here"))):
            raise at(path, None, where, "expected {\"official\": string, \"here\": string}")


def card_scores(summaries: Iterable[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """label -> column -> pass@1, mapping benchmarks onto the card's columns.

    HumanEval comes from the original HumanEval run, else from HumanEval+'s base tests (the
    same 164 tasks); likewise MBPP from the 500-task MBPP run, else MBPP+'s base tests. A full DS-1000
    run gives the "DS-1000" column; its per-library subsets give none (they are not the benchmark's score).
    """
    table: dict[str, dict[str, float]] = {}
    for s in summaries:
        if is_multiple(s) or (is_ds1000(s) and s["benchmark"] != "ds1000"):
            continue
        row = table.setdefault(s["label"], {})
        p1 = s["base"].get("pass@1")
        if s["benchmark"] == "ds1000":
            row[DS1000_COLUMN] = p1
        elif s["benchmark"] == "humaneval":
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
    """Our pass@1 in the card's layout; with the card's published rows below for reference.

    A "DS-1000" column is added only when a full DS-1000 run is among the summaries: the card publishes
    no DS-1000 figure, so its rows show "-" there, and without such a run the table stays the card's.
    """
    ds1000 = any(s["benchmark"] == "ds1000" for s in summaries)
    columns = (*COLUMNS, DS1000_COLUMN) if ds1000 else COLUMNS
    blank = ("-",) if ds1000 else ()
    table = Table(title="pass@1 (%) — the WizardCoder model card's columns")
    table.add_column("model")
    for c in columns:
        table.add_column(c, justify="right")
    for label, row in card_scores(summaries).items():
        table.add_row(f"[bold]{label}[/bold]", *[pct(row.get(c)) for c in columns])
        card = find(label)
        if card is not None and any(v is not None for v in card.published().values()):
            table.add_row(f"  published: {card.name}", *[_num(v) for v in card.published().values()], *blank)
    if published:
        table.add_section()
        for card in FAMILY:
            table.add_row(f"[dim]{card.name} (card)[/dim]", *[_num(v) for v in card.published().values()], *blank)
        for name, scores in PEERS.items():
            table.add_row(f"[dim]{name} (card)[/dim]", *[_num(v) for v in scores], *blank)
    return table


def is_multiple(summary: dict[str, Any]) -> bool:
    return BENCHMARKS[summary["benchmark"]].kind == "multiple"


def is_ds1000(summary: dict[str, Any]) -> bool:
    """DS-1000, the whole of it (``ds1000``) or one library's subset (``ds1000-pandas``, ...)."""
    return BENCHMARKS[summary["benchmark"]].kind == "ds1000"


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


def ds1000_scores(summaries: Iterable[dict[str, Any]]) -> dict[str, dict[str, float | None]]:
    """label -> column ("All", a library, a perturbation) -> pass@1, from DS-1000 summaries.

    A full run gives every column it has; a subset run (``ds1000-pandas``) only its library's, since its
    overall and per-perturbation scores cover one library, not the benchmark. A label's subsets and full
    run share one row: the full run's figures win, subsets fill the libraries it lacks.
    """
    runs = [s for s in summaries if is_ds1000(s)]
    full: dict[str, dict[str, float | None]] = {}
    subsets: dict[str, dict[str, float | None]] = {}
    for s in runs:
        breakdown = s.get("ds1000", {})
        libraries = {k.lower(): v.get("pass@1") for k, v in breakdown.get("library", {}).items()}
        if s["benchmark"] == "ds1000":
            row = full[s["label"]] = {"All": s["base"].get("pass@1")}
            row.update({col: libraries[lib] for lib, col in DS1000_LIBRARY_COLUMNS.items() if lib in libraries})
            perturbations = breakdown.get("perturbation", {})
            row.update({p: perturbations[p].get("pass@1") for p in DS1000_PERTURBATIONS if p in perturbations})
        else:
            lib = DS1000_LIBRARIES[s["benchmark"].removeprefix("ds1000-")].lower()
            subsets.setdefault(s["label"], {})[DS1000_LIBRARY_COLUMNS[lib]] = libraries.get(lib, s["base"].get("pass@1"))
    labels = dict.fromkeys(s["label"] for s in runs)  # in the order given
    return {label: {**subsets.get(label, {}), **full.get(label, {})} for label in labels}


def ds1000_table(summaries: list[dict[str, Any]]) -> Table | None:
    """pass@1 per library and per perturbation (the DS-1000 paper's table); None without DS-1000 summaries.

    Models are the columns and the groups the rows (twelve groups fit no terminal as columns); a group no
    model has is left out. The caption names the libraries whose versions differ from the official
    environment's, since other versions may give other verdicts and the figures are then not the paper's.
    """
    rows = ds1000_scores(summaries)
    if not rows:
        return None
    libraries, perturbations = list(DS1000_LIBRARY_COLUMNS.values()), list(DS1000_PERTURBATIONS)
    differs: dict[str, None] = {}
    for s in summaries:
        if is_ds1000(s):
            for dist, v in s.get("environment", {}).get("differs_from_official", {}).items():
                differs[f"{dist} {v['here']} (official {v['official']})"] = None
    caption = "\n".join(["not the official versions:", *differs]) if differs else None
    table = Table(title="pass@1 (%) — DS-1000", caption=caption, min_width=44)
    table.add_column("group")
    for label in rows:
        table.add_column(f"[bold]{label}[/bold]", justify="right")
    for section in (["All", *libraries], perturbations):
        shown = [g for g in section if g == "All" or any(row.get(g) is not None for row in rows.values())]
        if shown and section is perturbations:
            table.add_section()
        for group in shown:
            table.add_row(group, *[pct(row.get(group)) for row in rows.values()])
    return table


def _num(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}"
