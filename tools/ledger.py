"""Write the verification ledger, the appendix page that says how far to trust each statement.

Sources: ``verification/statements.yml`` (the paper's numbered statements and claim
equations), the per-chapter records ``verification/<notebook>.yml`` (status, summary, erratum,
declared mutations), the notebooks (where each check cell sits) and the last mutation run
``verification/mutation_run.json`` (written by ``tools/mutate.py --record``).

Usage::

    python tools/ledger.py           # rewrite chapters/appendices/verification_ledger.md
    python tools/ledger.py --check   # exit 1 if the committed page is out of date

``tests/test_verification.py`` runs the check.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
import mutate

ROOT = mutate.ROOT
PAGE = ROOT / "chapters" / "appendices" / "verification_ledger.md"
STATUS_TEXT = {
    "checked": "checked",
    "refuted": "refuted (counterexample)",
    "assumption": "holds under a stated assumption",
    "not-computable": "not computable",
}
_LABEL = re.compile(r"^\(([A-Za-z0-9_-]+)\)=\s*$", re.MULTILINE)
_HEADING = re.compile(r"^#{1,4}\s+(.+?)\s*$", re.MULTILINE)


def statements(root: Path = ROOT) -> list[dict]:
    return yaml.safe_load((root / "verification" / "statements.yml").read_text())["statements"]


def records(root: Path = ROOT) -> dict[str, dict]:
    """Each registry's data, keyed by notebook stem."""
    return {p.stem: mutate.load_registry(p, root) for p in mutate.registries(root)}


def last_run(root: Path = ROOT) -> dict:
    path = root / "verification" / "mutation_run.json"
    return json.loads(path.read_text()) if path.is_file() else {"results": {}}


def chapter_label(notebook: nbformat.NotebookNode) -> str | None:
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            found = _LABEL.findall(cell.source)
            if found:
                return found[0]
    return None


def cell_anchor(notebook: nbformat.NotebookNode, index: int) -> tuple[str | None, str]:
    """The nearest ``(label)=`` target before cell ``index`` and the heading of its section."""
    label, heading = None, ""
    for cell in notebook.cells[:index]:
        if cell.cell_type != "markdown":
            continue
        for match in _HEADING.finditer(cell.source):
            heading = match.group(1)
        found = _LABEL.findall(cell.source)
        if found:
            label = found[-1]
    return label, heading


def _md(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _plain(heading: str) -> str:
    """A heading as link text: Sphinx shows a reference's text verbatim, so no TeX."""
    text = re.sub(r"\\(?:mathbf|mathrm|mathcal|boldsymbol|operatorname)\s*", "", heading)
    text = re.sub(r"\\([A-Za-z]+)", r"\1", text)
    return re.sub(r"[${}]", "", text)


def render(root: Path = ROOT) -> str:
    recs = records(root)
    run = last_run(root)
    results = run.get("results", {})
    muts = mutate.mutations(root)
    by_statement: dict[str, list[mutate.Mutation]] = {}
    for m in muts:
        for s in m.statements:
            by_statement.setdefault(s, []).append(m)
    notebooks: dict[Path, nbformat.NotebookNode] = {}

    def nb(path: Path) -> nbformat.NotebookNode:
        if path not in notebooks:
            notebooks[path] = nbformat.read(path, as_version=4)
        return notebooks[path]

    def where(m: mutate.Mutation) -> str:
        notebook = nb(m.notebook)
        index = mutate.check_cell_index(notebook, m.id)
        label, heading = cell_anchor(notebook, index)
        label = label or chapter_label(notebook)
        section = _md(_plain(heading)) if heading else m.notebook.stem
        return f"{{ref}}`{section} <{label}>`, cell {index + 1}" if label else f"{section}, cell {index + 1}"

    def result(m: mutate.Mutation) -> str:
        r = results.get(m.id)
        if r is None:
            return "not run"
        return "caught" if r["caught"] else f"**missed** ({_md(r['detail'])})"

    counts: dict[str, int] = dict.fromkeys(mutate.STATUSES, 0)
    rows = []
    for s in statements(root):
        rec = recs.get(s["home"], {}).get("statements", {}).get(s["id"])
        if rec is None:
            rows.append(f"| {s['id']} | §{s['section']} | **no record** | | | |")
            continue
        counts[rec["status"]] = counts.get(rec["status"], 0) + 1
        home = recs[s["home"]]["notebook"]
        label = chapter_label(nb(root / home))
        chapter = f"{{ref}}`{label}`" if label else s["home"]
        ms = by_statement.get(s["id"], [])
        caught = sum(1 for m in ms if results.get(m.id, {}).get("caught"))
        mut_text = f"{caught} of {len(ms)}: " + ", ".join(f"`{m.id}`" for m in ms) if ms else "none"
        erratum = f"{{ref}}`erratum <{rec['erratum']}>`" if rec.get("erratum") else ""
        rows.append(
            f"| {s['id']} | §{s['section']} | {STATUS_TEXT[rec['status']]} | {chapter}: {_md(rec['summary'])} "
            f"| {mut_text} | {erratum} |"
        )
    total = len(muts)
    caught_all = sum(1 for m in muts if results.get(m.id, {}).get("caught"))
    run_line = (
        f"The last mutation run (commit `{run['commit'][:12]}`"
        + (" with uncommitted changes" if run["commit"].endswith("+changes") else "")
        + f", {run['date']}, scale `{run['scale']}`, "
        f"{run['jobs']} parallel kernels) took {run['seconds']:.0f} s and caught "
        f"**{sum(1 for r in results.values() if r['caught'])} of {len(results)}** mutations."
        if "commit" in run
        else "No mutation run has been recorded yet."
    )
    lines = [
        "(appendix-verification-ledger)=",
        "# Verification ledger",
        "",
        "<!-- Generated by tools/ledger.py from verification/*.yml, the notebooks and the last",
        "     mutation run; do not edit by hand. tests/test_verification.py fails when it is stale. -->",
        "",
        "This page lists every numbered statement of the paper {cite}`bai2025forget` (Definitions 1-14,",
        "Theorems 1-8, Corollaries 1-3, Lemma 1, Remarks 1-4) and every *claim equation*, an equation",
        "that asserts something rather than defines notation. For each it gives how far the book",
        "found it can be trusted and where the evidence is.",
        "",
        "**Status.** *checked*: a check cell computes both sides on numbers and agrees within a",
        "stated tolerance. *refuted*: a check cell exhibits a counterexample in the setting the paper",
        "states, and the errata page records it. *holds under a stated assumption*: the statement is",
        "true once a condition the paper leaves out is added; the check shows both. *not computable*:",
        "the statement has no quantitative content a computation can test (the entry says why), or",
        "only part of it has, which is then checked. The status says what the numbers show; the",
        "kind of the linked erratum (assumption, clarification, typo) says what repairs the",
        "statement, so a refuted statement can have an erratum of kind *assumption*.",
        "",
        "**Mutations.** A check is only evidence if it can fail. Each check cell names, in a",
        "`# catches:` comment, the bugs it catches: a flipped sign, a dropped term, an off-by-one",
        "index, a wrong base, swapped arguments, planted in semlib or in the hand formula the check",
        "compares with. `make mutations` (that is, `python tools/mutate.py --record`) plants each",
        "bug in a temporary copy, runs the chapter up to the check and records whether the check",
        "failed with an assertion. The column *mutations* counts the caught ones among those",
        "declared for the statement.",
        "",
        run_line + f" {caught_all} of the {total} mutations declared now were caught in it.",
        "",
        "| status | statements |",
        "|---|---|",
        *(f"| {STATUS_TEXT[k]} | {v} |" for k, v in counts.items()),
        "",
        "## Statements",
        "",
        "| statement | § | status | evidence | mutations caught | erratum |",
        "|---|---|---|---|---|---|",
        *rows,
        "",
        "## Mutations",
        "",
        "| mutation | statements | the planted bug | edits | check cell | last run |",
        "|---|---|---|---|---|---|",
    ]
    for m in sorted(muts, key=lambda m: (str(m.notebook), m.id)):
        edits = "the notebook" if m.in_notebook else f"`{m.target}`"
        lines.append(
            f"| `{m.id}` | {', '.join(m.statements) or '(book claim)'} | {_md(m.what)} | {edits} | {where(m)} | {result(m)} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="fail if the page is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        if not PAGE.is_file() or PAGE.read_text() != text:
            print(f"{PAGE.relative_to(ROOT)} is out of date: run python tools/ledger.py")
            return 1
        return 0
    PAGE.write_text(text)
    print(f"wrote {PAGE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
