import networkx as nx
import pytest

from uesim.fabric import Simulator

GBPS100 = 100_000_000_000
US = 1_000_000


@pytest.fixture
def sim():
    return Simulator(seed=1)


def line_graph(n_switches=1, rate_bps=GBPS100, delay_ps=US):
    """gpu0 - sw0 - ... - sw{n-1} - gpu1: a path of n_switches + 1 links."""
    G = nx.Graph(name="line")
    G.add_nodes_from(["gpu0", "gpu1"], kind="gpu", role="host")
    path = ["gpu0"] + [f"sw{i}" for i in range(n_switches)] + ["gpu1"]
    for i in range(n_switches):
        G.add_node(f"sw{i}", kind="switch", role="tor")
    for a, b in zip(path, path[1:]):
        G.add_edge(a, b, rate_bps=rate_bps, delay_ps=delay_ps, fabric="scale_out")
    return G


@pytest.fixture
def two_hop_graph():
    return line_graph(1)
