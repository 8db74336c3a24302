"""Tests of semlib.estimators: InfoNCE / NWJ / DV bounds (§IV-D, Eq. 43), MINE and DINE (§V-F, Eq. 77)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from semlib import estimators as E
from semlib import gaussian as G


def gaussian_pairs(
    rng: np.random.Generator, rho: float, d: int, size: tuple[int, ...]
) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) with d independent coordinate pairs of correlation rho."""
    x = rng.standard_normal(size + (d,))
    y = rho * x + math.sqrt(1 - rho**2) * rng.standard_normal(size + (d,))
    return x, y


def optimal_scores(x: np.ndarray, y: np.ndarray, rho: float) -> np.ndarray:
    """s[..., i, j] = log p(y_j | x_i) / p(y_j): the true log density ratio (optimal critic)."""
    v = 1 - rho**2
    xi, yj = x[..., :, None, :], y[..., None, :, :]
    return (-0.5 * math.log(v) - (yj - rho * xi) ** 2 / (2 * v) + yj**2 / 2).sum(-1)


# --- InfoNCE ------------------------------------------------------------------------------------


def test_constant_critic_gives_zero_bound():
    for K in (2, 7, 64):
        assert E.infonce_bound(np.zeros((K, K))) == pytest.approx(0.0, abs=1e-12)
        assert E.infonce_loss(np.full((3, K, K), 2.5)) == pytest.approx(math.log(K))


def test_perfect_critic_reaches_log_k():
    K = 16
    assert E.infonce_bound(200 * np.eye(K)) == pytest.approx(math.log(K), abs=1e-12)
    assert E.infonce_bound(200 * np.eye(K), base=2) == pytest.approx(4.0, abs=1e-12)


def test_loss_matches_cross_entropy():
    rng = np.random.default_rng(0)
    s = rng.normal(size=(9, 9))
    ce = torch.nn.functional.cross_entropy(torch.as_tensor(s), torch.arange(9))
    assert E.infonce_loss(s) == pytest.approx(float(ce), abs=1e-12)


def test_independent_variables_bound_near_zero():
    """With x independent of y even the 'optimal' critic of a rho = 0.5 model certifies ~0."""
    rng = np.random.default_rng(1)
    K, R = 64, 200
    x = rng.standard_normal((R, K, 2))
    y = rng.standard_normal((R, K, 2))
    bound = E.infonce_bound(optimal_scores(x, y, 0.0))
    assert bound == pytest.approx(0.0, abs=1e-12)  # rho = 0 critic is constant
    b_wrong = float(E.infonce_bound(optimal_scores(x, y, 0.5)))
    # a fixed critic on independent data has E[bound] <= 0; spread about 1/sqrt(R K)
    assert b_wrong < 3 / math.sqrt(R * K) and b_wrong > -1.0


@pytest.mark.parametrize("rho, d, K", [(0.5, 1, 256), (0.8, 2, 256), (0.95, 4, 32)])
def test_optimal_critic_close_to_min_of_i_and_log_k(rho, d, K):
    rng = np.random.default_rng(2)
    R = 40
    x, y = gaussian_pairs(rng, rho, d, (R, K))
    s = optimal_scores(x, y, rho)
    I = -0.5 * d * math.log(1 - rho**2)
    per_batch = np.array([float(E.infonce_bound(s[r])) for r in range(R)])
    est, se = per_batch.mean(), per_batch.std(ddof=1) / math.sqrt(R)
    target = min(I, math.log(K))
    # never above either ceiling (beyond Monte-Carlo error) ...
    assert est <= I + 4 * se and est <= math.log(K) + 1e-12
    # ... and close to min(I, log K): the known gap of the optimal critic is O(e^I / K)
    gap = 0.1 + math.exp(I) / K
    assert est >= target - gap - 4 * se


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 3), st.integers(2, 12)).map(lambda t: (t[0], t[1], t[1])),
        elements=st.floats(-1e3, 1e3, allow_nan=False),
    )
)
def test_infonce_never_exceeds_log_k(scores):
    K = scores.shape[-1]
    assert E.infonce_bound(scores) <= math.log(K) + 1e-9
    assert E.infonce_loss(scores) >= -1e-9


def test_torch_in_torch_out_and_gradient():
    s = torch.randn(5, 5, dtype=torch.float64, requires_grad=True)
    b = E.infonce_bound(s)
    assert isinstance(b, torch.Tensor) and b.dtype == torch.float64
    b.backward()
    assert s.grad is not None and torch.isfinite(s.grad).all()
    assert isinstance(E.infonce_bound(s.detach().numpy()), np.floating)


def test_bilinear_critic_and_from_critic():
    torch.manual_seed(0)
    critic = E.BilinearCritic(3, 2, dtype=torch.float64)
    with torch.no_grad():
        critic.W.copy_(torch.randn(3, 2, dtype=torch.float64))
    x = torch.randn(6, 3, dtype=torch.float64)
    c = torch.randn(6, 2, dtype=torch.float64)
    S = critic.scores(x, c)
    brute = torch.stack([torch.stack([critic(x[j], c[i]) for j in range(6)]) for i in range(6)])
    assert torch.allclose(S, brute)
    b1 = E.infonce_from_critic(critic, x, c)
    b2 = E.infonce_from_critic(lambda xx, cc: critic(xx, cc), x, c)  # broadcast path
    assert float(b1.detach()) == pytest.approx(float(b2.detach()), abs=1e-12)


@pytest.mark.parametrize(
    "bad, exc",
    [
        (np.zeros((3, 4)), ValueError),
        (np.zeros((1, 1)), ValueError),
        (np.zeros(5), ValueError),
        (np.array([[0.0, np.nan], [0.0, 0.0]]), ValueError),
        (np.array([["a", "b"], ["c", "d"]]), TypeError),
    ],
)
def test_infonce_bad_scores(bad, exc):
    with pytest.raises(exc):
        E.infonce_loss(bad)


def test_from_critic_bad_inputs():
    crit = E.BilinearCritic(2, 2)
    with pytest.raises(TypeError):
        E.infonce_from_critic(crit, np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="same number"):
        E.infonce_from_critic(crit, torch.zeros(3, 2), torch.zeros(4, 2))
    with pytest.raises(TypeError):
        E.infonce_from_critic(3, torch.zeros(3, 2), torch.zeros(3, 2))
    with pytest.raises(ValueError):
        E.BilinearCritic(0, 2)


# --- NWJ and DV -----------------------------------------------------------------------------------


def test_nwj_dv_with_optimal_critic_on_gaussian():
    rng = np.random.default_rng(3)
    rho, d, N = 0.6, 2, 200_000
    I = -0.5 * d * math.log(1 - rho**2)
    x, y = gaussian_pairs(rng, rho, d, (N,))
    y_shuf = y[rng.permutation(N)]
    T_joint = optimal_scores(x[:, None, :], y[:, None, :], rho)[:, 0, 0]
    T_marg = optimal_scores(x[:, None, :], y_shuf[:, None, :], rho)[:, 0, 0]
    assert E.dv_bound(T_joint, T_marg) == pytest.approx(I, abs=0.03)
    assert E.nwj_bound(T_joint + 1, T_marg + 1) == pytest.approx(I, abs=0.03)
    # both are lower bounds for any critic: a mis-scaled critic gives less
    assert E.dv_bound(0.5 * T_joint, 0.5 * T_marg) < I
    assert E.nwj_bound(2 * T_joint, 2 * T_marg) < I
    # DV >= NWJ for the same critic (log z <= z / e)
    assert E.dv_bound(T_joint, T_marg) >= E.nwj_bound(T_joint, T_marg)


def test_joint_and_marginal_split():
    s = np.arange(9.0).reshape(3, 3)
    j, m = E.joint_and_marginal_scores(s)
    assert np.array_equal(j, [0, 4, 8]) and sorted(m) == [1, 2, 3, 5, 6, 7]
    with pytest.raises(TypeError):
        E.dv_bound(np.zeros(3), torch.zeros(3))
    with pytest.raises(ValueError):
        E.nwj_bound(np.array([]), np.zeros(3))


# --- MINE (moving-average gradient) and DINE-style directed information (§V-F, Eq. 77) ----------


def _tiny_critic() -> torch.nn.Module:
    torch.manual_seed(0)
    return torch.nn.Sequential(torch.nn.Linear(2, 4), torch.nn.Tanh(), torch.nn.Linear(4, 1)).double()


def _scores(critic, xy):
    return critic(xy).squeeze(-1)


def _flat_grad(loss, params):
    return torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, params)])


def test_mine_gradient_is_the_moving_average_correction():
    """Autograd: grad of the MINE loss = -(E_P[dT] - E_Q[dT e^T] / ema), and differs from the naive DV gradient."""
    critic = _tiny_critic()
    params = list(critic.parameters())
    g = torch.Generator().manual_seed(1)
    batches = [
        (
            torch.randn(16, 2, generator=g, dtype=torch.float64),
            torch.randn(24, 2, generator=g, dtype=torch.float64) * 1.5,
        )
        for _ in range(3)
    ]
    obj = E.MineObjective(ema_rate=0.2)
    ema = None
    for k, (pj, pm) in enumerate(batches):
        j, m = _scores(critic, pj), _scores(critic, pm)
        batch_mean = float(m.detach().exp().mean())
        ema = batch_mean if ema is None else 0.8 * ema + 0.2 * batch_mean
        loss = obj(j, m)
        assert obj.last_dv == pytest.approx(float(j.detach().mean()) - math.log(batch_mean), abs=1e-12)
        assert math.exp(obj.log_ema) == pytest.approx(ema, rel=1e-12)
        g_mine = _flat_grad(loss, params)
        # independent computation: the two expectations' gradients, combined by hand
        g_joint = _flat_grad(_scores(critic, pj).mean(), params)
        g_exp = _flat_grad(_scores(critic, pm).exp().mean(), params)  # E_Q[dT e^T]
        assert torch.allclose(g_mine, -(g_joint - g_exp / ema), atol=1e-12, rtol=0)
        g_naive = _flat_grad(-E.dv_bound(_scores(critic, pj), _scores(critic, pm)), params)
        assert torch.allclose(g_naive, -(g_joint - g_exp / batch_mean), atol=1e-12, rtol=0)
        if k > 0:  # after the first batch the average is not the batch mean: the gradients differ
            assert float((g_mine - g_naive).abs().max()) > 1e-4
    # ema_rate = 1 forgets the past: back to the naive gradient
    obj1 = E.MineObjective(ema_rate=1.0)
    for pj, pm in batches:
        loss = obj1(_scores(critic, pj), _scores(critic, pm))
    g_naive = _flat_grad(-E.dv_bound(_scores(critic, pj), _scores(critic, pm)), params)
    assert torch.allclose(_flat_grad(loss, params), g_naive, atol=1e-12, rtol=0)


def test_mine_objective_is_stable_for_large_scores_and_validates():
    obj = E.MineObjective(0.5)
    obj(torch.zeros(3), torch.full((5,), 800.0))
    loss = obj(torch.zeros(3), torch.full((5,), 801.0))
    assert torch.isfinite(loss) and obj.last_dv == pytest.approx(-801.0)
    for bad in (0.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="ema_rate"):
            E.MineObjective(bad)
    with pytest.raises(TypeError, match="ema_rate"):
        E.MineObjective("0.1")
    with pytest.raises(TypeError, match="torch"):
        obj(np.zeros(3), np.zeros(3))
    with pytest.raises(ValueError, match="finite"):
        obj(torch.tensor([float("nan")]), torch.zeros(2))


class _PairCritic(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(2, 32), torch.nn.ELU(), torch.nn.Linear(32, 1))

    def forward(self, x, y):
        return self.net(torch.cat([x, y], -1)).squeeze(-1)


@pytest.mark.parametrize("ema_rate", [0.01, None])
def test_train_mine_recovers_gaussian_mi(ema_rate):
    rho = 0.8
    truth = -0.5 * math.log(1 - rho**2)
    g = torch.Generator().manual_seed(0)

    def sample(n=256):
        x = torch.randn(n, 1, generator=g)
        return x, rho * x + math.sqrt(1 - rho**2) * torch.randn(n, 1, generator=g)

    torch.manual_seed(0)
    critic = _PairCritic()
    hist = E.train_mine(critic, sample, 400, lr=3e-3, ema_rate=ema_rate, seed=g, progress=False)
    assert hist["dv"].shape == (400,) and np.all(np.isfinite(hist["loss"]))
    x, y = sample(20000)
    with torch.no_grad():
        est = float(E.dv_bound(critic(x, y), critic(x, y[torch.randperm(20000, generator=g)])))
    assert abs(est - truth) < 0.06, (est, truth)


def _var_data(c, T=8, N=2000, seed=0):
    C = G.var_covariance([[[0.5, 0.0], [c, 0.6]]], np.eye(2), T)
    g = torch.Generator().manual_seed(seed)
    C32 = torch.as_tensor(C, dtype=torch.float32)
    train = G.simulate_gaussian_sequences(C32, N, 1, 1, seed=g)
    test = G.simulate_gaussian_sequences(C32, N, 1, 1, seed=g)
    return C, train, test, g


@pytest.mark.parametrize("encoder", ["gru", "attention", "window"])
def test_dine_encoders_are_causal(encoder):
    torch.manual_seed(0)
    crit = E.DineCritic(2, 1, encoder=encoder, hidden=8, window=3)
    x, y = torch.randn(4, 6, 2), torch.randn(4, 6, 1)
    perm = torch.tensor([1, 2, 3, 0])
    base = crit(x, y, perm)
    x2, y2 = x.clone(), y.clone()
    x2[:, 4] += 1.0  # changes histories from t = 5 (index 4) on
    y2[:, 4] += 1.0  # y_5 enters the scores at t = 5 and the histories from t = 6
    new = crit(x2, y2, perm)
    for a, b in zip(base, new):
        assert torch.allclose(a[:, :4], b[:, :4], atol=1e-6)
        assert (a[:, 4:] - b[:, 4:]).abs().max() > 1e-4


def test_dine_recovers_gaussian_directed_information_and_zero_without_link():
    """Window encoder (fast): within 0.08 nats of the closed form with the link, within 0.03 of 0 without."""
    out = {}
    for c in (0.8, 0.0):
        C, (x, y), (xt, yt), g = _var_data(c)
        truth = G.gaussian_directed_information_rate_terms(C, 1, 1)[1:].mean()
        torch.manual_seed(0)
        crit = E.DineCritic(1, 1, encoder="window", hidden=32, window=8)
        hist = E.train_dine(crit, x, y, 300, batch_size=64, burn_in=1, seed=g, progress=False)
        assert set(hist) == {"dv_xy", "dv_y", "di"} and hist["di"].shape == (300,)
        est = E.dine_estimate(crit, xt, yt, burn_in=1, seed=g)
        assert est["di"] == pytest.approx(est["dv_xy"] - est["dv_y"])
        out[c] = (est["di"], truth)
    assert out[0.8][1] > 0.25 and abs(out[0.8][0] - out[0.8][1]) < 0.08, out
    assert out[0.0][1] == pytest.approx(0.0, abs=1e-12) and abs(out[0.0][0]) < 0.03, out


def test_dine_bad_inputs():
    crit = E.DineCritic(1, 1, encoder="window", hidden=4)
    x = torch.zeros(4, 5, 1)
    with pytest.raises(ValueError, match="encoder"):
        E.DineCritic(1, 1, encoder="lstm")
    with pytest.raises(ValueError, match="hidden"):
        E.DineCritic(1, 1, encoder="attention", hidden=5, heads=2)
    with pytest.raises(ValueError, match="dim_x"):
        E.DineCritic(0, 1)
    with pytest.raises(ValueError, match="shape"):
        E.train_dine(crit, x[0], x[0], 1, progress=False)
    with pytest.raises(ValueError, match="dimensions"):
        E.train_dine(crit, torch.zeros(4, 5, 2), x, 1, progress=False)
    with pytest.raises(ValueError, match="burn_in"):
        E.dine_estimate(crit, x, x, burn_in=5)
    with pytest.raises(ValueError, match="steps"):
        E.train_dine(crit, x, x, 0, progress=False)
    with pytest.raises(TypeError, match="DineCritic"):
        E.dine_estimate(torch.nn.Linear(1, 1), x, x)
    with pytest.raises(ValueError, match="steps"):
        E.train_mine(_PairCritic(), lambda: (x[:, 0], x[:, 0]), 0, progress=False)


def test_seed_is_the_one_random_state_argument():
    """train_mine, train_dine and dine_estimate take `seed`: an int is reproducible, a generator is used as given."""
    x = torch.randn(6, 4, 1, generator=torch.Generator().manual_seed(0))

    def fit_and_estimate(seed):
        torch.manual_seed(0)
        crit = E.DineCritic(1, 1, encoder="window", hidden=4, window=2)
        hist = E.train_dine(crit, x, x, 2, batch_size=4, seed=seed, progress=False)
        return hist["di"], E.dine_estimate(crit, x, x, n_shuffles=2, seed=seed)

    h1, e1 = fit_and_estimate(5)
    h2, e2 = fit_and_estimate(5)
    h3, _ = fit_and_estimate(torch.Generator().manual_seed(5))
    assert np.array_equal(h1, h2) and e1 == e2 and np.array_equal(h1, h3)

    def mine(seed):
        torch.manual_seed(0)
        critic = _PairCritic()
        return E.train_mine(critic, lambda: (x[:, 0], x[:, 1]), 3, seed=seed, progress=False)["dv"]

    assert np.array_equal(mine(1), mine(1))
    crit = E.DineCritic(1, 1, encoder="window", hidden=4)
    with pytest.raises(TypeError, match="seed"):
        E.dine_estimate(crit, x, x, seed=np.random.default_rng(0))
    with pytest.raises(ValueError, match="seed"):
        E.train_dine(crit, x, x, 1, seed=-1, progress=False)
    with pytest.raises(TypeError, match="seed"):
        E.train_mine(_PairCritic(), lambda: (x[:, 0], x[:, 1]), 1, seed=1.5, progress=False)


# --- the paired-row Gaussian critic and the concatenation critic (information_measures chapter) ---


def test_gaussian_ratio_critic_is_the_diagonal_of_the_score_matrix():
    x, y = E.correlated_gaussian_batches(0.7, 3, 6, 2, seed=1)
    diag = np.diagonal(E.gaussian_ratio_scores(x, y, 0.7), axis1=-2, axis2=-1)
    np.testing.assert_allclose(E.gaussian_ratio_critic(x, y, 0.7), diag, rtol=0, atol=1e-12)
    t = E.gaussian_ratio_critic(torch.as_tensor(x), torch.as_tensor(y), 0.7)
    assert isinstance(t, torch.Tensor) and t.shape == (2, 6)
    np.testing.assert_allclose(t.numpy(), diag, rtol=0, atol=1e-12)
    assert isinstance(E.gaussian_ratio_critic(x[0, 0], y[0, 0], 0.7), float)


def test_gaussian_ratio_critic_averages_to_the_mutual_information():
    rho, d = 0.9, 2
    x, y = E.correlated_gaussian_batches(rho, d, 200_000, 1, seed=0)
    vals = E.gaussian_ratio_critic(x[0], y[0], rho)
    exact = -0.5 * d * math.log(1 - rho**2)
    assert abs(vals.mean() - exact) < 4 * vals.std() / math.sqrt(vals.size)


def test_gaussian_ratio_critic_validates():
    x = np.zeros((3, 2))
    with pytest.raises(ValueError, match="rho"):
        E.gaussian_ratio_critic(x, x, 1.0)
    with pytest.raises(TypeError, match="rho"):
        E.gaussian_ratio_critic(x, x, "0.5")
    with pytest.raises(ValueError, match="same shape"):
        E.gaussian_ratio_critic(x, np.zeros((3, 3)), 0.5)
    with pytest.raises(TypeError, match="numpy or both"):
        E.gaussian_ratio_critic(x, torch.zeros(3, 2), 0.5)
    with pytest.raises(ValueError, match="x"):
        E.gaussian_ratio_critic(np.full((3, 2), np.nan), x, 0.5)


def test_concat_critic_scores_pairs_and_validates():
    torch.manual_seed(0)
    critic = E.ConcatCritic(2, 3, hidden=8, dtype=torch.float64)
    x, y = torch.randn(5, 2, dtype=torch.float64), torch.randn(5, 3, dtype=torch.float64)
    out = critic(x, y)
    assert out.shape == (5,) and out.dtype == torch.float64
    # the score reads the concatenation: the first layer sees [x; y]
    lin = critic.net[0]
    assert lin.in_features == 5 and lin.out_features == 8
    torch.testing.assert_close(critic.net[:2](torch.cat([x, y], -1)), critic.net[1](lin(torch.cat([x, y], -1))))
    with pytest.raises(ValueError, match="hidden"):
        E.ConcatCritic(2, 2, hidden=0)
    with pytest.raises(ValueError, match="dim_y"):
        E.ConcatCritic(2, True)
    with pytest.raises(TypeError, match="x"):
        critic(np.zeros((5, 2)), y)
    with pytest.raises(ValueError, match="dimensions"):
        critic(y, x)


def test_concat_critic_learns_with_mine():
    rho = 0.8
    rng = np.random.default_rng(0)

    def sample(n=128):
        x, y = E.correlated_gaussian_batches(rho, 1, n, 1, seed=rng)
        return torch.as_tensor(x[0], dtype=torch.float32), torch.as_tensor(y[0], dtype=torch.float32)

    torch.manual_seed(0)
    critic = E.ConcatCritic(1, 1, hidden=16)
    E.train_mine(critic, sample, 300, lr=3e-3, seed=0, progress=False)
    x, y = sample(4096)
    with torch.no_grad():
        est = float(E.dv_bound(critic(x, y), critic(x, y[torch.randperm(4096)])))
    assert 0.2 < est < -0.5 * math.log(1 - rho**2) + 0.1


# --- the Gaussian test bed of InfoNCE (chapter on Eqs. 42-43) ---------------------------------------


def test_gaussian_ratio_scores_are_the_density_ratio_and_make_infonce_tight():
    from semlib.estimators import GaussianCritic, correlated_gaussian_batches, gaussian_ratio_scores, infonce_bound

    x, y = correlated_gaussian_batches(0.6, 2, 512, 4, seed=0)
    s = gaussian_ratio_scores(x, y, 0.6)
    v = 1 - 0.36
    hand = (-0.5 * np.log(v) - (y[0, 1] - 0.6 * x[0, 0]) ** 2 / (2 * v) + y[0, 1] ** 2 / 2).sum()
    assert s.shape == (4, 512, 512) and np.isclose(s[0, 0, 1], hand)
    true_I = -np.log(v)  # d = 2 coordinates of -1/2 log(1 - rho^2)
    assert abs(infonce_bound(s) - true_I) < 0.1
    st = gaussian_ratio_scores(torch.as_tensor(x), torch.as_tensor(y), 0.6)
    assert torch.is_tensor(st) and np.allclose(st.numpy(), s)
    critic = GaussianCritic(2, 2, dtype=torch.float64)
    assert tuple(critic.scores(torch.as_tensor(x[0]), torch.as_tensor(y[0])).shape) == (512, 512)


def test_correlated_gaussian_batches_validates_and_is_seeded():
    from semlib.estimators import correlated_gaussian_batches, gaussian_ratio_scores

    a, b = correlated_gaussian_batches(0.3, 1, 4, 2, seed=5), correlated_gaussian_batches(0.3, 1, 4, 2, seed=5)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    with pytest.raises(ValueError, match="rho"):
        correlated_gaussian_batches(1.0, 1, 4, 2)
    with pytest.raises(ValueError, match="K"):
        correlated_gaussian_batches(0.3, 1, 0, 2)
    with pytest.raises(ValueError, match="same shape"):
        gaussian_ratio_scores(np.zeros((3, 2)), np.zeros((4, 2)), 0.3)
