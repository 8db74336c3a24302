"""Tests for semlib.causal: discrete SCMs (rungs 1-3) and the structural VAR."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semlib import granger
from semlib.causal import DiscreteSCM, Mechanism, StructuralVAR, backdoor_adjustment, canonical_binary_scm


def confounded(p_z: float, p_x_given_z: tuple[float, float], p_y: np.ndarray) -> DiscreteSCM:
    """Z -> X, Z -> Y, X -> Y with P(Y=1 | x, z) = p_y[x, z] on a 100-point uniform noise."""
    theta = np.round(100 * np.asarray(p_y)).astype(int)
    tx = np.round(100 * np.asarray(p_x_given_z)).astype(int)
    return DiscreteSCM(
        {
            "Z": (2, (), lambda u: u, [1 - p_z, p_z]),
            "X": (2, ("Z",), lambda z, u: (u < tx[z]).astype(int), np.full(100, 0.01)),
            "Y": (2, ("X", "Z"), lambda x, z, u: (u < theta[x, z]).astype(int), np.full(100, 0.01)),
        }
    )


PY = np.array([[0.2, 0.9], [0.1, 0.8]])  # [x, z]


def test_joint_matches_factorisation():
    scm = confounded(0.5, (0.2, 0.8), PY)
    p = scm.joint(["Z", "X", "Y"])
    pz = np.array([0.5, 0.5])
    px_z = np.array([[0.8, 0.2], [0.2, 0.8]])  # [z, x]
    hand = np.zeros((2, 2, 2))
    for z, x, y in itertools.product(range(2), repeat=3):
        hand[z, x, y] = pz[z] * px_z[z, x] * (PY[x, z] if y else 1 - PY[x, z])
    assert np.allclose(p, hand, atol=1e-12)
    assert np.allclose(scm.joint(["Y", "X"]), hand.sum(0).T, atol=1e-12)


def test_do_agrees_with_backdoor_and_truncated_factorisation():
    scm = confounded(0.5, (0.2, 0.8), PY)
    adj = backdoor_adjustment(scm.joint(["Z", "X", "Y"]), x=1, y=2, z=[0])
    for x in range(2):
        assert np.allclose(scm.query(["Y"], do={"X": x}), adj[x], atol=1e-12)
        assert np.allclose(scm.do({"X": x}).joint(["Y"]), adj[x], atol=1e-12)
    # hand: sum_z P(y=1|x,z) P(z)
    assert adj[1, 1] == pytest.approx(0.45, abs=1e-12) and adj[0, 1] == pytest.approx(0.55, abs=1e-12)
    # association differs (confounding): P(Y=1|X=1) = 0.66
    assert scm.query(["Y"], given={"X": 1})[1] == pytest.approx(0.66, abs=1e-12)


@settings(max_examples=25, deadline=None)
@given(
    p_z=st.floats(0.05, 0.95),
    px=st.tuples(st.floats(0.05, 0.95), st.floats(0.05, 0.95)),
    py=st.lists(st.floats(0.0, 1.0), min_size=4, max_size=4),
)
def test_do_equals_backdoor_property(p_z, px, py):
    px = tuple(round(v, 2) for v in px)
    py_arr = np.round(np.array(py).reshape(2, 2), 2)
    scm = confounded(p_z, px, py_arr)
    adj = backdoor_adjustment(scm.joint(["X", "Y", "Z"]), x=0, y=1, z=[2])
    for x in range(2):
        assert np.allclose(scm.query(["Y"], do={"X": x}), adj[x], atol=1e-10)


def test_counterfactual_deterministic_matches_direct_computation():
    # U_A uniform on 0..3; A := U_A; B := (A + 1) mod 4 ; C := A * B mod 5 ; all deterministic given U
    scm = DiscreteSCM(
        {
            "A": (4, (), lambda u: u, np.full(4, 0.25)),
            "B": (4, ("A",), lambda a, u: (a + 1) % 4, [1.0]),
            "C": (5, ("A", "B"), lambda a, b, u: (a * b) % 5, [1.0]),
        }
    )
    for a_obs, b_new in itertools.product(range(4), range(4)):
        c_direct = (a_obs * b_new) % 5  # A fixed by abduction, B set, C recomputed
        cf = scm.counterfactual(["C"], do={"B": b_new}, given={"A": a_obs})
        assert cf[c_direct] == pytest.approx(1.0, abs=1e-12)
        # evidence on C pins A = a_obs when the map a -> a(a+1) mod 5 is injective on that value
    cf = scm.counterfactual(["B", "C"], do={"A": 2}, given={"C": 2})  # C = 2 <=> A in {1}; A=1 -> 1*2=2
    assert cf[3, 1] == pytest.approx(1.0, abs=1e-12)  # A := 2 -> B = 3, C = 6 mod 5 = 1


def test_counterfactual_xor_and_response_types():
    scm = DiscreteSCM({"X": (2, (), lambda u: u, [0.5, 0.5]), "Y": (2, ("X",), lambda x, u: x ^ u, [0.7, 0.3])})
    # Y = X xor U; seeing X=1, Y=1 gives U=0, so Y_{X=0} = 0
    assert scm.counterfactual(["Y"], do={"X": 0}, given={"X": 1, "Y": 1}).tolist() == [1.0, 0.0]
    m1 = canonical_binary_scm(0.5, [0.4, 0.3, 0.0, 0.3])
    m2 = canonical_binary_scm(0.5, [0.3, 0.4, 0.1, 0.2])
    assert np.allclose(m1.joint(), m2.joint(), atol=1e-12)
    for x in range(2):
        assert np.allclose(m1.query(["Y"], do={"X": x}), m2.query(["Y"], do={"X": x}), atol=1e-12)
    pn1 = m1.counterfactual(["Y"], do={"X": 0}, given={"X": 1, "Y": 1})[0]
    pn2 = m2.counterfactual(["Y"], do={"X": 0}, given={"X": 1, "Y": 1})[0]
    assert pn1 == pytest.approx(0.5, abs=1e-12) and pn2 == pytest.approx(2 / 3, abs=1e-12)


def test_counterfactual_with_evidence_equal_to_do_is_conditioning():
    # consistency: if the evidence already has X = x, P(Y_x | X = x, Z = z) = P(Y | X = x, Z = z)
    scm = confounded(0.3, (0.2, 0.7), PY)
    for x, z in itertools.product(range(2), repeat=2):
        cf = scm.counterfactual(["Y"], do={"X": x}, given={"X": x, "Z": z})
        assert np.allclose(cf, scm.query(["Y"], given={"X": x, "Z": z}), atol=1e-12)


def test_table_mechanism_equals_callable():
    table = np.array([[0, 1], [1, 0]])
    a = DiscreteSCM({"X": (2, (), lambda u: u, [0.3, 0.7]), "Y": (2, ("X",), table, [0.6, 0.4])})
    b = DiscreteSCM(
        {"X": Mechanism(2, (), lambda u: u, np.array([0.3, 0.7])), "Y": (2, ("X",), lambda x, u: x ^ u, [0.6, 0.4])}
    )
    assert np.allclose(a.joint(), b.joint(), atol=1e-15)


def test_discrete_validation():
    ok = {"X": (2, (), lambda u: u, [0.5, 0.5])}
    with pytest.raises(ValueError, match="noise"):
        DiscreteSCM({"X": (2, (), lambda u: u, [0.5, 0.6])})
    with pytest.raises(ValueError, match="parent 'W'"):
        DiscreteSCM({"X": (2, ("W",), lambda w, u: u, [1.0])})
    with pytest.raises(ValueError, match="cyclic"):
        DiscreteSCM({"X": (2, ("Y",), lambda y, u: y, [1.0]), "Y": (2, ("X",), lambda x, u: x, [1.0])})
    with pytest.raises(ValueError, match="domain"):
        DiscreteSCM({"X": (2, (), lambda u: u + 1, [0.5, 0.5])})
    with pytest.raises(ValueError, match="shape"):
        DiscreteSCM({"X": (2, (), np.array([0, 1, 1]), [0.5, 0.5])})
    with pytest.raises(TypeError, match="card"):
        DiscreteSCM({"X": (2.0, (), lambda u: u, [0.5, 0.5])})
    with pytest.raises(ValueError, match="max_configurations"):
        DiscreteSCM({"X": (2, (), lambda u: u % 2, np.full(64, 1 / 64))}, max_configurations=10)
    scm = DiscreteSCM(ok)
    with pytest.raises(ValueError, match="intervention"):
        scm.do({"W": 0})
    with pytest.raises(ValueError, match="domain"):
        scm.query(["X"], do={"X": 2})
    with pytest.raises(TypeError, match="given"):
        scm.query(["X"], given={"X": 1.0})
    with pytest.raises(ValueError, match="probability 0"):
        DiscreteSCM({"X": (2, (), lambda u: u, [1.0, 0.0])}).query(["X"], given={"X": 1})
    with pytest.raises(ValueError, match="given"):
        scm.counterfactual(["X"], do={"X": 0}, given={})
    with pytest.raises(ValueError, match="positivity"):
        backdoor_adjustment(np.array([[[0.5, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.25, 0.25]]]), 1, 2, [0])
    with pytest.raises(ValueError, match="distinct"):
        backdoor_adjustment(np.full((2, 2), 0.25), 0, 0, [])
    with pytest.raises(ValueError, match="p_types"):
        canonical_binary_scm(0.5, [0.5, 0.5, 0.0])


# --- structural VAR -----------------------------------------------------------------------------


def hidden_driver() -> StructuralVAR:
    A = np.zeros((2, 3, 3))
    A[0] = [[0.3, 0.0, 0.8], [0.0, 0.3, 0.0], [0.0, 0.0, 0.5]]
    A[1, 1, 2] = 0.8
    return StructuralVAR(A, np.ones(3), names=["x", "y", "z"])


def test_reduced_form_and_granger_match_semlib_granger():
    sv = hidden_driver()
    gc = sv.granger_causality("x", "y")
    assert gc == pytest.approx(float(granger.granger_causality(sv.A, np.eye(3), 0, 1, given=())), abs=1e-14)
    assert gc > 0.1
    assert abs(sv.granger_causality("x", "y", observed=["x", "y", "z"])) < 1e-10
    assert np.allclose(sv.causal_effect("x", "y", 6), 0.0)


def test_directed_information_terms_converge_to_half_granger():
    sv = hidden_driver()
    terms = sv.directed_information_terms("x", "y", 14)
    assert terms[0] == pytest.approx(0.0, abs=1e-12)
    assert terms[-1] == pytest.approx(sv.granger_causality("x", "y") / 2, abs=1e-8)
    te = granger.transfer_entropy(sv.A_reduced, sv.Sigma_reduced, 0, 1, given=())
    assert terms[-1] == pytest.approx(float(te), abs=1e-8)


def test_instantaneous_effects_reduced_form_and_effect():
    B0 = np.array([[0.0, 0.0], [0.7, 0.0]])  # x -> y within the step
    sv = StructuralVAR(np.zeros((1, 2, 2)), [1.0, 1.0], B0=B0, names=["x", "y"])
    assert np.allclose(sv.Sigma_reduced, [[1.0, 0.7], [0.7, 1.49]], atol=1e-14)
    assert sv.causal_effect("x", "y", 2).tolist() == pytest.approx([0.7, 0.0, 0.0])
    assert sv.causal_effect("y", "x", 2).tolist() == pytest.approx([0.0, 0.0, 0.0])
    assert abs(sv.granger_causality("x", "y")) < 1e-12 and abs(sv.granger_causality("y", "x")) < 1e-12


def test_causal_effect_matches_simulated_intervention():
    A = np.zeros((1, 3, 3))
    A[0] = [[0.5, 0.0, 0.0], [0.4, 0.2, 0.3], [0.0, 0.0, 0.6]]
    B0 = np.zeros((3, 3))
    B0[0, 2] = 0.5
    sv = StructuralVAR(A, [1.0, 0.5, 1.0], B0=B0, names=["x", "y", "z"])
    psi = sv.impulse_response("x", 4)
    # common random numbers: the difference of two interventions is exactly the propagated delta
    v1 = sv.simulate(8, n_paths=50, seed=3, do={("x", 2): 1.5}, burn_in=50)
    v0 = sv.simulate(8, n_paths=50, seed=3, do={("x", 2): 0.0}, burn_in=50)
    assert np.allclose((v1 - v0)[:, 2:7], 1.5 * psi[None], atol=1e-12)
    # and by hand: x_t -> y_{t+1} = 0.4, then y_{t+2} = 0.2 * 0.4 + 0.4 * 0.5
    assert psi[1, 1] == pytest.approx(0.4) and psi[2, 1] == pytest.approx(0.2 * 0.4 + 0.4 * 0.5)


def test_simulation_covariance_matches_closed_form():
    sv = hidden_driver()
    paths = sv.simulate(3, n_paths=40_000, seed=7, burn_in=100)
    emp = np.cov(paths.reshape(40_000, -1), rowvar=False)
    assert np.abs(emp - sv.covariance(3)).max() < 0.1


def test_svar_validation():
    with pytest.raises(ValueError, match="noise_var"):
        StructuralVAR(np.zeros((1, 2, 2)), [1.0, 0.0])
    with pytest.raises(ValueError, match="B0"):
        StructuralVAR(np.zeros((1, 2, 2)), [1.0, 1.0], B0=[[0.0, 0.5], [0.5, 0.0]])
    with pytest.raises(ValueError, match="diagonal"):
        StructuralVAR(np.zeros((1, 2, 2)), [1.0, 1.0], B0=[[0.5, 0.0], [0.0, 0.0]])
    with pytest.raises(ValueError, match="stationary"):
        StructuralVAR([[[1.0]]], [1.0])
    with pytest.raises(ValueError, match="A"):
        StructuralVAR(np.zeros((2, 2)), [1.0, 1.0])
    sv = hidden_driver()
    with pytest.raises(ValueError, match="source"):
        sv.causal_effect("w", "y", 2)
    with pytest.raises(ValueError, match="observed"):
        sv.granger_causality("x", "y", observed=["x"])
    with pytest.raises(ValueError, match="do"):
        sv.simulate(5, do={("x", 9): 1.0})
    with pytest.raises(TypeError, match="numpy"):
        import torch

        StructuralVAR(torch.zeros(1, 2, 2), [1.0, 1.0])
