"""Where the toolkit keeps what it downloads or computes once: one place for every module."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """Where downloads and expected outputs are kept (``WIZARDCODER_CACHE_DIR`` overrides)."""
    env = os.environ.get("WIZARDCODER_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "wizardcoder"


def envs_dir() -> Path:
    """Where benchmark execution environments live (``WIZARDCODER_ENVS_DIR`` overrides): gigabytes,
    made once, shared by every cache that points here."""
    env = os.environ.get("WIZARDCODER_ENVS_DIR")
    return Path(env) if env else cache_dir() / "envs"
