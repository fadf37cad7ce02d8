"""User-facing errors: the CLI prints them as one line, without a traceback."""

from __future__ import annotations

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
