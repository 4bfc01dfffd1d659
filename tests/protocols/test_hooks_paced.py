"""Load balancers, the CC base class, flow validation and the paced transport, by value."""
import networkx as nx
import pytest

from uesim.fabric import build_network
from uesim.protocols import (CongestionControl, FixedEntropy, ObliviousSpray, PacedFlow,
                             RandomSpray, WindowFlow)
from uesim.topologies import leaf_spine

US = 1_000_000


def draws(lb, n):
    return [lb.next_entropy() for _ in range(n)]


def test_oblivious_spray_cycles_a_seeded_permutation():
    lb = ObliviousSpray(seed=3, n_paths=8)
    first = draws(lb, 8)
    assert sorted(first) == list(range(8))
    assert draws(lb, 16) == first + first            # wraps to the start, value 0 included
    assert first != list(range(8))                   # shuffled
    others = {tuple(draws(ObliviousSpray(seed=s, n_paths=8), 8)) for s in range(6)}
    assert len(others) >= 5                          # seeds give different orders
    assert draws(ObliviousSpray(seed=3, n_paths=8), 8) == first   # and the same seed the same
    assert ObliviousSpray(seed=1, n_paths=5).n_paths == 5
    with pytest.raises(ValueError, match="^n_paths must be > 0, got 0$"):
        ObliviousSpray(seed=1, n_paths=0)


def test_fixed_entropy_is_constant_per_flow_and_differs_between_seeds():
    values = [draws(FixedEntropy(seed=s), 3) for s in range(8)]
    assert all(v[0] == v[1] == v[2] for v in values)
    assert len({v[0] for v in values}) == 8


def test_random_spray_draws_fresh_values():
    v = draws(RandomSpray(seed=2), 50)
    assert len(set(v)) == 50
    assert v == draws(RandomSpray(seed=2), 50) and v != draws(RandomSpray(seed=3), 50)


def test_congestion_control_validation_and_defaults():
    cc = CongestionControl(1)
    assert (cc.cwnd_bytes, cc.mtu_bytes) == (1, 4096)
    with pytest.raises(ValueError, match="^cwnd_bytes must be > 0, got 0$"):
        CongestionControl(0)
    with pytest.raises(ValueError, match="^mtu_bytes must be > 0, got 0$"):
        CongestionControl(10, 0)


@pytest.mark.parametrize("kw, message", [
    (dict(src=1, dst=1), "a flow needs src != dst, got 1 -> 1"),
    (dict(size_bytes=0), "size_bytes must be > 0, got 0"),
    (dict(start_ps=-1), "start_ps must be >= 0, got -1"),
    (dict(header_bytes=4096), "need 0 <= header_bytes < mtu_bytes, got 4096, 4096"),
])
def test_flow_validation(kw, message):
    args = dict(flow_id=0, src=0, dst=1, size_bytes=10, start_ps=0)
    args.update({k: v for k, v in kw.items() if k in args})
    extra = {k: v for k, v in kw.items() if k not in args}
    with pytest.raises(ValueError, match=f"^{message}$"):
        WindowFlow(args["flow_id"], args["src"], args["dst"], args["size_bytes"], args["start_ps"],
                   CongestionControl(100), FixedEntropy(1), **extra)


def test_packetisation():
    f = WindowFlow(0, 0, 1, 3 * 4032 + 1, 0, CongestionControl(100), FixedEntropy(1))
    assert f.n_packets == 4
    assert WindowFlow(0, 0, 1, 3 * 4032, 0, CongestionControl(100), FixedEntropy(1)).n_packets == 3
    assert WindowFlow(0, 0, 1, 1, 0, CongestionControl(100), FixedEntropy(1)).n_packets == 1


def line():
    G = nx.Graph()
    G.add_nodes_from(["gpu0", "gpu1"], kind="gpu", role="host")
    G.add_node("sw", kind="switch", role="tor")
    G.add_edge("gpu0", "sw", rate_bps=100_000_000_000, delay_ps=US)
    G.add_edge("sw", "gpu1", rate_bps=100_000_000_000, delay_ps=US)
    return G


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7])
def test_paced_schedule_is_exact_with_carries(n):
    """3 Gb/s, 1030 B packets: 8 * 1030e12 / 3e9 = 2,746,666 rem 2e9, so the remainder
    carries on packets 2, 3, 5, 6, ... ; packet k leaves at floor(8 * 1030 k * 1e12 / 3e9)."""
    built = build_network(line())
    f = PacedFlow(0, 0, 1, 1000 * n, 5_000, None, None, mtu_bytes=1030, header_bytes=30,
                  rate_bps=3_000_000_000).attach(built.net)
    built.sim.run()
    path = 2 * (1030 * 80 + US)
    first = 5_000 + path
    last = 5_000 + (8 * 1030 * (n - 1) * 10**12) // 3_000_000_000 + path
    assert (f.first_rx_ps, f.last_rx_ps, f.rx_done_ps, f.end_ps) == (first, last, last, last)
    assert f.fct_ps == last - 5_000 and f.finished
    assert (f.rx_packets, f.rx_bytes, f.sent_bytes, f.sent_packets) == (n, 1000 * n, 1030 * n, n)


def test_paced_flow_sprays_with_its_load_balancer():
    built = build_network(leaf_spine(2, 2, 1))
    PacedFlow(0, 0, 1, 64 * 4032, 0, None, ObliviousSpray(seed=1, n_paths=64),
              rate_bps=50_000_000_000).attach(built.net)
    built.sim.run()
    c = built.net.port_counters()
    up = [c["tx_packets"][p] for s in ("spine0", "spine1") for p in built.ports_between("leaf0", s)]
    assert sum(up) == 64 and min(up) > 10          # both spines carry part of the flow
    with pytest.raises(ValueError, match="PacedFlow needs rate_bps"):
        PacedFlow(0, 0, 1, 10, 0, None, None)
    with pytest.raises(ValueError, match=r"rate_bps must be an integer > 0, got 1.5"):
        PacedFlow(0, 0, 1, 10, 0, None, None, rate_bps=1.5)
