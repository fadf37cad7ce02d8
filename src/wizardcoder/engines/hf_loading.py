"""Loading a Hugging Face causal LM and its tokenizer: from a directory, a hub id or a GGUF file.

One loader for both users of transformers weights: the transformers engine (inference) and
fine-tuning (``wizardcoder.training.model``). Each says what it needs (dtype, placement,
quantization, remote code) and how a failure reads; what they share is here:

- where ``from_pretrained`` looks (:class:`HFSource`): a ``.gguf`` file is loaded from its
  directory with ``gguf_file=`` (transformers dequantizes it), a GGUF inside a model directory
  or hub repo likewise;
- :func:`loading`, the context every load runs in: a GGUF file is parsed once for everything
  loaded inside it (config, tokenizer, weights), and a transformers failure becomes one line.

torch, transformers and gguf are imported only when something is loaded.
"""

from __future__ import annotations

import contextlib
import functools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from wizardcoder.engines.resolve import ModelRef
from wizardcoder.errors import WizardCoderError

LOADABLE_KINDS = ("gguf", "dir", "hub")  # the ModelRef kinds transformers can load


@dataclass(frozen=True)
class HFSource:
    """What ``from_pretrained`` is given: a directory or hub id, and the GGUF file in it, if any."""

    location: str
    gguf_file: str | None = None

    def options(self) -> dict[str, Any]:
        """The ``from_pretrained`` keyword that picks the GGUF file (none for safetensors/bin weights)."""
        return {"gguf_file": self.gguf_file} if self.gguf_file else {}


def hf_source(ref: ModelRef) -> HFSource:
    """Where transformers finds ``ref``'s files: a ``.gguf`` file is named inside its directory."""
    if ref.kind == "gguf":
        return HFSource(os.path.dirname(os.path.abspath(ref.location)), os.path.basename(ref.location))
    if ref.kind in LOADABLE_KINDS:
        return HFSource(ref.location, ref.gguf_file or None)
    raise WizardCoderError(f"{ref.label}: transformers loads a model directory, a hub id or a GGUF file, "
                           f"not {ref.kind}")


def first_line(exc: BaseException) -> str:
    """The first line of an error (transformers' messages run on with advice); the type when it is empty."""
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


@contextlib.contextmanager
def loading(source: HFSource, failure: str) -> Iterator[None]:
    """Run the loads from ``source`` inside: one GGUF parse shared by all of them, and a load that
    fails (transformers raises OSError, ValueError or KeyError) turned into the one-line
    ``WizardCoderError`` ``"{failure}: {first line of the error}"``."""
    try:
        with gguf_parse_once() if source.gguf_file else contextlib.nullcontext():
            yield
    except (OSError, ValueError, KeyError) as exc:
        raise WizardCoderError(f"{failure}: {first_line(exc)}") from None


def load_tokenizer(source: HFSource, *, trust_remote_code: bool = False) -> Any:
    """``source``'s tokenizer (call it inside :func:`loading`)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(source.location, trust_remote_code=trust_remote_code, **source.options())


def load_causal_lm(source: HFSource, *, dtype: Any, trust_remote_code: bool = False, quantization: Any = None,
                   device_map: Any = None) -> Any:
    """``source``'s weights as a causal LM in ``dtype`` (a GGUF is dequantized); call it inside
    :func:`loading`. ``quantization``: a ``quantization_config`` (QLoRA's 4-bit weights);
    ``device_map``: load straight onto that device (none: on the CPU)."""
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {"dtype": dtype, "trust_remote_code": trust_remote_code, **source.options()}
    if quantization is not None:
        kwargs["quantization_config"] = quantization
    if device_map is not None:
        kwargs["device_map"] = device_map
    return AutoModelForCausalLM.from_pretrained(source.location, **kwargs)


@contextlib.contextmanager
def gguf_parse_once() -> Iterator[None]:
    """Share one parse of a GGUF file between the config, tokenizer and weights loaders.

    transformers parses the whole file (vocabulary included) once per loader and rebuilds the
    tensor-name map once per module: about 25 s of a 35 s load for the default model on 2 CPU
    cores, 8 s with this. Patches the ``gguf`` module only for the duration of the load.
    """
    import gguf

    reader, name_map = gguf.GGUFReader, gguf.get_tensor_name_map
    readers: dict[str, Any] = {}

    def cached_reader(path: Any, *args: Any, **kwargs: Any) -> Any:
        key = os.fspath(path)
        if args or kwargs:
            return reader(path, *args, **kwargs)
        if key not in readers:
            readers[key] = reader(path)
        return readers[key]

    gguf.GGUFReader, gguf.get_tensor_name_map = cached_reader, functools.lru_cache(maxsize=None)(name_map)  # type: ignore[misc,assignment]
    try:
        yield
    finally:
        gguf.GGUFReader, gguf.get_tensor_name_map = reader, name_map  # type: ignore[misc]
