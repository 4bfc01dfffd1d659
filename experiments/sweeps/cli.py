"""``uesim sweep`` and ``uesim results`` (wired into :mod:`uesim.experiments.cli`)."""
from __future__ import annotations

import json
import sys


def add_parsers(sub) -> None:
    """Add the ``sweep`` and ``results`` subcommands to ``uesim``'s subparsers."""
    sweep = sub.add_parser("sweep", help="run every point of a scenario's [sweep] table into a store")
    sweep.add_argument("file", help="scenario TOML file with a [sweep] table (or without: one point)")
    sweep.add_argument("--out", required=True, help="result store folder (points already there are skipped)")
    sweep.add_argument("--jobs", type=int, help="local worker processes (default: all cores; 1: in this process)")
    sweep.add_argument("--cluster", metavar="ADDRESS",
                       help="tcp://host:port of a Dask scheduler, or local:N for a Dask LocalCluster")
    sweep.add_argument("--retries", type=int, default=2, help="extra tries of a failed or lost point (default 2)")
    sweep.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                       help="import MODULE first in every worker; repeatable")
    sweep.add_argument("--json", action="store_true", help="print one JSON summary line, no progress")
    sweep.set_defaults(fn=cmd_sweep)
    results = sub.add_parser("results", help="list the points of a result store")
    results.add_argument("dir", help="result store folder (uesim sweep --out DIR)")
    results.add_argument("--json", action="store_true", help="one JSON object per point and line")
    results.set_defaults(fn=cmd_results)


def _overrides(args, path) -> dict | None:
    if not getattr(args, "plugin", None):
        return None
    from uesim.experiments.scenario import read_toml
    return {"plugins": list(read_toml(path).get("plugins", [])) + args.plugin}


def validate_points(points) -> int:
    """Build each distinct topology of ``points`` once and make every point's flows, so
    errors the schema cannot see (a generator's parameter values, a receiver beyond the
    hosts) stop the sweep before it starts.  Returns the number of distinct topologies.

    Raises
    ------
    ScenarioError
        Naming the point's axis values.
    """
    from uesim.experiments.run import build_topology, derive_seed, make_flows
    from uesim.experiments.schema import ScenarioError
    built = {}
    for p in points:
        sc = p.config
        tkey = json.dumps([sc["topology"], sc.get("faults"), sc["seed"] if sc.get("faults") else 0],
                          sort_keys=True, default=str)
        try:
            if tkey not in built:
                G = build_topology(sc["topology"], sc.get("faults"), derive_seed(sc["seed"], 4))
                built[tkey] = sum(1 for _, k in G.nodes(data="kind") if k == "gpu")
            make_flows(sc, built[tkey])
        except (ScenarioError, ValueError, TypeError) as exc:
            where = ", ".join(f"{k} = {v!r}" for k, v in p.axes.items())
            raise ScenarioError(f"{exc}" + (f" (at the point {where})" if where else "")) from None
    return len(built)


def check_sweep(args) -> int:
    """``uesim check`` of a file with ``[sweep]``: expand and check every point."""
    from uesim.experiments.sweeps import load_sweep
    points = load_sweep(args.file, _overrides(args, args.file))
    n_topologies = validate_points(points)
    print(f"{args.file}: ok (sweep of {len(points)} points, {n_topologies} topologies)")
    return 0


def cmd_sweep(args) -> int:
    from uesim.experiments.schema import ScenarioError
    from uesim.experiments.sweeps import load_sweep
    from uesim.experiments.sweeps.runner import run_sweep
    if args.jobs is not None and args.jobs < 1:
        raise ScenarioError(f"--jobs {args.jobs}: must be >= 1")
    if args.retries < 0:
        raise ScenarioError(f"--retries {args.retries}: must be >= 0")
    from uesim.experiments.sweeps.runner import check_store_path
    check_store_path(args.out)         # before expanding or running anything
    points = load_sweep(args.file, _overrides(args, args.file))
    validate_points(points)
    report = run_sweep(points, args.out, jobs=args.jobs, cluster=args.cluster,
                       retries=args.retries, progress=not args.json)
    summary = {"points": report.total, "skipped": len(report.skipped), "ran": len(report.done),
               "failed": len(report.failed), "wall_s": report.wall_s, "out": args.out}
    if args.json:
        print(json.dumps({**summary, "errors": report.failed}))
    else:
        print(f"{report.total} points: {len(report.done)} ran, {len(report.skipped)} already stored, "
              f"{len(report.failed)} failed in {report.wall_s:.1f} s; store {args.out}")
        for key, err in report.failed.items():
            print(f"  {key}: {err}")
    return 0 if report.ok else 1


RESULT_METRICS = ("flows", "finished", "fct_p50_us", "fct_p99_us", "fct_max_us", "drops", "wall_s")


def results_table(view):
    """The ``uesim results`` table: point key, config columns that vary, headline metrics."""
    df = view.points
    varying = view.varying()
    cols = ["point", *varying, *RESULT_METRICS]
    table = df[[c for c in cols if c in df.columns]]
    if varying and len(table):
        try:
            table = table.sort_values(varying, kind="stable", na_position="first")
        except TypeError:            # mixed value types in a column: keep store order
            pass
    return table


def cmd_results(args) -> int:
    from pathlib import Path
    from uesim.experiments.schema import ScenarioError
    from uesim.experiments.store import load
    if not Path(args.dir, "points").is_dir():
        raise ScenarioError(f"{args.dir!r}: not a result store (no points/ folder); "
                            f"write one with 'uesim sweep FILE --out DIR'")
    view = load(args.dir)
    table = results_table(view)
    if args.json:
        for row in table.to_dict(orient="records"):
            print(json.dumps(row, default=str))
    else:
        import pandas as pd
        with pd.option_context("display.width", 160, "display.max_columns", 40, "display.max_rows", 10_000):
            print(table.to_string(index=False) if len(table) else "(no points)")
        print(f"{len(view)} points in {args.dir}")
    for key, why in view.problems.items():
        print(f"damaged point {key}: {why} (rerun the sweep to recompute it)", file=sys.stderr)
    return 0
