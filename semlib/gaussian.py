r"""Jointly Gaussian vectors and sequences: information in closed form, VAR/ARMA covariances, exact samples.

With one covariance matrix for all variables, entropies are log-determinants
and every (conditional, directed) mutual information is a signed sum of them,
exactly as :mod:`semlib.directed` builds directed information from marginals
of one pmf:

.. math::

    h(A) = \tfrac12\log\bigl((2\pi e)^{|A|}\det\Sigma_A\bigr), \qquad
    I(A; B \mid C) = \tfrac12\bigl[\log\det\Sigma_{AC} + \log\det\Sigma_{BC}
    - \log\det\Sigma_{ABC} - \log\det\Sigma_{C}\bigr].

* :func:`gaussian_directed_information` is the directed information of
  Definition 2 (Eq. 2) and :func:`gaussian_backward_directed_information` the
  backward directed information of Definition 3 (Eqs. 3 and 41) for Gaussian
  sequences; :func:`gaussian_directed_information_rate_terms` gives the
  summands :math:`I(X_{1:t}; Y_t \mid Y_{1:t-1})` of a time-major covariance.
* :func:`var_covariance` and :func:`arma11_covariance` give the covariance of
  n steps of a stationary VAR(p) or ARMA(1, 1) process, and
  :func:`simulate_gaussian_sequences` draws sequences exactly from such a law.
* :func:`gaussian_linear_encoder_optimum` solves the encoder problem of Eq. 40
  for linear m-dimensional encoders (partial canonical correlation analysis),
  :func:`append_linear` appends the encoded variables to a covariance, and
  :func:`optimal_backward_directed_information` chains the optimum over t as
  in Eq. 41.

These closed forms are the ground truth against which the sample estimators
of :mod:`semlib.estimators` (InfoNCE, NWJ, Donsker–Varadhan, MINE, DINE) are
tested.

Units: nats unless ``base=2``. Backends: numpy in, numpy out (float64); torch in,
torch out on the same device, differentiable where the formula is.

Paper: §IV-D, Eqs. 40–41; Definitions 2 and 3 (Eqs. 2–3). Book: introduced in
chapter *Optimal semantic embedding* (``04_token_semantics/optimal_embedding``);
the sequence tools are used again in chapter *Estimating directed information*
(``05_autoregressive/information_measures``), and :mod:`semlib.causal` builds
on :func:`var_covariance` and :func:`gaussian_directed_information`.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from . import _backend as B
from ._backend import numpy_core
from .granger import autocovariance
from .info import _scale

__all__ = [
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
    "backward_directed_information_bounds",
    "simulate_gaussian_sequences",
    "gaussian_directed_information_rate_terms",
]

_LOG_2PI_E = math.log(2.0 * math.pi * math.e)


def _check_finite(x: Any, name: str) -> None:
    if not B.all_finite(x):
        raise ValueError(f"`{name}` must have finite entries (found NaN or inf)")


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
        raise ValueError(f"the covariance of the variables {list(idx)} is singular or not positive definite") from None
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


def _flat(blocks: Sequence[Sequence[int]]) -> tuple[int, ...]:
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
        return torch.stack(
            [v if B.is_torch(v) else torch.zeros((), dtype=like.dtype, device=like.device) for v in values]
        )
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
    B.check_same_backend(C, "cov", Mm, "M")
    if Mm.ndim != 2 or Mm.shape[1] != C.shape[0]:
        raise ValueError(f"`M` must have shape (r, {C.shape[0]}), got {tuple(Mm.shape)}")
    _check_finite(Mm, "M")
    CM = C @ Mm.T
    MCM = Mm @ CM
    MCM = 0.5 * (MCM + MCM.T)
    if B.is_torch(C):
        Mm = Mm.to(C.dtype)
        return torch.cat([torch.cat([C, CM], 1), torch.cat([CM.T, MCM], 1)], 0)
    return np.block([[C, CM], [CM.T, MCM]])


@numpy_core("A", "Sigma")
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


@numpy_core("cov", "given")
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
        raise ValueError(
            "the target is (numerically) determined by the side information: infinite information"
        ) from None
    K = Spp_is @ Spf @ np.linalg.inv(Lf).T
    U, rho, _ = np.linalg.svd(K)
    rho = np.clip(rho, 0.0, 1.0)
    if rho.size and rho[0] >= 1.0 - 1e-12:
        raise ValueError("the target is (numerically) a function of the source: infinite information")
    k = min(int(m), rho.size, rank)
    value = -0.5 * float(np.sum(np.log1p(-(rho[:k] ** 2))))
    W = np.zeros((int(m), len(P)))
    W[:k] = U[:, :k].T @ Spp_is
    value = _scale(np.float64(value), base)
    if was_torch:
        return (
            torch.tensor(value, device=device, dtype=torch.float64),
            torch.as_tensor(W, device=device),
            torch.as_tensor(rho, device=device),
        )
    return value, W, rho


@numpy_core("cov")
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
        shape (m, D): :math:`S_t` is ``encoders[t-1] @ X`` (zero outside
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


@numpy_core("cov")
def backward_directed_information_bounds(
    cov: Any, x_blocks: Any, m: int, base: float | None = None
) -> tuple[Any, Any, Any]:
    r"""Per-step terms of the three sides of Eq. 42 for linear m-dimensional encoders.

    The paper's chain of upper bounds (Eq. 42) reads

    .. math::

        \sum_{t=1}^{n} \max_{S_t} I(X_{t+1:n}; S_t \mid S_{1:t-1})
        \le \sum_{t=1}^{n} \max_{S_t} I(X_{t+1:n}; S_t)
        \le \sum_{t=1}^{n} \sum_{k=1}^{n-t} \max_{S_t} I(X_{t+k}; S_t),

    with :math:`S_t = W_t X_{1:t}` of dimension ``m``. For a Gaussian :math:`X_{1:n}` every
    maximum is a partial canonical correlation (:func:`gaussian_linear_encoder_optimum`); the
    left side is :func:`optimal_backward_directed_information` (Eq. 41, greedy). The first
    inequality always holds; the second fails for processes that are not Markov (an MA(1), for
    example). Introduced in ``ch-optimal-embedding``.

    Parameters
    ----------
    cov : array-like, shape (D, D)
        Covariance of :math:`X_{1:n}` (e.g. :func:`arma11_covariance`, :func:`var_covariance`).
    x_blocks : sequence of (int or sequence of int), length n
        Indices of :math:`X_t` in ``cov``.
    m : int
        Dimension of each encoder output :math:`S_t`.
    base : float, optional
        ``None`` for nats, 2 for bits.

    Returns
    -------
    (left, middle, right) : arrays of shape (n,)
        The t-th terms of the three sums; the last entry (t = n, no future) of each is 0.

    Raises
    ------
    ValueError
        If ``cov`` is not a symmetric square matrix, a block index is out of range or ``m < 1``.

    Examples
    --------
    >>> left, mid, right = backward_directed_information_bounds(arma11_covariance(0.0, 0.9, 4), range(4), 1)
    >>> bool(left.sum() <= mid.sum() + 1e-12), bool(mid.sum() > right.sum())
    (True, True)
    """
    if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 1:
        raise ValueError(f"`m` must be a positive int, got {m!r}")
    C = _check_cov(cov)
    x = _blocks(x_blocks, C.shape[0], "x_blocks")
    n = len(x)
    left, _ = optimal_backward_directed_information(C, x, m)
    middle, right = np.zeros(n), np.zeros(n)
    for t in range(1, n):
        past = _flat(x[:t])
        middle[t - 1] = gaussian_linear_encoder_optimum(C, past, _flat(x[t:]), m)[0]
        right[t - 1] = sum(gaussian_linear_encoder_optimum(C, past, x[t + k - 1], m)[0] for k in range(1, n - t + 1))
    return _scale(np.asarray(left, dtype=np.float64), base), _scale(middle, base), _scale(right, base)


def simulate_gaussian_sequences(cov: Any, n: int, dim_x: int, dim_y: int, seed: Any = None) -> tuple[Any, Any]:
    r"""Draw n sequences :math:`(X_t, Y_t)_{t\le T}` exactly from a zero-mean Gaussian with covariance ``cov``.

    ``cov`` is time-major over the stacked vector :math:`Z_t = (X_t, Y_t)` of
    dimension ``dim_x + dim_y`` (as :func:`var_covariance` returns it), so the
    sequences start in stationarity when ``cov`` is that of a stationary VAR.
    Each draw is :math:`Z = L\,\varepsilon` with :math:`L` the Cholesky factor
    of ``cov`` (computed in float64) and :math:`\varepsilon` standard normal.

    Parameters
    ----------
    cov : array-like or torch.Tensor, shape (T (d_x + d_y), T (d_x + d_y))
        Its backend sets the backend of the result: numpy (or a list) gives
        float64 numpy arrays; a floating tensor gives tensors of its dtype on
        its device.
    n : int
        Number of sequences.
    dim_x, dim_y : int
    seed : int, None, numpy.random.Generator or torch.Generator, optional
        An int >= 0 (reproducible) or None (fresh entropy); for numpy ``cov``
        a ``numpy.random.Generator``, for torch ``cov`` a ``torch.Generator``
        on the device of ``cov``, used as given and advanced.

    Returns
    -------
    (x, y) : arrays of shapes (n, T, dim_x) and (n, T, dim_y), the backend of ``cov``

    Examples
    --------
    >>> C = var_covariance([[[0.5, 0.0], [0.8, 0.6]]], np.eye(2), 4)
    >>> x, y = simulate_gaussian_sequences(C, 3, 1, 1, seed=0)
    >>> x.shape, y.dtype
    ((3, 4, 1), dtype('float64'))
    """
    was_torch = B.is_torch(cov)
    if was_torch and not cov.is_floating_point():
        raise TypeError(f"`cov` must be a floating tensor, got dtype {cov.dtype}")
    C = _check_cov(cov.detach().cpu().double().numpy() if was_torch else cov)
    for name, v in (("n", n), ("dim_x", dim_x), ("dim_y", dim_y)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"`{name}` must be a positive int, got {v!r}")
    d = int(dim_x) + int(dim_y)
    if C.shape[0] % d:
        raise ValueError(f"`cov` has {C.shape[0]} rows, not a multiple of dim_x + dim_y = {d}")
    try:
        L = np.linalg.cholesky(C)
    except np.linalg.LinAlgError:
        raise ValueError("`cov` is not positive definite") from None
    shape = (int(n), C.shape[0] // d, d)
    if was_torch:
        g = B.torch_generator(seed, device=cov.device)
        Lt = torch.as_tensor(L, dtype=torch.float64, device=cov.device)
        eps = torch.randn(int(n), C.shape[0], generator=g, dtype=torch.float64, device=cov.device)
        zt = (eps @ Lt.T).reshape(shape).to(cov.dtype)
        return zt[..., : int(dim_x)].contiguous(), zt[..., int(dim_x) :].contiguous()
    z = (B.numpy_rng(seed).standard_normal((int(n), C.shape[0])) @ L.T).reshape(shape)
    return np.ascontiguousarray(z[..., : int(dim_x)]), np.ascontiguousarray(z[..., int(dim_x) :])


@numpy_core("cov")
def gaussian_directed_information_rate_terms(cov: Any, dim_x: int, dim_y: int) -> np.ndarray:
    r"""The summands :math:`I(X_{1:t}; Y_t \mid Y_{1:t-1})`, t = 1..T, for a time-major covariance of :math:`(X_t, Y_t)`.

    Their sum is :func:`gaussian_directed_information`; their mean over
    ``burn_in + 1 .. T`` is the target of :func:`semlib.estimators.train_dine`.

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
    return np.array(
        [float(gaussian_mutual_information(C, _flat(xb[:t]), yb[t - 1], _flat(yb[: t - 1]))) for t in range(1, T + 1)]
    )
