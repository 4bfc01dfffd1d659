"""Grouped forwarding tables give exactly the paths of the old dense tables, and scale.

``dense_reference.py`` is the routing code from before the tables were grouped by
destination attachment: one entry per (table, node, destination host).  Every entry of
the grouped tables must list the same ports in the same order, so that
``mix_hash(flow, entropy, salt) % count`` picks the same port.
"""
from __future__ import annotations

import random
import resource
from collections import deque

import numpy as np
import pytest

from uesim.fabric.routing import forwarding_tables
from uesim.topologies import (dragonfly, fail_links, fat_tree, hgx, hybrid, leaf_spine,
                              multi_plane, nvl72, rail_optimized, torus)

from dense_reference import dense_tables
from fabric_test_helpers import build, permutation, run_flows

GBPS100 = 100_000_000_000


def _odd_graph():
    """Not a valid topology, but build_network takes it: GPU-GPU links (one with two
    parallel cables), a GPU reachable only through another GPU, a GPU with no link at
    all, a GPU with three parallel links to its leaf, and a dual-homed GPU."""
    G = leaf_spine(3, 2, 3)
    gpus = [n for n, k in G.nodes(data="kind") if k == "gpu"]
    G.add_edge(gpus[0], gpus[1], rate_bps=GBPS100, delay_ps=1000)
    G.add_edge(gpus[0], gpus[4], rate_bps=GBPS100, delay_ps=1000, links=2)
    G.add_node("gpuX", kind="gpu", role="host")
    G.add_node("gpuY", kind="gpu", role="host")
    G.add_node("gpuZ", kind="gpu", role="host")
    G.add_edge("gpuX", "gpuY", rate_bps=GBPS100, delay_ps=1000)
    G.add_edge("gpuY", gpus[2], rate_bps=GBPS100, delay_ps=1000)
    G.edges[gpus[5], next(iter(G.adj[gpus[5]]))]["links"] = 3
    G.add_edge(gpus[6], "leaf0", rate_bps=GBPS100, delay_ps=1000, links=2)
    return G


CASES = {
    "leaf_spine": lambda: leaf_spine(4, 2, 4),
    "leaf_spine_parallel": lambda: leaf_spine(3, 2, 2, links_per_spine=2),
    "leaf_spine_wide": lambda: leaf_spine(2, 40, 2, links_per_spine=2),   # > 64 ports
    "fat_tree4": lambda: fat_tree(4),
    "fat_tree8": lambda: fat_tree(8),
    "fat_tree4_oversub": lambda: fat_tree(4, tor_oversubscription=2),
    "rail_optimized": lambda: rail_optimized(4, 4, 2, servers_per_leaf=2),
    "torus": lambda: torus((3, 2, 2), hosts_per_switch=2),
    "dragonfly": lambda: dragonfly(3, 2, 1, 2, "relative"),
    "multi_plane": lambda: multi_plane(fat_tree, planes=2, k=4),
    "multi_plane_leaf_spine": lambda: multi_plane(leaf_spine, planes=3, n_leaves=2,
                                                  n_spines=2, hosts_per_leaf=4),
    "failed_links": lambda: fail_links(fat_tree(8), count=20, seed=3),
    "failed_host_link": lambda: fail_links(fat_tree(4), edges=[("gpu0", "tor0")],
                                           allow_disconnect=True),
    "hgx_only": lambda: hgx(2),
    "hybrid": lambda: hybrid(hgx(2, gpus_per_server=4, n_nvswitches=2), leaf_spine(2, 2, 4)),
    "hybrid_rail": lambda: hybrid(nvl72(2, gpus_per_rack=8, n_switches=2),
                                  rail_optimized(2, 8, 2)),
    "hybrid_two_nics": lambda: hybrid(hgx(2), multi_plane(fat_tree, planes=2, k=4),
                                      nics_per_gpu=2),
    "hybrid_failed": lambda: fail_links(hybrid(hgx(2), fat_tree(4)), count=4, seed=1),
    "hybrid_failed_nvlinks": lambda: fail_links(
        hybrid(hgx(2, gpus_per_server=4, n_nvswitches=2), leaf_spine(2, 1, 4)),
        edges=[("gpu0", "nvswitch0"), ("gpu0", "nvswitch1")], allow_disconnect=True),
    "odd_graph": _odd_graph,
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_next_hops_equal_dense_reference(name):
    built = build(CASES[name]())
    net = built.net
    n_tables, offsets, ports = dense_tables(built)
    assert net.n_tables == n_tables
    n, h = len(built.node_names), built.n_hosts
    got = np.array([net.next_hops(v, d, t) == ports[offsets[(t * n + v) * h + d]:
                                                    offsets[(t * n + v) * h + d + 1]].tolist()
                    for t in range(n_tables) for v in range(n) for d in range(h)])
    assert got.all(), [(t, built.node_names[v], built.host_names[d])
                       for t, v, d in np.argwhere(~got.reshape(n_tables, n, h))[:5]]


M64 = (1 << 64) - 1


def _mix_hash(flow, entropy, salt):
    """splitmix64 over (flow, entropy, salt), as ``mix_hash`` in fabric/network.pyx."""
    x = (flow * 0x9E3779B97F4A7C15 + entropy * 0xC2B2AE3D27D4EB4F + salt) & M64
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & M64
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


@pytest.mark.parametrize("name", ["fat_tree8", "hybrid", "odd_graph"])
def test_pick_port_equals_dense_choice(name):
    built = build(CASES[name](), seed=1)
    net = built.net
    n_tables, offsets, ports = dense_tables(built)
    n, h = len(built.node_names), built.n_hosts
    rng = random.Random(7)
    for _ in range(3000):
        t, v, d = rng.randrange(n_tables), rng.randrange(n), rng.randrange(h)
        flow, entropy = rng.randrange(1 << 20), rng.randrange(1 << 32)
        want = ports[offsets[(t * n + v) * h + d]:offsets[(t * n + v) * h + d + 1]].tolist()
        salt = _mix_hash(v, 1, 0x5851F42D4C957F2D)          # per-node salt, seed 1
        expect = want[_mix_hash(flow, entropy, salt) % len(want)] if want else -1
        assert net.pick_port(v, d, flow, entropy, t) == expect


def test_odd_graph_exceptions():
    built = build(_odd_graph())
    net, idx = built.net, built.node_index
    g0, g1, g4 = idx["gpu0"], built.host_index("gpu1"), built.host_index("gpu4")
    direct1 = built.ports_between("gpu0", "gpu1")
    direct4 = built.ports_between("gpu0", "gpu4")
    assert len(direct4) == 2 and set(direct4) <= set(net.next_hops(g0, g4))
    assert set(direct1) <= set(net.next_hops(g0, g1))
    assert net.next_hops(idx["gpuX"], built.host_index("gpuY")) == \
        built.ports_between("gpuX", "gpuY")
    assert net.next_hops(g0, 0) == []                      # no route to itself
    assert net.next_hops(idx["gpuZ"], 0) == []             # an isolated GPU
    assert net.next_hops(idx["leaf0"], built.host_index("gpuZ")) == []


def test_groups_are_attachment_signatures():
    built = build(fat_tree(8))                    # 128 hosts under 32 ToRs
    assert built.net.n_groups == 32
    built = build(multi_plane(fat_tree, planes=2, k=4))
    assert built.net.n_groups == 8                # a host's ToR in each plane
    built = build(hybrid(hgx(2, gpus_per_server=4, n_nvswitches=2), leaf_spine(2, 2, 4)))
    assert built.net.n_groups == 2 + 2            # 2 leaves (table 0), 2 servers (table 1)


def test_traffic_on_grouped_tables():
    built = build(fat_tree(8))
    flows = run_flows(built, permutation(built.n_hosts, seed=3))
    assert all(f.finished for f in flows)
    assert built.net.unroutable == 0 and built.net.in_flight() == 0


def test_set_forwarding_rejects_bad_tables():
    built = build(fat_tree(4))
    net = built.net
    is_host = np.array([net.host_of_node(i) >= 0 for i in range(net.n_nodes)])
    good = forwarding_tables(built.graph, built.node_names, built.node_index, is_host,
                             built.host_names, built.port_link)
    net.set_forwarding(*good)
    bad = {
        "host_group": good.host_group[:-1],
        "node_rows": good.node_rows[:-1],
        "row_offsets": good.row_offsets[:-1],
        "row_ports": np.full_like(good.row_ports, net.n_ports),
        "override_offsets": good.override_offsets[:-1],
        "override_rows": good.override_rows + len(good.row_offsets),
    }
    for key, value in bad.items():
        with pytest.raises(ValueError):
            net.set_forwarding(*good._replace(**{key: value}))
    with pytest.raises(ValueError):
        net.set_forwarding(*good._replace(host_domains=[0] * 3))
    assert net.next_hops(0, 1) == build(fat_tree(4)).net.next_hops(0, 1)


def _bfs_next_hops(built, dst):
    """{node: sorted ports one hop closer to host ``dst``}, switches the only transit."""
    index = built.node_index
    target = built.net.node_of_host(dst)
    adj = [[] for _ in built.node_names]
    for p, (a, b, _) in enumerate(built.port_link):
        adj[index[a]].append((p, index[b]))
    is_host = [built.net.host_of_node(i) >= 0 for i in range(len(adj))]
    dist, queue = {target: 0}, deque([target])
    while queue:
        u = queue.popleft()
        if u != target and is_host[u]:
            continue
        for _, v in adj[u]:
            if v not in dist:
                dist[v] = dist[u] + 1
                queue.append(v)
    return {v: sorted(p for p, nb in adj[v] if nb in dist and dist[nb] == dist[v] - 1
                      and (not is_host[nb] or nb == target))
            for v in dist if v != target}


@pytest.mark.slow
def test_fat_tree32_builds_small_and_routes():
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    built = build(fat_tree(32))
    net, idx, k = built.net, built.node_index, 32
    assert built.n_hosts == 8192 and net.n_tables == 1
    assert net.n_groups == k * k // 2                       # one group per ToR
    # peak memory of the build stays far below the dense tables' n_nodes x n_hosts
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0 < 2 * 1024 * 1024
    gpu0 = idx["gpu0"]
    last = built.n_hosts - 1
    assert len(net.next_hops(gpu0, last)) == 1
    tor0, agg0 = idx["tor0"], idx["agg0"]
    assert len(net.next_hops(tor0, last)) == k // 2          # up to the pod's aggs
    assert len(net.next_hops(agg0, last)) == k // 2          # up to its cores
    assert net.next_hops(tor0, 1) == built.ports_between("tor0", built.host_names[1])
    # every node's entry towards sampled destinations equals a BFS from the destination
    rng = random.Random(1)
    for dst in [0, 1, 17, last] + rng.sample(range(built.n_hosts), 6):
        want = _bfs_next_hops(built, dst)
        for v in range(net.n_nodes):
            assert net.next_hops(v, dst) == want.get(v, []), (built.node_names[v], dst)
    # packets follow 6-link paths between pods, 2 under one ToR
    for src, dst, hops in [(0, last, 6), (0, 1, 2), (5, 4000, 6)]:
        node, n = net.node_of_host(src), 0
        while node != net.node_of_host(dst):
            port = net.pick_port(node, dst, src, 12345)
            assert port >= 0
            node = net.port_endpoints(port)[1]
            n += 1
        assert n == hops
