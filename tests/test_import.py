"""`import semlib` does what semlib/__init__.py says: every module imported, every public name resolvable
at exactly one public path, classes defined at import time (so they pickle), torch a required dependency."""

from __future__ import annotations

import importlib
import inspect
import pickle
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest
import torch

import semlib
from semlib import estimators

ROOT = Path(__file__).resolve().parents[1]
MODULES = [m for m in semlib.__all__ if m != "__version__"]


def _module(name: str):
    return importlib.import_module(f"semlib.{name}")


def test_import_semlib_in_a_fresh_interpreter():
    code = (
        "import sys, semlib\n"
        "mods = [m for m in semlib.__all__ if m != '__version__']\n"
        "missing = [m for m in mods if f'semlib.{m}' not in sys.modules]\n"
        "assert not missing, missing\n"
        "assert 'torch' in sys.modules   # a required dependency, imported with semlib\n"
        "semlib.gaussian.var_covariance([[[0.5]]], [[1.0]], 2)\n"
        "semlib.estimators.BilinearCritic(2, 3)\n"
        "print(semlib.__version__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == semlib.__version__


def test_every_module_file_is_listed_and_every_public_name_resolves():
    files = {p.stem for p in (ROOT / "semlib").glob("*.py") if not p.stem.startswith("_")}
    assert files == set(MODULES)
    for name in semlib.__all__:
        assert hasattr(semlib, name), name
    for m in MODULES:
        mod = _module(m)
        assert isinstance(mod.__all__, list) and len(set(mod.__all__)) == len(mod.__all__), m
        for name in mod.__all__:
            assert hasattr(mod, name), f"semlib.{m}.{name} is in __all__ but does not resolve"


def test_no_lazy_module_attributes():
    """No module-level __getattr__: every public name exists as soon as its module is imported."""
    for m in MODULES:
        assert "__getattr__" not in vars(_module(m)), f"semlib.{m} defines a module-level __getattr__"


def test_each_public_name_has_exactly_one_public_path():
    paths = defaultdict(list)
    for m in MODULES:
        mod = _module(m)
        for name in mod.__all__:
            obj = getattr(mod, name)
            if inspect.isclass(obj) or inspect.isroutine(obj):
                # defined in the module that exports it: no re-exports
                assert obj.__module__ == f"semlib.{m}", f"semlib.{m}.{name} is defined in {obj.__module__}"
                assert obj.__qualname__ == name, f"semlib.{m}.{name} has __qualname__ {obj.__qualname__!r}"
            if isinstance(obj, (str, int, float, tuple)) and not inspect.isclass(obj):
                paths[(type(obj), repr(obj), name)].append(f"semlib.{m}.{name}")  # constants: by value and name
            else:
                paths[id(obj)].append(f"semlib.{m}.{name}")
    twice = [p for p in paths.values() if len(p) > 1]
    assert not twice, f"exported from more than one module: {twice}"


def _classes():
    for m in MODULES:
        mod = _module(m)
        for obj in vars(mod).values():
            if inspect.isclass(obj) and obj.__module__ == mod.__name__:
                yield obj


def test_every_semlib_class_pickles_by_reference():
    classes = list(_classes())
    assert estimators.DineCritic in classes and estimators.BilinearCritic in classes
    for cls in classes:
        assert "<locals>" not in cls.__qualname__, f"{cls.__module__}.{cls.__qualname__} is built inside a function"
        assert pickle.loads(pickle.dumps(cls)) is cls


def _round_trip(module: torch.nn.Module) -> torch.nn.Module:
    copy = pickle.loads(pickle.dumps(module))
    assert type(copy) is type(module)
    a, b = module.state_dict(), copy.state_dict()
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    return copy


def test_bilinear_critic_instance_round_trips():
    torch.manual_seed(0)
    critic = estimators.BilinearCritic(3, 2, dtype=torch.float64)
    with torch.no_grad():
        critic.W.normal_()
    copy = _round_trip(critic)
    x, c = torch.randn(4, 3, dtype=torch.float64), torch.randn(4, 2, dtype=torch.float64)
    assert torch.equal(copy.scores(x, c), critic.scores(x, c))


@pytest.mark.parametrize("encoder", ["gru", "attention", "window"])
def test_dine_critic_instance_round_trips(encoder):
    torch.manual_seed(0)
    critic = estimators.DineCritic(1, 1, encoder=encoder, hidden=8, window=3, max_len=16).eval()
    copy = _round_trip(critic).eval()
    x, y, perm = torch.randn(3, 5, 1), torch.randn(3, 5, 1), torch.tensor([2, 0, 1])
    with torch.no_grad():
        for a, b in zip(critic(x, y, perm), copy(x, y, perm)):
            assert torch.equal(a, b)
