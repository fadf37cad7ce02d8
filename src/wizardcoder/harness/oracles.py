"""Is this output right? The EvalPlus comparison rules, applied in the harness process.

Order (as in evalplus): exact ``==``; then the task's special oracle; then, for outputs that
are not exactly equal and a non-zero tolerance, same type, same length and
``numpy.allclose(rtol=1e-7, atol)``. A float expected output with ``atol == 0`` switches the
tolerance to 1e-6 for the rest of the phase (evalplus keeps that switch for later inputs too).

Special oracles: HumanEval/32 checks ``|poly(xs, x)| <= atol`` (done right: the canonical
solution passes; evalplus 0.3.1 forgets to count such a pass); MBPP+ set-equality tasks; tasks
whose expected output only records "is not None"; and four MBPP+ tasks with a second accepted
answer.
"""

from __future__ import annotations

import math
from typing import Any

# MBPP+ tasks (by entry point) whose expected output records only whether the output is not None.
MBPP_NOT_NONE = frozenset({"check_str", "text_match_three", "text_starta_endb"})
# MBPP+ tasks compared as sets.
MBPP_SET_EQ = frozenset({
    "similar_elements", "find_char_long", "common_in_nested_lists", "extract_singly",
    "larg_nnum", "intersection_array", "find_dissimilar", "Diff",
})


def _poly(xs: list, x: float) -> float:
    return sum(coeff * math.pow(x, i) for i, coeff in enumerate(xs))


def _surface_area(base_edge: float, height: float) -> int:  # Mbpp/581: height = apex height
    slant = math.sqrt((base_edge / 2) ** 2 + height**2)
    return round(base_edge**2 + 4 * (base_edge * slant) / 2)


def _digit_distance(num1: int, num2: int) -> int:  # Mbpp/558: pad the shorter number
    a, b = str(num1), str(num2)
    width = max(len(a), len(b))
    return sum(abs(int(x) - int(y)) for x, y in zip(a.zfill(width), b.zfill(width)))


def is_floats(x: Any) -> bool:
    if isinstance(x, float):
        return True
    if isinstance(x, (list, tuple)) and x:
        return all(isinstance(i, float) for i in x)
    return False


class Comparator:
    """Compares one phase's outputs in order, keeping evalplus's tolerance state."""

    def __init__(self, family: str, entry_point: str, atol: float) -> None:
        self.family = family  # "humaneval" or "mbpp"
        self.entry_point = entry_point
        self.atol = atol
        # Only "is not None" oracles can judge an output the codec could not carry.
        self.accepts_opaque = family == "mbpp" and entry_point in MBPP_NOT_NONE | {"are_equivalent"}

    def observe_exact(self, exp_is_floats: bool) -> None:
        """An exact match judged without parsing: keep the tolerance state as ``check`` would."""
        if self.atol == 0 and exp_is_floats:
            self.atol = 1e-6

    def check(self, out: Any, exp: Any, args: list) -> bool:
        try:
            return self._check(out, exp, args)
        except Exception:
            return False

    def _check(self, out: Any, exp: Any, args: list) -> bool:
        ep = self.entry_point
        exact = bool(out == exp)
        if self.family == "mbpp":
            if ep == "are_equivalent":  # Mbpp/164: any answer is accepted
                exact = True
            elif ep == "sum_div":  # Mbpp/295
                exact = exact or out == 0
            elif ep == "surface_Area":  # Mbpp/581
                exact = exact or abs(out - _surface_area(*args)) <= self.atol
            elif ep == "digit_distance_nums":  # Mbpp/558
                exact = exact or out == _digit_distance(*args)
            elif ep in MBPP_SET_EQ:
                exact = set(out) == set(exp)
            elif ep in MBPP_NOT_NONE:
                exact = out == exp if isinstance(out, bool) else exp == (out is not None)
        if self.family == "humaneval" and ep == "find_zero":
            (xs,) = args  # find_zero(xs): any other arity raises, and ``check`` answers False
            return bool(abs(_poly(xs, out)) <= self.atol)
        if self.atol == 0 and is_floats(exp):
            self.atol = 1e-6
        if not exact and self.atol != 0:
            if type(out) is not type(exp):
                return False
            if isinstance(exp, (list, tuple)) and len(out) != len(exp):
                return False
            import numpy as np  # imported on the first tolerance check: the command line starts without it

            return bool(np.allclose(out, exp, rtol=1e-07, atol=self.atol))
        return exact
