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
these estimates: ``python tools/lecture_plan.py`` prints them, and ``--write`` rewrites the
lecture table of ``chapters/appendices/course_guide.md`` between its two marker comments (a
test fails when the table there is not the one this tool writes).

**Lectures.** Every page is one lecture, except that a page shorter than
:data:`SHORT_MINUTES` shares its lecture with the next page of the same part when the two fit
in :data:`MAX_MINUTES`. Each part ends with its problem set.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
WORDS_PER_MINUTE = 45
MINUTES_PER_CELL = 0.75
MAX_MINUTES = 90
SHORT_MINUTES = 45
GUIDE = ROOT / "chapters" / "appendices" / "course_guide.md"
START, END = "<!-- lecture-plan:start (tools/lecture_plan.py --write) -->", "<!-- lecture-plan:end -->"
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


def title(path: Path) -> str:
    """The page's title: its first level-1 heading."""
    for cell in nbformat.read(path, as_version=4).cells:
        m = re.search(r"^# (.+)$", cell.source, re.MULTILINE) if cell.cell_type == "markdown" else None
        if m:
            return m.group(1).strip()
    return path.stem


def parts() -> list[tuple[str, list[Path]]]:
    """The book's parts (captions of ``_toc.yml``) with their chapter notebooks, in order."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    out = []
    for part in toc["parts"]:
        pages = [ROOT / f"{c['file']}.ipynb" for c in part["chapters"] if (ROOT / f"{c['file']}.ipynb").is_file()]
        if pages:
            out.append((part["caption"], pages))
    return out


def lectures() -> list[tuple[int, str, list[Path], float]]:
    """``(problem set number, part caption, pages, minutes)`` for each lecture, in order."""
    out = []
    for number, (caption, pages) in enumerate(parts(), start=1):
        i = 0
        while i < len(pages):
            group, total = [pages[i]], minutes(pages[i])
            if i + 1 < len(pages) and total < SHORT_MINUTES and total + minutes(pages[i + 1]) <= MAX_MINUTES:
                group.append(pages[i + 1])
                total += minutes(pages[i + 1])
            out.append((number, caption, group, total))
            i += len(group)
    return out


def table() -> str:
    """The course guide's lecture table, in Markdown."""
    rows = [
        "| lecture | pages | est. minutes | slides | then |",
        "|---|---|---|---|---|",
    ]
    plan = lectures()
    for k, (number, caption, group, total) in enumerate(plan, start=1):
        links = "; ".join(f"[{title(p)}](../{p.parent.name}/{p.stem})" for p in group)
        decks = ", ".join(f"`slides/{p.stem}.html`" for p in group)
        last_of_part = k == len(plan) or plan[k][0] != number
        then = f"problem set {number} ({caption})" if last_of_part else ""
        rows.append(f"| {k} | {links} | {total:.0f} | {decks} | {then} |")
    return "\n".join(rows)


def write(guide: Path = GUIDE) -> bool:
    """Rewrite the table between the markers of ``guide``; return whether it changed."""
    text = guide.read_text()
    head, found, rest = text.partition(START)
    if not found or END not in rest:
        raise SystemExit(f"{guide} has no {START} ... {END} block")
    new = f"{head}{START}\n{table()}\n{END}{rest.split(END, 1)[1]}"
    if new != text:
        guide.write_text(new)
    return new != text


def current_table(guide: Path = GUIDE) -> str:
    """The table the guide holds now (between the markers)."""
    return guide.read_text().split(START, 1)[1].split(END, 1)[0].strip()


def main(argv: list[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write", action="store_true", help="rewrite the course guide's lecture table")
    args = parser.parse_args(argv)
    if args.write:
        print("course guide " + ("updated" if write() else "already up to date"))
        return
    for number, _, group, total in lectures():
        for p in group:
            words, cells = lecture_part(p)
            print(f"{minutes(p):5.0f} min  {words:5d} words  {cells:3d} cells  part {number}  {p.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
