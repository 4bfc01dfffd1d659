"""Serialisation time: the last bit leaves after ceil(8 * size / rate) seconds, in ps.

At 100 Gb/s (80 ps per byte) rounding never matters; at 900 Gb/s one byte takes
8.888... ps, so floor and ceil differ for almost every size.  These tests pin the exact
picosecond at rates that do not divide 8e12 ps/byte.
"""
import networkx as nx
import pytest

from uesim.fabric import FabricConfig, RecordingSink, build_network, tx_time_ps

US = 1_000_000


def line(rate_bps, n_switches=1, delay_ps=US):
    G = nx.Graph()
    G.add_nodes_from(["gpu0", "gpu1"], kind="gpu", role="host")
    path = ["gpu0"] + [f"sw{i}" for i in range(n_switches)] + ["gpu1"]
    for i in range(n_switches):
        G.add_node(f"sw{i}", kind="switch", role="tor")
    for a, b in zip(path, path[1:]):
        G.add_edge(a, b, rate_bps=rate_bps, delay_ps=delay_ps, fabric="scale_out")
    return G


def arrivals(G, sizes, config=None):
    built = build_network(G, config=config)
    sink = RecordingSink()
    ep = built.net.add_endpoint(sink)
    for k, size in enumerate(sizes):
        built.net.inject(0, 1, size, ep, seq=k)
    built.sim.run()
    return [t for t, *_ in sink.log]


@pytest.mark.parametrize("size, rate, expected", [
    (1000, 900_000_000_000, 8889),     # 8888.89 -> 8889
    (1, 900_000_000_000, 9),           # 8.89 -> 9
    (4096, 400_000_000_000, 81920),    # exact: no rounding
    (1500, 3_000_000_000, 4_000_000),  # exact
    (1501, 3_000_000_000, 4_002_667),  # 4002666.67 -> 4002667
    (7, 7_000_000_000_000, 8),         # 8 exactly
    (1, 7_000_000_000_000, 2),         # 1.14 -> 2
])
def test_tx_time_helper_rounds_up(size, rate, expected):
    assert tx_time_ps(size, rate) == expected


@pytest.mark.parametrize("dequeue", [False, True])
@pytest.mark.parametrize("rate", [900_000_000_000, 3_000_000_000, 7_000_000_000_000, 333_000_000_000])
def test_one_packet_arrives_after_exact_rounded_up_serialisation(rate, dequeue):
    """Store and forward over two links: arrival = 2 * (ceil(tx) + delay)."""
    for size in (1, 999, 1000, 4096):
        got = arrivals(line(rate), [size], FabricConfig(dequeue_path=dequeue))
        assert got == [2 * (tx_time_ps(size, rate) + US)], (size, rate)
        assert tx_time_ps(size, rate) * rate >= size * 8 * 10**12   # never faster than the rate


def test_back_to_back_packets_at_900g_accumulate_rounded_times():
    """Ten 1000 B packets queued at the NIC: each takes 8889 ps, not 8888."""
    rate = 900_000_000_000
    got = arrivals(line(rate, n_switches=0), [1000] * 10)
    assert got == [(k + 1) * 8889 + US for k in range(10)]


def test_rate_change_to_a_non_dividing_rate_rounds_up():
    G = line(100_000_000_000, n_switches=0)
    built = build_network(G)
    sink = RecordingSink()
    ep = built.net.add_endpoint(sink)
    port = built.ports_between("gpu0", "gpu1")[0]
    built.net.set_port_rate(port, 900_000_000_000)
    built.net.inject(0, 1, 1000, ep)
    built.sim.run()
    assert [t for t, *_ in sink.log] == [8889 + US]
    assert built.net.port_counters()["rate_bps"][port] == 900_000_000_000
