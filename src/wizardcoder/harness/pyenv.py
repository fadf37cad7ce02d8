"""Execution environments: a Python with a benchmark's pinned libraries, made once, kept in the cache.

DS-1000's checks only mean what they say under its library versions (pandas 1.5's dtypes, scikit-learn
1.4's defaults...), and those pins clash with the toolkit's own environment. So its programs run in a
separate virtual environment that the harness creates on first use under
``<cache>/envs/<name>-py<X.Y>-<key>/`` (``WIZARDCODER_ENVS_DIR`` moves it; ``key``: the requirement
list's hash: a new pin list is a new environment, an old one stays usable). Invariants:

- an environment is complete iff its ``wizardcoder-env.json`` exists: it is written last, after every
  library was installed and imported once; a folder without it (a crash, Ctrl-C) is removed and made again;
- one process creates a given environment at a time (a lock file next to it); the others wait, then reuse;
- ``WIZARDCODER_<NAME>_PYTHON`` names an interpreter the user made instead (a conda env, an offline box):
  nothing is installed then, and its versions are read and recorded all the same.

The versions of every pinned library are read from the environment itself and go into summary.json.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from wizardcoder.errors import WizardCoderError
from wizardcoder.jsonl import atomic_write_json
from wizardcoder.paths import envs_dir

MARKER = "wizardcoder-env.json"
TORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"


@dataclass(frozen=True)
class EnvSpec:
    """What one benchmark's programs need: pinned distributions, the modules to import, the official list."""

    name: str
    requirements: tuple[str, ...]  # pip requirement strings, "dist==version"
    modules: dict[str, str]  # distribution -> the module it provides (imported once to prove the install)
    official: dict[str, str]  # distribution -> the version the benchmark's authors pinned
    environment: dict[str, str] = field(default_factory=dict)  # variables the programs run with
    torch_cpu: bool = False  # install torch from PyTorch's CPU index when it can be reached
    # Data the programs download at run time, fetched ahead by the libraries' own code (the sandbox has
    # no network): name -> code run in the environment. Their caches live in ``data_dir()``, found by
    # the programs through ``data_env`` (variable -> folder under it).
    prefetch: dict[str, str] = field(default_factory=dict)
    data_env: dict[str, str] = field(default_factory=dict)

    @property
    def env_var(self) -> str:
        return f"WIZARDCODER_{self.name.upper()}_PYTHON"

    def key(self) -> str:
        text = json.dumps([self.requirements, sys.version_info[:2]])
        return hashlib.md5(text.encode()).hexdigest()[:10]

    def root(self) -> Path:
        return envs_dir() / f"{self.name}-py{sys.version_info[0]}.{sys.version_info[1]}-{self.key()}"

    def data_dir(self) -> Path:
        return envs_dir() / f"{self.name}-data"

    def variables(self) -> dict[str, str]:
        return {**self.environment, **{k: str(self.data_dir() / v) for k, v in self.data_env.items()}}


# xlang-ai/DS-1000's environment.yml (Python 3.10), on the Python the toolkit runs on. The one pin that
# differs: torch 2.2.0's CPU build has no wheel here; the CPU build of 2.13.0 takes its place. PyYAML is
# the environment.yml's "yaml" (problem 15 imports it). Matplotlib problems load seaborn's example data
# and one scikit-learn problem California housing: fetched once into the data folder.
DS1000_ENV = EnvSpec(
    name="ds1000",
    requirements=("numpy==1.26.4", "pandas==1.5.3", "scipy==1.12.0", "scikit-learn==1.4.0", "matplotlib==3.8.4",
                  "tensorflow-cpu==2.16.1", "torch==2.13.0", "seaborn==0.13.2", "gensim==4.3.2",
                  "statsmodels==0.14.1", "xgboost==2.0.3", "pyyaml==6.0.2"),
    modules={"numpy": "numpy", "pandas": "pandas", "scipy": "scipy", "scikit-learn": "sklearn",
             "matplotlib": "matplotlib.pyplot", "tensorflow-cpu": "tensorflow", "torch": "torch",
             "seaborn": "seaborn", "gensim": "gensim", "statsmodels": "statsmodels.api", "xgboost": "xgboost",
             "pyyaml": "yaml"},
    official={"python": "3.10", "numpy": "1.26.4", "pandas": "1.5.3", "scipy": "1.12.0", "scikit-learn": "1.4.0",
              "matplotlib": "3.8.4", "tensorflow-cpu": "2.16.1", "torch": "2.2.0", "seaborn": "0.13.2",
              "gensim": "4.3.2", "statsmodels": "0.14.1", "xgboost": "2.0.3"},
    # as DS-1000's test script: quiet TensorFlow, no GPU; and a non-interactive matplotlib
    environment={"TF_CPP_MIN_LOG_LEVEL": "3", "CUDA_VISIBLE_DEVICES": "-1", "KMP_DUPLICATE_LIB_OK": "TRUE",
                 "MPLBACKEND": "Agg"},
    torch_cpu=True,
    prefetch={**{f"seaborn:{name}": f"import seaborn; seaborn.load_dataset({name!r})"
                 for name in ("penguins", "tips", "exercise", "planets")},
              "sklearn:california_housing": "from sklearn.datasets import fetch_california_housing as f; f()"},
    data_env={"SEABORN_DATA": "seaborn", "SCIKIT_LEARN_DATA": "sklearn"},
)


@dataclass(frozen=True)
class PythonEnv:
    """A ready environment: its interpreter, where it lives, and what it holds."""

    python: str
    root: Path | None  # None: the user's own interpreter (WIZARDCODER_<NAME>_PYTHON)
    versions: dict[str, str]  # distribution (and "python") -> installed version
    environment: dict[str, str]  # variables its programs run with
    data_dir: Path | None = None  # the prefetched data (shared read-only with the jobs)
    data_missing: dict[str, str] = field(default_factory=dict)  # prefetch name -> why it is not there

    def share(self) -> tuple[str, ...]:
        """Directories a sandbox must keep visible for this interpreter (it may live under $HOME)."""
        dirs = {os.path.dirname(self.python), os.path.dirname(os.path.realpath(self.python))}
        if self.root is not None:
            dirs.add(str(self.root))
        if self.data_dir is not None and self.data_dir.is_dir():
            dirs.add(str(self.data_dir))
        prefixes = _run_json(self.python, "import json,sys; print(json.dumps([sys.prefix, sys.base_prefix, *sys.path]))")
        dirs.update(p for p in prefixes if p and os.path.isdir(p))
        return tuple(sorted(dirs))

    def differences(self, spec: EnvSpec) -> dict[str, dict[str, str]]:
        """Each library whose version is not the official one: ``{dist: {"official", "here"}}``."""
        out = {}
        for dist, official in spec.official.items():
            here = self.versions.get(dist, "missing")
            if not (here == official or here.startswith(official + ".") or here.split("+")[0] == official):
                out[dist] = {"official": official, "here": here}
        return out


def _run_json(python: str, code: str, env: dict[str, str] | None = None, timeout: float = 300) -> list | dict:
    try:
        done = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, **(env or {})})
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise WizardCoderError(f"{python}: cannot run it ({exc})") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise WizardCoderError(f"{python}: {last}")
    try:
        value = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise WizardCoderError(f"{python}: unexpected output {done.stdout[-200:]!r}") from None
    if not isinstance(value, (list, dict)):
        raise WizardCoderError(f"{python}: unexpected output {done.stdout[-200:]!r}")
    return value


def _probe_code(spec: EnvSpec) -> str:
    """Import every module once (a broken install fails here, not in the first job); the versions."""
    return (
        "import importlib, importlib.metadata as md, json, sys\n"
        f"mods = {spec.modules!r}\n"
        "bad = []\n"
        "for dist, mod in mods.items():\n"
        "    try:\n"
        "        importlib.import_module(mod)\n"
        "    except Exception as exc:\n"
        "        bad.append(f'{mod}: {type(exc).__name__}: {exc}'[:300])\n"
        "v = {}\n"
        "for dist in mods:\n"
        "    try:\n"
        "        v[dist] = md.version(dist)\n"
        "    except md.PackageNotFoundError:\n"
        "        v[dist] = 'missing'\n"
        "v['python'] = '.'.join(map(str, sys.version_info[:3]))\n"
        "print(json.dumps({'versions': v, 'errors': bad}))\n"
    )


def inspect_python(python: str, spec: EnvSpec) -> dict[str, str]:
    """The versions an interpreter holds; an error naming the first library it cannot import."""
    found = _run_json(python, _probe_code(spec), dict(spec.environment))
    assert isinstance(found, dict)
    if found.get("errors"):
        raise WizardCoderError(f"{spec.name} environment {python}: cannot import {found['errors'][0]}")
    return {str(k): str(v) for k, v in found["versions"].items()}


@contextlib.contextmanager
def _lock(path: Path, log: Callable[[str], None] | None) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if log:
                log(f"waiting: another process is creating {path.with_suffix('')}")
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _reachable(url: str, timeout: float = 5.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def ensure(spec: EnvSpec, log: Callable[[str], None] | None = None,
           on_line: Callable[[str], None] | None = None, refetch: bool = False) -> PythonEnv:
    """The environment for ``spec``, created on first use (minutes, once); see the module docstring.

    ``log`` gets one-line messages; ``on_line`` each line pip prints while installing (a progress display).
    Data that could not be fetched when the environment was made is tried again only with ``refetch``
    (``wizardcoder env``): an offline evaluation must not wait on the network each time."""
    own = os.environ.get(spec.env_var)
    if own:
        python = shutil.which(own) or own
        if not os.path.exists(python):
            raise WizardCoderError(f"{spec.env_var}={own}: no such interpreter")
        versions, root = inspect_python(python, spec), None
    else:
        root = spec.root()
        python = str(root / "bin" / "python")
        if (found := _complete(root)) is None:
            with _lock(root.with_name(root.name + ".lock"), log):
                if (found := _complete(root)) is None:  # another process may have made it while we waited
                    found = _create(spec, root, log, on_line)
                    refetch = True
        versions = found
    missing = _prefetch(spec, python, log, refetch)
    return PythonEnv(python, root, versions, spec.variables(), spec.data_dir() if spec.prefetch else None, missing)


def _prefetch(spec: EnvSpec, python: str, log: Callable[[str], None] | None, again: bool) -> dict[str, str]:
    """Fetch the data the programs would download (once; ``again``: retry what is missing); what is missing."""
    if not spec.prefetch:
        return {}
    record = spec.data_dir() / "prefetch.json"
    try:
        done = json.loads(record.read_text())
        missing = {str(k): str(v) for k, v in done["missing"].items()}
        tried = set(done["tried"])
    except (OSError, ValueError, KeyError, AttributeError, TypeError):
        missing, tried = {}, set()
    todo = [n for n in spec.prefetch if n not in tried or (again and n in missing)]
    if not todo:
        return missing
    with _lock(spec.data_dir().with_name(spec.data_dir().name + ".lock"), log):
        spec.data_dir().mkdir(parents=True, exist_ok=True)
        for name in todo:
            try:
                _run_json(python, spec.prefetch[name] + "\nprint('[]')", spec.variables(), timeout=300)
                missing.pop(name, None)
            except WizardCoderError as exc:
                missing[name] = str(exc).split(": ", 1)[-1][:200]
            tried.add(name)
        atomic_write_json(record, {"tried": sorted(tried), "missing": missing})
    if missing and log:
        log(f"{spec.name}: could not fetch {', '.join(sorted(missing))} (offline?): the problems that load them "
            f"will fail; `wizardcoder env {spec.name}` tries again")
    return missing


def _complete(root: Path) -> dict[str, str] | None:
    try:
        data = json.loads((root / MARKER).read_text())
        return {str(k): str(v) for k, v in data["versions"].items()}
    except (OSError, ValueError, KeyError, AttributeError):
        return None


def _create(spec: EnvSpec, root: Path, log: Callable[[str], None] | None,
            on_line: Callable[[str], None] | None) -> dict[str, str]:
    if root.exists():
        shutil.rmtree(root)  # an unfinished earlier attempt
    t0 = time.monotonic()
    if log:
        log(f"creating the {spec.name} environment (once, a few minutes): {root}")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, capture_output=True, text=True)
    except subprocess.CalledProcessError as exc:
        raise WizardCoderError(f"{root}: python -m venv failed: {(exc.stderr or '').strip()[-300:]}") from None
    python = str(root / "bin" / "python")
    pip = [python, "-m", "pip", "install", "--disable-pip-version-check", "--progress-bar", "off"]
    extra: list[str] = []
    if spec.torch_cpu and _reachable(TORCH_CPU_INDEX + "/torch/"):
        extra = ["--extra-index-url", TORCH_CPU_INDEX]  # the CPU build (PyPI's own torch is the CUDA one)
    _pip(pip + extra + list(spec.requirements), spec, root, on_line)
    versions = inspect_python(python, spec)
    atomic_write_json(root / MARKER, {"name": spec.name, "requirements": list(spec.requirements),
                                      "versions": versions, "seconds": round(time.monotonic() - t0, 1)})
    if log:
        log(f"{spec.name} environment ready in {time.monotonic() - t0:.0f} s")
    return versions


def _pip(cmd: list[str], spec: EnvSpec, root: Path, on_line: Callable[[str], None] | None) -> None:
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "PIP_NO_INPUT": "1"})
    errors: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip()
        if line.startswith("ERROR:"):
            errors.append(line.removeprefix("ERROR:").strip())
        elif on_line and line and not line.startswith(("WARNING", " ")):
            on_line(line)
    if proc.wait() != 0:
        why = next((e for e in errors if "No matching distribution" in e or "Could not find" in e),
                   errors[0] if errors else f"pip exited with {proc.returncode}")
        raise WizardCoderError(f"{spec.name} environment {root}: cannot install the pinned libraries: {why} "
                               f"(offline? set {spec.env_var} to a Python that has them; docs/evaluation.md)")
