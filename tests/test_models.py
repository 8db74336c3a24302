import math

import numpy as np
import pytest
import torch

from semlib import info, models
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
    _s, u = src.sample(500, seed=1)
    stopped = u[:, :-1] == 3
    assert bool((u[:, 1:][stopped] == 3).all())


def test_marginal_logprobs_match_enumeration(src):
    j = src.joint()
    _s, u = src.sample(50, seed=2)
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
    _s, u = src.sample(40_000, seed=4)
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


# --- model families Q_Phi ------------------------------------------------------------------
from semlib.models import (
    NGramModel,
    TinyTransformer,
    all_sequences,
    fit_kernel,
    fit_kernel_counts,
    fit_next_token,
    history_weights,
    kernel_distortion_terms,
    mc_pretraining_distortion,
    pretraining_distortion,
    pretraining_rate,
    transition_counts,
)


@pytest.fixture
def small():
    return TokenSource.random(3, 3, 3, seed=4, concentration=0.5)


def test_all_sequences_order_matches_channel(small):
    seqs = all_sequences(3, 3)
    assert seqs.shape == (27, 3) and seqs[1].tolist() == [0, 0, 1]
    s = torch.zeros(27, dtype=torch.long)
    lp = small.cond_logprobs(s, seqs[:, :-1]).gather(-1, seqs[..., None])[..., 0].sum(-1)
    assert torch.allclose(lp.exp(), small.channel()[0], atol=1e-14)


def test_ngram_holding_the_source_kernel_has_zero_distortion(small):
    ng = NGramModel(3, 3, 3, order=2)
    with torch.no_grad():
        ng.table.copy_(small.kernel.log())
    assert torch.allclose(ng.channel(), small.channel(), atol=1e-14)
    assert abs(float(pretraining_distortion(small, ng))) < 1e-14
    assert abs(float(pretraining_rate(ng, small.prompt_pmf)) - float(pretraining_rate(small, small.prompt_pmf))) < 1e-14


def test_distortion_is_per_token_kl_between_whole_continuations(small):
    torch.manual_seed(0)
    ng = NGramModel(3, 3, 3, order=3)
    with torch.no_grad():
        ng.table.normal_()
    P = small.joint().reshape(3, -1)
    Q = small.prompt_pmf[:, None] * ng.channel()
    kl = float(info.kl_divergence(P.numpy(), Q.detach().numpy()))
    assert abs(float(pretraining_distortion(small, ng)) - kl / 3) < 1e-12
    mean, se = mc_pretraining_distortion(small, ng, 20000, seed=1)
    assert abs(mean - kl / 3) < 4 * se


def test_rate_equals_mutual_information_of_the_model_joint(small):
    tf = TinyTransformer(3, 3, 3, d_model=8, n_heads=2, n_layers=1)
    W = tf.channel().detach()
    assert torch.allclose(W.sum(1), torch.ones(3, dtype=torch.float64), atol=1e-12)
    joint = (small.prompt_pmf[:, None] * W).numpy()
    mi = float(info.mutual_information(joint, 0, 1))
    assert abs(float(pretraining_rate(tf, small.prompt_pmf)) * 3 - mi) < 1e-12


def test_transformer_is_causal(small):
    tf = TinyTransformer(3, 3, 3, d_model=8, n_heads=2, n_layers=1)
    s = torch.tensor([0, 0])
    u = torch.tensor([[1, 2, 0], [1, 0, 2]])
    lp = tf.cond_logprobs(s, u)
    assert torch.allclose(lp[0, :2], lp[1, :2], atol=1e-12)  # same prefix u_1 -> same laws
    assert not torch.allclose(lp[0, 2], lp[1, 2])


def test_count_mle_and_sgd_agree_and_unsmoothed_zero_gives_inf(small):
    s, u = small.sample(3000, seed=0)
    mle = NGramModel.from_counts(s, u, 3, 3, order=2, alpha=0.5)
    sgd = NGramModel(3, 3, 3, order=2)
    fit_next_token(sgd, s, u, steps=800, batch_size=3000, lr=0.2, progress=False)
    raw = NGramModel.from_counts(s, u, 3, 3, order=2, alpha=0.0)
    sgd_emp = NGramModel.from_counts(s, u, 3, 3, order=2, alpha=1e-9)
    assert abs(float(pretraining_distortion(small, sgd)) - float(pretraining_distortion(small, sgd_emp))) < 5e-3
    assert float(pretraining_distortion(small, mle)) < 0.05
    zero = NGramModel(3, 3, 3, order=2)
    with torch.no_grad():
        zero.table.fill_(-torch.inf)
        zero.table[..., 0] = 0.0
    assert float(pretraining_distortion(small, zero)) == float("inf")
    assert mc_pretraining_distortion(small, zero, 100) == (float("inf"), float("inf"))
    del raw


def test_information_weight_lowers_the_rate(small):
    s, u = small.sample(1000, seed=0)
    rates = []
    for beta in (0.0, 2.0):
        torch.manual_seed(0)
        ng = NGramModel(3, 3, 3, order=2)
        fit_next_token(
            ng, s, u, steps=300, batch_size=1000, lr=0.1, info_weight=beta, prompt_pmf=small.prompt_pmf, progress=False
        )
        rates.append(float(pretraining_rate(ng, small.prompt_pmf)))
    assert rates[1] < rates[0] - 0.05


def test_model_family_bad_inputs(small):
    with pytest.raises(ValueError, match="multiple of `n_heads`"):
        TinyTransformer(3, 3, 3, d_model=7, n_heads=2)
    with pytest.raises(ValueError, match="`order`"):
        NGramModel(3, 3, 3, order=0)
    ng = NGramModel(3, 3, 3)
    s, u = small.sample(10, seed=0)
    with pytest.raises(ValueError, match="`prompt_pmf` is needed"):
        fit_next_token(ng, s, u, info_weight=1.0, progress=False)
    with pytest.raises(ValueError, match="`u` must have length"):
        fit_next_token(ng, s, u[:, :2], progress=False)
    with pytest.raises(ValueError, match="share"):
        pretraining_distortion(small, NGramModel(3, 4, 3))
    with pytest.raises(TypeError, match="NextTokenModel"):
        fit_next_token(small, s, u)
    with pytest.raises(ValueError, match="too many"):
        all_sequences(16, 8)


# --- exact kernel fits (directed rate-distortion chapter) ---------------------------------------


@pytest.fixture
def ksrc():
    return TokenSource.random(3, 3, 3, seed=1, concentration=0.5)


def test_history_weights_are_laws_of_the_previous_token(ksrc):
    w = history_weights(ksrc)
    assert w.shape == (3, 3, 4)
    assert torch.allclose(w.sum((1, 2)), torch.ones(3, dtype=torch.float64), atol=1e-12)
    assert torch.equal(w[0, :, 3], ksrc.prompt_pmf) and float(w[0, :, :3].abs().sum()) == 0
    j = ksrc.joint()  # axes S, U_1, U_2, U_3: the history of step 2 (index 2) is U_2
    assert torch.allclose(w[2, :, :3], j.sum(dim=(1, 3)), atol=1e-14)
    assert float(w[1:, :, 3].abs().sum()) == 0


def test_kernel_distortion_terms_zero_at_truth_and_chain_rule(ksrc):
    assert float(kernel_distortion_terms(ksrc, ksrc.kernel.log()).abs().max()) < 1e-14
    g = torch.Generator().manual_seed(0)
    lq = torch.log_softmax(torch.randn(3, 4, 3, generator=g, dtype=torch.float64), -1)
    terms = kernel_distortion_terms(ksrc, lq)
    assert terms.shape == (3,) and bool((terms >= 0).all())
    whole = pretraining_distortion(ksrc, TokenSource(ksrc.prompt_pmf, lq.exp(), 3)) * 3
    assert abs(float(terms.sum() - whole)) < 1e-12


def test_kernel_distortion_terms_validation(ksrc):
    with pytest.raises(TypeError, match="source"):
        kernel_distortion_terms("not a source", ksrc.kernel.log())
    with pytest.raises(TypeError, match="log_kernel"):
        kernel_distortion_terms(ksrc, ksrc.kernel.log().numpy())
    with pytest.raises(ValueError, match="log_kernel"):
        kernel_distortion_terms(ksrc, ksrc.kernel.log()[:, :3])
    with pytest.raises(TypeError, match="source"):
        history_weights(None)


def test_fit_kernel_cross_entropy_reaches_the_source(ksrc):
    fit = fit_kernel(ksrc, 0.0)
    assert fit.theta.shape == (3, 4, 3) and not fit.theta.requires_grad
    assert fit.distortion < 1e-9
    assert abs(fit.rate - float(pretraining_rate(ksrc, ksrc.prompt_pmf))) < 1e-6


def test_fit_kernel_sweep_and_prompt_family(ksrc):
    f1 = fit_kernel(ksrc, 0.5)
    f2 = fit_kernel(ksrc, 2.0, theta0=f1.theta)
    assert f1.distortion < f2.distortion and f1.rate > f2.rate
    fp = fit_kernel(ksrc, 0.0, family="prompt")
    assert fp.distortion > 1e-6  # the prompt-only family does not contain the source
    assert torch.allclose(fp.theta[:, 0].softmax(-1), fp.theta[:, 0].softmax(-1))


def test_fit_kernel_validation(ksrc):
    with pytest.raises(ValueError, match="family"):
        fit_kernel(ksrc, 0.0, family="other")
    with pytest.raises(ValueError, match="beta"):
        fit_kernel(ksrc, -1.0)
    with pytest.raises(ValueError, match="beta"):
        fit_kernel(ksrc, float("nan"))
    with pytest.raises(ValueError, match="theta0"):
        fit_kernel(ksrc, 0.0, theta0=torch.zeros(3, 3, 3, dtype=torch.float64))
    with pytest.raises(TypeError, match="source"):
        fit_kernel(None, 0.0)


def test_transition_counts_by_hand():
    s = torch.tensor([0, 1])
    u = torch.tensor([[2, 0], [1, 1]])
    c = transition_counts(s, u, 2, 3)
    assert c.shape == (2, 4, 3) and float(c.sum()) == 4
    assert c[0, 3, 2] == 1 and c[0, 2, 0] == 1 and c[1, 3, 1] == 1 and c[1, 1, 1] == 1
    empty = transition_counts(torch.zeros(0, dtype=torch.long), torch.zeros(0, 2, dtype=torch.long), 2, 3)
    assert float(empty.sum()) == 0


def test_transition_counts_validation():
    s, u = torch.tensor([0, 1]), torch.tensor([[2, 0], [1, 1]])
    with pytest.raises(ValueError, match="`s`"):
        transition_counts(s, u, 1, 3)
    with pytest.raises(ValueError, match="`u`"):
        transition_counts(s, u, 2, 2)
    with pytest.raises(TypeError, match="`u`"):
        transition_counts(s, u.numpy(), 2, 3)
    with pytest.raises(TypeError, match="`s`"):
        transition_counts(s.double(), u, 2, 3)
    with pytest.raises(ValueError, match="shape"):
        transition_counts(s, u[:1], 2, 3)


def test_fit_kernel_counts_mle_and_rate(ksrc):
    s, u = ksrc.sample(200, seed=0)
    c = transition_counts(s, u, 3, 3)
    th0 = fit_kernel_counts(c, ksrc.prompt_pmf, 3, 0.0)
    closed = torch.log((c + 0.1) / (c + 0.1).sum(-1, keepdim=True))
    assert torch.allclose(torch.log_softmax(th0, -1), closed, atol=1e-9)
    th1 = fit_kernel_counts(c, ksrc.prompt_pmf, 3, 1.0, theta0=th0)
    rate = lambda th: float(pretraining_rate(TokenSource(ksrc.prompt_pmf, th.softmax(-1), 3), ksrc.prompt_pmf))
    assert rate(th1) < rate(th0)


def test_fit_kernel_counts_validation(ksrc):
    c = torch.ones(3, 4, 3, dtype=torch.float64)
    with pytest.raises(TypeError, match="counts"):
        fit_kernel_counts(c.numpy(), ksrc.prompt_pmf, 3, 0.0)
    with pytest.raises(ValueError, match="counts"):
        fit_kernel_counts(c[:, :3], ksrc.prompt_pmf, 3, 0.0)
    with pytest.raises(ValueError, match="counts"):
        fit_kernel_counts(-c, ksrc.prompt_pmf, 3, 0.0)
    with pytest.raises(ValueError, match="prompt_pmf"):
        fit_kernel_counts(c, ksrc.prompt_pmf[:2], 3, 0.0)
    with pytest.raises(ValueError, match="pseudo_count"):
        fit_kernel_counts(c, ksrc.prompt_pmf, 3, 0.0, pseudo_count=-1)
    with pytest.raises(ValueError, match="positive total"):
        fit_kernel_counts(torch.zeros(3, 4, 3, dtype=torch.float64), ksrc.prompt_pmf, 3, 0.0, pseudo_count=0)
    with pytest.raises(ValueError, match="beta"):
        fit_kernel_counts(c, ksrc.prompt_pmf, 3, -0.5)


# --- the exact toy LLM of Eq. (7): next_token_law, autoregressive_joint, generate, code lengths ---


def _toy(seed=0, V=3):
    rng = np.random.default_rng(seed)
    p1 = rng.dirichlet(np.ones(V))
    p2 = rng.dirichlet(np.ones(V), size=V)
    phi3 = rng.standard_normal((V, V, V))
    phi4 = rng.standard_normal((V, V, V, V))
    return p1, p2, phi3, phi4


def test_next_token_law_is_softmax_and_temperature_limits():
    z = np.array([[0.0, 1.0, 3.0], [2.0, 2.0, -1.0]])
    q = models.next_token_law(z)
    assert np.allclose(q, np.exp(z) / np.exp(z).sum(axis=1, keepdims=True), atol=1e-15)
    greedy = models.next_token_law(z, tau=1e-4)
    assert np.allclose(greedy[0], [0, 0, 1]) and np.allclose(greedy[1], [0.5, 0.5, 0])  # ties split
    assert np.allclose(models.next_token_law(z, tau=1e6), 1 / 3, atol=1e-5)
    assert np.allclose(models.next_token_law(np.array([1000.0, 0.0])), [1.0, 0.0])  # no overflow


@pytest.mark.parametrize("bad", [np.array([np.nan, 0.0]), np.array(1.0), np.zeros((2, 0))])
def test_next_token_law_rejects_bad_logits(bad):
    with pytest.raises(ValueError, match="logits"):
        models.next_token_law(bad)


@pytest.mark.parametrize("tau", [0.0, -1.0, float("inf")])
def test_next_token_law_rejects_bad_tau(tau):
    with pytest.raises(ValueError, match="tau"):
        models.next_token_law([0.0, 1.0], tau=tau)
    with pytest.raises(TypeError, match="tau"):
        models.next_token_law([0.0, 1.0], tau="1")


def test_autoregressive_joint_chain_rule_and_conditionals():
    p1, p2, phi3, phi4 = _toy()
    p = models.autoregressive_joint([p1, p2], [phi3, phi4], tau=0.7)
    assert p.shape == (3, 3, 3, 3) and abs(p.sum() - 1) < 1e-12
    q3, q4 = models.next_token_law(phi3, 0.7), models.next_token_law(phi4, 0.7)
    assert np.abs(p / p.sum(axis=3, keepdims=True) - q4).max() < 1e-12
    assert np.abs(p.sum(axis=3) / p.sum(axis=(2, 3))[..., None] - q3).max() < 1e-12
    assert np.allclose(p.sum(axis=(1, 2, 3)), p1, atol=1e-14)
    # greedy limit: one continuation per prompt
    p0 = models.autoregressive_joint([p1, p2], [phi3, phi4], tau=1e-4)
    assert info.conditional_entropy(p0, (2, 3), given=(0, 1)) < 1e-9


def test_autoregressive_joint_torch_matches_numpy():
    p1, p2, phi3, phi4 = _toy(1)
    want = models.autoregressive_joint([p1, p2], [phi3, phi4])
    got = models.autoregressive_joint([torch.as_tensor(p1), torch.as_tensor(p2)], [torch.as_tensor(phi3), phi4])
    assert isinstance(got, torch.Tensor) and got.dtype == torch.float64
    assert np.allclose(got.numpy(), want, atol=1e-15)


def test_autoregressive_joint_validates():
    p1, p2, phi3, phi4 = _toy()
    with pytest.raises(ValueError, match="logits\\[0\\]"):
        models.autoregressive_joint([p1, p2], [phi4])
    with pytest.raises(ValueError, match="conditionals"):
        models.autoregressive_joint([p1, 2 * p2], [phi3])
    with pytest.raises(ValueError, match="at least one"):
        models.autoregressive_joint([], [phi3])
    with pytest.raises(TypeError, match="logits"):
        models.autoregressive_joint([p1, p2], phi3)


def test_generate_frequencies_match_joint():
    p1, p2, phi3, phi4 = _toy(2)
    q3, q4 = models.next_token_law(phi3), models.next_token_law(phi4)
    p = models.autoregressive_joint([p1, p2], [phi3, phi4])
    rng = np.random.default_rng(5)
    N = 40_000
    prompts = models.generate([p1, p2], np.zeros((N, 0), dtype=int), seed=rng)
    seqs = models.generate([q3, q4], prompts, seed=rng)
    assert seqs.shape == (N, 4) and seqs.dtype == np.int64
    assert np.array_equal(seqs[:, :2], prompts)
    freq = np.bincount(np.ravel_multi_index(seqs.T, p.shape), minlength=p.size).reshape(p.shape) / N
    assert np.all(np.abs(freq - p) <= 5 * np.sqrt(p * (1 - p) / N) + 1e-12)


def test_generate_edge_cases_and_reproducibility():
    table = np.array([[0.0, 1.0], [1.0, 0.0]])  # deterministic: flip the token
    out = models.generate([table, np.broadcast_to(table, (2, 2, 2))], [[0], [1]], seed=0)
    assert out.tolist() == [[0, 1, 0], [1, 0, 1]]
    assert models.generate([table], np.zeros((0, 1), dtype=int), seed=0).shape == (0, 2)
    a = models.generate([np.full(4, 0.25)], np.zeros((50, 0), dtype=int), seed=3)
    b = models.generate([np.full(4, 0.25)], np.zeros((50, 0), dtype=int), seed=3)
    assert np.array_equal(a, b) and a.min() >= 0 and a.max() <= 3
    t = models.generate([torch.as_tensor(table)], torch.tensor([[1]]), seed=0)
    assert isinstance(t, torch.Tensor) and t.tolist() == [[1, 0]]


def test_generate_validates():
    table = np.full((2, 2), 0.5)
    with pytest.raises(ValueError, match="prompts"):
        models.generate([table], [0, 1])
    with pytest.raises(TypeError, match="prompts"):
        models.generate([table], [[0.5]])
    with pytest.raises(ValueError, match="out of range"):
        models.generate([table], [[2]])
    with pytest.raises(ValueError, match="axes"):
        models.generate([np.full((2, 2, 2), 0.5)], [[0]])
    with pytest.raises(ValueError, match="sum to 1"):
        models.generate([np.full((2, 2), 0.4)], [[0]])
    with pytest.raises(TypeError, match="conditionals"):
        models.generate([], [[0]])


def test_ml_code_length_is_empirical_conditional_entropy():
    rng = np.random.default_rng(0)
    c = rng.integers(0, 20, size=(3, 3, 4)).astype(float)
    c[0, 0] = 0  # an empty context costs nothing
    H = info.conditional_entropy(c / c.sum(), (2,), given=(0, 1))
    assert abs(models.ml_code_length(c) - c.sum() * H) < 1e-9
    assert models.ml_code_length(np.zeros((2, 3))) == 0.0
    assert models.ml_code_length([[5.0, 0.0]]) == 0.0
    assert abs(models.ml_code_length([1.0, 1.0]) - 2 * math.log(2)) < 1e-15
    with pytest.raises(ValueError, match="counts"):
        models.ml_code_length([[-1.0, 2.0]])
    with pytest.raises(ValueError, match="counts"):
        models.ml_code_length(3.0)


def test_code_lengths_full_window_true():
    p1, p2, phi3, phi4 = _toy(3)
    p = models.autoregressive_joint([p1, p2], [phi3, phi4])
    q_cont = p / p.sum(axis=(2, 3), keepdims=True)
    rng = np.random.default_rng(1)
    c = np.bincount(rng.choice(p.size, size=5000, p=p.ravel()), minlength=p.size).reshape(p.shape).astype(float)
    full, window, true = models.code_lengths(c, 2, q_cont)
    H_emp = info.conditional_entropy(c / c.sum(), (2, 3), given=(0, 1))
    assert abs(full - c.sum() * H_emp) <= 1e-9 * full
    assert full <= true + 1e-9 and full <= window + 1e-9  # the window class is nested in the full one
    assert abs(true + (c * np.log(q_cont)).sum()) < 1e-9
    # a law that really is window-1 with one shared table: the window fit of its counts is its own data
    pairs = c.sum(axis=(0, 3)) + c.sum(axis=(0, 1))
    assert abs(window - models.ml_code_length(pairs)) < 1e-12
    # an impossible counted pair costs inf under the true law
    q_bad = q_cont.copy()
    q_bad[0, 0] = 0
    q_bad[0, 0, 0, 0] = 1
    c2 = c.copy()
    c2[0, 0, 1, 1] += 1
    assert models.code_lengths(c2, 2, q_bad).true == math.inf


def test_code_lengths_validates():
    q = np.full((2, 2), 0.5)
    with pytest.raises(ValueError, match="n_prompt"):
        models.code_lengths(np.ones((2, 2)), 2, q)
    with pytest.raises(ValueError, match="one size"):
        models.code_lengths(np.ones((2, 3)), 1, np.full((2, 3), 1 / 3))
    with pytest.raises(ValueError, match="conditional"):
        models.code_lengths(np.ones((2, 2)), 1, np.full((2, 2), 0.4))
    with pytest.raises(TypeError, match="n_prompt"):
        models.code_lengths(np.ones((2, 2)), 1.0, q)
