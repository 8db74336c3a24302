"""Tests of semlib.rate_distortion: closed forms, curve properties, backends, validation, and dit."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch

from semlib import rate_distortion as rd
from semlib.info import entropy

LOG2 = math.log(2)


def h_nats(x: float) -> float:
    return 0.0 if x in (0.0, 1.0) else -x * math.log(x) - (1 - x) * math.log(1 - x)


def random_problem(seed: int, m: int = 8, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.ones(m)), rng.random((m, m if k is None else k))


def gaussian_source(n: int = 301, half_width: float = 6.0) -> tuple[np.ndarray, np.ndarray, float]:
    """N(0, 1) on n equally spaced points of [-half_width, half_width]; squared-error distortion."""
    x = np.linspace(-half_width, half_width, n)
    p = np.exp(-(x**2) / 2)
    p /= p.sum()
    variance = float((p * x**2).sum() - (p * x).sum() ** 2)
    return p, (x[:, None] - x[None, :]) ** 2, variance


# --- closed forms: rate-distortion ----------------------------------------------------------


@pytest.mark.parametrize("p1", [0.05, 0.2, 0.3, 0.45])
def test_binary_hamming_curve_matches_h_p_minus_h_d(p1):
    res = rd.rate_distortion_curve([1 - p1, p1], 1 - np.eye(2), num=60)
    assert res.converged.all()
    inside = res.distortion < min(p1, 1 - p1) - 1e-9
    assert inside.sum() > 30  # the grid covers the curve, not just its end points
    expected = np.array([h_nats(p1) - h_nats(D) for D in res.distortion[inside]])
    np.testing.assert_allclose(res.rate[inside], expected, atol=1e-6, rtol=0)
    np.testing.assert_allclose(res.rate, rd.binary_rd(p1, res.distortion), atol=1e-6, rtol=0)


def test_binary_hamming_in_bits_and_fair_coin_endpoints():
    beta = np.array([0.1, 1.0, 3.0, 10.0, 40.0])
    res = rd.blahut_arimoto_rd([0.5, 0.5], 1 - np.eye(2), beta, base=2)
    # slope -beta in nats: the optimal crossover is D = 1 / (1 + e^beta)
    np.testing.assert_allclose(res.distortion, 1 / (1 + np.exp(beta)), rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(res.rate, rd.binary_rd(0.5, res.distortion, base=2), atol=1e-9)


def test_gaussian_source_squared_error():
    # A discretised N(0, 1): 301 points on [-6, 6] (spacing 0.04) for both the source and the
    # reproduction alphabet, d = (x - x')^2. For 0.025 <= D <= 0.67 the discrete problem agrees
    # with R(D) = 1/2 log(sigma^2 / D) (sigma^2 the variance of the discretised source) to about
    # 1.3e-9 nats; the run stops at Blahut's gap 1e-6, so 1e-6 is the tolerance we can certify.
    p, d, variance = gaussian_source()
    beta = np.geomspace(0.75, 20, 8)  # slope of 1/2 log(s^2/D) is -1/(2D): D = 1/(2 beta)
    res = rd.blahut_arimoto_rd(p, d, beta, tol=1e-6)
    assert res.converged.all()
    np.testing.assert_allclose(res.distortion, 1 / (2 * beta), rtol=1e-4)
    np.testing.assert_allclose(res.rate, rd.gaussian_rd(variance, res.distortion), atol=1e-6, rtol=0)


def test_reproduction_alphabet_with_a_useless_erasure_symbol():
    # Hamming distortion plus an "erasure" e with d(x, e) = 1: it costs as much as an error
    # and conveys nothing, so c(e) <= 1 at the optimum and R(D) is still h(p) - h(D).
    p1 = 0.3
    d = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 1.0]])  # shape (2, 3)
    res = rd.blahut_arimoto_rd([1 - p1, p1], d, np.geomspace(0.5, 30, 25), return_channels=True)
    assert res.q.shape == (25, 3) and res.channels.shape == (25, 2, 3)
    np.testing.assert_allclose(res.rate, rd.binary_rd(p1, res.distortion), atol=1e-8)
    assert res.q[:, 2].max() < 1e-6


def test_erasure_distortion_fair_coin_endpoints():
    # d(x, x) = 0, d(x, e) = 1, d(x, 1 - x) = 100 (never worth it): for a fair coin
    # R(D) = (1 - D) bits is a segment of slope -log 2, so slopes beta > log 2 give (0, 1 bit)
    # and beta < log 2 give (1, 0).
    d = np.array([[0.0, 100.0, 1.0], [100.0, 0.0, 1.0]])
    res = rd.blahut_arimoto_rd([0.5, 0.5], d, [0.3, 0.6, 0.8, 3.0], base=2)
    np.testing.assert_allclose(res.distortion, [1, 1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(res.rate, 1 - res.distortion, atol=1e-6)


def test_fewer_reproduction_symbols_than_source_symbols():
    # X = (B1, B2), reproduce only B1 with Hamming distortion: d has shape (4, 2) and
    # R(D) = h(P(B1 = 1)) - h(D) whatever B2 is.
    joint = np.array([[0.30, 0.25], [0.05, 0.40]])  # P(B1, B2); P(B1 = 1) = 0.45
    p = joint.reshape(-1)
    d = np.array([[0.0, 1.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    res = rd.blahut_arimoto_rd(p, d, np.geomspace(0.3, 20, 15))
    np.testing.assert_allclose(res.rate, rd.binary_rd(0.45, res.distortion), atol=1e-8)


def test_forbidden_pairs_through_the_tilted_core():
    # -inf log-weights forbid a pair outright; a large finite distortion gives the same curve.
    beta = np.geomspace(0.3, 10, 6)
    d_big = np.array([[0.0, 60.0, 0.4], [60.0, 0.0, 0.4]])
    forbidden = np.array([[0.0, -np.inf, -0.4], [-np.inf, 0.0, -0.4]])
    res = rd.blahut_arimoto_tilted([0.6, 0.4], beta[:, None, None] * forbidden)
    ref = rd.blahut_arimoto_rd([0.6, 0.4], d_big, beta)
    assert (res.channel[:, 0, 1] == 0).all() and (res.channel[:, 1, 0] == 0).all()
    np.testing.assert_allclose(res.information, ref.rate, atol=1e-9)
    np.testing.assert_allclose(-res.expected_log_weight / beta, ref.distortion, atol=1e-9)


def test_tilted_core_rate_reward_and_batched_sources():
    # Rate-reward (Definition 7): omega = +lambda * w. A reward of 1 for copying the symbol
    # is the Hamming problem with beta = lambda, whatever the source in each batch row.
    lam = np.array([0.5, 2.0, 6.0])
    w = np.eye(2)
    p = np.array([[0.5, 0.5], [0.8, 0.2], [0.3, 0.7]])
    res = rd.blahut_arimoto_tilted(p, lam[:, None, None] * w, tol=1e-12)
    for i in range(3):
        ref = rd.blahut_arimoto_rd(p[i], 1 - w, lam[i : i + 1], tol=1e-12)
        assert res.information[i] == pytest.approx(ref.rate[0], abs=1e-10)
        assert res.expected_log_weight[i] == pytest.approx(lam[i] * (1 - ref.distortion[0]), abs=1e-10)


def test_warm_start_and_classical_algorithm_agree():
    p, d = random_problem(3, m=6, k=5)
    beta = np.array([0.7, 3.0, 12.0])
    fast = rd.blahut_arimoto_rd(p, d, beta, tol=1e-11)
    slow = rd.blahut_arimoto_rd(p, d, beta, tol=1e-11, accelerate=False, max_iter=200_000)
    assert slow.converged.all() and fast.n_iter.sum() <= slow.n_iter.sum()
    np.testing.assert_allclose(fast.rate + beta * fast.distortion, slow.rate + beta * slow.distortion, atol=2e-11)
    warm = rd.blahut_arimoto_tilted(p, -beta[:, None, None] * d, q0=fast.q, tol=1e-11)
    assert warm.n_iter.max() <= 3


def test_underflowing_normaliser_falls_back_to_log_sum_exp(monkeypatch):
    # Start with almost no mass (1e-300) on the only good reproduction of x = 1: the linear-domain
    # normaliser Z(1) e^{-max} underflows, the step is redone in the log domain, and the
    # iteration still finds q = p (a perfect copy of a fair bit, I = log 2).
    omega = np.array([[0.0, -1000.0], [-1000.0, 0.0]])
    exact_steps = []
    exact = rd._log_c_exact
    monkeypatch.setattr(rd, "_log_c_exact", lambda *args: exact_steps.append(1) or exact(*args))
    for backend in (np.asarray, torch.tensor):
        res = rd.blahut_arimoto_tilted(
            backend(np.array([0.5, 0.5])), backend(omega), q0=backend(np.array([1.0, 1e-300])), tol=1e-12
        )
        assert bool(res.converged.all())
        assert float(res.information[0]) == pytest.approx(LOG2, abs=1e-12)
        np.testing.assert_allclose(np.asarray(res.q[0]), [0.5, 0.5], atol=1e-12)
    assert len(exact_steps) == 2  # one log-domain step per backend, then the fast path again


# --- closed forms: capacity -----------------------------------------------------------------


@pytest.mark.parametrize("eps", [0.0, 0.01, 0.11, 0.3, 0.5])
def test_bsc_capacity(eps):
    W = np.array([[1 - eps, eps], [eps, 1 - eps]])
    res = rd.channel_capacity(W, base=2)
    assert res.converged
    assert res.capacity == pytest.approx(1 - h_nats(eps) / LOG2, abs=1e-10)
    assert res.capacity == pytest.approx(rd.bsc_capacity(eps, base=2), abs=1e-10)
    np.testing.assert_allclose(res.input_pmf, [0.5, 0.5], atol=1e-9)


@pytest.mark.parametrize("eps", [0.0, 0.2, 0.5, 0.9])
def test_bec_capacity(eps):
    W = np.array([[1 - eps, 0.0, eps], [0.0, 1 - eps, eps]])  # outputs 0, 1, erasure
    res = rd.channel_capacity(W, base=2)
    assert res.capacity == pytest.approx(1 - eps, abs=1e-10)
    assert float(rd.bec_capacity(eps, base=2)) == pytest.approx(1 - eps, abs=1e-15)


def test_z_channel_capacity_and_optimal_input():
    res = rd.channel_capacity([[1.0, 0.0], [0.5, 0.5]], base=2)
    assert res.capacity == pytest.approx(math.log2(5 / 4), abs=1e-10)
    assert res.input_pmf[1] == pytest.approx(0.4, abs=1e-6)
    assert res.gap <= 1e-12 / LOG2


def test_capacity_of_a_stack_and_bounds():
    rng = np.random.default_rng(5)
    W = rng.dirichlet(np.full(6, 0.7), size=(7, 5))  # 7 channels, 5 inputs, 6 outputs
    res = rd.channel_capacity(W, tol=1e-11)
    assert res.capacity.shape == (7,) and res.input_pmf.shape == (7, 5) and res.output_pmf.shape == (7, 6)
    for b in range(7):
        single = rd.channel_capacity(W[b], tol=1e-11)
        assert single.capacity == pytest.approx(res.capacity[b], abs=1e-10)
        assert 0 <= single.capacity <= math.log(5) + 1e-12
    np.testing.assert_allclose(res.input_pmf.sum(axis=1), 1, atol=1e-12)
    # An identity channel carries log m; a channel with identical rows carries nothing.
    assert rd.channel_capacity(np.eye(4)).capacity == pytest.approx(math.log(4), abs=1e-12)
    assert rd.channel_capacity(np.tile([0.2, 0.8], (3, 1))).capacity == pytest.approx(0.0, abs=1e-12)


# --- properties of the curve ----------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_curve_is_nonincreasing_convex_and_bounded(seed):
    p, d = random_problem(seed, m=10, k=7)
    res = rd.rate_distortion_curve(p, d, num=50, beta_min=0.05, beta_max=200.0)
    D, R, beta, gap = res.distortion, res.rate, res.beta, res.gap
    assert res.converged.all()
    assert (R >= 0).all() and (R <= entropy(p) + 1e-9).all() and (R <= math.log(7) + 1e-9).all()
    assert (np.diff(D) >= -1e-9).all() and (np.diff(R) <= 1e-9).all()
    # Convexity: each point supports the curve, so every other point lies above its tangent of
    # slope -beta_j (up to the certified gap).
    tangent = R[None, :] + beta[:, None] * (D[None, :] - D[:, None])  # [j, i]
    assert (tangent >= R[:, None] - gap[:, None] - 1e-9).all()
    # Chords: slopes between well separated points increase.
    far = np.concatenate([[True], np.diff(D) > 1e-3])
    slopes = np.diff(R[far]) / np.diff(D[far])
    assert (np.diff(slopes) >= -1e-5).all()


def test_gap_certifies_the_lagrangian():
    p, d = random_problem(11, m=12, k=12)
    beta = np.geomspace(0.2, 50, 12)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rd.ConvergenceWarning)
        rough = rd.blahut_arimoto_rd(p, d, beta, tol=1e-30, max_iter=40)
    exact = rd.blahut_arimoto_rd(p, d, beta, tol=1e-12)
    excess = rough.rate + beta * rough.distortion - (exact.rate + beta * exact.distortion)
    assert (excess >= -1e-11).all()
    assert (excess <= rough.gap + 1e-12).all()


def test_curve_grid_spans_d_min_to_d_max():
    p, d = random_problem(4, m=7, k=5)
    res = rd.rate_distortion_curve(p, d, num=30)
    d_min, d_max = float(p @ d.min(axis=1)), float((p @ d).min())
    assert res.rate[-1] < 1e-6 and res.distortion[-1] == pytest.approx(d_max, abs=1e-6)
    assert res.distortion[0] == pytest.approx(d_min, abs=1e-6)
    # the grid starts where the curve leaves R = 0: the next point has a visibly positive rate
    assert res.rate[-2] > 1e-4
    assert (np.diff(res.beta) < 0).all()


# --- backends -------------------------------------------------------------------------------


def _devices() -> list[str]:
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


@pytest.mark.parametrize("device", _devices())
def test_torch_matches_numpy_on_device(device):
    p, d = random_problem(7, m=9, k=6)
    beta = np.geomspace(0.3, 30, 10)
    ref = rd.blahut_arimoto_rd(p, d, beta, return_channels=True)
    pt, dt = torch.tensor(p, device=device), torch.tensor(d, device=device)
    out = rd.blahut_arimoto_rd(pt, dt, beta, return_channels=True, base=2)
    for name in ("beta", "distortion", "rate", "q", "gap", "channels"):
        value = getattr(out, name)
        assert isinstance(value, torch.Tensor) and value.device.type == device and value.dtype == torch.float64
    assert out.converged.device.type == device and out.converged.dtype == torch.bool
    np.testing.assert_allclose(out.rate.cpu().numpy(), ref.rate / LOG2, atol=1e-9)
    np.testing.assert_allclose(out.distortion.cpu().numpy(), ref.distortion, atol=1e-9)
    np.testing.assert_allclose(out.channels.cpu().numpy(), ref.channels, atol=1e-7)

    W = np.random.default_rng(1).dirichlet(np.ones(4), size=(3, 5))
    cap_np = rd.channel_capacity(W)
    cap_t = rd.channel_capacity(torch.tensor(W, device=device))
    assert cap_t.capacity.device.type == device and cap_t.capacity.dtype == torch.float64
    np.testing.assert_allclose(cap_t.capacity.cpu().numpy(), cap_np.capacity, atol=1e-11)


def test_torch_float32_runs_with_a_float32_tolerance():
    out = rd.blahut_arimoto_rd(
        torch.tensor([0.7, 0.3], dtype=torch.float32),
        torch.tensor(1 - np.eye(2), dtype=torch.float32),
        [1.0, 3.0],
        tol=1e-5,
    )
    assert out.rate.dtype == torch.float32
    np.testing.assert_allclose(out.rate.numpy(), rd.binary_rd(0.3, out.distortion.double().numpy()), atol=1e-4)


def test_numpy_outputs_are_float64_arrays():
    res = rd.blahut_arimoto_rd([0.5, 0.5], 1 - np.eye(2), 2.0)
    assert res.rate.shape == (1,) and res.rate.dtype == np.float64 and res.q.shape == (1, 2)
    assert res.channels is None
    cap = rd.channel_capacity([[0.9, 0.1], [0.1, 0.9]])
    assert isinstance(cap.capacity, np.float64) and isinstance(cap.n_iter, int) and cap.converged is True


# --- closed-form helpers --------------------------------------------------------------------


def test_closed_form_helpers():
    assert float(rd.binary_rd(0.3, 0.3)) == 0.0 and float(rd.binary_rd(0.3, 0.9)) == 0.0
    assert float(rd.binary_rd(0.3, 0.0)) == pytest.approx(h_nats(0.3), abs=1e-15)
    np.testing.assert_allclose(rd.binary_rd(0.2, [0.0, 0.1, 0.5]), [h_nats(0.2), h_nats(0.2) - h_nats(0.1), 0.0])
    assert float(rd.gaussian_rd(4.0, 1.0)) == pytest.approx(math.log(2), abs=1e-15)
    assert float(rd.gaussian_rd(1.0, 2.0)) == 0.0 and float(rd.gaussian_rd(1.0, 0.0)) == math.inf
    assert float(rd.bsc_capacity(0.5)) == pytest.approx(0.0, abs=1e-15)
    assert float(rd.bsc_capacity(0.0, base=2)) == 1.0
    t = rd.bsc_capacity(torch.tensor([0.0, 0.5], dtype=torch.float64))
    assert isinstance(t, torch.Tensor) and t.dtype == torch.float64


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: rd.binary_rd(1.2, 0.1), "`p` must lie in"),
        (lambda: rd.binary_rd(0.2, -0.1), "`D` must be >= 0"),
        (lambda: rd.gaussian_rd(0.0, 0.1), "`sigma2` must be positive"),
        (lambda: rd.gaussian_rd(1.0, np.nan), "`D` must be finite"),
        (lambda: rd.bsc_capacity(-0.1), "`eps` must lie in"),
        (lambda: rd.bec_capacity(2.0), "`eps` must lie in"),
    ],
)
def test_closed_form_validation(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "p, d, beta, message",
    [
        ([0.5, 0.6], 1 - np.eye(2), 1.0, "`p` must sum to 1"),
        ([0.5, 0.5], [[0.0, -1.0], [1.0, 0.0]], 1.0, "`d` must be non-negative"),
        ([0.5, 0.5], [[0.0, np.nan], [1.0, 0.0]], 1.0, "`d` must have finite entries"),
        ([0.5, 0.5], [[0.0, np.inf], [1.0, 0.0]], 1.0, "`d` must have finite entries"),
        ([0.5, 0.5], np.ones((3, 2)), 1.0, "`d` has 3 rows, but `p` has 2 outcomes"),
        ([0.5, 0.5], np.ones(2), 1.0, "`d` must be a matrix"),
        ([0.5, 0.5], 1 - np.eye(2), -1.0, "`beta` must be >= 0"),
        ([0.5, 0.5], 1 - np.eye(2), [1.0, np.inf], "`beta` must be finite"),
        ([0.5, 0.5], 1 - np.eye(2), [], "`beta` must not be empty"),
        ([0.5, 0.5], 1 - np.eye(2), [[1.0]], "`beta` must be a scalar or 1-d"),
    ],
)
def test_rate_distortion_validation(p, d, beta, message):
    with pytest.raises(ValueError, match=message):
        rd.blahut_arimoto_rd(p, d, beta)


def test_rate_distortion_type_errors_and_options():
    with pytest.raises(TypeError, match="`d` must be a numeric array"):
        rd.blahut_arimoto_rd([0.5, 0.5], [["a", "b"], ["c", "d"]], 1.0)
    with pytest.raises(TypeError, match="must all be numpy arrays or all be torch tensors"):
        rd.blahut_arimoto_rd(torch.tensor([0.5, 0.5], dtype=torch.float64), 1 - np.eye(2), 1.0)
    with pytest.raises(ValueError, match="`tol` must be positive"):
        rd.blahut_arimoto_rd([0.5, 0.5], 1 - np.eye(2), 1.0, tol=0.0)
    with pytest.raises(ValueError, match="`max_iter` must be a positive integer"):
        rd.blahut_arimoto_rd([0.5, 0.5], 1 - np.eye(2), 1.0, max_iter=0)
    with pytest.raises(ValueError, match="`num` must be an integer >= 2"):
        rd.rate_distortion_curve([0.5, 0.5], 1 - np.eye(2), num=1)
    with pytest.raises(ValueError, match="`beta_min` must be smaller"):
        rd.rate_distortion_curve([0.5, 0.5], 1 - np.eye(2), beta_min=5.0, beta_max=1.0)
    with pytest.raises(ValueError, match="needs at least one finite entry"):
        rd.blahut_arimoto_tilted([0.5, 0.5], [[0.0, 0.0], [-np.inf, -np.inf]])
    with pytest.raises(ValueError, match="NaN or \\+inf"):
        rd.blahut_arimoto_tilted([0.5, 0.5], [[0.0, np.inf], [0.0, 0.0]])


def test_tilted_core_validation():
    w = np.zeros((2, 2, 2))
    with pytest.raises(ValueError, match="row 1 is off by"):
        rd.blahut_arimoto_tilted([[0.5, 0.5], [0.5, 0.6]], w)
    with pytest.raises(ValueError, match="`p` has 3 rows, but `log_weights` holds 2 problems"):
        rd.blahut_arimoto_tilted(np.full((3, 2), 0.5), w)
    with pytest.raises(ValueError, match="`log_weights` has 2 rows, but `p` has 3 outcomes"):
        rd.blahut_arimoto_tilted(np.full(3, 1 / 3), w)
    with pytest.raises(ValueError, match="`q0` must have shape"):
        rd.blahut_arimoto_tilted([0.5, 0.5], w, q0=[0.2, 0.3, 0.5])
    with pytest.raises(ValueError, match="`base` must not be 1"):
        rd.blahut_arimoto_tilted([0.5, 0.5], w, base=1)
    with pytest.raises(TypeError, match="`accelerate` must be a bool"):
        rd.blahut_arimoto_tilted([0.5, 0.5], w, accelerate="yes")


@pytest.mark.parametrize(
    "W, message",
    [
        ([[0.5, 0.4], [0.5, 0.5]], "every row of `W` must sum to 1"),
        ([[1.2, -0.2], [0.5, 0.5]], "`W` must be non-negative"),
        ([[np.nan, 1.0], [0.5, 0.5]], "`W` must have finite entries"),
        ([0.5, 0.5], "`W` must have shape"),
        (np.zeros((2, 0)), "`W` must not be empty"),
    ],
)
def test_channel_validation(W, message):
    with pytest.raises(ValueError, match=message):
        rd.channel_capacity(W)


def test_convergence_warning_when_the_cap_is_hit():
    assert issubclass(rd.ConvergenceWarning, UserWarning)
    p, d = random_problem(0, m=6)
    with pytest.warns(rd.ConvergenceWarning, match="max_iter=3"):
        res = rd.blahut_arimoto_rd(p, d, [0.5, 5.0], max_iter=3)
    assert not res.converged.any() and (res.n_iter == 3).all()
    assert np.isfinite(res.rate).all() and (res.gap > 0).all()
    with pytest.warns(rd.ConvergenceWarning, match="1 of 1 channels"):
        cap = rd.channel_capacity([[0.9, 0.1, 0.0], [0.2, 0.3, 0.5]], max_iter=2)
    assert cap.converged is False and np.isfinite(cap.capacity)


# --- agreement with dit ---------------------------------------------------------------------


class _RunExactly:
    """A distortion for dit's Blahut–Arimoto that makes it run exactly ``max_iters`` iterations.

    dit stops when two successive mean distortions are ``np.isclose``. Adding a constant to
    every entry of d leaves each update unchanged (it cancels in the normalisation) but shifts
    the reported mean, so alternating the shift between 0 and 0.01 every iteration disables
    the early stop. The mean distortion is then recomputed from dit's returned joint pmf.
    """

    def __init__(self, d: np.ndarray):
        self.variants = (d, d + 0.01)
        self.calls = 0

    def __call__(self, p_x, q_y_x):
        self.calls += 1
        return self.variants[(self.calls // 2) % 2]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rate_distortion_agrees_with_dit(seed):
    pytest.importorskip("dit")
    from dit.rate_distortion.blahut_arimoto import blahut_arimoto

    p, d = random_problem(seed, m=5)
    beta = np.array([0.4, 2.0, 9.0])
    ours = rd.blahut_arimoto_rd(p, d, beta, tol=1e-12)
    classical = rd.blahut_arimoto_rd(p, d, beta, tol=1e-9, accelerate=False, max_iter=100_000)
    for i, b in enumerate(beta):
        # dit's beta multiplies d in exp2(-beta d): beta_dit = beta / log 2.
        n = int(classical.n_iter[i])
        result, joint = blahut_arimoto(p, b / LOG2, distortion=_RunExactly(d), max_iters=n, restarts=1)
        rate, distortion = result.rate * LOG2, float((joint * d).sum())
        # Same algorithm from the same start for the same number of updates: the same point.
        assert rate == pytest.approx(float(classical.rate[i]), abs=1e-9)
        assert distortion == pytest.approx(float(classical.distortion[i]), abs=1e-9)
        # Both within the certified gap of the optimum.
        assert rate + b * distortion == pytest.approx(float(ours.rate[i] + b * ours.distortion[i]), abs=1e-8)


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_channel_capacity_agrees_with_dit(seed):
    pytest.importorskip("dit")
    from dit.algorithms.channelcapacity import channel_capacity as dit_capacity

    rng = np.random.default_rng(seed)
    W = rng.dirichlet(np.ones(5), size=4)
    theirs, _ = dit_capacity(W, rtol=0, atol=1e-14)  # bits
    ours = rd.channel_capacity(W, base=2)
    assert ours.capacity == pytest.approx(theirs, abs=1e-10)


# --- the rate-distortion function at a prescribed distortion (constrained Blahut–Arimoto) ----


@pytest.mark.parametrize("p1, D", [(0.3, 0.1), (0.11, 0.05), (0.45, 0.3)])
def test_rd_at_distortion_matches_the_binary_closed_form(p1, D):
    res = rd.rd_at_distortion([p1, 1 - p1], 1 - np.eye(2), D, tol=1e-12, base=2)
    assert abs(res.distortion[0] - D) < 1e-12 and res.converged[0] and res.gap[0] <= 1e-12 / LOG2
    assert abs(res.rate[0] - rd.binary_rd(p1, D, base=2)) < 1e-9


@pytest.mark.parametrize("seed", range(4))
def test_rd_at_distortion_lands_on_the_slope_driven_curve(seed):
    p, d = random_problem(seed, m=6, k=7)
    d_min, d_max = float(np.sum(p * d.min(axis=1))), float(np.min(p @ d))
    targets = d_min + np.array([0.2, 0.5, 0.8]) * (d_max - d_min)
    res = rd.rd_at_distortion(p, d, targets, tol=1e-12)
    assert np.allclose(res.distortion, targets, atol=1e-10)
    same = rd.blahut_arimoto_rd(p, d, res.beta, tol=1e-12)  # the multipliers it found
    assert np.allclose(same.distortion, targets, atol=1e-6) and np.allclose(same.rate, res.rate, atol=1e-6)


def test_rd_at_distortion_beyond_d_max_is_zero_and_inside_a_segment():
    # past D_max the budget needs no information; on the erasure curve's corner the slope set is an interval
    res = rd.rd_at_distortion([0.3, 0.7], 1 - np.eye(2), [0.3, 0.5], tol=1e-12)
    assert np.all(np.abs(res.rate) < 1e-9)
    assert res.channels is None
    ch = rd.rd_at_distortion([0.3, 0.7], 1 - np.eye(2), 0.1, return_channels=True).channels
    assert ch.shape == (1, 2, 2) and np.allclose(ch.sum(axis=2), 1)


def test_rd_at_distortion_torch_matches_numpy():
    p, d = random_problem(1, m=5)
    a = rd.rd_at_distortion(p, d, 0.2, tol=1e-12)
    b = rd.rd_at_distortion(torch.as_tensor(p), torch.as_tensor(d), 0.2, tol=1e-12)
    assert isinstance(b.rate, torch.Tensor) and abs(float(b.rate[0]) - a.rate[0]) < 1e-12


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"D": 0.0}, ValueError, "`D` must exceed D_min"),
        ({"D": float("nan")}, ValueError, "`D`"),
        ({"D": np.zeros((2, 2)) + 0.2}, ValueError, "`D` must be a number"),
        ({"D": 0.1, "tol": -1.0}, ValueError, "tol"),
        ({"D": 0.1, "max_iter": 0}, ValueError, "max_iter"),
        ({"D": 0.1, "return_channels": 1}, TypeError, "return_channels"),
    ],
)
def test_rd_at_distortion_validation(kwargs, error, message):
    with pytest.raises(error, match=message):
        rd.rd_at_distortion([0.3, 0.7], 1 - np.eye(2), **kwargs)


def test_rd_at_distortion_warns_at_the_cap():
    p, d = random_problem(2, m=6)
    with pytest.warns(rd.ConvergenceWarning, match="max_iter=2"):
        res = rd.rd_at_distortion(p, d, 0.3 * float(np.min(p @ d)) + 0.7 * float(np.sum(p * d.min(axis=1))), max_iter=2)
    assert not res.converged[0] and res.n_iter[0] == 2
