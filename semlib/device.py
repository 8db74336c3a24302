"""Where and how big: the device helper and the book's one scale switch.

Every notebook runs at one of two scales:

``ci``
    the default: small enough to execute on two CPU cores in about a minute,
    which is what the site build and the test suite run;
``full``
    the experiments at the size worth reporting, meant for a GPU.

The scale is read from the environment variable ``SEMLIB_SCALE`` (``ci`` or
``full``). Cells never name a device: they call :func:`get_device`.

Introduced in the book's Preface ("How to run it").
"""

from __future__ import annotations

import os
from typing import Literal, TypeVar

__all__ = ["SCALE_ENV_VAR", "SCALES", "scale", "by_scale", "get_device", "describe"]

SCALE_ENV_VAR = "SEMLIB_SCALE"
SCALES = ("ci", "full")

T = TypeVar("T")


def scale() -> Literal["ci", "full"]:
    """The scale the book runs at, from ``$SEMLIB_SCALE`` (default ``"ci"``).

    Raises
    ------
    ValueError
        If the variable is set to anything other than ``ci`` or ``full``.

    Examples
    --------
    >>> import os
    >>> os.environ.pop("SEMLIB_SCALE", None) and None
    >>> scale()
    'ci'
    """
    value = os.environ.get(SCALE_ENV_VAR, "ci").strip().lower() or "ci"
    if value not in SCALES:
        raise ValueError(f"${SCALE_ENV_VAR} must be one of {SCALES}, got {value!r}")
    return value  # type: ignore[return-value]


def by_scale(ci: T, full: T) -> T:
    """Pick ``ci`` or ``full`` according to :func:`scale`.

    Examples
    --------
    >>> n_samples = by_scale(ci=2_000, full=200_000)
    """
    return full if scale() == "full" else ci


def get_device(prefer: str | None = None):
    """The torch device to compute on: CUDA, else Apple MPS, else CPU.

    Parameters
    ----------
    prefer : {"cuda", "mps", "cpu"}, optional
        Ask for one kind; it is honoured when available, otherwise the usual
        order applies. ``$SEMLIB_DEVICE`` sets the same preference.

    Returns
    -------
    torch.device
    """
    import torch

    valid = ("cuda", "mps", "cpu")
    prefer = prefer if prefer is not None else os.environ.get("SEMLIB_DEVICE") or None
    if prefer is not None and prefer not in valid:
        raise ValueError(f"`prefer` must be one of {valid}, got {prefer!r}")
    available = {
        "cuda": torch.cuda.is_available(),
        "mps": getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available(),
        "cpu": True,
    }
    if prefer is not None and available[prefer]:
        return torch.device(prefer)
    for kind in valid:
        if available[kind]:
            return torch.device(kind)
    return torch.device("cpu")  # pragma: no cover


def describe() -> str:
    """One line saying the scale and the device, for the top of a notebook."""
    return f"semlib: scale={scale()!r}, device={get_device().type!r}"
