r"""Toy "human" token sources whose every probability is known exactly.

A :class:`TokenSource` is a law :math:`P^\hbar` over a prompt :math:`S`
(one of ``m`` prompts, each standing for a whole sequence :math:`S_{1:n}`)
and a continuation :math:`U_{n+1:T}` of ``L = T - n`` tokens from a
vocabulary of ``V`` tokens. The next token depends on the prompt and on the
previous token,

.. math::

    P(u_t \mid s, u_{n+1:t-1}) = K[s, u_{t-1}, u_t],

(row ``V`` of :math:`K` is the first step, "no previous token"), so the law
with the prompt known is a Markov chain, while the law the reader sees
without the prompt, :math:`P(u_t \mid u_{n+1:t-1}) = \sum_s P(s \mid
u_{n+1:t-1})\, K[s, u_{t-1}, u_t]`, depends on the whole history through
the prompt posterior. With small ``m``, ``V`` and ``L`` everything can be
enumerated, which is what the chapters use to check Monte-Carlo estimates.

An optional end token ``eos`` is absorbing: once generated it repeats with
probability 1, so a sequence that stopped at a random time :math:`T_\triangleleft`
is padded and all sequences have the same length.

Torch, float64, on the device of the tables. Introduced in the chapter
*Semantic information flow* (§III-D of the paper); later chapters extend it
(longer memory, embeddings), so keep the interface small.
"""

from __future__ import annotations

import math
from typing import Any

import torch

__all__ = ["TokenSource"]


def _check_int(value: Any, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"`{name}` must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}")
    return value


class TokenSource:
    r"""A prompt law and a prompt-dependent first-order next-token table.

    Parameters
    ----------
    prompt_pmf : torch.Tensor, shape (m,)
        :math:`P(S = s)`.
    kernel : torch.Tensor, shape (m, V + 1, V)
        :math:`K[s, a, u] = P(U_t = u \mid S = s, U_{t-1} = a)`; row ``a = V``
        is the first generated token. Every row sums to 1.
    length : int
        Number of generated tokens ``L = T - n``.
    eos : int, optional
        End token; if given, ``kernel[:, eos, :]`` must put mass 1 on ``eos``.

    Examples
    --------
    >>> src = TokenSource.random(3, 4, 3, seed=0)
    >>> float(src.joint().sum())  # doctest: +ELLIPSIS
    1.0...
    """

    def __init__(self, prompt_pmf: Any, kernel: Any, length: int, eos: int | None = None):
        if not isinstance(prompt_pmf, torch.Tensor) or not isinstance(kernel, torch.Tensor):
            raise TypeError("`prompt_pmf` and `kernel` must be torch tensors")
        prompt_pmf, kernel = prompt_pmf.double(), kernel.double()
        if prompt_pmf.ndim != 1 or kernel.ndim != 3:
            raise ValueError("`prompt_pmf` must be 1-d and `kernel` 3-d (m, V + 1, V)")
        m, v1, v = kernel.shape
        if prompt_pmf.shape[0] != m or v1 != v + 1:
            raise ValueError(f"`kernel` must have shape ({prompt_pmf.shape[0]}, V + 1, V), got {tuple(kernel.shape)}")
        for name, x, axis in (("prompt_pmf", prompt_pmf, 0), ("kernel", kernel, -1)):
            if not torch.isfinite(x).all() or (x < 0).any():
                raise ValueError(f"`{name}` must be finite and non-negative")
            if (x.sum(axis) - 1).abs().max() > 1e-9:
                raise ValueError(f"`{name}` must sum to 1 along its last axis (within 1e-9)")
        self.length = _check_int(length, "length", 1)
        if eos is not None:
            eos = _check_int(eos, "eos", 0)
            if eos >= v:
                raise ValueError(f"`eos` must be a token < V = {v}, got {eos}")
            if (kernel[:, eos, eos] - 1).abs().max() > 1e-12:
                raise ValueError("`kernel[:, eos, eos]` must be 1: the end token is absorbing")
        self.prompt_pmf, self.kernel, self.eos = prompt_pmf, kernel, eos
        self.n_prompts, self.vocab = m, v

    @classmethod
    def random(
        cls,
        n_prompts: int,
        vocab: int,
        length: int,
        *,
        seed: int = 0,
        concentration: float = 0.3,
        eos: int | None = None,
        eos_prob: float = 0.15,
        smoothing: float = 1e-6,
        device: Any = None,
    ) -> "TokenSource":
        r"""A seeded random source: Dirichlet(``concentration``) rows, uniform prompts.

        Small ``concentration`` gives peaked ("sparse-ish") rows, hence prompts
        that are easy to tell apart. With ``eos`` every non-end row gives the end
        token probability ``eos_prob`` and the rest is Dirichlet. Each row is mixed
        with the uniform law, weight ``smoothing``, so that every information
        density is finite and bounded.
        """
        m = _check_int(n_prompts, "n_prompts", 1)
        v = _check_int(vocab, "vocab", 2)
        if not concentration > 0:
            raise ValueError(f"`concentration` must be > 0, got {concentration}")
        if not 0 < eos_prob < 1:
            raise ValueError(f"`eos_prob` must lie in (0, 1), got {eos_prob}")
        dist = torch.distributions.Dirichlet(torch.full((v,), float(concentration), dtype=torch.float64))
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            k = dist.sample((m, v + 1))
        if not 0 < smoothing <= 1:
            raise ValueError(f"`smoothing` must lie in (0, 1], got {smoothing}")
        k = (1 - smoothing) * k + smoothing / v
        if eos is not None:
            if not 0 <= eos < v:
                raise ValueError(f"`eos` must be a token < V = {v}, got {eos}")
            k[..., eos] = 0.0
            k = (1 - eos_prob) * k / k.sum(-1, keepdim=True)
            k[..., eos] = eos_prob
            k[:, eos, :] = 0.0
            k[:, eos, eos] = 1.0
        p = torch.full((m,), 1.0 / m, dtype=torch.float64)
        return cls(p.to(device), k.to(device), length, eos)

    @property
    def device(self) -> torch.device:
        return self.kernel.device

    # --- exact laws ------------------------------------------------------------------------
    def _check_batch(self, s: Any, u: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if not isinstance(s, torch.Tensor) or not isinstance(u, torch.Tensor):
            raise TypeError("`s` and `u` must be torch tensors of token ids")
        if s.ndim != 1 or u.ndim != 2 or u.shape[0] != s.shape[0]:
            raise ValueError(f"`s` must have shape (B,) and `u` shape (B, k); got {tuple(s.shape)}, {tuple(u.shape)}")
        if u.shape[1] > self.length:
            raise ValueError(f"`u` has {u.shape[1]} tokens, more than length = {self.length}")
        if s.numel() and (s.min() < 0 or s.max() >= self.n_prompts):
            raise ValueError(f"`s` must lie in [0, {self.n_prompts})")
        if u.numel() and (u.min() < 0 or u.max() >= self.vocab):
            raise ValueError(f"`u` must lie in [0, {self.vocab})")
        return s.long(), u.long()

    def _prev(self, u: torch.Tensor, t: int) -> torch.Tensor:
        if t == 0:
            return torch.full((u.shape[0],), self.vocab, dtype=torch.long, device=u.device)
        return u[:, t - 1]

    def cond_logprobs(self, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        r""":math:`\log P(\cdot \mid s, u_{<t})` for every step: shape (B, k + 1, V).

        Entry ``[:, t]`` is the next-token law after the first ``t`` tokens of ``u``.
        """
        s, u = self._check_batch(s, u)
        logk = self.kernel.log()
        prevs = torch.cat([torch.full_like(u[:, :1], self.vocab), u], dim=1)
        return logk[s[:, None], prevs]

    def prompt_log_posterior(self, u: torch.Tensor) -> torch.Tensor:
        r""":math:`\log P(s \mid u_{<t})` for ``t = 0..k``: shape (B, k + 1, m)."""
        s0 = torch.zeros(u.shape[0], dtype=torch.long, device=u.device)
        _, u = self._check_batch(s0, u)
        logk = self.kernel.log()                                     # (m, V+1, V)
        prevs = torch.cat([torch.full_like(u[:, :1], self.vocab), u], dim=1)
        steps = logk[:, prevs[:, :-1], u].permute(1, 2, 0)          # (B, k, m)
        cum = torch.cat([torch.zeros_like(steps[:, :1]), steps.cumsum(1)], dim=1)
        a = cum + self.prompt_pmf.log()
        return a - torch.logsumexp(a, dim=-1, keepdim=True)

    def marginal_logprobs(self, u: torch.Tensor) -> torch.Tensor:
        r""":math:`\log P(\cdot \mid u_{<t}) = \log\sum_s P(s\mid u_{<t}) K[s, u_{t-1}, \cdot]`: (B, k + 1, V)."""
        post = self.prompt_log_posterior(u)                          # (B, k+1, m)
        prevs = torch.cat([torch.full_like(u[:, :1], self.vocab), u.long()], dim=1)
        logk = self.kernel.log()[:, prevs].permute(1, 2, 0, 3)      # (B, k+1, m, V)
        return torch.logsumexp(post[..., None] + logk, dim=2)

    def channel(self) -> torch.Tensor:
        r"""The channel :math:`W(u_{n+1:T} \mid s)`, shape (m, V ** L), rows in lexicographic order."""
        m, v, L = self.n_prompts, self.vocab, self.length
        w = self.kernel[:, v, :]                                     # (m, V)
        for _ in range(1, L):
            prev = torch.arange(v, device=self.device).repeat(w.shape[1] // v)
            w = (w[:, :, None] * self.kernel[:, prev, :]).reshape(m, -1)
        if v ** L > 10 ** 7:
            raise ValueError("too many sequences to enumerate")
        return w

    def joint(self) -> torch.Tensor:
        r"""The joint pmf :math:`P(s, u_{n+1}, \dots, u_T)` as a tensor of shape (m, V, ..., V)."""
        return (self.prompt_pmf[:, None] * self.channel()).reshape((self.n_prompts,) + (self.vocab,) * self.length)

    # --- sampling --------------------------------------------------------------------------
    def sample(
        self,
        n: int,
        *,
        seed: int = 0,
        prompt_pmf: Any = None,
        temperature: float = 1.0,
        top_k: int | None = None,
        greedy: bool = False,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Draw ``n`` prompts and generations; returns ``s`` (n,) and ``u`` (n, L).

        With the defaults the tokens follow :math:`P^\hbar`. ``temperature``,
        ``top_k`` and ``greedy`` decode from a *different* law
        :math:`q(u \mid s, u_{<t}) \propto K^{1/\tau}` (restricted to the ``k``
        largest entries; ``greedy``: the arg-max), see :meth:`decode_logprobs`.
        """
        n = _check_int(n, "n", 1)
        g = torch.Generator(device=self.device).manual_seed(seed)
        if prompt_pmf is None:
            p = self.prompt_pmf
        else:
            p = torch.as_tensor(prompt_pmf, dtype=torch.float64, device=self.device)
            if p.shape != (self.n_prompts,) or (p < 0).any() or abs(float(p.sum()) - 1) > 1e-9:
                raise ValueError(f"`prompt_pmf` must be a pmf over the {self.n_prompts} prompts")
        s = torch.multinomial(p, n, replacement=True, generator=g)
        u = torch.empty((n, self.length), dtype=torch.long, device=self.device)
        for t in range(self.length):
            lq = self.decode_logprobs(self.kernel.log()[s, self._prev(u, t)], temperature, top_k, greedy)
            u[:, t] = torch.multinomial(lq.exp(), 1, generator=g)[:, 0]
        return s, u

    @staticmethod
    def decode_logprobs(
        logp: torch.Tensor, temperature: float = 1.0, top_k: int | None = None, greedy: bool = False
    ) -> torch.Tensor:
        r"""Log of the decoding law :math:`q` built from next-token log-probs ``logp`` (last axis).

        Examples
        --------
        >>> lp = torch.tensor([0.7, 0.2, 0.1], dtype=torch.float64).log()
        >>> TokenSource.decode_logprobs(lp, greedy=True).exp().tolist()
        [1.0, 0.0, 0.0]
        """
        if not (isinstance(temperature, (int, float)) and temperature > 0 and math.isfinite(temperature)):
            raise ValueError(f"`temperature` must be a positive number, got {temperature!r}")
        if top_k is not None:
            top_k = _check_int(top_k, "top_k", 1)
        if greedy:
            top_k, temperature = 1, 1.0
        z = logp / temperature
        if top_k is not None and top_k < z.shape[-1]:
            kth = z.topk(top_k, dim=-1).values[..., -1:]
            z = z.masked_fill(z < kth, -math.inf)
        return z - torch.logsumexp(z, dim=-1, keepdim=True)
