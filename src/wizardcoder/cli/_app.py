"""The typer application, its consoles and the pieces several commands share.

Only the command line imports typer (tests/test_layers.py): commands parse, call the library
(mostly :mod:`wizardcoder.api`) and print; checks of values belong to the settings objects.
"""

from __future__ import annotations

from enum import Enum
from typing import Annotated, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from wizardcoder.harness.datasets import ALIASES, BENCHMARKS

app = typer.Typer(
    name="wizardcoder",
    help="Run, evaluate, evolve and fine-tune WizardCoder-style code LLMs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
out_console = Console()
err_console = Console(stderr=True)


Benchmark = Enum("Benchmark", {name: name for name in (*BENCHMARKS, *ALIASES)}, type=str)  # type: ignore[misc]  # the registry's
class Isolation(str, Enum):
    auto = "auto"
    strict = "strict"
    off = "off"


BenchmarkOpt = Annotated[Benchmark, typer.Option("--benchmark", "-b", help="Which benchmark.")]
DatasetPathOpt = Annotated[
    str | None,
    typer.Option("--dataset-path", help="A local copy of the benchmark file (.jsonl or .jsonl.gz), for offline use."),
]
DatasetVersionOpt = Annotated[
    str | None, typer.Option("--dataset-version", help="Dataset release (default: the pinned one).")
]
HostOpt = Annotated[str, typer.Option(help="Address to listen on.")]
PortOpt = Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="No progress display.")]


def fail(message: str, code: int = 2) -> NoReturn:
    err_console.print(f"[red]error:[/red] {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def interrupted_code(message: str) -> int:
    """130 for a job stopped by Ctrl-C (its message says so), else 2."""
    return 130 if message.startswith("interrupted") else 2


def _version(value: bool) -> None:
    if value:
        from wizardcoder import __version__  # read from the package metadata: only when asked

        out_console.print(f"wizardcoder {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")] = False,
) -> None:
    """Run, evaluate, evolve and fine-tune WizardCoder-style code LLMs."""
