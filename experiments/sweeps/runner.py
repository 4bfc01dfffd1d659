"""Run sweep points: in this process, on local cores, or on a Dask cluster.

Local runs use :class:`concurrent.futures.ProcessPoolExecutor` (standard library, no
scheduler to start, a crashed process is detected as a broken pool and its points are
resubmitted); Dask (``distributed``, the optional extra ``uesim[cluster]``) is used only for
``--cluster``, where its scheduler, ``retries=`` and rescheduling of a lost worker's tasks
are what is needed.  Either way the *client* process writes every finished point into the
store (atomic rename, manifest last), once: workers only compute and return the result.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from uesim.experiments.schema import ScenarioError
from uesim.experiments.store import ResultStore

@dataclass
class SweepReport:
    """What :func:`run_sweep` did."""

    total: int = 0
    skipped: list = field(default_factory=list)   # keys already in the store
    done: list = field(default_factory=list)      # keys run and written now
    failed: dict = field(default_factory=dict)    # key -> error message
    wall_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


# ---------------------------------------------------------------- worker side

def plugin_sources(modules) -> dict[str, str]:
    """Source text of plug-in modules that are single files outside site-packages, so a
    worker without them on its path can still load them."""
    out = {}
    for name in modules:
        mod = sys.modules.get(name)
        if mod is not None:
            path = getattr(mod, "__file__", None)
        else:                          # find the file without running the module
            try:
                spec = importlib.util.find_spec(name)
            except (ImportError, ValueError):
                spec = None
            path = spec.origin if spec is not None else None
        if not path or not path.endswith(".py") or os.path.basename(path) == "__init__.py":
            continue
        if "site-packages" in path or "dist-packages" in path:
            continue
        out[name] = Path(path).read_text()
    return out


def import_point_plugins(modules, sources: dict | None = None) -> None:
    """Import a point's plug-in modules; a module the worker cannot find is built from
    its shipped source (see :func:`plugin_sources`)."""
    sources = sources or {}
    for name in modules:
        if name in sys.modules:
            continue
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name or name not in sources:
                raise
            spec = importlib.util.spec_from_loader(name, loader=None, origin=f"<shipped {name}.py>")
            module = importlib.util.module_from_spec(spec)
            module.__file__ = f"<shipped {name}.py>"
            sys.modules[name] = module
            try:
                exec(compile(sources[name], module.__file__, "exec"), module.__dict__)
            except BaseException:
                del sys.modules[name]
                raise


def run_point(config: dict, sources: dict | None = None, sys_paths=()):
    """Run one resolved point config; the function a worker process executes.

    Parameters
    ----------
    config : dict
        A resolved scenario (a :class:`~uesim.experiments.sweeps.Point`'s ``config``).
    sources : dict, optional
        Plug-in module name -> source text, used when the worker cannot import it.
    sys_paths : sequence of str
        Folders to put on ``sys.path`` first (the scenario's folder).

    Returns
    -------
    RunResult
    """
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    for p in sys_paths:
        if p not in sys.path:
            sys.path.append(p)
    import_point_plugins(config.get("plugins", []), sources)
    from uesim.experiments.run import run_scenario
    return run_scenario(config)


# ---------------------------------------------------------------- progress

class _Progress:
    """done / running / failed / ETA: a rich bar on a terminal, plain lines otherwise."""

    def __init__(self, total: int, skipped: int, slots: int, stream=None, enabled=True):
        self.total, self.skipped, self.slots = total, skipped, max(1, slots)
        self.done = self.failed = 0
        self.t0 = time.monotonic()
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.bar = None
        if enabled and getattr(self.stream, "isatty", lambda: False)() and total:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                       TimeElapsedColumn, TimeRemainingColumn)
            self.bar = Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(),
                                TextColumn("{task.fields[state]}"), TimeElapsedColumn(),
                                TextColumn("ETA"), TimeRemainingColumn(),
                                console=Console(file=self.stream), transient=False)
            self.task = self.bar.add_task("sweep", total=total, state=self._state())
            self.bar.start()
        elif enabled:
            print(f"sweep: {total + skipped} points, {skipped} already in the store, "
                  f"{total} to run", file=self.stream, flush=True)

    def _state(self) -> str:
        running = min(self.slots, self.total - self.done - self.failed)
        return f"running {running}  failed {self.failed}"

    def eta_s(self) -> float | None:
        finished = self.done + self.failed
        if not finished:
            return None
        return (time.monotonic() - self.t0) / finished * (self.total - finished)

    def update(self, key: str, ok: bool, message: str = "") -> None:
        if ok:
            self.done += 1
        else:
            self.failed += 1
        if self.bar is not None:
            self.bar.update(self.task, advance=1, state=self._state())
            if not ok:
                self.bar.console.print(f"point {key} failed: {message}")
        elif self.enabled:
            eta = self.eta_s()
            eta_text = f"{eta:.0f} s" if eta is not None else "?"
            status = "done" if ok else f"FAILED: {message}"
            print(f"[{self.done + self.failed}/{self.total}] {key} {status}  "
                  f"({self._state()}, ETA {eta_text})", file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.stop()


# ---------------------------------------------------------------- executors

def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def _run_inprocess(jobs, on_done, retries):
    for key, args in jobs:
        for attempt in range(retries + 1):
            try:
                result = run_point(*args)
            except Exception as exc:  # a failing point must not stop the sweep
                error = _error_text(exc)
                continue
            on_done(key, result, None)
            break
        else:
            on_done(key, None, error)


def _run_local(jobs, on_done, retries, n_workers):
    import multiprocessing as mp
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool
    pending = dict(jobs)
    breaks = 0
    attempts = {}                     # key -> tries that raised
    ctx = mp.get_context("spawn")     # fresh interpreters: no inherited threads or state
    while pending:
        if breaks > retries:
            # the pool keeps dying: run each remaining point alone, so only the point
            # that kills its process fails
            for key in list(pending):
                with ProcessPoolExecutor(max_workers=1, mp_context=ctx) as pool:
                    try:
                        result = pool.submit(run_point, *pending.pop(key)).result()
                    except BrokenProcessPool:
                        on_done(key, None, "its worker process died (killed or crashed) on every try")
                    except Exception as exc:
                        on_done(key, None, _error_text(exc))
                    else:
                        on_done(key, result, None)
            return
        pool = ProcessPoolExecutor(max_workers=n_workers, mp_context=ctx)
        try:
            futures = {pool.submit(run_point, *args): key for key, args in pending.items()}
            broken = False
            while futures:
                finished, _ = wait(futures, return_when=FIRST_COMPLETED)
                for fut in finished:
                    key = futures.pop(fut)
                    try:
                        result = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        continue
                    except Exception as exc:
                        attempts[key] = attempts.get(key, 0) + 1
                        if attempts[key] <= retries and not broken:
                            try:
                                futures[pool.submit(run_point, *pending[key])] = key
                                continue
                            except BrokenProcessPool:
                                broken = True        # rerun with the pool's other points
                                continue
                        pending.pop(key)
                        on_done(key, None, _error_text(exc))
                        continue
                    pending.pop(key)
                    on_done(key, result, None)
        except BaseException:          # Ctrl-C: do not wait for the queued points
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        if broken:
            breaks += 1


def _dask_client(cluster: str, timeout_s: float = 10):
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise ScenarioError("--cluster needs dask.distributed: pip install 'uesim[cluster]'") from None
    if cluster.startswith("local:"):
        n = cluster.partition(":")[2]
        if not n.isdigit() or int(n) < 1:
            raise ScenarioError(f"--cluster {cluster!r}: local:N needs a worker count N >= 1")
        lc = LocalCluster(n_workers=int(n), threads_per_worker=1, processes=True,
                          dashboard_address=None)
        return Client(lc), lc
    if "://" not in cluster:
        raise ScenarioError(f"--cluster {cluster!r}: give a scheduler address (tcp://host:port) or local:N")
    try:
        return Client(cluster, timeout=f"{timeout_s}s"), None
    except (OSError, TimeoutError) as exc:
        raise ScenarioError(f"--cluster {cluster!r}: cannot reach the Dask scheduler: {exc}") from None


def _run_dask(jobs, on_done, retries, client, local):
    from distributed import as_completed
    try:
        futures = [client.submit(run_point, *args, key=f"uesim-point-{key}", retries=retries,
                                 pure=False) for key, args in jobs]
        by_future = {f.key: key for f, (key, _) in zip(futures, jobs)}
        for fut in as_completed(futures):
            key = by_future[fut.key]
            try:
                result = fut.result()
            except Exception as exc:
                on_done(key, None, _error_text(exc))
            else:
                on_done(key, result, None)
            fut.release()
    finally:
        client.close()
        if local is not None:
            local.close()


def check_store_path(out) -> Path:
    """Fail now if ``out`` cannot be a result store folder: a regular file, a file in its
    way (``out/points`` or a parent), or a folder this process cannot write.

    Parameters
    ----------
    out : path

    Returns
    -------
    Path

    Raises
    ------
    ScenarioError
        One line naming the path.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> f = pathlib.Path(tempfile.mkdtemp()) / "results.txt"
    >>> _ = f.write_text("not a store")
    >>> check_store_path(f)
    Traceback (most recent call last):
    ...
    uesim.experiments.schema.ScenarioError: --out '...results.txt': a file, not a folder; give a folder for the result store
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ScenarioError(f"--out {str(out)!r}: a file, not a folder; give a folder for the result store")
    points = out / "points"
    if points.exists() and not points.is_dir():
        raise ScenarioError(f"--out {str(out)!r}: {str(points)!r} is a file where the store keeps its points")
    # the folder itself, or the nearest parent that exists (where it would be made)
    base = out if out.exists() else next((p for p in out.absolute().parents if p.exists()), None)
    if base is not None and not base.is_dir():
        raise ScenarioError(f"--out {str(out)!r}: {str(base)!r} is a file, so the folder cannot be made")
    if base is not None and not os.access(base, os.W_OK | os.X_OK):
        raise ScenarioError(f"--out {str(out)!r}: {str(base)!r} is not writable")
    return out


def run_sweep(points, out, *, jobs: int | None = None, cluster: str | None = None,
              retries: int = 2, progress: bool = True, stream=None,
              connect_timeout_s: float = 10) -> SweepReport:
    """Run the points not yet in store ``out`` and write each result there once.

    Parameters
    ----------
    points : list of Point
        From :func:`~uesim.experiments.sweeps.expand_sweep` or ``load_sweep``.
    out : path
        Store folder (see :mod:`uesim.experiments.store`).
    jobs : int, optional
        Local worker processes (default: all cores); 1 runs in this process.
    cluster : str, optional
        ``tcp://host:port`` of a running Dask scheduler, or ``local:N`` for a Dask
        LocalCluster of N worker processes.
    retries : int
        Extra tries of a point that raised or whose worker process died or was lost.
    progress : bool
        Show progress on ``stream`` (default stderr): a bar on a terminal, lines otherwise.
    connect_timeout_s : float
        How long to try reaching a ``tcp://`` scheduler.

    Returns
    -------
    SweepReport

    Examples
    --------
    >>> import tempfile
    >>> from uesim.experiments.sweeps import expand_sweep
    >>> from uesim.experiments.sweeps.runner import run_sweep
    >>> pts = expand_sweep({"topology": {"generator": "leaf_spine", "n_leaves": 2, "n_spines": 1,
    ...     "hosts_per_leaf": 2}, "traffic": {"pattern": "permutation", "size_bytes": 5000},
    ...     "sweep": {"seeds": 2}})
    >>> out = tempfile.mkdtemp()
    >>> r = run_sweep(pts, out, jobs=1, progress=False)
    >>> len(r.done), len(r.skipped)
    (2, 0)
    >>> r = run_sweep(pts, out, jobs=1, progress=False)     # the second run does no work
    >>> len(r.done), len(r.skipped)
    (0, 2)
    """
    t0 = time.monotonic()
    check_store_path(out)              # before any point runs: a bad folder fails every write
    store = ResultStore(out)
    report = SweepReport(total=len(points))
    todo = []
    for p in points:          # a point whose manifest verifies is done; damaged ones rerun
        if store.status(p.key) == "ok":
            report.skipped.append(p.key)
        else:
            todo.append(p)
    n_workers = jobs or os.cpu_count() or 1
    if jobs is not None and jobs < 1:
        raise ScenarioError(f"--jobs {jobs}: must be >= 1")
    modules = sorted({m for p in todo for m in p.plugins})
    sources = plugin_sources(modules) if todo else {}
    sys_paths = [p for p in sys.path if p and os.path.isdir(p) and not _is_library_path(p)]
    jobs_list = [(p.key, (p.config, {m: sources[m] for m in p.plugins if m in sources}, sys_paths))
                 for p in todo]
    configs = {p.key: p.config for p in todo}
    client = local_cluster = None
    if cluster and todo:              # connect first: a bad address is one error, no progress
        client, local_cluster = _dask_client(cluster, connect_timeout_s)
    slots = min(n_workers, len(todo) or 1)
    if client is not None:            # the cluster's worker threads run points at once
        try:
            slots = sum(client.nthreads().values()) or slots
        except Exception:             # progress is cosmetic: never fail the sweep on it
            pass
    bar = _Progress(len(todo), len(report.skipped), slots, stream=stream, enabled=progress)

    def on_done(key, result, error):
        if error is None:
            try:
                store.write(key, configs[key], result)
            except OSError as exc:
                error = f"cannot write the point: {exc}"
        if error is None:
            report.done.append(key)
        else:
            report.failed[key] = error
        bar.update(key, error is None, error or "")

    try:
        if not todo:
            pass
        elif cluster:
            _run_dask(jobs_list, on_done, retries, client, local_cluster)
        elif n_workers == 1 or len(todo) == 1:
            _run_inprocess(jobs_list, on_done, retries)
        else:
            _run_local(jobs_list, on_done, retries, min(n_workers, len(todo)))
    finally:
        bar.close()
        if client is not None and not client.status == "closed":
            client.close()
            if local_cluster is not None:
                local_cluster.close()
    report.wall_s = round(time.monotonic() - t0, 3)
    return report


def _is_library_path(p: str) -> bool:
    return "site-packages" in p or "dist-packages" in p or p.startswith(sys.base_prefix)
