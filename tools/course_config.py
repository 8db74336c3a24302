"""Write the course site's Jupyter Book configuration: the book's, with every solution left out.

Usage::

    python tools/course_config.py [--out _build/course/_config.yml]

``make book-course`` builds the site with this file (``jupyter-book build . --config ...``). It is
``_config.yml`` with three changes:

* sphinx-exercise's ``hide_solutions = True``, plus ``_ext/hide_gated_solutions.py``, which also
  removes the gated solutions (``solution-start`` ... ``solution-end`` cells) that sphinx-exercise
  1.2.1 leaves on the page;
* ``html_copy_source = False``: no ``_sources/`` copies of the pages (they hold the solutions);
* no download button (it offers the executed notebook, solutions included).

``tests/test_privacy.py`` builds a few pages with this configuration and scans the result.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = ROOT / "_build" / "course" / "_config.yml"


def course_config(book: Path = ROOT / "_config.yml") -> dict:
    """The course site's configuration, as a dictionary."""
    config = yaml.safe_load(book.read_text(encoding="utf-8"))
    sphinx = config["sphinx"]
    ext = str((ROOT / "_ext").resolve())
    sphinx["local_extensions"] = dict.fromkeys([*sphinx.get("local_extensions", {}), "hide_gated_solutions"], ext)
    sphinx.setdefault("config", {}).update(hide_solutions=True, html_copy_source=False)
    config.setdefault("html", {})["use_download_button"] = False
    return config


def write(out: Path = DEFAULT_OUT, book: Path = ROOT / "_config.yml") -> Path:
    """Write the course configuration to ``out`` and return it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as fh:
        yaml.safe_dump(course_config(book), fh, sort_keys=False, allow_unicode=True)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the configuration")
    args = parser.parse_args(argv)
    print(f"wrote {write(args.out.resolve())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
