"""Direct scale-out fabrics: every switch has hosts (torus, dragonfly).

Switches are named ``router{r}`` with role ``tor`` (a torus "GPU with an integrated
router" is modelled as a switch with ``hosts_per_switch`` GPUs attached, since GPUs are
never transit nodes).
"""

from __future__ import annotations

import math

import networkx as nx

from .registry import register_topology
from ._schema import (
    DEFAULT_DELAY_PS,
    DEFAULT_RATE_BPS,
    SCALE_OUT,
    add_gpus,
    add_link,
    add_switch,
    check_choice,
    check_delay,
    check_int,
    check_rate,
    new_graph,
)

__all__ = ["torus", "dragonfly", "DRAGONFLY_ARRANGEMENTS"]

_AXES = ("x", "y", "z")


def _parse_dims(dims) -> tuple[int, ...]:
    if isinstance(dims, str):
        parts = dims.lower().replace(",", "x").split("x")
        try:
            dims = tuple(int(p) for p in parts)
        except ValueError:
            raise ValueError(
                f"dims must be a tuple of 1 to 3 ints >= 1 or a string like '4x4x2', got {dims!r}"
            ) from None
    if isinstance(dims, int) and not isinstance(dims, bool):
        dims = (dims,)
    if not isinstance(dims, (tuple, list)) or not 1 <= len(dims) <= 3:
        raise ValueError(
            f"dims must be a tuple of 1 to 3 ints >= 1 or a string like '4x4x2', got {dims!r}"
        )
    return tuple(check_int(f"dims[{i}]", d, 1) for i, d in enumerate(dims))


@register_topology("torus")
def torus(
    dims,
    hosts_per_switch: int = 1,
    *,
    host_rate_bps: int = DEFAULT_RATE_BPS,
    link_rate_bps: int = DEFAULT_RATE_BPS,
    delay_ps: int = DEFAULT_DELAY_PS,
) -> nx.Graph:
    """1-, 2- or 3-D torus of switches with wrap-around links, hosts on every switch.

    Router ``r`` sits at coordinates ``(x, y, z)`` with ``r = x + X*(y + Y*z)`` (x
    fastest) and connects to its ``+1`` neighbour (mod size) in every dimension. A
    dimension of size 2 gives one edge with ``links=2`` (the ``+1`` and ``-1``
    cables go to the same neighbour), so every router has ``2`` links per dimension of
    size >= 2; a dimension of size 1 adds no links. Host ``i`` is on router
    ``i // hosts_per_switch``.

    Parameters
    ----------
    dims : tuple of int or str
        Torus sizes, e.g. ``(4, 4)``, ``(4, 4, 2)`` or the string ``"4x4x2"``.
    hosts_per_switch : int, optional
        GPUs per router, default 1.
    host_rate_bps : int, optional
        Rate of each GPU-router link, default 100 Gbps.
    link_rate_bps : int, optional
        Rate of each router-router link, default 100 Gbps.
    delay_ps : int, optional
        Propagation delay of every link, default 1 us.

    Returns
    -------
    networkx.Graph
        Routers carry ``x`` (and ``y``, ``z`` when present); graph attribute ``dims``
        is the string ``"XxYxZ"`` and ``ndims`` its length.

    Notes
    -----
    Bisection bandwidth (hosts by index, i.e. cut across the last dimension, of even
    size) is ``min(n_hosts/2 * host_rate_bps, 2 * prod(dims[:-1]) * link_rate_bps)``.

    Examples
    --------
    >>> from uesim.topologies import torus
    >>> G = torus((4, 4))
    >>> sorted(G["router5"])
    ['gpu5', 'router1', 'router4', 'router6', 'router9']
    >>> G.graph["dims"], G.nodes["router6"]["x"], G.nodes["router6"]["y"]
    ('4x4', 2, 1)
    """
    dims = _parse_dims(dims)
    hosts_per_switch = check_int("hosts_per_switch", hosts_per_switch, 1)
    host_rate_bps = check_rate("host_rate_bps", host_rate_bps)
    link_rate_bps = check_rate("link_rate_bps", link_rate_bps)
    delay_ps = check_delay("delay_ps", delay_ps)
    n_routers = math.prod(dims)
    G = new_graph(
        "torus", dims="x".join(map(str, dims)), ndims=len(dims),
        hosts_per_switch=hosts_per_switch, host_rate_bps=host_rate_bps,
        link_rate_bps=link_rate_bps, delay_ps=delay_ps,
    )
    add_gpus(G, n_routers * hosts_per_switch)
    strides = [math.prod(dims[:i]) for i in range(len(dims))]

    def coords(r):
        return [(r // strides[i]) % dims[i] for i in range(len(dims))]

    for r in range(n_routers):
        add_switch(G, f"router{r}", "tor", **dict(zip(_AXES, coords(r))))
    for i in range(n_routers * hosts_per_switch):
        add_link(G, f"gpu{i}", f"router{i // hosts_per_switch}", host_rate_bps, delay_ps, SCALE_OUT)
    for r in range(n_routers):
        c = coords(r)
        for d, size in enumerate(dims):
            if size == 1:
                continue
            nxt = r + (((c[d] + 1) % size) - c[d]) * strides[d]
            if size == 2 and c[d] == 1:
                continue  # the pair (0, 1) already got links=2
            add_link(
                G, f"router{r}", f"router{nxt}", link_rate_bps, delay_ps, SCALE_OUT,
                links=2 if size == 2 else 1,
            )
    return G


#: Global-link arrangements accepted by :func:`dragonfly`.
DRAGONFLY_ARRANGEMENTS = ("absolute", "relative", "circulant")


def _peer_slot(arrangement: str, g: int, i: int, c: int) -> tuple[int, int]:
    """Group ``j`` reached by slot ``c`` (0..g-2) of group ``i``, and its slot back to ``i``."""
    if arrangement == "absolute":
        j = c if c < i else c + 1
        back = i if i < j else i - 1
    elif arrangement == "relative":
        j = (i + c + 1) % g
        back = g - 2 - c
    else:  # circulant: slots 2m, 2m+1 reach offsets +(m+1), -(m+1); offset g/2 once
        m, sign = divmod(c, 2)
        off = m + 1
        if 2 * off == g:
            j = (i + off) % g
            back = c
        else:
            j = (i + off) % g if sign == 0 else (i - off) % g
            back = c + 1 if sign == 0 else c - 1
    return j, back


@register_topology("dragonfly")
def dragonfly(
    groups: int,
    routers_per_group: int,
    hosts_per_router: int,
    global_links_per_router: int,
    arrangement: str = "absolute",
    *,
    host_rate_bps: int = DEFAULT_RATE_BPS,
    local_rate_bps: int = DEFAULT_RATE_BPS,
    global_rate_bps: int = DEFAULT_RATE_BPS,
    delay_ps: int = DEFAULT_DELAY_PS,
    global_delay_ps: int | None = None,
) -> nx.Graph:
    """Dragonfly (Kim et al., ISCA 2008): all-to-all groups joined by global links.

    Routers ``router{group * a + r}`` (role ``tor``, attribute ``group``) are connected
    all-to-all inside each group; each router has ``h = global_links_per_router``
    global ports, so a group has ``a*h`` global ports, which must be a multiple of
    ``groups - 1``: every pair of groups is then joined by ``m = a*h / (groups-1)``
    global links (``m = 1`` for the balanced maximum size ``groups = a*h + 1``).
    Global port ``p`` of a group (on router ``p // h``) uses slot
    ``c = p % (groups-1)`` of repetition ``p // (groups-1)``; the arrangement maps
    slots to peer groups (Camarero, Vallejo, Beivide, "Topological analysis and global
    link arrangements of dragonfly networks", ACM TACO 2014):

    * ``"absolute"`` (palm tree / consecutive): slot ``c`` of group ``i`` goes to group
      ``c`` if ``c < i`` else ``c + 1``;
    * ``"relative"``: slot ``c`` goes to group ``(i + c + 1) mod groups``;
    * ``"circulant"``: slots ``2m`` and ``2m+1`` go to offsets ``+(m+1)`` and
      ``-(m+1)``.

    Parallel global links between the same two routers become one edge with ``links``.

    Parameters
    ----------
    groups : int
        Number of groups, >= 2.
    routers_per_group : int
        Routers per group ``a``, >= 1.
    hosts_per_router : int
        GPUs per router ``p``, >= 1.
    global_links_per_router : int
        Global ports per router ``h``, >= 1.
    arrangement : {"absolute", "relative", "circulant"}, optional
        Global link arrangement, default ``"absolute"``.
    host_rate_bps, local_rate_bps, global_rate_bps : int, optional
        Rates of host, intra-group and global links, default 100 Gbps.
    delay_ps : int, optional
        Propagation delay of host and local links, default 1 us.
    global_delay_ps : int or None, optional
        Propagation delay of global links, default ``delay_ps``.

    Returns
    -------
    networkx.Graph
        GPUs and routers carry ``group``.

    Examples
    --------
    >>> from uesim.topologies import dragonfly
    >>> G = dragonfly(9, 4, 2, 2)
    >>> G.number_of_nodes(), G.nodes["router5"]["group"]
    (108, 1)
    >>> sorted(n for n in G["router0"] if G.nodes[n]["group"] != 0)
    ['router4', 'router8']
    """
    groups = check_int("groups", groups, 2)
    a = check_int("routers_per_group", routers_per_group, 1)
    p = check_int("hosts_per_router", hosts_per_router, 1)
    h = check_int("global_links_per_router", global_links_per_router, 1)
    check_choice("arrangement", arrangement, DRAGONFLY_ARRANGEMENTS)
    host_rate_bps = check_rate("host_rate_bps", host_rate_bps)
    local_rate_bps = check_rate("local_rate_bps", local_rate_bps)
    global_rate_bps = check_rate("global_rate_bps", global_rate_bps)
    delay_ps = check_delay("delay_ps", delay_ps)
    global_delay_ps = delay_ps if global_delay_ps is None else check_delay(
        "global_delay_ps", global_delay_ps
    )
    ports = a * h
    if ports % (groups - 1):
        raise ValueError(
            f"routers_per_group * global_links_per_router = {ports} global ports per group "
            f"must be a multiple of groups - 1 = {groups - 1} (groups={groups}); "
            f"e.g. groups={ports + 1} for the balanced dragonfly"
        )
    m = ports // (groups - 1)
    G = new_graph(
        "dragonfly", groups=groups, routers_per_group=a, hosts_per_router=p,
        global_links_per_router=h, arrangement=arrangement, host_rate_bps=host_rate_bps,
        local_rate_bps=local_rate_bps, global_rate_bps=global_rate_bps, delay_ps=delay_ps,
        global_delay_ps=global_delay_ps, links_per_group_pair=m,
    )
    per_group = a * p
    add_gpus(G, groups * per_group, group=lambda i: i // per_group)
    for r in range(groups * a):
        add_switch(G, f"router{r}", "tor", group=r // a)
    for i in range(groups * per_group):
        add_link(G, f"gpu{i}", f"router{i // p}", host_rate_bps, delay_ps, SCALE_OUT)
    for g in range(groups):
        for r1 in range(a):
            for r2 in range(r1 + 1, a):
                add_link(
                    G, f"router{g * a + r1}", f"router{g * a + r2}", local_rate_bps, delay_ps,
                    SCALE_OUT,
                )
    for i in range(groups):
        for port in range(ports):
            rep, c = divmod(port, groups - 1)
            j, back = _peer_slot(arrangement, groups, i, c)
            peer_port = rep * (groups - 1) + back
            if (j, peer_port) < (i, port):
                continue  # added from the other side
            add_link(
                G, f"router{i * a + port // h}", f"router{j * a + peer_port // h}",
                global_rate_bps, global_delay_ps, SCALE_OUT,
            )
    return G
