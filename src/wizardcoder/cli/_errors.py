"""The ``wizardcoder`` entry point: every failure a user can act on ends as one line and an exit code."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

import typer
from rich.markup import escape

from wizardcoder.cli._app import app, err_console
from wizardcoder.errors import WizardCoderError


def _one_line(message: str, code: int) -> NoReturn:
    err_console.print(f"[red]error:[/red] {escape(' '.join(message.split()))}", highlight=False, soft_wrap=True)
    raise SystemExit(code)


def user_error(exc: BaseException, output: Path | None) -> str | None:
    """The one line for a failure the user can act on; None for a bug. Groups (asyncio task groups)
    are searched for their first such failure."""
    import sqlite3

    from wizardcoder.errors import describe_os_error, describe_sqlite_error

    if isinstance(exc, BaseExceptionGroup):
        for leaf in exc.exceptions:
            found = user_error(leaf, getattr(leaf, "output", None) or output)
            if found is not None:
                return found
        return None
    if isinstance(exc, WizardCoderError):
        return str(exc)
    if isinstance(exc, OSError):
        return describe_os_error(exc, output)
    if isinstance(exc, sqlite3.Error):
        return describe_sqlite_error(exc, output)
    if isinstance(exc, RecursionError):
        return "input nested too deeply to process"
    if isinstance(exc, MemoryError):
        return "out of memory (an input too large, or limits too low for this job)"
    return None


def run(argv: list[str] | None = None) -> None:
    """The ``wizardcoder`` command. Every failure ends as one line on stderr and an exit code: 2 for bad
    input, a bad option or an operating-system refusal (a full disk, a read-only or immutable path),
    130 for an interrupt; no traceback is shown, and what a command wrote so far stays resumable."""
    from typer import _click as click  # typer's own copy of click, whose exceptions it raises

    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="wizardcoder", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError:  # a bare `wizardcoder evolve`: its help, already printed
        raise SystemExit(2) from None
    except click.exceptions.UsageError as exc:
        where = exc.ctx.command_path if exc.ctx else "wizardcoder"
        _one_line(f"{exc.format_message()} (see {where} --help)", 2)
    except click.exceptions.ClickException as exc:
        _one_line(exc.format_message(), exc.exit_code)
    except typer.Abort:
        _one_line("interrupted", 130)
    except BrokenPipeError:  # `| head` closed our output: nothing to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        raise SystemExit(1) from None
    except Exception as exc:
        message = user_error(exc, getattr(exc, "output", None))
        if message is None:
            raise  # a bug: its traceback is what a report needs
        _one_line(message, 2)
    raise SystemExit(code if isinstance(code, int) else 0)
