"""Property tests (hypothesis): random small generator arguments always give valid graphs."""

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uesim.topologies import (
    bisection_bandwidth,
    describe_topology,
    dragonfly,
    fail_links,
    fat_tree,
    leaf_spine,
    torus,
    validate_topology,
)

G100 = 100_000_000_000
rates = st.sampled_from([25, 100, 200, 400, 800]).map(lambda g: g * 1_000_000_000)
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(
    half_leaves=st.integers(1, 4), n_spines=st.integers(1, 4), hpl=st.integers(1, 6),
    lps=st.integers(1, 3), hr=rates, fr=rates, delay=st.integers(0, 5_000_000),
)
def test_leaf_spine_always_valid_with_formula_bisection(half_leaves, n_spines, hpl, lps, hr, fr, delay):
    n_leaves = 2 * half_leaves
    G = leaf_spine(n_leaves, n_spines, hpl, host_rate_bps=hr, fabric_rate_bps=fr,
                   delay_ps=delay, links_per_spine=lps)
    validate_topology(G)
    assert bisection_bandwidth(G) == half_leaves * min(hpl * hr, n_spines * lps * fr)
    n = n_leaves * hpl
    assert [h for h, k in G.nodes(data="kind") if k == "gpu"] == [f"gpu{i}" for i in range(n)]
    assert G.graph["oversubscription"] == hpl * hr / (n_spines * lps * fr)


@FAST
@given(k=st.sampled_from([2, 4, 6]), tos=st.sampled_from([1, 2, 3]), seed=st.integers(0, 10**6))
def test_fat_tree_valid_and_failures_keep_hosts_connected(k, tos, seed):
    G = fat_tree(k, tor_oversubscription=tos)
    validate_topology(G)
    h = k // 2
    assert bisection_bandwidth(G) == h * min(h * h * tos, h * h) * G100
    n_switch_links = 2 * k * h * h
    H = fail_links(G, count=min(3, n_switch_links // 4), seed=seed) if k > 2 else G
    validate_topology(H)


@FAST
@given(dims=st.lists(st.integers(1, 5), min_size=1, max_size=3), hps=st.integers(1, 3))
def test_torus_always_valid(dims, hps):
    G = torus(tuple(dims), hps)
    validate_topology(G)
    n_hosts = hps
    for d in dims:
        n_hosts *= d
    expected = 2 + sum(d // 2 for d in dims) if n_hosts >= 2 else None
    assert describe_topology(G, sample_pairs=4)["diameter"] == expected


@FAST
@given(a=st.integers(1, 4), h=st.integers(1, 3), p=st.integers(1, 2),
       arrangement=st.sampled_from(["absolute", "relative", "circulant"]), data=st.data())
def test_dragonfly_balanced_and_divisor_sizes_valid(a, h, p, arrangement, data):
    divisors = [d for d in range(1, a * h + 1) if (a * h) % d == 0]
    groups = data.draw(st.sampled_from(divisors)) + 1
    G = dragonfly(groups, a, p, h, arrangement)
    validate_topology(G)
    assert describe_topology(G, sample_pairs=4)["diameter"] <= 5
