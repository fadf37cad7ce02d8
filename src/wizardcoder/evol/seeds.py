"""Seed instructions: Alpaca JSON (one array) or JSONL (Alpaca / HF ``datasets`` rows).

Every row needs a non-empty ``instruction`` and an ``output`` field (seeds keep their answers; an
empty one still seeds evolution but leaves the final dataset, counted); ``input`` is optional.
A bad row is a one-line error naming file, line and field, or, in lenient mode, skipped and counted.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizardcoder.errors import WizardCoderError, at
from wizardcoder.jsonl import read_bytes


@dataclass(frozen=True)
class Seed:
    instruction: str
    input: str
    output: str
    line: int  # in the seeds file, for messages and lineage


@dataclass
class SeedFile:
    seeds: list[Seed]
    skipped: list[str] = field(default_factory=list)  # lenient mode: why each bad row was left out


def _json_array(path: Path, text: str) -> Iterator[tuple[int, Any]]:
    """The elements of a JSON array with the line each one starts on."""
    dec = json.JSONDecoder()
    i = text.index("[") + 1
    line = text.count("\n", 0, i) + 1
    n = len(text)
    while True:
        j = i
        while j < n and text[j] in " \t\r\n,":
            j += 1
        line += text.count("\n", i, j)
        if j >= n:
            raise at(path, line, None, "invalid JSON: the array is not closed")
        if text[j] == "]":
            return
        try:
            obj, end = dec.raw_decode(text, j)
        except json.JSONDecodeError as exc:
            raise at(path, exc.lineno, None, f"invalid JSON: {exc.msg} (column {exc.colno})") from None
        yield line, obj
        line += text.count("\n", j, end)
        i = end


def _rows(path: Path) -> Iterator[tuple[int, Any]]:
    data = read_bytes(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise at(path, data.count(b"\n", 0, exc.start) + 1, None, "not UTF-8 text") from None
    if text.lstrip().startswith("["):
        yield from _json_array(path, text)
        return
    for lineno, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            yield lineno, json.loads(raw)
        except json.JSONDecodeError as exc:  # passed on: lenient mode skips one bad line and goes on
            yield lineno, at(path, lineno, None, f"invalid JSON: {exc.msg} (column {exc.colno})")


def _seed(path: Path, line: int, row: Any) -> Seed:
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
    return Seed(values["instruction"], values["input"], values["output"], line)


def read_seeds(path: str | Path, lenient: bool = False, limit: int | None = None) -> SeedFile:
    """Read and check every seed; ``lenient`` skips bad rows (counted) instead of stopping."""
    path = Path(path)
    if not path.exists():
        raise WizardCoderError(f"{path}: no such seeds file")
    out = SeedFile([])
    for line, row in _rows(path):
        if limit is not None and len(out.seeds) >= limit:
            break
        try:
            out.seeds.append(_seed(path, line, row))
        except WizardCoderError as exc:
            if not lenient:
                raise
            out.skipped.append(str(exc))
    if not out.seeds:
        raise WizardCoderError(f"{path}: no usable seed rows")
    return out
