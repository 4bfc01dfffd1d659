"""Port up/down and timer cancellation, value by value."""
import networkx as nx
import pytest

from uesim.fabric import RecordingSink, Simulator, Timer, build_network

US = 1_000_000


def pair():
    G = nx.Graph()
    G.add_nodes_from(["gpu0", "gpu1"], kind="gpu", role="host")
    G.add_node("sw", kind="switch", role="tor")
    G.add_edge("gpu0", "sw", rate_bps=100_000_000_000, delay_ps=US)
    G.add_edge("sw", "gpu1", rate_bps=100_000_000_000, delay_ps=US)
    return G


def test_a_down_port_drops_and_counts_and_an_up_one_forwards():
    built = build_network(pair())
    sink = RecordingSink()
    ep = built.net.add_endpoint(sink)
    port = built.ports_between("sw", "gpu1")[0]
    built.net.set_port_up(port, False)
    for k in range(3):
        built.net.inject(0, 1, 1000, ep, seq=k)
    built.sim.run()
    c = built.net.port_counters()
    assert sink.log == [] and c["up"][port] == 0
    assert (c["drops"][port], c["drop_bytes"][port], c["tx_packets"][port]) == (3, 3000, 0)
    assert built.net.dropped == 3 and built.net.delivered == 0 and built.net.live_packets == 0
    built.net.set_port_up(port, True)
    built.net.inject(0, 1, 1000, ep, seq=9)
    built.sim.run()
    assert [seq for _, _, seq, _, _ in sink.log] == [9]
    c = built.net.port_counters()
    assert (c["up"][port], c["drops"][port], c["tx_packets"][port]) == (1, 3, 1)
    assert built.net.delivered == 1 and built.net.sent == 4


def test_cancelled_timer_never_fires():
    sim = Simulator()
    hits = []
    t = Timer(sim, lambda: hits.append(sim.now))
    t.set(100)
    assert t.armed and t.expiry == 100
    t.cancel()
    assert not t.armed and t.expiry == -1
    sim.run()
    assert hits == [] and sim.now == 100
    t.set(500)
    sim.run()
    assert hits == [500] and not t.armed


def test_timer_cancelled_from_an_event_before_expiry():
    sim = Simulator()
    hits = []
    t = Timer(sim, lambda: hits.append(sim.now))
    t.set(1_000)
    sim.schedule_at(999, t.cancel)
    sim.run()
    assert hits == []


@pytest.mark.parametrize("src, dst", [(0, 1), (1, 0)])
def test_switch_latency_is_added_at_switches_only(src, dst):
    """Host NICs (host 0's included) forward at once; the switch waits switch_latency_ps."""
    from uesim.fabric import FabricConfig
    built = build_network(pair(), config=FabricConfig(switch_latency_ps=700))
    sink = RecordingSink()
    ep = built.net.add_endpoint(sink)
    built.net.inject(src, dst, 1000, ep)
    built.sim.run()
    assert [t for t, *_ in sink.log] == [2 * (80_000 + US) + 700]
