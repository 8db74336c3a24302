"""Instructor material stays private: no public build holds it, the instructor edition does.

Instructor material lives outside ``chapters/``: the exam bank under ``course/instructor/``
(every file carries the marker ``INSTRUCTOR-ONLY`` in a comment, each exam solution a visible
key ``EXB-Pn-Qm``) and the problem sets' sources under ``course/problem_sets/`` (nbgrader
notebooks whose reference solutions and hidden tests sit between ``### BEGIN SOLUTION`` /
``### BEGIN HIDDEN TESTS`` delimiters, ``tools/grade.py``).

(a) Public builds hold none of it. The checks look for the marker, the keys, nbgrader's
delimiters (in notebooks), and the secret text itself as "shingles", runs of ten consecutive
words: every run of an exam solution's prose outside its math, and every distinctive run of a
reference solution or hidden test that the problem texts do not show anyway. None may appear in

* the student notebooks (``make student``; rebuilt here into a temporary folder, a few seconds),
  and the student problem sets (``_build/problem_sets/student``) when built;
* the book's site (``make book``: ``_build/html``) and the course site (``make book-course``:
  ``_build/course/_build/html``), every file of the build: pages, copied sources, search index.
  The sites take minutes to build, so this scan never builds one: it scans what
  ``tests/test_site.py`` (or ``make``) built and skips, saying so, when nothing is built;
* a small course site built here (six seconds): the preface, one chapter and the course pages,
  with the course site's configuration (``tools/course_config.py``, the one ``make book-course``
  uses): the chapter's exercise solutions, which the book's site shows, must be gone too (every
  ten-word run of them that the rest of the page does not also hold), and no page source copied;

and ``_config.yml``'s ``exclude_patterns`` must exclude every instructor file (Sphinx's own
matcher decides), while ``_toc.yml`` names none. A doctored site with a planted exam solution
sentence, a planted marker and a pasted hidden test shows that the scan finds each.

(b) The instructor edition (``tools/instructor_edition.py``, ``make instructor``) builds, with
one HTML and one Markdown file per part of the bank holding every question's solution, and a
copy of the instructor problem sets when they are built.
"""

from __future__ import annotations

import builtins
import html
import importlib.util
import json
import keyword
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest
import yaml
from book_toc import toc_files

ROOT = Path(__file__).resolve().parents[1]
INSTRUCTOR = ROOT / "course" / "instructor"
PROBLEM_SETS = ROOT / "course" / "problem_sets"
EXAMS = INSTRUCTOR / "exams"
MARKER = "INSTRUCTOR-ONLY"
SHINGLE = 10  # words: long enough that ordinary prose about the same topic does not repeat it
KEY = re.compile(r"EXB-P\d+(?:-Q\d+)?")
PUBLIC_SITES = {
    "the book's site (make book)": ROOT / "_build" / "html",
    "the course site (make book-course)": ROOT / "_build" / "course" / "_build" / "html",
}
# nbgrader's delimiters of a reference solution and of hidden tests in a problem-set source: a
# released (student) notebook never holds them (nbgrader generate_assignment strips them).
NBGRADER_SECRET = ("### BEGIN SOLUTION", "### BEGIN HIDDEN TESTS")
STUDENT_PROBLEM_SETS = ROOT / "_build" / "problem_sets" / "student"
TEXT_SUFFIXES = {".md", ".txt", ".py", ".ipynb", ".html", ".htm", ".js", ".json", ".tex", ".csv", ".yml", ".yaml"}


def _load_tool(name: str):
    path = ROOT / "tools" / f"{name}.py"
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


# --- what is secret --------------------------------------------------------------------------

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]*\$", re.DOTALL)
_CODE = re.compile(r"`[^`\n]*`")


def normalize(text: str) -> str:
    """Lower-case words separated by single spaces: markup, entities, quotes and punctuation gone."""
    text = html.unescape(text).lower().replace("\u2019", "'").replace("'", "")
    return " ".join(re.findall(r"[a-z0-9]+", text))


def shingles(words: list[str], n: int = SHINGLE) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def instructor_files() -> list[Path]:
    """Every file under course/instructor/, and every file under course/problem_sets/ with the marker."""
    found = sorted(p for p in INSTRUCTOR.rglob("*") if p.is_file()) if INSTRUCTOR.is_dir() else []
    if PROBLEM_SETS.is_dir():
        for path in sorted(p for p in PROBLEM_SETS.rglob("*") if p.is_file()):
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
            if MARKER in text or any(delimiter in text for delimiter in NBGRADER_SECRET):
                found.append(path)
    return found


def exam_solutions() -> dict[str, str]:
    """The visible text of every exam solution, by its key (``EXB-P1-Q2``)."""
    solutions = {}
    for path in sorted(EXAMS.glob("part*.md")):
        text = _COMMENT.sub("", path.read_text(encoding="utf-8"))
        for block in re.split(r"^## ", text, flags=re.MULTILINE)[1:]:
            head = re.search(r"^\*\*Solution\*\* \(key (EXB-P\d+-Q\d+)\)\.", block, re.MULTILINE)
            if head:
                solutions[head.group(1)] = block[head.end() :]
    return solutions


_REGION = re.compile(r"### BEGIN (SOLUTION|HIDDEN TESTS)[^\n]*\n(.*?)### END \1", re.DOTALL)


def problem_set_parts() -> dict[str, tuple[list[str], list[str]]]:
    """Per problem-set source (nbgrader format): (its secret texts, the texts its students see).

    Secret: the code between ``### BEGIN SOLUTION`` / ``### END SOLUTION`` and between
    ``### BEGIN HIDDEN TESTS`` / ``### END HIDDEN TESTS``, and whole solution cells without
    delimiters (a written answer); everything else (problem texts, set-up and visible tests) is
    what the student edition shows."""
    parts: dict[str, tuple[list[str], list[str]]] = {}
    if not PROBLEM_SETS.is_dir():
        return parts
    for path in sorted(PROBLEM_SETS.glob("*.ipynb")):
        secret, public = [], []
        for cell in json.loads(path.read_text(encoding="utf-8")).get("cells", []):
            source = "".join(cell.get("source", ""))
            regions = [m.group(2) for m in _REGION.finditer(source)]
            if regions:
                secret += regions
                public.append(_REGION.sub(" ", source))
            elif cell.get("metadata", {}).get("nbgrader", {}).get("solution"):
                secret.append(source)
            else:
                public.append(source)
        parts[path.stem] = (secret, public)
    return parts


_GENERIC = set(keyword.kwlist) | set(dir(builtins)) | {"self", "true", "false", "none", "numpy", "torch", "array"}


def distinctive(shingle: tuple[str, ...]) -> bool:
    """A run of code that says something: three or more words of four letters or more that are
    not Python keywords or builtins (``for j in range k for i in range k`` is not)."""
    return sum(len(w) >= 4 and w not in _GENERIC and not w.isdigit() for w in shingle) >= 3


def shown_to_students() -> set[tuple[str, ...]]:
    """Every 10-word run that students legitimately see in the problem sets (problem texts, set-up
    and visible tests of the sources) or in semlib's source (the API pages show its docstrings)."""
    seen: set[tuple[str, ...]] = set()
    for path in (ROOT / "semlib").rglob("*.py"):
        seen |= shingles(normalize(path.read_text(encoding="utf-8")).split())
    for _, public in problem_set_parts().values():
        for text in public:
            seen |= shingles(normalize(text).split())
    return seen


def secret_shingles() -> dict[tuple[str, ...], str]:
    """Each 10-word run of instructor-only text -> where it comes from.

    Exam solutions: every run of their prose (math and code cut out, a run never spans them), by
    key. Problem sets: the distinctive runs of their reference solutions and hidden tests that
    students do not see anyway (generic code such as a loop header is no evidence of a leak)."""
    secret: dict[tuple[str, ...], str] = {}
    for key, solution in exam_solutions().items():
        for piece in _CODE.split(" ".join(_MATH.split(solution))):
            for shingle in shingles(normalize(piece).split()):
                secret.setdefault(shingle, key)
    shown = shown_to_students()
    for stem, (hidden, _) in problem_set_parts().items():
        for text in hidden:
            for shingle in shingles(normalize(text).split()) - shown:
                if distinctive(shingle):
                    secret.setdefault(shingle, f"{stem} (a reference solution or hidden test)")
    return secret


# --- where to look ------------------------------------------------------------------------------


def _texts(path: Path) -> Iterable[str]:
    """The text of a built file as a reader would meet it: a page without its tags, a notebook's cells."""
    raw = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix == ".ipynb":
        try:
            cells = json.loads(raw).get("cells", [])
        except json.JSONDecodeError:
            yield raw
            return
        for cell in cells:
            source = cell.get("source", "")
            yield "".join(source) if isinstance(source, list) else source
            for output in cell.get("outputs", []):
                yield json.dumps(output)
        yield raw  # the marker may sit in metadata too
    elif path.suffix in (".html", ".htm"):
        yield raw  # comments and attributes included: the marker must not hide there either
        yield re.sub(r"<[^>]+>", " ", re.sub(r"<(script|style)\b.*?</\1>", " ", raw, flags=re.DOTALL | re.IGNORECASE))
    else:
        yield raw


def leaks(folder: Path, secret: dict[tuple[str, ...], str]) -> list[str]:
    """What of the instructor material a folder of built files holds (empty when nothing)."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in TEXT_SUFFIXES):
        rel = path.relative_to(folder)
        for text in _texts(path):
            if MARKER in text:
                found.append(f"{rel}: holds the marker {MARKER}")
            if path.suffix == ".ipynb":
                found += [f"{rel}: holds nbgrader's {d!r}" for d in NBGRADER_SECRET if d in text]
            for key in sorted(set(KEY.findall(text))):
                found.append(f"{rel}: holds the exam key {key}")
            words = normalize(text).split()
            for i in range(len(words) - SHINGLE + 1):
                key = secret.get(tuple(words[i : i + SHINGLE]))
                if key:
                    found.append(f"{rel}: holds the solution text of {key}: {' '.join(words[i : i + SHINGLE])!r}")
                    break
    return sorted(set(found))


@pytest.fixture(scope="module")
def secret() -> dict[tuple[str, ...], str]:
    found = secret_shingles()
    assert len(found) > 500, f"only {len(found)} solution shingles: is the exam bank missing?"
    return found


# --- (a) nothing instructor-only is public ---------------------------------------------------------


def test_every_instructor_file_carries_the_marker():
    files = sorted(p for p in INSTRUCTOR.rglob("*") if p.is_file())
    assert files, f"no instructor material under {INSTRUCTOR}"
    unmarked = [str(p.relative_to(ROOT)) for p in files if MARKER not in p.read_text(encoding="utf-8")]
    assert not unmarked, f"instructor files without the {MARKER} marker: {unmarked}"
    solutions = exam_solutions()
    questions = sum(len(re.findall(r"<!--\s*question ", p.read_text(encoding="utf-8"))) for p in EXAMS.glob("*.md"))
    assert len(solutions) == questions, f"{questions} exam questions but {len(solutions)} keyed solutions"


def test_config_keeps_instructor_material_out_of_every_build():
    from sphinx.util.matching import Matcher

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    patterns = config.get("exclude_patterns", [])
    matcher = Matcher(patterns)

    def excluded(path: Path) -> bool:
        rel = path.relative_to(ROOT)
        return any(matcher(p.as_posix()) for p in [rel, *rel.parents] if p.as_posix() != ".")

    not_excluded = [str(p.relative_to(ROOT)) for p in instructor_files() if not excluded(p)]
    assert not not_excluded, (
        f"_config.yml's exclude_patterns ({patterns}) let these instructor files into the builds "
        f'(add `course/instructor`, `"course/instructor/**"`, `course/problem_sets`, `"course/problem_sets/**"`): {not_excluded}'
    )
    private = {p.relative_to(ROOT).with_suffix("").as_posix() for p in instructor_files()}
    in_toc = [f for f in toc_files() if f in private or f.startswith("course/instructor")]
    assert not in_toc, f"_toc.yml lists instructor pages: {in_toc}"


def test_student_notebooks_hold_no_instructor_material(tmp_path, secret, capsys):
    """``make student``'s output, rebuilt into a temporary folder, holds no exam or solution text."""
    student = _load_tool("student_notebooks")
    student.main(["--out", str(tmp_path)])  # its own failures are tests/test_student_notebooks.py's business
    capsys.readouterr()
    written = list(tmp_path.rglob("*.ipynb"))
    assert written, "make student wrote no notebook"
    found = leaks(tmp_path, secret)
    for extra in (ROOT / "_build" / "student", ROOT / "_build" / "colab", STUDENT_PROBLEM_SETS):
        if extra.is_dir():  # what `make student` / `make colab` left in the build folder, if any
            found += [f"{extra.relative_to(ROOT)}/{leak}" for leak in leaks(extra, secret)]
        # (tools/grade.py --editions writes the student problem sets; its own tests build them)
    assert not found, "the student notebooks hold instructor material:\n" + "\n".join(found)


@pytest.mark.xdist_group("site")  # the worker that builds the site (tests/test_site.py)
@pytest.mark.parametrize("name", list(PUBLIC_SITES))
def test_public_sites_hold_no_instructor_material(name, secret):
    site = PUBLIC_SITES[name]
    if not (site / "index.html").is_file():
        pytest.skip(
            f"{name} is not built ({site.relative_to(ROOT)}/index.html missing): this test scans the "
            "site that tests/test_site.py or make builds and never builds one itself"
        )
    found = leaks(site, secret)
    assert not found, f"{name} holds instructor material:\n" + "\n".join(found[:40])


# --- the course site: a few pages built with its configuration ------------------------------------

COURSE_PAGES = ["chapters/02_preliminaries/directed_information", "chapters/appendices/course_guide", "course/project"]
_SOLUTION_FENCE = re.compile(r"^(`{3,}|:{3,})\{solution\}[^\n]*\n(.*?)^\1\s*$", re.DOTALL | re.MULTILINE)
_EXERCISE_FENCE = re.compile(r"^(`{3,}|:{3,})\{exercise\}[^\n]*\n(.*?)^\1\s*$", re.DOTALL | re.MULTILINE)
_GATED = re.compile(
    r"^`{3,}\{solution-start\}[^\n]*\n(?::[^\n]*\n)*`{3,}\s*$(.*?)^`{3,}\{solution-end\}[^\n]*\n`{3,}",
    re.DOTALL | re.MULTILINE,
)


def chapter_solutions(path: Path) -> tuple[list[str], list[str], list[str]]:
    """A chapter's (solution texts, exercise texts, everything else) from its source notebook.

    Solutions: the body of each ``{solution}`` directive and everything from a ``{solution-start}``
    to its ``{solution-end}`` (sphinx-exercise's gated solutions, which span cells)."""
    text = "\n\n".join("".join(cell["source"]) for cell in json.loads(path.read_text(encoding="utf-8"))["cells"])
    solutions = [m.group(1) for m in _GATED.finditer(text)]
    text = _GATED.sub(" ", text)
    solutions += [m.group(2) for m in _SOLUTION_FENCE.finditer(text)]
    exercises = [m.group(2) for m in _EXERCISE_FENCE.finditer(text)]
    return solutions, exercises, [_EXERCISE_FENCE.sub(" ", _SOLUTION_FENCE.sub(" ", text))]


def _prose_shingles(texts: Iterable[str]) -> set[tuple[str, ...]]:
    found: set[tuple[str, ...]] = set()
    for text in texts:
        for piece in _CODE.split(" ".join(_MATH.split(text))):
            found |= shingles(normalize(piece).split())
    return found


@pytest.fixture(scope="module")
def course_site(tmp_path_factory) -> Path:
    """COURSE_PAGES built with the course site's configuration (tools/course_config.py, the file
    ``make book-course`` uses), from the execution cache; the build's HTML folder."""
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    if not jupyter_book.exists():
        pytest.fail(f"jupyter-book not found next to {sys.executable}: run `make env`", pytrace=False)
    executor = _load_tool("execute_notebooks")
    for page in COURSE_PAGES:
        if (ROOT / f"{page}.ipynb").is_file():
            executor.ensure_executed(ROOT / f"{page}.ipynb")
    out = tmp_path_factory.mktemp("course")
    course = _load_tool("course_config")
    config = course.course_config()
    config["only_build_toc_files"] = True  # read these pages only, not the whole book
    (out / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False, allow_unicode=True), encoding="utf-8")
    toc = {"format": "jb-book", "root": "chapters/preface", "chapters": [{"file": f} for f in COURSE_PAGES]}
    (out / "_toc.yml").write_text(yaml.safe_dump(toc), encoding="utf-8")
    # no --warningiserror: references into pages left out of this small build cannot resolve
    command = [str(jupyter_book), "build", ".", "--config", str(out / "_config.yml"), "--toc", str(out / "_toc.yml")]
    result = subprocess.run(
        [*command, "--path-output", str(out)], cwd=ROOT, capture_output=True, text=True, check=False
    )
    html_dir = out / "_build" / "html"
    if result.returncode != 0 or not (html_dir / "index.html").is_file():
        pytest.fail(f"the course build failed (exit {result.returncode}):\n{(result.stdout + result.stderr)[-3000:]}")
    return html_dir


@pytest.mark.slow
@pytest.mark.xdist_group("site")  # after the site build, whose notebooks it reads from the cache
def test_the_course_site_holds_no_solution(course_site, secret):
    chapter = ROOT / f"{COURSE_PAGES[0]}.ipynb"
    solutions, exercises, rest = chapter_solutions(chapter)
    assert len(solutions) >= 3 and exercises, f"{chapter.name}: {len(solutions)} solutions, {len(exercises)} exercises"
    hidden = _prose_shingles(solutions) - _prose_shingles(rest) - _prose_shingles(exercises)
    assert len(hidden) > 50, f"only {len(hidden)} distinctive solution shingles in {chapter.name}"
    page = course_site / f"{COURSE_PAGES[0]}.html"
    words = normalize(" ".join(list(_texts(page))[1:])).split()
    shown = shingles(words)
    assert _prose_shingles(exercises) & shown, "the course page lacks its exercises: was it built?"
    leaked = hidden & shown
    assert not leaked, f"the course site shows {len(leaked)} solution runs of {chapter.name}, e.g. {sorted(leaked)[:2]}"
    # nothing instructor-only either, anywhere in the build; and no copied sources
    found = leaks(course_site, secret)
    assert not found, "the course site holds instructor material:\n" + "\n".join(found[:40])
    sources = [p for p in course_site.rglob("*") if p.suffix in (".ipynb", ".md") or "_sources" in p.parts]
    assert not sources, f"the course site ships page sources (with their solutions): {sources[:5]}"
    # and the same scan sees the solutions on the book's site, which shows them
    book_page = ROOT / "_build" / "html" / f"{COURSE_PAGES[0]}.html"
    if book_page.is_file():
        book_words = normalize(" ".join(list(_texts(book_page))[1:])).split()
        assert hidden & shingles(book_words), "the scan finds no solution on the book's page either: it proves nothing"


def test_the_scan_finds_a_planted_leak(tmp_path, secret):
    """A doctored site: one page quotes a solution (tags, entities and math inside), one a marker."""
    key, solution = next(iter(exam_solutions().items()))
    prose = max(_MATH.split(solution), key=lambda piece: len(piece.split()))
    words = prose.split()
    quoted = " <em>".join([" ".join(words[: len(words) // 2]), " ".join(words[len(words) // 2 :])])
    page = tmp_path / "site" / "chapters" / "page.html"
    page.parent.mkdir(parents=True)
    page.write_text(f"<html><body><p>{html.escape(quoted).replace('&lt;em&gt;', '<em>')}</em></p></body></html>")
    notebook = tmp_path / "site" / "nb.ipynb"
    notebook.write_text(json.dumps({"cells": [{"cell_type": "code", "source": [f"# {MARKER}\n", "x = 1"]}]}))
    parts = {stem: hidden for stem, (hidden, _) in problem_set_parts().items() if hidden}
    if parts:  # a hidden test pasted into a notebook without nbgrader's delimiters is still found
        stem, hidden = next(iter(parts.items()))
        pasted = tmp_path / "site" / "pasted.ipynb"
        pasted.write_text(json.dumps({"cells": [{"cell_type": "code", "source": max(hidden, key=len)}]}))
    clean = tmp_path / "site" / "clean.html"
    clean.write_text("<html><body><p>Nothing to see here.</p></body></html>")
    found = leaks(tmp_path / "site", secret)
    assert any(f.startswith(f"chapters/page.html: holds the solution text of {key}") for f in found), found
    assert any(f.startswith(f"nb.ipynb: holds the marker {MARKER}") for f in found), found
    assert not any(f.startswith("clean.html") for f in found), found
    if parts:
        assert any(f.startswith(f"pasted.ipynb: holds the solution text of {stem}") for f in found), found


# --- (b) the instructor edition holds all of it --------------------------------------------------


def test_instructor_edition_builds_with_the_solutions(tmp_path):
    edition = _load_tool("instructor_edition")
    problem_sets = tmp_path / "problem_sets_built"
    (problem_sets / "ps1").mkdir(parents=True)
    (problem_sets / "ps1" / "solutions.ipynb").write_text(json.dumps({"cells": [], "metadata": {"note": MARKER}}))
    out = tmp_path / "instructor"
    edition.build(out=out, problem_sets=problem_sets)
    parts = sorted(EXAMS.glob("part*.md"))
    assert len(parts) == 6, f"expected the six parts of the exam bank, found {[p.name for p in parts]}"
    solutions = exam_solutions()
    for part in parts:
        for suffix in (".md", ".html"):
            built = out / "exams" / f"{part.stem}{suffix}"
            assert built.is_file(), f"the instructor edition lacks {built.relative_to(out)}"
            text = built.read_text(encoding="utf-8")
            assert MARKER in text, f"{built.name} lost the {MARKER} marker"
            number = part.stem.removeprefix("part")
            keys = {k for k in solutions if k.startswith(f"EXB-P{number}-")}
            missing = sorted(k for k in keys if k not in text)
            assert not missing, f"{built.name} lacks the solutions {missing}"
            if suffix == ".html":
                assert "\\(" in text and "$" not in re.sub(r"<!--.*?-->", "", text), f"{built.name}: math not rendered"
                # MathJax from the edition itself (offline), never from a CDN
                scripts = re.findall(r'<script[^>]*\bsrc="([^"]+)"', text)
                assert scripts and all("://" not in s and (built.parent / s).is_file() for s in scripts), (
                    f"{built.name} loads scripts it does not ship: {scripts}"
                )
    assert (out / "problem_sets" / "ps1" / "solutions.ipynb").is_file(), "the problem sets were not copied"
    index = (out / "index.html").read_text(encoding="utf-8")
    assert all(f"exams/{p.stem}.html" in index for p in parts) and "problem_sets/ps1/solutions.ipynb" in index
    # The copy of the real problem sets, when their tool has built them: every file keeps its marker.
    real = ROOT / "_build" / "problem_sets" / "instructor"  # tools/grade.py --editions
    if real.is_dir():
        edition.build(out=tmp_path / "real", problem_sets=real)
        copied = [p for p in (tmp_path / "real" / "problem_sets").rglob("*") if p.is_file()]
        texts = [p.read_text(encoding="utf-8", errors="replace") for p in copied]
        assert texts and all(any(m in t for m in (MARKER, *NBGRADER_SECRET)) for t in texts if t.strip()), (
            "a copied instructor problem set holds neither a solution nor the marker"
        )
