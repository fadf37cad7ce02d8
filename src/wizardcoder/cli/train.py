"""``wizardcoder train``, ``merge`` and ``train-config``: fine-tuning with the WizardCoder recipe.

``train``'s options are :class:`~wizardcoder.training.config.TrainConfig`'s fields; each defaults to
"not given", so the order is always: the field's default < the ``--config`` recipe file < the flag.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from wizardcoder.cli._app import app, err_console, fail, out_console
from wizardcoder.cli._options import with_options
from wizardcoder.errors import WizardCoderError
from wizardcoder.jsonl import atomic_write_text
from wizardcoder.training.config import TrainConfig

if TYPE_CHECKING:
    from wizardcoder.training.run import TrainResult


def _recipe_yaml(cfg: TrainConfig) -> str:
    import yaml

    return yaml.safe_dump(cfg.to_dict(), sort_keys=False, allow_unicode=True)


@app.command()
@with_options(TrainConfig, "settings", build=False, unset=True)
def train(
    settings: dict[str, Any],
    config: Annotated[Path | None, typer.Option("--config", help="A YAML recipe (field names as in "
                      "`wizardcoder train-config recipe`); flags win over it.")] = None,
    print_config: Annotated[bool, typer.Option("--print-config", help="Print the resolved recipe as YAML (for "
                            "--config) and train nothing.")] = False,
    resume: Annotated[bool, typer.Option("--resume", help="Continue the run in --output from its last checkpoint.")] = False,
    overwrite: Annotated[bool, typer.Option("--overwrite", help="Start the run in --output over.")] = False,
) -> None:
    """Fine-tune a base model with the WizardCoder recipe: the card's prompt format, loss on the
    response and EOS only, the paper's hyperparameters (global batch 512 via gradient accumulation)."""
    from wizardcoder import api
    from wizardcoder.training.config import build_config
    from wizardcoder.training.run import TrainingInterrupted, last_checkpoint

    try:
        cfg = build_config(config, settings)
        if print_config:
            sys.stdout.write(_recipe_yaml(cfg))
            return
        if not cfg.data:
            fail("train needs --data FILE (or data: in --config)")
        if not cfg.output_dir:
            fail("train needs --output DIR (or output_dir: in --config)")
        result = api.train(cfg, resume=resume, overwrite=overwrite, console=err_console)
    except WizardCoderError as exc:
        fail(str(exc), 130 if isinstance(exc, TrainingInterrupted) else 2)
    except KeyboardInterrupt:
        out = settings.get("output_dir")
        last = last_checkpoint(Path(out) / "checkpoints") if out else None
        where = f"the last checkpoint is {last.name}" if last else "no checkpoint yet"
        fail(f"interrupted ({where}): rerun with --resume to continue", 130)
    if int(os.environ.get("RANK", "0")) == 0:
        _report(result, cfg)
    if int(os.environ.get("WORLD_SIZE", "1")) > 1:
        _exit_now()


def _exit_now() -> None:
    """End a distributed rank without interpreter teardown, where gloo's threads can hang or abort it
    (pytorch#75097); every output is written and every rank has passed the final barrier by now."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _report(result: TrainResult, cfg: TrainConfig) -> None:
    atomic_write_text(result.output_dir / "config.yaml", _recipe_yaml(cfg))
    loss = f"{result.train_loss:.4f}" if result.train_loss is not None else "-"
    eval_loss = f", eval loss {result.eval_loss:.4f}" if result.eval_loss is not None else ""
    out_console.print(f"trained {result.steps} steps in {result.runtime_s:.0f} s: train loss {loss}{eval_loss}, "
                      f"{result.tokens_per_s:,.0f} tokens/s", highlight=False)
    out_console.print(f"model: {result.output_dir}" + (f"  adapter: {result.adapter_dir}" if result.adapter_dir else "")
                      + (f"  gguf: {result.gguf}" if result.gguf else "")
                      + f"\nevaluate it: wizardcoder eval --model {result.output_dir} --benchmark humaneval", highlight=False)


@app.command("merge")
def merge_cmd(
    adapter: Annotated[Path, typer.Argument(help="A LoRA adapter dir (DIR/adapter of a LoRA run).")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where the merged model goes.")],
) -> None:
    """Merge a LoRA adapter into its (unquantized) base: a plain model every engine loads."""
    from wizardcoder.training.model import merge_adapter

    try:
        out = merge_adapter(adapter, output)
    except WizardCoderError as exc:
        fail(str(exc))
    out_console.print(f"merged model: {out}", highlight=False)


@app.command("train-config")
def train_config(
    name: Annotated[str, typer.Argument(help="recipe, zero2, zero3-offload or fsdp.")],
) -> None:
    """Print a shipped config: the recipe YAML, or an accelerate config for many GPUs."""
    from wizardcoder.training.configs import CONFIGS, read_config

    if name not in CONFIGS:
        fail(f"unknown config {name!r} (choose from {', '.join(CONFIGS)})")
    sys.stdout.write(read_config(name))
