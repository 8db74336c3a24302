import math

import pytest
import torch

from semlib import info
from semlib.models import TokenSource


@pytest.fixture
def src():
    return TokenSource.random(3, 4, 4, seed=0, eos=3)


def test_joint_is_pmf_and_marginals(src):
    j = src.joint()
    assert j.shape == (3, 4, 4, 4, 4)
    assert abs(float(j.sum()) - 1) < 1e-12
    assert torch.allclose(j.sum(dim=(1, 2, 3, 4)), src.prompt_pmf)


def test_eos_absorbing(src):
    s, u = src.sample(500, seed=1)
    stopped = u[:, :-1] == 3
    assert bool((u[:, 1:][stopped] == 3).all())


def test_marginal_logprobs_match_enumeration(src):
    j = src.joint()
    s, u = src.sample(50, seed=2)
    lm = src.marginal_logprobs(u)
    for b in range(5):
        for t in range(src.length):
            pref = tuple(u[b, :t].tolist())
            sub = j.sum(dim=0)[pref]
            pt = sub.sum(dim=tuple(range(1, sub.ndim))) if sub.ndim > 1 else sub
            assert torch.allclose(lm[b, t].exp(), pt / pt.sum(), atol=1e-12)


def test_cond_logprobs_and_posterior(src):
    s, u = src.sample(20, seed=3)
    lc = src.cond_logprobs(s, u)
    assert torch.allclose(lc.exp().sum(-1), torch.ones(20, 5, dtype=torch.float64))
    post = src.prompt_log_posterior(u).exp()
    assert torch.allclose(post[:, 0], src.prompt_pmf.expand(20, 3))
    assert torch.allclose(post.sum(-1), torch.ones(20, 5, dtype=torch.float64))


def test_sampling_frequencies(src):
    s, u = src.sample(40_000, seed=4)
    freq = torch.bincount(u[:, 0], minlength=4).double() / 40_000
    exact = (src.prompt_pmf[:, None] * src.kernel[:, 4]).sum(0)
    assert (freq - exact).abs().max() < 5 * math.sqrt(0.25 / 40_000)


def test_decode_logprobs():
    lp = torch.tensor([0.5, 0.3, 0.2], dtype=torch.float64).log()
    assert torch.allclose(TokenSource.decode_logprobs(lp).exp(), lp.exp())
    q = TokenSource.decode_logprobs(lp, top_k=2).exp()
    assert torch.allclose(q, torch.tensor([0.625, 0.375, 0.0], dtype=torch.float64))
    hot = TokenSource.decode_logprobs(lp, temperature=1e-3).exp()
    assert hot[0] > 0.999
    with pytest.raises(ValueError, match="temperature"):
        TokenSource.decode_logprobs(lp, temperature=0.0)


def test_channel_mutual_information(src):
    w = src.channel()
    assert torch.allclose(w.sum(1), torch.ones(3, dtype=torch.float64))
    mi = info.mutual_information(src.joint(), (0,), (1, 2, 3, 4))
    assert float(mi) >= 0


def test_validation():
    p = torch.tensor([0.5, 0.5], dtype=torch.float64)
    k = torch.full((2, 3, 2), 0.5, dtype=torch.float64)
    with pytest.raises(ValueError, match="shape"):
        TokenSource(p, k[:, :2], 2)
    with pytest.raises(ValueError, match="sum to 1"):
        TokenSource(p, k * 1.1, 2)
    with pytest.raises(ValueError, match="absorbing"):
        TokenSource(p, k, 2, eos=1)
    with pytest.raises(TypeError):
        TokenSource([0.5, 0.5], k, 2)
    with pytest.raises(ValueError, match="length"):
        TokenSource(p, k, 0)
    src = TokenSource(p, k, 2)
    with pytest.raises(ValueError, match="`s`"):
        src.cond_logprobs(torch.tensor([2]), torch.tensor([[0]]))
    with pytest.raises(ValueError, match="more than"):
        src.cond_logprobs(torch.tensor([0]), torch.tensor([[0, 0, 0]]))
