"""``uesim htsim``: every htsim flag into the scenario dict (values from htsim's own
arithmetic, MODEL-uec.md sections 0-2), one clear error and exit status 2 for bad or
unsupported flags, htsim-style output and the --json line."""
import doctest
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from uesim.experiments.frontends import htsim
from uesim.experiments.frontends.htsim import HtsimArgError, main, scenario_from_argv, translate

REF = Path(__file__).resolve().parents[2] / "benchmarks" / "reference" / "htsim"


@pytest.fixture
def cm16(tmp_path):
    p = tmp_path / "perm16.cm"
    p.write_text("Nodes 16\nConnections 3\n13->6 start 0 size 2000000\n1->4 id 7 start 2 size 4086\n"
                 "6->0 start 0 size 10000\n")
    return p


def cm_file(tmp_path, nodes, name="n.cm"):
    p = tmp_path / name
    p.write_text(f"Nodes {nodes}\n0->1 start 0 size 1000\n")
    return p


def sc_of(cm, *flags):
    return scenario_from_argv(["-tm", str(cm), *map(str, flags)])


def test_doctests():
    assert doctest.testmod(htsim).failed == 0


def test_defaults_match_htsim(cm16):
    tr = translate(["-tm", str(cm16)])
    sc = tr.scenario
    assert (tr.rtt_ps, tr.bdp_bytes, tr.bdp_pkts, tr.k, tr.nodes) == (14_022_720, 175_284, 43, 4, 16)
    assert sc["topology"] == {"generator": "fat_tree", "k": 4, "rate_bps": 100_000_000_000, "delay_ps": 1_000_000}
    assert sc["fabric"] == {
        "buffer_bytes": 178_450, "trimming": True, "trim_bytes": 64, "trim_tail_prob": 0.5, "switch_latency_ps": 0,
        "ecn": {"kmin_bytes": 37_350, "kmax_bytes": 145_250, "pmax": 1.0, "at_dequeue": True, "host_downlinks": True}}
    t = sc["transport"]
    assert t == {"name": "uet", "mtu_bytes": 4150, "header_bytes": 64, "ack_bytes": 64, "ack_every_bytes": 16384,
                 "base_rtt_ps": 14_022_720, "rto_ps": 100_656_000, "sender_cc": True, "receiver_cc": False,
                 "ack_request_age": 0.0, "cc": {"name": "nscc"}, "lb": {"name": "mixed", "n_paths": 64}}
    assert sc["traffic"] == {"pattern": "cm", "file": str(cm16.resolve())}
    assert sc["run"] == {"until_ps": 1_000_000_000}
    assert sc["seed"] == 13 and sc["plugins"] == [] and "faults" not in sc


@pytest.mark.parametrize("nodes, tiers, k", [(16, 3, 4), (128, 3, 8), (1024, 3, 16), (54, 3, 6), (2, 3, 2),
                                             (32, 2, 8), (8, 2, 4)])
def test_nodes_size_the_tree(tmp_path, nodes, tiers, k):
    sc = sc_of(cm_file(tmp_path, nodes), "-nodes", nodes, "-tiers", tiers)
    if tiers == 3:
        assert sc["topology"]["generator"] == "fat_tree" and sc["topology"]["k"] == k
    else:
        assert sc["topology"] == {"generator": "leaf_spine", "n_leaves": k, "n_spines": k // 2,
                                  "hosts_per_leaf": k // 2, "host_rate_bps": 10 ** 11,
                                  "fabric_rate_bps": 10 ** 11, "delay_ps": 1_000_000}


def test_nodes_from_header_and_reference_1024():
    if not REF.exists():
        pytest.skip("htsim reference files not present")
    sc = sc_of(REF / "perm_1024n_1024c_0u_2000000b.cm", "-nodes", 1024)
    assert sc["topology"]["k"] == 16 and sc["fabric"]["buffer_bytes"] == 178_450
    assert sc_of(REF / "perm_128n_128c_2MB.cm")["topology"]["k"] == 8


def test_two_tiers_rtt(tmp_path):
    tr = translate(["-tm", str(cm_file(tmp_path, 32)), "-tiers", "2"])
    assert tr.rtt_ps == 8_000_000 + 1_328_000 + 20_480          # 4 hops
    assert tr.bdp_pkts == 29 and tr.scenario["fabric"]["buffer_bytes"] == 29 * 4150


def test_queue_and_trim_flags(cm16):
    assert sc_of(cm16, "-q", 43)["fabric"]["buffer_bytes"] == 178_450
    assert sc_of(cm16, "-q", 100)["fabric"]["buffer_bytes"] == 415_000
    sc = sc_of(cm16, "-disable_trim")
    assert sc["fabric"]["trimming"] is False and sc["fabric"]["buffer_bytes"] == 5 * 43 * 4150
    assert sc["fabric"]["ecn"]["kmax_bytes"] == 145_250
    assert sc_of(cm16, "-trimsize", 100)["fabric"]["trim_bytes"] == 100


def test_ecn_flag_is_in_packets(cm16):
    e = sc_of(cm16, "-ecn", 10, 30)["fabric"]["ecn"]
    assert (e["kmin_bytes"], e["kmax_bytes"]) == (41_500, 124_500)


def test_link_flags(cm16):
    tr = translate(["-tm", str(cm16), "-linkspeed", "400000"])
    assert tr.scenario["topology"]["rate_bps"] == 400_000_000_000
    assert tr.rtt_ps == 12_000_000 + 498_000 + 7_680 and tr.bdp_pkts == 151
    assert tr.scenario["fabric"]["buffer_bytes"] == 151 * 4150
    tr = translate(["-tm", str(cm16), "-hop_latency", "0.5", "-switch_latency", "0.2"])
    assert tr.scenario["topology"]["delay_ps"] == 500_000
    assert tr.scenario["fabric"]["switch_latency_ps"] == 200_000
    assert tr.rtt_ps == 2 * (6 * 500_000 + 5 * 200_000) + 1_992_000 + 30_720
    tr = translate(["-tm", str(cm16), "-mtu", "9000"])
    assert tr.scenario["transport"]["mtu_bytes"] == 9000
    assert tr.rtt_ps == 12_000_000 + 4_320_000 + 30_720
    assert tr.bdp_pkts == 23 and tr.scenario["fabric"]["buffer_bytes"] == 23 * 9000


def test_lb_and_paths(cm16):
    for algo in ("oblivious", "bitmap", "reps", "mixed"):
        assert sc_of(cm16, "-load_balancing_algo", algo, "-paths", 128)["transport"]["lb"] == \
            {"name": algo, "n_paths": 128}


@pytest.mark.parametrize("flags, sender, receiver", [
    ([], True, False),
    (["-sender_cc_only"], True, False),
    (["-receiver_cc_only"], False, True),
    (["-sender_cc", "-receiver_cc"], True, True),
    (["-receiver_cc"], True, True),
    (["-receiver_cc_only", "-sender_cc_algo", "nscc"], True, True),   # left to right, as htsim
    (["-receiver_cc", "-sender_cc_only"], True, False),
])
def test_cc_switches(cm16, flags, sender, receiver):
    sc = sc_of(cm16, *flags)
    assert (sc["transport"]["sender_cc"], sc["transport"]["receiver_cc"]) == (sender, receiver)
    assert sc["fabric"]["ecn"]["host_downlinks"] is (not receiver)


def test_cc_algos(cm16):
    assert sc_of(cm16, "-sender_cc_algo", "dctcp")["transport"]["cc"] == {"name": "dctcp"}
    assert sc_of(cm16, "-sender_cc_algo", "constant")["transport"]["cc"] == \
        {"name": "constant", "cwnd_bytes": 262_926}                    # 1.5 x 175,284 B
    assert sc_of(cm16, "-sender_cc_algo", "constant", "-cwnd", 40)["transport"]["cc"] == \
        {"name": "constant", "cwnd_bytes": 166_000}
    assert sc_of(cm16, "-cwnd", 10)["transport"]["cc"] == {"name": "nscc", "cwnd_bytes": 41_500}
    assert sc_of(cm16, "-cwnd", 0)["transport"]["cc"] == {"name": "nscc"}


def test_end_seed(cm16):
    assert sc_of(cm16, "-end", 400)["run"] == {"until_ps": 400_000_000}
    assert sc_of(cm16, "-end", 0)["run"] == {}
    assert sc_of(cm16, "-seed", 5)["seed"] == 5


def test_failed_three_tiers(cm16):
    from uesim.experiments.faults import apply_faults
    from uesim.topologies import fat_tree
    sc = sc_of(cm16, "-failed", 3)
    assert sc["faults"] == {"degrade_edges": [["agg0", "core0"], ["agg0", "core1"], ["agg1", "core2"]],
                            "degrade_factor": 0.25}
    H = apply_faults(fat_tree(4), sc["faults"], seed=0)
    slow = sorted((u, v) for u, v, d in H.edges(data=True) if d["rate_bps"] == 25_000_000_000)
    assert len(slow) == 3
    # K=16: every agg-core link can be named, and every name is an edge
    G = fat_tree(16)
    edges = htsim.failed_edges(16 * 8 * 8, 16, 3)
    assert len({tuple(e) for e in edges}) == 1024 and all(G.has_edge(u, v) for u, v in edges)


def test_failed_two_tiers(tmp_path):
    sc = sc_of(cm_file(tmp_path, 32), "-tiers", 2, "-failed", 1)
    assert sc["faults"]["degrade_edges"] == [[f"leaf{t}", "spine0"] for t in range(8)]


@pytest.mark.parametrize("flags, message", [
    (["-foo"], "uesim htsim: flag -foo is not supported; supported: -tm -nodes"),
    (["-sleek"], "flag -sleek is not supported (an htsim_uec flag with no uesim equivalent yet)"),
    (["-strat", "ecmp_host"], "flag -strat is not supported"),
    (["stray"], "unexpected argument 'stray'"),
    (["-q"], "flag -q needs 1 value (PACKETS)"),
    (["-ecn", "3"], "flag -ecn needs 2 values (LO HI)"),
    (["-q", "12abc"], "-q '12abc': must be an integer >= 1 (packets)"),
    (["-q", "0"], "-q '0': must be an integer >= 1"),
    (["-q", "10"], "-ecn: HI = 35 packets (145250 B) must be <= the queue size 10 packets (41500 B) (-q)"),
    (["-ecn", "30", "10"], "-ecn 30 10: LO must be <= HI"),
    (["-ecn", "10", "50"], "must be <= the queue size 43 packets"),
    (["-tiers", "4"], "-tiers '4': must be an integer 2..3"),
    (["-linkspeed", "0"], "-linkspeed '0': must be a number > 0 (Mb/s)"),
    (["-hop_latency", "-1"], "-hop_latency '-1': must be a number >= 0 (us)"),
    (["-mtu", "64"], "-mtu '64': must be an integer >= 65"),
    (["-trimsize", "10"], "-trimsize '10': must be an integer >= 64"),
    (["-trimsize", "5000"], "-trimsize 5000: must be 64..4150"),
    (["-load_balancing_algo", "ecmp"], "-load_balancing_algo 'ecmp': unknown; allowed: oblivious, bitmap, reps, mixed"),
    (["-load_balancing_algo", "reps_legacy"], "(reps_legacy is not supported)"),
    (["-sender_cc_algo", "swift"], "-sender_cc_algo 'swift': unknown; allowed: nscc, dctcp, constant"),
    (["-nodes", "17"], "-nodes 17 but"),
    (["-failed", "17"], "-failed 17: must be <= 16"),
    (["-end", "x"], "-end 'x': must be an integer >= 0 (us)"),
    (["-seed", "-1"], "-seed '-1': must be an integer >= 0"),
])
def test_bad_flags(cm16, flags, message):
    with pytest.raises(HtsimArgError) as err:
        translate(["-tm", str(cm16), *flags])
    assert message in str(err.value)


def test_tm_problems(tmp_path):
    with pytest.raises(HtsimArgError, match="-tm FILE is required"):
        translate(["-nodes", "16"])
    p = tmp_path / "nohdr.cm"
    p.write_text("0->1 start 0 size 10\n")
    with pytest.raises(HtsimArgError, match="-nodes N is missing"):
        translate(["-tm", str(p)])
    assert translate(["-tm", str(p), "-nodes", "16"]).k == 4
    with pytest.raises(HtsimArgError, match=r"-nodes 17: a 3-tier fat tree has K\^3/4 hosts \(K even\), nearest are 16 or 54"):
        translate(["-tm", str(cm_file(tmp_path, 17))])
    with pytest.raises(HtsimArgError, match=r"-nodes 20: a 2-tier fat tree has K\^2/2 hosts"):
        translate(["-tm", str(cm_file(tmp_path, 20)), "-tiers", "2"])
    bad = tmp_path / "bad.cm"
    bad.write_text("Nodes 16\n0->1 start 0 size 10 colour red\n")
    with pytest.raises(Exception, match=r"bad.cm:2: unknown token 'colour'"):
        translate(["-tm", str(bad)])


def test_main_exit_status_2_and_one_line(cm16, capsys):
    assert main(["-tm", str(cm16), "-foo"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("uesim htsim: flag -foo is not supported")
    assert main(["-tm", str(cm16), "-q", "x"]) == 2
    assert capsys.readouterr().err == "uesim htsim: -q 'x': must be an integer >= 1 (packets)\n"


def test_cli_dispatch_no_traceback(cm16):
    out = subprocess.run([sys.executable, "-m", "uesim.experiments.cli", "htsim", "-tm", str(cm16), "-foo", "1"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr and "flag -foo is not supported" in out.stderr
    out = subprocess.run([sys.executable, "-m", "uesim.experiments.cli", "htsim", "--help"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and "-load_balancing_algo ALGO" in out.stdout


def test_translation_does_not_import_pandas(cm16):
    code = ("import sys; from uesim.experiments.frontends import htsim; "
            f"htsim.translate(['-tm', {str(cm16)!r}]); print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr


class FakeResult:
    def __init__(self):
        self.stats = {"events": 1234, "wall_s": 0.01, "build_s": 0.002, "packets_new": 500, "packets_rtx": 2,
                      "acks": 130, "nacks": 1, "packets_trimmed": 3, "sim_time_us": 1000.0}

    def flow_columns(self):
        return {"flow_id": np.array([0, 1, 2]), "src": np.array([13, 1, 6]), "dst": np.array([6, 4, 0]),
                "size_bytes": np.array([2_000_000, 4086, 10_000]),
                "start_ps": np.array([0, 2_000_000, 0]), "end_ps": np.array([176_199_520, 12_500_000, -1]),
                "finished": np.array([True, True, False]), "packets_sent": np.array([490, 1, 2]),
                "retransmits": np.array([2, 0, 0])}


@pytest.fixture
def fake_run(monkeypatch):
    import uesim.experiments.run as run_mod
    import uesim.experiments.scenario as scen_mod
    seen = {}

    def check(sc):
        seen["sc"] = sc
        return sc
    monkeypatch.setattr(scen_mod, "check_scenario", check)
    monkeypatch.setattr(run_mod, "run_scenario", lambda sc, progress=None: FakeResult())
    return seen


def test_output_lines_and_json(cm16, fake_run, capsys):
    assert main(["-tm", str(cm16), "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    finished = [l for l in lines if " finished at " in l]
    # in finish order: flow 1 (12.5 us) before flow 0 (176.2 us)
    assert finished[0].startswith("Flow Uec_1_4 flowId 7 uecSrc 1 finished at 12.5 total messages 1 "
                                  "total packets 1 RTS 0 total bytes 4086 fct 10.5")
    assert finished[1].startswith("Flow Uec_13_6 flowId 1000000001 uecSrc 0 finished at 176.2 total messages 1 "
                                  "total packets 490 RTS 0 total bytes 2002140")
    assert "Flow Uec_6_0 flowId 1000000005 uecSrc 2 did not finish (stopped at -end 1000 us)" in lines
    assert "New: 500 Rtx: 2 ACKs: 130 NACKs: 1 Trims: 3" in lines
    js = json.loads(lines[-1])
    assert js["flows_finished"] == 2 and js["flows_total"] == 3 and js["unfinished"] == [1000000005]
    assert js["fct_us"] == [176.19952, 10.5, None]
    assert js["last_fct_us"] == 176.19952
    assert js["fct_p50_us"] == pytest.approx((176.19952 + 10.5) / 2)
    assert js["fct_p99_us"] == pytest.approx(10.5 + 0.99 * (176.19952 - 10.5))
    for key in ("packets_new", "packets_rtx", "acks", "nacks", "events", "wall_s"):
        assert key in js
    assert fake_run["sc"]["transport"]["name"] == "uet"


def test_output_without_json_has_no_json_line(cm16, fake_run, capsys):
    assert main(["-tm", str(cm16)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1].startswith("2/3 flows finished; FCT us p50 ")
    assert any(l.startswith("network_max_unloaded_rtt 14.0227") for l in out)


def test_scenario_accepted_by_check_scenario(cm16):
    """Every key the front end writes is in the scenario schema; the CC and LB names are
    checked against the registries when NSCC/mixed are registered."""
    from uesim.experiments.scenario import check_scenario
    from uesim.protocols import CC_REGISTRY, LB_REGISTRY, TRANSPORT_REGISTRY
    if "uet" not in TRANSPORT_REGISTRY:
        pytest.skip("transport 'uet' not registered")
    sc = sc_of(cm16, "-load_balancing_algo", "oblivious", "-paths", 128)
    if "nscc" not in CC_REGISTRY:
        sc["transport"]["cc"] = {"name": "fixed", "cwnd_bytes": 166_000}
    lb_ok = "n_paths" in (__import__("uesim.protocols", fromlist=["x"]).policy_params(LB_REGISTRY["oblivious"]) or ["n_paths"])
    if not lb_ok:
        sc["transport"]["lb"] = {"name": "oblivious"}
    checked = check_scenario(sc)
    assert checked["fabric"]["trim_tail_prob"] == 0.5 and checked["transport"]["base_rtt_ps"] == 14_022_720


@pytest.mark.skipif(not (REF / "one.cm").exists(), reason="htsim reference files not present")
def test_end_to_end_one_flow(monkeypatch, capsys):
    """one.cm through the real simulator: htsim prints 'finished at 176.2' (README table).
    Until the 'constant' CC is registered the run uses 'fixed' with the same window."""
    from uesim.protocols import CC_REGISTRY, TRANSPORT_REGISTRY
    if "uet" not in TRANSPORT_REGISTRY:
        pytest.skip("transport 'uet' not registered")
    import uesim.experiments.scenario as scen_mod
    real = scen_mod.check_scenario

    def check(sc):
        if sc["transport"]["cc"]["name"] not in CC_REGISTRY:
            sc["transport"]["cc"] = {"name": "fixed", "cwnd_bytes": sc["transport"]["cc"]["cwnd_bytes"]}
        return real(sc)
    monkeypatch.setattr(scen_mod, "check_scenario", check)
    rc = main(["-tm", str(REF / "one.cm"), "-sender_cc_algo", "constant", "-load_balancing_algo", "oblivious",
               "-paths", "128", "--json"])
    out = capsys.readouterr()
    assert rc == 0, out.err
    lines = out.out.splitlines()
    assert any(l.startswith("Flow Uec_0_13 flowId 1000000001 uecSrc 0 finished at 176.2 ") for l in lines)
    js = json.loads(lines[-1])
    assert js["flows_finished"] == 1 and js["packets_new"] == 490 and js["packets_rtx"] == 0


def test_end_to_end_triggers(tmp_path, monkeypatch, capsys):
    """A oneshot chain and a barrier through the real simulator: the triggered flow starts
    when its trigger's flow finishes; a barrier waits for all its activations."""
    from uesim.protocols import CC_REGISTRY
    cm = tmp_path / "trig.cm"
    cm.write_text("Nodes 16\nConnections 4\nTriggers 2\n"
                  "0->13 id 1 start 0 size 2000000 send_done_trigger 1\n"
                  "1->14 id 2 trigger 1 size 2000000 send_done_trigger 2\n"
                  "2->5 id 3 start 0 size 100000 send_done_trigger 2\n"
                  "3->12 id 4 trigger 2 size 100000\n"
                  "trigger id 1 oneshot\ntrigger id 2 barrier count 2\n")
    import uesim.experiments.scenario as scen_mod
    real = scen_mod.check_scenario

    def check(sc):
        if sc["transport"]["cc"]["name"] not in CC_REGISTRY:
            sc["transport"]["cc"] = {"name": "fixed", "cwnd_bytes": sc["transport"]["cc"]["cwnd_bytes"]}
        return real(sc)
    monkeypatch.setattr(scen_mod, "check_scenario", check)
    assert main(["-tm", str(cm), "-sender_cc_algo", "constant", "-load_balancing_algo", "oblivious",
                 "-paths", "128", "--json"]) == 0
    lines = capsys.readouterr().out.splitlines()
    js = json.loads(lines[-1])
    fct = js["fct_us"]
    assert js["flows_finished"] == 4
    assert 176 < fct[0] < 180 and 176 < fct[1] < 180      # flow 2 ran after flow 1, alone
    at = {int(l.split()[3]): float(l.split(" finished at ")[1].split()[0]) for l in lines if " finished at " in l}
    assert at[2] == pytest.approx(fct[0] + fct[1], abs=1e-3)          # started when flow 1 finished
    assert at[4] == pytest.approx(at[2] + fct[3], abs=1e-3)           # started when the barrier (flows 2, 3) fired
    assert at[3] < at[2]


def test_end_to_end_failed_links_slow_a_permutation(monkeypatch, capsys):
    if not (REF / "perm_16n_16c_2MB.cm").exists():
        pytest.skip("htsim reference files not present")
    from uesim.protocols import CC_REGISTRY
    import uesim.experiments.scenario as scen_mod
    real = scen_mod.check_scenario

    def check(sc):
        if sc["transport"]["cc"]["name"] not in CC_REGISTRY:
            sc["transport"]["cc"] = {"name": "fixed", "cwnd_bytes": sc["transport"]["cc"]["cwnd_bytes"]}
        return real(sc)
    monkeypatch.setattr(scen_mod, "check_scenario", check)
    base = ["-tm", str(REF / "perm_16n_16c_2MB.cm"), "-sender_cc_algo", "constant", "-cwnd", "40",
            "-load_balancing_algo", "oblivious", "-paths", "128", "--json"]
    lasts = []
    for extra in ([], ["-failed", "4"]):
        assert main(base + extra) == 0
        lasts.append(json.loads(capsys.readouterr().out.splitlines()[-1])["last_fct_us"])
    assert lasts[1] > 1.5 * lasts[0]
