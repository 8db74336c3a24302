"""One backend rule across semlib, checked for every public function (CONTRIBUTING.md, glossary,
"Scalars and batches").

numpy (or list, scalar) in -> numpy out, float64, a single problem as a Python float; torch in ->
torch out on the input's device and floating dtype (float32 stays float32), a single problem as a
0-d tensor; a batch with a leading axis gives arrays of shape (B, ...). Functions that are
torch-only by design say so and raise ``TypeError`` naming the argument for numpy input.

Every public function of every module in ``semlib.__all__`` is in exactly one of ``ARRAY`` (with a
builder of valid numpy arguments), ``TORCH_ONLY`` (with a reason) or ``NO_ARRAYS``; a new public
function fails ``test_every_public_function_is_classified`` until it is classified.
"""

from __future__ import annotations

import dataclasses
import inspect
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from semlib_api import public_objects

import semlib

# ----------------------------------------------------------------------------- inputs
# Every float argument is rounded to a float32-representable value before the runs, so the
# float64 and float32 runs see the same numbers and differ only in the precision of the
# arithmetic. pmfs are dyadic (counts / 2**k), exactly representable and summing to 1 exactly.


def _rng() -> np.random.Generator:
    return np.random.default_rng(0)


def pmf(*shape: int, seed: int = 0) -> np.ndarray:
    """A pmf over the last axis (rows of a conditional when ndim > 1), dyadic and strictly positive."""
    r = np.random.default_rng(seed)
    counts = r.integers(1, 8, size=shape).astype(np.float64)
    k = shape[-1]
    total = 2 ** int(np.ceil(np.log2(8 * k)))
    counts[..., -1] = total - counts[..., :-1].sum(-1)
    return counts / total


def joint(*shape: int, seed: int = 0) -> np.ndarray:
    return pmf(int(np.prod(shape)), seed=seed).reshape(shape)


def normal(*shape: int, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    return scale * np.random.default_rng(seed).standard_normal(shape)


def spd(n: int, seed: int = 0) -> np.ndarray:
    a = normal(n, n, seed=seed)
    return a @ a.T / n + np.eye(n)


def signs(*shape: int, seed: int = 0) -> np.ndarray:
    return np.where(np.random.default_rng(seed).random(shape) < 0.5, -1.0, 1.0)


def ints(high: int, *shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, high, size=shape)


A1 = np.array([[[0.5, 0.25], [0.0, 0.5]]])  # a stable VAR(1), x0 -> x1 causal direction
VAR_X = semlib.granger.simulate_var(A1, np.eye(2), 200, seed=0)
SYMBOLS = np.array([0, 1, 2, 1, 0, 1, 2, 2, 1, 0, 0, 1])
LOGITS = normal(6, 4, seed=1)
TARGETS = ints(4, 6, seed=2)


def _ssm_args() -> tuple[np.ndarray, ...]:
    delta = 0.5 + np.random.default_rng(3).random((1, 3, 2))
    A = -(0.5 + np.random.default_rng(4).random((2, 2)))
    B = normal(1, 3, 2, seed=5)
    Abar, Bbar = semlib.ssm.discretize(torch.as_tensor(delta), torch.as_tensor(A), torch.as_tensor(B))
    return normal(1, 3, 2, seed=6), Abar.numpy(), Bbar.numpy(), normal(1, 3, 2, seed=7)


def _codeword() -> Any:
    return semlib.coding.arithmetic_encode(SYMBOLS[:5], pmf(5, 3))


# ----------------------------------------------------------------------------- registry


@dataclasses.dataclass
class Entry:
    build: Callable[[], tuple[tuple[Any, ...], dict[str, Any]]]
    rtol: float = 1e-4  # float32 vs float64 (see test_float32_agrees_with_float64)
    compare: str | None = None  # a reason when float32 and float64 results are not comparable
    marks: tuple[Any, ...] = ()
    round32: bool = True  # False where rounding would break an exact constraint (normalised log-pmfs)
    torch_xfail: str | None = None  # a known violation of the rule for torch input (strict xfail)
    f32_xfail: str | None = None  # a known violation for float32 input only (strict xfail)


def E(build: Callable[[], tuple[tuple[Any, ...], dict[str, Any]]], **kw: Any) -> Entry:
    return Entry(build, **kw)


FLOAT_SCALARS = (
    "returns Python floats for torch input (a diagnostic scalar read by the chapters as a float); "
    "a 0-d tensor changes its callers"
)
IN_FLOAT64 = "computes in float64 by design and returns float64 for float32 input"


P3 = joint(2, 3, 2)
P4 = joint(2, 2, 2, 2, seed=1)
COV = spd(4)
SOL = {"tol": 1e-6}  # iterative solvers: a tolerance float32 can reach

ARRAY: dict[str, Entry] = {
    # info
    "info.validate_pmf": E(lambda: ((P3,), {})),
    "info.marginal": E(lambda: ((P3, (0,)), {})),
    "info.entropy": E(lambda: ((P3,), {})),
    "info.conditional_entropy": E(lambda: ((P3, 0), {"given": 1})),
    "info.cross_entropy": E(lambda: ((pmf(4), pmf(4, seed=1)), {})),
    "info.kl_divergence": E(lambda: ((pmf(4), pmf(4, seed=1)), {})),
    "info.mutual_information": E(lambda: ((P3, 0, 1), {"given": 2})),
    "info.information_density": E(lambda: ((P3, 0, 1), {})),
    "info.joint_from_conditionals": E(lambda: (([pmf(2), pmf(2, 3, seed=1)],), {})),
    # directed
    "directed.directed_information": E(lambda: ((P4, (0, 2), (1, 3)), {})),
    "directed.directed_information_terms": E(lambda: ((P4, (0, 2), (1, 3)), {})),
    "directed.backward_directed_information": E(lambda: ((P4, (0, 2), (1, 3)), {})),
    "directed.backward_directed_information_terms": E(lambda: ((P4, (0, 2), (1, 3)), {})),
    "directed.directed_information_density": E(lambda: ((P4, (0, 2), (1, 3)), {})),
    # rate_distortion
    "rate_distortion.blahut_arimoto_tilted": E(lambda: ((pmf(3), normal(3, 4)), SOL)),
    "rate_distortion.blahut_arimoto_rd": E(lambda: ((pmf(3), 1.0 - np.eye(3), np.array([0.5, 2.0])), SOL)),
    "rate_distortion.rate_distortion_curve": E(lambda: ((pmf(3), 1.0 - np.eye(3)), {"num": 4, **SOL})),
    "rate_distortion.rd_at_distortion": E(lambda: ((pmf(3), 1.0 - np.eye(3), np.array([0.25, 0.5])), SOL)),
    "rate_distortion.channel_capacity": E(lambda: ((pmf(3, 3),), SOL)),
    "rate_distortion.binary_rd": E(lambda: ((np.array([0.3, 0.4]), np.array([0.125, 0.25])), {})),
    "rate_distortion.gaussian_rd": E(lambda: ((np.array([1.0, 2.0]), np.array([0.5, 0.5])), {})),
    "rate_distortion.bsc_capacity": E(lambda: ((np.array([0.125, 0.25]),), {})),
    "rate_distortion.bec_capacity": E(lambda: ((np.array([0.125, 0.25]),), {})),
    # granger
    "granger.companion_matrix": E(lambda: ((A1,), {})),
    "granger.autocovariance": E(lambda: ((A1, np.eye(2), 3), {})),
    "granger.simulate_var": E(lambda: ((A1, np.eye(2), 20), {"seed": 0})),
    "granger.fit_var": E(lambda: ((VAR_X, 1), {})),
    "granger.granger_causality": E(lambda: ((A1, np.eye(2), 0, 1), {})),
    "granger.transfer_entropy": E(lambda: ((A1, np.eye(2), 0, 1), {"lags": 2})),
    "granger.granger_causality_from_samples": E(lambda: ((VAR_X, 0, 1, 1), {})),
    "granger.transfer_entropy_from_samples": E(lambda: ((VAR_X, 0, 1, 1), {})),
    "granger.granger_f_test": E(lambda: ((VAR_X, 0, 1, 1), {})),
    "granger.granger_confidence_interval": E(lambda: ((np.array([0.1, 0.2]), np.array([100, 200]), 1), {})),
    # causal
    "causal.backdoor_adjustment": E(lambda: ((joint(2, 2, 2), 0, 1, [2]), {})),
    "causal.canonical_binary_scm": E(lambda: ((0.25, pmf(4)), {})),
    # fisher
    "fisher.softmax_output_covariance": E(lambda: ((pmf(4, 3),), {})),
    "fisher.layer_fisher": E(lambda: ((normal(4, 2), np.stack([np.diag(q) - np.outer(q, q) for q in pmf(4, 3)])), {})),
    "fisher.softmax_fisher": E(lambda: ((normal(3, 2), normal(4, 2, seed=1)), {})),
    "fisher.natural_gradient": E(lambda: ((normal(3), spd(3)), {"damping": 0.1})),
    "fisher.kfac_factors": E(lambda: ((normal(4, 2), np.stack([np.diag(q) - np.outer(q, q) for q in pmf(4, 3)])), {})),
    "fisher.kfac_fisher": E(lambda: ((spd(2), spd(3, seed=1)), {})),
    "fisher.relative_frobenius_error": E(lambda: ((spd(3), spd(3, seed=1)), {}), torch_xfail=FLOAT_SCALARS),
    # reward
    "reward.kl_regularized_optimum": E(lambda: ((pmf(3, 4), normal(3, 4), 1.0), {})),
    "reward.expected_reward": E(lambda: ((pmf(3), pmf(3, 4, seed=1), normal(3, 4)), {})),
    "reward.policy_information": E(lambda: ((pmf(3), pmf(3, 4, seed=1)), {})),
    "reward.expected_kl": E(lambda: ((pmf(3), pmf(3, 4, seed=1), pmf(3, 4, seed=2)), {})),
    "reward.kl_regularized_objective": E(
        lambda: ((pmf(3), pmf(3, 4, seed=1), pmf(3, 4, seed=2), normal(3, 4), 1.0), {})
    ),
    "reward.rate_reward_curve": E(lambda: ((pmf(3), normal(3, 4), np.array([0.5, 2.0])), SOL)),
    "reward.rate_reward_almost_sure": E(lambda: ((pmf(3), normal(3, 4), np.array([-2.0, -0.5])), SOL)),
    "reward.implied_reward": E(lambda: ((pmf(3, 4), pmf(3, 4, seed=1), 0.5), {})),
    "reward.dpo_loss": E(lambda: ((normal(5), normal(5, seed=1), 0.5), {})),
    "reward.dpo_population_loss": E(lambda: ((pmf(3), pmf(3, 4, seed=1), pmf(3, 4, seed=2), normal(3, 4), 0.5), {})),
    "models.next_token_law": E(lambda: ((normal(3, 4),), {"tau": 0.5})),
    "models.autoregressive_joint": E(lambda: (([pmf(2), pmf(2, 3, seed=1)], [normal(2, 3, 2, seed=2)]), {})),
    "models.generate": E(lambda: (([pmf(3, 3)], ints(3, 4, 1)), {"seed": 0})),
    "models.ml_code_length": E(lambda: ((ints(5, 3, 4).astype(np.float64),), {})),
    "models.code_lengths": E(lambda: ((ints(5, 2, 2, 2).astype(np.float64), 1, pmf(2, 4).reshape(2, 2, 2)), {})),
    # flow
    "flow.freedman_bound": E(lambda: ((np.array([1.0, 2.0, 3.0]), np.array([0.5, 1.0, 2.0])), {})),
    "flow.mc_mean": E(lambda: ((normal(5, 3),), {})),
    # geometry
    "geometry.to_sphere": E(lambda: ((normal(6, 3),), {})),
    "geometry.cosine_similarity": E(lambda: ((normal(6, 3), normal(4, 3, seed=1)), {})),
    "geometry.nearest_neighbors": E(lambda: ((normal(6, 3), np.array([0, 1])), {"k": 2})),
    "geometry.analogy": E(lambda: ((normal(6, 3), 0, 1, 2), {"k": 2})),
    "geometry.gw_objective": E(
        lambda: ((normal(4, 3), normal(4, 2, seed=1), np.full((4, 4), 1 / 16)), {}), torch_xfail=FLOAT_SCALARS
    ),
    "geometry.gromov_wasserstein": E(lambda: ((normal(4, 3), normal(4, 2, seed=1)), {}), torch_xfail=FLOAT_SCALARS),
    "geometry.gromov_wasserstein_exact": E(
        lambda: ((normal(4, 3), normal(4, 2, seed=1)), {}), torch_xfail=FLOAT_SCALARS
    ),
    "geometry.entropic_gromov_wasserstein": E(
        lambda: ((normal(4, 3), normal(4, 2, seed=1)), {"epsilon": 0.5, "max_iter": 20}),
        rtol=1e-3,
        torch_xfail=FLOAT_SCALARS,
    ),
    # projection
    "projection.fwht": E(lambda: ((normal(3, 8),), {})),
    "projection.dct_ortho": E(lambda: ((normal(3, 8),), {})),
    "projection.pair_distortion": E(lambda: ((normal(5, 8), normal(5, 4, seed=1)), {}), torch_xfail=FLOAT_SCALARS),
    "projection.inner_product_errors": E(lambda: ((normal(5, 8), normal(5, 4, seed=1)), {}), f32_xfail=IN_FLOAT64),
    "projection.cosine_distortion": E(lambda: ((normal(5, 8), normal(5, 4, seed=1)), {}), torch_xfail=FLOAT_SCALARS),
    "projection.semantic_compression_distortion": E(
        lambda: ((normal(5, 8), normal(5, 4, seed=1)), {}), torch_xfail=FLOAT_SCALARS
    ),
    "projection.rip_constant": E(lambda: ((normal(4, 6, scale=0.5), 2), {})),
    "projection.fit_jl_constant": E(lambda: ((np.array([16.0, 32.0, 64.0]), np.array([0.5, 0.375, 0.25]), 100), {})),
    "projection.distortion_curve": E(lambda: ((normal(5, 8), "gaussian", [2, 4]), {"reps": 2})),
    # search
    "search.exact_knn": E(lambda: ((normal(3, 4), normal(6, 4, seed=1), 2), {})),
    "search.recall_at_k": E(lambda: ((ints(6, 3, 2), ints(6, 3, 2, seed=1)), {}), torch_xfail=FLOAT_SCALARS),
    "search.nearest_codeword": E(lambda: ((normal(3, 4), normal(5, 4, seed=1)), {})),
    # estimators
    "estimators.infonce_loss": E(lambda: ((normal(4, 4),), {})),
    "estimators.infonce_bound": E(lambda: ((normal(4, 4),), {})),
    "estimators.nwj_bound": E(lambda: ((normal(4), normal(12, seed=1)), {})),
    "estimators.dv_bound": E(lambda: ((normal(4), normal(12, seed=1)), {})),
    "estimators.gaussian_ratio_critic": E(lambda: ((normal(4, 2), normal(4, 2, seed=1), 0.5), {})),
    "estimators.joint_and_marginal_scores": E(lambda: ((normal(4, 4),), {})),
    "estimators.gaussian_ratio_scores": E(lambda: ((normal(2, 4, 2), normal(2, 4, 2, seed=1), 0.5), {})),
    "embeddings.encoder_pmf": E(lambda: ((P3, ints(2, 2), 0, 2), {})),
    "embeddings.linear_encoder_information": E(lambda: ((COV, [0, 1], [2, 3], normal(1, 2)), {})),
    "embeddings.horizon_informations": E(lambda: ((COV, [0, 1], [[2], [3]], normal(1, 2)), {})),
    "embeddings.shared_encoder_optimum": E(lambda: ((COV, [0, 1], [[2], [3]]), {"max_iter": 5}), rtol=1e-3),
    "embeddings.causal_encoders_backward_directed_information": E(lambda: ((COV, [[0, 1], [2, 3]], normal(2, 4)), {})),
    # gaussian
    "gaussian.gaussian_entropy": E(lambda: ((COV,), {})),
    "gaussian.gaussian_mutual_information": E(lambda: ((COV, [0], [1]), {})),
    "gaussian.gaussian_directed_information": E(lambda: ((COV, [0, 2], [1, 3]), {})),
    "gaussian.gaussian_backward_directed_information_terms": E(lambda: ((COV, [0, 2], [1, 3]), {})),
    "gaussian.gaussian_backward_directed_information": E(lambda: ((COV, [0, 2], [1, 3]), {})),
    "gaussian.append_linear": E(lambda: ((COV, normal(2, 4)), {})),
    "gaussian.var_covariance": E(lambda: ((A1, np.eye(2), 3), {})),
    "gaussian.gaussian_linear_encoder_optimum": E(lambda: ((spd(4), [0, 1], [2, 3], 1), {})),
    "gaussian.optimal_backward_directed_information": E(lambda: ((COV, [[0], [2]], 1), {})),
    "gaussian.backward_directed_information_bounds": E(lambda: ((COV, [[0], [2]], 1), {})),
    "gaussian.simulate_gaussian_sequences": E(
        lambda: ((COV, 5, 1, 1), {"seed": 0}),
        compare="draws: numpy and torch generators (and torch per dtype) give different streams",
    ),
    "gaussian.gaussian_directed_information_rate_terms": E(lambda: ((COV, 1, 1), {})),
    # corpus
    "corpus.plugin_entropy": E(lambda: ((SYMBOLS,), {})),
    # coding
    "coding.ideal_code_length": E(lambda: ((pmf(5),), {})),
    "coding.quantize": E(lambda: ((pmf(2, 3),), {})),
    "coding.arithmetic_encode": E(lambda: ((SYMBOLS[:5], pmf(5, 3)), {})),
    "coding.arithmetic_decode": E(lambda: ((_codeword(), pmf(5, 3)), {})),
    "coding.arithmetic_code_bound": E(lambda: ((pmf(5), np.full(5, 2.0**16)), {})),
    "coding.coded_probabilities": E(lambda: ((SYMBOLS[:5], pmf(5, 3)), {})),
    "coding.context_ids": E(lambda: ((SYMBOLS, 2, 3), {})),
    "coding.adaptive_code_lengths": E(lambda: ((SYMBOLS, 1, 3), {})),
    "coding.ngram_cross_entropy": E(lambda: ((SYMBOLS, SYMBOLS[:6], 1, 3), {})),
    "coding.two_part_code_length": E(lambda: ((SYMBOLS, 1, 3), {})),
    # tvvar
    "tvvar.tvvar_outputs": E(lambda: ((normal(4, 2), normal(4, 4, 3, 2, seed=1)), {})),
    "tvvar.tvvar_logits": E(lambda: ((normal(4, 3), normal(5, 3, seed=1)), {})),
    "tvvar.attention_as_tvvar": E(
        lambda: ((normal(4, 2), normal(2, 2, seed=1), normal(2, 2, seed=2), normal(2, 2, seed=3)), {})
    ),
    "tvvar.attention_reference": E(
        lambda: ((normal(4, 2), normal(2, 2, seed=1), normal(2, 2, seed=2), normal(2, 2, seed=3)), {})
    ),
    "tvvar.attention_coefficients": E(lambda: ((pmf(4, 4), normal(3, 2)), {})),
    "tvvar.multihead_coefficients": E(
        lambda: (([pmf(1, 4, 4), pmf(1, 4, 4, seed=1)], [normal(2, 2), normal(2, 2, seed=1)]), {})
    ),
    "tvvar.toeplitz_defect": E(lambda: ((normal(3, 3, 2, 2),), {})),
    "tvvar.rank_one_defect": E(lambda: ((normal(3, 3, 2, 2),), {})),
    "tvvar.antisymmetry": E(lambda: ((normal(3, 3),), {})),
    "tvvar.max_entropy_pmf": E(lambda: ((normal(5), 0.125), {}), rtol=1e-3),
    "tvvar.gibbs_inverse_temperature": E(lambda: ((normal(5), 0.125), {})),
    "tvvar.markov_tokens": E(lambda: ((pmf(3, 3), 4, 6), {}), torch_xfail=FLOAT_SCALARS),
    # hopfield
    "hopfield.flip_bits": E(lambda: ((signs(3, 8), 0.25), {})),
    "hopfield.hebbian_weights": E(lambda: ((signs(3, 8),), {})),
    "hopfield.is_fixed_point": E(
        lambda: ((semlib.hopfield.hebbian_weights(torch.as_tensor(signs(2, 8))).numpy(), signs(3, 8)), {})
    ),
    "hopfield.hopfield_update": E(
        lambda: ((semlib.hopfield.hebbian_weights(torch.as_tensor(signs(2, 8))).numpy(), signs(3, 8)), {})
    ),
    "hopfield.crosstalk_bit_error": E(lambda: ((100, np.array([5, 10])), {})),
    "hopfield.half_load": E(lambda: ((np.array([0.125, 0.25, 0.375]), np.array([1.0, 0.75, 0.25])), {})),
    "hopfield.linearly_separable": E(lambda: ((normal(4, 2), signs(4)), {})),
    "hopfield.modern_hopfield_update": E(lambda: ((normal(5, 3), normal(3, seed=1), 1.0), {})),
    "hopfield.modern_hopfield_energy": E(lambda: ((normal(5, 3), normal(3, seed=1), 1.0), {})),
    # bounds
    "bounds.hbar_logits": E(lambda: ((LOGITS, TARGETS), {}), f32_xfail=IN_FLOAT64),
    "bounds.per_sample_loss": E(lambda: ((LOGITS, TARGETS), {}), f32_xfail=IN_FLOAT64),
    "bounds.empirical_loss": E(lambda: ((LOGITS, TARGETS), {}), torch_xfail=FLOAT_SCALARS),
    "bounds.printed_rademacher_term": E(lambda: ((LOGITS, TARGETS), {}), torch_xfail=FLOAT_SCALARS),
    "bounds.printed_bound": E(lambda: ((LOGITS, TARGETS), {}), torch_xfail=FLOAT_SCALARS),
    "bounds.rademacher_finite": E(lambda: ((normal(3, 6),), {"n_draws": 50}), torch_xfail=FLOAT_SCALARS),
    "bounds.massart_bound": E(lambda: ((normal(3, 6),), {}), torch_xfail=FLOAT_SCALARS),
    "bounds.rademacher_linear": E(lambda: ((normal(6, 3), 1.0), {"n_draws": 20}), torch_xfail=FLOAT_SCALARS),
    "bounds.smoothed_probs": E(lambda: ((LOGITS, 0.125), {}), f32_xfail=IN_FLOAT64),
    "bounds.smoothed_loss": E(lambda: ((LOGITS, TARGETS, 0.125), {}), f32_xfail=IN_FLOAT64),
    "bounds.corrected_bound": E(
        lambda: ((normal(6, 3), normal(4, 3, seed=1, scale=0.125), TARGETS), {"radius": 1.0}), torch_xfail=FLOAT_SCALARS
    ),
    "bounds.fit_readout": E(lambda: ((normal(6, 3), TARGETS, 4), {"radius": 1.0, "steps": 5}), f32_xfail=IN_FLOAT64),
    # elbo
    "elbo.marginal_loglik": E(lambda: ((np.log(pmf(3, 4)), normal(3, 4)), {}), round32=False),
    "elbo.posterior": E(lambda: ((np.log(pmf(3, 4)), normal(3, 4)), {}), round32=False),
    "elbo.kl_categorical": E(lambda: ((np.log(pmf(3, 4)), np.log(pmf(3, 4, seed=1))), {}), round32=False),
    "elbo.elbo": E(lambda: ((np.log(pmf(3, 4)), np.log(pmf(3, 4, seed=1)), normal(3, 4)), {}), round32=False),
    "elbo.elbo_eq61_literal": E(
        lambda: ((np.log(pmf(3, 4)), np.log(pmf(3, 4, seed=1)), normal(3, 4)), {}), round32=False
    ),
    "elbo.mixture_logprobs": E(lambda: ((pmf(2, 4), normal(2, 4, 5)), {})),
    "elbo.soft_attention_logprobs": E(lambda: ((pmf(2, 4), normal(2, 4, 5)), {})),
    "elbo.jensen_gap": E(lambda: ((pmf(2, 4), normal(2, 4, 5)), {})),
    "elbo.categorical_entropy": E(lambda: ((np.log(pmf(3, 4)),), {}), round32=False),
    "elbo.paired_difference": E(lambda: ((normal(5), normal(5, seed=1)), {}), torch_xfail=FLOAT_SCALARS),
    # ssm
    "ssm.discretize": E(
        lambda: ((0.5 + np.random.default_rng(3).random((1, 3, 2)), -(0.5 + np.eye(2)), normal(1, 3, 2)), {})
    ),
    "ssm.ssm_scan": E(lambda: (_ssm_args(), {})),
    "ssm.unroll_to_tvvar": E(lambda: (_ssm_args()[1:], {})),
    "ssm.ssm_tvvar_outputs": E(lambda: (_ssm_args(), {})),
}

# Torch-only by design: (reason, array argument that must refuse numpy, builder of the other
# arguments) -- or a reason to skip where the function takes model objects rather than arrays.
_LOGP = lambda th: torch.log_softmax(th.reshape(2, 3), -1)
TORCH_ONLY: dict[str, tuple[str, str | None, Callable[[], tuple[tuple[Any, ...], dict[str, Any]]] | None]] = {
    "fisher.fisher_from_logprobs": ("autograd through a torch model", "theta", lambda: ((_LOGP, normal(6)), {})),
    "fisher.cross_entropy_hessian": ("autograd through a torch model", "theta", lambda: ((_LOGP, normal(6)), {})),
    "fisher.nll_hessian": (
        "autograd through a torch model",
        "theta",
        lambda: ((_LOGP, normal(6), np.array([0, 1])), {}),
    ),
    "fisher.empirical_fisher": (
        "autograd through a torch model",
        "theta",
        lambda: ((_LOGP, normal(6), np.array([0, 1])), {}),
    ),
    "estimators.infonce_from_critic": (
        "calls a torch critic",
        "x",
        lambda: ((lambda x, c: x @ c.T, normal(4, 2), normal(4, 2)), {}),
    ),
    "estimators.train_mine": ("training loop of a torch.nn.Module", None, None),
    "estimators.train_dine": ("training loop of a torch.nn.Module", None, None),
    "estimators.dine_estimate": ("evaluates a torch.nn.Module critic", None, None),
    "models.fit_next_token": ("training loop of a torch.nn.Module", None, None),
    "models.pretraining_distortion": ("function of model objects", None, None),
    "models.pretraining_rate": ("function of a model object", None, None),
    "models.mc_pretraining_distortion": ("function of model objects", None, None),
    "models.history_weights": ("function of a TokenSource (torch model)", None, None),
    "models.kernel_distortion_terms": ("function of a TokenSource (torch model)", None, None),
    "models.fit_kernel": ("training loop on a TokenSource (torch model)", None, None),
    "models.transition_counts": ("counts torch samples of a TokenSource", None, None),
    "models.fit_kernel_counts": ("training loop of a torch kernel model", None, None),
    "reward.fit_tabular_policy": (
        "L-BFGS on torch logits",
        "logits",
        lambda: ((lambda pi: pi.sum(), normal(2, 3)), {}),
    ),
    "flow.flow_increments": ("function of a TokenSource (torch model)", None, None),
    "flow.semantic_information_flow": ("function of a TokenSource (torch model)", None, None),
    "flow.step_moments": ("function of a TokenSource (torch model)", None, None),
    "flow.doob_decomposition": ("function of a TokenSource (torch model)", None, None),
    "flow.semantic_information_capacity": ("function of a TokenSource (torch model)", None, None),
    "flow.reward_capacity_curve": ("function of a TokenSource (torch model)", None, None),
    "flow.flow_prompt_law_range": ("function of a TokenSource (torch model)", None, None),
    "capstone.sample_continuations": ("function of a TinyGPT", None, None),
    "capstone.prompt_flow": ("function of a TinyGPT", None, None),
    "capstone.continuation_joint": ("function of a TinyGPT", None, None),
    "capstone.train_with_checkpoints": ("training loop of a TinyGPT", None, None),
    "capstone.train_cached": ("training loop of a TinyGPT", None, None),
    "tvvar.train_gpt": ("training loop of a TinyGPT", None, None),
    "bounds.last_logits": ("reads a torch model", None, None),
    "bounds.last_features": ("reads a TinyGPT", None, None),
    "bounds.shift_logits": ("copies a TinyGPT", None, None),
    "bounds.memoriser_trial": ("draws torch token ids and tables", None, None),
    "tvvar.markov_nll": ("scores token ids (torch.long)", None, None),
    "tvvar.bigram_tv": ("scores token ids (torch.long)", None, None),
    "tvvar.sample_autoregressive": ("samples from a torch model", None, None),
    "tvvar.forward_flops": ("counts the FLOPs of a torch.nn.Module", None, None),
    "elbo.sample_alignment_source": ("samples from a LatentAlignmentLM", None, None),
    "elbo.train_alignment": ("training loop of a LatentAlignmentLM", None, None),
    "elbo.elbo_path": ("function of a LatentAlignmentLM", None, None),
    "ssm.diffusion_loss": ("function of a MaskedDiffusionLM", None, None),
    "ssm.diffusion_loss_exact": ("function of a MaskedDiffusionLM", None, None),
    "ssm.any_order_nll": ("function of a MaskedDiffusionLM", None, None),
    "ssm.train_diffusion": ("training loop of a MaskedDiffusionLM", None, None),
    "ssm.sample_diffusion": ("samples from a MaskedDiffusionLM", None, None),
    "search.sweep_knob": ("searches a FaissIndex (a faiss object) along its knob", None, None),
}

NO_ARRAYS: set[str] = {
    "report.glue",  # a scalar for the prose (tests/test_report.py)
    "report.plain",
    "models.all_sequences",
    "directed.echo_feedback_joint",
    "flow.private_token_source",
    "embeddings.model_dir",
    "embeddings.load_weights",
    "embeddings.load_token_embeddings",
    "embeddings.common_words",
    "estimators.correlated_gaussian_batches",
    "geometry.analogy_questions",
    "projection.hadamard_matrix",
    "projection.next_power_of_two",
    "projection.make_map",
    "projection.jl_min_dim",
    "projection.krahmer_ward_sparsity",
    "projection.rip_min_dim",
    "projection.compression_route_dims",
    "gaussian.arma11_covariance",
    "corpus.stdlib_docstrings",
    "corpus.split_documents",
    "corpus.fingerprint",
    "corpus.wordpiece_tokenizer",
    "corpus.encode",
    "tvvar.tvvar_num_params",
    "tvvar.attention_num_params",
    "tvvar.copy_task",
    "hopfield.random_patterns",
    "hopfield.hopfield_capacity",
    "hopfield.mceliece_capacity",
    "hopfield.cover_count",
    "hopfield.cover_fraction",
    "hopfield.separability_fraction",
    "hopfield.sphere_patterns",
    "hopfield.modern_hopfield_capacity",
    "hopfield.ramsauer_capacity_bound",
    "bounds.printed_concentration_term",
    "bounds.mcdiarmid_term",
    "bounds.smoothed_loss_range",
    "bounds.smoothed_lipschitz",
    "device.scale",
    "device.by_scale",
    "device.get_device",
    "device.describe",
    "plot.use_style",
    "plot.subplots",
}

# Batch axis: (function, batched builder, per-problem builders). One batched call must equal the
# loop of single calls (the single result is a Python float or an array without the B axis).
BATCH: dict[str, Callable[[], tuple[tuple[Any, ...], dict[str, Any], list[tuple[tuple[Any, ...], dict[str, Any]]]]]] = {
    "rate_distortion.blahut_arimoto_tilted": lambda: (
        (np.stack([pmf(3), pmf(3, seed=1)]), np.stack([normal(3, 4), normal(3, 4, seed=1)])),
        {"tol": 1e-12},
        [((pmf(3), normal(3, 4)), {"tol": 1e-12}), ((pmf(3, seed=1), normal(3, 4, seed=1)), {"tol": 1e-12})],
    ),
    "rate_distortion.channel_capacity": lambda: (
        (np.stack([pmf(3, 3), pmf(3, 3, seed=1)]),),
        {"tol": 1e-12},
        [((pmf(3, 3),), {"tol": 1e-12}), ((pmf(3, 3, seed=1),), {"tol": 1e-12})],
    ),
    "rate_distortion.binary_rd": lambda: (
        (np.array([0.375, 0.4375]), np.array([0.125, 0.25])),
        {},
        [((0.375, 0.125), {}), ((0.4375, 0.25), {})],
    ),
    "fisher.softmax_output_covariance": lambda: ((pmf(2, 3),), {}, [((pmf(2, 3)[i : i + 1],), {}) for i in range(2)]),
    "reward.kl_regularized_optimum": lambda: (
        (pmf(2, 4), normal(2, 4), 1.0),
        {},
        [((pmf(2, 4)[i], normal(2, 4)[i], 1.0), {}) for i in range(2)],
    ),
    "geometry.to_sphere": lambda: ((normal(2, 3),), {}, [((normal(2, 3)[i],), {}) for i in range(2)]),
    "projection.fwht": lambda: ((normal(2, 8),), {}, [((normal(2, 8)[i],), {}) for i in range(2)]),
    "projection.dct_ortho": lambda: ((normal(2, 8),), {}, [((normal(2, 8)[i],), {}) for i in range(2)]),
    "tvvar.tvvar_outputs": lambda: (
        (normal(2, 4, 2), np.stack([normal(4, 4, 3, 2, seed=1)] * 2)),
        {},
        [((normal(2, 4, 2)[i], normal(4, 4, 3, 2, seed=1)), {}) for i in range(2)],
    ),
    "hopfield.hebbian_weights": lambda: (
        (np.stack([signs(3, 8), signs(3, 8, seed=1)]),),
        {},
        [((signs(3, 8),), {}), ((signs(3, 8, seed=1),), {})],
    ),
    "hopfield.modern_hopfield_energy": lambda: (
        (np.stack([normal(5, 3), normal(5, 3, seed=1)]), normal(3, seed=2), 1.0),
        {},
        [((normal(5, 3), normal(3, seed=2), 1.0), {}), ((normal(5, 3, seed=1), normal(3, seed=2), 1.0), {})],
    ),
    "elbo.marginal_loglik": lambda: (
        (np.log(pmf(3, 4)), normal(3, 4)),
        {},
        [((np.log(pmf(3, 4))[i], normal(3, 4)[i]), {}) for i in range(3)],
    ),
}


# ----------------------------------------------------------------------------- helpers


def _public_functions() -> dict[str, Callable[..., Any]]:
    return {
        qual: obj for qual, obj in public_objects() if inspect.isfunction(obj) and obj.__module__.startswith("semlib")
    }


FUNCTIONS = _public_functions()


def _get(qual: str) -> Callable[..., Any]:
    return FUNCTIONS[qual]


def _round32(x: Any) -> Any:
    if isinstance(x, np.ndarray) and np.issubdtype(x.dtype, np.floating):
        return x.astype(np.float32).astype(np.float64)
    if isinstance(x, list):
        return [_round32(v) for v in x]
    return x


def _convert(x: Any, dtype: torch.dtype | None, device: str, round32: bool = True) -> Any:
    """Every numpy array argument as a tensor of ``dtype`` (floating) on ``device``; None keeps numpy."""
    if isinstance(x, np.ndarray):
        x = _round32(x) if round32 else x
        if dtype is None:
            return x
        t = torch.as_tensor(x, device=device)
        return t.to(dtype) if t.is_floating_point() else t
    if isinstance(x, list) and x and all(isinstance(v, np.ndarray) for v in x):
        return [_convert(v, dtype, device, round32) for v in x]
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        return x  # an object argument (a Codeword): not an array
    return x


def _call(qual: str, dtype: torch.dtype | None, device: str = "cpu") -> tuple[Any, torch.dtype]:
    """Call ``qual`` on its builder's arguments converted to the run's backend; also return the
    floating dtype the rule asks of the result (the float arguments' dtype, float64 if none)."""
    entry = ARRAY[qual]
    args, kwargs = entry.build()
    args = tuple(_convert(a, dtype, device, entry.round32) for a in args)
    kwargs = {k: _convert(v, dtype, device, entry.round32) for k, v in kwargs.items()}
    has_float = any(
        isinstance(v, np.ndarray)
        and v.dtype.kind == "f"
        or isinstance(v, list)
        and any(isinstance(w, np.ndarray) and w.dtype.kind == "f" for w in v)
        for v in (*entry.build()[0], *entry.build()[1].values())
    )
    want = dtype if (dtype is not None and has_float) else torch.float64
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _get(qual)(*args, **kwargs), want


def _leaves(out: Any, path: str = "out") -> list[tuple[str, Any]]:
    """The arrays and scalars of a result, walking tuples, lists, dicts, NamedTuples, dataclasses."""
    if isinstance(out, tuple) and hasattr(out, "_fields"):
        return [leaf for f in out._fields for leaf in _leaves(getattr(out, f), f"{path}.{f}")]
    if isinstance(out, (tuple, list)):
        return [leaf for i, v in enumerate(out) for leaf in _leaves(v, f"{path}[{i}]")]
    if isinstance(out, dict):
        return [leaf for k, v in out.items() for leaf in _leaves(v, f"{path}[{k!r}]")]
    if dataclasses.is_dataclass(out) and not isinstance(out, type):
        return [leaf for f in dataclasses.fields(out) for leaf in _leaves(getattr(out, f.name), f"{path}.{f.name}")]
    return [(path, out)]


def _violations(out: Any, dtype: torch.dtype | None, device: str) -> list[str]:
    bad = []
    for path, x in _leaves(out):
        if dtype is None:  # numpy run
            if isinstance(x, torch.Tensor):
                bad.append(f"{path}: torch.Tensor for numpy input")
            elif isinstance(x, np.ndarray):
                if np.issubdtype(x.dtype, np.floating) and x.dtype != np.float64:
                    bad.append(f"{path}: numpy {x.dtype}, not float64")
                if x.ndim == 0 and np.issubdtype(x.dtype, np.floating):
                    bad.append(f"{path}: 0-d array; a single value is a Python float")
            elif isinstance(x, np.floating) and not isinstance(x, np.float64):
                bad.append(f"{path}: numpy scalar {type(x).__name__}, not a float")
        else:
            if isinstance(x, torch.Tensor):
                if x.device.type != torch.device(device).type:
                    bad.append(f"{path}: on {x.device}, input on {device}")
                if x.is_floating_point() and x.dtype != dtype:
                    bad.append(f"{path}: {x.dtype}, input {dtype}")
            elif isinstance(x, np.ndarray) or isinstance(x, np.generic) and not isinstance(x, (np.integer, np.bool_)):
                bad.append(f"{path}: numpy {type(x).__name__} for torch input")
            elif isinstance(x, float):
                bad.append(f"{path}: Python float for torch input; a single value is a 0-d tensor")
    return bad


def _as_np(x: Any) -> Any:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy() if x.is_floating_point() else x.detach().cpu().numpy()
    return x


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
RUNS = [pytest.param(None, "cpu", id="numpy-float64")]
for _dev in DEVICES:
    RUNS += [
        pytest.param(torch.float64, _dev, id=f"torch-{_dev}-float64"),
        pytest.param(torch.float32, _dev, id=f"torch-{_dev}-float32"),
    ]


def _array_params() -> list[Any]:
    return [pytest.param(q, id=q, marks=e.marks) for q, e in ARRAY.items()]


# ----------------------------------------------------------------------------- tests


def test_every_public_function_is_classified():
    classified = set(ARRAY) | set(TORCH_ONLY) | NO_ARRAYS
    missing = sorted(set(FUNCTIONS) - classified)
    assert not missing, f"classify these public functions in ARRAY, TORCH_ONLY or NO_ARRAYS: {missing}"
    stale = sorted(classified - set(FUNCTIONS))
    assert not stale, f"no longer public functions: {stale}"
    overlap = (set(ARRAY) & set(TORCH_ONLY)) | (set(ARRAY) & NO_ARRAYS) | (set(TORCH_ONLY) & NO_ARRAYS)
    assert not overlap, f"in more than one list: {sorted(overlap)}"
    assert set(BATCH) <= set(ARRAY)


@pytest.mark.parametrize("qual", sorted(NO_ARRAYS))
def test_no_arrays_functions_take_no_array_argument(qual):
    """A NO_ARRAYS function has no argument documented as an array or tensor."""
    import re

    doc = inspect.getdoc(_get(qual)) or ""
    params = doc.split("Returns")[0]
    assert not re.search(r":\s*(array-like|torch\.Tensor|numpy\.ndarray)", params), (
        f"{qual} documents an array argument: classify it as ARRAY or TORCH_ONLY"
    )


def _output_params() -> list[Any]:
    out = []
    for q, e in ARRAY.items():
        for run in RUNS:
            dtype, device = run.values
            reason = (dtype is not None and e.torch_xfail) or (dtype == torch.float32 and e.f32_xfail) or None
            marks = [*e.marks, *([pytest.mark.xfail(strict=True, reason=reason)] if reason else [])]
            out.append(pytest.param(q, dtype, device, id=f"{q}-{run.id}", marks=marks))
    return out


@pytest.mark.parametrize(("qual", "dtype", "device"), _output_params())
def test_output_backend(qual, dtype, device):
    """numpy in -> numpy float64 (single values as Python floats); torch in -> torch, same device, dtype."""
    out, want = _call(qual, dtype, device)
    bad = _violations(out, None if dtype is None else want, device)
    assert not bad, f"{qual}: " + "; ".join(bad)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("qual", _array_params())
def test_float32_agrees_with_float64(qual, device):
    """float32 results within ``rtol`` (default 1e-4) of float64 ones, on identical float32 inputs.

    The inputs are float32-representable, so the runs differ only in the arithmetic: float32 has
    a unit roundoff of 6e-8 and these problems take at most a few hundred well-conditioned
    operations (and iterative solvers stop at ``tol=1e-6``), so 1e-4 relative (plus 1e-5 times
    max(1, the result's scale), absolute, for values that cancel to ~0 from O(1) terms) holds with
    a margin of 10 or more; ``gap`` certificates agree to 2e-6 (they are <= tol) and ``n_iter`` /
    ``converged`` are not compared. A result computed in a third precision or from garbage
    misses these bounds by orders of magnitude. numpy float64 agrees with torch float64 to 1e-9.
    """
    entry = ARRAY[qual]
    if entry.compare:
        pytest.skip(entry.compare)
    ref = _leaves(_call(qual, None)[0])
    for dtype, rtol in ((torch.float64, 1e-9), (torch.float32, entry.rtol)):
        got = _leaves(_call(qual, dtype, device)[0])
        assert [p for p, _ in got] == [p for p, _ in ref]
        for (path, g), (_, r) in zip(got, ref, strict=True):
            g, r = _as_np(g), _as_np(r)
            if path.endswith((".n_iter", ".converged")):  # iteration counts depend on the precision
                continue
            if isinstance(r, np.ndarray) and r.dtype.kind in "iub" or isinstance(r, (np.integer, np.bool_)):
                np.testing.assert_array_equal(g, r, err_msg=f"{qual} {path} ({dtype})")
            elif path.endswith(".gap"):  # a certificate of the iterate, within the solvers' tol=1e-6
                np.testing.assert_allclose(np.asarray(g, dtype=np.float64), r, rtol=0, atol=2e-6)
            elif isinstance(r, np.ndarray) and r.dtype.kind == "f" or isinstance(r, float):
                r = np.asarray(r, dtype=np.float64)
                finite = np.isfinite(r)
                scale = float(np.abs(r[finite]).max()) if finite.any() else 1.0
                np.testing.assert_allclose(
                    np.asarray(g, dtype=np.float64),
                    r,
                    rtol=rtol,
                    atol=1e-5 * max(scale, 1.0) if rtol > 1e-9 else 1e-12,
                    err_msg=f"{qual} {path} ({dtype})",
                )


@pytest.mark.parametrize(("dtype", "device"), RUNS)
@pytest.mark.parametrize("qual", sorted(BATCH))
def test_batch_equals_loop(qual, dtype, device):
    """One call on a leading batch axis B gives shape (B, ...) equal to the loop of single calls."""
    args, kwargs, singles = BATCH[qual]()
    if dtype == torch.float32:  # a stopping tolerance float32 can reach (1e-12 never stops: 100,000 iterations)
        kwargs = {k: max(v, 1e-6) if k == "tol" else v for k, v in kwargs.items()}
        singles = [(a, {k: max(v, 1e-6) if k == "tol" else v for k, v in kw.items()}) for a, kw in singles]
    conv = lambda v: _convert(v, dtype, device)
    fn = _get(qual)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        batched = _leaves(fn(*map(conv, args), **{k: conv(v) for k, v in kwargs.items()}))
        loop = [_leaves(fn(*map(conv, a), **{k: conv(v) for k, v in kw.items()})) for a, kw in singles]
    tol = 1e-9 if dtype in (None, torch.float64) else 1e-5
    for j, (path, b) in enumerate(batched):
        b = _as_np(b)
        if not isinstance(b, np.ndarray) or b.dtype.kind not in "fiub":
            continue
        assert b.shape[0] == len(singles), f"{qual} {path}: leading axis {b.shape}, batch of {len(singles)}"
        for i, single in enumerate(loop):
            s = np.asarray(_as_np(single[j][1]))
            if s.shape == b[i].shape[1:] and b[i].shape[:1] == (1,):  # a single problem kept a size-1 axis
                s = s[None]
            np.testing.assert_allclose(b[i], s.reshape(b[i].shape), rtol=tol, atol=tol, err_msg=f"{qual} {path}[{i}]")


@pytest.mark.parametrize("qual", sorted(TORCH_ONLY))
def test_torch_only_functions_refuse_numpy(qual):
    reason, arg, build = TORCH_ONLY[qual]
    doc = inspect.getdoc(_get(qual)) or ""
    if arg is None or build is None:
        pytest.skip(f"{qual}: takes model objects rather than arrays ({reason})")
    assert "torch-only" in doc.lower() or "torch only" in doc.lower(), (
        f"{qual}: the docstring must say it is torch-only"
    )
    args, kwargs = build()
    with pytest.raises(TypeError, match=f"`{arg}`"):
        _get(qual)(*args, **kwargs)


def test_scalar_rule_is_documented():
    from pathlib import Path

    text = (Path(__file__).parents[1] / "CONTRIBUTING.md").read_text(encoding="utf-8")
    assert "Scalars and batches" in text
