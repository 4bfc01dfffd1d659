"""What the UET data path costs in events: per data packet, with and without trimming.

Runs htsim's 128-host permutation (2 MB per flow, k=8 fat tree, 100 Gb/s, 1 us links,
NSCC, oblivious spraying over 128 entropies) three ways and prints the engine's events
per data packet sent, split by kind (arrivals at the end of a wire, end-of-service events
of ports where packets wait, host NIC pulls, transport timers):

* ``fifo``: every port on the one-event-per-hop FIFO fast path (no header priority, no
  trimming; buffers of 10 BDP so nothing drops);
* ``priority``: ports serve headers (ACKs, NACKs) first, which needs an end-of-service
  event whenever packets wait; no trimming;
* ``trimming``: as htsim: 1 BDP buffers, trimming, headers first.

Run:  python benchmarks/uet_events.py [--json] [--cm FILE --k K]
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REF = Path(__file__).resolve().parents[1] / "benchmarks" / "reference" / "htsim"
ECN = {"kmin_bytes": 37350, "kmax_bytes": 145250, "pmax": 1.0}
VARIANTS = {
    "fifo": {"buffer_bdp": 10.0, "ecn": {**ECN, "at_dequeue": False}},
    "priority": {"buffer_bdp": 10.0, "dequeue_path": True, "ecn": {**ECN, "at_dequeue": True}},
    "trimming": {"buffer_bdp": 1.0, "trimming": True, "trim_tail_prob": 0.5,
                 "ecn": {**ECN, "at_dequeue": True}},
}


def measure(cm: Path, k: int, fabric: dict) -> dict:
    from uesim.experiments import check_scenario, run_scenario
    res = run_scenario(check_scenario({
        "seed": 1, "topology": {"generator": "fat_tree", "k": k}, "fabric": fabric,
        "transport": {"name": "uet", "mtu_bytes": 4150, "cc": {"name": "nscc"},
                      "lb": {"name": "oblivious", "n_paths": 128}},
        "traffic": {"pattern": "cm", "file": str(cm)}}))
    s = res.stats
    data = s["packets_new"] + s["packets_rtx"]
    net = s["network_events"]
    other = s["events"] - sum(net.values())
    per = lambda x: round(x / data, 3)  # noqa: E731
    return {"data_packets": data, "events": s["events"], "events_per_data_packet": per(s["events"]),
            "arrivals": per(net["arrive"]), "end_of_service": per(net["tx_done"]),
            "nic_pulls": per(net["nic_pull"]), "transport": per(other),
            "trims": s["packets_trimmed"], "last_fct_us": round(float(res.flow_columns()["fct_us"].max()), 3),
            "wall_s": s["wall_s"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cm", type=Path, default=REF / "perm_128n_128c_2MB.cm")
    ap.add_argument("--k", type=int, default=8)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    out = {name: measure(args.cm, args.k, fabric) for name, fabric in VARIANTS.items()}
    if args.json:
        print(json.dumps(out))
        return 0
    print(f"{args.cm.name}, k={args.k}: engine events per data packet sent")
    print(f"{'':10s} {'total':>7s} {'arrive':>7s} {'service':>8s} {'nic':>6s} {'flows':>6s} "
          f"{'trims':>6s} {'last us':>8s} {'wall s':>7s}")
    for name, r in out.items():
        print(f"{name:10s} {r['events_per_data_packet']:7.3f} {r['arrivals']:7.3f} "
              f"{r['end_of_service']:8.3f} {r['nic_pulls']:6.3f} {r['transport']:6.3f} "
              f"{r['trims']:6d} {r['last_fct_us']:8.2f} {r['wall_s']:7.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
