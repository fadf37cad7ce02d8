"""DS-1000: data-science problems judged by their own code, the official way, inside the sandbox.

A problem's ``code_context`` builds its test inputs, the expected outputs (from the reference
solution), the checks, and ``test_execution(solution)``, which splices the answer into the problem's
``exec_context`` and runs it for each test case. The program is exactly the official one
(``code_context + "\\ncode = " + repr(answer) + "\\ntest_execution(code)\\n"``, plus ``test_string(code)``
where the context defines it) and it passes iff it runs to its end without an exception within 120 s.

Where ours differs from xlang-ai/DS-1000's ``test_ds1000.py``, on purpose:

- it runs in the sandbox (no network, read-only file system, a private working directory), with the
  pinned libraries of ``pyenv.DS1000_ENV`` imported once in the zygote and forked per job;
- limits: 16 GiB of address space (TensorFlow and PyTorch map gigabytes at import), 512 threads;
- the answer's checks run in the answer's own process, as they do officially: a program that tampers
  with them (patching ``numpy.testing``) can pass in both. The sandbox contains what a program can do
  to the machine; it cannot make DS-1000's checks tamper-proof. A program that ends early without error
  (``os._exit(0)``) fails, as officially (no "passed" result).
"""

from __future__ import annotations

import ast
import dataclasses
import re
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from wizardcoder.harness.checker import ERROR, FAIL, GRACE, PASS, TIMEOUT, Verdict
from wizardcoder.harness.datasets import Task
from wizardcoder.harness.postprocess import parse
from wizardcoder.sandbox.sandbox import STOP, Limits, Sandbox

if TYPE_CHECKING:
    from wizardcoder.harness.pyenv import PythonEnv

TIMEOUT_SECONDS = 120.0  # the official check_correctness(program, timeout=120)
MEMORY_BYTES = 16 << 30
PROCESSES = 512  # RLIMIT_NPROC counts threads: TensorFlow's and PyTorch's pools
TMPDIR_BYTES = 256 << 20  # Matplotlib problems write PNGs; some write CSV files

# The instruction shown to instruction-tuned models: the system message chat models get in common
# DS-1000 harnesses (inspect_evals' default), then the problem; the WizardCoder authors published none.
# A base model continues the problem's prompt (it ends with "<code>") instead.
INSTRUCTION = ("Write a short code following the given format and indentation. Place the executable code "
               "between <code> and </code> tags, without any other non-executable things.\n\n")
STOP_STRINGS = ("</code>",)
# Modules a library's checks import on first use, beyond what the problems import: imported in that
# library's zygote too. torch.testing.assert_close pulls in torch._dynamo (sympy, ~800 modules): 0.5 s
# of each PyTorch problem's 0.55 s otherwise (measured on the reference solutions, 2 cores).
WARM_IMPORTS: dict[str, tuple[str, ...]] = {"Pytorch": ("torch._dynamo",)}


def clean(answer: str) -> str:
    """DS-1000's official answer cleanup (``postprocess`` in test_ds1000.py), in its order."""
    answer = answer.split("</code>")[0]
    answer = answer.replace("```python", "")
    answer = answer.split("```")[0]
    answer = answer.split("\nEND SOLUTION")[0]
    return answer.replace("<code>", "")


def program(task: Task, answer: str) -> str:
    """The official test program for ``answer``."""
    return (task.context + "\n" + f"code = {answer!r}\n" + "test_execution(code)\n"
            + ("test_string(code)\n" if "test_string(" in task.context else "\n"))


def instruction(task: Task) -> str:
    return INSTRUCTION + task.prompt


def preload_modules(tasks: Iterable[Task]) -> list[str]:
    """Every module the problems' contexts import: the zygote imports them once for all jobs."""
    found: set[str] = set()
    for task in tasks:
        for source in (task.context, *re.findall(r'exec_context = r?"""(.*?)"""', task.context, re.S)):
            try:
                tree = parse(source)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    found.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    found.add(node.module)
    return sorted(found)


def sized_limits(limits: Limits) -> Limits:
    """The sample limits raised to what DS-1000's libraries need (never lowered)."""
    return dataclasses.replace(limits, memory_bytes=max(limits.memory_bytes, MEMORY_BYTES),
                               processes=max(limits.processes, PROCESSES),
                               tmpdir_bytes=max(limits.tmpdir_bytes, TMPDIR_BYTES))


class LibrarySandboxes:
    """One sandbox per DS-1000 library, each zygote with only that library's problems' imports.

    Forking a zygote that holds TensorFlow and PyTorch (2 GB mapped, 800 MB resident) and tearing the
    copy down costs tens of milliseconds per job, more than a pandas problem's whole run: a pandas
    problem forks from a zygote holding pandas. Started on first use, or all at once by ``ensure_started``."""

    def __init__(self, env: PythonEnv, tasks: Iterable[Task], limits: Limits | None = None) -> None:
        self.env, self.limits = env, sized_limits(limits or Limits())
        self.modules: dict[str, set[str]] = {}
        for task in tasks:
            self.modules.setdefault(task.library, set(WARM_IMPORTS.get(task.library, ()))).update(
                preload_modules([task]))
        self.boxes: dict[str, Sandbox] = {}
        self._share = env.share()
        self._lock = threading.Lock()

    def for_task(self, task: Task) -> Sandbox:
        with self._lock:
            box = self.boxes.get(task.library)
            if box is None:
                preload = sorted(self.modules.get(task.library) or preload_modules([task]))
                box = self.boxes[task.library] = Sandbox(self.limits, python=self.env.python, share=self._share,
                                                         env=self.env.environment, preload=preload)
        return box

    def ensure_started(self) -> dict[str, Any]:
        """Start every library's zygote (two at a time); what is in force, as one sandbox's status with
        the preload counts and errors of all."""
        for library in self.modules:
            self.for_task(Task("", "", "", "", library=library))
        with ThreadPoolExecutor(max_workers=2) as pool:
            statuses = list(pool.map(lambda b: b.ensure_started(), list(self.boxes.values())))
        merged = dict(statuses[0]) if statuses else {}
        if statuses:
            merged["preloaded"] = sum(s.get("preloaded", 0) for s in statuses)
            merged["preload_errors"] = [e for s in statuses for e in s.get("preload_errors", [])]
            merged["zygotes"] = len(statuses)
        return merged

    def abort(self) -> None:
        for box in list(self.boxes.values()):
            box.abort()

    def close(self) -> None:
        for box in list(self.boxes.values()):
            box.close()

    def __enter__(self) -> LibrarySandboxes:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_sandbox(env: PythonEnv, tasks: Iterable[Task], limits: Limits | None = None) -> LibrarySandboxes:
    """Sandboxes whose zygotes run ``env``'s interpreter with the problems' libraries imported."""
    return LibrarySandboxes(env, tasks, limits)


def check_ds1000(box: Sandbox | LibrarySandboxes, task: Task, answer: str, timeout: float = TIMEOUT_SECONDS
                 ) -> Verdict:
    """Run the official program for ``answer`` in the sandbox; pass iff it raised nothing."""
    sandbox = box.for_task(task) if isinstance(box, LibrarySandboxes) else box
    got: dict = {}

    def on_record(rec: dict) -> float | None:
        if rec.get("k") == "load":
            got.update(rec)
            return STOP
        if rec.get("k") == "end":
            return STOP
        got.setdefault("unexpected", rec)
        return STOP

    job = {"mode": "program", "code": program(task, answer), "load_limit": timeout}
    ex = sandbox.execute(job, first_wait=timeout + GRACE, wall_timeout=timeout + 2 * GRACE, on_record=on_record,
                         rlimits={"RLIMIT_NPROC": max(PROCESSES, sandbox.limits.processes)},
                         memory_bytes=max(MEMORY_BYTES, sandbox.limits.memory_bytes))
    verdict = Verdict(base_status=PASS, n_passed=1, n_tests=1, seconds=ex.seconds)
    if got.get("ok") is True and "unexpected" not in got:
        return verdict
    verdict.n_passed = 0
    verdict.failed_phase = "base"
    if "status" in got:
        error = str(got.get("error", ""))
        verdict.base_status = TIMEOUT if got["status"] == "timeout" else \
            FAIL if error.startswith("AssertionError") else ERROR
        verdict.error = error[:500] or None
    elif ex.timed_out:
        verdict.base_status, verdict.error = TIMEOUT, f"no result within {timeout:.0f} s"
    else:
        verdict.base_status = ERROR
        tail = ex.output.decode("utf-8", "replace").strip()[-300:]
        verdict.error = ("the program ended before its tests finished" + (f": {tail}" if tail else ""))[:500]
    return verdict
