"""Array-backend helpers: numpy in, numpy out; torch in, torch out (same device).

semlib never imports torch unless it was handed a torch tensor, so the
information-theoretic core works in a numpy-only environment.
"""

from __future__ import annotations

import numbers
from typing import Any, Sequence

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
