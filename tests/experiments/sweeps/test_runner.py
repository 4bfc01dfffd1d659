"""Running sweeps locally: the second run does no work, processes and in-process agree,
plug-ins travel with the points, failures are reported and not stored."""
import os
import sys

import pandas as pd
import pytest

from uesim.experiments.cli import main
from uesim.experiments.store import ResultStore, load
from uesim.experiments.sweeps import expand_sweep, load_sweep
from uesim.experiments.sweeps.runner import import_point_plugins, run_point, run_sweep


def test_sweep_then_rerun_does_no_work(small_sweep, tmp_path, capsys):
    path = small_sweep()
    out = tmp_path / "out"
    assert main(["sweep", str(path), "--out", str(out), "--jobs", "1"]) == 0
    assert "4 points: 4 ran, 0 already stored, 0 failed" in capsys.readouterr().out
    mtimes = {p: p.stat().st_mtime_ns for p in (out / "points").rglob("*")}
    assert main(["sweep", str(path), "--out", str(out), "--jobs", "1"]) == 0
    assert "4 points: 0 ran, 4 already stored, 0 failed" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in (out / "points").rglob("*")} == mtimes


def test_process_pool_matches_in_process(small_sweep, tmp_path):
    points = load_sweep(small_sweep())
    a, b = tmp_path / "a", tmp_path / "b"
    ra = run_sweep(points, a, jobs=2, progress=False)
    rb = run_sweep(points, b, jobs=1, progress=False)
    assert ra.ok and rb.ok and sorted(ra.done) == sorted(rb.done) == sorted(p.key for p in points)
    for p in points:
        pd.testing.assert_frame_equal(pd.read_parquet(a / "points" / p.key / "flows.parquet"),
                                      pd.read_parquet(b / "points" / p.key / "flows.parquet"),
                                      check_exact=True)


def test_plugin_source_travels_with_the_point(tmp_path, plugin_scenario, monkeypatch):
    path = plugin_scenario(tmp_path / "sc", "shipped_test_dctcp", seeds=1, size_bytes=50_000)
    (point,) = load_sweep(path)                      # imports the module from the scenario folder
    from uesim.experiments.sweeps.runner import plugin_sources
    sources = plugin_sources(point.plugins)
    assert "register_cc" in sources["shipped_test_dctcp"]
    # a worker without the module on its path: forget it, then run from the shipped source
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(path.parent)])
    monkeypatch.delitem(sys.modules, "shipped_test_dctcp")
    from uesim.protocols import CC_REGISTRY
    monkeypatch.delitem(CC_REGISTRY, "shipped_test_dctcp")
    res = run_point(point.config, sources)
    assert res.flows["finished"].all()
    assert sys.modules["shipped_test_dctcp"].__file__.startswith("<shipped")


def test_missing_plugin_without_source_fails_clearly(tmp_path):
    with pytest.raises(ModuleNotFoundError):
        import_point_plugins(["no_such_plugin_module_xyz"], {})


def test_failed_point_is_reported_and_not_stored(small_sweep, tmp_path, monkeypatch):
    points = load_sweep(small_sweep())
    bad = points[1]
    bad.config["traffic"]["pattern"] = "no-such-pattern"   # fails inside the worker
    report = run_sweep(points, tmp_path / "o", jobs=1, progress=False)
    assert list(report.failed) == [bad.key]
    assert sorted(report.done) == sorted(p.key for p in points if p is not bad)
    assert ResultStore(tmp_path / "o").status(bad.key) == "missing"


def test_progress_lines_off_a_terminal(small_sweep, tmp_path):
    import io
    stream = io.StringIO()
    run_sweep(load_sweep(small_sweep()), tmp_path / "o", jobs=1, progress=True, stream=stream)
    lines = stream.getvalue().splitlines()
    assert lines[0] == "sweep: 4 points, 0 already in the store, 4 to run"
    assert lines[-1].startswith("[4/4] ") and "failed 0" in lines[-1] and "ETA" in lines[-1]


def test_results_cli_lists_points_and_varying_columns(small_sweep, tmp_path, capsys):
    out = tmp_path / "o"
    run_sweep(load_sweep(small_sweep()), out, jobs=1, progress=False)
    assert main(["results", str(out)]) == 0
    text = capsys.readouterr().out
    header = text.splitlines()[0].split()
    assert header[:3] == ["point", "seed", "transport.cc.cwnd_bytes"]
    assert header[3:] == ["flows", "finished", "fct_p50_us", "fct_p99_us", "fct_max_us", "drops", "wall_s"]
    assert "4 points in" in text
    assert main(["results", str(out), "--json"]) == 0
    import json
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(rows) == 4 and {r["transport.cc.cwnd_bytes"] for r in rows} == {8192, 65536}
    assert all(r["flows"] == 4 and r["finished"] == 4 for r in rows)


def test_load_contract(small_sweep, tmp_path):
    out = tmp_path / "o"
    points = load_sweep(small_sweep())
    run_sweep(points, out, jobs=1, progress=False)
    view = load(out)
    assert len(view) == 4 and view.problems == {}
    assert set(view.points["point"]) == {p.key for p in points}
    assert view.varying() == ["seed", "transport.cc.cwnd_bytes"]
    assert list(view.flows.columns[:2]) == ["point", "flow_id"] and len(view.flows) == 16
    assert view.ports["point"].nunique() == 4
    assert view.timeseries is None and view.collectives is None
    # a larger window finishes the same flows no later (the known direction)
    fct = view.points.groupby("transport.cc.cwnd_bytes")["fct_max_us"].mean()
    assert fct[65536] <= fct[8192]


def test_full_topology_example_runs_and_reruns_free(tmp_path):
    from pathlib import Path
    example = Path(__file__).resolve().parents[3] / "experiments" / "scenarios" / "sweep_topologies.toml"
    points = load_sweep(example)
    assert len(points) >= 12
    first = run_sweep(points, tmp_path / "o", progress=False)
    assert first.ok and len(first.done) == len(points)
    again = run_sweep(points, tmp_path / "o", progress=False)
    assert again.done == [] and len(again.skipped) == len(points)
    assert load(tmp_path / "o").points["finished"].tolist() == load(tmp_path / "o").points["flows"].tolist()


KILLER = '''
import multiprocessing, os
from uesim.protocols import CongestionControl, register_cc

if multiprocessing.parent_process() is not None:     # in a worker process: die
    os._exit(3)

@register_cc("killer_cc")
class KillerCC(CongestionControl):
    pass
'''


def test_a_point_that_kills_its_worker_fails_alone(small_sweep, tmp_path, monkeypatch):
    (tmp_path / "killer_mod.py").write_text(KILLER)
    monkeypatch.syspath_prepend(str(tmp_path))
    points = load_sweep(small_sweep())
    killer = expand_sweep({**{k: v for k, v in points[0].config.items() if k != "name"},
                           "plugins": ["killer_mod"],
                           "transport": {**points[0].config["transport"],
                                         "cc": {"name": "killer_cc", "cwnd_bytes": 8192}}})[0]
    report = run_sweep(points + [killer], tmp_path / "o", jobs=2, retries=1, progress=False)
    assert list(report.failed) == [killer.key]
    assert "died" in report.failed[killer.key]
    assert sorted(report.done) == sorted(p.key for p in points)


def test_progress_bar_on_a_terminal(small_sweep, tmp_path):
    import io

    class Tty(io.StringIO):
        def isatty(self):
            return True

    stream = Tty()
    report = run_sweep(load_sweep(small_sweep()), tmp_path / "o", jobs=1, progress=True, stream=stream)
    text = stream.getvalue()
    assert report.ok and "4/4" in text and "failed 0" in text and "ETA" in text
    assert "[1/4]" not in text                     # the bar, not the plain lines


def test_sweep_plugin_option_reaches_the_points(tmp_path, plugin_scenario, capsys):
    path = plugin_scenario(tmp_path / "sc", "optplug_dctcp", seeds=1, size_bytes=20_000)
    text = path.read_text().replace('plugins = ["optplug_dctcp"]\n', "")
    path.write_text(text)
    out = tmp_path / "o"
    assert main(["sweep", str(path), "--out", str(out), "--jobs", "1", "--plugin", "optplug_dctcp"]) == 0
    view = load(out)
    assert view.points["plugins"].tolist() == ['["optplug_dctcp"]']
    assert view.points["transport.cc.name"].tolist() == ["optplug_dctcp"]


def test_results_of_a_folder_that_is_no_store(tmp_path, capsys):
    assert main(["results", str(tmp_path / "nothing")]) == 2
    assert "not a result store" in capsys.readouterr().err



@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("retries,ok", [(0, False), (1, True)])
def test_retries_rerun_a_point_that_failed(tmp_path, monkeypatch, jobs, retries, ok, flaky_plugin):
    points = expand_sweep(flaky_plugin(tmp_path, monkeypatch, seeds=2 if jobs == 2 else 1))
    if jobs == 1:      # in this process: forget the module so the point imports it again
        monkeypatch.setenv("UESIM_FLAKY_HERE", "1")
        monkeypatch.delitem(sys.modules, "flaky_mod")
        from uesim.protocols import CC_REGISTRY
        monkeypatch.delitem(CC_REGISTRY, "flaky_cc")
    report = run_sweep(points, tmp_path / "o", jobs=jobs, retries=retries, progress=False)
    assert (tmp_path / "marker").exists()
    assert report.ok is ok
    if not ok:
        assert "first import fails" in next(iter(report.failed.values()))
