"""Chapters that can be taught: lecture-sized, prerequisites in order, short cells.

Issue 15's rules that a machine can check on the sources:

* at most four learning objectives per chapter (the Overview's numbered list);
* every chapter a page names under **Prerequisites** comes earlier in ``_toc.yml``;
* no code cell longer than 20 lines (machinery lives in semlib, not in the lecture);
* no page longer than one lecture (``tools/lecture_plan.py`` estimates it from the source);
* a figure in the lecture part of every page, followed by a caption that says what to see
  (the slide deck of the page, ``tools/slides.py``, shows it with that caption).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
from book_toc import toc_files

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import lecture_plan
import prerequisite_graph  # the chapters' labels and Prerequisites, parsed once for the book

MAX_OBJECTIVES = 4
MAX_CELL_LINES = 20


def chapters() -> list[Path]:
    return [ROOT / f"{f}.ipynb" for f in toc_files() if (ROOT / f"{f}.ipynb").is_file()]


def overview(nb: nbformat.NotebookNode) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown" and "{admonition} Overview" in cell.source:
            return cell.source.split("{admonition} Overview", 1)[1].split(":::", 1)[0]
    raise AssertionError("no Overview admonition")


#: Position in the table of contents of each chapter's ``(ch-...)=`` label.
LABELS = {label: i for i, (label, _, _) in enumerate(prerequisite_graph.chapters())}


@pytest.mark.parametrize("path", chapters(), ids=lambda p: p.stem)
def test_at_most_four_objectives(path):
    text = overview(nbformat.read(path, as_version=4))
    objectives = text.split("**After this chapter you can**", 1)[-1].split("**Prerequisites", 1)[0]
    count = len(re.findall(r"^\d+\. ", objectives, re.MULTILINE))
    assert 1 <= count <= MAX_OBJECTIVES, f"{count} learning objectives (at most {MAX_OBJECTIVES}: split the page)"


def test_every_chapter_has_a_label_and_prerequisites():
    assert len(LABELS) == len(chapters()), "every chapter's first cell needs a (ch-...)= label and a title"
    for path in chapters():
        assert re.search(r"\*\*Prerequisites:?\*\*", overview(nbformat.read(path, as_version=4))), (
            f"{path.stem}: the Overview has no **Prerequisites:** paragraph"
        )


def test_prerequisites_come_earlier():
    """Every prerequisite a chapter names (the edges of the course guide's graph) comes before it."""
    later = [
        (need, needing) for need, needing in prerequisite_graph.edges() if LABELS.get(need, 10**6) >= LABELS[needing]
    ]
    assert not later, f"prerequisites that come later in the book, or are not chapters: {later}"


@pytest.mark.parametrize("path", chapters(), ids=lambda p: p.stem)
def test_code_cells_are_lecture_sized(path):
    nb = nbformat.read(path, as_version=4)
    long = {c.get("id"): len(c.source.splitlines()) for c in nb.cells if c.cell_type == "code"}
    long = {k: v for k, v in long.items() if v > MAX_CELL_LINES}
    assert not long, f"code cells over {MAX_CELL_LINES} lines (move machinery to semlib or split): {long}"


@pytest.mark.parametrize("path", chapters(), ids=lambda p: p.stem)
def test_pages_are_one_lecture(path):
    minutes = lecture_plan.minutes(path)
    assert minutes <= lecture_plan.MAX_MINUTES, (
        f"estimated at {minutes:.0f} minutes of lecture (at most {lecture_plan.MAX_MINUTES}): split the page"
    )


def test_the_course_guide_draws_the_current_prerequisite_graph():
    """tools/prerequisite_graph.py drew the figure from today's Overview boxes."""
    assert prerequisite_graph.recorded_edges() == prerequisite_graph.edges(), "run python tools/prerequisite_graph.py"
    assert f"{prerequisite_graph.FIGURE.stem}.*" in (ROOT / "chapters" / "appendices" / "course_guide.md").read_text()


def test_the_course_guide_holds_the_current_lecture_plan():
    """The lecture table of the course guide is the one tools/lecture_plan.py writes today."""
    assert lecture_plan.current_table() == lecture_plan.table(), "run python tools/lecture_plan.py --write"


_DRAWS = re.compile(r"\bplt\.show\(|\bsubplots\(")
_HIDDEN = {"remove-output", "remove-cell", "hide-output"}


@pytest.mark.parametrize("path", chapters(), ids=lambda p: p.stem)
def test_every_lecture_shows_a_figure_with_what_to_see(path):
    """A code cell that draws (``subplots(`` / ``plt.show(``), not hidden on the site, before the
    page's ``## Exercises``, and right after it a markdown cell that starts ``*What to see.*``."""
    cells = nbformat.read(path, as_version=4).cells
    found = []
    for i, cell in enumerate(cells[:-1]):
        if cell.cell_type == "markdown" and re.search(r"^## Exercises", cell.source, re.MULTILINE):
            break
        if cell.cell_type == "code" and _DRAWS.search(cell.source) and not _HIDDEN & set(cell.metadata.get("tags", [])):
            after = cells[i + 1]
            found.append(after.cell_type == "markdown" and after.source.lstrip().startswith("*What to see"))
    assert found, "no figure before the exercises: a lecture needs one (with a *What to see.* caption)"
    assert any(found), "no figure of the lecture part is followed by a *What to see.* caption"
