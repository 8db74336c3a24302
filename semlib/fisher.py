r"""Fisher information, natural gradient and K-FAC for softmax models.

A model maps inputs :math:`x_n` to a categorical law
:math:`p_\theta(\cdot \mid x_n)` over :math:`K` classes (tokens). Its Fisher
information matrix, averaged over the inputs, is

.. math::

    F(\theta) = \frac1N \sum_{n=1}^N \sum_{y=1}^K p_\theta(y\mid x_n)\,
        \nabla_\theta \log p_\theta(y\mid x_n)\,
        \nabla_\theta \log p_\theta(y\mid x_n)^\top ,

and it equals the Hessian in :math:`\theta'` of the cross-entropy
:math:`\frac1N\sum_n H(p_\theta(\cdot\mid x_n), p_{\theta'}(\cdot\mid x_n))` at
:math:`\theta' = \theta` (Remark 2, Eq. (19) of the paper).

Two kinds of function live here.

* **Analytic, for a linear softmax layer** :math:`p = \mathrm{softmax}(W x)`
  with ``W`` of shape ``(K, D)`` flattened row by row (index ``k * D + d``):
  :func:`softmax_output_covariance`, :func:`layer_fisher`,
  :func:`softmax_fisher`, :func:`kfac_factors`, :func:`kfac_fisher`, and
  :func:`natural_gradient`. numpy in, numpy out (float64); torch in, torch
  out on the same device and dtype.
* **By autograd, for any model** given as a function ``log_probs_fn(theta)``
  that returns the ``(N, K)`` log-probabilities for a flat parameter tensor
  ``theta`` of shape ``(P,)``: :func:`fisher_from_logprobs`,
  :func:`cross_entropy_hessian`, :func:`nll_hessian` and
  :func:`empirical_fisher`. These take and return torch tensors; use float64
  where the identities are to be checked to rounding.

Introduced in the book's chapter *Information geometry* (§III-B, Remark 2).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ._backend import as_real_tensor, require_torch

__all__ = [
    "softmax_output_covariance",
    "layer_fisher",
    "softmax_fisher",
    "fisher_from_logprobs",
    "cross_entropy_hessian",
    "nll_hessian",
    "empirical_fisher",
    "natural_gradient",
    "kfac_factors",
    "kfac_fisher",
    "relative_frobenius_error",
]

LogProbsFn = Callable[[Any], Any]


# --- helpers -------------------------------------------------------------------------------


def _as_tensor(x: Any, name: str, dtype: Any = None) -> tuple[Any, bool]:
    """``x`` as a real floating tensor and whether it came in as numpy (see ``_backend.as_real_tensor``)."""
    return as_real_tensor(x, name, dtype)


def _back(t: Any, was_numpy: bool) -> Any:
    return t.detach().cpu().numpy() if was_numpy else t


def _check_ndim(x: Any, ndim: int, name: str, shape: str) -> None:
    if x.ndim != ndim:
        raise ValueError(f"`{name}` must have shape {shape}, got {tuple(x.shape)}")
    if x.numel() == 0:
        raise ValueError(f"`{name}` must not be empty, got shape {tuple(x.shape)}")


def _check_finite(x: Any, name: str) -> None:
    import torch

    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"`{name}` must have finite entries (found NaN or inf)")


def _check_theta_fn(log_probs_fn: Any, theta: Any) -> Any:
    import torch

    if not callable(log_probs_fn):
        raise TypeError(f"`log_probs_fn` must be callable, got {type(log_probs_fn).__name__}")
    if not isinstance(theta, torch.Tensor):
        raise TypeError(f"`theta` must be a torch.Tensor, got {type(theta).__name__}")
    if theta.ndim != 1 or theta.numel() == 0 or not theta.is_floating_point():
        raise ValueError(f"`theta` must be a non-empty 1-d floating tensor, got shape {tuple(theta.shape)}")
    theta = theta.detach()
    logp = log_probs_fn(theta)
    if not isinstance(logp, torch.Tensor) or logp.ndim != 2:
        shape = tuple(logp.shape) if isinstance(logp, torch.Tensor) else type(logp).__name__
        raise ValueError(f"`log_probs_fn(theta)` must return an (N, K) tensor, got {shape}")
    total = logp.detach().exp().sum(dim=1)
    tol = 1e-9 if logp.dtype == torch.float64 else 1e-4
    if not bool(torch.allclose(total, torch.ones_like(total), atol=tol, rtol=0)):
        raise ValueError("`log_probs_fn(theta)` must return log-probabilities whose rows sum to 1 after exp")
    return theta


def _jacobian(log_probs_fn: LogProbsFn, theta: Any, n_outputs: int) -> Any:
    """``J[n, k, i] = d log p(k | x_n) / d theta_i``, shape (N, K, P).

    Reverse mode batches one backward pass per output, and each holds the graph's
    intermediates: memory grows like ``N * K`` times the size of the forward pass, that is
    quadratically in N (about 47 GB for N = 12,800, K = 4 and a hidden layer of 8). With more
    outputs than parameters (the usual case here) forward mode is used instead, batched over the
    P parameters; a function without forward derivatives falls back to reverse mode.
    """
    from torch.autograd.functional import jacobian

    if n_outputs > theta.numel():
        import warnings

        try:
            with warnings.catch_warnings():  # torch's forward-mode path calls its deprecated torch.jit.script
                warnings.simplefilter("ignore", DeprecationWarning)
                return jacobian(log_probs_fn, theta, vectorize=True, strategy="forward-mode")
        except (RuntimeError, NotImplementedError):  # an operation without a forward derivative
            pass
    return jacobian(log_probs_fn, theta, vectorize=True)


# --- analytic: a linear softmax layer --------------------------------------------------------


def softmax_output_covariance(p: Any) -> Any:
    r"""Per-example output covariance :math:`\Gamma_n = \mathrm{diag}(p_n) - p_n p_n^\top`.

    This is the Fisher information of a categorical law in its logits, and the
    expected outer product of the logit gradient :math:`e_y - p_n` with
    :math:`y \sim p_n`.

    Parameters
    ----------
    p : array-like or torch.Tensor, shape (N, K)
        One probability vector per row.

    Returns
    -------
    Gamma : same backend, shape (N, K, K)

    Examples
    --------
    >>> softmax_output_covariance([[0.5, 0.5]])
    array([[[ 0.25, -0.25],
            [-0.25,  0.25]]])
    """
    import torch

    p_t, was_numpy = _as_tensor(p, "p")
    _check_ndim(p_t, 2, "p", "(N, K)")
    _check_finite(p_t, "p")
    if bool((p_t < 0).any()):
        raise ValueError("`p` must be non-negative")
    tol = 1e-9 if p_t.dtype == torch.float64 else 1e-5
    if bool(((p_t.sum(dim=1) - 1).abs() > tol).any()):
        raise ValueError(f"every row of `p` must sum to 1 (within {tol:g})")
    Gamma = torch.diag_embed(p_t) - p_t[:, :, None] * p_t[:, None, :]
    return _back(Gamma, was_numpy)


def layer_fisher(a: Any, Gamma: Any) -> Any:
    r"""Exact Fisher block of a linear layer :math:`s = W a`, :math:`W \in \mathbb R^{K\times D}`.

    .. math::

        F_W = \frac1N \sum_{n=1}^N \Gamma_n \otimes a_n a_n^\top ,

    where :math:`a_n` is the layer's input for example :math:`n` and
    :math:`\Gamma_n = \mathbb E_{y\sim p_n}[g_n g_n^\top]` the second moment of
    the gradient of :math:`\log p(y\mid x_n)` with respect to the layer's
    output :math:`s`. ``W`` is flattened row by row, so entry
    ``[k * D + d, l * D + e]`` pairs :math:`W_{kd}` with :math:`W_{le}`.

    Parameters
    ----------
    a : array-like or torch.Tensor, shape (N, D)
        Layer inputs.
    Gamma : array-like or torch.Tensor, shape (N, K, K)
        Output-side second moments, e.g. :func:`softmax_output_covariance`.

    Returns
    -------
    F : same backend as ``a``, shape (K * D, K * D)
    """
    import torch

    a_t, was_numpy = _as_tensor(a, "a")
    G_t, _ = _as_tensor(Gamma, "Gamma")
    _check_ndim(a_t, 2, "a", "(N, D)")
    _check_ndim(G_t, 3, "Gamma", "(N, K, K)")
    if G_t.shape[0] != a_t.shape[0] or G_t.shape[1] != G_t.shape[2]:
        raise ValueError(f"`Gamma` must have shape (N, K, K) with N = {a_t.shape[0]}, got {tuple(G_t.shape)}")
    G_t = G_t.to(device=a_t.device, dtype=a_t.dtype)
    N, D = a_t.shape
    K = G_t.shape[1]
    F = torch.einsum("nkl,nd,ne->kdle", G_t, a_t, a_t).reshape(K * D, K * D) / N
    return _back(F, was_numpy)


def softmax_fisher(W: Any, X: Any) -> Any:
    r"""Analytic Fisher matrix of the linear softmax model :math:`p(\cdot\mid x) = \mathrm{softmax}(W x)`.

    .. math::

        F(W) = \frac1N \sum_{n=1}^N \bigl(\mathrm{diag}(p_n) - p_n p_n^\top\bigr) \otimes x_n x_n^\top,
        \qquad p_n = \mathrm{softmax}(W x_n).

    It equals the Hessian of Eq. (19) and, because the log-probabilities are
    linear in ``W`` up to the log-partition function (an exponential family in
    its natural parameters), also the Hessian of the negative log-likelihood
    for *any* labels. Include a bias by appending a column of ones to ``X``.

    Parameters
    ----------
    W : array-like or torch.Tensor, shape (K, D)
        Weights; flattened row by row.
    X : array-like or torch.Tensor, shape (N, D)
        Inputs, one per row.

    Returns
    -------
    F : same backend as ``W``, shape (K * D, K * D)

    Examples
    --------
    >>> import numpy as np
    >>> F = softmax_fisher(np.zeros((2, 1)), np.ones((3, 1)))   # p = (1/2, 1/2)
    >>> F
    array([[ 0.25, -0.25],
           [-0.25,  0.25]])
    """
    import torch

    W_t, was_numpy = _as_tensor(W, "W")
    X_t, _ = _as_tensor(X, "X")
    _check_ndim(W_t, 2, "W", "(K, D)")
    _check_ndim(X_t, 2, "X", "(N, D)")
    _check_finite(W_t, "W")
    _check_finite(X_t, "X")
    if X_t.shape[1] != W_t.shape[1]:
        raise ValueError(f"`X` has {X_t.shape[1]} features but `W` expects D = {W_t.shape[1]}")
    X_t = X_t.to(device=W_t.device, dtype=W_t.dtype)
    p = torch.softmax(X_t @ W_t.T, dim=1)
    return _back(layer_fisher(X_t, softmax_output_covariance(p)), was_numpy)


# --- by autograd: any model -----------------------------------------------------------------


def fisher_from_logprobs(log_probs_fn: LogProbsFn, theta: Any) -> Any:
    r"""Fisher matrix by its definition: the model-weighted outer product of scores.

    Torch-only (autograd through ``log_probs_fn``): ``theta`` must be a torch.Tensor.

    .. math::

        F(\theta) = \frac1N \sum_n \sum_y p_\theta(y\mid x_n)\,
            \nabla \log p_\theta(y\mid x_n) \nabla \log p_\theta(y\mid x_n)^\top .

    The sum over :math:`y` is exact (no sampling).

    Parameters
    ----------
    log_probs_fn : callable
        ``log_probs_fn(theta)`` returns the ``(N, K)`` log-probabilities.
    theta : torch.Tensor, shape (P,)
        Parameters at which to evaluate.

    Returns
    -------
    F : torch.Tensor, shape (P, P)

    Examples
    --------
    >>> import torch
    >>> X = torch.ones(3, 1, dtype=torch.float64)
    >>> fn = lambda th: torch.log_softmax(X @ th.reshape(2, 1).T, dim=1)
    >>> fisher_from_logprobs(fn, torch.zeros(2, dtype=torch.float64))
    tensor([[ 0.2500, -0.2500],
            [-0.2500,  0.2500]], dtype=torch.float64)
    """
    require_torch(theta, "theta")
    theta = _check_theta_fn(log_probs_fn, theta)
    p = log_probs_fn(theta).detach().exp()
    J = _jacobian(log_probs_fn, theta, p.numel())
    return (J * p[:, :, None]).flatten(0, 1).T @ J.flatten(0, 1) / p.shape[0]


def cross_entropy_hessian(log_probs_fn: LogProbsFn, theta: Any) -> Any:
    r"""Eq. (19): the Hessian in :math:`\theta'` of the cross-entropy from the frozen model at :math:`\theta`.

    Torch-only (autograd through ``log_probs_fn``): ``theta`` must be a torch.Tensor.

    .. math::

        \nabla^2_{\theta'} \frac1N \sum_n H\bigl(p_\theta(\cdot\mid x_n),\,
            p_{\theta'}(\cdot\mid x_n)\bigr) \Big|_{\theta'=\theta},
        \qquad H(p, q) = -\sum_y p(y) \log q(y).

    The first argument is held at the current model; for any smooth model this
    equals :func:`fisher_from_logprobs`.

    Parameters
    ----------
    log_probs_fn : callable
        ``log_probs_fn(theta)`` returns the ``(N, K)`` log-probabilities.
    theta : torch.Tensor, shape (P,)

    Returns
    -------
    H : torch.Tensor, shape (P, P)
    """
    require_torch(theta, "theta")
    from torch.autograd.functional import hessian

    theta = _check_theta_fn(log_probs_fn, theta)
    p = log_probs_fn(theta).detach().exp()

    def ce(theta_prime: Any) -> Any:
        return -(p * log_probs_fn(theta_prime)).sum(dim=1).mean()

    return hessian(ce, theta, vectorize=True)


def _check_labels(y: Any, n: int, k: int) -> Any:
    import torch

    if not isinstance(y, torch.Tensor):
        y = torch.as_tensor(np.asarray(y))
    if y.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
        raise TypeError(f"`y` must hold integer class labels, got dtype {y.dtype}")
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"`y` must have shape ({n},), one label per example, got {tuple(y.shape)}")
    if bool((y < 0).any()) or bool((y >= k).any()):
        raise ValueError(f"`y` must hold labels in 0..{k - 1}")
    return y.long()


def nll_hessian(log_probs_fn: LogProbsFn, theta: Any, y: Any) -> Any:
    r"""Hessian of the training loss :math:`-\frac1N\sum_n \log p_\theta(y_n\mid x_n)` with observed labels.

    Torch-only (autograd through ``log_probs_fn``): ``theta`` must be a torch.Tensor.

    This is the curvature of the cross-entropy from the *data* to the model.
    It equals the Fisher matrix for every ``y`` when the log-probabilities are
    linear in :math:`\theta` up to the log-partition function (a linear
    softmax layer), and in expectation over :math:`y_n \sim p_\theta` for any
    model; otherwise it differs and may be indefinite.

    Parameters
    ----------
    log_probs_fn : callable
        ``log_probs_fn(theta)`` returns the ``(N, K)`` log-probabilities.
    theta : torch.Tensor, shape (P,)
    y : torch.Tensor or array-like of int, shape (N,)
        Observed labels.

    Returns
    -------
    H : torch.Tensor, shape (P, P)
    """
    require_torch(theta, "theta")
    from torch.autograd.functional import hessian

    theta = _check_theta_fn(log_probs_fn, theta)
    N, K = log_probs_fn(theta).shape
    y = _check_labels(y, N, K).to(theta.device)
    idx = _arange(N, theta)

    def nll(theta_prime: Any) -> Any:
        return -log_probs_fn(theta_prime)[idx, y].mean()

    return hessian(nll, theta, vectorize=True)


def _arange(n: int, like: Any) -> Any:
    import torch

    return torch.arange(n, device=like.device)


def empirical_fisher(log_probs_fn: LogProbsFn, theta: Any, y: Any) -> Any:
    r"""The "empirical Fisher": outer products of the gradients at the *observed* labels.

    Torch-only (autograd through ``log_probs_fn``): ``theta`` must be a torch.Tensor.

    .. math::

        \hat F(\theta) = \frac1N \sum_n \nabla \log p_\theta(y_n\mid x_n)\,
            \nabla \log p_\theta(y_n\mid x_n)^\top .

    It is not the Fisher matrix: the labels come from the data, not from the
    model. The two agree in expectation only when :math:`y_n \sim p_\theta`.

    Parameters
    ----------
    log_probs_fn : callable
        ``log_probs_fn(theta)`` returns the ``(N, K)`` log-probabilities.
    theta : torch.Tensor, shape (P,)
    y : torch.Tensor or array-like of int, shape (N,)

    Returns
    -------
    F_hat : torch.Tensor, shape (P, P)
    """
    require_torch(theta, "theta")
    theta = _check_theta_fn(log_probs_fn, theta)
    N, K = log_probs_fn(theta).shape
    y = _check_labels(y, N, K).to(theta.device)
    J = _jacobian(log_probs_fn, theta, N * K)
    g = J[_arange(N, theta), y]
    return g.T @ g / N


# --- natural gradient and K-FAC --------------------------------------------------------------


def natural_gradient(grad: Any, fisher: Any, damping: float = 0.0) -> Any:
    r"""Solve :math:`(F + \lambda I)\, v = g` for the natural-gradient direction :math:`v`.

    With ``damping == 0`` the Moore–Penrose pseudo-inverse is used, since the
    Fisher matrix of a softmax model is always singular (adding the same vector
    to every row of ``W`` leaves the probabilities unchanged).

    Parameters
    ----------
    grad : array-like or torch.Tensor, shape (P,)
        Gradient of the loss.
    fisher : array-like or torch.Tensor, shape (P, P)
        Symmetric positive semi-definite curvature matrix.
    damping : float, default 0
        :math:`\lambda \ge 0` added to the diagonal.

    Returns
    -------
    v : same backend as ``grad``, shape (P,)

    Examples
    --------
    >>> natural_gradient([1.0, 1.0], [[2.0, 0.0], [0.0, 0.5]])
    array([0.5, 2. ])
    """
    import torch

    g, was_numpy = _as_tensor(grad, "grad")
    F, _ = _as_tensor(fisher, "fisher")
    _check_ndim(g, 1, "grad", "(P,)")
    _check_ndim(F, 2, "fisher", "(P, P)")
    if F.shape != (g.shape[0], g.shape[0]):
        raise ValueError(f"`fisher` must have shape ({g.shape[0]}, {g.shape[0]}), got {tuple(F.shape)}")
    if isinstance(damping, bool) or not isinstance(damping, (int, float, np.floating, np.integer)):
        raise TypeError(f"`damping` must be a real number, got {type(damping).__name__}")
    if not np.isfinite(damping) or damping < 0:
        raise ValueError(f"`damping` must be finite and >= 0, got {damping}")
    _check_finite(g, "grad")
    _check_finite(F, "fisher")
    F = F.to(device=g.device, dtype=g.dtype)
    F = 0.5 * (F + F.T)
    if was_numpy:  # numpy in: solve in numpy (much faster for small matrices)
        Fn, gn = F.numpy(), g.numpy()
        if damping > 0:
            return np.linalg.solve(Fn + damping * np.eye(Fn.shape[0]), gn)
        return np.linalg.pinv(Fn, hermitian=True) @ gn
    if damping > 0:
        eye = torch.eye(F.shape[0], dtype=F.dtype, device=F.device)
        v = torch.linalg.solve(F + damping * eye, g)
    else:
        v = torch.linalg.pinv(F, hermitian=True) @ g
    return _back(v, was_numpy)


def kfac_factors(a: Any, Gamma: Any) -> tuple[Any, Any]:
    r"""The two Kronecker factors of K-FAC for a linear layer (Martens & Grosse, 2015).

    .. math::

        A = \frac1N \sum_n a_n a_n^\top, \qquad G = \frac1N \sum_n \Gamma_n,
        \qquad F_W \approx G \otimes A .

    K-FAC replaces the mean of Kronecker products in :func:`layer_fisher` by
    the Kronecker product of the means, which is exact when :math:`\Gamma_n`
    does not vary with :math:`n` (or :math:`N = 1`).

    Parameters
    ----------
    a : array-like or torch.Tensor, shape (N, D)
    Gamma : array-like or torch.Tensor, shape (N, K, K)

    Returns
    -------
    A : same backend as ``a``, shape (D, D)
    G : same backend as ``a``, shape (K, K)
    """
    a_t, was_numpy = _as_tensor(a, "a")
    G_t, _ = _as_tensor(Gamma, "Gamma")
    _check_ndim(a_t, 2, "a", "(N, D)")
    _check_ndim(G_t, 3, "Gamma", "(N, K, K)")
    if G_t.shape[0] != a_t.shape[0] or G_t.shape[1] != G_t.shape[2]:
        raise ValueError(f"`Gamma` must have shape (N, K, K) with N = {a_t.shape[0]}, got {tuple(G_t.shape)}")
    G_t = G_t.to(device=a_t.device, dtype=a_t.dtype)
    A = a_t.T @ a_t / a_t.shape[0]
    G = G_t.mean(dim=0)
    return _back(A, was_numpy), _back(G, was_numpy)


def kfac_fisher(A: Any, G: Any) -> Any:
    r"""The K-FAC approximation :math:`G \otimes A` as a dense ``(K*D, K*D)`` matrix.

    The ordering matches :func:`layer_fisher` (``W`` flattened row by row).

    Parameters
    ----------
    A : array-like or torch.Tensor, shape (D, D)
    G : array-like or torch.Tensor, shape (K, K)

    Returns
    -------
    F : same backend as ``A``, shape (K * D, K * D)

    Examples
    --------
    >>> kfac_fisher([[2.0]], [[1.0, 0.0], [0.0, 3.0]])
    array([[2., 0.],
           [0., 6.]])
    """
    import torch

    A_t, was_numpy = _as_tensor(A, "A")
    G_t, _ = _as_tensor(G, "G")
    for t, name in ((A_t, "A"), (G_t, "G")):
        _check_ndim(t, 2, name, "a square matrix")
        if t.shape[0] != t.shape[1]:
            raise ValueError(f"`{name}` must be square, got {tuple(t.shape)}")
    return _back(torch.kron(G_t.to(device=A_t.device, dtype=A_t.dtype), A_t), was_numpy)


def relative_frobenius_error(approx: Any, exact: Any) -> float:
    r"""Relative Frobenius error :math:`\|\tilde F - F\|_F / \|F\|_F` as a Python float.

    Examples
    --------
    >>> relative_frobenius_error([[1.0, 0.0], [0.0, 1.0]], [[1.0, 0.0], [0.0, 2.0]])
    0.4472135954999579
    """
    A_t, _ = _as_tensor(approx, "approx")
    E_t, _ = _as_tensor(exact, "exact")
    if A_t.shape != E_t.shape:
        raise ValueError(
            f"`approx` and `exact` must have the same shape, got {tuple(A_t.shape)} and {tuple(E_t.shape)}"
        )
    norm = float(E_t.norm())
    if norm == 0:
        raise ValueError("`exact` is the zero matrix; the relative error is undefined")
    return float((A_t.to(E_t) - E_t).norm()) / norm
