r"""Geometry of token-level semantic vector spaces: the sphere, cosines, analogies, Gromov–Wasserstein.

The paper's §IV-A/B puts token semantics on the unit sphere (Definition 11), measures them by
cosine similarity, illustrates vector arithmetic with Eq. (33) (*King − Man + Woman ≈ Queen*)
and compares two semantic vector spaces by a Gromov–Wasserstein distance whose costs are cosine
similarities (Definition 12, Eq. (34)). This module computes all of these.

Introduced in the book's chapters ``ch-semantic-space`` (sphere, cosines, analogies) and
``ch-gromov-wasserstein`` (Definition 12).

Gromov–Wasserstein with cosine costs
------------------------------------
For points :math:`x_1..x_n` on the sphere with weights :math:`p`, points :math:`y_1..y_m` with
weights :math:`q`, and the cosine-similarity matrices :math:`C_1 = XX^\top`, :math:`C_2 = YY^\top`,
Eq. (34) is the quadratic program

.. math::

    d_s^2 = \min_{T \in \Pi(p, q)} E(T), \qquad
    E(T) = \sum_{i,j,k,l} (C_{1,ik} - C_{2,jl})^2\, T_{ij} T_{kl}
         = p^\top C_1^{\odot 2} p + q^\top C_2^{\odot 2} q - 2 \langle C_1 T C_2, T\rangle .

Because the cosine matrices are Gram matrices of rank at most :math:`d`, every product is
computed through the points: :math:`C_1 T C_2 = X (X^\top T Y) Y^\top` in :math:`O(nmd)` and
:math:`p^\top C_1^{\odot 2} p = \| X^\top \mathrm{diag}(p) X \|_F^2` in :math:`O(nd^2)`. No
:math:`n \times n` matrix is ever formed.

Three solvers:

* :func:`gromov_wasserstein_exact`: the exact minimum for tiny instances (uniform weights,
  ``n == m <= 9``) by enumerating the :math:`n!` permutation plans. This is exact because with
  Gram-matrix costs :math:`E(T) = \text{const} - 2\|X^\top T Y\|_F^2` is concave on
  :math:`\Pi(p, q)`, so its minimum is attained at a vertex, a permutation plan.
* :func:`gromov_wasserstein`: a local search, the conditional-gradient (Frank–Wolfe) method with exact line
  search on the quadratic (Peyré, Cuturi & Solomon 2016; Vayer et al. 2019; as in POT's
  ``ot.gromov.gromov_wasserstein``). Each linear step is an exact optimal-transport problem:
  for uniform weights and ``n == m`` it is an assignment problem, solved by
  ``scipy.optimize.linear_sum_assignment``; otherwise it is solved by POT's network simplex
  ``ot.emd`` on CPU float64 arrays when POT is installed, and by ``scipy.optimize.linprog``
  (HiGHS) when it is not.
* :func:`entropic_gromov_wasserstein`: projected mirror descent with entropic projections
  (Peyré, Cuturi & Solomon 2016, the update of POT's ``entropic_gromov_wasserstein``):
  :math:`T \leftarrow \mathrm{Sinkhorn}_\varepsilon(p, q, \nabla E(T))`, each projection a
  log-domain Sinkhorn loop, all in torch on the device of the inputs, warm-started.

References
----------
.. [1] G. Peyré, M. Cuturi, J. Solomon, "Gromov–Wasserstein averaging of kernel and distance
   matrices", ICML 2016.
.. [2] T. Vayer, L. Chapel, R. Flamary, R. Tavenard, N. Courty, "Optimal transport for
   structured data with application on graphs", ICML 2019 (Frank–Wolfe with exact line search).
.. [3] F. Mémoli, "Gromov–Wasserstein distances and the metric approach to object matching",
   Found. Comput. Math. 11 (2011).
.. [4] O. Levy, Y. Goldberg, "Linguistic regularities in sparse and explicit word
   representations", CoNLL 2014 (3CosMul).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ._backend import as_real_tensor
from .results import SolverResult

__all__ = [
    "GWConvergenceWarning",
    "GWResult",
    "AnalogyResult",
    "to_sphere",
    "cosine_similarity",
    "nearest_neighbors",
    "analogy",
    "analogy_questions",
    "gw_objective",
    "gromov_wasserstein",
    "gromov_wasserstein_exact",
    "GWExactResult",
    "entropic_gromov_wasserstein",
]

ANALOGY_METHODS = ("3cosadd", "3cosmul", "only-c")


class GWConvergenceWarning(UserWarning):
    """A Gromov–Wasserstein solver stopped at ``max_iter`` before meeting its tolerance."""


# --------------------------------------------------------------------------------------------
# input handling
# --------------------------------------------------------------------------------------------


def _as_tensor(x: Any, name: str, dtype: Any = None) -> tuple[Any, bool]:
    """``x`` as a real floating tensor and whether it came in as numpy (see ``_backend.as_real_tensor``)."""
    return as_real_tensor(x, name, dtype)


def _out(t: torch.Tensor, numpy: bool) -> Any:
    return t.detach().cpu().numpy() if numpy else t


def _points(x: Any, name: str, dtype: torch.dtype | None = None) -> tuple[torch.Tensor, bool]:
    t, was_numpy = _as_tensor(x, name, dtype)
    if t.ndim != 2:
        raise ValueError(f"`{name}` must have shape (n, d), got shape {tuple(t.shape)}")
    if t.shape[0] < 1 or t.shape[1] < 1:
        raise ValueError(f"`{name}` must have at least one row and one column, got shape {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"`{name}` must be finite")
    return t, was_numpy


def _weights(w: Any, n: int, name: str, like: torch.Tensor, atol: float = 1e-6) -> torch.Tensor:
    if w is None:
        return torch.full((n,), 1.0 / n, dtype=like.dtype, device=like.device)
    t, _ = _as_tensor(w, name)
    t = t.to(dtype=like.dtype, device=like.device)
    if t.ndim != 1 or t.shape[0] != n:
        raise ValueError(f"`{name}` must have shape ({n},) to match the points, got shape {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError(f"`{name}` must be finite")
    if bool((t < 0).any()):
        raise ValueError(f"`{name}` must be non-negative; smallest entry {float(t.min()):.3g}")
    s = float(t.sum())
    if abs(s - 1.0) > atol:
        raise ValueError(f"`{name}` must sum to 1 (tolerance {atol:g}), got {s:.10g}")
    return t / t.sum()


def _positive(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)):
        raise TypeError(f"`{name}` must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"`{name}` must be positive and finite, got {value}")
    return value


def _count(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}")
    return int(value)


# --------------------------------------------------------------------------------------------
# the sphere and cosines
# --------------------------------------------------------------------------------------------


def to_sphere(x: Any, eps: float = 1e-12) -> Any:
    r"""Project rows onto the unit sphere :math:`\mathbb{S}^{d-1}` (Definition 11 of the paper).

    Parameters
    ----------
    x : array-like or torch.Tensor, shape (..., d)
        Vectors, one per row.
    eps : float
        Rows with norm at most ``eps`` have no direction; they raise.

    Returns
    -------
    same type as ``x``, shape (..., d)
        :math:`x / \|x\|_2` row by row (torch in, torch out on the same device and dtype).

    Raises
    ------
    ValueError
        If a row has (numerically) zero norm, or ``x`` is not finite.

    Examples
    --------
    >>> import numpy as np
    >>> to_sphere(np.array([[3.0, 4.0]]))
    array([[0.6, 0.8]])
    """
    t, was_numpy = _as_tensor(x, "x")
    if t.ndim < 1 or t.shape[-1] < 1:
        raise ValueError(f"`x` must have a last axis of length >= 1, got shape {tuple(t.shape)}")
    if not bool(torch.isfinite(t).all()):
        raise ValueError("`x` must be finite")
    norms = torch.linalg.vector_norm(t, dim=-1, keepdim=True)
    if bool((norms <= eps).any()):
        bad = int((norms.reshape(-1) <= eps).nonzero()[0])
        raise ValueError(f"`x` has a row of norm <= {eps:g} (row {bad} after flattening); it has no direction")
    return _out(t / norms, was_numpy)


def cosine_similarity(x: Any, y: Any | None = None) -> Any:
    r"""Matrix of cosine similarities :math:`\cos(s_1, s_2) = s_1^\top s_2 / (\|s_1\| \|s_2\|)`.

    On the sphere the cosine similarity is the inner product of Definition 11. The paper's
    :math:`d_e^2(s_1, s_2) = 2 - 2\cos(s_1, s_2)` there.

    Parameters
    ----------
    x : array-like or torch.Tensor, shape (n, d)
    y : array-like or torch.Tensor, shape (m, d), optional
        Defaults to ``x``.

    Returns
    -------
    shape (n, m)
        Entry ``(i, j)`` is the cosine of row ``i`` of ``x`` and row ``j`` of ``y``.

    Examples
    --------
    >>> import numpy as np
    >>> cosine_similarity(np.array([[1.0, 0.0], [1.0, 1.0]])).round(4)
    array([[1.    , 0.7071],
           [0.7071, 1.    ]])
    """
    X, was_numpy = _points(x, "x")
    Y = X if y is None else _points(y, "y")[0].to(dtype=X.dtype, device=X.device)
    if Y.shape[1] != X.shape[1]:
        raise ValueError(f"`x` and `y` must have the same number of columns, got {X.shape[1]} and {Y.shape[1]}")
    return _out(to_sphere(X) @ to_sphere(Y).T, was_numpy)


def nearest_neighbors(
    vectors: Any, queries: Any, k: int = 5, *, candidates: Any | None = None, exclude_self: bool = True
) -> tuple[Any, Any]:
    """The ``k`` rows of ``vectors`` with the largest cosine similarity to each query row.

    Parameters
    ----------
    vectors : array-like or torch.Tensor, shape (N, d)
        The table (normalised inside).
    queries : int array-like, shape (B,)
        Row indices of ``vectors`` to query.
    k : int
        How many neighbours.
    candidates : int array-like, optional
        Restrict the search to these rows (for example whole-word tokens).
    exclude_self : bool
        Leave the query row out of its own neighbours.

    Returns
    -------
    ids, scores : shape (B, k)
        Row indices (into ``vectors``) and cosines, best first.
    """
    V, was_numpy = _points(vectors, "vectors")
    V = to_sphere(V)
    q = _index(queries, V.shape[0], "queries").to(V.device)
    cand = (
        torch.arange(V.shape[0], device=V.device)
        if candidates is None
        else _index(candidates, V.shape[0], "candidates").to(V.device)
    )
    k = _count(k, "k")
    # the query row is left out only where it is a candidate: count what remains, per query
    own = (
        cand[None, :] == q[:, None]
        if exclude_self
        else torch.zeros((q.numel(), cand.numel()), dtype=torch.bool, device=V.device)
    )
    n_valid = int((~own).sum(1).min()) if q.numel() else cand.numel()
    if k > n_valid:
        raise ValueError(f"`k` = {k} exceeds the {n_valid} candidates left for a query")
    S = V[q] @ V[cand].T
    if exclude_self:
        S = S.masked_fill(own, -math.inf)
    scores, pos = S.topk(k, dim=1)
    return _out(cand[pos], was_numpy), _out(scores, was_numpy)


def _index(ids: Any, size: int, name: str) -> torch.Tensor:
    t = torch.as_tensor(ids.detach().cpu() if isinstance(ids, torch.Tensor) else np.asarray(ids))
    if t.dtype in (torch.float16, torch.float32, torch.float64, torch.bool) or t.is_complex():
        raise TypeError(f"`{name}` must hold integer row indices, got dtype {t.dtype}")
    t = t.reshape(-1).long()
    if t.numel() and (int(t.min()) < 0 or int(t.max()) >= size):
        raise ValueError(f"`{name}` has an index outside [0, {size})")
    return t


@dataclass(frozen=True)
class AnalogyResult:
    """Answers of analogy queries *a : b :: c : ?* (Eq. (33): man : king :: woman : ?).

    Attributes
    ----------
    ids : shape (B, k)
        Candidate row indices, best first; the three query rows are never among them.
    scores : shape (B, k)
        Their scores (3CosAdd: cosine with :math:`b - a + c`; 3CosMul: Levy–Goldberg's ratio).
    method : str
    """

    ids: Any
    scores: Any
    method: str


def analogy(
    vectors: Any,
    a: Any,
    b: Any,
    c: Any,
    k: int = 5,
    *,
    method: str = "3cosadd",
    candidates: Any | None = None,
    eps: float = 1e-3,
) -> AnalogyResult:
    r"""Solve *a : b :: c : ?* by vector arithmetic on the sphere (paper Eq. (33)).

    With unit vectors :math:`\hat s`, **3CosAdd** (Mikolov et al. 2013) ranks candidates
    :math:`d` by :math:`\cos(\hat s_d, \hat s_b - \hat s_a + \hat s_c)`, which orders them as
    :math:`\cos(d, b) - \cos(d, a) + \cos(d, c)`; Eq. (33) is ``a = man, b = king, c = woman``.
    **3CosMul** (Levy & Goldberg 2014) ranks by
    :math:`\frac{\cos'(d, b)\cos'(d, c)}{\cos'(d, a) + \epsilon}` with :math:`\cos' = (1+\cos)/2`.
    The three query rows are excluded from the answers, as is standard (and as Eq. (33)
    implicitly assumes: the nearest vector to King − Man + Woman is often King itself).
    **only-c** is the baseline that ignores the arithmetic: it ranks by :math:`\cos(d, c)`
    alone (with the same exclusions), so an accuracy it already reaches says nothing about
    the offset :math:`\hat s_b - \hat s_a` (Levy & Goldberg 2014).

    Parameters
    ----------
    vectors : array-like or torch.Tensor, shape (N, d)
        The table (normalised inside).
    a, b, c : int or int array-like, shape (B,)
        Row indices of the query words.
    k : int
        Number of candidates returned.
    method : {"3cosadd", "3cosmul", "only-c"}
    candidates : int array-like, optional
        Restrict answers to these rows (for example whole-word tokens).
    eps : float
        The :math:`\epsilon` of 3CosMul.

    Returns
    -------
    AnalogyResult
        ``ids`` and ``scores`` of shape (B, k) (numpy for numpy ``vectors``).
    """
    if method not in ANALOGY_METHODS:
        raise ValueError(f"`method` must be one of {ANALOGY_METHODS}, got {method!r}")
    V, was_numpy = _points(vectors, "vectors")
    V = to_sphere(V)
    N = V.shape[0]
    ia, ib, ic = (_index(v, N, n).to(V.device) for v, n in ((a, "a"), (b, "b"), (c, "c")))
    if not (ia.numel() == ib.numel() == ic.numel()):
        raise ValueError(f"`a`, `b`, `c` must have the same length, got {ia.numel()}, {ib.numel()}, {ic.numel()}")
    cand = torch.arange(N, device=V.device) if candidates is None else _index(candidates, N, "candidates").to(V.device)
    k = _count(k, "k")
    # a, b and c are left out only where they are candidates: count what remains, per query
    query = (cand[None, :] == ia[:, None]) | (cand[None, :] == ib[:, None]) | (cand[None, :] == ic[:, None])
    n_valid = int((~query).sum(1).min()) if ia.numel() else cand.numel()
    if k > n_valid:
        raise ValueError(f"`k` = {k} is too large: {n_valid} candidates remain once a, b, c are left out")
    W = V[cand]
    if method == "3cosadd":
        target = to_sphere(V[ib] - V[ia] + V[ic])
        S = target @ W.T
    elif method == "only-c":
        S = V[ic] @ W.T
    else:
        eps = _positive(eps, "eps")
        ca, cb, cc = ((1 + V[i] @ W.T) / 2 for i in (ia, ib, ic))
        S = cb * cc / (ca + eps)
    S = S.masked_fill(query, -math.inf)
    scores, pos = S.topk(k, dim=1)
    return AnalogyResult(ids=_out(cand[pos], was_numpy), scores=_out(scores, was_numpy), method=method)


def analogy_questions(first: Any, second: Any) -> np.ndarray:
    r"""Every analogy question *a : b :: c : d* that a list of word pairs gives (Eq. (33)).

    For pairs :math:`(a_i, b_i)`, :math:`i = 1..n`, of one relation (man–woman, king–queen,
    ...), each ordered pair :math:`i \ne j` is one question :math:`a_i : b_i :: a_j : ?` with
    expected answer :math:`b_j`: :math:`n(n-1)` questions, in the order
    :math:`(i, j) = (0, 1), (0, 2), \dots, (n-1, n-2)`. Book: chapter *Token semantics on the
    sphere* (``04_token_semantics/semantic_space``), with :func:`analogy`.

    Parameters
    ----------
    first, second : int array-like or torch.Tensor, shape (n,)
        Row indices of the first and second word of each pair, n >= 2.

    Returns
    -------
    numpy.ndarray of int64, shape (n(n-1), 4)
        Columns a, b, c, d: ``analogy(V, q[:, 0], q[:, 1], q[:, 2])`` should answer ``q[:, 3]``.

    Raises
    ------
    TypeError
        If the indices are not integers.
    ValueError
        If ``first`` and ``second`` differ in length, are not one-dimensional, hold negative
        indices, or give fewer than two pairs.

    Examples
    --------
    >>> analogy_questions([0, 2, 4], [1, 3, 5])
    array([[0, 1, 2, 3],
           [0, 1, 4, 5],
           [2, 3, 0, 1],
           [2, 3, 4, 5],
           [4, 5, 0, 1],
           [4, 5, 2, 3]])
    """
    arrays = []
    for name, v in (("first", first), ("second", second)):
        a = v.detach().cpu().numpy() if isinstance(v, torch.Tensor) else np.asarray(v)
        if a.dtype == bool or not np.issubdtype(a.dtype, np.integer):
            raise TypeError(f"`{name}` must hold integer row indices, got dtype {a.dtype}")
        if a.ndim != 1:
            raise ValueError(f"`{name}` must be one-dimensional, got shape {a.shape}")
        if (a < 0).any():
            raise ValueError(f"`{name}` must hold non-negative row indices")
        arrays.append(a.astype(np.int64))
    x, y = arrays
    if len(x) != len(y):
        raise ValueError(f"`first` and `second` must have the same length, got {len(x)} and {len(y)}")
    if len(x) < 2:
        raise ValueError(f"at least two pairs are needed for a question, got {len(x)}")
    i, j = np.nonzero(~np.eye(len(x), dtype=bool))
    return np.stack([x[i], y[i], x[j], y[j]], axis=1)


# --------------------------------------------------------------------------------------------
# Gromov–Wasserstein with cosine costs (Definition 12, Eq. (34))
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GWResult(SolverResult):
    r"""Result of a Gromov–Wasserstein solve with cosine costs.

    Attributes
    ----------
    distance2 : float
        :math:`E(T)` of Eq. (34) at the returned coupling: the paper's :math:`d_s^2` (an upper
        bound on it: the problem is non-convex and the solvers find a stationary coupling).
        For the entropic solver it is the GW objective of the entropic coupling, without the
        entropy term.
    distance : float
        :math:`\sqrt{\max(d_s^2, 0)}`.
    coupling : numpy.ndarray or torch.Tensor, shape (n, m)
        The transport plan :math:`T \in \Pi(p, q)`.
    matching : numpy.ndarray or torch.Tensor, shape (n,)
        ``coupling.argmax(1)``: for each point of the first space, its partner in the second.
    history : list of float
        :math:`E(T_k)` after each outer iteration.
    solver : str
        ``"frank-wolfe"`` or ``"entropic"``, with the linear solver used in brackets.
    gap : float
        A stationarity certificate of the returned coupling, in the units of :math:`E`, zero
        exactly at a stationary point. Frank–Wolfe (local) solver: the Frank–Wolfe gap
        :math:`\langle \nabla E(T), T - T_{\rm lin}\rangle \ge 0`. Entropic solver: the same gap
        for the regularised objective, :math:`F_\varepsilon(T) - F_\varepsilon(T^+)` with
        :math:`F_\varepsilon(S) = \langle \nabla E(T), S\rangle + \varepsilon\sum S\log S`
        and :math:`T^+` its minimiser over :math:`\Pi(p, q)` (one more Sinkhorn projection).
        GW is non-convex: ``gap`` certifies a stationary (locally optimal) coupling, not the
        global optimum (see :class:`~semlib.results.SolverResult`).
    n_iter : int
        Outer iterations (Frank–Wolfe steps, or mirror-descent steps).
    converged : bool
        Whether the stopping rule was met before ``max_iter``.
    """

    distance2: float
    distance: float
    coupling: Any
    matching: Any
    history: list
    solver: str


def _gw_result(
    value: float, T: torch.Tensor, was_numpy: bool, n_iter: int, converged: bool, gap: float, history: list, solver: str
) -> GWResult:
    """Both solvers' result: the distance and the matching are derived from ``value`` and the plan here."""
    return GWResult(
        distance2=value,
        distance=math.sqrt(max(value, 0.0)),
        coupling=_out(T, was_numpy),
        matching=_out(T.argmax(1), was_numpy),
        history=history,
        solver=solver,
        n_iter=n_iter,
        converged=converged,
        gap=gap,
    )


class _CosineGW:
    """The quadratic E(T) of Eq. (34) for Gram-matrix costs, computed through the points."""

    def __init__(self, X: torch.Tensor, Y: torch.Tensor, p: torch.Tensor, q: torch.Tensor):
        self.X, self.Y, self.p, self.q = X, Y, p, q
        A = X.T @ (p[:, None] * X)  # X^T diag(p) X,  (d1, d1)
        B = Y.T @ (q[:, None] * Y)
        self.const = float((A * A).sum() + (B * B).sum())  # p^T C1^2 p + q^T C2^2 q
        # the linear part of the gradient: (C1^2 p)_i + (C2^2 q)_j
        self.c1p = ((X @ A) * X).sum(1)
        self.c2q = ((Y @ B) * Y).sum(1)
        self.dense: tuple | None = None

    def cross(self, T: torch.Tensor) -> torch.Tensor:
        """C1 T C2: through the points, X (X^T T Y) Y^T, or with the dense Gram matrices when cheaper."""
        if self.dense is None:
            n, d1 = self.X.shape
            m, d2 = self.Y.shape
            low_rank = n * m * (d1 + d2) + 2 * d1 * d2 * min(n, m)
            full = n * m * (n + m) + n * n * d1 + m * m * d2
            self.dense = (self.X @ self.X.T, self.Y @ self.Y.T) if full < low_rank else ()
        if self.dense:
            return self.dense[0] @ T @ self.dense[1]
        return self.X @ ((self.X.T @ T @ self.Y) @ self.Y.T)

    def value(self, T: torch.Tensor, CT: torch.Tensor | None = None) -> float:
        """E(T) = const - 2 <C1 T C2, T>; pass CT = C1 T C2 when it is already known."""
        CT = self.cross(T) if CT is None else CT
        return self.const - 2.0 * float((CT * T).sum())

    def gradient(self, T: torch.Tensor, CT: torch.Tensor | None = None) -> torch.Tensor:
        """dE/dT: 2 (c1p 1^T + 1 c2q^T - 2 C1 T C2)."""
        CT = self.cross(T) if CT is None else CT
        return 2.0 * (self.c1p[:, None] + self.c2q[None, :] - 2.0 * CT)


def _prepare(x: Any, y: Any, p: Any, q: Any, normalize: bool, dtype: torch.dtype | None):
    X, was_numpy = _points(x, "x", dtype)
    Y, _ = _points(y, "y")
    Y = Y.to(dtype=X.dtype, device=X.device)
    if normalize:
        X, Y = to_sphere(X), to_sphere(Y)
    return X, Y, _weights(p, X.shape[0], "p", X), _weights(q, Y.shape[0], "q", X), was_numpy


def gw_objective(x: Any, y: Any, coupling: Any, *, normalize: bool = True) -> float:
    r"""The objective of Eq. (34) for a given coupling :math:`T`, with cosine costs.

    .. math::

        E(T) = \sum_{i,j,k,l} \big(\cos(x_i, x_k) - \cos(y_j, y_l)\big)^2\, T_{ij} T_{kl}.

    The weights are the marginals of ``coupling``. Computed in :math:`O(nmd)` through the points.

    Parameters
    ----------
    x : shape (n, d1)
    y : shape (m, d2)
    coupling : shape (n, m)
        Non-negative, summing to 1.
    normalize : bool
        Put rows on the sphere first (cosine costs); with ``False`` the costs are plain inner
        products.
    """
    X, Y, _, _, _ = _prepare(x, y, None, None, normalize, None)
    T, _ = _as_tensor(coupling, "coupling")
    T = T.to(dtype=X.dtype, device=X.device)
    if T.shape != (X.shape[0], Y.shape[0]):
        raise ValueError(f"`coupling` must have shape ({X.shape[0]}, {Y.shape[0]}), got {tuple(T.shape)}")
    if bool((T < 0).any()) or abs(float(T.sum()) - 1) > 1e-6:
        raise ValueError("`coupling` must be non-negative and sum to 1")
    return _CosineGW(X, Y, T.sum(1), T.sum(0)).value(T)


def _linear_ot(G: np.ndarray, p: np.ndarray, q: np.ndarray, uniform_square: bool, how: str) -> np.ndarray:
    """An exact solution of min_T <G, T> over Pi(p, q) (a vertex of the polytope)."""
    n, m = G.shape
    if how == "assignment" or (how == "auto" and uniform_square):
        from scipy.optimize import linear_sum_assignment

        rows, cols = linear_sum_assignment(G)
        T = np.zeros((n, m))
        T[rows, cols] = 1.0 / n
        return T
    if how in ("auto", "emd"):
        try:
            import ot  # POT's network simplex, CPU float64
        except ImportError:
            if how == "emd":
                raise
        else:
            return ot.emd(p, q, G, numItermax=10_000_000)
    from scipy.optimize import linprog  # pragma: no cover - only without POT

    A_eq = np.vstack([np.kron(np.eye(n), np.ones(m)), np.kron(np.ones(n), np.eye(m))])
    res = linprog(G.ravel(), A_eq=A_eq, b_eq=np.concatenate([p, q]), bounds=(0, None), method="highs")
    return res.x.reshape(n, m)


LINEAR_SOLVERS = ("auto", "assignment", "emd", "linprog")


def _comonotone(u: torch.Tensor, v: torch.Tensor, p: np.ndarray, q: np.ndarray) -> np.ndarray:
    r"""argmax of :math:`\sum_{ij} u_i v_j T_{ij}` over :math:`\Pi(p, q)`: the sorted (north-west corner) plan.

    :math:`u_i v_j` is supermodular in (sorted i, sorted j), so the comonotone coupling is optimal
    (the rearrangement inequality; 1-D optimal transport).
    """
    iu = np.argsort(u.double().cpu().numpy(), kind="stable")
    iv = np.argsort(v.double().cpu().numpy(), kind="stable")
    T = np.zeros((p.size, q.size))
    a, b = p[iu].copy(), q[iv].copy()
    i = j = 0
    while i < a.size and j < b.size:
        mass = min(a[i], b[j])
        T[iu[i], iv[j]] += mass
        a[i] -= mass
        b[j] -= mass
        if a[i] <= b[j]:
            i += 1
        else:
            j += 1
    return T


def gromov_wasserstein(
    x: Any,
    y: Any,
    p: Any | None = None,
    q: Any | None = None,
    *,
    normalize: bool = True,
    init: Any | None = None,
    max_iter: int = 1000,
    tol_rel: float = 1e-9,
    tol_abs: float = 1e-9,
    linear_solver: str = "auto",
    dtype: torch.dtype | None = torch.float64,
) -> GWResult:
    r"""Gromov–Wasserstein distance with cosine costs (paper Definition 12, Eq. (34)), Frank–Wolfe (local) solver.

    Minimises :math:`E(T) = \sum_{ijkl} (C_{1,ik} - C_{2,jl})^2 T_{ij} T_{kl}` over couplings
    :math:`T \in \Pi(p, q)`, where :math:`C_1, C_2` are the cosine-similarity matrices of the two
    point clouds, by the conditional-gradient (Frank–Wolfe) method:

    1. :math:`G = \nabla E(T) = 2(C_1^{\odot 2}p\,\mathbf 1^\top + \mathbf 1\, q^\top C_2^{\odot 2}
       - 2 C_1 T C_2)`;
    2. :math:`T_{\rm lin} = \arg\min_{T' \in \Pi(p,q)} \langle G, T'\rangle`, an exact OT problem;
    3. :math:`T \leftarrow T + \alpha (T_{\rm lin} - T)` with :math:`\alpha \in [0, 1]` minimising
       the quadratic :math:`E` exactly along the segment.

    It stops when :math:`|E(T_{k+1}) - E(T_k)| \le` ``tol_rel`` :math:`\cdot|E(T_k)| +`
    ``tol_abs``. The problem is not convex (with cosine costs :math:`E` is concave, see
    :func:`gromov_wasserstein_exact`): the result is a stationary point found by a local search,
    and its value only an upper bound on :math:`d_s^2`. For tiny uniform instances
    :func:`gromov_wasserstein_exact` gives the exact minimum.

    Parameters
    ----------
    x : array-like or torch.Tensor, shape (n, d1)
        Points of the first space (rows; put on the sphere when ``normalize``).
    y : shape (m, d2)
        Points of the second space; ``d2`` may differ from ``d1``.
    p, q : shape (n,), (m,), optional
        Probability weights :math:`\mu, \nu` (non-negative, summing to 1); uniform by default.
    normalize : bool
        Normalise rows to the sphere (cosine costs, as in Eq. (34)).
    init : shape (n, m), optional
        Starting coupling; default :math:`pq^\top`.
    max_iter : int
    tol_rel, tol_abs : float
    linear_solver : {"auto", "assignment", "emd", "linprog"}
        Exact OT solver of step 2, run on CPU float64 arrays. ``"auto"`` takes the assignment
        solver (``scipy.optimize.linear_sum_assignment``) for uniform weights and ``n == m``,
        otherwise POT's ``ot.emd`` (or ``scipy.optimize.linprog`` if POT is missing).
    dtype : torch.dtype, optional
        Working precision (default float64); ``None`` keeps the input's.

    Returns
    -------
    GWResult
        torch in, torch out (coupling on the device of ``x``); numpy in, numpy out.

    Warns
    -----
    GWConvergenceWarning
        If ``max_iter`` is reached.

    Notes
    -----
    Speed: ``benchmarks/gw.py`` (500 real embeddings, d = 384, uniform weights, float64, 2 shared
    CPU cores) measured this solver at 0.68-0.97x the speed of POT's
    ``ot.gromov.gromov_wasserstein`` on the same inputs (same objective to 1e-2 relative): when
    ``d`` is close to ``n`` computing :math:`C_1 T C_2` through the points saves nothing, and the
    linear steps are POT's own ``ot.emd``. For ``n`` of a few hundred with ``d`` comparable to
    ``n`` on a CPU, POT is the faster choice; semlib pays off when ``d << n`` or with torch inputs.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(30, 5))
    >>> res = gromov_wasserstein(X, X[::-1])
    >>> res.distance2 < 1e-12, bool((res.matching == np.arange(30)[::-1]).all())
    (True, True)
    """
    if linear_solver not in LINEAR_SOLVERS:
        raise ValueError(f"`linear_solver` must be one of {LINEAR_SOLVERS}, got {linear_solver!r}")
    max_iter = _count(max_iter, "max_iter")
    tol_rel, tol_abs = _positive(tol_rel, "tol_rel"), _positive(tol_abs, "tol_abs")
    X, Y, pt, qt, was_numpy = _prepare(x, y, p, q, normalize, dtype)
    n, m = X.shape[0], Y.shape[0]
    f = _CosineGW(X, Y, pt, qt)
    if init is None:
        T = pt[:, None] * qt[None, :]
    else:
        T = _as_tensor(init, "init")[0].to(dtype=X.dtype, device=X.device)
        if T.shape != (n, m):
            raise ValueError(f"`init` must have shape ({n}, {m}), got {tuple(T.shape)}")
        if (
            bool((T < 0).any())
            or float((T.sum(1) - pt).abs().max()) > 1e-6
            or float((T.sum(0) - qt).abs().max()) > 1e-6
        ):
            raise ValueError("`init` must be a coupling of `p` and `q` (non-negative, with those marginals)")
    p_np, q_np = pt.double().cpu().numpy(), qt.double().cpu().numpy()
    uniform_square = (
        n == m
        and bool(np.allclose(p_np, 1.0 / n, rtol=0, atol=1e-12))
        and bool(np.allclose(q_np, 1.0 / m, rtol=0, atol=1e-12))
    )
    if linear_solver == "assignment" and not uniform_square:
        raise ValueError("`linear_solver='assignment'` needs uniform weights and n == m")
    used = linear_solver
    if linear_solver == "auto":
        try:
            import ot  # noqa: F401

            used = "emd"
        except ImportError:  # pragma: no cover
            used = "assignment" if uniform_square else "linprog"
    product_start = init is None

    value = f.value(T)
    history = [value]
    converged, gap = False, math.inf
    it = 0
    CT = f.cross(T)  # C1 T C2, kept up to date
    for it in range(1, max_iter + 1):
        G = 2.0 * (f.c1p[:, None] + f.c2q[None, :] - 2.0 * CT)
        if it == 1 and product_start:
            # at T = p q^T, C1 T C2 = (C1 p)(C2 q)^T has rank one: the linear step is a 1-D OT
            # problem solved exactly by the comonotone (sorted) coupling
            T_np = _comonotone(f.X @ (f.X.T @ pt), f.Y @ (f.Y.T @ qt), p_np, q_np)
        else:
            T_np = _linear_ot(G.double().cpu().numpy(), p_np, q_np, uniform_square, used)
        T_lin = torch.as_tensor(T_np, dtype=X.dtype, device=X.device)
        D = T_lin - T
        gap = float(-(G * D).sum())
        CD = f.cross(D)
        # E(T + a D) = E(T) + b a + c a^2 with b = -4 <C1 T C2, D>, c = -2 <C1 D C2, D>
        b = -4.0 * float((CT * D).sum())
        c = -2.0 * float((CD * D).sum())
        if c > 0:
            alpha = min(1.0, max(0.0, -b / (2.0 * c)))
        else:
            alpha = 1.0 if c + b < 0 else 0.0
        T = T + alpha * D
        CT = CT + alpha * CD
        new = value + b * alpha + c * alpha * alpha
        history.append(new)
        delta = abs(new - value)
        value = new
        if delta <= tol_rel * abs(value) + tol_abs or gap <= tol_abs:
            converged = True
            break
    if not converged:
        warnings.warn(
            f"gromov_wasserstein stopped after max_iter = {max_iter} iterations "
            f"(last change {delta:.2e}, Frank-Wolfe gap {gap:.2e})",
            GWConvergenceWarning,
            stacklevel=2,
        )
    value = f.value(T)  # recompute, free of accumulated rounding
    return _gw_result(value, T, was_numpy, it, converged, max(gap, 0.0), history, f"frank-wolfe ({used})")


@dataclass(frozen=True)
class GWExactResult(GWResult):
    r"""Result of :func:`gromov_wasserstein_exact`: a :class:`GWResult` with the number of minimisers.

    Attributes
    ----------
    n_minimizers : int
        How many permutations attain the minimum (within ``atol``). For two isometric copies this is
        the number of automorphisms of the weighted cosine matrix: 1 for points in general position,
        :math:`n!` for the vertices of a regular simplex.
    """

    n_minimizers: int


EXACT_MAX_N = 9


def gromov_wasserstein_exact(
    x: Any,
    y: Any,
    *,
    normalize: bool = True,
    atol: float = 1e-12,
    dtype: torch.dtype | None = torch.float64,
) -> GWExactResult:
    r"""The exact Gromov–Wasserstein minimum of Eq. (34) for tiny instances, by enumerating permutations.

    For ``n == m`` points with uniform weights :math:`1/n` each and cosine costs (paper
    Definition 12), returns :math:`d_s^2 = \min_{T \in \Pi(1/n, 1/n)} E(T)` exactly (up to
    rounding), by evaluating :math:`E` at all :math:`n!` permutation plans
    :math:`T_\sigma = \frac1n[\sigma(i) = j]`,

    .. math::

        E(T_\sigma) = \frac{1}{n^2}\sum_{i,k} \big(C_{1,ik} - C_{2,\sigma(i)\sigma(k)}\big)^2 .

    Why this is the minimum over *all* couplings, not only over permutations: with Gram-matrix
    costs :math:`C_1 = XX^\top`, :math:`C_2 = YY^\top`,

    .. math::

        E(T) = p^\top C_1^{\odot 2} p + q^\top C_2^{\odot 2} q - 2\,\|X^\top T Y\|_F^2 ,

    and the first two terms are constant on :math:`\Pi(p, q)`. :math:`T \mapsto X^\top T Y` is
    linear, so :math:`E` is a *concave* function of :math:`T`; a concave function attains its
    minimum over a polytope at a vertex, and the vertices of :math:`\Pi(1/n, 1/n)` are the
    permutation plans (Birkhoff–von Neumann). The argument needs positive semidefinite cost
    matrices (it fails, for example, for the distance costs of Mémoli's GW) and uniform, equal-size
    marginals (other marginals have other vertices). Introduced in ``ch-gromov-wasserstein``.

    Parameters
    ----------
    x : array-like or torch.Tensor, shape (n, d1)
        Points of the first space (rows; put on the sphere when ``normalize``), ``1 <= n <= 9``.
    y : shape (n, d2)
        Points of the second space, as many as ``x``; ``d2`` may differ from ``d1``.
    normalize : bool
        Normalise rows to the sphere (cosine costs, as in Eq. (34)); with ``False`` the costs are
        the plain inner products (still Gram matrices, so still exact).
    atol : float
        Absolute tolerance in units of :math:`E` for counting the permutations that attain the
        minimum (``n_minimizers``).
    dtype : torch.dtype, optional
        Precision of the points (default float64); ``None`` keeps the input's. The enumeration
        itself runs in float64 on the CPU.

    Returns
    -------
    GWExactResult
        ``distance2`` the exact minimum, ``coupling`` the first minimising permutation plan,
        ``matching`` its permutation, ``gap = 0``, ``n_iter = n!`` (plans evaluated),
        ``converged = True`` and ``n_minimizers``. numpy in, numpy out; torch in, torch out
        (coupling on the device of ``x``).

    Raises
    ------
    ValueError
        If ``x`` and ``y`` have different numbers of rows, or more than 9 (9! = 362 880 plans).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(6, 3))
    >>> res = gromov_wasserstein_exact(X, X[[2, 0, 1, 5, 4, 3]])
    >>> res.distance2 < 1e-12, res.matching.tolist(), res.n_minimizers
    (True, [1, 2, 0, 5, 4, 3], 1)
    """
    import itertools

    atol = _positive(atol, "atol")
    X, Y, _, _, was_numpy = _prepare(x, y, None, None, normalize, dtype)
    n = X.shape[0]
    if Y.shape[0] != n:
        raise ValueError(f"`y` must have as many rows as `x` ({n}) for the permutation enumeration, got {Y.shape[0]}")
    if n > EXACT_MAX_N:
        raise ValueError(f"`x` has {n} rows; the enumeration of n! plans is limited to n <= {EXACT_MAX_N}")
    Xn, Yn = X.double().cpu().numpy(), Y.double().cpu().numpy()
    C1, C2 = Xn @ Xn.T, Yn @ Yn.T
    perms = np.array(list(itertools.permutations(range(n))), dtype=np.intp)
    values = np.empty(len(perms))
    for s in range(0, len(perms), 40_320):  # chunks of 8! plans keep the gathered cosines small
        P = perms[s : s + 40_320]
        values[s : s + len(P)] = ((C1[None] - C2[P[:, :, None], P[:, None, :]]) ** 2).sum((1, 2)) / n**2
    best = int(np.argmin(values))
    T = torch.zeros((n, n), dtype=X.dtype, device=X.device)
    T[torch.arange(n), torch.as_tensor(perms[best], device=X.device)] = 1.0 / n
    base = _gw_result(float(values[best]), T, was_numpy, len(perms), True, 0.0, [float(values[best])], "enumeration")
    fields = {f: getattr(base, f) for f in base.__dataclass_fields__}
    return GWExactResult(**fields, n_minimizers=int((values <= values[best] + atol).sum()))


def _sinkhorn_log(
    M: torch.Tensor,
    p: torch.Tensor,
    q: torch.Tensor,
    epsilon: float,
    f: torch.Tensor,
    g: torch.Tensor,
    max_iter: int,
    tol: float,
    absorb_at: float = 1e50,
    check_every: int = 10,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int, bool, float]:
    r"""Stabilised Sinkhorn for :math:`\min_T \langle M, T\rangle - \varepsilon H(T)` over :math:`\Pi(p, q)`.

    The plan is kept as :math:`T = \mathrm{diag}(u)\, K\, \mathrm{diag}(v)` with the kernel
    :math:`K_{ij} = \exp((f_i + g_j - M_{ij})/\varepsilon)` built from log-domain potentials
    :math:`(f, g)`; whenever a scaling leaves ``[1/absorb_at, absorb_at]`` it is absorbed into the
    potentials and :math:`K` is rebuilt (Schmitzer's log-stabilisation), so nothing overflows
    however small :math:`\varepsilon` is, while the inner loop costs two matrix–vector products.
    Works on a leading batch of problems (``M`` of shape (..., n, m)).

    Each iteration updates ``u`` (which makes the row marginals exact) and then ``v`` (which makes
    the column marginals exact and spoils the rows), so a test of the columns alone would pass
    vacuously. The loop stops when :math:`\|T\mathbf 1 - p\|_1 + \|T^\top\mathbf 1 - q\|_1 \le`
    ``tol`` for every problem of the batch (checked every ``check_every`` iterations and at
    ``max_iter``; the row sums reuse the product :math:`Kv` that the next ``u``-update needs). The
    columns are tested too because they are not exact after the following safeguard: if the
    scalings overflowed between two checks, the loop returns to the last check, absorbs, and
    checks after every iteration from then on.

    Returns
    -------
    plan, f, g, n_iter, converged, err
        The plan, the updated potentials, the iterations used, whether the test was met and the
        largest marginal error (rows plus columns, :math:`\ell_1`) at the last check.
    """

    def kernel(f_, g_):
        return torch.exp((f_[..., :, None] + g_[..., None, :] - M) / epsilon)

    def matvec(K_, v_):
        return (K_ @ v_[..., None])[..., 0]

    # centre the potentials so that the kernel's largest entry per row is 1 (no overflow at start)
    f = -epsilon * torch.logsumexp((g[..., None, :] - M) / epsilon, dim=-1) + epsilon * torch.log(p)
    K = kernel(f, g)
    u = torch.ones_like(p)
    v = torch.ones_like(q)
    Kv = matvec(K, v)
    u_ok, v_ok = u, v
    log_absorb = math.log(absorb_at)
    converged, err, it, last_check = False, math.inf, 0, 0
    for it in range(1, max_iter + 1):
        u = p / Kv
        v = q / (u[..., None, :] @ K)[..., 0, :]
        Kv = matvec(K, v)
        if it - last_check < check_every and it != max_iter:
            continue
        last_check = it
        finite = bool(torch.isfinite(u).all()) and bool(torch.isfinite(v).all()) and bool(torch.isfinite(Kv).all())
        if not finite:  # overflow since the last check: go back to it, and from now on
            u, v = u_ok, v_ok  # check (and absorb) after every iteration so that it cannot recur
            check_every = 1
        lu, lv = torch.log(u), torch.log(v)
        if not finite or float(torch.maximum(lu.abs().amax(), lv.abs().amax())) > log_absorb:
            f, g = f + epsilon * lu, g + epsilon * lv
            K, u, v = kernel(f, g), torch.ones_like(p), torch.ones_like(q)
            Kv = matvec(K, v)
        u_ok, v_ok = u, v
        # both marginals of diag(u) K diag(v): the rows u * (K v) are what the v-update spoils; the columns are
        # exact after a v-update but not after a return to an earlier state, so they are tested too
        cols = v * (u[..., None, :] @ K)[..., 0, :]
        err = float(((u * Kv - p).abs().sum(-1) + (cols - q).abs().sum(-1)).max())
        if err <= tol:
            converged = True
            break
    f, g = f + epsilon * torch.log(u), g + epsilon * torch.log(v)
    return kernel(f, g), f, g, it, converged, err


def entropic_gromov_wasserstein(
    x: Any,
    y: Any,
    p: Any | None = None,
    q: Any | None = None,
    *,
    epsilon: float = 5e-3,
    normalize: bool = True,
    max_iter: int = 1000,
    tol: float = 1e-9,
    sinkhorn_max_iter: int = 1000,
    sinkhorn_tol: float = 1e-9,
    dtype: torch.dtype | None = torch.float64,
) -> GWResult:
    r"""Entropic Gromov–Wasserstein with cosine costs (paper Eq. (34)), all in torch.

    The projected mirror-descent iteration of Peyré, Cuturi & Solomon (2016), as in POT's
    ``entropic_gromov_wasserstein`` (``solver="PGD"``):

    .. math::

        T_{k+1} = \arg\min_{T \in \Pi(p, q)} \langle \nabla E(T_k), T\rangle - \varepsilon H(T),
        \qquad \nabla E(T) = 2(C_1^{\odot 2}p\,\mathbf 1^\top + \mathbf 1\, q^\top C_2^{\odot 2}
        - 2 C_1 T C_2),

    each step a log-domain Sinkhorn projection (stable for small :math:`\varepsilon`), warm-started
    from the previous potentials. The products go through the points
    (:math:`C_1 T C_2 = X(X^\top T Y)Y^\top`), so nothing of size :math:`n \times n` is formed.
    The iteration runs on the device of ``x`` (a GPU when the input is there).

    Parameters
    ----------
    x, y, p, q, normalize, dtype
        As in :func:`gromov_wasserstein`.
    epsilon : float
        Entropic regularisation :math:`\varepsilon > 0` (same convention as POT).
    max_iter : int
        Outer (mirror-descent) iterations.
    tol : float
        Stop when :math:`\|T_{k+1} - T_k\|_F \le` ``tol`` *and* that step's Sinkhorn projection
        met ``sinkhorn_tol`` (after an unfinished projection the iteration goes on; the next
        projection resumes from its potentials).
    sinkhorn_max_iter, sinkhorn_tol : int, float
        Inner Sinkhorn loop: at most this many iterations per projection, until
        :math:`\|T\mathbf 1 - p\|_1 + \|T^\top\mathbf 1 - q\|_1 \le` ``sinkhorn_tol`` (tested
        every 10 iterations). A converged result has both marginals within ``sinkhorn_tol`` (plus
        rounding) in :math:`\ell_1`. Stricter than POT's test (:math:`\ell_2` norm of the column
        error after the row update) at the same threshold.

    Returns
    -------
    GWResult
        ``distance2`` is :math:`E(T)` of the entropic coupling (no entropy term). ``converged``
        is True only if both tests were met: the outer step and the last projection's marginals;
        ``gap`` is the stationarity certificate of the regularised objective (see :class:`GWResult`).

    Warns
    -----
    GWConvergenceWarning
        If ``max_iter`` is reached (``converged`` is then False), and separately if the last
        Sinkhorn projection missed ``sinkhorn_tol`` (``epsilon`` too small for
        ``sinkhorn_max_iter``): the returned plan is then not in :math:`\Pi(p, q)`.

    Notes
    -----
    Speed at equal convergence (``benchmarks/gw.py``: real embeddings, d = 384, ε = 5e-3, both
    solvers to marginals 1e-9 and outer change 1e-9, float64, 2 shared CPU cores): 0.56-0.61x
    POT's speed at n = 500 (semlib slower: more Sinkhorn iterations per step in the log-stabilised
    loop and a stricter marginal test), 1.7x faster at n = 1000 and 1.8-2.0x faster at n = 2000,
    plans within 5e-12 of POT's. For n of a few hundred on a CPU, POT's
    ``ot.gromov.entropic_gromov_wasserstein`` is the faster choice. Small ε (near-permutation
    plans) makes Sinkhorn converge slowly for both libraries; this function then warns rather
    than return a plan off the marginals.
    """
    epsilon = _positive(epsilon, "epsilon")
    max_iter, sinkhorn_max_iter = _count(max_iter, "max_iter"), _count(sinkhorn_max_iter, "sinkhorn_max_iter")
    tol, sinkhorn_tol = _positive(tol, "tol"), _positive(sinkhorn_tol, "sinkhorn_tol")
    X, Y, pt, qt, was_numpy = _prepare(x, y, p, q, normalize, dtype)
    if bool((pt <= 0).any()) or bool((qt <= 0).any()):
        raise ValueError("`p` and `q` must be strictly positive for the entropic solver (drop zero-weight points)")
    f = _CosineGW(X, Y, pt, qt)
    T = pt[:, None] * qt[None, :]
    fpot = torch.zeros_like(pt)
    gpot = torch.zeros_like(qt)
    history = []
    converged, err, it = False, math.inf, 0
    sk_converged, sk_err = False, math.inf
    for it in range(1, max_iter + 1):
        CT = f.cross(T)
        history.append(f.value(T, CT))
        T_new, fpot, gpot, _, sk_converged, sk_err = _sinkhorn_log(
            f.gradient(T, CT), pt, qt, epsilon, fpot, gpot, sinkhorn_max_iter, sinkhorn_tol
        )
        err = float(torch.linalg.vector_norm(T_new - T))
        T = T_new
        # a small step after an unfinished projection only means Sinkhorn has not moved far yet: keep going
        # (each projection is warm-started, so the next one resumes where this one stopped)
        if err <= tol and sk_converged:
            converged = True
            break
    if not bool(torch.isfinite(T).all()):  # pragma: no cover - log domain should prevent this
        raise FloatingPointError("the entropic coupling is not finite; increase `epsilon`")
    if not sk_converged:
        marginal_err = float((T.sum(1) - pt).abs().sum() + (T.sum(0) - qt).abs().sum())
        warnings.warn(
            f"the last Sinkhorn projection did not converge in sinkhorn_max_iter = {sinkhorn_max_iter} "
            f"iterations (marginal error {sk_err:.2e} > sinkhorn_tol = {sinkhorn_tol:g} in l1; "
            f"returned plan {marginal_err:.2e}): the coupling is not in Pi(p, q); increase `epsilon` "
            "or `sinkhorn_max_iter`",
            GWConvergenceWarning,
            stacklevel=2,
        )
    if not converged:
        warnings.warn(
            f"entropic_gromov_wasserstein stopped after max_iter = {max_iter} iterations "
            f"(last change {err:.2e}, tol = {tol:g}; last projection "
            f"{'converged' if sk_converged else 'unfinished'})",
            GWConvergenceWarning,
            stacklevel=2,
        )
    # The certificate of the returned plan: one more (warm-started) projection from it gives the
    # minimiser T+ of the linearised regularised objective F; F(T) - F(T+) >= 0, zero iff T is a
    # fixed point of the mirror step, i.e. stationary for E + eps * sum T log T.
    grad = f.gradient(T)
    T_plus = _sinkhorn_log(grad, pt, qt, epsilon, fpot, gpot, sinkhorn_max_iter, sinkhorn_tol)[0]
    gap = max(_regularised_linear(grad, T, epsilon) - _regularised_linear(grad, T_plus, epsilon), 0.0)
    # E(T) with the coupling's own marginals, so that the value is the true (non-negative) quadratic
    # form of the returned plan even when the last projection is inexact
    value = _CosineGW(X, Y, T.sum(1), T.sum(0)).value(T)
    history.append(value)
    return _gw_result(value, T, was_numpy, it, converged, gap, history, "entropic (log-domain Sinkhorn)")


def _regularised_linear(grad: torch.Tensor, T: torch.Tensor, epsilon: float) -> float:
    """<grad, T> + epsilon * sum T log T (0 log 0 = 0)."""
    return float((grad * T).sum() + epsilon * torch.xlogy(T, T).sum())
