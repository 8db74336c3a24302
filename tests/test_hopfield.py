"""Tests of semlib.hopfield: Hebbian network, Cover's count vs LP separability, modern Hopfield = attention."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from semlib import hopfield as hf


def test_hebbian_weights_symmetric_zero_diagonal_and_match_the_sum():
    xi = hf.random_patterns(7, 30, seed=1)
    W = hf.hebbian_weights(xi)
    hand = sum(torch.outer(x, x) for x in xi) / 30
    hand.fill_diagonal_(0)
    assert torch.allclose(W, W.T, atol=0) and torch.all(W.diagonal() == 0)
    assert torch.allclose(W, hand, atol=1e-14)


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_single_pattern_is_a_fixed_point_and_is_retrieved(mode):
    xi = hf.random_patterns(1, 50, seed=3)
    W = hf.hebbian_weights(xi)
    assert bool(hf.is_fixed_point(W, xi).all())
    cue = hf.flip_bits(xi, 0.2, seed=4)
    assert int((cue != xi).sum()) == 10
    out, conv = hf.hopfield_update(W, cue, mode=mode)
    assert torch.equal(out, xi) and bool(conv.all())


def test_async_reaches_a_fixed_point_at_high_load():
    xi = hf.random_patterns(20, 40, trials=3, seed=5)
    W = hf.hebbian_weights(xi)
    out, conv = hf.hopfield_update(W, xi, mode="async", max_sweeps=100)
    assert bool(conv.all()) and bool(hf.is_fixed_point(W, out, strict=False).all())


def test_capacity_experiment_low_load_retrieves_high_load_fails():
    r = hf.hopfield_capacity(200, [0.05, 0.3], trials=3, max_cues=20)
    assert r.retrieved_fraction[0] == 1.0 and r.retrieved_fraction[1] < 0.5
    assert r.n_patterns.tolist() == [10, 60]


@pytest.mark.parametrize("P,n", [(1, 1), (3, 5), (5, 5), (7, 3), (20, 10), (40, 7)])
def test_cover_count_exact_log_and_binomial_cdf(P, n):
    from scipy.stats import binom

    C = hf.cover_count(P, n)
    if P <= n:
        assert C == 2**P
    assert math.isclose(hf.cover_count(P, n, log=True), math.log(C), rel_tol=1e-12)
    assert math.isclose(hf.cover_fraction(P, n), binom.cdf(n - 1, P - 1, 0.5), rel_tol=1e-12)


def test_cover_fraction_half_at_twice_the_dimension_and_large_P():
    assert hf.cover_fraction(40, 20) == pytest.approx(0.5, abs=1e-12)
    assert 0 < hf.cover_fraction(4000, 1000) < 1e-100  # log-space keeps it finite


@given(st.integers(1, 60), st.integers(1, 30))
def test_cover_recursion(P, n):
    # C(P+1, n) = C(P, n) + C(P, n-1), with C(P, 0) = 0
    lhs = hf.cover_count(P + 1, n)
    rhs = hf.cover_count(P, n) + (hf.cover_count(P, n - 1) if n > 1 else 0)
    assert lhs == rhs


def test_lp_separability_matches_cover_within_monte_carlo_error():
    n, Ps, trials = 3, [2, 4, 6, 8], 300
    frac = hf.separability_fraction(n, Ps, trials=trials, seed=0)
    exact = hf.cover_fraction(np.array(Ps), n)
    se = np.sqrt(exact * (1 - exact) / trials) + 1e-9
    assert np.all(np.abs(frac - exact) <= 4 * se + 1e-12)


def test_lp_exhaustive_small_case_counts_cover():
    rng = np.random.default_rng(2)
    P, n = 5, 2
    X = rng.standard_normal((P, n))
    labels = np.array([[1 if (k >> i) & 1 else -1 for i in range(P)] for k in range(2**P)], dtype=float)
    sep = hf.linearly_separable(np.broadcast_to(X, (2**P, P, n)), labels)
    assert int(sep.sum()) == hf.cover_count(P, n) == 10


def test_modern_update_is_scaled_dot_product_attention():
    g = torch.Generator().manual_seed(0)
    X = torch.randn(2, 13, 8, generator=g, dtype=torch.float64)
    q = torch.randn(2, 5, 8, generator=g, dtype=torch.float64)
    beta = 0.7
    ours = hf.modern_hopfield_update(X, q, beta)
    sdpa = torch.nn.functional.scaled_dot_product_attention(q, X, X, scale=beta)
    assert torch.allclose(ours, sdpa, atol=1e-10, rtol=0)
    one = hf.modern_hopfield_update(X[0], q[0, 0], beta)
    assert torch.allclose(one, ours[0, 0], atol=1e-12)


def test_modern_update_decreases_energy():
    X = hf.sphere_patterns(50, 10, radius=3.0, seed=1)
    q = torch.randn(20, 10, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    E0 = hf.modern_hopfield_energy(X, q, 2.0)
    E1 = hf.modern_hopfield_energy(X, hf.modern_hopfield_update(X, q, 2.0), 2.0)
    assert torch.all(E1 <= E0 + 1e-12)


def test_ramsauer_bound_reproduces_their_numbers():
    b1 = hf.ramsauer_capacity_bound(20, beta=1, K=3, fail_prob=0.001)
    b2 = hf.ramsauer_capacity_bound(75, beta=1, K=1, fail_prob=0.001)
    assert b1.c == pytest.approx(3.1546, abs=1e-4) and b1.a + math.log(b1.b) > 1.27
    assert b2.c == pytest.approx(1.3718, abs=1e-4) and b2.a + math.log(b2.b) < -0.94
    assert b1.applicable and b2.applicable


def test_modern_capacity_grows_with_dimension():
    Ns = np.unique(np.geomspace(2, 3000, 25).astype(int))
    caps = [hf.modern_hopfield_capacity(d, Ns, n_queries=100).capacity for d in (6, 10, 14)]
    assert caps[0] < caps[1] < caps[2]


def test_mceliece_and_crosstalk():
    assert hf.mceliece_capacity(1000) == pytest.approx(1000 / (2 * math.log(1000)))
    assert hf.mceliece_capacity(1000, all_patterns=True) == pytest.approx(1000 / (4 * math.log(1000)))
    expected = 0.5 * math.erfc(math.sqrt(10) / math.sqrt(2))
    assert hf.crosstalk_bit_error(10_001, 1001) == pytest.approx(expected, rel=1e-9)


def test_bad_inputs():
    xi = hf.random_patterns(3, 10)
    with pytest.raises(ValueError, match="patterns"):
        hf.hebbian_weights(xi * 0.5)
    assert isinstance(hf.hebbian_weights(np.ones((3, 10))), np.ndarray)  # numpy in, numpy out
    with pytest.raises(ValueError, match="state"):
        hf.hopfield_update(hf.hebbian_weights(xi), torch.ones(2, 9, dtype=torch.float64))
    with pytest.raises(ValueError, match="mode"):
        hf.hopfield_update(hf.hebbian_weights(xi), xi, mode="parallel")
    with pytest.raises(ValueError, match="alphas"):
        hf.hopfield_capacity(10, [0.1, -1])
    with pytest.raises(ValueError, match="fraction"):
        hf.flip_bits(xi, 1.5)
    with pytest.raises(ValueError, match="labels"):
        hf.linearly_separable(np.ones((3, 2)), np.array([1, 0, 1]))
    with pytest.raises(ValueError, match="labels"):
        hf.linearly_separable(np.ones((3, 2)), np.ones(4))
    with pytest.raises(TypeError, match="P"):
        hf.cover_count(2.5, 3)
    with pytest.raises(ValueError, match="n"):
        hf.cover_count(3, 0)
    with pytest.raises(ValueError, match="beta"):
        hf.modern_hopfield_update(xi, xi[0], -1.0)
    with pytest.raises(ValueError, match="query"):
        hf.modern_hopfield_update(xi, torch.ones(4, dtype=torch.float64), 1.0)
    with pytest.raises(ValueError, match="p"):
        hf.ramsauer_capacity_bound(10, fail_prob=0)
    with pytest.raises(ValueError, match="n_patterns"):
        hf.modern_hopfield_capacity(5, [10, 5])


# --- every documented shape of the modern update and energy, against a per-batch loop -------------

_D, _N, _M, _B = 6, 9, 4, 3


def _one_update(X: torch.Tensor, xi: torch.Tensor, beta: float) -> torch.Tensor:
    """Ramsauer's step for one pattern matrix (N, d) and one query (d,), written out."""
    w = torch.exp(beta * (X @ xi) - (beta * (X @ xi)).max())
    return (w / w.sum()) @ X


def _one_energy(X: torch.Tensor, xi: torch.Tensor, beta: float) -> torch.Tensor:
    M2 = (X * X).sum(-1).max()
    return -torch.logsumexp(beta * (X @ xi), 0) / beta + 0.5 * xi @ xi + math.log(X.shape[0]) / beta + 0.5 * M2


def _loop(fn, X: torch.Tensor, q: torch.Tensor, beta: float) -> torch.Tensor:
    """Apply ``fn`` per batch of patterns and per query, by explicit loops (the reference)."""
    Xb = X if X.dim() == 3 else None
    qb = q if q.dim() == 3 else None
    B = X.shape[0] if Xb is not None else (q.shape[0] if qb is not None else None)

    def per_batch(Xi, qi):
        if qi.dim() == 1:
            return fn(Xi, qi, beta)
        return torch.stack([fn(Xi, row, beta) for row in qi])

    if B is None:
        return per_batch(X, q)
    return torch.stack([per_batch(X[b] if Xb is not None else X, q[b] if qb is not None else q) for b in range(B)])


@pytest.mark.parametrize("x_shape", [(_N, _D), (_B, _N, _D)], ids=["X(N,d)", "X(B,N,d)"])
@pytest.mark.parametrize("q_shape", [(_D,), (_M, _D), (_B, _M, _D)], ids=["q(d)", "q(M,d)", "q(B,M,d)"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_modern_update_and_energy_every_documented_shape(x_shape, q_shape, dtype):
    g = torch.Generator().manual_seed(11)
    X = torch.randn(x_shape, generator=g, dtype=torch.float64).to(dtype)
    q = torch.randn(q_shape, generator=g, dtype=torch.float64).to(dtype)
    beta = 0.8
    batch = torch.broadcast_shapes(X.shape[:-2], q.shape[:-2] if q.dim() > 1 else ())
    tail = q.shape[-2:] if q.dim() > 1 else q.shape[-1:]
    out = hf.modern_hopfield_update(X, q, beta)
    assert out.shape == (*batch, *tail) and out.dtype == dtype
    tol = 1e-12 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(out, _loop(_one_update, X, q, beta), atol=tol, rtol=tol)
    E = hf.modern_hopfield_energy(X, q, beta)
    assert E.shape == (*batch, *tail[:-1])
    torch.testing.assert_close(E, _loop(_one_energy, X, q, beta), atol=tol, rtol=tol)


def test_modern_update_batched_patterns_one_query_is_per_batch():
    """Patterns (B, N, d) with one query (d,): one retrieval per batch, shape (B, d), not (B, B, d)."""
    X = hf.sphere_patterns(5, 4, trials=3, seed=2)
    xi = X[0, 1] + 0.1
    out = hf.modern_hopfield_update(X, xi, 2.0)
    assert out.shape == (3, 4)
    for b in range(3):
        torch.testing.assert_close(out[b], hf.modern_hopfield_update(X[b], xi, 2.0), atol=1e-12, rtol=0)


def test_modern_update_takes_numpy_and_rejects_mismatched_batches():
    out = hf.modern_hopfield_update(np.ones((5, 4)), np.ones(4), 1.0)  # numpy in, numpy out
    assert isinstance(out, np.ndarray) and out.dtype == np.float64
    with pytest.raises(ValueError, match="query"):
        hf.modern_hopfield_update(
            torch.ones(3, 5, 4, dtype=torch.float64), torch.ones(2, 1, 4, dtype=torch.float64), 1.0
        )


def test_seed_none_draws_fresh_entropy_and_the_default_stays_reproducible():
    a = hf.random_patterns(200, 50, seed=None)
    b = hf.random_patterns(200, 50, seed=None)
    assert not torch.equal(a, b)  # 10 000 random bits: equal with probability 2**-10000
    assert torch.equal(hf.random_patterns(200, 50), hf.random_patterns(200, 50, seed=0))
    assert not torch.equal(hf.sphere_patterns(20, 5, seed=None), hf.sphere_patterns(20, 5, seed=None))
    with pytest.raises(TypeError, match="seed"):
        hf.random_patterns(3, 4, seed=1.5)


def test_nan_inputs_raise_instead_of_returning_nan():
    with pytest.raises(ValueError, match="n_patterns"):
        hf.crosstalk_bit_error(100, [5.0, float("nan")])
    with pytest.raises(ValueError, match="`n`"):
        hf.mceliece_capacity(float("nan"))
    with pytest.raises(ValueError, match="query_noise"):
        hf.modern_hopfield_capacity(5, [4], query_noise=-0.1)
    with pytest.raises(ValueError, match="K"):
        hf.modern_hopfield_capacity(5, [4], K=-1.0)


# --- half_load (the memory-capacity chapter) ---


def test_half_load_interpolates_the_first_crossing():
    loads = np.array([0.1, 0.2, 0.3, 0.4])
    assert hf.half_load(loads, [1.0, 0.75, 0.25, 0.6]) == 0.25  # the first crossing, not a later one
    assert abs(hf.half_load(loads, [1.0, 0.9, 0.5, 0.1], level=0.5) - 0.3) < 1e-15  # equal to the level is not below
    t = hf.half_load(torch.tensor([0.1, 0.2]), torch.tensor([0.6, 0.4]))
    assert isinstance(t, torch.Tensor) and abs(float(t) - 0.15) < 1e-7


def test_half_load_validates():
    with pytest.raises(ValueError, match="start at or above"):
        hf.half_load([0.1, 0.2], [0.4, 0.3])
    with pytest.raises(ValueError, match="start at or above"):
        hf.half_load([0.1, 0.2], [0.9, 0.8])
    with pytest.raises(ValueError, match="increasing"):
        hf.half_load([0.2, 0.1], [0.9, 0.1])
    with pytest.raises(ValueError, match="same length"):
        hf.half_load([0.1, 0.2, 0.3], [0.9, 0.1])
    with pytest.raises(ValueError, match="level"):
        hf.half_load([0.1, 0.2], [0.9, 0.1], level=1.5)
