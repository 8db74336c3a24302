"""Tests of semlib.projection: fast transforms, JL maps, distortion measures, dimension formulas."""

import math

import numpy as np
import pytest
import scipy.fft
import scipy.linalg
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from semlib import projection as pj


@pytest.mark.parametrize("n", [1, 2, 4, 64, 1024])
@pytest.mark.parametrize("radix", [2, 4, 16, 128])
def test_fwht_equals_hadamard_matrix(n, radix):
    x = torch.randn(7, n, dtype=torch.float64, generator=torch.Generator().manual_seed(n))
    H = torch.as_tensor(scipy.linalg.hadamard(n), dtype=torch.float64)
    assert torch.allclose(pj.fwht(x, radix=radix), x @ H.T, atol=1e-10, rtol=0)
    assert torch.allclose(pj.hadamard_matrix(n), H)


def test_fwht_batched_shapes_orthogonal_and_involution():
    x = torch.randn(3, 5, 256, dtype=torch.float64)
    y = pj.fwht(x, normalized=True)
    assert y.shape == x.shape and y.dtype == x.dtype
    assert torch.allclose(y.norm(dim=-1), x.norm(dim=-1), atol=1e-12)
    assert torch.allclose(pj.fwht(y, normalized=True), x, atol=1e-12)
    big = torch.randn(300, 4096, dtype=torch.float64)  # more rows than one block
    H = torch.as_tensor(scipy.linalg.hadamard(4096), dtype=torch.float64)
    assert torch.allclose(pj.fwht(big[:, :]), big @ H.T, atol=1e-9)


def test_dct_matches_scipy():
    x = torch.randn(4, 37, dtype=torch.float64)
    ref = scipy.fft.dct(x.numpy(), type=2, norm="ortho", axis=-1)
    assert np.abs(pj.dct_ortho(x).numpy() - ref).max() < 1e-12


@pytest.mark.parametrize("kind", pj.MAP_KINDS)
def test_maps_shape_dtype_and_linearity(kind):
    f = pj.make_map(kind, 100, 20, seed=3)
    x = torch.randn(6, 100, dtype=torch.float64)
    y = f(x)
    assert y.shape == (6, 20) and y.dtype == torch.float64
    assert f(x.float()).dtype == torch.float32
    A = f.matrix()
    assert torch.allclose(y, x @ A.T, atol=1e-10)
    assert torch.allclose(f(2 * x[:2] + x[2:4]), 2 * y[:2] + y[2:4], atol=1e-10)
    assert torch.equal(pj.make_map(kind, 100, 20, seed=3).matrix(), A)  # same seed, same map
    assert f(torch.randn(2, 3, 100)).shape == (2, 3, 20)


@pytest.mark.parametrize("cls,n", [(pj.SubsampledHadamard, 256), (pj.SubsampledDCT, 200)])
def test_subsampled_rows_orthogonal(cls, n):
    # no padding: the rows are orthogonal with squared norm N/m (padding keeps only some columns)
    f = cls(n, 32, seed=1)
    A = f.matrix()
    N = f.padded_dim
    assert torch.allclose(A @ A.T, (N / 32) * torch.eye(32, dtype=torch.float64), atol=1e-10)


@pytest.mark.parametrize("kind", pj.MAP_KINDS)
def test_expected_squared_norm_monte_carlo(kind):
    # E||Ax||^2 = ||x||^2 over the randomness of A: mean of 400 maps; the standard error of
    # ||Ax||^2 is at most sqrt(2/m) ||x||^2 / sqrt(400) = 0.016 for m = 20, so 5 SE = 0.08
    x = torch.randn(1, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    x /= x.norm()
    vals = [float(pj.make_map(kind, 64, 20, seed=s)(x).pow(2).sum()) for s in range(400)]
    assert abs(np.mean(vals) - 1.0) < 0.08


def test_signed_map_is_A_D_sigma_and_eq37():
    A = torch.randn(10, 50, dtype=torch.float64)
    f = pj.SignedMap(A, seed=2)
    D = torch.diag(f.signs)
    assert torch.allclose(f.matrix(), A @ D, atol=1e-12)
    S = torch.randn(4, 50, dtype=torch.float64)
    P = A.T @ A
    lhs = S @ D @ P @ D @ S.T  # Eq. (37)
    assert torch.allclose(f(S) @ f(S).T, lhs, atol=1e-9)
    assert set(f.signs.tolist()) <= {-1.0, 1.0}


def test_srht_and_sklearn_gaussian_both_within_jl_bounds():
    from sklearn.random_projection import GaussianRandomProjection, johnson_lindenstrauss_min_dim

    rng = np.random.default_rng(0)
    M, N, eps = 60, 1024, 0.5
    m = int(johnson_lindenstrauss_min_dim(M, eps=eps))
    assert 0 <= pj.jl_min_dim(M, eps) - m <= 1  # sklearn rounds down, semlib up
    X = rng.standard_normal((M, N))
    Y_sk = GaussianRandomProjection(m, random_state=0).fit_transform(X)
    Xt = torch.as_tensor(X)
    Y_srht = pj.SubsampledHadamard(N, m, seed=0)(Xt)
    d_sk = pj.pair_distortion(Xt, torch.as_tensor(Y_sk))
    d_srht = pj.pair_distortion(Xt, Y_srht)
    assert d_sk < eps and d_srht < eps
    assert abs(d_sk - d_srht) < 0.25  # same order of distortion


def test_pair_distortion_against_loop():
    X = torch.randn(8, 30, dtype=torch.float64)
    Y = pj.GaussianMap(30, 10, seed=0)(X)
    ref = max(
        abs(float((Y[i] - Y[j]).pow(2).sum() / (X[i] - X[j]).pow(2).sum()) - 1)
        for i in range(8)
        for j in range(i + 1, 8)
    )
    assert abs(pj.pair_distortion(X, Y) - ref) < 1e-12


def test_cosine_distortion_and_semantic_distortion():
    X = torch.randn(20, 40, dtype=torch.float64)
    X /= X.norm(dim=1, keepdim=True)
    f = pj.GaussianMap(40, 15, seed=0)
    Y = f(X)
    P = f.matrix().T @ f.matrix()
    E = X @ X.T - X @ P @ X.T
    assert abs(pj.cosine_distortion(X, Y) - float(E.abs().max())) < 1e-12
    off = E.abs() - torch.diag(E.abs().diagonal())
    assert abs(pj.cosine_distortion(X, Y, diagonal=False) - float(off.max())) < 1e-12
    d2 = pj.semantic_compression_distortion(X, Y, renormalize=False)
    assert abs(d2 - float((E**2).mean())) < 1e-12
    assert d2 <= pj.cosine_distortion(X, Y) ** 2 + 1e-15
    w = torch.rand(20, dtype=torch.float64)
    mu = w / w.sum()
    assert abs(pj.semantic_compression_distortion(X, Y, w, renormalize=False) - float(mu @ E**2 @ mu)) < 1e-12
    Yn = Y / Y.norm(dim=1, keepdim=True)
    En = X @ X.T - Yn @ Yn.T
    assert abs(pj.semantic_compression_distortion(X, Y) - float((En**2).mean())) < 1e-12
    # an isometry has zero distortion
    Q, _ = torch.linalg.qr(torch.randn(40, 40, dtype=torch.float64))
    assert pj.cosine_distortion(X, X @ Q) < 1e-12


def test_dimension_formulas():
    from sklearn.random_projection import johnson_lindenstrauss_min_dim

    for M, eps in [(10, 0.1), (2000, 0.3), (10**6, 0.5)]:
        exact = 4 * math.log(M) / (eps**2 / 2 - eps**3 / 3)
        assert pj.jl_min_dim(M, eps) == math.ceil(exact)  # sklearn truncates the same number
        assert int(johnson_lindenstrauss_min_dim(M, eps=eps)) == math.floor(exact)
    assert pj.jl_min_dim(100, 0.5, C=2.0) == math.ceil(2 * math.log(100) / 0.25)
    k, delta = pj.krahmer_ward_sparsity(2000, 0.1, 0.2)
    assert k == math.ceil(40 * math.log(80000)) and delta == pytest.approx(0.05)
    assert pj.rip_min_dim(500, 0.05, 384) == 384
    assert pj.rip_min_dim(10, 0.5, 10**4) == math.ceil(10 * math.log(math.e * 1000) / 0.25)
    m = np.array([16, 64, 256])
    C = 3.0
    eps = np.sqrt(C * math.log(50) / m)
    assert pj.fit_jl_constant(m, eps, 50) == pytest.approx(C)


@settings(max_examples=30)
@given(
    n=st.integers(min_value=2, max_value=200),
    frac=st.floats(min_value=0.05, max_value=1.0),
    seed=st.integers(min_value=0, max_value=10**6),
    kind=st.sampled_from(pj.MAP_KINDS),
)
def test_property_map_matches_matrix_and_norms(n, frac, seed, kind):
    m = max(1, int(frac * n))
    f = pj.make_map(kind, n, m, seed=seed)
    x = torch.randn(3, n, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    A = f.matrix()
    assert torch.allclose(f(x), x @ A.T, atol=1e-9)
    if kind in ("srht", "dct"):
        # rows orthogonal: ||Ax|| <= sqrt(N'/m) ||x||, with equality when m = N' (no padding)
        N = f.padded_dim
        assert bool((f(x).norm(dim=1) <= math.sqrt(N / m) * x.norm(dim=1) + 1e-9).all())
        if m == N:
            assert torch.allclose(f(x).norm(dim=1), x.norm(dim=1), atol=1e-9)


def test_bad_inputs():
    with pytest.raises(ValueError, match="out_dim"):
        pj.GaussianMap(10, 20)
    with pytest.raises(TypeError, match="in_dim"):
        pj.GaussianMap(10.0, 5)
    with pytest.raises(ValueError, match="kind"):
        pj.make_map("fourier", 10, 5)
    with pytest.raises(ValueError, match="power of 2"):
        pj.fwht(torch.zeros(3, 6))
    with pytest.raises(ValueError, match="radix"):
        pj.fwht(torch.zeros(3, 8), radix=3)
    assert isinstance(pj.fwht(np.zeros((2, 8))), np.ndarray)  # numpy in, numpy out
    with pytest.raises(ValueError, match="last dimension"):
        pj.GaussianMap(10, 5)(torch.zeros(2, 11))
    with pytest.raises(ValueError, match="finite"):
        pj.GaussianMap(10, 5)(torch.full((2, 10), float("nan")))
    with pytest.raises(ValueError, match="density"):
        pj.SparseMap(10, 5, density=0.0)
    with pytest.raises(ValueError, match="eps"):
        pj.jl_min_dim(10, 1.5)
    with pytest.raises(ValueError, match="same number of rows"):
        pj.cosine_distortion(torch.zeros(3, 4), torch.zeros(2, 2))
    with pytest.raises(ValueError, match="weights"):
        pj.semantic_compression_distortion(torch.eye(3), torch.eye(3), [1.0, -1.0, 1.0])
    with pytest.raises(TypeError, match="base"):
        pj.SignedMap([[1.0]])


def test_identity_hadamard_map_matrix_bound_and_signs():
    f = pj.IdentityHadamardMap(8, signs=False)
    A = f.matrix()
    H = torch.as_tensor(scipy.linalg.hadamard(8), dtype=torch.float64) / math.sqrt(8)
    assert A.shape == (8, 16) and torch.allclose(A, torch.cat([torch.eye(8, dtype=torch.float64), H], 1))
    # the certified bound holds, and is attained for this small Sylvester matrix (1e-12)
    for k in (1, 2, 3, 4):
        exact = pj.rip_constant(A.numpy(), k)
        assert exact <= f.rip_constant_bound(k) + 1e-12
    assert abs(pj.rip_constant(A.numpy(), 2) - f.rip_constant_bound(2)) < 1e-12
    g = pj.IdentityHadamardMap(8, seed=3)
    assert torch.allclose(g.matrix(), A * g.signs, atol=1e-12)
    assert pj.IdentityHadamardMap(8, seed=3).signs.tolist() == g.signs.tolist()
    x = torch.randn(2, 3, 16, dtype=torch.float32)
    assert g(x).shape == (2, 3, 8) and g(x).dtype == torch.float32
    with pytest.raises(ValueError, match="out_dim"):
        pj.IdentityHadamardMap(12)
    with pytest.raises(ValueError, match="x"):
        g(torch.zeros(3, 8))


def test_rip_constant_against_direct_definition():
    A = np.random.default_rng(0).standard_normal((5, 7)) / math.sqrt(5)
    # one sparsity level by the definition: extreme eigenvalues over all supports of size 2
    import itertools

    worst = max(
        float(np.abs(np.linalg.eigvalsh(A[:, list(s)].T @ A[:, list(s)]) - 1).max())
        for s in itertools.combinations(range(7), 2)
    )
    assert abs(pj.rip_constant(A, 2) - worst) < 1e-12
    # interlacing: the constant does not decrease with the order
    vals = [pj.rip_constant(A, k) for k in range(1, 8)]
    assert all(b >= a - 1e-12 for a, b in itertools.pairwise(vals))
    # orthonormal columns: delta = 0 at every order (edge case k = N)
    Q = np.linalg.qr(np.random.default_rng(1).standard_normal((6, 4)))[0]
    assert pj.rip_constant(Q, 4) < 1e-12
    t = pj.rip_constant(torch.as_tensor(A), 3)
    assert isinstance(t, torch.Tensor) and t.ndim == 0 and abs(float(t) - vals[2]) < 1e-12
    with pytest.raises(ValueError, match="sparsity"):
        pj.rip_constant(A, 8)
    with pytest.raises(ValueError, match="max_supports"):
        pj.rip_constant(np.ones((2, 40)), 20)
    with pytest.raises(ValueError, match="A"):
        pj.rip_constant(np.ones(4), 1)


def test_compression_route_dims():
    d = pj.compression_route_dims(1000, 30522, 0.5, 0.1)
    assert d["lemma1"] == math.ceil(math.log(1000) / 0.25)
    assert d["eq38"] == math.ceil(math.log(1000 / 0.1) * math.log(30522) / 0.25)
    k = math.ceil(40 * math.log(4 * 1000**2 / 0.1))
    assert d["thm3_gaussian"] == math.ceil(k * math.log(math.e * 30522 / k) / 0.125**2)
    assert d["thm3_subsampled"] == math.ceil(k * math.log(k) ** 2 * math.log(30522) / 0.125**2)
    assert d["lemma1"] < d["eq38"] < d["thm3_gaussian"] < d["thm3_subsampled"]
    # an RIP order beyond N: no compression (m = N)
    small = pj.compression_route_dims(1000, 384, 0.5, 0.1, C=2.0)
    assert small["thm3_gaussian"] == small["thm3_subsampled"] == 384
    assert small["lemma1"] == math.ceil(2 * math.log(1000) / 0.25)
    with pytest.raises(ValueError, match="eta"):
        pj.compression_route_dims(10, 100, 0.5, 1.5)
    with pytest.raises(ValueError, match="C"):
        pj.compression_route_dims(10, 100, 0.5, 0.1, C=0)


def test_distortion_curve_equals_the_hand_loop_and_reproduces_sub_grids():
    X = torch.randn(30, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    X = X / X.norm(dim=1, keepdim=True)
    eps = pj.distortion_curve(X, "gaussian", [8, 16, 32], reps=2, seed=4)
    assert eps.shape == (3, 2) and eps.dtype == torch.float64
    # each entry is cosine_distortion of the map drawn with the documented seed
    for a, m in enumerate([8, 16, 32]):
        for r in range(2):
            s = int(np.random.SeedSequence([4, m, r]).generate_state(1)[0])
            ref = pj.cosine_distortion(X, pj.make_map("gaussian", 64, m, seed=s)(X))
            assert abs(float(eps[a, r]) - ref) < 1e-12
    # a sub-grid gives the same numbers; another seed other numbers
    assert torch.equal(pj.distortion_curve(X, "gaussian", [32, 8], reps=2, seed=4), eps[[2, 0]])
    assert not torch.equal(pj.distortion_curve(X, "gaussian", [8, 16, 32], reps=2, seed=5), eps)
    # eps falls with m on average (Lemma 1); numpy in, numpy out; float32 stays float32
    assert eps[2].mean() < eps[0].mean()
    out = pj.distortion_curve(X.numpy(), "srht", np.array([4, 8]))
    assert isinstance(out, np.ndarray) and out.shape == (2, 1)
    assert pj.distortion_curve(X.float(), "dct", [4]).dtype == torch.float32


def test_distortion_curve_validates():
    X = torch.randn(5, 8, dtype=torch.float64)
    with pytest.raises(ValueError, match="kind"):
        pj.distortion_curve(X, "fourier", [2])
    with pytest.raises(ValueError, match="dims"):
        pj.distortion_curve(X, "gaussian", [])
    with pytest.raises(ValueError, match="dims"):
        pj.distortion_curve(X, "gaussian", [4, 9])
    with pytest.raises(TypeError, match="dims"):
        pj.distortion_curve(X, "gaussian", [2.5])
    with pytest.raises(TypeError, match="dims"):
        pj.distortion_curve(X, "gaussian", 4)
    with pytest.raises(ValueError, match="reps"):
        pj.distortion_curve(X, "gaussian", [2], reps=0)
    with pytest.raises(ValueError, match="X"):
        pj.distortion_curve(X[:1], "gaussian", [2])
    with pytest.raises(TypeError, match="seed"):
        pj.distortion_curve(X, "gaussian", [2], seed=1.5)
