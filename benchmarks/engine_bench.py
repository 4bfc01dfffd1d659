"""Engine benchmark: packet-hops per second of the compiled data plane.

64 hosts on a leaf-spine of 8 leaves x 4 spines (8 hosts per leaf), 100 Gb/s links,
1 us propagation, 4096 B packets (on the wire), big buffers; every host sends 1 MiB to
a seeded permutation destination with a fixed 64 KiB window, one 64 B ACK per packet,
sprayed per packet (oblivious: round-robin over a per-flow permutation of 256 entropy
values, hashed with the flow at each switch).  A packet-hop is one packet (data or ACK)
crossing one link.

Run:  python benchmarks/engine_bench.py [--repeat 5] [--size-bytes N] [--json]
The figures are the median over the repeats (each a fresh network); the simulation
phase alone is timed (building the network is reported separately).
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import time


def one_run(size_bytes: int, seed: int) -> dict:
    from uesim.fabric import FabricConfig
    from uesim.protocols import CongestionControl, ObliviousSpray, WindowFlow
    from uesim.experiments.run import derive_seed
    from uesim.experiments.simulation import Simulation
    from uesim.experiments.traffic import permutation
    from uesim.topologies import leaf_spine

    t0 = time.perf_counter()
    G = leaf_spine(8, 4, 8, host_rate_bps=100_000_000_000, fabric_rate_bps=100_000_000_000,
                   delay_ps=1_000_000)
    sim = Simulation(G, seed=seed, fabric_config=FabricConfig(buffer_bytes=1 << 30, seed=seed))
    flows = []
    for f in permutation(sim.n_hosts, size_bytes, seed=seed):
        flow = WindowFlow(f["id"], f["src"], f["dst"], f["size_bytes"], 0,
                          CongestionControl(65536, 4096),
                          ObliviousSpray(derive_seed(seed, f["id"]), 256),
                          mtu_bytes=4096, header_bytes=64, ack_bytes=64)
        flows.append(sim.attach(flow, base_rtt_ps=0, trimming=False))
    t1 = time.perf_counter()
    sim.run()
    t2 = time.perf_counter()
    built = sim.built
    assert all(f.finished for f in flows), "a flow did not finish"
    wall = t2 - t1
    return {"wall_s": wall, "build_s": t1 - t0, "events": built.sim.events,
            "packet_hops": built.net.packet_hops,
            "last_fct_us": max(f.fct_ps for f in flows) / 1e6}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--size-bytes", type=int, default=1 << 20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    one_run(args.size_bytes, args.seed)            # warm-up: imports, page faults
    runs = [one_run(args.size_bytes, args.seed) for _ in range(args.repeat)]
    wall = statistics.median(r["wall_s"] for r in runs)
    first = runs[0]
    assert all(r["events"] == first["events"] and r["last_fct_us"] == first["last_fct_us"]
               for r in runs), "runs with the same seed differ"
    out = {
        "benchmark": "engine_bench",
        "hosts": 64, "size_bytes": args.size_bytes, "repeat": args.repeat,
        "wall_s": round(wall, 6),
        "wall_s_min": round(min(r["wall_s"] for r in runs), 6),
        "build_s": round(statistics.median(r["build_s"] for r in runs), 6),
        "events": first["events"],
        "packet_hops": first["packet_hops"],
        "events_per_s": round(first["events"] / wall),
        "packet_hops_per_s": round(first["packet_hops"] / wall),
        "last_fct_us": first["last_fct_us"],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    if args.json:
        print(json.dumps(out))
    else:
        print(f"{out['events']:,} events, {out['packet_hops']:,} packet-hops in {wall * 1e3:.2f} ms "
              f"(median of {args.repeat}; build {out['build_s'] * 1e3:.1f} ms)")
        print(f"{out['packet_hops_per_s'] / 1e6:.2f} M packet-hops/s, "
              f"{out['events_per_s'] / 1e6:.2f} M events/s, peak RSS {out['peak_rss_mb']} MB, "
              f"last FCT {out['last_fct_us']:.3f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
