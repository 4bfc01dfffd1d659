"""The compiled engine and the pure-Python reference model agree exactly."""
import random

import pytest

from uesim.experiments.run import derive_seed
from uesim.fabric import FabricConfig, build_network
from uesim.protocols import CongestionControl, ObliviousSpray, WindowFlow
from uesim.topologies import leaf_spine

from refmodel import RefFlow, RefModel, oblivious_values

MTU, HDR, ACK, CWND = 4096, 64, 64, 8 * 4096


def contended_scenario(seed):
    """16 hosts on 4 leaves x 2 spines (2:1 oversubscribed): a permutation plus a
    4:1 incast, with per-link delays and start times spread so that no two packets
    reach one queue at the same picosecond (tie order is an engine detail)."""
    G = leaf_spine(4, 2, 4)
    for i, (u, v) in enumerate(sorted(G.edges)):
        G.edges[u, v]["delay_ps"] = 1_000_000 + 7_919 * i
    rng = random.Random(seed)
    dst = list(range(16))
    while any(i == d for i, d in enumerate(dst)):
        rng.shuffle(dst)
    flows = [(i, i, dst[i], 200_000 + 4032 * i + 17, 1_013 * i) for i in range(16)]
    flows += [(16 + k, s, 5, 150_000, 3_001 * k + 11) for k, s in enumerate([0, 8, 12, 14])]
    return G, flows


@pytest.mark.parametrize("seed", [1, 2])
def test_engine_matches_reference_model(seed):
    G, flows = contended_scenario(seed)
    fabric_seed = 1000 + seed
    built = build_network(G, config=FabricConfig(seed=fabric_seed))
    ours = []
    for fid, src, dst, size, start in flows:
        lb = ObliviousSpray(derive_seed(seed, fid), 16)
        f = WindowFlow(fid, src, dst, size, start, CongestionControl(CWND, MTU), lb,
                       mtu_bytes=MTU, header_bytes=HDR, ack_bytes=ACK)
        ours.append(f.attach(built.net))
    built.sim.run()

    ref = RefModel(built, fabric_seed)
    theirs = [RefFlow(ref, fid, src, dst, size, start, CWND,
                      oblivious_values(derive_seed(seed, fid), 16), MTU, HDR, ACK)
              for fid, src, dst, size, start in flows]
    ref.run()

    assert all(f.finished for f in ours)
    got = [(f.flow_id, f.rx_done_ps, f.end_ps) for f in ours]
    want = [(f.id, f.rx_done, f.end) for f in theirs]
    assert got == want
    # there was contention: some switch port queued more than one packet
    assert max(built.net.port_counters()["max_queue_bytes"][
        [i for i in range(built.net.n_ports) if built.net.host_of_node(built.net.port_endpoints(i)[0]) < 0]]) > 4 * MTU
