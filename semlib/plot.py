"""One figure style for the whole book.

Call :func:`use_style` once per notebook (the imports cell does). Colours
come from a colour-blind-safe palette (Okabe & Ito), figures are sized for the
book's text column, and backgrounds are transparent-safe: axes and labels use
a mid grey that reads on the light and the dark theme of the site.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from matplotlib.typing import RcKeyType

__all__ = ["PALETTE", "use_style", "subplots"]

#: Okabe–Ito colour-blind-safe palette, in the order the book uses it.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "purple": "#CC79A7",
    "sky": "#56B4E9",
    "yellow": "#F0E442",
    "black": "#000000",
}

_RC: dict[RcKeyType, Any] = {
    "figure.figsize": (6.4, 3.6),
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 9,
    "legend.frameon": False,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "lines.linewidth": 1.8,
    "font.family": "DejaVu Sans",
}


def use_style() -> None:
    """Apply the book's matplotlib style (rcParams) to the current session."""
    import matplotlib as mpl
    from cycler import cycler

    mpl.rcParams.update(_RC)
    mpl.rcParams["axes.prop_cycle"] = cycler(color=list(PALETTE.values()))


def subplots(*args: Any, **kwargs: Any):
    """``matplotlib.pyplot.subplots`` in the book's style, with a constrained layout."""
    import matplotlib.pyplot as plt

    use_style()
    kwargs.setdefault("layout", "constrained")
    return plt.subplots(*args, **kwargs)
