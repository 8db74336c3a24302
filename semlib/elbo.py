r"""The ELBO of the Transformer: a latent-position (latent-alignment) next-token model.

The paper's §V-C (Eqs. 54-67, Theorems 6-7) reads the attention weights
:math:`\pi_{tj}` as the law of a latent position :math:`J\in\{1,\dots,t-1\}`
and the next-token log-likelihood as the marginal of a latent-variable model,

.. math::

    \log P(u_t\mid u_{<t}) = \log\sum_{j=1}^{t-1} P(u_t, j\mid u_{<t}),
    \qquad P(u_t, j\mid u_{<t}) = \pi_{tj}\, p(u_t\mid u_j)

(Eq. 60, first line), whose evidence lower bound for any :math:`Q(J)` is

.. math::

    \mathrm{ELBO}(Q) = \mathbb E_{J\sim Q}\{\log p(u_t\mid u_J)\}
    - D_{KL}(Q\,\|\,\pi_t) = \log P(u_t\mid u_{<t}) - D_{KL}(Q\,\|\,P(J\mid u_t, u_{<t}))

(Eq. 66 written for training). Soft attention (Eq. 54) is a different model:
it puts the expectation over :math:`J` *inside* the softmax,
:math:`\operatorname{softmax}(\sum_j\pi_{tj}\boldsymbol\ell_j)` instead of
:math:`\sum_j\pi_{tj}\operatorname{softmax}(\boldsymbol\ell_j)`. Both are
bounded below by :math:`\mathrm{ELBO}(\pi_t)`; for soft attention the gap is the
Jensen gap of log-sum-exp, which does not depend on the target token.

Conventions
-----------
* Everything works on the last axis: ``log_prior`` and ``log_emission`` have
  shape ``(..., K)`` over the ``K`` candidate positions; impossible positions
  carry ``log_prior = -inf`` (e.g. the causal mask). Logits have shape
  ``(..., K, V)``.
* Positions are 0-based as in :mod:`semlib.tvvar`: query ``i`` (the paper's
  :math:`t-1`) predicts the token at ``i + 1`` from keys ``j = 0..i``.
* Tokens are one-hot, :math:`\tilde{\mathbf u}_{1:N} = \mathbf I`, :math:`\Xi = 1`,
  so the logits of key ``j`` are the column ``A[:, u_j]`` and the scores are
  ``B[u_i, u_j]`` (Eq. 53).
* Float64 throughout; torch in, torch out on the same device.

Introduced in the chapter ``ch-elbo`` ("The ELBO of the Transformer").
"""

from __future__ import annotations

import math
from typing import Any, Literal, NamedTuple

import numpy as np
import torch
from tqdm.auto import tqdm

from ._backend import check_int as _int
from ._backend import torch_core, torch_generator

__all__ = [
    "marginal_loglik",
    "posterior",
    "kl_categorical",
    "elbo",
    "elbo_eq61_literal",
    "mixture_logprobs",
    "soft_attention_logprobs",
    "jensen_gap",
    "categorical_entropy",
    "paired_difference",
    "ElboPath",
    "elbo_path",
    "LatentAlignmentLM",
    "sample_alignment_source",
    "train_alignment",
]

Objective = Literal["mixture", "soft", "elbo"]


# --------------------------------------------------------------------------- validation
def _tensor(x: Any, name: str, min_ndim: int = 1) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"`{name}` must be a torch tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"`{name}` must be a floating-point tensor, got {x.dtype}")
    if x.ndim < min_ndim:
        raise ValueError(f"`{name}` must have at least {min_ndim} dimensions, got shape {tuple(x.shape)}")
    if torch.isnan(x).any():
        raise ValueError(f"`{name}` contains NaN")
    return x


def _norm_tol(x: torch.Tensor) -> float:
    """Tolerance of a normalisation check: 1e-8, or 64 ulps of ``x``'s dtype (float32: 7.6e-6)."""
    return max(1e-8, 64 * torch.finfo(x.dtype).eps)


def _log_pmf(x: Any, name: str) -> torch.Tensor:
    x = _tensor(x, name)
    if (x > 1e-9).any():
        raise ValueError(f"`{name}` must be log-probabilities (<= 0)")
    tot = torch.logsumexp(x, -1)
    if (tot.abs() > _norm_tol(x)).any():
        raise ValueError(f"`{name}` must be normalised over the last axis (logsumexp = 0), worst {tot.abs().max():.2e}")
    return x


def _pmf(x: Any, name: str) -> torch.Tensor:
    x = _tensor(x, name)
    if (x < 0).any() or ((x.sum(-1) - 1).abs() > _norm_tol(x)).any():
        raise ValueError(f"`{name}` must be non-negative and sum to 1 over the last axis")
    return x


def _same_shape(a: torch.Tensor, b: torch.Tensor, na: str, nb: str) -> None:
    if a.shape != b.shape:
        raise ValueError(f"`{na}` and `{nb}` must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}")


def _xlogy_ratio(log_q: torch.Tensor, other: torch.Tensor) -> torch.Tensor:
    """:math:`\\sum q\\,(\\text{other})` with the convention 0 * anything = 0."""
    q = log_q.exp()
    return torch.where(q > 0, q * other, torch.zeros_like(other)).sum(-1)


# --------------------------------------------------------------------------- the latent-position model
@torch_core("log_prior", "log_emission")
def marginal_loglik(log_prior: torch.Tensor, log_emission: torch.Tensor) -> torch.Tensor:
    r"""Exact log-likelihood :math:`\log\sum_j \pi_{tj}\,p(u_t\mid u_j)` (Eq. 60, first line; Eq. 64).

    Parameters
    ----------
    log_prior : (..., K) tensor
        :math:`\log\pi_{tj}`, normalised over the last axis; ``-inf`` marks positions with
        no mass (Eq. 55: only :math:`j\le t-1` carries probability).
    log_emission : (..., K) tensor
        :math:`\log p(u_t\mid J=j)` of the observed target under each position.

    Returns
    -------
    (...) tensor
        :math:`\log P(u_t\mid u_{<t})` in nats.
    """
    log_prior = _log_pmf(log_prior, "log_prior")
    log_emission = _tensor(log_emission, "log_emission")
    _same_shape(log_prior, log_emission, "log_prior", "log_emission")
    return torch.logsumexp(log_prior + log_emission, -1)


@torch_core("log_prior", "log_emission")
def posterior(log_prior: torch.Tensor, log_emission: torch.Tensor) -> torch.Tensor:
    r"""Log of the exact posterior :math:`P(J=j\mid u_t,u_{<t}) = \pi_{tj}p(u_t\mid u_j)/\sum_i\pi_{ti}p(u_t\mid u_i)`.

    The variational :math:`Q` at which the bound of Eq. (60) is tight. Same shapes as
    :func:`marginal_loglik`; returns log-probabilities of shape ``(..., K)``.
    """
    lj = log_prior + log_emission
    return lj - marginal_loglik(log_prior, log_emission)[..., None]


@torch_core("log_q", "log_p")
def kl_categorical(log_q: torch.Tensor, log_p: torch.Tensor) -> torch.Tensor:
    r""":math:`D_{KL}(Q\|P) = \sum_j Q_j(\log Q_j - \log P_j)` over the last axis (the KL terms of Eqs. 61, 66).

    Terms with :math:`Q_j = 0` contribute 0; :math:`Q_j > 0 = P_j` gives ``inf``.
    """
    log_q = _log_pmf(log_q, "log_q")
    log_p = _log_pmf(log_p, "log_p")
    _same_shape(log_q, log_p, "log_q", "log_p")
    return _xlogy_ratio(log_q, log_q - log_p)


@torch_core("log_q", "log_prior", "log_emission")
def elbo(log_q: torch.Tensor, log_prior: torch.Tensor, log_emission: torch.Tensor) -> torch.Tensor:
    r"""The evidence lower bound for a variational :math:`Q(J)` (Eqs. 60, 66).

    .. math::

        \mathrm{ELBO}(Q) = \mathbb E_{Q}\Big\{\log\frac{\pi_{tJ}\,p(u_t\mid u_J)}{Q(J)}\Big\}
        = \mathbb E_{Q}\{\log p(u_t\mid u_J)\} - D_{KL}(Q\,\|\,\pi_t),

    and :math:`\log P(u_t\mid u_{<t}) - \mathrm{ELBO}(Q) = D_{KL}(Q\,\|\,P(J\mid u_t,u_{<t}))\ge 0`.

    Parameters
    ----------
    log_q, log_prior, log_emission : (..., K) tensors
        Log of :math:`Q`, log of the prior :math:`\pi_t` and :math:`\log p(u_t\mid u_j)`.

    Returns
    -------
    (...) tensor, nats. ``-inf`` if :math:`Q` puts mass where the prior has none.
    """
    log_q = _log_pmf(log_q, "log_q")
    log_prior = _log_pmf(log_prior, "log_prior")
    log_emission = _tensor(log_emission, "log_emission")
    _same_shape(log_q, log_prior, "log_q", "log_prior")
    _same_shape(log_q, log_emission, "log_q", "log_emission")
    return _xlogy_ratio(log_q, log_emission + log_prior - log_q)


@torch_core("log_q", "log_prior", "log_emission")
def elbo_eq61_literal(log_q: torch.Tensor, log_prior: torch.Tensor, log_emission: torch.Tensor) -> torch.Tensor:
    r"""Eq. (61) as printed: :math:`\mathbb E_Q\{\log P(u_t, J\mid\cdot)\} - D_{KL}(Q\,\|\,\pi_t)`.

    The joint :math:`\log P(u_t, J) = \log\pi_{tJ} + \log p(u_t\mid u_J)` already contains the
    prior, so the printed form counts it twice: it equals :func:`elbo` minus the cross-entropy
    :math:`-\mathbb E_Q\log\pi_{tJ}\ (\ge 0)`. Kept to measure the slip; use :func:`elbo`.
    """
    e = elbo(log_q, log_prior, log_emission)
    return e + _xlogy_ratio(log_q, log_prior)


# --------------------------------------------------------------------------- soft attention vs the mixture
def _pi_logits(pi: Any, logits: Any) -> tuple[torch.Tensor, torch.Tensor]:
    pi = _pmf(pi, "pi")
    logits = _tensor(logits, "logits", 2)
    if logits.shape[:-1] != pi.shape:
        raise ValueError(
            f"`logits` must have shape pi.shape + (V,) = {tuple(pi.shape)} + (V,), got {tuple(logits.shape)}"
        )
    if not torch.isfinite(logits).all():
        raise ValueError("`logits` must be finite")
    return pi, logits


@torch_core("pi", "logits")
def mixture_logprobs(pi: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    r"""Next-token log-pmf of the latent-position model, :math:`\log\sum_j\pi_{tj}\operatorname{softmax}(\boldsymbol\ell_j)`.

    The marginal over :math:`J` of Eq. (60), for every candidate token at once.

    Parameters
    ----------
    pi : (..., K) tensor
        :math:`\pi_{tj}` (Eq. 55), rows summing to 1.
    logits : (..., K, V) tensor
        :math:`\boldsymbol\ell_j = \tfrac1\Xi\tilde{\mathbf u}_{1:N}^T\mathbf A\mathbf u_j` per position.

    Returns
    -------
    (..., V) tensor of log-probabilities.
    """
    pi, logits = _pi_logits(pi, logits)
    return torch.logsumexp(torch.log(pi)[..., None] + torch.log_softmax(logits, -1), -2)


@torch_core("pi", "logits")
def soft_attention_logprobs(pi: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    r"""Soft attention's next-token log-pmf :math:`\log\operatorname{softmax}(\sum_j\pi_{tj}\boldsymbol\ell_j)` (Eq. 54).

    The expectation over :math:`J\sim Q=\pi_t` is taken *inside* the softmax
    (by linearity, :math:`\mathbb E_J\{\mathbf A\mathbf u_J\}` then the read-out). Shapes as in
    :func:`mixture_logprobs`.
    """
    pi, logits = _pi_logits(pi, logits)
    return torch.log_softmax((pi[..., None] * logits).sum(-2), -1)


@torch_core("pi", "logits")
def jensen_gap(pi: torch.Tensor, logits: torch.Tensor) -> torch.Tensor:
    r"""The Jensen gap of log-sum-exp, :math:`G = \sum_j\pi_{tj}\,\mathrm{lse}(\boldsymbol\ell_j) - \mathrm{lse}(\sum_j\pi_{tj}\boldsymbol\ell_j)\ge 0`.

    For every target token :math:`u`,

    .. math:: \log\operatorname{softmax}(\textstyle\sum_j\pi_{tj}\boldsymbol\ell_j)_u
              = \mathrm{ELBO}(\pi_t;u) + G,

    with :math:`\mathrm{ELBO}(\pi_t;u) = \sum_j\pi_{tj}\log\operatorname{softmax}(\boldsymbol\ell_j)_u`
    the bound of Eq. (60) at :math:`Q = \pi_t` (Eq. 55). :math:`G` does not depend on :math:`u`.
    Returns shape ``(...)``.
    """
    pi, logits = _pi_logits(pi, logits)
    return (pi * torch.logsumexp(logits, -1)).sum(-1) - torch.logsumexp((pi[..., None] * logits).sum(-2), -1)


@torch_core("log_p")
def categorical_entropy(log_p: torch.Tensor) -> torch.Tensor:
    r"""Entropy in nats of categorical laws given by their log-probabilities (the last axis).

    .. math::

        H(\pi) = -\sum_j \pi_j\log\pi_j ,

    with :math:`0\log 0 = 0`, so masked positions (``-inf``, the future of Eq. 45) count zero.
    In the chapter: the sharpness of the attention prior :math:`\pi_t` of Eq. (55) under the
    models fitted by likelihood and by the ELBO. Book: chapter *The ELBO of the Transformer*
    (``05_autoregressive/elbo``).

    Parameters
    ----------
    log_p : array-like or torch.Tensor, shape (..., K)
        Log-probabilities summing (in probability) to 1 over the last axis.

    Returns
    -------
    float or 0-d tensor (one law), array of shape (...) otherwise; the backend of ``log_p``

    Raises
    ------
    TypeError, ValueError
        If ``log_p`` is not a floating tensor of log-pmfs.

    Examples
    --------
    >>> abs(categorical_entropy([0.0, -float("inf")])), round(categorical_entropy([math.log(0.5)] * 2), 6)
    (0.0, 0.693147)
    """
    lp = _log_pmf(log_p, "log_p")
    return -_xlogy_ratio(lp, lp) + 0.0  # + 0.0 turns -0.0 into 0.0


def paired_difference(a: Any, b: Any) -> tuple[float, float]:
    r"""Mean of the paired differences :math:`a_i - b_i` and its standard error.

    .. math::

        \bar d = \frac1n\sum_i (a_i - b_i), \qquad \mathrm{se} = \frac{s_d}{\sqrt n},

    with :math:`s_d` the sample standard deviation (:math:`n - 1` in the denominator). The
    pairs must be independent across :math:`i` (in the chapter: two models scored on the same
    independent test sequences), which is what makes the standard error of the paired
    difference far smaller than that of either mean. Book: chapter *The ELBO of the
    Transformer* (``05_autoregressive/elbo``).

    Parameters
    ----------
    a, b : array-like or torch.Tensor, shape (n,), n >= 2
        The two measurements of each pair.

    Returns
    -------
    (float, float)
        The mean difference and its standard error, as Python floats for either backend
        (diagnostic numbers quoted by the chapter).

    Raises
    ------
    ValueError
        If the shapes differ, are not one-dimensional with n >= 2, or hold non-finite values.

    Examples
    --------
    >>> paired_difference([1.0, 2.0, 3.0], [0.0, 1.0, 2.0])
    (1.0, 0.0)
    """
    arrs = []
    for name, v in (("a", a), ("b", b)):
        x = v.detach().cpu().double().numpy() if isinstance(v, torch.Tensor) else np.asarray(v, dtype=np.float64)
        if x.ndim != 1 or x.size < 2:
            raise ValueError(f"`{name}` must be one-dimensional with at least 2 entries, got shape {x.shape}")
        if not np.isfinite(x).all():
            raise ValueError(f"`{name}` must be finite")
        arrs.append(x)
    if arrs[0].shape != arrs[1].shape:
        raise ValueError(f"`a` and `b` must have the same shape, got {arrs[0].shape} and {arrs[1].shape}")
    d = arrs[0] - arrs[1]
    return float(d.mean()), float(d.std(ddof=1) / math.sqrt(d.size))


class ElboPath(NamedTuple):
    """The ELBO along the path from the prior to the posterior at one context (:func:`elbo_path`)."""

    elbo: np.ndarray  #: ELBO(Q_lambda) per lambda, nats
    kl: np.ndarray  #: KL(Q_lambda || posterior) per lambda, nats
    loglik: float  #: the log-likelihood of the mixture, Eq. (60)
    soft: float  #: log p of the target under soft attention with the same pi and logits, Eq. (54)
    prior: np.ndarray  #: pi_t over the positions j <= query
    posterior: np.ndarray  #: the posterior of J over the same positions


def elbo_path(model: Any, ids: torch.Tensor, seq: int, query: int, tau: float, lams: Any) -> ElboPath:
    r"""The ELBO of the variational laws between the prior :math:`\pi_t` and the posterior.

    At one context (sequence ``seq``, query ``query``) of a :class:`LatentAlignmentLM`, with
    prior :math:`\pi` and posterior :math:`\rho` of the latent position :math:`J`, take
    :math:`Q_\lambda\propto\pi^{1-\lambda}\rho^{\lambda}` and return
    :math:`\mathrm{ELBO}(Q_\lambda)` (Eq. 66) and :math:`\mathrm{KL}(Q_\lambda\,\Vert\,\rho)`; their
    sum is the log-likelihood for every :math:`\lambda` (Eq. 60), and :math:`\lambda = 1` attains
    it. Torch-only (a function of a model). Book: chapter *The ELBO of the Transformer*
    (``05_autoregressive/elbo``).

    Parameters
    ----------
    model : LatentAlignmentLM
    ids : torch.Tensor of int, shape (n, T)
        Token sequences.
    seq : int
        Which sequence, ``0 <= seq < n``.
    query : int
        Which query, ``0 <= query <= T - 2`` (it predicts token ``query + 1``).
    tau : float > 0
        Temperature of the scores (:meth:`LatentAlignmentLM.parts`).
    lams : array-like of float in [0, 1]
        The path parameters :math:`\lambda`.

    Returns
    -------
    ElboPath
        numpy arrays and Python floats.

    Raises
    ------
    TypeError
        If ``model`` is not a :class:`LatentAlignmentLM` or ``ids`` is not a tensor.
    ValueError
        If ``seq`` or ``query`` is out of range or a :math:`\lambda` lies outside [0, 1].
    """
    if not isinstance(model, LatentAlignmentLM):
        raise TypeError(f"`model` must be a LatentAlignmentLM, got {type(model).__name__}")
    if not isinstance(ids, torch.Tensor):
        raise TypeError(f"`ids` must be a torch tensor, got {type(ids).__name__}")
    lam_arr = np.asarray(lams, dtype=np.float64).reshape(-1)
    if not ((lam_arr >= 0) & (lam_arr <= 1)).all():
        raise ValueError("`lams` must lie in [0, 1]")
    n, T = ids.shape
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < n:
        raise ValueError(f"`seq` must be an int in [0, {n}), got {seq!r}")
    if isinstance(query, bool) or not isinstance(query, int) or not 0 <= query <= T - 2:
        raise ValueError(f"`query` must be an int in [0, {T - 2}], got {query!r}")
    with torch.no_grad():
        P_ = model.parts(ids[seq : seq + 1], tau)
        lp_, le_ = P_["log_prior"][0, query, : query + 1], P_["log_emission"][0, query, : query + 1]
        lpost = posterior(lp_, le_)
        out = []
        for lam in lam_arr:
            lq = torch.log_softmax((1 - lam) * lp_ + lam * lpost, -1)
            out.append((elbo(lq, lp_, le_).item(), kl_categorical(lq, lpost).item()))
        lg_ = P_["logits"][0, query, : query + 1]
        soft = soft_attention_logprobs(lp_.exp(), lg_)[P_["targets"][0, query]].item()
        vals = np.array(out).reshape(-1, 2)
        return ElboPath(
            elbo=vals[:, 0],
            kl=vals[:, 1],
            loglik=marginal_loglik(lp_, le_).item(),
            soft=soft,
            prior=lp_.exp().cpu().numpy(),
            posterior=lpost.exp().cpu().numpy(),
        )


# --------------------------------------------------------------------------- a trainable model and a source
class LatentAlignmentLM(torch.nn.Module):
    r"""One-hot latent-alignment language model with the parameters :math:`\{\mathbf A,\mathbf B\}` of Eqs. (53)-(55).

    Query ``i`` (the paper's :math:`t-1`) predicts token ``i+1`` from keys ``j = 0..i``:

    * prior :math:`\pi_{ij} = \operatorname{softmax}_j(\mathbf B[u_i, u_j]/\tau)` (Eqs. 47, 53 with one-hot tokens);
    * emission logits :math:`\boldsymbol\ell_j = \mathbf A[:, u_j]` (:math:`\tilde{\mathbf u}=\mathbf I`, :math:`\Xi=1`).

    Parameters
    ----------
    vocab : int
        Vocabulary size :math:`V`.
    A, B : (V, V) tensors, optional
        Initial values (random :math:`\mathcal N(0, 0.1^2)` with ``seed`` otherwise).
    seed : int, None or torch.Generator, default 0
        Random state (see CONTRIBUTING.md, glossary).
    """

    def __init__(
        self,
        vocab: int,
        *,
        A: torch.Tensor | None = None,
        B: torch.Tensor | None = None,
        seed: int | torch.Generator | None = 0,
    ):
        super().__init__()
        self.vocab = _int(vocab, "vocab", 2)
        g = torch_generator(seed)
        init = {}
        for name, M in (("A", A), ("B", B)):
            if M is None:
                M = 0.1 * torch.randn(vocab, vocab, generator=g, dtype=torch.float64)
            else:
                M = _tensor(M, name, 2)
                if M.shape != (vocab, vocab):
                    raise ValueError(f"`{name}` must have shape ({vocab}, {vocab}), got {tuple(M.shape)}")
            init[name] = M.detach().clone().to(torch.float64)
        self.A = torch.nn.Parameter(init["A"])
        self.B = torch.nn.Parameter(init["B"].to(init["A"].device))

    def _ids(self, ids: Any) -> torch.Tensor:
        if not isinstance(ids, torch.Tensor) or ids.dtype not in (torch.int64, torch.int32):
            raise TypeError("`ids` must be an integer torch tensor")
        if ids.ndim != 2 or ids.shape[1] < 2:
            raise ValueError(f"`ids` must have shape (n, T) with T >= 2, got {tuple(ids.shape)}")
        if (ids < 0).any() or (ids >= self.vocab).any():
            raise ValueError(f"`ids` must lie in 0..{self.vocab - 1}")
        return ids.long().to(self.A.device)

    def parts(self, ids: torch.Tensor, tau: float = 1.0) -> dict[str, torch.Tensor]:
        r"""All the pieces for queries ``i = 0..T-2``.

        Returns a dict with ``log_prior`` (n, T-1, T) (``-inf`` for ``j > i``), ``logits``
        (n, T-1, T, V) (the same :math:`\boldsymbol\ell_j` for every query), ``log_emission``
        (n, T-1, T) = :math:`\log\operatorname{softmax}(\boldsymbol\ell_j)_{u_{i+1}}` and ``targets`` (n, T-1).
        """
        ids = self._ids(ids)
        if not (isinstance(tau, (int, float)) and tau > 0 and math.isfinite(tau)):
            raise ValueError(f"`tau` must be a positive number, got {tau!r}")
        n, T = ids.shape
        q, tgt = ids[:, :-1], ids[:, 1:]
        scores = self.B[q[:, :, None], ids[:, None, :]] / tau  # (n, T-1, T)
        mask = torch.ones(T - 1, T, dtype=torch.bool, device=ids.device).tril()
        log_prior = torch.log_softmax(scores.masked_fill(~mask, float("-inf")), -1)
        key_logits = self.A.T[ids]  # (n, T, V)
        key_logp = torch.log_softmax(key_logits, -1)
        log_em = key_logp.gather(-1, tgt[:, None, :].expand(n, T, T - 1)).transpose(1, 2)  # (n, T-1, T)
        logits = key_logits[:, None].expand(n, T - 1, T, self.vocab)
        return {"log_prior": log_prior, "logits": logits, "log_emission": log_em, "targets": tgt}

    def token_loglik(self, ids: torch.Tensor, kind: Objective = "mixture", tau: float = 1.0) -> torch.Tensor:
        r"""Per-token log-likelihood (n, T-1) under ``kind``.

        ``"mixture"``: the marginal of Eq. (60); ``"soft"``: soft attention, Eq. (54);
        ``"elbo"``: :math:`\mathrm{ELBO}(Q=\pi_t)=\sum_j\pi_{tj}\log p(u_t\mid u_j)` (Eq. 66 with Eq. 55).
        """
        p = self.parts(ids, tau)
        lp, le = p["log_prior"], p["log_emission"]
        if kind == "mixture":
            return torch.logsumexp(lp + le, -1)
        if kind == "elbo":
            return torch.where(lp > float("-inf"), lp.exp() * le, torch.zeros_like(le)).sum(-1)
        if kind == "soft":
            mixed = torch.einsum("nij,njv->niv", lp.exp(), self.A.T[self._ids(ids)])
            return torch.log_softmax(mixed, -1).gather(-1, p["targets"][..., None])[..., 0]
        raise ValueError(f"`kind` must be 'mixture', 'soft' or 'elbo', got {kind!r}")


def sample_alignment_source(
    model: LatentAlignmentLM, n: int, T: int, *, seed: int | torch.Generator | None = 0
) -> torch.Tensor:
    r"""Sample ``n`` sequences of length ``T`` from the latent-position model itself (a source of known law).

    :math:`u_0` is uniform; for :math:`i\ge 0`, draw :math:`J\sim\pi_{i\cdot}` over keys ``0..i``,
    then :math:`u_{i+1}\sim\operatorname{softmax}(\mathbf A[:, u_J])`. The exact per-token
    log-likelihood of every sample is ``model.token_loglik(ids, "mixture")``, so the source's
    entropy rate is estimated without model error.
    """
    if not isinstance(model, LatentAlignmentLM):
        raise TypeError(f"`model` must be a LatentAlignmentLM, got {type(model).__name__}")
    n, T = _int(n, "n", 1), _int(T, "T", 2)
    g = torch_generator(seed)
    A, B = model.A.detach().cpu(), model.B.detach().cpu()
    ids = torch.zeros(n, T, dtype=torch.long)
    ids[:, 0] = torch.randint(0, model.vocab, (n,), generator=g)
    emit = torch.softmax(A.T, -1)  # row v: pmf of the next token given key v
    rows = torch.arange(n)
    for i in range(T - 1):
        pi = torch.softmax(B[ids[:, i][:, None], ids[:, : i + 1]], -1)  # (n, i+1)
        J = torch.multinomial(pi, 1, generator=g)[:, 0]
        ids[:, i + 1] = torch.multinomial(emit[ids[rows, J]], 1, generator=g)[:, 0]
    return ids.to(model.A.device)


def train_alignment(
    model: LatentAlignmentLM,
    ids: torch.Tensor,
    objective: Objective = "mixture",
    *,
    steps: int = 300,
    batch_size: int = 128,
    lr: float = 0.05,
    lr_schedule: Literal["constant", "cosine"] = "constant",
    seed: int | torch.Generator | None = 0,
    progress: bool = True,
) -> list[float]:
    r"""Fit ``{A, B}`` by maximising ``objective`` (mean per-token, nats) with Adam; returns the loss per step.

    ``"mixture"`` maximises the exact log-likelihood (Eq. 59 for the latent-position model),
    ``"soft"`` the log-likelihood of soft attention (Eq. 57, cross-entropy minimised),
    ``"elbo"`` the bound :math:`\mathrm{ELBO}(Q=\pi_t)` that Theorem 6 (Eq. 56) names.
    The loss recorded is the negative objective.

    With a constant learning rate, minibatch noise keeps the fit a fixed distance from the
    optimum however many tokens there are; ``lr_schedule="cosine"`` anneals the rate from
    ``lr`` to 0 over the ``steps`` (cosine), so the fit approaches the optimum of the objective
    on ``ids``.
    """
    if not isinstance(model, LatentAlignmentLM):
        raise TypeError(f"`model` must be a LatentAlignmentLM, got {type(model).__name__}")
    if objective not in ("mixture", "soft", "elbo"):
        raise ValueError(f"`objective` must be 'mixture', 'soft' or 'elbo', got {objective!r}")
    ids = model._ids(ids)
    steps, batch_size = _int(steps, "steps", 1), _int(batch_size, "batch_size", 1)
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"`lr` must be positive, got {lr!r}")
    if lr_schedule not in ("constant", "cosine"):
        raise ValueError(f"`lr_schedule` must be 'constant' or 'cosine', got {lr_schedule!r}")
    g = torch_generator(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps) if lr_schedule == "cosine" else None
    losses = []
    for _ in tqdm(range(steps), disable=not progress, desc=f"fit ({objective})", leave=False):
        idx = torch.randint(0, ids.shape[0], (min(batch_size, ids.shape[0]),), generator=g).to(ids.device)
        loss = -model.token_loglik(ids[idx], objective).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        if sched is not None:
            sched.step()
        losses.append(float(loss.detach()))
    return losses
