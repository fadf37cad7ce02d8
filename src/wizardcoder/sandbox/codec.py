"""Values across the sandbox boundary: JSON with tags for the Python types JSON lacks.

Stdlib only: the sandboxed runner imports it as a plain module, the harness as part of the package.
Decoding never executes anything, so the harness can read whatever a sample sends.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import pickle
from typing import Any  # the zygote preloads typing for the samples anyway (runner.PRELOAD)

INT_BITS_INLINE = 512  # larger ints travel as hex: int->str is capped at 4300 digits
# numpy scalars that travel as themselves: `np.True_ is True` is False, and evalplus's tolerance
# needs type(out) == type(exp), which a numpy.float64 output fails against a float.
NUMPY_SCALARS = frozenset({"bool", "float16", "float32", "float64", "complex64", "complex128",
                           *(f"{sign}int{bits}" for sign in ("", "u") for bits in (8, 16, 32, 64))})


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


class Handle:
    """A value that stayed in the sample's process (script mode): equal to nothing but itself."""

    __slots__ = ("ref", "type_name")

    def __init__(self, ref: int, type_name: str = "object") -> None:
        self.ref, self.type_name = ref, type_name

    def __eq__(self, other: object) -> bool:
        return type(other) is Handle and other.ref == self.ref

    def __hash__(self) -> int:
        return hash(("handle", self.ref))

    def __repr__(self) -> str:
        return f"<{self.type_name} in the sandbox>"


_PLAIN = frozenset({int, str, float, bool, type(None)})


def encode(value: Any, depth: int = 0, big_ints: bool = False) -> object:
    """Turn a Python value into JSON-able data, keeping tuple/set/complex/bytes/dict-key types.

    Lists of plain scalars are returned as they are (``json`` then writes them at C speed).
    Subclasses of builtin types (and numpy scalars) are reduced to the builtin type, so an
    object whose ``__eq__`` always answers True cannot survive the trip.

    ``value`` is ``Any`` (any Python value, as for ``json.dumps``): the branches dispatch on its exact
    type, taken once into ``t`` (this is the hot path of big outputs), which a type checker cannot
    carry over to ``value``.
    """
    if depth > 200:
        raise ValueError("output nested too deeply")
    t = type(value)
    if t is list:
        if not big_ints and set(map(type, value)) <= _PLAIN:
            return value
        return [encode(v, depth + 1, big_ints) for v in value]
    if t in _PLAIN:
        if big_ints and t is int and value.bit_length() > INT_BITS_INLINE:
            return {"$i": hex(value)}
        return value
    if t is tuple:
        if not big_ints and set(map(type, value)) <= _PLAIN:
            return {"$t": value}  # json writes a tuple as a list: no copy of a big output
        return {"$t": encode(list(value), depth + 1, big_ints)}
    if t is dict:
        return {"$d": [[encode(k, depth + 1, big_ints), encode(v, depth + 1, big_ints)]
                       for k, v in value.items()]}
    if t is set:
        return {"$s": encode(list(value), depth + 1, big_ints)}
    if t is frozenset:
        return {"$fs": encode(list(value), depth + 1, big_ints)}
    if t is complex:
        return {"$c": [value.real, value.imag]}
    if t is bytes or t is bytearray:
        return {"$b": base64.b64encode(bytes(value)).decode()}
    if t is Opaque:
        return {"$o": value.type_name}
    if t is Handle:
        return {"$h": value.ref}
    # Subclasses and foreign scalars: reduce to the builtin type they stand for.
    if t.__module__ == "numpy" and hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        item = encode(value.item(), depth + 1, big_ints)
        name = getattr(getattr(value, "dtype", None), "name", "")
        return {"$np": [name, item]} if name in NUMPY_SCALARS else item
    if (base := _builtin_base(value)) is not None:
        return encode(base(value), depth + 1, big_ints)
    return {"$o": t.__name__}


_BASES = (bool, int, float, str, complex, bytes, list, tuple, set, frozenset, dict)
_EXACT = frozenset({*_BASES, type(None), bytearray, Opaque, Handle})


def _builtin_base(value: object) -> type | None:
    return next((base for base in _BASES if isinstance(value, base)), None)


def encode_top(value: object, big_ints: bool = False) -> object:
    """``encode``, keeping the name of a top-level subclass (a namedtuple, a Counter...): it travels as
    its builtin value, and comes back as an instance of a harness-made subclass of that name, equal
    to the same values, but not of the builtin type (evalplus's tolerance needs type(out) == type(exp))."""
    data = encode(value, 0, big_ints)
    t = type(value)
    if t in _EXACT or t.__module__ == "numpy" or (base := _builtin_base(value)) is None:
        return data
    return {"$x": [t.__qualname__[:100], base.__name__, data]}


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
        return json.dumps(encode_top(value), separators=(",", ":"))
    except ValueError:  # an int too long for decimal text: retry with hex-tagged big ints
        return json.dumps(encode_top(value, big_ints=True), separators=(",", ":"))


_FOREIGN: dict[tuple[str, str], type] = {}
_BASE_NAMES = {b.__name__: b for b in _BASES if b is not bool}


def _foreign(name: str, base_name: str, value: object) -> object:
    base = _BASE_NAMES.get(base_name)
    if base is None or type(value) is not base:
        return value
    cls = _FOREIGN.get((name, base_name))
    if cls is None:
        def __repr__(self: object) -> str:
            return f"{name}({base.__repr__(self)})"

        cls = _FOREIGN.setdefault((name, base_name), type(name, (base,), {"__repr__": __repr__}))
    return cls(value)


def _numpy_scalar(name: str, value: object) -> object:
    if name not in NUMPY_SCALARS:
        return value
    try:
        import numpy
    except ImportError:
        return value
    return numpy.dtype(name).type(value)


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
    if tag == "$np" and isinstance(body, list) and len(body) == 2 and isinstance(body[0], str):
        return _numpy_scalar(body[0], body[1])
    if tag == "$x" and isinstance(body, list) and len(body) == 3 and all(isinstance(b, str) for b in body[:2]):
        return _foreign(body[0], body[1], body[2])
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
        return [_deep_tuple(a) for a in args]
    return args
