"""Tests for semlib.elbo: the latent-position model of §V-C (Eqs. 54-67)."""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from semlib import elbo as el

D64 = {"dtype": torch.float64}


def _random_case(seed: int, K: int = 5, batch: int = 7, V: int = 4, mask: bool = True):
    g = torch.Generator().manual_seed(seed)
    scores = 2 * torch.randn(batch, K, generator=g, **D64)
    if mask:  # causal-style: row b sees positions 0..(b % K)
        allowed = torch.arange(K)[None, :] <= (torch.arange(batch) % K)[:, None]
        scores = scores.masked_fill(~allowed, -math.inf)
    log_prior = torch.log_softmax(scores, -1)
    logits = 3 * torch.randn(batch, K, V, generator=g, **D64)
    y = torch.randint(0, V, (batch,), generator=g)
    log_em = torch.log_softmax(logits, -1)[torch.arange(batch), :, y]
    return log_prior, log_em, logits, y, g


def test_marginal_matches_bruteforce_sum():
    lp, le, *_ = _random_case(0)
    brute = torch.log((lp.exp() * le.exp()).sum(-1))
    assert torch.allclose(el.marginal_loglik(lp, le), brute, atol=1e-13, rtol=0)


def test_gap_is_kl_to_posterior_and_tight_at_posterior():
    lp, le, _, _, g = _random_case(1)
    raw = torch.randn(lp.shape, generator=g, **D64).masked_fill(lp == -math.inf, -math.inf)
    lq = torch.log_softmax(raw, -1)
    ll = el.marginal_loglik(lp, le)
    post = el.posterior(lp, le)
    assert ((ll - el.elbo(lq, lp, le)) - el.kl_categorical(lq, post)).abs().max() < 1e-12
    assert (el.elbo(post, lp, le) - ll).abs().max() < 1e-12
    # the other decomposition: E_Q log p(u|J) - KL(Q || prior)
    e2 = (lq.exp() * le).sum(-1) - el.kl_categorical(lq, lp)
    assert (e2 - el.elbo(lq, lp, le)).abs().max() < 1e-12


def test_posterior_is_normalised_and_bayes():
    lp, le, *_ = _random_case(2)
    post = el.posterior(lp, le).exp()
    assert torch.allclose(post.sum(-1), torch.ones(post.shape[0], **D64), atol=1e-13)
    bayes = lp.exp() * le.exp() / (lp.exp() * le.exp()).sum(-1, keepdim=True)
    assert torch.allclose(post, bayes, atol=1e-13)


def test_eq61_literal_counts_prior_twice():
    lp, le, *_ = _random_case(3)
    post = el.posterior(lp, le)
    lit = el.elbo_eq61_literal(post, lp, le)
    ce = -(post.exp() * lp.masked_fill(lp == -math.inf, 0)).sum(-1)
    assert (el.marginal_loglik(lp, le) - lit - ce).abs().max() < 1e-12
    # maximiser of the literal form is Q ∝ pi^2 p, with value log sum pi^2 p (not the log-likelihood)
    q2 = torch.log_softmax(2 * lp + le, -1)
    assert (el.elbo_eq61_literal(q2, lp, le) - torch.logsumexp(2 * lp + le, -1)).abs().max() < 1e-12


def test_soft_attention_jensen_identity_and_two_position_example():
    lp, _, logits, _, _ = _random_case(4, mask=False)
    pi = lp.exp()
    soft = el.soft_attention_logprobs(pi, logits)
    e_all = (pi[..., None] * torch.log_softmax(logits, -1)).sum(-2)
    G = el.jensen_gap(pi, logits)
    assert (soft - e_all - G[..., None]).abs().max() < 1e-12 and G.min() >= -1e-14
    mix = el.mixture_logprobs(pi, logits)
    assert torch.allclose(mix.exp().sum(-1), torch.ones(pi.shape[0], **D64), atol=1e-13)
    assert torch.allclose(soft.exp().sum(-1), torch.ones(pi.shape[0], **D64), atol=1e-13)
    p2 = torch.tensor([0.5, 0.5], **D64)
    l2 = torch.tensor([[10.0, 0.0], [0.0, 0.0]], **D64)
    assert abs(el.mixture_logprobs(p2, l2).exp()[0] - (0.5 / (1 + math.exp(-10)) + 0.25)) < 1e-12
    assert abs(el.soft_attention_logprobs(p2, l2).exp()[0] - 1 / (1 + math.exp(-5))) < 1e-12


def test_hard_attention_all_models_coincide():
    logits = torch.randn(3, 4, 5, **D64)
    pi = torch.zeros(3, 4, **D64)
    pi[:, 2] = 1.0
    ref = torch.log_softmax(logits[:, 2], -1)
    assert torch.allclose(el.soft_attention_logprobs(pi, logits), ref, atol=1e-13)
    assert torch.allclose(el.mixture_logprobs(pi, logits), ref, atol=1e-13)
    assert el.jensen_gap(pi, logits).abs().max() < 1e-13


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 10_000), K=st.integers(1, 6), V=st.integers(2, 5), temp=st.floats(0.1, 10.0))
def test_property_bounds(seed, K, V, temp):
    g = torch.Generator().manual_seed(seed)
    lp = torch.log_softmax(torch.randn(K, generator=g, **D64) / temp, -1)
    logits = 4 * torch.randn(K, V, generator=g, **D64)
    lq = torch.log_softmax(torch.randn(K, generator=g, **D64), -1)
    for y in range(V):
        le = torch.log_softmax(logits, -1)[:, y]
        ll = el.marginal_loglik(lp, le)
        assert el.elbo(lq, lp, le) <= ll + 1e-12
        assert el.elbo(lp, lp, le) <= el.soft_attention_logprobs(lp.exp(), logits)[y] + 1e-12
    assert el.jensen_gap(lp.exp(), logits) >= -1e-12


def test_model_kinds_agree_with_functions():
    V, T = 4, 7
    m = el.LatentAlignmentLM(V, seed=3)
    with torch.no_grad():
        m.A.mul_(20), m.B.mul_(20)
    ids = el.sample_alignment_source(m, 9, T, seed=2)
    with torch.no_grad():
        P = m.parts(ids)
        lp, le = P["log_prior"], P["log_emission"]
        assert torch.allclose(m.token_loglik(ids, "mixture"), el.marginal_loglik(lp, le), atol=1e-12)
        assert torch.allclose(m.token_loglik(ids, "elbo"), el.elbo(lp, lp, le), atol=1e-12)
        soft = el.soft_attention_logprobs(lp.exp(), P["logits"]).gather(-1, P["targets"][..., None])[..., 0]
        assert torch.allclose(m.token_loglik(ids, "soft"), soft, atol=1e-12)
    # the causal mask: no mass on the future
    assert (lp.exp().triu(1) == 0).all()
    # changing future tokens does not change the prediction of the current one
    ids2 = ids.clone()
    ids2[:, -1] = (ids2[:, -1] + 1) % V
    with torch.no_grad():
        a, b = m.token_loglik(ids, "mixture"), m.token_loglik(ids2, "mixture")
    assert torch.allclose(a[:, :-1], b[:, :-1], atol=1e-14)


def test_sampler_follows_the_law():
    # with B = 0 (uniform prior over the past) and a deterministic emission, check by counting
    V = 3
    A = torch.full((V, V), -50.0, **D64)
    A[(torch.arange(V) + 1) % V, torch.arange(V)] = 50.0  # key token v emits v + 1
    m = el.LatentAlignmentLM(V, A=A, B=torch.zeros(V, V, **D64))
    ids = el.sample_alignment_source(m, 20000, 2, seed=0)
    assert ((ids[:, 1] - ids[:, 0]) % V == 1).all()
    ids3 = el.sample_alignment_source(m, 20000, 3, seed=1)
    frac = ((ids3[:, 2] - ids3[:, 0]) % V == 1).double().mean().item()  # J = 0 w.p. 1/2; J = 1 gives u0 + 2
    assert abs(frac - 0.5) < 0.02


def test_training_decreases_loss_and_mle_beats_elbo_on_likelihood():
    torch.manual_seed(0)
    g = torch.Generator().manual_seed(1)
    V = 4
    src = el.LatentAlignmentLM(
        V, A=2 * torch.randn(V, V, generator=g, **D64), B=3 * torch.randn(V, V, generator=g, **D64)
    )
    ids = el.sample_alignment_source(src, 1500, 8, seed=0)
    fits = {}
    for obj in ("mixture", "elbo"):
        m = el.LatentAlignmentLM(V, seed=0)
        losses = el.train_alignment(m, ids, obj, steps=150, batch_size=256, lr=0.05, progress=False)
        assert losses[-1] < losses[0]
        with torch.no_grad():
            fits[obj] = -m.token_loglik(ids, "mixture").mean().item()
    assert fits["mixture"] < fits["elbo"]


def test_cosine_schedule_anneals_the_rate():
    """The cosine schedule starts at lr (one step: same as constant) and anneals it (two steps:
    the second step is half as long, so the fits differ); an unknown schedule is refused."""
    ids = el.sample_alignment_source(el.LatentAlignmentLM(3, seed=4), 400, 6, seed=0)

    def fit(steps, schedule):
        m = el.LatentAlignmentLM(3, seed=0)
        el.train_alignment(m, ids, steps=steps, batch_size=16, lr=0.05, lr_schedule=schedule, progress=False)
        return torch.cat([p.detach().flatten() for p in m.parameters()])

    assert torch.equal(fit(1, "constant"), fit(1, "cosine"))
    assert not torch.allclose(fit(2, "constant"), fit(2, "cosine"))
    with pytest.raises(ValueError, match="lr_schedule"):
        fit(1, "linear")


def test_validation():
    lp, le, _logits, _, _ = _random_case(5)
    out = el.marginal_loglik(lp.numpy(), le.numpy())  # numpy in, numpy out
    assert type(out).__name__ == "ndarray" and str(out.dtype) == "float64"
    with pytest.raises(ValueError, match="log_prior"):
        el.marginal_loglik(lp + 1.0, le)
    with pytest.raises(ValueError, match="same shape"):
        el.marginal_loglik(lp, le[:, :-1])
    with pytest.raises(ValueError, match="pi"):
        el.soft_attention_logprobs(torch.full((2, 3), 0.5, **D64), torch.zeros(2, 3, 4, **D64))
    with pytest.raises(ValueError, match="logits"):
        el.mixture_logprobs(torch.full((2, 2), 0.5, **D64), torch.zeros(2, 3, 4, **D64))
    with pytest.raises(TypeError, match="vocab"):
        el.LatentAlignmentLM(2.5)
    m = el.LatentAlignmentLM(3)
    with pytest.raises(ValueError, match="ids"):
        m.token_loglik(torch.tensor([[0, 5]]))
    with pytest.raises(ValueError, match="kind"):
        m.token_loglik(torch.tensor([[0, 1]]), "hard")
    with pytest.raises(ValueError, match="objective"):
        el.train_alignment(m, torch.tensor([[0, 1]]), "nll")
    with pytest.raises(ValueError, match="A"):
        el.LatentAlignmentLM(3, A=torch.zeros(2, 2, **D64))


# --- categorical_entropy, paired_difference and elbo_path (the ELBO chapter) ---


def test_categorical_entropy_masks_the_future_and_matches_the_formula():
    lp = torch.log_softmax(torch.randn(4, 5, dtype=torch.float64), -1)
    lp[:, 3:] = -math.inf
    lp = torch.log_softmax(lp, -1)
    p = lp.exp()
    hand = -(p[:, :3] * lp[:, :3]).sum(-1)
    torch.testing.assert_close(el.categorical_entropy(lp), hand)
    assert el.categorical_entropy([0.0, -math.inf]) == 0.0
    with pytest.raises(ValueError, match="log_p"):
        el.categorical_entropy([0.5, -1.0])


def test_paired_difference_mean_and_standard_error():
    import numpy as np

    a, b = np.array([1.0, 4.0, 2.0, 7.0]), np.array([0.5, 3.0, 2.5, 5.0])
    m, se = el.paired_difference(a, b)
    d = a - b
    assert m == d.mean() and abs(se - d.std(ddof=1) / 2) < 1e-15
    mt, set_ = el.paired_difference(torch.as_tensor(a), torch.as_tensor(b))
    assert isinstance(mt, float) and isinstance(set_, float) and mt == m
    with pytest.raises(ValueError, match="same shape"):
        el.paired_difference(a, b[:3])
    with pytest.raises(ValueError, match="at least 2"):
        el.paired_difference([1.0], [2.0])
    with pytest.raises(ValueError, match="finite"):
        el.paired_difference([1.0, math.nan], [2.0, 3.0])


def test_elbo_path_adds_up_to_the_loglik_and_reaches_it_at_the_posterior():
    import numpy as np

    m = el.LatentAlignmentLM(5, seed=3)
    ids = el.sample_alignment_source(m, 4, 6, seed=2)
    path = el.elbo_path(m, ids, 1, 3, 1.0, np.linspace(0, 1, 11))
    assert path.elbo.shape == (11,) and path.prior.shape == (4,) and path.posterior.shape == (4,)
    np.testing.assert_allclose(path.elbo + path.kl, path.loglik, atol=1e-12)
    assert abs(path.elbo[-1] - path.loglik) < 1e-12 and np.all(np.diff(path.elbo) > -1e-12)
    assert path.soft <= 0 and abs(path.prior.sum() - 1) < 1e-12
    with pytest.raises(TypeError, match="model"):
        el.elbo_path(object(), ids, 0, 0, 1.0, [0.0])
    with pytest.raises(ValueError, match="query"):
        el.elbo_path(m, ids, 0, 5, 1.0, [0.0])
    with pytest.raises(ValueError, match="lams"):
        el.elbo_path(m, ids, 0, 0, 1.0, [1.5])
