"""Derive everything that names the book's repository from ONE setting: ``repository.url``
in ``_config.yml``.

Usage::

    python tools/publish_settings.py                 # derive from the setting as it is
    python tools/publish_settings.py --url URL       # set the setting to URL, then derive
    python tools/publish_settings.py --url ""        # unset it (the book is not published)
    python tools/publish_settings.py --check         # write nothing; exit 1 listing disagreements

``URL`` is the public repository, ``https://github.com/ORG/REPO`` (or on ``gitlab.com`` or
``bitbucket.org``, the hosts sphinx-book-theme recognises; Jupyter Book 1.x cannot pass it the
``repository_provider`` that any other host would need). ``repository.branch`` (default
``main``) and ``repository.path_to_book`` are read with it. Derived from them:

* ``html.use_repository_button`` and ``html.use_issues_button`` (issues: GitHub and GitLab
  only, the theme warns on others and the book builds with ``--warningiserror``);
* ``launch_buttons.binderhub_url`` (mybinder.org) and ``launch_buttons.colab_url`` (GitHub
  only, for the same reason);
* the first code cell of every notebook under ``chapters/``, the install cell tagged
  ``remove-cell``. Set: it installs ``forget-bit-token[notebooks]`` from
  ``git+URL@BRANCH``. Unset: it installs from the clone the notebook lies in (or says how
  to), never from a URL that leads nowhere.

While the URL is empty all of those buttons are off: an empty ``repository.url`` must stay in
``_config.yml`` (without it Jupyter Book falls back to its own repository's URL), and launch
buttons without a repository make sphinx-book-theme fail on every notebook page.

``_config.yml`` is edited line by line (only the keys above; comments and the rest of the
file are kept); notebooks are rewritten in the book's format (``json.dumps(indent=1)``).
``tests/test_packaging.py`` runs :func:`problems` and fails while anything disagrees.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DIST = "forget-bit-token"  # the distribution name (pyproject.toml); the import name is semlib
BINDERHUB_URL = "https://mybinder.org"
COLAB_URL = "https://colab.research.google.com"
HOSTS = {"github.com": "github", "gitlab.com": "gitlab", "bitbucket.org": "bitbucket"}
_URL = re.compile(r"https://(?P<host>[a-z.]+)/(?P<org>[A-Za-z0-9_.-]+)/(?P<repo>[A-Za-z0-9_.-]+)")

_HEADER = """\
# Outside the book's environment ({where})? Install the book's package first.
# In the book's own environment (`make lab`, `make test`) this cell does nothing.
# Written by tools/publish_settings.py from `repository.url` in _config.yml: edit that, not this.
"""

_CELL_PUBLISHED = """\
import importlib, importlib.util, subprocess, sys
if importlib.util.find_spec("semlib") is None:
    subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                    {requirement}],
                   check=True)
    importlib.invalidate_caches()"""

_CELL_UNPUBLISHED = """\
# The book has no public repository yet: install semlib (distribution forget-bit-token)
# from the clone of the book this notebook lies in.
import importlib, importlib.util, pathlib, subprocess, sys
if importlib.util.find_spec("semlib") is None:
    here = pathlib.Path.cwd().resolve()
    root = next((p for p in (here, *here.parents)
                 if (p / "pyproject.toml").is_file() and (p / "semlib" / "__init__.py").is_file()), None)
    if root is None:
        raise ModuleNotFoundError("semlib is not installed: in a clone of the book, run "
                                  "`pip install -e '.[notebooks]'` (or `make lab`) and restart the kernel")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"{root}[notebooks]"], check=True)
    importlib.invalidate_caches()"""


def read_config(root: Path = ROOT) -> dict:
    return yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8")) or {}


def repository(config: dict) -> tuple[str, str, str]:
    """``(url, branch, path_to_book)`` from the ``repository`` table; url is "" when unset."""
    repo = config.get("repository") or {}
    url = (repo.get("url") or "").strip()
    branch = str(repo.get("branch") or "main").strip()
    path = str(repo.get("path_to_book") or "").strip().strip("/")
    return url, branch, path


def provider(url: str) -> str:
    """The theme's provider for ``url`` (github, gitlab or bitbucket); ValueError otherwise."""
    match = _URL.fullmatch(url)
    if match is None or match["repo"].endswith(".git") or match["host"] not in HOSTS:
        raise ValueError(
            f"repository.url {url!r} is not https://HOST/ORG/REPO with HOST one of {sorted(HOSTS)} "
            "(no trailing slash or .git); leave it empty while the book has no public repository"
        )
    return HOSTS[match["host"]]


def derived_config(url: str) -> dict[tuple[str, str], object]:
    """The ``_config.yml`` keys, as (table, key), that follow from the repository URL."""
    kind = provider(url) if url else None
    return {
        ("html", "use_repository_button"): bool(url),
        ("html", "use_issues_button"): kind in ("github", "gitlab"),
        ("launch_buttons", "binderhub_url"): BINDERHUB_URL if url else "",
        ("launch_buttons", "colab_url"): COLAB_URL if kind == "github" else "",
    }


def install_cell(url: str, branch: str = "main", path_to_book: str = "") -> str:
    """The source of every notebook's install cell for this repository (unset: "")."""
    if not url:
        return _HEADER.format(where="a fresh kernel") + _CELL_UNPUBLISHED
    provider(url)
    requirement = f"{DIST}[notebooks] @ git+{url}@{branch}"
    if path_to_book:
        requirement += f"#subdirectory={path_to_book}"
    return _HEADER.format(where="Colab, Binder, a fresh kernel") + _CELL_PUBLISHED.format(
        requirement=json.dumps(requirement)
    )


def notebooks(root: Path = ROOT) -> list[Path]:
    return sorted(p for p in (root / "chapters").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts)


def _first_code_cell(nb: dict, path: Path) -> dict:
    cell = next((c for c in nb["cells"] if c["cell_type"] == "code"), None)
    if cell is None or "remove-cell" not in cell.get("metadata", {}).get("tags", []):
        raise ValueError(f"{path}: the first code cell is not the install cell (tagged remove-cell)")
    return cell


def _yaml_scalar(value: object) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else json.dumps(value)


def set_config_key(text: str, table: str, key: str, value: object) -> str:
    """``text`` (a _config.yml) with ``table.key`` set to ``value``, every other line as it was.

    The key is replaced in place (a trailing comment is kept) or, if absent, added as the
    table's first key; a missing table is appended at the end of the file.
    """
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if re.match(rf"{re.escape(table)}:\s*(#.*)?$", line)), None)
    if start is None:
        sep = "" if not text or text.endswith("\n") else "\n"
        return f"{text}{sep}\n{table}:\n  {key}: {_yaml_scalar(value)}\n"
    end = start + 1
    while end < len(lines) and (lines[end].startswith((" ", "\t")) or not lines[end].strip()):
        end += 1
    # the table's own keys are the lines at its first key's indent (deeper lines are nested values)
    indent = next(
        (re.match(r"[ \t]+", lines[i])[0] for i in range(start + 1, end) if lines[i].strip()[:1] not in ("", "#")),
        "  ",
    )
    pattern = re.compile(rf"{re.escape(indent)}{re.escape(key)}:(?P<value>[^#\n]*?)(?P<comment>[ \t]+#.*)?\n?$")
    for i in range(start + 1, end):
        match = pattern.match(lines[i])
        if match:
            newline = "\n" if lines[i].endswith("\n") else ""
            lines[i] = f"{indent}{key}: {_yaml_scalar(value)}{match['comment'] or ''}{newline}"
            return "".join(lines)
    lines.insert(start + 1, f"{indent}{key}: {_yaml_scalar(value)}\n")
    return "".join(lines)


def problems(root: Path = ROOT) -> list[str]:
    """Every way in which _config.yml and the install cells disagree with ``repository.url``."""
    config = read_config(root)
    url, branch, path = repository(config)
    found = []
    try:
        wanted = derived_config(url)
        cell = install_cell(url, branch, path)
    except ValueError as error:
        return [str(error)]
    if "url" not in (config.get("repository") or {}):
        found.append(
            '_config.yml: repository.url is missing (write url: "" while unset, or Jupyter Book '
            "uses its own repository's URL)"
        )
    for (table, key), value in wanted.items():
        have = (config.get(table) or {}).get(key)
        if have != value and not (value == "" and have is None):
            found.append(f"_config.yml: {table}.{key} is {have!r}, repository.url {url!r} gives {value!r}")
    for nb_path in notebooks(root):
        rel = nb_path.relative_to(root)
        try:
            source = "".join(_first_code_cell(json.loads(nb_path.read_text(encoding="utf-8")), rel)["source"])
        except ValueError as error:
            found.append(str(error))
            continue
        if source != cell:
            found.append(f"{rel}: the install cell is not the one repository.url {url!r} gives")
    return found


def apply(root: Path = ROOT, url: str | None = None) -> list[Path]:
    """Set ``repository.url`` (if ``url`` is given) and rewrite what derives from it.

    Returns the files that changed. Raises ValueError for a URL the theme cannot use.
    """
    config_path = root / "_config.yml"
    text = original = config_path.read_text(encoding="utf-8")
    if url is not None:
        url = url.strip()
        if url:
            provider(url)
        text = set_config_key(text, "repository", "url", url)
    config = yaml.safe_load(text) or {}
    url, branch, path = repository(config)
    if "url" not in (config.get("repository") or {}):
        text = set_config_key(text, "repository", "url", "")
    for (table, key), value in derived_config(url).items():
        text = set_config_key(text, table, key, value)
    # everything is computed (and every notebook checked) before anything is written
    writes = {config_path: text} if text != original else {}
    cell = install_cell(url, branch, path)
    for nb_path in notebooks(root):
        nb = json.loads(nb_path.read_text(encoding="utf-8"))
        first = _first_code_cell(nb, nb_path.relative_to(root))
        if "".join(first["source"]) != cell:
            first["source"] = cell.splitlines(keepends=True)
            writes[nb_path] = json.dumps(nb, indent=1, ensure_ascii=False) + "\n"
    for target, content in writes.items():
        target.write_text(content, encoding="utf-8")
    return list(writes)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help='the repository URL to set ("" unsets it)')
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if anything disagrees")
    parser.add_argument("--root", type=Path, default=ROOT, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.check:
        if args.url is not None:
            parser.error("--check takes no --url")
        found = problems(args.root)
        for line in found:
            print(line)
        return 1 if found else 0
    try:
        changed = apply(args.root, args.url)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    url = repository(read_config(args.root))[0]
    print(f"repository.url = {url!r}" + ("" if url else " (unset: no repository or launch buttons)"))
    for path in changed:
        print(f"rewrote {path.relative_to(args.root)}")
    if not changed:
        print("everything already agrees")
    return 0


if __name__ == "__main__":
    sys.exit(main())
