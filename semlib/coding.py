r"""Lossless coding: arithmetic coding, context models and two-part code lengths.

Shannon's source coding theorem says that a symbol of probability :math:`q`
can be sent with :math:`-\log_2 q` bits; arithmetic coding makes this real for a
whole sequence at once: a sequence :math:`x_{1:n}` coded with predictive
distributions :math:`q_t(\cdot)` costs

.. math:: L(x_{1:n}) \le \sum_{t=1}^n -\log_2 q_t(x_t) + 2 \ \text{bits}

(plus a small, stated overhead for finite-precision arithmetic). A code length
is therefore a cross-entropy, and a language model *is* a compressor. This
module holds

* an exact integer arithmetic coder (the Witten–Neal–Cleary scheme with
  carry/underflow handling) that encodes and decodes with any sequential model
  (:func:`arithmetic_encode`, :func:`arithmetic_decode`, :func:`quantize`,
  :func:`arithmetic_code_bound`);
* order-:math:`k` context models over a finite alphabet, adaptive
  (*prequential*: the model is learned while coding, no model is sent), with
  add-:math:`\beta` (Krichevsky–Trofimov, :math:`\beta = 1/2`) or Witten–Bell
  interpolated counts (:class:`AdaptiveContextModel`,
  :func:`adaptive_code_lengths`), and the held-out cross-entropy of a fitted
  Witten–Bell :math:`n`-gram model (:func:`ngram_cross_entropy`);
* the two-part code of Remark 1, Eqs. (8)–(9) of the paper, for a static
  fitted order-:math:`k` model: bits to describe the model plus bits of the
  data given the model (:func:`two_part_code_length`).

Units: bits, because a compressed size is counted in bits; convert with
:math:`\ln 2` for nats.

Book: chapter *From bits to tokens* (``01_bits_to_tokens/bits_vs_tokens``) for the held-out
cross-entropy, and chapter *Code length is cross-entropy* (``01_bits_to_tokens/two_part_codes``)
for the arithmetic coder, the adaptive models and the two-part code.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Literal, Protocol, runtime_checkable

import numpy as np
from scipy.special import gammaln

from ._backend import numpy_core

__all__ = [
    "Codeword",
    "SequentialModel",
    "PredictiveTable",
    "AdaptiveContextModel",
    "TwoPartCode",
    "ideal_code_length",
    "quantize",
    "arithmetic_encode",
    "arithmetic_decode",
    "arithmetic_code_bound",
    "coded_probabilities",
    "context_ids",
    "adaptive_code_lengths",
    "ngram_cross_entropy",
    "two_part_code_length",
]

_LOG2 = math.log(2.0)
Method = Literal["kt", "witten-bell"]


# ----------------------------------------------------------------------------- validation


def _as_symbols(symbols: Any, alphabet_size: int | None = None, name: str = "symbols") -> np.ndarray:
    arr = np.asarray(symbols)
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be one-dimensional, got shape {arr.shape}")
    if arr.size and not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"`{name}` must hold integers, got dtype {arr.dtype}")
    arr = arr.astype(np.int64, copy=False)
    if arr.size and arr.min() < 0:
        raise ValueError(f"`{name}` must be non-negative")
    if alphabet_size is not None and arr.size and arr.max() >= alphabet_size:
        raise ValueError(f"`{name}` has the symbol {int(arr.max())}, outside 0..{alphabet_size - 1}")
    return arr


def _check_alphabet(alphabet_size: Any) -> int:
    if isinstance(alphabet_size, bool) or not isinstance(alphabet_size, (int, np.integer)) or alphabet_size < 2:
        raise ValueError(f"`alphabet_size` must be an int >= 2, got {alphabet_size!r}")
    return int(alphabet_size)


def _check_order(order: Any) -> int:
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or order < 0:
        raise ValueError(f"`order` must be a non-negative int, got {order!r}")
    return int(order)


def _check_beta(beta: Any) -> Fraction:
    """A positive finite KT beta, as the exact rational that equals it (a float is a dyadic rational)."""
    if isinstance(beta, bool) or not isinstance(beta, (int, float, Fraction, np.integer, np.floating)):
        raise TypeError(f"`beta` must be a positive finite number, got {type(beta).__name__}")
    if isinstance(beta, (float, np.floating)) and not math.isfinite(beta):
        raise ValueError(f"`beta` must be a positive finite number, got {beta!r}")
    if isinstance(beta, np.integer):
        exact = Fraction(int(beta))
    elif isinstance(beta, np.floating):  # exact; Fraction() itself rejects float32/float16 (not float subclasses)
        exact = Fraction(*beta.as_integer_ratio())
    else:
        exact = Fraction(beta)
    if not exact > 0:
        raise ValueError(f"`beta` must be a positive finite number, got {beta!r}")
    return exact


#: KT frequencies stay exact integers while their total is at most this (the limit of the
#: default 48-bit coder, 2**(48 - 2)); beyond it they are quantised with ``total_bits``.
_KT_EXACT_MAX_TOTAL = 1 << 46


def _check_method(method: Any) -> str:
    if method not in ("kt", "witten-bell"):
        raise ValueError(f"`method` must be 'kt' or 'witten-bell', got {method!r}")
    return method


# ----------------------------------------------------------------------------- ideal lengths


@numpy_core("probs")
def ideal_code_length(probs: Any) -> float:
    r"""Ideal code length :math:`\sum_t -\log_2 q_t(x_t)` in bits.

    Parameters
    ----------
    probs : array-like of float, shape (n,)
        The probability each predictive distribution gave to the symbol that
        actually came, :math:`q_t(x_t)`; each in :math:`(0, 1]`.

    Returns
    -------
    float
        The ideal (Shannon) code length of the sequence in bits, which an
        arithmetic coder attains within 2 bits (:func:`arithmetic_code_bound`).

    Examples
    --------
    >>> ideal_code_length([0.5, 0.25, 1.0])
    3.0
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 1:
        raise ValueError(f"`probs` must be one-dimensional, got shape {p.shape}")
    if not np.all((p > 0) & (p <= 1)):
        raise ValueError("`probs` must lie in (0, 1]: a symbol of probability 0 cannot be coded")
    return float(-np.log2(p).sum())


@numpy_core("probs")
def quantize(probs: Any, total_bits: int = 16) -> np.ndarray:
    r"""Integer frequencies for an arithmetic coder, every symbol's frequency :math:`\ge 1`.

    .. math:: f_a = 1 + \big\lfloor q_a\,(2^{b} - V)\big\rfloor, \qquad \sum_a f_a \le 2^{b},

    so the coder uses :math:`\hat q_a = f_a / \sum_b f_b`. The *quantisation
    overhead* of a symbol is :math:`\log_2 (q_a/\hat q_a)` bits (it can be
    negative for a single symbol; summed over a sequence coded with the true
    law it is a KL divergence, hence non-negative on average).

    Parameters
    ----------
    probs : array-like, shape (V,) or (n, V)
        Distributions over ``V`` symbols (rows sum to 1 within 1e-6).
    total_bits : int, default 16
        ``b``; needs :math:`2^b \ge V` (at equality every frequency is 1) and :math:`b \le 40`.

    Returns
    -------
    numpy.ndarray of int64, same shape as ``probs``
    """
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim not in (1, 2) or p.shape[-1] < 2:
        raise ValueError(f"`probs` must have shape (V,) or (n, V) with V >= 2, got {p.shape}")
    if isinstance(total_bits, bool) or not isinstance(total_bits, (int, np.integer)) or not 1 <= total_bits <= 40:
        raise ValueError(f"`total_bits` must be an int in 1..40, got {total_bits!r}")
    V = p.shape[-1]
    budget = (1 << int(total_bits)) - V
    if budget < 0:
        raise ValueError(f"`total_bits`={total_bits} leaves no room for V={V} symbols")
    if not np.all(np.isfinite(p)) or p.min() < 0 or np.abs(p.sum(axis=-1) - 1).max() > 1e-6:
        raise ValueError("`probs` must be non-negative with rows summing to 1 (within 1e-6)")
    return 1 + np.floor(p * budget).astype(np.int64)


# ----------------------------------------------------------------------------- models


@runtime_checkable
class SequentialModel(Protocol):
    """What the arithmetic coder needs of a model: integer frequencies, then the symbol.

    ``reset()`` starts a sequence; ``frequencies()`` gives the next symbol's
    integer frequencies (int64, shape (V,), each >= 1, sum <= 2**(precision-2));
    ``update(symbol)`` tells the model which symbol came. Encoder and decoder
    drive the same model through the same calls, which is why they agree.
    """

    def reset(self) -> None: ...

    def frequencies(self) -> np.ndarray: ...

    def update(self, symbol: int) -> None: ...


class PredictiveTable:
    """A fixed sequence of predictive distributions, as a :class:`SequentialModel`.

    Parameters
    ----------
    table : array-like, shape (n, V)
        Float rows are probabilities (quantised with :func:`quantize`); integer
        rows are used as frequencies directly (each must be >= 1).
    total_bits : int, default 16
        Passed to :func:`quantize` for float tables.
    """

    def __init__(self, table: Any, total_bits: int = 16) -> None:
        arr = np.asarray(table)
        if arr.ndim != 2:
            raise ValueError(f"`table` must have shape (n, V), got {arr.shape}")
        if np.issubdtype(arr.dtype, np.integer):
            if arr.size and arr.min() < 1:
                raise ValueError("integer `table` rows are frequencies and must all be >= 1")
            self.freqs = arr.astype(np.int64)
        else:
            self.freqs = quantize(arr, total_bits)
        self.t = 0

    def reset(self) -> None:
        self.t = 0

    def frequencies(self) -> np.ndarray:
        if self.t >= len(self.freqs):
            raise IndexError("the table has no distribution left")
        return self.freqs[self.t]

    def update(self, symbol: int) -> None:
        self.t += 1


class AdaptiveContextModel:
    r"""Sequential order-:math:`k` context model that learns while it codes.

    The predictive distribution of :math:`x_t` depends on the context
    :math:`c = x_{t-k:t-1}` (positions before the start are a start marker)
    and on the counts seen *before* :math:`t`:

    * ``method="kt"`` (add-:math:`\beta`; Krichevsky–Trofimov for
      :math:`\beta = 1/2`): :math:`q_t(a) = (n_{c,a} + \beta)/(n_c + V\beta)`.
      The model keeps :math:`\beta` exactly, as the rational :math:`r/s` equal
      to it (a float is a dyadic rational). While the total
      :math:`s\,n_c + V r` is at most :math:`2^{46}` (the limit of the default 48-bit coder)
      the frequencies :math:`s\,n_{c,a} + r` are exact integers, so
      arithmetic coding has no quantisation overhead (e.g. :math:`\beta = 1/2`,
      or a ``fractions.Fraction``); otherwise (a float such as ``0.1`` or
      ``1e-6``, whose denominator is a large power of 2) the exact
      probabilities are quantised with :func:`quantize` and ``total_bits``.
    * ``method="witten-bell"``: interpolation with the order-:math:`(k-1)`
      model, :math:`q^{(k)}(a) = (n_{c,a} + T_c\,q^{(k-1)}(a))/(n_c + T_c)`
      with :math:`T_c` the number of distinct symbols seen after :math:`c`
      (:math:`q^{(k)} = q^{(k-1)}` for an unseen context) and
      :math:`q^{(-1)}` uniform; frequencies are quantised with
      :func:`quantize`.

    No model is sent: the decoder rebuilds the same counts from the symbols it
    has decoded, so the code length :math:`\sum_t -\log_2 q_t(x_t)` is a real
    compressed size (the *prequential* or adaptive code).
    :func:`adaptive_code_lengths` computes the same probabilities vectorised.

    Parameters
    ----------
    alphabet_size : int
    order : int
        Context length :math:`k \ge 0`.
    method : {"kt", "witten-bell"}, default "kt"
    beta : float or fractions.Fraction, default 0.5
        For ``"kt"``; positive and finite, used exactly (no rounding).
    total_bits : int, default 24
        Quantisation of the Witten–Bell frequencies, and of the KT ones
        when they cannot be exact integers (see above); an int in 1..40.
    """

    def __init__(
        self, alphabet_size: int, order: int, method: Method = "kt", beta: float = 0.5, total_bits: int = 24
    ) -> None:
        self.V = _check_alphabet(alphabet_size)
        self.k = _check_order(order)
        self.method = _check_method(method)
        self.beta = _check_beta(beta)
        if (
            isinstance(total_bits, bool)
            or not isinstance(total_bits, (int, np.integer))
            or not 1 <= total_bits <= 40
            or (1 << int(total_bits)) < self.V
        ):
            raise ValueError(
                f"`total_bits` must be an int in 1..40 with 2**total_bits >= alphabet_size, got {total_bits!r}"
            )
        self.total_bits = int(total_bits)
        self.reset()

    def reset(self) -> None:
        self.history: list[int] = [self.V] * self.k  # start markers
        orders = range(self.k + 1) if self.method == "witten-bell" else [self.k]
        self.counts: dict[int, dict[tuple[int, ...], np.ndarray]] = {j: {} for j in orders}

    def _ctx(self, j: int) -> tuple[int, ...]:
        return tuple(self.history[len(self.history) - j :]) if j else ()

    def probabilities(self) -> np.ndarray:
        """The predictive distribution of the next symbol (float64, shape (V,))."""
        if self.method == "kt":
            n = self.counts[self.k].get(self._ctx(self.k))
            b = float(self.beta)
            if n is None:
                return np.full(self.V, 1.0 / self.V)
            return (n + b) / (n.sum() + self.V * b)
        q = np.full(self.V, 1.0 / self.V)
        for j in range(self.k + 1):
            n = self.counts[j].get(self._ctx(j))
            if n is None:
                continue
            T = np.count_nonzero(n)
            q = (n + T * q) / (n.sum() + T)
        return q

    def frequencies(self) -> np.ndarray:
        """Integer frequencies of the next symbol (exact for ``"kt"``)."""
        if self.method == "kt":
            n = self.counts[self.k].get(self._ctx(self.k))
            r, s = self.beta.numerator, self.beta.denominator
            n_c = 0 if n is None else int(n.sum())
            if s * n_c + self.V * r <= _KT_EXACT_MAX_TOTAL:  # Python ints: no overflow
                if n is None:
                    return np.full(self.V, r, dtype=np.int64)
                return s * n + r
        return quantize(self.probabilities(), self.total_bits)

    def update(self, symbol: int) -> None:
        a = int(symbol)
        if not 0 <= a < self.V:
            raise ValueError(f"`symbol` must lie in 0..{self.V - 1}, got {symbol!r}")
        for j, table in self.counts.items():
            c = self._ctx(j)
            n = table.get(c)
            if n is None:
                n = table[c] = np.zeros(self.V, dtype=np.int64)
            n[a] += 1
        if self.k:
            self.history.append(a)
            del self.history[0]


# ----------------------------------------------------------------------------- arithmetic coder


@dataclass(frozen=True)
class Codeword:
    """An arithmetic code: ``n_bits`` bits packed into ``data`` (big-endian), for ``n_symbols`` symbols."""

    data: bytes
    n_bits: int
    n_symbols: int

    def bits(self) -> np.ndarray:
        """The code as an array of 0/1 (uint8) of length ``n_bits``."""
        return np.unpackbits(np.frombuffer(self.data, dtype=np.uint8))[: self.n_bits]


def _check_precision(precision: Any) -> int:
    if isinstance(precision, bool) or not isinstance(precision, (int, np.integer)) or not 16 <= precision <= 64:
        raise ValueError(f"`precision` must be an int in 16..64, got {precision!r}")
    return int(precision)


def _as_model(model: Any) -> Any:
    if isinstance(model, SequentialModel):
        return model
    if isinstance(model, (np.ndarray, list, tuple)):
        return PredictiveTable(model)
    raise TypeError("`model` must be a SequentialModel (reset/frequencies/update) or an (n, V) array")


def _symbol_frequency(f: np.ndarray, a: int, t: int) -> int:
    """The frequency of symbol ``a`` at step ``t`` in the model's frequencies ``f``, validated."""
    if a >= len(f):
        raise ValueError(f"`symbols` has the symbol {a} at position {t}, outside the model's alphabet 0..{len(f) - 1}")
    fa = int(f[a])
    if fa < 1:
        raise ValueError("every frequency must be >= 1 (symbol of frequency 0)")
    return fa


@numpy_core("symbols", "model")
def arithmetic_encode(symbols: Sequence[int] | np.ndarray, model: Any, *, precision: int = 48) -> Codeword:
    r"""Encode ``symbols`` with an exact integer arithmetic coder.

    The Witten–Neal–Cleary (1987) coder: the current
    interval :math:`[\text{low}, \text{high}]` of ``precision``-bit integers
    is narrowed to the symbol's share :math:`[F(a^-), F(a))/F_{\text{tot}}`
    of the frequencies, and renormalised bit by bit; a straddle of the
    midpoint (underflow) is remembered as pending bits that the next decided
    bit resolves (the carry).

    Parameters
    ----------
    symbols : sequence of int, shape (n,)
    model : SequentialModel or array-like, shape (n, V)
        Gives the frequencies before each symbol (:class:`AdaptiveContextModel`,
        :class:`PredictiveTable`; a float array is quantised with
        :func:`quantize`). It is ``reset()`` first.
    precision : int, default 48
        Bits of the coder's registers :math:`P`; totals must stay
        :math:`\le 2^{P-2}`.

    Returns
    -------
    Codeword

    Notes
    -----
    Encoder and decoder are integer-exact, so decoding returns the input.
    The length satisfies :func:`arithmetic_code_bound`.
    """
    P = _check_precision(precision)
    x = _as_symbols(symbols)
    m = _as_model(model)
    m.reset()
    full_mask = (1 << P) - 1
    half, quarter = 1 << (P - 1), 1 << (P - 2)
    three_q = half + quarter
    low, high, pending = 0, full_mask, 0
    out: list[int] = []
    emit = out.append
    for t, a in enumerate(x.tolist()):
        f = m.frequencies()
        total = int(f.sum())
        if total > quarter:
            raise ValueError(f"frequency total {total} exceeds 2**(precision-2); raise `precision`")
        fa = _symbol_frequency(f, a, t)
        c_lo = int(f[:a].sum())
        rng = high - low + 1
        high = low + rng * (c_lo + fa) // total - 1
        low = low + rng * c_lo // total
        while True:
            if high < half:
                emit(0)
                out.extend([1] * pending)
                pending = 0
            elif low >= half:
                emit(1)
                out.extend([0] * pending)
                pending = 0
                low -= half
                high -= half
            elif low >= quarter and high < three_q:
                pending += 1
                low -= quarter
                high -= quarter
            else:
                break
            low <<= 1
            high = (high << 1) | 1
        m.update(a)
    pending += 1
    if low < quarter:
        emit(0)
        out.extend([1] * pending)
    else:
        emit(1)
        out.extend([0] * pending)
    bits = np.array(out, dtype=np.uint8)
    return Codeword(np.packbits(bits).tobytes(), len(out), int(x.size))


@numpy_core("model")
def arithmetic_decode(code: Codeword, model: Any, *, precision: int = 48) -> np.ndarray:
    """Decode a :class:`Codeword` with the same model and precision as the encoder.

    Parameters
    ----------
    code : Codeword
    model : SequentialModel or array-like, shape (n, V)
        The model the encoder used; it is ``reset()`` and updated with each
        decoded symbol, so an adaptive model learns exactly as it did when
        encoding.
    precision : int, default 48

    Returns
    -------
    numpy.ndarray of int64, shape (code.n_symbols,)
    """
    P = _check_precision(precision)
    if not isinstance(code, Codeword):
        raise TypeError(f"`code` must be a Codeword, got {type(code).__name__}")
    m = _as_model(model)
    m.reset()
    bits = code.bits().tolist()
    n_bits = len(bits)
    full_mask = (1 << P) - 1
    half, quarter = 1 << (P - 1), 1 << (P - 2)
    three_q = half + quarter
    value = 0
    for i in range(P):
        value = (value << 1) | (bits[i] if i < n_bits else 0)
    pos = P
    low, high = 0, full_mask
    out = np.empty(code.n_symbols, dtype=np.int64)
    for t in range(code.n_symbols):
        f = m.frequencies()
        cum = np.cumsum(f)
        total = int(cum[-1])
        rng = high - low + 1
        target = ((value - low + 1) * total - 1) // rng
        a = int(np.searchsorted(cum, target, side="right"))
        c_lo = int(cum[a - 1]) if a else 0
        high = low + rng * int(cum[a]) // total - 1
        low = low + rng * c_lo // total
        while True:
            if high < half:
                pass
            elif low >= half:
                value -= half
                low -= half
                high -= half
            elif low >= quarter and high < three_q:
                value -= quarter
                low -= quarter
                high -= quarter
            else:
                break
            low <<= 1
            high = (high << 1) | 1
            value = (value << 1) | (bits[pos] if pos < n_bits else 0)
            pos += 1
        out[t] = a
        m.update(a)
    return out


@numpy_core("q_hat", "totals")
def arithmetic_code_bound(q_hat: Any, totals: Any, *, precision: int = 48) -> float:
    r"""Upper bound on the length of :func:`arithmetic_encode`'s output, in bits.

    .. math::

        L \le \sum_t -\log_2 \hat q_t(x_t) \;+\; 2 \;+\;
        \sum_t -\log_2\!\Big(1 - \frac{F_t}{2^{P-2}}\Big),

    where :math:`\hat q_t(x_t) = f_t(x_t)/F_t` is the *quantised* probability
    of the coded symbol and :math:`F_t` the frequency total at step
    :math:`t`. The first term is the ideal length under the coder's
    frequencies (the ideal length under the float model plus the quantisation
    overhead :math:`\sum_t\log_2(q_t/\hat q_t)`); the 2 bits are the
    termination; the last term is the integer rounding of the interval: after
    renormalisation its width :math:`r` exceeds :math:`2^{P-2}`, and the
    rounded sub-interval is at least :math:`r f/F - 1 \ge (r f/F)(1 - F/2^{P-2})`.

    Parameters
    ----------
    q_hat : array-like, shape (n,)
        Quantised probabilities of the coded symbols.
    totals : array-like, shape (n,)
        Frequency totals :math:`F_t`.
    precision : int, default 48
    """
    P = _check_precision(precision)
    F = np.asarray(totals, dtype=np.float64)
    if not np.all(np.isfinite(F)) or np.any(F > 2.0 ** (P - 2)) or np.any(F < 1):
        raise ValueError("`totals` must lie in [1, 2**(precision-2)]")
    return ideal_code_length(q_hat) + 2.0 + float(-np.log2(1.0 - F / 2.0 ** (P - 2)).sum())


@numpy_core("symbols", "model")
def coded_probabilities(symbols: Sequence[int] | np.ndarray, model: Any) -> tuple[np.ndarray, np.ndarray]:
    r"""The probabilities the arithmetic coder uses for ``symbols``, and the frequency totals.

    Drives ``model`` as :func:`arithmetic_encode` does (``reset()``, then
    ``frequencies()`` and ``update()`` at each step) and records
    :math:`\hat q_t(x_t) = f_t(x_t)/F_t` and :math:`F_t`, the two inputs of
    :func:`arithmetic_code_bound`. Compared with the model's float
    probabilities :math:`q_t(x_t)` they give the quantisation overhead
    :math:`\log_2(q_t(x_t)/\hat q_t(x_t))` of each step.

    Parameters
    ----------
    symbols : sequence of int, shape (n,)
    model : SequentialModel or array-like, shape (n, V)
        As in :func:`arithmetic_encode`; it is ``reset()`` first and left after the last symbol.

    Returns
    -------
    q_hat : numpy.ndarray, shape (n,)
        Quantised probability of each coded symbol, in (0, 1].
    totals : numpy.ndarray, shape (n,)
        Frequency total :math:`F_t` at each step (float64; exact below :math:`2^{53}`).

    Raises
    ------
    ValueError
        If a symbol lies outside the model's alphabet or a frequency is below 1.

    Examples
    --------
    >>> from semlib.coding import AdaptiveContextModel, coded_probabilities
    >>> q_hat, totals = coded_probabilities([0, 0, 1], AdaptiveContextModel(2, 0, "kt"))
    >>> [round(float(q), 4) for q in q_hat], totals.tolist()
    ([0.5, 0.75, 0.1667], [2.0, 4.0, 6.0])
    """
    x = _as_symbols(symbols)
    m = _as_model(model)
    m.reset()
    q_hat, totals = np.empty(x.size), np.empty(x.size)
    for t, a in enumerate(x.tolist()):
        f = m.frequencies()
        fa = _symbol_frequency(f, a, t)
        totals[t] = float(f.sum())
        q_hat[t] = fa / totals[t]
        m.update(a)
    return q_hat, totals


# ----------------------------------------------------------------------------- vectorised models


@numpy_core("symbols")
def context_ids(symbols: Any, order: int, alphabet_size: int) -> list[np.ndarray]:
    r"""Dense ids of the contexts :math:`x_{t-j:t-1}` for :math:`j = 0, \dots, k`.

    Positions before the start read as a start marker (symbol ``V``), so the
    first symbols have contexts of their own. Ids are computed order by order,
    ``id_j = dense(id_{j-1} * (V + 1) + x_{t-j})``, which never overflows int64.

    Returns
    -------
    list of numpy.ndarray of int64
        ``ids[j][t]`` is the id of the order-``j`` context of position ``t``;
        two positions share an id exactly when their last ``j`` symbols agree.
    """
    V = _check_alphabet(alphabet_size)
    k = _check_order(order)
    x = _as_symbols(symbols, V)
    n = x.size
    ids = [np.zeros(n, dtype=np.int64)]
    for j in range(1, k + 1):
        prev = np.full(n, V, dtype=np.int64)
        if j < n:
            prev[j:] = x[:-j]
        key = ids[-1] * (V + 1) + prev
        ids.append(np.unique(key, return_inverse=True)[1].reshape(-1).astype(np.int64))
    return ids


def _count_before(keys: np.ndarray) -> np.ndarray:
    """For each position, how many earlier positions carry the same key."""
    order = np.argsort(keys, kind="stable")
    sk = keys[order]
    start = np.r_[0, np.flatnonzero(sk[1:] != sk[:-1]) + 1]
    run = np.repeat(start, np.diff(np.r_[start, sk.size]))
    out = np.empty_like(keys)
    out[order] = np.arange(sk.size) - run
    return out


def _cumsum_before(keys: np.ndarray, values: np.ndarray) -> np.ndarray:
    """For each position, the sum of ``values`` over earlier positions with the same key."""
    order = np.argsort(keys, kind="stable")
    sk, sv = keys[order], values[order]
    cs = np.cumsum(sv) - sv
    start = np.r_[0, np.flatnonzero(sk[1:] != sk[:-1]) + 1]
    base = np.repeat(cs[start], np.diff(np.r_[start, sk.size]))
    out = np.empty_like(values)
    out[order] = cs - base
    return out


@numpy_core("symbols")
def adaptive_code_lengths(
    symbols: Any, order: int, alphabet_size: int, *, method: Method = "kt", beta: float = 0.5, all_orders: bool = False
) -> np.ndarray:
    r"""Per-symbol code lengths :math:`-\log_2 q_t(x_t)` of the adaptive context model, vectorised.

    The same probabilities as :class:`AdaptiveContextModel` (counts of
    contexts and of (context, symbol) pairs *before* each position, obtained
    with a stable sort), without a Python loop. Their sum is the size of the
    adaptive (prequential) code: no model is transmitted.

    For ``order=0`` and ``method="kt"`` the sum has the closed form of the
    Dirichlet-multinomial (Krichevsky–Trofimov) mixture,
    :math:`\log_2\frac{\Gamma(n+V\beta)\,\Gamma(\beta)^V}{\Gamma(V\beta)\prod_a\Gamma(n_a+\beta)}`:
    the adaptive code does not depend on the order of the symbols.

    Parameters
    ----------
    symbols : array-like of int, shape (n,)
    order : int
    alphabet_size : int
    method : {"kt", "witten-bell"}, default "kt"
    beta : float or fractions.Fraction, default 0.5
        Positive and finite (``"kt"`` only).
    all_orders : bool, default False
        Return the code lengths of orders ``0..order`` as rows (one pass).

    Returns
    -------
    numpy.ndarray of float64, shape (n,), or (order + 1, n) with ``all_orders``
        Bits per symbol.
    """
    V = _check_alphabet(alphabet_size)
    k = _check_order(order)
    _check_method(method)
    x = _as_symbols(symbols, V)
    beta = float(_check_beta(beta))
    ids = context_ids(x, k, V)
    rows = []
    if method == "kt":
        for j in range(k + 1) if all_orders else [k]:
            n_c = _count_before(ids[j])
            n_ca = _count_before(ids[j] * V + x)
            rows.append(-np.log2((n_ca + beta) / (n_c + V * beta)))
        return np.array(rows) if all_orders else rows[0]
    q = np.full(x.size, 1.0 / V)
    for j in range(k + 1):
        n_c = _count_before(ids[j])
        pair = ids[j] * V + x
        n_ca = _count_before(pair)
        T_c = _cumsum_before(ids[j], (n_ca == 0).astype(np.int64))
        seen = n_c > 0
        q = np.where(seen, (n_ca + T_c * q) / np.maximum(n_c + T_c, 1), q)
        rows.append(-np.log2(q))
    return np.array(rows) if all_orders else rows[-1]


@numpy_core("train", "test")
def ngram_cross_entropy(train: Any, test: Any, order: int, alphabet_size: int, *, all_orders: bool = False) -> Any:
    r"""Held-out cross-entropy (bits per symbol) of a Witten–Bell :math:`n`-gram model.

    The model is fitted on ``train`` and frozen; its mean code length on
    ``test``, :math:`-\frac1m\sum_t\log_2 q(x_t\mid x_{t-k:t-1})`, estimates
    the entropy rate from above without the downward bias of plug-in
    estimates on the training text. Interpolation as in
    :class:`AdaptiveContextModel` (``"witten-bell"``): every symbol keeps a
    positive probability through the uniform order :math:`-1`.

    Parameters
    ----------
    train, test : array-like of int
    order : int
    alphabet_size : int
    all_orders : bool, default False
        Return the cross-entropies of orders ``0..order`` (one pass).

    Returns
    -------
    float, or numpy.ndarray of shape (order + 1,) with ``all_orders``
        Bits per test symbol.
    """
    V = _check_alphabet(alphabet_size)
    k = _check_order(order)
    a = _as_symbols(train, V, "train")
    b = _as_symbols(test, V, "test")
    if a.size == 0 or b.size == 0:
        raise ValueError("`train` and `test` must be non-empty")
    q = np.full(b.size, 1.0 / V)
    # order-j contexts of test and train must share ids: re-index the raw contexts jointly
    xa, xb = a, b
    joint_prev_a = np.zeros(a.size, dtype=np.int64)
    joint_prev_b = np.zeros(b.size, dtype=np.int64)
    per_order = []
    for j in range(k + 1):
        if j:
            pa = np.full(a.size, V, dtype=np.int64)
            pb = np.full(b.size, V, dtype=np.int64)
            if j < a.size:
                pa[j:] = xa[:-j]
            if j < b.size:
                pb[j:] = xb[:-j]
            key = np.r_[joint_prev_a * (V + 1) + pa, joint_prev_b * (V + 1) + pb]
            inv = np.unique(key, return_inverse=True)[1].reshape(-1)
            joint_prev_a, joint_prev_b = inv[: a.size], inv[a.size :]
        ca, cb = joint_prev_a, joint_prev_b
        n_ctx = int(max(ca.max(), cb.max())) + 1
        n_c = np.bincount(ca, minlength=n_ctx)
        pairs_a, cnt = np.unique(ca * V + xa, return_counts=True)
        T = np.bincount(pairs_a // V, minlength=n_ctx)
        key_b = cb * V + xb
        pos = np.searchsorted(pairs_a, key_b)
        pos_c = np.minimum(pos, pairs_a.size - 1)
        n_ca = np.where(pairs_a[pos_c] == key_b, cnt[pos_c], 0)
        nc_b, T_b = n_c[cb], T[cb]
        q = np.where(nc_b > 0, (n_ca + T_b * q) / np.maximum(nc_b + T_b, 1), q)
        per_order.append(float(-np.log2(q).mean()))
    return np.array(per_order) if all_orders else per_order[-1]


# ----------------------------------------------------------------------------- two-part code


@dataclass(frozen=True)
class TwoPartCode:
    """Two-part code length of a static order-k model, in bits.

    Attributes
    ----------
    model_bits : float
        :math:`L(\\text{model})`.
    data_bits : float
        :math:`L(\\text{data}\\mid\\text{model}) = -\\sum_t \\log_2 \\hat p(x_t\\mid c_t)`.
    n_cells : int
        Number of distinct (context, symbol) pairs, the non-zero counts sent.
    n_contexts : int
        Number of distinct contexts.
    """

    model_bits: float
    data_bits: float
    n_cells: int
    n_contexts: int

    @property
    def total_bits(self) -> float:
        return self.model_bits + self.data_bits


def _log2_binom(n: float, k: int) -> float:
    """log2 C(n, k) for huge n (up to ~1e300) and k up to ~1e7, without cancellation.

    ``lgamma(n + 1) - lgamma(n - k + 1) = sum_{i<k} log(n - i) = k log n + sum_i log1p(-i/n)``.
    """
    if k < 0 or k > n:
        raise ValueError(f"binomial coefficient C({n}, {k}) is zero")
    i = np.arange(int(k), dtype=np.float64)
    return float((k * math.log(n) + np.log1p(-i / n).sum() - gammaln(k + 1)) / _LOG2) if k else 0.0


@numpy_core("symbols")
def two_part_code_length(
    symbols: Any, order: int, alphabet_size: int, *, scheme: Literal["counts", "bic"] = "counts"
) -> TwoPartCode:
    r"""Two-part code :math:`L(\text{model}) + L(\text{data}\mid\text{model})` of a fitted order-:math:`k` model.

    The model is the table of counts :math:`n_{c,a}` of the whole sequence
    (contexts padded with a start marker), and the data are coded with its
    maximum-likelihood probabilities :math:`\hat p(a\mid c) = n_{c,a}/n_c`,
    which the decoder can compute once it has the counts:

    .. math:: L(\text{data}\mid\text{model}) = -\sum_{c,a} n_{c,a}\log_2\frac{n_{c,a}}{n_c}.

    This is the probabilistic reading of the two-part decomposition of Remark 1,
    Eq. (9): the model plays :math:`K(i)`, the data given the model :math:`l(\mathbf p)`.

    Model cost, ``scheme="counts"`` (an explicit, decodable description):
    with :math:`M = (V+1)^k V` possible cells (contexts including start
    markers, times symbols), :math:`m` non-zero cells and :math:`n` symbols, send
    :math:`n` (Elias gamma, :math:`2\lfloor\log_2 n\rfloor + 1` bits), :math:`m`
    (:math:`\log_2 M` bits), which cells are non-zero
    (:math:`\log_2\binom{M}{m}`) and their positive counts
    (:math:`\log_2\binom{n-1}{m-1}`, a composition of :math:`n` into
    :math:`m` parts). ``scheme="bic"``: the asymptotic MDL cost
    :math:`\tfrac{d}{2}\log_2 n` with :math:`d = (\#\text{contexts})(V-1)`
    free parameters (Rissanen, 1978); not a code one could
    actually send, but the classical yardstick.

    Parameters
    ----------
    symbols : array-like of int, shape (n,)
    order : int
    alphabet_size : int
    scheme : {"counts", "bic"}, default "counts"

    Returns
    -------
    TwoPartCode
    """
    V = _check_alphabet(alphabet_size)
    k = _check_order(order)
    if scheme not in ("counts", "bic"):
        raise ValueError(f"`scheme` must be 'counts' or 'bic', got {scheme!r}")
    x = _as_symbols(symbols, V)
    n = x.size
    if n == 0:
        raise ValueError("`symbols` is empty")
    ctx = context_ids(x, k, V)[k]
    n_c = np.bincount(ctx)
    pairs, n_ca = np.unique(ctx * V + x, return_counts=True)
    data = float(-(n_ca * np.log2(n_ca / n_c[pairs // V])).sum())
    m, n_ctx = int(pairs.size), int(n_c.size)
    if scheme == "bic":
        model = 0.5 * n_ctx * (V - 1) * math.log2(n)
    else:
        M = float(V + 1) ** k * V
        model = (2 * math.floor(math.log2(n)) + 1) + math.log2(M) + _log2_binom(M, m) + _log2_binom(n - 1, m - 1)
    return TwoPartCode(float(model), data, m, n_ctx)
