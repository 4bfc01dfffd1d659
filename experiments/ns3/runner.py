"""Run a uesim topology and fixed-rate UDP traffic in ns-3, for cross-checks.

ns-3 (the ``ns3`` wheel from PyPI, 3.44, cppyy bindings) runs in a separate
process: :func:`run_ns3` serialises the graph (networkx node-link data) and
the flows to JSON, starts ``worker.py`` with ``sys.executable`` in a fresh
temporary directory, and reads the JSON result from its stdout.  A crash of
ns-3 (a failed ``NS_ASSERT`` aborts the process) therefore only costs the
worker; it surfaces here as :class:`RuntimeError` with the worker's stderr tail.

What is simulated
-----------------
* One ns-3 ``Node`` per graph node; one ``PointToPoint`` link per edge and per
  parallel link (edge attribute ``links``, default 1); edges with
  ``up=False`` are skipped.  ``DataRate`` = ``rate_bps``, channel ``Delay`` =
  ``delay_ps`` (time resolution is picoseconds, so delays are exact).
* IPv4 on every link (a /30 per link); ``Ipv4GlobalRoutingHelper`` with
  ``RandomEcmpRouting=true``.  ns-3's ECMP picks a random next hop **per
  packet**; build cross-check scenarios so that does not matter.
* Plain FIFO drop-tail queues: the PointToPoint helper's flow control is
  disabled, so no traffic-control queue disc is installed (the default
  FqCoDel is only added by ``Ipv4AddressHelper::Assign`` to devices with a
  ``NetDeviceQueueInterface``; the worker checks none remains) and the
  device's ``DropTailQueue`` is the only queue.  Its ``MaxSize`` is
  ``queue_packets`` packets or ``queue_bytes`` bytes (default 100000 packets).
  Bytes in a queue are counted as IPv4 packet + PPP header (payload + 30).
* Hosts are the nodes with ``kind == "gpu"``, numbered in ``G.nodes`` order.
  A flow's destination address is the address of the destination host's
  first link (in edge order); multi-homed hosts thus receive on one link.
* Each flow is a fixed-rate UDP sender (a small C++ ns-3 ``Application``):
  packets carry ``payload_bytes`` of UDP payload (the last one the remainder,
  so the flow carries exactly ``size_bytes``); packet k is handed to the UDP
  socket at exactly ``start_ps + floor(8 * W_k * 10**12 / rate_bps)`` ps where
  ``W_k`` is the wire bytes (payload + ``header_bytes``) of packets 0..k-1, i.e.
  ``rate_bps`` paces payload + headers on the wire.  Each flow has its own
  UDP socket bound to the source host's address and an ephemeral port
  (49152-65535, so at most ~16000 flows per source host), sending to port
  ``1024 + j % 48000`` for flow j; FlowMonitor's 5-tuples map back to flows
  by (source address, source port).

Header accounting
-----------------
On the wire each packet is ``payload + 30`` bytes: UDP 8 + IPv4 20 + PPP 2
(``PointToPointNetDevice`` adds a 2-byte PPP header; serialisation time is
``(payload + 30) * 8 / rate``, no interframe gap, no preamble).  The result
reports ``header_bytes = 30``.  FlowMonitor's ``tx_bytes``/``rx_bytes`` count
IPv4 bytes, ``payload + 28`` per packet.

Timing (measured, see tests/ns3/test_ns3_runner.py)
---------------------------------------------------
Store-and-forward, zero processing delay in hosts and switches, no
interframe gap.  For a flow of n packets of equal wire size ``w`` bytes
paced at the bottleneck rate ``R`` over h hops with propagation delays ``d_i``
and no other traffic::

    fct_ps = (n - 1) * 8*w/R + sum_i (8*w/R_i + d_i)

exactly, in integer picoseconds when ``8*w*10**12/R`` is an integer.  When it
is not, ns-3 rounds each packet's serialisation time to the *nearest*
picosecond (``DataRate::CalculateBytesTxTime``), while the sender's send
times are floors of the exact cumulative schedule; so a flow paced at exactly
the line rate may wait up to 1 ps per packet in its NIC queue (measured:
3 Gbps, 1030 B wire -> 2_746_667 ps per packet, 3 packets arrive 1 ps later
than the exact schedule).
``first_tx_ps`` equals ``start_ps``.  ``fct_ps = last_rx_ps - start_ps``: from
the flow's start to the instant the last bit of its last packet arrives at
the destination host (FlowMonitor ``timeLastRxPacket``, i.e. delivery to
IPv4 at the destination).

Queue depth: ``max_packets``/``max_bytes`` are the maxima of the device
queue's ``PacketsInQueue``/``BytesInQueue``.  The packet being serialised is
not in the queue; but a packet arriving at an idle port is enqueued and
dequeued at the same instant, so every port that carried traffic shows at
least 1 packet.  Simultaneous events run in scheduling order
(deterministic): arrivals at a port at the same instant as the end of a
transmission are enqueued before the next packet is dequeued, so an incast of
k senders at line rate into one port of the same rate peaks at
``(k-1)*n + 1`` packets for n packets per sender, and ties are always won by
the same sender (with drops, the first flow in the tie order loses nothing).

The simulation stops when every packet sent was received or dropped, at
``stop_ps`` if given, or at a safety cap of the last flow start + 10 s of
simulated time (``stopped_by`` says which).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any

__all__ = ["HEADER_BYTES", "Ns3Result", "WORKER_PATH", "ns3_available", "run_ns3"]

#: Bytes added to each UDP payload on the wire: UDP 8 + IPv4 20 + PPP 2.
HEADER_BYTES = 30

#: Path of the worker script run in the subprocess.
WORKER_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "worker.py")

FLOW_COLUMNS = [
    "id", "src", "dst", "size_bytes", "start_ps", "rate_bps", "sport", "dport",
    "first_tx_ps", "last_tx_ps", "first_rx_ps", "last_rx_ps", "fct_ps",
    "tx_packets", "rx_packets", "lost_packets", "dropped_packets", "tx_bytes", "rx_bytes",
]
QUEUE_COLUMNS = ["node", "neighbor", "link", "max_packets", "max_bytes", "drops"]


def ns3_available() -> bool:
    """True if the ``ns3`` wheel is installed (fast: looks for it, does not import it)."""
    for entry in sys.path:
        base = entry or os.getcwd()
        # The wheel installs ns/__init__.py (a stub) and ns3/ with headers and
        # libraries; a directory merely named ns3 (like this package) does not count.
        if os.path.isdir(os.path.join(base, "ns3", "include", "ns3")) and os.path.isfile(
            os.path.join(base, "ns", "__init__.py")
        ):
            return True
    return False


@dataclass
class Ns3Result:
    """What one ns-3 run returned.

    Attributes
    ----------
    flows : pandas.DataFrame
        One row per flow (input order), columns ``FLOW_COLUMNS``: ``first_tx_ps``,
        ``last_rx_ps``, ``fct_ps`` (= ``last_rx_ps - start_ps``; NA if nothing
        arrived), packet and byte counters from FlowMonitor (bytes are IPv4
        bytes, payload + 28 per packet), ``lost_packets`` (FlowMonitor: dropped
        or not arrived in time), ``dropped_packets`` (drops recorded by probes).
    queues : pandas.DataFrame
        One row per direction of every link: ``node`` -> ``neighbor`` (graph node
        names), ``link`` (index among parallel links), ``max_packets``,
        ``max_bytes`` (maximum device-queue depth; 0 if not traced), ``drops``.
    wall_s : float
        Worker wall time after ns-3 was loaded: building, running, collecting.
    run_s : float
        Wall time of ``Simulator::Run`` alone.
    import_s : float
        Worker time to load ns-3 and compile the C++ helpers.
    events : int
        ``Simulator::GetEventCount()`` after the run.
    header_bytes : int
        Wire bytes added to every payload (30).
    ns3_version : str
    end_ps : int
        Simulated time when the run stopped.
    stopped_by : str
        ``"complete"`` (every packet received or dropped), ``"stop_ps"`` or ``"cap"``.
    counters : dict
        Worker-side packet counters: sent, send_fail, received, queue_drops, ip_drops.
    """

    flows: Any
    queues: Any
    wall_s: float
    import_s: float
    events: int
    header_bytes: int
    ns3_version: str
    run_s: float = 0.0
    end_ps: int = 0
    stopped_by: str = ""
    counters: dict = field(default_factory=dict)


def _graph_payload(graph) -> tuple[dict, list]:
    import networkx as nx

    try:
        data = nx.node_link_data(graph, edges="edges")
    except TypeError:  # networkx < 3.4 names the keyword "link"
        data = nx.node_link_data(graph, link="edges")
    names = list(graph.nodes)
    # Node ids travel as JSON; the worker reports node indices, mapped back here.
    for nd in data["nodes"]:
        nid = nd["id"]
        if not isinstance(nid, (str, int)):
            nd["id"] = repr(nid)
    if not all(isinstance(n, (str, int)) for n in names):
        ids = {n: repr(n) for n in names if not isinstance(n, (str, int))}
        for e in data["edges"]:
            e["source"] = ids.get(e["source"], e["source"])
            e["target"] = ids.get(e["target"], e["target"])
    return data, names


def _check_inputs(graph, flows: list[dict], payload_bytes: int) -> None:
    if int(payload_bytes) <= 0:
        raise ValueError(f"payload_bytes must be > 0, got {payload_bytes}")
    for u, v, d in graph.edges(data=True):
        for key in ("rate_bps", "delay_ps"):
            if key not in d:
                raise ValueError(f"edge ({u!r}, {v!r}) has no {key!r}")
    hosts = sum(1 for _, k in graph.nodes(data="kind") if k == "gpu")
    for f in flows:
        for key in ("src", "dst", "size_bytes", "start_ps", "rate_bps"):
            if key not in f:
                raise ValueError(f"flow {f!r} has no {key!r}")
        if not (0 <= int(f["src"]) < hosts and 0 <= int(f["dst"]) < hosts):
            raise ValueError(f"flow {f.get('id')!r}: host index out of range 0..{hosts - 1}")
        if int(f["src"]) == int(f["dst"]):
            raise ValueError(f"flow {f.get('id')!r}: src == dst")
        if int(f["size_bytes"]) <= 0 or int(f["rate_bps"]) <= 0 or int(f["start_ps"]) < 0:
            raise ValueError(f"flow {f.get('id')!r}: needs size_bytes > 0, rate_bps > 0, start_ps >= 0")


def run_ns3(
    graph,
    flows: list[dict],
    *,
    payload_bytes: int,
    timeout_s: float = 600,
    queue_packets: int | None = None,
    queue_bytes: int | None = None,
    stop_ps: int | None = None,
    trace_queues: bool = True,
    seed: int = 1,
) -> Ns3Result:
    """Simulate ``flows`` over ``graph`` in ns-3 and return per-flow and per-queue results.

    Parameters
    ----------
    graph : networkx.Graph
        uesim topology: node ``kind`` (``"gpu"`` hosts, ``"switch"``), edge
        ``rate_bps``, ``delay_ps``, optional ``links`` and ``up``.
    flows : list of dict
        ``{"id", "src", "dst", "size_bytes", "start_ps", "rate_bps"}``; ``src``
        and ``dst`` are host indices; ``rate_bps`` paces payload + headers.
    payload_bytes : int
        UDP payload per packet (wire size is ``payload_bytes + 30``).
    timeout_s : float
        Wall-clock limit for the worker, import included.
    queue_packets, queue_bytes : int, optional
        Drop-tail limit of every device queue (at most one of them);
        default 100000 packets.
    stop_ps : int, optional
        Stop the simulation at this time even if flows are unfinished.
    trace_queues : bool
        Record the maximum depth of every device queue.
    seed : int
        ns-3 RNG seed (ECMP choices).

    Returns
    -------
    Ns3Result

    Raises
    ------
    RuntimeError
        If ns-3 is not installed, the worker fails, or it times out.

    Examples
    --------
    >>> import networkx as nx
    >>> G = nx.Graph()
    >>> G.add_nodes_from(["gpu0", "gpu1"], kind="gpu")
    >>> G.add_edge("gpu0", "gpu1", rate_bps=100 * 10**9, delay_ps=10**6)
    >>> r = run_ns3(G, [dict(id=0, src=0, dst=1, size_bytes=4000, start_ps=0,
    ...                      rate_bps=100 * 10**9)], payload_bytes=1000)  # doctest: +SKIP
    >>> int(r.flows.fct_ps[0])  # doctest: +SKIP
    1329600
    """
    import pandas as pd

    if not ns3_available():
        raise RuntimeError("ns-3 not installed: pip install 'uesim[ns3]'")
    if queue_packets is not None and queue_bytes is not None:
        raise ValueError("give queue_packets or queue_bytes, not both")
    _check_inputs(graph, flows, payload_bytes)
    gdata, names = _graph_payload(graph)
    req = {
        "graph": gdata,
        "flows": [
            {
                "id": f.get("id", j),
                "src": int(f["src"]),
                "dst": int(f["dst"]),
                "size_bytes": int(f["size_bytes"]),
                "start_ps": int(f["start_ps"]),
                "rate_bps": int(f["rate_bps"]),
            }
            for j, f in enumerate(flows)
        ],
        "payload_bytes": int(payload_bytes),
        "queue_packets": None if queue_packets is None else int(queue_packets),
        "queue_bytes": None if queue_bytes is None else int(queue_bytes),
        "stop_ps": None if stop_ps is None else int(stop_ps),
        "trace_queues": bool(trace_queues),
        "seed": int(seed),
    }
    with tempfile.TemporaryDirectory(prefix="uesim-ns3-") as tmp:
        try:
            proc = subprocess.run(
                [sys.executable, WORKER_PATH],
                input=json.dumps(req).encode(),
                capture_output=True,
                cwd=tmp,
                timeout=timeout_s,
            )
        except subprocess.TimeoutExpired as exc:
            tail = _tail(exc.stderr)
            raise RuntimeError(f"ns-3 worker timed out after {timeout_s} s; stderr tail:\n{tail}") from None
    if proc.returncode != 0:
        raise RuntimeError(
            f"ns-3 worker failed (exit code {proc.returncode}); stderr tail:\n{_tail(proc.stderr)}"
        )
    try:
        res = json.loads(proc.stdout)
    except json.JSONDecodeError as exc:
        raise RuntimeError(
            f"ns-3 worker printed no valid JSON ({exc}); stderr tail:\n{_tail(proc.stderr)}"
        ) from None

    flows_df = pd.DataFrame(res["flows"], columns=FLOW_COLUMNS)
    for col in ("first_tx_ps", "last_tx_ps", "first_rx_ps", "last_rx_ps", "fct_ps"):
        flows_df[col] = flows_df[col].astype("Int64")
    queues_df = pd.DataFrame(res["queues"], columns=QUEUE_COLUMNS)
    if len(queues_df):
        queues_df["node"] = [names[i] for i in queues_df["node"]]
        queues_df["neighbor"] = [names[i] for i in queues_df["neighbor"]]
    return Ns3Result(
        flows=flows_df,
        queues=queues_df,
        wall_s=float(res["wall_s"]),
        import_s=float(res["import_s"]),
        events=int(res["events"]),
        header_bytes=int(res["header_bytes"]),
        ns3_version=str(res["ns3_version"]),
        run_s=float(res["run_s"]),
        end_ps=int(res["end_ps"]),
        stopped_by=str(res["stopped_by"]),
        counters=dict(res["counters"]),
    )


def _tail(data, n: int = 30) -> str:
    """Last lines of the worker's stderr, without cling noise and gdb backtraces."""
    if not data:
        return "(empty)"
    if isinstance(data, bytes):
        data = data.decode(errors="replace")
    lines = [
        ln
        for ln in data.splitlines()
        if "runStaticInitializersOnce" not in ln
        and not re.match(r"^(#\d+\s|entry=)", ln)
    ]
    return "\n".join(lines[-n:]) if lines else "(empty)"
