r"""Measures of the book on a trained TinyGPT: prompt-conditioned flow, checkpoints, enumeration.

The capstone chapter trains one :class:`~semlib.tvvar.TinyGPT` on real text and
recomputes on it the measures that the earlier chapters define on toy sources.
Most of them call existing modules; this one holds what a *neural* model needs
and a tabular :class:`~semlib.models.TokenSource` did not:

* :func:`sample_continuations` draws generations :math:`u_{n+1:n+L}` from the
  model after a prompt :math:`s` chosen from a finite set :math:`\mathcal S`;
* :func:`prompt_flow` computes, along those generations, the semantic
  information flow of the paper's Definition 8 (Eq. 22) for the prior
  :math:`P(s)` on :math:`\mathcal S`,

  .. math::

      \Delta i_t = \log\frac{P(u_t\mid s, u_{<t})}{P(u_t\mid u_{<t})},\qquad
      P(u_t\mid u_{<t}) = \sum_{s'} P(s'\mid u_{<t})\,P(u_t\mid s', u_{<t}),

  with the posterior :math:`P(s'\mid u_{<t})\propto P(s')\prod_{\tau<t}P(u_\tau\mid s',u_{<\tau})`,
  and its conditional mean (the drift of Theorem 2, Eq. 25)
  :math:`D\big(P(\cdot\mid s,u_{<t})\,\|\,P(\cdot\mid u_{<t})\big)\ge 0`;
* :func:`continuation_joint` enumerates :math:`P(s, u_{n+1:n+L})` for
  :math:`L\le 2` (all :math:`V^L` continuations), so that the mean flow can be
  compared with the exact mutual information;
* :func:`train_with_checkpoints` is :func:`semlib.tvvar.train_gpt` with a
  callback at chosen steps (same minibatches, one optimiser throughout), to
  trace a measure along training;
* :func:`train_cached` is the same training run, kept on disk: it returns the
  losses and the parameters at chosen steps, and a second call with the same
  model, data and settings (a second page of the capstone) loads them instead
  of training again.

Units: nats. Torch in, torch out, on the model's device; the flow is computed
in the model's dtype (convert a copy with ``model.double()`` for checks).
Introduced in the chapter *Capstone* (``ch-capstone``, ``06_conclusions/capstone``);
:func:`train_cached` is shared with its second part (``06_conclusions/capstone_architecture``).
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import torch
from tqdm.auto import tqdm

from ._backend import check_int as _check_int
from ._backend import torch_generator
from .tvvar import TinyGPT, train_gpt

__all__ = [
    "sample_continuations",
    "PromptFlow",
    "prompt_flow",
    "continuation_joint",
    "train_with_checkpoints",
    "CachedTraining",
    "train_cached",
]


# --------------------------------------------------------------------------- validation
def _check_model(model: Any) -> TinyGPT:
    if not isinstance(model, TinyGPT):
        raise TypeError(f"`model` must be a semlib.tvvar.TinyGPT, got {type(model).__name__}")
    return model


def _device_dtype(model: TinyGPT) -> tuple[torch.device, torch.dtype]:
    p = next(model.parameters())
    return p.device, p.dtype


def _check_prompts(model: TinyGPT, prompts: Any) -> torch.Tensor:
    if not isinstance(prompts, torch.Tensor) or prompts.dtype != torch.long or prompts.ndim != 2:
        raise TypeError("`prompts` must be an (m, n) tensor of token ids (torch.long), one prompt per row")
    if prompts.shape[0] < 1 or prompts.shape[1] < 1:
        raise ValueError(f"`prompts` must have at least one row and one column, got {tuple(prompts.shape)}")
    if prompts.min() < 0 or prompts.max() >= model.vocab:
        raise ValueError(f"`prompts` ids must lie in 0..{model.vocab - 1}")
    return prompts


def _check_source(source: Any, m: int) -> torch.Tensor:
    if not isinstance(source, torch.Tensor) or source.dtype != torch.long or source.ndim != 1:
        raise TypeError("`source` must be a (B,) tensor of prompt indices (torch.long)")
    if source.numel() < 1:
        raise ValueError("`source` is empty")
    if source.min() < 0 or source.max() >= m:
        raise ValueError(f"`source` must lie in 0..{m - 1} (one index per generation)")
    return source


def _check_prior(prior: Any, m: int, device: torch.device) -> torch.Tensor:
    if prior is None:
        return torch.full((m,), -math.log(m), dtype=torch.float64, device=device)
    p = torch.as_tensor(prior, dtype=torch.float64).to(device)
    if p.shape != (m,):
        raise ValueError(f"`prior` must have shape ({m},), got {tuple(p.shape)}")
    if (p <= 0).any() or not torch.isfinite(p).all() or abs(float(p.sum()) - 1.0) > 1e-9:
        raise ValueError("`prior` must be a strictly positive pmf over the prompts (summing to 1)")
    return p.log()


# --------------------------------------------------------------------------- generation
@torch.no_grad()
def sample_continuations(
    model: TinyGPT,
    prompts: torch.Tensor,
    source: torch.Tensor,
    length: int,
    *,
    temperature: float = 1.0,
    seed: int | torch.Generator | None = 0,
) -> torch.Tensor:
    r"""Draw a continuation of ``length`` tokens after prompt ``prompts[source[b]]`` for every ``b``.

    Token :math:`u_t` is drawn from :math:`\operatorname{softmax}(\mathbf z_t/\tau)` with the
    model's logits :math:`\mathbf z_t` after :math:`(s, u_{<t})`; :math:`\tau = 1` samples the
    model's own law :math:`P(\cdot\mid s, u_{<t})`, the law under which Theorem 2 holds.

    Parameters
    ----------
    model : TinyGPT
    prompts : torch.Tensor, shape (m, n), long
        The finite prompt set :math:`\mathcal S`, all of the same length ``n``.
    source : torch.Tensor, shape (B,), long
        Which prompt each generation starts from.
    length : int
        :math:`L`; ``n + length`` must not exceed the model's context ``T``.
    temperature : float, default 1
    seed : int, None or torch.Generator, default 0
        Random state of the draws, a CPU generator (see CONTRIBUTING.md, glossary).

    Returns
    -------
    torch.Tensor, shape (B, L), long, on the model's device.
    """
    model = _check_model(model)
    prompts = _check_prompts(model, prompts)
    source = _check_source(source, prompts.shape[0])
    length = _check_int(length, "length", 1)
    if prompts.shape[1] + length > model.T:
        raise ValueError(f"prompt length {prompts.shape[1]} + `length` {length} exceeds the context T = {model.T}")
    if not (
        isinstance(temperature, (int, float))
        and not isinstance(temperature, bool)
        and temperature > 0
        and math.isfinite(temperature)
    ):
        raise ValueError(f"`temperature` must be a positive number, got {temperature!r}")
    dev, _ = _device_dtype(model)
    g = torch_generator(seed, "cpu")
    was_training = model.training
    model.eval()
    ids = prompts.to(dev)[source.to(dev)]
    for _ in range(length):
        probs = torch.softmax(model(ids)[:, -1].double() / temperature, -1).cpu()
        nxt = torch.multinomial(probs, 1, generator=g).to(dev)
        ids = torch.cat([ids, nxt], 1)
    model.train(was_training)
    return ids[:, prompts.shape[1] :]


# --------------------------------------------------------------------------- the flow
class PromptFlow(NamedTuple):
    r"""Semantic information flow along generations, for a finite prompt set.

    Attributes
    ----------
    increments : torch.Tensor, shape (B, L)
        :math:`\Delta i_t = \log P(u_t\mid s,u_{<t}) - \log P(u_t\mid u_{<t})` (Eq. 24).
    drift : torch.Tensor, shape (B, L)
        :math:`D(P(\cdot\mid s,u_{<t})\,\|\,P(\cdot\mid u_{<t}))`, the conditional mean of
        the increment given :math:`(s, u_{<t})` when :math:`u_t` is drawn from the model (Eq. 25).
    log_posterior : torch.Tensor, shape (B, L + 1, m)
        :math:`\log P(s'\mid u_{<t})` for :math:`t = 1..L+1` (row 0 is the prior).
    cond_logprob : torch.Tensor, shape (B, L)
        :math:`\log P(u_t\mid s, u_{<t})` of the generated tokens under their own prompt.
    """

    increments: torch.Tensor
    drift: torch.Tensor
    log_posterior: torch.Tensor
    cond_logprob: torch.Tensor

    @property
    def flow(self) -> torch.Tensor:
        r"""The cumulative flow :math:`i(S\to U_{n+1:t})`, shape (B, L) (Eq. 22)."""
        return self.increments.cumsum(1)


@torch.no_grad()
def _next_logprobs(model: TinyGPT, prompt: torch.Tensor, gens: torch.Tensor) -> torch.Tensor:
    """log P(. | prompt, u_<t) for t = 1..L: (B, L, V), float64."""
    n, L = prompt.shape[0], gens.shape[1]
    x = torch.cat([prompt[None].expand(gens.shape[0], n), gens[:, :-1]], 1)
    return torch.log_softmax(model(x)[:, n - 1 : n - 1 + L].double(), -1)


def prompt_flow(
    model: TinyGPT,
    prompts: torch.Tensor,
    source: torch.Tensor,
    gens: torch.Tensor,
    prior: Any = None,
    *,
    batch_size: int = 64,
    progress: bool = False,
) -> PromptFlow:
    r"""Semantic information flow (Definition 8, Eq. 22) of a TinyGPT along given generations.

    For each generation ``gens[b]`` from prompt ``s = source[b]``, runs the model after
    *every* prompt of :math:`\mathcal S` to get :math:`P(u_t\mid s', u_{<t})`, forms the
    posterior over prompts and the prompt-marginal law (see the module docstring), and
    returns the density increments and their conditional means.

    Parameters
    ----------
    model : TinyGPT
    prompts : torch.Tensor, shape (m, n), long
    source : torch.Tensor, shape (B,), long
    gens : torch.Tensor, shape (B, L), long
    prior : array-like, shape (m,), optional
        :math:`P(s)`, strictly positive; uniform by default.
    batch_size : int, default 64
        Generations per forward pass (memory: ``m * batch_size * L * V`` floats).
    progress : bool, default False

    Returns
    -------
    PromptFlow
        All in float64, on the model's device. Under the model's own law,
        :math:`\mathbb E\,\Delta i_t = \mathbb E\,D_t = I(S; U_t\mid U_{<t})`.

    Examples
    --------
    >>> from semlib.tvvar import TinyGPT
    >>> m = TinyGPT(7, 6, d_model=8, n_heads=2, n_layers=1)
    >>> P = torch.tensor([[1, 2], [3, 4]]); src = torch.tensor([0, 1, 1])
    >>> u = sample_continuations(m, P, src, 3)
    >>> fl = prompt_flow(m, P, src, u)
    >>> fl.increments.shape, bool((fl.drift >= 0).all())
    (torch.Size([3, 3]), True)
    """
    model = _check_model(model)
    prompts = _check_prompts(model, prompts)
    m, n = prompts.shape
    source = _check_source(source, m)
    if not isinstance(gens, torch.Tensor) or gens.dtype != torch.long or gens.ndim != 2:
        raise TypeError("`gens` must be a (B, L) tensor of token ids (torch.long)")
    if gens.shape[0] != source.shape[0]:
        raise ValueError(f"`gens` has {gens.shape[0]} rows but `source` has {source.shape[0]}")
    if gens.min() < 0 or gens.max() >= model.vocab:
        raise ValueError(f"`gens` ids must lie in 0..{model.vocab - 1}")
    if n + gens.shape[1] - 1 > model.T:
        raise ValueError(f"prompt length {n} + generation length {gens.shape[1]} - 1 exceeds T = {model.T}")
    batch_size = _check_int(batch_size, "batch_size", 1)
    dev, _ = _device_dtype(model)
    log_prior = _check_prior(prior, m, dev)
    prompts, source, gens = prompts.to(dev), source.to(dev), gens.to(dev)
    was_training = model.training
    model.eval()
    out: dict[str, list[torch.Tensor]] = {"inc": [], "drift": [], "post": [], "cond": []}
    for start in tqdm(range(0, gens.shape[0], batch_size), disable=not progress, desc="flow", leave=False):
        u = gens[start : start + batch_size]
        s = source[start : start + batch_size]
        lp = torch.stack([_next_logprobs(model, prompts[k], u) for k in range(m)])  # (m, c, L, V)
        tok = lp.gather(-1, u[None, :, :, None].expand(m, -1, -1, 1))[..., 0]  # (m, c, L)
        joint = log_prior[:, None, None] + torch.cat(
            [torch.zeros_like(tok[:, :, :1]), tok.cumsum(-1)], -1
        )  # (m, c, L+1)
        log_post = joint - torch.logsumexp(joint, 0, keepdim=True)  # log P(s'|u_<t)
        mix = torch.logsumexp(log_post[:, :, :-1, None] + lp, 0)  # (c, L, V)
        rows = torch.arange(u.shape[0], device=dev)
        cond = lp[s, rows]  # (c, L, V)
        cond_tok = tok[s, rows]  # (c, L)
        out["inc"].append(cond_tok - mix.gather(-1, u[..., None])[..., 0])
        out["drift"].append((cond.exp() * (cond - mix)).sum(-1).clamp_min(0.0))
        out["post"].append(log_post.permute(1, 2, 0))
        out["cond"].append(cond_tok)
    model.train(was_training)
    return PromptFlow(torch.cat(out["inc"]), torch.cat(out["drift"]), torch.cat(out["post"]), torch.cat(out["cond"]))


@torch.no_grad()
def continuation_joint(model: TinyGPT, prompts: torch.Tensor, length: int, prior: Any = None) -> torch.Tensor:
    r"""The exact joint law :math:`P(s, u_{n+1}, \dots, u_{n+L})` under the model, by enumeration.

    :math:`P(s)\prod_t P(u_t\mid s, u_{<t})` for every continuation of ``length`` :math:`L\in\{1,2\}`
    tokens: ``m * V**(L-1)`` forward passes of length ``n + L - 1``. With it, the exact
    :math:`I(S; U_t\mid U_{<t})` (e.g. :func:`semlib.info.mutual_information`) is what the mean
    increment of :func:`prompt_flow` estimates.

    Returns
    -------
    torch.Tensor, shape (m, V) or (m, V, V), float64, on the model's device; sums to 1.
    """
    model = _check_model(model)
    prompts = _check_prompts(model, prompts)
    m, n = prompts.shape
    length = _check_int(length, "length", 1)
    if length > 2:
        raise ValueError(f"`length` must be 1 or 2 (V**length continuations are enumerated), got {length}")
    if n + length - 1 > model.T:
        raise ValueError(f"prompt length {n} + `length` {length} - 1 exceeds T = {model.T}")
    dev, _ = _device_dtype(model)
    log_prior = _check_prior(prior, m, dev)
    prompts = prompts.to(dev)
    V = model.vocab
    was_training = model.training
    model.eval()
    first = torch.log_softmax(model(prompts)[:, -1].double(), -1)  # (m, V)
    out = log_prior[:, None] + first
    if length == 2:
        second = torch.empty(m, V, V, dtype=torch.float64, device=dev)
        u1 = torch.arange(V, device=dev)[:, None]
        for k in range(m):
            x = torch.cat([prompts[k][None].expand(V, n), u1], 1)
            second[k] = torch.log_softmax(model(x)[:, -1].double(), -1)
        out = out[:, :, None] + second
    model.train(was_training)
    return out.exp()


# --------------------------------------------------------------------------- training with checkpoints
def _check_training(
    model: TinyGPT, ids: torch.Tensor, steps: int, batch_size: int, lr: float, checkpoints: Sequence[int]
) -> tuple[TinyGPT, torch.Tensor, int, int, list[int]]:
    """The arguments shared by :func:`train_with_checkpoints` and :func:`train_cached`, checked."""
    model = _check_model(model)
    ids = model._check_ids(ids)
    if ids.shape[1] < 2:
        raise ValueError("`ids` needs at least 2 positions to have a next token")
    steps = _check_int(steps, "steps", 1)
    batch_size = _check_int(batch_size, "batch_size", 1)
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0:
        raise ValueError(f"`lr` must be a positive number, got {lr!r}")
    marks = sorted({_check_int(c, "checkpoints", 0) for c in checkpoints})
    if marks and marks[-1] > steps:
        raise ValueError(f"`checkpoints` must lie in 0..steps = {steps}, got {marks[-1]}")
    return model, ids, steps, batch_size, marks


def train_with_checkpoints(
    model: TinyGPT,
    ids: torch.Tensor,
    *,
    steps: int = 300,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int | torch.Generator | None = 0,
    checkpoints: Sequence[int] = (),
    callback: Callable[[int, TinyGPT], Any] | None = None,
    progress: bool = True,
) -> tuple[list[float], dict[int, Any]]:
    r""":func:`semlib.tvvar.train_gpt` with ``callback(step, model)`` after the chosen steps.

    The same seeded minibatches and one Adam optimiser throughout, so the losses are those of
    ``train_gpt`` with the same arguments; the callback runs in ``eval`` mode under
    ``torch.no_grad`` and must not change the parameters. ``0`` in ``checkpoints`` means
    before the first step.

    Returns
    -------
    losses : list of float
        Training loss per step (nats per token).
    records : dict
        ``{step: callback(step, model)}`` for every checkpoint.
    """
    model, ids, steps, batch_size, marks = _check_training(model, ids, steps, batch_size, lr, checkpoints)
    if marks and callback is None:
        raise ValueError("`checkpoints` given without a `callback`")
    records: dict[int, Any] = {}

    def record(step: int) -> None:
        if step not in marks or callback is None:  # callback is set whenever marks are (checked above)
            return
        model.eval()
        with torch.no_grad():
            records[step] = callback(step, model)
        model.train()

    record(0)
    losses = train_gpt(
        model, ids, steps=steps, batch_size=batch_size, lr=lr, seed=seed, progress=progress, after_step=record
    )
    return losses, records


# --------------------------------------------------------------------------- training kept on disk
class CachedTraining(NamedTuple):
    """Result of :func:`train_cached`.

    Attributes
    ----------
    losses : list of float
        Training loss per step (nats per token), as returned by :func:`semlib.tvvar.train_gpt`.
    states : dict
        ``{step: state_dict}`` (tensors on the CPU) for every requested checkpoint; ``0`` is the
        model before the first step, ``steps`` the trained model.
    seconds : float
        Wall time of the training run that produced the result (not of loading it).
    from_cache : bool
        Whether this call loaded the result from disk instead of training.
    """

    losses: list[float]
    states: dict[int, dict[str, torch.Tensor]]
    seconds: float
    from_cache: bool


def _default_cache_dir() -> Path:
    env = os.environ.get("SEMLIB_CACHE_DIR")
    if env:
        return Path(env)
    root = Path(__file__).resolve().parents[1]
    if (root / "pyproject.toml").is_file():  # a clone of the book: its build folder
        return root / "_build" / "semlib-cache"
    return Path.home() / ".cache" / "semlib"


#: The modules whose code decides the trained parameters (the model, its training loop, the seeding).
_TRAINING_SOURCES = ("_backend.py", "tvvar.py", "capstone.py")


def _source_fingerprint() -> str:
    """SHA-256 of the training code: an edited (or mutated) training path never reads an old result."""
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for f in (here / name for name in _TRAINING_SOURCES):
        h.update(f.name.encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def _tensor_bytes(t: torch.Tensor) -> bytes:
    return t.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes()


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    """An exclusive lock on ``path`` (POSIX ``flock``; elsewhere no lock: at worst both train)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(path, "a+b") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def train_cached(
    model: TinyGPT,
    ids: torch.Tensor,
    *,
    steps: int = 300,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int | torch.Generator | None = 0,
    checkpoints: Sequence[int] = (),
    cache_dir: str | os.PathLike[str] | None = None,
    progress: bool = True,
) -> CachedTraining:
    r""":func:`semlib.tvvar.train_gpt`, with the losses and the parameters at chosen steps kept on disk.

    Trains ``model`` in place exactly as ``train_gpt(model, ids, steps=..., batch_size=...,
    lr=..., seed=...)`` and stores the losses and the state dicts at ``checkpoints`` (and at
    ``steps``) in ``cache_dir``. A later call with the same initial model, the same ``ids``,
    the same settings, the same training code (``_backend``, ``tvvar``, ``capstone``), torch version and device type loads the file
    instead and puts the trained parameters into ``model``: the two parts of the capstone
    share one training run. The key is a SHA-256 of all of these, so a changed input never
    reads a stale result; concurrent calls with the same key wait on a file lock, so the model
    is trained once. Torch-only.

    Parameters
    ----------
    model : TinyGPT
        The untrained model; trained (or loaded) in place.
    ids : torch.Tensor
        ``(B, T)`` token ids (torch.long), the training windows.
    steps, batch_size, lr
        As in :func:`semlib.tvvar.train_gpt`.
    seed : int, None or torch.Generator, default 0
        Random state of the minibatches (CONTRIBUTING.md, glossary). Only an int can be part of
        a key: with ``None`` or a generator the model is trained and nothing is stored.
    checkpoints : sequence of int
        Steps in ``0..steps`` whose parameters are returned (``0``: before training).
    cache_dir : path, optional
        Where the results live. Default: ``$SEMLIB_CACHE_DIR``, else ``_build/semlib-cache``
        of the book's clone, else ``~/.cache/semlib``.
    progress : bool
        tqdm progress bar while training.

    Returns
    -------
    CachedTraining
        ``losses``, ``states`` (``{step: state_dict}`` on the CPU), ``seconds`` (wall time of the
        training run) and ``from_cache``.

    Raises
    ------
    TypeError
        If ``model`` is not a TinyGPT or ``ids`` not a ``(B, T)`` long tensor.
    ValueError
        If ``steps``, ``batch_size``, ``lr`` or ``checkpoints`` are out of range.
    """
    model, ids, steps, batch_size, marks = _check_training(model, ids, steps, batch_size, lr, checkpoints)
    marks = sorted({*marks, steps})
    keyed = isinstance(seed, int) and not isinstance(seed, bool)
    if keyed:
        seed = _check_int(seed, "seed", 0)

    def snapshot() -> dict[str, torch.Tensor]:
        return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}

    def run() -> CachedTraining:
        t0 = time.perf_counter()
        losses, states = train_with_checkpoints(
            model,
            ids,
            steps=steps,
            batch_size=batch_size,
            lr=lr,
            seed=seed,
            checkpoints=marks,
            callback=lambda step, m: snapshot(),
            progress=progress,
        )
        return CachedTraining(losses, states, time.perf_counter() - t0, False)

    if not keyed:
        return run()
    dev = next(model.parameters()).device
    h = hashlib.sha256()
    settings = {
        "steps": steps,
        "batch_size": batch_size,
        "lr": float(lr),
        "seed": seed,
        "marks": marks,
        "torch": torch.__version__,
        "device": dev.type,
        "shape": list(ids.shape),
        "semlib": _source_fingerprint(),
    }
    h.update(json.dumps(settings, sort_keys=True).encode())
    for name, v in model.state_dict().items():
        h.update(f"{name}:{v.dtype}:{tuple(v.shape)}".encode())
        h.update(_tensor_bytes(v))
    h.update(_tensor_bytes(ids))
    folder = Path(cache_dir) if cache_dir is not None else _default_cache_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"train-{h.hexdigest()[:24]}.pt"
    with _file_lock(path.with_suffix(".lock")):
        if path.is_file():
            saved = torch.load(path, map_location="cpu", weights_only=True)
            model.load_state_dict(saved["states"][steps])
            model.eval()
            states = {int(k): v for k, v in saved["states"].items()}
            return CachedTraining([float(x) for x in saved["losses"]], states, float(saved["seconds"]), True)
        result = run()
        buf = io.BytesIO()
        torch.save({"losses": result.losses, "states": result.states, "seconds": result.seconds}, buf)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(fd, "wb") as fh:
            fh.write(buf.getvalue())
        os.replace(tmp, path)  # atomic: a reader sees the whole file or none
    return result
