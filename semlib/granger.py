r"""Granger causality and transfer entropy of Gaussian vector autoregressions.

A stationary Gaussian VAR(p) of dimension d is

.. math::

    x_t = \sum_{k=1}^{p} A_k x_{t-k} + e_t, \qquad e_t \sim \mathcal N(0, \Sigma)
    \ \text{i.i.d.},

stored as ``A`` of shape ``(p, d, d)`` (``A[k-1]`` is :math:`A_k`) and
``Sigma`` of shape ``(d, d)``. A sample path is an array ``x`` of shape
``(n, d)``: rows are times, columns are variables (statsmodels' layout).

Definition 5 of the paper (Eq. 6, after Granger [45]) calls X a cause of Y when
the law of :math:`Y_{t+1}` given everything known at time t changes once the
past of X is removed from that knowledge. For jointly Gaussian processes the
conditional laws are Gaussian and differ only in their covariance, so the
operational measure is Geweke's log-ratio of one-step prediction-error
(co)variances,

.. math::

    \mathcal F_{X \to Y \mid Z} = \log
    \frac{\det \Sigma(Y_t \mid Y^-, Z^-)}{\det \Sigma(Y_t \mid Y^-, Z^-, X^-)},

where :math:`Y^-` is the whole past :math:`Y_{t-1}, Y_{t-2}, \dots` and
:math:`\Sigma(U \mid V)` is the covariance of the error of the best (linear
= conditional-mean) predictor of U from V. The transfer entropy of Schreiber
[71] is the difference of conditional differential entropies

.. math::

    T_{X \to Y \mid Z} = h(Y_t \mid Y^-, Z^-) - h(Y_t \mid Y^-, Z^-, X^-)
    = I(Y_t ; X^- \mid Y^-, Z^-),

and since :math:`h(U \mid V) = \tfrac12 \log\bigl((2\pi e)^m \det \Sigma(U \mid V)\bigr)`
for Gaussians, :math:`\mathcal F = 2\,T` (Barnett, Barrett and Seth [72]).
This module computes the two sides by different routes so that the identity
is a check: :func:`granger_causality` from the state-space (Riccati) solution
or a regression on the autocovariances, :func:`transfer_entropy` from
log-determinants of block-Toeplitz covariance matrices.

Units: natural logarithms (nats) throughout; pass ``base=2`` for bits.
Backend: computed in numpy (float64); torch tensors in give torch tensors out, on their device
and dtype (`_backend.numpy_core`).

Paper: Definition 5 (§II-C, Eq. 6) and refs. [45], [70]–[72].
Book: chapter *Granger causality* (``02_preliminaries/granger_causality``).

References
----------
.. [1] C. W. J. Granger, "Testing for causality: A personal viewpoint",
   J. Econ. Dyn. Control 2 (1980) 329–352 (paper's [45]).
.. [2] J. Geweke, "Measurement of linear dependence and feedback between
   multiple time series", JASA 77 (1982) 304–313; "Measures of conditional
   linear dependence and feedback between time series", JASA 79 (1984) 907–915.
.. [3] L. Barnett, A. B. Barrett and A. K. Seth, "Granger causality and
   transfer entropy are equivalent for Gaussian variables", Phys. Rev. Lett.
   103 (2009) 238701 (paper's [72]; book key ``barnett2009granger``).
.. [4] L. Barnett and A. K. Seth, "Granger causality for state-space models",
   Phys. Rev. E 91 (2015) 040101(R).
.. [5] H. Lütkepohl, *New Introduction to Multiple Time Series Analysis*,
   Springer (2005), §3.2 (OLS) and §3.6.1 (Granger-causality tests).
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import scipy.linalg as sla
from scipy import optimize

from . import _backend as B
from ._backend import check_int as _check_int
from ._backend import numpy_core
from .info import _scale

__all__ = [
    "companion_matrix",
    "autocovariance",
    "simulate_var",
    "VARFit",
    "fit_var",
    "granger_causality",
    "transfer_entropy",
    "granger_causality_from_samples",
    "transfer_entropy_from_samples",
    "GrangerTest",
    "granger_f_test",
    "granger_confidence_interval",
]

Variables = int | Sequence[int]

_LOG_2PI_E = float(np.log(2.0 * np.pi * np.e))

# Transfer entropy with ``lags=None`` doubles the history length until two
# successive values differ by at most this much (nats; rounding in the
# log-determinants of the larger matrices reaches about 1e-11) ...
_TE_TOL = 1e-10
# ... or until the block-Toeplitz matrix would exceed this many rows.
_TE_MAX_ROWS = 4096


# --- validation -------------------------------------------------------------------------------


def _as_array(x: Any, name: str) -> np.ndarray:
    if B.is_torch(x):
        raise TypeError(f"`{name}` must be a numpy array (semlib.granger is numpy only); pass `{name}.cpu().numpy()`")
    arr = B.as_float_array(x, name)
    if not np.isfinite(arr).all():
        raise ValueError(f"`{name}` must have finite entries (found NaN or inf)")
    return arr


def _check_covariance(Sigma: Any, d: int, name: str = "Sigma") -> np.ndarray:
    Sigma = _as_array(Sigma, name)
    if Sigma.shape != (d, d):
        raise ValueError(f"`{name}` must have shape ({d}, {d}) to match `A`, got {Sigma.shape}")
    scale = max(1.0, float(np.abs(Sigma).max()))
    asym = float(np.abs(Sigma - Sigma.T).max())
    if asym > 1e-10 * scale:
        raise ValueError(f"`{name}` must be symmetric, but |Sigma - Sigma.T| reaches {asym:.3g}")
    Sigma = 0.5 * (Sigma + Sigma.T)
    lam_min = float(np.linalg.eigvalsh(Sigma)[0])
    if lam_min <= 1e-12 * scale:
        raise ValueError(f"`{name}` must be positive definite, but its smallest eigenvalue is {lam_min:.3g}")
    return Sigma


@numpy_core("A")
def companion_matrix(A: Any) -> np.ndarray:
    r"""Companion matrix of a VAR(p): the VAR(1) form of the stacked state.

    With :math:`s_t = (x_t, x_{t-1}, \dots, x_{t-p+1})` the VAR reads
    :math:`s_t = F s_{t-1} + (e_t, 0, \dots, 0)`, where

    .. math::

        F = \begin{pmatrix} A_1 & A_2 & \cdots & A_{p-1} & A_p \\
        I & 0 & \cdots & 0 & 0 \\ & \ddots & & & \vdots \\
        0 & \cdots & & I & 0 \end{pmatrix}.

    The VAR is stationary exactly when every eigenvalue of F lies inside the
    unit circle (spectral radius < 1).

    Parameters
    ----------
    A : array-like, shape (p, d, d)
        Lag matrices; ``A[k-1]`` multiplies :math:`x_{t-k}`.

    Returns
    -------
    numpy.ndarray, shape (d p, d p)

    Examples
    --------
    >>> F = companion_matrix([[[0.5, 0.0], [0.4, 0.6]]])
    >>> np.sort(np.abs(np.linalg.eigvals(F)))
    array([0.5, 0.6])
    """
    A = _as_array(A, "A")
    if A.ndim != 3 or A.shape[1] != A.shape[2] or A.shape[0] < 1 or A.shape[1] < 1:
        raise ValueError(f"`A` must have shape (p, d, d) with p, d >= 1 (use A[None] for a VAR(1)), got {A.shape}")
    p, d, _ = A.shape
    F = np.zeros((d * p, d * p))
    F[:d, :] = np.concatenate(list(A), axis=1)
    F[d:, :-d] = np.eye(d * (p - 1))
    return F


def _validate_var(A: Any, Sigma: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shapes, symmetric positive-definite Sigma, stationarity. Returns (A, Sigma, F)."""
    F = companion_matrix(A)
    A = _as_array(A, "A")
    Sigma = _check_covariance(Sigma, A.shape[1])
    rho = float(np.max(np.abs(np.linalg.eigvals(F))))
    if not rho < 1.0:
        raise ValueError(
            f"the VAR is not stationary: the spectral radius of its companion matrix is {rho:.6g} (it must be < 1)"
        )
    return A, Sigma, F


def _variables(v: Variables, d: int, name: str, allow_empty: bool = False) -> tuple[int, ...]:
    if isinstance(v, (numbers.Integral,)) and not isinstance(v, bool):
        v = (int(v),)
    try:
        items = tuple(v)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"`{name}` must be an int or a sequence of ints, got {type(v).__name__}") from None
    out: list[int] = []
    for i in items:
        if isinstance(i, bool) or not isinstance(i, numbers.Integral):
            raise TypeError(f"`{name}` must contain ints (variable indices), got {i!r}")
        if not -d <= i < d:
            raise ValueError(f"`{name}` names variable {i}, but there are only {d} variables")
        out.append(int(i) % d)
    if len(set(out)) != len(out):
        raise ValueError(f"`{name}` repeats a variable: {items}")
    if not out and not allow_empty:
        raise ValueError(f"`{name}` must name at least one variable")
    return tuple(out)


def _roles(
    source: Variables, target: Variables, given: Variables | None, d: int
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]:
    s = _variables(source, d, "source")
    t = _variables(target, d, "target")
    if given is None:
        g = tuple(i for i in range(d) if i not in s and i not in t)
    else:
        g = _variables(given, d, "given", allow_empty=True)
    named = {"source": s, "target": t, "given": g}
    keys = list(named)
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            common = set(named[a]) & set(named[b])
            if common:
                raise ValueError(f"`{a}` and `{b}` share the variables {sorted(common)}; they must be disjoint")
    return s, t, g


def _logdet(M: np.ndarray, what: str) -> float:
    sign, ld = np.linalg.slogdet(M)
    if sign <= 0:
        raise ValueError(f"{what} is not positive definite (numerically singular)")
    return float(ld)


# --- population quantities ----------------------------------------------------------------------


def _stationary_state_covariance(A: np.ndarray, Sigma: np.ndarray, F: np.ndarray) -> np.ndarray:
    """Covariance of s_t = (x_t, ..., x_{t-p+1}): V = F V F^T + G Sigma G^T."""
    d = A.shape[1]
    Q = np.zeros_like(F)
    Q[:d, :d] = Sigma
    V = sla.solve_discrete_lyapunov(F, Q)
    return 0.5 * (V + V.T)


def _autocov(A: np.ndarray, Sigma: np.ndarray, F: np.ndarray, max_lag: int) -> np.ndarray:
    p, d, _ = A.shape
    V = _stationary_state_covariance(A, Sigma, F)
    G = np.empty((max_lag + 1, d, d))
    for k in range(min(p, max_lag + 1)):
        G[k] = V[:d, k * d : (k + 1) * d]  # E[x_t x_{t-k}^T]
    for k in range(p, max_lag + 1):
        G[k] = sum(A[j] @ G[k - 1 - j] for j in range(p))
    return G


@numpy_core("A", "Sigma")
def autocovariance(A: Any, Sigma: Any, max_lag: int) -> np.ndarray:
    r"""Autocovariances :math:`\Gamma_k = \mathbb E[x_t x_{t-k}^\top]` of a stationary VAR.

    The lag-0 block row of the companion state's covariance V solves the
    discrete Lyapunov equation :math:`V = F V F^\top + G \Sigma G^\top`
    (``scipy.linalg.solve_discrete_lyapunov``), which gives
    :math:`\Gamma_0, \dots, \Gamma_{p-1}`; the rest follow from the
    Yule–Walker recursion :math:`\Gamma_k = \sum_{j=1}^p A_j \Gamma_{k-j}`.
    Negative lags are :math:`\Gamma_{-k} = \Gamma_k^\top`.

    Parameters
    ----------
    A : array-like, shape (p, d, d)
        Lag matrices of a stationary VAR(p).
    Sigma : array-like, shape (d, d)
        Innovation covariance, symmetric positive definite.
    max_lag : int
        Largest lag k returned (>= 0).

    Returns
    -------
    numpy.ndarray, shape (max_lag + 1, d, d)

    Raises
    ------
    ValueError
        If the shapes disagree, ``Sigma`` is not symmetric positive definite,
        or the VAR is not stationary.

    Examples
    --------
    An AR(1) with coefficient a has :math:`\Gamma_k = a^k / (1 - a^2)`:

    >>> autocovariance([[[0.5]]], [[1.0]], 2).ravel()
    array([1.33333333, 0.66666667, 0.33333333])
    """
    A, Sigma, F = _validate_var(A, Sigma)
    max_lag = _check_int(max_lag, "max_lag", 0)
    return _autocov(A, Sigma, F, max_lag)


def _block_toeplitz(G: np.ndarray, obs: Sequence[int], k: int) -> np.ndarray:
    """Covariance of (x_t, x_{t-1}, ..., x_{t-k}) restricted to the variables ``obs``.

    Block (i, j) is E[x_{t-i} x_{t-j}^T] = Gamma_{j-i}, with Gamma_{-l} = Gamma_l^T.
    """
    m = len(obs)
    Gk = G[: k + 1][:, list(obs)][:, :, list(obs)]
    two_sided = np.concatenate([np.transpose(Gk[:0:-1], (0, 2, 1)), Gk])  # lags -k, ..., k
    i = np.arange(k + 1)
    C = two_sided[i[None, :] - i[:, None] + k]  # (k+1, k+1, m, m), block (i, j) at lag j - i
    C = C.transpose(0, 2, 1, 3).reshape((k + 1) * m, (k + 1) * m)
    return 0.5 * (C + C.T)


def _prediction_error_cov_lags(G: np.ndarray, obs: tuple[int, ...], target: tuple[int, ...], k: int) -> np.ndarray:
    """Sigma(Y_t | k past values of the variables ``obs``) by linear regression (Schur complement)."""
    C = _block_toeplitz(G, obs, k)
    m = len(obs)
    ti = [obs.index(i) for i in target]
    past = C[m:, m:]
    cross = C[m:, :m][:, ti]
    cho = sla.cho_factor(past)
    S = C[np.ix_(ti, ti)] - cross.T @ sla.cho_solve(cho, cross)
    return 0.5 * (S + S.T)


def _innovation_cov(A: np.ndarray, Sigma: np.ndarray, F: np.ndarray, obs: tuple[int, ...]) -> np.ndarray:
    r"""Innovation covariance of the subprocess x_t[obs] given its whole past (Kalman / DARE).

    State :math:`\xi_t = s_{t-1}`: :math:`\xi_{t+1} = F \xi_t + G e_t`,
    observation :math:`z_t = H \xi_t + C e_t` with :math:`H = C [A_1 \cdots A_p]`.
    The steady-state one-step predictor has error covariance P solving the
    filtering Riccati equation with cross-covariance :math:`S = G \Sigma C^\top`;
    the innovations have covariance :math:`H P H^\top + C \Sigma C^\top`.
    """
    p, d, _ = A.shape
    obs_l = list(obs)
    R = Sigma[np.ix_(obs_l, obs_l)]
    if len(obs) == d:  # the VAR's own innovations
        return R.copy()
    H = np.concatenate(list(A), axis=1)[obs_l, :]
    Q = np.zeros_like(F)
    Q[:d, :d] = Sigma
    S = np.zeros((d * p, len(obs)))
    S[:d, :] = Sigma[:, obs_l]
    try:
        P = sla.solve_discrete_are(F.T, H.T, Q, R, s=S)
    except (np.linalg.LinAlgError, ValueError) as exc:  # pragma: no cover - ill-conditioned systems only
        raise ValueError(
            f"the Riccati equation of the subprocess {obs} could not be solved ({exc}); "
            "pass `lags=k` to use the finite-past regression instead"
        ) from exc
    P = 0.5 * (P + P.T)
    V = H @ P @ H.T + R
    return 0.5 * (V + V.T)


@numpy_core("A", "Sigma")
def granger_causality(
    A: Any,
    Sigma: Any,
    source: Variables,
    target: Variables,
    *,
    given: Variables | None = None,
    lags: int | None = None,
    base: float | None = None,
) -> np.float64:
    r"""Geweke's Granger causality :math:`\mathcal F_{X \to Y \mid Z}` of a Gaussian VAR.

    .. math::

        \mathcal F_{X \to Y \mid Z} = \log
        \frac{\det \Sigma(Y_t \mid Y^-, Z^-)}{\det \Sigma(Y_t \mid Y^-, Z^-, X^-)},

    the log-ratio of the one-step prediction-error covariances of the target
    Y from the restricted past (Y and Z) and the full past (Y, Z and the
    source X) — the operational form of the paper's Definition 5, Eq. (6).

    Parameters
    ----------
    A : array-like, shape (p, d, d)
        Lag matrices of a stationary VAR(p).
    Sigma : array-like, shape (d, d)
        Innovation covariance, symmetric positive definite.
    source, target : int or sequence of int
        Indices of the variables X and Y (disjoint).
    given : int or sequence of int, optional
        Conditioning variables Z. ``None`` (default) means every variable
        that is neither source nor target (conditional Granger causality).
        Variables in none of the three lists are *unobserved*: they are
        marginalised out, which is how a hidden common cause enters.
    lags : int, optional
        ``None`` (default): the exact value with the whole infinite past.
        An int k: the value for predictors that see only the last k values
        (what an order-k regression converges to).
    base : float, optional
        ``None`` for nats, ``2`` for bits.

    Returns
    -------
    numpy.float64
        Non-negative up to rounding (about 1e-15).

    Raises
    ------
    ValueError
        If the VAR is not stationary, ``Sigma`` is not symmetric positive
        definite, the shapes disagree, or the variable lists overlap.

    Notes
    -----
    *Why a Riccati equation.* The full predictor is easy: when the full past
    contains every variable, :math:`\Sigma(Y_t \mid \text{past}) = \Sigma_{YY}`.
    But a subprocess of a VAR is in general a VARMA process, not a VAR, so its
    prediction from a finite past is only an approximation. With
    ``lags=None`` the restricted (and, when variables are left unobserved,
    also the full) prediction-error covariance is computed exactly as the
    innovation covariance of the VAR written in state-space form and observed
    only through the kept variables: the steady-state Kalman predictor, from
    the discrete algebraic Riccati equation (``scipy.linalg.solve_discrete_are``;
    Barnett and Seth 2015). It has a stabilising solution because the
    spectral density of every subprocess of a stationary VAR with
    :math:`\Sigma \succ 0` is positive definite on the unit circle.

    With ``lags=k`` the prediction errors come from the linear regression on
    the last k values, computed from the autocovariances
    (:func:`autocovariance`) as a Schur complement of a block-Toeplitz matrix.
    When the full past contains every variable and k >= p, the full term is
    exact and the restricted one can only be worse than with the whole past,
    so the value decreases to the exact one as k grows (geometrically, at a
    rate set by the zeros of the subprocess' moving-average part): 0.18456,
    0.18410, 0.18402 for k = 1, 2, 3 in the example below. With unobserved
    variables both terms are approximations and the convergence need not be
    monotone.

    For the system :math:`x_t = 0.5 x_{t-1} + e_t`,
    :math:`y_t = 0.6 y_{t-1} + 0.4 x_{t-1} + e'_t` (unit, independent
    noises), y alone is ARMA(2,1):
    :math:`(1-0.5L)(1-0.6L) y_t = 0.4 e_{t-1} + (1 - 0.5L) e'_t`. Its MA part
    has :math:`\gamma_0 = 1.41`, :math:`\gamma_1 = -0.5`; the invertible
    factorisation :math:`\sigma^2(1+\theta^2) = 1.41`, :math:`\sigma^2\theta = -0.5`
    gives :math:`\theta = -0.415968\ldots`, :math:`\sigma^2 = 1.2020161`, so
    :math:`\mathcal F_{x \to y} = \log \sigma^2 = 0.18400023` nats.

    Examples
    --------
    >>> A = np.array([[[0.5, 0.0], [0.4, 0.6]]])
    >>> Sigma = np.eye(2)
    >>> round(float(granger_causality(A, Sigma, source=0, target=1)), 8)
    0.18400023
    >>> round(float(granger_causality(A, Sigma, source=1, target=0)), 12)
    0.0
    >>> round(float(granger_causality(A, Sigma, 0, 1, lags=1)), 6)   # predictors see one lag
    0.18456
    """
    A, Sigma, F = _validate_var(A, Sigma)
    d = A.shape[1]
    s, t, g = _roles(source, target, given, d)
    full, reduced = t + g + s, t + g
    ti_full = [full.index(i) for i in t]
    if lags is None:
        S_full = _innovation_cov(A, Sigma, F, full)[np.ix_(ti_full, ti_full)]
        S_red = _innovation_cov(A, Sigma, F, reduced)[: len(t), : len(t)]
    else:
        k = _check_int(lags, "lags", 1)
        G = _autocov(A, Sigma, F, k)
        S_full = _prediction_error_cov_lags(G, full, t, k)
        S_red = _prediction_error_cov_lags(G, reduced, t, k)
    gc = _logdet(S_red, "the restricted prediction-error covariance") - _logdet(
        S_full, "the full prediction-error covariance"
    )
    return np.float64(_scale(gc, base))


def _gaussian_entropy(C: np.ndarray) -> float:
    r""":math:`h = \tfrac12 \log\bigl((2\pi e)^m \det C\bigr)` in nats."""
    m = C.shape[0]
    if m == 0:
        return 0.0
    return 0.5 * (m * _LOG_2PI_E + _logdet(C, "a covariance matrix of the embedded process"))


def _te_lags(G: np.ndarray, s: tuple[int, ...], t: tuple[int, ...], g: tuple[int, ...], k: int) -> float:
    r"""T = [h(Y_t, past_r) - h(past_r)] - [h(Y_t, past_f) - h(past_f)] with k-long pasts."""
    h_cond = []
    for obs in (t + g, t + g + s):
        C = _block_toeplitz(G, obs, k)
        m = len(obs)
        now = [obs.index(i) for i in t]
        past = list(range(m, (k + 1) * m))
        H_joint = _gaussian_entropy(C[np.ix_(now + past, now + past)])
        H_past = _gaussian_entropy(C[np.ix_(past, past)])
        h_cond.append(H_joint - H_past)  # h(Y_t | past)
    return h_cond[0] - h_cond[1]


@numpy_core("A", "Sigma")
def transfer_entropy(
    A: Any,
    Sigma: Any,
    source: Variables,
    target: Variables,
    *,
    given: Variables | None = None,
    lags: int | None = None,
    base: float | None = None,
) -> np.float64:
    r"""Transfer entropy :math:`T_{X \to Y \mid Z}` of a Gaussian VAR, from differential entropies.

    .. math::

        T_{X \to Y \mid Z} = h(Y_t \mid Y^-_k, Z^-_k) - h(Y_t \mid Y^-_k, Z^-_k, X^-_k),
        \qquad h(U \mid V) = h(U, V) - h(V),

    with :math:`W^-_k = (W_{t-1}, \dots, W_{t-k})` and the Gaussian entropy
    :math:`h(W) = \tfrac12 \log\bigl((2\pi e)^m \det \mathrm{Cov}\,W\bigr)`,
    each covariance a block of the block-Toeplitz matrix built from
    :func:`autocovariance`. Schreiber's measure (paper, [71]) with Gaussian
    conditional laws; it equals half of :func:`granger_causality`
    (Barnett, Barrett and Seth, the paper's [72]), which this function does not
    use.

    Parameters
    ----------
    A : array-like, shape (p, d, d)
        Lag matrices of a stationary VAR(p).
    Sigma : array-like, shape (d, d)
        Innovation covariance, symmetric positive definite.
    source, target : int or sequence of int
        Variables X and Y.
    given : int or sequence of int, optional
        Conditioning variables Z; ``None`` means all other variables, and
        variables on no list are marginalised out (as in
        :func:`granger_causality`).
    lags : int, optional
        History length k. ``None`` (default) approximates the infinite past:
        k = max(p, 8) is doubled until two successive values differ by at
        most 1e-10 nats (a warning is issued if the covariance matrices reach
        4096 rows first).
    base : float, optional
        ``None`` for nats, ``2`` for bits.

    Returns
    -------
    numpy.float64

    Raises
    ------
    ValueError
        As :func:`granger_causality`.

    Examples
    --------
    >>> A = np.array([[[0.5, 0.0], [0.4, 0.6]]])
    >>> round(float(transfer_entropy(A, np.eye(2), 0, 1)), 8)
    0.09200011
    >>> round(float(transfer_entropy(A, np.eye(2), 0, 1, base=2)), 6)   # bits
    0.132728
    """
    A, Sigma, F = _validate_var(A, Sigma)
    p, d, _ = A.shape
    s, t, g = _roles(source, target, given, d)
    rows = len(t + g + s)
    if lags is not None:
        k = _check_int(lags, "lags", 1)
        return np.float64(_scale(_te_lags(_autocov(A, Sigma, F, k), s, t, g, k), base))
    k = max(p, 8)
    G = _autocov(A, Sigma, F, 2 * k)
    te = _te_lags(G, s, t, g, k)
    while True:
        if (2 * k + 1) * rows > _TE_MAX_ROWS:
            warnings.warn(
                f"transfer_entropy: the value with history {k} has not converged to 1e-10 nats; "
                "pass a larger `lags` explicitly",
                UserWarning,
                stacklevel=2,
            )
            break
        if 2 * k > G.shape[0] - 1:
            G = _autocov(A, Sigma, F, 2 * k)
        te_next = _te_lags(G, s, t, g, 2 * k)
        converged = abs(te_next - te) <= _TE_TOL
        te, k = te_next, 2 * k
        if converged:
            break
    return np.float64(_scale(te, base))


# --- simulation and estimation -----------------------------------------------------------------


@numpy_core("A", "Sigma")
def simulate_var(
    A: Any,
    Sigma: Any,
    n: int,
    *,
    burn_in: int | None = None,
    seed: np.random.Generator | int | None = None,
) -> np.ndarray:
    r"""Sample path :math:`x_1, \dots, x_n` of a stationary Gaussian VAR(p).

    .. math::

        x_t = \sum_{k=1}^{p} A_k x_{t-k} + e_t, \qquad e_t \sim \mathcal N(0, \Sigma).

    Parameters
    ----------
    A : array-like, shape (p, d, d)
        Lag matrices; must give a stationary VAR.
    Sigma : array-like, shape (d, d)
        Innovation covariance, symmetric positive definite.
    n : int
        Number of time steps returned (>= 1).
    burn_in : int, optional
        ``None`` (default): the p initial values are drawn from the exact
        stationary law (covariance from :func:`autocovariance`), so the path
        is stationary from its first row and nothing is discarded. An int b:
        start from zeros and discard the first b steps (the classical recipe;
        the start-up transient decays like :math:`\rho^b`, ρ the spectral
        radius of :func:`companion_matrix`).
    seed : int, None or numpy.random.Generator, default None
        Random state (see CONTRIBUTING.md, glossary): an int >= 0 for a reproducible
        path, ``None`` for fresh entropy, or a Generator, used as is and advanced.

    Returns
    -------
    numpy.ndarray, shape (n, d)
        Rows are times, columns variables.

    Raises
    ------
    ValueError
        If the VAR is not stationary (the message gives the spectral radius),
        ``Sigma`` is not symmetric positive definite, or the shapes disagree.

    Examples
    --------
    >>> x = simulate_var([[[0.5, 0.0], [0.4, 0.6]]], np.eye(2), 1000, seed=0)
    >>> x.shape, x.dtype
    ((1000, 2), dtype('float64'))
    >>> simulate_var([[[1.01]]], [[1.0]], 10)
    Traceback (most recent call last):
    ...
    ValueError: the VAR is not stationary: the spectral radius of its companion matrix is 1.01 (it must be < 1)
    """
    A, Sigma, F = _validate_var(A, Sigma)
    n = _check_int(n, "n", 1)
    b = 0 if burn_in is None else _check_int(burn_in, "burn_in", 0)
    rng = B.numpy_rng(seed)
    p, d, _ = A.shape
    x = np.zeros((p + b + n, d))
    if burn_in is None:
        V = _stationary_state_covariance(A, Sigma, F)  # Cov of (x_t, ..., x_{t-p+1})
        w, U = np.linalg.eigh(V)
        s0 = U @ (np.sqrt(np.clip(w, 0.0, None)) * rng.standard_normal(d * p))
        x[:p] = s0.reshape(p, d)[::-1]  # oldest first
    e = rng.standard_normal((b + n, d)) @ np.linalg.cholesky(Sigma).T
    A_flat = np.concatenate(list(A), axis=1)  # (d, d p) acting on (x_{t-1}, ..., x_{t-p})
    for t in range(p, p + b + n):
        x[t] = A_flat @ x[t - p : t][::-1].ravel() + e[t - p]
    return x[p + b :].copy()


class VARFit(NamedTuple):
    """Least-squares fit of a VAR(p), returned by :func:`fit_var`."""

    A: np.ndarray
    """Lag matrices, shape (p, d, d)."""
    intercept: np.ndarray
    """Constant term c, shape (d,); zeros when fitted without one."""
    Sigma: np.ndarray
    """Residual covariance with divisor ``df_resid`` (statsmodels' ``sigma_u``)."""
    Sigma_ml: np.ndarray
    """Residual covariance with divisor ``nobs``, the Gaussian ML estimate (``sigma_u_mle``)."""
    residuals: np.ndarray
    """Residuals, shape (nobs, d), for times p, ..., n-1."""
    nobs: int
    """Number of equations used, n - p."""
    df_resid: int
    """``nobs`` minus the regressors per equation, d p (+ 1 with an intercept)."""


def _check_samples(x: Any, lags: int) -> tuple[np.ndarray, int]:
    x = _as_array(x, "x")
    if x.ndim != 2:
        raise ValueError(f"`x` must have shape (n, d) (rows are times; use x[:, None] for one variable), got {x.shape}")
    return x, _check_int(lags, "lags", 1)


def _lagged(x: np.ndarray, cols: Sequence[int], p: int) -> np.ndarray:
    """Regressors (x_{t-1}[cols], ..., x_{t-p}[cols]) for t = p, ..., n-1, lag-major."""
    n = x.shape[0]
    return np.concatenate([x[p - k : n - k][:, list(cols)] for k in range(1, p + 1)], axis=1)


def _ols(Y: np.ndarray, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    coef, *_ = np.linalg.lstsq(Z, Y, rcond=None)
    return coef, Y - Z @ coef


def _design(x: np.ndarray, cols: Sequence[int], p: int, intercept: bool) -> np.ndarray:
    Z = _lagged(x, cols, p)
    if intercept:
        Z = np.concatenate([np.ones((Z.shape[0], 1)), Z], axis=1)
    return Z


def _check_enough(n: int, p: int, k: int) -> int:
    df = n - p - k
    if df < 1:
        raise ValueError(f"too few samples: n = {n} with lags = {p} leaves {n - p} equations for {k} regressors each")
    return df


@numpy_core("x")
def fit_var(x: Any, lags: int, *, intercept: bool = True) -> VARFit:
    r"""Ordinary least-squares fit of a VAR(p) to one sample path.

    For t = p, ..., n-1 (0-based rows of ``x``) each equation regresses
    :math:`x_t` on :math:`z_t = (1, x_{t-1}, \dots, x_{t-p})`:

    .. math::

        \hat B = \arg\min_B \sum_t \lVert x_t - B z_t \rVert^2, \qquad
        \hat\Sigma = \frac{1}{T - k} \sum_t \hat e_t \hat e_t^\top,

    with T = n - p equations and k = d p + 1 regressors each (k = d p without
    intercept). The first p rows serve only as initial values (conditional
    least squares); OLS equation by equation equals the Gaussian conditional
    ML estimate of B, and ``Sigma_ml`` (divisor T) is the ML estimate of Σ.
    This matches ``statsmodels.tsa.api.VAR(x).fit(p)`` (its ``trend='c'``;
    ``intercept=False`` matches ``trend='n'``), whose ``sigma_u`` uses the
    divisor T − k as ``Sigma`` does.

    Parameters
    ----------
    x : array-like, shape (n, d)
        Sample path, rows are times.
    lags : int
        Order p of the VAR (>= 1).
    intercept : bool, default True
        Fit a constant term. Keep it unless the series is known to have mean 0.

    Returns
    -------
    VARFit
        ``A`` (p, d, d), ``intercept`` (d,), ``Sigma``, ``Sigma_ml``,
        ``residuals`` (T, d), ``nobs`` T, ``df_resid`` T − k.

    Raises
    ------
    ValueError
        If ``x`` is not 2-D and finite, or T − k < 1.

    Examples
    --------
    >>> A = [[[0.5, 0.0], [0.4, 0.6]]]
    >>> fit = fit_var(simulate_var(A, np.eye(2), 20_000, seed=1), 1)
    >>> np.round(fit.A[0], 1)
    array([[0.5, 0. ],
           [0.4, 0.6]])
    """
    x, p = _check_samples(x, lags)
    n, d = x.shape
    intercept = bool(intercept)
    Z = _design(x, range(d), p, intercept)
    df_resid = _check_enough(n, p, Z.shape[1])
    coef, resid = _ols(x[p:], Z)
    c = coef[0] if intercept else np.zeros(d)
    Bl = coef[int(intercept) :]  # rows: lag-major (lag 1 vars, lag 2 vars, ...)
    A_hat = np.stack([Bl[k * d : (k + 1) * d].T for k in range(p)])
    rss = resid.T @ resid
    rss = 0.5 * (rss + rss.T)
    T = n - p
    return VARFit(A_hat, c, rss / df_resid, rss / T, resid, T, df_resid)


def _gc_regressions(
    x: np.ndarray, s: tuple[int, ...], t: tuple[int, ...], g: tuple[int, ...], p: int, intercept: bool
) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Residual cross-products (RSS matrices) of the full and restricted regressions of x_t[target]."""
    n = x.shape[0]
    Y = x[p:][:, list(t)]
    Z_full = _design(x, t + g + s, p, intercept)
    Z_red = _design(x, t + g, p, intercept)
    df_full = _check_enough(n, p, Z_full.shape[1])
    _, e_f = _ols(Y, Z_full)
    _, e_r = _ols(Y, Z_red)
    return e_f.T @ e_f, e_r.T @ e_r, n - p, df_full


@numpy_core("x")
def granger_causality_from_samples(
    x: Any,
    source: Variables,
    target: Variables,
    lags: int,
    *,
    given: Variables | None = None,
    intercept: bool = True,
    base: float | None = None,
) -> np.float64:
    r"""Estimate :math:`\mathcal F_{X \to Y \mid Z}` from a sample path by two OLS regressions.

    .. math::

        \hat{\mathcal F} = \log \frac{\det \hat\Sigma_{\mathrm r}}{\det \hat\Sigma_{\mathrm f}},

    where :math:`\hat\Sigma_{\mathrm f}` and :math:`\hat\Sigma_{\mathrm r}` are
    the residual covariances (same divisor T = n − p, so the ratio is a ratio of
    residual sums of squares) of the regressions of :math:`Y_t` on p lags of
    (Y, Z, X) and of (Y, Z). It is the likelihood-ratio statistic divided by
    T, and it estimates ``granger_causality(A, Sigma, ..., lags=p)`` — the
    order-p value, which exceeds the infinite-past value when the restricted
    process is not a finite-order autoregression (the restricted regression
    then misses part of the target's own past); its bias from sampling is
    about J/T upward, J = p dim(X) dim(Y) (see :func:`granger_confidence_interval`).

    Parameters
    ----------
    x : array-like, shape (n, d)
        Sample path, rows are times.
    source, target : int or sequence of int
        Columns of X and Y.
    lags : int
        Number of lags p in both regressions.
    given : int or sequence of int, optional
        Columns of Z; ``None`` means every other column.
    intercept : bool, default True
        Include a constant in both regressions.
    base : float, optional
        ``None`` for nats, ``2`` for bits.

    Returns
    -------
    numpy.float64
        Non-negative (adding regressors never increases the residuals).

    See Also
    --------
    granger_f_test : the same regressions with F and likelihood-ratio tests.

    Examples
    --------
    >>> A = np.array([[[0.5, 0.0], [0.4, 0.6]]])
    >>> x = simulate_var(A, np.eye(2), 20_000, seed=0)
    >>> gc_hat = granger_causality_from_samples(x, 0, 1, lags=2)
    >>> gc_2 = granger_causality(A, np.eye(2), 0, 1, lags=2)      # what it estimates
    >>> round(float(gc_2), 4), bool(abs(gc_hat - gc_2) < 0.025)  # 4 standard errors
    (0.1841, True)
    """
    x, p = _check_samples(x, lags)
    s, t, g = _roles(source, target, given, x.shape[1])
    rss_f, rss_r, _, _ = _gc_regressions(x, s, t, g, p, bool(intercept))
    gc = _logdet(rss_r, "the restricted residual covariance") - _logdet(rss_f, "the full residual covariance")
    return np.float64(_scale(max(gc, 0.0), base))


@numpy_core("x")
def transfer_entropy_from_samples(
    x: Any,
    source: Variables,
    target: Variables,
    lags: int,
    *,
    given: Variables | None = None,
    base: float | None = None,
) -> np.float64:
    r"""Gaussian plug-in estimate of :math:`T_{X \to Y \mid Z}` with histories of length p.

    The vectors :math:`(Y_t, Y^-_p, Z^-_p, X^-_p)`, t = p, ..., n-1, are
    formed from ``x``; their sample covariance :math:`\hat C` (mean removed,
    divisor T = n − p) is plugged into the Gaussian entropies

    .. math::

        \hat T = \bigl[\hat h(Y_t, Y^-_p, Z^-_p) - \hat h(Y^-_p, Z^-_p)\bigr]
        - \bigl[\hat h(Y_t, Y^-_p, Z^-_p, X^-_p) - \hat h(Y^-_p, Z^-_p, X^-_p)\bigr],

    :math:`\hat h(W) = \tfrac12 \log\bigl((2\pi e)^m \det \hat C_W\bigr)`. A
    Schur complement of a sample covariance is the residual covariance of the
    OLS regression with intercept, so this equals half of
    ``granger_causality_from_samples(..., intercept=True)`` up to rounding,
    though it is computed without any regression.

    Parameters
    ----------
    x : array-like, shape (n, d)
        Sample path, rows are times.
    source, target : int or sequence of int
        Columns of X and Y.
    lags : int
        History length p.
    given : int or sequence of int, optional
        Columns of Z; ``None`` means every other column.
    base : float, optional
        ``None`` for nats, ``2`` for bits.

    Returns
    -------
    numpy.float64

    Examples
    --------
    >>> x = simulate_var([[[0.5, 0.0], [0.4, 0.6]]], np.eye(2), 20_000, seed=0)
    >>> te = transfer_entropy_from_samples(x, 0, 1, lags=2)
    >>> bool(abs(2 * te - granger_causality_from_samples(x, 0, 1, lags=2)) < 1e-12)
    True
    """
    x, p = _check_samples(x, lags)
    n, d = x.shape
    s, t, g = _roles(source, target, given, d)
    _check_enough(n, p, 1 + p * len(t + g + s))
    h_cond = []
    for obs in (t + g, t + g + s):
        W = np.concatenate([x[p:][:, list(t)], _lagged(x, obs, p)], axis=1)
        C = np.cov(W, rowvar=False, bias=True).reshape(W.shape[1], W.shape[1])
        past = list(range(len(t), W.shape[1]))
        h_cond.append(_gaussian_entropy(C) - _gaussian_entropy(C[np.ix_(past, past)]))
    return np.float64(_scale(max(h_cond[0] - h_cond[1], 0.0), base))


class GrangerTest(NamedTuple):
    """Result of :func:`granger_f_test`."""

    gc: float
    """Estimated Granger causality in nats (:func:`granger_causality_from_samples`)."""
    f_stat: float
    """Wald statistic divided by ``df_num``."""
    df_num: int
    """Number of zero restrictions, p · dim(source) · dim(target)."""
    df_denom: int
    """dim(target) · (T − k), k the regressors per equation of the full regression."""
    p_value: float
    """Upper tail of F(df_num, df_denom) at ``f_stat``."""
    lr_stat: float
    """Likelihood-ratio statistic T · gc, asymptotically χ²(df_num) under no causality."""
    lr_p_value: float
    """Upper tail of χ²(df_num) at ``lr_stat``."""
    nobs: int
    """T = n − p, the number of equations."""


@numpy_core("x")
def granger_f_test(
    x: Any,
    source: Variables,
    target: Variables,
    lags: int,
    *,
    given: Variables | None = None,
    intercept: bool = True,
) -> GrangerTest:
    r"""Test "X does not Granger-cause Y" with the F (Wald) and likelihood-ratio statistics.

    From the full and restricted OLS regressions of
    :func:`granger_causality_from_samples`, with residual sum-of-squares
    matrices :math:`\mathrm{RSS}_\mathrm f`, :math:`\mathrm{RSS}_\mathrm r`,
    T equations and k regressors in each full equation:

    .. math::

        W = (T - k)\, \operatorname{tr}\bigl(\mathrm{RSS}_\mathrm f^{-1}
        \mathrm{RSS}_\mathrm r - I\bigr), \qquad
        F = W / J, \qquad J = p\,|X|\,|Y|,

    which is the Wald statistic of the J zero restrictions with the
    coefficient covariance :math:`\hat\Sigma_{YY} \otimes (Z^\top Z)^{-1}`
    (Lütkepohl 2005, §3.6.1). For one target variable it is the classical
    :math:`F = \frac{(\mathrm{RSS}_\mathrm r - \mathrm{RSS}_\mathrm f)/J}{\mathrm{RSS}_\mathrm f/(T-k)}`.
    The p-value uses F(J, dim(Y) (T − k)); for one target this is the exact
    small-sample F test of linear regression and matches
    ``statsmodels.tsa.stattools.grangercausalitytests``' ``ssr_ftest``.
    ``VARResults.test_causality(kind='f')`` reports the same F statistic but
    refers it to F(J, d (T − k)) with d the number of variables of the whole
    system, so its p-value differs slightly.

    The likelihood-ratio statistic :math:`T \hat{\mathcal F}` is asymptotically
    :math:`\chi^2_J` under the null (Geweke 1982).

    Parameters
    ----------
    x : array-like, shape (n, d)
        Sample path, rows are times.
    source, target : int or sequence of int
        Columns of X and Y.
    lags : int
        Number of lags p.
    given : int or sequence of int, optional
        Columns of Z; ``None`` means every other column.
    intercept : bool, default True
        Include a constant in both regressions.

    Returns
    -------
    GrangerTest

    Examples
    --------
    >>> x = simulate_var([[[0.5, 0.0], [0.4, 0.6]]], np.eye(2), 2_000, seed=0)
    >>> bool(granger_f_test(x, 0, 1, lags=2).p_value < 1e-10)    # x causes y
    True
    >>> bool(granger_f_test(x, 1, 0, lags=2).p_value > 0.01)     # y does not cause x
    True
    """
    x, p = _check_samples(x, lags)
    s, t, g = _roles(source, target, given, x.shape[1])
    rss_f, rss_r, T, df_full = _gc_regressions(x, s, t, g, p, bool(intercept))
    m = len(t)
    gc = max(_logdet(rss_r, "the restricted residual covariance") - _logdet(rss_f, "the full residual covariance"), 0.0)
    wald = df_full * float(np.trace(np.linalg.solve(rss_f, rss_r)) - m)
    wald = max(wald, 0.0)
    J = p * len(s) * m
    f_stat = wald / J
    df_denom = m * df_full
    lr = T * gc
    from scipy import stats  # here, not at import: scipy.stats costs 0.6 s of every `import semlib`

    return GrangerTest(
        gc=float(gc),
        f_stat=float(f_stat),
        df_num=J,
        df_denom=df_denom,
        p_value=float(stats.f.sf(f_stat, J, df_denom)),
        lr_stat=float(lr),
        lr_p_value=float(stats.chi2.sf(lr, J)),
        nobs=T,
    )


def _ncx2_cdf(x: float, df: int, nc: float) -> float:
    from scipy import stats

    return float(stats.chi2.cdf(x, df)) if nc <= 0 else float(stats.ncx2.cdf(x, df, nc))


def _ci_one(gc: float, nobs: int, df: int, level: float) -> tuple[float, float]:
    s = nobs * gc
    lo_q, hi_q = 1.0 - (1.0 - level) / 2.0, (1.0 - level) / 2.0

    def lam_for(q: float) -> float:
        # cdf(s; df, lam) decreases in lam; find lam with cdf = q (0 if cdf(s; df, 0) <= q).
        if _ncx2_cdf(s, df, 0.0) <= q:
            return 0.0
        hi = max(1.0, 2.0 * s)
        while _ncx2_cdf(s, df, hi) > q:
            hi *= 2.0
        return float(optimize.brentq(lambda lam: _ncx2_cdf(s, df, lam) - q, 0.0, hi, xtol=1e-12, rtol=1e-12))

    return lam_for(lo_q) / nobs, lam_for(hi_q) / nobs


@numpy_core("gc", "nobs")
def granger_confidence_interval(gc: Any, nobs: Any, df: int, *, level: float = 0.95) -> tuple[Any, Any]:
    r"""Asymptotic confidence interval for Granger causality from its estimate.

    Under local alternatives the likelihood-ratio statistic
    :math:`T \hat{\mathcal F}` is asymptotically non-central
    :math:`\chi^2_J(\lambda)` with :math:`\lambda = T \mathcal F` (Wald 1943;
    used for Granger causality by Barnett and Seth's MVGC toolbox). The
    interval inverts that family (a Neyman construction): its ends are
    :math:`\lambda/T` for the λ with

    .. math::

        P_\lambda\bigl(\chi^2_J(\lambda) \le T\hat{\mathcal F}\bigr) = 1 - \alpha/2
        \quad\text{(lower)}, \qquad = \alpha/2 \quad\text{(upper)},

    α = 1 − ``level``; the lower end is 0 when even λ = 0 puts
    :math:`T\hat{\mathcal F}` below its :math:`1-\alpha/2` quantile (then
    "no causality" is not rejected at level α/2). The approximation is sound
    when :math:`\mathcal F` is of order J/T or smaller; for a large, fixed
    :math:`\mathcal F` the spread of :math:`\hat{\mathcal F}` differs from the
    non-central χ² prediction (:math:`\approx \sqrt{4\mathcal F/T}`) by a
    model-dependent factor, so read wide bands there as approximate.

    Parameters
    ----------
    gc : float or array-like
        Estimates :math:`\hat{\mathcal F}` in **nats**
        (:func:`granger_causality_from_samples`, ``GrangerTest.gc``).
    nobs : int or array-like
        T, the number of regression equations (``GrangerTest.nobs``);
        broadcast against ``gc``.
    df : int
        J = p · dim(source) · dim(target) (``GrangerTest.df_num``).
    level : float, default 0.95
        Coverage, in (0, 1).

    Returns
    -------
    (lower, upper) : numpy.float64 or numpy.ndarray
        Interval ends in nats, with the broadcast shape of ``gc`` and ``nobs``.

    Examples
    --------
    >>> lo, hi = granger_confidence_interval(0.184, 20_000, df=2)
    >>> bool(lo < 0.184 < hi), round(float(hi - lo), 3)
    (True, 0.024)
    >>> float(granger_confidence_interval(0.0001, 20_000, df=2)[0])   # not significant
    0.0
    """
    df = _check_int(df, "df", 1)
    if isinstance(level, bool) or not isinstance(level, numbers.Real) or not 0.0 < float(level) < 1.0:
        raise ValueError(f"`level` must be a number in (0, 1), got {level!r}")
    gc_a = _as_array(gc, "gc")
    nobs_a = _as_array(nobs, "nobs")
    if (gc_a < 0).any():
        raise ValueError("`gc` must be non-negative (an estimate in nats)")
    if (nobs_a < 1).any() or (nobs_a != np.round(nobs_a)).any():
        raise ValueError("`nobs` must hold positive integers")
    gc_b, nobs_b = np.broadcast_arrays(gc_a, nobs_a)
    lo = np.empty(gc_b.shape)
    hi = np.empty(gc_b.shape)
    for idx in np.ndindex(gc_b.shape):
        lo[idx], hi[idx] = _ci_one(float(gc_b[idx]), int(nobs_b[idx]), df, float(level))
    if lo.ndim == 0:
        return np.float64(lo), np.float64(hi)
    return lo, hi
