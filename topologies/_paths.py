"""Graph walks where GPUs are endpoints only (never transit), over working links."""

from __future__ import annotations

from collections import deque

import networkx as nx

from ._schema import is_up


def up_adjacency(G: nx.Graph) -> dict:
    """``{node: [neighbours over working links]}``."""
    adj = {n: [] for n in G}
    for u, v, data in G.edges(data=True):
        if is_up(data):
            adj[u].append(v)
            adj[v].append(u)
    return adj


def host_attachments(G: nx.Graph, adj: dict | None = None) -> dict:
    """``{gpu: [switch neighbours over working links]}`` in host order."""
    if adj is None:
        adj = up_adjacency(G)
    kinds = G.nodes
    return {
        n: [m for m in adj[n] if kinds[m].get("kind") == "switch"]
        for n, k in G.nodes(data="kind")
        if k == "gpu"
    }


def switch_components(G: nx.Graph, adj: dict | None = None) -> dict:
    """``{switch: component id}`` of the switch-only subgraph (working links)."""
    if adj is None:
        adj = up_adjacency(G)
    kinds = G.nodes
    comp: dict = {}
    cid = 0
    for start, k in G.nodes(data="kind"):
        if k != "switch" or start in comp:
            continue
        comp[start] = cid
        queue = deque([start])
        while queue:
            u = queue.popleft()
            for v in adj[u]:
                if v not in comp and kinds[v].get("kind") == "switch":
                    comp[v] = cid
                    queue.append(v)
        cid += 1
    return comp


def host_signatures(G: nx.Graph, adj: dict | None = None) -> dict:
    """``{gpu: frozenset of switch-component ids it attaches to}``."""
    if adj is None:
        adj = up_adjacency(G)
    comp = switch_components(G, adj)
    return {h: frozenset(comp[s] for s in sw) for h, sw in host_attachments(G, adj).items()}


def first_unreachable_pair(signatures: dict):
    """First ``(a, b)`` hosts (by host order) that share no switch component, or None.

    Two hosts can reach each other through switches iff their signatures intersect.
    """
    if len(signatures) < 2:
        return None
    if frozenset.intersection(*signatures.values()):
        return None
    groups: dict = {}
    for h, sig in signatures.items():
        groups.setdefault(sig, []).append(h)
    items = list(groups.items())  # insertion order = order of each group's first host
    for i, (sa, hosts_a) in enumerate(items):
        if not sa and len(hosts_a) > 1:
            return hosts_a[0], hosts_a[1]
        for sb, hosts_b in items[i + 1:]:
            if not (sa & sb):
                return hosts_a[0], hosts_b[0]
    return None


def multi_source_bfs(adj: dict, sources, is_switch) -> dict:
    """Hop distances from ``sources`` (switches) walking through switches only."""
    dist = {s: 0 for s in sources}
    queue = deque(sources)
    while queue:
        u = queue.popleft()
        du = dist[u] + 1
        for v in adj[u]:
            if v not in dist and is_switch(v):
                dist[v] = du
                queue.append(v)
    return dist


def switch_path_exists(G: nx.Graph, a, b) -> bool:
    """Whether switches ``a`` and ``b`` are connected through switches over working links.

    Bidirectional BFS, expanding the smaller frontier first; fast on well-connected fabrics.
    """
    if a == b:
        return True
    adj = G.adj
    nodes = G.nodes
    seen = ({a}, {b})
    frontier = ([a], [b])
    while frontier[0] and frontier[1]:
        side = 0 if len(frontier[0]) <= len(frontier[1]) else 1
        nxt = []
        mine, other = seen[side], seen[1 - side]
        for u in frontier[side]:
            for v, data in adj[u].items():
                if v in mine or data.get("up", True) is False or nodes[v].get("kind") != "switch":
                    continue
                if v in other:
                    return True
                mine.add(v)
                nxt.append(v)
        frontier = (nxt, frontier[1]) if side == 0 else (frontier[0], nxt)
    return False
