"""A model's answers to a benchmark: prompts -> engine -> ``samples.jsonl`` (evalplus format).

The samples file sits in the evaluation's output directory and is written as answers arrive,
so an interrupted run keeps them and ``--resume`` generates only the missing ones (with the rest of
their fixed chunk, not written again: the answers equal an uninterrupted run's).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

from rich.console import Console

from wizardcoder import outlock
from wizardcoder.engines.base import Request
from wizardcoder.engines.batch import Job, generate_file
from wizardcoder.engines.spec import EngineSpec
from wizardcoder.errors import WizardCoderError
from wizardcoder.harness.datasets import load_dataset
from wizardcoder.harness.prompts import build_instruction
from wizardcoder.prompting.formats import make_request, resolve_format

SAMPLES = "samples.jsonl"


def default_output(benchmark: str, label: str, fmt: str, natural_fmt: str, temperature: float, n_samples: int) -> Path:
    """``wizardcoder-results/<benchmark>/<model>[-<format>][-t<T>-n<N>]``: the format only when it is
    not the model's own, the sampling settings only when sampling."""
    name = re.sub(r"[^\w.+-]+", "_", label)
    if fmt != natural_fmt:
        name += f"-{fmt}"
    if temperature > 0 or n_samples > 1:
        name += f"-t{temperature:g}-n{n_samples}"
    return Path("wizardcoder-results") / benchmark.replace("+", "plus") / name


def generate_samples(
    eng: EngineSpec,
    benchmark: str,
    output: Path | None,
    *,
    dataset_path: str | None = None,
    dataset_version: str | None = None,
    n_samples: int = 1,
    limit: int | None = None,
    resume: bool = False,
    overwrite: bool = False,
    console: Console | None = None,
    show_progress: bool = True,
    stop_after_code: bool = True,
    reproducible: bool = True,
    task_ids: Collection[str] | None = None,
) -> tuple[Path, str, Path]:
    """Generate (or finish generating) the samples; returns (samples file, model label, output dir).

    ``reproducible``: fixed chunks of requests, so that a resumed run's answers equal an uninterrupted
    run's (llama.cpp and transformers; see :mod:`wizardcoder.engines.batch`). ``task_ids``: only these
    tasks (after ``limit``), e.g. those whose prompt another benchmark's samples do not already answer.
    """
    ref = eng.resolve()
    fmt = eng.prompt_format_for(ref)
    params = dataclasses.replace(eng.sampling(ref), stop_after_code=stop_after_code)
    out = Path(output) if output is not None else default_output(
        benchmark, ref.label, fmt, resolve_format("auto", ref.card), params.temperature, n_samples)
    dataset = load_dataset(benchmark, dataset_path, dataset_version)
    tasks = list(dataset.tasks.values())[:limit] if limit else list(dataset.tasks.values())
    if task_ids is not None:
        wanted = set(task_ids)
        tasks = [t for t in tasks if t.task_id in wanted]
    multiple, ds1000 = dataset.spec.kind == "multiple", dataset.spec.kind == "ds1000"
    stops: tuple[str, ...] = ()
    if ds1000:  # an answer ends at "</code>", in both formats (DS-1000's prompt opens "<code>")
        from wizardcoder.harness.ds1000 import STOP_STRINGS

        stops = STOP_STRINGS
    elif multiple and fmt == "raw":
        stops = tasks[0].stop_tokens if tasks else ()
    if stops:
        params = dataclasses.replace(params, stop=tuple(dict.fromkeys((*params.stop, *stops))))
    if (multiple or ds1000) and fmt == "raw":  # a base model continues the benchmark's own prompt
        jobs = [Job(t.task_id, Request(prompt=t.prompt), {"task_id": t.task_id}) for t in tasks]
    else:
        jobs = [Job(t.task_id, make_request(build_instruction(t, benchmark), fmt), {"task_id": t.task_id})
                for t in tasks]
    if multiple:  # the early stop knows python blocks only: other languages' answers run to their end
        params = dataclasses.replace(params, stop_after_code=False)
    samples = out / SAMPLES
    if samples.exists() and not (resume or overwrite) and _complete(samples, len(jobs) * n_samples):
        resume = True  # the same finished job again: reuse its samples (checked against the run record)
    console = console or Console(stderr=True)
    engine_name = eng.engine_for(ref)

    def open_engine() -> Any:
        console.print(f"[bold]{ref.label}[/bold] via {engine_name} · prompt format {fmt} · {len(jobs)} tasks"
                      f" x {n_samples} · {'greedy' if params.greedy else f't={params.temperature} top_p={params.top_p}'}"
                      f" · max {params.max_tokens} tokens", highlight=False)
        return eng.open(ref)

    with outlock.hold(out):  # the evaluation's directory: one writer at a time
        stats = generate_file(open_engine, jobs, params, samples, n_samples=n_samples, resume=resume,
                              overwrite=overwrite, job_info={**eng.run_info(ref, fmt), "benchmark": benchmark,
                                                             "dataset_md5": dataset.md5},
                              console=console, show_progress=show_progress, description=f"generate {benchmark}",
                              reproducible=reproducible)
    if stats["generated"]:
        rate = stats["completion_tokens"] / max(stats["seconds"], 1e-9)
        console.print(f"generated {stats['generated']} samples in {stats['seconds']:.1f} s ({rate:.0f} tokens/s); "
                      f"{stats['length_stops']} hit --max-tokens"
                      + (f", {stats['repetition_stops']} ended looping" if params.repetition_stop else "")
                      + (f"; prompt tokens: {stats['prompt_tokens']:,} submitted, {stats['prompt_tokens_computed']:,} "
                         "decoded" if stats.get("prompt_tokens_computed") is not None and n_samples > 1 else ""),
                      highlight=False)
    return samples, ref.label, out


def differing_prompts(source: str, benchmark: str, limit: int | None = None, *, dataset_path: str | None = None,
                      ) -> tuple[set[str], list[str]]:
    """``benchmark``'s tasks (the first ``limit``) split into those whose instruction is the same in
    ``source`` (first ``limit`` too), whose answers can be shared, and the others, in order. The request
    a model sees is the instruction in one prompt format, so equal instructions mean equal requests."""
    a, b = load_dataset(source, dataset_path), load_dataset(benchmark, dataset_path)
    a_tasks = list(a.tasks.values())[:limit] if limit else list(a.tasks.values())
    b_tasks = list(b.tasks.values())[:limit] if limit else list(b.tasks.values())
    asked = {t.task_id: build_instruction(t, source) for t in a_tasks}
    same = {t.task_id for t in b_tasks if asked.get(t.task_id) == build_instruction(t, benchmark)}
    return same, [t.task_id for t in b_tasks if t.task_id not in same]


def _complete(path: Path, expected: int) -> bool:
    try:
        with path.open("rb") as f:
            return sum(1 for line in f if line.strip()) >= expected
    except OSError:
        raise WizardCoderError(f"{path}: unreadable") from None
