"""uesim topology library: networkx generators for AI datacenter fabrics.

Every generator returns an ``nx.Graph`` following the uesim attribute schema (see
:mod:`uesim.topologies._schema` and ``DESIGN.md``): GPUs ``gpu0 .. gpu{N-1}`` first
(``kind="gpu"``, ``role="host"``), then switches (``kind="switch"``, role ``tor``,
``leaf``, ``agg``, ``spine``, ``core`` or ``nvswitch``); edges carry integer
``rate_bps`` and ``delay_ps`` and ``fabric`` (``scale_up``/``scale_out``), optionally
``links`` (parallel links) and ``up``. Imports only the standard library and networkx.
"""

from ._schema import (
    DEFAULT_DELAY_PS,
    DEFAULT_HGX_GPU_RATE_BPS,
    DEFAULT_NVL72_GPU_RATE_BPS,
    DEFAULT_RATE_BPS,
    DEFAULT_SCALEUP_DELAY_PS,
    DEFAULT_UALINK_RATE_BPS,
    FABRICS,
    KINDS,
    ROLES,
    SWITCH_ROLES,
)
# generators register themselves on import; this order is the registry's order
from .scaleout import fat_tree, fat_tree_radix_for, leaf_spine, rail_optimized
from .direct import DRAGONFLY_ARRANGEMENTS, dragonfly, torus
from .scaleup import hgx, nvl72, scaleup_switch_domain
from .compose import hybrid, multi_plane, plane_switch_name
from .describe import bisection_bandwidth, describe_topology
from .failures import degrade_links, fail_links
from .graphio import read_graphml, read_json, write_graphml, write_json
from .registry import GENERATORS, register_topology, unregister_topology
from .spec import parse_topology_spec, parse_value
from .validate import TopologyError, validate_topology

__all__ = [
    # scale-out
    "leaf_spine",
    "fat_tree",
    "fat_tree_radix_for",
    "rail_optimized",
    "dragonfly",
    "torus",
    "DRAGONFLY_ARRANGEMENTS",
    # scale-up
    "hgx",
    "nvl72",
    "scaleup_switch_domain",
    # composition
    "hybrid",
    "multi_plane",
    "plane_switch_name",
    # failures
    "fail_links",
    "degrade_links",
    # I/O
    "write_graphml",
    "read_graphml",
    "write_json",
    "read_json",
    # validation and inspection
    "TopologyError",
    "validate_topology",
    "describe_topology",
    "bisection_bandwidth",
    "parse_topology_spec",
    "parse_value",
    "GENERATORS",
    "register_topology",
    "unregister_topology",
    # schema
    "KINDS",
    "ROLES",
    "SWITCH_ROLES",
    "FABRICS",
    "DEFAULT_RATE_BPS",
    "DEFAULT_DELAY_PS",
    "DEFAULT_HGX_GPU_RATE_BPS",
    "DEFAULT_NVL72_GPU_RATE_BPS",
    "DEFAULT_UALINK_RATE_BPS",
    "DEFAULT_SCALEUP_DELAY_PS",
]
