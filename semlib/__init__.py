"""semlib: the shared code of the executable companion to Bai,
"Forget BIT, It is All about TOKEN: Towards Semantic Information Theory for LLMs".

One module per concept of the paper. ``import semlib`` imports every module
listed in ``semlib.__all__`` (so ``semlib.info.entropy`` works after it); import
them by name::

    from semlib import info, directed, granger
    from semlib.device import get_device, by_scale

Each public function or class has exactly one public path,
``semlib.<module>.<name>``: no module re-exports another module's names.

PyTorch is a required dependency and ``import semlib`` imports it: the
``torch.nn.Module`` subclasses (critics, models, layers) are ordinary classes
defined when their module is imported, so they pickle like any class. The
backend rule of the functions is independent of that: numpy in, numpy out
(float64); a ``torch.Tensor`` in gives a tensor out on the same device.

Natural logarithms (nats) throughout; ``base=2`` gives bits.
"""

from . import (
    bounds,
    capstone,
    causal,
    coding,
    corpus,
    device,
    directed,
    elbo,
    embeddings,
    estimators,
    fisher,
    flow,
    gaussian,
    geometry,
    granger,
    hopfield,
    info,
    models,
    plot,
    projection,
    rate_distortion,
    report,
    results,
    reward,
    search,
    ssm,
    tvvar,
)

__all__ = [
    "info",
    "directed",
    "rate_distortion",
    "granger",
    "causal",
    "fisher",
    "reward",
    "models",
    "flow",
    "embeddings",
    "geometry",
    "projection",
    "search",
    "estimators",
    "gaussian",
    "corpus",
    "coding",
    "capstone",
    "tvvar",
    "hopfield",
    "bounds",
    "elbo",
    "ssm",
    "device",
    "plot",
    "report",
    "results",
    "__version__",
]

# The one source of the version: pyproject.toml reads it (the distribution `forget-bit-token`).
__version__ = "0.1.0"
