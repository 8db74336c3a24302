"""Make semlib's NumPy docstrings safe to render many to a page (the API reference appendix).

Docstrings number their references ``.. [1]`` and cite them ``[1]_``, as numpydoc and scipy do.
Rendered many to a page, these footnotes break twice: two docstrings that both define ``[1]``
collide ("duplicate explicit target name"), and MyST, which owns the page, reports every footnote
reference that has no *Markdown* definition. Before autodoc renders a docstring, this extension
turns its reference list into a line block (``| [1] L. Ouyang et al., ...``) and its citations
into the plain text ``[1]``: each docstring keeps its numbered list, exactly as ``help()`` shows
it, and a function citing a number it does not define refers to its module's list, shown at the
top of the same page.
"""

from __future__ import annotations

import re

_DEF = re.compile(r"^(\s*)\.\. \[(\d+)\]")
_REF = re.compile(r"\[(\d+)\]_")


def plain_references(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        line = _DEF.sub(lambda m: f"{m.group(1)}| [{m.group(2)}]", line)
        lines[i] = _REF.sub(lambda m: f"[{m.group(1)}]", line)


def setup(app):
    app.setup_extension("sphinx.ext.autodoc")
    app.connect("autodoc-process-docstring", plain_references)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
