"""Shared attribute schema, defaults and argument checks for topology generators.

Every generator in :mod:`uesim.topologies` builds its graph through the helpers
here, so the attribute schema (see ``DESIGN.md``) lives in one place:

* nodes: ``kind`` (``"gpu"`` or ``"switch"``), ``role`` (``"host"`` for GPUs;
  ``"tor"``, ``"leaf"``, ``"agg"``, ``"spine"``, ``"core"``, ``"nvswitch"`` for
  switches), optional integer attributes ``pod``, ``rail``, ``plane``,
  ``scaleup_domain``, ``group``, ``server``;
* edges: ``rate_bps`` (int > 0), ``delay_ps`` (int >= 0), ``fabric``
  (``"scale_up"`` or ``"scale_out"``), optional ``links`` (int >= 1, default 1),
  ``up`` (bool, default True) and ``nominal_rate_bps`` (int > 0);
* graph: ``name`` plus every generator parameter as a scalar.

GPUs are always added first and in order (``gpu0``, ``gpu1``, ...), because the
fabric numbers hosts by their order in ``G.nodes``.
"""

from __future__ import annotations

import math
import numbers

import networkx as nx

# --- defaults -------------------------------------------------------------------------

#: Default scale-out link rate: 100 Gbps Ethernet.
DEFAULT_RATE_BPS = 100_000_000_000
#: Default scale-out propagation delay: 1 us (about 200 m of fibre plus PHY/FEC latency).
DEFAULT_DELAY_PS = 1_000_000
#: Default per-GPU scale-up rate of an HGX H100 GPU, per direction: 18 NVLink4 links x
#: 25 GB/s = 450 GB/s = 3.6 Tbps (NVIDIA H100 Tensor Core GPU datasheet / HGX H100
#: architecture whitepaper: "900 GB/s bidirectional NVLink bandwidth").
DEFAULT_HGX_GPU_RATE_BPS = 3_600_000_000_000
#: Default per-GPU scale-up rate of a GB200 NVL72 GPU, per direction: 18 NVLink5 links x
#: 50 GB/s = 900 GB/s = 7.2 Tbps (NVIDIA GB200 NVL72 datasheet: "1.8 TB/s bidirectional
#: NVLink bandwidth per GPU", 130 TB/s aggregate for 72 GPUs).
DEFAULT_NVL72_GPU_RATE_BPS = 7_200_000_000_000
#: Default UALink port rate: one x4 station of 200 GT/s lanes = 800 Gbps per direction
#: (UALink 200G 1.0 specification, April 2025).
DEFAULT_UALINK_RATE_BPS = 800_000_000_000
#: Default scale-up propagation delay: 100 ns (copper within a chassis or rack, a few
#: metres at ~5 ns/m plus SerDes latency).
DEFAULT_SCALEUP_DELAY_PS = 100_000

# --- allowed values ---------------------------------------------------------------------

KINDS = ("gpu", "switch")
SWITCH_ROLES = ("tor", "leaf", "agg", "spine", "core", "nvswitch")
ROLES = ("host",) + SWITCH_ROLES
FABRICS = ("scale_up", "scale_out")
#: Optional integer node attributes.
INT_NODE_ATTRS = ("pod", "rail", "plane", "scaleup_domain", "group", "server", "x", "y", "z")
#: Integer edge attributes (required or optional).
INT_EDGE_ATTRS = ("rate_bps", "delay_ps", "links", "nominal_rate_bps")

SCALE_UP = "scale_up"
SCALE_OUT = "scale_out"


# --- argument checks -------------------------------------------------------------------


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_int(name: str, value, minimum: int = 0) -> int:
    """Return ``value`` as an ``int`` if it is an integer >= ``minimum``, else raise.

    Examples
    --------
    >>> from uesim.topologies._schema import check_int
    >>> check_int("k", 4, 2)
    4
    >>> check_int("k", 1, 2)
    Traceback (most recent call last):
    ...
    ValueError: k must be an int >= 2, got 1
    """
    if not _is_int(value):
        raise ValueError(
            f"{name} must be an int >= {minimum}, got {value!r} ({type(value).__name__})"
        )
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


def check_rate(name: str, value) -> int:
    """Check a rate in bits per second: an ``int`` > 0."""
    if not _is_int(value) or value <= 0:
        raise ValueError(
            f"{name} must be an int number of bits per second > 0 "
            f"(e.g. 100_000_000_000 for 100 Gbps), got {value!r}"
        )
    return int(value)


def check_delay(name: str, value) -> int:
    """Check a delay in picoseconds: an ``int`` >= 0."""
    if not _is_int(value) or value < 0:
        raise ValueError(
            f"{name} must be an int number of picoseconds >= 0 "
            f"(e.g. 1_000_000 for 1 us), got {value!r}"
        )
    return int(value)


def check_positive_number(name: str, value) -> float | int:
    """Check an int or float > 0 (not bool, not NaN/inf)."""
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Real)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return value


def check_choice(name: str, value, allowed) -> str:
    """Check that ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{name} must be one of {sorted(allowed)}, got {value!r}")
    return value


def integral(name: str, value: float, what: str) -> int:
    """Return ``value`` as int if it is (within 1e-9) integral, else raise naming ``what``."""
    nearest = round(value)
    if abs(value - nearest) > 1e-9 or nearest < 1:
        raise ValueError(f"{name}: {what} must be a positive whole number, got {value!r}")
    return int(nearest)


# --- graph construction ----------------------------------------------------------------


def new_graph(name: str, **params) -> nx.Graph:
    """Create an empty ``nx.Graph`` with ``name`` and scalar parameter attributes."""
    G = nx.Graph()
    G.graph["name"] = name
    for key, value in params.items():
        if value is None:
            continue
        if not isinstance(value, (bool, int, float, str)):
            raise TypeError(f"graph attribute {key} must be a scalar, got {value!r}")
        G.graph[key] = value
    return G


def add_gpus(G: nx.Graph, n: int, **attrs_per_gpu) -> None:
    """Add ``gpu0 .. gpu{n-1}`` in order.

    Each keyword is either a scalar shared by all GPUs or a callable ``f(i)`` giving
    the attribute value of GPU ``i``.
    """
    start = sum(1 for _, k in G.nodes(data="kind") if k == "gpu")
    if start:
        raise RuntimeError("add_gpus must be called once, before any switch is added")
    for i in range(n):
        attrs = {"kind": "gpu", "role": "host"}
        for key, value in attrs_per_gpu.items():
            attrs[key] = value(i) if callable(value) else value
        G.add_node(f"gpu{i}", **attrs)


def add_switch(G: nx.Graph, name: str, role: str, **attrs) -> str:
    """Add a switch node with ``kind="switch"`` and ``role``; return its name."""
    G.add_node(name, kind="switch", role=role, **attrs)
    return name


def add_link(
    G: nx.Graph,
    u: str,
    v: str,
    rate_bps: int,
    delay_ps: int,
    fabric: str,
    links: int = 1,
) -> None:
    """Add a cable bundle between ``u`` and ``v``.

    If the edge already exists with the same rate, delay and fabric, its ``links``
    count is increased instead (parallel physical links).
    """
    if G.has_edge(u, v):
        data = G.edges[u, v]
        if (data["rate_bps"], data["delay_ps"], data["fabric"]) != (rate_bps, delay_ps, fabric):
            raise ValueError(f"conflicting parallel links between {u} and {v}")
        data["links"] = data.get("links", 1) + links
        return
    attrs = {"rate_bps": rate_bps, "delay_ps": delay_ps, "fabric": fabric}
    if links != 1:
        attrs["links"] = links
    G.add_edge(u, v, **attrs)


def gpu_nodes(G: nx.Graph) -> list:
    """GPU nodes in host-number order (the order of ``G.nodes``)."""
    return [n for n, k in G.nodes(data="kind") if k == "gpu"]


def is_up(data: dict) -> bool:
    """Whether an edge attribute dict describes a working link."""
    return data.get("up", True) is not False


def capacity(data: dict) -> int:
    """Total capacity of an edge bundle in bits/s (0 if it is down)."""
    if not is_up(data):
        return 0
    return data["rate_bps"] * data.get("links", 1)
