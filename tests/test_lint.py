"""Lint, format and type checks: ruff and mypy, configured in pyproject.toml, zero findings.

They run inside the README's test command, so a finding fails CI; ``make check`` runs them
with semlib's unit tests as the inner loop. Versions are pinned in requirements/lock.txt.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def _run(*command: str) -> subprocess.CompletedProcess:
    tool = BIN / command[0]
    if not tool.exists():
        pytest.fail(f"{command[0]} is not installed next to {sys.executable}: run `make env`", pytrace=False)
    return subprocess.run([str(tool), *command[1:]], cwd=ROOT, capture_output=True, text=True, check=False)


def test_ruff_lint_is_clean():
    result = _run("ruff", "check", "--no-cache", ".")
    assert result.returncode == 0, f"ruff check found problems (fix with `ruff check --fix`):\n{result.stdout[-6000:]}"


def test_ruff_format_is_clean():
    result = _run("ruff", "format", "--no-cache", "--check", ".")
    assert result.returncode == 0, f"files ruff would reformat (run `ruff format`):\n{result.stdout[-3000:]}"


@pytest.mark.slow
def test_mypy_is_clean():
    result = _run("mypy", "--no-incremental")
    assert result.returncode == 0, f"mypy found problems:\n{result.stdout[-6000:]}"
