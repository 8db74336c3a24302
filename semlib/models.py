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

The exact toy LLM of the paper's Eq. (7) is tabular and small enough to
enumerate: :func:`next_token_law` turns a logit table into next-token laws
at a temperature, :func:`autoregressive_joint` multiplies them into the
joint law of prompt and continuation, :func:`generate` samples by running
the feedback loop of Fig. 1, and :func:`ml_code_length` and
:func:`code_lengths` give the data parts of the two-part codes of Remark 1
(Eqs. 8-9) from counts. These are numpy at heart (numpy in, numpy out;
torch in, torch out), introduced in the chapter *The probabilistic model of
an LLM* (§III-A).

The rest is torch, float64, on the device of the tables. Introduced, with the model
families and the exact kernel fits (:func:`fit_kernel`, :func:`fit_kernel_counts`),
in the chapter *The directed rate-distortion function of pre-training* (§III-B of
the paper); the end token in *Semantic information flow* (§III-D).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import numpy as np
import torch
from tqdm.auto import tqdm

from . import _backend as _bk
from . import info as _info
from ._backend import check_int as _check_int
from ._backend import numpy_core

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
    "KernelFit",
    "history_weights",
    "kernel_distortion_terms",
    "fit_kernel",
    "transition_counts",
    "fit_kernel_counts",
    "next_token_law",
    "autoregressive_joint",
    "generate",
    "ml_code_length",
    "CodeLengths",
    "code_lengths",
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

    def _counts(self, s: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        """Counts of (prompt, context, next token) in checked samples, shaped like ``table``."""
        ctx = self._contexts(u[:, :-1])  # (B, L)
        counts = torch.zeros_like(self.table, device=u.device)
        counts.index_put_((s[:, None].expand_as(u), ctx, u), torch.ones_like(u, dtype=torch.float64), accumulate=True)
        return counts

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
        counts = model._counts(s, u) + alpha
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


def _check_source(source: Any) -> TokenSource:
    if not isinstance(source, TokenSource):
        raise TypeError(f"`source` must be a semlib.models.TokenSource, got {type(source).__name__}")
    return source


def _check_pair(source: Any, model: Any) -> None:
    _check_source(source)
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


# --- exact fits of the kernel family (the chapter *The directed rate-distortion function of pre-training*) ---


class KernelFit(NamedTuple):
    """A fitted kernel family member: logits ``theta`` (m, V + 1, V) and its two axes of Definition 6."""

    theta: torch.Tensor
    distortion: float
    rate: float


def _check_log_kernel(log_kernel: Any, shape: tuple[int, ...], name: str = "log_kernel") -> torch.Tensor:
    if not isinstance(log_kernel, torch.Tensor):
        raise TypeError(f"`{name}` must be a torch tensor (Torch-only), got {type(log_kernel).__name__}")
    if tuple(log_kernel.shape) != shape:
        raise ValueError(f"`{name}` must have shape {shape}, got {tuple(log_kernel.shape)}")
    return log_kernel


def history_weights(source: TokenSource) -> torch.Tensor:
    r"""Law of the human histories of each step: ``w[t, s, a]`` :math:`= P^\hbar(S = s, U_{t-1} = a)`.

    The weights of the expectation over histories in the distortion of
    Definition 6 (Eq. 11), read with human histories as in the chapter *The
    directed rate-distortion function of pre-training* (Eq. book-eq-drd-avg-distortion).
    Column ``a = V`` is "no previous token" (the first step, ``t = 0``), so
    ``w[0, :, V]`` is the prompt law. Torch-only (a function of a
    :class:`TokenSource`); by enumeration of the joint law.

    Parameters
    ----------
    source : TokenSource

    Returns
    -------
    torch.Tensor, shape (L, m, V + 1)
        Each ``w[t]`` sums to 1.
    """
    source = _check_source(source)
    m, v, L = source.n_prompts, source.vocab, source.length
    p = source.joint()
    w = torch.zeros(L, m, v + 1, dtype=torch.float64, device=source.device)
    w[0, :, v] = source.prompt_pmf
    for t in range(1, L):
        w[t, :, :v] = p.sum(dim=tuple(d for d in range(1, L + 1) if d != t))
    return w


def kernel_distortion_terms(source: TokenSource, log_kernel: torch.Tensor) -> torch.Tensor:
    r"""Per-step distortions of Definition 6 for a first-order kernel model, averaged over human histories.

    .. math::

        \bar D_t = \mathbb E_{(S, U_{t-1}) \sim P^\hbar}\Big[D_{\rm KL}\big(K[S, U_{t-1}, \cdot\,]
        \,\big\|\, Q[S, U_{t-1}, \cdot\,]\big)\Big],\qquad t = 1, \dots, L,

    the terms of the constraint of Eq. (11) (book-eq-drd-avg-distortion) with
    :math:`Q = \exp(\texttt{log\_kernel})`. Their sum is
    :math:`D(P^\hbar_{U\mid S}\,\|\,Q_{U\mid S}\mid P_S)` by the chain rule, ``L`` times
    :func:`pretraining_distortion`. Nats; differentiable in ``log_kernel``. Torch-only.

    Parameters
    ----------
    source : TokenSource
        The human law :math:`P^\hbar`, kernel ``K`` of shape (m, V + 1, V).
    log_kernel : torch.Tensor, shape (m, V + 1, V)
        Log-probabilities of the model's next-token law (rows normalised).

    Returns
    -------
    torch.Tensor, shape (L,)
    """
    source = _check_source(source)
    K = source.kernel
    lq = _check_log_kernel(log_kernel, tuple(K.shape))
    kl = torch.where(K > 0, K * (K.clamp_min(1e-300).log() - lq), 0.0).sum(-1)
    return (history_weights(source) * kl).sum((1, 2))


def _kernel_rate(source: TokenSource, log_kernel: torch.Tensor) -> torch.Tensor:
    """I(S; U) / L under P_S and the kernel exp(log_kernel) (differentiable)."""
    model = TokenSource(source.prompt_pmf, log_kernel.exp(), source.length)
    return _mutual_information_of_channel(source.prompt_pmf, model.channel()) / source.length


def _check_beta(beta: Any) -> float:
    if isinstance(beta, bool) or not isinstance(beta, (int, float)) or not (math.isfinite(beta) and beta >= 0):
        raise ValueError(f"`beta` must be a finite number >= 0, got {beta!r}")
    return float(beta)


def fit_kernel(
    source: TokenSource,
    beta: float,
    *,
    theta0: torch.Tensor | None = None,
    family: str = "full",
    max_iter: int = 100,
) -> KernelFit:
    r"""Minimise the exact pre-training loss of Eq. (18) over a first-order kernel family.

    .. math::

        \min_\Phi\ \bar D(\Phi) + \beta\,\frac{I(S; U_{n+1:T}; \Phi)}{L},\qquad
        \bar D = \frac1L \sum_t \bar D_t,

    with the terms :math:`\bar D_t` of :func:`kernel_distortion_terms`: the Lagrangian form of Definition 6 (Eq. 11) with :math:`\beta = 1/\lambda` of
    Eq. (18); :math:`I(S\to U) = I(S;U)` because the whole prompt is known at every
    step. ``beta = 0`` is plain cross-entropy training. The model is
    :math:`Q_\Phi(u_t\mid s, u_{t-1}) = \mathrm{softmax}(\Phi[s, u_{t-1}, \cdot\,])`
    (``family="full"``, which contains every :class:`TokenSource` of the same
    shape) or the prompt-only family :math:`\mathrm{softmax}(\Phi[s, 0, \cdot\,])` for every
    previous token (``family="prompt"``). L-BFGS with a strong-Wolfe line search,
    deterministic; warm-start a sweep with ``theta0``. Torch-only.

    Parameters
    ----------
    source : TokenSource
        The human law (prompt law and kernel).
    beta : float
        Weight of the rate, :math:`\ge 0`.
    theta0 : torch.Tensor, shape (m, V + 1, V), optional
        Starting logits (default zeros: the uniform kernel).
    family : {"full", "prompt"}
    max_iter : int, default 100
        L-BFGS iterations.

    Returns
    -------
    KernelFit
        ``theta`` (logits, detached), ``distortion`` :math:`\bar D` and ``rate``
        :math:`I(S;U;\Phi)/L`, both in nats per generated token.
    """
    source = _check_source(source)
    beta = _check_beta(beta)
    if family not in ("full", "prompt"):
        raise ValueError(f"`family` must be 'full' or 'prompt', got {family!r}")
    max_iter = _check_int(max_iter, "max_iter", 1)
    shape = tuple(source.kernel.shape)
    L = source.length
    if theta0 is None:
        th = torch.zeros(shape, dtype=torch.float64, device=source.device)
    else:
        th = _check_log_kernel(theta0, shape, "theta0").detach().clone().double()
    th.requires_grad_(True)
    opt = torch.optim.LBFGS(
        [th], lr=1, max_iter=max_iter, tolerance_grad=1e-10, tolerance_change=1e-13, line_search_fn="strong_wolfe"
    )

    def logk() -> torch.Tensor:
        z = th if family == "full" else th[:, :1, :].expand(shape)
        return torch.log_softmax(z, -1)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        lk = logk()
        loss = kernel_distortion_terms(source, lk).sum() / L + beta * _kernel_rate(source, lk)
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        lk = logk()
        d = float(kernel_distortion_terms(source, lk).sum() / L)
        r = float(_kernel_rate(source, lk))
    return KernelFit(th.detach(), d, r)


def transition_counts(s: torch.Tensor, u: torch.Tensor, n_prompts: int, vocab: int) -> torch.Tensor:
    r"""Counts of (prompt, previous token, next token) in samples: the sufficient statistic of a kernel model.

    ``c[s, a, b]`` counts the steps at which prompt ``s`` is followed by ``b``
    after ``a`` (``a = V``: the first generated token). The empirical
    cross-entropy of a kernel :math:`Q` is :math:`-\sum c \log Q / \sum c`, the
    empirical version of the loss of Eq. (18) (chapter *The directed
    rate-distortion function of pre-training*). Torch-only.

    Parameters
    ----------
    s : torch.Tensor, shape (N,)
        Prompts, integers in ``[0, n_prompts)``.
    u : torch.Tensor, shape (N, L)
        Continuations, integers in ``[0, vocab)``.
    n_prompts, vocab : int

    Returns
    -------
    torch.Tensor, shape (n_prompts, vocab + 1, vocab), float64
    """
    m = _check_int(n_prompts, "n_prompts", 1)
    v = _check_int(vocab, "vocab", 1)
    for name, x in (("s", s), ("u", u)):
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"`{name}` must be a torch tensor (Torch-only), got {type(x).__name__}")
        if x.dtype.is_floating_point or x.dtype.is_complex:
            raise TypeError(f"`{name}` must hold integers, got {x.dtype}")
    if s.ndim != 1 or u.ndim != 2 or u.shape[0] != s.shape[0]:
        raise ValueError(f"`s` must have shape (N,) and `u` (N, L); got {tuple(s.shape)} and {tuple(u.shape)}")
    if s.numel() and (int(s.min()) < 0 or int(s.max()) >= m):
        raise ValueError(f"`s` must lie in [0, {m})")
    if u.numel() and (int(u.min()) < 0 or int(u.max()) >= v):
        raise ValueError(f"`u` must lie in [0, {v})")
    if u.shape[1] == 0:
        return torch.zeros(m, v + 1, v, dtype=torch.float64, device=u.device)
    # An order-2 n-gram's contexts are the previous token, with V before the first one.
    return NGramModel(m, v, u.shape[1], order=2).to(u.device)._counts(s.long(), u.long())


def fit_kernel_counts(
    counts: torch.Tensor,
    prompt_pmf: torch.Tensor,
    length: int,
    beta: float,
    *,
    pseudo_count: float = 0.1,
    theta0: torch.Tensor | None = None,
    max_iter: int = 40,
) -> torch.Tensor:
    r"""Minimise the empirical loss of Eq. (18) over the full first-order kernel family.

    .. math::

        \min_\Phi\ -\frac{\sum_{s,a,b} \tilde c[s,a,b]\,\log Q_\Phi(b\mid s,a)}{\sum \tilde c}
        + \beta\,\frac{I(S; U_{n+1:T}; \Phi)}{L},\qquad \tilde c = c + \texttt{pseudo\_count},

    the empirical cross-entropy of the counts (:func:`transition_counts`) plus a
    pseudo-count, and ``beta`` times the model's exact rate under ``prompt_pmf``
    (Definition 6, Eq. 11). With ``beta = 0`` and no ``theta0`` the start, the
    closed-form add-``pseudo_count`` maximum-likelihood kernel, is the optimum.
    L-BFGS (strong Wolfe), deterministic. Torch-only.

    Parameters
    ----------
    counts : torch.Tensor, shape (m, V + 1, V)
    prompt_pmf : torch.Tensor, shape (m,)
        The prompt law under which the rate is computed.
    length : int
        Number of generated tokens ``L``.
    beta : float
        Weight of the rate, :math:`\ge 0`.
    pseudo_count : float, default 0.1
        Added to every count (> 0 keeps the true distortion finite).
    theta0 : torch.Tensor, shape (m, V + 1, V), optional
        Starting logits (default: the closed-form smoothed maximum-likelihood kernel).
    max_iter : int, default 40

    Returns
    -------
    torch.Tensor, shape (m, V + 1, V)
        The fitted logits (detached); ``torch.log_softmax(theta, -1)`` is the log-kernel.
    """
    if not isinstance(counts, torch.Tensor) or not isinstance(prompt_pmf, torch.Tensor):
        raise TypeError("`counts` and `prompt_pmf` must be torch tensors (Torch-only)")
    if counts.ndim != 3 or counts.shape[1] != counts.shape[2] + 1:
        raise ValueError(f"`counts` must have shape (m, V + 1, V), got {tuple(counts.shape)}")
    if not torch.isfinite(counts).all() or (counts < 0).any():
        raise ValueError("`counts` must be finite and non-negative")
    if prompt_pmf.shape != (counts.shape[0],):
        raise ValueError(f"`prompt_pmf` must have shape ({counts.shape[0]},), got {tuple(prompt_pmf.shape)}")
    length = _check_int(length, "length", 1)
    beta = _check_beta(beta)
    if isinstance(pseudo_count, bool) or not (isinstance(pseudo_count, (int, float)) and pseudo_count >= 0):
        raise ValueError(f"`pseudo_count` must be a number >= 0, got {pseudo_count!r}")
    max_iter = _check_int(max_iter, "max_iter", 1)
    c = counts.double() + pseudo_count
    if (c.sum(-1) <= 0).any():
        raise ValueError("every row of `counts` + `pseudo_count` must have a positive total")
    pmf = prompt_pmf.double().to(c.device)
    if theta0 is None:
        th = torch.log(c / c.sum(-1, keepdim=True))
    else:
        th = _check_log_kernel(theta0, tuple(c.shape), "theta0").detach().clone().double()
    th.requires_grad_(True)
    opt = torch.optim.LBFGS([th], lr=1, max_iter=max_iter, line_search_fn="strong_wolfe")
    n_tok = c.sum()

    def closure() -> torch.Tensor:
        opt.zero_grad()
        lk = torch.log_softmax(th, -1)
        loss = -(c * lk).sum() / n_tok
        if beta > 0:
            model = TokenSource(pmf, lk.exp(), length)
            loss = loss + beta * _mutual_information_of_channel(pmf, model.channel()) / length
        loss.backward()
        return loss

    opt.step(closure)
    return th.detach()


# --- the exact toy LLM of Eq. (7) (the chapter *The probabilistic model of an LLM*, §III-A) ---


def _lists_to_numpy(
    values: dict[str, Any],
) -> tuple[dict[str, Any], Any, Any]:
    """Tensors (alone or in lists) as numpy float64/int64; also the first tensor's device and floating dtype."""
    device = None
    dtype = None

    def conv(x: Any) -> Any:
        nonlocal device, dtype
        if isinstance(x, torch.Tensor):
            if device is None:
                device = x.device
            if dtype is None and x.is_floating_point():
                dtype = x.dtype
            return x.detach().cpu().numpy()
        return x

    out = {}
    for name, value in values.items():
        if isinstance(value, (list, tuple)):
            out[name] = [conv(v) for v in value]
        else:
            out[name] = conv(value)
    return out, device, dtype


def _back_to_torch(x: Any, device: Any, dtype: Any) -> Any:
    """A numpy result as a tensor on ``device`` (floating in ``dtype``, float64 if None); ``device`` None: unchanged."""
    if device is None:
        return x
    if isinstance(x, (float, np.floating)) or (isinstance(x, np.ndarray) and x.dtype.kind == "f"):
        return torch.as_tensor(np.asarray(x, dtype=np.float64), device=device).to(dtype or torch.float64)
    return torch.as_tensor(np.ascontiguousarray(x), device=device)


def _check_rows(table: np.ndarray, name: str) -> None:
    if not np.all(np.isfinite(table)) or np.any(table < 0):
        raise ValueError(f"`{name}` must have finite, non-negative entries")
    worst = float(np.abs(table.sum(axis=-1) - 1).max()) if table.size else 0.0
    if worst > 1e-6:
        raise ValueError(f"`{name}` must sum to 1 over its last axis for every context; worst deviation {worst:.3g}")


@numpy_core("logits")
def next_token_law(logits: Any, tau: float = 1.0) -> Any:
    r"""Next-token law :math:`Q_\Phi(u \mid c) = \operatorname{softmax}(\Phi_c / \tau)` of a logit table.

    One row of logits per context :math:`c`, turned into the conditional
    law of the paper's Eq. (7), :math:`P(U_t \mid U_{n+1:t-1}, S_{1:n};
    \Phi)`, by a softmax at temperature :math:`\tau` over the last axis
    (computed stably, the largest logit of each row subtracted first).

    Parameters
    ----------
    logits : array-like or torch.Tensor, shape (..., V)
        Finite logits :math:`\Phi`; the leading axes index the context.
    tau : float, default 1.0
        Temperature :math:`\tau > 0`; :math:`\tau \to 0` tends to greedy
        (argmax) decoding, :math:`\tau \to \infty` to the uniform law.

    Returns
    -------
    array or tensor, shape of ``logits``
        Each row a pmf.

    Raises
    ------
    ValueError
        If ``logits`` is empty, 0-d or not finite, or ``tau`` is not positive and finite.
    TypeError
        If ``tau`` is not a real number.

    Examples
    --------
    >>> next_token_law([0.0, np.log(3.0)]).round(6)
    array([0.25, 0.75])
    >>> next_token_law([0.0, 1.0], tau=1e-3).round(6)
    array([0., 1.])
    """
    tau = _bk.check_positive_real(tau, "tau")
    z = _bk.as_float_array(logits, "logits")
    if z.ndim == 0 or z.size == 0:
        raise ValueError(f"`logits` must have at least one axis and one entry, got shape {z.shape}")
    if not np.all(np.isfinite(z)):
        raise ValueError("`logits` must be finite")
    z = z / tau
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def autoregressive_joint(prompt_conditionals: Any, logits: Any, tau: float = 1.0) -> Any:
    r"""Joint law of prompt and continuation of a tabular LLM, by the chain rule of Eq. (7).

    .. math::

        P(S_{1:n}, U_{n+1:T}) = P(S_{1:n}) \prod_{t=n+1}^{T} Q_\Phi(U_t \mid U_{n+1:t-1}, S_{1:n}),

    the paper's Eq. (7) applied for :math:`t = n+1, \dots, T`, each factor a
    :func:`next_token_law` of one logit table at temperature :math:`\tau`.

    Parameters
    ----------
    prompt_conditionals : sequence of array-like or torch.Tensor
        The prompt law by its own chain rule: ``prompt_conditionals[k]`` has
        ``k + 1`` axes, :math:`P(S_{k+1} \mid S_{1:k})` (as
        :func:`semlib.info.joint_from_conditionals`).
    logits : sequence of array-like or torch.Tensor
        ``logits[j]`` has ``n + j + 1`` axes (``n = len(prompt_conditionals)``):
        the logits of :math:`U_{n+j+1}` for every context
        :math:`(S_{1:n}, U_{n+1:n+j})`.
    tau : float, default 1.0
        Temperature :math:`\tau > 0` of every next-token law.

    Returns
    -------
    array or tensor with ``len(prompt_conditionals) + len(logits)`` axes
        The joint pmf, axes :math:`(S_1, \dots, S_n, U_{n+1}, \dots, U_T)`;
        float64 (numpy), or a tensor on the first tensor's device and dtype.

    Raises
    ------
    ValueError
        If a table has the wrong number of axes or shape, a conditional is
        not a pmf over its last axis, a logit is not finite, or ``tau`` is
        not positive.
    TypeError
        If ``tau`` is not a real number, or the sequences are not sequences.

    Examples
    --------
    A fair one-token prompt and a model that copies it with logit gap 2:

    >>> p = autoregressive_joint([[0.5, 0.5]], [[[2.0, 0.0], [0.0, 2.0]]])
    >>> bool(np.isclose(p[0, 0], 0.5 / (1 + np.exp(-2.0))))
    True
    """
    for name, seq in (("prompt_conditionals", prompt_conditionals), ("logits", logits)):
        if not isinstance(seq, (list, tuple)):
            raise TypeError(f"`{name}` must be a list or tuple of arrays, got {type(seq).__name__}")
    if len(prompt_conditionals) == 0 or len(logits) == 0:
        raise ValueError("`prompt_conditionals` and `logits` must each hold at least one table")
    args, device, dtype = _lists_to_numpy({"prompt_conditionals": prompt_conditionals, "logits": logits})
    n = len(prompt_conditionals)
    tables = []
    for j, lg in enumerate(args["logits"]):
        lg = _bk.as_float_array(lg, f"logits[{j}]")
        if lg.ndim != n + j + 1:
            raise ValueError(f"`logits[{j}]` must have {n + j + 1} axes (context and next token), got {lg.ndim}")
        tables.append(next_token_law(lg, tau))
    prompt = [_bk.as_float_array(c, f"prompt_conditionals[{k}]") for k, c in enumerate(args["prompt_conditionals"])]
    joint = _info.joint_from_conditionals([*prompt, *tables], atol=1e-6)
    return _back_to_torch(joint, device, dtype)


def generate(conditionals: Any, prompts: Any, *, seed: Any = None) -> Any:
    r"""Sample continuations by running the feedback loop of Fig. 1: :math:`U_t \sim Q(\cdot \mid C_t)`, then append.

    The state is the context :math:`C_t = (S_{1:n}, U_{n+1:t-1})`; each
    step draws :math:`U_t` from the conditional of the paper's Eq. (7) at
    that context and appends it, :math:`C_{t+1} = (C_t, U_t)`. All
    sequences of the batch advance together (inverse-CDF sampling, one
    uniform per sequence and step).

    Parameters
    ----------
    conditionals : sequence of array-like or torch.Tensor
        ``conditionals[j]`` has ``n + j + 1`` axes: the law of token
        ``n + j + 1`` given the ``n + j`` tokens before it (rows sum to 1).
    prompts : array-like of int or torch.Tensor, shape (N, n)
        The prompts (``n = 0`` allowed: then the first table is the
        law of the first token and the whole sequence is sampled).
    seed : int, numpy.random.Generator or None
        An int (reproducible), ``None`` (fresh entropy) or a numpy
        generator, used as it is and advanced (``CONTRIBUTING.md``, glossary).

    Returns
    -------
    array or tensor of int64, shape (N, n + len(conditionals))
        The prompts followed by their sampled continuations (a tensor on
        the device of the first tensor argument, if any).

    Raises
    ------
    ValueError
        If ``prompts`` is not 2-d, a token is out of range, a table has the
        wrong number of axes or is not a conditional pmf.
    TypeError
        If ``prompts`` is not integer or ``conditionals`` not a sequence.

    Examples
    --------
    A deterministic copy channel continues every prompt with its own token:

    >>> generate([np.eye(3)], [[0], [2], [1]], seed=0)[:, 1].tolist()
    [0, 2, 1]
    """
    if not isinstance(conditionals, (list, tuple)) or len(conditionals) == 0:
        raise TypeError("`conditionals` must be a non-empty list or tuple of arrays")
    args, device, _ = _lists_to_numpy({"conditionals": conditionals, "prompts": prompts})
    seqs = np.asarray(args["prompts"])
    if seqs.ndim != 2:
        raise ValueError(f"`prompts` must have shape (N, n), got shape {seqs.shape}")
    if seqs.size and not np.issubdtype(seqs.dtype, np.integer):
        raise TypeError(f"`prompts` must hold integer tokens, got dtype {seqs.dtype}")
    seqs = seqs.astype(np.int64)
    rng = _bk.numpy_rng(seed, "seed")
    for j, table in enumerate(args["conditionals"]):
        name = f"conditionals[{j}]"
        table = _bk.as_float_array(table, name)
        if table.ndim != seqs.shape[1] + 1:
            raise ValueError(f"`{name}` must have {seqs.shape[1] + 1} axes (context and next token), got {table.ndim}")
        _check_rows(table, name)
        for a in range(seqs.shape[1]):
            if seqs.shape[0] and (seqs[:, a].min() < 0 or seqs[:, a].max() >= table.shape[a]):
                raise ValueError(f"token {a} of the context is out of range for `{name}` (size {table.shape[a]})")
        rows = table[tuple(seqs.T)] if seqs.shape[1] else np.broadcast_to(table, (seqs.shape[0], table.shape[0]))
        cdf = np.cumsum(rows, axis=-1)
        u = np.asarray(rng.random(seqs.shape[0]))[:, None] * cdf[:, -1:]
        nxt = np.minimum((u >= cdf).sum(axis=-1), table.shape[-1] - 1)
        seqs = np.concatenate([seqs, nxt[:, None]], axis=1)
    return _back_to_torch(seqs, device, None)


@numpy_core("counts")
def ml_code_length(counts: Any) -> Any:
    r"""Code length in nats of counts under their own maximum-likelihood conditional table.

    .. math::

        L = -\sum_{c, u} n(c, u) \log \frac{n(c, u)}{\sum_{u'} n(c, u')},
        \qquad 0 \log 0 = 0,

    the data part :math:`-\log Q_{\hat\Phi}` of the two-part code of the
    book's reading of Remark 1 (Eqs. 8-9), for a table :math:`\hat\Phi`
    fitted to the very counts it codes. Equals :math:`N\, \hat H(U \mid C)`
    with :math:`N` the total count and :math:`\hat H` the empirical
    conditional entropy.

    Parameters
    ----------
    counts : array-like or torch.Tensor, shape (..., V)
        Non-negative counts :math:`n(c, u)`; the last axis is the coded
        symbol, the leading axes the context. Rows with total 0 cost 0.

    Returns
    -------
    float or 0-d tensor
        :math:`L \ge 0` (nats).

    Raises
    ------
    ValueError
        If ``counts`` is 0-d, or has a negative or non-finite entry.

    Examples
    --------
    Two contexts: one always followed by the same symbol (free), one by
    two symbols equally often (1 bit = log 2 nats each):

    >>> round(ml_code_length([[4, 0], [3, 3]]) / math.log(2), 12)
    6.0
    """
    c = _bk.as_float_array(counts, "counts")
    if c.ndim == 0:
        raise ValueError("`counts` must have at least one axis (the coded symbol)")
    if not np.all(np.isfinite(c)) or np.any(c < 0):
        raise ValueError("`counts` must have finite, non-negative entries")
    tot = c.sum(axis=-1, keepdims=True)
    ok = c > 0
    return float(0.0 - np.sum(c[ok] * np.log((c / np.where(tot > 0, tot, 1))[ok])))


class CodeLengths(NamedTuple):
    """Data code lengths (nats) of counts under two maximum-likelihood model classes and the true law."""

    full: float
    window: float
    true: float


@numpy_core("counts", "conditional")
def code_lengths(counts: Any, n_prompt: int, conditional: Any) -> CodeLengths:
    r"""Data parts of the two-part code of counts of (prompt, continuation), three ways.

    For counts :math:`n(s_{1:n}, u_{n+1:T})` of sampled pairs it returns
    the data part :math:`-\log Q` (nats, Remark 1, Eqs. 8-9 read as a
    probabilistic two-part code) under

    * ``full``: the maximum-likelihood fit of the *full-context* class, one
      next-token table per context :math:`(S_{1:n}, U_{n+1:t-1})` (the class
      of Eq. 7): :math:`\sum_t` :func:`ml_code_length` of the counts of
      :math:`(S_{1:n}, U_{n+1:t})`;
    * ``window``: the fit of a *window-1* model, one table
      :math:`Q(u_t \mid u_{t-1})` shared by all steps, the previous token of
      :math:`U_{n+1}` being :math:`S_n`;
    * ``true``: the given conditional law, :math:`-\sum n \log Q`.

    Parameters
    ----------
    counts : array-like or torch.Tensor, shape (V,) * (n + m)
        Non-negative counts, axes :math:`(S_1, \dots, S_n, U_{n+1}, \dots, U_T)`.
    n_prompt : int
        :math:`n \ge 1`, the number of prompt axes (the rest, at least one, are
        the continuation).
    conditional : array-like or torch.Tensor, shape of ``counts``
        :math:`Q(u_{n+1:T} \mid s_{1:n})`, summing to 1 over the continuation
        axes for every prompt.

    Returns
    -------
    CodeLengths
        ``(full, window, true)`` in nats; ``true`` is ``inf`` if a counted
        pair has probability 0. ``full <= true`` always (the ML fit of a class
        containing the law cannot code its own data worse).

    Raises
    ------
    ValueError
        If the axes do not all have one size, ``n_prompt`` leaves no prompt
        or continuation axis, or an entry is negative or not finite.
    TypeError
        If ``n_prompt`` is not an int.

    Examples
    --------
    One prompt token, one continuation token, which copies the prompt:

    >>> c = np.array([[5.0, 0.0], [0.0, 5.0]])
    >>> code_lengths(c, 1, np.eye(2))
    CodeLengths(full=0.0, window=0.0, true=0.0)
    """
    c = _bk.as_float_array(counts, "counts")
    q = _bk.as_float_array(conditional, "conditional")
    n = _check_int(n_prompt, "n_prompt", 1)
    if c.ndim < n + 1:
        raise ValueError(f"`counts` must have more than n_prompt = {n} axes, got {c.ndim}")
    if len(set(c.shape)) != 1:
        raise ValueError(f"`counts` must have one size V on every axis (one vocabulary), got shape {c.shape}")
    if q.shape != c.shape:
        raise ValueError(f"`conditional` must have the shape of `counts` {c.shape}, got {q.shape}")
    if not np.all(np.isfinite(c)) or np.any(c < 0):
        raise ValueError("`counts` must have finite, non-negative entries")
    if not np.all(np.isfinite(q)) or np.any(q < 0):
        raise ValueError("`conditional` must have finite, non-negative entries")
    cont = tuple(range(n, c.ndim))
    worst = float(np.abs(q.sum(axis=cont) - 1).max())
    if worst > 1e-6:
        raise ValueError(f"`conditional` must sum to 1 over the continuation axes; worst deviation {worst:.3g}")
    full = sum(ml_code_length(c.sum(axis=tuple(range(t + 1, c.ndim)))) for t in range(n, c.ndim))
    V = c.shape[0]
    pairs = np.zeros((V, V))  # (previous, next) counts over the continuation steps
    for t in range(n, c.ndim):
        pairs += c.sum(axis=tuple(a for a in range(c.ndim) if a not in (t - 1, t)))
    window = ml_code_length(pairs)
    ok = c > 0
    with np.errstate(divide="ignore"):
        true = float(0.0 - np.sum(c[ok] * np.log(q[ok])))
    return CodeLengths(float(full), float(window), true)
