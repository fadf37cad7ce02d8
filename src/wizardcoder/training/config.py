"""The fine-tuning recipe: the paper's defaults, overridable from a YAML file and from flags.

Defaults are WizardCoder's (method notes §5): 3 epochs, lr 2e-5, cosine, 30 warmup steps, AdamW
(0.9, 0.999, 1e-8, weight decay 0), global batch 512 reached by gradient accumulation, max length
2048 with right truncation, half precision and gradient checkpointing on GPU. A YAML recipe uses
the field names below; flags given on the command line win over it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wizardcoder.errors import WizardCoderError
from wizardcoder.settings import check_choice, check_number, setting

PACKING = ("none", "padding-free", "bfd")
PAD_MODES = ("add", "eos", "unk")  # or any token string already in the vocabulary
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
GGUF_TYPES = ("f32", "f16", "bf16", "q8_0", "auto")


RECIPE = "Recipe (the paper's defaults)"
LORA = "LoRA / QLoRA"
OUTPUTS = "Checkpoints and outputs"
OPTIMIZER = "Optimizer (the paper's defaults)"


@dataclass
class TrainConfig:
    """One training run's settings: the YAML recipe's keys, the flags of ``wizardcoder train`` and the
    keyword arguments of ``wizardcoder.train`` are these fields (help, bounds and flags declared here)."""

    model: str = setting("default", "--model", "-m", help="Base model: a model dir, a hub id, a .gguf (dequantized), "
                         "or 'default' (the embedded SmolLM2-135M).")
    data: str = setting("", "--data", help="Training rows: an evolve output dir, Alpaca JSON, or JSONL with "
                        "instruction / input / output.")
    output_dir: str = setting("", "--output", "-o", "--output-dir", help="Where the model, checkpoints and logs go.")
    # data
    max_length: int = setting(2048, ge=16, integer=True, panel=RECIPE,
                              help="Tokens per row; longer rows are cut on the right (counted).")
    eval_data: str | None = setting(None, help="A held-out file for eval loss (instead of --eval-split).")
    eval_split: float = setting(0.0, le=0.99, ge=0.0, help="Hold out this fraction for eval loss.")
    limit: int | None = setting(None, ge=1, integer=True, help="Only the first N rows (smoke runs).")
    lenient: bool = setting(False, "--lenient", help="Skip bad rows (counted) instead of stopping.")
    # optimisation (the paper's recipe)
    epochs: float = setting(3.0, ge=0.0, panel=RECIPE)
    max_steps: int | None = setting(None, ge=1, integer=True, panel=RECIPE, help="Optimizer steps; overrides --epochs.")
    learning_rate: float = setting(2e-5, "--lr", "--learning-rate", gt=0, panel=RECIPE, help="Peak learning rate.")
    lr_scheduler: str = setting("cosine", panel=OPTIMIZER, help="A transformers scheduler name (cosine, linear, "
                                "constant, constant_with_warmup ...).")
    warmup_steps: int = setting(30, ge=0, integer=True, panel=RECIPE)
    weight_decay: float = setting(0.0, ge=0.0, panel=OPTIMIZER)
    adam_beta1: float = setting(0.9, ge=0.0, panel=OPTIMIZER)
    adam_beta2: float = setting(0.999, ge=0.0, panel=OPTIMIZER)
    adam_epsilon: float = setting(1e-8, gt=0.0, panel=OPTIMIZER)
    max_grad_norm: float = setting(1.0, gt=0.0, panel=OPTIMIZER, help="Gradient clipping.")
    global_batch_size: int = setting(512, ge=1, integer=True, panel=RECIPE,
                                     help="Rows per optimizer step, reached by gradient accumulation.")
    batch_size: int = setting(16, ge=1, integer=True, panel=RECIPE, help="Rows per device and step.")
    seed: int = setting(42, ge=0, integer=True, panel=RECIPE)
    # speed and memory
    packing: str = setting("padding-free", choices=PACKING, help="padding-free: each batch as one sequence, "
                           "attention kept inside rows; none: padded batches (the authors' way); bfd: rows packed "
                           "into max-length bins.")
    precision: str = setting("auto", choices=PRECISIONS, help="auto: bf16 (or fp16) on GPU, fp32 on CPU.")
    gradient_checkpointing: bool | None = setting(None, "--gradient-checkpointing/--no-gradient-checkpointing",
                                                  help="Default: on with a GPU.")
    pad_token: str = setting("add", help="When the tokenizer has none: add (a new token, embedding = mean of the "
                             "others; the paper), eos, unk, or any token of the vocabulary.")
    # parameter-efficient training
    lora: bool = setting(False, "--lora", panel=LORA, help="Train a LoRA adapter (PEFT).")
    qlora: bool = setting(False, "--qlora", panel=LORA, help="LoRA on a 4-bit base (CUDA).")
    lora_r: int = setting(16, ge=1, integer=True, panel=LORA)
    lora_alpha: int = setting(32, ge=1, integer=True, panel=LORA)
    lora_dropout: float = setting(0.05, ge=0.0, panel=LORA)
    lora_target: list[str] | str = setting("all-linear", cli=False, help="Modules to adapt (a list, or all-linear).")
    merge: bool = setting(True, "--merge/--no-merge", panel=LORA, help="Also write the plain merged model.")
    # checkpoints, logs, outputs
    save_steps: int = setting(50, ge=1, integer=True, panel=OUTPUTS, help="Checkpoint (and eval) every N steps.")
    save_total_limit: int = setting(2, ge=1, integer=True, panel=OUTPUTS, help="Checkpoints kept during a run.")
    keep_checkpoints: bool = setting(False, "--keep-checkpoints", panel=OUTPUTS,
                                     help="Keep checkpoints after a finished run.")
    logging_steps: int = setting(10, ge=1, integer=True, panel=OUTPUTS)
    eval_steps: int | None = setting(None, ge=1, integer=True, panel=OUTPUTS, help="Default: with every checkpoint.")
    report_to: list[str] = setting(None, panel=OUTPUTS, help="csv, tensorboard or none (repeatable).",
                                   default_factory=lambda: ["csv", "tensorboard"])
    gguf: str | None = setting(None, choices=GGUF_TYPES, panel=OUTPUTS, help="Also export a GGUF for llama.cpp "
                               "(needs llama.cpp's converter).")
    trust_remote_code: bool = setting(False, "--trust-remote-code", help="Run the model repository's own code.")
    extra: dict[str, Any] = setting(None, cli=False, default_factory=dict,
                                    help="Passed to TRL's SFTConfig as they are.")

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> TrainConfig:
        """One-line errors for values the trainer would reject late or silently misuse."""
        n = check_number
        n("max_length", self.max_length, ge=16, integer=True)
        n("eval_split", self.eval_split, ge=0, lt=1)
        n("limit", self.limit, ge=1, integer=True, optional=True)
        n("epochs", self.epochs, ge=0)
        n("max_steps", self.max_steps, ge=1, integer=True, optional=True)
        if self.max_steps is None and self.epochs <= 0:
            raise WizardCoderError("give epochs > 0 or max_steps >= 1")
        n("learning_rate", self.learning_rate, gt=0)
        n("warmup_steps", self.warmup_steps, ge=0, integer=True)
        n("weight_decay", self.weight_decay, ge=0)
        n("adam_beta1", self.adam_beta1, ge=0, lt=1)
        n("adam_beta2", self.adam_beta2, ge=0, lt=1)
        n("adam_epsilon", self.adam_epsilon, gt=0)
        n("max_grad_norm", self.max_grad_norm, gt=0)
        n("global_batch_size", self.global_batch_size, ge=1, integer=True)
        n("batch_size", self.batch_size, ge=1, integer=True)
        n("seed", self.seed, ge=0, lt=2**32, integer=True)
        n("lora_r", self.lora_r, ge=1, integer=True)
        n("lora_alpha", self.lora_alpha, ge=1, integer=True)
        n("lora_dropout", self.lora_dropout, ge=0, lt=1)
        n("save_steps", self.save_steps, ge=1, integer=True)
        n("save_total_limit", self.save_total_limit, ge=1, integer=True)
        n("logging_steps", self.logging_steps, ge=1, integer=True)
        n("eval_steps", self.eval_steps, ge=1, integer=True, optional=True)
        check_choice("packing", self.packing, PACKING)
        check_choice("precision", self.precision, PRECISIONS)
        if self.gguf is not None:
            check_choice("gguf", self.gguf, GGUF_TYPES)
        if not isinstance(self.pad_token, str) or not self.pad_token:
            raise WizardCoderError("pad_token (--pad-token) must be add, eos, unk or a token of the vocabulary")
        unknown = set(self.report_to) - {"csv", "tensorboard", "none"}
        if unknown:
            raise WizardCoderError(f"report_to: unknown logger {sorted(unknown)[0]!r} (choose csv, tensorboard, none)")
        return self

    @property
    def use_lora(self) -> bool:
        return self.lora or self.qlora

    def grad_accum(self, world_size: int) -> int:
        """Accumulation steps that bring ``batch_size`` x ``world_size`` closest to the global batch."""
        per_step = self.batch_size * max(1, world_size)
        return max(1, math.ceil(self.global_batch_size / per_step))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def fingerprint(self) -> str:
        """What a resumed run must share with the run it continues (not paths of logs or exports)."""
        keep = {k: v for k, v in self.to_dict().items()
                if k not in ("output_dir", "save_total_limit", "keep_checkpoints", "logging_steps", "report_to",
                             "gguf", "merge", "eval_steps")}
        return hashlib.sha256(json.dumps(keep, sort_keys=True, default=str).encode()).hexdigest()[:16]


FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}
# A recipe may also name a setting as its flag does (lr, output, max-steps).
_ALIASES = {flag.lstrip("-").replace("-", "_"): f.name for f in dataclasses.fields(TrainConfig)
            for flag in f.metadata["setting"]["flags"] if flag.startswith("--") and "/" not in flag}


def load_recipe(path: str | Path) -> dict[str, Any]:
    """A YAML recipe as overrides; an unknown key or a bad value type names the file and key."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise WizardCoderError(f"{path}: no such recipe file")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise WizardCoderError(f"{where}: invalid YAML: {getattr(exc, 'problem', None) or exc}") from None
    if not isinstance(data, dict):
        raise WizardCoderError(f"{path}: a recipe is a mapping of settings, got {type(data).__name__}")
    defaults = TrainConfig()
    for key, value in list(data.items()):
        name = str(key).replace("-", "_")
        name = name if name in FIELDS else _ALIASES.get(name, name)
        if name != key and name in FIELDS:
            if name in data:
                raise WizardCoderError(f"{path}: {key!r} and {name!r} name one setting: keep one")
            data[name] = data.pop(key)
            key = name
        if key not in FIELDS:
            close = [f for f in FIELDS if f.replace("_", "") == str(key).replace("_", "").replace("-", "")]
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise WizardCoderError(f"{path}: unknown setting {key!r}{hint}")
        default = getattr(defaults, key)
        if isinstance(default, bool) and not isinstance(value, bool):
            raise WizardCoderError(f"{path}: setting {key!r}: expected true or false, got {value!r}")
        if isinstance(default, (int, float)) and not isinstance(default, bool):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise WizardCoderError(f"{path}: setting {key!r}: expected a number, got {value!r}")
            if isinstance(default, int) and not isinstance(default, bool) and isinstance(value, float) \
                    and key not in ("epochs",):
                if not value.is_integer():
                    raise WizardCoderError(f"{path}: setting {key!r}: expected an integer, got {value!r}")
                value = int(value)
        data[key] = value
    return data


def build_config(recipe: str | Path | None, overrides: dict[str, Any]) -> TrainConfig:
    """Defaults < recipe file < flags (``None`` in ``overrides`` means the flag was not given)."""
    from_file: dict[str, Any] = load_recipe(recipe) if recipe else {}
    flags = {k: v for k, v in overrides.items() if v is not None}
    values = {**from_file, **flags}
    if isinstance(values.get("epochs"), int) and not isinstance(values["epochs"], bool):
        values["epochs"] = float(values["epochs"])
    try:
        return TrainConfig(**values)
    except WizardCoderError as exc:  # a bad value from the recipe file names the file
        field = str(exc).split(" ", 1)[0]
        if field in from_file and field not in flags:
            raise WizardCoderError(f"{recipe}: {exc}") from None
        raise
