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


def test_sweep_series_stored_and_reported(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(SWEEP)
    points = load_sweep(path)
    assert run_sweep(points, tmp_path / "store", jobs=1, progress=False).ok
    view = load(tmp_path / "store")
    ts = view.timeseries
    assert ts is not None and set(ts["point"].unique()) == set(view.points["point"])
    assert {"t_us", "kind", "id", "metric", "value"} <= set(ts.columns)
    # a larger window fills the incast queue deeper
    peak = ts[(ts.kind == "port") & (ts.metric == "queue_bytes")].groupby("point")["value"].max()
    window = view.points.set_index("point")["transport.cc.cwnd_bytes"]
    assert peak[window.idxmax()] > 2 * peak[window.idxmin()]
    text = report_from_results(view, tmp_path / "sweep.html").read_text()
    assert "<title>uesim sweep report</title>" in text
    assert text.count("<img") == 1 + 2 * 2
    assert "Queue depth - cc.cwnd_bytes=16384" in text and "Queue depth - cc.cwnd_bytes=65536" in text
    assert 'data-table="Same at every point"' in text
    points_table = text.split('data-table="Points"')[1].split("</section>")[0]
    assert "transport.cc.cwnd_bytes" in points_table and "topology.n_leaves" not in points_table
    assert not re.findall(r"https?://", text)
