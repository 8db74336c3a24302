"""`make pdf` stays buildable: what breaks XeLaTeX cheaply checked on every run.

Building the PDF takes minutes, too long for the README's test command, and needs TeX Live.
What broke it before is checked here in milliseconds: math in a section title becomes a PDF
bookmark, which is plain text, and hyperref stops at the first math command it cannot turn
into characters ("Improper alphabetic constant" at ``$\\varepsilon$`` in a title). The
LaTeX preamble of ``_config.yml`` maps such commands to characters with
``\\pdfstringdefDisableCommands``; every command used in a title's math must be mapped there.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
HEADING_MATH = re.compile(r"^#{1,6} .*?\$(?P<math>[^$]+)\$", re.MULTILINE)
COMMAND = re.compile(r"\\([A-Za-z]+)")


def preamble() -> str:
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    return config["sphinx"]["config"]["latex_elements"]["preamble"]


def mapped_commands() -> set[str]:
    block = preamble().split(r"\pdfstringdefDisableCommands", 1)[1]
    return set(re.findall(r"\\def\\([A-Za-z]+)", block))


def title_commands() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "chapters").rglob("*")):
        if path.suffix == ".ipynb":
            cells = nbformat.read(path, as_version=4).cells
            text = "\n".join(c.source for c in cells if c.cell_type == "markdown")
        elif path.suffix == ".md":
            text = path.read_text()
        else:
            continue
        for m in HEADING_MATH.finditer(text):
            found.setdefault(path.name, set()).update(COMMAND.findall(m["math"]))
    return found


def test_the_preamble_maps_commands_for_bookmarks():
    assert {"varepsilon", "mathcal", "gamma"} <= mapped_commands()


def test_every_command_in_a_title_has_a_bookmark_spelling():
    mapped = mapped_commands()
    missing = {page: sorted(cmds - mapped) for page, cmds in title_commands().items() if cmds - mapped}
    assert not missing, f"math in section titles that PDF bookmarks cannot show; map these in _config.yml: {missing}"


def test_the_detector_sees_math_in_titles():
    assert any("varepsilon" in cmds for cmds in title_commands().values())


def _math_blocks(source: str) -> list[str]:
    """The bodies of the ``.. math::`` blocks of a Python source's docstrings."""
    blocks, lines = [], source.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == ".. math::":
            indent = len(line) - len(line.lstrip())
            body = []
            for nxt in lines[i + 1 :]:
                if nxt.strip() and len(nxt) - len(nxt.lstrip()) <= indent:
                    break
                body.append(nxt)
            blocks.append("\n".join(body))
    return blocks


def test_no_roles_inside_docstring_math():
    """A Sphinx role inside ``.. math::`` is raw text on the site and stops XeLaTeX ("Missing $")."""
    bad = {
        path.name: [b.strip()[:80] for b in _math_blocks(path.read_text()) if "`" in b]
        for path in sorted((ROOT / "semlib").glob("*.py"))
    }
    bad = {k: v for k, v in bad.items() if v}
    assert not bad, f"roles or code inside .. math:: blocks: {bad}"
    assert _math_blocks(".. math::\n\n    x = :func:`f`\n\nafter") == ["\n    x = :func:`f`\n"]


def test_inline_math_roles_end_cleanly():
    """``:math:`S_t = ` ``code````: a math role whose text ends in a space is not closed where it
    seems; docutils runs it into the next literal, and XeLaTeX stops ("Double superscript")."""
    pattern = re.compile(r":math:`[^`]*\s`")
    bad = [
        f"{path.name}:{i}"
        for path in sorted((ROOT / "semlib").glob("*.py"))
        for i, line in enumerate(path.read_text().splitlines(), 1)
        if pattern.search(line)
    ]
    assert not bad, f"math roles ending in a space: {bad}"
    assert pattern.search(":math:`S_t = ` ``x``") and not pattern.search(":math:`S_t` is ``x``")


def page_titles() -> dict[str, str]:
    """The ``# `` title of every chapter notebook and page."""
    titles = {}
    for path in sorted((ROOT / "chapters").rglob("*")):
        if path.suffix == ".ipynb":
            text = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown")
        elif path.suffix == ".md":
            text = path.read_text(encoding="utf-8")
        else:
            continue
        m = re.search(r"^# (.+)$", text, re.MULTILINE)
        if m:
            titles[str(path.relative_to(ROOT))] = m[1]
    return titles


def test_no_quote_marks_in_page_titles():
    """sphinx-proof's LaTeX writer labels a statement with the docname of the section whose names
    hold the page title (``find_parent``); smart quotes turn ``'`` into ``’`` in the title but not in
    the names, so a title with a quote mark loses the docname: ``\\label{None:paper-cor-2}``, and
    every reference to the page's statements printed "??" (three in the 659-page PDF)."""
    quoted = {page: title for page, title in page_titles().items() if re.search("['\"‘’“”]", title)}
    assert len(page_titles()) >= 29
    assert not quoted, f"page titles with quote marks (reword them): {quoted}"


def test_cross_page_exercise_references_are_written_in_sphinx_exercise_form():
    """A reference to an exercise on another page went through Sphinx's ``ref`` role, which asks
    for a label sphinx-exercise never writes: the PDF printed "Exercise ??". The extension
    ``_ext/exercise_latex_labels.py`` rewrites it as sphinx-exercise writes same-page references,
    with the site's number; it is loaded by the book."""
    import sys

    sys.path.insert(0, str(ROOT / "_ext"))
    import exercise_latex_labels as ext

    ref = r"\hyperref[\detokenize{chapters/p/q:ex-a}]{Exercise \ref{\detokenize{chapters/p/q:ex-a}}}"
    other = r"\hyperref[\detokenize{chapters/p/q:ex-b}]{Exercise \ref{\detokenize{chapters/p/q:ex-b}}}"
    out = ext.resolve_cross_page_refs(f"see ({ref}), and ({other}).", {"ex-a": "50"})
    assert out == rf"see (\hyperref[exercise:ex-a]{{Exercise 50}}), and ({other})."
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "exercise_latex_labels" in config["sphinx"]["local_extensions"]
