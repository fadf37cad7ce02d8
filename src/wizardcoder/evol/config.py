"""The settings of an evolve run, in a module light enough for the command line to import at start.

:class:`EvolveConfig` is what the evolution does (a resumed run must keep it, rounds aside);
:class:`EvolveJob` is where it runs, with which teacher, and how it is paced. Their fields carry the
help, bounds and flags that ``wizardcoder evolve`` and ``wizardcoder.evolve`` share.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from wizardcoder.engines.base import SamplingParams
from wizardcoder.engines.spec import EngineSpec
from wizardcoder.errors import WizardCoderError
from wizardcoder.evol.filters import FilterConfig
from wizardcoder.evol.prompts import ALL_METHODS, BREADTH_METHODS, CODE_METHODS, DEPTH_METHODS, Method
from wizardcoder.settings import check_fields, check_number, setting


@dataclass(frozen=True)
class EvolveConfig:
    """What the evolution does (a resumed run must keep it, rounds aside); how it is paced is EvolveJob's."""

    rounds: int = setting(3, ge=1, integer=True, help="Evolution rounds (the paper: 3-4). A resumed run may add more.")
    methods: tuple[tuple[str, float], ...] = setting(
        (("constraints", 1.0), ("uncommon", 1.0), ("reasoning", 1.0), ("erroneous_code", 1.0), ("complexity", 1.0)),
        cli=False)  # the command line's --method / --in-depth / --in-breadth, parsed by parse_methods
    seed: int = setting(0, help="Run seed: method draws and request seeds.")
    sampling: SamplingParams = setting(None, cli=False, default_factory=lambda: SamplingParams(
        max_tokens=2048, temperature=1.0, top_p=0.95))
    filters: FilterConfig = setting(None, cli=False, default_factory=FilterConfig)
    prompt_format: str = setting("chat", cli=False)
    concurrency: int = setting(16, cli=False)  # the teacher's (EngineSpec.concurrency)

    def __post_init__(self) -> None:
        check_number("rounds", self.rounds, ge=1, integer=True)
        check_number("concurrency", self.concurrency, ge=1, integer=True)
        check_number("seed", self.seed, integer=True)
        for name, weight in self.methods:
            check_number(f"method {name} weight", weight, ge=0)
        if not any(w for _, w in self.methods):
            raise WizardCoderError("--method: every weight is 0")

    def method_for(self, row_id: str) -> Method:
        rng = random.Random(f"{self.seed}:{row_id}")
        names = [m for m, _ in self.methods]
        return ALL_METHODS[rng.choices(names, weights=[w for _, w in self.methods])[0]]

    def request_seed(self, key: str) -> int:
        return int.from_bytes(hashlib.sha256(f"{self.seed}:{key}".encode()).digest()[:4], "big") & 0x7FFFFFFF


def parse_methods(specs: Iterable[str] | None, in_depth: bool = False, in_breadth: bool = False
                  ) -> tuple[tuple[str, float], ...]:
    """``--method NAME[=WEIGHT]`` specs (default: the five code heuristics, uniform), plus the
    in-depth / in-breadth families when asked, as :attr:`EvolveConfig.methods`."""
    chosen: dict[str, float] = {}
    for spec in specs or list(CODE_METHODS):
        name, _, weight = spec.partition("=")
        if name not in ALL_METHODS:
            raise WizardCoderError(f"--method {spec}: unknown method {name!r} (choose from {', '.join(ALL_METHODS)})")
        try:
            w = float(weight) if weight else 1.0
        except ValueError:
            w = -1.0
        if not w >= 0:  # NaN too
            raise WizardCoderError(f"--method {spec}: the weight must be a number >= 0")
        chosen[name] = w
    for extra, on in ((DEPTH_METHODS, in_depth), (BREADTH_METHODS, in_breadth)):
        if on:
            chosen.update({k: chosen.get(k, 1.0) for k in extra})
    if not any(chosen.values()):
        raise WizardCoderError("--method: every weight is 0")
    return tuple(chosen.items())


LIMITS = "Pacing and retries"
DATA = "Dataset"


@dataclass
class EvolveJob:
    """One evolve run: where, with which teacher and settings, and how to pace it. The flags of
    ``wizardcoder evolve`` not about the teacher come from these fields and EvolveConfig's."""

    output: Path = setting(dataclasses.MISSING, cli=False)
    teacher: EngineSpec = setting(dataclasses.MISSING, cli=False)  # base_url: a server; else an in-process engine
    config: EvolveConfig = setting(dataclasses.MISSING, cli=False)
    seeds: Path | None = setting(None, cli=False)
    limit: int | None = setting(None, ge=1, integer=True, help="Only the first N seeds.")
    lenient: bool = setting(False, "--lenient", help="Skip bad seed rows (counted) instead of stopping.")
    resume: bool = setting(False, "--resume", help="Continue the run in --output (after a kill, Ctrl-C, or to add "
                           "--rounds): finished requests are not sent again.")
    overwrite: bool = setting(False, "--overwrite", help="Start the run in --output over.")
    rpm: float | None = setting(None, gt=0, panel=LIMITS, help="Requests per minute at most.")
    tpm: float | None = setting(None, gt=0, panel=LIMITS, help="Tokens per minute at most.")
    backoff: float = setting(1.0, ge=0, panel=LIMITS, help="First retry delay, s (doubles, jittered, at most 60 s; "
                             "Retry-After is honoured).")
    max_failures: int = setting(20, ge=1, integer=True, panel=LIMITS, help="Stop after this many requests in a row "
                                "failed every retry (the teacher is down); --resume continues.")
    dedup_threshold: float | None = setting(0.8, gt=0, le=1, panel=DATA, help="MinHash Jaccard at which rows count "
                                            "as near-duplicates (--no-dedup: keep them).")
    decontaminate: bool = setting(True, "--decontaminate/--no-decontam", panel=DATA, help="Remove rows that share "
                                  "a word n-gram with HumanEval(+) or MBPP(+) prompts and solutions.")
    decontam_multiple: bool = setting(True, "--decontam-multiple/--no-decontam-multiple", panel=DATA, since="0.2",
                                      before=False, help="Also remove rows that share a word n-gram with a MultiPL-E "
                                      "prompt (HumanEval and MBPP in 21 other languages; not to be trained on). "
                                      "The files come as for eval: data directory, cache, or download.")
    decontam_ngram: int = setting(10, ge=3, integer=True, panel=DATA, help="Word n-gram shared with a benchmark "
                                  "prompt or solution that removes a row.")
    benchmark_paths: dict[str, str] = setting(None, cli=False, default_factory=dict)

    def __post_init__(self) -> None:
        check_fields(self)
        if self.resume and self.overwrite:
            raise WizardCoderError("--resume and --overwrite exclude each other")
