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
import tempfile
from datetime import datetime, timezone
from pathlib import Path

CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
       margin: 2em auto; max-width: 72em; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; padding-bottom: 0.2em; }
p.meta { color: #666; margin-top: 0; }
nav ul { columns: 2; font-size: 0.95em; }
div.table { overflow-x: auto; }
table.dataframe { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0; }
table.dataframe th, table.dataframe td { border: 1px solid #ccc; padding: 0.2em 0.5em; text-align: right; }
table.dataframe thead th { background: #f2f2f2; }
table.dataframe tbody tr:nth-child(even) { background: #fafafa; }
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
});
"""


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


def _table_html(df, max_rows: int) -> str:
    import pandas as pd
    shown = df if len(df) <= max_rows else df.head(max_rows)
    with pd.option_context("display.precision", 4):
        body = shown.to_html(index=False, escape=True, na_rep="", border=0,
                             float_format=lambda v: f"{v:.6g}", classes="dataframe")
    note = "" if len(df) <= max_rows else \
        f"<p class=\"meta\">first {max_rows} of {len(df)} rows</p>"
    return f"<div class=\"table\">{body}</div>{note}"


def write_report(path, title: str, tables: dict, figures: dict, *, captions: dict | None = None,
                 intro: str | None = None, max_rows: int = 200, dpi: int = 110) -> Path:
    """Write one self-contained HTML file with ``tables`` and ``figures``.

    Parameters
    ----------
    path : str or Path
        The ``.html`` file to write (atomically: a temporary file renamed).
    title : str
        Page title and heading.
    tables : dict of str to pandas.DataFrame
        Section heading -> table (cells HTML-escaped; at most ``max_rows`` rows shown).
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
    for name, df in tables.items():
        slug = _anchor(f"table {name}", used)
        toc.append(f"<li><a href=\"#{slug}\">{html.escape(str(name))}</a> (table)</li>")
        parts.append(f"<section id=\"{slug}\" class=\"table-section\" data-table=\"{html.escape(str(name), quote=True)}\">"
                     f"<h2>{html.escape(str(name))}</h2>{_table_html(df, max_rows)}</section>")
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


def report_from_results(results, path, *, title: str | None = None, top_ports: int = 8) -> Path:
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

    Returns
    -------
    Path

    Notes
    -----
    Sections: the points table (and the config keys that are the same at every
    point), a flow summary per point, the busiest ports, an FCT CDF with one curve per
    point, and, when sampled, queue depth and utilisation over time of the busiest ports
    and the flows' congestion windows where they move (per point, at most six points).
    """
    from uesim.experiments.report import plots

    points, flows = _frame(results, "points"), _frame(results, "flows")
    ports, ts = _frame(results, "ports"), _frame(results, "timeseries")
    if points is None and hasattr(results, "summary"):
        import pandas as pd
        points = pd.DataFrame([results.summary()])
    tables, figures = {}, {}
    config = getattr(results, "config_columns", None) if points is not None and "point" in points.columns else None
    labels = plots.point_labels(points, config)
    if points is not None and "point" in points.columns:
        # one row per point: what varies and the metrics; what is the same everywhere once
        varying, fixed = plots.config_columns(points, config)
        tables["Points"] = points[[c for c in points.columns if c not in fixed]]
        if fixed:
            import pandas as pd
            first = points.iloc[0]
            tables["Same at every point"] = pd.DataFrame(
                {"key": fixed, "value": [str(first[c]) for c in fixed]})
    elif points is not None:
        tables["Summary"] = points
    by_point = flows is not None and "point" in flows.columns
    if flows is not None:
        if by_point or "fct_us" in flows.columns:
            tables["Flow completion per point" if by_point else "Flow completion"] = \
                flow_summary(flows, "point" if by_point else None)
        fig = plots.fct_cdf(flows, group="point" if by_point else None, labels=labels)
        figures["FCT CDF"] = (fig, "Cumulative distribution of flow completion times"
                              + (", one curve per sweep point" if by_point else "")
                              + "; unfinished flows are left out and counted in the legend.")
    if ports is not None and "max_queue_bytes" in ports.columns:
        busiest = ports.sort_values("max_queue_bytes", ascending=False, kind="stable").head(20)
        tables["Busiest ports (by peak queue)"] = busiest
    if ts is not None:
        groups = [(None, ts)] if "point" not in ts.columns else list(ts.groupby("point", sort=True, observed=True))
        for key, sub in groups[:6]:
            suffix = "" if key is None else f" - {labels.get(key, key)}"
            names = plots.port_names(ports[ports["point"] == key] if ports is not None and key is not None
                                     and "point" in ports.columns else ports)
            queues = sub[(sub["kind"] == "port") & (sub["metric"] == "queue_bytes")]
            if len(queues):
                peak = queues.groupby("id", observed=True)["value"].max().sort_values(ascending=False, kind="stable")
                ids = list(peak.index[:top_ports])
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
                    plots.port_series(sub, "cwnd_bytes", kind="flow", top=top_ports),
                    f"Congestion window of the {top_ports} flows with the largest peak window, "
                    "while each flow is active.")
    if title is None:
        title = "uesim sweep report" if by_point else "uesim run report"
    path = write_report(path, title, tables, figures)
    _close(figures)
    return path


def _interval_us(ts) -> float:
    import numpy as np
    t = np.unique(ts["t_us"].to_numpy(dtype=float))
    return float(np.round(np.median(np.diff(t)), 6)) if len(t) > 1 else float("nan")


def _close(figures):
    # Agg figures made without pyplot are freed with their last reference; drop ours
    figures.clear()
