"""The book's table of contents as a list of page paths (shared by the structure and site tests).

The reader itself lives in ``tools/execute_notebooks.py``, which the build uses too.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _executor():
    name = "execute_notebooks"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


def toc_files() -> list[str]:
    """Every ``file:`` entry of ``_toc.yml`` (root first), without extension, in reading order."""
    return _executor().toc_files(ROOT)
