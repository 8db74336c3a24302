"""Tests of semlib.fisher: Eq. (19) identities, K-FAC exactness, natural gradient, validation, backends."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from semlib import fisher

DT = torch.float64


def _linear_model(n=20, k=3, d=4, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=DT)
    W = scale * torch.randn(k, d, generator=g, dtype=DT)

    def log_probs(theta):
        return torch.log_softmax(X @ theta.reshape(k, d).T, dim=1)

    return X, W, log_probs


def _mlp(n=30, d=3, h=5, k=3, seed=1):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g, dtype=DT)
    p1 = h * d

    def log_probs(theta):
        W1, W2 = theta[:p1].reshape(h, d), theta[p1:].reshape(k, h)
        return torch.log_softmax(torch.tanh(X @ W1.T) @ W2.T, dim=1)

    theta = torch.randn(p1 + k * h, generator=g, dtype=DT)
    y = torch.randint(0, k, (n,), generator=g)
    return log_probs, theta, y


# --- Eq. (19) and the three matrices -------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_softmax_fisher_equals_autograd_eq19(seed):
    X, W, log_probs = _linear_model(seed=seed)
    F = fisher.softmax_fisher(W, X)
    theta = W.flatten()
    assert torch.allclose(fisher.fisher_from_logprobs(log_probs, theta), F, atol=1e-10, rtol=0)
    assert torch.allclose(fisher.cross_entropy_hessian(log_probs, theta), F, atol=1e-10, rtol=0)


def test_softmax_fisher_by_hand_kronecker():
    X, W, _ = _linear_model(n=5, seed=3)
    p = torch.softmax(X @ W.T, dim=1)
    by_hand = sum(torch.kron(torch.diag(q) - torch.outer(q, q), torch.outer(x, x)) for q, x in zip(p, X)) / 5
    assert torch.allclose(fisher.softmax_fisher(W, X), by_hand, atol=1e-14)


def test_linear_softmax_nll_hessian_is_fisher_for_any_labels():
    X, W, log_probs = _linear_model(seed=4)
    F = fisher.softmax_fisher(W, X)
    for s in range(3):
        y = torch.randint(0, 3, (X.shape[0],), generator=torch.Generator().manual_seed(s))
        assert torch.allclose(fisher.nll_hessian(log_probs, W.flatten(), y), F, atol=1e-10, rtol=0)


def test_empirical_fisher_differs_and_mlp_hessian_differs():
    X, W, log_probs = _linear_model(seed=5)
    y = torch.zeros(X.shape[0], dtype=torch.long)
    F = fisher.softmax_fisher(W, X)
    assert fisher.relative_frobenius_error(fisher.empirical_fisher(log_probs, W.flatten(), y), F) > 0.1
    mlp, theta, y = _mlp()
    F = fisher.fisher_from_logprobs(mlp, theta)
    assert torch.allclose(fisher.cross_entropy_hessian(mlp, theta), F, atol=1e-10, rtol=0)
    assert fisher.relative_frobenius_error(fisher.nll_hessian(mlp, theta, y), F) > 0.05


def test_mlp_hessian_averaged_over_model_labels_is_fisher():
    # exact expectation over y ~ p for one example: sum_y p_y H(y) = F
    mlp, theta, _ = _mlp(n=1)
    p = mlp(theta).exp()[0]
    avg = sum(p[k] * fisher.nll_hessian(mlp, theta, torch.tensor([k])) for k in range(p.numel()))
    assert torch.allclose(avg, fisher.fisher_from_logprobs(mlp, theta), atol=1e-10, rtol=0)


def test_fisher_is_psd_with_shift_nullspace():
    X, W, _ = _linear_model(k=3, d=4, seed=6)
    eig = torch.linalg.eigvalsh(fisher.softmax_fisher(W, X))
    assert eig[:4].abs().max() < 1e-12 and eig[4] > 1e-6


# --- K-FAC -----------------------------------------------------------------------------------


def test_kfac_exact_at_zero_weights_and_single_example():
    X, W, _ = _linear_model(seed=7)
    for Xs, Ws in ((X, torch.zeros_like(W)), (X[:1], W)):
        Gam = fisher.softmax_output_covariance(torch.softmax(Xs @ Ws.T, dim=1))
        A, G = fisher.kfac_factors(Xs, Gam)
        assert fisher.relative_frobenius_error(fisher.kfac_fisher(A, G), fisher.layer_fisher(Xs, Gam)) < 1e-12


def test_kfac_inexact_in_general():
    X, W, _ = _linear_model(seed=8)
    Gam = fisher.softmax_output_covariance(torch.softmax(X @ W.T, dim=1))
    A, G = fisher.kfac_factors(X, Gam)
    assert A.shape == (4, 4) and G.shape == (3, 3)
    assert fisher.relative_frobenius_error(fisher.kfac_fisher(A, G), fisher.softmax_fisher(W, X)) > 0.05


# --- natural gradient ------------------------------------------------------------------------


def test_natural_gradient_solves_damped_system_and_pinv():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((5, 5))
    F, g = M @ M.T, rng.standard_normal(5)
    v = fisher.natural_gradient(g, F, damping=0.1)
    assert isinstance(v, np.ndarray) and np.allclose((F + 0.1 * np.eye(5)) @ v, g, atol=1e-10)
    assert np.allclose(fisher.natural_gradient(g, F), np.linalg.solve(F, g), atol=1e-8)
    vt = fisher.natural_gradient(torch.as_tensor(g), torch.as_tensor(F), 0.1)
    assert isinstance(vt, torch.Tensor) and np.allclose(vt.numpy(), v, atol=1e-10)


def test_natural_gradient_invariant_under_reparametrisation():
    rng = np.random.default_rng(1)
    A = rng.standard_normal((3, 3))
    F, g, M = A @ A.T + np.eye(3), rng.standard_normal(3), rng.standard_normal((3, 3)) + 3 * np.eye(3)
    back = M @ fisher.natural_gradient(M.T @ g, M.T @ F @ M)
    assert np.allclose(back, fisher.natural_gradient(g, F), atol=1e-9)


# --- backends, dtype, device -----------------------------------------------------------------


def test_numpy_in_numpy_out_and_torch_keeps_dtype():
    X, W, _ = _linear_model(seed=9)
    Fn = fisher.softmax_fisher(W.numpy(), X.numpy())
    assert isinstance(Fn, np.ndarray) and Fn.dtype == np.float64
    Ft = fisher.softmax_fisher(W.float(), X.float())
    assert Ft.dtype == torch.float32 and Ft.device == W.device
    assert np.allclose(Ft.numpy(), Fn, atol=1e-5)
    A, G = fisher.kfac_factors(X.numpy(), fisher.softmax_output_covariance(np.full((20, 3), 1 / 3)))
    assert isinstance(A, np.ndarray) and isinstance(G, np.ndarray)


# --- validation ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, exc",
    [
        (lambda: fisher.softmax_fisher(np.ones(3), np.ones((2, 3))), ValueError),
        (lambda: fisher.softmax_fisher(np.ones((2, 3)), np.ones((2, 4))), ValueError),
        (lambda: fisher.softmax_fisher([["a"]], np.ones((1, 1))), TypeError),
        (lambda: fisher.softmax_output_covariance([[0.5, 0.6]]), ValueError),
        (lambda: fisher.softmax_output_covariance([[-0.5, 1.5]]), ValueError),
        (lambda: fisher.natural_gradient(np.ones(2), np.eye(3)), ValueError),
        (lambda: fisher.natural_gradient(np.ones(2), np.eye(2), damping=-1.0), ValueError),
        (lambda: fisher.natural_gradient(np.ones(2), np.eye(2), damping="0"), TypeError),
        (lambda: fisher.layer_fisher(np.ones((3, 2)), np.ones((2, 2, 2))), ValueError),
        (lambda: fisher.kfac_fisher(np.ones((2, 3)), np.eye(2)), ValueError),
        (lambda: fisher.relative_frobenius_error(np.eye(2), np.zeros((2, 2))), ValueError),
        (lambda: fisher.relative_frobenius_error(np.eye(2), np.eye(3)), ValueError),
    ],
)
def test_validation_errors(call, exc):
    with pytest.raises(exc):
        call()


def test_autograd_validation():
    _, W, log_probs = _linear_model()
    theta = W.flatten()
    with pytest.raises(TypeError):
        fisher.fisher_from_logprobs("not callable", theta)
    with pytest.raises(TypeError):
        fisher.fisher_from_logprobs(log_probs, theta.numpy())
    with pytest.raises(ValueError):
        fisher.fisher_from_logprobs(lambda t: torch.zeros(3, 2, dtype=DT), theta)  # rows do not sum to 1
    with pytest.raises(ValueError):
        fisher.nll_hessian(log_probs, theta, torch.zeros(5, dtype=torch.long))  # wrong length
    with pytest.raises(ValueError):
        fisher.empirical_fisher(log_probs, theta, torch.full((20,), 7))  # label out of range
    with pytest.raises(TypeError):
        fisher.empirical_fisher(log_probs, theta, torch.zeros(20))  # float labels


class _ReverseOnlyTanh(torch.autograd.Function):
    """tanh with a backward and no forward derivative: forward-mode AD cannot differentiate it."""

    @staticmethod
    def forward(ctx, x):
        out = torch.tanh(x)
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        (out,) = ctx.saved_tensors
        return grad * (1 - out**2)


def _mlp_act(n: int, act=torch.tanh, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    X = torch.cat([torch.randn(n, 2, generator=g, dtype=torch.float64), torch.ones(n, 1, dtype=torch.float64)], 1)

    def log_probs(th):
        h = act(X @ th[:24].reshape(8, 3).T)
        return torch.log_softmax(h @ th[24:].reshape(4, 8).T, dim=1)

    return log_probs, 0.7 * torch.randn(56, generator=g, dtype=torch.float64)


def test_jacobian_modes_agree_and_forward_mode_is_chosen_for_many_outputs(monkeypatch):
    """Forward mode (batched over P) gives the reverse-mode Jacobian; it is used when N*K > P, so
    memory grows linearly in N (reverse mode needed ~47 GB at N = 12,800 in the information
    geometry chapter), and a function without forward derivatives falls back to reverse mode."""
    import torch.autograd.functional as taf

    lp, th = _mlp_act(50)
    reverse = taf.jacobian(lp, th, vectorize=True)
    strategies = []
    real = taf.jacobian

    def spy(*args, **kwargs):
        strategies.append(kwargs.get("strategy", "reverse-mode"))
        return real(*args, **kwargs)

    monkeypatch.setattr(taf, "jacobian", spy)
    F = fisher.fisher_from_logprobs(lp, th)
    assert strategies == ["forward-mode"]
    p = lp(th).exp()
    F_rev = (reverse * p[:, :, None]).flatten(0, 1).T @ reverse.flatten(0, 1) / 50
    assert torch.allclose(F, F_rev, rtol=0, atol=1e-14)
    strategies.clear()
    lp_rev, _ = _mlp_act(50, act=_ReverseOnlyTanh.apply)
    y = torch.zeros(50, dtype=torch.long)
    F_emp = fisher.empirical_fisher(lp_rev, th, y)
    assert strategies == ["forward-mode", "reverse-mode"]
    assert torch.allclose(F_emp, fisher.empirical_fisher(lp, th, y), rtol=0, atol=1e-14)
    strategies.clear()
    lp_few, th_few = _mlp_act(1)  # N*K = 4 outputs < 56 parameters: reverse mode directly
    fisher.fisher_from_logprobs(lp_few, th_few)
    assert strategies == ["reverse-mode"]
