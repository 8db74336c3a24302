"""Open every page of the built site in headless Chromium and report what is broken.

Usage (a built site, Debian's Chromium and the ``playwright`` package are needed)::

    .venv/bin/python tools/check_site.py [_build/html] [--screenshots DIR]

exits 1 and lists the problems page by page if there are any. ``tests/test_site.py``
runs the same code (it imports this file by path; ``tools/`` is not a package).

Checks, per page (each is a function that returns a list of problem strings):

(a) ``console_problems``: JavaScript console errors, uncaught exceptions, requests to the
    local server that failed or answered >= 400, and any request to another host (the
    site must work offline);
(b) ``math_problems``: MathJax finished, typeset every ``span.math``/``div.math`` Sphinx
    emitted (as many ``mjx-container`` as math elements), produced no error node
    (``mjx-merror``, ``[data-mjx-error]``) and no undefined macro (MathJax's
    ``noundefined`` extension shows those as red text instead of an error), and no raw
    TeX (``\\(``, ``\\[``, ``$$``, ``\\frac``-like control words, ``$x^2$``) is left in
    the text outside code;
(c) ``image_problems``: every ``<img>`` loaded (``complete`` and ``naturalWidth > 0``);
(d) ``link_problems``: every internal ``<a href>`` names an existing file and, with a
    ``#fragment``, an element with that id on the target page; no cross-reference is
    left unresolved (a Sphinx ``.xref`` outside a link);
(e) ``numbering_problems``: a label ``paper-def-N`` (``thm``, ``lem``, ``cor``, ``rem``)
    is on a sphinx-proof admonition of that kind titled "Definition N", an equation
    ``equation-paper-eq-N`` shows "(N)"; the book's own numbered statements and
    equations show "B.k"; and ``xref_number_problems`` (run once all pages are
    loaded): a link to a numbered element (``{prf:ref}``, ``{eq}``, ``{numref}``)
    that shows a number shows the target's number;
(f) ``dark_mode_problems``: switched to dark mode the way the theme button does, the page
    background is dark and every figure (``_images/``) is opaque with a light background
    and not colour-inverted, so it stays legible (``screenshots`` checks the same while it
    writes light and dark full-page screenshots).

Why Playwright: its Python package drives an installed Chromium
(``executable_path="/usr/bin/chromium"``, nothing is downloaded: never run
``playwright install``) over the DevTools protocol and gives, in a few lines, what the
checks need: console, page-error, request and response events, ``evaluate`` of an async
function (to await ``MathJax.startup.promise``), init scripts (to choose the theme before
the page's own scripts run) and full-page screenshots. Selenium would need the separate
``chromium-driver`` package, whose version must match the browser's, and its CDP or BiDi
extras for request and response events; a hand-written DevTools client (websocket, JSON
messages, event bookkeeping) would be more code to maintain than the checks themselves.
Chromium is started by ``launch_persistent_context`` with an empty temporary profile
directory (Playwright refuses ``--user-data-dir`` among the plain ``launch`` arguments)
and the flags in ``CHROMIUM_FLAGS``.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import http.server
import re
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SKIP_MESSAGE = "Chromium not found: install it with `apt-get install chromium` (Debian/Ubuntu); .ci/run does this"

# Pages that are not the book's content: Sphinx's index and search pages and
# sphinx-proof's index of statements. Links to them are still checked.
EXCLUDED_PAGES = {"genindex.html", "search.html", "prf-prf.html"}
EXCLUDED_DIRS = {"_static", "_sources", "_images"}

KIND_WORDS = {"def": "Definition", "thm": "Theorem", "lem": "Lemma", "cor": "Corollary", "rem": "Remark"}
KIND_CLASSES = {"def": "definition", "thm": "theorem", "lem": "lemma", "cor": "corollary", "rem": "remark"}
PAPER_STATEMENT = re.compile(r"^paper-(def|thm|lem|cor|rem)-(\d+)$")
PAPER_EQUATION = re.compile(r"^equation-paper-eq-(\d+)$")
BOOK_NUMBER = re.compile(r"^B\.\d+$")

MATH_TIMEOUT_MS = 20_000
IMAGE_TIMEOUT_MS = 10_000
SETTLE_MS = 300
TABS = 4  # pages loaded at once
VIEWPORT = {"width": 1280, "height": 900}


def find_chromium() -> str | None:
    """Path of the installed Chromium, or None."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def site_pages(root: Path) -> list[str]:
    """Every HTML page of the built site (relative, '/'-separated), minus the excluded ones."""
    pages = []
    for path in sorted(root.rglob("*.html")):
        rel = path.relative_to(root)
        if rel.parts[0] in EXCLUDED_DIRS or rel.as_posix() in EXCLUDED_PAGES:
            continue
        pages.append(rel.as_posix())
    return pages


# ---------------------------------------------------------------------------
# Serving the site and starting the browser
# ---------------------------------------------------------------------------


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # the base class names it `format`
        pass


@contextlib.contextmanager
def serve(root: Path):
    """Serve ``root`` on 127.0.0.1 at a free port; yields the base URL (ending in '/')."""
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextlib.contextmanager
def open_browser(chromium: str):
    """Headless Chromium with an empty profile; yields a Playwright BrowserContext."""
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="semlib-chromium-") as profile, sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            profile,
            executable_path=chromium,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport=VIEWPORT,
        )
        context.set_default_timeout(30_000)
        try:
            yield context
        finally:
            context.close()


# ---------------------------------------------------------------------------
# What the page reports about itself (run in the page once it has loaded)
# ---------------------------------------------------------------------------

COLLECT_JS = r"""
async ({mathTimeout, imageTimeout}) => {
  const out = {};
  const norm = (s) => (s || "").replace(/\s+/g, " ").trim();
  // --- MathJax -------------------------------------------------------------
  const mathEls = Array.from(document.querySelectorAll("span.math, div.math"));
  out.mathElements = mathEls.length;
  out.hasMathJax = !!(window.MathJax && window.MathJax.startup && window.MathJax.startup.promise);
  out.mathjaxStatus = "absent";
  if (out.hasMathJax) {
    out.mathjaxStatus = await Promise.race([
      MathJax.startup.promise.then(() => "done", (e) => "failed: " + e),
      new Promise((r) => setTimeout(() => r("timed out after " + mathTimeout + " ms"), mathTimeout)),
    ]);
  }
  out.containers = document.querySelectorAll("mjx-container").length;
  out.untypeset = mathEls.filter((e) => !e.querySelector("mjx-container")).map(
    (e) => norm(e.textContent).slice(0, 100));
  out.mathErrors = Array.from(document.querySelectorAll("mjx-merror, [data-mjx-error]")).map(
    (e) => norm(e.getAttribute("data-mjx-error") || e.textContent).slice(0, 100));
  out.undefinedMacros = [];
  try {
    const doc = window.MathJax && MathJax.startup && MathJax.startup.document;
    if (doc && doc.math) {
      for (const item of doc.math) {
        if (!item.root || !item.root.walkTree) continue;
        item.root.walkTree((node) => {
          // MathJax's noundefined extension turns \foo into red text "\foo" (no error node)
          if (node.isKind && node.isKind("mtext") && node.attributes.get("mathcolor") === "red") {
            const text = node.childNodes.map((c) => (c.getText ? c.getText() : "")).join("");
            if (text.startsWith("\\")) out.undefinedMacros.push(text + " in " + norm(item.math).slice(0, 80));
          }
        });
      }
    }
  } catch (e) {
    out.undefinedMacros.push("(could not inspect MathJax's output: " + e + ")");
  }
  // raw TeX in text nodes outside code and typeset math
  const skip = "pre, code, kbd, samp, tt, script, style, textarea, noscript, mjx-container, .highlight";
  const texPattern = /\\[()\[\]]|\$\$|\\[A-Za-z]{2,}|(?:^|[^\\$])\$[^$\s][^$]*?[\\^_{}][^$]*?\$/;
  out.rawTex = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.nodeValue;
    if (!text || !(text.includes("\\") || text.includes("$"))) continue;
    if (node.parentElement && node.parentElement.closest(skip)) continue;
    const m = texPattern.exec(text);
    if (m) {
      const start = Math.max(0, m.index - 30);
      out.rawTex.push(norm(text.slice(start, m.index + m[0].length + 30)));
    }
  }
  // --- images --------------------------------------------------------------
  const imgs = Array.from(document.images);
  imgs.forEach((img) => { if (img.loading === "lazy") img.loading = "eager"; });
  await Promise.all(imgs.map((img) => img.complete ? null : new Promise((r) => {
    img.addEventListener("load", r, {once: true});
    img.addEventListener("error", r, {once: true});
    setTimeout(r, imageTimeout);
  })));
  out.images = imgs.map((img) => ({
    src: img.getAttribute("src"), url: img.currentSrc || img.src,
    complete: img.complete, naturalWidth: img.naturalWidth,
  }));
  // --- links ---------------------------------------------------------------
  out.links = Array.from(document.querySelectorAll("a[href]")).map((a) => {
    const samePage = a.origin === location.origin && a.pathname === location.pathname && a.hash.length > 1;
    let found = null;
    if (samePage) {
      let id = a.hash.slice(1);
      try { id = decodeURIComponent(id); } catch (e) {}
      found = document.getElementById(id) !== null || document.getElementsByName(id).length > 0;
    }
    return {href: a.getAttribute("href"), url: a.href, text: norm(a.textContent), samePage, found};
  });
  out.unresolvedXrefs = Array.from(document.querySelectorAll(".xref")).filter((e) => !e.closest("a")).map(
    (e) => norm(e.textContent).slice(0, 80));
  // --- numbering -----------------------------------------------------------
  const eqno = (el) => {
    const span = el.querySelector(":scope > .eqno");
    if (!span) return null;
    const copy = span.cloneNode(true);
    copy.querySelectorAll(".headerlink").forEach((h) => h.remove());
    return norm(copy.textContent);
  };
  const caption = (el) => {
    const title = el.querySelector(":scope > .admonition-title");
    const cap = title && title.querySelector(".caption-number");
    return {title: title ? norm(title.textContent) : null, caption: cap ? norm(cap.textContent) : null};
  };
  out.labelled = [];
  const seen = new Set();
  for (const el of document.querySelectorAll("[id]")) {
    const id = el.id;
    if (seen.has(id) || !/^(equation-)?paper-|^equation-/.test(id)) continue;
    seen.add(id);
    const first = document.getElementById(id);
    out.labelled.push({id, tag: first.tagName.toLowerCase(), classes: Array.from(first.classList),
                       eqno: eqno(first), ...caption(first)});
  }
  out.statements = Array.from(document.querySelectorAll("div.proof.admonition")).map((el) => ({
    id: el.id, classes: Array.from(el.classList), ...caption(el)}));
  // displayed number of every numbered element, for checking references to it
  out.numbers = {};
  for (const el of document.querySelectorAll("div.math[id]")) {
    const n = eqno(el);
    if (n) out.numbers[el.id] = n;
  }
  for (const cap of document.querySelectorAll(".caption-number")) {
    // the admonition, figure, table or listing it numbers (not a section that contains one)
    const holder = cap.closest("[id]");
    const text = norm(cap.textContent);
    if (holder && !/^(SECTION|ARTICLE|MAIN|BODY)$/.test(holder.tagName) && /\d/.test(text)
        && !(holder.id in out.numbers)) out.numbers[holder.id] = text;
  }
  return out;
}
"""


# ---------------------------------------------------------------------------
# Checks: each returns a list of problem strings
# ---------------------------------------------------------------------------


@dataclass
class PageEvents:
    """What the browser reported while the page loaded."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    bad_responses: list[str] = field(default_factory=list)
    external_requests: list[str] = field(default_factory=list)
    closing: bool = False  # set before the tab is closed: requests it aborts are not the page's fault


def console_problems(events: PageEvents) -> list[str]:
    problems = [f"console error: {m}" for m in events.console_errors]
    problems += [f"uncaught JavaScript error: {m}" for m in events.page_errors]
    problems += [f"request failed: {m}" for m in events.failed_requests]
    problems += [f"HTTP error: {m}" for m in events.bad_responses]
    problems += [f"request to another host (the site must work offline): {m}" for m in events.external_requests]
    return problems


def math_problems(data: dict) -> list[str]:
    problems = []
    if data["mathElements"] and not data["hasMathJax"]:
        problems.append(f"{data['mathElements']} math elements but MathJax is not loaded")
    if data["hasMathJax"] and data["mathjaxStatus"] != "done":
        problems.append(f"MathJax did not finish: {data['mathjaxStatus']}")
    problems += [f"formula not typeset by MathJax: {tex!r}" for tex in data["untypeset"]]
    if data["containers"] != data["mathElements"]:
        problems.append(
            f"MathJax typeset {data['containers']} formulas, but Sphinx emitted {data['mathElements']} math elements"
        )
    problems += [f"MathJax error: {msg!r}" for msg in data["mathErrors"]]
    problems += [f"undefined TeX macro: {msg!r}" for msg in data["undefinedMacros"]]
    problems += [f"raw TeX left in the text: {snippet!r}" for snippet in data["rawTex"]]
    return problems


def image_problems(data: dict) -> list[str]:
    return [
        f"image did not load: {img['src']!r} ({img['url']})"
        for img in data["images"]
        if not (img["complete"] and img["naturalWidth"] > 0)
    ]


class _IdCollector(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is not None and (name == "id" or (tag == "a" and name == "name")):
                self.ids.add(value)


@functools.cache
def _ids_in(path: Path, mtime_ns: int) -> frozenset[str]:
    collector = _IdCollector()
    collector.feed(path.read_text(encoding="utf-8", errors="replace"))
    return frozenset(collector.ids)


def ids_in(path: Path) -> frozenset[str]:
    """Every id (and <a name>) in an HTML file on disk."""
    return _ids_in(path, path.stat().st_mtime_ns)


def local_target(url: str, root: Path, base_url: str) -> tuple[Path, str] | None:
    """(file under root, fragment) for a URL on the local server, else None."""
    if not url.startswith(base_url):
        return None
    parts = urlsplit(url)
    rel = unquote(parts.path).lstrip("/")
    path = root / rel
    if rel == "" or rel.endswith("/"):
        path = path / "index.html"
    return path, unquote(parts.fragment)


def link_problems(data: dict, root: Path, base_url: str) -> list[str]:
    problems = []
    for link in data["links"]:
        url = link["url"]
        scheme = urlsplit(url).scheme
        if scheme not in {"http", "https", "file"}:
            continue  # mailto:, javascript:, data:
        if scheme == "file":
            problems.append(f"link to a local file outside the site: {link['href']!r}")
            continue
        target = local_target(url, root, base_url)
        if target is None:
            continue  # external: not checked (no network)
        path, fragment = target
        if link["samePage"]:
            if not link["found"]:
                problems.append(f"link to a missing anchor on this page: {link['href']!r} ({link['text'][:60]!r})")
            continue
        if not path.is_file():
            problems.append(f"link to a missing page: {link['href']!r} ({link['text'][:60]!r})")
            continue
        if fragment and path.suffix == ".html" and fragment not in ids_in(path):
            problems.append(
                f"link to a missing anchor: {link['href']!r} ({link['text'][:60]!r}): "
                f"{path.relative_to(root).as_posix()} has no id {fragment!r}"
            )
    problems += [f"unresolved cross-reference: {text!r}" for text in data["unresolvedXrefs"]]
    return problems


def numbering_problems(data: dict) -> list[str]:
    problems = []
    for el in data["labelled"]:
        ident = el["id"]
        statement = PAPER_STATEMENT.match(ident)
        equation = PAPER_EQUATION.match(ident)
        if statement:
            kind, number = statement.groups()
            expected = f"{KIND_WORDS[kind]} {number}"
            if not ({"proof", "admonition", KIND_CLASSES[kind]} <= set(el["classes"])):
                problems.append(
                    f"{ident} is not a sphinx-proof {KIND_CLASSES[kind]} (it is <{el['tag']} class="
                    f"{' '.join(el['classes'])!r}>)"
                )
            elif (el["caption"] or "") != expected:
                problems.append(f"{ident} is shown as {el['title']!r}, expected {expected!r} (the paper's number)")
        elif equation:
            expected = f"({equation.group(1)})"
            if el["eqno"] != expected:
                problems.append(f"equation {ident} is numbered {el['eqno']!r}, expected {expected!r} (the paper's)")
        elif ident.startswith("equation-") and el["eqno"] is not None:
            inner = el["eqno"].strip("()")
            if not BOOK_NUMBER.match(inner):
                problems.append(f"equation {ident} (the book's own) is numbered {el['eqno']!r}, expected '(B.k)'")
    tracked = set(KIND_CLASSES.values())
    for st in data["statements"]:
        kinds = tracked & set(st["classes"])
        if not kinds or PAPER_STATEMENT.match(st["id"] or "") or not st["caption"]:
            continue
        _, _, number = st["caption"].partition(" ")
        if number and not BOOK_NUMBER.match(number):
            problems.append(
                f"{st['id'] or 'a statement'} (the book's own {kinds.pop()}) is shown as {st['caption']!r}, "
                "expected 'B.k'; give it a paper-* label if it is the paper's"
            )
    return problems


NUMBER_IN_TEXT = re.compile(r"\d")


def xref_number_problems(data: dict, page_url: str, numbers_by_url: dict[str, dict[str, str]]) -> list[str]:
    """A link to a numbered element that shows a number must show the target's number.

    ``numbers_by_url`` maps a page URL (no fragment) to the numbers shown on that page
    (id -> "Definition 2", "(5)", "Exercise 8"); pages not in it are not checked.
    """
    problems = []
    for link in data["links"]:
        url, _, fragment = link["url"].partition("#")
        numbers = numbers_by_url.get(url)
        fragment = unquote(fragment)
        if not fragment or numbers is None or fragment not in numbers:
            continue
        expected, text = numbers[fragment], link["text"]
        shown = re.search(rf"(?<![\w.]){re.escape(expected)}(?!\.?\d)", text)
        if NUMBER_IN_TEXT.search(text) and not shown:
            where = "" if url == page_url else f" on {url.rsplit('/', 1)[-1]}"
            problems.append(f"reference {text!r} to {fragment!r}{where} should show {expected!r}")
    return problems


# ---------------------------------------------------------------------------
# Loading pages
# ---------------------------------------------------------------------------

_REFRESH = re.compile(r"""<meta\s+http-equiv=["']refresh["']\s+content=["']\d+\s*;\s*url=([^"']+)["']""", re.IGNORECASE)


def redirect_target(path: Path) -> str | None:
    """The URL of a <meta http-equiv="refresh"> page (Jupyter Book's index.html), else None."""
    match = _REFRESH.search(path.read_text(encoding="utf-8", errors="replace")[:2000])
    return match.group(1).strip() if match else None


def _theme_script(mode: str | None) -> str:
    if mode is None:  # a first-time reader: no stored theme choice
        return "try { localStorage.clear(); sessionStorage.clear(); } catch (e) {}"
    return f'try {{ localStorage.setItem("mode", "{mode}"); localStorage.setItem("theme", "{mode}"); }} catch (e) {{}}'


@dataclass
class LoadedPage:
    page: str  # relative path of the file asked for
    url: str  # the URL it ended on (after a redirect)
    events: PageEvents
    data: dict
    handle: object = None  # the Playwright page, while open


def open_page(context, base_url: str, root: Path, page: str, *, mode: str | None = None) -> LoadedPage:
    """Start loading one page in a new tab (returns at once; ``finish_page`` waits for it).

    ``mode`` None: a first-time reader (empty storage); "light"/"dark": the stored choice."""
    events = PageEvents()
    tab = context.new_page()
    tab.add_init_script(_theme_script(mode))

    def on_console(msg):
        if msg.type == "error":
            loc = msg.location or {}
            if loc.get("url") == base_url + "favicon.ico":
                # Chromium asks for /favicon.ico by itself when a page names no icon; the page did
                # not request it (Playwright reports no request for it), only this console line shows
                return
            where = (
                f" ({loc.get('url', '').replace(base_url, '')}:{loc.get('lineNumber', '?')})" if loc.get("url") else ""
            )
            events.console_errors.append(f"{msg.text}{where}")

    def on_request(request):
        url = request.url
        if not url.startswith(base_url) and urlsplit(url).scheme in {"http", "https", "ws", "wss"}:
            events.external_requests.append(url)

    def on_request_failed(request):
        if request.url.startswith(base_url) and not events.closing:
            events.failed_requests.append(f"{request.url.replace(base_url, '')} ({request.failure})")

    def on_response(response):
        if response.url.startswith(base_url) and response.status >= 400:
            events.bad_responses.append(f"{response.status} for {response.url.replace(base_url, '')}")

    tab.on("console", on_console)
    tab.on("pageerror", lambda err: events.page_errors.append(str(err)))
    tab.on("request", on_request)
    tab.on("requestfailed", on_request_failed)
    tab.on("response", on_response)
    url = base_url + page
    tab.goto(url, wait_until="commit")
    return LoadedPage(page=page, url=url, events=events, data={}, handle=tab)


def finish_page(loaded: LoadedPage, root: Path, *, settle: bool = True) -> LoadedPage:
    """Wait for the page (and its redirect), MathJax and images; collect what the checks need.

    The tab stays open (``loaded.handle``); close it with ``loaded.handle.close()``."""
    tab = loaded.handle
    tab.wait_for_load_state("load")
    target = redirect_target(root / loaded.page)
    if target is not None:
        landing = urljoin(loaded.url, target).split("#")[0]
        tab.wait_for_url(landing + "*", wait_until="load")
    loaded.data = tab.evaluate(COLLECT_JS, {"mathTimeout": MATH_TIMEOUT_MS, "imageTimeout": IMAGE_TIMEOUT_MS})
    if settle:
        tab.wait_for_timeout(SETTLE_MS)  # let late errors (timers, lazy MathJax components) arrive
    loaded.url = tab.url.split("#")[0]
    return loaded


# ---------------------------------------------------------------------------
# Dark mode: the page really turns dark, and figures stay legible on it
# ---------------------------------------------------------------------------

SET_THEME_JS = r"""
(mode) => {
  // what pydata-sphinx-theme's theme button does (its setMode is not exported)
  try { localStorage.setItem("mode", mode); localStorage.setItem("theme", mode); } catch (e) {}
  const html = document.documentElement;
  html.dataset.mode = mode;
  html.dataset.theme = mode;
  document.querySelectorAll(".dropdown-menu").forEach((e) => e.classList.toggle("dropdown-menu-dark", mode === "dark"));
  void getComputedStyle(document.body).backgroundColor;  // restyle now (no frame needed: tabs may be hidden)
  for (const a of document.getAnimations()) { try { a.finish(); } catch (e) {} }  // end colour transitions
}
"""

THEME_JS = r"""
() => {
  const rgb = (s) => (s.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255;
  let bg = getComputedStyle(document.body).backgroundColor;
  if (rgb(bg).length === 4 && rgb(bg)[3] === 0) bg = getComputedStyle(document.documentElement).backgroundColor;
  return {theme: document.documentElement.dataset.theme, mode: document.documentElement.dataset.mode,
          background: bg, luminance: lum(rgb(bg))};
}
"""

FIGURES_JS = r"""
() => Array.from(document.querySelectorAll("main img, article img")).filter(
    (img) => /\/_images\//.test(img.src) && img.naturalWidth > 0).map((img) => {
  // sample the picture itself: transparent pixels would show the dark page through
  const w = Math.min(img.naturalWidth, 600), h = Math.max(1, Math.round(img.naturalHeight * w / img.naturalWidth));
  const canvas = document.createElement("canvas");
  canvas.width = w; canvas.height = h;
  const ctx = canvas.getContext("2d");
  ctx.drawImage(img, 0, 0, w, h);
  const px = ctx.getImageData(0, 0, w, h).data;
  let opaque = 0, border = 0, nBorder = 0;
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
    const i = 4 * (y * w + x);
    if (px[i + 3] >= 250) opaque++;
    if (x < 3 || y < 3 || x >= w - 3 || y >= h - 3) {  // the figure's background, at its edges
      border += (0.2126 * px[i] + 0.7152 * px[i + 1] + 0.0722 * px[i + 2]) / 255 * (px[i + 3] / 255);
      nBorder++;
    }
  }
  return {src: img.getAttribute("src"), filter: getComputedStyle(img).filter,
          opaque: opaque / (w * h), border: border / nBorder};
})
"""


def set_theme(tab, mode: str) -> dict:
    """Switch an open page to ``mode`` the way the theme button does; returns its theme and figures."""
    tab.evaluate(SET_THEME_JS, mode)
    return {"theme": tab.evaluate(THEME_JS), "figures": tab.evaluate(FIGURES_JS)}


def theme_problems(theme: dict, mode: str) -> list[str]:
    problems = []
    if theme["theme"] != mode:
        problems.append(f"{mode} mode not applied: <html data-theme={theme['theme']!r}>")
    if (mode == "dark") != (theme["luminance"] < 0.25):
        problems.append(
            f"{mode} mode, but the page background is {theme['background']} (luminance {theme['luminance']:.2f})"
        )
    return problems


def figure_problems(figures: list[dict]) -> list[str]:
    """Figures must be opaque with a light background, so they stay legible on a dark page."""
    problems = []
    for fig in figures:
        if fig["opaque"] < 0.99:
            problems.append(
                f"figure {fig['src']!r} is {100 * (1 - fig['opaque']):.0f}% transparent (illegible on a dark page)"
            )
        elif fig["border"] < 0.8:
            problems.append(f"figure {fig['src']!r} has a dark background (edge luminance {fig['border']:.2f})")
        if "invert" in fig["filter"]:
            problems.append(f"figure {fig['src']!r} is colour-inverted by CSS ({fig['filter']})")
    return problems


def dark_mode_problems(data: dict) -> list[str]:
    dark = data["dark"]
    return [f"dark mode: {p}" for p in theme_problems(dark["theme"], "dark") + figure_problems(dark["figures"])]


# ---------------------------------------------------------------------------
# The whole site
# ---------------------------------------------------------------------------


def page_problems(loaded: LoadedPage, root: Path, base_url: str) -> list[str]:
    """Checks (a)-(e) and dark mode on one loaded page (references to other pages: ``check_site``)."""
    return (
        console_problems(loaded.events)
        + math_problems(loaded.data)
        + image_problems(loaded.data)
        + link_problems(loaded.data, root, base_url)
        + numbering_problems(loaded.data)
        + (dark_mode_problems(loaded.data) if "dark" in loaded.data else [])
    )


def check_site(context, root: Path, base_url: str, pages: list[str] | None = None) -> dict[str, list[str]]:
    """Every check on every page; returns {page: [problems]} (an empty list for a clean page).

    Each page is opened as by a first-time reader (no stored theme), checked, then switched
    to dark mode in place and checked again (background, figures)."""
    root = Path(root)
    pages = site_pages(root) if pages is None else pages
    loaded = []
    for i in range(0, len(pages), TABS):  # a few tabs at a time: loading overlaps with checking
        batch = [open_page(context, base_url, root, page) for page in pages[i : i + TABS]]
        for lp in batch:
            finish_page(lp, root, settle=False)
        batch[-1].handle.wait_for_timeout(SETTLE_MS)  # late errors (timers, lazy MathJax parts), all tabs at once
        for lp in batch:
            lp.data["dark"] = set_theme(lp.handle, "dark")
            lp.events.closing = True
            lp.handle.close()
            lp.handle = None
        loaded += batch
    numbers_by_url = {lp.url: lp.data["numbers"] for lp in loaded}
    report = {}
    for lp in loaded:
        name = lp.page if lp.url == base_url + lp.page else f"{lp.page} (-> {lp.url.replace(base_url, '')})"
        report[name] = page_problems(lp, root, base_url) + xref_number_problems(lp.data, lp.url, numbers_by_url)
    return report


def format_report(report: dict[str, list[str]]) -> str:
    lines = []
    for page, problems in report.items():
        if problems:
            lines.append(f"{page}: {len(problems)} problem(s)")
            lines += [f"    - {p}" for p in problems]
    return "\n".join(lines)


def screenshots(context, base_url: str, root: Path, page: str, stem: Path) -> tuple[LoadedPage, list[str]]:
    """Full-page screenshots ``{stem}-light.png`` and ``{stem}-dark.png`` of ``page``.

    The page is loaded in light mode, photographed, switched to dark mode in place (as the
    theme button does) and photographed again. Returns the loaded page (``data["light"]``,
    ``data["dark"]``: theme and figures) and the theme and figure problems of both modes."""
    loaded = finish_page(open_page(context, base_url, root, page, mode="light"), root, settle=False)
    tab = loaded.handle
    problems = []
    stem.parent.mkdir(parents=True, exist_ok=True)
    try:
        for mode in ("light", "dark"):
            state = set_theme(tab, mode)
            loaded.data[mode] = state
            problems += [f"{mode} mode: {p}" for p in theme_problems(state["theme"], mode)]
            if mode == "dark":
                problems += [f"dark mode: {p}" for p in figure_problems(state["figures"])]
            tab.screenshot(path=f"{stem}-{mode}.png", full_page=True, animations="disabled")
    finally:
        loaded.events.closing = True
        tab.close()
        loaded.handle = None
    return loaded, problems


SCREENSHOT_PAGES = {
    "landing": "index.html",
    "directed_information": "chapters/02_preliminaries/directed_information.html",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", nargs="?", default="_build/html", type=Path, help="the built HTML folder")
    parser.add_argument("--screenshots", type=Path, help="also write light/dark screenshots into this folder")
    args = parser.parse_args(argv)
    chromium = find_chromium()
    if chromium is None:
        print(SKIP_MESSAGE, file=sys.stderr)
        return 2
    root = args.site.resolve()
    with serve(root) as base_url, open_browser(chromium) as context:
        report = check_site(context, root, base_url)
        if args.screenshots:
            for name, page in SCREENSHOT_PAGES.items():
                _, problems = screenshots(context, base_url, root, page, args.screenshots / name)
                report[f"{page} (screenshots)"] = problems
    text = format_report(report)
    print(text or f"{len(report)} pages, no problems")
    return 1 if text else 0


if __name__ == "__main__":
    sys.exit(main())
