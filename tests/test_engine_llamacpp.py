"""The llama.cpp engine on the real embedded default model (SmolLM2-135M-Instruct GGUF)."""

from __future__ import annotations

import time

import pytest

from wizardcoder.engines import Request, SamplingParams, load_engine, resolve_model
from wizardcoder.errors import WizardCoderError
from wizardcoder.prompting.fences import code_block_end
from wizardcoder.prompting.formats import make_request

QUESTION = "Write a Python function that reverses a string."


@pytest.fixture(scope="module")
def engine():
    with load_engine(resolve_model("default"), "llamacpp", parallel=4, n_ctx=1024) as eng:
        yield eng


def _one(engine, request: Request, params: SamplingParams):
    (index, completion), = list(engine.generate([request], params))
    assert index == 0
    return completion


def test_greedy_chat_answer_is_deterministic_and_uses_the_gguf_template(engine) -> None:
    req = make_request(QUESTION, "chat")
    tokens = engine.prompt_tokens(req)
    assert engine.chat_template and "<|im_start|>" in engine.chat_template
    assert engine.tokenize("<|im_start|>", add_special=False, parse_special=True) == tokens[:1]
    params = SamplingParams(max_tokens=48)
    a, b = _one(engine, req, params), _one(engine, req, params)
    assert a.text == b.text and a.text.strip()
    assert a.prompt_tokens == len(tokens) and 0 < a.completion_tokens <= 48
    assert "<|im_end|>" not in a.text


def test_length_and_stop_strings(engine) -> None:
    req = make_request(QUESTION, "chat")
    full = _one(engine, req, SamplingParams(max_tokens=40))
    short = _one(engine, req, SamplingParams(max_tokens=5))
    assert short.finish_reason == "length" and short.completion_tokens == 5 and full.text.startswith(short.text)
    stop = full.text[len(full.text) // 2: len(full.text) // 2 + 4]
    assert stop.strip()
    cut = _one(engine, req, SamplingParams(max_tokens=40, stop=(stop,)))
    assert cut.finish_reason == "stop" and cut.text == full.text[: full.text.index(stop)]


def test_batch_returns_every_request_once(engine) -> None:
    reqs = [make_request(f"Write a Python function that returns {i} squared.", "chat") for i in range(7)]
    out = list(engine.generate(reqs, SamplingParams(max_tokens=24)))
    assert sorted(i for i, _ in out) == list(range(7))
    assert all(c.text.strip() and c.completion_tokens <= 24 for _, c in out)


def test_stream_matches_generate_and_closes_early(engine) -> None:
    req = make_request(QUESTION, "chat")
    params = SamplingParams(max_tokens=40)
    pieces = list(engine.stream(req, params))
    assert len(pieces) > 5 and "".join(pieces) == _one(engine, req, params).text
    stream = engine.stream(req, SamplingParams(max_tokens=2000))
    next(stream)
    start = time.perf_counter()
    stream.close()
    assert time.perf_counter() - start < 1.0
    assert _one(engine, req, params).text == "".join(pieces)  # the engine is usable again


def test_stop_after_code_keeps_exactly_what_extraction_keeps(engine) -> None:
    req = make_request(QUESTION, "chat")
    full = _one(engine, req, SamplingParams(max_tokens=200))
    end = code_block_end(full.text)
    assert end is not None and end < len(full.text), full.text  # this answer has prose after its code
    early = _one(engine, req, SamplingParams(max_tokens=200, stop_after_code=True))
    assert early.text == full.text[:end] and early.text.endswith("```")
    assert early.completion_tokens < full.completion_tokens and early.finish_reason == "stop"


def test_sampling_is_seeded(engine) -> None:
    req = make_request("Write a haiku about Python.", "chat")
    params = SamplingParams(max_tokens=24, temperature=1.0, top_p=0.95)
    a = [_one(engine, Request(messages=req.messages, seed=s), params).text for s in (1, 1, 2)]
    assert a[0] == a[1] and a[0] != a[2]


def test_samples_of_one_prompt_decode_it_once(engine) -> None:
    """6 samples of one prompt on 4 slots: the prompt is decoded once, each other sample computes its
    last token only (the first three from the running leader's KV, the last two from the slots of
    finished samples); seeded answers stay reproducible, and greedy ones equal unshared decoding's."""
    req = make_request(QUESTION, "chat")
    n = len(engine.prompt_tokens(req))
    reqs = [Request(messages=req.messages, seed=s) for s in range(6)]
    sampled = SamplingParams(max_tokens=24, temperature=0.8, top_p=0.95)
    before = engine.prompt_computed
    first = dict(engine.generate(reqs, sampled))
    assert engine.prompt_computed - before == n + 5
    assert dict(engine.generate(reqs, sampled)) == first and len({c.text for c in first.values()}) > 1
    greedy = SamplingParams(max_tokens=24)
    shared = dict(engine.generate(reqs, greedy))
    engine.share_prompts = False
    try:
        before = engine.prompt_computed
        alone = dict(engine.generate(reqs, greedy))
        assert engine.prompt_computed - before == 6 * n
    finally:
        engine.share_prompts = True
    assert {i: c.text for i, c in shared.items()} == {i: c.text for i, c in alone.items()}


def test_context_overflow(engine) -> None:
    req = make_request(QUESTION, "chat")
    n = len(engine.prompt_tokens(req))
    clipped = _one(engine, req, SamplingParams(max_tokens=engine.n_ctx))
    assert clipped.warnings and "clipped" in clipped.warnings[0] and clipped.completion_tokens <= engine.n_ctx - n
    with pytest.raises(WizardCoderError, match="does not fit"):
        list(engine.generate([Request(prompt="word " * 2000)], SamplingParams(max_tokens=8)))


def test_missing_gguf_and_unknown_engine(tmp_path) -> None:
    fake = tmp_path / "broken.gguf"
    fake.write_bytes(b"not a gguf")
    with pytest.raises(WizardCoderError, match="could not load"):
        load_engine(resolve_model(str(fake)), "llamacpp")
    with pytest.raises(WizardCoderError, match="unknown engine"):
        load_engine(resolve_model("default"), "bogus")


# -- re-encoded weights (--reencode) --------------------------------------------------------------------
def test_reencoded_weights_are_made_once_cached_and_answer_like_the_shipped_ones(tmp_path, monkeypatch) -> None:
    """F16 from the shipped Q4_1: made in the cache at first use (complete or absent), reused after,
    remade when the source changes; the model answers the same short greedy prompt the same way."""
    import os
    import shutil

    import gguf

    from wizardcoder.engines.reencode import cached_path, reencode
    from wizardcoder.engines.spec import EngineSpec

    monkeypatch.setenv("WIZARDCODER_CACHE_DIR", str(tmp_path / "cache"))
    shipped = resolve_model("default")
    source = tmp_path / "model.gguf"
    shutil.copy(shipped.location, source)
    path, made = reencode(source, "f16")
    assert made and path == cached_path(source, "f16") and path.parent == tmp_path / "cache" / "reencoded"
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".part")]
    types = {t.tensor_type.name for t in gguf.GGUFReader(str(path)).tensors}
    assert "F16" in types and "Q4_1" not in types
    stamp = path.stat().st_mtime_ns
    assert reencode(source, "f16") == (path, False) and path.stat().st_mtime_ns == stamp  # reused

    req = make_request("Write a Python function that returns the sum of a list.", "wizardcoder")
    params = SamplingParams(max_tokens=24)
    spec = EngineSpec(model=str(source), reencode="f16", parallel=1, n_ctx=512)
    with spec.open() as fast:
        assert f"weights re-encoded as F16 (cached: {path})" in fast.setup
        got = _one(fast, req, params).text
    with load_engine(resolve_model(str(source)), "llamacpp", parallel=1, n_ctx=512) as plain:
        assert got == _one(plain, req, params).text  # a short answer: no near-tie on the way

    os.utime(source, ns=(stamp + 10**9, stamp + 10**9))  # the source changed: a new re-encoding
    assert cached_path(source, "f16") != path and reencode(source, "f16")[1]


def test_reencode_refuses_what_it_cannot_make(tmp_path, monkeypatch) -> None:
    from wizardcoder.engines.reencode import reencode
    from wizardcoder.engines.spec import EngineSpec

    monkeypatch.setenv("WIZARDCODER_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(WizardCoderError, match=r"reencode \(--reencode\) must be one of f16, q8_0, got .q2."):
        EngineSpec(reencode="q2")
    with pytest.raises(WizardCoderError, match="no such GGUF file"):
        reencode(tmp_path / "missing.gguf", "f16")
    bad = tmp_path / "bad.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(WizardCoderError, match=r"bad.gguf: llama.cpp could not re-encode it as F16"):
        reencode(bad, "f16")
    assert not list((tmp_path / "cache" / "reencoded").iterdir())  # nothing half-written is left


def test_a_run_resumed_with_other_weights_is_refused(tmp_path) -> None:
    """The re-encoding is part of what a run records: a resume with it switched is another job."""
    from wizardcoder import api

    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"id": "a", "instruction": "Say hi."}\n{"id": "b", "instruction": "Say bye."}\n')
    out = tmp_path / "out.jsonl"
    api.generate(prompts, out, max_tokens=4, parallel=2)
    meta = (tmp_path / "out.jsonl.run.json").read_text()
    assert "reencode" not in meta  # runs without it record what they recorded before it existed
    with pytest.raises(WizardCoderError, match="was written by a different job"):
        api.generate(prompts, out, max_tokens=4, parallel=2, reencode="f16", resume=True)
    assert api.generate(prompts, out, max_tokens=4, parallel=2, resume=True).skipped == 2
