"""Collective fidelity matrix: every op x algorithm x topology x preset x GPUs x size.

Each row runs one collective on a fabric carrying nothing else and prints its time, its
ideal (the DAG on a perfect fabric with NICs shared fairly: a lower bound), the ratio,
the endpoint-bound time, the stall split by cause, retransmissions and timeouts (with
those that lost nothing). The summary lists

- rows whose time is below 0.98x the ideal (the ideal failed as a lower bound);
- rows with a timeout that lost nothing (always a bug);
- rows on a non-blocking fabric beyond their bound (UET 1.05x, RoCE 1.3x), each with the
  causes of its excess and how much of it the causes explain;
- unfinished rows.

Topologies (100 Gb/s links, 1 us per link): ``fat_tree`` (the smallest k holding the
GPUs, 1:1), ``rail`` (rail-optimised, 8 GPUs per server, rail placement, as many spines
as servers: 1:1), ``ls2to1`` (leaf-spine, 8 GPUs per leaf, 4 spines: 2:1, blocking) and
``hgx_ls`` (HGX servers of 8 GPUs over NVLink joined to a 1:1 leaf-spine; the
hierarchical all-reduce runs only here).

Run:  python benchmarks/collective_matrix.py              # a slice: 8 and 32 GPUs, 64 KiB and 1 MiB
      python benchmarks/collective_matrix.py --full       # 8-512 GPUs, 64 KiB-64 MiB
      python benchmarks/collective_matrix.py --ops all_to_all --gpus 128 --sizes 16M --presets roce
      python benchmarks/collective_matrix.py --json rows.jsonl   # also write every row
"""
from __future__ import annotations

import argparse
import json
import sys
import time

TOPOLOGIES = ("fat_tree", "rail", "ls2to1", "hgx_ls")
NON_BLOCKING = {"fat_tree", "rail", "hgx_ls"}
PRESETS = ("uet", "roce")
#: a non-blocking row within this many times its ideal is healthy
BOUND = {"uet": 1.05, "roce": 1.3}
FULL = {"gpus": [8, 32, 128, 512], "sizes": ["64K", "1M", "16M", "64M"]}
SLICE = {"gpus": [8, 32], "sizes": ["64K", "1M"]}
#: at 512 GPUs sizes stop at 16 MiB until the workload layer is faster
MAX_BYTES_AT = {512: 16 << 20}
CAUSES = ("loss_recovery", "reordering", "pause", "queueing", "other")


def topology(kind: str, n: int):
    """The graph (or spec) of topology ``kind`` for ``n`` GPUs, and its rank placement."""
    from uesim.topologies import hgx, hybrid, leaf_spine, rail_optimized
    servers = max(1, -(-n // 8))
    if kind == "fat_tree":
        from uesim.topologies import fat_tree_radix_for
        return f"fat_tree:k={fat_tree_radix_for(n)}", "sequential"
    if kind == "rail":
        return rail_optimized(servers, 8, n_spines=servers), "rail"
    if kind == "ls2to1":
        return leaf_spine(servers, 4, 8), "sequential"
    if kind == "hgx_ls":
        return hybrid(hgx(servers), leaf_spine(servers, 8, 8)), "sequential"
    raise ValueError(f"topology = {kind!r}: allowed: {', '.join(TOPOLOGIES)}")


def cases(ops, topologies, presets, gpus, sizes):
    """Every (op, algo, topology, preset, gpus, bytes) of the matrix, smallest first."""
    from uesim.experiments.collectives.algorithms import OP_ALGOS
    out = []
    for n in gpus:
        for size in sizes:
            if size > MAX_BYTES_AT.get(n, size):
                continue
            for topo in topologies:
                for op in ops:
                    for algo in OP_ALGOS[op]:
                        if algo == "hier" and topo != "hgx_ls":
                            continue
                        for pre in presets:
                            out.append((op, algo, topo, pre, n, size))
    return out


def run_case(case) -> dict:
    """One row: run the collective under its preset and measure it."""
    from uesim.experiments.collectives import run_collective
    from uesim.experiments.presets import preset
    from uesim.experiments.simulation import Simulation
    op, algo, topo, pre, n, size = case
    G, placement = topology(topo, n)
    p = preset(pre)
    t0 = time.perf_counter()
    sim = Simulation(G, transport=p["transport"], fabric=p["fabric"], seed=1)
    r = run_collective(op, size, sim=sim, n_ranks=n, algo=algo, placement=placement)
    wall = time.perf_counter() - t0
    s = r.sources
    return {"op": op, "algo": algo, "topology": topo, "preset": pre, "gpus": n, "bytes": size,
            "time_us": r.time_ps / 1e6, "ideal_us": r.ideal_ps / 1e6,
            "ratio": r.time_ps / r.ideal_ps if r.ideal_ps else float("nan"),
            "endpoint_us": r.endpoint_ps / 1e6, "stall_pct": 100 * r.stall_ps / r.ideal_ps,
            **{f"stall_{c}_us": r.stall_by_cause.get(c, 0) / 1e6 for c in CAUSES},
            "retx": s["retransmits"], "timeouts": s["timeouts"], "no_loss_timeouts": s["timeouts_no_loss"],
            "drops": s["drops"], "trims": s["trims"], "paused_us": s.get("pfc_paused_ps", 0) / 1e6,
            "finished": s["finished"], "events": sim.built.sim.events, "wall_s": wall}


def verdicts(row: dict) -> list[str]:
    """What is wrong with a row, if anything (empty: healthy)."""
    out = []
    if not row["finished"]:
        out.append("unfinished")
    if row["no_loss_timeouts"]:
        out.append(f"{row['no_loss_timeouts']} timeouts with nothing lost")
    if row["ratio"] < 0.98:
        out.append(f"below its ideal ({row['ratio']:.3f}x)")
    if row["topology"] in NON_BLOCKING and row["ratio"] > BOUND[row["preset"]]:
        out.append(f"beyond {BOUND[row['preset']]}x")
    return out


def explain(row: dict) -> str:
    """The causes of a row's excess over its ideal and the share they explain."""
    excess = row["time_us"] - row["ideal_us"]
    parts = [f"{c} {row[f'stall_{c}_us']:.1f} us" for c in CAUSES
             if abs(row[f"stall_{c}_us"]) > 0.05 * abs(excess)]
    explained = excess - row["stall_other_us"]
    share = 100 * explained / excess if excess else 100.0
    return f"excess {excess:.1f} us: " + ", ".join(parts or ["none"]) + f" (causes explain {share:.0f}%)"


def _size(b: int) -> str:
    for unit, f in (("M", 1 << 20), ("K", 1 << 10)):
        if b >= f and b % f == 0:
            return f"{b // f}{unit}"
    return str(b)


HEADER = (f"{'op':<15}{'algo':<7}{'topology':<9}{'preset':<7}{'gpus':>5}{'size':>6}{'time_us':>11}"
          f"{'ideal_us':>11}{'ratio':>7}{'endpt_us':>10}{'queue_us':>10}{'loss_us':>9}{'pause_us':>9}"
          f"{'reord_us':>9}{'other_us':>9}{'retx':>7}{'TO':>4}{'TO0':>4}{'wall_s':>7}")


def format_row(r: dict) -> str:
    return (f"{r['op']:<15}{r['algo']:<7}{r['topology']:<9}{r['preset']:<7}{r['gpus']:>5}{_size(r['bytes']):>6}"
            f"{r['time_us']:>11.2f}{r['ideal_us']:>11.2f}{r['ratio']:>7.3f}{r['endpoint_us']:>10.1f}"
            f"{r['stall_queueing_us']:>10.1f}{r['stall_loss_recovery_us']:>9.1f}{r['stall_pause_us']:>9.1f}"
            f"{r['stall_reordering_us']:>9.1f}{r['stall_other_us']:>9.1f}{r['retx']:>7}{r['timeouts']:>4}{r['no_loss_timeouts']:>4}{r['wall_s']:>7.2f}")


def summary(rows: list[dict], wall_s: float) -> list[str]:
    """The summary lines: counts, then every unhealthy row with its causes."""
    bad = [(r, verdicts(r)) for r in rows]
    bad = [(r, v) for r, v in bad if v]
    lines = [f"# {len(rows)} rows in {wall_s:.1f} s wall; "
             f"{sum(r['no_loss_timeouts'] for r in rows)} timeouts with nothing lost; "
             f"{sum(1 for r in rows if r['ratio'] < 0.98)} rows below 0.98x their ideal; "
             f"{sum(1 for r, v in bad if any(x.startswith('beyond') for x in v))} non-blocking rows beyond "
             f"their bound (uet {BOUND['uet']}x, roce {BOUND['roce']}x); "
             f"{sum(1 for r in rows if not r['finished'])} unfinished"]
    for r, v in bad:
        lines.append(f"#   {r['op']} {r['algo']} {r['topology']} {r['preset']} {r['gpus']} GPUs {_size(r['bytes'])}: "
                     f"{'; '.join(v)}; {explain(r)}")
    return lines


def parse_args(argv):
    from uesim.experiments.collectives.algorithms import OPS
    from uesim.experiments.frontends.collective import parse_size
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--full", action="store_true", help="the whole matrix: 8-512 GPUs, 64K-64M")
    p.add_argument("--ops", nargs="+", choices=OPS, default=list(OPS))
    p.add_argument("--topologies", nargs="+", choices=TOPOLOGIES, default=list(TOPOLOGIES))
    p.add_argument("--presets", nargs="+", choices=PRESETS, default=list(PRESETS))
    p.add_argument("--gpus", nargs="+", type=int, help="GPU counts (default: 8 32; --full 8 32 128 512)")
    p.add_argument("--sizes", nargs="+", help="buffer sizes (default: 64K 1M; --full 64K 1M 16M 64M)")
    p.add_argument("--jobs", type=int, default=1, help="rows run in parallel processes (default 1)")
    p.add_argument("--json", metavar="FILE", help="also write every row as a JSON line to FILE")
    args = p.parse_args(argv)
    base = FULL if args.full else SLICE
    args.gpus = args.gpus or base["gpus"]
    bad = [g for g in args.gpus if g < 2]
    if bad:
        p.error(f"--gpus {bad[0]}: a collective needs at least 2 GPUs")
    args.sizes = [parse_size(s, "--sizes") for s in (args.sizes or base["sizes"])]
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    todo = cases(args.ops, args.topologies, args.presets, args.gpus, args.sizes)
    print(f"# {len(todo)} rows: ops {' '.join(args.ops)}; topologies {' '.join(args.topologies)}; "
          f"presets {' '.join(args.presets)}; GPUs {' '.join(map(str, args.gpus))}; "
          f"sizes {' '.join(_size(s) for s in args.sizes)}")
    print(HEADER)
    t0 = time.perf_counter()
    rows = []
    out = open(args.json, "w") if args.json else None
    if args.jobs > 1:
        from concurrent.futures import ProcessPoolExecutor
        pool = ProcessPoolExecutor(args.jobs)
        results = pool.map(run_case, todo)
    else:
        results = map(run_case, todo)
    for row in results:
        rows.append(row)
        print(format_row(row), flush=True)
        if out:
            out.write(json.dumps(row) + "\n")
    if out:
        out.close()
    for line in summary(rows, time.perf_counter() - t0):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
