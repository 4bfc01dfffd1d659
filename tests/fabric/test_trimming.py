"""UET trimming at one switch port, driven packet by packet.

Setup: gpu0 -> sw -> gpu1, 100 Gb/s, 1 us links; the switch port towards gpu1 trims.  A
burst of ``n`` data packets of 4150 B injected at once reaches the switch back to back
(the NIC serialises them), while the switch port drains at the same rate: the queue stays
one packet long.  So the tests make the switch port slower (10 Gb/s): the queue then grows
by about nine packets in ten, and which packets are cut follows from the buffer size.
"""
import networkx as nx

from uesim.fabric import FabricConfig, RecordingSink, build_network

US = 1_000_000
SIZE = 4150
PF_CE, PF_TRIMMED, PF_LAST_HOP = 2, 16, 64


def line(dst, fast=100_000_000_000, slow=10_000_000_000):
    """gpu0 - sw - gpu1 with the link to ``dst`` ten times slower."""
    G = nx.Graph()
    G.add_nodes_from(["gpu0", "gpu1"], kind="gpu", role="host")
    G.add_node("sw", kind="switch", role="tor")
    G.add_edge("gpu0", "sw", rate_bps=slow if dst == 0 else fast, delay_ps=US)
    G.add_edge("sw", "gpu1", rate_bps=slow if dst == 1 else fast, delay_ps=US)
    return G


def burst(n, *, buffer_packets, dst=1, ecn=False, tail_prob=0.0):
    """Inject n data packets from the other host to ``dst``; return the sink's log and port."""
    config = FabricConfig(buffer_bytes=buffer_packets * SIZE, trimming=True,
                          trim_tail_prob=tail_prob, seed=1,
                          **({"ecn_kmin_bytes": 0, "ecn_kmax_bytes": 1, "ecn_pmax": 1.0,
                              "ecn_at_dequeue": True} if ecn else {}))
    built = build_network(line(dst), config=config)
    sink = RecordingSink()
    ep = built.net.add_endpoint(sink)
    for k in range(n):
        built.net.inject(1 - dst, dst, SIZE, ep, seq=k, prio=1, ect=True)
    built.sim.run()
    port = built.ports_between("sw", f"gpu{dst}")[0]
    return sink.log, built.net.port_counters(), port


def test_the_packet_that_overflows_is_cut_to_a_header_served_first():
    log, counters, port = burst(12, buffer_packets=4)
    trimmed = [seq for _, _, seq, size, flags in log if flags & PF_TRIMMED]
    whole = [seq for _, _, seq, size, flags in log if not flags & PF_TRIMMED]
    # the port holds at most 4 data packets (the one in service included): while packets
    # arrive ten times faster than it sends, the 5th arrival finds it full; every later
    # one finds it full too until the first leaves (3.32 us, ten arrivals later)
    assert len(log) == 12 and counters["trims"][port] == len(trimmed)
    assert trimmed and min(trimmed) == 4
    assert all(size == 64 for _, _, _, size, flags in log if flags & PF_TRIMMED)
    assert all(size == SIZE for _, _, _, size, flags in log if not flags & PF_TRIMMED)
    # headers are served ahead of the data waiting: the first trimmed header arrives
    # before the second whole packet
    order = [seq for _, _, seq, _, _ in log]
    assert order.index(min(trimmed)) < order.index(whole[1])


def test_buffer_size_sets_which_packets_are_cut():
    # packets arrive every 0.332 us and leave every 3.32 us: with room for b packets,
    # packets 0 .. b-1 are held, b .. 9 find the port full, packet 10 arrives just after
    # the first one left (3.32 us + 0.332 us), and 11 finds it full again
    for b in (2, 4, 8):
        log = burst(12, buffer_packets=b)[0]
        assert sorted(s for _, _, s, _, f in log if f & PF_TRIMMED) == list(range(b, 10)) + [11], b


def test_a_cut_at_the_receivers_downlink_is_flagged_last_hop_for_every_host():
    for dst in (0, 1):                                 # host 0 too (node index 0)
        log, _, _ = burst(10, buffer_packets=3, dst=dst)
        trimmed = [flags for *_, flags in log if flags & PF_TRIMMED]
        assert trimmed and all(flags & PF_LAST_HOP for flags in trimmed), dst


def test_headers_are_never_ecn_marked_data_is():
    # kmin 0: every data packet leaving with data behind it is marked at dequeue
    log, counters, port = burst(12, buffer_packets=4, ecn=True)
    assert any(flags & PF_CE for *_, flags in log if not flags & PF_TRIMMED)
    assert not any(flags & PF_CE for *_, flags in log if flags & PF_TRIMMED)


def test_tail_trimming_cuts_a_queued_packet_instead():
    # always trim the newest queued packet: the arrivals that overflow go in whole
    log, _, _ = burst(12, buffer_packets=4, tail_prob=1.0)
    trimmed = sorted(seq for _, _, seq, _, flags in log if flags & PF_TRIMMED)
    assert trimmed and max(trimmed) < 11 and 11 in [s for _, _, s, _, f in log if not f & PF_TRIMMED]
