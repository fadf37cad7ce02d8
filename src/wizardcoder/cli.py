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
from rich.markup import escape

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


class Isolation(str, Enum):
    auto = "auto"
    strict = "strict"
    off = "off"


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
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
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
    sandbox: Annotated[Isolation, typer.Option(help="auto: the isolation the kernel allows; strict: all of it or "
                       "refuse to run (docs/sandbox.md); off: processes and rlimits only.")] = Isolation.auto,
    resume: Annotated[bool, typer.Option("--resume", help="Keep finished rows of an interrupted run.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Discard earlier results in the output directory.")] = False,
    partial: Annotated[bool, typer.Option("--partial", help="Allow samples for only some of the tasks.")] = False,
    no_dedup: Annotated[bool, typer.Option("--no-dedup", help="Run identical programs of a task separately.")] = False,
    label: Annotated[str | None, typer.Option(help="Name shown in tables (default: the samples file name).")] = None,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Score a model (generating its answers) or a samples file on a benchmark: JSONL, summary and the card's table."""
    from wizardcoder.harness.checker import TimeSettings
    from wizardcoder.harness.evaluate import EvalConfig, evaluate
    from wizardcoder.harness.report import card_table, summary_table
    from wizardcoder.sandbox.sandbox import Limits

    if resume and overwrite:
        _fail("--resume and --overwrite exclude each other")
    if samples is not None and samples != "canonical" and not Path(samples).exists():
        _fail(f"{samples}: no such samples file")
    model_used = samples is None
    if model_used:
        from wizardcoder.harness.generate import generate_samples

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
    from wizardcoder.settings import check_number

    try:
        check_number("memory_limit", memory_limit, ge=0.1)
    except WizardCoderError as exc:
        _fail(str(exc))
    cfg = EvalConfig(
        benchmark=benchmark.value,
        samples=samples,
        output=output,
        dataset_path=dataset_path,
        dataset_version=dataset_version,
        postprocess=postprocess.value,
        workers=workers,
        time=TimeSettings(min_time_limit, time_limit_factor, timeout_per_task, script_time_limit),
        limits=Limits(memory_bytes=int(memory_limit * (1 << 30)), isolation=sandbox.value),
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
    reproducible: Annotated[bool, typer.Option(help="Prompts in fixed groups of --parallel / --batch-size, so "
                            "that a resumed run's answers equal an uninterrupted run's (llama.cpp, transformers). "
                            "--no-reproducible: one continuous batch.")] = True,
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
                              job_info={"model": ref.location, "engine": eng.engine_for(ref), "prompt_format": fmt},
                              reproducible=reproducible)
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
    from wizardcoder.harness.datasets import load_dataset
    from wizardcoder.harness.prompts import prompt_rows
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
    from wizardcoder.harness.report import card_table, read_summaries

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
        err_console.print(f"[yellow]skipped seed:[/] {escape(skipped)}", highlight=False, soft_wrap=True)
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


RECIPE = "Recipe (the paper's defaults)"
LORA = "LoRA / QLoRA"
OUTPUTS = "Checkpoints and outputs"


class Packing(str, Enum):
    padding_free = "padding-free"
    none = "none"
    bfd = "bfd"


class PadMode(str, Enum):
    add = "add"
    eos = "eos"
    unk = "unk"


class Precision(str, Enum):
    auto = "auto"
    fp32 = "fp32"
    bf16 = "bf16"
    fp16 = "fp16"


@app.command()
def train(
    model: Annotated[str | None, typer.Option("--model", "-m", help="Base model: a model dir, a hub id, a .gguf "
                     "(dequantized), or 'default' (the embedded SmolLM2-135M).")] = None,
    data: Annotated[Path | None, typer.Option("--data", help="Training rows: an evolve output dir, Alpaca JSON, or "
                    "JSONL with instruction / input / output.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Where the model, checkpoints and logs go.")] = None,
    config: Annotated[Path | None, typer.Option("--config", help="A YAML recipe (field names as in "
                      "`wizardcoder train-config recipe`); flags win over it.")] = None,
    epochs: Annotated[float | None, typer.Option(min=0.0, rich_help_panel=RECIPE, help="[default: 3]")] = None,
    max_steps: Annotated[int | None, typer.Option(min=1, rich_help_panel=RECIPE,
                                                  help="Optimizer steps; overrides --epochs.")] = None,
    lr: Annotated[float | None, typer.Option("--lr", rich_help_panel=RECIPE, help="Peak learning rate [default: 2e-5].")] = None,
    warmup_steps: Annotated[int | None, typer.Option(min=0, rich_help_panel=RECIPE, help="[default: 30]")] = None,
    batch_size: Annotated[int | None, typer.Option(min=1, rich_help_panel=RECIPE, help="Rows per device and step "
                          "[default: 16].")] = None,
    global_batch_size: Annotated[int | None, typer.Option(min=1, rich_help_panel=RECIPE, help="Rows per optimizer step, "
                                 "reached by gradient accumulation [default: 512].")] = None,
    max_length: Annotated[int | None, typer.Option(min=16, rich_help_panel=RECIPE, help="Tokens per row; longer rows "
                          "are cut on the right (counted) [default: 2048].")] = None,
    seed: Annotated[int | None, typer.Option(rich_help_panel=RECIPE)] = None,
    packing: Annotated[Packing | None, typer.Option(help="padding-free: each batch as one sequence, attention kept "
                       "inside rows (default); none: padded batches (the authors' way); bfd: rows packed into "
                       "max-length bins.")] = None,
    precision: Annotated[Precision | None, typer.Option(help="auto: bf16 (or fp16) on GPU, fp32 on CPU.")] = None,
    gradient_checkpointing: Annotated[bool | None, typer.Option("--gradient-checkpointing/--no-gradient-checkpointing",
                                      help="[default: on with a GPU]")] = None,
    pad_token: Annotated[str | None, typer.Option(help="When the tokenizer has none: add (a new token, embedding = "
                         "mean of the others; the paper), eos, unk, or any token of the vocabulary.")] = None,
    eval_split: Annotated[float | None, typer.Option(min=0.0, max=0.99, help="Hold out this fraction for eval loss.")] = None,
    eval_data: Annotated[Path | None, typer.Option(help="A held-out file for eval loss (instead of --eval-split).")] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N rows.")] = None,
    lenient: Annotated[bool | None, typer.Option("--lenient", help="Skip bad rows (counted) instead of stopping.")] = None,
    lora: Annotated[bool | None, typer.Option("--lora", rich_help_panel=LORA, help="Train a LoRA adapter (PEFT).")] = None,
    qlora: Annotated[bool | None, typer.Option("--qlora", rich_help_panel=LORA, help="LoRA on a 4-bit base (CUDA).")] = None,
    lora_r: Annotated[int | None, typer.Option(min=1, rich_help_panel=LORA, help="[default: 16]")] = None,
    lora_alpha: Annotated[int | None, typer.Option(min=1, rich_help_panel=LORA, help="[default: 32]")] = None,
    merge: Annotated[bool | None, typer.Option("--merge/--no-merge", rich_help_panel=LORA, help="Also write the plain "
                     "merged model [default: merge].")] = None,
    save_steps: Annotated[int | None, typer.Option(min=1, rich_help_panel=OUTPUTS, help="Checkpoint (and eval) every "
                          "N steps [default: 50].")] = None,
    logging_steps: Annotated[int | None, typer.Option(min=1, rich_help_panel=OUTPUTS, help="[default: 10]")] = None,
    report_to: Annotated[list[str] | None, typer.Option(rich_help_panel=OUTPUTS, help="csv, tensorboard or none "
                         "(repeatable) [default: csv and tensorboard].")] = None,
    keep_checkpoints: Annotated[bool | None, typer.Option("--keep-checkpoints", rich_help_panel=OUTPUTS,
                                help="Keep checkpoints after a finished run.")] = None,
    gguf: Annotated[str | None, typer.Option(rich_help_panel=OUTPUTS, help="Also export a GGUF for llama.cpp: f16, "
                    "bf16, f32, q8_0 or auto (needs llama.cpp's converter).")] = None,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --output from its last checkpoint.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Start the run in --output over.")] = False,
) -> None:
    """Fine-tune a base model with the WizardCoder recipe: the card's prompt format, loss on the
    response and EOS only, the paper's hyperparameters (global batch 512 via gradient accumulation)."""
    from wizardcoder.training.config import build_config

    if resume and overwrite:
        _fail("--resume and --overwrite exclude each other")
    overrides = {
        "model": model, "data": str(data) if data else None, "output_dir": str(output) if output else None,
        "epochs": epochs, "max_steps": max_steps, "learning_rate": lr, "warmup_steps": warmup_steps,
        "batch_size": batch_size, "global_batch_size": global_batch_size, "max_length": max_length, "seed": seed,
        "packing": packing.value if packing else None, "precision": precision.value if precision else None,
        "gradient_checkpointing": gradient_checkpointing, "pad_token": pad_token, "eval_split": eval_split,
        "eval_data": str(eval_data) if eval_data else None, "limit": limit, "lenient": lenient, "lora": lora,
        "qlora": qlora, "lora_r": lora_r, "lora_alpha": lora_alpha, "merge": merge, "save_steps": save_steps,
        "logging_steps": logging_steps, "report_to": report_to, "keep_checkpoints": keep_checkpoints, "gguf": gguf,
    }
    try:
        cfg = build_config(config, overrides)
        if not cfg.data:
            _fail("train needs --data FILE (or data: in --config)")
        if not cfg.output_dir:
            _fail("train needs --output DIR (or output_dir: in --config)")
        from wizardcoder.training.run import run_train

        result = run_train(cfg, resume=resume, overwrite=overwrite, console=err_console)
    except WizardCoderError as exc:
        from wizardcoder.training.run import TrainingInterrupted

        _fail(str(exc), 130 if isinstance(exc, TrainingInterrupted) else 2)
    except KeyboardInterrupt:
        from wizardcoder.training.run import last_checkpoint

        last = last_checkpoint(Path(str(output or "")) / "checkpoints") if output else None
        where = f"the last checkpoint is {last.name}" if last else "no checkpoint yet"
        _fail(f"interrupted ({where}): rerun with --resume to continue", 130)
    if int(os.environ.get("RANK", "0")) != 0:
        return
    loss = f"{result.train_loss:.4f}" if result.train_loss is not None else "-"
    eval_loss = f", eval loss {result.eval_loss:.4f}" if result.eval_loss is not None else ""
    out_console.print(f"trained {result.steps} steps in {result.runtime_s:.0f} s: train loss {loss}{eval_loss}, "
                      f"{result.tokens_per_s:,.0f} tokens/s", highlight=False)
    out_console.print(f"model: {result.output_dir}" + (f"  adapter: {result.adapter_dir}" if result.adapter_dir else "")
                      + (f"  gguf: {result.gguf}" if result.gguf else "")
                      + f"\nevaluate it: wizardcoder eval --model {result.output_dir} --benchmark humaneval", highlight=False)


@app.command("merge")
def merge_cmd(
    adapter: Annotated[Path, typer.Argument(help="A LoRA adapter dir (DIR/adapter of a LoRA run).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where the merged model goes.")],
) -> None:
    """Merge a LoRA adapter into its (unquantized) base: a plain model every engine loads."""
    from wizardcoder.training.model import merge_adapter

    try:
        out = merge_adapter(adapter, output)
    except WizardCoderError as exc:
        _fail(str(exc))
    out_console.print(f"merged model: {out}", highlight=False)


@app.command("train-config")
def train_config(
    name: Annotated[str, typer.Argument(help="recipe, zero2, zero3-offload or fsdp.")],
) -> None:
    """Print a shipped config: the recipe YAML, or an accelerate config for many GPUs."""
    from wizardcoder.training.configs import CONFIGS, read_config

    if name not in CONFIGS:
        _fail(f"unknown config {name!r} (choose from {', '.join(CONFIGS)})")
    sys.stdout.write(read_config(name))


@app.command("sandbox-check")
def sandbox_check(
    project: Annotated[Path, typer.Option(help="Directory for the project canary (default: the current one).")] = Path("."),
    sandbox: Annotated[Isolation, typer.Option(help="Isolation mode to check.")] = Isolation.auto,
    attack: Annotated[list[str] | None, typer.Option("--attack", "-a", help="Only attacks whose name contains this.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write one JSON row per attack and mode.")] = None,
) -> None:
    """Run the hostile programs against the sandbox and show which are contained (exit 1 if any is not)."""
    import json

    from rich.table import Table

    from wizardcoder.harness.attacks import ATTACKS, run_attacks
    from wizardcoder.sandbox.sandbox import Limits, Sandbox, SandboxUnavailable

    chosen = [a for a in ATTACKS if not attack or any(k.lower() in a.name.lower() for k in attack)]
    if not chosen:
        _fail(f"no attack matches {attack}")
    if not project.is_dir() or not os.access(project, os.W_OK):
        _fail(f"{project}: not a writable directory (the project canary goes there)")
    if output is not None and not output.parent.is_dir():
        _fail(f"{output}: its directory does not exist")
    try:
        sb = Sandbox(Limits(memory_bytes=1 << 30, sandbox_memory_bytes=2 << 30, isolation=sandbox.value))
        status = sb.ensure_started()
    except (SandboxUnavailable, RuntimeError) as exc:
        _fail(str(exc))
    err_console.print("in force: " + ", ".join(k for k, v in status.items() if v is True)
                      + f"; cgroups: {', '.join(status['cgroup_limits']) or 'none'}"
                      + f"; masked: {', '.join(status['masked']) or 'none'}")
    missing = [k for k, v in status.items() if v is False]
    if missing:
        err_console.print(f"[yellow]not available here: {', '.join(missing)}[/]")
    table = Table("attack", "threat", "mode", "verdict", "s", "contained")
    with sb:
        outcomes = run_attacks(sb, chosen, project=project,
                               on_outcome=lambda o: err_console.print(f"{'ok ' if o.contained else 'BAD'} {o.attack} "
                                                                      f"[{o.mode}]: {o.status}", highlight=False))
    for o in outcomes:
        mark = "[green]yes[/]" if o.contained else ("[dim]not run[/]" if o.status == "not run" else "[red]NO[/]")
        breaches = f" {'; '.join(o.breaches)}" if o.breaches else ""
        table.add_row(o.attack, o.threat, o.mode, o.status, f"{o.seconds:.1f}", mark + breaches)
    out_console.print(table)
    ran = [o for o in outcomes if o.status != "not run"]
    contained = sum(o.contained for o in ran)
    out_console.print(f"contained {contained}/{len(ran)} ({len(outcomes) - len(ran)} not run: unsafe without a PID namespace)")
    if output is not None:
        output.write_text("".join(json.dumps(o.row()) + "\n" for o in outcomes))
    if contained != len(ran):
        raise typer.Exit(1)


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


def _one_line(message: str, code: int) -> None:
    err_console.print(f"[red]error:[/red] {escape(' '.join(message.split()))}", highlight=False, soft_wrap=True)
    raise SystemExit(code)


def _user_error(exc: BaseException, output: Path | None) -> str | None:
    """The one line for a failure the user can act on; None for a bug. Groups (asyncio task groups)
    are searched for their first such failure."""
    import sqlite3

    from wizardcoder.errors import describe_os_error, describe_sqlite_error

    if isinstance(exc, BaseExceptionGroup):
        for leaf in exc.exceptions:
            found = _user_error(leaf, getattr(leaf, "output", None) or output)
            if found is not None:
                return found
        return None
    if isinstance(exc, WizardCoderError):
        return str(exc)
    if isinstance(exc, OSError):
        return describe_os_error(exc, output)
    if isinstance(exc, sqlite3.Error):
        return describe_sqlite_error(exc, output)
    if isinstance(exc, RecursionError):
        return "input nested too deeply to process"
    if isinstance(exc, MemoryError):
        return "out of memory (an input too large, or limits too low for this job)"
    return None


def run(argv: list[str] | None = None) -> None:
    """The ``wizardcoder`` command. Every failure ends as one line on stderr and an exit code: 2 for bad
    input, a bad option or an operating-system refusal (a full disk, a read-only or immutable path),
    130 for an interrupt; no traceback is shown, and what a command wrote so far stays resumable."""
    from typer import _click as click  # typer's own copy of click, whose exceptions it raises

    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="wizardcoder", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError:  # a bare `wizardcoder evolve`: its help, already printed
        raise SystemExit(2) from None
    except click.exceptions.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "wizardcoder"
        _one_line(f"{exc.format_message()} (see {where} --help)", 2)
    except click.exceptions.ClickException as exc:
        _one_line(exc.format_message(), exc.exit_code)
    except typer.Abort:
        _one_line("interrupted", 130)
    except BrokenPipeError:  # `| head` closed our output: nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None
    except Exception as exc:
        message = _user_error(exc, getattr(exc, "output", None))
        if message is None:
            raise  # a bug: its traceback is what a report needs
        _one_line(message, 2)
    raise SystemExit(code if isinstance(code, int) else 0)


if __name__ == "__main__":
    run()
