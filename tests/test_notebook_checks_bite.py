"""A check cell that cannot fail is a defect: show that the chapter's checks bite.

We take the directed-information chapter, slip in a plausible bug -- directed
information computed as printed in the density of Definition 4, i.e. with
*all* inputs in the conditioning, which turns it into mutual information --
and run the notebook with the executor the book's tests use. It must fail.
"""

from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = ROOT / "chapters" / "02_preliminaries" / "directed_information.ipynb"

BUG = """
import semlib.directed as _d
import semlib.info as _info_module
def _buggy_directed_information(p, x_axes, y_axes, delay=0, base=None):
    return _info_module.mutual_information(p, tuple(x_axes), tuple(y_axes), base=base)
_d.directed_information = _buggy_directed_information
"""


def _execute(path: Path):
    """Run the notebook as the book's test does (same executor, settings and working folder)."""
    from jupyter_cache.executors.utils import single_nb_execution

    nb = nbformat.read(path, as_version=4)
    return single_nb_execution(nb, cwd=str(CHAPTER.parent), timeout=300, allow_errors=False)


@pytest.mark.slow
def test_a_broken_check_fails_the_notebook(tmp_path):
    nb = json.loads(CHAPTER.read_text())
    first_code = next(i for i, c in enumerate(nb["cells"]) if c["cell_type"] == "code")
    nb["cells"].insert(
        first_code + 1,
        {
            "cell_type": "code",
            "metadata": {},
            "source": BUG,
            "outputs": [],
            "execution_count": None,
            "id": "injected-bug",
        },
    )
    broken = tmp_path / "broken.ipynb"
    broken.write_text(json.dumps(nb))
    result = _execute(broken)
    assert result.err is not None, "the notebook's checks did not notice a wrong directed information"
    assert "AssertionError" in result.exc_string
