"""Tests for semlib.bounds (Theorem 8 terms, Rademacher estimators, corrected bound)."""

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from semlib import bounds as bd


def _data(M=50, V=5, seed=0, scale=3.0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(M, V, generator=g, dtype=torch.float64) * scale, torch.randint(0, V, (M,), generator=g)


def test_losses_match_torch():
    z, y = _data()
    assert torch.allclose(bd.per_sample_loss(z, y), F.cross_entropy(z, y, reduction="none"), atol=1e-12)
    assert abs(bd.empirical_loss(z, y) - F.cross_entropy(z, y).item()) < 1e-12
    assert torch.equal(bd.hbar_logits(z, y), z[torch.arange(len(y)), y])


def test_printed_bound_terms():
    z, y = _data()
    pb = bd.printed_bound(z, y, 0.1)
    zh = z[torch.arange(len(y)), y]
    assert abs(pb.rademacher - 2 * math.sqrt(2) * zh.abs().mean().item()) < 1e-12
    assert abs(pb.concentration - 3 * math.sqrt(math.log(20) / 100)) < 1e-12
    assert abs(pb.total - (pb.empirical + pb.rademacher + pb.concentration)) < 1e-12


def test_printed_bound_not_shift_invariant():
    z, y = _data()
    assert abs(bd.empirical_loss(z + 7, y) - bd.empirical_loss(z, y)) < 1e-10
    assert bd.printed_bound(z + 7, y).total > bd.printed_bound(z, y).total + 1


def test_mcdiarmid_scales_with_range():
    assert abs(bd.mcdiarmid_term(100, 0.05, 4.0) - 4 * bd.printed_concentration_term(100, 0.05)) < 1e-12


def test_rademacher_finite_single_and_massart():
    g = torch.Generator().manual_seed(1)
    v = torch.randn(1, 200, generator=g, dtype=torch.float64)
    est, se = bd.rademacher_finite(v, 4000)
    assert abs(est) < 4 * se
    vals = torch.randn(30, 200, generator=g, dtype=torch.float64)
    assert bd.rademacher_finite(vals, 2000)[0] <= bd.massart_bound(vals)
    # the class {+v, -v}: E|sigma.v|/M
    two = torch.cat([v, -v])
    est2, se2 = bd.rademacher_finite(two, 20000, seed=3)
    exact_approx = math.sqrt(2 / math.pi) * v.norm().item() / 200  # CLT for E|sum sigma v|
    assert abs(est2 - exact_approx) < 5 * se2 + 0.01 * exact_approx


def test_rademacher_linear_closed_form_and_mc():
    g = torch.Generator().manual_seed(2)
    phi = torch.randn(40, 6, generator=g, dtype=torch.float64)
    closed, mc = bd.rademacher_linear(phi, 2.0, 3, n_draws=4000)
    assert mc <= closed and mc > 0.9 * closed
    assert abs(closed - 2.0 * math.sqrt(3 * (phi**2).sum().item()) / 40) < 1e-12


def test_smoothed_loss_range_and_lipschitz():
    z, y = _data(scale=50.0)
    loss = bd.smoothed_loss(z, y, 0.01)
    assert loss.min() >= 0 and loss.max() <= bd.smoothed_loss_range(5, 0.01) + 1e-12
    zz = z.clone().requires_grad_()
    (gr,) = torch.autograd.grad(bd.smoothed_loss(zz, y, 0.01).sum(), zz)
    assert gr.norm(dim=1).max() <= bd.smoothed_lipschitz() + 1e-12
    assert torch.allclose(bd.smoothed_probs(z, 0.2).sum(1), torch.ones(len(z), dtype=torch.float64))


def test_corrected_bound_terms_and_validation():
    g = torch.Generator().manual_seed(4)
    phi = torch.randn(100, 4, generator=g, dtype=torch.float64)
    phi = phi / phi.norm(dim=1, keepdim=True)
    y = torch.randint(0, 3, (100,), generator=g)
    W = torch.randn(3, 4, generator=g, dtype=torch.float64)
    W = W / W.norm()
    cb = bd.corrected_bound(phi, W, y, radius=1.0, gamma=0.1, delta=0.05)
    assert abs(cb.rademacher - 4 * 1.0 * math.sqrt(3 * 100) / 100) < 1e-12
    assert abs(cb.concentration - 3 * math.log(30) * math.sqrt(math.log(40) / 200)) < 1e-12
    with pytest.raises(ValueError, match="radius"):
        bd.corrected_bound(phi, 2 * W, y, radius=1.0)


@pytest.mark.parametrize(
    "call, exc",
    [
        (lambda: bd.printed_bound(torch.zeros(3), torch.zeros(3, dtype=torch.long)), TypeError),
        (lambda: bd.printed_bound(torch.zeros(3, 2), torch.zeros(4, dtype=torch.long)), ValueError),
        (lambda: bd.printed_bound(torch.zeros(3, 2), torch.full((3,), 2, dtype=torch.long)), ValueError),
        (lambda: bd.printed_bound(torch.zeros(3, 2), torch.zeros(3, dtype=torch.long), delta=1.5), ValueError),
        (lambda: bd.mcdiarmid_term(0, 0.1), ValueError),
        (lambda: bd.smoothed_probs(torch.zeros(2, 3), 0.0), ValueError),
        (lambda: bd.rademacher_finite(torch.zeros(3), 10), TypeError),
    ],
)
def test_validation(call, exc):
    with pytest.raises(exc):
        call()


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 60), st.integers(2, 9), st.floats(0.001, 0.9), st.integers(0, 10_000))
def test_property_smoothed_loss_bounded_and_above_plain(M, V, gamma, seed):
    z, y = _data(M, V, seed, scale=20.0)
    ls, lp = bd.smoothed_loss(z, y, gamma), bd.per_sample_loss(z, y)
    assert (ls <= bd.smoothed_loss_range(V, gamma) + 1e-9).all() and (ls >= -1e-12).all()
    assert (ls <= lp - math.log(1 - gamma) + 1e-9).all()  # q_gamma >= (1 - gamma) q


def test_rademacher_and_massart_reject_nan():
    """A NaN loss value must raise, not give a NaN complexity."""
    bad = torch.tensor([[float("nan"), 1.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="values"):
        bd.rademacher_finite(bad, 10)
    with pytest.raises(ValueError, match="values"):
        bd.massart_bound(bad)


def _readout_data(M=80, d=4, V=3, seed=5):
    g = torch.Generator().manual_seed(seed)
    phi = torch.randn(M, d, generator=g, dtype=torch.float64)
    phi = phi / phi.norm(dim=1, keepdim=True)
    return phi, torch.randint(0, V, (M,), generator=g)


def test_fit_readout_stays_in_ball_and_lowers_the_loss():
    phi, y = _readout_data()
    W = bd.fit_readout(phi, y, 3, radius=2.0, gamma=0.05, steps=100)
    assert W.shape == (3, 4) and W.dtype == torch.float64
    assert float(W.norm()) <= 2.0 * (1 + 1e-12)
    start = bd.smoothed_loss(phi @ torch.zeros(3, 4, dtype=torch.float64).T, y, 0.05).mean()
    assert bd.smoothed_loss(phi @ W.T, y, 0.05).mean() < start - 1e-3
    bd.corrected_bound(phi, W, y, radius=2.0, gamma=0.05)  # the result is in the class


def test_fit_readout_edge_cases():
    phi, y = _readout_data()
    assert (bd.fit_readout(phi, y, 3, radius=1.0, steps=0) == 0).all()  # zero steps: the start
    assert (bd.fit_readout(phi, y, 3, radius=0.0, steps=5) == 0).all()  # radius 0: the class is {0}
    a = bd.fit_readout(phi, y, 3, radius=1.0, steps=20)
    assert torch.equal(a, bd.fit_readout(phi, y, 3, radius=1.0, steps=20))  # deterministic
    out = bd.fit_readout(phi.numpy(), y.numpy(), 3, radius=1.0, steps=20)  # numpy in, numpy out
    assert isinstance(out, np.ndarray) and np.allclose(out, a.numpy(), atol=1e-12)


def test_fit_readout_matches_the_hand_loop():
    phi, y = _readout_data(seed=6)
    W = torch.zeros(3, 4, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([W], lr=0.1)
    for _ in range(30):
        loss = bd.smoothed_loss(phi @ W.T, y, 0.01).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            W.mul_(min(1.0, 0.5 / W.norm().item()))
    assert torch.allclose(bd.fit_readout(phi, y, 3, radius=0.5, steps=30), W.detach(), atol=1e-12)


@pytest.mark.parametrize(
    "kwargs, exc",
    [
        ({"features": torch.zeros(3)}, TypeError),
        ({"targets": torch.zeros(80)}, TypeError),
        ({"targets": torch.zeros(5, dtype=torch.long)}, ValueError),
        ({"targets": torch.full((80,), 3, dtype=torch.long)}, ValueError),
        ({"n_outputs": 1}, ValueError),
        ({"radius": -1.0}, ValueError),
        ({"gamma": 1.0}, ValueError),
        ({"steps": -1}, ValueError),
        ({"lr": 0.0}, ValueError),
    ],
)
def test_fit_readout_validation(kwargs, exc):
    phi, y = _readout_data()
    args = {"features": phi, "targets": y, "n_outputs": 3, "radius": 1.0} | kwargs
    with pytest.raises(exc, match=next(iter(kwargs))):
        bd.fit_readout(**args)


# --- models read at the last position, the logit shift and the memoriser (generalization chapter) ---


def _tiny():
    from semlib import tvvar as tv

    return tv.TinyGPT(5, 4, seed=0, dtype=torch.float64, d_model=8, n_heads=2, n_layers=1)


def test_last_logits_and_features():
    m = _tiny().eval()
    ids = torch.randint(0, 5, (6, 4), generator=torch.Generator().manual_seed(0))
    z, y = bd.last_logits(m, ids)
    assert z.shape == (6, 5) and z.dtype == torch.float64 and torch.equal(y, ids[:, -1])
    with torch.no_grad():
        torch.testing.assert_close(z, m(ids[:, :-1])[:, -1])
    phi, y2 = bd.last_features(m, ids)
    torch.testing.assert_close(phi.norm(dim=1), torch.ones(6, dtype=torch.float64))
    assert torch.equal(y2, y)
    with pytest.raises(TypeError, match="ids"):
        bd.last_logits(m, ids.double())
    with pytest.raises(TypeError, match="model"):
        bd.last_features(object(), ids)


def test_shift_logits_moves_every_logit_by_c_and_keeps_the_model():
    m = _tiny().eval()
    ids = torch.randint(0, 5, (6, 4), generator=torch.Generator().manual_seed(1))
    z, _ = bd.last_logits(m, ids)
    z2, _ = bd.last_logits(bd.shift_logits(m, 3.0), ids)
    torch.testing.assert_close(z2 - z, torch.full_like(z, 3.0), atol=1e-9, rtol=0)
    z_again, _ = bd.last_logits(m, ids)
    assert torch.equal(z_again, z)
    with pytest.raises(TypeError, match="c"):
        bd.shift_logits(m, "3")


def test_memoriser_trial_exact_test_loss_matches_monte_carlo():
    t = bd.memoriser_trial(200, 0, V=3, L=3, delta=0.05)
    assert t.bound.empirical >= 0 and t.test > 0 and t.bound.M == 200
    g = torch.Generator().manual_seed(5)
    n = 200_000
    c_new, y_new = torch.randint(0, 27, (n,), generator=g), torch.randint(0, 3, (n,), generator=g)
    pos = torch.searchsorted(t.unique, c_new).clamp(max=len(t.unique) - 1)
    hit = t.unique[pos] == c_new
    logits = torch.where(hit[:, None], t.table[pos], torch.zeros(n, 3, dtype=torch.float64))
    mc = bd.per_sample_loss(logits, y_new).mean().item()
    assert abs(mc - t.test) < 0.05
    with pytest.raises(ValueError, match="K"):
        bd.memoriser_trial(10, 0, V=3, L=2, delta=0.05, K=0.0)
