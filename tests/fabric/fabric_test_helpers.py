"""Helpers shared by the tests in tests/fabric (unique module name: default import mode)."""
from __future__ import annotations

import random
from collections import deque

from uesim.fabric import build_network, FabricConfig
from uesim.protocols import CongestionControl, ObliviousSpray, WindowFlow

FLOW_BYTES = 64 * 1024


def reference_next_hops(built, usable=None):
    """Brute-force ECMP: {(node, dst_host): sorted ports}, hosts never transit.

    BFS from each destination host over the ports allowed by ``usable`` (port id ->
    bool), expanding switches only; the next hops of a node are its ports to a
    neighbour one hop closer (a host neighbour only if it is the destination).
    """
    names, index = built.node_names, built.node_index
    is_host = [built.net.host_of_node(i) >= 0 for i in range(len(names))]
    adj = [[] for _ in names]
    for p, (a, b, _) in enumerate(built.port_link):
        if usable is None or usable[p]:
            adj[index[a]].append((p, index[b]))
    out = {}
    for d, hname in enumerate(built.host_names):
        src = index[hname]
        dist = {src: 0}
        queue = deque([src])
        while queue:
            u = queue.popleft()
            if u != src and is_host[u]:
                continue
            for _, v in adj[u]:   # undirected: every port has a reverse port
                if v not in dist:
                    dist[v] = dist[u] + 1
                    queue.append(v)
        for v in range(len(names)):
            if v == src or v not in dist:
                continue
            hops = [p for p, nb in adj[v]
                    if nb in dist and dist[nb] == dist[v] - 1 and (not is_host[nb] or nb == src)]
            out[v, d] = sorted(hops)
    return out


def table_of(built, src_host, dst_host, domains):
    """The table the NIC uses for a packet src -> dst."""
    if built.net.n_tables == 1:
        return 0
    ds = domains[src_host]
    return 1 if ds >= 0 and ds == domains[dst_host] else 0


#: Retransmission timeout far above any queueing delay in these tests, so no flow
#: retransmits spuriously and packet counts depend on routing only.
RTO_PS = 10_000_000_000     # 10 ms


def run_flows(built, pairs, size=FLOW_BYTES, seed=1):
    """Start one WindowFlow per (src, dst) host pair at time 0, run, return the flows."""
    flows = []
    for i, (s, d) in enumerate(pairs):
        f = WindowFlow(i, s, d, size, 0, CongestionControl(cwnd_bytes=65536, mtu_bytes=4096),
                       ObliviousSpray(seed + i, 256), mtu_bytes=4096, header_bytes=64,
                       rto_ps=RTO_PS)
        f.attach(built.net)
        flows.append(f)
    built.sim.run()
    return flows


def permutation(n, seed=0):
    """A random derangement of range(n) as (src, dst) pairs."""
    rng = random.Random(seed)
    while True:
        perm = list(range(n))
        rng.shuffle(perm)
        if all(i != p for i, p in enumerate(perm)):
            return list(enumerate(perm))


def build(G, seed=1):
    return build_network(G, config=FabricConfig(seed=seed))
