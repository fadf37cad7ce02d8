"""The hostile suite: every attack in attacks.ATTACKS, in each mode, must be contained.

Each case asserts the whole list in attacks.py: verdict not pass, bounded wall time, canaries in
the project and $HOME untouched, no process left, decoy host process alive, no connection to the
loopback listener, the secret nowhere in the result, and a correct program passing right after.
Attacks that could harm the host without a PID namespace are skipped where there is none.
"""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from wizardcoder.harness.attacks import ATTACKS, _expected, _stage, run_attack
from wizardcoder.sandbox.sandbox import Limits, Sandbox

ROOT = Path(__file__).resolve().parents[1]
# Attacks in other languages compile (C++) or run to MultiPL-E's 15 s limit (fork bombs): the full tier
# runs them all, the fast one a JavaScript and a Bash attack.
FAST_OTHER = ("JavaScript: kill the harness, spawn a daemon, exit 0 early",
              "Bash: read the environment, write and connect outside")
CASES = [pytest.param(a, mode, id=f"{a.name}-{mode}",
                      marks=[pytest.mark.slow] if mode not in ("script", "io") and a.name not in FAST_OTHER else [])
         for a in ATTACKS for mode in a.modes]
RESULTS: dict[str, bool] = {}


@pytest.fixture(scope="module")
def hostile_sandbox():
    # Tighter than the defaults so that the many-process memory bomb meets the sandbox's cgroup, and a
    # process cap of 128 tasks (4 x 32) rather than 256: the kernel's teardown of a fork bomb of 256
    # processes (killed processes queue on shared mm locks: anon_vma_clone, unlink_anon_vmas, dup_mmap)
    # took up to 30 s here, at 128 at most 6.1 s (bench/forkbomb_teardown.py, bench/RESULTS.md). The
    # wall bound is about containment, not that kernel's locks.
    with Sandbox(Limits(memory_bytes=1 << 30, sandbox_memory_bytes=2 << 30, processes=32)) as sb:
        yield sb


@pytest.fixture(scope="module")
def stage(tmp_path_factory):
    with _stage(ROOT) as st:
        st["expected"] = _expected(tmp_path_factory.mktemp("expected"))
        yield st


@pytest.mark.parametrize("attack,mode", CASES)
def test_attack_is_contained(hostile_sandbox, stage, attack, mode):
    outcome = run_attack(hostile_sandbox, attack, mode, stage, stage["expected"])
    if outcome.status == "not run":
        pytest.skip(outcome.note)
    RESULTS[f"{attack.name} [{mode}]"] = outcome.contained
    assert outcome.contained, outcome.breaches
    assert outcome.status in ("fail", "timeout", "error")


def test_the_suite_is_large_and_all_contained():
    assert len(ATTACKS) >= 25
    if not RESULTS:
        pytest.skip("counts the attack cases of this module: run them with it")
    contained = sum(RESULTS.values())
    print(f"\nhostile suite: {contained}/{len(RESULTS)} contained ({len(CASES) - len(RESULTS)} not run here)")
    assert contained == len(RESULTS)


def test_sandbox_check_command(tmp_path):
    import json
    import subprocess
    import sys

    out = tmp_path / "attacks.jsonl"
    proc = subprocess.run([sys.executable, "-m", "wizardcoder.cli", "sandbox-check", "-a", "sys.exit(0) before",
                           "-a", "secret", "--project", str(tmp_path), "-o", str(out)], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 4 and all(r["contained"] and r["status"] != "pass" for r in rows)
    assert "contained 4/4" in proc.stdout


def test_a_fork_bomb_next_door_does_not_fail_a_correct_program(hostile_sandbox):
    import threading

    from wizardcoder.harness.attacks import CORRECT, SCRIPT_TESTS, SETTINGS
    from wizardcoder.harness.checker import check_script
    from wizardcoder.harness.datasets import Task

    if not hostile_sandbox.ensure_started().get("process_limit"):
        pytest.skip("no process cap here: a fork bomb is not run")
    bomb = next(a for a in ATTACKS if a.name == "fork bomb").code
    task = Task("Attack/0", "f", "", "", tests=SCRIPT_TESTS)
    verdicts = {}
    thread = threading.Thread(target=lambda: verdicts.setdefault("bomb", check_script(hostile_sandbox, task, bomb, SETTINGS)))
    thread.start()
    time.sleep(0.5)  # the bomb now holds the sandbox's process cap
    # CPU time is not contained (docs/sandbox.md): 256 spinning processes next door may slow the
    # innocent for the bomb's 1 s limit, so it gets 10 s. What is tested is the process cap.
    patient = dataclasses.replace(SETTINGS, min_time_limit=10.0, script_time_limit=10.0)
    innocent = [check_script(hostile_sandbox, task, CORRECT, patient) for _ in range(3)]
    thread.join()
    assert verdicts["bomb"].base_status == "timeout"
    assert [v.base_status for v in innocent] == ["pass"] * 3, [v.error for v in innocent]
