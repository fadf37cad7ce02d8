"""Seed instructions: Alpaca JSON (one array) or JSONL (Alpaca / HF ``datasets`` rows).

Every row needs a non-empty ``instruction`` and an ``output`` field (seeds keep their answers; an
empty one still seeds evolution but leaves the final dataset, counted); ``input`` is optional.
A bad row is a one-line error naming file, line and field, or, in lenient mode, skipped and counted.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from wizardcoder.records import Record, read_records

Seed = Record


@dataclass
class SeedFile:
    seeds: list[Seed]
    skipped: list[str] = field(default_factory=list)  # lenient mode: why each bad row was left out


def read_seeds(path: str | Path, lenient: bool = False, limit: int | None = None) -> SeedFile:
    """Read and check every seed; ``lenient`` skips bad rows (counted) instead of stopping."""
    got = read_records(path, what="seed", require_output=False, lenient=lenient, limit=limit)
    return SeedFile(got.records, got.skipped)
