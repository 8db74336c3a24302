"""tools/prose_at_scale.py: the glued sentences of a page, rendered at one scale, and compared.

The tool is how a full-scale run is read (issue 15: prose that agrees with its outputs at every
scale). These tests build a small page with glue roles and check which sentences are picked,
that the values are filled in, and that a comparison lists exactly the sentences that changed.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import prose_at_scale as pas

PAGE = "chapters/03_next_token/semantic_information_flow"
TEXT = (
    "The flow is positive. It reaches {glue:text}`a:.2f` nats at $t = 6$. "
    "*What to see.* Nothing is glued here.\n\n"
    "A second paragraph quotes {glue:text}`b:,d` prompts and {glue:text}`a:.1f` nats."
)


def _page() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(TEXT), nbformat.v4.new_code_cell("x = 1")]
    return nb


def test_sentences_split_on_ends_and_paragraphs():
    assert pas.sentences("One. Two is $x$.\n\nThree! *Four.* (five)") == [
        "One.",
        "Two is $x$.",
        "Three!",
        "*Four.* (five)",
    ]


def test_only_glued_sentences_are_kept_and_filled():
    index = pas.BookIndex.build()
    found = pas.glued_sentences(_page(), PAGE, index, {"a": 0.754, "b": 12345})
    assert [f["keys"] for f in found] == [["a"], ["b", "a"]]
    assert found[0]["sentence"] == "It reaches 0.75 nats at $t = 6$."
    assert found[1]["sentence"] == "A second paragraph quotes 12,345 prompts and 0.8 nats."


def test_compare_lists_the_sentences_that_changed():
    index = pas.BookIndex.build()
    ci = {"scale": "ci", "pages": {PAGE: pas.glued_sentences(_page(), PAGE, index, {"a": 0.754, "b": 100})}}
    full = {"scale": "full", "pages": {PAGE: pas.glued_sentences(_page(), PAGE, index, {"a": 0.754, "b": 400})}}
    lines = pas.compare(ci, full)
    assert lines[0].endswith("1 of 2 glued sentences differ")
    assert lines[1:] == [
        "- ci: A second paragraph quotes 100 prompts and 0.8 nats.",
        "  full: A second paragraph quotes 400 prompts and 0.8 nats.",
    ]
