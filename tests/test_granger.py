"""Tests of semlib.granger: closed forms, GC = 2 TE, sampling accuracy, agreement with statsmodels, validation."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from statsmodels.tsa.api import VAR
from statsmodels.tsa.stattools import grangercausalitytests
from statsmodels.tsa.vector_ar.var_model import VARProcess

from semlib import granger

# The reference system of the chapter: x_t = 0.5 x_{t-1} + e, y_t = 0.6 y_{t-1} + 0.4 x_{t-1} + e'.
A_REF = np.array([[[0.5, 0.0], [0.4, 0.6]]])
SIGMA_REF = np.eye(2)
N_SAMPLES = 20_000


def reference_gc_first_principles() -> float:
    """GC_{x->y} of the reference system from the ARMA(2,1) form of y alone.

    (1 - 0.5L)(1 - 0.6L) y_t = 0.4 e_{t-1} + (1 - 0.5L) e'_t; the right side is an MA(1) with
    gamma_0 = 0.4^2 + 1 + 0.5^2 = 1.41 and gamma_1 = -0.5. Its invertible factorisation
    eta_t + theta eta_{t-1} has sigma^2 (1 + theta^2) = gamma_0 and sigma^2 theta = gamma_1, so
    theta solves theta^2 - (gamma_0/gamma_1) theta + 1 = 0 with |theta| < 1, and the innovation
    variance of y given its own past is sigma^2. The full model's is 1, so GC = log sigma^2.
    """
    g0, g1 = 0.4**2 + 1 + 0.5**2, -0.5
    r = g0 / g1
    theta = (r + math.sqrt(r * r - 4)) / 2  # r < 0: this root is the one inside the unit circle
    assert abs(theta) < 1
    return math.log(g1 / theta)


def random_stationary_var(seed: int, d: int, p: int, radius: float = 0.9) -> tuple[np.ndarray, np.ndarray]:
    """A random VAR(p) with companion spectral radius `radius` and a random SPD Sigma."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(p, d, d))
    rho = np.max(np.abs(np.linalg.eigvals(granger.companion_matrix(A))))
    c = radius / rho  # scaling A_k by c^k scales every companion eigenvalue by c
    A = A * (c ** np.arange(1, p + 1))[:, None, None]
    L = rng.normal(size=(d, d))
    return A, L @ L.T + 0.2 * np.eye(d)


# --- the reference case (population values) -----------------------------------------------------


def test_reference_numbers_from_first_principles():
    gc = reference_gc_first_principles()
    assert gc == pytest.approx(0.18400022730357, abs=1e-13)  # the brief's 0.1840 confirmed
    assert granger.granger_causality(A_REF, SIGMA_REF, 0, 1) == pytest.approx(gc, abs=1e-12)
    assert granger.transfer_entropy(A_REF, SIGMA_REF, 0, 1) == pytest.approx(gc / 2, abs=1e-12)
    assert granger.granger_causality(A_REF, SIGMA_REF, 0, 1) == pytest.approx(0.1840, abs=1e-4)
    assert granger.transfer_entropy(A_REF, SIGMA_REF, 0, 1) == pytest.approx(0.0920, abs=1e-4)


def test_reference_gc_is_twice_te_and_units():
    gc = granger.granger_causality(A_REF, SIGMA_REF, 0, 1)
    te = granger.transfer_entropy(A_REF, SIGMA_REF, 0, 1)
    # Riccati equation vs. log-determinants of 50x50 block-Toeplitz matrices: rounding ~1e-14.
    assert gc == pytest.approx(2 * te, abs=1e-12)
    assert granger.granger_causality(A_REF, SIGMA_REF, 0, 1, base=2) == pytest.approx(gc / math.log(2), abs=1e-14)
    assert granger.transfer_entropy(A_REF, SIGMA_REF, 0, 1, base=2) == pytest.approx(te / math.log(2), abs=1e-14)
    assert isinstance(gc, np.float64) and isinstance(te, np.float64)


def test_no_causality_from_y_to_x():
    assert granger.granger_causality(A_REF, SIGMA_REF, source=1, target=0) == pytest.approx(0.0, abs=1e-13)
    assert granger.transfer_entropy(A_REF, SIGMA_REF, source=1, target=0) == pytest.approx(0.0, abs=1e-12)
    assert granger.granger_causality(A_REF, SIGMA_REF, 1, 0, lags=3) == pytest.approx(0.0, abs=1e-13)


def test_finite_lags_decrease_to_the_exact_value():
    exact = granger.granger_causality(A_REF, SIGMA_REF, 0, 1)
    by_lags = [granger.granger_causality(A_REF, SIGMA_REF, 0, 1, lags=k) for k in (1, 2, 3, 5, 10, 30)]
    assert all(a > b for a, b in itertools.pairwise(by_lags))
    assert by_lags[0] == pytest.approx(0.18456033, abs=1e-8)
    assert by_lags[-1] == pytest.approx(exact, abs=1e-13)
    # the error decays like theta^(2k), theta = -0.416
    assert 0 < by_lags[3] - exact < 1e-6


# --- GC = 2 TE (Barnett, Barrett and Seth) on other systems ---------------------------------------


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("given", [None, ()])
def test_gc_is_twice_te_on_random_vars(seed, given):
    d, p = 3 + seed % 2, 1 + seed % 3
    A, Sigma = random_stationary_var(seed, d, p)
    target = (1, 2) if d == 4 else 1
    gc = granger.granger_causality(A, Sigma, 0, target, given=given)
    te = granger.transfer_entropy(A, Sigma, 0, target, given=given)
    # two different computations: the default TE stops doubling its history at a change <= 1e-10 nats
    assert gc == pytest.approx(2 * te, abs=1e-9)
    assert gc >= -1e-13
    # with the same finite history, regression (Schur complement) vs. entropies (log-determinants)
    gc5 = granger.granger_causality(A, Sigma, 0, target, given=given, lags=5)
    te5 = granger.transfer_entropy(A, Sigma, 0, target, given=given, lags=5)
    assert gc5 == pytest.approx(2 * te5, abs=1e-11)


@pytest.mark.parametrize("seed", range(4))
def test_riccati_matches_long_regression(seed):
    A, Sigma = random_stationary_var(100 + seed, 3, 2, radius=0.8)
    for given in (None, ()):
        exact = granger.granger_causality(A, Sigma, 2, 0, given=given)
        long = granger.granger_causality(A, Sigma, 2, 0, given=given, lags=80)
        assert exact == pytest.approx(long, abs=1e-12)  # the lags=80 error is below 1e-14 here


def test_invariant_under_relabelling_variables():
    A, Sigma = random_stationary_var(7, 3, 2)
    perm = np.array([2, 0, 1])  # new variable i is old variable perm[i]
    A_p = A[:, perm][:, :, perm]
    Sigma_p = Sigma[np.ix_(perm, perm)]
    inv = np.argsort(perm)
    gc = granger.granger_causality(A, Sigma, 0, 1)
    assert granger.granger_causality(A_p, Sigma_p, int(inv[0]), int(inv[1])) == pytest.approx(gc, abs=1e-12)


def test_hidden_common_cause_creates_spurious_causality():
    # z drives x at lag 1 and y at lag 2; x has no effect on y.
    A = np.zeros((2, 3, 3))
    A[0] = [[0.3, 0.0, 0.8], [0.0, 0.3, 0.0], [0.0, 0.0, 0.5]]  # x_t <- z_{t-1}
    A[1, 1, 2] = 0.8  # y_t <- z_{t-2}
    Sigma = np.eye(3)
    assert granger.granger_causality(A, Sigma, 0, 1) == pytest.approx(0.0, abs=1e-12)  # z observed
    hidden = granger.granger_causality(A, Sigma, 0, 1, given=())  # z unobserved
    assert hidden > 0.05
    assert hidden == pytest.approx(2 * granger.transfer_entropy(A, Sigma, 0, 1, given=()), abs=1e-9)
    assert hidden == pytest.approx(granger.granger_causality(A, Sigma, 0, 1, given=(), lags=200), abs=1e-10)


def test_transfer_entropy_warns_when_the_history_cap_is_reached(monkeypatch):
    monkeypatch.setattr(granger, "_TE_MAX_ROWS", 40)  # the real cap is 4096 rows
    with pytest.warns(UserWarning, match="has not converged"):
        te = granger.transfer_entropy(A_REF, SIGMA_REF, 0, 1)
    assert te == pytest.approx(granger.transfer_entropy(A_REF, SIGMA_REF, 0, 1, lags=16), abs=1e-15)


# --- autocovariances ---------------------------------------------------------------------------


def test_autocovariance_of_ar1():
    a = 0.7
    G = granger.autocovariance([[[a]]], [[2.0]], 5)
    np.testing.assert_allclose(G[:, 0, 0], 2.0 * a ** np.arange(6) / (1 - a**2), rtol=1e-13)


def test_autocovariance_matches_statsmodels():
    A, Sigma = random_stationary_var(3, 3, 2)
    G = granger.autocovariance(A, Sigma, 6)
    np.testing.assert_allclose(G, VARProcess(A, None, Sigma).acf(6), rtol=1e-10, atol=1e-12)


# --- simulation ----------------------------------------------------------------------------------


def test_simulate_var_shapes_and_seeds():
    x = granger.simulate_var(A_REF, SIGMA_REF, 50, seed=3)
    assert x.shape == (50, 2) and x.dtype == np.float64
    np.testing.assert_array_equal(x, granger.simulate_var(A_REF, SIGMA_REF, 50, seed=3))
    np.testing.assert_array_equal(x, granger.simulate_var(A_REF, SIGMA_REF, 50, seed=np.random.default_rng(3)))
    assert not np.array_equal(x, granger.simulate_var(A_REF, SIGMA_REF, 50, seed=4))
    assert granger.simulate_var(A_REF, SIGMA_REF, 50, burn_in=100, seed=3).shape == (50, 2)


@pytest.mark.slow
def test_simulate_var_starts_in_the_stationary_law():
    # 4000 independent paths of length 2 of a VAR(2): the first rows must have covariance
    # Gamma_0 and lag-1 covariance Gamma_1 exactly (no burn-in). A sample covariance entry of
    # N Gaussian pairs has standard error sqrt((G_ii G_jj + G_ij^2) / N); allow 5 of them.
    A, Sigma = random_stationary_var(11, 2, 2, radius=0.9)
    G = granger.autocovariance(A, Sigma, 1)
    rng = np.random.default_rng(2024)
    paths = np.stack([granger.simulate_var(A, Sigma, 2, seed=rng) for _ in range(4000)])
    now, before = paths[:, 1], paths[:, 0]
    for est, gamma in ((now.T @ now / 4000, G[0]), (now.T @ before / 4000, G[1])):
        se = np.sqrt((np.outer(np.diag(G[0]), np.diag(G[0])) + gamma**2) / 4000)
        assert np.all(np.abs(est - gamma) < 5 * se)


# --- estimates from samples ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def ref_samples():
    return granger.simulate_var(A_REF, SIGMA_REF, N_SAMPLES, seed=20251101)


def test_sample_estimates_within_standard_errors(ref_samples):
    p = 2
    truth = granger.granger_causality(A_REF, SIGMA_REF, 0, 1, lags=p)  # what an order-2 fit estimates
    T = N_SAMPLES - p
    # Standard error from the non-central chi^2 law of T*GC_hat (df J = 2, non-centrality T*GC):
    # sqrt(2 (J + 2 T GC)) / T = 0.0061. A Monte Carlo run of 400 such samples gave 0.0058, so 4
    # of these is at least 4 actual standard errors; the bias J/T = 1e-4 is negligible.
    se = math.sqrt(2 * (2 + 2 * T * truth)) / T
    gc_hat = granger.granger_causality_from_samples(ref_samples, 0, 1, p)
    te_hat = granger.transfer_entropy_from_samples(ref_samples, 0, 1, p)
    assert abs(gc_hat - truth) < 4 * se
    assert abs(te_hat - truth / 2) < 2 * se
    # the reverse direction is zero: T*GC_hat is chi^2_2 under the null, 99.99% quantile 18.4
    assert granger.granger_causality_from_samples(ref_samples, 1, 0, p) < 18.5 / T


def test_sample_te_is_half_sample_gc(ref_samples):
    # regression residuals vs. log-determinants of sample covariances: the same number up to rounding
    for p in (1, 3):
        gc_hat = granger.granger_causality_from_samples(ref_samples, 0, 1, p)
        te_hat = granger.transfer_entropy_from_samples(ref_samples, 0, 1, p)
        assert gc_hat == pytest.approx(2 * te_hat, abs=1e-11)
        bits = granger.transfer_entropy_from_samples(ref_samples, 0, 1, p, base=2)
        assert bits == pytest.approx(te_hat / math.log(2), abs=1e-14)


def test_confidence_interval(ref_samples):
    res = granger.granger_f_test(ref_samples, 0, 1, 2)
    truth = granger.granger_causality(A_REF, SIGMA_REF, 0, 1, lags=2)
    lo, hi = granger.granger_confidence_interval(res.gc, res.nobs, res.df_num)
    assert lo < truth < hi and lo < res.gc < hi
    lo99, hi99 = granger.granger_confidence_interval(res.gc, res.nobs, res.df_num, level=0.99)
    assert lo99 < lo and hi < hi99
    # the lower end is 0 exactly when "no causality" is not rejected at level 2.5 %
    assert granger.granger_confidence_interval(1e-5, 20_000, 2)[0] == 0.0
    # vectorised over estimates and sample sizes (confidence bands)
    los, his = granger.granger_confidence_interval(0.1, [500, 5_000, 50_000], 2)
    assert los.shape == his.shape == (3,) and np.all(los < 0.1) and np.all(0.1 < his)
    assert np.all(np.diff(his - los) < 0)  # narrower with more data


# --- agreement with statsmodels ------------------------------------------------------------------


@pytest.mark.parametrize("p", [1, 3])
@pytest.mark.parametrize("intercept", [True, False])
def test_fit_var_matches_statsmodels(p, intercept):
    A, Sigma = random_stationary_var(5, 3, 2)
    x = granger.simulate_var(A, Sigma, 800, seed=1) + 2.0  # a non-zero mean
    fit = granger.fit_var(x, p, intercept=intercept)
    sm = VAR(x).fit(p, trend="c" if intercept else "n")
    np.testing.assert_allclose(fit.A, sm.coefs, atol=1e-10)
    np.testing.assert_allclose(fit.Sigma, sm.sigma_u, atol=1e-10)  # divisor T - k (df-corrected)
    np.testing.assert_allclose(fit.Sigma_ml, sm.sigma_u_mle, atol=1e-10)  # divisor T
    np.testing.assert_allclose(fit.residuals, sm.resid, atol=1e-10)
    assert fit.nobs == sm.nobs and fit.df_resid == sm.df_resid
    if intercept:
        np.testing.assert_allclose(fit.intercept, sm.intercept, atol=1e-10)
    else:
        assert np.all(fit.intercept == 0)


def test_fit_var_recovers_coefficients(ref_samples):
    fit = granger.fit_var(ref_samples, 1)
    # OLS standard error of each coefficient ~ 1/sqrt(T Var x) < 1/sqrt(20000) = 0.007; allow 5
    np.testing.assert_allclose(fit.A[0], A_REF[0], atol=0.035)
    np.testing.assert_allclose(fit.Sigma, SIGMA_REF, atol=0.05)


@pytest.mark.parametrize("p", [1, 2, 4])
def test_f_test_matches_grangercausalitytests(p):
    x = granger.simulate_var(A_REF, SIGMA_REF, 600, seed=p)
    for src, tgt in ((0, 1), (1, 0)):
        ours = granger.granger_f_test(x, src, tgt, p)
        # statsmodels: does the second column Granger-cause the first?
        sm = grangercausalitytests(x[:, [tgt, src]], [p])[p][0]
        f_sm, pval_sm, df_denom_sm, df_num_sm = sm["ssr_ftest"]
        assert ours.f_stat == pytest.approx(f_sm, rel=1e-9)
        assert ours.p_value == pytest.approx(pval_sm, rel=1e-7, abs=1e-300)
        assert (ours.df_num, ours.df_denom) == (df_num_sm, df_denom_sm)
        lr_sm, lr_p_sm, _ = sm["lrtest"]
        assert ours.lr_stat == pytest.approx(lr_sm, rel=1e-9)
        assert ours.lr_p_value == pytest.approx(lr_p_sm, rel=1e-7, abs=1e-300)
        assert ours.gc == pytest.approx(granger.granger_causality_from_samples(x, src, tgt, p), abs=1e-15)


@pytest.mark.parametrize("target, source", [((0,), (1,)), ((0, 2), (1,)), ((1,), (0, 2))])
def test_f_test_matches_var_test_causality(target, source):
    A, Sigma = random_stationary_var(9, 3, 2)
    x = granger.simulate_var(A, Sigma, 1_000, seed=2)
    ours = granger.granger_f_test(x, source, target, 2)
    sm = VAR(x).fit(2).test_causality(list(target), list(source), kind="f")
    assert ours.f_stat == pytest.approx(sm.test_statistic, rel=1e-9)
    assert ours.df_num == sm.df[0]
    # statsmodels refers F to F(J, d (T - k)) with d = 3 variables in the system (Lutkepohl, sec. 3.6.1);
    # ours uses |target| (T - k). Same statistic, so with statsmodels' df we get its p-value.
    from scipy import stats

    assert stats.f.sf(ours.f_stat, *sm.df) == pytest.approx(sm.pvalue, rel=1e-7, abs=1e-300)
    assert ours.df_denom * 3 == sm.df[1] * len(target)


# --- validation ----------------------------------------------------------------------------------


def test_non_stationary_var_is_rejected_with_its_spectral_radius():
    with pytest.raises(ValueError, match=r"not stationary.*spectral radius .* 1\.1"):
        granger.granger_causality([[[1.1, 0.0], [0.0, 0.5]]], np.eye(2), 0, 1)
    with pytest.raises(ValueError, match="not stationary"):  # a unit root
        granger.simulate_var([[[1.0]]], [[1.0]], 10)
    with pytest.raises(ValueError, match="not stationary"):  # VAR(2) whose companion has radius > 1
        granger.transfer_entropy([[[0.5]], [[0.6]]], [[1.0]], 0, 0)


@pytest.mark.parametrize(
    "Sigma, message",
    [
        ([[1.0, 0.5], [0.0, 1.0]], "symmetric"),
        ([[1.0, 2.0], [2.0, 1.0]], "positive definite"),
        ([[1.0, 1.0], [1.0, 1.0]], "positive definite"),
        (np.eye(3), r"shape \(2, 2\)"),
        ([[1.0, np.nan], [np.nan, 1.0]], "finite"),
    ],
)
def test_bad_sigma(Sigma, message):
    with pytest.raises(ValueError, match=message):
        granger.granger_causality(A_REF, Sigma, 0, 1)
    with pytest.raises(ValueError, match=message):
        granger.simulate_var(A_REF, Sigma, 10)


def test_bad_shapes_and_arguments():
    with pytest.raises(ValueError, match=r"shape \(p, d, d\)"):
        granger.simulate_var(A_REF[0], SIGMA_REF, 10)
    with pytest.raises(ValueError, match=r"shape \(p, d, d\)"):
        granger.autocovariance(np.zeros((1, 2, 3)), SIGMA_REF, 2)
    with pytest.raises(ValueError, match="share the variables"):
        granger.granger_causality(A_REF, SIGMA_REF, 0, 0)
    with pytest.raises(ValueError, match="only 2 variables"):
        granger.granger_causality(A_REF, SIGMA_REF, 0, 2)
    with pytest.raises(ValueError, match="at least one variable"):
        granger.transfer_entropy(A_REF, SIGMA_REF, (), 1)
    with pytest.raises(TypeError, match="`lags` must be an int"):
        granger.granger_causality(A_REF, SIGMA_REF, 0, 1, lags=2.0)
    with pytest.raises(ValueError, match="`lags` must be at least 1"):
        granger.transfer_entropy(A_REF, SIGMA_REF, 0, 1, lags=0)
    with pytest.raises(TypeError, match="`n` must be an int"):
        granger.simulate_var(A_REF, SIGMA_REF, True)
    gc = granger.granger_causality(torch.tensor(A_REF), SIGMA_REF, 0, 1)  # torch in, torch out
    assert isinstance(gc, torch.Tensor) and gc.ndim == 0
    with pytest.raises(TypeError, match="source"):
        granger.granger_causality(A_REF, SIGMA_REF, "x", 1)


def test_bad_samples():
    x = granger.simulate_var(A_REF, SIGMA_REF, 30, seed=0)
    with pytest.raises(ValueError, match=r"shape \(n, d\)"):
        granger.fit_var(x[:, 0], 1)
    with pytest.raises(ValueError, match="too few samples"):
        granger.fit_var(x[:8], 3)
    with pytest.raises(ValueError, match="too few samples"):
        granger.granger_f_test(x[:6], 0, 1, 2)
    bad = x.copy()
    bad[3, 1] = np.inf
    with pytest.raises(ValueError, match="finite"):
        granger.granger_causality_from_samples(bad, 0, 1, 1)
    with pytest.raises(ValueError, match="`lags` must be at least 1"):
        granger.transfer_entropy_from_samples(x, 0, 1, 0)
    with pytest.raises(ValueError, match="level"):
        granger.granger_confidence_interval(0.1, 100, 1, level=1.0)
    with pytest.raises(ValueError, match="non-negative"):
        granger.granger_confidence_interval(-0.1, 100, 1)
