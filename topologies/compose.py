"""Compose topologies: scale-up + scale-out (hybrid), parallel scale-out planes."""

from __future__ import annotations

import inspect

import networkx as nx

from .registry import GENERATORS, register_topology
from .spec import parse_topology_spec
from ._schema import SCALE_OUT, SCALE_UP, check_int, gpu_nodes, new_graph

__all__ = ["hybrid", "multi_plane"]


def _resolve(graph_or_spec, what: str) -> nx.Graph:
    if isinstance(graph_or_spec, str):
        return parse_topology_spec(graph_or_spec)
    if not isinstance(graph_or_spec, nx.Graph):
        raise ValueError(
            f"{what} must be a networkx.Graph or a topology spec string, "
            f"got {type(graph_or_spec).__name__}"
        )
    return graph_or_spec


def _check_gpus(G: nx.Graph, what: str) -> list:
    gpus = gpu_nodes(G)
    for i, name in enumerate(gpus):
        if name != f"gpu{i}":
            raise ValueError(
                f"{what}: the GPU number {i} (order in G.nodes) is named {name!r}, "
                f"expected 'gpu{i}'"
            )
    if not gpus:
        raise ValueError(f"{what}: graph has no GPU nodes")
    return gpus


def _check_fabric(G: nx.Graph, fabric: str, what: str) -> None:
    for u, v, f in G.edges(data="fabric"):
        if f != fabric:
            raise ValueError(
                f"{what}: every edge must have fabric={fabric!r}, but edge ({u!r}, {v!r}) "
                f"has fabric={f!r}"
            )


def _prefixed_params(G: nx.Graph, prefix: str) -> dict:
    return {f"{prefix}.{k}": v for k, v in G.graph.items() if k != "name"}


def hybrid(scale_up, scale_out, nics_per_gpu: int | None = 1) -> nx.Graph:
    """Join a scale-up graph and a scale-out graph over the same GPUs into one graph.

    Both graphs must have the same GPUs ``gpu0 .. gpu{N-1}`` (same count, same names,
    in order); the result has those GPUs first, then the scale-up switches, then the
    scale-out switches, and every edge of both (keeping its ``fabric`` tag), so each GPU
    is reachable over both fabrics. GPU attributes are merged (a conflicting value,
    e.g. a different ``server``, is an error).

    Parameters
    ----------
    scale_up : networkx.Graph or str
        Graph whose edges are all ``fabric="scale_up"`` (e.g. ``hgx(4)``), or a spec
        string for :func:`parse_topology_spec`.
    scale_out : networkx.Graph or str
        Graph whose edges are all ``fabric="scale_out"``, or a spec string.
    nics_per_gpu : int or None, optional
        Number of scale-out NIC ports per GPU. It is not a construction parameter but a
        check: every GPU must have exactly this many scale-out links in ``scale_out``
        (summing ``links`` over its edges); build the scale-out graph accordingly, e.g.
        ``multi_plane(fat_tree, planes=2, k=8)`` for 2 NICs. ``None`` skips the check.
        Default 1.

    Returns
    -------
    networkx.Graph
        Graph attributes ``name="hybrid"``, ``nics_per_gpu`` (0 if unchecked),
        ``scale_up``/``scale_out`` (the parts' names) and the parts' parameters as
        ``"scale_up.<param>"``/``"scale_out.<param>"``.

    Raises
    ------
    ValueError
        Different GPU sets, a wrong fabric tag, a switch name used by both graphs,
        conflicting GPU attributes, or a GPU whose scale-out port count is not
        ``nics_per_gpu``.

    Examples
    --------
    >>> from uesim.topologies import hybrid, hgx, fat_tree, validate_topology
    >>> G = hybrid(hgx(2), fat_tree(4))
    >>> sorted(G["gpu0"])
    ['nvswitch0', 'nvswitch1', 'nvswitch2', 'nvswitch3', 'tor0']
    >>> validate_topology(G)
    >>> hybrid(hgx(1), fat_tree(4))
    Traceback (most recent call last):
    ...
    ValueError: scale_up has 8 GPUs but scale_out has 16; both must have the same GPUs gpu0..gpuN-1
    """
    su = _resolve(scale_up, "scale_up")
    so = _resolve(scale_out, "scale_out")
    if nics_per_gpu is not None:
        nics_per_gpu = check_int("nics_per_gpu", nics_per_gpu, 1)
    su_gpus = _check_gpus(su, "scale_up")
    so_gpus = _check_gpus(so, "scale_out")
    if len(su_gpus) != len(so_gpus):
        raise ValueError(
            f"scale_up has {len(su_gpus)} GPUs but scale_out has {len(so_gpus)}; "
            f"both must have the same GPUs gpu0..gpuN-1"
        )
    _check_fabric(su, SCALE_UP, "scale_up")
    _check_fabric(so, SCALE_OUT, "scale_out")
    su_switches = [n for n, k in su.nodes(data="kind") if k != "gpu"]
    so_switches = [n for n, k in so.nodes(data="kind") if k != "gpu"]
    clash = set(su_switches) & set(so_switches)
    if clash:
        raise ValueError(
            f"switch name {sorted(clash)[0]!r} is used by both scale_up and scale_out; "
            f"rename the switches of one graph (e.g. nx.relabel_nodes)"
        )
    if nics_per_gpu is not None:
        for gpu in so_gpus:
            ports = sum(d.get("links", 1) for d in so.adj[gpu].values())
            if ports != nics_per_gpu:
                raise ValueError(
                    f"nics_per_gpu={nics_per_gpu} but {gpu} has {ports} scale-out link(s) "
                    f"in scale_out; build scale_out with {nics_per_gpu} port(s) per GPU "
                    f"(e.g. multi_plane(..., planes={nics_per_gpu})) or pass nics_per_gpu={ports}"
                )
    G = new_graph(
        "hybrid", nics_per_gpu=nics_per_gpu or 0,
        scale_up=su.graph.get("name", "custom"), scale_out=so.graph.get("name", "custom"),
    )
    G.graph.update(_prefixed_params(su, "scale_up"))
    G.graph.update(_prefixed_params(so, "scale_out"))
    for gpu in so_gpus:
        attrs = dict(so.nodes[gpu])
        for key, value in su.nodes[gpu].items():
            if key in attrs and attrs[key] != value:
                raise ValueError(
                    f"{gpu}: attribute {key!r} is {value!r} in scale_up but {attrs[key]!r} "
                    f"in scale_out; the two graphs must agree on shared GPU attributes"
                )
            attrs[key] = value
        G.add_node(gpu, **attrs)
    G.add_nodes_from((n, su.nodes[n]) for n in su_switches)
    G.add_nodes_from((n, so.nodes[n]) for n in so_switches)
    G.add_edges_from(su.edges(data=True))
    G.add_edges_from(so.edges(data=True))
    return G  # networkx copies attribute dicts: nothing is shared with the inputs


def plane_switch_name(plane: int, name: str) -> str:
    """Name of switch ``name`` in plane ``plane`` of :func:`multi_plane`.

    Examples
    --------
    >>> from uesim.topologies import plane_switch_name
    >>> plane_switch_name(1, "tor3")
    'p1.tor3'
    """
    return f"p{plane}.{name}"


@register_topology("multi_plane")
def multi_plane(builder_or_graph, planes: int = 2, **params) -> nx.Graph:
    """``planes`` parallel copies of a scale-out fabric sharing the GPUs.

    Every switch ``s`` of the base fabric becomes ``p{plane}.{s}`` (e.g. ``p0.tor3``,
    ``p1.tor3``) with node attribute ``plane``; every GPU keeps its name and gets one
    NIC port per plane: an edge to its switch(es) in every plane.

    Parameters
    ----------
    builder_or_graph : networkx.Graph, callable or str
        The base scale-out fabric (all edges ``fabric="scale_out"``), a generator called
        as ``builder(**params)``, or the name of a generator in ``GENERATORS``.
    planes : int, optional
        Number of planes, >= 1, default 2.
    **params
        Parameters for the builder (not allowed with a graph).

    Returns
    -------
    networkx.Graph
        Graph attributes ``name="multi_plane"``, ``planes``, ``base`` (the base graph's
        name) and the base parameters as ``"base.<param>"``.

    Examples
    --------
    >>> from uesim.topologies import multi_plane, fat_tree
    >>> G = multi_plane(fat_tree, planes=2, k=4)
    >>> sorted(G["gpu5"])
    ['p0.tor2', 'p1.tor2']
    >>> G.nodes["p1.core3"]["plane"], G.graph["base.k"]
    (1, 4)
    """
    planes = check_int("planes", planes, 1)
    if isinstance(builder_or_graph, nx.Graph):
        if params:
            raise ValueError(
                f"multi_plane got a graph and builder parameters {sorted(params)}; "
                f"pass parameters only with a builder"
            )
        base = builder_or_graph
    else:
        builder = builder_or_graph
        if isinstance(builder, str):
            if builder not in GENERATORS or builder == "multi_plane":
                allowed = sorted(g for g in GENERATORS if g != "multi_plane")
                raise ValueError(
                    f"base must be one of {allowed}, got {builder!r}"
                )
            builder = GENERATORS[builder]
        if not callable(builder):
            raise ValueError(
                f"builder_or_graph must be a networkx.Graph, a generator function or a "
                f"generator name, got {builder_or_graph!r}"
            )
        try:
            sig = inspect.signature(builder)
        except (TypeError, ValueError):
            sig = None
        if sig is not None and not any(
            p.kind is p.VAR_KEYWORD for p in sig.parameters.values()
        ):
            unknown = sorted(set(params) - set(sig.parameters))
            if unknown:
                raise ValueError(
                    f"unknown parameter {unknown[0]!r} for base generator "
                    f"{getattr(builder, '__name__', builder)!r}; allowed: "
                    f"{', '.join(sig.parameters)}"
                )
        base = builder(**params)
    gpus = _check_gpus(base, "base graph")
    _check_fabric(base, SCALE_OUT, "multi_plane base graph")
    G = new_graph("multi_plane", planes=planes, base=base.graph.get("name", "custom"))
    G.graph.update(_prefixed_params(base, "base"))
    gpu_set = set(gpus)
    for gpu in gpus:
        G.add_node(gpu, **base.nodes[gpu])
    for plane in range(planes):
        for n, attrs in base.nodes(data=True):
            if n not in gpu_set:
                G.add_node(plane_switch_name(plane, n), **{**attrs, "plane": plane})
    for plane in range(planes):
        for u, v, attrs in base.edges(data=True):
            pu = u if u in gpu_set else plane_switch_name(plane, u)
            pv = v if v in gpu_set else plane_switch_name(plane, v)
            G.add_edge(pu, pv, **attrs)
    return G
