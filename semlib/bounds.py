r"""Generalization bounds for next-token prediction: Theorem 8 of the paper, term by term, and a correct bound.

Section V-D of the paper bounds the test cross-entropy of a Transformer at one
position :math:`t` by the training cross-entropy over :math:`M` samples, a
Rademacher term and a concentration term (Theorem 8, Eqs. (68)-(75)). This
module evaluates every printed term on given logits, estimates empirical
Rademacher complexities (Monte Carlo over sign vectors, and in closed form for
a norm-bounded linear read-out), and provides a bound that is valid for the
(unbounded) cross-entropy: the model's probabilities are mixed with the uniform
law at weight :math:`\gamma`, so that the loss lies in :math:`[0, \log(V/\gamma)]`,
and Mohri et al.'s Theorem 3.3 (which needs a loss in :math:`[0,1]`) is applied
to the loss divided by that range.

Introduced in the chapter ``ch-generalization`` (chapters/05_autoregressive/generalization.ipynb).

All functions take torch tensors and return torch tensors (or Python floats for
scalars) on the device of the input; computations are done in float64.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch

from ._backend import check_int as _check_int
from ._backend import torch_core, torch_generator

__all__ = [
    "hbar_logits",
    "per_sample_loss",
    "empirical_loss",
    "printed_rademacher_term",
    "printed_concentration_term",
    "PrintedBound",
    "printed_bound",
    "mcdiarmid_term",
    "rademacher_finite",
    "massart_bound",
    "rademacher_linear",
    "smoothed_probs",
    "smoothed_loss",
    "smoothed_loss_range",
    "smoothed_lipschitz",
    "CorrectedBound",
    "corrected_bound",
    "fit_readout",
    "last_logits",
    "last_features",
    "shift_logits",
    "MemoriserTrial",
    "memoriser_trial",
]


# --------------------------------------------------------------------------- validation
def _check_logits_targets(logits: Any, targets: Any) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2:
        raise TypeError("`logits` must be a (M, V) torch tensor")
    if not isinstance(targets, torch.Tensor) or targets.ndim != 1 or targets.dtype != torch.long:
        raise TypeError("`targets` must be a (M,) torch tensor of token ids (torch.long)")
    if logits.shape[0] != targets.shape[0]:
        raise ValueError(f"`logits` has {logits.shape[0]} rows but `targets` has {targets.shape[0]}")
    if logits.shape[0] < 1 or logits.shape[1] < 2:
        raise ValueError("`logits` needs at least one row and two columns")
    if targets.min() < 0 or targets.max() >= logits.shape[1]:
        raise ValueError(f"`targets` must lie in 0..{logits.shape[1] - 1}")
    if not torch.isfinite(logits).all():
        raise ValueError("`logits` must be finite")
    return logits.double(), targets.to(logits.device)


def _check_open_unit(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"`{name}` must be a number, got {type(value).__name__}")
    if not 0.0 < float(value) < 1.0:
        raise ValueError(f"`{name}` must lie in (0, 1), got {value}")
    return float(value)


def _check_nonneg(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"`{name}` must be a number, got {type(value).__name__}")
    if not (float(value) >= 0.0 and math.isfinite(float(value))):
        raise ValueError(f"`{name}` must be finite and >= 0, got {value}")
    return float(value)


# --------------------------------------------------------------------------- the printed terms
@torch_core("logits", "targets")
def hbar_logits(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    r"""The logit of the ground-truth token, :math:`z_m^{\hbar}` (Eqs. (69), (71)): shape (M,).

    Parameters
    ----------
    logits : torch.Tensor, shape (M, V)
        Logit vectors :math:`\mathbf z_m` of the :math:`M` samples at position :math:`t`.
    targets : torch.Tensor, shape (M,), long
        Index :math:`\hbar` of the ground-truth token of each sample (the one-hot
        :math:`\mathbf u_{mt}^{\hbar}`).
    """
    logits, targets = _check_logits_targets(logits, targets)
    return logits.gather(1, targets[:, None])[:, 0]


@torch_core("logits", "targets")
def per_sample_loss(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    r"""Cross-entropy of each sample, :math:`\log 1/q(z_m^{\hbar})` (Eqs. (70)-(71)): shape (M,), nats.

    :math:`q(z_m^{\hbar}) = \mathbf 1^T(\mathbf u_{mt}^{\hbar})\,\mathrm{softmax}(\mathbf z_m)`,
    so the loss is :math:`\operatorname{logsumexp}(\mathbf z_m) - z_m^{\hbar}`.
    """
    logits, targets = _check_logits_targets(logits, targets)
    return torch.logsumexp(logits, 1) - logits.gather(1, targets[:, None])[:, 0]


@torch_core("logits", "targets")
def empirical_loss(logits: torch.Tensor, targets: torch.Tensor) -> float:
    r"""Empirical cross-entropy :math:`\hat{\mathcal L} = \frac1M\sum_m \log 1/q(z_m^{\hbar})`, Eq. (70)."""
    return float(per_sample_loss(logits, targets).mean())


@torch_core("logits", "targets")
def printed_rademacher_term(logits: torch.Tensor, targets: torch.Tensor) -> float:
    r"""The paper's Rademacher term of Eq. (72), :math:`\frac{2\sqrt2}{M}\sum_m |z_m^{\hbar}|`.

    It is :math:`2\times` the right-hand side of Eq. (75). Note that it is not
    invariant under adding a constant to all logits, which leaves the model's
    probabilities unchanged.
    """
    z = hbar_logits(logits, targets)
    return float(2 * math.sqrt(2) * z.abs().mean())


def printed_concentration_term(M: int, delta: float) -> float:
    r"""The concentration term of Eqs. (72) and (74), :math:`3\sqrt{\log(2/\delta)/(2M)}`.

    Valid (through Mohri et al.'s Theorem 3.3) only for a loss with values in :math:`[0, 1]`.
    """
    return mcdiarmid_term(M, delta, 1.0)


@dataclass(frozen=True)
class PrintedBound:
    """Terms of the printed bound, Eq. (72): ``total = empirical + rademacher + concentration``.

    ``max_loss`` is the largest per-sample loss: Theorem 3.3 of Mohri et al. needs it <= 1.
    """

    empirical: float
    rademacher: float
    concentration: float
    total: float
    max_loss: float
    M: int
    delta: float


@torch_core("logits", "targets")
def printed_bound(logits: torch.Tensor, targets: torch.Tensor, delta: float = 0.05) -> PrintedBound:
    r"""Evaluate Theorem 8 as printed, Eq. (72), on the logits of :math:`M` samples.

    .. math::
        \hat{\mathcal L}(\mathbf A,\mathbf B) + \frac{2\sqrt2}{M}\sum_{m=1}^M|z_m^{\hbar}|
        + 3\sqrt{\frac{\log(2/\delta)}{2M}}.

    Parameters
    ----------
    logits : torch.Tensor, shape (M, V)
    targets : torch.Tensor, shape (M,), long
    delta : float in (0, 1), default 0.05
    """
    delta = _check_open_unit(delta, "delta")
    loss = per_sample_loss(logits, targets)
    M = loss.shape[0]
    emp = float(loss.mean())
    rad = printed_rademacher_term(logits, targets)
    conc = printed_concentration_term(M, delta)
    return PrintedBound(emp, rad, conc, emp + rad + conc, float(loss.max()), M, delta)


# --------------------------------------------------------------------------- correct ingredients
def mcdiarmid_term(M: int, delta: float, B: float = 1.0) -> float:
    r"""Concentration term of Mohri et al. (2018), Thm 3.3, for a loss with values in :math:`[0, B]`.

    .. math:: 3B\sqrt{\frac{\log(2/\delta)}{2M}}

    (Theorem 3.3 is stated for :math:`[0,1]`; apply it to :math:`\ell/B` and multiply by :math:`B`.)
    With ``B = 1`` this is the last term of Eqs. (72) and (74).
    """
    M = _check_int(M, "M", 1)
    delta = _check_open_unit(delta, "delta")
    B = _check_nonneg(B, "B")
    return 3.0 * B * math.sqrt(math.log(2.0 / delta) / (2.0 * M))


@torch_core("values")
def rademacher_finite(
    values: torch.Tensor, n_draws: int = 2000, *, seed: int | torch.Generator | None = 0
) -> tuple[float, float]:
    r"""Monte-Carlo empirical Rademacher complexity of a finite class (the form of Eq. (73)).

    .. math:: \hat{\mathfrak R} = \mathbb E_\sigma\Big[\max_{k}\frac1M\sum_{m=1}^M\sigma_m\,v_{km}\Big]

    Parameters
    ----------
    values : torch.Tensor, shape (K, M)
        Row ``k`` holds the values (losses or logits) of function ``k`` on the ``M`` samples.
        The supremum of Eq. (73) is over the rows.
    n_draws : int, default 2000
        Number of Rademacher sign vectors.
    seed : int, None or torch.Generator, default 0
        Random state (see CONTRIBUTING.md, glossary).

    Returns
    -------
    (estimate, standard_error) : tuple of float
    """
    if not isinstance(values, torch.Tensor) or values.ndim != 2:
        raise TypeError("`values` must be a (K, M) torch tensor")
    if values.shape[0] < 1 or values.shape[1] < 1:
        raise ValueError("`values` must have at least one row and one column")
    if not bool(torch.isfinite(values).all()):
        raise ValueError("`values` must be finite")
    n_draws = _check_int(n_draws, "n_draws", 2)
    v = values.double()
    g = torch_generator(seed)
    sig = (torch.randint(0, 2, (n_draws, v.shape[1]), generator=g) * 2 - 1).to(v)
    sups = (sig @ v.T).max(1).values / v.shape[1]
    return float(sups.mean()), float(sups.std() / math.sqrt(n_draws))


@torch_core("values")
def massart_bound(values: torch.Tensor) -> float:
    r"""Massart's lemma: :math:`\hat{\mathfrak R}\le \max_k\|\mathbf v_k\|_2\sqrt{2\log K}/M` for ``values`` (K, M)."""
    if not isinstance(values, torch.Tensor) or values.ndim != 2:
        raise TypeError("`values` must be a (K, M) torch tensor")
    K, M = values.shape
    if K < 1 or M < 1:
        raise ValueError("`values` must have at least one row and one column")
    if not bool(torch.isfinite(values).all()):
        raise ValueError("`values` must be finite")
    return float(values.double().norm(dim=1).max() * math.sqrt(2 * math.log(K)) / M) if K > 1 else 0.0


@torch_core("features")
def rademacher_linear(
    features: torch.Tensor,
    radius: float,
    n_outputs: int = 1,
    *,
    n_draws: int = 0,
    seed: int | torch.Generator | None = 0,
) -> tuple[float, float | None]:
    r"""Rademacher complexity of the norm-bounded linear read-out :math:`\{\phi\mapsto\mathbf W\phi:\|\mathbf W\|_F\le\Lambda\}`.

    With one sign per sample and output, as in the vector contraction inequality,

    .. math::
        \mathfrak R_{\rm vec} = \mathbb E_\sigma\sup_{\|\mathbf W\|_F\le\Lambda}\frac1M\sum_{m,i}\sigma_{mi}
        (\mathbf W\phi_m)_i = \frac{\Lambda}{M}\,\mathbb E_\sigma\Big\|\sum_m\sigma_m\phi_m^T\Big\|_F
        \le \frac{\Lambda}{M}\sqrt{V\sum_m\|\phi_m\|^2}.

    Parameters
    ----------
    features : torch.Tensor, shape (M, d)
        Feature vectors :math:`\phi_m`, which must not depend on the sample.
    radius : float
        :math:`\Lambda`, the Frobenius-norm radius of the read-out.
    n_outputs : int, default 1
        :math:`V`, number of outputs (the vocabulary size for a softmax read-out).
    n_draws : int, default 0
        If positive, also return a Monte-Carlo estimate of the exact expectation.

    Returns
    -------
    (closed_form_upper, monte_carlo) : the Jensen bound (float) and the MC estimate (float or None).
    """
    if not isinstance(features, torch.Tensor) or features.ndim != 2:
        raise TypeError("`features` must be a (M, d) torch tensor")
    if features.shape[0] < 1:
        raise ValueError("`features` needs at least one row")
    radius = _check_nonneg(radius, "radius")
    n_outputs = _check_int(n_outputs, "n_outputs", 1)
    n_draws = _check_int(n_draws, "n_draws", 0)
    phi = features.double()
    M = phi.shape[0]
    closed = float(radius * torch.sqrt(n_outputs * (phi**2).sum()) / M)
    mc = None
    if n_draws > 0:
        g = torch_generator(seed)
        tot = 0.0
        chunk = max(1, 2**22 // (M * n_outputs))
        done = 0
        while done < n_draws:
            b = min(chunk, n_draws - done)
            sig = (torch.randint(0, 2, (b, n_outputs, M), generator=g) * 2 - 1).to(phi)
            tot += float((sig @ phi).flatten(1).norm(dim=1).sum())
            done += b
        mc = radius * tot / n_draws / M
    return closed, mc


@torch_core("logits")
def smoothed_probs(logits: torch.Tensor, gamma: float) -> torch.Tensor:
    r"""Softmax mixed with the uniform law: :math:`q_\gamma = (1-\gamma)\,\mathrm{softmax}(\mathbf z) + \gamma/V`."""
    if not isinstance(logits, torch.Tensor) or logits.ndim != 2:
        raise TypeError("`logits` must be a (M, V) torch tensor")
    gamma = _check_open_unit(gamma, "gamma")
    V = logits.shape[1]
    return (1 - gamma) * torch.softmax(logits.double(), 1) + gamma / V


@torch_core("logits", "targets")
def smoothed_loss(logits: torch.Tensor, targets: torch.Tensor, gamma: float) -> torch.Tensor:
    r"""Per-sample loss :math:`-\log q_\gamma(\hbar)`, with values in :math:`[0, \log(V/\gamma)]`: shape (M,)."""
    logits, targets = _check_logits_targets(logits, targets)
    p = smoothed_probs(logits, gamma)
    return -torch.log(p.gather(1, targets[:, None])[:, 0])


def smoothed_loss_range(V: int, gamma: float) -> float:
    r"""Upper end :math:`B = \log(V/\gamma)` of the smoothed loss (its lower end is 0)."""
    V = _check_int(V, "V", 2)
    gamma = _check_open_unit(gamma, "gamma")
    return math.log(V / gamma)


def smoothed_lipschitz() -> float:
    r"""Lipschitz constant of :math:`\mathbf z\mapsto-\log q_\gamma(\hbar)` in the Euclidean norm of the whole logit vector: :math:`\sqrt2`.

    The gradient is :math:`-\frac{(1-\gamma)s_\hbar}{q_\gamma(\hbar)}(\mathbf e_\hbar-\mathbf s)` with
    :math:`\mathbf s=\mathrm{softmax}(\mathbf z)`; the prefactor is at most 1 and
    :math:`\|\mathbf e_\hbar-\mathbf s\|_2\le\sqrt2(1-s_\hbar)\le\sqrt2`.
    """
    return math.sqrt(2.0)


@dataclass(frozen=True)
class CorrectedBound:
    """Terms of the corrected bound: ``total = empirical + rademacher + concentration``.

    ``loss_range`` is B = log(V/gamma); ``rad_linear`` is the linear-class complexity before the
    contraction factor 2 * sqrt(2) * L (L = sqrt 2).
    """

    empirical: float
    rademacher: float
    concentration: float
    total: float
    loss_range: float
    rad_linear: float
    M: int
    delta: float
    gamma: float


@torch_core("features", "W", "targets")
def corrected_bound(
    features: torch.Tensor,
    W: torch.Tensor,
    targets: torch.Tensor,
    *,
    radius: float,
    gamma: float = 0.01,
    delta: float = 0.05,
) -> CorrectedBound:
    r"""A valid bound on the test cross-entropy of the smoothed read-out :math:`q_\gamma(\mathbf W\phi)`.

    For the class :math:`\mathcal F = \{\phi\mapsto\mathbf W\phi : \|\mathbf W\|_F\le\Lambda\}` on fixed
    features, with probability at least :math:`1-\delta` over :math:`M` i.i.d. samples, for every
    :math:`\mathbf W` in the class,

    .. math::
        \mathbb E[-\log q_\gamma(\hbar)] \le \frac1M\sum_m -\log q_\gamma(\hbar_m)
        + 2\cdot\sqrt2\cdot\sqrt2\,\frac{\Lambda}{M}\sqrt{V\sum_m\|\phi_m\|^2}
        + 3\log\frac V\gamma\sqrt{\frac{\log(2/\delta)}{2M}}.

    Mohri et al. (2018), Theorem 3.3, applied to :math:`\ell_\gamma/\log(V/\gamma)\in[0,1]`; the
    Rademacher term by Maurer's vector contraction (the loss is :math:`\sqrt2`-Lipschitz in the
    whole logit vector, :func:`smoothed_lipschitz`) and :func:`rademacher_linear`.
    Replaces Eqs. (72)-(75).

    Parameters
    ----------
    features : torch.Tensor, shape (M, d)
        :math:`\phi_m`, computed by a map fixed before the sample was drawn.
    W : torch.Tensor, shape (V, d)
        The trained read-out; must satisfy :math:`\|\mathbf W\|_F\le\Lambda` (checked).
    targets : torch.Tensor, shape (M,), long
    radius : float
        :math:`\Lambda`, fixed before the sample was drawn.
    gamma, delta : float in (0, 1)
    """
    if not isinstance(W, torch.Tensor) or W.ndim != 2:
        raise TypeError("`W` must be a (V, d) torch tensor")
    if not isinstance(features, torch.Tensor) or features.ndim != 2 or features.shape[1] != W.shape[1]:
        raise ValueError("`features` must be (M, d) with the d of `W`")
    radius = _check_nonneg(radius, "radius")
    if float(W.double().norm()) > radius * (1 + 1e-9):
        raise ValueError(f"`W` has Frobenius norm {float(W.norm()):.4g} > radius {radius:.4g}")
    gamma = _check_open_unit(gamma, "gamma")
    delta = _check_open_unit(delta, "delta")
    logits = features.double() @ W.double().T
    loss = smoothed_loss(logits, targets, gamma)
    M, V = features.shape[0], W.shape[0]
    rad_lin, _ = rademacher_linear(features, radius, V)
    rad = 2 * math.sqrt(2) * smoothed_lipschitz() * rad_lin
    B = smoothed_loss_range(V, gamma)
    conc = mcdiarmid_term(M, delta, B)
    emp = float(loss.mean())
    return CorrectedBound(emp, rad, conc, emp + rad + conc, B, rad_lin, M, delta, gamma)


@torch_core("features", "targets")
def fit_readout(
    features: torch.Tensor,
    targets: torch.Tensor,
    n_outputs: int,
    *,
    radius: float,
    gamma: float = 0.01,
    steps: int = 200,
    lr: float = 0.1,
) -> torch.Tensor:
    r"""Train a read-out :math:`\mathbf W` in the Frobenius ball by projected Adam on the smoothed loss.

    Minimises :math:`\frac1M\sum_m -\log q_\gamma(\hbar_m)` with
    :math:`q_\gamma = (1-\gamma)\,\mathrm{softmax}(\mathbf W\phi_m) + \gamma/V`
    (:func:`smoothed_loss`) over :math:`\{\mathbf W\in\mathbb R^{V\times d}:\|\mathbf W\|_F\le\Lambda\}`,
    the class of :func:`corrected_bound` (Eq. ``book-eq-corrected-bound``, which replaces the paper's
    Eqs. (72)-(75)). Each Adam step is followed by the projection
    :math:`\mathbf W\leftarrow\mathbf W\min(1, \Lambda/\|\mathbf W\|_F)`, so the result lies in
    the class and :func:`corrected_bound` applies to it. The start is :math:`\mathbf W = 0`, so the
    result is deterministic (no random state). Introduced in the chapter ``ch-generalization``.

    Parameters
    ----------
    features : torch.Tensor, shape (M, d)
        :math:`\phi_m`, computed by a map fixed before the sample was drawn.
    targets : torch.Tensor, shape (M,), long
        The true next tokens :math:`\hbar_m`, in ``range(n_outputs)``.
    n_outputs : int
        :math:`V`, the number of outputs (rows of :math:`\mathbf W`), at least 2.
    radius : float
        :math:`\Lambda \ge 0`, the Frobenius radius, fixed before the sample was drawn.
    gamma : float in (0, 1), default 0.01
        Weight of the uniform law in :math:`q_\gamma`.
    steps : int, default 200
        Number of projected Adam steps (0 returns the start, :math:`\mathbf W = 0`).
    lr : float > 0, default 0.1
        Adam's learning rate.

    Returns
    -------
    torch.Tensor, shape (n_outputs, d), float64
        The trained read-out, on the device of ``features`` (numpy in, numpy out), with
        :math:`\|\mathbf W\|_F\le\Lambda`.
    """
    if not isinstance(features, torch.Tensor) or features.ndim != 2:
        raise TypeError("`features` must be a (M, d) torch tensor")
    if not isinstance(targets, torch.Tensor) or targets.ndim != 1 or targets.dtype != torch.long:
        raise TypeError("`targets` must be a (M,) torch tensor of token ids (torch.long)")
    if features.shape[0] != targets.shape[0] or features.shape[0] < 1:
        raise ValueError(f"`features` has {features.shape[0]} rows but `targets` has {targets.shape[0]}")
    n_outputs = _check_int(n_outputs, "n_outputs", 2)
    if int(targets.min()) < 0 or int(targets.max()) >= n_outputs:
        raise ValueError("`targets` must lie in range(n_outputs)")
    radius = _check_nonneg(radius, "radius")
    gamma = _check_open_unit(gamma, "gamma")
    steps = _check_int(steps, "steps", 0)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise ValueError("`lr` must be a finite number > 0")
    phi = features.detach().double()
    W = torch.zeros(n_outputs, phi.shape[1], dtype=torch.float64, device=phi.device, requires_grad=True)
    opt = torch.optim.Adam([W], lr=float(lr))
    with torch.enable_grad():
        for _ in range(steps):
            loss = smoothed_loss(phi @ W.T, targets, gamma).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            with torch.no_grad():  # project on the Frobenius ball
                norm = float(W.norm())
                if norm > radius:
                    W.mul_(radius / norm)
    return W.detach()


# --------------------------------------------------------------------------- models read at the last position
def last_logits(model: Any, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""The logits :math:`\mathbf z_m` at the last position and the next tokens :math:`\hbar_m`.

    For token sequences ``ids`` (M, T) the model reads ``ids[:, :-1]`` and its logits at the
    last position predict ``ids[:, -1]``: the M samples :math:`(\text{context}_m, \hbar_m)` of
    Theorem 8 (Eq. 72), one per sequence, so they are i.i.d. when the sequences are. Torch-only
    (a model of token ids, such as :class:`semlib.tvvar.TinyGPT`). Book: chapter
    *Generalization bounds* (``05_autoregressive/generalization``).

    Parameters
    ----------
    model : callable
        Token ids (M, t) -> logits (M, t, V).
    ids : torch.Tensor of int64, shape (M, T), T >= 2

    Returns
    -------
    (logits, targets) : float64 tensor (M, V) and int64 tensor (M,)

    Raises
    ------
    TypeError
        If ``ids`` is not an (M, T) long tensor with T >= 2.
    """
    if not isinstance(ids, torch.Tensor) or ids.dtype != torch.long or ids.ndim != 2 or ids.shape[1] < 2:
        raise TypeError("`ids` must be an (M, T) tensor of token ids (torch.long) with T >= 2")
    with torch.no_grad():
        return model(ids[:, :-1])[:, -1].double(), ids[:, -1]


def last_features(model: Any, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Unit-norm final-LayerNorm features :math:`\phi_m` at the last position, and the next tokens.

    The frozen body of a :class:`semlib.tvvar.TinyGPT` (its residual stream after the last
    block, through ``ln_f``) read at the last position of ``ids[:, :-1]``, scaled to norm 1: the
    features of the linear read-outs of Eq. (book-eq-corrected-bound), whose Rademacher term
    needs :math:`\sum_m\lVert\phi_m\rVert^2 = M`. Torch-only. Book: chapter *Generalization
    bounds* (``05_autoregressive/generalization``).

    Parameters
    ----------
    model : semlib.tvvar.TinyGPT
        Anything with ``trace(ids)`` (the residual streams) and ``ln_f``.
    ids : torch.Tensor of int64, shape (M, T), T >= 2

    Returns
    -------
    (features, targets) : tensor (M, d) with unit rows, int64 tensor (M,)

    Raises
    ------
    TypeError
        If ``model`` has no ``trace`` and ``ln_f`` or ``ids`` is not an (M, T) long tensor.
    """
    if not (hasattr(model, "trace") and hasattr(model, "ln_f")):
        raise TypeError(f"`model` must have `trace` and `ln_f` (a TinyGPT), got {type(model).__name__}")
    if not isinstance(ids, torch.Tensor) or ids.dtype != torch.long or ids.ndim != 2 or ids.shape[1] < 2:
        raise TypeError("`ids` must be an (M, T) tensor of token ids (torch.long) with T >= 2")
    with torch.no_grad():
        h = model.ln_f(model.trace(ids[:, :-1])[-1][:, -1])
    return h / h.norm(dim=1, keepdim=True), ids[:, -1]


def shift_logits(model: Any, c: float) -> Any:
    r"""A copy of a TinyGPT whose every logit is shifted by the constant ``c``.

    The logits are :math:`E\,\mathrm{LN}(\mathbf h)` with the token embeddings :math:`E` (V, d);
    adding :math:`\beta` to the final LayerNorm's bias adds :math:`E\beta` to them, and
    :math:`\beta` solving :math:`E\beta = c\mathbf 1` in least squares (exact when
    :math:`\mathbf 1` lies in the column space of :math:`E`, as for :math:`d \ge V`) shifts
    them all by :math:`c`. A constant shift changes no probability, but it changes the printed
    bound of Theorem 8, which is not invariant under it. Torch-only. Book: chapter
    *Generalization bounds* (``05_autoregressive/generalization``).

    Parameters
    ----------
    model : semlib.tvvar.TinyGPT
    c : float

    Returns
    -------
    semlib.tvvar.TinyGPT
        A deep copy in eval mode; ``model`` is unchanged.

    Raises
    ------
    TypeError
        If ``model`` has no ``tok`` embedding and ``ln_f`` LayerNorm, or ``c`` is not a real number.
    """
    import copy

    if not (hasattr(model, "tok") and hasattr(model, "ln_f")):
        raise TypeError(f"`model` must have `tok` and `ln_f` (a TinyGPT), got {type(model).__name__}")
    if isinstance(c, bool) or not isinstance(c, (int, float)):
        raise TypeError(f"`c` must be a real number, got {type(c).__name__}")
    new = copy.deepcopy(model)
    E = new.tok.weight.detach()
    rhs = torch.full((E.shape[0], 1), float(c), dtype=E.dtype, device=E.device)
    beta = torch.linalg.lstsq(E, rhs).solution[:, 0]
    with torch.no_grad():
        new.ln_f.bias += beta
    return new.eval()


@dataclass(frozen=True)
class MemoriserTrial:
    """One look-up-table memoriser on M uniform samples (:func:`memoriser_trial`)."""

    bound: PrintedBound  #: the printed bound (72) on the training samples
    test: float  #: the exact test cross-entropy, nats
    contexts: torch.Tensor  #: (M,) context codes in 0..V**L - 1
    labels: torch.Tensor  #: (M,) next tokens
    table: torch.Tensor  #: (distinct contexts, V) logits: 0 on seen pairs, -K elsewhere
    unique: torch.Tensor  #: the distinct contexts, in the order of the table's rows


def memoriser_trial(M: int, seed: Any, V: int, L: int, delta: float, K: float = 20.0) -> MemoriserTrial:
    r"""The printed bound of Theorem 8 and the exact test loss of a memorising look-up table.

    Draw M i.i.d. samples (a context uniform on :math:`V^L` codes, a next token uniform on
    :math:`V`); the table gives logit 0 to every (context, token) pair seen in training and
    :math:`-K` to the others. On a fresh uniform sample its cross-entropy is exact: an unseen
    context costs :math:`\log V` (all logits equal), a seen one the mean over uniform next tokens
    of :math:`\mathrm{lse}(\text{row}) - \text{row}_u`:

    .. math::

        \mathrm{CE} = \frac{(V^L - n_{\rm seen})\log V
        + \sum_{\text{seen } c}\frac1V\sum_u(\mathrm{lse}(z_c) - z_{c,u})}{V^L}.

    The memoriser has small training loss and the largest possible test loss, so a bound that it
    satisfies trivially is the test. Torch-only in its outputs. Book: chapter
    *Generalization bounds* (``05_autoregressive/generalization``).

    Parameters
    ----------
    M : int >= 1
        Number of training samples.
    seed : int, None or torch.Generator
    V, L : int >= 1
        Vocabulary size and context length (:math:`V^L` contexts).
    delta : float in (0, 1)
        Confidence of the printed bound.
    K : float > 0
        The logit gap of the table.

    Returns
    -------
    MemoriserTrial

    Raises
    ------
    TypeError, ValueError
        If an integer argument is not a positive int, or ``K`` is not positive.
    """
    M = _check_int(M, "M", 1)
    V = _check_int(V, "V", 1)
    L = _check_int(L, "L", 1)
    if isinstance(K, bool) or not isinstance(K, (int, float)) or not K > 0:
        raise ValueError(f"`K` must be a positive number, got {K!r}")
    g = torch_generator(seed)
    ctx = torch.randint(0, V**L, (M,), generator=g)
    lab = torch.randint(0, V, (M,), generator=g)
    uniq, inv = torch.unique(ctx, return_inverse=True)
    seen = torch.zeros(len(uniq), V, dtype=torch.bool)
    seen[inv, lab] = True
    table = torch.where(seen, 0.0, -float(K)).double()  # logits on seen contexts
    pb = printed_bound(table[inv], lab, delta)
    ce_seen = (torch.logsumexp(table, 1)[:, None] - table).mean(1)  # uniform next token
    test = ((V**L - len(uniq)) * math.log(V) + ce_seen.sum().item()) / V**L
    return MemoriserTrial(bound=pb, test=test, contexts=ctx, labels=lab, table=table, unique=uniq)
