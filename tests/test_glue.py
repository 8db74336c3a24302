"""Numbers from the code: the rule that keeps the prose true at every scale.

**The rule.** A number in a chapter's prose that *looks computed* -- a decimal (``0.53``), a
percentage (``8 %``), a number with grouped thousands (``1,700``) or in scientific notation
(``3.9e-11``, ``2 \\times 10^{-3}``) -- must be one of

* pasted from the cell that computes it: ``{glue:text}`key:.2f``` with ``semlib.report.glue``
  (or ``myst_nb.glue``) called on ``"key"`` in a code cell of the same notebook;
* a parameter of the page: the same literal appears in one of the notebook's code cells
  (``alpha = 0.05`` lets the text say "at level 0.05"), so text and code change together;
* declared fixed in the notebook's metadata, ``metadata["semlib"]["fixed_numbers"]``, a mapping
  from the literal as written to why it cannot drift ("closed form: 1/ln 2", "the paper's
  value", "a property of the fixed toy source, exact at every scale").

The paper's own statements (``prf`` blocks labelled ``paper-...``), code, inline code, roles'
targets, labels, links and directive options are not prose.

A MyST Markdown page of the book that quotes computed numbers (``MARKDOWN_PAGES``: the errata)
has no code of its own, so it has no parameters either: it pastes each number from the notebook
that computes it with MyST-NB's cross-document role, ``{glue:text}`/chapters/<part>/<stem>.ipynb::key:.3f```
(``key`` glued in a code cell of that notebook), and declares its fixed numbers in a front-matter
block, ``semlib: fixed_numbers: {"0.5": "why it cannot drift"}``. Integers without grouping are not
checked (they are mostly counts, indices and equation numbers); this is the rule's known gap,
and the reason a computed count ("8 of 8 runs") is glued by convention as well.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest
import yaml
from book_toc import toc_files

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_notation import without_quotes  # the paper's verbatim statements are not our prose

#: Numbers that look computed, in prose or inline math.
NUMBER = re.compile(
    r"(?<![\w.\\{])(?:"
    r"\d+(?:\.\d+)?\s*(?:\\?%)"  # percentages: 8 %, 0.7\%
    r"|\d+(?:\.\d+)?(?:[eE][-+−]?\d+)"  # 3.9e-11
    r"|\d+(?:\.\d+)?\s*(?:\\times|×|\\cdot)\s*10\^\{?[-−]?\d+\}?"  # 2 \times 10^{-3}
    r"|\d{1,3}(?:(?:,|\{,\}|\\,)\d{3})+(?:\.\d+)?"  # 1,700  1{,}700  1\,700
    r"|\d*\.\d+"  # 0.53, .5
    r")(?![\w])"
)
#: What is not prose: code, roles' targets, labels, links, directive options, comments, URLs.
NOT_PROSE = re.compile(
    r"<!--.*?-->"
    r"|\{[\w:-]+\}`[^`]*`"  # roles: {eq}`...`, {glue:text}`...`
    r"|`[^`\n]*`"  # inline code
    r"|^\([\w:-]+\)=\s*$"  # labels
    r"|^:[\w-]+:[^\n]*$"  # directive options
    r"|\]\([^)]*\)"  # link targets
    r"|https?://\S+",
    re.DOTALL | re.MULTILINE,
)
GLUE_CALL = re.compile(r"""\bglue\(\s*(?:f?["'])([\w-]+)["']""")
GLUE_ROLE = re.compile(r"\{glue(?::\w+)?\}`(?:[^`:]*::)?([\w-]+)[^`]*`")
#: A pasted glue key with the notebook it comes from: ``(path or "", key)``.
GLUE_SOURCE = re.compile(r"\{glue(?::\w+)?\}`(?:([^`:]*)::)?([\w-]+)[^`]*`")
#: MyST Markdown pages that quote computed numbers, pasted from the notebooks that compute them.
MARKDOWN_PAGES = ("chapters/appendices/errata.md",)
_FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.DOTALL)


def chapters() -> list[Path]:
    return [ROOT / f"{f}.ipynb" for f in toc_files() if (ROOT / f"{f}.ipynb").is_file()]


def pages() -> list[Path]:
    """The chapter notebooks and the Markdown pages that quote computed numbers."""
    return chapters() + [ROOT / p for p in MARKDOWN_PAGES]


def page_id(path: Path) -> str:
    return path.stem if path.suffix == ".ipynb" else path.relative_to(ROOT).as_posix()


def front_matter(text: str) -> dict:
    """The YAML front matter of a MyST Markdown page (empty when it has none)."""
    m = _FRONT_MATTER.match(text)
    return (yaml.safe_load(m.group(1)) or {}) if m else {}


def read_page(path: Path) -> nbformat.NotebookNode:
    """``path`` as a notebook; a Markdown page is one markdown cell, its front matter the metadata."""
    if path.suffix == ".ipynb":
        return nbformat.read(path, as_version=4)
    text = path.read_text()
    nb = nbformat.v4.new_notebook()
    nb.metadata.update(front_matter(text))
    nb.cells = [nbformat.v4.new_markdown_cell(_FRONT_MATTER.sub("", text, count=1))]
    return nb


def glued_keys(nb: nbformat.NotebookNode) -> set[str]:
    return {k for c in nb.cells if c.cell_type == "code" for k in GLUE_CALL.findall(c.source)}


_FENCE = re.compile(r"^ {0,3}(?P<fence>`{3,}|:{3,})(?P<info>[^\n]*)$")


def without_code_fences(text: str) -> str:
    """``text`` without fenced code blocks; directives (```` ```{name} ````) keep their content."""
    out: list[str] = []
    code: str | None = None  # the fence that opened the code block we are in
    for line in text.split("\n"):
        m = _FENCE.match(line)
        if code is not None:
            if m and m["fence"][0] == code[0] and len(m["fence"]) >= len(code) and not m["info"].strip():
                code = None
            continue
        if m and m["fence"][0] == "`" and not m["info"].strip().startswith("{") and m["info"].strip():
            code = m["fence"]  # ```python: code up to the closing fence
            continue
        out.append(line)
    return "\n".join(out)


def prose(nb: nbformat.NotebookNode) -> str:
    """The markdown of ``nb`` that is the book's own prose (see the module docstring)."""
    text = "\n\n".join(without_code_fences(c.source) for c in nb.cells if c.cell_type == "markdown")
    return NOT_PROSE.sub(" ", without_quotes(spaced(text)))


def spaced(text: str) -> str:
    """A space between a LaTeX command and a digit: ``\\approx0.88`` is ``\\approx 0.88``."""
    return re.sub(r"(\\[A-Za-z]+)(?=\d)", r"\1 ", text)


def code_literals(nb: nbformat.NotebookNode) -> set[str]:
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    return set(re.findall(r"(?<![\w.])\d[\d_]*(?:\.\d+)?(?:e[-+]?\d+)?", code))


def normalise(literal: str) -> str:
    return re.sub(r"\{,\}|\\,|,", "", literal).replace("−", "-")


def unbound_numbers(nb: nbformat.NotebookNode) -> list[str]:
    """The numbers of ``nb``'s prose that break the rule."""
    fixed = {spaced(k) for k in nb.metadata.get("semlib", {}).get("fixed_numbers", {})}
    params = {normalise(x).replace("_", "") for x in code_literals(nb)}
    bad = []
    for match in NUMBER.finditer(prose(nb)):
        literal = match.group(0).strip()
        if literal in fixed:
            continue
        if "%" not in literal and normalise(literal) in params:
            continue
        bad.append(literal)
    return bad


def test_the_rule_flags_what_it_should():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("alpha = 0.05\nglue('gap', gap)"),
        nbformat.v4.new_markdown_cell(
            "At level 0.05 the gap is {glue:text}`gap:.2f`, some 1,700 bits (3.9e-11), "
            "about 8 % and $\\hat R = 0.531$, $\\approx0.88$; Eq. 12 and `x = 0.25` are not numbers.\n\n"
            "```{prf:theorem}\n:label: paper-thm-1\n\nThe paper's 0.99.\n```\n\n"
            "```python\nx = 0.77\n```\n\n```{note}\nInside a directive 2.5 counts.\n```\n\nAfter it, 0.125 too."
        ),
    ]
    nb.metadata["semlib"] = {"fixed_numbers": {"3.9e-11": "binomial tail of the fixed record"}}
    assert unbound_numbers(nb) == ["1,700", "8 %", "0.531", "0.88", "2.5", "0.125"]


@pytest.mark.parametrize("path", pages(), ids=page_id)
def test_prose_numbers_come_from_the_code(path):
    nb = read_page(path)
    bad = unbound_numbers(nb)
    assert not bad, (
        f"{len(bad)} numbers in the prose look computed but are neither glued, parameters in the "
        f"code, nor declared in metadata semlib.fixed_numbers (see tests/test_glue.py): {bad}"
    )


@pytest.mark.parametrize("path", pages(), ids=page_id)
def test_fixed_numbers_have_reasons_and_are_used(path):
    nb = read_page(path)
    fixed = nb.metadata.get("semlib", {}).get("fixed_numbers", {})
    text = prose(nb)
    for literal, why in fixed.items():
        assert isinstance(why, str) and len(why.split()) >= 2, f"{literal!r}: say why it cannot drift"
        assert spaced(literal) in text, f"{literal!r} is declared fixed but the prose no longer quotes it"


@pytest.mark.parametrize("path", pages(), ids=page_id)
def test_every_pasted_key_is_glued_on_its_page(path):
    nb = read_page(path)
    pasted = {src for c in nb.cells if c.cell_type == "markdown" for src in GLUE_SOURCE.findall(c.source)}
    missing = []
    for source, key in sorted(pasted):
        if not source and path.suffix != ".ipynb":
            missing.append(f"{key} (a Markdown page pastes as {{glue:text}}`/chapters/.../<stem>.ipynb::key`)")
            continue
        home = ROOT / source.lstrip("/") if source else path
        if not home.is_file():
            missing.append(f"{source}::{key} (no such notebook)")
        elif key not in glued_keys(read_page(home)):
            missing.append(f"{source}::{key}" if source else key)
    assert not missing, f"pasted but never glued in a code cell of the notebook named: {missing}"


def test_markdown_pages_read_their_front_matter():
    text = '---\nsemlib:\n  fixed_numbers:\n    "0.5": "the paper\'s value"\n---\n# T\n\nAt 0.5 and 0.25.\n'
    nb = nbformat.v4.new_notebook()
    nb.metadata.update(front_matter(text))
    nb.cells = [nbformat.v4.new_markdown_cell(_FRONT_MATTER.sub("", text, count=1))]
    assert unbound_numbers(nb) == ["0.25"]
    assert front_matter("# no front matter\n") == {}
