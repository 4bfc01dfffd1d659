"""Read and write topologies as GraphML or node-link JSON, keeping attribute types."""

from __future__ import annotations

import json
import os
import re

import networkx as nx

from ._schema import INT_EDGE_ATTRS, INT_NODE_ATTRS

__all__ = ["write_graphml", "read_graphml", "write_json", "read_json"]

_INT_KEY = re.compile(r'(<key\b[^>]*\battr\.type=)"(?:int|integer)"')


def _check_scalars(G: nx.Graph) -> None:
    def bad(where, attrs):
        for key, value in attrs.items():
            if not isinstance(value, (bool, int, float, str)):
                raise ValueError(
                    f"{where}: attribute {key!r} must be a bool, int, float or str to be "
                    f"written, got {value!r}"
                )
    bad("graph", G.graph)
    for n, d in G.nodes(data=True):
        bad(f"node {n!r}", d)
    for u, v, d in G.edges(data=True):
        bad(f"edge ({u!r}, {v!r})", d)


def write_graphml(G: nx.Graph, path: str | os.PathLike) -> None:
    """Write ``G`` as GraphML; integer attributes are declared ``long`` (64-bit).

    Parameters
    ----------
    G : networkx.Graph
        Topology whose attributes are all bool, int, float or str.
    path : str or os.PathLike
        Output file.

    Raises
    ------
    ValueError
        If an attribute value is not a scalar GraphML can hold.

    Examples
    --------
    >>> import tempfile, os
    >>> from uesim.topologies import leaf_spine, write_graphml, read_graphml
    >>> G = leaf_spine(2, 1, 2)
    >>> path = os.path.join(tempfile.mkdtemp(), "ls.graphml")
    >>> write_graphml(G, path)
    >>> H = read_graphml(path)
    >>> H.edges["leaf0", "spine0"]["rate_bps"], list(H)[:2]
    (100000000000, ['gpu0', 'gpu1'])
    """
    _check_scalars(G)
    text = "\n".join(nx.generate_graphml(G))
    # rates above 2**31 need 64-bit 'long' for readers other than networkx
    text = _INT_KEY.sub(r'\1"long"', text)
    with open(path, "w", encoding="utf-8") as f:
        f.write('<?xml version="1.0" encoding="utf-8"?>\n')
        f.write(text)
        f.write("\n")


def _coerce_ints(G: nx.Graph) -> None:
    """Turn integral floats of the schema's int attributes into ints (yEd writes doubles)."""
    def fix(attrs, keys):
        for key in keys:
            value = attrs.get(key)
            if isinstance(value, float) and value.is_integer():
                attrs[key] = int(value)
    for _, d in G.nodes(data=True):
        fix(d, INT_NODE_ATTRS)
    for _, _, d in G.edges(data=True):
        fix(d, INT_EDGE_ATTRS)


def _as_simple_graph(G, path) -> nx.Graph:
    if G.is_multigraph():
        raise ValueError(
            f"{os.fspath(path)}: parallel edges found; a uesim topology has one edge per "
            f"node pair, with the 'links' attribute counting parallel physical links"
        )
    if G.is_directed():
        G = G.to_undirected()
    H = nx.Graph()
    H.graph.update(G.graph)
    H.add_nodes_from(G.nodes(data=True))
    H.add_edges_from(G.edges(data=True))
    return H


def read_graphml(path: str | os.PathLike) -> nx.Graph:
    """Read a GraphML topology; values are typed as the file's keys declare.

    Node ids are strings and node order is kept (it defines host numbering). A directed
    file is made undirected; a file with parallel edges is rejected. Integral float
    values of the schema's integer attributes (``rate_bps``, ``delay_ps``, ``links``,
    ``nominal_rate_bps``, ``pod``, ``rail``, ...) become ints.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    networkx.Graph

    Examples
    --------
    >>> import tempfile, os
    >>> from uesim.topologies import torus, write_graphml, read_graphml
    >>> path = os.path.join(tempfile.mkdtemp(), "t.graphml")
    >>> write_graphml(torus((2, 2)), path)
    >>> read_graphml(path).edges["router0", "router1"]["links"]
    2
    """
    G = nx.read_graphml(path, node_type=str)
    for key in ("node_default", "edge_default"):
        if G.graph.get(key) == {}:
            del G.graph[key]
    G = _as_simple_graph(G, path)
    _coerce_ints(G)
    return G


def write_json(G: nx.Graph, path: str | os.PathLike) -> None:
    """Write ``G`` as node-link JSON (``{"graph", "nodes": [{"id", ...}], "edges": [...]}``).

    Parameters
    ----------
    G : networkx.Graph
    path : str or os.PathLike

    Examples
    --------
    >>> import tempfile, os
    >>> from uesim.topologies import fat_tree, write_json, read_json
    >>> path = os.path.join(tempfile.mkdtemp(), "ft.json")
    >>> write_json(fat_tree(4), path)
    >>> read_json(path).graph["k"]
    4
    """
    _check_scalars(G)
    for n, d in G.nodes(data=True):
        if "id" in d:
            raise ValueError(f"node {n!r}: attribute name 'id' is reserved in node-link JSON")
    for u, v, d in G.edges(data=True):
        if "source" in d or "target" in d:
            raise ValueError(
                f"edge ({u!r}, {v!r}): attribute names 'source' and 'target' are reserved "
                f"in node-link JSON"
            )
    data = {
        "directed": False,
        "multigraph": False,
        "graph": dict(G.graph),
        "nodes": [{"id": n, **d} for n, d in G.nodes(data=True)],
        "edges": [{"source": u, "target": v, **d} for u, v, d in G.edges(data=True)],
    }
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=1)
        f.write("\n")


def read_json(path: str | os.PathLike) -> nx.Graph:
    """Read node-link JSON written by :func:`write_json` or ``networkx.node_link_data``.

    Accepts the edge list under ``"edges"`` or (older networkx) ``"links"``.

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    networkx.Graph

    Raises
    ------
    ValueError
        If the file is not node-link JSON.

    Examples
    --------
    >>> import json, tempfile, os
    >>> from uesim.topologies import read_json
    >>> path = os.path.join(tempfile.mkdtemp(), "tiny.json")
    >>> with open(path, "w") as f:
    ...     json.dump({"graph": {"name": "tiny"},
    ...                "nodes": [{"id": "gpu0", "kind": "gpu", "role": "host"},
    ...                          {"id": "tor0", "kind": "switch", "role": "tor"}],
    ...                "links": [{"source": "gpu0", "target": "tor0", "rate_bps": 10,
    ...                           "delay_ps": 0, "fabric": "scale_out"}]}, f)
    >>> read_json(path).edges["gpu0", "tor0"]["rate_bps"]
    10
    """
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if not isinstance(data, dict) or "nodes" not in data:
        raise ValueError(f"{os.fspath(path)}: not node-link JSON (no 'nodes' list)")
    edges = data.get("edges", data.get("links", []))
    if data.get("multigraph"):
        raise ValueError(
            f"{os.fspath(path)}: multigraph JSON; use one edge per node pair with 'links'"
        )
    G = nx.Graph()
    G.graph.update(data.get("graph", {}))
    for node in data["nodes"]:
        attrs = dict(node)
        G.add_node(attrs.pop("id"), **attrs)
    for edge in edges:
        attrs = dict(edge)
        u, v = attrs.pop("source"), attrs.pop("target")
        attrs.pop("key", None)
        G.add_edge(u, v, **attrs)
    _coerce_ints(G)
    return G
