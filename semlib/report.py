"""Numbers in the prose, bound to the cell that computes them.

A sentence such as "the greedy encoder loses 8 % of the optimum" is true at one scale of
the book and false at another. The book therefore never types such a number: the cell that
computes it *glues* it under a name, and the prose pastes it with MyST-NB's role,
``{glue:text}`name:.1f```. Rebuilt at ``SEMLIB_SCALE=full`` the sentence quotes the new
number. ``tests/test_glue.py`` states the rule and enforces it on every chapter.

:func:`glue` is MyST-NB's ``glue`` with two differences that matter to a textbook:

* numpy scalars and 0-d arrays are stored as plain Python numbers, so the pasted text reads
  ``0.531``, never ``np.float64(0.531)`` (and format specs such as ``:.2f`` apply);
* outside the book's build (plain Jupyter or Colab without ``myst_nb``) it prints
  ``name = value`` instead, so a reader of the notebook still sees the number the text quotes.

Book: introduced in chapter *Bits versus tokens* (``01_bits_to_tokens/bits_vs_tokens``) and used
wherever a chapter's prose quotes a computed number.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

__all__ = ["plain", "glue"]


def plain(value: Any) -> bool | int | float | str:
    """Return ``value`` as a plain Python ``bool``, ``int``, ``float`` or ``str``.

    Parameters
    ----------
    value : bool, int, float, str, numpy scalar, 0-d array or 0-d tensor
        The number (or short text) to quote.

    Returns
    -------
    bool, int, float or str
        The same value as a built-in type, whose ``repr`` is the plain number.

    Raises
    ------
    TypeError
        If ``value`` is not a scalar (an array with more than one element, a list, ``None``).
    ValueError
        If ``value`` is NaN or infinite: prose never quotes a number that failed.

    Examples
    --------
    >>> import numpy as np
    >>> plain(np.float64(0.25)), plain(np.int64(3)), plain(np.array(True))
    (0.25, 3, True)
    """
    if hasattr(value, "detach") and hasattr(value, "cpu"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        if value.ndim != 0:
            raise TypeError(f"value must be a scalar, got an array of shape {value.shape}")
        value = value[()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        out = float(value)
        if not math.isfinite(out):
            raise ValueError(f"value must be finite, got {out}")
        return out
    raise TypeError(f"value must be a number or a string, got {type(value).__name__}")


def glue(name: str, value: Any, *, display: bool = False) -> None:
    """Store ``value`` under ``name`` for the prose to paste with ``{glue:text}`name```.

    Parameters
    ----------
    name : str
        The key, unique within the notebook; letters, digits, ``_`` and ``-`` only.
    value : number or str
        Converted by :func:`plain` first.
    display : bool, default False
        Also show the value as the cell's output (MyST-NB's ``display``).

    Raises
    ------
    TypeError, ValueError
        If ``name`` is not a valid key, or ``value`` is not a finite scalar (see :func:`plain`).
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__}")
    if not name or not all(ch.isalnum() or ch in "_-" for ch in name):
        raise ValueError(f"name must be a non-empty key of letters, digits, '_' and '-', got {name!r}")
    if not isinstance(display, bool):
        raise TypeError(f"display must be a bool, got {type(display).__name__}")
    out = plain(value)
    try:
        from myst_nb import glue as _glue  # type: ignore[import-untyped]
    except ImportError:  # plain Jupyter or Colab: show the number the prose quotes
        print(f"{name} = {out}")
        return
    _glue(name, out, display=display)
