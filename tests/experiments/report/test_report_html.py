"""The HTML report: one self-contained file (no URL outside it), every table and figure
in it, text escaped, and the standard report built from anything that has the
DataFrames of a run or a sweep."""
import base64
import re

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib", reason="reports need matplotlib (pip install 'uesim[plots]')")

from uesim.experiments.report import plots, report_from_results, write_report  # noqa: E402


def external_refs(text):
    """Every reference the page would fetch or link outside itself."""
    refs = re.findall(r"""(?:src|href)\s*=\s*["']([^"']*)["']""", text)
    refs += re.findall(r"url\(([^)]*)\)", text)
    return [r for r in refs if not (r.startswith("data:") or r.startswith("#"))] + \
        re.findall(r"https?://", text)


def test_write_report_is_self_contained(tmp_path):
    flows = pd.DataFrame({"fct_us": [1.0, 2.0, 5.0], "name": ["<script>alert(1)</script>", "a&b", "x"]})
    figs = {"FCT": plots.fct_cdf(flows), "Bars": (plots.stall_bars(pd.DataFrame(
        {"topology": ["t"], "transport": ["u"], "stall": [1.0]})), "A caption <b>escaped</b>")}
    path = write_report(tmp_path / "out" / "r.html", "Title & <co>", {"Flows": flows, "Empty": flows.head(0)},
                        figs, captions={"FCT": "CDF of FCTs"}, intro="Intro <i>text</i>")
    text = path.read_text()
    assert text.startswith("<!DOCTYPE html>")
    assert external_refs(text) == []
    assert "<script>alert(1)</script>" not in text and "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "a&amp;b" in text and "<title>Title &amp; &lt;co&gt;</title>" in text
    assert text.count("<table") == 2 and 'data-table="Flows"' in text and 'data-table="Empty"' in text
    imgs = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert len(imgs) == 2
    for b64 in imgs:
        png = base64.b64decode(b64)
        assert png.startswith(b"\x89PNG") and len(png) > 5000
    assert "<figcaption>CDF of FCTs</figcaption>" in text
    assert "<figcaption>A caption &lt;b&gt;escaped&lt;/b&gt;</figcaption>" in text
    assert "<p>Intro &lt;i&gt;text&lt;/i&gt;</p>" in text
    assert [p.name for p in path.parent.iterdir()] == ["r.html"]        # no temporary left


def test_long_tables_are_cut_with_a_note(tmp_path):
    df = pd.DataFrame({"x": range(50)})
    text = write_report(tmp_path / "r.html", "t", {"long": df}, {}, max_rows=10).read_text()
    assert text.count("</tr>") == 11 and "first 10 of 50 rows" in text
    assert "first" not in write_report(tmp_path / "s.html", "t", {"long": df}, {}).read_text().split("<nav>")[1]


def test_sections_get_unique_anchors(tmp_path):
    df = pd.DataFrame({"x": [1]})
    text = write_report(tmp_path / "r.html", "t", {"a b": df, "a-b": df}, {}).read_text()
    assert 'id="table-a-b"' in text and 'id="table-a-b-2"' in text


class SweepLike:
    """A stand-in for the result store's object: points, flows, ports, timeseries."""

    def __init__(self, n_points=3, with_ts=True):
        rng = np.random.default_rng(7)
        pts = [f"p{i}" for i in range(n_points)]
        self.points = pd.DataFrame({"point": pts, "transport.cc.name": ["nscc", "dctcp", "fixed"][:n_points],
                                    "seed": 1, "fct_p99_us": rng.uniform(10, 20, n_points)})
        self.flows = pd.DataFrame({"point": np.repeat(pts, 8), "flow_id": np.tile(range(8), n_points),
                                   "fct_us": rng.uniform(5, 50, 8 * n_points), "finished": True,
                                   "retransmits": 0})
        self.ports = pd.DataFrame({"point": np.repeat(pts, 4), "port": np.tile(range(4), n_points),
                                   "node": "leaf0", "peer": np.tile(["gpu0", "gpu1", "gpu2", "gpu3"], n_points),
                                   "max_queue_bytes": rng.integers(0, 10_000, 4 * n_points)})
        if with_ts:
            t = np.arange(1, 6, dtype=float)
            rows = [pd.DataFrame({"point": p, "t_us": t, "kind": "port", "id": i, "metric": m,
                                  "value": rng.uniform(0, 1, 5) * (4096 if m == "queue_bytes" else 1)})
                    for p in pts for i in range(4) for m in ("queue_bytes", "utilisation")]
            self.timeseries = pd.concat(rows, ignore_index=True)


def test_report_from_a_sweep(tmp_path):
    res = SweepLike()
    text = report_from_results(res, tmp_path / "sweep.html").read_text()
    assert "<title>uesim sweep report</title>" in text
    for name in ("Points", "Flow completion per point", "Busiest ports (by peak queue)"):
        assert f'data-table="{name}"' in text
    # one FCT CDF, one p99 FCT, a queue and a utilisation figure per point, titled key=value
    assert text.count("<img") == 2 + 2 * 3
    assert "Queue depth - cc=dctcp" in text and "Utilisation - cc=nscc" in text
    # the per-point figures follow the table order (sorted by cc), not the point keys
    assert text.index("Queue depth - cc=dctcp") < text.index("Queue depth - cc=fixed") \
        < text.index("Queue depth - cc=nscc")
    assert "sampled every 1 us" in text
    assert external_refs(text) == []


def test_report_without_timeseries_or_points(tmp_path):
    res = SweepLike(2, with_ts=False)
    del res.points
    text = report_from_results(res, tmp_path / "r.html", title="Mine").read_text()
    assert "<title>Mine</title>" in text and text.count("<img") == 1
    assert 'data-table="Points"' not in text and 'data-table="Flow completion per point"' in text


def test_report_from_a_run_result(tmp_path):
    from uesim.experiments import check_scenario, run_scenario
    res = run_scenario(check_scenario({
        "topology": {"generator": "leaf_spine", "n_leaves": 2, "n_spines": 1, "hosts_per_leaf": 2},
        "traffic": {"pattern": "incast", "size_bytes": 50_000, "receiver": 0, "n_senders": 3},
        "outputs": {"timeseries_interval_ps": 2_000_000}, "seed": 1}))
    text = report_from_results(res, tmp_path / "run.html").read_text()
    assert "<title>uesim run report</title>" in text
    assert 'data-table="Summary"' in text and 'data-table="Flow completion"' in text
    assert text.count("<img") == 3                       # FCT CDF, queue depth, utilisation
    # the busiest-ports table starts with the port of the highest peak queue
    top = res.ports.sort_values("max_queue_bytes", ascending=False).iloc[0]
    busiest = text.split('data-table="Busiest ports (by peak queue)"')[1]
    assert re.search(rf"<td>{top.node}</td>\s*<td>{top.peer}</td>", busiest.split("</tr>")[1])
    assert top.max_queue_bytes > 10_000


def test_report_shows_windows_only_when_they_move(tmp_path):
    from uesim.experiments import check_scenario, run_scenario
    base = {"topology": {"generator": "leaf_spine", "n_leaves": 2, "n_spines": 1, "hosts_per_leaf": 4},
            "traffic": {"pattern": "incast", "size_bytes": 100_000, "receiver": 0, "n_senders": 4},
            "outputs": {"timeseries_interval_ps": 1_000_000}, "seed": 1}
    nscc = run_scenario(check_scenario({**base, "transport": {"name": "uet", "cc": {"name": "nscc"}},
                                        "fabric": {"trimming": True, "buffer_bytes": 60_000}}))
    fixed = run_scenario(check_scenario(base))
    text = report_from_results(nscc, tmp_path / "nscc.html").read_text()
    assert "Congestion windows" in text and text.count("<img") == 4
    text = report_from_results(fixed, tmp_path / "fixed.html").read_text()
    assert "Congestion windows" not in text and text.count("<img") == 3
