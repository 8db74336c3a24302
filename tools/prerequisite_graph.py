"""Draw the chapters' prerequisite graph for the course guide.

Each chapter names, in the **Prerequisites** paragraph of its Overview box, the earlier chapters
it needs ({ref}`ch-...` links). This tool reads them and draws one arc per prerequisite, from the
chapter needed to the chapter that needs it, with the chapters in reading order.

Usage::

    python tools/prerequisite_graph.py          # write chapters/appendices/prerequisite_graph.svg
    python tools/prerequisite_graph.py --check  # exit 1 if the figure's edges are out of date

The edges are stored in the SVG's description metadata; ``tests/test_lectures.py`` checks them.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from execute_notebooks import toc_notebooks

FIGURE = ROOT / "chapters" / "appendices" / "prerequisite_graph.svg"
_REF = re.compile(r"\{ref\}`(?:[^`<]*<)?(ch-[a-z0-9-]+)>?`")


def chapters() -> list[tuple[str, str, str]]:
    """(label, title, part folder) of each chapter notebook, in reading order."""
    out = []
    for path in toc_notebooks():
        first = nbformat.read(path, as_version=4).cells[0].source
        label = re.search(r"^\((ch-[a-z0-9-]+)\)=", first, re.MULTILINE)
        title = re.search(r"^# (.+)$", first, re.MULTILINE)
        if label and title:
            out.append((label.group(1), title.group(1).strip(), path.parent.name))
    return out


def edges() -> list[tuple[str, str]]:
    """(needed, needing) pairs from every chapter's Prerequisites paragraph."""
    found = []
    for path in toc_notebooks():
        nb = nbformat.read(path, as_version=4)
        label = re.search(r"^\((ch-[a-z0-9-]+)\)=", nb.cells[0].source, re.MULTILINE)
        text = next((c.source for c in nb.cells if "{admonition} Overview" in c.source), "")
        match = re.search(r"\*\*Prerequisites:?\*\*:?(.*?)(?:\n\n|\Z)", text, re.DOTALL)
        if label and match:
            found += [(need, label.group(1)) for need in dict.fromkeys(_REF.findall(match.group(1)))]
    return found


def draw(path: Path = FIGURE) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Arc

    from semlib.plot import PALETTE, use_style

    use_style()
    plt.rcParams.update({"svg.hashsalt": "prerequisites", "svg.fonttype": "none"})
    nodes = chapters()
    index = {label: i for i, (label, _, _) in enumerate(nodes)}
    colours = dict(zip(dict.fromkeys(p for _, _, p in nodes), PALETTE.values()))
    fig, ax = plt.subplots(figsize=(10, 0.42 * len(nodes) + 0.6))
    for i, (_, title, part) in enumerate(nodes):
        ax.plot(0, -i, "o", color=colours[part], ms=7, zorder=3)
        ax.text(-0.4, -i, title, ha="right", va="center", fontsize=8.5)
    for need, needing in edges():
        a, b = index[need], index[needing]
        height = b - a
        ax.add_patch(
            Arc(
                (0, -(a + b) / 2),
                height * 0.9,
                height,
                theta1=-90,
                theta2=90,
                color=colours[nodes[a][2]],
                lw=1.1,
                alpha=0.8,
            )
        )
    ax.set_xlim(-11.5, 0.5 + 0.45 * max((index[b] - index[a] for a, b in edges()), default=1))
    ax.set_ylim(-len(nodes) + 0.4, 0.6)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, format="svg", metadata={"Date": None, "Description": json.dumps(edges())})
    # The PDF build takes the PDF twin (the figure is written `prerequisite_graph.*`), so that
    # `make pdf` needs no SVG converter.
    fig.savefig(path.with_suffix(".pdf"), format="pdf", metadata={"CreationDate": None, "ModDate": None})
    plt.close(fig)


def recorded_edges(path: Path = FIGURE) -> list[tuple[str, str]]:
    match = re.search(r"<dc:description>(.*?)</dc:description>", path.read_text(), re.DOTALL)
    return [tuple(e) for e in json.loads(match.group(1).replace("&quot;", '"'))] if match else []


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    if args.check:
        ok = FIGURE.is_file() and recorded_edges() == edges()
        print(
            "up to date" if ok else f"{FIGURE.relative_to(ROOT)} is out of date: run python tools/prerequisite_graph.py"
        )
        return 0 if ok else 1
    draw()
    print(f"wrote {FIGURE.relative_to(ROOT)} ({len(edges())} prerequisites)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
