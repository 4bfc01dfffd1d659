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
    """``(varying, fixed)`` config columns of a points table.

    ``config`` names the config columns (a result store knows them); otherwise they are
    the dotted names (``transport.cc.name``) and ``seed``.
    """
    if points is None:
        return [], []
    if config is None:
        config = [c for c in points.columns if "." in str(c) or c == "seed"]
    config = [c for c in config if c in points.columns]
    varying = [c for c in config if points[c].astype(str).nunique(dropna=False) > 1]
    return varying, [c for c in config if c not in varying]


def point_labels(points, config=None) -> dict:
    """Legend text per sweep point: the config columns that vary across ``points``.

    ``points`` has one row per point, a ``point`` column and config columns (dotted
    names such as ``transport.cc.name``, or those listed in ``config``); columns with one
    value everywhere are left out, and so are keys that do not apply to a point. A name
    (``...generator``, ``...name``) shows as its value, a parameter as ``key=value``.

    Examples
    --------
    >>> import pandas as pd
    >>> pts = pd.DataFrame({"point": ["a1", "b2"], "transport.cc.name": ["nscc", "dctcp"],
    ...                     "seed": [1, 1], "fct_p99_us": [5.0, 7.0]})
    >>> point_labels(pts)
    {'a1': 'nscc', 'b2': 'dctcp'}
    """
    if points is None or "point" not in points.columns:
        return {}
    varying, _ = config_columns(points, config)
    out = {}
    for _, row in points.iterrows():
        # a key that does not apply to this point (another generator's parameter) is left out
        parts = [_part(c, row[c]) for c in varying if not _missing(row[c])]
        out[row["point"]] = ", ".join(parts) if parts else str(row["point"])
    return out


def _part(col: str, value) -> str:
    # a name says itself ("fat_tree", "nscc"); a parameter needs its key ("k=4")
    last = str(col).split(".")[-1]
    return str(value) if last in ("generator", "name") else f"{last}={value}"


def _missing(value) -> bool:
    try:
        return bool(pd_isna(value))
    except (TypeError, ValueError):     # arrays and lists are values
        return False


def pd_isna(value):
    import pandas as pd
    return pd.isna(value)


def _short(col: str) -> str:
    # "transport.cc.name" -> "cc.name": the last two parts are what a reader needs
    parts = str(col).split(".")
    return ".".join(parts[-2:])
