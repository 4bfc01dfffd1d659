"""describe_topology, bisection_bandwidth and parse_topology_spec."""

import pytest

from uesim.topologies import (
    GENERATORS,
    bisection_bandwidth,
    describe_topology,
    fat_tree,
    hgx,
    hybrid,
    leaf_spine,
    parse_topology_spec,
    parse_value,
    write_graphml,
    write_json,
)

G100 = 100_000_000_000


def test_describe_fat_tree_k8():
    d = describe_topology(fat_tree(8))
    assert d["name"] == "fat_tree"
    assert d["n_hosts"] == 128 and d["n_switches"] == 80
    assert d["counts_by_role"] == {"host": 128, "tor": 32, "agg": 32, "core": 16}
    assert d["links_by_rate"] == {G100: 384}
    assert d["links_by_fabric"] == {"scale_out": 384}
    assert d["failed_links"] == 0
    assert d["diameter"] == 6
    assert d["bisection_bandwidth_bps"] == 64 * G100
    assert d["oversubscription"] == {"tor": 1.0, "agg": 1.0, "core": None}
    # same ToR: 1 path; same pod: k/2 paths; other pod: (k/2)^2 paths
    assert d["path_diversity"]["max"] == 16
    assert d["path_diversity"]["min"] >= 1 and d["path_diversity"]["pairs"] == 32


def test_describe_counts_parallel_links_and_is_deterministic():
    G = leaf_spine(2, 3, 4, links_per_spine=2, host_rate_bps=400_000_000_000)
    d = describe_topology(G)
    assert d["links_by_rate"] == {G100: 12, 400_000_000_000: 8}
    assert d == describe_topology(G)
    assert d["oversubscription"]["leaf"] == pytest.approx(16 / 6)


def test_describe_hybrid_by_fabric():
    G = hybrid(hgx(2), fat_tree(4))
    d = describe_topology(G)
    assert d["counts_by_role"]["nvswitch"] == 8
    assert d["links_by_fabric"] == {"scale_out": 48, "scale_up": 64}
    assert bisection_bandwidth(G, fabric="scale_up") == 0  # no scale-up path between servers
    assert bisection_bandwidth(hgx(), fabric="scale_up") == 4 * 3_600_000_000_000


def test_parse_value():
    assert parse_value("8") == 8 and type(parse_value("8")) is int
    assert parse_value("-3") == -3
    assert parse_value("100_000_000_000") == G100
    assert parse_value("1e11") == G100 and type(parse_value("1e11")) is int
    assert parse_value("2.5") == 2.5
    assert parse_value("True") is True and parse_value("false") is False
    assert parse_value("absolute") == "absolute"


@pytest.mark.parametrize(
    "spec,name,n_hosts",
    [("fat_tree:k=8", "fat_tree", 128),
     ("leaf_spine:n_leaves=4,n_spines=2,hosts_per_leaf=4", "leaf_spine", 16),
     (" leaf_spine : n_leaves = 2 , n_spines=1, hosts_per_leaf=2, host_rate_bps=400e9 ", "leaf_spine", 4),
     ("fat_tree:k=4,tor_oversubscription=1.5", "fat_tree", 24),
     ("torus:dims=4x4,hosts_per_switch=2", "torus", 32),
     ("dragonfly:groups=9,routers_per_group=4,hosts_per_router=2,global_links_per_router=2,arrangement=relative", "dragonfly", 72),
     ("hgx", "hgx", 8),
     ("nvl72:n_racks=1", "nvl72", 72),
     ("scaleup_switch_domain:n_accelerators=16,n_switches=4", "scaleup_switch_domain", 16),
     ("rail_optimized:n_servers=4,gpus_per_server=8,n_spines=2", "rail_optimized", 32),
     ("multi_plane:base=fat_tree,planes=2,k=4", "multi_plane", 16)],
)
def test_parse_topology_spec(spec, name, n_hosts):
    G = parse_topology_spec(spec)
    assert G.graph["name"] == name
    assert sum(1 for _, k in G.nodes(data="kind") if k == "gpu") == n_hosts


def test_parse_topology_spec_files(tmp_path):
    G = fat_tree(4)
    write_graphml(G, tmp_path / "ft.graphml")
    write_json(G, tmp_path / "ft.json")
    for path in (tmp_path / "ft.graphml", tmp_path / "ft.json"):
        H = parse_topology_spec(str(path))
        assert list(H.nodes(data=True)) == list(G.nodes(data=True))


@pytest.mark.parametrize(
    "spec,match",
    [("fat_trees:k=4", "unknown topology generator 'fat_trees'; allowed: leaf_spine, fat_tree,"),
     ("fat_tree:k=4,radix=3", "unknown parameter 'radix' for fat_tree; allowed: k, rate_bps"),
     ("fat_tree:k=4,k=6", "parameter 'k' given twice"),
     ("fat_tree:k", "expected key=value, got 'k'"),
     ("fat_tree", "missing required parameter\\(s\\) k"),
     ("fat_tree:k=5", "k must be an even int >= 2, got 5"),
     ("fat_tree:k=4,rate_bps=1.5", "rate_bps must be an int"),
     ("multi_plane:planes=2", "multi_plane spec needs base=<generator>"),
     ("multi_plane:base=fat_tree,k=4,n_leaves=2", "unknown parameter 'n_leaves' for base generator 'fat_tree'"),
     ("", "non-empty string")],
)
def test_parse_topology_spec_errors(spec, match):
    with pytest.raises(ValueError, match=match):
        parse_topology_spec(spec)


def test_registry_names_match_functions():
    for name, fn in GENERATORS.items():
        assert fn.__name__ == name
        assert fn.__doc__ and "Examples" in fn.__doc__
