"""Credit-based flow control (UE link layer CBFC): a port sends only against credit."""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from uesim.fabric import CbfcConfig, FabricConfig, PfcConfig, build_network
from uesim.protocols import CongestionControl, ObliviousSpray, WindowFlow
from uesim.topologies import GENERATORS

MTU = 4064


def incast(credit, *, size=2_000_000, buf=100_000, check_every=None):
    """15:1 incast into gpu0 of a 16-host leaf-spine at 100 Gb/s, 1 us links."""
    G = GENERATORS["leaf_spine"](4, 2, 4)
    built = build_network(G, config=FabricConfig(buffer_bytes=buf, cbfc=CbfcConfig(credit_bytes=credit)))
    flows = []
    for i in range(1, 16):
        f = WindowFlow(i, i, 0, size, 0, CongestionControl(cwnd_bytes=1_000_000, mtu_bytes=MTU),
                       ObliviousSpray(i, 256), mtu_bytes=MTU, header_bytes=64, rto_ps=1_000_000_000)
        f.attach(built.net)
        flows.append(f)
    problems = []
    t = 0
    while check_every and not all(f.finished for f in flows):
        t += check_every
        built.sim.run(until_ps=t)
        problems += built.net.check_invariants()
    built.sim.run()
    return built, flows, problems


def bottleneck_busy(built, flows):
    # share of the time until the last flow finished that gpu0's downlink was sending
    down = built.ports_between("leaf0", "gpu0")[0]
    tx_bytes = built.net.port_counters()["tx_bytes"][down]
    return tx_bytes * 80 / max(f.end_ps for f in flows)      # 80 ps per byte at 100 Gb/s


def test_cbfc_incast_lossless_and_busy():
    built, flows, _ = incast(100_000)
    assert all(f.finished for f in flows)
    assert built.net.dropped == 0
    assert sum(f.retx_packets for f in flows) == 0
    assert bottleneck_busy(built, flows) > 0.95
    assert built.net.check_invariants() == []
    assert built.net.pfc_pauses == 0                       # no PAUSE: credits only
    c = built.net.port_counters()
    assert c["cbfc_stall_ps"].sum() > 0                    # senders waited on credit


def test_cbfc_invariants_mid_run():
    built, flows, problems = incast(30_000, size=300_000, check_every=1_000_000)
    assert problems == []
    assert all(f.finished for f in flows)


def test_credit_below_the_credit_loop_starves_the_link():
    # the credit loop of a 1 us, 100 Gb/s hop is 2 x 12.5 kB + a packet: 10 kB of
    # credit leaves the link idle most of the time, 30 kB barely, 100 kB not at all
    busy = {}
    stall = {}
    for credit in (10_000, 30_000, 100_000):
        built, flows, _ = incast(credit, size=400_000)
        assert built.net.dropped == 0 and all(f.finished for f in flows)
        busy[credit] = bottleneck_busy(built, flows)
        stall[credit] = built.net.port_counters()["cbfc_stall_ps"].sum()
    assert busy[10_000] < 0.5 < 0.9 < busy[30_000] <= busy[100_000]
    assert stall[10_000] > stall[30_000] >= stall[100_000]


def test_receiver_never_holds_more_than_its_credit():
    built, flows, _ = incast(20_000, size=300_000)
    assert built.net.pfc_counters()["max_ingress_bytes"].max() <= 20_000


def test_cbfc_config_errors():
    with pytest.raises(ValueError, match="credit_bytes"):
        CbfcConfig(credit_bytes=0)
    with pytest.raises(ValueError, match="not both"):
        FabricConfig(pfc=PfcConfig(), cbfc=CbfcConfig())
    G = GENERATORS["leaf_spine"](2, 1, 1)
    with pytest.raises(ValueError, match="credit_bytes"):
        build_network(G).net.configure_pfc(mode="cbfc", credit_bytes=0)


def test_cbfc_scenario():
    from uesim.experiments import check_scenario, run_scenario
    from uesim.experiments.schema import ScenarioError
    sc = {"topology": {"generator": "leaf_spine", "n_leaves": 4, "n_spines": 2, "hosts_per_leaf": 4},
          "fabric": {"buffer_bytes": 100_000, "cbfc": {"credit_bytes": 60_000}},
          "transport": {"name": "window", "mtu_bytes": 4064, "rto_ps": 1_000_000_000,
                        "cc": {"name": "fixed", "cwnd_bytes": 1_000_000}},
          "traffic": {"pattern": "incast", "size_bytes": 300_000, "receiver": 0, "n_senders": 15}}
    res = run_scenario(check_scenario(sc))
    assert res.stats["packets_dropped"] == 0 and bool(res.flows["finished"].all())
    assert sum(res.port_cols["cbfc_stall_ps"]) > 0
    with pytest.raises(ScenarioError, match="fabric.cbfc.credit_bytes = 0"):
        check_scenario({**sc, "fabric": {"cbfc": {"credit_bytes": 0}}})
    with pytest.raises(ScenarioError, match="pfc or cbfc"):
        check_scenario({**sc, "fabric": {"cbfc": {}, "pfc": {}}})


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), n_flows=st.integers(1, 12), size=st.integers(1, 120_000),
       credit=st.integers(4_100, 100_000))
def test_property_cbfc_random_traffic(seed, n_flows, size, credit):
    import random
    rng = random.Random(seed)
    G = GENERATORS["leaf_spine"](rng.randint(2, 3), rng.randint(1, 2), rng.randint(1, 3))
    built = build_network(G, config=FabricConfig(buffer_bytes=50_000, cbfc=CbfcConfig(credit_bytes=credit)))
    n = built.n_hosts
    flows = []
    for i in range(n_flows):
        s = rng.randrange(n)
        d = rng.choice([h for h in range(n) if h != s])
        f = WindowFlow(i, s, d, rng.randint(1, size), rng.randrange(5_000_000),
                       CongestionControl(cwnd_bytes=rng.choice([8192, 1_000_000]), mtu_bytes=4096),
                       ObliviousSpray(seed + i, 64), mtu_bytes=4096, header_bytes=64, rto_ps=10_000_000_000)
        f.attach(built.net)
        flows.append(f)
    built.sim.run(until_ps=3_000_000)
    assert built.net.check_invariants() == []
    built.sim.run()
    assert all(f.finished for f in flows)
    assert built.net.dropped == 0
    assert built.net.check_invariants() == []
    # idle again: every credit has come back
    assert (built.net.pfc_counters()["credits"] == credit).all()
