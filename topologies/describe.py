"""Summaries of a topology: counts, link rates, diameter, bisection, oversubscription."""

from __future__ import annotations

import random
import statistics
from collections import Counter, deque

import networkx as nx

from ._paths import multi_source_bfs, up_adjacency
from ._schema import ROLES, capacity, is_up

__all__ = ["describe_topology", "bisection_bandwidth"]

_SOURCE = ("__bisection_source__",)
_SINK = ("__bisection_sink__",)


def _hosts(G: nx.Graph) -> list:
    return [n for n, k in G.nodes(data="kind") if k == "gpu"]


def bisection_bandwidth(G: nx.Graph, *, fabric: str | None = None) -> int:
    """Max flow (bits/s) from the first half of the hosts to the second half.

    The hosts are split by host number: ``A`` = the first ``n_hosts // 2`` GPUs, ``B``
    = the rest. The value is the maximum flow from all of ``A`` to all of ``B`` (equal to
    the minimum cut separating them) in the network whose edge capacities are
    ``rate_bps * links`` in each direction, over working links only, with GPUs as
    sources and sinks but never transit (networkx ``maximum_flow_value``). For the
    standard generators this split is a worst-case bisection and matches the closed
    formulas in their docstrings.

    Parameters
    ----------
    G : networkx.Graph
    fabric : {"scale_up", "scale_out"} or None, optional
        Only use edges of this fabric (default: all).

    Returns
    -------
    int

    Examples
    --------
    >>> from uesim.topologies import fat_tree, bisection_bandwidth
    >>> bisection_bandwidth(fat_tree(4)) == 8 * 100_000_000_000
    True
    """
    hosts = _hosts(G)
    if len(hosts) < 2:
        return 0
    side = {h: (i < len(hosts) // 2) for i, h in enumerate(hosts)}
    D = nx.DiGraph()
    src_cap: Counter = Counter()
    sink_cap: Counter = Counter()
    kinds = G.nodes
    for u, v, d in G.edges(data=True):
        if fabric is not None and d.get("fabric") != fabric:
            continue
        cap = capacity(d)
        if cap == 0:
            continue
        gu, gv = kinds[u]["kind"] == "gpu", kinds[v]["kind"] == "gpu"
        if gu and gv:
            continue
        if gu or gv:
            h, s = (u, v) if gu else (v, u)
            (src_cap if side[h] else sink_cap)[s] += cap
            continue
        for a, b in ((u, v), (v, u)):
            if D.has_edge(a, b):
                D[a][b]["capacity"] += cap
            else:
                D.add_edge(a, b, capacity=cap)
    for s, cap in src_cap.items():
        D.add_edge(_SOURCE, s, capacity=cap)
    for s, cap in sink_cap.items():
        D.add_edge(s, _SINK, capacity=cap)
    if _SOURCE not in D or _SINK not in D:
        return 0
    return int(nx.maximum_flow_value(D, _SOURCE, _SINK))


def _diameter(G: nx.Graph, adj: dict):
    kinds = G.nodes
    groups: dict = {}
    for h, k in G.nodes(data="kind"):
        if k == "gpu":
            sw = frozenset(m for m in adj[h] if kinds[m]["kind"] == "switch")
            groups[sw] = groups.get(sw, 0) + 1
    if sum(groups.values()) < 2:
        return None
    if frozenset() in groups:
        return None
    is_switch = lambda n: kinds[n]["kind"] == "switch"  # noqa: E731
    best = 2 if any(c > 1 for c in groups.values()) else 0
    sets = list(groups)
    for i, sa in enumerate(sets):
        dist = multi_source_bfs(adj, list(sa), is_switch)
        for sb in sets[i + 1:]:
            d = min((dist[s] for s in sb if s in dist), default=None)
            if d is None:
                return None
            best = max(best, d + 2)
    return best


def _count_shortest(adj: dict, kinds, a, b):
    """(hops, number of shortest node paths) from host a to host b through switches."""
    dist = {a: 0}
    sigma = {a: 1}
    queue = deque([a])
    while queue:
        u = queue.popleft()
        if u != a and kinds[u]["kind"] != "switch":
            continue  # GPUs are endpoints only
        for v in adj[u]:
            if v not in dist:
                dist[v] = dist[u] + 1
                sigma[v] = sigma[u]
                queue.append(v)
            elif dist[v] == dist[u] + 1:
                sigma[v] += sigma[u]
    return dist.get(b), sigma.get(b, 0)


def _levels(G: nx.Graph, adj: dict) -> dict:
    level = {n: 0 for n, k in G.nodes(data="kind") if k == "gpu"}
    queue = deque(level)
    while queue:
        u = queue.popleft()
        for v in adj[u]:
            if v not in level:
                level[v] = level[u] + 1
                queue.append(v)
    return level


def _oversubscription(G: nx.Graph, adj: dict) -> dict:
    level = _levels(G, adj)
    down: Counter = Counter()
    up: Counter = Counter()
    for u, v, d in G.edges(data=True):
        cap = capacity(d)
        if not cap or u not in level or v not in level or level[u] == level[v]:
            continue
        lo, hi = (u, v) if level[u] < level[v] else (v, u)
        if G.nodes[lo]["kind"] == "switch":
            up[G.nodes[lo]["role"]] += cap
        down[G.nodes[hi]["role"]] += cap
    out = {}
    for role in ROLES[1:]:
        if any(r == role for _, r in G.nodes(data="role")):
            out[role] = down[role] / up[role] if up[role] else None
    return out


def describe_topology(G: nx.Graph, *, sample_pairs: int = 32, seed: int = 0) -> dict:
    """Summarise a topology.

    Parameters
    ----------
    G : networkx.Graph
        A topology that passes :func:`validate_topology`.
    sample_pairs : int, optional
        Number of host pairs sampled for path diversity, default 32.
    seed : int, optional
        Seed of the host-pair sample, default 0.

    Returns
    -------
    dict
        ``name``; ``n_hosts``; ``n_switches``; ``counts_by_role`` (``{role: n}``);
        ``links_by_rate`` (``{rate_bps: n}`` over working links, counting each edge's
        ``links``); ``links_by_fabric``; ``failed_links``; ``diameter`` (max host-to-host
        hops through switches over working links, None if some pair is unreachable);
        ``bisection_bandwidth_bps`` (see :func:`bisection_bandwidth`);
        ``oversubscription`` (``{switch role: downlink / uplink capacity}`` summed over
        the switches of that role, where up and down are by hop distance from the
        nearest host; None for a role with no uplinks, e.g. the top tier, scale-up
        switches, or routers of direct topologies whose switch links are all lateral);
        ``path_diversity`` (``min``/``median``/``max`` number of distinct shortest
        switch paths, as node sequences, over a seeded sample of host pairs, and
        ``pairs`` sampled).

    Examples
    --------
    >>> from uesim.topologies import fat_tree, describe_topology
    >>> d = describe_topology(fat_tree(4))
    >>> d["counts_by_role"]
    {'host': 16, 'tor': 8, 'agg': 8, 'core': 4}
    >>> d["diameter"], d["bisection_bandwidth_bps"], d["oversubscription"]["tor"]
    (6, 800000000000, 1.0)
    >>> d["path_diversity"]["max"]
    4
    """
    adj = up_adjacency(G)
    kinds = G.nodes
    roles = Counter(r for _, r in G.nodes(data="role"))
    counts = {r: roles[r] for r in ROLES if roles[r]}
    counts.update({r: c for r, c in roles.items() if r not in counts})
    by_rate: Counter = Counter()
    by_fabric: Counter = Counter()
    failed = 0
    for _, _, d in G.edges(data=True):
        n = d.get("links", 1)
        if is_up(d):
            by_rate[d["rate_bps"]] += n
            by_fabric[d["fabric"]] += n
        else:
            failed += n
    hosts = _hosts(G)
    rng = random.Random(seed)
    diversity = []
    if len(hosts) >= 2:
        for _ in range(sample_pairs):
            a, b = rng.sample(hosts, 2)
            hops, paths = _count_shortest(adj, kinds, a, b)
            diversity.append(paths)
    return {
        "name": G.graph.get("name", "custom"),
        "n_hosts": len(hosts),
        "n_switches": G.number_of_nodes() - len(hosts),
        "counts_by_role": counts,
        "links_by_rate": dict(sorted(by_rate.items())),
        "links_by_fabric": dict(sorted(by_fabric.items())),
        "failed_links": failed,
        "diameter": _diameter(G, adj),
        "bisection_bandwidth_bps": bisection_bandwidth(G),
        "oversubscription": _oversubscription(G, adj),
        "path_diversity": {
            "min": min(diversity) if diversity else 0,
            "median": statistics.median(diversity) if diversity else 0,
            "max": max(diversity) if diversity else 0,
            "pairs": len(diversity),
        },
    }
