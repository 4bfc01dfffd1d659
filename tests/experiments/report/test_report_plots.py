"""Plots from DataFrames: each draws what its data says (curves, bars, lines), each
option moves the figure the way it says, bad input names the column, and files come out
in the format asked for."""
import doctest
import importlib
import sys

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib", reason="plots need matplotlib (pip install 'uesim[plots]')")

from uesim.experiments.report import plots  # noqa: E402


@pytest.mark.parametrize("name", ["uesim.experiments.report.plots", "uesim.experiments.report.html",
                                  "uesim.experiments.timeseries"])
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 3


def lines(fig, i=0):
    return fig.axes[i].get_lines()


def test_fct_cdf_one_curve_per_group_ending_at_one():
    rng = np.random.default_rng(1)
    df = pd.DataFrame({"fct_us": rng.uniform(10, 100, 60), "point": np.repeat(["p0", "p1", "p2"], 20)})
    df.loc[df.index[-3:], "fct_us"] = np.nan                  # three unfinished in p2
    fig = plots.fct_cdf(df, group="point", labels={"p0": "nscc"})
    ls = lines(fig)
    assert [l.get_label() for l in ls] == ["nscc (20 flows)", "p1 (20 flows)", "p2 (17 of 20 finished)"]
    for l, (_, sub) in zip(ls, df.groupby("point")):
        x, y = l.get_xdata(), l.get_ydata()
        assert list(x[1:]) == sorted(sub.fct_us.dropna())        # every finished flow, in order
        assert y[0] == 0 and y[-1] == 1 and (np.diff(y) > 0).all()
    assert fig.axes[0].get_xscale() == "linear"
    assert plots.fct_cdf(df, logx=True).axes[0].get_xscale() == "log"
    assert [l.get_label() for l in lines(plots.fct_cdf(df))] == ["57 of 60 finished"]
    two = plots.fct_cdf(df.assign(cc=np.tile(["a", "b"], 30)), group=["point", "cc"])
    assert len(lines(two)) == 6 and lines(two)[0].get_label().startswith("point=p0, cc=a")


def test_fct_cdf_names_missing_columns():
    with pytest.raises(ValueError, match="fct_cdf: missing column 'fct_us'"):
        plots.fct_cdf(pd.DataFrame({"fct": [1.0]}))
    with pytest.raises(ValueError, match="group: missing column 'transport'"):
        plots.fct_cdf(pd.DataFrame({"fct_us": [1.0]}), group="transport")


def test_busbw_vs_size_averages_and_orders():
    df = pd.DataFrame({"bytes": [1 << 20, 1 << 20, 1 << 26, 1 << 26, 1 << 20, 1 << 26],
                       "busbw_gbps": [40.0, 60.0, 80.0, 100.0, 20.0, 70.0],
                       "group": ["ring", "ring", "ring", "ring", "tree", "tree"]})
    fig = plots.busbw_vs_size(df)
    ring, tree = lines(fig)
    assert (ring.get_label(), tree.get_label()) == ("ring", "tree")
    assert list(ring.get_xdata()) == [1 << 20, 1 << 26] and list(ring.get_ydata()) == [50.0, 90.0]
    assert list(tree.get_ydata()) == [20.0, 70.0]
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and [t.get_text() for t in ax.get_xticklabels()] == ["1 MiB", "64 MiB"]
    renamed = df.rename(columns={"bytes": "size", "busbw_gbps": "bw", "group": "algo"})
    assert len(lines(plots.busbw_vs_size(renamed, x="size", y="bw", group="algo", ideal_gbps=400))) == 3
    assert len(lines(plots.busbw_vs_size(df, group=None))) == 1
    with pytest.raises(ValueError, match="missing column 'busbw_gbps'"):
        plots.busbw_vs_size(df.drop(columns="busbw_gbps"))


def test_stall_bars_grouped_with_spread():
    df = pd.DataFrame({"topology": ["fat_tree"] * 4 + ["rail"] * 2,
                       "transport": ["uet", "uet", "roce", "roce", "uet", "roce"],
                       "stall": [2.0, 4.0, 8.0, 10.0, 1.0, 5.0]})
    fig = plots.stall_bars(df)
    ax = fig.axes[0]
    heights = [float(p.get_height()) for p in ax.patches]
    assert heights == [9.0, 5.0, 3.0, 1.0]             # roce: fat_tree, rail; uet: fat_tree, rail
    xs = [p.get_x() for p in ax.patches]
    assert xs[0] < xs[2] < xs[1] < xs[3]               # the two transports side by side per topology
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["roce", "uet"]
    # error bars from min to max where a pair has several rows (seeds)
    caps = [c for c in ax.containers if hasattr(c, "errorbar") and c.errorbar is not None]
    assert len(caps) == 2
    # a missing pair is an empty slot, not an error
    part = plots.stall_bars(df[~((df.topology == "rail") & (df.transport == "uet"))])
    assert np.isnan(float(part.axes[0].patches[-1].get_height()))


def series():
    t = np.arange(1, 11, dtype=float)
    rows = []
    for pid, peak in ((0, 1000.0), (1, 50_000.0), (2, 20_000.0)):
        q = peak * np.sin(np.pi * t / 10)
        u = np.full(10, {0: 0.9, 1: 0.5, 2: 1.0}[pid])
        u[0] = 1.0
        rows.append(pd.DataFrame({"t_us": t, "kind": "port", "id": pid, "metric": "queue_bytes", "value": q}))
        rows.append(pd.DataFrame({"t_us": t, "kind": "port", "id": pid, "metric": "utilisation", "value": u}))
    rows.append(pd.DataFrame({"t_us": t, "kind": "flow", "id": 7, "metric": "cwnd_bytes", "value": 4096.0 * t}))
    return pd.concat(rows, ignore_index=True)


def test_port_series_selects_and_scales():
    ts = series()
    fig = plots.queue_depth(ts, top=2, names={1: "leaf0->gpu0"})
    ls = lines(fig)
    assert [l.get_label() for l in ls] == ["leaf0->gpu0", "port 2"]       # the two highest peaks
    assert max(ls[0].get_ydata()) == pytest.approx(50.0)                  # KB
    assert "top 2 of 3" in fig.axes[0].get_title()
    util = plots.utilisation(ts, top=2)                                   # ranked by mean
    assert [l.get_label() for l in lines(util)] == ["port 2", "port 0"]
    assert util.axes[0].get_ylim() == (0, 1.05)
    assert [l.get_label() for l in lines(plots.utilisation(ts, top=2, rank="max"))] == ["port 0", "port 1"]
    assert [l.get_label() for l in lines(plots.queue_depth(ts, ids=[0]))] == ["port 0"]
    flows = plots.port_series(ts, "cwnd_bytes", kind="flow")
    assert list(lines(flows)[0].get_ydata()) == pytest.approx(list(4.096 * np.arange(1, 11)))


def test_port_series_errors():
    ts = series()
    with pytest.raises(ValueError, match="no port series of metric 'cwnd_bytes'.*queue_bytes, utilisation"):
        plots.port_series(ts, "cwnd_bytes")
    with pytest.raises(ValueError, match="no port 9"):
        plots.queue_depth(ts, ids=[9])
    with pytest.raises(ValueError, match="rank = 'median'"):
        plots.queue_depth(ts, rank="median")
    with pytest.raises(ValueError, match="missing column 'metric'"):
        plots.queue_depth(ts.drop(columns="metric"))


def test_run_overview_adds_queues_when_sampled():
    flows = pd.DataFrame({"fct_us": [3.0, 4.0, 5.0]})
    assert len(plots.run_overview(flows).axes) == 1
    fig = plots.run_overview(flows, series(), top=1)
    assert len(fig.axes) == 2 and len(fig.axes[1].get_lines()) == 1
    assert len(plots.run_overview(flows, series()[lambda d: d.kind == "flow"]).axes) == 1


@pytest.mark.parametrize("suffix, magic", [(".png", b"\x89PNG"), (".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_save_formats(tmp_path, suffix, magic):
    fig = plots.fct_cdf(pd.DataFrame({"fct_us": [1.0, 2.0]}))
    path = plots.save(fig, tmp_path / "a" / f"fct{suffix}")
    assert path.read_bytes().startswith(magic)


def test_save_rejects_unknown_format(tmp_path):
    with pytest.raises(ValueError, match=r"unknown image format '.gif'; allowed: .png"):
        plots.save(plots.fct_cdf(pd.DataFrame({"fct_us": [1.0]})), tmp_path / "x.gif")


def test_point_labels_show_what_varies():
    pts = pd.DataFrame({"point": ["a", "b", "c"], "transport.cc.name": ["nscc", "dctcp", "nscc"],
                        "topology.n_spines": [2, 2, 4], "fabric.trimming": [True, True, True],
                        "fct_p99_us": [1.0, 2.0, 3.0]})
    assert plots.point_labels(pts) == {"a": "cc=nscc, n_spines=2",
                                       "b": "cc=dctcp, n_spines=2",
                                       "c": "cc=nscc, n_spines=4"}
    assert plots.point_labels(pts[["point", "fct_p99_us"]]) == {"a": "a", "b": "b", "c": "c"}
    assert plots.point_labels(None) == {}


def test_clear_error_without_matplotlib(monkeypatch):
    for mod in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, mod)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match=r"plots need matplotlib: pip install 'uesim\[plots\]'"):
        plots.fct_cdf(pd.DataFrame({"fct_us": [1.0]}))
