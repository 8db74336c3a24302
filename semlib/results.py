"""The one base of every iterative solver's result: ``gap``, ``n_iter`` and ``converged``.

Every solver in semlib that iterates to a tolerance returns a frozen dataclass derived from
:class:`SolverResult`, so three fields mean the same thing everywhere (see the glossary in
CONTRIBUTING.md):

* ``gap`` -- an optimality certificate of the returned point (a duality gap, Blahut's bound,
  a Frank--Wolfe gap), in nats unless the result's values are in another base: the optimum
  lies within ``gap`` of the returned value. Never a step norm.
* ``n_iter`` -- the iterations actually run (an int array when the solver is batched).
* ``converged`` -- whether the stopping rule ``gap <= tol`` was met before ``max_iter``
  (a bool array when batched). A solver that stops at ``max_iter`` also warns.

The three fields are keyword-only, after each result's own fields.

Book: introduced with the Blahut--Arimoto solvers of chapter *Rate--distortion*
(``02_preliminaries/rate_distortion``) and used by every solver after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["SolverResult"]


@dataclass(frozen=True, kw_only=True)
class SolverResult:
    """Base of the results of iterative solvers.

    Attributes
    ----------
    gap : float or array
        Optimality certificate of the returned point (nats unless stated otherwise).
    n_iter : int or array of int
        Iterations actually run.
    converged : bool or array of bool
        Whether ``gap <= tol`` was reached before ``max_iter``.
    """

    gap: Any
    n_iter: Any
    converged: Any
