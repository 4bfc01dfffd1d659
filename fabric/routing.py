"""Forwarding tables: shortest-path (hop count) ECMP through switches only.

A GPU never forwards traffic that is not its own: hosts are endpoints, switches the only
transit nodes.  Destination hosts are grouped by their *attachment signature*, the sorted
switches they connect to over usable ports: every node routes all hosts of a group alike,
except the group's attached switches (which send each host down its own links) and the
host's own NIC.  So the tables hold one row per (node, group), not per (node, host), plus
a short list of exceptions per destination host (see :class:`ForwardingTables`).
Distances come from a breadth-first search from each attached switch over the switch
graph, done for all of them at once with numpy, then next hops for all nodes and groups
at once: an 8192-host fat tree takes about 1.5 s and 200 MB at peak.

Hybrid graphs (edges of both ``fabric="scale_up"`` and ``fabric="scale_out"``) get two
tables (see :func:`forwarding_tables`): table 0 routes over scale-out ports only, table 1
over scale-up ports only, and the NIC picks table 1 for a packet whose source and
destination hosts are in the same scale-up domain.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

UNREACHABLE = np.iinfo(np.int32).max // 4
_CHUNK = 1 << 21        # work items per numpy batch: bounds the temporaries of big builds
SCALE_UP = "scale_up"
SCALE_OUT = "scale_out"

__all__ = ["ForwardingTables", "forwarding_tables", "port_fabrics", "host_domains",
           "UNREACHABLE"]
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




class ForwardingTables(NamedTuple):
    """Grouped ECMP forwarding state, the arguments of :meth:`Network.set_forwarding`.

    The equal-cost egress ports of ``node`` towards host ``dst`` in table ``t`` are found
    so: ``g = host_group[t * n_hosts + dst]`` and ``r = node_rows[node * n_groups + g]``.
    If ``r < 0``, ``node`` is an exception for some host of group ``g``: it is looked up
    in ``override_nodes[override_offsets[i]:override_offsets[i + 1]]`` with
    ``i = t * n_hosts + dst``, and the matching ``override_rows`` entry is the row, or
    ``~r`` when ``node`` is not there.  The ports are
    ``row_ports[row_offsets[r]:row_offsets[r + 1]]``, in increasing port id.  With two
    tables, an empty table-1 entry falls back to the table-0 entry of the same node and
    destination.

    Attributes
    ----------
    host_group : numpy.ndarray of int32
        Group column of each (table, destination host), ``n_tables * n_hosts`` entries.
    node_rows : numpy.ndarray of int32
        Row of each (node, group), ``n_nodes * n_groups`` entries, node-major; row 0 is
        empty; negative (``~row``) where the destination's exceptions come first.
    row_offsets : numpy.ndarray of int64
        ``n_rows + 1`` offsets into ``row_ports``.
    row_ports : numpy.ndarray of int32
        Egress port ids.
    override_offsets : numpy.ndarray of int64
        ``n_tables * n_hosts + 1`` offsets into ``override_nodes`` and ``override_rows``.
    override_nodes, override_rows : numpy.ndarray of int32
        The exceptions of each destination host, in this order: the switches it is
        attached to (its own links down from them), its own node (no route to itself),
        hosts linked to it directly.
    host_domains : list or None
        Scale-up domain per host (-1 for none) with two tables; None with one.
    """

    host_group: np.ndarray
    node_rows: np.ndarray
    row_offsets: np.ndarray
    row_ports: np.ndarray
    override_offsets: np.ndarray
    override_nodes: np.ndarray
    override_rows: np.ndarray
    host_domains: list | None


def _sorted_unique(a) -> np.ndarray:
    """The sorted distinct values of a 1-D array, as ``np.unique(a)``.

    numpy 2's ``np.unique`` asks ``np.ma`` whether the array is masked, which imports
    ``numpy.ma`` (about 30 ms, a tenth of a small run's start-up).

    >>> _sorted_unique(np.array([3, 1, 3, 2])).tolist()
    [1, 2, 3]
    """
    a = np.sort(np.asarray(a).ravel())
    keep = np.ones(a.size, dtype=bool)
    np.not_equal(a[1:], a[:-1], out=keep[1:])
    return a[keep]


def forwarding_tables(G, names, index, is_host, hosts, port_link, exclude=None) -> ForwardingTables:
    """Grouped ECMP forwarding tables for :meth:`Network.set_forwarding`.

    With one fabric (every working edge ``scale_out``, or every one ``scale_up``) there is
    one table: ECMP over all ports.  With both, there are two: table 0 is ECMP over the
    scale-out ports only, table 1 ECMP over the scale-up ports only.  Where a node has no
    scale-up path to a destination, its table-1 entry falls back to its table-0 entry
    (e.g. a GPU whose scale-up links failed reaches its domain peers over scale-out);
    the result stays loop-free because scale-up steps strictly shorten the scale-up
    distance and scale-out steps the scale-out one, and a packet never leaves a node
    with a finite scale-up distance on a scale-out port.

    Every entry lists, in increasing port id, the ports of the node to a neighbour one
    hop closer to the destination host, counting hops through switches only.

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
    exclude : numpy.ndarray of bool, optional
        Per port: leave it out of every route (a failed link after routing has
        reconverged; give both directions of a cable).

    Returns
    -------
    ForwardingTables
        ``host_domains`` (scale-up domain per host, -1 for none) is None when there is a
        single table.

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
    n, h = len(names), len(hosts)
    is_host = np.asarray(is_host, dtype=bool)
    count = len(port_link)
    pa = np.fromiter((index[a] for a, _, _ in port_link), dtype=np.int64, count=count)
    pb = np.fromiter((index[b] for _, b, _ in port_link), dtype=np.int64, count=count)
    host_idx = np.fromiter((index[x] for x in hosts), dtype=np.int64, count=h)
    scale_up = port_fabrics(G, port_link)
    if not scale_up.any() or scale_up.all():
        masks, domains = [np.ones(count, dtype=bool)], None
    else:
        masks = [~scale_up, scale_up]
        domains = host_domains(G, names, index, hosts, port_link, scale_up)
    if exclude is not None:
        masks = [m & ~np.asarray(exclude, dtype=bool) for m in masks]
    parts = [_group_table(n, is_host, host_idx, pa, pb, usable) for usable in masks]
    return _assemble(n, h, parts, domains)


def _assemble(n, h, parts, domains):
    """Join the per-table pieces of :func:`_group_table` into one :class:`ForwardingTables`."""
    col_base = np.cumsum([0] + [p["rows"].shape[1] for p in parts])
    row_base = np.cumsum([0] + [p["counts"].size for p in parts])
    n_groups = int(col_base[-1])
    host_group = np.concatenate([p["group"] + col_base[t] for t, p in enumerate(parts)])
    # local row r > 0 of table t is global row row_base[t] + r; row 0 is the shared empty row
    node_rows = np.zeros((n, n_groups), dtype=np.int32)
    for t, p in enumerate(parts):
        np.add(p["rows"], row_base[t], out=node_rows[:, col_base[t]:col_base[t + 1]],
               where=p["rows"] > 0)
        del p["rows"]
    flat = node_rows.ravel()
    marks = _sorted_unique(np.concatenate(
        [p["mark_node"] * n_groups + (p["mark_col"] + col_base[t]) for t, p in enumerate(parts)]))
    flat[marks] = ~flat[marks]
    counts = np.concatenate([[0]] + [p["counts"] for p in parts])
    row_offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=row_offsets[1:])
    row_ports = np.concatenate([p["ports"] for p in parts]).astype(np.int32)
    key = np.concatenate([p["ovr_dst"] + t * h for t, p in enumerate(parts)])
    cat = np.concatenate([p["ovr_cat"] for p in parts])
    onode = np.concatenate([p["ovr_node"] for p in parts])
    orow = np.concatenate([np.where(p["ovr_row"] > 0, p["ovr_row"] + row_base[t], 0)
                           for t, p in enumerate(parts)])
    order = np.lexsort((onode, cat, key))
    override_offsets = np.zeros(len(parts) * h + 1, dtype=np.int64)
    np.cumsum(np.bincount(key, minlength=len(parts) * h), out=override_offsets[1:])
    return ForwardingTables(
        host_group=host_group.astype(np.int32), node_rows=flat, row_offsets=row_offsets,
        row_ports=row_ports, override_offsets=override_offsets,
        override_nodes=onode[order].astype(np.int32),
        override_rows=orow[order].astype(np.int32), host_domains=domains)


def _bfs_all(n_sw, src, dst, sources):
    """Hop counts from each of ``sources`` to every switch (``UNREACHABLE`` if none).

    ``src -> dst`` are the directed switch-graph edges (switch positions).  One breadth-first
    search per source, advanced together level by level with numpy, a batch of sources at
    a time (a level can touch every edge once per source).
    """
    order = np.argsort(src, kind="stable")
    nbr = dst[order]
    indptr = np.zeros(n_sw + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n_sw), out=indptr[1:])
    dist = np.full((sources.size, n_sw), UNREACHABLE, dtype=np.int32)
    step = max(1, _CHUNK // max(1, nbr.size, n_sw))
    for c in range(0, sources.size, step):
        block = dist[c:c + step]
        flat = block.reshape(-1)                   # a view: rows are contiguous
        frontier = np.arange(block.shape[0], dtype=np.int64) * n_sw + sources[c:c + step]
        flat[frontier] = 0
        last = np.empty(flat.size, dtype=np.int64)    # dedup without sorting: last writer wins
        level = 0
        while frontier.size:
            level += 1
            row, v = np.divmod(frontier, n_sw)
            deg = indptr[v + 1] - indptr[v]
            first = np.repeat(indptr[v] - (np.cumsum(deg) - deg), deg)
            keys = np.repeat(row * n_sw, deg)
            keys += nbr[first + np.arange(first.size)]
            keys = keys[flat[keys] == UNREACHABLE]
            at = np.arange(keys.size)
            last[keys] = at
            frontier = keys[last[keys] == at]
            flat[frontier] = level
    return dist


def _group_table(n, is_host, host_idx, pa, pb, usable):
    """One table's rows per (node, group), exceptions per destination host.

    Returns a dict of numpy arrays, rows numbered locally (0 is the empty row, 1.. are
    listed by ``counts`` and ``ports``): ``group`` (column per host), ``rows`` (n_nodes x
    columns), ``mark_node``/``mark_col`` (entries to negate), ``ovr_*`` (exceptions).
    """
    h = host_idx.size
    host_of = np.full(n, -1, dtype=np.int64)
    host_of[host_idx] = np.arange(h)
    ports = np.flatnonzero(usable)
    ha, hb = is_host[pa[ports]], is_host[pb[ports]]

    # attachment signatures: hosts with the same set of switches form one group
    up = ports[ha & ~hb]
    pairs = _sorted_unique(host_of[pa[up]] * n + pb[up])      # by host, then switch
    bounds = np.searchsorted(pairs // n, np.arange(h + 1)).tolist()
    att = (pairs % n).tolist()
    sig_id: dict = {}
    group = np.empty(h, dtype=np.int64)
    for d in range(h):
        lo, hi = bounds[d], bounds[d + 1]
        group[d] = sig_id.setdefault(tuple(att[lo:hi]), len(sig_id)) if hi > lo else -1
    n_sig = len(sig_id)
    null = bool((group < 0).any())
    group[group < 0] = n_sig                  # a column whose rows are all empty
    rows = np.zeros((n, n_sig + null), dtype=np.int32)
    counts, chunks = [], []

    if n_sig:
        # hops from every group to every node: 1 + BFS distance from the nearest attached
        # switch; a host is one more than its best attached switch
        sw = np.flatnonzero(~is_host)
        sw_pos = np.full(n, -1, dtype=np.int64)
        sw_pos[sw] = np.arange(sw.size)
        ss = ports[~ha & ~hb]
        sig_sw = np.fromiter((s for sig in sig_id for s in sig), dtype=np.int64)
        sig_start = np.cumsum([0] + [len(sig) for sig in sig_id])[:-1]
        sources = _sorted_unique(sig_sw)
        dist = _bfs_all(sw.size, sw_pos[pa[ss]], sw_pos[pb[ss]], sw_pos[sources])
        d_sw = np.minimum.reduceat(dist[np.searchsorted(sources, sig_sw)], sig_start, axis=0)
        del dist
        d_sw += 1
        np.minimum(d_sw, UNREACHABLE, out=d_sw)
        d_host = np.minimum.reduceat(d_sw[:, sw_pos[sig_sw]], sig_start, axis=1) + 1
        np.minimum(d_host, UNREACHABLE, out=d_host)
        DD = np.concatenate((d_sw, d_host, np.full((n_sig, 1), UNREACHABLE, np.int32)), axis=1)
        del d_sw, d_host
        col = np.where(is_host, 0, sw_pos)
        col[host_idx] = sw.size + group
        _group_rows(n, DD, col, ports[~hb], pa, pb, rows, counts, chunks)
        del DD

    # exceptions: a switch attached to the destination sends it down its own links
    down = ports[~ha & hb]
    d_dn, s_dn = host_of[pb[down]], pa[down]
    o = np.lexsort((down, s_dn, d_dn))
    down, d_dn, s_dn = down[o], d_dn[o], s_dn[o]
    new = np.ones(down.size, dtype=bool)
    new[1:] = (d_dn[1:] != d_dn[:-1]) | (s_dn[1:] != s_dn[:-1])
    starts = np.flatnonzero(new)
    first_row = 1 + sum(c.size for c in counts)
    counts.append(np.diff(np.append(starts, down.size)))
    chunks.append(down)
    ovr = [(d_dn[starts], np.zeros(starts.size, np.int64), s_dn[starts],
            first_row + np.arange(starts.size))]
    # ... its own NIC has no route to itself
    own = np.flatnonzero(group < n_sig)
    ovr.append((own, np.ones(own.size, np.int64), host_idx[own], np.zeros(own.size, np.int64)))
    # ... and a host linked to it directly (not a valid topology, but build_network takes
    # it) uses those links as well as its shortest paths through switches
    hh = ports[ha & hb]
    if hh.size:
        row_off = np.concatenate(([0], np.cumsum(np.concatenate(counts))))
        pool = np.concatenate(chunks)
        extra: dict = {}
        for p in hh.tolist():
            extra.setdefault((int(host_of[pb[p]]), int(pa[p])), []).append(p)
        next_row = int(row_off.size)
        for (d, v), direct in sorted(extra.items()):
            r = rows[v, group[d]]
            merged = sorted(set(direct) | set(pool[row_off[r - 1]:row_off[r]].tolist())
                            if r else direct)
            counts.append(np.array([len(merged)]))
            chunks.append(np.array(merged, dtype=np.int64))
            ovr.append((np.array([d]), np.array([2]), np.array([v]), np.array([next_row])))
            next_row += 1
    ovr_dst, ovr_cat, ovr_node, ovr_row = (np.concatenate(x).astype(np.int64)
                                           for x in zip(*ovr))
    return {
        "group": group, "rows": rows,
        "counts": np.concatenate(counts).astype(np.int64) if counts else np.zeros(0, np.int64),
        "ports": np.concatenate(chunks).astype(np.int64) if chunks else np.zeros(0, np.int64),
        "mark_node": ovr_node, "mark_col": group[ovr_dst],
        "ovr_dst": ovr_dst, "ovr_cat": ovr_cat, "ovr_node": ovr_node, "ovr_row": ovr_row,
    }


def _group_rows(n, DD, col, q, pa, pb, rows, counts, chunks):
    """Fill ``rows[node, group]`` with deduplicated rows of next hops (local ids from 1).

    ``q`` are the usable ports to switch neighbours, in increasing id; a port is a next
    hop towards group ``g`` when its peer is one hop closer (``DD[g, col[node]]`` is the
    distance of a node).  Per node, the set of next hops is a bit mask over the node's
    ports, so equal rows of a node are found by sorting masks.
    """
    n_groups = DD.shape[0]
    u = pa[q]
    o = np.argsort(u, kind="stable")
    q, u = q[o], u[o]
    nb = pb[q]
    m = np.bincount(u, minlength=n)
    j = np.arange(q.size) - (np.cumsum(m) - m)[u]     # rank of a port among its node's
    narrow = m[u] <= 64
    for v in np.flatnonzero(m > 64):                  # wide nodes: unique rows of a bool matrix
        qv = q[u == v]
        dv = DD[:, col[v]]
        ok = (DD[:, col[pb[qv]]] == (dv - 1)[:, None]) & (dv < UNREACHABLE)[:, None]
        uniq, inv = np.unique(ok, axis=0, return_inverse=True)
        base = 1 + sum(c.size for c in counts)
        ids = np.zeros(len(uniq), dtype=np.int64)
        nz = uniq.any(axis=1)
        ids[nz] = base + np.arange(int(nz.sum()))
        rows[v, :n_groups] = ids[inv.ravel()]
        counts.append(uniq[nz].sum(axis=1))
        chunks.append(np.concatenate([qv[r] for r in uniq[nz]]) if nz.any()
                      else np.zeros(0, np.int64))
    q, u, nb, j = q[narrow], u[narrow], nb[narrow], j[narrow]
    nodes = _sorted_unique(u)
    start = np.append(np.searchsorted(u, nodes), u.size)   # q is sorted by node
    step = max(1, _CHUNK // n_groups)                       # bounds the temporaries
    for c in range(0, nodes.size, step):
        lo, hi = start[c], start[min(c + step, nodes.size)]
        _mask_rows(nodes[c:c + step], q[lo:hi], u[lo:hi], nb[lo:hi], j[lo:hi], DD, col,
                   rows, counts, chunks)


def _mask_rows(nodes, q, u, nb, j, DD, col, rows, counts, chunks):
    """:func:`_group_rows` for ``nodes`` with at most 64 ports each: one uint64 mask per
    (node, group), sorted per node to number the distinct ones."""
    n_groups = DD.shape[0]
    pos = np.full(col.size, -1, dtype=np.int64)
    pos[nodes] = np.arange(nodes.size)
    width = int(j.max()) + 1
    local = np.full((nodes.size, width), -1, dtype=np.int64)   # node's k-th port id
    local[pos[u], j] = q
    keys = np.zeros((nodes.size, n_groups), dtype=np.uint64)
    by_j = np.argsort(j, kind="stable")
    cut = np.searchsorted(j[by_j], np.arange(width + 1))
    for k in range(width):
        sel = by_j[cut[k]:cut[k + 1]]
        du = DD[:, col[u[sel]]]
        ok = (DD[:, col[nb[sel]]] == du - 1) & (du < UNREACHABLE)
        keys[pos[u[sel]]] |= ok.T.astype(np.uint64) << np.uint64(k)
    order = np.argsort(keys, axis=1, kind="stable")
    sk = np.take_along_axis(keys, order, axis=1)
    del keys
    first = np.ones(sk.shape, dtype=bool)
    first[:, 1:] = sk[:, 1:] != sk[:, :-1]
    first &= sk != 0
    base = sum(c.size for c in counts)
    rid = np.cumsum(first.ravel()).reshape(sk.shape) + base
    rid[sk == 0] = 0
    local_rows = np.empty(sk.shape, dtype=np.int64)
    np.put_along_axis(local_rows, order, rid, axis=1)
    rows[nodes, :n_groups] = local_rows
    fr = np.flatnonzero(first.ravel())
    owner, mask = fr // n_groups, sk.ravel()[fr]
    bits = ((mask[:, None] >> np.arange(width, dtype=np.uint64)) & np.uint64(1)).astype(bool)
    r, k = np.nonzero(bits)
    counts.append(np.bincount(r, minlength=fr.size))
    chunks.append(local[owner[r], k])
