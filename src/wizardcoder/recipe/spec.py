"""A recipe file, read into the settings objects the single commands use (no second spelling).

Sections: ``seeds`` (a path, relative to the recipe file), ``seed_answers`` (teacher | original),
``teacher`` (:class:`~wizardcoder.engines.spec.EngineSpec`, with evolve's teacher defaults),
``evolve`` (:class:`~wizardcoder.evol.config.EvolveConfig` / :class:`~wizardcoder.evol.config.EvolveJob`
fields; ``methods`` as NAME[=WEIGHT] strings; ``filters``: FilterConfig fields and ``no_rule``),
``arms`` (name, model, data, train: TrainConfig fields, scale_batch, launcher), ``eval``
(benchmarks, limit, n_samples, EngineSpec fields but ``model``, and EvalConfig's postprocess /
workers / dedup) and ``report`` (title, baseline: an arm, compare: pairs of arms; see ``recipe/report.py``).

Invariant: every error is one line ``FILE:LINE: key: what is wrong``, raised by :func:`load`
before anything is run or written (the line is the key's, from ``yaml.compose``).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizardcoder.api import TEACHER_DEFAULTS
from wizardcoder.engines.spec import EngineSpec
from wizardcoder.errors import WizardCoderError
from wizardcoder.evol.config import EvolveConfig, EvolveJob, parse_methods
from wizardcoder.evol.filters import FilterConfig
from wizardcoder.settings import added_since, record
from wizardcoder.training.config import TrainConfig

STAGE_DATA = ("none", "seeds", "evolved", "seeds-matched")  # what an arm's `data` may name besides a file
LAUNCHERS = ("none", "torchrun", "accelerate")
TOP_KEYS = ("seeds", "seed_answers", "teacher", "evolve", "arms", "eval", "report")
TEACHER_SKIP = ("seed", "stop")  # the run's seed draws each request's; the stop token is the registry's
EVOLVE_JOB_SKIP = ("output", "teacher", "config", "seeds", "resume", "overwrite")
EVOLVE_CONFIG_KEYS = ("rounds", "seed", "methods")
TRAIN_SKIP = ("model", "data", "output_dir")  # the arm's model and data; the stage's directory
EVAL_KEYS = ("benchmarks", "limit", "n_samples")
EVAL_CONFIG_KEYS = ("postprocess", "workers", "dedup")
ARM_KEYS = ("name", "model", "data", "train", "scale_batch", "launcher")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Launcher:
    """How an arm's training runs: in process (none) or as ``wizardcoder train`` under torchrun / accelerate."""

    kind: str = "none"
    processes: int = 1
    config: str | None = None  # accelerate's --config_file (absolute once loaded)


@dataclass
class Arm:
    name: str
    model: str
    data: str  # one of STAGE_DATA, or an absolute file path
    train: TrainConfig | None  # None: data none (the base model, untrained)
    scale_batch: bool = False
    launcher: Launcher = field(default_factory=Launcher)

    @property
    def trains(self) -> bool:
        return self.data != "none"


@dataclass
class EvalPlan:
    benchmarks: tuple[str, ...]
    limit: int | None
    n_samples: int
    engine: dict[str, Any]  # EngineSpec fields (the arm's model added per stage)
    settings: dict[str, Any]  # EvalConfig fields


@dataclass
class Recipe:
    path: Path
    seeds: Path | None
    seed_answers: str
    teacher: EngineSpec
    evolve: EvolveConfig
    evolve_job: dict[str, Any]  # EvolveJob fields (not output/teacher/config/seeds/resume/overwrite)
    arms: list[Arm]
    eval: EvalPlan
    report: dict[str, Any]
    raw: dict[str, Any]  # the file as read (for the record)

    def needs(self, data: str) -> bool:
        return any(a.data == data for a in self.arms)

    def resolved(self) -> dict[str, Any]:
        """Every setting with its default filled in: ``DIR/recipe.resolved.yaml``."""
        from wizardcoder.recipe.stages import plain

        return plain({
            "seeds": str(self.seeds) if self.seeds else None, "seed_answers": self.seed_answers,
            "teacher": dataclasses.asdict(self.teacher),
            "evolve": {"rounds": self.evolve.rounds, "seed": self.evolve.seed,
                       "methods": [f"{m}={w:g}" for m, w in self.evolve.methods],
                       "filters": {**dataclasses.asdict(self.evolve.filters), "rules": sorted(self.evolve.filters.rules)},
                       **self.evolve_job},
            "arms": [{"name": a.name, "model": a.model, "data": a.data, "scale_batch": a.scale_batch,
                      "launcher": dataclasses.asdict(a.launcher),
                      "train": ({k: v for k, v in a.train.to_dict().items() if k not in TRAIN_SKIP}
                                if a.train else None)} for a in self.arms],
            "eval": {"benchmarks": list(self.eval.benchmarks), "limit": self.eval.limit,
                     "n_samples": self.eval.n_samples, **self.eval.engine, **self.eval.settings},
            "report": self.report,
        })


class _Lines:
    """Line numbers of every key of the file, from ``yaml.compose``: ``("arms", 1, "train", "lr")`` -> line."""

    def __init__(self, path: Path, node: Any) -> None:
        self.path = path
        self.lines: dict[tuple[Any, ...], int] = {}
        self._walk(node, ())

    def _walk(self, node: Any, at: tuple[Any, ...]) -> None:
        import yaml

        self.lines[at] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                self.lines[(*at, key.value)] = key.start_mark.line + 1
                self._walk(value, (*at, key.value))
                self.lines[(*at, key.value)] = key.start_mark.line + 1  # the key's line, not its value's
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._walk(item, (*at, i))

    def error(self, at: tuple[Any, ...], what: str) -> WizardCoderError:
        while at not in self.lines and at:
            at = at[:-1]
        line = self.lines.get(at, 1)
        key = ".".join(str(k) if not isinstance(k, int) else f"[{k}]" for k in at).replace(".[", "[") or "recipe"
        return WizardCoderError(f"{self.path}:{line}: {key}: {what}")


def _kind_ok(value: Any, type_text: str) -> bool:
    words = set(re.findall(r"\w+", type_text))
    if value is None:
        return "None" in words
    if isinstance(value, bool):
        return "bool" in words
    if isinstance(value, int):
        return bool(words & {"int", "float"})
    if isinstance(value, float):
        return "float" in words
    if isinstance(value, str):
        return bool(words & {"str", "Path", "EngineName", "PromptFormat"})
    if isinstance(value, list):
        return bool(words & {"list", "tuple", "frozenset"})
    if isinstance(value, dict):
        return "dict" in words
    return False


def _kind_name(type_text: str) -> str:
    words = re.findall(r"\w+", type_text)
    names = {"int": "an integer", "float": "a number", "str": "a string", "Path": "a path", "bool": "true or false",
             "list": "a list", "dict": "a mapping", "None": "null", "EngineName": "an engine name",
             "PromptFormat": "a prompt format", "tuple": "a list", "frozenset": "a list"}
    seen = list(dict.fromkeys(names[w] for w in words if w in names))
    return " or ".join(seen) or type_text


def _fields(cls: Any) -> dict[str, Any]:
    return {f.name: f for f in dataclasses.fields(cls)}


def _take(lines: _Lines, at: tuple[Any, ...], section: dict[str, Any], cls: Any, allowed: tuple[str, ...] | None,
          skip: tuple[str, ...] = (), why_skip: str = "") -> dict[str, Any]:
    """The keys of ``section`` that are fields of ``cls``, type-checked, as keyword arguments."""
    fields = _fields(cls)
    out = {}
    for key, value in section.items():
        if key in skip:
            raise lines.error((*at, key), why_skip or "not a setting here")
        if key not in fields or (allowed is not None and key not in allowed):
            continue
        if isinstance(value, float) and "int" in str(fields[key].type) and "float" not in str(fields[key].type):
            if not value.is_integer():
                raise lines.error((*at, key), f"expected an integer, got {value!r}")
            value = int(value)
        if key == "epochs" and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not _kind_ok(value, str(fields[key].type)):
            raise lines.error((*at, key), f"expected {_kind_name(str(fields[key].type))}, got {value!r}")
        out[key] = value
    return out


def _build(lines: _Lines, at: tuple[Any, ...], given: dict[str, Any], make: Any) -> Any:
    """``make()``, its one-line error pointed at the key it names (else at the section)."""
    try:
        return make()
    except WizardCoderError as exc:
        text = str(exc)
        first = text.split(" ", 1)[0].strip(":")
        key = next((k for k in given if k == first or text.startswith(f"--{k.replace('_', '-')}")), None)
        if key is None and first.startswith("--"):
            key = next((k for k in given if k.replace("_", "-") == first[2:]), None)
        raise lines.error((*at, key) if key else at, text) from None
    except TypeError as exc:  # a value of a kind the object cannot take
        raise lines.error(at, str(exc)) from None


def _flag_names(*classes: Any) -> dict[str, str]:
    """A setting's flags as a recipe key might spell them (``lr`` -> learning_rate), for hints."""
    return {flag.lstrip("-").replace("-", "_"): f.name for cls in classes for f in dataclasses.fields(cls)
            for flag in f.metadata.get("setting", {}).get("flags", ()) if flag.startswith("--") and "/" not in flag}


def _unknown(lines: _Lines, at: tuple[Any, ...], section: dict[str, Any], known: set[str],
             *classes: Any) -> None:
    flags = _flag_names(*classes)
    for key in section:
        if key not in known:
            close = [k for k in sorted(known) if k.replace("_", "") == str(key).replace("_", "").replace("-", "")]
            if not close and flags.get(str(key)) in known:
                close = [flags[str(key)]]
            hint = (f" (did you mean {close[0]}?)" if close else f" (known: {', '.join(sorted(known))})"
                    if len(known) <= 12 else " (see docs/recipe.md)")
            raise lines.error((*at, key), f"unknown key{hint}")


def _mapping(lines: _Lines, at: tuple[Any, ...], value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise lines.error(at, f"expected a mapping, got {type(value).__name__}")
    return value


def load(path: str | Path) -> Recipe:
    """Read and check a recipe file (see the module docstring); nothing is run."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise WizardCoderError(f"{path}: no such recipe file")
    text = path.read_text(encoding="utf-8")
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise WizardCoderError(f"{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if node is None or not isinstance(data, dict):
        raise WizardCoderError(f"{path}:1: recipe: a recipe is a mapping (seeds, teacher, evolve, arms, eval)")
    lines = _Lines(path, node)
    _unknown(lines, (), data, set(TOP_KEYS))
    base = path.resolve().parent

    # seeds
    seeds: Path | None = None
    if data.get("seeds") is not None:
        if not isinstance(data["seeds"], str):
            raise lines.error(("seeds",), f"expected a path, got {data['seeds']!r}")
        seeds = (base / data["seeds"]).resolve()
        if not seeds.is_file():
            raise lines.error(("seeds",), f"no such file: {seeds}")
    seed_answers = data.get("seed_answers", "teacher")
    if seed_answers not in ("teacher", "original"):
        raise lines.error(("seed_answers",), f"expected teacher or original, got {seed_answers!r}")

    # teacher
    t = _mapping(lines, ("teacher",), data.get("teacher"))
    _unknown(lines, ("teacher",), t, set(_fields(EngineSpec)), EngineSpec)
    t_kw = _take(lines, ("teacher",), t, EngineSpec, None, TEACHER_SKIP, "set by the run (evolve.seed draws each "
                 "request's seed; the stop token is the model's)")
    teacher = _build(lines, ("teacher",), t_kw, lambda: EngineSpec(**{**TEACHER_DEFAULTS, "temperature": 1.0,
                                                                      "top_p": 0.95, **t_kw}))

    # evolve
    e = _mapping(lines, ("evolve",), data.get("evolve"))
    job_fields = set(_fields(EvolveJob)) - set(EVOLVE_JOB_SKIP)
    _unknown(lines, ("evolve",), e, job_fields | set(EVOLVE_CONFIG_KEYS) | {"filters"}, EvolveJob, EvolveConfig)
    cfg_kw = _take(lines, ("evolve",), e, EvolveConfig, ("rounds", "seed"))
    if "methods" in e:
        if not isinstance(e["methods"], list) or not all(isinstance(m, str) for m in e["methods"]):
            raise lines.error(("evolve", "methods"), "expected a list of NAME or NAME=WEIGHT strings")
        cfg_kw["methods"] = _build(lines, ("evolve", "methods"), {}, lambda: parse_methods(e["methods"]))
    f = _mapping(lines, ("evolve", "filters"), e.get("filters"))
    _unknown(lines, ("evolve", "filters"), f, (set(_fields(FilterConfig)) - {"rules"}) | {"no_rule"})
    f_kw = _take(lines, ("evolve", "filters"), f, FilterConfig, None)
    no_rule = f.get("no_rule") or []
    if not isinstance(no_rule, list):
        raise lines.error(("evolve", "filters", "no_rule"), "expected a list of rule names")
    filters = _build(lines, ("evolve", "filters"), f_kw, lambda: FilterConfig.without(no_rule, **f_kw))
    evolve = _build(lines, ("evolve",), cfg_kw, lambda: EvolveConfig(**cfg_kw, filters=filters,
                                                                    concurrency=teacher.concurrency))
    job_kw = _take(lines, ("evolve",), e, EvolveJob, tuple(job_fields))
    job = _build(lines, ("evolve",), job_kw, lambda: EvolveJob(output=Path("."), teacher=teacher, config=evolve,
                                                                **job_kw))
    # newer settings travel with their value (a default that changed must not reach an earlier recipe's
    # run); the stage's fingerprint leaves them out while they do what earlier runs did (stages.py)
    job_kw.update({k: getattr(job, k) for k in added_since(job) & job_fields if k not in job_kw})

    # arms
    arms_raw = data.get("arms")
    if not isinstance(arms_raw, list) or not arms_raw:
        raise lines.error(("arms",), "expected a list of arms (name, model, data, train)")
    arms: list[Arm] = []
    for i, a in enumerate(arms_raw):
        at: tuple[Any, ...] = ("arms", i)
        a = _mapping(lines, at, a)
        _unknown(lines, at, a, set(ARM_KEYS))
        arms.append(_arm(lines, at, a, base, arms))
    stage_made = [a for a in arms if a.data in ("seeds", "evolved", "seeds-matched")]
    if stage_made and seeds is None:
        missing: tuple[Any, ...] = ("seeds",) if "seeds" in data else ()
        raise lines.error(missing, f"missing: arm {stage_made[0].name!r} trains on {stage_made[0].data!r}, made from "
                                 "the seeds")

    # eval
    ev = _mapping(lines, ("eval",), data.get("eval"))
    engine_fields = set(_fields(EngineSpec)) - {"model"}
    _unknown(lines, ("eval",), ev, set(EVAL_KEYS) | engine_fields | set(EVAL_CONFIG_KEYS), EngineSpec)
    benches = ev.get("benchmarks", ["humaneval"])
    from wizardcoder.harness.datasets import BENCHMARKS

    if not isinstance(benches, list) or not benches:
        raise lines.error(("eval", "benchmarks"), "expected a list of benchmarks")
    for b in benches:
        if b not in BENCHMARKS:
            raise lines.error(("eval", "benchmarks"), f"unknown benchmark {b!r} (choose from {', '.join(BENCHMARKS)})")
    limit, n_samples = ev.get("limit"), ev.get("n_samples", 1)
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise lines.error(("eval", "limit"), f"expected an integer >= 1 or null, got {limit!r}")
    if isinstance(n_samples, bool) or not isinstance(n_samples, int) or n_samples < 1:
        raise lines.error(("eval", "n_samples"), f"expected an integer >= 1, got {n_samples!r}")
    eng_kw = _take(lines, ("eval",), ev, EngineSpec, tuple(engine_fields))
    spec = _build(lines, ("eval",), eng_kw, lambda: EngineSpec(**eng_kw))
    from wizardcoder.harness.evaluate import EvalConfig

    ecfg_kw = _take(lines, ("eval",), ev, EvalConfig, EVAL_CONFIG_KEYS)
    _build(lines, ("eval",), ecfg_kw, lambda: EvalConfig(benchmark=benches[0], **ecfg_kw))
    # The settings given, and any newer setting that asks for what earlier runs did not do (its default
    # included): a default turned on changes the stage's fingerprint; set back, the earlier one.
    engine = {k: v for k, v in record(spec).items() if k in eng_kw or k in added_since(spec)}
    report = _report(lines, _mapping(lines, ("report",), data.get("report")), arms)
    return Recipe(path.resolve(), seeds, seed_answers, teacher, evolve, job_kw, arms,
                  EvalPlan(tuple(benches), limit, n_samples, engine, ecfg_kw), report, data)


def _report(lines: _Lines, r: dict[str, Any], arms: list[Arm]) -> dict[str, Any]:
    """``report``: title (a string), baseline (an arm; default the first), compare (pairs of arms)."""
    _unknown(lines, ("report",), r, {"title", "baseline", "compare"})
    names = [a.name for a in arms]
    if "title" in r and not isinstance(r["title"], str):
        raise lines.error(("report", "title"), f"expected a string, got {r['title']!r}")
    if "baseline" in r and r["baseline"] not in names:
        raise lines.error(("report", "baseline"), f"no arm named {r['baseline']!r} (arms: {', '.join(names)})")
    pairs = r.get("compare") or []
    if not isinstance(pairs, list):
        raise lines.error(("report", "compare"), "expected a list of [arm, arm] pairs")
    for i, pair in enumerate(pairs):
        if not (isinstance(pair, list) and len(pair) == 2 and all(p in names for p in pair) and pair[0] != pair[1]):
            raise lines.error(("report", "compare", i), f"expected a pair of two different arms, got {pair!r} "
                                                      f"(arms: {', '.join(names)})")
    return dict(r)


def _arm(lines: _Lines, at: tuple[Any, ...], a: dict[str, Any], base: Path, earlier: list[Arm]) -> Arm:
    name = a.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise lines.error((*at, "name") if "name" in a else at, f"expected a name of letters, digits, _ . -, got {name!r}")
    if any(x.name == name for x in earlier):
        raise lines.error((*at, "name"), f"a second arm named {name!r}")
    model = a.get("model", "default")
    if not isinstance(model, str) or not model:
        raise lines.error((*at, "model"), f"expected a model name or path, got {model!r}")
    data = a.get("data")
    if not isinstance(data, str) or not data:
        raise lines.error((*at, "data") if "data" in a else at, "missing or not a string: one of "
                          f"{', '.join(STAGE_DATA)} or a data file")
    if data not in STAGE_DATA:
        file = (base / data).resolve()
        if not file.exists():
            raise lines.error((*at, "data"), f"no stage makes {data!r} and there is no such file "
                                             f"(stages: {', '.join(STAGE_DATA)})")
        data = str(file)
    scale = a.get("scale_batch", False)
    if not isinstance(scale, bool):
        raise lines.error((*at, "scale_batch"), f"expected true or false, got {scale!r}")
    ln = _mapping(lines, (*at, "launcher"), a.get("launcher"))
    _unknown(lines, (*at, "launcher"), ln, {"kind", "processes", "config"})
    kind, procs, conf = ln.get("kind", "none"), ln.get("processes", 1), ln.get("config")
    if kind not in LAUNCHERS:
        raise lines.error((*at, "launcher", "kind"), f"expected one of {', '.join(LAUNCHERS)}, got {kind!r}")
    if isinstance(procs, bool) or not isinstance(procs, int) or procs < 1:
        raise lines.error((*at, "launcher", "processes"), f"expected an integer >= 1, got {procs!r}")
    if conf is not None:
        if not isinstance(conf, str) or not (base / conf).is_file():
            raise lines.error((*at, "launcher", "config"), f"no such file: {conf!r}")
        conf = str((base / conf).resolve())
    if kind == "none" and (procs != 1 or conf):
        raise lines.error((*at, "launcher"), "processes and config need kind torchrun or accelerate")
    if kind == "torchrun" and conf:
        raise lines.error((*at, "launcher", "config"), "torchrun takes no config file (accelerate does)")
    t = a.get("train")
    if data == "none":
        if t is not None or scale or kind != "none":
            raise lines.error((*at, "train" if t is not None else "data"), "an arm with data: none is not trained "
                              "(no train, scale_batch or launcher)")
        return Arm(name, model, data, None)
    t = _mapping(lines, (*at, "train"), t)
    _unknown(lines, (*at, "train"), t, set(_fields(TrainConfig)), TrainConfig)
    kw = _take(lines, (*at, "train"), t, TrainConfig, None, TRAIN_SKIP,
               "set by the arm (model, data) or the stage (output_dir)")
    train = _build(lines, (*at, "train"), kw, lambda: TrainConfig(model=model, **kw))
    return Arm(name, model, data, train, scale, Launcher(kind, procs, conf))
