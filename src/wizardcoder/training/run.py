"""One fine-tuning run: checks, data, model, TRL's SFTTrainer, outputs, resume.

Layout of ``--output DIR``::

    DIR/                     the final model (full fine-tune, or LoRA merged into the base)
    DIR/adapter/             the LoRA adapter (LoRA runs)
    DIR/checkpoints/         checkpoint-N (kept while the run is unfinished; --resume continues)
    DIR/logs/train_log.csv   every logged value; DIR/logs/tensorboard/ the same for TensorBoard
    DIR/wizardcoder_train.json  settings, data hash and counts, metrics, versions, status

The run record is written before the first step, so ``--resume`` can refuse to continue with
other settings or other data, as a silent mix would produce a model nobody can reproduce.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import os
import platform
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

from rich.console import Console

from wizardcoder import outlock
from wizardcoder.errors import WizardCoderError
from wizardcoder.jsonl import atomic_write_json, read_json_object
from wizardcoder.training.config import TrainConfig
from wizardcoder.training.data import DataStats, data_file, encode_rows, file_sha256, read_rows, split_rows

if TYPE_CHECKING:
    from wizardcoder.engines.resolve import ModelRef

RECORD = "wizardcoder_train.json"


class TrainingInterrupted(WizardCoderError):
    """Ctrl-C: the run stopped after saving a checkpoint; ``--resume`` continues it."""


@dataclass
class TrainResult:
    output_dir: Path
    adapter_dir: Path | None
    steps: int
    train_loss: float | None
    eval_loss: float | None
    runtime_s: float
    tokens: int
    stats: DataStats
    eval_stats: DataStats | None
    gguf: Path | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def tokens_per_s(self) -> float:
        return self.tokens / self.runtime_s if self.runtime_s > 0 else 0.0


class TrainMetrics(TypedDict):
    """The finished run record's ``metrics``."""

    steps: int
    train_loss: float
    eval_loss: float | None
    runtime_s: float
    tokens_processed: int


class TrainRecord(TypedDict, total=False):
    """``DIR/wizardcoder_train.json``: written "running" before the first step (what ``--resume``
    checks against), "finished" at the end, with the metrics and where the outputs went."""

    status: str  # "running" or "finished"
    config: dict[str, Any]  # TrainConfig.to_dict()
    fingerprint: str  # TrainConfig.fingerprint(): what a resumed run must share
    base: str  # where the base model was loaded from
    data_sha256: str
    data: dict[str, Any]  # DataStats.to_dict()
    eval_data: dict[str, Any] | None
    world_size: int
    effective_batch_size: int
    gradient_accumulation_steps: int
    precision: str
    pad_token: str  # what was done about it
    versions: dict[str, str]
    started: str  # UTC, ISO 8601
    finished: str
    metrics: TrainMetrics
    adapter: str | None
    gguf: str | None
    resumed: int  # how many times --resume continued the run


@dataclass(frozen=True)
class _Plan:
    """How this process trains: the settings fitted to the hardware and the number of processes."""

    world: int
    precision: str  # fp32, bf16 or fp16
    cuda: bool
    accum: int  # gradient accumulation steps: the global batch over batch_size x world, rounded up
    effective_batch: int
    checkpointing: bool  # gradient checkpointing


@dataclass(frozen=True)
class _Encoded:
    """The tokenized rows (``datasets.Dataset``), the held-out ones if any, and their counts."""

    train: Any
    eval: Any | None
    stats: DataStats
    eval_stats: DataStats | None


def last_checkpoint(checkpoints: Path) -> Path | None:
    found = []
    for path in checkpoints.glob("checkpoint-*"):
        step = path.name.rsplit("-", 1)[-1]
        if step.isdigit() and (path / "trainer_state.json").is_file():
            found.append((int(step), path))
    return max(found)[1] if found else None


def _world() -> tuple[int, bool]:
    return int(os.environ.get("WORLD_SIZE", "1")), int(os.environ.get("RANK", "0")) == 0


def _precision(cfg: TrainConfig) -> tuple[str, bool]:
    import torch

    cuda = torch.cuda.is_available()
    precision = cfg.precision
    if precision == "auto":
        precision = ("bf16" if torch.cuda.is_bf16_supported() else "fp16") if cuda else "fp32"
    if precision != "fp32" and not cuda:
        raise WizardCoderError(f"precision {precision} needs a GPU; on CPU use fp32 (or auto)")
    return precision, cuda


def _checkpointing_arg(config_cls: Any, on: bool) -> dict[str, Any]:
    """transformers 5 renamed gradient checkpointing; the old name warns there."""
    names = {f.name for f in dataclasses.fields(config_cls)}
    return {"activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing": on}


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("wizardcoder", "torch", "transformers", "trl", "peft", "accelerate", "deepspeed"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def _check_output(cfg: TrainConfig, resume: bool, overwrite: bool, data_sha: str) -> Path | None:
    """The checkpoint to resume from (or None); refuses to clobber or to mix runs."""
    out = Path(cfg.output_dir)
    record = out / RECORD
    if resume:
        if not record.is_file():
            raise WizardCoderError(f"{out}: no training run to resume (no {RECORD})")
        saved = read_json_object(record, "a training record")
        if saved.get("status") == "finished":
            raise WizardCoderError(f"{out}: this run already finished (nothing to resume)")
        if saved.get("fingerprint") != cfg.fingerprint():
            old = saved.get("config", {})
            diff = [k for k, v in cfg.to_dict().items() if old.get(k) != v and k not in ("output_dir",)]
            raise WizardCoderError(f"{out}: --resume with different settings ({', '.join(diff[:4]) or 'config'}); "
                                   "rerun with the same settings or use a new --output")
        if saved.get("data_sha256") != data_sha:
            raise WizardCoderError(f"{out}: --resume with different data ({cfg.data} changed since the run began)")
        return last_checkpoint(out / "checkpoints")
    entries = [p for p in out.iterdir() if p.name != outlock.LOCK_NAME] if out.exists() else []
    if entries:
        if not record.is_file():
            raise WizardCoderError(f"{out}: exists and is not empty (choose a new --output)")
        saved = read_json_object(record, "a training record")
        if not overwrite:
            hint = "--resume to continue it, or " if saved.get("status") != "finished" else ""
            raise WizardCoderError(f"{out}: holds a training run ({saved.get('status')}): {hint}--overwrite to start over")
        for entry in entries:  # everything but the lock this run holds
            shutil.rmtree(entry) if entry.is_dir() and not entry.is_symlink() else entry.unlink()
    return None


def _read(cfg: TrainConfig) -> tuple[list[Any], list[Any], list[str]]:
    """Training and held-out rows, every row checked: a bad file fails here, before any model loads."""
    rows, skipped = read_rows(cfg.data, cfg.lenient, cfg.limit)
    if cfg.eval_data:
        eval_rows, _ = read_rows(cfg.eval_data, cfg.lenient)
        return rows, eval_rows, skipped
    rows, eval_rows = split_rows(rows, cfg.eval_split, cfg.seed)
    return rows, eval_rows, skipped


def _encode(cfg: TrainConfig, tokenizer: Any, rows: list[Any], eval_rows: list[Any], skipped: list[str],
            console: Console) -> _Encoded:
    from datasets import Dataset

    stats = DataStats(skipped=skipped)
    train = encode_rows(tokenizer, rows, cfg.max_length, stats)
    if not train:
        raise WizardCoderError(f"{cfg.data}: every row's prompt fills max_length {cfg.max_length}: nothing to train on")
    eval_stats = DataStats() if eval_rows else None
    held = encode_rows(tokenizer, eval_rows, cfg.max_length, eval_stats) if eval_stats is not None else []
    console.print(f"data: {stats.rows} rows ({len(skipped)} skipped), {stats.truncated} truncated to {cfg.max_length} "
                  f"tokens, {stats.dropped} dropped (prompt alone too long); {stats.response_tokens:,} trained tokens"
                  + (f"; eval: {len(held)} rows" if held else ""), soft_wrap=True, highlight=False)
    return _Encoded(Dataset.from_list(train), Dataset.from_list(held) if held else None, stats, eval_stats)


def _callbacks(cfg: TrainConfig, out: Path, resume_step: int | None, console: Console) -> list[Any]:
    from wizardcoder.training.callbacks import CSVLogger, ProgressCallback

    callbacks: list[Any] = [ProgressCallback(console, console.is_terminal)]
    if "csv" in cfg.report_to:
        callbacks.append(CSVLogger(out / "logs" / "train_log.csv", resume_step))
    if "tensorboard" in cfg.report_to:
        try:
            from torch.utils.tensorboard import SummaryWriter
            from transformers.integrations import TensorBoardCallback
        except ImportError:
            console.print("[yellow]tensorboard is not installed: no TensorBoard logs (pip install tensorboard)[/]",
                          soft_wrap=True)
        else:
            callbacks.append(TensorBoardCallback(tb_writer=SummaryWriter(log_dir=str(out / "logs" / "tensorboard"))))
    return callbacks


def run_train(cfg: TrainConfig, resume: bool = False, overwrite: bool = False, console: Console | None = None) -> TrainResult:
    """Fine-tune ``cfg.model`` on ``cfg.data`` into ``cfg.output_dir``."""
    console = console or Console(stderr=True)
    cfg.validate()
    if not cfg.output_dir:
        raise WizardCoderError("--output: where to write the model")
    out = Path(cfg.output_dir)
    world, is_main = _world()
    if not is_main:  # one voice under accelerate / torchrun: rank 0 reports and writes
        console = Console(file=io.StringIO())
    if out.exists() and not out.is_dir():
        raise WizardCoderError(f"{out}: not a directory")
    # The cheap checks first: a bad row, a taken output dir or a changed resume fail in a second.
    rows, eval_rows, skipped = _read(cfg)  # before the lock: bad rows leave no output behind
    # One writer per output directory: rank 0 holds the lock for the whole run (``outlock``).
    with outlock.hold(out) if is_main else contextlib.nullcontext():
        return _run_train(cfg, resume, overwrite, console, out, world, is_main, (rows, eval_rows, skipped))


def _leave_process_group(timeout_s: float = 60.0) -> None:
    """Wait for rank 0's writes, then close the group: a rank that exits with gloo's threads alive aborts
    (SIGABRT). The close may hang now and then (pytorch#75097; seen once in CI after every write was
    done): it runs in a daemon thread given ``timeout_s``, and the CLI ends a distributed run with
    ``os._exit`` after flushing, so no rank waits on it forever."""
    import threading

    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        closer = threading.Thread(target=dist.destroy_process_group, name="wizardcoder-pg-close", daemon=True)
        closer.start()
        closer.join(timeout_s)


def _run_train(cfg: TrainConfig, resume: bool, overwrite: bool, console: Console, out: Path, world: int,
               is_main: bool, data: tuple[list[Any], list[Any], list[str]]) -> TrainResult:
    """The run, under rank 0's lock on ``out``: the cheap steps first (the resume check, the tokenizer
    and the encoded data), then the weights, the record, training and the outputs."""
    rows, eval_rows, skipped = data
    data_sha = file_sha256(data_file(cfg.data))
    checkpoint = _resume_point(cfg, resume, overwrite, out, is_main, data_sha)

    from transformers.utils import logging as hf_logging

    from wizardcoder.training import model as base

    hf_logging.disable_progress_bar()  # per-file save bars; our progress display covers the run
    plan = _plan(cfg, world)
    quant = base.qlora_quantization() if cfg.qlora else None
    ref = base.resolve_base(cfg.model)
    tokenizer = base.load_tokenizer(ref, cfg.trust_remote_code)
    encoded = _encode(cfg, tokenizer, rows, eval_rows, skipped, console)
    model, pad_note = _load_model(cfg, plan, ref, tokenizer, quant)
    notes = _notes(cfg, plan, pad_note, encoded.stats)
    for note in notes:
        console.print(note, soft_wrap=True, highlight=False)

    record = _running_record(cfg, plan, ref, data_sha, encoded, pad_note)
    if is_main:
        out.mkdir(parents=True, exist_ok=True)
        if not resume:
            atomic_write_json(out / RECORD, record)

    trainer = _trainer(cfg, plan, out, model, tokenizer, encoded, checkpoint, resume, console)
    result, runtime = _train(trainer, checkpoint, console)
    eval_loss = _final_eval_loss(trainer) if encoded.eval is not None else None
    tokens = int(getattr(trainer, "_total_train_tokens", 0))  # this process's run, not the resumed part

    adapter_dir, gguf_path = _save_outputs(cfg, trainer, model, tokenizer, out, ref, is_main, console)
    if is_main:
        if not cfg.keep_checkpoints:
            shutil.rmtree(out / "checkpoints", ignore_errors=True)
        metrics: TrainMetrics = {"steps": result.global_step, "train_loss": result.training_loss,
                                 "eval_loss": eval_loss, "runtime_s": round(runtime, 2), "tokens_processed": tokens}
        _write_finished_record(record, out, resume, metrics, adapter_dir, gguf_path)
    _leave_process_group()  # every rank, once rank 0 has written everything above
    return TrainResult(out, adapter_dir, result.global_step, result.training_loss, eval_loss, runtime, tokens,
                       encoded.stats, encoded.eval_stats, gguf_path, notes)


def _resume_point(cfg: TrainConfig, resume: bool, overwrite: bool, out: Path, is_main: bool,
                  data_sha: str) -> Path | None:
    """The checkpoint to continue from (or None). Rank 0 checks (and may clear) the output dir; the
    other ranks must not race it, and only look for the checkpoint."""
    if is_main:
        return _check_output(cfg, resume, overwrite, data_sha)
    return last_checkpoint(out / "checkpoints") if resume else None


def _plan(cfg: TrainConfig, world: int) -> _Plan:
    precision, cuda = _precision(cfg)
    accum = cfg.grad_accum(world)
    checkpointing = cfg.gradient_checkpointing if cfg.gradient_checkpointing is not None else cuda
    return _Plan(world, precision, cuda, accum, cfg.batch_size * world * accum, checkpointing)


def _load_model(cfg: TrainConfig, plan: _Plan, ref: ModelRef, tokenizer: Any, quantization: Any) -> tuple[Any, str]:
    """The base weights, with the tokenizer fitted to them as every engine will read the output: a pad
    token (what was done is returned, for the record), the WizardCoder chat template, generation's
    EOS and pad ids. Packed rows get per-row attention."""
    import torch

    from wizardcoder.prompting.chat_template import wizardcoder_chat_template
    from wizardcoder.training import model as base

    # fp16 is mixed precision over float32 weights (the gradient scaler refuses half-precision gradients)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float32}[plan.precision]
    model = base.load_model(ref, dtype, cfg.trust_remote_code, quantization)
    pad_note = base.set_pad_token(tokenizer, model, cfg.pad_token)
    adds_bos = tokenizer.bos_token_id is not None and tokenizer("x").input_ids[:1] == [tokenizer.bos_token_id]
    tokenizer.chat_template = wizardcoder_chat_template(adds_bos)  # every engine then prompts it as trained
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id

    if cfg.packing != "none" and not str(model.config._attn_implementation).startswith("flash"):
        from wizardcoder.training.attention import register

        model.set_attn_implementation(register())  # per-row attention: no N^2 work across the flattened batch
    return model, pad_note


def _notes(cfg: TrainConfig, plan: _Plan, pad_note: str, stats: DataStats) -> list[str]:
    """What the run chose where the settings leave a choice (printed, and returned in TrainResult)."""
    notes = [f"pad token: {pad_note}", f"global batch {plan.effective_batch} = {cfg.batch_size} per device x "
             f"{plan.world} device(s) x {plan.accum} accumulation steps",
             f"precision {plan.precision}, gradient checkpointing {'on' if plan.checkpointing else 'off'}"]
    if plan.effective_batch != cfg.global_batch_size:
        notes.append(f"global batch {cfg.global_batch_size} asked, {plan.effective_batch} used (the nearest multiple above)")
    if stats.merged_boundary:
        notes.append(f"{stats.merged_boundary} rows: the prompt's last token merged with the response (masked as prompt)")
    return notes


def _running_record(cfg: TrainConfig, plan: _Plan, ref: ModelRef, data_sha: str, encoded: _Encoded,
                    pad_note: str) -> TrainRecord:
    return {"status": "running", "config": cfg.to_dict(), "fingerprint": cfg.fingerprint(), "base": ref.location,
            "data_sha256": data_sha, "data": encoded.stats.to_dict(),
            "eval_data": encoded.eval_stats.to_dict() if encoded.eval_stats else None,
            "world_size": plan.world, "effective_batch_size": plan.effective_batch,
            "gradient_accumulation_steps": plan.accum, "precision": plan.precision, "pad_token": pad_note,
            "versions": _versions(), "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def _sft_config(cfg: TrainConfig, plan: _Plan, out: Path, has_eval: bool) -> Any:
    """TRL's settings: the recipe's, the plan's batch and precision, packing; no reporting of its
    own (our callbacks log and show progress)."""
    from trl import SFTConfig

    return SFTConfig(
        output_dir=str(out / "checkpoints"),
        num_train_epochs=cfg.epochs, max_steps=cfg.max_steps or -1,
        learning_rate=cfg.learning_rate, lr_scheduler_type=cfg.lr_scheduler, warmup_steps=cfg.warmup_steps,
        weight_decay=cfg.weight_decay, adam_beta1=cfg.adam_beta1, adam_beta2=cfg.adam_beta2,
        adam_epsilon=cfg.adam_epsilon, max_grad_norm=cfg.max_grad_norm, optim="adamw_torch",
        per_device_train_batch_size=cfg.batch_size, per_device_eval_batch_size=cfg.batch_size,
        gradient_accumulation_steps=plan.accum, **_checkpointing_arg(SFTConfig, plan.checkpointing),
        bf16=plan.precision == "bf16", fp16=plan.precision == "fp16", use_cpu=not plan.cuda,
        packing=cfg.packing == "bfd", padding_free=cfg.packing != "none",
        max_length=cfg.max_length if cfg.packing == "bfd" else None,
        logging_steps=cfg.logging_steps, logging_first_step=True,
        save_strategy="steps", save_steps=cfg.save_steps, save_total_limit=cfg.save_total_limit,
        eval_strategy="steps" if has_eval else "no", eval_steps=cfg.eval_steps or cfg.save_steps,
        report_to="none", disable_tqdm=True, ddp_find_unused_parameters=False, seed=cfg.seed, data_seed=cfg.seed,
        dataloader_num_workers=0,
        **cfg.extra,
    )


def _trainer(cfg: TrainConfig, plan: _Plan, out: Path, model: Any, tokenizer: Any, encoded: _Encoded,
             checkpoint: Path | None, resume: bool, console: Console) -> Any:
    """TRL's SFTTrainer on the encoded rows: LoRA when asked (QLoRA: over the 4-bit weights), our
    callbacks in place of its printer."""
    from transformers import PrinterCallback
    from trl import SFTTrainer

    from wizardcoder.training import model as base

    args = _sft_config(cfg, plan, out, has_eval=encoded.eval is not None)
    peft_config = base.lora_config(cfg.lora_r, cfg.lora_alpha, cfg.lora_dropout, cfg.lora_target) if cfg.use_lora else None
    if cfg.qlora:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=plan.checkpointing)
    resume_step = int(checkpoint.name.rsplit("-", 1)[-1]) if checkpoint is not None else (0 if resume else None)
    trainer = SFTTrainer(model=model, args=args, train_dataset=encoded.train, eval_dataset=encoded.eval,
                         processing_class=tokenizer, peft_config=peft_config,
                         callbacks=_callbacks(cfg, out, resume_step, console))
    trainer.remove_callback(PrinterCallback)  # ours prints one readable line per log instead of a dict
    if checkpoint is not None:
        console.print(f"resuming from {checkpoint}", soft_wrap=True, highlight=False)
    return trainer


def _train(trainer: Any, checkpoint: Path | None, console: Console) -> tuple[Any, float]:
    """TRL's train output and the seconds it took. The first Ctrl-C ends the run after the current
    step, with a checkpoint saved: TrainingInterrupted, and the record stays "running" for --resume."""
    from wizardcoder.training.callbacks import GracefulStop

    stop = GracefulStop()
    trainer.add_callback(stop)
    started = time.perf_counter()
    with stop.on_sigint(console):
        result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint is not None else None)
    runtime = time.perf_counter() - started
    if stop.requested:
        raise TrainingInterrupted(f"interrupted at step {trainer.state.global_step} (checkpoint-"
                                  f"{trainer.state.global_step} saved): rerun with --resume to continue")
    return result, runtime


def _final_eval_loss(trainer: Any) -> float:
    """The held-out loss at the last step: logged already when an eval step fell on it, else evaluated now."""
    last = trainer.state.log_history[-2:] if trainer.state.log_history else []
    done = [e["eval_loss"] for e in last if "eval_loss" in e and e.get("step") == trainer.state.global_step]
    return done[0] if done else trainer.evaluate()["eval_loss"]


def _save_outputs(cfg: TrainConfig, trainer: Any, model: Any, tokenizer: Any, out: Path, ref: ModelRef, is_main: bool,
                  console: Console) -> tuple[Path | None, Path | None]:
    """The adapter dir (LoRA runs) and the GGUF file (when asked), once written. The trainer saves on
    every rank (sharded weights are gathered there); the rest is rank 0's: the tokenizer as trained,
    the adapter's base record, the merge into ``out`` and the GGUF export."""
    adapter_dir = out / "adapter" if cfg.use_lora else None
    gguf_path = None
    if not cfg.use_lora and not str(model.config._attn_implementation).startswith(("sdpa", "flash", "eager")):
        model.set_attn_implementation("sdpa")  # what a fresh load uses; our training attention is not saved
    trainer.save_model(str(adapter_dir or out))
    if is_main:
        model_dir = adapter_dir or out
        tokenizer.save_pretrained(model_dir)
        if adapter_dir is not None:
            atomic_write_json(adapter_dir / "base_model.json", {"model": cfg.model, "location": ref.location})
            if cfg.merge:
                from wizardcoder.training import model as base

                console.print("merging the adapter into the base model", soft_wrap=True, highlight=False)
                base.merge_adapter(adapter_dir, out)
        if cfg.gguf and (adapter_dir is None or cfg.merge):
            from wizardcoder.training.gguf import export_gguf

            gguf_path = export_gguf(out, out / f"model-{cfg.gguf}.gguf", cfg.gguf)
            console.print(f"GGUF for llama.cpp: {gguf_path}", soft_wrap=True, highlight=False)
    return adapter_dir, gguf_path


def _write_finished_record(record: TrainRecord, out: Path, resume: bool, metrics: TrainMetrics,
                           adapter_dir: Path | None, gguf_path: Path | None) -> None:
    """The record, now ``finished``; a resumed run keeps its first start time and counts its resumptions."""
    record["status"] = "finished"
    record["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    record["metrics"] = metrics
    record["adapter"] = str(adapter_dir) if adapter_dir else None
    record["gguf"] = str(gguf_path) if gguf_path else None
    if resume:
        saved = read_json_object(out / RECORD, "a training record")
        record["started"] = saved.get("started", record["started"])
        record["resumed"] = saved.get("resumed", 0) + 1
    atomic_write_json(out / RECORD, record)
