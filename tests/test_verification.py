"""The verification records, the mutation runner and the ledger page.

Every numbered statement and claim equation of the paper (verification/statements.yml) has a
record in its chapter's verification/<notebook>.yml; every declared mutation names a check cell
that exists and edits text that exists; the ledger page is up to date with both; and, on a
fixed sample, the runner shows that planted bugs are caught and that a harmless edit is not.
The whole book's mutation run is `make mutations` (not part of this command: see the ledger).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import ledger
import mutate

STATEMENTS = ledger.statements()
RECORDS = ledger.records()
MUTATIONS = mutate.mutations()
ERRATA = (ROOT / "chapters" / "appendices" / "errata.md").read_text()


def test_the_statement_list_is_the_papers():
    ids = [s["id"] for s in STATEMENTS]
    assert len(ids) == len(set(ids))
    numbered = {i for i in ids if not i.startswith("Eq. ")}
    expected = (
        {f"Definition {k}" for k in range(1, 15)}
        | {f"Theorem {k}" for k in range(1, 9)}
        | {f"Corollary {k}" for k in range(1, 4)}
        | {"Lemma 1"}
        | {f"Remark {k}" for k in range(1, 5)}
    )
    assert numbered == expected
    assert all((ROOT / "verification" / f"{s['home']}.yml").is_file() for s in STATEMENTS), (
        "a home chapter has no record"
    )


@pytest.mark.parametrize("statement", STATEMENTS, ids=lambda s: s["id"])
def test_every_statement_has_one_record_with_evidence(statement):
    rec = RECORDS.get(statement["home"], {}).get("statements", {}).get(statement["id"])
    assert rec is not None, f"{statement['id']}: no record in verification/{statement['home']}.yml"
    assert set(rec) <= {"status", "summary", "erratum"}, f"{statement['id']}: unknown fields {set(rec)}"
    assert rec.get("status") in mutate.STATUSES
    assert len(rec.get("summary", "").split()) >= 5, f"{statement['id']}: the summary must say what was found"
    if rec.get("erratum"):
        assert f"({rec['erratum']})=" in ERRATA, (
            f"{statement['id']}: erratum label {rec['erratum']} not on the errata page"
        )
    if rec["status"] in ("refuted", "assumption"):
        assert rec.get("erratum"), f"{statement['id']}: a refuted or conditional statement needs its erratum"
    if rec["status"] != "not-computable":
        assert any(statement["id"] in m.statements for m in MUTATIONS), (
            f"{statement['id']}: status {rec['status']!r} but no declared mutation shows its check can fail"
        )


def test_no_record_for_a_statement_the_paper_does_not_have():
    known = {(s["home"], s["id"]) for s in STATEMENTS}
    extra = [(stem, sid) for stem, data in RECORDS.items() for sid in data["statements"] if (stem, sid) not in known]
    assert not extra, (
        f"records for statements not in verification/statements.yml (or not in their home chapter): {extra}"
    )
    ids = {s["id"] for s in STATEMENTS}
    bad = [(m.id, s) for m in MUTATIONS for s in m.statements if s not in ids]
    assert not bad, f"mutations naming unknown statements: {bad}"


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.id)
def test_each_mutation_can_be_planted(mutation, tmp_path):
    """Its `find` text occurs as declared and one `# check:` cell names it."""
    notebook, index, _ = mutate.prepare(mutation, tmp_path)
    assert notebook.cells[index].cell_type == "code"


def test_every_catches_line_names_a_declared_mutation():
    declared = {m.id for m in MUTATIONS}
    orphans = []
    for path in sorted((ROOT / "chapters").rglob("*.ipynb")):
        if "_build" in path.parts:
            continue
        for cell in nbformat.read(path, as_version=4).cells:
            for line in cell.source.splitlines():
                if line.strip().startswith(mutate.CATCHES):
                    first = re.split(r"[\s,]+", line.strip()[len(mutate.CATCHES) :].strip())[0]
                    if first not in declared:
                        orphans.append((path.name, first))
    assert not orphans, f"`# catches:` lines naming no declared mutation: {orphans}"


def test_the_last_mutation_run_covers_and_catches_every_declared_mutation():
    run = ledger.last_run()
    results = run.get("results", {})
    missing = sorted({m.id for m in MUTATIONS} - set(results))
    assert not missing, f"mutations never run (run `make mutations`): {missing}"
    missed = sorted(k for k, r in results.items() if not r["caught"])
    assert not missed, f"mutations the last run did not catch: {missed}"


def test_the_ledger_page_is_up_to_date():
    assert ledger.PAGE.read_text() == ledger.render(), "run `python tools/ledger.py`"


def test_the_ledger_is_in_the_table_of_contents():
    assert "chapters/appendices/verification_ledger" in (ROOT / "_toc.yml").read_text()


def _by_id(ident: str) -> mutate.Mutation:
    return next(m for m in MUTATIONS if m.id == ident)


@pytest.mark.slow
@pytest.mark.parametrize("ident", ["di-all-inputs", "di-hand-drop-x2"])
def test_sample_mutations_are_caught(ident):
    """A fixed sample, one bug in semlib and one in a notebook's hand formula, runs for real."""
    outcome = mutate.run(_by_id(ident))
    assert outcome.caught, outcome.detail


@pytest.mark.slow
def test_a_harmless_edit_is_reported_as_missed():
    """The runner can say "missed": an edit that changes nothing the check looks at."""
    real = _by_id("di-hand-drop-x2")
    harmless = mutate.Mutation(
        id=real.id,
        notebook=real.notebook,
        statements=real.statements,
        what="a renamed local variable",
        target="notebook",
        find="DI_by_hand = term_1 + term_2",
        replace="DI_by_hand = term_2 + term_1",
        count=1,
    )
    outcome = mutate.run(harmless)
    assert not outcome.caught and "passed" in outcome.detail


def test_a_find_text_that_is_not_there_is_refused(tmp_path):
    real = _by_id("di-all-inputs")
    broken = mutate.Mutation(**{**real.__dict__, "find": "no such text in semlib"})
    with pytest.raises(mutate.RegistryError, match="occurs 0 times"):
        mutate.prepare(broken, tmp_path)
