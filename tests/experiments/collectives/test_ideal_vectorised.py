"""The ideal's per-message terms in numpy are the row-by-row loop's, to the bit."""
import numpy as np
import pytest

from uesim.experiments.collectives.algorithms import compile_collective
from uesim.experiments.collectives.model import PathModel, ideal_times
from uesim.topologies import parse_topology_spec

MTU, HDR = 4096, 64


def graphs():
    G = parse_topology_spec("fat_tree:k=4")
    down = G.copy()
    u, v = next((u, v) for u, v in down.edges if "gpu" not in (down.nodes[u].get("kind"), down.nodes[v].get("kind")))
    down.edges[u, v]["up"] = False                       # a fabric link down: other paths
    return {"fat_tree": G, "link_down": down,
            "ls2to1": parse_topology_spec("leaf_spine:n_leaves=4,n_spines=2,hosts_per_leaf=4"),
            "rail": parse_topology_spec("rail_optimized:n_servers=4,gpus_per_server=4,n_spines=2")}


@pytest.mark.parametrize("name", ["fat_tree", "link_down", "ls2to1", "rail"])
def test_alpha_many_is_alpha_ps_for_every_pair(name):
    G = graphs()[name]
    pm = PathModel(G, mtu_bytes=MTU, header_bytes=HDR, switch_latency_ps=300_000)
    n = len(pm.hosts)
    a, b = np.array([(i, j) for i in range(n) for j in range(n) if i != j]).T
    for size in (1, 100, 4032, 65536):
        m = np.full(len(a), size)
        fresh = PathModel(G, mtu_bytes=MTU, header_bytes=HDR, switch_latency_ps=300_000)
        expected = [pm.alpha_ps(int(x), int(y), size) for x, y in zip(a, b)]
        assert fresh.alpha_many(a, b, m).tolist() == expected


def test_alpha_many_refuses_what_alpha_ps_refuses():
    G = parse_topology_spec("fat_tree:k=4")
    gpu = [n for n, k in G.nodes(data="kind") if k == "gpu"][3]
    for nbr in list(G.adj[gpu]):
        G.edges[gpu, nbr]["up"] = False                  # host 3 cut off
    pm = PathModel(G, mtu_bytes=MTU, header_bytes=HDR)
    with pytest.raises(ValueError, match="host 3 is not reachable from host 0"):
        pm.alpha_ps(0, 3, 100)
    with pytest.raises(ValueError, match="host 3 is not reachable from host 0"):
        pm.alpha_many([1, 0], [2, 3], [100, 100])


@pytest.mark.parametrize("name", ["fat_tree", "link_down", "ls2to1", "rail"])
@pytest.mark.parametrize("op, algo", [("all_to_all", "direct"), ("all_reduce", "ring"),
                                      ("all_reduce", "tree"), ("all_gather", "hd")])
@pytest.mark.parametrize("pinned", [False, True])
def test_the_numpy_terms_give_the_loops_ideal(name, op, algo, pinned):
    # a single-fabric graph told it is hybrid takes the row-by-row loop with the same
    # meaning (every link is scale-out): the oracle for the numpy path
    G = graphs()[name]
    c = compile_collective(op, list(range(16)), 3 << 20, algo)
    kw = dict(ack_bytes=64, ack_every_bytes=None if pinned else 16384, pinned=pinned)
    fast = ideal_times(c, PathModel(G, mtu_bytes=MTU, header_bytes=HDR), **kw)
    loop_pm = PathModel(G, mtu_bytes=MTU, header_bytes=HDR)
    loop_pm.hybrid = True
    loop = ideal_times(c, loop_pm, **kw)
    assert fast.keys() == loop.keys()
    for k in fast:
        assert np.array_equal(np.asarray(fast[k]), np.asarray(loop[k])), k
