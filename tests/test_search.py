"""Tests of semlib.search: exact k-NN, recall@k, nearest-codeword decoding, the faiss wrapper."""

import importlib.util

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from semlib import search as sr
from semlib.embeddings import MissingOptionalDependency


def _data(M=500, N=32, Q=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(Q, N, generator=g, dtype=torch.float64), torch.randn(M, N, generator=g, dtype=torch.float64)


def test_exact_knn_matches_argsort_and_batches():
    q, db = _data()
    s, i = sr.exact_knn(q, db, 5, batch_size=7)
    cos = (q / q.norm(dim=1, keepdim=True)) @ (db / db.norm(dim=1, keepdim=True)).T
    ref = torch.argsort(cos, dim=1, descending=True)[:, :5]
    assert torch.equal(i, ref)
    assert torch.allclose(s, cos.gather(1, ref), atol=1e-12)
    assert bool((s[:, :-1] >= s[:, 1:]).all())
    # a database row is its own nearest neighbour
    assert torch.equal(sr.exact_knn(db[:30], db, 1)[1][:, 0], torch.arange(30))


def test_recall_at_k_against_sets():
    rng = np.random.default_rng(0)
    exact = np.stack([rng.permutation(50)[:10] for _ in range(20)])
    approx = np.where(rng.random(exact.shape) < 0.7, exact, rng.integers(50, 100, exact.shape))
    approx = np.stack([rng.permutation(row) for row in approx])
    ref = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact)])
    assert sr.recall_at_k(approx, exact) == pytest.approx(ref)
    assert sr.recall_at_k(torch.as_tensor(exact), torch.as_tensor(exact)) == 1.0
    assert sr.recall_at_k(-np.ones_like(exact), exact) == 0.0
    ref5 = np.mean([len(set(a[:5]) & set(e[:5])) / 5 for a, e in zip(approx, exact)])
    assert sr.recall_at_k(approx, exact, k=5) == pytest.approx(ref5)


def test_nearest_codeword_equals_ml_for_equal_energy_code():
    g = torch.Generator().manual_seed(1)
    code = torch.randint(0, 2, (64, 24), generator=g).double() * 2 - 1
    sent = torch.randint(0, 64, (300,), generator=g)
    r = code[sent] + 0.8 * torch.randn(300, 24, generator=g, dtype=torch.float64)
    d2 = torch.cdist(r, code) ** 2
    assert torch.equal(sr.nearest_codeword(r, code), d2.argmin(1))
    assert torch.equal(sr.nearest_codeword(r, code, metric="cosine"), d2.argmin(1))  # equal norms
    assert torch.equal(sr.nearest_codeword(code, code), torch.arange(64))


@settings(max_examples=40)
@given(M=st.integers(2, 60), N=st.integers(1, 8), k=st.integers(1, 5), seed=st.integers(0, 10**6))
def test_property_exact_knn_top1_is_argmax(M, N, k, seed):
    q, db = _data(M=M, N=N, Q=5, seed=seed)
    k = min(k, M)
    s, i = sr.exact_knn(q, db, k)
    cos = (q / q.norm(dim=1, keepdim=True)) @ (db / db.norm(dim=1, keepdim=True)).T
    assert torch.allclose(s[:, 0], cos.max(1).values, atol=1e-12)
    assert sr.recall_at_k(i, i) == 1.0


@pytest.mark.skipif(importlib.util.find_spec("faiss") is None, reason="faiss not installed")
@pytest.mark.parametrize("kind,knob", [("flat", None), ("hnsw", 200), ("ivf_flat", 16), ("ivf_pq", 16)])
def test_faiss_wrapper_recall(kind, knob):
    q, db = _data(M=2000, N=32, Q=50)
    _, exact = sr.exact_knn(q, db, 10)
    index = sr.FaissIndex(db, kind, nlist=16, pq_m=8, n_train=1500 if kind == "ivf_pq" else None)
    if knob is not None:
        index.set_knob(knob)
    s, i = index.search(q, 10)
    assert i.shape == (50, 10) and s.dtype == torch.float32
    floor = {"flat": 1.0, "hnsw": 0.95, "ivf_flat": 0.999, "ivf_pq": 0.3}[kind]
    assert sr.recall_at_k(i, exact) >= floor


def test_faiss_missing_raises(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "faiss" else real(name, *a))
    with pytest.raises(MissingOptionalDependency, match="faiss-cpu"):
        sr.FaissIndex(torch.randn(10, 4))


def test_bad_inputs():
    q, db = _data(M=10, N=4, Q=2)
    with pytest.raises(ValueError, match="k"):
        sr.exact_knn(q, db, 11)
    with pytest.raises(ValueError, match="dimension"):
        sr.exact_knn(q, db[:, :3], 1)
    scores, ids = sr.exact_knn(q.numpy(), db.numpy(), 1)  # numpy in, numpy out
    assert isinstance(scores, np.ndarray) and isinstance(ids, np.ndarray)
    with pytest.raises(ValueError, match="zero row"):
        sr.exact_knn(torch.zeros(1, 4, dtype=torch.float64), db, 1)
    with pytest.raises(ValueError, match="metric"):
        sr.nearest_codeword(q, db, metric="hamming")
    with pytest.raises(ValueError, match="same number"):
        sr.recall_at_k(np.zeros((2, 3), int), np.zeros((3, 3), int))
    with pytest.raises(ValueError, match="kind"):
        sr.FaissIndex(db, "lsh")
    with pytest.raises(ValueError, match="n_train"):
        sr.FaissIndex(db, "ivf_flat", nlist=4, n_train=2)
    with pytest.raises(ValueError, match="no knob"):
        sr.FaissIndex(db, "flat").set_knob(3)


def test_recall_k_must_be_an_int():
    i = np.arange(6).reshape(2, 3)
    with pytest.raises(TypeError, match="`k`"):
        sr.recall_at_k(i, i, k=2.5)
    with pytest.raises(TypeError, match="`k`"):
        sr.recall_at_k(i, i, k=True)
    assert sr.recall_at_k(i, i, k=np.int64(2)) == 1.0


@pytest.mark.skipif(importlib.util.find_spec("faiss") is None, reason="faiss not installed")
def test_faiss_integer_parameters_are_validated_not_truncated():
    _, db = _data(M=64, N=8, Q=1)
    for kw in ({"nlist": 4.7}, {"M": 8.5}, {"ef_construction": 0}, {"pq_m": 2.0}, {"pq_bits": True}, {"seed": 1.5}):
        name = next(iter(kw))
        kind = "hnsw" if name in ("M", "ef_construction") else "ivf_pq"
        base = {} if kind == "hnsw" else {"nlist": 4, "pq_m": 2, "pq_bits": 4}
        with pytest.raises((TypeError, ValueError), match=f"`{name}`"):
            sr.FaissIndex(db, kind, **{**base, **kw})


@pytest.mark.skipif(importlib.util.find_spec("faiss") is None, reason="faiss not installed")
def test_sweep_knob_records_recall_and_rate_per_knob():
    q, db = _data(M=2000, N=32, Q=50)
    _, exact = sr.exact_knn(q, db, 10)
    index = sr.FaissIndex(db, "ivf_flat", nlist=16)
    res = sr.sweep_knob(index, [1, 4, 16], q, exact, repeats=2)
    assert [p.knob for p in res] == [1, 4, 16]
    for p in res:
        kn, rec, qps, idx = p  # a plain tuple as well
        assert idx.shape == (50, 10) and qps > 0 and rec == sr.recall_at_k(idx, exact)
        # the recall is that of the index at this knob, searched again by hand
        assert torch.equal(index.set_knob(kn).search(q, 10)[1], idx)
    assert res[-1].recall >= 0.999  # nprobe = nlist visits every cell: exact
    assert res[0].recall <= res[-1].recall
    assert index.index.nprobe == 16  # left at the last value
    assert sr.sweep_knob(index, np.array([2]), q, exact.numpy())[0].knob == 2


@pytest.mark.skipif(importlib.util.find_spec("faiss") is None, reason="faiss not installed")
def test_sweep_knob_validates():
    q, db = _data(M=200, N=8, Q=5)
    _, exact = sr.exact_knn(q, db, 3)
    index = sr.FaissIndex(db, "hnsw")
    with pytest.raises(TypeError, match="index"):
        sr.sweep_knob("hnsw", [1], q, exact)
    with pytest.raises(ValueError, match="index"):
        sr.sweep_knob(sr.FaissIndex(db, "flat"), [1], q, exact)
    with pytest.raises(ValueError, match="knobs"):
        sr.sweep_knob(index, [], q, exact)
    with pytest.raises(TypeError, match="knobs"):
        sr.sweep_knob(index, [2.5], q, exact)
    with pytest.raises(ValueError, match="knobs"):
        sr.sweep_knob(index, [0], q, exact)
    with pytest.raises(ValueError, match="exact"):
        sr.sweep_knob(index, [4], q, exact[:3])
    with pytest.raises(ValueError, match="exact"):
        sr.sweep_knob(index, [4], q, exact.double())
    with pytest.raises(ValueError, match="repeats"):
        sr.sweep_knob(index, [4], q, exact, repeats=0)
    with pytest.raises(TypeError, match="queries"):
        sr.sweep_knob(index, [4], q.numpy(), exact)
