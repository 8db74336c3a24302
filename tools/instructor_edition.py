"""Write the instructor edition: the exam bank and the problem-set solutions, kept off the public builds.

Usage::

    python tools/instructor_edition.py [--out DIR] [--problem-sets DIR]

Instructor material lives outside ``chapters/``: the exam bank in ``course/instructor/exams/``
(one Markdown file per part of the book, ``part1.md`` ... ``part6.md``) and the problem sets'
solutions and hidden tests in ``course/problem_sets/``. ``_config.yml``'s ``exclude_patterns``
keeps ``course/instructor`` out of every Jupyter Book build (``make book``, ``make book-course``),
and ``make student`` reads only ``chapters/``, so none of it reaches a student;
``tests/test_privacy.py`` checks both. This tool is the one place it is published, to
``DIR`` (default ``_build/instructor/``), for the instructors:

* ``exams/partN.md`` -- the part's questions and worked solutions as plain Markdown: any MyST in
  the bank (``{ref}``, ``{eq}``, ``{prf:ref}``, ``{cite}``, the notation macros) is resolved
  against the book with ``tools/plain_markdown.py``, so the file reads well anywhere;
* ``exams/partN.html`` -- the same, rendered to one self-contained HTML page (markdown-it-py,
  math typeset by MathJax 3, copied into ``_static/mathjax`` from the same pinned package as the
  site's (``_ext/local_mathjax.py``), so the pages work offline;
* ``problem_sets/`` -- a copy of ``_build/problem_sets/instructor`` (the problem sets with their
  solutions, written by the problem-set tool) when that folder exists;
* ``index.html`` -- links to all of it.

Every page keeps the ``INSTRUCTOR-ONLY`` marker of its source, so a stray copy is easy to find.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
EXAMS = ROOT / "course" / "instructor" / "exams"
DEFAULT_OUT = ROOT / "_build" / "instructor"
DEFAULT_PROBLEM_SETS = ROOT / "_build" / "problem_sets" / "instructor"
MARKER = "INSTRUCTOR-ONLY"
MATHJAX = "_static/mathjax/tex-mml-chtml.js"  # relative to the edition's root folder

_PART = re.compile(r"^part(\d+)\.md$")

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="robots" content="noindex">
<title>{title}</title>
<script>window.MathJax = {{tex: {{inlineMath: [["\\\\(", "\\\\)"]], displayMath: [["\\\\[", "\\\\]"]]}}}};</script>
<script async src="{mathjax}"></script>
<style>
body {{ max-width: 52rem; margin: 2rem auto; padding: 0 1rem; font: 16px/1.55 system-ui, sans-serif; }}
h2 {{ margin-top: 2.2rem; border-top: 1px solid #ccc; padding-top: 1rem; }}
code {{ background: #f3f3f3; padding: 0 .2em; }}
.banner {{ background: #fff3cd; border: 1px solid #e0c36a; padding: .5rem 1rem; }}
</style>
</head>
<body>
<!-- {marker} -->
<p class="banner">{marker}: instructor edition, not for students.</p>
{body}
</body>
</html>
"""


def exam_parts(exams: Path = EXAMS) -> list[Path]:
    """The exam bank's files, ``part1.md``, ``part2.md``, ..., in the order of the book."""
    numbered = [(int(m.group(1)), p) for p in exams.glob("part*.md") if (m := _PART.match(p.name))]
    return [p for _, p in sorted(numbered)]


def plain_markdown(source: str, page: str) -> str:
    """The bank's Markdown with any MyST resolved against the book (``tools/plain_markdown.py``)."""
    sys.path.insert(0, str(ROOT / "tools"))
    from plain_markdown import BookIndex, Converter

    if "index" not in _index_cache:
        _index_cache["index"] = BookIndex.build(ROOT)  # every label of the book: read once per run
    return Converter(_index_cache["index"], page).markdown(source)


_index_cache: dict[str, Any] = {}


def _math(content: str, options: dict) -> str:
    escaped = html.escape(content)
    return f'<div class="math">\\[{escaped}\\]</div>\n' if options.get("display_mode") else f"\\({escaped}\\)"


def _copy_mathjax(static: Path) -> Path:
    sys.path.insert(0, str(ROOT / "tools"))
    from slides import copy_mathjax  # the decks' copy of the site's MathJax

    return copy_mathjax(static)


def render_html(markdown: str, title: str, root: str = "../") -> str:
    """One HTML page from plain Markdown with ``$``/``$$`` math (markdown-it-py, MathJax).

    ``root`` is the relative path from the page to the edition's root folder, where MathJax is.
    """
    from markdown_it import MarkdownIt
    from mdit_py_plugins.dollarmath import dollarmath_plugin

    md = MarkdownIt("commonmark", {"html": True}).enable("table").use(dollarmath_plugin, renderer=_math)
    return PAGE.format(title=html.escape(title), mathjax=root + MATHJAX, marker=MARKER, body=md.render(markdown))


def _title(markdown: str, fallback: str) -> str:
    heading = re.search(r"^#\s+(.+)$", markdown, re.MULTILINE)
    return heading.group(1).strip() if heading else fallback


def build(out: Path = DEFAULT_OUT, problem_sets: Path = DEFAULT_PROBLEM_SETS, exams: Path = EXAMS) -> list[Path]:
    """Write the instructor edition to ``out`` (replacing it) and return the files written."""
    parts = exam_parts(exams)
    if not parts:
        raise FileNotFoundError(f"no exam bank found: {exams}/part*.md")
    if out.exists():
        shutil.rmtree(out)
    (out / "exams").mkdir(parents=True)
    _copy_mathjax(out / "_static")
    written: list[Path] = []
    links = []
    for path in parts:
        source = path.read_text(encoding="utf-8")
        if MARKER not in source:
            raise ValueError(f"{path} lacks the {MARKER} marker that keeps instructor files recognisable")
        page = path.relative_to(ROOT).with_suffix("").as_posix() if path.is_relative_to(ROOT) else path.stem
        markdown = plain_markdown(source, page)
        title = _title(markdown, path.stem)
        md_path, html_path = out / "exams" / path.name, out / "exams" / f"{path.stem}.html"
        md_path.write_text(markdown, encoding="utf-8")
        html_path.write_text(render_html(markdown, title), encoding="utf-8")
        written += [md_path, html_path]
        links.append(
            f'<li><a href="exams/{path.stem}.html">{html.escape(title)}</a> (<a href="exams/{path.name}">Markdown</a>)</li>'
        )
    if problem_sets.is_dir():
        shutil.copytree(problem_sets, out / "problem_sets")
        copied = sorted(p for p in (out / "problem_sets").rglob("*") if p.is_file())
        written += copied
        sets = [
            f'<li><a href="{p.relative_to(out).as_posix()}">{html.escape(p.relative_to(out / "problem_sets").as_posix())}</a></li>'
            for p in copied
        ]
        problem_text = "<ul>\n" + "\n".join(sets) + "\n</ul>"
    else:
        problem_text = f"<p>Not included: {html.escape(str(problem_sets))} has not been built.</p>"
    body = (
        "<h1>Instructor edition</h1>\n<h2>Exam bank</h2>\n<ul>\n"
        + "\n".join(links)
        + "\n</ul>\n<h2>Problem sets with solutions</h2>\n"
        + problem_text
    )
    index = out / "index.html"
    index.write_text(
        PAGE.format(title="Instructor edition", mathjax=MATHJAX, marker=MARKER, body=body), encoding="utf-8"
    )
    return [index, *written]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (replaced)")
    parser.add_argument(
        "--problem-sets", type=Path, default=DEFAULT_PROBLEM_SETS, help="instructor problem sets to copy, if built"
    )
    args = parser.parse_args(argv)
    written = build(args.out.resolve(), args.problem_sets.resolve())
    print(f"The instructor edition ({len(written)} files) is in {args.out}: open {args.out / 'index.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
