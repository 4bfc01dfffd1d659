"""``uesim htsim --transport roce ARGS...``: run an ``htsim_roce`` command line in uesim.

``htsim_roce -tm incast.cm -nodes 16 -strat ecmp_host -paths 1 -queue_type lossless_input
-q 100 -end 3000`` becomes a scenario with uesim's RoCE RC transport
(``transport.name = "roce"``) configured as htsim's ``RoceSrc``/``RoceSink``
(``MODEL-roce.md`` §3: 4000 B payload + 64 B header, 64 B ACKs, an ACK per packet, no
congestion control, no retransmission timer, the extra packet of a flow whose size is a
multiple of the payload), on htsim's fat tree (§1) with one ECMP path per flow (§4), and
with PFC as htsim's lossless input queues (§2) when ``-queue_type lossless_input`` is given.

PFC comes from the fabric's ``fabric.pfc`` scenario table; if this build's scenario schema
does not know it, ``-queue_type lossless_input`` is refused ("PFC is not available in this
build").  Without ``-queue_type`` switch queues are unbounded FIFOs without PFC: nothing
drops, and completion times equal htsim's wherever no ingress port would have paused
(single flows, flows that do not share links).

ECMP paths are uesim's (a hash of flow and entropy per switch, seeded by ``-seed``), not
htsim's ``freeBSDHash`` with its ``random()`` salts: which flows collide differs from
htsim's run, the statistics of collisions do not.
"""
from __future__ import annotations

import sys

from uesim.experiments.frontends.htsim import (Flag, HtsimArgError, PROG, Translation, _g, _int, _num,
                                               fat_tree_k, read_matrix, report, run_translated,
                                               topology_table)

HEADER_BYTES = 64            # RocePacket: a data packet is payload + 64 B
ACK_BYTES = 64               # RocePacket ACKSIZE (ACK and NACK)
FLOW_ID_BASE = 1_000_000_001  # first automatic flow id (then +1 per flow)
PFC_LOW, PFC_HIGH = 12, 15    # main_roce.cpp: XON below 12, XOFF above 15 MTUs (4000 B units)

FLAGS = [
    Flag("-tm", 1, "FILE", "connection matrix (.cm) -> traffic.file; required"),
    Flag("-nodes", 1, "N", "host count; default the .cm 'Nodes' header (must agree with it)"),
    Flag("-tiers", 1, "2|3", "3: k-ary fat tree with K^3/4 = N hosts (default); 2: leaf-spine"),
    Flag("-strat", 1, "ecmp_host", "routing: one ECMP path per flow (the only one supported)"),
    Flag("-paths", 1, "N", "accepted and ignored, as htsim_roce does (1..10000)"),
    Flag("-queue_type", 1, "lossless_input", "PFC at switch ingress ports (htsim's lossless input queues)"),
    Flag("-q", 1, "PACKETS", "switch queue size in MTUs: a warning threshold only with lossless_input; ignored"),
    Flag("-pfc_thresholds", 2, "LOW HIGH", f"PFC XON / XOFF thresholds in MTUs, default {PFC_LOW} {PFC_HIGH}"),
    Flag("-linkspeed", 1, "MBPS", "every link's rate in Mb/s, default 100000"),
    Flag("-hop_latency", 1, "US", "every link's propagation delay in us, default 1"),
    Flag("-switch_latency", 1, "US", "switch latency in us, default 0"),
    Flag("-mtu", 1, "BYTES", "payload per packet (the wire adds 64 B), default 4000"),
    Flag("-end", 1, "US", "stop the simulation at this time in us, default 1000 (0: no limit)"),
    Flag("-seed", 1, "S", "random seed (ECMP salts), default 13"),
]
FLAG_BY_NAME = {f.name: f for f in FLAGS}
HTSIM_ONLY = ("-o", "-dcqcn", "-out_of_order", "-log", "-logtime", "-ar_method", "-conn_reuse", "-debug",
              "-cwnd", "-topo", "-planes")


def _supported() -> str:
    return " ".join(f.name for f in FLAGS) + " --json"


def _parse(argv: list[str]) -> dict:
    o = {"tm": None, "nodes": None, "tiers": 3, "queue_type": None, "q": None, "pfc": (PFC_LOW, PFC_HIGH),
         "linkspeed_mbps": 100000.0, "hop_us": 1.0, "switch_us": 0.0, "mtu": 4000, "end": 1000,
         "seed": 13, "json": False}
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--json":
            o["json"] = True
            i += 1
            continue
        flag = FLAG_BY_NAME.get(arg)
        if flag is None:
            if arg in HTSIM_ONLY:
                raise HtsimArgError(f"{PROG} --transport roce: flag {arg} is not supported (an htsim_roce flag "
                                    f"with no uesim equivalent yet); supported: {_supported()}")
            raise HtsimArgError(f"{PROG} --transport roce: {'flag ' + arg if arg.startswith('-') else repr(arg)} "
                                f"is not supported; supported: {_supported()}")
        vals = argv[i + 1:i + 1 + flag.nargs]
        if len(vals) < flag.nargs:
            raise HtsimArgError(f"{PROG}: flag {arg} needs {flag.nargs} value{'s' if flag.nargs > 1 else ''} "
                                f"({flag.meta})")
        i += 1 + flag.nargs
        v = vals[0] if vals else None
        if arg == "-tm":
            o["tm"] = v
        elif arg == "-nodes":
            o["nodes"] = _int(arg, v, 1)
        elif arg == "-tiers":
            o["tiers"] = _int(arg, v, 2, 3)
        elif arg == "-strat":
            if v != "ecmp_host":
                raise HtsimArgError(f"{PROG}: -strat {v!r}: unknown; allowed: ecmp_host")
        elif arg == "-paths":
            _int(arg, v, 1, 10000)
        elif arg == "-queue_type":
            if v != "lossless_input":
                raise HtsimArgError(f"{PROG}: -queue_type {v!r}: unknown; allowed: lossless_input")
            o["queue_type"] = v
        elif arg == "-q":
            o["q"] = _int(arg, v, 1, what=" (packets)")
        elif arg == "-pfc_thresholds":
            lo = _int(arg, vals[0], 1, what=" (LOW, MTUs)")
            hi = _int(arg, vals[1], 1, what=" (HIGH, MTUs)")
            if lo > hi:
                raise HtsimArgError(f"{PROG}: -pfc_thresholds {lo} {hi}: LOW must be <= HIGH (MTUs)")
            o["pfc"] = (lo, hi)
        elif arg == "-linkspeed":
            o["linkspeed_mbps"] = _num(arg, v, positive=True, what=" (Mb/s)")
        elif arg == "-hop_latency":
            o["hop_us"] = _num(arg, v, positive=False, what=" (us)")
        elif arg == "-switch_latency":
            o["switch_us"] = _num(arg, v, positive=False, what=" (us)")
        elif arg == "-mtu":
            o["mtu"] = _int(arg, v, 1, what=" (payload bytes)")
        elif arg == "-end":
            o["end"] = _int(arg, v, 0, what=" (us)")
        elif arg == "-seed":
            o["seed"] = _int(arg, v, 0)
    return o


def pfc_available() -> bool:
    """Whether this build's scenario schema has the ``fabric.pfc`` table."""
    from uesim.experiments import scenario
    return "pfc" in scenario.FABRIC


def translate(argv: list[str]) -> Translation:
    """Translate an ``htsim_roce`` command line into a raw scenario (see the module doc)."""
    o = _parse(list(argv))
    tm, cm, nodes = read_matrix(o, mismatch="htsim_roce exits with status 255")
    tiers = o["tiers"]
    k = fat_tree_k(nodes, tiers)
    rate_bps = int(o["linkspeed_mbps"] * 1e6)
    hop_ps = int(o["hop_us"] * 1e6)
    switch_ps = int(o["switch_us"] * 1e6)
    mss = o["mtu"]
    wire = mss + HEADER_BYTES
    topology = topology_table(tiers, k, rate_bps, hop_ps)
    fabric = {"buffer_bytes": 1 << 40, "switch_latency_ps": switch_ps}   # FIFOs never drop (§1)
    if o["queue_type"] == "lossless_input":
        if not pfc_available():
            raise HtsimArgError(f"{PROG}: -queue_type lossless_input: PFC is not available in this build "
                                f"(the scenario schema has no fabric.pfc); leave -queue_type out to run "
                                f"with unbounded switch queues and no PFC")
        lo, hi = o["pfc"]
        # thresholds in 4000 B MTU units, not wire sizes (MODEL-roce.md 2)
        fabric["pfc"] = {"enabled": True, "mode": "htsim", "xoff_bytes": hi * mss, "xon_bytes": lo * mss}
    # unloaded RTT of the diameter (2 x tiers hops): a data packet out, an ACK back
    hops = 2 * tiers
    tx = lambda size: size * 8_000_000_000_000 // rate_bps  # noqa: E731
    rtt = hops * (2 * hop_ps + tx(wire) + tx(ACK_BYTES)) + 2 * (hops - 1) * switch_ps
    sc = {
        "name": f"htsim_roce {tm.name}",
        "seed": o["seed"],
        "plugins": [],
        "topology": topology,
        "fabric": fabric,
        "transport": {
            "name": "roce",
            "mtu_bytes": wire,
            "header_bytes": HEADER_BYTES,
            "ack_bytes": ACK_BYTES,
            "ack_every_packets": 1,
            "min_rto_ps": 0,                 # htsim_roce arms no retransmission timer
            "htsim_extra_packet": True,
            "base_rtt_ps": rtt,
            "cc": {"name": "none"},
            "lb": {"name": "ecmp"},
        },
        "traffic": {"pattern": "cm", "file": str(tm)},
        "run": {"until_ps": o["end"] * 1_000_000} if o["end"] > 0 else {},
    }
    return Translation(scenario=sc, cm=cm, nodes=nodes, k=k, tiers=tiers, rtt_ps=rtt,
                       bdp_bytes=rtt * rate_bps // 8_000_000_000_000, bdp_pkts=-(-rtt * rate_bps // 8_000_000_000_000 // wire),
                       end_us=o["end"], as_json=o["json"])


def usage() -> str:
    width = max(len(f"{f.name} {f.meta}") for f in FLAGS)
    rows = "\n".join(f"  {f'{f.name} {f.meta}':<{width}}  {f.help}" for f in FLAGS)
    return (f"usage: {PROG} --transport roce -tm FILE [htsim_roce flags] [--json]\n\n"
            f"Runs an htsim_roce command line in uesim (see docs/htsim.md).\n\n{rows}\n"
            f"  {'--json':<{width}}  end with one JSON summary line\n")


def main(argv=None) -> int:
    """Run ``uesim htsim --transport roce ARGS``; print htsim-style results; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help", "-help"):
        print(usage())
        return 0 if argv else 2
    return run_translated(lambda: translate(argv), _preamble, _summary)


def _preamble(tr: Translation, sc: dict) -> None:
    pfc = sc["fabric"].get("pfc")
    print(f"Nodes: {tr.nodes} Connections: {len(tr.cm.flows)} Triggers: {len(tr.cm.triggers)}")
    print(f"{tr.tiers}-tier fat tree K={tr.k} ({sc['topology']['generator']}); "
          + (f"PFC xoff {pfc['xoff_bytes']} B xon {pfc['xon_bytes']} B" if pfc else
             "no PFC: unbounded switch queues"))
    print(f"network_max_unloaded_rtt {_g(tr.rtt_ps / 1e6)}; RoCE RC, mtu {sc['transport']['mtu_bytes']} B "
          f"on the wire, no CC, ECMP one path per flow")
    print("Starting simulation")


def _summary(tr: Translation, sc: dict, result) -> dict:
    stats = dict(result.stats)
    summary = report(tr, result.flow_columns(), stats, out=sys.stdout, kind="Roce",
                     header_bytes=HEADER_BYTES, id_base=FLOW_ID_BASE, id_step=1)
    summary["pfc_pauses"] = stats.get("pfc_pauses")
    summary["cnps"] = stats.get("cnps_sent")
    if sc["fabric"].get("pfc"):
        print(f"PFC pauses: {stats.get('pfc_pauses')}")
    return summary
