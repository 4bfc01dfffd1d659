"""A sweep on a real Dask cluster (scheduler + 2 workers on loopback, as subprocesses) with a
user plug-in CC the workers cannot import (its source travels with the points); one
worker is killed mid-sweep.  The store must end with every point exactly once and the
same flows, bit for bit, as a local run."""
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest

distributed = pytest.importorskip("distributed")

# the dask CLIs' modules (python -m works wherever pip put the ``dask`` script)
CLI = {"scheduler": "distributed.cli.dask_scheduler", "worker": "distributed.cli.dask_worker"}


def _start(args, cwd, env):
    cmd = [sys.executable, "-m", CLI[args[0]], *args[1:]]
    return subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _wait_for(pred, timeout, what):
    t0 = time.monotonic()
    while not pred():
        if time.monotonic() - t0 > timeout:
            pytest.fail(f"timed out waiting for {what}")
        time.sleep(0.1)


def test_sweep_on_dask_survives_a_lost_worker(tmp_path, plugin_scenario):
    from uesim.experiments.store import ResultStore
    from uesim.experiments.sweeps import load_sweep
    from uesim.experiments.sweeps.runner import run_sweep

    # points long enough that a worker can be killed mid-sweep (15 x 3 MB: 3.6 ms of 5)
    scenario = plugin_scenario(tmp_path / "scenario", "dask_test_dctcp", seeds=8, size_bytes=3_000_000)
    points = load_sweep(scenario)
    assert len(points) == 8

    workdir = tmp_path / "workers"          # no plug-in here nor on the workers' path
    workdir.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["OPENBLAS_NUM_THREADS"] = "1"
    sched_file = tmp_path / "scheduler.json"
    procs = []
    try:
        procs.append(_start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                             "--scheduler-file", str(sched_file)], workdir, env))
        _wait_for(sched_file.exists, 30, "the scheduler")
        for name in ("wa", "wb"):
            procs.append(_start(["worker", "--scheduler-file", str(sched_file), "--nthreads", "1",
                                 "--no-nanny", "--no-dashboard", "--name", name], workdir, env))
        import json
        address = json.loads(sched_file.read_text())["address"]
        with distributed.Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
            pids = client.run(os.getpid)          # worker address -> pid
        victim = next(iter(pids.values()))

        out = tmp_path / "store"
        box = {}
        runner = threading.Thread(target=lambda: box.update(
            report=run_sweep(points, out, cluster=address, retries=2, progress=False)))
        runner.start()
        store = ResultStore(out)
        _wait_for(lambda: len(store.keys()) >= 1 or not runner.is_alive(), 60, "the first point")
        assert len(store.keys()) < len(points), "sweep finished before the worker could be killed"
        os.kill(victim, signal.SIGKILL)           # a lost worker, mid-sweep
        runner.join(timeout=120)
        assert not runner.is_alive()
        report = box["report"]
        assert report.failed == {}
        assert sorted(report.done) == sorted(p.key for p in points)   # each written once
    finally:
        for p in procs:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            p.wait(timeout=10)

    entries = sorted(os.listdir(out / "points"))
    assert entries == sorted(p.key for p in points)              # no temp dirs, no extras
    assert all(store.status(p.key) == "ok" for p in points)

    local = tmp_path / "local"
    assert run_sweep(points, local, jobs=1, progress=False).ok
    for p in points:
        a = pd.read_parquet(out / "points" / p.key / "flows.parquet")
        b = pd.read_parquet(local / "points" / p.key / "flows.parquet")
        pd.testing.assert_frame_equal(a, b, check_exact=True)
        assert a["finished"].all()


def test_cluster_local_n_starts_a_local_cluster(small_sweep, tmp_path, capsys):
    from uesim.experiments.cli import main
    from uesim.experiments.store import load
    out = tmp_path / "o"
    assert main(["sweep", str(small_sweep()), "--out", str(out), "--cluster", "local:2", "--json"]) == 0
    assert '"ran": 4' in capsys.readouterr().out
    assert len(load(out)) == 4


@pytest.mark.parametrize("address,message", [("local:0", "local:N needs a worker count"),
                                             ("nohost", "give a scheduler address")])
def test_bad_cluster_address_is_one_error(small_sweep, tmp_path, capsys, address, message):
    from uesim.experiments.cli import main
    assert main(["sweep", str(small_sweep()), "--out", str(tmp_path / "o"), "--cluster", address]) == 2
    err = capsys.readouterr().err
    assert err.startswith("uesim: error: ") and message in err and "Traceback" not in err


def test_unreachable_scheduler_is_a_scenario_error(small_sweep, tmp_path):
    from uesim.experiments.schema import ScenarioError
    from uesim.experiments.sweeps import load_sweep
    from uesim.experiments.sweeps.runner import run_sweep
    with pytest.raises(ScenarioError, match="cannot reach the Dask scheduler"):
        run_sweep(load_sweep(small_sweep()), tmp_path / "o", cluster="tcp://127.0.0.1:9",
                  progress=False, connect_timeout_s=1)


@pytest.mark.parametrize("retries,ok", [(0, False), (1, True)])
def test_dask_retries_rerun_a_failed_point(tmp_path, monkeypatch, retries, ok, flaky_plugin):
    from uesim.experiments.sweeps import expand_sweep
    from uesim.experiments.sweeps.runner import run_sweep
    points = expand_sweep(flaky_plugin(tmp_path, monkeypatch, seeds=1))
    report = run_sweep(points, tmp_path / "o", cluster="local:1", retries=retries, progress=False)
    assert (tmp_path / "marker").exists()
    assert report.ok is ok
