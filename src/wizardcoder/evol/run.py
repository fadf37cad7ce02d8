"""One ``wizardcoder evolve`` job: seeds -> run state -> rounds against the teacher -> dataset files."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from wizardcoder import outlock
from wizardcoder.engines.spec import EngineSpec
from wizardcoder.errors import WizardCoderError
from wizardcoder.evol.config import EvolveJob
from wizardcoder.evol.export import ALPACA_FILE, DATA_FILE, ELIMINATED_FILE, REMOVED_FILE, ExportSummary, export
from wizardcoder.evol.limits import RateLimiter, RetryPolicy
from wizardcoder.evol.pipeline import Evolver, RunCounts
from wizardcoder.evol.seeds import SeedFile, read_seeds
from wizardcoder.evol.state import STATE_FILE, Row, Store, open_store, seed_id
from wizardcoder.evol.teacher import Backend, EngineBackend, OpenAIBackend, TeacherClient
from wizardcoder.jsonl import atomic_write_json
from wizardcoder.progress import make_progress
from wizardcoder.settings import record

RUN_FILE = "run.json"
# Settings a resumed run must share with the run it continues (rounds may grow).
_FIXED = ("teacher", "prompt_format", "methods", "seed", "sampling", "rules")




@dataclass
class EvolveResult:
    counts: RunCounts
    export: ExportSummary
    seeds: int
    skipped_seeds: list[str]


def _fingerprint(job: EvolveJob, teacher_name: str) -> dict[str, Any]:
    cfg = job.config
    return json.loads(json.dumps({
        "teacher": teacher_name, "prompt_format": cfg.prompt_format, "methods": [list(m) for m in cfg.methods],
        "seed": cfg.seed, "sampling": record(cfg.sampling), "rules": sorted(cfg.filters.rules),
        "rounds": cfg.rounds}))  # as stored: tuples become lists


def _check_dir(job: EvolveJob) -> None:
    """Refuse what would mix runs; nothing is changed yet."""
    state = job.output / STATE_FILE
    if state.exists() and not (job.resume or job.overwrite):
        raise WizardCoderError(f"{job.output} holds a run already ({STATE_FILE}); --resume continues it, "
                               "--overwrite starts over")
    if not state.exists() and job.seeds is None:
        raise WizardCoderError("a new run needs --seeds FILE")
    if job.output.exists() and not job.output.is_dir():
        raise WizardCoderError(f"{job.output}: not a directory")


def _clear_dir(job: EvolveJob) -> None:
    """--overwrite: the earlier run goes, once everything the new one needs has been read and checked."""
    if (job.output / STATE_FILE).exists() and job.overwrite:
        for name in (STATE_FILE, f"{STATE_FILE}-wal", f"{STATE_FILE}-shm", RUN_FILE, DATA_FILE, ALPACA_FILE,
                     ELIMINATED_FILE, REMOVED_FILE, "stats.png"):
            (job.output / name).unlink(missing_ok=True)


def _load_seeds(job: EvolveJob, store: Store, fingerprint: dict[str, Any], seeds: SeedFile | None
                ) -> tuple[int, list[str]]:
    """Fill a new run with its seeds, or check a resumed run's settings; returns (seeds, skipped)."""
    if store.count_seeds():
        old = store.get_meta("config") or {}
        for key in _FIXED:
            if old.get(key) != fingerprint[key]:
                raise WizardCoderError(f"{job.output}: --resume with a different {key} ({old.get(key)!r} in the run, "
                                       f"{fingerprint[key]!r} now); use the run's settings or --overwrite")
        if job.seeds is not None:
            digest = hashlib.sha256(job.seeds.read_bytes()).hexdigest()
            if digest != (store.get_meta("seeds") or {}).get("sha256"):
                raise WizardCoderError(f"{job.seeds}: not the seeds file this run started from")
        store.set_meta("config", fingerprint)
        return store.count_seeds(), []
    if job.seeds is None:
        raise WizardCoderError(f"{job.output}: the run was stopped before its seeds were stored; give --seeds again")
    seeds = seeds or read_seeds(job.seeds, lenient=job.lenient, limit=job.limit)
    store.set_meta("seeds", {"file": str(job.seeds), "sha256": hashlib.sha256(job.seeds.read_bytes()).hexdigest(),
                             "rows": len(seeds.seeds), "skipped": seeds.skipped})
    store.set_meta("config", fingerprint)
    store.add_seeds(Row(seed_id(i), i, 0, s.instruction, s.input, s.output, source_line=s.line)
                    for i, s in enumerate(seeds.seeds))
    return len(seeds.seeds), seeds.skipped


def _backend(job: EvolveJob, ref: Any) -> Backend:
    args = job.teacher
    if args.engine_for(ref) == "openai":
        base_url = args.base_url or os.environ.get("OPENAI_BASE_URL")
        if not base_url:
            raise WizardCoderError("the openai engine needs --base-url (or OPENAI_BASE_URL)")
        key = os.environ.get(args.api_key_env) or "EMPTY"
        return OpenAIBackend(ref, base_url, key, args.timeout)
    return EngineBackend(args.open(ref), batch=args.parallel)


def teacher_format(args: EngineSpec) -> str:
    """Teachers are chat models unless the registry knows better (a WizardCoder gets the card's format)."""
    if args.prompt_format.value != "auto":
        return args.prompt_format.value
    ref = args.resolve()
    return ref.card.prompt_format if ref.card is not None else "chat"


class _Progress:
    def __init__(self, console: Console, store: Store, rounds: int, seeds: int) -> None:
        self.progress = make_progress(console)
        done = dict(store.db.execute("SELECT round, COUNT(*) FROM rows WHERE round > 0 GROUP BY round").fetchall())
        acc = dict(store.db.execute(
            "SELECT round, COUNT(*) FROM rows WHERE status = 'accepted' GROUP BY round").fetchall())
        ans = dict(store.db.execute("SELECT round, COUNT(*) FROM rows WHERE round > 0 AND output != '' GROUP BY round"))
        self.base_done, self.base_acc, self.base_ans = done, acc, ans
        self.tasks = {r: self.progress.add_task(f"round {r}", total=seeds, completed=done.get(r, 0), note="")
                      for r in range(1, rounds + 1)}
        self.teacher = self.progress.add_task("teacher", total=None, note="")
        for r in self.tasks:
            self._note(r, RunCounts())

    def _note(self, rnd: int, counts: RunCounts) -> None:
        done = self.base_done.get(rnd, 0) + counts.decided[rnd]
        acc = self.base_acc.get(rnd, 0) + counts.accepted[rnd]
        ans = self.base_ans.get(rnd, 0) + counts.answered[rnd]
        self.progress.update(self.tasks[rnd], completed=done,
                             note=f"{ans} answered [green]{acc} accepted[/] [red]{done - acc} eliminated[/]")

    def event(self, row: Row | None, counts: RunCounts) -> None:
        if row is not None:
            self._note(row.round, counts)
        errors = sum(counts.errors.values())
        self.progress.update(self.teacher, completed=counts.requests,
                             note=f"{counts.tokens:,} tokens · {errors} retried errors · {counts.reused} reused"
                                  + (f" · [yellow]{counts.unfinished} unfinished[/]" if counts.unfinished else ""))


async def _evolve(job: EvolveJob, store: Store, backend: Backend, console: Console | None, seeds: int) -> RunCounts:
    client = TeacherClient(backend, RetryPolicy(retries=job.teacher.retries, base=job.backoff),
                           RateLimiter(job.rpm, job.tpm), max_consecutive_failures=job.max_failures, seed=job.config.seed)
    progress = _Progress(console, store, job.config.rounds, seeds) if console is not None else None
    evolver = Evolver(store, client, job.config, on_event=progress.event if progress else None)
    try:
        if progress:
            progress.progress.start()
        return await evolver.run()
    except BaseExceptionGroup as group:  # a worker's error (the TaskGroup cancelled the others)
        errors = group.subgroup(WizardCoderError)
        if errors is not None:
            raise errors.exceptions[0] from None
        raise
    finally:
        if progress:
            progress.progress.stop()
        await client.aclose()


def run_evolve(job: EvolveJob, console: Console | None = None) -> EvolveResult:
    """Run (or continue) the job to the end, then write the dataset files. The run directory is
    locked meanwhile: a second writer is refused (``outlock``)."""
    if job.output.exists() and not job.output.is_dir():
        raise WizardCoderError(f"{job.output}: not a directory")
    fresh = job.overwrite or not (job.output / STATE_FILE).exists()
    seeds = read_seeds(job.seeds, lenient=job.lenient, limit=job.limit) if fresh and job.seeds else None
    with outlock.hold(job.output):
        return _run_evolve(job, console, seeds)


def _run_evolve(job: EvolveJob, console: Console | None, seeds_read: SeedFile | None) -> EvolveResult:
    from wizardcoder.evol.decontam import BENCHMARKS, MULTIPLE, Decontaminator

    _check_dir(job)
    decon = None
    if job.decontaminate:  # before any teacher call: a missing benchmark file should not cost a run
        try:
            decon = Decontaminator.from_benchmarks(BENCHMARKS + (MULTIPLE if job.decontam_multiple else ()),
                                                   n=job.decontam_ngram, paths=job.benchmark_paths)
        except WizardCoderError as exc:
            raise WizardCoderError(f"{exc} (evolve: --benchmark-path NAME=FILE, or --no-decontam)") from None
    ref = job.teacher.resolve()  # an unknown teacher fails here; loading it waits until the seeds are checked
    _clear_dir(job)
    store = open_store(job.output)
    try:
        fingerprint = _fingerprint(job, ref.location)
        seeds, skipped = _load_seeds(job, store, fingerprint, seeds_read)
        atomic_write_json(job.output / RUN_FILE, {**fingerprint, "seeds": store.get_meta("seeds")})
        backend = _backend(job, ref)
        try:
            counts = asyncio.run(_evolve(job, store, backend, console, seeds))
        except KeyboardInterrupt:
            raise WizardCoderError(f"interrupted; finished work is kept in {job.output / STATE_FILE}: "
                                   "run again with --resume to continue") from None
        summary = export(store, job.output, decon, job.dedup_threshold)
        return EvolveResult(counts, summary, seeds, skipped)
    finally:
        store.close()


def summary_table(result: EvolveResult, rounds: int) -> Table:
    table = Table(title="evolve", show_header=False)
    c, e = result.counts, result.export
    table.add_row("seeds", str(result.seeds) + (f" ({len(result.skipped_seeds)} bad rows skipped)"
                                                 if result.skipped_seeds else ""))
    for r in range(1, rounds + 1):
        if c.decided[r]:
            table.add_row(f"round {r} (this run)", f"{c.decided[r]} decided, {c.accepted[r]} accepted")
    if c.reasons:
        table.add_row("eliminated (this run)", ", ".join(f"{k} {v}" for k, v in c.reasons.most_common()))
    table.add_row("teacher requests (this run)", f"{c.requests} sent, {c.reused} reused from the state, "
                                                 f"{c.failed} failed, {c.tokens:,} tokens")
    if c.errors:
        table.add_row("retried errors", ", ".join(f"{k} {v}" for k, v in c.errors.most_common())
                      + (f" (last: {escape(c.last_error)})" if c.last_error else ""))
    table.add_row("dataset", f"{e.rows} rows ({e.seeds} seeds + {e.evolved} evolved)")
    if e.removed:
        table.add_row("removed", ", ".join(f"{k} {v}" for k, v in e.removed.most_common()))
    if c.unfinished:
        table.add_row("[yellow]unfinished[/]", f"{c.unfinished} pool slots: the teacher kept failing; "
                                               "--resume retries them")
    return table

