"""leaf_spine, fat_tree and rail_optimized: structure, attributes, bisection formulas."""

import networkx as nx
import pytest

from uesim.topologies import (
    bisection_bandwidth,
    describe_topology,
    fat_tree,
    leaf_spine,
    rail_optimized,
    validate_topology,
)

G100 = 100_000_000_000


# --- leaf_spine -------------------------------------------------------------------------


def test_leaf_spine_structure(check_schema, count_roles):
    G = leaf_spine(4, 3, 8, links_per_spine=2)
    validate_topology(G)
    assert check_schema(G) == 32
    assert count_roles(G) == {"host": 32, "leaf": 4, "spine": 3}
    assert list(G)[:32] == [f"gpu{i}" for i in range(32)]
    for i in range(32):
        assert list(G[f"gpu{i}"]) == [f"leaf{i // 8}"]
    for leaf in range(4):
        assert G.degree(f"leaf{leaf}") == 8 + 3
        for s in range(3):
            e = G.edges[f"leaf{leaf}", f"spine{s}"]
            assert e["links"] == 2 and e["fabric"] == "scale_out"
    for s in range(3):
        assert G.degree(f"spine{s}") == 4
    assert nx.is_connected(G)
    assert G.graph["name"] == "leaf_spine"
    assert G.graph["oversubscription"] == pytest.approx(8 / 6)
    assert isinstance(G.graph["oversubscription"], float)
    assert G.graph["n_leaves"] == 4 and G.graph["links_per_spine"] == 2


def test_leaf_spine_defaults_are_ints():
    G = leaf_spine(2, 1, 1)
    e = G.edges["gpu0", "leaf0"]
    assert e["rate_bps"] == G100 and type(e["rate_bps"]) is int
    assert e["delay_ps"] == 1_000_000 and type(e["delay_ps"]) is int


@pytest.mark.parametrize(
    "n_leaves,n_spines,hpl,hr,fr,lps",
    [(4, 2, 8, G100, G100, 1), (4, 4, 4, G100, G100, 1), (6, 2, 4, G100, 4 * G100, 2),
     (2, 1, 16, 4 * G100, G100, 3)],
)
def test_leaf_spine_bisection_formula(n_leaves, n_spines, hpl, hr, fr, lps):
    G = leaf_spine(n_leaves, n_spines, hpl, host_rate_bps=hr, fabric_rate_bps=fr,
                   links_per_spine=lps)
    expected = n_leaves // 2 * min(hpl * hr, n_spines * lps * fr)
    assert bisection_bandwidth(G) == expected
    d = describe_topology(G)
    assert d["bisection_bandwidth_bps"] == expected
    assert d["oversubscription"]["leaf"] == pytest.approx(G.graph["oversubscription"])
    assert d["diameter"] == 4
    assert d["path_diversity"]["max"] == n_spines


@pytest.mark.parametrize(
    "kwargs,match",
    [({"n_leaves": 0}, "n_leaves must be an int >= 1, got 0"),
     ({"n_spines": 2.0}, "n_spines must be an int >= 1, got 2.0"),
     ({"host_rate_bps": 1e11}, "host_rate_bps must be an int"),
     ({"fabric_rate_bps": 0}, "fabric_rate_bps must be an int"),
     ({"delay_ps": -1}, "delay_ps must be an int number of picoseconds >= 0"),
     ({"links_per_spine": True}, "links_per_spine must be an int")],
)
def test_leaf_spine_rejects_bad_arguments(kwargs, match):
    args = {"n_leaves": 2, "n_spines": 2, "hosts_per_leaf": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        leaf_spine(**args)


# --- fat_tree ---------------------------------------------------------------------------


def test_fat_tree_k16_htsim_numbering():
    G = fat_tree(16)
    validate_topology(G)
    hosts = [n for n, k in G.nodes(data="kind") if k == "gpu"]
    assert len(hosts) == 1024 and hosts == [f"gpu{i}" for i in range(1024)]
    for i in range(1024):
        assert list(G[f"gpu{i}"]) == [f"tor{i // 8}"]
        assert G.nodes[f"gpu{i}"]["pod"] == i // 64
    for t in range(128):
        assert G.nodes[f"tor{t}"]["pod"] == t // 8
        assert G.nodes[f"agg{t}"]["pod"] == t // 8
        aggs = sorted(int(n[3:]) for n in G[f"tor{t}"] if n.startswith("agg"))
        assert aggs == list(range((t // 8) * 8, (t // 8) * 8 + 8))
    for a in range(128):
        p = a % 8
        cores = sorted(int(n[4:]) for n in G[f"agg{a}"] if n.startswith("core"))
        assert cores == list(range(p * 8, p * 8 + 8))
    for c in range(64):
        assert G.degree(f"core{c}") == 16
        assert sorted(G.nodes[n]["pod"] for n in G[f"core{c}"]) == list(range(16))


@pytest.mark.parametrize("k", [2, 4, 6, 8])
def test_fat_tree_structure_and_bisection(k, check_schema, count_roles):
    G = fat_tree(k)
    validate_topology(G)
    h = k // 2
    assert check_schema(G) == k**3 // 4
    assert count_roles(G) == {"host": k**3 // 4, "tor": k * h, "agg": k * h, "core": h * h}
    for n, r in G.nodes(data="role"):
        if r in ("tor", "agg", "core"):
            assert G.degree(n) == k
    assert bisection_bandwidth(G) == k**3 // 8 * G100
    d = describe_topology(G)
    assert d["diameter"] == 6
    assert d["oversubscription"] == {"tor": 1.0, "agg": 1.0, "core": None}
    assert d["links_by_rate"] == {G100: 3 * k**3 // 4}


@pytest.mark.parametrize("k,tos,aos", [(4, 2, 1), (8, 3, 2), (8, 1, 4), (8, 1.5, 1)])
def test_fat_tree_oversubscription(k, tos, aos):
    G = fat_tree(k, tor_oversubscription=tos, agg_oversubscription=aos)
    validate_topology(G)
    h = k // 2
    hpt = round(h * tos)
    u = h // aos
    assert G.graph["hosts_per_tor"] == hpt and G.graph["agg_uplinks"] == u
    assert sum(1 for _, r in G.nodes(data="role") if r == "host") == k * h * hpt
    assert sum(1 for _, r in G.nodes(data="role") if r == "core") == h * u
    for i in range(k * h * hpt):
        assert list(G[f"gpu{i}"]) == [f"tor{i // hpt}"]
    d = describe_topology(G)
    assert d["oversubscription"]["tor"] == pytest.approx(tos)
    assert d["oversubscription"]["agg"] == pytest.approx(aos)
    hosts_per_pod = h * hpt
    assert bisection_bandwidth(G) == h * min(hosts_per_pod, h * h, h * u) * G100


@pytest.mark.parametrize(
    "kwargs,match",
    [({"k": 5}, "k must be an even int >= 2, got 5"),
     ({"k": 0}, "k must be an int >= 2, got 0"),
     ({"k": 4, "tor_oversubscription": 0.5}, "tor_oversubscription must be >= 1"),
     ({"k": 4, "tor_oversubscription": 1.25}, "hosts per ToR"),
     ({"k": 8, "agg_oversubscription": 3}, "uplinks per agg"),
     ({"k": 4, "rate_bps": -5}, "rate_bps must be an int")],
)
def test_fat_tree_rejects_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fat_tree(**kwargs)


# --- rail_optimized ---------------------------------------------------------------------


def test_rail_optimized_structure(check_schema, count_roles):
    G = rail_optimized(4, 8, 2)
    validate_topology(G)
    assert check_schema(G) == 32
    assert count_roles(G) == {"host": 32, "leaf": 8, "spine": 2}
    for i in range(32):
        assert G.nodes[f"gpu{i}"]["rail"] == i % 8
        assert G.nodes[f"gpu{i}"]["server"] == i // 8
        assert list(G[f"gpu{i}"]) == [f"leaf{i % 8}"]
    for r in range(8):
        assert G.nodes[f"leaf{r}"]["rail"] == r
        assert G.degree(f"leaf{r}") == 4 + 2


def test_rail_optimized_groups():
    G = rail_optimized(8, 4, 3, servers_per_leaf=2)
    validate_topology(G)
    assert G.graph["servers_per_leaf"] == 2
    for i in range(32):
        server, rail = divmod(i, 4)
        leaf = f"leaf{(server // 2) * 4 + rail}"
        assert list(G[f"gpu{i}"]) == [leaf]
        assert G.nodes[leaf]["rail"] == rail and G.nodes[leaf]["pod"] == server // 2
    assert G.graph["oversubscription"] == pytest.approx(2 / 3)


@pytest.mark.parametrize(
    "n_servers,gps,n_spines,spl",
    [(4, 8, 2, None), (8, 4, 3, 2), (8, 4, 1, 2), (16, 2, 2, 4), (6, 2, 1, 3)],
)
def test_rail_optimized_bisection_formula(n_servers, gps, n_spines, spl):
    G = rail_optimized(n_servers, gps, n_spines, servers_per_leaf=spl)
    spl = n_servers if spl is None else spl
    groups = n_servers // spl
    if groups == 1:
        expected = n_servers * gps // 2 * G100
    else:
        expected = gps * groups // 2 * min(spl * G100, n_spines * G100)
    assert bisection_bandwidth(G) == expected


def test_rail_optimized_rejects_bad_servers_per_leaf():
    with pytest.raises(ValueError, match="servers_per_leaf must divide n_servers=6, got 4"):
        rail_optimized(6, 8, 2, servers_per_leaf=4)


def test_the_radix_for_n_hosts_is_the_smallest_fat_tree_that_holds_them():
    from uesim.topologies import fat_tree, fat_tree_radix_for
    for n in (1, 16, 17, 128, 129, 4096):
        k = fat_tree_radix_for(n)
        hosts = sum(1 for _, kind in fat_tree(k).nodes(data="kind") if kind == "gpu")
        assert hosts >= n and (k == 4 or (k - 2) ** 3 // 4 < n)
    with pytest.raises(ValueError, match="n_hosts must be >= 1, got 0"):
        fat_tree_radix_for(0)
