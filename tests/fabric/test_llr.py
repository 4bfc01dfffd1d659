"""Frame errors and link-level retry (UE link layer LLR)."""
from __future__ import annotations

import numpy as np
import pytest

from uesim.experiments import check_scenario, run_scenario
from uesim.experiments.schema import ScenarioError
from uesim.fabric import FabricConfig, LlrConfig, build_network
from uesim.protocols import CongestionControl, ObliviousSpray, WindowFlow
from uesim.topologies import GENERATORS


def perm(llr, seed, *, dequeue=False, size=2_000_000):
    sc = {"topology": {"generator": "leaf_spine", "n_leaves": 4, "n_spines": 4, "hosts_per_leaf": 4},
          "fabric": {"dequeue_path": dequeue},
          "transport": {"name": "window", "cc": {"name": "fixed", "cwnd_bytes": 1_000_000},
                        "rto_ps": 100_000_000},
          "traffic": {"pattern": "permutation", "size_bytes": size}, "seed": seed}
    if llr is not None:
        sc["fabric"]["llr"] = llr
    return run_scenario(check_scenario(sc))


@pytest.mark.parametrize("dequeue", [False, True])
def test_llr_permutation_no_end_to_end_retransmissions(dequeue):
    # frame error rate 1e-4 on every link: LLR repairs every error on its link, so no
    # flow retransmits and every FCT stays within 2 % of the error-free run
    base = perm(None, 3, dequeue=dequeue)
    llr = perm({"frame_error_rate": 1e-4}, 3, dequeue=dequeue)
    assert llr.stats["llr_frame_errors"] > 0
    assert int(llr.flows["retransmits"].sum()) == 0
    assert llr.stats["packets_dropped"] == 0
    ratio = llr.flows["fct_us"].to_numpy() / base.flows["fct_us"].to_numpy()
    assert ratio.max() < 1.02
    assert ratio.max() > 1.0                      # the errors did cost something
    assert sum(llr.port_cols["llr_replay_ps"]) > 0


def test_errors_without_llr_need_end_to_end_recovery():
    base = perm(None, 3)
    lost = perm({"frame_error_rate": 1e-4, "replay": False}, 3)
    assert lost.stats["frames_lost"] == lost.stats["llr_frame_errors"] > 0
    assert int(lost.flows["retransmits"].sum()) > 0
    ratio = lost.flows["fct_us"].to_numpy() / base.flows["fct_us"].to_numpy()
    assert ratio.max() > 1.1                      # a timeout, not a link round trip


def one_packet(fer, edge_fer=None, seed=0):
    G = GENERATORS["leaf_spine"](2, 1, 1)
    if edge_fer is not None:
        G.edges["leaf0", "spine0"]["frame_error_rate"] = edge_fer
    built = build_network(G, config=FabricConfig(llr=LlrConfig(frame_error_rate=fer), seed=seed))
    f = WindowFlow(1, 0, 1, 4032, 0, CongestionControl(cwnd_bytes=65536, mtu_bytes=4096),
                   ObliviousSpray(1, 16), mtu_bytes=4096, header_bytes=64)
    f.attach(built.net)
    built.sim.run()
    return built, f


def test_replay_costs_a_link_round_trip_per_error():
    base, f0 = one_packet(0.0)
    for seed in range(5):
        built, f = one_packet(0.4, seed=seed)
        c = built.net.llr_counters()
        assert f.finished and f.retx_packets == 0
        # one packet and its ACK: every replay delays them by exactly its time ...
        assert f.end_ps - f0.end_ps == c["replay_ps"].sum()
        # ... a frame time, two cable delays and the 64 B NACK (100 Gb/s, 1 us)
        per_error = {4096 * 80 + 2_000_000 + 64 * 80, 64 * 80 + 2_000_000 + 64 * 80}
        for port in np.flatnonzero(c["frame_errors"]):
            assert c["replay_ps"][port] / c["frame_errors"][port] in per_error


def test_frame_error_rate_moves_errors_and_edge_override():
    lo = perm({"frame_error_rate": 1e-5}, 3, size=500_000).stats["llr_frame_errors"]
    hi = perm({"frame_error_rate": 1e-3}, 3, size=500_000).stats["llr_frame_errors"]
    assert hi > 10 * max(lo, 1)
    built, _ = one_packet(0.0, edge_fer=0.45, seed=1)
    errs = built.net.llr_counters()["frame_errors"]
    bad = {p for p, (a, b, _) in enumerate(built.port_link) if {a, b} == {"leaf0", "spine0"}}
    assert set(np.flatnonzero(errs)) <= bad


def test_llr_config_errors():
    with pytest.raises(ValueError, match="frame_error_rate"):
        LlrConfig(frame_error_rate=0.9)
    sc = {"topology": {"generator": "leaf_spine", "n_leaves": 2, "n_spines": 1, "hosts_per_leaf": 1},
          "traffic": {"pattern": "permutation", "size_bytes": 1000}}
    with pytest.raises(ScenarioError, match="fabric.llr.frame_error_rate = 0.9: must be a number <= 0.5"):
        check_scenario({**sc, "fabric": {"llr": {"frame_error_rate": 0.9}}})
    G = GENERATORS["leaf_spine"](2, 1, 1)
    net = build_network(G).net
    assert net.llr_counters() is None
    with pytest.raises(ValueError, match="port_rates"):
        net.configure_llr(0.1, port_rates=[0.1])
