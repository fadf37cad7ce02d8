"""``wizardcoder eval``: score a samples file, or a model's answers, on a benchmark."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from wizardcoder.cli._app import (
    Isolation,
    app,
    err_console,
    fail,
    interrupted_code,
    out_console,
)
from wizardcoder.cli._config import configurable, record_config
from wizardcoder.cli._options import EngineSpec, with_engine_options, with_options
from wizardcoder.errors import WizardCoderError
from wizardcoder.harness.checker import TimeSettings
from wizardcoder.harness.evaluate import EvalConfig

TIME = "Time and memory limits"


@app.command("eval")
@configurable
@with_engine_options
@with_options(EvalConfig, "run", build=False, skip=("samples",))
@with_options(TimeSettings, "time", panel=TIME)
def eval_cmd(
    eng: EngineSpec,
    run: dict[str, Any],
    time: TimeSettings,
    samples: Annotated[
        str | None,
        typer.Option("--samples", "-s", help="Samples JSONL ({task_id, solution|completion|response}), or "
                     "'canonical' for the reference solutions. Without it, --model's answers are generated first."),
    ] = None,
    n_samples: Annotated[int, typer.Option(min=1, help="With a model: samples per task (pass@k; use --temperature).")] = 1,
    limit: Annotated[int | None, typer.Option(min=1, help="With a model: only the first N tasks.")] = None,
    full_answers: Annotated[bool, typer.Option("--full-answers", help="With a model: do not end answers at the close of "
                            "their first python block (the only part --postprocess wizardcoder keeps).")] = False,
    memory_limit: Annotated[float, typer.Option(min=0.1, rich_help_panel=TIME,
                                                help="Address-space limit per sample, GiB (DS-1000: at least 16, "
                                                "for TensorFlow and PyTorch).")] = 4.0,
    sandbox: Annotated[Isolation, typer.Option(help="auto: the isolation the kernel allows; strict: all of it or "
                       "refuse to run (docs/sandbox.md); off: processes and rlimits only.")] = Isolation.auto,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bars.")] = False,
) -> None:
    """Score a model (generating its answers) or a samples file on a benchmark: JSONL, summary and the card's table."""
    from wizardcoder import api
    from wizardcoder.harness.report import card_table, ds1000_table, is_ds1000, is_multiple, summary_table
    from wizardcoder.sandbox.sandbox import Limits
    from wizardcoder.settings import check_number

    model_used = samples is None
    if not model_used and (eng.model != "default" or eng.base_url):
        fail("give --samples (score a file) or --model (generate, then score), not both")
    try:
        check_number("memory_limit", memory_limit, ge=0.1)  # NaN passes click's range
        summary = api.evaluate(
            run.pop("benchmark"), samples, model=eng if model_used else None, n_samples=n_samples, limit=limit,
            full_answers=full_answers, show_progress=not quiet, console=err_console,
            time=time,
            limits=Limits(memory_bytes=int(memory_limit * (1 << 30)), isolation=sandbox.value), **run)
    except WizardCoderError as exc:
        fail(str(exc), interrupted_code(str(exc)))
    record_config(summary.output_dir / "config.yaml")
    out_console.print(summary_table(summary.data))
    if is_ds1000(summary.data):  # its breakdown, whoever wrote the answers; the card's columns do not apply
        ds1000 = ds1000_table([summary.data])
        if ds1000 is not None:
            out_console.print(ds1000)
    elif model_used and not is_multiple(summary.data):
        out_console.print(card_table([summary.data], published=False))
    out_console.print(f"results: {summary.output_dir}/results.jsonl  summary: {summary.output_dir}/summary.json")
