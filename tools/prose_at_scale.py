"""The sentences of a page that quote computed numbers, as the reader sees them at one scale.

Every number the prose quotes from a computation is glued (``tests/test_glue.py``), so a page
rebuilt at ``SEMLIB_SCALE=full`` quotes the full-scale numbers. What glue cannot guarantee is that
the *words* around them stay true ("below at every m", "negative here"). This tool makes that
reading quick: it renders each glued sentence with the values of the executed notebook (the
build's cache, executing if needed) and, given two renderings, prints the sentences that differ.

Usage::

    python tools/prose_at_scale.py --out ci.json chapters/04_token_semantics/rip_distortion.ipynb
    SEMLIB_SCALE=full python tools/prose_at_scale.py --out full.json chapters/04_token_semantics/rip_distortion.ipynb
    python tools/prose_at_scale.py --compare ci.json full.json

The comparison lists, page by page, each sentence whose numbers changed, at both scales.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "tests")]

from plain_markdown import BookIndex, glue_values, plain_notebook

#: Where a sentence ends: after . ! or ? and space, before a capital, a formula, emphasis or a link.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z*$(\[_])")
#: How plain_markdown shows a glued value it was not given.
_PLACEHOLDER = re.compile(r"⟨[^⟩]+⟩")


def sentences(text: str) -> list[str]:
    """Split rendered Markdown into sentences (paragraphs first, then sentence ends)."""
    out: list[str] = []
    for paragraph in re.split(r"\n\s*\n", text):
        flat = " ".join(paragraph.split())
        out.extend(s for s in _SENTENCE_END.split(flat) if s)
    return out


def glued_sentences(nb: nbformat.NotebookNode, page: str, index: BookIndex, glue: dict) -> list[dict]:
    """The sentences of ``nb``'s prose that quote a glued value, rendered with ``glue``.

    The page is rendered twice, with the values and without them (plain_markdown then writes
    ``⟨key⟩``); the sentences that hold a placeholder in the second rendering are the glued ones.
    """
    filled = plain_notebook(nb, page, index, glue=glue)
    bare = plain_notebook(nb, page, index, glue=None)
    found = []
    for cell_filled, cell_bare in zip(filled.cells, bare.cells):
        if cell_filled.cell_type != "markdown":
            continue
        with_values, placeholders = sentences(cell_filled.source), sentences(cell_bare.source)
        if len(with_values) != len(placeholders):  # a value that ends a sentence: keep the paragraph
            with_values, placeholders = [" ".join(with_values)], [" ".join(placeholders)]
        for text, bare_text in zip(with_values, placeholders):
            keys = [k[1:-1] for k in _PLACEHOLDER.findall(bare_text)]
            if keys:
                found.append({"keys": keys, "sentence": text})
    return found


def render(paths: list[Path]) -> dict:
    from execute_notebooks import ensure_executed

    index = BookIndex.build()
    pages = {}
    for path in paths:
        path = path.resolve()
        page = str(path.relative_to(ROOT).with_suffix(""))
        executed = ensure_executed(path)[1]
        pages[page] = glued_sentences(nbformat.read(path, as_version=4), page, index, glue_values(executed))
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], check=False, capture_output=True, text=True, cwd=ROOT
    )
    return {"scale": os.environ.get("SEMLIB_SCALE", "ci"), "commit": commit.stdout.strip(), "pages": pages}


def compare(a: dict, b: dict) -> list[str]:
    """Lines that show, page by page, each glued sentence that reads differently in ``a`` and ``b``."""
    lines = []
    for page in sorted(set(a["pages"]) & set(b["pages"])):
        pairs = list(zip(a["pages"][page], b["pages"][page]))
        changed = [(x, y) for x, y in pairs if x["sentence"] != y["sentence"]]
        lines.append(f"## {page}: {len(changed)} of {len(pairs)} glued sentences differ")
        for x, y in changed:
            lines += [f"- {a['scale']}: {x['sentence']}", f"  {b['scale']}: {y['sentence']}"]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--out", type=Path, help="write the rendering here (JSON); default: print it")
    parser.add_argument("--compare", nargs=2, type=Path, metavar=("A", "B"), help="two renderings to compare")
    args = parser.parse_args(argv)
    if args.compare:
        a, b = (json.loads(p.read_text()) for p in args.compare)
        print("\n".join(compare(a, b)))
        return 0
    if not args.notebooks:
        parser.error("name the notebooks to render, or --compare two renderings")
    result = render(args.notebooks)
    text = json.dumps(result, indent=1, ensure_ascii=False)
    if args.out:
        args.out.write_text(text + "\n")
        print(f"wrote {args.out}: {sum(map(len, result['pages'].values()))} glued sentences")
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
