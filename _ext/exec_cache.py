"""Notebook outputs keyed by everything they depend on, not only by their code cells.

jupyter-cache (MyST-NB's ``cache`` execution mode) matches an executed notebook by the
source of its code cells and its kernelspec. A change to ``semlib`` alone therefore
re-executes nothing, and the site would show outputs computed by code that no longer
exists. This extension puts the cache in a folder named after a *fingerprint* of what the
notebooks import or read from outside their own cells:

* every file of the ``semlib`` package (its source is what the cells call);
* ``requirements/lock.txt`` and ``requirements/nodeps.txt`` (the environment);
* the ``SEMLIB_SCALE`` setting (CI or full scale: different experiments);
* the Python version (the docstring corpus of chapter 1 is the standard library's).

A change to any of them gives a new, empty cache folder, so every notebook is executed
again; older folders are removed. ``tools/execute_notebooks.py`` (used by ``make book``
and by the tests, which execute the notebooks in parallel) fills the same folder, so the
site build that follows finds every notebook executed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Files and folders (relative to the repository root) whose content the outputs depend on.
DEPENDENCIES = ("semlib", "requirements/lock.txt", "requirements/nodeps.txt")
#: Environment variables that change what the notebooks compute.
ENVIRONMENT = ("SEMLIB_SCALE",)


def fingerprint(root: Path = ROOT, environ: dict | None = None) -> str:
    """A hex digest of the repository files and settings the notebooks' outputs depend on."""
    environ = os.environ if environ is None else environ
    digest = hashlib.sha256()
    for name in DEPENDENCIES:
        path = root / name
        files = (
            sorted(p for p in path.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
            if path.is_dir()
            else [path]
            if path.is_file()
            else []
        )
        for file in files:
            digest.update(file.relative_to(root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(file.read_bytes()).digest())
    for key in ENVIRONMENT:
        digest.update(f"{key}={environ.get(key, '')}\0".encode())
    digest.update(f"python={sys.version_info[0]}.{sys.version_info[1]}\0".encode())
    return digest.hexdigest()[:16]


def cache_path(build_dir: Path, root: Path = ROOT, environ: dict | None = None) -> Path:
    """The jupyter-cache folder for the current fingerprint, below ``build_dir/.jupyter_cache``."""
    return Path(build_dir) / ".jupyter_cache" / fingerprint(root, environ)


def prune(current: Path) -> list[Path]:
    """Remove the cache folders of other fingerprints next to ``current``; return them."""
    removed = []
    if current.parent.is_dir():
        for other in current.parent.iterdir():
            if other.is_dir() and other != current and len(other.name) == 16:
                shutil.rmtree(other, ignore_errors=True)
                removed.append(other)
    return removed


def _set_cache_path(app, config) -> None:
    # one cache for every builder and output folder (site, course site, PDF): _build/ of the book
    path = cache_path(Path(app.srcdir) / "_build")
    prune(path)
    path.mkdir(parents=True, exist_ok=True)
    config.nb_execution_cache_path = str(path)


def setup(app):
    app.connect("config-inited", _set_cache_path)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
