"""The book's structure: table of contents, notebooks, bibliography, paper numbering."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from book_toc import toc_files

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"


def page_files() -> list[Path]:
    return sorted(
        p for p in CHAPTERS.rglob("*") if p.suffix in {".md", ".ipynb"} and ".ipynb_checkpoints" not in p.parts
    )


def notebooks() -> list[Path]:
    return [p for p in page_files() if p.suffix == ".ipynb"]


def test_every_toc_entry_exists_once():
    files = toc_files()
    assert len(files) == len(set(files)), "a page is listed twice in _toc.yml"
    for entry in files:
        candidates = [ROOT / f"{entry}.md", ROOT / f"{entry}.ipynb"]
        assert sum(c.exists() for c in candidates) == 1, f"_toc.yml lists {entry!r}, which has no single .md/.ipynb"


def test_every_page_is_in_the_toc():
    listed = set(toc_files())
    orphans = [str(p.relative_to(ROOT)) for p in page_files() if str(p.relative_to(ROOT).with_suffix("")) not in listed]
    assert not orphans, f"pages not in _toc.yml (the site would never show them): {orphans}"


@pytest.mark.parametrize("nb_path", notebooks(), ids=lambda p: str(p.relative_to(ROOT)))
def test_notebook_is_committed_clean_and_checks_something(nb_path):
    nb = json.loads(nb_path.read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), (
        "commit notebooks without outputs (the build executes them)"
    )
    source = "\n".join("".join(c["source"]) for c in code)
    assert re.search(r"^\s*assert\b", source, re.MULTILINE), "a chapter notebook needs at least one check cell (assert)"
    assert not re.search(r"""(device\(\s*['"]cuda|\.to\(\s*['"]cuda|\.cuda\(\))""", source), (
        "pick the device with semlib.device.get_device(), never name cuda"
    )
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_bibliography_holds_every_reference_of_the_paper():
    text = (ROOT / "references.bib").read_text()
    numbers = [int(n) for n in re.findall(r"^% \[(\d+)\]\s*$", text, re.MULTILINE)]
    assert numbers == list(range(1, 102)), "references.bib must carry the paper's references [1]..[101] in order"
    keys = re.findall(r"^@\w+\{([^,]+),", text, re.MULTILINE)
    assert len(keys) == len(set(keys)), "duplicate BibTeX keys"


def test_citations_resolve():
    keys = set(re.findall(r"^@\w+\{([^,]+),", (ROOT / "references.bib").read_text(), re.MULTILINE))
    cited = set()
    for page in page_files():
        text = page.read_text()
        for group in re.findall(r"\{cite(?::\w+)?\}`([^`]+)`", text):
            cited.update(k.strip() for k in group.split(","))
    missing = sorted(cited - keys)
    assert not missing, f"cited but not in references.bib: {missing}"


def test_paper_labels_are_stated_once():
    seen: dict[str, str] = {}
    for page in page_files():
        for label in re.findall(r":label:\s*(paper-(?:def|thm|lem|cor|rem)-\d+)", page.read_text()):
            assert label not in seen, f"{label} is stated in {seen[label]} and {page.name}"
            seen[label] = page.name
        for label in re.findall(r"\$\$\s*\((paper-eq-\d+)\)", page.read_text()):
            assert label not in seen, f"{label} is labelled in {seen[label]} and {page.name}"
            seen[label] = page.name


_SAYS_EXERCISE_TWICE = re.compile(r"\b[Ee]xercises?\s+\{(?:ref|numref)\}`ex-")


def test_references_to_exercises_do_not_repeat_the_word():
    """A ``{ref}`` to an exercise renders as "Exercise 50" (sphinx-exercise's title), so prose that
    writes "Exercise {ref}`ex-...`" showed "Exercise Exercise 50" on the site (eight places)."""
    sources = [p for p in sorted((ROOT / "chapters").rglob("*")) if p.suffix in (".ipynb", ".md")]
    sources += sorted((ROOT / "course").glob("*.md"))
    found = []
    for path in sources:
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".ipynb":
            text = "\n".join("".join(c["source"]) for c in json.loads(text)["cells"] if c["cell_type"] == "markdown")
        found += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in _SAYS_EXERCISE_TWICE.finditer(text)]
    assert len(sources) > 30
    assert not found, "write {ref}`ex-...` alone, it says 'Exercise N' itself:\n" + "\n".join(found)
