"""fail_links and degrade_links."""

import pytest

from uesim.topologies import (
    bisection_bandwidth,
    degrade_links,
    describe_topology,
    fail_links,
    fat_tree,
    leaf_spine,
    validate_topology,
)

G100 = 100_000_000_000


def failed(G):
    return {frozenset((u, v)) for u, v, up in G.edges(data="up", default=True) if not up}


def test_fail_named_edges_returns_copy():
    G = fat_tree(4)
    H = fail_links(G, edges=[("tor0", "agg0"), ("agg1", "core2")])
    assert failed(H) == {frozenset(("tor0", "agg0")), frozenset(("agg1", "core2"))}
    assert failed(G) == set() and "up" not in G.edges["tor0", "agg0"]
    assert H.graph["failed_links"] == 2
    validate_topology(H)
    assert describe_topology(H)["failed_links"] == 2


def test_fail_random_is_seeded_and_only_switch_links():
    G = fat_tree(8)
    a = fail_links(G, fraction=0.1, seed=7)
    b = fail_links(G, fraction=0.1, seed=7)
    c = fail_links(G, fraction=0.1, seed=8)
    assert failed(a) == failed(b) != failed(c)
    assert len(failed(a)) == round(0.1 * 256)
    for e in failed(a):
        assert all(G.nodes[n]["kind"] == "switch" for n in e)
    validate_topology(a)


def test_fail_tiers():
    G = fat_tree(4)
    H = fail_links(G, count=4, tiers=["agg-core"], seed=1)
    for e in failed(H):
        assert {G.nodes[n]["role"] for n in e} == {"agg", "core"}
    H2 = fail_links(G, count=1, tiers=[("core", "agg")], seed=1)
    assert len(failed(H2)) == 1
    with pytest.raises(ValueError, match="tiers entries must be role pairs"):
        fail_links(G, count=1, tiers=["tor-router"])


def test_fail_never_disconnects_silently():
    G = leaf_spine(2, 1, 2)
    with pytest.raises(ValueError, match="would disconnect host 'gpu0' from host 'gpu2'"):
        fail_links(G, edges=[("leaf0", "spine0")])
    with pytest.raises(ValueError, match="could fail only 0 of the 1 requested links"):
        fail_links(G, count=1)
    H = fail_links(G, edges=[("leaf0", "spine0")], allow_disconnect=True)
    with pytest.raises(ValueError, match="no path"):
        validate_topology(H)
    # random picks skip links whose failure would disconnect: leaf-spine with 2 spines
    G2 = leaf_spine(4, 2, 1)
    for seed in range(10):
        H2 = fail_links(G2, count=2, seed=seed)
        assert len(failed(H2)) == 2
        validate_topology(H2)
    with pytest.raises(ValueError, match="without disconnecting hosts"):
        fail_links(G2, count=5, seed=3)


def test_fail_reduces_bisection():
    G = leaf_spine(4, 2, 4)
    H = fail_links(G, edges=[("leaf0", "spine0")])
    assert bisection_bandwidth(H) == bisection_bandwidth(G) - G100


def test_fail_argument_errors():
    G = fat_tree(4)
    with pytest.raises(ValueError, match="pass exactly one of edges, fraction or count"):
        fail_links(G)
    with pytest.raises(ValueError, match="pass exactly one of edges, fraction or count"):
        fail_links(G, count=1, fraction=0.5)
    with pytest.raises(ValueError, match=r"fraction must be a number in \[0, 1\], got 1.5"):
        fail_links(G, fraction=1.5)
    with pytest.raises(ValueError, match="count=99 is more than the 32 candidate links"):
        fail_links(G, count=99)
    with pytest.raises(ValueError, match=r"\('tor0', 'core0'\) is not an edge"):
        fail_links(G, edges=[("tor0", "core0")])


def test_degrade_links():
    G = leaf_spine(2, 2, 2)
    H = degrade_links(G, 0.1, edges=[("leaf0", "spine0")])
    e = H.edges["leaf0", "spine0"]
    assert e["rate_bps"] == 10_000_000_000 and type(e["rate_bps"]) is int
    assert e["nominal_rate_bps"] == G100
    assert G.edges["leaf0", "spine0"]["rate_bps"] == G100
    H2 = degrade_links(H, 0.5, edges=[("leaf0", "spine0")])
    assert H2.edges["leaf0", "spine0"]["rate_bps"] == 5_000_000_000
    assert H2.edges["leaf0", "spine0"]["nominal_rate_bps"] == G100
    validate_topology(H2)
    R = degrade_links(fat_tree(4), 0.5, fraction=0.25, seed=2)
    assert sum(1 for *_, r in R.edges(data="rate_bps") if r == G100 // 2) == 8
    # same seed, same degraded links: compare the rates, not just the edge sets
    # (EdgeView equality ignores attributes)
    again = degrade_links(fat_tree(4), 0.5, fraction=0.25, seed=2)
    assert sorted(R.edges(data="rate_bps")) == sorted(again.edges(data="rate_bps"))
    other = degrade_links(fat_tree(4), 0.5, fraction=0.25, seed=3)
    assert sorted(R.edges(data="rate_bps")) != sorted(other.edges(data="rate_bps"))
    with pytest.raises(ValueError, match=r"factor must be a number in \(0, 1\], got 0"):
        degrade_links(G, 0, count=1)
