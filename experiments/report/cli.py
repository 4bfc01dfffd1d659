"""``uesim plot DIR KIND -o FILE`` and ``uesim report DIR -o FILE`` (wired into
:mod:`uesim.experiments.cli`).

``DIR`` is a result store (``uesim sweep --out DIR``) or the folder of one run
(``uesim run --out DIR``: ``flows.parquet``, ``ports.parquet``, ``run.json`` and, when
sampled, ``timeseries.parquet``).
"""
from __future__ import annotations

import json
from pathlib import Path

KINDS = {
    "fct-cdf": "CDF of flow completion times: a sweep's by the keys that vary (colour, panels, seed bands)",
    "metric": "one number per point (--metric, default fct_p99_us): mean over seeds with min-max bars",
    "queue": "queue depth over time of the busiest ports (sampled runs)",
    "utilisation": "utilisation over time of the busiest ports (sampled runs)",
    "busbw": "collective bus bandwidth against message size (stored collectives)",
    "stall": "collective network stall by topology and transport (stored collectives)",
}


class RunFolder:
    """The folder of one ``uesim run --out DIR`` read back: ``flows``, ``ports``,
    ``timeseries`` (or None), ``points`` (its summary as one row, without a ``point``
    column) and ``config``."""

    def __init__(self, folder):
        import pandas as pd
        folder = Path(folder)
        meta = json.loads((folder / "run.json").read_text())
        self.config = meta.get("config", {})
        self.flows = pd.read_parquet(folder / "flows.parquet")
        self.ports = pd.read_parquet(folder / "ports.parquet")
        ts = folder / "timeseries.parquet"
        self.timeseries = pd.read_parquet(ts) if ts.exists() else None
        self.points = pd.DataFrame([meta.get("summary", {})])
        self.collectives = None


def open_results(folder):
    """A result store (:func:`uesim.experiments.store.load`) or a run folder
    (:class:`RunFolder`), by what ``folder`` holds."""
    from uesim.experiments.schema import ScenarioError
    path = Path(folder)
    if (path / "points").is_dir():
        from uesim.experiments.store import load
        return load(path)
    if (path / "run.json").is_file() and (path / "flows.parquet").is_file():
        return RunFolder(path)
    raise ScenarioError(f"{str(folder)!r}: neither a result store (no points/ folder) nor a run folder "
                        "(no run.json); write one with 'uesim sweep FILE --out DIR' or 'uesim run FILE --out DIR'")


def _frame(results, name):
    df = getattr(results, name, None)
    return df if df is not None and len(df) > 0 else None


def _one_point(results, ts, point):
    """The rows of ``ts`` of one point (``point`` or the first one) and its label."""
    from uesim.experiments.schema import ScenarioError
    if "point" not in ts.columns:
        return ts, ""
    keys = list(dict.fromkeys(ts["point"]))
    if point is None:
        point = keys[0]
    matches = [k for k in keys if str(k).startswith(point)]
    if len(matches) != 1:
        raise ScenarioError(f"--point {point!r}: {'no' if not matches else 'more than one'} sampled point "
                            f"matches; sampled points: {', '.join(map(str, keys))}")
    return ts[ts["point"] == matches[0]], matches[0]


def _layout(points, config, colour, panel):
    """The sweep layout of ``points`` (None for a run), a bad key as a ScenarioError."""
    from uesim.experiments.report.layout import sweep_layout
    from uesim.experiments.schema import ScenarioError
    if points is None or "point" not in points.columns:
        if colour or panel:
            raise ScenarioError("--colour/--panel: these results are one run, not a sweep")
        return None
    try:
        return sweep_layout(points, config, colour=colour, panel=panel)
    except ValueError as exc:
        raise ScenarioError(f"--{exc}") from None


def _sweep_figure(results, kind, points, layout, metric):
    """``fct-cdf`` or ``metric`` of a sweep, by its layout."""
    from uesim.experiments.report import plots
    from uesim.experiments.schema import ScenarioError
    if kind == "metric":
        if metric not in points.columns:
            have = [c for c in points.columns if c not in layout.keys + layout.fixed and c != "point"]
            raise ScenarioError(f"--metric {metric!r}: not a column of the points; they have: {', '.join(have)}")
        return plots.sweep_metric(points, metric, layout=layout)
    flows = _frame(results, "flows")
    if flows is None:
        raise ScenarioError("no flows in these results")
    return plots.sweep_fct_cdf(flows, points, layout=layout)


def figure_for(results, kind: str, *, point: str | None = None, top: int = 8, group: str | None = None,
               colour: str | None = None, panel: str | None = None, metric: str = "fct_p99_us"):
    """The figure of ``kind`` (see :data:`KINDS`) for ``results`` (a store view, a run
    folder, or any object with the same DataFrames).

    A sweep's ``fct-cdf`` and ``metric`` are grouped by the config keys that vary
    (:func:`~uesim.experiments.report.layout.sweep_layout`; ``colour`` and ``panel``
    pick the keys drawn in colours and in panels), seeds aggregated.
    """
    from uesim.experiments.report import plots
    from uesim.experiments.schema import ScenarioError
    if kind not in KINDS:
        raise ScenarioError(f"plot kind {kind!r}: unknown; allowed: {', '.join(KINDS)}")
    points = _frame(results, "points")
    config = getattr(results, "config_columns", None) if points is not None and "point" in points else None
    layout = _layout(points, config, colour, panel)
    if kind in ("fct-cdf", "metric") and layout is not None:
        return _sweep_figure(results, kind, points, layout, metric)
    labels = plots.point_labels(points, config)
    if kind == "metric":
        raise ScenarioError("plot kind 'metric' needs a sweep's result store (these results are one run)")
    if kind == "fct-cdf":
        flows = _frame(results, "flows")
        if flows is None:
            raise ScenarioError("no flows in these results")
        return plots.fct_cdf(flows, group="point" if "point" in flows.columns else group, labels=labels)
    if kind in ("queue", "utilisation"):
        ts = _frame(results, "timeseries")
        if ts is None:
            raise ScenarioError("no time series in these results: set [outputs] timeseries_interval_ps "
                                "in the scenario and run it again")
        ts, key = _one_point(results, ts, point)
        ports = _frame(results, "ports")
        if ports is not None and key and "point" in ports.columns:
            ports = ports[ports["point"] == key]
        fn = plots.queue_depth if kind == "queue" else plots.utilisation
        fig = fn(ts, top=top, names=plots.port_names(ports))
        if key:
            ax = fig.axes[0]
            ax.set_title(f"{ax.get_title()}\n{labels.get(key, key)}", fontsize="medium")
        return fig
    coll = _frame(results, "collectives")
    if coll is None:
        raise ScenarioError(f"plot kind {kind!r} needs stored collective results (none in these results)")
    if points is not None and "point" in coll.columns and "point" in points.columns:
        extra = [c for c in ("topology.generator", "transport.name") if c in points.columns and c not in coll.columns]
        coll = coll.merge(points[["point", *extra]], on="point", how="left")
    if kind == "busbw":
        if group is None:
            group = "algo" if "algo" in coll.columns else ("point" if "point" in coll.columns else None)
        if group == "point":
            coll = coll.assign(point=coll["point"].map(lambda k: labels.get(k, k)))
        return plots.busbw_vs_size(coll, group=group)
    stall = "stall_us" if "stall_us" in coll.columns else "stall"
    topo = "topology" if "topology" in coll.columns else "topology.generator"
    trans = "transport" if "transport" in coll.columns else "transport.name"
    return plots.stall_bars(coll, topology=topo, transport=trans, stall=stall,
                            ylabel="network stall (us)" if stall == "stall_us" else "network stall")


def cmd_plot(args) -> int:
    from uesim.experiments.report.plots import save
    from uesim.experiments.schema import ScenarioError
    results = open_results(args.dir)
    fig = figure_for(results, args.kind, point=args.point, top=args.top, colour=args.colour,
                     panel=args.panel, metric=args.metric)
    try:
        save(fig, args.out)
    except (ValueError, OSError) as exc:
        raise ScenarioError(f"-o {args.out!r}: {exc}") from None
    print(f"{args.kind} plot written to {args.out}")
    return 0


def cmd_report(args) -> int:
    from uesim.experiments.report.html import report_from_results
    from uesim.experiments.schema import ScenarioError
    results = open_results(args.dir)
    points = _frame(results, "points")
    _layout(points, getattr(results, "config_columns", None), args.colour, args.panel)   # bad keys first
    try:
        report_from_results(results, args.out, title=args.title, colour=args.colour, panel=args.panel)
    except OSError as exc:
        raise ScenarioError(f"-o {args.out!r}: {exc}") from None
    print(f"report written to {args.out}")
    return 0


def add_parsers(sub) -> None:
    """Add the ``plot`` and ``report`` subcommands to ``uesim``'s subparsers."""
    plot = sub.add_parser("plot", help="plot results of a sweep or a run (fct-cdf, queue, ...)")
    plot.add_argument("dir", help="result store (uesim sweep --out DIR) or run folder (uesim run --out DIR)")
    plot.add_argument("kind", help="; ".join(f"{k}: {v}" for k, v in KINDS.items()))
    plot.add_argument("-o", "--out", required=True, help="image file (.png, .svg, .pdf)")
    plot.add_argument("--point", help="queue/utilisation: the sweep point (a key prefix; default the first)")
    plot.add_argument("--top", type=int, default=8, help="queue/utilisation: ports drawn (default 8)")
    plot.add_argument("--metric", default="fct_p99_us", help="metric: the points column drawn (default fct_p99_us)")
    _layout_options(plot)
    plot.set_defaults(fn=cmd_plot)
    report = sub.add_parser("report", help="write a self-contained HTML report of a sweep or a run")
    report.add_argument("dir", help="result store (uesim sweep --out DIR) or run folder (uesim run --out DIR)")
    report.add_argument("-o", "--out", required=True, help="HTML file")
    report.add_argument("--title", help="page title (default: uesim sweep/run report)")
    _layout_options(report)
    report.set_defaults(fn=cmd_report)


def _layout_options(parser) -> None:
    parser.add_argument("--colour", "--color", metavar="KEY",
                        help="sweep: the varying key drawn in colours (dotted or short name, e.g. cc; "
                             "default: the first varying name, else the first varying key)")
    parser.add_argument("--panel", metavar="KEY",
                        help="sweep: the varying key drawn in panels (fct-cdf) or along x (metric); "
                             "default: the next varying key")
