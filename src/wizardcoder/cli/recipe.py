"""``wizardcoder recipe run``, ``recipe plan`` and ``recipe report``: the whole method from one recipe file.

The command only parses, calls :mod:`wizardcoder.recipe` and prints; the stages, fingerprints and
resume are the library's (see its module docstrings).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from wizardcoder.cli._app import app, err_console, fail, out_console
from wizardcoder.errors import WizardCoderError

recipe_app = typer.Typer(no_args_is_help=True, pretty_exceptions_enable=False,
                         help="The whole method from one recipe file: answer seeds, evolve, train arms, evaluate.")
app.add_typer(recipe_app, name="recipe")

FileArg = Annotated[Path, typer.Argument(help="A recipe YAML (see docs/recipe.md; recipes/smoke.yaml to try).")]
OutOpt = Annotated[Path, typer.Option("--output", "-o", help="The run directory (stages, records, results.json).")]
ArmOpt = Annotated[list[str] | None, typer.Option(
    "--arm", help="Only this arm's stages and the stages it needs (repeat for several); the rest stay as they are.")]
STATE_WORDS = {"done": "[green]done[/]", "run": "to run", "resume": "[yellow]continue[/] (stopped inside)",
               "rerun": "[yellow]will rerun[/] (settings changed)"}


@recipe_app.command("plan")
def plan(file: FileArg, output: OutOpt, arm: ArmOpt = None) -> None:
    """The stages, their fingerprints, what is done and what would run; runs nothing."""
    from wizardcoder.recipe import recipe_plan

    try:
        p = recipe_plan(file, output, arms=arm)
    except WizardCoderError as exc:
        fail(str(exc))
    table = Table(title=f"recipe plan: {file} -> {output}")
    for col in ("stage", "fingerprint", "state", "directory"):
        table.add_column(col)
    for row in p.rows:
        state = STATE_WORDS[row.state] + ("" if row.name in p.selected or row.state == "done" else " [dim](not chosen)[/]")
        table.add_row(row.name, row.fingerprint[:12], state, str(row.directory))
    out_console.print(table)
    for w in p.warnings:
        out_console.print(f"[yellow]warning:[/] {w}", highlight=False)
    out_console.print(f"{p.todo} of {len(p.rows)} stages to run" if p.todo else f"all {len(p.rows)} stages done",
                      highlight=False)


@recipe_app.command("run")
def run(file: FileArg, output: OutOpt, arm: ArmOpt = None,
        quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False) -> None:
    """Run every stage in order: finished stages are skipped, a stopped one continues where it was."""
    from wizardcoder.recipe import card_table, recipe_run

    try:
        result = recipe_run(file, output, arms=arm, console=err_console, show_progress=not quiet)
    except WizardCoderError as exc:  # a stage stopped by Ctrl-C says "interrupted": 130, as the single commands
        fail(str(exc), 130 if "interrupted" in str(exc) else 2)
    except KeyboardInterrupt:
        fail("interrupted: run the same command again to continue", 130)
    table = Table(title="pass@1 (%)" + (f", first {result.results['limit']} tasks" if result.results["limit"] else ""))
    rows = card_table(result.results)
    for col in rows[0]:
        table.add_column(col)
    for r in rows[1:]:
        table.add_row(*r)
    out_console.print(table)
    n = len(result.stages)
    head = (f"{n} of {n + len(result.pending)} stages done, not chosen: {', '.join(result.pending)}"
            if result.pending else f"all {n} stages done")
    out_console.print(head + (f" ({result.ran} run now)" if result.ran else ", nothing to run")
                      + f"; results: {output / 'results.json'}; report: {result.report}", highlight=False)


@recipe_app.command("report")
def report(output: Annotated[Path, typer.Argument(help="A recipe run directory (recipe run -o DIR).")]) -> None:
    """Write DIR/report.html (self-contained), report.md and report/*.png from what DIR holds, also mid-run."""
    from wizardcoder.recipe import recipe_report

    try:
        files = recipe_report(output)
    except WizardCoderError as exc:
        fail(str(exc))
    out_console.print(f"{files.html}\n{files.markdown}\n" + "".join(f"{p}\n" for p in files.figures), end="",
                      highlight=False, soft_wrap=True)
