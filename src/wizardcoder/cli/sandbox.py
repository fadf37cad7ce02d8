"""``wizardcoder sandbox-check``: the hostile programs against this machine's sandbox."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

from wizardcoder.cli._app import Isolation, app, err_console, fail, out_console


@app.command("sandbox-check")
def sandbox_check(
    project: Annotated[Path, typer.Option(help="Directory for the project canary (default: the current one).")] = Path("."),
    sandbox: Annotated[Isolation, typer.Option(help="Isolation mode to check.")] = Isolation.auto,
    attack: Annotated[list[str] | None, typer.Option("--attack", "-a", help="Only attacks whose name contains this.")] = None,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write one JSON row per attack and mode.")] = None,
) -> None:
    """Run the hostile programs against the sandbox and show which are contained (exit 1 if any is not)."""
    from rich.table import Table

    from wizardcoder.harness.attacks import ATTACKS, run_attacks
    from wizardcoder.sandbox.sandbox import Limits, Sandbox, SandboxUnavailable

    chosen = [a for a in ATTACKS if not attack or any(k.lower() in a.name.lower() for k in attack)]
    if not chosen:
        fail(f"no attack matches {attack}")
    if not project.is_dir() or not os.access(project, os.W_OK):
        fail(f"{project}: not a writable directory (the project canary goes there)")
    if output is not None and not output.parent.is_dir():
        fail(f"{output}: its directory does not exist")
    try:
        sb = Sandbox(Limits(memory_bytes=1 << 30, sandbox_memory_bytes=2 << 30, isolation=sandbox.value))
        status = sb.ensure_started()
    except (SandboxUnavailable, RuntimeError) as exc:
        fail(str(exc))
    err_console.print("in force: " + ", ".join(k for k, v in status.items() if v is True)
                      + f"; cgroups: {', '.join(status['cgroup_limits']) or 'none'}"
                      + f"; masked: {', '.join(status['masked']) or 'none'}")
    missing = [k for k, v in status.items() if v is False]
    if missing:
        err_console.print(f"[yellow]not available here: {', '.join(missing)}[/]")
    table = Table("attack", "threat", "mode", "verdict", "s", "contained")
    with sb:
        outcomes = run_attacks(sb, chosen, project=project,
                               on_outcome=lambda o: err_console.print(f"{'ok ' if o.contained else 'BAD'} {o.attack} "
                                                                      f"[{o.mode}]: {o.status}", highlight=False))
    for o in outcomes:
        mark = "[green]yes[/]" if o.contained else ("[dim]not run[/]" if o.status == "not run" else "[red]NO[/]")
        breaches = f" {'; '.join(o.breaches)}" if o.breaches else ""
        table.add_row(o.attack, o.threat, o.mode, o.status, f"{o.seconds:.1f}", mark + breaches)
    out_console.print(table)
    ran = [o for o in outcomes if o.status != "not run"]
    contained = sum(o.contained for o in ran)
    out_console.print(f"contained {contained}/{len(ran)} ({len(outcomes) - len(ran)} not run: unsafe without a PID namespace)")
    if output is not None:
        output.write_text("".join(json.dumps(o.row()) + "\n" for o in outcomes))
    if contained != len(ran):
        raise typer.Exit(1)
