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
as a fluid schedule over those directions (shared max-min fairly, or in priority to
the message with the longest tail, whichever finishes first), never below a proven
lower bound. What the packet simulation adds on top (queueing in the fabric, ECMP
collisions, retransmissions, congestion-control ramp-up, pauses) is the network stall.
The closed forms per algorithm are in ``docs/collectives.md``.
"""
from __future__ import annotations

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
        G = self.G
        info = {src: (0, None)}
        q = deque([src])
        while q:
            u = q.popleft()
            if u != src and G.nodes[u].get("kind") == "gpu":
                continue
            delay_u, rates_u = info[u]
            for v, d in G.adj[u].items():
                if v in info or not d.get("up", True):
                    continue
                if self.hybrid and d.get("fabric", SCALE_OUT) != fabric:
                    continue
                rate = int(d["rate_bps"])
                info[v] = (delay_u + int(d["delay_ps"]), () if rates_u is None else rates_u + (rate,))
                q.append(v)
        return info

    def _path(self, a: int, b: int, fabric: str):
        """``(sum of delays, rates after the first link)`` of a shortest path a -> b on
        ``fabric``, or None. One search per group of hosts with the same links."""
        key = (self._signature(a, fabric), fabric if self.hybrid else None)
        entry = self._paths.get(key)
        if entry is None:
            root = self.hosts[a]
            entry = self._paths[key] = (root, self._search(root, fabric))
        root, info = entry
        dst = self.hosts[b]
        if dst == root and root != self.hosts[a]:
            # b is the group's representative: a's own search (one pair per group)
            own = self._paths.get((a, "own", fabric))
            if own is None:
                own = self._paths[(a, "own", fabric)] = self._search(self.hosts[a], fabric)
            return own.get(dst)
        if dst == root:
            return None
        return info.get(dst)

    def alpha_ps(self, a: int, b: int, size_bytes: int) -> int:
        """One-way latency of a ``size_bytes`` message from host a to host b (see module doc)."""
        path = self._path(a, b, self.fabric_of(a, b))
        if path is None:
            raise ValueError(f"host {b} is not reachable from host {a}")
        delay, rates = path
        last = min(self.mtu, size_bytes + self.header)     # a full packet unless it fits in one
        return delay + sum(-(-8 * last * 10**12 // r) for r in rates) + len(rates) * self.switch_latency

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


def max_min_rates(res, weight, cap, flow_cap):
    """Weighted max-min fair rates by progressive filling.

    Flow ``f`` uses resource ``res[f, j]`` at ``weight[f, j]`` times its rate; resource
    ``r`` carries at most ``cap[r]``; flow ``f`` runs at most at ``flow_cap[f]``. All
    flows grow together until a resource is full or a flow reaches its cap; those flows
    freeze; the rest grow on.

    >>> import numpy as np
    >>> res = np.array([[0], [0], [1]]); w = np.ones((3, 1))
    >>> max_min_rates(res, w, np.array([10.0, 10.0]), np.array([np.inf, 2.0, np.inf])).tolist()
    [8.0, 2.0, 10.0]
    """
    n = len(res)
    rate = np.zeros(n)
    live = np.ones(n, dtype=bool)
    remcap = cap.astype(np.float64).copy()
    full = np.zeros(len(cap), dtype=bool)
    while live.any():
        idx = np.flatnonzero(live)
        r, wt = res[idx], weight[idx]
        wsum = np.bincount(r.ravel(), weights=wt.ravel(), minlength=len(cap))
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(wsum > 0, remcap / wsum, np.inf)
        level = min(share.min(), (flow_cap[idx] - rate[idx]).min())
        rate[idx] += level
        remcap -= level * wsum
        full |= (wsum > 0) & (remcap <= 1e-9 * cap)
        stop = full[r].any(axis=1) & (wt > 0).any(axis=1) | (rate[idx] >= flow_cap[idx] * (1 - 1e-12))
        # a flow whose resources are all weightless for it is bounded only by its cap
        stop |= ~np.isfinite(level)
        live[idx[stop]] = False
    return rate


def path_model(sim) -> "PathModel":
    """The :class:`PathModel` of a :class:`~uesim.experiments.simulation.Simulation`'s fabric."""
    tr = sim.sc["transport"]
    return PathModel(sim.graph, mtu_bytes=tr["mtu_bytes"], header_bytes=tr["header_bytes"],
                     switch_latency_ps=sim.sc["fabric"]["switch_latency_ps"])


def ideal_in(sim, workload, pm: "PathModel | None" = None) -> dict:
    """:func:`ideal_times` of ``workload`` (a DAG of messages and computes) on ``sim``'s
    fabric, with its transport's ACK load and, for RoCE, queue pairs pinned to one port."""
    tr = sim.sc["transport"]
    return ideal_times(SimpleNamespace(workload=workload), pm or path_model(sim), ack_bytes=tr["ack_bytes"],
                       ack_every_bytes=tr.get("ack_every_bytes") if tr["name"] == "uet" else None,
                       ack_every_packets=tr.get("ack_every_packets", 1), pinned=tr["name"] == "roce")


#: the priority schedule is tried when messages x the widest DAG level (messages at the
#: same depth: about how many are in flight at once) stays within this budget; its
#: strict-priority allocation is a Python loop over the messages in flight per event
PRIORITY_MAX_WORK = 20_000_000


def priority_rates(res, weight, cap, flow_cap, priority):
    """Rates of messages served in order of ``priority`` (largest first), each taking
    what its resources have left at full speed (strict priority, no sharing).

    ``res`` (messages x resources) holds resource ids, ``weight`` the load per unit of
    rate on each, ``cap`` each resource's capacity, ``flow_cap`` each message's own cap.

    >>> priority_rates(np.array([[0], [0]]), np.ones((2, 1)), np.array([10.0]),
    ...                np.array([np.inf, np.inf]), np.array([1.0, 2.0])).tolist()
    [0.0, 10.0]
    """
    left = np.asarray(cap, dtype=np.float64).copy()
    rate = np.zeros(len(res))
    for m in np.argsort(-np.asarray(priority), kind="stable").tolist():
        r = flow_cap[m]
        for j in range(res.shape[1]):
            wj = weight[m, j]
            if wj > 0:
                r = min(r, left[res[m, j]] / wj)
        r = max(r, 0.0)
        rate[m] = r
        for j in range(res.shape[1]):
            left[res[m, j]] -= r * weight[m, j]
    return rate


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
    import heapq
    w = compiled.workload
    a = w.arrays()
    n = len(w)
    kind, src, dst, size, delay = a["kind"], a["src"], a["dst"], a["size"], a["delay"]
    succ_ptr, succ = a["succ_ptr"].tolist(), a["succ"].tolist()
    waiting = a["n_pred"].tolist()
    PS8 = 8e12
    # per message: fabric, wire bytes, ACK/wire ratio, latency, resources, cap
    res_id: dict = {}
    caps: list = []

    def rid(host, direction, fab):
        k = (host, direction, fab)
        r = res_id.get(k)
        if r is None:
            r = res_id[k] = len(caps)
            caps.append(pm.nic_rate_bps(host, fab) / PS8)         # bytes per ps
        return r

    msg = np.flatnonzero((kind == 0) & (size > 0))
    wire = np.zeros(n)
    ack_ratio = np.zeros(n)
    alpha = np.zeros(n, dtype=np.int64)
    res = np.zeros((n, 4), dtype=np.int64)
    flow_cap = np.full(n, np.inf)
    cache: dict = {}
    src_l, dst_l, size_l = src.tolist(), dst.tolist(), size.tolist()
    for node in msg.tolist():
        s_, d_, m = src_l[node], dst_l[node], size_l[node]
        key = (s_, d_, m)
        info = cache.get(key)
        if info is None:
            fab = pm.fabric_of(s_, d_)
            wb = pm.wire_bytes(m)
            packets = max(1, -(-m // pm.payload))
            n_acks = -(-m // ack_every_bytes) if ack_every_bytes else -(-packets // ack_every_packets)
            fcap = pm.port_rate_bps(s_, fab) / PS8 if pinned else np.inf
            info = cache[key] = (wb, n_acks * ack_bytes / wb, pm.alpha_ps(s_, d_, m),
                                 (rid(s_, 0, fab), rid(d_, 1, fab), rid(d_, 0, fab), rid(s_, 1, fab)), fcap)
        wire[node], ack_ratio[node], alpha[node], res[node], flow_cap[node] = info
    cap = np.asarray(caps, dtype=np.float64)

    # contention-free critical path (nodes are stored in a topological order)
    own = np.zeros(n)
    if len(msg):
        alone = np.minimum(np.minimum(cap[res[msg, 0]], cap[res[msg, 1]]), flow_cap[msg])
        own[msg] = wire[msg] / alone + alpha[msg]
    own[kind == 1] = size[kind == 1]
    frm = np.asarray(w.edges_from, dtype=np.int64)
    to = np.asarray(w.edges_to, dtype=np.int64)
    crit = np.zeros(n)
    pred_order = np.argsort(to, kind="stable")
    frm_s, to_s = frm[pred_order].tolist(), to[pred_order].tolist()
    own_l, delay_l, crit_l = own.tolist(), delay.tolist(), crit.tolist()
    e = 0
    for node in range(n):
        best = 0.0
        while e < len(to_s) and to_s[e] == node:
            c = crit_l[frm_s[e]]
            if c > best:
                best = c
            e += 1
        crit_l[node] = best + delay_l[node] + own_l[node]
    critical = max(crit_l) if n else 0.0
    load = np.zeros(len(cap))
    if len(msg):
        np.add.at(load, res[msg, 0], wire[msg])
        np.add.at(load, res[msg, 1], wire[msg])
        np.add.at(load, res[msg, 2], wire[msg] * ack_ratio[msg])
        np.add.at(load, res[msg, 3], wire[msg] * ack_ratio[msg])
    nic_bound = float((load / cap).max()) if len(cap) else 0.0

    # the lower bound: no schedule beats a NIC direction's heads + work + tails
    head = np.asarray(crit_l) - own - delay                    # earliest start of each node
    after = np.zeros(n)
    for node in range(n - 1, -1, -1):                          # longest path after a node ends
        best = 0.0
        for k in range(succ_ptr[node], succ_ptr[node + 1]):
            s2 = succ[k]
            c = delay_l[s2] + own_l[s2] + after[s2]
            if c > best:
                best = c
        after[node] = best
    # the fluid schedule: events are message starts, transfer ends and node finishes
    def fluid(allocate):
        waiting = a["n_pred"].tolist()
        finish = np.zeros(n)
        ready_at = np.zeros(n)
        START, DONE = 0, 1
        heap = [(float(delay_l[v]), START, v) for v in range(n) if waiting[v] == 0]
        heapq.heapify(heap)
        active: list = []          # message nodes transferring
        remaining: dict = {}
        rates = np.zeros(0)
        t = 0.0
        dirty = False

        def done(v, at):
            finish[v] = at
            for k in range(succ_ptr[v], succ_ptr[v + 1]):
                s2 = succ[k]
                if at > ready_at[s2]:
                    ready_at[s2] = at
                waiting[s2] -= 1
                if waiting[s2] == 0:
                    heapq.heappush(heap, (ready_at[s2] + delay_l[s2], START, s2))

        while heap or active:
            if dirty and active:
                idx = np.asarray(active)
                wts = np.stack([np.ones(len(idx)), np.ones(len(idx)), ack_ratio[idx], ack_ratio[idx]], axis=1)
                rates = allocate(idx, wts)
                rem = np.asarray([remaining[v] for v in active])
                dirty = False
            with np.errstate(divide="ignore"):    # a message a priority schedule holds back
                t_fin = t + float((rem / rates).min()) if active else np.inf
            t_evt = heap[0][0] if heap else np.inf
            if t_fin <= t_evt:
                dt = t_fin - t
                rem = rem - rates * dt
                t = t_fin
                ends = rem <= rates * 0.5 + 1e-9 * wire[np.asarray(active)]
                keep = []
                for v, r_left, end in zip(active, rem.tolist(), ends.tolist()):
                    if end:
                        heapq.heappush(heap, (t + alpha[v], DONE, v))
                    else:
                        keep.append(v)
                        remaining[v] = r_left
                active = keep
                rem = rem[~ends]
                dirty = True
                continue
            if active:
                rem = rem - rates * (t_evt - t)
                for v, r_left in zip(active, rem.tolist()):
                    remaining[v] = r_left
            t = t_evt
            while heap and heap[0][0] <= t:
                at, what, v = heapq.heappop(heap)
                if what == DONE:
                    done(v, at)
                elif kind[v] == 1 or size_l[v] == 0 or wire[v] == 0:
                    heapq.heappush(heap, (at + (size_l[v] if kind[v] == 1 else 0), DONE, v))
                else:
                    active.append(v)
                    remaining[v] = wire[v]
                    dirty = True
            if active:
                rem = np.asarray([remaining[v] for v in active])
        return finish

    prio = alpha + after                  # a message's tail: what must follow its last byte
    fair_fin = fluid(lambda idx, w_: max_min_rates(res[idx], w_, cap, flow_cap[idx]))
    # strict priority is a Python loop per event over the active messages: only small DAGs
    prio_fin = (fluid(lambda idx, w_: priority_rates(res[idx], w_, cap, flow_cap[idx], prio[idx]))
                if len(msg) * _widest_level(n, frm_s, to_s, kind) <= PRIORITY_MAX_WORK else np.full(n, np.inf))
    finish = fair_fin if fair_fin.max(initial=0) <= prio_fin.max(initial=0) else prio_fin
    finish_arr = np.ceil(finish - 1e-3).astype(np.int64)      # float rounding, not a picosecond late
    total = int(finish_arr.max()) if n else 0
    bound = critical
    for col in (0, 1):
        b = _one_resource_bounds(res[msg, col], head[msg], wire[msg] / cap[res[msg, col]],
                                 alpha[msg] + after[msg])
        bound = max(bound, b)
    lower = int(np.ceil(bound - 1e-3))
    return {"total_ps": max(total, lower), "bound_ps": lower, "fair_share_ps": _ps(fair_fin),
            "priority_ps": _ps(prio_fin) if np.isfinite(prio_fin).all() else None, "finish_ps": finish_arr, "alpha_ps": alpha,
            "critical_ps": int(np.ceil(critical)), "nic_bound_ps": int(np.ceil(nic_bound))}


def _widest_level(n: int, frm_s: list, to_s: list, kind) -> int:
    """The most messages at one DAG depth (edges sorted by target, nodes in topological
    order): a cheap estimate of how many can be in flight at once."""
    level = [0] * n
    e = 0
    for node in range(n):
        best = -1
        while e < len(to_s) and to_s[e] == node:
            if level[frm_s[e]] > best:
                best = level[frm_s[e]]
            e += 1
        level[node] = best + 1
    lv = np.asarray(level)[np.asarray(kind) == 0]
    return int(np.bincount(lv).max()) if len(lv) else 0


def _ps(finish) -> int:
    """The last finish of a schedule in whole ps (float rounding, not a picosecond late)."""
    return int(np.ceil(finish.max(initial=0) - 1e-3))


def _one_resource_bounds(resource, release, work, tail) -> float:
    """The largest, over resources, of the optimal preemptive one-machine makespan.

    Each job needs ``work`` ps of its ``resource`` (a NIC direction), may start at
    ``release`` and is followed by ``tail`` ps that need no resource. Jackson's
    preemptive schedule (serve the released job with the longest tail first) minimises
    ``max(completion + tail)`` on one machine, so it bounds from below any schedule
    that also shares the resource with others.

    >>> _one_resource_bounds(np.array([0, 0]), np.array([0.0, 0.0]), np.array([5.0, 3.0]),
    ...                      np.array([1.0, 10.0]))
    13.0
    """
    import heapq
    best = 0.0
    if len(resource) == 0:
        return best
    order = np.lexsort((release, resource))
    r_s, rel_s, w_s, q_s = (resource[order].tolist(), release[order].tolist(),
                            work[order].tolist(), tail[order].tolist())
    i, n = 0, len(order)
    while i < n:
        j = i
        while j < n and r_s[j] == r_s[i]:
            j += 1
        t = rel_s[i]
        heap: list = []
        k = i
        while k < j or heap:
            if not heap and t < rel_s[k]:
                t = rel_s[k]
            while k < j and rel_s[k] <= t:
                heapq.heappush(heap, [-q_s[k], w_s[k]])
                k += 1
            nxt = rel_s[k] if k < j else np.inf
            job = heap[0]
            if t + job[1] <= nxt:
                t += job[1]
                heapq.heappop(heap)
                if t - job[0] > best:
                    best = t - job[0]
            else:
                job[1] -= nxt - t
                t = nxt
        i = j
    return best
