import math

import pytest
import torch

from semlib import flow as fl
from semlib import info
from semlib.models import TokenSource


@pytest.fixture
def src():
    return TokenSource.random(3, 4, 4, seed=5, eos=3, smoothing=0.05)


def test_flow_expectation_is_directed_information(src):
    j = src.joint()
    s, u = src.sample(30_000, seed=0)
    mean, se = fl.mc_mean(fl.flow_increments(src, s, u))
    for t in range(src.length):
        exact = float(info.mutual_information(j, (0,), (t + 1,), given=tuple(range(1, t + 1))))
        assert abs(float(mean[t]) - exact) < 5 * float(se[t]) + 1e-12


def test_flow_is_cumsum(src):
    s, u = src.sample(10, seed=1)
    assert torch.allclose(fl.semantic_information_flow(src, s, u), fl.flow_increments(src, s, u).cumsum(1))


def test_kl_drift_nonnegative_and_exact(src):
    s, u = src.sample(200, seed=2)
    kl, var = fl.step_moments(src, s, u)
    assert (kl >= -1e-12).all() and (var >= 0).all()
    lc, lm = src.cond_logprobs(s, u)[:, :-1], src.marginal_logprobs(u)[:, :-1]
    p = lc.exp()
    ref = torch.where(p > 0, p * (lc - lm), torch.zeros_like(p)).sum(-1)
    assert torch.allclose(kl, ref, atol=1e-12)


def test_doob(src):
    s, u = src.sample(40_000, seed=3)
    d = fl.doob_decomposition(src, s, u)
    assert torch.allclose(d.flow, d.compensator + d.martingale)
    assert (d.compensator.diff(dim=1) >= -1e-12).all()
    m, se = fl.mc_mean(d.martingale)
    assert (m.abs() < 5 * se).all()


def test_negative_drift_greedy():
    p = torch.tensor([0.5, 0.5], dtype=torch.float64)
    row = torch.tensor([[0.6, 0.4], [0.9, 0.1]], dtype=torch.float64)
    k = row[:, None, :].expand(2, 3, 2).contiguous()
    src = TokenSource(p, k, 1)
    s = torch.tensor([0, 1])
    u = torch.zeros(2, 1, dtype=torch.long)
    mean, _ = fl.step_moments(src, s, u, greedy=True)
    assert torch.allclose(mean[:, 0], torch.tensor([math.log(0.8), math.log(1.2)], dtype=torch.float64))
    assert float(mean.mean()) < 0


def test_freedman_bound():
    assert abs(float(fl.freedman_bound(1.0, 1.0)) - math.exp(-0.25)) < 1e-15
    assert float(fl.freedman_bound(1.0, 1.0, c=2.0)) > float(fl.freedman_bound(1.0, 1.0))
    with pytest.raises(ValueError):
        fl.freedman_bound(-1.0, 1.0)
    with pytest.raises(ValueError):
        fl.freedman_bound(1.0, 1.0, c=0)


def test_capacity_matches_brute_force():
    src = TokenSource.random(2, 3, 3, seed=7)
    cap = fl.semantic_information_capacity(src)
    w = src.channel()
    best = 0.0
    for r in torch.linspace(0, 1, 2001, dtype=torch.float64):
        pr = torch.stack([r, 1 - r])
        best = max(best, float(info.mutual_information(pr[:, None] * w, (0,), (1,))))
    assert best <= float(cap.capacity) + 1e-10
    assert float(cap.capacity) - best < 1e-5


def test_validation(src):
    with pytest.raises(TypeError):
        fl.flow_increments("not a source", torch.tensor([0]), torch.tensor([[0]]))
    with pytest.raises(ValueError):
        fl.mc_mean(torch.tensor([1.0]))
    m, se = fl.mc_mean([1.0, 2.0])  # a list is numpy: numpy in, Python floats out
    assert isinstance(m, float) and isinstance(se, float)


# --- Definition 9 with the reward constraint ---------------------------------------------
def _reward_setup():
    from semlib.models import all_sequences

    src = TokenSource.random(3, 3, 2, seed=5, concentration=0.4)
    seqs = all_sequences(3, 2)
    w = (seqs == 0).double().mean(1).expand(3, -1)
    return src, w, (src.channel() * w).sum(1)


def test_reward_capacity_slack_equals_capacity_and_active_meets_constraint():
    src, w, wbar = _reward_setup()
    cap = fl.semantic_information_capacity(src)
    free = fl.semantic_information_capacity(src, reward=w, min_reward=float(wbar.min()))
    assert abs(float(free.capacity) - float(cap.capacity)) < 1e-9 and float(free.lam) == 0.0
    target = 0.5 * (float(free.mean_reward) + float(wbar.max()))
    res = fl.semantic_information_capacity(src, reward=w, min_reward=target)
    assert abs(float(res.mean_reward) - target) < 1e-8
    assert float(res.capacity) < float(cap.capacity) and float(res.gap) < 1e-7 and float(res.lam) > 0
    # brute force on a fine grid of the 3-prompt simplex
    g = 200
    a, b = torch.meshgrid(torch.arange(g + 1), torch.arange(g + 1), indexing="ij")
    keep = a + b <= g
    R = torch.stack([a[keep], b[keep], g - a[keep] - b[keep]], 1).double() / g
    W = src.channel()
    q = R @ W
    I = (R * (W * W.log()).sum(1)).sum(1) - (q * q.log()).sum(1)
    best = float(I[R @ wbar >= target].max())
    assert best <= float(res.capacity) + 1e-9 and float(res.capacity) - best < 1e-3


def test_reward_capacity_at_the_top_uses_only_the_best_prompt():
    src, w, wbar = _reward_setup()
    res = fl.semantic_information_capacity(src, reward=w, min_reward=float(wbar.max()))
    assert math.isinf(float(res.lam))
    assert float(res.input_pmf[wbar < wbar.max()].sum()) == 0.0
    assert abs(float(res.capacity)) < 1e-12  # one prompt carries no information


def test_reward_capacity_curve_is_concave_non_increasing():
    src, w, _ = _reward_setup()
    res = fl.reward_capacity_curve(src, w, torch.logspace(-2, 2, 15))
    e, i = res.mean_reward, res.capacity
    assert (e.diff() >= -1e-12).all() and (i.diff() <= 1e-9).all()
    sl = i.diff() / e.diff().clamp_min(1e-15)
    assert (sl[e.diff() > 1e-6].diff() <= 1e-6).all()
    assert (res.gap < 1e-9).all()


def test_reward_capacity_bad_inputs():
    src, w, wbar = _reward_setup()
    with pytest.raises(ValueError, match="infeasible"):
        fl.semantic_information_capacity(src, reward=w, min_reward=float(wbar.max()) + 0.1)
    with pytest.raises(ValueError, match="`min_reward` must be"):
        fl.semantic_information_capacity(src, reward=w)
    with pytest.raises(ValueError, match="`min_reward` needs `reward`"):
        fl.semantic_information_capacity(src, min_reward=0.1)
    with pytest.raises(ValueError, match="`reward` must hold"):
        fl.semantic_information_capacity(src, reward=w[:, :3], min_reward=0.1)
    with pytest.raises(ValueError, match="`lambdas`"):
        fl.reward_capacity_curve(src, w, [-1.0])


# --- keywords are checked, not swallowed; bad numbers raise instead of giving NaN ----------------
def test_capacity_rejects_misspelt_keywords():
    src, w, wbar = _reward_setup()
    with pytest.raises(TypeError, match="max_iters"):
        fl.semantic_information_capacity(src, max_iters=10)
    with pytest.raises(TypeError, match="min_rewrd"):
        fl.semantic_information_capacity(src, reward=w, min_reward=float(wbar.min()), min_rewrd=0.3)
    with pytest.raises(TypeError, match="tolerance"):
        fl.semantic_information_capacity(src, reward=w, min_reward=float(wbar.min()), tolerance=1e-3)


def test_capacity_honours_tol_and_max_iter_without_reward():
    """`tol` and `max_iter` are documented parameters: the unconstrained solve must use them too."""
    from semlib.rate_distortion import ConvergenceWarning, channel_capacity

    src, _, _ = _reward_setup()
    with pytest.warns(ConvergenceWarning):
        fl.semantic_information_capacity(src, max_iter=1)
    loose = fl.semantic_information_capacity(src, tol=1e-3)
    assert float(loose.capacity) == float(channel_capacity(src.channel(), tol=1e-3).capacity)
    default = fl.semantic_information_capacity(src)  # the defaults are channel_capacity's
    assert float(default.capacity) == float(channel_capacity(src.channel()).capacity)


def test_capacity_validates_tol_max_iter_and_base():
    src, w, wbar = _reward_setup()
    target = 0.5 * (float(wbar.min()) + float(wbar.max()))
    for kw in ({"max_iter": 0}, {"max_iter": 2.5}, {"tol": -1.0}, {"tol": float("nan")}):
        name = next(iter(kw))
        with pytest.raises((ValueError, TypeError), match=name):
            fl.semantic_information_capacity(src, reward=w, min_reward=target, **kw)
        with pytest.raises((ValueError, TypeError), match=name):
            fl.reward_capacity_curve(src, w, [0.0, 1.0], **kw)
    with pytest.raises(ValueError, match="base"):
        fl.semantic_information_capacity(src, reward=w, min_reward=target, base=float("nan"))


def test_freedman_bound_rejects_nan():
    with pytest.raises(ValueError, match="alpha"):
        fl.freedman_bound(float("nan"), 1.0)
    with pytest.raises(ValueError, match="beta"):
        fl.freedman_bound(1.0, float("inf"))


# --- the flow depends on the assumed prompt law ------------------------------------------------
def _with_law(src, pmf):
    return TokenSource(pmf, src.kernel, src.length, eos=src.eos)


def test_flow_prompt_law_range_brackets_every_law_and_is_attained(src):
    s, u = src.sample(20, seed=4)
    lo, hi = fl.flow_prompt_law_range(src, s, u)
    assert lo.shape == hi.shape == u.shape and (lo <= 1e-12).all() and (hi >= -1e-12).all()
    g = torch.Generator().manual_seed(0)
    for _ in range(30):
        pmf = torch._standard_gamma(torch.full((3,), 0.5, dtype=torch.float64), generator=g)
        pmf = (pmf + 1e-9) / (pmf + 1e-9).sum()
        f = fl.semantic_information_flow(_with_law(src, pmf), s, u)
        assert (f >= lo - 1e-9).all() and (f <= hi + 1e-9).all()
    # near-vertex laws reach both ends for the last step: mass 1 - 2e-12 on the argmax / argmin
    ends = []
    for b in range(3):
        pmf = torch.full((3,), 1e-12, dtype=torch.float64)
        pmf[b] = 1 - 2e-12
        ends.append(fl.semantic_information_flow(_with_law(src, pmf), s, u))
    ends = torch.stack(ends, -1)
    assert torch.allclose(ends.min(-1).values, lo, atol=1e-6) and torch.allclose(ends.max(-1).values, hi, atol=1e-6)


def test_flow_prompt_law_range_edge_cases():
    k = torch.tensor([[0.5, 0.5], [1.0, 0.0]], dtype=torch.float64)[:, None, :].expand(2, 3, 2).contiguous()
    src = TokenSource(torch.tensor([0.5, 0.5], dtype=torch.float64), k, 1)
    lo, hi = fl.flow_prompt_law_range(src, torch.tensor([0, 0]), torch.tensor([[0], [1]]))
    assert float(lo[0, 0]) == pytest.approx(math.log(0.5)) and float(hi[0, 0]) == pytest.approx(0.0)
    assert float(lo[1, 0]) == pytest.approx(0.0) and math.isinf(float(hi[1, 0]))  # prompt 1 never emits token 1
    with pytest.raises(ValueError, match="possible"):
        fl.flow_prompt_law_range(src, torch.tensor([1]), torch.tensor([[1]]))
    with pytest.raises(TypeError, match="source"):
        fl.flow_prompt_law_range("src", torch.tensor([0]), torch.tensor([[0]]))


def test_private_token_source_closed_form():
    m, p = 7, 0.03
    src = fl.private_token_source(m, p)
    s = torch.arange(m)
    own, common = s[:, None], torch.full((m, 1), m)
    assert torch.allclose(fl.flow_increments(src, s, own)[:, 0], torch.full((m,), math.log(m), dtype=torch.float64))
    assert fl.flow_increments(src, s, common).abs().max() < 1e-12
    drift, var = fl.step_moments(src, s, common)
    assert torch.allclose(drift[:, 0], torch.full((m,), p * math.log(m), dtype=torch.float64))
    assert torch.allclose(var[:, 0], torch.full((m,), p * (1 - p) * math.log(m) ** 2, dtype=torch.float64))
    assert abs(float(src.joint().sum()) - 1) < 1e-12


@pytest.mark.parametrize(
    "kw",
    [
        {"n_prompts": 1, "p": 0.1},
        {"n_prompts": 2.0, "p": 0.1},
        {"n_prompts": 3, "p": 0.0},
        {"n_prompts": 3, "p": 1.0},
        {"n_prompts": True, "p": 0.5},
    ],
)
def test_private_token_source_validation(kw):
    with pytest.raises(ValueError, match="n_prompts" if kw["n_prompts"] in (1, 2.0, True) else "`p`"):
        fl.private_token_source(**kw)
