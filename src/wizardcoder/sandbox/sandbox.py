"""Run untrusted code in separate processes, with limits, and stream back what it reports.

The harness process never executes sample code. A zygote interpreter (see ``runner.py``) is
started once with a scrubbed environment, in new user + network namespaces when the kernel allows
it, where it makes every mount read-only, masks the home directory and drops into a cgroup with
process and memory caps when it can (root). Per job a launcher (forked ahead of time) starts the
sample's process as the first process of a new PID namespace; the sample's process mounts its own
/proc and a private, size-capped tmpfs as the working directory, then drops every capability and
takes the rlimits. In script mode the launcher stays on as the supervisor that runs the tests.
The harness:

- hands the job a record channel and an output pipe (captured, capped);
- learns the launcher's and the sample's PIDs from the launcher (never from the sample) and holds
  pidfds on them;
- watches deadlines itself (a per-record wait and a wall limit) and kills both on timeout, on an
  early stop and after every job: the kernel then kills every process of the job's PID namespace,
  daemons included.

Verdicts are built by the caller from the records; the exit status is never trusted. The threat
model is in docs/sandbox.md.
"""

from __future__ import annotations

import json
import os
import select
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from wizardcoder.errors import WizardCoderError
from wizardcoder.sandbox.codec import loads
from wizardcoder.settings import check_choice, check_number

RUNNER = Path(__file__).with_name("runner.py")

STOP = None  # returned by an on_record callback to end the job early
REAP_SECONDS = 30.0  # the longest a job's end waits for its killed processes to exit


@dataclass(frozen=True)
class Limits:
    """Resource limits for one sandboxed job, and how strict the isolation must be."""

    memory_bytes: int = 4 << 30
    file_size_bytes: int = 64 << 20
    open_files: int = 256
    processes: int = 64  # RLIMIT_NPROC of the sample (threads count); a cgroup caps the sandbox as root
    tmpdir_bytes: int = 64 << 20  # the private working directory (tmpfs)
    sandbox_memory_bytes: int = 0  # all jobs together, where a cgroup can be made (0: 3/4 of the RAM)
    output_bytes: int = 64 << 10
    isolation: str = "auto"  # "auto": what the kernel allows; "strict": all of it or refuse; "off"

    def __post_init__(self) -> None:
        check_number("memory_bytes", self.memory_bytes, ge=16 << 20, integer=True)
        for name in ("file_size_bytes", "open_files", "processes", "tmpdir_bytes", "output_bytes"):
            check_number(name, getattr(self, name), ge=1, integer=True)
        check_number("sandbox_memory_bytes", self.sandbox_memory_bytes, ge=0, integer=True)
        check_choice("isolation", self.isolation, ("auto", "strict", "off"))

    def rlimits(self, cpu_seconds: float) -> dict[str, int]:
        return {
            "RLIMIT_AS": self.memory_bytes,
            "RLIMIT_DATA": self.memory_bytes,
            "RLIMIT_STACK": self.memory_bytes,  # as evalplus: deep recursion may use it all
            "RLIMIT_FSIZE": self.file_size_bytes,
            "RLIMIT_NOFILE": self.open_files,
            "RLIMIT_NPROC": self.processes,
            "RLIMIT_CORE": 0,
            "RLIMIT_CPU": max(1, int(cpu_seconds) + 1),
        }


STRICT_NEEDS = ("user_namespace", "network", "pid_namespace", "read_only_root", "private_tmp", "no_capabilities",
                "process_limit")


class JobNotStarted(OSError):
    """The zygote could not start one job (it stays up)."""


class SandboxUnavailable(WizardCoderError):
    """Strict isolation was asked for and the kernel does not allow part of it."""


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


MASKED = ("~", "/tmp", "/var/tmp", "/run", "/var/run", "/dev/shm")


def _paths_to_mask(python: str, root: Path, share: Sequence[str] = ()) -> list[dict]:
    """Directories hidden behind an empty read-only tmpfs: $HOME (secrets) and the places where
    UNIX sockets live (a read-only mount does not stop connect(): docker.sock, ssh-agent, X11...).
    The interpreter's own directories under them (a pyenv install, a virtual environment, an
    editable checkout's src), the jobs' directory and the ``share`` directories (what trusted code
    prepared for the jobs, e.g. a precompiled header in the cache) are mounted back, read-only."""
    needed = {os.path.realpath(p) for p in (os.path.dirname(python), sys.prefix, sys.base_prefix, *sys.path, *share)
              if p}
    needed.add(os.path.realpath(root))
    masks: list[dict] = []
    seen: set[str] = set()
    for raw in MASKED:
        path = os.path.realpath(os.path.expanduser(raw))
        if path == "/" or path in seen or not os.path.isdir(path) or path in needed:
            continue
        if any(path.startswith(m + os.sep) for m in seen):
            continue  # inside a masked directory already
        seen.add(path)
        inside = {p for p in needed if p.startswith(path + os.sep)}
        keep = sorted(p for p in inside if os.path.isdir(p) and not any(p.startswith(q + os.sep) for q in inside))
        masks.append({"path": path, "keep": keep})
    return masks


class _Cgroups:
    """Process and memory caps for the whole sandbox (cgroup v1 or v2), where this user may create them.

    rlimits are per process (and RLIMIT_NPROC does not apply to root): only a cgroup bounds a fork
    bomb or a memory bomb spread over many processes."""

    def __init__(self, pids_max: int, memory_max: int) -> None:
        self.dirs: list[Path] = []
        self.kinds: list[str] = []
        name = f"wizardcoder-sandbox-{os.getpid()}-{id(self):x}"
        try:
            own = Path("/proc/self/cgroup").read_text().splitlines()
        except OSError:
            return
        v1 = {}
        for line in own:
            _, controllers, path = line.split(":", 2)
            for c in controllers.split(","):
                v1[c] = path
        base = Path("/sys/fs/cgroup")
        wanted = {"pids": {"pids.max": pids_max}, "memory": {"memory.limit_in_bytes": memory_max}}
        if "pids" not in v1 and "" in v1:  # cgroup v2: one tree
            wanted = {"": {"pids.max": pids_max, "memory.max": memory_max}}
        for controller, files in wanted.items():
            d = base / controller / v1.get(controller, "/").lstrip("/") / name
            try:
                d.mkdir()
            except OSError:
                continue
            try:
                for fname, value in files.items():
                    (d / fname).write_text(str(value))
            except OSError:
                d.rmdir()
                continue
            self.dirs.append(d)
            self.kinds.extend(f.split(".")[0] for f in files)

    def add(self, pid: int) -> None:
        for d in self.dirs:
            (d / "cgroup.procs").write_text(str(pid))

    def remove(self) -> None:
        for d in self.dirs:
            for _ in range(50):
                try:
                    d.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    time.sleep(0.02)  # killed processes leave the cgroup as they exit
        self.dirs = []


def _total_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return 16 << 30


class _Killer:
    """Kill one job: its supervisor and the sample's process (the first of its PID namespace, so the
    kernel then kills the rest), by pidfd: no PID reuse race once opened."""

    def __init__(self, pids: list[int], group: bool) -> None:
        self.pids, self.group = pids, group
        self.fds: list[int | None] = []
        for pid in pids:
            try:
                self.fds.append(os.pidfd_open(pid))
            except (AttributeError, OSError):
                self.fds.append(None)

    def kill(self) -> None:
        for pid, fd in zip(self.pids, self.fds):
            try:
                if fd is not None:
                    signal.pidfd_send_signal(fd, signal.SIGKILL)
                else:
                    os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError, OSError):
                pass
            if self.group:  # without a PID namespace the sample's process leads a process group
                try:
                    os.killpg(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError, OSError):
                    pass

    def wait_gone(self, timeout: float) -> None:
        """Until the killed processes have exited (or ``timeout``). The first process of a PID
        namespace exits only once every other process in it is gone: after this, the next job does
        not share the process cap with a dying fork bomb."""
        pending = {fd for fd in self.fds if fd is not None}
        poller = select.poll()
        for fd in pending:
            poller.register(fd, select.POLLIN)
        deadline = time.monotonic() + timeout
        while pending and (left := deadline - time.monotonic()) > 0:
            for fd, _ in poller.poll(left * 1000):
                pending.discard(fd)
                poller.unregister(fd)

    def close(self) -> None:
        for fd in self.fds:
            if fd is not None:
                os.close(fd)
        self.fds = []


def _close_all(fds: list[int]) -> None:
    for fd in fds:
        os.close(fd)


class _Pipes:
    """One job's four pipes. The child's ends go to the zygote with the request, and are closed here
    once it has them; the harness keeps its ends for the job's duration."""

    def __init__(self) -> None:
        fds: list[int] = []
        try:
            for _ in range(4):
                fds.extend(os.pipe())
        except OSError:  # out of file descriptors: none leaks
            _close_all(fds)
            raise
        self.job_r, self.job_w = fds[0:2]  # the job's JSON, to the child
        self.res_r, self.res_w = fds[2:4]  # the child's records, one JSON line each
        self.out_r, self.out_w = fds[4:6]  # its stdout and stderr (captured, capped)
        self.ctl_r, self.ctl_w = fds[6:8]  # the harness's one-byte answers to "dig" records

    def child_ends(self) -> list[int]:
        return [self.job_r, self.res_w, self.out_w, self.ctl_r]

    def own_ends(self) -> list[int]:
        return [self.job_w, self.res_r, self.out_r, self.ctl_w]


class _Streams:
    """The harness's side of one running job: it writes the job to the child, hands each record to
    ``on_record`` and keeps the output up to ``output_cap`` bytes, all through one selector, so that
    a child that neither reads nor writes cannot block the harness past a deadline."""

    def __init__(self, pipes: _Pipes, job: dict, on_record: Callable[[dict], float | tuple[float, bytes] | None],
                 result: Execution, output_cap: int) -> None:
        self.pipes, self.job, self.on_record, self.result, self.cap = pipes, job, on_record, result, output_cap
        self.open_fds = set(pipes.own_ends())  # each closed once: as its stream ends, or by close()
        self.sel: selectors.BaseSelector | None = None
        self.payload = memoryview(b"")
        self.out_parts: list[bytes] = []
        self.out_size = 0
        self.partial: list[bytes] = []  # pieces of a record line not yet ended by a newline
        self.next_deadline = 0.0

    def open(self) -> None:
        """Encode the job and watch the pipes, non-blocking: the child may write records before it
        has read the whole job."""
        p = self.pipes
        self.payload = memoryview(json.dumps(self.job, separators=(",", ":")).encode())
        for fd in (p.job_w, p.res_r, p.out_r):
            os.set_blocking(fd, False)
        self.sel = selectors.DefaultSelector()
        self.sel.register(p.job_w, selectors.EVENT_WRITE)
        self.sel.register(p.res_r, selectors.EVENT_READ)
        self.sel.register(p.out_r, selectors.EVENT_READ)

    def run(self, hard_deadline: float, first_deadline: float) -> None:
        """Until the record channel closes, a deadline passes (``timed_out``) or ``on_record`` says
        STOP (``stopped``). ``first_deadline`` bounds the wait for the first record; the wait each
        record's answer gives sets the next deadline; none goes past ``hard_deadline``."""
        assert self.sel is not None, "open() first"
        res_r = self.pipes.res_r
        self.next_deadline = first_deadline
        while res_r in self.open_fds:
            now = time.monotonic()
            deadline = min(hard_deadline, self.next_deadline)
            if now >= deadline:
                self.result.timed_out = True
                break
            for key, _ in self.sel.select(deadline - now):
                fd = key.fd
                if fd == self.pipes.job_w:
                    self._write_job()
                    continue
                try:
                    chunk = os.read(fd, 1 << 20)
                except BlockingIOError:
                    continue
                if fd == self.pipes.out_r:
                    if not chunk:
                        self._end_stream(fd)
                    else:
                        self._keep_output(chunk)
                    continue
                if not chunk:
                    self._end_stream(res_r)
                    break
                self._take_records(chunk)
                if self.result.stopped:
                    break
            if self.result.stopped:
                break

    def _write_job(self) -> None:
        """The next piece of the job; its pipe is closed once all is written (or the child is gone)."""
        try:
            n = os.write(self.pipes.job_w, self.payload[:65536])
            self.payload = self.payload[n:]
        except BrokenPipeError:
            self.payload = self.payload[:0]
        if not self.payload:
            self._end_stream(self.pipes.job_w)

    def _keep_output(self, chunk: bytes) -> None:
        if self.out_size < self.cap:
            self.out_parts.append(chunk[: self.cap - self.out_size])
            self.out_size += len(self.out_parts[-1])

    def _take_records(self, chunk: bytes) -> None:
        """Each complete record line in ``chunk`` (with the pieces before it) to ``on_record``; an
        "end" record only marks the job finished. Stops at the first STOP."""
        if b"\n" not in chunk:
            self.partial.append(chunk)
            return
        first, *lines = chunk.split(b"\n")
        rest = lines.pop()
        lines.insert(0, b"".join(self.partial) + first if self.partial else first)
        self.partial = [rest] if rest else []
        for line in lines:
            record = parse_record(line)
            if record.get("k") == "end":
                self.result.finished = True
                continue
            self.result.n_records += 1
            wait = self.on_record(record)
            if isinstance(wait, tuple):
                wait, answer = wait
                try:
                    os.write(self.pipes.ctl_w, answer)
                except OSError:
                    pass
            if wait is STOP:
                self.result.stopped = True
                return
            self.next_deadline = time.monotonic() + wait

    def _end_stream(self, fd: int) -> None:
        assert self.sel is not None
        self.sel.unregister(fd)
        os.close(fd)
        self.open_fds.discard(fd)

    def close(self) -> None:
        """After the job is killed: whatever the child wrote before dying is still worth showing, so
        the output pipe is read to its end (or the cap); then every end the harness holds is closed."""
        out_r = self.pipes.out_r
        if self.sel is not None and out_r in self.open_fds:  # non-blocking once open() got that far
            try:
                while self.out_size < self.cap:
                    chunk = os.read(out_r, 1 << 16)
                    if not chunk:
                        break
                    self._keep_output(chunk)
            except (BlockingIOError, OSError):
                pass
        if self.sel is not None:
            self.sel.close()
        for fd in self.open_fds:
            os.close(fd)

    def output(self) -> bytes:
        return b"".join(self.out_parts)


class Sandbox:
    """A pool-safe front to the zygote; ``execute`` may be called from many threads."""

    def __init__(self, limits: Limits | None = None, python: str | None = None, share: Sequence[str] = (),
                 env: dict[str, str] | None = None, preload: Sequence[str] = ()) -> None:
        """``share``: host directories the jobs may read although they lie under a masked path (read-only,
        as the whole tree is): caches that trusted code filled for them. ``python``: the interpreter of the
        zygote and so of every job (a benchmark's own environment); ``env``: variables added to the
        scrubbed environment; ``preload``: modules the zygote imports once, so that jobs fork with them
        loaded (DS-1000's pandas, torch, tensorflow: seconds each per job otherwise)."""
        self.limits = limits or Limits()
        self.share = tuple(share)
        self.env = dict(env or {})
        self.preload = tuple(preload)
        if self.limits.isolation not in ("auto", "strict", "off"):
            raise ValueError(f"isolation must be auto, strict or off, not {self.limits.isolation!r}")
        self.python = python or sys.executable
        self.network_isolated = self.limits.isolation != "off" and network_isolation_available()
        if self.limits.isolation == "strict" and not self.network_isolated:
            raise SandboxUnavailable("strict sandbox: `unshare -Urn` (user + network namespaces) does not work here")
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._ctrl: socket.socket | None = None
        self._root = Path(tempfile.mkdtemp(prefix="wizardcoder-sandbox-"))
        self._active: dict[int, _Killer] = {}
        self._aborted = threading.Event()
        self._cgroups: _Cgroups | None = None
        self._job_ids = 0
        self.status: dict = {}

    # -- zygote lifecycle ------------------------------------------------------------------
    def _start(self) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        isolate = self.limits.isolation != "off"
        config = {"isolate": isolate and self.network_isolated,
                  "mask": _paths_to_mask(self.python, self._root, self.share) if isolate else [],
                  "preload": list(self.preload)}
        argv = [self.python, "-I", str(RUNNER), "--zygote", str(child.fileno()), json.dumps(config)]
        if self.network_isolated:
            argv = [shutil.which("unshare") or "unshare", "-Urn", *argv]
        if isolate and self._cgroups is None:
            self._cgroups = _Cgroups(pids_max=4 * self.limits.processes,
                                     memory_max=self.limits.sandbox_memory_bytes or _total_memory() * 3 // 4)
        self._proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(child.fileno(),),
            env={**_scrubbed_env(), **self.env},
            cwd=self._root,
            start_new_session=True,
        )
        child.close()
        if self._cgroups is not None:
            try:
                self._cgroups.add(self._proc.pid)  # before the zygote forks anything
            except OSError:
                self._cgroups.remove()
        self._ctrl = parent
        parent.settimeout(60 + 30 * len(self.preload))
        try:
            hello = json.loads(parent.recv(1 << 16) or b"{}")
        except (OSError, ValueError):
            hello = {}
        parent.settimeout(None)
        if "status" not in hello:
            self._kill_zygote()
            raise RuntimeError(f"the sandbox's zygote did not start ({self.python} -I {RUNNER})")
        self.status = self._describe(hello["status"])
        missing = [k for k in STRICT_NEEDS if not self.status[k]]
        if self.limits.isolation == "strict" and missing:
            self._kill_zygote()
            raise SandboxUnavailable(f"strict sandbox: not available here: {', '.join(missing)} "
                                     f"({'; '.join(hello['status'].get('errors', [])) or 'see docs/sandbox.md'})")

    def _describe(self, z: dict) -> dict:
        """What is in force, in the words of docs/sandbox.md (recorded in summary.json)."""
        cgroups = self._cgroups.kinds if self._cgroups is not None else []
        return {
            "user_namespace": self.network_isolated,
            "network": self.network_isolated,
            "pid_namespace": bool(z.get("pidns")),
            "read_only_root": bool(z.get("readonly")),
            "private_tmp": bool(z.get("mountns")),
            "masked": list(z.get("masked", [])),
            "no_capabilities": bool(z.get("caps")),
            "cgroup_limits": cgroups,
            # RLIMIT_NPROC binds everyone but root; as root only a pids cgroup bounds a fork bomb
            "process_limit": "pids" in cgroups or os.geteuid() != 0,
            "rlimits": sorted(self.limits.rlimits(1)),
            **({"preloaded": len(self.preload) - len(z.get("preload_errors", [])),
                "preload_errors": list(z.get("preload_errors", []))} if self.preload else {}),
        }

    def ensure_started(self) -> dict:
        """Start the zygote now (it starts on the first job otherwise); what is in force."""
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                self._start()
        return self.status

    def _send(self, header: dict, fds: list[int]) -> list[int]:
        """Ask the zygote for a job; the PIDs of its supervisor and of the sample's process, as the
        job's launcher reports them (never the sample). JobNotStarted: the zygote is fine but could
        not start this job (e.g. a fork bomb next door holds the process cap)."""
        with self._lock:
            for attempt in range(2):
                if self._proc is None or self._proc.poll() is not None:
                    self._start()
                self._job_ids += 1
                header["id"] = self._job_ids
                try:
                    socket.send_fds(self._ctrl, [json.dumps(header).encode()], fds)  # type: ignore[arg-type]
                    self._ctrl.settimeout(30)  # type: ignore[union-attr]
                    while True:  # a late answer to an abandoned request is skipped by its id
                        data = self._ctrl.recv(1 << 16)  # type: ignore[union-attr]
                        if not data:
                            raise OSError("the sandbox's zygote ended")
                        reply = json.loads(data)
                        if reply.get("id") == header["id"]:
                            break
                    self._ctrl.settimeout(None)  # type: ignore[union-attr]
                except (OSError, ValueError):
                    self._kill_zygote()
                    if attempt:
                        raise
                    continue
                if "pid" in reply:
                    return [int(reply["pid"]), int(reply["sample"])]
                raise JobNotStarted(str(reply.get("error", "unknown error")))
        raise AssertionError("unreachable")

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

    @property
    def zygote_pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def abort(self) -> None:
        """Kill every running job (Ctrl-C): their ``execute`` calls return at once."""
        self._aborted.set()
        for killer in list(self._active.values()):
            killer.kill()

    def close(self) -> None:
        with self._lock:
            self._kill_zygote()
        if self._cgroups is not None:
            self._cgroups.remove()
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
        rlimits: dict[str, int] | None = None,
    ) -> Execution:
        """Run ``job``; ``on_record`` gets each record and returns the next wait or STOP, or
        ``(wait, answer)`` to also send the child a one-byte answer.

        ``first_wait`` bounds the time to the first result record (load included);
        ``wall_timeout`` bounds the whole job; ``memory_bytes`` overrides the address-space
        limit (-1: none), ``rlimits`` any other (``{"RLIMIT_STACK": ...}``). Once started, the job
        is killed on every way out of here.
        """
        result = Execution()
        if self._aborted.is_set():
            raise KeyboardInterrupt
        if not self.status:  # first job: _send restarts a dead zygote later, under its lock
            self.ensure_started()
        private = self.status.get("private_tmp", False)
        # With a mount namespace each job's supervisor mounts its own tmpfs over the shared root:
        # nothing is written on the host. Without one, a directory per job, removed afterwards.
        workdir = str(self._root) if private else tempfile.mkdtemp(dir=self._root)
        try:
            header = self._job_header(job["mode"], workdir, private, wall_timeout, memory_bytes)
            header["rlimits"].update(rlimits or {})
            pipes = _Pipes()
            start = time.monotonic()
            killer = self._launch(header, pipes, result)
            if killer is None:  # it never started; result.output says why
                result.seconds = time.monotonic() - start
                return result
            streams = _Streams(pipes, job, on_record, result, self.limits.output_bytes)
            try:
                streams.open()
                streams.run(hard_deadline=start + wall_timeout, first_deadline=start + first_wait)
            finally:
                try:
                    self._end_job(killer)
                finally:
                    streams.close()
        finally:
            if not private:
                shutil.rmtree(workdir, ignore_errors=True)
        result.output = streams.output()
        result.seconds = time.monotonic() - start
        if self._aborted.is_set():
            raise KeyboardInterrupt
        return result

    def _job_header(self, mode: str, workdir: str, private: bool, wall_timeout: float,
                    memory_bytes: int | None) -> dict:
        """The zygote's request for one job: where it runs and under which limits (the job itself,
        possibly megabytes of inputs, goes down a pipe)."""
        rlimits = self.limits.rlimits(wall_timeout)
        if memory_bytes is not None:
            rlimits.update(RLIMIT_AS=memory_bytes, RLIMIT_DATA=memory_bytes, RLIMIT_STACK=memory_bytes)
        return {"workdir": workdir, "rlimits": rlimits, "tmpfs": self.limits.tmpdir_bytes if private else 0,
                "mode": mode}

    def _launch(self, header: dict, pipes: _Pipes, result: Execution) -> _Killer | None:
        """Have the zygote start the job; its killer, holding pidfds on the launcher's and the
        sample's processes (registered for ``abort``, which may already have come: then it is dead).

        None when the zygote could not start it (``result.output`` says why). The child's pipe ends
        are closed here in every case; the harness's too unless the job runs, and then on an error
        the job is killed first."""
        killer: _Killer | None = None
        try:
            try:
                pids = self._send_patiently(header, pipes.child_ends())
            except JobNotStarted as exc:
                result.output = f"sandbox: could not start the job: {exc}".encode()
                _close_all(pipes.own_ends())
                return None
            killer = _Killer(pids, group=not self.status.get("pid_namespace"))
            self._active[id(killer)] = killer
            result.pid = pids[-1]
            if self._aborted.is_set():
                killer.kill()
            return killer
        except BaseException:
            try:
                if killer is not None:
                    self._end_job(killer)
            finally:
                _close_all(pipes.own_ends())
            raise
        finally:
            _close_all(pipes.child_ends())

    def _send_patiently(self, header: dict, fds: list[int]) -> list[int]:
        """``_send``, tried up to 10 times 0.5 s apart: a job that cannot start now (a fork bomb next
        door holds the process cap) may shortly. JobNotStarted after the last try, or at the first
        on ``abort``."""
        for attempt in range(10):
            try:
                return self._send(header, fds)
            except JobNotStarted:
                if attempt == 9 or self._aborted.is_set():
                    raise
                time.sleep(0.5)
        raise AssertionError("unreachable")

    def _end_job(self, killer: _Killer) -> None:
        """Kill the job (after its last record, at a deadline, on STOP or on an error): the kernel
        then kills every other process of its PID namespace, daemons included. Returns once they are
        gone, so that the next job does not share the process cap with them, or after REAP_SECONDS."""
        self._active.pop(id(killer), None)
        killer.kill()
        try:
            killer.wait_gone(REAP_SECONDS)
        finally:
            killer.close()
