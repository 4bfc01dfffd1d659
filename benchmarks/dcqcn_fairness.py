"""DCQCN fairness and queue on incasts: RoCE RC + DCQCN (both parameter sets) against no
congestion control and UET NSCC, on one 100 Gb/s switch with RED ECN (Kmin 100 KB, Kmax
400 KB, Pmax 0.2), large buffers, 1 us links.

For each run it prints, over the steady state (the second half of the time every flow is
running): Jain's fairness index of the flows' throughput, their total, the bottleneck
queue (mean, p99, max in the window) and the run's peak queue.

    python benchmarks/dcqcn_fairness.py            # about 3 s
"""
from __future__ import annotations

import time

from uesim.experiments.incast_probe import incast_scenario, run_incast

PAPER = {"name": "dcqcn", "params": "paper"}
NIC = {"name": "dcqcn", "params": "nic"}
RUNS = [
    # (label, senders, bytes per flow, cc, transport keys)
    ("dcqcn paper, CNP/50us", 2, 150_000_000, PAPER, {}),
    ("dcqcn nic,   CNP/4us ", 2, 60_000_000, NIC, {"cnp_interval_ps": 4_000_000}),
    ("no CC                ", 2, 60_000_000, {"name": "none"}, {}),
    ("dcqcn paper, CNP/50us", 8, 60_000_000, PAPER, {}),
    ("dcqcn nic,   CNP/4us ", 8, 30_000_000, NIC, {"cnp_interval_ps": 4_000_000}),
    ("no CC                ", 8, 30_000_000, {"name": "none"}, {}),
    ("uet nscc (ecmp)      ", 8, 30_000_000, {"name": "nscc"}, {"transport": "uet", "lb": {"name": "ecmp"}}),
]


def main():
    print(f"{'run':24s} {'n:1':>4s} {'MB':>5s} {'window us':>17s} {'jain':>6s} {'Gb/s':>6s} "
          f"{'q mean KB':>10s} {'q p99 KB':>9s} {'q peak KB':>10s} {'CNPs':>6s} {'wall s':>6s}")
    for label, n, size, cc, keys in RUNS:
        t0 = time.perf_counter()
        tr = run_incast(incast_scenario(n, size, cc, **keys), sample_ps=2_000_000)
        wall = time.perf_counter() - t0
        st = tr.steady()
        cnps = sum(getattr(f, "cnps_sent", 0) for f in tr.flows)
        print(f"{label:24s} {n:>4d} {size / 1e6:>5.0f} {st['window_us'][0]:>8.0f}-{st['window_us'][1]:<8.0f} "
              f"{st['jain']:>6.3f} {st['total_gbps']:>6.1f} {st['queue_mean_bytes'] / 1e3:>10.1f} "
              f"{st['queue_p99_bytes'] / 1e3:>9.1f} {tr.result_stats['max_queue_bytes'] / 1e3:>10.1f} "
              f"{cnps:>6d} {wall:>6.2f}")


if __name__ == "__main__":
    main()
