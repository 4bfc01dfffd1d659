"""The shipped example sweep (docs/examples/sweep_cc_size_seed.toml: 3 CCs x 2 sizes x 3
seeds) through ``uesim sweep``, ``uesim plot`` and ``uesim report``: figures have one
colour per CC and a band per (CC, size) for the seeds, legends say ``cc=...`` and never a
point key, tables are sorted by the varying keys with them first, and the report opens
in headless Chromium without the page scrolling sideways."""
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("matplotlib", reason="reports need matplotlib (pip install 'uesim[plots]')")

from matplotlib.collections import PolyCollection  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from uesim.experiments.cli import main  # noqa: E402
from uesim.experiments.report.cli import figure_for  # noqa: E402
from uesim.experiments.store import load  # noqa: E402

EXAMPLE = Path(__file__).resolve().parents[3] / "docs" / "examples" / "sweep_cc_size_seed.toml"
CCS, SIZES, SEEDS = ["dctcp", "fixed", "nscc"], [131_072, 1_048_576], [1, 2, 3]
KEYS = ["transport.cc.name", "transport.cc.cwnd_bytes", "traffic.size_bytes", "seed"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    out = tmp_path_factory.mktemp("cc_size") / "store"
    assert main(["sweep", str(EXAMPLE), "--out", str(out), "--jobs", "1", "--json"]) == 0
    return out


@pytest.fixture(scope="module")
def report(store, tmp_path_factory):
    path = tmp_path_factory.mktemp("report") / "cc_size.html"
    assert main(["report", str(store), "-o", str(path)]) == 0
    return path.read_text()


def texts(fig):
    """Every piece of text in a figure: legends, titles, tick labels, line labels."""
    out = [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]
    return out + [line.get_label() for ax in fig.axes for line in ax.get_lines()]


def no_point_keys(strings, view):
    keys = set(view.points["point"])
    return not any(k[:8] in s for s in strings for k in keys) and \
        not any(re.search(r"\b[0-9a-f]{16}\b", s) for s in strings)


def test_the_example_is_the_sweep_it_says(store):
    view = load(store)
    pts = view.points
    assert len(pts) == 18 and sorted(pts["transport.cc.name"].unique()) == CCS
    assert sorted(pts["traffic.size_bytes"].unique()) == SIZES and sorted(pts["seed"].unique()) == SEEDS
    assert view.varying() == ["seed", "traffic.size_bytes", "transport.cc.name", "transport.cc.cwnd_bytes"]
    assert (pts["flows"] == 16).all() and (pts["finished"] == 16).all()


def test_fct_cdf_one_colour_per_cc_and_a_band_per_group(store):
    view = load(store)
    fig = figure_for(view, "fct-cdf")
    axes = [ax for ax in fig.axes if ax.get_lines()]
    assert [ax.get_title() for ax in axes] == ["size_bytes=131072", "size_bytes=1048576"]
    lines = [line for ax in axes for line in ax.get_lines()]
    assert len(lines) == 6                                       # 3 CCs x 2 sizes, seeds aggregated
    assert len({to_hex(line.get_color()) for line in lines}) == 3
    for ax in axes:                                              # the same colour for a CC in each panel
        assert [line.get_label() for line in ax.get_lines()] == [f"cc={cc}" for cc in CCS]
    colour_of = {(ax.get_title(), line.get_label()): to_hex(line.get_color()) for ax in axes for line in ax.get_lines()}
    assert all(colour_of[("size_bytes=131072", f"cc={cc}")] == colour_of[("size_bytes=1048576", f"cc={cc}")]
               for cc in CCS)
    bands = [c for ax in axes for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 6
    legend = [t.get_text() for t in fig.legends[0].get_texts()]
    assert legend == ["cc=dctcp", "cc=fixed", "cc=nscc", "shaded: min-max, line: median, over 3 seeds"]
    assert no_point_keys(texts(fig), view)


def seed_cdfs(view, cc, size):
    """Each seed's empirical CDF of (cc, size), as sorted FCT arrays."""
    pts = view.points
    sel = pts[(pts["transport.cc.name"] == cc) & (pts["traffic.size_bytes"] == size)]
    flows = view.flows.merge(sel[["point", "seed"]], on="point")
    return [np.sort(g.to_numpy(dtype=float)) for _, g in flows.groupby("seed")["fct_us"]]


def test_the_curve_is_the_median_of_the_seeds_and_the_band_their_range(store):
    view = load(store)
    fig = figure_for(view, "fct-cdf")
    ax = fig.axes[1]                                             # size_bytes=1048576
    line = next(line for line in ax.get_lines() if line.get_label() == "cc=nscc")
    per_seed = seed_cdfs(view, "nscc", 1_048_576)
    x, y = line.get_xdata()[1:], line.get_ydata()[1:]
    ys = np.vstack([np.searchsorted(s, x, side="right") / len(s) for s in per_seed])
    assert np.allclose(y, np.median(ys, axis=0)) and y[-1] == 1.0
    assert not np.allclose(ys.min(axis=0), ys.max(axis=0))       # the seeds differ: a real band
    band = [c for c in ax.collections if isinstance(c, PolyCollection)][2]     # nscc, the third CC
    verts = band.get_paths()[0].vertices
    assert np.isclose(verts[:, 1].max(), 1.0) and np.isclose(verts[:, 1].min(), 0.0)
    # its edges are the lowest and the highest seed at every FCT
    inside = verts[:, 0] > x[0]
    lo_hi = {round(v, 9) for v in np.concatenate([ys.min(axis=0), ys.max(axis=0), [0.0]])}
    assert {round(v, 9) for v in verts[inside, 1]} <= lo_hi


def test_p99_metric_mean_with_min_max_bars(store):
    view = load(store)
    fig = figure_for(view, "metric")
    ax = fig.axes[0]
    assert [c.get_label() for c in ax.containers] == [f"cc={cc}" for cc in CCS]
    assert [t.get_text() for t in ax.get_xticklabels()] == [str(s) for s in SIZES]
    agg = view.points.groupby(["transport.cc.name", "traffic.size_bytes"])["fct_p99_us"].agg(["mean", "min", "max"])
    for cc, container in zip(CCS, ax.containers):
        means = container.lines[0].get_ydata()
        bars = container.lines[2][0].get_segments()
        for size, mean, seg in zip(SIZES, means, bars):
            assert mean == pytest.approx(agg.loc[(cc, size), "mean"])
            assert (seg[0][1], seg[1][1]) == pytest.approx((agg.loc[(cc, size), "min"], agg.loc[(cc, size), "max"]))
    assert len({to_hex(c.lines[0].get_color()) for c in ax.containers}) == 3
    assert no_point_keys(texts(fig), view)


def test_colour_and_panel_options(store, tmp_path, capsys):
    view = load(store)
    fig = figure_for(view, "fct-cdf", colour="size_bytes", panel="cc")
    assert [ax.get_title() for ax in fig.axes] == [f"cc={cc}" for cc in CCS]
    assert len({to_hex(line.get_color()) for ax in fig.axes for line in ax.get_lines()}) == 2
    assert main(["plot", str(store), "fct-cdf", "-o", str(tmp_path / "f.png"), "--colour", "traffic.size_bytes"]) == 0
    assert main(["plot", str(store), "metric", "-o", str(tmp_path / "m.svg"), "--metric", "fct_p50_us"]) == 0
    capsys.readouterr()
    assert main(["report", str(store), "-o", str(tmp_path / "r.html"), "--colour", "topology"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("uesim: error: --colour 'topology': not a varying key") and err.count("\n") == 1
    assert not (tmp_path / "r.html").exists()


def table(report_text, name):
    """``(headers, rows)`` of the report's table ``name``: cell texts, <wbr> removed."""
    section = report_text.split(f'data-table="{name}"')[1].split("</section>")[0].replace("<wbr>", "")
    body = section[section.index("<table"):]
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", body)
    rows = [re.findall(r"<td>([^<]*)</td>", tr) for tr in re.findall(r"<tr>(.*?)</tr>", body, re.S)]
    return headers, [r for r in rows if r], section


def key_rows(headers, rows, keys):
    """The rows as tuples of the key columns (numbers as numbers, blank as -1)."""
    idx = [headers.index(k) for k in keys]
    conv = lambda v: -1 if v == "" else (int(v) if v.isdigit() else v)   # noqa: E731
    return [tuple(conv(r[i]) for i in idx) for r in rows]


def test_points_table_sorted_by_the_varying_keys_with_constants_above(store, report):
    headers, rows, section = table(report, "Points")
    assert headers[:4] == KEYS and headers[-1] == "point"
    assert len(rows) == 18
    keyed = key_rows(headers, rows, ["transport.cc.name", "traffic.size_bytes", "seed"])
    assert keyed == sorted(keyed)
    assert [r[-1] for r in rows] != sorted(r[-1] for r in rows)    # not the store's key order
    constants = section[:section.index("<table")]
    n = int(re.search(r'data-constants="(\d+)"', constants).group(1))
    assert n == len(re.findall(r"<li>", constants)) > 30
    for key in ("topology.n_leaves", "transport.name", "traffic.pattern", "fabric.trimming"):
        assert f"<code>{key}</code>" in constants and key not in headers
    for key in KEYS:
        assert f"<code>{key}</code>" not in constants
    assert re.search(r'<th class="key">transport\.cc\.name</th>', section.replace("<wbr>", ""))


def test_other_tables_sorted_by_the_keys_too(report):
    headers, rows, _ = table(report, "Across seeds")
    assert headers[:4] == KEYS[:3] + ["seeds"] and len(rows) == 6
    assert key_rows(headers, rows, ["transport.cc.name", "traffic.size_bytes"]) == \
        [(cc, s) for cc in CCS for s in SIZES]
    assert {r[3] for r in rows} == {"3"}
    headers, rows, _ = table(report, "Flow completion per point")
    assert headers[:4] == KEYS and "point" not in headers and len(rows) == 18
    keyed = key_rows(headers, rows, ["transport.cc.name", "traffic.size_bytes", "seed"])
    assert keyed == sorted(keyed)
    headers, rows, section = table(report, "Busiest ports (by peak queue)")
    assert headers[:4] == KEYS and "point" not in headers
    peaks = [int(r[headers.index("max_queue_bytes")]) for r in rows]
    assert peaks == sorted(peaks, reverse=True)
    assert "Zero in every row, left out:" in section and "pfc_pauses_sent" not in headers


def test_numbers_have_a_few_significant_digits(report):
    headers, rows, _ = table(report, "Across seeds")
    col = headers.index("fct_p99_us mean")
    for r in rows:
        digits = re.sub(r"[^0-9]", "", r[col].split("e")[0]).lstrip("0")
        assert 1 <= len(digits) <= 4, r[col]


def test_the_report_names_no_point_key_outside_the_points_table(store, report):
    view = load(store)
    rest = report.split('data-table="Points"')[0] + report.split('data-table="Points"')[1].split("</section>", 1)[1]
    assert not any(k in rest for k in view.points["point"])
    assert report.count("<img") == 2                            # FCT CDF and p99 FCT (nothing sampled)
    assert "one colour per cc; one panel per size_bytes; 3 seeds aggregated" in report


# ---------------------------------------------------------------- in a browser

chromium_test = pytest.importorskip("test_report_chromium", reason="the Chromium helpers of the report tests")
needs_chromium = pytest.mark.skipif(chromium_test.BROWSER is None,
                                    reason="no chromium on PATH (apt-get install chromium)")


def marks(dom):
    return {"page": int(re.search(r'data-page-overflow="(\d+)"', dom).group(1)),
            "tables": [int(v) for v in re.findall(r'data-overflow="(\d+)"', dom)],
            "figures": re.search(r'data-figures-checked="([^"]+)"', dom).group(1)}


@needs_chromium
def test_the_sweep_report_in_chromium(store, report, tmp_path):
    path = tmp_path / "cc_size.html"
    path.write_text(report)
    wide = chromium_test.chromium("--virtual-time-budget=3000", "--window-size=1280,2000", "--dump-dom",
                                  path.as_uri(), tmp_path=tmp_path)
    assert wide.returncode == 0, wide.stderr[-2000:]
    m = marks(wide.stdout)
    assert m["figures"] == "2/2" and "all 2 figures loaded" in wide.stdout
    assert m["page"] == 0 and m["tables"] == [0, 0, 0, 0]      # every table fits a 1280 px window
    for name, n in (("Points", 18), ("Across seeds", 6), ("Flow completion per point", 18)):
        section = wide.stdout.split(f'data-table="{name}"')[1].split("</section>")[0]
        assert section.count("<tr") == n + 1
    # a narrow window: the page still does not scroll sideways, wide tables scroll in their box
    narrow = chromium_test.chromium("--virtual-time-budget=3000", "--window-size=640,2000", "--dump-dom",
                                    path.as_uri(), tmp_path=tmp_path)
    m = marks(narrow.stdout)
    assert m["page"] == 0 and max(m["tables"]) > 0
    assert narrow.stdout.count('class="table scrolls"') == sum(1 for v in m["tables"] if v > 0)
