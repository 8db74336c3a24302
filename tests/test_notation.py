"""One notation: the spellings chapters/appendices/notation.md fixes, and no variants.

The book writes the Kullback-Leibler divergence ``\\KL(P \\,\\Vert\\, Q)`` (a MathJax/LaTeX macro of
``_config.yml``). The paper writes ``D_{KL}``; quoting the paper verbatim keeps its spelling, so
the paper's own statements (``prf`` blocks labelled ``paper-...``) and the errata page's
``**Paper.**`` paragraphs are exempt, as is the notation appendix, which names the paper's
spelling. Everything else must use the macro.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Spellings of the KL divergence the book does not use, with what to write instead.
FORBIDDEN = {
    r"D_\{\\?(?:mathrm\{)?KL\}?\}": r"\KL",
    r"D_\{\\text\{KL\}\}": r"\KL",
    r"\\mathrm\{KL\}": r"\KL",
    r"(?<![A-Za-z\\])D\((?:[^()$]|\([^()$]*\))*\\\|": r"\KL(P \,\Vert\, Q)",
}
#: Other symbols the notation appendix spells differently from the paper (the paper's T_i is
#: the book's \mathcal T_i: T is already the final time and a transport plan).
RENAMED = {r"(?<!\\mathcal )(?<![\\\w])T_i(?!\w)": r"\mathcal T_i"}
_QUOTES = re.compile(
    r"(```+|:::+)\{prf:[a-z]+\}[^\n]*\n(?::[a-z]+:[^\n]*\n)*?:label: paper-.*?\n\1(?!\S)"
    r"|\*\*Paper\.\*\*.*?(?=\n\n|\Z)",
    re.DOTALL,
)


def pages() -> list[Path]:
    found = sorted((ROOT / "chapters").rglob("*.ipynb")) + sorted((ROOT / "chapters").rglob("*.md"))
    return [p for p in found if "_build" not in p.parts and p.name != "notation.md" and "api" not in p.parts]


def prose(path: Path) -> str:
    if path.suffix == ".ipynb":
        cells = nbformat.read(path, as_version=4).cells
        return "\n\n".join(c.source for c in cells if c.cell_type == "markdown")
    return path.read_text()


def without_quotes(text: str) -> str:
    return _QUOTES.sub("", text)


def test_the_quote_filter_keeps_the_book_and_drops_the_paper():
    text = (
        "We write $D_{KL}$ here.\n\n```{prf:definition}\n:label: paper-def-9\n\n$D_{KL}$ quoted\n```\n\n"
        "**Paper.** Eq. (1): $D_{KL}$.\n\nAnd $D_{KL}$ again."
    )
    assert without_quotes(text).count("D_{KL}") == 2


@pytest.mark.parametrize("path", pages(), ids=lambda p: str(p.relative_to(ROOT / "chapters")))
def test_one_spelling_of_the_kl_divergence(path):
    text = without_quotes(prose(path))
    bad = {fix: re.findall(rx, text)[:3] for rx, fix in FORBIDDEN.items() if re.search(rx, text)}
    assert not bad, f"write the KL divergence as \\KL(P \\,\\Vert\\, Q) (notation appendix): found {bad}"


@pytest.mark.parametrize("path", pages(), ids=lambda p: str(p.relative_to(ROOT / "chapters")))
def test_symbols_the_book_renames(path):
    text = without_quotes(prose(path))
    bad = {fix: re.findall(rx, text)[:3] for rx, fix in RENAMED.items() if re.search(rx, text)}
    assert not bad, f"use the notation appendix's spelling: {bad}"
