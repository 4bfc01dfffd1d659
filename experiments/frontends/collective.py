"""``uesim collective OP``: an nccl-tests-style sweep of one collective over message sizes.

Each size is a fresh simulation of the collective alone on the topology (an idle fabric
apart from the collective itself), so rows are independent and the stall is what the
collective does to itself. Prints the nccl-tests table (size, count, type, time,
algbw, busbw in GB/s) plus the alpha-beta ideal and the stall (see
:mod:`uesim.experiments.collectives.model`); ``--json`` ends with one JSON line whose
``rows`` hold ``bytes, time_us, algbw_gbps, busbw_gbps`` (Gbit/s), ``ideal_us,
stall_us`` and the stall counters.

Examples
--------
>>> from uesim.experiments.frontends.collective import main
>>> main(["all_reduce", "--gpus", "4", "--topology", "leaf_spine:n_leaves=1,n_spines=1,hosts_per_leaf=4",
...       "-b", "64K", "-e", "64K", "--quiet"])
0
"""
from __future__ import annotations

import argparse
import json
import os
import sys

SUFFIX = {"": 1, "B": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
#: the largest message a run accepts (1 TiB: far beyond any GPU buffer)
MAX_BYTES = 1 << 40
#: the most sizes one sweep runs
MAX_SIZES = 1000
#: nccl-tests element type and size per op (float32; all-to-all too)
DTYPE = ("float", 4)


def parse_size(text: str, option: str) -> int:
    """``"64K"``, ``"1M"``, ``"256M"``, ``"1G"`` or bytes as an integer (binary units).

    >>> parse_size("1M", "-b"), parse_size("4096", "-b")
    (1048576, 4096)
    """
    t = text.strip().upper().removesuffix("IB").removesuffix("B") if text.strip().upper() not in ("B",) else ""
    unit = t[-1:] if t[-1:] in SUFFIX and t[-1:] != "" else ""
    num = t[:-1] if unit else t
    try:
        value = float(num) * SUFFIX[unit]
    except ValueError:
        raise ValueError(f"{option} = {text!r}: expected a size such as 4096, 64K, 1M or 1G") from None
    if value != value or value < 1 or value != int(value):
        raise ValueError(f"{option} = {text!r}: must be a whole number of bytes >= 1")
    if value > MAX_BYTES:
        raise ValueError(f"{option} = {text!r}: must be at most 1T ({MAX_BYTES} bytes)")
    return int(value)


def sizes(min_bytes: int, max_bytes: int, factor: float, step_bytes: int = 1 << 20) -> list[int]:
    """nccl-tests sizes: ``min, min*f, ...`` up to ``max`` (inclusive); with ``factor``
    1, ``min, min+step, ...`` (nccl-tests' ``-i``).

    >>> sizes(1 << 20, 8 << 20, 2) == [1 << 20, 2 << 20, 4 << 20, 8 << 20]
    True
    >>> sizes(1000, 3000, 1, step_bytes=1000)
    [1000, 2000, 3000]
    """
    if factor == 1:
        n = (max_bytes - min_bytes) // step_bytes + 1
    else:
        n, s = 0, min_bytes
        while s <= max_bytes and n <= MAX_SIZES:
            n, s = n + 1, max(s + 1, int(s * factor))
    if n > MAX_SIZES:
        raise ValueError(f"{n} message sizes from {min_bytes} to {max_bytes}: at most {MAX_SIZES} "
                         f"(raise --step-factor or --step-bytes)")
    if factor == 1:
        return list(range(min_bytes, max_bytes + 1, step_bytes))
    out, s = [], min_bytes
    while s <= max_bytes:
        out.append(s)
        s = max(s + 1, int(s * factor))
    return out


def build_parser() -> argparse.ArgumentParser:
    from uesim.experiments.collectives import ALGOS, OPS, PLACEMENTS
    p = argparse.ArgumentParser(prog="uesim collective",
                                description="Run a GPU collective over message sizes (nccl-tests style).")
    p.add_argument("op", help=f"one of {', '.join(OPS)} (dashes allowed: all-reduce)")
    p.add_argument("--gpus", "-g", type=int, help="ranks (default: every GPU of the topology)")
    p.add_argument("--topology", "-t", default="fat_tree:k=4",
                   help="topology spec (fat_tree:k=8, leaf_spine:..., a .graphml/.json file); "
                        "with --scale-up, the scale-out part")
    p.add_argument("--scale-up", help="scale-up spec (hgx:n_servers=4) joined with --topology by "
                                      "topologies.hybrid")
    p.add_argument("--preset", help="transport preset: uet (NSCC, spraying, trimming) or roce (RC, ECMP, "
                                    "DCQCN, PFC), each with its fabric settings (default: uet, or the one "
                                    "--transport names)")
    p.add_argument("--transport", help="transport name (uet, roce, window, ...; default: the preset's)")
    p.add_argument("--cc", help="congestion control name (default: the preset's)")
    p.add_argument("--cc-param", action="append", default=[], metavar="KEY=VALUE",
                   help="a congestion-control parameter over the preset's (repeatable; a TOML value: "
                        "--cc-param params=nic --cc-param rate_ai_bps=5e6)")
    p.add_argument("--lb", help="load balancer name (default: the preset's; ecmp for roce)")
    p.add_argument("--lb-param", action="append", default=[], metavar="KEY=VALUE",
                   help="a load-balancer parameter over the preset's (repeatable, as --cc-param)")
    p.add_argument("--buffer", help="switch port buffer, e.g. 1M (default: the preset's: 1 MB for uet, 2 MB for roce)")
    p.add_argument("--ecn", help="ECN marking KMIN,KMAX[,PMAX] in bytes (100K,400K,0.2) or 'off'")
    p.add_argument("--pfc", choices=("on", "off"), help="priority flow control (default: the preset's)")
    p.add_argument("--trimming", choices=("on", "off"), help="switch packet trimming (default: the preset's)")
    p.add_argument("--plugin", action="append", default=[], metavar="MODULE",
                   help="import MODULE first (a congestion control or load balancer it registers)")
    p.add_argument("--algo", "-a", help=f"one of {', '.join(ALGOS)} (default: the op's first)")
    p.add_argument("--inter-algo", default="ring", help="hier: the scale-out all-reduce algorithm")
    p.add_argument("--placement", default="sequential", help=f"one of {', '.join(PLACEMENTS)}")
    p.add_argument("--channels", type=int, default=1, help="parallel channels (default 1)")
    p.add_argument("--chunks", type=int, default=1, help="pipelined slices per channel (default 1)")
    p.add_argument("--root", type=int, default=0, help="root rank of broadcast/reduce")
    p.add_argument("--min-bytes", "-b", default="1M", help="smallest size (default 1M)")
    p.add_argument("--max-bytes", "-e", default=None, help="largest size (default: --min-bytes)")
    p.add_argument("--step-factor", "-f", type=float, default=2.0,
                   help="size multiplier (default 2); 1: add --step-bytes instead, as nccl-tests")
    p.add_argument("--step-bytes", "-i", default="1M", help="size increment when -f is 1 (default 1M)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="end with one JSON line")
    p.add_argument("--quiet", action="store_true", help="print nothing (for tests)")
    p.add_argument("--force", action="store_true",
                   help="run even if the up-front memory estimate exceeds what this machine has available")
    return p


def _setup(args) -> tuple[dict, dict, str]:
    """``(transport table, fabric table, label)``: the preset, then the options over it."""
    from uesim.experiments.presets import PRESETS, preset
    from uesim.experiments.scenario import import_plugins
    from uesim.protocols import CC_REGISTRY, LB_REGISTRY, TRANSPORT_REGISTRY
    from uesim.experiments.schema import ScenarioError
    try:
        import_plugins(args.plugin, "--plugin")
    except ScenarioError as exc:
        raise ValueError(str(exc)) from None
    name = args.preset or (args.transport if args.transport in PRESETS else "uet")
    p = preset(name) if args.preset is None or args.preset in PRESETS else None
    if p is None:
        raise ValueError(f"--preset = {args.preset!r}: allowed: {', '.join(PRESETS)}")
    tr, fab, label = p["transport"], p["fabric"], p["label"]
    if args.transport is not None and args.transport != tr["name"]:
        if args.transport not in TRANSPORT_REGISTRY:
            raise ValueError(f"--transport = {args.transport!r}: allowed: {', '.join(sorted(TRANSPORT_REGISTRY))}")
        # another transport than the preset's: its own defaults, the preset's fabric
        tr = {"name": args.transport, "lb": {"name": "ecmp" if args.transport == "roce" else "oblivious"}}
        label = args.transport
    if args.cc is not None:
        if args.cc not in CC_REGISTRY:
            raise ValueError(f"--cc = {args.cc!r}: allowed: {', '.join(sorted(CC_REGISTRY))}")
        tr["cc"] = {"name": args.cc}
        label += f" cc={args.cc}"
    if args.lb is not None:
        if args.lb not in LB_REGISTRY:
            raise ValueError(f"--lb = {args.lb!r}: allowed: {', '.join(sorted(LB_REGISTRY))}")
        tr["lb"] = {"name": args.lb}
        label += f" lb={args.lb}"
    for option, key in (("--cc-param", "cc"), ("--lb-param", "lb")):
        given = getattr(args, option[2:].replace("-", "_"))
        if given:
            tr[key] = {**tr[key], **_params(given, option)}
            label += " " + " ".join(given)
    if args.buffer is not None:
        fab["buffer_bytes"] = parse_size(args.buffer, "--buffer")
    if args.ecn is not None:
        fab["ecn"] = _ecn(args.ecn)
    if args.pfc is not None:
        fab["pfc"] = {"enabled": args.pfc == "on"}
    if args.trimming is not None:
        fab["trimming"] = args.trimming == "on"
    return tr, fab, label


def _params(items: list, option: str) -> dict:
    """``KEY=VALUE`` items as a table, each value read as TOML (a number, a quoted or bare
    string, true/false).

    >>> _params(["params=nic", "rate_ai_bps=5e6", "g=0.0625", "clamp_target=false"], "--cc-param")
    {'params': 'nic', 'rate_ai_bps': 5000000.0, 'g': 0.0625, 'clamp_target': False}
    """
    import tomllib
    out = {}
    for item in items:
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not key or key == "name":
            raise ValueError(f"{option} = {item!r}: expected KEY=VALUE (the name has its own option)")
        try:
            out[key] = tomllib.loads(f"v = {value.strip()}")["v"]
        except tomllib.TOMLDecodeError:
            out[key] = value.strip()            # a bare word: a string
    return out


def _ecn(text: str) -> dict:
    """``--ecn KMIN,KMAX[,PMAX]`` or ``off`` as a ``[fabric.ecn]`` table.

    >>> _ecn("100K,400K"), _ecn("off")
    ({'kmin_bytes': 102400, 'kmax_bytes': 409600, 'pmax': 0.2}, {})
    """
    if text.strip().lower() == "off":
        return {}
    parts = [t.strip() for t in text.split(",")]
    if len(parts) not in (2, 3):
        raise ValueError(f"--ecn = {text!r}: expected KMIN,KMAX[,PMAX] (e.g. 100K,400K,0.2) or off")
    kmin, kmax = parse_size(parts[0], "--ecn KMIN"), parse_size(parts[1], "--ecn KMAX")
    try:
        pmax = float(parts[2]) if len(parts) == 3 else 0.2
    except ValueError:
        raise ValueError(f"--ecn = {text!r}: PMAX must be a number in (0, 1]") from None
    if not 0 < pmax <= 1 or kmax < kmin:
        raise ValueError(f"--ecn = {text!r}: needs KMIN <= KMAX and 0 < PMAX <= 1")
    return {"kmin_bytes": kmin, "kmax_bytes": kmax, "pmax": pmax}


def _graph(args):
    from uesim.topologies import hybrid, parse_topology_spec
    from uesim.experiments.limits import spec_too_large
    if not args.scale_up:
        # refuse a hopeless size before building it (all-to-all: a flow per rank pair)
        a2a = args.op.replace("-", "_").lower() == "all_to_all"
        too_large = spec_too_large(args.topology, flows=lambda n: n * (n - 1) if a2a else n * args.channels)
        if too_large:
            raise ValueError(f"--topology: {too_large}")
    try:
        G = parse_topology_spec(args.topology)
    except (ValueError, TypeError, OSError) as exc:
        raise ValueError(f"--topology: {exc}") from None
    if args.scale_up:
        try:
            G = hybrid(parse_topology_spec(args.scale_up), G, nics_per_gpu=None)
        except (ValueError, TypeError, OSError) as exc:
            raise ValueError(f"--scale-up: {exc}") from None
    return G


def run(args) -> list[dict]:
    """One row per size (the dicts of :meth:`CollectiveResult.row`)."""
    from uesim.experiments.collectives import ALGOS, OP_ALGOS, OPS, PLACEMENTS, run_collective
    from uesim.experiments.simulation import Simulation
    op = args.op.replace("-", "_").lower()
    if op not in OPS:
        raise ValueError(f"OP = {args.op!r}: allowed: {', '.join(OPS)}")
    if args.algo is not None and args.algo not in ALGOS:
        raise ValueError(f"--algo = {args.algo!r}: allowed: {', '.join(ALGOS)}")
    if args.algo is not None and args.algo not in OP_ALGOS[op]:
        raise ValueError(f"--algo = {args.algo!r} for {op}: allowed: {', '.join(OP_ALGOS[op])}")
    if args.placement not in PLACEMENTS:
        raise ValueError(f"--placement = {args.placement!r}: allowed: {', '.join(PLACEMENTS)}")
    for name in ("channels", "chunks"):
        if getattr(args, name) < 1:
            raise ValueError(f"--{name} = {getattr(args, name)}: must be >= 1")
    if args.step_factor < 1:
        raise ValueError(f"--step-factor = {args.step_factor}: must be >= 1")
    lo = parse_size(args.min_bytes, "--min-bytes")
    hi = parse_size(args.max_bytes, "--max-bytes") if args.max_bytes else lo
    if hi < lo:
        raise ValueError(f"--max-bytes ({hi}) must be >= --min-bytes ({lo})")
    step = parse_size(args.step_bytes, "--step-bytes")
    todo = sizes(lo, hi, args.step_factor, step)
    tr, fab, label = _setup(args)
    G = _graph(args)
    n_gpus = sum(1 for _, k in G.nodes(data="kind") if k == "gpu")
    if args.gpus is not None and not 2 <= args.gpus <= n_gpus:
        raise ValueError(f"--gpus = {args.gpus}: must be between 2 and the topology's {n_gpus} GPUs")
    from uesim.experiments.progress import WorkloadMonitor
    monitor = WorkloadMonitor(force=args.force, quiet=args.quiet)
    rows = []
    for size in todo:
        sim = Simulation(G, transport=tr, fabric=fab, seed=args.seed)
        try:
            res = run_collective(op, size, sim=sim, n_ranks=args.gpus, algo=args.algo, placement=args.placement,
                                 channels=args.channels, chunks=args.chunks, root=args.root,
                                 inter_algo=args.inter_algo, seed=args.seed, on_built=monitor.on_built,
                                 progress=monitor.progress)
        finally:
            monitor.stop()
        row = res.row()
        row["count"] = size // DTYPE[1]
        row["type"] = DTYPE[0]
        row["root"] = args.root if op in ("broadcast", "reduce") else -1
        row["warnings"] = res.warnings()
        row["preset"] = label
        row["phases"] = [{"name": p["name"], "actual_us": p["actual_ps"] / 1e6, "ideal_us": p["ideal_ps"] / 1e6}
                         for p in res.phases]
        row["wall_s"] = round(sim.result().stats["wall_s"], 3)
        row["estimated_events"] = monitor.estimate["events"]
        row["estimated_peak_bytes"] = monitor.estimate["peak_bytes"]
        rows.append(row)
        if not args.quiet and not args.json:
            _print_row(row, first=len(rows) == 1, label=label)
    return rows


#: nccl-tests' reduction per op ("none" where nothing is reduced)
REDOP = {"all_reduce": "sum", "reduce_scatter": "sum", "reduce": "sum"}


def _print_row(row: dict, first: bool, label: str = "") -> None:
    """One nccl-tests line (out-of-place columns), then the ideal and the stall."""
    if first:
        print(f"# {row['op']} algo {row['algo']}, {row['ranks']} ranks" + (f", {label}" if label else ""))
        print("# in-place columns omitted: the network carries the same bytes in place and out of "
              "place (uesim does not model the local copy)")
        print("# ideal: the DAG on a perfect fabric, its NICs shared (docs/collectives.md); endpoint: NIC time beyond "
              "the critical path; stall = time - ideal")
        print(f"#{'size':>11} {'count':>11} {'type':>6} {'redop':>6} {'root':>5} {'time':>10} {'algbw':>7} "
              f"{'busbw':>7} {'#wrong':>6} {'ideal':>10} {'endpoint':>9} {'stall':>9} {'stall%':>7}")
        print(f"#{'(B)':>11} {'(elements)':>11} {'':>6} {'':>6} {'':>5} {'(us)':>10} {'(GB/s)':>7} "
              f"{'(GB/s)':>7} {'':>6} {'(us)':>10} {'(us)':>9} {'(us)':>9} {'':>7}")
    print(f" {row['bytes']:>11} {row['count']:>11} {row['type']:>6} {REDOP.get(row['op'], 'none'):>6} "
          f"{row.get('root', -1):>5} {row['time_us']:>10.2f} {row['algbw_GBps']:>7.2f} {row['busbw_GBps']:>7.2f} "
          f"{'N/A':>6} {row['ideal_us']:>10.2f} {row['endpoint_us']:>9.2f} {row['stall_us']:>9.2f} "
          f"{row['stall_pct']:>7.2f}")


def main(argv=None) -> int:
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    try:
        rows = run(args)
    except ValueError as exc:
        if os.environ.get("UESIM_DEBUG"):
            raise
        print(f"uesim: error: {exc}", file=sys.stderr)
        return 2
    if args.json and not args.quiet:
        print(json.dumps({"op": rows[0]["op"], "algo": rows[0]["algo"], "ranks": rows[0]["ranks"],
                          "topology": args.topology, "scale_up": args.scale_up, "rows": rows}))
    elif not args.quiet:
        _print_checks(rows)
    return 0


def _print_checks(rows: list[dict]) -> None:
    """The checks that would expose a wrong number: one line if all pass, else one per problem."""
    bad = [(r["bytes"], w) for r in rows for w in r["warnings"]]
    if not bad:
        print(f"# checks: every size finished, 0 timeouts with nothing lost, no time below its proven "
              f"lower bound or 2% inside its ideal; retransmitted packets: "
              f"{sum(r['retransmits'] for r in rows)}, timeouts: {sum(r['timeouts'] for r in rows)}")
    for size, w in bad:
        print(f"# WARNING {size} B: {w}")
