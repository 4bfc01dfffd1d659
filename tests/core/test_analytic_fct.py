"""A single flow's completion time equals the store-and-forward formula, to the picosecond."""
import pytest

from uesim.fabric import FabricConfig, build_network, tx_time_ps
from uesim.protocols import CongestionControl, FixedEntropy, WindowFlow
from uesim.topologies import fat_tree

from conftest import line_graph

MTU, HDR, ACK = 4096, 64, 64
RATE, DELAY = 100_000_000_000, 1_000_000


def expected_fct(size, hops):
    """Window never limits; every link RATE and DELAY.

    Packet k leaves the NIC at k*T.  The last (possibly shorter, T_l) packet queues
    behind packet n-2 at every hop after the first, so its last bit reaches the
    receiver at (n-2+h)*T + T_l + h*d; its ACK then crosses h links unqueued.
    """
    per = MTU - HDR
    n = -(-size // per)
    T = tx_time_ps(MTU, RATE)
    T_l = tx_time_ps(HDR + size - (n - 1) * per, RATE)
    rx = (n - 2 + hops) * T + T_l + hops * DELAY if n > 1 else hops * (T_l + DELAY)
    return rx, rx + hops * (tx_time_ps(ACK, RATE) + DELAY)


def run_one(G, src, dst, size):
    built = build_network(G, config=FabricConfig(seed=3))
    f = WindowFlow(0, src, dst, size, 0, CongestionControl(1 << 40, MTU), FixedEntropy(7),
                   mtu_bytes=MTU, header_bytes=HDR, ack_bytes=ACK)
    f.attach(built.net)
    built.sim.run()
    assert f.finished
    return f


@pytest.mark.parametrize("size", [4032 * 10, 1_000_000, 4032 * 3 + 1, 100])
def test_two_hops(size):
    f = run_one(line_graph(1, RATE, DELAY), 0, 1, size)
    rx, end = expected_fct(size, 2)
    assert (f.rx_done_ps, f.fct_ps) == (rx, end)


@pytest.mark.parametrize("size", [4032 * 50, 2_000_000])
def test_six_hops_across_pods(size):
    G = fat_tree(4, rate_bps=RATE, delay_ps=DELAY)
    f = run_one(G, 0, 13, size)          # host 0 in pod 0, host 13 in pod 3: 6 links
    rx, end = expected_fct(size, 6)
    assert (f.rx_done_ps, f.fct_ps) == (rx, end)


def test_htsim_one_flow_shape():
    """htsim's one.cm (2 MB, 6 hops, 4150 B MTU) finishes at 176.2 us (README table);
    its data part matches the same formula with htsim's packet sizes."""
    per, n, hops = 4086, -(-2_000_000 // 4086), 6
    T = tx_time_ps(4150, RATE)
    T_l = tx_time_ps(64 + 2_000_000 - (n - 1) * per, RATE)
    rx = (n - 2 + hops) * T + T_l + hops * DELAY
    ack = hops * (tx_time_ps(64, RATE) + DELAY)
    assert abs((rx + ack) / 1e6 - 176.2) < 0.05
