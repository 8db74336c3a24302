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
from typing import Any, NamedTuple

import torch

from .models import TokenSource
from .rate_distortion import CapacityResult, channel_capacity

__all__ = [
    "flow_increments",
    "semantic_information_flow",
    "step_moments",
    "DoobDecomposition",
    "doob_decomposition",
    "freedman_bound",
    "mc_mean",
    "semantic_information_capacity",
]


def _check_source(source: Any) -> TokenSource:
    if not isinstance(source, TokenSource):
        raise TypeError(f"`source` must be a semlib.models.TokenSource, got {type(source).__name__}")
    return source


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
    :meth:`TokenSource.decode_logprobs`; the density is always the one of
    :math:`P`. With the defaults (:math:`q = P`) the mean is
    :math:`D(P(\cdot\mid s,u_{<t})\,\|\,P(\cdot\mid u_{<t}))`, paper Eq. (25).
    """
    src = _check_source(source)
    lc = src.cond_logprobs(s, u)[:, :-1]
    lm = src.marginal_logprobs(u)[:, :-1]
    q = TokenSource.decode_logprobs(lc, temperature, top_k, greedy).exp()
    on = q > 0                                   # tokens q can emit (0 log 0 = 0 elsewhere)
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


def freedman_bound(alpha: Any, beta: Any, c: float = 1.0) -> Any:
    r"""Freedman's bound :math:`\exp\!\big(-\alpha^2 / (2(c\alpha + \beta))\big)`.

    For a martingale with increments :math:`\le c` it bounds
    :math:`\Pr\{M_t \ge \alpha,\ V_t \le \beta\}` (Freedman 1975, Thm 1.6); the paper's
    Corollary 2 (Eq. 30) is the case ``c = 1``.

    Examples
    --------
    >>> round(float(freedman_bound(2.0, 1.0)), 6)
    0.513417
    """
    if not (isinstance(c, (int, float)) and c > 0 and math.isfinite(c)):
        raise ValueError(f"`c` must be a positive number, got {c!r}")
    a = torch.as_tensor(alpha, dtype=torch.float64)
    b = torch.as_tensor(beta, dtype=torch.float64)
    if (a <= 0).any() or (b <= 0).any():
        raise ValueError("`alpha` and `beta` must be positive")
    return torch.exp(-(a**2) / (2 * (c * a + b)))


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


def semantic_information_capacity(source: TokenSource, *, base: float | None = None, **kwargs: Any) -> CapacityResult:
    r"""Semantic information capacity (paper Definition 9, Eq. 32, without the reward constraint).

    :math:`\max_{P(S)} I(S \to U_{n+1:T}) = \max_{P(S)} I(S; U_{n+1:T})` (the whole prompt
    is known at every step), the capacity of the channel :math:`W(u_{n+1:T}\mid s)`,
    computed by :func:`semlib.rate_distortion.channel_capacity` (Blahut–Arimoto).
    """
    src = _check_source(source)
    return channel_capacity(src.channel(), base=base, **kwargs)
