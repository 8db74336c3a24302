"""One random-state convention across semlib (CONTRIBUTING.md, "Glossary of argument names").

The single random-state argument of every public function and class is ``seed``: an int >= 0
(reproducible), ``None`` (fresh entropy from the operating system) or a generator of the
function's backend (``numpy.random.Generator`` or ``torch.Generator``), used as is and advanced.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from semlib_api import public_objects

from semlib import _backend as B

FORBIDDEN = ("rng", "generator", "random_state")


def _public_callables() -> list[tuple[str, Callable[..., Any]]]:
    """Every public function, class and public method of a class, of every module in semlib.__all__."""
    out: list[tuple[str, Callable[..., Any]]] = []
    for qual, obj in public_objects():
        if inspect.isclass(obj) and obj.__module__.startswith("semlib"):
            out.append((qual, obj))
            for meth_name, meth in vars(obj).items():
                if meth_name.startswith("_"):
                    continue
                if isinstance(meth, (classmethod, staticmethod)):
                    meth = meth.__func__
                if inspect.isfunction(meth):
                    out.append((f"{qual}.{meth_name}", meth))
        elif inspect.isfunction(obj) and obj.__module__.startswith("semlib"):
            out.append((qual, obj))
    return out


def _parameters(obj: Callable[..., Any]) -> dict[str, inspect.Parameter]:
    try:
        return dict(inspect.signature(obj).parameters)
    except (TypeError, ValueError):  # pragma: no cover - a builtin without a signature
        return {}


CALLABLES = _public_callables()


def test_the_walk_finds_the_library():
    names = {q for q, _ in CALLABLES}
    assert len(names) > 100
    assert {"granger.simulate_var", "causal.StructuralVAR.simulate", "ssm.diffusion_loss"} <= names


@pytest.mark.parametrize("obj", [pytest.param(o, id=q) for q, o in CALLABLES])
def test_no_other_random_state_argument(obj):
    bad = [p for p in _parameters(obj) if p in FORBIDDEN]
    assert not bad, f"random-state argument(s) {bad}: the one name is `seed` (CONTRIBUTING.md, glossary)"


SEEDED = [(q, o) for q, o in CALLABLES if "seed" in _parameters(o)]


def _params_for_seeded() -> list[Any]:
    out = []
    for qual, obj in SEEDED:
        out.append(pytest.param(obj, id=qual))
    return out


def test_there_are_seeded_callables():
    assert len(SEEDED) > 30


@pytest.mark.parametrize("obj", _params_for_seeded())
def test_seed_is_annotated_int_none_or_generator(obj):
    """A `seed` annotated `int` alone says the function refuses None and generators."""
    ann = _parameters(obj)["seed"].annotation
    ann = ann if isinstance(ann, str) else getattr(ann, "__name__", str(ann))
    assert ann == "Any" or ("int" in ann and "None" in ann and "Generator" in ann), (
        f"`seed: {ann}`: it must accept an int, None and a generator (use _backend.numpy_rng / torch_generator)"
    )


# --------------------------------------------------------------------------- the helpers


def test_numpy_rng():
    a, b = B.numpy_rng(3).standard_normal(5), B.numpy_rng(3).standard_normal(5)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, np.random.default_rng(3).standard_normal(5))
    assert B.numpy_rng(np.int64(3)).integers(1 << 30) == B.numpy_rng(3).integers(1 << 30)
    assert not np.array_equal(B.numpy_rng(None).standard_normal(8), B.numpy_rng(None).standard_normal(8))
    g = np.random.default_rng(0)
    assert B.numpy_rng(g) is g
    state = g.bit_generator.state["state"]["state"]
    B.numpy_rng(g).standard_normal()
    assert g.bit_generator.state["state"]["state"] != state
    for bad in (True, 1.0, "1", torch.Generator()):
        with pytest.raises(TypeError, match="`seed`"):
            B.numpy_rng(bad)
    with pytest.raises(ValueError, match="`seed`"):
        B.numpy_rng(-1)
    with pytest.raises(TypeError, match="`rs`"):
        B.numpy_rng(0.5, name="rs")


def test_torch_generator():
    a = torch.rand(5, generator=B.torch_generator(3))
    assert torch.equal(a, torch.rand(5, generator=B.torch_generator(3)))
    assert torch.equal(a, torch.rand(5, generator=torch.Generator().manual_seed(3)))
    fresh = [torch.rand(8, generator=B.torch_generator(None)) for _ in range(2)]
    assert not torch.equal(*fresh)
    g = torch.Generator().manual_seed(0)
    assert B.torch_generator(g) is g
    assert B.torch_generator(g, device="cpu") is g
    state = g.get_state()
    torch.rand(1, generator=B.torch_generator(g))
    assert not torch.equal(g.get_state(), state)
    for bad in (False, 1.0, "1", np.random.default_rng(0)):
        with pytest.raises(TypeError, match="`seed`"):
            B.torch_generator(bad)
    with pytest.raises(ValueError, match="`seed`"):
        B.torch_generator(-2)
    assert B.torch_generator(0, device="cpu").device.type == "cpu"


def test_torch_generator_on_the_wrong_device():
    if torch.cuda.is_available():
        with pytest.raises(ValueError, match="`seed`"):
            B.torch_generator(torch.Generator(device="cuda"), device="cpu")
        with pytest.raises(ValueError, match="`seed`"):
            B.torch_generator(torch.Generator(), device="cuda")
    else:
        with pytest.raises(ValueError, match="`seed` is a generator on cpu"):
            B.torch_generator(torch.Generator(), device="meta")


def test_int_seed():
    assert B.int_seed(7) == 7 and B.int_seed(np.int32(7)) == 7
    a, b = B.int_seed(None), B.int_seed(None)
    assert 0 <= a < 2**31 and 0 <= b < 2**31 and a != b
    g = np.random.default_rng(1)
    assert B.int_seed(g) == B.int_seed(np.random.default_rng(1))  # drawn from g ...
    assert B.int_seed(g) != B.int_seed(np.random.default_rng(1))  # ... which moved on
    t = torch.Generator().manual_seed(1)
    assert B.int_seed(t) == B.int_seed(torch.Generator().manual_seed(1))
    for bad in (True, 1.5, "1"):
        with pytest.raises(TypeError, match="`seed`"):
            B.int_seed(bad)
    with pytest.raises(ValueError, match="`seed`"):
        B.int_seed(-1)


# --------------------------------------------------------------------------- one function per module


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and a.shape == b.shape and bool(torch.equal(a, b))
    if isinstance(a, np.ndarray):
        return isinstance(b, np.ndarray) and a.shape == b.shape and bool(np.array_equal(a, b))
    if isinstance(a, (tuple, list)):
        return isinstance(b, (tuple, list)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b


def _granger(seed):
    from semlib import granger

    return granger.simulate_var([[[0.5, 0.0], [0.4, 0.6]]], np.eye(2), 20, seed=seed)


def _causal(seed):
    from semlib import causal

    return causal.StructuralVAR([[[0.5, 0.0], [0.4, 0.5]]], [1.0, 1.0]).simulate(10, n_paths=3, seed=seed, burn_in=5)


def _hopfield(seed):
    from semlib import hopfield

    return hopfield.random_patterns(4, 16, seed=seed)


def _hopfield_numpy(seed):
    from semlib import hopfield

    return hopfield.separability_fraction(3, [2, 6], trials=4, seed=seed)


def _ssm(seed):
    from semlib import ssm

    model = ssm.MaskedDiffusionLM(3, 4, d_model=8, n_heads=2, n_layers=1, seed=0)
    with torch.no_grad():
        return ssm.diffusion_loss(model, torch.tensor([[0, 1, 2, 1], [2, 2, 0, 1]]), seed=seed)


def _ssm_model(seed):
    from semlib import ssm

    return ssm.SelectiveSSM(2, 3, seed=seed).W_B.detach().clone()


def _bounds(seed):
    from semlib import bounds

    return bounds.rademacher_finite(torch.arange(12.0).reshape(3, 4), 50, seed=seed)


def _capstone(seed):
    from semlib import capstone
    from semlib.tvvar import TinyGPT

    model = TinyGPT(5, 6, d_model=8, n_heads=2, n_layers=1, seed=0)
    prompts = torch.tensor([[0, 1], [2, 3]])
    return capstone.sample_continuations(model, prompts, torch.tensor([0, 1, 1, 0]), 3, seed=seed)


def _corpus(seed):
    from semlib import corpus

    return corpus.split_documents([f"doc {i}" for i in range(20)], 0.25, seed=seed)


def _elbo(seed):
    from semlib import elbo

    return elbo.sample_alignment_source(elbo.LatentAlignmentLM(4, seed=0), 6, 5, seed=seed)


def _projection(seed):
    from semlib import projection

    return projection.make_map("signed_gaussian", 16, 4, seed=seed).matrix()


def _search(seed):
    pytest.importorskip("faiss")
    from semlib import search

    x = torch.randn(200, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    index = search.FaissIndex(x, "ivf_flat", nlist=4, n_train=100, seed=seed)
    return index.search(x[:5], 3)


def _tvvar(seed):
    from semlib import tvvar

    return tvvar.copy_task(3, 6, 5, seed=seed)[0]


def _tvvar_model(seed):
    from semlib import tvvar

    return tvvar.TinyGPT(3, 4, d_model=8, n_heads=2, n_layers=1, seed=seed).tok.weight.detach().clone()


def _models(seed):
    from semlib import models

    return models.TokenSource.random(2, 3, 2, seed=0).sample(6, seed=seed)


NUMPY, TORCH = "numpy", "torch"
CASES = [
    pytest.param(_models, TORCH, id="models.TokenSource.sample"),
    pytest.param(_granger, NUMPY, id="granger.simulate_var"),
    pytest.param(_causal, NUMPY, id="causal.StructuralVAR.simulate"),
    pytest.param(_hopfield, TORCH, id="hopfield.random_patterns"),
    pytest.param(_hopfield_numpy, NUMPY, id="hopfield.separability_fraction"),
    pytest.param(_ssm, TORCH, id="ssm.diffusion_loss"),
    pytest.param(_ssm_model, TORCH, id="ssm.SelectiveSSM"),
    pytest.param(_bounds, TORCH, id="bounds.rademacher_finite"),
    pytest.param(_capstone, TORCH, id="capstone.sample_continuations"),
    pytest.param(_corpus, NUMPY, id="corpus.split_documents"),
    pytest.param(_elbo, TORCH, id="elbo.sample_alignment_source"),
    pytest.param(_projection, TORCH, id="projection.make_map"),
    pytest.param(_search, NUMPY, id="search.FaissIndex"),
    pytest.param(_tvvar, TORCH, id="tvvar.copy_task"),
    pytest.param(_tvvar_model, TORCH, id="tvvar.TinyGPT"),
]


def _generator(kind: str) -> Any:
    return np.random.default_rng(11) if kind == NUMPY else torch.Generator().manual_seed(11)


def _state(g: Any) -> Any:
    return g.bit_generator.state["state"]["state"] if isinstance(g, np.random.Generator) else g.get_state().clone()


@pytest.mark.parametrize(("run", "kind"), CASES)
def test_seed_int_is_reproducible(run, kind):
    assert _same(run(5), run(5))


@pytest.mark.parametrize(("run", "kind"), CASES)
def test_seed_generator_is_used_and_advanced(run, kind):
    g = _generator(kind)
    before = _state(g)
    first = run(g)
    after = _state(g)
    assert not _same(before, after) if kind == TORCH else before != after
    assert _same(first, run(_generator(kind)))  # the same generator state gives the same result


@pytest.mark.parametrize(("run", "kind"), CASES)
def test_seed_none_runs(run, kind):
    run(None)


@pytest.mark.parametrize(("run", "kind"), CASES)
def test_bad_seeds_are_refused(run, kind):
    with pytest.raises(TypeError, match="`seed`"):
        run(1.5)
    with pytest.raises(ValueError, match="`seed`"):
        run(-1)


def _masked_diffusion(seed):
    from semlib import ssm

    return ssm.MaskedDiffusionLM(3, 4, d_model=8, n_heads=2, n_layers=1, seed=seed)


def _tinygpt(seed):
    from semlib import tvvar

    return tvvar.TinyGPT(3, 4, d_model=8, n_heads=2, n_layers=1, seed=seed)


@pytest.mark.parametrize("build", [_masked_diffusion, _tinygpt], ids=["ssm.MaskedDiffusionLM", "tvvar.TinyGPT"])
def test_model_seed_does_not_reset_the_global_rng(build):
    """Building a model with `seed` must not reseed torch's global generator (a hidden side effect)."""
    torch.manual_seed(123)
    expected = torch.rand(4)
    torch.manual_seed(123)
    m1 = build(0)
    assert torch.equal(torch.rand(4), expected)
    m2, m3 = build(0), build(1)
    p1, p2, p3 = (torch.cat([p.detach().reshape(-1) for p in m.parameters()]) for m in (m1, m2, m3))
    assert torch.equal(p1, p2) and not torch.equal(p1, p3)
