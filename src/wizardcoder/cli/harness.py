"""``wizardcoder prompts``, ``report`` and ``datasets``: the benchmarks' files and tables."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from wizardcoder.cli._app import BenchmarkOpt, DatasetPathOpt, DatasetVersionOpt, app, err_console, fail, out_console
from wizardcoder.errors import WizardCoderError


@app.command()
def prompts(
    benchmark: BenchmarkOpt,
    dataset_path: DatasetPathOpt = None,
    dataset_version: DatasetVersionOpt = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """WizardCoder prompts of a benchmark as JSONL: {task_id, instruction, prompt}."""
    from wizardcoder.harness.datasets import load_dataset
    from wizardcoder.harness.prompts import prompt_rows
    from wizardcoder.jsonl import atomic_write_jsonl

    try:
        dataset = load_dataset(benchmark.value, dataset_path, dataset_version)
    except WizardCoderError as exc:
        fail(str(exc))
    rows = prompt_rows(dataset)
    if output is not None:
        atomic_write_jsonl(output, rows)
        err_console.print(f"{len(dataset.tasks)} prompts written to {output}")
        return
    try:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        sys.stdout.flush()
    except BrokenPipeError:  # `| head` is fine
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


@app.command()
def report(
    paths: Annotated[list[Path], typer.Argument(help="summary.json files or directories holding them.")],
    card: Annotated[bool, typer.Option("--card/--no-card", help="Also list the card's published rows.")] = True,
) -> None:
    """The model card's table (HumanEval, HumanEval+, MBPP, MBPP+), MultiPL-E's (pass@1 per language) and
    DS-1000's (per library and perturbation) from finished evaluations."""
    from wizardcoder.harness.report import card_table, ds1000_table, is_ds1000, is_multiple, multiple_tables, read_summaries

    try:
        summaries = read_summaries(paths)
    except WizardCoderError as exc:
        fail(str(exc))
    if not all(is_multiple(s) or is_ds1000(s) for s in summaries):  # the card's table needs one of its benchmarks
        out_console.print(card_table(summaries, published=card))
    for table in multiple_tables(summaries):
        out_console.print(table)
    ds1000 = ds1000_table(summaries)
    if ds1000 is not None:
        out_console.print(ds1000)


@app.command()
def datasets() -> None:
    """Known benchmark files, their md5, and where each would be read from now."""
    from rich.table import Table

    from wizardcoder.harness.datasets import BENCHMARKS, find_local
    from wizardcoder.paths import cache_dir

    table = Table(title=f"benchmarks (cache: {cache_dir()})")
    for col in ("benchmark", "version", "md5", "source now"):
        table.add_column(col)
    for name, sp in BENCHMARKS.items():
        for v in sp.versions:
            local = find_local(name, v.version)
            remote = f"download: {v.url}" if v.url else "local file only (--dataset-path)"
            where = str(local) if local is not None else remote
            table.add_row(name, v.version, v.md5, where)
    out_console.print(table)


@app.command("env")
def env_(
    name: Annotated[str, typer.Argument(help="The benchmark whose environment to make or show: ds1000.")] = "ds1000",
) -> None:
    """Create (once, minutes) or show a benchmark's execution environment: DS-1000's pinned libraries in
    their own virtual environment. `eval -b ds1000` does this on first use; CI runs it ahead."""
    from rich.table import Table

    from wizardcoder.harness.pyenv import DS1000_ENV, ensure

    if name != "ds1000":
        fail(f"unknown environment {name!r}; known: ds1000")
    try:
        with err_console.status(f"{name} environment") as status:
            env = ensure(DS1000_ENV, log=err_console.print, refetch=True,
                         on_line=lambda line: status.update(f"{name} environment: {line[:100]}"))
    except WizardCoderError as exc:
        fail(str(exc))
    differs = env.differences(DS1000_ENV)
    table = Table(title=f"{name} environment: {env.python}")
    for col in ("library", "official", "here"):
        table.add_column(col)
    for dist, official in DS1000_ENV.official.items():
        here = env.versions.get(dist, "missing")
        table.add_row(dist, official, f"[yellow]{here}[/]" if dist in differs else here)
    for dist in (r.split("==")[0] for r in DS1000_ENV.requirements if r.split("==")[0] not in DS1000_ENV.official):
        table.add_row(dist, "-", env.versions.get(dist, "missing"))  # pinned here, not in the official list
    out_console.print(table)
    if env.data_missing:  # one line for all: offline, they share one reason
        why = next(iter(env.data_missing.values()))
        out_console.print(f"[yellow]data not fetched ({len(env.data_missing)}): {', '.join(env.data_missing)}; "
                          f"{why}[/]", highlight=False)
