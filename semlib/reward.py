r"""Post-training as reward maximisation: the rate-reward function and the KL-regularised policy.

A prompt :math:`S \sim p(s)` (``m`` values) is answered by a response
:math:`U` (``k`` values) drawn from a policy :math:`\pi(u \mid s)`; a reward
:math:`w(s, u)` scores the pair. Two ways of trading reward against a cost
of moving the policy appear in the paper's §III-C:

* the **rate-reward function** (paper, Definition 7, Eq. 20, with the
  constraint on the *expected* reward, see the book's erratum
  ``erratum-def7-expectation``)

  .. math::

      R_{\mathrm{post}}(W) = \min_{\pi:\ \mathbb{E}\, w(S, U) \ge W} I(S; U),

  whose Lagrangian (Eq. 21) :math:`I(S;U) - \lambda\, \mathbb{E}\, w` is
  minimised by the Blahut–Arimoto fixed point
  :math:`\pi_\lambda(u \mid s) \propto q(u)\, e^{\lambda w(s, u)}`, with
  :math:`q` the output marginal of :math:`\pi_\lambda` itself
  (:func:`rate_reward_curve`);
* the **KL-regularised objective** of RLHF and DPO [1]_, [2]_,
  :math:`\max_\pi \mathbb{E}\, r(S, U) - \beta\, \mathbb{E}_S\, D(\pi \,\|\, \pi_{\mathrm{ref}})`
  (the divergence taken prompt by prompt),
  maximised by :math:`\pi^*_\beta(u \mid s) \propto \pi_{\mathrm{ref}}(u \mid s)\, e^{r(s, u)/\beta}`
  (:func:`kl_regularized_optimum`).

The two coincide, with :math:`\beta = 1/\lambda`, exactly when the reference
policy is the prompt-independent marginal :math:`q` of the rate-reward
optimum. With the whole prompt available at every step, the directed
information of Definition 7 equals :math:`I(S; U)` for a response
:math:`U` treated as one symbol, which is what this module computes.

Units: nats unless ``base=2``. Arrays: numpy in, numpy out; torch in, torch
out on the inputs' device. Book: chapter *Directed rate-reward function*
(§III-C of the paper).

References
----------
.. [1] L. Ouyang et al., "Training language models to follow instructions
   with human feedback," arXiv:2203.02155, 2022.
.. [2] R. Rafailov et al., "Direct preference optimization: your language
   model is secretly a reward model," arXiv:2305.18290, 2023.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from . import _backend as B
from ._backend import numpy_core
from .info import _scale, validate_pmf
from .rate_distortion import (
    _common_dtype,
    _exp,
    _lse,
    _same_backend,
    _sum,
    _validate_rows_pmf,
    blahut_arimoto_tilted,
)
from .results import SolverResult

__all__ = [
    "RateRewardResult",
    "kl_regularized_optimum",
    "expected_reward",
    "policy_information",
    "expected_kl",
    "kl_regularized_objective",
    "rate_reward_curve",
    "rate_reward_almost_sure",
    "implied_reward",
    "dpo_loss",
    "dpo_population_loss",
    "fit_tabular_policy",
]


# --- validation -----------------------------------------------------------------------------


def _check_reward(reward: Any, shape: tuple[int, ...], name: str = "reward") -> Any:
    reward = B.as_float_array(reward, name)
    if tuple(reward.shape) != tuple(shape):
        raise ValueError(f"`{name}` must have shape {tuple(shape)} (prompts x responses), got {tuple(reward.shape)}")
    if not B.all_finite(reward):
        raise ValueError(f"`{name}` must have finite entries (found NaN or inf)")
    return reward


def _check_policy(policy: Any, name: str) -> Any:
    """A policy: shape (k,) or (m, k), every row a pmf."""
    return _validate_rows_pmf(policy, name)


def _validate_lambdas(lambdas: Any, ref: Any) -> Any:
    """Multipliers as a sorted 1-d array of ``ref``'s backend, dtype and device; each finite and >= 0."""
    if B.is_torch(lambdas):
        lam = lambdas.detach().to(dtype=ref.dtype if B.is_torch(ref) else None)
    else:
        lam = np.asarray(lambdas)
        if lam.dtype == object or not (np.issubdtype(lam.dtype, np.number) or lam.dtype == bool):
            raise TypeError(f"`lambdas` must be a real number or a 1-d array of them, got dtype {lam.dtype}")
        if np.iscomplexobj(lam):
            raise TypeError("`lambdas` must be real")
    if lam.ndim > 1:
        raise ValueError(f"`lambdas` must be a scalar or 1-d, got shape {tuple(lam.shape)}")
    if B.is_torch(ref):
        import torch

        lam = torch.as_tensor(lam, dtype=ref.dtype, device=ref.device).reshape(-1).sort().values
    else:
        if B.is_torch(lam):
            raise TypeError("`lambdas` is a tensor but `reward` is not: use one backend")
        lam = np.sort(np.asarray(lam, dtype=np.float64).reshape(-1))
    if lam.shape[0] == 0:
        raise ValueError("`lambdas` must not be empty")
    if not B.all_finite(lam):
        raise ValueError("`lambdas` must be finite")
    if B.any_negative(lam):
        raise ValueError(f"`lambdas` must be >= 0 (the slope of the curve), found {B.to_scalar(lam.min()):.3g}")
    return lam


def _check_prompts_and_reward(p_s: Any, reward: Any) -> tuple[Any, Any]:
    """A prompt pmf of shape (m,) and a reward table of shape (m, k), validated."""
    p_s = validate_pmf(p_s, "p_s")
    if p_s.ndim != 1:
        raise ValueError(f"`p_s` must be one-dimensional (a pmf over prompts), got shape {tuple(p_s.shape)}")
    reward = B.as_float_array(reward, "reward")
    if reward.ndim != 2 or reward.shape[0] != p_s.shape[0]:
        raise ValueError(f"`reward` must have shape ({p_s.shape[0]}, k), got {tuple(reward.shape)}")
    reward = _check_reward(reward, tuple(reward.shape))
    return p_s, reward


def _check_source(p_s: Any, policy: Any) -> Any:
    p_s = validate_pmf(p_s, "p_s")
    if p_s.ndim != 1:
        raise ValueError(f"`p_s` must be one-dimensional (a pmf over prompts), got shape {tuple(p_s.shape)}")
    if policy.ndim != 2 or policy.shape[0] != p_s.shape[0]:
        raise ValueError(
            f"`policy` must have shape ({p_s.shape[0]}, k): one row per prompt of `p_s`, got {tuple(policy.shape)}"
        )
    return p_s


def _xlogy_ratio(a: Any, b: Any) -> Any:
    """Entries a log(a / b), 0 where a = 0; gradient-safe in torch (no log of 0 is evaluated)."""
    positive = a > 0
    one = B.where(positive, a, a + 1)
    other = B.where(positive, b, b + 1)
    return B.where(positive, a * (B.log(one) - B.log(other)), B.zeros_like(a))


# --- the KL-regularised optimum -------------------------------------------------------------


def kl_regularized_optimum(pi_ref: Any, reward: Any, beta: float) -> Any:
    r"""Closed-form maximiser of expected reward minus :math:`\beta` times KL to a reference policy.

    .. math::

        \pi^*_\beta(u \mid s)
        = \frac{\pi_{\mathrm{ref}}(u \mid s)\, e^{r(s, u)/\beta}}
               {\sum_{u'} \pi_{\mathrm{ref}}(u' \mid s)\, e^{r(s, u')/\beta}}
        = \arg\max_{\pi(\cdot \mid s)}\;
          \sum_u \pi(u \mid s)\, r(s, u) - \beta\, D(\pi(\cdot \mid s) \,\|\, \pi_{\mathrm{ref}}(\cdot \mid s)),

    the Gibbs variational principle, prompt by prompt; the objective of
    RLHF [1]_ and, implicitly, of DPO [2]_. The book compares it with the
    rate-reward optimum of the paper's Eq. (21) in the chapter *Directed
    rate-reward function* (§III-C).

    Parameters
    ----------
    pi_ref : array-like or torch.Tensor, shape (k,) or (m, k)
        Reference policy :math:`\pi_{\mathrm{ref}}(u \mid s)`, one row per
        prompt (or one shared row). Zeros stay zeros.
    reward : array-like or torch.Tensor, same shape as ``pi_ref``
        Reward :math:`r(s, u)`, finite.
    beta : float
        Strength :math:`\beta > 0` of the KL penalty.

    Returns
    -------
    array or tensor, shape of ``pi_ref``
        :math:`\pi^*_\beta`, computed in the log domain.

    Raises
    ------
    ValueError
        If a row of ``pi_ref`` is not a pmf, the shapes differ, ``reward``
        is not finite or ``beta`` is not positive and finite.
    TypeError
        If ``beta`` is not a real number, or numpy and torch are mixed.

    Examples
    --------
    Two responses, reward 1 for the second, :math:`\beta = 1`: the odds
    :math:`1 : 1` of a uniform reference become :math:`1 : e`.

    >>> pi = kl_regularized_optimum([0.5, 0.5], [0.0, 1.0], 1.0)
    >>> bool(np.isclose(pi[1] / pi[0], np.e))
    True
    """
    beta = B.check_positive_real(beta, "beta")
    pi_ref = _check_policy(pi_ref, "pi_ref")
    reward = _check_reward(reward, tuple(pi_ref.shape))
    _same_backend({"pi_ref": pi_ref, "reward": reward})
    pi_ref, reward = _common_dtype(pi_ref, reward)
    logits = B.log(pi_ref) + reward / beta
    return _exp(logits - _lse(logits, axis=-1, keepdims=True))


# --- measures of a policy -------------------------------------------------------------------


def expected_reward(p_s: Any, policy: Any, reward: Any) -> Any:
    r"""Mean reward :math:`\mathbb{E}\, w(S, U) = \sum_{s, u} p(s)\, \pi(u \mid s)\, w(s, u)`.

    Parameters
    ----------
    p_s : array-like or torch.Tensor, shape (m,)
        Prompt distribution.
    policy : array-like or torch.Tensor, shape (m, k)
        :math:`\pi(u \mid s)`, rows summing to 1.
    reward : array-like or torch.Tensor, shape (m, k)
        :math:`w(s, u)`.

    Returns
    -------
    float64 or 0-d tensor

    Examples
    --------
    >>> float(expected_reward([0.5, 0.5], [[1, 0], [0, 1]], [[1, 0], [0, 3]]))
    2.0
    """
    policy = _check_policy(policy, "policy")
    p_s = _check_source(p_s, policy)
    reward = _check_reward(reward, tuple(policy.shape))
    _same_backend({"p_s": p_s, "policy": policy, "reward": reward})
    value = _sum(p_s * _sum(policy * reward, axis=1), axis=0)
    return value if B.is_torch(value) else np.float64(value)


def policy_information(p_s: Any, policy: Any, base: float | None = None) -> Any:
    r"""Mutual information :math:`I(S; U)` between prompt and response under a policy.

    .. math::

        I(S; U) = \sum_s p(s)\, D(\pi(\cdot \mid s) \,\|\, q),
        \qquad q(u) = \sum_s p(s)\, \pi(u \mid s),

    the rate of the paper's Definition 7 (Eq. 20) for a response treated as
    one symbol and a prompt available in full.

    Parameters
    ----------
    p_s : array-like or torch.Tensor, shape (m,)
    policy : array-like or torch.Tensor, shape (m, k)
    base : float, optional
        ``None`` for nats, ``2`` for bits.

    Returns
    -------
    float64 or 0-d tensor (differentiable in ``policy``)

    Examples
    --------
    A policy that copies a fair bit carries one bit; one that ignores it, none.

    >>> float(policy_information([0.5, 0.5], np.eye(2), base=2))
    1.0
    >>> float(policy_information([0.5, 0.5], [[0.3, 0.7], [0.3, 0.7]]))
    0.0
    """
    policy = _check_policy(policy, "policy")
    p_s = _check_source(p_s, policy)
    _same_backend({"p_s": p_s, "policy": policy})
    q = _sum(p_s[:, None] * policy, axis=0)
    value = _sum(p_s * _sum(_xlogy_ratio(policy, q[None, :] + 0 * policy), axis=1), axis=0)
    value = _scale(value, base)
    return value if B.is_torch(value) else np.float64(value)


def expected_kl(p_s: Any, policy: Any, pi_ref: Any, base: float | None = None) -> Any:
    r"""Mean divergence :math:`\sum_s p(s)\, D(\pi(\cdot \mid s) \,\|\, \pi_{\mathrm{ref}}(\cdot \mid s))`.

    Parameters
    ----------
    p_s : array-like or torch.Tensor, shape (m,)
    policy : array-like or torch.Tensor, shape (m, k)
    pi_ref : array-like or torch.Tensor, shape (m, k) or (k,)
        Reference policy; a single row is shared by all prompts.
    base : float, optional
        ``None`` for nats, ``2`` for bits.

    Returns
    -------
    float64 or 0-d tensor; ``inf`` where ``policy`` puts mass outside the
    support of ``pi_ref``.

    Examples
    --------
    With a prompt-independent reference, the mean divergence is
    :math:`I(S;U) + D(q \,\|\, \pi_{\mathrm{ref}})`:

    >>> pol = np.array([[0.9, 0.1], [0.2, 0.8]])
    >>> q = 0.5 * pol.sum(axis=0)
    >>> lhs = expected_kl([0.5, 0.5], pol, [0.5, 0.5])
    >>> rhs = policy_information([0.5, 0.5], pol) + float(np.sum(q * np.log(q / 0.5)))
    >>> bool(np.isclose(lhs, rhs))
    True
    """
    policy = _check_policy(policy, "policy")
    p_s = _check_source(p_s, policy)
    pi_ref = _check_policy(pi_ref, "pi_ref")
    _same_backend({"p_s": p_s, "policy": policy, "pi_ref": pi_ref})
    if pi_ref.ndim == 1:
        pi_ref = pi_ref[None, :] + 0 * policy
    if tuple(pi_ref.shape) != tuple(policy.shape):
        raise ValueError(
            f"`pi_ref` must have shape {tuple(policy.shape)} or ({policy.shape[1]},), got {tuple(pi_ref.shape)}"
        )
    if bool(((policy > 0) & (pi_ref == 0)).any()):
        value = np.float64(np.inf) if not B.is_torch(policy) else policy.new_tensor(float("inf"))
        return value
    value = _sum(p_s * _sum(_xlogy_ratio(policy, pi_ref), axis=1), axis=0)
    value = _scale(value, base)
    return value if B.is_torch(value) else np.float64(value)


def kl_regularized_objective(p_s: Any, policy: Any, pi_ref: Any, reward: Any, beta: float) -> Any:
    r"""The RLHF objective :math:`\mathbb{E}\, r(S, U) - \beta\, \mathbb{E}_S D(\pi \,\|\, \pi_{\mathrm{ref}})` (nats).

    Its maximiser is :func:`kl_regularized_optimum`; its maximum is
    :math:`\beta \sum_s p(s) \log \sum_u \pi_{\mathrm{ref}}(u \mid s)\, e^{r(s, u)/\beta}`.
    Differentiable in ``policy`` for torch input.

    Parameters
    ----------
    p_s : array-like or torch.Tensor, shape (m,)
    policy, pi_ref, reward : array-like or torch.Tensor, shape (m, k)
    beta : float
        :math:`\beta > 0`.

    Returns
    -------
    float64 or 0-d tensor

    Examples
    --------
    >>> p_s, ref, r = [1.0], np.array([[0.5, 0.5]]), np.array([[0.0, 1.0]])
    >>> best = kl_regularized_optimum(ref, r, 1.0)
    >>> bool(np.isclose(kl_regularized_objective(p_s, best, ref, r, 1.0), np.log((1 + np.e) / 2)))
    True
    """
    beta = B.check_positive_real(beta, "beta")
    return expected_reward(p_s, policy, reward) - beta * expected_kl(p_s, policy, pi_ref)


# --- the rate-reward function ---------------------------------------------------------------


@dataclass(frozen=True)
class RateRewardResult(SolverResult):
    r"""Points :math:`(W(\lambda), R_{\mathrm{post}}(W(\lambda)))` of a rate-reward curve.

    Attributes
    ----------
    lam : array, shape (n,)
        The multipliers :math:`\lambda` in increasing order; the curve's
        slope at each point is :math:`\lambda` (nats per unit of reward).
    expected_reward : array, shape (n,)
        :math:`W(\lambda) = \mathbb{E}\, w(S, U)` under :math:`\pi_\lambda`.
    rate : array, shape (n,)
        :math:`I(S; U)` of :math:`\pi_\lambda`, within ``gap`` of
        :math:`R_{\mathrm{post}}` at that reward (nats, or ``base`` units).
    q : array, shape (n, k)
        Output marginals :math:`q_\lambda(u)`.
    policies : array, shape (n, m, k)
        The optimal policies :math:`\pi_\lambda(u \mid s) \propto q_\lambda(u) e^{\lambda w(s, u)}`.
    gap : array, shape (n,)
        Blahut's certificate (same units as ``rate``).
    n_iter : array of int, shape (n,)
        Iterations run for each multiplier.
    converged : array of bool, shape (n,)
        Whether ``gap <= tol`` was reached (see :class:`~semlib.results.SolverResult`).
    """

    lam: Any
    expected_reward: Any
    rate: Any
    q: Any
    policies: Any


def rate_reward_curve(
    p_s: Any,
    reward: Any,
    lambdas: Any,
    *,
    tol: float = 1e-11,
    max_iter: int = 20_000,
    base: float | None = None,
) -> RateRewardResult:
    r"""The rate-reward function of post-training by Blahut–Arimoto, for many multipliers at once.

    For each :math:`\lambda \ge 0` it minimises the Lagrangian of the paper's
    Eq. (21) (for a response treated as one symbol, the prompt known in full)

    .. math::

        \min_\pi\; I(S; U) - \lambda\, \mathbb{E}\, w(S, U),
        \qquad
        \pi_\lambda(u \mid s) = \frac{q(u)\, e^{\lambda w(s, u)}}{\sum_{u'} q(u')\, e^{\lambda w(s, u')}},
        \quad q(u) = \sum_s p(s)\, \pi_\lambda(u \mid s),

    with :func:`semlib.rate_distortion.blahut_arimoto_tilted` and score
    :math:`\omega = \lambda w`. Each solution is a point of
    :math:`R_{\mathrm{post}}(W) = \min\{I(S;U) : \mathbb{E}\, w \ge W\}`
    (Definition 7, Eq. 20, read with an expectation), a non-decreasing,
    convex curve whose slope at the point of :math:`\lambda` is
    :math:`\lambda`.

    Parameters
    ----------
    p_s : array-like or torch.Tensor, shape (m,)
        Prompt distribution.
    reward : array-like or torch.Tensor, shape (m, k)
        Reward :math:`w(s, u)`, finite.
    lambdas : float or array-like, shape (n,)
        Multipliers :math:`\lambda \ge 0`, finite (sorted on return).
    tol : float, default 1e-11
        Blahut's gap at which each problem stops (nats).
    max_iter : int, default 20000
        Iteration cap (a ``ConvergenceWarning`` if reached).
    base : float, optional
        ``None`` for nats, ``2`` for bits (``rate`` and ``gap``).

    Returns
    -------
    RateRewardResult

    Raises
    ------
    ValueError
        If ``p_s`` is not a pmf, ``reward`` has the wrong shape or a
        non-finite entry, or a multiplier is negative, non-finite or missing.

    Examples
    --------
    Two equally likely prompts, each rewarding "its" response with 1: at
    slope :math:`\lambda` the optimal policy is a binary symmetric channel
    with crossover :math:`1/(1 + e^\lambda)`.

    >>> res = rate_reward_curve([0.5, 0.5], np.eye(2), [0.0, 1.0, 3.0])
    >>> bool(np.allclose(res.expected_reward, 1 / (1 + np.exp(-res.lam))))
    True
    >>> bool(np.all(np.diff(res.rate) > 0))
    True
    """
    p_s, reward = _check_prompts_and_reward(p_s, reward)
    _same_backend({"p_s": p_s, "reward": reward})
    lam = _validate_lambdas(lambdas, reward)
    res = blahut_arimoto_tilted(p_s, lam[:, None, None] * reward[None], tol=tol, max_iter=max_iter, base=base)
    # E w under each policy, computed from the reward itself (lam may be 0)
    policies = res.channel
    mean_w = _sum(p_s[None, :] * _sum(policies * reward[None], axis=2), axis=1)
    return RateRewardResult(
        lam=lam,
        expected_reward=mean_w,
        rate=res.information,
        q=res.q,
        policies=policies,
        gap=res.gap,
        n_iter=res.n_iter,
        converged=res.converged,
    )


@numpy_core("p_s", "reward", "thresholds")
def rate_reward_almost_sure(
    p_s: Any, reward: Any, thresholds: Any, *, tol: float = 1e-11, max_iter: int = 20_000, base: float | None = None
) -> Any:
    r"""Definition 7 read literally: least :math:`I(S;U)` with :math:`w(S, U) > W` almost surely.

    The constraint forbids every pair with :math:`w(s, u) \le W`, so the
    problem is Blahut's fixed point with score :math:`0` on allowed pairs
    and :math:`-\infty` on forbidden ones. If some prompt has no allowed
    response the constraint cannot be met and the value is :math:`+\infty`.

    Parameters
    ----------
    p_s : array-like, shape (m,)
        Prompt distribution (numpy only).
    reward : array-like, shape (m, k)
    thresholds : float or array-like, shape (n,)
        Values of :math:`W`.
    tol, max_iter, base
        As in :func:`rate_reward_curve`.

    Returns
    -------
    numpy.ndarray, shape (n,)
        The minimal information for each threshold (``inf`` if infeasible).

    Examples
    --------
    Each prompt has one response with reward above 0.5: the constraint
    dictates the whole policy, here a copy of a fair bit (log 2 nats).

    >>> rate_reward_almost_sure([0.5, 0.5], np.eye(2), [0.5, 1.0]).round(6)
    array([0.693147,      inf])
    """
    if B.is_torch(p_s) or B.is_torch(reward):
        raise TypeError("`rate_reward_almost_sure` takes numpy arrays")
    p_s, reward = _check_prompts_and_reward(p_s, reward)
    W = B.as_float_array(thresholds, "thresholds").reshape(-1)
    if W.size == 0 or not np.all(np.isfinite(W)):
        raise ValueError("`thresholds` must be a non-empty array of finite numbers")
    out = np.full(W.shape, np.inf)
    for i, w_min in enumerate(W):
        allowed = reward > w_min
        if not allowed.any(axis=1).all():
            continue
        score = np.where(allowed, 0.0, -np.inf)
        out[i] = blahut_arimoto_tilted(p_s, score, tol=tol, max_iter=max_iter, base=base).information[0]
    return out


# --- DPO ------------------------------------------------------------------------------------


def implied_reward(policy: Any, pi_ref: Any, beta: float) -> Any:
    r"""The reward a policy implies under the KL-regularised objective: :math:`\beta \log \pi / \pi_{\mathrm{ref}}`.

    Inverting :func:`kl_regularized_optimum` gives
    :math:`r(s, u) = \beta \log \frac{\pi(u \mid s)}{\pi_{\mathrm{ref}}(u \mid s)} + \beta \log Z(s)`:
    the reward up to a shift that depends on the prompt only, the
    reparametrisation behind DPO [2]_.

    Parameters
    ----------
    policy, pi_ref : array-like or torch.Tensor, shape (m, k) or (k,)
        Both with full support where the implied reward is wanted.
    beta : float
        :math:`\beta > 0`.

    Returns
    -------
    array or tensor, shape of ``policy`` (``-inf``/``inf``/NaN where a probability is 0)

    Examples
    --------
    >>> ref = np.array([0.5, 0.5])
    >>> r_hat = implied_reward(kl_regularized_optimum(ref, [0.0, 2.0], 0.5), ref, 0.5)
    >>> round(float(r_hat[1] - r_hat[0]), 12)
    2.0
    """
    beta = B.check_positive_real(beta, "beta")
    policy = _check_policy(policy, "policy")
    pi_ref = _check_policy(pi_ref, "pi_ref")
    _same_backend({"policy": policy, "pi_ref": pi_ref})
    if tuple(policy.shape) != tuple(pi_ref.shape):
        raise ValueError(
            f"`policy` and `pi_ref` must have one shape, got {tuple(policy.shape)} and {tuple(pi_ref.shape)}"
        )
    policy, pi_ref = _common_dtype(policy, pi_ref)
    with np.errstate(divide="ignore", invalid="ignore"):
        return beta * (B.log(policy) - B.log(pi_ref))


def dpo_loss(logratio_chosen: Any, logratio_rejected: Any, beta: float) -> Any:
    r"""Per-pair DPO loss :math:`-\log \sigma\big(\beta (h_{\mathrm{chosen}} - h_{\mathrm{rejected}})\big)`.

    Here :math:`h = \log \pi(u \mid s) - \log \pi_{\mathrm{ref}}(u \mid s)`
    for the preferred (chosen) and the other (rejected) response of a pair
    [2]_; the loss is :math:`\operatorname{softplus}(-\beta\, \Delta h)`,
    evaluated stably. Its expectation over Bradley–Terry preferences with
    reward :math:`r` is minimised by every policy whose implied reward
    equals :math:`r` up to a prompt-dependent shift.

    Parameters
    ----------
    logratio_chosen, logratio_rejected : array-like or torch.Tensor, broadcastable shapes
        Log-ratios :math:`h` of the two responses of each pair.
    beta : float
        :math:`\beta > 0`.

    Returns
    -------
    array or tensor of the broadcast shape (differentiable for torch input)

    Examples
    --------
    Equal log-ratios give :math:`\log 2`:

    >>> float(dpo_loss(0.3, 0.3, 0.1).round(6))
    0.693147
    """
    beta = B.check_positive_real(beta, "beta")
    hc = B.as_float_array(logratio_chosen, "logratio_chosen")
    hr = B.as_float_array(logratio_rejected, "logratio_rejected")
    _same_backend({"logratio_chosen": hc, "logratio_rejected": hr})
    try:
        np.broadcast_shapes(tuple(hc.shape), tuple(hr.shape))
    except ValueError:
        raise ValueError(
            f"the log-ratios must have broadcastable shapes, got {tuple(hc.shape)} and {tuple(hr.shape)}"
        ) from None
    margin = beta * (hc - hr)
    if B.is_torch(margin):
        import torch

        return torch.nn.functional.softplus(-margin)
    return np.logaddexp(0.0, -margin)


def dpo_population_loss(p_s: Any, policy: Any, pi_ref: Any, reward: Any, beta: float) -> Any:
    r"""Expected DPO loss of one preference pair: prompts, reference pairs, Bradley–Terry labels.

    .. math::

        \mathcal L_{\mathrm{DPO}}(\pi) = \sum_s p(s) \sum_{u, u'}
        \pi_{\mathrm{ref}}(u \mid s)\, \pi_{\mathrm{ref}}(u' \mid s)
        \Big[\sigma(\Delta)\, \ell_{\mathrm{DPO}}\big(h(s, u), h(s, u')\big)
        + \sigma(-\Delta)\, \ell_{\mathrm{DPO}}\big(h(s, u'), h(s, u)\big)\Big],

    with :math:`\Delta = w(s, u) - w(s, u')`, :math:`h = \log \pi / \pi_{\mathrm{ref}}`
    and :math:`\ell_{\mathrm{DPO}}` of :func:`dpo_loss`: a prompt from
    :math:`p(s)`, two responses from the reference, the first preferred
    with the Bradley–Terry probability :math:`\sigma(\Delta)` of the reward
    :math:`w`. Pairs :math:`u = u'` are kept (each adds :math:`\log 2`
    times its probability, a constant). Its minimisers are the
    policies whose implied reward is :math:`w` up to a shift per prompt,
    i.e. :math:`\pi^*_\beta` of :func:`kl_regularized_optimum` [2]_; the
    book compares that optimum with the minimiser of the paper's Eq. (21)
    (the Lagrangian of Definition 7, Eq. 20), which the paper calls
    equivalent to it.

    Parameters
    ----------
    p_s : array-like or torch.Tensor, shape (m,)
        Prompt distribution.
    policy : array-like or torch.Tensor, shape (m, k)
        :math:`\pi(u \mid s)`, rows summing to 1; positive wherever
        ``pi_ref`` is (a log-ratio of :math:`-\infty` is refused).
    pi_ref : array-like or torch.Tensor, shape (m, k)
        Reference policy, which draws the pairs.
    reward : array-like or torch.Tensor, shape (m, k)
        Reward :math:`w(s, u)` of the preference model, finite.
    beta : float
        :math:`\beta > 0`.

    Returns
    -------
    float64 or 0-d tensor (differentiable in ``policy``)

    Raises
    ------
    ValueError
        If a row is not a pmf, the shapes differ, ``policy`` is 0 where
        ``pi_ref`` is not, ``reward`` is not finite or ``beta`` is not positive.
    TypeError
        If ``beta`` is not a real number, or numpy and torch are mixed.

    Examples
    --------
    At the reference itself every log-ratio is 0 and each pair costs
    :math:`\log 2`:

    >>> ref = np.array([[0.25, 0.75]])
    >>> round(float(dpo_population_loss([1.0], ref, ref, [[0.0, 1.0]], 0.5) / np.log(2)), 12)
    1.0
    """
    beta = B.check_positive_real(beta, "beta")
    policy = _check_policy(policy, "policy")
    p_s = _check_source(p_s, policy)
    pi_ref = _check_policy(pi_ref, "pi_ref")
    if tuple(pi_ref.shape) != tuple(policy.shape):
        raise ValueError(f"`pi_ref` must have the shape of `policy` {tuple(policy.shape)}, got {tuple(pi_ref.shape)}")
    reward = _check_reward(reward, tuple(policy.shape))
    _same_backend({"p_s": p_s, "policy": policy, "pi_ref": pi_ref, "reward": reward})
    p_s, policy, pi_ref, reward = _common_dtype(p_s, policy, pi_ref, reward)
    support = pi_ref > 0
    if bool((support & (policy <= 0)).any()):
        raise ValueError("`policy` must be positive wherever `pi_ref` is (its log-ratio would be -inf)")
    with np.errstate(divide="ignore"):
        h = B.where(
            support,
            B.log(B.where(support, policy, policy + 1)) - B.log(B.where(support, pi_ref, pi_ref + 1)),
            0 * policy,
        )
    weight = p_s[:, None, None] * pi_ref[:, :, None] * pi_ref[:, None, :]
    wins = _exp(-dpo_loss(reward[:, :, None], reward[:, None, :], 1.0))  # sigmoid(w - w'), stably
    terms = weight * wins * dpo_loss(h[:, :, None], h[:, None, :], beta)
    # the two orders of a pair are the two terms of the bracket: sum over ordered pairs, times 2
    value = 2 * _sum(_sum(_sum(B.where(weight > 0, terms, 0 * terms), axis=2), axis=1), axis=0)
    return value if B.is_torch(value) else np.float64(value)


def fit_tabular_policy(
    loss: Any,
    logits: Any,
    *,
    steps: int = 4,
    max_iter: int = 1000,
    tolerance_grad: float = 1e-14,
    tolerance_change: float = 1e-18,
) -> Any:
    r"""Minimise a loss of a tabular policy :math:`\pi = \operatorname{softmax}(\theta)` by L-BFGS.

    The numerical check of a closed form: the policy is one free logit per
    (prompt, response), and ``loss(policy)`` is any differentiable objective
    of it, e.g. minus :func:`kl_regularized_objective` (whose maximiser is
    the optimum of the RLHF objective that the paper's Eq. 21 is said to
    match) or :func:`dpo_population_loss`. Runs ``steps`` L-BFGS calls with
    a strong-Wolfe line search. Torch-only (it differentiates the loss).

    Parameters
    ----------
    loss : callable
        ``loss(policy) -> 0-d tensor``, ``policy`` a tensor of the shape and
        device of ``logits`` with rows summing to 1.
    logits : torch.Tensor, shape (m, k)
        Initial logits :math:`\theta` (floating; not modified).
    steps : int, default 4
        Number of ``LBFGS.step`` calls.
    max_iter : int, default 1000
        Iterations per call.
    tolerance_grad, tolerance_change : float
        L-BFGS stopping tolerances.

    Returns
    -------
    torch.Tensor, shape (m, k)
        The policy :math:`\operatorname{softmax}(\theta)` at the end, detached.

    Raises
    ------
    TypeError
        If ``logits`` is not a floating torch tensor or ``loss`` is not callable.
    ValueError
        If ``logits`` is not 2-d or not finite, or the loss is not a finite scalar.

    Examples
    --------
    >>> import torch
    >>> ref = torch.tensor([[0.5, 0.5]], dtype=torch.float64)
    >>> w = torch.tensor([[0.0, 1.0]], dtype=torch.float64)
    >>> pi = fit_tabular_policy(lambda pi: -kl_regularized_objective(torch.ones(1, dtype=torch.float64), pi, ref, w, 1.0),
    ...                         torch.zeros(1, 2, dtype=torch.float64))
    >>> bool(torch.allclose(pi, kl_regularized_optimum(ref, w, 1.0), atol=1e-9))
    True
    """
    import torch

    B.require_torch(logits, "logits")
    if not callable(loss):
        raise TypeError(f"`loss` must be callable, got {type(loss).__name__}")
    if not logits.is_floating_point():
        raise TypeError(f"`logits` must be a floating tensor, got {logits.dtype}")
    if logits.ndim != 2 or not bool(torch.isfinite(logits).all()):
        raise ValueError(f"`logits` must be a finite 2-d tensor (prompts x responses), got shape {tuple(logits.shape)}")
    steps = B.check_int(steps, "steps", 1)
    max_iter = B.check_int(max_iter, "max_iter", 1)
    theta = logits.detach().clone().requires_grad_(True)
    opt = torch.optim.LBFGS(
        [theta],
        max_iter=max_iter,
        tolerance_grad=tolerance_grad,
        tolerance_change=tolerance_change,
        line_search_fn="strong_wolfe",
    )

    def closure() -> Any:
        opt.zero_grad()
        value = loss(theta.softmax(-1))
        if not B.is_torch(value) or value.ndim != 0 or not bool(torch.isfinite(value)):
            raise ValueError("`loss` must return a finite 0-d tensor")
        value.backward()
        return value

    for _ in range(steps):
        opt.step(closure)
    return theta.detach().softmax(-1)
