"""Write one reveal.js slide deck per lecture page of the book, for teaching from it offline.

``make slides`` runs ``python tools/slides.py`` after ``tools/execute_notebooks.py``: every chapter
notebook of ``_toc.yml`` (the pages that ``tools/lecture_plan.py`` counts as lectures) becomes
``_build/slides/<notebook stem>.html``, and ``_build/slides/index.html`` lists the decks by part.
The decks need no network: reveal.js (from the pinned PyPI package ``sphinx-revealjs``, which
ships reveal.js's ``dist`` files) and MathJax 3 (from ``django-static-mathjax``, as for the site,
see ``_ext/local_mathjax.py``) are copied into ``_build/slides/_static/``, and the figures into
``_build/slides/figures/``, so a deck opens from the disk (``file://``) or any static server.

**Which cells.** If any cell of a notebook carries the tag ``slide`` (cell metadata ``tags``),
the deck is exactly those cells, in order, after a title slide: a markdown cell is one slide
(its first heading is the slide's title), a code cell shows its figures, or, if it draws
none, its code and printed output. Otherwise the slides are chosen automatically, one idea each,
from the part of the page before its ``## Exercises`` (the exercises are homework):

1. **title**: the page's title and the *Paper:* line of its Overview;
2. **objectives**: the Overview's "After this chapter you can" list;
3. then, in reading order,

   * each **statement**, a ``prf:`` definition, theorem, lemma, corollary, proposition or remark
     (not proofs), with its number as the site shows it ("Theorem 2", "Definition B.1");
   * the **labelled equations** (``$$ ... $$ (label)``, the paper's and the book's) that stand
     outside statements, at most two per slide and never across a section heading, each after
     the sentence that introduces it when that sentence is short;
   * each **figure**: the image outputs of a code cell (cells tagged ``remove-output`` or
     ``remove-cell`` are skipped, as on the site), titled by the section it is in, with the
     *What to see* paragraph that follows it as its caption;

4. **summary**: the ``## Summary`` section, split into two slides when it has more than four items.

**Speaker notes.** The prose the automatic selection leaves out is not lost: each slide's notes
(reveal.js's notes plugin; press ``S`` for the speaker view) hold the page's text that leads up to
it since the previous slide, so a lecturer sees the argument next to the slide that ends it. The
prose after the last slide goes to the last slide. Tagged decks have no notes.

Markdown goes through ``tools/plain_markdown.py`` first (so no MyST shows raw: statements are
numbered, references resolved, citations written out, glued numbers filled in from the
executed notebook), then through ``markdown-it-py`` with the dollar-math plugin, which hands
every formula to MathJax untouched. A slide whose content is taller than the slide is shrunk
(font size, down to 55 %) after MathJax has typeset it. ``tests/test_slides.py`` opens decks
in headless Chromium and checks that they load, that reveal.js starts, that the math is typeset,
and that nothing is requested from another host.

Usage::

    python tools/slides.py                         # every lecture page (executes what is not cached)
    python tools/slides.py --out DIR chapters/02_preliminaries/directed_information.ipynb
    python tools/slides.py --no-execute            # quick preview: no figures, nothing executed
"""

from __future__ import annotations

import argparse
import base64
import html
import importlib.util
import json
import re
import shutil
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
TOOLS = Path(__file__).resolve().parent
if str(TOOLS) not in sys.path:
    sys.path.insert(0, str(TOOLS))

from plain_markdown import MACROS, BookIndex, Converter, glue_values
from student_notebooks import split_blocks

ASSETS = TOOLS / "slides_assets"  # the decks' own stylesheet and script
#: reveal.js files a deck uses, relative to the ``_static/revealjs`` folder of ``sphinx-revealjs``.
REVEAL_FILES = [
    "LICENSE",
    "dist/reset.css",
    "dist/reveal.css",
    "dist/reveal.js",
    "dist/theme/white.css",
    "plugin/notes/notes.js",  # the speaker view (key S), with each slide's notes
]
REVEAL_DIRS = ["dist/theme/fonts/source-sans-pro"]
THEME = "white"
TAG = "slide"
STATEMENTS = {"definition", "theorem", "lemma", "corollary", "proposition", "remark"}
HIDDEN_TAGS = {"remove-output", "remove-cell"}
IMAGE_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/svg+xml": "svg"}
EQUATIONS_PER_SLIDE = 2
SUMMARY_ITEMS_PER_SLIDE = 4
LEAD_IN_CHARS = 260  # a longer introducing sentence is left out of an equation slide

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.*?)[ \t#]*$", re.MULTILINE)
_LABELLED_EQ = re.compile(r"\$\$(?:(?!\$\$).)*?\$\$[ \t]*\([\w:.-]+\)", re.DOTALL)
_SENTENCE_END = re.compile(r"(?<=[.!?:])\s+(?=[A-Z*(\[])")
_OPTION_LINE = re.compile(r"^:[\w-]+:.*$")
_ANCHOR = re.compile(r'<a id="[^"]*"></a>[ \t]*\n?')


# --------------------------------------------------------------------------- what a deck holds


@dataclass
class Figure:
    """One image output of a code cell, ready to be written next to the decks."""

    mime: str
    data: bytes

    @property
    def suffix(self) -> str:
        return IMAGE_TYPES[self.mime]


@dataclass
class Slide:
    """One slide: a title and a body in plain Markdown (no MyST), and figures."""

    kind: str  # title, objectives, statement, equations, figure, summary, tagged
    title: str = ""
    body: str = ""
    figures: list[Figure] = field(default_factory=list)
    caption: str = ""
    cell: int | None = None  # the notebook cell it comes from (the first one, for equations)
    notes: str = ""  # speaker notes (plain Markdown): the page's prose that leads to this slide


@dataclass
class Deck:
    page: str  # toc path, e.g. chapters/02_preliminaries/directed_information
    title: str
    slides: list[Slide]
    part: str = ""

    @property
    def stem(self) -> str:
        return Path(self.page).name

    @property
    def tagged(self) -> bool:
        return any(s.kind == "tagged" for s in self.slides)


# --------------------------------------------------------------------------- choosing the slides


def tagged_cells(nb: nbformat.NotebookNode) -> list[int]:
    """Indices of the cells tagged ``slide``."""
    return [i for i, c in enumerate(nb.cells) if TAG in (c.get("metadata", {}).get("tags") or [])]


def _figures(cell: nbformat.NotebookNode) -> list[Figure]:
    """The images a code cell shows: display outputs, not glued values (MyST-NB shows those elsewhere)."""
    figures = []
    for output in cell.get("outputs", []):
        if output.get("output_type") not in ("display_data", "execute_result"):
            continue
        if output.get("metadata", {}).get("scrapbook"):
            continue
        data = output.get("data", {})
        for mime in IMAGE_TYPES:
            if mime in data:
                raw = data[mime]
                raw = "".join(raw) if isinstance(raw, list) else raw
                payload = raw.encode() if mime == "image/svg+xml" else base64.b64decode(raw)
                figures.append(Figure(mime, payload))
                break
    return figures


def _hidden(cell: nbformat.NotebookNode) -> bool:
    return bool(HIDDEN_TAGS & set(cell.get("metadata", {}).get("tags") or []))


def _strip_heading_markup(text: str) -> str:
    return text.strip().rstrip("#").strip()


def _directive_body(block_text: str) -> str:
    """The content of a fenced directive: without the fence lines and the ``:option:`` lines."""
    lines = block_text.splitlines()[1:]
    if lines and re.match(r"^ {0,3}(`{3,}|:{3,})\s*$", lines[-1]):
        lines = lines[:-1]
    while lines and _OPTION_LINE.match(lines[0]):
        lines = lines[1:]
    return "\n".join(lines).strip("\n")


def _options(block_text: str) -> dict[str, str]:
    options = {}
    for line in block_text.splitlines()[1:]:
        m = re.match(r"^:([\w-]+):[ \t]*(.*)$", line)
        if not m:
            break
        options[m[1]] = m[2].strip()
    return options


def _overview(source: str) -> tuple[str, str]:
    """(*Paper:* line, objectives list) of the Overview admonition in ``source`` (MyST)."""
    paper = objectives = ""
    for block in split_blocks(source):
        if block.name == "admonition" and block.arg.strip().lower() == "overview":
            body = _directive_body(block.text)
            m = re.search(r"^\*\*Paper:?\*\*:?[ \t]*(.*)$", body, re.MULTILINE)
            paper = m[1].strip() if m else ""
            after = re.split(r"\*\*After this chapter you can:?\*\*:?", body, maxsplit=1)
            if len(after) == 2:
                objectives = re.split(r"^\*\*(?:Prerequisites|Used later)", after[1], flags=re.MULTILINE)[0].strip()
    return paper, objectives


def _lead_in(text_before: str) -> str:
    """The sentence right before an equation, if it is short and in the same paragraph."""
    paragraph = re.split(r"\n[ \t]*\n", text_before.rstrip())[-1].strip()
    if not paragraph or paragraph.startswith(("#", "$$", ":::", "```")) or "$$" in paragraph:
        return ""
    sentence = _SENTENCE_END.split(paragraph)[-1].strip()
    return sentence if len(sentence) <= LEAD_IN_CHARS else ""


def _split_items(markdown: str, per_slide: int) -> list[str]:
    """A bulleted or numbered list cut into chunks of ``per_slide`` items (other text stays first)."""
    items = re.split(r"(?m)^(?=[*+-] |\d+\. )", markdown.strip())
    head = items[0] if items and not re.match(r"^([*+-] |\d+\. )", items[0]) else ""
    items = [i for i in items if re.match(r"^([*+-] |\d+\. )", i)]
    if len(items) <= per_slide:
        return [markdown.strip()]
    halves = max(2, -(-len(items) // per_slide))
    size = -(-len(items) // halves)
    chunks = ["".join(items[k : k + size]).strip() for k in range(0, len(items), size)]
    if head.strip():
        chunks[0] = head.strip() + "\n\n" + chunks[0]
    return chunks


class _Selector:
    """Walks a notebook once and collects the automatic slides (see the module docstring)."""

    def __init__(self, nb: nbformat.NotebookNode, convert: Converter, title: str):
        self.nb, self.convert, self.title = nb, convert, title
        self.slides: list[Slide] = []
        self.section = title
        self.pending: list[tuple[str, str, int]] = []  # (lead-in, equation, cell) of the current section
        self.summary: list[str] | None = None  # markdown of the Summary section while inside it
        self.notes: list[str] = []  # prose read since the last slide: the next slide's speaker notes
        self.captions: set[int] = set()  # markdown cells whose first paragraph captions a figure slide
        self.done = False

    def add(self, slide: Slide) -> None:
        """Append a slide, with the prose that led to it as its speaker notes."""
        prose = "\n\n".join(t.strip() for t in self.notes if t.strip())
        self.notes = []
        if prose:
            slide.notes = self.notes_md(prose)
        self.slides.append(slide)

    def md(self, text: str) -> str:
        return self.convert.markdown(text).strip()

    def notes_md(self, prose: str) -> str:
        """Prose for the speaker notes: Markdown without the page's anchors (they mean nothing here)."""
        return _ANCHOR.sub("", self.md(prose)).strip()

    def flush(self) -> None:
        for k in range(0, len(self.pending), EQUATIONS_PER_SLIDE):
            group = self.pending[k : k + EQUATIONS_PER_SLIDE]
            body = "\n\n".join(f"{self.md(lead)}\n\n{self.md(eq)}" if lead else self.md(eq) for lead, eq, _ in group)
            self.add(Slide("equations", self.md(self.section), body, cell=group[0][2]))
        self.pending = []

    def heading(self, level: int, text: str) -> None:
        if level > 3:
            return
        self.flush()
        name = _strip_heading_markup(text)
        if level == 2 and self.summary is not None:
            self.finish_summary()
        if level == 2 and name.lower().startswith("exercises"):
            self.done = True
            return
        if level == 2 and name.lower() == "summary":
            self.summary = []
            return
        if level >= 2:
            self.section = name

    def finish_summary(self) -> None:
        text = "\n\n".join(self.summary or []).strip()
        self.summary = None
        if text:
            for chunk in _split_items(self.md(text), SUMMARY_ITEMS_PER_SLIDE):
                self.add(Slide("summary", "Summary", chunk))

    def text(self, text: str, cell: int) -> None:
        """Plain markdown between directives: headings, labelled equations, summary text."""
        pos = 0
        marks = sorted(
            [(m.start(), m.end(), "h", m) for m in _HEADING.finditer(text)]
            + [(m.start(), m.end(), "eq", m) for m in _LABELLED_EQ.finditer(text)],
            key=lambda t: t[0],
        )
        for start, end, kind, m in marks:
            if start < pos:
                continue
            if self.summary is not None and kind == "eq":
                continue
            if self.summary is not None:
                self.summary.append(text[pos:start])
            if self.done:
                return
            if kind == "h":
                self.notes.append(text[pos:start])
                self.heading(len(m[1]), m[2])
            else:
                lead = _lead_in(text[pos:start])
                before = text[pos:start].rstrip()
                self.notes.append(before[: len(before) - len(lead)] if lead and before.endswith(lead) else before)
                self.pending.append((lead, m[0], cell))
            pos = end
        if self.summary is not None and not self.done:
            self.summary.append(text[pos:])
        elif not self.done:
            self.notes.append(text[pos:])

    def statement(self, block, cell: int) -> None:
        self.flush()
        kind = block.name[4:]
        label = _options(block.text).get("label", "")
        target = self.convert.index.targets.get(label)
        head = target.text if target else kind.title()
        title = f"{head} ({self.convert.inline(block.arg)})" if block.arg.strip() else head
        self.add(Slide("statement", title, self.md(_directive_body(block.text)), cell=cell))

    def figure(self, cell_index: int, cell: nbformat.NotebookNode) -> None:
        figures = _figures(cell)
        if not figures or _hidden(cell):
            return
        self.flush()
        caption = ""
        for nxt in self.nb.cells[cell_index + 1 : cell_index + 2]:
            first = re.split(r"\n[ \t]*\n", nxt.source.strip(), maxsplit=1)[0] if nxt.cell_type == "markdown" else ""
            if re.match(r"^[*_]+What to see", first):
                caption = self.md(first)
                self.captions.add(cell_index + 1)
        self.add(Slide("figure", self.md(self.section), "", figures, caption, cell=cell_index))

    def run(self) -> list[Slide]:
        for i, cell in enumerate(self.nb.cells):
            if self.done:
                break
            if cell.cell_type == "code":
                if self.summary is None:
                    self.figure(i, cell)
                continue
            if cell.cell_type != "markdown":
                continue
            source = cell.source
            if i in self.captions:  # its first paragraph is on the figure's slide already
                parts = re.split(r"\n[ \t]*\n", source.strip(), maxsplit=1)
                source = parts[1] if len(parts) > 1 else ""
            for block in split_blocks(source):
                if self.done:
                    break
                if block.name is None:
                    self.text(block.text, i)
                elif self.summary is not None:
                    self.summary.append(block.text)
                elif block.name.startswith("prf:") and block.name[4:] in STATEMENTS:
                    self.statement(block, i)
        self.flush()
        if self.summary is not None:
            self.finish_summary()
        rest = "\n\n".join(t.strip() for t in self.notes if t.strip())
        if rest and self.slides:  # prose after the last slide: the last slide's notes
            last = self.slides[-1]
            last.notes = (last.notes + "\n\n" + self.notes_md(rest)).strip()
        return self.slides


def title_slides(nb: nbformat.NotebookNode, convert: Converter, title: str) -> list[Slide]:
    """The title slide and, if the page has an Overview, its learning objectives."""
    source = "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    paper, objectives = _overview(source)
    slides = [Slide("title", convert.inline(title), convert.markdown(f"**Paper:** {paper}").strip() if paper else "")]
    if objectives:
        slides.append(Slide("objectives", "After this lecture you can", convert.markdown(objectives).strip()))
    return slides


def tagged_slides(nb: nbformat.NotebookNode, convert: Converter, cells: Iterable[int]) -> list[Slide]:
    """One slide per tagged cell (see the module docstring)."""
    slides = []
    for i in cells:
        cell = nb.cells[i]
        if cell.cell_type == "markdown":
            text = convert.markdown(cell.source).strip()
            m = _HEADING.search(text)
            title = ""
            if m and not text[: m.start()].strip():
                title, text = _strip_heading_markup(m[2]), text[m.end() :].strip()
            slides.append(Slide("tagged", title, text, cell=i))
        elif cell.cell_type == "code":
            figures = _figures(cell)
            if figures:
                slides.append(Slide("tagged", "", "", figures, cell=i))
                continue
            printed = "".join(
                "".join(o.get("text", ""))
                if o.get("output_type") == "stream"
                else o.get("data", {}).get("text/plain", "")
                for o in cell.get("outputs", [])
            )
            body = f"```python\n{cell.source.strip()}\n```"
            if printed.strip():
                body += f"\n\n```text\n{printed.rstrip()}\n```"
            slides.append(Slide("tagged", "", body, cell=i))
    return slides


def page_title(nb: nbformat.NotebookNode, page: str, index: BookIndex | None = None) -> str:
    if index is not None and page in index.titles:
        return index.titles[page]
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            m = re.search(r"^# (.+)$", cell.source, re.MULTILINE)
            if m:
                return m[1].strip()
    return Path(page).name


def select_slides(
    nb: nbformat.NotebookNode, page: str, index: BookIndex, *, glue: dict[str, object] | None = None
) -> Deck:
    """The deck of one page: the tagged cells if any, else the automatic selection.

    ``nb`` is the executed notebook (figures come from its outputs; an unexecuted one gives a
    deck without figures); ``glue`` the values it glued (default: read from ``nb``).
    """
    if page not in index.titles:  # a notebook outside the book (a test's stub): number its own labels
        text = "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
        index = BookIndex(dict(index.targets), dict(index.titles), index.citations)
        index._add_page(page, text, {})
    convert = Converter(index, page, glue_values(nb) if glue is None else glue)
    title = page_title(nb, page, index)
    cells = tagged_cells(nb)
    if cells:
        slides = tagged_slides(nb, convert, cells)
        first = nb.cells[cells[0]]
        if not (first.cell_type == "markdown" and re.search(r"^# ", first.source, re.MULTILINE)):
            slides = title_slides(nb, convert, title)[:1] + slides  # a title slide unless one is tagged
    else:
        slides = title_slides(nb, convert, title) + _Selector(nb, convert, title).run()
    return Deck(page, convert.inline(title), slides)


# --------------------------------------------------------------------------- HTML


def _math(content: str, options: dict) -> str:
    delimiters = ("\\[", "\\]") if options.get("display_mode") else ("\\(", "\\)")
    return html.escape(delimiters[0] + content + delimiters[1], quote=False)


def _markdown_renderer():
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    md = MarkdownIt("commonmark", {"html": True}).enable("table").enable("strikethrough")
    dollarmath_plugin(md, double_inline=True, allow_labels=False, renderer=_math)

    def inline_double(self, tokens, idx, options, env):  # a display formula inside a paragraph
        return f'<span class="math display">{_math(tokens[idx].content.strip(), {"display_mode": True})}</span>'

    md.add_render_rule("math_inline_double", inline_double)
    return md


_MD = None


def to_html(markdown: str) -> str:
    """Plain Markdown with ``$``-math to HTML; formulas stay TeX inside ``.math`` elements for MathJax."""
    global _MD
    if _MD is None:
        _MD = _markdown_renderer()
    return _MD.render(markdown)


def _inline_html(markdown: str) -> str:
    rendered = to_html(markdown).strip()
    m = re.fullmatch(r"<p>(.*)</p>", rendered, re.DOTALL)
    return m[1] if m else rendered


MATHJAX_CONFIG = {
    "tex": {
        "inlineMath": [["\\(", "\\)"]],
        "displayMath": [["\\[", "\\]"]],
        "processEscapes": False,
        "macros": {name.lstrip("\\"): value for name, value in MACROS.items()},
    },
    "options": {"processHtmlClass": "math", "ignoreHtmlClass": "slides-nomath"},
    "chtml": {"displayAlign": "center"},
}


def slide_html(slide: Slide, figure_paths: list[str]) -> str:
    classes = f"slide-{slide.kind}"
    parts = []
    if slide.kind == "title":
        parts.append(f'<h1 class="deck-title">{_inline_html(slide.title)}</h1>')
        if slide.body:
            parts.append(f'<div class="deck-paper">{to_html(slide.body)}</div>')
        parts.append('<p class="deck-book">Forget BIT, It is All about TOKEN — the executable companion</p>')
    else:
        if slide.title:
            parts.append(f"<h2>{_inline_html(slide.title)}</h2>")
        if slide.body:
            parts.append(f'<div class="slide-body">{to_html(slide.body)}</div>')
        for path in figure_paths:
            alt = html.escape(f"Figure: {re.sub(r'[$*`]', '', slide.title) or 'output of the notebook'}")
            parts.append(f'<img class="slide-figure" src="{html.escape(path)}" alt="{alt}">')
        if slide.caption:
            parts.append(f'<div class="slide-caption">{to_html(slide.caption)}</div>')
    if slide.notes:
        parts.append(f'<aside class="notes">{to_html(slide.notes)}</aside>')
    origin = f' data-cell="{slide.cell}"' if slide.cell is not None else ""
    return f'<section class="{classes}"{origin}>\n' + "\n".join(parts) + "\n</section>"


def deck_html(deck: Deck, figure_paths: list[list[str]]) -> str:
    """The HTML of one deck; ``figure_paths[k]`` are the image URLs (relative) of slide k."""
    slides = "\n".join(slide_html(s, p) for s, p in zip(deck.slides, figure_paths, strict=True))
    title = html.escape(re.sub(r"[$*`]", "", deck.title))
    config = json.dumps(MATHJAX_CONFIG)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>{title} — slides</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="_static/revealjs/dist/reset.css">
<link rel="stylesheet" href="_static/revealjs/dist/reveal.css">
<link rel="stylesheet" href="_static/revealjs/dist/theme/{THEME}.css">
<link rel="stylesheet" href="_static/deck.css">
<script>window.MathJax = {config};</script>
<script src="_static/mathjax/tex-mml-chtml.js" defer></script>
</head>
<body>
<div class="reveal" data-page="{html.escape(deck.page)}">
<div class="slides">
{slides}
</div>
</div>
<a class="deck-home" href="index.html" title="All decks">☰</a>
<script src="_static/revealjs/dist/reveal.js"></script>
<script src="_static/revealjs/plugin/notes/notes.js"></script>
<script src="_static/deck.js"></script>
</body>
</html>
"""


def index_html(decks: list[Deck]) -> str:
    rows, part = [], None
    for deck in decks:
        if deck.part != part:
            if part is not None:
                rows.append("</ul>")
            part = deck.part
            rows.append(f"<h2>{html.escape(part or 'Pages')}</h2>\n<ul>")
        mode = "tagged cells" if deck.tagged else "automatic"
        rows.append(
            f'<li><a href="{html.escape(deck.stem)}.html">{_inline_html(deck.title)}</a> '
            f'<span class="count">{len(deck.slides)} slides, {mode}</span></li>'
        )
    if part is not None:
        rows.append("</ul>")
    body = "\n".join(rows)
    config = json.dumps(MATHJAX_CONFIG)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Slides — Forget BIT, It is All about TOKEN</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="_static/deck.css">
<script>window.MathJax = {config};</script>
<script src="_static/mathjax/tex-mml-chtml.js" defer></script>
</head>
<body class="deck-index">
<h1>Lecture slides</h1>
<p>One reveal.js deck per lecture page of <em>Forget BIT, It is All about TOKEN — the executable
companion</em>, made from the executed notebooks by <code>make slides</code>. Keys: arrows or space
to move, <kbd>F</kbd> full screen, <kbd>O</kbd> or <kbd>Esc</kbd> the overview of all slides,
<kbd>S</kbd> the speaker view, whose notes hold the page's prose that leads to each slide.</p>
{body}
</body>
</html>
"""


# --------------------------------------------------------------------------- files


def reveal_dir() -> Path:
    """The reveal.js files of the pinned ``sphinx-revealjs`` package."""
    spec = importlib.util.find_spec("sphinx_revealjs")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("reveal.js not found: install the pinned `sphinx-revealjs` (requirements/lock.txt)")
    folder = Path(next(iter(spec.submodule_search_locations))) / "_static" / "revealjs"
    if not (folder / "dist" / "reveal.js").is_file():
        raise SystemExit(f"reveal.js not found under {folder}")
    return folder


def copy_mathjax(static: Path) -> Path:
    """Copy the site's vendored MathJax into ``static/mathjax`` (``_ext/local_mathjax.py``, one
    copy for the site, the decks and the instructor edition); return that folder."""
    sys.path.insert(0, str(ROOT / "_ext"))
    try:
        import local_mathjax
    finally:
        sys.path.remove(str(ROOT / "_ext"))
    return local_mathjax.copy_to(static)


def write_assets(out: Path) -> None:
    """Copy reveal.js, MathJax and the decks' stylesheet and script into ``out/_static``."""
    static = out / "_static"
    reveal = reveal_dir()
    for rel in REVEAL_FILES:
        (static / "revealjs" / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(reveal / rel, static / "revealjs" / rel)
    for rel in REVEAL_DIRS:
        shutil.copytree(reveal / rel, static / "revealjs" / rel, dirs_exist_ok=True)
    copy_mathjax(static)
    for asset in ("deck.css", "deck.js"):
        shutil.copy2(ASSETS / asset, static / asset)


def write_deck(deck: Deck, out: Path) -> Path:
    """Write the deck's figures and HTML under ``out``; returns the HTML file."""
    figures = out / "figures"
    for old in figures.glob(f"{deck.stem}-*"):  # figures of an earlier build of this deck
        old.unlink()
    paths: list[list[str]] = []
    for k, slide in enumerate(deck.slides):
        names = []
        for j, fig in enumerate(slide.figures):
            name = f"{deck.stem}-{k:02d}-{j}.{fig.suffix}"
            figures.mkdir(parents=True, exist_ok=True)
            (figures / name).write_bytes(fig.data)
            names.append(f"figures/{name}")
        paths.append(names)
    target = out / f"{deck.stem}.html"
    target.write_text(deck_html(deck, paths), encoding="utf-8")
    return target


# --------------------------------------------------------------------------- the book


def lecture_pages() -> list[tuple[str, Path]]:
    """(part caption, notebook) for every lecture page, in reading order (``tools/lecture_plan.py``)."""
    import lecture_plan

    return [(caption, path) for caption, pages in lecture_plan.parts() for path in pages]


def _executed(path: Path) -> nbformat.NotebookNode:
    from execute_notebooks import ensure_executed

    return ensure_executed(path)[1]


def build(
    notebooks: list[tuple[str, Path]],
    out: Path,
    *,
    executed: Callable[[Path], nbformat.NotebookNode] | None = _executed,
    index: BookIndex | None = None,
) -> list[Deck]:
    """Write the decks of ``notebooks`` ((part, path) pairs), the index page and the assets.

    ``executed(path)`` returns the executed notebook (default: from the build cache, executing it
    if needed); ``None`` uses the notebooks as committed (no figures).
    """
    index = BookIndex.build() if index is None else index
    out.mkdir(parents=True, exist_ok=True)
    write_assets(out)
    decks = []
    for part, path in notebooks:
        path = Path(path).resolve()
        try:
            page = path.relative_to(ROOT).with_suffix("").as_posix()
        except ValueError:
            page = path.with_suffix("").name
        nb = executed(path) if executed else nbformat.read(path, as_version=4)
        deck = select_slides(nb, page, index)
        deck.part = part
        write_deck(deck, out)
        decks.append(deck)
    (out / "index.html").write_text(index_html(decks), encoding="utf-8")
    return decks


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every lecture page of _toc.yml")
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "slides", help="output folder")
    parser.add_argument("--no-execute", action="store_true", help="use the notebooks as committed (no figures)")
    args = parser.parse_args(argv)
    pages = lecture_pages()
    if args.notebooks:
        wanted = [p.resolve() for p in args.notebooks]
        known = {path.resolve() for _, path in pages}
        pages = [(part, path) for part, path in pages if path.resolve() in wanted]
        pages += [("Other notebooks", p) for p in wanted if p not in known]
    decks = build(pages, args.out, executed=None if args.no_execute else _executed)
    for deck in decks:
        counts = {k: sum(s.kind == k for s in deck.slides) for k in ("statement", "equations", "figure")}
        print(f"{len(deck.slides):3d} slides  {deck.stem}  ({', '.join(f'{v} {k}' for k, v in counts.items())})")
    print(f"wrote {len(decks)} decks: open file://{(args.out / 'index.html').resolve()}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
