"""Engines: llama.cpp (GGUF, CPU), transformers, vLLM (GPU), any OpenAI-compatible server."""

from __future__ import annotations

import importlib
from typing import Any

from wizardcoder.engines.base import Completion, Engine, Message, Request, SamplingParams
from wizardcoder.engines.resolve import BUILTIN, ENGINES, ModelRef, default_gguf, load_builtin, register_builtin, resolve_model
from wizardcoder.errors import WizardCoderError

__all__ = [
    "ENGINES",
    "Completion",
    "Engine",
    "Message",
    "ModelRef",
    "Request",
    "SamplingParams",
    "default_gguf",
    "load_engine",
    "register_builtin",
    "resolve_model",
]

_EXTRAS = {"llamacpp": "llama-cpp-python", "transformers": "torch==2.13.0 transformers gguf accelerate",
           "vllm": "vllm", "openai": "openai"}


def load_engine(ref: ModelRef, engine: str | None = None, **options: Any) -> Engine:
    """Load ``ref`` in ``engine`` (default: the natural one for the model kind).

    ``options`` are engine-specific (``n_ctx``, ``parallel``, ``threads`` for llama.cpp;
    ``device``, ``dtype``, ``batch_size`` for transformers; ``base_url``, ``api_key_env``,
    ``timeout``, ``max_retries``, ``concurrency`` for openai); unknown ones are ignored.
    """
    name = engine or ref.default_engine()
    if ref.kind == BUILTIN or name == BUILTIN:
        if ref.kind != BUILTIN or name != BUILTIN:
            raise WizardCoderError(f"{ref.label}: a built-in stand-in model runs only in process, not in {name}")
        return load_builtin(ref, **options)
    modules = {"llamacpp": ("llamacpp", "LlamaCppEngine"), "transformers": ("hf", "TransformersEngine"),
               "vllm": ("vllm", "VLLMEngine"), "openai": ("openai", "OpenAIEngine")}
    if name not in modules:
        raise WizardCoderError(f"unknown engine {name!r} (choose from {', '.join(ENGINES)})")
    module, attr = modules[name]
    try:  # imported only when chosen: each engine pulls its own heavy packages
        cls = getattr(importlib.import_module(f"wizardcoder.engines.{module}"), attr)
    except ImportError as exc:
        raise WizardCoderError(f"engine {name} needs packages that are not installed ({exc.name}): "
                               f"pip install {_EXTRAS[name]}") from None
    loaded: Engine = cls.load(ref, **options)
    return loaded
