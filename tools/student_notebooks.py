"""Write student versions of the book's notebooks: exercises kept, solutions removed.

Usage::

    python tools/student_notebooks.py [--out DIR] [--check]

For every notebook under ``chapters/`` (recursively, ``.ipynb_checkpoints`` skipped) a student
version is written to ``DIR`` (default ``_build/student/``) under the same path relative to
``chapters/``, e.g. ``chapters/02_preliminaries/directed_information.ipynb`` becomes
``_build/student/02_preliminaries/directed_information.ipynb``. ``--check`` writes nothing: it
builds every student version in memory, checks it (see :func:`problems`) and exits with status 1
if any check fails.

The transformation, :func:`studentize`, is a pure function of the notebook. The book writes
solutions with sphinx-exercise in two forms, and each is handled:

* **Directive solutions.** A fenced ``{solution}`` directive inside a markdown cell (backtick or
  colon fence, any fence length) is replaced by a short admonition, "Your solution / Write your
  answer here."; the rest of the cell (the exercise, text before and after) is kept verbatim.
* **Gated solutions.** A ``{solution-start} LABEL`` directive in a markdown cell opens a solution
  that runs, across cells, to the next ``{solution-end}`` directive. Everything in between is
  removed: the text after ``solution-start`` in its cell, every markdown and raw cell in between,
  and the text before ``solution-end`` in its cell. The text before ``solution-start`` and after
  ``solution-end`` is kept, and the ``solution-start`` directive is replaced by the same "Your
  solution" admonition. The code cells in between are replaced by **one** stub code cell::

      # Exercise LABEL: your code here
      raise NotImplementedError("Exercise LABEL")

  tagged ``raises-exception`` (so that Jupyter Book, nbclient and nbval run past it) and
  ``student-stub`` (so that tools and tests can find it). A gated solution without any code cell
  gets no stub.

Every code cell loses its outputs and execution count; cell and notebook metadata are kept; a
markdown cell that is left empty is dropped. Exercises (``{exercise}``, ``{exercise-start}`` /
``{exercise-end}``) are never touched. A ``solution-start`` without its ``solution-end`` (or the
reverse) raises ``ValueError``, as it would break the book's build. The result is validated with
``nbformat.validate``.

Only ``nbformat`` and the standard library are used.
"""

from __future__ import annotations

import argparse
import ast
import copy
import re
import sys
from pathlib import Path
from typing import NamedTuple

import nbformat

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
DEFAULT_OUT = ROOT / "_build" / "student"

STUB_TAG = "student-stub"
STUB_TAGS = ["raises-exception", STUB_TAG]
ADMONITION = "```{admonition} Your solution\n:class: note\n\nWrite your answer here.\n```"

EXERCISE_DIRECTIVES = {"exercise", "exercise-start"}
SOLUTION_DIRECTIVES = {"solution", "solution-start", "solution-end"}

# CommonMark/MyST fences: up to three spaces of indentation, then >= 3 backticks or colons
# (colon fences are MyST's colon_fence extension). A fence closes at a line of the same
# character, at least as long, and nothing else; an unclosed fence runs to the end of the cell.
_OPEN = re.compile(r"^ {0,3}(?P<fence>`{3,}|:{3,})(?P<info>.*)$")
_CLOSE = re.compile(r"^ {0,3}(?P<fence>`{3,}|:{3,})[ \t]*$")
_DIRECTIVE = re.compile(r"^\{(?P<name>[^}\s]+)\}[ \t]*(?P<arg>.*)$")
_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\r?\n)+")


class Block(NamedTuple):
    """A piece of a markdown cell: plain text (``name is None``) or one top-level directive."""

    text: str
    name: str | None = None  # directive name, e.g. "solution"
    arg: str = ""  # the directive's argument, e.g. the exercise label


def split_blocks(source: str) -> list[Block]:
    """Split markdown into plain text and top-level fenced directives, losslessly.

    ``"".join(b.text for b in split_blocks(s)) == s``. Code fences (```` ```python ````) are
    part of the text; what is inside any fence is never searched for directives, so a
    solution shown as an example inside a code block is left alone.
    """
    lines = source.splitlines(keepends=True)
    blocks: list[Block] = []
    text: list[str] = []
    i = 0
    while i < len(lines):
        m = _OPEN.match(lines[i].rstrip("\r\n"))
        if not m or (m["fence"][0] == "`" and "`" in m["info"]):
            text.append(lines[i])
            i += 1
            continue
        fence = m["fence"]
        j = i + 1
        while j < len(lines):
            c = _CLOSE.match(lines[j].rstrip("\r\n"))
            if c and c["fence"][0] == fence[0] and len(c["fence"]) >= len(fence):
                break
            j += 1
        chunk = "".join(lines[i : j + 1])  # j == len(lines): unclosed, to the end of the cell
        d = _DIRECTIVE.match(m["info"].strip())
        if d is None:
            text.append(chunk)
        else:
            if text:
                blocks.append(Block("".join(text)))
                text = []
            blocks.append(Block(chunk, d["name"], d["arg"].strip()))
        i = j + 1
    if text:
        blocks.append(Block("".join(text)))
    return blocks


def _label(block: Block) -> str:
    """The exercise a solution belongs to: the directive's argument (sphinx-exercise's rule)."""
    return block.arg.split()[0] if block.arg.split() else "unlabelled"


def _trim(text: str) -> str:
    """Drop blank lines at both ends (not the indentation of the first line)."""
    return _LEADING_BLANK_LINES.sub("", text).rstrip()


def _stub_cell(label: str, nb, used_ids: set[str]):
    source = f'# Exercise {label}: your code here\nraise NotImplementedError("Exercise {label}")'
    cell = nbformat.v4.new_code_cell(source=source, metadata={"tags": list(STUB_TAGS)})
    if (nb.get("nbformat", 4), nb.get("nbformat_minor", 0)) >= (4, 5):
        base = ("student-stub-" + re.sub(r"[^A-Za-z0-9_-]", "-", label))[:60]
        cell_id, k = base, 1
        while cell_id in used_ids:
            k += 1
            cell_id = f"{base[:56]}-{k}"
        used_ids.add(cell_id)
        cell["id"] = cell_id
    else:
        cell.pop("id", None)
    return cell


def is_stub(cell) -> bool:
    """Whether a cell is a stub written by :func:`studentize`."""
    return cell.get("cell_type") == "code" and STUB_TAG in cell.get("metadata", {}).get("tags", [])


def studentize(nb):
    """Return the student version of notebook ``nb`` (``nb`` itself is not modified).

    See the module docstring for the rules. Raises ``ValueError`` on an unbalanced gated
    solution (``solution-start`` without ``solution-end``, or the reverse, or two starts).
    """
    nb = copy.deepcopy(nb)
    used_ids = {c["id"] for c in nb.cells if "id" in c}
    out = []
    gate: dict | None = None  # the open gated solution: {"label": ..., "stubbed": bool}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
        if cell.cell_type != "markdown":
            if gate is None:
                out.append(cell)
            elif cell.cell_type == "code" and not gate["stubbed"]:
                out.append(_stub_cell(gate["label"], nb, used_ids))
                gate["stubbed"] = True
            continue

        blocks = split_blocks(cell.source)
        if gate is None and not any(b.name in SOLUTION_DIRECTIVES for b in blocks):
            out.append(cell)  # untouched, byte for byte
            continue
        pieces: list[str] = []
        kept: list[str] = []
        for block in blocks:
            if gate is not None:  # inside a gated solution: everything goes, up to its end
                if block.name == "solution-start":
                    raise ValueError(
                        f"cell {index}: solution-start {_label(block)!r} inside the open gated "
                        f"solution {gate['label']!r} (missing solution-end)"
                    )
                if block.name == "solution-end":
                    gate = None
                continue
            if block.name in SOLUTION_DIRECTIVES:
                if block.name == "solution-end":
                    raise ValueError(f"cell {index}: solution-end without a solution-start")
                pieces.append(_trim("".join(kept)))
                kept = []
                pieces.append(ADMONITION)
                if block.name == "solution-start":
                    gate = {"label": _label(block), "stubbed": False}
            else:
                kept.append(block.text)
        pieces.append(_trim("".join(kept)))
        source = "\n\n".join(p for p in pieces if p)
        if source:
            cell.source = source
            out.append(cell)
    if gate is not None:
        raise ValueError(f"gated solution {gate['label']!r} has no solution-end")
    nb.cells = out
    return nb


class Summary(NamedTuple):
    """What a notebook holds: exercises and the two kinds of solutions."""

    exercises: int
    directive_solutions: int
    gated_solutions: int
    gated_with_code: int
    solution_code_cells: list  # the code cells inside gated solutions
    stubs: int


def summarize(nb) -> Summary:
    """Count exercises, solutions and stubs, and collect the code cells of gated solutions."""
    exercises = directive = gated = with_code = stubs = 0
    code_cells = []
    open_gate: list | None = None
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for block in split_blocks(cell.source):
                if block.name in EXERCISE_DIRECTIVES:
                    exercises += 1
                elif block.name == "solution":
                    directive += 1
                elif block.name == "solution-start":
                    gated += 1
                    open_gate = []
                elif block.name == "solution-end" and open_gate is not None:
                    with_code += bool(open_gate)
                    code_cells.extend(open_gate)
                    open_gate = None
        elif cell.cell_type == "code":
            stubs += is_stub(cell)
            if open_gate is not None:
                open_gate.append(cell)
    return Summary(exercises, directive, gated, with_code, code_cells, stubs)


def problems(original, student) -> list[str]:
    """What is wrong with ``student`` as the student version of ``original`` (empty: nothing).

    The student version must be a valid notebook without outputs, hold no solution directive
    and no code cell of a gated solution, have one stub per gated solution with code, and as
    many exercises as the original.
    """
    found = []
    try:
        nbformat.validate(student)
    except nbformat.ValidationError as err:
        found.append(f"not a valid notebook: {err.message}")
    before, after = summarize(original), summarize(student)
    if after.exercises != before.exercises:
        found.append(f"{after.exercises} exercises, the original has {before.exercises}")
    if after.stubs != before.stubs + before.gated_with_code:
        found.append(f"{after.stubs - before.stubs} stubs for {before.gated_with_code} gated solutions with code")
    for i, cell in enumerate(student.cells):
        if cell.cell_type == "markdown" and "{solution" in cell.source:
            found.append(f"cell {i}: a solution directive is left")
        if cell.cell_type == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
            found.append(f"cell {i}: outputs not cleared")
    # a solution's code cell is recognised by its id, or by a source found nowhere else
    inside = {id(c) for c in before.solution_code_cells}
    solution_sources = {c.source.strip() for c in before.solution_code_cells} - {
        c.source.strip() for c in original.cells if c.cell_type == "code" and id(c) not in inside
    }
    solution_ids = {c.get("id") for c in before.solution_code_cells} - {None}
    for i, cell in enumerate(student.cells):
        leftover = cell.get("id") in solution_ids or cell.source.strip() in solution_sources
        if cell.cell_type == "code" and not is_stub(cell) and leftover:
            found.append(f"cell {i}: code of a gated solution is left")
    return found


def _statements(source: str) -> list[tuple[set[str], set[str]]]:
    """(names bound, names read) by each top-level statement of a code cell, in order.

    IPython magics become Python first. Names read inside a function body count as read by
    the statement that defines the function (a conservative approximation).
    """
    from IPython.core.inputtransformer2 import TransformerManager

    tree = ast.parse(TransformerManager().transform_cell(source))
    out = []
    for statement in tree.body:
        bound, read = set(), set()
        for node in ast.walk(statement):
            if isinstance(node, ast.Name):
                (read if isinstance(node.ctx, ast.Load) else bound).add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                bound.add(node.name)
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                bound.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif isinstance(node, ast.arg):
                bound.add(node.arg)
        out.append((bound, read))
    return out


def dependency_problems(original) -> list[str]:
    """Code after a removed solution that reads a name only that solution defines (empty: none).

    The student version runs every code cell of the original except the gated solutions' code,
    which becomes a stub. It is valid exactly when no later cell needs a name that only a
    removed solution binds: checked statically here, so that the student versions need not
    all be executed (one is, as a smoke test).
    """
    solution = {id(c) for c in summarize(original).solution_code_cells}
    defined_outside: set[str] = set()  # bound by cells the student version keeps
    only_in_solutions: dict[str, int] = {}  # name -> index of the solution cell that binds it
    found = []
    for i, cell in enumerate(original.cells):
        if cell.cell_type != "code":
            continue
        statements = _statements(cell.source)
        if id(cell) in solution:
            for bound, _ in statements:
                for name in bound - defined_outside:
                    only_in_solutions.setdefault(name, i)
            continue
        for bound, read in statements:  # in order: a name the cell binds first is its own
            for name in sorted(read & only_in_solutions.keys()):
                found.append(
                    f"cell {i} reads {name!r}, which only the removed solution in cell "
                    f"{only_in_solutions[name]} defines"
                )
                only_in_solutions.pop(name)  # report each name once
            defined_outside |= bound
            for name in bound:
                only_in_solutions.pop(name, None)
    return found


def chapter_notebooks(chapters: Path = CHAPTERS) -> list[Path]:
    """Every notebook under ``chapters`` (recursively), checkpoints excluded, sorted."""
    return sorted(p for p in chapters.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Write student versions of the chapter notebooks (solutions removed, code stubbed).",
        epilog="See the module docstring of tools/student_notebooks.py for the exact rules.",
    )
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default: _build/student/)")
    parser.add_argument("--chapters", type=Path, default=CHAPTERS, help="source folder (default: chapters/)")
    parser.add_argument(
        "--check", action="store_true", help="build in memory and check every student version; write nothing"
    )
    args = parser.parse_args(argv)

    paths = chapter_notebooks(args.chapters)
    from plain_markdown import BookIndex, myst_leftovers, plain_notebook  # plain Markdown for Jupyter/Colab

    index = BookIndex.build()
    if not paths:
        print(f"no notebooks under {args.chapters}", file=sys.stderr)
        return 1
    failures = 0
    for path in paths:
        rel = path.relative_to(args.chapters)
        original = nbformat.read(path, as_version=4)
        try:
            student = studentize(original)
        except ValueError as err:
            print(f"{rel}: {err}", file=sys.stderr)
            failures += 1
            continue
        found = problems(original, student) + dependency_problems(original)
        for problem in found:
            print(f"{rel}: {problem}", file=sys.stderr)
        failures += bool(found)
        s = summarize(original)
        note = (
            f"{s.exercises} exercises, {s.directive_solutions + s.gated_solutions} solutions removed, "
            f"{s.gated_with_code} stub{'' if s.gated_with_code == 1 else 's'}"
        )
        if args.check:
            print(f"{'FAIL' if found else 'ok  '} {rel}: {note}")
        elif not found:
            page = f"chapters/{rel.with_suffix('').as_posix()}"
            student = plain_notebook(student, page, index)
            left = myst_leftovers(student)
            for item in left:
                print(f"{rel}: MyST left in the export: {item}", file=sys.stderr)
            failures += bool(left)
            target = args.out / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(student, target)
            print(f"wrote {target} ({note})")
    if failures:
        print(f"{failures} of {len(paths)} notebooks failed", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
