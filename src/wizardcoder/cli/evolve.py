"""``wizardcoder evolve`` and ``evolve stats``: grow a code instruction dataset with a teacher LLM.

The teacher's options are :class:`~wizardcoder.engines.spec.EngineSpec`'s, with the defaults a
remote teacher needs (:data:`wizardcoder.api.TEACHER_DEFAULTS`) and evolution's sampling
(temperature 1, top-p 0.95): the same object, and so the same checks, as every model-running command.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape

from wizardcoder.api import TEACHER_DEFAULTS
from wizardcoder.cli._app import app, err_console, fail, interrupted_code, out_console
from wizardcoder.cli._config import configurable, record_config
from wizardcoder.cli._options import EngineSpec, with_options
from wizardcoder.errors import WizardCoderError
from wizardcoder.evol.config import DATA, LIMITS, EvolveConfig, EvolveJob
from wizardcoder.evol.filters import FilterConfig

evolve_app = typer.Typer(invoke_without_command=True, no_args_is_help=True, pretty_exceptions_enable=False,
                         help="Grow a code instruction dataset from seeds with a teacher LLM (Code Evol-Instruct).")
app.add_typer(evolve_app, name="evolve")
TEACHER = "Teacher"

_TEACHER_OPTIONS: dict[str, Any] = dict(
    skip=("seed", "stop"),  # the run's seed draws each request's; the teacher's stop token is the registry's
    defaults={**TEACHER_DEFAULTS, "temperature": 1.0, "top_p": 0.95},
    flags={"model": ("--teacher", "-t")},
    helps={
        "model": "'default' (the embedded model, in process), 'fake' (a dry run: deterministic answers, no model), a "
                 "pulled model (`wizardcoder models pull NAME`), a .gguf / model dir / hub id, or with --base-url the "
                 "model the server serves (e.g. gpt-4o).",
        "prompt_format": "How requests reach the teacher; auto: chat messages (the card's format for a WizardCoder).",
        "max_tokens": "Per evolved task and per answer.",
        "parallel": "In-process teacher: sequences decoded together.",
        "threads": "In-process teacher: CPU threads.",
        "concurrency": "Requests in flight.",
        "timeout": "Seconds per request try.",
        "retries": "Retries per request (429, 408, 409, 5xx, timeouts, dropped connections, unreadable responses).",
    },
    panels={"concurrency": LIMITS, "timeout": LIMITS, "retries": LIMITS},
    panel=TEACHER,
)


@evolve_app.callback()
@configurable
@with_options(EngineSpec, "teacher", **_TEACHER_OPTIONS)
@with_options(EvolveJob, "job", build=False)
@with_options(EvolveConfig, "run", build=False)
@with_options(FilterConfig, "filters", build=False)
def evolve(
    ctx: typer.Context,
    teacher: EngineSpec,
    job: dict[str, Any],
    run: dict[str, Any],
    filters: dict[str, Any],
    seeds: Annotated[Path | None, typer.Option("--seeds", help="Seed instructions: Alpaca JSON or JSONL "
                     "(instruction, input, output). Needed to start a run.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Run directory: state.sqlite, data.jsonl, "
                      "data.alpaca.json, eliminated.jsonl, removed.jsonl.")] = None,
    method: Annotated[list[str] | None, typer.Option("--method", help="NAME or NAME=WEIGHT, repeatable (default: "
                      "the five code heuristics, uniform): constraints, uncommon, reasoning, erroneous_code, "
                      "complexity, deepening, concretizing, breadth.")] = None,
    in_depth: Annotated[bool, typer.Option("--in-depth", help="Add deepening and concretizing.")] = False,
    in_breadth: Annotated[bool, typer.Option("--in-breadth", help="Add in-breadth evolution (a new, rarer task).")] = False,
    no_rule: Annotated[list[str] | None, typer.Option("--no-rule", help="Switch an elimination rule off "
                       "(repeatable): no_gain, refusal, trivial_answer, leak, length.")] = None,
    no_dedup: Annotated[bool, typer.Option("--no-dedup", rich_help_panel=DATA, help="Keep near-duplicates.")] = False,
    benchmark_path: Annotated[list[str] | None, typer.Option("--benchmark-path", rich_help_panel=DATA, help="NAME=FILE: "
                              "a local benchmark copy for decontamination (offline), e.g. mbpp+=MbppPlus.jsonl.gz.")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Evolve seed instructions round by round with a teacher LLM, eliminate failed evolutions, answer,
    deduplicate and decontaminate. Every request is recorded: kill it at any moment and --resume."""
    if ctx.invoked_subcommand is not None:
        return
    from wizardcoder import api
    from wizardcoder.evol.config import parse_methods
    from wizardcoder.evol.decontam import parse_benchmark_paths
    from wizardcoder.evol.run import summary_table

    if output is None:
        fail("evolve needs --output DIR")
    try:
        result = api.evolve(
            seeds, output, teacher, console=None if quiet else err_console, temperature=teacher.temperature,
            top_p=teacher.top_p, methods=parse_methods(method, in_depth, in_breadth),
            filters=FilterConfig.without(no_rule or [], **filters), benchmark_paths=parse_benchmark_paths(benchmark_path),
            **{**job, **({"dedup_threshold": None} if no_dedup else {})}, **run)
    except WizardCoderError as exc:
        fail(str(exc), interrupted_code(str(exc)))
    record_config(output / "config.yaml")
    out_console.print(summary_table(result, run["rounds"]))
    for skipped in result.skipped_seeds[:5]:
        err_console.print(f"[yellow]skipped seed:[/] {escape(skipped)}", highlight=False, soft_wrap=True)
    out_console.print(f"dataset: {output / 'data.jsonl'} (+ data.alpaca.json)  eliminated: {output / 'eliminated.jsonl'}"
                      f"  removed: {output / 'removed.jsonl'}  stats: wizardcoder evolve stats {output}", highlight=False)
    if result.counts.unfinished:  # an incomplete result: exit 1, and the cause in one line
        c = result.counts
        err_console.print(f"error: {c.unfinished} pool slots unfinished: the teacher kept failing"
                          + (f" (last: {escape(c.last_error)})" if c.last_error else "")
                          + "; fix it and run again with --resume", highlight=False, soft_wrap=True)
        raise typer.Exit(1)


@evolve_app.command("stats")
def evolve_stats(
    directory: Annotated[Path, typer.Argument(help="A run directory of `wizardcoder evolve`.")],
    plot: Annotated[Path | None, typer.Option(help="Where to write the PNG (default: DIR/stats.png).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the figures as JSON instead of tables.")] = False,
) -> None:
    """Counts per round and method, eliminations by reason, tokens and retries, length distributions (PNG)."""
    from wizardcoder.evol.stats import collect, render
    from wizardcoder.evol.stats import plot as plot_stats

    try:
        stats = collect(directory)
    except WizardCoderError as exc:
        fail(str(exc))
    if as_json:
        out_console.print_json(data=stats.to_dict())
    else:
        render(stats, out_console)
    try:
        png = plot_stats(stats, plot or directory / "stats.png")
    except OSError as exc:
        fail(f"{plot or directory / 'stats.png'}: cannot write the plot: {exc.strerror or exc}")
    err_console.print(f"plot: {png}", highlight=False)
