"""Chapters that can be taught: lecture-sized, prerequisites in order, short cells.

Issue 15's rules that a machine can check on the sources:

* at most four learning objectives per chapter (the Overview's numbered list);
* every chapter a page names under **Prerequisites** comes earlier in ``_toc.yml``;
* no code cell longer than 20 lines (machinery lives in semlib, not in the lecture).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from book_toc import toc_files

ROOT = Path(__file__).resolve().parents[1]
MAX_OBJECTIVES = 4
MAX_CELL_LINES = 20


def chapters() -> list[Path]:
    return [ROOT / f"{f}.ipynb" for f in toc_files() if (ROOT / f"{f}.ipynb").is_file()]


def overview(nb: nbformat.NotebookNode) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "{admonition} Overview" in cell.source:
            return cell.source.split("{admonition} Overview", 1)[1].split(":::", 1)[0]
    raise AssertionError("no Overview admonition")


def chapter_labels() -> dict[str, int]:
    """The ``(ch-...)=`` label of each chapter and its position in the table of contents."""
    labels = {}
    for position, path in enumerate(chapters()):
        found = re.findall(r"^\((ch-[a-z0-9-]+)\)=", nbformat.read(path, as_version=4).cells[0].source, re.MULTILINE)
        assert found, f"{path.name}: the first cell has no (ch-...)= label"
        labels[found[0]] = position
    return labels


LABELS = chapter_labels()


@pytest.mark.parametrize("path", chapters(), ids=lambda p: p.stem)
def test_at_most_four_objectives(path):
    text = overview(nbformat.read(path, as_version=4))
    objectives = text.split("**After this chapter you can**", 1)[-1].split("**Prerequisites", 1)[0]
    count = len(re.findall(r"^\d+\. ", objectives, re.MULTILINE))
    assert 1 <= count <= MAX_OBJECTIVES, f"{count} learning objectives (at most {MAX_OBJECTIVES}: split the page)"


@pytest.mark.parametrize("path", chapters(), ids=lambda p: p.stem)
def test_prerequisites_come_earlier(path):
    text = overview(nbformat.read(path, as_version=4))
    match = re.search(r"\*\*Prerequisites:?\*\*:?(.*?)(?:\n\n|\Z)", text, re.DOTALL)
    assert match, "the Overview has no **Prerequisites:** paragraph"
    here = chapters().index(path)
    named = re.findall(r"\{ref\}`(?:[^`<]*<)?(ch-[a-z0-9-]+)>?`", match.group(1))
    later = [label for label in named if LABELS.get(label, here) >= here]
    assert not later, f"prerequisites that come later in the book (or are unknown): {later}"


@pytest.mark.parametrize("path", chapters(), ids=lambda p: p.stem)
def test_code_cells_are_lecture_sized(path):
    nb = nbformat.read(path, as_version=4)
    long = {c.get("id"): len(c.source.splitlines()) for c in nb.cells if c.cell_type == "code"}
    long = {k: v for k, v in long.items() if v > MAX_CELL_LINES}
    assert not long, f"code cells over {MAX_CELL_LINES} lines (move machinery to semlib or split): {long}"


def test_the_course_guide_draws_the_current_prerequisite_graph():
    """tools/prerequisite_graph.py drew the figure from today's Overview boxes."""
    import sys

    sys.path.insert(0, str(ROOT / "tools"))
    import prerequisite_graph

    assert prerequisite_graph.recorded_edges() == prerequisite_graph.edges(), "run python tools/prerequisite_graph.py"
    assert prerequisite_graph.FIGURE.name in (ROOT / "chapters" / "appendices" / "course_guide.md").read_text()
