import pytest

from wizardcoder.harness.metrics import mean_pass_at_k, pass_at_k


def test_pass_at_k_matches_hand_computed_values():
    assert pass_at_k(5, 2, 1) == pytest.approx(2 / 5)
    # 1 - C(3,2)/C(5,2) = 1 - 3/10
    assert pass_at_k(5, 2, 2) == pytest.approx(0.7)
    # 1 - C(8,3)/C(10,3) = 1 - 56/120
    assert pass_at_k(10, 2, 3) == pytest.approx(1 - 56 / 120)
    assert pass_at_k(10, 0, 5) == 0.0
    assert pass_at_k(10, 10, 10) == 1.0
    assert pass_at_k(200, 1, 100) == pytest.approx(0.5)


def test_mean_reports_only_reachable_k():
    scores = mean_pass_at_k([10, 10], [0, 5])
    assert set(scores) == {"pass@1", "pass@10"}
    assert scores["pass@1"] == pytest.approx((0 + 0.5) / 2)
    assert scores["pass@10"] == pytest.approx(0.5)
    assert set(mean_pass_at_k([1, 20], [1, 0])) == {"pass@1"}
    with pytest.raises(ValueError):
        pass_at_k(3, 1, 5)
