"""Forwarding tables: shortest-path (hop count) ECMP through switches only.

A GPU never forwards traffic that is not its own: hosts are endpoints, switches the only
transit nodes.  Distances are computed with networkx BFS from each switch that has hosts
attached, then next hops are found for all nodes and destinations at once with numpy, so
a 1024-host fat tree takes a fraction of a second.

Hybrid graphs (edges of both ``fabric="scale_up"`` and ``fabric="scale_out"``) get two
tables (see :func:`forwarding_tables`): table 0 routes over scale-out ports only, table 1
over scale-up ports only, and the NIC picks table 1 for a packet whose source and
destination hosts are in the same scale-up domain.
"""
from __future__ import annotations

import networkx as nx
import numpy as np

UNREACHABLE = np.iinfo(np.int32).max // 4
SCALE_UP = "scale_up"
SCALE_OUT = "scale_out"

__all__ = ["forwarding_tables", "ecmp_table", "port_fabrics", "host_domains", "UNREACHABLE"]


def port_fabrics(G, port_link) -> np.ndarray:
    """Boolean array: True where port ``p`` belongs to a ``fabric="scale_up"`` edge.

    The edge attribute ``fabric`` defaults to ``"scale_out"`` when missing.
    """
    adj = G.adj
    return np.fromiter(
        (adj[a][b].get("fabric", SCALE_OUT) == SCALE_UP for a, b, _ in port_link),
        dtype=bool, count=len(port_link),
    )


def host_domains(G, names, index, hosts, port_link, scale_up) -> list:
    """Scale-up domain id per host index (dense ids 0, 1, ...; -1 for none).

    From the GPUs' node attribute ``scaleup_domain`` when any GPU has it (a GPU without
    it gets -1); otherwise the connected components of the scale-up subgraph (working
    scale-up links, GPUs included), numbered in host order; a GPU with no scale-up link
    gets -1.
    """
    nodes = G.nodes
    if any("scaleup_domain" in nodes[x] for x in hosts):
        dense: dict = {}
        out = []
        for x in hosts:
            value = nodes[x].get("scaleup_domain")
            out.append(-1 if value is None else dense.setdefault(value, len(dense)))
        return out
    parent = list(range(len(names)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    has_up = np.zeros(len(names), dtype=bool)
    for p in np.flatnonzero(scale_up):
        a, b, _ = port_link[p]
        ia, ib = index[a], index[b]
        has_up[ia] = has_up[ib] = True
        ra, rb = find(ia), find(ib)
        if ra != rb:
            parent[ra] = rb
    dense = {}
    out = []
    for x in hosts:
        i = index[x]
        out.append(dense.setdefault(find(i), len(dense)) if has_up[i] else -1)
    return out


def forwarding_tables(G, names, index, is_host, hosts, port_link):
    """CSR forwarding tables for :meth:`Network.set_forwarding`.

    With one fabric (every working edge ``scale_out``, or every one ``scale_up``) there is
    one table: ECMP over all ports.  With both, there are two: table 0 is ECMP over the
    scale-out ports only, table 1 ECMP over the scale-up ports only.  Where a node has no
    scale-up path to a destination, its table-1 entry falls back to its table-0 entry
    (e.g. a GPU whose scale-up links failed reaches its domain peers over scale-out);
    the result stays loop-free because scale-up steps strictly shorten the scale-up
    distance and scale-out steps the scale-out one, and a packet never leaves a node
    with a finite scale-up distance on a scale-out port.

    Parameters
    ----------
    G : networkx.Graph
    names : list
        Node names in node-index order.
    index : dict
        Node name -> node index.
    is_host : numpy.ndarray of bool
        Per node index.
    hosts : list
        Host node names in host-index order.
    port_link : list of (u, v, link)
        Egress port id -> (from node, to node, parallel link index).

    Returns
    -------
    offsets, ports, host_domains
        ``offsets`` has ``n_tables * n_nodes * n_hosts + 1`` entries (entry
        ``(t * n_nodes + node) * n_hosts + dst``); ``host_domains`` (scale-up domain per
        host, -1 for none) is None when there is a single table.

    Examples
    --------
    Two GPUs joined by a scale-up switch and by a ToR:

    >>> import networkx as nx
    >>> from uesim.fabric import build_network
    >>> G = nx.Graph()
    >>> G.add_node("gpu0", kind="gpu", role="host", scaleup_domain=0)
    >>> G.add_node("gpu1", kind="gpu", role="host", scaleup_domain=0)
    >>> G.add_node("nvs0", kind="switch", role="nvswitch")
    >>> G.add_node("tor0", kind="switch", role="tor")
    >>> for g in ("gpu0", "gpu1"):
    ...     G.add_edge(g, "nvs0", rate_bps=900_000_000_000, delay_ps=100_000, fabric="scale_up")
    ...     G.add_edge(g, "tor0", rate_bps=100_000_000_000, delay_ps=1_000_000,
    ...                fabric="scale_out")
    >>> built = build_network(G)
    >>> built.net.n_tables
    2
    >>> gpu0 = built.node_index["gpu0"]
    >>> [built.port_link[p][1] for p in built.net.next_hops(gpu0, 1, table=1)]
    ['nvs0']
    >>> [built.port_link[p][1] for p in built.net.next_hops(gpu0, 1, table=0)]
    ['tor0']
    """
    scale_up = port_fabrics(G, port_link)
    if not scale_up.any() or scale_up.all():
        offsets, ports = ecmp_table(names, index, is_host, hosts, port_link)
        return offsets, ports, None
    c0, p0 = _ecmp(names, index, is_host, hosts, port_link, ~scale_up)
    c1, p1 = _ecmp(names, index, is_host, hosts, port_link, scale_up)
    c1, p1 = _prefer(c1, p1, c0, p0)
    offsets = np.zeros(c0.size + c1.size + 1, dtype=np.int64)
    np.cumsum(np.concatenate((c0, c1)), dtype=np.int64, out=offsets[1:])
    ports = np.concatenate((p0, p1)).astype(np.int32, copy=False)
    domains = host_domains(G, names, index, hosts, port_link, scale_up)
    return offsets, ports, domains


def ecmp_table(names, index, is_host, hosts, port_link, usable=None):
    """One ECMP table over the ports in ``port_link`` (port id -> (u, v, link)).

    Parameters
    ----------
    names, index, is_host, hosts, port_link
        As in :func:`forwarding_tables`.
    usable : numpy.ndarray of bool, optional
        Per port: whether routing may use it (default: every port).

    Returns
    -------
    offsets, ports
        CSR arrays: ``offsets`` has ``n_nodes * n_hosts + 1`` entries.
    """
    counts, ports = _ecmp(names, index, is_host, hosts, port_link, usable)
    offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, dtype=np.int64, out=offsets[1:])
    return offsets, ports


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
