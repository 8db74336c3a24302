"""The student and Colab exports hold no MyST: what plain Jupyter and Colab would show raw.

``tools/plain_markdown.py`` rewrites the book's MyST as plain Markdown. These tests check each
rewrite on a small page (each assertion names what a wrong rewrite would leave), then every
chapter of the book in both editions: with solutions (Colab) and without (student).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import pytest
from book_toc import toc_files

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import plain_markdown as pm
import student_notebooks as sn

INDEX = pm.BookIndex.build()
PAGE = "chapters/03_next_token/semantic_information_flow"

SAMPLE = """(sec-sample)=
## A sample

:::{admonition} Overview
:class: tip

See {ref}`the chain rule <sec-information-measures>`, {cite}`bai2025forget` and {func}`semlib.info.entropy`.
:::

```{prf:definition} Semantic information flow (restated)
:label: paper-def-8

$$
i = \\KL(P \\,\\Vert\\, Q)
$$ (paper-eq-22)
```

By {eq}`paper-eq-22` and {prf:ref}`paper-def-8` the gap is {glue:text}`gap:.2f`.

```{exercise}
:label: ex-sample

Compute it.
```
"""


def convert(text: str, glue=None) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(text)]
    return pm.plain_notebook(nb, PAGE, INDEX, glue=glue).cells[0].source


def test_each_construct_is_rewritten():
    out = convert(SAMPLE, glue={"gap": 0.12345})
    assert '<a id="sec-sample"></a>' in out  # target kept as an anchor, not "(sec-sample)="
    assert "> **Overview**" in out and ":class:" not in out  # admonition -> block quote
    assert "*the chain rule* (in *Rate" in out  # explicit ref text + the chapter that holds it
    assert "(Bai, 2025)" in out  # citation key resolved from references.bib
    assert "`semlib.info.entropy`" in out
    assert "**Definition 8 (Semantic information flow (restated)).**" in out  # the paper's number
    assert "\\tag{22}" in out and "D_{\\mathrm{KL}}" in out and "\\KL" not in out
    assert "By (22) and Definition 8 the gap is 0.12." in out  # eq, prf:ref and glue resolved
    assert "**Exercise" in out and "{exercise}" not in out
    assert pm.myst_leftovers(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(out)])) == []


def test_missing_glue_values_are_marked_not_invented():
    assert "the gap is ⟨gap⟩." in convert(SAMPLE)


def test_the_leftover_detector_sees_myst():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(SAMPLE)])
    kinds = {item.split(": ")[0].split(" ", 2)[2] for item in pm.myst_leftovers(nb)}
    assert {"role", "directive", "target", "option", "macro", "equation label"} <= kinds


def test_own_equations_are_numbered_in_reading_order():
    numbers = [t.text for t in INDEX.targets.values() if t.kind == "equation" and "B." in t.text]
    assert numbers and numbers[0] == "(B.1)" and len(set(numbers)) == len(numbers)


def chapters() -> list[str]:
    return [f for f in toc_files() if (ROOT / f"{f}.ipynb").is_file()]


@pytest.mark.parametrize("page", chapters(), ids=lambda p: Path(p).stem)
def test_no_myst_survives_in_either_edition(page):
    book = nbformat.read(ROOT / f"{page}.ipynb", as_version=4)
    colab = pm.plain_notebook(book, page, INDEX)
    student = pm.plain_notebook(sn.studentize(book), page, INDEX)
    assert pm.myst_leftovers(colab) == []
    assert pm.myst_leftovers(student) == []
    assert [c.source for c in colab.cells if c.cell_type == "code"] == [
        c.source for c in book.cells if c.cell_type == "code"
    ], "the Colab edition must run the same code as the book"


def test_make_student_writes_plain_notebooks(tmp_path):
    chapters_dir = tmp_path / "chapters" / "03_next_token"
    chapters_dir.mkdir(parents=True)
    source = ROOT / f"{PAGE}.ipynb"
    (chapters_dir / source.name).write_bytes(source.read_bytes())
    assert sn.main(["--chapters", str(tmp_path / "chapters"), "--out", str(tmp_path / "out")]) == 0
    written = nbformat.read(tmp_path / "out" / "03_next_token" / source.name, as_version=4)
    assert pm.myst_leftovers(written) == [] and any("Your solution" in c.source for c in written.cells)


def test_make_colab_writes_every_chapter(tmp_path):
    assert pm.main(["--out", str(tmp_path)]) == 0
    written = sorted(p.relative_to(tmp_path).with_suffix("").as_posix() for p in tmp_path.rglob("*.ipynb"))
    assert written == sorted(p.removeprefix("chapters/") for p in chapters())
