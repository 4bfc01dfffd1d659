"""Plots of results: functions from DataFrames to matplotlib Figures.

Every function takes DataFrames (a run's or a sweep's ``flows``, a table of collective
results, a time-series frame) and returns a :class:`matplotlib.figure.Figure`; nothing is
shown and no global pyplot state is touched (figures are made with the Agg canvas, so
they work headless and in threads).  :func:`save` writes one to a file.

matplotlib is imported on first use; without it the functions raise an ImportError that
says how to install it (``pip install 'uesim[plots]'``).

Functions
---------
fct_cdf
    CDF of flow completion times, one curve per group (point, transport, ...).
sweep_fct_cdf, sweep_metric
    A sweep's FCT CDFs or one scalar per point, grouped and coloured by the config keys
    that vary (:mod:`~uesim.experiments.report.layout`), seeds aggregated into bands or
    min-max error bars.
busbw_vs_size
    Collective bus bandwidth against message size, one line per group.
stall_bars
    Network stall per topology, one bar per transport (grouped bars).
port_series, queue_depth, utilisation
    A port metric over time from a time-series frame (``t_us, kind, id, metric, value``).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

INSTALL_HINT = "plots need matplotlib: pip install 'uesim[plots]' (or pip install matplotlib)"


def _figure(width: float = 6.4, height: float = 4.0):
    """A new Figure on an Agg canvas (no pyplot, no display needed)."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(f"{INSTALL_HINT} ({exc})") from None
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _need(df, columns, what: str):
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what}: missing column {missing[0]!r}; the DataFrame has: "
                         f"{', '.join(map(str, df.columns))}")


def _groups(df, group):
    """``[(label, sub-frame), ...]`` in a stable order; one group if ``group`` is None."""
    if group is None:
        return [(None, df)]
    cols = [group] if isinstance(group, str) else list(group)
    _need(df, cols, "group")
    out = []
    for key, sub in df.groupby(cols if len(cols) > 1 else cols[0], sort=True, observed=True):
        if isinstance(key, tuple):
            label = ", ".join(f"{c}={k}" for c, k in zip(cols, key)) if len(cols) > 1 else str(key[0])
        else:
            label = str(key)
        out.append((label, sub))
    return out


def fct_cdf(flows, group=None, *, labels: dict | None = None, logx: bool = False,
            title: str | None = None, ax=None):
    """Empirical CDF of flow completion times.

    Parameters
    ----------
    flows : pandas.DataFrame
        One row per flow with ``fct_us`` (NaN for flows that did not finish; they are
        left out and counted in the legend) and the ``group`` column(s).
    group : str or list of str, optional
        One curve per value (``"point"`` for a sweep, ``"transport.name"``, ...).
    labels : dict, optional
        Legend text per group value (for example :func:`point_labels`).
    logx : bool
        Logarithmic FCT axis.
    title : str, optional
    ax : matplotlib Axes, optional
        Draw into these axes (of a figure of yours) instead of a new figure.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"fct_us": [10.0, 12.0, 30.0, 11.0, None], "cc": ["a", "a", "a", "b", "b"]})
    >>> fig = fct_cdf(df, group="cc")
    >>> [line.get_label() for line in fig.axes[0].get_lines()]
    ['a (3 flows)', 'b (1 of 2 finished)']
    >>> fig.axes[0].get_lines()[0].get_ydata().tolist()
    [0.0, 0.3333333333333333, 0.6666666666666666, 1.0]
    """
    _need(flows, ["fct_us"], "fct_cdf")
    if ax is None:
        ax = _figure().add_subplot()
    for idx, (label, sub) in enumerate(_groups(flows, group)):
        # the colour cycle has ten colours: later curves change line style
        style = ("-", "--", ":", "-.")[(idx // 10) % 4]
        fct = np.sort(sub["fct_us"].to_numpy(dtype=float))
        done = fct[~np.isnan(fct)]
        n, k = len(fct), len(done)
        name = labels.get(label, label) if labels and label is not None else label
        count = f"{k} flows" if k == n else f"{k} of {n} finished"
        text = f"{name} ({count})" if name is not None else count
        if k == 0:
            ax.plot([], [], label=text)
            continue
        # a step from 0 at the first FCT up to 1 at the last one
        x = np.concatenate([[done[0]], done])
        y = np.arange(k + 1) / k
        ax.step(x, y, where="post", label=text, linestyle=style)
    ax.set_xlabel("flow completion time (us)")
    ax.set_ylabel("fraction of flows")
    ax.set_ylim(0, 1.02)
    if logx:
        ax.set_xscale("log")
    ax.grid(True, alpha=0.3)
    n_curves = len(ax.get_lines())
    if n_curves > 6:
        # many sweep points: the legend goes beside the plot, the figure grows to hold it
        # many sweep points: the legend goes beside the plot (saved with a tight bounding
        # box, so long labels widen the image instead of squashing the axes)
        fig = ax.figure
        fig.set_layout_engine("none")
        fig.set_size_inches(fig.get_figwidth(), max(fig.get_figheight(), 0.16 * n_curves + 1.0))
        ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize="x-small", frameon=False)
    else:
        ax.legend(loc="lower right", fontsize="small")
    ax.set_title(title or "Flow completion time CDF")
    return ax.figure


#: Line styles of the style axes (beyond colour and panel), in order.
LINESTYLES = ("-", "--", ":", "-.", (0, (5, 1)), (0, (3, 1, 1, 1, 1, 1)))
#: Axis text of the scalar metrics of a points table.
METRIC_NAMES = {"fct_p50_us": "median FCT (us)", "fct_p99_us": "99th percentile FCT (us)",
                "fct_max_us": "last FCT (us)", "drops": "packets dropped",
                "retransmits": "retransmissions", "ecn_marks": "ECN marks", "trims": "trimmed packets"}


def palette(n: int) -> list:
    """``n`` distinct colours: tab10 up to 10, tab20 up to 20, viridis beyond."""
    from matplotlib import colormaps
    if n <= 10:
        return [colormaps["tab10"](i) for i in range(n)]
    if n <= 20:
        return [colormaps["tab20"](i) for i in range(n)]
    return [colormaps["viridis"](i / max(1, n - 1)) for i in range(n)]


def _sweep_tags(points, layout, config):
    """The layout (made if None) and the points' tags in sorted point order."""
    from uesim.experiments.report.layout import sort_points, sweep_layout, tag_points
    layout = layout or sweep_layout(points, config)
    pts = sort_points(points, layout)
    return layout, tag_points(pts, layout).assign(point=pts["point"].to_numpy())


def _seed_cdf(fct, seeds):
    """Median and min-max of the per-seed empirical CDFs of one group.

    Parameters
    ----------
    fct, seeds : numpy.ndarray
        Finished flows' completion times and their seeds.

    Returns
    -------
    x, median, low, high : numpy.ndarray
        A step curve (``where="post"``) from 0 at the first FCT; each seed's CDF is over
        its own finished flows.
    """
    import pandas as pd
    per_seed = [np.sort(v) for _, v in pd.Series(fct).groupby(seeds)]
    x = np.unique(fct)
    ys = np.vstack([np.searchsorted(v, x, side="right") / len(v) for v in per_seed])
    x = np.concatenate([[x[0]], x])
    ys = np.hstack([np.zeros((len(per_seed), 1)), ys])
    return x, np.median(ys, axis=0), ys.min(axis=0), ys.max(axis=0)


def _draw_group(ax, sub, color, linestyle, label):
    """One group's CDF: the median over seeds, shaded from min to max when seeds > 1."""
    done = sub.dropna(subset=["fct_us"])
    if done.empty:
        ax.plot([], [], color=color, linestyle=linestyle, label=label)
        return
    x, med, lo, hi = _seed_cdf(done["fct_us"].to_numpy(dtype=float), done["seed"].to_numpy())
    ax.step(x, med, where="post", color=color, linestyle=linestyle, label=label)
    if done["seed"].nunique() > 1:
        ax.fill_between(x, lo, hi, step="post", color=color, alpha=0.22, linewidth=0)


def _panel_grid(fig, n: int, **kw):
    """``n`` axes in rows of at most three (spare cells removed)."""
    ncols = min(n, 3)
    nrows = -(-n // ncols)
    grid = fig.subplots(nrows, ncols, squeeze=False, **kw)
    axes = list(grid.flat)
    for ax in axes[n:]:
        ax.remove()
    return axes[:n], ncols


def _sweep_legend(fig, colours: dict, styles: dict, n_seeds: int, band: str):
    """One legend for the figure: a colour per value of the colour axis, a grey line per
    line style, and what the band is."""
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch
    handles = [Line2D([], [], color=c, label=v) for v, c in colours.items() if v]
    handles += [Line2D([], [], color="0.35", linestyle=ls, label=v) for v, ls in styles.items() if v]
    if n_seeds > 1:
        handles.append(Patch(facecolor="0.5", alpha=0.3, label=f"{band} over {n_seeds} seeds"))
    if handles:
        fig.legend(handles=handles, loc="outside right upper", fontsize="small", frameon=False)


def sweep_fct_cdf(flows, points, *, layout=None, config=None, logx: bool | None = None,
                  title: str | None = None):
    """FCT CDFs of a sweep, grouped and coloured by the keys that vary.

    One colour per value of the layout's first axis (``cc=nscc``), one panel per value
    of the second (``size_bytes=65536``; rows of three, each with its own FCT axis),
    line styles for any further axes.  Points that differ only by seed make one curve:
    the median of their CDFs, with the band from the lowest to the highest.

    Parameters
    ----------
    flows : pandas.DataFrame
        One row per flow: ``point`` and ``fct_us`` (NaN: unfinished, left out and
        counted in the panel title).
    points : pandas.DataFrame
        One row per point: ``point`` and config columns.
    layout : SweepLayout, optional
        Default: :func:`~uesim.experiments.report.layout.sweep_layout` of ``points``.
    config : list of str, optional
        The config columns of ``points`` (when ``layout`` is made here).
    logx : bool, optional
        Logarithmic FCT axes; default: in the panels whose FCTs span more than 1.5
        decades (a factor of 32: message sizes from KiB to MiB in one panel).
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> pts = pd.DataFrame({"point": list("abcd"), "seed": [1, 2, 1, 2],
    ...                     "transport.cc.name": ["nscc", "nscc", "dctcp", "dctcp"]})
    >>> flows = pd.DataFrame({"point": list("aabbccdd"), "fct_us": [1.0, 2, 1, 3, 2, 4, 2, 5]})
    >>> fig = sweep_fct_cdf(flows, pts)
    >>> [l.get_label() for l in fig.axes[0].get_lines()], len(fig.axes[0].collections)
    (['cc=dctcp', 'cc=nscc'], 2)
    """
    from uesim.experiments.report.layout import ordered
    _need(flows, ["point", "fct_us"], "sweep_fct_cdf")
    layout, tags = _sweep_tags(points, layout, config)
    data = flows[["point", "fct_us"]].merge(tags, on="point", how="inner")
    colours = dict(zip(ordered(tags["colour"]), palette(tags["colour"].nunique())))
    styles = {v: LINESTYLES[i % len(LINESTYLES)] for i, v in enumerate(ordered(tags["style"]))}
    panels = ordered(tags["panel"])
    fig = _figure()
    axes, ncols = _panel_grid(fig, len(panels), sharey=True)
    fig.set_size_inches(max(5.0, 4.2 * ncols) + 2.2, 3.3 * len(axes[::ncols]) + 0.6)
    by_panel = dict(list(data.groupby("panel", sort=False)))
    for i, (ax, panel) in enumerate(zip(axes, panels)):
        sub = by_panel.get(panel, data.iloc[:0])
        groups = dict(list(sub.groupby(["colour", "style"], sort=False)))
        for colour in colours:
            for style in styles:
                if (colour, style) in groups:
                    _draw_group(ax, groups[(colour, style)], colours[colour], styles[style],
                                ", ".join(v for v in (colour, style) if v) or "all flows")
        _cdf_axes(ax, panel, int(sub["fct_us"].isna().sum()), len(sub), _wide_range(sub) if logx is None else logx,
                  first_col=i % ncols == 0, bottom=i >= len(axes) - ncols)
    _sweep_legend(fig, colours, styles, layout.n_seeds, "shaded: min-max, line: median,")
    fig.suptitle(title or "Flow completion time CDF", x=0.02, ha="left")
    return fig


def _wide_range(flows, decades: float = 1.5) -> bool:
    """Whether the finished flows' FCTs span more than ``decades`` powers of ten."""
    fct = flows["fct_us"].dropna()
    fct = fct[fct > 0]
    return len(fct) > 1 and fct.max() / fct.min() > 10 ** decades


def _cdf_axes(ax, panel: str, unfinished: int, n: int, logx: bool, *, first_col: bool, bottom: bool):
    """Labels, limits and the title (panel value, unfinished flows) of one CDF panel."""
    note = f"{unfinished} of {n} flows unfinished (left out)" if unfinished else ""
    ax.set_title("\n".join(t for t in (panel, note) if t), fontsize="medium")
    ax.set_ylim(0, 1.02)
    if logx:
        ax.set_xscale("log")
    ax.grid(True, alpha=0.3)
    if first_col:
        ax.set_ylabel("fraction of flows")
    if bottom:
        ax.set_xlabel("flow completion time (us)")


def sweep_metric(points, metric: str = "fct_p99_us", *, layout=None, config=None,
                 title: str | None = None, ylabel: str | None = None):
    """One scalar per point (``fct_p99_us``, ``drops``, ...), grouped like
    :func:`sweep_fct_cdf`: the mean over seeds with an error bar from min to max.

    The second axis of the layout is the x axis (joined by lines when its values are
    numbers), one colour per value of the first axis (dodged side by side), line
    styles for further axes.  Without a second axis the colour axis is the x axis.

    Parameters
    ----------
    points : pandas.DataFrame
        One row per point: ``point``, config columns and ``metric``.
    metric : str
        The column drawn.
    layout : SweepLayout, optional
    config : list of str, optional
    title, ylabel : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> pts = pd.DataFrame({"point": list("abcd"), "seed": [1, 2, 1, 2], "fct_p99_us": [4.0, 6, 9, 9],
    ...                     "transport.cc.name": ["nscc", "nscc", "dctcp", "dctcp"]})
    >>> ax = sweep_metric(pts).axes[0]
    >>> [t.get_text() for t in ax.get_xticklabels()], [c.get_label() for c in ax.containers]
    (['dctcp', 'nscc'], ['cc=dctcp', 'cc=nscc'])
    >>> [c.lines[0].get_ydata().tolist() for c in ax.containers]
    [[9.0], [5.0]]
    """
    import pandas as pd
    from uesim.experiments.report.layout import ordered
    _need(points, ["point", metric], "sweep_metric")
    layout, tags = _sweep_tags(points, layout, config)
    tags["value"] = pd.to_numeric(tags["point"].map(points.set_index("point")[metric]), errors="coerce")
    xaxis, xcol = (layout.panel, "panel") if layout.panel else (layout.colour, "colour")
    xs = ordered(tags[xcol])
    tags["x"] = tags[xcol].map({v: i for i, v in enumerate(xs)})
    agg = tags.groupby(["colour", "style", "x"], sort=False)["value"].agg(["mean", "min", "max"])
    colours = dict(zip(ordered(tags["colour"]), palette(tags["colour"].nunique())))
    styles = {v: LINESTYLES[i % len(LINESTYLES)] for i, v in enumerate(ordered(tags["style"]))}
    series = ordered(zip(tags["colour"], tags["style"]))
    joined = xcol == "panel" and xaxis.numeric
    fig = _figure(max(6.4, 0.9 * len(xs) + 3.5), 4.0)
    ax = fig.add_subplot()
    for j, (colour, style) in enumerate(series):
        # side by side at one x: every series on a panel axis, the styles of a colour axis
        k, n = (j, len(series)) if xcol == "panel" else (list(styles).index(style), len(styles))
        _draw_metric(ax, agg.loc[(colour, style)].sort_index(), (k - (n - 1) / 2) * 0.5 / n,
                     colours[colour], styles[style] if joined else "none", layout.n_seeds > 1,
                     ", ".join(v for v in (colour, style) if v) or metric)
    _metric_axes(ax, xs, xaxis, ylabel or METRIC_NAMES.get(metric, metric), layout.n_seeds)
    by = " and ".join(a.short for a in layout.axes) or "point"
    ax.set_title(title or f"{METRIC_NAMES.get(metric, metric)} by {by}", loc="left")
    return fig


def _draw_metric(ax, rows, offset, color, linestyle, bars, label):
    """One series of :func:`sweep_metric`: the mean at each x, a min-max bar if ``bars``."""
    pos = rows.index.to_numpy(dtype=float) + offset
    mean, lo, hi = (rows[c].to_numpy(dtype=float) for c in ("mean", "min", "max"))
    err = np.vstack([mean - lo, hi - mean]) if bars else None
    ax.errorbar(pos, mean, yerr=err, color=color, linestyle=linestyle, marker="o", capsize=3, label=label)


def _metric_axes(ax, xs, xaxis, ylabel, n_seeds):
    """Ticks (the x axis's values), labels and the legend of :func:`sweep_metric`."""
    prefix = len(xaxis.short) + 1 if xaxis is not None else 0
    ax.set_xticks(np.arange(len(xs)))
    ax.set_xticklabels([str(x)[prefix:] for x in xs], rotation=30 if len(xs) > 6 else 0)
    ax.set_xlim(-0.6, len(xs) - 0.4)
    ax.set_xlabel(xaxis.short if xaxis is not None else "")
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    ax.grid(True, axis="y", alpha=0.3)
    if n_seeds > 1:
        ax.text(1.0, 1.01, f"mean over {n_seeds} seeds, bars min-max", transform=ax.transAxes,
                ha="right", va="bottom", fontsize="small", color="0.3")
    ax.legend(fontsize="small")


def _size_label(b: float) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if b >= scale:
            v = b / scale
            return f"{v:g} {unit}" if v == int(v) else f"{v:.3g} {unit}"
    return f"{b:g} B"


def busbw_vs_size(df, *, x: str = "bytes", y: str = "busbw_gbps", group: str | None = "group",
                  title: str | None = None, ideal_gbps: float | None = None):
    """Collective bus bandwidth against message size (nccl-tests style).

    Parameters
    ----------
    df : pandas.DataFrame
        One row per (size, group): ``x`` bytes, ``y`` bus bandwidth in Gb/s, ``group``.
        Several rows of one (size, group) are averaged.
    x, y, group : str
        Column names; ``group=None`` draws one line.
    ideal_gbps : float, optional
        A dashed line at this bandwidth (the NIC rate, say).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"bytes": [1 << 20, 1 << 24, 1 << 20, 1 << 24],
    ...                    "busbw_gbps": [40.0, 90.0, 30.0, 70.0], "group": ["ring", "ring", "tree", "tree"]})
    >>> fig = busbw_vs_size(df, ideal_gbps=100)
    >>> [l.get_label() for l in fig.axes[0].get_lines()]
    ['ring', 'tree', 'ideal 100 Gb/s']
    """
    _need(df, [x, y] + ([group] if group else []), "busbw_vs_size")
    fig = _figure()
    ax = fig.add_subplot()
    sizes = np.sort(df[x].unique())
    for label, sub in _groups(df, group):
        mean = sub.groupby(x, sort=True)[y].mean()
        ax.plot(mean.index.to_numpy(dtype=float), mean.to_numpy(dtype=float), marker="o",
                label=label if label is not None else y)
    if ideal_gbps is not None:
        ax.axhline(ideal_gbps, ls="--", color="grey", label=f"ideal {ideal_gbps:g} Gb/s")
    ax.set_xscale("log", base=2)
    ax.set_xticks(sizes.astype(float))
    ax.set_xticklabels([_size_label(s) for s in sizes], rotation=45, ha="right")
    ax.minorticks_off()
    ax.set_xlabel("message size")
    ax.set_ylabel("bus bandwidth (Gb/s)")
    ax.set_ylim(bottom=0)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="small")
    ax.set_title(title or "Bus bandwidth by message size")
    return fig


def stall_bars(df, *, topology: str = "topology", transport: str = "transport", stall: str = "stall",
               ylabel: str = "network stall", title: str | None = None):
    """Grouped bars: one group per topology, one bar per transport.

    Several rows of one (topology, transport) give the bar's mean, with an error bar
    from their minimum to their maximum (seeds, say).

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"topology": ["fat_tree", "fat_tree", "rail", "rail"],
    ...                    "transport": ["uet", "roce", "uet", "roce"], "stall": [3.0, 8.0, 2.0, 5.0]})
    >>> fig = stall_bars(df, ylabel="stall (ms)")
    >>> ax = fig.axes[0]
    >>> [t.get_text() for t in ax.get_xticklabels()], [float(p.get_height()) for p in ax.patches]
    (['fat_tree', 'rail'], [8.0, 5.0, 3.0, 2.0])
    """
    _need(df, [topology, transport, stall], "stall_bars")
    agg = df.groupby([topology, transport], sort=True, observed=True)[stall].agg(["mean", "min", "max"])
    topos = list(dict.fromkeys(agg.index.get_level_values(0)))
    transports = list(dict.fromkeys(sorted(agg.index.get_level_values(1))))
    fig = _figure(max(6.4, 1.2 * len(topos) * max(1, len(transports)) / 2 + 2), 4.0)
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(transports))
    xs = np.arange(len(topos))
    for j, tr in enumerate(transports):
        means, lo, hi = [], [], []
        for topo in topos:
            if (topo, tr) in agg.index:
                row = agg.loc[(topo, tr)]
                means.append(row["mean"])
                lo.append(row["mean"] - row["min"])
                hi.append(row["max"] - row["mean"])
            else:
                means.append(np.nan)
                lo.append(0.0)
                hi.append(0.0)
        err = None if not any(lo) and not any(hi) else np.array([lo, hi])
        ax.bar(xs + (j - (len(transports) - 1) / 2) * width, means, width, yerr=err, capsize=3, label=str(tr))
    ax.set_xticks(xs)
    ax.set_xticklabels([str(t) for t in topos])
    ax.set_ylabel(ylabel)
    ax.set_xlabel(topology)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(title=transport, fontsize="small")
    ax.set_title(title or "Network stall by topology and transport")
    return fig


METRIC_LABELS = {"queue_bytes": "queue (KB)", "utilisation": "utilisation",
                 "cwnd_bytes": "window (KB)", "rate_bps": "rate (Gb/s)", "acked_bytes": "acked (KB)"}
METRIC_TITLES = {"queue_bytes": "Queue depth", "utilisation": "Utilisation", "cwnd_bytes": "Window",
                 "rate_bps": "Pacing rate", "acked_bytes": "Bytes acknowledged"}
_SCALE = {"queue_bytes": 1e-3, "cwnd_bytes": 1e-3, "acked_bytes": 1e-3, "rate_bps": 1e-9}


def port_series(ts, metric: str = "queue_bytes", *, kind: str = "port", ids=None, top: int = 8,
                rank: str = "max", names: dict | None = None, title: str | None = None, ax=None):
    """One metric over time from a time-series frame, one line per port (or flow).

    Parameters
    ----------
    ts : pandas.DataFrame
        Long time series: ``t_us, kind, id, metric, value`` (``RunResult.timeseries``).
    metric : str
        ``queue_bytes`` or ``utilisation`` for ports; ``cwnd_bytes``, ``rate_bps`` or
        ``acked_bytes`` for flows.
    kind : {"port", "flow"}
    ids : list, optional
        Which ids to draw; default the ``top`` ones ranked by ``rank``.
    top : int
        How many to draw when ``ids`` is not given.
    rank : {"max", "mean"}
        Rank ids by the peak or by the mean of ``metric`` (ties keep id order).
    names : dict, optional
        Legend text per id (``"leaf0->gpu0"``, say; see :func:`port_names`).
    ax : matplotlib Axes, optional
        Draw into these axes instead of a new figure.

    Examples
    --------
    >>> import pandas as pd
    >>> ts = pd.DataFrame({"t_us": [1.0, 1.0, 2.0, 2.0], "kind": "port", "id": [0, 1, 0, 1],
    ...                    "metric": "queue_bytes", "value": [0.0, 4096.0, 0.0, 8192.0]})
    >>> fig = port_series(ts, top=1, names={1: "leaf0->gpu0"})
    >>> [l.get_label() for l in fig.axes[0].get_lines()], fig.axes[0].get_lines()[0].get_ydata().tolist()
    (['leaf0->gpu0'], [4.096, 8.192])
    """
    _need(ts, ["t_us", "kind", "id", "metric", "value"], "port_series")
    sel = ts[(ts["kind"] == kind) & (ts["metric"] == metric)]
    if sel.empty:
        have = sorted(ts.loc[ts["kind"] == kind, "metric"].astype(str).unique())
        raise ValueError(f"no {kind} series of metric {metric!r} in the time series"
                         + (f"; it has: {', '.join(have)}" if have else ""))
    wide = sel.pivot_table(index="t_us", columns="id", values="value", aggfunc="first", observed=True)
    if ids is None:
        if rank not in ("max", "mean"):
            raise ValueError(f"rank = {rank!r}; allowed: max, mean")
        score = (wide.max() if rank == "max" else wide.mean()).sort_values(ascending=False, kind="stable")
        ids = list(score.index[:top])
    else:
        missing = [i for i in ids if i not in wide.columns]
        if missing:
            raise ValueError(f"no {kind} {missing[0]!r} in the {metric} series")
    if ax is None:
        ax = _figure(7.0, 3.6).add_subplot()
    scale = _SCALE.get(metric, 1.0)
    for i in ids:
        ax.plot(wide.index.to_numpy(), wide[i].to_numpy() * scale,
                label=(names or {}).get(i, f"{kind} {i}"), drawstyle="steps-pre" if metric == "utilisation" else "default")
    ax.set_xlabel("time (us)")
    ax.set_ylabel(METRIC_LABELS.get(metric, metric))
    if metric == "utilisation":
        ax.set_ylim(0, 1.05)
    ax.grid(True, alpha=0.3)
    if len(ids) > 0:
        ax.legend(fontsize="small", ncols=2 if len(ids) > 4 else 1)
    ax.set_title(title or f"{METRIC_TITLES.get(metric, metric)} over time"
                 + (f" (top {len(ids)} of {wide.shape[1]} {kind}s)" if len(ids) < wide.shape[1] else ""))
    return ax.figure


def queue_depth(ts, **kw):
    """Queue bytes per port over time (:func:`port_series` with ``queue_bytes``)."""
    return port_series(ts, "queue_bytes", **kw)


def utilisation(ts, **kw):
    """Utilisation per port over time (:func:`port_series` with ``utilisation``; by
    default the ports with the highest mean utilisation)."""
    kw.setdefault("rank", "mean")
    return port_series(ts, "utilisation", **kw)


def run_overview(flows, timeseries=None, ports=None, *, top: int = 6, title: str | None = None):
    """The plot of one run (``uesim run --plot``): the FCT CDF and, when the run was
    sampled, the queue depth over time of its ``top`` busiest ports below it.

    Examples
    --------
    >>> import pandas as pd
    >>> flows = pd.DataFrame({"fct_us": [3.0, 4.0]})
    >>> ts = pd.DataFrame({"t_us": [1.0, 2.0], "kind": "port", "id": 0, "metric": "queue_bytes",
    ...                    "value": [4096.0, 0.0]})
    >>> len(run_overview(flows).axes), len(run_overview(flows, ts).axes)
    (1, 2)
    """
    queues = timeseries is not None and len(timeseries) > 0 and \
        ((timeseries["kind"] == "port") & (timeseries["metric"] == "queue_bytes")).any()
    fig = _figure(7.0, 7.2 if queues else 4.0)
    axes = fig.subplots(2, 1) if queues else [fig.add_subplot()]
    fct_cdf(flows, ax=axes[0], title=title)
    if queues:
        queue_depth(timeseries, top=top, names=port_names(ports), ax=axes[1])
    return fig


def port_names(ports) -> dict:
    """``{port: "node->peer"}`` from a ports DataFrame (``port, node, peer``).

    Examples
    --------
    >>> import pandas as pd
    >>> port_names(pd.DataFrame({"port": [0, 1], "node": ["gpu0", "leaf0"], "peer": ["leaf0", "gpu0"]}))
    {0: 'gpu0->leaf0', 1: 'leaf0->gpu0'}
    """
    if ports is None or not {"port", "node", "peer"} <= set(ports.columns):
        return {}
    return {int(p): f"{n}->{q}" for p, n, q in zip(ports["port"], ports["node"], ports["peer"])}


def save(fig, path, *, dpi: int = 120) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix: .png, .svg, .pdf); make the folder.

    Examples
    --------
    >>> import pandas as pd, tempfile, pathlib
    >>> fig = fct_cdf(pd.DataFrame({"fct_us": [1.0, 2.0]}))
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = save(fig, pathlib.Path(d) / "sub" / "fct.png")
    ...     p.read_bytes()[:4] == b"\\x89PNG"
    True
    """
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "svg", "pdf", "jpg", "jpeg"):
        raise ValueError(f"{path}: unknown image format {path.suffix!r}; allowed: .png, .svg, .pdf, .jpg")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, format=fmt, bbox_inches="tight")
    return path


def config_columns(points, config=None) -> tuple[list, list]:
    """``(varying, fixed)`` config columns of a points table
    (:func:`uesim.experiments.report.layout.varying_columns`)."""
    from uesim.experiments.report.layout import varying_columns
    return varying_columns(points, config)


def point_labels(points, config=None) -> dict:
    """Legend text per sweep point: ``key=value`` of the keys that vary across ``points``.

    ``points`` has one row per point, a ``point`` column and config columns (dotted
    names such as ``transport.cc.name``, or those listed in ``config``).  The keys are
    those of :func:`~uesim.experiments.report.layout.sweep_layout` (its axes, then the
    seed): keys with one value everywhere and keys that follow another are left out, and
    so are keys that do not apply to a point.  A chooser is named by its table
    (``transport.cc.name`` -> ``cc``), a parameter by its last part.  Without any varying
    key a point is labelled by its key.

    Examples
    --------
    >>> import pandas as pd
    >>> pts = pd.DataFrame({"point": ["a1", "b2"], "transport.cc.name": ["nscc", "dctcp"],
    ...                     "seed": [1, 1], "fct_p99_us": [5.0, 7.0]})
    >>> point_labels(pts)
    {'a1': 'cc=nscc', 'b2': 'cc=dctcp'}
    >>> point_labels(pts.assign(seed=[1, 2], **{"transport.cc.name": "nscc"}))
    {'a1': 'seed=1', 'b2': 'seed=2'}
    """
    from uesim.experiments.report.layout import sweep_layout, tag_points
    if points is None or "point" not in points.columns:
        return {}
    layout = sweep_layout(points, config)
    tags = tag_points(points, layout)
    text = tags["group"]
    if layout.seed:
        seed = "seed=" + points[layout.seed].astype(str)
        text = (text + ", ").where(text != "", "") + seed
    text = text.where(text != "", points["point"].astype(str))
    return dict(zip(points["point"], text))
