"""Run the book's declared mutations: each must make its check cell fail.

A *mutation* is a small, plausible bug -- a flipped sign, a dropped term, an off-by-one
index, a wrong base, swapped arguments -- planted either in a semlib module or in the hand
formula a notebook compares semlib with. Each chapter declares its mutations in
``verification/<notebook stem>.yml``; the check cell that must catch one names it in a
comment line ``# catches: <id> ...``.

For each mutation this command

1. copies ``semlib/`` to a temporary folder and applies the edit there (``target:`` a
   ``semlib/...`` file, put first on the kernel's ``PYTHONPATH``), or applies it to an
   in-memory copy of the notebook (``target: notebook``) -- the committed files never change;
2. executes the notebook's code cells in order, in the chapter's folder, up to and including
   the check cell that names the mutation;
3. records the mutation as *caught* when that check cell raises ``AssertionError`` and every
   cell before it ran cleanly. A mutation that breaks an earlier cell, raises something other
   than an assertion, or leaves the check passing is *not caught*.

The unmutated notebooks must pass: that is what the README's test command shows (every
notebook is executed there); this command re-checks it from the execution cache first.

Usage::

    python tools/mutate.py                      # every mutation of the book
    python tools/mutate.py chapters/02_preliminaries/directed_information.ipynb
    python tools/mutate.py --id di-conditioning # one mutation
    python tools/mutate.py --record             # also write verification/mutation_run.json

The record (commit, date, run time, result per mutation) feeds the verification ledger
(``tools/ledger.py``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
VERIFICATION = ROOT / "verification"
RUN_RECORD = VERIFICATION / "mutation_run.json"
STATUSES = ("checked", "refuted", "assumption", "not-computable")
CATCHES = "# catches:"


class RegistryError(ValueError):
    """A verification record that cannot be run as written."""


@dataclass(frozen=True)
class Mutation:
    id: str
    notebook: Path
    statements: tuple[str, ...]
    what: str
    target: str
    find: str
    replace: str
    count: int

    @property
    def in_notebook(self) -> bool:
        return self.target == "notebook"


@dataclass
class Outcome:
    id: str
    notebook: str
    caught: bool
    detail: str
    failed_cell: int | None
    seconds: float


def registries(root: Path = ROOT) -> list[Path]:
    """The per-chapter verification records, one per notebook that has one."""
    return sorted(p for p in (root / "verification").glob("*.yml") if p.name != "statements.yml")


def load_registry(path: Path, root: Path = ROOT) -> dict:
    data = yaml.safe_load(path.read_text()) or {}
    unknown = set(data) - {"notebook", "statements", "mutations"}
    if unknown:
        raise RegistryError(f"{path.name}: unknown keys {sorted(unknown)}")
    if "notebook" not in data:
        raise RegistryError(f"{path.name}: no `notebook:`")
    notebook = root / data["notebook"]
    if notebook.stem != path.stem or not notebook.is_file():
        raise RegistryError(f"{path.name}: notebook {data['notebook']} missing or not named like the record")
    data.setdefault("statements", {})
    data.setdefault("mutations", [])
    return data


def mutations(root: Path = ROOT) -> list[Mutation]:
    """Every declared mutation of the book, validated against the files it edits."""
    found: list[Mutation] = []
    seen: set[str] = set()
    for path in registries(root):
        data = load_registry(path, root)
        for entry in data["mutations"]:
            keys = set(entry)
            required = {"id", "statements", "what", "target", "find", "replace"}
            if not required <= keys or keys - required - {"count"}:
                raise RegistryError(
                    f"{path.name}: mutation {entry.get('id')!r} needs exactly {sorted(required)} (+ count)"
                )
            if entry["id"] in seen:
                raise RegistryError(f"{path.name}: mutation id {entry['id']!r} used twice")
            seen.add(entry["id"])
            if entry["find"] == entry["replace"]:
                raise RegistryError(f"{path.name}: mutation {entry['id']!r} does not change anything")
            found.append(
                Mutation(
                    id=str(entry["id"]),
                    notebook=root / data["notebook"],
                    statements=tuple(entry["statements"]),
                    what=str(entry["what"]),
                    target=str(entry["target"]),
                    find=str(entry["find"]),
                    replace=str(entry["replace"]),
                    count=int(entry.get("count", 1)),
                )
            )
    return found


def check_cell_index(notebook: nbformat.NotebookNode, mutation_id: str) -> int:
    """Index of the code cell whose ``# catches:`` line names ``mutation_id`` (exactly one)."""
    hits = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        for line in cell.source.splitlines():
            line = line.strip()
            if line.startswith(CATCHES) and mutation_id in line[len(CATCHES) :].replace(",", " ").split():
                hits.append(index)
    if len(hits) != 1:
        raise RegistryError(f"mutation {mutation_id!r}: {len(hits)} code cells name it in a `{CATCHES}` line, need 1")
    if "# check" not in notebook.cells[hits[0]].source:
        raise RegistryError(f"mutation {mutation_id!r}: the cell that names it is not a `# check:` cell")
    return hits[0]


def _edit(text: str, mutation: Mutation, where: str) -> str:
    n = text.count(mutation.find)
    if n != mutation.count:
        raise RegistryError(f"mutation {mutation.id!r}: `find` occurs {n} times in {where}, declared {mutation.count}")
    return text.replace(mutation.find, mutation.replace)


def prepare(mutation: Mutation, workdir: Path) -> tuple[nbformat.NotebookNode, int, dict[str, str]]:
    """The mutated notebook (cut after its check cell), the check cell's index and the kernel env."""
    notebook = nbformat.read(mutation.notebook, as_version=4)
    index = check_cell_index(notebook, mutation.id)
    env = dict(os.environ)
    if mutation.in_notebook:
        code = [c for c in notebook.cells[: index + 1] if c.cell_type == "code"]
        total = sum(c.source.count(mutation.find) for c in code)
        if total != mutation.count:
            raise RegistryError(
                f"mutation {mutation.id!r}: `find` occurs {total} times in the code cells up to its check, "
                f"declared {mutation.count}"
            )
        for cell in code:
            cell.source = cell.source.replace(mutation.find, mutation.replace)
    else:
        target = ROOT / mutation.target
        if not mutation.target.startswith("semlib/") or target.suffix != ".py" or not target.is_file():
            raise RegistryError(f"mutation {mutation.id!r}: target {mutation.target!r} is not a semlib module")
        shutil.copytree(ROOT / "semlib", workdir / "semlib", ignore=shutil.ignore_patterns("__pycache__"))
        copy = workdir / mutation.target
        copy.write_text(_edit(target.read_text(), mutation, mutation.target))
        env["PYTHONPATH"] = os.pathsep.join([str(workdir), *filter(None, [env.get("PYTHONPATH")])])
    notebook.cells = notebook.cells[: index + 1]
    return notebook, index, env


def run(mutation: Mutation, timeout: int = 300) -> Outcome:
    """Execute one mutation and say whether its check cell caught it."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError

    if str(ROOT / "tools") not in sys.path:
        sys.path.insert(0, str(ROOT / "tools"))
    from execute_notebooks import _ipc_kernel_manager

    start = time.perf_counter()
    rel = str(mutation.notebook.relative_to(ROOT))
    with tempfile.TemporaryDirectory(prefix="semlib-mutation-") as tmp:
        notebook, index, env = prepare(mutation, Path(tmp))
        # The planted bug must be the one in effect: a stale import of the real semlib would hide it.
        env.setdefault("PYTHONDONTWRITEBYTECODE", "1")
        sockets = Path(tmp) / "sockets"
        sockets.mkdir()
        client = NotebookClient(
            notebook,
            timeout=timeout,
            startup_timeout=60,
            kernel_name="python3",
            resources={"metadata": {"path": str(mutation.notebook.parent)}},
            kernel_manager_class=_ipc_kernel_manager(str(sockets)),
        )
        error: BaseException | None = None
        try:
            client.execute(env=env)
        except (CellExecutionError, CellTimeoutError) as err:
            error = err
    seconds = round(time.perf_counter() - start, 1)
    if error is None:
        return Outcome(mutation.id, rel, False, "the check passed with the bug in place", None, seconds)
    failed = next(
        (
            i
            for i, c in enumerate(notebook.cells)
            if c.cell_type == "code" and any(o.get("output_type") == "error" for o in c.get("outputs", []))
        ),
        None,
    )
    ename = getattr(error, "ename", type(error).__name__)
    if failed == index and ename == "AssertionError":
        return Outcome(mutation.id, rel, True, "AssertionError in the check cell", failed, seconds)
    where = "the check cell" if failed == index else f"cell {failed}, before the check cell {index}"
    return Outcome(mutation.id, rel, False, f"{ename} in {where}", failed, seconds)


def _run_one(mutation: Mutation, threads: int) -> Outcome:
    if threads:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[var] = str(threads)
    return run(mutation)


def _commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True)
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "semlib", "chapters", "verification"],
            check=False,
            cwd=ROOT,
            capture_output=True,
            text=True,
        ).stdout.strip()
        return out.stdout.strip() + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="only the mutations of these notebooks")
    parser.add_argument("--id", action="append", default=[], help="only this mutation (repeatable)")
    parser.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1, help="parallel kernels")
    parser.add_argument("--record", action="store_true", help=f"write {RUN_RECORD.relative_to(ROOT)}")
    parser.add_argument("--list", action="store_true", help="list the mutations and exit")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    chosen = mutations()
    if args.notebooks:
        wanted = {p.resolve() for p in args.notebooks}
        chosen = [m for m in chosen if m.notebook.resolve() in wanted]
    if args.id:
        unknown = set(args.id) - {m.id for m in chosen}
        if unknown:
            parser.error(f"unknown mutation ids: {sorted(unknown)}")
        chosen = [m for m in chosen if m.id in args.id]
    if args.list:
        for m in chosen:
            print(f"{m.id:32s} {m.notebook.relative_to(ROOT)}  {m.what}")
        return 0
    if args.record and (args.notebooks or args.id):
        parser.error("--record writes the whole book's run: give no notebooks or ids")
    # Validate everything before spending a second on kernels.
    with tempfile.TemporaryDirectory() as tmp:
        for m in chosen:
            prepare(m, Path(tmp) / m.id)
    threads = 1 if args.jobs > 1 else 0
    start = time.perf_counter()
    print(f"running {len(chosen)} mutations with {args.jobs} kernels in parallel", flush=True)
    outcomes: list[Outcome] = []
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover
        tqdm = None
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(_run_one, m, threads) for m in chosen]
        bar = tqdm(total=len(futures), desc="mutations", disable=None) if tqdm else None
        for future in as_completed(futures):
            outcome = future.result()
            outcomes.append(outcome)
            mark = "caught " if outcome.caught else "MISSED "
            print(f"{mark} {outcome.seconds:6.1f} s  {outcome.id:32s} {outcome.detail}", flush=True)
            if bar is not None:
                bar.update()
        if bar is not None:
            bar.close()
    seconds = time.perf_counter() - start
    missed = [o for o in outcomes if not o.caught]
    print(f"{len(outcomes) - len(missed)} of {len(outcomes)} mutations caught in {seconds:.0f} s", flush=True)
    if args.record:
        record = {
            "commit": _commit(),
            "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "scale": os.environ.get("SEMLIB_SCALE", "ci"),
            "jobs": args.jobs,
            "seconds": round(seconds, 1),
            "results": {o.id: asdict(o) for o in sorted(outcomes, key=lambda o: o.id)},
        }
        RUN_RECORD.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
        print(f"wrote {RUN_RECORD.relative_to(ROOT)}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
