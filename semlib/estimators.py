r"""Sample estimators of mutual and directed information: variational lower bounds, MINE and DINE.

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

**Neural estimators** (§V-F of the paper, Eq. 77, and chapter 5):
:class:`MineObjective` and :func:`train_mine` (the Donsker–Varadhan bound
trained with MINE's moving-average gradient), and :class:`DineCritic`,
:func:`train_dine` and :func:`dine_estimate`, a DINE-style estimator of the
directed information rate whose critics read the history through causal
encoders (recurrent, windowed or causal attention).

The Gaussian closed forms these estimators are tested against live in
:mod:`semlib.gaussian`.

Units: nats unless ``base=2``. Backends: numpy in, numpy out (float64); torch in,
torch out on the same device, differentiable where the formula is.

Paper: §IV-D, Eq. 43; §V-F, Eq. 77. Book: chapter *Optimal semantic embedding*
(``04_token_semantics/optimal_embedding``) for the critic bounds, reused with MINE and
DINE in chapter *Estimating directed information* (``05_autoregressive/information_measures``).

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
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

from . import _backend as B
from .info import _scale

__all__ = [
    "infonce_loss",
    "infonce_bound",
    "infonce_from_critic",
    "BilinearCritic",
    "GaussianCritic",
    "correlated_gaussian_batches",
    "gaussian_ratio_scores",
    "gaussian_ratio_critic",
    "ConcatCritic",
    "nwj_bound",
    "dv_bound",
    "joint_and_marginal_scores",
    "MineObjective",
    "MineHistory",
    "train_mine",
    "DineCritic",
    "DineHistory",
    "train_dine",
    "dine_estimate",
]

# --- helpers --------------------------------------------------------------------------------------


def _as_tensor(x: Any, name: str) -> tuple[Any, bool]:
    """Return (float tensor, was_numpy)."""
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

    Torch-only (it calls a torch critic): ``x`` and ``c`` must be torch tensors.

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
    B.require_torch(x, "x")
    B.require_torch(c, "c")
    if not callable(critic):
        raise TypeError(f"`critic` must be callable, got {type(critic).__name__}")
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


class BilinearCritic(nn.Module):
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
        self.W = nn.Parameter(torch.zeros(int(dim_x), int(dim_c), dtype=dtype, device=device))

    def forward(self, x: Any, c: Any) -> Any:
        return ((x @ self.W) * c).sum(-1)

    def scores(self, x: Any, c: Any) -> Any:
        return c @ self.W.T @ x.T


class GaussianCritic(BilinearCritic):
    r"""CPC's bilinear critic plus the quadratic term of a Gaussian density ratio.

    .. math::

        \log f(x, c) = x^\top W c - q\,\lVert x\rVert^2 .

    For jointly Gaussian, zero-mean :math:`(x, c)` the log density ratio
    :math:`\log p(x\mid c)/p(x)` is a quadratic form; InfoNCE (Eq. 43 of the
    paper, read as CPC) cancels the terms in c alone within each row of the score
    matrix, so this critic is optimal for the Gaussian pairs of the chapter
    *Eq. 42 and CPC* (``04_token_semantics/contrastive_coding``), where one
    such critic per horizon k is trained by :func:`infonce_from_critic`.
    Torch-only (a ``torch.nn.Module``).

    Parameters
    ----------
    dim_x, dim_c : int
        Dimensions of the sample and the context, as in :class:`BilinearCritic`.
    dtype, device : optional
        Passed to both parameters (``W`` and the scalar ``q``, which start at 0).

    Examples
    --------
    >>> critic = GaussianCritic(1, 1, dtype=torch.float64)
    >>> x, c = torch.ones(3, 1, dtype=torch.float64), torch.ones(3, 1, dtype=torch.float64)
    >>> tuple(critic.scores(x, c).shape)
    (3, 3)
    """

    def __init__(self, dim_x: int, dim_c: int, dtype: Any = None, device: Any = None) -> None:
        super().__init__(dim_x, dim_c, dtype=dtype, device=device)
        self.q = nn.Parameter(torch.zeros((), dtype=self.W.dtype, device=device))

    def forward(self, x: Any, c: Any) -> Any:
        return super().forward(x, c) - self.q * (x**2).sum(-1)

    def scores(self, x: Any, c: Any) -> Any:
        return super().scores(x, c) - self.q * (x**2).sum(1)[None, :]


def _check_rho(rho: Any) -> float:
    if isinstance(rho, bool) or not isinstance(rho, numbers.Real):
        raise TypeError(f"`rho` must be a real number, got {type(rho).__name__}")
    if not -1.0 < float(rho) < 1.0:
        raise ValueError(f"`rho` must lie in (-1, 1), got {rho!r}")
    return float(rho)


def correlated_gaussian_batches(rho: float, d: int, K: int, R: int, seed: Any = 0) -> tuple[np.ndarray, np.ndarray]:
    r"""R batches of K pairs of d-dimensional Gaussian vectors, coordinate-wise correlated.

    .. math::

        y = \rho\, x + \sqrt{1-\rho^2}\, \varepsilon, \qquad x, \varepsilon \sim \mathcal N(0, I_d),
        \qquad I(X; Y) = -\tfrac d2 \log(1-\rho^2).

    The test bed of InfoNCE's :math:`\log K` ceiling (Eq. 43 of the paper, chapter
    *Eq. 42 and CPC*, ``04_token_semantics/contrastive_coding``).

    Parameters
    ----------
    rho : float in (-1, 1)
        Correlation of each coordinate pair.
    d, K, R : int >= 1
        Dimension, batch size (pairs per batch) and number of batches.
    seed : int, None or numpy.random.Generator
        Draws x first, then the noise (a Generator is used as it is and advanced).

    Returns
    -------
    x, y : numpy arrays of shape (R, K, d)

    Examples
    --------
    >>> x, y = correlated_gaussian_batches(0.5, 2, 8, 3, seed=0)
    >>> x.shape, y.shape
    ((3, 8, 2), (3, 8, 2))
    """
    r = _check_rho(rho)
    for name, v in (("d", d), ("K", K), ("R", R)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
            raise ValueError(f"`{name}` must be a positive int, got {v!r}")
    g = B.numpy_rng(seed)
    x = g.standard_normal((int(R), int(K), int(d)))
    y = r * x + math.sqrt(1 - r**2) * g.standard_normal((int(R), int(K), int(d)))
    return x, y


def _gaussian_log_ratio(x: Any, y: Any, r: float) -> Any:
    """log p(y | x) / p(y) for the correlated Gaussian pair, summed over the last axis (broadcasting)."""
    v = 1 - r**2
    return (-0.5 * math.log(v) - (y - r * x) ** 2 / (2 * v) + y**2 / 2).sum(-1)


def gaussian_ratio_scores(x: Any, y: Any, rho: float) -> Any:
    r"""Score matrices of the optimal critic for :func:`correlated_gaussian_batches`.

    .. math::

        s_{ij} = \log\frac{p(y_j\mid x_i)}{p(y_j)} = \sum_{l=1}^{d}\Bigl[-\tfrac12\log v
        - \frac{(y_{jl} - \rho x_{il})^2}{2v} + \frac{y_{jl}^2}{2}\Bigr], \qquad v = 1-\rho^2,

    row i the context :math:`x_i`, column j the candidate :math:`y_j`, positives on the
    diagonal, as :func:`infonce_loss` expects (the density-ratio critic that makes
    InfoNCE tight up to :math:`\log K`; Eq. 43 of the paper).

    Parameters
    ----------
    x, y : array-like or torch.Tensor, shape (..., K, d)
        Contexts and samples (same shape, same backend).
    rho : float in (-1, 1)

    Returns
    -------
    array of shape (..., K, K), the backend of ``x``

    Examples
    --------
    >>> x, y = correlated_gaussian_batches(0.8, 1, 4, 1, seed=0)
    >>> gaussian_ratio_scores(x, y, 0.8).shape
    (1, 4, 4)
    """
    r = _check_rho(rho)
    xa = B.as_float_array(x, "x")
    ya = B.as_float_array(y, "y")
    B.check_same_backend(xa, "x", ya, "y")
    if xa.ndim < 2 or tuple(xa.shape) != tuple(ya.shape):
        raise ValueError(
            f"`x` and `y` must have the same shape (..., K, d), got {tuple(xa.shape)} and {tuple(ya.shape)}"
        )
    _check_finite(xa, "x")
    _check_finite(ya, "y")
    return _gaussian_log_ratio(xa[..., :, None, :], ya[..., None, :, :], r)


def gaussian_ratio_critic(x: Any, y: Any, rho: float) -> Any:
    r"""The optimal critic of :func:`correlated_gaussian_batches` on paired rows.

    .. math::

        T(x, y) = \log\frac{p(y\mid x)}{p(y)} = \sum_{l=1}^{d}\Bigl[-\tfrac12\log v
        - \frac{(y_l - \rho x_l)^2}{2v} + \frac{y_l^2}{2}\Bigr], \qquad v = 1-\rho^2,

    the diagonal of :func:`gaussian_ratio_scores` without the (K, K) matrix: the exact
    log-density ratio that makes the Donsker–Varadhan bound tight (:func:`dv_bound`, the
    critic of MINE, Eq. 77 of the paper). Its mean over jointly drawn pairs is
    :math:`I(X; Y) = -\tfrac d2\log(1-\rho^2)`. Book: chapter *Information measures of
    AR-LLMs* (``05_autoregressive/information_measures``), where it shows the estimation
    limit of DV at large information.

    Parameters
    ----------
    x, y : array-like or torch.Tensor, shape (..., d)
        Paired rows (same shape, same backend); shuffle ``y`` to score product-law pairs.
    rho : float in (-1, 1)
        Correlation of each coordinate pair.

    Returns
    -------
    array of shape (...,), the backend of ``x`` (a Python float for one numpy pair)

    Raises
    ------
    TypeError
        If ``rho`` is not a real number or ``x`` and ``y`` mix backends.
    ValueError
        If ``rho`` is outside (-1, 1), the shapes differ or an entry is not finite.

    Examples
    --------
    >>> x, y = correlated_gaussian_batches(0.8, 1, 4, 1, seed=0)
    >>> gaussian_ratio_critic(x[0], y[0], 0.8).shape
    (4,)
    """
    r = _check_rho(rho)
    xa = B.as_float_array(x, "x")
    ya = B.as_float_array(y, "y")
    B.check_same_backend(xa, "x", ya, "y")
    if xa.ndim < 1 or tuple(xa.shape) != tuple(ya.shape):
        raise ValueError(f"`x` and `y` must have the same shape (..., d), got {tuple(xa.shape)} and {tuple(ya.shape)}")
    _check_finite(xa, "x")
    _check_finite(ya, "y")
    out = _gaussian_log_ratio(xa, ya, r)
    return float(out) if not B.is_torch(out) and out.ndim == 0 else out


class ConcatCritic(nn.Module):
    r"""A critic :math:`T(x, y)` that reads the concatenated pair with a small MLP.

    .. math::

        T(x, y) = w_3^\top \mathrm{ELU}\bigl(W_2\,\mathrm{ELU}(W_1 [x; y] + b_1) + b_2\bigr) + b_3 ,

    the unstructured critic of MINE (Belghazi et al. 2018), trained with :func:`train_mine` on
    the Donsker–Varadhan bound (:func:`dv_bound`; Eq. 77 of the paper). Unlike
    :class:`GaussianCritic` it knows nothing of the law of the pair. Torch-only (a
    ``torch.nn.Module``); initialised from torch's global generator, so seed with
    ``torch.manual_seed`` first. Book: chapter *Information measures of AR-LLMs*
    (``05_autoregressive/information_measures``).

    Parameters
    ----------
    dim_x, dim_y : int >= 1
        Dimensions of the two members of a pair.
    hidden : int >= 1
        Width of the two hidden layers.
    dtype, device : optional
        Passed to the layers.

    Raises
    ------
    ValueError
        If a dimension or ``hidden`` is not a positive int.

    Examples
    --------
    >>> critic = ConcatCritic(2, 2, hidden=8)
    >>> tuple(critic(torch.zeros(5, 2), torch.zeros(5, 2)).shape)
    (5,)
    """

    def __init__(self, dim_x: int, dim_y: int, hidden: int = 64, dtype: Any = None, device: Any = None) -> None:
        for name, v in (("dim_x", dim_x), ("dim_y", dim_y), ("hidden", hidden)):
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < 1:
                raise ValueError(f"`{name}` must be a positive int, got {v!r}")
        super().__init__()
        kw = {"dtype": dtype, "device": device}
        self.dim_x, self.dim_y = int(dim_x), int(dim_y)
        self.net = nn.Sequential(
            nn.Linear(self.dim_x + self.dim_y, int(hidden), **kw),
            nn.ELU(),
            nn.Linear(int(hidden), int(hidden), **kw),
            nn.ELU(),
            nn.Linear(int(hidden), 1, **kw),
        )

    def forward(self, x: Any, y: Any) -> Any:
        B.require_torch(x, "x")
        B.require_torch(y, "y")
        if x.shape[-1] != self.dim_x or y.shape[-1] != self.dim_y:
            raise ValueError(
                f"`x` and `y` must end in dimensions ({self.dim_x}, {self.dim_y}), got {tuple(x.shape)}, {tuple(y.shape)}"
            )
        return self.net(torch.cat([x, y], -1)).squeeze(-1)


# --- NWJ and Donsker–Varadhan ---------------------------------------------------------------------


def _check_joint_marginal(joint: Any, marginal: Any) -> tuple[Any, Any, bool]:
    j, was_numpy = _as_tensor(joint, "joint")
    m, _ = _as_tensor(marginal, "marginal")
    B.check_same_backend(joint, "joint", marginal, "marginal")
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
    K = s.shape[0]
    off = ~torch.eye(K, dtype=torch.bool, device=s.device)
    joint, marg = torch.diagonal(s), s[off]
    if was_numpy:
        return joint.numpy(), marg.numpy()
    return joint, marg


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
        # Checked as `object`: to the checker a float is no numbers.Real, so the rest would be unreachable.
        rate: object = ema_rate
        if isinstance(rate, bool) or not isinstance(rate, numbers.Real):
            raise TypeError(f"`ema_rate` must be a real number, got {ema_rate!r}")
        if not 0.0 < float(rate) <= 1.0:
            raise ValueError(f"`ema_rate` must lie in (0, 1], got {ema_rate}")
        self.ema_rate = float(rate)
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
    seed: Any = None,
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
    seed : int, None or torch.Generator, optional
        Source of the permutations (drawn on the CPU): an int >= 0 (reproducible), None (fresh
        entropy) or a CPU ``torch.Generator`` (used as given and advanced).
    progress : bool, default True
        Show a tqdm progress bar.

    Returns
    -------
    MineHistory
        ``history["dv"]`` the DV bound on each training batch (a noisy
        estimate; evaluate on held-out data with :func:`dv_bound` for the
        number to report) and ``history["loss"]``.
    """
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
    gen = B.torch_generator(seed, device="cpu")
    dvs, losses = [], []
    for _ in tqdm(range(steps), disable=not progress, desc="MINE" if objective else "DV"):
        x, y = sample_fn()
        if (
            not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor))
            or x.shape[0] != y.shape[0]
            or x.shape[0] < 2
        ):
            raise ValueError("`sample_fn()` must return two tensors with the same first dimension B >= 2")
        perm = torch.randperm(x.shape[0], generator=gen).to(y.device)
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


class _CausalAttention(nn.Module):
    """Pre-norm causal self-attention blocks with learned positions (a tiny Transformer decoder)."""

    def __init__(self, d_in: int, hidden: int, heads: int, layers: int, max_len: int) -> None:
        super().__init__()
        self.embed = nn.Linear(d_in, hidden)
        self.pos = nn.Parameter(0.02 * torch.randn(max_len, hidden))
        self.blocks = nn.ModuleList()
        for _ in range(layers):
            self.blocks.append(
                nn.ModuleDict(
                    {
                        "ln1": nn.LayerNorm(hidden),
                        "attn": nn.MultiheadAttention(hidden, heads, batch_first=True),
                        "ln2": nn.LayerNorm(hidden),
                        "mlp": nn.Sequential(nn.Linear(hidden, 2 * hidden), nn.GELU(), nn.Linear(2 * hidden, hidden)),
                    }
                )
            )
        self.max_len = max_len

    def forward(self, tokens: Any) -> Any:
        T = tokens.shape[1]
        if T > self.max_len:
            raise ValueError(f"sequences of length {T} exceed `max_len` = {self.max_len}")
        h = self.embed(tokens) + self.pos[:T]
        mask = torch.triu(torch.ones(T, T, dtype=torch.bool, device=tokens.device), diagonal=1)
        for blk in self.blocks:
            assert isinstance(blk, nn.ModuleDict)  # ModuleList yields plain Modules to the checker
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
        win = padded.unfold(1, self.window, 1)  # (B, T, d, window)
        return self.net(win.transpose(-1, -2).reshape(B, T, self.window * d))


class _GRU(nn.Module):
    def __init__(self, d_in: int, hidden: int) -> None:
        super().__init__()
        self.rnn = nn.GRU(d_in, hidden, batch_first=True)

    def forward(self, tokens: Any) -> Any:
        return self.rnn(tokens)[0]


class _Branch(nn.Module):
    """History encoder + critic head :math:`T(y_t, h_t)`."""

    def __init__(
        self, d_tok: int, dim_y: int, encoder: str, hidden: int, heads: int, layers: int, max_len: int, window: int
    ) -> None:
        super().__init__()
        self.encoder: nn.Module
        if encoder == "gru":
            self.encoder = _GRU(d_tok, hidden)
        elif encoder == "attention":
            self.encoder = _CausalAttention(d_tok, hidden, heads, layers, max_len)
        else:
            self.encoder = _CausalWindow(d_tok, hidden, window)
        self.head = nn.Sequential(
            nn.Linear(dim_y + hidden, hidden), nn.ELU(), nn.Linear(hidden, hidden), nn.ELU(), nn.Linear(hidden, 1)
        )

    def forward(self, tokens: Any, y: Any, y_marg: Any) -> tuple[Any, Any]:
        h = self.encoder(tokens)
        both = self.head(torch.cat([torch.cat([y, y_marg], 0), torch.cat([h, h], 0)], -1)).squeeze(-1)
        return both[: y.shape[0]], both[y.shape[0] :]


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

    def __init__(
        self,
        dim_x: int,
        dim_y: int,
        encoder: str = "gru",
        hidden: int = 32,
        heads: int = 2,
        layers: int = 1,
        max_len: int = 256,
        window: int = 8,
    ) -> None:
        for name, v in (
            ("dim_x", dim_x),
            ("dim_y", dim_y),
            ("hidden", hidden),
            ("heads", heads),
            ("layers", layers),
            ("max_len", max_len),
            ("window", window),
        ):
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


def _check_sequences(x: Any, y: Any, critic: Any) -> None:
    if not (isinstance(x, torch.Tensor) and isinstance(y, torch.Tensor)):
        raise TypeError("`x` and `y` must be torch tensors")
    if x.ndim != 3 or y.ndim != 3:
        raise ValueError(f"`x` and `y` must have shape (N, T, d), got {tuple(x.shape)} and {tuple(y.shape)}")
    if x.shape[:2] != y.shape[:2]:
        raise ValueError(f"`x` and `y` must share (N, T), got {tuple(x.shape[:2])} and {tuple(y.shape[:2])}")
    if x.shape[0] < 2:
        raise ValueError("need at least N = 2 sequences")
    if x.shape[-1] != critic.dim_x or y.shape[-1] != critic.dim_y:
        raise ValueError(
            f"`x`, `y` have dimensions {x.shape[-1]}, {y.shape[-1]}; the critic expects {critic.dim_x}, {critic.dim_y}"
        )
    _check_finite(x, "x")
    _check_finite(y, "y")


def _check_burn_in(burn_in: Any, T: int) -> int:
    if isinstance(burn_in, bool) or not isinstance(burn_in, numbers.Integral) or not 0 <= int(burn_in) < T:
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
    seed: Any = None,
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
    seed : int, None or torch.Generator, optional
        Source of the batches and permutations (drawn on the CPU): an int >= 0 (reproducible), None (fresh
        entropy) or a CPU ``torch.Generator`` (used as given and advanced).
    progress : bool, default True

    Returns
    -------
    DineHistory
        Training-batch values of both DV bounds and their difference; for the
        number to report use :func:`dine_estimate` on held-out sequences.
    """
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
    batch = min(int(batch_size), N)
    gen = B.torch_generator(seed, device="cpu")
    opt = torch.optim.Adam(critic.parameters(), lr=float(lr))
    objectives = None if ema_rate is None else (MineObjective(ema_rate), MineObjective(ema_rate))
    rec: dict[str, list[float]] = {"dv_xy": [], "dv_y": [], "di": []}
    for _ in tqdm(range(steps), disable=not progress, desc="DINE"):
        idx = torch.randperm(N, generator=gen)[:batch].to(x.device)
        perm = torch.randperm(batch, generator=gen).to(x.device)
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
    critic: Any,
    x: Any,
    y: Any,
    burn_in: int = 0,
    n_shuffles: int = 8,
    seed: Any = None,
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
    seed : int, None or torch.Generator, optional
        Source of the permutations (drawn on the CPU): an int >= 0 (reproducible), None (fresh
        entropy) or a CPU ``torch.Generator`` (used as given and advanced).
    base : float, optional
        ``None`` for nats, ``2`` for bits.

    Returns
    -------
    dict
        ``{"di": ..., "dv_xy": ..., "dv_y": ...}`` as floats.
    """
    if not isinstance(critic, torch.nn.Module) or not hasattr(critic, "xy"):
        raise TypeError(f"`critic` must be a DineCritic, got {type(critic).__name__}")
    _check_sequences(x, y, critic)
    t0 = _check_burn_in(burn_in, x.shape[1])
    _check_steps(n_shuffles, "n_shuffles")
    gen = B.torch_generator(seed, device="cpu")
    joints: dict[str, Any] = {}
    margs: dict[str, list[Any]] = {"xy": [], "y": []}
    was_training = critic.training
    critic.eval()
    with torch.no_grad():
        for _ in range(int(n_shuffles)):
            perm = torch.randperm(x.shape[0], generator=gen).to(x.device)
            jxy, mxy, jy, my = critic(x, y, perm)
            joints["xy"], joints["y"] = jxy[:, t0:], jy[:, t0:]
            margs["xy"].append(mxy[:, t0:])
            margs["y"].append(my[:, t0:])
    critic.train(was_training)
    dv_xy = float(dv_bound(joints["xy"], torch.stack(margs["xy"])))
    dv_y = float(dv_bound(joints["y"], torch.stack(margs["y"])))
    out = {"di": dv_xy - dv_y, "dv_xy": dv_xy, "dv_y": dv_y}
    return {k: float(_scale(v, base)) for k, v in out.items()}
