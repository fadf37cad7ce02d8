"""The real default model (SmolLM2-135M-Instruct, from its GGUF): a short full fine-tune (50 Code
Alpaca rows) and a LoRA run (32 rows) on CPU, then the result served by the inference engines.

With the card's template the base model degenerates into empty code fences (0 % HumanEval); after
one epoch on 50 rows it answers with code and ends its answer with EOS.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CODE_ALPACA
from wizardcoder.engines import Request, SamplingParams
from wizardcoder.engines.resolve import resolve_model
from wizardcoder.prompting.template import format_prompt

pytestmark = [pytest.mark.slow]
WC = [sys.executable, "-m", "wizardcoder.cli"]
ASK = [Request(prompt=format_prompt("Write a Python function that returns the square of a number."))]
GREEDY = SamplingParams(max_tokens=80, temperature=0.0)


def _train(out: Path, *extra: str, rows: int = 50) -> subprocess.CompletedProcess[str]:
    cmd = [*WC, "train", "--model", "default", "--data", str(CODE_ALPACA), "--limit", str(rows),
           "--output", str(out), "--epochs", "1", "--batch-size", "4", "--global-batch-size", "8", "--warmup-steps", "0",
           "--max-length", "512", "--logging-steps", "1", *extra]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _losses(out: Path) -> list[float]:
    with (out / "logs" / "train_log.csv").open() as fh:
        return [float(r["loss"]) for r in csv.DictReader(fh) if r["loss"]]


def _generate(engine_cls: type, spec: str) -> tuple[str, str]:
    engine = engine_cls.load(resolve_model(spec))
    try:
        [(_, completion)] = list(engine.generate(ASK, GREEDY))
    finally:
        engine.close()
    return completion.text, completion.finish_reason


def test_full_fine_tune_of_the_default_model_then_both_engines(tmp_path: Path) -> None:
    from wizardcoder.engines.hf import TransformersEngine
    from wizardcoder.engines.llamacpp import LlamaCppEngine

    out = tmp_path / "full"
    proc = _train(out, "--lr", "1e-4", "--gguf", "f16")
    assert "50 rows" in proc.stderr and "7 optimizer steps" in proc.stderr
    losses = _losses(out)
    assert len(losses) == 7 and min(losses[-3:]) < losses[0]
    record = json.loads((out / "wizardcoder_train.json").read_text())
    assert record["status"] == "finished" and record["base"].endswith(".gguf")
    assert "quantization_config" not in json.loads((out / "config.json").read_text())  # a plain model, not "GGUF"
    text, finish = _generate(TransformersEngine, str(out))
    assert finish == "stop" and "def " in text and "return" in text, text  # it answers, and stops at EOS
    gguf_text, gguf_finish = _generate(LlamaCppEngine, str(out / "model-f16.gguf"))
    assert (gguf_text, gguf_finish) == (text, finish)  # the exported GGUF is the same model in llama.cpp


def test_lora_fine_tune_of_the_default_model_merged_and_served(tmp_path: Path) -> None:
    from wizardcoder.engines.hf import TransformersEngine

    out = tmp_path / "lora"
    _train(out, "--lora", "--lr", "1e-3", rows=32)
    assert (out / "adapter" / "adapter_config.json").is_file() and (out / "model.safetensors").is_file()
    losses = _losses(out)
    assert min(losses[-3:]) < losses[0]
    text, finish = _generate(TransformersEngine, str(out))
    assert finish == "stop" and "def " in text, text
