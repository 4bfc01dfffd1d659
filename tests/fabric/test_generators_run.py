"""Every topology generator builds, routes every host pair and carries traffic."""
from __future__ import annotations

import numpy as np
import pytest

from uesim.fabric.routing import forwarding_tables
from uesim.topologies import (GENERATORS, degrade_links, fail_links, fat_tree, hgx, hybrid,
                              leaf_spine, multi_plane, nvl72, rail_optimized,
                              validate_topology)

from fabric_test_helpers import build, permutation, run_flows, table_of

# one small instance per generator; every entry of GENERATORS must appear here
SMALL = {
    "leaf_spine": lambda: GENERATORS["leaf_spine"](4, 2, 4),
    "fat_tree": lambda: GENERATORS["fat_tree"](4),
    "rail_optimized": lambda: GENERATORS["rail_optimized"](4, 4, 2),
    "dragonfly": lambda: GENERATORS["dragonfly"](5, 2, 2, 2),
    "torus": lambda: GENERATORS["torus"]((4, 4)),
    "hgx": lambda: GENERATORS["hgx"](1),
    "nvl72": lambda: GENERATORS["nvl72"](1, gpus_per_rack=16, n_switches=4),
    "scaleup_switch_domain": lambda: GENERATORS["scaleup_switch_domain"](8, 4),
    "multi_plane": lambda: GENERATORS["multi_plane"]("fat_tree", planes=2, k=4),
}

EXTRA = {
    "torus_3d_size2": lambda: GENERATORS["torus"]("2x3x2", hosts_per_switch=2),
    "dragonfly_circulant": lambda: GENERATORS["dragonfly"](5, 2, 1, 2, "circulant"),
    "rail_groups": lambda: rail_optimized(4, 4, 2, servers_per_leaf=2),
    "fat_tree_oversub": lambda: fat_tree(4, tor_oversubscription=2),
    "leaf_spine_parallel": lambda: leaf_spine(2, 2, 4, links_per_spine=2),
    "multi_plane_leaf_spine": lambda: multi_plane(leaf_spine, planes=3, n_leaves=2,
                                                  n_spines=2, hosts_per_leaf=4),
    "hybrid_hgx_fat_tree": lambda: hybrid(hgx(2), fat_tree(4)),
    "hybrid_nvl72_rail": lambda: hybrid(nvl72(2, gpus_per_rack=8, n_switches=2),
                                        rail_optimized(2, 8, 2)),
    "hybrid_two_nics": lambda: hybrid(hgx(2), multi_plane(fat_tree, planes=2, k=4),
                                      nics_per_gpu=2),
    "fail_links_fat_tree": lambda: fail_links(fat_tree(4), count=6, seed=2),
    "fail_links_tiers": lambda: fail_links(fat_tree(4), fraction=0.25,
                                           tiers=["agg-core"], seed=5),
    "fail_links_hybrid": lambda: fail_links(hybrid(hgx(2), fat_tree(4)), count=4, seed=1),
    "degrade_links": lambda: degrade_links(leaf_spine(2, 2, 4), 0.5, count=2, seed=1),
}

CASES = {**SMALL, **EXTRA}


def test_every_generator_is_covered():
    assert set(GENERATORS) <= set(SMALL)


def _domains(built):
    is_host = np.array([built.net.host_of_node(i) >= 0 for i in range(len(built.node_names))])
    return forwarding_tables(built.graph, built.node_names, built.node_index, is_host,
                             built.host_names, built.port_link).host_domains


@pytest.mark.parametrize("name", sorted(CASES))
def test_generator_routes_and_runs(name):
    G = CASES[name]()
    validate_topology(G)
    built = build(G)
    net, n = built.net, built.n_hosts
    domains = _domains(built)
    for s in range(n):
        nic = net.node_of_host(s)
        for d in range(n):
            if d != s:
                assert net.next_hops(nic, d, table_of(built, s, d, domains)), \
                    f"{built.host_names[s]} has no route to {built.host_names[d]}"
    flows = run_flows(built, permutation(n, seed=len(name)))
    assert all(f.finished for f in flows), [f.flow_id for f in flows if not f.finished]
    assert sum(f.retx_packets for f in flows) == 0
    counters = net.port_counters()
    assert counters["drops"].sum() == 0
    assert net.unroutable == 0
    assert net.in_flight() == 0
    # failed links carry nothing: build_network creates no port for them
    failed = {(u, v) for u, v, up in G.edges(data="up", default=True) if not up}
    assert not any((a, b) in failed or (b, a) in failed for a, b, _ in built.port_link)
