r"""Other architectures of §V-G: selective state-space models and masked-diffusion LMs.

**State-space models (Mamba).** The paper's Eq. (78) is the discrete SSM

.. math::

    \mathbf h_t = \bar{\mathbf A}_t\mathbf h_{t-1} + \bar{\mathbf B}_t x_t,\qquad
    y_t = \mathbf C_t\mathbf h_t ,

(the paper writes :math:`\mathbf u_t` for the state, :math:`\mathbf s_t` for the
input and a fixed :math:`\mathbf C`). As in Mamba {Gu and Dao 2024}, each of the
``d`` input channels has its own diagonal state of size ``N``; with a step
:math:`\Delta_t>0` and :math:`\mathbf A = -\exp(\mathbf A_{\log})` the
discretisation is :math:`\bar{\mathbf A}_t = \exp(\Delta_t\mathbf A)`,
:math:`\bar{\mathbf B}_t = \Delta_t\mathbf B_t`. In the *LTI* version
:math:`\Delta,\mathbf B,\mathbf C` are fixed; in the *selective* version they are
linear functions of the current input (:math:`\Delta_t` through a softplus).
Unrolling the recursion gives

.. math::

    y_t = \sum_{j\le t}\mathbf A_{tj}\mathbf x_j,\qquad
    \mathbf A_{tj} = \operatorname{diag}_c\Big(\mathbf C_t\Big(\prod_{k=j+1}^{t}\bar{\mathbf A}_{k}\Big)\bar{\mathbf B}_j\Big)_c ,

a linear TV-VAR (Definition 13, Eq. 44) in the query-position convention of
:func:`semlib.tvvar.tvvar_outputs` (``include_current=True``).

**Masked diffusion (LLaDA).** A bidirectional Transformer predicts masked
tokens; the training loss is Eq. (79),

.. math::

    \mathcal L = -\mathbb E_{\tau\sim U(0,1],\,U^\tau}\Big[\frac1\tau\sum_{t=1}^T
    \mathbf 1(U^\tau_t = M)\log P(U^0_t\mid U^\tau_{1:T})\Big],

where every token is masked independently with probability :math:`\tau`.
:func:`diffusion_loss_exact` evaluates its expectation over :math:`\tau` and the
masks in closed form for short sequences; :func:`any_order_nll` gives the
negative log-likelihood it bounds.

Torch in, torch out on the device of the input. Introduced in the chapter
*Other architectures* (``ch-other-architectures``).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from semlib.tvvar import _Block, _check_positive, tvvar_outputs
from semlib.tvvar import _check_tensor as _check_float_tensor

from ._backend import check_int as _check_int
from ._backend import int_seed, torch_core, torch_generator

__all__ = [
    "discretize",
    "ssm_scan",
    "unroll_to_tvvar",
    "ssm_tvvar_outputs",
    "SelectiveSSM",
    "MaskedDiffusionLM",
    "diffusion_loss",
    "diffusion_loss_exact",
    "any_order_nll",
    "train_diffusion",
    "sample_diffusion",
]


# --------------------------------------------------------------------------- SSM (Eq. 78)
@torch_core("delta", "A", "B")
def discretize(delta: torch.Tensor, A: torch.Tensor, B: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Mamba's discretisation :math:`\bar{\mathbf A}=\exp(\Delta\mathbf A)`, :math:`\bar{\mathbf B}=\Delta\mathbf B`.

    Parameters
    ----------
    delta : torch.Tensor, shape (Bt, T, d)
        Positive steps :math:`\Delta_t` per channel.
    A : torch.Tensor, shape (d, N)
        Continuous-time diagonal state matrix per channel (negative entries: stable).
    B : torch.Tensor, shape (Bt, T, N)
        Input matrices :math:`\mathbf B_t`.

    Returns
    -------
    Abar, Bbar : torch.Tensor, shape (Bt, T, d, N)
        The coefficients of Eq. (78) (zero-order hold for :math:`\mathbf A`, Euler for
        :math:`\mathbf B`, as in Mamba's code).
    """
    delta = _check_float_tensor(delta, "delta", 3)
    A = _check_float_tensor(A, "A", 2)
    B = _check_float_tensor(B, "B", 3)
    if (delta <= 0).any():
        raise ValueError("`delta` must be positive")
    if A.shape[0] != delta.shape[-1] or B.shape[-1] != A.shape[1] or B.shape[:2] != delta.shape[:2]:
        raise ValueError(f"shapes do not match: delta {tuple(delta.shape)}, A {tuple(A.shape)}, B {tuple(B.shape)}")
    Abar = torch.exp(delta[..., None] * A)
    Bbar = delta[..., None] * B[:, :, None, :]
    return Abar, Bbar


def _check_ssm(x: Any, Abar: Any, Bbar: Any, C: Any) -> tuple[torch.Tensor, ...]:
    Abar = _check_float_tensor(Abar, "Abar", 4)
    Bbar = _check_float_tensor(Bbar, "Bbar", 4)
    C = _check_float_tensor(C, "C", 3)
    if Bbar.shape != Abar.shape:
        raise ValueError(f"`Bbar` must have the shape of `Abar` {tuple(Abar.shape)}, got {tuple(Bbar.shape)}")
    Bt, T, d, N = Abar.shape
    if C.shape != (Bt, T, N):
        raise ValueError(f"`C` must have shape (B, T, N) = {(Bt, T, N)}, got {tuple(C.shape)}")
    if x is not None:
        x = _check_float_tensor(x, "x", 3)
        if x.shape != (Bt, T, d):
            raise ValueError(f"`x` must have shape (B, T, d) = {(Bt, T, d)}, got {tuple(x.shape)}")
    return x, Abar, Bbar, C


@torch_core("x", "Abar", "Bbar", "C", "h0")
def ssm_scan(
    x: torch.Tensor, Abar: torch.Tensor, Bbar: torch.Tensor, C: torch.Tensor, h0: torch.Tensor | None = None
) -> torch.Tensor:
    r"""Run the SSM of Eq. (78) by a sequential scan: :math:`h_t=\bar A_t h_{t-1}+\bar B_t x_t`, :math:`y_t=C_t h_t`.

    Parameters
    ----------
    x : torch.Tensor, shape (B, T, d)
        Inputs (the paper's :math:`\mathbf s_t`), one scalar per channel.
    Abar, Bbar : torch.Tensor, shape (B, T, d, N)
        Diagonal state transition and input coefficients per channel and time.
    C : torch.Tensor, shape (B, T, N)
        Read-out :math:`\mathbf C_t` (shared by the channels, as in Mamba).
    h0 : torch.Tensor, shape (B, d, N), optional
        Initial state (default zero).

    Returns
    -------
    torch.Tensor, shape (B, T, d)
        Outputs :math:`y_t`; :math:`y_t` depends on :math:`x_{1:t}` only.

    Examples
    --------
    >>> x = torch.ones(1, 3, 1, dtype=torch.float64)
    >>> a = torch.full((1, 3, 1, 1), 0.5, dtype=torch.float64)
    >>> y = ssm_scan(x, a, torch.ones_like(a), torch.ones(1, 3, 1, dtype=torch.float64))
    >>> y[0, :, 0].tolist()                     # 1, 1.5, 1.75
    [1.0, 1.5, 1.75]
    """
    x, Abar, Bbar, C = _check_ssm(x, Abar, Bbar, C)
    Bt, T, d, N = Abar.shape
    h = torch.zeros(Bt, d, N, dtype=x.dtype, device=x.device) if h0 is None else h0
    ys = []
    for t in range(T):
        h = Abar[:, t] * h + Bbar[:, t] * x[:, t, :, None]
        ys.append(torch.einsum("bdn,bn->bd", h, C[:, t]))
    return torch.stack(ys, dim=1)


@torch_core("Abar", "Bbar", "C")
def unroll_to_tvvar(Abar: torch.Tensor, Bbar: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
    r"""The TV-VAR coefficients :math:`\mathbf A_{tj} = \mathbf C_t(\prod_{k=j+1}^{t}\bar{\mathbf A}_k)\bar{\mathbf B}_j` of Eq. (78).

    Parameters
    ----------
    Abar, Bbar : torch.Tensor, shape (B, T, d, N)
    C : torch.Tensor, shape (B, T, N)

    Returns
    -------
    torch.Tensor, shape (B, T, T, d, d)
        ``A[b, t, j]`` is the diagonal :math:`d\times d` matrix with entries
        :math:`\sum_n C_{t,n}\prod_{k=j+1}^t\bar A_{k,c,n}\,\bar B_{j,c,n}` for
        :math:`j\le t`, zero for :math:`j>t`. With
        ``semlib.tvvar.tvvar_outputs(x, A, include_current=True)`` it reproduces
        :func:`ssm_scan` (Definition 13, Eq. 44, in the query-position convention).

    Notes
    -----
    The products are accumulated row by row (:math:`P_{t,j} = \bar A_t P_{t-1,j}`),
    so no logarithms or divisions are taken: exact for any sign of :math:`\bar A`.
    Memory is :math:`O(BT^2dN)`; meant for inspection, not for long sequences.
    """
    _, Abar, Bbar, C = _check_ssm(None, Abar, Bbar, C)
    Bt, T, d, N = Abar.shape
    P = torch.zeros(Bt, T, T, d, N, dtype=Abar.dtype, device=Abar.device)  # P[t, j] = prod_{k=j+1..t} Abar_k
    eye = torch.ones(Bt, d, N, dtype=Abar.dtype, device=Abar.device)
    for t in range(T):
        if t > 0:
            P[:, t, :t] = Abar[:, t, None] * P[:, t - 1, :t]
        P[:, t, t] = eye
    coef = torch.einsum("btjcn,bjcn,btn->btjc", P, Bbar, C)  # scalar per channel
    return torch.diag_embed(coef)


@torch_core("x", "Abar", "Bbar", "C")
def ssm_tvvar_outputs(x: torch.Tensor, Abar: torch.Tensor, Bbar: torch.Tensor, C: torch.Tensor) -> torch.Tensor:
    """Outputs of Eq. (78) computed the TV-VAR way: :func:`unroll_to_tvvar` fed to ``tvvar_outputs``."""
    x, Abar, Bbar, C = _check_ssm(x, Abar, Bbar, C)
    return tvvar_outputs(x, unroll_to_tvvar(Abar, Bbar, C), include_current=True)


class SelectiveSSM(torch.nn.Module):
    r"""A single (S4D-style LTI or Mamba-style selective) SSM layer of Eq. (78), without gates.

    Parameters
    ----------
    d : int
        Number of input channels.
    N : int, default 4
        State size per channel.
    selective : bool, default True
        ``True``: :math:`\Delta_t = \operatorname{softplus}(\mathbf w_\Delta^T\mathbf x_t + b_\Delta)`
        per channel, :math:`\mathbf B_t = \mathbf W_B\mathbf x_t`, :math:`\mathbf C_t = \mathbf W_C\mathbf x_t`.
        ``False``: fixed :math:`\Delta,\mathbf B,\mathbf C` (linear time-invariant).
    seed : int, None or torch.Generator, default 0
        Random state of the initial weights (see CONTRIBUTING.md, glossary).
    dtype : torch.dtype, default float64

    Notes
    -----
    A real Mamba block adds an input projection, a causal convolution, a SiLU
    gate :math:`y\odot\operatorname{SiLU}(z)` and an output projection around this
    layer; those are nonlinear in the input and are not part of Eq. (78).
    """

    def __init__(
        self,
        d: int,
        N: int = 4,
        *,
        selective: bool = True,
        seed: int | torch.Generator | None = 0,
        dtype: torch.dtype = torch.float64,
    ):
        super().__init__()
        self.d = _check_int(d, "d", 1)
        self.N = _check_int(N, "N", 1)
        if not isinstance(selective, bool):
            raise TypeError("`selective` must be a bool")
        self.selective = selective
        g = torch_generator(seed)
        rnd = lambda *s: torch.randn(*s, generator=g, dtype=dtype)
        # S4D-real initialisation A = -(1..N) per channel, as in Mamba
        self.A_log = torch.nn.Parameter(torch.log(torch.arange(1, N + 1, dtype=dtype)).repeat(d, 1))
        self.dt_bias = torch.nn.Parameter(torch.log(torch.expm1(torch.full((d,), 0.3, dtype=dtype))))
        if selective:
            self.W_dt = torch.nn.Parameter(rnd(d, d) * 1.0)
            self.W_B = torch.nn.Parameter(rnd(N, d) / math.sqrt(d))
            self.W_C = torch.nn.Parameter(rnd(N, d) / math.sqrt(d))
        else:
            self.B = torch.nn.Parameter(rnd(N))
            self.C = torch.nn.Parameter(rnd(N))

    def params(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        r"""``(Abar, Bbar, C)`` for the input ``x`` of shape (B, T, d): the coefficients of Eq. (78)."""
        x = _check_float_tensor(x, "x", 3)
        if x.shape[-1] != self.d:
            raise ValueError(f"`x` must have d = {self.d} channels, got {x.shape[-1]}")
        Bt, T, _ = x.shape
        A = -torch.exp(self.A_log)
        if self.selective:
            delta = F.softplus(x @ self.W_dt.T + self.dt_bias)
            B = x @ self.W_B.T
            C = x @ self.W_C.T
        else:
            delta = F.softplus(self.dt_bias).expand(Bt, T, self.d)
            B = self.B.expand(Bt, T, self.N)
            C = self.C.expand(Bt, T, self.N)
        Abar, Bbar = discretize(delta, A, B)
        return Abar, Bbar, C

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Outputs (B, T, d) by the sequential scan :func:`ssm_scan`."""
        Abar, Bbar, C = self.params(x)
        return ssm_scan(x, Abar, Bbar, C)

    def tvvar_coefficients(self, x: torch.Tensor) -> torch.Tensor:
        """The TV-VAR coefficients (B, T, T, d, d) of this layer on input ``x`` (:func:`unroll_to_tvvar`)."""
        return unroll_to_tvvar(*self.params(x))


# --------------------------------------------------------------------------- masked diffusion (Eq. 79)
class MaskedDiffusionLM(torch.nn.Module):
    r"""A small LLaDA-style masked-diffusion LM: a bidirectional Transformer over tokens plus a mask token.

    Same layout as :class:`semlib.tvvar.TinyGPT` (token + position embeddings,
    pre-norm blocks, tied read-out) but attention has **no causal mask** and the
    vocabulary has one extra input token, the mask ``M = vocab`` (never predicted).
    So at equal sizes it has exactly ``d_model`` more parameters than ``TinyGPT``.

    Parameters
    ----------
    vocab : int
        Number of real tokens; the mask id is ``vocab``.
    T : int
        Sequence length.
    d_model, n_heads, n_layers, mlp_ratio, seed, dtype
        As for ``TinyGPT``.
    """

    def __init__(
        self,
        vocab: int,
        T: int,
        *,
        d_model: int = 32,
        n_heads: int = 2,
        n_layers: int = 2,
        mlp_ratio: int = 4,
        seed: int | torch.Generator | None = 0,
        dtype: torch.dtype = torch.float64,
    ):
        super().__init__()
        self.vocab = _check_int(vocab, "vocab", 2)
        self.T = _check_int(T, "T", 1)
        d_model = _check_int(d_model, "d_model", 1)
        n_heads = _check_int(n_heads, "n_heads", 1)
        n_layers = _check_int(n_layers, "n_layers", 1)
        mlp_ratio = _check_int(mlp_ratio, "mlp_ratio", 1)
        if d_model % n_heads:
            raise ValueError(f"`d_model` = {d_model} must be a multiple of `n_heads` = {n_heads}")
        seed = int_seed(seed)
        self.mask_id = vocab
        # seed a private copy of the global CPU generator: the same weights as torch.manual_seed(seed),
        # without resetting the caller's random stream
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(seed)
            self.tok = torch.nn.Embedding(vocab + 1, d_model)
            self.pos = torch.nn.Embedding(T, d_model)
            torch.nn.init.normal_(self.tok.weight, std=0.5)
            torch.nn.init.normal_(self.pos.weight, std=0.5)
            self.blocks = torch.nn.ModuleList(
                [_Block(d_model, n_heads, mlp_ratio, causal=False) for _ in range(n_layers)]
            )
            self.ln_f = torch.nn.LayerNorm(d_model)
        self.to(dtype)

    def _check_ids(self, ids: Any, allow_mask: bool = True) -> torch.Tensor:
        if not isinstance(ids, torch.Tensor) or ids.dtype != torch.long or ids.ndim != 2:
            raise TypeError("`ids` must be a (B, T) tensor of token ids (torch.long)")
        if ids.shape[1] != self.T:
            raise ValueError(f"`ids` must have T = {self.T} positions, got {ids.shape[1]}")
        top = self.vocab if allow_mask else self.vocab - 1
        if ids.min() < 0 or ids.max() > top:
            raise ValueError(f"`ids` must lie in 0..{top}")
        return ids

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits (B, T, vocab) of :math:`P(U^0_t\\mid U^\\tau_{1:T})` at every position (mask id allowed in ``ids``)."""
        ids = self._check_ids(ids)
        x = self.tok(ids) + self.pos(torch.arange(self.T, device=ids.device))
        for blk in self.blocks:
            x = blk(x)
        return self.ln_f(x) @ self.tok.weight[: self.vocab].T

    def num_params(self) -> int:
        """Number of trainable parameters (tied read-out counted once)."""
        return sum(p.numel() for p in self.parameters())


def diffusion_loss(
    model: MaskedDiffusionLM,
    x0: torch.Tensor,
    *,
    seed: int | torch.Generator | None = None,
    tau: torch.Tensor | None = None,
    t_min: float = 1e-3,
) -> torch.Tensor:
    r"""One Monte-Carlo draw of the loss of Eq. (79) per sequence, in nats per token.

    For each row of ``x0`` draw :math:`\tau\sim U(0,1]` (or take ``tau``), mask every
    token independently with probability :math:`\tau`, and return
    :math:`-\frac1{T\tau}\sum_t\mathbf 1(U_t^\tau=M)\log P(U_t^0\mid U^\tau)`.
    The mean over rows is an unbiased estimate of :math:`\mathcal L/T`.

    Parameters
    ----------
    model : MaskedDiffusionLM
    x0 : torch.Tensor of torch.long, shape (B, T)
        Clean sequences (no mask ids).
    seed : int, None or torch.Generator (CPU), default None
        Random state of :math:`\tau` and the masks (see CONTRIBUTING.md, glossary);
        ``None`` draws fresh entropy, a generator is used as is and advanced.
    tau : torch.Tensor, shape (B,), optional
        Fixed masking levels in (0, 1].
    t_min : float, default 1e-3
        :math:`\tau` is drawn from :math:`U(t_{\min}, 1]` to keep the variance of
        :math:`1/\tau` finite (the expectation changes by :math:`O(t_{\min})`); set
        it tiny for an exactly unbiased estimate.

    Returns
    -------
    torch.Tensor, shape (B,)
        Differentiable per-sequence losses.
    """
    if not isinstance(model, MaskedDiffusionLM):
        raise TypeError(f"`model` must be a MaskedDiffusionLM, got {type(model).__name__}")
    x0 = model._check_ids(x0, allow_mask=False)
    t_min = _check_positive(t_min, "t_min")
    if t_min >= 1:
        raise ValueError("`t_min` must be < 1")
    Bsz, T = x0.shape
    dev = x0.device
    generator = torch_generator(seed, "cpu")
    if tau is None:
        tau = t_min + (1 - t_min) * (1 - torch.rand(Bsz, generator=generator, dtype=torch.float64))
    else:
        tau = _check_float_tensor(tau, "tau", 1).double().cpu()
        if tau.shape[0] != Bsz or (tau <= 0).any() or (tau > 1).any():
            raise ValueError("`tau` must have one value in (0, 1] per row of `x0`")
    masked = torch.rand(Bsz, T, generator=generator, dtype=torch.float64) < tau[:, None]
    masked, tau = masked.to(dev), tau.to(dev)
    xt = torch.where(masked, torch.full_like(x0, model.mask_id), x0)
    logp = torch.log_softmax(model(xt), -1).gather(-1, x0[..., None])[..., 0]
    return -(logp * masked).sum(1) / tau.to(logp.dtype) / T


def _masked_logprob(
    model_fn: Callable[[torch.Tensor], torch.Tensor], x0: torch.Tensor, mask_id: int, masks: torch.Tensor
) -> torch.Tensor:
    """log P(x0_t | x0 with `masks` masked) for every mask pattern: (n_masks, T)."""
    xs = torch.where(masks, torch.full_like(masks, mask_id, dtype=torch.long), x0[None])
    return torch.log_softmax(model_fn(xs), -1).gather(-1, x0.expand(len(masks), -1)[..., None])[..., 0]


def diffusion_loss_exact(model: MaskedDiffusionLM, x0: torch.Tensor) -> torch.Tensor:
    r"""The expectation of Eq. (79) over :math:`\tau` and the masks, by enumeration (nats per sequence).

    For a mask set :math:`S` of size :math:`k`, :math:`\int_0^1\tau^{k}(1-\tau)^{T-k}\tau^{-1}d\tau
    = B(k, T-k+1)`, so

    .. math:: \mathcal L(\mathbf x) = \sum_{S\ne\emptyset} B(|S|, T-|S|+1)\sum_{t\in S}-\log P(x_t\mid \mathbf x_{S^c}).

    Parameters
    ----------
    model : MaskedDiffusionLM
    x0 : torch.Tensor of torch.long, shape (B, T), T <= 12

    Returns
    -------
    torch.Tensor, shape (B,)
        The exact loss per sequence (not divided by T).
    """
    if not isinstance(model, MaskedDiffusionLM):
        raise TypeError(f"`model` must be a MaskedDiffusionLM, got {type(model).__name__}")
    x0 = model._check_ids(x0, allow_mask=False)
    T = x0.shape[1]
    if T > 12:
        raise ValueError(f"exact enumeration needs T <= 12, got {T}")
    masks = torch.tensor(list(itertools.product([False, True], repeat=T))[1:], device=x0.device)
    k = masks.sum(1).double()
    w = torch.exp(torch.lgamma(k) + torch.lgamma(T - k + 1) - math.lgamma(T + 1)).to(x0.device)
    out = []
    for row in x0:
        lp = _masked_logprob(model, row, model.mask_id, masks)
        out.append(-(w.to(lp.dtype) * (lp * masks).sum(1)).sum())
    return torch.stack(out)


def any_order_nll(model: MaskedDiffusionLM, x0: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Any-order autoregressive NLLs implied by the mask predictor (enumerating all :math:`T!` orders).

    For an order :math:`\sigma`, :math:`q_\sigma(\mathbf x)=\prod_k P(x_{\sigma_k}\mid\mathbf x_{\sigma_{<k}})`
    (all other positions masked) is a normalised distribution. Returns

    * ``mean_order``: :math:`\mathbb E_\sigma[-\log q_\sigma(\mathbf x)]`, which equals
      :func:`diffusion_loss_exact` (the any-order-AR form of Eq. 79);
    * ``mixture``: :math:`-\log\mathbb E_\sigma q_\sigma(\mathbf x)`, the NLL of the uniform mixture
      over orders, a lower bound of ``mean_order`` by Jensen: Eq. (79) is an upper bound on it.

    Parameters
    ----------
    model : MaskedDiffusionLM
    x0 : torch.Tensor of torch.long, shape (B, T), T <= 7

    Returns
    -------
    mean_order, mixture : torch.Tensor, shape (B,)
    """
    if not isinstance(model, MaskedDiffusionLM):
        raise TypeError(f"`model` must be a MaskedDiffusionLM, got {type(model).__name__}")
    x0 = model._check_ids(x0, allow_mask=False)
    T = x0.shape[1]
    if T > 7:
        raise ValueError(f"enumerating T! orders needs T <= 7, got {T}")
    masks = torch.tensor(list(itertools.product([False, True], repeat=T)), device=x0.device)
    index = {tuple(m.tolist()): i for i, m in enumerate(masks)}
    means, mixes = [], []
    for row in x0:
        lp = _masked_logprob(model, row, model.mask_id, masks)  # (2^T, T)
        per_order = []
        for sigma in itertools.permutations(range(T)):
            m = [True] * T
            total = lp.new_zeros(())
            for pos in sigma:  # reveal sigma in order
                total = total + lp[index[tuple(m)], pos]
                m[pos] = False
            per_order.append(total)
        logq = torch.stack(per_order)
        means.append(-logq.mean())
        mixes.append(-(torch.logsumexp(logq, 0) - math.log(len(logq))))
    return torch.stack(means), torch.stack(mixes)


def train_diffusion(
    model: MaskedDiffusionLM,
    ids: torch.Tensor,
    *,
    steps: int = 300,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int | torch.Generator | None = 0,
    progress: bool = True,
) -> list[float]:
    """Train ``model`` on rows of ``ids`` by the loss of Eq. (79) (nats per token); returns the loss per step.

    Adam with seeded minibatches, masking levels and masks; tqdm progress bar.
    Same optimiser and batches as :func:`semlib.tvvar.train_gpt` for a fair comparison.
    """
    if not isinstance(model, MaskedDiffusionLM):
        raise TypeError(f"`model` must be a MaskedDiffusionLM, got {type(model).__name__}")
    ids = model._check_ids(ids, allow_mask=False)
    steps = _check_int(steps, "steps", 1)
    batch_size = _check_int(batch_size, "batch_size", 1)
    lr = _check_positive(lr, "lr")
    dev = next(model.parameters()).device
    ids = ids.to(dev)
    g = torch_generator(seed)
    gm = g if seed is None or isinstance(seed, torch.Generator) else torch_generator(seed + 1)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for _ in tqdm(range(steps), disable=not progress, desc="MaskedDiffusionLM", leave=False):
        idx = torch.randint(0, ids.shape[0], (min(batch_size, ids.shape[0]),), generator=g).to(dev)
        loss = diffusion_loss(model, ids[idx], seed=gm).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    model.eval()
    return losses


@torch.no_grad()
def sample_diffusion(
    model: MaskedDiffusionLM,
    n: int,
    *,
    steps: int | None = None,
    temperature: float = 1.0,
    seed: int | torch.Generator | None = 0,
) -> torch.Tensor:
    r"""Generate ``n`` sequences by iterative unmasking (the reverse process of LLaDA with random remasking).

    Start from all-mask; at step :math:`s` of ``steps`` (default ``T``: one token per
    forward pass), predict every masked position, and reveal a random subset of
    the still-masked positions so that after the step :math:`\lceil T(1-s/\text{steps})\rceil`
    remain masked. Each revealed token is drawn from ``softmax(logits / temperature)``.

    Returns
    -------
    torch.Tensor of torch.long, shape (n, T)
        Token ids (no mask left). The model is called exactly ``steps`` times.
    """
    if not isinstance(model, MaskedDiffusionLM):
        raise TypeError(f"`model` must be a MaskedDiffusionLM, got {type(model).__name__}")
    n = _check_int(n, "n", 1)
    T = model.T
    steps = T if steps is None else _check_int(steps, "steps", 1)
    if steps > T:
        raise ValueError(f"`steps` must be <= T = {T}, got {steps}")
    temperature = _check_positive(temperature, "temperature")
    dev = next(model.parameters()).device
    g = torch_generator(seed)
    x = torch.full((n, T), model.mask_id, dtype=torch.long, device=dev)
    for s in range(1, steps + 1):
        still = x == model.mask_id
        n_keep = math.ceil(T * (1 - s / steps) - 1e-9)  # masked after this step
        probs = torch.softmax(model(x) / temperature, -1)
        draw = torch.multinomial(probs.reshape(-1, model.vocab).cpu(), 1, generator=g).view(n, T).to(dev)
        score = torch.rand(n, T, generator=g).to(dev).masked_fill(~still, -1.0)
        n_reveal = int(still[0].sum()) - n_keep
        reveal = torch.zeros_like(still)
        reveal.scatter_(1, score.topk(n_reveal, dim=1).indices, True)
        x = torch.where(reveal & still, draw, x)
    return x
