"""semlib.report: glued values are plain, finite numbers; bad keys and values raise."""

from __future__ import annotations

import builtins

import numpy as np
import pytest
import torch

from semlib import report


@pytest.mark.parametrize(
    ("value", "expected", "kind"),
    [
        (np.float64(0.25), 0.25, float),
        (np.float32(0.5), 0.5, float),
        (np.int64(3), 3, int),
        (np.array(7), 7, int),
        (np.array(True), True, bool),
        (np.bool_(False), False, bool),
        (torch.tensor(1.5, dtype=torch.float64), 1.5, float),
        (2, 2, int),
        ("greedy", "greedy", str),
    ],
)
def test_plain_gives_builtins(value, expected, kind):
    out = report.plain(value)
    assert out == expected and type(out) is kind
    assert "np." not in repr(out)


@pytest.mark.parametrize("value", [np.ones(2), [1.0], None, object(), torch.ones(3)])
def test_plain_rejects_non_scalars(value):
    with pytest.raises(TypeError, match="value"):
        report.plain(value)


@pytest.mark.parametrize("value", [float("nan"), np.inf, -np.inf])
def test_plain_rejects_non_finite(value):
    with pytest.raises(ValueError, match="finite"):
        report.plain(value)


@pytest.mark.parametrize("name", ["", "a b", "x:y", "a::b"])
def test_glue_rejects_bad_keys(name):
    with pytest.raises(ValueError, match="name"):
        report.glue(name, 1.0)


def test_glue_rejects_non_string_keys_and_flags():
    with pytest.raises(TypeError, match="name"):
        report.glue(3, 1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="display"):
        report.glue("x", 1.0, display=1)  # type: ignore[arg-type]


def test_glue_stores_a_plain_number(monkeypatch):
    stored = {}
    import myst_nb

    monkeypatch.setattr(myst_nb, "glue", lambda n, v, display: stored.update({n: (v, display)}))
    report.glue("rate", np.float64(0.125))
    assert stored == {"rate": (0.125, False)} and type(stored["rate"][0]) is float


def test_glue_prints_outside_the_build(monkeypatch, capsys):
    real_import = builtins.__import__

    def no_myst_nb(name, *args, **kwargs):
        if name == "myst_nb":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_myst_nb)
    report.glue("rate", np.float64(0.125))
    assert capsys.readouterr().out == "rate = 0.125\n"
