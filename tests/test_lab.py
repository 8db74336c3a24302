"""`make lab` starts JupyterLab as root, serves the chapters, and renders their MyST.

The test runs the README's command itself (``make lab`` with ``LAB_ARGS`` for a free port and no
token), so it covers the root handling of the Makefile and jupyterlab-myst's installation from
the lock file. Headless Chromium then opens one chapter in JupyterLab and checks what a reader
sees: the chapter's definition rendered as a block (not ``{prf:definition}`` text), an equation
typeset (not ``$$``), and none of the raw MyST that plain JupyterLab shows (``(ch-...)=``,
``:::{admonition}``, ``{cite}``).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import check_site

CHAPTER = "02_preliminaries/directed_information.ipynb"
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("lab")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    port = _free_port()
    # No autosave (the test must never rewrite a chapter) and no news pop-up over the page.
    settings = tmp_path_factory.mktemp("lab-settings")
    for plugin, value in {
        "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
        "@jupyterlab/apputils-extension/notification": {"fetchNews": "false"},
        "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},  # render every cell
    }.items():
        path = settings / f"{plugin}.jupyterlab-settings"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))
    args = f"--no-browser --ip=127.0.0.1 --port={port} --IdentityProvider.token= --ServerApp.password="
    (ROOT / "_build").mkdir(exist_ok=True)
    log = (ROOT / "_build" / "lab-test.log").open("w")  # open while the server runs
    proc = subprocess.Popen(
        ["make", "--no-print-directory", "lab", f"LAB_ARGS={args}"],
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        env={**os.environ, "JUPYTERLAB_SETTINGS_DIR": str(settings)},
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if proc.poll() is not None:
                pytest.fail(f"make lab exited with {proc.returncode} (as uid {os.getuid()}); see _build/lab-test.log")
            try:
                with urllib.request.urlopen(f"{base}/api/status", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("JupyterLab did not answer within 90 s")
            time.sleep(0.5)
        yield base
    finally:
        log.close()
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def test_make_lab_serves_the_chapters(lab):
    with urllib.request.urlopen(f"{lab}/api/contents/{CHAPTER}?content=0", timeout=10) as r:
        assert json.load(r)["type"] == "notebook"
    with urllib.request.urlopen(f"{lab}/lab/api/extensions", timeout=10) as r:
        names = {ext["name"] for ext in json.load(r)}
    assert "jupyterlab-myst" in names, f"jupyterlab-myst is not installed: {sorted(names)}"


def test_a_chapter_renders_its_myst(lab):
    before = (ROOT / "chapters" / CHAPTER).read_bytes()
    chromium = check_site.find_chromium()
    if chromium is None:
        pytest.skip(check_site.SKIP_MESSAGE)
    with check_site.open_browser(chromium) as context:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{lab}/lab/tree/{CHAPTER}", wait_until="domcontentloaded", timeout=90_000)
        page.wait_for_selector(".jp-Notebook .jp-MarkdownCell", timeout=90_000)
        # Render every markdown cell: JupyterLab renders lazily, cells far below stay unrendered.
        page.wait_for_function(
            "() => document.querySelectorAll('.jp-MarkdownCell mjx-container, .jp-MarkdownCell .katex').length > 5",
            timeout=90_000,
        )
        page.wait_for_timeout(3000)
        shown = page.evaluate(
            """() => {
              const md = Array.from(document.querySelectorAll('.jp-MarkdownCell'));
              const text = md.map(e => e.innerText).join('\\n');
              const blocks = Array.from(document.querySelectorAll('.jp-MarkdownCell [class*="proof"], .jp-MarkdownCell aside, .jp-MarkdownCell [class*="admonition"]'))
                .map(e => (e.innerText || e.textContent || "").trim().slice(0, 60));
              const math = document.querySelectorAll('.jp-MarkdownCell mjx-container, .jp-MarkdownCell .katex').length;
              return {text, blocks, math, cells: md.length};
            }"""
        )
        page.screenshot(path=str(ROOT / "_build" / "lab-test.png"))
    assert (ROOT / "chapters" / CHAPTER).read_bytes() == before, "opening the chapter in JupyterLab rewrote it"
    (ROOT / "_build" / "lab-test.txt").write_text(shown["text"])
    raw = [
        s
        for s in ("{prf:definition}", ":::{admonition}", "(ch-directed-information)=", "{cite}`", "$$")
        if s in shown["text"]
    ]
    assert not raw, f"raw MyST shown in JupyterLab: {raw}"
    definitions = [b for b in shown["blocks"] if b.lstrip().startswith("Definition")]
    assert definitions, f"no definition rendered as a block; blocks seen: {shown['blocks'][:8]}"
    assert shown["math"] > 0, "no typeset equation"
