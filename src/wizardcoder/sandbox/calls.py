"""Script-mode tests (HumanEval ``check``, MBPP asserts) without trusting the sample's process.

The test code runs in the job's supervisor, a process the sample can neither see, signal, trace
nor write to. Each name the tests take from the program (the entry point, prompt helpers, MBPP
setup objects) becomes a proxy there: calling it ships the arguments to the sample's process and
brings the result back as plain data. The sample may patch builtins, ``unittest`` or its own
interpreter, or return objects whose ``__eq__`` always says yes: the comparisons run elsewhere, on
builtin values, with the real builtins.

Values that are not data (instances of the program's classes, numpy arrays...) stay in the
sample's process as handles: a test can pass them back (MBPP 367's trees), never compare them.
Iterators come back as iterators over their items, dict views as dict views, ranges as ranges.
Arguments a call mutates in place (lists, dicts, sets) are written back, as if shared.

Stdlib only: this file is imported by the runner inside the sandbox.
"""

from __future__ import annotations

import builtins
import json
import os
import types
from collections.abc import Callable, Iterator

if __package__:
    from wizardcoder.sandbox.codec import Handle, Opaque, _hook, encode, encode_top
else:  # inside the sandbox, imported as a plain module next to the runner
    from codec import Handle, Opaque, _hook, encode, encode_top  # type: ignore[import-not-found, no-redef]

_NO_ITEMS: dict[object, object] = {}
_KEYS, _VALUES, _ITEMS = type(_NO_ITEMS.keys()), type(_NO_ITEMS.values()), type(_NO_ITEMS.items())
_DATA = (bool, int, float, complex, str, bytes, bytearray, list, tuple, set, frozenset, dict, type(None))
_MUTABLE = (list, dict, set, bytearray)


class SampleGone(Exception):
    """The sample's process ended or broke the protocol."""


class SampleExit(BaseException):
    """The program raised SystemExit / KeyboardInterrupt / GeneratorExit in a call."""


# -- the sample's side -------------------------------------------------------------------------


def export(value: object, handles: dict[int, object]) -> object:
    """The value as data for the supervisor, or a handle when it is not data."""
    t = type(value)
    if t is range:
        return {"$r": [value.start, value.stop, value.step]}  # type: ignore[attr-defined]
    if t is _KEYS:
        return {"$dk": encode(list(value), big_ints=True)}  # type: ignore[call-overload]
    if t is _VALUES:
        return {"$dv": encode(list(value), big_ints=True)}  # type: ignore[call-overload]
    if t is _ITEMS:
        return {"$di": encode(list(value), big_ints=True)}  # type: ignore[call-overload]
    if isinstance(value, _DATA) or (t.__module__ == "numpy" and getattr(value, "ndim", 1) == 0):
        return encode_top(value, big_ints=True)
    if isinstance(value, Iterator):
        return {"$it": encode(list(value), big_ints=True)}
    ref = len(handles) + 1
    handles[ref] = value
    return {"$h": [ref, t.__name__]}


def serve(namespace: dict, req_fd: int, rep_fd: int) -> None:
    """Answer the supervisor's requests until it closes the request pipe."""
    handles: dict[int, object] = {}

    def hook(obj: dict) -> object:
        if len(obj) == 1 and "$h" in obj:
            return handles.get(obj["$h"], Opaque("handle"))
        return _hook(obj)

    reader = os.fdopen(req_fd, "rb")
    for line in reader:
        try:
            msg = json.loads(line, object_hook=hook)
            reply: dict[str, object]
            if msg["op"] == "names":
                callables: list[str] = []
                values: dict[str, object] = {}
                for name in msg["names"]:
                    if name in namespace:
                        value = namespace[name]
                        if callable(value):
                            callables.append(name)
                        else:
                            values[name] = export(value, handles)
                reply = {"ok": 1, "c": callables, "v": values}
            else:
                args, kwargs = msg["a"], msg["k"]
                before = [json.dumps(encode(a, big_ints=True)) if type(a) in _MUTABLE else None for a in args]
                value = namespace[msg["n"]](*args, **kwargs)
                changed = {str(i): encode(a, big_ints=True) for i, a in enumerate(args)
                           if before[i] is not None and json.dumps(encode(a, big_ints=True)) != before[i]}
                reply = {"ok": 1, "v": export(value, handles), "m": changed}
            text = json.dumps(reply, separators=(",", ":"))
        except BaseException as exc:  # the program's exceptions go back to the test, by name
            text = json.dumps({"ok": 0, "e": type(exc).__name__, "msg": str(exc)[:500]})
        data = (text + "\n").encode()
        while data:
            data = data[os.write(rep_fd, data):]


# -- the supervisor's side ---------------------------------------------------------------------


def _supervisor_hook(obj: dict) -> object:
    if len(obj) == 1:
        ((tag, body),) = obj.items()
        if tag == "$h":
            return Handle(int(body[0]), str(body[1]))
        if tag == "$it":
            return iter(body)
        if tag == "$dk":
            return dict.fromkeys(body).keys()
        if tag == "$dv":
            return dict(enumerate(body)).values()
        if tag == "$di":
            return dict(body).items()
        if tag == "$r":
            return range(*body)
    return _hook(obj)


def _raise_remote(name: str, message: str) -> None:
    cls = getattr(builtins, name, None)
    if isinstance(cls, type) and issubclass(cls, Exception):
        try:
            exc = cls(message)
        except Exception:
            exc = Exception(f"{name}: {message}")
        raise exc
    if isinstance(cls, type) and issubclass(cls, BaseException):
        raise SampleExit(f"{name}: {message}")
    raise Exception(f"{name}: {message}")


def global_names(code: types.CodeType) -> set[str]:
    """Names a code object (and the functions inside it) may look up as globals."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= global_names(const)
    return names


class Client:
    """The supervisor's end: read the program's load record, then build proxies and call."""

    def __init__(self, req_fd: int, rep_fd: int) -> None:
        self.req_fd = req_fd
        self.reader = os.fdopen(rep_fd, "rb")

    def read(self) -> dict:
        line = self.reader.readline()
        if not line.endswith(b"\n"):
            raise SampleGone("the program's process ended")
        try:
            msg = json.loads(line, object_hook=_supervisor_hook)
        except (ValueError, RecursionError):
            raise SampleGone("unreadable answer from the program's process") from None
        if not isinstance(msg, dict):
            raise SampleGone("unreadable answer from the program's process")
        return msg

    def _request(self, msg: dict) -> dict:
        data = (json.dumps(msg, separators=(",", ":")) + "\n").encode()
        try:
            while data:
                data = data[os.write(self.req_fd, data):]
        except OSError:
            raise SampleGone("the program's process ended") from None
        reply = self.read()
        if not reply.get("ok"):
            if "e" not in reply:
                raise SampleGone("unreadable answer from the program's process")
            _raise_remote(str(reply["e"]), str(reply.get("msg", "")))
        return reply

    def bind(self, names: set[str]) -> dict[str, object]:
        """Proxies for the names the program defines (callables) and copies of its values."""
        if not names:
            return {}
        reply = self._request({"op": "names", "names": sorted(names)})
        bound: dict[str, object] = {name: self._proxy(name) for name in reply.get("c", []) if name in names}
        bound.update({k: v for k, v in reply.get("v", {}).items() if k in names})
        return bound

    def _proxy(self, name: str) -> Callable[..., object]:
        def call(*args: object, **kwargs: object) -> object:
            msg = {"op": "call", "n": name, "a": [encode(a, big_ints=True) for a in args],
                   "k": {k: encode(v, big_ints=True) for k, v in kwargs.items()}}
            reply = self._request(msg)
            for index, new in (reply.get("m") or {}).items():
                _write_back(args[int(index)], new)
            return reply.get("v")

        call.__name__ = call.__qualname__ = name
        return call


def _write_back(arg: object, new: object) -> None:
    kinds = (type(arg), type(new))
    if kinds in ((list, list), (bytearray, bytes)):
        arg[:] = new  # type: ignore[index]
    elif kinds in ((dict, dict), (set, set), (set, frozenset)):
        arg.clear()  # type: ignore[attr-defined]
        arg.update(new)  # type: ignore[attr-defined]
