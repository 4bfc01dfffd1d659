"""Link failures and degradations applied to a copy of a topology."""

from __future__ import annotations

import numbers
import random
from fractions import Fraction

import networkx as nx

from ._paths import first_unreachable_pair, host_signatures, switch_path_exists, up_adjacency
from ._schema import ROLES, SCALE_OUT, _is_int, check_int, is_up

__all__ = ["fail_links", "degrade_links"]


def _parse_tiers(tiers) -> set:
    if isinstance(tiers, str):
        tiers = [tiers]
    out = set()
    for tier in tiers:
        parts = tier.split("-") if isinstance(tier, str) else list(tier)
        if len(parts) != 2 or any(p not in ROLES for p in parts):
            raise ValueError(
                f"tiers entries must be role pairs like 'leaf-spine' or ('tor', 'agg') with "
                f"roles in {list(ROLES)}, got {tier!r}"
            )
        out.add(frozenset(parts))
    return out


def _candidates(G: nx.Graph, tiers) -> list:
    roles = G.nodes
    if tiers is None:
        return [
            (u, v) for u, v, d in G.edges(data=True)
            if d.get("fabric") == SCALE_OUT
            and roles[u].get("kind") == "switch" and roles[v].get("kind") == "switch"
        ]
    wanted = _parse_tiers(tiers)
    return [
        (u, v) for u, v in G.edges
        if frozenset((roles[u].get("role"), roles[v].get("role"))) in wanted
    ]


def _named(G: nx.Graph, edges) -> list:
    out = []
    for e in edges:
        if not isinstance(e, (tuple, list)) or len(e) != 2:
            raise ValueError(f"edges must be (u, v) pairs, got {e!r}")
        u, v = e
        if not G.has_edge(u, v):
            raise ValueError(f"edges: ({u!r}, {v!r}) is not an edge of the graph")
        out.append((u, v))
    return out


def _how_many(n_candidates: int, fraction, count) -> int:
    if fraction is not None:
        if (
            isinstance(fraction, bool) or not isinstance(fraction, numbers.Real)
            or not 0 <= fraction <= 1
        ):
            raise ValueError(f"fraction must be a number in [0, 1], got {fraction!r}")
        return round(fraction * n_candidates)
    count = check_int("count", count, 0)
    if count > n_candidates:
        raise ValueError(
            f"count={count} is more than the {n_candidates} candidate links"
        )
    return count


def _check_one_selector(edges, fraction, count) -> None:
    given = [name for name, v in (("edges", edges), ("fraction", fraction), ("count", count))
             if v is not None]
    if len(given) != 1:
        raise ValueError(
            f"pass exactly one of edges, fraction or count, got {given or 'none'}"
        )


def _lost_pair(before: dict, G_after: nx.Graph):
    """First host pair connected in ``before`` (signatures) but not in ``G_after``."""
    after = host_signatures(G_after, up_adjacency(G_after))
    if first_unreachable_pair(after) is None:
        return None
    groups: dict = {}
    for h in after:
        groups.setdefault((before[h], after[h]), []).append(h)
    items = list(groups.items())
    for i, ((b1, a1), hosts1) in enumerate(items):
        if b1 and not a1 and len(hosts1) > 1:
            return hosts1[0], hosts1[1]
        for (b2, a2), hosts2 in items[i + 1:]:
            if (b1 & b2) and not (a1 & a2):
                return hosts1[0], hosts2[0]
    return None


def fail_links(
    G: nx.Graph,
    *,
    edges=None,
    fraction: float | None = None,
    count: int | None = None,
    seed: int = 0,
    tiers=None,
    allow_disconnect: bool = False,
) -> nx.Graph:
    """Return a copy of ``G`` with some links failed (``up=False``).

    Pass exactly one of ``edges`` (named edges), ``fraction`` or ``count`` (random
    choice among the candidate edges, seeded). Candidates are the working scale-out
    switch-switch edges, or with ``tiers`` the edges between the given role pairs
    (e.g. ``["leaf-spine"]``, ``["host-tor"]``). An edge is a cable bundle: failing it
    fails all its ``links``. ``fraction`` fails ``round(fraction * n_candidates)``.

    A failure never disconnects hosts silently: a named edge whose failure would leave
    two hosts that could reach each other unable to (through switches, working links)
    raises ``ValueError``; random picks go through the candidates in seeded random order
    and skip such edges (so the sample is uniform among "safe" sets only
    approximately), raising if not enough safe edges exist. ``allow_disconnect=True``
    turns both checks off.

    Parameters
    ----------
    G : networkx.Graph
    edges : iterable of (u, v), optional
    fraction : float in [0, 1], optional
    count : int, optional
    seed : int, optional
        Seed of ``random.Random`` for random picks, default 0.
    tiers : iterable of str or pairs, optional
        Role pairs to choose from, e.g. ``["tor-agg", "agg-core"]``.
    allow_disconnect : bool, optional
        Allow failures that disconnect hosts, default False.

    Returns
    -------
    networkx.Graph
        A copy; graph attribute ``failed_links`` counts the edges failed by this call.

    Examples
    --------
    >>> from uesim.topologies import fat_tree, fail_links
    >>> H = fail_links(fat_tree(4), count=3, seed=1)
    >>> sum(1 for *_, up in H.edges(data="up", default=True) if not up)
    3
    >>> H2 = fail_links(fat_tree(4), edges=[("tor0", "agg0")])
    >>> H2.edges["tor0", "agg0"]["up"]
    False
    >>> fail_links(fat_tree(4), edges=[("gpu0", "tor0")])
    Traceback (most recent call last):
    ...
    ValueError: failing edge ('gpu0', 'tor0') would disconnect host 'gpu0' from host 'gpu1'; pass allow_disconnect=True to allow it
    """
    _check_one_selector(edges, fraction, count)
    H = G.copy()
    before = None if allow_disconnect else host_signatures(H, up_adjacency(H))

    def fail(u, v):
        H.edges[u, v]["up"] = False
        if before is None:
            return None
        kinds = H.nodes
        if (
            kinds[u].get("kind") == "switch" and kinds[v].get("kind") == "switch"
            and switch_path_exists(H, u, v)
        ):
            return None  # switch components unchanged, so no host lost a peer
        pair = _lost_pair(before, H)
        if pair is not None:
            H.edges[u, v]["up"] = G.edges[u, v].get("up", True)
            if "up" not in G.edges[u, v]:
                del H.edges[u, v]["up"]
        return pair

    failed = 0
    if edges is not None:
        for u, v in _named(H, edges):
            pair = fail(u, v)
            if pair is not None:
                raise ValueError(
                    f"failing edge ({u!r}, {v!r}) would disconnect host {pair[0]!r} from "
                    f"host {pair[1]!r}; pass allow_disconnect=True to allow it"
                )
            failed += 1
    else:
        cands = [e for e in _candidates(H, tiers) if is_up(H.edges[e])]
        n = _how_many(len(cands), fraction, count)
        order = cands[:]
        random.Random(seed).shuffle(order)
        for u, v in order:
            if failed == n:
                break
            if fail(u, v) is None:
                failed += 1
        if failed < n:
            raise ValueError(
                f"could fail only {failed} of the {n} requested links without "
                f"disconnecting hosts (of {len(cands)} candidates, tried in seeded random "
                f"order, seed={seed}); ask for fewer, try another seed or pass "
                f"allow_disconnect=True"
            )
    H.graph["failed_links"] = H.graph.get("failed_links", 0) + failed
    return H


def _factor(factor) -> Fraction:
    if (
        isinstance(factor, bool) or not isinstance(factor, numbers.Real)
        or not 0 < factor <= 1
    ):
        raise ValueError(f"factor must be a number in (0, 1], got {factor!r}")
    # repr() keeps 0.1 as 1/10 rather than its binary approximation
    return Fraction(factor) if _is_int(factor) else Fraction(repr(float(factor)))


def degrade_links(
    G: nx.Graph,
    factor: float,
    *,
    edges=None,
    fraction: float | None = None,
    count: int | None = None,
    seed: int = 0,
    tiers=None,
) -> nx.Graph:
    """Return a copy of ``G`` with some links running at ``factor`` of their rate.

    Pass exactly one of ``edges``, ``fraction`` or ``count``; candidates and random
    choice are as in :func:`fail_links`. The new rate is
    ``max(1, round(rate_bps * factor))`` (an int); the original rate is kept in
    ``nominal_rate_bps`` (set once: degrading twice keeps the first nominal rate).

    Parameters
    ----------
    G : networkx.Graph
    factor : float in (0, 1]
    edges, fraction, count, seed, tiers
        As in :func:`fail_links`.

    Returns
    -------
    networkx.Graph

    Examples
    --------
    >>> from uesim.topologies import leaf_spine, degrade_links
    >>> H = degrade_links(leaf_spine(2, 2, 2), 0.25, edges=[("leaf0", "spine1")])
    >>> H.edges["leaf0", "spine1"]["rate_bps"], H.edges["leaf0", "spine1"]["nominal_rate_bps"]
    (25000000000, 100000000000)
    """
    f = _factor(factor)
    _check_one_selector(edges, fraction, count)
    H = G.copy()
    if edges is not None:
        chosen = _named(H, edges)
    else:
        cands = _candidates(H, tiers)
        n = _how_many(len(cands), fraction, count)
        chosen = random.Random(seed).sample(cands, n)
    for u, v in chosen:
        data = H.edges[u, v]
        data.setdefault("nominal_rate_bps", data["rate_bps"])
        data["rate_bps"] = max(1, round(data["rate_bps"] * f))
    return H
