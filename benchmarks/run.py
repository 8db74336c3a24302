"""semlib against dit on identical inputs: time, the two ratios, and the largest disagreement.

Run from the repository root::

    python -m benchmarks.run          # or: python benchmarks/run.py

Everything runs on the CPU in float64 with fixed seeds; times are the best of a few repeats
(``time.perf_counter``). The three cases and how the two libraries are matched are described
in ``benchmarks/README.md``. Total run time is about a minute on two cores.
"""

from __future__ import annotations

import math
import os
import platform
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

if __package__ in (None, ""):  # `python benchmarks/run.py`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from semlib import info
from semlib import rate_distortion as rd

LOG2 = math.log(2)


def best_of(fn: Callable[[], Any], repeats: int) -> tuple[float, Any]:
    """Best wall time of ``repeats`` calls, and the last result."""
    best, out = math.inf, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


ROWS: list[dict[str, Any]] = []


def report(case: str, semlib_s: float, peer_s: float, disagreement: float, what: str) -> None:
    ROWS.append({"case": case, "semlib": semlib_s, "peer": peer_s, "disagreement": disagreement, "what": what})
    print(
        f"  -> {case}: semlib {semlib_s:.4g} s, peer {peer_s:.4g} s | peer/semlib = {peer_s / semlib_s:.3g}x "
        f"(semlib is that many times faster) | semlib/peer = {semlib_s / peer_s:.3g} | "
        f"largest disagreement {disagreement:.2e} ({what})"
    )


# --- 1. rate-distortion curve ----------------------------------------------------------------


class RunExactly:
    """A distortion callable that makes dit's Blahut–Arimoto run exactly ``max_iters`` iterations.

    dit stops as soon as two successive mean distortions are ``np.isclose`` (rtol 1e-5). Adding a
    constant to every entry of d leaves each update unchanged (it cancels in the row
    normalisation) but shifts the reported mean distortion, so alternating the shift between 0
    and 0.01 every iteration switches the early stop off. D is recomputed from dit's joint pmf.
    """

    def __init__(self, d: np.ndarray):
        self.variants = (d, d + 0.01)
        self.calls = 0

    def __call__(self, p_x: np.ndarray, q_y_x: np.ndarray) -> np.ndarray:
        self.calls += 1
        return self.variants[(self.calls // 2) % 2]


def rate_distortion_case() -> None:
    from dit.rate_distortion.blahut_arimoto import blahut_arimoto as dit_ba

    print("\n[1] R(D) curve: 64-symbol source, random 64x64 distortion, 100 slopes")
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.ones(64))
    d = rng.random((64, 64))
    beta = np.geomspace(0.05, 500.0, 100)  # slope -beta in nats; dit's exp2(-b d) needs b = beta / log 2

    ref = rd.blahut_arimoto_rd(p, d, beta, tol=1e-12, max_iter=100_000)
    assert bool(ref.converged.all())
    lagrangian_ref = ref.rate + beta * ref.distortion

    def errors(rate: np.ndarray, dist: np.ndarray) -> tuple[float, float]:
        """(max excess of R + beta D over the optimum, max |R - R_ref| at equal beta), nats."""
        return float(np.max(rate + beta * dist - lagrangian_ref)), float(np.max(np.abs(rate - ref.rate)))

    t_acc, acc = best_of(lambda: rd.blahut_arimoto_rd(p, d, beta, tol=1e-6), 3)
    t_cls, cls = best_of(lambda: rd.blahut_arimoto_rd(p, d, beta, tol=1e-6, accelerate=False, max_iter=100_000), 2)
    assert bool(acc.converged.all()) and bool(cls.converged.all())
    print(f"  reference: semlib, gap <= 1e-12 (max gap {ref.gap.max():.1e}); errors below are against it, in nats")
    print(
        f"  semlib accelerated, gap <= 1e-6: {t_acc:.3f} s, {int(acc.n_iter.sum())} iterations in all; "
        "excess of R + beta*D %.1e, max |dR| %.1e" % errors(acc.rate, acc.distortion)
    )
    print(
        f"  semlib classical,   gap <= 1e-6: {t_cls:.3f} s, {int(cls.n_iter.sum())} iterations in all; "
        "excess %.1e, max |dR| %.1e" % errors(cls.rate, cls.distortion)
    )

    def dit_curve(iterations: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
        rates, dists, joints = np.empty(len(beta)), np.empty(len(beta)), []
        for i, b in enumerate(beta):
            if iterations is None:  # dit as shipped (its stopping rule and default cap of 100 iterations)
                res, joint = dit_ba(p, b / LOG2, distortion=lambda px, qyx: d, restarts=1)
            else:
                res, joint = dit_ba(p, b / LOG2, distortion=RunExactly(d), max_iters=int(iterations[i]), restarts=1)
            rates[i], dists[i] = res.rate * LOG2, float((joint * d).sum())
            joints.append(joint)
        return rates, dists, joints

    def repair(rates: np.ndarray, joints: list[np.ndarray], label: str) -> np.ndarray:
        """dit's rate formula sum q log2(q / (q_x q_y)) gives inf when q_x q_y underflows; recompute those."""
        bad = ~np.isfinite(rates)
        if bad.any():
            print(
                f"  ({label}: dit returned R = inf at {int(bad.sum())} slopes, beta = "
                f"{', '.join(f'{b:.3g}' for b in beta[bad])}, from underflow of q_x q_y in its rate formula; "
                "R recomputed from its joint pmf with semlib.info.mutual_information)"
            )
            rates = rates.copy()
            for i in np.flatnonzero(bad):
                rates[i] = float(info.mutual_information(joints[i] / joints[i].sum(), 0, 1))
        return rates

    t_dit, (r_dit, d_dit, j_dit) = best_of(lambda: dit_curve(cls.n_iter), 1)
    r_dit = repair(r_dit, j_dit, "same iterations")
    same = max(float(np.max(np.abs(r_dit - cls.rate))), float(np.max(np.abs(d_dit - cls.distortion))))
    print(
        f"  dit, the classical updates for the same iteration counts: {t_dit:.2f} s; "
        "excess %.1e, max |dR| %.1e; differs from semlib classical by %.1e" % (*errors(r_dit, d_dit), same)
    )
    t_own, (r_own, d_own, j_own) = best_of(lambda: dit_curve(None), 1)
    r_own = repair(r_own, j_own, "as shipped")
    print(
        f"  dit as shipped (own stopping rule, max_iters=100, restarts=1): {t_own:.2f} s; "
        "excess %.1e, max |dR| %.1e  <- not 1e-6 accurate" % errors(r_own, d_own)
    )

    worst = max(errors(acc.rate, acc.distortion)[0], errors(r_dit, d_dit)[0])
    lagrangian_diff = float(np.max(np.abs(acc.rate + beta * acc.distortion - r_dit - beta * d_dit)))
    report(
        "R(D), equal certified accuracy (gap <= 1e-6)",
        t_acc,
        t_dit,
        lagrangian_diff,
        f"max |(R + beta D)_semlib - (R + beta D)_dit|, nats; each point at most {worst:.1e} above the "
        f"true curve; max |R_semlib - R_dit| at equal beta {float(np.max(np.abs(acc.rate - r_dit))):.1e}",
    )
    report("R(D), same classical algorithm and iterations", t_cls, t_dit, same, "max |dR|, |dD| vs dit, nats")


# --- 2. channel capacity ---------------------------------------------------------------------


def capacity_case() -> None:
    from dit.algorithms.channelcapacity import channel_capacity as dit_capacity

    n_channels = 20
    print(f"\n[2] channel capacity: {n_channels} random 64x64 channels (rows Dirichlet(0.5))")
    rng = np.random.default_rng(1)
    W = rng.dirichlet(np.full(64, 0.5), size=(n_channels, 64))

    ref = rd.channel_capacity(W, tol=1e-13, max_iter=1_000_000)
    assert bool(ref.converged.all())
    tol = 1e-9
    t_sem, sem = best_of(lambda: rd.channel_capacity(W, tol=tol), 3)
    t_one, _one = best_of(lambda: [rd.channel_capacity(w, tol=tol).capacity for w in W], 1)
    err_sem = float(np.max(np.abs(sem.capacity - ref.capacity)))
    print(
        f"  reference: semlib, gap <= 1e-13. semlib batched, gap <= {tol:g} nats: {t_sem:.3f} s, "
        f"error {err_sem:.1e} nats; one channel at a time: {t_one:.3f} s"
    )
    atol = 1e-10  # bits; dit stops when successive lower bounds differ by less than atol
    t_dit, caps = best_of(lambda: [dit_capacity(w, rtol=0, atol=atol)[0] for w in W], 2)
    caps = np.array(caps) * LOG2
    err_dit = float(np.max(np.abs(caps - ref.capacity)))
    print(f"  dit channel_capacity(rtol=0, atol={atol:g} bits): {t_dit:.3f} s, error {err_dit:.1e} nats")
    report(
        "capacity, semlib certified 1e-9 vs dit atol 1e-10",
        t_sem,
        t_dit,
        float(np.max(np.abs(sem.capacity - caps))),
        f"max |C_semlib - C_dit|, nats; errors vs reference: semlib {err_sem:.1e}, dit {err_dit:.1e}",
    )


# --- 3. entropy and mutual information of a big joint pmf ------------------------------------


def information_case() -> None:
    import dit

    print("\n[3] entropy and mutual information of 16 binary variables (2^16 outcomes)")
    rng = np.random.default_rng(2)
    p = rng.dirichlet(np.full(2**16, 0.5)).reshape((2,) * 16)
    a, b = tuple(range(8)), tuple(range(8, 16))

    t_build, dist = best_of(lambda: dit.Distribution.from_ndarray(p), 2)
    t_h, h = best_of(lambda: info.entropy(p), 20)
    t_h_dit, h_dit = best_of(lambda: dit.shannon.entropy(dist), 20)
    t_mi, mi = best_of(lambda: info.mutual_information(p, a, b), 20)
    t_mi_dit, mi_dit = best_of(lambda: dit.shannon.mutual_information(dist, list(a), list(b)), 20)
    print(f"  building dit's Distribution from the array (not timed below): {t_build:.3f} s")
    report("entropy H(X_0..X_15)", t_h, t_h_dit, abs(float(h) - h_dit * LOG2), "nats")
    report("mutual information I(X_0..7; X_8..15)", t_mi, t_mi_dit, abs(float(mi) - mi_dit * LOG2), "nats")
    report(
        "entropy + MI, dit's time including building its Distribution",
        t_h + t_mi,
        t_build + t_h_dit + t_mi_dit,
        max(abs(float(h) - h_dit * LOG2), abs(float(mi) - mi_dit * LOG2)),
        "nats",
    )


def main() -> None:
    warnings.simplefilter("error", rd.ConvergenceWarning)
    import dit

    start = time.perf_counter()
    print(
        f"semlib benchmarks: Python {platform.python_version()}, numpy {np.__version__}, dit {dit.__version__}, "
        f"{os.cpu_count()} CPUs, float64 on the CPU"
    )
    rate_distortion_case()
    capacity_case()
    information_case()
    from benchmarks.gw import gw_case  # semlib.geometry vs POT
    from benchmarks.projection import projection_case  # semlib.projection vs scikit-learn

    gw_case()
    projection_case()
    print(
        "\nSummary (peer = dit, POT or scikit-learn, as named in each case; peer/semlib > 1 means semlib "
        "is faster; semlib/peer is its inverse)"
    )
    print(f"{'case':<62} {'semlib s':>10} {'peer s':>10} {'peer/semlib':>12} {'semlib/peer':>12} {'disagree':>9}")
    for row in ROWS:
        print(
            f"{row['case']:<62} {row['semlib']:>10.4g} {row['peer']:>10.4g} {row['peer'] / row['semlib']:>12.3g} "
            f"{row['semlib'] / row['peer']:>12.3g} {row['disagreement']:>9.1e}"
        )
    print(f"\ntotal run time {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
