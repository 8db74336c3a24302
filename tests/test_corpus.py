"""Tests of semlib.corpus: the standard-library docstring corpus, units and vocabularies."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from semlib import corpus


@pytest.fixture(scope="module")
def docs():
    return corpus.stdlib_docstrings()


def test_corpus_is_large_distinct_and_reproducible(docs):
    assert len(docs) > 1000 and sum(map(len, docs)) > 300_000
    assert len(set(docs)) == len(docs)
    assert all(len(d) >= 40 for d in docs)
    assert corpus.fingerprint(corpus.stdlib_docstrings()) == corpus.fingerprint(docs)


def test_explicit_modules_and_errors():
    docs = corpus.stdlib_docstrings(["json", "json"])  # a repeated module adds nothing
    assert docs == corpus.stdlib_docstrings(["json"])
    with pytest.raises(ValueError, match="modules"):
        corpus.stdlib_docstrings(["no_such_module_xyz"])
    with pytest.raises(TypeError, match="modules"):
        corpus.stdlib_docstrings("json")
    with pytest.raises(ValueError, match="min_chars"):
        corpus.stdlib_docstrings(["json"], min_chars=-1)
    with pytest.raises(ValueError, match="no docstring"):
        corpus.stdlib_docstrings(["json"], min_chars=10**9)


def test_corpus_does_not_depend_on_the_calling_process(monkeypatch):
    """The IPython kernel replaces pdb.Pdb by its own debugger; read in that process, the corpus
    lost pdb's 47 command docstrings, so a notebook and a script saw different texts."""
    import pdb  # noqa: T100 -- the module whose class the kernel replaces, not a breakpoint

    clean = corpus.stdlib_docstrings(["pdb"])
    assert pdb.Pdb.do_next.__doc__.strip().split("\n")[0].strip() in "\n".join(clean)
    replacement = type("Pdb", (pdb.Pdb,), {"__module__": "IPython.core.debugger"})
    monkeypatch.setattr(pdb, "Pdb", replacement)
    assert corpus.stdlib_docstrings(["pdb"]) == clean


def test_a_failing_reader_raises(monkeypatch):
    import sys

    monkeypatch.setattr(sys, "executable", "/bin/false")
    with pytest.raises(RuntimeError, match="docstrings"):
        corpus.stdlib_docstrings(["json"])


def test_split_keeps_documents_whole_and_is_seeded(docs):
    train, test = corpus.split_documents(docs, 0.1, seed=3)
    assert len(train) + len(test) == len(docs)
    assert not set(train) & set(test)
    assert abs(len(test) - 0.1 * len(docs)) <= 1
    assert corpus.split_documents(docs, 0.1, seed=3) == (train, test)
    assert corpus.split_documents(docs, 0.1, seed=4) != (train, test)
    with pytest.raises(ValueError, match="test_fraction"):
        corpus.split_documents(docs, 1.0)
    with pytest.raises(ValueError, match="docs"):
        corpus.split_documents("a string")


def test_units_encode_the_same_text():
    text = "Return the naïve café's résumé."
    assert bytes(corpus.encode(text, "byte")).decode("utf-8") == text
    assert "".join(map(chr, corpus.encode(text, "char"))) == text
    assert len(corpus.encode(text, "byte")) == len(text) + 4  # four two-byte characters
    with pytest.raises(ValueError, match="unit"):
        corpus.encode(text, "word")
    with pytest.raises(TypeError, match="text"):
        corpus.encode(b"bytes", "byte")


def test_wordpiece_units():
    pytest.importorskip("tokenizers")
    tok = corpus.wordpiece_tokenizer()
    ids = corpus.encode("Return the list of files.", "wordpiece", tokenizer=tok)
    assert tok.decode(ids) == "return the list of files."  # lower-cased, no [CLS]/[SEP]
    assert len(ids) == 6


def test_vocabulary_orders_by_frequency_and_maps_unseen_to_unk():
    vocab = corpus.Vocabulary.fit([5, 5, 5, 7, 7, 9], max_size=3)
    assert vocab.codes == [5, 7, -1] and vocab.size == 3 and vocab.unk_id == 2
    np.testing.assert_array_equal(vocab.counts, [3, 2, 0])
    np.testing.assert_array_equal(vocab.ids([9, 5, 7, 42]), [2, 0, 1, 2])
    with pytest.raises(ValueError, match="max_size"):
        corpus.Vocabulary.fit([1, 2], max_size=1)
    with pytest.raises(ValueError, match="empty"):
        corpus.Vocabulary.fit([])


def test_plugin_entropy_known_values():
    assert corpus.plugin_entropy([0, 1, 2, 3], base=2) == pytest.approx(2.0, abs=1e-12)
    assert corpus.plugin_entropy([1, 1, 1]) == 0.0
    assert corpus.plugin_entropy(np.array([0, 0, 1, 1])) == pytest.approx(math.log(2), abs=1e-12)
    with pytest.raises(ValueError, match="base"):
        corpus.plugin_entropy([0, 1], base=1)
    with pytest.raises(ValueError, match="empty"):
        corpus.plugin_entropy([])


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 20), min_size=1, max_size=200))
def test_plugin_entropy_is_bounded_by_log_support(codes):
    h = corpus.plugin_entropy(codes)
    assert -1e-12 <= h <= math.log(len(set(codes))) + 1e-12
