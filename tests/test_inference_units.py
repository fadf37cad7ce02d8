"""Stop handling, prompt formats, model resolution and the prompts reader: no model needed."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from wizardcoder.engines.batch import read_prompts
from wizardcoder.engines.resolve import resolve_model
from wizardcoder.errors import WizardCoderError
from wizardcoder.prompting import StopScanner, format_prompt, trim_at_stop
from wizardcoder.prompting.formats import default_stops, make_request, resolve_format
from wizardcoder.prompting.registry import DEFAULT_MODEL, FAMILY, find


def _stream(text: str, stops: list[str], cuts: list[int]) -> tuple[str, bool]:
    scanner = StopScanner(stops)
    out, prev = [], 0
    for c in [*cuts, len(text)]:
        out.append(scanner.feed(text[prev:c]))
        prev = c
        if scanner.stopped:
            break
    out.append(scanner.flush())
    return "".join(out), scanner.stopped


def test_stop_scanner_matches_trim_at_any_split() -> None:
    rng = random.Random(0)
    stops = ["</s>", "<|endoftext|>", "\n### Instruction:"]
    for _ in range(300):
        parts = [rng.choice(["def f():", " return 1", "<", "/", "s", ">", "</", "s>", "\n###", " Instruction:", "x"])
                 for _ in range(rng.randint(0, 12))]
        text = "".join(parts)
        cuts = sorted(rng.sample(range(len(text) + 1), k=min(len(text), rng.randint(0, 6))))
        assert _stream(text, stops, cuts) == trim_at_stop(text, stops)


def test_stop_split_over_many_pieces_is_never_shown() -> None:
    scanner = StopScanner(["</s>"])
    shown = [scanner.feed(p) for p in ["print(1)", "<", "/", "s", ">", "more"]]
    assert shown == ["print(1)", "", "", "", "", ""]
    assert scanner.stopped
    # a partial match that turns out not to be the stop is released
    scanner = StopScanner(["</s>"])
    assert scanner.feed("a </") == "a "
    assert scanner.feed("div>") == "</div>"
    assert scanner.flush() == ""


def test_registry_and_formats() -> None:
    assert len(FAMILY) == 7
    card = find("WizardLMTeam/WizardCoder-Python-34B-V1.0")
    assert card is not None and card.stop == "</s>" and card.humaneval == 73.2 and card.adds_bos
    starcoder = find("wizardcoder-15b-v1.0")
    assert starcoder is not None and starcoder.stop == "<|endoftext|>" and not starcoder.adds_bos
    assert find("wizardcoder-python-7b-v1.0.Q4_K_M.gguf") is find("WizardCoder-Python-7B-V1.0")
    assert find("SmolLM2-135M-Instruct.Q4_1.gguf") is DEFAULT_MODEL
    assert resolve_format("auto", DEFAULT_MODEL) == "chat"
    assert resolve_format("auto", card) == "wizardcoder"
    assert resolve_format("auto", None) == "wizardcoder"
    assert default_stops(card) == ("</s>",)
    assert make_request("Sort a list.", "wizardcoder").prompt == format_prompt("Sort a list.")
    assert make_request("Sort a list.", "chat").messages == ({"role": "user", "content": "Sort a list."},)
    assert make_request("Sort", "raw", input="[3, 1]").prompt == "Sort\n\n[3, 1]"
    with pytest.raises(ValueError):
        resolve_format("bogus", None)


def test_resolve_model(tmp_path: Path) -> None:
    ref = resolve_model("WizardCoder-15B-V1.0")
    assert (ref.kind, ref.location, ref.default_engine()) == ("hub", "WizardLMTeam/WizardCoder-15B-V1.0", "transformers")
    assert resolve_model("org/some-model").kind == "hub"
    gguf = tmp_path / "wizardcoder-python-13b-v1.0.Q4_K_M.gguf"
    gguf.write_bytes(b"GGUF")
    ref = resolve_model(str(gguf))
    assert ref.kind == "gguf" and ref.card is not None and ref.card.name == "WizardCoder-Python-13B-V1.0"
    assert resolve_model(str(tmp_path)).location == str(gguf)  # a dir holding one GGUF
    remote = resolve_model("my-model", base_url="http://127.0.0.1:1/v1")
    assert (remote.kind, remote.default_engine()) == ("remote", "openai")
    for bad, words in [("nonsense", "unknown model 'nonsense'"), ("./missing.gguf", "no such model file"),
                       (str(tmp_path / "x.bin"), "no such model file")]:
        with pytest.raises(WizardCoderError, match=words):
            resolve_model(bad)
    with pytest.raises(WizardCoderError, match="unknown engine"):
        resolve_model("default", engine="nope")


def test_read_prompts_rows_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "p.jsonl"
    good.write_text("\n".join(json.dumps(r) for r in [
        {"task_id": "a", "instruction": "Add two numbers.", "extra": 1},
        {"id": 7, "prompt": "def f():"},
        {"messages": [{"role": "user", "content": "hi"}]},
    ]) + "\n")
    jobs = read_prompts(good, "wizardcoder")
    assert [j.key for j in jobs] == ["a", "7", "3"]
    assert jobs[0].request.prompt == format_prompt("Add two numbers.") and jobs[0].fields == {"task_id": "a", "extra": 1}
    assert jobs[1].request.prompt == "def f():"
    assert jobs[2].request.messages == ({"role": "user", "content": "hi"},)
    cases = [
        ('{"task_id": "a", "instruction": ""}', ":1: field 'instruction': must be a non-empty string"),
        ('{"task_id": "a", "text": "x"}', ":1: field 'prompt': missing"),
        ('{"id": 1, "prompt": "x"}\n{"id": 1, "prompt": "y"}', ":2: field 'id': duplicate id '1'"),
        ('{"messages": [{"role": "user"}]}', ":1: field 'messages'"),
        ('[1, 2]', ":1: expected a JSON object"),
        ('{"prompt": "x"}\n{oops', ":2:"),
    ]
    for text, msg in cases:
        bad = tmp_path / "bad.jsonl"
        bad.write_text(text + "\n")
        with pytest.raises(WizardCoderError) as info:
            read_prompts(bad, "chat")
        assert str(info.value).startswith(str(bad)) and msg in str(info.value), str(info.value)


def test_default_output_dir_names_only_what_differs() -> None:
    from wizardcoder.harness.generate import default_output

    assert str(default_output("humaneval+", "SmolLM2-135M-Instruct", "chat", "chat", 0.0, 1)) == \
        "wizardcoder-results/humanevalplus/SmolLM2-135M-Instruct"
    assert str(default_output("mbpp", "WizardCoder-15B-V1.0", "chat", "wizardcoder", 0.2, 20)) == \
        "wizardcoder-results/mbpp/WizardCoder-15B-V1.0-chat-t0.2-n20"
