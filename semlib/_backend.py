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


def check_same_backend(a: Any, a_name: str, b: Any, b_name: str) -> None:
    """Raise ``TypeError`` unless ``a`` and ``b`` are both torch tensors or both not."""
    if is_torch(a) != is_torch(b):
        raise TypeError(f"`{a_name}` and `{b_name}` must both be numpy or both be torch")


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
    return torch.as_tensor(np.ascontiguousarray(arr).reshape(arr.shape), dtype=dtype or torch.float64), True


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


# --------------------------------------------------------------------------- backend adapters
# The backend rule (CONTRIBUTING.md, "Scalars and batches"): numpy (or list, scalar) in ->
# numpy float64 out, a single problem as a Python float; torch in -> torch out on the input's
# device and floating dtype, a single problem as a 0-d tensor. A function computed in one
# backend gets the other by converting its array arguments at entry and its result at exit.


def _convert_result(out: Any, leaf: Any) -> Any:
    """Apply ``leaf`` to every array/scalar in ``out``, walking tuples, lists, dicts, dataclasses."""
    import dataclasses

    if isinstance(out, tuple) and hasattr(out, "_fields"):  # NamedTuple
        return type(out)._make(_convert_result(v, leaf) for v in out)  # type: ignore[attr-defined]
    if isinstance(out, (tuple, list)):
        return type(out)(_convert_result(v, leaf) for v in out)
    if isinstance(out, dict):
        return {k: _convert_result(v, leaf) for k, v in out.items()}
    if dataclasses.is_dataclass(out) and not isinstance(out, type):
        changes = {f.name: _convert_result(getattr(out, f.name), leaf) for f in dataclasses.fields(out) if f.init}
        return dataclasses.replace(out, **changes)
    return leaf(out)


def _tensor_to_numpy(x: Any) -> Any:
    """A tensor as numpy (floating -> float64; 0-d floating -> Python float); others unchanged."""
    if not is_torch(x):
        return x
    arr = x.detach().cpu().numpy()
    if x.is_floating_point():
        arr = arr.astype(np.float64)
        return float(arr) if arr.ndim == 0 else arr
    return arr


def torch_core(*names: str) -> Any:
    """Decorator for a function computed in torch: numpy/list arguments ``names`` become CPU
    tensors (floating -> float64, integers -> int64, bool -> bool) and, when any did, every
    tensor of the result comes back as numpy (float64; a 0-d float as a Python float)."""
    import functools
    import inspect

    def deco(fn: Any) -> Any:
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            bound = sig.bind(*args, **kwargs)
            converted = False
            for name in names:
                if name not in bound.arguments:
                    continue
                value = bound.arguments[name]
                if value is None or is_torch(value) or isinstance(value, (bool, numbers.Number)):
                    continue
                if isinstance(value, (list, tuple)) and value and all(is_torch(v) for v in value):
                    continue
                bound.arguments[name] = _numpy_to_tensor(value, name)
                converted = True
            out = fn(*bound.args, **bound.kwargs)
            return _convert_result(out, _tensor_to_numpy) if converted else out

        return wrapper

    return deco


def _numpy_to_tensor(value: Any, name: str) -> Any:
    import torch

    if isinstance(value, (list, tuple)) and value and all(isinstance(v, np.ndarray) for v in value):
        return type(value)(_numpy_to_tensor(v, name) for v in value)
    try:
        arr = np.asarray(value)
    except Exception as exc:  # pragma: no cover - defensive
        raise TypeError(f"`{name}` must be array-like, got {type(value).__name__}") from exc
    if arr.dtype == bool:
        return torch.as_tensor(arr)
    if np.issubdtype(arr.dtype, np.integer):
        return torch.as_tensor(arr.astype(np.int64))
    if arr.dtype == object or not np.issubdtype(arr.dtype, np.number) or np.iscomplexobj(arr):
        raise TypeError(f"`{name}` must be a real numeric array, got dtype {arr.dtype}")
    return torch.as_tensor(np.ascontiguousarray(arr, dtype=np.float64).reshape(arr.shape))


def numpy_core(*names: str) -> Any:
    """Decorator for a function computed in numpy: tensor arguments ``names`` become numpy
    (floating -> float64) and, when any was a tensor, every float or array of the result comes
    back as a tensor on that tensor's device (floating in the first tensor's floating dtype,
    integers int64; a float scalar as a 0-d tensor). Python ints and bools stay as they are."""
    import functools
    import inspect

    def deco(fn: Any) -> Any:
        sig = inspect.signature(fn)

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            import torch

            bound = sig.bind(*args, **kwargs)
            device = None
            dtype = None
            for name in names:
                value: Any = bound.arguments.get(name)
                if is_torch(value):
                    if device is None:
                        device = value.device
                    if dtype is None and value.is_floating_point():
                        dtype = value.dtype
                    bound.arguments[name] = np.asarray(_tensor_to_numpy(value))
            out = fn(*bound.args, **bound.kwargs)
            if device is None:
                return out
            fdtype = dtype or torch.float64

            def leaf(x: Any) -> Any:
                if isinstance(x, (bool, np.bool_)) or (
                    isinstance(x, numbers.Integral) and not isinstance(x, np.ndarray)
                ):
                    return x
                if isinstance(x, (float, np.floating)):
                    return torch.tensor(float(x), dtype=fdtype, device=device)
                if isinstance(x, np.ndarray) and x.dtype != object:
                    if np.issubdtype(x.dtype, np.floating):
                        return torch.as_tensor(np.ascontiguousarray(x).reshape(x.shape), device=device).to(fdtype)
                    return torch.as_tensor(np.ascontiguousarray(x).reshape(x.shape), device=device)
                return x

            return _convert_result(out, leaf)

        return wrapper

    return deco


def require_torch(x: Any, name: str) -> None:
    """``TypeError`` naming ``name`` unless ``x`` is a ``torch.Tensor`` (for torch-only functions)."""
    if not is_torch(x):
        raise TypeError(f"`{name}` must be a torch.Tensor (this function is torch-only), got {type(x).__name__}")
