"""Execute the book's notebooks once, in parallel, into the site build's notebook cache.

``make book`` and ``make test`` both need every chapter notebook executed: the first to show
the outputs on the site, the second to fail on a check cell that raises. Executing each
notebook once serves both. This tool runs the notebooks with the same executor and settings
as MyST-NB's ``cache`` mode (``jupyter_cache``'s ``single_nb_execution``, the notebook's folder
as working directory, the per-cell timeout of ``_config.yml``) and stores each executed
notebook in the cache folder that ``_ext/exec_cache.py`` gives the site build, so the
``jupyter-book build`` that follows executes nothing.

A notebook already in the cache (same code cells, same fingerprint of ``semlib``, the lock
file and ``SEMLIB_SCALE``) is not executed again. Each notebook is guarded by a file lock, so
two processes (``pytest -n 2`` workers, or a test and the site build) never execute the same
one twice; the cache database is written under a lock of its own.

Usage::

    python tools/execute_notebooks.py --jobs 2      # every notebook of _toc.yml
    python tools/execute_notebooks.py chapters/02_preliminaries/directed_information.ipynb
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

import nbformat
import yaml
from filelock import FileLock, Timeout

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
TIMES = BUILD / "notebook_times.json"  # measured here, updated by every execution
# Measured at CI scale on the 2-core machine (two kernels at a time), committed so that a fresh
# clone also runs the longest first and the site build, going shortest first, meets the
# notebook tests in the middle instead of waiting on the same notebooks.
BASELINE_TIMES = Path(__file__).with_name("notebook_times.json")
sys.path.insert(0, str(ROOT / "_ext"))
import exec_cache


class NotebookFailed(RuntimeError):
    """A cell of the notebook raised (or timed out); the message holds the cell and traceback."""


@dataclass(frozen=True)
class Executed:
    path: Path
    seconds: float  # execution time (0 when taken from the cache)
    cached: bool  # True when the cache already held it


def toc_files(root: Path = ROOT) -> list[str]:
    """Every ``file:`` entry of ``_toc.yml`` (root first), without extension, in reading order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files: list[str] = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return files


def toc_notebooks(root: Path = ROOT) -> list[Path]:
    """The notebooks of ``_toc.yml`` in reading order."""
    return [root / f"{f}.ipynb" for f in toc_files(root) if (root / f"{f}.ipynb").is_file()]


#: Per-cell timeout at CI scale: the longest CI-scale cell takes under a minute on the 2-core
#: machine. (Parallel runs used to lose exactly one cell timeout now and then, with no error and
#: an idle kernel: a missed socket wake-up that pyzmq only noticed when the wait timed out. The
#: stepped kernel client of _polling_client bounds that loss by POLL_STEP.)
CI_CELL_TIMEOUT = 120
#: nbclient's wait for the kernel's kernel_info reply before the first cell (see ensure_executed).
STARTUP_TIMEOUT = 30


def _settings(root: Path) -> tuple[int, bool]:
    execute = (yaml.safe_load((root / "_config.yml").read_text()) or {}).get("execute", {})
    timeout = int(execute.get("timeout", 300))
    if os.environ.get("SEMLIB_SCALE", "ci") != "full":
        timeout = min(timeout, CI_CELL_TIMEOUT)
    return timeout, bool(execute.get("allow_errors", False))


def _cache(build: Path, root: Path):
    from jupyter_cache import get_cache

    path = exec_cache.cache_path(build, root)
    path.mkdir(parents=True, exist_ok=True)
    return path, get_cache(str(path))


def expected_seconds(path: Path) -> float:
    """Last measured execution time of ``path`` (here, else the committed baseline, else 0)."""
    key = str(Path(path).resolve().relative_to(ROOT))
    for source in (TIMES, BASELINE_TIMES):
        try:
            times = json.loads(source.read_text())
        except (OSError, ValueError):
            continue
        if key in times:
            return float(times[key])
    return 0.0


def _record_time(path: Path, seconds: float, root: Path) -> None:
    if root != ROOT:  # only the book's own notebooks are timed
        return
    TIMES.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(TIMES) + ".lock"):
        try:
            times = json.loads(TIMES.read_text())
        except (OSError, ValueError):
            times = {}
        times[str(path.relative_to(ROOT))] = round(seconds, 1)
        TIMES.write_text(json.dumps(times, indent=1, sort_keys=True))


#: Longest single wait on a kernel socket, in seconds (see _polling_client).
POLL_STEP = 0.5


def _polling_client() -> type:
    """An async kernel client whose channels never wait on a socket longer than POLL_STEP.

    Why: pyzmq's asyncio poller wakes on the socket's edge-triggered file descriptor, and when
    its timeout fires it polls once more and returns whatever message is waiting, without error
    (``_AsyncPoller.poll``, ``on_poll_ready``). nbclient waits for a cell's reply with the whole
    cell timeout. So a missed wake-up would cost exactly one cell timeout, with no error and an
    idle kernel -- which is what the intermittent 300 s (later 120 s) stall of parallel test runs
    looked like. (We could not reproduce the stall on purpose, so this is the explanation the
    code supports, not one we watched happen.) Waiting in short steps bounds that cost by
    POLL_STEP whatever the cause of the missed wake-up.
    """
    from queue import Empty

    from jupyter_client.asynchronous import AsyncKernelClient
    from jupyter_client.channels import AsyncZMQSocketChannel
    from traitlets import Type

    class SteppedChannel(AsyncZMQSocketChannel):
        async def get_msg(self, timeout: float | None = None) -> dict:  # type: ignore[override]
            deadline = None if timeout is None else time.monotonic() + timeout
            while True:
                left = POLL_STEP if deadline is None else deadline - time.monotonic()
                try:
                    return await super().get_msg(timeout=max(0.0, min(POLL_STEP, left)))
                except Empty:
                    if deadline is not None and time.monotonic() >= deadline:
                        raise

    class SteppedKernelClient(AsyncKernelClient):
        shell_channel_class = Type(SteppedChannel)
        iopub_channel_class = Type(SteppedChannel)
        stdin_channel_class = Type(SteppedChannel)
        control_channel_class = Type(SteppedChannel)

    return SteppedKernelClient


def _ipc_kernel_manager(folder: str) -> type:
    """A kernel manager with Unix-socket transport and the stepped client of _polling_client.

    With TCP, kernels started at the same moment by two processes (two pytest-xdist workers,
    or a test and the site build) can be handed the same free ports (jupyter_client#487).
    Unix sockets in a folder of their own cannot collide.
    """
    from jupyter_client.manager import AsyncKernelManager

    client = _polling_client()

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs: object) -> None:
            super().__init__(**kwargs)
            self.transport = "ipc"
            self.ip = os.path.join(folder, "kernel")
            self.client_factory = client

    return IPCKernelManager


def _record_cells(path: Path, notebook: nbformat.NotebookNode, root: Path) -> None:
    """Keep each code cell's run time (nbclient's timestamps) in _build/notebook_cells.json.

    The timestamps are removed from the cells: jupyter-cache hashes cell metadata, and the site
    build looks the notebook up by the hash of the unexecuted source.
    """
    from datetime import datetime

    cells = []
    for index, cell in enumerate(notebook.cells):
        stamps = cell.get("metadata", {}).pop("execution", {})
        if cell.cell_type == "code" and "iopub.execute_input" in stamps and "shell.execute_reply" in stamps:
            start = datetime.fromisoformat(stamps["iopub.execute_input"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(stamps["shell.execute_reply"].replace("Z", "+00:00"))
            cells.append((round((end - start).total_seconds(), 2), index))
    if root != ROOT:
        return
    report = BUILD / "notebook_cells.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(report) + ".lock"):
        try:
            known = json.loads(report.read_text())
        except (OSError, ValueError):
            known = {}
        known[str(path.relative_to(ROOT))] = sorted(cells, reverse=True)[:5]
        report.write_text(json.dumps(known, indent=1, sort_keys=True))


def ensure_all_executed(paths: list[Path], build: Path = BUILD, root: Path = ROOT) -> list[Executed]:
    """Make sure every notebook of ``paths`` is executed, in that order, without idling.

    A notebook that another process is executing right now (its lock is held: the other pytest
    worker's notebook test) is passed over and come back to, so this process keeps a core busy
    instead of waiting; only when every remaining notebook is locked does it wait, for the first.

    Raises
    ------
    NotebookFailed
        For the first notebook that fails.
    """
    pending, done = [Path(p) for p in paths], []
    while pending:
        for path in list(pending):
            result = ensure_executed(path, build, root, wait=False)
            if result is not None:
                done.append(result[0])
                pending.remove(path)
        if pending:
            done.append(ensure_executed(pending.pop(0), build, root)[0])  # all locked: wait for one
    return done


def ensure_executed(
    path: Path, build: Path = BUILD, root: Path = ROOT, *, wait: bool = True
) -> tuple[Executed, nbformat.NotebookNode] | None:
    """Return ``(Executed, notebook)`` for ``path``, from the cache or by running it (then cached).

    With ``wait=False`` it returns ``None`` at once when another process holds the notebook's
    lock (it is being executed there), instead of waiting for it.

    Raises
    ------
    NotebookFailed
        When a cell raises or times out; nothing is cached then.
    """
    from jupyter_cache.base import CacheBundleIn
    from jupyter_cache.executors.utils import single_nb_execution

    path = Path(path).resolve()
    cache_dir, cache = _cache(build, root)
    db_lock = FileLock(str(cache_dir / "db.lock"))
    key = hashlib.sha256(str(path).encode()).hexdigest()[:16]
    (cache_dir / "locks").mkdir(exist_ok=True)
    try:
        held = FileLock(str(cache_dir / "locks" / f"{key}.lock")).acquire(timeout=-1 if wait else 0)
    except Timeout:
        return None  # another process is executing it
    with held:
        notebook = nbformat.read(path, as_version=4)
        with db_lock:
            try:
                cache.match_cache_notebook(notebook)
                _, merged = cache.merge_match_into_notebook(notebook)
                return Executed(path, 0.0, True), merged
            except KeyError:
                pass
        cell_timeout, allow_errors = _settings(root)
        for attempt in (1, 2):
            run = copy.deepcopy(notebook)
            try:
                with tempfile.TemporaryDirectory(prefix="semlib-kernel-") as sockets:
                    result = single_nb_execution(
                        run,
                        cwd=str(path.parent),
                        # nbclient waits for the kernel_info reply, before the first cell, with
                        # `timeout`; cells use `timeout_func`. A start that never reaches a cell is
                        # retried once.
                        timeout=STARTUP_TIMEOUT,
                        timeout_func=lambda cell, t=cell_timeout: t,
                        allow_errors=allow_errors,
                        record_timing=True,
                        kernel_manager_class=_ipc_kernel_manager(sockets),
                    )
                break
            except (AssertionError, TimeoutError, RuntimeError):
                started = any(c.get("execution_count") for c in run.cells if c.cell_type == "code")
                if started or attempt == 2:
                    raise
        notebook = run
        _record_cells(path, notebook, root)
        if result.err is not None:
            raise NotebookFailed(f"{path.name}: {result.err.__class__.__name__}\n{result.exc_string}")
        with db_lock:
            cache.cache_notebook_bundle(
                CacheBundleIn(notebook, str(path), data={"execution_seconds": result.time}),
                check_validity=False,
                overwrite=True,
            )
        _record_time(path, result.time, root)
        return Executed(path, result.time, False), notebook


def _run_one(path: str, threads: int) -> Executed:
    if threads:
        for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
            os.environ[var] = str(threads)
    return ensure_executed(Path(path))[0]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebook of _toc.yml")
    parser.add_argument("--jobs", "-j", type=int, default=os.cpu_count() or 1, help="parallel kernels (default: cores)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    notebooks = [p.resolve() for p in args.notebooks] or toc_notebooks()
    notebooks.sort(key=expected_seconds, reverse=True)
    threads = 1 if args.jobs > 1 else 0  # one BLAS/torch thread per kernel when kernels share the cores
    start, failed = time.perf_counter(), []
    print(
        f"executing {len(notebooks)} notebooks with {args.jobs} kernels in parallel "
        f"(cache {exec_cache.cache_path(BUILD).relative_to(ROOT)})",
        flush=True,
    )
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = {pool.submit(_run_one, str(p), threads): p for p in notebooks}
        for future in as_completed(futures):
            name = futures[future].relative_to(ROOT)
            try:
                done = future.result()
            except NotebookFailed as err:
                failed.append(name)
                print(f"FAILED   {name}\n{err}", flush=True)
                continue
            how = "cached  " if done.cached else f"{done.seconds:6.1f} s"
            print(f"{how}  {name}", flush=True)
    print(
        f"{len(notebooks) - len(failed)} executed or cached, {len(failed)} failed, "
        f"in {time.perf_counter() - start:.0f} s",
        flush=True,
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
