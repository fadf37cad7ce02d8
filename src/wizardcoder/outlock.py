"""One writer per output: an exclusive lock that a command holds on its output for its whole run.

Invariants:
- The lock is ``fcntl.flock`` on a lock file (``DIR/.wizardcoder.lock`` for an output directory,
  ``.NAME.wizardcoder.lock`` beside an output file). The kernel releases it when the holder's process
  ends, however it ends (SIGKILL, crash): a stale lock is simply taken over, never trusted.
- A second writer is refused at once, with one line naming the holder (pid, command, start time),
  read from the lock file, which the holder writes after taking the lock.
- Lock files are never deleted (deleting one would let two processes lock two different files).
- Re-entrant within a process: a command that calls another stage on the same output (``eval
  --model`` generates, then scores) keeps its one lock.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import fcntl
import json
import os
import shlex
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from wizardcoder.errors import WizardCoderError, describe_os_error

LOCK_NAME = ".wizardcoder.lock"

_held: dict[str, int] = {}  # lock file -> re-entry count, in this process
_guard = threading.Lock()


def lock_file(output: Path, is_dir: bool) -> Path:
    output = Path(output)
    return output / LOCK_NAME if is_dir else output.with_name(f".{output.name}{LOCK_NAME}")


@contextlib.contextmanager
def hold(output: str | Path, *, is_dir: bool = True) -> Iterator[None]:
    """Hold the exclusive lock of ``output`` (a directory, created if missing, or a file) for the block."""
    path = lock_file(Path(output), is_dir)
    key = os.path.abspath(path)
    with _guard:
        if key in _held:
            _held[key] += 1
            fd = None
        else:
            fd = _acquire(path, Path(output))
            _held[key] = 1
    try:
        yield
    except Exception as exc:  # a failed write may name no file: the CLI's one line says which output it was
        if getattr(exc, "output", None) is None:
            exc.output = Path(output)  # type: ignore[attr-defined]
        raise
    finally:
        with _guard:
            _held[key] -= 1
            if not _held[key]:
                del _held[key]
                if fd is not None:
                    os.close(fd)  # releases the flock


def _acquire(path: Path, output: Path) -> int:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        raise WizardCoderError(f"{output}: cannot be an output: {_why(path.parent, exc)}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _describe(fd)
        os.close(fd)
        raise WizardCoderError(f"{output}: in use by another run ({holder}); wait for it to end, "
                               f"or write to another output") from None
    except OSError as exc:
        os.close(fd)
        raise WizardCoderError(f"{output}: cannot lock ({exc.strerror or exc})") from None
    me = {"pid": os.getpid(), "command": shlex.join([Path(sys.argv[0]).name, *sys.argv[1:]])[:300],
          "started": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")}
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, (json.dumps(me) + "\n").encode(), 0)
    except OSError:
        pass  # the lock holds without its description
    return fd


def _why(directory: Path, exc: OSError) -> str:
    for p in (directory, *directory.parents):  # the usual cause: a file where a directory should be
        if p.exists():
            if not p.is_dir():
                return f"{p} is a file, not a directory"
            break
    if exc.errno != errno.ENOENT:
        return describe_os_error(exc, None)
    return f"{(exc.strerror or os.strerror(errno.ENOENT)).lower()} (cannot create it there)"


def _describe(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"pid {info['pid']}, `{info['command']}`, since {info['started']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "a process that has just started"
