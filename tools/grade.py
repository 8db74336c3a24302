"""Problem sets: write the student and instructor editions, and grade submitted notebooks with nbgrader.

Usage::

    python tools/grade.py --editions [--out _build/problem_sets]
    python tools/grade.py SUBMISSIONS --out DIR [--cell-timeout 60] [--notebook-timeout 600]
    python tools/grade.py --check-references

**Sources.** Each problem set is one notebook ``course/problem_sets/psN_<part>.ipynb`` in nbgrader's
own format: problem texts in locked markdown cells (MyST roles such as ``{ref}`` are allowed and are
resolved by ``tools/plain_markdown.py``), one answer cell per problem whose reference solution sits
between ``### BEGIN SOLUTION`` / ``### END SOLUTION``, and one graded test cell per problem (its points
in the cell's ``nbgrader`` metadata) whose hidden tests sit between ``### BEGIN HIDDEN TESTS`` /
``### END HIDDEN TESTS``.

**Editions** (``--editions``) go to ``_build/problem_sets/{student,instructor}/`` (never ``chapters/``,
never the site). The instructor edition is the source with its Markdown made plain. The student edition
is what ``nbgrader generate_assignment`` releases from it: solutions replaced by ``raise
NotImplementedError()``, hidden tests removed, locked cells marked read-only, outputs cleared.

**Grading** (``SUBMISSIONS``): every ``*.ipynb`` in the folder (student = file stem) or in a
sub-folder (student = folder name) is graded. The problem set of a notebook is read from its metadata
(``problem_set``, which the editions keep) or else from its file name. For each set, a temporary nbgrader
course is made, ``nbgrader generate_assignment`` records the source (with its hidden tests) in the
gradebook, and ``nbgrader autograde`` executes every submission with the locked test cells restored from
the source, hidden tests included. Each cell has ``--cell-timeout`` seconds: a cell that runs longer is
interrupted, its problem scores 0 and the notebook goes on. A submission that raises scores 0 on the
problems whose tests fail; a deleted test cell scores 0 on its problem; an unreadable notebook scores 0
everywhere; nothing stops the run. A whole autograde run that exceeds its wall limit is redone one
student at a time, each limited to ``--notebook-timeout`` seconds (0 on every problem past the limit).
``DIR/scores.csv`` gets one row per student and set, one column per problem (``ps2.p3``) and a total;
``DIR/feedback/<student>.md`` says, per problem, the score and the error the tests raised.

**Why nbgrader.** Both well-kept graders were tried here (as root, no Docker): otter-grader 7.0.0
requires ``wrapt<2`` while the book's lock pins ``wrapt==2.5.2`` (``dit`` -> ``debtcollector 3.1``
needs ``wrapt>=2.1``), so it cannot join the lock; its ``otter run`` also has one timeout per notebook.
nbgrader 0.9.6 installs beside the lock without conflict (5 new packages), grades locally in
subprocess kernels, interrupts a looping cell and continues, restores edited test cells from its
gradebook, and scores a deleted one 0. Hand-written glue is limited to finding submissions and writing
the CSV and feedback.
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "course" / "problem_sets"
DEFAULT_EDITIONS = ROOT / "_build" / "problem_sets"
BIN = Path(sys.executable).parent
COURSE_ID = "forget-bit-token"


def problem_sets(sources: Path = SOURCES) -> dict[str, Path]:
    """The problem sets, ``{stem: source path}``, in order."""
    return {p.stem: p for p in sorted(sources.glob("ps*.ipynb"))}


def graded_cells(nb: nbformat.NotebookNode) -> dict[str, float]:
    """``{grade_id: points}`` of a notebook's graded (test) cells, in order."""
    out = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("grade"):
            out[meta["grade_id"]] = float(meta.get("points", 0))
    return out


def prepared_source(path: Path) -> nbformat.NotebookNode:
    """The source with its Markdown made plain (``tools/plain_markdown.py``); code cells untouched."""
    sys.path.insert(0, str(ROOT / "tools"))
    from plain_markdown import BookIndex, plain_notebook

    nb = nbformat.read(path, as_version=4)
    page = str(path.relative_to(ROOT).with_suffix(""))
    return plain_notebook(nb, page, BookIndex.build())


def _env() -> dict[str, str]:
    env = dict(os.environ)
    # nbgrader runs `alembic` from PATH when it creates a gradebook.
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("OMP_NUM_THREADS", "1")
    env.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    return env


def _nbgrader(course: Path, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    command = [
        str(BIN / "nbgrader"),
        *args,
        f"--CourseDirectory.root={course}",
        f"--CourseDirectory.course_id={COURSE_ID}",
    ]
    return subprocess.run(command, cwd=course, env=_env(), capture_output=True, text=True, timeout=timeout, check=False)


def _new_course(stem: str, source: nbformat.NotebookNode, where: Path) -> Path:
    course = where / stem
    (course / "source" / stem).mkdir(parents=True)
    nbformat.write(source, course / "source" / stem / f"{stem}.ipynb")
    result = _nbgrader(course, "generate_assignment", stem, "--force")
    if result.returncode != 0:
        raise RuntimeError(f"nbgrader generate_assignment {stem} failed:\n{result.stdout}\n{result.stderr}")
    return course


def write_editions(out: Path = DEFAULT_EDITIONS, stems: list[str] | None = None) -> list[Path]:
    """Write both editions of every set (or of ``stems``) into ``out/{student,instructor}``; return the files."""
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for stem, path in problem_sets().items():
            if stems is not None and stem not in stems:
                continue
            source = prepared_source(path)
            course = _new_course(stem, source, Path(tmp))
            for edition, nb in (
                ("instructor", source),
                ("student", nbformat.read(course / "release" / stem / f"{stem}.ipynb", as_version=4)),
            ):
                target = out / edition / f"{stem}.ipynb"
                target.parent.mkdir(parents=True, exist_ok=True)
                nbformat.write(nb, target)
                written.append(target)
    return written


@dataclass
class Submission:
    """One submitted notebook: who, which set, where, and why it cannot be run (if so)."""

    student: str
    path: Path
    problem_set: str | None
    error: str = ""
    scores: dict[str, float] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)


def find_submissions(folder: Path, sets: dict[str, Path]) -> list[Submission]:
    """Every notebook in ``folder`` (student = stem) or one level below (student = sub-folder)."""
    found = []
    for path in sorted(folder.glob("*.ipynb")) + sorted(folder.glob("*/*.ipynb")):
        if ".ipynb_checkpoints" in path.parts:
            continue
        student = path.stem if path.parent == folder else path.parent.name
        problem_set, error = None, ""
        try:
            nb = nbformat.read(path, as_version=4)
            problem_set = nb.metadata.get("problem_set")
        except Exception as exc:  # noqa: BLE001 -- an unreadable notebook is graded 0, never a crash
            error = f"the notebook cannot be read: {type(exc).__name__}: {exc}"
        if problem_set not in sets:
            problem_set = next((s for s in sets if s == path.stem or path.stem.startswith(s)), None)
        if problem_set is None and not error:
            error = "no problem set recognised (metadata `problem_set` or the file name)"
        found.append(Submission(student, path, problem_set, error))
    return found


def _test_messages(nb_path: Path) -> dict[str, str]:
    """The last line of the error each graded cell raised in an autograded notebook."""
    messages: dict[str, str] = {}
    if not nb_path.exists():
        return messages
    nb = nbformat.read(nb_path, as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type == "code" and meta.get("grade"):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    messages[meta["grade_id"]] = f"{output.get('ename')}: {output.get('evalue')}"[:500]
    return messages


def grade_set(
    stem: str, source_path: Path, subs: list[Submission], work: Path, cell_timeout: int, notebook_timeout: int
) -> None:
    """Autograde the submissions of one set in a fresh nbgrader course; fill in their scores."""
    from nbgrader.api import Gradebook

    course = _new_course(stem, prepared_source(source_path), work)
    runnable = [s for s in subs if not s.error]
    for sub in runnable:
        target = course / "submitted" / sub.student / stem / f"{stem}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sub.path, target)
    args = ["autograde", stem, "--force", "--create", f"--Execute.timeout={cell_timeout}"]
    try:
        _nbgrader(course, *args, timeout=notebook_timeout * max(1, len(runnable)))
    except subprocess.TimeoutExpired:
        for sub in runnable:  # redo one at a time, each with its own wall limit
            try:
                _nbgrader(course, *args, f"--student={sub.student}", timeout=notebook_timeout)
            except subprocess.TimeoutExpired:
                sub.error = f"the notebook ran past the {notebook_timeout} s limit"
    problems = graded_cells(nbformat.read(source_path, as_version=4))
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for sub in runnable:
            try:
                nb = gb.find_submission_notebook(stem, stem, sub.student)
                got = {g.name: float(g.score or 0.0) for g in nb.grades}
            except Exception:  # noqa: BLE001 -- no record: graded 0, never a crash
                got = {}
                sub.error = sub.error or "nbgrader could not grade this notebook (see the log)"
            sub.scores = {p: got.get(p, 0.0) for p in problems}
            autograded = course / "autograded" / sub.student / stem / f"{stem}.ipynb"
            sub.messages = _test_messages(autograded)
            for p in problems:
                if sub.scores[p] == 0 and p not in sub.messages:
                    sub.messages[p] = "the test cell was deleted or did not run"
    for sub in subs:
        if sub.error and not sub.scores:
            sub.scores = dict.fromkeys(problems, 0.0)


def _feedback(subs: list[Submission], sets: dict[str, Path]) -> str:
    lines = [f"# Feedback for {subs[0].student}", ""]
    for sub in subs:
        points = graded_cells(nbformat.read(sets[sub.problem_set], as_version=4)) if sub.problem_set else {}
        total = sum(sub.scores.values())
        lines += [f"## {sub.problem_set or sub.path.name}: {total:g} / {sum(points.values()):g}", ""]
        if sub.error:
            lines += [f"**Note:** {sub.error}", ""]
        for problem, score in sub.scores.items():
            note = f" — {sub.messages[problem]}" if problem in sub.messages and score < points[problem] else ""
            lines.append(f"- {problem}: {score:g} / {points[problem]:g}{note}")
        lines.append("")
    return "\n".join(lines)


def grade(folder: Path, out: Path, cell_timeout: int = 60, notebook_timeout: int = 600) -> Path:
    """Grade every notebook in ``folder``; write ``out/scores.csv`` and ``out/feedback/``; return the CSV."""
    sets = problem_sets()
    subs = find_submissions(folder, sets)
    with tempfile.TemporaryDirectory() as tmp:
        for stem, source in sets.items():
            mine = [s for s in subs if s.problem_set == stem]
            if mine:
                grade_set(stem, source, mine, Path(tmp), cell_timeout, notebook_timeout)
    columns = [
        f"{stem}.{p}"
        for stem in sets
        if any(s.problem_set == stem for s in subs)
        for p in graded_cells(nbformat.read(sets[stem], as_version=4))
    ]
    out.mkdir(parents=True, exist_ok=True)
    (out / "feedback").mkdir(exist_ok=True)
    by_student: dict[str, list[Submission]] = {}
    for sub in subs:
        by_student.setdefault(sub.student, []).append(sub)
    csv_path = out / "scores.csv"
    with csv_path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *columns, "total", "notes"])
        for student, mine in sorted(by_student.items()):
            row = {f"{s.problem_set}.{p}": v for s in mine for p, v in s.scores.items()}
            notes = "; ".join(f"{s.path.name}: {s.error}" for s in mine if s.error)
            writer.writerow([student, *(f"{row.get(c, 0.0):g}" for c in columns), f"{sum(row.values()):g}", notes])
            (out / "feedback" / f"{student}.md").write_text(_feedback(mine, sets))
    return csv_path


def check_references() -> list[str]:
    """Run every source notebook top to bottom in this process (solutions and hidden tests); list failures.

    A fast check that each reference solution passes its own hidden tests, without kernels or nbgrader.
    """
    failures = []
    for stem, path in problem_sets().items():
        namespace: dict[str, object] = {"__name__": f"problem_set_{stem}"}
        for i, cell in enumerate(nbformat.read(path, as_version=4).cells):
            if cell.cell_type != "code":
                continue
            try:
                exec(compile(cell.source, f"{path.name}[cell {i}]", "exec"), namespace)  # noqa: S102
            except Exception as exc:  # noqa: BLE001
                failures.append(f"{stem} cell {i}: {type(exc).__name__}: {exc}")
                break
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", nargs="?", type=Path, help="folder of submitted notebooks")
    parser.add_argument("--out", type=Path, help="output folder (scores.csv, feedback/; or the editions)")
    parser.add_argument("--editions", action="store_true", help="write the student and instructor editions")
    parser.add_argument("--check-references", action="store_true", help="run every reference solution's tests")
    parser.add_argument("--cell-timeout", type=int, default=60, help="seconds per cell (default 60)")
    parser.add_argument("--notebook-timeout", type=int, default=600, help="seconds per notebook (default 600)")
    args = parser.parse_args(argv)
    if args.check_references:
        failures = check_references()
        print("\n".join(failures) or f"all {len(problem_sets())} reference solutions pass their hidden tests")
        return 1 if failures else 0
    if args.editions:
        for path in write_editions(args.out or DEFAULT_EDITIONS):
            print(f"wrote {path}")
        return 0
    if args.submissions is None or args.out is None:
        parser.error("give SUBMISSIONS and --out, or --editions, or --check-references")
    csv_path = grade(args.submissions, args.out, args.cell_timeout, args.notebook_timeout)
    print(f"wrote {csv_path} and {args.out / 'feedback'}/")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
