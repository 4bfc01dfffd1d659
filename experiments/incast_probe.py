"""Watch an incast over time: per-flow delivered bytes and the bottleneck queue.

Used by ``benchmarks/dcqcn_fairness.py`` and its tests to judge a congestion control on
the quantities that define it: does it share the bottleneck fairly (Jain's index of the
flows' throughput over a window after convergence) and how long is the bottleneck queue
then.  The run is a scenario (any transport) whose traffic is an incast; the simulator is
stopped every ``sample_ps`` to read the queue of the receiver's downlink and each flow's
acknowledged bytes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def jain_index(x) -> float:
    """Jain's fairness index ``(sum x)^2 / (n sum x^2)``: 1 when all equal, 1/n when one
    takes all.

    Examples
    --------
    >>> jain_index([5, 5, 5, 5]), jain_index([1, 0, 0, 0])
    (1.0, 0.25)
    """
    x = np.asarray(x, dtype=float)
    if len(x) == 0 or not np.any(x):
        raise ValueError("jain_index needs at least one nonzero value")
    return float(x.sum() ** 2 / (len(x) * (x ** 2).sum()))


@dataclass
class IncastTrace:
    """Samples of an incast run.

    Attributes
    ----------
    t_ps : ndarray
        Sample times.
    acked_bytes : ndarray, shape (samples, flows)
        Payload bytes each flow's sender had acknowledged at each sample.
    queue_bytes : ndarray
        Bytes queued at the bottleneck (the receiver's downlink) at each sample.
    flows : list
        The transport flow objects (counters, rate traces).
    result_stats : dict
        ``max_queue_bytes`` of the bottleneck and the end time.
    """

    t_ps: np.ndarray
    acked_bytes: np.ndarray
    queue_bytes: np.ndarray
    flows: list
    result_stats: dict

    def window(self, start_ps: int, end_ps: int):
        """Per-flow throughput (bit/s) and the queue samples between two times."""
        i = int(np.searchsorted(self.t_ps, start_ps))
        j = int(np.searchsorted(self.t_ps, end_ps, side="right")) - 1
        if j <= i:
            raise ValueError(f"no two samples between {start_ps} and {end_ps} ps")
        dt = (self.t_ps[j] - self.t_ps[i]) / 1e12
        thr = (self.acked_bytes[j] - self.acked_bytes[i]) * 8 / dt
        return thr, self.queue_bytes[i:j + 1]

    def steady(self, skip_fraction: float = 0.5):
        """Jain's index, mean throughput (bit/s) and queue percentiles over the steady
        state: from ``skip_fraction`` of the time every flow was still running to its end."""
        fin = [f.end_ps for f in self.flows if f.finished]
        first_end = min(fin) if len(fin) == len(self.flows) else int(self.t_ps[-1])
        start = int(first_end * skip_fraction)
        thr, q = self.window(start, first_end)
        return {"window_us": (start / 1e6, first_end / 1e6), "jain": jain_index(thr),
                "throughput_gbps": (thr / 1e9).round(3).tolist(),
                "total_gbps": round(float(thr.sum() / 1e9), 3),
                "queue_mean_bytes": float(q.mean()), "queue_p99_bytes": float(np.percentile(q, 99)),
                "queue_max_bytes": int(q.max())}


def run_incast(sc: dict, sample_ps: int = 1_000_000, until_ps: int | None = None) -> IncastTrace:
    """Run a checked incast scenario, sampling every ``sample_ps``.

    Parameters
    ----------
    sc : dict
        A checked scenario (:func:`~uesim.experiments.scenario.check_scenario`) with
        ``traffic.pattern = "incast"``.
    sample_ps : int
        Sampling period.
    until_ps : int, optional
        Stop then (default: when every flow has finished).
    """
    from uesim.fabric import build_network
    from uesim.experiments.run import (_fabric_config, build_topology, make_transport_flows,
                                       make_workload, network_sizing)
    if sc["traffic"]["pattern"] != "incast":
        raise ValueError(f"traffic.pattern = {sc['traffic']['pattern']!r}: run_incast needs 'incast'")
    if sample_ps <= 0:
        raise ValueError(f"sample_ps must be > 0, got {sample_ps}")
    G = build_topology(sc["topology"])
    base_rtt, _, buffer_bytes = network_sizing(sc, G)
    built = build_network(G, config=_fabric_config(sc, buffer_bytes))
    flows, _ = make_workload(sc, built.n_hosts)
    objs = make_transport_flows(sc, flows, built.net, base_rtt_ps=base_rtt)
    rx = built.host_names[sc["traffic"]["receiver"]]
    ports = [p for p, (a, b, _) in enumerate(built.port_link) if b == rx]
    if len(ports) != 1:
        raise ValueError(f"receiver {rx!r} has {len(ports)} downlinks; run_incast needs one")
    port = ports[0]
    mss = np.array([o.mtu_bytes - o.header_bytes for o in objs])
    size = np.array([o.size_bytes for o in objs])
    ts, acked, queue = [], [], []
    t = 0
    while True:
        built.sim.run(until_ps=t)
        ts.append(t)
        cum = np.array([o.cum_ack for o in objs])
        acked.append(np.minimum(cum * mss, size))
        queue.append(built.net.queue_bytes(port))
        if all(o.finished or getattr(o, "aborted", False) for o in objs):
            break
        if until_ps is not None and t >= until_ps:
            break
        t += sample_ps
    stats = {"max_queue_bytes": int(built.net.port_counters()["max_queue_bytes"][port]),
             "end_ps": t}
    return IncastTrace(np.array(ts), np.array(acked), np.array(queue), objs, stats)


def incast_scenario(n_senders: int, size_bytes: int, cc: dict | None = None, *,
                    transport: str = "roce", ecn=(100_000, 400_000, 0.2), rate_bps: int = 100_000_000_000,
                    delay_ps: int = 1_000_000, mtu_bytes: int = 4160, seed: int = 1,
                    **transport_keys) -> dict:
    """A checked ``n_senders``:1 incast on one switch (all links ``rate_bps``, ``delay_ps``),
    large buffers, ECN RED marking ``ecn = (kmin_bytes, kmax_bytes, pmax)`` (None: off).

    Examples
    --------
    >>> sc = incast_scenario(2, 1_000_000, {"name": "dcqcn", "params": "paper"})
    >>> sc["transport"]["name"], sc["transport"]["cc"]["name"], sc["fabric"]["ecn"]["kmax_bytes"]
    ('roce', 'dcqcn', 400000)
    """
    from uesim.experiments.scenario import check_scenario
    tr = {"name": transport, "mtu_bytes": mtu_bytes, **transport_keys}
    if cc is not None:
        tr["cc"] = cc
    raw = {"topology": {"generator": "leaf_spine", "n_leaves": 1, "n_spines": 1,
                        "hosts_per_leaf": n_senders + 1, "host_rate_bps": rate_bps,
                        "fabric_rate_bps": rate_bps, "delay_ps": delay_ps},
           "fabric": {"buffer_bytes": 1 << 30},
           "transport": tr,
           "traffic": {"pattern": "incast", "size_bytes": size_bytes, "receiver": 0,
                       "n_senders": n_senders},
           "seed": seed}
    if ecn is not None:
        raw["fabric"]["ecn"] = {"kmin_bytes": ecn[0], "kmax_bytes": ecn[1], "pmax": ecn[2]}
    return check_scenario(raw)
