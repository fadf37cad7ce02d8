"""Instruction records (``instruction`` / ``input`` / ``output``) from Alpaca JSON or JSONL.

Shared by the two readers of such files, evolution seeds and fine-tuning data, which differ only
in whether an empty ``output`` is allowed. Every record keeps the line it starts on, so a bad
row is a one-line error naming file, line and field.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizardcoder.errors import WizardCoderError, at
from wizardcoder.jsonl import check_encoding, iter_array, parse, read_bytes


@dataclass(frozen=True)
class Record:
    instruction: str
    input: str
    output: str
    line: int  # in its file, for messages and lineage


@dataclass
class RecordFile:
    records: list[Record]
    skipped: list[str] = field(default_factory=list)  # lenient mode: why each bad row was left out


def iter_rows(path: Path) -> Iterator[tuple[int, Any]]:
    """``(line, object)`` for each row; an unparseable JSONL line is yielded as its error."""
    data = check_encoding(path, read_bytes(path))
    if data.lstrip().startswith(b"["):
        yield from iter_array(path, data)
        return
    for lineno, raw in enumerate(data.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            yield lineno, parse(raw, path, lineno)
        except WizardCoderError as exc:  # passed on: lenient mode skips one bad line and goes on
            yield lineno, exc


def parse_record(path: Path, line: int, row: Any, require_output: bool) -> Record:
    if isinstance(row, WizardCoderError):
        raise row
    if not isinstance(row, dict):
        raise at(path, line, None, f"expected a JSON object, got {type(row).__name__}")
    values = {}
    for name, required in (("instruction", True), ("input", False), ("output", True)):
        value = row.get(name)
        if value is None:
            if required:
                raise at(path, line, name, "missing")
            value = ""
        if not isinstance(value, str):
            raise at(path, line, name, f"expected a string, got {type(value).__name__}")
        values[name] = value
    if not values["instruction"].strip():
        raise at(path, line, "instruction", "empty")
    if require_output and not values["output"].strip():
        raise at(path, line, "output", "empty response (nothing to train on)")
    return Record(values["instruction"], values["input"], values["output"], line)


def read_records(path: str | Path, *, what: str, require_output: bool, lenient: bool = False,
                 limit: int | None = None) -> RecordFile:
    """Read and check every row; ``lenient`` skips bad rows (counted) instead of stopping."""
    path = Path(path)
    if not path.exists():
        raise WizardCoderError(f"{path}: no such {what} file")
    if path.is_dir():
        raise WizardCoderError(f"{path}: a directory, not a {what} file")
    out = RecordFile([])
    for line, row in iter_rows(path):
        if limit is not None and len(out.records) >= limit:
            break
        try:
            out.records.append(parse_record(path, line, row, require_output))
        except WizardCoderError as exc:
            if not lenient:
                raise
            out.skipped.append(str(exc))
    if not out.records:
        raise WizardCoderError(f"{path}: no usable {what} rows")
    return out
