"""Cross-check uesim against ns-3: the same topology and paced UDP traffic in both.

``uesim crosscheck ns3 SCENARIO [--json]`` runs a scenario file in uesim (with the
:class:`~uesim.protocols.PacedFlow` transport) and in ns-3 (``experiments/ns3``), with
the same graph, the same flows, the same bytes on the wire and the same send times,
and compares per-flow completion times and the maximum depth of every queue.

The scenario is an ordinary scenario file (``topology``, ``fabric``, ``traffic``,
``seed``; ``transport`` is only read for ``mtu_bytes``/``header_bytes`` and the load
balancer) plus an optional ``[crosscheck]`` table:

``rate_bps``
    Pacing rate of every flow (wire bytes per second); default: the rate of the
    source host's link.
``payload_bytes``
    UDP payload per packet; default ``transport.mtu_bytes - transport.header_bytes``,
    at most 1472 (ns-3's point-to-point MTU is 1500 bytes of IPv4; larger datagrams
    would be fragmented).
``queue_packets``
    ns-3 drop-tail limit of every device queue, in packets (default 100000).
``timeout_s``
    Wall-clock limit of the ns-3 run (default 600).

Both simulators put ``payload + 30`` bytes on the wire per packet (UDP 8 + IPv4 20 +
PPP 2: uesim's ``header_bytes`` is set to ns-3's), and send packet k of a flow at
``start + floor(8 * W_k * 10**12 / rate_bps)`` ps, W_k the wire bytes of packets
0..k-1.  See ``docs/crosscheck.md`` for the systematic differences and the numbers.
"""
from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

from uesim.experiments.schema import Field, ScenarioError, check_table

#: ns-3's point-to-point MTU (1500 B of IPv4) minus IPv4 20 and UDP 8.
MAX_PAYLOAD_BYTES = 1472

CROSSCHECK = {
    "rate_bps": Field(int, minimum=1),
    "payload_bytes": Field(int, minimum=1, maximum=MAX_PAYLOAD_BYTES),
    "queue_packets": Field(int, default=100_000, minimum=1),
    "timeout_s": Field(float, default=600.0, minimum=1.0),
}

INSTALL_HINT = ("ns-3 not installed: pip install 'uesim[ns3]' (the ns3 wheel from PyPI, "
                "about 500 MB; needs g++ at run time)")


def load_crosscheck(path: str | Path) -> tuple[dict, dict]:
    """Read a cross-check scenario: ``(scenario, crosscheck options)``, both checked."""
    from uesim.experiments.scenario import check_scenario, read_toml, resolve_paths
    raw = read_toml(path)
    cross = check_table("crosscheck", raw.pop("crosscheck", {}), CROSSCHECK)
    return resolve_paths(check_scenario(raw), path), cross


def _host_rates(G) -> list[int]:
    """Per host index (``kind == "gpu"`` in node order): the slowest rate of its links."""
    hosts = [n for n, k in G.nodes(data="kind") if k == "gpu"]
    return [min(int(d["rate_bps"]) for _, _, d in G.edges(h, data=True)) for h in hosts]


def _payload(sc: dict, cross: dict) -> int:
    if "payload_bytes" in cross:
        return cross["payload_bytes"]
    tr = sc["transport"]
    payload = tr["mtu_bytes"] - tr["header_bytes"]
    if payload > MAX_PAYLOAD_BYTES:
        raise ScenarioError(
            f"transport payload {payload} B (mtu_bytes - header_bytes) exceeds {MAX_PAYLOAD_BYTES} B, "
            f"the largest UDP payload ns-3's 1500 B point-to-point MTU carries unfragmented; "
            f"set crosscheck.payload_bytes")
    return payload


def run_uesim(sc: dict, G, flows: list[dict], *, payload_bytes: int, header_bytes: int) -> dict:
    """Run ``flows`` (each with ``rate_bps``) as :class:`PacedFlow` objects in uesim."""
    from uesim.experiments.run import derive_seed
    from uesim.experiments.simulation import Simulation
    from uesim.protocols import LB_REGISTRY, PacedFlow

    sim = Simulation.from_parts(sc, G, faults=False)   # ns-3 gets the same graph
    built = sim.built
    lb_table = sc["transport"]["lb"]
    lb_cls = LB_REGISTRY[lb_table["name"]]
    lb_params = {k: v for k, v in lb_table.items() if k != "name"}
    objs = []
    for f in flows:
        try:
            lb = lb_cls(seed=derive_seed(sc["seed"], 3, f["id"]), **lb_params)
        except (TypeError, ValueError) as exc:
            raise ScenarioError(f"transport.lb: {exc}") from None
        obj = PacedFlow(f["id"], f["src"], f["dst"], f["size_bytes"], f["start_ps"], None, lb,
                        mtu_bytes=payload_bytes + header_bytes, header_bytes=header_bytes,
                        rate_bps=f["rate_bps"])
        objs.append(sim.attach(obj, base_rtt_ps=0, trimming=False))
    sim.run()
    counters = built.net.port_counters()
    queues = {}
    for port, (u, v, link) in enumerate(built.port_link):
        queues[(u, v, link)] = (int(counters["max_queue_bytes"][port]), int(counters["tx_packets"][port]),
                                int(counters["drops"][port]))
    return {
        "flows": objs, "queues": queues, "events": int(built.sim.events),
        "packet_hops": int(built.net.packet_hops), "build_s": sim._build_s, "run_s": sim._run_s,
        "dropped": int(built.net.dropped), "host_names": list(built.host_names),
    }


def run_crosscheck(sc: dict, cross: dict | None = None) -> dict:
    """Run a checked scenario in uesim and ns-3 and compare; return the summary dict.

    The summary has ``flows`` (one dict per flow: ``id, src, dst, size_bytes,
    uesim_fct_ps, ns3_fct_ps, diff_ps, rel_diff``), ``max_rel_diff``,
    ``median_rel_diff``, queue comparisons (``max_queue_diff_packets``,
    ``bottleneck``), wall times and event counts of both simulators.

    Raises
    ------
    ScenarioError
        For scenarios the cross-check cannot reproduce in ns-3.
    RuntimeError
        If ns-3 is missing or its worker fails.
    """
    from uesim.experiments.ns3 import HEADER_BYTES, run_ns3
    from uesim.experiments.run import build_topology, make_flows

    cross = check_table("crosscheck", dict(cross or {}), CROSSCHECK)
    if sc["fabric"]["switch_latency_ps"]:
        raise ScenarioError("fabric.switch_latency_ps must be 0 for the ns-3 cross-check "
                            "(ns-3 switches forward in zero time)")
    payload = _payload(sc, cross)
    wire = payload + HEADER_BYTES
    G = build_topology(sc["topology"])
    host_rate = _host_rates(G)
    flows = make_flows(sc, len(host_rate))
    if not flows:
        raise ScenarioError("the scenario has no flows")
    for f in flows:
        f["rate_bps"] = cross.get("rate_bps", host_rate[f["src"]])

    ue = run_uesim(sc, G, flows, payload_bytes=payload, header_bytes=HEADER_BYTES)
    t0 = time.perf_counter()
    ns = run_ns3(G, flows, payload_bytes=payload, queue_packets=cross["queue_packets"],
                 timeout_s=cross["timeout_s"], seed=max(1, sc["seed"]))
    ns_total = time.perf_counter() - t0

    rows, rels = [], []
    ns_fct = dict(zip(ns.flows["id"], ns.flows["fct_ps"]))
    ns_lost = dict(zip(ns.flows["id"], ns.flows["lost_packets"]))
    for o in ue["flows"]:
        a = o.fct_ps
        b = ns_fct.get(o.flow_id)
        b = None if b is None or b != b or str(b) == "<NA>" else int(b)
        lost_ns = int(ns_lost.get(o.flow_id, 0) or 0)
        diff = rel = None
        if a is not None and b is not None and lost_ns == 0:
            diff = a - b
            rel = diff / b
            rels.append(abs(rel))
        rows.append({"id": o.flow_id, "src": o.src, "dst": o.dst, "size_bytes": o.size_bytes,
                     "rate_bps": o.rate_bps, "uesim_fct_ps": a, "ns3_fct_ps": b, "diff_ps": diff,
                     "rel_diff": rel, "uesim_lost": o.n_packets - o.rx_packets,
                     "ns3_lost": lost_ns})

    # queues.  uesim's max_queue_bytes counts the packet being serialised; ns-3's device
    # queue does not, but ns-3 samples its depth when a packet is enqueued, and a packet
    # arriving at an idle port (or at the instant a transmission ends) is enqueued before
    # it (or the next one) is dequeued, so it is counted at that instant.  Hence
    # uesim - ns-3 = 0 packets when the maximum occurs at such an instant (an idle port, or
    # a saturated one whose arrivals coincide with transmission ends) and 1 packet (the one
    # in service) when it occurs in the middle of a transmission.
    q = ns.queues
    qrows, worst, bottleneck = [], 0.0, None
    for node, nb, link, mp, mb, drops in zip(q["node"], q["neighbor"], q["link"], q["max_packets"],
                                             q["max_bytes"], q["drops"]):
        u = ue["queues"].get((node, nb, int(link)))
        if u is None:
            continue
        u_bytes, u_tx, u_drops = u
        if u_tx == 0 and int(mp) == 0:
            continue
        d = (u_bytes - int(mb)) / wire
        row = {"node": node, "neighbor": nb, "link": int(link),
               "uesim_max_bytes": u_bytes, "uesim_max_packets": u_bytes / wire,
               "ns3_max_packets": int(mp), "ns3_max_bytes": int(mb), "diff_packets": d,
               "uesim_drops": u_drops, "ns3_drops": int(drops)}
        qrows.append(row)
        worst = max(worst, abs(d))
        if bottleneck is None or int(mb) > bottleneck["ns3_max_bytes"]:
            bottleneck = row

    complete = all(r["rel_diff"] is not None for r in rows)
    return {
        "flows": rows,
        "n_flows": len(rows),
        "compared_flows": len(rels),
        "complete": complete,
        "max_rel_diff": max(rels) if rels else None,
        "median_rel_diff": statistics.median(rels) if rels else None,
        "max_abs_diff_ps": max((abs(r["diff_ps"]) for r in rows if r["diff_ps"] is not None), default=None),
        "payload_bytes": payload, "wire_bytes": wire, "header_bytes": HEADER_BYTES,
        "queues": qrows,
        "max_queue_diff_packets": worst,
        "bottleneck": bottleneck,
        "uesim_wall_s": ue["run_s"], "uesim_build_s": ue["build_s"], "uesim_events": ue["events"],
        "uesim_events_per_s": ue["events"] / ue["run_s"] if ue["run_s"] > 0 else None,
        "uesim_packet_hops": ue["packet_hops"], "uesim_dropped": ue["dropped"],
        "ns3_wall_s": ns.run_s, "ns3_setup_s": ns.wall_s - ns.run_s, "ns3_import_s": ns.import_s,
        "ns3_total_s": ns_total, "ns3_events": ns.events,
        "ns3_events_per_s": ns.events / ns.run_s if ns.run_s > 0 else None,
        "ns3_version": ns.ns3_version, "ns3_stopped_by": ns.stopped_by,
        "ns3_dropped": int(ns.counters.get("queue_drops", 0)) + int(ns.counters.get("ip_drops", 0)),
    }


def _fmt_us(ps) -> str:
    return "-" if ps is None else f"{ps / 1e6:.4f}"


def print_report(res: dict, name: str, limit: int = 40, out=sys.stdout) -> None:
    """A human-readable table of a :func:`run_crosscheck` summary."""
    p = lambda *a: print(*a, file=out)  # noqa: E731
    p(f"cross-check {name}: uesim vs ns-3 {res['ns3_version']}, {res['n_flows']} paced UDP flows, "
      f"{res['payload_bytes']} B payload + {res['header_bytes']} B headers = {res['wire_bytes']} B on the wire")
    p(f"{'flow':>5} {'src':>4} {'dst':>4} {'bytes':>10} {'uesim FCT us':>13} {'ns-3 FCT us':>13} "
      f"{'diff ns':>9} {'rel diff':>9}")
    for r in res["flows"][:limit]:
        diff = "-" if r["diff_ps"] is None else f"{r['diff_ps'] / 1e3:.3f}"
        rel = "-" if r["rel_diff"] is None else f"{r['rel_diff']:.2e}"
        p(f"{r['id']:>5} {r['src']:>4} {r['dst']:>4} {r['size_bytes']:>10} {_fmt_us(r['uesim_fct_ps']):>13} "
          f"{_fmt_us(r['ns3_fct_ps']):>13} {diff:>9} {rel:>9}")
    if res["n_flows"] > limit:
        p(f"  ... {res['n_flows'] - limit} more flows")
    if res["compared_flows"] < res["n_flows"]:
        p(f"  {res['n_flows'] - res['compared_flows']} flows not compared (lost packets or unfinished)")
    if res["max_rel_diff"] is not None:
        p(f"relative FCT difference: max {res['max_rel_diff']:.3e}, median {res['median_rel_diff']:.3e} "
          f"(max {res['max_abs_diff_ps'] / 1e3:.3f} ns)")
    b = res["bottleneck"]
    if b is not None:
        p(f"deepest queue {b['node']}->{b['neighbor']}: ns-3 {b['ns3_max_packets']} packets (device queue "
          f"at enqueue), uesim {b['uesim_max_packets']:.2f} (including the one in service); "
          f"max |difference| over all queues {res['max_queue_diff_packets']:.2f} packets "
          f"(expected 0 or 1, see docs/crosscheck.md)")
    p(f"drops: uesim {res['uesim_dropped']}, ns-3 {res['ns3_dropped']}")
    ue_rate = res["uesim_events_per_s"] or 0.0
    ns_rate = res["ns3_events_per_s"] or 0.0
    p(f"uesim: run {res['uesim_wall_s']:.3f} s, {res['uesim_events']} events, {ue_rate / 1e6:.2f} M events/s "
      f"(build {res['uesim_build_s']:.3f} s)")
    p(f"ns-3:  run {res['ns3_wall_s']:.3f} s, {res['ns3_events']} events, {ns_rate / 1e6:.2f} M events/s "
      f"(setup {res['ns3_setup_s']:.2f} s, import {res['ns3_import_s']:.2f} s, "
      f"subprocess total {res['ns3_total_s']:.2f} s)")


def main(scenario_path: str, as_json: bool = False) -> int:
    """``uesim crosscheck ns3 SCENARIO [--json]``: run, compare, print; exit code."""
    from uesim.experiments.ns3 import ns3_available
    sc, cross = load_crosscheck(scenario_path)
    if not ns3_available():
        print(f"uesim: error: {INSTALL_HINT}", file=sys.stderr)
        return 2
    res = run_crosscheck(sc, cross)
    if as_json:
        print(json.dumps({k: v for k, v in res.items() if k != "queues"}))
    else:
        print_report(res, sc.get("name", Path(scenario_path).stem))
    return 0 if res["complete"] else 1
