from wizardcoder.harness.postprocess import longest_parseable, sanitize, wizardcoder_extract

RESPONSE = """Here is the code:\r
```python
import math

def area(r):
    return math.pi * r * r

if __name__ == "__main__":
    print(area(2))
```
Hope it helps. ```python
def other(): pass
```"""


def test_wizardcoder_rules_keep_the_first_block_and_cut_the_main_guard():
    code = wizardcoder_extract(RESPONSE, "humaneval")
    assert code == "import math\n\ndef area(r):\n    return math.pi * r * r"
    assert "\r" not in code


def test_wizardcoder_rules_cut_examples_and_echoed_asserts():
    text = "def f(x):\n    assert x > 0\n    return x\n\n# Example usage\nprint(f(1))"
    assert wizardcoder_extract(text, "humaneval") == "def f(x):\n    assert x > 0\n    return x"
    text = "def f(x):\n    assert x\n    return x\nassert f(1) == 1\nassert f(2) == 2"
    assert wizardcoder_extract(text, "mbpp+") == "def f(x):\n    assert x\n    return x"
    assert wizardcoder_extract("def f():\n    return 1\n# Test examples\nf()", "mbpp") == "def f():\n    return 1"
    assert wizardcoder_extract("no code at all", "humaneval") == "no code at all"


def test_sanitizer_keeps_imports_and_what_the_entry_point_needs():
    text = (
        "Sure! Here it is\n```python\nimport os\nfrom math import sqrt\nLIMIT = 10\n"
        "def helper(x):\n    return sqrt(x) + LIMIT\n\ndef unused():\n    return 1\n\n"
        "def solve(x):\n    return helper(x)\n\nprint(solve(4))\n```\nDone."
    )
    code = sanitize(text, "solve")
    assert code.splitlines()[:2] == ["import os", "from math import sqrt"]
    assert "def helper" in code and "LIMIT = 10" in code and "def solve" in code
    assert "unused" not in code and "print(" not in code


def test_longest_parseable_skips_prose():
    text = "Here you go:\ndef f(x):\n    return x + 1\nThis adds one, isn't it nice?"
    assert longest_parseable(text) == "def f(x):\n    return x + 1"
