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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wizardcoder.errors import WizardCoderError
from wizardcoder.settings import check_choice, check_number

PACKING = ("none", "padding-free", "bfd")
PAD_MODES = ("add", "eos", "unk")  # or any token string already in the vocabulary
PRECISIONS = ("auto", "fp32", "bf16", "fp16")
GGUF_TYPES = ("f32", "f16", "bf16", "q8_0", "auto")


@dataclass
class TrainConfig:
    model: str = "default"
    data: str = ""
    output_dir: str = ""
    # data
    max_length: int = 2048
    eval_data: str | None = None
    eval_split: float = 0.0  # a held-out fraction of the data when no eval_data is given
    limit: int | None = None  # first N rows only (smoke runs)
    lenient: bool = False  # skip bad rows (counted) instead of stopping
    # optimisation (the paper's recipe)
    epochs: float = 3.0
    max_steps: int | None = None  # overrides epochs
    learning_rate: float = 2e-5
    lr_scheduler: str = "cosine"
    warmup_steps: int = 30
    weight_decay: float = 0.0
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    max_grad_norm: float = 1.0
    global_batch_size: int = 512
    batch_size: int = 16  # per device
    seed: int = 42
    # speed and memory
    packing: str = "padding-free"
    precision: str = "auto"
    gradient_checkpointing: bool | None = None  # None: on when training on a GPU
    pad_token: str = "add"
    # parameter-efficient training
    lora: bool = False
    qlora: bool = False
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    lora_target: list[str] | str = "all-linear"
    merge: bool = True  # write a plain merged model next to the adapter
    # checkpoints, logs, outputs
    save_steps: int = 50
    save_total_limit: int = 2
    keep_checkpoints: bool = False
    logging_steps: int = 10
    eval_steps: int | None = None  # None: with every checkpoint
    report_to: list[str] = field(default_factory=lambda: ["csv", "tensorboard"])
    gguf: str | None = None  # also export a GGUF of this type for llama.cpp
    trust_remote_code: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # passed to TRL's SFTConfig as they are

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
    for key, value in data.items():
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
