"""Test-only reference: the dense forwarding tables of uesim before grouped routing.

This is ``fabric/routing.py`` as of commit 15e37c7 (``_ecmp`` and ``_prefer`` copied
verbatim): one CSR entry per (table, node, destination host).  The grouped tables that
replaced it must give, for every entry, the same equal-cost ports in the same order.  It
needs memory in n_nodes x n_hosts, so use it on small topologies only.
"""
from __future__ import annotations

import networkx as nx
import numpy as np

UNREACHABLE = np.iinfo(np.int32).max // 4


def port_fabrics(G, port_link):
    """True where port ``p`` belongs to a ``fabric="scale_up"`` edge (default scale-out)."""
    return np.array([G.adj[a][b].get("fabric", "scale_out") == "scale_up"
                     for a, b, _ in port_link], dtype=bool)


def dense_tables(built):
    """Old-style dense tables of a built network.

    Returns
    -------
    n_tables, offsets, ports
        The equal-cost ports of ``node`` towards host ``dst`` in table ``t`` are
        ``ports[offsets[i]:offsets[i + 1]]`` with ``i = (t * n_nodes + node) * n_hosts + dst``.
    """
    names, index, hosts = built.node_names, built.node_index, built.host_names
    is_host = np.array([built.net.host_of_node(i) >= 0 for i in range(len(names))])
    port_link = built.port_link
    scale_up = port_fabrics(built.graph, port_link)
    if not scale_up.any() or scale_up.all():
        counts, ports = _ecmp(names, index, is_host, hosts, port_link)
        n_tables = 1
    else:
        c0, p0 = _ecmp(names, index, is_host, hosts, port_link, ~scale_up)
        c1, p1 = _ecmp(names, index, is_host, hosts, port_link, scale_up)
        c1, p1 = _prefer(c1, p1, c0, p0)
        counts = np.concatenate((c0, c1))
        ports = np.concatenate((p0, p1)).astype(np.int32, copy=False)
        n_tables = 2
    offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, dtype=np.int64, out=offsets[1:])
    return n_tables, offsets, ports


def _prefer(counts_a, ports_a, counts_b, ports_b):
    """Per (node, dst) entry: ``a``'s ports if it has any, else ``b``'s (CSR merge)."""
    use_a = counts_a > 0
    counts = np.where(use_a, counts_a, counts_b)
    start_a = np.cumsum(counts_a, dtype=np.int64) - counts_a
    start_b = np.cumsum(counts_b, dtype=np.int64) - counts_b + ports_a.size
    starts = np.where(use_a, start_a, start_b)
    out_start = np.cumsum(counts, dtype=np.int64) - counts
    total = int(counts.sum())
    pool = np.concatenate((ports_a, ports_b))
    idx = np.repeat(starts - out_start, counts) + np.arange(total)
    return counts, pool[idx]


def _ecmp(names, index, is_host, hosts, port_link, usable=None):
    """ECMP next hops: (counts per (node, dst) entry, ports in entry order)."""
    n, h = len(names), len(hosts)
    host_idx = np.array([index[x] for x in hosts], dtype=np.int64)
    host_of = np.full(n, -1, dtype=np.int64)
    host_of[host_idx] = np.arange(h)
    out_ports = [[] for _ in range(n)]      # node -> [(port, neighbour)]
    switch_graph = nx.Graph()
    switch_graph.add_nodes_from(i for i in range(n) if not is_host[i])
    for p, (a, b, _) in enumerate(port_link):
        if usable is not None and not usable[p]:
            continue
        ia, ib = index[a], index[b]
        out_ports[ia].append((p, ib))
        if not is_host[ia] and not is_host[ib]:
            switch_graph.add_edge(ia, ib)
    # attachments: the switches each host connects to over usable ports
    attach = [sorted({nb for _, nb in out_ports[hi] if not is_host[nb]}) for hi in host_idx]
    dist_from = {}
    for t in sorted({t for a in attach for t in a}):
        d = np.full(n, UNREACHABLE, dtype=np.int32)
        lengths = nx.single_source_shortest_path_length(switch_graph, t)
        d[np.fromiter(lengths.keys(), dtype=np.int64, count=len(lengths))] = np.fromiter(
            lengths.values(), dtype=np.int64, count=len(lengths))
        dist_from[t] = d
    # Dt[node, dst_host]: hops from node to the host, switches as the only transit nodes
    # (node-major, so the rows of a node's neighbours are contiguous)
    D = np.full((h, n), UNREACHABLE, dtype=np.int32)
    via: dict = {}                           # hosts sharing an attachment set share a row
    for hh, a in enumerate(attach):
        if a:
            key = tuple(a)
            if key not in via:
                via[key] = 1 + (dist_from[a[0]] if len(a) == 1
                                else np.min(np.stack([dist_from[t] for t in a]), axis=0))
            D[hh] = via[key]
    Dt = np.ascontiguousarray(D.T)
    del D, via
    for hh, hi in enumerate(host_idx):       # another host reaches hh through its own switches
        if attach[hh]:
            Dt[hi] = 1 + Dt[attach[hh]].min(axis=0)
    np.minimum(Dt, UNREACHABLE, out=Dt)
    Dt[host_idx, np.arange(h)] = 0

    counts = np.zeros((n, h), dtype=np.int32)
    chunks = []
    for v in range(n):
        if not out_ports[v]:
            continue
        dv = Dt[v]
        reach = dv < UNREACHABLE
        if is_host[v]:
            reach[host_of[v]] = False
        if len(out_ports[v]) == 1:           # fast path: one port (a host's single NIC)
            p, nb = out_ports[v][0]
            if is_host[nb]:                  # a host neighbour is a next hop only for itself
                ok = np.zeros(h, dtype=bool)
                ok[host_of[nb]] = True
            else:
                ok = (Dt[nb] == dv - 1) & reach
            counts[v] = ok
            chunks.append(np.full(int(np.count_nonzero(ok)), p, dtype=np.int32))
            continue
        pids = np.array([p for p, _ in out_ports[v]], dtype=np.int32)
        nbrs = np.array([nb for _, nb in out_ports[v]], dtype=np.int64)
        ok = (Dt[nbrs] == (dv - 1)[None, :]) & reach[None, :]     # (port, dst)
        host_rows = is_host[nbrs]
        if host_rows.any():
            ok[host_rows] = False
            ok[np.flatnonzero(host_rows), host_of[nbrs[host_rows]]] = True
        dsts, cols = np.nonzero(ok.T)        # dst-major: the table's order
        counts[v] = np.bincount(dsts, minlength=h)
        chunks.append(pids[cols])
    ports = np.concatenate(chunks).astype(np.int32, copy=False) if chunks \
        else np.empty(0, dtype=np.int32)
    return counts.ravel(), ports
