"""Turn the book's MyST notebooks into notebooks that plain Jupyter and Colab show correctly.

The chapters are written in MyST Markdown for Jupyter Book: ``{prf:definition}`` blocks,
``{eq}`` and ``{ref}`` roles, ``{cite}`` keys, ``(label)=`` targets, ``:::{admonition}`` boxes,
``{exercise}`` and ``{solution}`` directives, ``{glue:text}`` numbers, and the site's MathJax
macros (``\\KL``, ``\\E``, ``\\R``, ``\\Sph``). Plain Jupyter, JupyterLab without jupyterlab-myst,
and Colab show all of it as raw text. :func:`plain_notebook` rewrites every markdown cell as
CommonMark plus ``$``-math, resolved against the whole book:

=================================  ==================================================
MyST                               plain Markdown
=================================  ==================================================
``{prf:theorem} Title`` + label    **Theorem 2 (Title).** body  (the paper's number)
``{prf:proof}``                    *Proof.* body ∎
``$$ ... $$ (paper-eq-22)``        ``$$ ... \\tag{22} $$``
``{eq}`paper-eq-22```              (22)
``{ref}`text <label>```            *text* (with the chapter's title if elsewhere)
``{ref}`label```                   the section's title
``{prf:ref}`paper-thm-2```         Theorem 2
``{cite}`bai2025forget```          (Bai, 2025)
``{func}`semlib.info.entropy```    ``semlib.info.entropy``
``{glue:text}`key:.3f```           the value, from the executed notebook if given, else ⟨key⟩
``(label)=``                       ``<a id="label"></a>``
``{admonition} Overview``          a block quote headed **Overview**
``{exercise}``, ``{solution}``     **Exercise 3** ... / **Solution.** ...
``\\KL``, ``\\E``, ``\\R``, ``\\Sph``   ``D_{\\mathrm{KL}}``, ``\\mathbb{E}``, ``\\mathbb{R}``, ``\\mathbb{S}``
=================================  ==================================================

Numbers follow ``_ext/paper_numbering.py``: ``paper-*`` labels carry the paper's numbers, the
book's own statements and equations are numbered B.1, B.2, ... in reading order across the book.
:func:`myst_leftovers` lists whatever MyST syntax survives; ``tests/test_plain_markdown.py``
fails if any does in any export. ``tools/student_notebooks.py`` (``make student``) and
``make colab`` write their notebooks through this module.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]

MACROS = {r"\KL": r"D_{\mathrm{KL}}", r"\E": r"\mathbb{E}", r"\R": r"\mathbb{R}", r"\Sph": r"\mathbb{S}"}
_MACRO = re.compile(r"\\(KL|E|R|Sph)(?![A-Za-z])")
PRF_NAMES = {
    "definition": "Definition",
    "theorem": "Theorem",
    "lemma": "Lemma",
    "corollary": "Corollary",
    "remark": "Remark",
    "proposition": "Proposition",
    "example": "Example",
    "proof": "Proof",
}
_PAPER = re.compile(r"^paper-(def|thm|lem|cor|rem|eq)-(\d+)$")
_LABEL_LINE = re.compile(r"^\(([\w:.-]+)\)=[ \t]*$", re.MULTILINE)
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$", re.MULTILINE)
_DISPLAY_EQ = re.compile(r"\$\$(?P<body>(?:(?!\$\$).)*?)\$\$[ \t]*\((?P<label>[\w:.-]+)\)", re.DOTALL)
_ROLE = re.compile(r"\{(?P<name>[\w:-]+)\}`(?P<content>[^`]*)`")
_OPTION = re.compile(r"^:(?P<key>[\w-]+):[ \t]*(?P<value>.*)$")


@dataclass
class Target:
    """What a label points at, and how the plain text names it."""

    text: str  # "Theorem 2", "(22)", "Exercise 3", a section title
    page: str  # the page (toc path without suffix) that holds it
    kind: str  # "statement", "equation", "exercise", "section"


@dataclass
class BookIndex:
    """Every label of the book, with the number or title the site shows for it."""

    targets: dict[str, Target] = field(default_factory=dict)
    titles: dict[str, str] = field(default_factory=dict)  # page -> its title
    citations: dict[str, str] = field(default_factory=dict)  # bib key -> "Bai, 2025"

    @classmethod
    def build(cls, root: Path = ROOT) -> BookIndex:
        import sys

        sys.path.insert(0, str(root / "tests"))
        from book_toc import toc_files

        index = cls(citations=_citations(root / "references.bib"))
        own: dict[str, int] = {}
        for page in toc_files():
            for suffix in (".ipynb", ".md"):
                path = root / f"{page}{suffix}"
                if path.is_file():
                    index._add_page(page, _markdown_of(path), own)
                    break
        return index

    def _add_page(self, page: str, text: str, own: dict[str, int]) -> None:
        from student_notebooks import split_blocks

        for m in _HEADING.finditer(text):
            if len(m.group(1)) == 1 and page not in self.titles:
                self.titles[page] = m.group(2)
        for m in _LABEL_LINE.finditer(text):
            following = _HEADING.search(text, m.end())
            if following and text[m.end() : following.start()].strip() == "":
                self.targets[m.group(1)] = Target(_strip_myst_inline(following.group(2)), page, "section")
        for block in _all_blocks(text, split_blocks):
            name = block.name or ""
            label = _options(block.text).get("label", "")
            if name.startswith("prf:") and name != "prf:proof" and "nonumber" not in _options(block.text):
                kind = PRF_NAMES.get(name[4:], name[4:].title())
                self.targets[label or f"_anon{len(self.targets)}"] = Target(
                    f"{kind} {self._number(label, kind, own)}", page, "statement"
                )
            elif name in ("exercise", "exercise-start"):
                # numbered across the book in reading order, as the site (sphinx-exercise) numbers them
                own["exercise"] = own.get("exercise", 0) + 1
                if label:
                    self.targets[label] = Target(f"Exercise {own['exercise']}", page, "exercise")
        for m in _DISPLAY_EQ.finditer(text):
            label = m.group("label")
            self.targets[label] = Target(f"({self._number(label, 'equation', own)})", page, "equation")

    @staticmethod
    def _number(label: str, kind: str, own: dict[str, int]) -> str:
        match = _PAPER.match(label)
        if match:
            return match.group(2)
        own[kind] = own.get(kind, 0) + 1
        return f"B.{own[kind]}"


def _markdown_of(path: Path) -> str:
    if path.suffix == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        return "\n\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    return path.read_text()


def _all_blocks(text: str, split_blocks):
    """Every directive of ``text``, nested ones included, in reading order."""
    for block in split_blocks(text):
        if block.name is None:
            continue
        yield block
        inner = block.text.split("\n", 1)[1] if "\n" in block.text else ""
        yield from _all_blocks(inner, split_blocks)


def _options(directive_text: str) -> dict[str, str]:
    options = {}
    for line in directive_text.splitlines()[1:]:
        m = _OPTION.match(line)
        if not m:
            break
        options[m["key"]] = m["value"].strip()
    return options


def _citations(bib: Path) -> dict[str, str]:
    """``key -> "Author, year"`` (``"A and B"``, ``"A et al."``) from the book's BibTeX file."""
    from pybtex.database import parse_file

    out = {}
    for key, entry in parse_file(str(bib)).entries.items():
        people = entry.persons.get("author") or entry.persons.get("editor") or []
        names = [" ".join(p.last_names) or " ".join(p.first_names) for p in people]
        names = [re.sub(r"[{}]", "", n) for n in names]
        who = names[0] if len(names) == 1 else f"{names[0]} and {names[1]}" if len(names) == 2 else f"{names[0]} et al."
        if not names:
            who = re.sub(r"[{}]", "", entry.fields.get("title", key))[:40]
        out[key] = f"{who}, {entry.fields.get('year', 'n.d.')}"
    return out


def _strip_myst_inline(text: str) -> str:
    return _ROLE.sub(lambda m: m["content"], text)


class Converter:
    """Rewrites the markdown of one page of the book as plain Markdown."""

    def __init__(self, index: BookIndex, page: str, glue: dict[str, object] | None = None):
        self.index, self.page, self.glue = index, page, glue or {}

    # -- inline -------------------------------------------------------------------------
    def role(self, m: re.Match) -> str:
        name, content = m["name"], m["content"]
        if name in ("eq", "prf:ref", "numref"):
            target = self.index.targets.get(content.strip())
            return self._where(target, target.text if target else content)
        if name in ("ref", "doc"):
            explicit = re.match(r"^(?P<text>.*?)\s*<(?P<label>[^>]+)>$", content, re.DOTALL)
            label = explicit["label"] if explicit else content
            if name == "doc":
                page = label.lstrip("/").removesuffix(".ipynb").removesuffix(".md")
                text = explicit["text"] if explicit else self.index.titles.get(page, page)
                return f"*{_strip_myst_inline(text)}*"
            target = self.index.targets.get(label.strip())
            text = explicit["text"] if explicit else (target.text if target else label)
            return self._where(target, f"*{_strip_myst_inline(text)}*")
        if name == "cite":
            keys = [k.strip() for k in content.split(",")]
            return "(" + "; ".join(self.index.citations.get(k, k) for k in keys) + ")"
        if name.startswith("glue"):
            key, _, spec = (
                content.rpartition(":")
                if content.count(":") and "::" not in content.split(":")[-1]
                else (content, "", "")
            )
            key = key.split("::")[-1] or content
            if key in self.glue:
                from myst_nb.core.variables import format_plain_text

                return format_plain_text(repr(self.glue[key]), spec or "s")
            return f"⟨{key}⟩"
        if name in ("func", "mod", "class", "meth", "attr", "data", "code", "py:func"):
            return f"`{content.lstrip('~')}`"
        if name in ("math",):
            return f"${content}$"
        return content  # an unknown role: keep its text, drop the markup

    def _where(self, target: Target | None, text: str) -> str:
        """``text``, followed by the chapter that holds the target when that is another page."""
        if target is None or target.page == self.page:
            return text
        chapter = self.index.titles.get(target.page)
        if not chapter or text.strip("*") == chapter:
            return text
        return f"{text} (in *{chapter}*)"

    def inline(self, text: str) -> str:
        text = _DISPLAY_EQ.sub(self._display, text)
        text = _ROLE.sub(self.role, text)
        text = _LABEL_LINE.sub(lambda m: f'<a id="{m.group(1)}"></a>', text)
        return _MACRO.sub(lambda m: MACROS["\\" + m.group(1)], text)

    def _display(self, m: re.Match) -> str:
        target = self.index.targets.get(m["label"])
        number = target.text.strip("()") if target else m["label"]
        return f"$$\n{m['body'].strip()}\n\\tag{{{number}}}\n$$"

    # -- blocks -------------------------------------------------------------------------
    def markdown(self, source: str) -> str:
        from student_notebooks import split_blocks

        out = []
        for block in split_blocks(source):
            out.append(self.inline(block.text) if block.name is None else self.directive(block))
        return "".join(out)

    def directive(self, block) -> str:
        lines = block.text.splitlines()
        body_lines = lines[1:-1] if len(lines) > 1 and re.match(r"^ {0,3}(`{3,}|:{3,})\s*$", lines[-1]) else lines[1:]
        options = _options(block.text)
        body = "\n".join(body_lines[len(options) :]).strip("\n")
        body = self.markdown(body).strip()
        name, arg = block.name, self.inline(block.arg)
        label = options.get("label", "")
        anchor = f'<a id="{label}"></a>' if label else ""
        if name.startswith("prf:"):
            if name == "prf:proof":
                return f"*Proof.* {body} ∎\n"
            target = self.index.targets.get(label)
            head = target.text if target else PRF_NAMES.get(name[4:], name[4:].title())
            title = f" ({arg})" if arg else ""
            return f"{anchor}**{head}{title}.** {body}\n"
        if name in ("exercise", "exercise-start"):
            target = self.index.targets.get(label)
            head = target.text if target else "Exercise"
            title = f" ({arg})" if arg else ""
            return f"{anchor}**{head}{title}.** {body}\n"
        if name in ("exercise-end", "solution-end"):
            return ""
        if name in ("solution", "solution-start"):
            return f"**Solution.** {body}\n" if body else "**Solution.**\n"
        if name in ("admonition", "note", "tip", "warning", "important", "caution", "seealso", "hint", "margin"):
            title = arg or name.title()
            quoted = "\n".join(f"> {line}" if line else ">" for line in body.splitlines())
            return f"> **{title}**\n>\n{quoted}\n"
        if name in ("math",):
            return f"$$\n{body}\n$$\n"
        if name in ("figure", "image"):
            caption = f"\n\n*{body}*" if body else ""
            return f"![{options.get('alt', '')}]({block.arg}){caption}\n"
        if name in ("code-block", "code"):
            return f"```{block.arg}\n{body}\n```\n"
        return f"{body}\n"  # an unknown directive: keep its content


def glue_values(executed: nbformat.NotebookNode) -> dict[str, object]:
    """The values a notebook glued (MyST-NB's scrapbook outputs), as Python objects."""
    from ast import literal_eval

    values: dict[str, object] = {}
    for cell in executed.cells:
        for output in cell.get("outputs", []):
            meta = output.get("metadata", {}).get("scrapbook", {})
            if not meta:
                continue
            data = output.get("data", {})
            text = data.get(meta.get("mime_prefix", "") + "text/plain")
            if text is None:
                continue
            try:
                values[meta["name"]] = literal_eval(text)
            except (ValueError, SyntaxError):
                values[meta["name"]] = text
    return values


def plain_notebook(
    nb: nbformat.NotebookNode,
    page: str,
    index: BookIndex,
    *,
    glue: dict[str, object] | None = None,
    header: str | None = None,
) -> nbformat.NotebookNode:
    """Return a copy of ``nb`` whose markdown cells hold no MyST syntax.

    ``page`` is the notebook's path in ``_toc.yml`` form (``chapters/02_preliminaries/
    directed_information``); ``glue`` the values its executed version glued (see
    :func:`glue_values`; missing values show as ⟨key⟩); ``header`` a markdown cell to put first.
    Code cells are kept as they are.
    """
    nb = copy.deepcopy(nb)
    converter = Converter(index, page, glue)
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            cell.source = converter.markdown(cell.source).strip("\n")
    nb.cells = [c for c in nb.cells if c.cell_type != "markdown" or c.source.strip()]
    if header:
        cell = nbformat.v4.new_markdown_cell(header)
        cell["id"] = "plain-markdown-header"
        nb.cells.insert(0, cell)
    nb.metadata.pop("semlib", None)
    return nb


#: MyST syntax that plain Jupyter shows raw: roles, directives, targets, options, site macros.
LEFTOVERS = {
    "role": re.compile(r"\{[\w:-]+\}`"),
    "directive": re.compile(r"^ {0,3}(?:`{3,}|:{3,})\{", re.MULTILINE),
    "target": re.compile(r"^\([\w:.-]+\)=", re.MULTILINE),
    "option": re.compile(r"^:(?:label|class|name|nonumber|width|align):", re.MULTILINE),
    "macro": re.compile(r"\\(?:KL|E|R|Sph)(?![A-Za-z])"),
    "equation label": re.compile(r"\$\$[ \t]*\([\w:.-]+\)"),
}


def myst_leftovers(nb: nbformat.NotebookNode) -> list[str]:
    """Each piece of MyST syntax left in ``nb``'s markdown, as ``"kind: excerpt"``."""
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for kind, pattern in LEFTOVERS.items():
            for m in pattern.finditer(cell.source):
                found.append(f"cell {i} {kind}: {cell.source[max(0, m.start() - 30) : m.end() + 30]!r}")
    return found


HEADER = {
    "colab": (
        "**{title}** — the Colab / plain-Jupyter edition of a chapter of *Forget BIT, It is All "
        "about TOKEN: an executable companion*. Definitions, theorems, equation numbers, "
        "references and citations are written out as plain Markdown; run the first code cell to "
        "install `semlib`. Numbers shown as ⟨name⟩ are computed by the notebook: the cell that "
        "computes one prints `name = value` when the notebook runs outside the book's build."
    ),
}


def main(argv: list[str] | None = None) -> int:
    import argparse
    import sys

    sys.path.insert(0, str(ROOT / "tests"))
    from book_toc import toc_files

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "_build" / "colab", help="output folder")
    parser.add_argument(
        "--executed", action="store_true", help="fill glued numbers from the executed notebooks (executes if needed)"
    )
    args = parser.parse_args(argv)
    index = BookIndex.build()
    failures = 0
    for page in toc_files():
        path = ROOT / f"{page}.ipynb"
        if not path.is_file():
            continue
        glue = None
        if args.executed:
            sys.path.insert(0, str(ROOT / "tools"))
            from execute_notebooks import ensure_executed

            glue = glue_values(ensure_executed(path)[1])
        title = index.titles.get(page, path.stem)
        nb = plain_notebook(
            nbformat.read(path, as_version=4), page, index, glue=glue, header=HEADER["colab"].format(title=title)
        )
        left = myst_leftovers(nb)
        for item in left:
            print(f"{page}: MyST left: {item}", file=sys.stderr)
        failures += bool(left)
        target = args.out / path.relative_to(ROOT / "chapters")
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        print(f"wrote {target}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
