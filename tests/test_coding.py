"""Tests for semlib.coding: arithmetic coder, context models, two-part codes."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import gammaln

from semlib import coding as C
from semlib.corpus import plugin_entropy


def _q_hat_and_totals(symbols, model):
    """Quantised probabilities of the coded symbols and frequency totals (the function under test)."""
    return C.coded_probabilities(symbols, model)


# ----------------------------------------------------------------------------- ideal lengths, quantisation


def test_ideal_code_length_values():
    assert C.ideal_code_length([0.5, 0.25, 1.0]) == pytest.approx(3.0)
    assert C.ideal_code_length(np.full(10, 1 / 8)) == pytest.approx(30.0)
    with pytest.raises(ValueError, match="probs"):
        C.ideal_code_length([0.5, 0.0])
    with pytest.raises(ValueError, match="probs"):
        C.ideal_code_length([[0.5]])


@given(st.integers(2, 50), st.integers(10, 24), st.integers(0, 2**31 - 1))
def test_quantize_frequencies_positive_and_bounded(V, b, seed):
    if 2**b < V:
        return
    p = np.random.default_rng(seed).dirichlet(np.full(V, 0.3), size=3)
    f = C.quantize(p, b)
    assert f.dtype == np.int64 and f.shape == p.shape
    assert f.min() >= 1 and f.sum(axis=1).max() <= 2**b
    # the quantised law is close to p: |q_hat - p| <= V / (2^b - V) + 1/(2^b - V)
    q_hat = f / f.sum(axis=1, keepdims=True)
    assert np.abs(q_hat - p).max() <= (V + 1) / (2**b - V)


def test_quantize_validation():
    with pytest.raises(ValueError, match="probs"):
        C.quantize([0.2, 0.2])
    with pytest.raises(ValueError, match="total_bits"):
        C.quantize(np.full(16, 1 / 16), total_bits=3)
    with pytest.raises(ValueError, match="total_bits"):
        C.quantize([0.5, 0.5], total_bits=0)


# ----------------------------------------------------------------------------- arithmetic coder


@settings(max_examples=60)
@given(st.integers(2, 12), st.integers(0, 300), st.integers(0, 2**31 - 1), st.sampled_from([16, 32, 48]))
def test_roundtrip_static_table(V, n, seed, precision):
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(V, 0.2), size=n) if n else np.zeros((0, V))
    x = np.array([rng.choice(V, p=row) for row in p], dtype=np.int64)
    table = C.PredictiveTable(C.quantize(p, 12)) if n else C.PredictiveTable(np.ones((0, V), dtype=np.int64))
    code = C.arithmetic_encode(x, table, precision=precision)
    assert np.array_equal(C.arithmetic_decode(code, table, precision=precision), x)
    if n:
        q_hat, F = _q_hat_and_totals(x, table)
        ideal = C.ideal_code_length(q_hat)
        # check: ideal(q_hat) < L <= ideal(q_hat) + 2 + rounding term
        assert ideal - 1e-9 <= code.n_bits <= C.arithmetic_code_bound(q_hat, F, precision=precision) + 1e-9


@settings(max_examples=40)
@given(
    st.integers(2, 6),
    st.integers(0, 3),
    st.sampled_from(["kt", "witten-bell"]),
    st.lists(st.integers(0, 5), min_size=0, max_size=400),
)
def test_roundtrip_adaptive_model(V, k, method, xs):
    x = np.array([a % V for a in xs], dtype=np.int64)
    model = C.AdaptiveContextModel(V, k, method)
    code = C.arithmetic_encode(x, model)
    assert code.n_symbols == x.size
    assert np.array_equal(C.arithmetic_decode(code, model), x)


def test_code_length_bound_with_float_model_and_quantisation_overhead():
    """L <= sum -log2 q + quantisation overhead + 2 + rounding, for a float model."""
    rng = np.random.default_rng(3)
    V, n = 7, 5000
    p = rng.dirichlet(np.full(V, 0.5), size=n)
    x = np.array([rng.choice(V, p=row) for row in p])
    table = C.PredictiveTable(p, total_bits=16)
    code = C.arithmetic_encode(x, table)
    q = p[np.arange(n), x]
    q_hat, F = _q_hat_and_totals(x, table)
    overhead = float(np.log2(q / q_hat).sum())
    ideal = C.ideal_code_length(q)
    rounding = C.arithmetic_code_bound(q_hat, F) - C.ideal_code_length(q_hat) - 2
    assert rounding < 1e-3  # 5000 * 2^16 / 2^46: about 5e-6 bits
    assert code.n_bits <= ideal + overhead + 2 + rounding + 1e-9
    assert abs(overhead) < 0.01 * ideal  # 16-bit frequencies: overhead far below 1 %
    assert np.array_equal(C.arithmetic_decode(code, table), x)


def test_kt_frequencies_exact_and_no_overhead():
    x = np.random.default_rng(0).integers(0, 4, 3000)
    model = C.AdaptiveContextModel(4, 2, "kt")
    q_hat, _F = _q_hat_and_totals(x, model)
    exact = 2.0 ** -C.adaptive_code_lengths(x, 2, 4)
    assert np.allclose(q_hat, exact, rtol=0, atol=1e-15)  # integers (2n+1)/(2n_c+V): no quantisation
    code = C.arithmetic_encode(x, model)
    assert C.ideal_code_length(q_hat) <= code.n_bits <= C.ideal_code_length(q_hat) + 2 + 1e-6


def test_coded_probabilities_replay_the_model():
    """q_hat_t = f_t(x_t) / F_t as the coder sees them: a static table, by hand."""
    rng = np.random.default_rng(5)
    p = rng.dirichlet(np.ones(6), size=40)
    x = np.array([rng.choice(6, p=row) for row in p])
    f = C.quantize(p, 12)
    q_hat, F = C.coded_probabilities(x, C.PredictiveTable(f))
    assert q_hat.shape == F.shape == (40,) and q_hat.dtype == F.dtype == np.float64
    assert np.array_equal(F, f.sum(axis=1)) and np.allclose(q_hat, f[np.arange(40), x] / f.sum(axis=1), rtol=1e-15)
    # the model is reset first: a second call gives the same numbers
    model = C.AdaptiveContextModel(3, 1, "witten-bell", total_bits=16)
    first = C.coded_probabilities([0, 1, 2, 1, 0], model)
    assert all(np.array_equal(a, b) for a, b in zip(first, C.coded_probabilities([0, 1, 2, 1, 0], model)))


def test_coded_probabilities_edges():
    q_hat, F = C.coded_probabilities([], C.AdaptiveContextModel(4, 1))
    assert q_hat.shape == F.shape == (0,)
    with pytest.raises(ValueError, match="symbols"):
        C.coded_probabilities([0, 4], C.AdaptiveContextModel(4, 1))
    with pytest.raises(ValueError, match="symbols"):
        C.coded_probabilities([[0, 1]], C.AdaptiveContextModel(4, 1))
    with pytest.raises(TypeError, match="model"):
        C.coded_probabilities([0, 1], "kt")
    with pytest.raises(IndexError, match="no distribution left"):
        C.coded_probabilities([0, 1, 0], C.PredictiveTable(np.ones((2, 2), dtype=np.int64)))


@settings(max_examples=60)
@given(st.integers(2, 300), st.integers(9, 30), st.integers(0, 2**31 - 1))
def test_quantisation_cost_per_step_is_bounded(V, b, seed):
    """f_a = 1 + floor(q_a (2^b - V)) keeps q_hat_a > q_a (1 - V / 2^b): no step costs more than
    -log2(1 - V / 2^b) bits, whatever the law (the floor f_a >= 1 can only make a step cheaper)."""
    if 2**b <= V:
        return
    rng = np.random.default_rng(seed)
    p = rng.dirichlet(np.full(V, 0.1), size=20)
    f = C.quantize(p, b)
    assert f.sum(axis=1).max() <= 2**b
    cost = np.log2(p / (f / f.sum(axis=1, keepdims=True)))
    assert cost.max() < -np.log2(1 - V / 2**b) + 1e-12


def test_arithmetic_coder_validation():
    with pytest.raises(ValueError, match="precision"):
        C.arithmetic_encode([0, 1], np.full((2, 2), 0.5), precision=8)
    with pytest.raises(TypeError, match="model"):
        C.arithmetic_encode([0, 1], "model")
    with pytest.raises(TypeError, match="code"):
        C.arithmetic_decode(b"\x00", np.full((2, 2), 0.5))
    with pytest.raises(ValueError, match="frequency total"):
        C.arithmetic_encode([0], C.PredictiveTable(np.array([[2**20, 2**20]])), precision=16)
    with pytest.raises(ValueError, match="table"):
        C.PredictiveTable(np.array([[0, 3]]))


# ----------------------------------------------------------------------------- context models


@settings(max_examples=40)
@given(
    st.integers(2, 5),
    st.integers(0, 3),
    st.sampled_from(["kt", "witten-bell"]),
    st.lists(st.integers(0, 4), min_size=1, max_size=200),
)
def test_vectorised_equals_sequential(V, k, method, xs):
    x = np.array([a % V for a in xs], dtype=np.int64)
    model = C.AdaptiveContextModel(V, k, method)
    seq = []
    for a in x:
        seq.append(-np.log2(model.probabilities()[a]))
        model.update(int(a))
    assert np.allclose(C.adaptive_code_lengths(x, k, V, method=method), seq, rtol=0, atol=1e-10)


@pytest.mark.parametrize("beta", [0.5, 1.0, 2.0])
def test_kt_order0_is_dirichlet_multinomial(beta):
    x = np.random.default_rng(1).integers(0, 6, 500)
    V, n_a = 6, np.bincount(x, minlength=6)
    closed = (gammaln(len(x) + V * beta) - gammaln(V * beta) - (gammaln(n_a + beta) - gammaln(beta)).sum()) / math.log(
        2
    )
    assert C.adaptive_code_lengths(x, 0, V, beta=beta).sum() == pytest.approx(closed, rel=1e-12)
    # exchangeable: permuting the sequence leaves the order-0 code length unchanged
    perm = np.random.default_rng(2).permutation(x)
    assert C.adaptive_code_lengths(perm, 0, V, beta=beta).sum() == pytest.approx(closed, rel=1e-12)


def test_context_ids_match_tuples():
    x = np.random.default_rng(4).integers(0, 3, 200)
    ids = C.context_ids(x, 3, 3)
    padded = np.r_[[3, 3, 3], x]
    for j in range(4):
        tuples = [tuple(padded[t + 3 - j : t + 3]) for t in range(x.size)]
        # same id <=> same tuple
        lookup = {}
        for i, tup in zip(ids[j], tuples):
            assert lookup.setdefault(tup, i) == i
        assert len(set(lookup.values())) == len(lookup)


def test_ngram_cross_entropy_order0_by_hand():
    rng = np.random.default_rng(5)
    V = 5
    train, test = rng.integers(0, 4, 1000), rng.integers(0, 5, 300)  # symbol 4 unseen in training
    n_a, T = np.bincount(train, minlength=V), 4
    q = (n_a + T / V) / (train.size + T)
    assert C.ngram_cross_entropy(train, test, 0, V) == pytest.approx(-np.log2(q[test]).mean(), rel=1e-12)


def test_ngram_cross_entropy_learns_a_markov_chain():
    rng = np.random.default_rng(6)
    P = np.array([[0.9, 0.1, 0.0], [0.0, 0.2, 0.8], [0.5, 0.0, 0.5]])
    x = [0]
    for _ in range(40000):
        x.append(rng.choice(3, p=P[x[-1]]))
    x = np.array(x)
    pi = np.linalg.matrix_power(P.T, 200)[:, 0]
    H = -sum(pi[i] * P[i, j] * np.log2(P[i, j]) for i in range(3) for j in range(3) if P[i, j] > 0)
    h1 = C.ngram_cross_entropy(x[:30000], x[30000:], 1, 3)
    assert H - 0.03 < h1 < H + 0.03
    assert C.ngram_cross_entropy(x[:30000], x[30000:], 0, 3) > h1 + 0.3


def test_model_validation():
    with pytest.raises(ValueError, match="alphabet_size"):
        C.AdaptiveContextModel(1, 0)
    with pytest.raises(ValueError, match="order"):
        C.adaptive_code_lengths([0, 1], -1, 2)
    with pytest.raises(ValueError, match="method"):
        C.adaptive_code_lengths([0, 1], 1, 2, method="ppm")
    with pytest.raises(ValueError, match="symbols"):
        C.adaptive_code_lengths([0, 2], 1, 2)
    with pytest.raises(TypeError, match="symbols"):
        C.adaptive_code_lengths([0.5, 1.0], 1, 2)
    with pytest.raises(ValueError, match="symbol"):
        C.AdaptiveContextModel(2, 1).update(5)


# ----------------------------------------------------------------------------- two-part codes


def test_two_part_order0_data_is_plugin_entropy():
    x = np.random.default_rng(7).integers(0, 9, 2000)
    code = C.two_part_code_length(x, 0, 9)
    assert code.data_bits == pytest.approx(x.size * plugin_entropy(x, base=2), rel=1e-12)
    assert code.n_contexts == 1 and code.n_cells == len(np.unique(x))


def test_two_part_model_bits_by_hand():
    x = np.array([0, 1, 1, 0, 1, 1, 1, 0])  # order 1, V = 2: M = 3 * 2 = 6 cells
    code = C.two_part_code_length(x, 1, 2)
    # contexts: start -> 0; 0 -> 1, 1 -> 0 ... cells (start,0), (0,1), (1,1), (1,0): m = 4
    assert code.n_cells == 4 and code.n_contexts == 3
    n, M, m = 8, 6, 4
    by_hand = (2 * 3 + 1) + math.log2(M) + math.log2(math.comb(M, m)) + math.log2(math.comb(n - 1, m - 1))
    assert code.model_bits == pytest.approx(by_hand, rel=1e-12)
    bic = C.two_part_code_length(x, 1, 2, scheme="bic")
    assert bic.model_bits == pytest.approx(0.5 * 3 * 1 * math.log2(8))
    assert bic.data_bits == pytest.approx(code.data_bits)
    assert code.total_bits == pytest.approx(code.model_bits + code.data_bits)
    with pytest.raises(ValueError, match="scheme"):
        C.two_part_code_length(x, 1, 2, scheme="mdl")


def test_two_part_data_bits_decrease_with_order():
    x = np.random.default_rng(8).integers(0, 4, 3000)
    data = [C.two_part_code_length(x, k, 4).data_bits for k in range(4)]
    model = [C.two_part_code_length(x, k, 4).model_bits for k in range(4)]
    assert all(a >= b - 1e-9 for a, b in itertools.pairwise(data))  # more context never fits worse
    assert all(a < b for a, b in itertools.pairwise(model))  # ... but costs more to describe


def test_ngram_cross_entropy_all_orders_matches_single():
    rng = np.random.default_rng(9)
    x = rng.integers(0, 6, 3000)
    allk = C.ngram_cross_entropy(x[:2500], x[2500:], 3, 6, all_orders=True)
    assert allk.shape == (4,)
    for k in range(4):
        assert allk[k] == pytest.approx(C.ngram_cross_entropy(x[:2500], x[2500:], k, 6), rel=1e-12)


@pytest.mark.parametrize("method", ["kt", "witten-bell"])
def test_adaptive_all_orders_matches_single(method):
    x = np.random.default_rng(10).integers(0, 4, 1500)
    allk = C.adaptive_code_lengths(x, 3, 4, method=method, all_orders=True)
    assert allk.shape == (4, 1500)
    for k in range(4):
        assert np.allclose(allk[k], C.adaptive_code_lengths(x, k, 4, method=method), rtol=0, atol=1e-12)


def test_two_part_model_bits_stable_for_huge_alphabets():
    """log2 C(M, m) must not cancel for M = (V+1)^k V of order 1e26 (WordPiece, k = 5)."""
    x = np.random.default_rng(11).integers(0, 30522, 5000)
    code = C.two_part_code_length(x, 5, 30522)
    M, m, n = 30523.0**5 * 30522, code.n_cells, 5000
    # every context is new: m = n, and log2 C(M, n) ~ n log2(M e / n) to within 1 %
    assert m == n
    approx = n * math.log2(M * math.e / n)
    assert abs(code.model_bits - approx) < 0.01 * approx
    assert code.data_bits == pytest.approx(0.0, abs=1e-9)


# ----------------------------------------------------------------------------- exact KT beta, bad symbols


@pytest.mark.parametrize("beta", [1e-6, 7e-4, 0.0003, 0.1, 0.5, 2.5])
def test_kt_small_beta_roundtrips_and_matches_vectorised(beta):
    """The model uses the beta it was given: no rounding to a denominator of 1000 (1e-6 became 0)."""
    x = np.random.default_rng(5).integers(0, 5, 400)
    x[-3:] = [4, 4, 4]
    x[x == 3] = 2  # symbol 3 never occurs: its probability must stay positive
    model = C.AdaptiveContextModel(5, 1, "kt", beta=beta)
    seq = []
    for a in x:
        p = model.probabilities()
        assert np.all(p > 0) and p.sum() == pytest.approx(1.0, abs=1e-12)
        seq.append(-np.log2(p[a]))
        model.update(int(a))
    assert np.allclose(C.adaptive_code_lengths(x, 1, 5, beta=beta), seq, rtol=1e-12, atol=1e-12)
    code = C.arithmetic_encode(x, model)
    assert np.array_equal(C.arithmetic_decode(code, model), x)
    q_hat, F = _q_hat_and_totals(x, model)
    assert code.n_bits <= C.arithmetic_code_bound(q_hat, F)
    # the coded length is the adaptive code length up to quantisation and the 2 termination bits
    assert code.n_bits <= C.adaptive_code_lengths(x, 1, 5, beta=beta).sum() + 2 + 1e-3 * x.size


def test_kt_rational_beta_stays_exact():
    """A beta with a small denominator keeps integer frequencies s n + r: no quantisation overhead."""
    from fractions import Fraction

    x = np.random.default_rng(6).integers(0, 3, 300)
    for beta in (0.5, 0.25, Fraction(1, 3)):
        model = C.AdaptiveContextModel(3, 1, "kt", beta=beta)
        q_hat, _ = _q_hat_and_totals(x, model)
        exact = 2.0 ** -C.adaptive_code_lengths(x, 1, 3, beta=float(beta))
        assert np.allclose(q_hat, exact, rtol=0, atol=1e-15)
        assert model.beta == Fraction(beta)


def test_beta_validation():
    for bad in (0, -0.5, float("inf"), float("nan")):
        with pytest.raises(ValueError, match="beta"):
            C.AdaptiveContextModel(3, 1, "kt", beta=bad)
        with pytest.raises(ValueError, match="beta"):
            C.adaptive_code_lengths([0, 1, 2], 1, 3, beta=bad)
    for bad in (True, "0.5"):
        with pytest.raises(TypeError, match="beta"):
            C.AdaptiveContextModel(3, 1, "kt", beta=bad)
        with pytest.raises(TypeError, match="beta"):
            C.adaptive_code_lengths([0, 1, 2], 1, 3, beta=bad)


def test_adaptive_model_total_bits_validated_not_cast():
    with pytest.raises(ValueError, match="total_bits"):
        C.AdaptiveContextModel(3, 1, "witten-bell", total_bits=20.7)
    with pytest.raises(ValueError, match="total_bits"):
        C.AdaptiveContextModel(3, 1, "witten-bell", total_bits=0)


def test_arithmetic_encode_symbol_outside_the_alphabet():
    table = np.full((3, 4), 0.25)
    with pytest.raises(ValueError, match="symbols"):
        C.arithmetic_encode([0, 4, 1], table)
    with pytest.raises(ValueError, match="symbols"):
        C.arithmetic_encode([0, 7], C.AdaptiveContextModel(4, 1))
    with pytest.raises(ValueError, match="symbols"):
        C.arithmetic_encode([0, -1], table)


def test_code_bound_rejects_nan_totals():
    with pytest.raises(ValueError, match="totals"):
        C.arithmetic_code_bound([0.5, 0.5], [4.0, float("nan")])
