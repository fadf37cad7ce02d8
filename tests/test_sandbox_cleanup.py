"""A job that goes wrong on the harness's side (a failing ``on_record``, a job that cannot be encoded)
is still killed, and leaves no file descriptor or pidfd behind."""

from __future__ import annotations

import os
import time

import pytest

from wizardcoder.harness.attacks import sandbox_processes

SLEEPER = "import time\ndef f(x):\n    time.sleep(30)\n"


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _no_processes_left(sandbox) -> bool:
    deadline = time.monotonic() + 5
    while sandbox_processes(sandbox) and time.monotonic() < deadline:
        time.sleep(0.05)
    return sandbox_processes(sandbox) == []


def _job(code: str, **extra: object) -> dict:
    return {"mode": "io", "code": code, "entry_point": "f", "inputs": [[1]], "time_limits": [30.0], "load_limit": 5.0,
            **extra}


def test_a_failing_on_record_kills_the_job(sandbox):
    sandbox.ensure_started()
    before = _fds()

    def on_record(rec: dict) -> float:
        raise RuntimeError("a bug in the caller")

    with pytest.raises(RuntimeError, match="a bug in the caller"):
        sandbox.execute(_job(SLEEPER), first_wait=10, wall_timeout=20, on_record=on_record)
    assert _no_processes_left(sandbox)
    assert _fds() == before


def test_a_job_that_cannot_be_encoded_is_killed_once_started(sandbox):
    sandbox.ensure_started()
    before = _fds()
    with pytest.raises(TypeError):
        sandbox.execute(_job(SLEEPER, extra=object()), first_wait=10, wall_timeout=20, on_record=lambda rec: 5.0)
    assert _no_processes_left(sandbox)
    assert _fds() == before
    # the zygote is fine: the next job runs
    records: list[dict] = []
    ex = sandbox.execute(_job("def f(x):\n    return x\n"), first_wait=10, wall_timeout=20,
                         on_record=lambda rec: records.append(rec) or 5.0)
    assert ex.finished and [r["k"] for r in records][-1] == "out"
