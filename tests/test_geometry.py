"""Tests of semlib.geometry: the sphere, cosines, analogies and Gromov–Wasserstein (Def. 12, Eq. (34))."""

from __future__ import annotations

import numpy as np
import ot
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from semlib import geometry as g


def cloud(n=40, d=6, seed=0):
    return np.random.default_rng(seed).normal(size=(n, d))


def rotation(d, seed=1):
    Q, _ = np.linalg.qr(np.random.default_rng(seed).normal(size=(d, d)))
    return Q


def brute_objective(C1, C2, T):
    """E(T) = sum_ijkl (C1_ik - C2_jl)^2 T_ij T_kl, by the four-index sum."""
    L = (C1[:, None, :, None] - C2[None, :, None, :]) ** 2
    return float(np.einsum("ijkl,ij,kl->", L, T, T))


# --- sphere, cosines ------------------------------------------------------------------------

def test_to_sphere_unit_norm_and_types():
    X = cloud()
    S = g.to_sphere(X)
    assert isinstance(S, np.ndarray)
    assert np.allclose(np.linalg.norm(S, axis=1), 1, atol=1e-12)
    T = g.to_sphere(torch.tensor(X, dtype=torch.float32))
    assert T.dtype == torch.float32 and torch.allclose(T.norm(dim=1), torch.ones(40), atol=1e-6)


def test_to_sphere_rejects_zero_rows_and_nan():
    with pytest.raises(ValueError, match="no direction"):
        g.to_sphere(np.array([[1.0, 0.0], [0.0, 0.0]]))
    with pytest.raises(ValueError, match="finite"):
        g.to_sphere(np.array([[np.nan, 1.0]]))
    with pytest.raises(TypeError):
        g.to_sphere(np.array([["a", "b"]]))


def test_cosine_similarity_matches_formula():
    X, Y = cloud(10, 4, 0), cloud(7, 4, 1)
    C = g.cosine_similarity(X, Y)
    ref = (X @ Y.T) / np.linalg.norm(X, axis=1)[:, None] / np.linalg.norm(Y, axis=1)[None, :]
    assert np.allclose(C, ref, atol=1e-12)
    with pytest.raises(ValueError, match="columns"):
        g.cosine_similarity(X, cloud(3, 5))


# --- analogies ------------------------------------------------------------------------------

def toy_table():
    # man, woman, king, queen, apple: queen = king - man + woman exactly
    man, woman, royal, fruit = np.eye(4)
    V = np.array([man, woman, man + royal, woman + royal, fruit + 0.1 * man])
    return V


def test_analogy_recovers_queen_and_excludes_queries():
    V = toy_table()
    for method in ("3cosadd", "3cosmul"):
        res = g.analogy(V, 0, 2, 1, k=2, method=method)       # man : king :: woman : ?
        assert res.ids[0, 0] == 3
        assert not set(res.ids[0]) & {0, 1, 2}


def test_analogy_3cosadd_equals_bruteforce():
    rng = np.random.default_rng(3)
    V = rng.normal(size=(60, 8))
    a, b, c = rng.integers(0, 60, (3, 20))
    res = g.analogy(V, a, b, c, k=1)
    U = V / np.linalg.norm(V, axis=1, keepdims=True)
    for i in range(20):
        target = U[b[i]] - U[a[i]] + U[c[i]]
        s = U @ target
        s[[a[i], b[i], c[i]]] = -np.inf
        assert res.ids[i, 0] == int(np.argmax(s))


def test_analogy_validation():
    V = toy_table()
    with pytest.raises(ValueError, match="method"):
        g.analogy(V, 0, 2, 1, method="cos")
    with pytest.raises(ValueError, match="outside"):
        g.analogy(V, 0, 2, 9)
    with pytest.raises(TypeError, match="integer"):
        g.analogy(V, 0.0, 2, 1)
    with pytest.raises(ValueError, match="too large"):
        g.analogy(V, 0, 2, 1, k=3)


def test_nearest_neighbors_against_sort():
    X = cloud(30, 5)
    ids, sc = g.nearest_neighbors(X, [0, 4], k=3)
    C = g.cosine_similarity(X)
    for r, qi in enumerate([0, 4]):
        row = C[qi].copy()
        row[qi] = -np.inf
        assert list(ids[r]) == list(np.argsort(-row)[:3])


# --- Gromov–Wasserstein ----------------------------------------------------------------------

@pytest.mark.parametrize("solver", ["exact", "entropic"])
def test_gw_zero_under_rotation_and_permutation(solver):
    X = cloud(40, 6)
    perm = np.random.default_rng(2).permutation(40)
    Y = X[perm] @ rotation(6)
    if solver == "exact":
        res = g.gromov_wasserstein(X, Y)
        assert res.distance2 < 1e-12
    else:
        res = g.entropic_gromov_wasserstein(X, Y, epsilon=1e-3)
        assert res.distance2 < 1e-8
    assert res.converged
    assert np.array_equal(res.matching, np.argsort(perm))          # Y[j] = X[perm[j]]


def test_gw_objective_matches_fourfold_sum():
    X, Y = cloud(9, 3, 0), cloud(7, 5, 1)
    T = np.random.default_rng(4).random((9, 7))
    T /= T.sum()
    Xs, Ys = g.to_sphere(X), g.to_sphere(Y)
    assert g.gw_objective(X, Y, T) == pytest.approx(brute_objective(Xs @ Xs.T, Ys @ Ys.T, T), rel=1e-12)


def test_gw_symmetric():
    X, Y = cloud(30, 4, 0), cloud(30, 7, 5)
    a = g.gromov_wasserstein(X, Y).distance2
    b = g.gromov_wasserstein(Y, X).distance2
    assert a == pytest.approx(b, rel=1e-6)


def test_gw_agrees_with_pot_exact():
    X, Y = cloud(50, 5, 0), cloud(60, 5, 7)
    rng = np.random.default_rng(8)
    p, q = rng.dirichlet(np.ones(50)), rng.dirichlet(np.ones(60))
    Xs, Ys = g.to_sphere(X), g.to_sphere(Y)
    T_pot, log = ot.gromov.gromov_wasserstein(Xs @ Xs.T, Ys @ Ys.T, p, q, "square_loss", log=True)
    res = g.gromov_wasserstein(X, Y, p, q)
    assert res.distance2 <= log["gw_dist"] * 1.01 + 1e-12
    assert abs(res.distance2 - log["gw_dist"]) <= 0.01 * log["gw_dist"]
    assert np.allclose(res.coupling.sum(1), p, atol=1e-10) and np.allclose(res.coupling.sum(0), q, atol=1e-10)


def test_gw_agrees_with_pot_entropic():
    X, Y = cloud(50, 5, 0), cloud(40, 5, 7)
    Xs, Ys = g.to_sphere(X), g.to_sphere(Y)
    p, q = np.full(50, 1 / 50), np.full(40, 1 / 40)
    T_pot = ot.gromov.entropic_gromov_wasserstein(Xs @ Xs.T, Ys @ Ys.T, p, q, "square_loss", epsilon=0.05,
                                                   numItermax=100_000)
    res = g.entropic_gromov_wasserstein(X, Y, epsilon=0.05)
    val_pot = g.gw_objective(X, Y, T_pot)
    assert abs(res.distance2 - val_pot) <= 0.01 * val_pot
    assert np.abs(res.coupling - T_pot).max() < 1e-5


def test_gw_torch_in_torch_out():
    X = torch.tensor(cloud(20, 4))
    res = g.gromov_wasserstein(X, X.flip(0))
    assert isinstance(res.coupling, torch.Tensor) and res.coupling.device == X.device
    res = g.entropic_gromov_wasserstein(X, X, epsilon=0.01)
    assert isinstance(res.coupling, torch.Tensor) and res.coupling.dtype == torch.float64


def test_gw_bad_inputs():
    X = cloud(10, 3)
    with pytest.raises(ValueError, match="sum to 1"):
        g.gromov_wasserstein(X, X, np.full(10, 0.2))
    with pytest.raises(ValueError, match="non-negative"):
        g.gromov_wasserstein(X, X, np.r_[-0.1, np.full(9, 1.1 / 9)])
    with pytest.raises(ValueError, match="shape"):
        g.gromov_wasserstein(X, X, np.full(9, 1 / 9))
    with pytest.raises(ValueError, match=r"shape \(n, d\)"):
        g.gromov_wasserstein(X[0], X)
    with pytest.raises(ValueError, match="linear_solver"):
        g.gromov_wasserstein(X, X, linear_solver="hungarian")
    with pytest.raises(ValueError, match="epsilon"):
        g.entropic_gromov_wasserstein(X, X, epsilon=0.0)
    with pytest.raises(ValueError, match="strictly positive"):
        g.entropic_gromov_wasserstein(X, X, np.r_[0.0, np.full(9, 1 / 9)])
    with pytest.raises(TypeError, match="max_iter"):
        g.gromov_wasserstein(X, X, max_iter=2.5)


def test_gw_warns_when_not_converged():
    X, Y = cloud(30, 4, 0), cloud(30, 4, 1)
    with pytest.warns(g.GWConvergenceWarning):
        g.entropic_gromov_wasserstein(X, Y, epsilon=1e-3, max_iter=1)


@settings(max_examples=25)
@given(n=st.integers(2, 12), m=st.integers(2, 12), d=st.integers(1, 5), seed=st.integers(0, 10_000))
def test_gw_property_bounds(n, m, d, seed):
    """0 <= GW(result) <= E(p q^T); the coupling has marginals p, q; value = four-index sum."""
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(n, d)) + 0.1, rng.normal(size=(m, d)) + 0.1
    p, q = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(m))
    res = g.gromov_wasserstein(X, Y, p, q)
    Xs, Ys = g.to_sphere(X), g.to_sphere(Y)
    assert np.allclose(res.coupling.sum(1), p, atol=1e-9) and np.allclose(res.coupling.sum(0), q, atol=1e-9)
    assert res.distance2 >= -1e-12
    assert res.distance2 <= g.gw_objective(X, Y, np.outer(p, q)) + 1e-12
    assert res.distance2 == pytest.approx(brute_objective(Xs @ Xs.T, Ys @ Ys.T, res.coupling), abs=1e-10)
    # invariance: rotating Y changes nothing
    Q = np.linalg.qr(rng.normal(size=(d, d)))[0]
    assert g.gw_objective(X, Y @ Q, res.coupling) == pytest.approx(res.distance2, abs=1e-10)


def test_entropic_inexact_projection_warns_and_value_is_true_objective():
    """Tiny epsilon with very unequal weights: Sinkhorn misses the marginals; semlib must say so and
    still report E(T) of the returned plan (checked against the four-index sum), never a negative value."""
    X, Y = cloud(12, 4, seed=3), cloud(12, 4, seed=4)
    p = np.geomspace(1.0, 1e-3, 12)
    p /= p.sum()
    with pytest.warns(g.GWConvergenceWarning, match="Sinkhorn projection did not converge"):
        res = g.entropic_gromov_wasserstein(X, Y, p, p, epsilon=1e-5, max_iter=3, sinkhorn_max_iter=5)
    T = res.coupling
    Xs, Ys = g.to_sphere(X), g.to_sphere(Y)
    assert np.abs(T.sum(1) - p).sum() + np.abs(T.sum(0) - p).sum() > 1e-6   # the plan really is off the marginals
    assert res.distance2 >= 0
    assert res.distance2 == pytest.approx(brute_objective(Xs @ Xs.T, Ys @ Ys.T, T), rel=1e-10, abs=1e-14)
