"""samples -> sandbox -> verdicts -> results.jsonl + summary.json.

Results are appended one row per sample as verdicts arrive, so an interrupted run keeps what
it finished; ``resume`` reuses those rows. ``summary.json`` is written (atomically) only when
every sample has a verdict: its presence means the run is complete.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import json
import os
import signal
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.progress import Progress

from wizardcoder import __version__, outlock
from wizardcoder.errors import WizardCoderError
from wizardcoder.harness.checker import PASS, TimeSettings, Verdict, check_io, check_script
from wizardcoder.harness.datasets import ALIASES, BENCHMARKS, Dataset, canonical_name, load_dataset
from wizardcoder.harness.expected import Expected, expected_outputs
from wizardcoder.harness.metrics import mean_pass_at_k
from wizardcoder.harness.samples import CANONICAL, Sample, canonical_samples, load_samples
from wizardcoder.jsonl import atomic_write_json, atomic_write_jsonl, read_json, read_jsonl_tolerant
from wizardcoder.progress import make_progress
from wizardcoder.sandbox.sandbox import Limits, Sandbox
from wizardcoder.settings import check_choice, check_number, setting

if TYPE_CHECKING:
    from wizardcoder.harness.ds1000 import LibrarySandboxes
    from wizardcoder.harness.multiple import Prepared
    from wizardcoder.harness.pyenv import PythonEnv

RESULTS, SUMMARY, MANIFEST = "results.jsonl", "summary.json", "run.json"


@dataclass
class EvalConfig:
    """One evaluation's settings: ``wizardcoder eval``'s flags and ``wizardcoder.evaluate``'s keywords."""

    benchmark: str = setting(dataclasses.MISSING, "--benchmark", "-b", choices=(*BENCHMARKS, *ALIASES),
                             help="Which benchmark (MultiPL-E: humaneval-<lang>, mbpp-<lang>, or multiple-<lang>).")
    samples: str = setting(CANONICAL, cli=False, help="Samples JSONL, or 'canonical' for the reference solutions.")
    output: Path | None = setting(None, "--output", "-o", help="Output directory (default: "
                                  "wizardcoder-results/<benchmark>/<samples name or model>).")
    dataset_path: str | None = setting(None, help="A local copy of the benchmark file (.jsonl or .jsonl.gz), "
                                       "for offline use.")
    dataset_version: str | None = setting(None, help="Dataset release (default: the pinned one).")
    postprocess: str = setting("wizardcoder", choices=("wizardcoder", "evalplus", "none"),
                               help="How 'response' rows become code.")
    workers: int = setting(None, ge=1, integer=True, help="Samples run in parallel (default: CPU count).",
                           default_factory=lambda: os.cpu_count() or 1)
    time: TimeSettings = setting(None, cli=False, default_factory=TimeSettings)
    limits: Limits = setting(None, cli=False, default_factory=Limits)
    resume: bool = setting(False, "--resume", help="Keep finished rows of an interrupted run.")
    overwrite: bool = setting(False, "--overwrite", help="Discard earlier results in the output directory.")
    partial: bool = setting(False, "--partial", help="Allow samples for only some of the tasks.")
    dedup: bool = setting(True, "--dedup/--no-dedup", help="--no-dedup: run identical programs of a task separately.")
    label: str | None = setting(None, help="Name shown in tables (default: the samples file name).")

    def __post_init__(self) -> None:
        self.benchmark = canonical_name(self.benchmark)
        check_number("workers", self.workers, ge=1, integer=True)
        check_choice("postprocess", self.postprocess, ("wizardcoder", "evalplus", "none"))
        if self.resume and self.overwrite:
            raise WizardCoderError("--resume and --overwrite exclude each other")

    def output_dir(self) -> Path:
        if self.output is not None:
            return Path(self.output)
        stem = CANONICAL if self.samples == CANONICAL else Path(self.samples).name.removesuffix(".gz").removesuffix(".jsonl")
        return Path("wizardcoder-results") / self.benchmark.replace("+", "plus") / stem


def _manifest(cfg: EvalConfig, dataset: Dataset, samples_md5: str) -> dict[str, Any]:
    return {
        "benchmark": cfg.benchmark,
        "dataset_md5": dataset.md5,
        "samples": str(cfg.samples),
        "samples_md5": samples_md5,
        "postprocess": cfg.postprocess,
        "time": asdict(cfg.time),
    }


def _finished(out: Path, manifest: dict[str, Any]) -> dict[str, Any] | None:
    """The summary of a complete earlier run of the same job, if there is one: the manifest and the
    summary itself must both name these samples, this dataset and these settings."""
    try:
        if read_json(out / MANIFEST) != manifest:
            return None
        summary = read_json(out / SUMMARY)
    except WizardCoderError:
        return None
    if not isinstance(summary, dict) or any(summary.get(k) != manifest[k] for k in ("benchmark", "dataset_md5",
                                                                                     "samples_md5", "postprocess")):
        return None
    if summary.get("settings", {}).get("time") != manifest["time"]:
        return None
    return summary


def _prepare_output(out: Path, cfg: EvalConfig, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """Make ``out`` ready; return the rows a resumed run can keep."""
    results, summary, man = out / RESULTS, out / SUMMARY, out / MANIFEST
    existing = results.exists() or summary.exists()
    if existing and not (cfg.resume or cfg.overwrite):
        raise WizardCoderError(
            f"{out}: holds results already; pass --resume to continue them or --overwrite to start over"
        )
    rows: list[dict[str, Any]] = []
    if existing and cfg.resume:
        try:
            old = read_json(man) if man.exists() else None
        except WizardCoderError:
            old = None
        if old != manifest:
            changed = sorted(k for k in manifest if not isinstance(old, dict) or old.get(k) != manifest[k])
            raise WizardCoderError(
                f"{man}: cannot resume: the run differs in {', '.join(changed) or 'its manifest'}; "
                f"use --overwrite or another --output"
            )
        rows = read_jsonl_tolerant(results)
    out.mkdir(parents=True, exist_ok=True)
    summary.unlink(missing_ok=True)
    atomic_write_json(man, manifest)
    atomic_write_jsonl(results, rows)  # drops a torn last line before we append
    return rows


def _summary(
    cfg: EvalConfig, dataset: Dataset, rows: list[dict[str, Any]], samples_md5: str, extra: dict[str, Any]
) -> dict[str, Any]:
    by_task: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        by_task[r["task_id"]].append(r)
    totals = [len(v) for v in by_task.values()]
    base_ok = [sum(r["base_status"] == PASS for r in v) for v in by_task.values()]
    summary: dict[str, Any] = {
        "benchmark": cfg.benchmark,
        "label": cfg.label or (CANONICAL if cfg.samples == CANONICAL else Path(cfg.samples).stem),
        "dataset_version": dataset.version,
        "dataset_md5": dataset.md5,
        "dataset_path": dataset.path,
        "samples": str(cfg.samples),
        "samples_md5": samples_md5,
        "postprocess": cfg.postprocess,
        "n_tasks": len(by_task),
        "n_dataset_tasks": len(dataset.tasks),
        "n_samples": len(rows),
        "base": mean_pass_at_k(totals, base_ok),
        "base_status": dict(Counter(r["base_status"] for r in rows)),
    }
    if dataset.spec.has_plus:
        plus_ok = [sum(r["base_status"] == PASS and r["plus_status"] == PASS for r in v) for v in by_task.values()]
        summary["plus"] = mean_pass_at_k(totals, plus_ok)
        summary["plus_status"] = dict(Counter(r["plus_status"] for r in rows))
    if dataset.spec.kind == "ds1000":
        summary["ds1000"] = _breakdown(dataset, by_task)
    summary.update(extra)
    if dataset.spec.kind == "ds1000":
        from wizardcoder.harness.ds1000 import sized_limits

        limits = sized_limits(cfg.limits)
    else:
        limits = cfg.limits
    summary["settings"] = {"time": asdict(cfg.time), "memory_bytes": limits.memory_bytes,
                           "workers": cfg.workers, "dedup": cfg.dedup}
    summary["wizardcoder_version"] = __version__
    summary["created"] = _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")
    return summary


def _breakdown(dataset: Dataset, by_task: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """DS-1000's official summary: pass@1 per library and per perturbation type (mean over problems)."""
    out: dict[str, Any] = {}
    for field, key in (("library", lambda t: t.library), ("perturbation", lambda t: t.perturbation)):
        groups: dict[str, list[float]] = defaultdict(list)
        for tid, rows in by_task.items():
            groups[key(dataset.tasks[tid])].append(sum(r["base_status"] == PASS for r in rows) / len(rows))
        out[field] = {name: {"n": len(v), "pass@1": sum(v) / len(v)}
                      for name, v in sorted(groups.items())}
    return out


@contextlib.contextmanager
def _abort_on_sigint(sandbox: Sandbox | LibrarySandboxes) -> Iterator[None]:
    """Ctrl-C kills the running samples at once, then interrupts the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        sandbox.abort()
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def evaluate(cfg: EvalConfig, console: Console | None = None, show_progress: bool = True) -> dict[str, Any]:
    """Score a samples file on one benchmark; returns the summary (also written to disk). The output
    directory is locked for the whole run: a second writer is refused (``outlock``)."""
    t0 = time.monotonic()
    dataset = load_dataset(cfg.benchmark, cfg.dataset_path, cfg.dataset_version)
    if cfg.samples == CANONICAL:
        samples, samples_md5 = canonical_samples(dataset), CANONICAL
    else:
        samples, samples_md5 = load_samples(Path(cfg.samples), dataset, cfg.postprocess)
    if dataset.spec.kind == "multiple":
        from wizardcoder.harness.multiple import LANGUAGES, missing_toolchain

        lang = next(iter(dataset.tasks.values())).language
        if lang not in LANGUAGES:
            raise WizardCoderError(f"{cfg.benchmark}: running {lang} programs is not supported yet "
                                   f"(supported: {', '.join(LANGUAGES)})")
        if (why := missing_toolchain(LANGUAGES[lang])) is not None:
            raise WizardCoderError(f"{cfg.benchmark}: {why}")
    covered = {s.task_id for s in samples}
    if len(covered) < len(dataset.tasks) and not cfg.partial:
        raise WizardCoderError(
            f"{cfg.samples}: samples cover {len(covered)} of {len(dataset.tasks)} {cfg.benchmark} tasks; "
            f"pass --partial to score only those"
        )
    env = None
    if dataset.spec.kind == "ds1000":  # after the input checks: making it takes minutes the first time
        env = _ds1000_env(console or Console(stderr=True), show_progress)
    with outlock.hold(cfg.output_dir()):  # after the checks: bad input leaves no output behind
        return _evaluate(cfg, console or Console(stderr=True), show_progress, dataset, samples, samples_md5, t0, env)


def _ds1000_env(console: Console, show_progress: bool) -> PythonEnv:
    """DS-1000's environment, made on first use with a live line of what pip does."""
    from wizardcoder.harness.pyenv import DS1000_ENV, ensure

    if not show_progress:
        return ensure(DS1000_ENV)
    with console.status("DS-1000 environment") as status:
        return ensure(DS1000_ENV, log=console.print,
                      on_line=lambda line: status.update(f"DS-1000 environment: {line[:100]}"))


def _evaluate(cfg: EvalConfig, console: Console, show_progress: bool, dataset: Dataset, samples: list[Sample],
              samples_md5: str, t0: float, env: PythonEnv | None = None) -> dict[str, Any]:
    out = cfg.output_dir()
    manifest = _manifest(cfg, dataset, samples_md5)
    if env is not None:  # other library versions may give other verdicts: not the same run
        manifest["environment"] = env.versions
    if (finished := _finished(out, manifest)) is not None and not cfg.overwrite:
        console.print(f"{out}: already evaluated with these samples and settings (--overwrite to redo)")
        finished["output_dir"] = str(out)
        return finished
    kept = _prepare_output(out, cfg, manifest)
    done = {(r["task_id"], r["index"]) for r in kept}
    pending = [s for s in samples if (s.task_id, s.index) not in done]
    rows = list(kept)
    io = dataset.spec.kind == "io"
    family = cfg.benchmark.rstrip("+")
    extra: dict[str, Any] = {}
    if finishes := Counter(s.finish_reason for s in samples if s.finish_reason):
        extra["finish_reasons"] = dict(finishes)  # how the answers ended: length, repetition, stop

    prepared = None
    if dataset.spec.kind == "multiple" and pending:
        from wizardcoder.harness.multiple import LANGUAGES, prepare

        prepared = prepare(LANGUAGES[next(iter(dataset.tasks.values())).language],
                           log=console.print if show_progress else None)
        if prepared.note:
            extra["prepared"] = prepared.note
    share = prepared.share if prepared is not None else ()
    if env is not None:
        from wizardcoder.harness.ds1000 import open_sandbox
        from wizardcoder.harness.pyenv import DS1000_ENV

        opened: Sandbox | LibrarySandboxes = open_sandbox(
            env, (dataset.tasks[tid] for tid in {s.task_id for s in pending}), cfg.limits)
        extra["environment"] = {"python": env.python, "versions": env.versions,
                                "differs_from_official": env.differences(DS1000_ENV),
                                **({"data_missing": env.data_missing} if env.data_missing else {})}
    else:
        opened = Sandbox(cfg.limits, share=share)
    with opened as sandbox, make_progress(console, show_progress) as progress, \
            _abort_on_sigint(sandbox):
        extra["sandbox"] = {"isolation": cfg.limits.isolation, **sandbox.ensure_started()}
        missing = [k for k, v in extra["sandbox"].items() if v is False]
        if missing and show_progress:
            console.print(f"[yellow]sandbox: not available here: {', '.join(missing)} (docs/sandbox.md)[/]")
        try:
            expected: dict[str, Expected] = {}
            if io and pending:
                assert isinstance(sandbox, Sandbox)
                needed = {s.task_id for s in pending}
                bar = progress.add_task("expected outputs", total=len(needed), note="")
                expected, computed = expected_outputs(
                    dataset, sandbox, cfg.workers, needed, on_task=lambda _t: progress.advance(bar)
                )
                progress.update(bar, note=f"{computed} computed, {len(needed) - computed} cached")
                extra["expected_computed"] = computed
            rows.extend(_run(cfg, dataset, pending, expected, sandbox, family, out, progress, prepared))
        except KeyboardInterrupt:
            n = len(read_jsonl_tolerant(out / RESULTS))
            raise WizardCoderError(
                f"interrupted: {n} of {len(samples)} samples have verdicts in {out / RESULTS}; "
                f"rerun with --resume to finish"
            ) from None
    order = {tid: i for i, tid in enumerate(dataset.tasks)}
    rows.sort(key=lambda r: (order.get(r["task_id"], 1 << 30), r["index"]))
    atomic_write_jsonl(out / RESULTS, rows)
    extra["seconds"] = round(time.monotonic() - t0, 2)
    summary = _summary(cfg, dataset, rows, samples_md5, extra)
    atomic_write_json(out / SUMMARY, summary)
    summary["output_dir"] = str(out)
    return summary


def _run(
    cfg: EvalConfig,
    dataset: Dataset,
    pending: list[Sample],
    expected: dict[str, Expected],
    sandbox: Sandbox | LibrarySandboxes,
    family: str,
    out: Path,
    progress: Progress,
    prepared: Prepared | None = None,
) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    if not pending:
        return rows
    with_plus = dataset.spec.has_plus

    def check(sample: Sample) -> Verdict:
        task = dataset.tasks[sample.task_id]
        if dataset.spec.kind == "ds1000":
            from wizardcoder.harness.ds1000 import check_ds1000

            return check_ds1000(sandbox, task, sample.program)
        assert isinstance(sandbox, Sandbox)
        if dataset.spec.kind == "io":
            return check_io(sandbox, task, sample.program, expected[task.task_id], family, cfg.time, with_plus)
        if dataset.spec.kind == "multiple":
            from wizardcoder.harness.multiple import check_multiple

            return check_multiple(sandbox, task, sample.program, prepared)
        return check_script(sandbox, task, sample.program, cfg.time)

    # Identical programs for the same task get one run (common with low-temperature sampling).
    groups: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for s in pending:
        key = (s.task_id, s.program) if cfg.dedup else (s.task_id, f"{s.index}\0{s.program}")
        groups[key].append(s)
    # Programs of slow tasks first, so that no core idles on a long tail.
    def weight(item: tuple[tuple[str, str], list[Sample]]) -> float:
        e = expected.get(item[0][0])
        return -(sum(e.base_time) + sum(e.plus_time)) if e is not None else 0.0

    todo = sorted(groups.items(), key=weight)
    bar = progress.add_task(f"{cfg.benchmark} samples", total=len(pending), note="")
    passed = 0
    with open(out / RESULTS, "a", encoding="utf-8") as fh, ThreadPoolExecutor(max_workers=cfg.workers) as pool:
        futures: dict[Future[Verdict], list[Sample]] = {}
        it = iter(todo)
        try:
            for _ in range(cfg.workers * 2):  # a bounded queue: Ctrl-C leaves little to cancel
                if (item := next(it, None)) is not None:
                    futures[pool.submit(check, item[1][0])] = item[1]
            while futures:
                finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                for fut in finished:
                    group = futures.pop(fut)
                    verdict = fut.result()
                    for s in group:
                        row = {"task_id": s.task_id, "index": s.index, "source": s.source, **verdict.row(),
                               "solution": s.program}
                        if not with_plus:
                            row.pop("plus_status")
                        if (task := dataset.tasks[s.task_id]).library:  # DS-1000: what its tables group by
                            row["library"], row["perturbation"] = task.library, task.perturbation
                        fh.write(json.dumps(row, ensure_ascii=False) + "\n")
                        rows.append(row)
                        passed += verdict.base_status == PASS and (not with_plus or verdict.plus_status == PASS)
                    fh.flush()
                    progress.update(bar, advance=len(group), note=f"{passed} pass")
                    if (item := next(it, None)) is not None:
                        futures[pool.submit(check, item[1][0])] = item[1]
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
    return rows
