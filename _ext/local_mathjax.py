"""Serve MathJax 3 from the built site instead of a CDN.

The site must work offline (a reader's laptop on a train, the test suite's
headless browser on a machine without internet), so the MathJax files are
taken from the PyPI package ``django-static-mathjax`` (MathJax 3.2.2, Apache
2.0; only its static files are used, Django is not needed) and copied into
``_static/mathjax`` of the HTML build. Only the combined TeX+MathML/CHTML
component and what it loads lazily (TeX extensions, CHTML fonts, the menu and
accessibility components) are copied, about 5 MB.
"""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.errors import ExtensionError

COMPONENT = "tex-mml-chtml.js"
PARTS = [COMPONENT, "input", "output/chtml", "ui", "a11y", "adaptors"]


def _es5_dir() -> Path:
    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise ExtensionError(
            "MathJax files not found: install the pinned `django-static-mathjax` (it is in requirements/lock.txt)"
        )
    es5 = Path(next(iter(spec.submodule_search_locations))) / "static" / "mathjax" / "es5"
    if not (es5 / COMPONENT).exists():
        raise ExtensionError(f"MathJax component {COMPONENT} not found under {es5}")
    return es5


def configure(app: Sphinx, config) -> None:
    _es5_dir()  # fail early with a clear message
    config.mathjax_path = f"mathjax/{COMPONENT}"


def copy_to(static: Path) -> Path:
    """Copy the MathJax files into ``static/mathjax`` and return that folder.

    Used by the site build, the slide decks (``tools/slides.py``) and the instructor edition
    (``tools/instructor_edition.py``), so that every HTML page the book writes works offline.
    """
    es5 = _es5_dir()
    target = Path(static) / "mathjax"
    for part in PARTS:
        src = es5 / part
        if not src.exists():
            continue
        dst = target / part
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    return target


def copy_files(app: Sphinx) -> None:
    if app.builder.format != "html":
        return
    copy_to(Path(app.outdir) / "_static")


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", configure)
    app.connect("builder-inited", copy_files)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
