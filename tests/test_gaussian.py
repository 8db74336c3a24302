"""Tests of semlib.gaussian: Gaussian closed forms, VAR/ARMA covariances and exact sampling (§IV-D, Eqs. 40-41)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from semlib import gaussian as G
from semlib import info

# --- Gaussian closed forms ------------------------------------------------------------------------


def test_gaussian_mi_matches_correlation_formula_and_torch():
    rho = 0.7
    C = np.array([[1, rho], [rho, 1.0]])
    assert G.gaussian_mutual_information(C, 0, 1) == pytest.approx(-0.5 * math.log(1 - rho**2))
    Ct = torch.tensor(C, requires_grad=True)
    v = G.gaussian_mutual_information(Ct, [0], [1])
    v.backward()
    assert Ct.grad is not None


def test_gaussian_chain_rule_and_conditional():
    rng = np.random.default_rng(4)
    L = rng.normal(size=(5, 5))
    C = L @ L.T + 0.1 * np.eye(5)
    lhs = G.gaussian_mutual_information(C, [0], [1, 2])
    rhs = G.gaussian_mutual_information(C, [0], [1]) + G.gaussian_mutual_information(C, [0], [2], given=[1])
    assert lhs == pytest.approx(rhs, abs=1e-12)
    h = G.gaussian_entropy
    assert G.gaussian_mutual_information(C, [0, 3], [4]) == pytest.approx(
        h(C, [0, 3]) + h(C, [4]) - h(C, [0, 3, 4]), abs=1e-12
    )


def test_var_and_arma_covariances_against_simulation():
    rng = np.random.default_rng(5)
    a, theta, n = 0.5, 0.4, 4
    e = rng.standard_normal(400_000 + 1)
    x = np.zeros_like(e)
    for t in range(1, len(e)):
        x[t] = a * x[t - 1] + e[t] + theta * e[t - 1]
    x = x[1000:]
    emp = np.array([np.mean(x[: len(x) - k] * x[k:]) for k in range(n)])
    C = G.arma11_covariance(a, theta, n)
    assert np.allclose(C[0], emp, atol=0.03)
    assert np.allclose(G.arma11_covariance(0.3, 0.0, 5), G.var_covariance([[[0.3]]], [[1.0]], 5))


def test_backward_di_of_identity_encoder_on_ar1():
    """S_t = X_t on an AR(1): the sum telescopes to known Markov expressions."""
    a, n = 0.6, 4
    C = G.append_linear(G.var_covariance([[[a]]], [[1.0]], n), np.eye(n))
    terms = G.gaussian_backward_directed_information_terms(C, range(n), range(n, 2 * n))
    i1 = -0.5 * math.log(1 - a**2)  # I(X_{t+1}; X_t)
    cond = i1 + 0.5 * math.log(1 - a**4)  # I(X_{t+1:n}; X_t | X_{1:t-1}) = I(X_{t+1};X_t) - I(X_{t+1};X_{t-1})
    assert terms == pytest.approx([i1, cond, cond, 0.0], abs=1e-12)


def test_linear_encoder_optimum_is_cca_and_beats_random_encoders():
    C = G.arma11_covariance(0.0, 0.9, 6)
    past, fut = [0, 1, 2], [3, 4, 5]
    val, W, _ = G.gaussian_linear_encoder_optimum(C, past, fut, 1)
    # the value is attained by W (evaluated independently with log-dets)
    M = np.zeros((1, 6))
    M[0, past] = W[0]
    assert G.gaussian_mutual_information(G.append_linear(C, M), fut, [6]) == pytest.approx(val, abs=1e-10)
    rng = np.random.default_rng(6)
    for _ in range(200):
        M[0, past] = rng.normal(size=3)
        assert G.gaussian_mutual_information(G.append_linear(C, M), fut, [6]) <= val + 1e-10
    # m = rank gives all the information between past and future
    full, _, _ = G.gaussian_linear_encoder_optimum(C, past, fut, 3)
    assert full == pytest.approx(G.gaussian_mutual_information(C, past, fut), abs=1e-10)


def test_optimal_backward_di_terms_are_attained():
    C = G.arma11_covariance(0.5, 0.5, 5)
    terms, enc = G.optimal_backward_directed_information(C, range(5), 1)
    M = np.vstack(enc[:-1] + [np.eye(5)[[4]]])
    J = G.append_linear(C, M)
    achieved = G.gaussian_backward_directed_information_terms(J, range(5), range(5, 10))
    assert achieved == pytest.approx(terms, abs=1e-9)


def test_eq42_bounds_on_ar1_match_the_markov_closed_forms():
    """AR(1) with m = 1: the best encoder of X_{1:t} is X_t, so every term has a closed form."""
    a, n = 0.6, 5
    left, mid, right = G.backward_directed_information_bounds(G.var_covariance([[[a]]], [[1.0]], n), range(n), 1)
    i1 = -0.5 * math.log(1 - a**2)  # I(X_{t+1:n}; X_t) = I(X_{t+1}; X_t) (Markov)
    cond = i1 + 0.5 * math.log(1 - a**4)  # I(X_{t+1:n}; X_t | X_{t-1})
    assert left.shape == mid.shape == right.shape == (n,)
    assert left == pytest.approx([i1, cond, cond, cond, 0.0], abs=1e-10)
    assert mid == pytest.approx([i1] * (n - 1) + [0.0], abs=1e-10)
    assert right == pytest.approx(
        [sum(-0.5 * math.log(1 - a ** (2 * k)) for k in range(1, n - t + 1)) for t in range(1, n + 1)], abs=1e-10
    )
    # the chain of Eq. (42) holds term by term for a Markov process
    assert np.all(left <= mid + 1e-12) and np.all(mid <= right + 1e-12)


def test_eq42_bounds_ma1_breaks_the_second_inequality_and_base_rescales():
    C = G.arma11_covariance(0.0, 0.9, 6)
    left, mid, right = G.backward_directed_information_bounds(C, range(6), 1)
    assert np.all(left <= mid + 1e-10) and mid.sum() > right.sum() + 0.3
    assert left[-1] == mid[-1] == right[-1] == 0.0
    bits = G.backward_directed_information_bounds(C, range(6), 1, base=2)
    for nats, b in zip((left, mid, right), bits):
        assert b == pytest.approx(nats / math.log(2), abs=1e-12)
    # the left side is optimal_backward_directed_information's terms; the middle at t is one CCA value
    assert left == pytest.approx(G.optimal_backward_directed_information(C, range(6), 1)[0], abs=1e-12)
    assert mid[1] == pytest.approx(G.gaussian_linear_encoder_optimum(C, [0, 1], [2, 3, 4, 5], 1)[0], abs=1e-12)


def test_eq42_bounds_single_step_and_bad_inputs():
    left, mid, right = G.backward_directed_information_bounds(np.eye(1), [0], 1)
    assert left.tolist() == mid.tolist() == right.tolist() == [0.0]
    with pytest.raises(ValueError, match="`m`"):
        G.backward_directed_information_bounds(np.eye(3), range(3), 0)
    with pytest.raises(ValueError):
        G.backward_directed_information_bounds(np.eye(3), range(4), 1)
    with pytest.raises(ValueError, match="`cov`"):
        G.backward_directed_information_bounds(np.array([[1.0, 0.5], [0.1, 1.0]]), range(2), 1)


def test_discrete_xor_breaks_second_inequality_of_eq42():
    """X1, X2 fair bits, X3 = X1 xor X2, t = 1: I(X_{2:3}; X_1) = 1 bit, I(X_2;X_1) + I(X_3;X_1) = 0."""
    p = np.zeros((2, 2, 2))
    for x1 in range(2):
        for x2 in range(2):
            p[x1, x2, x1 ^ x2] = 0.25
    assert info.mutual_information(p, (1, 2), 0, base=2) == pytest.approx(1.0)
    assert info.mutual_information(p, 1, 0, base=2) + info.mutual_information(p, 2, 0, base=2) == pytest.approx(0.0)


@pytest.mark.parametrize(
    "call, exc",
    [
        (lambda: G.gaussian_mutual_information(np.eye(3), [0], [0]), ValueError),
        (lambda: G.gaussian_mutual_information(np.eye(3), [0], [5]), ValueError),
        (lambda: G.gaussian_mutual_information(np.eye(3), [0.5], [1]), TypeError),
        (lambda: G.gaussian_mutual_information(np.ones((2, 3)), [0], [1]), ValueError),
        (lambda: G.gaussian_mutual_information(np.array([[1, 0.5], [0.2, 1]]), [0], [1]), ValueError),
        (lambda: G.gaussian_mutual_information(np.ones((2, 2)), [0], [1]), ValueError),  # singular
        (lambda: G.gaussian_backward_directed_information(np.eye(4), [0, 1], [2]), ValueError),
        (lambda: G.arma11_covariance(1.0, 0.0, 3), ValueError),
        (lambda: G.arma11_covariance(0.5, "x", 3), TypeError),
        (lambda: G.var_covariance([[[0.5]]], [[1.0]], 0), ValueError),
        (lambda: G.gaussian_linear_encoder_optimum(np.eye(3), [0], [1], 0), ValueError),
        (lambda: G.append_linear(np.eye(3), np.ones((1, 2))), ValueError),
    ],
)
def test_bad_inputs(call, exc):
    with pytest.raises(exc):
        call()


# --- simulate_gaussian_sequences and the directed-information rate terms -------------------------


def _cov(c=0.8, T=5):
    return G.var_covariance([[[0.5, 0.0], [c, 0.6]]], np.eye(2), T)


def test_rate_terms_sum_to_gaussian_directed_information_and_simulation_matches():
    C = _cov(0.8, T=5)
    terms = G.gaussian_directed_information_rate_terms(C, 1, 1)
    total = G.gaussian_directed_information(C, [[0], [2], [4], [6], [8]], [[1], [3], [5], [7], [9]])
    assert terms.sum() == pytest.approx(total, abs=1e-12)
    x, y = G.simulate_gaussian_sequences(C, 40000, 1, 1, seed=0)
    z = np.stack([x[..., 0], y[..., 0]], -1).reshape(40000, -1)
    assert np.abs(np.cov(z.T) - C).max() < 0.1  # sampling error ~ 3 / sqrt(40000) * scale


def test_simulate_numpy_in_numpy_float64_out_and_seed():
    C = _cov(T=4)
    x, y = G.simulate_gaussian_sequences(C, 6, 1, 1, seed=3)
    assert isinstance(x, np.ndarray) and isinstance(y, np.ndarray)
    assert x.dtype == y.dtype == np.float64 and x.shape == (6, 4, 1) and y.shape == (6, 4, 1)
    # an int seed is reproducible; a Generator is used as given and advanced
    x2, y2 = G.simulate_gaussian_sequences(C.tolist(), 6, 1, 1, seed=3)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    rng = np.random.default_rng(3)
    x3, _ = G.simulate_gaussian_sequences(C, 6, 1, 1, seed=rng)
    x4, _ = G.simulate_gaussian_sequences(C, 6, 1, 1, seed=rng)
    assert np.array_equal(x3, x) and not np.array_equal(x4, x)
    # None: fresh entropy
    a, _ = G.simulate_gaussian_sequences(C, 6, 1, 1)
    b, _ = G.simulate_gaussian_sequences(C, 6, 1, 1, seed=None)
    assert not np.array_equal(a, b)
    with pytest.raises(TypeError, match="seed"):
        G.simulate_gaussian_sequences(C, 2, 1, 1, seed=torch.Generator())
    with pytest.raises(ValueError, match="seed"):
        G.simulate_gaussian_sequences(C, 2, 1, 1, seed=-1)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_simulate_torch_in_torch_out_same_dtype_and_device(dtype):
    C = _cov(T=4)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    for device in devices:
        Ct = torch.as_tensor(C, dtype=dtype, device=device)
        x, y = G.simulate_gaussian_sequences(Ct, 5, 1, 1, seed=7)
        for v in (x, y):
            assert isinstance(v, torch.Tensor) and v.dtype == dtype and v.device == Ct.device
            assert v.shape == (5, 4, 1) and v.is_contiguous()
        x2, _ = G.simulate_gaussian_sequences(Ct, 5, 1, 1, seed=7)
        assert torch.equal(x, x2)
        g = torch.Generator(device=device).manual_seed(7)
        x3, _ = G.simulate_gaussian_sequences(Ct, 5, 1, 1, seed=g)
        assert torch.equal(x3, x)  # an int seed and a generator seeded with it agree
    with pytest.raises(TypeError, match="seed"):
        G.simulate_gaussian_sequences(torch.as_tensor(C), 2, 1, 1, seed=np.random.default_rng(0))
    with pytest.raises(TypeError, match="floating"):
        G.simulate_gaussian_sequences(torch.eye(2, dtype=torch.int64), 2, 1, 1)


def test_simulate_torch_matches_the_numpy_law():
    """Both backends draw from the same law: the sample covariances agree with cov."""
    C = _cov(0.8, T=3)
    x, y = G.simulate_gaussian_sequences(torch.as_tensor(C), 40000, 1, 1, seed=1)
    z = torch.stack([x[..., 0], y[..., 0]], -1).reshape(40000, -1).numpy()
    assert np.abs(np.cov(z.T) - C).max() < 0.1


def test_simulate_bad_inputs():
    with pytest.raises(ValueError, match="multiple"):
        G.simulate_gaussian_sequences(np.eye(3), 2, 1, 1)
    with pytest.raises(ValueError, match="positive definite"):
        G.simulate_gaussian_sequences(np.ones((2, 2)), 2, 1, 1)
    with pytest.raises(ValueError, match="`n`"):
        G.simulate_gaussian_sequences(np.eye(2), 0, 1, 1)
