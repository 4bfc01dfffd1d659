"""Up-front estimate of a workload run: events and peak memory, before it starts.

A packet-level run's events are, to first order, one service end and one arrival per
link each packet (data or acknowledgement) crosses; its memory is the network (graph,
ports, forwarding tables), the DAG and its ideal's schedules (per node), the flows in
flight (at most the DAG's widest level) and one result row per finished flow. The
coefficients below were fitted to measured runs of ring all-reduces, all-to-alls and
training steps (UET and RoCE presets, 16 to 1,024 GPUs: within 0.8-1.3x of the events
and 0.9-1.8x of the peak RSS; ``benchmarks/collective_bench.py`` and
``benchmarks/train_bench.py`` print estimate and measurement side by side), and the
tests hold the estimate within 2x of the measured events and peak RSS.

Examples
--------
>>> from uesim.experiments import Simulation
>>> from uesim.experiments.collectives.algorithms import compile_collective
>>> sim = Simulation("fat_tree:k=4")
>>> w = compile_collective("all_reduce", list(range(16)), 1 << 20).workload
>>> est = estimate_workload(sim, w)
>>> est["flows"], est["in_flight"]          # 2 x 15 steps of 16 messages; one per rank at once
(480, 16)
>>> est["events"] > 2 * est["packets"]     # each packet crosses two links or more
True
"""
from __future__ import annotations

import numpy as np

from uesim.experiments.limits import _gb, estimate_memory, machine_memory_bytes

#: events per packet per link crossed (a service end and an arrival, and what the
#: transport schedules around them), fitted on measured runs
EVENTS_PER_PACKET_LINK = 1.8
#: events per flow beyond its packets (start, completion, its timers)
EVENTS_PER_FLOW = 12
#: bytes: the interpreter with numpy, networkx and the compiled core loaded
BASE_BYTES = 55_000_000
#: bytes per DAG node: the workload's lists, the walker's arrays, the ideal's schedules
NODE_BYTES = 300
#: bytes per flow in flight (transport, CC and load-balancer state and its packets)
FLOW_IN_FLIGHT_BYTES = 1_700
#: bytes per finished flow (its result row)
FLOW_RESULT_BYTES = 120


def estimate_workload(sim, workload) -> dict:
    """Events and peak memory of running ``workload`` (a DAG) in ``sim``.

    Parameters
    ----------
    sim : Simulation
        The fabric and transport it will run on.
    workload : Workload
        The DAG (collectives, training steps).

    Returns
    -------
    dict
        ``events``, ``peak_bytes`` (with its parts ``network_bytes``, ``dag_bytes``,
        ``flows_bytes``), ``flows`` (messages with bytes), ``packets`` (data and
        acknowledgements) and ``in_flight`` (the widest DAG level, a bound on the
        messages in flight at once).
    """
    from uesim.experiments.collectives.model import path_model
    from uesim.fabric.fluid import widest_level
    a = workload.arrays()
    kind = a["kind"]
    tr = sim.sc["transport"]
    pm = path_model(sim)
    msg, uniq, _, inverse = workload.distinct_messages()
    packet_links = 0
    packets = 0
    if len(msg):
        count = np.bincount(inverse, minlength=len(uniq))
        s, d, m = uniq[:, 0], uniq[:, 1], uniq[:, 2]
        if pm.hybrid:               # the fabric is chosen per pair
            paths = [pm._path(a, b, pm.fabric_of(a, b)) for a, b in zip(s.tolist(), d.tolist())]
            links = np.array([1 + len(p[1]) if p is not None else 1 for p in paths], dtype=np.int64)
        else:
            links = np.maximum(1, pm.links_many(s, d))
        data = np.maximum(1, -(-m // pm.payload))
        if tr["name"] == "uet" and tr.get("ack_every_bytes"):
            acks = -(-m // int(tr["ack_every_bytes"]))
        else:
            acks = -(-data // max(1, int(tr.get("ack_every_packets", 1))))
        packets = int((count * (data + acks)).sum())
        packet_links = int((count * (data + acks) * links).sum())
    n_flows = len(msg)
    in_flight = widest_level(a["succ_ptr"], a["succ"], kind) if len(kind) else 0
    net = estimate_memory({**sim.sc, "traffic": {"pattern": "explicit", "flows": []}}, G=sim.graph)
    network = net["graph_bytes"] + net["ports_bytes"] + net["forwarding_bytes"]
    dag = len(kind) * NODE_BYTES
    flows = min(in_flight, n_flows) * FLOW_IN_FLIGHT_BYTES + n_flows * FLOW_RESULT_BYTES
    return {"events": int(EVENTS_PER_PACKET_LINK * packet_links + EVENTS_PER_FLOW * n_flows),
            "peak_bytes": int(BASE_BYTES + network + dag + flows), "network_bytes": int(network),
            "dag_bytes": int(dag), "flows_bytes": int(flows), "flows": n_flows, "packets": int(packets),
            "in_flight": int(in_flight)}


def check_fits(est: dict, *, force: bool = False, available: int | None = None, what: str = "run") -> str:
    """One line describing ``est``; raise ``ValueError`` naming ``--force`` if its peak
    memory exceeds what this machine has available (unless ``force``).

    >>> check_fits({"events": 2_000_000, "peak_bytes": 10**9, "flows": 10}, available=2 * 10**9)
    'estimate: 2.0 M events, 1.0 GB peak memory (2.0 GB available), 10 flows'
    """
    avail = machine_memory_bytes() if available is None else available
    line = (f"estimate: {est['events'] / 1e6:,.1f} M events, {_gb(est['peak_bytes'])} peak memory "
            f"({_gb(avail)} available), {est['flows']:,} flows")
    if est["peak_bytes"] > avail and not force:
        raise ValueError(f"{what} refused: {line}; --force runs it anyway")
    return line
