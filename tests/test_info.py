"""Tests of semlib.info: exact values, identities, validation, backends, and agreement with dit."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from strategies import joint_pmfs, random_pmf

from semlib import info

LOG2 = math.log(2)


def h2(q: float) -> float:
    """Binary entropy in bits."""
    return 0.0 if q in (0.0, 1.0) else -q * math.log2(q) - (1 - q) * math.log2(1 - q)


# --- exact values ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "p, bits",
    [
        ([1.0], 0.0),
        ([0.5, 0.5], 1.0),
        ([0.25] * 4, 2.0),
        ([0.5, 0.25, 0.25], 1.5),
        ([0.9, 0.1], h2(0.1)),
        ([1.0, 0.0, 0.0], 0.0),
    ],
)
def test_entropy_known_values(p, bits):
    assert info.entropy(p, base=2) == pytest.approx(bits, abs=1e-12)
    assert info.entropy(p) == pytest.approx(bits * LOG2, abs=1e-12)


@pytest.mark.parametrize("eps", [0.0, 0.01, 0.1, 0.25, 0.5])
def test_mutual_information_of_bsc(eps):
    p = np.array([[0.5 * (1 - eps), 0.5 * eps], [0.5 * eps, 0.5 * (1 - eps)]])
    assert info.mutual_information(p, 0, 1, base=2) == pytest.approx(1 - h2(eps), abs=1e-12)


def test_xor_conditional_mutual_information():
    p = np.zeros((2, 2, 2))
    for x in (0, 1):
        for y in (0, 1):
            p[x, y, x ^ y] = 0.25
    assert info.mutual_information(p, 0, 2, base=2) == pytest.approx(0.0, abs=1e-15)
    assert info.mutual_information(p, 0, 2, given=1, base=2) == pytest.approx(1.0, abs=1e-12)
    assert info.mutual_information(p, (0, 1), 2, base=2) == pytest.approx(1.0, abs=1e-12)


def test_kl_and_cross_entropy_known_values():
    p, q = np.array([0.5, 0.5]), np.array([0.25, 0.75])
    kl = 0.5 * math.log(0.5 / 0.25) + 0.5 * math.log(0.5 / 0.75)
    assert info.kl_divergence(p, q) == pytest.approx(kl, abs=1e-15)
    assert info.cross_entropy(p, q) == pytest.approx(info.entropy(p) + kl, abs=1e-15)
    assert info.kl_divergence(p, p) == 0.0


def test_kl_is_infinite_not_nan_without_absolute_continuity():
    assert info.kl_divergence([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert info.cross_entropy([0.5, 0.5], [1.0, 0.0]) == math.inf
    assert info.kl_divergence([1.0, 0.0], [0.5, 0.5]) == pytest.approx(LOG2)


def test_marginal_order_and_values():
    p = np.arange(24, dtype=float).reshape(2, 3, 4)
    p /= p.sum()
    np.testing.assert_allclose(info.marginal(p, (2, 0)), p.sum(axis=1).T)
    np.testing.assert_allclose(info.marginal(p, -1), p.sum(axis=(0, 1)))


def test_joint_from_conditionals_bsc():
    joint = info.joint_from_conditionals([[0.5, 0.5], [[0.9, 0.1], [0.1, 0.9]]])
    np.testing.assert_allclose(joint, [[0.45, 0.05], [0.05, 0.45]])


def test_information_density_mean_and_shape():
    rng = np.random.default_rng(0)
    p = random_pmf(rng, (2, 3, 2, 2))
    d = info.information_density(p, (0,), (2,), given=(1,))
    assert d.shape == (2, 3, 2, 1)
    assert (p * d).sum() == pytest.approx(info.mutual_information(p, 0, 2, given=1), abs=1e-14)


# --- identities (property tests) -----------------------------------------------------------


@given(joint_pmfs(min_vars=1, max_vars=4))
def test_entropy_bounds(p):
    h = info.entropy(p)
    assert -1e-12 <= h <= math.log(p.size) + 1e-12


@given(joint_pmfs(min_vars=3, max_vars=4))
def test_chain_rule_of_mutual_information(p):
    # I(X0; X1, X2) = I(X0; X1) + I(X0; X2 | X1)
    lhs = info.mutual_information(p, 0, (1, 2))
    rhs = info.mutual_information(p, 0, 1) + info.mutual_information(p, 0, 2, given=1)
    assert lhs == pytest.approx(rhs, abs=1e-12)


@given(joint_pmfs(min_vars=3, max_vars=4))
def test_mutual_information_is_symmetric_nonnegative_and_matches_entropies(p):
    i_ab = info.mutual_information(p, 0, 1, given=2)
    assert i_ab >= -1e-13
    assert i_ab == pytest.approx(info.mutual_information(p, 1, 0, given=2), abs=1e-13)
    via_entropies = (
        info.entropy(p, (0, 2)) + info.entropy(p, (1, 2)) - info.entropy(p, (0, 1, 2)) - info.entropy(p, (2,))
    )
    assert i_ab == pytest.approx(via_entropies, abs=1e-12)
    assert info.conditional_entropy(p, 0, given=2) == pytest.approx(
        info.entropy(p, (0, 2)) - info.entropy(p, 2), abs=1e-12
    )


@given(joint_pmfs(min_vars=1, max_vars=3, sparse=False), joint_pmfs(min_vars=1, max_vars=3, sparse=False))
def test_gibbs_inequality(p, q):
    if p.shape != q.shape:
        return
    assert info.kl_divergence(p, q) >= -1e-13
    assert info.cross_entropy(p, q) == pytest.approx(info.entropy(p) + info.kl_divergence(p, q), abs=1e-10)


# --- validation: clear errors, never NaN ----------------------------------------------------


@pytest.mark.parametrize(
    "bad, message",
    [
        ([0.5, 0.6], "must sum to 1"),
        ([1.2, -0.2], "must be non-negative"),
        ([np.nan, 1.0], "finite"),
        (1.0, "at least one axis"),
        (np.zeros((0,)), "must not be empty"),
    ],
)
def test_bad_pmf_raises_value_error(bad, message):
    with pytest.raises(ValueError, match=message):
        info.entropy(bad)


def test_non_numeric_raises_type_error():
    with pytest.raises(TypeError, match="`p` must be a numeric array"):
        info.entropy(["a", "b"])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"a": (0,), "b": (0,)}, "`a` and `b` share the axes"),
        ({"a": (0, 0), "b": (1,)}, "`a` repeats an axis"),
        ({"a": (0,), "b": (5,)}, "`b` names axis 5"),
        ({"a": (0,), "b": (1,), "given": (1,)}, "`b` and `given` share"),
        ({"a": (0.5,), "b": (1,)}, "`a` must contain ints"),
    ],
)
def test_bad_axes_raise(kwargs, message):
    p = np.full((2, 2, 2), 0.125)
    with pytest.raises((ValueError, TypeError), match=message):
        info.mutual_information(p, **kwargs)


def test_mismatched_shapes_raise():
    with pytest.raises(ValueError, match="same shape"):
        info.kl_divergence([0.5, 0.5], [0.2, 0.3, 0.5])


def test_bad_base_raises():
    with pytest.raises(ValueError, match="`base`"):
        info.entropy([0.5, 0.5], base=1)
    with pytest.raises(ValueError, match="`base`"):
        info.entropy([0.5, 0.5], base=-2)


def test_bad_conditionals_raise():
    with pytest.raises(ValueError, match=r"conditionals\[1\]"):
        info.joint_from_conditionals([[0.5, 0.5], [[0.9, 0.2], [0.1, 0.9]]])
    with pytest.raises(ValueError, match="leading shape"):
        info.joint_from_conditionals([[0.5, 0.5], [[1.0], [1.0], [1.0]]])


# --- torch backend ---------------------------------------------------------------------------


def test_torch_in_torch_out_with_gradients():
    rng = np.random.default_rng(1)
    p_np = random_pmf(rng, (2, 3, 2))
    p = torch.tensor(p_np, requires_grad=True)
    mi = info.mutual_information(p, 0, 1, given=2)
    assert isinstance(mi, torch.Tensor) and mi.dtype == torch.float64 and mi.device == p.device
    assert mi.item() == pytest.approx(info.mutual_information(p_np, 0, 1, given=2), abs=1e-14)
    mi.backward()
    assert torch.isfinite(p.grad).all()


def test_torch_gradient_with_zero_cells_is_finite():
    p = torch.tensor([[0.5, 0.0], [0.0, 0.5]], dtype=torch.float64, requires_grad=True)
    info.mutual_information(p, 0, 1).backward()
    assert torch.isfinite(p.grad).all()


def test_torch_float32_is_accepted():
    p = torch.full((2, 2), 0.25, dtype=torch.float32)
    assert info.entropy(p).dtype == torch.float32


# --- agreement with the dit package ----------------------------------------------------------


def _to_dit(p: np.ndarray):
    import dit

    outcomes, probs = [], []
    for idx in np.ndindex(*p.shape):
        if p[idx] > 0:
            outcomes.append(tuple(idx))
            probs.append(p[idx])
    return dit.Distribution(outcomes, probs)


@pytest.mark.parametrize("seed", range(5))
def test_agreement_with_dit(seed):
    dit = pytest.importorskip("dit")
    rng = np.random.default_rng(seed)
    p = random_pmf(rng, (2, 3, 2, 2))
    d = _to_dit(p)
    assert info.entropy(p, base=2) == pytest.approx(dit.shannon.entropy(d), abs=1e-10)
    assert info.entropy(p, (0, 2), base=2) == pytest.approx(dit.shannon.entropy(d, [0, 2]), abs=1e-10)
    assert info.mutual_information(p, (0,), (1, 3), base=2) == pytest.approx(
        dit.shannon.mutual_information(d, [0], [1, 3]), abs=1e-10
    )
    assert info.mutual_information(p, 0, 1, given=(2, 3), base=2) == pytest.approx(
        dit.multivariate.coinformation(d, [[0], [1]], [2, 3]), abs=1e-10
    )
