"""Near-duplicate removal of evolved rows: exact matches by hash, then MinHash LSH on word shingles.

Evolution often returns a task that barely differs from its parent or from another slot's child;
such rows add training cost, not diversity. The key is the task (instruction + input), never the
answer: two answers to one task are still one task. Rows are visited in order and each is compared
with the rows kept so far, so the first occurrence wins (callers pass seeds first, then round 1, 2, ...)
and ``Removed.of`` always names a kept row.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from datasketch import LeanMinHash, MinHash, MinHashLSH

SEED = 1  # fixed: the same rows give the same result in every run and process


@dataclass
class Removed:
    """One removed row and the kept row it repeats."""

    id: str
    reason: str  # "duplicate" (same normalized text) or "near_duplicate"
    of: str  # id of the kept row it duplicates
    similarity: float  # estimated Jaccard of the shingle sets (1.0 for exact)


def key_text(row: Mapping[str, Any]) -> str:
    """The normalized task text: lowercase, whitespace collapsed, the output left out."""
    text = f"{row.get('instruction') or ''}\n{row.get('input') or ''}"
    return " ".join(text.lower().split())


def shingles(text: str, size: int = 3) -> set[bytes]:
    """Word ``size``-grams of a normalized text; a shorter text is one shingle (so it still has a set)."""
    words = text.split()
    if len(words) < size:
        return {" ".join(words).encode()}
    return {" ".join(words[i:i + size]).encode() for i in range(len(words) - size + 1)}


def dedup(
    rows: Sequence[Mapping[str, Any]], threshold: float = 0.8, num_perm: int = 128, shingle: int = 3,
    lineage: Sequence[Hashable] | None = None,
) -> tuple[list[int], list[Removed]]:
    """Indices of the rows to keep (in input order) and a record of each row removed.

    A row is removed when its normalized task text equals an earlier row's, or when LSH finds a kept
    row whose estimated Jaccard similarity to it is at least ``threshold`` (the most similar such
    row is reported; ties go to the earlier one). An exact repeat of a row that was itself removed
    as a near duplicate is reported like that row, against the same kept row.

    ``lineage`` (one key per row): rows with the same key are one evolution chain (a seed and its
    accepted descendants), meant to be close to each other ("add about ten words"); they are never
    near duplicates of one another, only exact ones.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if shingle < 1:
        raise ValueError(f"shingle must be >= 1, got {shingle}")
    lsh = MinHashLSH(threshold=threshold, num_perm=num_perm)
    # CRC-32 hashes shingles ~7x faster than datasketch's default SHA-1, is the same in every process
    # (unlike hash()), and MinHash mixes each input hash with the MurmurHash3 finalizer before permuting;
    # measured: the same Jaccard estimation error as SHA-1. One MinHash is reused; each row keeps a lean copy.
    mh = MinHash(num_perm=num_perm, seed=SEED, hashfunc=zlib.crc32)
    sketches: dict[int, LeanMinHash] = {}  # kept row index -> its MinHash
    # 128-bit digest of the normalized text (not the text: 100k long rows) -> the kept index, or how its first row went
    seen: dict[bytes, Removed | int] = {}
    kept: list[int] = []
    removed: list[Removed] = []
    ids = [str(row["id"]) for row in rows]
    for i, row in enumerate(rows):
        text = key_text(row)
        digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
        first = seen.get(digest)
        if isinstance(first, int):
            removed.append(Removed(ids[i], "duplicate", ids[first], 1.0))
            continue
        if first is not None:
            removed.append(Removed(ids[i], first.reason, first.of, first.similarity))
            continue
        mh.clear()
        mh.update_batch(shingles(text, shingle))
        sketch = LeanMinHash(mh)
        best: tuple[float, int] | None = None
        for j in lsh.query(sketch):
            if lineage is not None and lineage[j] == lineage[i]:
                continue
            sim = sketch.jaccard(sketches[j])
            if sim >= threshold and (best is None or (sim, -j) > (best[0], -best[1])):
                best = (sim, j)
        if best is not None:
            record = Removed(ids[i], "near_duplicate", ids[best[1]], best[0])
            removed.append(record)
            seen[digest] = record
            continue
        lsh.insert(i, sketch, check_duplication=False)
        sketches[i] = sketch
        seen[digest] = i
        kept.append(i)
    return kept, removed
