"""DCQCN driven by the RoCE transport, end to end: fairness, queues, parameters, traces."""
import numpy as np
import pytest

from uesim.experiments.incast_probe import IncastTrace, incast_scenario, jain_index, run_incast
from uesim.experiments.run import run_scenario
from uesim.experiments.scenario import check_scenario
from uesim.experiments.schema import ScenarioError

KMIN, KMAX = 100_000, 400_000
PAPER = {"name": "dcqcn", "params": "paper"}
NIC = {"name": "dcqcn", "params": "nic"}
FW_CNP = {"cnp_interval_ps": 4_000_000}     # NIC firmware: a CNP at most every 4 us


@pytest.mark.parametrize("n, size, cc, keys", [
    (2, 60_000_000, NIC, FW_CNP),
    (8, 30_000_000, NIC, FW_CNP),
    (8, 60_000_000, PAPER, {}),
])
def test_dcqcn_converges_to_fair_shares_with_a_queue_near_kmax(n, size, cc, keys):
    tr = run_incast(incast_scenario(n, size, cc, **keys), sample_ps=2_000_000)
    st = tr.steady()       # the second half of the time all flows are running
    assert st["jain"] >= 0.95, st
    assert st["total_gbps"] > 80, st                 # the bottleneck is used
    assert st["queue_p99_bytes"] <= KMAX, st         # bounded near the marking range
    assert all(f.finished and f.cnps_received > 0 and f.retx_packets == 0 for f in tr.flows)
    # without congestion control the same incast keeps the excess in the queue
    off = run_incast(incast_scenario(n, size, {"name": "none"}, **keys), sample_ps=20_000_000)
    assert off.steady()["queue_mean_bytes"] > 20 * max(st["queue_mean_bytes"], KMAX)
    assert off.result_stats["max_queue_bytes"] > 10 * tr.result_stats["max_queue_bytes"]


def test_nscc_and_dcqcn_give_different_queues_on_the_same_incast():
    dc = run_incast(incast_scenario(8, 20_000_000, NIC, **FW_CNP), sample_ps=2_000_000).steady()
    ns = run_incast(incast_scenario(8, 20_000_000, {"name": "nscc"}, transport="uet",
                                    lb={"name": "ecmp"}), sample_ps=2_000_000).steady()
    # NSCC (window, ECN + delay) sits higher in the marking range than DCQCN's rate cuts
    assert ns["queue_mean_bytes"] > 3 * dc["queue_mean_bytes"]
    assert ns["jain"] >= 0.95 and dc["jain"] >= 0.95


def _run(cc_over=None, **keys):
    cc = {**PAPER, **(cc_over or {})}
    tr = run_incast(incast_scenario(2, 10_000_000, cc, trace_rate=True, **keys), sample_ps=5_000_000)
    rates = [f.rate_trace()[1] for f in tr.flows]
    return {"last_fct": max(f.fct_ps for f in tr.flows),
            "first_cut": min(r[1] for r in rates), "min_rate": min(r.min() for r in rates),
            "alpha": float(np.mean([f.cc.alpha for f in tr.flows])),
            "fast_recovery": sum(f.cc.n_fast_recovery for f in tr.flows),
            "additive": sum(f.cc.n_additive for f in tr.flows),
            "queue": float(tr.queue_bytes.mean()), "acks": sum(f.acks_received for f in tr.flows),
            "cnps": sum(f.cnps_sent for f in tr.flows)}


BYTES = {"byte_counter_bytes": 200_000}


@pytest.mark.parametrize("key, lo, hi, metric, base", [
    ("g", 1 / 256, 1 / 4, "alpha", {}),                    # more gain: alpha decays faster
    ("alpha_init", 0.1, 1.0, "first_cut", {}),             # a smaller first cut
    ("alpha_interval_ps", 10_000_000, 200_000_000, "-alpha", {}),   # decays more often
    ("rate_timer_ps", 20_000_000, 200_000_000, "-last_fct", {}),    # faster recovery
    ("byte_counter_bytes", 100_000, 10_000_000, "-last_fct", {}),   # faster recovery
    ("fast_recovery_stages", 1, 10, "-fast_recovery", {}),
    ("mi_thresh", 1, 10, "-additive", BYTES),             # hyper increase sooner
    ("rate_ai_bps", 10e6, 1e9, "last_fct", {}),            # faster additive increase
    ("rate_hai_bps", 10e6, 1e9, "-queue", BYTES),          # more aggressive: longer queue
    ("min_rate_bps", 1e9, 20e9, "-min_rate", {}),          # the floor holds
    ("rate_on_first_cnp", 0.2, 1.0, "-first_cut", {}),
    ("clamp_target", False, True, "-last_fct", {}),        # unclamped target recovers faster
    ("rate_decrease_interval_ps", 0, 200_000_000, "-queue", {}),   # slower reaction
])
def test_each_dcqcn_parameter_moves_the_incast_the_known_way(key, lo, hi, metric, base):
    """``metric`` is larger with ``lo`` than with ``hi`` (``-metric``: smaller)."""
    sign = -1 if metric.startswith("-") else 1
    m = metric.lstrip("-")
    a, b = _run({**base, key: lo})[m], _run({**base, key: hi})[m]
    assert sign * a > sign * b, (a, b)


def test_cnp_interval_and_ack_coalescing_move_the_incast_the_known_way():
    short, long_ = _run(cnp_interval_ps=4_000_000), _run(cnp_interval_ps=200_000_000)
    assert short["queue"] < long_["queue"] / 10      # more CNPs: earlier and deeper cuts
    assert short["min_rate"] < long_["min_rate"]
    every1, every16 = _run(ack_every_packets=1), _run(ack_every_packets=16)
    assert every16["acks"] < every1["acks"] / 10
    assert every16["last_fct"] == every1["last_fct"]   # the rate, not the ACKs, paces DCQCN


def test_scenario_keys_are_checked_and_defaulted():
    sc = incast_scenario(2, 1_000_000)
    tr = sc["transport"]
    assert tr["cc"] == {"name": "none"} and tr["lb"] == {"name": "ecmp"}
    assert tr["ack_every_packets"] == 1 and tr["cnp_interval_ps"] == 50_000_000
    assert tr["min_rto_ps"] == 1_000_000_000 and "rto_ps" not in tr
    with pytest.raises(ScenarioError, match="transport.ack_every_packets"):
        incast_scenario(2, 1_000_000, ack_every_packets=0)
    with pytest.raises(ScenarioError, match="transport.cnp_interval_ps"):
        incast_scenario(2, 1_000_000, cnp_interval_ps=-1)
    with pytest.raises(ScenarioError, match="min_rto_ps"):
        incast_scenario(2, 1_000_000, rto_ps=5)
    with pytest.raises(ScenarioError, match="belongs to transport 'roce'"):
        incast_scenario(2, 1_000_000, transport="uet", cnp_interval_ps=5)
    with pytest.raises(ScenarioError, match="it needs transport 'roce'"):
        incast_scenario(2, 1_000_000, PAPER, transport="uet")
    with pytest.raises(ScenarioError, match="transport.cc.*params must be one of"):
        incast_scenario(2, 1_000_000, {"name": "dcqcn", "params": "bogus"})
    with pytest.raises(ScenarioError, match="unknown key 'transport.cc.rate_ai'"):
        incast_scenario(2, 1_000_000, {"name": "dcqcn", "rate_ai": 5})


def test_run_scenario_reports_cnps_and_the_rate_trace():
    sc = incast_scenario(2, 2_000_000, PAPER, trace_rate=True)
    res = run_scenario(sc)
    flows = res.flows
    assert {"cnps_sent", "cnps_received", "nacks", "acks"} <= set(flows.columns)
    assert (flows["cnps_sent"] == flows["cnps_received"]).all() and flows["cnps_sent"].sum() > 0
    assert res.stats["cnps_sent"] == flows["cnps_sent"].sum() == res.summary()["cnps"]
    rt = res.rate_trace
    assert list(rt.columns[:3]) == ["flow_id", "t_ps", "rate_bps"]
    assert set(rt["flow_id"]) == set(flows["flow_id"])
    assert rt["rate_bps"].max() == 100_000_000_000 and rt["rate_bps"].min() < 50_000_000_000
    # off by default
    assert run_scenario(incast_scenario(2, 200_000, PAPER)).rate_trace is None


def test_rate_trace_plot(monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    from uesim.experiments.ratetrace import plot_rate_trace, rate_at
    res = run_scenario(incast_scenario(2, 2_000_000, PAPER, trace_rate=True))
    ax = plot_rate_trace(res, until_ps=2_000_000_000)
    assert len(ax.lines) == 2 and ax.get_ylabel() == "rate (Gb/s)"
    fid = int(res.trace_cols["flow_id"][0])
    assert rate_at(res.trace_cols, fid, 0)[()] == 100_000_000_000
    with pytest.raises(ValueError, match="trace_rate"):
        plot_rate_trace(run_scenario(incast_scenario(2, 200_000, PAPER)))
    import sys
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="needs matplotlib"):
        plot_rate_trace(res)


def test_jain_index_and_probe_inputs():
    assert jain_index([1, 1]) == 1.0 and jain_index([3, 1]) == pytest.approx(0.8)
    with pytest.raises(ValueError):
        jain_index([0, 0])
    with pytest.raises(ValueError, match="incast"):
        run_incast(check_scenario({"topology": {"generator": "leaf_spine", "n_leaves": 1,
                                                "n_spines": 1, "hosts_per_leaf": 2},
                                   "traffic": {"pattern": "permutation", "size_bytes": 1000}}))


def test_docs_roce_md_examples_run():
    import doctest
    import pathlib
    path = pathlib.Path(__file__).resolve().parents[3] / "docs" / "roce.md"
    res = doctest.testfile(str(path), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert res.failed == 0 and res.attempted >= 6


def test_the_incast8_dcqcn_scenario_runs():
    import pathlib
    from uesim.experiments.scenario import load_scenario
    path = pathlib.Path(__file__).resolve().parents[3] / "experiments" / "scenarios" / "incast8_dcqcn.toml"
    res = run_scenario(load_scenario(path))
    assert res.flows["finished"].all() and len(res.flows) == 8
    assert res.summary()["cnps"] > 0 and res.summary()["drops"] == 0
    assert res.rate_trace is not None and res.rate_trace["rate_bps"].min() < 20_000_000_000


def test_same_seed_same_results_other_seed_other_marks():
    a = run_scenario(incast_scenario(4, 3_000_000, PAPER, trace_rate=True, seed=5))
    b = run_scenario(incast_scenario(4, 3_000_000, PAPER, trace_rate=True, seed=5))
    c = run_scenario(incast_scenario(4, 3_000_000, PAPER, trace_rate=True, seed=6))
    assert a.flows.equals(b.flows) and a.rate_trace.equals(b.rate_trace)
    assert not a.rate_trace.equals(c.rate_trace)       # ECN coin flips come from the seed
