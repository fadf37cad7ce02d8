"""Drop training rows that quote an evaluation benchmark: word n-gram overlap with its prompts and solutions.

A teacher asked to evolve coding tasks can reproduce a HumanEval or MBPP task it has memorised,
and a row that contains a benchmark's task or solution inflates the scores the model is judged
by. A row is contaminated when any word ``n``-gram of its instruction, input or output occurs in
a benchmark prompt or reference solution. Words are ``\\w+`` runs of the lowercased text, so code
identifiers and numbers count and punctuation and layout do not: reformatting a solution does not
hide it.

The index holds Python ``hash()`` values of the joined n-grams (a dict lookup per n-gram, no
strings kept); it is built in the process that uses it and never stored, so the per-process hash
seed does not matter.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wizardcoder.errors import WizardCoderError
from wizardcoder.harness.datasets import BENCHMARKS as HARNESS_BENCHMARKS
from wizardcoder.harness.datasets import canonical_name, load_dataset
from wizardcoder.paths import cache_dir

BENCHMARKS = ("humaneval", "humaneval+", "mbpp", "mbpp+")
# MultiPL-E's prompt files (HumanEval and MBPP in 21 other languages): its licence forbids training on them.
MULTIPLE = tuple(name for name, spec in HARNESS_BENCHMARKS.items() if spec.kind == "multiple")
FIELDS = ("instruction", "input", "output")


def parse_benchmark_paths(specs: Iterable[str] | None) -> dict[str, str]:
    """``--benchmark-path NAME=FILE`` specs: local benchmark copies to decontaminate against offline."""
    out = {}
    for spec in specs or []:
        name, sep, path = spec.partition("=")
        name = canonical_name(name)
        if not sep or name not in BENCHMARKS + MULTIPLE:
            raise WizardCoderError(f"--benchmark-path {spec}: expected NAME=FILE with NAME one of "
                                   f"{', '.join(BENCHMARKS)} or a MultiPL-E benchmark (humaneval-java, mbpp-cpp...)")
        out[name] = path
    return out
_WORD = re.compile(r"\w+")
# Measured on Code Alpaca 2k at n=10: 62 rows flagged with every n-gram indexed, 41 with this. The 21
# no longer flagged all matched only array swaps (`arr[j], arr[j+1] = arr[j+1], arr[j]`, `temp = arr[i]`)
# or runs such as "1 2 3 ... 10", "1 4 9 ... 100", "a b c ... j"; every benchmark task keeps n-grams.
MIN_WORDS = 3


_BUILT: dict[tuple, Decontaminator] = {}


def _stat(path: str) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError:
        return (-1, -1)
    return (st.st_size, st.st_mtime_ns)


@dataclass
class Contamination:
    """Why one row was dropped: the first n-gram it shares with a benchmark."""

    id: str
    benchmark: str
    task_id: str
    field: str  # which row field matched: instruction / input / output
    source: str  # "prompt" or "solution": which benchmark text
    ngram: str  # the matched n-gram, words joined by spaces


def words(text: str) -> list[str]:
    """Lowercased ``\\w+`` words: identifiers and numbers are words, punctuation and spacing are not."""
    return _WORD.findall(text.lower())


def word_ngrams(tokens: Sequence[str], n: int) -> Iterator[str]:
    """Every word n-gram of ``tokens`` in order, joined by single spaces (none when shorter than ``n``)."""
    for i in range(len(tokens) - n + 1):
        yield " ".join(tokens[i:i + n])


def informative(gram: str) -> int:
    """Distinct words of 2+ characters that are not numbers: "1 2 3 4 5 6 7 8 9 10" has none, and the
    swap ``arr[j], arr[j+1] = arr[j+1], arr[j]`` has two; such n-grams occur in any code, not one task."""
    return len({w for w in gram.split() if len(w) > 1 and not w.isdigit()})


class Decontaminator:
    """An index of benchmark n-grams, and the check of one row against it."""

    def __init__(self, texts: Iterable[tuple[str, str, str, str]], n: int = 10, *, min_words: int = MIN_WORDS,
                 boilerplate: Iterable[str] = ()) -> None:
        """``texts``: ``(benchmark, task_id, source, text)``; an n-gram seen twice keeps its first owner.

        Benchmark n-grams with fewer than ``min_words`` distinct informative words (at most ``n``) are
        not indexed (see :func:`informative`); 0 indexes every n-gram. In the ``boilerplate`` benchmarks
        an n-gram found in two tasks or more is the file's frame, not a task (MultiPL-E's Java prompts
        all begin with the same seven imports and ``class Problem {``): it is not indexed either, or
        every Java row would be dropped.
        """
        if n < 1:
            raise WizardCoderError(f"decontamination n-gram size must be >= 1, got {n}")
        texts = list(texts)
        frame = set(boilerplate)
        if frame:
            owners: dict[int, str] = {}
            for benchmark, task_id, _source, text in texts:
                if benchmark in frame:
                    for gram in set(word_ngrams(words(text), n)):
                        key = hash((benchmark, gram))
                        owners[key] = "" if owners.get(key, task_id) != task_id else task_id
            shared = {key for key, owner in owners.items() if not owner}
        self.n = n
        self.min_words = min_words
        self.benchmarks: list[str] = []
        self._index: dict[int, tuple[str, str, str]] = {}
        least = min(min_words, n)
        skipped: set[int] = set()
        tasks: set[tuple[str, str]] = set()
        for benchmark, task_id, source, text in texts:
            if benchmark not in self.benchmarks:
                self.benchmarks.append(benchmark)
            tasks.add((benchmark, task_id))
            owner = (benchmark, task_id, source)
            framed = benchmark in frame
            for gram in word_ngrams(words(text), n):
                key = hash(gram)
                if key in self._index or key in skipped:
                    continue
                if informative(gram) < least or (framed and hash((benchmark, gram)) in shared):
                    skipped.add(key)
                else:
                    self._index[key] = owner
        self.skipped = len(skipped)  # distinct low-information n-grams left out
        self.tasks = len(tasks)

    @classmethod
    def from_benchmarks(
        cls,
        benchmarks: Sequence[str] = BENCHMARKS,
        n: int = 10,
        paths: Mapping[str, str] | None = None,
        *,
        min_words: int = MIN_WORDS,
    ) -> Decontaminator:
        """Index the prompts and reference solutions of ``benchmarks`` (files found as for evaluation;
        MultiPL-E's have prompts only, their frame left out). Kept for the process: the index of all 46
        files takes ~3 s to build, and the named files are md5-pinned (given paths count by size and mtime)."""
        paths = paths or {}
        stamp = tuple(sorted((k, v, *_stat(v)) for k, v in paths.items()))
        found_by = tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("WIZARDCODER_")))  # file lookup
        key = (tuple(benchmarks), n, min_words, stamp, found_by, str(cache_dir()))
        if (hit := _BUILT.get(key)) is not None:
            return hit
        texts: list[tuple[str, str, str, str]] = []
        for name in benchmarks:
            try:
                dataset = load_dataset(name, paths.get(name))
            except WizardCoderError as exc:
                raise WizardCoderError(f"decontamination against {name}: {exc}") from None
            for task in dataset.tasks.values():
                texts.append((name, task.task_id, "prompt", task.prompt))
                if task.canonical:
                    texts.append((name, task.task_id, "solution", task.canonical))
        built = cls(texts, n, min_words=min_words, boilerplate=[b for b in benchmarks if b in MULTIPLE])
        _BUILT.clear()  # one index kept: they are large
        _BUILT[key] = built
        return built

    @property
    def ngrams(self) -> int:
        """How many distinct benchmark n-grams are indexed."""
        return len(self._index)

    def check(self, row: Mapping[str, Any]) -> Contamination | None:
        """The row's first n-gram (instruction, then input, then output) found in a benchmark, if any."""
        index, n = self._index, self.n
        for field in FIELDS:
            value = row.get(field)
            if not value:
                continue
            tokens = words(str(value))
            for i in range(len(tokens) - n + 1):
                gram = " ".join(tokens[i:i + n])
                owner = index.get(hash(gram))
                if owner is not None:
                    benchmark, task_id, source = owner
                    return Contamination(str(row.get("id", "")), benchmark, task_id, field, source, gram)
        return None


def decontaminate(rows: Sequence[Mapping[str, Any]], decon: Decontaminator) -> tuple[list[int], list[Contamination]]:
    """Indices of the clean rows (in input order) and one record per contaminated row.

    A row without an ``id`` is reported by its index in ``rows``.
    """
    kept: list[int] = []
    found: list[Contamination] = []
    for i, row in enumerate(rows):
        hit = decon.check(row)
        if hit is None:
            kept.append(i)
            continue
        if "id" not in row:
            hit.id = str(i)
        found.append(hit)
    return kept, found
