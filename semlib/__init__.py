"""semlib: the shared code of the executable companion to Bai,
"Forget BIT, It is All about TOKEN: Towards Semantic Information Theory for LLMs".

One module per concept of the paper; import them by name::

    from semlib import info, directed, granger
    from semlib.device import get_device, by_scale

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
    geometry,
    granger,
    hopfield,
    info,
    models,
    plot,
    projection,
    rate_distortion,
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
    "__version__",
]

# The one source of the version: pyproject.toml reads it (the distribution `forget-bit-token`).
__version__ = "0.1.0"
