"""Indirect (switch-tree) scale-out fabrics: leaf-spine, k-ary fat tree, rail-optimised."""

from __future__ import annotations

import networkx as nx

from .registry import register_topology
from ._schema import (
    DEFAULT_DELAY_PS,
    DEFAULT_RATE_BPS,
    SCALE_OUT,
    add_gpus,
    add_link,
    add_switch,
    check_delay,
    check_int,
    check_positive_number,
    check_rate,
    integral,
    new_graph,
)

__all__ = ["leaf_spine", "fat_tree", "rail_optimized"]


@register_topology("leaf_spine")
def leaf_spine(
    n_leaves: int,
    n_spines: int,
    hosts_per_leaf: int,
    *,
    host_rate_bps: int = DEFAULT_RATE_BPS,
    fabric_rate_bps: int = DEFAULT_RATE_BPS,
    delay_ps: int = DEFAULT_DELAY_PS,
    links_per_spine: int = 1,
) -> nx.Graph:
    """Two-tier leaf-spine (folded Clos) fabric.

    Every leaf connects to every spine with ``links_per_spine`` parallel links
    (one edge with ``links=links_per_spine``); host ``i`` hangs off leaf
    ``i // hosts_per_leaf``.

    Parameters
    ----------
    n_leaves : int
        Number of leaf switches (``leaf0`` ...), >= 1.
    n_spines : int
        Number of spine switches (``spine0`` ...), >= 1.
    hosts_per_leaf : int
        GPUs (one NIC port each) per leaf, >= 1.
    host_rate_bps : int, optional
        Rate of each host-leaf link, default 100 Gbps.
    fabric_rate_bps : int, optional
        Rate of each leaf-spine link, default 100 Gbps.
    delay_ps : int, optional
        Propagation delay of every link, default 1 us.
    links_per_spine : int, optional
        Parallel links between each leaf and each spine, default 1.

    Returns
    -------
    networkx.Graph
        ``n_leaves * hosts_per_leaf`` GPUs ``gpu0 ..``, then leaves, then spines.
        Graph attribute ``oversubscription`` (float) is
        ``hosts_per_leaf * host_rate_bps / (n_spines * links_per_spine * fabric_rate_bps)``.

    Raises
    ------
    ValueError
        If an argument is out of range or of the wrong type.

    Notes
    -----
    Bisection bandwidth (first half of the hosts to the second half) for an even
    number of leaves is ``n_leaves / 2 * min(hosts_per_leaf * host_rate_bps,
    n_spines * links_per_spine * fabric_rate_bps)``.

    Examples
    --------
    >>> from uesim.topologies import leaf_spine
    >>> G = leaf_spine(4, 2, 8)
    >>> G.number_of_nodes(), G.graph["oversubscription"]
    (38, 4.0)
    >>> sorted(G["gpu9"])
    ['leaf1']
    >>> G.edges["leaf0", "spine1"]["rate_bps"]
    100000000000
    """
    n_leaves = check_int("n_leaves", n_leaves, 1)
    n_spines = check_int("n_spines", n_spines, 1)
    hosts_per_leaf = check_int("hosts_per_leaf", hosts_per_leaf, 1)
    host_rate_bps = check_rate("host_rate_bps", host_rate_bps)
    fabric_rate_bps = check_rate("fabric_rate_bps", fabric_rate_bps)
    delay_ps = check_delay("delay_ps", delay_ps)
    links_per_spine = check_int("links_per_spine", links_per_spine, 1)

    oversub = (hosts_per_leaf * host_rate_bps) / (n_spines * links_per_spine * fabric_rate_bps)
    G = new_graph(
        "leaf_spine",
        n_leaves=n_leaves,
        n_spines=n_spines,
        hosts_per_leaf=hosts_per_leaf,
        host_rate_bps=host_rate_bps,
        fabric_rate_bps=fabric_rate_bps,
        delay_ps=delay_ps,
        links_per_spine=links_per_spine,
        oversubscription=float(oversub),
    )
    add_gpus(G, n_leaves * hosts_per_leaf)
    for leaf in range(n_leaves):
        add_switch(G, f"leaf{leaf}", "leaf")
    for spine in range(n_spines):
        add_switch(G, f"spine{spine}", "spine")
    for i in range(n_leaves * hosts_per_leaf):
        add_link(G, f"gpu{i}", f"leaf{i // hosts_per_leaf}", host_rate_bps, delay_ps, SCALE_OUT)
    for leaf in range(n_leaves):
        for spine in range(n_spines):
            add_link(
                G, f"leaf{leaf}", f"spine{spine}", fabric_rate_bps, delay_ps, SCALE_OUT,
                links=links_per_spine,
            )
    return G


def fat_tree_radix_for(n_hosts: int) -> int:
    """The smallest (even) ``k`` whose non-oversubscribed fat tree has ``n_hosts`` hosts
    or more (``k**3 / 4`` of them).

    Examples
    --------
    >>> fat_tree_radix_for(16), fat_tree_radix_for(17), fat_tree_radix_for(1024), fat_tree_radix_for(8192)
    (4, 6, 16, 32)
    """
    if n_hosts < 1:
        raise ValueError(f"n_hosts must be >= 1, got {n_hosts}")
    k = 4
    while k ** 3 // 4 < n_hosts:
        k += 2
    return k


@register_topology("fat_tree")
def fat_tree(
    k: int,
    *,
    rate_bps: int = DEFAULT_RATE_BPS,
    delay_ps: int = DEFAULT_DELAY_PS,
    tor_oversubscription: int | float = 1,
    agg_oversubscription: int | float = 1,
) -> nx.Graph:
    """Three-tier k-ary fat tree (Al-Fares et al., SIGCOMM 2008), numbered as htsim does.

    ``k`` pods, each with ``k/2`` ToRs (``tor0 ..``, role ``tor``) and ``k/2`` aggregation
    switches (``agg0 ..``, role ``agg``); every ToR connects to every agg of its pod; agg
    at position ``p`` in its pod connects to cores ``p*u .. p*u + u - 1`` where ``u`` is
    the number of agg uplinks (``k/2`` when not oversubscribed), so core ``c`` has one
    link to every pod. ToRs and aggs are numbered consecutively per pod (``tor{t}`` is
    in pod ``t // (k/2)``), host ``i`` is under ToR ``i // hosts_per_tor``.

    Parameters
    ----------
    k : int
        Switch radix, even, >= 2.
    rate_bps : int, optional
        Rate of every link, default 100 Gbps.
    delay_ps : int, optional
        Propagation delay of every link, default 1 us.
    tor_oversubscription : int or float, optional
        Host-to-uplink ratio at the ToRs. Implemented as **more hosts per ToR**: each
        ToR keeps ``k/2`` uplinks and gets ``hosts_per_tor = k/2 * tor_oversubscription``
        hosts, which must be a whole number. Default 1 (``k/2`` hosts per ToR).
    agg_oversubscription : int or float, optional
        Downlink-to-uplink ratio at the aggs. Implemented as **fewer uplinks per agg**:
        ``u = (k/2) / agg_oversubscription`` uplinks (a whole number >= 1), and
        correspondingly ``(k/2) * u`` cores of radix ``k``. Default 1.

    Returns
    -------
    networkx.Graph
        ``k * (k/2) * hosts_per_tor`` GPUs, then ToRs, aggs and cores. GPUs, ToRs and
        aggs carry the ``pod`` attribute. Graph attributes include ``hosts_per_tor``,
        ``agg_uplinks`` and ``n_cores``.

    Raises
    ------
    ValueError
        If ``k`` is odd or < 2, a rate or delay is invalid, or an oversubscription does
        not give a whole number of hosts per ToR / uplinks per agg.

    Notes
    -----
    Bisection bandwidth (pods ``0 .. k/2-1`` against the rest) is
    ``k/2 * min(hosts_per_pod, (k/2)**2, (k/2) * u) * rate_bps``; ``k**3/8 * rate_bps``
    for the non-oversubscribed tree.

    Examples
    --------
    >>> from uesim.topologies import fat_tree
    >>> G = fat_tree(4)
    >>> sum(1 for _, r in G.nodes(data="role") if r == "host")
    16
    >>> sorted(G["gpu5"]), G.nodes["tor2"]["pod"]
    (['tor2'], 1)
    >>> sorted(n for n in G["agg1"] if n.startswith("core"))
    ['core2', 'core3']
    >>> fat_tree(4, tor_oversubscription=2).graph["hosts_per_tor"]
    4
    """
    k = check_int("k", k, 2)
    if k % 2:
        raise ValueError(f"k must be an even int >= 2, got {k}")
    rate_bps = check_rate("rate_bps", rate_bps)
    delay_ps = check_delay("delay_ps", delay_ps)
    check_positive_number("tor_oversubscription", tor_oversubscription)
    check_positive_number("agg_oversubscription", agg_oversubscription)
    half = k // 2
    if tor_oversubscription < 1:
        raise ValueError(
            f"tor_oversubscription must be >= 1 (hosts per ToR >= k/2), got {tor_oversubscription!r}"
        )
    hosts_per_tor = integral(
        "tor_oversubscription", half * tor_oversubscription,
        f"k/2 * tor_oversubscription (hosts per ToR, k={k})",
    )
    if agg_oversubscription < 1:
        raise ValueError(
            f"agg_oversubscription must be >= 1 (uplinks per agg <= k/2), got {agg_oversubscription!r}"
        )
    uplinks = integral(
        "agg_oversubscription", half / agg_oversubscription,
        f"(k/2) / agg_oversubscription (uplinks per agg, k={k})",
    )
    n_tors = k * half
    n_cores = half * uplinks
    n_hosts = n_tors * hosts_per_tor

    G = new_graph(
        "fat_tree",
        k=k,
        rate_bps=rate_bps,
        delay_ps=delay_ps,
        tor_oversubscription=tor_oversubscription,
        agg_oversubscription=agg_oversubscription,
        hosts_per_tor=hosts_per_tor,
        agg_uplinks=uplinks,
        n_cores=n_cores,
    )
    hosts_per_pod = half * hosts_per_tor
    add_gpus(G, n_hosts, pod=lambda i: i // hosts_per_pod)
    for t in range(n_tors):
        add_switch(G, f"tor{t}", "tor", pod=t // half)
    for a in range(n_tors):
        add_switch(G, f"agg{a}", "agg", pod=a // half)
    for c in range(n_cores):
        add_switch(G, f"core{c}", "core")
    for i in range(n_hosts):
        add_link(G, f"gpu{i}", f"tor{i // hosts_per_tor}", rate_bps, delay_ps, SCALE_OUT)
    for t in range(n_tors):
        pod = t // half
        for p in range(half):
            add_link(G, f"tor{t}", f"agg{pod * half + p}", rate_bps, delay_ps, SCALE_OUT)
    for a in range(n_tors):
        p = a % half
        for j in range(uplinks):
            add_link(G, f"agg{a}", f"core{p * uplinks + j}", rate_bps, delay_ps, SCALE_OUT)
    return G


@register_topology("rail_optimized")
def rail_optimized(
    n_servers: int,
    gpus_per_server: int = 8,
    n_spines: int = 1,
    *,
    servers_per_leaf: int | None = None,
    host_rate_bps: int = DEFAULT_RATE_BPS,
    fabric_rate_bps: int = DEFAULT_RATE_BPS,
    delay_ps: int = DEFAULT_DELAY_PS,
    links_per_spine: int = 1,
) -> nx.Graph:
    """Rail-optimised two-tier fabric: GPU ``r`` of every server on rail leaf ``r``.

    GPU ``i`` is local GPU ``r = i % gpus_per_server`` (its *rail*) of server
    ``s = i // gpus_per_server``. Servers are grouped into rail groups of
    ``servers_per_leaf`` servers; group ``g`` has one leaf per rail,
    ``leaf{g * gpus_per_server + r}``, to which GPU ``r`` of each of its servers
    connects. Every leaf connects to every spine with ``links_per_spine`` links.

    Parameters
    ----------
    n_servers : int
        Number of servers, >= 1.
    gpus_per_server : int, optional
        GPUs (and rails) per server, default 8.
    n_spines : int, optional
        Number of spines above the rail leaves, default 1.
    servers_per_leaf : int or None, optional
        Servers per rail group (leaf downlinks); must divide ``n_servers``. Default
        ``None``: all servers in one group (one leaf per rail).
    host_rate_bps, fabric_rate_bps : int, optional
        Rates of GPU-leaf and leaf-spine links, default 100 Gbps.
    delay_ps : int, optional
        Propagation delay of every link, default 1 us.
    links_per_spine : int, optional
        Parallel links between each leaf and each spine, default 1.

    Returns
    -------
    networkx.Graph
        GPUs carry ``rail`` and ``server``; leaves carry ``rail`` and ``pod`` (the rail
        group). Graph attributes include ``oversubscription`` (float, leaf downlink over
        uplink capacity) and the resolved ``servers_per_leaf``.

    Notes
    -----
    Bisection bandwidth (first half of servers to the rest): with a single rail group
    and an even number of servers, GPU pairs on the same rail meet at their leaf, so it is
    ``n_hosts / 2 * host_rate_bps``; with an even number of groups it is
    ``gpus_per_server * groups / 2 * min(servers_per_leaf * host_rate_bps,
    n_spines * links_per_spine * fabric_rate_bps)``.

    Examples
    --------
    >>> from uesim.topologies import rail_optimized
    >>> G = rail_optimized(4, 8, 2)
    >>> sorted(G["gpu11"]), G.nodes["gpu11"]["rail"], G.nodes["gpu11"]["server"]
    (['leaf3'], 3, 1)
    >>> G2 = rail_optimized(4, 4, 2, servers_per_leaf=2)
    >>> sorted(G2["gpu13"])
    ['leaf5']
    """
    n_servers = check_int("n_servers", n_servers, 1)
    gpus_per_server = check_int("gpus_per_server", gpus_per_server, 1)
    n_spines = check_int("n_spines", n_spines, 1)
    if servers_per_leaf is None:
        servers_per_leaf = n_servers
    servers_per_leaf = check_int("servers_per_leaf", servers_per_leaf, 1)
    if n_servers % servers_per_leaf:
        raise ValueError(
            f"servers_per_leaf must divide n_servers={n_servers}, got {servers_per_leaf}"
        )
    host_rate_bps = check_rate("host_rate_bps", host_rate_bps)
    fabric_rate_bps = check_rate("fabric_rate_bps", fabric_rate_bps)
    delay_ps = check_delay("delay_ps", delay_ps)
    links_per_spine = check_int("links_per_spine", links_per_spine, 1)

    groups = n_servers // servers_per_leaf
    oversub = (servers_per_leaf * host_rate_bps) / (n_spines * links_per_spine * fabric_rate_bps)
    G = new_graph(
        "rail_optimized",
        n_servers=n_servers,
        gpus_per_server=gpus_per_server,
        n_spines=n_spines,
        servers_per_leaf=servers_per_leaf,
        host_rate_bps=host_rate_bps,
        fabric_rate_bps=fabric_rate_bps,
        delay_ps=delay_ps,
        links_per_spine=links_per_spine,
        oversubscription=float(oversub),
    )
    n_hosts = n_servers * gpus_per_server
    add_gpus(
        G, n_hosts, rail=lambda i: i % gpus_per_server, server=lambda i: i // gpus_per_server
    )
    for g in range(groups):
        for r in range(gpus_per_server):
            add_switch(G, f"leaf{g * gpus_per_server + r}", "leaf", rail=r, pod=g)
    for s in range(n_spines):
        add_switch(G, f"spine{s}", "spine")
    for i in range(n_hosts):
        server, rail = divmod(i, gpus_per_server)
        leaf = (server // servers_per_leaf) * gpus_per_server + rail
        add_link(G, f"gpu{i}", f"leaf{leaf}", host_rate_bps, delay_ps, SCALE_OUT)
    for leaf in range(groups * gpus_per_server):
        for s in range(n_spines):
            add_link(
                G, f"leaf{leaf}", f"spine{s}", fabric_rate_bps, delay_ps, SCALE_OUT,
                links=links_per_spine,
            )
    return G
