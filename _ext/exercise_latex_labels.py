"""Cross-page references to exercises in the PDF.

sphinx-exercise labels an exercise in LaTeX as ``exercise:<label>`` and resolves a reference
from the same page to ``\\hyperref[exercise:<label>]{Exercise <n>}``. A reference from another
page goes through Sphinx's standard ``ref`` role instead, which writes
``\\hyperref[<docname>:<label>]{Exercise \\ref{<docname>:<label>}}``: no such label exists, and
the PDF printed "Exercise ??". After the LaTeX writer has run, this extension rewrites those
references into sphinx-exercise's own form, with the number the site shows (Sphinx's figure
numbering of the exercise). Other builders are left alone.
"""

from __future__ import annotations

import re
from pathlib import Path

_CROSS_REF = re.compile(
    r"\\hyperref\[\\detokenize\{(?P<doc>[^}:]+):(?P<label>[^}]+)\}\]"
    r"\{Exercise \\ref\{\\detokenize\{(?P=doc):(?P=label)\}\}\}"
)


def resolve_cross_page_refs(text: str, numbers: dict[str, str]) -> str:
    """``text`` with each cross-page exercise reference written as ``\\hyperref[exercise:<label>]{Exercise <n>}``.

    ``numbers`` maps an exercise label to its number; a label without one is left as it is.
    """

    def own_form(match: re.Match) -> str:
        number = numbers.get(match["label"])
        if not number:
            return match.group(0)
        return rf"\hyperref[exercise:{match['label']}]{{Exercise {number}}}"

    return _CROSS_REF.sub(own_form, text)


def exercise_numbers(env) -> dict[str, str]:
    """Each registered exercise's number, as Sphinx numbered it (``toc_fignumbers``)."""
    numbers = {}
    for label, info in getattr(env, "sphinx_exercise_registry", {}).items():
        number = env.toc_fignumbers.get(info.get("docname", ""), {}).get("exercise", {}).get(label, ())
        if number:
            numbers[label] = ".".join(map(str, number))
    return numbers


def _patch(app, exception) -> None:
    if exception is not None or app.builder.name != "latex":
        return
    numbers = exercise_numbers(app.env)
    for tex in Path(app.outdir).glob("*.tex"):
        text = tex.read_text(encoding="utf-8")
        patched = resolve_cross_page_refs(text, numbers)
        if patched != text:
            tex.write_text(patched, encoding="utf-8")


def setup(app):
    app.connect("build-finished", _patch)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
