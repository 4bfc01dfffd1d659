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


def test_queue_bytes_counts_packets_until_their_last_bit_left():
    built = build_network(pair())
    sink = RecordingSink()
    ep = built.net.add_endpoint(sink)
    port = built.ports_between("gpu0", "sw")[0]
    built.net.inject(0, 1, 1000, ep)
    built.net.inject(0, 1, 1000, ep)
    seen = {}
    for t in (0, 79_999, 80_000, 159_999, 160_000):
        built.sim.schedule_at(t, lambda t=t: seen.__setitem__(t, built.net.queue_bytes(port)))
    built.sim.run()
    assert seen == {0: 2000, 79_999: 2000, 80_000: 1000, 159_999: 1000, 160_000: 0}


def test_a_packet_reaching_the_wrong_host_is_dropped_as_unroutable():
    """Hosts never forward.  A (deliberately wrong) table sends traffic for host 0 back to
    host 1: it must be dropped there and counted, not handed to an endpoint."""
    from uesim.fabric import Network
    sim = Simulator()
    net = Network(sim, 3, 2)                  # nodes: 0 gpu0, 1 gpu1, 2 switch
    net.set_host(0, 0)
    net.set_host(1, 1)
    p0 = net.add_port(0, 2, 100_000_000_000, US, 10**6)
    p1 = net.add_port(2, 0, 100_000_000_000, US, 10**6)
    p2 = net.add_port(1, 2, 100_000_000_000, US, 10**6)
    p3 = net.add_port(2, 1, 100_000_000_000, US, 10**6)
    # one group per host; rows: 0 = [p0], 1 = [p2], 2 = [p3], 3 = [] (a host to itself).
    # gpu0 -> 1 takes p0, gpu1 -> 0 takes p2, the switch sends both groups down p3:
    # right for host 1, wrong for host 0
    net.set_forwarding([0, 1], [3, 0, 1, 3, 2, 2], [0, 1, 2, 3, 3], [p0, p2, p3],
                       [0, 0, 0], [], [])
    sink = RecordingSink()
    ep = net.add_endpoint(sink)
    net.inject(1, 0, 1000, ep)
    sim.run()
    assert sink.log == [] and sim.now == 2 * (80_000 + US)
    net.inject(0, 1, 1000, ep)
    sim.run()
    assert [t for t, *_ in sink.log] == [4 * (80_000 + US)]        # only the 0 -> 1 packet
    assert (net.unroutable, net.dropped, net.delivered, net.live_packets) == (1, 1, 1, 0)
    assert net.port_counters()["tx_packets"][p1] == 0
