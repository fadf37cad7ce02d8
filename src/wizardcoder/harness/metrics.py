"""pass@k with the unbiased estimator of Chen et al. (2021)."""

from __future__ import annotations

from collections.abc import Sequence

KS = (1, 10, 100)


def pass_at_k(n: int, c: int, k: int) -> float:
    """1 - C(n-c, k) / C(n, k), computed as a stable product."""
    if n < k:
        raise ValueError(f"pass@{k} needs at least {k} samples, got {n}")
    if n - c < k:
        return 1.0
    import numpy as np  # here, not at the top: the command line starts without numpy

    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def mean_pass_at_k(totals: Sequence[int], corrects: Sequence[int], ks: Sequence[int] = KS) -> dict[str, float]:
    """Mean over tasks, for each k that every task has enough samples for."""
    if not totals:
        return {}
    import numpy as np

    return {
        f"pass@{k}": float(np.mean([pass_at_k(n, c, k) for n, c in zip(totals, corrects)]))
        for k in ks
        if min(totals) >= k
    }
