"""The ``uesim`` command line.

``uesim run FILE [--json] [--out DIR] [--seed N] [--plot FILE.png]``
    run a scenario, print a per-flow table and a summary (or one JSON line); with
    ``--plot`` (or ``[outputs] plot``) also draw the FCT CDF (and queues, if sampled).
``uesim check FILE``
    check a scenario file without running it.
``uesim htsim -tm FILE [htsim_uec flags] [--json]``
    run an htsim_uec command line unchanged (see docs/htsim.md).
``uesim collective OP [--gpus N] [--topology SPEC] [--algo A] [-b MIN -e MAX -f F] [--json]``
    run a GPU collective over message sizes, nccl-tests style (see docs/collectives.md).
``uesim train MODEL.toml [--topology SPEC] [--transport uet|roce] [--json]``
    one training step: step time, exposed comm, GPU idle %, stall cost per million tokens.
``uesim stall FILE [--json]``
    the stall table per topology x transport, or with ``[[jobs]]`` each job alone and shared.
``uesim sweep FILE --out DIR [--jobs N] [--cluster tcp://HOST:PORT|local:N]``
    run every point of a scenario's ``[sweep]`` table into a result store (docs/sweeps.md).
``uesim compare FILE [--only A,B] [--json]``
    run a scenario's ``[compare]`` variants (RoCE vs UET, ...) and print one table (docs/compare.md).
``uesim results DIR [--json]``
    one row per stored point: the config keys that vary and the headline metrics.
``uesim plot DIR KIND -o FILE`` / ``uesim report DIR -o FILE.html``
    plot (fct-cdf, queue, utilisation, busbw, stall) or report a store or a run folder.
``uesim topo describe SPEC [--json]`` / ``uesim topo draw SPEC -o FILE``
    inspect a topology (``fat_tree:k=8``, ``leaf_spine:n_leaves=4,...`` or a file).

Mistakes in input, and a plug-in that sets an impossible window or rate or raises in a
hook (or in ``__init__``), end the command with one ``uesim: error: ...`` line and exit
status 2, never a traceback (``--debug`` anywhere on the line, for every subcommand,
shows it). ``uesim run`` exits with status 3 when an invariant is violated and 4
(``STUCK_EXIT``) when flows are stuck (they can no longer progress: cut off by a fault,
or out of retries); they are listed above. 130: interrupted.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys

# numpy's OpenBLAS starts a spinning thread per core at import; uesim does no linear
# algebra, and on a small machine those threads take CPU from the simulation
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# a command is one short-lived process whose objects live to its end: the cyclic garbage
# collector's passes over the import of numpy, networkx and pandas only cost time
gc.disable()


#: ``uesim run``'s exit status when flows are stuck (3 is taken: an invariant violated)
STUCK_EXIT = 4
#: the exit statuses, as ``--help`` lists them
EXIT_STATUSES = ("0 done; 2 bad input, or a plug-in set an impossible window or rate or "
                 "raised in a hook (one 'uesim: error:' line); 3 an invariant violated; "
                 f"{STUCK_EXIT} (uesim run) flows stuck: they can no longer progress, listed "
                 "above; 130 interrupted")


def _error(message: str) -> int:
    print(f"uesim: error: {message}", file=sys.stderr)
    return 2


def _stuck_line(stuck) -> str:
    ids = ", ".join(map(str, stuck[:10])) + (" ..." if len(stuck) > 10 else "")
    return f"{len(stuck)} flows cannot finish (stuck: cut off by a fault or gave up): {ids}"


def _progress_printer():
    from uesim.experiments.progress import progress_printer
    return progress_printer()


def _print_table(result, limit: int) -> None:
    import pandas as pd
    cols = ["flow_id", "src", "dst", "size_bytes", "fct_us", "packets_sent", "retransmits",
            "ecn_echoes", "finished"]
    df = result.flows[cols]
    with pd.option_context("display.width", 120, "display.max_columns", 20):
        if len(df) > limit:
            print(df.head(limit).to_string(index=False))
            print(f"... {len(df) - limit} more flows (use --rows N or --out DIR for all)")
        else:
            print(df.to_string(index=False))
    s = result.summary()
    print()
    print(f"scenario {s['scenario']}: {s['finished']}/{s['flows']} flows finished")
    if s["last_fct_us"] is not None:
        print(f"FCT us: p50 {s['fct_p50_us']:.3f}  p99 {s['fct_p99_us']:.3f}  last {s['last_fct_us']:.3f}")
    print(f"retransmits {s['retransmits']}  drops {s['drops']}  ECN marks {s['ecn_marks']}"
          + (f"  CNPs {s['cnps']}" if "cnps" in s else ""))
    stuck = result.stats.get("stuck_flows") or []
    if stuck:
        print(_stuck_line(stuck))
    if result.stats.get("packets_lost"):
        print(f"frames lost on faulty links {result.stats['packets_lost']}")
    for warning in result.stats.get("warnings") or []:
        print(f"warning: {warning}")
    rate = s["packet_hops"] / s["wall_s"] / 1e6 if s["wall_s"] > 0 else float("nan")
    print(f"{s['events']:,} events, {s['packet_hops']:,} packet-hops in {s['wall_s']:.3f} s "
          f"({rate:.1f} M packet-hops/s)")


def cmd_run(args) -> int:
    from uesim.experiments.scenario import load_scenario
    from uesim.experiments.run import run_scenario
    overrides = {"seed": args.seed} if args.seed is not None else {}
    run_over = {k: True for k, on in (("check", args.check), ("allow_large", args.force)) if on}
    if run_over:
        from uesim.experiments.scenario import read_toml
        overrides["run"] = {**(read_toml(args.file).get("run") or {}), **run_over}
    if args.plugin:
        from uesim.experiments.scenario import read_toml
        overrides["plugins"] = list(read_toml(args.file).get("plugins", [])) + args.plugin
    sc = load_scenario(args.file, overrides or None)
    progress = None if args.json else _progress_printer()
    try:
        result = run_scenario(sc, progress=progress)
    finally:
        if progress is not None:
            progress.stop()
    if args.out:
        result.write(args.out)
    plot = args.plot or sc.get("outputs", {}).get("plot")
    if plot:
        _write_plot(result, plot)
    if args.json:
        print(json.dumps(result.summary()))
    else:
        _print_table(result, args.rows)
        if args.out:
            print(f"results written to {args.out}")
        if plot:
            print(f"plot written to {plot}")
    if result.stats.get("partial"):
        print(f"PARTIAL: interrupted at {result.stats['sim_time_us']:.3f} us simulated; "
              f"{result.stats['unfinished_flows']} flows unfinished", file=sys.stderr)
        return 130
    stuck = result.stats.get("stuck_flows")
    if stuck:
        if args.json:                    # the table says it otherwise; stdout stays one JSON line
            print(f"uesim: {_stuck_line(stuck)}", file=sys.stderr)
        return STUCK_EXIT
    return 0


def _write_plot(result, path) -> None:
    from uesim.experiments.report.plots import run_overview, save
    from uesim.experiments.schema import ScenarioError
    try:
        save(run_overview(result.flows, result.timeseries, result.ports,
                          title=f"{result.config.get('name', 'scenario')}: flow completion times"), path)
    except (ImportError, ValueError, OSError) as exc:
        raise ScenarioError(f"plot {str(path)!r}: {exc}") from None


def cmd_check(args) -> int:
    from uesim.experiments.scenario import load_scenario, read_toml
    from uesim.experiments.run import build_topology, derive_seed, make_flows
    raw = read_toml(args.file)
    if "sweep" in raw:
        from uesim.experiments.sweeps.cli import check_sweep
        return check_sweep(args)
    if "compare" in raw:
        from uesim.experiments.compare import check_compare
        return check_compare(args.file)
    sc = load_scenario(args.file, {"plugins": args.plugin} if args.plugin else None)
    G = build_topology(sc["topology"], sc.get("faults"), derive_seed(sc["seed"], 4))
    n_hosts = sum(1 for _, k in G.nodes(data="kind") if k == "gpu")
    if (sc.get("faults") or {}).get("events"):
        from uesim.experiments.faults import check_event_targets
        check_event_targets(G, sc["faults"]["events"])
    flows = make_flows(sc, n_hosts)
    print(f"{args.file}: ok ({n_hosts} hosts, {len(flows)} flows)")
    return 0


def cmd_topo(args) -> int:
    from uesim.experiments import topo_cli
    if args.topo_cmd == "describe":
        return topo_cli.describe_main(args.spec, as_json=args.json)
    return topo_cli.draw_main(args.spec, args.out)


def cmd_crosscheck(args) -> int:
    from uesim.experiments import crosscheck
    return crosscheck.main(args.scenario, as_json=args.json)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="uesim", description="Packet-level simulator of AI datacenter fabrics.",
                                     epilog=f"exit status: {EXIT_STATUSES}")
    # main() takes --debug off the line before parsing, wherever it is (every subcommand,
    # htsim's flags too); this entry only shows it in --help
    parser.add_argument("--debug", action="store_true",
                        help="show the Python traceback of an error instead of one 'uesim: error:' "
                             "line (allowed anywhere on the command line, for every subcommand)")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario file", epilog=f"exit status: {EXIT_STATUSES}")
    run.add_argument("file", help="scenario TOML file")
    run.add_argument("--json", action="store_true", help="print one JSON summary line")
    run.add_argument("--out", help="write flows/ports Parquet and run.json into this folder")
    run.add_argument("--seed", type=int, help="override the scenario seed")
    run.add_argument("--rows", type=int, default=40, help="flows shown in the table (default 40)")
    run.add_argument("--plot", metavar="FILE", help="write the FCT CDF (and queue depth, if sampled) "
                     "to FILE (.png, .svg, .pdf)")
    run.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                     help="import MODULE first (registers a Python CC or LB); repeatable")
    run.add_argument("--check", action="store_true",
                     help="check invariants while running ([run] check = true)")
    run.add_argument("--force", action="store_true",
                     help="run even if the memory estimate exceeds this machine ([run] allow_large = true)")
    run.set_defaults(fn=cmd_run)
    check = sub.add_parser("check", help="check a scenario file without running it")
    check.add_argument("file")
    check.add_argument("--plugin", action="append", default=[], metavar="MODULE")
    check.set_defaults(fn=cmd_check)
    from uesim.experiments.sweeps.cli import add_parsers as add_sweep_parsers
    add_sweep_parsers(sub)
    from uesim.experiments.compare import add_parser as add_compare_parser
    add_compare_parser(sub)
    from uesim.experiments.report.cli import add_parsers as add_report_parsers
    add_report_parsers(sub)
    topo = sub.add_parser("topo", help="inspect topologies")
    tsub = topo.add_subparsers(dest="topo_cmd", required=True)
    desc = tsub.add_parser("describe", help="counts, bisection, oversubscription, path diversity")
    desc.add_argument("spec", help="generator:params (fat_tree:k=8) or a .graphml/.json file")
    desc.add_argument("--json", action="store_true")
    draw = tsub.add_parser("draw", help="draw a small topology in layers (PNG)")
    draw.add_argument("spec")
    draw.add_argument("-o", "--out", required=True, help="output PNG file")
    topo.set_defaults(fn=cmd_topo)
    cross = sub.add_parser("crosscheck", help="run a scenario in uesim and another simulator, compare FCTs")
    cross.add_argument("simulator", choices=["ns3"])
    cross.add_argument("scenario", help="scenario TOML file (see crosscheck_leafspine16.toml)")
    cross.add_argument("--json", action="store_true", help="print one JSON summary line")
    cross.set_defaults(fn=cmd_crosscheck)
    # ``uesim htsim ...`` is dispatched in main() before argparse sees htsim's -flags;
    # this entry only lists it in ``uesim --help``.
    sub.add_parser("htsim", help="run an htsim_uec command line (-tm FILE -nodes N ...)", add_help=False)
    sub.add_parser("collective", help="run a GPU collective over message sizes (nccl-tests style)",
                   add_help=False)
    sub.add_parser("train", help="run one training step: step time, exposed comm, GPU idle %%, stall cost",
                   add_help=False)
    sub.add_parser("stall", help="stall table per topology x transport; with [[jobs]], noisy neighbours",
                   add_help=False)
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--debug" in argv:                # anywhere on the line: tracebacks instead of one line
        argv = [a for a in argv if a != "--debug"]
        os.environ["UESIM_DEBUG"] = "1"
    if argv and argv[0] == "htsim":
        from uesim.experiments.frontends import htsim
        return htsim.main(argv[1:])
    if argv and argv[0] == "collective":
        from uesim.experiments.frontends import collective
        return collective.main(argv[1:])
    if argv and argv[0] in ("train", "stall"):
        from uesim.experiments.frontends import training
        return (training.train_main if argv[0] == "train" else training.stall_main)(argv[1:])
    from uesim.experiments.schema import ScenarioError
    from uesim.experiments.invariants import InvariantError
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:            # argparse printed its one-line usage error
        return exc.code if isinstance(exc.code, int) else 2
    debug = bool(os.environ.get("UESIM_DEBUG"))
    try:
        return args.fn(args)
    except ScenarioError as exc:
        if debug:
            raise
        return _error(str(exc))
    except InvariantError as exc:
        if debug:
            raise
        print(f"uesim: invariant violated: {exc}", file=sys.stderr)
        return 3
    except BrokenPipeError:
        return 141                       # the reader went away (| head): nothing to say
    except OSError as exc:
        if debug:
            raise
        name = f"{exc.filename}: " if exc.filename else ""
        return _error(f"{name}{exc.strerror or exc}")
    except KeyboardInterrupt:
        print("uesim: interrupted", file=sys.stderr)
        return 130


def console_main() -> int:
    """The ``uesim`` command: :func:`main`, then an exit that skips the garbage collector.

    The process ends here, so its objects need no cyclic-collection pass: Python's
    finalisation would otherwise traverse every one of them (about 20 ms after a
    1024-host run).  ``gc.freeze`` moves them out of the collector's sight.
    """
    status = main()
    gc.freeze()
    return status


if __name__ == "__main__":
    sys.exit(console_main())
