"""Array-backend helpers: numpy in, numpy out; torch in, torch out (same device).

torch is a required dependency of semlib and ``import semlib`` imports it (several
modules define ``torch.nn.Module`` subclasses at import time). The helpers here
still tell the backends apart without importing torch themselves (``is_torch``
checks the type's module), so a numpy input never becomes a tensor by accident.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__: list[str] = []  # private module


def is_torch(x: Any) -> bool:
    """True when ``x`` is a ``torch.Tensor`` (checked without importing torch)."""
    return type(x).__module__.startswith("torch") and hasattr(x, "detach")


def as_float_array(x: Any, name: str) -> Any:
    """Return ``x`` as a floating array of the same backend, float64 by default.

    numpy inputs (and lists, scalars) become ``float64`` numpy arrays; torch
    tensors keep their device and become ``float64`` unless they already are a
    floating dtype of at least 32 bits.
    """
    if is_torch(x):
        import torch

        if x.dtype in (torch.float64, torch.float32):
            return x
        if x.is_complex():
            raise TypeError(f"`{name}` must be real, got a complex tensor")
        return x.to(torch.float64)
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - defensive
        raise TypeError(f"`{name}` must be array-like, got {type(x).__name__}") from exc
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"`{name}` must be a numeric array, got dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise TypeError(f"`{name}` must be real, got a complex array")
    return arr.astype(np.float64, copy=False)


def as_real_tensor(x: Any, name: str, dtype: Any = None) -> tuple[Any, bool]:
    """``x`` as a real floating torch tensor, and whether it came in as numpy or a list.

    Tensors keep their device and floating dtype (integers become float64) unless
    ``dtype`` is given; array-likes become float64 (or ``dtype``) CPU tensors, so a
    function can return numpy to numpy callers. Complex or non-numeric input raises
    ``TypeError`` naming ``name``.
    """
    import torch

    if isinstance(x, torch.Tensor):
        if x.is_complex():
            raise TypeError(f"`{name}` must be real, got a complex tensor")
        t = x if x.is_floating_point() else x.to(torch.float64)
        return (t.to(dtype) if dtype is not None else t), False
    try:
        arr = np.asarray(x)
    except Exception as exc:  # pragma: no cover - defensive
        raise TypeError(f"`{name}` must be array-like, got {type(x).__name__}") from exc
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise TypeError(f"`{name}` must be a real numeric array, got dtype {arr.dtype}")
    return torch.as_tensor(np.ascontiguousarray(arr), dtype=dtype or torch.float64), True


def check_int(value: Any, name: str, minimum: int = 1) -> int:
    """``int(value)`` if it is an integer (Python or numpy, not a bool) at least ``minimum``;
    else TypeError/ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"`{name}` must be at least {minimum}, got {value}")
    return int(value)


def all_finite(x: Any) -> bool:
    if is_torch(x):
        import torch

        return bool(torch.isfinite(x).all())
    return bool(np.isfinite(x).all())


def any_negative(x: Any) -> bool:
    return bool((x < 0).any())


def total(x: Any) -> float:
    s = x.sum()
    return float(s.detach()) if is_torch(s) else float(s)


def sum_axes(x: Any, axes: Sequence[int], keepdims: bool = True) -> Any:
    """Sum over ``axes`` (possibly empty, which returns ``x`` unchanged)."""
    axes = tuple(axes)
    if not axes:
        return x
    if is_torch(x):
        return x.sum(dim=axes, keepdim=keepdims)
    return x.sum(axis=axes, keepdims=keepdims)


def log(x: Any) -> Any:
    if is_torch(x):
        import torch

        return torch.log(x)
    with np.errstate(divide="ignore"):
        return np.log(x)


def where(cond: Any, a: Any, b: Any) -> Any:
    if is_torch(cond):
        import torch

        return torch.where(cond, a, b)
    return np.where(cond, a, b)


def zeros_like(x: Any) -> Any:
    if is_torch(x):
        import torch

        return torch.zeros_like(x)
    return np.zeros_like(x)


def to_scalar(x: Any) -> float:
    """A 0-d array or tensor as a Python float."""
    if is_torch(x):
        x = x.detach()
    return float(x.item()) if hasattr(x, "item") else float(x)


def check_positive_real(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"`{name}` must be positive and finite, got {value}")
    return value


# --------------------------------------------------------------------------- random state
# One random-state argument across semlib: ``seed`` (see CONTRIBUTING.md, glossary).
# It takes an int (reproducible), ``None`` (fresh entropy from the operating system, as
# ``numpy.random.default_rng(None)``), or a generator of the function's own backend, which
# is used as it is and advanced (so a caller can thread one stream through several calls).


def numpy_rng(seed: Any, name: str = "seed") -> np.random.Generator:
    """``seed`` as a ``numpy.random.Generator``: an int >= 0, None, or a Generator (returned as is)."""
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None:
        return np.random.default_rng()
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"`{name}` must be an int, None or a numpy.random.Generator, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"`{name}` must be non-negative, got {seed}")
    return np.random.default_rng(int(seed))


def torch_generator(seed: Any, device: Any = None, name: str = "seed") -> Any:
    """``seed`` as a ``torch.Generator`` on ``device``: an int >= 0, None, or a Generator (returned as is).

    A given generator must live on ``device`` (when ``device`` is given); ``ValueError`` otherwise.
    """
    import torch

    if isinstance(seed, torch.Generator):
        if device is not None and torch.device(seed.device).type != torch.device(device).type:
            raise ValueError(f"`{name}` is a generator on {seed.device}, the computation runs on {device}")
        return seed
    g = torch.Generator(device=torch.device(device) if device is not None else "cpu")
    if seed is None:
        g.seed()
        return g
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"`{name}` must be an int, None or a torch.Generator, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"`{name}` must be non-negative, got {seed}")
    g.manual_seed(int(seed))
    return g


def int_seed(seed: Any, name: str = "seed") -> int:
    """``seed`` as an int, for code that can only be seeded by a number (module init, faiss).

    An int >= 0 is returned as is; ``None`` gives a fresh one from OS entropy; a
    ``numpy.random.Generator`` or ``torch.Generator`` gives one drawn from it (advancing it).
    Drawn seeds lie in [0, 2**31).
    """
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(2**31))
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1)[0]) >> 1
    if type(seed).__name__ == "Generator" and type(seed).__module__.startswith("torch"):
        import torch

        return int(torch.randint(0, 2**31, (1,), generator=seed, device=seed.device))
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"`{name}` must be an int, None or a generator, got {type(seed).__name__}")
    if seed < 0:
        raise ValueError(f"`{name}` must be non-negative, got {seed}")
    return int(seed)
