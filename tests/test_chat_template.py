"""The card's format as a chat template: identical to ``format_prompt`` for one turn, and rendered
the same by our renderer and by transformers' ``apply_chat_template``."""

from __future__ import annotations

import pytest

from wizardcoder.prompting import CHAT_TEMPLATE, format_prompt, render_chat, wizardcoder_chat_template
from wizardcoder.prompting.chat_template import CHAT_TEMPLATE_WITH_BOS, TemplateError
from wizardcoder.prompting.template import PREAMBLE

USER = "Write a Python function that reverses a string."
MULTI = [
    {"role": "user", "content": "Reverse a string."},
    {"role": "assistant", "content": "def rev(s):\n    return s[::-1]"},
    {"role": "user", "content": "Now without slicing."},
]


def test_one_user_turn_is_the_card_prompt():
    assert render_chat(CHAT_TEMPLATE, [{"role": "user", "content": USER}], eos_token="</s>") == format_prompt(USER)
    with_bos = render_chat(CHAT_TEMPLATE_WITH_BOS, [{"role": "user", "content": USER}], bos_token="<s>", eos_token="</s>")
    assert with_bos == "<s>" + format_prompt(USER)
    assert wizardcoder_chat_template(True) == CHAT_TEMPLATE_WITH_BOS
    assert wizardcoder_chat_template(False) == CHAT_TEMPLATE


def test_multi_turn_and_system():
    text = render_chat(CHAT_TEMPLATE, MULTI, eos_token="</s>")
    assert text == (
        PREAMBLE
        + "\n\n### Instruction:\nReverse a string.\n\n### Response:"
        + "def rev(s):\n    return s[::-1]</s>"
        + "\n\n### Instruction:\nNow without slicing.\n\n### Response:"
    )
    system = render_chat(CHAT_TEMPLATE, [{"role": "system", "content": "Be terse."}, {"role": "user", "content": "x"}])
    assert system == "Be terse.\n\n### Instruction:\nx\n\n### Response:"
    no_prompt = render_chat(CHAT_TEMPLATE, [{"role": "user", "content": "x"}], add_generation_prompt=False)
    assert no_prompt == PREAMBLE + "\n\n### Instruction:\nx"


def test_bad_roles_are_refused():
    with pytest.raises(TemplateError, match="roles must be"):
        render_chat(CHAT_TEMPLATE, [{"role": "tool", "content": "x"}])


@pytest.mark.parametrize("template", [CHAT_TEMPLATE, CHAT_TEMPLATE_WITH_BOS])
@pytest.mark.parametrize("messages", [[{"role": "user", "content": USER}], MULTI,
                                      [{"role": "system", "content": "Be terse."}, *MULTI]])
def test_transformers_renders_the_same(template, messages):
    pytest.importorskip("transformers")
    tokenizers = pytest.importorskip("tokenizers")
    from transformers import PreTrainedTokenizerFast

    vocab = {"<unk>": 0, "<s>": 1, "</s>": 2}
    tok = PreTrainedTokenizerFast(tokenizer_object=tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab, unk_token="<unk>")),
                                  bos_token="<s>", eos_token="</s>", unk_token="<unk>")
    theirs = tok.apply_chat_template(messages, chat_template=template, tokenize=False, add_generation_prompt=True)
    assert theirs == render_chat(template, messages, bos_token="<s>", eos_token="</s>", add_generation_prompt=True)
