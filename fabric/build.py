"""Build a :class:`~uesim.fabric.Network` from a networkx graph.

The graph follows uesim's attribute schema (see ``docs/topologies.md``): nodes carry
``kind`` (``"gpu"`` for endpoints, ``"switch"``), edges carry integer ``rate_bps`` and
``delay_ps``, optionally ``links`` (parallel cables) and ``up``.  Hosts are numbered in
the order their nodes appear in ``G.nodes``.

Forwarding is shortest-path (hop count) ECMP through switches only: a GPU never forwards
traffic that is not its own.  Tables hold one row per node and group of destination hosts
attached to the same switches (see :mod:`uesim.fabric.routing`), so a 1024-host fat tree
builds in a fraction of a second and an 8192-host one in a few seconds.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np

from uesim.fabric.engine import Simulator
from uesim.fabric.network import Network
from uesim.fabric.routing import forwarding_tables
from uesim.fabric.pfc import CbfcConfig, LlrConfig, PfcConfig, pfc_thresholds

@dataclass(frozen=True)
class FabricConfig:
    """Data-plane settings applied to every port built from a graph.

    Parameters
    ----------
    buffer_bytes : int
        Drop-tail buffer of each switch egress port.
    nic_buffer_bytes : int
        Buffer of each host NIC egress port (large: a NIC does not drop its own packets).
    ecn_kmin_bytes, ecn_kmax_bytes, ecn_pmax : optional
        RED-style ECN marking at switch ports (all three, or none).
    ecn_at_dequeue : bool
        Mark on the bytes left behind when a packet leaves (htsim) rather than at enqueue.
    dequeue_path : bool
        Serve every port with real dequeue events (strict priority between classes);
        otherwise FIFO ports use the one-event-per-hop fast path.
    switch_latency_ps : int
        Delay inside a switch between arrival and enqueue at the egress.
    trimming : bool
        UET packet trimming at switch egress ports: a data packet that overflows the
        buffer is cut to ``trim_bytes`` and served ahead of data; every port then serves
        header packets (ACKs, NACKs, trimmed packets) first, host NICs included.
    trim_bytes : int
        Size of a trimmed packet.
    trim_tail_prob : float
        Probability of trimming the newest queued data packet instead of the arriving
        one (htsim: 0.5).
    ecn_host_downlinks : bool
        Mark ECN on switch ports that lead to a host too (htsim turns this off with
        receiver credit).
    seed : int
        Seeds hash salts and ECN coin flips.
    pfc : PfcConfig, optional
        Priority flow control on every link (every port then uses the dequeue path);
        see ``docs/lossless.md``.
    cbfc : CbfcConfig, optional
        Credit-based flow control on every link instead (not both).
    llr : LlrConfig, optional
        Frame errors on every link, replayed by link-level retry or lost.
    """

    buffer_bytes: int = 1 << 30
    nic_buffer_bytes: int = 1 << 40
    ecn_kmin_bytes: int | None = None
    ecn_kmax_bytes: int | None = None
    ecn_pmax: float | None = None
    ecn_at_dequeue: bool = False
    dequeue_path: bool = False
    switch_latency_ps: int = 0
    trimming: bool = False
    trim_bytes: int = 64
    trim_tail_prob: float = 0.0
    ecn_host_downlinks: bool = True
    seed: int = 0
    pfc: PfcConfig | None = None
    cbfc: CbfcConfig | None = None
    llr: LlrConfig | None = None

    def __post_init__(self):
        for key in ("buffer_bytes", "nic_buffer_bytes"):
            if int(getattr(self, key)) <= 0:
                raise ValueError(f"{key} must be > 0, got {getattr(self, key)}")
        if self.trim_bytes <= 0:
            raise ValueError(f"trim_bytes must be > 0, got {self.trim_bytes}")
        if not 0.0 <= self.trim_tail_prob <= 1.0:
            raise ValueError(f"trim_tail_prob must be in [0, 1], got {self.trim_tail_prob}")
        if self.switch_latency_ps < 0:
            raise ValueError(f"switch_latency_ps must be >= 0, got {self.switch_latency_ps}")
        ecn = (self.ecn_kmin_bytes, self.ecn_kmax_bytes, self.ecn_pmax)
        if self.pfc is not None and self.cbfc is not None:
            raise ValueError("give pfc or cbfc, not both")
        if any(v is not None for v in ecn) and any(v is None for v in ecn):
            raise ValueError("ECN needs all of ecn_kmin_bytes, ecn_kmax_bytes, ecn_pmax (or none)")

    @property
    def ecn(self) -> bool:
        return self.ecn_kmin_bytes is not None


@dataclass
class BuiltNetwork:
    """A network built from a graph, with the names needed to read results."""

    sim: Simulator
    net: Network
    graph: nx.Graph
    node_names: list
    host_names: list
    node_index: dict
    port_link: list = field(default_factory=list)   # port id -> (u, v, link index)

    @property
    def n_hosts(self) -> int:
        return len(self.host_names)

    def host_index(self, name) -> int:
        """Host index of a GPU node name."""
        node = self.node_index.get(name)
        host = -1 if node is None else self.net.host_of_node(node)
        if host < 0:
            raise KeyError(f"{name!r} is not a host of this topology")
        return host

    def ports_between(self, u, v) -> list[int]:
        """Egress port ids from node ``u`` to node ``v`` (one per parallel link)."""
        return [p for p, (a, b, _) in enumerate(self.port_link) if a == u and b == v]


def _edge_int(G, u, v, data, key, minimum):
    if key not in data:
        raise ValueError(f"edge ({u!r}, {v!r}) has no {key!r} attribute")
    value = data[key]
    if isinstance(value, bool) or int(value) != value or value < minimum or value >= 1 << 63:
        raise ValueError(f"edge ({u!r}, {v!r}) {key}={value!r}: must be an integer >= {minimum} "
                         "and < 2**63")
    return int(value)


def _nic_ports(G, index, hosts, port_link, two_tables: bool):
    """CSR of the egress ports of each NIC ring (``2 * host + table``): a host's scale-out
    ports for table 0 and, with two tables, its scale-up ports for table 1 (one table:
    every port of the host, in table 0)."""
    from uesim.fabric.routing import port_fabrics
    scale_up = port_fabrics(G, port_link) if two_tables else np.zeros(len(port_link), dtype=bool)
    host_of = {name: h for h, name in enumerate(hosts)}
    rings: list[list[int]] = [[] for _ in range(2 * len(hosts))]
    for p, (a, _, _) in enumerate(port_link):
        h = host_of.get(a)
        if h is not None:
            rings[2 * h + (1 if scale_up[p] else 0)].append(p)
    offsets = np.zeros(len(rings) + 1, dtype=np.int64)
    np.cumsum([len(r) for r in rings], out=offsets[1:])
    ports = np.array([p for r in rings for p in r], dtype=np.int32)
    return offsets, ports


def _configure_pfc(net, config: FabricConfig, is_host, index, port_link):
    # thresholds per ingress link: a link's bytes are held at its receiving switch,
    # whose port buffer is the per-port budget
    cfg = config.pfc
    net.configure_pfc(mode=cfg.mode, classes=cfg.classes, quanta=cfg.quanta, alpha=cfg.alpha,
                      shared_buffer_bytes=cfg.shared_buffer_bytes, watchdog_ps=cfg.watchdog_ps)
    counters = net.port_counters()
    for p, (_, b, _) in enumerate(port_link):
        if is_host[index[b]]:
            continue                 # hosts never send PAUSE
        xoff, xon, hr = pfc_thresholds(cfg, int(counters["rate_bps"][p]), int(counters["delay_ps"][p]),
                                       config.buffer_bytes)
        net.set_pfc_port(p, xoff, xon, hr)


def build_network(G: nx.Graph, sim: Simulator | None = None, config: FabricConfig | None = None,
                  ) -> BuiltNetwork:
    """Create ports, hosts and ECMP forwarding tables for the graph ``G``.

    Parameters
    ----------
    G : networkx.Graph
        Topology following uesim's attribute schema.
    sim : Simulator, optional
        The simulator to attach to (a new one seeded from ``config.seed`` otherwise).
    config : FabricConfig, optional

    Returns
    -------
    BuiltNetwork

    Examples
    --------
    >>> import networkx as nx
    >>> from uesim.fabric import build_network
    >>> G = nx.Graph()
    >>> G.add_nodes_from(["gpu0", "gpu1"], kind="gpu", role="host")
    >>> G.add_node("sw0", kind="switch", role="tor")
    >>> G.add_edge("gpu0", "sw0", rate_bps=100_000_000_000, delay_ps=1_000_000)
    >>> G.add_edge("gpu1", "sw0", rate_bps=100_000_000_000, delay_ps=1_000_000)
    >>> built = build_network(G)
    >>> built.n_hosts, built.net.n_ports
    (2, 4)
    """
    config = config or FabricConfig()
    sim = sim if sim is not None else Simulator(seed=config.seed)
    names = list(G.nodes)
    index = {n: i for i, n in enumerate(names)}
    hosts = [n for n in names if G.nodes[n].get("kind") == "gpu"]
    if not hosts:
        raise ValueError("the topology has no host (no node with kind='gpu')")
    net = Network(sim, len(names), len(hosts), seed=config.seed,
                  switch_latency_ps=config.switch_latency_ps)
    for h, name in enumerate(hosts):
        net.set_host(h, index[name])
    is_host = np.zeros(len(names), dtype=bool)
    is_host[[index[n] for n in hosts]] = True

    port_link = []
    for u, v, data in G.edges(data=True):
        if not data.get("up", True):
            continue
        rate = _edge_int(G, u, v, data, "rate_bps", 1)
        delay = _edge_int(G, u, v, data, "delay_ps", 0)
        links = _edge_int(G, u, v, data, "links", 1) if "links" in data else 1
        for link in range(links):
            ends = []
            for a, b in ((u, v), (v, u)):
                buf = config.nic_buffer_bytes if is_host[index[a]] else config.buffer_bytes
                port = net.add_port(index[a], index[b], rate, delay, buf)
                port_link.append((a, b, link))
                if not is_host[index[a]]:
                    if config.ecn and (config.ecn_host_downlinks or not is_host[index[b]]):
                        net.configure_ecn(port, config.ecn_kmin_bytes, config.ecn_kmax_bytes,
                                          config.ecn_pmax, config.ecn_at_dequeue)
                    if config.trimming:
                        net.configure_trimming(port, config.trim_bytes, config.trim_tail_prob)
                    if config.dequeue_path:
                        net.use_dequeue_path(port)
                elif config.dequeue_path or config.trimming:
                    net.use_dequeue_path(port)
                ends.append(port)
            net.set_reverse(ends[0], ends[1])
            net.set_reverse(ends[1], ends[0])

    if config.pfc is not None:
        _configure_pfc(net, config, is_host, index, port_link)
    elif config.cbfc is not None:
        credit = config.cbfc.credit_bytes or min(config.buffer_bytes, (1 << 24) - 1)
        net.configure_pfc(mode="cbfc", credit_bytes=credit)
    if config.llr is not None:
        rates = [G.edges[u, v].get("frame_error_rate", config.llr.frame_error_rate) for u, v, _ in port_link]
        net.configure_llr(config.llr.frame_error_rate, replay=config.llr.replay,
                          seed=config.seed ^ 0x1F83D9AB, port_rates=rates)
    tables = forwarding_tables(G, names, index, is_host, hosts, port_link)
    net.set_forwarding(*tables)
    net.set_nic_ports(*_nic_ports(G, index, hosts, port_link, two_tables=tables.host_domains is not None))
    return BuiltNetwork(sim=sim, net=net, graph=G, node_names=names, host_names=hosts,
                        node_index=index, port_link=port_link)
