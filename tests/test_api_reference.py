"""The API reference appendix covers every public name of semlib and is up to date."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import semlib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import api_reference


def test_every_module_is_public_and_has_a_page():
    modules = {p.stem for p in (ROOT / "semlib").glob("*.py") if not p.stem.startswith("_")}
    assert modules == set(api_reference.MODULES), "add new semlib modules to semlib.__all__"
    for m in modules:
        assert (api_reference.OUT / f"{m}.md").exists(), f"no API page for semlib.{m}"


def test_every_public_name_is_on_its_page():
    for m in api_reference.MODULES:
        page = (api_reference.OUT / f"{m}.md").read_text()
        for name in importlib.import_module(f"semlib.{m}").__all__:
            assert f"semlib.{m}.{name}" in page, f"semlib.{m}.{name}"


def test_pages_are_up_to_date():
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "api_reference.py"), "--check"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert done.returncode == 0, "run `python tools/api_reference.py`:\n" + done.stdout


def test_uses_are_read_from_the_code_not_the_text():
    code = """
from semlib import info as I, directed
from semlib.device import by_scale
import semlib.flow as fl
import semlib
x = I.entropy(p) + directed.directed_information(p, 1, 2)
n = by_scale(ci=1, full=2)
fl.flow_increments(s, u)
semlib.geometry.gw_distance
# info.mutual_information is only mentioned in a comment
s = "I.kl_divergence in a string"
"""
    assert api_reference.uses_of(code) == {
        ("info", "entropy"),
        ("directed", "directed_information"),
        ("device", "by_scale"),
        ("flow", "flow_increments"),
        ("geometry", "gw_distance"),
    }
    assert "__version__" not in api_reference.MODULES and semlib.__version__
