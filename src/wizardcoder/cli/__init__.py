"""The ``wizardcoder`` command line: one short module per command, over the Python API.

Each module only parses options (derived from the settings objects where one exists: see
``_options``), calls the library and prints; ``run`` turns every user-facing failure into one line.
"""

from __future__ import annotations

from wizardcoder.cli import (  # noqa: F401  (registers)
    evaluate,
    evolve,
    generate,
    harness,
    interactive,
    recipe,
    sandbox,
    train,
)
from wizardcoder.cli._app import app
from wizardcoder.cli._errors import run

__all__ = ["app", "run"]
