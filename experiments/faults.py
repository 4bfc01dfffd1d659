"""A scenario's ``[faults]`` table applied to its topology graph.

Keys (all optional; an empty table changes nothing):

``degrade_links`` : int
    How many switch-to-switch links to run at ``degrade_factor`` of their rate, picked at
    random (seeded by the scenario seed) among the scale-out switch-switch edges.
``degrade_edges`` : list of [u, v]
    Named links to degrade instead (e.g. the links htsim's ``-failed N`` picks, which are
    not random; see ``uesim htsim``). Give at most one of ``degrade_links`` and
    ``degrade_edges``.
``degrade_factor`` : float in (0, 1]
    The fraction of the rate a degraded link keeps, default 0.25 (htsim's
    ``_failed_link_ratio``).
"""
from __future__ import annotations

from uesim.experiments.schema import ScenarioError

DEFAULT_DEGRADE_FACTOR = 0.25


def apply_faults(G, faults: dict | None, seed: int):
    """Return ``G`` with ``faults`` applied (a copy if anything changes).

    Parameters
    ----------
    G : networkx.Graph
    faults : dict or None
        The checked ``[faults]`` table.
    seed : int
        Seed of the random picks (pass a stream derived from the scenario seed).

    Returns
    -------
    networkx.Graph

    Raises
    ------
    ScenarioError
        Naming the key when the table asks for something the graph does not allow.

    Examples
    --------
    >>> from uesim.topologies import fat_tree
    >>> H = apply_faults(fat_tree(4), {"degrade_links": 3}, seed=1)
    >>> sorted(d["rate_bps"] for *_, d in H.edges(data=True) if "nominal_rate_bps" in d)
    [25000000000, 25000000000, 25000000000]
    >>> H = apply_faults(fat_tree(4), {"degrade_edges": [["agg0", "core0"]], "degrade_factor": 0.5}, seed=0)
    >>> H.edges["agg0", "core0"]["rate_bps"]
    50000000000
    """
    if not faults:
        return G
    from uesim.topologies import degrade_links
    count = faults.get("degrade_links")
    edges = faults.get("degrade_edges")
    factor = faults.get("degrade_factor", DEFAULT_DEGRADE_FACTOR)
    if count is not None and edges is not None:
        raise ScenarioError("faults: give at most one of 'degrade_links' (a random count) and "
                            "'degrade_edges' (named links)")
    if count is None and edges is None:
        return G
    if count == 0 or edges == []:
        return G
    try:
        if edges is not None:
            return degrade_links(G, factor, edges=[tuple(e) for e in edges])
        return degrade_links(G, factor, count=count, seed=seed)
    except ValueError as exc:
        key = "degrade_edges" if edges is not None else "degrade_links"
        raise ScenarioError(f"faults.{key}: {exc}") from None
