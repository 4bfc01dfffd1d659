"""hybrid and multi_plane."""

import pytest

from uesim.topologies import (
    bisection_bandwidth,
    describe_topology,
    fat_tree,
    hgx,
    hybrid,
    leaf_spine,
    multi_plane,
    rail_optimized,
    validate_topology,
)

G100 = 100_000_000_000


def test_hybrid_hgx_fat_tree(check_schema):
    G = hybrid(hgx(2), fat_tree(4))
    validate_topology(G)
    assert check_schema(G) == 16
    assert list(G)[:16] == [f"gpu{i}" for i in range(16)]
    for i in range(16):
        fabrics = sorted(d["fabric"] for d in G.adj[f"gpu{i}"].values())
        assert fabrics == ["scale_out"] + ["scale_up"] * 4
        assert G.nodes[f"gpu{i}"]["scaleup_domain"] == i // 8
        assert G.nodes[f"gpu{i}"]["pod"] == i // 4
    assert G.graph["name"] == "hybrid"
    assert G.graph["scale_up"] == "hgx" and G.graph["scale_out"] == "fat_tree"
    assert G.graph["scale_out.k"] == 4 and G.graph["scale_up.n_servers"] == 2
    # scale-out bisection is unchanged: GPUs 0-7 and 8-15 are different servers
    assert bisection_bandwidth(G, fabric="scale_out") == 8 * G100
    assert bisection_bandwidth(G) == 8 * G100
    assert describe_topology(G)["links_by_fabric"] == {"scale_out": 48, "scale_up": 64}


def test_hybrid_rail_optimized_shares_server_numbering():
    G = hybrid(hgx(4), rail_optimized(4, 8, 2))
    validate_topology(G)
    assert G.nodes["gpu9"]["server"] == 1 and G.nodes["gpu9"]["rail"] == 1


def test_hybrid_accepts_spec_strings():
    G = hybrid("hgx:n_servers=2", "leaf_spine:n_leaves=2,n_spines=2,hosts_per_leaf=8")
    validate_topology(G)
    H = hybrid(hgx(2), leaf_spine(2, 2, 8))
    assert list(G.nodes) == list(H.nodes)
    assert dict(G.nodes(data=True)) == dict(H.nodes(data=True))
    assert sorted(G.edges(data=True)) == sorted(H.edges(data=True))
    roles = sorted(d["role"] for _, d in G.nodes(data=True))
    assert roles == ["host"] * 16 + ["leaf"] * 2 + ["nvswitch"] * 8 + ["spine"] * 2


def test_hybrid_errors():
    with pytest.raises(ValueError, match="scale_up has 8 GPUs but scale_out has 16"):
        hybrid(hgx(1), fat_tree(4))
    with pytest.raises(ValueError, match="scale_out: every edge must have fabric='scale_out'"):
        hybrid(hgx(1), hgx(1))
    with pytest.raises(ValueError, match="nics_per_gpu=2 but gpu0 has 1 scale-out link"):
        hybrid(hgx(2), fat_tree(4), nics_per_gpu=2)
    with pytest.raises(ValueError, match="gpu4: attribute 'server' is 0 in scale_up but 1 in scale_out"):
        hybrid(hgx(2, 8), rail_optimized(4, 4, 1))


def test_multi_plane(check_schema):
    G = multi_plane(fat_tree, planes=3, k=4)
    validate_topology(G)
    assert check_schema(G) == 16
    for i in range(16):
        assert sorted(G[f"gpu{i}"]) == [f"p{p}.tor{i // 2}" for p in range(3)]
    assert G.nodes["p2.agg5"] == {"kind": "switch", "role": "agg", "pod": 2, "plane": 2}
    assert G.has_edge("p1.agg1", "p1.core3") and not G.has_edge("p1.agg1", "p0.core3")
    assert G.graph["planes"] == 3 and G.graph["base"] == "fat_tree"
    assert bisection_bandwidth(G) == 3 * bisection_bandwidth(fat_tree(4))
    H = hybrid(hgx(2), G, nics_per_gpu=3)
    validate_topology(H)


def test_multi_plane_from_graph_and_name():
    base = leaf_spine(2, 2, 4, links_per_spine=2)
    G = multi_plane(base, planes=2)
    assert G.edges["p1.leaf0", "p1.spine1"]["links"] == 2
    assert G.graph["base.links_per_spine"] == 2
    G2 = multi_plane("leaf_spine", planes=2, n_leaves=2, n_spines=2, hosts_per_leaf=4,
                     links_per_spine=2)
    assert list(G2.nodes(data=True)) == list(G.nodes(data=True))
    with pytest.raises(ValueError, match="unknown parameter 'kk' for base generator 'fat_tree'"):
        multi_plane(fat_tree, kk=4)
    with pytest.raises(ValueError, match="every edge must have fabric='scale_out'"):
        multi_plane(hgx(1))
    with pytest.raises(ValueError, match="planes must be an int >= 1, got 0"):
        multi_plane(base, planes=0)
