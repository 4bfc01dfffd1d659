"""The ideal of a collective (or of any DAG of messages and computes) on a perfect fabric.

Every message has a path latency ``alpha`` (:meth:`PathModel.alpha_ps`): for ``m``
payload bytes over the links ``1..h`` of the shortest path on the fabric that carries it
(scale-up inside a scale-up domain of a hybrid graph, scale-out otherwise) it is
``sum(delay_i) + sum_{i>=2} tx_i(last packet) + (h-1) * switch_latency``: the
propagation of every link plus store-and-forward of one packet at each switch
(``tx_i(p) = ceil(8 p / rate_i)`` ps, ``p = min(mtu_bytes, m + header_bytes)``: uesim's
transports put the short remainder packet of a message first, so the one that arrives
last is a full one; a single measured 64 KiB flow matches this to the picosecond).

The fabric between the NICs has infinite capacity; what remains are the NIC directions
(a GPU's egress and ingress on each fabric, at the sum of its port rates). A message
loads its source's egress and its destination's ingress with its wire bytes (payload
plus ``header_bytes`` per packet of ``mtu_bytes - header_bytes`` payload) and the
reverse directions with its ACKs (``ack_bytes`` per ``ack_every_bytes`` of payload for
``uet``, per ``ack_every_packets`` packets otherwise). :func:`ideal_times` runs the DAG
as a fluid schedule over those directions (:mod:`uesim.fabric.fluid`, compiled: shared max-min fairly, or in priority to
the message with the longest tail, whichever finishes first), never below a proven
lower bound. What the packet simulation adds on top (queueing in the fabric, ECMP
collisions, retransmissions, congestion-control ramp-up, pauses) is the network stall.
The closed forms per algorithm are in ``docs/collectives.md``.
"""
from __future__ import annotations

import weakref
from collections import deque
from types import SimpleNamespace

import numpy as np


SCALE_UP, SCALE_OUT = "scale_up", "scale_out"


class PathModel:
    """Latency and NIC rates of host pairs on a topology graph (cached BFS per source)."""

    def __init__(self, G, *, mtu_bytes: int, header_bytes: int, switch_latency_ps: int = 0):
        self.G = G
        self.hosts = [n for n, k in G.nodes(data="kind") if k == "gpu"]
        self.mtu, self.header = int(mtu_bytes), int(header_bytes)
        self.payload = self.mtu - self.header
        self.switch_latency = int(switch_latency_ps)
        fabrics = {d.get("fabric", SCALE_OUT) for _, _, d in G.edges(data=True)}
        self.hybrid = len(fabrics) > 1
        self._paths: dict = {}
        self._rate: dict = {}
        self._group: dict = {}               # (host, fabric) -> its group's search
        self._serial: dict = {}              # (rates after the first link, packet) -> ps
        self._rows: dict = {}                # id(group entry) -> its delays and rates per host
        self._rates: list = []               # distinct rate tuples, by id
        self._rates_ids: dict = {}
        self._host_index = {h: i for i, h in enumerate(self.hosts)}
        self._gpus = set(self.hosts)
        self._adj: dict = {}                 # fabric -> node -> usable links (see _adjacency)

    def fabric_of(self, a: int, b: int) -> str:
        """Which fabric carries host ``a`` -> host ``b``."""
        if not self.hybrid:
            return SCALE_OUT
        if self._path(a, b, SCALE_UP) is not None:
            return SCALE_UP
        return SCALE_OUT

    def _signature(self, a: int, fabric: str) -> tuple:
        """Host ``a``'s usable links on ``fabric``: hosts with the same links share every
        shortest path beyond their first hop, so they share one search."""
        return tuple(sorted((str(v), int(d["rate_bps"]), int(d["delay_ps"]))
                            for v, d in self.G.adj[self.hosts[a]].items()
                            if d.get("up", True) and (not self.hybrid or d.get("fabric", SCALE_OUT) == fabric)))

    def _search(self, src, fabric: str) -> dict:
        """Breadth-first search from node ``src`` (GPUs do not forward): per node reached,
        ``(sum of delays, rates of the links after the first)`` of its shortest path."""
        adj, gpus = self._adjacency(fabric), self._gpus
        info = {src: (0, None)}
        q = deque([src])
        while q:
            u = q.popleft()
            if u != src and u in gpus:
                continue
            delay_u, rates_u = info[u]
            for v, delay, rate in adj[u]:
                if v in info:
                    continue
                info[v] = (delay_u + delay, () if rates_u is None else rates_u + (rate,))
                q.append(v)
        return info

    def _adjacency(self, fabric: str) -> dict:
        """Per node, its usable links on ``fabric`` as ``(neighbour, delay, rate)`` in the
        graph's own order (the search's ties are broken as a search of ``G`` would)."""
        key = fabric if self.hybrid else None
        adj = self._adj.get(key)
        if adj is None:
            adj = self._adj[key] = {
                u: [(v, int(d["delay_ps"]), int(d["rate_bps"])) for v, d in nbrs.items()
                    if d.get("up", True) and (not self.hybrid or d.get("fabric", SCALE_OUT) == fabric)]
                for u, nbrs in self.G.adj.items()}
        return adj

    def _group_of(self, a: int, fabric: str) -> tuple:
        """``(representative node, its search)`` of host ``a``'s group on ``fabric``."""
        entry = self._group.get((a, fabric))
        if entry is None:
            key = (self._signature(a, fabric), fabric if self.hybrid else None)
            entry = self._paths.get(key)
            if entry is None:
                root = self.hosts[a]
                entry = self._paths[key] = (root, self._search(root, fabric))
            self._group[(a, fabric)] = entry
        return entry

    def _path(self, a: int, b: int, fabric: str):
        """``(sum of delays, rates after the first link)`` of a shortest path a -> b on
        ``fabric``, or None. One search per group of hosts with the same links."""
        root, info = self._group_of(a, fabric)
        dst = self.hosts[b]
        if dst == root and root != self.hosts[a]:
            return self._to_twin(a, root, fabric)
        if dst == root:
            return None
        return info.get(dst)

    def _to_twin(self, a: int, twin, fabric: str):
        """The path from host ``a`` to ``twin``, a host with the same links (its group's
        representative), as the breadth-first search from ``a`` finds it: the two are
        not adjacent (each would be its own neighbour), every neighbour of one is a
        neighbour of the other, so it is the two links through ``a``'s first neighbour
        that forwards (a switch). A search from ``a`` only if there is none."""
        G, src = self.G, self.hosts[a]
        for v, d in G.adj[src].items():
            if not d.get("up", True) or (self.hybrid and d.get("fabric", SCALE_OUT) != fabric):
                continue
            if G.nodes[v].get("kind") == "gpu":
                continue                                 # GPUs do not forward
            e = G.adj[v].get(twin)
            if e is not None and e.get("up", True) and (not self.hybrid or e.get("fabric", SCALE_OUT) == fabric):
                return int(d["delay_ps"]) + int(e["delay_ps"]), (int(e["rate_bps"]),)
        own = self._paths.get((a, "own", fabric))
        if own is None:
            own = self._paths[(a, "own", fabric)] = self._search(src, fabric)
        return own.get(twin)

    def alpha_ps(self, a: int, b: int, size_bytes: int) -> int:
        """One-way latency of a ``size_bytes`` message from host a to host b (see module doc)."""
        path = self._path(a, b, self.fabric_of(a, b))
        if path is None:
            raise ValueError(f"host {b} is not reachable from host {a}")
        delay, rates = path
        return delay + self._serial_ps(rates, min(self.mtu, size_bytes + self.header))

    def alpha_many(self, a, b, size_bytes) -> np.ndarray:
        """:meth:`alpha_ps` of many messages (int arrays ``a``, ``b``, ``size_bytes``) on a
        single-fabric graph: a row of delays and link-rate tuples per group of hosts
        (one per source, the group's own representative patched in), then numpy per
        message. Raises ValueError for an unreachable pair, as :meth:`alpha_ps` does."""
        if self.hybrid:
            raise ValueError("alpha_many: a hybrid graph's fabric is chosen per pair; use alpha_ps")
        a, b = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        size = np.asarray(size_bytes, dtype=np.int64)
        delay, rid = self._pairs(a, b)
        if (rid < 0).any():
            i = int(np.flatnonzero(rid < 0)[0])
            raise ValueError(f"host {int(b[i])} is not reachable from host {int(a[i])}")
        last = np.minimum(self.mtu, size + self.header)    # a full packet unless it fits in one
        # distinct (rates, packet) pairs as one int64 key each (a 1-D unique sorts fast)
        keys, inv = np.unique(rid * (self.mtu + 1) + last, return_inverse=True)
        serial = np.array([self._serial_ps(self._rates[k // (self.mtu + 1)], k % (self.mtu + 1))
                           for k in keys.tolist()], dtype=np.int64)
        return delay + serial[inv.ravel()]

    def links_many(self, a, b) -> np.ndarray:
        """Links on the shortest path of each host pair (int arrays ``a``, ``b``) on a
        single-fabric graph; 0 where ``b`` is unreachable from ``a`` (or is ``a``)."""
        if self.hybrid:
            raise ValueError("links_many: a hybrid graph's fabric is chosen per pair")
        _, rid = self._pairs(np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64))
        per_rates = np.array([1 + len(r) for r in self._rates] + [0], dtype=np.int64)
        return per_rates[rid]                      # rid -1: the appended 0

    def _pairs(self, a: np.ndarray, b: np.ndarray) -> tuple:
        """Per host pair: its path delay and rates' id (-1: none), from one row per source."""
        delay, rid = np.empty(len(a), dtype=np.int64), np.empty(len(a), dtype=np.int64)
        order = np.argsort(a, kind="stable")
        starts = np.flatnonzero(np.r_[True, a[order][1:] != a[order][:-1]]) if len(a) else np.zeros(0, np.int64)
        for lo, hi in zip(starts.tolist(), starts[1:].tolist() + [len(a)]):
            idx = order[lo:hi]
            row_delay, row_rid = self._row(int(a[idx[0]]))
            delay[idx], rid[idx] = row_delay[b[idx]], row_rid[b[idx]]
        return delay, rid

    def _row(self, a: int) -> tuple:
        """Per destination host: the path delay from host ``a`` and its rates' id (-1:
        unreachable, or ``a`` itself), on the one fabric of a single-fabric graph."""
        root, info = entry = self._group_of(a, SCALE_OUT)
        rows = self._rows.get(id(entry))
        if rows is None:
            n = len(self.hosts)
            d_row, r_row = np.full(n, -1, dtype=np.int64), np.full(n, -1, dtype=np.int64)
            for j, h in enumerate(self.hosts):
                p = info.get(h) if h != root else None
                if p is not None:
                    d_row[j], r_row[j] = p[0], self._rates_id(p[1])
            rows = self._rows[id(entry)] = (d_row, r_row)
        d_row, r_row = rows[0].copy(), rows[1].copy()
        if root != self.hosts[a]:                  # the representative, from a's own search
            j = self._host_index[root]
            p = self._path(a, j, SCALE_OUT)
            d_row[j], r_row[j] = (p[0], self._rates_id(p[1])) if p is not None else (-1, -1)
        d_row[a] = r_row[a] = -1
        return d_row, r_row

    def _rates_id(self, rates: tuple) -> int:
        r = self._rates_ids.get(rates)
        if r is None:
            r = self._rates_ids[rates] = len(self._rates)
            self._rates.append(rates)
        return r

    def _serial_ps(self, rates: tuple, last: int) -> int:
        """Store and forward of a ``last``-byte packet at each link after the first."""
        serial = self._serial.get((rates, last))
        if serial is None:
            serial = self._serial[(rates, last)] = (sum(-(-8 * last * 10**12 // r) for r in rates)
                                                    + len(rates) * self.switch_latency)
        return serial

    def nic_rate_bps(self, a: int, fabric: str) -> int:
        """Total rate of host ``a``'s links on ``fabric`` (all of them on a single-fabric graph)."""
        key = (a, fabric if self.hybrid else None)
        if key not in self._rate:
            G = self.G
            self._rate[key] = sum(int(d["rate_bps"]) * int(d.get("links", 1))
                                  for _, d in G.adj[self.hosts[a]].items()
                                  if d.get("up", True) and (not self.hybrid or d.get("fabric", SCALE_OUT) == fabric))
        return self._rate[key]

    def port_rate_bps(self, a: int, fabric: str) -> int:
        """The fastest single link of host ``a`` on ``fabric`` (what one pinned queue pair gets)."""
        G = self.G
        return max(int(d["rate_bps"]) for _, d in G.adj[self.hosts[a]].items()
                   if d.get("up", True) and (not self.hybrid or d.get("fabric", SCALE_OUT) == fabric))

    def wire_bytes(self, size_bytes: int) -> int:
        """Bytes on the wire for ``size_bytes`` of payload."""
        return size_bytes + max(1, -(-size_bytes // self.payload)) * self.header


#: each simulation's path model, kept while the simulation lives: its graph and its
#: transport's packet sizes are fixed once built, and the searches are the costly part
_MODELS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def path_model(sim) -> "PathModel":
    """The :class:`PathModel` of a :class:`~uesim.experiments.simulation.Simulation`'s
    fabric (one per simulation: the estimate, the ideal and a training step share its
    searches)."""
    pm = _MODELS.get(sim)
    if pm is None or pm.G is not sim.graph:
        tr = sim.sc["transport"]
        pm = _MODELS[sim] = PathModel(sim.graph, mtu_bytes=tr["mtu_bytes"], header_bytes=tr["header_bytes"],
                                      switch_latency_ps=sim.sc["fabric"]["switch_latency_ps"])
    return pm


def ideal_in(sim, workload, pm: "PathModel | None" = None) -> dict:
    """:func:`ideal_times` of ``workload`` (a DAG of messages and computes) on ``sim``'s
    fabric, with its transport's ACK load and, for RoCE, queue pairs pinned to one port."""
    tr = sim.sc["transport"]
    return ideal_times(SimpleNamespace(workload=workload), pm or path_model(sim), ack_bytes=tr["ack_bytes"],
                       ack_every_bytes=tr.get("ack_every_bytes") if tr["name"] == "uet" else None,
                       ack_every_packets=tr.get("ack_every_packets", 1), pinned=tr["name"] == "roce")


#: the priority schedule is tried when messages x the widest DAG level (messages at the
#: same depth: about how many are in flight at once) stays within this budget; its
#: strict-priority allocation re-sorts every message in flight at every event
PRIORITY_MAX_WORK = 20_000_000


def ideal_times(compiled, pm: PathModel, *, ack_bytes: int = 64, ack_every_bytes: int | None = None,
                ack_every_packets: int = 1, pinned: bool = False) -> dict:
    """The ideal schedule of a compiled collective: its DAG on a perfect fabric.

    The fabric between the NICs has infinite capacity and no queues; what remains are
    the bottlenecks no fabric can remove. Every NIC direction (a GPU's egress and its
    ingress on each fabric, at the sum of its port rates) is shared max-min fairly by
    the messages using it; a message's data loads its source's egress and destination's
    ingress, its ACKs (``ack_bytes`` per ``ack_every_bytes`` of payload for UET, per
    ``ack_every_packets`` packets otherwise) the reverse directions. A message starts
    when its DAG predecessors have finished (plus its delay), and finishes its path
    latency ``alpha`` (:meth:`PathModel.alpha_ps`) after its last byte leaves the NIC.
    ``pinned`` (a RoCE queue pair) caps a message at the fastest single port of its
    source on that fabric. Compute nodes take their duration.

    Two such perfect-fabric schedules are computed: NIC directions shared max-min
    fairly, and served in strict priority to the message with the longest tail (its
    latency plus the longest DAG path after it; tried on DAGs of at most
    DAGs whose messages x widest level stay within :data:`PRIORITY_MAX_WORK`). The
    ideal is the shorter of the two,
    and never below ``bound_ps``, a proven lower bound: the algorithm's critical path
    with every message alone (``critical_ps``) and, per NIC direction, the optimal
    preemptive one-machine schedule of its messages between their earliest starts and
    their tails (Jackson's rule). A transport that shares NICs unevenly in the critical
    path's favour can still finish a little inside the ideal (a tree's two children of
    one parent, say): ``uesim collective`` and ``benchmarks/collective_matrix.py`` flag
    any run below 0.98x of it.

    Returns
    -------
    dict
        ``total_ps`` (the ideal); ``fair_share_ps`` and ``priority_ps``, the two
        schedules; ``bound_ps``, the proven bound; ``finish_ps`` (of the schedule
        taken) and ``alpha_ps`` per node; ``critical_ps``: the
        longest DAG path with every message alone at its NIC rate (no sharing);
        ``nic_bound_ps``: the busiest NIC direction's bytes at its rate.
    """
    w = compiled.workload
    a = w.arrays()
    n = len(w)
    kind, size, delay = a["kind"], a["size"], a["delay"]
    from uesim.fabric.fluid import dag_paths, fluid_finish, one_resource_bounds, widest_level
    PS8 = 8e12
    # per message: fabric, wire bytes, ACK/wire ratio, latency, resources, cap; worked out
    # once per distinct (source, destination, size), in order of first use
    res_id: dict = {}
    caps: list = []

    def rid(host, direction, fab):
        k = (host, direction, fab)
        r = res_id.get(k)
        if r is None:
            r = res_id[k] = len(caps)
            caps.append(pm.nic_rate_bps(host, fab) / PS8)         # bytes per ps
        return r

    msg, uniq, first, inverse = w.distinct_messages()
    wire = np.zeros(n)
    ack_ratio = np.zeros(n)
    alpha = np.zeros(n, dtype=np.int64)
    res = np.zeros((n, 4), dtype=np.int64)
    flow_cap = np.full(n, np.inf)
    if len(msg):
        by_first = np.argsort(first, kind="stable")
        u_wire, u_ack, u_alpha = np.zeros(len(uniq)), np.zeros(len(uniq)), np.zeros(len(uniq), np.int64)
        u_res, u_cap = np.zeros((len(uniq), 4), np.int64), np.full(len(uniq), np.inf)
        if not pm.hybrid:           # one fabric: numpy over the distinct messages
            _distinct_terms(pm, uniq, by_first, caps, u_wire, u_ack, u_alpha, u_res, u_cap,
                            ack_bytes=ack_bytes, ack_every_bytes=ack_every_bytes,
                            ack_every_packets=ack_every_packets, pinned=pinned)
        hybrid_rows = by_first.tolist() if pm.hybrid else ()     # the fabric is chosen per pair
        for u in hybrid_rows:
            s_, d_, m = (int(x) for x in uniq[u])
            fab = pm.fabric_of(s_, d_)
            wb = pm.wire_bytes(m)
            packets = max(1, -(-m // pm.payload))
            n_acks = -(-m // ack_every_bytes) if ack_every_bytes else -(-packets // ack_every_packets)
            u_wire[u], u_ack[u], u_alpha[u] = wb, n_acks * ack_bytes / wb, pm.alpha_ps(s_, d_, m)
            u_res[u] = (rid(s_, 0, fab), rid(d_, 1, fab), rid(d_, 0, fab), rid(s_, 1, fab))
            if pinned:
                u_cap[u] = pm.port_rate_bps(s_, fab) / PS8
        wire[msg], ack_ratio[msg], alpha[msg] = u_wire[inverse], u_ack[inverse], u_alpha[inverse]
        res[msg], flow_cap[msg] = u_res[inverse], u_cap[inverse]
    cap = np.asarray(caps, dtype=np.float64)

    # contention-free critical path (nodes are stored in a topological order)
    own = np.zeros(n)
    if len(msg):
        alone = np.minimum(np.minimum(cap[res[msg, 0]], cap[res[msg, 1]]), flow_cap[msg])
        own[msg] = wire[msg] / alone + alpha[msg]
    own[kind == 1] = size[kind == 1]
    # through: longest path to a node's end; after: longest path after it
    through, after = dag_paths(a["succ_ptr"], a["succ"], own, delay)
    critical = float(through.max()) if n else 0.0
    load = np.zeros(len(cap))
    if len(msg):
        np.add.at(load, res[msg, 0], wire[msg])
        np.add.at(load, res[msg, 1], wire[msg])
        np.add.at(load, res[msg, 2], wire[msg] * ack_ratio[msg])
        np.add.at(load, res[msg, 3], wire[msg] * ack_ratio[msg])
    nic_bound = float((load / cap).max()) if len(cap) else 0.0
    head = through - own - delay                               # earliest start of each node

    # the fluid schedules (events: message starts, transfer ends, node finishes)
    prio = alpha + after                  # a message's tail: what must follow its last byte
    weights = np.stack([np.ones(n), np.ones(n), ack_ratio, ack_ratio], axis=1)
    dag = (kind.astype(np.int8), size, wire, res, weights, cap, flow_cap, alpha, delay,
           a["succ_ptr"], a["succ"], a["n_pred"])
    fair_fin = fluid_finish(*dag)
    # strict priority re-sorts the messages in flight at every event: only where that is cheap
    prio_fin = (fluid_finish(*dag, priority=prio.astype(np.float64))
                if len(msg) * widest_level(a["succ_ptr"], a["succ"], kind.astype(np.int8)) <= PRIORITY_MAX_WORK
                else np.full(n, np.inf))
    finish = fair_fin if fair_fin.max(initial=0) <= prio_fin.max(initial=0) else prio_fin
    finish_arr = np.ceil(finish - 1e-3).astype(np.int64)      # float rounding, not a picosecond late
    total = int(finish_arr.max()) if n else 0
    bound = critical
    for col in (0, 1):
        b = one_resource_bounds(res[msg, col], head[msg], wire[msg] / cap[res[msg, col]],
                                alpha[msg] + after[msg])
        bound = max(bound, b)
    lower = int(np.ceil(bound - 1e-3))
    return {"total_ps": max(total, lower), "bound_ps": lower, "fair_share_ps": _ps(fair_fin),
            "priority_ps": _ps(prio_fin) if np.isfinite(prio_fin).all() else None, "finish_ps": finish_arr, "alpha_ps": alpha,
            "critical_ps": int(np.ceil(critical)), "nic_bound_ps": int(np.ceil(nic_bound))}


def _distinct_terms(pm, uniq, by_first, caps, u_wire, u_ack, u_alpha, u_res, u_cap, *, ack_bytes,
                    ack_every_bytes, ack_every_packets, pinned) -> None:
    """The per-message terms of :func:`ideal_times` for the distinct ``(source,
    destination, size)`` rows ``uniq`` on a single-fabric graph, in numpy: wire bytes,
    ACK ratio, latency, resources (numbered, and ``caps`` appended, in the order the
    row-by-row loop meets them: rows in first-use order ``by_first``, each its source's
    egress, destination's ingress, destination's egress, source's ingress) and the
    pinned cap. Fills the ``u_*`` arrays in place."""
    PS8 = 8e12
    rows = uniq[by_first]
    s, d, m = rows[:, 0], rows[:, 1], rows[:, 2]
    packets = np.maximum(1, -(-m // pm.payload))
    wb = m + packets * pm.header                     # PathModel.wire_bytes per row
    n_acks = -(-m // ack_every_bytes) if ack_every_bytes else -(-packets // ack_every_packets)
    u_wire[by_first] = wb
    u_ack[by_first] = (n_acks * ack_bytes) / wb
    u_alpha[by_first] = pm.alpha_many(s, d, m)
    # resource keys host * 2 + direction (0 egress, 1 ingress), numbered by first use
    keys = np.stack([2 * s, 2 * d + 1, 2 * d, 2 * s + 1], axis=1).ravel()
    first = np.full(2 * len(pm.hosts), len(keys), dtype=np.int64)    # each key's first use
    np.minimum.at(first, keys, np.arange(len(keys)))
    used = np.flatnonzero(first < len(keys))
    in_order = used[np.argsort(first[used], kind="stable")]           # keys by first use
    number = np.empty(len(first), dtype=np.int64)
    number[in_order] = np.arange(len(caps), len(caps) + len(in_order))
    caps.extend(pm.nic_rate_bps(int(k) // 2, SCALE_OUT) / PS8 for k in in_order.tolist())
    u_res[by_first] = number[keys].reshape(-1, 4)
    if pinned:
        src_hosts, inv = np.unique(s, return_inverse=True)
        port = np.array([pm.port_rate_bps(int(h), SCALE_OUT) / PS8 for h in src_hosts.tolist()])
        u_cap[by_first] = port[inv.ravel()]


def _ps(finish) -> int:
    """The last finish of a schedule in whole ps (float rounding, not a picosecond late)."""
    return int(np.ceil(finish.max(initial=0) - 1e-3))
