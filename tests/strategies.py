"""Hypothesis strategies shared by the tests: joint pmfs with axes as variables."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp


@st.composite
def joint_pmfs(draw, min_vars: int = 1, max_vars: int = 4, max_size: int = 3, sparse: bool = True) -> np.ndarray:
    """A joint pmf with ``min_vars..max_vars`` axes of size 1..max_size, some cells exactly zero."""
    shape = tuple(draw(st.lists(st.integers(1, max_size), min_size=min_vars, max_size=max_vars)))
    weights = draw(hnp.arrays(np.float64, shape, elements=st.floats(0.0, 1.0, allow_nan=False, allow_subnormal=False)))
    if sparse:
        zero = draw(hnp.arrays(np.bool_, shape))
        weights = np.where(zero, 0.0, weights)
    if weights.sum() < 1e-6:
        weights = np.ones(shape)
    return weights / weights.sum()


@st.composite
def sequence_pmfs(draw, max_n: int = 3, max_size: int = 2) -> tuple[np.ndarray, tuple[int, ...], tuple[int, ...]]:
    """A joint pmf of interleaved sequences (X1, Y1, ..., Xn, Yn) and the axes of X and Y."""
    n = draw(st.integers(1, max_n))
    sizes = [draw(st.integers(1, max_size)) for _ in range(2 * n)]
    weights = draw(hnp.arrays(np.float64, tuple(sizes), elements=st.floats(0.0, 1.0, allow_nan=False)))
    zero = draw(hnp.arrays(np.bool_, tuple(sizes)))
    weights = np.where(zero, 0.0, weights)
    if weights.sum() < 1e-6:
        weights = np.ones(tuple(sizes))
    return weights / weights.sum(), tuple(range(0, 2 * n, 2)), tuple(range(1, 2 * n, 2))


def random_pmf(rng: np.random.Generator, shape: tuple[int, ...], concentration: float = 0.5) -> np.ndarray:
    return rng.dirichlet(np.full(int(np.prod(shape)), concentration)).reshape(shape)
