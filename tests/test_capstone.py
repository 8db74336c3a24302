"""Tests of semlib.capstone: the flow of a TinyGPT against enumeration, sampling, checkpoints."""

from __future__ import annotations

import itertools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from semlib import capstone as cs
from semlib import info
from semlib import tvvar as tv

D64 = torch.float64


def _model(V: int = 5, T: int = 6, seed: int = 0) -> tv.TinyGPT:
    return tv.TinyGPT(V, T, d_model=8, n_heads=2, n_layers=1, seed=seed, dtype=D64).eval()


PROMPTS = torch.tensor([[1, 2], [3, 0], [4, 4]])


def _joint_by_hand(model: tv.TinyGPT, prompts: torch.Tensor, L: int, prior: torch.Tensor) -> torch.Tensor:
    """P(s, u_1..u_L) by a loop over all V**L continuations, one forward per sequence."""
    m, V = prompts.shape[0], model.vocab
    J = torch.zeros((m,) + (V,) * L, dtype=D64)
    with torch.no_grad():
        for k in range(m):
            for u in itertools.product(range(V), repeat=L):
                x = torch.cat([prompts[k], torch.tensor(u)])[None]
                lp = torch.log_softmax(model(x[:, :-1])[0], -1)
                n = prompts.shape[1]
                J[(k,) + u] = prior[k] * math.exp(sum(float(lp[n - 1 + t, u[t]]) for t in range(L)))
    return J


def test_flow_matches_bayes_on_the_enumerated_joint():
    model = _model()
    prior = torch.tensor([0.2, 0.5, 0.3], dtype=D64)
    L = 3
    J = _joint_by_hand(model, PROMPTS, L, prior)
    assert abs(float(J.sum()) - 1) < 1e-12
    src = torch.tensor([0, 1, 2, 2, 1])
    u = cs.sample_continuations(model, PROMPTS, src, L, seed=3)
    fl = cs.prompt_flow(model, PROMPTS, src, u, prior, batch_size=2)
    Pu = J.sum(0)
    for b in range(len(src)):
        for t in range(1, L + 1):
            dims = tuple(range(t, L))
            num = (J[int(src[b])] / prior[int(src[b])]).sum(dim=dims) if dims else J[int(src[b])] / prior[int(src[b])]
            den = Pu.sum(dim=dims) if dims else Pu
            key = tuple(u[b, :t].tolist())
            assert abs(float(fl.flow[b, t - 1]) - math.log(float(num[key]) / float(den[key]))) < 1e-10
    # the posterior after the whole generation, by Bayes on the joint
    post = J[(slice(None),) + tuple(u[0].tolist())]
    assert torch.allclose(fl.log_posterior[0, -1].exp(), post / post.sum(), atol=1e-12)
    assert torch.allclose(fl.log_posterior[:, 0].exp(), prior.expand(len(src), -1), atol=1e-12)


def test_drift_is_the_exact_conditional_mean_of_the_increment():
    model = _model(seed=1)
    L = 2
    src = torch.tensor([0, 2, 1])
    u = cs.sample_continuations(model, PROMPTS, src, L, seed=0)
    fl = cs.prompt_flow(model, PROMPTS, src, u)
    V = model.vocab
    # average the increment of step 2 over every next token, weighted by P(u_2 | s, u_1)
    for b in range(len(src)):
        u1 = u[b, :1]
        alts = torch.cat([u1.expand(V, 1), torch.arange(V)[:, None]], 1)
        f_alt = cs.prompt_flow(model, PROMPTS, src[b].expand(V).contiguous(), alts)
        w = f_alt.cond_logprob[:, 1].exp()
        assert abs(float(w.sum()) - 1) < 1e-12
        assert abs(float((w * f_alt.increments[:, 1]).sum()) - float(fl.drift[b, 1])) < 1e-12
    assert (fl.drift >= 0).all()


def test_continuation_joint_and_mutual_information():
    model = _model(seed=2)
    prior = torch.tensor([0.5, 0.25, 0.25], dtype=D64)
    J = cs.continuation_joint(model, PROMPTS, 2, prior)
    assert torch.allclose(J, _joint_by_hand(model, PROMPTS, 2, prior), atol=1e-14)
    J1 = cs.continuation_joint(model, PROMPTS, 1, prior)
    assert torch.allclose(J1, J.sum(-1), atol=1e-14)
    # chain rule: I(S; U1 U2) = I(S; U1) + I(S; U2 | U1)
    i12 = float(info.mutual_information(J, (0,), (1, 2)))
    i1 = float(info.mutual_information(J, (0,), (1,)))
    i2 = float(info.mutual_information(J, (0,), (2,), given=(1,)))
    assert abs(i12 - i1 - i2) < 1e-12 and i1 >= 0 and i2 >= 0


def test_mc_mean_of_flow_estimates_the_mutual_information():
    model = _model(V=5, seed=4)
    with torch.no_grad():  # make the prompts matter
        model.tok.weight.mul_(3.0)
    J = cs.continuation_joint(model, PROMPTS, 2)
    exact = float(info.mutual_information(J, (0,), (1, 2)))
    src = torch.arange(3).repeat(2000)
    u = cs.sample_continuations(model, PROMPTS, src, 2, seed=5)
    fl = cs.prompt_flow(model, PROMPTS, src, u, batch_size=1000)
    for x in (fl.flow[:, -1], fl.drift.sum(1)):
        se = float(x.std()) / math.sqrt(len(x))
        assert abs(float(x.mean()) - exact) < 4 * se + 1e-12
    assert exact > 0.01


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 10_000), L=st.integers(1, 4))
def test_flow_properties(seed, L):
    model = _model(V=6, T=6, seed=seed % 7)
    src = torch.tensor([0, 1, 2, 0])
    u = cs.sample_continuations(model, PROMPTS, src, L, seed=seed)
    fl = cs.prompt_flow(model, PROMPTS, src, u)
    assert fl.increments.shape == (4, L) and fl.drift.shape == (4, L)
    assert (fl.drift >= 0).all()
    assert torch.allclose(fl.log_posterior.exp().sum(-1), torch.ones(4, L + 1, dtype=D64), atol=1e-12)
    # one prompt only: nothing to learn, the flow is identically zero
    one = cs.prompt_flow(model, PROMPTS[:1], torch.zeros(4, dtype=torch.long), u)
    assert one.increments.abs().max() < 1e-12 and one.drift.abs().max() < 1e-12


def test_sampling_is_seeded_and_follows_the_model():
    model = _model(V=5, seed=5)
    src = torch.zeros(20000, dtype=torch.long)
    a = cs.sample_continuations(model, PROMPTS, src, 1, seed=9)
    b = cs.sample_continuations(model, PROMPTS, src, 1, seed=9)
    assert torch.equal(a, b)
    p = cs.continuation_joint(model, PROMPTS[:1], 1)[0]
    freq = torch.bincount(a[:, 0], minlength=5).double() / len(src)
    assert (freq - p).abs().max() < 4 * math.sqrt(0.25 / len(src))


def test_checkpoints_reproduce_train_gpt():
    ids = torch.randint(0, 5, (40, 6), generator=torch.Generator().manual_seed(0))
    m1, m2 = _model(seed=3), _model(seed=3)
    ref = tv.train_gpt(m1, ids, steps=12, batch_size=8, lr=1e-2, seed=1, progress=False)
    losses, rec = cs.train_with_checkpoints(
        m2,
        ids,
        steps=12,
        batch_size=8,
        lr=1e-2,
        seed=1,
        progress=False,
        checkpoints=[0, 5, 12],
        callback=lambda s, mod: float(mod.pos.weight.sum()),
    )
    assert losses == pytest.approx(ref, abs=1e-12)
    assert sorted(rec) == [0, 5, 12] and rec[12] == pytest.approx(float(m1.pos.weight.detach().sum()), abs=1e-12)
    assert rec[0] != pytest.approx(rec[12])


def test_validation():
    model = _model()
    src = torch.tensor([0, 1])
    u = torch.zeros(2, 2, dtype=torch.long)
    with pytest.raises(TypeError, match="model"):
        cs.prompt_flow(object(), PROMPTS, src, u)
    with pytest.raises(TypeError, match="prompts"):
        cs.prompt_flow(model, PROMPTS.double(), src, u)
    with pytest.raises(ValueError, match="source"):
        cs.prompt_flow(model, PROMPTS, torch.tensor([0, 3]), u)
    with pytest.raises(ValueError, match="prior"):
        cs.prompt_flow(model, PROMPTS, src, u, prior=[0.5, 0.5, 0.0])
    with pytest.raises(ValueError, match="gens"):
        cs.prompt_flow(model, PROMPTS, src, torch.full((2, 2), 9))
    with pytest.raises(ValueError, match="length"):
        cs.sample_continuations(model, PROMPTS, src, 5)
    with pytest.raises(ValueError, match="temperature"):
        cs.sample_continuations(model, PROMPTS, src, 2, temperature=0.0)
    with pytest.raises(ValueError, match="length"):
        cs.continuation_joint(model, PROMPTS, 3)
    with pytest.raises(ValueError, match="callback"):
        cs.train_with_checkpoints(model, torch.zeros(4, 6, dtype=torch.long), steps=2, checkpoints=[1])
    with pytest.raises(ValueError, match="checkpoints"):
        cs.train_with_checkpoints(
            model, torch.zeros(4, 6, dtype=torch.long), steps=2, checkpoints=[3], callback=lambda s, m: 0
        )


def test_train_cached_trains_once_and_reloads_the_same_model(tmp_path):
    ids = torch.randint(0, 5, (16, 6), generator=torch.Generator().manual_seed(1))
    m1, m2, ref = _model(), _model(), _model()
    ref_losses = tv.train_gpt(ref, ids, steps=12, batch_size=4, seed=3, progress=False)
    r1 = cs.train_cached(
        m1, ids, steps=12, batch_size=4, seed=3, checkpoints=[0, 5], cache_dir=tmp_path, progress=False
    )
    assert not r1.from_cache and len(list(tmp_path.glob("train-*.pt"))) == 1
    assert r1.losses == pytest.approx(ref_losses, abs=1e-12) and sorted(r1.states) == [0, 5, 12]
    for k, v in ref.state_dict().items():  # same model as train_gpt, and the step-0 state is the initial one
        assert torch.equal(m1.state_dict()[k], v) and torch.equal(r1.states[12][k], v)
        assert torch.equal(r1.states[0][k], _model().state_dict()[k])
    r2 = cs.train_cached(
        m2, ids, steps=12, batch_size=4, seed=3, checkpoints=[0, 5], cache_dir=tmp_path, progress=False
    )
    assert r2.from_cache and r2.losses == r1.losses and r2.seconds == r1.seconds
    assert all(torch.equal(m2.state_dict()[k], v) for k, v in ref.state_dict().items())
    # a different setting (seed) is a different key: it trains, and the cache now holds two runs
    r3 = cs.train_cached(_model(), ids, steps=12, batch_size=4, seed=4, cache_dir=tmp_path, progress=False)
    assert not r3.from_cache and len(list(tmp_path.glob("train-*.pt"))) == 2
    # a generator seed cannot be a key: trains, stores nothing
    r4 = cs.train_cached(
        _model(), ids, steps=3, batch_size=4, seed=torch.Generator().manual_seed(0), cache_dir=tmp_path
    )
    assert not r4.from_cache and len(list(tmp_path.glob("train-*.pt"))) == 2


def test_train_cached_validation(tmp_path):
    ids = torch.zeros(4, 6, dtype=torch.long)
    with pytest.raises(TypeError, match="model"):
        cs.train_cached(object(), ids, cache_dir=tmp_path)
    with pytest.raises(TypeError, match="ids"):
        cs.train_cached(_model(), ids.double(), cache_dir=tmp_path)
    with pytest.raises(ValueError, match="checkpoints"):
        cs.train_cached(_model(), ids, steps=2, checkpoints=[3], cache_dir=tmp_path)
    with pytest.raises(ValueError, match="lr"):
        cs.train_cached(_model(), ids, steps=2, lr=0.0, cache_dir=tmp_path)
    with pytest.raises(ValueError, match="steps"):
        cs.train_cached(_model(), ids, steps=0, cache_dir=tmp_path)
