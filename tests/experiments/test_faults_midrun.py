"""Mid-run faults (experiments/faults.py FaultInjector), invariants, limits, Ctrl-C."""
import copy
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from uesim.experiments import check_scenario, run_scenario
from uesim.experiments.invariants import InvariantChecker, InvariantError, network_problems
from uesim.experiments.limits import check_memory, estimate_memory
from uesim.experiments.scenario import load_scenario
from uesim.experiments.schema import ScenarioError

SCEN = Path(__file__).resolve().parents[2] / "experiments" / "scenarios"

BASE = {
    "seed": 2,
    "topology": {"generator": "fat_tree", "k": 4},
    "transport": {"name": "uet", "cc": {"name": "nscc"}, "lb": {"name": "reps", "n_paths": 64}},
    "fabric": {"buffer_bdp": 1.0, "trimming": True},
    "traffic": {"pattern": "permutation", "size_bytes": 300_000},
    "run": {"check": True, "check_every": 2000},
}


def scenario(faults=None, **over):
    raw = copy.deepcopy(BASE)
    for key, value in over.items():
        raw[key] = {**raw.get(key, {}), **value} if isinstance(value, dict) else value
    if faults is not None:
        raw["faults"] = faults
    return check_scenario(raw)


def down(at, u, v, action="link_down"):
    return {"at_ps": at, "action": action, "link": [u, v]}


def summary(res):
    f = res.flows
    return f["fct_us"].max(), int(f["retransmits"].sum()), int(f["timeouts"].sum())


def test_link_down_reps_recovers_faster_than_oblivious():
    out = {}
    for lb in ("reps", "oblivious"):
        sc = load_scenario(SCEN / "link_down_reps.toml", {"transport": {"lb": {"name": lb, "n_paths": 64}}})
        res = run_scenario(sc)
        assert res.flows["finished"].all() and res.stats["invariant_checks"] > 1
        assert len(res.stats["fault_log"]) == 2
        out[lb] = summary(res)
    assert out["reps"][0] < out["oblivious"][0] / 5        # last FCT
    assert out["reps"][1] < out["oblivious"][1]            # retransmits
    assert out["reps"][2] < out["oblivious"][2]            # timeouts


def test_a_down_link_carries_nothing_after_it_fails_and_loses_what_was_on_it():
    sc = scenario({"events": [down(10_000_000, "agg0", "core0")]})
    res = run_scenario(sc)
    p = res.ports
    dead = p[((p.node == "agg0") & (p.peer == "core0")) | ((p.node == "core0") & (p.peer == "agg0"))]
    assert len(dead) == 2
    ok = run_scenario(scenario())
    q = ok.ports
    alive = q[((q.node == "agg0") & (q.peer == "core0")) | ((q.node == "core0") & (q.peer == "agg0"))]
    assert dead.tx_packets.sum() < alive.tx_packets.sum()
    assert res.stats["packets_dropped"] > 0 and res.flows["finished"].all()


def test_reconvergence_routes_around_the_failed_link_and_back():
    ev = [down(5_000_000, "agg0", "core0")]
    never = run_scenario(scenario({"events": ev}, transport={"lb": {"name": "oblivious", "n_paths": 64}}))
    fast = run_scenario(scenario({"events": ev, "reconverge_ps": 2_000_000},
                                 transport={"lb": {"name": "oblivious", "n_paths": 64}}))
    assert fast.stats["reconvergences"] == 1 and "reconvergences" in never.stats
    assert summary(fast)[0] < summary(never)[0]            # oblivious spraying: tables matter
    assert summary(fast)[2] < summary(never)[2]
    assert fast.stats["fault_log"][-1][1] == "reconverge"


def test_reconverged_tables_exclude_down_ports_and_restore_them():
    from uesim.experiments.faults import FaultInjector
    from uesim.fabric import build_network
    from uesim.topologies import fat_tree
    built = build_network(fat_tree(4))
    inj = FaultInjector(built, [down(0, "agg0", "core0"), down(10, "agg0", "core0", "link_up")], 1, 0)
    inj.schedule()
    agg0 = built.node_index["agg0"]
    far = built.host_index("gpu15")
    before = set(built.net.next_hops(agg0, far))
    p_dead = built.ports_between("agg0", "core0")[0]
    assert p_dead in before
    built.sim.run(until_ps=5)
    assert set(built.net.next_hops(agg0, far)) == before - {p_dead}
    built.sim.run()
    assert set(built.net.next_hops(agg0, far)) == before and inj.reconvergences == 2


def test_switch_failure_with_reconvergence_finishes_every_flow():
    res = run_scenario(scenario({"events": [{"at_ps": 5_000_000, "action": "switch_down", "switch": "core1"}],
                                 "reconverge_ps": 1_000_000}))
    assert res.flows["finished"].all()
    core1 = res.ports[(res.ports.node == "core1")]
    assert len(core1) == 4


def test_degrade_mid_run_slows_flows_and_restore_recovers():
    base = summary(run_scenario(scenario()))[0]
    ev = [{"at_ps": 0, "action": "degrade", "link": ["tor0", "agg0"], "factor": 0.1},
          {"at_ps": 0, "action": "degrade", "link": ["tor0", "agg1"], "factor": 0.1}]
    slow = summary(run_scenario(scenario({"events": ev})))[0]
    restored = summary(run_scenario(scenario({"events": ev + [
        {"at_ps": 1_000_000, "action": "restore", "link": ["tor0", "agg0"]},
        {"at_ps": 1_000_000, "action": "restore", "link": ["tor0", "agg1"]}]})))[0]
    assert slow > 2 * base and base <= restored < slow


def test_loss_is_seeded_per_link_counted_and_grows_with_probability():
    def lost(prob, seed=2):
        res = run_scenario(scenario({"events": [{"at_ps": 0, "action": "loss", "link": ["tor0", "agg0"], "prob": prob}]},
                                    seed=seed))
        assert res.flows["finished"].all()
        return res.stats["packets_lost"], res
    a, ra = lost(0.01)
    b, _ = lost(0.01)
    c, _ = lost(0.1)
    d, _ = lost(0.01, seed=5)
    assert a == b and 0 < a < c and a != d
    assert ra.stats["packets_dropped"] >= a
    assert lost(0.0)[0] == 0


def test_stuck_flows_are_reported_not_dropped():
    # gpu0's only link dies: flows to and from it can never finish (window retries forever)
    sc = scenario({"events": [down(2_000_000, "gpu0", "tor0")], "stall_ps": 5_000_000_000},
                  transport={"name": "window", "cc": {"name": "fixed", "cwnd_bytes": 65536},
                             "lb": {"name": "oblivious"}},
                  fabric={"trimming": False})
    res = run_scenario(sc)
    f = res.flows
    stuck = f[f["stuck"]]
    assert res.stats["stalled"] and len(stuck) == 2
    assert set(stuck.src).union(stuck.dst) >= {0}
    assert sorted(res.stats["stuck_flows"]) == sorted(stuck.flow_id.tolist())
    assert (~f["finished"]).sum() == 2


def test_event_errors_name_the_key():
    cases = [
        ({"events": [{"at_ps": -1, "action": "link_down", "link": ["a", "b"]}]}, "at_ps"),
        ({"events": [{"at_ps": 0, "action": "link_down"}]}, "faults.events[0].link"),
        ({"events": [{"at_ps": 0, "action": "loss", "link": ["a", "b"], "prob": 2}]}, "prob"),
        ({"events": [{"at_ps": 0, "action": "degrade", "link": ["a", "b"], "factor": 0}]}, "factor"),
        ({"events": [{"at_ps": 0, "action": "link_down", "link": ["a", "b"], "when": 1}]}, "when"),
        ({"events": "x"}, "faults.events"),
        ({"reconverge_ps": -5}, "reconverge_ps"),
    ]
    for faults, key in cases:
        with pytest.raises(ScenarioError, match=key.replace("[", r"\[").replace("]", r"\]")):
            scenario(faults)
    with pytest.raises(ScenarioError, match="no such link"):
        run_scenario(scenario({"events": [down(0, "gpu0", "core0")]}))
    with pytest.raises(ScenarioError, match="no such switch"):
        run_scenario(scenario({"events": [{"at_ps": 0, "action": "switch_down", "switch": "gpu0"}]}))


# ----------------------------------------------------------------- invariants
def _leaky_transport(monkeypatch, attr, delta):
    from uesim.protocols import TRANSPORT_REGISTRY
    from uesim.protocols.uet.pds import UetFlow

    class Leaky(UetFlow):
        """A broken component: one of its counters is off by ``delta``."""

    setattr(Leaky, attr, property(lambda self: getattr(UetFlow, attr).__get__(self) + delta))
    monkeypatch.setitem(TRANSPORT_REGISTRY, "uet", Leaky)


def test_checker_catches_an_unaccounted_transmission(monkeypatch):
    _leaky_transport(monkeypatch, "sent_packets", 1)
    with pytest.raises(InvariantError, match=r"flow \d+: sent \d+ packets but \d+ new \+ \d+ retransmitted"):
        run_scenario(scenario())


def test_checker_catches_a_finished_flow_that_did_not_send_everything(monkeypatch):
    _leaky_transport(monkeypatch, "new_packets", -1)
    with pytest.raises(InvariantError, match="flow"):
        run_scenario(scenario(run={"check": False}))       # the end-of-run check alone


def test_checker_catches_a_receiver_that_got_more_than_was_sent(monkeypatch):
    _leaky_transport(monkeypatch, "rx_packets", 1000)
    with pytest.raises(InvariantError, match=r"its receiver got \d+ data packets, its sender sent only"):
        run_scenario(scenario())


class LeakyNet:
    """A network whose delivery counter loses a packet."""

    def __init__(self, net, **lie):
        self._net, self._lie = net, lie

    def __getattr__(self, name):
        value = getattr(self._net, name, 0)
        return value + self._lie.get(name, 0) if name in self._lie else getattr(self._net, name)


def test_checker_catches_a_lost_packet_and_names_the_numbers():
    from uesim.fabric import build_network
    from uesim.topologies import leaf_spine
    built = build_network(leaf_spine(n_leaves=2, n_spines=1, hosts_per_leaf=1))
    assert network_problems(built.net, drained=True) == []
    (msg,) = network_problems(LeakyNet(built.net, delivered=-1, sent=0), drained=True) or [""]
    assert "sent 0 packets != delivered -1" in msg
    lossless = network_problems(LeakyNet(built.net, lossless_drops=3))
    assert any("3 drops in lossless" in m for m in lossless)


def test_checker_catches_time_going_backwards():
    from uesim.fabric import build_network
    from uesim.topologies import leaf_spine
    built = build_network(leaf_spine(n_leaves=2, n_spines=1, hosts_per_leaf=1))
    chk = InvariantChecker(built, [])
    chk.check()
    chk.last_now = 10
    with pytest.raises(InvariantError, match="time went backwards"):
        chk.check()


def test_check_mode_checks_often_and_changes_nothing():
    a = run_scenario(scenario(run={"check": True, "check_every": 500}))
    b = run_scenario(scenario(run={"check": False}))
    assert a.stats["invariant_checks"] > 10 and b.stats["invariant_checks"] == 1
    assert np.array_equal(a.flows["end_ps"], b.flows["end_ps"])


# --------------------------------------------------------------------- limits
def test_impossible_size_refused_fast_with_estimate():
    sc = check_scenario({"topology": {"generator": "fat_tree", "k": 128},
                         "traffic": {"pattern": "permutation", "size_bytes": 1_000_000}})
    t = time.perf_counter()
    with pytest.raises(ScenarioError, match=r"run refused: it needs about [\d.]+ GB.*524,288 hosts.*allow_large"):
        run_scenario(sc)
    assert time.perf_counter() - t < 1.0


def test_estimate_grows_with_size_and_allow_large_overrides():
    small = check_scenario({"topology": {"generator": "fat_tree", "k": 4},
                            "traffic": {"pattern": "permutation", "size_bytes": 100_000}})
    big = check_scenario({"topology": {"generator": "fat_tree", "k": 16},
                          "traffic": {"pattern": "permutation", "size_bytes": 100_000}})
    assert estimate_memory(big)["total_bytes"] > 10 * estimate_memory(small)["total_bytes"]
    with pytest.raises(ScenarioError, match="allow_large"):
        check_memory(small, available=1000)
    small["run"]["allow_large"] = True
    assert check_memory(small, available=1000)["total_bytes"] > 1000
    from uesim.topologies import fat_tree
    # from a built graph (generators without a formula) the estimate agrees in size
    by_graph = estimate_memory(small, G=fat_tree(4))
    assert by_graph["hosts"] == 16 and by_graph["nodes"] == estimate_memory(small)["nodes"]


# ----------------------------------------------------------------- interrupts
def test_interrupted_run_returns_a_partial_result(monkeypatch):
    calls = []
    real = InvariantChecker.check

    def ctrl_c_once(self, drained=False):
        # Ctrl-C arrives during the run (a Python callback is where CPython raises it)
        calls.append(self.built.sim.now)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(self, drained)

    monkeypatch.setattr(InvariantChecker, "check", ctrl_c_once)
    res = run_scenario(scenario(run={"check": True, "check_every": 300}))
    assert len(calls) == 3 and res.stats["partial"] and res.stats["unfinished_flows"] > 0
    assert not res.flows["stuck"].any()          # unfinished, not unable to finish
    full = run_scenario(scenario())
    assert not full.stats["partial"] and full.stats["unfinished_flows"] == 0


def test_ctrl_c_on_the_cli_prints_partial_and_exits_130(tmp_path):
    toml = tmp_path / "long.toml"
    toml.write_text('[topology]\ngenerator = "fat_tree"\nk = 8\n'
                    '[traffic]\npattern = "permutation"\nsize_bytes = 2_000_000_000\n')
    # a shell's background job inherits SIGINT ignored, and Python then never raises
    # KeyboardInterrupt: give the child the default disposition, as a terminal would
    proc = subprocess.Popen([sys.executable, "-m", "uesim.experiments.cli", "run", str(toml)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    time.sleep(3.0)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "PARTIAL" in err and "Traceback" not in err + out
    assert "flows finished" in out


# --------------------------------------------------------------- determinism
def test_same_seed_same_flows_in_two_processes(tmp_path):
    code = ("import sys, json\n"
            "from uesim.experiments.scenario import load_scenario\n"
            "from uesim.experiments.run import run_scenario\n"
            f"sc = load_scenario({str(SCEN / 'link_down_reps.toml')!r})\n"
            "r = run_scenario(sc)\n"
            "cols = r.flow_columns()\n"
            "print(json.dumps({k: [repr(x) for x in cols[k].tolist()] for k in sorted(cols)}))\n")
    outs = [subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout for seed in (1, 2)]
    assert outs[0] == outs[1] and len(outs[0]) > 1000


@pytest.mark.slow
def test_htsim_failed_links_with_reps_finish_every_flow(capsys):
    from uesim.experiments.cli import main
    cm = Path(__file__).resolve().parents[2] / "benchmarks" / "reference" / "htsim" / "perm_1024n_1024c_0u_2000000b.cm"
    code = main(["htsim", "-tm", str(cm), "-sender_cc_only", "-load_balancing_algo", "reps",
                 "-paths", "128", "-failed", "8", "--json"])
    import json
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0 and summary["flows_finished"] == summary["flows_total"] == 1024
    assert summary["unfinished"] == []


def test_topo_describe_refuses_a_hopeless_size_fast(capsys):
    from uesim.experiments.cli import main
    t = time.perf_counter()
    assert main(["topo", "describe", "fat_tree:k=1000"]) == 2
    assert time.perf_counter() - t < 1.0
    err = capsys.readouterr().err
    assert "refused" in err and "GB of memory" in err and "250,000,000 hosts" in err


def test_uesim_check_names_a_fault_target_missing_from_the_topology(tmp_path, capsys):
    from uesim.experiments.cli import main
    f = tmp_path / "s.toml"
    f.write_text('[topology]\ngenerator = "fat_tree"\nk = 4\n[traffic]\npattern = "permutation"\n'
                 'size_bytes = 1000\n[faults]\nevents = [{at_ps = 0, action = "link_down", link = ["agg0", "core3"]}]\n')
    assert main(["check", str(f)]) == 2
    assert "faults.events[0].link = ['agg0', 'core3']: no such link" in capsys.readouterr().err
    f.write_text(f.read_text().replace("core3", "core0"))
    assert main(["check", str(f)]) == 0


def test_stall_ps_sets_when_a_hopeless_run_ends():
    def end_us(stall):
        sc = scenario({"events": [down(2_000_000, "gpu0", "tor0")], "stall_ps": stall},
                      transport={"name": "window", "cc": {"name": "fixed", "cwnd_bytes": 65536},
                                 "lb": {"name": "oblivious"}},
                      fabric={"trimming": False})
        res = run_scenario(sc)
        assert res.stats["stalled"]
        return res.stats["sim_time_us"]
    short, long_ = end_us(2_000_000_000), end_us(8_000_000_000)
    assert 2_000 <= short < long_ and 8_000 <= long_ < 8_000 + 2_000 + 200


def test_degrade_factor_orders_fcts():
    def last(factor):
        ev = [{"at_ps": 0, "action": "degrade", "link": ["tor0", a], "factor": factor} for a in ("agg0", "agg1")]
        return summary(run_scenario(scenario({"events": ev})))[0]
    assert last(0.05) > last(0.2) > last(0.8)


def test_collective_all_to_all_on_an_impossible_fat_tree_is_refused_fast(capsys):
    from uesim.experiments.cli import main
    t = time.perf_counter()
    assert main(["collective", "all_to_all", "--topology", "fat_tree:k=128", "--quiet"]) == 2
    assert time.perf_counter() - t < 1.0
    err = capsys.readouterr().err
    assert "refused: it needs about" in err and "524,288 hosts" in err and "274,877,382,656 flows" in err
    assert main(["collective", "all_to_all", "--topology", "fat_tree:k=4", "--quiet"]) == 0


def test_link_up_does_not_revive_a_link_of_a_switch_still_down():
    from uesim.experiments.faults import FaultInjector
    from uesim.fabric import build_network
    from uesim.topologies import fat_tree
    built = build_network(fat_tree(4))
    events = [{"at_ps": 0, "action": "switch_down", "switch": "core0"}, down(1, "agg0", "core0"),
              down(2, "agg0", "core0", "link_up")]
    inj = FaultInjector(built, events, 1)
    inj.schedule()
    ports = built.ports_between("agg0", "core0") + built.ports_between("core0", "agg0")
    built.sim.run(until_ps=2)
    assert all(not built.net.port_state(p)[0] for p in ports)      # core0 still holds it down
    inj.apply({"action": "switch_up", "switch": "core0"}, inj.events[0][1])
    assert all(built.net.port_state(p)[0] for p in ports)


def test_watchdog_ends_a_run_whose_flows_gave_up_but_left_timers_running():
    # RoCE over ECMP: flows hashed onto the dead link give up (aborted); their rate
    # controller's timers would keep the run alive, the watchdog ends it
    sc = check_scenario({"topology": {"generator": "fat_tree", "k": 4},
                         "traffic": {"pattern": "permutation", "size_bytes": 100_000},
                         "transport": {"name": "roce", "cc": {"name": "dcqcn"}, "lb": {"name": "ecmp"}},
                         "faults": {"events": [down(5_000_000, "agg1", "core2")]}})
    res = run_scenario(sc)
    f = res.flows
    assert res.stats["stalled"] and f["stuck"].sum() == f["aborted"].sum() > 0
    assert (f["finished"] | f["stuck"]).all()
