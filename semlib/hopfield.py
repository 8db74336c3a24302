r"""Memory capacity: classical and modern Hopfield networks, and the perceptron.

The paper's §V-E measures the memory of a Transformer by the *Gardner capacity*
(Definition 14, Eq. 76): the largest number :math:`N_P` of random patterns a
Hopfield network of :math:`n` neurons can memorise, divided by :math:`n`. Three
models make the definition concrete.

* The **classical Hopfield network** [1]_: states :math:`s \in \{-1, +1\}^n`,
  Hebbian couplings :math:`W = \frac1n \sum_\mu \xi^\mu \xi^{\mu\top}` with zero
  diagonal, sign updates. Its capacity depends on what "memorised" means:
  retrieval with a small fraction of wrong bits works up to the load
  :math:`\alpha = P/n \approx 0.138` (Amit, Gutfreund and Sompolinsky [2]_);
  every stored pattern an *exact* fixed point only up to
  :math:`P \approx n / (2 \ln n)` per pattern, :math:`n / (4 \ln n)` for all
  patterns at once (McEliece et al. [3]_).
* The **perceptron**, i.e. one neuron of a Hopfield network whose couplings
  are free (Gardner [4]_): :math:`P` random points in general position in
  :math:`\mathbb{R}^n` have :math:`C(P, n) = 2\sum_{k<n}\binom{P-1}{k}` linearly
  separable dichotomies (Cover [5]_), so the capacity is :math:`\alpha = 2`.
* The **modern (continuous) Hopfield network** of Ramsauer et al. [6]_ (the
  paper's [93]): :math:`\xi \leftarrow X\,\mathrm{softmax}(\beta X^\top \xi)`,
  one step of attention, storing a number of patterns exponential in the
  dimension.

Tensors: torch in, torch out (float64 by default); randomness through ``seed``
(see CONTRIBUTING.md, glossary): an int (reproducible; the default is 0), ``None``
(fresh entropy, a different result on every call, as in ``numpy.random.default_rng``)
or a ``torch.Generator``, used as is and advanced. Book: chapter *Memory capacity* (§V-E of the paper).

References
----------
.. [1] J. Hopfield, "Neural networks and physical systems with emergent
   collective computational abilities," PNAS 79 (1982).
.. [2] D. Amit, H. Gutfreund, H. Sompolinsky, "Storing infinite numbers of
   patterns in a spin-glass model of neural networks," PRL 55 (1985).
.. [3] R. McEliece, E. Posner, E. Rodemich, S. Venkatesh, "The capacity of the
   Hopfield associative memory," IEEE Trans. Inf. Theory 33 (1987).
.. [4] E. Gardner, "The space of interactions in neural network models,"
   J. Phys. A 21 (1988).
.. [5] T. Cover, "Geometrical and statistical properties of systems of linear
   inequalities with applications in pattern recognition," IEEE Trans.
   Electron. Comput. 14 (1965).
.. [6] H. Ramsauer et al., "Hopfield networks is all you need," ICLR 2021,
   arXiv:2008.02217.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from ._backend import numpy_core, numpy_rng, torch_core, torch_generator

__all__ = [
    "AGS_CAPACITY",
    "GARDNER_CAPACITY",
    "random_patterns",
    "flip_bits",
    "hebbian_weights",
    "is_fixed_point",
    "hopfield_update",
    "HopfieldCapacity",
    "hopfield_capacity",
    "crosstalk_bit_error",
    "mceliece_capacity",
    "half_load",
    "linearly_separable",
    "cover_count",
    "cover_fraction",
    "separability_fraction",
    "sphere_patterns",
    "modern_hopfield_update",
    "modern_hopfield_energy",
    "ModernCapacity",
    "modern_hopfield_capacity",
    "RamsauerBound",
    "ramsauer_capacity_bound",
]

#: Load at which Hebbian retrieval with a small error breaks down (Amit et al. 1985).
AGS_CAPACITY = 0.138
#: Gardner's capacity of a neuron with free couplings, zero stability margin.
GARDNER_CAPACITY = 2.0


# --- helpers ---------------------------------------------------------------------------------


def _positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}")
    return int(value)


def _tensor(x, name: str, min_dim: int = 1) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"`{name}` must be a floating tensor, got dtype {x.dtype}")
    if x.dim() < min_dim:
        raise ValueError(f"`{name}` must have at least {min_dim} dimensions, got shape {tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"`{name}` must be finite")
    return x


def _spins(x, name: str, min_dim: int = 1) -> torch.Tensor:
    x = _tensor(x, name, min_dim)
    if not bool((x.abs() == 1).all()):
        raise ValueError(f"`{name}` must contain only -1 and +1")
    return x


# --- classical Hopfield network -----------------------------------------------------------------


def random_patterns(
    n_patterns: int,
    n: int,
    *,
    trials: int | None = None,
    seed: int | torch.Generator | None = 0,
    dtype: torch.dtype = torch.float64,
    device=None,
) -> torch.Tensor:
    r"""Independent uniform random patterns :math:`\xi^\mu \in \{-1, +1\}^n`.

    These are the "random patterns" of Definition 14 (Eq. 76) in their usual
    reading: unbiased, independent bits.

    Returns
    -------
    torch.Tensor, shape ``(n_patterns, n)`` or ``(trials, n_patterns, n)``
    """
    P = _positive_int(n_patterns, "n_patterns")
    n = _positive_int(n, "n")
    shape = (P, n) if trials is None else (_positive_int(trials, "trials"), P, n)
    g = torch_generator(seed, device)
    bits = torch.randint(0, 2, shape, generator=g, device=g.device)
    return (2 * bits - 1).to(dtype=dtype, device=device)


@torch_core("patterns")
def flip_bits(
    patterns: torch.Tensor,
    fraction: float,
    *,
    seed: int | torch.Generator | None = 0,
) -> torch.Tensor:
    r"""A noisy cue: flip exactly ``round(fraction * n)`` bits of every pattern.

    Parameters
    ----------
    patterns : torch.Tensor, shape ``(..., n)``, entries ``±1``
    fraction : float in ``[0, 1]``
    """
    patterns = _spins(patterns, "patterns")
    if not isinstance(fraction, (int, float)) or not 0 <= fraction <= 1:
        raise ValueError(f"`fraction` must be a number in [0, 1], got {fraction!r}")
    n = patterns.shape[-1]
    k = int(round(fraction * n))  # noqa: RUF046 - an int for any real `fraction`
    if k == 0:
        return patterns.clone()
    g = torch_generator(seed, patterns.device)
    scores = torch.rand(patterns.shape, generator=g, device=g.device).to(patterns.device)
    idx = scores.argsort(dim=-1)[..., :k]
    sign = torch.ones_like(patterns)
    sign.scatter_(-1, idx, -1.0)
    return patterns * sign


@torch_core("patterns")
def hebbian_weights(patterns: torch.Tensor) -> torch.Tensor:
    r"""Hebb's rule: :math:`W = \frac1n \sum_{\mu=1}^{P} \xi^\mu \xi^{\mu\top}`, diagonal set to 0.

    The classical Hopfield network of Definition 14 (Eq. 76) stores its
    patterns this way [1]_.

    Parameters
    ----------
    patterns : torch.Tensor, shape ``(..., P, n)``, entries ``±1``

    Returns
    -------
    torch.Tensor, shape ``(..., n, n)``: symmetric, zero diagonal.
    """
    xi = _spins(patterns, "patterns", min_dim=2)
    n = xi.shape[-1]
    W = xi.transpose(-1, -2) @ xi / n
    W.diagonal(dim1=-2, dim2=-1).zero_()
    return W


def _check_pair(weights: torch.Tensor, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    W = _tensor(weights, "weights", min_dim=2)
    s = _spins(state, "state")
    n = W.shape[-1]
    if W.shape[-2] != n:
        raise ValueError(f"`weights` must be square in its last two dimensions, got {tuple(W.shape)}")
    if s.shape[-1] != n:
        raise ValueError(f"`state` must have {n} entries in its last dimension, got {s.shape[-1]}")
    return W, s


def _field(W: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    """Local fields h = W s for states (..., m, n) and weights (..., n, n) (W symmetric or not)."""
    return s @ W.transpose(-1, -2)


@torch_core("weights", "state")
def is_fixed_point(weights: torch.Tensor, state: torch.Tensor, *, strict: bool = True) -> torch.Tensor:
    r"""Whether :math:`\operatorname{sign}(W s) = s` in every coordinate.

    With ``strict=True`` (default) a zero field counts as unstable; otherwise
    it counts as stable (the update keeps the current sign on ties).

    Parameters
    ----------
    weights : torch.Tensor, shape ``(..., n, n)``
    state : torch.Tensor, shape ``(..., m, n)``, entries ``±1``

    Returns
    -------
    torch.Tensor of bool, shape ``(..., m)``
    """
    W, s = _check_pair(weights, state)
    stab = s * _field(W, s)
    return (stab > 0).all(-1) if strict else (stab >= 0).all(-1)


@torch_core("weights", "state")
def hopfield_update(
    weights: torch.Tensor,
    state: torch.Tensor,
    *,
    mode: Literal["sync", "async"] = "async",
    max_sweeps: int = 50,
    seed: int | torch.Generator | None = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Run sign dynamics :math:`s_i \leftarrow \operatorname{sign}(\sum_j W_{ij} s_j)` to a fixed point.

    ``mode="sync"`` updates all neurons at once (it can end in a 2-cycle);
    ``mode="async"`` sweeps the neurons one at a time in a random order (the
    same order for the whole batch), keeping the local fields up to date, and
    always reaches a fixed point for symmetric ``W``. A zero field keeps the
    current sign.

    Parameters
    ----------
    weights : torch.Tensor, shape ``(..., n, n)``
    state : torch.Tensor, shape ``(..., m, n)``, entries ``±1``
        ``m`` states per weight matrix, updated in parallel.
    max_sweeps : int
        Full passes over the neurons before giving up.

    Returns
    -------
    state : torch.Tensor, shape ``(..., m, n)``
    converged : torch.Tensor of bool, shape ``(..., m)``
        Whether each state is a fixed point at the end.
    """
    W, s = _check_pair(weights, state)
    if mode not in ("sync", "async"):
        raise ValueError(f"`mode` must be 'sync' or 'async', got {mode!r}")
    max_sweeps = _positive_int(max_sweeps, "max_sweeps")
    s = s.clone()
    if s.dim() == 1:
        s = s.unsqueeze(0)
        squeeze = True
    else:
        squeeze = False
    n = s.shape[-1]
    if mode == "sync":
        for _ in range(max_sweeps):
            h = _field(W, s)
            new = torch.where(h == 0, s, torch.sign(h))
            if torch.equal(new, s):
                break
            s = new
    else:
        g = torch_generator(seed)  # a CPU generator unless one on another device is given
        h = _field(W, s).contiguous()
        Wt = W.transpose(-1, -2).contiguous()  # Wt[..., i, :] = d h / d s_i
        for _ in range(max_sweeps):
            before = s.clone()
            for i in torch.randperm(n, generator=g, device=g.device).tolist():
                hi = h[..., i]
                si = s[..., i]
                new = torch.where(hi == 0, si, torch.sign(hi))
                delta = new - si  # 0 or ±2
                s[..., i] = new
                h.add_(delta.unsqueeze(-1) * Wt[..., i, :].unsqueeze(-2))
            if torch.equal(before, s):
                break
    h = _field(W, s)
    converged = (torch.where(h == 0, s, torch.sign(h)) == s).all(-1)
    if squeeze:
        return s[0], converged[0]
    return s, converged


@dataclass(frozen=True)
class HopfieldCapacity:
    """Result of :func:`hopfield_capacity`; arrays are indexed by load."""

    n: int
    alpha: np.ndarray  # requested loads
    n_patterns: np.ndarray  # P = round(alpha n)
    fixed_point_fraction: np.ndarray  # fraction of stored patterns that are exact fixed points
    all_fixed_fraction: np.ndarray  # fraction of trials in which every pattern is a fixed point
    retrieved_fraction: np.ndarray  # fraction of cues ending within `tolerance` bit errors
    bit_error: np.ndarray  # mean fraction of wrong bits after the dynamics
    overlap: np.ndarray  # mean overlap m = xi . s / n after the dynamics
    tolerance: float
    cue_noise: float


def hopfield_capacity(
    n: int,
    alphas: Sequence[float],
    *,
    trials: int = 10,
    tolerance: float = 0.05,
    cue_noise: float = 0.0,
    mode: Literal["sync", "async"] = "sync",
    max_sweeps: int = 30,
    max_cues: int | None = None,
    seed: int | torch.Generator | None = 0,
    device=None,
) -> HopfieldCapacity:
    r"""Capacity experiment for the Hebbian Hopfield network at loads :math:`\alpha = P/n`.

    For every load, ``trials`` independent networks store :math:`P` random
    patterns (Definition 14's "random patterns"); we record

    * the fraction of stored patterns that are exact fixed points, and the
      fraction of networks in which *all* are (McEliece's notions [3]_);
    * the fraction of cues (each pattern with ``cue_noise`` of its bits flipped)
      from which the dynamics ends with at most ``tolerance`` wrong bits
      (retrieval with small error, the notion behind :math:`\alpha_c \approx 0.138` [2]_).

    Parameters
    ----------
    n : int
        Number of neurons.
    alphas : sequence of float
        Loads; :math:`P = \max(1, \mathrm{round}(\alpha n))`.
    trials : int
        Independent networks per load (batched).
    tolerance : float in ``[0, 1)``
        Largest fraction of wrong bits that still counts as retrieved.
    cue_noise : float in ``[0, 1]``
        Fraction of bits flipped in each cue.
    max_cues : int, optional
        Retrieve from at most this many patterns per network (all by default).

    Returns
    -------
    HopfieldCapacity
    """
    n = _positive_int(n, "n", minimum=2)
    trials = _positive_int(trials, "trials")
    alphas_arr = np.asarray(alphas, dtype=float).reshape(-1)
    if alphas_arr.size == 0 or not np.all(np.isfinite(alphas_arr)) or np.any(alphas_arr <= 0):
        raise ValueError("`alphas` must be a non-empty sequence of positive numbers")
    if not 0 <= tolerance < 1:
        raise ValueError(f"`tolerance` must lie in [0, 1), got {tolerance!r}")
    if not 0 <= cue_noise <= 1:
        raise ValueError(f"`cue_noise` must lie in [0, 1], got {cue_noise!r}")
    g = torch_generator(seed, device)
    Ps, fp, allfp, ret, err, ov = [], [], [], [], [], []
    for a in alphas_arr:
        P = max(1, int(round(a * n)))  # noqa: RUF046 - `a` is a numpy float
        xi = random_patterns(P, n, trials=trials, seed=g, device=device)
        W = hebbian_weights(xi)
        fixed = is_fixed_point(W, xi)
        m = P if max_cues is None else min(P, _positive_int(max_cues, "max_cues"))
        target = xi[:, :m]
        cue = flip_bits(target, cue_noise, seed=g) if cue_noise > 0 else target
        final, _ = hopfield_update(W, cue, mode=mode, max_sweeps=max_sweeps, seed=g)
        overlap = (final * target).mean(-1)
        wrong = (1 - overlap) / 2
        Ps.append(P)
        fp.append(fixed.double().mean().item())
        allfp.append(fixed.all(-1).double().mean().item())
        ret.append((wrong <= tolerance + 1e-12).double().mean().item())
        err.append(wrong.mean().item())
        ov.append(overlap.mean().item())
    return HopfieldCapacity(
        n=n,
        alpha=alphas_arr,
        n_patterns=np.array(Ps),
        fixed_point_fraction=np.array(fp),
        all_fixed_fraction=np.array(allfp),
        retrieved_fraction=np.array(ret),
        bit_error=np.array(err),
        overlap=np.array(ov),
        tolerance=float(tolerance),
        cue_noise=float(cue_noise),
    )


@numpy_core("n_patterns")
def crosstalk_bit_error(n: int, n_patterns) -> np.ndarray:
    r"""Probability that one bit of a stored pattern is unstable, Gaussian crosstalk approximation.

    The field on bit :math:`i` of pattern :math:`\xi^1`, times :math:`\xi^1_i`, is
    :math:`\frac{n-1}{n} + \frac1n\sum_{\mu\ne1}\sum_{j\ne i}\xi^1_i\xi^\mu_i\xi^\mu_j\xi^1_j`,
    a signal plus a sum of :math:`(P-1)(n-1)` random signs. Approximating the
    sum by a Gaussian gives :math:`\Pr[\text{unstable}] \approx \Phi\big(-\sqrt{(n-1)/(P-1)}\big)`,
    i.e. :math:`\Phi(-1/\sqrt{\alpha})` for large :math:`n`. (A single sweep only;
    the errors then feed back, which is what lowers the capacity to 0.138.)

    Returns
    -------
    numpy.ndarray: the approximate probability, one per entry of ``n_patterns``.
    """
    from scipy.stats import norm

    n = _positive_int(n, "n", minimum=2)
    P = np.asarray(n_patterns, dtype=float)
    if not np.all(np.isfinite(P)) or np.any(P < 1):
        raise ValueError("`n_patterns` must be finite and >= 1")
    with np.errstate(divide="ignore"):
        z = np.where(P > 1, np.sqrt((n - 1) / np.maximum(P - 1, 1e-300)), np.inf)
    return norm.cdf(-z)


@numpy_core("loads", "fractions")
def half_load(loads, fractions, level: float = 0.5) -> float:
    r"""The load at which a decreasing capacity curve first falls below ``level``.

    With loads :math:`\alpha_1 < \alpha_2 < \dots` and measured fractions :math:`f_k` (of
    patterns retrieved, or of exact fixed points), let :math:`k` be the first index with
    :math:`f_k < \text{level}`; the crossing is interpolated linearly between
    :math:`(\alpha_{k-1}, f_{k-1})` and :math:`(\alpha_k, f_k)`:

    .. math::

        \alpha_{1/2} = \alpha_{k-1} + (f_{k-1} - \text{level})\,
        \frac{\alpha_k - \alpha_{k-1}}{f_{k-1} - f_k}.

    The finite-:math:`n` counterpart of a capacity :math:`\alpha_c` (Definition 14 with
    :math:`\alpha(\cdot)` the identity). Book: chapter *Memory capacity*
    (``05_autoregressive/memory_capacity``).

    Parameters
    ----------
    loads : array-like, shape (K,)
        Increasing loads :math:`\alpha = P/n`.
    fractions : array-like, shape (K,)
        The measured fractions at these loads.
    level : float in (0, 1)
        The crossing level (one half: the half-way load).

    Returns
    -------
    float (a 0-d tensor for torch input)

    Raises
    ------
    ValueError
        If the shapes differ, the loads do not increase, ``level`` is outside (0, 1), or the
        curve does not start at or above ``level`` and fall below it.

    Examples
    --------
    >>> half_load([0.1, 0.2, 0.3], [1.0, 0.75, 0.25])
    0.25
    """
    a, f = np.asarray(loads, dtype=np.float64), np.asarray(fractions, dtype=np.float64)
    if a.ndim != 1 or a.shape != f.shape or a.size < 2:
        raise ValueError(f"`loads` and `fractions` must be vectors of the same length >= 2, got {a.shape}, {f.shape}")
    if not (np.isfinite(a).all() and np.isfinite(f).all()) or not (np.diff(a) > 0).all():
        raise ValueError("`loads` must be finite and increasing, `fractions` finite")
    if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
        raise ValueError(f"`level` must be a number in (0, 1), got {level!r}")
    below = np.flatnonzero(f < level)
    if below.size == 0 or below[0] == 0:
        raise ValueError(f"`fractions` must start at or above `level` = {level} and fall below it")
    k = int(below[0])
    return float(a[k - 1] + (f[k - 1] - level) * (a[k] - a[k - 1]) / (f[k - 1] - f[k]))


def mceliece_capacity(n, *, all_patterns: bool = False):
    r"""Exact-fixed-point capacity of the Hebbian network, McEliece et al. [3]_.

    :math:`n / (2\ln n)` if each stored pattern must be a fixed point with high
    probability; :math:`n / (4\ln n)` if all of them must be at once. Both
    vanish as a *fraction* of :math:`n`: with :math:`\alpha` the identity in
    Eq. (76), this notion gives :math:`C_G \to 0`.
    """
    n_arr = np.asarray(n, dtype=float)
    if not np.all(np.isfinite(n_arr)) or np.any(n_arr <= 1):
        raise ValueError("`n` must be finite and > 1")
    out = n_arr / ((4.0 if all_patterns else 2.0) * np.log(n_arr))
    return float(out) if out.ndim == 0 else out


# --- perceptron: Cover's counting and LP separability -------------------------------------------


def linearly_separable(points, labels) -> np.ndarray | bool:
    r"""Whether labels ``±1`` on points are realisable by a hyperplane through the origin.

    Solved exactly as the feasibility of the linear programme
    :math:`\exists w:\ y_\mu\, w^\top x_\mu \ge 1` for all :math:`\mu`
    (``scipy.optimize.linprog``, HiGHS). This is the dichotomy counted by
    Cover's function (:func:`cover_count`) and the storage problem of one
    neuron with free couplings in Gardner's capacity (Definition 14's setting).

    Parameters
    ----------
    points : array-like or torch.Tensor, shape ``(..., P, n)``
    labels : array-like or torch.Tensor, shape ``(..., P)``, entries ``±1``

    Returns
    -------
    bool, or numpy bool array of shape ``(...)``
    """
    from scipy.optimize import linprog

    X = points.detach().cpu().numpy() if isinstance(points, torch.Tensor) else np.asarray(points)
    y = labels.detach().cpu().numpy() if isinstance(labels, torch.Tensor) else np.asarray(labels)
    if X.dtype == object or not np.issubdtype(X.dtype, np.number):
        raise TypeError(f"`points` must be numeric, got dtype {X.dtype}")
    if X.ndim < 2:
        raise ValueError(f"`points` must have shape (..., P, n), got {X.shape}")
    if y.shape != X.shape[:-1]:
        raise ValueError(f"`labels` must have shape {X.shape[:-1]}, got {y.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("`points` must be finite")
    if not np.all(np.abs(y) == 1):
        raise ValueError("`labels` must contain only -1 and +1")
    X = X.astype(np.float64)
    batch = X.shape[:-2]
    Xf = X.reshape(-1, *X.shape[-2:])
    yf = y.reshape(-1, X.shape[-2]).astype(np.float64)
    out: np.ndarray = np.empty(len(Xf), dtype=bool)  # reshaped to `batch` (any ndim) below
    n = X.shape[-1]
    for b in range(len(Xf)):
        A = -(yf[b][:, None] * Xf[b])
        res = linprog(np.zeros(n), A_ub=A, b_ub=-np.ones(len(A)), bounds=[(None, None)] * n, method="highs")
        if res.status not in (0, 2):  # pragma: no cover - numerical trouble
            raise RuntimeError(f"linprog failed: {res.message}")
        out[b] = res.status == 0
    out = out.reshape(batch)
    return bool(out) if out.ndim == 0 else out


def _check_Pn(P, n) -> tuple[np.ndarray, np.ndarray]:
    P_arr, n_arr = np.asarray(P), np.asarray(n)
    for arr, name in ((P_arr, "P"), (n_arr, "n")):
        if not np.issubdtype(arr.dtype, np.integer):
            raise TypeError(f"`{name}` must be an integer or an integer array, got dtype {arr.dtype}")
        if np.any(arr < 1):
            raise ValueError(f"`{name}` must be >= 1")
    P_b, n_b = np.broadcast_arrays(P_arr, n_arr)
    return P_b, n_b


def cover_count(P, n, *, log: bool = False):
    r"""Cover's function :math:`C(P, n) = 2\sum_{k=0}^{n-1}\binom{P-1}{k}`.

    The number of dichotomies of :math:`P` points in general position in
    :math:`\mathbb{R}^n` that a hyperplane through the origin realises [5]_.
    :math:`C(P, n) = 2^P` for :math:`P \le n`.

    Parameters
    ----------
    P, n : int or integer array
    log : bool
        Return :math:`\ln C(P, n)`, computed with ``logsumexp`` of log-binomials
        (any size). Otherwise the exact Python integer (scalar inputs only).
    """
    from scipy.special import gammaln, logsumexp

    P_b, n_b = _check_Pn(P, n)
    if not log:
        if P_b.ndim:
            raise ValueError("exact counts need scalar `P` and `n`; use log=True for arrays")
        p, m = int(P_b), int(n_b)
        return 2 * sum(math.comb(p - 1, k) for k in range(min(m, p)))
    out = np.empty(P_b.shape, dtype=float)
    for idx in np.ndindex(P_b.shape):
        p, m = int(P_b[idx]), int(n_b[idx])
        k = np.arange(min(m, p), dtype=float)
        logb = gammaln(p) - gammaln(k + 1) - gammaln(p - k)
        out[idx] = math.log(2) + logsumexp(logb)
    return float(out) if out.ndim == 0 else out


def cover_fraction(P, n):
    r"""Fraction of the :math:`2^P` dichotomies that are linearly separable, :math:`C(P, n)/2^P`.

    Computed in log-space; it equals :math:`\Pr[\mathrm{Bin}(P-1, \tfrac12) \le n-1]`,
    which is :math:`\tfrac12` at :math:`P = 2n` and tends to a step at
    :math:`\alpha = P/n = 2` as :math:`n \to \infty` (the capacity 2).
    """
    P_b, _ = _check_Pn(P, n)
    out = np.exp(np.asarray(cover_count(P, n, log=True)) - P_b * math.log(2))
    out = np.minimum(out, 1.0)
    return float(out) if out.ndim == 0 else out


def separability_fraction(
    n: int, n_points: Sequence[int], *, trials: int = 50, seed: int | np.random.Generator | None = 0
) -> np.ndarray:
    r"""Monte-Carlo fraction of random dichotomies of Gaussian points that are separable.

    For each :math:`P` in ``n_points``: ``trials`` draws of :math:`P` standard
    Gaussian points in :math:`\mathbb{R}^n` (in general position with
    probability 1) with uniform random labels, each tested by
    :func:`linearly_separable`. Compare with :func:`cover_fraction`.
    """
    n = _positive_int(n, "n")
    trials = _positive_int(trials, "trials")
    rng = numpy_rng(seed)
    out = []
    for P in n_points:
        P = _positive_int(P, "n_points")
        X = rng.standard_normal((trials, P, n))
        y = rng.choice([-1.0, 1.0], size=(trials, P))
        out.append(np.mean(linearly_separable(X, y)))
    return np.array(out)


# --- modern Hopfield network (Ramsauer et al.) --------------------------------------------------


def sphere_patterns(
    n_patterns: int,
    d: int,
    *,
    radius: float = 1.0,
    trials: int | None = None,
    seed: int | torch.Generator | None = 0,
    dtype: torch.dtype = torch.float64,
    device=None,
) -> torch.Tensor:
    """Patterns drawn uniformly on the sphere of the given radius in R^d, shape ``(..., N, d)``."""
    N = _positive_int(n_patterns, "n_patterns")
    d = _positive_int(d, "d", minimum=2)
    if not radius > 0:
        raise ValueError(f"`radius` must be positive, got {radius!r}")
    shape = (N, d) if trials is None else (_positive_int(trials, "trials"), N, d)
    g = torch_generator(seed, device)
    x = torch.randn(shape, generator=g, device=g.device, dtype=dtype).to(device)
    return radius * x / x.norm(dim=-1, keepdim=True)


def _check_modern(patterns, query, beta) -> tuple[torch.Tensor, torch.Tensor]:
    X = _tensor(patterns, "patterns", min_dim=2)
    q = _tensor(query, "query", min_dim=1)
    if q.shape[-1] != X.shape[-1]:
        raise ValueError(f"`query` must have dimension {X.shape[-1]} in its last axis, got {q.shape[-1]}")
    if q.dtype != X.dtype or q.device != X.device:
        raise TypeError(
            f"`query` must have the dtype and device of `patterns` ({X.dtype}, {X.device}), got {q.dtype}, {q.device}"
        )
    if q.dim() > 1:
        try:
            torch.broadcast_shapes(X.shape[:-2], q.shape[:-2])
        except RuntimeError:
            raise ValueError(
                f"the batch shape {tuple(q.shape[:-2])} of `query` does not broadcast with the batch "
                f"shape {tuple(X.shape[:-2])} of `patterns`"
            ) from None
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not math.isfinite(beta) or beta <= 0:
        raise ValueError(f"`beta` must be a positive finite number, got {beta!r}")
    return X, q


def _scores(X: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    """Scores x_i . xi, shape ``(*batch, N)`` for one query (d,), ``(*batch, M, N)`` for (..., M, d)."""
    if q.dim() == 1:
        return X @ q
    return q @ X.transpose(-1, -2)


@torch_core("patterns", "query")
def modern_hopfield_update(patterns: torch.Tensor, query: torch.Tensor, beta: float) -> torch.Tensor:
    r"""One step of the modern Hopfield network: :math:`\xi^{\rm new} = X\,\mathrm{softmax}(\beta X^\top\xi)`.

    Ramsauer et al. [6]_ (the paper's [93]) store the patterns as the columns
    of :math:`X`; here they are the *rows* of ``patterns``, so the step reads
    ``softmax(beta * query @ patterns.T) @ patterns``: attention with queries
    ``query``, keys and values ``patterns`` and scale ``beta`` (the Transformer
    uses :math:`\beta = 1/\sqrt{d_k}`).

    Parameters
    ----------
    patterns : torch.Tensor, shape ``(N, d)`` or ``(..., N, d)``
        ``N`` stored patterns, possibly a batch of pattern sets.
    query : torch.Tensor, shape ``(d,)`` or ``(..., M, d)``
        One query, updated against every pattern set of the batch; or ``M``
        queries per batch, the batch dimensions broadcasting with those of
        ``patterns``. Same dtype and device as ``patterns``.
    beta : float > 0

    Returns
    -------
    torch.Tensor
        Shape ``(*batch, d)`` for a query of shape ``(d,)``, ``(*batch, M, d)``
        otherwise, where ``batch`` is the broadcast of the batch shapes
        (``patterns.shape[:-2]``, and ``query.shape[:-2]`` for a batched query).
        For example patterns ``(B, N, d)`` and query ``(d,)`` give ``(B, d)``.
    """
    X, q = _check_modern(patterns, query, beta)
    w = torch.softmax(beta * _scores(X, q), dim=-1)
    if q.dim() == 1:  # w: (*batch, N); one row vector per batch, not a (*batch, N) matrix
        return (w.unsqueeze(-2) @ X).squeeze(-2)
    return w @ X


@torch_core("patterns", "query")
def modern_hopfield_energy(patterns: torch.Tensor, query: torch.Tensor, beta: float) -> torch.Tensor:
    r"""Energy of Ramsauer et al. [6]_, decreased by :func:`modern_hopfield_update`.

    .. math::

        E(\xi) = -\beta^{-1}\log\sum_{i=1}^N e^{\beta x_i^\top\xi} + \tfrac12\xi^\top\xi
                 + \beta^{-1}\log N + \tfrac12 M^2, \qquad M = \max_i\|x_i\|.

    Parameters
    ----------
    patterns, query, beta
        As in :func:`modern_hopfield_update`.

    Returns
    -------
    torch.Tensor
        Shape ``(*batch,)`` for a query of shape ``(d,)``, ``(*batch, M)``
        otherwise (``batch`` as in :func:`modern_hopfield_update`).
    """
    X, q = _check_modern(patterns, query, beta)
    scores = _scores(X, q)
    N = X.shape[-2]
    M2 = (X * X).sum(-1).max(-1).values
    if q.dim() > 1:
        M2 = M2.unsqueeze(-1)
    return -torch.logsumexp(beta * scores, -1) / beta + 0.5 * (q * q).sum(-1) + math.log(N) / beta + 0.5 * M2


@dataclass(frozen=True)
class ModernCapacity:
    """Result of :func:`modern_hopfield_capacity`; arrays indexed by number of patterns."""

    d: int
    n_patterns: np.ndarray
    retrieved_fraction: np.ndarray  # fraction of queries within `tolerance` after one step
    mean_error: np.ndarray  # mean relative error ||f(xi) - x_i|| / M
    capacity: int  # largest N on the grid with retrieved fraction >= 1 - fail_prob (0 if none)
    beta: float
    radius: float
    tolerance: float


def modern_hopfield_capacity(
    d: int,
    n_patterns: Sequence[int],
    *,
    beta: float = 1.0,
    radius: float | None = None,
    K: float = 1.0,
    tolerance: float = 0.1,
    fail_prob: float = 0.01,
    n_queries: int = 200,
    query_noise: float = 0.0,
    seed: int | torch.Generator | None = 0,
    device=None,
    dtype: torch.dtype = torch.float64,
) -> ModernCapacity:
    r"""One-step retrieval of random sphere patterns by the modern Hopfield update.

    For each :math:`N` (increasing), :math:`N` patterns are drawn uniformly on
    the sphere of radius :math:`M` (default :math:`M = K\sqrt{d-1}`, the
    scaling of Ramsauer et al.'s capacity theorem), and ``n_queries`` of them
    (perturbed by Gaussian noise of norm about ``query_noise * M``) are updated
    once. A query counts as retrieved when
    :math:`\|f(\xi) - x_i\| \le \text{tolerance}\cdot M`. The capacity is the
    largest :math:`N` on the grid with a retrieved fraction at least
    :math:`1 - \text{fail\_prob}` (one sample path: the fraction need not be
    monotone in :math:`N`). Patterns are nested (the first :math:`N`
    of one draw), so the curve is a single sample path.
    """
    d = _positive_int(d, "d", minimum=2)
    Ns = [int(_positive_int(N, "n_patterns")) for N in n_patterns]
    if not Ns or sorted(Ns) != Ns:
        raise ValueError("`n_patterns` must be a non-empty increasing sequence")
    if not 0 < tolerance:
        raise ValueError(f"`tolerance` must be positive, got {tolerance!r}")
    if not 0 <= fail_prob < 1:
        raise ValueError(f"`fail_prob` must lie in [0, 1), got {fail_prob!r}")
    if not (isinstance(query_noise, (int, float)) and 0 <= query_noise < math.inf):
        raise ValueError(f"`query_noise` must be a finite number >= 0, got {query_noise!r}")
    if radius is None and not (isinstance(K, (int, float)) and 0 < K < math.inf):
        raise ValueError(f"`K` must be a positive finite number, got {K!r}")
    M = K * math.sqrt(d - 1) if radius is None else float(radius)
    g = torch_generator(seed, device)
    X_all = sphere_patterns(Ns[-1], d, radius=M, seed=g, dtype=dtype, device=device)
    frac, err = [], []
    for N in Ns:
        X = X_all[:N]
        m = min(N, _positive_int(n_queries, "n_queries"))
        target = X[:m]
        q = target
        if query_noise > 0:
            noise = torch.randn(target.shape, generator=g, device=g.device, dtype=dtype).to(target.device)
            q = target + query_noise * M * noise / math.sqrt(d)
        out = modern_hopfield_update(X, q, beta)
        e = (out - target).norm(dim=-1) / M
        frac.append((e <= tolerance).double().mean().item())
        err.append(e.mean().item())
    frac_a = np.array(frac)
    ok = np.nonzero(frac_a >= 1 - fail_prob)[0]
    cap = Ns[ok[-1]] if ok.size else 0
    return ModernCapacity(
        d=d,
        n_patterns=np.array(Ns),
        retrieved_fraction=frac_a,
        mean_error=np.array(err),
        capacity=int(cap),
        beta=float(beta),
        radius=M,
        tolerance=float(tolerance),
    )


@dataclass(frozen=True)
class RamsauerBound:
    """Ramsauer et al.'s storage-capacity lower bound (their Theorem 3) and its ingredients."""

    a: float
    b: float
    c: float
    c_required: float  # the theorem needs c >= c_required = (2/sqrt(p))^(4/(d-1))
    applicable: bool
    n_patterns: float  # the lower bound sqrt(p) c^((d-1)/4)


def ramsauer_capacity_bound(d: int, *, beta: float = 1.0, K: float = 1.0, fail_prob: float = 0.001) -> RamsauerBound:
    r"""The exponential storage capacity of Ramsauer et al. [6]_, as stated in their Theorem 3.

    Patterns uniformly on the sphere of radius :math:`M = K\sqrt{d-1}`, failure
    probability :math:`p`. With
    :math:`a = \frac{2}{d-1}\big(1 + \ln(2\beta K^2 p (d-1))\big)`,
    :math:`b = \frac{2K^2\beta}{5}`, :math:`c = b / W_0(e^{a + \ln b})`
    (:math:`W_0` the principal branch of Lambert's W), and provided
    :math:`c \ge (2/\sqrt p)^{4/(d-1)}`, with probability :math:`1 - p` the
    number of patterns that can be stored (well separated, each with its own
    fixed point) is at least :math:`\sqrt p\, c^{(d-1)/4}`: exponential in
    :math:`d` at rate :math:`\ln(c)/4`. (The paper's §V-E cites this as
    "exponential in the dimension".) The theorem's own examples: :math:`c \approx 3.1546`
    for :math:`\beta = 1, K = 3, d = 20, p = 0.001`; :math:`c \approx 1.3718` for
    :math:`\beta = 1, K = 1, d = 75`.

    The failure probability :math:`p` is the argument ``fail_prob`` (as in
    :func:`modern_hopfield_capacity`; in semlib ``p`` names a pmf).
    """
    from scipy.special import lambertw

    d = _positive_int(d, "d", minimum=2)
    for v, name in ((beta, "beta"), (K, "K")):
        if not (isinstance(v, (int, float)) and v > 0 and math.isfinite(v)):
            raise ValueError(f"`{name}` must be a positive number, got {v!r}")
    if not (isinstance(fail_prob, (int, float)) and 0 < fail_prob <= 1):
        raise ValueError(f"`fail_prob` must lie in (0, 1], got {fail_prob!r}")
    p = float(fail_prob)
    a = 2.0 / (d - 1) * (1.0 + math.log(2.0 * beta * K**2 * p * (d - 1)))
    b = 2.0 * K**2 * beta / 5.0
    c = b / float(lambertw(math.exp(a + math.log(b))).real)
    c_req = (2.0 / math.sqrt(p)) ** (4.0 / (d - 1))
    return RamsauerBound(
        a=a, b=b, c=c, c_required=c_req, applicable=c >= c_req, n_patterns=math.sqrt(p) * c ** ((d - 1) / 4)
    )
