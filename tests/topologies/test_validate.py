"""validate_topology on good and broken graphs: one clear message per problem."""

import time

import networkx as nx
import pytest

from uesim.topologies import (
    GENERATORS,
    TopologyError,
    fat_tree,
    leaf_spine,
    validate_topology,
)


def small():
    return leaf_spine(2, 2, 2)


def test_generators_validate():
    for name, spec in [
        ("leaf_spine", {"n_leaves": 3, "n_spines": 2, "hosts_per_leaf": 3}),
        ("fat_tree", {"k": 4}),
        ("rail_optimized", {"n_servers": 2, "gpus_per_server": 4, "n_spines": 2}),
        ("dragonfly", {"groups": 5, "routers_per_group": 2, "hosts_per_router": 2,
                       "global_links_per_router": 2}),
        ("torus", {"dims": (3, 3)}),
        ("hgx", {}),
        ("nvl72", {}),
        ("scaleup_switch_domain", {"n_accelerators": 4, "n_switches": 2}),
        ("multi_plane", {"builder_or_graph": "fat_tree", "k": 4}),
    ]:
        assert validate_topology(GENERATORS[name](**spec)) is None, name
    assert set(GENERATORS) == {
        "leaf_spine", "fat_tree", "rail_optimized", "dragonfly", "torus", "hgx", "nvl72",
        "scaleup_switch_domain", "multi_plane"}


def test_validate_is_fast():
    G = fat_tree(16)
    validate_topology(G)
    start = time.perf_counter()
    validate_topology(G)
    assert time.perf_counter() - start < 0.1


def test_error_is_a_value_error():
    assert issubclass(TopologyError, ValueError)


def broken(mutate):
    G = small()
    mutate(G)
    return G


@pytest.mark.parametrize(
    "mutate,message",
    [
        (lambda G: G.edges["gpu0", "leaf0"].pop("rate_bps"),
         "edge ('gpu0', 'leaf0'): missing attribute 'rate_bps'"),
        (lambda G: G.edges["leaf1", "spine0"].update(rate_bps=0),
         "edge ('leaf1', 'spine0'): rate_bps must be > 0, got 0"),
        (lambda G: G.edges["leaf1", "spine0"].update(rate_bps=-3),
         "rate_bps must be > 0, got -3"),
        (lambda G: G.edges["leaf1", "spine0"].update(rate_bps=1e11),
         "attribute 'rate_bps' must be an int (bits/s > 0), got 100000000000.0"),
        (lambda G: G.edges["leaf1", "spine0"].update(delay_ps=-1),
         "delay_ps must be >= 0, got -1"),
        (lambda G: G.edges["leaf1", "spine0"].pop("delay_ps"),
         "missing attribute 'delay_ps'"),
        (lambda G: G.edges["leaf1", "spine0"].update(fabric="nvlink"),
         "unknown fabric 'nvlink' (allowed: scale_up, scale_out)"),
        (lambda G: G.edges["leaf1", "spine0"].pop("fabric"),
         "edge ('leaf1', 'spine0'): missing attribute 'fabric'"),
        (lambda G: G.edges["leaf1", "spine0"].update(links=0),
         "attribute 'links' must be an int >= 1, got 0"),
        (lambda G: G.edges["leaf1", "spine0"].update(up="yes"),
         "attribute 'up' must be a bool, got 'yes'"),
        (lambda G: G.nodes["spine1"].update(role="router"),
         "node 'spine1': unknown role 'router' for kind 'switch' (allowed: tor, leaf, agg, spine, core, nvswitch)"),
        (lambda G: G.nodes["gpu1"].update(role="tor"),
         "node 'gpu1': unknown role 'tor' for kind 'gpu' (allowed: host)"),
        (lambda G: G.nodes["spine1"].pop("role"),
         "node 'spine1': missing attribute 'role'"),
        (lambda G: G.nodes["leaf0"].pop("kind"),
         "node 'leaf0': missing attribute 'kind' (allowed: gpu, switch)"),
        (lambda G: G.nodes["leaf0"].update(kind="router"),
         "node 'leaf0': unknown kind 'router' (allowed: gpu, switch)"),
        (lambda G: G.nodes["leaf0"].update(pod="1"),
         "node 'leaf0': attribute 'pod' must be an int, got '1'"),
        (lambda G: G.add_edge("gpu0", "gpu3", rate_bps=1, delay_ps=0, fabric="scale_out"),
         "edge ('gpu0', 'gpu3'): gpu-gpu edge"),
        (lambda G: (G.remove_edge("gpu2", "leaf1"),),
         "node 'gpu2': gpu has no switch neighbour"),
        (lambda G: G.edges["gpu2", "leaf1"].update(up=False),
         "node 'gpu2': gpu has no switch neighbour over a working link"),
        (lambda G: G.add_node("spine9", kind="switch", role="spine"),
         "graph is disconnected: node 'spine9' is in a different component from 'gpu0'"),
        (lambda G: [G.edges["leaf1", s].update(up=False) for s in ("spine0", "spine1")],
         "host 'gpu0' has no path to host 'gpu2' through switches"),
        (lambda G: nx.relabel_nodes(G, {"gpu1": "host1"}, copy=False),
         "host number 1 (order of gpu nodes in G.nodes) must be named 'gpu1'"),
    ],
)
def test_broken_graphs(mutate, message):
    G = broken(mutate)
    with pytest.raises(TopologyError) as info:
        validate_topology(G)
    assert message in str(info.value)


def test_gpu_is_not_transit():
    # gpu1 bridges two switches: gpu0 and gpu2 can only meet through a GPU
    G = nx.Graph(name="custom")
    for i in range(3):
        G.add_node(f"gpu{i}", kind="gpu", role="host")
    G.add_node("tor0", kind="switch", role="tor")
    G.add_node("tor1", kind="switch", role="tor")
    attrs = {"rate_bps": 10, "delay_ps": 0, "fabric": "scale_out"}
    G.add_edge("gpu0", "tor0", **attrs)
    G.add_edge("gpu1", "tor0", **attrs)
    G.add_edge("gpu1", "tor1", **attrs)
    G.add_edge("gpu2", "tor1", **attrs)
    with pytest.raises(TopologyError, match="host 'gpu0' has no path to host 'gpu2' through switches"):
        validate_topology(G)


def test_no_hosts_and_wrong_graph_types():
    with pytest.raises(TopologyError, match="no node with kind 'gpu'"):
        validate_topology(nx.Graph())
    with pytest.raises(TopologyError, match="undirected simple nx.Graph"):
        validate_topology(nx.DiGraph(small()))
    with pytest.raises(TopologyError, match="must be a networkx.Graph"):
        validate_topology({"gpu0": {}})
