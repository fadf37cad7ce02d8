"""Training rows -> token ids and labels, exactly as the model will be prompted.

Each row becomes the card's prompt (``format_prompt``, with or without input) followed by the
response and the tokenizer's EOS id. The prompt is tokenized the way our engines tokenize it at
inference (``engines.render.encode``), and its tokens get label -100; the response tokens and
EOS are trained. The EOS *id* is appended, never its text (some tokenizers split ``</s>``), so a
pad token equal to EOS cannot mask it. Rows longer than ``max_length`` are cut on the right
(counted); a row whose prompt alone fills ``max_length`` has nothing to learn and is dropped
(counted).
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizardcoder.engines.render import encode
from wizardcoder.errors import WizardCoderError
from wizardcoder.prompting.template import format_prompt
from wizardcoder.records import Record, read_records

IGNORE = -100


def data_file(path: str | Path) -> Path:
    """The rows file behind ``--data``: a file, or an ``evolve`` output directory (its data.jsonl)."""
    path = Path(path)
    if path.is_dir():
        if (path / "data.jsonl").is_file():
            return path / "data.jsonl"
        raise WizardCoderError(f"{path}: a directory without data.jsonl (give the evolve output dir or a data file)")
    if not path.exists():
        raise WizardCoderError(f"{path}: no such data file")
    return path


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_rows(path: str | Path, lenient: bool = False, limit: int | None = None) -> tuple[list[Record], list[str]]:
    """Every row checked (instruction and a non-empty response); bad rows stop the run unless lenient."""
    got = read_records(data_file(path), what="training data", require_output=True, lenient=lenient, limit=limit)
    return got.records, got.skipped


@dataclass(frozen=True)
class Encoded:
    input_ids: list[int]
    labels: list[int]
    truncated: bool
    merged_boundary: bool  # the prompt's last token merged with the response's first


@dataclass
class DataStats:
    rows: int = 0
    truncated: int = 0
    dropped: int = 0  # the prompt alone filled max_length
    merged_boundary: int = 0
    prompt_tokens: int = 0
    response_tokens: int = 0  # trained tokens, EOS included
    longest: int = 0
    skipped: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "skipped"} | {"skipped": len(self.skipped)}


class RowEncoder:
    """Tokenizes rows for one tokenizer; knows whether it appends EOS to every text by itself."""

    def __init__(self, tokenizer: Any, max_length: int) -> None:
        if tokenizer.eos_token_id is None:
            raise WizardCoderError("the tokenizer has no EOS token: a model cannot learn where its answer ends")
        self.tok, self.max_length, self.eos = tokenizer, max_length, tokenizer.eos_token_id
        probe = encode(tokenizer, "x")
        self.auto_eos = bool(probe) and probe[-1] == self.eos

    def _ids(self, text: str) -> list[int]:
        ids = encode(self.tok, text)
        return ids[:-1] if self.auto_eos and ids and ids[-1] == self.eos else ids

    def encode(self, row: Record) -> Encoded:
        prompt = format_prompt(row.instruction, row.input)
        p = self._ids(prompt)
        joint = self._ids(prompt + row.output)
        common = 0
        for a, b in zip(p, joint, strict=False):
            if a != b:
                break
            common += 1
        ids = [*joint, self.eos]
        labels = [IGNORE] * common + ids[common:]
        truncated = len(ids) > self.max_length
        if truncated:
            ids, labels = ids[: self.max_length], labels[: self.max_length]
        return Encoded(ids, labels, truncated, common < len(p))


def encode_rows(tokenizer: Any, rows: list[Record], max_length: int, stats: DataStats) -> list[dict[str, list[int]]]:
    """``input_ids`` / ``labels`` dicts, ready for TRL (which then only pads or packs them)."""
    encoder = RowEncoder(tokenizer, max_length)
    out = []
    for row in rows:
        enc = encoder.encode(row)
        stats.rows += 1
        trained = sum(1 for label in enc.labels if label != IGNORE)
        if trained == 0:
            stats.dropped += 1
            continue
        stats.truncated += enc.truncated
        stats.merged_boundary += enc.merged_boundary
        stats.response_tokens += trained
        stats.prompt_tokens += len(enc.labels) - trained
        stats.longest = max(stats.longest, len(enc.input_ids))
        out.append({"input_ids": enc.input_ids, "labels": enc.labels})
    return out


def split_rows(rows: list[Record], fraction: float, seed: int) -> tuple[list[Record], list[Record]]:
    """A seeded held-out subset (at least one row when ``fraction`` > 0), the rest for training."""
    if fraction <= 0:
        return rows, []
    n_eval = max(1, round(len(rows) * fraction))
    if n_eval >= len(rows):
        raise WizardCoderError(f"eval_split {fraction} leaves no training rows ({len(rows)} rows)")
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    held = set(order[:n_eval])
    return [r for i, r in enumerate(rows) if i not in held], [r for i, r in enumerate(rows) if i in held]
