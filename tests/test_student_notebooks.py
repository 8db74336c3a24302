"""Student notebooks (tools/student_notebooks.py): solutions removed, exercises kept, and they run.

Unit tests of ``studentize`` on small synthetic notebooks, structural checks of the student
version of every chapter notebook, a static check that no kept cell of any chapter needs a name
that only a removed solution defines, and one student notebook executed as a smoke test: every
cell must run, except the stubs that stand for removed solution code, which must raise
``NotImplementedError``.
"""

from __future__ import annotations

import copy
import importlib.util
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

ROOT = Path(__file__).resolve().parents[1]
TOOL = ROOT / "tools" / "student_notebooks.py"


def _load_tool():
    spec = importlib.util.spec_from_file_location("student_notebooks", TOOL)
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("student_notebooks", module)
    spec.loader.exec_module(module)
    return module


sn = _load_tool()
NOTEBOOKS = sn.chapter_notebooks(ROOT / "chapters")
IDS = [str(p.relative_to(ROOT / "chapters")) for p in NOTEBOOKS]


# --------------------------------------------------------------------------- synthetic notebooks


def notebook(*cells):
    nb = new_notebook(cells=list(cells))
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"c{i:03d}"
    nbformat.validate(nb)
    return nb


def code(source, with_output=True):
    cell = new_code_cell(source)
    if with_output:
        cell.outputs = [new_output("stream", name="stdout", text="hello\n")]
        cell.execution_count = 1
    return cell


EXERCISE = "```{exercise}\n:label: ex-a\n\nCompute $1+1$.\n```"
SOLUTION = "```{solution} ex-a\n:class: dropdown\n\nIt is **SECRET-2**.\n```"
START = "```{solution-start} ex-b\n:class: dropdown\n```"
END = "```{solution-end}\n```"


def sources(nb):
    return [(c.cell_type, c.source) for c in nb.cells]


def test_directive_solution_is_replaced_and_the_rest_of_the_cell_kept():
    md = f"Text before.\n\n{EXERCISE}\n\n{SOLUTION}\n\nText after, with $x$."
    nb = notebook(new_markdown_cell(md), code("x = 1"))
    student = sn.studentize(nb)
    text = student.cells[0].source
    assert "SECRET" not in text and "{solution" not in text
    assert text.startswith("Text before.") and text.endswith("Text after, with $x$.")
    assert EXERCISE in text and sn.ADMONITION in text
    assert text.index(EXERCISE) < text.index(sn.ADMONITION) < text.index("Text after")
    assert student.cells[1].source == "x = 1" and student.cells[1].outputs == []
    assert sn.problems(nb, student) == []


def test_colon_and_long_fences_are_recognised_and_their_contents_opaque():
    colon = ":::{solution} ex-a\n:class: dropdown\nSECRET colon\n:::"
    nested = "````{solution} ex-c\nSECRET nested\n```python\nprint(1)\n```\n````"
    shown = "A code block that merely shows the syntax:\n\n```text\n```{solution} ex-z\n```"
    md = f"{EXERCISE}\n\n{colon}\n\n{nested}\n\nBetween.\n\n{shown}"
    student = sn.studentize(notebook(new_markdown_cell(md)))
    text = student.cells[0].source
    assert "SECRET" not in text and text.count(sn.ADMONITION) == 2
    assert "Between." in text and "print(1)" not in text
    assert text.endswith(shown), "a directive written inside a code block is example text, not a solution"


def test_gated_solution_with_code_becomes_one_stub():
    nb = notebook(
        new_markdown_cell(f"{EXERCISE}\n\n{SOLUTION}\n\nIntro kept.\n\n{START}\n\nSECRET explanation."),
        code("secret_a = 1"),
        new_markdown_cell("SECRET middle text."),
        code("secret_b = secret_a + 1\nassert secret_b == 2"),
        new_markdown_cell(f"SECRET conclusion.\n\n{END}\n\n## After the solution\n\nKept."),
        code("after = 3"),
    )
    student = sn.studentize(nb)
    kinds = [c.cell_type for c in student.cells]
    assert kinds == ["markdown", "code", "markdown", "code"]
    first, stub, after_md, after_code = student.cells
    assert "SECRET" not in first.source and first.source.startswith(EXERCISE)
    assert "Intro kept." in first.source and first.source.endswith(sn.ADMONITION)
    assert stub.source == '# Exercise ex-b: your code here\nraise NotImplementedError("Exercise ex-b")'
    assert stub.metadata["tags"] == ["raises-exception", "student-stub"] and sn.is_stub(stub)
    assert stub.outputs == [] and stub.execution_count is None
    assert after_md.source == "## After the solution\n\nKept." and after_md.id == "c004"
    assert after_code.source == "after = 3" and after_code.id == "c005"
    assert all("SECRET" not in c.source and "secret" not in c.source for c in student.cells)
    assert sn.problems(nb, student) == []
    with pytest.raises(NotImplementedError, match="ex-b"):
        exec(stub.source, {})  # noqa: S102 - the stub is the tool's own output, run to see it raise


def test_text_before_start_and_after_end_in_the_same_cell():
    nb = notebook(
        new_markdown_cell(f"{EXERCISE}\n\n{START}\nSECRET right after start"),
        code("secret = 1"),
        new_markdown_cell(f"SECRET right before end\n{END}\nRight after end."),
    )
    student = sn.studentize(nb)
    assert sources(student) == [
        ("markdown", f"{EXERCISE}\n\n{sn.ADMONITION}"),
        ("code", '# Exercise ex-b: your code here\nraise NotImplementedError("Exercise ex-b")'),
        ("markdown", "Right after end."),
    ]


def test_an_end_cell_left_empty_is_dropped_and_a_gate_without_code_has_no_stub():
    nb = notebook(
        new_markdown_cell(EXERCISE),
        new_markdown_cell(f"{START}\nSECRET proof only.\n{END}"),
        new_markdown_cell(START),
        code("secret = 1"),
        code("secret += 1"),
        new_markdown_cell(END),
    )
    student = sn.studentize(nb)
    assert [c.cell_type for c in student.cells] == ["markdown", "markdown", "markdown", "code"]
    assert student.cells[1].source == student.cells[2].source == sn.ADMONITION
    summary = sn.summarize(nb)
    assert (summary.gated_solutions, summary.gated_with_code, len(summary.solution_code_cells)) == (2, 1, 2)
    assert sn.summarize(student).stubs == 1 and sn.problems(nb, student) == []


def test_a_notebook_without_exercises_is_unchanged_except_outputs():
    md = "# Title\n\n```{admonition} Note\nA note.\n```\n\n```python\nx = 1\n```"
    nb = notebook(new_markdown_cell(md), code("x = 1"), code("print(x)", with_output=False))
    nb.cells[1].metadata["tags"] = ["hide-input"]
    before = nbformat.writes(nb)
    student = sn.studentize(nb)
    assert nbformat.writes(nb) == before, "studentize must not modify its argument"
    expected = nbformat.reads(before, as_version=4)
    for cell in expected.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    assert student == expected


def test_unbalanced_gates_are_refused():
    with pytest.raises(ValueError, match="no solution-end"):
        sn.studentize(notebook(new_markdown_cell(START), code("x = 1")))
    with pytest.raises(ValueError, match="without a solution-start"):
        sn.studentize(notebook(new_markdown_cell(END)))
    with pytest.raises(ValueError, match="inside the open gated"):
        sn.studentize(notebook(new_markdown_cell(START), new_markdown_cell(START), new_markdown_cell(END)))


def test_split_blocks_is_lossless():
    md = f"a\n{EXERCISE}\n\n```python\ncode\n```\n{SOLUTION}\n:::{{note}}\nunclosed"
    blocks = sn.split_blocks(md)
    assert "".join(b.text for b in blocks) == md
    assert [b.name for b in blocks if b.name] == ["exercise", "solution", "note"]
    assert [b.arg for b in blocks if b.name == "solution"] == ["ex-a"]


def test_problems_notices_a_leaked_solution():
    nb = notebook(new_markdown_cell(f"{EXERCISE}\n\n{START}"), code("secret = 1"), new_markdown_cell(END))
    leaked = copy.deepcopy(nb)  # the original passed off as a student version
    found = sn.problems(nb, leaked)
    assert any("solution directive" in p for p in found)
    assert any("code of a gated solution" in p for p in found)
    assert any("stubs" in p for p in found) and any("outputs" in p for p in found)


def test_the_command_writes_the_student_notebooks(tmp_path, capsys):
    chapters = tmp_path / "chapters"
    (chapters / "part").mkdir(parents=True)
    nb = notebook(new_markdown_cell(f"{EXERCISE}\n\n{START}"), code("secret = 1"), new_markdown_cell(END))
    nbformat.write(nb, chapters / "part" / "nb.ipynb")
    out = tmp_path / "student"
    assert sn.main(["--chapters", str(chapters), "--out", str(out)]) == 0
    written = nbformat.read(out / "part" / "nb.ipynb", as_version=4)
    nbformat.validate(written)
    assert sum(map(sn.is_stub, written.cells)) == 1
    assert sn.main(["--chapters", str(chapters), "--check", "--out", str(tmp_path / "unused")]) == 0
    assert not (tmp_path / "unused").exists(), "--check writes nothing"
    nbformat.write(notebook(new_markdown_cell(START)), chapters / "part" / "broken.ipynb")
    assert sn.main(["--chapters", str(chapters), "--check"]) == 1
    assert "no solution-end" in capsys.readouterr().err


# --------------------------------------------------------------------------- the book's notebooks


def test_check_passes_on_the_book():
    assert NOTEBOOKS, "no notebooks under chapters/"
    assert sn.main(["--check"]) == 0


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_student_version_of_chapter(path):
    original = nbformat.read(path, as_version=4)
    student = sn.studentize(original)
    nbformat.validate(student)
    assert sn.problems(original, student) == []
    before, after = sn.summarize(original), sn.summarize(student)
    assert after.exercises == before.exercises
    assert after.directive_solutions == after.gated_solutions == 0
    assert after.stubs == before.gated_with_code == before.gated_solutions
    solution_code = {c.source.strip() for c in before.solution_code_cells}
    assert not solution_code & {c.source.strip() for c in student.cells if c.cell_type == "code"}


def _execute(nb, folder: Path):
    """Run ``nb`` in place with a fresh python3 kernel in ``folder``, past errors."""
    from nbclient import NotebookClient

    NotebookClient(
        nb, kernel_name="python3", timeout=600, allow_errors=True, resources={"metadata": {"path": str(folder)}}
    ).execute()
    return nb


def _errors(cell):
    return [o for o in cell.get("outputs", []) if o.output_type == "error"]


def test_dependency_check_finds_a_name_only_a_solution_defines():
    nb = notebook(
        code("import numpy as np\nx = 1"),
        new_markdown_cell("```{exercise}\n:label: ex-b\n\nGive y.\n```"),
        new_markdown_cell(START),
        code("y = x + 1\ndef helper(a):\n    return a"),
        new_markdown_cell(END),
        code("%matplotlib inline\nprint(np.pi)"),  # fine: np is the student's too; magics parse
        code("z = y * 2  # needs the removed solution"),
        code("helper = print\nhelper(x)"),  # rebound by a kept cell: fine
    )
    found = sn.dependency_problems(nb)
    assert len(found) == 1 and "'y'" in found[0] and "cell 6" in found[0]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_student_version_needs_no_removed_solution(path):
    # static: no kept cell reads a name that only a removed solution binds
    assert sn.dependency_problems(nbformat.read(path, as_version=4)) == []


# One student notebook is executed as a smoke test of the whole path (the static check above
# stands for the others): a short one with code stubs.
SMOKE = ROOT / "chapters" / "03_next_token" / "probabilistic_model.ipynb"


@pytest.mark.slow
@pytest.mark.parametrize("path", [SMOKE], ids=[str(SMOKE.relative_to(ROOT / "chapters"))])
def test_student_version_runs_up_to_its_stubs(path, monkeypatch):
    original = nbformat.read(path, as_version=4)
    student = sn.studentize(original)
    assert sn.summarize(original).solution_code_cells, "the smoke-test notebook must have solution code to stub"
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    _execute(student, path.parent)

    failures = []  # (cell id, message)
    for i, cell in enumerate(student.cells):
        if cell.cell_type != "code":
            continue
        errors = _errors(cell)
        if sn.is_stub(cell):
            if [e.ename for e in errors] != ["NotImplementedError"]:
                failures.append((cell.get("id"), f"stub cell {i} did not raise NotImplementedError alone: {errors}"))
        elif errors:
            first_line = (cell.source.strip().splitlines() or [""])[0]
            failures.append((cell.get("id"), f"cell {i} ({first_line!r}) raised {errors[0].ename}: {errors[0].evalue}"))
    if failures:
        # Say which failures the original notebook has too (then the chapter itself is broken,
        # not its student version); this costs a second run only when something failed.
        _execute(original, path.parent)
        broken = {c.get("id") for c in original.cells if c.cell_type == "code" and _errors(c)}
        failures = [(cid, msg + (" [fails in the original too]" if cid in broken else "")) for cid, msg in failures]
    if failures:
        pytest.fail("student notebook does not run up to its stubs:\n" + "\n".join(m for _, m in failures))
