"""``wizardcoder generate``: answers for a prompts file, row by row, resumable."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from wizardcoder.cli._app import app, err_console, fail, interrupted_code
from wizardcoder.cli._config import configurable, record_config
from wizardcoder.cli._options import EngineSpec, with_engine_options
from wizardcoder.errors import WizardCoderError

if TYPE_CHECKING:
    from wizardcoder.api import GenerateStats


@app.command()
@configurable
@with_engine_options
def generate(
    eng: EngineSpec,
    input: Annotated[Path, typer.Option("--input", "-i", help="Prompts JSONL: {id|task_id, prompt | instruction "
                                        "[+ input] | messages}, e.g. the output of `wizardcoder prompts`.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output JSONL (written row by row).")],
    n_samples: Annotated[int, typer.Option(min=1, help="Completions per prompt (use --temperature > 0).")] = 1,
    resume: Annotated[bool, typer.Option("--resume", help="Continue an interrupted run of the same job.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Start the output file again.")] = False,
    reproducible: Annotated[bool, typer.Option(help="Prompts in fixed groups of --parallel / --batch-size, so "
                            "that a resumed run's answers equal an uninterrupted run's (llama.cpp, transformers). "
                            "--no-reproducible: one continuous batch.")] = True,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Batch generation: one output row per prompt and sample, resumable."""
    from wizardcoder import api

    try:
        stats = api.generate(input, output, eng, n_samples=n_samples, resume=resume, overwrite=overwrite,
                             reproducible=reproducible, show_progress=not quiet, console=err_console)
    except WizardCoderError as exc:
        fail(str(exc), interrupted_code(str(exc)))
    record_config(output.with_name(output.name + ".config.yaml"))
    err_console.print(f"{stats.generated} generated ({stats.skipped} kept from before) in {stats.seconds:.1f} s, "
                      f"{stats.tokens_per_s:.0f} tokens/s, {stats.length_stops} hit --max-tokens"
                      f"{f', {stats.repetition_stops} ended looping' if stats.repetition_stops else ''}"
                      f"{_shared(stats) if n_samples > 1 else ''} -> {output}",
                      highlight=False)


def _shared(stats: GenerateStats) -> str:
    if stats.prompt_tokens_computed is None:
        return ""
    return f", prompt tokens {stats.prompt_tokens:,} submitted / {stats.prompt_tokens_computed:,} decoded"
