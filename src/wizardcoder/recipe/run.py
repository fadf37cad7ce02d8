"""Running a recipe: every stage in order, each skipped when finished, continued when stopped.

Invariants:
- ``DIR`` is locked for the whole run (``wizardcoder.outlock``): a second ``recipe run`` on it is refused.
- Before any stage runs: the recipe is checked (``spec.load``), the warnings are said, and
  ``DIR/recipe.resolved.yaml`` and ``DIR/run.json`` (versions, seeds and data sha256, base model and
  teacher locations and sha256, stage fingerprints) are written. A base model is fingerprinted by its
  name (the stages of a model file replaced in place are not redone); its sha256 is recorded.
- ``arms=`` runs only those arms' stages and the stages they read (``stages.select``); results.json and
  the report still show every finished stage, the others as pending.
- Paths inside ``DIR`` are recorded in ``stage.json`` relative to ``DIR`` (``PATH_KEYS``) and read back
  against it: a run directory can be moved, or run from another working directory, and continue.
- A stage with a ``stage.json`` is skipped; a stage directory without one is continued with its job's
  own resume (generate / evolve / train / eval ``resume=True``), so a kill at any moment and the same
  command give the result of an uninterrupted run. ``stage.json`` is written atomically, last.
- A failing stage stops the recipe with one line naming the stage; finished stages stay.
- A train stage records its weights' sha256 (the GGUF, else the model's top-level weight files). When
  a finished train stage's weights are gone (a run dir kept without its multi-GB models, carried to
  another machine) and a stage still to run reads them, it is trained again in place and must give
  the same sha256, or the recipe stops with one line: evaluations already made stay the recorded
  model's, never a mix of two models.
- ``DIR/results.json`` collects each arm x benchmark's pass@1 from the eval stages, rewritten at the end,
  then the report (``DIR/report.html``, ``report.md``, ``report/``; :mod:`wizardcoder.recipe.report`).

What each arm trains on (``seed_answers: teacher``, the default): ``seeds``: the seed instructions
(first ``evolve.limit``) with the teacher's answers (stage answer-seeds); ``evolved``: evolve's
export (seeds + accepted evolutions, deduplicated, decontaminated as set), where evolve ran on the
teacher-answered seeds, so every row's answer is the teacher's; ``seeds-matched``: the first M seed
rows of the seeds file with the teacher's answers, M = the evolved set's rows (stage answer-matched).
With ``seed_answers: original`` the seed rows keep the seeds file's answers (evolve's own rule).
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from wizardcoder import outlock
from wizardcoder.engines.spec import EngineSpec
from wizardcoder.errors import WizardCoderError
from wizardcoder.jsonl import atomic_write_json, atomic_write_jsonl, atomic_write_text, read_json_object
from wizardcoder.recipe.spec import Recipe, load
from wizardcoder.recipe.stages import (
    STAGE_FILE,
    Plan,
    Stage,
    count_rows,
    file_sha256,
    make_plan,
    plain,
    scaled_batch,
)

RESULTS = "results.json"
PATH_KEYS = ("data", "model", "gguf", "samples", "summary", "results")  # stage results that name files
RESOLVED = "recipe.resolved.yaml"
RUN_RECORD = "run.json"
VERSIONED = ("wizardcoder", "torch", "transformers", "trl", "peft", "accelerate", "datasets", "llama_cpp_python",
             "evalplus", "pyyaml")


@dataclass(frozen=True)
class StageResult:
    name: str
    directory: Path
    skipped: bool  # finished by an earlier run
    seconds: float
    result: dict[str, Any]


@dataclass(frozen=True)
class RecipeResult:
    output: Path
    stages: list[StageResult]
    results: dict[str, Any]  # DIR/results.json
    warnings: list[str]
    report: Path | None = None  # DIR/report.html
    pending: list[str] = dataclasses.field(default_factory=list)  # stages not run (not among the chosen arms')

    @property
    def ran(self) -> int:
        return sum(1 for s in self.stages if not s.skipped)

    def pass_at_1(self, arm: str, benchmark: str) -> float | None:
        return self.results["arms"].get(arm, {}).get(benchmark, {}).get("pass@1")


def recipe_plan(path: str | Path, output: str | Path, *, arms: list[str] | None = None) -> Plan:
    """The stages of the recipe at ``path`` for ``output``: fingerprints, done / to run; runs nothing."""
    return make_plan(load(path), Path(output), arms)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": sys.version.split()[0]}
    for name in VERSIONED:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def _location(spec: EngineSpec) -> str:
    try:
        return str(spec.resolve().location)
    except Exception as exc:  # a hub id offline, say: record why, the run itself will say more
        return f"unresolved ({exc})"


HASH_DIR_LIMIT = 4 << 30  # a model directory larger than this is recorded by its files' sizes, not hashed


def model_hash(spec: EngineSpec) -> str | None:
    """What a run records of a model's bytes: the sha256 of a GGUF file (a pulled model's is its verified
    registry hash), one sha256 over a model directory's files up to HASH_DIR_LIMIT; None for hub ids,
    servers and built-in stand-ins (their revision is the hub's or the server's to say)."""
    try:
        ref = spec.resolve()
    except Exception:
        return None
    if ref.kind == "gguf":
        from wizardcoder.engines.pull import find_pullable

        pulled = find_pullable(ref.spec)
        return pulled.sha256 if pulled is not None else file_sha256(Path(ref.location))
    if ref.kind != "dir":
        return None
    files = sorted(p for p in Path(ref.location).rglob("*") if p.is_file() and not p.name.startswith("."))
    total = sum(p.stat().st_size for p in files)
    if total > HASH_DIR_LIMIT:
        return f"not hashed ({total / 2**30:.1f} GiB in {len(files)} files)"
    h = hashlib.sha256()
    for p in files:
        h.update(f"{p.relative_to(ref.location)}\0{file_sha256(p)}\n".encode())
    return h.hexdigest()


def _record(plan: Plan) -> None:
    import yaml

    recipe, out = plan.recipe, plan.output
    atomic_write_text(out / RESOLVED, yaml.safe_dump(recipe.resolved(), sort_keys=False, allow_unicode=True))
    data = {arm.name: {"data": arm.data, **({"sha256": file_sha256(Path(arm.data))} if arm.data not in
                                             ("none", "seeds", "evolved", "seeds-matched") else {})}
            for arm in recipe.arms}
    atomic_write_json(out / RUN_RECORD, {
        "recipe": str(recipe.path), "recipe_sha256": file_sha256(recipe.path),
        "seeds": {"file": str(recipe.seeds), "sha256": file_sha256(recipe.seeds)} if recipe.seeds else None,
        "versions": _versions(), "data": data,
        "models": {m: _location(EngineSpec(model=m)) for m in dict.fromkeys(a.model for a in recipe.arms)},
        "model_sha256": {m: model_hash(EngineSpec(model=m)) for m in dict.fromkeys(a.model for a in recipe.arms)},
        "teacher": {"model": recipe.teacher.model, "location": _location(recipe.teacher),
                    "sha256": model_hash(recipe.teacher) if not recipe.teacher.base_url else None,
                    "base_url": recipe.teacher.base_url},
        "stages": [{"name": s.name, "fingerprint": s.fingerprint, "directory": str(s.directory(out))}
                   for s in plan.stages],
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    })


def recipe_run(path: str | Path, output: str | Path, *, arms: list[str] | None = None,
               console: Console | None = None, show_progress: bool = False) -> RecipeResult:
    """Run every stage of the recipe at ``path`` into ``output``, or those of ``arms`` and what they read
    (see the module docstring)."""
    import wizardcoder.evol  # noqa: F401  (registers the dry-run teacher `fake` with the engines)

    recipe = load(path)
    out = Path(output).absolute()
    console = console if console is not None else Console(stderr=True, quiet=not show_progress)
    with outlock.hold(out):
        plan = make_plan(recipe, out, arms)
        for w in plan.warnings:
            console.print(f"[yellow]warning:[/] {w}", highlight=False)
        _record(plan)
        done: dict[str, StageResult] = {}
        pending: list[str] = []
        for stage in plan.stages:
            if stage.name in plan.selected:
                done[stage.name] = _one(stage, recipe, out, done, console, show_progress)
                if stage.kind == "train" and done[stage.name].skipped and _weights_needed(stage, done[stage.name], plan):
                    done[stage.name] = _rebuild(stage, recipe, out, done, console, show_progress)
            elif (stage.directory(out) / STAGE_FILE).is_file():  # finished earlier: in the results all the same
                done[stage.name] = _finished(stage, stage.directory(out))
            else:
                pending.append(stage.name)
        results = _results(recipe, plan.stages, done)
        atomic_write_json(out / RESULTS, results)
        record = read_json_object(out / RUN_RECORD, "the run record")
        record["datasets"] = {s.arm.name: {k: done[s.name].result.get(k) for k in ("data", "data_sha256", "rows")}
                              for s in plan.stages if s.kind == "train" and s.arm is not None and s.name in done}
        if pending:
            record["pending"] = pending
        else:
            record["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        atomic_write_json(out / RUN_RECORD, record)
        from wizardcoder.recipe.report import write_report

        report = write_report(out)
        console.print(f"report: {report.html} ({report.markdown.name}, {len(report.figures)} figures)",
                      highlight=False)
        return RecipeResult(out, list(done.values()), results, plan.warnings, report.html, pending)


def _one(stage: Stage, recipe: Recipe, out: Path, done: dict[str, StageResult], console: Console,
         show_progress: bool) -> StageResult:
    d = stage.directory(out)
    if (d / STAGE_FILE).is_file():
        console.print(f"{stage.name}: done ({d.name})", highlight=False)
        return _finished(stage, d)
    resuming = d.is_dir()
    console.print(f"{stage.name}: {'continuing' if resuming else 'running'} ({d.name})", highlight=False)
    d.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    try:
        runner = {"answer-seeds": _answer_seeds, "evolve": _evolve, "answer-matched": _answer_matched,
                  "train": _train, "eval": _eval}[stage.kind]
        result = runner(stage, recipe, d, done, console, show_progress)
    except WizardCoderError as exc:
        raise WizardCoderError(f"stage {stage.name} ({d}): {exc}") from None
    except OSError as exc:  # a full disk, a read-only path: the user's to fix, named with its stage
        from wizardcoder.errors import describe_os_error

        raise WizardCoderError(f"stage {stage.name} ({d}): {describe_os_error(exc, d)}") from None
    except Exception as exc:  # a bug: its traceback is what a report needs, with the stage named
        exc.add_note(f"in recipe stage {stage.name} ({d})")
        raise
    seconds = time.monotonic() - start
    atomic_write_json(d / STAGE_FILE, {"name": stage.name, "kind": stage.kind, "fingerprint": stage.fingerprint,
                                       "settings": plain(stage.settings), "inputs": stage.inputs,
                                       "seconds": round(seconds, 3), "result": _stored(plain(result), out),
                                       "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    console.print(f"{stage.name}: finished in {seconds:.0f} s", highlight=False)
    return StageResult(stage.name, d, False, seconds, plain(result))


def _weights_needed(stage: Stage, finished: StageResult, plan: Plan) -> bool:
    """Whether a finished train stage's weights are gone while a chosen stage still to run reads them."""
    if _weights(finished.result):
        return False
    return any(stage.name in s.inputs and s.name in plan.selected
               and not (s.directory(plan.output) / STAGE_FILE).is_file() for s in plan.stages)


def _weights(result: dict[str, Any]) -> list[Path]:
    """A train stage's weight files: its GGUF, else the model directory's top-level weights; [] when gone."""
    if result.get("gguf"):
        return [Path(result["gguf"])] if Path(result["gguf"]).is_file() else []
    model = Path(result.get("model", ""))
    return sorted(p for pattern in ("*.safetensors", "*.bin", "adapter/*.safetensors") for p in model.glob(pattern)
                  if p.name != "training_args.bin") if model.is_dir() else []


def weights_sha256(result: dict[str, Any]) -> str | None:
    """One sha256 over a train stage's weight files (names and contents); None when there are none."""
    files = _weights(result)
    if not files:
        return None
    if len(files) == 1:
        return file_sha256(files[0])
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f.name}\0{file_sha256(f)}\n".encode())
    return h.hexdigest()


def _rebuild(stage: Stage, recipe: Recipe, out: Path, done: dict[str, StageResult], console: Console,
             show_progress: bool) -> StageResult:
    """Train a finished stage again whose weights are gone; keep them only if they are the recorded ones."""
    import shutil

    d = stage.directory(out)
    saved = read_json_object(d / STAGE_FILE, "a stage record")
    want = saved.get("result", {}).get("weights_sha256")
    if not want:
        raise WizardCoderError(f"stage {stage.name} ({d}): its weights are gone and its record has no weights_sha256 "
                               f"to check a new training against: remove {d} to train it again")
    console.print(f"{stage.name}: its weights are gone: training again (must give sha256 {want[:12]})",
                  highlight=False)
    shutil.rmtree(d / "model", ignore_errors=True)
    start = time.monotonic()
    try:
        result = _train(stage, recipe, d, done, console, show_progress)
    except WizardCoderError as exc:
        raise WizardCoderError(f"stage {stage.name} ({d}): {exc}") from None
    if result["weights_sha256"] != want:
        shutil.rmtree(d / "model", ignore_errors=True)  # never left where evaluations would read them
        raise WizardCoderError(f"stage {stage.name} ({d}): training again gave other weights (sha256 "
                               f"{str(result['weights_sha256'])[:12]}, recorded {want[:12]}): remove {d} and the "
                               f"stages that read it to train and evaluate again")
    saved.setdefault("rebuilt", []).append({"seconds": round(time.monotonic() - start, 3),
                                            "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())})
    atomic_write_json(d / STAGE_FILE, saved)
    console.print(f"{stage.name}: trained again, the same weights (sha256 {want[:12]})", highlight=False)
    return _finished(stage, d)


def _stored(result: dict[str, Any], out: Path) -> dict[str, Any]:
    """``result`` with its paths inside ``out`` made relative to it (what stage.json holds)."""
    def rel(v: Any) -> Any:
        if isinstance(v, str) and v and Path(v).is_absolute() and Path(v).is_relative_to(out):
            return str(Path(v).relative_to(out))
        return v
    return {k: rel(v) if k in PATH_KEYS else v for k, v in result.items()}


def _loaded(result: dict[str, Any], out: Path) -> dict[str, Any]:
    """A stage.json result with its relative paths read against ``out`` (a record made before paths were
    stored so, relative to the working directory it ran in, is taken as it is when that path exists)."""
    def absolute(v: Any) -> Any:
        if isinstance(v, str) and v and not Path(v).is_absolute():
            return str(out / v) if (out / v).exists() or not Path(v).exists() else str(Path(v).absolute())
        return v
    return {k: absolute(v) if k in PATH_KEYS else v for k, v in result.items()}


def _finished(stage: Stage, d: Path) -> StageResult:
    saved = read_json_object(d / STAGE_FILE, "a stage record")
    out = d.parent.parent  # DIR/stages/NAME-FP12
    return StageResult(stage.name, d, True, float(saved.get("seconds", 0.0)), _loaded(saved.get("result", {}), out))


# -- answering seed instructions with the teacher ------------------------------------------------

def _answer(recipe: Recipe, seeds: list[Any], d: Path, console: Console, show_progress: bool,
            known: dict[str, str] | None = None) -> dict[str, Any]:
    """The teacher's answers to ``seeds`` (as evolve asks for answers: the teacher's sampling, the run's
    seed), into ``d/answered.jsonl`` (instruction, input, output); rows the teacher left empty are dropped.
    ``known``: answers an earlier stage already has (by row id), not asked again."""
    from wizardcoder import api

    known = known or {}
    answers = dict(known)
    todo = [(i, s) for i, s in enumerate(seeds) if f"s{i:06d}" not in known]
    if todo:
        prompts = d / "prompts.jsonl"
        if not prompts.is_file():
            atomic_write_jsonl(prompts, [{"id": f"s{i:06d}", "instruction": s.instruction, "input": s.input or ""}
                                         for i, s in todo])
        raw = d / "answers.raw.jsonl"
        spec = dataclasses.replace(recipe.teacher, seed=recipe.evolve.seed)
        api.generate(prompts, raw, spec, resume=raw.exists(), console=console, show_progress=show_progress)
        answers.update({str(r.get("id")): r.get("response") or "" for r in _jsonl(raw)})
    rows = [{"id": f"s{i:06d}", "instruction": s.instruction, "input": s.input or "",
             "output": answers.get(f"s{i:06d}", "").strip()} for i, s in enumerate(seeds)]
    kept = [r for r in rows if r["output"]]
    atomic_write_jsonl(d / "answered.jsonl", kept)
    return {"data": str(d / "answered.jsonl"), "rows": len(kept), "empty_answers": len(rows) - len(kept),
            "asked": len(todo), "reused": len(seeds) - len(todo), "sha256": file_sha256(d / "answered.jsonl")}


def _jsonl(path: Path) -> list[dict[str, Any]]:
    from wizardcoder.jsonl import read_jsonl_tolerant

    return read_jsonl_tolerant(path)


def _answer_seeds(stage: Stage, recipe: Recipe, d: Path, done: dict[str, StageResult], console: Console,
                  show_progress: bool) -> dict[str, Any]:
    from wizardcoder.evol.seeds import read_seeds

    assert recipe.seeds is not None
    seeds = read_seeds(recipe.seeds, lenient=recipe.evolve_job.get("lenient", False),
                       limit=recipe.evolve_job.get("limit")).seeds
    return _answer(recipe, list(seeds), d, console, show_progress)


def _answer_matched(stage: Stage, recipe: Recipe, d: Path, done: dict[str, StageResult], console: Console,
                    show_progress: bool) -> dict[str, Any]:
    from wizardcoder.evol.seeds import read_seeds

    assert recipe.seeds is not None
    want = int(done["evolve"].result["rows"])
    seeds = list(read_seeds(recipe.seeds, lenient=recipe.evolve_job.get("lenient", False)).seeds)
    if len(seeds) < want:
        raise WizardCoderError(f"the evolved set has {want} rows but the seeds file only {len(seeds)}: seeds-matched "
                               "needs more seeds (or a smaller evolve.limit)")
    if recipe.seed_answers == "original":
        rows = [{"id": f"s{i:06d}", "instruction": s.instruction, "input": s.input or "", "output": s.output}
                for i, s in enumerate(seeds[:want])]
        atomic_write_jsonl(d / "answered.jsonl", rows)
        return {"data": str(d / "answered.jsonl"), "rows": len(rows), "sha256": file_sha256(d / "answered.jsonl")}
    known: dict[str, str] = {}
    if "answer-seeds" in done:  # the first seeds were answered already: the same answers, not asked twice
        first = Path(done["answer-seeds"].result["data"]).parent / "answers.raw.jsonl"
        known = {str(r.get("id")): r.get("response") or "" for r in _jsonl(first)} if first.is_file() else {}
    return _answer(recipe, seeds[:want], d, console, show_progress, known)


# -- evolve -------------------------------------------------------------------------------------

def _evolve(stage: Stage, recipe: Recipe, d: Path, done: dict[str, StageResult], console: Console,
            show_progress: bool) -> dict[str, Any]:
    from wizardcoder import api
    from wizardcoder.evol.run import STATE_FILE

    seeds = Path(done["answer-seeds"].result["data"]) if "answer-seeds" in done else recipe.seeds
    assert seeds is not None
    run = d / "run"
    cfg = recipe.evolve
    job = dict(recipe.evolve_job)
    if "answer-seeds" in done:
        job.pop("limit", None)  # the answered file already holds the first `limit` seeds
    state = (run / STATE_FILE).exists()
    result = api.evolve(seeds, run, recipe.teacher, console=console if show_progress else None,
                        temperature=recipe.teacher.temperature, top_p=recipe.teacher.top_p, methods=cfg.methods,
                        filters=cfg.filters, rounds=cfg.rounds, seed=cfg.seed, resume=state,
                        overwrite=run.exists() and not state, **job)
    if result.counts.unfinished:
        raise WizardCoderError(f"{result.counts.unfinished} evolutions unfinished (the teacher kept failing): "
                               "run the recipe again to retry them")
    e = result.export
    return {"data": str(run), "rows": e.rows, "seeds": e.seeds, "evolved": e.evolved, "eliminated": e.eliminated,
            "removed": dict(e.removed), "sha256": file_sha256(run)}


# -- train --------------------------------------------------------------------------------------

def _train(stage: Stage, recipe: Recipe, d: Path, done: dict[str, StageResult], console: Console,
           show_progress: bool) -> dict[str, Any]:
    import yaml

    from wizardcoder.training.run import RECORD

    arm = stage.arm
    assert arm is not None and arm.train is not None
    source = {"seeds": "answer-seeds", "evolved": "evolve", "seeds-matched": "answer-matched"}.get(arm.data)
    if source in done:
        data = Path(done[source].result["data"])
    elif arm.data == "seeds":
        assert recipe.seeds is not None
        data = recipe.seeds
    else:
        data = Path(arm.data)
    rows = count_rows(data)
    out = d / "model"
    cfg = dataclasses.replace(arm.train, model=arm.model, data=str(data), output_dir=str(out))
    g, b = cfg.global_batch_size, cfg.batch_size
    if rows < g:
        if arm.scale_batch:
            ng, nb = scaled_batch(g, b, rows)
            cfg = dataclasses.replace(cfg, global_batch_size=ng, batch_size=nb)
            console.print(f"arm {arm.name}: {rows} rows: global batch {g} -> {ng} (batch size {nb}; scale_batch)",
                          highlight=False)
        else:
            console.print(f"[yellow]warning:[/] arm {arm.name}: {rows} rows < global batch {g}: each optimizer step is "
                          f"about {g / max(rows, 1):.0f} passes over the data", highlight=False)
    record = out / RECORD
    status = read_json_object(record, "a training record").get("status") if record.is_file() else None
    if status != "finished":
        resume, overwrite = record.is_file(), out.exists() and not record.is_file()
        if arm.launcher.kind == "none":
            from wizardcoder import api

            api.train(cfg, resume=resume, overwrite=overwrite, console=console)
        else:
            config = d / "train.yaml"
            atomic_write_text(config, yaml.safe_dump(cfg.to_dict(), sort_keys=False, allow_unicode=True))
            _launch(arm.launcher, config, out, resume, overwrite, d / "train.log")
    rec = read_json_object(record, "a training record")
    if rec.get("status") != "finished":
        raise WizardCoderError(f"{record}: the training run did not finish (status {rec.get('status')!r})")
    metrics = rec.get("metrics", {})
    result = {"model": str(out), "gguf": rec.get("gguf")}
    return {**result, "weights_sha256": weights_sha256(result), "data": str(data), "data_sha256": file_sha256(data),
            "rows": rows,
            "global_batch_size": cfg.global_batch_size, "batch_size": cfg.batch_size,
            "steps": metrics.get("steps"), "train_loss": metrics.get("train_loss"),
            "eval_loss": metrics.get("eval_loss"), "runtime_s": metrics.get("runtime_s")}


def launch_command(kind: str, processes: int, config_file: str | None, train_yaml: Path, out: Path,
                   resume: bool, overwrite: bool) -> list[str]:
    """``wizardcoder train --config YAML -o OUT`` under torchrun or accelerate launch."""
    train = ["-m", "wizardcoder.cli", "train", "--config", str(train_yaml), "--output", str(out),
             *(["--resume"] if resume else []), *(["--overwrite"] if overwrite else [])]
    if kind == "torchrun":
        return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes),
                *train]
    return [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(processes),
            *(["--config_file", config_file] if config_file else []), *train]


def _launch(launcher: Any, config: Path, out: Path, resume: bool, overwrite: bool, log: Path) -> None:
    cmd = launch_command(launcher.kind, launcher.processes, launcher.config, config, out, resume, overwrite)
    with log.open("ab") as fh:
        fh.write(f"$ {' '.join(cmd)}\n".encode())
        fh.flush()
        proc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    if proc.returncode != 0:
        tail = [ln for ln in log.read_text(errors="replace").splitlines() if ln.strip()][-1:]
        raise WizardCoderError(f"{launcher.kind} exited with {proc.returncode}: {tail[0] if tail else ''} "
                               f"(log: {log})")


# -- eval ---------------------------------------------------------------------------------------

def _eval(stage: Stage, recipe: Recipe, d: Path, done: dict[str, StageResult], console: Console,
          show_progress: bool) -> dict[str, Any]:
    from wizardcoder import api

    arm = stage.arm
    assert arm is not None and stage.benchmark is not None
    up = done.get(f"train-{arm.name}")
    # A trained model is evaluated through its GGUF when the arm exported one (llama.cpp: several times
    # faster than transformers on a CPU), else through its directory.
    model = (up.result.get("gguf") or up.result["model"]) if up is not None else arm.model
    spec = EngineSpec(model=model, **recipe.eval.engine)
    out = d / "eval"
    shared = stage.settings.get("shared_from")
    extra: dict[str, Any] = {}
    if shared is not None:
        samples, extra = _shared_samples(stage, spec, shared, done, d, console, show_progress)
        summary = api.evaluate(stage.benchmark, samples=samples, output=out, resume=out.exists(), console=console,
                               show_progress=show_progress, label=f"{arm.name}",
                               partial=recipe.eval.limit is not None, **recipe.eval.settings)
    else:
        summary = api.evaluate(stage.benchmark, model=spec, output=out, limit=recipe.eval.limit,
                               n_samples=recipe.eval.n_samples, resume=out.exists(), console=console,
                               show_progress=show_progress, label=f"{arm.name}", **recipe.eval.settings)
    return {"arm": arm.name, "benchmark": stage.benchmark, "model": model, "n_tasks": summary.n_tasks,
            "n_samples": summary.n_samples, "pass@1": summary.pass_at_1, "plus_pass@1": summary.plus_pass_at_1,
            "base": summary.base, "plus": summary.plus, "summary": str(summary.output_dir / "summary.json"),
            "results": str(summary.output_dir / "results.jsonl"), "samples": str(summary.data.get("samples", "")), **extra}


def _shared_samples(stage: Stage, spec: EngineSpec, shared: str, done: dict[str, StageResult], d: Path,
                    console: Console, show_progress: bool) -> tuple[Path, dict[str, Any]]:
    """This benchmark's samples from ``shared``'s (same arm): its answers for every task whose request is
    identical, the model's fresh answers for the others; written to ``d/samples.jsonl``."""
    from wizardcoder.harness.generate import differing_prompts, generate_samples

    assert stage.arm is not None and stage.benchmark is not None
    source = done[f"eval-{stage.arm.name}-{shared.replace('+', 'plus')}"]
    recipe_limit = stage.settings.get("limit")
    same, other = differing_prompts(shared, stage.benchmark, recipe_limit)
    rows = [r for r in _jsonl(Path(source.result["samples"])) if r.get("task_id") in same]
    if other:
        fresh, _, _ = generate_samples(spec, stage.benchmark, d / "generated", n_samples=stage.settings["n_samples"],
                                       limit=recipe_limit, task_ids=other, resume=(d / "generated").exists(),
                                       console=console, show_progress=show_progress)
        rows += _jsonl(fresh)
    samples = d / "samples.jsonl"
    atomic_write_jsonl(samples, rows)
    return samples, {"shared_from": shared, "shared_tasks": len(same), "generated_tasks": len(other)}


# -- results ------------------------------------------------------------------------------------

def _results(recipe: Recipe, stages: list[Stage], done: dict[str, StageResult]) -> dict[str, Any]:
    arms: dict[str, Any] = {a.name: {} for a in recipe.arms}
    for s in stages:
        if s.kind == "eval" and s.arm is not None and s.benchmark is not None and s.name in done:
            r = done[s.name].result
            arms[s.arm.name][s.benchmark] = {"pass@1": r.get("pass@1"), "plus_pass@1": r.get("plus_pass@1"),
                                             "n_tasks": r.get("n_tasks"), "stage": s.dirname}
    train = {s.arm.name: {k: done[s.name].result.get(k) for k in ("rows", "steps", "train_loss", "global_batch_size")}
             for s in stages if s.kind == "train" and s.arm is not None and s.name in done}
    return {"recipe": str(recipe.path), "benchmarks": list(recipe.eval.benchmarks), "limit": recipe.eval.limit,
            "arms": arms, "train": train,
            "arm_data": {a.name: a.data for a in recipe.arms}, "models": {a.name: a.model for a in recipe.arms}}


def card_table(results: dict[str, Any]) -> list[list[str]]:
    """Rows of the plain card-style table: arm, data, then pass@1 (%) per benchmark (base / plus)."""
    benches = results["benchmarks"]
    rows = [["arm", "model", "data", *benches]]
    for arm, by_bench in results["arms"].items():
        cells = []
        for b in benches:
            r = by_bench.get(b, {})
            p, q = r.get("pass@1"), r.get("plus_pass@1")
            cell = "-" if p is None else f"{100 * p:.1f}"
            cells.append(cell + (f" / {100 * q:.1f}" if q is not None else ""))
        data = results["arm_data"][arm]
        rows.append([arm, results["models"][arm], Path(data).name if os.sep in data else data, *cells])
    return rows
