r"""Shannon's measures of a joint pmf whose axes are the random variables.

A joint law :math:`P_{X_0 X_1 \dots X_{k-1}}` of finitely many discrete random
variables is stored as one array ``p`` with ``p.ndim == k``: axis ``i`` is
variable :math:`X_i` and ``p[x_0, ..., x_{k-1}]`` is the probability of that
outcome. Every measure is built from marginals of that one array, so a
quantity such as :math:`I(X_0; X_2 \mid X_1)` is a call with axis tuples:
``mutual_information(p, (0,), (2,), given=(1,))``.

Units: natural logarithms (nats) throughout; pass ``base=2`` for bits.
Backends: numpy in, numpy out (float64); a ``torch.Tensor`` in gives a tensor
out on the same device, differentiable where the formula is.

Introduced in the book's chapter *Directed information* (§II-B of the paper).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from . import _backend as B

__all__ = [
    "validate_pmf",
    "marginal",
    "entropy",
    "conditional_entropy",
    "cross_entropy",
    "kl_divergence",
    "mutual_information",
    "information_density",
    "joint_from_conditionals",
]

Axes = int | Sequence[int]


def _default_atol(p: Any) -> float:
    if B.is_torch(p):
        import torch

        return 1e-9 if p.dtype == torch.float64 else 1e-5
    return 1e-9


def validate_pmf(p: Any, name: str = "p", atol: float | None = None) -> Any:
    """Check that ``p`` is a probability mass function and return it as floats.

    Parameters
    ----------
    p : array-like or torch.Tensor, any shape with ``ndim >= 1``
        Candidate joint pmf; one axis per random variable.
    name : str
        Name of the argument, used in error messages.
    atol : float, optional
        Allowed deviation of ``p.sum()`` from 1. Default ``1e-9`` for float64,
        ``1e-5`` for float32 tensors.

    Returns
    -------
    numpy.ndarray (float64) or torch.Tensor
        The same pmf as a floating array of the input's backend.

    Raises
    ------
    TypeError
        If ``p`` is not numeric.
    ValueError
        If ``p`` is a scalar or empty, has non-finite or negative entries, or
        does not sum to 1 within ``atol``.

    Examples
    --------
    >>> validate_pmf([0.5, 0.5]).dtype
    dtype('float64')
    >>> validate_pmf([0.5, 0.6])
    Traceback (most recent call last):
    ...
    ValueError: `p` must sum to 1 (within 1e-09), but sums to 1.1
    """
    p = B.as_float_array(p, name)
    if p.ndim == 0:
        raise ValueError(f"`{name}` must have at least one axis (one per random variable), got a scalar")
    size = p.numel() if B.is_torch(p) else p.size
    if size == 0:
        raise ValueError(f"`{name}` must not be empty, got shape {tuple(p.shape)}")
    if not B.all_finite(p):
        raise ValueError(f"`{name}` must have finite entries (found NaN or inf)")
    if B.any_negative(p):
        raise ValueError(f"`{name}` must be non-negative, found the entry {B.to_scalar(p.min()):.3g}")
    tol = _default_atol(p) if atol is None else atol
    s = B.total(p)
    if abs(s - 1.0) > tol:
        raise ValueError(f"`{name}` must sum to 1 (within {tol:g}), but sums to {s:.12g}")
    return p


def _normalize_axes(axes: Axes, ndim: int, name: str) -> tuple[int, ...]:
    if isinstance(axes, (int, np.integer)) and not isinstance(axes, bool):
        axes = (int(axes),)
    try:
        axes_t = tuple(axes)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"`{name}` must be an int or a sequence of ints, got {type(axes).__name__}") from None
    out = []
    for ax in axes_t:
        if isinstance(ax, bool) or not isinstance(ax, (int, np.integer)):
            raise TypeError(f"`{name}` must contain ints, got {ax!r}")
        if not -ndim <= ax < ndim:
            raise ValueError(f"`{name}` names axis {ax}, but the pmf has only {ndim} axes")
        out.append(int(ax) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"`{name}` repeats an axis: {axes_t}")
    return tuple(out)


def _check_disjoint(named: dict[str, tuple[int, ...]]) -> None:
    names = list(named)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            common = set(named[a]) & set(named[b])
            if common:
                raise ValueError(f"`{a}` and `{b}` share the axes {sorted(common)}; they must be disjoint")


def _scale(value: Any, base: float | None) -> Any:
    if base is None:
        return value
    base = B.check_positive_real(base, "base")
    if base == 1.0:
        raise ValueError("`base` must not be 1")
    return value / float(np.log(base))


def _finish(value: Any) -> Any:
    """0-d numpy result -> numpy float64; tensors stay tensors."""
    if B.is_torch(value):
        return value
    return np.float64(value)


def _keep(p: Any, keep: Iterable[int]) -> Any:
    """Marginal over ``keep`` with the other axes summed out but kept as size 1."""
    keep = set(keep)
    return B.sum_axes(p, [ax for ax in range(p.ndim) if ax not in keep], keepdims=True)


def _safe_log(x: Any) -> Any:
    """log(x) where x > 0 and 0 elsewhere (also safe for autograd)."""
    positive = x > 0
    ones = B.zeros_like(x) + 1
    return B.where(positive, B.log(B.where(positive, x, ones)), B.zeros_like(x))


def marginal(p: Any, axes: Axes) -> Any:
    """Marginal pmf of the variables on ``axes``, in the order given.

    Parameters
    ----------
    p : array-like, shape (k_0, ..., k_{d-1})
        Joint pmf.
    axes : int or sequence of int
        Variables to keep.

    Returns
    -------
    array of shape ``tuple(p.shape[a] for a in axes)``

    Examples
    --------
    >>> p = np.array([[0.1, 0.2], [0.3, 0.4]])
    >>> marginal(p, 1)
    array([0.4, 0.6])
    """
    p = validate_pmf(p)
    ax = _normalize_axes(axes, p.ndim, "axes")
    if not ax:
        raise ValueError("`axes` must name at least one axis")
    m = B.sum_axes(p, [a for a in range(p.ndim) if a not in ax], keepdims=False)
    order = sorted(ax)
    perm = [order.index(a) for a in ax]
    return m.permute(*perm) if B.is_torch(m) else np.transpose(m, perm)


def entropy(p: Any, axes: Axes | None = None, base: float | None = None) -> Any:
    r"""Shannon entropy of the variables on ``axes`` (all axes by default).

    .. math::

        H(X_A) = -\sum_{x_A} P(x_A) \log P(x_A),

    where :math:`P(x_A)` is the marginal of ``p`` on the axes ``A``, and
    :math:`0 \log 0 = 0`.

    Parameters
    ----------
    p : array-like or torch.Tensor
        Joint pmf, one axis per variable.
    axes : int or sequence of int, optional
        The variables :math:`X_A`. ``None`` means every axis; ``()`` gives 0.
    base : float, optional
        Logarithm base; ``None`` for nats, ``2`` for bits.

    Returns
    -------
    float (numpy float64) or 0-d torch.Tensor

    Notes
    -----
    A single entropy is one reduction over the array and semlib validates the pmf on every call
    (non-negative, finite, summing to 1), so on a single numpy array it is not faster than dit:
    ``benchmarks/run.py`` (2^16 outcomes, float64, 2 shared cores) measured 0.73-0.92x dit's
    speed on the computation alone (semlib is about 160x faster only when dit's conversion of
    the array into its ``Distribution`` is counted). For repeated entropies of distributions
    already held as ``dit.Distribution`` objects, dit's ``shannon.entropy`` is the faster choice;
    semlib's advantage is on batched and torch/GPU inputs.

    Examples
    --------
    >>> round(float(entropy([0.5, 0.25, 0.25], base=2)), 12)
    1.5
    """
    p = validate_pmf(p)
    ax = tuple(range(p.ndim)) if axes is None else _normalize_axes(axes, p.ndim, "axes")
    m = _keep(p, ax) if ax else B.sum_axes(p, range(p.ndim), keepdims=True)
    h = -(m * _safe_log(m)).sum()
    return _finish(_scale(h, base))


def conditional_entropy(p: Any, axes: Axes, given: Axes = (), base: float | None = None) -> Any:
    r"""Conditional entropy :math:`H(X_A \mid X_C) = H(X_A, X_C) - H(X_C)`.

    Computed directly as :math:`-\sum P(x_A, x_C) \log P(x_A \mid x_C)` so
    that it is never negative through cancellation.

    Parameters
    ----------
    p : array-like or torch.Tensor
        Joint pmf.
    axes, given : int or sequence of int
        The disjoint axis sets :math:`A` and :math:`C`.
    base : float, optional
        ``None`` for nats, ``2`` for bits.
    """
    p = validate_pmf(p)
    a = _normalize_axes(axes, p.ndim, "axes")
    c = _normalize_axes(given, p.ndim, "given")
    _check_disjoint({"axes": a, "given": c})
    p_ac = _keep(p, a + c)
    p_c = _keep(p, c)
    h = -(p_ac * (_safe_log(p_ac) - _safe_log(p_c))).sum()
    return _finish(_scale(h, base))


def _validate_pair(p: Any, q: Any) -> tuple[Any, Any]:
    p = validate_pmf(p, "p")
    q = validate_pmf(q, "q")
    if tuple(p.shape) != tuple(q.shape):
        raise ValueError(f"`p` and `q` must have the same shape, got {tuple(p.shape)} and {tuple(q.shape)}")
    if B.is_torch(p) != B.is_torch(q):
        raise TypeError("`p` and `q` must both be numpy arrays or both be torch tensors")
    return p, q


def cross_entropy(p: Any, q: Any, base: float | None = None) -> Any:
    r"""Cross-entropy :math:`H(p, q) = -\sum_x p(x) \log q(x)`.

    Equals :math:`H(p) + D_{\mathrm{KL}}(p \,\|\, q)`; it is ``inf`` when ``q``
    puts zero mass on an outcome that ``p`` does not (never NaN).

    Parameters
    ----------
    p, q : array-like or torch.Tensor, same shape
        Pmfs on the same alphabet (any number of axes).
    base : float, optional
        ``None`` for nats, ``2`` for bits.

    Examples
    --------
    >>> round(float(cross_entropy([0.5, 0.5], [0.25, 0.75], base=2)), 6)
    1.207519
    """
    p, q = _validate_pair(p, q)
    if bool(((q == 0) & (p > 0)).any()):
        return _finish(_scale(p.sum() * float("inf"), base))
    return _finish(_scale(-(p * _safe_log(q)).sum(), base))


def kl_divergence(p: Any, q: Any, base: float | None = None) -> Any:
    r"""Kullback–Leibler divergence :math:`D_{\mathrm{KL}}(p \,\|\, q)`.

    .. math::

        D_{\mathrm{KL}}(p \,\|\, q) = \sum_x p(x) \log \frac{p(x)}{q(x)}
        = H(p, q) - H(p),

    with :math:`0 \log(0/q) = 0`, and ``inf`` when ``p`` is not absolutely
    continuous with respect to ``q``.

    Parameters
    ----------
    p, q : array-like or torch.Tensor, same shape
    base : float, optional
        ``None`` for nats, ``2`` for bits.

    Examples
    --------
    >>> float(kl_divergence([0.5, 0.5], [0.5, 0.5]))
    0.0
    """
    p, q = _validate_pair(p, q)
    if bool(((q == 0) & (p > 0)).any()):
        return _finish(_scale(p.sum() * float("inf"), base))
    return _finish(_scale((p * (_safe_log(p) - _safe_log(q))).sum(), base))


def _density_and_weights(p: Any, a: Axes, b: Axes, given: Axes) -> tuple[Any, Any]:
    p = validate_pmf(p)
    a_ = _normalize_axes(a, p.ndim, "a")
    b_ = _normalize_axes(b, p.ndim, "b")
    c_ = _normalize_axes(given, p.ndim, "given")
    _check_disjoint({"a": a_, "b": b_, "given": c_})
    p_abc = _keep(p, a_ + b_ + c_)
    if not a_ or not b_:
        return B.zeros_like(p_abc), p_abc
    log_ratio = _safe_log(p_abc) + _safe_log(_keep(p, c_)) - _safe_log(_keep(p, a_ + c_)) - _safe_log(_keep(p, b_ + c_))
    density = B.where(p_abc > 0, log_ratio, B.zeros_like(log_ratio))
    return density, p_abc


def information_density(p: Any, a: Axes, b: Axes, given: Axes = (), base: float | None = None) -> Any:
    r"""Pointwise (conditional) mutual information, the information density.

    .. math::

        i(x_A; x_B \mid x_C) = \log \frac{P(x_B \mid x_A, x_C)}{P(x_B \mid x_C)}
        = \log \frac{P(x_A, x_B, x_C)\, P(x_C)}{P(x_A, x_C)\, P(x_B, x_C)},

    the random variable whose mean is :math:`I(X_A; X_B \mid X_C)` (paper,
    Eq. 5, Dobrushin's information density).

    Parameters
    ----------
    p : array-like or torch.Tensor
        Joint pmf.
    a, b : int or sequence of int
        Axis sets :math:`A` and :math:`B` (an empty set gives density 0).
    given : int or sequence of int, optional
        Conditioning axes :math:`C`.
    base : float, optional
        ``None`` for nats, ``2`` for bits.

    Returns
    -------
    array broadcastable to ``p.shape``
        Same number of axes as ``p``; the axes outside :math:`A \cup B \cup C`
        have size 1. Outcomes of probability zero (which never occur) get the
        value 0 by convention, so that ``(p * density).sum()`` equals the
        mutual information exactly.

    Examples
    --------
    >>> p = np.array([[0.5, 0.0], [0.0, 0.5]])   # X_1 = X_0, a fair bit
    >>> information_density(p, 0, 1, base=2)
    array([[1., 0.],
           [0., 1.]])
    """
    density, _ = _density_and_weights(p, a, b, given)
    return _scale(density, base)


def mutual_information(p: Any, a: Axes, b: Axes, given: Axes = (), base: float | None = None) -> Any:
    r"""(Conditional) mutual information :math:`I(X_A; X_B \mid X_C)`.

    .. math::

        I(X_A; X_B \mid X_C) = H(X_A, X_C) + H(X_B, X_C) - H(X_A, X_B, X_C) - H(X_C)
        = \mathbb{E}\, i(X_A; X_B \mid X_C),

    evaluated as the mean of :func:`information_density` (more accurate than
    adding four entropies). Variables of ``p`` on no listed axis are summed out.

    Parameters
    ----------
    p : array-like or torch.Tensor
        Joint pmf, one axis per variable.
    a, b : int or sequence of int
        Disjoint axis sets; an empty set gives 0.
    given : int or sequence of int, optional
        Conditioning axes, disjoint from ``a`` and ``b``.
    base : float, optional
        ``None`` for nats, ``2`` for bits.

    Returns
    -------
    float (numpy float64) or 0-d torch.Tensor
        Non-negative up to rounding (about 1e-16).

    Raises
    ------
    ValueError
        If ``p`` is not a pmf, or an axis is out of range, repeated, or shared
        between ``a``, ``b`` and ``given``.

    Examples
    --------
    Two copies of a fair bit share one bit:

    >>> p = np.array([[0.5, 0.0], [0.0, 0.5]])
    >>> float(mutual_information(p, 0, 1, base=2))
    1.0

    XOR: :math:`Z = X \oplus Y` is independent of :math:`X` alone, but given
    :math:`Y` it reveals :math:`X` completely:

    >>> p = np.zeros((2, 2, 2))
    >>> for x in (0, 1):
    ...     for y in (0, 1):
    ...         p[x, y, x ^ y] = 0.25
    >>> float(mutual_information(p, 0, 2, base=2)), float(mutual_information(p, 0, 2, given=1, base=2))
    (0.0, 1.0)
    """
    density, weights = _density_and_weights(p, a, b, given)
    return _finish(_scale((weights * density).sum(), base))


def joint_from_conditionals(conditionals: Sequence[Any], atol: float = 1e-9) -> Any:
    r"""Joint pmf from the chain rule :math:`P(x_0)\,P(x_1 \mid x_0) \cdots`.

    Parameters
    ----------
    conditionals : sequence of arrays
        ``conditionals[k]`` has ``k + 1`` axes: the first ``k`` index the
        earlier variables :math:`x_0, \dots, x_{k-1}` (sizes must match), the
        last indexes :math:`x_k` and sums to 1 for every past.
    atol : float
        Tolerance on each conditional's normalisation.

    Returns
    -------
    array with ``len(conditionals)`` axes
        :math:`P(x_0, \dots, x_{K-1}) = \prod_k P(x_k \mid x_{0:k-1})`.

    Examples
    --------
    A fair bit sent through a binary symmetric channel with crossover 0.1:

    >>> joint_from_conditionals([[0.5, 0.5], [[0.9, 0.1], [0.1, 0.9]]])
    array([[0.45, 0.05],
           [0.05, 0.45]])
    """
    if len(conditionals) == 0:
        raise ValueError("`conditionals` must hold at least one array")
    joint = None
    for k, cond in enumerate(conditionals):
        name = f"conditionals[{k}]"
        cond = B.as_float_array(cond, name)
        if cond.ndim != k + 1:
            raise ValueError(f"`{name}` must have {k + 1} axes (k past variables and the new one), got {cond.ndim}")
        if joint is not None and tuple(cond.shape[:-1]) != tuple(joint.shape):
            raise ValueError(
                f"`{name}` has leading shape {tuple(cond.shape[:-1])}, but the earlier variables have shape "
                f"{tuple(joint.shape)}"
            )
        if not B.all_finite(cond) or B.any_negative(cond):
            raise ValueError(f"`{name}` must have finite, non-negative entries")
        row_sums = B.sum_axes(cond, [cond.ndim - 1], keepdims=False)
        worst = B.to_scalar(abs(row_sums - 1).max())
        if worst > atol:
            raise ValueError(f"`{name}` must sum to 1 over its last axis for every past; worst deviation {worst:.3g}")
        joint = cond if joint is None else joint[..., None] * cond
    return joint
