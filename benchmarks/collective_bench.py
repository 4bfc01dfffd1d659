"""Collective benchmark: a collective against its ideal on an idle fabric, and its cost.

Prints, per GPU count and size, the simulated time, the ideal, the stall, busbw, and
what the run cost: events (and the up-front estimate's, ``est_x`` = estimated over
measured events; ``est_mem_x`` the same for peak memory), CPU seconds (the whole collective: compile, ideal, run),
events per CPU second, the process's peak RSS so far, and the result's checks (empty
when it passed every one). GPU counts up to 64 run on a 2-tier leaf-spine (8 hosts per
leaf, non-blocking), larger ones on a k-ary fat tree (k^3/4 hosts; the communicator
takes the first N GPUs), all 100 Gb/s links, 1 us per link, the ``uet`` preset (NSCC,
oblivious spraying, 1 MB buffers).

Run:  python benchmarks/collective_bench.py [--gpus 8 16 128] [--sizes 1M 16M 256M]
      [--algo ring] [--op all_reduce] [--json]
      python benchmarks/collective_bench.py --gpus 1024 --sizes 64M   # fat tree k=16
      python benchmarks/collective_bench.py --gpus 1024 --sizes 64M --reference perm1024

``--reference perm1024`` (or ``permN``, see ``htsim_scale.py``) then runs that ``uesim
htsim`` permutation in a subprocess and prints its events per CPU second (of its whole
process, and of its simulation phase) and every row's events per CPU second over it.
"""
from __future__ import annotations

import argparse
import json
import resource
import time


def topology_for(n: int) -> str:
    if n <= 64:
        leaves = max(1, -(-n // 8))
        return f"leaf_spine:n_leaves={leaves},n_spines=8,hosts_per_leaf=8"
    from uesim.topologies import fat_tree_radix_for
    return f"fat_tree:k={fat_tree_radix_for(n)}"


def main(argv=None) -> int:
    from uesim.experiments.collectives import run_collective
    from uesim.experiments.frontends.collective import parse_size
    from uesim.experiments.simulation import Simulation
    from uesim.experiments.workloads.estimate import estimate_workload
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gpus", type=int, nargs="+", default=[8, 16, 32, 64, 128])
    p.add_argument("--sizes", nargs="+", default=["1M", "16M", "256M"])
    p.add_argument("--op", default="all_reduce")
    p.add_argument("--algo", default="ring")
    p.add_argument("--json", action="store_true")
    p.add_argument("--reference", metavar="CASE", help="also run this htsim_scale case (perm1024, permN) "
                   "and print each row's events per CPU second over its")
    args = p.parse_args(argv)
    from uesim.experiments.presets import preset
    rows = []
    if not args.json:
        print(f"{'gpus':>5} {'bytes':>10} {'time_us':>10} {'ideal_us':>10} "
              f"{'stall%':>7} {'busbw':>7} {'events':>11} {'cpu_s':>7} {'Mev/cpu_s':>9} "
              f"{'rss_mb':>7} {'est_x':>5} {'est_mem_x':>9}  checks; topology")
    p = preset("uet")
    for n in args.gpus:
        topo = topology_for(n)
        for s in args.sizes:
            size = parse_size(s, "--sizes")
            t0, c0 = time.perf_counter(), time.process_time()
            sim = Simulation(topo, transport=p["transport"], fabric=p["fabric"])
            est = {}
            r = run_collective(args.op, size, sim=sim, n_ranks=n, algo=args.algo,
                               on_built=lambda sim, w: est.update(estimate_workload(sim, w)))
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            events = sim.built.sim.events
            row = {**r.row(), "topology": topo, "wall_s": round(wall, 3), "cpu_s": round(cpu, 3),
                   "events": events, "events_per_cpu_s": round(events / cpu) if cpu else None,
                   "flows": int((r.run.flow_id >= 0).sum()),
                   "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                   "estimated_events": est["events"], "estimated_peak_mb": round(est["peak_bytes"] / 2**20, 1)}
            row["estimate_events_x"] = round(est["events"] / events, 2) if events else None
            row["estimate_peak_x"] = round(row["estimated_peak_mb"] / row["peak_rss_mb"], 2)
            rows.append(row)
            if args.json:
                print(json.dumps(row))
            else:
                print(f"{n:>5} {size:>10} "
                      f"{row['time_us']:>10.1f} {row['ideal_us']:>10.1f} {row['stall_pct']:>7.2f} "
                      f"{row['busbw_gbps']:>7.2f} {events:>11,} {cpu:>7.1f} {events / cpu / 1e6:>9.2f} "
                      f"{row['peak_rss_mb']:>7.0f} {row['estimate_events_x']:>5.2f} {row['estimate_peak_x']:>9.2f}  "
                      f"{row['warnings'] or 'ok'}; {topo}", flush=True)
    if args.reference:
        reference(args.reference, rows, args.json)
    return 0


def reference(case: str, rows: list, as_json: bool) -> dict:
    """Run htsim_scale's ``case`` once and compare every row's events per CPU second."""
    import sys
    import tempfile
    from pathlib import Path
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import htsim_scale
    with tempfile.TemporaryDirectory() as tmp:
        r = htsim_scale.run_once(htsim_scale.case_file(case, Path(tmp), 1), 1800.0)
    ratios = [round(row["events_per_cpu_s"] / r["events_per_cpu_s"], 3) for row in rows]
    out = {"reference": case, **r, "rows_over_reference": ratios}
    if as_json:
        print(json.dumps(out))
    else:
        print(f"# reference {case}: {r['events']:,} events, {r['events_per_cpu_s'] / 1e6:.2f} M per CPU s "
              f"(process), {r['events_per_s'] / 1e6:.2f} M per s (simulation phase); rows' events per "
              f"CPU s over its: {', '.join(f'{x:.2f}' for x in ratios)}", flush=True)
    return out


if __name__ == "__main__":
    raise SystemExit(main())
