"""Batch generation into a JSONL file: written row by row, resumable, never duplicated.

Input rows carry ``messages`` (chat), ``instruction`` (+ optional ``input``; formatted with the
chosen prompt format) or ``prompt`` (text used as it is), and an id (``task_id`` or ``id``; the
line number otherwise). Output rows keep the input's fields (but the prompt) and add
``completion_id``, ``response``, ``finish_reason`` and token counts: an evalplus-style samples
file when the ids are benchmark task ids. A sidecar ``<output>.run.json`` records the job, so
``resume`` refuses to mix outputs of different models or settings.

Reproducible batches (``reproducible=True``, the default): llama.cpp's and transformers' answers
depend slightly on which requests share their batch (attention kernels, padding and batch shapes
change the rounding, and greedy near-ties flip), so a resume that batched only the unfinished
requests together would write other answers than an uninterrupted run. Instead the ordered (prompt,
sample) pairs are cut into fixed chunks of ``CHUNK_PER_BATCH`` x the engine's ``batch_width``
(``--parallel`` / ``--batch-size``), one ``engine.generate`` call each, from a cleared state. A
resume skips the finished chunks and generates a partly finished one whole again, writing only its
missing rows (and counting the regenerated ones that differ from the kept rows: none, unless the
build or machine changed). Invariant: with the same model, engine, settings and prompts, the rows of
a run interrupted and resumed any number of times equal those of an uninterrupted run, order aside,
greedy or seeded sampling, never duplicated. The chunking is kept in the run record; a reproducible
resume of a run batched otherwise (another ``--parallel`` / ``--batch-size``, or started without
reproducible batches) is refused, while ``reproducible=False`` finishes any run, without the
guarantee. Not covered: the openai engine (the server batches requests as it likes) and
vLLM (its own scheduler); they run unchunked, so their resumed answers may differ from an
uninterrupted run's, as two uninterrupted runs of them may.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape

from wizardcoder import outlock
from wizardcoder.engines.base import Engine, Request, SamplingParams
from wizardcoder.errors import PromptTooLong, WizardCoderError, at
from wizardcoder.jsonl import atomic_write_json, iter_jsonl, read_bytes, read_json, read_jsonl_tolerant
from wizardcoder.progress import make_progress
from wizardcoder.prompting.formats import make_request
from wizardcoder.settings import record

_PROMPT_FIELDS = ("messages", "instruction", "input", "prompt")
# Reproducible runs: requests per engine call = this x the engine's batch width. 1 measured fastest with
# llama.cpp on the default model, faster than one continuous batch (bench/RESULTS.md, gen_reproducible.py),
# and a resume regenerates the fewest answers.
CHUNK_PER_BATCH = 1
_SCHEDULE = "reproducible_batches"  # the key of the chunking in the run record (absent: not reproducible)


@dataclass(frozen=True)
class Job:
    key: str
    request: Request
    fields: dict[str, Any]  # copied to every output row of this job


def read_prompts(path: Path, prompt_format: str) -> list[Job]:
    """Jobs of a prompts JSONL; bad rows fail with file:line and the field."""
    data = read_bytes(path)
    jobs: list[Job] = []
    seen: dict[str, int] = {}
    for line, row in iter_jsonl(path, data):
        key_field = "task_id" if "task_id" in row else "id" if "id" in row else None
        if key_field and (not isinstance(row[key_field], str | int) or isinstance(row[key_field], bool)):
            raise at(path, line, key_field, f"expected a string or an integer, got {type(row[key_field]).__name__}")
        key = str(row[key_field]) if key_field else str(line)
        if key in seen:
            raise at(path, line, key_field, f"duplicate id {key!r} (first on line {seen[key]})")
        seen[key] = line
        jobs.append(Job(key, _request(path, line, row, prompt_format),
                        {k: v for k, v in row.items() if k not in _PROMPT_FIELDS}))
    if not jobs:
        raise at(path, None, None, "no prompts in the file")
    return jobs


def _request(path: Path, line: int, row: dict[str, Any], prompt_format: str) -> Request:
    if "messages" in row:
        msgs = row["messages"]
        if not (isinstance(msgs, list) and msgs and all(
                isinstance(m, dict) and isinstance(m.get("role"), str) and isinstance(m.get("content"), str) for m in msgs)):
            raise at(path, line, "messages", "must be a non-empty list of {role, content} strings")
        return Request(messages=tuple({"role": m["role"], "content": m["content"]} for m in msgs))
    if "instruction" in row:
        inst, inp = row["instruction"], row.get("input")
        if not isinstance(inst, str) or not inst.strip():
            raise at(path, line, "instruction", "must be a non-empty string")
        if inp is not None and not isinstance(inp, str):
            raise at(path, line, "input", "must be a string")
        return make_request(inst, prompt_format, inp)
    if "prompt" in row:
        if not isinstance(row["prompt"], str) or not row["prompt"]:
            raise at(path, line, "prompt", "must be a non-empty string")
        return Request(prompt=row["prompt"])
    raise at(path, line, "prompt", "missing: a row needs 'prompt', 'instruction' or 'messages'")


def _seed(params: SamplingParams, job_index: int, sample: int) -> int | None:
    """Distinct, reproducible seeds per sample when sampling; none needed when greedy."""
    if params.greedy:
        return None
    return ((params.seed or 0) + 1_000_003 * sample + job_index) % (1 << 31)


def _schedule(engine: Engine, reproducible: bool, old: dict[str, int] | None, n_samples: int = 1
              ) -> dict[str, int] | None:
    """The chunking of a reproducible run on ``engine`` (None: one call with everything left).

    A resumed run keeps the chunk size its first part used when the batch width is the same. With
    n samples per prompt on an engine that decodes a prompt once for all its samples
    (``share_prompts``), a chunk holds whole prompts' samples (n x max(1, width // n)), so that no
    prompt is decoded in two calls.
    """
    width = engine.batch_width if reproducible else None
    if not width:
        return None
    if isinstance(old, dict) and old.get("batch_width") == width and isinstance(old.get("chunk"), int):
        return {"chunk": old["chunk"], "batch_width": width}
    if n_samples > 1 and engine.share_prompts:
        return {"chunk": n_samples * max(1, CHUNK_PER_BATCH * width // n_samples), "batch_width": width}
    return {"chunk": CHUNK_PER_BATCH * width, "batch_width": width}


def _describe(schedule: dict[str, int] | None) -> str:
    if not schedule:
        return "one continuous batch (not reproducible)"
    return f"reproducible chunks of {schedule['chunk']} requests, {schedule['batch_width']} decoded together"


def plan_calls(pairs: list[tuple[int, int]], done: set[tuple[int, int]], chunk: int | None) -> list[list[tuple[int, int]]]:
    """The ``engine.generate`` calls that finish ``pairs`` (job, sample), given the ``done`` ones.

    Without ``chunk``: one call with every pair not done. With it: ``pairs`` cut into fixed chunks of
    ``chunk``; a chunk with anything left is generated whole (its done rows again, to be dropped),
    so every answer comes from the same batch as in an uninterrupted run.
    """
    if not chunk:
        return [[p for p in pairs if p not in done]]
    parts = (pairs[k:k + chunk] for k in range(0, len(pairs), chunk))
    return [part for part in parts if any(p not in done for p in part)]


def _drop_torn_tail(path: Path) -> None:
    """Cut a half-written last line (a crash mid-write) so appends start on a fresh line."""
    data = path.read_bytes()
    if data and not data.endswith(b"\n"):
        with path.open("r+b") as f:
            f.truncate(data.rfind(b"\n") + 1)


def generate_file(
    open_engine: Callable[[], Engine],
    jobs: list[Job],
    params: SamplingParams,
    output: Path,
    *,
    n_samples: int = 1,
    job_info: dict[str, Any] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    console: Console | None = None,
    show_progress: bool = True,
    description: str = "generate",
    reproducible: bool = True,
) -> dict[str, Any]:
    """Generate ``n_samples`` completions per job into ``output``; returns counts and speed.

    ``open_engine`` is called only when something is left to generate; ``job_info`` (the model,
    engine, prompt format...) is recorded beside the output and must match on ``resume``. The output
    file is locked while this runs (``outlock``). ``reproducible``: fixed chunks of requests (see the
    module's docstring), so that a resumed run writes what an uninterrupted one would have.
    """
    with outlock.hold(output, is_dir=False):
        return _generate_file(open_engine, jobs, params, output, n_samples=n_samples, job_info=job_info, resume=resume,
                              overwrite=overwrite, console=console, show_progress=show_progress, description=description,
                              reproducible=reproducible)


def _generate_file(
    open_engine: Callable[[], Engine],
    jobs: list[Job],
    params: SamplingParams,
    output: Path,
    *,
    n_samples: int,
    job_info: dict[str, Any] | None,
    resume: bool,
    overwrite: bool,
    console: Console | None,
    show_progress: bool,
    description: str,
    reproducible: bool,
) -> dict[str, Any]:
    console = console or Console(stderr=True)
    if output.is_dir():  # before any other word about it, and before anything is written beside it
        raise WizardCoderError(f"{output}: is a directory; give a file path, not a directory")
    meta_path = output.with_name(output.name + ".run.json")
    meta = {"params": record(params), "n_samples": n_samples,
            "jobs_md5": hashlib.md5(json.dumps([[j.key, asdict(j.request)] for j in jobs]).encode()).hexdigest(),
            **(job_info or {})}
    meta = json.loads(json.dumps(meta))  # as it reads back (tuples become lists)
    done: dict[tuple[str, int], Any] = {}  # (key, completion_id) of the rows already written -> their response
    old_schedule: dict[str, int] | None = None
    if output.exists() and output.stat().st_size and not overwrite:
        if not resume:
            raise WizardCoderError(f"{output} exists: pass --resume to continue it or --overwrite to start again")
        try:
            old = read_json(meta_path) if meta_path.exists() else None
        except WizardCoderError:
            old = None
        if not isinstance(old, dict) or {k: v for k, v in old.items() if k != _SCHEDULE} != meta:
            raise WizardCoderError(f"{output} was written by a different job (model, settings or prompts; see "
                                   f"{meta_path}): use another --output or --overwrite")
        old_schedule = old.get(_SCHEDULE)
        _drop_torn_tail(output)
        done = {(str(r.get("task_id", r.get("id"))), int(r["completion_id"])): r.get("response")
                for r in read_jsonl_tolerant(output) if "completion_id" in r}
    output.parent.mkdir(parents=True, exist_ok=True)
    pairs = [(j, s) for j in range(len(jobs)) for s in range(n_samples)]
    stats = {"total": len(pairs), "skipped": len(done), "generated": 0, "completion_tokens": 0,
             "prompt_tokens": 0, "length_stops": 0, "repetition_stops": 0,
             "warnings": 0, "seconds": 0.0, "redone": 0, "redone_differ": 0}
    if all((jobs[j].key, s) in done for j, s in pairs):
        return stats
    try:
        engine = open_engine()
    except KeyboardInterrupt:
        raise WizardCoderError(f"interrupted while loading the model: {len(done)} of {stats['total']} samples in "
                               f"{output}; rerun with --resume to finish") from None
    if engine.setup and show_progress:  # -q: only the result line (or the error)
        console.print(f"{escape(engine.name)}: {escape(engine.setup)}", highlight=False, soft_wrap=True)
    start = time.perf_counter()
    with engine:
        schedule = _schedule(engine, reproducible, old_schedule, n_samples)
        computed = engine.prompt_computed
        if reproducible and done and old_schedule is None and schedule is not None:
            console.print(f"[yellow]warning:[/yellow] {escape(str(output))} was started without reproducible batches: it is "
                          "finished the same way, so its answers may differ from an uninterrupted run's",
                          highlight=False, soft_wrap=True)
            schedule = None
        if reproducible and done and schedule != old_schedule:
            raise WizardCoderError(
                f"{output} was started with {_describe(old_schedule)}, this run would use {_describe(schedule)}: the "
                "answers would not equal an uninterrupted run's. Resume with the same --parallel / --batch-size, "
                "or without reproducible batches (generate --no-reproducible), or --overwrite")
        atomic_write_json(meta_path, {**meta, _SCHEDULE: schedule} if schedule else meta)
        calls = plan_calls(pairs, {(j, s) for j, s in pairs if (jobs[j].key, s) in done},
                           schedule["chunk"] if schedule else None)
        with output.open("w" if overwrite else "a", encoding="utf-8") as out, make_progress(console, show_progress) as progress:
            bar = progress.add_task(description, total=sum(map(len, calls)), note="", visible=show_progress)
            call = calls[0]
            try:
                for call in calls:
                    requests = [_with_seed(jobs[j].request, _seed(params, j, s)) for j, s in call]
                    for i, comp in engine.generate(requests, params):
                        j, s = call[i]
                        job = jobs[j]
                        if (job.key, s) in done:  # regenerated with the rest of its chunk; written before
                            stats["redone"] += 1
                            stats["redone_differ"] += comp.text != done[(job.key, s)]
                            progress.update(bar, advance=1)
                            continue
                        row = {**job.fields, "completion_id": s, "response": comp.text,
                               "finish_reason": comp.finish_reason, "prompt_tokens": comp.prompt_tokens,
                               "completion_tokens": comp.completion_tokens}
                        if "task_id" not in job.fields and "id" not in job.fields:
                            row = {"id": job.key, **row}
                        if comp.warnings:
                            row["warnings"] = comp.warnings
                            stats["warnings"] += 1
                            for w in comp.warnings:
                                console.print(f"[yellow]warning:[/yellow] {escape(f'{job.key}: {w}')}", highlight=False)
                        out.write(json.dumps(row, ensure_ascii=False) + "\n")
                        out.flush()
                        stats["generated"] += 1
                        stats["completion_tokens"] += comp.completion_tokens
                        stats["prompt_tokens"] += comp.prompt_tokens
                        stats["length_stops"] += comp.finish_reason == "length"
                        stats["repetition_stops"] += comp.finish_reason == "repetition"
                        elapsed = time.perf_counter() - start
                        progress.update(bar, advance=1,
                                        note=f"{stats['completion_tokens'] / max(elapsed, 1e-9):.0f} tok/s")
            except PromptTooLong as exc:
                j, _ = call[exc.index]
                raise WizardCoderError(f"prompt {jobs[j].key!r}: {exc.detail}") from None
            except KeyboardInterrupt:
                n = stats["skipped"] + stats["generated"]
                raise WizardCoderError(f"interrupted: {n} of {stats['total']} samples kept in {output}; "
                                       "rerun with --resume to finish") from None
            finally:
                stats["seconds"] = round(time.perf_counter() - start, 3)
                if computed is not None and engine.prompt_computed is not None:  # shared prompts once; redone rows too
                    stats["prompt_tokens_computed"] = engine.prompt_computed - computed
    if stats["redone"]:
        console.print(f"regenerated {stats['redone']} answers kept from before with their batch (not written again)"
                      + (f"; [yellow]{stats['redone_differ']} differ from the kept ones[/yellow]: this engine or "
                         "machine does not repeat its outputs exactly" if stats["redone_differ"] else
                         ": all equal to the kept ones"), highlight=False, soft_wrap=True)
    return stats


def _with_seed(request: Request, seed: int | None) -> Request:
    return request if seed is None else dataclasses.replace(request, seed=seed)

