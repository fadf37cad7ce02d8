"""wizardcoder: run, evaluate, evolve and fine-tune WizardCoder-style code LLMs.

``from wizardcoder import evaluate, generate, evolve, train`` (see :mod:`wizardcoder.api`). The names
are imported on first use, so ``import wizardcoder`` stays fast and pulls in no torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

_LAZY = {
    "evaluate": "wizardcoder.api", "generate": "wizardcoder.api", "evolve": "wizardcoder.api",
    "train": "wizardcoder.api", "EvalSummary": "wizardcoder.api", "GenerateStats": "wizardcoder.api",
    "EngineSpec": "wizardcoder.engines.spec", "SamplingParams": "wizardcoder.engines.base",
    "EvalConfig": "wizardcoder.harness.evaluate", "TimeSettings": "wizardcoder.harness.checker",
    "Limits": "wizardcoder.sandbox.sandbox", "EvolveConfig": "wizardcoder.evol.config",
    "TrainConfig": "wizardcoder.training.config", "WizardCoderError": "wizardcoder.errors",
    "recipe_run": "wizardcoder.recipe", "recipe_plan": "wizardcoder.recipe", "recipe_report": "wizardcoder.recipe",
}
__all__ = ["EngineSpec", "EvalConfig", "EvalSummary", "EvolveConfig", "GenerateStats", "Limits", "SamplingParams",
           "TimeSettings", "TrainConfig", "WizardCoderError", "__version__", "evaluate", "evolve", "generate",
           "recipe_plan", "recipe_report", "recipe_run", "train"]

if TYPE_CHECKING:
    __version__: str  # the installed distribution's version, read on first use (see __getattr__)

    from wizardcoder.api import EvalSummary, GenerateStats, evaluate, evolve, generate, train
    from wizardcoder.engines.base import SamplingParams
    from wizardcoder.engines.spec import EngineSpec
    from wizardcoder.errors import WizardCoderError
    from wizardcoder.evol.config import EvolveConfig
    from wizardcoder.harness.checker import TimeSettings
    from wizardcoder.harness.evaluate import EvalConfig
    from wizardcoder.recipe import recipe_plan, recipe_report, recipe_run
    from wizardcoder.sandbox.sandbox import Limits
    from wizardcoder.training.config import TrainConfig


def _version() -> str:
    """The version pip installed (pyproject.toml's); "0+unknown" for a source tree never installed."""
    from importlib.metadata import PackageNotFoundError, version  # tens of ms: only when asked

    try:
        return version("wizardcoder")
    except PackageNotFoundError:
        return "0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":
        value: Any = _version()
    elif name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
    else:
        raise AttributeError(f"module 'wizardcoder' has no attribute {name!r}")
    globals()[name] = value
    return value
