from wizardcoder.harness.oracles import Comparator


def test_exact_then_tolerance_with_type_and_length_checks():
    c = Comparator("humaneval", "f", 0.0)
    assert c.check(3, 3, [])
    assert c.check(2, 2.0, [])  # == first, as evalplus
    assert not c.check(3, 4, [])
    c = Comparator("humaneval", "f", 1e-3)
    assert c.check(1.0005, 1.0, [])
    assert not c.check(1.01, 1.0, [])
    assert not c.check([1.0005], (1.0,), [])  # type differs
    assert not c.check([1.0, 2.0], [1.0], [])  # length differs


def test_float_outputs_get_1e6_and_the_switch_sticks_for_the_phase():
    c = Comparator("humaneval", "f", 0.0)
    assert c.check(0.1 + 0.2, 0.3, [])  # float expected, atol 0 -> 1e-6
    assert not c.check(0.31, 0.3, [])
    fresh = Comparator("humaneval", "f", 0.0)
    assert not fresh.check([1, 2], [1, 3], [])
    c.observe_exact(True)
    assert c.atol == 1e-6


def test_find_zero_is_judged_by_the_root_not_by_equality():
    c = Comparator("humaneval", "find_zero", 1e-4)
    xs = [-6, 11, -6, 1]  # roots 1, 2, 3
    assert c.check(2.0, 1.0, [xs])
    assert c.check(3.0000001, 1.0, [xs])
    assert not c.check(2.5, 2.5, [xs])  # equal to "expected" but not a root


def test_mbpp_special_oracles():
    assert Comparator("mbpp", "similar_elements", 0).check((5, 4), (4, 5), [])
    assert not Comparator("mbpp", "similar_elements", 0).check((5,), (4, 5), [])
    c = Comparator("mbpp", "text_match_three", 0)
    assert c.check("match", True, [])  # not None
    assert not c.check(None, True, [])
    assert c.check(False, False, [])
    assert Comparator("mbpp", "are_equivalent", 0).check(False, True, [])
    assert Comparator("mbpp", "sum_div", 0).check(0, 7, [])
    assert Comparator("mbpp", "digit_distance_nums", 0).check(7, 0, [123, 256])  # 1 + 3 + 3
    assert not Comparator("mbpp", "other", 0).check((5, 4), (4, 5), [])
