r"""Semantic information flow along one generation, its Doob decomposition, capacity.

For a prompt :math:`s` and a generation :math:`u_{n+1:T}` of a
:class:`~semlib.models.TokenSource`, the semantic information flow of the
paper's Definition 8 (Eq. 22) is the directed information density

.. math::

    i(S \to U_{n+1:t}) = \sum_{\tau=n+1}^{t} \log
    \frac{P(u_\tau \mid s, u_{n+1:\tau-1})}{P(u_\tau \mid u_{n+1:\tau-1})}.

Given :math:`(s, u_{<t})` and tokens drawn from the same law :math:`P`, an
increment has mean :math:`D\big(P(\cdot\mid s,u_{<t}) \,\|\, P(\cdot\mid u_{<t})\big)
\ge 0` (Theorem 2). The Doob decomposition (Eqs. 26-28, in the corrected form
of the book) is :math:`i_t = A_t + M_t` with the predictable compensator
:math:`A_t = \sum_{\tau \le t} D_\tau` and the martingale :math:`M_t = i_t - A_t`.
Tokens drawn from another law :math:`q` (temperature, top-k, greedy) give the
drift :math:`\sum_u q(u)\log\frac{P(u\mid s,u_{<t})}{P(u\mid u_{<t})}`, which can be negative.

Units: nats. Torch in, torch out, on the source's device. Introduced in the
chapter *Semantic information flow* (§III-D of the paper).
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch

from . import _backend as _bk
from ._backend import torch_core
from .models import TokenSource, _check_source
from .rate_distortion import CapacityResult, ConvergenceWarning, channel_capacity
from .results import SolverResult

__all__ = [
    "flow_increments",
    "semantic_information_flow",
    "step_moments",
    "DoobDecomposition",
    "doob_decomposition",
    "flow_prompt_law_range",
    "private_token_source",
    "freedman_bound",
    "mc_mean",
    "semantic_information_capacity",
    "RewardCapacityResult",
    "reward_capacity_curve",
]


def flow_increments(source: TokenSource, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    r"""Increments :math:`\log P(u_t\mid s,u_{<t}) - \log P(u_t\mid u_{<t})`, shape (B, k).

    Paper Eq. (24). ``s``: prompts (B,), ``u``: generated tokens (B, k).

    Examples
    --------
    >>> src = TokenSource.random(2, 3, 2, seed=1)
    >>> s, u = src.sample(4, seed=0)
    >>> flow_increments(src, s, u).shape
    torch.Size([4, 2])
    """
    src = _check_source(source)
    lc = src.cond_logprobs(s, u)[:, :-1]
    lm = src.marginal_logprobs(u)[:, :-1]
    idx = u.long()[..., None]
    return (lc.gather(-1, idx) - lm.gather(-1, idx))[..., 0]


def semantic_information_flow(source: TokenSource, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
    r"""The flow :math:`i(S\to U_{n+1:t})` for ``t = n+1..n+k``: cumulative increments, (B, k).

    Paper Definition 8, Eq. (22).
    """
    return flow_increments(source, s, u).cumsum(dim=1)


def step_moments(
    source: TokenSource,
    s: torch.Tensor,
    u: torch.Tensor,
    *,
    temperature: float = 1.0,
    top_k: int | None = None,
    greedy: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Conditional mean and variance of each increment given :math:`(s, u_{<t})`, each (B, k).

    The next token is drawn from the decoding law :math:`q` of
    :meth:`~semlib.models.TokenSource.decode_logprobs`; the density is always the one of
    :math:`P`. With the defaults (:math:`q = P`) the mean is
    :math:`D(P(\cdot\mid s,u_{<t})\,\|\,P(\cdot\mid u_{<t}))`, paper Eq. (25).
    """
    src = _check_source(source)
    lc = src.cond_logprobs(s, u)[:, :-1]
    lm = src.marginal_logprobs(u)[:, :-1]
    q = TokenSource.decode_logprobs(lc, temperature, top_k, greedy).exp()
    on = q > 0  # tokens q can emit (0 log 0 = 0 elsewhere)
    dens = torch.where(on, lc - lm, torch.zeros_like(lc))
    mean = (q * dens).sum(-1)
    var = (q * dens**2).sum(-1) - mean**2
    return mean, var.clamp_min(0.0)


class DoobDecomposition(NamedTuple):
    """Flow, compensator, martingale part and predictable quadratic variation, each (B, k)."""

    flow: torch.Tensor
    compensator: torch.Tensor
    martingale: torch.Tensor
    variance: torch.Tensor


def doob_decomposition(source: TokenSource, s: torch.Tensor, u: torch.Tensor, **decoding: Any) -> DoobDecomposition:
    r"""Doob decomposition :math:`i_t = A_t + M_t` w.r.t. the token filtration :math:`\sigma(S, U_{n+1:t})`.

    :math:`A_t = \sum_{\tau\le t} \mathbb E[\Delta i_\tau \mid S, U_{<\tau}]`,
    :math:`M_t = i_t - A_t` and :math:`V_t = \sum_{\tau\le t}\mathrm{Var}[\Delta i_\tau \mid S, U_{<\tau}]`
    (paper Eqs. 26-29, corrected: :math:`M_{n+1} = i_{n+1} - A_{n+1}`). ``decoding``
    is passed to :func:`step_moments`; the decomposition is exact only for the law the
    tokens were actually sampled from.
    """
    flow = semantic_information_flow(source, s, u)
    mean, var = step_moments(source, s, u, **decoding)
    a = mean.cumsum(1)
    return DoobDecomposition(flow, a, flow - a, var.cumsum(1))


def flow_prompt_law_range(source: TokenSource, s: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Infimum and supremum, over all prompt laws, of the flow of a fixed prompt and generation.

    The next-token law of the model fixes :math:`P(u_{n+1:t}\mid s)` but not the law
    :math:`\pi` of the prompts. Under an assumed prompt law :math:`\pi` with :math:`\pi(s) > 0`
    the flow of Definition 8 (Eq. 22) is

    .. math::

        i_\pi(s \to u_{n+1:t}) = \log P(u_{n+1:t}\mid s)
        - \log \sum_{s'} \pi(s') P(u_{n+1:t}\mid s'),

    and since the mixture lies between :math:`\min_{s'}` and :math:`\max_{s'} P(u_{n+1:t}\mid s')`,

    .. math::

        \log\frac{P(u_{n+1:t}\mid s)}{\max_{s'} P(u_{n+1:t}\mid s')} \le i_\pi(s\to u_{n+1:t})
        \le \log\frac{P(u_{n+1:t}\mid s)}{\min_{s'} P(u_{n+1:t}\mid s')}.

    Both ends are approached (attained when :math:`s` is the maximiser or minimiser) as
    :math:`\pi` puts all but a vanishing mass on a maximising or minimising prompt. The interval
    always contains 0 (the point mass on :math:`s`). Only ``source.kernel`` is used; the
    source's own prompt law is ignored. Introduced in the chapter *Semantic information flow*.

    Parameters
    ----------
    source : TokenSource
    s : torch.Tensor, shape (B,)
        Prompts.
    u : torch.Tensor, shape (B, k)
        Generated tokens, each possible under its prompt (:math:`P(u_{n+1:n+k}\mid s) > 0`).

    Returns
    -------
    lower, upper : torch.Tensor, shape (B, k)
        The infimum and supremum for ``t = n+1..n+k`` in nats (``upper`` is ``inf`` where
        some prompt cannot produce the tokens).

    Raises
    ------
    ValueError
        If some ``u`` has probability 0 under its prompt ``s``.

    Examples
    --------
    >>> k = torch.tensor([[0.5, 0.5], [0.25, 0.75]], dtype=torch.float64)[:, None, :].expand(2, 3, 2)
    >>> src = TokenSource(torch.tensor([0.5, 0.5]), k.contiguous(), 1)
    >>> lo, hi = flow_prompt_law_range(src, torch.tensor([0]), torch.tensor([[0]]))
    >>> round(float(lo), 6), round(float(hi), 6)
    (0.0, 0.693147)
    """
    src = _check_source(source)
    s, u = src._check_batch(s, u)
    prevs = torch.cat([torch.full_like(u[:, :1], src.vocab), u], dim=1)
    steps = src.kernel.log()[:, prevs[:, :-1], u].permute(1, 2, 0)  # (B, k, m): log K[s', u_{t-1}, u_t]
    cum = steps.cumsum(1)  # log P(u_{n+1:t} | s') for every prompt s'
    own = cum.gather(2, s[:, None, None].expand(-1, cum.shape[1], 1))[..., 0]
    if not bool(torch.isfinite(own).all()):
        raise ValueError("`u` must be possible under its prompt `s` (P(u | s) > 0)")
    return own - cum.max(-1).values, own - cum.min(-1).values


def private_token_source(n_prompts: int, p: float) -> TokenSource:
    r"""Equiprobable prompts, each emitting a private rare token: one generated token.

    Prompt :math:`s \in \{0, \dots, m-1\}` (uniform, :math:`m` = ``n_prompts``) emits its own
    token :math:`s` with probability :math:`p` and the common token :math:`m` otherwise; no
    other prompt ever emits token :math:`s`. So the flow jumps by :math:`\log m` when the
    private token appears and is 0 otherwise, the drift is :math:`p\log m` and the
    conditional variance :math:`p(1-p)\log^2 m`, the same for every prompt. The chapter
    *Semantic information flow* uses it for an unconditional counterexample to the printed
    Corollary 2 (Eq. 30).

    Parameters
    ----------
    n_prompts : int >= 2
    p : float in (0, 1)

    Returns
    -------
    TokenSource
        Vocabulary ``n_prompts + 1``, ``length = 1``, float64, on the CPU.

    Examples
    --------
    >>> src = private_token_source(3, 0.1)
    >>> src.channel()[0].tolist()
    [0.1, 0.0, 0.0, 0.9]
    """
    if isinstance(n_prompts, bool) or not isinstance(n_prompts, int) or n_prompts < 2:
        raise ValueError(f"`n_prompts` must be an int >= 2, got {n_prompts!r}")
    if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 < p < 1:
        raise ValueError(f"`p` must be a number in (0, 1), got {p!r}")
    m = n_prompts
    rows = torch.zeros(m, m + 1, dtype=torch.float64)
    rows[:, m] = 1 - p
    rows[torch.arange(m), torch.arange(m)] = p
    kernel = rows[:, None, :].expand(m, m + 2, m + 1).contiguous()
    return TokenSource(torch.full((m,), 1.0 / m, dtype=torch.float64), kernel, 1)


def freedman_bound(alpha: Any, beta: Any, c: float = 1.0) -> Any:
    r"""Freedman's bound :math:`\exp\!\big(-\alpha^2 / (2(c\alpha + \beta))\big)`.

    For a martingale with increments :math:`\le c` it bounds
    :math:`\Pr\{M_t \ge \alpha,\ V_t \le \beta\}` (Freedman 1975, Thm 1.6); the paper's
    Corollary 2 (Eq. 30) is the case ``c = 1``.

    Examples
    --------
    >>> round(freedman_bound(2.0, 1.0), 6)
    0.513417

    numpy (or scalars) in, numpy float64 out (a Python float for scalars); torch in, torch out
    on the device and dtype of the tensor argument(s).
    """
    if not (isinstance(c, (int, float)) and c > 0 and math.isfinite(c)):
        raise ValueError(f"`c` must be a positive number, got {c!r}")
    a, a_np = _bk.as_real_tensor(alpha, "alpha")
    b, b_np = _bk.as_real_tensor(beta, "beta")
    for t, name in ((a, "alpha"), (b, "beta")):
        if not bool(torch.isfinite(t).all()) or bool((t <= 0).any()):
            raise ValueError(f"`{name}` must be positive and finite")
    if a_np and not b_np:
        a = a.to(device=b.device, dtype=b.dtype)
    elif b_np and not a_np:
        b = b.to(device=a.device, dtype=a.dtype)
    out = torch.exp(-(a**2) / (2 * (c * a + b)))
    if a_np and b_np:  # numpy (or scalars) in, numpy float64 out; a single value as a float
        arr = out.numpy()
        return float(arr) if arr.ndim == 0 else arr
    return out


@torch_core("x")
def mc_mean(x: torch.Tensor, dim: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Monte-Carlo mean and its standard error along ``dim``.

    Examples
    --------
    >>> m, se = mc_mean(torch.tensor([1.0, 2.0, 3.0]))
    >>> float(m), round(float(se), 4)
    (2.0, 0.5774)
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"`x` must be a torch tensor, got {type(x).__name__}")
    n = x.shape[dim]
    if n < 2:
        raise ValueError(f"need at least 2 samples along dim {dim}, got {n}")
    return x.mean(dim), x.std(dim) / math.sqrt(n)


@dataclass(frozen=True)
class RewardCapacityResult(SolverResult):
    r"""Semantic information capacity under a reward constraint (Definition 9 with :math:`\mathbb E\,w \ge W`).

    Attributes
    ----------
    capacity : torch.Tensor
        :math:`I(S;U)` at ``input_pmf``, nats; within ``gap`` of the constrained maximum.
    input_pmf : torch.Tensor, shape (m,) or (B, m)
        The prompt distribution found.
    mean_reward : torch.Tensor
        :math:`\sum_s P(s)\,\bar w(s)` at ``input_pmf``.
    lam : torch.Tensor
        The Lagrange multiplier :math:`\lambda \ge 0` (``inf`` when only the best prompts are feasible).
    gap : torch.Tensor
        Duality gap certificate: the constrained capacity lies in ``[capacity, capacity + gap]``
        (up to ``mean_reward - W``, which the bisection drives below its tolerance).
    n_iter : int
        Blahut iterations run in all (over every multiplier the bisection tried).
    converged : bool or torch.Tensor of bool
        Whether Blahut's iteration reached ``tol`` for the returned multiplier(s).
    """

    capacity: torch.Tensor
    input_pmf: torch.Tensor
    mean_reward: torch.Tensor
    lam: torch.Tensor


def _check_tol_iter(tol: Any, max_iter: Any) -> tuple[float, int]:
    tol = _bk.check_positive_real(tol, "tol")
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"`max_iter` must be a positive int, got {max_iter!r}")
    return tol, max_iter


def _check_channel_reward(channel: Any, reward: Any) -> tuple[torch.Tensor, torch.Tensor]:
    if isinstance(channel, TokenSource):
        channel = channel.channel()
    if not isinstance(channel, torch.Tensor) or channel.ndim != 2:
        raise TypeError("`source` must be a TokenSource or a channel tensor of shape (m, K)")
    W = channel.double()
    if (W < 0).any() or (W.sum(1) - 1).abs().max() > 1e-9:
        raise ValueError("the channel's rows must be pmfs (non-negative, summing to 1 within 1e-9)")
    if not isinstance(reward, torch.Tensor):
        raise TypeError(f"`reward` must be a torch tensor, got {type(reward).__name__}")
    w = reward.to(W).reshape(W.shape[0], -1) if reward.numel() == W.numel() else None
    if w is None:
        raise ValueError(
            f"`reward` must hold w(s, u) for every prompt and continuation: {W.numel()} entries, "
            f"got shape {tuple(reward.shape)}"
        )
    if not torch.isfinite(w).all():
        raise ValueError("`reward` must be finite")
    return W, (W * w).sum(1)


def _tilted_capacity(
    W: torch.Tensor, wbar: torch.Tensor, lam: torch.Tensor, r0: torch.Tensor | None, tol: float, max_iter: int
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int, bool]:
    r"""Blahut's iteration for :math:`\max_r I(r) + \lambda\, r\cdot\bar w`, batched over ``lam`` (B,).

    Returns ``r`` (B, m), the lower bound :math:`I(r) + \lambda r\cdot\bar w` and the upper bound
    :math:`\max_s [D(W_s\|q_r) + \lambda \bar w_s]` (both (B,)), the iterations run and whether
    the gap fell below ``tol``.
    """
    neg_h = torch.where(W > 0, W * W.clamp_min(1e-300).log(), 0.0).sum(1)  # (m,)
    B, m = lam.shape[0], W.shape[0]
    logr = (
        torch.full((B, m), -math.log(m), dtype=W.dtype, device=W.device) if r0 is None else r0.clamp_min(1e-300).log()
    )
    for n_iter in range(1, max_iter + 1):
        r = logr.exp()
        q = r @ W  # (B, K)
        d = neg_h - q.clamp_min(1e-300).log() @ W.T  # (B, m): D(W_s || q)
        score = d + lam[:, None] * wbar
        lower, upper = (r * score).sum(1), score.max(1).values
        if float((upper - lower).max()) < tol:
            return r, lower, upper, n_iter, True
        logr = torch.log_softmax(logr + score, dim=1)
    # the last bounds belong to the r of the last iteration, not to the step after it
    warnings.warn(
        f"Blahut's iteration stopped at max_iter = {max_iter} with gap {float((upper - lower).max()):.1e}",
        ConvergenceWarning,
        stacklevel=3,
    )
    return r, lower, upper, max_iter, False


def reward_capacity_curve(
    source: Any, reward: torch.Tensor, lambdas: Any, *, tol: float = 1e-10, max_iter: int = 200_000
) -> RewardCapacityResult:
    r"""Points of the reward-constrained capacity curve :math:`W \mapsto C(W)`, one per multiplier.

    For each :math:`\lambda \ge 0` maximise :math:`I(S;U) + \lambda\,\mathbb E\,w` over the prompt
    distribution (Blahut's capacity-cost iteration
    :math:`P(s) \leftarrow P(s)\, e^{D(W_s\|q) + \lambda \bar w(s)} / Z`, with
    :math:`\bar w(s) = \sum_u W(u\mid s) w(s,u)`); the maximiser attains
    :math:`C(W)` at :math:`W = \mathbb E\,w`, so the points lie on the concave,
    non-increasing curve of Definition 9 (Eq. 32), read with the expectation.

    Parameters
    ----------
    source : TokenSource or torch.Tensor
        The source, or its channel :math:`W(u\mid s)` of shape (m, K).
    reward : torch.Tensor
        :math:`w(s,u)`, shape (m, K) or (m, V, ..., V).
    lambdas : array-like, shape (B,)
        Non-negative multipliers, one batched computation.
    tol : float > 0, default 1e-10
        Stop when the duality gap of every multiplier is below ``tol`` nats.
    max_iter : int >= 1, default 200000
        Cap on iterations (:class:`~semlib.rate_distortion.ConvergenceWarning` if reached).
    """
    tol, max_iter = _check_tol_iter(tol, max_iter)
    W, wbar = _check_channel_reward(source, reward)
    lam = torch.as_tensor(lambdas, dtype=W.dtype, device=W.device).reshape(-1)
    if not torch.isfinite(lam).all() or (lam < 0).any():
        raise ValueError("`lambdas` must be finite and non-negative")
    r, lower, upper, n_iter, converged = _tilted_capacity(W, wbar, lam, None, tol, max_iter)
    mean = r @ wbar
    return RewardCapacityResult(
        capacity=lower - lam * mean,
        input_pmf=r,
        mean_reward=mean,
        lam=lam,
        gap=upper - lower,
        n_iter=n_iter,
        converged=converged,
    )


def semantic_information_capacity(
    source: TokenSource,
    *,
    reward: torch.Tensor | None = None,
    min_reward: float | None = None,
    base: float | None = None,
    tol: float | None = None,
    max_iter: int | None = None,
    accelerate: bool = True,
) -> CapacityResult | RewardCapacityResult:
    r"""Semantic information capacity (paper Definition 9, Eq. 32).

    Without ``reward``: :math:`\max_{P(S)} I(S \to U_{n+1:T}) = \max_{P(S)} I(S; U_{n+1:T})`
    (the whole prompt is known at every step), the capacity of the channel
    :math:`W(u_{n+1:T}\mid s)`, computed by :func:`semlib.rate_distortion.channel_capacity`
    (Blahut–Arimoto) and returned as a ``CapacityResult``.

    With ``reward`` :math:`w(s, u)` and ``min_reward`` :math:`W`: the maximum over prompt
    distributions with :math:`\mathbb E\,w(S, U) \ge W` (the paper writes
    :math:`w > W` on the random variable; the book reads it as an expectation, see
    the errata). If the unconstrained optimum already meets the constraint it is the
    answer; otherwise the constraint is active and the multiplier :math:`\lambda` of
    :func:`reward_capacity_curve` is found by bisection so that :math:`\mathbb E\,w = W`.

    Parameters
    ----------
    source : TokenSource
    reward : torch.Tensor, optional
        :math:`w(s, u)`, shape (m, K) or (m, V, ..., V), as in :func:`reward_capacity_curve`.
    min_reward : float, optional
        :math:`W`; required with ``reward``, not allowed without it.
    base : float, optional
        ``None`` for nats, ``2`` for bits (``> 1`` with ``reward``).
    tol : float > 0, optional
        Target duality gap in nats: default ``1e-12`` without ``reward`` (the default
        of :func:`~semlib.rate_distortion.channel_capacity`), ``1e-10`` with it.
    max_iter : int >= 1, optional
        Cap on iterations per solve: default ``100000`` without ``reward``, ``200000`` with it.
    accelerate : bool, default True
        Passed to :func:`~semlib.rate_distortion.channel_capacity` (the unconstrained
        problem, and the one restricted to the best prompts when :math:`W = \max_s \bar w(s)`).

    Raises
    ------
    ValueError
        If :math:`W` exceeds :math:`\max_s \bar w(s)` (no prompt distribution meets it), or
        an argument is out of range.
    TypeError
        For an unknown keyword argument (there is no pass-through ``**kwargs``).
    """
    src = _check_source(source)
    if reward is None:
        if min_reward is not None:
            raise ValueError("`min_reward` needs `reward`")
        return channel_capacity(
            src.channel(),
            tol=1e-12 if tol is None else tol,
            max_iter=100_000 if max_iter is None else max_iter,
            accelerate=accelerate,
            base=base,
        )
    tol, max_iter = _check_tol_iter(1e-10 if tol is None else tol, 200_000 if max_iter is None else max_iter)
    if not isinstance(accelerate, bool):
        raise TypeError(f"`accelerate` must be a bool, got {type(accelerate).__name__}")
    if min_reward is None or not math.isfinite(float(min_reward)):
        raise ValueError("`min_reward` must be a finite number when `reward` is given")
    if base is not None and not (_bk.check_positive_real(base, "base") > 1):
        raise ValueError(f"`base` must be > 1, got {base}")
    W, wbar = _check_channel_reward(src, reward)
    target = float(min_reward)
    scale = 1.0 if base is None else math.log(base)
    top = float(wbar.max())
    if target > top + 1e-12:
        raise ValueError(f"`min_reward` = {target} is infeasible: the largest mean reward of a prompt is {top:.6g}")

    total = [0]  # Blahut iterations over every multiplier tried

    def solve(lam: float, r0: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, bool]:
        lt = torch.tensor([lam], dtype=W.dtype, device=W.device)
        r, lower, upper, n_iter, converged = _tilted_capacity(W, wbar, lt, r0, tol, max_iter)
        total[0] += n_iter
        return r, lower, upper, converged

    def result(
        r: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor, lam: float, converged: bool
    ) -> RewardCapacityResult:
        mean = r[0] @ wbar
        info = lower[0] - lam * mean
        # weak duality: C(target) <= max_s [D_s + lam wbar_s] - lam * target
        gap = upper[0] - lam * target - info
        return RewardCapacityResult(
            capacity=info / scale,
            input_pmf=r[0],
            mean_reward=mean,
            lam=torch.tensor(lam, dtype=W.dtype),
            gap=gap.clamp_min(0) / scale,
            n_iter=total[0],
            converged=converged,
        )

    r, lo, up, ok = solve(0.0, None)
    if float(r[0] @ wbar) >= target - 1e-12:
        return result(r, lo, up, 0.0, ok)
    best = wbar >= top - 1e-12
    if target >= top - 1e-12:  # only the best prompts: lambda = +inf
        sub = channel_capacity(W[best], tol=tol, max_iter=max_iter, accelerate=accelerate)
        p = torch.zeros_like(wbar)
        p[best] = sub.input_pmf
        return RewardCapacityResult(
            capacity=sub.capacity / scale,
            input_pmf=p,
            mean_reward=p @ wbar,
            lam=torch.tensor(math.inf, dtype=W.dtype),
            gap=sub.gap / scale,
            n_iter=total[0] + int(sub.n_iter),
            converged=bool(sub.converged),
        )
    lam_lo, lam_hi = 0.0, 1.0
    r_hi, lo_hi, up_hi, ok_hi = solve(lam_hi, r)
    while float(r_hi[0] @ wbar) < target:
        lam_lo, lam_hi = lam_hi, 2 * lam_hi
        if lam_hi > 1e8:
            raise RuntimeError("bisection for the multiplier did not bracket the constraint")
        r_hi, lo_hi, up_hi, ok_hi = solve(lam_hi, r_hi)
    for _ in range(60):
        mid = 0.5 * (lam_lo + lam_hi)
        r_mid, lo_mid, up_mid, ok_mid = solve(mid, r_hi)
        if float(r_mid[0] @ wbar) >= target:
            lam_hi, r_hi, lo_hi, up_hi, ok_hi = mid, r_mid, lo_mid, up_mid, ok_mid
        else:
            lam_lo = mid
        if lam_hi - lam_lo < 1e-10 * max(1.0, lam_hi):
            break
    return result(r_hi, lo_hi, up_hi, lam_hi, ok_hi)
