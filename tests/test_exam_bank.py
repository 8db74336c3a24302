"""The exam bank (``course/instructor/exams/part*.md``): every numerical answer is recomputed.

The bank is instructor material (see ``tests/test_privacy.py``). Each question opens with a
comment ``<!-- question ID kind=KIND points=N -->``; a question with numbers carries its data
as ``<!-- data ID {json} -->`` and its answers as ``<!-- answer ID name=value ... -->``. This
test recomputes each answer from the data with semlib (the function ``CHECKS[ID]``) and fails
when the bank's number is wrong by more than half a unit in its last printed digit. So that the
comment cannot drift from what a student reads, every number of the data must also appear in
the question's text and every answer value in its solution's text. Each part must hold 6–10
questions mixing conceptual questions, derivations and computations, each with a solution.

It runs in about a second: every computation is a closed form or a solver on a few numbers.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest
import torch

from semlib import bounds, causal, coding, elbo, fisher, flow, gaussian, geometry, granger, hopfield, info, projection
from semlib import rate_distortion as rd
from semlib import reward as rw
from semlib.directed import directed_information, echo_feedback_joint

ROOT = Path(__file__).resolve().parents[1]
EXAMS = ROOT / "course" / "instructor" / "exams"
PARTS = 6
KINDS = {"conceptual", "derivation", "computation"}

_QUESTION = re.compile(r"<!--\s*question\s+(?P<id>p\d-q\d+)\s+(?P<attrs>[^>]*?)\s*-->")
_DATA = re.compile(r"<!--\s*data\s+(?P<id>p\d-q\d+)\s+(?P<json>\{.*?\})\s*-->", re.DOTALL)
_ANSWER = re.compile(r"<!--\s*answer\s+(?P<id>p\d-q\d+)\s+(?P<pairs>[^>]*?)\s*-->")
_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_SOLUTION = re.compile(r"^\*\*Solution\*\*", re.MULTILINE)


@dataclass
class Question:
    """One question of the bank, as parsed from its Markdown."""

    id: str
    part: int
    kind: str
    points: int
    text: str  # the question's visible text (comments removed), before its solution
    solution: str  # the visible text of its solution
    data: dict = field(default_factory=dict)
    answers: dict[str, str] = field(default_factory=dict)  # name -> the number as printed


def parse_bank(text: str, part: int) -> list[Question]:
    """Split one part's Markdown into its questions (see the module docstring for the format)."""
    starts = list(_QUESTION.finditer(text))
    questions = []
    for k, match in enumerate(starts):
        end = starts[k + 1].start() if k + 1 < len(starts) else len(text)
        body = text[match.end() : end]
        attrs = dict(pair.split("=", 1) for pair in match["attrs"].split())
        data = {}
        for d in _DATA.finditer(body):
            assert d["id"] == match["id"], f"data comment of {d['id']} inside question {match['id']}"
            data = json.loads(d["json"])
        answers: dict[str, str] = {}
        for a in _ANSWER.finditer(body):
            assert a["id"] == match["id"], f"answer comment of {a['id']} inside question {match['id']}"
            for pair in a["pairs"].split():
                name, _, printed = pair.partition("=")
                answers[name] = printed
        visible = _COMMENT.sub("", body)
        split = _SOLUTION.search(visible)
        question_text, solution = (visible[: split.start()], visible[split.start() :]) if split else (visible, "")
        questions.append(
            Question(
                id=match["id"],
                part=part,
                kind=attrs.get("kind", ""),
                points=int(attrs.get("points", "0")),
                text=question_text,
                solution=solution,
                data=data,
                answers=answers,
            )
        )
    return questions


def load_bank() -> list[Question]:
    """Every question of the six parts, in order."""
    questions = []
    for part in range(1, PARTS + 1):
        path = EXAMS / f"part{part}.md"
        questions += parse_bank(path.read_text(encoding="utf-8"), part)
    return questions


# --- the recomputations, one per question with numbers -------------------------------------


def _h2(p: float) -> float:
    return float(info.entropy([p, 1 - p], base=2))


def _p1_q2(d: dict) -> dict[str, float]:
    p = np.array(d["p"])
    return {"H_bits": info.entropy(p, base=2), "E_len": float(np.sum(p * np.ceil(-np.log2(p))))}


def _p1_q3(d: dict) -> dict[str, float]:
    p, q = np.array(d["p"]), np.array(d["q"])
    return {"cross_bits": info.cross_entropy(p, q, base=2), "kl_bits": info.kl_divergence(p, q, base=2)}


def _p1_q4(d: dict) -> dict[str, float]:
    ideal = coding.ideal_code_length(d["q"])
    return {"ideal_bits": ideal, "max_bits": ideal + 2}


def _p1_q5(d: dict) -> dict[str, float]:
    bits_per_token = d["nats_per_token"] / math.log(2)
    return {"bits_per_token": bits_per_token, "bits_per_char": bits_per_token / d["chars_per_token"]}


def _p1_q6(d: dict) -> dict[str, float]:
    symbols = np.array([1] * d["ones"] + [0] * (d["n"] - d["ones"]))
    code = coding.two_part_code_length(symbols, 0, 2)
    return {"data_bits": code.data_bits, "per_symbol": code.data_bits / d["n"], "h_bits": _h2(d["ones"] / d["n"])}


def _p2_q1(d: dict) -> dict[str, float]:
    return {"R_bits": rd.binary_rd(d["p"], d["D"], base=2), "h_p": _h2(d["p"]), "h_D": _h2(d["D"])}


def _p2_q2(d: dict) -> dict[str, float]:
    z = rd.channel_capacity(np.array(d["W"]), base=2)
    return {"C_bsc": rd.bsc_capacity(d["eps"], base=2), "C_z": z.capacity, "r1": float(z.input_pmf[1])}


def _p2_q3(d: dict) -> dict[str, float]:
    return {"R_bits": rd.gaussian_rd(d["sigma2"], d["D"], base=2), "D_half": d["sigma2"] * 4.0 ** (-d["R"])}


def _p2_q5(d: dict) -> dict[str, float]:
    n = d["n"]
    joint = echo_feedback_joint(n, d["f"], d["eps"])
    xs, ys = list(range(0, 2 * n, 2)), list(range(1, 2 * n, 2))
    mi = info.mutual_information(joint, xs, ys, base=2)
    di = directed_information(joint, xs, ys, base=2)
    back = directed_information(joint, ys, xs, delay=1, base=2)
    return {"MI": mi, "DI": di, "feedback": back}


def _p2_q6(d: dict) -> dict[str, float]:
    A, Sigma = np.array([d["A"]]), np.eye(2)
    gc_xy = granger.granger_causality(A, Sigma, source=0, target=1)
    gc_yx = granger.granger_causality(A, Sigma, source=1, target=0)
    te = granger.transfer_entropy(A, Sigma, source=0, target=1, lags=d["lags"])
    gc_k = granger.granger_causality(A, Sigma, source=0, target=1, lags=d["lags"])
    return {"GC_xy": gc_xy, "GC_yx": gc_yx, "TE_xy": te, "half_GC": gc_k / 2}


def _p3_q1(d: dict) -> dict[str, float]:
    ref, r = np.array(d["pi_ref"]), np.array(d["r"])
    opt = rw.kl_regularized_optimum(ref[None], r[None], d["beta"])[0]
    mean = float(opt @ r)
    kl = info.kl_divergence(opt, ref)
    return {"pi1": opt[0], "pi2": opt[1], "pi3": opt[2], "reward": mean, "kl": kl, "objective": mean - d["beta"] * kl}


def _p3_q2(d: dict) -> dict[str, float]:
    gamma = fisher.softmax_output_covariance(np.array([d["p"]]))[0]
    eig = np.linalg.eigvalsh(gamma)
    return {"trace": float(np.trace(gamma)), "lam_max": eig[-1], "lam_min": abs(eig[0])}


def _p3_q3(d: dict) -> dict[str, float]:
    prior, W = np.array(d["prior"]), np.array(d["W"])
    joint = prior[:, None] * W
    mix = joint.sum(0)
    drifts = [info.kl_divergence(W[s], mix) for s in range(len(prior))]
    return {"drift1": drifts[0], "drift2": drifts[1], "mi": info.mutual_information(joint, 0, 1)}


def _p3_q4(d: dict) -> dict[str, float]:
    return {"bound": flow.freedman_bound(d["alpha"], d["beta"], d["c"])}


def _p3_q6(d: dict) -> dict[str, float]:
    ps, pol, w = np.array(d["p_s"]), np.array(d["policy"]), np.array(d["w"])
    return {"reward": rw.expected_reward(ps, pol, w), "rate": info.mutual_information(ps[:, None] * pol, 0, 1)}


def _p4_q1(d: dict) -> dict[str, float]:
    x, y = np.array(d["x"], dtype=float), np.array(d["y"], dtype=float)
    cos = float(geometry.cosine_similarity(x[None], y[None])[0, 0])
    return {"cos": cos, "dist2": 2 - 2 * cos}


def _p4_q2(d: dict) -> dict[str, float]:
    return {"m": projection.jl_min_dim(d["M"], d["eps"]), "m_half": projection.jl_min_dim(d["M"], d["eps"] / 2)}


def _p4_q3(d: dict) -> dict[str, float]:
    rho, dims = d["rho"], d["dims"]
    cov = np.block([[np.eye(dims), rho * np.eye(dims)], [rho * np.eye(dims), np.eye(dims)]])
    mi = gaussian.gaussian_mutual_information(cov, list(range(dims)), list(range(dims, 2 * dims)))
    return {"mi": mi, "ceiling": math.log(d["K"]), "log10_K_min": mi / math.log(10)}


def _p4_q4(d: dict) -> dict[str, float]:
    res = geometry.gromov_wasserstein_exact(np.array(d["x"], dtype=float), np.array(d["y"], dtype=float))
    return {"d2": res.distance2}


def _p4_q6(d: dict) -> dict[str, float]:
    return {"m": projection.rip_min_dim(d["k"], d["delta"], d["N"])}


def _p5_q1(d: dict) -> dict[str, float]:
    log_prior = torch.log(torch.tensor(d["pi"], dtype=torch.float64))
    log_em = torch.log(torch.tensor(d["emission"], dtype=torch.float64))
    ll = float(elbo.marginal_loglik(log_prior, log_em))
    bound = float(elbo.elbo(log_prior, log_prior, log_em))
    post = elbo.posterior(log_prior, log_em)
    return {"loglik": ll, "elbo": bound, "gap": ll - bound, "post1": float(post.exp()[0])}


def _p5_q2(d: dict) -> dict[str, float]:
    pi = torch.tensor(d["pi"], dtype=torch.float64)
    logits = torch.tensor(d["logits"], dtype=torch.float64)
    return {"G": float(elbo.jensen_gap(pi, logits))}


def _p5_q3(d: dict) -> dict[str, float]:
    B = math.log(d["K"])
    return {
        "unit": bounds.mcdiarmid_term(d["M"], d["delta"]),
        "scaled": bounds.mcdiarmid_term(d["M"], d["delta"], B),
        "B": B,
    }


def _p5_q4(d: dict) -> dict[str, float]:
    err = float(hopfield.crosstalk_bit_error(d["n"], [d["P"]])[0])
    return {"bit_error": err, "expected_bad": err * d["n"], "mceliece": hopfield.mceliece_capacity(d["n"])}


def _p5_q5(d: dict) -> dict[str, float]:
    count = hopfield.cover_count(d["P"], d["n"])
    return {"count": count, "fraction": count / 2 ** d["P"], "fraction_2n": hopfield.cover_fraction(2 * d["n"], d["n"])}


def _p6_q1(d: dict) -> dict[str, float]:
    pz, px, py = np.array(d["p_z"]), np.array(d["p_x1_given_z"]), np.array(d["p_y1_given_xz"])
    joint = np.zeros((2, 2, 2))  # axes Z, X, Y
    for z in range(2):
        for x in range(2):
            p_x = px[z] if x else 1 - px[z]
            for y in range(2):
                p_y = py[x][z] if y else 1 - py[x][z]
                joint[z, x, y] = pz[z] * p_x * p_y
    do = causal.backdoor_adjustment(joint, x=1, y=2, z=[0])
    pxy = joint.sum(0)
    obs = pxy[:, 1] / pxy.sum(1)
    return {"do1": do[1, 1], "do0": do[0, 1], "ace": do[1, 1] - do[0, 1], "obs1": obs[1], "obs0": obs[0]}


def _p6_q3(d: dict) -> dict[str, float]:
    W = np.array(d["W"])
    uniform = np.full(len(W), 1 / len(W))
    cap = rd.channel_capacity(W)
    return {"mi_uniform": info.mutual_information(uniform[:, None] * W, 0, 1), "capacity": cap.capacity}


def _p6_q4(d: dict) -> dict[str, float]:
    prior = np.array(d["prior"])
    like = np.prod(np.array(d["likelihoods"]), axis=1)
    post = prior * like / np.sum(prior * like)
    return {"post_true": post[0], "entropy_after": info.entropy(post, base=2)}


CHECKS: dict[str, Callable[[dict], dict[str, float]]] = {
    "p1-q2": _p1_q2,
    "p1-q3": _p1_q3,
    "p1-q4": _p1_q4,
    "p1-q5": _p1_q5,
    "p1-q6": _p1_q6,
    "p2-q1": _p2_q1,
    "p2-q2": _p2_q2,
    "p2-q3": _p2_q3,
    "p2-q5": _p2_q5,
    "p2-q6": _p2_q6,
    "p3-q1": _p3_q1,
    "p3-q2": _p3_q2,
    "p3-q3": _p3_q3,
    "p3-q4": _p3_q4,
    "p3-q6": _p3_q6,
    "p4-q1": _p4_q1,
    "p4-q2": _p4_q2,
    "p4-q3": _p4_q3,
    "p4-q4": _p4_q4,
    "p4-q6": _p4_q6,
    "p5-q1": _p5_q1,
    "p5-q2": _p5_q2,
    "p5-q3": _p5_q3,
    "p5-q4": _p5_q4,
    "p5-q5": _p5_q5,
    "p6-q1": _p6_q1,
    "p6-q3": _p6_q3,
    "p6-q4": _p6_q4,
}


def tolerance(printed: str) -> float:
    """Half a unit in the last printed digit (plus rounding slack): the bank rounds, never truncates."""
    mantissa = printed.lower().split("e")[0]
    decimals = len(mantissa.split(".")[1]) if "." in mantissa else 0
    exponent = int(printed.lower().split("e")[1]) if "e" in printed.lower() else 0
    return 0.5 * 10.0 ** (exponent - decimals) * (1 + 1e-9) + 1e-12


def _numbers(value: object) -> list[int | float]:
    """The numbers of a data value (nested lists flattened), as JSON gave them: 1 stays 1, not 1.0."""
    if isinstance(value, list):
        return [n for item in value for n in _numbers(item)]
    return [value] if isinstance(value, int | float) else []


def wrong_answers(question: Question) -> list[str]:
    """What is wrong with one question's numbers: an empty list when the bank is right."""
    check = CHECKS.get(question.id)
    if check is None:
        return [f"{question.id}: it has answers but no recomputation in CHECKS"] if question.answers else []
    if not question.answers:
        return [f"{question.id}: CHECKS recomputes it but the bank gives no answer comment"]
    computed = check(question.data)
    problems = []
    for name, printed in question.answers.items():
        if name not in computed:
            problems.append(f"{question.id}: answer {name!r} is not recomputed (have {sorted(computed)})")
            continue
        value = float(computed[name])
        if not math.isfinite(value) or abs(float(printed) - value) > tolerance(printed):
            problems.append(f"{question.id}: {name} is printed as {printed}, semlib gives {value:.10g}")
        if printed not in question.solution:
            problems.append(f"{question.id}: the answer {name}={printed} is not in the solution's text")
    for key, value in question.data.items():
        for number in _numbers(value):
            if str(number) not in question.text:
                problems.append(f"{question.id}: data {key} holds {number}, which the question's text does not show")
    return problems


# --- the tests ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bank() -> list[Question]:
    return load_bank()


def test_every_part_has_six_to_ten_questions_of_every_kind(bank):
    for part in range(1, PARTS + 1):
        questions = [q for q in bank if q.part == part]
        assert 6 <= len(questions) <= 10, f"part {part} has {len(questions)} questions, expected 6-10"
        kinds = {q.kind for q in questions}
        assert kinds == KINDS, f"part {part} mixes only {sorted(kinds)}, expected all of {sorted(KINDS)}"
        for q in questions:
            assert q.id.startswith(f"p{part}-"), f"{q.id} is filed under part {part}"
            assert q.points > 0, f"{q.id} has no points"
            assert len(q.solution.split()) >= 25, f"{q.id} has no worked solution (under 25 words)"
    ids = [q.id for q in bank]
    assert len(ids) == len(set(ids)), "question ids are not unique"


def test_every_computation_has_a_recomputed_answer(bank):
    ids = {q.id for q in bank}
    assert set(CHECKS) <= ids, f"CHECKS recomputes questions the bank lacks: {sorted(set(CHECKS) - ids)}"
    for q in bank:
        if q.kind == "computation":
            assert q.id in CHECKS and q.answers, f"{q.id} is a computation without a recomputed answer"


def test_every_number_in_the_bank_is_right(bank):
    problems = [p for q in bank for p in wrong_answers(q)]
    assert not problems, "\n".join(problems)


def test_a_wrong_number_is_caught(bank):
    """Mutations: a changed last digit, a changed data value, an answer missing from the text."""
    q = next(q for q in bank if q.id == "p2-q1")
    name, printed = next(iter(q.answers.items()))
    digit = "1" if printed[-1] != "1" else "2"
    wrong = printed[:-1] + digit
    doctored = Question(**{**q.__dict__, "answers": {**q.answers, name: wrong}, "solution": q.solution + wrong})
    assert any("semlib gives" in p for p in wrong_answers(doctored))
    doctored = Question(**{**q.__dict__, "data": {**q.data, "p": q.data["p"] + 0.01}})
    found = wrong_answers(doctored)
    assert any("semlib gives" in p for p in found) and any("does not show" in p for p in found)
    doctored = Question(**{**q.__dict__, "solution": q.solution.replace(printed, "?")})
    assert any("not in the solution" in p for p in wrong_answers(doctored))
