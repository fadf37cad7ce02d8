"""The base model for fine-tuning: loading (dir, hub id or GGUF), the pad token, LoRA and merging.

Loading shares the transformers engine's loader (``wizardcoder.engines.hf_loading``): a base is
read the same way for evaluation and for training. Training's own: its error texts, a GGUF's
weights marked plain floats (as they are once dequantized), and no KV cache.

The pad token follows the authors' recipe by default: a new ``<pad>`` token whose embedding rows
(input and output) are the mean of the existing rows, so the resized model's predictions do not
move. ``eos`` / ``unk`` / any vocabulary token reuse an existing token instead. Labels are built
from the prompt mask, never from the pad id, so reusing EOS as pad does not stop EOS training.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from wizardcoder.engines import hf_loading
from wizardcoder.engines.resolve import ModelRef, resolve_model
from wizardcoder.errors import WizardCoderError
from wizardcoder.jsonl import read_json_object

NEW_PAD = "<pad>"


def resolve_base(spec: str) -> ModelRef:
    ref = resolve_model(spec)
    if ref.kind == "remote":
        raise WizardCoderError(f"{spec}: training needs the weights (a model dir, hub id or .gguf), not a server")
    return ref


def load_tokenizer(ref: ModelRef, trust_remote_code: bool = False) -> Any:
    """The base's tokenizer (loaded first: the data is encoded and checked before any weights load)."""
    source = hf_loading.hf_source(ref)
    with hf_loading.loading(source, f"cannot load the tokenizer of {ref.label} ({ref.location})"):
        return hf_loading.load_tokenizer(source, trust_remote_code=trust_remote_code)


def load_model(ref: ModelRef, dtype: Any, trust_remote_code: bool = False, quantization: Any = None,
               device_map: Any = None) -> Any:
    """The base weights in ``dtype`` (a GGUF is dequantized); ``quantization`` for QLoRA."""
    source = hf_loading.hf_source(ref)
    with hf_loading.loading(source, f"cannot load {ref.label} ({ref.location}) for training"):
        model = hf_loading.load_causal_lm(source, dtype=dtype, trust_remote_code=trust_remote_code,
                                          quantization=quantization, device_map=device_map)
    if source.gguf_file:
        # Dequantized on load: plain float weights, but transformers still marks the model quantized, which
        # would refuse full fine-tuning and write a GGUF quantization config into the saved model.
        model.is_quantized, model.hf_quantizer = False, None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
    model.config.use_cache = False  # a cache in the forward pass also turns off packed-sequence masking
    return model


def set_pad_token(tokenizer: Any, model: Any, mode: str) -> str:
    """Give the tokenizer a pad token per ``mode``; returns what was done (for the run record)."""
    if tokenizer.pad_token is not None and mode == "add":
        return f"kept {tokenizer.pad_token!r}"
    if mode == "add":
        tokenizer.add_special_tokens({"pad_token": NEW_PAD})
        added = len(tokenizer) - model.get_input_embeddings().weight.shape[0]
        if added > 0:
            resize_with_mean(model, len(tokenizer))
            return f"added {NEW_PAD!r} (embedding rows: mean of the others)"
        return f"added {NEW_PAD!r} (room in the embedding matrix)"
    token = {"eos": tokenizer.eos_token, "unk": tokenizer.unk_token}.get(mode, mode)
    if token is None or token not in tokenizer.get_vocab():
        raise WizardCoderError(f"pad_token {mode!r}: the tokenizer has no such token")
    tokenizer.pad_token = token
    return f"reused {token!r}"


def resize_with_mean(model: Any, new_size: int) -> None:
    """Grow the vocabulary; every new row (input and output embeddings) is the mean of the old rows."""
    import torch

    old = model.get_input_embeddings().weight.shape[0]
    model.resize_token_embeddings(new_size, mean_resizing=False)
    with torch.no_grad():
        tables = [model.get_input_embeddings().weight]
        out = model.get_output_embeddings()
        if out is not None and out.weight.data_ptr() != tables[0].data_ptr():
            tables.append(out.weight)
        for weight in tables:
            weight[old:] = weight[:old].mean(dim=0, keepdim=True)
    model.config.get_text_config().vocab_size = new_size


def lora_config(r: int, alpha: int, dropout: float, target: list[str] | str) -> Any:
    from peft import LoraConfig

    return LoraConfig(r=r, lora_alpha=alpha, lora_dropout=dropout, target_modules=target, task_type="CAUSAL_LM")


def qlora_quantization() -> Any:
    import torch

    if not torch.cuda.is_available():
        raise WizardCoderError("QLoRA needs a CUDA GPU (4-bit weights via bitsandbytes); use --lora on CPU")
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise WizardCoderError("QLoRA needs bitsandbytes: pip install bitsandbytes") from None
    from transformers import BitsAndBytesConfig

    compute = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_use_double_quant=True,
                              bnb_4bit_compute_dtype=compute)


def merge_adapter(adapter_dir: str | Path, out_dir: str | Path, dtype: Any = None) -> Path:
    """A plain model from a LoRA adapter: the base reloaded unquantized, the adapter merged in."""
    import torch
    from peft import PeftModel

    adapter_dir, out_dir = Path(adapter_dir), Path(out_dir)
    if not (adapter_dir / "adapter_config.json").is_file():
        raise WizardCoderError(f"{adapter_dir}: not a LoRA adapter (no adapter_config.json)")
    cfg = read_json_object(adapter_dir / "adapter_config.json", "an adapter config")
    base_spec = cfg.get("base_model_name_or_path") or ""
    record = adapter_dir / "base_model.json"  # ours: the base as the user named it (GGUF files included)
    if record.is_file():
        base_spec = read_json_object(record, "a base-model record").get("model", base_spec)
    if not isinstance(base_spec, str):
        raise WizardCoderError(f"{adapter_dir}: the base model's name is not a string")
    if not base_spec:
        raise WizardCoderError(f"{adapter_dir}: the adapter does not say which base model it was trained on")
    ref = resolve_base(base_spec)
    tokenizer = load_tokenizer(ref)
    if (adapter_dir / "tokenizer_config.json").is_file():  # the tokenizer as trained (pad token, chat template)
        tokenizer = hf_loading.load_tokenizer(hf_loading.HFSource(str(adapter_dir)))
    model = load_model(ref, dtype or torch.float32)
    if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
        resize_with_mean(model, len(tokenizer))  # the adapter dir holds the trained rows when they were saved
    model = PeftModel.from_pretrained(model, adapter_dir).merge_and_unload()
    model.config.use_cache = True
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    return out_dir
