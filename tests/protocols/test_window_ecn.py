"""WindowFlow's receiver echoes CE marks to the sender, which counts them and tells the CC.

A 100 Gb/s sender into a 50 Gb/s link through one switch builds a queue at the switch;
the switch marks every ECT packet that finds any bytes queued (kmin = 0, kmax = 1).
"""
import networkx as nx

from uesim.fabric import FabricConfig, build_network
from uesim.protocols import CongestionControl, FixedEntropy, WindowFlow

US = 1_000_000


class Recorder(CongestionControl):
    def __init__(self, cwnd_bytes, mtu_bytes=4096):
        super().__init__(cwnd_bytes, mtu_bytes)
        self.acks = []

    def on_ack(self, ctx):
        self.acks.append((ctx.acked_payload, bool(ctx.ecn)))


def bottleneck(slow_bps=50_000_000_000):
    G = nx.Graph()
    G.add_nodes_from(["gpu0", "gpu1"], kind="gpu", role="host")
    G.add_node("sw", kind="switch", role="tor")
    G.add_edge("gpu0", "sw", rate_bps=100_000_000_000, delay_ps=US)
    G.add_edge("sw", "gpu1", rate_bps=slow_bps, delay_ps=US)
    return G


def run(kmin, kmax, pmax=0.0, size=40 * 4032, cwnd=64 * 1024):
    built = build_network(bottleneck(), config=FabricConfig(
        ecn_kmin_bytes=kmin, ecn_kmax_bytes=kmax, ecn_pmax=pmax))
    cc = Recorder(cwnd)
    f = WindowFlow(0, 0, 1, size, 0, cc, FixedEntropy(1)).attach(built.net)
    built.sim.run()
    marks = int(built.net.port_counters()["ecn_marks"].sum())
    return f, cc, marks


def test_every_mark_is_echoed_once():
    f, cc, marks = run(0, 1)
    assert f.finished and f.retx_packets == 0
    # the first packet finds an empty queue; every later one finds the previous ones
    assert marks == f.n_packets - 1 == 39
    assert f.ecn_echoes == marks
    assert len(cc.acks) == f.n_packets
    assert [e for _, e in cc.acks] == [False] + [True] * (f.n_packets - 1)


def test_no_marks_no_echoes():
    f, cc, marks = run(10**9, 10**9)
    assert f.finished and marks == 0 and f.ecn_echoes == 0
    assert not any(e for _, e in cc.acks)


def test_acks_do_not_echo_without_ce_and_acked_bytes_are_payload():
    f, cc, marks = run(0, 1, size=3 * 4032 + 100)
    assert [b for b, _ in cc.acks] == [4032, 4032, 4032, 100]
    assert f.ecn_echoes == marks == 3
