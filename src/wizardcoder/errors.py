"""User-facing errors: the CLI prints them as one line, without a traceback."""

from __future__ import annotations

import errno
from pathlib import Path


class WizardCoderError(Exception):
    """An error in what the user gave us (a file, a flag, a dataset), not a bug."""


def at(path: str | Path, line: int | None, field: str | None, message: str) -> WizardCoderError:
    """An error that points at ``path:line`` and the offending field."""
    where = f"{path}:{line}" if line is not None else str(path)
    what = f" field '{field}':" if field else ""
    return WizardCoderError(f"{where}:{what} {message}")


class PromptTooLong(WizardCoderError):
    """A prompt that does not fit the context by itself; ``index`` is its place in the batch."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(f"request {index}: {message}")
        self.index, self.detail = index, message


_OS_ADVICE = {  # what to do, after the system's own words
    errno.ENOSPC: "free space, then rerun with --resume (what was written is kept)",
    errno.EDQUOT: "free space, then rerun with --resume (what was written is kept)",
    errno.EROFS: "choose an output on a writable disk",
    errno.EACCES: "choose an output you may write to, or fix its permissions",
    errno.EPERM: "an immutable or protected path? choose another output",
    errno.EEXIST: "remove it or choose another path",
    errno.EISDIR: "give a file path, not a directory",
    errno.ENOTDIR: "a part of the path is a file, not a directory: choose another path",
    errno.ENAMETOOLONG: "choose a shorter path",
    errno.EMFILE: "raise `ulimit -n` or lower the parallelism",
    errno.EIO: "check the disk, then rerun with --resume",
}


def describe_os_error(exc: OSError, fallback: str | Path | None = None) -> str:
    """One line for an operating-system refusal: the path (or ``fallback``, the output being written),
    the system's reason and what to do."""
    path = exc.filename if exc.filename is not None else fallback
    reason = (exc.strerror or str(exc) or type(exc).__name__).lower()
    advice = _OS_ADVICE.get(exc.errno or -1)
    text = f"{reason}; {advice}" if advice else reason
    return f"{path}: {text}" if path is not None else text


_SQLITE_ADVICE = {  # primary result codes of SQLite (https://sqlite.org/rescode.html) -> what to do
    13: "free space, then rerun with --resume (finished requests are kept)",  # SQLITE_FULL
    10: "check the disk, then rerun with --resume",  # SQLITE_IOERR
    8: "choose an output you may write to",  # SQLITE_READONLY
    14: "choose an output you may write to",  # SQLITE_CANTOPEN
    11: "the run's database is damaged: start over with --overwrite, or use another --output",  # SQLITE_CORRUPT
    26: "start over with --overwrite, or use another --output",  # SQLITE_NOTADB
}


def describe_sqlite_error(exc: Exception, output: str | Path | None = None) -> str | None:
    """One line for an SQLite failure caused by the machine or the file (None: a bug, worth its traceback)."""
    code = getattr(exc, "sqlite_errorcode", None)
    advice = _SQLITE_ADVICE.get(code & 0xFF) if isinstance(code, int) else None
    if advice is None:
        return None
    return f"{output}: {exc}; {advice}" if output is not None else f"{exc}; {advice}"
