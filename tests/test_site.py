"""The built site, opened page by page in headless Chromium.

The session builds the site (``jupyter-book build . --warningiserror --nitpick --keep-going``,
notebook execution is cached) unless ``SEMLIB_SITE=path/to/html`` names a built one, serves
it on 127.0.0.1, and opens every page with the checker in ``tools/check_site.py`` (console
errors, MathJax, images, links and cross-references, the paper's numbers). It writes
full-page screenshots of the landing page and of the directed-information chapter, light
and dark, to ``_build/screenshots/`` (next to the HTML folder), and shows on a doctored copy
of a page that the checker reports a broken formula, image, link and number.

Without Chromium the tests skip, saying how to get it; without the ``playwright`` package
(pinned in requirements/lock.txt) they fail. The tests share one pytest-xdist group, so
one worker builds the site and runs every browser check; the build first makes sure every
notebook is in the execution cache (``tools/execute_notebooks.py``), sharing that work with the
notebook tests on the other worker.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from book_toc import toc_files

ROOT = Path(__file__).resolve().parents[1]
CHAPTER = "chapters/02_preliminaries/directed_information.html"


def _load_tool(name: str):
    # tools/ is not a package: import the tool from its path
    path = ROOT / "tools" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


check_site = _load_tool("check_site")
executor = _load_tool("execute_notebooks")

# One worker builds the site and runs every browser check (`pytest -n 2 --dist loadgroup`).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("site")]


def require_chromium() -> str:
    chromium = check_site.find_chromium()
    if chromium is None:
        pytest.skip(check_site.SKIP_MESSAGE)
    return chromium


@pytest.fixture(scope="module")
def chromium() -> str:
    return require_chromium()


@pytest.fixture(scope="module")
def site(chromium) -> Path:
    """The built HTML folder: $SEMLIB_SITE, or a fresh build of the book."""
    given = os.environ.get("SEMLIB_SITE")
    if given:
        path = Path(given).resolve()
        if not (path / "index.html").is_file():
            pytest.fail(f"SEMLIB_SITE={given!r} is not a built site (no index.html)", pytrace=False)
        return path
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    if not jupyter_book.exists():
        pytest.fail(f"jupyter-book not found next to {sys.executable}: run `make env`", pytrace=False)
    # Execute each notebook once, into the cache the build reads: the notebook tests
    # (tests/test_notebooks.py, on the other pytest-xdist worker) do the same under file
    # locks, longest first, so between them each notebook runs once; shortest first here, and
    # a notebook the other worker is executing is passed over rather than waited for.
    try:
        executor.ensure_all_executed(sorted(executor.toc_notebooks(), key=executor.expected_seconds))
    except executor.NotebookFailed as err:
        pytest.fail(f"the site cannot be built: a notebook fails\n{err}", pytrace=False)
    command = [str(jupyter_book), "build", ".", "--warningiserror", "--nitpick", "--keep-going"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr)[-4000:]
        pytest.fail(
            f"the site build failed ({' '.join(command[1:])}, exit {result.returncode}):\n{tail}", pytrace=False
        )
    return ROOT / "_build" / "html"


@pytest.fixture(scope="module")
def browser(chromium):
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as err:
        pytest.fail(
            f"the `playwright` package is missing ({err}); it is pinned in requirements/lock.txt "
            "(`make env` installs it; never run `playwright install`, the test uses Debian's Chromium)",
            pytrace=False,
        )
    with check_site.open_browser(chromium) as context:
        yield context


@pytest.fixture(scope="module")
def served(site):
    with check_site.serve(site) as base_url:
        yield site, base_url


def toc_pages() -> list[str]:
    return [f"{f}.html" for f in toc_files()]


def test_skips_without_chromium(monkeypatch):
    monkeypatch.setattr(check_site, "find_chromium", lambda: None)
    with pytest.raises(pytest.skip.Exception, match=r"apt-get install chromium"):
        require_chromium()


def test_every_page_passes_the_browser_checks(served, browser):
    root, base_url = served
    pages = check_site.site_pages(root)
    missing = sorted(set(toc_pages()) - set(pages))
    assert not missing, f"pages of _toc.yml missing from the built site: {missing}"
    assert "index.html" in pages

    start = time.perf_counter()
    report = check_site.check_site(browser, root, base_url, pages)
    elapsed = time.perf_counter() - start
    assert len(report) == len(pages)
    text = check_site.format_report(report)
    bad = sum(1 for problems in report.values() if problems)
    assert not text, f"{bad} of {len(report)} pages have problems (checked in {elapsed:.0f} s):\n{text}"


def test_screenshots_light_and_dark(served, browser):
    root, base_url = served
    out = root.parent / "screenshots"
    problems = []
    for name, page in check_site.SCREENSHOT_PAGES.items():
        paths = [out / f"{name}-{mode}.png" for mode in ("light", "dark")]
        for path in paths:
            path.unlink(missing_ok=True)
        loaded, found = check_site.screenshots(browser, base_url, root, page, out / name)
        problems += [f"{name}: {p}" for p in found]
        for path in paths:
            assert path.is_file() and path.stat().st_size > 10_000, f"no screenshot written to {path}"
        if name == "landing":
            assert loaded.url.endswith("chapters/preface.html"), f"index.html landed on {loaded.url}"
        else:
            assert loaded.data["dark"]["figures"], f"no figure found in {page} to check in dark mode"
    assert not problems, "\n".join(problems)


# --- the checker catches what it is for ------------------------------------------------

BROKEN = r"""
<div id="injected-problems">
<p class="mathjax_ignore">A formula MathJax cannot even delimit
<span class="math notranslate nohighlight">\(\frac{1}{\)</span>,
one it cannot parse <span class="math notranslate nohighlight">\(\frac{1}\)</span>,
an undefined macro <span class="math notranslate nohighlight">\(\undefinedmacro x\)</span>,
and raw TeX left in the text: \(x^2 + \sum_i y_i\).</p>
<img src="../../_images/missing-figure.png" alt="a figure that is not there">
<img src="../../_images/transparent-figure.png" alt="a figure with a transparent background">
<p><a href="no_such_page.html">a missing page</a>,
<a href="granger_causality.html#no-such-anchor">a missing anchor on another page</a>,
<a href="#no-such-anchor-here">a missing anchor on this page</a>.</p>
<div class="proof definition admonition" id="paper-def-7">
<p class="admonition-title"><span class="caption-number">Definition 3 </span> (Mislabelled)</p>
<section class="definition-content"><p>A definition of the paper with the wrong number.</p></section>
</div>
<div class="math notranslate nohighlight" id="equation-paper-eq-9">
<span class="eqno">(4)<a class="headerlink" href="#equation-paper-eq-9">#</a></span>\[ y = x \]</div>
<p>See <a class="reference internal" href="#equation-paper-eq-2">(7)</a>.</p>
<script>console.error("injected console error");
setTimeout(() => { throw new Error("injected uncaught error"); }, 0);</script>
</div>
"""

EXPECTED = [  # each must begin one reported problem
    r"formula not typeset by MathJax: '\\(\\frac{1}{\\)'",  # the open brace swallows the closing \)
    r"MathJax error: 'Missing argument for \\frac'",
    r"undefined TeX macro: '\\undefinedmacro in \\undefinedmacro x'",
    r"raw TeX left in the text: 'and raw TeX left in the text: \\(x^2 + \\sum_i y_i\\).'",
    "image did not load: '../../_images/missing-figure.png'",
    "HTTP error: 404 for _images/missing-figure.png",
    "link to a missing page: 'no_such_page.html'",
    "link to a missing anchor: 'granger_causality.html#no-such-anchor'",
    "link to a missing anchor on this page: '#no-such-anchor-here'",
    "paper-def-7 is shown as 'Definition 3 (Mislabelled)', expected 'Definition 7'",
    "equation equation-paper-eq-9 is numbered '(4)', expected '(9)'",
    "reference '(7)' to 'equation-paper-eq-2' should show '(2)'",
    "console error: injected console error",
    "uncaught JavaScript error: injected uncaught error",
    "dark mode: figure '../../_images/transparent-figure.png' is 100% transparent",
]


def test_checker_reports_a_broken_page(site, browser, tmp_path):
    """A copy of the chapter with a broken formula, image, links and numbers: each is reported.

    It runs ``check_site``, the same code as ``test_every_page_passes_the_browser_checks``,
    on a copy of the built site with one doctored page (the undoctored chapter is that
    test's business)."""
    from PIL import Image

    copy = tmp_path / "html"
    shutil.copytree(site, copy)
    Image.new("RGBA", (200, 120), (255, 255, 255, 0)).save(copy / "_images" / "transparent-figure.png")
    original = copy / CHAPTER
    html = original.read_text(encoding="utf-8")
    anchor = html.index("</h1>") + len("</h1>")  # inside the chapter's first section
    broken = original.with_name("broken.html")
    broken.write_text(html[:anchor] + BROKEN + html[anchor:], encoding="utf-8")
    page = broken.relative_to(copy).as_posix()

    with check_site.serve(copy) as base_url:
        report = check_site.check_site(browser, copy, base_url, [page])

    found = report[page]
    missed = [e for e in EXPECTED if not any(p.startswith(e) for p in found)]
    assert not missed, "the checker did not report:\n" + "\n".join(missed) + "\n\nit reported:\n" + "\n".join(found)


def test_exported_exercise_numbers_match_the_site(site):
    """The plain-Markdown exports (tools/plain_markdown.py: student, Colab, slides) number the
    exercises as the site does, across the book in reading order, so "Exercise 50" in a Colab
    notebook is the site's Exercise 50 (they once restarted at 1 on every page)."""
    import re

    sys.path.insert(0, str(ROOT / "tools"))
    import plain_markdown

    index = plain_markdown.BookIndex.build()
    expected = {label: t.text for label, t in index.targets.items() if t.kind == "exercise"}
    on_site = {}
    for page in toc_files():
        html = (site / f"{page}.html").read_text(errors="replace")
        for m in re.finditer(
            r'id="([^"]+)"[^>]*>\s*<p class="admonition-title">\s*<span class="caption-number">(Exercise \d+)', html
        ):
            on_site[m.group(1)] = m.group(2)
    assert len(on_site) >= len(expected) > 50, (
        f"the site shows {len(on_site)} numbered exercises, the index {len(expected)}"
    )
    wrong = {label: (text, on_site.get(label)) for label, text in expected.items() if on_site.get(label) != text}
    assert not wrong, f"export vs site: {dict(list(wrong.items())[:5])}"
