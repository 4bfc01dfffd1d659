"""Check that a graph follows the uesim topology schema and can carry host traffic."""

from __future__ import annotations

import networkx as nx

from ._paths import first_unreachable_pair, host_signatures, up_adjacency
from ._schema import FABRICS, INT_NODE_ATTRS, KINDS, SWITCH_ROLES, _is_int

__all__ = ["TopologyError", "validate_topology"]


class TopologyError(ValueError):
    """A graph does not follow the uesim topology schema (see :func:`validate_topology`)."""


def _check_nodes(G: nx.Graph) -> None:
    host_index = 0
    for node, data in G.nodes(data=True):
        if not isinstance(node, str):
            raise TopologyError(
                f"node {node!r}: node names must be strings (e.g. 'gpu0', 'tor3'), "
                f"got {type(node).__name__}"
            )
        kind = data.get("kind")
        if kind is None:
            raise TopologyError(
                f"node {node!r}: missing attribute 'kind' (allowed: {', '.join(KINDS)})"
            )
        if kind not in KINDS:
            raise TopologyError(
                f"node {node!r}: unknown kind {kind!r} (allowed: {', '.join(KINDS)})"
            )
        role = data.get("role")
        allowed = ("host",) if kind == "gpu" else SWITCH_ROLES
        if role is None:
            raise TopologyError(
                f"node {node!r}: missing attribute 'role' (allowed for kind {kind!r}: "
                f"{', '.join(allowed)})"
            )
        if role not in allowed:
            raise TopologyError(
                f"node {node!r}: unknown role {role!r} for kind {kind!r} "
                f"(allowed: {', '.join(allowed)})"
            )
        for attr in INT_NODE_ATTRS:
            if attr in data and not _is_int(data[attr]):
                raise TopologyError(
                    f"node {node!r}: attribute {attr!r} must be an int, got {data[attr]!r}"
                )
        if kind == "gpu":
            if node != f"gpu{host_index}":
                raise TopologyError(
                    f"node {node!r}: host number {host_index} (order of gpu nodes in "
                    f"G.nodes) must be named 'gpu{host_index}'"
                )
            host_index += 1
    if host_index == 0:
        raise TopologyError("graph has no node with kind 'gpu' (no hosts)")


def _check_edges(G: nx.Graph) -> None:
    nodes = G.nodes
    for u, v, data in G.edges(data=True):
        where = f"edge ({u!r}, {v!r})"
        if u == v:
            raise TopologyError(f"{where}: self-loop")
        rate = data.get("rate_bps")
        if rate is None:
            raise TopologyError(f"{where}: missing attribute 'rate_bps' (int bits/s > 0)")
        if not _is_int(rate):
            raise TopologyError(
                f"{where}: attribute 'rate_bps' must be an int (bits/s > 0), got {rate!r}"
            )
        if rate <= 0:
            raise TopologyError(f"{where}: rate_bps must be > 0, got {rate}")
        delay = data.get("delay_ps")
        if delay is None:
            raise TopologyError(f"{where}: missing attribute 'delay_ps' (int picoseconds >= 0)")
        if not _is_int(delay):
            raise TopologyError(
                f"{where}: attribute 'delay_ps' must be an int (picoseconds >= 0), got {delay!r}"
            )
        if delay < 0:
            raise TopologyError(f"{where}: delay_ps must be >= 0, got {delay}")
        fabric = data.get("fabric")
        if fabric is None:
            raise TopologyError(
                f"{where}: missing attribute 'fabric' (allowed: {', '.join(FABRICS)})"
            )
        if fabric not in FABRICS:
            raise TopologyError(
                f"{where}: unknown fabric {fabric!r} (allowed: {', '.join(FABRICS)})"
            )
        links = data.get("links", 1)
        if not _is_int(links) or links < 1:
            raise TopologyError(f"{where}: attribute 'links' must be an int >= 1, got {links!r}")
        up = data.get("up", True)
        if not isinstance(up, bool):
            raise TopologyError(f"{where}: attribute 'up' must be a bool, got {up!r}")
        nominal = data.get("nominal_rate_bps", 1)
        if not _is_int(nominal) or nominal <= 0:
            raise TopologyError(
                f"{where}: attribute 'nominal_rate_bps' must be an int > 0, got {nominal!r}"
            )
        if nodes[u]["kind"] == "gpu" and nodes[v]["kind"] == "gpu":
            raise TopologyError(
                f"{where}: gpu-gpu edge; GPUs connect only to switches (model a direct "
                f"GPU interconnect as switches with hosts attached, e.g. torus())"
            )


def validate_topology(G: nx.Graph, *, connected: bool = True) -> None:
    """Check ``G`` against the topology schema; raise on the first problem found.

    Checks, in order: graph type (undirected ``nx.Graph``); every node's ``kind``
    (``gpu``/``switch``), ``role`` (``host`` for GPUs; ``tor``, ``leaf``, ``agg``,
    ``spine``, ``core``, ``nvswitch`` for switches) and optional int attributes; host
    naming (the ``i``-th GPU in ``G.nodes`` is ``gpu{i}``); every edge's ``rate_bps``
    (int > 0), ``delay_ps`` (int >= 0), ``fabric`` (``scale_up``/``scale_out``),
    optional ``links`` (int >= 1), ``up`` (bool), ``nominal_rate_bps`` (int > 0); no
    gpu-gpu edge; every GPU has a switch neighbour over a working link; then, if
    ``connected``, that the graph is connected (counting failed links too) and every
    host can reach every other host through switches over working links (GPUs are never
    transit nodes).

    Parameters
    ----------
    G : networkx.Graph
        The topology.
    connected : bool, optional
        Check connectivity and host-to-host reachability (default True). Pass False
        for an ingredient graph such as a multi-server ``hgx()`` before composing it
        with a scale-out fabric in ``hybrid()``.

    Returns
    -------
    None

    Raises
    ------
    TopologyError
        A ``ValueError`` naming the first problem (node or edge, attribute, value and
        what is allowed).

    Examples
    --------
    >>> from uesim.topologies import leaf_spine, validate_topology
    >>> G = leaf_spine(2, 1, 2)
    >>> validate_topology(G)
    >>> G.edges["gpu0", "leaf0"]["rate_bps"] = 0
    >>> validate_topology(G)
    Traceback (most recent call last):
    ...
    uesim.topologies.validate.TopologyError: edge ('gpu0', 'leaf0'): rate_bps must be > 0, got 0
    """
    if not isinstance(G, nx.Graph):
        raise TopologyError(f"topology must be a networkx.Graph, got {type(G).__name__}")
    if G.is_directed() or G.is_multigraph():
        raise TopologyError(
            f"topology must be an undirected simple nx.Graph (use the 'links' edge attribute "
            f"for parallel links), got {type(G).__name__}"
        )
    _check_nodes(G)
    _check_edges(G)
    adj = up_adjacency(G)
    nodes = G.nodes
    for node, kind in G.nodes(data="kind"):
        if kind == "gpu" and not any(nodes[m]["kind"] == "switch" for m in adj[node]):
            raise TopologyError(
                f"node {node!r}: gpu has no switch neighbour over a working link"
            )
    if not connected:
        return
    # physical connectivity (failed links count: a switch whose links are all down is
    # a failure scenario, not a malformed graph); reachability below uses working links
    seen = set()
    first = next(iter(G))
    stack = [first]
    seen.add(first)
    full = G.adj
    while stack:
        u = stack.pop()
        for v in full[u]:
            if v not in seen:
                seen.add(v)
                stack.append(v)
    if len(seen) != G.number_of_nodes():
        other = next(n for n in G if n not in seen)
        raise TopologyError(
            f"graph is disconnected: node {other!r} is in a different component from "
            f"{first!r} ({len(seen)} of {G.number_of_nodes()} nodes connected to it)"
        )
    pair = first_unreachable_pair(host_signatures(G, adj))
    if pair is not None:
        a, b = pair
        raise TopologyError(
            f"host {a!r} has no path to host {b!r} through switches "
            f"(GPUs are not transit nodes)"
        )
