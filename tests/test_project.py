"""The final project's specification (``course/project.md``) and its mutation runner.

The rubric must add up to 100 points, and the unchanged capstone must score what the page says
(at most 10): the criteria it cannot meet are worth at least 90 points. The page is public, so it
holds no instructor marker. ``tools/project_mutations.py`` (the project's ``tools/mutate.py``)
refuses a folder outside the repository and one without declared mutations; running a real
mutation starts a kernel (about 20 s), which the book's own mutation tests already cover.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROJECT = ROOT / "course" / "project.md"
# The criteria the unchanged capstone cannot earn (see "What the unchanged capstone scores").
CAPSTONE_ZERO = {"Corpus", "Question and design", "Measures", "Checks", "Mutations", "Report"}


def rubric() -> dict[str, int]:
    text = PROJECT.read_text(encoding="utf-8")
    section = text.split("## The rubric", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| ([A-Z][^|]*?) \| (\d+) \|", section, re.MULTILINE)
    return {name.strip(): int(points) for name, points in rows}


def test_rubric_adds_up_and_the_unchanged_capstone_fails_it():
    points = rubric()
    assert sum(points.values()) == 100, f"the rubric adds up to {sum(points.values())}: {points}"
    assert CAPSTONE_ZERO <= set(points), f"criteria missing from the rubric: {CAPSTONE_ZERO - set(points)}"
    capstone_max = sum(p for name, p in points.items() if name not in CAPSTONE_ZERO)
    text = PROJECT.read_text(encoding="utf-8")
    assert f"at most {capstone_max} of 100" in text, "the page's score for the unchanged capstone is out of date"
    assert capstone_max <= 15


def test_the_project_page_is_public_material():
    text = PROJECT.read_text(encoding="utf-8")
    assert "INSTRUCTOR-ONLY" not in text and not re.search(r"EXB-P\d", text)
    for needed in ("What to hand in", "How it is graded", "tools/project_mutations.py", "fingerprint"):
        assert needed in text, f"course/project.md does not say {needed!r}"


def _runner():
    spec = importlib.util.spec_from_file_location("project_mutations", ROOT / "tools" / "project_mutations.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_the_mutation_runner_refuses_what_it_cannot_run(tmp_path, capsys):
    runner = _runner()
    with pytest.raises(SystemExit):  # argparse's error: outside the repository
        runner.main([str(tmp_path)])
    empty = ROOT / "_build" / "project-runner-test"
    (empty / "verification").mkdir(parents=True, exist_ok=True)
    try:
        assert runner.main([str(empty)]) == 1
    finally:
        (empty / "verification").rmdir()
        empty.rmdir()
    assert "no mutations declared" in capsys.readouterr().err
