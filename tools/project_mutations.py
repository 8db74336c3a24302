"""Run a final project's declared mutations: each must make the student's check cell fail.

Usage::

    python tools/project_mutations.py project/ [--out project/mutation_run.json]

The final project (``course/project.md``) hands in a folder inside the repository, laid out like
the book: a notebook ``project/<name>.ipynb`` and its record ``project/verification/<name>.yml``
in the book's schema (``notebook: <name>.ipynb`` relative to the folder, then ``mutations:``
with ``id``, ``statements`` (may be ``[]``), ``what``, ``target`` (``notebook`` or a
``semlib/...`` file), ``find``, ``replace``; see CONTRIBUTING.md, "Verification records").
Each check cell names the mutations it catches in ``# catches: <id> -- <what>`` lines.

This is ``tools/mutate.py`` pointed at that folder instead of ``verification/``: every
mutation is planted in a temporary copy, the notebook runs up to the check cell that names it,
and the mutation counts as *caught* only when that cell raises ``AssertionError`` with every
earlier cell clean. It prints one line per mutation, writes the results as JSON, and exits with
status 1 when any mutation is missed (or none is declared).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import mutate


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="the project folder (inside the repository)")
    parser.add_argument("--out", type=Path, help="where to write the results (default: FOLDER/mutation_run.json)")
    args = parser.parse_args(argv)
    folder = args.folder.resolve()
    if not folder.is_relative_to(ROOT):
        parser.error(f"{args.folder} must lie inside the repository ({ROOT}), as the book's notebooks do")
    chosen = mutate.mutations(folder)
    if not chosen:
        print(f"no mutations declared in {args.folder}/verification/*.yml", file=sys.stderr)
        return 1
    outcomes = []
    for mutation in chosen:
        outcome = mutate.run(mutation)
        outcomes.append(outcome)
        print(f"{'caught' if outcome.caught else 'MISSED'}  {outcome.seconds:6.1f} s  {outcome.id}  {outcome.detail}")
    out = args.out or folder / "mutation_run.json"
    out.write_text(json.dumps([asdict(o) for o in outcomes], indent=1) + "\n", encoding="utf-8")
    missed = sum(not o.caught for o in outcomes)
    print(f"{len(outcomes) - missed} of {len(outcomes)} mutations caught; results in {out}")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
