"""GGUF export through llama.cpp's converter: what llama.cpp loads must tokenize and score like the HF model."""

from __future__ import annotations

import importlib.metadata
import os
import socket
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tiny_models import make_tiny_model
from wizardcoder.errors import WizardCoderError
from wizardcoder.training.gguf import export_gguf, find_converter

PROMPTS = ["def add(a, b):\n    return a + b\n", "for x in range(10):\n\tprint(x * 33)  # 3.14 !!",
           "### Instruction:\nWrite a function that reverses a string.\n\n### Response:"]


def _index_reachable() -> bool:
    """Whether pip's index answers: without it (and without a converter) the sdist cannot be fetched."""
    host = urlparse(os.environ.get("PIP_INDEX_URL", "https://pypi.org/simple")).hostname or "pypi.org"
    try:
        socket.create_connection((host, 443), timeout=5).close()
    except OSError:
        return False
    return True


@pytest.fixture(scope="session")
def converter() -> Path:
    """The converter the export will use (fetched into this session's cache when nothing else is set)."""
    try:
        return find_converter()
    except WizardCoderError as e:
        if _index_reachable():
            raise
        pytest.skip(f"no llama.cpp converter and pip's index is unreachable: {e}")


@pytest.mark.slow
@pytest.mark.parametrize(("family", "outtype", "add_bos"), [("llama", "f16", True), ("gpt_bigcode", "f32", False)])
def test_export_loads_in_llama_cpp_and_matches_hf(converter: Path, tmp_path: Path, family: str, outtype: str,
                                                  add_bos: bool) -> None:
    import llama_cpp
    import numpy as np
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model_dir = make_tiny_model(family, tmp_path / family)
    # No converter argument: the search order finds the same one as the fixture, from the cache this time.
    gguf = export_gguf(model_dir, tmp_path / "out" / f"{family}.gguf", outtype)
    assert gguf.is_file()
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    llm = llama_cpp.Llama(model_path=str(gguf), n_ctx=256, verbose=False, logits_all=True, n_threads=1)
    try:
        # Code Llama adds BOS to every text, StarCoder none; the GGUF says so and llama.cpp follows it.
        assert llm.metadata["tokenizer.ggml.add_bos_token"] == str(add_bos).lower()
        assert llm.metadata["general.architecture"] == {"llama": "llama", "gpt_bigcode": "starcoder"}[family]
        for text in PROMPTS:
            ids = tokenizer(text)["input_ids"]
            assert llm.tokenize(text.encode(), add_bos=True) == ids, text
            llm.reset()
            llm.eval(ids)
            ours = np.asarray(llm.scores[: len(ids)])
            with torch.no_grad():
                theirs = model(torch.tensor([ids])).logits[0].numpy()
            # Logits are ~0.6 at most (random weights); f16 weights move them by <5e-4 here.
            np.testing.assert_allclose(ours, theirs, atol=2e-3)
            assert (ours.argmax(-1) == theirs.argmax(-1)).all(), text
    finally:
        llm.close()


@pytest.mark.slow  # ~10 s: fetches llama.cpp's converter and builds a model
def test_unknown_pre_tokenizer_asks_for_tokenizer_pre(converter: Path, tmp_path: Path) -> None:
    """A tokenizer the converter does not know and we cannot map exactly: one line that names the option."""
    import json

    model_dir = make_tiny_model("gpt_bigcode", tmp_path / "m")
    spec = json.loads((model_dir / "tokenizer.json").read_text())
    spec["pre_tokenizer"]["add_prefix_space"] = True  # not llama.cpp's gpt-2 any more
    (model_dir / "tokenizer.json").write_text(json.dumps(spec))
    with pytest.raises(WizardCoderError, match="tokenizer_pre") as e:
        export_gguf(model_dir, tmp_path / "m.gguf", "f32")
    assert "\n" not in str(e.value)


def test_missing_converter_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for given in (tmp_path / "nowhere" / "convert_hf_to_gguf.py", tmp_path):  # a missing file; a dir without it
        with pytest.raises(WizardCoderError, match="no llama.cpp converter there") as e:
            find_converter(given)
        assert "\n" not in str(e.value)
    monkeypatch.setenv("LLAMA_CPP_DIR", str(tmp_path / "llama.cpp"))
    with pytest.raises(WizardCoderError, match="LLAMA_CPP_DIR"):
        find_converter()


def test_nothing_found_says_how_to_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import wizardcoder.training.gguf as mod

    monkeypatch.delenv("LLAMA_CPP_DIR", raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("WIZARDCODER_CACHE_DIR", str(tmp_path / "cache"))

    def not_installed() -> str:
        raise importlib.metadata.PackageNotFoundError("llama_cpp_python")

    monkeypatch.setattr(mod, "_installed_version", not_installed)
    with pytest.raises(WizardCoderError, match="set LLAMA_CPP_DIR .* or pass the converter path") as e:
        find_converter()
    assert "\n" not in str(e.value)


FAKE_CONVERTER = '''
import argparse, sys

class TextModel:  # the pre-split layout: the model classes live in the script
    def get_vocab_base_pre(self, tokenizer):
        raise NotImplementedError("BPE pre-tokenizer was not recognized - update get_vocab_base_pre()")

def main():
    p = argparse.ArgumentParser()
    p.add_argument("model"); p.add_argument("--outfile"); p.add_argument("--outtype")
    a = p.parse_args()
    if a.outtype == "bf16":
        import wizardcoder_missing_module_xyz
    if a.outtype == "q8_0":
        raise RuntimeError("boom")
    with open(a.outfile, "w") as f:
        f.write(TextModel().get_vocab_base_pre(None) + " " + a.outtype)

if __name__ == "__main__":
    main()
'''


def test_converter_errors_and_tokenizer_pre(tmp_path: Path) -> None:
    """Failures come back as one line with the fix; ``tokenizer_pre`` only fills in for an unknown hash."""
    script = tmp_path / "llama.cpp" / "convert_hf_to_gguf.py"
    script.parent.mkdir()
    script.write_text(FAKE_CONVERTER)
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    out = export_gguf(model, tmp_path / "a.gguf", "f32", script.parent, tokenizer_pre="gpt-2")
    assert out.read_text() == "gpt-2 f32"
    with pytest.raises(WizardCoderError, match=r"not recognized.*tokenizer_pre"):
        export_gguf(model, tmp_path / "b.gguf", "f32", script)  # no tokenizer.json: nothing to infer
    with pytest.raises(WizardCoderError, match="needs the Python package 'wizardcoder_missing_module_xyz'"):
        export_gguf(model, tmp_path / "c.gguf", "bf16", script)
    with pytest.raises(WizardCoderError, match="failed: RuntimeError: boom$"):
        export_gguf(model, tmp_path / "d.gguf", "q8_0", script)
    with pytest.raises(WizardCoderError, match="outtype 'q4_0'"):
        export_gguf(model, tmp_path / "e.gguf", "q4_0", script)
    with pytest.raises(WizardCoderError, match="no config.json"):
        export_gguf(tmp_path, tmp_path / "f.gguf", "f16", script)
