"""How long each page takes to teach, estimated from its source.

Issue 15 asks for pages of about one 75--90 minute lecture. The estimate is deliberately simple,
so that an instructor can redo it by hand:

* **prose**: the words of the markdown cells before the page's ``## Exercises`` heading, at
  45 words a minute (a lecture that derives on the board covers a page of textbook, about
  450 words, in ten minutes);
* **code**: three quarters of a minute per code cell before the exercises (run it, read the
  output, say what it shows).

Exercises and their solutions are homework and do not count. ``tests/test_lectures.py`` fails on
any page estimated at more than :data:`MAX_MINUTES`; the course guide's lecture plan quotes
these estimates (``python tools/lecture_plan.py`` prints them).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
WORDS_PER_MINUTE = 45
MINUTES_PER_CELL = 0.75
MAX_MINUTES = 90
_EXERCISES = re.compile(r"^#{2,3} Exercises", re.MULTILINE)


def lecture_part(path: Path) -> tuple[int, int]:
    """Words of prose and number of code cells before the page's exercises."""
    words = cells = 0
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown":
            words += len(_EXERCISES.split(cell.source, 1)[0].split())
            if _EXERCISES.search(cell.source):
                break
        elif cell.cell_type == "code":
            cells += 1
    return words, cells


def minutes(path: Path) -> float:
    """Estimated lecture time of the page at ``path``, in minutes."""
    words, cells = lecture_part(path)
    return words / WORDS_PER_MINUTE + MINUTES_PER_CELL * cells


def main() -> None:
    sys.path.insert(0, str(ROOT / "tests"))
    from book_toc import toc_files

    for f in toc_files():
        path = ROOT / f"{f}.ipynb"
        if path.is_file():
            words, cells = lecture_part(path)
            print(f"{minutes(path):5.0f} min  {words:5d} words  {cells:3d} cells  {f}")


if __name__ == "__main__":
    main()
