"""Tests of semlib.directed: Definitions 2-4, Massey's inequality, the conservation law."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from strategies import random_pmf, sequence_pmfs

from semlib import directed, info


def massey_feedback_example() -> np.ndarray:
    """Y1 a fair bit, X2 = Y1, X1 and Y2 constant: all shared information flows Y -> X."""
    p = np.zeros((2, 2, 2, 2))  # X1, Y1, X2, Y2
    p[0, 0, 0, 0] = p[0, 1, 1, 0] = 0.5
    return p


def test_feedback_example_exact():
    p = massey_feedback_example()
    x, y = (0, 2), (1, 3)
    assert info.mutual_information(p, x, y, base=2) == pytest.approx(1.0)
    assert directed.directed_information(p, x, y, base=2) == pytest.approx(0.0, abs=1e-15)
    assert directed.directed_information(p, y, x, delay=1, base=2) == pytest.approx(1.0)
    # Definition 3: Y1 predicts the future input X2 perfectly
    assert directed.backward_directed_information(p, x, y, base=2) == pytest.approx(1.0)


def test_n_equals_one_reduces_to_mutual_information():
    rng = np.random.default_rng(3)
    p = random_pmf(rng, (3, 4))
    assert directed.directed_information(p, (0,), (1,)) == pytest.approx(info.mutual_information(p, 0, 1), abs=1e-14)
    assert directed.backward_directed_information(p, (0,), (1,)) == 0.0


def test_memoryless_channel_without_feedback_gives_n_times_capacity_term():
    eps, n = 0.1, 3
    bsc = np.array([[1 - eps, eps], [eps, 1 - eps]])
    conds = []
    for t in range(n):
        conds.append(np.full((2,) * (2 * t) + (2,), 0.5))
        conds.append(np.broadcast_to(bsc, (2,) * (2 * t) + (2, 2)).copy())
    p = info.joint_from_conditionals(conds)
    x, y = tuple(range(0, 2 * n, 2)), tuple(range(1, 2 * n, 2))
    h = -eps * np.log2(eps) - (1 - eps) * np.log2(1 - eps)
    assert directed.directed_information(p, x, y, base=2) == pytest.approx(n * (1 - h), abs=1e-12)
    assert info.mutual_information(p, x, y, base=2) == pytest.approx(n * (1 - h), abs=1e-12)
    assert directed.directed_information(p, y, x, delay=1) == pytest.approx(0.0, abs=1e-14)


def test_terms_sum_to_total_and_state_axes_are_marginalised():
    rng = np.random.default_rng(4)
    p = random_pmf(rng, (2, 2, 3, 2, 2))  # X1, Y1, S (a state), X2, Y2
    x, y = (0, 3), (1, 4)
    terms = directed.directed_information_terms(p, x, y)
    assert terms.shape == (2,)
    assert terms.sum() == pytest.approx(directed.directed_information(p, x, y), abs=1e-15)
    p_no_state = p.sum(axis=2)
    assert directed.directed_information(p_no_state, (0, 2), (1, 3)) == pytest.approx(
        directed.directed_information(p, x, y), abs=1e-14
    )


# --- properties on random laws --------------------------------------------------------------


@given(sequence_pmfs(max_n=3))
def test_directed_information_between_zero_and_mutual_information(case):
    p, x, y = case
    di = directed.directed_information(p, x, y)
    assert -1e-13 <= di <= info.mutual_information(p, x, y) + 1e-12
    assert directed.backward_directed_information(p, x, y) >= -1e-13


@given(sequence_pmfs(max_n=3))
def test_conservation_law(case):
    # Massey & Massey (2005): I(X;Y) = I(X -> Y) + I(0*Y -> X)
    p, x, y = case
    lhs = info.mutual_information(p, x, y)
    rhs = directed.directed_information(p, x, y) + directed.directed_information(p, y, x, delay=1)
    assert lhs == pytest.approx(rhs, abs=1e-12)


@given(sequence_pmfs(max_n=3))
def test_remainder_identity(case):
    # sum_t I(X_{t+1:n}; Y_t | Y_{1:t-1}, X_{1:t}) = I(0*Y -> X)
    p, x, y = case
    n = len(x)
    remainder = sum(info.mutual_information(p, x[t + 1 :], (y[t],), given=y[:t] + x[: t + 1]) for t in range(n))
    assert remainder == pytest.approx(directed.directed_information(p, y, x, delay=1), abs=1e-12)


@given(sequence_pmfs(max_n=3))
def test_density_means(case):
    p, x, y = case
    printed = directed.directed_information_density(p, x, y, conditioning="all")
    causal = directed.directed_information_density(p, x, y, conditioning="causal")
    assert (p * printed).sum() == pytest.approx(info.mutual_information(p, x, y), abs=1e-12)
    assert (p * causal).sum() == pytest.approx(directed.directed_information(p, x, y), abs=1e-12)
    assert np.all(np.isfinite(printed)) and np.all(np.isfinite(causal))


def test_densities_coincide_without_feedback_and_differ_with_it():
    rng = np.random.default_rng(5)
    # no feedback: X2 depends on X1 only
    p_x1 = rng.dirichlet(np.ones(2))
    p_y1 = rng.dirichlet(np.ones(2), size=2)  # Y1 | X1
    p_x2 = np.broadcast_to(rng.dirichlet(np.ones(2), size=2)[:, None, :], (2, 2, 2)).copy()  # X2 | X1, Y1
    p_y2 = rng.dirichlet(np.ones(2), size=(2, 2, 2))  # Y2 | X1, Y1, X2
    p = info.joint_from_conditionals([p_x1, p_y1, p_x2, p_y2])
    a = directed.directed_information_density(p, (0, 2), (1, 3), "all")
    c = directed.directed_information_density(p, (0, 2), (1, 3), "causal")
    np.testing.assert_allclose(a, c, atol=1e-12)
    q = massey_feedback_example()
    a = directed.directed_information_density(q, (0, 2), (1, 3), "all")
    c = directed.directed_information_density(q, (0, 2), (1, 3), "causal")
    assert np.abs(a - c).max() > 0.5


# --- validation, backends -------------------------------------------------------------------


def test_bad_arguments_raise():
    p = np.full((2, 2, 2, 2), 1 / 16)
    with pytest.raises(ValueError, match="same length"):
        directed.directed_information(p, (0, 2), (1,))
    with pytest.raises(ValueError, match="`x_axes` and `y_axes` share"):
        directed.directed_information(p, (0, 1), (1, 3))
    with pytest.raises(ValueError, match="`delay`"):
        directed.directed_information(p, (0, 2), (1, 3), delay=-1)
    with pytest.raises(ValueError, match="`conditioning`"):
        directed.directed_information_density(p, (0, 2), (1, 3), conditioning="future")
    with pytest.raises(ValueError, match="at least one axis"):
        directed.directed_information(p, (), ())
    with pytest.raises(ValueError, match="must sum to 1"):
        directed.directed_information(2 * p, (0, 2), (1, 3))


def test_torch_backend_matches_numpy_and_differentiates():
    rng = np.random.default_rng(6)
    p_np = random_pmf(rng, (2, 2, 2, 2))
    p = torch.tensor(p_np, requires_grad=True)
    di = directed.directed_information(p, (0, 2), (1, 3))
    assert isinstance(di, torch.Tensor)
    assert di.item() == pytest.approx(directed.directed_information(p_np, (0, 2), (1, 3)), abs=1e-14)
    di.backward()
    assert torch.isfinite(p.grad).all()
    dens = directed.directed_information_density(p.detach(), (0, 2), (1, 3), "causal")
    assert isinstance(dens, torch.Tensor) and dens.shape == (2, 2, 2, 2)


@pytest.mark.parametrize("seed", range(3))
def test_directed_information_against_dit_conditional_mutual_informations(seed):
    dit = pytest.importorskip("dit")
    from test_info import _to_dit

    rng = np.random.default_rng(100 + seed)
    p = random_pmf(rng, (2, 2, 2, 2, 2, 2))
    d = _to_dit(p)
    x, y = [0, 2, 4], [1, 3, 5]
    expected = sum(
        dit.multivariate.coinformation(d, [x[: t + 1], [y[t]]], y[:t]) for t in range(3)
    )  # Definition 2 from dit's conditional mutual informations, in bits
    assert directed.directed_information(p, x, y, base=2) == pytest.approx(expected, abs=1e-10)


# --- the echoing encoder on a BSC (chapter Directed information) -----------------------------


def test_echo_feedback_joint_by_enumeration():
    n, f, eps = 3, 0.6, 0.1
    P = directed.echo_feedback_joint(n, f, eps)
    assert P.shape == (2,) * 6 and P.dtype == np.float64 and abs(P.sum() - 1) < 1e-12
    for x1, y1, x2, y2, x3, y3 in np.ndindex(*(2,) * 6):
        want = 0.5
        for x, y, prev in ((x1, y1, None), (x2, y2, y1), (x3, y3, y2)):
            if prev is not None:
                want *= (1 - f) * 0.5 + f * (x == prev)
            want *= 1 - eps if y == x else eps
        assert abs(P[x1, y1, x2, y2, x3, y3] - want) < 1e-15


def test_echo_feedback_joint_conservation_and_no_feedback():
    X, Y = (0, 2, 4), (1, 3, 5)
    P0 = directed.echo_feedback_joint(3, 0.0, 0.2)
    assert abs(directed.directed_information(P0, X, Y) - info.mutual_information(P0, X, Y)) < 1e-12
    P = directed.echo_feedback_joint(3, 0.9, 0.2)
    fb = directed.directed_information(P, Y, X, delay=1)
    assert fb > 0.01 and abs(info.mutual_information(P, X, Y) - directed.directed_information(P, X, Y) - fb) < 1e-12


@pytest.mark.parametrize(
    "args, error, message",
    [
        ((0, 0.5, 0.1), ValueError, "`n` must be at least 1"),
        ((1.5, 0.5, 0.1), TypeError, "`n` must be an int"),
        ((2, 1.5, 0.1), ValueError, "`f` must lie in"),
        ((2, 0.5, -0.1), ValueError, "`eps` must lie in"),
        ((2, "a", 0.1), TypeError, "`f` must be a real number"),
    ],
)
def test_echo_feedback_joint_validation(args, error, message):
    with pytest.raises(error, match=message):
        directed.echo_feedback_joint(*args)
