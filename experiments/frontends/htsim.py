"""``uesim htsim ARGS...``: run an ``htsim_uec`` command line in uesim.

People who bring their ``htsim_uec`` command lines and ``.cm`` files keep them unchanged:
``uesim htsim -tm perm.cm -nodes 1024 -sender_cc_only -paths 128`` builds the scenario
htsim would simulate (its k-ary fat tree sized from the node count, its queue and ECN
sizes derived from the base RTT and BDP, its UET transport settings), runs it through
:func:`uesim.experiments.run.run_scenario` and prints htsim-style ``finished at`` lines.

Facts are taken from uet-htsim 40ccb05 (``datacenter/main_uec.cpp``: flag parsing,
``calculate_rtt``, ``calculate_bdp_pkt``, queue and ECN sizing; ``fat_tree_topology.cpp``:
sizing and ``-failed``; ``uec.cpp``: the ``finished at`` line). See ``docs/htsim.md``.

Differences from htsim's parsing: values are checked (htsim's ``atoi`` reads ``12abc``
as 12 and ``abc`` as 0; here both are errors naming the flag); ``-tm`` is required (htsim
reads standard input without it). Every flag is read left to right, as htsim does, so a
later flag wins (``-receiver_cc_only -sender_cc_algo nscc`` turns sender CC back on).
"""
from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from uesim.experiments.schema import ScenarioError

PROG = "uesim htsim"

# htsim constants (uec.cpp, uecpacket.h, main_uec.cpp)
HEADER_BYTES = 64            # UecSrc::_hdr_size
ACK_BYTES = 64               # UecBasePacket::ACKSIZE
ACK_EVERY_BYTES = 16384      # UecSink::_bytes_unacked_threshold (-sack_threshold)
TRIM_TAIL_PROB = 0.5         # CompositeQueue: on overflow, drand() < 0.5 trims the queue's tail
FAILED_LINK_RATIO = 0.25     # FatTreeTopologyCfg::_failed_link_ratio
FLOW_ID_BASE = 1_000_000_001  # first automatic flowId htsim prints (then +2 per flow)


class HtsimArgError(ScenarioError):
    """A bad htsim command line: one message naming the flag and what is allowed."""


@dataclass(frozen=True)
class Flag:
    name: str
    nargs: int
    meta: str
    help: str


FLAGS = [
    Flag("-tm", 1, "FILE", "connection matrix (.cm) -> traffic.file; required"),
    Flag("-nodes", 1, "N", "host count; default the .cm 'Nodes' header (must agree with it)"),
    Flag("-tiers", 1, "2|3", "3: k-ary fat tree with K^3/4 = N hosts (default); 2: leaf-spine with K leaves, "
                             "K/2 spines, K/2 hosts per leaf, K^2/2 = N"),
    Flag("-linkspeed", 1, "MBPS", "every link's rate in Mb/s, default 100000"),
    Flag("-hop_latency", 1, "US", "every link's propagation delay in us, default 1"),
    Flag("-switch_latency", 1, "US", "switch latency in us, default 0"),
    Flag("-mtu", 1, "BYTES", "data packet size on the wire (64 B header included), default 4150"),
    Flag("-q", 1, "PACKETS", "switch queue size in MTU-size packets; default 1 x BDP with trimming, 5 x without"),
    Flag("-ecn", 2, "LO HI", "ECN thresholds in packets (x MTU bytes); default ceil(0.2 x BDP), ceil(0.8 x BDP) packets"),
    Flag("-paths", 1, "N", "entropy values per flow, default 64"),
    Flag("-load_balancing_algo", 1, "ALGO", "oblivious|bitmap|reps|mixed, default mixed"),
    Flag("-sender_cc_only", 0, "", "sender CC (NSCC) only"),
    Flag("-receiver_cc_only", 0, "", "receiver CC (RCCC) only"),
    Flag("-sender_cc", 0, "", "turn sender CC on"),
    Flag("-receiver_cc", 0, "", "turn receiver CC on (and ECN off on switch->host ports)"),
    Flag("-sender_cc_algo", 1, "ALGO", "nscc|dctcp|constant, default nscc (turns sender CC on)"),
    Flag("-cwnd", 1, "N", "packets: the window with -sender_cc_algo constant (default 1.5 x BDP bytes), "
                          "else the initial window (default maxwnd = 1.5 x BDP)"),
    Flag("-disable_trim", 0, "", "drop instead of trimming"),
    Flag("-trimsize", 1, "BYTES", "size of a trimmed packet, default 64 (64..MTU)"),
    Flag("-failed", 1, "N", "N links at 25% of their rate, chosen as htsim chooses them"),
    Flag("-end", 1, "US", "stop the simulation at this time in us, default 1000 (0: no limit)"),
    Flag("-seed", 1, "S", "random seed, default 13"),
]
FLAG_BY_NAME = {f.name: f for f in FLAGS}

# htsim_uec flags (main_uec.cpp) that have no uesim equivalent here
HTSIM_ONLY = ("-o", "-conn_reuse", "-planes", "-qa_gate", "-target_q_delay", "-queue_size_bdp_factor",
              "-queue_type", "-debug", "-host_queue_type", "-log", "-topo", "-sack_threshold",
              "-oversubscribed_cc", "-Ai", "-Md", "-alpha", "-force_disable_oversubscribed_cc",
              "-enable_accurate_base_rtt", "-disable_base_rtt_update_on_nack", "-sleek", "-logtime",
              "-logtime_us", "-pcie", "-ar_sticky_delta", "-ar_granularity", "-ar_method", "-strat")

LB_ALGOS = ("oblivious", "bitmap", "reps", "mixed")
CC_ALGOS = ("nscc", "dctcp", "constant")


def _supported() -> str:
    return " ".join(f.name for f in FLAGS) + " --json"


@dataclass
class Translation:
    """A translated command line: the raw scenario plus what htsim would print about it."""

    scenario: dict
    cm: object                       # workloads.cm.ConnectionMatrix
    nodes: int
    k: int
    tiers: int
    rtt_ps: int                      # network_max_unloaded_rtt
    bdp_bytes: int                   # per-flow _bdp (NSCC/RCCC)
    bdp_pkts: int                    # calculate_bdp_pkt
    end_us: int
    as_json: bool = False


# ---------------------------------------------------------------- value parsing

def _int(flag: str, text: str, minimum: int | None = None, maximum: int | None = None, what: str = "") -> int:
    try:
        value = int(text, 10)
    except ValueError:
        value = None
    bounds = f"an integer >= {minimum}" if minimum is not None else "an integer"
    if maximum is not None:
        bounds = f"an integer {minimum}..{maximum}"
    if value is None or (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise HtsimArgError(f"{PROG}: {flag} {text!r}: must be {bounds}{what}")
    return value


def _num(flag: str, text: str, *, positive: bool, what: str = "") -> float:
    try:
        value = float(text)
    except ValueError:
        value = None
    ok = value is not None and math.isfinite(value) and (value > 0 if positive else value >= 0)
    if not ok:
        raise HtsimArgError(f"{PROG}: {flag} {text!r}: must be a number {'> 0' if positive else '>= 0'}{what}")
    return value


def _choice(flag: str, text: str, allowed) -> str:
    if text not in allowed:
        hint = " (reps_legacy is not supported)" if text == "reps_legacy" else ""
        raise HtsimArgError(f"{PROG}: {flag} {text!r}: unknown; allowed: {', '.join(allowed)}{hint}")
    return text


def _parse(argv: list[str]) -> dict:
    """Read the flags left to right into htsim's variables (main_uec.cpp defaults)."""
    o = {"tm": None, "nodes": None, "tiers": 3, "linkspeed_mbps": 100000.0, "hop_us": 1.0, "switch_us": 0.0,
         "mtu": 4150, "q": None, "ecn": None, "paths": 64, "lb": "mixed", "sender": True, "receiver": False,
         "cc": "nscc", "cwnd": 0, "disable_trim": False, "trimsize": 64, "failed": 0, "end": 1000,
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
                raise HtsimArgError(f"{PROG}: flag {arg} is not supported (an htsim_uec flag with no uesim "
                                    f"equivalent yet); supported: {_supported()}")
            if not arg.startswith("-"):
                raise HtsimArgError(f"{PROG}: unexpected argument {arg!r} (htsim flags take the form "
                                    f"-flag VALUE); supported: {_supported()}")
            raise HtsimArgError(f"{PROG}: flag {arg} is not supported; supported: {_supported()}")
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
        elif arg == "-linkspeed":
            o["linkspeed_mbps"] = _num(arg, v, positive=True, what=" (Mb/s)")
        elif arg == "-hop_latency":
            o["hop_us"] = _num(arg, v, positive=False, what=" (us)")
        elif arg == "-switch_latency":
            o["switch_us"] = _num(arg, v, positive=False, what=" (us)")
        elif arg == "-mtu":
            o["mtu"] = _int(arg, v, HEADER_BYTES + 1, what=f" (bytes on the wire, more than the {HEADER_BYTES} B header)")
        elif arg == "-q":
            o["q"] = _int(arg, v, 1, what=" (packets)")
        elif arg == "-ecn":
            o["ecn"] = (_int(arg, vals[0], 0, what=" (LO, packets)"), _int(arg, vals[1], 0, what=" (HI, packets)"))
        elif arg == "-paths":
            o["paths"] = _int(arg, v, 1)
        elif arg == "-load_balancing_algo":
            o["lb"] = _choice(arg, v, LB_ALGOS)
        elif arg == "-sender_cc_only":
            o["sender"], o["receiver"] = True, False
        elif arg == "-receiver_cc_only":
            o["sender"], o["receiver"] = False, True
        elif arg == "-sender_cc":
            o["sender"] = True
        elif arg == "-receiver_cc":
            o["receiver"] = True
        elif arg == "-sender_cc_algo":
            o["cc"] = _choice(arg, v, CC_ALGOS)
            o["sender"] = True
        elif arg == "-cwnd":
            o["cwnd"] = _int(arg, v, 0, what=" (packets)")
        elif arg == "-disable_trim":
            o["disable_trim"] = True
        elif arg == "-trimsize":
            o["trimsize"] = _int(arg, v, 64, what=" (bytes)")
        elif arg == "-failed":
            o["failed"] = _int(arg, v, 0)
        elif arg == "-end":
            o["end"] = _int(arg, v, 0, what=" (us)")
        elif arg == "-seed":
            o["seed"] = _int(arg, v, 0)
    return o


# ---------------------------------------------------------------- htsim arithmetic

def fat_tree_k(n: int, tiers: int) -> int:
    """htsim's ``FatTreeTopologyCfg::set_params``: the smallest K with K^3/4 >= n (3 tiers)
    or K^2/2 >= n (2 tiers); the host count must then be exactly n.

    >>> fat_tree_k(1024, 3), fat_tree_k(16, 3), fat_tree_k(128, 3), fat_tree_k(32, 2)
    (16, 4, 8, 8)
    """
    size = (lambda K: K * K * K // 4) if tiers == 3 else (lambda K: K * K // 2)
    K = 1
    while size(K) < n:
        K += 1
    if size(K) != n:
        lo = max((size(j) for j in range(2, K, 2)), default=None)
        hint = f"{lo} or {size(K + K % 2)}" if lo else f"{size(K + K % 2)}"
        form = "K^3/4" if tiers == 3 else "K^2/2"
        raise HtsimArgError(f"{PROG}: -nodes {n}: a {tiers}-tier fat tree has {form} hosts (K even), "
                            f"nearest are {hint}")
    return K


def base_rtt_ps(tiers: int, hop_ps: int, switch_ps: int, mtu: int, rate_bps: int) -> int:
    """``calculate_rtt``: twice the diameter latency plus one data packet and one ACK
    serialised on every hop of the diameter (2 x tiers hops)."""
    diameter = 2 * tiers
    diameter_latency = hop_ps * diameter + switch_ps * (diameter - 1)
    gbps = rate_bps / 1e9
    return int(2 * diameter_latency + mtu * 8 / gbps * diameter * 1000 + ACK_BYTES * 8 / gbps * diameter * 1000)


def bdp_packets(rtt_ps: int, rate_bps: int, mtu: int) -> int:
    """``calculate_bdp_pkt``: ceil(RTT x rate / MTU)."""
    return math.ceil((rtt_ps / 1e12) * (rate_bps // 8) / mtu)


def rto_ps(queue_bytes: int, rate_bps: int) -> int:
    """htsim's ``UecSrc::_min_rto``: 15 us plus six drain times of a full queue."""
    return int((15 + queue_bytes * 6.0 * 8 * 1000000 / rate_bps) * 1e6)


def failed_edges(n: int, k: int, tiers: int) -> list[list[str]]:
    """The links htsim's ``-failed n`` slows to 25% (``FatTreeTopology`` constructor).

    3 tiers: the first ``n`` agg-core links in htsim's order (agg 0's ``K/2`` core links,
    then agg 1's, ...); htsim slows only the core->agg direction. 2 tiers: for every
    leaf, its links to spines ``0..n-1``, both directions. Names are uesim's
    (``fat_tree``/``leaf_spine``); uesim numbers an agg's cores ``p*K/2 + l`` where htsim
    numbers them ``p + l*K/2``, so the same agg-core link has another core name.
    """
    half = k // 2
    if tiers == 3:
        total = k * half * half
        if n > total:
            raise HtsimArgError(f"{PROG}: -failed {n}: must be <= {total} (agg-core links of a K={k} fat tree)")
        return [[f"agg{i // half}", f"core{(i // half) % half * half + i % half}"] for i in range(n)]
    if n > half:
        raise HtsimArgError(f"{PROG}: -failed {n}: must be <= {half} (spines of a 2-tier K={k} tree)")
    return [[f"leaf{t}", f"spine{s}"] for t in range(k) for s in range(n)]


# ---------------------------------------------------------------- translation

def read_matrix(o: dict, *, mismatch: str, failures_hint: str = ""):
    """``(path, CmFile, nodes)`` of the ``-tm`` file, checked against ``-nodes``.

    ``mismatch`` says what htsim does when the two disagree; ``failures_hint`` follows the
    refusal of ``failure`` lines.
    """
    from uesim.experiments.workloads.cm import read_cm
    if o["tm"] is None:
        raise HtsimArgError(f"{PROG}: -tm FILE is required (htsim would read the matrix from standard input; "
                            f"uesim needs a file)")
    tm = Path(o["tm"]).expanduser().resolve()
    cm = read_cm(tm, o["nodes"])
    if cm.nodes is not None and o["nodes"] is not None and cm.nodes != o["nodes"]:
        raise HtsimArgError(f"{PROG}: -nodes {o['nodes']} but {tm} says 'Nodes {cm.nodes}' ({mismatch})")
    nodes = o["nodes"] if o["nodes"] is not None else cm.nodes
    if nodes is None:
        raise HtsimArgError(f"{PROG}: -nodes N is missing and {tm} has no 'Nodes N' header")
    if cm.failures:
        raise HtsimArgError(f"{PROG}: {tm}:{cm.failures[0]['line']}: 'failure' lines are not supported"
                            f"{failures_hint}")
    return tm, cm, nodes


def topology_table(tiers: int, k: int, rate_bps: int, hop_ps: int) -> dict:
    """htsim's topology: a K-ary 3-tier fat tree, or a 2-tier leaf-spine with K leaves."""
    if tiers == 3:
        return {"generator": "fat_tree", "k": k, "rate_bps": rate_bps, "delay_ps": hop_ps}
    return {"generator": "leaf_spine", "n_leaves": k, "n_spines": k // 2, "hosts_per_leaf": k // 2,
            "host_rate_bps": rate_bps, "fabric_rate_bps": rate_bps, "delay_ps": hop_ps}


def translate(argv: list[str]) -> Translation:
    """Translate an htsim command line; see :func:`scenario_from_argv`."""
    o = _parse(list(argv))
    tm, cm, nodes = read_matrix(o, mismatch="htsim: connection matrix number of nodes differs",
                                failures_hint=" (use -failed N)")
    tiers = o["tiers"]
    k = fat_tree_k(nodes, tiers)
    mtu = o["mtu"]
    if o["trimsize"] > mtu:
        raise HtsimArgError(f"{PROG}: -trimsize {o['trimsize']}: must be 64..{mtu} (the MTU)")
    rate_bps = int(o["linkspeed_mbps"] * 1e6)            # speedFromMbps(double)
    hop_ps = int(o["hop_us"] * 1e6)                      # timeFromUs(double)
    switch_ps = int(o["switch_us"] * 1e6)
    rtt = base_rtt_ps(tiers, hop_ps, switch_ps, mtu, rate_bps)
    bdp_pkt = bdp_packets(rtt, rate_bps, mtu)
    bdp_bytes = int(rtt / 1e12 * (rate_bps // 8))        # UecSrc::initNscc _bdp
    trimming = not o["disable_trim"]
    queue_pkts = o["q"] if o["q"] is not None else bdp_pkt * (1 if trimming else 5)
    queue = queue_pkts * mtu                             # memFromPkt
    if o["ecn"] is None:
        kmin, kmax = mtu * math.ceil(bdp_pkt * 0.2), mtu * math.ceil(bdp_pkt * 0.8)
    else:
        kmin, kmax = o["ecn"][0] * mtu, o["ecn"][1] * mtu
        if kmin > kmax:
            raise HtsimArgError(f"{PROG}: -ecn {o['ecn'][0]} {o['ecn'][1]}: LO must be <= HI (packets)")
    if kmax > queue:
        raise HtsimArgError(f"{PROG}: -ecn: HI = {kmax // mtu} packets ({kmax} B) must be <= the queue size "
                            f"{queue_pkts} packets ({queue} B){' (-q)' if o['q'] is not None else ''}")
    topology = topology_table(tiers, k, rate_bps, hop_ps)
    if o["cc"] == "constant":
        cc = {"name": "constant", "cwnd_bytes": o["cwnd"] * mtu if o["cwnd"] else int(1.5 * bdp_bytes)}
    else:
        cc = {"name": o["cc"]}
        if o["cwnd"]:                        # htsim initNscc/initRccc: the initial window
            cc["cwnd_bytes"] = o["cwnd"] * mtu
    sc = {
        "name": f"htsim {tm.name}",
        "seed": o["seed"],
        "plugins": [],
        "topology": topology,
        "fabric": {
            "buffer_bytes": queue,
            "trimming": trimming,
            "trim_bytes": o["trimsize"],
            "trim_tail_prob": TRIM_TAIL_PROB,
            "switch_latency_ps": switch_ps,
            "ecn": {"kmin_bytes": kmin, "kmax_bytes": kmax, "pmax": 1.0, "at_dequeue": True,
                    "host_downlinks": not o["receiver"]},
        },
        "transport": {
            "name": "uet",
            "mtu_bytes": mtu,
            "header_bytes": HEADER_BYTES,
            "ack_bytes": ACK_BYTES,
            "ack_every_bytes": ACK_EVERY_BYTES,
            "ack_request_age": 0.0,          # htsim asks for ACKs only as MODEL-uec.md §6 says
            "base_rtt_ps": rtt,
            "rto_ps": rto_ps(queue, rate_bps),
            "sender_cc": o["sender"],
            "receiver_cc": o["receiver"],
            "cc": cc,
            "lb": {"name": o["lb"], "n_paths": o["paths"]},
        },
        "traffic": {"pattern": "cm", "file": str(tm)},
        "run": {"until_ps": o["end"] * 1_000_000} if o["end"] > 0 else {},
    }
    if o["failed"]:
        sc["faults"] = {"degrade_edges": failed_edges(o["failed"], k, tiers),
                        "degrade_factor": FAILED_LINK_RATIO}
    return Translation(scenario=sc, cm=cm, nodes=nodes, k=k, tiers=tiers, rtt_ps=rtt, bdp_bytes=bdp_bytes,
                       bdp_pkts=bdp_pkt, end_us=o["end"], as_json=o["json"])


def scenario_from_argv(argv: list[str]) -> dict:
    """The raw scenario dict an ``htsim_uec`` command line describes.

    Parameters
    ----------
    argv : list of str
        htsim flags, e.g. ``["-tm", "perm.cm", "-nodes", "1024", "-sender_cc_only"]``
        (``--json`` is accepted and ignored here).

    Returns
    -------
    dict
        Ready for :func:`uesim.experiments.scenario.check_scenario`.

    Raises
    ------
    HtsimArgError
        (a ScenarioError) naming the flag and what is allowed, or the .cm file and line.
    """
    return translate(argv).scenario


# ---------------------------------------------------------------- output

def _g(x: float) -> str:
    """A number as C++ ``cout`` prints a double by default (6 significant digits)."""
    return f"{x:.6g}"


def percentile_summary(fct_us: list[float]) -> tuple:
    """(p50, p99, max) of the finished flows' FCTs in us: numpy's default linear
    interpolation between order statistics; Nones when no flow finished."""
    if not fct_us:
        return None, None, None
    from uesim.experiments.results import percentile
    return percentile(fct_us, 50), percentile(fct_us, 99), float(max(fct_us))


def report(tr: Translation, cols: dict, stats: dict, out=None, *, kind: str = "Uec",
           header_bytes: int = HEADER_BYTES, id_base: int = FLOW_ID_BASE, id_step: int = 2) -> dict:
    """Print htsim-style lines for a finished run and return the JSON summary (``kind``,
    ``id_base``, ``id_step``: how the htsim binary names flows and numbers them without a
    .cm id; htsim_roce: ``"Roce"``, +1 per flow)."""
    out = out or sys.stdout
    flows = tr.cm.flows
    mss = tr.scenario["transport"]["mtu_bytes"] - header_bytes
    ids = [int(x) for x in cols["flow_id"]]
    pos = {fid: j for j, fid in enumerate(ids)}

    def htsim_id(i):
        cm_id = flows[i]["cm_id"]
        return cm_id if cm_id is not None else id_base + id_step * i

    def name(i):
        return f"Flow {kind}_{flows[i]['src']}_{flows[i]['dst']} flowId {htsim_id(i)} {kind.lower()}Src {i}"

    rows = []
    for i in range(len(flows)):
        j = pos.get(i)
        if j is None:
            rows.append((i, False, -1, -1, 0, 0))
            continue
        rows.append((i, bool(cols["finished"][j]), int(cols["start_ps"][j]), int(cols["end_ps"][j]),
                     int(cols["packets_sent"][j]), int(cols["retransmits"][j])))
    lines = []
    done = sorted((r for r in rows if r[1]), key=lambda r: (r[3], r[0]))
    for i, _, start, end, sent, rtx in done:
        n_pkts = -(-flows[i]["size_bytes"] // mss)
        lines.append(f"{name(i)} finished at {_g(end / 1e6)} total messages 1 total packets {n_pkts} RTS 0 "
                     f"total bytes {n_pkts * mss} fct {_g((end - start) / 1e6)} sent {sent} rtx {rtx}")
    stop = f"-end {tr.end_us} us" if tr.end_us else "end of events"
    for i, fin, start, *_ in rows:
        if fin:
            continue
        if flows[i]["start_trigger"] is not None and rows[i][4] == 0:
            lines.append(f"{name(i)} did not start (trigger {flows[i]['start_trigger']} never fired; stopped at {stop})")
        else:
            lines.append(f"{name(i)} did not finish (stopped at {stop})")
    fct = [(end - start) / 1e6 if fin else None for _, fin, start, end, *_ in rows]
    finished = [x for x in fct if x is not None]
    p50, p99, last = percentile_summary(finished)
    stats = dict(stats)
    stats.setdefault("trims", stats.get("packets_trimmed"))
    st = lambda k: stats.get(k)  # noqa: E731
    lines.append(f"New: {st('packets_new')} Rtx: {st('packets_rtx')} ACKs: {st('acks')} NACKs: {st('nacks')} "
                 f"Trims: {st('trims')}")
    for problem in stats.get("trigger_problems") or []:
        lines.append(f"warning: {problem}")
    summary = (f"{len(finished)}/{len(flows)} flows finished")
    if finished:
        summary += f"; FCT us p50 {_g(p50)} p99 {_g(p99)} last {_g(last)}"
    wall = stats.get("wall_s")
    summary += f"; {stats.get('events')} events in {wall} s"
    lines.append(summary)
    print("\n".join(lines), file=out)
    return {
        "flows_finished": len(finished), "flows_total": len(flows),
        "unfinished": [htsim_id(i) for i, fin, *_ in rows if not fin],
        "last_fct_us": last, "fct_p50_us": p50, "fct_p99_us": p99,
        "packets_new": st("packets_new"), "packets_rtx": st("packets_rtx"), "acks": st("acks"),
        "nacks": st("nacks"), "trims": st("trims"), "events": st("events"), "wall_s": wall,
        "build_s": st("build_s"), "sim_time_us": st("sim_time_us"),
        "trigger_problems": list(stats.get("trigger_problems") or []), "rtt_us": tr.rtt_ps / 1e6, "bdp_bytes": tr.bdp_bytes,
        "queue_bytes": tr.scenario["fabric"]["buffer_bytes"], "k": tr.k, "nodes": tr.nodes,
        "fct_us": fct,
    }


def _preamble(tr: Translation, out) -> None:
    sc = tr.scenario
    f, t = sc["fabric"], sc["transport"]
    ecn = f["ecn"]
    trig = len(tr.cm.triggers)
    print(f"Nodes: {tr.nodes} Connections: {len(tr.cm.flows)} Triggers: {trig} Failures: 0", file=out)
    print(f"{tr.tiers}-tier fat tree K={tr.k} ({sc['topology']['generator']}); queue {f['buffer_bytes']} B "
          f"({f['buffer_bytes'] // t['mtu_bytes']} packets); trimming {'on' if f['trimming'] else 'off'}", file=out)
    print(f"Setting ECN to parameters low {ecn['kmin_bytes']} high {ecn['kmax_bytes']} enable on tor downlink "
          f"{int(ecn['host_downlinks'])}", file=out)
    print(f"network_max_unloaded_rtt {_g(tr.rtt_ps / 1e6)} bdp {tr.bdp_bytes} B ({tr.bdp_pkts} packets); "
          f"cc {t['cc']['name']} sender {int(t['sender_cc'])} receiver {int(t['receiver_cc'])}; "
          f"lb {t['lb']['name']} paths {t['lb']['n_paths']}", file=out)
    print("Starting simulation", file=out)


def usage() -> str:
    width = max(len(f"{f.name} {f.meta}") for f in FLAGS)
    rows = "\n".join(f"  {f'{f.name} {f.meta}':<{width}}  {f.help}" for f in FLAGS)
    return (f"usage: {PROG} [--transport uet|roce] -tm FILE [htsim_uec flags] [--json]\n\n"
            f"Runs an htsim_uec command line in uesim (see docs/htsim.md).\n\n{rows}\n"
            f"  {'--json':<{width}}  end with one JSON summary line\n")


def main(argv=None) -> int:
    """Run ``uesim htsim ARGS``; print htsim-style results; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--transport" in argv:
        i = argv.index("--transport")
        transport = argv[i + 1] if i + 1 < len(argv) else None
        del argv[i:i + 2]
        if transport == "roce":
            from uesim.experiments.frontends import htsim_roce
            return htsim_roce.main(argv)
        if transport != "uet":
            print(f"{PROG}: --transport {transport!r}: unknown; allowed: uet (htsim_uec, the default), "
                  f"roce (htsim_roce)", file=sys.stderr)
            return 2
    if not argv or argv[0] in ("-h", "--help", "-help"):
        print(usage())
        return 0 if argv else 2
    return run_translated(lambda: translate(argv), lambda tr, sc: _preamble(tr, sys.stdout),
                          lambda tr, sc, result: report(tr, result.flow_columns(), dict(result.stats),
                                                        out=sys.stdout))


def run_translated(translate_fn, preamble, summarise) -> int:
    """The run of a front end: translate, check, print the preamble, run with progress,
    print results; one error line and status 2 for bad input, 130 when interrupted.

    ``translate_fn()`` returns a :class:`Translation`; ``preamble(tr, sc)`` prints what is
    simulated; ``summarise(tr, sc, result)`` prints the results and returns the JSON summary.
    """
    try:
        tr = translate_fn()
        from uesim.experiments.scenario import check_scenario
        sc = check_scenario(tr.scenario)
        preamble(tr, sc)
        sys.stdout.flush()
        from uesim.experiments.progress import progress_printer
        from uesim.experiments.run import run_scenario
        progress = progress_printer()
        try:
            result = run_scenario(sc, progress=progress)
        finally:
            if progress is not None:
                progress.stop()
        summary = summarise(tr, sc, result)
    except ScenarioError as exc:
        if os.environ.get("UESIM_DEBUG"):      # uesim --debug: the traceback instead
            raise
        msg = str(exc)
        print(msg if msg.startswith(PROG) else f"{PROG}: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    if tr.as_json:
        print(json.dumps(summary))
    if result.stats.get("partial"):
        print(f"{PROG}: PARTIAL: interrupted; {result.stats['unfinished_flows']} flows unfinished",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
