"""Give the paper's numbers to the paper's statements and equations.

Sphinx numbers definitions, theorems and equations in reading order across
the book. The book restates the paper's Definition 2 or Eq. (5) out of that
order (and adds statements of its own), so reading-order numbers would not
match the paper. This extension overrides them by label:

========================  =========================  =================
label                     node                        shown as
========================  =========================  =================
``paper-def-2``           ``prf:definition``          Definition 2
``paper-thm-5``           ``prf:theorem``             Theorem 5
``paper-lem-1``           ``prf:lemma``               Lemma 1
``paper-cor-3``           ``prf:corollary``           Corollary 3
``paper-rem-2``           ``prf:remark``              Remark 2
``paper-eq-5``            labelled display math       (5)
anything else numbered    same kinds                  B.1, B.2, ... (the book's own)
========================  =========================  =================

A ``paper-*`` label on the wrong kind of node, or the same paper number used
twice for the same kind, is reported as a warning (an error under ``-W``).
"""

from __future__ import annotations

import re

from sphinx.application import Sphinx
from sphinx.environment import BuildEnvironment
from sphinx.util import logging

logger = logging.getLogger(__name__)

KINDS = {
    "def": "definition",
    "thm": "theorem",
    "lem": "lemma",
    "cor": "corollary",
    "rem": "remark",
    "eq": "displaymath",
}
PAPER_LABEL = re.compile(r"^(?:equation-)?paper-(def|thm|lem|cor|rem|eq)-(\d+)$")


def renumber(app: Sphinx, env: BuildEnvironment) -> list[str]:
    tracked = set(KINDS.values())
    seen: dict[tuple[str, int], str] = {}
    own_counter: dict[str, int] = {}
    # toc_fignumbers is filled by walking the toctree, so its order is the reading order
    for docname in list(env.toc_fignumbers):
        for kind, numbers in env.toc_fignumbers[docname].items():
            if kind not in tracked:
                continue
            for node_id in sorted(numbers, key=lambda i: numbers[i]):
                match = PAPER_LABEL.match(node_id)
                if match:
                    expected = KINDS[match.group(1)]
                    number = int(match.group(2))
                    if expected != kind:
                        logger.warning(
                            f"label {node_id!r} is for a {expected}, but it is on a {kind}", location=docname
                        )
                    key = (kind, number)
                    if key in seen and seen[key] != docname:
                        logger.warning(
                            f"paper {kind} {number} is stated twice (also in {seen[key]!r}); "
                            "restate it once and refer to it elsewhere",
                            location=docname,
                        )
                    seen[key] = docname
                    numbers[node_id] = (number,)
                else:
                    own_counter[kind] = own_counter.get(kind, 0) + 1
                    numbers[node_id] = ("B", own_counter[kind])
    return []


def setup(app: Sphinx) -> dict:
    # after Sphinx's own TocTreeCollector has assigned reading-order numbers
    app.connect("env-get-updated", renumber, priority=900)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
