"""A self-contained HTML report: tables and figures in one file.

:func:`write_report` writes one ``.html`` file with everything inside it: CSS inline,
figures as base64 PNG ``<img>`` tags, tables rendered by pandas with their text escaped.
It loads nothing from anywhere, so it can be mailed, attached to a ticket or opened from
a cluster's scratch space.  A few lines of inline script check, once the page has
loaded, that every figure decoded, and say so at the top of the page.

:func:`report_from_results` builds the standard report of a run or a sweep from any
object with ``.points``, ``.flows``, ``.ports`` and ``.timeseries`` DataFrames (missing
ones are skipped).
"""
from __future__ import annotations

import base64
import html
import io
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       margin: 2em auto; max-width: 72em; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
p.meta { color: #666; margin-top: 0; }
nav ul { columns: 2; font-size: 0.95em; }
div.table { overflow-x: auto; max-width: 100%; }
div.table.scrolls { box-shadow: inset -10px 0 8px -8px rgba(0, 0, 0, 0.35); }
table.dataframe { border-collapse: collapse; font-size: 0.8em; margin: 0.5em 0; }
table.dataframe th, table.dataframe td { border: 1px solid #ccc; padding: 0.2em 0.35em; text-align: right; }
table.dataframe td { white-space: nowrap; font-variant-numeric: tabular-nums; }
table.dataframe thead th { background: #f2f2f2; vertical-align: bottom; min-width: 3em; }
table.dataframe th.key { background: #e6eef8; }
table.dataframe tbody tr:nth-child(even) { background: #fafafa; }
ul.constants { list-style: none; padding: 0; margin: 0.4em 0; font-size: 0.8em; color: #444;
               display: flex; flex-wrap: wrap; gap: 0.15em 1.2em; }
ul.constants code { color: #222; }
figure { margin: 1em 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #444; font-size: 0.9em; margin-top: 0.3em; }
#figure-check { padding: 0.4em 0.8em; border-radius: 4px; font-size: 0.9em; }
#figure-check.ok { background: #eef8ee; color: #264d26; }
#figure-check.bad { background: #fdecea; color: #8a1c13; font-weight: bold; }
"""

# After load: record each figure's decoded width on it and say at the top whether all
# decoded (a headless browser test reads the same marks from the DOM).
CHECK_SCRIPT = """
window.addEventListener("load", function () {
  var imgs = document.querySelectorAll("figure img");
  var bad = 0;
  for (var i = 0; i < imgs.length; i++) {
    var w = imgs[i].complete ? imgs[i].naturalWidth : 0;
    imgs[i].setAttribute("data-natural-width", String(w));
    if (!w) { bad++; }
  }
  var box = document.getElementById("figure-check");
  box.className = bad ? "bad" : "ok";
  box.textContent = bad ? (bad + " of " + imgs.length + " figures failed to load")
                        : ("all " + imgs.length + " figures loaded");
  document.body.setAttribute("data-figures-checked", String(imgs.length - bad) + "/" + String(imgs.length));
  // how far the page and each table reach past the width they have (0: they fit)
  var page = document.documentElement;
  document.body.setAttribute("data-page-overflow", String(Math.max(0, page.scrollWidth - page.clientWidth)));
  var boxes = document.querySelectorAll("div.table");
  for (var j = 0; j < boxes.length; j++) {
    var over = Math.max(0, boxes[j].scrollWidth - boxes[j].clientWidth);
    boxes[j].setAttribute("data-overflow", String(over));
    if (over) { boxes[j].className += " scrolls"; }
  }
});
"""


@dataclass
class Table:
    """A report table with what goes above it.

    Attributes
    ----------
    frame : pandas.DataFrame
    note : str or dict, optional
        A sentence above the table, or a mapping ``key -> value`` shown as the keys that
        are the same at every point.
    keys : tuple of str
        Columns that say which point a row is (headers highlighted).
    """

    frame: object
    note: object = None
    keys: tuple = ()


def _anchor(name: str, used: set) -> str:
    base = "".join(ch if ch.isalnum() else "-" for ch in name.lower()).strip("-") or "section"
    slug, i = base, 2
    while slug in used:
        slug, i = f"{base}-{i}", i + 1
    used.add(slug)
    return slug


def figure_png_base64(fig, dpi: int = 110) -> str:
    """``fig`` as a base64 PNG string (for a ``data:`` URI)."""
    buf = io.BytesIO()
    # no software tag: the PNG carries no text but the image
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None}, bbox_inches="tight")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _wrappable(header: str) -> str:
    """An escaped header with break chances after dots and underscores."""
    return header.replace(".", ".<wbr>").replace("_", "_<wbr>")


def _headers(body: str, keys) -> str:
    """Let the header cells of a pandas table wrap; mark the key columns (class "key")."""
    keys = {html.escape(str(k)) for k in keys}

    def cell(m):
        attrs, text = m.group(1), m.group(2)
        if text in keys:
            attrs += ' class="key"'
        return f"<th{attrs}>{_wrappable(text)}</th>"
    return re.sub(r"<th([^>]*)>([^<]*)</th>", cell, body)


def format_number(v) -> str:
    """A float cell: four significant digits (``12.35``, ``1.234e+06``).

    Examples
    --------
    >>> format_number(12.3456), format_number(0.000123456), format_number(2.0)
    ('12.35', '0.0001235', '2')
    """
    return f"{v:.4g}"


def constants_html(constants: dict) -> str:
    """The keys that are the same everywhere, as one wrapped list ``key = value``."""
    items = "".join(f"<li><code>{html.escape(str(k))}</code> = {html.escape(str(v))}</li>"
                    for k, v in constants.items())
    return (f"<p class=\"meta\">Same at every point ({len(constants)}):</p>"
            f"<ul class=\"constants\" data-constants=\"{len(constants)}\">{items}</ul>")


def _note_html(note) -> str:
    if not note:
        return ""
    if isinstance(note, dict):
        return constants_html(note)
    return f"<p class=\"meta\">{html.escape(str(note))}</p>"


def _blank_missing(df):
    """Extension columns (``Int64``, strings) with NA: blank cells, as ``na_rep`` gives
    numpy columns (a key that does not apply to a point shows nothing)."""
    import pandas as pd
    out = df
    for c in df.columns:
        col = df[c]
        if isinstance(col.dtype, pd.api.extensions.ExtensionDtype) and col.isna().any():
            out = out if out is not df else df.copy()
            out[c] = col.astype(object).where(col.notna(), "")
    return out


def _table_html(df, max_rows: int, keys=()) -> str:
    shown = _blank_missing(df if len(df) <= max_rows else df.head(max_rows))
    body = shown.to_html(index=False, escape=True, na_rep="", border=0,
                         float_format=format_number, classes="dataframe")
    note = "" if len(df) <= max_rows else \
        f"<p class=\"meta\">first {max_rows} of {len(df)} rows</p>"
    return f"<div class=\"table\">{_headers(body, keys)}</div>{note}"


def write_report(path, title: str, tables: dict, figures: dict, *, captions: dict | None = None,
                 intro: str | None = None, max_rows: int = 200, dpi: int = 110) -> Path:
    """Write one self-contained HTML file with ``tables`` and ``figures``.

    Parameters
    ----------
    path : str or Path
        The ``.html`` file to write (atomically: a temporary file renamed).
    title : str
        Page title and heading.
    tables : dict of str to pandas.DataFrame or Table
        Section heading -> table (cells HTML-escaped, floats to four significant digits,
        headers wrapping at dots and underscores, at most ``max_rows`` rows shown); a
        :class:`Table` adds a note above it and marks its key columns.  A table wider
        than the page scrolls sideways inside its own box.
    figures : dict of str to matplotlib Figure
        Caption -> figure; a value may also be ``(figure, caption)`` to keep the heading
        short and the caption long.  Embedded as base64 PNG.
    captions : dict, optional
        Extra caption text per figure name.
    intro : str, optional
        A paragraph under the title (escaped).

    Returns
    -------
    Path

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> from uesim.experiments.report.plots import fct_cdf
    >>> flows = pd.DataFrame({"fct_us": [1.0, 2.0, 4.0]})
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = write_report(pathlib.Path(d) / "r.html", "Demo <1>", {"flows": flows},
    ...                      {"FCT": fct_cdf(flows)})
    ...     text = p.read_text()
    >>> "<title>Demo &lt;1&gt;</title>" in text, text.count("data:image/png;base64,"), "http" in text
    (True, 1, False)
    """
    path = Path(path)
    captions = captions or {}
    used: set = set()
    toc, parts = [], []
    for name, table in tables.items():
        table = table if isinstance(table, Table) else Table(table)
        slug = _anchor(f"table {name}", used)
        toc.append(f"<li><a href=\"#{slug}\">{html.escape(str(name))}</a> (table)</li>")
        parts.append(f"<section id=\"{slug}\" class=\"table-section\" data-table=\"{html.escape(str(name), quote=True)}\">"
                     f"<h2>{html.escape(str(name))}</h2>{_note_html(table.note)}"
                     f"{_table_html(table.frame, max_rows, table.keys)}</section>")
    for name, value in figures.items():
        fig, caption = value if isinstance(value, tuple) else (value, None)
        caption = caption or captions.get(name) or name
        slug = _anchor(f"figure {name}", used)
        toc.append(f"<li><a href=\"#{slug}\">{html.escape(str(name))}</a> (figure)</li>")
        data = figure_png_base64(fig, dpi=dpi)
        parts.append(
            f"<section id=\"{slug}\"><h2>{html.escape(str(name))}</h2><figure>"
            f"<img alt=\"{html.escape(str(name), quote=True)}\" src=\"data:image/png;base64,{data}\">"
            f"<figcaption>{html.escape(str(caption))}</figcaption></figure></section>")
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    doc = (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>{html.escape(title)}</title><style>{CSS}</style></head>\n<body>"
        f"<h1>{html.escape(title)}</h1><p class=\"meta\">uesim report, written {stamp}; "
        f"{len(tables)} tables, {len(figures)} figures</p>"
        + (f"<p>{html.escape(intro)}</p>" if intro else "")
        + "<p id=\"figure-check\">figures not checked (scripts off)</p>"
        + (f"<nav><ul>{''.join(toc)}</ul></nav>" if toc else "")
        + "\n".join(parts)
        + f"<script>{CHECK_SCRIPT}</script></body></html>\n")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(doc)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)        # mkstemp makes it private; a report is for sharing
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def _frame(obj, name):
    df = getattr(obj, name, None)
    if callable(df):
        df = df()
    return df if df is not None and hasattr(df, "columns") and len(df) > 0 else None


FCT_SUMMARY_QUANTILES = (("fct_p50_us", 0.5), ("fct_p99_us", 0.99))


def flow_summary(flows, group: str | None = "point"):
    """Per group (sweep point): flows, finished, FCT p50/p99/max (us), retransmits.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"point": ["a", "a", "b"], "fct_us": [1.0, 3.0, None],
    ...                    "finished": [True, True, False]})
    >>> flow_summary(df).to_dict("records")[0]
    {'point': 'a', 'flows': 2, 'finished': 2, 'fct_p50_us': 2.0, 'fct_p99_us': 2.98, 'fct_max_us': 3.0}
    """
    import pandas as pd
    keys = [group] if group and group in flows.columns else []
    rows = []
    for key, sub in (flows.groupby(keys, sort=True, observed=True) if keys else [(None, flows)]):
        fct = sub["fct_us"].dropna()
        row = {keys[0]: key[0] if isinstance(key, tuple) else key} if keys else {}
        row.update(flows=len(sub), finished=int(sub["finished"].sum()) if "finished" in sub else len(fct))
        for name, q in FCT_SUMMARY_QUANTILES:
            row[name] = round(float(fct.quantile(q)), 6) if len(fct) else None
        row["fct_max_us"] = round(float(fct.max()), 6) if len(fct) else None
        if "retransmits" in sub:
            row["retransmits"] = int(sub["retransmits"].sum())
        rows.append(row)
    return pd.DataFrame(rows)


def report_from_results(results, path, *, title: str | None = None, top_ports: int = 8,
                        colour: str | None = None, panel: str | None = None) -> Path:
    """Write the standard report of a run or a sweep.

    Parameters
    ----------
    results : object
        Anything with DataFrame attributes ``points`` (one row per sweep point, a
        ``point`` column and dotted config columns), ``flows`` and ``ports`` (rows
        carrying a ``point`` column in a sweep) and ``timeseries`` (long
        ``t_us, kind, id, metric, value``, optionally with ``point``).  Missing or
        empty ones are skipped; a :class:`~uesim.experiments.results.RunResult` works
        too (its summary stands in for the points table).
    path : str or Path
        The HTML file.
    title : str, optional
    top_ports : int
        Ports (and flows) drawn in the time-series figures.
    colour, panel : str, optional
        The varying key drawn in colours and the one drawn in panels (dotted or short
        name; default: see :func:`~uesim.experiments.report.layout.sweep_layout`).

    Returns
    -------
    Path

    Notes
    -----
    A sweep is shown by the config keys that vary
    (:mod:`~uesim.experiments.report.layout`): every table has them as its first
    columns and is sorted by them, the keys that are the same at every point are listed
    once above the points table, and points that differ only by seed are aggregated
    (a table across seeds; in the FCT CDF the median curve with a min-max band, in the
    p99 FCT figure the mean with min-max error bars).  Sections: points, across seeds,
    flow completion per point, the busiest ports, the FCT CDF (one colour per value of
    the first varying key, one panel per value of the second), the p99 FCT and, when
    sampled, queue depth and utilisation of the busiest ports and the flows' congestion
    windows where they move (per point, at most six points).
    """
    points, flows = _frame(results, "points"), _frame(results, "flows")
    ports, ts = _frame(results, "ports"), _frame(results, "timeseries")
    if points is None and hasattr(results, "summary"):
        import pandas as pd
        points = pd.DataFrame([results.summary()])
    config = getattr(results, "config_columns", None)
    if points is not None and "point" in points.columns:
        from uesim.experiments.report.layout import sort_points, sweep_layout
        try:
            layout = sweep_layout(points, config, colour=colour, panel=panel)
        except ValueError as exc:
            from uesim.experiments.schema import ScenarioError
            raise ScenarioError(str(exc)) from None
        points = sort_points(points, layout)
        tables = sweep_tables(points, flows, ports, layout)
        figures = _sweep_figures(points, flows, layout)
    else:
        tables, figures = _run_tables(points, flows, ports), _run_figures(flows)
    if ts is not None:
        figures.update(_timeseries_figures(ts, points, ports, config, top_ports))
    by_point = flows is not None and "point" in flows.columns
    if title is None:
        title = "uesim sweep report" if by_point else "uesim run report"
    path = write_report(path, title, tables, figures)
    _close(figures)
    return path


def sweep_tables(points, flows, ports, layout) -> dict:
    """The tables of a sweep report, each with the varying keys first and sorted by them.

    Parameters
    ----------
    points : pandas.DataFrame
        One row per point, sorted (:func:`~uesim.experiments.report.layout.sort_points`).
    flows, ports : pandas.DataFrame or None
        Rows with a ``point`` column.
    layout : SweepLayout

    Returns
    -------
    dict of str to Table
        ``Points`` (the constant keys in its note), ``Across seeds`` (when seeds vary),
        ``Flow completion per point``, ``Busiest ports (by peak queue)``.
    """
    keys = tuple(layout.keys)
    config = set(layout.keys) | set(layout.fixed)
    metrics = [c for c in points.columns if c not in config and c != "point"]
    first = points.iloc[0]
    shown, idle = _drop_idle(points[[*keys, *metrics, "point"]], keep=("flows", "finished", *keys))
    constants = {c: first[c] for c in layout.fixed}
    # metrics zero (or empty) at every point are said once with the constant keys
    constants.update({c: 0 if points[c].notna().any() else "" for c in idle})
    tables = {"Points": Table(shown, constants, keys)}
    if layout.seed and layout.n_seeds > 1:
        tables["Across seeds"] = Table(
            across_seeds(points, layout), f"Points equal but for the seed, aggregated over "
            f"{layout.n_seeds} seeds: mean, and min and max of the p99 FCT.", tuple(layout.group_keys))
    same = "Keys not shown are the same at every point (listed above the Points table)."
    if flows is not None and "point" in flows.columns:
        summary = points[[*keys, "point"]].merge(flow_summary(flows, "point"), on="point")
        tables["Flow completion per point"] = Table(summary.drop(columns="point"), same, keys)
    if ports is not None and "max_queue_bytes" in ports.columns:
        if "point" in ports.columns:          # the keys say which point a port is of
            ports = points[[*keys, "point"]].merge(ports, on="point").drop(columns="point")
        tables["Busiest ports (by peak queue)"] = busiest_ports(ports, keys)
    return tables


def across_seeds(points, layout):
    """One row per group of points equal but for the seed: seeds, flows, finished, mean
    FCT p50 / p99 / max, and min and max of the p99 FCT (pandas groupby, in point order).

    Examples
    --------
    >>> import pandas as pd
    >>> from uesim.experiments.report.layout import sweep_layout
    >>> pts = pd.DataFrame({"point": list("abcd"), "seed": [1, 2, 1, 2], "fct_p99_us": [4.0, 6, 9, 9],
    ...                     "transport.cc.name": ["nscc", "nscc", "dctcp", "dctcp"]})
    >>> across_seeds(pts, sweep_layout(pts)).to_dict("records")[0]
    {'transport.cc.name': 'nscc', 'seeds': 2, 'fct_p99_us mean': 5.0, 'fct_p99_us min': 4.0, 'fct_p99_us max': 6.0}
    """
    import pandas as pd
    spec = {"seeds": (layout.seed, "nunique")}
    spec.update({c: (c, "sum") for c in ("flows", "finished") if c in points.columns})
    for m in ("fct_p50_us", "fct_p99_us", "fct_max_us"):
        if m in points.columns:
            spec[f"{m} mean"] = (m, "mean")
        if m == "fct_p99_us" and m in points.columns:
            spec.update({f"{m} min": (m, "min"), f"{m} max": (m, "max")})
    keys = layout.group_keys or [pd.Series("all", index=points.index, name="points")]
    return points.groupby(keys, sort=False, dropna=False).agg(**spec).reset_index()


def busiest_ports(ports, keys=(), n: int = 20) -> Table:
    """The ``n`` ports with the highest peak queue; counter columns that are zero in
    every row shown are left out (named in the note)."""
    top = ports.sort_values("max_queue_bytes", ascending=False, kind="stable").head(n)
    top, idle = _drop_idle(top, keep=("port", "max_queue_bytes", *keys))
    note = f"Zero in every row, left out: {', '.join(idle)}." if idle else None
    return Table(top, note, tuple(keys))


def _drop_idle(df, keep=()):
    """``df`` without its numeric columns that are zero (or empty) in every row, and
    their names; columns in ``keep`` stay.

    Examples
    --------
    >>> import pandas as pd
    >>> df, idle = _drop_idle(pd.DataFrame({"a": [0, 0], "b": [1, 0], "c": ["x", "y"]}))
    >>> list(df.columns), idle
    (['b', 'c'], ['a'])
    """
    numeric = df.select_dtypes("number").columns
    idle = [c for c in numeric if c not in keep and bool((df[c].fillna(0) == 0).all())]
    return df.drop(columns=idle), idle


def _run_tables(points, flows, ports) -> dict:
    """The tables of one run (or of flows without a points table)."""
    tables = {}
    if points is not None:
        tables["Summary"] = points
    by_point = flows is not None and "point" in flows.columns
    if flows is not None and (by_point or "fct_us" in flows.columns):
        tables["Flow completion per point" if by_point else "Flow completion"] = \
            flow_summary(flows, "point" if by_point else None)
    if ports is not None and "max_queue_bytes" in ports.columns:
        tables["Busiest ports (by peak queue)"] = busiest_ports(ports)
    return tables


def _run_figures(flows) -> dict:
    """The FCT CDF of one run (one curve per point if the flows carry one)."""
    from uesim.experiments.report import plots
    if flows is None:
        return {}
    by_point = "point" in flows.columns
    fig = plots.fct_cdf(flows, group="point" if by_point else None)
    return {"FCT CDF": (fig, "Cumulative distribution of flow completion times"
                        + (", one curve per sweep point" if by_point else "")
                        + "; unfinished flows are left out and counted in the legend.")}


def _sweep_figures(points, flows, layout) -> dict:
    """The FCT CDF and the p99 FCT of a sweep, grouped and coloured by its varying keys."""
    from uesim.experiments.report import plots
    how = layout.describe() or "one curve"
    seeds = f"; line: the median over {layout.n_seeds} seeds, shaded: their min to max" \
        if layout.n_seeds > 1 else ""
    figures = {}
    if flows is not None and "point" in flows.columns:
        figures["FCT CDF"] = (plots.sweep_fct_cdf(flows, points, layout=layout),
                              f"Cumulative distribution of flow completion times: {how}{seeds}; "
                              "unfinished flows are left out and counted in the panel title.")
    if "fct_p99_us" in points.columns and layout.axes:
        bars = f"the mean over {layout.n_seeds} seeds with min-max error bars" if layout.n_seeds > 1 \
            else "one value per point"
        along = f"; {layout.panel.short} along x" if layout.panel else ""
        styles = f"; line style by {', '.join(a.short for a in layout.style)}" if layout.style else ""
        figures["p99 FCT"] = (plots.sweep_metric(points, "fct_p99_us", layout=layout),
                              f"99th percentile flow completion time of each point: {bars}; one colour "
                              f"per {layout.colour.short}{along}{styles}.")
    return figures


def _timeseries_figures(ts, points, ports, config, top: int) -> dict:
    """Queue depth, utilisation and moving congestion windows, per point (at most six,
    in the order of the points table)."""
    from uesim.experiments.report import plots
    labels = plots.point_labels(points, config)
    if "point" in ts.columns:
        by = dict(list(ts.groupby("point", sort=False, observed=True)))
        order = [k for k in (points["point"] if points is not None and "point" in points.columns else [])
                 if k in by] or sorted(by)
        groups = [(k, by[k]) for k in order]
    else:
        groups = [(None, ts)]
    figures = {}
    for key, sub in groups[:6]:
        suffix = "" if key is None else f" - {labels.get(key, key)}"
        names = plots.port_names(ports[ports["point"] == key] if ports is not None and key is not None
                                 and "point" in ports.columns else ports)
        figures.update(_point_series(sub, names, suffix, top))
    return figures


def _point_series(sub, names, suffix: str, top: int) -> dict:
    """The time-series figures of one point."""
    from uesim.experiments.report import plots
    figures = {}
    queues = sub[(sub["kind"] == "port") & (sub["metric"] == "queue_bytes")]
    if len(queues):
        peak = queues.groupby("id", observed=True)["value"].max().sort_values(ascending=False, kind="stable")
        ids = list(peak.index[:top])
        figures[f"Queue depth{suffix}"] = (
            plots.queue_depth(sub, ids=ids, names=names),
            f"Bytes queued at the {len(ids)} ports with the highest peak, sampled every "
            f"{_interval_us(sub):g} us.")
        figures[f"Utilisation{suffix}"] = (
            plots.utilisation(sub, ids=ids, names=names),
            "Output of the same ports over each sampling interval, as a fraction of the link rate.")
    windows = sub[(sub["kind"] == "flow") & (sub["metric"] == "cwnd_bytes")]
    if windows["value"].notna().any() and windows.groupby("id", observed=True)["value"].nunique().max() > 1:
        # only when some window moves: a constant window says nothing over time
        figures[f"Congestion windows{suffix}"] = (
            plots.port_series(sub, "cwnd_bytes", kind="flow", top=top),
            f"Congestion window of the {top} flows with the largest peak window, "
            "while each flow is active.")
    return figures


def _interval_us(ts) -> float:
    import numpy as np
    t = np.unique(ts["t_us"].to_numpy(dtype=float))
    return float(np.round(np.median(np.diff(t)), 6)) if len(t) > 1 else float("nan")


def _close(figures):
    # Agg figures made without pyplot are freed with their last reference; drop ours
    figures.clear()
