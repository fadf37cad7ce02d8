"""Shared fixtures: the data the tests carry (tests/data, see its README) and a session-wide cache.

No test reads anything outside the repository: a fresh clone runs the whole suite offline.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TEST_DATA = Path(__file__).parent / "data"
BENCH_DATA = TEST_DATA / "benchmarks"  # the official benchmark files, unchanged
CODE_ALPACA = TEST_DATA / "code_alpaca_200.json"  # the first 200 rows of Code Alpaca 2k (seeds)


@pytest.fixture(scope="session", autouse=True)
def _env(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Point the package at the carried benchmark files and at a cache private to this test session."""
    cache = tmp_path_factory.mktemp("cache")
    from wizardcoder.paths import envs_dir

    # benchmark environments (DS-1000's libraries, gigabytes) are made once per machine (`wizardcoder env
    # ds1000`, run by .ci/run), not per test session: keep using the real ones
    os.environ.setdefault("WIZARDCODER_ENVS_DIR", str(envs_dir()))
    os.environ["WIZARDCODER_CACHE_DIR"] = str(cache)
    os.environ["WIZARDCODER_DATA_DIR"] = str(BENCH_DATA)
    for var in ("WIZARDCODER_HUMANEVAL_PATH", "WIZARDCODER_HUMANEVALPLUS_PATH", "WIZARDCODER_MBPP_PATH",
                "WIZARDCODER_MBPPPLUS_PATH"):
        os.environ.pop(var, None)


@pytest.fixture(scope="session")
def sandbox():
    from wizardcoder.sandbox.sandbox import Sandbox

    with Sandbox() as sb:
        yield sb
