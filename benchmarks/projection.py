"""SRHT (semlib) against scikit-learn's GaussianRandomProjection at N = 2^14.

Run from the repository root::

    python -m benchmarks.projection

Same batch of inputs (float64, fixed seed), same target dimension m. Times are the best of a
few repeats: scikit-learn's ``transform`` (the matrix product with the dense m x N Gaussian
matrix, drawn once by ``fit``) against semlib's ``SubsampledHadamard`` (signs, fast
Walsh-Hadamard transform, row selection), and the same including ``fit`` (drawing the matrix)
against constructing the SRHT. Distortion agreement: the largest relative error of squared
pairwise distances and the largest inner-product error (Eq. 35) of the two maps on the same
points, which should be of the same size.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import torch

if __package__ in (None, ""):  # `python benchmarks/projection.py`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from benchmarks.run import best_of, report
from semlib import projection as pj


def projection_case(n_inputs: int = 1000, dims: tuple[int, ...] = (512, 2048), n_pairs_points: int = 300) -> None:
    from sklearn.random_projection import GaussianRandomProjection

    N = 2**14
    print(
        f"\n[projection] SRHT vs sklearn GaussianRandomProjection: {n_inputs} inputs, N = {N}, float64, "
        f"{torch.get_num_threads()} torch threads"
    )
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n_inputs, N))
    X /= np.linalg.norm(X, axis=1, keepdims=True)
    Xt = torch.from_numpy(X)
    sub = Xt[:n_pairs_points]
    for m in dims:
        grp = GaussianRandomProjection(m, random_state=0)
        t_fit, _ = best_of(lambda grp=grp: grp.fit(X), 2)
        t_sk, Y_sk = best_of(lambda grp=grp: grp.transform(X), 3)
        srht = pj.SubsampledHadamard(N, m, seed=0)
        t_make, _ = best_of(lambda m=m: pj.SubsampledHadamard(N, m, seed=0), 3)
        t_sr, Y_sr = best_of(lambda srht=srht: srht(Xt), 3)
        d_sk = pj.pair_distortion(sub, torch.from_numpy(Y_sk[:n_pairs_points]))
        d_sr = pj.pair_distortion(sub, Y_sr[:n_pairs_points])
        e_sk = pj.cosine_distortion(sub, torch.from_numpy(Y_sk[:n_pairs_points]))
        e_sr = pj.cosine_distortion(sub, Y_sr[:n_pairs_points])
        print(
            f"  m = {m}: distance distortion sklearn {d_sk:.3f}, SRHT {d_sr:.3f}; inner-product error (Eq. 35) "
            f"sklearn {e_sk:.3f}, SRHT {e_sr:.3f}; sqrt(2 log(M^2)/m) = {np.sqrt(4 * np.log(n_pairs_points) / m):.3f}"
        )
        report(
            f"SRHT vs sklearn Gaussian, m={m}, transform only",
            t_sr,
            t_sk,
            abs(e_sk - e_sr),
            "|difference of the max inner-product errors| of the two maps (each a random map; same size expected)",
        )
        report(
            f"SRHT vs sklearn Gaussian, m={m}, incl. drawing",
            t_sr + t_make,
            t_sk + t_fit,
            abs(d_sk - d_sr),
            "|difference of the max distance distortions|",
        )


if __name__ == "__main__":
    projection_case()
