"""The repetition check: which tails count as loops, the same cut while decoding as on the whole text,
on the real default model in llama.cpp, and new settings that leave earlier runs' records alone."""

from __future__ import annotations

import dataclasses
import json
import random
from pathlib import Path

import pytest

from wizardcoder.engines import SamplingParams, load_engine, resolve_model
from wizardcoder.engines.base import cut_looping
from wizardcoder.engines.spec import EngineSpec
from wizardcoder.harness.datasets import load_dataset
from wizardcoder.harness.prompts import build_instruction
from wizardcoder.prompting.formats import make_request
from wizardcoder.prompting.repetition import RepetitionGuard, RepetitionRule, loops, repetition_cut
from wizardcoder.recipe import load
from wizardcoder.recipe.stages import build
from wizardcoder.settings import record

ROOT = Path(__file__).resolve().parents[1]

LOOP = "Here is the answer.\n\n" + "The above code is not correct.\n\n" * 30
GRADES = "def grade(gpa):\n" + "".join(
    f"    {'if' if i == 0 else 'elif'} gpa > {4 - i * 0.3:.1f}:\n        return '{c}'\n"
    for i, c in enumerate(["A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D", "D-"])) + "    return 'E'\n"
TESTS = "".join(f"assert add({i}, {i + 1}) == {2 * i + 1}\n" for i in range(12))
COUNTING = "".join(f"    fib4({i}) -> {i * 3 % 17}\n" for i in range(40))


def test_a_repeated_block_is_a_loop_and_the_cut_is_a_prefix_at_a_line_end() -> None:
    end = repetition_cut(LOOP)
    assert end is not None and LOOP.startswith(LOOP[:end]) and LOOP[end - 1] == "\n"
    assert 320 <= end < 420  # as soon as the repeating tail covers min_span characters
    assert loops(LOOP[:end]) and not loops(LOOP[:end - 31])


def test_code_with_similar_lines_is_not_a_loop() -> None:
    for text in (GRADES, TESTS, "```python\n" + GRADES + "```\n\n" + TESTS):
        assert repetition_cut(text) is None, text


def test_numbers_aside_repetition_counts_only_when_asked() -> None:
    assert repetition_cut(COUNTING) is not None
    assert repetition_cut(COUNTING, RepetitionRule(number_repeats=0)) is None
    row = "[0, 0, 0, 0, 0, 0, 0, 0], " * 40  # one long line: checked every line_chars characters
    end = repetition_cut(row)
    assert end is not None and end % 256 == 0


def test_the_guard_cuts_where_the_whole_text_says_whatever_the_pieces() -> None:
    rng = random.Random(7)
    texts = [LOOP, GRADES, TESTS, COUNTING, "x" * 5000, "```python\n" + "print(1)\n" * 200, "é中\n" * 400]
    for text in texts:
        for _ in range(20):
            guard, i, got = RepetitionGuard(), 0, None
            while i < len(text):
                k = rng.randint(1, 40)
                if (keep := guard.feed(text[i:i + k])) is not None:
                    got = i + keep
                    break
                i += k
            assert got == repetition_cut(text), text[:40]


def test_engines_that_get_whole_answers_cut_the_same_text() -> None:
    on, off = SamplingParams(repetition_stop=True), SamplingParams()
    end = repetition_cut(LOOP)
    assert cut_looping(LOOP, "length", on) == (LOOP[:end], "repetition")
    assert cut_looping(LOOP, "length", off) == (LOOP, "length")
    assert cut_looping(GRADES, "stop", on) == (GRADES, "stop")


def test_rule_settings_are_checked() -> None:
    with pytest.raises(Exception, match="min_repeats"):
        RepetitionRule(min_repeats=1)


def test_records_and_fingerprints_change_with_the_check_on_and_not_when_set_back(tmp_path: Path) -> None:
    """The check is on by default since the full runs moved no verdict; a record keeps it only while it is
    on (what runs before it did not do), so a run made before it existed is found again with it off."""
    params = SamplingParams(max_tokens=64)
    assert "repetition_stop" not in record(params)  # the engines' own default: off
    assert record(params) == {k: v for k, v in dataclasses.asdict(params).items() if k != "repetition_stop"}
    assert record(dataclasses.replace(params, repetition_stop=True))["repetition_stop"] is True
    assert EngineSpec().repetition_stop is True and record(EngineSpec())["repetition_stop"] is True
    assert "repetition_stop" not in record(EngineSpec(repetition_stop=False))
    # The smoke recipe: with the check off, every stage's fingerprint is the one computed before the
    # setting existed (runs made then are still found done); with the default, the stages that
    # generate change (their answers do), the others not.
    off = (ROOT / "recipes" / "smoke.yaml").read_text().replace(
        "  max_tokens: 256\n", "  max_tokens: 256\n  repetition_stop: false\n").replace(
        "  max_tokens: 64", "  max_tokens: 64\n  repetition_stop: false")
    (tmp_path / "smoke.yaml").write_text(off)
    (tmp_path / "smoke-seeds.jsonl").write_text((ROOT / "recipes" / "smoke-seeds.jsonl").read_text())
    before = {s.name: s.fingerprint[:16] for s in build(load(tmp_path / "smoke.yaml"))}
    assert before == {"answer-seeds": "9688b3f23f177354", "evolve": "59dbede5c2b18dde",
                      "train-evolved": "b1dfe9e5a8f4dfce", "eval-base-humaneval": "3ed3b2899d7c8e49",
                      "eval-evolved-humaneval": "371e2ad4147a3204"}
    now = {s.name: s.fingerprint[:16] for s in build(load(ROOT / "recipes" / "smoke.yaml"))}
    assert now.keys() == before.keys() and all(now[k] != before[k] for k in now)  # all downstream of the teacher


def test_the_default_model_loops_and_llamacpp_ends_it_where_the_text_says() -> None:
    """HumanEval/147 in the card's template: SmolLM2-135M repeats one sentence until the limit."""
    task = load_dataset("humaneval").tasks["HumanEval/147"]
    request = make_request(build_instruction(task, "humaneval"), "wizardcoder")
    with load_engine(resolve_model("default"), "llamacpp", parallel=1, n_ctx=1024) as engine:
        (_, full), = engine.generate([request], SamplingParams(max_tokens=160))
        end = repetition_cut(full.text)
        assert end is not None, f"the model no longer loops on this prompt: {full.text!r}"
        (_, cut), = engine.generate([request], SamplingParams(max_tokens=160, repetition_stop=True))
        streamed = "".join(engine.stream(request, SamplingParams(max_tokens=160, repetition_stop=True)))
    assert cut.finish_reason == "repetition" and full.finish_reason == "length"
    assert cut.text == full.text[:end] == streamed
    assert cut.completion_tokens < full.completion_tokens


def test_the_summary_counts_how_answers_ended(tmp_path: Path) -> None:
    from wizardcoder import evaluate

    rows = [{"task_id": "HumanEval/0", "response": "```python\ndef f(:\n```", "finish_reason": "repetition"},
            {"task_id": "HumanEval/1", "response": "no code", "finish_reason": "length"},
            {"task_id": "HumanEval/2", "response": "no code", "finish_reason": "repetition"}]
    samples = tmp_path / "samples.jsonl"
    samples.write_text("".join(json.dumps(r) + "\n" for r in rows))
    summary = evaluate("humaneval", samples=samples, output=str(tmp_path / "eval"), partial=True)
    assert summary.data["finish_reasons"] == {"repetition": 2, "length": 1}
