"""Samples files (evalplus-compatible JSONL) and the programs they stand for.

A row has ``task_id`` and one of: ``solution`` (a whole program; MultiPL-E: prompt + completion,
the tests are added; DS-1000: the answer code, as is), ``completion`` (appended to the task prompt;
MultiPL-E: cut at the first stop token first; DS-1000: the answer, cleaned as DS-1000 does) or
``response`` (raw model output, turned into code by a post-processing mode; DS-1000: its official
cleanup unless ``none``). Several rows per task are several samples (for pass@k), numbered in file order, or by an
explicit integer ``completion_id``.
"""

from __future__ import annotations

import ast
import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from wizardcoder.errors import WizardCoderError, at
from wizardcoder.harness.datasets import Dataset, Task
from wizardcoder.harness.postprocess import extract_code, parse
from wizardcoder.jsonl import iter_jsonl, read_bytes

CANONICAL = "canonical"  # --samples canonical: the reference solutions


@dataclass(frozen=True)
class Sample:
    task_id: str
    index: int
    program: str
    source: str  # "solution" | "completion" | "response"
    line: int | None = None
    finish_reason: str | None = None  # a generated row's (stop, length, repetition), counted in the summary


def normalize_task_id(raw: object, benchmark: str) -> str | None:
    """Accept MBPP ids as 11, "11" or "Mbpp/11", DS-1000's as 0, "0" or "DS1000/0"; other benchmarks
    use their own strings."""
    if benchmark.startswith("ds1000"):
        if isinstance(raw, int) and not isinstance(raw, bool):
            return f"DS1000/{raw}"
        if isinstance(raw, str) and raw.isdigit():
            return f"DS1000/{int(raw)}"
    if benchmark in ("mbpp", "mbpp+"):
        if isinstance(raw, bool):
            return None
        if isinstance(raw, int):
            return f"Mbpp/{raw}"
        if isinstance(raw, str) and raw.isdigit():
            return f"Mbpp/{raw}"
    return raw if isinstance(raw, str) else None


def build_program(task_prefix: str, kind: str, text: str, code: str | None = None) -> str:
    if kind == "solution":
        return text
    if kind == "completion":
        return task_prefix + text
    if not task_prefix:
        return code or ""
    futures, rest = split_future_imports(code or "")
    return futures + task_prefix + "\n" + rest


def split_future_imports(code: str) -> tuple[str, str]:
    """The code's leading ``from __future__`` imports, and the rest: code extracted from a response
    runs after the task's prompt, and those imports must open the file (else a SyntaxError the
    model did not write)."""
    if "__future__" not in code:  # the common case, without a parse
        return "", code
    try:
        body = parse(code).body
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return "", code
    docstring = bool(body) and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
        and isinstance(body[0].value.value, str)
    taken: set[int] = set()
    for node in body[int(docstring):]:
        if not (isinstance(node, ast.ImportFrom) and node.module == "__future__"):
            break
        taken.update(range(node.lineno - 1, node.end_lineno or node.lineno))
    if not taken:
        return "", code
    lines = code.splitlines(keepends=True)
    head = "".join(lines[i] if lines[i].endswith("\n") else lines[i] + "\n" for i in sorted(taken))
    return head, "".join(line for i, line in enumerate(lines) if i not in taken)


def stub_program(task: Task) -> str:
    """The task's function with a `pass` body: the same signature, no behaviour (a baseline)."""
    for node in ast.walk(parse(task.canonical)):
        if isinstance(node, ast.FunctionDef) and node.name == task.entry_point:
            return f"def {node.name}({ast.unparse(node.args)}):\n    pass\n"
    return "pass\n"


def canonical_samples(dataset: Dataset) -> list[Sample]:
    if dataset.spec.kind == "multiple":
        raise WizardCoderError(f"{dataset.benchmark}: MultiPL-E ships no reference solutions; give a samples file")
    return [Sample(t.task_id, 0, t.canonical, "solution") for t in dataset.tasks.values()]


def load_samples(path: Path, dataset: Dataset, postprocess: str = "wizardcoder") -> tuple[list[Sample], str]:
    """Validate every row and build its program; returns the samples and the file's md5."""
    data = read_bytes(path)
    family = dataset.benchmark if dataset.benchmark == "mbpp+" else dataset.benchmark.rstrip("+")
    samples: list[Sample] = []
    counters: Counter[str] = Counter()
    explicit: dict[tuple[str, int], int] = {}
    for lineno, row in iter_jsonl(path, data):
        if "task_id" not in row:
            raise at(path, lineno, "task_id", "missing")
        task_id = normalize_task_id(row["task_id"], dataset.benchmark)
        if task_id is None:
            raise at(path, lineno, "task_id", f"expected a string, got {type(row['task_id']).__name__}")
        task = dataset.tasks.get(task_id)
        if task is None:
            raise at(path, lineno, "task_id",
                     f"unknown task {row['task_id']!r} for benchmark {dataset.benchmark}")
        kind = next((k for k in ("solution", "completion", "response") if k in row), None)
        if kind is None:
            raise at(path, lineno, "solution", "missing: each row needs one of solution, completion, response")
        text = row[kind]
        if not isinstance(text, str):
            raise at(path, lineno, kind, f"expected a string, got {type(text).__name__}")
        if "completion_id" in row:
            index = row["completion_id"]
            if not isinstance(index, int) or isinstance(index, bool) or index < 0:
                raise at(path, lineno, "completion_id", "expected a non-negative integer")
            if (task_id, index) in explicit:
                raise at(path, lineno, "completion_id",
                         f"duplicate sample {index} of {task_id} (first on line {explicit[(task_id, index)]})")
            explicit[(task_id, index)] = lineno
        else:
            index = counters[task_id]
            while (task_id, index) in explicit:
                index += 1
            explicit[(task_id, index)] = lineno
        counters[task_id] = max(counters[task_id], index + 1)
        finish = row.get("finish_reason")
        if dataset.spec.kind == "ds1000":  # the answer itself: the official program is built around it
            from wizardcoder.harness.ds1000 import clean

            answer = text if kind == "solution" or (kind == "response" and postprocess == "none") else clean(text)
            samples.append(Sample(task_id, index, answer, kind, lineno, finish if isinstance(finish, str) else None))
            continue
        if dataset.spec.kind == "multiple":
            from wizardcoder.harness import multiple

            try:
                program = multiple.build_program(task, kind, text)
            except WizardCoderError as exc:
                raise at(path, lineno, kind, str(exc)) from None
            finish = row.get("finish_reason")
            samples.append(Sample(task_id, index, program, kind, lineno, finish if isinstance(finish, str) else None))
            continue
        code = extract_code(text, postprocess, family, task.entry_point) if kind == "response" else None
        finish = row.get("finish_reason")
        samples.append(Sample(task_id, index, build_program(task.code_prefix, kind, text, code), kind, lineno,
                              finish if isinstance(finish, str) else None))
    if not samples:
        raise WizardCoderError(f"{path}: no samples")
    return samples, hashlib.md5(data).hexdigest()
