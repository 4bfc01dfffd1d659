"""Run a checked scenario: topology -> network -> flows -> events -> results."""
from __future__ import annotations

import time
from pathlib import Path

import networkx as nx

from uesim.experiments.results import RunResult
from uesim.experiments.schema import ScenarioError
from uesim.experiments import traffic as patterns

MASK64 = (1 << 64) - 1


def derive_seed(seed: int, *parts: int) -> int:
    """A 63-bit seed for one random stream (a flow's load balancer, say) from the
    scenario seed: splitmix64 over the parts, so streams are independent and stable."""
    x = seed & MASK64
    for part in parts:
        x = (x + 0x9E3779B97F4A7C15 + (part & MASK64)) & MASK64
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
        x ^= x >> 31
    return x >> 1


def build_topology(topo: dict) -> nx.Graph:
    """The graph a scenario's ``[topology]`` table describes, validated."""
    from uesim.topologies import GENERATORS, TopologyError, read_graphml, read_json, validate_topology
    try:
        if "file" in topo:
            path = Path(topo["file"])
            if not path.exists():
                raise ScenarioError(f"topology.file = {str(path)!r}: file not found")
            reader = {".graphml": read_graphml, ".json": read_json}.get(path.suffix.lower())
            if reader is None:
                raise ScenarioError(f"topology.file = {str(path)!r}: must end in .graphml or .json")
            G = reader(path)
        else:
            params = {k: v for k, v in topo.items() if k != "generator"}
            G = GENERATORS[topo["generator"]](**params)
        validate_topology(G)
    except (TopologyError, ValueError, TypeError) as exc:
        if isinstance(exc, ScenarioError):
            raise
        raise ScenarioError(f"topology: {exc}") from None
    return G


def make_flows(sc: dict, n_hosts: int) -> list[dict]:
    """The scenario's flows (host indices, bytes, picoseconds)."""
    t = sc["traffic"]
    pattern = t["pattern"]
    if pattern == "permutation":
        return patterns.permutation(n_hosts, t["size_bytes"], seed=derive_seed(sc["seed"], 1),
                                    start_ps=t["start_ps"])
    if pattern == "incast":
        return patterns.incast(n_hosts, t["size_bytes"], receiver=t["receiver"],
                               senders=t.get("senders"), n_senders=t.get("n_senders"),
                               start_ps=t["start_ps"])
    if pattern == "explicit":
        return patterns.explicit(n_hosts, t["flows"])
    return patterns.read_cm(t["file"], n_hosts)


def _fabric_config(sc: dict):
    from uesim.fabric import FabricConfig
    f = sc["fabric"]
    ecn = f.get("ecn") or {}
    return FabricConfig(
        buffer_bytes=f["buffer_bytes"], nic_buffer_bytes=f["nic_buffer_bytes"],
        ecn_kmin_bytes=ecn.get("kmin_bytes"), ecn_kmax_bytes=ecn.get("kmax_bytes"),
        ecn_pmax=ecn.get("pmax"), ecn_at_dequeue=ecn.get("at_dequeue", False),
        dequeue_path=f["dequeue_path"], switch_latency_ps=f["switch_latency_ps"],
        seed=derive_seed(sc["seed"], 2))


def make_transport_flows(sc: dict, flows: list[dict], net) -> list:
    """Create and attach one transport flow object per flow."""
    from uesim.protocols import CC_REGISTRY, LB_REGISTRY, TRANSPORT_REGISTRY
    tr = sc["transport"]
    flow_cls = TRANSPORT_REGISTRY[tr["name"]]
    cc_cls, lb_cls = CC_REGISTRY[tr["cc"]["name"]], LB_REGISTRY[tr["lb"]["name"]]
    cc_params = {k: v for k, v in tr["cc"].items() if k != "name"}
    lb_params = {k: v for k, v in tr["lb"].items() if k != "name"}
    extra = {"rate_bps": tr["rate_bps"]} if "rate_bps" in tr else {}
    objs = []
    for f in flows:
        try:
            cc = cc_cls(mtu_bytes=tr["mtu_bytes"], **cc_params)
            lb = lb_cls(seed=derive_seed(sc["seed"], 3, f["id"]), **lb_params)
            obj = flow_cls(f["id"], f["src"], f["dst"], f["size_bytes"], f["start_ps"], cc, lb,
                           mtu_bytes=tr["mtu_bytes"], header_bytes=tr["header_bytes"],
                           ack_bytes=tr["ack_bytes"], rto_ps=tr["rto_ps"], **extra)
            obj.attach(net)
        except (TypeError, ValueError) as exc:
            raise ScenarioError(f"transport: flow {f['id']}: {exc}") from None
        objs.append(obj)
    return objs


def run_scenario(sc: dict, progress=None) -> RunResult:
    """Run a checked scenario (see :func:`~uesim.experiments.scenario.load_scenario`).

    Parameters
    ----------
    sc : dict
        A resolved scenario.
    progress : callable, optional
        ``progress(now_ps, events)``, called about every million events.

    Returns
    -------
    RunResult

    Examples
    --------
    >>> from uesim.experiments import check_scenario, run_scenario
    >>> sc = check_scenario({
    ...     "topology": {"generator": "leaf_spine", "n_leaves": 2, "n_spines": 2, "hosts_per_leaf": 2},
    ...     "traffic": {"pattern": "permutation", "size_bytes": 100_000}, "seed": 1})
    >>> res = run_scenario(sc)
    >>> len(res.flows), bool(res.flows["finished"].all())
    (4, True)
    """
    import pandas as pd
    from uesim.fabric import build_network
    from uesim.fabric.units import ps_to_us

    t0 = time.perf_counter()
    G = build_topology(sc["topology"])
    built = build_network(G, config=_fabric_config(sc))
    flows = make_flows(sc, built.n_hosts)
    objs = make_transport_flows(sc, flows, built.net)
    t1 = time.perf_counter()
    built.sim.run(until_ps=sc["run"].get("until_ps"), progress=progress)
    t2 = time.perf_counter()

    rows = []
    for o in objs:
        rows.append({
            "flow_id": o.flow_id, "src": o.src, "dst": o.dst, "size_bytes": o.size_bytes,
            "start_ps": o.start_ps, "end_ps": o.end_ps if o.finished else None,
            "fct_us": ps_to_us(o.end_ps - o.start_ps) if o.finished else float("nan"),
            "rx_done_ps": o.rx_done_ps if o.rx_done_ps >= 0 else None,
            "finished": bool(o.finished), "packets_sent": o.sent_packets,
            "retransmits": o.retx_packets, "timeouts": o.timeouts, "ecn_echoes": o.ecn_echoes,
        })
    flows_df = pd.DataFrame(rows)
    for col in ("end_ps", "rx_done_ps"):
        flows_df[col] = flows_df[col].astype("Int64")
    counters = built.net.port_counters()
    ports_df = pd.DataFrame({
        "port": range(built.net.n_ports),
        "node": [u for u, _, _ in built.port_link],
        "peer": [v for _, v, _ in built.port_link],
        "link": [k for _, _, k in built.port_link],
        "fabric": [G.edges[u, v].get("fabric", "scale_out") for u, v, _ in built.port_link],
        "rate_gbps": counters["rate_bps"] / 1e9,
        **{k: counters[k] for k in ("tx_packets", "tx_bytes", "drops", "drop_bytes", "ecn_marks",
                                    "max_queue_bytes")},
    })
    stats = {
        "events": built.sim.events, "packet_hops": built.net.packet_hops,
        "packets_sent": built.net.sent, "packets_dropped": built.net.dropped,
        "packets_delivered": built.net.delivered, "packets_in_flight": built.net.live_packets,
        "unroutable": built.net.unroutable, "sim_time_us": ps_to_us(built.sim.now),
        "build_s": round(t1 - t0, 4), "wall_s": round(t2 - t1, 4),
    }
    return RunResult(flows=flows_df, ports=ports_df, config=sc, stats=stats)
