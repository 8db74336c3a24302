r"""Structural causal models: the three rungs of Pearl's ladder, computed exactly.

Two small model classes, each with the operations that separate the rungs of
Pearl's ladder of causation {association, intervention, counterfactual}:

:class:`DiscreteSCM`
    Finitely many variables with finite domains :math:`\{0, \dots, k_V - 1\}`.
    Each variable V has a structural assignment :math:`V := f_V(\mathrm{PA}_V, U_V)`
    with its own exogenous noise :math:`U_V` (independent across variables, pmf
    given). Every query is computed *exactly* by enumerating the exogenous
    values :math:`u`:

    .. math::

        P(v) = \sum_{u} P(u)\, \mathbf 1\{V(u) = v\}, \qquad
        P(y \mid \mathrm{do}(x)) = \sum_u P(u)\, \mathbf 1\{Y_x(u) = y\}, \qquad
        P(y_{x'} \mid e) = \sum_u P(u \mid e)\, \mathbf 1\{Y_{x'}(u) = y\},

    the last being abduction (:math:`P(u \mid e)`), action (replace the
    assignments of X by constants) and prediction (evaluate the modified model
    at the same u). A hidden confounder is an endogenous variable that is
    simply left out of the query.

:class:`StructuralVAR`
    A linear-Gaussian time-series SCM, a structural VAR with possibly
    instantaneous effects,

    .. math::

        v_t = B_0 v_t + \sum_{k=1}^{p} A_k v_{t-k} + \varepsilon_t, \qquad
        \varepsilon_t \sim \mathcal N(0, \operatorname{diag}(\sigma^2)),

    with :math:`B_0` acyclic (a permutation of it is strictly lower
    triangular). Its reduced form :math:`v_t = \sum_k \tilde A_k v_{t-k} + e_t`,
    :math:`\tilde A_k = (I - B_0)^{-1} A_k`,
    :math:`\Sigma = (I - B_0)^{-1} \operatorname{diag}(\sigma^2) (I - B_0)^{-\top}`,
    is what :mod:`semlib.granger` and :func:`semlib.gaussian.var_covariance`
    take, so the Granger causality and directed information of any *observed*
    subset of variables follow in closed form, while the causal effect of
    :math:`\mathrm{do}(X_t = x)` follows from the structural form.

Units: nats. Backend: numpy (float64); the public functions also take torch tensors and return
tensors on their device and dtype (`_backend.numpy_core`); the classes are numpy only.

Paper: §VI (Conclusions), §II-C (Granger causality, Definition 5), and the
paper's [74], [100]; v5's abstract frames LLM reasoning against the ladder.
Book: chapter *The limits of Granger causality*
(``06_conclusions/causality_limits``).

References
----------
.. [1] J. Pearl, *Causality*, 2nd ed., Cambridge University Press (2009),
   §1.4 (structural models, counterfactuals by abduction–action–prediction)
   and §3.3 (back-door adjustment). Paper's [74].
.. [2] J. Peters, D. Janzing and B. Schölkopf, *Elements of Causal Inference*,
   MIT Press (2017), §6.4 and §10 (time series).
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _backend as B
from . import granger as _granger
from ._backend import check_int as _check_int
from ._backend import numpy_core
from .gaussian import gaussian_directed_information, var_covariance

__all__ = [
    "Mechanism",
    "DiscreteSCM",
    "backdoor_adjustment",
    "canonical_binary_scm",
    "StructuralVAR",
]

Function = Callable[..., Any] | Any

_PMF_TOL = 1e-9


# --- validation helpers -------------------------------------------------------------------------


def _check_pmf(p: Any, name: str) -> np.ndarray:
    if B.is_torch(p):
        raise TypeError(f"`{name}` must be a numpy array (semlib.causal is numpy only)")
    arr = np.asarray(p, dtype=np.float64)
    if arr.ndim != 1 or arr.size < 1:
        raise ValueError(f"`{name}` must be a non-empty 1-d pmf, got shape {arr.shape}")
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError(f"`{name}` must have finite non-negative entries")
    if abs(arr.sum() - 1.0) > _PMF_TOL:
        raise ValueError(f"`{name}` must sum to 1, sums to {arr.sum():.12g}")
    return arr


def _check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not name:
        raise TypeError(f"`{what}` must be a non-empty str, got {name!r}")
    return name


# --- discrete SCMs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Mechanism:
    r"""One structural assignment :math:`V := f(\mathrm{PA}, U)` of a :class:`DiscreteSCM`.

    Parameters
    ----------
    card : int
        Size of the domain of V, whose values are ``0, ..., card - 1``.
    parents : tuple of str
        Names of the endogenous parents, in the order ``function`` takes them.
    function : callable or array-like of int
        Either a vectorised callable ``f(*parent_values, u)`` taking integer
        numpy arrays of one common shape and returning an integer array of
        that shape (use ``np.where`` for case distinctions), or a lookup table
        of shape ``(card(parent_1), ..., card(parent_k), len(noise))`` whose
        entry ``[pa_1, ..., pa_k, u]`` is the value of V.
    noise : array-like, shape (m,)
        The pmf of the exogenous :math:`U_V` over ``0, ..., m - 1``;
        ``[1.0]`` for a deterministic assignment.
    """

    card: int
    parents: tuple[str, ...]
    function: Function
    noise: np.ndarray


def _evaluate(name: str, mech: Mechanism, parent_values: list[np.ndarray], u: np.ndarray) -> np.ndarray:
    f = mech.function
    if callable(f):
        out = np.asarray(f(*parent_values, u))
        out = np.broadcast_to(out, u.shape)
    else:
        table = np.asarray(f)
        out = table[tuple(parent_values) + (u,)]
    if out.dtype.kind == "f":
        if not np.all(out == np.round(out)):
            raise ValueError(f"the assignment of `{name}` returned non-integer values")
        out = out.astype(np.int64)
    elif out.dtype.kind not in "iub":
        raise ValueError(f"the assignment of `{name}` must return integers, got dtype {out.dtype}")
    out = out.astype(np.int64)
    if out.size and (out.min() < 0 or out.max() >= mech.card):
        raise ValueError(
            f"the assignment of `{name}` returned values outside its domain 0..{mech.card - 1} "
            f"(found {int(out.min())}..{int(out.max())})"
        )
    return out


class DiscreteSCM:
    r"""A structural causal model on finite domains, with exact rung-1/2/3 queries.

    .. math::

        V := f_V(\mathrm{PA}_V, U_V), \qquad U_V \sim p_V \text{ independent},

    for every variable V, the graph of parents acyclic. All queries enumerate
    the :math:`\prod_V |U_V|` exogenous configurations, so keep the model small
    (the constructor refuses more than ``max_configurations``).

    Parameters
    ----------
    mechanisms : mapping str -> Mechanism or tuple
        For each variable, a :class:`Mechanism` or a tuple
        ``(card, parents, function, noise)`` with the same meaning. The mapping's
        order is the default axis order of :meth:`joint`.
    max_configurations : int, default 2**22
        Largest number of exogenous configurations allowed.

    Raises
    ------
    ValueError
        If a parent is not a variable, the graph has a cycle, a noise is not
        a pmf, a table has the wrong shape, or an assignment leaves its domain.
    TypeError
        If names or cardinalities have the wrong type.

    Examples
    --------
    A fair coin X and Y := X xor U with P(U = 1) = 0.1:

    >>> scm = DiscreteSCM({
    ...     "X": (2, (), lambda u: u, [0.5, 0.5]),
    ...     "Y": (2, ("X",), lambda x, u: x ^ u, [0.9, 0.1]),
    ... })
    >>> scm.joint().round(3).tolist()
    [[0.45, 0.05], [0.05, 0.45]]
    >>> scm.query(["Y"], do={"X": 1}).round(3).tolist()
    [0.1, 0.9]
    >>> scm.counterfactual(["Y"], do={"X": 0}, given={"X": 1, "Y": 1}).round(3).tolist()
    [1.0, 0.0]
    """

    def __init__(self, mechanisms: Mapping[str, Any], *, max_configurations: int = 2**22) -> None:
        if not isinstance(mechanisms, Mapping) or not mechanisms:
            raise TypeError("`mechanisms` must be a non-empty mapping from names to mechanisms")
        max_configurations = _check_int(max_configurations, "max_configurations", 1)
        mechs: dict[str, Mechanism] = {}
        for name, m in mechanisms.items():
            _check_name(name, "mechanisms key")
            if not isinstance(m, Mechanism):
                try:
                    card, parents, function, noise = m
                except (TypeError, ValueError):
                    raise TypeError(
                        f"`mechanisms[{name!r}]` must be a Mechanism or a tuple (card, parents, function, noise)"
                    ) from None
                m = Mechanism(card, parents, function, noise)
            card = _check_int(m.card, f"mechanisms[{name!r}].card", 1)
            if isinstance(m.parents, str):
                raise TypeError(f"`mechanisms[{name!r}].parents` must be a tuple of names, not a str")
            parents = tuple(_check_name(p, f"mechanisms[{name!r}].parents") for p in m.parents)
            if len(set(parents)) != len(parents) or name in parents:
                raise ValueError(f"`mechanisms[{name!r}].parents` repeats a name or contains the variable itself")
            noise = _check_pmf(m.noise, f"mechanisms[{name!r}].noise")
            function = m.function
            if not callable(function):
                table = np.asarray(function)
                if table.dtype.kind not in "iu":
                    raise TypeError(f"`mechanisms[{name!r}].function` must be callable or an integer table")
                mechs[name] = Mechanism(card, parents, table, noise)
            else:
                mechs[name] = Mechanism(card, parents, function, noise)
        for name, m in mechs.items():
            for p in m.parents:
                if p not in mechs:
                    raise ValueError(f"`mechanisms[{name!r}]` names the parent {p!r}, which is not a variable")
            if not callable(m.function):
                want = tuple(mechs[p].card for p in m.parents) + (m.noise.size,)
                if m.function.shape != want:
                    raise ValueError(
                        f"`mechanisms[{name!r}].function` table must have shape {want}, got {m.function.shape}"
                    )
        self._mechanisms = mechs
        self._order = self._topological_order()
        n_conf = int(np.prod([m.noise.size for m in mechs.values()], dtype=np.float64))
        if n_conf > max_configurations:
            raise ValueError(
                f"the model has {n_conf} exogenous configurations, more than `max_configurations` = "
                f"{max_configurations}"
            )
        self._max_conf = max_configurations
        self._u, self._pu = self._exogenous()
        self._values = self._solve(self._u)

    # -- structure --

    def _topological_order(self) -> list[str]:
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(v: str, path: tuple[str, ...]) -> None:
            if state.get(v) == 2:
                return
            if state.get(v) == 1:
                cycle = " -> ".join(path[path.index(v) :] + (v,))
                raise ValueError(f"`mechanisms` define a cyclic graph: {cycle}")
            state[v] = 1
            for p in self._mechanisms[v].parents:
                visit(p, path + (v,))
            state[v] = 2
            order.append(v)

        for v in self._mechanisms:
            visit(v, ())
        return order

    @property
    def variables(self) -> tuple[str, ...]:
        """Variable names in declaration order (the default axis order)."""
        return tuple(self._mechanisms)

    @property
    def cards(self) -> dict[str, int]:
        """Domain size of each variable."""
        return {v: m.card for v, m in self._mechanisms.items()}

    @property
    def parents(self) -> dict[str, tuple[str, ...]]:
        """Parents of each variable."""
        return {v: m.parents for v, m in self._mechanisms.items()}

    @property
    def mechanisms(self) -> dict[str, Mechanism]:
        """The structural assignments (a copy of the mapping)."""
        return dict(self._mechanisms)

    def __repr__(self) -> str:
        body = ", ".join(f"{v} := f({', '.join(m.parents + ('U_' + v,))})" for v, m in self._mechanisms.items())
        return f"DiscreteSCM({body})"

    # -- exogenous enumeration --

    def _exogenous(self) -> tuple[dict[str, np.ndarray], np.ndarray]:
        names = list(self._mechanisms)
        sizes = [self._mechanisms[v].noise.size for v in names]
        grids = np.indices(sizes).reshape(len(sizes), -1)
        u = {v: grids[i] for i, v in enumerate(names)}
        pu = np.ones(grids.shape[1])
        for i, v in enumerate(names):
            pu = pu * self._mechanisms[v].noise[grids[i]]
        return u, pu

    def _solve(self, u: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        values: dict[str, np.ndarray] = {}
        for v in self._order:
            m = self._mechanisms[v]
            values[v] = _evaluate(v, m, [values[p] for p in m.parents], u[v])
        return values

    # -- validation of queries --

    def _names(self, names: Any, what: str) -> tuple[str, ...]:
        if isinstance(names, str):
            names = (names,)
        try:
            items = tuple(names)
        except TypeError:
            raise TypeError(f"`{what}` must be a sequence of variable names") from None
        for n in items:
            if n not in self._mechanisms:
                raise ValueError(f"`{what}` names {n!r}, which is not a variable of the model {self.variables}")
        if len(set(items)) != len(items):
            raise ValueError(f"`{what}` repeats a variable: {items}")
        return items

    def _assignment(self, a: Any, what: str) -> dict[str, int]:
        if a is None:
            return {}
        if not isinstance(a, Mapping):
            raise TypeError(f"`{what}` must be a mapping from variable names to values")
        out = {}
        for n, val in a.items():
            if n not in self._mechanisms:
                raise ValueError(f"`{what}` names {n!r}, which is not a variable of the model {self.variables}")
            if isinstance(val, bool) or not isinstance(val, numbers.Integral):
                raise TypeError(f"`{what}[{n!r}]` must be an int, got {val!r}")
            if not 0 <= int(val) < self._mechanisms[n].card:
                raise ValueError(f"`{what}[{n!r}]` = {val} is outside the domain 0..{self._mechanisms[n].card - 1}")
            out[n] = int(val)
        return out

    @staticmethod
    def _mask(values: dict[str, np.ndarray], given: dict[str, int], size: int) -> np.ndarray:
        mask = np.ones(size, dtype=bool)
        for n, val in given.items():
            mask &= values[n] == val
        return mask

    def _histogram(self, values: dict[str, np.ndarray], weights: np.ndarray, variables: tuple[str, ...]) -> np.ndarray:
        shape = tuple(self._mechanisms[v].card for v in variables)
        if not variables:
            return np.asarray(weights.sum())
        flat = np.ravel_multi_index(tuple(values[v] for v in variables), shape)
        return np.bincount(flat, weights=weights, minlength=int(np.prod(shape))).reshape(shape)

    # -- rung 1 and 2 --

    def joint(self, variables: Sequence[str] | None = None) -> np.ndarray:
        r"""Observational joint pmf :math:`P(v) = \sum_u P(u)\,\mathbf 1\{V(u) = v\}` (rung 1).

        Parameters
        ----------
        variables : sequence of str, optional
            The variables kept, one axis each, in this order; the rest are
            marginalised out (hidden). Default: all, in declaration order.

        Returns
        -------
        numpy.ndarray
            Joint pmf, shape ``(card(v_1), card(v_2), ...)``.
        """
        variables = self.variables if variables is None else self._names(variables, "variables")
        return self._histogram(self._values, self._pu, variables)

    def do(self, intervention: Mapping[str, int]) -> DiscreteSCM:
        r"""The submodel :math:`M_x`: the assignments of the intervened variables become constants.

        Parameters
        ----------
        intervention : mapping str -> int
            Variables and the values they are set to, :math:`\mathrm{do}(X = x)`.

        Returns
        -------
        DiscreteSCM
            A new model; its :meth:`joint` is the interventional distribution
            :math:`P(v \mid \mathrm{do}(x))` (the truncated factorisation).
            The intervened variables keep a one-point noise.
        """
        iv = self._assignment(intervention, "intervention")
        if not iv:
            raise ValueError("`intervention` must set at least one variable")
        mechs: dict[str, Mechanism] = {}
        for v, m in self._mechanisms.items():
            if v in iv:
                mechs[v] = Mechanism(m.card, (), np.full((1,), iv[v], dtype=np.int64), np.ones(1))
            else:
                mechs[v] = m
        return DiscreteSCM(mechs, max_configurations=self._max_conf)

    def query(
        self,
        variables: Sequence[str],
        *,
        given: Mapping[str, int] | None = None,
        do: Mapping[str, int] | None = None,
    ) -> np.ndarray:
        r"""Conditional pmf :math:`P(v \mid \text{given}, \mathrm{do}(\text{do}))` (rungs 1 and 2).

        Parameters
        ----------
        variables : sequence of str
            Query variables, one axis each.
        given : mapping str -> int, optional
            Observed values to condition on (in the intervened model).
        do : mapping str -> int, optional
            Intervention applied first.

        Returns
        -------
        numpy.ndarray
            The conditional pmf over ``variables``.

        Raises
        ------
        ValueError
            If the conditioning event has probability 0.
        """
        model = self.do(do) if do else self
        variables = model._names(variables, "variables")
        g = model._assignment(given, "given")
        mask = model._mask(model._values, g, model._pu.size)
        pe = float(model._pu[mask].sum())
        if pe <= 0.0:
            raise ValueError(f"the event `given` = {g} has probability 0 in the model; the query is undefined")
        return model._histogram({v: model._values[v][mask] for v in variables}, model._pu[mask] / pe, variables)

    # -- rung 3 --

    def counterfactual(
        self,
        variables: Sequence[str],
        *,
        do: Mapping[str, int],
        given: Mapping[str, int],
    ) -> np.ndarray:
        r"""Counterfactual pmf :math:`P(v_x \mid e)` by abduction, action and prediction (rung 3).

        .. math::

            P(V_x = v \mid E = e) = \sum_u P(u \mid e)\, \mathbf 1\{V_x(u) = v\},
            \qquad P(u \mid e) \propto P(u)\, \mathbf 1\{E(u) = e\},

        where :math:`E(u)` is evaluated in the factual model and
        :math:`V_x(u)` in the submodel :math:`M_x` at the *same* u.

        Parameters
        ----------
        variables : sequence of str
            Variables whose counterfactual values are asked for.
        do : mapping str -> int
            The hypothetical intervention x.
        given : mapping str -> int
            The factual evidence e (may involve the intervened variables, with
            other values: that is what makes it counterfactual).

        Returns
        -------
        numpy.ndarray
            The pmf over ``variables`` in the counterfactual world.

        Raises
        ------
        ValueError
            If the evidence has probability 0.
        """
        variables = self._names(variables, "variables")
        e = self._assignment(given, "given")
        if not e:
            raise ValueError("`given` must state some factual evidence (use query(..., do=...) for rung 2)")
        iv = self._assignment(do, "do")
        if not iv:
            raise ValueError("`do` must set at least one variable")
        mask = self._mask(self._values, e, self._pu.size)  # abduction
        pe = float(self._pu[mask].sum())
        if pe <= 0.0:
            raise ValueError(f"the evidence `given` = {e} has probability 0 in the model")
        u_post = {v: arr[mask] for v, arr in self._u.items()}
        sub = self.do(iv)  # action
        u_sub = {v: (np.zeros_like(u_post[v]) if v in iv else u_post[v]) for v in self._mechanisms}
        values = sub._solve(u_sub)  # prediction at the same u
        return self._histogram({v: values[v] for v in variables}, self._pu[mask] / pe, variables)


@numpy_core("joint")
def backdoor_adjustment(joint: Any, x: int, y: int, z: Sequence[int]) -> np.ndarray:
    r"""Back-door adjustment :math:`P(y \mid \mathrm{do}(x)) = \sum_z P(y \mid x, z) P(z)` from a joint pmf.

    Valid when the variables on the axes ``z`` block every back-door path from
    X to Y and contain no descendant of X (Pearl 2009, Theorem 3.3.2); the
    function computes the formula, it cannot check the graph.

    Parameters
    ----------
    joint : array-like
        Observational joint pmf, one axis per variable.
    x, y : int
        Axes of X and Y.
    z : sequence of int
        Axes of the adjustment set Z (may be empty); other axes are summed out.

    Returns
    -------
    numpy.ndarray, shape (card(X), card(Y))
        Row x is the pmf :math:`P(Y \mid \mathrm{do}(X = x))`.

    Raises
    ------
    ValueError
        If the axes overlap or are out of range, the array is not a pmf, or
        some :math:`P(x, z) = 0` with :math:`P(z) > 0` (positivity fails).

    Examples
    --------
    >>> p = np.full((2, 2), 0.25)                 # X and Y independent fair coins
    >>> backdoor_adjustment(p, 0, 1, []).tolist()
    [[0.5, 0.5], [0.5, 0.5]]
    """
    if B.is_torch(joint):
        raise TypeError("`joint` must be a numpy array (semlib.causal is numpy only)")
    p = np.asarray(joint, dtype=np.float64)
    if p.ndim < 2 or not np.isfinite(p).all() or (p < 0).any() or abs(p.sum() - 1.0) > _PMF_TOL:
        raise ValueError("`joint` must be a pmf with at least two axes (non-negative, summing to 1)")
    axes = [_check_int(x, "x", 0), _check_int(y, "y", 0)] + [_check_int(a, "z", 0) for a in z]
    if max(axes) >= p.ndim:
        raise ValueError(f"an axis in `x`, `y`, `z` is out of range for `joint` with {p.ndim} axes")
    if len(set(axes)) != len(axes):
        raise ValueError("`x`, `y` and `z` must name distinct axes")
    rest = tuple(a for a in range(p.ndim) if a not in axes)
    q = p.sum(axis=rest) if rest else p
    q = np.moveaxis(q, [sorted(axes).index(a) for a in axes], range(len(axes)))  # (X, Y, Z...)
    p_xz = q.sum(axis=1)  # (X, Z...)
    p_z = p_xz.sum(axis=0)  # (Z...)
    if ((p_xz == 0) & (p_z[None] > 0)).any():
        raise ValueError("positivity fails: some P(x, z) = 0 where P(z) > 0, so P(y | x, z) is undefined")
    with np.errstate(invalid="ignore", divide="ignore"):
        p_y_given_xz = np.where(p_xz[:, None] > 0, q / p_xz[:, None], 0.0)
    out = (p_y_given_xz * p_z[None, None]).reshape(q.shape[0], q.shape[1], -1).sum(axis=2)
    return out


@numpy_core("p_types")
def canonical_binary_scm(p_x: float, p_types: Any) -> DiscreteSCM:
    r"""Binary X → Y with exogenous X and Y's four *response types* (Balke and Pearl).

    .. math::

        X := U_X,\ U_X \sim \mathrm{Bernoulli}(p_x); \qquad
        Y := f_{R}(X), \quad R \in \{\text{never}, \text{helped}, \text{hurt}, \text{always}\},

    with :math:`f_{\text{never}}(x) = 0`, :math:`f_{\text{helped}}(x) = x`,
    :math:`f_{\text{hurt}}(x) = 1 - x`, :math:`f_{\text{always}}(x) = 1`. Every
    binary SCM X → Y with X unconfounded is of this form. Rungs 1 and 2 see
    only :math:`P(Y_1 = 1) = p_{\text{helped}} + p_{\text{always}}` and
    :math:`P(Y_0 = 1) = p_{\text{hurt}} + p_{\text{always}}`; counterfactuals
    such as the probability of necessity depend on the split.

    Parameters
    ----------
    p_x : float
        :math:`P(X = 1)`, in [0, 1].
    p_types : array-like, shape (4,)
        pmf of R over (never, helped, hurt, always).

    Returns
    -------
    DiscreteSCM
        Variables ``"X"`` and ``"Y"``.

    Examples
    --------
    >>> scm = canonical_binary_scm(0.5, [0.4, 0.3, 0.0, 0.3])
    >>> scm.query(["Y"], do={"X": 1}).round(3).tolist()
    [0.4, 0.6]
    """
    if isinstance(p_x, bool) or not isinstance(p_x, numbers.Real) or not 0.0 <= float(p_x) <= 1.0:
        raise ValueError(f"`p_x` must be a number in [0, 1], got {p_x!r}")
    p_types = _check_pmf(p_types, "p_types")
    if p_types.size != 4:
        raise ValueError(f"`p_types` must have 4 entries (never, helped, hurt, always), got {p_types.size}")
    table = np.array([[0, 0, 1, 1], [0, 1, 0, 1]], dtype=np.int64)  # [x, r]
    return DiscreteSCM(
        {
            "X": (2, (), np.array([0, 1], dtype=np.int64), [1.0 - float(p_x), float(p_x)]),
            "Y": (2, ("X",), table, p_types),
        }
    )


# --- linear-Gaussian time-series SCM --------------------------------------------------------------


def _as_matrix_stack(A: Any, name: str) -> np.ndarray:
    if B.is_torch(A):
        raise TypeError(f"`{name}` must be a numpy array (semlib.causal is numpy only)")
    arr = np.asarray(A, dtype=np.float64)
    if arr.ndim != 3 or arr.shape[1] != arr.shape[2] or arr.shape[0] < 1 or arr.shape[1] < 1:
        raise ValueError(f"`{name}` must have shape (p, d, d) with p, d >= 1, got {arr.shape}")
    if not np.isfinite(arr).all():
        raise ValueError(f"`{name}` must have finite entries")
    return arr


class StructuralVAR:
    r"""A linear-Gaussian structural VAR: a time-series SCM with lagged and instantaneous effects.

    .. math::

        v_t = B_0 v_t + \sum_{k=1}^{p} A_k v_{t-k} + \varepsilon_t, \qquad
        \varepsilon_t \sim \mathcal N\bigl(0, \operatorname{diag}(\sigma^2)\bigr)
        \ \text{i.i.d.},

    :math:`(B_0)_{ij} \ne 0` meaning :math:`v_j \to v_i` within one sampling
    step. The reduced form used by :mod:`semlib.granger` is
    :math:`\tilde A_k = (I - B_0)^{-1} A_k` and
    :math:`\Sigma = (I - B_0)^{-1} \operatorname{diag}(\sigma^2)(I - B_0)^{-\top}`.

    Parameters
    ----------
    A : array-like, shape (p, d, d)
        Lagged structural coefficients; ``A[k-1][i, j]`` is the effect of
        :math:`v_{j, t-k}` on :math:`v_{i, t}`.
    noise_var : array-like, shape (d,)
        Variances :math:`\sigma^2_i > 0` of the independent structural noises.
    B0 : array-like, shape (d, d), optional
        Instantaneous effects, zero diagonal, acyclic. Default: none.
    names : sequence of str, optional
        Variable names (default ``"v0", "v1", ...``); methods accept names or
        indices.

    Raises
    ------
    ValueError
        If shapes disagree, a variance is not positive, ``B0`` has a nonzero
        diagonal or a cycle, or the reduced form is not stationary.

    Examples
    --------
    x drives y at lag 1 with coefficient 0.4:

    >>> svar = StructuralVAR([[[0.5, 0.0], [0.4, 0.6]]], [1.0, 1.0], names=["x", "y"])
    >>> round(float(svar.granger_causality("x", "y")), 8)
    0.18400023
    >>> svar.causal_effect("x", "y", horizon=2).round(3).tolist()
    [0.0, 0.4, 0.44]
    """

    def __init__(
        self,
        A: Any,
        noise_var: Any,
        *,
        B0: Any = None,
        names: Sequence[str] | None = None,
    ) -> None:
        A = _as_matrix_stack(A, "A")
        _p, d, _ = A.shape
        if B.is_torch(noise_var):
            raise TypeError("`noise_var` must be a numpy array (semlib.causal is numpy only)")
        s2 = np.asarray(noise_var, dtype=np.float64)
        if s2.shape != (d,):
            raise ValueError(f"`noise_var` must have shape ({d},) to match `A`, got {s2.shape}")
        if not np.isfinite(s2).all() or (s2 <= 0).any():
            raise ValueError("`noise_var` must hold finite positive variances")
        if B0 is None:
            B0a = np.zeros((d, d))
        else:
            if B.is_torch(B0):
                raise TypeError("`B0` must be a numpy array (semlib.causal is numpy only)")
            B0a = np.asarray(B0, dtype=np.float64)
            if B0a.shape != (d, d):
                raise ValueError(f"`B0` must have shape ({d}, {d}) to match `A`, got {B0a.shape}")
            if not np.isfinite(B0a).all():
                raise ValueError("`B0` must have finite entries")
            if np.any(np.diag(B0a) != 0):
                raise ValueError("`B0` must have a zero diagonal (no variable causes itself instantaneously)")
            # acyclic <=> the adjacency matrix is nilpotent
            adj = (B0a != 0).astype(np.int64)
            M = np.eye(d, dtype=np.int64)
            for _ in range(d):
                M = np.minimum(M @ adj, 1)
            if M.any():
                raise ValueError("`B0` must be acyclic (its instantaneous-effect graph has a cycle)")
        if names is None:
            names = [f"v{i}" for i in range(d)]
        names = [_check_name(n, "names") for n in names]
        if len(names) != d or len(set(names)) != d:
            raise ValueError(f"`names` must hold {d} distinct names, got {names}")
        self.A = A
        self.B0 = B0a
        self.noise_var = s2
        self.names = tuple(names)
        self._inv = np.linalg.inv(np.eye(d) - B0a)
        self.A_reduced = np.einsum("ij,kjl->kil", self._inv, A)
        S = self._inv @ np.diag(s2) @ self._inv.T
        self.Sigma_reduced = 0.5 * (S + S.T)
        F = _granger.companion_matrix(self.A_reduced)
        rho = float(np.max(np.abs(np.linalg.eigvals(F))))
        if not rho < 1.0:
            raise ValueError(f"the reduced-form VAR is not stationary (spectral radius {rho:.6g}, must be < 1)")

    @property
    def d(self) -> int:
        """Number of variables."""
        return self.A.shape[1]

    @property
    def p(self) -> int:
        """Number of lags."""
        return self.A.shape[0]

    def __repr__(self) -> str:
        return f"StructuralVAR(names={self.names}, p={self.p})"

    def index(self, v: Any, what: str = "variable") -> int:
        """Index of a variable given by name or index."""
        if isinstance(v, str):
            if v not in self.names:
                raise ValueError(f"`{what}` = {v!r} is not a variable name of the model {self.names}")
            return self.names.index(v)
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"`{what}` must be a name or an int index, got {v!r}")
        if not 0 <= int(v) < self.d:
            raise ValueError(f"`{what}` = {v} is out of range for {self.d} variables")
        return int(v)

    def _indices(self, vs: Any, what: str) -> tuple[int, ...]:
        if isinstance(vs, (str, numbers.Integral)) and not isinstance(vs, bool):
            vs = (vs,)
        try:
            items = tuple(vs)
        except TypeError:
            raise TypeError(f"`{what}` must be a name, an index or a sequence of them") from None
        return tuple(self.index(v, what) for v in items)

    # -- rung 1: the observed process --

    def covariance(self, n: int, observed: Any = None) -> np.ndarray:
        r"""Stationary covariance of :math:`(v_1, \dots, v_n)` restricted to ``observed``, time-major.

        Parameters
        ----------
        n : int
            Number of time steps.
        observed : names or indices, optional
            Variables kept (default all), in this order within each time step.

        Returns
        -------
        numpy.ndarray, shape (n m, n m)
            m = number of observed variables; rows ``t m : (t+1) m`` are time t+1.
        """
        n = _check_int(n, "n", 1)
        obs = tuple(range(self.d)) if observed is None else self._indices(observed, "observed")
        C = var_covariance(self.A_reduced, self.Sigma_reduced, n)
        idx = [t * self.d + i for t in range(n) for i in obs]
        return C[np.ix_(idx, idx)]

    def granger_causality(
        self, source: Any, target: Any, *, observed: Any = None, lags: int | None = None
    ) -> np.float64:
        r"""Granger causality :math:`\mathcal F_{X \to Y \mid Z}` when only ``observed`` is seen.

        Calls :func:`semlib.granger.granger_causality` on the reduced form with
        Z = the observed variables other than X and Y; all other variables are
        hidden (marginalised out).

        Parameters
        ----------
        source, target : name or index (or sequences)
        observed : names or indices, optional
            The observed variables; default: only ``source`` and ``target``.
        lags : int, optional
            As in :func:`semlib.granger.granger_causality`.

        Returns
        -------
        numpy.float64, nats
        """
        s = self._indices(source, "source")
        t = self._indices(target, "target")
        obs = s + t if observed is None else self._indices(observed, "observed")
        missing = [self.names[i] for i in s + t if i not in obs]
        if missing:
            raise ValueError(f"`observed` must contain the source and target variables; missing {missing}")
        given = tuple(i for i in obs if i not in s + t)
        return _granger.granger_causality(self.A_reduced, self.Sigma_reduced, s, t, given=given, lags=lags)

    def directed_information_terms(self, source: Any, target: Any, n: int) -> np.ndarray:
        r"""Terms :math:`I(X_{1:t-1}; Y_t \mid Y_{1:t-1})` of :math:`I(0{*}X_{1:n-1} \to Y_{1:n})`.

        Computed from the stationary Gaussian covariance of the observed pair
        (X, Y) alone, with :func:`semlib.gaussian.gaussian_directed_information`
        applied to growing horizons. The terms increase to the transfer entropy
        :math:`T_{X \to Y} = \mathcal F_{X \to Y} / 2` of the pair.

        Parameters
        ----------
        source, target : name or index
        n : int
            Horizon (>= 1).

        Returns
        -------
        numpy.ndarray, shape (n,), nats
        """
        s = self.index(source, "source")
        t = self.index(target, "target")
        if s == t:
            raise ValueError("`source` and `target` must differ")
        n = _check_int(n, "n", 1)
        C = self.covariance(n, (s, t))  # time-major pairs (x_t, y_t)
        # delayed source: X-block at step t is x_{t-1}; step 1 gets an independent dummy
        D = np.zeros((2 * n + 1, 2 * n + 1))
        D[: 2 * n, : 2 * n] = C
        D[2 * n, 2 * n] = 1.0
        x_blocks = [[2 * n]] + [[2 * (k - 1)] for k in range(1, n)]
        y_blocks = [[2 * k + 1] for k in range(n)]
        totals = np.array(
            [float(gaussian_directed_information(D, x_blocks[: m + 1], y_blocks[: m + 1])) for m in range(n)]
        )
        return np.diff(np.concatenate([[0.0], totals]))

    # -- rung 2: interventions --

    def causal_effect(self, source: Any, target: Any, horizon: int) -> np.ndarray:
        r"""Effect of :math:`\mathrm{do}(X_t = x)` on :math:`\mathbb E\,Y_{t+h}`, per unit of x, h = 0..horizon.

        The intervention replaces X's structural equation at the single time t
        by the constant x. Subtracting two interventions with the same noise,
        the difference :math:`\delta` solves

        .. math::

            \delta_t = (I - B_0^{(X)})^{-1} e_X, \qquad
            \delta_{t+h} = (I - B_0)^{-1} \sum_{k=1}^{p} A_k \delta_{t+h-k}\ (h \ge 1),

        where :math:`B_0^{(X)}` is :math:`B_0` with X's row zeroed, so
        :math:`\mathbb E[Y_{t+h} \mid \mathrm{do}(X_t = x)] = \psi_h x`
        with :math:`\psi_h = (\delta_{t+h})_Y` (the process has mean zero).
        This is rung 2: it uses the structural form, not only the law of the
        observed process.

        Parameters
        ----------
        source, target : name or index
        horizon : int
            Largest h (>= 0).

        Returns
        -------
        numpy.ndarray, shape (horizon + 1,)
            :math:`\psi_0, \dots, \psi_{\text{horizon}}`.
        """
        return self.impulse_response(source, horizon)[:, self.index(target, "target")]

    def impulse_response(self, source: Any, horizon: int) -> np.ndarray:
        r"""All :math:`\delta_{t+h}` of :meth:`causal_effect`, shape (horizon + 1, d)."""
        s = self.index(source, "source")
        horizon = _check_int(horizon, "horizon", 0)
        d, p = self.d, self.p
        B0x = self.B0.copy()
        B0x[s] = 0.0
        e = np.zeros(d)
        e[s] = 1.0
        delta = np.zeros((horizon + 1, d))
        delta[0] = np.linalg.solve(np.eye(d) - B0x, e)
        for h in range(1, horizon + 1):
            acc = sum(self.A[k] @ delta[h - 1 - k] for k in range(min(p, h)))
            delta[h] = self._inv @ acc
        return delta

    def simulate(
        self,
        n: int,
        *,
        n_paths: int | None = None,
        seed: int | np.random.Generator | None = None,
        do: Mapping[tuple[Any, int], float] | None = None,
        burn_in: int = 500,
    ) -> np.ndarray:
        r"""Simulate the structural equations, optionally under interventions.

        Parameters
        ----------
        n : int
            Number of time steps kept.
        n_paths : int, optional
            Number of independent paths (vectorised); ``None`` returns one path.
        seed : int, None or numpy.random.Generator, default None
            Random state (see CONTRIBUTING.md, glossary): an int >= 0 (reproducible),
            ``None`` (fresh entropy) or a Generator, used as is and advanced.
        do : mapping (variable, time) -> float, optional
            Interventions :math:`\mathrm{do}(v_{i,t} = x)` at times ``0 <= t < n``
            (times count the kept steps); the variable's equation at that time
            is replaced by the constant, so its effects propagate through the
            structural coefficients.
        burn_in : int, default 500
            Steps simulated from zero and discarded to approach stationarity.

        Returns
        -------
        numpy.ndarray
            Shape (n, d), or (n_paths, n, d).
        """
        n = _check_int(n, "n", 1)
        burn_in = _check_int(burn_in, "burn_in", 0)
        m = 1 if n_paths is None else _check_int(n_paths, "n_paths", 1)
        gen = B.numpy_rng(seed)
        interventions: dict[int, list[tuple[int, float]]] = {}
        for key, val in (do or {}).items():
            try:
                var, time = key
            except (TypeError, ValueError):
                raise TypeError("`do` keys must be (variable, time) pairs") from None
            i = self.index(var, "do variable")
            time = _check_int(time, "do time", 0)
            if time >= n:
                raise ValueError(f"`do` time {time} is outside 0..{n - 1}")
            if isinstance(val, bool) or not isinstance(val, numbers.Real):
                raise TypeError(f"`do` values must be numbers, got {val!r}")
            interventions.setdefault(burn_in + time, []).append((i, float(val)))
        d, p = self.d, self.p
        total = burn_in + n
        out = np.zeros((m, n, d))
        history = np.zeros((p, m, d))  # history[k - 1] = v_{t-k}; only p states kept in memory
        sd = np.sqrt(self.noise_var)
        order = self._instantaneous_order()
        for t in range(total):
            drive = gen.standard_normal((m, d)) * sd
            for k in range(1, min(p, t) + 1):
                drive += history[k - 1] @ self.A[k - 1].T
            fixed = dict(interventions.get(t, []))
            now = np.zeros((m, d))
            for i in order:  # instantaneous effects in causal order
                now[:, i] = fixed[i] if i in fixed else drive[:, i] + now @ self.B0[i]
            history = np.concatenate([now[None], history[:-1]])
            if t >= burn_in:
                out[:, t - burn_in] = now
        return out[0] if n_paths is None else out

    def _instantaneous_order(self) -> list[int]:
        order: list[int] = []
        remaining = set(range(self.d))
        while remaining:
            ready = [i for i in sorted(remaining) if all(j not in remaining for j in np.flatnonzero(self.B0[i]))]
            order.extend(ready)
            remaining -= set(ready)
        return order
