"""The alpha-beta model: the ideal time of a compiled collective on an idle fabric.

A compiled collective (:mod:`.algorithms`) gives every flow a **round**, its step in
the lock-step schedule. The ideal time is the sum over rounds of

    alpha_round + beta_round

* ``alpha_round``: the largest one-way latency of the round's messages. For a message
  of ``m`` payload bytes over a path of links ``1..h`` (shortest path on the fabric that
  carries it: scale-up inside a scale-up domain of a hybrid graph, scale-out otherwise)
  it is ``sum(delay_i) + sum_{i>=2} tx_i(last packet) + (h-1) * switch_latency``: the
  propagation of every link plus store-and-forward of one packet at each switch
  (``tx_i(p) = ceil(8 p / rate_i)`` ps, ``p = min(mtu_bytes, m + header_bytes)``: uesim's
  transports put the short remainder packet of a message first, so the one that arrives
  last is a full one; a single measured 64 KiB flow matches this to the picosecond).
* ``beta_round``: the busiest NIC direction of the round, ``8 * bytes / rate`` with
  ``rate`` the GPU's total link rate on that fabric (the sum over its ports); ``bytes``
  on a NIC's egress are the wire bytes of the messages it sends (payload plus
  ``header_bytes`` per packet of ``mtu_bytes - header_bytes`` payload) plus the ACK bytes
  of the messages it receives (``ack_bytes`` per ``ack_every_bytes`` of payload for
  ``uet``, per packet otherwise), and on its ingress the reverse.

Concurrent messages of a round share a NIC at full rate (beta adds their bytes); the
switch fabric in between is assumed idle and non-blocking, so what the packet
simulation adds on top (queueing in the fabric, ECMP collisions, retransmissions,
congestion-control ramp-up) is the network stall.
"""
from __future__ import annotations

from collections import deque

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
        if b in self._bfs(a, SCALE_UP):
            return SCALE_UP
        return SCALE_OUT

    def _bfs(self, a: int, fabric: str) -> dict:
        """host index -> list of (rate, delay) links on a shortest path from host a."""
        key = (a, fabric if self.hybrid else None)
        if key in self._paths:
            return self._paths[key]
        G = self.G
        src = self.hosts[a]
        parent = {src: None}
        q = deque([src])
        while q:
            u = q.popleft()
            if u != src and G.nodes[u].get("kind") == "gpu":
                continue                       # a GPU does not forward
            for v, d in G.adj[u].items():
                if v in parent or not d.get("up", True):
                    continue
                if self.hybrid and d.get("fabric", SCALE_OUT) != fabric:
                    continue
                parent[v] = u
                q.append(v)
        index = {h: i for i, h in enumerate(self.hosts)}
        out = {}
        for v in parent:
            if v == src or v not in index:
                continue
            links, x = [], v
            while parent[x] is not None:
                d = G.edges[parent[x], x]
                links.append((int(d["rate_bps"]), int(d["delay_ps"])))
                x = parent[x]
            out[index[v]] = links[::-1]
        self._paths[key] = out
        return out

    def alpha_ps(self, a: int, b: int, size_bytes: int) -> int:
        """One-way latency of a ``size_bytes`` message from host a to host b (see module doc)."""
        links = self._bfs(a, self.fabric_of(a, b)).get(b)
        if links is None:
            raise ValueError(f"host {b} is not reachable from host {a}")
        last = min(self.mtu, size_bytes + self.header)     # a full packet unless it fits in one
        t = sum(d for _, d in links)
        t += sum(-(-8 * last * 10**12 // r) for r, _ in links[1:])
        return t + (len(links) - 1) * self.switch_latency

    def nic_rate_bps(self, a: int, fabric: str) -> int:
        """Total rate of host ``a``'s links on ``fabric`` (all of them on a single-fabric graph)."""
        key = (a, fabric if self.hybrid else None)
        if key not in self._rate:
            G = self.G
            self._rate[key] = sum(int(d["rate_bps"]) * int(d.get("links", 1))
                                  for _, d in G.adj[self.hosts[a]].items()
                                  if d.get("up", True) and (not self.hybrid or d.get("fabric", SCALE_OUT) == fabric))
        return self._rate[key]

    def wire_bytes(self, size_bytes: int) -> int:
        """Bytes on the wire for ``size_bytes`` of payload."""
        return size_bytes + max(1, -(-size_bytes // self.payload)) * self.header


def ideal_times(compiled, pm: PathModel, *, ack_bytes: int = 64,
                ack_every_bytes: int | None = None) -> dict:
    """The ideal schedule of a compiled collective on an idle fabric.

    Every message takes ``beta + alpha``: ``beta`` the busiest of the NIC directions it
    uses in its round (its source's egress, its destination's ingress, and the reverse
    directions that carry its ACKs), counting every message of the round on that NIC;
    then ``alpha``, its own path latency. A message starts its ``beta`` when its data
    has arrived (its DAG predecessors finished) and its source's egress and destination's
    ingress have finished the transfers of earlier rounds (a NIC serialises rounds).
    Rounds are scheduled in order; compute nodes take their duration. So a ring over
    paths of different lengths is charged the latencies on its critical path, a ring
    with one slow link runs at that link's pace, and a lock-step algorithm on a uniform
    fabric gets exactly the sum over its rounds of ``alpha + beta``.

    Returns
    -------
    dict
        ``total_ps``, ``finish_ps`` (per node), ``round_beta_ps`` (per round, the busiest
        NIC), ``alpha_ps`` (per node; 0 for compute nodes).
    """
    w = compiled.workload
    n = len(w)
    n_rounds = compiled.n_rounds
    rnd = compiled.node_rounds()
    kind = w.kind
    frm = np.asarray(w.edges_from, dtype=np.int64)
    to = np.asarray(w.edges_to, dtype=np.int64)
    pred_ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(to, minlength=n), out=pred_ptr[1:])   # edges are stored by target
    # processing order: messages by round; any other node right after its predecessors
    key = rnd.astype(np.float64)
    for node in np.flatnonzero(rnd < 0).tolist():
        p0, p1 = pred_ptr[node], pred_ptr[node + 1]
        key[node] = (key[frm[p0:p1]].max() if p1 > p0 else -1.0) + 0.5
    order = np.lexsort((np.arange(n), key)).tolist()
    key_l = key.tolist()
    pred_ptr_l, frm_l = pred_ptr.tolist(), frm.tolist()
    src, dst, size, delay = w.src, w.dst, w.size, w.delay
    finish = [0] * n
    alpha = [0] * n
    round_beta = [0] * n_rounds
    busy: dict = {}          # (host, direction, fabric) -> end of its earlier rounds' transfers
    alpha_cache: dict = {}

    rate_of: dict = {}       # (host, fabric) -> bit/s
    msg_cache: dict = {}     # (src, dst, bytes) -> (fabric, wire bytes, ACK bytes, alpha)
    PS8 = 8 * 10**12

    def tx(k, v):
        r = rate_of.get((k[0], k[2]))
        if r is None:
            r = rate_of[(k[0], k[2])] = pm.nic_rate_bps(k[0], k[2])
        return -(-PS8 * v // r)

    rnd_l = rnd.tolist()
    i = 0
    while i < n:
        k = key_l[order[i]]
        j = i
        while j < n and key_l[order[j]] == k:
            j += 1
        group = order[i:j]
        i = j
        # the round's load per NIC direction: data one way, ACKs the other
        load: dict = {}
        info = []
        for node in group:
            m = size[node]
            if rnd_l[node] < 0 or m == 0:
                info.append(None)
                continue
            a, b = src[node], dst[node]
            msg = msg_cache.get((a, b, m))
            if msg is None:
                n_acks = -(-m // ack_every_bytes) if ack_every_bytes else -(-m // pm.payload)
                msg = msg_cache[(a, b, m)] = (pm.fabric_of(a, b), pm.wire_bytes(m), n_acks * ack_bytes,
                                              pm.alpha_ps(a, b, m))
            fab, wire, acks, al = msg
            keys = ((a, 0, fab), (b, 1, fab), (b, 0, fab), (a, 1, fab))
            load[keys[0]] = load.get(keys[0], 0) + wire
            load[keys[1]] = load.get(keys[1], 0) + wire
            load[keys[2]] = load.get(keys[2], 0) + acks
            load[keys[3]] = load.get(keys[3], 0) + acks
            info.append((keys, al))
        txl = {kk: tx(kk, v) for kk, v in load.items()}
        if txl:
            r = rnd_l[group[0]]
            round_beta[r] = max(round_beta[r], max(txl.values()))
        ends: dict = {}
        for node, inf in zip(group, info):
            p0, p1 = pred_ptr_l[node], pred_ptr_l[node + 1]
            ready = delay[node]
            if p1 > p0:
                ready += max([finish[frm_l[e]] for e in range(p0, p1)])
            if inf is None:                         # compute node or empty message
                finish[node] = ready + (size[node] if kind[node] == 1 else 0)
                continue
            keys, al = inf
            b0, b1 = busy.get(keys[0], 0), busy.get(keys[1], 0)
            start = ready if ready >= b0 and ready >= b1 else max(ready, b0, b1)
            tx_end = start + max(txl[keys[0]], txl[keys[1]], txl[keys[2]], txl[keys[3]])
            if tx_end > ends.get(keys[0], 0):
                ends[keys[0]] = tx_end
            if tx_end > ends.get(keys[1], 0):
                ends[keys[1]] = tx_end
            alpha[node] = al
            finish[node] = tx_end + al
        for kk, t in ends.items():
            if t > busy.get(kk, 0):
                busy[kk] = t
    finish_arr = np.asarray(finish, dtype=np.int64)
    return {"total_ps": int(finish_arr.max()) if n else 0, "finish_ps": finish_arr,
            "round_beta_ps": round_beta, "alpha_ps": np.asarray(alpha, dtype=np.int64)}
