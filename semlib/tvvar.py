r"""Autoregressive LLMs as time-varying vector autoregressions (TV-VAR).

The paper's §V-A defines an AR-LLM by a *time-varying* VAR on embedding
vectors (Definition 13, Eq. 44),

.. math::

    \mathbf u_t = \operatorname{arg\,softmax}\Big(\tfrac1\Xi\,
    \tilde{\mathbf u}_{1:N}^T \sum_{j=1}^{t-1} \mathbf A_{tj}\mathbf u_j\Big),
    \qquad t = n+1,\dots,T,

and §V-B (Theorem 5, Eqs. 45-53) reads one causal attention head as the
special case :math:`\mathbf A_{tj} = \pi_{tj}\mathbf A` with

.. math::

    \pi_{tj} = \frac{\exp(\mathbf u_{t-1}^T\mathbf B\,\mathbf u_j)}
                    {\sum_{i=1}^{t-1}\exp(\mathbf u_{t-1}^T\mathbf B\,\mathbf u_i)},
    \qquad \mathbf B = \mathbf W_q^T\mathbf W_k,\quad \mathbf A = \mathbf W_v .

Conventions of this module
--------------------------
* **Column vectors, as in the paper.** A weight ``W`` of shape ``(out, in)``
  acts as :math:`\mathbf W\mathbf u`. This is exactly the layout of
  ``torch.nn.Linear.weight``, so ``linear.weight`` *is* the paper's matrix;
  on a batch of row vectors ``u`` of shape ``(..., T, d)`` the product is
  ``u @ W.T``.
* **Positions are 0-based query positions.** Row ``i`` of the coefficient
  matrix ``pi`` is the attention of the query at position ``i`` (the paper's
  :math:`t-1`), which produces the prediction of the token at position
  ``i + 1`` (the paper's :math:`t`); it attends to ``j = 0..i`` (the paper's
  :math:`j = 1..t-1`). So ``pi[..., i, j]`` is the paper's
  :math:`\pi_{i+2,\,j+1}` in 1-based indices, and it is lower triangular
  *including* the diagonal.
* **The scale.** Eqs. (47) and (50) have no :math:`1/\sqrt{d_k}`; the
  Transformer of Vaswani et al. and ``scaled_dot_product_attention`` do. The
  functions take ``scale`` (default :math:`1/\sqrt{d_k}`, torch's); the paper's
  :math:`\mathbf B` is then ``scale * W_q.T @ W_k``.
* **The output matrix.** With an output projection :math:`\mathbf W_o` (every
  multi-head layer has one) the value matrix of the theorem is
  :math:`\mathbf A = \mathbf W_o\mathbf W_v`, not :math:`\mathbf W_v`.

Torch, float64 by default, on the device of the inputs. Introduced in the
chapters *A TV-VAR view of AR-LLMs* (``ch-tv-var``) and *The Transformer as a
TV-VAR* (``ch-transformer``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from ._backend import check_int as _check_int
from ._backend import int_seed, numpy_core, require_torch, torch_core, torch_generator

__all__ = [
    "tvvar_outputs",
    "tvvar_logits",
    "tvvar_num_params",
    "attention_num_params",
    "TVVAR",
    "AttentionTVVAR",
    "attention_as_tvvar",
    "attention_reference",
    "attention_coefficients",
    "multihead_coefficients",
    "toeplitz_defect",
    "rank_one_defect",
    "antisymmetry",
    "max_entropy_pmf",
    "gibbs_inverse_temperature",
    "TinyGPT",
    "copy_task",
    "markov_tokens",
    "markov_nll",
    "bigram_tv",
    "sample_autoregressive",
    "forward_flops",
    "train_gpt",
]


# --------------------------------------------------------------------------- validation


def _check_tensor(x: Any, name: str, ndim: int | tuple[int, ...]) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"`{name}` must be a torch tensor, got {type(x).__name__}")
    ndims = (ndim,) if isinstance(ndim, int) else ndim
    if x.ndim not in ndims:
        raise ValueError(f"`{name}` must have {' or '.join(map(str, ndims))} dimensions, got shape {tuple(x.shape)}")
    if not x.is_floating_point():
        raise TypeError(f"`{name}` must be a floating-point tensor, got {x.dtype}")
    if not torch.isfinite(x).all():
        raise ValueError(f"`{name}` must be finite")
    return x


def _check_positive(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"`{name}` must be a number, got {type(value).__name__}")
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"`{name}` must be a positive finite number, got {value}")
    return float(value)


# --------------------------------------------------------------------------- general TV-VAR (Def. 13)
@torch_core("u", "A")
def tvvar_outputs(u: torch.Tensor, A: torch.Tensor, *, include_current: bool = False) -> torch.Tensor:
    r"""The TV-VAR sum :math:`\mathbf y_t = \sum_{j<t}\mathbf A_{tj}\mathbf u_j` of Eq. (44).

    Parameters
    ----------
    u : torch.Tensor, shape (B, T, d) or (T, d)
        Embedding vectors :math:`\mathbf u_1,\dots,\mathbf u_T` (rows).
    A : torch.Tensor, shape (T, T, d_out, d) or (B, T, T, d_out, d)
        Coefficient matrices :math:`\mathbf A_{tj}` (``A[t, j]``, 0-based), shared
        over the batch or one set per sequence (context-dependent coefficients).
        Entries with ``j >= t`` (or ``j > t`` with ``include_current``) are
        ignored: the sum is causal whatever ``A`` holds there.
    include_current : bool, default False
        ``False``: :math:`\mathbf y_t` uses :math:`\mathbf u_{1:t-1}` (Eq. 44, output
        ``t`` predicts token ``t``; ``y[0] = 0``). ``True``: :math:`\mathbf y_i` uses
        :math:`\mathbf u_{1:i}` (the query-position convention of attention).

    Returns
    -------
    torch.Tensor, shape (B, T, d_out) or (T, d_out)

    Examples
    --------
    >>> u = torch.randn(5, 3, dtype=torch.float64)
    >>> A = torch.eye(3, dtype=torch.float64).expand(5, 5, 3, 3)
    >>> y = tvvar_outputs(u, A)                     # y_t = sum of the past
    >>> bool(torch.allclose(y[4], u[:4].sum(0)))
    True
    """
    u = _check_tensor(u, "u", (2, 3))
    A = _check_tensor(A, "A", (4, 5))
    squeeze = u.ndim == 2
    if squeeze:
        u = u[None]
    Bsz, T, d = u.shape
    if A.shape[-3] != T or A.shape[-4] != T or A.shape[-1] != d:
        raise ValueError(
            f"`A` must have shape (..., T, T, d_out, d) = (..., {T}, {T}, d_out, {d}), got {tuple(A.shape)}"
        )
    if A.ndim == 5 and A.shape[0] != Bsz:
        raise ValueError(f"`A` has {A.shape[0]} sets of coefficients for a batch of {Bsz} sequences")
    mask = torch.tril(torch.ones(T, T, dtype=u.dtype, device=u.device), diagonal=0 if include_current else -1)
    Am = A * mask[..., None, None]
    if A.ndim == 4:
        y = torch.einsum("tjod,bjd->bto", Am, u)
    else:
        y = torch.einsum("btjod,bjd->bto", Am, u)
    return y[0] if squeeze else y


@torch_core("y", "vocab_vectors")
def tvvar_logits(y: torch.Tensor, vocab_vectors: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    r"""Next-token scores :math:`\tfrac1\Xi\,\tilde{\mathbf u}_{1:N}^T\mathbf y_t` of Eq. (44).

    Parameters
    ----------
    y : torch.Tensor, shape (..., d)
        TV-VAR outputs (:func:`tvvar_outputs`).
    vocab_vectors : torch.Tensor, shape (N, d)
        All token vectors :math:`\tilde{\mathbf u}_{1:N}` (rows).
    temperature : float, default 1
        The sampling temperature :math:`\Xi > 0`.

    Returns
    -------
    torch.Tensor, shape (..., N)
        Logits; ``softmax`` of them is the next-token law, the arg-softmax of
        Eq. (44) samples from it (or takes its mode).
    """
    y = _check_tensor(y, "y", tuple(range(1, 6)))
    vocab_vectors = _check_tensor(vocab_vectors, "vocab_vectors", 2)
    if vocab_vectors.shape[1] != y.shape[-1]:
        raise ValueError(f"`vocab_vectors` must have {y.shape[-1]} columns, got {vocab_vectors.shape[1]}")
    temperature = _check_positive(temperature, "temperature")
    return y @ vocab_vectors.T / temperature


def tvvar_num_params(T: int, d: int, *, d_out: int | None = None) -> int:
    r"""Number of free coefficients :math:`\sum_{t=2}^T (t-1)\, d_{out} d = \tfrac{T(T-1)}2 d_{out} d` of Eq. (44).

    One matrix :math:`\mathbf A_{tj}` per pair :math:`1\le j<t\le T`: quadratic in
    the context length :math:`T` (Definition 13; chapter ``ch-tv-var``).

    Examples
    --------
    >>> tvvar_num_params(4, 2)
    24
    """
    T = _check_int(T, "T", 1)
    d = _check_int(d, "d", 1)
    d_out = d if d_out is None else _check_int(d_out, "d_out", 1)
    return T * (T - 1) // 2 * d_out * d


def attention_num_params(
    d: int, d_head: int | None = None, *, n_heads: int = 1, output: bool | None = None, bilinear: bool = False
) -> int:
    r"""Parameters of one causal attention layer in the decomposition of Eq. (45): independent of :math:`T`.

    Per head: :math:`\mathbf W_q,\mathbf W_k\in\mathbb R^{d_h\times d}` (or one
    :math:`d\times d` matrix :math:`\mathbf B` if ``bilinear``), :math:`\mathbf W_v\in
    \mathbb R^{d_h\times d}`, and with an output projection :math:`\mathbf W_o\in
    \mathbb R^{d\times d_h}` (default: present when ``n_heads > 1`` or ``d_head != d``).

    Examples
    --------
    >>> attention_num_params(8)              # W_q, W_k, W_v of a single 8x8 head
    192
    >>> attention_num_params(8, 4, n_heads=2)  # 2 heads of 4, with W_o
    256
    """
    d = _check_int(d, "d", 1)
    d_head = d if d_head is None else _check_int(d_head, "d_head", 1)
    n_heads = _check_int(n_heads, "n_heads", 1)
    if output is None:
        output = n_heads > 1 or d_head != d
    qk = d * d if bilinear else 2 * d_head * d
    return n_heads * (qk + d_head * d + (d * d_head if output else 0))


class TVVAR(torch.nn.Module):
    r"""A free TV-VAR AR-LLM (Definition 13, Eq. 44): one coefficient matrix per pair :math:`j<t`.

    Parameters
    ----------
    T : int
        Context length (positions ``0..T-1``).
    d : int
        Dimension of the embedding vectors.
    vocab_vectors : torch.Tensor, shape (N, d)
        The token vectors :math:`\tilde{\mathbf u}_{1:N}` (stored as a buffer).
    scale : float, default 0.3
        Standard deviation of the random initial coefficients, divided by
        :math:`\sqrt{d\,(t-1)}` for row ``t`` so outputs stay of order one.
    seed : int, None or torch.Generator, default 0
        Random state of the initial weights (see CONTRIBUTING.md, glossary).
    dtype : torch.dtype, default float64

    Notes
    -----
    ``coef`` has shape ``(T, T, d, d)`` and :math:`T^2d^2` entries, of which the
    :math:`T(T-1)d^2/2` below the diagonal are used (:func:`tvvar_num_params`).
    """

    vocab_vectors: torch.Tensor  # a buffer (register_buffer below), not a Parameter

    def __init__(
        self,
        T: int,
        d: int,
        vocab_vectors: torch.Tensor,
        *,
        scale: float = 0.3,
        seed: int | torch.Generator | None = 0,
        dtype: torch.dtype = torch.float64,
    ):
        super().__init__()
        self.T = _check_int(T, "T", 2)
        self.d = _check_int(d, "d", 1)
        vocab_vectors = _check_tensor(vocab_vectors, "vocab_vectors", 2)
        if vocab_vectors.shape[1] != d:
            raise ValueError(f"`vocab_vectors` must have d = {d} columns, got {vocab_vectors.shape[1]}")
        scale = _check_positive(scale, "scale")
        g = torch_generator(seed)
        coef = torch.randn(T, T, d, d, generator=g, dtype=dtype)
        rows = torch.arange(T, dtype=dtype).clamp_min(1)
        coef = coef * scale / torch.sqrt(d * rows)[:, None, None, None]
        coef = coef * torch.tril(torch.ones(T, T, dtype=dtype), -1)[..., None, None]
        self.coef = torch.nn.Parameter(coef.to(vocab_vectors.device))
        self.register_buffer("vocab_vectors", vocab_vectors.to(dtype))

    def num_params(self) -> int:
        """Free coefficients used by the model: :func:`tvvar_num_params` ``(T, d)``."""
        return tvvar_num_params(self.T, self.d)

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        r""":math:`\mathbf y_t=\sum_{j<t}\mathbf A_{tj}\mathbf u_j` for a batch ``u`` of shape (B, T', d), ``T' <= T``."""
        u = _check_tensor(u, "u", (2, 3))
        Tp = u.shape[-2]
        if Tp > self.T:
            raise ValueError(f"`u` has {Tp} positions, more than the model's T = {self.T}")
        return tvvar_outputs(u, self.coef[:Tp, :Tp])

    def logits(self, u: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
        """Next-token logits of Eq. (44) after each prefix: shape (B, T', N)."""
        return tvvar_logits(self(u), self.vocab_vectors, temperature)

    @torch.no_grad()
    def generate(
        self,
        prompt: torch.Tensor,
        *,
        temperature: float = 1.0,
        greedy: bool = False,
        seed: int | torch.Generator | None = 0,
    ) -> torch.Tensor:
        r"""Run Eq. (44) forward from token ids ``prompt`` (B, n) to length ``T``: token ids (B, T).

        Each new vector :math:`\mathbf u_t` is the token vector drawn from
        ``softmax(logits / temperature)`` (``greedy``: its mode).
        """
        if not isinstance(prompt, torch.Tensor) or prompt.dtype != torch.long or prompt.ndim != 2:
            raise TypeError("`prompt` must be a (B, n) tensor of token ids (torch.long)")
        N = self.vocab_vectors.shape[0]
        if prompt.shape[1] < 1 or prompt.shape[1] > self.T:
            raise ValueError(f"`prompt` must have 1..T = {self.T} tokens, got {prompt.shape[1]}")
        if prompt.min() < 0 or prompt.max() >= N:
            raise ValueError(f"`prompt` ids must lie in 0..{N - 1}")
        g = torch_generator(seed, self.vocab_vectors.device)  # where the draws happen
        ids = prompt.to(self.vocab_vectors.device)
        for t in range(prompt.shape[1], self.T):
            u = self.vocab_vectors[ids]
            y = torch.einsum("jod,bjd->bo", self.coef[t, :t], u)  # y_t = sum_{j<t} A_tj u_j
            logit = tvvar_logits(y, self.vocab_vectors, temperature)
            nxt = logit.argmax(-1, keepdim=True) if greedy else torch.multinomial(logit.softmax(-1), 1, generator=g)
            ids = torch.cat([ids, nxt], dim=1)
        return ids


# --------------------------------------------------------------------------- attention as a TV-VAR (Thm 5)
@dataclass
class AttentionTVVAR:
    r"""One causal attention head written as a TV-VAR (Theorem 5).

    Attributes
    ----------
    pi : torch.Tensor, shape (B, T, T)
        :math:`\pi` of Eq. (47): row ``i`` (query position, the paper's :math:`t-1`)
        is a pmf over ``j <= i``; zero above the diagonal.
    outputs : torch.Tensor, shape (B, T, d_out)
        :math:`\sum_j \pi_{ij}\mathbf A\mathbf u_j` (the argument of Eq. 46).
    A : torch.Tensor, shape (d_out, d)
        :math:`\mathbf A = \mathbf W_v` or :math:`\mathbf W_o\mathbf W_v` (Eq. 45).
    B : torch.Tensor, shape (d, d)
        :math:`\mathbf B` of Eqs. (51), (53) *with the scale absorbed*:
        ``scale * W_q.T @ W_k``.
    scores : torch.Tensor, shape (B, T, T)
        The bilinear form :math:`\mathbf u_i^T\mathbf B\mathbf u_j` of Eq. (53), ``-inf`` above the diagonal.
    """

    pi: torch.Tensor
    outputs: torch.Tensor
    A: torch.Tensor
    B: torch.Tensor
    scores: torch.Tensor


def _check_head(u: Any, W_q: Any, W_k: Any, W_v: Any, W_o: Any) -> tuple[torch.Tensor, ...]:
    u = _check_tensor(u, "u", (2, 3))
    W_q = _check_tensor(W_q, "W_q", 2)
    W_k = _check_tensor(W_k, "W_k", 2)
    W_v = _check_tensor(W_v, "W_v", 2)
    d = u.shape[-1]
    for name, W in (("W_q", W_q), ("W_k", W_k), ("W_v", W_v)):
        if W.shape[1] != d:
            raise ValueError(
                f"`{name}` must have shape (d_out, d) with d = {d} (paper convention W u), got {tuple(W.shape)}"
            )
    if W_q.shape != W_k.shape:
        raise ValueError(f"`W_q` and `W_k` must have the same shape, got {tuple(W_q.shape)} and {tuple(W_k.shape)}")
    if W_o is not None:
        W_o = _check_tensor(W_o, "W_o", 2)
        if W_o.shape[1] != W_v.shape[0]:
            raise ValueError(f"`W_o` must have shape (d_out, {W_v.shape[0]}), got {tuple(W_o.shape)}")
    dev = u.device
    for name, W in (("W_q", W_q), ("W_k", W_k), ("W_v", W_v), ("W_o", W_o)):
        if W is not None and (W.device != dev or W.dtype != u.dtype):
            raise ValueError(
                f"`{name}` must have the dtype and device of `u` ({u.dtype}, {dev}), got ({W.dtype}, {W.device})"
            )
    return u, W_q, W_k, W_v, W_o


def _scale(scale: Any, d_k: int) -> float:
    return 1.0 / math.sqrt(d_k) if scale is None else _check_positive(scale, "scale")


@torch_core("u", "W_q", "W_k", "W_v", "W_o")
def attention_as_tvvar(
    u: torch.Tensor,
    W_q: torch.Tensor,
    W_k: torch.Tensor,
    W_v: torch.Tensor,
    W_o: torch.Tensor | None = None,
    *,
    scale: float | None = None,
) -> AttentionTVVAR:
    r"""Single-head causal attention computed as the TV-VAR of Theorem 5 (Eqs. 45-53).

    Builds :math:`\mathbf B = c\,\mathbf W_q^T\mathbf W_k` (Eq. 51, with the scale
    :math:`c` absorbed) and :math:`\mathbf A = \mathbf W_o\mathbf W_v` (or
    :math:`\mathbf W_v`), then

    .. math::

        \pi_{ij} = \frac{\exp(\mathbf u_i^T\mathbf B\mathbf u_j)}{\sum_{l\le i}\exp(\mathbf u_i^T\mathbf B\mathbf u_l)},
        \qquad \mathbf y_i = \sum_{j\le i}\pi_{ij}\,\mathbf A\,\mathbf u_j ,

    i.e. Eq. (47) and the sum inside Eq. (46) with the query position
    :math:`i = t-1`. Nothing here calls torch's attention: compare with
    :func:`attention_reference`.

    Parameters
    ----------
    u : torch.Tensor, shape (B, T, d) or (T, d)
        Input vectors of the head (rows).
    W_q, W_k : torch.Tensor, shape (d_k, d)
    W_v : torch.Tensor, shape (d_v, d)
        Paper convention :math:`\mathbf q = \mathbf W_q\mathbf u`; identical to
        ``torch.nn.Linear(d, d_k, bias=False).weight``.
    W_o : torch.Tensor, shape (d_out, d_v), optional
        Output projection; ``None`` gives :math:`\mathbf A = \mathbf W_v` as in the paper.
    scale : float, optional
        Multiplies the scores; default :math:`1/\sqrt{d_k}` as in
        ``scaled_dot_product_attention``. ``scale=1`` is Eq. (50) as printed.

    Returns
    -------
    AttentionTVVAR
        ``pi``, ``outputs``, ``A``, ``B``, ``scores`` (batch axis kept if ``u`` had one).
    """
    u, W_q, W_k, W_v, W_o = _check_head(u, W_q, W_k, W_v, W_o)
    c = _scale(scale, W_q.shape[0])
    squeeze = u.ndim == 2
    if squeeze:
        u = u[None]
    T = u.shape[1]
    B = c * W_q.T @ W_k  # Eq. (51), scale absorbed
    A = W_v if W_o is None else W_o @ W_v  # Eq. (45)
    scores = torch.einsum("bid,de,bje->bij", u, B, u)  # Eq. (53)
    causal = torch.ones(T, T, dtype=torch.bool, device=u.device).tril()
    scores = scores.masked_fill(~causal, float("-inf"))
    pi = torch.softmax(scores, dim=-1)  # Eq. (47)
    outputs = torch.einsum("bij,od,bjd->bio", pi, A, u)  # Eq. (46): sum_j pi_ij A u_j
    if squeeze:
        pi, outputs, scores = pi[0], outputs[0], scores[0]
    return AttentionTVVAR(pi=pi, outputs=outputs, A=A, B=B, scores=scores)


@torch_core("u", "W_q", "W_k", "W_v", "W_o")
def attention_reference(
    u: torch.Tensor,
    W_q: torch.Tensor,
    W_k: torch.Tensor,
    W_v: torch.Tensor,
    W_o: torch.Tensor | None = None,
    *,
    scale: float | None = None,
) -> torch.Tensor:
    r"""The same head through ``torch.nn.functional.scaled_dot_product_attention(is_causal=True)``.

    Queries, keys and values are formed as in Eq. (48), ``q = u @ W_q.T`` etc.;
    the result is ``(B, T, d_out)`` (or ``(T, d_out)``), to be compared with
    :attr:`AttentionTVVAR.outputs`.
    """
    u, W_q, W_k, W_v, W_o = _check_head(u, W_q, W_k, W_v, W_o)
    c = _scale(scale, W_q.shape[0])
    squeeze = u.ndim == 2
    if squeeze:
        u = u[None]
    q, k, v = u @ W_q.T, u @ W_k.T, u @ W_v.T  # Eq. (48)
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True, scale=c)
    if W_o is not None:
        y = y @ W_o.T
    return y[0] if squeeze else y


@torch_core("A")
def toeplitz_defect(A: Any, relative: bool = False) -> Any:
    r"""How far TV-VAR coefficients are from depending on the lag alone (Definition 13).

    A linear time-invariant map has coefficients :math:`\mathbf A_{tj} = \mathbf A_{t-j}`
    (a block-Toeplitz matrix); a general TV-VAR (Definition 13, Eq. 44 of the paper) does not.
    The defect is the largest deviation of a block from the block at the same lag in the
    first column,

    .. math::

        \max_{0 \le \ell < T}\ \max_{\ell \le t < T}\ \bigl\lVert \mathbf A_{t, t-\ell}
        - \mathbf A_{\ell, 0}\bigr\rVert_{\max},

    zero exactly for a block-Toeplitz lower triangle. Book: chapter *Other architectures*
    (``05_autoregressive/other_architectures``), on Mamba-style state-space layers.

    Parameters
    ----------
    A : array-like or torch.Tensor, shape (T, T, d_out, d_in) or (B, T, T, d_out, d_in)
        Coefficients :math:`\mathbf A_{tj}` of one sequence (or a batch), as returned by
        :func:`semlib.ssm.unroll_to_tvvar` or :meth:`semlib.ssm.SelectiveSSM.tvvar_coefficients`; only the lower
        triangle :math:`j \le t` is read.
    relative : bool
        Divide by the largest absolute entry of ``A`` (of each batch member).

    Returns
    -------
    float or 0-d tensor (one sequence), array of shape (B,) (a batch); the backend of ``A``

    Raises
    ------
    TypeError
        If ``A`` is not a real floating array.
    ValueError
        If ``A`` has the wrong number of dimensions, non-square time axes, non-finite entries,
        or (with ``relative``) is all zero.

    Examples
    --------
    >>> import numpy as np
    >>> A = np.zeros((3, 3, 1, 1)); A[1, 0] = A[2, 1] = 0.5
    >>> toeplitz_defect(A)
    0.0
    >>> A[2, 1] = 0.7
    >>> round(toeplitz_defect(A), 12)
    0.2
    """
    A = _check_tensor(A, "A", (4, 5))
    single = A.ndim == 4
    if single:
        A = A.unsqueeze(0)
    T = A.shape[1]
    if A.shape[2] != T:
        raise ValueError(f"`A` must have two equal time axes (..., T, T, d_out, d_in), got shape {tuple(A.shape)}")
    t = torch.arange(T, device=A.device)
    lag = (t[:, None] - t[None, :]).clamp(min=0)  # lag t - j of each block (upper triangle unused)
    first = A[:, lag, 0]  # the block A[lag, 0] at the same lag, (B, T, T, d_out, d_in)
    lower = (t[:, None] >= t[None, :]).to(A.dtype)[None, :, :, None, None]
    out = ((A - first).abs() * lower).amax(dim=(1, 2, 3, 4))
    if relative:
        scale = A.abs().amax(dim=(1, 2, 3, 4))
        if bool((scale == 0).any()):
            raise ValueError("`A` must have a nonzero entry when `relative=True`")
        out = out / scale
    return out[0] if single else out


@torch_core("coef")
def rank_one_defect(coef: Any) -> Any:
    r"""How far the coefficients of each query are from one matrix times weights (Theorem 5).

    Theorem 5 writes one attention head as a TV-VAR with :math:`\mathbf A_{tj} = \pi_{tj}\mathbf A`:
    for each query :math:`t` the blocks :math:`\mathbf A_{t0}, \dots, \mathbf A_{tt}`, flattened
    and stacked as the rows of a :math:`(t+1)\times d_{\rm out}d_{\rm in}` matrix, have rank one.
    The defect of query :math:`t \ge 1` is the ratio :math:`\sigma_2/\sigma_1` of that matrix's
    two largest singular values: zero (to rounding) for one head, positive for several heads or
    a sublayer with LayerNorm and residual. Book: chapter *The Transformer as a TV-VAR*
    (``05_autoregressive/transformer``).

    Parameters
    ----------
    coef : array-like or torch.Tensor, shape (T, T, d_out, d_in) or (B, T, T, d_out, d_in)
        TV-VAR coefficients :math:`\mathbf A_{tj}` (lower triangle read), T >= 2, for example
        from :func:`attention_coefficients` or :func:`multihead_coefficients`.

    Returns
    -------
    array of shape (T - 1,) (or (B, T - 1)): the defects of queries t = 1..T-1, the backend of ``coef``

    Raises
    ------
    TypeError
        If ``coef`` is not a real floating array.
    ValueError
        If ``coef`` has the wrong shape or non-finite entries, or a query's blocks are all zero.

    Examples
    --------
    >>> import numpy as np
    >>> pi = np.tril(np.ones((3, 3))) / np.arange(1, 4)[:, None]
    >>> coef = pi[:, :, None, None] * np.arange(4.0).reshape(2, 2)      # pi_tj A
    >>> bool(rank_one_defect(coef).max() < 1e-12)
    True
    """
    coef = _check_tensor(coef, "coef", (4, 5))
    single = coef.ndim == 4
    if single:
        coef = coef.unsqueeze(0)
    T = coef.shape[1]
    if coef.shape[2] != T or T < 2:
        raise ValueError(
            f"`coef` must have two equal time axes T >= 2 (..., T, T, d_out, d_in), got {tuple(coef.shape)}"
        )
    out = []
    for t in range(1, T):
        sv = torch.linalg.svdvals(coef[:, t, : t + 1].reshape(coef.shape[0], t + 1, -1))
        if bool((sv[:, 0] == 0).any()):
            raise ValueError(f"`coef` has a query ({t}) whose blocks are all zero")
        out.append(sv[:, 1] / sv[:, 0])
    res = torch.stack(out, dim=1)
    return res[0] if single else res


@torch_core("B")
def antisymmetry(B: Any) -> Any:
    r"""The relative size of the antisymmetric part of a square matrix (Eq. 53).

    .. math::

        \alpha(\mathbf B) = \frac{\lVert(\mathbf B - \mathbf B^T)/2\rVert_F}{\lVert\mathbf B\rVert_F}
        \in [0, 1]:

    0 for a symmetric matrix, 1 for an antisymmetric one, about :math:`1/\sqrt2` for independent
    entries. Eq. (53) of the paper claims :math:`\mathbf B = \mathbf W_q^T\mathbf W_k/\sqrt{d_k}
    \ne \mathbf B^T`; :math:`\alpha` measures by how much. Book: chapter *The Transformer as a
    TV-VAR* (``05_autoregressive/transformer``).

    Parameters
    ----------
    B : array-like or torch.Tensor, shape (n, n) or (batch, n, n)

    Returns
    -------
    float or 0-d tensor (one matrix), array of shape (batch,); the backend of ``B``

    Raises
    ------
    TypeError
        If ``B`` is not a real floating array.
    ValueError
        If ``B`` is not square, has non-finite entries or is zero.

    Examples
    --------
    >>> antisymmetry([[1.0, 2.0], [2.0, 1.0]]), antisymmetry([[0.0, 1.0], [-1.0, 0.0]])
    (0.0, 1.0)
    """
    B = _check_tensor(B, "B", (2, 3))
    if B.shape[-1] != B.shape[-2]:
        raise ValueError(f"`B` must be square, got shape {tuple(B.shape)}")
    norm = torch.linalg.matrix_norm(B)
    if bool((norm == 0).any()):
        raise ValueError("`B` must not be zero")
    return torch.linalg.matrix_norm(B - B.transpose(-1, -2)) / 2 / norm


def _check_scores_mean(scores: Any, mean: Any) -> tuple[Any, float]:
    import numpy as np

    s = np.asarray(scores, dtype=np.float64)
    if s.ndim != 1 or s.size < 2:
        raise ValueError(f"`scores` must be one-dimensional with at least 2 entries, got shape {s.shape}")
    if not np.isfinite(s).all():
        raise ValueError("`scores` must be finite")
    if isinstance(mean, bool) or not isinstance(mean, (int, float)) and not (hasattr(mean, "ndim") and mean.ndim == 0):
        raise TypeError(f"`mean` must be a real number, got {type(mean).__name__}")
    m = float(mean)
    if not s.min() < m < s.max():
        raise ValueError(f"`mean` must lie strictly between the smallest and largest score, got {m}")
    return s, m


@numpy_core("scores")
def max_entropy_pmf(scores: Any, mean: float) -> Any:
    r"""The pmf of largest entropy with a given mean score, found by constrained optimisation.

    .. math::

        \pi^\star = \arg\max_{\pi}\ -\sum_j \pi_j\log\pi_j \quad\text{s.t.}\quad
        \sum_j\pi_j = 1,\ \sum_j\pi_j s_j = m ,

    solved numerically (SLSQP from the uniform pmf, entries bounded below by :math:`10^{-15}`),
    without using the answer Jaynes' principle predicts, :math:`\pi_j\propto e^{\lambda s_j}`
    (Eq. 47 of the paper, with :math:`\lambda` from :func:`gibbs_inverse_temperature`). The
    problem is strictly concave, so its local maximum is the global one; SLSQP meets the
    constraints to about :math:`10^{-8}`. Book: chapter *The Transformer as a TV-VAR*
    (``05_autoregressive/transformer``).

    Parameters
    ----------
    scores : array-like or torch.Tensor, shape (n,), n >= 2
        The scores :math:`s_j` (for attention, :math:`\mathbf u_t^T\mathbf B\mathbf u_j`).
    mean : float
        The constraint :math:`m`, strictly between the smallest and largest score.

    Returns
    -------
    array of shape (n,), the backend of ``scores``

    Raises
    ------
    TypeError
        If ``mean`` is not a real number.
    ValueError
        If ``scores`` is not a finite vector of length >= 2, or ``mean`` is not strictly inside
        the range of the scores.

    Examples
    --------
    >>> p = max_entropy_pmf([0.0, 1.0, 2.0], 1.0)      # the plain mean: uniform
    >>> bool(abs(p - 1 / 3).max() < 1e-6)
    True
    """
    import numpy as np
    from scipy import optimize

    s, m = _check_scores_mean(scores, mean)
    n = s.size
    cons = [
        {"type": "eq", "fun": lambda p: p.sum() - 1, "jac": lambda p: np.ones(n)},
        {"type": "eq", "fun": lambda p: p @ s - m, "jac": lambda p: s},
    ]
    res = optimize.minimize(
        lambda p: np.sum(p * np.log(p)),
        np.full(n, 1 / n),
        jac=lambda p: np.log(p) + 1,
        constraints=cons,
        method="SLSQP",
        bounds=[(1e-15, 1)] * n,
        options={"ftol": 1e-16, "maxiter": 1000},
    )
    return res.x


@numpy_core("scores")
def gibbs_inverse_temperature(scores: Any, mean: float) -> float:
    r"""The :math:`\lambda` whose softmax :math:`\pi_j \propto e^{\lambda s_j}` has mean score ``mean``.

    Solves :math:`\sum_j \mathrm{softmax}(\lambda s)_j\, s_j = m` by Brent's method on
    :math:`[-200, 200]` (the mean is increasing in :math:`\lambda`): Jaynes' maximum-entropy
    pmf under that constraint (Eq. 47 of the paper), to compare with :func:`max_entropy_pmf`.
    Book: chapter *The Transformer as a TV-VAR* (``05_autoregressive/transformer``).

    Parameters
    ----------
    scores : array-like or torch.Tensor, shape (n,), n >= 2
    mean : float
        Strictly between the smallest and largest score.

    Returns
    -------
    float (a 0-d tensor for torch ``scores``)

    Raises
    ------
    TypeError
        If ``mean`` is not a real number.
    ValueError
        If ``scores`` is not a finite vector of length >= 2, ``mean`` is out of range, or no
        :math:`\lambda` in [-200, 200] reaches it.

    Examples
    --------
    >>> gibbs_inverse_temperature([0.0, 1.0, 2.0], 1.0)
    0.0
    """
    from scipy import optimize, special

    s, m = _check_scores_mean(scores, mean)
    gap = lambda lam: special.softmax(lam * s) @ s - m
    if gap(-200.0) * gap(200.0) > 0:
        raise ValueError(f"no inverse temperature in [-200, 200] gives the mean score {m}")
    if gap(0.0) == 0:
        return 0.0
    return float(optimize.brentq(gap, -200, 200, xtol=1e-14))


@torch_core("pi", "A")
def attention_coefficients(pi: torch.Tensor, A: torch.Tensor) -> torch.Tensor:
    r"""The coefficient matrices :math:`\mathbf A_{ij} = \pi_{ij}\mathbf A` of Eqs. (45), (52).

    Parameters
    ----------
    pi : torch.Tensor, shape (B, T, T) or (T, T)
    A : torch.Tensor, shape (d_out, d)

    Returns
    -------
    torch.Tensor, shape (B, T, T, d_out, d) or (T, T, d_out, d)
        Feed to :func:`tvvar_outputs` with ``include_current=True``.
    """
    pi = _check_tensor(pi, "pi", (2, 3))
    A = _check_tensor(A, "A", 2)
    if pi.shape[-1] != pi.shape[-2]:
        raise ValueError(f"`pi` must be square in its last two axes, got {tuple(pi.shape)}")
    return pi[..., None, None] * A


@torch_core("pis", "As")
def multihead_coefficients(
    pis: list[torch.Tensor] | tuple[torch.Tensor, ...],
    As: list[torch.Tensor] | tuple[torch.Tensor, ...],
    *,
    residual: bool = False,
) -> torch.Tensor:
    r"""TV-VAR coefficients of a multi-head layer: :math:`\mathbf A_{ij}=\sum_h\pi^h_{ij}\mathbf A_h\;(+\delta_{ij}\mathbf I)`.

    The sum over heads (and, with ``residual``, the identity on the diagonal from
    a residual connection) is still of the form of Eq. (44), but no longer of the
    form :math:`\pi_{ij}\mathbf A` of Eq. (45) unless all heads agree.

    Returns
    -------
    torch.Tensor, shape (B, T, T, d_out, d)
    """
    if len(pis) != len(As) or len(pis) == 0:
        raise ValueError("`pis` and `As` must be non-empty and of the same length (one per head)")
    coef = attention_coefficients(pis[0], As[0])
    for p, a in zip(pis[1:], As[1:]):
        coef = coef + attention_coefficients(p, a)
    if residual:
        d_out, d = coef.shape[-2:]
        if d_out != d:
            raise ValueError("a residual connection needs square coefficient matrices")
        T = coef.shape[-3]
        eye = torch.eye(T, dtype=coef.dtype, device=coef.device)[..., None, None] * torch.eye(
            d, dtype=coef.dtype, device=coef.device
        )
        coef = coef + eye
    return coef


# --------------------------------------------------------------------------- a tiny GPT
class _Block(torch.nn.Module):
    """Pre-norm Transformer block; ``causal=False`` gives the bidirectional block of a diffusion LM."""

    def __init__(self, d: int, n_heads: int, mlp_ratio: int, causal: bool = True):
        super().__init__()
        self.causal = causal
        self.n_heads, self.d_head = n_heads, d // n_heads
        self.ln1 = torch.nn.LayerNorm(d)
        self.q = torch.nn.Linear(d, d, bias=False)
        self.k = torch.nn.Linear(d, d, bias=False)
        self.v = torch.nn.Linear(d, d, bias=False)
        self.o = torch.nn.Linear(d, d, bias=False)
        self.ln2 = torch.nn.LayerNorm(d)
        self.mlp = torch.nn.Sequential(
            torch.nn.Linear(d, mlp_ratio * d), torch.nn.GELU(), torch.nn.Linear(mlp_ratio * d, d)
        )

    def attention(self, h: torch.Tensor) -> torch.Tensor:
        Bsz, T, d = h.shape
        split = lambda x: x.view(Bsz, T, self.n_heads, self.d_head).transpose(1, 2)
        y = F.scaled_dot_product_attention(split(self.q(h)), split(self.k(h)), split(self.v(h)), is_causal=self.causal)
        return self.o(y.transpose(1, 2).reshape(Bsz, T, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class TinyGPT(torch.nn.Module):
    r"""A small decoder-only Transformer: token + position embeddings, pre-norm blocks, tied read-out.

    Each block is ``x + attn(LN(x))`` then ``x + MLP(LN(x))``; attention is
    multi-head, causal, without biases (so that a head is exactly the
    :math:`(\mathbf W_q,\mathbf W_k,\mathbf W_v,\mathbf W_o)` of Theorem 5). The
    read-out is tied to the token embedding, so the logits are
    :math:`\tilde{\mathbf u}_{1:N}^T\,\mathrm{LN}(\mathbf x_t)` as in Eq. (46).

    Parameters
    ----------
    vocab : int
    T : int
        Maximum context length.
    d_model : int, default 32
    n_heads : int, default 2
    n_layers : int, default 2
    mlp_ratio : int, default 4
    seed : int, None or torch.Generator, default 0
        Random state of the initial weights (see CONTRIBUTING.md, glossary).
    dtype : torch.dtype, default float64

    Methods
    -------
    head_weights(layer, head)
        ``(W_q, W_k, W_v, W_o)`` of one head in the paper's convention.
    trace(ids)
        Residual stream and per-layer inputs, for dissecting a block.
    """

    def __init__(
        self,
        vocab: int,
        T: int,
        *,
        d_model: int = 32,
        n_heads: int = 2,
        n_layers: int = 2,
        mlp_ratio: int = 4,
        seed: int | torch.Generator | None = 0,
        dtype: torch.dtype = torch.float64,
    ):
        super().__init__()
        self.vocab = _check_int(vocab, "vocab", 2)
        self.T = _check_int(T, "T", 1)
        d_model = _check_int(d_model, "d_model", 1)
        self.n_heads = _check_int(n_heads, "n_heads", 1)
        self.n_layers = _check_int(n_layers, "n_layers", 1)
        mlp_ratio = _check_int(mlp_ratio, "mlp_ratio", 1)
        if d_model % n_heads:
            raise ValueError(f"`d_model` = {d_model} must be a multiple of `n_heads` = {n_heads}")
        self.d_model = d_model
        seed = int_seed(seed)
        # seed a private copy of the global CPU generator: the same weights as torch.manual_seed(seed),
        # without resetting the caller's random stream
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(seed)
            self.tok = torch.nn.Embedding(vocab, d_model)
            self.pos = torch.nn.Embedding(T, d_model)
            torch.nn.init.normal_(self.tok.weight, std=0.5)
            torch.nn.init.normal_(self.pos.weight, std=0.5)
            self.blocks = torch.nn.ModuleList([_Block(d_model, n_heads, mlp_ratio) for _ in range(n_layers)])
            self.ln_f = torch.nn.LayerNorm(d_model)
        self.to(dtype)

    def _check_ids(self, ids: Any) -> torch.Tensor:
        if not isinstance(ids, torch.Tensor) or ids.dtype != torch.long or ids.ndim != 2:
            raise TypeError("`ids` must be a (B, T) tensor of token ids (torch.long)")
        if ids.shape[1] > self.T or ids.shape[1] < 1:
            raise ValueError(f"`ids` must have 1..T = {self.T} positions, got {ids.shape[1]}")
        if ids.min() < 0 or ids.max() >= self.vocab:
            raise ValueError(f"`ids` must lie in 0..{self.vocab - 1}")
        return ids

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        """Input vectors :math:`\\mathbf u_t` = token + position embedding: (B, T, d)."""
        ids = self._check_ids(ids)
        return self.tok(ids) + self.pos(torch.arange(ids.shape[1], device=ids.device))

    def trace(self, ids: torch.Tensor) -> list[torch.Tensor]:
        """Residual stream before each block and after the last: ``n_layers + 1`` tensors (B, T, d)."""
        xs = [self.embed(ids)]
        for blk in self.blocks:
            xs.append(blk(xs[-1]))
        return xs

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Next-token logits after each prefix: (B, T, vocab)."""
        x = self.trace(ids)[-1]
        return self.ln_f(x) @ self.tok.weight.T

    def head_weights(self, layer: int, head: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        r"""``(W_q, W_k, W_v, W_o)`` of one head, shapes (d_h, d), (d_h, d), (d_h, d), (d, d_h).

        Rows ``head*d_h:(head+1)*d_h`` of the stacked projections and the
        matching columns of the output projection; :math:`\mathbf A = \mathbf W_o\mathbf W_v`.
        """
        layer = _check_int(layer, "layer", 0)
        head = _check_int(head, "head", 0)
        if layer >= self.n_layers or head >= self.n_heads:
            raise ValueError(f"`layer` must be < {self.n_layers} and `head` < {self.n_heads}")
        blk, dh = self.blocks[layer], self.d_model // self.n_heads
        assert isinstance(blk, _Block)  # ModuleList items are plain Modules to the checker
        rows = slice(head * dh, (head + 1) * dh)
        return (
            blk.q.weight[rows].detach(),
            blk.k.weight[rows].detach(),
            blk.v.weight[rows].detach(),
            blk.o.weight[:, rows].detach(),
        )

    def num_params(self) -> int:
        """Number of trainable parameters (the tied read-out counted once)."""
        return sum(p.numel() for p in self.parameters())


# --------------------------------------------------------------------------- data of known law, training
def copy_task(
    n: int, T: int, vocab: int, *, seed: int | torch.Generator | None = 0, device: Any = None
) -> tuple[torch.Tensor, float]:
    r"""Sequences whose second half copies the first: ``n`` rows of ``T`` (even) token ids.

    The first ``T/2`` tokens are i.i.d. uniform on ``vocab``; token ``T/2 + i``
    repeats token ``i``. The law is known, so the best achievable cross-entropy
    of next-token prediction over positions ``1..T-1`` is

    .. math:: \frac{(T/2 - 1)\log V}{T - 1}\ \text{nats per token},

    returned as the second value.
    """
    n = _check_int(n, "n", 1)
    T = _check_int(T, "T", 2)
    vocab = _check_int(vocab, "vocab", 2)
    if T % 2:
        raise ValueError(f"`T` must be even, got {T}")
    g = torch_generator(seed)
    half = torch.randint(0, vocab, (n, T // 2), generator=g)
    ids = torch.cat([half, half], dim=1)
    floor = (T // 2 - 1) * math.log(vocab) / (T - 1)
    return ids.to(device), floor


@torch_core("P")
def markov_tokens(
    P: torch.Tensor, n: int, T: int, *, seed: int | torch.Generator | None = 0
) -> tuple[torch.Tensor, float]:
    r"""``n`` stationary Markov chains of length ``T`` with transition matrix ``P``; and the entropy rate.

    Returns token ids (n, T) and :math:`H = -\sum_a\mu_a\sum_b P_{ab}\log P_{ab}`
    (nats), the best cross-entropy any model can reach on positions ``1..T-1``.
    """
    P = _check_tensor(P, "P", 2)
    if P.shape[0] != P.shape[1] or (P < 0).any() or (P.sum(1) - 1).abs().max() > 1e-9:
        raise ValueError("`P` must be a square row-stochastic matrix")
    n = _check_int(n, "n", 1)
    T = _check_int(T, "T", 1)
    P = P.double().cpu()
    evals, evecs = torch.linalg.eig(P.T)
    mu = evecs[:, torch.argmin((evals - 1).abs())].real
    mu = mu / mu.sum()
    g = torch_generator(seed)
    x = torch.multinomial(mu.expand(n, -1), 1, generator=g)[:, 0]
    out = [x]
    for _ in range(T - 1):
        x = torch.multinomial(P[x], 1, generator=g)[:, 0]
        out.append(x)
    H = float(-(mu[:, None] * torch.special.xlogy(P, P)).sum())
    return torch.stack(out, 1), H


def _stationary(P: torch.Tensor) -> torch.Tensor:
    evals, evecs = torch.linalg.eig(P.T)
    mu = evecs[:, torch.argmin((evals - 1).abs())].real
    return mu / mu.sum()


def _markov_args(ids: Any, P: Any) -> tuple[torch.Tensor, torch.Tensor]:
    P = _check_tensor(P, "P", 2)
    if P.shape[0] != P.shape[1] or (P < 0).any() or (P.sum(1) - 1).abs().max() > 1e-9:
        raise ValueError("`P` must be a square row-stochastic matrix")
    if not isinstance(ids, torch.Tensor) or ids.dtype != torch.long or ids.ndim != 2 or ids.shape[1] < 2:
        raise TypeError("`ids` must be an (n, T) tensor of token ids (torch.long) with T >= 2")
    if ids.min() < 0 or ids.max() >= P.shape[0]:
        raise ValueError(f"`ids` must lie in 0..{P.shape[0] - 1}")
    return ids.cpu(), P.double().cpu()


def markov_nll(ids: torch.Tensor, P: torch.Tensor) -> float:
    r"""Per-token negative log-likelihood of sequences under the stationary Markov chain ``P``.

    .. math::

        \frac1{nT}\sum_{i=1}^{n}\Bigl[-\log\mu_{x_{i1}} - \sum_{t=2}^{T}\log P_{x_{i,t-1}x_{it}}\Bigr],

    with :math:`\mu` the stationary law of ``P`` (the law of :func:`markov_tokens`). On samples
    of the chain itself it estimates the joint entropy per token,
    :math:`(H(\mu) + (T-1)H)/T`; on a model's samples it scores their quality under the true
    law. Torch-only (token ids). Book: chapter *Other architectures*
    (``05_autoregressive/other_architectures``).

    Parameters
    ----------
    ids : torch.Tensor of int64, shape (n, T), T >= 2
    P : torch.Tensor, shape (V, V)
        Row-stochastic transition matrix.

    Returns
    -------
    float
        Nats per token.

    Raises
    ------
    TypeError
        If ``ids`` is not an (n, T) long tensor or ``P`` not a floating tensor.
    ValueError
        If ``P`` is not row-stochastic or an id is out of range.

    Examples
    --------
    >>> P = torch.tensor([[0.5, 0.5], [0.5, 0.5]], dtype=torch.float64)
    >>> round(markov_nll(torch.tensor([[0, 1, 1]]), P), 6) == round(math.log(2), 6)
    True
    """
    ids, P = _markov_args(ids, P)
    logP, logmu = P.log(), _stationary(P).log()
    T = ids.shape[1]
    return ((-logmu[ids[:, 0]] - logP[ids[:, :-1], ids[:, 1:]].sum(1)) / T).mean().item()


def bigram_tv(ids: torch.Tensor, P: torch.Tensor) -> float:
    r"""Total-variation distance between the empirical bigram law of ``ids`` and :math:`\mu_aP_{ab}`.

    .. math::

        \tfrac12\sum_{a,b}\bigl|\hat p(a, b) - \mu_a P_{ab}\bigr| ,

    :math:`\hat p` the frequency of the pair :math:`(x_{t-1}, x_t) = (a, b)` over all sequences and
    positions, :math:`\mu` the stationary law of ``P``. Zero only if a sampler reproduces the
    chain's pair statistics; a finite sample of the chain itself has a small positive value.
    Torch-only (token ids). Book: chapter *Other architectures*
    (``05_autoregressive/other_architectures``).

    Parameters
    ----------
    ids : torch.Tensor of int64, shape (n, T), T >= 2
    P : torch.Tensor, shape (V, V)
        Row-stochastic transition matrix.

    Returns
    -------
    float in [0, 1]

    Raises
    ------
    TypeError, ValueError
        As :func:`markov_nll`.

    Examples
    --------
    >>> P = torch.tensor([[0.0, 1.0], [1.0, 0.0]], dtype=torch.float64)
    >>> bigram_tv(torch.tensor([[0, 1, 0, 1, 0]]), P)
    0.0
    """
    ids, P = _markov_args(ids, P)
    V = P.shape[0]
    counts = torch.zeros(V, V, dtype=torch.float64)
    pairs = (ids[:, :-1].reshape(-1), ids[:, 1:].reshape(-1))
    counts.index_put_(pairs, torch.ones(ids[:, 1:].numel(), dtype=torch.float64), accumulate=True)
    return 0.5 * (counts / counts.sum() - _stationary(P)[:, None] * P).abs().sum().item()


@torch.no_grad()
def sample_autoregressive(model: Any, first: torch.Tensor, n: int, T: int, *, seed: Any = 0) -> torch.Tensor:
    r"""Draw ``n`` sequences of length ``T`` from a next-token model, token by token.

    The first token comes from the pmf ``first``; then :math:`x_{t+1}\sim\mathrm{softmax}`
    of the model's last logits after the prefix :math:`x_{1:t}` (Eq. 44 of the paper read as a
    sampler). ``model(ids)`` must map (n, t) token ids to (n, t, V) logits, as
    :class:`TinyGPT` does. Torch-only; draws on the CPU from ``seed`` (an int, ``None`` or a
    CPU ``torch.Generator``), so a run is reproducible on any device. Book: chapter *Other
    architectures* (``05_autoregressive/other_architectures``).

    Parameters
    ----------
    model : callable
        Token ids (n, t) on the model's device -> logits (n, t, V).
    first : torch.Tensor, shape (V,)
        The pmf of the first token.
    n, T : int >= 1
        Number and length of the sequences.
    seed : int, None or torch.Generator

    Returns
    -------
    torch.Tensor of int64, shape (n, T), on the device of ``model``'s parameters (CPU if none)

    Raises
    ------
    TypeError, ValueError
        If ``first`` is not a pmf tensor, or ``n``, ``T`` are not positive ints.
    """
    require_torch(first, "first")
    if first.ndim != 1 or (first < 0).any() or abs(float(first.sum()) - 1) > 1e-6:
        raise ValueError("`first` must be a pmf vector")
    n = _check_int(n, "n", 1)
    T = _check_int(T, "T", 1)
    params = list(model.parameters()) if isinstance(model, torch.nn.Module) else []
    device = params[0].device if params else torch.device("cpu")
    g = torch_generator(seed)
    ids = torch.multinomial(first.float().cpu().expand(n, -1), 1, generator=g).to(device)
    for _ in range(T - 1):
        p = model(ids)[:, -1].softmax(-1).cpu()
        ids = torch.cat([ids, torch.multinomial(p, 1, generator=g).to(device)], 1)
    return ids


def forward_flops(model: torch.nn.Module, length: int) -> int:
    r"""Floating-point operations of one forward pass of a token model on one sequence.

    Counts with ``torch.utils.flop_counter.FlopCounterMode`` (a multiply-add is 2 FLOPs), with
    attention routed through the math backend of scaled-dot-product attention so that its
    matrix products are counted; the input is ``length`` zeros (token id 0) on the model's
    device. For a Transformer of :math:`L` layers, width :math:`d` and vocabulary :math:`V` this
    is :math:`L(24td^2 + 4t^2d) + 2tdV` at :math:`t` = ``length``. Torch-only. Book: chapter
    *Other architectures* (``05_autoregressive/other_architectures``).

    Parameters
    ----------
    model : torch.nn.Module
        Maps token ids (1, t) to logits.
    length : int >= 1

    Returns
    -------
    int

    Raises
    ------
    TypeError
        If ``model`` is not a ``torch.nn.Module``.
    ValueError
        If ``length`` is not a positive int.
    """
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"`model` must be a torch.nn.Module, got {type(model).__name__}")
    length = _check_int(length, "length", 1)
    params = list(model.parameters())
    device = params[0].device if params else torch.device("cpu")
    fc = FlopCounterMode(display=False)
    with sdpa_kernel(SDPBackend.MATH), fc, torch.no_grad():
        model(torch.zeros(1, length, dtype=torch.long, device=device))
    return int(fc.get_total_flops())


def train_gpt(
    model: TinyGPT,
    ids: torch.Tensor,
    *,
    steps: int = 300,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int | torch.Generator | None = 0,
    progress: bool = True,
    after_step: Callable[[int], None] | None = None,
) -> list[float]:
    """Train ``model`` by next-token cross-entropy (nats per token) on rows of ``ids``; returns the loss per step.

    Adam with seeded minibatches and a tqdm progress bar; the loss at position
    ``t`` is :math:`-\\log Q(x_{t+1}\\mid x_{1:t})`, averaged over ``t = 0..T-2``.
    ``after_step(step)``, if given, is called after each optimiser step
    (``step = 1..steps``), e.g. to evaluate checkpoints
    (:func:`semlib.capstone.train_with_checkpoints`).
    """
    if not isinstance(model, TinyGPT):
        raise TypeError(f"`model` must be a TinyGPT, got {type(model).__name__}")
    ids = model._check_ids(ids)
    if ids.shape[1] < 2:
        raise ValueError("`ids` needs at least 2 positions to have a next token")
    steps = _check_int(steps, "steps", 1)
    batch_size = _check_int(batch_size, "batch_size", 1)
    lr = _check_positive(lr, "lr")
    dev = next(model.parameters()).device
    ids = ids.to(dev)
    g = torch_generator(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for step in tqdm(range(1, steps + 1), disable=not progress, desc="TinyGPT", leave=False):
        idx = torch.randint(0, ids.shape[0], (min(batch_size, ids.shape[0]),), generator=g).to(dev)
        x = ids[idx]
        logits = model(x[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, model.vocab), x[:, 1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
        if after_step is not None:
            after_step(step)
    model.eval()
    return losses
