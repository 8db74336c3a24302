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


def __getattr__(name: str) -> Any:  # lazy: semlib imports torch only when asked
    if name == "BilinearCritic":
        cls = _make_bilinear()
        globals()["BilinearCritic"] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
