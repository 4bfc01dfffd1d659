"""WindowFlow's loss recovery, timed to the picosecond on a two-link path.

gpu0 -> sw -> gpu1, 100 Gb/s, 1 us per link; one 4096 B data packet takes
T = 327,680 ps to serialise, an ACK (64 B) 5,120 ps.  Data reaches the receiver
2 (T + 1 us) after it leaves; the ACK is back 2 (5,120 + 1 us) later.
"""
import networkx as nx

from uesim.fabric import build_network
from uesim.protocols import CongestionControl, FixedEntropy, WindowFlow

US = 1_000_000
T, TA = 327_680, 5_120
ONE_WAY, BACK = 2 * (T + US), 2 * (TA + US)


def pair():
    G = nx.Graph()
    G.add_nodes_from(["gpu0", "gpu1"], kind="gpu", role="host")
    G.add_node("sw", kind="switch", role="tor")
    G.add_edge("gpu0", "sw", rate_bps=100_000_000_000, delay_ps=US)
    G.add_edge("sw", "gpu1", rate_bps=100_000_000_000, delay_ps=US)
    return G


class Log(CongestionControl):
    def __init__(self, cwnd_bytes, mtu_bytes=4096):
        super().__init__(cwnd_bytes, mtu_bytes)
        self.timeouts = []

    def on_timeout(self, ctx):
        self.timeouts.append((ctx.now_ps, ctx.lost_bytes))


def one_packet_flow(rto_ps, down_until_ps=None):
    built = build_network(pair())
    cc = Log(1 << 20)
    f = WindowFlow(0, 0, 1, 4032, 0, cc, FixedEntropy(1), rto_ps=rto_ps).attach(built.net)
    if down_until_ps is not None:
        port = built.ports_between("sw", "gpu1")[0]
        built.net.set_port_up(port, False)
        built.sim.schedule_at(down_until_ps, built.net.set_port_up, port, True)
    built.sim.run()
    return f, cc, built


def test_timeouts_back_off_exponentially_and_karn_skips_retransmitted_samples():
    """The link is down for 100 us; rto 10 us.  Timeouts at 10, 30 (10 + 20), 70 (30 + 40)
    and 150 (70 + 80) us: the fourth retransmission (sent at 150 us) gets through."""
    f, cc, built = one_packet_flow(10 * US, down_until_ps=100 * US)
    assert [t for t, _ in cc.timeouts] == [10 * US, 30 * US, 70 * US, 150 * US]
    assert all(b == 4096 for _, b in cc.timeouts)
    assert (f.timeouts, f.retx_packets, f.sent_packets) == (4, 4, 5)
    assert f.rx_done_ps == 150 * US + ONE_WAY
    assert f.end_ps == 150 * US + ONE_WAY + BACK and f.finished
    # Karn: the only ACK is for a retransmission, so there is no RTT sample and the
    # timeout stays backed off (10 -> 20 -> 40 -> 80 -> 160 us)
    assert f.srtt_ps == 0 and f.rto_now_ps == 160 * US
    assert built.net.dropped == 4 and built.net.delivered == 2


def test_backoff_is_capped_at_64_times_rto():
    f, cc, _ = one_packet_flow(1 * US, down_until_ps=500 * US)
    gaps = [b - a for (a, _), (b, _) in zip(cc.timeouts, cc.timeouts[1:])]
    assert gaps[:7] == [2 * US, 4 * US, 8 * US, 16 * US, 32 * US, 64 * US, 64 * US]
    assert all(g == 64 * US for g in gaps[6:])
    assert f.finished and f.rto_now_ps == 64 * US


def test_spurious_retransmissions_arrive_as_duplicates():
    """rto 1.5 us is shorter than the 4.66 us RTT: the packet is declared lost at 1.5 us
    and 4.5 us (1.5 + 3) and resent; the first ACK (of the original) arrives at
    ONE_WAY + BACK; both copies then reach the receiver as duplicates."""
    f, cc, built = one_packet_flow(1_500_000)
    assert [t for t, _ in cc.timeouts] == [1_500_000, 4_500_000]
    assert (f.timeouts, f.retx_packets, f.sent_packets) == (2, 2, 3)
    assert f.end_ps == ONE_WAY + BACK and f.rx_done_ps == ONE_WAY
    assert f.dup_packets == 2 and f.rx_packets == 1
    assert built.net.delivered == 6 and built.net.dropped == 0     # 3 data + 3 ACKs
