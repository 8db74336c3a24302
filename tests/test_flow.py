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
    with pytest.raises(TypeError):
        fl.mc_mean([1.0, 2.0])
