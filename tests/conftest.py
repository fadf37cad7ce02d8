"""Shared fixtures: the project's data copies (../shared/data) and a session-wide cache."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = ROOT.parent / "shared" / "data"
TEST_DATA = Path(__file__).parent / "data"

needs_data = pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="../shared/data is not present")


@pytest.fixture(scope="session", autouse=True)
def _env(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Point the package at the data copies and at a cache private to this test session."""
    cache = tmp_path_factory.mktemp("cache")
    os.environ["WIZARDCODER_CACHE_DIR"] = str(cache)
    if SHARED_DATA.is_dir():
        os.environ["WIZARDCODER_DATA_DIR"] = str(SHARED_DATA)
    for var in ("WIZARDCODER_HUMANEVAL_PATH", "WIZARDCODER_HUMANEVALPLUS_PATH", "WIZARDCODER_MBPP_PATH",
                "WIZARDCODER_MBPPPLUS_PATH"):
        os.environ.pop(var, None)


@pytest.fixture(scope="session")
def sandbox():
    from wizardcoder.bench.execution.sandbox import Sandbox

    with Sandbox() as sb:
        yield sb
