"""JSONL and JSON files: precise errors on read, no half-written files on write.

Every reader of a user's file goes through ``parse`` (one JSON value) and ``iter_jsonl`` /
``read_json`` here, so hostile shapes are refused the same way everywhere, as one
``file:line: ...`` error and before anything is written: text that is not UTF-8 (a UTF-16 file is
named as such, on line 1), a row over ``MAX_ROW_BYTES`` (checked before parsing, so a 50 MB line
costs no memory beyond the file), nesting deeper than ``MAX_DEPTH``, integers longer than Python
converts (4,300 digits), and trailing data after a JSON document.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from wizardcoder.errors import WizardCoderError, at

MAX_ROW_BYTES = int(os.environ.get("WIZARDCODER_MAX_ROW_BYTES", 16 << 20))  # a JSONL row, an array element
MAX_DEPTH = 128  # our formats nest a few levels; deeper rows would only meet recursion limits later
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe", "UTF-16"),
         (b"\xfe\xff", "UTF-16"))


def _too_deep(raw: bytes) -> bool:
    """Whether brackets outside strings nest deeper than MAX_DEPTH (vectorised: cheap on big rows)."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
        return False
    import numpy as np  # only for rows with many brackets: the command line starts without it

    a = np.frombuffer(_STRING.sub(b'""', raw), dtype=np.uint8)
    step = ((a == 91) | (a == 123)).astype(np.int32) - ((a == 93) | (a == 125)).astype(np.int32)
    return bool(step.size) and int(np.cumsum(step).max()) > MAX_DEPTH


def parse(raw: bytes | str, path: str | Path, line: int | None, *, limit: int = MAX_ROW_BYTES) -> Any:
    """One JSON value from ``raw`` (a row, or a whole file with ``line=None``); one-line errors."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if len(data) > limit:
        raise at(path, line, None, f"{len(data):,} bytes, more than the {limit:,} a {'row' if line else 'file'} may "
                 "hold (set WIZARDCODER_MAX_ROW_BYTES to allow more)")
    if _too_deep(data):
        raise at(path, line, None, f"JSON nested deeper than {MAX_DEPTH} levels")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        where = line if line is not None else data.count(b"\n", 0, exc.start) + 1
        raise at(path, where, None, "not UTF-8 text") from None
    with _decoding(path, line):
        return json.loads(text)


@contextlib.contextmanager
def _decoding(path: str | Path, line: int | None) -> Iterator[None]:
    """json's exceptions as one-line errors at ``path:line`` (the decoder's own line without one)."""
    try:
        yield
    except json.JSONDecodeError as exc:
        what = "trailing data after the JSON value" if exc.msg == "Extra data" else exc.msg
        where = line if line is not None else exc.lineno
        raise at(path, where, None, f"invalid JSON: {what} (column {exc.colno})") from None
    except ValueError as exc:  # int() refuses more than sys.get_int_max_str_digits() digits
        raise at(path, line, None, f"invalid JSON: a number too long to convert ({str(exc).split(':')[0]})") from None
    except RecursionError:
        raise at(path, line, None, f"JSON nested deeper than {MAX_DEPTH} levels") from None


def iter_array(path: str | Path, data: bytes) -> Iterator[tuple[int, Any]]:
    """The elements of a JSON array file with the line each starts on; strict JSON, nothing after ``]``."""
    data = check_encoding(path, data)  # no size limit for the whole file: each element gets the row's limits
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise at(path, data.count(b"\n", 0, exc.start) + 1, None, "not UTF-8 text") from None
    dec = json.JSONDecoder()
    ws = re.compile(r"[ \t\r\n]*")

    def skip_ws(k: int) -> int:  # past the JSON whitespace at k
        m = ws.match(text, k)
        assert m is not None  # the pattern matches the empty string too
        return m.end()
    seen, line = 0, 1

    def line_at(k: int) -> int:  # line numbers counted incrementally: linear in the file
        nonlocal seen, line
        line += text.count("\n", seen, k)
        seen = k
        return line

    i = skip_ws(0)
    if not text.startswith("[", i):
        raise at(path, line_at(i), None, "expected a JSON array")
    i = skip_ws(i + 1)
    if text.startswith("]", i):
        i += 1
    else:
        while True:
            start = line_at(i)
            with _decoding(path, start):
                obj, end = dec.raw_decode(text, i)
            element = text[i:end]
            if end - i > MAX_ROW_BYTES // 4 and len(element.encode("utf-8", "surrogatepass")) > MAX_ROW_BYTES:
                raise at(path, start, None, f"an element of more than the {MAX_ROW_BYTES:,} bytes a row may hold "
                         "(set WIZARDCODER_MAX_ROW_BYTES to allow more)")
            if element.count("[") + element.count("{") > MAX_DEPTH and _too_deep(element.encode("utf-8", "surrogatepass")):
                raise at(path, start, None, f"JSON nested deeper than {MAX_DEPTH} levels")
            i = end
            yield start, obj
            i = skip_ws(i)
            if text.startswith("]", i):
                i += 1
                break
            if not text.startswith(",", i):
                what = "the array is not closed" if i >= len(text) else "expected ',' or ']' after an element"
                raise at(path, line_at(i), None, f"invalid JSON: {what}")
            i = skip_ws(i + 1)
            if i >= len(text):
                raise at(path, line_at(i), None, "invalid JSON: the array is not closed")
    i = skip_ws(i)
    if i < len(text):
        raise at(path, line_at(i), None, "invalid JSON: trailing data after the array")


def check_encoding(path: str | Path, data: bytes) -> bytes:
    """``data`` without a UTF-8 BOM; a UTF-16/32 file is refused by name (its lines are not ours to count)."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            raise at(path, 1, None, f"{name} text (byte-order mark); save the file as UTF-8")
    head = data[:64]
    if len(head) >= 4 and b"\x00" in head and (head[0::2].count(0) == len(head[0::2]) or
                                                head[1::2].count(0) == len(head[1::2])):
        raise at(path, 1, None, "UTF-16 text (every other byte is 0, no byte-order mark); save the file as UTF-8")
    return data[3:] if data.startswith(b"\xef\xbb\xbf") else data


def read_bytes(path: Path) -> bytes:
    """The file's content, gunzipped when it is gzip data (whatever its name)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise WizardCoderError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError) as exc:
            raise WizardCoderError(f"{path}: corrupt gzip data: {exc}") from None
    return data


def read_json(path: Path, *, limit: int = 16 * MAX_ROW_BYTES) -> Any:
    """A whole-file JSON document (a summary, a manifest), with the same refusals as a row."""
    return parse(check_encoding(path, read_bytes(path)), path, None, limit=limit)


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    """A JSON file that must hold one object (``what`` names it in the error)."""
    obj = read_json(path)
    if not isinstance(obj, dict):
        raise at(path, None, None, f"not {what} (expected a JSON object, got {type(obj).__name__})")
    return obj


def iter_jsonl(path: Path, data: bytes | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)``; blank lines are skipped, anything else must be an object."""
    if data is None:
        data = read_bytes(path)
    data = check_encoding(path, data)
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        row = parse(raw, path, lineno)
        if not isinstance(row, dict):
            raise at(path, lineno, None, f"expected a JSON object, got {type(row).__name__}")
        yield lineno, row


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file and rename, so readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o666 & ~_UMASK)  # mkstemp makes 0600; the result is an ordinary file
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False) + "\n")


def atomic_write_jsonl(path: Path, rows: Iterable[dict[str, Any]]) -> None:
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def read_jsonl_tolerant(path: Path) -> list[dict[str, Any]]:
    """Rows of a file we wrote incrementally: a torn last line (a crash mid-write) is dropped."""
    rows: list[dict[str, Any]] = []
    if not path.exists():
        return rows
    lines = read_bytes(path).split(b"\n")
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        try:
            row = parse(raw, path, i + 1)
        except WizardCoderError as exc:
            if i >= len(lines) - 2:
                break  # only the last line may be torn
            raise WizardCoderError(f"{exc}; this file was written by a run: remove it, or start over with --overwrite"
                                   ) from None
        if not isinstance(row, dict):
            raise at(path, i + 1, None, "expected a JSON object; this file was written by a run: remove it, or start "
                     "over with --overwrite")
        rows.append(row)
    return rows
