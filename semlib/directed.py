r"""Directed information (Massey) and its relatives, computed exactly.

All functions take one joint pmf ``p`` whose axes are random variables (as in
:mod:`semlib.info`) and two equally long sequences of axes: ``x_axes`` for
:math:`X_1, \dots, X_n` and ``y_axes`` for :math:`Y_1, \dots, Y_n`, in time
order. Axes of ``p`` on neither list (a channel state, say) are summed out.
Every quantity is a sum of conditional mutual informations, each of which is
a mean of an information density of marginals of ``p``.

Units: nats unless ``base=2``.

Paper: Definitions 2–4 (§II-B). Book: chapter *Directed information*.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np

from . import _backend as B
from .info import _check_disjoint, _density_and_weights, _normalize_axes, _scale, joint_from_conditionals, validate_pmf

__all__ = [
    "directed_information",
    "directed_information_terms",
    "backward_directed_information",
    "backward_directed_information_terms",
    "directed_information_density",
    "echo_feedback_joint",
]


def _sequences(p: Any, x_axes: Sequence[int], y_axes: Sequence[int]) -> tuple[Any, tuple[int, ...], tuple[int, ...]]:
    p = validate_pmf(p)
    x = _normalize_axes(x_axes, p.ndim, "x_axes")
    y = _normalize_axes(y_axes, p.ndim, "y_axes")
    if len(x) == 0:
        raise ValueError("`x_axes` must name at least one axis")
    if len(x) != len(y):
        raise ValueError(f"`x_axes` and `y_axes` must have the same length n, got {len(x)} and {len(y)}")
    _check_disjoint({"x_axes": x, "y_axes": y})
    return p, x, y


def _stack(values: list[Any]) -> Any:
    if values and B.is_torch(values[0]):
        import torch

        return torch.stack(values)
    return np.array([float(v) for v in values], dtype=np.float64)


def _cmi_terms(p: Any, pairs: Sequence[tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]) -> list[Any]:
    terms = []
    for a, b, c in pairs:
        density, weights = _density_and_weights(p, a, b, c)
        terms.append((weights * density).sum())
    return terms


def directed_information_terms(
    p: Any, x_axes: Sequence[int], y_axes: Sequence[int], delay: int = 0, base: float | None = None
) -> Any:
    r"""The n summands :math:`I(X_{1:t-d}; Y_t \mid Y_{1:t-1})` of directed information.

    Parameters
    ----------
    p : array-like or torch.Tensor
        Joint pmf with one axis per variable.
    x_axes, y_axes : sequence of int, equal length n
        Axes of :math:`X_1, \dots, X_n` and :math:`Y_1, \dots, Y_n`.
    delay : int, default 0
        :math:`d \ge 0`. ``delay=0`` is Massey's definition (paper, Eq. 2);
        ``delay=1`` gives the terms of :math:`I(0 * X_{1:n-1} \to Y_{1:n})`, the
        information from the *strict* past of X (Massey and Massey's
        conservation law uses it in the reverse direction).
    base : float, optional
        ``None`` for nats, ``2`` for bits.

    Returns
    -------
    numpy.ndarray of shape (n,) or torch.Tensor
        Entry ``t-1`` is the t-th summand.
    """
    p, x, y = _sequences(p, x_axes, y_axes)
    if isinstance(delay, bool) or not isinstance(delay, (int, np.integer)) or delay < 0:
        raise ValueError(f"`delay` must be a non-negative integer, got {delay!r}")
    n = len(x)
    pairs = [(x[: max(t - delay, 0)], (y[t - 1],), y[: t - 1]) for t in range(1, n + 1)]
    return _scale(_stack(_cmi_terms(p, pairs)), base)


def directed_information(
    p: Any, x_axes: Sequence[int], y_axes: Sequence[int], delay: int = 0, base: float | None = None
) -> Any:
    r"""Directed information :math:`I(X_{1:n} \to Y_{1:n})` (paper, Definition 2, Eq. 2).

    .. math::

        I(X_{1:n} \to Y_{1:n}) = \sum_{t=1}^{n} I(X_{1:t}; Y_t \mid Y_{1:t-1}).

    Unlike mutual information, which lets :math:`Y_t` depend on the whole of
    :math:`X_{1:n}`, each summand only credits :math:`Y_t` with what it learns
    from the inputs *up to time t*. It is never larger than
    :math:`I(X_{1:n}; Y_{1:n})`, with equality when there is no feedback from
    Y to X; the gap is exactly ``directed_information(p, y_axes, x_axes,
    delay=1)`` (the conservation law of Massey and Massey).

    Parameters
    ----------
    p : array-like or torch.Tensor
        Joint pmf, one axis per variable.
    x_axes, y_axes : sequence of int, equal length n
        Axes of :math:`X_1, \dots, X_n` and :math:`Y_1, \dots, Y_n` in time order.
    delay : int, default 0
        See :func:`directed_information_terms`.
    base : float, optional
        ``None`` for nats, ``2`` for bits.

    Returns
    -------
    float (numpy float64) or 0-d torch.Tensor

    Examples
    --------
    Feedback: :math:`Y_1` is a fair bit and the encoder sends :math:`X_2 = Y_1`
    while :math:`X_1` and :math:`Y_2` are constant. Everything :math:`X` and
    :math:`Y` share flows from Y to X, none from X to Y:

    >>> from semlib.info import mutual_information
    >>> p = np.zeros((2, 2, 2, 2))            # axes X1, Y1, X2, Y2
    >>> p[0, 0, 0, 0] = p[0, 1, 1, 0] = 0.5
    >>> float(mutual_information(p, (0, 2), (1, 3), base=2))
    1.0
    >>> float(directed_information(p, (0, 2), (1, 3), base=2))
    0.0
    >>> float(directed_information(p, (1, 3), (0, 2), delay=1, base=2))
    1.0
    """
    terms = directed_information_terms(p, x_axes, y_axes, delay=delay)
    total = terms.sum()
    return _scale(total if B.is_torch(total) else np.float64(total), base)


def backward_directed_information_terms(
    p: Any, x_axes: Sequence[int], y_axes: Sequence[int], base: float | None = None
) -> Any:
    r"""The n summands :math:`I(X_{t+1:n}; Y_t \mid Y_{1:t-1})` of Definition 3.

    The last summand (``t = n``) is 0 because :math:`X_{n+1:n}` is empty.
    Parameters as in :func:`directed_information_terms`.
    """
    p, x, y = _sequences(p, x_axes, y_axes)
    n = len(x)
    pairs = [(x[t:], (y[t - 1],), y[: t - 1]) for t in range(1, n + 1)]
    return _scale(_stack(_cmi_terms(p, pairs)), base)


def backward_directed_information(
    p: Any, x_axes: Sequence[int], y_axes: Sequence[int], base: float | None = None
) -> Any:
    r"""Backward directed information :math:`I(X_{n:1} \to Y_{1:n})` (paper, Definition 3, Eq. 3).

    .. math::

        I(X_{n:1} \to Y_{1:n}) = \sum_{t=1}^{n} I(X_{t+1:n}; Y_t \mid Y_{1:t-1}),

    the information each output carries about the inputs that come *after* it,
    given the earlier outputs. In §IV-D of the paper it is the objective of the
    optimal embedding (Eq. 41).

    Note that this is *not* the complement of :math:`I(X_{1:n} \to Y_{1:n})` in
    :math:`I(X_{1:n}; Y_{1:n})`: that complement,
    :math:`\sum_t I(X_{t+1:n}; Y_t \mid Y_{1:t-1}, X_{1:t})`, also conditions on
    the inputs so far, and equals ``directed_information(p, y_axes, x_axes,
    delay=1)``.

    Parameters
    ----------
    p : array-like or torch.Tensor
        Joint pmf.
    x_axes, y_axes : sequence of int, equal length n
    base : float, optional
        ``None`` for nats, ``2`` for bits.

    Returns
    -------
    float (numpy float64) or 0-d torch.Tensor
    """
    terms = backward_directed_information_terms(p, x_axes, y_axes)
    total = terms.sum()
    return _scale(total if B.is_torch(total) else np.float64(total), base)


def directed_information_density(
    p: Any,
    x_axes: Sequence[int],
    y_axes: Sequence[int],
    conditioning: Literal["all", "causal"] = "all",
    base: float | None = None,
) -> Any:
    r"""Directed information density, one value per outcome (paper, Definition 4, Eqs. 4–5).

    .. math::

        i(X_{1:n} \to Y_{1:n}) = \sum_{t=1}^{n}
        \log \frac{P(Y_t \mid Y_{1:t-1}, X_{1:k(t)})}{P(Y_t \mid Y_{1:t-1})},

    with :math:`k(t) = n` for ``conditioning="all"`` (Eq. 5 as printed) and
    :math:`k(t) = t` for ``conditioning="causal"`` (the density whose mean is
    Definition 2).

    The two differ whenever the inputs depend on past outputs (feedback):
    the mean of the ``"all"`` density is the mutual information
    :math:`I(X_{1:n}; Y_{1:n})`, the mean of the ``"causal"`` density is the
    directed information :math:`I(X_{1:n} \to Y_{1:n})`. With a prompt that is
    wholly available before generation starts (§III of the paper) they coincide.

    Parameters
    ----------
    p : array-like or torch.Tensor
        Joint pmf.
    x_axes, y_axes : sequence of int, equal length n
    conditioning : {"all", "causal"}, default "all"
        Which inputs :math:`Y_t` is compared against: all of :math:`X_{1:n}`
        (as printed in Eq. 5) or only :math:`X_{1:t}`.
    base : float, optional
        ``None`` for nats, ``2`` for bits.

    Returns
    -------
    array broadcastable to ``p.shape``
        Axes outside ``x_axes`` and ``y_axes`` have size 1; outcomes of
        probability zero get 0, so ``(p * density).sum()`` is the mean.
    """
    if conditioning not in ("all", "causal"):
        raise ValueError(f"`conditioning` must be 'all' or 'causal', got {conditioning!r}")
    p, x, y = _sequences(p, x_axes, y_axes)
    n = len(x)
    total = None
    for t in range(1, n + 1):
        xs = x if conditioning == "all" else x[:t]
        density, _ = _density_and_weights(p, xs, (y[t - 1],), y[: t - 1])
        total = density if total is None else total + density
    assert total is not None  # n >= 1: _sequences rejects empty axes
    # broadcast every summand to the common (x, y) support shape
    keep = set(x) | set(y)
    shape = tuple(p.shape[ax] if ax in keep else 1 for ax in range(p.ndim))
    if B.is_torch(total):
        total = total.expand(*shape).clone()
    else:
        total = np.broadcast_to(total, shape).copy()
    support = B.sum_axes(p, [ax for ax in range(p.ndim) if ax not in keep], keepdims=True) > 0
    total = B.where(support, total, B.zeros_like(total))
    return _scale(total, base)


def echo_feedback_joint(n: int, f: float, eps: float) -> np.ndarray:
    r"""Joint pmf of a binary symmetric channel used ``n`` times with an echoing encoder.

    The channel is :math:`Y_t = X_t \oplus Z_t` with independent flips
    :math:`Z_t \sim \mathrm{Bernoulli}(\varepsilon)`. The encoder sends a fair bit at
    :math:`t = 1`; afterwards, with probability :math:`f` (the *feedback strength*) it sends
    the previous output back, :math:`X_t = Y_{t-1}`, and otherwise a fresh fair bit:

    .. math::

        P(x_t \mid x_{1:t-1}, y_{1:t-1}) = \tfrac{1-f}{2} + f\,[x_t = y_{t-1}],
        \qquad
        P(y_t \mid x_{1:t}, y_{1:t-1}) = (1-\varepsilon)[y_t = x_t] + \varepsilon\,[y_t \ne x_t].

    The smallest channel with feedback on which directed information (paper, Definition 2,
    Eq. 2) and mutual information part ways; :math:`f = 0` is a memoryless source without
    feedback. Book: chapter *Directed information*.

    Parameters
    ----------
    n : int
        Number of channel uses, at least 1.
    f : float
        Feedback strength in :math:`[0, 1]`.
    eps : float
        Crossover probability in :math:`[0, 1]`.

    Returns
    -------
    numpy.ndarray, shape (2,) * 2n
        The joint pmf with axes :math:`(X_1, Y_1, \dots, X_n, Y_n)` in time order, float64.

    Raises
    ------
    TypeError
        If ``n`` is not an int, or ``f``/``eps`` are not real numbers.
    ValueError
        If ``n < 1`` or ``f``/``eps`` lie outside :math:`[0, 1]`.

    Examples
    --------
    Without feedback the inputs are i.i.d. fair bits and :math:`I(X;Y) = n(1 - h(\varepsilon))`:

    >>> from semlib.info import mutual_information
    >>> P = echo_feedback_joint(3, 0.0, 0.1)
    >>> h = -0.1 * np.log(0.1) - 0.9 * np.log(0.9)
    >>> bool(abs(mutual_information(P, (0, 2, 4), (1, 3, 5)) - 3 * (np.log(2) - h)) < 1e-12)
    True
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)):
        raise TypeError(f"`n` must be an int, got {type(n).__name__}")
    if n < 1:
        raise ValueError(f"`n` must be at least 1, got {n}")
    for name, value in (("f", f), ("eps", eps)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise TypeError(f"`{name}` must be a real number, got {type(value).__name__}")
        if not 0.0 <= float(value) <= 1.0:
            raise ValueError(f"`{name}` must lie in [0, 1], got {value!r}")
    conditionals: list[np.ndarray] = []
    for t in range(int(n)):
        idx = np.indices((2,) * (2 * t + 1))  # X_{t+1} given the past: idx[-1] is X_{t+1}, idx[2t-1] is Y_t
        if t == 0:
            conditionals.append(np.full(2, 0.5))
        else:
            conditionals.append((1 - float(f)) * 0.5 + float(f) * (idx[-1] == idx[2 * t - 1]))
        idx = np.indices((2,) * (2 * t + 2))  # Y_{t+1} given the past and X_{t+1}: the BSC
        conditionals.append(np.where(idx[-1] == idx[-2], 1 - float(eps), float(eps)))
    return np.asarray(joint_from_conditionals(conditionals), dtype=np.float64)
