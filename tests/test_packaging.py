"""The package's name, version and build, and the book's one publishing setting.

* The distribution is ``forget-bit-token`` (``semlib`` on PyPI is an unrelated project), the
  import name stays ``semlib``, and its version has one source (``semlib.__version__``).
* ``repository.url`` in ``_config.yml`` is the one setting from which the repository and
  launch buttons and every notebook's install cell derive (``tools/publish_settings.py``);
  nothing may disagree with it, and while it is empty nothing may lead to a repository.
* A wheel built from the checkout (offline, no build isolation) is named as chosen.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import re
import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import semlib

ROOT = Path(__file__).resolve().parents[1]
DIST = "forget-bit-token"


def _load_tool():
    path = ROOT / "tools" / "publish_settings.py"
    spec = importlib.util.spec_from_file_location("publish_settings", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


publish = _load_tool()


@pytest.fixture(scope="module")
def pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_distribution_name_is_ours(pyproject):
    project = pyproject["project"]
    assert project["name"] == DIST == publish.DIST
    assert canonicalize_name(project["name"]) != "semlib"
    assert pyproject["tool"]["setuptools"]["packages"] == ["semlib"]  # the import name is unchanged
    # the installed distribution is the one that provides the semlib package
    assert DIST in importlib.metadata.packages_distributions().get("semlib", [])


def test_version_has_one_source(pyproject):
    project = pyproject["project"]
    assert "version" not in project and "version" in project.get("dynamic", [])
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "semlib.__version__"}
    assert importlib.metadata.version(DIST) == semlib.__version__, (
        "the installed metadata is stale: run `.venv/bin/pip install --no-deps --no-build-isolation -e .`"
    )


def test_build_system_can_read_the_licence_expression(pyproject):
    build = pyproject["build-system"]
    assert build["build-backend"] == "setuptools.build_meta"
    setuptools = [Requirement(r) for r in build["requires"] if Requirement(r).name == "setuptools"]
    assert len(setuptools) == 1
    spec = setuptools[0].specifier
    assert "77.0" in spec and "76.9" not in spec and "68.0" not in spec  # PEP 639 needs setuptools>=77
    assert pyproject["project"]["license"] == "MIT"


def test_publish_settings_agree_with_repository_url():
    problems = publish.problems(ROOT)
    assert not problems, "run `python tools/publish_settings.py`:\n" + "\n".join(problems)


def test_no_button_or_install_leads_nowhere_while_unset():
    config = publish.read_config(ROOT)
    url = publish.repository(config)[0]
    if url:
        pytest.skip(f"the book is published at {url}")
    assert "url" in config["repository"], "without repository.url Jupyter Book uses its own repository"
    html, launch = config.get("html", {}), config.get("launch_buttons", {})
    assert not html.get("use_repository_button") and not html.get("use_issues_button")
    assert not html.get("use_edit_page_button")
    for key in ("binderhub_url", "jupyterhub_url", "colab_url", "deepnote_url", "thebe"):
        assert not launch.get(key), f"launch_buttons.{key} is set but the book has no repository"
    for nb in publish.notebooks(ROOT):
        text = nb.read_text(encoding="utf-8")
        assert "git+" not in text and "semlib-book/forget-bit-token" not in text, nb


def test_theme_gets_no_repository_while_unset():
    """What Jupyter Book 1.x hands the theme: no fallback to its own repository URL."""
    jb_config = pytest.importorskip("jupyter_book.config")
    config = publish.read_config(ROOT)
    url = publish.repository(config)[0]
    sphinx_config, _ = jb_config.get_final_config(
        user_yaml=config, cli_config={"latex_individualpages": False}, sourcedir=ROOT, validate=False
    )
    theme = sphinx_config["html_theme_options"]
    assert theme["repository_url"] == url
    launch = theme.get("launch_buttons", {})
    if not url:
        assert not any(launch.get(k) for k in ("binderhub_url", "jupyterhub_url", "colab_url", "thebe"))
        assert not any(theme.get(k) for k in ("use_repository_button", "use_issues_button", "use_edit_page_button"))


@pytest.mark.parametrize(
    "url, repo_button, issues, binder, colab",
    [
        ("", False, False, "", ""),
        ("https://github.com/org/book", True, True, publish.BINDERHUB_URL, publish.COLAB_URL),
        ("https://gitlab.com/org/book", True, True, publish.BINDERHUB_URL, ""),
        ("https://bitbucket.org/org/book", True, False, publish.BINDERHUB_URL, ""),
    ],
)
def test_derived_buttons(url, repo_button, issues, binder, colab):
    assert publish.derived_config(url) == {
        ("html", "use_repository_button"): repo_button,
        ("html", "use_issues_button"): issues,
        ("launch_buttons", "binderhub_url"): binder,
        ("launch_buttons", "colab_url"): colab,
    }


@pytest.mark.parametrize(
    "url",
    [
        "https://example.org/org/book",
        "https://github.com/org/book.git",
        "https://github.com/org/book/",
        "github.com/org/book",
        "https://github.com/org",
    ],
)
def test_unusable_url_is_refused(url):
    with pytest.raises(ValueError, match="repository.url"):
        publish.derived_config(url)


def _run_cell(source: str, cwd: Path, monkeypatch) -> list[list[str]]:
    """Run an install cell as if semlib were missing; return the commands it would run."""
    calls = []
    monkeypatch.chdir(cwd)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    monkeypatch.setattr(subprocess, "run", lambda args, **kw: calls.append(list(args)))
    exec(compile(source, "<install cell>", "exec"), {})  # noqa: S102 -- the cell is the code under test
    return calls


def test_unpublished_cell_installs_from_the_clone(monkeypatch, tmp_path):
    source = publish.install_cell("")
    calls = _run_cell(source, ROOT / "chapters" / "01_bits_to_tokens", monkeypatch)
    assert calls == [[sys.executable, "-m", "pip", "install", "-q", f"{ROOT}[notebooks]"]]
    # outside a clone it says what to do instead of installing anything
    with pytest.raises(ModuleNotFoundError, match=r"pip install -e '\.\[notebooks\]'"):
        _run_cell(source, tmp_path, monkeypatch)


def test_published_cell_installs_from_the_repository(monkeypatch, tmp_path):
    source = publish.install_cell("https://github.com/org/book", "main", "")
    (command,) = _run_cell(source, tmp_path, monkeypatch)
    assert command[:5] == [sys.executable, "-m", "pip", "install", "-q"]
    requirement = Requirement(command[5])
    assert requirement.name == DIST and requirement.extras == {"notebooks"}
    assert requirement.url == "git+https://github.com/org/book@main"
    sub = publish.install_cell("https://github.com/org/book", "dev", "book")
    assert "git+https://github.com/org/book@dev#subdirectory=book" in sub


def test_tool_sets_and_unsets_the_url(tmp_path):
    """Setting the URL rewrites only the derived keys and cells; unsetting restores every byte."""
    (tmp_path / "chapters").mkdir()
    shutil.copy(ROOT / "_config.yml", tmp_path / "_config.yml")
    for nb in publish.notebooks(ROOT)[:2]:
        shutil.copy(nb, tmp_path / "chapters" / nb.name)
    publish.apply(tmp_path, "")
    before = {p: p.read_bytes() for p in [tmp_path / "_config.yml", *publish.notebooks(tmp_path)]}
    assert publish.problems(tmp_path) == []

    publish.apply(tmp_path, "https://github.com/org/book")
    assert publish.problems(tmp_path) == []
    config = publish.read_config(tmp_path)
    assert config["repository"]["url"] == "https://github.com/org/book"
    assert config["html"]["use_repository_button"] is True
    assert config["launch_buttons"]["colab_url"] == publish.COLAB_URL
    changed = [
        line
        for line in (tmp_path / "_config.yml").read_text().splitlines()
        if line not in before[tmp_path / "_config.yml"].decode().splitlines()
    ]
    assert len(changed) == 5, changed  # url, two buttons, two launch buttons
    for nb in publish.notebooks(tmp_path):
        cells = json.loads(nb.read_text())["cells"]
        old = json.loads(before[nb])["cells"]
        assert [i for i, (a, b) in enumerate(zip(cells, old)) if a != b] == [
            next(i for i, c in enumerate(old) if c["cell_type"] == "code")
        ]

    publish.apply(tmp_path, "")
    assert {p: p.read_bytes() for p in before} == before


def test_no_instruction_installs_the_pypi_semlib():
    """`pip install semlib` would install the unrelated project of that name."""
    pattern = re.compile(r"pip install[^\n`]*?(?<![\w.-])semlib(?![\w-])")
    files = [
        ROOT / "README.md",
        ROOT / "environment.yml",
        ROOT / "postBuild",
        ROOT / "CONTRIBUTING.md",
        *sorted((ROOT / "chapters").rglob("*.md")),
        *publish.notebooks(ROOT),
    ]
    offenders = [
        f"{p.relative_to(ROOT)}: {m.group(0)}"
        for p in files
        if p.is_file()
        for m in pattern.finditer(p.read_text(encoding="utf-8"))
    ]
    assert not offenders, offenders


@pytest.mark.slow
def test_wheel_is_named_as_chosen(tmp_path):
    """Build a wheel from a copy of the checkout: offline, no build isolation (about 10 s)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "semlib", src / "semlib", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    out = tmp_path / "wheels"
    command = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--no-deps",
        "--no-build-isolation",
        "--no-index",
        "--quiet",
        "--wheel-dir",
        str(out),
        str(src),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    (wheel,) = out.glob("*.whl")
    assert wheel.name == f"forget_bit_token-{semlib.__version__}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        meta_name = f"forget_bit_token-{semlib.__version__}.dist-info/METADATA"
        metadata = Parser().parsestr(zf.read(meta_name).decode())
    assert metadata["Name"] == DIST
    assert metadata["Version"] == semlib.__version__
    assert metadata["License-Expression"] == "MIT"
    assert "semlib/__init__.py" in names
    assert not any(n.startswith(("tests/", "tools/", "chapters/")) for n in names)
