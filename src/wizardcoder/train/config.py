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
    max_steps: int = -1  # > 0 overrides epochs
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

    def validate(self) -> TrainConfig:
        """One-line errors for values the trainer would reject late or silently misuse."""
        checks = [
            (self.max_length >= 16, f"max_length must be at least 16 (got {self.max_length})"),
            (0.0 <= self.eval_split < 1.0, f"eval_split must be in [0, 1) (got {self.eval_split})"),
            (self.epochs > 0 or self.max_steps > 0, "give epochs > 0 or max_steps > 0"),
            (self.learning_rate > 0, f"learning_rate must be positive (got {self.learning_rate})"),
            (self.batch_size >= 1, f"batch_size must be at least 1 (got {self.batch_size})"),
            (self.global_batch_size >= 1, f"global_batch_size must be at least 1 (got {self.global_batch_size})"),
            (self.warmup_steps >= 0, f"warmup_steps must be >= 0 (got {self.warmup_steps})"),
            (self.save_steps >= 1, f"save_steps must be at least 1 (got {self.save_steps})"),
            (self.packing in PACKING, f"packing must be one of {', '.join(PACKING)} (got {self.packing!r})"),
            (self.precision in PRECISIONS, f"precision must be one of {', '.join(PRECISIONS)} (got {self.precision!r})"),
            (self.gguf is None or self.gguf in GGUF_TYPES, f"gguf must be one of {', '.join(GGUF_TYPES)} (got {self.gguf!r})"),
            (self.lora_r >= 1, f"lora_r must be at least 1 (got {self.lora_r})"),
            (bool(self.pad_token), "pad_token must be add, eos, unk or a token of the vocabulary"),
        ]
        for ok, message in checks:
            if not ok:
                raise WizardCoderError(message)
        if self.limit is not None and self.limit < 1:
            raise WizardCoderError(f"limit must be at least 1 (got {self.limit})")
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
    values: dict[str, Any] = load_recipe(recipe) if recipe else {}
    values.update({k: v for k, v in overrides.items() if v is not None})
    if "epochs" in values:
        values["epochs"] = float(values["epochs"])
    return TrainConfig(**values).validate()
