"""torus and dragonfly: structure, wrap-around, global link arrangements."""

import math
from collections import Counter

import pytest

from uesim.topologies import (
    DRAGONFLY_ARRANGEMENTS,
    bisection_bandwidth,
    describe_topology,
    dragonfly,
    torus,
    validate_topology,
)

G100 = 100_000_000_000


def router_links(G, r):
    """Number of physical router-router links at router r."""
    return sum(d.get("links", 1) for n, d in G.adj[r].items() if G.nodes[n]["kind"] == "switch")


@pytest.mark.parametrize("dims", [(8,), (4, 4), (3, 5), (4, 4, 2), (2, 2, 2), (4, 1, 3)])
def test_torus_structure(dims, check_schema):
    G = torus(dims, hosts_per_switch=2)
    validate_topology(G)
    n = math.prod(dims)
    assert check_schema(G) == 2 * n
    routers = [r for r, k in G.nodes(data="kind") if k == "switch"]
    assert routers == [f"router{r}" for r in range(n)]
    expected_links = 2 * sum(1 for d in dims if d > 1)
    for r in routers:
        assert router_links(G, r) == expected_links
        assert G.nodes[r]["role"] == "tor"
    for i in range(2 * n):
        assert list(G[f"gpu{i}"]) == [f"router{i // 2}"]
    # wrap-around: coordinate 0 and size-1 are neighbours in each dimension of size > 2
    for axis, size in zip("xyz", dims):
        if size > 2:
            first = next(r for r in routers if all(G.nodes[r][a] == 0 for a in "xyz"[: len(dims)]))
            last = next(
                r for r in routers
                if G.nodes[r][axis] == size - 1
                and all(G.nodes[r][a] == 0 for a in "xyz"[: len(dims)] if a != axis)
            )
            assert G.has_edge(first, last)
    diameter = 2 + sum(d // 2 for d in dims)
    assert describe_topology(G)["diameter"] == diameter


@pytest.mark.parametrize("dims,hps", [((8,), 1), ((4, 4), 1), ((4, 4), 4), ((3, 4), 2), ((4, 4, 4), 1), ((2, 3, 2), 1)])
def test_torus_bisection_formula(dims, hps):
    G = torus(dims, hps)
    n_hosts = math.prod(dims) * hps
    expected = min(n_hosts // 2 * G100, 2 * math.prod(dims[:-1]) * G100)
    assert bisection_bandwidth(G) == expected


def test_torus_accepts_string_dims_and_rejects_bad():
    assert torus("4x2").graph["dims"] == "4x2"
    with pytest.raises(ValueError, match="dims must be a tuple of 1 to 3 ints"):
        torus((2, 2, 2, 2))
    with pytest.raises(ValueError, match=r"dims\[1\] must be an int >= 1, got 0"):
        torus((2, 0))
    with pytest.raises(ValueError, match="dims must be"):
        torus("4xfoo")


@pytest.mark.parametrize("arrangement", DRAGONFLY_ARRANGEMENTS)
@pytest.mark.parametrize("g,a,p,h", [(9, 4, 2, 2), (5, 2, 1, 2), (4, 3, 1, 1), (3, 2, 2, 2), (2, 2, 1, 1), (6, 5, 1, 1)])
def test_dragonfly_structure(arrangement, g, a, p, h, check_schema):
    G = dragonfly(g, a, p, h, arrangement)
    validate_topology(G)
    assert check_schema(G) == g * a * p
    m = a * h // (g - 1)
    assert G.graph["links_per_group_pair"] == m
    pair_links = Counter()
    for r in range(g * a):
        name = f"router{r}"
        assert G.nodes[name]["group"] == r // a
        local = [n for n in G[name] if G.nodes[n]["kind"] == "switch" and G.nodes[n]["group"] == r // a]
        assert len(local) == a - 1
        glob = sum(d.get("links", 1) for n, d in G.adj[name].items()
                   if G.nodes[n]["kind"] == "switch" and G.nodes[n]["group"] != r // a)
        assert glob == h, (name, glob)
    for u, v, d in G.edges(data=True):
        gu, gv = G.nodes[u]["group"], G.nodes[v]["group"]
        if gu != gv:
            pair_links[frozenset((gu, gv))] += d.get("links", 1)
    assert len(pair_links) == g * (g - 1) // 2
    assert set(pair_links.values()) == {m}
    for i in range(g * a * p):
        assert G.nodes[f"gpu{i}"]["group"] == i // (a * p)
    assert describe_topology(G)["diameter"] <= 5


def test_dragonfly_absolute_and_relative_differ():
    ga = dragonfly(9, 4, 1, 2, "absolute")
    gr = dragonfly(9, 4, 1, 2, "relative")
    ea = {frozenset(e) for e in ga.edges}
    er = {frozenset(e) for e in gr.edges}
    assert ea != er
    # absolute: router 0 (ports 0, 1) of group 0 reaches groups 1, 2
    assert sorted(ga.nodes[n]["group"] for n in ga["router0"] if ga.nodes[n]["kind"] == "switch" and ga.nodes[n]["group"]) == [1, 2]


def test_dragonfly_rejects_bad_arguments():
    with pytest.raises(ValueError, match="must be a multiple of groups - 1 = 4"):
        dragonfly(5, 3, 1, 1)
    with pytest.raises(ValueError, match="arrangement must be one of"):
        dragonfly(9, 4, 2, 2, "random")
    with pytest.raises(ValueError, match="groups must be an int >= 2, got 1"):
        dragonfly(1, 4, 2, 2)
