r"""Variational lower bounds on mutual information, and Gaussian closed forms to test them against.

Two families live here.

**Critic-based lower bounds** (§IV-D of the paper, Eq. 43, and chapter 5). A
*critic* assigns a score :math:`T(x, c)` to a pair; the bounds hold for every
critic and are tight for the log density ratio :math:`\log p(x\mid c)/p(x)` (up
to a constant for InfoNCE and Donsker–Varadhan):

* InfoNCE / CPC (van den Oord et al. 2018, the paper's [48]): for a batch of K
  pairs, each context scored against its own sample and the K − 1 others,

  .. math::

      \mathcal L_{\mathrm{InfoNCE}} = -\,\mathbb E\Bigl[\log
      \frac{e^{T(x_i, c_i)}}{\sum_{j=1}^{K} e^{T(x_j, c_i)}}\Bigr],
      \qquad I(X; C) \ge \log K - \mathcal L_{\mathrm{InfoNCE}}.

  The bound can never exceed :math:`\log K`: each summand of the loss is
  non-negative.
* NWJ (Nguyen, Wainwright and Jordan 2010):
  :math:`I \ge \mathbb E_{P}[T] - e^{-1}\,\mathbb E_{P_X \otimes P_C}[e^{T}]`.
* Donsker–Varadhan, used by MINE (Belghazi et al. 2018):
  :math:`I \ge \mathbb E_{P}[T] - \log \mathbb E_{P_X \otimes P_C}[e^{T}]`.

**Jointly Gaussian vectors.** With one covariance matrix for all variables,
entropies are log-determinants and every (conditional, directed) mutual
information is a signed sum of them, exactly as :mod:`semlib.directed` builds
directed information from marginals of one pmf. :func:`gaussian_linear_encoder_optimum`
solves the encoder problem of Eq. 40 for linear m-dimensional encoders
(partial canonical correlation analysis), and
:func:`optimal_backward_directed_information` chains it over t as in Eq. 41.

Units: nats unless ``base=2``. Backends: numpy in, numpy out (float64); torch in,
torch out on the same device, differentiable where the formula is.

Paper: §IV-D, Eqs. 40–43. Book: chapter *Optimal semantic embedding*
(``04_token_semantics/optimal_embedding``); the critic bounds are reused in chapter 5.

References
----------
.. [1] A. van den Oord, Y. Li and O. Vinyals, "Representation learning with
   contrastive predictive coding", arXiv:1807.03748 (2018) (paper's [48]).
.. [2] B. Poole, S. Ozair, A. van den Oord, A. Alemi and G. Tucker, "On
   variational bounds of mutual information", ICML 2019.
.. [3] X. Nguyen, M. J. Wainwright and M. I. Jordan, "Estimating divergence
   functionals and the likelihood ratio by convex risk minimization", IEEE
   Trans. Inf. Theory 56 (2010) 5847–5861.
.. [4] M. I. Belghazi et al., "Mutual information neural estimation", ICML 2018.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Callable, Sequence

import numpy as np

from . import _backend as B
from .granger import autocovariance
from .info import _scale

__all__ = [
    "infonce_loss",
    "infonce_bound",
    "infonce_from_critic",
    "BilinearCritic",
    "nwj_bound",
    "dv_bound",
    "joint_and_marginal_scores",
    "gaussian_entropy",
    "gaussian_mutual_information",
    "gaussian_directed_information",
    "gaussian_backward_directed_information_terms",
    "gaussian_backward_directed_information",
    "append_linear",
    "var_covariance",
    "arma11_covariance",
    "gaussian_linear_encoder_optimum",
    "optimal_backward_directed_information",
    "MineObjective",
    "MineHistory",
    "train_mine",
    "DineCritic",
    "DineHistory",
    "train_dine",
    "dine_estimate",
    "simulate_gaussian_sequences",
    "gaussian_directed_information_rate_terms",
]

_LOG_2PI_E = math.log(2.0 * math.pi * math.e)


# --- helpers --------------------------------------------------------------------------------------


def _torch():
    import torch

    return torch


def _as_tensor(x: Any, name: str) -> tuple[Any, bool]:
    """Return (float tensor, was_numpy)."""
    torch = _torch()
    if B.is_torch(x):
        if not (x.is_floating_point()):
            raise TypeError(f"`{name}` must be a floating tensor, got dtype {x.dtype}")
        return x, False
    arr = B.as_float_array(x, name)
    return torch.as_tensor(arr, dtype=torch.float64), True


def _out(value: Any, was_numpy: bool) -> Any:
    if was_numpy:
        v = value.detach().cpu().numpy()
        return np.float64(v) if v.ndim == 0 else v
    return value


def _check_finite(x: Any, name: str) -> None:
    if not B.all_finite(x):
        raise ValueError(f"`{name}` must have finite entries (found NaN or inf)")


def _check_scores(scores: Any) -> tuple[Any, bool]:
    s, was_numpy = _as_tensor(scores, "scores")
    if s.ndim < 2 or s.shape[-1] != s.shape[-2]:
        raise ValueError(
            f"`scores` must have shape (..., K, K) with the positive pairs on the diagonal, got {tuple(s.shape)}"
        )
    if s.shape[-1] < 2:
        raise ValueError(f"`scores` needs K >= 2 (at least one negative per row), got K = {s.shape[-1]}")
    _check_finite(s, "scores")
    return s, was_numpy


# --- InfoNCE --------------------------------------------------------------------------------------


def infonce_loss(scores: Any) -> Any:
    r"""InfoNCE loss of a score matrix (paper, Eq. 43 via CPC [48]).

    .. math::

        \mathcal L = \frac1K \sum_{i=1}^{K}\Bigl[-s_{ii} + \log \sum_{j=1}^{K} e^{s_{ij}}\Bigr],

    where row i holds the scores :math:`s_{ij} = T(x_j, c_i)` of context
    :math:`c_i` against every sample in the batch: its own sample
    :math:`x_i` (the positive, on the diagonal) and the K − 1 others (the
    negatives, drawn from the marginal because the pairs are independent).

    Parameters
    ----------
    scores : array-like or torch.Tensor, shape (..., K, K)
        Log critic values; leading axes index independent batches and are
        averaged over. K >= 2.

    Returns
    -------
    float (numpy float64) or 0-d torch.Tensor
        The loss in nats; always in :math:`[0, \infty)`.

    Raises
    ------
    ValueError
        If ``scores`` is not square in its last two axes, K < 2, or has
        non-finite entries.
    TypeError
        If ``scores`` is not numeric.

    Examples
    --------
    A critic that ignores its inputs scores every pair alike; the loss is then
    exactly :math:`\log K` and the bound is 0:

    >>> float(infonce_loss(np.zeros((8, 8)))) == float(np.log(8))
    True
    """
    s, was_numpy = _check_scores(scores)
    return _out(_infonce_loss(s), was_numpy)


def _infonce_loss(s: Any) -> Any:
    torch = _torch()
    diag = torch.diagonal(s, dim1=-2, dim2=-1)
    return (torch.logsumexp(s, dim=-1) - diag).mean()


def infonce_bound(scores: Any, base: float | None = None) -> Any:
    r"""The InfoNCE lower bound :math:`\log K - \mathcal L_{\mathrm{InfoNCE}} \le I(X; C)`.

    It is also at most :math:`\log K` (the loss is non-negative), so with K
    samples no critic can certify more than :math:`\log K` nats.

    Parameters
    ----------
    scores : array-like or torch.Tensor, shape (..., K, K)
        As in :func:`infonce_loss`.
    base : float, optional
        ``None`` for nats, ``2`` for bits.

    Returns
    -------
    float (numpy float64) or 0-d torch.Tensor

    Examples
    --------
    A perfect critic on K = 4 distinct pairs reaches the ceiling log 4:

    >>> round(float(infonce_bound(100 * np.eye(4), base=2)), 6)
    2.0
    """
    s, was_numpy = _check_scores(scores)
    value = math.log(s.shape[-1]) - _infonce_loss(s)
    return _scale(_out(value, was_numpy), base)


def infonce_from_critic(critic: Callable[[Any, Any], Any], x: Any, c: Any, base: float | None = None) -> Any:
    r"""InfoNCE bound of a critic on a batch of K pairs :math:`(x_i, c_i)`.

    The score matrix is :math:`s_{ij} = T(x_j, c_i)`. If ``critic`` has a
    ``scores(x, c)`` method (as :class:`BilinearCritic` does) it is used;
    otherwise ``critic`` is called once on all K² pairs, broadcast as
    ``critic(x[None, :, :], c[:, None, :])``, and must return shape (K, K).

    Parameters
    ----------
    critic : callable or torch.nn.Module
        :math:`T(x, c)`, the log of the CPC critic :math:`f(x, c)`.
    x, c : torch.Tensor, shapes (K, d_x) and (K, d_c)
        Paired samples, row i of ``x`` belongs to row i of ``c``.
    base : float, optional
        ``None`` for nats, ``2`` for bits.

    Returns
    -------
    0-d torch.Tensor
        :math:`\log K - \mathcal L_{\mathrm{InfoNCE}}`; maximise it (or
        minimise :func:`infonce_loss`) to train critic and encoder.
    """
    if not callable(critic):
        raise TypeError(f"`critic` must be callable, got {type(critic).__name__}")
    torch = _torch()
    if not (isinstance(x, torch.Tensor) and isinstance(c, torch.Tensor)):
        raise TypeError("`x` and `c` must be torch tensors")
    if x.ndim != 2 or c.ndim != 2:
        raise ValueError(f"`x` and `c` must be 2-d (K, d), got shapes {tuple(x.shape)} and {tuple(c.shape)}")
    if x.shape[0] != c.shape[0]:
        raise ValueError(f"`x` and `c` must hold the same number K of pairs, got {x.shape[0]} and {c.shape[0]}")
    if hasattr(critic, "scores"):
        s = critic.scores(x, c)
    else:
        s = critic(x[None, :, :], c[:, None, :])
    K = x.shape[0]
    if tuple(s.shape) != (K, K):
        raise ValueError(f"the critic must give a ({K}, {K}) score matrix, got {tuple(s.shape)}")
    return infonce_bound(s, base=base)


def _make_bilinear():
    torch = _torch()

    class BilinearCritic(torch.nn.Module):
        r"""The CPC critic :math:`f(x, c) = \exp(x^\top W c)`, scored in logs.

        Parameters
        ----------
        dim_x, dim_c : int
            Dimensions of the sample (in CPC, the latent :math:`z_{t+k}`) and the
            context (:math:`c_t`, the paper's :math:`S_t`).
        dtype, device : optional
            Passed to the weight.

        Notes
        -----
        ``forward(x, c)`` scores paired rows, shape (..., ); ``scores(x, c)``
        gives the (K, K) matrix :math:`s_{ij} = x_j^\top W c_i` for
        :func:`infonce_loss`. For jointly Gaussian (x, c) with zero means the log
        density ratio is a quadratic form, so a bilinear critic is optimal only
        up to the terms in :math:`x^\top x` and :math:`c^\top c`; InfoNCE is
        blind to terms in c alone, and those in x alone are small when x is
        nearly independent of c.
        """

        def __init__(self, dim_x: int, dim_c: int, dtype: Any = None, device: Any = None) -> None:
            for name, v in (("dim_x", dim_x), ("dim_c", dim_c)):
                if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                    raise ValueError(f"`{name}` must be a positive int, got {v!r}")
            super().__init__()
            self.W = torch.nn.Parameter(torch.zeros(int(dim_x), int(dim_c), dtype=dtype, device=device))

        def forward(self, x: Any, c: Any) -> Any:
            return ((x @ self.W) * c).sum(-1)

        def scores(self, x: Any, c: Any) -> Any:
            return c @ self.W.T @ x.T

    BilinearCritic.__module__ = __name__
    return BilinearCritic


# --- NWJ and Donsker–Varadhan ---------------------------------------------------------------------


def _check_joint_marginal(joint: Any, marginal: Any) -> tuple[Any, Any, bool]:
    j, was_numpy = _as_tensor(joint, "joint")
    m, _ = _as_tensor(marginal, "marginal")
    if B.is_torch(joint) != B.is_torch(marginal):
        raise TypeError("`joint` and `marginal` must both be numpy or both be torch")
    if j.numel() == 0 or m.numel() == 0:
        raise ValueError("`joint` and `marginal` must be non-empty")
    _check_finite(j, "joint")
    _check_finite(m, "marginal")
    return j, m.to(j.dtype), was_numpy


def nwj_bound(joint: Any, marginal: Any, base: float | None = None) -> Any:
    r"""NWJ lower bound :math:`\mathbb E_P[T] - e^{-1}\mathbb E_{P_X\otimes P_C}[e^{T}] \le I(X; C)`.

    Tight at :math:`T = 1 + \log p(x, c)/(p(x)p(c))`. Unbiased in its sample
    means, but the exponential makes it high-variance for large I.

    Parameters
    ----------
    joint : array-like or torch.Tensor
        Critic scores on pairs drawn from the joint law (any shape; averaged).
    marginal : array-like or torch.Tensor
        Critic scores on pairs drawn from the product of the marginals
        (e.g. shuffled pairs, or the off-diagonal of a score matrix, see
        :func:`joint_and_marginal_scores`).
    base : float, optional
        ``None`` for nats, ``2`` for bits.

    Returns
    -------
    float (numpy float64) or 0-d torch.Tensor
    """
    j, m, was_numpy = _check_joint_marginal(joint, marginal)
    value = j.mean() - math.exp(-1.0) * m.exp().mean()
    return _scale(_out(value, was_numpy), base)


def dv_bound(joint: Any, marginal: Any, base: float | None = None) -> Any:
    r"""Donsker–Varadhan (MINE) lower bound :math:`\mathbb E_P[T] - \log\mathbb E_{P_X\otimes P_C}[e^{T}]`.

    Tight at the log density ratio plus any constant. With sample means in
    place of expectations it is biased (the log of a mean), which MINE corrects
    with a moving average in the gradient.

    Parameters
    ----------
    joint, marginal : array-like or torch.Tensor
        As in :func:`nwj_bound`.
    base : float, optional
        ``None`` for nats, ``2`` for bits.

    Returns
    -------
    float (numpy float64) or 0-d torch.Tensor
    """
    j, m, was_numpy = _check_joint_marginal(joint, marginal)
    torch = _torch()
    value = j.mean() - (torch.logsumexp(m.reshape(-1), dim=0) - math.log(m.numel()))
    return _scale(_out(value, was_numpy), base)


def joint_and_marginal_scores(scores: Any) -> tuple[Any, Any]:
    r"""Split a (K, K) score matrix into its diagonal (joint) and off-diagonal (marginal) entries.

    Parameters
    ----------
    scores : array-like or torch.Tensor, shape (K, K)

    Returns
    -------
    (joint, marginal) : arrays of shapes (K,) and (K (K − 1),)
    """
    s, was_numpy = _check_scores(scores)
    if s.ndim != 2:
        raise ValueError(f"`scores` must be one (K, K) matrix here, got shape {tuple(s.shape)}")
    torch = _torch()
    K = s.shape[0]
    off = ~torch.eye(K, dtype=torch.bool, device=s.device)
    joint, marg = torch.diagonal(s), s[off]
    if was_numpy:
        return joint.numpy(), marg.numpy()
    return joint, marg


# --- Gaussian closed forms ------------------------------------------------------------------------


def _check_cov(cov: Any) -> Any:
    C = B.as_float_array(cov, "cov")
    if C.ndim != 2 or C.shape[0] != C.shape[1] or C.shape[0] < 1:
        raise ValueError(f"`cov` must be a square matrix, got shape {tuple(C.shape)}")
    _check_finite(C, "cov")
    Cd = C.detach() if B.is_torch(C) else C
    asym = float(abs(Cd - Cd.T).max())
    scale = max(1.0, float(abs(Cd).max()))
    if asym > 1e-8 * scale:
        raise ValueError(f"`cov` must be symmetric, but |cov - cov.T| reaches {asym:.3g}")
    return C


def _index(idx: Any, dim: int, name: str, allow_empty: bool = False) -> tuple[int, ...]:
    if isinstance(idx, (numbers.Integral,)) and not isinstance(idx, bool):
        idx = (int(idx),)
    try:
        items = tuple(idx)
    except TypeError:
        raise TypeError(f"`{name}` must be an int or a sequence of ints, got {type(idx).__name__}") from None
    out = []
    for i in items:
        if isinstance(i, bool) or not isinstance(i, (numbers.Integral, np.integer)):
            raise TypeError(f"`{name}` must contain ints (indices into `cov`), got {i!r}")
        if not -dim <= int(i) < dim:
            raise ValueError(f"`{name}` names index {i}, but `cov` has only {dim} rows")
        out.append(int(i) % dim)
    if len(set(out)) != len(out):
        raise ValueError(f"`{name}` repeats an index: {items}")
    if not out and not allow_empty:
        raise ValueError(f"`{name}` must name at least one index")
    return tuple(out)


def _logdet_sub(C: Any, idx: Sequence[int]) -> Any:
    """log det of the principal submatrix on ``idx`` (0 for an empty set), via Cholesky."""
    if len(idx) == 0:
        return 0.0
    if B.is_torch(C):
        torch = _torch()
        sel = torch.as_tensor(list(idx), device=C.device)
        S = C[sel][:, sel]
        L, info = torch.linalg.cholesky_ex(S)
        if bool(info != 0):
            raise ValueError(f"the covariance of the variables {list(idx)} is singular or not positive definite")
        return 2.0 * torch.log(torch.diagonal(L)).sum()
    S = C[np.ix_(list(idx), list(idx))]
    try:
        L = np.linalg.cholesky(S)
    except np.linalg.LinAlgError:
        raise ValueError(
            f"the covariance of the variables {list(idx)} is singular or not positive definite"
        ) from None
    return 2.0 * np.log(np.diag(L)).sum()


def gaussian_entropy(cov: Any, idx: Any = None, base: float | None = None) -> Any:
    r"""Differential entropy :math:`h = \tfrac12\log\bigl((2\pi e)^d \det\Sigma\bigr)` of a Gaussian vector.

    Parameters
    ----------
    cov : array-like or torch.Tensor, shape (D, D)
        Covariance of all variables.
    idx : int or sequence of int, optional
        Which variables (default: all).
    base : float, optional
        ``None`` for nats, ``2`` for bits.

    Examples
    --------
    >>> bool(np.isclose(gaussian_entropy([[1.0]]), 0.5 * np.log(2 * np.pi * np.e)))
    True
    """
    C = _check_cov(cov)
    ix = tuple(range(C.shape[0])) if idx is None else _index(idx, C.shape[0], "idx")
    h = 0.5 * (len(ix) * _LOG_2PI_E + _logdet_sub(C, ix))
    return _scale(h if B.is_torch(h) else np.float64(h), base)


def gaussian_mutual_information(cov: Any, a: Any, b: Any, given: Any = (), base: float | None = None) -> Any:
    r"""(Conditional) mutual information of jointly Gaussian vectors from log-determinants.

    .. math::

        I(A; B \mid C) = \tfrac12\bigl[\log\det\Sigma_{AC} + \log\det\Sigma_{BC}
        - \log\det\Sigma_{ABC} - \log\det\Sigma_{C}\bigr],

    with :math:`\Sigma_{AC}` the covariance of :math:`(A, C)` and so on.

    Parameters
    ----------
    cov : array-like or torch.Tensor, shape (D, D)
        Covariance matrix of all variables (means play no role).
    a, b : int or sequence of int
        Indices of A and B (disjoint, non-empty).
    given : int or sequence of int, optional
        Indices of C (default: none).
    base : float, optional
        ``None`` for nats, ``2`` for bits.

    Returns
    -------
    float (numpy float64) or 0-d torch.Tensor
        Differentiable in ``cov`` for torch input.

    Raises
    ------
    ValueError
        If an index set is invalid or overlaps another, or a covariance needed is
        singular (e.g. B is a deterministic function of A: the information is
        then infinite).

    Examples
    --------
    Correlation ρ gives :math:`-\tfrac12\log(1-\rho^2)`:

    >>> rho = 0.8
    >>> bool(np.isclose(gaussian_mutual_information([[1, rho], [rho, 1]], 0, 1), -0.5 * np.log(1 - rho**2)))
    True
    """
    C = _check_cov(cov)
    D = C.shape[0]
    A = _index(a, D, "a")
    Bb = _index(b, D, "b")
    G = _index(given, D, "given", allow_empty=True)
    for n1, s1, n2, s2 in (("a", A, "b", Bb), ("a", A, "given", G), ("b", Bb, "given", G)):
        common = set(s1) & set(s2)
        if common:
            raise ValueError(f"`{n1}` and `{n2}` share the indices {sorted(common)}; they must be disjoint")
    value = 0.5 * (_logdet_sub(C, A + G) + _logdet_sub(C, Bb + G) - _logdet_sub(C, A + Bb + G) - _logdet_sub(C, G))
    if not B.is_torch(value):
        value = np.float64(value)
    return _scale(value, base)


def _blocks(blocks: Any, D: int, name: str) -> list[tuple[int, ...]]:
    try:
        items = list(blocks)
    except TypeError:
        raise TypeError(f"`{name}` must be a sequence of index blocks, one per time step") from None
    if not items:
        raise ValueError(f"`{name}` must have at least one block")
    return [_index(bl, D, f"{name}[{t}]") for t, bl in enumerate(items)]


def _flat(blocks: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
    return tuple(i for bl in blocks for i in bl)


def _seq(cov: Any, x_blocks: Any, y_blocks: Any) -> tuple[Any, list, list]:
    C = _check_cov(cov)
    x = _blocks(x_blocks, C.shape[0], "x_blocks")
    y = _blocks(y_blocks, C.shape[0], "y_blocks")
    if len(x) != len(y):
        raise ValueError(f"`x_blocks` and `y_blocks` must have the same length n, got {len(x)} and {len(y)}")
    common = set(_flat(x)) & set(_flat(y))
    if common or len(set(_flat(x))) != len(_flat(x)) or len(set(_flat(y))) != len(_flat(y)):
        raise ValueError("the blocks of `x_blocks` and `y_blocks` must not share or repeat indices")
    return C, x, y


def _stack(values: list[Any], like: Any) -> Any:
    if B.is_torch(like):
        torch = _torch()
        return torch.stack([v if B.is_torch(v) else torch.zeros((), dtype=like.dtype, device=like.device)
                            for v in values])
    return np.array([float(v) for v in values], dtype=np.float64)


def gaussian_directed_information(cov: Any, x_blocks: Any, y_blocks: Any, base: float | None = None) -> Any:
    r"""Directed information :math:`\sum_t I(X_{1:t}; Y_t \mid Y_{1:t-1})` of jointly Gaussian sequences.

    The Gaussian counterpart of :func:`semlib.directed.directed_information`
    (paper, Definition 2, Eq. 2).

    Parameters
    ----------
    cov : array-like or torch.Tensor, shape (D, D)
    x_blocks, y_blocks : sequence of (int or sequence of int), equal length n
        Indices into ``cov`` of :math:`X_t` and :math:`Y_t`, t = 1..n (each may be a vector).
    base : float, optional

    Returns
    -------
    float (numpy float64) or 0-d torch.Tensor
    """
    C, x, y = _seq(cov, x_blocks, y_blocks)
    terms = [gaussian_mutual_information(C, _flat(x[:t]), y[t - 1], _flat(y[: t - 1])) for t in range(1, len(x) + 1)]
    total = _stack(terms, C).sum()
    return _scale(total if B.is_torch(total) else np.float64(total), base)


def gaussian_backward_directed_information_terms(
    cov: Any, x_blocks: Any, y_blocks: Any, base: float | None = None
) -> Any:
    r"""The n summands :math:`I(X_{t+1:n}; Y_t \mid Y_{1:t-1})` of Eq. 41 for Gaussian sequences.

    The last summand is 0 (empty future). Counterpart of
    :func:`semlib.directed.backward_directed_information_terms`.

    Parameters
    ----------
    cov : array-like or torch.Tensor, shape (D, D)
    x_blocks, y_blocks : sequence of (int or sequence of int), equal length n
    base : float, optional

    Returns
    -------
    numpy.ndarray of shape (n,) or torch.Tensor
    """
    C, x, y = _seq(cov, x_blocks, y_blocks)
    n = len(x)
    terms = []
    for t in range(1, n + 1):
        if t == n:
            terms.append(0.0)
        else:
            terms.append(gaussian_mutual_information(C, _flat(x[t:]), y[t - 1], _flat(y[: t - 1])))
    return _scale(_stack(terms, C), base)


def gaussian_backward_directed_information(cov: Any, x_blocks: Any, y_blocks: Any, base: float | None = None) -> Any:
    r"""Backward directed information :math:`I(X_{n:1} \to Y_{1:n})` of Gaussian sequences (paper, Eqs. 3, 41).

    .. math::

        I(X_{n:1} \to Y_{1:n}) = \sum_{t=1}^{n} I(X_{t+1:n}; Y_t \mid Y_{1:t-1}).

    With :math:`Y_t = S_t = W_t X_{1:t}` (see :func:`append_linear`) this is the
    objective of the optimal embedding, Eq. 41.

    Parameters
    ----------
    cov : array-like or torch.Tensor, shape (D, D)
    x_blocks, y_blocks : sequence of (int or sequence of int), equal length n
    base : float, optional

    Returns
    -------
    float (numpy float64) or 0-d torch.Tensor

    Examples
    --------
    An AR(1) with coefficient a and the identity encoder :math:`S_t = X_t`,
    n = 2: only :math:`I(X_2; S_1) = -\tfrac12\log(1-a^2)` remains.

    >>> a = 0.6
    >>> cov = append_linear(var_covariance([[[a]]], [[1.0]], 2), np.eye(2))   # (X1, X2, S1, S2)
    >>> bool(np.isclose(gaussian_backward_directed_information(cov, [0, 1], [2, 3]), -0.5 * np.log(1 - a**2)))
    True
    """
    terms = gaussian_backward_directed_information_terms(cov, x_blocks, y_blocks)
    total = terms.sum()
    return _scale(total if B.is_torch(total) else np.float64(total), base)


def append_linear(cov: Any, M: Any) -> Any:
    r"""Covariance of :math:`(X, MX)` from the covariance of X.

    .. math::

        \operatorname{Cov}\begin{pmatrix} X \\ MX \end{pmatrix} =
        \begin{pmatrix} \Sigma & \Sigma M^\top \\ M\Sigma & M\Sigma M^\top \end{pmatrix}.

    Parameters
    ----------
    cov : array-like or torch.Tensor, shape (D, D)
    M : array-like or torch.Tensor, shape (r, D)
        A linear encoder; for torch inputs the result is differentiable in M.

    Returns
    -------
    array of shape (D + r, D + r), the backend of ``cov``
    """
    C = _check_cov(cov)
    Mm = B.as_float_array(M, "M")
    if B.is_torch(C) != B.is_torch(Mm):
        raise TypeError("`cov` and `M` must both be numpy or both be torch")
    if Mm.ndim != 2 or Mm.shape[1] != C.shape[0]:
        raise ValueError(f"`M` must have shape (r, {C.shape[0]}), got {tuple(Mm.shape)}")
    _check_finite(Mm, "M")
    CM = C @ Mm.T
    MCM = Mm @ CM
    MCM = 0.5 * (MCM + MCM.T)
    if B.is_torch(C):
        torch = _torch()
        Mm = Mm.to(C.dtype)
        return torch.cat([torch.cat([C, CM], 1), torch.cat([CM.T, MCM], 1)], 0)
    return np.block([[C, CM], [CM.T, MCM]])


def var_covariance(A: Any, Sigma: Any, n: int) -> np.ndarray:
    r"""Covariance of :math:`(X_1, \dots, X_n)` of a stationary Gaussian VAR(p), time-major.

    Block (s, t) is :math:`\mathbb E[X_s X_t^\top] = \Gamma_{s-t}`, with the
    autocovariances from :func:`semlib.granger.autocovariance` and
    :math:`\Gamma_{-k} = \Gamma_k^\top`.

    Parameters
    ----------
    A : array-like, shape (p, d, d)
        Lag matrices (``A[k-1]`` multiplies :math:`X_{t-k}`).
    Sigma : array-like, shape (d, d)
        Innovation covariance.
    n : int
        Number of time steps.

    Returns
    -------
    numpy.ndarray, shape (n d, n d)
        Rows ``t d : (t+1) d`` belong to :math:`X_{t+1}`.

    Examples
    --------
    AR(1) with coefficient a: :math:`\operatorname{Cov}(X_s, X_t) = a^{|s-t|}/(1-a^2)`.

    >>> C = var_covariance([[[0.5]]], [[1.0]], 3)
    >>> bool(np.allclose(C[0], [4 / 3, 2 / 3, 1 / 3]))
    True
    """
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"`n` must be a positive int, got {n!r}")
    G = autocovariance(A, Sigma, int(n) - 1)
    d = G.shape[1]
    C = np.empty((n * d, n * d))
    for s in range(n):
        for t in range(n):
            blk = G[s - t] if s >= t else G[t - s].T
            C[s * d : (s + 1) * d, t * d : (t + 1) * d] = blk
    return 0.5 * (C + C.T)


def arma11_covariance(a: float, theta: float, n: int, sigma2: float = 1.0) -> np.ndarray:
    r"""Covariance of :math:`(X_1, \dots, X_n)` of a stationary Gaussian ARMA(1, 1) process.

    .. math::

        X_t = a X_{t-1} + e_t + \theta e_{t-1}, \qquad e_t \sim \mathcal N(0, \sigma^2)\ \text{i.i.d.},

    with autocovariances :math:`\gamma_0 = \sigma^2 (1 + 2a\theta + \theta^2)/(1-a^2)`,
    :math:`\gamma_1 = \sigma^2 (1 + a\theta)(a + \theta)/(1-a^2)` and
    :math:`\gamma_k = a\,\gamma_{k-1}` for k >= 2. ``theta = 0`` is an AR(1)
    (a Markov chain), ``a = 0`` an MA(1) (whose far future is independent of
    the past but not of the near future).

    Parameters
    ----------
    a : float
        AR coefficient, ``|a| < 1`` (stationarity).
    theta : float
        MA coefficient.
    n : int
        Number of time steps.
    sigma2 : float, default 1
        Innovation variance, > 0.

    Returns
    -------
    numpy.ndarray, shape (n, n)
        Toeplitz matrix :math:`\gamma_{|s-t|}`.

    Examples
    --------
    >>> bool(np.allclose(arma11_covariance(0.5, 0.0, 3), var_covariance([[[0.5]]], [[1.0]], 3)))
    True
    """
    for name, v in (("a", a), ("theta", theta), ("sigma2", sigma2)):
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not math.isfinite(float(v)):
            raise TypeError(f"`{name}` must be a finite real number, got {v!r}")
    if not abs(a) < 1:
        raise ValueError(f"`a` must satisfy |a| < 1 for stationarity, got {a}")
    if not sigma2 > 0:
        raise ValueError(f"`sigma2` must be positive, got {sigma2}")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"`n` must be a positive int, got {n!r}")
    a, theta = float(a), float(theta)
    g = np.empty(int(n))
    g[0] = (1 + 2 * a * theta + theta**2) / (1 - a**2)
    if n > 1:
        g[1] = (1 + a * theta) * (a + theta) / (1 - a**2)
    for k in range(2, int(n)):
        g[k] = a * g[k - 1]
    i = np.arange(int(n))
    return float(sigma2) * g[np.abs(i[:, None] - i[None, :])]


def _psd_pinv_sqrt(S: np.ndarray, rtol: float = 1e-10) -> tuple[np.ndarray, int]:
    w, V = np.linalg.eigh(0.5 * (S + S.T))
    keep = w > rtol * max(float(w.max()), 1e-300)
    inv_sqrt = np.zeros_like(w)
    inv_sqrt[keep] = 1.0 / np.sqrt(w[keep])
    return (V * inv_sqrt) @ V.T, int(keep.sum())


def gaussian_linear_encoder_optimum(
    cov: Any, source: Any, target: Any, m: int, given: Any = None, base: float | None = None
) -> tuple[Any, Any, Any]:
    r"""Best m-dimensional linear encoder of a source for a target, given side information.

    Solves

    .. math::

        \max_{W \in \mathbb R^{m \times |P|}} I(F; W P \mid G) =
        -\tfrac12 \sum_{i=1}^{m} \log\bigl(1 - \rho_i^2\bigr),

    where P (``source``) and F (``target``) are jointly Gaussian, G is given as
    linear functions of the variables of ``cov``, and
    :math:`\rho_1 \ge \rho_2 \ge \dots` are the *partial canonical
    correlations* of P and F given G: the singular values of
    :math:`\Sigma_{PP\mid G}^{+1/2}\,\Sigma_{PF\mid G}\,\Sigma_{FF\mid G}^{-1/2}`
    (``+`` a pseudo-inverse, as G may be a function of P). With ``given=None``
    this is the classical result that the top-m canonical directions carry the
    most information (the Gaussian information bottleneck at zero
    compression cost). One step of Eq. 40 with :math:`S_t = W X_{1:t}`.

    Parameters
    ----------
    cov : array-like, shape (D, D)
        Covariance of all variables (numpy float64; torch is converted and the
        results returned as torch on the same device).
    source, target : int or sequence of int
        Indices of P and F (disjoint).
    m : int
        Encoder dimension, >= 1.
    given : array-like, shape (r, D), optional
        Rows are linear functions :math:`G = M X` to condition on.
    base : float, optional
        ``None`` for nats, ``2`` for bits.

    Returns
    -------
    (value, W, rho)
        ``value`` the maximum; ``W`` of shape (m, dim P), the optimal encoder acting
        on ``cov[source]`` (rows beyond the rank of the problem are zero);
        ``rho`` all partial canonical correlations, descending.
    """
    was_torch = B.is_torch(cov)
    device = cov.device if was_torch else None
    C = _check_cov(cov.detach().cpu().numpy() if was_torch else cov)
    D = C.shape[0]
    P = _index(source, D, "source")
    F = _index(target, D, "target")
    if set(P) & set(F):
        raise ValueError("`source` and `target` must be disjoint")
    if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 1:
        raise ValueError(f"`m` must be a positive int, got {m!r}")
    Rp = np.eye(D)[list(P)]
    Rf = np.eye(D)[list(F)]
    Spp, Sff, Spf = Rp @ C @ Rp.T, Rf @ C @ Rf.T, Rp @ C @ Rf.T
    if given is not None:
        M = np.asarray(given.detach().cpu().numpy() if B.is_torch(given) else given, dtype=np.float64)
        if M.ndim != 2 or M.shape[1] != D:
            raise ValueError(f"`given` must have shape (r, {D}), got {M.shape}")
        if M.shape[0] > 0:
            Sgg = M @ C @ M.T
            Sgg_pinv = np.linalg.pinv(0.5 * (Sgg + Sgg.T), rcond=1e-12, hermitian=True)
            Spg, Sfg = Rp @ C @ M.T, Rf @ C @ M.T
            Spp = Spp - Spg @ Sgg_pinv @ Spg.T
            Sff = Sff - Sfg @ Sgg_pinv @ Sfg.T
            Spf = Spf - Spg @ Sgg_pinv @ Sfg.T
    Spp_is, rank = _psd_pinv_sqrt(Spp)
    try:
        Lf = np.linalg.cholesky(0.5 * (Sff + Sff.T))
    except np.linalg.LinAlgError:
        raise ValueError("the target is (numerically) determined by the side information: infinite information") from None
    K = Spp_is @ Spf @ np.linalg.inv(Lf).T
    U, rho, _ = np.linalg.svd(K)
    rho = np.clip(rho, 0.0, 1.0)
    if rho.size and rho[0] >= 1.0 - 1e-12:
        raise ValueError("the target is (numerically) a function of the source: infinite information")
    k = min(int(m), rho.size, rank)
    value = -0.5 * float(np.sum(np.log1p(-rho[:k] ** 2)))
    W = np.zeros((int(m), len(P)))
    W[:k] = U[:, :k].T @ Spp_is
    value = _scale(np.float64(value), base)
    if was_torch:
        torch = _torch()
        return (torch.tensor(value, device=device, dtype=torch.float64),
                torch.as_tensor(W, device=device), torch.as_tensor(rho, device=device))
    return value, W, rho


def optimal_backward_directed_information(
    cov: Any, x_blocks: Any, m: int, base: float | None = None
) -> tuple[Any, list[Any]]:
    r"""Eq. 41 for linear m-dimensional encoders: each :math:`S_t` solves Eq. 40 given the earlier ones.

    .. math::

        I^*(X_{n:1} \to S_{1:n}) = \sum_{t=1}^{n}
        \max_{S_t = W_t X_{1:t}} I(X_{t+1:n}; S_t \mid S_{1:t-1}),

    each maximum from :func:`gaussian_linear_encoder_optimum` with the encoders
    already chosen as side information (the sequential reading of Eq. 41).

    Parameters
    ----------
    cov : array-like, shape (D, D)
        Covariance of :math:`X_{1:n}` (e.g. :func:`var_covariance`).
    x_blocks : sequence of (int or sequence of int), length n
        Indices of :math:`X_t`.
    m : int
        Dimension of each :math:`S_t`.
    base : float, optional

    Returns
    -------
    (terms, encoders)
        ``terms`` shape (n,), the n maxima (the last is 0); ``encoders[t-1]`` of
        shape (m, D): :math:`S_t = ` ``encoders[t-1] @ X`` (zero outside
        :math:`X_{1:t}`).
    """
    C = _check_cov(cov.detach().cpu().numpy() if B.is_torch(cov) else cov)
    D = C.shape[0]
    x = _blocks(x_blocks, D, "x_blocks")
    n = len(x)
    terms, encoders = [], []
    given = np.zeros((0, D))
    for t in range(1, n + 1):
        past = _flat(x[:t])
        if t == n:
            terms.append(0.0)
            encoders.append(np.zeros((int(m), D)))
            continue
        value, W, _ = gaussian_linear_encoder_optimum(C, past, _flat(x[t:]), m, given=given)
        E = np.zeros((int(m), D))
        E[:, list(past)] = W
        terms.append(float(value))
        encoders.append(E)
        nonzero = np.abs(E).sum(axis=1) > 0
        given = np.vstack([given, E[nonzero]])
    return _scale(np.array(terms), base), encoders


# --- MINE: Donsker–Varadhan with the moving-average gradient correction ---------------------------


class MineObjective:
    r"""The MINE training loss: a Donsker–Varadhan surrogate whose gradient uses a moving average.

    The Donsker–Varadhan bound :math:`\mathrm{DV}(T) = \mathbb E_P[T] - \log \mathbb E_Q[e^{T}]`
    (P the joint law, Q the product of the marginals) has the gradient

    .. math::

        \nabla \mathrm{DV} = \mathbb E_P[\nabla T] - \frac{\mathbb E_Q[\nabla T\, e^{T}]}{\mathbb E_Q[e^{T}]}.

    With minibatch means in place of both expectations the ratio is a biased
    estimate of the second term, because the denominator is itself a batch
    mean. MINE (Belghazi et al. 2018, §3.2; the paper's [67]) replaces the
    denominator by an exponential moving average over the batches,
    :math:`m_k = (1-\alpha)\, m_{k-1} + \alpha\, \overline{e^{T}}_{\,k}`, and
    follows

    .. math::

        g_k = \overline{\nabla T}_{P} - \frac{\overline{\nabla T\, e^{T}}_{Q}}{m_k}.

    Calling the object returns the surrogate loss
    :math:`-\bigl(\overline{T}_P - \overline{e^{T}}_Q / \operatorname{sg}(m_k)\bigr)`
    (``sg`` = no gradient), whose gradient is exactly :math:`-g_k`. The plain
    DV value of the batch, for reporting, is kept in :attr:`last_dv`.

    Parameters
    ----------
    ema_rate : float, default 0.01
        :math:`\alpha \in (0, 1]`. ``ema_rate=1`` gives back the naive
        minibatch gradient of the DV bound.

    Attributes
    ----------
    log_ema : float or None
        :math:`\log m_k` after the last call (``None`` before the first; the
        first call initialises the average with its batch mean).
    last_dv : float or None
        The DV bound :math:`\overline{T}_P - \log \overline{e^{T}}_Q` of the last batch, nats.

    Notes
    -----
    The average is kept in the log domain, so scores of any size are safe.
    Paper: §V-F, Eq. 77 and [95]–[96]. Book: chapter *Semantic information
    measures for the Transformer* (``05_autoregressive/information_measures``).

    Examples
    --------
    >>> import torch
    >>> obj = MineObjective(ema_rate=0.5)
    >>> loss = obj(torch.zeros(4), torch.zeros(6))   # a constant critic: DV = 0
    >>> round(obj.last_dv, 12), round(float(loss), 12)
    (0.0, 1.0)
    """

    def __init__(self, ema_rate: float = 0.01) -> None:
        if isinstance(ema_rate, bool) or not isinstance(ema_rate, numbers.Real):
            raise TypeError(f"`ema_rate` must be a real number, got {ema_rate!r}")
        if not 0.0 < float(ema_rate) <= 1.0:
            raise ValueError(f"`ema_rate` must lie in (0, 1], got {ema_rate}")
        self.ema_rate = float(ema_rate)
        self.log_ema: float | None = None
        self.last_dv: float | None = None

    def reset(self) -> None:
        """Forget the moving average (the next call starts a new one)."""
        self.log_ema = None
        self.last_dv = None

    def __call__(self, joint_scores: Any, marginal_scores: Any) -> Any:
        """Surrogate loss of one batch; see the class docstring.

        Parameters
        ----------
        joint_scores : torch.Tensor
            Critic values :math:`T` on pairs from the joint law (any shape).
        marginal_scores : torch.Tensor
            Critic values on pairs from the product of the marginals (any shape).

        Returns
        -------
        0-d torch.Tensor
            The loss to minimise.
        """
        torch = _torch()
        if not (isinstance(joint_scores, torch.Tensor) and isinstance(marginal_scores, torch.Tensor)):
            raise TypeError("`joint_scores` and `marginal_scores` must be torch tensors")
        j, m, _ = _check_joint_marginal(joint_scores, marginal_scores)
        log_mean_exp = torch.logsumexp(m.reshape(-1), dim=0) - math.log(m.numel())
        batch = float(log_mean_exp.detach())
        if self.log_ema is None:
            self.log_ema = batch
        else:
            a = self.ema_rate
            # log((1 - a) e^{log_ema} + a e^{batch}), stably
            hi = max(self.log_ema, batch)
            self.log_ema = hi + math.log((1 - a) * math.exp(self.log_ema - hi) + a * math.exp(batch - hi))
        self.last_dv = float(j.mean().detach()) - batch
        return -(j.mean() - torch.exp(log_mean_exp - self.log_ema))


def _as_history(values: list[float]) -> np.ndarray:
    return np.asarray(values, dtype=np.float64)


class MineHistory(dict):
    """Per-step record of :func:`train_mine`: keys ``"dv"`` (batch DV bound, nats) and ``"loss"``."""


def _check_steps(steps: Any, name: str = "steps") -> int:
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 1:
        raise ValueError(f"`{name}` must be a positive int, got {steps!r}")
    return int(steps)


def train_mine(
    critic: Any,
    sample_fn: Callable[[], tuple[Any, Any]],
    steps: int,
    lr: float = 1e-3,
    ema_rate: float | None = 0.01,
    optimizer: Any = None,
    generator: Any = None,
    progress: bool = True,
) -> MineHistory:
    r"""Train a critic :math:`T(x, y)` by MINE (or by the plain DV gradient) and record the bound.

    Each step draws a batch :math:`(x_i, y_i)_{i\le B}` from the joint law with
    ``sample_fn()``, forms marginal pairs :math:`(x_i, y_{\pi(i)})` with a random
    permutation :math:`\pi`, and takes one optimiser step on the MINE loss of
    :class:`MineObjective` (``ema_rate`` given) or on :math:`-\mathrm{DV}`
    (``ema_rate=None``: the naive, biased minibatch gradient).

    Parameters
    ----------
    critic : torch.nn.Module
        ``critic(x, y)`` returns one score per row, shape (B,).
    sample_fn : callable
        ``sample_fn()`` returns a batch ``(x, y)`` of joint samples, tensors with
        the same first dimension B >= 2.
    steps : int
        Number of optimiser steps.
    lr : float, default 1e-3
        Adam learning rate (ignored when ``optimizer`` is given).
    ema_rate : float or None, default 0.01
        Moving-average rate of :class:`MineObjective`; ``None`` trains on the
        plain DV bound.
    optimizer : torch.optim.Optimizer, optional
    generator : torch.Generator, optional
        Source of the permutations (for reproducibility).
    progress : bool, default True
        Show a tqdm progress bar.

    Returns
    -------
    MineHistory
        ``history["dv"]`` the DV bound on each training batch (a noisy
        estimate; evaluate on held-out data with :func:`dv_bound` for the
        number to report) and ``history["loss"]``.
    """
    torch = _torch()
    from tqdm.auto import tqdm

    if not isinstance(critic, torch.nn.Module):
        raise TypeError(f"`critic` must be a torch.nn.Module, got {type(critic).__name__}")
    if not callable(sample_fn):
        raise TypeError("`sample_fn` must be callable")
    steps = _check_steps(steps)
    if not (isinstance(lr, numbers.Real) and lr > 0):
        raise ValueError(f"`lr` must be a positive number, got {lr!r}")
    objective = None if ema_rate is None else MineObjective(ema_rate)
    opt = optimizer if optimizer is not None else torch.optim.Adam(critic.parameters(), lr=float(lr))
    dvs, losses = [], []
    for _ in tqdm(range(steps), disable=not progress, desc="MINE" if objective else "DV"):
        x, y = sample_fn()
        if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)) or x.shape[0] != y.shape[0] or x.shape[0] < 2:
            raise ValueError("`sample_fn()` must return two tensors with the same first dimension B >= 2")
        perm = torch.randperm(x.shape[0], generator=generator).to(y.device)
        joint, marg = critic(x, y), critic(x, y[perm])
        if objective is None:
            loss = -dv_bound(joint, marg)
            dv = -float(loss.detach())
        else:
            loss = objective(joint, marg)
            dv = objective.last_dv
        opt.zero_grad()
        loss.backward()
        opt.step()
        dvs.append(dv)
        losses.append(float(loss.detach()))
    return MineHistory(dv=_as_history(dvs), loss=_as_history(losses))


# --- DINE-style directed information estimation ---------------------------------------------------


_ENCODERS = ("gru", "attention", "window")


def _make_dine_classes():
    torch = _torch()
    nn = torch.nn

    class _CausalAttention(nn.Module):
        """Pre-norm causal self-attention blocks with learned positions (a tiny Transformer decoder)."""

        def __init__(self, d_in: int, hidden: int, heads: int, layers: int, max_len: int) -> None:
            super().__init__()
            self.embed = nn.Linear(d_in, hidden)
            self.pos = nn.Parameter(0.02 * torch.randn(max_len, hidden))
            self.blocks = nn.ModuleList()
            for _ in range(layers):
                self.blocks.append(nn.ModuleDict({
                    "ln1": nn.LayerNorm(hidden), "attn": nn.MultiheadAttention(hidden, heads, batch_first=True),
                    "ln2": nn.LayerNorm(hidden),
                    "mlp": nn.Sequential(nn.Linear(hidden, 2 * hidden), nn.GELU(), nn.Linear(2 * hidden, hidden)),
                }))
            self.max_len = max_len

        def forward(self, tokens: Any) -> Any:
            T = tokens.shape[1]
            if T > self.max_len:
                raise ValueError(f"sequences of length {T} exceed `max_len` = {self.max_len}")
            h = self.embed(tokens) + self.pos[:T]
            mask = torch.triu(torch.ones(T, T, dtype=torch.bool, device=tokens.device), diagonal=1)
            for blk in self.blocks:
                z = blk["ln1"](h)
                h = h + blk["attn"](z, z, z, attn_mask=mask, need_weights=False)[0]
                h = h + blk["mlp"](blk["ln2"](h))
            return h

    class _CausalWindow(nn.Module):
        """An MLP on the last ``window`` tokens (zero-padded): a causal convolution."""

        def __init__(self, d_in: int, hidden: int, window: int) -> None:
            super().__init__()
            self.window = window
            self.net = nn.Sequential(nn.Linear(d_in * window, hidden), nn.ELU(), nn.Linear(hidden, hidden))

        def forward(self, tokens: Any) -> Any:
            B, T, d = tokens.shape
            padded = torch.cat([tokens.new_zeros(B, self.window - 1, d), tokens], dim=1)
            win = padded.unfold(1, self.window, 1)            # (B, T, d, window)
            return self.net(win.transpose(-1, -2).reshape(B, T, self.window * d))

    class _GRU(nn.Module):
        def __init__(self, d_in: int, hidden: int) -> None:
            super().__init__()
            self.rnn = nn.GRU(d_in, hidden, batch_first=True)

        def forward(self, tokens: Any) -> Any:
            return self.rnn(tokens)[0]

    class _Branch(nn.Module):
        """History encoder + critic head :math:`T(y_t, h_t)`."""

        def __init__(self, d_tok: int, dim_y: int, encoder: str, hidden: int, heads: int, layers: int,
                     max_len: int, window: int) -> None:
            super().__init__()
            if encoder == "gru":
                self.encoder = _GRU(d_tok, hidden)
            elif encoder == "attention":
                self.encoder = _CausalAttention(d_tok, hidden, heads, layers, max_len)
            else:
                self.encoder = _CausalWindow(d_tok, hidden, window)
            self.head = nn.Sequential(nn.Linear(dim_y + hidden, hidden), nn.ELU(),
                                      nn.Linear(hidden, hidden), nn.ELU(), nn.Linear(hidden, 1))

        def forward(self, tokens: Any, y: Any, y_marg: Any) -> tuple[Any, Any]:
            h = self.encoder(tokens)
            both = self.head(torch.cat([torch.cat([y, y_marg], 0), torch.cat([h, h], 0)], -1)).squeeze(-1)
            return both[: y.shape[0]], both[y.shape[0]:]

    class DineCritic(nn.Module):
        r"""Two causal critics for the directed information rate (DINE-style, Tsur et al. 2023).

        Branch ``xy`` scores :math:`T_{XY}(y_t, h^{XY}_t)` with :math:`h^{XY}_t`
        a causal summary of :math:`(x_{1:t}, y_{1:t-1})`; branch ``y`` scores
        :math:`T_{Y}(y_t, h^{Y}_t)` with :math:`h^{Y}_t` a summary of
        :math:`y_{1:t-1}`. The token at time t is :math:`(x_t, y_{t-1})`
        (resp. :math:`y_{t-1}`), with :math:`y_0 = 0`, so an encoder that is causal
        over tokens never sees :math:`y_t`. See :func:`train_dine` for what is
        estimated.

        Parameters
        ----------
        dim_x, dim_y : int
            Dimensions of :math:`x_t` and :math:`y_t`.
        encoder : {"gru", "attention", "window"}, default "gru"
            The history encoder: a recurrent network, causal self-attention (a
            one- or few-layer Transformer decoder, the estimator of TREET, the
            paper's [96]), or an MLP on the last ``window`` tokens.
        hidden : int, default 32
            Width of encoder and heads.
        heads, layers : int, default 2 and 1
            Attention heads and blocks (``encoder="attention"`` only).
        max_len : int, default 256
            Longest sequence (``encoder="attention"`` only: learned positions).
        window : int, default 8
            Window length (``encoder="window"`` only).

        Notes
        -----
        ``forward(x, y, perm)`` with ``x`` (B, T, dim_x), ``y`` (B, T, dim_y)
        returns ``(joint_xy, marg_xy, joint_y, marg_y)``, each (B, T): the
        scores of the true :math:`y_t` and of :math:`y_{\pi(b), t}` (another
        sequence's value at the same time, ``perm`` a permutation of the batch)
        against the same history.
        """

        def __init__(self, dim_x: int, dim_y: int, encoder: str = "gru", hidden: int = 32, heads: int = 2,
                     layers: int = 1, max_len: int = 256, window: int = 8) -> None:
            for name, v in (("dim_x", dim_x), ("dim_y", dim_y), ("hidden", hidden), ("heads", heads),
                            ("layers", layers), ("max_len", max_len), ("window", window)):
                if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                    raise ValueError(f"`{name}` must be a positive int, got {v!r}")
            if encoder not in _ENCODERS:
                raise ValueError(f"`encoder` must be one of {_ENCODERS}, got {encoder!r}")
            if encoder == "attention" and hidden % heads:
                raise ValueError(f"`hidden` ({hidden}) must be divisible by `heads` ({heads})")
            super().__init__()
            self.dim_x, self.dim_y, self.encoder_kind = int(dim_x), int(dim_y), encoder
            self.xy = _Branch(dim_x + dim_y, dim_y, encoder, hidden, heads, layers, max_len, window)
            self.y = _Branch(dim_y, dim_y, encoder, hidden, heads, layers, max_len, window)

        def forward(self, x: Any, y: Any, perm: Any) -> tuple[Any, Any, Any, Any]:
            y_prev = torch.cat([torch.zeros_like(y[:, :1]), y[:, :-1]], dim=1)
            y_marg = y[perm]
            jxy, mxy = self.xy(torch.cat([x, y_prev], -1), y, y_marg)
            jy, my = self.y(y_prev, y, y_marg)
            return jxy, mxy, jy, my

    for cls in (DineCritic,):
        cls.__module__ = __name__
    return DineCritic


def __getattr__(name: str) -> Any:  # lazy: semlib imports torch only when asked
    if name == "BilinearCritic":
        cls = _make_bilinear()
        globals()["BilinearCritic"] = cls
        return cls
    if name == "DineCritic":
        cls = _make_dine_classes()
        globals()["DineCritic"] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _check_sequences(x: Any, y: Any, critic: Any) -> None:
    torch = _torch()
    if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
        raise TypeError("`x` and `y` must be torch tensors")
    if x.ndim != 3 or y.ndim != 3:
        raise ValueError(f"`x` and `y` must have shape (N, T, d), got {tuple(x.shape)} and {tuple(y.shape)}")
    if x.shape[:2] != y.shape[:2]:
        raise ValueError(f"`x` and `y` must share (N, T), got {tuple(x.shape[:2])} and {tuple(y.shape[:2])}")
    if x.shape[0] < 2:
        raise ValueError("need at least N = 2 sequences")
    if x.shape[-1] != critic.dim_x or y.shape[-1] != critic.dim_y:
        raise ValueError(f"`x`, `y` have dimensions {x.shape[-1]}, {y.shape[-1]}; the critic expects "
                         f"{critic.dim_x}, {critic.dim_y}")
    _check_finite(x, "x")
    _check_finite(y, "y")


def _check_burn_in(burn_in: Any, T: int) -> int:
    if isinstance(burn_in, bool) or not isinstance(burn_in, numbers.Integral) or not 0 <= burn_in < T:
        raise ValueError(f"`burn_in` must be an int in [0, {T}), got {burn_in!r}")
    return int(burn_in)


class DineHistory(dict):
    """Per-step record of :func:`train_dine`: keys ``"dv_xy"``, ``"dv_y"`` and ``"di"`` (nats per step)."""


def train_dine(
    critic: Any,
    x: Any,
    y: Any,
    steps: int,
    batch_size: int = 64,
    lr: float = 3e-3,
    ema_rate: float | None = 0.01,
    burn_in: int = 0,
    generator: Any = None,
    progress: bool = True,
) -> DineHistory:
    r"""Train a :class:`DineCritic` on sequences: a DINE-style estimator of the directed information rate.

    **What is estimated.** For each time t (after ``burn_in``) the two
    branches of the critic estimate, by the Donsker–Varadhan bound,

    .. math::

        \mathrm{DV}_{XY} &\approx I(Y_t;\, X_{1:t}, Y_{1:t-1}) = D_{KL}\bigl(P_{Y_t X_{1:t} Y_{1:t-1}}
            \,\big\|\, P_{Y_t} \otimes P_{X_{1:t} Y_{1:t-1}}\bigr), \\
        \mathrm{DV}_{Y} &\approx I(Y_t;\, Y_{1:t-1}),

    and by the chain rule their difference is the t-th summand of the directed
    information (paper, Definition 2, Eq. 2),

    .. math::

        \mathrm{DV}_{XY} - \mathrm{DV}_{Y} \approx I(X_{1:t}; Y_t \mid Y_{1:t-1})
        = h(Y_t \mid Y_{1:t-1}) - h(Y_t \mid Y_{1:t-1}, X_{1:t}).

    Scores are averaged over the times ``burn_in + 1 .. T``, so the target is
    the mean summand over those times: for a stationary process and enough
    history, the directed information *rate*. Tsur et al. (the paper's [68])
    write each entropy as a KL divergence to a *uniform* reference law; here
    the reference is the marginal of :math:`Y_t` (another sequence's value at
    the same time), which leaves the difference unchanged and needs no
    bounded support. Each DV term is a lower bound in expectation for a fixed
    critic; their *difference* is not a bound and can err either way.

    Parameters
    ----------
    critic : DineCritic
    x, y : torch.Tensor, shapes (N, T, d_x) and (N, T, d_y)
        N independent training sequences (or windows of one long sequence).
    steps : int
    batch_size : int, default 64
        Sequences per step (>= 2).
    lr : float, default 3e-3
        Adam learning rate.
    ema_rate : float or None, default 0.01
        MINE's moving-average gradient (:class:`MineObjective`) for each
        branch; ``None`` uses the plain DV gradient.
    burn_in : int, default 0
        Times ``1 .. burn_in`` are left out of the objective.
    generator : torch.Generator, optional
        Source of batches and permutations.
    progress : bool, default True

    Returns
    -------
    DineHistory
        Training-batch values of both DV bounds and their difference; for the
        number to report use :func:`dine_estimate` on held-out sequences.
    """
    torch = _torch()
    from tqdm.auto import tqdm

    if not isinstance(critic, torch.nn.Module) or not hasattr(critic, "xy"):
        raise TypeError(f"`critic` must be a DineCritic, got {type(critic).__name__}")
    _check_sequences(x, y, critic)
    steps = _check_steps(steps)
    if isinstance(batch_size, bool) or not isinstance(batch_size, numbers.Integral) or batch_size < 2:
        raise ValueError(f"`batch_size` must be an int >= 2, got {batch_size!r}")
    if not (isinstance(lr, numbers.Real) and lr > 0):
        raise ValueError(f"`lr` must be a positive number, got {lr!r}")
    t0 = _check_burn_in(burn_in, x.shape[1])
    N = x.shape[0]
    B = min(int(batch_size), N)
    opt = torch.optim.Adam(critic.parameters(), lr=float(lr))
    objectives = None if ema_rate is None else (MineObjective(ema_rate), MineObjective(ema_rate))
    rec: dict[str, list[float]] = {"dv_xy": [], "dv_y": [], "di": []}
    for _ in tqdm(range(steps), disable=not progress, desc="DINE"):
        idx = torch.randperm(N, generator=generator)[:B].to(x.device)
        perm = torch.randperm(B, generator=generator).to(x.device)
        jxy, mxy, jy, my = critic(x[idx], y[idx], perm)
        jxy, mxy, jy, my = (s[:, t0:] for s in (jxy, mxy, jy, my))
        if objectives is None:
            dv_xy, dv_y = dv_bound(jxy, mxy), dv_bound(jy, my)
            loss = -(dv_xy + dv_y)
            a, b = float(dv_xy.detach()), float(dv_y.detach())
        else:
            loss = objectives[0](jxy, mxy) + objectives[1](jy, my)
            a, b = objectives[0].last_dv, objectives[1].last_dv
        opt.zero_grad()
        loss.backward()
        opt.step()
        rec["dv_xy"].append(a)
        rec["dv_y"].append(b)
        rec["di"].append(a - b)
    return DineHistory({k: _as_history(v) for k, v in rec.items()})


def dine_estimate(
    critic: Any, x: Any, y: Any, burn_in: int = 0, n_shuffles: int = 8, generator: Any = None,
    base: float | None = None,
) -> dict[str, float]:
    r"""Evaluate a trained :class:`DineCritic` on (held-out) sequences.

    Returns the two Donsker–Varadhan values and their difference, the estimate
    of the mean directed-information summand :math:`I(X_{1:t}; Y_t\mid Y_{1:t-1})`
    over times ``burn_in + 1 .. T`` (see :func:`train_dine`). The marginal term
    :math:`\log \mathbb E_Q[e^{T}]` uses ``n_shuffles`` random permutations of
    the sequences, i.e. ``n_shuffles`` N T marginal pairs.

    Parameters
    ----------
    critic : DineCritic
    x, y : torch.Tensor, shapes (N, T, d_x) and (N, T, d_y)
    burn_in : int, default 0
    n_shuffles : int, default 8
    generator : torch.Generator, optional
    base : float, optional
        ``None`` for nats, ``2`` for bits.

    Returns
    -------
    dict
        ``{"di": ..., "dv_xy": ..., "dv_y": ...}`` as floats.
    """
    torch = _torch()
    if not isinstance(critic, torch.nn.Module) or not hasattr(critic, "xy"):
        raise TypeError(f"`critic` must be a DineCritic, got {type(critic).__name__}")
    _check_sequences(x, y, critic)
    t0 = _check_burn_in(burn_in, x.shape[1])
    _check_steps(n_shuffles, "n_shuffles")
    joints: dict[str, Any] = {}
    margs: dict[str, list[Any]] = {"xy": [], "y": []}
    was_training = critic.training
    critic.eval()
    with torch.no_grad():
        for _ in range(int(n_shuffles)):
            perm = torch.randperm(x.shape[0], generator=generator).to(x.device)
            jxy, mxy, jy, my = critic(x, y, perm)
            joints["xy"], joints["y"] = jxy[:, t0:], jy[:, t0:]
            margs["xy"].append(mxy[:, t0:])
            margs["y"].append(my[:, t0:])
    critic.train(was_training)
    dv_xy = float(dv_bound(joints["xy"], torch.stack(margs["xy"])))
    dv_y = float(dv_bound(joints["y"], torch.stack(margs["y"])))
    out = {"di": dv_xy - dv_y, "dv_xy": dv_xy, "dv_y": dv_y}
    return {k: float(_scale(v, base)) for k, v in out.items()}


def simulate_gaussian_sequences(cov: Any, n: int, dim_x: int, dim_y: int, generator: Any = None,
                                dtype: Any = None) -> tuple[Any, Any]:
    r"""Draw n sequences :math:`(X_t, Y_t)_{t\le T}` exactly from a zero-mean Gaussian with covariance ``cov``.

    ``cov`` is time-major over the stacked vector :math:`Z_t = (X_t, Y_t)` of
    dimension ``dim_x + dim_y`` (as :func:`var_covariance` returns it), so the
    sequences start in stationarity when ``cov`` is that of a stationary VAR.

    Parameters
    ----------
    cov : array-like, shape (T (d_x + d_y), T (d_x + d_y))
    n : int
        Number of sequences.
    dim_x, dim_y : int
    generator : torch.Generator, optional
    dtype : torch.dtype, optional
        Default ``torch.float32``.

    Returns
    -------
    (x, y) : torch.Tensor, shapes (n, T, dim_x) and (n, T, dim_y)
    """
    torch = _torch()
    C = _check_cov(cov.detach().cpu().numpy() if B.is_torch(cov) else cov)
    for name, v in (("n", n), ("dim_x", dim_x), ("dim_y", dim_y)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"`{name}` must be a positive int, got {v!r}")
    d = int(dim_x) + int(dim_y)
    if C.shape[0] % d:
        raise ValueError(f"`cov` has {C.shape[0]} rows, not a multiple of dim_x + dim_y = {d}")
    try:
        L = torch.as_tensor(np.linalg.cholesky(C), dtype=torch.float64)
    except np.linalg.LinAlgError:
        raise ValueError("`cov` is not positive definite") from None
    z = torch.randn(int(n), C.shape[0], generator=generator, dtype=torch.float64) @ L.T
    z = z.reshape(int(n), C.shape[0] // d, d).to(dtype or torch.float32)
    return z[..., : int(dim_x)].contiguous(), z[..., int(dim_x):].contiguous()


def gaussian_directed_information_rate_terms(cov: Any, dim_x: int, dim_y: int) -> np.ndarray:
    r"""The summands :math:`I(X_{1:t}; Y_t \mid Y_{1:t-1})`, t = 1..T, for a time-major covariance of :math:`(X_t, Y_t)`.

    Their sum is :func:`gaussian_directed_information`; their mean over
    ``burn_in + 1 .. T`` is the target of :func:`train_dine`.

    Parameters
    ----------
    cov : array-like, shape (T (d_x + d_y), T (d_x + d_y))
    dim_x, dim_y : int

    Returns
    -------
    numpy.ndarray, shape (T,)

    Examples
    --------
    No link from X to Y: every summand is 0.

    >>> C = var_covariance([[[0.5, 0.0], [0.0, 0.7]]], np.eye(2), 4)
    >>> bool(np.allclose(gaussian_directed_information_rate_terms(C, 1, 1), 0.0))
    True
    """
    C = _check_cov(cov.detach().cpu().numpy() if B.is_torch(cov) else cov)
    for name, v in (("dim_x", dim_x), ("dim_y", dim_y)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"`{name}` must be a positive int, got {v!r}")
    d = int(dim_x) + int(dim_y)
    if C.shape[0] % d:
        raise ValueError(f"`cov` has {C.shape[0]} rows, not a multiple of dim_x + dim_y = {d}")
    T = C.shape[0] // d
    xb = [list(range(t * d, t * d + int(dim_x))) for t in range(T)]
    yb = [list(range(t * d + int(dim_x), (t + 1) * d)) for t in range(T)]
    return np.array([float(gaussian_mutual_information(C, _flat(xb[:t]), yb[t - 1], _flat(yb[: t - 1])))
                     for t in range(1, T + 1)])
