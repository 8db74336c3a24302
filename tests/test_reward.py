"""Tests of semlib.reward: the rate-reward fixed point, the KL-regularised optimum, DPO, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from semlib import reward as rw
from semlib.info import entropy, mutual_information


def toy(seed: int, m: int = 3, k: int = 5) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A prompt pmf, a reward in [0, 1] and a full-support reference policy."""
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(m)), rng.random((m, k)), rng.dirichlet(np.ones(k), size=m)


# --- the KL-regularised optimum --------------------------------------------------------------


@pytest.mark.parametrize("beta", [0.05, 0.5, 3.0])
def test_kl_optimum_is_the_tilted_reference_and_attains_the_log_partition(beta):
    p_s, r, ref = toy(0)
    pi = rw.kl_regularized_optimum(ref, r, beta)
    hand = ref * np.exp(r / beta)
    hand /= hand.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(pi, hand, rtol=1e-12, atol=1e-15)
    value = beta * np.sum(p_s * np.log((ref * np.exp(r / beta)).sum(axis=1)))
    assert rw.kl_regularized_objective(p_s, pi, ref, r, beta) == pytest.approx(value, abs=1e-12)


def test_kl_optimum_beats_random_policies():
    p_s, r, ref = toy(1)
    best = rw.kl_regularized_objective(p_s, rw.kl_regularized_optimum(ref, r, 0.3), ref, r, 0.3)
    rng = np.random.default_rng(2)
    for _ in range(200):
        other = rng.dirichlet(np.ones(5), size=3)
        assert rw.kl_regularized_objective(p_s, other, ref, r, 0.3) <= best + 1e-12


def test_kl_optimum_keeps_zeros_and_ignores_prompt_shifts():
    ref = np.array([[0.5, 0.5, 0.0], [0.2, 0.3, 0.5]])
    r = np.array([[0.0, 1.0, 9.0], [2.0, 0.0, 1.0]])
    pi = rw.kl_regularized_optimum(ref, r, 0.1)
    assert pi[0, 2] == 0.0
    shifted = rw.kl_regularized_optimum(ref, r + np.array([[5.0], [-3.0]]), 0.1)
    np.testing.assert_allclose(pi, shifted, atol=1e-14)


def test_kl_optimum_torch_matches_numpy_and_numerical_optimum():
    p_s, r, ref = toy(3)
    pi_np = rw.kl_regularized_optimum(ref, r, 0.7)
    pi_t = rw.kl_regularized_optimum(torch.tensor(ref), torch.tensor(r), 0.7)
    assert isinstance(pi_t, torch.Tensor) and pi_t.dtype == torch.float64
    np.testing.assert_allclose(pi_t.numpy(), pi_np, atol=1e-14)
    logits = torch.zeros(3, 5, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS(
        [logits], max_iter=500, tolerance_grad=1e-14, tolerance_change=1e-18, line_search_fn="strong_wolfe"
    )
    P, R, Q = torch.tensor(p_s), torch.tensor(r), torch.tensor(ref)

    def closure():
        opt.zero_grad()
        loss = -rw.kl_regularized_objective(P, logits.softmax(1), Q, R, 0.7)
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    np.testing.assert_allclose(logits.detach().softmax(1).numpy(), pi_np, atol=1e-8)


# --- measures of a policy ----------------------------------------------------------------------


def test_policy_information_matches_info_module():
    p_s, _, ref = toy(4)
    joint = p_s[:, None] * ref
    assert rw.policy_information(p_s, ref) == pytest.approx(mutual_information(joint, 0, 1), abs=1e-13)
    assert rw.policy_information(p_s, ref, base=2) == pytest.approx(mutual_information(joint, 0, 1) / math.log(2))


def test_expected_kl_splits_into_information_plus_marginal_divergence():
    p_s, _, pol = toy(5)
    rho = np.random.default_rng(6).dirichlet(np.ones(5))
    q = p_s @ pol
    rhs = rw.policy_information(p_s, pol) + np.sum(q * np.log(q / rho))
    assert rw.expected_kl(p_s, pol, rho) == pytest.approx(rhs, abs=1e-13)
    assert rw.expected_kl(p_s, pol, pol) == pytest.approx(0.0, abs=1e-15)


def test_expected_kl_is_infinite_off_the_support():
    assert np.isinf(rw.expected_kl([1.0], [[0.5, 0.5]], [[1.0, 0.0]]))


# --- the rate-reward curve -------------------------------------------------------------------


def test_identity_reward_gives_binary_symmetric_channels():
    lam = np.array([0.0, 0.5, 2.0, 6.0])
    res = rw.rate_reward_curve([0.5, 0.5], np.eye(2), lam)
    eps = 1 / (1 + np.exp(lam))
    np.testing.assert_allclose(res.expected_reward, 1 - eps, atol=1e-10)
    h = np.array([entropy([e, 1 - e]) for e in eps])
    np.testing.assert_allclose(res.rate, math.log(2) - h, atol=1e-10)


def test_curve_satisfies_stationarity_and_is_monotone_convex():
    p_s, w, _ = toy(7, m=4, k=6)
    res = rw.rate_reward_curve(p_s, w, np.geomspace(0.1, 40, 50))
    assert res.converged.all()
    for lam, pol, q in zip(res.lam, res.policies, res.q):
        tilt = q * np.exp(lam * w)
        np.testing.assert_allclose(pol, tilt / tilt.sum(axis=1, keepdims=True), atol=1e-9)
        np.testing.assert_allclose(q, p_s @ pol, atol=1e-12)
    dW, dR = np.diff(res.expected_reward), np.diff(res.rate)
    assert np.all(dW >= -1e-9) and np.all(dR >= -1e-9)
    ok = dW > 1e-4
    chord = dR[ok] / dW[ok]
    assert np.all(chord >= res.lam[:-1][ok] - 1e-5) and np.all(chord <= res.lam[1:][ok] + 1e-5)
    assert res.rate[-1] <= entropy(p_s) + 1e-9


def test_curve_coincides_with_kl_optimum_for_the_marginal_reference():
    p_s, w, _ = toy(8)
    for lam in (0.7, 2.0, 5.0):
        res = rw.rate_reward_curve(p_s, w, lam)
        ref = np.tile(res.q[0], (3, 1))
        np.testing.assert_allclose(rw.kl_regularized_optimum(ref, w, 1 / lam), res.policies[0], atol=1e-9)


def test_curve_torch_backend_matches_numpy():
    p_s, w, _ = toy(9)
    lam = [0.5, 3.0]
    a = rw.rate_reward_curve(p_s, w, lam)
    b = rw.rate_reward_curve(torch.tensor(p_s), torch.tensor(w), torch.tensor(lam))
    assert isinstance(b.rate, torch.Tensor) and b.rate.device == torch.tensor(w).device
    np.testing.assert_allclose(b.rate.numpy(), a.rate, atol=1e-10)
    np.testing.assert_allclose(b.policies.numpy(), a.policies, atol=1e-9)


def test_almost_sure_reading_is_a_staircase():
    p_s = np.array([0.4, 0.35, 0.25])
    w = np.array([[0, 0.5, 1, 0, 0], [0, 0.5, 0, 1, 0], [0, 0.5, 0, 0, 1.0]])
    W = np.array([-0.5, 0.0, 0.49, 0.5, 0.9, 1.0])
    out = rw.rate_reward_almost_sure(p_s, w, W)
    np.testing.assert_allclose(out[:3], 0.0, atol=1e-9)
    np.testing.assert_allclose(out[3:5], entropy(p_s), atol=1e-9)
    assert np.isinf(out[5])


# --- DPO ---------------------------------------------------------------------------------------


def test_implied_reward_inverts_the_kl_optimum_up_to_a_prompt_shift():
    _, r, ref = toy(10)
    r_hat = rw.implied_reward(rw.kl_regularized_optimum(ref, r, 0.4), ref, 0.4)
    np.testing.assert_allclose(np.ptp(r_hat - r, axis=1), 0.0, atol=1e-12)


def test_dpo_loss_values_and_gradient():
    np.testing.assert_allclose(rw.dpo_loss([0.0, 2.0], [0.0, 0.0], 0.5), [math.log(2), math.log1p(math.exp(-1))])
    assert rw.dpo_loss(1e4, 0.0, 1.0) == pytest.approx(0.0, abs=1e-300)
    assert rw.dpo_loss(-1e4, 0.0, 1.0) == pytest.approx(1e4)
    h = torch.tensor([0.3], dtype=torch.float64, requires_grad=True)
    rw.dpo_loss(h, torch.zeros(1, dtype=torch.float64), 2.0).sum().backward()
    assert h.grad.item() == pytest.approx(-2.0 / (1 + math.exp(0.6)))


def test_population_dpo_recovers_the_kl_optimum():
    p_s, r, ref = toy(11)
    beta = 0.5
    P, R, Q = (torch.tensor(a) for a in (p_s, r, ref))
    weight = P[:, None, None] * Q[:, :, None] * Q[:, None, :] * torch.sigmoid(R[:, :, None] - R[:, None, :])
    theta = Q.log().clone().requires_grad_(True)
    opt = torch.optim.LBFGS(
        [theta], max_iter=500, tolerance_grad=1e-13, tolerance_change=1e-18, line_search_fn="strong_wolfe"
    )

    def closure():
        opt.zero_grad()
        h = theta.log_softmax(1) - Q.log()
        loss = (weight * rw.dpo_loss(h[:, :, None], h[:, None, :], beta)).sum()
        loss.backward()
        return loss

    for _ in range(4):
        opt.step(closure)
    np.testing.assert_allclose(theta.detach().softmax(1).numpy(), rw.kl_regularized_optimum(ref, r, beta), atol=1e-6)


# --- validation --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (lambda: rw.kl_regularized_optimum([0.5, 0.6], [0, 0], 1.0), ValueError, "pi_ref"),
        (lambda: rw.kl_regularized_optimum([0.5, 0.5], [0, 0, 0], 1.0), ValueError, "reward"),
        (lambda: rw.kl_regularized_optimum([0.5, 0.5], [0, np.nan], 1.0), ValueError, "finite"),
        (lambda: rw.kl_regularized_optimum([0.5, 0.5], [0, 1], 0.0), ValueError, "beta"),
        (lambda: rw.kl_regularized_optimum([0.5, 0.5], [0, 1], "1"), TypeError, "beta"),
        (lambda: rw.rate_reward_curve([0.5, 0.5], np.eye(2), -1.0), ValueError, "lambdas"),
        (lambda: rw.rate_reward_curve([0.5, 0.5], np.eye(2), []), ValueError, "lambdas"),
        (lambda: rw.rate_reward_curve([0.5, 0.5], np.ones((3, 2)), 1.0), ValueError, "reward"),
        (lambda: rw.rate_reward_curve([0.5, 0.4], np.eye(2), 1.0), ValueError, "p_s"),
        (lambda: rw.expected_reward([0.5, 0.5], [[1.0, 0.0]], [[1.0, 0.0]]), ValueError, "policy"),
        (lambda: rw.rate_reward_almost_sure([0.5, 0.5], np.eye(2), [np.inf]), ValueError, "thresholds"),
        (lambda: rw.dpo_loss([0.0, 1.0], [0.0, 1.0, 2.0], 1.0), ValueError, "broadcastable"),
        (lambda: rw.implied_reward([0.5, 0.5], [[0.5, 0.5]], 1.0), ValueError, "shape"),
    ],
)
def test_validation(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_mixing_backends_is_refused():
    with pytest.raises(TypeError):
        rw.kl_regularized_optimum(torch.tensor([0.5, 0.5]), np.array([0.0, 1.0]), 1.0)


# --- the population DPO loss and the tabular L-BFGS fit ---


def _population_loss_by_loop(p_s, pol, ref, w, beta):
    total = 0.0
    for s in range(len(p_s)):
        for u in range(ref.shape[1]):
            for v in range(ref.shape[1]):
                h_u, h_v = math.log(pol[s, u] / ref[s, u]), math.log(pol[s, v] / ref[s, v])
                win = 1 / (1 + math.exp(-(w[s, u] - w[s, v])))
                loss_uv = math.log1p(math.exp(-beta * (h_u - h_v)))  # u preferred
                loss_vu = math.log1p(math.exp(-beta * (h_v - h_u)))  # v preferred
                total += p_s[s] * ref[s, u] * ref[s, v] * (win * loss_uv + (1 - win) * loss_vu)
    return total


def test_dpo_population_loss_matches_loop_and_reference_value():
    p_s, w, ref = toy(11, m=2, k=3)
    pol = np.random.default_rng(0).dirichlet(np.ones(3), size=2)
    got = rw.dpo_population_loss(p_s, pol, ref, w, 0.7)
    assert isinstance(got, float) and abs(got - _population_loss_by_loop(p_s, pol, ref, w, 0.7)) < 1e-12
    assert abs(rw.dpo_population_loss(p_s, ref, ref, w, 0.7) - math.log(2)) < 1e-12  # h = 0 everywhere


def test_dpo_population_loss_zero_reference_mass_and_extreme_rewards():
    p_s = np.array([1.0])
    ref = np.array([[0.5, 0.5, 0.0]])
    pol = np.array([[0.2, 0.3, 0.5]])  # mass off the reference: no pair draws it
    w = np.array([[0.0, 1.0, 5.0]])
    full = rw.dpo_population_loss(p_s, pol, ref, w, 1.0)
    assert math.isfinite(full)
    by_loop = _population_loss_by_loop(p_s, pol[:, :2], ref[:, :2], w[:, :2], 1.0)  # the pairs that occur
    assert abs(full - by_loop) < 1e-12
    big = rw.dpo_population_loss(p_s, np.array([[0.5, 0.5, 0.0]]), ref, np.array([[0.0, 800.0, 0.0]]), 1.0)
    assert math.isfinite(big) and abs(big - math.log(2)) < 1e-12  # sigmoid saturates without overflow
    with pytest.raises(ValueError, match="positive wherever"):
        rw.dpo_population_loss(p_s, np.array([[0.0, 1.0, 0.0]]), ref, w, 1.0)


def test_dpo_population_loss_minimiser_is_kl_optimum():
    p_s, w, ref = toy(12)
    beta = 0.5
    P, R, Ref = (torch.as_tensor(a) for a in (p_s, w, ref))
    pi = rw.fit_tabular_policy(lambda pi: rw.dpo_population_loss(P, pi, Ref, R, beta), Ref.log())
    assert torch.allclose(pi, torch.as_tensor(rw.kl_regularized_optimum(ref, w, beta)), atol=1e-6)
    # differentiable in the policy, torch in -> torch 0-d out
    pol = torch.as_tensor(ref).clone().requires_grad_(True)
    val = rw.dpo_population_loss(P, pol, Ref, R, beta)
    val.backward()
    assert val.ndim == 0 and torch.isfinite(pol.grad).all()


def test_dpo_population_loss_validates():
    p_s, w, ref = toy(13)
    with pytest.raises(ValueError, match="pi_ref"):
        rw.dpo_population_loss(p_s, ref, ref[:, :3] / ref[:, :3].sum(1, keepdims=True), w, 1.0)
    with pytest.raises(ValueError, match="reward"):
        rw.dpo_population_loss(p_s, ref, ref, np.full_like(w, np.nan), 1.0)
    with pytest.raises(ValueError, match="beta"):
        rw.dpo_population_loss(p_s, ref, ref, w, 0.0)
    with pytest.raises(ValueError, match="policy"):
        rw.dpo_population_loss(p_s, 2 * ref, ref, w, 1.0)


def test_fit_tabular_policy_recovers_kl_optimum():
    p_s, w, ref = toy(14)
    P, R, Ref = (torch.as_tensor(a) for a in (p_s, w, ref))
    pi = rw.fit_tabular_policy(
        lambda pi: -rw.kl_regularized_objective(P, pi, Ref, R, 0.5), torch.zeros(3, 5, dtype=torch.float64)
    )
    assert torch.allclose(pi, torch.as_tensor(rw.kl_regularized_optimum(ref, w, 0.5)), atol=1e-8)
    assert torch.allclose(pi.sum(-1), torch.ones(3, dtype=torch.float64))


def test_fit_tabular_policy_validates():
    with pytest.raises(TypeError, match="`logits`"):
        rw.fit_tabular_policy(lambda pi: pi.sum(), np.zeros((2, 3)))
    with pytest.raises(TypeError, match="`loss`"):
        rw.fit_tabular_policy(None, torch.zeros(2, 3))
    with pytest.raises(TypeError, match="`logits`"):
        rw.fit_tabular_policy(lambda pi: pi.sum(), torch.zeros(2, 3, dtype=torch.long))
    with pytest.raises(ValueError, match="`logits`"):
        rw.fit_tabular_policy(lambda pi: pi.sum(), torch.zeros(6))
    with pytest.raises(ValueError, match="`loss`"):
        rw.fit_tabular_policy(lambda pi: pi, torch.zeros(2, 3))
    with pytest.raises(ValueError, match="steps"):
        rw.fit_tabular_policy(lambda pi: pi.sum(), torch.zeros(2, 3), steps=0)
