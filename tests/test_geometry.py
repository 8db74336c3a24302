"""Tests of semlib.geometry: the sphere, cosines, analogies and Gromov–Wasserstein (Def. 12, Eq. (34))."""

from __future__ import annotations

import itertools
import warnings

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
        res = g.analogy(V, 0, 2, 1, k=2, method=method)  # man : king :: woman : ?
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
    ids, _ = g.nearest_neighbors(X, [0, 4], k=3)
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
        # at epsilon = 1e-3 the plan is nearly a permutation and Sinkhorn converges slowly (sublinearly, as POT's
        # does): 1e-6 in l1 is reached in a few steps, the default 1e-9 not within 1000 x 1000 iterations
        res = g.entropic_gromov_wasserstein(X, Y, epsilon=1e-3, sinkhorn_tol=1e-6)
        assert res.distance2 < 1e-8
    assert res.converged
    assert np.array_equal(res.matching, np.argsort(perm))  # Y[j] = X[perm[j]]


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
    _, log = ot.gromov.gromov_wasserstein(Xs @ Xs.T, Ys @ Ys.T, p, q, "square_loss", log=True)
    res = g.gromov_wasserstein(X, Y, p, q)
    assert res.distance2 <= log["gw_dist"] * 1.01 + 1e-12
    assert abs(res.distance2 - log["gw_dist"]) <= 0.01 * log["gw_dist"]
    assert np.allclose(res.coupling.sum(1), p, atol=1e-10) and np.allclose(res.coupling.sum(0), q, atol=1e-10)


def test_gw_agrees_with_pot_entropic():
    X, Y = cloud(50, 5, 0), cloud(40, 5, 7)
    Xs, Ys = g.to_sphere(X), g.to_sphere(Y)
    p, q = np.full(50, 1 / 50), np.full(40, 1 / 40)
    T_pot = ot.gromov.entropic_gromov_wasserstein(
        Xs @ Xs.T, Ys @ Ys.T, p, q, "square_loss", epsilon=0.05, numItermax=100_000
    )
    res = g.entropic_gromov_wasserstein(X, Y, epsilon=0.05)
    val_pot = g.gw_objective(X, Y, T_pot)
    assert abs(res.distance2 - val_pot) <= 0.01 * val_pot
    assert np.abs(res.coupling - T_pot).max() < 1e-5


def test_gw_torch_in_torch_out():
    X = torch.tensor(cloud(20, 4))
    res = g.gromov_wasserstein(X, X.flip(0))
    assert isinstance(res.coupling, torch.Tensor) and res.coupling.device == X.device
    res = g.entropic_gromov_wasserstein(X, torch.tensor(cloud(15, 4, 3)), epsilon=0.1)
    assert res.converged
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
    assert np.abs(T.sum(1) - p).sum() + np.abs(T.sum(0) - p).sum() > 1e-6  # the plan really is off the marginals
    assert res.distance2 >= 0
    assert res.distance2 == pytest.approx(brute_objective(Xs @ Xs.T, Ys @ Ys.T, T), rel=1e-10, abs=1e-14)


# --- entropic GW: Sinkhorn exit test, convergence reporting, agreement with POT at equal accuracy -------------
#
# The inner Sinkhorn loop updates u (rows exact) and then v (columns exact). It used to test the column marginals,
# which the v-update had just made exact, so every projection stopped at its first check (iteration 10) whatever
# `sinkhorn_tol` said: plans missed the row marginals by up to 0.2 in l1 and landed ~0.1 away from POT's plan.


def _pot_entropic(X, Y, eps, p=None, q=None):
    """POT's PGD entropic GW on the cosine matrices, run to tight tolerances (its own warnings are errors)."""
    n, m = len(X), len(Y)
    p = np.full(n, 1 / n) if p is None else p
    q = np.full(m, 1 / m) if q is None else q
    Xs, Ys = g.to_sphere(X), g.to_sphere(Y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return ot.gromov.entropic_gromov_wasserstein(
            Xs @ Xs.T,
            Ys @ Ys.T,
            p,
            q,
            "square_loss",
            epsilon=eps,
            max_iter=1000,
            tol=1e-11,
            numItermax=5000,
            stopThr=1e-12,
        )


def _l1_marginals(T, p, q):
    return float(np.abs(T.sum(1) - p).sum()), float(np.abs(T.sum(0) - q).sum())


# (n, m, d, epsilon, seed): square and non-square, epsilon 0.03-0.1; all cases where POT's own Sinkhorn converges
# to stopThr 1e-12 within 5000 iterations (at epsilon = 0.03 on 10x8 and 20x20 it does not)
POT_CASES = [
    (10, 8, 4, 0.05, 1),
    (10, 8, 4, 0.1, 0),
    (30, 25, 4, 0.03, 2),
    (30, 25, 4, 0.05, 2),
    (20, 20, 4, 0.1, 0),
    (40, 30, 5, 0.05, 2),
]


@pytest.mark.parametrize("n, m, d, eps, seed", POT_CASES)
def test_entropic_gw_matches_pot_fixed_point(n, m, d, eps, seed):
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(n, d)), rng.normal(size=(m, d))
    p, q = np.full(n, 1 / n), np.full(m, 1 / m)
    T_pot = _pot_entropic(X, Y, eps)
    res = g.entropic_gromov_wasserstein(X, Y, epsilon=eps, tol=1e-11, sinkhorn_tol=1e-12, sinkhorn_max_iter=5000)
    assert res.converged
    rows, cols = _l1_marginals(res.coupling, p, q)
    assert rows + cols <= 1e-12 * (1 + 1e-6)  # both marginals, to the stated tolerance
    assert np.abs(res.coupling - T_pot).max() < 1e-9  # same fixed point as POT (observed <= 3e-11)
    assert res.distance2 == pytest.approx(g.gw_objective(X, Y, T_pot), rel=1e-8)


def test_entropic_gw_default_tolerances_meet_marginals():
    """With the defaults (sinkhorn_tol 1e-9) both marginals are within 1e-9 in l1: the case of the bug report."""
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(10, 4)), rng.normal(size=(8, 4))
    for eps in (0.05, 0.1):
        res = g.entropic_gromov_wasserstein(X, Y, epsilon=eps)
        rows, cols = _l1_marginals(res.coupling, np.full(10, 0.1), np.full(8, 0.125))
        assert res.converged and rows <= 1e-9 and cols <= 1e-9
        assert np.abs(res.coupling - _pot_entropic(X, Y, eps)).max() < 1e-7


def _gradient_problem(n=12, m=9, eps=0.05, seed=0):
    """The first entropic-GW projection: a Sinkhorn problem with a GW gradient as cost."""
    rng = np.random.default_rng(seed)
    X, Y, pt, qt, _ = g._prepare(rng.normal(size=(n, 3)), rng.normal(size=(m, 3)), None, None, True, torch.float64)
    f = g._CosineGW(X, Y, pt, qt)
    T = pt[:, None] * qt[None, :] + 0.5 * torch.outer(pt, qt) * torch.tensor(rng.normal(size=(n, m))).clamp(-1, 1)
    return f.gradient(T), pt, qt


def test_sinkhorn_exit_test_is_on_the_row_marginal():
    M, p, q = _gradient_problem()
    z0, z1 = torch.zeros_like(p), torch.zeros_like(q)
    T, _, _, it, converged, err = g._sinkhorn_log(M, p, q, 0.05, z0, z1, 10_000, 1e-12)
    assert converged and it > 10  # not the first check
    assert err <= 1e-12
    assert float((T.sum(1) - p).abs().sum() + (T.sum(0) - q).abs().sum()) <= 1.5e-12  # the plan's error
    ref = ot.sinkhorn(p.numpy(), q.numpy(), M.numpy(), 0.05, method="sinkhorn_log", numItermax=100_000, stopThr=1e-14)
    assert np.abs(T.numpy() - ref).max() < 1e-12


def test_sinkhorn_tol_is_respected_and_max_iter_is_reported():
    M, p, q = _gradient_problem(eps=0.02)
    z0, z1 = torch.zeros_like(p), torch.zeros_like(q)
    errs = []
    for tol in (1e-3, 1e-6, 1e-10):
        T, _, _, it, converged, err = g._sinkhorn_log(M, p, q, 0.02, z0, z1, 100_000, tol)
        rows = float((T.sum(1) - p).abs().sum() + (T.sum(0) - q).abs().sum())
        assert converged and err <= tol and rows <= tol * 1.001
        errs.append((it, rows))
    assert errs[0][0] < errs[1][0] < errs[2][0]  # tighter tol, more iterations
    # exhaustion: max_iter that is not a multiple of the check period still gets a final check
    T, _, _, it, converged, err = g._sinkhorn_log(M, p, q, 0.02, z0, z1, 7, 1e-14)
    assert it == 7 and not converged
    assert err == pytest.approx(float((T.sum(1) - p).abs().sum() + (T.sum(0) - q).abs().sum()), rel=1e-6)
    assert err > 1e-14


def test_sinkhorn_batch_agrees_with_single_problems():
    probs = [_gradient_problem(seed=s) for s in range(3)]
    M = torch.stack([P[0] for P in probs])
    p, q = probs[0][1].expand(3, -1), probs[0][2].expand(3, -1)
    z0, z1 = torch.zeros_like(p), torch.zeros_like(q)
    T, _, _, _, converged, _ = g._sinkhorn_log(M, p, q, 0.05, z0, z1, 10_000, 1e-12)
    assert converged and T.shape == (3, 12, 9)
    for b, (Mb, pb, qb) in enumerate(probs):
        Tb = g._sinkhorn_log(Mb, pb, qb, 0.05, z0[b], z1[b], 10_000, 1e-12)[0]
        assert torch.allclose(T[b], Tb, rtol=0, atol=1e-12)
        assert float((T[b].sum(-1) - pb).abs().sum()) <= 1.5e-12  # every problem of the batch, not just one


def test_sinkhorn_small_epsilon_absorbs_without_overflow():
    M, p, q = _gradient_problem(eps=1e-4)
    z0, z1 = torch.zeros_like(p), torch.zeros_like(q)
    T, f_, g_, _, converged, err = g._sinkhorn_log(M, p, q, 1e-4, z0, z1, 2000, 1e-9)
    assert bool(torch.isfinite(T).all()) and bool(torch.isfinite(f_).all()) and bool(torch.isfinite(g_).all())
    assert err == pytest.approx(float((T.sum(1) - p).abs().sum() + (T.sum(0) - q).abs().sum()), rel=1e-6, abs=1e-15)
    assert converged == (err <= 1e-9)


def test_entropic_gw_unconverged_projection_is_reported():
    """Sinkhorn capped far below what it needs: converged is False, a warning names the projection."""
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(10, 4)), rng.normal(size=(8, 4))
    with pytest.warns(g.GWConvergenceWarning, match="Sinkhorn projection did not converge"):
        res = g.entropic_gromov_wasserstein(X, Y, epsilon=0.05, sinkhorn_max_iter=10, sinkhorn_tol=1e-12, max_iter=5)
    assert not res.converged and res.n_iter == 5
    rows, _ = _l1_marginals(res.coupling, np.full(10, 0.1), np.full(8, 0.125))
    assert rows > 1e-12


def test_entropic_gw_outer_max_iter_is_reported():
    rng = np.random.default_rng(1)
    X, Y = rng.normal(size=(10, 4)), rng.normal(size=(8, 4))
    with pytest.warns(g.GWConvergenceWarning, match="max_iter = 3"):
        res = g.entropic_gromov_wasserstein(X, Y, epsilon=0.05, max_iter=3)
    assert not res.converged and res.n_iter == 3 and res.gap > 1e-9
    full = g.entropic_gromov_wasserstein(X, Y, epsilon=0.05, tol=1e-10)
    assert full.converged and full.gap <= 1e-10 and full.n_iter > 3


@pytest.mark.parametrize("n, m", [(1, 1), (1, 4), (4, 1), (2, 2), (2, 3)])
def test_entropic_and_exact_gw_edge_sizes(n, m):
    rng = np.random.default_rng(n * 10 + m)
    X, Y = rng.normal(size=(n, 3)), rng.normal(size=(m, 3))
    p, q = rng.dirichlet(np.ones(n)), rng.dirichlet(np.ones(m))
    for res in (g.entropic_gromov_wasserstein(X, Y, p, q, epsilon=0.05), g.gromov_wasserstein(X, Y, p, q)):
        assert res.converged and res.coupling.shape == (n, m)
        rows, cols = _l1_marginals(res.coupling, p, q)
        assert rows <= 1e-9 and cols <= 1e-9
        assert res.distance2 >= 0
    if n == 1 or m == 1:  # Pi(p, q) = {p q^T}
        res = g.entropic_gromov_wasserstein(X, Y, p, q, epsilon=0.05)
        assert np.allclose(res.coupling, np.outer(p, q), atol=1e-15)


def test_frank_wolfe_exit_conditions():
    X, Y = cloud(30, 4, 0), cloud(25, 4, 1)
    with pytest.warns(g.GWConvergenceWarning, match="max_iter = 1"):
        res = g.gromov_wasserstein(X, Y, max_iter=1)
    assert not res.converged and res.n_iter == 1
    res = g.gromov_wasserstein(X, Y, tol_rel=1e-12, tol_abs=1e-14)
    h = res.history
    assert res.converged and res.n_iter == len(h) - 1
    assert abs(h[-1] - h[-2]) <= 1e-12 * abs(h[-1]) + 1e-14 or res.gap <= 1e-14
    assert all(abs(h[k + 1] - h[k]) > 1e-12 * abs(h[k + 1]) + 1e-14 for k in range(len(h) - 2))  # no early exit
    assert all(b <= a + 1e-15 for a, b in itertools.pairwise(h))  # exact line search: monotone


def test_gw_validation_names_the_argument():
    X, Y = cloud(10, 3, 0), cloud(8, 3, 1)
    egw = g.entropic_gromov_wasserstein
    for kwargs, exc, name in [
        ({"sinkhorn_tol": 0.0}, ValueError, "sinkhorn_tol"),
        ({"sinkhorn_tol": float("nan")}, ValueError, "sinkhorn_tol"),
        ({"tol": -1.0}, ValueError, "`tol`"),
        ({"sinkhorn_max_iter": 0}, ValueError, "sinkhorn_max_iter"),
        ({"sinkhorn_max_iter": 10.0}, TypeError, "sinkhorn_max_iter"),
        ({"max_iter": True}, TypeError, "max_iter"),
        ({"epsilon": "0.1"}, TypeError, "epsilon"),
    ]:
        with pytest.raises(exc, match=name):
            egw(X, Y, **kwargs)
    with pytest.raises(ValueError, match=r"`x` must have shape \(n, d\)"):
        egw(np.stack([X, X]), Y)  # a batch is not accepted
    with pytest.raises(ValueError, match=r"`y` must have shape \(n, d\)"):
        egw(X, Y[None])
    with pytest.raises(ValueError, match=r"`q` must have shape \(8,\)"):
        egw(X, Y, None, np.full(10, 0.1))
    with pytest.raises(ValueError, match=r"`p` must have shape \(10,\)"):
        g.gromov_wasserstein(X, Y, np.full((2, 5), 0.1))
    with pytest.raises(ValueError, match=r"`init` must have shape \(10, 8\)"):
        g.gromov_wasserstein(X, Y, init=np.full((8, 10), 1 / 80))
    with pytest.raises(ValueError, match="`init` must be a coupling"):
        g.gromov_wasserstein(X, Y, init=np.full((10, 8), 1 / 40))
    with pytest.raises(ValueError, match="`coupling` must have shape"):
        g.gw_objective(X, Y, np.full((8, 10), 1 / 80))


# --------------------------------------------------------------------------- k against the candidates left


def _words(n=12, d=6):
    return torch.randn(n, d, generator=torch.Generator().manual_seed(3), dtype=torch.float64)


def test_nearest_neighbors_k_can_equal_the_candidates_left():
    V = _words()
    cand = [5, 6, 7, 8]  # the query (0) is not a candidate: all 4 remain
    ids, _ = g.nearest_neighbors(V, [0], 4, candidates=cand)
    assert sorted(ids[0].tolist()) == cand
    with pytest.raises(ValueError, match="`k`"):
        g.nearest_neighbors(V, [0], 5, candidates=cand)
    ids, _ = g.nearest_neighbors(V, [5], 3, candidates=cand)  # the query is a candidate: 3 remain
    assert 5 not in ids[0].tolist()
    with pytest.raises(ValueError, match="`k`"):
        g.nearest_neighbors(V, [5], 4, candidates=cand)
    ids, _ = g.nearest_neighbors(V, [5], 4, candidates=cand, exclude_self=False)
    assert sorted(ids[0].tolist()) == cand


def test_analogy_k_can_equal_the_candidates_left():
    V = _words()
    cand = [6, 7, 8, 9]  # a, b, c = 0, 1, 2 are not candidates: all 4 remain
    res = g.analogy(V, [0], [1], [2], 4, candidates=cand)
    assert sorted(res.ids[0].tolist()) == cand
    with pytest.raises(ValueError, match="`k`"):
        g.analogy(V, [0], [1], [2], 5, candidates=cand)
    res = g.analogy(V, [6], [1], [2], 3, candidates=cand)  # a is a candidate: 3 remain
    assert 6 not in res.ids[0].tolist()
    with pytest.raises(ValueError, match="`k`"):
        g.analogy(V, [6], [1], [2], 4, candidates=cand)


def test_entropic_gap_certifies_stationarity():
    # a permuted copy at eps = 0.1 converges (about 100 steps); one step from the product
    # coupling is far from stationary. Observed: 4e-15 against 0.08.
    X = _words(8, 4)
    Y = X[torch.randperm(8, generator=torch.Generator().manual_seed(1))]
    done = g.entropic_gromov_wasserstein(X, Y, epsilon=0.1)
    assert done.converged and 0 <= done.gap < 1e-10
    with pytest.warns(g.GWConvergenceWarning):
        early = g.entropic_gromov_wasserstein(X, Y, epsilon=0.1, max_iter=1)
    assert not early.converged and early.gap > 1e-3


# --- exact GW for tiny instances (enumeration of permutations) ---------------------------------


def test_gw_exact_zero_on_isometric_copy_and_recovers_the_permutation():
    X = cloud(7, 4, 3)
    perm = np.random.default_rng(4).permutation(7)
    Y = (X @ rotation(4, 5))[perm]
    res = g.gromov_wasserstein_exact(X, Y)
    assert res.distance2 < 1e-12 and res.n_minimizers == 1
    assert np.array_equal(res.matching, np.argsort(perm))
    assert res.gap == 0.0 and res.converged and res.n_iter == 5040


def test_gw_exact_counts_the_automorphisms_of_a_regular_simplex():
    n = 5
    S = np.eye(n) - 1.0 / n  # centred basis vectors: the vertices of a regular simplex
    res = g.gromov_wasserstein_exact(S, S)
    assert res.distance2 < 1e-12 and res.n_minimizers == 120


def test_gw_exact_is_the_minimum_over_all_couplings():
    """Never above Frank-Wolfe from random starts, nor above E at random interior couplings."""
    rng = np.random.default_rng(6)
    X, Y = rng.normal(size=(6, 3)), rng.normal(size=(6, 5))
    exact = g.gromov_wasserstein_exact(X, Y)
    C1 = g.cosine_similarity(X)
    C2 = g.cosine_similarity(Y)
    assert abs(brute_objective(C1, C2, exact.coupling) - exact.distance2) < 1e-12
    fw_best = np.inf
    for seed in range(20):
        w = rng.dirichlet(np.ones(8))
        T = sum(wk * np.eye(6)[rng.permutation(6)] for wk in w) / 6  # a random interior coupling
        assert brute_objective(C1, C2, T) >= exact.distance2 - 1e-12
        fw_best = min(fw_best, g.gromov_wasserstein(X, Y, init=T).distance2)
    assert exact.distance2 <= fw_best + 1e-12
    # Frank-Wolfe started at the exact minimiser stays there (a vertex minimum is stationary)
    assert abs(g.gromov_wasserstein(X, Y, init=exact.coupling).distance2 - exact.distance2) < 1e-12


def test_gw_exact_objective_is_concave_along_segments():
    rng = np.random.default_rng(7)
    X, Y = rng.normal(size=(5, 3)), rng.normal(size=(5, 4))
    P0, P1 = np.eye(5)[rng.permutation(5)] / 5, np.eye(5)[rng.permutation(5)] / 5
    for a in np.linspace(0, 1, 11):
        mid = g.gw_objective(X, Y, (1 - a) * P0 + a * P1)
        assert mid >= (1 - a) * g.gw_objective(X, Y, P0) + a * g.gw_objective(X, Y, P1) - 1e-12


def test_gw_exact_symmetric_and_edge_sizes():
    X, Y = cloud(6, 3, 8), cloud(6, 2, 9)
    assert abs(g.gromov_wasserstein_exact(X, Y).distance2 - g.gromov_wasserstein_exact(Y, X).distance2) < 1e-12
    one = g.gromov_wasserstein_exact(cloud(1, 3), cloud(1, 2, 1))
    assert one.distance2 < 1e-30 and one.n_minimizers == 1 and one.coupling.tolist() == [[1.0]]


def test_gw_exact_torch_in_torch_out():
    X = torch.as_tensor(cloud(5, 3, 10))
    res = g.gromov_wasserstein_exact(X, X.flip(0))
    assert isinstance(res.coupling, torch.Tensor) and res.coupling.dtype == torch.float64
    assert res.matching.tolist() == [4, 3, 2, 1, 0]


def test_gw_exact_validation_names_the_argument():
    with pytest.raises(ValueError, match="`y`"):
        g.gromov_wasserstein_exact(cloud(5, 3), cloud(6, 3))
    with pytest.raises(ValueError, match="`x`"):
        g.gromov_wasserstein_exact(cloud(10, 3), cloud(10, 3))
    with pytest.raises(ValueError, match="`atol`"):
        g.gromov_wasserstein_exact(cloud(3, 3), cloud(3, 3), atol=-1.0)
    with pytest.raises(ValueError, match="`x`"):
        g.gromov_wasserstein_exact(np.zeros(3), cloud(3, 3))


# --- the arithmetic-free baseline and the questions of a relation (semantic-space chapter) ---


def test_analogy_only_c_is_the_nearest_neighbour_of_c_without_a_and_b():
    V = np.random.default_rng(3).standard_normal((40, 5))
    a, b, c = np.array([0, 5]), np.array([1, 6]), np.array([2, 7])
    res = g.analogy(V, a, b, c, k=4, method="only-c")
    nn_ids, _ = g.nearest_neighbors(V, c, k=6)
    for row, nn_row, ai, bi in zip(res.ids, nn_ids, a, b):
        expected = [i for i in nn_row if i not in (ai, bi)][:4]
        assert row.tolist() == expected
    U = V / np.linalg.norm(V, axis=1, keepdims=True)
    np.testing.assert_allclose(res.scores[0], U[res.ids[0]] @ U[2], atol=1e-12)


def test_analogy_questions_lists_every_ordered_pair_of_pairs():
    q = g.analogy_questions(np.array([10, 20, 30, 40]), torch.tensor([11, 21, 31, 41]))
    assert q.shape == (12, 4) and q.dtype == np.int64
    loop = [
        (x1, y1, x2, y2)
        for x1, y1 in zip([10, 20, 30, 40], [11, 21, 31, 41])
        for x2, y2 in zip([10, 20, 30, 40], [11, 21, 31, 41])
        if x1 != x2
    ]
    assert [tuple(r) for r in q.tolist()] == loop


def test_analogy_questions_validates():
    with pytest.raises(ValueError, match="same length"):
        g.analogy_questions([0, 1], [2, 3, 4])
    with pytest.raises(ValueError, match="two pairs"):
        g.analogy_questions([0], [1])
    with pytest.raises(TypeError, match="first"):
        g.analogy_questions([0.0, 1.0], [2, 3])
    with pytest.raises(ValueError, match="second"):
        g.analogy_questions([0, 1], [[2, 3]])
    with pytest.raises(ValueError, match="non-negative"):
        g.analogy_questions([0, -1], [2, 3])
