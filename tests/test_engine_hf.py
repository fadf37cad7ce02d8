"""The transformers engine on the real embedded model (SmolLM2-135M-Instruct GGUF, fp32 CPU), the
shared prompt rendering, and the vLLM engine's behaviour where vLLM is absent.

The model is loaded once per module; generations are kept to a few tokens (CPU, < 20 tokens/s).
"""

from __future__ import annotations

import importlib.util
import threading
import time

import pytest

from wizardcoder.engines import Request, SamplingParams, load_engine, resolve_model
from wizardcoder.engines.render import adds_special_tokens, fit_context, render_messages
from wizardcoder.errors import WizardCoderError
from wizardcoder.prompting import CHAT_TEMPLATE, format_prompt
from wizardcoder.prompting.registry import DEFAULT_MODEL, find

CODE = Request(prompt="def fibonacci(n):")  # the shortest prompt: left-padded in a batch
CHAT = Request(messages=({"role": "user", "content": "Write a Python function that adds two numbers."},))
QUESTION = Request(messages=({"role": "user", "content": "What is 2+2?"},))
GREEDY = SamplingParams(max_tokens=16)


# -- shared rendering (no model) -----------------------------------------------------------------
def test_render_without_template_needs_a_wizardcoder_card():
    msgs = [{"role": "user", "content": "Reverse a list."}]
    with pytest.raises(WizardCoderError, match="no chat template"):
        render_messages(None, msgs, "<|im_start|>", "<|im_end|>", DEFAULT_MODEL)
    with pytest.raises(WizardCoderError, match="no chat template"):
        render_messages(None, msgs, "", "", None)
    starcoder = find("WizardCoder-15B-V1.0")
    assert render_messages(None, msgs, "", "<|endoftext|>", starcoder) == format_prompt("Reverse a list.")
    codellama = find("WizardCoder-Python-7B-V1.0")
    assert render_messages(None, msgs, "<s>", "</s>", codellama) == "<s>" + format_prompt("Reverse a list.")


def test_render_prefers_the_request_template_and_reports_refusals():
    msgs = [{"role": "user", "content": "hi"}]
    own = "{% for m in messages %}<{{ m['content'] }}>{% endfor %}"
    assert render_messages(own, msgs, "", "", None) == "<hi>"
    assert render_messages(own, msgs, "", "", None, CHAT_TEMPLATE) == format_prompt("hi")
    with pytest.raises(WizardCoderError, match="roles must be"):
        render_messages(CHAT_TEMPLATE, [{"role": "tool", "content": "x"}], "", "", None)


def test_bos_rule_and_context_fit():
    assert adds_special_tokens("hello", "<s>") and adds_special_tokens("hello", None)
    assert not adds_special_tokens("<s>hello", "<s>")
    assert fit_context(10, 20, None, 0) == (20, [])
    assert fit_context(10, 20, 30, 0) == (20, [])
    limit, notes = fit_context(10, 20, 25, 0)
    assert limit == 15 and "clipped from 20 to 15" in notes[0]
    with pytest.raises(WizardCoderError, match="request 3"):
        fit_context(25, 20, 25, 3)


# -- vLLM without vllm -----------------------------------------------------------------------------
@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vllm is installed")
def test_vllm_module_imports_and_asks_for_vllm():
    import wizardcoder.engines.vllm as mod

    assert mod.VLLMEngine.name == "vllm"
    with pytest.raises(WizardCoderError, match="pip install vllm"):
        load_engine(resolve_model("default"), "vllm")


def test_vllm_engine_glue_with_a_stand_in_vllm(monkeypatch):
    """What VLLMEngine hands to vLLM and makes of its outputs, with a stand-in ``vllm`` module."""
    import sys
    import types

    tokenizers = pytest.importorskip("tokenizers")
    pytest.importorskip("transformers")
    from transformers import PreTrainedTokenizerFast

    words = ["<unk>", "<s>", "</s>", "def", "f", "(", ")", ":", "###", "Instruction", "Response"]
    backend = tokenizers.Tokenizer(tokenizers.models.WordLevel({w: i for i, w in enumerate(words)}, unk_token="<unk>"))
    backend.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    tok = PreTrainedTokenizerFast(tokenizer_object=backend, bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    calls = []

    class LLM:
        def __init__(self, **kwargs):
            calls.append(kwargs)
            self.llm_engine = types.SimpleNamespace(model_config=types.SimpleNamespace(max_model_len=40))

        def get_tokenizer(self):
            return tok

        def generate(self, prompts, sampling_params, use_tqdm=True):
            calls.append((prompts, sampling_params, use_tqdm))
            done = types.SimpleNamespace(text="return 1\nEND more", token_ids=[4, 5, 6], finish_reason="stop")
            cut = types.SimpleNamespace(text="return", token_ids=[4] * 9, finish_reason="length")
            return [types.SimpleNamespace(outputs=[done if i == 0 else cut]) for i in range(len(prompts))]

    fake = types.ModuleType("vllm")
    fake.LLM, fake.SamplingParams = LLM, lambda **kw: kw
    monkeypatch.setitem(sys.modules, "vllm", fake)
    ref = resolve_model("WizardCoder-Python-7B-V1.0")  # a hub id; its card renders chats (with BOS)
    engine = load_engine(ref, "vllm", tensor_parallel_size=2, unknown_option=1)
    assert calls[0]["model"] == ref.location and calls[0]["tensor_parallel_size"] == 2
    assert calls[0]["enable_prefix_caching"] is True  # n samples of a prompt share its KV blocks
    params = SamplingParams(max_tokens=30, temperature=0.5, stop=("END",), seed=11)
    chat = Request(messages=({"role": "user", "content": "def f ( ) :"},), seed=3)
    results = dict(engine.generate([chat, Request(prompt="def f ( ) :")], params))
    prompts, sampling, use_tqdm = calls[1]
    assert use_tqdm is False and len(prompts) == 2
    assert prompts[0]["prompt_token_ids"][0] == tok.bos_token_id and prompts[0]["prompt_token_ids"][1] != tok.bos_token_id
    assert prompts[1]["prompt_token_ids"] == [3, 4, 5, 6, 7]
    assert [p["seed"] for p in sampling] == [3, 11]
    assert sampling[0]["stop"] == ["END"] and sampling[0]["temperature"] == 0.5
    n_chat = len(prompts[0]["prompt_token_ids"])
    assert sampling[0]["max_tokens"] == 40 - n_chat and results[0].warnings  # clipped to the context
    assert sampling[1]["max_tokens"] == 30 and not results[1].warnings
    assert (results[0].text, results[0].finish_reason, results[0].completion_tokens) == ("return 1\n", "stop", 3)
    assert (results[1].finish_reason, results[1].prompt_tokens) == ("length", 5)
    engine.llm.llm_engine = StepEngine(lambda prompt: ["return", " 1", "\n", "END", " more"])
    assert list(engine.stream(Request(prompt="def"), params)) == ["return", " 1", "\n"]
    assert engine.llm.llm_engine.aborted == []


class StepEngine:
    """vLLM's engine loop as a stand-in (``add_request`` / ``step`` / ``abort_request``): one scripted
    token per request and step, cumulative text, vLLM's own stop strings and token limit."""

    def __init__(self, script_for) -> None:
        self.script_for, self.live, self.decoded, self.aborted = script_for, {}, {}, []

    def add_request(self, rid, prompt, params):
        self.live[rid] = (self.script_for(prompt), params, [])
        self.decoded[rid] = 0

    def step(self):
        import types

        outs = []
        for rid, (script, params, done) in list(self.live.items()):
            done.append(script[len(done)])
            self.decoded[rid] += 1
            text = "".join(done)
            stop = next((s for s in params["stop"] or () if s in text), None)
            finished = stop is not None or len(done) == len(script) or len(done) >= params["max_tokens"]
            reason = "stop" if stop is not None or len(done) == len(script) else "length"
            text = text[:text.index(stop)] if stop else text
            outs.append(types.SimpleNamespace(request_id=rid, finished=finished, outputs=[types.SimpleNamespace(
                text=text, token_ids=list(range(len(done))), finish_reason=reason if finished else None)]))
            if finished:
                del self.live[rid]
        return outs

    def abort_request(self, rids):
        self.aborted.extend(rids)
        for rid in rids:
            self.live.pop(rid, None)


def test_vllm_engine_ends_answers_while_decoding_with_the_text_of_a_full_answer_cut(monkeypatch):
    """With stop-after-code / repetition stop, requests go through vLLM's engine loop and are aborted
    the step their text closes the first python block or loops: the text is the whole answer cut
    where every other engine cuts it, and no later token is decoded."""
    import sys
    import types

    from wizardcoder.engines.base import cut_looping
    from wizardcoder.prompting.fences import code_block_end

    class LLM:
        def __init__(self, **kwargs):
            self.llm_engine = None

        def get_tokenizer(self):
            return types.SimpleNamespace()

        def generate(self, *args, **kwargs):
            raise AssertionError("an early end needs the engine loop, not LLM.generate")

    fake = types.ModuleType("vllm")
    fake.LLM, fake.SamplingParams = LLM, lambda **kw: kw
    monkeypatch.setitem(sys.modules, "vllm", fake)
    engine = load_engine(resolve_model("WizardCoder-Python-7B-V1.0"), "vllm")
    monkeypatch.setattr(engine, "_prompt", lambda req, i, params: ([i], params.max_tokens, []))
    code = ["Here:\n", "```", "python\n", "def f():\n", "    return 1\n", "``", "`\n", "That is all.", " More."]
    loop = ["x = 1 + 2 + 3 + 4 + 5 + 6 + 7 + 8 + 9 + 10 + 11 + 12\n"] * 40
    plain = ["just ", "text"]
    scripts = [code, loop, plain]
    engine.llm.llm_engine = steps = StepEngine(lambda prompt: scripts[prompt["prompt_token_ids"][0]])
    params = SamplingParams(max_tokens=64, stop_after_code=True, repetition_stop=True)
    got = dict(engine.generate([Request(prompt="a"), Request(prompt="b"), Request(prompt="c")], params))
    full = "".join(code)
    assert got[0].text == full[:code_block_end(full)] and got[0].finish_reason == "stop"
    assert steps.decoded[sorted(steps.decoded)[0]] == 7  # aborted at the closing fence: 2 tokens never decoded
    text, reason = cut_looping("".join(loop), "length", params)
    assert (got[1].text, got[1].finish_reason) == (text, reason) and reason == "repetition"
    assert steps.decoded[sorted(steps.decoded)[1]] < 40
    assert (got[2].text, got[2].finish_reason) == ("just text", "stop")
    assert len(steps.aborted) == 2 and not steps.live


# -- the real model ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def engine():
    for module in ("torch", "transformers", "gguf"):
        pytest.importorskip(module)
    try:
        ref = resolve_model("default")
    except WizardCoderError as exc:
        pytest.skip(str(exc))
    import torch

    threads = torch.get_num_threads()
    # One thread: on a 2-core runner shared with other work, two spinning threads run several times slower.
    with load_engine(ref, "transformers", device="cpu", batch_size=8, threads=1) as eng:
        yield eng
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def baseline(engine):
    """The greedy completion of CODE, alone in its batch."""
    return dict(engine.generate([CODE], GREEDY))[0]


@pytest.mark.slow
def test_greedy_is_deterministic_and_hits_length(engine, baseline):
    assert baseline.text.strip()
    assert baseline.prompt_tokens == len(engine.prompt_ids(CODE)) > 0
    assert (baseline.finish_reason, baseline.completion_tokens) == ("length", GREEDY.max_tokens)
    again = dict(engine.generate([CODE], GREEDY))[0]
    assert again.text == baseline.text
    short = dict(engine.generate([CODE], SamplingParams(max_tokens=3)))[0]
    assert (short.finish_reason, short.completion_tokens) == ("length", 3)
    assert baseline.text.startswith(short.text)


@pytest.mark.slow
def test_left_padded_batch_matches_batch_of_one(engine, baseline):
    results = dict(engine.generate([CHAT, CODE, QUESTION], GREEDY))
    assert sorted(results) == [0, 1, 2]
    assert results[1].text == baseline.text
    assert results[1].prompt_tokens == baseline.prompt_tokens
    assert all(results[i].text.strip() for i in (0, 2))
    assert results[0].prompt_tokens > results[1].prompt_tokens


@pytest.mark.slow
def test_stop_string_is_trimmed(engine, baseline):
    text = baseline.text
    middle = len(text) // 2
    stop = text[middle:middle + 3]  # observed at runtime: wherever it first occurs, output ends before it
    expected = text[: text.find(stop)]
    out = dict(engine.generate([CODE], SamplingParams(max_tokens=GREEDY.max_tokens, stop=(stop,))))[0]
    assert out.text == expected
    assert out.finish_reason == "stop"
    assert 0 < out.completion_tokens < baseline.completion_tokens


@pytest.mark.slow
def test_chat_uses_the_models_own_template(engine):
    tok = engine.tokenizer
    assert tok.chat_template
    msgs = list(CHAT.messages)
    from wizardcoder.engines.render import request_text

    text = request_text(tok, CHAT, engine.ref.card)
    assert text.startswith("<|im_start|>system\n") and text.endswith("<|im_start|>assistant\n")
    assert text == tok.apply_chat_template(msgs, tokenize=False, add_generation_prompt=True)
    ids = engine.prompt_ids(CHAT)
    start = tok.convert_tokens_to_ids("<|im_start|>")
    assert ids[0] == start and ids[1] != start  # the template's own first token, not doubled


@pytest.mark.slow
def test_stream_concatenates_to_generate(engine, baseline):
    pieces = list(engine.stream(CODE, GREEDY))
    assert len(pieces) > 1
    assert "".join(pieces) == baseline.text
    stop = baseline.text[len(baseline.text) // 2:][:3]
    cut = "".join(engine.stream(CODE, SamplingParams(max_tokens=GREEDY.max_tokens, stop=(stop,))))
    assert cut == baseline.text[: baseline.text.find(stop)]


@pytest.mark.slow
def test_closing_a_stream_stops_generation(engine):
    stream = engine.stream(CODE, SamplingParams(max_tokens=2000))
    first = next(stream)
    assert first
    start = time.monotonic()
    stream.close()
    assert time.monotonic() - start < 10  # 2000 tokens would take minutes on CPU
    assert not any(t.name == "wizardcoder-hf-stream" and t.is_alive() for t in threading.enumerate())


@pytest.mark.slow
def test_context_overflow_clips_or_refuses(engine, monkeypatch):
    n = len(engine.prompt_ids(CODE))
    monkeypatch.setattr(engine, "max_positions", n + 4)
    out = dict(engine.generate([CODE], GREEDY))[0]
    assert out.completion_tokens == 4 and out.finish_reason == "length"
    assert out.warnings and "clipped from 16 to 4" in out.warnings[0]
    with pytest.raises(WizardCoderError, match="request 1"):
        list(engine.generate([CODE, CHAT], GREEDY))


@pytest.mark.slow
def test_seeded_sampling_does_not_depend_on_the_batch(engine):
    params = SamplingParams(max_tokens=8, temperature=0.8, top_p=0.95)
    alone = dict(engine.generate([Request(prompt=CODE.prompt, seed=7)], params))[0]
    mixed = dict(engine.generate([Request(messages=QUESTION.messages, seed=3), Request(prompt=CODE.prompt, seed=7)],
                                 params))
    assert mixed[1].text == alone.text
    assert alone.completion_tokens > 0


@pytest.mark.slow
def test_stop_after_code_ends_rows_at_their_first_closed_block(engine):
    from wizardcoder.prompting.fences import code_block_end

    ask = Request(messages=({"role": "user", "content": "Write a Python function that reverses a string."},))
    full = dict(engine.generate([ask], SamplingParams(max_tokens=120)))[0]
    end = code_block_end(full.text)
    assert end is not None and end < len(full.text), full.text  # prose follows the code in this answer
    early = dict(engine.generate([ask, CODE], SamplingParams(max_tokens=120, stop_after_code=True)))
    assert early[0].text == full.text[:end] and early[0].finish_reason == "stop"
    assert early[0].completion_tokens < full.completion_tokens
    assert early[1].text.strip()  # the other row of the batch ran on, untouched


@pytest.mark.slow
def test_repetition_stop_ends_a_looping_row_where_the_text_says(engine):
    from wizardcoder.prompting.repetition import repetition_cut

    looping = Request(prompt="x = x + 1\n" * 20)  # the model goes on repeating the line
    full = dict(engine.generate([looping], SamplingParams(max_tokens=240)))[0]  # > 320 characters
    end = repetition_cut(full.text)
    assert end is not None, full.text
    cut = dict(engine.generate([looping, CODE], SamplingParams(max_tokens=240, repetition_stop=True)))
    assert cut[0].text == full.text[:end] and cut[0].finish_reason == "repetition"
    assert cut[0].completion_tokens < full.completion_tokens
    assert cut[1].text.strip()  # the other row of the batch, untouched
    streamed = "".join(engine.stream(looping, SamplingParams(max_tokens=240, repetition_stop=True)))
    assert streamed == full.text[:end]
