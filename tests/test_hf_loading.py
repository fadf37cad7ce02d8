"""The one Hugging Face loader (``engines.hf_loading``) that the transformers engine and training share."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tiny_models import make_tiny_model
from wizardcoder.engines.hf_loading import HFSource, hf_source, load_causal_lm, load_tokenizer, loading
from wizardcoder.engines.resolve import ModelRef
from wizardcoder.errors import WizardCoderError


def test_where_transformers_looks_for_each_kind(tmp_path: Path) -> None:
    gguf = tmp_path / "m.Q4_K_M.gguf"
    assert hf_source(ModelRef(str(gguf), "gguf", str(gguf), None)) == HFSource(str(tmp_path), "m.Q4_K_M.gguf")
    assert hf_source(ModelRef("d", "dir", str(tmp_path), None)).options() == {}
    hub = hf_source(ModelRef("org/x", "hub", "org/x", None, gguf_file="x.gguf"))
    assert (hub.location, hub.options()) == ("org/x", {"gguf_file": "x.gguf"})
    with pytest.raises(WizardCoderError, match="not remote"):
        hf_source(ModelRef("x", "remote", "x", None))


def test_a_failed_load_is_one_line_and_gguf_is_left_unpatched(tmp_path: Path) -> None:
    gguf = pytest.importorskip("gguf")
    reader = gguf.GGUFReader
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF" + b"x" * 60)
    source = hf_source(ModelRef(str(broken), "gguf", str(broken), None))
    with pytest.raises(WizardCoderError) as info, loading(source, "cannot load broken"):
        load_tokenizer(source)
    assert str(info.value).startswith("cannot load broken: ") and "\n" not in str(info.value)
    assert info.value.__suppress_context__
    assert gguf.GGUFReader is reader
    with pytest.raises(KeyboardInterrupt), loading(source, "x"):  # only transformers' errors are reworded
        raise KeyboardInterrupt


def test_loads_a_model_directory(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    model_dir = make_tiny_model("llama", tmp_path / "llama")
    source = hf_source(ModelRef("llama", "dir", os.fspath(model_dir), None))
    with loading(source, "cannot load llama"):
        tokenizer = load_tokenizer(source)
        model = load_causal_lm(source, dtype=torch.bfloat16)
    assert tokenizer.eos_token == "</s>"
    assert model.dtype == torch.bfloat16 and model.config.model_type == "llama"
