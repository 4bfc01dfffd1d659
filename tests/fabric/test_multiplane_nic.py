"""A host with several scale-out ports (multi-plane) sprays over all of them at the
aggregate rate, each port paced on its own."""
import pytest

from uesim.fabric import FabricConfig, build_network
from uesim.protocols import CongestionControl, ObliviousSpray
from uesim.protocols.uet import UetFlow
from uesim.topologies import leaf_spine, multi_plane

RATE = 100_000_000_000


def one_flow(planes):
    G = multi_plane(leaf_spine, planes=planes, n_leaves=2, n_spines=2, hosts_per_leaf=2,
                    host_rate_bps=RATE, fabric_rate_bps=RATE, delay_ps=1_000_000)
    built = build_network(G, config=FabricConfig(buffer_bytes=1 << 24, trimming=True))
    f = UetFlow(0, 0, 3, 4_000_000, 0, CongestionControl(1 << 22, 4150), ObliviousSpray(1, 64),
                mtu_bytes=4150).attach(built.net, base_rtt_ps=10_000_000)
    built.sim.run()
    src = built.node_index["gpu0"]
    counters = built.net.port_counters()
    mine = [p for p, (u, v, _) in enumerate(built.port_link) if u == "gpu0"]
    return f, [int(counters["tx_bytes"][p]) for p in mine], \
        max(int(counters["max_queue_bytes"][p]) for p in mine)


def test_two_planes_double_the_rate():
    one, sent1, _ = one_flow(1)
    two, sent2, nic_max_queue = one_flow(2)
    assert one.finished and two.finished
    assert len(sent1) == 1 and len(sent2) == 2
    # serialisation dominates (4 MB at 100 Gb/s is 320 us; the RTT is a few us)
    assert two.fct_ps / one.fct_ps == pytest.approx(0.5, abs=0.03)
    # each NIC port carried about half of the data, and a packet never waited at a busy
    # port while another was free: no NIC port ever held more than the packet it sent
    assert min(sent2) / max(sent2) > 0.95
    assert nic_max_queue == 4150
