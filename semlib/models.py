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

The model families :math:`Q_\Phi` trained on samples of such a source share
one interface, :class:`NextTokenModel`: ``cond_logprobs(s, u)`` returns the
next-token log-probabilities after every prefix of a batch, exactly like
:meth:`TokenSource.cond_logprobs`, so the same code measures the human law and
a model. :class:`NGramModel` is a table indexed by the prompt and the last
``order - 1`` tokens; :class:`TinyTransformer` is a causal Transformer whose
first position holds the prompt. :func:`fit_next_token` trains either on
samples with the loss of the paper's Eq. (18) (empirical cross-entropy, plus an
optional weight on the exact directed information). :func:`pretraining_distortion`
and :func:`pretraining_rate` give the two axes of the directed rate-distortion
function (Definition 6, Eqs. 11-12, per generated token) by enumeration, and
:func:`mc_pretraining_distortion` estimates the first by sampling where
enumeration stops being possible.

Torch, float64, on the device of the tables. Introduced in the chapter
*Semantic information flow* (§III-D of the paper); the model families in
*The directed rate-distortion function of pre-training* (§III-B).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from tqdm.auto import tqdm

from . import _backend as _bk
from ._backend import check_int as _check_int

__all__ = [
    "TokenSource",
    "NextTokenModel",
    "NGramModel",
    "TinyTransformer",
    "fit_next_token",
    "all_sequences",
    "pretraining_distortion",
    "pretraining_rate",
    "mc_pretraining_distortion",
]


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
        seed: int | torch.Generator | None = 0,
        concentration: float = 0.3,
        eos: int | None = None,
        eos_prob: float = 0.15,
        smoothing: float = 1e-6,
        device: Any = None,
    ) -> TokenSource:
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
            torch.manual_seed(_bk.int_seed(seed))
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
    def _check_batch(self: TokenSource | NextTokenModel, s: Any, u: Any) -> tuple[torch.Tensor, torch.Tensor]:
        # `self` may be a NextTokenModel too: it reuses these rules (it has the same three sizes)
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
        logk = self.kernel.log()  # (m, V+1, V)
        prevs = torch.cat([torch.full_like(u[:, :1], self.vocab), u], dim=1)
        steps = logk[:, prevs[:, :-1], u].permute(1, 2, 0)  # (B, k, m)
        cum = torch.cat([torch.zeros_like(steps[:, :1]), steps.cumsum(1)], dim=1)
        a = cum + self.prompt_pmf.log()
        return a - torch.logsumexp(a, dim=-1, keepdim=True)

    def marginal_logprobs(self, u: torch.Tensor) -> torch.Tensor:
        r""":math:`\log P(\cdot \mid u_{<t}) = \log\sum_s P(s\mid u_{<t}) K[s, u_{t-1}, \cdot]`: (B, k + 1, V)."""
        post = self.prompt_log_posterior(u)  # (B, k+1, m)
        prevs = torch.cat([torch.full_like(u[:, :1], self.vocab), u.long()], dim=1)
        logk = self.kernel.log()[:, prevs].permute(1, 2, 0, 3)  # (B, k+1, m, V)
        return torch.logsumexp(post[..., None] + logk, dim=2)

    def channel(self) -> torch.Tensor:
        r"""The channel :math:`W(u_{n+1:T} \mid s)`, shape (m, V ** L), rows in lexicographic order."""
        m, v, L = self.n_prompts, self.vocab, self.length
        if v**L > 10**7:
            raise ValueError(f"{v}**{L} continuations are too many to enumerate; use the Monte-Carlo path")
        w = self.kernel[:, v, :]  # (m, V)
        for _ in range(1, L):
            prev = torch.arange(v, device=self.device).repeat(w.shape[1] // v)
            w = (w[:, :, None] * self.kernel[:, prev, :]).reshape(m, -1)
        return w

    def joint(self) -> torch.Tensor:
        r"""The joint pmf :math:`P(s, u_{n+1}, \dots, u_T)` as a tensor of shape (m, V, ..., V)."""
        return (self.prompt_pmf[:, None] * self.channel()).reshape((self.n_prompts,) + (self.vocab,) * self.length)

    # --- sampling --------------------------------------------------------------------------
    def sample(
        self,
        n: int,
        *,
        seed: int | torch.Generator | None = 0,
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
        g = _bk.torch_generator(seed, self.device)
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


# ==========================================================================================
# Model families Q_Phi
# ==========================================================================================


def all_sequences(vocab: int, length: int, device: Any = None) -> torch.Tensor:
    """Every token sequence of ``length`` tokens over ``vocab`` tokens, lexicographic: (V**L, L).

    The order matches :meth:`TokenSource.channel` (the last token varies fastest).
    """
    v = _check_int(vocab, "vocab", 1)
    L = _check_int(length, "length", 1)
    if v**L > 10**7:
        raise ValueError(f"{v}**{L} sequences are too many to enumerate; use the Monte-Carlo path")
    idx = torch.arange(v**L, device=device)
    powers = v ** torch.arange(L - 1, -1, -1, device=device)
    return (idx[:, None] // powers) % v


class NextTokenModel(torch.nn.Module):
    r"""Interface of a model :math:`Q_\Phi(u_t \mid s, u_{n+1:t-1})` over a source's alphabet.

    Subclasses implement :meth:`logits`; everything else (log-probabilities, the
    exact channel by enumeration, sampling) is shared. Prompts are ids
    ``0..n_prompts-1`` standing for whole sequences :math:`S_{1:n}`, as in
    :class:`TokenSource`.
    """

    def __init__(self, n_prompts: int, vocab: int, length: int):
        super().__init__()
        self.n_prompts = _check_int(n_prompts, "n_prompts", 1)
        self.vocab = _check_int(vocab, "vocab", 2)
        self.length = _check_int(length, "length", 1)

    def _check_batch(self, s: Any, u: Any) -> tuple[torch.Tensor, torch.Tensor]:
        return TokenSource._check_batch(self, s, u)  # same rules, same messages

    def logits(self, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        """Unnormalised next-token scores after each prefix of ``u``: shape (B, k + 1, V)."""
        raise NotImplementedError

    def cond_logprobs(self, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        r""":math:`\log Q_\Phi(\cdot \mid s, u_{<t})` for ``t = 0..k``: shape (B, k + 1, V)."""
        s, u = self._check_batch(s, u)
        return torch.log_softmax(self.logits(s, u), dim=-1)

    def sequence_logprob(self, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        r""":math:`\log Q_\Phi(u \mid s) = \sum_t \log Q_\Phi(u_t \mid s, u_{<t})`: shape (B,)."""
        s, u = self._check_batch(s, u)
        lp = self.cond_logprobs(s, u[:, :-1])  # (B, k, V)
        return lp.gather(-1, u[..., None])[..., 0].sum(-1)

    def channel(self, batch_size: int = 65536) -> torch.Tensor:
        r"""The model's channel :math:`Q_\Phi(u_{n+1:T} \mid s)`, shape (m, V**L), by enumeration.

        Rows are in the order of :func:`all_sequences`; differentiable in the parameters.
        """
        dev = next(self.parameters()).device
        seqs = all_sequences(self.vocab, self.length, dev)
        rows = []
        for s_id in range(self.n_prompts):
            parts = []
            for start in range(0, seqs.shape[0], batch_size):
                chunk = seqs[start : start + batch_size]
                s = torch.full((chunk.shape[0],), s_id, dtype=torch.long, device=dev)
                parts.append(self.sequence_logprob(s, chunk))
            rows.append(torch.cat(parts))
        return torch.stack(rows).exp()

    @torch.no_grad()
    def sample(self, s: torch.Tensor, *, seed: int | torch.Generator | None = 0) -> torch.Tensor:
        """Generate continuations for prompts ``s`` (B,) by ancestral sampling: (B, L)."""
        if not isinstance(s, torch.Tensor):
            raise TypeError(f"`s` must be a torch tensor of prompt ids, got {type(s).__name__}")
        dev = next(self.parameters()).device
        s, _ = self._check_batch(s.to(dev), torch.zeros((s.shape[0], 0), dtype=torch.long, device=dev))
        g = _bk.torch_generator(seed, dev)
        u = torch.empty((s.shape[0], 0), dtype=torch.long, device=dev)
        for _ in range(self.length):
            p = self.cond_logprobs(s, u)[:, -1].exp()
            u = torch.cat([u, torch.multinomial(p, 1, generator=g)], dim=1)
        return u


class NGramModel(NextTokenModel):
    r"""A table model: :math:`Q_\Phi(u_t \mid s, u_{t-\text{order}+1:t-1}) = \mathrm{softmax}(\Phi[s, \text{context}])`.

    ``order = 1`` sees only the prompt; ``order = 2`` sees the prompt and the
    previous token, the family that contains every :class:`TokenSource`; larger
    orders see more. Positions before the first generated token are filled with
    the begin symbol ``V``. Parameters: ``m (V+1)^(order-1) V`` logits.

    Parameters
    ----------
    n_prompts, vocab, length : int
    order : int, default 2
    """

    def __init__(self, n_prompts: int, vocab: int, length: int, order: int = 2):
        super().__init__(n_prompts, vocab, length)
        self.order = _check_int(order, "order", 1)
        n_ctx = (self.vocab + 1) ** (self.order - 1)
        self.table = torch.nn.Parameter(torch.zeros(self.n_prompts, n_ctx, self.vocab, dtype=torch.float64))

    def _contexts(self, u: torch.Tensor) -> torch.Tensor:
        """Context index after each prefix of ``u``: (B, k + 1)."""
        v1, k = self.vocab + 1, self.order - 1
        padded = torch.cat([torch.full((u.shape[0], max(k, 0)), self.vocab, dtype=torch.long, device=u.device), u], 1)
        ctx = torch.zeros((u.shape[0], u.shape[1] + 1), dtype=torch.long, device=u.device)
        for j in range(k):  # most recent token is the last digit
            ctx = ctx * v1 + padded[:, j : j + u.shape[1] + 1]
        return ctx

    def logits(self, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        return self.table[s[:, None], self._contexts(u)]

    @classmethod
    def from_counts(
        cls, s: torch.Tensor, u: torch.Tensor, n_prompts: int, vocab: int, *, order: int = 2, alpha: float = 0.0
    ) -> NGramModel:
        r"""The maximum-likelihood table with add-``alpha`` smoothing, in closed form.

        With ``alpha = 0`` unseen entries get probability 0 (logit :math:`-\infty`)
        and unseen contexts the uniform law.
        """
        if not alpha >= 0:
            raise ValueError(f"`alpha` must be >= 0, got {alpha}")
        model = cls(n_prompts, vocab, u.shape[1] if isinstance(u, torch.Tensor) and u.ndim == 2 else 1, order)
        s, u = model._check_batch(s, u)
        ctx = model._contexts(u[:, :-1])  # (B, L)
        counts = torch.zeros_like(model.table, device=u.device)
        counts.index_put_((s[:, None].expand_as(u), ctx, u), torch.ones_like(u, dtype=torch.float64), accumulate=True)
        counts = counts + alpha
        tot = counts.sum(-1, keepdim=True)
        prob = torch.where(tot > 0, counts / tot.clamp_min(1e-300), torch.full_like(counts, 1.0 / vocab))
        with torch.no_grad():
            model.table.copy_(prob.log())
        return model.to(u.device)


class TinyTransformer(NextTokenModel):
    r"""A causal Transformer over ``[prompt, u_1, ..., u_k]`` predicting the next token.

    Position 0 holds a learned embedding of the prompt id, positions ``1..k``
    token embeddings; learned position embeddings; ``n_layers`` pre-norm
    blocks of causal self-attention and an MLP; a linear read-out. Output
    position ``t`` gives :math:`Q_\Phi(\cdot \mid s, u_{<t+1})`. Float64 by
    default so that exact divergences near 0 are resolved.

    Parameters
    ----------
    n_prompts, vocab, length : int
    d_model : int, default 32
    n_heads : int, default 2
    n_layers : int, default 2
    dtype : torch.dtype, default torch.float64
    """

    def __init__(
        self,
        n_prompts: int,
        vocab: int,
        length: int,
        *,
        d_model: int = 32,
        n_heads: int = 2,
        n_layers: int = 2,
        dtype: torch.dtype = torch.float64,
    ):
        super().__init__(n_prompts, vocab, length)
        d_model = _check_int(d_model, "d_model", 1)
        n_heads = _check_int(n_heads, "n_heads", 1)
        n_layers = _check_int(n_layers, "n_layers", 1)
        if d_model % n_heads:
            raise ValueError(f"`d_model` = {d_model} must be a multiple of `n_heads` = {n_heads}")
        self.prompt_emb = torch.nn.Embedding(self.n_prompts, d_model)
        self.token_emb = torch.nn.Embedding(self.vocab, d_model)
        self.pos_emb = torch.nn.Embedding(self.length + 1, d_model)
        layer = torch.nn.TransformerEncoderLayer(
            d_model, n_heads, dim_feedforward=4 * d_model, dropout=0.0, batch_first=True, norm_first=True
        )
        self.blocks = torch.nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = torch.nn.LayerNorm(d_model)
        self.readout = torch.nn.Linear(d_model, self.vocab)
        self.to(dtype)

    def logits(self, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        x = torch.cat([self.prompt_emb(s)[:, None], self.token_emb(u)], dim=1)
        n = x.shape[1]
        x = x + self.pos_emb(torch.arange(n, device=x.device))
        mask = torch.nn.Transformer.generate_square_subsequent_mask(n, device=x.device, dtype=x.dtype)
        h = self.blocks(x, mask=mask, is_causal=True)
        return self.readout(self.norm(h))


def _mutual_information_of_channel(prompt_pmf: torch.Tensor, channel: torch.Tensor) -> torch.Tensor:
    r""":math:`I(S;U) = \sum_s P(s) \sum_u W(u\mid s) \log \frac{W(u\mid s)}{\sum_{s'} P(s') W(u\mid s')}` (differentiable)."""
    q = prompt_pmf @ channel
    terms = torch.where(channel > 0, channel * (channel.clamp_min(1e-300).log() - q.clamp_min(1e-300).log()), 0.0)
    return (prompt_pmf * terms.sum(1)).sum()


def _check_pair(source: Any, model: Any) -> None:
    if not isinstance(source, TokenSource):
        raise TypeError(f"`source` must be a TokenSource, got {type(source).__name__}")
    if not isinstance(model, (NextTokenModel, TokenSource)):
        raise TypeError(f"`model` must be a NextTokenModel or a TokenSource, got {type(model).__name__}")
    if (model.n_prompts, model.vocab, model.length) != (source.n_prompts, source.vocab, source.length):
        raise ValueError(
            "`model` and `source` must share (n_prompts, vocab, length); got "
            f"{(model.n_prompts, model.vocab, model.length)} and {(source.n_prompts, source.vocab, source.length)}"
        )


def pretraining_distortion(source: TokenSource, model: Any, *, grad: bool = False) -> torch.Tensor:
    r"""Average per-step divergence of Definition 6 (Eq. 12), per generated token, by enumeration.

    .. math::

        \bar D(\Phi) = \frac1{T-n}\sum_{t=n+1}^{T}
        \mathbb E_{P^\hbar}\, D\big(P^\hbar_t \,\|\, Q^\Phi_t\big)
        = \frac1{T-n}\, D\big(P^\hbar_{U\mid S} \,\big\|\, Q^\Phi_{U\mid S} \,\big|\, P_S\big),

    the second form by the chain rule for relative entropy (what is computed).
    ``+inf`` when the model gives probability 0 to a continuation the source can
    produce (an unsmoothed count model, say). Nats. With ``grad=True`` the
    result is differentiable in the model's parameters.
    """
    _check_pair(source, model)
    P = source.channel()
    with torch.set_grad_enabled(grad):
        Q = model.channel().to(P.dtype)
    terms = torch.where(P > 0, P * (P.clamp_min(1e-300).log() - Q.clamp_min(1e-300).log()), 0.0)
    terms = torch.where((P > 0) & (Q == 0), torch.inf, terms)  # a zero where P^hbar is not: D = +inf
    return (source.prompt_pmf * terms.sum(1)).sum() / source.length


def pretraining_rate(model: Any, prompt_pmf: torch.Tensor, *, grad: bool = False) -> torch.Tensor:
    r"""Rate of Definition 6 (Eq. 11) per generated token: :math:`I(S_{1:n} \to U_{n+1:T};\Phi)/(T-n)`.

    With the whole prompt known at every step the directed information equals
    :math:`I(S; U)` (chain rule), computed here exactly under :math:`P_S \otimes Q_\Phi`.
    Nats. With ``grad=True`` the result is differentiable in the model's parameters.
    """
    if not isinstance(model, (NextTokenModel, TokenSource)):
        raise TypeError(f"`model` must be a NextTokenModel or a TokenSource, got {type(model).__name__}")
    if not isinstance(prompt_pmf, torch.Tensor) or prompt_pmf.shape != (model.n_prompts,):
        raise ValueError(f"`prompt_pmf` must be a tensor of shape ({model.n_prompts},)")
    if (prompt_pmf < 0).any() or abs(float(prompt_pmf.sum()) - 1) > 1e-9:
        raise ValueError("`prompt_pmf` must be non-negative and sum to 1")
    with torch.set_grad_enabled(grad):
        W = model.channel()
        return _mutual_information_of_channel(prompt_pmf.to(W.dtype), W) / model.length


@torch.no_grad()
def mc_pretraining_distortion(
    source: TokenSource, model: Any, n: int, *, seed: int | torch.Generator | None = 0
) -> tuple[float, float]:
    r"""Monte-Carlo estimate of :func:`pretraining_distortion` and its standard error.

    Averages :math:`\frac1{T-n}[\log P^\hbar(u\mid s) - \log Q_\Phi(u\mid s)]` over
    ``n`` pairs drawn from the source: no enumeration, so it works at any size.
    Returns ``(inf, inf)`` when the model gives probability 0 to a sampled pair.
    """
    _check_pair(source, model)
    n = _check_int(n, "n", 2)
    s, u = source.sample(n, seed=seed)
    lp = source.cond_logprobs(s, u[:, :-1]).gather(-1, u[..., None])[..., 0].sum(-1)
    lq = (
        model.sequence_logprob(s, u)
        if isinstance(model, NextTokenModel)
        else model.cond_logprobs(s, u[:, :-1]).gather(-1, u[..., None])[..., 0].sum(-1)
    )
    x = (lp - lq.to(lp.dtype)) / source.length
    if not torch.isfinite(x).all():  # the model gives probability 0 to a sampled sequence
        return math.inf, math.inf
    return float(x.mean()), float(x.std() / math.sqrt(n))


def fit_next_token(
    model: NextTokenModel,
    s: torch.Tensor,
    u: torch.Tensor,
    *,
    steps: int = 500,
    batch_size: int = 256,
    lr: float = 1e-2,
    info_weight: float = 0.0,
    prompt_pmf: torch.Tensor | None = None,
    seed: int | torch.Generator | None = 0,
    progress: bool = True,
) -> list[float]:
    r"""Train a model on samples with the pre-training loss of Eq. (18); returns the loss per step.

    .. math::

        \mathcal L(\Phi) = -\frac1{T-n}\,\widehat{\mathbb E}\big[\log Q_\Phi(u_{n+1:T}\mid s)\big]
        + \beta\, \frac{I(S\to U;\Phi)}{T-n},

    the empirical cross-entropy per generated token on minibatches of the pairs
    ``(s, u)``, plus ``info_weight`` :math:`=\beta` times the model's exact rate
    (:func:`pretraining_rate` under ``prompt_pmf``; needs enumeration, so only for
    small alphabets). Adam, seeded minibatches, a tqdm progress bar.

    Parameters
    ----------
    model : NextTokenModel
    s, u : torch.Tensor
        Training prompts (N,) and continuations (N, L).
    steps, batch_size : int
    lr : float
        Adam's step size.
    info_weight : float, default 0
        :math:`\beta \ge 0`; with ``0`` the loss is the plain cross-entropy.
    prompt_pmf : torch.Tensor, optional
        Prompt law for the rate term; required when ``info_weight > 0``.
    seed : int, None or torch.Generator (CPU), default 0
        Random state of the minibatch draws (see CONTRIBUTING.md, glossary).
    progress : bool
    """
    if not isinstance(model, NextTokenModel):
        raise TypeError(f"`model` must be a NextTokenModel, got {type(model).__name__}")
    s, u = model._check_batch(s, u)
    if u.shape[1] != model.length:
        raise ValueError(f"`u` must have length = {model.length} tokens per row, got {u.shape[1]}")
    steps = _check_int(steps, "steps", 1)
    batch_size = _check_int(batch_size, "batch_size", 1)
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"`lr` must be a positive number, got {lr}")
    if not info_weight >= 0:
        raise ValueError(f"`info_weight` must be >= 0, got {info_weight}")
    if info_weight > 0 and prompt_pmf is None:
        raise ValueError("`prompt_pmf` is needed when `info_weight` > 0")
    dev = next(model.parameters()).device
    s, u = s.to(dev), u.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    g = _bk.torch_generator(seed, "cpu")
    losses = []
    for _ in tqdm(range(steps), disable=not progress, desc=type(model).__name__, leave=False):
        idx = torch.randint(0, s.shape[0], (min(batch_size, s.shape[0]),), generator=g).to(dev)
        loss = -model.sequence_logprob(s[idx], u[idx]).mean() / model.length
        if info_weight > 0 and prompt_pmf is not None:  # not None whenever info_weight > 0 (checked above)
            loss = loss + info_weight * pretraining_rate(model, prompt_pmf.to(dev), grad=True)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses
