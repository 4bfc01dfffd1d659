"""Forwarding tables of fabric/routing.py against a brute-force BFS reference."""
from __future__ import annotations

import networkx as nx
import numpy as np
import pytest

from uesim.fabric.routing import forwarding_tables, host_domains, port_fabrics
from uesim.topologies import (dragonfly, fail_links, fat_tree, hgx, hybrid, leaf_spine,
                              multi_plane, rail_optimized, torus)

from fabric_test_helpers import build, reference_next_hops, run_flows


def _tables(built):
    is_host = np.array([built.net.host_of_node(i) >= 0 for i in range(len(built.node_names))])
    return forwarding_tables(built.graph, built.node_names, built.node_index, is_host,
                             built.host_names, built.port_link)


def _assert_matches(built, ref, table=0):
    n, h = len(built.node_names), built.n_hosts
    for v in range(n):
        for d in range(h):
            got = sorted(built.net.next_hops(v, d, table))
            assert got == ref.get((v, d), []), (built.node_names[v], built.host_names[d], table)


SINGLE = {
    "leaf_spine_parallel": lambda: leaf_spine(3, 2, 2, links_per_spine=2),
    "fat_tree4": lambda: fat_tree(4),
    "fat_tree4_oversub": lambda: fat_tree(4, tor_oversubscription=2),
    "rail": lambda: rail_optimized(4, 4, 2, servers_per_leaf=2),
    "torus": lambda: torus((3, 2, 2), hosts_per_switch=2),
    "dragonfly": lambda: dragonfly(3, 2, 1, 2, "relative"),
    "multi_plane": lambda: multi_plane(fat_tree, planes=2, k=4),
    "failed": lambda: fail_links(fat_tree(4), count=6, seed=3),
    "hgx_only": lambda: hgx(2),
}


@pytest.mark.parametrize("name", sorted(SINGLE))
def test_single_fabric_matches_bfs_reference(name):
    built = build(SINGLE[name]())
    assert built.net.n_tables == 1
    assert _tables(built).host_domains is None
    _assert_matches(built, reference_next_hops(built))


def test_hybrid_two_tables_match_reference_per_fabric():
    G = hybrid(hgx(2, gpus_per_server=4, n_nvswitches=2), leaf_spine(2, 2, 4))
    built = build(G)
    assert built.net.n_tables == 2
    up = port_fabrics(G, built.port_link)
    _assert_matches(built, reference_next_hops(built, ~up), table=0)
    ref_up = reference_next_hops(built, up)
    ref_out = reference_next_hops(built, ~up)
    for v in range(len(built.node_names)):
        for d in range(built.n_hosts):
            want = ref_up.get((v, d)) or ref_out.get((v, d), [])   # scale-up, else fallback
            assert sorted(built.net.next_hops(v, d, 1)) == want
    # a GPU's table-1 entries towards a domain peer are NVSwitch ports only
    for d in range(1, 4):
        ports = built.net.next_hops(built.node_index["gpu0"], d, 1)
        assert ports and all(up[p] for p in ports)
    # and towards another domain's GPU (table 0) scale-out ports only
    ports = built.net.next_hops(built.node_index["gpu0"], 5, 0)
    assert ports and not any(up[p] for p in ports)


def test_host_domains_from_attribute_and_components():
    G = hybrid(hgx(3, gpus_per_server=2, n_nvswitches=1), leaf_spine(2, 1, 3))
    built = build(G)
    assert _tables(built).host_domains == [0, 0, 1, 1, 2, 2]
    H = G.copy()
    for gpu in ("gpu0", "gpu1", "gpu2", "gpu3", "gpu4", "gpu5"):
        del H.nodes[gpu]["scaleup_domain"]
    H.remove_edge("gpu5", "nvswitch2")          # gpu5 has no scale-up link left
    built = build(H)
    assert _tables(built).host_domains == [0, 0, 1, 1, 2, -1]


def test_domain_ids_are_dense():
    G = hybrid(hgx(2, gpus_per_server=2, n_nvswitches=1), leaf_spine(1, 1, 4))
    nx.set_node_attributes(G, {"gpu0": 70, "gpu1": 70, "gpu2": -5, "gpu3": -5},
                           "scaleup_domain")
    built = build(G)
    up = port_fabrics(G, built.port_link)
    assert host_domains(G, built.node_names, built.node_index, built.host_names,
                        built.port_link, up) == [0, 0, 1, 1]


def test_failed_scaleup_links_fall_back_to_scale_out():
    G = hybrid(hgx(2, gpus_per_server=4, n_nvswitches=2), leaf_spine(2, 1, 4))
    G = fail_links(G, edges=[("gpu0", "nvswitch0"), ("gpu0", "nvswitch1")],
                   allow_disconnect=True)
    built = build(G)
    up = port_fabrics(G, built.port_link)
    ports = built.net.next_hops(built.node_index["gpu0"], 1, 1)
    assert ports and not any(up[p] for p in ports)
    ports = built.net.next_hops(built.node_index["gpu1"], 2, 1)
    assert ports and all(up[p] for p in ports)
    flows = run_flows(built, [(0, 1), (1, 0), (2, 3)])
    assert all(f.finished for f in flows)
    assert built.net.unroutable == 0


def test_missing_fabric_attribute_means_scale_out():
    G = leaf_spine(2, 1, 2)
    for _, _, d in G.edges(data=True):
        del d["fabric"]
    built = build(G)
    assert built.net.n_tables == 1
    assert not port_fabrics(G, built.port_link).any()


def test_fat_tree16_builds_with_full_tables():
    built = build(fat_tree(16))
    assert built.n_hosts == 1024 and built.net.n_tables == 1
    gpu0 = built.node_index["gpu0"]
    assert len(built.net.next_hops(gpu0, 1023)) == 1
    tor0 = built.node_index["tor0"]
    assert len(built.net.next_hops(tor0, 1023)) == 8          # k/2 aggs
    assert len(built.net.next_hops(built.node_index["agg0"], 1023)) == 8   # k/2 cores


def test_packets_in_flight_when_forwarding_changes_take_the_new_routes():
    """A switch's egress is chosen when a packet leaves the previous hop (so the engine
    can prefetch that port), but forwarding installed while the packet is on the wire
    must still decide: leaf 0's uplink to spine 0 is taken out of the tables 0.5 us into
    the run, while the first window is on the host-to-leaf wires, and no packet may
    cross it afterwards."""
    G = leaf_spine(2, 2, 2)
    built = build(G)
    net = built.net
    up = [p for p, (a, b, _) in enumerate(built.port_link) if a == "leaf0" and b == "spine0"]
    assert len(up) == 1
    exclude = np.zeros(len(built.port_link), dtype=bool)
    exclude[up[0]] = True
    is_host = np.array([net.host_of_node(i) >= 0 for i in range(len(built.node_names))])
    tables = forwarding_tables(built.graph, built.node_names, built.node_index, is_host,
                               built.host_names, built.port_link, exclude=exclude)
    crossed = []
    built.sim.schedule_at(500_000, lambda: (net.set_forwarding(*tables),
                                            crossed.append(int(net.port_counters()["tx_packets"][up[0]]))))
    flows = run_flows(built, [(0, 2), (1, 3)])
    assert all(f.finished for f in flows)
    # before the change leaf 0 had not forwarded anything yet (its first packets were
    # still on the 1 us host wires); after it, nothing may take the excluded uplink
    assert crossed == [0]
    assert net.port_counters()["tx_packets"][up[0]] == 0
