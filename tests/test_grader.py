"""End-to-end tests of the problem sets and their grader (``tools/grade.py``, nbgrader underneath).

Every set's reference solutions are run against their own hidden tests in this process (fast, no
kernels). The nbgrader path — generate the student edition, autograde submissions — is exercised on one
set, ``ps2_preliminaries`` (all six would take minutes of kernels on two cores): the reference solutions
get full marks; the unchanged student notebook gets 0 on every problem; one wrong answer loses exactly
that problem's points; a notebook that raises, one that loops forever (short cell timeout) and one with
deleted cells are graded without a crash; the student edition holds no hidden test and no solution.
"""

from __future__ import annotations

import copy
import csv
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import grade

SET = "ps2_preliminaries"
pytestmark = pytest.mark.xdist_group("grader")


def test_six_problem_sets_with_four_to_six_problems():
    sets = grade.problem_sets()
    assert len(sets) == 6
    for stem, path in sets.items():
        nb = nbformat.read(path, as_version=4)
        assert 4 <= len(grade.graded_cells(nb)) <= 6, stem
        assert nb.metadata.get("problem_set") == stem
        assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code"), f"{stem} has outputs"


def test_reference_solutions_pass_their_hidden_tests():
    assert grade.check_references() == []


def _answer_cell(nb, problem: int):
    (cell,) = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == f"p{problem}-answer"]
    return cell


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade five submissions of one set in one run; return (scores by student, editions folder, out)."""
    tmp = tmp_path_factory.mktemp("grader")
    editions = tmp / "editions"
    grade.write_editions(editions, stems=[SET])
    reference = nbformat.read(editions / "instructor" / f"{SET}.ipynb", as_version=4)
    student = nbformat.read(editions / "student" / f"{SET}.ipynb", as_version=4)

    def solved(nb):  # the student edition with every reference answer pasted in
        nb = copy.deepcopy(nb)
        for p in range(1, len(grade.graded_cells(nb)) + 1):
            _answer_cell(nb, p).source = _answer_cell(reference, p).source
        return nb

    subs = tmp / "submissions"
    (subs / "carol").mkdir(parents=True)
    nbformat.write(solved(student), subs / "alice.ipynb")
    nbformat.write(student, subs / "blank.ipynb")
    wrong = solved(student)
    _answer_cell(wrong, 2).source += "\nC_z_bits = C_z_bits + 0.01  # a wrong answer"
    nbformat.write(wrong, subs / "carol" / f"{SET}.ipynb")
    # One submission with all three faults (each costs a kernel run, so they share one): problem 1
    # raises, problem 3 loops forever (sleeping, so it takes no core from the other tests), and
    # problem 4's test cell is deleted. Problem 2 must still be graded in full.
    faulty = solved(student)
    _answer_cell(faulty, 1).source = "raise ValueError('boom')"
    _answer_cell(faulty, 3).source = "import time\nwhile True:\n    time.sleep(0.2)"
    faulty.cells = [c for c in faulty.cells if c.metadata.get("nbgrader", {}).get("grade_id") != "p4"]
    nbformat.write(faulty, subs / "faulty.ipynb")
    (subs / "garbage.ipynb").write_text("{ not a notebook")

    out = tmp / "out"
    csv_path = grade.grade(subs, out, cell_timeout=10, notebook_timeout=300)
    with csv_path.open() as f:
        rows = {r["student"]: r for r in csv.DictReader(f)}
    return rows, editions, out


def _scores(row) -> dict[str, float]:
    return {k.split(".")[1]: float(v) for k, v in row.items() if k.startswith(f"{SET}.")}


def test_reference_gets_full_marks(graded):
    rows, _, out = graded
    points = grade.graded_cells(nbformat.read(grade.problem_sets()[SET], as_version=4))
    assert _scores(rows["alice"]) == points
    assert float(rows["alice"]["total"]) == sum(points.values())
    assert (out / "feedback" / "alice.md").exists()


def test_unchanged_student_edition_gets_zero(graded):
    rows, _, _ = graded
    assert set(_scores(rows["blank"]).values()) == {0.0}


def test_one_wrong_answer_loses_exactly_its_points(graded):
    rows, _, out = graded
    points = grade.graded_cells(nbformat.read(grade.problem_sets()[SET], as_version=4))
    assert _scores(rows["carol"]) == {**points, "p2": 0.0}
    assert "p2: 0 / 3" in (out / "feedback" / "carol.md").read_text()


def test_raising_looping_and_deleted_cells_are_graded(graded):
    rows, _, out = graded
    points = grade.graded_cells(nbformat.read(grade.problem_sets()[SET], as_version=4))
    # raising (p1), looping until the cell timeout (p3) and a deleted test cell (p4) each score 0,
    # and the untouched problem 2 keeps its points: the run goes on past every fault
    assert _scores(rows["faulty"]) == {**points, "p1": 0.0, "p3": 0.0, "p4": 0.0}
    assert float(rows["garbage"]["total"]) == 0.0 and "cannot be read" in rows["garbage"]["notes"]
    for student in ("faulty", "garbage"):
        assert (out / "feedback" / f"{student}.md").exists()


def test_hidden_tests_and_solutions_absent_from_student_edition(graded):
    _, editions, _ = graded
    student = (editions / "student" / f"{SET}.ipynb").read_text()
    instructor = nbformat.read(editions / "instructor" / f"{SET}.ipynb", as_version=4)
    assert "HIDDEN TESTS" not in student and "BEGIN SOLUTION" not in student
    for cell in instructor.cells:
        if "### BEGIN HIDDEN TESTS" in cell.source:
            hidden = cell.source.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
            for line in hidden.strip().splitlines():
                assert line.strip() not in student, line
    assert "{ref}" not in student and "{ref}" not in (editions / "instructor" / f"{SET}.ipynb").read_text()
