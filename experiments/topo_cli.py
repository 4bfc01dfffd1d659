"""``uesim topo describe`` and ``uesim topo draw``: inspect a topology from the shell.

Both take a topology spec as accepted by
:func:`uesim.topologies.parse_topology_spec`: ``"fat_tree:k=8"``,
``"leaf_spine:n_leaves=4,n_spines=2,hosts_per_leaf=8"``, ``"multi_plane:base=fat_tree,k=4"``
or a path ending in ``.graphml`` / ``.json``. The graph is checked with
:func:`uesim.topologies.validate_topology` first. Any mistake (bad spec, unknown generator,
unreadable file, schema violation, missing matplotlib) prints one line
``uesim topo: error: <message>`` on stderr and returns 2; success returns 0.
"""
from __future__ import annotations

import json
import os
import sys

__all__ = ["describe_main", "draw_main", "load_topology", "format_description", "TopoCliError",
           "MAX_DRAW_NODES"]

#: Largest graph :func:`draw_main` will draw (a picture of more nodes is unreadable).
MAX_DRAW_NODES = 2000

_PREFIX = "uesim topo: error: "


class TopoCliError(Exception):
    """A user-facing error: its message is printed as one line."""


def _fail(message: str) -> int:
    message = " ".join(str(message).split())   # one line, whatever the source message
    print(_PREFIX + message, file=sys.stderr)
    return 2


def _only_scale_up(G) -> bool:
    fabrics = {f for _, _, f in G.edges(data="fabric")}
    return fabrics == {"scale_up"}


def load_topology(spec: str):
    """Build or read the topology of ``spec`` and validate it.

    Returns
    -------
    (networkx.Graph, list of str)
        The graph and notes for the reader. A graph whose edges are all ``scale_up``
        (e.g. ``hgx:n_servers=2``) may consist of domains not connected to each other;
        that is reported as a note, not an error (such a graph is an ingredient for
        :func:`uesim.topologies.hybrid`). Any other graph must pass the full
        validation, connectivity included.

    Raises
    ------
    TopoCliError
        With a one-line message naming the problem.
    """
    import networkx as nx
    from xml.etree.ElementTree import ParseError

    from uesim.topologies import TopologyError, parse_topology_spec, validate_topology
    from uesim.experiments.limits import spec_too_large

    too_large = spec_too_large(spec)        # refuse before building a hopeless graph
    if too_large:
        raise TopoCliError(too_large)
    try:
        G = parse_topology_spec(spec)
    except FileNotFoundError as exc:
        raise TopoCliError(f"{exc.filename or spec}: no such file") from None
    except (OSError, ParseError, nx.NetworkXError, json.JSONDecodeError) as exc:
        raise TopoCliError(f"{spec}: cannot read topology file: {exc}") from None
    except KeyError as exc:
        raise TopoCliError(f"{spec}: malformed topology: missing key {exc}") from None
    except (ValueError, TypeError, AttributeError, IndexError) as exc:
        if spec.strip().lower().endswith((".graphml", ".json")):
            raise TopoCliError(f"{spec}: cannot read topology: {exc}") from None
        raise TopoCliError(str(exc)) from None
    notes = []
    try:
        validate_topology(G, connected=False)
    except TopologyError as exc:
        raise TopoCliError(f"{spec}: {exc}") from None
    try:
        validate_topology(G)
    except TopologyError as exc:
        if not _only_scale_up(G):
            raise TopoCliError(f"{spec}: {exc}") from None
        notes.append(
            "scale-up only graph whose domains are not connected to each other "
            "(compose it with a scale-out fabric with hybrid()): pairs in different "
            "domains count as unreachable"
        )
    return G, notes


# --------------------------------------------------------------------------- describe


def _gbps(bps) -> str:
    v = bps / 1e9
    if float(v).is_integer():
        return f"{int(v):,} Gbps"
    return f"{v:,.3f}".rstrip("0").rstrip(".") + " Gbps"


def _params(G) -> str:
    items = [f"{k}={v}" for k, v in G.graph.items() if k != "name"]
    return ", ".join(items)


def format_description(G, d: dict, notes=()) -> str:
    """Human-readable report of :func:`uesim.topologies.describe_topology` output."""
    lines = []
    params = _params(G)
    lines.append(f"topology {d['name']}" + (f" ({params})" if params else ""))
    lines.append(f"  hosts {d['n_hosts']:,}, switches {d['n_switches']:,}, "
                 f"nodes {G.number_of_nodes():,}")
    lines.append("  nodes by role: " + ", ".join(
        f"{role} {n:,}" for role, n in d["counts_by_role"].items()))
    total = sum(d["links_by_rate"].values())
    lines.append(f"  links (working, counting parallel links): {total:,}")
    lines.append("    by rate: " + (", ".join(
        f"{_gbps(rate)} x {n:,}" for rate, n in d["links_by_rate"].items()) or "none"))
    lines.append("    by fabric: " + (", ".join(
        f"{fabric} {n:,}" for fabric, n in d["links_by_fabric"].items()) or "none"))
    if d["failed_links"]:
        lines.append(f"    failed: {d['failed_links']:,}")
    diameter = d["diameter"]
    lines.append("  diameter: " + (f"{diameter} hops (host to host, through switches)"
                                   if diameter is not None
                                   else "none (some host pairs cannot reach each other)"))
    lines.append(f"  bisection bandwidth: {_gbps(d['bisection_bandwidth_bps'])} "
                 f"(max flow, first half of the hosts to the second half)")
    over = d["oversubscription"]
    if over:
        parts = [f"{role} {ratio:.2f}:1" if ratio is not None else f"{role} - (no uplinks)"
                 for role, ratio in over.items()]
        lines.append("  oversubscription (downlink:uplink capacity): " + ", ".join(parts))
    pd = d["path_diversity"]
    if pd["pairs"]:
        lines.append(f"  path diversity (shortest switch paths over {pd['pairs']} sampled "
                     f"host pairs): min {pd['min']}, median {pd['median']:g}, max {pd['max']}")
    for note in notes:
        lines.append(f"  note: {note}")
    return "\n".join(lines)


def describe_main(spec: str, as_json: bool = False) -> int:
    """Print a summary of the topology ``spec``; return the exit status.

    Parameters
    ----------
    spec : str
        Generator spec (``"fat_tree:k=8"``) or a ``.graphml`` / ``.json`` path.
    as_json : bool, optional
        Print one JSON object (the :func:`~uesim.topologies.describe_topology` dict plus
        ``params`` and ``notes``) instead of the report.

    Returns
    -------
    int
        0, or 2 after printing ``uesim topo: error: ...`` on stderr.

    Examples
    --------
    >>> from uesim.experiments.topo_cli import describe_main
    >>> describe_main("fat_tree:k=4")  # doctest: +ELLIPSIS
    topology fat_tree (k=4, ...)
    ...
      bisection bandwidth: 800 Gbps (max flow, first half of the hosts to the second half)
    ...
    0
    """
    try:
        G, notes = load_topology(spec)
        from uesim.topologies import describe_topology
        d = describe_topology(G)
    except TopoCliError as exc:
        return _fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - the CLI promises one line, never a traceback
        return _fail(f"{spec}: unexpected {type(exc).__name__}: {exc}")
    if as_json:
        out = dict(d)
        out["links_by_rate"] = {str(k): v for k, v in d["links_by_rate"].items()}
        out["params"] = {k: v for k, v in G.graph.items() if k != "name"}
        out["notes"] = list(notes)
        print(json.dumps(out))
    else:
        print(format_description(G, d, notes))
    return 0


# ------------------------------------------------------------------------------- draw

#: Vertical layer of each role (scale-up switches are drawn in a band below the GPUs).
_LAYER = {"host": 0, "tor": 1, "leaf": 1, "agg": 2, "spine": 3, "core": 3}
_ROLE_STYLE = {   # colour, marker, size
    "host": ("#4d4d4d", "s", 14),
    "tor": ("#1f77b4", "o", 40),
    "leaf": ("#1f77b4", "o", 40),
    "agg": ("#2ca02c", "o", 46),
    "spine": ("#9467bd", "o", 52),
    "core": ("#9467bd", "o", 52),
    "nvswitch": ("#ff7f0e", "D", 36),
}
_FABRIC_COLOUR = {"scale_out": "#1f77b4", "scale_up": "#ff7f0e"}
_FORMATS = ("png", "svg", "pdf")


def _layout(G) -> dict:
    """{node: (x, y)}: layers by role, each ordered by the barycentre of the layer below."""
    roles = dict(G.nodes(data="role"))
    used = sorted({_LAYER[r] for r in roles.values() if r in _LAYER})
    row = {layer: i for i, layer in enumerate(used)}          # no empty rows
    layers: dict = {}
    for n in G:
        if roles[n] in _LAYER:
            layers.setdefault(row[_LAYER[roles[n]]], []).append(n)
    pos: dict = {}

    def spread(nodes, y):
        k = len(nodes)
        for i, n in enumerate(nodes):
            pos[n] = ((i + 0.5) / k, float(y))

    spread(layers.get(0, []), 0)
    for y in range(1, len(used)):
        nodes = layers.get(y, [])
        order = {n: i for i, n in enumerate(nodes)}

        def key(n):
            below = [pos[m][0] for m in G[n] if m in pos and pos[m][1] < y]
            return (sum(below) / len(below) if below else 0.5, order[n])

        spread(sorted(nodes, key=key), y)
    # scale-up switches: a band under the GPUs, each under the GPUs it serves
    nvs = [n for n in G if roles[n] == "nvswitch"]
    if nvs:
        order = {n: i for i, n in enumerate(nvs)}

        def nv_key(n):
            xs = [pos[m][0] for m in G[n] if m in pos]
            return (sum(xs) / len(xs) if xs else 0.5, order[n])

        spread(sorted(nvs, key=nv_key), -0.8 if pos else 0)
    return pos


def _arc(p, q, n=16):
    """Points of an upward arc between two nodes of the same row."""
    import numpy as np
    t = np.linspace(0.0, 1.0, n)
    x = p[0] + (q[0] - p[0]) * t
    h = 0.15 + 0.6 * abs(q[0] - p[0])
    y = p[1] + h * 4 * t * (1 - t)
    return np.column_stack([x, y])


def _draw(G, out: str, fmt: str) -> None:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    pos = _layout(G)
    rows: dict = {}
    for x, y in pos.values():
        rows[y] = rows.get(y, 0) + 1
    widest = max(rows.values())
    width = min(40.0, max(8.0, 0.16 * widest + 2))
    height = min(14.0, max(4.5, 1.6 * len(rows) + 1.5))
    fig = Figure(figsize=(width, height), dpi=120)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    n_edges = G.number_of_edges()
    lw = 0.9 if n_edges < 200 else 0.5 if n_edges < 2000 else 0.25
    segs = {}   # (fabric, up) -> list of polylines, widths
    for u, v, d in G.edges(data=True):
        p, q = pos[u], pos[v]
        line = _arc(p, q) if p[1] == q[1] else [p, q]
        key = (d.get("fabric", "scale_out"), d.get("up", True) is not False)
        segs.setdefault(key, ([], []))
        segs[key][0].append(line)
        segs[key][1].append(lw * (1 + 0.5 * (d.get("links", 1) > 1)))
    for (fabric, up), (lines, widths) in sorted(segs.items()):
        colour = _FABRIC_COLOUR.get(fabric, "#7f7f7f") if up else "#d62728"
        ax.add_collection(LineCollection(
            lines, colors=colour, linewidths=widths, alpha=0.55 if up else 0.9,
            linestyles="solid" if up else (0, (3, 2)), zorder=1))
    roles = dict(G.nodes(data="role"))
    by_role: dict = {}
    for n, (x, y) in pos.items():
        by_role.setdefault(roles[n], ([], []))
        by_role[roles[n]][0].append(x)
        by_role[roles[n]][1].append(y)
    small = G.number_of_nodes() <= 400
    for role, (xs, ys) in by_role.items():
        colour, marker, size = _ROLE_STYLE.get(role, ("#7f7f7f", "o", 30))
        if not small:
            size = max(4, size // 3)
        ax.scatter(xs, ys, s=size, c=colour, marker=marker, zorder=2, linewidths=0,
                   label=f"{role} ({len(xs)})")
    if G.number_of_nodes() <= 80:
        row_chars: dict = {}
        for n, (_, y) in pos.items():
            row_chars[y] = max(row_chars.get(y, 0), len(str(n)) + 1)
        fits = {y: rows[y] * row_chars[y] <= width * 18 for y in rows}   # 6 pt labels
        for n, (x, y) in pos.items():
            below = roles[n] in ("host", "nvswitch")
            ax.annotate(n, (x, y), textcoords="offset points",
                        xytext=(0, -9 if below else 7), ha="center",
                        va="top" if below else "bottom", fontsize=6,
                        rotation=0 if fits[y] else 90, zorder=3)
    handles, labels = ax.get_legend_handles_labels()
    fabrics = sorted({f for f, _ in segs})
    for fabric in fabrics:
        handles.append(Line2D([], [], color=_FABRIC_COLOUR.get(fabric, "#7f7f7f")))
        labels.append(f"{fabric} link")
    if any(not up for _, up in segs):
        handles.append(Line2D([], [], color="#d62728", linestyle=(0, (3, 2))))
        labels.append("failed link")
    ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8,
              frameon=False)
    n_hosts = sum(1 for r in roles.values() if r == "host")
    params = _params(G)
    title = f"{G.graph.get('name', 'custom')}: {n_hosts} GPUs, " \
            f"{G.number_of_nodes() - n_hosts} switches, {n_edges} edges"
    if params:
        import textwrap
        wrapped = textwrap.wrap(params, width=max(60, int(width * 11)))
        title += "\n" + "\n".join(wrapped[:3]) + (" ..." if len(wrapped) > 3 else "")
    ax.set_title(title, fontsize=9)
    ys = [y for _, y in pos.values()]
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(min(ys) - 0.5, max(ys) + 0.9)
    ax.axis("off")
    fig.tight_layout()
    fig.savefig(out, format=fmt)


def draw_main(spec: str, out: str) -> int:
    """Draw the topology ``spec`` in layers and write it to ``out``; return the status.

    Layers by role: GPUs at the bottom, then ToR/leaf switches (and the routers of direct
    topologies, whose router-router links are drawn as arcs), aggregation, spine/core;
    scale-up switches in a band just under the GPUs they serve. Each layer is ordered by
    the mean position of its neighbours below. Edges are coloured by fabric (scale-out
    blue, scale-up orange), failed links dashed red. Needs matplotlib (the ``plot``
    extra); refuses graphs of more than :data:`MAX_DRAW_NODES` nodes.

    Parameters
    ----------
    spec : str
        Generator spec or ``.graphml`` / ``.json`` path.
    out : str
        Output file ending in ``.png`` (or ``.svg``/``.pdf``).

    Returns
    -------
    int
        0, or 2 after printing ``uesim topo: error: ...`` on stderr.
    """
    fmt = os.path.splitext(str(out))[1].lower().lstrip(".")
    if fmt not in _FORMATS:
        return _fail(f"output file {out!r} must end in .png (or .svg, .pdf)")
    try:
        G, _ = load_topology(spec)
    except TopoCliError as exc:
        return _fail(str(exc))
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        return _fail(f"{spec}: unexpected {type(exc).__name__}: {exc}")
    n = G.number_of_nodes()
    if n > MAX_DRAW_NODES:
        return _fail(f"{spec} has {n:,} nodes; draw handles at most {MAX_DRAW_NODES:,} "
                     f"(use 'uesim topo describe' for large topologies)")
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return _fail("drawing needs matplotlib: pip install 'uesim[plot]' "
                     "(or pip install matplotlib)")
    try:
        _draw(G, out, fmt)
    except OSError as exc:
        return _fail(f"cannot write {out}: {exc.strerror or exc}")
    except Exception as exc:  # noqa: BLE001 - one line, never a traceback
        return _fail(f"drawing {spec} failed: {type(exc).__name__}: {exc}")
    print(f"wrote {out} ({n:,} nodes, {G.number_of_edges():,} edges)")
    return 0
