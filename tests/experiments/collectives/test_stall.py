"""Stall accounting: per-collective breakdown, jobs sharing a fabric, ``uesim train`` and
``uesim stall``, and the CC link rate of multi-port NICs."""
from __future__ import annotations

import doctest
import json
import pathlib

import pytest

import uesim.experiments.collectives.jobs as jobs_mod
import uesim.experiments.frontends.training as front
from uesim.experiments.cli import main
from uesim.experiments.collectives import TrainingModel, run_collective, run_training_step
from uesim.experiments.collectives.jobs import place_jobs, run_jobs
from uesim.topologies import parse_topology_spec

FLAT8 = "leaf_spine:n_leaves=1,n_spines=1,hosts_per_leaf=8"
OVERSUB = "leaf_spine:n_leaves=2,n_spines=1,hosts_per_leaf=4"      # 4:1 at the leaf uplinks
SMALL = TrainingModel(layers=2, forward_us=10.0, dp=4, grad_bytes_per_layer=1 << 20, bucket_bytes=1 << 20,
                      tokens_per_step=1 << 16)


@pytest.mark.parametrize("mod", [jobs_mod, front])
def test_doctests(mod):
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert res.failed == 0 and res.attempted > 0


def test_breakdown_counts_every_collective():
    m = TrainingModel(layers=4, forward_us=20.0, dp=4, tp=2, grad_bytes_per_layer=4 << 20,
                      bucket_bytes=8 << 20, tp_bytes=1 << 20)
    r = run_training_step(m, topology=FLAT8)
    by = {c["kind"]: c for c in r.collectives}
    assert set(by) == {"tp", "dp"}
    # a TP all-reduce per layer, forward and backward, in each of the 4 replicas
    assert by["tp"]["count"] == 2 * 4 * 4 and by["tp"]["bytes"] == 32 << 20
    # 4 layers x 2 MiB per TP rank in 8 MiB buckets: one bucket per TP rank
    assert by["dp"]["count"] == 2 and by["dp"]["bytes"] == 2 * (8 << 20)
    for c in r.collectives:
        assert 0 < c["alone_us"] <= c["time_us"] * 1.02
        assert c["busbw_gbps"] > 0 and c["stall_us"] == pytest.approx(c["time_us"] - c["alone_us"], abs=2e-3)
    assert r.main_busbw_gbps == by["dp"]["busbw_gbps"]
    # a lone 8 MiB DP ring all-reduce on a non-blocking 100G switch runs near line rate
    assert 60 < by["dp"]["busbw_gbps"] <= 100


def test_place_jobs():
    G = parse_topology_spec("leaf_spine:n_leaves=2,n_spines=1,hosts_per_leaf=4")
    assert place_jobs(G, [2, 6], "interleaved") == [[0, 2], [1, 3, 4, 5, 6, 7]]
    a, b = place_jobs(G, [4, 4], "random", seed=3)
    assert sorted(a + b) == list(range(8)) and place_jobs(G, [4, 4], "random", seed=3) == [a, b]
    assert place_jobs(G, [4, 4], "random", seed=4) != [a, b]
    with pytest.raises(ValueError, match="placement = 'x': allowed: separated, interleaved, random"):
        place_jobs(G, [4], "x")
    with pytest.raises(ValueError, match="need 9 GPUs"):
        place_jobs(G, [4, 5])


@pytest.mark.parametrize("preset", ["uet", "roce"])
def test_noisy_neighbour_slows_interleaved_jobs(preset):
    p = front.TRANSPORT_PRESETS[preset]
    kw = dict(topology=OVERSUB, transport=p["transport"], fabric=p["fabric"], seed=1)
    inter = run_jobs([SMALL, SMALL], placement="interleaved", **kw)
    sep = run_jobs([SMALL, SMALL], placement="separated", **kw)
    for r in inter:
        # alone, each job has the leaf uplinks to itself; together they share them
        assert r["shared"].step_us > 1.1 * r["alone"].step_us
        assert r["shared"].network_stall_us > r["alone"].network_stall_us
    for r in sep:
        # each job inside its own leaf: the other job's traffic never meets it
        assert r["slowdown"] == pytest.approx(1.0, abs=0.01)
    assert inter[0]["hosts"] == [0, 2, 4, 6] and sep[1]["hosts"] == [4, 5, 6, 7]


def _plan(tmp_path, extra=""):
    f = tmp_path / "plan.toml"
    f.write_text(f"""
name = "t"
seed = 1
[model]
layers = 2
forward_us = 10.0
dp = 4
grad_bytes_per_layer = 1_048_576
bucket_bytes = 1_048_576
tokens_per_step = 65536
[[topologies]]
name = "flat"
spec = "leaf_spine:n_leaves=1,n_spines=1,hosts_per_leaf=4"
[[topologies]]
name = "oversub"
spec = "leaf_spine:n_leaves=2,n_spines=1,hosts_per_leaf=2"
[[transports]]
preset = "uet"
[[transports]]
preset = "roce"
{extra}""")
    return str(f)


def test_stall_comparison_reduced(tmp_path, capsys):
    plan = _plan(tmp_path)
    assert main(["stall", plan]) == 0
    out = capsys.readouterr().out
    assert "GPU idle %" in out and "stall $/Mtok" in out and "UET/NSCC" in out and "RoCE/DCQCN+PFC" in out
    assert main(["stall", plan, "--json"]) == 0
    rows = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["rows"]
    assert [(r["topology"], r["transport"]) for r in rows] == [
        ("flat", "UET/NSCC"), ("flat", "RoCE/DCQCN+PFC"), ("oversub", "UET/NSCC"), ("oversub", "RoCE/DCQCN+PFC")]
    for r in rows:
        assert r["step_us"] >= r["compute_only_us"] == 60.0 and 0 < r["gpu_idle_pct"] < 100
        assert r["events"] > 1000 and r["wall_s"] > 0      # events per second from any row
        assert r["stall_usd_per_mtok"] == pytest.approx(
            r["network_stall_us"] * 1e-6 / 3600 * 4 * 2.0 / 65536 * 1e6, rel=1e-3, abs=1e-6)
    # 2:1 oversubscribed uplinks: the ring's two leaf crossings share one uplink
    assert rows[2]["step_us"] > rows[0]["step_us"] and rows[3]["step_us"] > rows[1]["step_us"]
    assert rows[2]["main_busbw_gbps"] < rows[0]["main_busbw_gbps"]


def test_stall_jobs_table(tmp_path, capsys):
    f = tmp_path / "jobs.toml"
    f.write_text("""
seed = 1
placement = "interleaved"
[model]
layers = 2
forward_us = 10.0
dp = 4
grad_bytes_per_layer = 1_048_576
bucket_bytes = 1_048_576
[[jobs]]
name = "A"
[[jobs]]
name = "B"
model = { dp = 2 }
[[topologies]]
spec = "leaf_spine:n_leaves=2,n_spines=1,hosts_per_leaf=4"
""")
    assert main(["stall", str(f)]) == 0
    out = capsys.readouterr().out
    assert "2 jobs, placement interleaved" in out and "slowdown %" in out
    assert main(["stall", str(f), "--json", "--placement", "separated"]) == 0
    rows = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["rows"]
    # no [[transports]]: both presets
    assert [(r["transport"], r["job"]) for r in rows] == [
        ("UET/NSCC", "A"), ("UET/NSCC", "B"), ("RoCE/DCQCN+PFC", "A"), ("RoCE/DCQCN+PFC", "B")]
    assert {r["placement"] for r in rows} == {"separated"} and rows[1]["gpus"] == 2
    for r in rows:
        assert r["shared_step_us"] >= r["alone_step_us"] > 0
        # the shared run carries both jobs' packets
        assert r["shared_events"] > r["alone_events"] > 1000 and r["wall_s"] > 0


def test_plan_errors(tmp_path, capsys):
    plan = _plan(tmp_path)
    text = open(plan).read()
    for bad, msg in [(text.replace('preset = "roce"', 'preset = "ib"'), "transports[1].preset = 'ib': allowed: uet, roce"),
                     (text.replace("dp = 4", "dp = 4\nfoo = 1"), "unknown key 'model.foo'"),
                     ('placement = "x"\n' + text, "placement = 'x': allowed: separated, interleaved"),
                     (text.replace('spec = "leaf_spine:n_leaves=2', 'spek = "leaf_spine:n_leaves=2'),
                      "unknown key 'topologies[1].spek'"),
                     ("bogus = 1\n" + text, "unknown key 'bogus'")]:
        open(plan, "w").write(bad)
        assert main(["stall", plan]) == 2
        assert msg in capsys.readouterr().err
    assert main(["stall", plan, "--placement", "x"]) == 2


def test_train_cli(capsys):
    ex = str(pathlib.Path(__file__).resolve().parents[3] / "docs" / "examples" / "training_step.toml")
    assert main(["train", ex, "--topology", FLAT8]) == 0
    out = capsys.readouterr().out
    assert "GPU idle" in out and "network stall" in out and "per M tokens" in out and "dp all_reduce" in out
    assert main(["train", ex, "--topology", FLAT8, "--json"]) == 0
    one = json.loads(capsys.readouterr().out)
    assert main(["train", ex, "--topology", FLAT8, "--json", "--gpu-hour-usd", "4", "--tokens-per-step", "4096"]) == 0
    two = json.loads(capsys.readouterr().out)
    assert one["step_us"] == two["step_us"] and one["gpu_hour_usd"] == 2.0
    # what the run cost: events per second can be computed from any JSON result
    assert one["events"] == two["events"] > 1000 and one["wall_s"] > 0
    # twice the price, half the tokens: four times the cost per million tokens
    assert two["idle_usd_per_mtok"] == pytest.approx(4 * one["idle_usd_per_mtok"], rel=1e-6)
    assert main(["train", ex, "--topology", FLAT8, "--json", "--transport", "roce"]) == 0
    roce = json.loads(capsys.readouterr().out)
    assert roce["transport"] == "RoCE/DCQCN+PFC" and roce["step_us"] > roce["compute_only_us"]
    # TP pairs on NVLink: their all-reduces run far above the 100G scale-out rate
    assert main(["train", ex, "--topology", "leaf_spine:n_leaves=1,n_spines=1,hosts_per_leaf=8",
                 "--scale-up", "hgx:n_servers=2,gpus_per_server=4", "--json"]) == 0
    hgx = json.loads(capsys.readouterr().out)
    tp = next(c for c in hgx["collectives"] if c["kind"] == "tp")
    assert tp["busbw_gbps"] > 500 and hgx["step_us"] < one["step_us"]
    assert main(["train", ex, "--transport", "tcp"]) == 2
    assert "--transport = 'tcp': allowed: uet, roce" in capsys.readouterr().err
    assert main(["train", ex, "--topology", "leaf_spine:n_leaves=1,n_spines=1,hosts_per_leaf=4"]) == 2
    assert "needs dp*tp*pp = 8 GPUs" in capsys.readouterr().err


def test_cc_link_rate_is_the_nic_aggregate_towards_the_destination():
    from uesim.experiments import Simulation
    from uesim.topologies import hgx, hybrid
    G = hybrid(hgx(2, gpus_per_server=4, n_nvswitches=4), parse_topology_spec(
        "leaf_spine:n_leaves=1,n_spines=1,hosts_per_leaf=8"), nics_per_gpu=None)
    sim = Simulation(G, transport={"name": "uet", "cc": {"name": "nscc"}}, seed=0)
    net = sim.built.net
    assert net.host_rate_bps(0, 1) == 3_600_000_000_000        # 4 NVLink ports of 900G
    assert net.host_rate_bps(0, 4) == 100_000_000_000          # its scale-out NIC
    f = sim.add_flow(0, 1, 1 << 20)
    assert f.ctx.link_rate_bps == 3_600_000_000_000
    assert net.host_rate_bps(0, 1, True) == 900_000_000_000    # one of them
    # a single-path flow (RoCE QP, ECMP) keeps to one port: its line rate is that port's
    roce = Simulation(G, transport={"name": "roce", "cc": {"name": "dcqcn"}}, seed=0)
    q, r = roce.add_flow(0, 1, 1 << 20), roce.add_flow(0, 4, 1 << 20)
    assert (q.ctx.link_rate_bps, r.ctx.link_rate_bps) == (900_000_000_000, 100_000_000_000)
    # a ring all-reduce inside one HGX server now runs at the NVLink aggregate
    r = run_collective("all_reduce", 16 << 20, topology=G, hosts=[0, 1, 2, 3])
    assert r.time_ps < 1.1 * r.ideal_ps


def test_a_step_that_beats_the_ideal_says_so():
    from uesim.experiments.collectives.training import StepResult, TrainingModel
    m = TrainingModel(layers=1, forward_us=1.0, backward_us=1.0, dp=2, tp=1)
    ok = StepResult(m, 100.0, 10.0, 50.0, 0.0, ideal_us=99.0, bound_us=90.0)
    assert ok.warnings() == []
    inside = StepResult(m, 95.0, 10.0, 50.0, 0.0, ideal_us=100.0, bound_us=90.0)
    assert "inside the ideal" in inside.warnings()[0] and "5.0 us above it" in inside.warnings()[0]
    below = StepResult(m, 80.0, 10.0, 50.0, 0.0, ideal_us=100.0, bound_us=90.0)
    assert "below the proven lower bound" in below.warnings()[0]
    assert below.summary()["warnings"] == below.warnings()[0] and below.summary()["bound_us"] == 90.0
