"""Tests of semlib.tvvar: Theorem 5 against torch's attention, causality, counts, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from semlib import tvvar as tv

D64 = torch.float64


def _head(seed: int, d: int, d_k: int, d_v: int, with_o: bool):
    g = torch.Generator().manual_seed(seed)
    W = lambda *s: torch.randn(*s, generator=g, dtype=D64) / math.sqrt(s[-1])
    return W(d_k, d), W(d_k, d), W(d_v, d), (W(d, d_v) if with_o else None)


@pytest.mark.parametrize(
    "B,T,d,d_k,d_v,with_o",
    [(1, 1, 3, 3, 3, False), (2, 5, 4, 2, 4, False), (3, 9, 8, 4, 4, True), (1, 16, 6, 6, 3, True)],
)
def test_tvvar_form_equals_sdpa(B, T, d, d_k, d_v, with_o):
    g = torch.Generator().manual_seed(T)
    u = torch.randn(B, T, d, generator=g, dtype=D64) * 2
    Wq, Wk, Wv, Wo = _head(B + T, d, d_k, d_v, with_o)
    r = tv.attention_as_tvvar(u, Wq, Wk, Wv, Wo)
    ref = tv.attention_reference(u, Wq, Wk, Wv, Wo)
    assert (r.outputs - ref).abs().max() < 1e-6 * max(1.0, float(ref.abs().max()))
    # the same numbers through the general TV-VAR with A_tj = pi_tj A (Eqs. 44-45)
    y = tv.tvvar_outputs(u, tv.attention_coefficients(r.pi, r.A), include_current=True)
    assert (y - ref).abs().max() < 1e-10
    # pi: causal rows that are pmfs
    assert torch.allclose(r.pi.sum(-1), torch.ones(B, T, dtype=D64), atol=1e-12)
    assert (r.pi.triu(1) == 0).all() and (r.pi >= 0).all()
    assert r.outputs.dtype == D64


@pytest.mark.parametrize("bug", ["no_scale", "B_transposed", "no_W_o", "not_causal"])
def test_a_wrong_formula_fails_the_comparison(bug):
    """A one-line change to the TV-VAR formula must break the 1e-6 agreement: the check bites."""
    g = torch.Generator().manual_seed(1)
    u = torch.randn(2, 6, 8, generator=g, dtype=D64) * 2
    Wq, Wk, Wv, Wo = _head(7, 8, 4, 4, True)
    ref = tv.attention_reference(u, Wq, Wk, Wv, Wo)
    c = 1 / math.sqrt(4)
    B = c * Wq.T @ Wk
    A = Wo @ Wv
    if bug == "no_scale":
        B = Wq.T @ Wk
    elif bug == "B_transposed":
        B = B.T
    elif bug == "no_W_o":
        A = torch.cat([Wv, Wv], 0)  # shapes of A = W_v padded to d rows: the paper's A = W_v with a W_o present
    s = torch.einsum("bid,de,bje->bij", u, B, u)
    if bug != "not_causal":
        s = s.masked_fill(~torch.ones(6, 6, dtype=torch.bool).tril(), float("-inf"))
    y = torch.einsum("bij,od,bjd->bio", s.softmax(-1), A, u)
    assert (y - ref).abs().max() > 1e-3


def test_paper_scale_one_matches_sdpa_with_scale_one():
    u = torch.randn(2, 5, 4, dtype=D64, generator=torch.Generator().manual_seed(3))
    Wq, Wk, Wv, _ = _head(2, 4, 4, 4, False)
    r = tv.attention_as_tvvar(u, Wq, Wk, Wv, scale=1.0)
    assert torch.allclose(r.B, Wq.T @ Wk)  # Eq. (51) literally
    assert (r.outputs - tv.attention_reference(u, Wq, Wk, Wv, scale=1.0)).abs().max() < 1e-12
    assert (r.B - r.B.T).abs().max() > 1e-3  # B != B^T in general


def test_causality_of_attention_and_tvvar():
    g = torch.Generator().manual_seed(5)
    u = torch.randn(1, 8, 4, generator=g, dtype=D64)
    u2 = u.clone()
    u2[:, 5:] += torch.randn(1, 3, 4, generator=g, dtype=D64)
    Wq, Wk, Wv, _ = _head(0, 4, 4, 4, False)
    a, b = tv.attention_as_tvvar(u, Wq, Wk, Wv), tv.attention_as_tvvar(u2, Wq, Wk, Wv)
    assert torch.equal(a.outputs[:, :5], b.outputs[:, :5]) and not torch.allclose(a.outputs[:, 5:], b.outputs[:, 5:])
    A = torch.randn(8, 8, 4, 4, generator=g, dtype=D64)
    y1, y2 = tv.tvvar_outputs(u, A), tv.tvvar_outputs(u2, A)
    assert torch.equal(y1[:, :6], y2[:, :6])  # output t uses u_{<t}: 0..5 unchanged
    assert (tv.tvvar_outputs(u, A)[:, 0] == 0).all()
    # and the gradient of output i w.r.t. later inputs is exactly zero
    uu = u.clone().requires_grad_(True)
    tv.attention_as_tvvar(uu, Wq, Wk, Wv).outputs[0, 3].sum().backward()
    assert (uu.grad[0, 4:] == 0).all() and (uu.grad[0, :4] != 0).any()


def test_tinygpt_is_causal_and_heads_match():
    m = tv.TinyGPT(5, 8, d_model=8, n_heads=2, n_layers=2)
    ids = torch.randint(0, 5, (3, 8), generator=torch.Generator().manual_seed(0))
    ids2 = ids.clone()
    ids2[:, 6:] = (ids2[:, 6:] + 1) % 5
    assert torch.allclose(m(ids)[:, :6], m(ids2)[:, :6], atol=1e-12)
    # layer 0: the attention sublayer equals the sum of the heads written as TV-VARs
    x = m.embed(ids)
    h = m.blocks[0].ln1(x)
    total = sum(tv.attention_as_tvvar(h, *m.head_weights(0, k)).outputs for k in range(2))
    assert (total - m.blocks[0].attention(h)).abs().max() < 1e-10
    pis = [tv.attention_as_tvvar(h, *m.head_weights(0, k)).pi for k in range(2)]
    As = [tv.attention_as_tvvar(h, *m.head_weights(0, k)).A for k in range(2)]
    coef = tv.multihead_coefficients(pis, As, residual=True)
    y = tv.tvvar_outputs(h, coef, include_current=True)
    assert (y - (h + m.blocks[0].attention(h))).abs().max() < 1e-10


def test_parameter_counts():
    assert tv.tvvar_num_params(1, 5) == 0
    assert tv.tvvar_num_params(10, 3) == 45 * 9
    assert tv.tvvar_num_params(10, 3, d_out=2) == 45 * 6
    assert tv.attention_num_params(16) == 3 * 256
    assert tv.attention_num_params(16, bilinear=True) == 256 + 256
    assert tv.attention_num_params(16, 8, n_heads=2) == 2 * (2 * 8 * 16 + 8 * 16 + 16 * 8)
    model = tv.TVVAR(6, 3, torch.randn(4, 3, dtype=D64))
    used = int((model.coef != 0).any(-1).any(-1).sum()) * 9
    assert model.num_params() == used == tv.tvvar_num_params(6, 3)
    gpt = tv.TinyGPT(7, 10, d_model=8, n_heads=2, n_layers=1, mlp_ratio=2)
    expected = 7 * 8 + 10 * 8 + (2 * 8 + 4 * 64 + (8 * 16 + 16) + (16 * 8 + 8) + 2 * 8) + 2 * 8
    assert gpt.num_params() == expected


def test_tvvar_model_generate_and_logits():
    vocab = torch.randn(5, 3, dtype=D64, generator=torch.Generator().manual_seed(0))
    model = tv.TVVAR(7, 3, vocab, seed=1)
    ids = model.generate(torch.tensor([[0, 1], [2, 3]]), greedy=True)
    assert ids.shape == (2, 7) and (ids[:, :2] == torch.tensor([[0, 1], [2, 3]])).all()
    # greedy generation = argmax of Eq. (44) at each step, recomputed by hand
    for t in range(2, 7):
        u = vocab[ids[:, :t]]
        y = sum(model.coef[t, j] @ u[:, j].T for j in range(t)).T
        assert torch.equal((y @ vocab.T).argmax(-1), ids[:, t])
    lg = model.logits(vocab[ids], temperature=0.5)
    assert torch.allclose(lg, 2 * model.logits(vocab[ids]))


def test_data_of_known_law():
    ids, floor = tv.copy_task(50, 6, 4)
    assert torch.equal(ids[:, :3], ids[:, 3:]) and abs(floor - 2 * math.log(4) / 5) < 1e-12
    P = torch.tensor([[0.9, 0.1], [0.5, 0.5]], dtype=D64)
    x, H = tv.markov_tokens(P, 4000, 20, seed=0)
    mu = torch.tensor([5 / 6, 1 / 6], dtype=D64)
    assert abs(H - float(-(mu[:, None] * P * P.log()).sum())) < 1e-12
    emp = (x[:, 1:][x[:, :-1] == 0] == 1).double().mean()
    assert abs(float(emp) - 0.1) < 0.01


def test_train_gpt_reduces_loss():
    ids, _floor = tv.copy_task(256, 8, 4, seed=0)
    m = tv.TinyGPT(4, 8, d_model=16, n_heads=2, n_layers=1, dtype=torch.float32)
    losses = tv.train_gpt(m, ids, steps=60, batch_size=32, lr=1e-2, progress=False)
    assert losses[-1] < losses[0] and all(math.isfinite(v) for v in losses)


def test_bad_inputs():
    u = torch.randn(2, 4, 3, dtype=D64)
    W = torch.randn(3, 3, dtype=D64)
    res = tv.attention_as_tvvar(u.numpy(), W.numpy(), W.numpy(), W.numpy())  # numpy in, numpy out
    assert type(res.outputs).__name__ == "ndarray"
    with pytest.raises(ValueError, match="`W_q`"):
        tv.attention_as_tvvar(u, torch.randn(3, 2, dtype=D64), W, W)
    with pytest.raises(ValueError, match="`W_q` and `W_k`"):
        tv.attention_as_tvvar(u, torch.randn(2, 3, dtype=D64), W, W)
    with pytest.raises(ValueError, match="`W_o`"):
        tv.attention_as_tvvar(u, W, W, W, torch.randn(3, 2, dtype=D64))
    with pytest.raises(ValueError, match="`scale`"):
        tv.attention_as_tvvar(u, W, W, W, scale=-1.0)
    with pytest.raises(ValueError, match="dtype"):
        tv.attention_as_tvvar(u, W.float(), W, W)
    with pytest.raises(ValueError, match="finite"):
        tv.attention_as_tvvar(u * float("nan"), W, W, W)
    with pytest.raises(TypeError, match="floating"):
        tv.tvvar_outputs(torch.ones(2, 3, dtype=torch.long), torch.ones(2, 2, 3, 3))
    with pytest.raises(ValueError, match="`A`"):
        tv.tvvar_outputs(u, torch.ones(3, 3, 3, 3, dtype=D64))
    with pytest.raises(ValueError, match="`temperature`"):
        tv.tvvar_logits(u, W, temperature=0.0)
    with pytest.raises(TypeError, match="`T`"):
        tv.tvvar_num_params(2.0, 3)
    with pytest.raises(ValueError, match="`d`"):
        tv.tvvar_num_params(2, 0)
    with pytest.raises(ValueError, match="`d_model`"):
        tv.TinyGPT(4, 5, d_model=5, n_heads=2)
    with pytest.raises(ValueError, match="`ids`"):
        tv.TinyGPT(4, 5, d_model=4)(torch.tensor([[0, 9]]))
    with pytest.raises(ValueError, match="`T`"):
        tv.copy_task(3, 5, 2)
    with pytest.raises(ValueError, match="`P`"):
        tv.markov_tokens(torch.tensor([[0.5, 0.6], [0.5, 0.5]]), 3, 3)
    with pytest.raises(TypeError, match="`model`"):
        tv.train_gpt(torch.nn.Linear(2, 2), torch.zeros(2, 2, dtype=torch.long))


@given(
    B=st.integers(1, 3),
    T=st.integers(1, 10),
    d=st.integers(1, 6),
    d_k=st.integers(1, 6),
    scale=st.floats(0.05, 3.0),
    seed=st.integers(0, 2**16),
)
def test_property_tvvar_equals_sdpa(B, T, d, d_k, scale, seed):
    g = torch.Generator().manual_seed(seed)
    u = torch.randn(B, T, d, generator=g, dtype=D64)
    Wq, Wk = torch.randn(d_k, d, generator=g, dtype=D64), torch.randn(d_k, d, generator=g, dtype=D64)
    Wv = torch.randn(d, d, generator=g, dtype=D64)
    r = tv.attention_as_tvvar(u, Wq, Wk, Wv, scale=scale)
    q, k, v = u @ Wq.T, u @ Wk.T, u @ Wv.T
    ref = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=scale)
    assert (r.outputs - ref).abs().max() < 1e-9 * max(1.0, float(ref.abs().max()))
    # the first row attends only to itself: y_0 = A u_0
    assert torch.allclose(r.outputs[:, 0], u[:, 0] @ Wv.T, atol=1e-10)


# --- toeplitz_defect (the other-architectures chapter) ---


def test_toeplitz_defect_is_zero_for_lti_coefficients_and_matches_a_loop():
    gen = torch.Generator().manual_seed(0)
    blocks = torch.randn(5, 2, 3, generator=gen, dtype=torch.float64)  # one block per lag
    T = 5
    A = torch.zeros(T, T, 2, 3, dtype=torch.float64)
    for t in range(T):
        for j in range(t + 1):
            A[t, j] = blocks[t - j]
    A[0, 3] = 9.0  # the upper triangle is not read
    assert float(tv.toeplitz_defect(A)) == 0.0
    B_ = torch.randn(T, T, 2, 3, generator=gen, dtype=torch.float64)
    loop = max(float((B_[t, t - lag] - B_[lag, 0]).abs().max()) for lag in range(T) for t in range(lag, T))
    assert abs(float(tv.toeplitz_defect(B_)) - loop) < 1e-15
    rel = tv.toeplitz_defect(B_, relative=True)
    assert abs(float(rel) - loop / float(B_.abs().max())) < 1e-15


def test_toeplitz_defect_backends_and_batches():
    A = np.random.default_rng(1).standard_normal((2, 4, 4, 1, 1))
    batch = tv.toeplitz_defect(A)
    assert isinstance(batch, np.ndarray) and batch.shape == (2,)
    singles = [tv.toeplitz_defect(a) for a in A]
    assert all(isinstance(v, float) for v in singles)
    np.testing.assert_allclose(batch, singles, rtol=0, atol=0)
    t = tv.toeplitz_defect(torch.as_tensor(A[0], dtype=torch.float32))
    assert isinstance(t, torch.Tensor) and t.ndim == 0 and t.dtype == torch.float32


def test_toeplitz_defect_validates():
    with pytest.raises(ValueError, match="`A`"):
        tv.toeplitz_defect(np.zeros((3, 3, 2)))
    with pytest.raises(ValueError, match="equal time axes"):
        tv.toeplitz_defect(np.zeros((3, 4, 1, 1)))
    with pytest.raises(ValueError, match="nonzero"):
        tv.toeplitz_defect(np.zeros((3, 3, 1, 1)), relative=True)
    with pytest.raises(ValueError, match="finite"):
        tv.toeplitz_defect(np.full((3, 3, 1, 1), np.nan))


# --- rank_one_defect, antisymmetry and Jaynes' maximum entropy (the transformer chapter) ---


def test_rank_one_defect_zero_for_one_head_positive_for_two():
    gen = torch.Generator().manual_seed(4)
    T = 6
    pis = [
        torch.softmax(
            torch.randn(T, T, generator=gen, dtype=torch.float64).masked_fill(
                ~torch.ones(T, T, dtype=torch.bool).tril(), float("-inf")
            ),
            -1,
        )
        for _ in range(2)
    ]
    As = [torch.randn(3, 3, generator=gen, dtype=torch.float64) for _ in range(2)]
    one = tv.rank_one_defect(tv.attention_coefficients(pis[0], As[0]))
    two = tv.rank_one_defect(tv.multihead_coefficients(pis, As))
    assert one.shape == (T - 1,) and float(one.max()) < 1e-12 and float(two.min()) > 1e-3
    coef = tv.multihead_coefficients(pis, As)
    loop = [
        float(
            torch.linalg.svdvals(coef[t, : t + 1].reshape(t + 1, -1))[1]
            / torch.linalg.svdvals(coef[t, : t + 1].reshape(t + 1, -1))[0]
        )
        for t in range(1, T)
    ]
    np.testing.assert_allclose(two.numpy(), loop, rtol=1e-12)
    batch = tv.rank_one_defect(np.stack([coef.numpy(), coef.numpy()]))
    assert isinstance(batch, np.ndarray) and batch.shape == (2, T - 1)


def test_rank_one_defect_validates():
    with pytest.raises(ValueError, match="T >= 2"):
        tv.rank_one_defect(np.ones((1, 1, 2, 2)))
    with pytest.raises(ValueError, match="all zero"):
        tv.rank_one_defect(np.zeros((3, 3, 2, 2)))


def test_antisymmetry_values_and_validation():
    assert tv.antisymmetry(np.eye(3)) == 0.0
    assert abs(tv.antisymmetry([[0.0, 2.0], [-2.0, 0.0]]) - 1.0) < 1e-15
    B = np.random.default_rng(0).standard_normal((400, 400))
    assert abs(tv.antisymmetry(B) - 1 / math.sqrt(2)) < 0.01
    t = tv.antisymmetry(torch.as_tensor(np.stack([B[:3, :3], np.eye(3)]), dtype=torch.float32))
    assert isinstance(t, torch.Tensor) and t.shape == (2,) and t.dtype == torch.float32
    with pytest.raises(ValueError, match="square"):
        tv.antisymmetry(np.ones((2, 3)))
    with pytest.raises(ValueError, match="zero"):
        tv.antisymmetry(np.zeros((2, 2)))


def test_max_entropy_pmf_is_the_softmax_at_the_matching_temperature():
    s = np.random.default_rng(2).standard_normal(9)
    for m in np.quantile(s, [0.2, 0.5, 0.8]):
        lam = tv.gibbs_inverse_temperature(s, m)
        gibbs = np.exp(lam * s - (lam * s).max())
        gibbs /= gibbs.sum()
        assert abs(gibbs @ s - m) < 1e-12
        p = tv.max_entropy_pmf(s, m)
        assert abs(p.sum() - 1) < 1e-8 and abs(p @ s - m) < 1e-8
        assert np.abs(p - gibbs).max() < 1e-6
    t = tv.max_entropy_pmf(torch.as_tensor(s), float(np.median(s)))
    assert isinstance(t, torch.Tensor) and t.shape == (9,)


def test_max_entropy_validates():
    with pytest.raises(ValueError, match="strictly between"):
        tv.max_entropy_pmf([0.0, 1.0], 1.0)
    with pytest.raises(ValueError, match="one-dimensional"):
        tv.gibbs_inverse_temperature([[0.0, 1.0]], 0.5)
    with pytest.raises(TypeError, match="mean"):
        tv.gibbs_inverse_temperature([0.0, 1.0], "0.5")
    with pytest.raises(ValueError, match="finite"):
        tv.max_entropy_pmf([0.0, np.nan, 1.0], 0.5)


# --- Markov scoring, sampling and FLOP counting (the other-architectures chapter) ---


def _chain():
    P = torch.tensor([[0.9, 0.1, 0.0], [0.2, 0.5, 0.3], [0.3, 0.3, 0.4]], dtype=torch.float64)
    return P


def test_markov_nll_of_the_chain_estimates_the_joint_entropy_per_token():
    P = _chain()
    ids, H = tv.markov_tokens(P, 4000, 6, seed=0)
    evals, evecs = torch.linalg.eig(P.T)
    mu = evecs[:, torch.argmin((evals - 1).abs())].real
    mu = mu / mu.sum()
    H_mu = float(-(mu * mu.log()).sum())
    assert abs(tv.markov_nll(ids, P) - (H_mu + 5 * H) / 6) < 0.02
    assert tv.bigram_tv(ids, P) < 0.02
    uniform = torch.randint(0, 3, (4000, 6), generator=torch.Generator().manual_seed(1))
    assert tv.bigram_tv(uniform, P) > 0.1


def test_markov_scoring_validates():
    P = _chain()
    with pytest.raises(TypeError, match="ids"):
        tv.markov_nll(torch.zeros(3, 4), P)
    with pytest.raises(ValueError, match="lie in"):
        tv.bigram_tv(torch.full((2, 3), 5), P)
    with pytest.raises(ValueError, match="row-stochastic"):
        tv.markov_nll(torch.zeros(2, 3, dtype=torch.long), 2 * P)


def test_sample_autoregressive_follows_the_model():
    P = _chain()

    class Bigram(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.logP = torch.nn.Parameter(P.clamp_min(1e-30).log())

        def forward(self, ids):
            return self.logP[ids]

    first = torch.tensor([1.0, 0.0, 0.0], dtype=torch.float64)
    ids = tv.sample_autoregressive(Bigram(), first, 3000, 5, seed=3)
    assert ids.shape == (3000, 5) and bool((ids[:, 0] == 0).all())
    # transitions 0 -> 2 have probability 0
    assert not bool(((ids[:, :-1] == 0) & (ids[:, 1:] == 2)).any())
    again = tv.sample_autoregressive(Bigram(), first, 3000, 5, seed=3)
    assert torch.equal(ids, again)
    with pytest.raises(ValueError, match="pmf"):
        tv.sample_autoregressive(Bigram(), torch.tensor([0.5, 0.1, 0.1]), 2, 3)


def test_forward_flops_counts_a_linear_layer():
    class Lin(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.emb = torch.nn.Embedding(4, 8)
            self.out = torch.nn.Linear(8, 5, bias=False)

        def forward(self, ids):
            return self.out(self.emb(ids))

    assert tv.forward_flops(Lin(), 3) == 2 * 3 * 8 * 5
    with pytest.raises(TypeError, match="model"):
        tv.forward_flops(lambda ids: ids, 3)
    with pytest.raises(ValueError, match="length"):
        tv.forward_flops(Lin(), 0)
