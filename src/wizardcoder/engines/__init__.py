"""Engines: llama.cpp (GGUF, CPU), transformers, vLLM (GPU), any OpenAI-compatible server."""

from __future__ import annotations

from typing import Any

from wizardcoder.engines.base import Completion, Engine, Message, Request, SamplingParams
from wizardcoder.engines.resolve import ENGINES, ModelRef, default_gguf, resolve_model
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
    try:
        if name == "llamacpp":
            from wizardcoder.engines.llamacpp import LlamaCppEngine as cls
        elif name == "transformers":
            from wizardcoder.engines.hf import TransformersEngine as cls
        elif name == "vllm":
            from wizardcoder.engines.vllm import VLLMEngine as cls
        elif name == "openai":
            from wizardcoder.engines.openai import OpenAIEngine as cls
        else:
            raise WizardCoderError(f"unknown engine {name!r} (choose from {', '.join(ENGINES)})")
    except ImportError as exc:
        raise WizardCoderError(f"engine {name} needs packages that are not installed ({exc.name}): "
                               f"pip install {_EXTRAS[name]}") from None
    return cls.load(ref, **options)
