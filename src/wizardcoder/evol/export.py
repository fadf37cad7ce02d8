"""The dataset out of a run: seeds + every accepted row, deduplicated, decontaminated, written.

Files (all rewritten whole, atomically, from the run state; exporting again gives the same files):

- ``data.jsonl``: one row per line with lineage (``id``, ``parent_id``, ``round``, ``method``,
  ``teacher``, tokens); ``datasets.load_dataset("json", data_files=...)`` and ``wizardcoder train``
  read it as is.
- ``data.alpaca.json``: the same rows as an Alpaca list (instruction / input / output).
- ``eliminated.jsonl``: every failed evolution with its reason.
- ``removed.jsonl``: rows left out of the dataset: seeds without an answer, duplicates and
  near-duplicates (``of`` names the row kept), contamination (the benchmark task and the n-gram).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from wizardcoder.evol.decontam import Decontaminator, decontaminate
from wizardcoder.evol.dedup import dedup
from wizardcoder.evol.state import Row, Store
from wizardcoder.jsonl import atomic_write_json, atomic_write_jsonl

DATA_FILE = "data.jsonl"
ALPACA_FILE = "data.alpaca.json"
ELIMINATED_FILE = "eliminated.jsonl"
REMOVED_FILE = "removed.jsonl"


@dataclass
class ExportSummary:
    rows: int  # in the dataset
    seeds: int
    evolved: int
    eliminated: int
    removed: Counter[str] = field(default_factory=Counter)
    files: list[str] = field(default_factory=list)


def _data_row(row: Row) -> dict[str, Any]:
    return {"id": row.id, "instruction": row.instruction, "input": row.input, "output": row.output,
            "parent_id": row.parent_id, "round": row.round, "method": row.method, "teacher": row.teacher,
            "prompt_tokens": row.prompt_tokens, "completion_tokens": row.completion_tokens}


def export(store: Store, directory: Path, decon: Decontaminator | None = None,
           dedup_threshold: float | None = 0.8) -> ExportSummary:
    """Write the four files; ``decon`` None skips decontamination, ``dedup_threshold`` None dedup."""
    kept: list[dict[str, Any]] = []
    eliminated: list[dict[str, Any]] = []
    removed: list[dict[str, Any]] = []
    for row in store.rows():  # seeds first, then round 1, 2, ...: the earliest copy of a duplicate stays
        if row.status == "eliminated":
            eliminated.append({"id": row.id, "parent_id": row.parent_id, "round": row.round, "method": row.method,
                               "reason": row.reason, "detail": row.detail, "instruction": row.instruction,
                               "output": row.output})
        elif row.status == "seed" and not row.output.strip():
            removed.append({"id": row.id, "reason": "empty_output", "source_line": row.source_line})
        else:
            kept.append(_data_row(row))
    if dedup_threshold is not None:
        keep, dups = dedup(kept, threshold=dedup_threshold, lineage=[r["id"].split(".")[0] for r in kept])
        removed += [asdict(d) for d in dups]
        kept = [kept[i] for i in keep]
    if decon is not None:
        keep, hits = decontaminate(kept, decon)
        removed += [{**asdict(h), "reason": "contaminated"} for h in hits]
        kept = [kept[i] for i in keep]
    directory.mkdir(parents=True, exist_ok=True)
    atomic_write_jsonl(directory / DATA_FILE, kept)
    atomic_write_json(directory / ALPACA_FILE, [{k: r[k] for k in ("instruction", "input", "output")} for r in kept])
    atomic_write_jsonl(directory / ELIMINATED_FILE, eliminated)
    atomic_write_jsonl(directory / REMOVED_FILE, removed)
    return ExportSummary(
        rows=len(kept), seeds=sum(1 for r in kept if r["round"] == 0), evolved=sum(1 for r in kept if r["round"] > 0),
        eliminated=len(eliminated), removed=Counter(r["reason"] for r in removed),
        files=[DATA_FILE, ALPACA_FILE, ELIMINATED_FILE, REMOVED_FILE])
