"""A sweep with time series through the result store and into the report: the store
keeps each point's series (with its ``point`` key), and ``report_from_results`` on
``load(DIR)`` labels points by what varies."""
import re

import pytest

pytest.importorskip("matplotlib", reason="reports need matplotlib (pip install 'uesim[plots]')")

from uesim.experiments.report import report_from_results  # noqa: E402
from uesim.experiments.store import load  # noqa: E402
from uesim.experiments.sweeps import load_sweep  # noqa: E402
from uesim.experiments.sweeps.runner import run_sweep  # noqa: E402

SWEEP = """
name = "ts-sweep"
seed = 1
[topology]
generator = "leaf_spine"
n_leaves = 2
n_spines = 1
hosts_per_leaf = 2
[transport]
cc = { name = "fixed", cwnd_bytes = 16384 }
[traffic]
pattern = "incast"
receiver = 0
n_senders = 3
size_bytes = 60_000
[outputs]
timeseries_interval_ps = 2_000_000
[sweep]
grid = { "transport.cc.cwnd_bytes" = [16384, 65536] }
"""


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("sweep")
    path = tmp / "s.toml"
    path.write_text(SWEEP)
    points = load_sweep(path)
    assert run_sweep(points, tmp / "store", jobs=1, progress=False).ok
    return tmp / "store"


def test_sweep_series_stored_and_reported(store, tmp_path):
    view = load(store)
    ts = view.timeseries
    assert ts is not None and set(ts["point"].unique()) == set(view.points["point"])
    assert {"t_us", "kind", "id", "metric", "value"} <= set(ts.columns)
    # a larger window fills the incast queue deeper
    peak = ts[(ts.kind == "port") & (ts.metric == "queue_bytes")].groupby("point")["value"].max()
    window = view.points.set_index("point")["transport.cc.cwnd_bytes"]
    assert peak[window.idxmax()] > 2 * peak[window.idxmin()]
    text = report_from_results(view, tmp_path / "sweep.html").read_text()
    assert "<title>uesim sweep report</title>" in text
    assert text.count("<img") == 2 + 2 * 2          # FCT CDF, p99 FCT, queue + utilisation per point
    assert "Queue depth - cwnd_bytes=16384" in text and "Queue depth - cwnd_bytes=65536" in text
    # what varies is the table's first column; what does not is listed once above it
    section = text.split('data-table="Points"')[1].split("</section>")[0].replace("<wbr>", "")
    constants, table = section.split("<table")
    assert 'class="constants"' in constants and "<code>topology.n_leaves</code> = 2" in constants
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", table)
    assert headers[0] == "transport.cc.cwnd_bytes" and "topology.n_leaves" not in headers
    assert not re.findall(r"https?://", text)


def test_plot_and_report_commands_on_a_store(store, tmp_path, capsys):
    from uesim.experiments.cli import main
    view = load(store)
    small = view.points.sort_values("transport.cc.cwnd_bytes")["point"].iloc[0]
    for kind in ("fct-cdf", "queue", "utilisation"):
        out = tmp_path / f"{kind}.png"
        assert main(["plot", str(store), kind, "-o", str(out), "--point", small[:8]]) == 0
        assert out.read_bytes().startswith(b"\x89PNG")
    assert main(["report", str(store), "-o", str(tmp_path / "r.html"), "--title", "CC sweep"]) == 0
    text = (tmp_path / "r.html").read_text()
    assert "<title>CC sweep</title>" in text and text.count("<img") == 6
    assert (tmp_path / "r.html").stat().st_mode & 0o044        # readable by others (umask allowing)
    capsys.readouterr()
    assert main(["plot", str(store), "queue", "-o", str(tmp_path / "x.png"), "--point", "zz"]) == 2
    assert "--point 'zz': no sampled point matches" in capsys.readouterr().err
    assert main(["plot", str(store), "busbw", "-o", str(tmp_path / "x.png")]) == 2
    assert "needs stored collective results" in capsys.readouterr().err
    assert main(["plot", str(store), "pie", "-o", str(tmp_path / "x.png")]) == 2
    assert "allowed: fct-cdf, metric, queue, utilisation, busbw, stall" in capsys.readouterr().err


def test_plot_and_report_commands_on_a_run_folder(tmp_path, capsys):
    from uesim.experiments.cli import main
    scenario = tmp_path / "s.toml"
    scenario.write_text(SWEEP.split("[sweep]")[0])
    assert main(["run", str(scenario), "--out", str(tmp_path / "run"), "--json"]) == 0
    assert main(["plot", str(tmp_path / "run"), "queue", "-o", str(tmp_path / "q.svg"), "--top", "2"]) == 0
    assert (tmp_path / "q.svg").read_text().count("<g id=\"line2d_") >= 2
    assert main(["report", str(tmp_path / "run"), "-o", str(tmp_path / "r.html")]) == 0
    text = (tmp_path / "r.html").read_text()
    assert "<title>uesim run report</title>" in text and text.count("<img") == 3
    capsys.readouterr()
    assert main(["report", str(tmp_path / "nothing"), "-o", str(tmp_path / "r.html")]) == 2
    assert "neither a result store" in capsys.readouterr().err


def test_collective_plots_from_stored_collectives():
    """busbw and stall read a ``collectives`` frame (a store's, joined to its points)."""
    import pandas as pd
    from uesim.experiments.report.cli import figure_for

    class Stored:
        points = pd.DataFrame({"point": ["a", "b"], "topology.generator": ["fat_tree", "rail_optimized"],
                               "transport.name": ["uet", "uet"]})
        collectives = pd.DataFrame({"point": ["a", "a", "b", "b"], "algo": "ring",
                                    "bytes": [1 << 20, 1 << 24] * 2, "busbw_gbps": [40.0, 80.0, 50.0, 90.0],
                                    "stall_us": [5.0, 9.0, 2.0, 4.0]})
    bw = figure_for(Stored(), "busbw")
    assert [l.get_label() for l in bw.axes[0].get_lines()] == ["ring"]
    assert list(bw.axes[0].get_lines()[0].get_ydata()) == [45.0, 85.0]
    stall = figure_for(Stored(), "stall")
    ax = stall.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["fat_tree", "rail_optimized"]
    assert [float(p.get_height()) for p in ax.patches] == [7.0, 3.0]
    assert ax.get_ylabel() == "network stall (us)"
