from wizardcoder.harness.datasets import Task
from wizardcoder.harness.prompts import build_instruction, build_prompt
from wizardcoder.prompting import format_prompt


def test_card_template_exact():
    assert format_prompt("Do X.") == (
        "Below is an instruction that describes a task. Write a response that appropriately completes "
        "the request.\n\n### Instruction:\nDo X.\n\n### Response:"
    )
    with_input = format_prompt("Do X.", "data")
    assert with_input.endswith("### Instruction:\nDo X.\n\n### Input:\ndata\n\n### Response:")


def test_benchmark_instructions():
    he = Task("HumanEval/0", "f", "def f():\n    \"\"\"doc\"\"\"\n", "")
    assert build_instruction(he, "humaneval") == "Create a Python script for this problem:\n" + he.prompt
    assert build_prompt(he, "humaneval+").endswith(he.prompt + "\n\n### Response:")
    mbpp = Task("Mbpp/11", "f", "Write f.", "", examples=["assert f(1) == 2", "assert f(2) == 3"])
    assert build_instruction(mbpp, "mbpp") == (
        "Create a Python script for this problem:\nWrite f.\nTest examples:\nassert f(1) == 2\nassert f(2) == 3"
    )
    plus = Task("Mbpp/2", "f", "Write f.", "", examples=["assert f(1) == 2"])
    assert build_instruction(plus, "mbpp+") == (
        "Write f.\nYour code should satisfy the following assertion:\n```python\nassert f(1) == 2\n```"
    )
