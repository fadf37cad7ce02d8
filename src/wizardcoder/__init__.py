"""wizardcoder: run, evaluate, evolve and fine-tune WizardCoder-style code LLMs.

``from wizardcoder import evaluate, generate, evolve, train`` (see :mod:`wizardcoder.api`). The names
are imported on first use, so ``import wizardcoder`` stays fast and pulls in no torch.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_LAZY = {
    "evaluate": "wizardcoder.api", "generate": "wizardcoder.api", "evolve": "wizardcoder.api",
    "train": "wizardcoder.api", "EvalSummary": "wizardcoder.api", "GenerateStats": "wizardcoder.api",
    "EngineSpec": "wizardcoder.engines.spec", "SamplingParams": "wizardcoder.engines.base",
    "EvalConfig": "wizardcoder.harness.evaluate", "TimeSettings": "wizardcoder.harness.checker",
    "Limits": "wizardcoder.sandbox.sandbox", "EvolveConfig": "wizardcoder.evol.pipeline",
    "TrainConfig": "wizardcoder.training.config", "WizardCoderError": "wizardcoder.errors",
}
__all__ = ["EngineSpec", "EvalConfig", "EvalSummary", "EvolveConfig", "GenerateStats", "Limits", "SamplingParams",
           "TimeSettings", "TrainConfig", "WizardCoderError", "__version__", "evaluate", "evolve", "generate", "train"]

if TYPE_CHECKING:
    from wizardcoder.api import EvalSummary, GenerateStats, evaluate, evolve, generate, train
    from wizardcoder.engines.base import SamplingParams
    from wizardcoder.engines.spec import EngineSpec
    from wizardcoder.errors import WizardCoderError
    from wizardcoder.evol.pipeline import EvolveConfig
    from wizardcoder.harness.checker import TimeSettings
    from wizardcoder.harness.evaluate import EvalConfig
    from wizardcoder.sandbox.sandbox import Limits
    from wizardcoder.training.config import TrainConfig


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'wizardcoder' has no attribute {name!r}")
