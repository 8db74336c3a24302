"""semlib's public API as (qualified name, object) pairs: one walker for the API-wide tests.

Every module listed in ``semlib.__all__`` and every name in that module's ``__all__`` (test_random_state,
test_backend_contract and test_results each select from it).
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

import semlib


def public_objects() -> Iterator[tuple[str, Any]]:
    """``("module.name", obj)`` for every exported object of every semlib module, in export order."""
    for mod_name in semlib.__all__:
        mod = getattr(semlib, mod_name)
        if not inspect.ismodule(mod):
            continue
        for name in getattr(mod, "__all__", []):
            yield f"{mod_name}.{name}", getattr(mod, name)
