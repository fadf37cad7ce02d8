"""Run untrusted code in separate processes, with limits, and stream back what it reports.

The harness process never executes sample code. A zygote interpreter (see ``runner.py``) is
started once with a scrubbed environment, in a new user + network namespace when the kernel
allows it, and forks one child per job. For each job the harness:

- creates a private working directory, removed afterwards;
- hands the child its job, a record channel and an output pipe (captured, capped);
- applies resource limits in the child (address space, file size, open files, CPU, no core);
- watches deadlines itself (a per-record wait and a wall limit), and kills the child's whole
  process group on timeout, on an early stop, and after every job (daemons included).

Verdicts are built by the caller from the records; the exit status is never trusted.
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wizardcoder.bench.execution.runner import loads

RUNNER = Path(__file__).with_name("runner.py")

STOP = None  # returned by an on_record callback to end the job early


@dataclass(frozen=True)
class Limits:
    """Resource limits for one sandboxed job."""

    memory_bytes: int = 4 << 30
    file_size_bytes: int = 64 << 20
    open_files: int = 256
    output_bytes: int = 64 << 10
    isolate_network: bool | None = None  # None: when the kernel allows it

    def rlimits(self, cpu_seconds: float) -> dict[str, int]:
        return {
            "RLIMIT_AS": self.memory_bytes,
            "RLIMIT_DATA": self.memory_bytes,
            "RLIMIT_STACK": self.memory_bytes,  # as evalplus: deep recursion may use it all
            "RLIMIT_FSIZE": self.file_size_bytes,
            "RLIMIT_NOFILE": self.open_files,
            "RLIMIT_CORE": 0,
            "RLIMIT_CPU": max(1, int(cpu_seconds) + 1),
        }


@dataclass
class Execution:
    """What one job produced, as seen from outside."""

    n_records: int = 0
    output: bytes = b""
    timed_out: bool = False  # the harness killed it at a deadline
    stopped: bool = False  # the caller asked to stop early
    finished: bool = False  # the child reported the end of its job
    seconds: float = 0.0
    pid: int | None = None


def parse_record(line: bytes) -> dict:
    """One record line. Output records keep their value as raw JSON (``raw``), unparsed:
    the harness can often judge it by its digest alone, which is much cheaper for big outputs."""
    try:
        if line.startswith(b'{"k":"out",'):
            pos = line.find(b',"v":')
            record = json.loads(line[:pos] + b"}")
            record["raw"] = line[pos + 5 : -1]
            return record
        record = loads(line)
    except (ValueError, RecursionError):
        record = None
    if not isinstance(record, dict):
        return {"k": "garbage", "data": line[:200].decode(errors="replace")}
    return record


def _scrubbed_env() -> dict[str, str]:
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "PYTHONHASHSEED": "0",  # set/str ordering identical across runs and cache reuse
        "PYTHONDONTWRITEBYTECODE": "1",
        "OMP_NUM_THREADS": "1",
        "OPENBLAS_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    return env


_NETNS_OK: bool | None = None


def network_isolation_available() -> bool:
    """Whether `unshare -Urn` works here (user + network namespaces)."""
    global _NETNS_OK
    if _NETNS_OK is None:
        exe = shutil.which("unshare")
        ok = False
        if exe and sys.platform.startswith("linux"):
            try:
                ok = subprocess.run([exe, "-Urn", "true"], capture_output=True, timeout=10).returncode == 0
            except (OSError, subprocess.SubprocessError):
                ok = False
        _NETNS_OK = ok
    return _NETNS_OK


class Sandbox:
    """A pool-safe front to the zygote; ``execute`` may be called from many threads."""

    def __init__(self, limits: Limits | None = None, python: str | None = None) -> None:
        self.limits = limits or Limits()
        self.python = python or sys.executable
        want = self.limits.isolate_network
        self.network_isolated = network_isolation_available() if want is None else want
        if want and not network_isolation_available():
            raise RuntimeError("network isolation requested but `unshare -Urn` does not work here")
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._ctrl: socket.socket | None = None
        self._root = Path(tempfile.mkdtemp(prefix="wizardcoder-sandbox-"))
        self._active: set[int] = set()
        self._aborted = threading.Event()

    # -- zygote lifecycle ------------------------------------------------------------------
    def _start(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        argv = [self.python, "-I", str(RUNNER), "--zygote", str(child.fileno())]
        if self.network_isolated:
            argv = [shutil.which("unshare") or "unshare", "-Urn", *argv]
        self._proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(child.fileno(),),
            env=_scrubbed_env(),
            cwd=self._root,
            start_new_session=True,
        )
        child.close()
        self._ctrl = parent

    def _send(self, header: bytes, fds: list[int]) -> None:
        with self._lock:
            for attempt in range(2):
                if self._proc is None or self._proc.poll() is not None:
                    self._start()
                try:
                    socket.send_fds(self._ctrl, [header], fds)  # type: ignore[arg-type]
                    return
                except OSError:
                    self._kill_zygote()
                    if attempt:
                        raise

    def _kill_zygote(self) -> None:
        if self._ctrl is not None:
            self._ctrl.close()
            self._ctrl = None
        if self._proc is not None:
            try:
                os.killpg(self._proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            self._proc.wait()
            self._proc = None

    def abort(self) -> None:
        """Kill every running job (Ctrl-C): their ``execute`` calls return at once."""
        self._aborted.set()
        for pid in list(self._active):
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def close(self) -> None:
        with self._lock:
            self._kill_zygote()
        shutil.rmtree(self._root, ignore_errors=True)

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- one job ---------------------------------------------------------------------------
    def execute(
        self,
        job: dict,
        *,
        first_wait: float,
        wall_timeout: float,
        on_record: Callable[[dict], float | tuple[float, bytes] | None],
        memory_bytes: int | None = None,
    ) -> Execution:
        """Run ``job``; ``on_record`` gets each record and returns the next wait or STOP, or
        ``(wait, answer)`` to also send the child a one-byte answer.

        ``first_wait`` bounds the time to the first result record (load included);
        ``wall_timeout`` bounds the whole job; ``memory_bytes`` overrides the address-space
        limit (-1: none).
        """
        result = Execution()
        if self._aborted.is_set():
            raise KeyboardInterrupt
        workdir = tempfile.mkdtemp(dir=self._root)
        job_r, job_w = os.pipe()
        res_r, res_w = os.pipe()
        out_r, out_w = os.pipe()
        ctl_r, ctl_w = os.pipe()  # the harness's one-byte answers to "dig" records
        rlimits = self.limits.rlimits(wall_timeout)
        if memory_bytes is not None:
            rlimits.update(RLIMIT_AS=memory_bytes, RLIMIT_DATA=memory_bytes, RLIMIT_STACK=memory_bytes)
        header = json.dumps({"workdir": workdir, "rlimits": rlimits}).encode()
        start = time.monotonic()
        try:
            self._send(header, [job_r, res_w, out_w, ctl_r])
        finally:
            for fd in (job_r, res_w, out_w, ctl_r):
                os.close(fd)
        payload = memoryview(json.dumps(job, separators=(",", ":")).encode())
        for fd in (job_w, res_r, out_r):
            os.set_blocking(fd, False)
        sel = selectors.DefaultSelector()
        sel.register(job_w, selectors.EVENT_WRITE)
        sel.register(res_r, selectors.EVENT_READ)
        sel.register(out_r, selectors.EVENT_READ)
        open_fds = {job_w, res_r, out_r, ctl_w}
        out_parts: list[bytes] = []
        out_size = 0
        partial: list[bytes] = []  # pieces of a record line not yet ended by a newline
        hard_deadline = start + wall_timeout
        next_deadline = start + first_wait
        started = False
        try:
            while res_r in open_fds:
                now = time.monotonic()
                deadline = min(hard_deadline, next_deadline)
                if now >= deadline:
                    result.timed_out = True
                    break
                for key, _ in sel.select(deadline - now):
                    fd = key.fd
                    if fd == job_w:
                        try:
                            n = os.write(job_w, payload[:65536])
                            payload = payload[n:]
                        except BrokenPipeError:
                            payload = payload[:0]
                        if not payload:
                            sel.unregister(job_w)
                            os.close(job_w)
                            open_fds.discard(job_w)
                        continue
                    try:
                        chunk = os.read(fd, 1 << 20)
                    except BlockingIOError:
                        continue
                    if fd == out_r:
                        if not chunk:
                            sel.unregister(out_r)
                            os.close(out_r)
                            open_fds.discard(out_r)
                        elif out_size < self.limits.output_bytes:
                            out_parts.append(chunk[: self.limits.output_bytes - out_size])
                            out_size += len(out_parts[-1])
                        continue
                    if not chunk:
                        sel.unregister(res_r)
                        os.close(res_r)
                        open_fds.discard(res_r)
                        break
                    if b"\n" not in chunk:
                        partial.append(chunk)
                        continue
                    first, *lines = chunk.split(b"\n")
                    rest = lines.pop()
                    lines.insert(0, b"".join(partial) + first if partial else first)
                    partial = [rest] if rest else []
                    for line in lines:
                        record = parse_record(line)
                        kind = record.get("k")
                        if kind == "hello" and not started:
                            started = True
                            result.pid = int(record["pid"])
                            self._active.add(result.pid)
                            if self._aborted.is_set():
                                os.killpg(result.pid, signal.SIGKILL)
                            continue
                        if kind == "end":
                            result.finished = True
                            continue
                        result.n_records += 1
                        wait = on_record(record)
                        if isinstance(wait, tuple):
                            wait, answer = wait
                            try:
                                os.write(ctl_w, answer)
                            except OSError:
                                pass
                        if wait is STOP:
                            result.stopped = True
                            break
                        next_deadline = time.monotonic() + wait
                    if result.stopped:
                        break
                if result.stopped:
                    break
        finally:
            if result.pid is not None:
                self._active.discard(result.pid)
                try:
                    os.killpg(result.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
            # Whatever the child wrote before dying is still worth showing.
            if out_r in open_fds:
                try:
                    while out_size < self.limits.output_bytes:
                        chunk = os.read(out_r, 1 << 16)
                        if not chunk:
                            break
                        out_parts.append(chunk[: self.limits.output_bytes - out_size])
                        out_size += len(out_parts[-1])
                except (BlockingIOError, OSError):
                    pass
            sel.close()
            for fd in open_fds:
                os.close(fd)
            shutil.rmtree(workdir, ignore_errors=True)
        result.output = b"".join(out_parts)
        result.seconds = time.monotonic() - start
        if self._aborted.is_set():
            raise KeyboardInterrupt
        return result
