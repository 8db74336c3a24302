r"""Nearest-neighbour search as decoding (Remark 4 of the paper).

Exact :math:`k`-nearest-neighbour search by cosine similarity with batched matrix products
(:func:`exact_knn`), recall of an approximate result against the exact one
(:func:`recall_at_k`), a thin wrapper around a ``faiss`` index (:class:`FaissIndex`: exact
flat, HNSW, IVF-Flat, IVF-PQ), the recall/speed trade-off along an index's knob
(:func:`sweep_knob`) and the decoding view: nearest-codeword decoding of noisy
codewords (:func:`nearest_codeword`).

Introduced in the chapter *Nearest-neighbour search as decoding* (``ch-ann-search``).
"""

from __future__ import annotations

import importlib.util
import math
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch

from semlib.embeddings import MissingOptionalDependency

from ._backend import int_seed, torch_core

__all__ = ["exact_knn", "recall_at_k", "nearest_codeword", "FaissIndex", "INDEX_KINDS", "KnobPoint", "sweep_knob"]

INDEX_KINDS = ("flat", "hnsw", "ivf_flat", "ivf_pq")


def _check_2d(x: Any, name: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"`{name}` must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"`{name}` must be a floating tensor, got {x.dtype}")
    if x.ndim != 2 or x.shape[0] == 0:
        raise ValueError(f"`{name}` must be a non-empty 2-d tensor, got shape {tuple(x.shape)}")
    if not bool(torch.isfinite(x).all()):
        raise ValueError(f"`{name}` must be finite")
    return x


def _check_int(value: Any, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"`{name}` must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"`{name}` must be >= {minimum}, got {value}")
    return int(value)


def _normalize(x: torch.Tensor, name: str) -> torch.Tensor:
    n = x.norm(dim=1, keepdim=True)
    if bool((n == 0).any()):
        raise ValueError(f"`{name}` has a zero row: its cosine similarity is undefined")
    return x / n


@torch_core("queries", "database")
def exact_knn(
    queries: torch.Tensor, database: torch.Tensor, k: int, *, cosine: bool = True, batch_size: int = 4096
) -> tuple[torch.Tensor, torch.Tensor]:
    r"""Exact :math:`k` nearest neighbours by cosine similarity (or inner product).

    For each query :math:`\mathbf q`, the indices of the :math:`k` largest
    :math:`\cos(\mathbf q,\mathbf s_i)` over the database rows, best first: the nearest
    codewords in Euclidean distance on the sphere, since
    :math:`\|\mathbf q-\mathbf s\|^2 = 2 - 2\cos(\mathbf q,\mathbf s)` for unit vectors.
    Computed by one matrix product per batch of queries and ``torch.topk``:
    :math:`O(QMN)` operations.

    Parameters
    ----------
    queries : torch.Tensor, shape (Q, N)
    database : torch.Tensor, shape (M, N)
    k : int
        Number of neighbours, ``1 <= k <= M``.
    cosine : bool
        Normalise rows first (cosine); ``False`` ranks by raw inner product.
    batch_size : int
        Queries per matrix product.

    Returns
    -------
    scores : torch.Tensor, shape (Q, k)
    indices : torch.Tensor of int64, shape (Q, k)
        On the device of ``queries``.
    """
    queries = _check_2d(queries, "queries")
    database = _check_2d(database, "database").to(device=queries.device, dtype=queries.dtype)
    if queries.shape[1] != database.shape[1]:
        raise ValueError(f"`queries` has dimension {queries.shape[1]} but `database` has {database.shape[1]}")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
        raise TypeError(f"`k` must be an int, got {type(k).__name__}")
    if not 1 <= k <= database.shape[0]:
        raise ValueError(f"`k` must lie in [1, {database.shape[0]}], got {k}")
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be a positive int, got {batch_size!r}")
    if cosine:
        queries, database = _normalize(queries, "queries"), _normalize(database, "database")
    scores, indices = [], []
    for i in range(0, queries.shape[0], batch_size):
        s, j = torch.topk(queries[i : i + batch_size] @ database.T, int(k), dim=1)
        scores.append(s)
        indices.append(j)
    return torch.cat(scores), torch.cat(indices)


def recall_at_k(approx: Any, exact: Any, k: int | None = None) -> float:
    r"""Recall@k: the mean fraction of the exact :math:`k` neighbours that the approximate result found.

    .. math:: \mathrm{recall@}k = \frac{1}{Qk}\sum_{q=1}^{Q}\big|\hat N_k(q)\cap N_k(q)\big|.

    Parameters
    ----------
    approx, exact : array-like or torch.Tensor of ints, shape (Q, >= k)
        Neighbour indices, best first (``-1`` marks a missing result, as faiss does).
    k : int, optional
        Defaults to the width of ``exact``.
    """
    a = torch.as_tensor(np.asarray(approx) if not isinstance(approx, torch.Tensor) else approx)
    e = torch.as_tensor(np.asarray(exact) if not isinstance(exact, torch.Tensor) else exact).to(a.device)
    for t, name in ((a, "approx"), (e, "exact")):
        if t.ndim != 2 or t.dtype.is_floating_point:
            raise ValueError(f"`{name}` must be a 2-d integer array of indices, got shape {tuple(t.shape)}, {t.dtype}")
    if a.shape[0] != e.shape[0]:
        raise ValueError(
            f"`approx` and `exact` must have the same number of queries, got {a.shape[0]} and {e.shape[0]}"
        )
    k = e.shape[1] if k is None else _check_int(k, "k")
    if not 1 <= k <= min(a.shape[1], e.shape[1]):
        raise ValueError(f"`k` must lie in [1, {min(a.shape[1], e.shape[1])}], got {k}")
    a, e = a[:, :k], e[:, :k]
    hits = ((a[:, :, None] == e[:, None, :]) & (e[:, None, :] >= 0)).any(dim=2)
    return float(hits.sum()) / (a.shape[0] * k)


@torch_core("received", "codebook")
def nearest_codeword(received: torch.Tensor, codebook: torch.Tensor, *, metric: str = "euclidean") -> torch.Tensor:
    r"""Minimum-distance decoding: the index of the codeword nearest to each received word.

    ``metric="euclidean"``: :math:`\arg\min_c\|\mathbf r-\mathbf c\|^2 =
    \arg\max_c(2\mathbf r^T\mathbf c - \|\mathbf c\|^2)`, the maximum-likelihood decoder for
    equiprobable codewords in white Gaussian noise. ``metric="cosine"``: the largest cosine,
    the same decision when all codewords have equal norm (a spherical code, such as normalised
    token vectors).

    Returns
    -------
    torch.Tensor of int64, shape (R,), on the device of ``received``.
    """
    received = _check_2d(received, "received")
    codebook = _check_2d(codebook, "codebook").to(device=received.device, dtype=received.dtype)
    if received.shape[1] != codebook.shape[1]:
        raise ValueError(f"`received` has length {received.shape[1]} but the codewords have {codebook.shape[1]}")
    if metric == "euclidean":
        return (2 * received @ codebook.T - (codebook**2).sum(1)).argmax(dim=1)
    if metric == "cosine":
        return exact_knn(received, codebook, 1)[1][:, 0]
    raise ValueError(f"`metric` must be 'euclidean' or 'cosine', got {metric!r}")


class FaissIndex:
    r"""A faiss index over unit vectors, searched by inner product (= cosine).

    Parameters
    ----------
    vectors : torch.Tensor, shape (M, N)
        The database; rows are normalised and stored as float32.
    kind : {"flat", "hnsw", "ivf_flat", "ivf_pq"}
        ``flat``: exact search (``IndexFlatIP``); ``hnsw``: a hierarchical navigable small-world
        graph (``IndexHNSWFlat``, parameter ``M`` = links per node, ``ef_construction``);
        ``ivf_flat``: ``nlist`` k-means cells, exact inside the visited cells;
        ``ivf_pq``: the same with product-quantised vectors (``pq_m`` sub-quantisers of
        ``pq_bits`` bits).
    n_train : int, optional
        Train the IVF/PQ quantisers on this many randomly chosen rows (all rows by default);
        training on a subset is much faster and barely changes the index.
    seed : int, None or generator, default 0
        Random state of faiss' k-means and of the training subset (IVF kinds); see
        CONTRIBUTING.md, glossary. A generator or ``None`` gives an int seed drawn from it.

    Notes
    -----
    The knob that trades recall for speed is set with :meth:`set_knob`: ``efSearch`` for HNSW,
    ``nprobe`` (cells visited) for IVF.

    Raises
    ------
    MissingOptionalDependency
        If ``faiss`` (``pip install faiss-cpu``) is not installed.
    """

    def __init__(
        self,
        vectors: torch.Tensor,
        kind: str = "hnsw",
        *,
        M: int = 16,
        ef_construction: int = 40,
        nlist: int = 256,
        pq_m: int = 16,
        pq_bits: int = 8,
        n_train: int | None = None,
        seed: int | np.random.Generator | torch.Generator | None = 0,
    ):
        if importlib.util.find_spec("faiss") is None:
            raise MissingOptionalDependency(
                "`faiss-cpu` is not installed; it is needed for approximate nearest-neighbour indexes. "
                "Install it with `pip install faiss-cpu` (the book's environment, `make env`, has it)."
            )
        import faiss

        if kind not in INDEX_KINDS:
            raise ValueError(f"`kind` must be one of {INDEX_KINDS}, got {kind!r}")
        M, ef_construction, nlist, pq_m, pq_bits = (
            _check_int(v, name)
            for v, name in (
                (M, "M"),
                (ef_construction, "ef_construction"),
                (nlist, "nlist"),
                (pq_m, "pq_m"),
                (pq_bits, "pq_bits"),
            )
        )
        seed = int_seed(seed)
        vectors = _normalize(_check_2d(vectors, "vectors"), "vectors")
        x = np.ascontiguousarray(vectors.detach().cpu().numpy(), dtype=np.float32)
        n, d = x.shape
        self.kind, self.dim, self.size = kind, d, n
        ip = faiss.METRIC_INNER_PRODUCT
        index: faiss.Index
        if kind == "flat":
            index = faiss.IndexFlatIP(d)
        elif kind == "hnsw":
            hnsw = faiss.IndexHNSWFlat(d, int(M), ip)
            hnsw.hnsw.efConstruction = int(ef_construction)
            index = hnsw
        else:
            if not 1 <= nlist <= n:
                raise ValueError(f"`nlist` must lie in [1, {n}], got {nlist}")
            quantizer = faiss.IndexFlatIP(d)
            ivf: faiss.IndexIVF
            if kind == "ivf_flat":
                ivf = faiss.IndexIVFFlat(quantizer, d, int(nlist), ip)
            else:
                if d % pq_m:
                    raise ValueError(f"`pq_m` must divide the dimension {d}, got {pq_m}")
                ivf = faiss.IndexIVFPQ(quantizer, d, int(nlist), int(pq_m), int(pq_bits), ip)
            ivf.cp.seed = int(seed)
            index = ivf
            train = x
            if n_train is not None:
                if isinstance(n_train, bool) or not isinstance(n_train, (int, np.integer)) or not nlist <= n_train:
                    raise ValueError(f"`n_train` must be an int of at least `nlist` = {nlist}, got {n_train!r}")
                if n_train < n:
                    pick = np.random.default_rng(seed).choice(n, size=int(n_train), replace=False)
                    train = x[np.sort(pick)]
            index.train(train)
            self._quantizer = quantizer  # keep it alive: faiss does not own it
        index.add(x)
        self.index = index

    @property
    def knob_name(self) -> str | None:
        """``"efSearch"`` (HNSW), ``"nprobe"`` (IVF) or None (flat)."""
        return {"hnsw": "efSearch", "ivf_flat": "nprobe", "ivf_pq": "nprobe"}.get(self.kind)

    def set_knob(self, value: int) -> FaissIndex:
        """Set efSearch (HNSW) or nprobe (IVF); returns the index."""
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"the knob must be a positive int, got {value!r}")
        import faiss  # loaded already: this index was built with it

        index = self.index
        if self.kind == "hnsw":
            assert isinstance(index, faiss.IndexHNSW)
            index.hnsw.efSearch = int(value)
        elif self.kind in ("ivf_flat", "ivf_pq"):
            assert isinstance(index, faiss.IndexIVF)
            index.nprobe = int(value)
        else:
            raise ValueError("a flat index has no knob")
        return self

    def search(self, queries: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Approximate top-``k`` by cosine: (scores, indices) as torch tensors on the queries' device."""
        queries = _normalize(_check_2d(queries, "queries"), "queries")
        if queries.shape[1] != self.dim:
            raise ValueError(f"`queries` has dimension {queries.shape[1]}, the index {self.dim}")
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= self.size:
            raise ValueError(f"`k` must be an int in [1, {self.size}], got {k!r}")
        q = np.ascontiguousarray(queries.detach().cpu().numpy(), dtype=np.float32)
        D, I = self.index.search(q, int(k))
        return torch.from_numpy(D).to(queries.device), torch.from_numpy(I).to(queries.device)

    def __repr__(self) -> str:
        return f"FaissIndex(kind={self.kind!r}, size={self.size}, dim={self.dim})"


class KnobPoint(NamedTuple):
    """One point of a recall/speed curve (:func:`sweep_knob`)."""

    knob: int
    """The value of ``efSearch`` (HNSW) or ``nprobe`` (IVF)."""
    recall: float
    """recall@k of the index's answer against the exact neighbours (:func:`recall_at_k`)."""
    qps: float
    """Queries per second: the number of queries over the best of ``repeats`` wall-clock timings."""
    indices: torch.Tensor
    """The index's answer, shape (Q, k)."""


def sweep_knob(
    index: FaissIndex, knobs: Sequence[int], queries: torch.Tensor, exact: Any, *, repeats: int = 1
) -> list[KnobPoint]:
    r"""Recall@k against queries per second along the knob of an approximate index.

    For each value of the knob (``efSearch`` for HNSW, ``nprobe`` for IVF), sets it
    (:meth:`FaissIndex.set_knob`), searches the ``k = exact.shape[1]`` nearest neighbours of
    every query ``repeats`` times, and records

    .. math:: \mathrm{recall@}k = \frac{1}{Qk}\sum_{q=1}^{Q}\big|\hat N_k(q)\cap N_k(q)\big|,
              \qquad \mathrm{QPS} = \frac{Q}{\min_{\text{repeats}} t},

    the recall of the answer against the exact neighbours (:func:`recall_at_k`) and the rate of
    the fastest of the timed searches (the minimum is the least disturbed by other load on the
    machine). This is the approximate side of Remark 4's decoding view: a knob trades the
    exactness of the nearest-codeword search for speed. Torch-only (the queries go to
    :meth:`FaissIndex.search`). Introduced in the chapter *Nearest-neighbour search as decoding*
    (``ch-ann-search``).

    Parameters
    ----------
    index : FaissIndex
        An HNSW or IVF index (a flat index has no knob). Its knob is left at the last value.
    knobs : sequence of int
        Knob values, each >= 1, in the order they are tried.
    queries : torch.Tensor, shape (Q, N)
        The query vectors (normalised by the index).
    exact : torch.Tensor or array-like of ints, shape (Q, k)
        The exact neighbours of each query, e.g. from :func:`exact_knn`.
    repeats : int, default 1
        Timed searches per knob value; the recall is that of the last (all are equal).

    Returns
    -------
    list of KnobPoint
        ``(knob, recall, qps, indices)`` per knob value, in the order of ``knobs``.

    Raises
    ------
    TypeError
        If ``index`` is not a :class:`FaissIndex`, or ``knobs``, ``repeats`` are not ints.
    ValueError
        If the index is flat, ``knobs`` is empty, or ``exact`` does not have one row per query.
    """
    if not isinstance(index, FaissIndex):
        raise TypeError(f"`index` must be a FaissIndex, got {type(index).__name__}")
    if index.knob_name is None:
        raise ValueError(f"`index` must have a knob (hnsw, ivf_flat or ivf_pq), got kind {index.kind!r}")
    if isinstance(knobs, (str, bytes)) or not isinstance(knobs, Sequence) and not hasattr(knobs, "tolist"):
        raise TypeError(f"`knobs` must be a sequence of ints, got {type(knobs).__name__}")
    values = [_check_int(kn, "knobs") for kn in (knobs.tolist() if hasattr(knobs, "tolist") else knobs)]
    if not values:
        raise ValueError("`knobs` must not be empty")
    queries = _check_2d(queries, "queries")
    e = exact if isinstance(exact, torch.Tensor) else torch.as_tensor(np.asarray(exact))
    if e.ndim != 2 or e.dtype.is_floating_point or e.shape[0] != queries.shape[0]:
        raise ValueError(
            f"`exact` must be a 2-d integer array with one row per query ({queries.shape[0]}), "
            f"got shape {tuple(e.shape)}, {e.dtype}"
        )
    repeats = _check_int(repeats, "repeats")
    k = int(e.shape[1])
    out = []
    for kn in values:
        index.set_knob(kn)
        best, idx = math.inf, None
        for _ in range(repeats):
            t0 = time.perf_counter()
            _, idx = index.search(queries, k)
            best = min(best, time.perf_counter() - t0)
        assert idx is not None
        out.append(KnobPoint(kn, recall_at_k(idx, e), queries.shape[0] / max(best, 1e-12), idx))
    return out
