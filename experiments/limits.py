"""Refuse, up front and fast, a run that cannot fit in this machine's memory.

:func:`estimate_memory` sizes a scenario from its parameters alone for uesim's
``fat_tree`` and ``leaf_spine`` generators (the graph is not built, so a hopeless size
is refused in milliseconds) and from the built graph otherwise.  The estimate adds up
what a run holds at once: the networkx graph, the ports, the forwarding tables (one
row per node and destination group), the flow objects with their per-packet state
and the packets in flight (flows x window).  The coefficients are deliberately on the
high side; ``[run] allow_large = true`` (``uesim run --force``) runs anyway.

Examples
--------
>>> est = estimate_memory({"topology": {"generator": "fat_tree", "k": 128},
...     "traffic": {"pattern": "permutation", "size_bytes": 1_000_000},
...     "transport": {"mtu_bytes": 4096, "cc": {"name": "fixed", "cwnd_bytes": 65536}}})
>>> est["hosts"], est["total_bytes"] > 50e9
(524288, True)
"""
from __future__ import annotations

from uesim.experiments.schema import ScenarioError

# bytes per item (measured orders of magnitude on CPython 3.11, rounded up)
GRAPH_NODE_B = 1_000
GRAPH_EDGE_B = 1_500
PORT_B = 1_200              # Port struct, its ring and the port_link entry, per direction
FWD_ENTRY_B = 16            # node x group table entry plus the routing computation's temporaries
FLOW_B = 4_000              # flow object, CC, LB, per-flow dicts and result rows
PKT_STATE_B = 48            # per packet of a flow: sender and receiver state
PACKET_B = 128              # a packet in the pool
DEFAULT_WINDOW_B = 256 * 1024


def machine_memory_bytes() -> int:
    """Memory available to a new run (``MemAvailable`` of /proc/meminfo, or physical memory)."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import os
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 1 << 62


def _shape_from_params(topo: dict):
    """(nodes, hosts, edges, groups) of uesim generators from their parameters (exact
    for fat_tree and leaf_spine, close for the others), or None if unknown or the
    parameters are not plain numbers (the generator's own checks then report them)."""
    try:
        return _shape(topo)
    except (KeyError, TypeError, ValueError, OverflowError):
        return None


def _shape(topo: dict):
    gen = topo.get("generator")
    num = lambda key, default=None: _num(topo.get(key, default))  # noqa: E731
    if gen == "rail_optimized":
        n, g, sp = num("n_servers"), num("gpus_per_server", 8), num("n_spines", 1)
        per_leaf = num("servers_per_leaf") if topo.get("servers_per_leaf") else n
        leaves = g * -(-n // max(1, per_leaf))
        return n * g + leaves + sp, n * g, n * g + leaves * sp * num("links_per_spine", 1), leaves
    if gen == "dragonfly":
        g, r, h, gl = (num(k) for k in ("groups", "routers_per_group", "hosts_per_router",
                                         "global_links_per_router"))
        return g * r * (h + 1), g * r * h, g * r * (h + r + gl), g * r
    if gen == "torus":
        dims = topo["dims"]
        dims = [int(x) for x in (dims.lower().split("x") if isinstance(dims, str) else dims)]
        sw = 1
        for d in dims:
            sw *= _num(d)
        h = sw * num("hosts_per_switch", 1)
        return sw + h, h, h + sw * len(dims), sw
    if gen in ("hgx", "nvl72", "scaleup_switch_domain"):
        if gen == "hgx":
            units, per, sw = num("n_servers", 1), num("gpus_per_server", 8), num("n_nvswitches", 4)
        elif gen == "nvl72":
            units, per, sw = num("n_racks", 1), num("gpus_per_rack", 72), num("n_switches", 18)
        else:
            units, per, sw = num("n_domains", 1), num("n_accelerators"), num("n_switches")
        return units * (per + sw), units * per, units * per * sw, units
    if gen == "fat_tree":
        k = num("k")
        os_ = max(1.0, float(_num(topo.get("tor_oversubscription", 1)) or 1))
        hosts = int(k * k * k / 4 * os_)
        switches = 5 * k * k // 4
        return hosts + switches, hosts, hosts + k * k * k // 2, k * k // 2
    if gen == "leaf_spine":
        nl, ns, hpl = num("n_leaves"), num("n_spines"), num("hosts_per_leaf")
        hosts = nl * hpl
        return hosts + nl + ns, hosts, hosts + nl * ns * num("links_per_spine", 1), nl
    return None


def _num(value) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(value)
    return max(0, int(value))


def _shape_from_graph(G):
    hosts = [n for n, k in G.nodes(data="kind") if k == "gpu"]
    attach = {nb for h in hosts for nb in G.adj[h]}
    return G.number_of_nodes(), len(hosts), G.number_of_edges(), max(1, len(attach))


def _n_flows(sc: dict, hosts: int) -> int:
    t = sc["traffic"]
    pattern = t.get("pattern")
    if pattern == "permutation":
        return hosts
    if pattern == "incast":
        return len(t["senders"]) if t.get("senders") else int(t.get("n_senders") or hosts - 1)
    if pattern == "explicit":
        return len(t.get("flows") or [])
    if pattern == "cm":
        try:
            with open(t["file"], "rb") as f:
                return sum(1 for _ in f)
        except OSError:
            return hosts
    return hosts * max(1, hosts - 1) if "all" in str(pattern) else hosts


def estimate_memory(sc: dict, G=None, build: bool = True) -> dict | None:
    """Estimated peak memory of running ``sc`` (a dict of the parts and ``total_bytes``).

    Parameters
    ----------
    sc : dict
        A checked scenario.
    G : networkx.Graph, optional
        The topology if already built (used when the generator has no formula).
    build : bool
        Without ``G`` and a formula (a topology file), build the graph to size it; if
        False, return None instead.
    """
    shape = _shape_from_params(sc["topology"]) if G is None else None
    if shape is None:
        if G is None and not build:
            return None
        if G is None:
            from uesim.experiments.run import build_topology
            G = build_topology(sc["topology"])
        shape = _shape_from_graph(G)
    shape = [max(1, int(x)) for x in shape]
    nodes, hosts, edges, groups = shape
    tr = sc.get("transport", {})
    mtu = tr.get("mtu_bytes", 4096)
    n_flows = _n_flows(sc, hosts)
    size = sc["traffic"].get("size_bytes") or 1_000_000
    window = (tr.get("cc") or {}).get("cwnd_bytes") or DEFAULT_WINDOW_B
    parts = {
        "graph_bytes": nodes * GRAPH_NODE_B + edges * GRAPH_EDGE_B,
        "ports_bytes": 2 * edges * PORT_B,
        "forwarding_bytes": nodes * groups * FWD_ENTRY_B,
        "flows_bytes": n_flows * (FLOW_B + PKT_STATE_B * (-(-size // mtu))),
        "packets_bytes": n_flows * (-(-window // mtu)) * PACKET_B,
    }
    return {"nodes": nodes, "hosts": hosts, "links": edges, "flows": n_flows, **parts,
            "total_bytes": sum(parts.values())}


def _gb(b) -> str:
    return f"{b / 1e9:.1f} GB"


def check_memory(sc: dict, G=None, available: int | None = None, build: bool = True) -> dict | None:
    """Raise :class:`ScenarioError` with the estimate if ``sc`` would not fit in memory.

    Returns the estimate when it fits (None if ``build`` is False and the size needs the
    graph).  ``[run] allow_large = true`` skips the refusal.
    """
    est = estimate_memory(sc, G, build=build)
    if est is None:
        return None
    avail = machine_memory_bytes() if available is None else available
    est["available_bytes"] = avail
    if est["total_bytes"] > avail and not sc.get("run", {}).get("allow_large"):
        biggest = max((k for k in est if k.endswith("_bytes") and k not in ("total_bytes", "available_bytes")),
                      key=lambda k: est[k])
        raise ScenarioError(
            f"run refused: it needs about {_gb(est['total_bytes'])} of memory "
            f"({est['nodes']:,} nodes, {est['hosts']:,} hosts, {est['links']:,} links, {est['flows']:,} flows; "
            f"largest part {biggest.removesuffix('_bytes')} {_gb(est[biggest])}), "
            f"this machine has {_gb(avail)} available; "
            "set [run] allow_large = true (uesim run --force) to run anyway")
    return est


def spec_too_large(spec: str, available: int | None = None, flows=None) -> str | None:
    """A message if the generator spec (``fat_tree:k=128``) would build a graph larger
    than the memory available, else None (files and unparsable specs are left to the
    reader, which reports them).

    With ``flows`` (a function of the host count giving the number of flows, as
    ``uesim collective`` passes) the network (ports, forwarding tables) and the flows
    are counted too, as for a run.

    Examples
    --------
    >>> spec_too_large("fat_tree:k=8") is None
    True
    >>> spec_too_large("fat_tree:k=4096", available=10**9)[:40]
    'fat_tree:k=4096: refused: it needs about'
    """
    from uesim.topologies.spec import parse_value
    if not isinstance(spec, str) or spec.strip().lower().endswith((".graphml", ".json")):
        return None
    name, _, rest = spec.strip().partition(":")
    topo = {"generator": name.strip()}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq:
            return None
        try:
            topo[key.strip()] = parse_value(value)
        except (ValueError, TypeError):
            return None
    shape = _shape_from_params(topo)
    if shape is None:
        return None
    nodes, hosts, edges, groups = shape
    need = nodes * GRAPH_NODE_B + edges * GRAPH_EDGE_B
    what = f"{nodes:,} nodes, {hosts:,} hosts, {edges:,} links"
    if flows is not None:
        n = int(flows(hosts))
        need += 2 * edges * PORT_B + nodes * max(1, groups) * FWD_ENTRY_B
        need += n * FLOW_B       # flow objects only: a collective does not start them all at once
        what += f", {n:,} flows"
    avail = machine_memory_bytes() if available is None else available
    if need <= avail:
        return None
    return (f"{spec}: refused: it needs about {_gb(need)} of memory ({what}), "
            f"this machine has {_gb(avail)} available")
