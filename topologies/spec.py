"""Topology spec strings (``"fat_tree:k=8"``) and the generator registry."""

from __future__ import annotations

import inspect
import re

import networkx as nx

from .graphio import read_graphml, read_json
from .registry import GENERATORS

__all__ = ["GENERATORS", "parse_topology_spec", "parse_value"]

_INT = re.compile(r"[+-]?\d[\d_]*")
_SCI_INT = re.compile(r"[+-]?\d+(\.\d*)?[eE]\+?\d+")


def parse_value(text: str):
    """Parse a spec value as int, float, bool or (otherwise) string.

    Integers may use ``_`` separators; a value in exponent notation that is a whole
    number (``400e9``) becomes an int, since rates and delays are ints.

    Examples
    --------
    >>> from uesim.topologies import parse_value
    >>> parse_value("8"), parse_value("100_000"), parse_value("1.5"), parse_value("400e9")
    (8, 100000, 1.5, 400000000000)
    >>> parse_value("true"), parse_value("relative"), parse_value("4x4")
    (True, 'relative', '4x4')
    """
    t = text.strip()
    if _INT.fullmatch(t):
        return int(t)
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    try:
        value = float(t)
    except ValueError:
        return t
    if _SCI_INT.fullmatch(t) and value.is_integer():
        return int(value)
    return value


def _params_of(fn) -> list:
    return [
        name for name, p in inspect.signature(fn).parameters.items()
        if p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    ]


def parse_topology_spec(spec: str) -> nx.Graph:
    """Build a topology from a spec string or read it from a file.

    Forms: ``"name"`` or ``"name:param=value,param=value"`` for a generator in
    :data:`GENERATORS` (values parsed by :func:`parse_value`), or a path ending in
    ``.graphml`` or ``.json``. ``multi_plane`` takes ``base=<generator name>`` plus
    that generator's parameters.

    Parameters
    ----------
    spec : str

    Returns
    -------
    networkx.Graph

    Raises
    ------
    ValueError
        Unknown generator or parameter (the message lists the allowed ones), malformed
        ``key=value``, a repeated or missing parameter, or a bad parameter value.

    Examples
    --------
    >>> from uesim.topologies import parse_topology_spec
    >>> G = parse_topology_spec("leaf_spine:n_leaves=4,n_spines=2,hosts_per_leaf=4")
    >>> G.graph["name"], G.number_of_nodes()
    ('leaf_spine', 22)
    >>> parse_topology_spec("fat_tree:k=4,radix=3")
    Traceback (most recent call last):
    ...
    ValueError: unknown parameter 'radix' for fat_tree; allowed: k, rate_bps, delay_ps, tor_oversubscription, agg_oversubscription
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"topology spec must be a non-empty string, got {spec!r}")
    spec = spec.strip()
    lower = spec.lower()
    if lower.endswith(".graphml"):
        return read_graphml(spec)
    if lower.endswith(".json"):
        return read_json(spec)
    name, _, rest = spec.partition(":")
    name = name.strip()
    if name not in GENERATORS:
        raise ValueError(
            f"unknown topology generator {name!r}; allowed: {', '.join(GENERATORS)} "
            f"(or a path ending in .graphml or .json)"
        )
    fn = GENERATORS[name]
    params: dict = {}
    for item in filter(None, (s.strip() for s in rest.split(","))):
        key, eq, value = item.partition("=")
        key = key.strip()
        if not eq or not key:
            raise ValueError(f"topology spec {spec!r}: expected key=value, got {item!r}")
        if key in params:
            raise ValueError(f"topology spec {spec!r}: parameter {key!r} given twice")
        params[key] = parse_value(value)
    allowed = _params_of(fn)
    if name != "multi_plane":
        for key in params:
            if key not in allowed:
                raise ValueError(
                    f"unknown parameter {key!r} for {name}; allowed: {', '.join(allowed)}"
                )
    else:
        if "base" not in params:
            raise ValueError(
                "multi_plane spec needs base=<generator>, e.g. "
                "'multi_plane:base=fat_tree,planes=2,k=8'"
            )
        params["builder_or_graph"] = params.pop("base")
    missing = [
        p for p, spec_p in inspect.signature(fn).parameters.items()
        if spec_p.default is inspect.Parameter.empty
        and spec_p.kind not in (spec_p.VAR_KEYWORD, spec_p.VAR_POSITIONAL)
        and p not in params
    ]
    if missing:
        raise ValueError(f"topology spec {spec!r}: missing required parameter(s) {', '.join(missing)}")
    return fn(**params)
