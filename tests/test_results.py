"""One result base: every iterative solver's result derives from SolverResult (gap, n_iter, converged)."""

from __future__ import annotations

import dataclasses
import inspect
import warnings

import numpy as np
import pytest
import torch
from semlib_api import public_objects

from semlib import flow, rate_distortion, reward
from semlib.models import TokenSource
from semlib.results import SolverResult

SHARED = {"gap", "n_iter", "converged"}


def _result_classes():
    return [
        obj
        for qual, obj in public_objects()
        if inspect.isclass(obj) and qual.endswith("Result") and obj is not SolverResult
    ]


RESULTS = _result_classes()


def test_the_walk_finds_the_solver_results():
    names = {c.__name__ for c in RESULTS}
    assert {
        "TiltedResult",
        "RateDistortionResult",
        "CapacityResult",
        "RateRewardResult",
        "RewardCapacityResult",
    } <= names


NOT_SOLVERS = {"AnalogyResult"}  # a lookup's answer, not an iteration's: no certificate to report


@pytest.mark.parametrize("cls", [c for c in RESULTS if c.__name__ not in NOT_SOLVERS], ids=lambda c: c.__name__)
def test_a_result_with_a_certificate_derives_from_the_base(cls):
    assert issubclass(cls, SolverResult), f"{cls.__name__} does not derive from semlib.results.SolverResult"
    fields = {f.name: f for f in dataclasses.fields(cls)}
    assert SHARED <= fields.keys()
    assert all(fields[n].kw_only for n in SHARED)  # after each result's own fields, by keyword


def test_the_base_is_frozen_and_keyword_only():
    r = SolverResult(gap=0.0, n_iter=3, converged=True)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.gap = 1.0  # type: ignore[misc]
    with pytest.raises(TypeError):
        SolverResult(0.0, 3, True)  # type: ignore[misc]


def _source():
    return TokenSource.random(3, 4, 1, seed=0)


def test_reward_capacity_reports_iterations_and_convergence():
    src = _source()
    w = torch.arange(12, dtype=torch.float64).reshape(3, 4) / 12
    wbar = (src.channel() * w).sum(1)
    target = float(0.5 * (wbar.min() + wbar.max()))
    res = flow.semantic_information_capacity(src, reward=w, min_reward=target)
    assert res.converged is True and res.n_iter > 1 and float(res.gap) < 1e-8 and float(res.lam) > 0
    with pytest.warns(rate_distortion.ConvergenceWarning):
        short = flow.semantic_information_capacity(src, reward=w, min_reward=target, max_iter=2)
    assert short.converged is False
    curve = flow.reward_capacity_curve(src, w, [0.0, 1.0])
    assert curve.converged is True and curve.n_iter >= 1 and curve.lam.shape == (2,)
    with pytest.warns(rate_distortion.ConvergenceWarning):
        stopped = flow.reward_capacity_curve(src, w, [0.0, 1.0], max_iter=1)
    assert stopped.converged is False and stopped.n_iter == 1


def test_rate_reward_result_reports_iterations():
    p = np.array([0.5, 0.5])
    w = np.array([[1.0, 0.0], [0.0, 1.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = reward.rate_reward_curve(p, w, [0.0, 1.0, 4.0])
    assert res.n_iter.shape == (3,) and np.all(res.n_iter >= 1) and np.all(res.converged)
