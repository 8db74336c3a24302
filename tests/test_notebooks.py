"""Every chapter notebook runs top to bottom: a check cell that raises fails the test.

Each notebook is executed **once** per ``make test``, by ``tools/execute_notebooks.py``: the
same executor and settings as the site build, whose notebook cache it fills, so the site test
(``tests/test_site.py``) that builds the book afterwards executes nothing again. Under
``pytest -n 2`` the notebooks run two at a time, longest first (``--dist worksteal``).

The unit tests of the executor's cache, at the end, show that a notebook is not executed
twice, that a change to ``semlib`` gives a fresh cache (no stale outputs on the site), and
that a failing cell is reported with its traceback and not cached.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


ex = _load("execute_notebooks", ROOT / "tools" / "execute_notebooks.py")
exec_cache = ex.exec_cache

NOTEBOOKS = sorted(ex.toc_notebooks(), key=ex.expected_seconds, reverse=True)


# (Under pytest -n 2, tests/conftest.py gives every kernel one OpenMP/BLAS thread.)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[str(p.relative_to(ROOT / "chapters")) for p in NOTEBOOKS])
def test_notebook_runs_and_its_checks_pass(path):
    try:
        _done, nb = ex.ensure_executed(path)
    except ex.NotebookFailed as err:
        pytest.fail(str(err), pytrace=False)
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, f"{path.name}: error outputs in the executed notebook: {errors[:1]}"
    code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
    assert all(c.get("execution_count") for c in code), "a code cell of the executed notebook never ran"
    reprs = [
        (c.get("id"), NUMPY_REPR.search(text).group(0))
        for c in code
        for o in c.get("outputs", [])
        for text in (o.get("text", ""), o.get("data", {}).get("text/plain", ""))
        if NUMPY_REPR.search(text)
    ]
    assert not reprs, f"outputs show numpy reprs, print plain numbers (f-strings, float()): {reprs[:3]}"


#: numpy 2 prints scalars as ``np.float64(0.53)``; the book's outputs show plain numbers.
NUMPY_REPR = re.compile(r"\bnp\.(?:float|int|uint|bool_|complex|str_)\d*\(")


# --------------------------------------------------------------------------- the cache itself


def _tiny_repo(tmp_path: Path, body: str = "VALUE = 1\n") -> Path:
    root = tmp_path / "repo"
    (root / "semlib").mkdir(parents=True)
    (root / "semlib" / "__init__.py").write_text(body)
    (root / "requirements").mkdir()
    (root / "requirements" / "lock.txt").write_text("numpy==2.0\n")
    (root / "_config.yml").write_text("execute:\n  timeout: 60\n  allow_errors: false\n")
    return root


def _notebook(folder: Path, *sources: str) -> Path:
    nb = new_notebook(cells=[new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "nb.ipynb"
    nbformat.write(nb, path)
    return path


def test_fingerprint_follows_semlib_the_lock_and_the_scale(tmp_path):
    root = _tiny_repo(tmp_path)
    base = exec_cache.fingerprint(root, environ={})
    assert exec_cache.fingerprint(root, environ={}) == base  # deterministic
    (root / "semlib" / "__init__.py").write_text("VALUE = 2\n")
    changed_source = exec_cache.fingerprint(root, environ={})
    assert changed_source != base
    (root / "semlib" / "new.py").write_text("")
    assert exec_cache.fingerprint(root, environ={}) != changed_source  # a new module counts
    now = exec_cache.fingerprint(root, environ={})
    (root / "requirements" / "lock.txt").write_text("numpy==2.1\n")
    assert exec_cache.fingerprint(root, environ={}) != now
    now = exec_cache.fingerprint(root, environ={})
    assert exec_cache.fingerprint(root, environ={"SEMLIB_SCALE": "full"}) != now
    (root / "semlib" / "__pycache__").mkdir()
    (root / "semlib" / "__pycache__" / "x.pyc").write_bytes(b"\0")
    assert exec_cache.fingerprint(root, environ={}) == now  # bytecode is not source


def test_prune_keeps_only_the_current_cache(tmp_path):
    cache = tmp_path / ".jupyter_cache"
    old, current = cache / ("a" * 16), cache / ("b" * 16)
    for folder in (old, current, cache / "executed"):
        folder.mkdir(parents=True)
    assert exec_cache.prune(current) == [old]
    assert current.is_dir() and (cache / "executed").is_dir() and not old.exists()


def test_the_site_build_reads_the_cache_the_tests_fill(tmp_path):
    class App:
        srcdir = str(tmp_path)
        outdir = str(tmp_path / "_build" / "course" / "_build" / "html")  # any builder: one cache

    class Config:
        nb_execution_cache_path = ""

    exec_cache._set_cache_path(App, Config)
    assert Path(Config.nb_execution_cache_path) == exec_cache.cache_path(tmp_path / "_build")
    assert Path(Config.nb_execution_cache_path).is_dir()


@pytest.mark.slow
def test_a_notebook_is_executed_once_and_again_after_semlib_changes(tmp_path):
    root = _tiny_repo(tmp_path)
    build = root / "_build"
    # the cell records each execution in a file, so the test counts real kernel runs
    path = _notebook(
        root,
        "from pathlib import Path\nlog = Path('runs.txt')\n"
        "log.write_text(log.read_text() + 'x' if log.exists() else 'x')",
    )
    first, _ = ex.ensure_executed(path, build=build, root=root)
    second, nb = ex.ensure_executed(path, build=build, root=root)
    assert (first.cached, second.cached) == (False, True)
    assert (root / "runs.txt").read_text() == "x"  # the cached call ran nothing
    assert nb.cells[0].execution_count == 1
    (root / "semlib" / "__init__.py").write_text("VALUE = 3\n")  # semlib changed: outputs are stale
    third, _ = ex.ensure_executed(path, build=build, root=root)
    assert not third.cached and (root / "runs.txt").read_text() == "xx"


@pytest.mark.slow
def test_a_failing_cell_is_reported_and_not_cached(tmp_path):
    root = _tiny_repo(tmp_path)
    build = root / "_build"
    path = _notebook(root, "x = 1", "# check: a failing check\nassert x == 2, 'x is not 2'")
    with pytest.raises(ex.NotebookFailed, match="x is not 2"):
        ex.ensure_executed(path, build=build, root=root)
    with pytest.raises(ex.NotebookFailed):  # not cached: the second call executes and fails again
        ex.ensure_executed(path, build=build, root=root)


@pytest.mark.slow
def test_the_startup_timeout_does_not_bound_cells(tmp_path, monkeypatch):
    # nbclient's kernel_info wait gets the short STARTUP_TIMEOUT; cells keep the cell timeout
    monkeypatch.setattr(ex, "STARTUP_TIMEOUT", 1)
    root = _tiny_repo(tmp_path)
    path = _notebook(root, "import time\ntime.sleep(2.5)\nx = 1")
    done, nb = ex.ensure_executed(path, build=root / "_build", root=root)
    assert not done.cached and done.seconds > 2.5 and nb.cells[0].execution_count == 1


@pytest.mark.slow
def test_a_notebook_another_process_executes_is_passed_over_then_waited_for(tmp_path):
    """ensure_executed(wait=False) returns None while the notebook's lock is held elsewhere;
    ensure_all_executed runs the free notebook first and then waits for the locked one."""
    import hashlib
    import threading

    from filelock import FileLock

    root = _tiny_repo(tmp_path)
    build = root / "_build"
    first = _notebook(root, "x = 1")
    second = first.with_name("second.ipynb")
    nbformat.write(nbformat.read(first, as_version=4), second)
    cache_dir, _ = ex._cache(build, root)
    key = hashlib.sha256(str(first.resolve()).encode()).hexdigest()[:16]
    (cache_dir / "locks").mkdir(exist_ok=True)
    acquired, release = threading.Event(), threading.Event()

    def other_process():  # holds the notebook's lock as the other pytest worker would, then lets go
        with FileLock(str(cache_dir / "locks" / f"{key}.lock")):
            acquired.set()
            release.wait(30)

    holder = threading.Thread(target=other_process)
    holder.start()
    acquired.wait(10)
    assert ex.ensure_executed(first, build=build, root=root, wait=False) is None
    order = []
    original = ex.ensure_executed

    def spy(path, *args, **kwargs):
        result = original(path, *args, **kwargs)
        if result is not None:
            order.append(Path(path).name)
        return result

    timer = threading.Timer(3.0, release.set)  # the other process finishes a little later
    timer.start()
    try:
        ex.ensure_executed, saved = spy, ex.ensure_executed
        done = ex.ensure_all_executed([first, second], build=build, root=root)
    finally:
        ex.ensure_executed = saved
        release.set()
        holder.join()
    assert order == ["second.ipynb", "nb.ipynb"] and len(done) == 2
