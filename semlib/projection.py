r"""Random projections for semantic compression (§IV-C of the paper).

A Johnson–Lindenstrauss (JL) map is a random matrix :math:`\mathbf A\in\mathbb R^{m\times N}`
with :math:`\E\|\mathbf A\mathbf x\|^2 = \|\mathbf x\|^2`; applied to the rows of a batch it
keeps, with high probability, every inner product of a finite point set within
:math:`\epsilon` once :math:`m \gtrsim \epsilon^{-2}\log M` (the paper's Lemma 1, Eq. 35).
This module gives the maps as objects that act on the last axis of a torch tensor (on the
tensor's own device):

* :class:`GaussianMap`: i.i.d. :math:`\mathcal N(0, 1/m)` entries, cost :math:`O(mN)`;
* :class:`SparseMap`: Achlioptas' :math:`\{\pm\sqrt{3/m}, 0\}` entries (density 1/3) or the
  *very sparse* maps of Li, Hastie and Church (density :math:`1/\sqrt N`);
* :class:`SignedMap`: the construction of the paper's Theorem 3 (Krahmer–Ward 2011): any
  :math:`(k,\delta)`-RIP matrix :math:`\mathbf A` composed with random column signs,
  :math:`\mathbf x\mapsto\mathbf A\mathbf D_\sigma\mathbf x`, so that
  :math:`\mathbf x^T\mathbf D_\sigma\mathbf P\mathbf D_\sigma\mathbf y` (Eq. 37) is the
  inner product after projection;
* :class:`SubsampledHadamard` (SRHT) and :class:`SubsampledDCT`: the fast RIP matrices of the
  paper's remark after Eq. (38), :math:`\sqrt{N/m}` times :math:`m` random rows of an
  orthonormal transform, with random signs, cost :math:`O(N\log N)` per vector.

The distortion measures are :func:`pair_distortion` (squared distances),
:func:`inner_product_errors` / :func:`cosine_distortion` (Eqs. 35 and 37) and
:func:`semantic_compression_distortion` (Eq. 39 with the coupling the paper's construction
fixes). :func:`jl_min_dim`, :func:`krahmer_ward_sparsity` and :func:`rip_min_dim` are the
dimension formulas of Lemma 1, Theorem 3 and Eq. (38).

Introduced in the chapter *Semantic compression* (``ch-semantic-compression``).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ._backend import check_int as _check_int
from ._backend import int_seed, numpy_core, torch_core

__all__ = [
    "fwht",
    "hadamard_matrix",
    "dct_ortho",
    "next_power_of_two",
    "JLMap",
    "GaussianMap",
    "SparseMap",
    "SignedMap",
    "SubsampledHadamard",
    "SubsampledDCT",
    "IdentityHadamardMap",
    "make_map",
    "MAP_KINDS",
    "pair_distortion",
    "inner_product_errors",
    "cosine_distortion",
    "semantic_compression_distortion",
    "distortion_curve",
    "jl_min_dim",
    "krahmer_ward_sparsity",
    "rip_min_dim",
    "rip_constant",
    "compression_route_dims",
    "fit_jl_constant",
]


# --------------------------------------------------------------------------------------------
# validation helpers


def _check_tensor(x: Any, name: str, last_dim: int | None = None) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"`{name}` must be a floating tensor, got {x.dtype}")
    if x.ndim < 1:
        raise ValueError(f"`{name}` must have at least one dimension")
    if last_dim is not None and x.shape[-1] != last_dim:
        raise ValueError(f"`{name}` must have last dimension {last_dim}, got shape {tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"`{name}` must be finite")
    return x


def _check_unit_interval(value: float, name: str) -> float:
    value = float(value)
    if not 0.0 < value < 1.0:
        raise ValueError(f"`{name}` must lie in (0, 1), got {value}")
    return value


def next_power_of_two(n: int) -> int:
    """The smallest power of two that is at least ``n``."""
    n = _check_int(n, "n")
    return 1 << (n - 1).bit_length()


# --------------------------------------------------------------------------------------------
# fast transforms


def hadamard_matrix(n: int, dtype: torch.dtype = torch.float64, device: Any = None) -> torch.Tensor:
    r"""The Sylvester–Hadamard matrix :math:`\mathbf H_n` (entries :math:`\pm1`, :math:`n = 2^p`).

    Same ordering as ``scipy.linalg.hadamard``: :math:`\mathbf H_{2n} = \begin{pmatrix}
    \mathbf H_n & \mathbf H_n\\ \mathbf H_n & -\mathbf H_n\end{pmatrix}`.
    """
    n = _check_int(n, "n")
    if n & (n - 1):
        raise ValueError(f"`n` must be a power of 2, got {n}")
    H = torch.ones(1, 1, dtype=dtype, device=device)
    while H.shape[0] < n:
        H = torch.cat([torch.cat([H, H], 1), torch.cat([H, -H], 1)], 0)
    return H


def _fwht_rows(y: torch.Tensor, radix: int) -> torch.Tensor:
    """Unnormalised FWHT of the rows of a 2-d tensor (see :func:`fwht`)."""
    b, n = y.shape
    # n = r_1 r_2 ... r_p with every r_t <= radix (chunks of bits taken from the right), and
    # H_n = H_{r_1} (x) ... (x) H_{r_p}. Pass t multiplies axis t of the (b, r_1, ..., r_p) view by
    # H_{r_t}: a batched product H @ y[(b a), r_t, c] for inner axes and y @ H for the last one,
    # so no transposed copies are made.
    bits, radix_bits = n.bit_length() - 1, radix.bit_length() - 1
    factors: list[int] = []
    while bits > 0:
        f = min(radix_bits, bits)
        factors.insert(0, 1 << f)
        bits -= f
    a = 1
    for r in factors:
        c = n // (a * r)
        H = hadamard_matrix(r, dtype=y.dtype, device=y.device)
        y = y.reshape(-1, r) @ H if c == 1 else torch.matmul(H, y.reshape(b * a, r, c))
        a *= r
    y = y.reshape(b, n)
    return y


@torch_core("x")
def fwht(x: torch.Tensor, *, normalized: bool = False, radix: int = 128) -> torch.Tensor:
    r"""Fast Walsh–Hadamard transform along the last axis, :math:`\mathbf y = \mathbf H_N\mathbf x`.

    Vectorised over all leading axes. The Sylvester matrix factorises as a Kronecker product,
    :math:`\mathbf H_{N} = \mathbf H_{r_1}\otimes\cdots\otimes\mathbf H_{r_p}` with
    :math:`N = r_1\cdots r_p`, so the transform is :math:`p = \lceil\log_r N\rceil` passes,
    each multiplying one axis of the reshaped batch by a small :math:`r\times r` Hadamard
    matrix: :math:`O(N r \log_r N)` operations, i.e. :math:`O(N\log N)` for a fixed radix.
    ``radix=2`` is the textbook butterfly; larger blocks trade a few more flops for fewer
    passes over memory and fast small matrix products (the default 128 is fastest on a CPU).

    Parameters
    ----------
    x : torch.Tensor, shape (..., N)
        Floating tensor; ``N`` must be a power of 2 (pad with :func:`next_power_of_two`).
    normalized : bool
        Divide by :math:`\sqrt N`, making the transform orthogonal (and its own inverse).
    radix : int
        Power of 2, at least 2: the size of the Hadamard blocks of one pass.

    Returns
    -------
    torch.Tensor, same shape, dtype and device as ``x``.
    """
    x = _check_tensor(x, "x")
    radix = _check_int(radix, "radix", 2)
    if radix & (radix - 1):
        raise ValueError(f"`radix` must be a power of 2, got {radix}")
    n = x.shape[-1]
    if n & (n - 1):
        raise ValueError(f"the last dimension of `x` must be a power of 2, got {n}; pad it first")
    shape = x.shape
    flat = x.reshape(-1, n)
    # rows in blocks of about 2^22 numbers: the working set stays in cache and the
    # allocator reuses its buffers (fresh multi-megabyte allocations cost page faults)
    block = max(1, (1 << 22) // n)
    if flat.shape[0] <= block:
        y = _fwht_rows(flat, radix)
    else:
        y = torch.empty_like(flat)
        for i in range(0, flat.shape[0], block):
            y[i : i + block] = _fwht_rows(flat[i : i + block], radix)
    if normalized:
        y = y / math.sqrt(n)
    return y.reshape(shape)


@torch_core("x")
def dct_ortho(x: torch.Tensor) -> torch.Tensor:
    r"""Orthonormal DCT-II along the last axis, computed with one FFT (Makhoul 1980).

    Equals ``scipy.fft.dct(x, type=2, norm="ortho")``:
    :math:`y_k = c_k\sum_{n=0}^{N-1} x_n\cos\frac{\pi k(2n+1)}{2N}` with
    :math:`c_0=\sqrt{1/N}`, :math:`c_k=\sqrt{2/N}`. Cost :math:`O(N\log N)`; any ``N``.
    """
    x = _check_tensor(x, "x")
    n = x.shape[-1]
    v = torch.cat([x[..., 0::2], x[..., 1::2].flip(-1)], dim=-1)
    V = torch.fft.fft(v, dim=-1)
    k = torch.arange(n, device=x.device, dtype=x.dtype)
    w = torch.exp(-1j * math.pi * k / (2 * n))
    y = (V * w).real * math.sqrt(2.0 / n)
    y[..., 0] = y[..., 0] / math.sqrt(2.0)
    return y.to(x.dtype)


# --------------------------------------------------------------------------------------------
# the maps


def _rademacher(n: int, generator: torch.Generator) -> torch.Tensor:
    """n independent uniform signs in {-1, +1} (float64, CPU)."""
    return torch.randint(0, 2, (n,), generator=generator, dtype=torch.int64).to(torch.float64) * 2 - 1


class JLMap:
    r"""A random linear map :math:`\mathbf x\mapsto\mathbf A\mathbf x`, :math:`\mathbb R^N\to\mathbb R^m`.

    Call it on a tensor of shape ``(..., N)``; it returns ``(..., m)`` on the same device and
    in the same dtype. Every map in this module is normalised so that
    :math:`\E\|\mathbf A\mathbf x\|^2 = \|\mathbf x\|^2`. ``seed`` fixes the randomness
    (the same seed gives the same matrix on every device); as everywhere in semlib it is an
    int >= 0, ``None`` (fresh entropy) or a generator, from which the int ``self.seed`` is drawn.

    Attributes
    ----------
    in_dim : int
        N.
    out_dim : int
        m.
    """

    name = "map"

    def __init__(self, in_dim: int, out_dim: int, seed: int | torch.Generator | None = 0):
        self.in_dim = _check_int(in_dim, "in_dim")
        self.out_dim = _check_int(out_dim, "out_dim")
        self.seed = int_seed(seed)
        if self.out_dim > self.in_dim:
            raise ValueError(f"`out_dim` must be at most `in_dim` = {self.in_dim}, got {self.out_dim}")

    def _generator(self, offset: int = 0) -> torch.Generator:
        return torch.Generator().manual_seed(self.seed * 1_000_003 + offset)

    def _apply(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = _check_tensor(x, "x", self.in_dim)
        return self._apply(x)

    def matrix(self, dtype: torch.dtype = torch.float64, device: Any = None) -> torch.Tensor:
        r"""The dense :math:`m\times N` matrix :math:`\mathbf A` (the map applied to the identity)."""
        eye = torch.eye(self.in_dim, dtype=dtype, device=device)
        return self(eye).T.contiguous()

    def __repr__(self) -> str:
        return f"{type(self).__name__}(in_dim={self.in_dim}, out_dim={self.out_dim}, seed={self.seed})"


class _DenseMap(JLMap):
    """A map stored as a dense matrix, made on the CPU in float64 and cached per dtype/device."""

    def _make(self) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def __init__(self, in_dim: int, out_dim: int, seed: int | torch.Generator | None = 0):
        super().__init__(in_dim, out_dim, seed)
        self._cache: dict[tuple, torch.Tensor] = {}
        self._base: torch.Tensor | None = None

    def _matrix_like(self, x: torch.Tensor) -> torch.Tensor:
        key = (x.dtype, x.device)
        if key not in self._cache:
            if self._base is None:
                self._base = self._make()
            self._cache[key] = self._base.to(dtype=x.dtype, device=x.device)
        return self._cache[key]

    def _apply(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self._matrix_like(x).T

    def matrix(self, dtype: torch.dtype = torch.float64, device: Any = None) -> torch.Tensor:
        r"""The stored :math:`m\times N` matrix :math:`\mathbf A` (no identity is built)."""
        probe = torch.empty(0, dtype=dtype, device=device)
        return self._matrix_like(probe).clone()


class GaussianMap(_DenseMap):
    r"""Dense Gaussian JL map: :math:`A_{ij}\sim\mathcal N(0, 1/m)` i.i.d. (Lemma 1, Eq. 35)."""

    name = "gaussian"

    def _make(self) -> torch.Tensor:
        g = self._generator()
        return torch.randn(self.out_dim, self.in_dim, generator=g, dtype=torch.float64) / math.sqrt(self.out_dim)


class SparseMap(_DenseMap):
    r"""Sparse sign map: :math:`A_{ij} = \pm 1/\sqrt{m\rho}` with probability :math:`\rho/2` each, else 0.

    ``density=1/3`` is Achlioptas' database-friendly map (entries :math:`\sqrt{3/m}\{\pm1, 0\}`);
    the default ``density=None`` is the *very sparse* map of Li, Hastie and Church,
    :math:`\rho = 1/\sqrt N`. :math:`\E A_{ij}^2 = 1/m`, so :math:`\E\|\mathbf A\mathbf x\|^2=\|\mathbf x\|^2`.
    """

    name = "sparse"

    def __init__(self, in_dim: int, out_dim: int, seed: int | torch.Generator | None = 0, density: float | None = None):
        super().__init__(in_dim, out_dim, seed)
        rho = 1.0 / math.sqrt(self.in_dim) if density is None else float(density)
        if not 0.0 < rho <= 1.0:
            raise ValueError(f"`density` must lie in (0, 1], got {density}")
        self.density = rho

    def _make(self) -> torch.Tensor:
        g = self._generator()
        u = torch.rand(self.out_dim, self.in_dim, generator=g, dtype=torch.float64)
        signs = torch.where(u < self.density / 2, -1.0, torch.where(u < self.density, 1.0, 0.0))
        return signs.to(torch.float64) / math.sqrt(self.out_dim * self.density)


class SignedMap(JLMap):
    r"""Theorem 3's map :math:`\mathbf x\mapsto\mathbf A\mathbf D_\sigma\mathbf x` (Krahmer–Ward 2011).

    :math:`\mathbf A` is a given matrix (ideally :math:`(k,\delta)`-RIP, Eq. 36) or another
    :class:`JLMap`; :math:`\mathbf D_\sigma` is diagonal with a Rademacher sequence
    :math:`\sigma\in\{-1,1\}^N`. Then
    :math:`(\mathbf A\mathbf D_\sigma\mathbf x)^T(\mathbf A\mathbf D_\sigma\mathbf y) =
    \mathbf x^T\mathbf D_\sigma\mathbf P\mathbf D_\sigma\mathbf y` with
    :math:`\mathbf P=\mathbf A^T\mathbf A` (Eq. 37).

    Parameters
    ----------
    base : torch.Tensor of shape (m, N), or JLMap
    seed : int, None or generator, default 0
        Random state of the signs (see CONTRIBUTING.md, glossary).
    """

    name = "signed"

    def __init__(self, base: torch.Tensor | JLMap, seed: int | torch.Generator | None = 0):
        if isinstance(base, JLMap):
            m, n = base.out_dim, base.in_dim
        elif isinstance(base, torch.Tensor):
            if base.ndim != 2 or not base.is_floating_point():
                raise ValueError("`base` must be a floating 2-d tensor (m, N) or a JLMap")
            m, n = base.shape
        else:
            raise TypeError(f"`base` must be a torch.Tensor or a JLMap, got {type(base).__name__}")
        super().__init__(n, m, seed)
        self.base = base
        self.signs = _rademacher(n, self._generator(7))

    def _apply(self, x: torch.Tensor) -> torch.Tensor:
        xs = x * self.signs.to(dtype=x.dtype, device=x.device)
        if isinstance(self.base, JLMap):
            return self.base(xs)
        return xs @ self.base.to(dtype=x.dtype, device=x.device).T


class _SubsampledTransform(JLMap):
    """sqrt(N'/m) * m random rows of an orthonormal transform of the sign-flipped, padded input."""

    def __init__(self, in_dim: int, out_dim: int, seed: int | torch.Generator | None = 0, signs: bool = True):
        super().__init__(in_dim, out_dim, seed)
        self.padded_dim = self._padded(self.in_dim)
        g = self._generator(1)
        self.rows = torch.sort(torch.randperm(self.padded_dim, generator=g)[: self.out_dim]).values
        self.use_signs = bool(signs)
        self.signs = _rademacher(self.in_dim, self._generator(2))

    def _padded(self, n: int) -> int:
        return n

    def _transform(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _apply(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        flat = x.reshape(-1, self.in_dim)
        signs = self.signs.to(dtype=x.dtype, device=x.device)
        rows = self.rows.to(x.device)
        scale = math.sqrt(self.padded_dim / self.out_dim)
        pad = self.padded_dim - self.in_dim
        block = max(1, (1 << 22) // self.padded_dim)  # rows per block, as in fwht
        out = torch.empty(flat.shape[0], self.out_dim, dtype=x.dtype, device=x.device)
        for i in range(0, flat.shape[0], block):
            z = flat[i : i + block]
            if self.use_signs:
                z = z * signs
            if pad:
                z = torch.nn.functional.pad(z, (0, pad))
            out[i : i + block] = self._transform(z).index_select(-1, rows) * scale
        return out.reshape(*shape[:-1], self.out_dim)


class SubsampledHadamard(_SubsampledTransform):
    r"""Subsampled randomised Hadamard transform (SRHT).

    :math:`\mathbf A = \sqrt{N'/m}\,\mathbf R\,\tfrac{1}{\sqrt{N'}}\mathbf H_{N'}\,\mathbf D_\sigma`
    after zero-padding :math:`N` to :math:`N' = 2^{\lceil\log_2 N\rceil}`; :math:`\mathbf R`
    keeps :math:`m` distinct rows chosen uniformly. Rows of :math:`\mathbf A` are orthogonal
    with squared norm :math:`N'/m`. Cost :math:`O(N'\log N')` per vector (:func:`fwht`).
    ``signs=False`` drops :math:`\mathbf D_\sigma`: the bare RIP matrix of Theorem 3.

    Notes
    -----
    On a CPU with a fast float64 BLAS, a dense Gaussian map is faster for small ``out_dim``: in
    ``benchmarks/projection.py`` (N = 2^14, 1000 inputs, float64, 2 shared cores) this transform
    ran at 0.46-0.48x the speed of scikit-learn's ``GaussianRandomProjection`` at m = 512
    (transform only), because the Walsh–Hadamard passes are memory-bound while the dense product
    runs at BLAS speed; it wins from about m = 2048 (1.3x, 3.7x counting the drawing of the map).
    For m much smaller than N on a CPU, when the map is reused, prefer a dense Gaussian map
    (:class:`GaussianMap` or scikit-learn's).
    """

    name = "srht"

    def __init__(
        self, in_dim: int, out_dim: int, seed: int | torch.Generator | None = 0, signs: bool = True, radix: int = 128
    ):
        self.radix = radix
        super().__init__(in_dim, out_dim, seed, signs)

    def _padded(self, n: int) -> int:
        return next_power_of_two(n)

    def _transform(self, x: torch.Tensor) -> torch.Tensor:
        return fwht(x, normalized=True, radix=self.radix)


class SubsampledDCT(_SubsampledTransform):
    r"""Subsampled randomised DCT: :math:`\sqrt{N/m}\,\mathbf R\,\mathbf C_N\,\mathbf D_\sigma`.

    :math:`\mathbf C_N` is the orthonormal DCT-II (:func:`dct_ortho`, one FFT); no padding is
    needed. ``signs=False`` drops :math:`\mathbf D_\sigma`.
    """

    name = "dct"

    def _transform(self, x: torch.Tensor) -> torch.Tensor:
        return dct_ortho(x)


class IdentityHadamardMap(JLMap):
    r"""Two orthonormal bases side by side: :math:`\mathbf A = [\,\mathbf I_m,\ \mathbf H_m/\sqrt m\,]`.

    A map :math:`\mathbb R^{2m}\to\mathbb R^m` (``out_dim`` = m a power of 2, ``in_dim`` = 2m)
    whose RIP constant is *certified*, not estimated: its columns have unit norm, the two blocks
    have orthonormal columns, and the cross block :math:`\mathbf H_{S_1S_2}/\sqrt m` of a
    support :math:`S_1\cup S_2` with :math:`|S_1|+|S_2|\le k` has spectral norm at most its
    Frobenius norm :math:`\sqrt{|S_1||S_2|/m}\le k/(2\sqrt m)`. Hence
    :math:`\delta_k\le k/(2\sqrt m)` (:meth:`rip_constant_bound`), which makes it a
    :math:`(k,\delta)`-RIP matrix in the sense of the paper's Eq. (36) for every
    :math:`k\le 2\delta\sqrt m`. With ``signs=True`` (default) the map is Theorem 3's
    :math:`\mathbf x\mapsto\mathbf A\mathbf D_\sigma\mathbf x`; cost :math:`O(m\log m)`
    per vector (:func:`fwht`), no matrix is stored. Introduced in the chapter *Semantic
    compression* (``ch-semantic-compression``), section on Theorem 3 at certifiable sizes.

    Parameters
    ----------
    out_dim : int
        m, a power of 2.
    seed : int, None or generator, default 0
        Random state of the signs (see CONTRIBUTING.md, glossary).
    signs : bool, default True
        Whether to apply :math:`\mathbf D_\sigma`; ``False`` gives the bare matrix.
    """

    name = "identity_hadamard"

    def __init__(self, out_dim: int, seed: int | torch.Generator | None = 0, signs: bool = True):
        m = _check_int(out_dim, "out_dim")
        if m & (m - 1):
            raise ValueError(f"`out_dim` must be a power of 2, got {m}")
        super().__init__(2 * m, m, seed)
        self.use_signs = bool(signs)
        self.signs = _rademacher(2 * m, self._generator(3))

    def _apply(self, x: torch.Tensor) -> torch.Tensor:
        m = self.out_dim
        if self.use_signs:
            x = x * self.signs.to(dtype=x.dtype, device=x.device)
        return x[..., :m] + fwht(x[..., m:], normalized=True)

    def rip_constant_bound(self, sparsity: int) -> float:
        r"""The certified bound :math:`\delta_k\le k/(2\sqrt m)` on the RIP constant of order ``sparsity``."""
        k = _check_int(sparsity, "sparsity")
        return k / (2 * math.sqrt(self.out_dim))


MAP_KINDS = ("gaussian", "achlioptas", "very_sparse", "srht", "dct", "signed_gaussian")


def make_map(kind: str, in_dim: int, out_dim: int, seed: int | torch.Generator | None = 0) -> JLMap:
    """A map by name: one of :data:`MAP_KINDS`.

    ``"signed_gaussian"`` is :class:`SignedMap` around a :class:`GaussianMap` (Theorem 3 with a
    Gaussian RIP matrix); ``"achlioptas"`` is :class:`SparseMap` with density 1/3 and
    ``"very_sparse"`` with density :math:`1/\\sqrt N`.
    """
    if not isinstance(kind, str) or kind not in MAP_KINDS:
        raise ValueError(f"`kind` must be one of {MAP_KINDS}, got {kind!r}")
    seed = int_seed(seed)
    if kind == "gaussian":
        return GaussianMap(in_dim, out_dim, seed)
    if kind == "achlioptas":
        return SparseMap(in_dim, out_dim, seed, density=1 / 3)
    if kind == "very_sparse":
        return SparseMap(in_dim, out_dim, seed)
    if kind == "srht":
        return SubsampledHadamard(in_dim, out_dim, seed)
    if kind == "dct":
        return SubsampledDCT(in_dim, out_dim, seed)
    return SignedMap(GaussianMap(in_dim, out_dim, seed), seed=seed + 1)


# --------------------------------------------------------------------------------------------
# distortion measures


def _pair(X: torch.Tensor, Y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    X = _check_tensor(X, "X")
    Y = _check_tensor(Y, "Y")
    if X.ndim != 2 or Y.ndim != 2:
        raise ValueError(f"`X` and `Y` must be 2-d (M, N) and (M, m), got {tuple(X.shape)} and {tuple(Y.shape)}")
    if X.shape[0] != Y.shape[0]:
        raise ValueError(f"`X` and `Y` must have the same number of rows, got {X.shape[0]} and {Y.shape[0]}")
    if X.shape[0] < 2:
        raise ValueError("`X` must have at least two rows")
    return X.to(torch.float64), Y.to(X.device, torch.float64)


@torch_core("X", "Y")
def pair_distortion(X: torch.Tensor, Y: torch.Tensor) -> float:
    r"""Largest relative error of squared pairwise distances (the classical JL distortion).

    .. math:: \max_{i<j}\Big|\frac{\|\mathbf y_i-\mathbf y_j\|^2}{\|\mathbf x_i-\mathbf x_j\|^2}-1\Big|


    The classical JL distortion; ``Y`` holds the images :math:`\mathbf y_i = \mathbf A\mathbf x_i`.
    Pairs of identical rows of ``X`` are skipped. Computed from Gram matrices in float64.
    """
    X, Y = _pair(X, Y)
    gx, gy = X @ X.T, Y @ Y.T
    dx = gx.diagonal()[:, None] + gx.diagonal()[None, :] - 2 * gx
    dy = gy.diagonal()[:, None] + gy.diagonal()[None, :] - 2 * gy
    iu = torch.triu_indices(X.shape[0], X.shape[0], 1, device=X.device)
    dx, dy = dx[iu[0], iu[1]], dy[iu[0], iu[1]]
    keep = dx > 1e-12 * dx.max().clamp_min(1e-300)
    if not bool(keep.any()):
        raise ValueError("all rows of `X` are identical")
    return float((dy[keep] / dx[keep] - 1).abs().max())


@torch_core("X", "Y")
def inner_product_errors(X: torch.Tensor, Y: torch.Tensor, *, renormalize: bool = False) -> torch.Tensor:
    r"""The matrix :math:`\mathbf s_i^T\mathbf s_j - \mathbf s_i^T\mathbf P\mathbf s_j` of Eqs. (35)/(37).

    With :math:`\mathbf y_i = \mathbf A\mathbf s_i`, :math:`\mathbf s_i^T\mathbf P\mathbf s_j =
    \mathbf y_i^T\mathbf y_j`. With ``renormalize=True`` the projected vectors are first put
    back on the sphere :math:`\mathbb S^{m-1}`, so the error is one of cosine similarities
    (then the diagonal is zero).

    Parameters
    ----------
    X : torch.Tensor, shape (M, N)
        The points :math:`\mathbf s_i` (rows; normalise them first for Eq. 35).
    Y : torch.Tensor, shape (M, m)
        Their images.

    Returns
    -------
    torch.Tensor, shape (M, M), float64, on the device of ``X``.
    """
    X, Y = _pair(X, Y)
    if renormalize:
        ny = Y.norm(dim=1, keepdim=True)
        if bool((ny == 0).any()):
            raise ValueError("a projected row of `Y` is zero: cannot renormalise")
        Y = Y / ny
    return X @ X.T - Y @ Y.T


@torch_core("X", "Y")
def cosine_distortion(X: torch.Tensor, Y: torch.Tensor, *, renormalize: bool = False, diagonal: bool = True) -> float:
    r"""The :math:`\epsilon` of Eq. (35)/(37), the largest inner-product error.

    .. math:: \max_{i,j}|\mathbf s_i^T\mathbf s_j-\mathbf s_i^T\mathbf P\mathbf s_j|


    ``diagonal=False`` takes the maximum over :math:`i\neq j` only (the off-diagonal cosines);
    ``renormalize`` as in :func:`inner_product_errors`.
    """
    E = inner_product_errors(X, Y, renormalize=renormalize).abs()
    if not diagonal:
        E = E - torch.diag(E.diagonal())
    return float(E.max())


@torch_core("X", "Y", "weights")
def semantic_compression_distortion(
    X: torch.Tensor, Y: torch.Tensor, weights: Any = None, *, renormalize: bool = True
) -> float:
    r"""The distortion of semantic compression, Eq. (39), with the coupling the construction fixes.

    .. math::

        d_s^2 = \sum_{i,j}\mu_i\mu_j\,\big|\mathbf s_i^T\mathbf s_j - \mathbf s_i'^T\mathbf s_j'\big|^2,

    the double integral of Eq. (39) against the coupling :math:`\pi = (\mathrm{id},\mathbf A)_\#\mu`
    that pairs each :math:`\mathbf s` with its own image. With ``renormalize=True``
    :math:`\mathbf s' = \mathbf A\mathbf s/\|\mathbf A\mathbf s\|` lies on :math:`\mathbb S^{m-1}`
    (the space S' of Eq. 39); with ``False``, :math:`\mathbf s_i'^T\mathbf s_j' =
    \mathbf s_i^T\mathbf P\mathbf s_j` as printed. Since this is one admissible coupling, the
    value is an upper bound on the Gromov–Wasserstein distance of Def. 12 (the minimum over all
    couplings).

    Parameters
    ----------
    X, Y : torch.Tensor, shapes (M, N) and (M, m)
    weights : array-like or torch.Tensor, shape (M,), optional
        The measure :math:`\mu` (non-negative, normalised here); uniform by default.
    """
    E = inner_product_errors(X, Y, renormalize=renormalize)
    M = E.shape[0]
    if weights is None:
        mu = torch.full((M,), 1.0 / M, dtype=torch.float64, device=E.device)
    else:
        mu = torch.as_tensor(weights, dtype=torch.float64).to(E.device)
        if mu.shape != (M,):
            raise ValueError(f"`weights` must have shape ({M},), got {tuple(mu.shape)}")
        if bool((mu < 0).any()) or not bool(torch.isfinite(mu).all()) or float(mu.sum()) <= 0:
            raise ValueError("`weights` must be finite, non-negative and not all zero")
        mu = mu / mu.sum()
    return float(mu @ (E**2) @ mu)


@torch_core("X")
def distortion_curve(
    X: torch.Tensor,
    kind: str,
    dims: Any,
    *,
    reps: int = 1,
    seed: int | np.random.Generator | torch.Generator | None = 0,
) -> torch.Tensor:
    r"""The :math:`\epsilon` of Eq. (35) for independent maps of one kind at several target dimensions.

    For every target dimension :math:`m` in ``dims`` and every repetition :math:`r`, draws the
    map ``make_map(kind, N, m)`` and returns

    .. math:: \epsilon_{m,r} = \max_{i,j}\big|\mathbf s_i^T\mathbf s_j -
              (\mathbf A_{m,r}\mathbf s_i)^T(\mathbf A_{m,r}\mathbf s_j)\big|,

    the largest error of Lemma 1's Eq. (35) over all pairs of rows of ``X``, the diagonal
    included (as :func:`cosine_distortion`; Gram matrices in float64). This is the curve
    :math:`\epsilon(m)` through which :func:`fit_jl_constant` fits Lemma 1's constant. Introduced
    in the chapter *Semantic compression* (``ch-semantic-compression``) and used again, with the
    same seed, in *RIP maps and the distortion of semantic compression* (``ch-rip-distortion``).

    Parameters
    ----------
    X : torch.Tensor or array-like, shape (M, N)
        The points :math:`\mathbf s_i` as rows (normalise them first for Eq. 35).
    kind : str
        One of :data:`MAP_KINDS`.
    dims : sequence of int
        Target dimensions, each in :math:`[1, N]`.
    reps : int, default 1
        Independent maps per dimension.
    seed : int, None or generator, default 0
        Random state (see CONTRIBUTING.md, glossary). An int (or one drawn from a generator) is
        combined with :math:`(m, r)` by ``numpy.random.SeedSequence``, so the map drawn for a
        given :math:`(m, r)` does not depend on the other entries of ``dims``: a call on a
        sub-grid reproduces the same numbers.

    Returns
    -------
    torch.Tensor, shape (len(dims), reps)
        On the device and in the floating dtype of ``X`` (numpy in, numpy out).
    """
    X = _check_tensor(X, "X")
    if X.ndim != 2 or X.shape[0] < 2:
        raise ValueError(f"`X` must be a 2-d tensor (M, N) with at least two rows, got shape {tuple(X.shape)}")
    if not isinstance(kind, str) or kind not in MAP_KINDS:
        raise ValueError(f"`kind` must be one of {MAP_KINDS}, got {kind!r}")
    if isinstance(dims, (str, bytes)) or not hasattr(dims, "__len__"):
        raise TypeError(f"`dims` must be a sequence of ints, got {type(dims).__name__}")
    n = X.shape[1]
    ms = [_check_int(m, "dims") for m in np.asarray(dims).ravel().tolist()] if len(dims) else []
    if not ms:
        raise ValueError("`dims` must not be empty")
    if max(ms) > n:
        raise ValueError(f"every entry of `dims` must be at most N = {n}, got {max(ms)}")
    reps = _check_int(reps, "reps")
    base = int_seed(seed)
    X64 = X.to(torch.float64)
    G = X64 @ X64.T
    out = torch.empty(len(ms), reps, dtype=torch.float64, device=X.device)
    for a, m in enumerate(ms):
        for r in range(reps):
            s = int(np.random.SeedSequence([base, m, r]).generate_state(1)[0])
            Y = make_map(kind, n, m, seed=s)(X64)
            out[a, r] = (G - Y @ Y.T).abs().max()
    return out.to(X.dtype)


# --------------------------------------------------------------------------------------------
# dimension formulas


def jl_min_dim(n_points: int, eps: float, C: float | None = None) -> int:
    r"""Target dimension of Lemma 1: :math:`m = \lceil C\,\epsilon^{-2}\log M\rceil`.

    With ``C=None`` the explicit form of Dasgupta and Gupta,
    :math:`m = \lceil 4\log M/(\epsilon^2/2-\epsilon^3/3)\rceil`, which is what
    ``sklearn.random_projection.johnson_lindenstrauss_min_dim`` computes (it rounds down,
    this function up; a distance guarantee, :math:`C\approx 8` for small :math:`\epsilon`).
    """
    n_points = _check_int(n_points, "n_points", 2)
    eps = _check_unit_interval(eps, "eps")
    if C is None:
        return math.ceil(4 * math.log(n_points) / (eps**2 / 2 - eps**3 / 3))
    if not C > 0:
        raise ValueError(f"`C` must be positive, got {C}")
    return math.ceil(C * math.log(n_points) / eps**2)


def krahmer_ward_sparsity(n_points: int, eta: float, eps: float) -> tuple[int, float]:
    r"""The RIP order and constant of Theorem 3: :math:`k = \lceil 40\log(4M/\eta)\rceil`, :math:`\delta = \epsilon/4`.

    Pass ``n_points = M**2`` for inner products of M points (polarisation; see the chapter).
    """
    n_points = _check_int(n_points, "n_points", 1)
    eta = _check_unit_interval(eta, "eta")
    eps = _check_unit_interval(eps, "eps")
    return math.ceil(40 * math.log(4 * n_points / eta)), eps / 4


def rip_min_dim(sparsity: int, delta: float, in_dim: int, C: float = 1.0) -> int:
    r"""Rows a Gaussian matrix needs to be :math:`(k,\delta)`-RIP: :math:`m = \lceil C\delta^{-2}k\log(eN/k)\rceil`.

    The order of magnitude of the standard bound (Foucart and Rauhut, ch. 9); ``C=1`` is an
    optimistic constant. For :math:`k\ge N` every vector is :math:`k`-sparse and RIP means a
    near-isometry of all of :math:`\mathbb R^N`, which needs :math:`m\ge N`; then ``in_dim`` is
    returned. ``sparsity`` is :math:`k` (in semlib ``k`` names a number of neighbours).
    """
    k = _check_int(sparsity, "sparsity")
    in_dim = _check_int(in_dim, "in_dim")
    delta = _check_unit_interval(delta, "delta")
    if k >= in_dim:
        return in_dim
    return math.ceil(C * k * math.log(math.e * in_dim / k) / delta**2)


@numpy_core("A")
def rip_constant(A: Any, sparsity: int, max_supports: int = 200_000) -> float:
    r"""The exact RIP constant :math:`\delta_k` of a matrix, by enumerating all supports.

    .. math:: \delta_k = \max_{|S| = k}\ \max\big(\lambda_{\max}(\mathbf A_S^T\mathbf A_S) - 1,\
              1 - \lambda_{\min}(\mathbf A_S^T\mathbf A_S)\big),

    the smallest :math:`\delta` with :math:`(1-\delta)\|\mathbf s\|^2\le\|\mathbf A\mathbf s\|^2
    \le(1+\delta)\|\mathbf s\|^2` for every :math:`k`-sparse :math:`\mathbf s` (the paper's Eq. 36
    on the unit sphere). Supports of size exactly :math:`k` suffice: by Cauchy interlacing a
    smaller support's eigenvalues lie between those of any support containing it. The cost is
    :math:`\binom Nk` eigenvalue problems, so this certifies only small instances; introduced in
    the chapter *Semantic compression* (``ch-semantic-compression``).

    Parameters
    ----------
    A : array-like or torch.Tensor, shape (m, N)
    sparsity : int
        :math:`k`, with :math:`1\le k\le N`.
    max_supports : int, default 200000
        Refuse (``ValueError``) when :math:`\binom Nk` exceeds this.
    """
    A = np.asarray(A, dtype=np.float64)
    if A.ndim != 2 or A.size == 0:
        raise ValueError(f"`A` must be a non-empty 2-d array (m, N), got shape {A.shape}")
    if not np.all(np.isfinite(A)):
        raise ValueError("`A` must be finite")
    n = A.shape[1]
    k = _check_int(sparsity, "sparsity")
    if k > n:
        raise ValueError(f"`sparsity` must be at most N = {n}, got {k}")
    max_supports = _check_int(max_supports, "max_supports")
    if math.comb(n, k) > max_supports:
        raise ValueError(f"C({n}, {k}) = {math.comb(n, k)} supports exceed `max_supports` = {max_supports}")
    import itertools

    gram = A.T @ A
    supports = np.array(list(itertools.combinations(range(n), k)))
    worst = 0.0
    for i in range(0, len(supports), 4096):
        s = supports[i : i + 4096]
        w = np.linalg.eigvalsh(gram[s[:, :, None], s[:, None, :]])
        worst = max(worst, float(np.abs(w - 1).max()))
    return worst


def compression_route_dims(n_points: int, in_dim: int, eps: float, eta: float, C: float = 1.0) -> dict[str, int]:
    r"""The target dimension :math:`m` that each route of §IV-C asks for, with one constant :math:`C`.

    * ``"lemma1"``: :math:`C\epsilon^{-2}\log M` (Lemma 1, Eq. 35);
    * ``"eq38"``: :math:`C\epsilon^{-2}\log(M/\eta)\log N` (Eq. 38, partial Gaussian);
    * ``"thm3_gaussian"``: a Gaussian matrix that is :math:`(k,\epsilon/4)`-RIP,
      :math:`C\delta^{-2}k\log(eN/k)` (:func:`rip_min_dim`), with Theorem 3's order after
      polarisation, :math:`k=\lceil 40\log(4M^2/\eta)\rceil` (:func:`krahmer_ward_sparsity`);
    * ``"thm3_subsampled"``: a subsampled orthogonal transform (DFT, DCT, Hadamard rows) that is
      :math:`(k,\epsilon/4)`-RIP, :math:`C\delta^{-2}k\log^2 k\,\log N` (the Rudelson–Vershynin
      form of the bound, Foucart and Rauhut ch. 12).

    An RIP route whose order :math:`k` reaches :math:`N` needs :math:`m\ge N` (RIP of order
    :math:`N` is an isometry of :math:`\mathbb R^N`) and gets ``in_dim``. The constants of the
    bounds are unknown; with one :math:`C` for all, the ratios are what the formulas say about
    the routes. Introduced in the chapter *Semantic compression* (``ch-semantic-compression``).
    """
    n_points = _check_int(n_points, "n_points", 2)
    in_dim = _check_int(in_dim, "in_dim", 2)
    eps = _check_unit_interval(eps, "eps")
    eta = _check_unit_interval(eta, "eta")
    if not (isinstance(C, (int, float)) and C > 0):
        raise ValueError(f"`C` must be positive, got {C}")
    k, delta = krahmer_ward_sparsity(n_points**2, eta, eps)
    if k >= in_dim:
        sub = in_dim
    else:
        sub = math.ceil(C * k * math.log(k) ** 2 * math.log(in_dim) / delta**2)
    return {
        "lemma1": math.ceil(C * math.log(n_points) / eps**2),
        "eq38": math.ceil(C * math.log(n_points / eta) * math.log(in_dim) / eps**2),
        "thm3_gaussian": rip_min_dim(k, delta, in_dim, C),
        "thm3_subsampled": sub,
    }


@numpy_core("m", "eps")
def fit_jl_constant(m: Any, eps: Any, n_points: int) -> float:
    r"""Least-squares fit of :math:`C` in :math:`\epsilon = \sqrt{C\log M/m}` (on the log scale).

    Returns :math:`\exp(\mathrm{mean}(\log(m\epsilon^2/\log M)))`, the :math:`C` that makes
    Lemma 1's formula pass through the measured curve :math:`\epsilon(m)`.
    """
    m = np.asarray(m, dtype=float)
    eps = np.asarray(eps, dtype=float)
    if m.shape != eps.shape or m.size == 0:
        raise ValueError("`m` and `eps` must be non-empty and of equal shape")
    if np.any(m <= 0) or np.any(eps <= 0):
        raise ValueError("`m` and `eps` must be positive")
    n_points = _check_int(n_points, "n_points", 2)
    return float(np.exp(np.mean(np.log(m * eps**2 / math.log(n_points)))))
