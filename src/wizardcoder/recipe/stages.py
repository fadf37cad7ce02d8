"""The stages of a recipe, their fingerprints, and the plan (what is done, what would run).

Stages, in order: ``answer-seeds`` (the teacher answers the seed instructions; when an arm trains on
seeds or evolved data and ``seed_answers: teacher``), ``evolve`` (when an arm trains on evolved or
seeds-matched data), ``answer-matched`` (the teacher answers as many seed rows as the evolved set
has; for a ``seeds-matched`` arm), ``train-ARM`` per trained arm, ``eval-ARM-BENCH`` per arm and
benchmark (HumanEval and HumanEval+ of one arm share their answers where the prompts are the same:
``SHARED_PROMPTS``).

Invariants:
- A stage's fingerprint is sha256 over its kind, its settings (as plain JSON) and its inputs'
  fingerprints (an upstream stage's fingerprint, or a file's sha256, never its path: a recipe moved
  with its files keeps its stages): known before anything runs,
  so ``plan`` computes every one. It changes exactly when something that stage reads changes: a
  training arm's learning rate changes that arm's train and eval fingerprints, nothing upstream.
  The wizardcoder version is recorded, not fingerprinted (an upgrade does not redo finished work).
- A stage's directory is ``DIR/stages/NAME-FP12``; it is finished when its ``stage.json`` exists
  (written atomically, last). A directory without one is a stage that was stopped: the rerun
  continues it with the job's own resume.
- A plan may select arms (``recipe run --arm``): their stages and every stage those read, in run
  order; the others are neither run nor changed (the baselines first, one arm again, a long recipe
  in pieces). Selection changes no fingerprint.
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizardcoder.errors import WizardCoderError
from wizardcoder.recipe.spec import Arm, Recipe
from wizardcoder.settings import record

STAGES_DIR = "stages"
STAGE_FILE = "stage.json"
# Benchmarks that ask (nearly) the same prompts: the later one in ``eval.benchmarks`` reuses the earlier
# one's answers for every task whose request is identical, and generates only the others (HumanEval+
# has HumanEval's 164 prompts, one rewritten; MBPP+ words its prompts otherwise, so it shares none).
SHARED_PROMPTS = {"humaneval+": "humaneval", "humaneval": "humaneval+"}


def plain(obj: Any) -> Any:
    """JSON/YAML-able: enums as values, paths and tuples and sets as strings and lists."""
    if isinstance(obj, enum.Enum):
        return obj.value
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return sorted(plain(v) for v in obj)
    if isinstance(obj, Path):
        return str(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return plain(dataclasses.asdict(obj))
    return obj


_sha_cache: dict[tuple[str, float, int], str] = {}


def file_sha256(path: Path) -> str:
    """sha256 of a file (of data.jsonl for an evolve directory); cached by mtime and size."""
    path = Path(path)
    if path.is_dir():
        path = path / "data.jsonl"
    st = path.stat()
    key = (str(path), st.st_mtime, st.st_size)
    if key not in _sha_cache:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _sha_cache[key] = h.hexdigest()
    return _sha_cache[key]


def count_rows(path: Path) -> int:
    """Rows of a data file: an Alpaca JSON list, JSONL (non-blank lines), or an evolve dir's data.jsonl."""
    path = Path(path)
    if path.is_dir():
        path = path / "data.jsonl"
    text = path.read_text(encoding="utf-8")
    if text.lstrip().startswith("["):
        return len(json.loads(text))
    return sum(1 for line in text.splitlines() if line.strip())


@dataclass
class Stage:
    kind: str  # answer-seeds, evolve, answer-matched, train, eval
    name: str
    settings: dict[str, Any]
    inputs: dict[str, str]  # upstream stage name -> its fingerprint; "seeds" / "data" -> the file's sha256
    arm: Arm | None = None
    benchmark: str | None = None
    fingerprint: str = field(init=False, default="")

    def __post_init__(self) -> None:
        blob = json.dumps({"kind": self.kind, "settings": plain(self.settings), "inputs": self.inputs},
                          sort_keys=True, default=str)
        self.fingerprint = hashlib.sha256(blob.encode()).hexdigest()

    @property
    def dirname(self) -> str:
        return f"{self.name}-{self.fingerprint[:12]}"

    def directory(self, output: Path) -> Path:
        return Path(output) / STAGES_DIR / self.dirname

    def state(self, output: Path) -> str:
        """done, resume (stopped inside), rerun (settings changed since a finished run), or run."""
        d = self.directory(output)
        if (d / STAGE_FILE).is_file():
            return "done"
        if d.is_dir():
            return "resume"
        others = Path(output) / STAGES_DIR
        if others.is_dir() and any(p.name.rsplit("-", 1)[0] == self.name and p.name != self.dirname
                                   for p in others.iterdir()):
            return "rerun"
        return "run"


def _teacher(recipe: Recipe) -> dict[str, Any]:
    return plain(record(recipe.teacher))


def _evolve_settings(recipe: Recipe) -> dict[str, Any]:
    """What the evolve stage's fingerprint holds: a setting added later (``since``) only while it asks for
    what runs before it did not do (as ``record``), so adding one does not make finished stages stale."""
    from wizardcoder.evol.config import EvolveJob

    cfg = recipe.evolve
    before = {f.name: f.metadata["setting"]["before"] for f in dataclasses.fields(EvolveJob)
              if (f.metadata.get("setting") or {}).get("since")}
    job = {k: v for k, v in recipe.evolve_job.items() if k not in before or v != before[k]}
    if not recipe.evolve_job.get("decontaminate", True):
        job.pop("decontam_multiple", None)  # changes nothing without decontamination
    return {"rounds": cfg.rounds, "seed": cfg.seed, "methods": cfg.methods, "filters": plain(cfg.filters), **job}


def _train_settings(arm: Arm) -> dict[str, Any]:
    assert arm.train is not None
    cfg = {k: v for k, v in arm.train.to_dict().items() if k not in ("output_dir", "data")}
    return {"train": cfg, "scale_batch": arm.scale_batch, "launcher": dataclasses.asdict(arm.launcher)}


def build(recipe: Recipe) -> list[Stage]:
    """The recipe's stages, in the order they run, with their fingerprints."""
    stages: list[Stage] = []
    by_name: dict[str, Stage] = {}

    def add(stage: Stage) -> Stage:
        stages.append(stage)
        by_name[stage.name] = stage
        return stage

    seeds_in = {"seeds": file_sha256(recipe.seeds)} if recipe.seeds else {}  # the content, not where it lies
    limit = recipe.evolve_job.get("limit")
    answered: Stage | None = None
    if recipe.seed_answers == "teacher" and (recipe.needs("seeds") or recipe.needs("evolved")
                                            or recipe.needs("seeds-matched")):
        answered = add(Stage("answer-seeds", "answer-seeds",
                             {"teacher": _teacher(recipe), "seed": recipe.evolve.seed, "limit": limit,
                              "lenient": recipe.evolve_job.get("lenient", False)}, dict(seeds_in)))
    evolve: Stage | None = None
    if recipe.needs("evolved") or recipe.needs("seeds-matched"):
        inputs = {answered.name: answered.fingerprint} if answered else dict(seeds_in)
        evolve = add(Stage("evolve", "evolve", {"teacher": _teacher(recipe), **_evolve_settings(recipe)}, inputs))
    matched: Stage | None = None
    if recipe.needs("seeds-matched"):
        assert evolve is not None
        matched = add(Stage("answer-matched", "answer-matched",
                            {"teacher": _teacher(recipe), "seed": recipe.evolve.seed,
                             "seed_answers": recipe.seed_answers,
                             "lenient": recipe.evolve_job.get("lenient", False)},
                            {**seeds_in, evolve.name: evolve.fingerprint,
                             **({answered.name: answered.fingerprint} if answered else {})}))
    sources = {"seeds": answered, "evolved": evolve, "seeds-matched": matched}
    for arm in recipe.arms:
        if not arm.trains:
            continue
        src = sources.get(arm.data)
        if src is not None:
            inputs = {src.name: src.fingerprint}
        elif arm.data == "seeds":  # seed_answers: original: the seeds file as it is
            inputs = dict(seeds_in)
        else:
            inputs = {"data": file_sha256(Path(arm.data))}
        data = arm.data if arm.data in ("seeds", "evolved", "seeds-matched") else "file"
        add(Stage("train", f"train-{arm.name}", {"model": arm.model, "data": data, **_train_settings(arm)},
                  inputs, arm=arm))
    ev = recipe.eval
    for arm in recipe.arms:
        up = by_name.get(f"train-{arm.name}")
        made: dict[str, Stage] = {}
        for bench in ev.benchmarks:
            inputs = {up.name: up.fingerprint} if up else {}
            settings = {"benchmark": bench, "limit": ev.limit, "n_samples": ev.n_samples, "engine": ev.engine,
                        "eval": ev.settings, "model": None if up else arm.model}
            source = made.get(SHARED_PROMPTS.get(bench, ""))
            if source is not None:  # the same prompts: its answers, judged by this benchmark's tests
                settings["shared_from"] = source.benchmark
                inputs[source.name] = source.fingerprint
            made[bench] = add(Stage("eval", f"eval-{arm.name}-{bench.replace('+', 'plus')}", settings, inputs,
                                    arm=arm, benchmark=bench))
    return stages


def scaled_batch(global_batch: int, batch_size: int, rows: int) -> tuple[int, int]:
    """``scale_batch``: (global, per-device) batch for ``rows`` rows: the global batch becomes
    min(global, rows) rounded down to a multiple of batch_size; with fewer rows than batch_size,
    both become rows."""
    if rows >= global_batch:
        return global_batch, batch_size
    if rows < batch_size:
        return max(1, rows), max(1, rows)
    return (rows // batch_size) * batch_size, batch_size


def expected_rows(recipe: Recipe, arm: Arm) -> tuple[int | None, bool]:
    """(rows, exact) an arm will train on, known before any work: exact for files and seeds, an upper
    bound for evolved (seeds x (rounds + 1)) and seeds-matched; None when unknown."""
    if arm.data not in ("seeds", "evolved", "seeds-matched"):
        try:
            return count_rows(Path(arm.data)), True
        except (OSError, ValueError):
            return None, False
    if recipe.seeds is None:
        return None, False
    try:
        n = count_rows(recipe.seeds)
    except (OSError, ValueError):
        return None, False
    limit = recipe.evolve_job.get("limit")
    used = min(n, limit) if limit else n
    if arm.data == "seeds":
        return used, True
    if arm.data == "evolved":
        return used * (recipe.evolve.rounds + 1), False
    return min(n, used * (recipe.evolve.rounds + 1)), False


def warnings(recipe: Recipe) -> list[str]:
    """Settings that make no sense for the data, said before any work."""
    out = []
    for arm in recipe.arms:
        if arm.train is None:
            continue
        rows, exact = expected_rows(recipe, arm)
        g, b = arm.train.global_batch_size, arm.train.batch_size
        if rows is None or rows >= g:
            continue
        n = f"{rows} rows" if exact else f"at most {rows} rows"
        if arm.scale_batch:
            ng, nb = scaled_batch(g, b, rows)
            out.append(f"arm {arm.name}: {n} < global batch {g}: scale_batch sets it to {ng} (batch size {nb}) "
                       "at train time (min(global, rows) rounded down to a multiple of batch_size)")
        else:
            out.append(f"arm {arm.name}: {n} < global batch {g}: each optimizer step is about {g / max(rows, 1):.0f} "
                       "passes over the data (set scale_batch: true, or a smaller global_batch_size)")
    if recipe.needs("seeds-matched") and recipe.seeds is not None:
        limit = recipe.evolve_job.get("limit")
        total = count_rows(recipe.seeds)
        if not limit or limit >= total:
            out.append(f"seeds-matched needs more seed rows than evolve uses (the evolved set has more rows than its "
                       f"seeds); evolve uses all {total}: set evolve.limit below the seeds file's rows")
    return out


@dataclass
class PlanRow:
    name: str
    kind: str
    fingerprint: str
    state: str  # done, resume, rerun, run
    directory: Path


@dataclass
class Plan:
    recipe: Recipe
    output: Path
    stages: list[Stage]  # every stage of the recipe, in run order
    rows: list[PlanRow]
    warnings: list[str]
    selected: frozenset[str]  # names of the stages this run may run (all, or the chosen arms' and their inputs)

    @property
    def todo(self) -> int:
        return sum(1 for r in self.rows if r.state != "done" and r.name in self.selected)


def select(recipe: Recipe, stages: list[Stage], arms: list[str] | None) -> frozenset[str]:
    """The names of the stages of ``arms`` and of every stage they read (all stages when ``arms`` is None)."""
    if arms is None:
        return frozenset(s.name for s in stages)
    known = [a.name for a in recipe.arms]
    for name in arms:
        if name not in known:
            raise WizardCoderError(f"{recipe.path}: arm {name!r} is not in the recipe (arms: {', '.join(known)})")
    by_name = {s.name: s for s in stages}
    chosen: set[str] = set()
    todo = [s.name for s in stages if s.arm is not None and s.arm.name in arms]
    while todo:
        name = todo.pop()
        if name not in chosen:
            chosen.add(name)
            todo.extend(k for k in by_name[name].inputs if k in by_name)
    return frozenset(chosen)


def make_plan(recipe: Recipe, output: Path, arms: list[str] | None = None) -> Plan:
    stages = build(recipe)
    rows = [PlanRow(s.name, s.kind, s.fingerprint, s.state(output), s.directory(output)) for s in stages]
    return Plan(recipe, Path(output), stages, rows, warnings(recipe), select(recipe, stages, arms))
