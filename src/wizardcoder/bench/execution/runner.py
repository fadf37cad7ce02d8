"""The program that runs inside the sandbox, and the value codec shared with the harness.

This file is executed as a script by a fresh interpreter (``python -I runner.py --zygote``): it
must depend on the standard library only. The harness also imports it for ``decode``.

A *zygote* process preloads the modules samples commonly use, then forks one child per job:
forking a warm interpreter costs about a millisecond where starting a new one costs twenty.
Each child gets its own session (so the harness can kill its whole process group), resource
limits, a private working directory, /dev/null as stdin, and three descriptors from the harness:
the job (read to EOF), the record channel and the captured output.

Records are JSON lines. In ``io`` mode the child reports *outputs*, never verdicts: expected
outputs stay in the harness, so a sample cannot read them, and comparing is the harness's job.
"""

from __future__ import annotations

import base64
import gc
import hashlib
import io
import json
import os
import pickle
import signal
import sys
import time

INT_BITS_INLINE = 512  # larger ints travel as hex: int->str is capped at 4300 digits


class Opaque:
    """An output the codec cannot carry (a generator, a regex match...): equal to nothing."""

    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name

    def __eq__(self, other: object) -> bool:
        return False

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return f"<unserializable {self.type_name}>"


_PLAIN = frozenset({int, str, float, bool, type(None)})


def encode(value: object, depth: int = 0, big_ints: bool = False) -> object:
    """Turn a Python value into JSON-able data, keeping tuple/set/complex/bytes/dict-key types.

    Lists of plain scalars are returned as they are (``json`` then writes them at C speed).
    Subclasses of builtin types (and numpy scalars) are reduced to the builtin type, so an
    object whose ``__eq__`` always answers True cannot survive the trip.
    """
    if depth > 200:
        raise ValueError("output nested too deeply")
    t = type(value)
    if t is list:
        if not big_ints and set(map(type, value)) <= _PLAIN:
            return value
        return [encode(v, depth + 1, big_ints) for v in value]
    if t in _PLAIN:
        if big_ints and t is int and value.bit_length() > INT_BITS_INLINE:  # type: ignore[union-attr]
            return {"$i": hex(value)}  # type: ignore[arg-type]
        return value
    if t is tuple:
        if not big_ints and set(map(type, value)) <= _PLAIN:  # type: ignore[call-overload]
            return {"$t": value}  # json writes a tuple as a list: no copy of a big output
        return {"$t": encode(list(value), depth + 1, big_ints)}  # type: ignore[call-overload]
    if t is dict:
        return {"$d": [[encode(k, depth + 1, big_ints), encode(v, depth + 1, big_ints)]
                       for k, v in value.items()]}  # type: ignore[attr-defined]
    if t is set:
        return {"$s": encode(list(value), depth + 1, big_ints)}  # type: ignore[call-overload]
    if t is frozenset:
        return {"$fs": encode(list(value), depth + 1, big_ints)}  # type: ignore[call-overload]
    if t is complex:
        return {"$c": [value.real, value.imag]}  # type: ignore[attr-defined]
    if t is bytes or t is bytearray:
        return {"$b": base64.b64encode(bytes(value)).decode()}  # type: ignore[call-overload]
    if t is Opaque:
        return {"$o": value.type_name}  # type: ignore[attr-defined]
    # Subclasses and foreign scalars: reduce to the builtin type they stand for.
    if t.__module__ == "numpy" and hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return encode(value.item(), depth + 1, big_ints)  # type: ignore[attr-defined]
    for base in (bool, int, float, str, complex, bytes, list, tuple, set, frozenset, dict):
        if isinstance(value, base):
            return encode(base(value), depth + 1, big_ints)  # type: ignore[call-arg]
    return {"$o": t.__name__}


def fingerprint(value: object) -> tuple[str, int] | None:
    """A digest of the value's structure and types (pickle without memo, so object sharing does not
    matter), and the size hashed. Much faster than JSON for big outputs. Equal digests mean equal
    values; a sample cannot forge the expected digest without knowing the expected output, which
    never enters the sandbox."""
    try:
        buf = io.BytesIO()
        pickler = pickle.Pickler(buf, protocol=5)
        pickler.fast = True
        pickler.dump(value)
        data = buf.getbuffer()
        return hashlib.blake2b(data, digest_size=16).hexdigest(), len(data)
    except Exception:
        return None


def dumps(value: object) -> str:
    """JSON text of an encoded value (NaN and infinities use Python's JSON extensions)."""
    try:
        return json.dumps(encode(value), separators=(",", ":"))
    except ValueError:  # an int too long for decimal text: retry with hex-tagged big ints
        return json.dumps(encode(value, big_ints=True), separators=(",", ":"))


def _hook(obj: dict) -> object:
    if len(obj) != 1:
        return obj
    ((tag, body),) = obj.items()
    if tag == "$t":
        return tuple(body)
    if tag == "$s":
        return set(body)
    if tag == "$fs":
        return frozenset(body)
    if tag == "$d":
        return {k: v for k, v in body}
    if tag == "$i":
        return int(body, 16)
    if tag == "$c":
        return complex(body[0], body[1])
    if tag == "$b":
        return base64.b64decode(body)
    if tag == "$o":
        return Opaque(body)
    return obj


def loads(text: str | bytes) -> object:
    """Parse JSON text, turning tagged objects back into Python values."""
    return json.loads(text, object_hook=_hook)


# --------------------------------------------------------------------------------------------
# MBPP+ stores every input as JSON; these tasks need tuples, sets or complex numbers back.
# The table is a fact of the dataset (the same rules evalplus applies before calling).

_TUPLE_EACH_ARG = {2, 116, 132, 143, 222, 261, 273, 394, 399, 421, 424, 429, 470, 560, 579, 596,
                   616, 630, 726, 740, 744, 809}
_TUPLE_INNER = {63, 64, 70, 94, 120, 237, 272, 299, 400, 409, 417, 438, 473, 614, 780}
_TUPLE_FIRST_INNER = {75, 413, 444, 753}
_TUPLE_SECOND = {106, 750}
_TUPLE_FIRST = {250, 405, 446, 617, 720, 763, 808}
_TUPLE_INNER_THEN_EACH = {259, 401, 445}
_TUPLE_DEEP = {580, 615, 791}


def _deep_tuple(x: object) -> object:
    return tuple(_deep_tuple(v) for v in x) if isinstance(x, list) else x


def mbpp_deserialize(task_number: int, args: list) -> list:
    """Rebuild one MBPP+ input (the argument list) for ``task_number``."""
    n = task_number
    if n in _TUPLE_EACH_ARG:
        return [tuple(a) for a in args]
    if n in _TUPLE_INNER:
        return [[tuple(x) for x in a] for a in args]
    if n in _TUPLE_FIRST_INNER:
        return [[tuple(x) for x in args[0]], args[1]]
    if n in _TUPLE_SECOND:
        return [args[0], tuple(args[1])]
    if n == 115:
        return [[set(x) if isinstance(x, list) and len(x) else {} for x in args[0]]]
    if n == 124:
        return [float(args[0]), complex(args[1])]
    if n in _TUPLE_FIRST:
        return [tuple(args[0]), args[1]]
    if n in _TUPLE_INNER_THEN_EACH:
        return [tuple(tuple(x) for x in a) for a in args]
    if n == 278:
        return [tuple(tuple(x) if isinstance(x, list) else x for x in args[0])]
    if n == 307:
        return [tuple(args[0]), args[1], args[2]]
    if n == 722:
        return [{k: tuple(v) for k, v in args[0].items()}, *args[1:]]
    if n == 252:
        return [complex(args[0])]
    if n in _TUPLE_DEEP:
        return list(_deep_tuple(args))
    return args


# --------------------------------------------------------------------------------------------
# The child side.


class SandboxTimeout(BaseException):
    """Raised by SIGALRM when one input exceeds its time limit."""


class _CappedText:
    """A stdout/stderr stand-in: keeps the first bytes, drops the rest, never blocks."""

    def __init__(self, cap: int = 4096) -> None:
        self.cap, self.parts, self.size = cap, [], 0

    def write(self, s: str) -> int:
        if self.size < self.cap:
            self.parts.append(s[: self.cap - self.size])
            self.size += len(self.parts[-1])
        return len(s)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return False

    def readable(self) -> bool:
        return False

    def writable(self) -> bool:
        return True

    def getvalue(self) -> str:
        return "".join(self.parts)


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


def _timed(fn, limit: float):  # type: ignore[no-untyped-def]
    if limit > 0:
        signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        start = time.perf_counter()
        result = fn()
        return result, time.perf_counter() - start
    finally:
        if limit > 0:
            signal.setitimer(signal.ITIMER_REAL, 0)


def run_job(job: dict, chan: _Channel) -> None:
    """Execute one job and report records on ``chan``."""
    signal.signal(signal.SIGALRM, _alarm)
    out = _CappedText()
    sys.stdout = sys.stderr = out  # evalplus swallows sample IO the same way
    namespace: dict = {"__name__": "__sandbox__"}
    code = job["code"]
    try:
        compiled = compile(code, "<solution>", "exec")
        _, secs = _timed(lambda: exec(compiled, namespace), job.get("load_limit", 0))
    except BaseException as exc:
        status = "timeout" if isinstance(exc, SandboxTimeout) else "error"
        chan.send({"k": "load", "ok": False, "status": status,
                   "error": _describe(exc) + _error_location(exc)})
        return
    chan.send({"k": "load", "ok": True, "t": secs})

    limits = job.get("time_limits") or []
    keep_going = job.get("keep_going", False)
    if job["mode"] == "script":
        for i, test in enumerate(job["tests"]):
            try:
                compiled = compile(test, "<test>", "exec")
                _, secs = _timed(lambda c=compiled: exec(c, namespace), limits[i] if limits else 0)
            except BaseException as exc:
                status = "timeout" if isinstance(exc, SandboxTimeout) else "fail"
                chan.send({"k": "test", "i": i, "ok": False, "status": status,
                           "error": _describe(exc) + _error_location(exc)})
                if not keep_going:
                    return
                continue
            chan.send({"k": "test", "i": i, "ok": True, "t": secs})
        return

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
            value, secs = _timed(lambda a=args: fn(*a), limits[i] if limits else 0)
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


def _is_floats(x: object) -> bool:
    """evalplus's is_floats: a float, or a non-empty list/tuple of floats only."""
    if type(x) is float:
        return True
    if type(x) in (list, tuple) and x:
        return all(type(i) is float for i in x)  # type: ignore[union-attr]
    return False


def _child(header: dict, fds: list[int]) -> None:
    job_fd, res_fd, out_fd, ctl_fd = fds
    os.setsid()
    os.dup2(out_fd, 1)
    os.dup2(out_fd, 2)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    res = os.dup(res_fd)
    lo = 3
    for fd in sorted({job_fd, res, ctl_fd}):
        os.closerange(lo, fd)
        lo = fd + 1
    os.closerange(lo, 65536)
    workdir = header["workdir"]
    os.chdir(workdir)
    os.environ["HOME"] = os.environ["TMPDIR"] = workdir
    import resource

    for name, value in header.get("rlimits", {}).items():
        limit = getattr(resource, name)
        try:
            resource.setrlimit(limit, (value, value))
        except (ValueError, OSError):
            pass
    chunks = []
    while True:
        chunk = os.read(job_fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(job_fd)
    job = json.loads(b"".join(chunks))
    chan = _Channel(res, ctl_fd)
    chan.send({"k": "hello", "pid": os.getpid()})
    run_job(job, chan)
    chan.send({"k": "end"})


# Modules forked children find already imported: cheaper than importing per sample.
PRELOAD = ("typing", "re", "math", "cmath", "collections", "itertools", "functools", "heapq",
           "bisect", "string", "operator", "hashlib", "random", "statistics", "fractions",
           "decimal", "copy", "datetime", "traceback", "faulthandler", "resource", "socket",
           "array")


def zygote(ctrl_fd: int) -> None:
    """Serve fork requests from the harness until it closes the control socket."""
    import importlib
    import socket

    for name in PRELOAD:
        try:
            importlib.import_module(name)
        except ImportError:
            pass
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped by the kernel
    import faulthandler

    faulthandler.enable(file=sys.__stderr__)  # inherited: a crashing child reports on fd 2
    gc.freeze()  # forked children then share the preloaded heap instead of copying it
    ctrl = socket.socket(fileno=ctrl_fd)
    while True:
        try:
            msg, fds, _flags, _addr = socket.recv_fds(ctrl, 1 << 16, 4)
        except InterruptedError:
            continue
        if not msg:
            return
        if len(fds) != 4:
            for fd in fds:
                os.close(fd)
            continue
        header = json.loads(msg)
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                ctrl.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                _child(header, fds)
            except BaseException:
                code = 70
            finally:
                os._exit(code)
        for fd in fds:
            os.close(fd)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--zygote":
        zygote(int(sys.argv[2]))
    else:
        sys.exit("usage: runner.py --zygote FD")
