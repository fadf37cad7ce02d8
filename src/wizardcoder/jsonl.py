"""JSONL and JSON files: precise errors on read, no half-written files on write."""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from wizardcoder.errors import WizardCoderError, at


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


def iter_jsonl(path: Path, data: bytes | None = None) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(line_number, object)``; blank lines are skipped, anything else must be an object."""
    if data is None:
        data = read_bytes(path)
    for lineno, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except UnicodeDecodeError:
            raise at(path, lineno, None, "not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise at(path, lineno, None, f"invalid JSON: {exc.msg} (column {exc.colno})") from None
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
    lines = path.read_bytes().split(b"\n")
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        try:
            row = json.loads(raw)
        except json.JSONDecodeError:
            if i >= len(lines) - 2:  # only the last line may be torn
                break
            raise at(path, i + 1, None, "invalid JSON in a results file; remove it or drop --resume") from None
        rows.append(row)
    return rows
