"""The lecture slide decks (``tools/slides.py``, ``make slides``).

Fast checks first, without a kernel or a browser: the automatic selection on a stub notebook
(every kind of slide, in reading order; hidden outputs and exercises left out), the ``slide``
tag overriding it, and the automatic deck of every lecture page of the book built from the
committed notebooks (title, objectives, summary, no MyST left anywhere).

Then the browser check (headless Chromium through ``tools/check_site.py``): the deck of every
lecture page, built from its executed notebook (from the build cache that the notebook tests and
the site build fill; the test runs last, on whichever worker is free, when they are executed),
plus the tagged stub, and the index page, are opened from the disk
(``file://``, the way a lecturer opens them), a few tabs at a time. Each must load with no
console error and no request to another host, reveal.js must start with all its slides,
MathJax must typeset every formula (no raw ``$$`` or ``\\(``), every figure must load, no
slide may stay taller than the slide after the decks' shrink-to-fit, and the speaker notes must
be there (the notes plugin loaded, one hidden ``aside`` per slide that has notes).
"""

from __future__ import annotations

import base64
import importlib.util
import re
import struct
import sys
import zlib
from pathlib import Path
from urllib.parse import unquote

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parents[1]


def _load_tool(name: str):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, ROOT / "tools" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


slides = _load_tool("slides")
check_site = _load_tool("check_site")
plain_markdown = sys.modules["plain_markdown"]

TABS = 6  # decks open at once: MathJax typesets each, and two cores share the work


@pytest.fixture(scope="module")
def index():
    return plain_markdown.BookIndex.build()


def _png(width: int = 40, height: int = 24) -> str:
    """A small opaque PNG (a grey gradient), base64-encoded as in a notebook output."""
    rows = b"".join(b"\x00" + bytes((x * 6) % 256 for x in range(width)) for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    raw = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
    raw += chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
    return base64.b64encode(raw).decode()


def _figure_cell(source: str = "fig, ax = subplots()", tags: list[str] | None = None):
    cell = new_code_cell(source, metadata={"tags": tags} if tags else {})
    cell.outputs = [new_output("display_data", data={"image/png": _png(), "text/plain": "<Figure>"})]
    return cell


OVERVIEW = """(ch-stub)=
# A stub lecture

:::{admonition} Overview
:class: tip

**Paper:** §II-B, Definition 2 of {cite}`bai2025forget`.

**After this chapter you can**
1. compute $H(X)$;
2. check {prf:ref}`paper-def-2` on numbers.

**Prerequisites:** none.
:::

Some prose that is not on a slide."""


def stub_notebook() -> nbformat.NotebookNode:
    """A lecture with every kind of slide the automatic selection makes, and what it must skip."""
    return new_notebook(
        cells=[
            new_markdown_cell(OVERVIEW),
            new_code_cell("import numpy as np"),
            new_markdown_cell(
                "## Entropy\n\nThe entropy of a pmf is the mean surprise.\n\n"
                "$$\nH(X) = -\\sum_x p(x) \\log p(x)\n$$ (book-eq-stub-entropy)\n\n"
                "```{prf:definition} Stub\n:label: book-def-stub\n:nonumber:\n\n"
                "A **stub** is $\\KL(P \\,\\Vert\\, Q) \\ge 0$, see Eq. {eq}`book-eq-stub-entropy`.\n```"
            ),
            _figure_cell(),
            new_markdown_cell("*What to see:* the gradient goes from dark to light.\n\nMore prose."),
            _figure_cell("show_widget()", tags=["remove-output"]),
            new_markdown_cell("## Summary\n\n" + "\n".join(f"* Point {k} with $x_{k}$." for k in range(1, 6))),
            new_markdown_cell("## Exercises\n\n```{prf:theorem} Not on a slide\n:nonumber:\n\nHomework.\n```"),
            _figure_cell("homework_plot()"),
        ]
    )


def test_automatic_selection_on_a_stub(index):
    deck = slides.select_slides(stub_notebook(), "chapters/stub/stub_lecture", index)
    kinds = [s.kind for s in deck.slides]
    assert kinds == ["title", "objectives", "equations", "statement", "figure", "summary", "summary"], kinds
    title, objectives, equation, statement, figure, *summary = deck.slides
    assert title.title == "A stub lecture" and "(Bai, 2025)" in title.body
    assert objectives.body.count("\n") == 1 and "Definition 2" in objectives.body  # 2 objectives, ref resolved
    assert "mean surprise" in equation.body and "\\tag{B." in equation.body and equation.title == "Entropy"
    assert statement.title == "Definition (Stub)" and "D_{\\mathrm{KL}}" in statement.body
    assert len(figure.figures) == 1 and figure.caption.startswith("*What to see:*") and figure.title == "Entropy"
    assert [s.body.count("* Point") for s in summary] == [3, 2]
    # speaker notes: the prose left off the slides, on the slide it leads to; not what a slide shows
    assert "Some prose that is not on a slide." in equation.notes and "<a id" not in equation.notes
    assert "More prose." in summary[0].notes
    notes = " ".join(s.notes for s in deck.slides)
    assert "mean surprise" not in notes and "dark to light" not in notes and "Homework" not in notes


def test_the_slide_tag_chooses_the_cells(index, tmp_path):
    nb = stub_notebook()
    for i in (2, 3):  # the Entropy section's markdown and its figure
        nb.cells[i].metadata["tags"] = ["slide"]
    printed = new_code_cell("print('H =', 1.0)", metadata={"tags": ["slide"]})
    printed.outputs = [new_output("stream", name="stdout", text="H = 1.0\n")]
    nb.cells.insert(4, printed)
    deck = slides.select_slides(nb, "chapters/stub/stub_lecture", index)
    assert [s.kind for s in deck.slides] == ["title", "tagged", "tagged", "tagged"]
    assert deck.slides[1].title == "Entropy" and "{prf:" not in deck.slides[1].body
    assert len(deck.slides[2].figures) == 1
    assert "print('H =', 1.0)" in deck.slides[3].body and "H = 1.0" in deck.slides[3].body
    html = slides.deck_html(deck, [[], [], ["figures/x.png"], []])
    assert html.count("<section") == 4 and 'src="figures/x.png"' in html


def _leftovers(text: str) -> list[str]:
    return [kind for kind, pattern in plain_markdown.LEFTOVERS.items() if pattern.search(text)]


def test_every_lecture_page_gets_a_deck_without_myst(index):
    pages = slides.lecture_pages()
    assert len(pages) >= 20
    for _part, path in pages:
        page = path.relative_to(ROOT).with_suffix("").as_posix()
        deck = slides.select_slides(nbformat.read(path, as_version=4), page, index)
        kinds = [s.kind for s in deck.slides]
        if deck.tagged:
            continue
        assert kinds[:2] == ["title", "objectives"] and kinds[-1] == "summary", f"{page}: {kinds}"
        assert sum(len(s.notes.split()) for s in deck.slides) > 200, f"{page}: hardly any speaker notes"
        objectives = re.findall(r"^\d+\. ", deck.slides[1].body, re.MULTILINE)
        assert 1 <= len(objectives) <= 4, f"{page}: {len(objectives)} objectives"
        for slide in deck.slides:
            for text in (slide.title, slide.body, slide.caption):
                assert not _leftovers(text), (
                    f"{page}, {slide.kind} slide: MyST left ({_leftovers(text)}): {text[:200]!r}"
                )
                assert "{prf:" not in text and ":::" not in text, f"{page}: {text[:200]!r}"


# --------------------------------------------------------------------------- in the browser

DECK_JS = """
async () => {
  const t0 = Date.now();
  while (!(window.deckState && window.deckState.ready) && Date.now() - t0 < 20000)
    await new Promise((r) => setTimeout(r, 50));
  const s = window.deckState || {};
  return {ready: !!s.ready, revealReady: !!s.revealReady, mathDone: !!s.mathDone, mathError: s.mathError || null,
          slides: window.Reveal && Reveal.isReady() ? Reveal.getTotalSlides() : 0,
          sections: document.querySelectorAll(".reveal .slides > section").length,
          overflowing: s.overflowing || [], figures: document.querySelectorAll("img.slide-figure").length,
          notesPlugin: !!(window.Reveal && Reveal.hasPlugin && Reveal.hasPlugin("notes")),
          notes: document.querySelectorAll(".reveal .slides > section > aside.notes").length,
          notesShown: [...document.querySelectorAll("aside.notes")].some((a) => a.offsetParent !== null)};
}
"""
URL_ATTRIBUTE = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)


def _link_problems(data: dict, root: Path, base: str) -> list[str]:
    """Every link of a page opened from ``file://`` names a file of the slides folder."""
    problems = []
    for link in data["links"]:
        url = link["url"].split("#")[0]
        if not url.startswith("file:"):
            problems.append(f"link that leaves the slides folder: {link['href']!r}")
        elif not url.startswith(base) or not (root / unquote(url[len(base) :])).is_file():
            problems.append(f"link to a missing file: {link['href']!r}")
    return problems


@pytest.fixture(scope="module")
def built(tmp_path_factory, index):
    """Decks for every lecture page (executed notebooks) and the tagged stub, with the index page."""
    executor = sys.modules.get("execute_notebooks") or _load_tool("execute_notebooks")
    out = tmp_path_factory.mktemp("slides")
    stub = tmp_path_factory.mktemp("stub") / "stub_lecture.ipynb"
    nb = stub_notebook()
    for i in (2, 3, 6):
        nb.cells[i].metadata["tags"] = ["slide"]
    nbformat.write(nb, stub)

    def executed(path: Path) -> nbformat.NotebookNode:
        if path == stub.resolve():
            return nbformat.read(path, as_version=4)  # its outputs are made up, no kernel needed
        try:
            return executor.ensure_executed(path)[1]
        except executor.NotebookFailed as err:
            pytest.fail(f"a chapter of the slide test fails to execute\n{err}", pytrace=False)

    notebooks = [*slides.lecture_pages(), ("test", stub)]
    decks = slides.build(notebooks, out, executed=executed, index=index)
    return out, decks


@pytest.mark.slow
def test_decks_open_offline_in_the_browser(built):
    chromium = check_site.find_chromium()
    if chromium is None:
        pytest.skip(check_site.SKIP_MESSAGE)
    out, decks = built
    pages = ["index.html"] + [f"{d.stem}.html" for d in decks]
    for page in pages:
        found = URL_ATTRIBUTE.findall((out / page).read_text())
        assert not found, f"{page} loads something from another host: {found}"
    # and a doctored copy of a deck, to show that the checks see what they look for
    broken = (
        (out / f"{decks[-1].stem}.html")
        .read_text()
        .replace(
            "</section>",
            '</section>\n<section><p>raw $$x^2$$</p><img src="https://example.invalid/a.png"></section>',
            1,
        )
    )
    (out / "broken.html").write_text(broken)
    pages.append("broken.html")
    decks = [*decks, None]
    base = out.resolve().as_uri() + "/"
    problems: dict[str, list[str]] = {}
    with check_site.open_browser(chromium) as context:
        todo = list(zip(pages, [None, *decks], strict=True))
        opened: list = []
        while todo or opened:
            while todo and len(opened) < TABS:  # keep TABS pages loading at once
                page, deck = todo.pop(0)
                opened.append((page, deck, check_site.open_page(context, base, out, page)))
            page, deck, loaded = opened.pop(0)
            check_site.finish_page(loaded, out)
            found = check_site.console_problems(loaded.events) + check_site.image_problems(loaded.data)
            found += check_site.math_problems(loaded.data) + _link_problems(loaded.data, out, base)
            if page == "broken.html":
                seen = " ".join(found)
                assert "another host" in seen and "raw TeX" in seen, f"the doctored deck passed: {found}"
                found = []
            elif deck is not None:
                state = loaded.handle.evaluate(DECK_JS)
                if not (state["ready"] and state["revealReady"] and state["mathDone"]):
                    found.append(f"the deck did not start: {state}")
                if state["slides"] != len(deck.slides) or state["slides"] < 4:
                    found.append(f"reveal.js shows {state['slides']} slides, the deck has {len(deck.slides)}")
                if state["overflowing"]:
                    found.append(f"slides taller than the slide even at the smallest font: {state['overflowing']}")
                expected_figures = sum(len(s.figures) for s in deck.slides)
                if state["figures"] != expected_figures or expected_figures < 1:  # every lecture has a figure
                    found.append(f"{state['figures']} figures shown, {expected_figures} in the deck")
                if not loaded.data["mathElements"]:
                    found.append("no formula on any slide")
                with_notes = sum(1 for s in deck.slides if s.notes)
                if not state["notesPlugin"] or state["notes"] != with_notes or state["notesShown"]:
                    found.append(
                        f"speaker notes: plugin {state['notesPlugin']}, {state['notes']} of {with_notes}, shown {state['notesShown']}"
                    )
            loaded.events.closing = True
            loaded.handle.close()
            problems[page] = found
    assert not any(problems.values()), check_site.format_report(problems)
