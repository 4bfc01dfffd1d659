"""The training-step model: every parameter moves the step the known way."""
from __future__ import annotations

import dataclasses
import doctest

import pytest

import uesim.experiments.collectives.training as training_mod
from uesim.experiments.collectives.training import TrainingModel, build_step, run_training_step

TOPO = "leaf_spine:n_leaves=1,n_spines=1,hosts_per_leaf=8"
BASE = TrainingModel(layers=4, forward_us=20.0, dp=4, tp=2, grad_bytes_per_layer=4 << 20,
                     bucket_bytes=8 << 20, tp_bytes=1 << 20)


def step(**kw):
    return run_training_step(dataclasses.replace(BASE, **kw), topology=TOPO)


def test_doctests():
    res = doctest.testmod(training_mod, optionflags=doctest.ELLIPSIS)
    assert res.failed == 0 and res.attempted > 0


def test_accounting():
    r = step()
    assert r.compute_only_us == 4 * (20 + 40)
    assert r.step_us >= r.uncontended_us >= r.compute_only_us
    assert r.exposed_comm_us == pytest.approx(r.step_us - 240)
    # each GPU computes 240 us of the step: idle = 1 - 240 / step
    assert r.gpu_idle_pct == pytest.approx(100 * (1 - 240 / r.step_us))
    s = r.summary()
    assert s["stall_usd_per_mtok"] == pytest.approx(
        r.network_stall_us * 1e-6 / 3600 * 8 * 2.0 / (1 << 20) * 1e6, rel=1e-6)
    assert s["idle_usd_per_mtok"] > 0


@pytest.mark.parametrize("key,lo,hi", [
    ("forward_us", 10.0, 40.0),
    ("grad_bytes_per_layer", 1 << 20, 8 << 20),
    ("tp_bytes", 1 << 18, 4 << 20),
    ("layers", 2, 8),
])
def test_more_work_makes_a_longer_step(key, lo, hi):
    assert step(**{key: lo}).step_us < step(**{key: hi}).step_us


def test_buckets_overlap_gradients_with_backward():
    # one bucket for all gradients starts after the whole backward; small buckets overlap it
    whole = step(forward_us=200.0, bucket_bytes=1 << 30)
    small = step(forward_us=200.0, bucket_bytes=2 << 20)
    assert small.exposed_comm_us < whole.exposed_comm_us


def test_pipeline_and_experts_add_their_traffic():
    plain = build_step(dataclasses.replace(BASE, dp=2, tp=2, pp=2, micro_batches=2, pp_bytes=0), list(range(8)))
    piped = build_step(dataclasses.replace(BASE, dp=2, tp=2, pp=2, micro_batches=2, pp_bytes=1 << 20), list(range(8)))
    assert sum(1 for k, s in zip(piped.kind, piped.size) if k == 0 and s == 1 << 20) > 0
    assert len(piped) == len(plain)                 # zero-byte PP sends are pure dependencies
    moe = step(ep=4, moe_every=2, ep_bytes=1 << 20)
    assert moe.step_us > step().step_us
    r = step(pp=2, dp=2, micro_batches=2, pp_bytes=1 << 20)
    assert r.compute_only_us > 0 and r.step_us > r.compute_only_us


def test_toml_and_errors(tmp_path):
    f = tmp_path / "m.toml"
    f.write_text("[model]\nlayers = 4\nforward_us = 10.0\ndp = 2\n")
    m = TrainingModel.from_toml(f)
    assert m.layers == 4 and m.backward_us == 20.0
    f.write_text("[model]\nlayerz = 4\n")
    with pytest.raises(ValueError, match="unknown key 'model.layerz'"):
        TrainingModel.from_toml(f)
    with pytest.raises(ValueError, match="model.dp = 0"):
        TrainingModel(dp=0)
    with pytest.raises(ValueError, match="multiple of pp"):
        TrainingModel(layers=3, pp=2)
    with pytest.raises(ValueError, match="model.dp_algo = 'x'"):
        TrainingModel(dp_algo="x")
    with pytest.raises(ValueError, match="needs dp\\*tp\\*pp = 16 GPUs"):
        run_training_step(TrainingModel(dp=8, tp=2), topology=TOPO)


def test_example_toml_runs():
    import pathlib
    path = pathlib.Path(__file__).resolve().parents[3] / "docs" / "examples" / "training_step.toml"
    m = TrainingModel.from_toml(path)
    assert (m.dp, m.tp, m.layers) == (4, 2, 8)
    r = run_training_step(m, topology=TOPO)
    assert r.compute_only_us == 8 * 150.0 and r.step_us > r.compute_only_us


def test_the_ideal_step_charges_shared_nics_and_the_stall_is_what_the_fabric_adds():
    r = step()
    assert r.ideal_us >= r.uncontended_us >= r.compute_only_us
    assert r.endpoint_us == pytest.approx(r.ideal_us - r.uncontended_us)
    assert r.network_stall_us == pytest.approx(r.step_us - r.ideal_us)
    # the DP all-reduce of the 2 buckets (2 x 8 MiB over 4 replicas, ring) and the TP
    # all-reduces put at least their ring bytes through one NIC
    ring_bytes = 2 * 3 / 4 * (16 << 20) / 2 + 4 * 2 * 2 * 1 / 2 * (1 << 20)
    assert r.nic_bound_us >= 8 * ring_bytes / 100e9 * 1e6


def test_the_moe_example_is_endpoint_bound_not_stalled():
    from pathlib import Path
    m = TrainingModel.from_toml(Path(__file__).parents[3] / "docs/examples/moe_ep8_dp8.toml")
    from uesim.experiments.presets import preset
    p = preset("uet")
    r = run_training_step(m, topology="fat_tree:k=4", transport=p["transport"], fabric=p["fabric"])
    # 8 buckets of 100 MB, ring over 8 replicas: 1.4 GB through every 100 Gb/s NIC
    assert r.nic_bound_us >= 112_000
    assert r.endpoint_us > 80_000
    assert abs(r.network_stall_us) < 0.02 * r.ideal_us


def test_a_message_alone_is_its_latency_plus_its_wire_bytes_at_the_slower_nic():
    from uesim.experiments.collectives.model import path_model
    from uesim.experiments.simulation import Simulation
    from uesim.experiments.workloads.dag import Workload
    sim = Simulation(TOPO)
    pm = path_model(sim)
    w = Workload()
    c = w.compute(0, 5_000_000)
    f1 = w.flow(0, 1, 1 << 20, after=[c])
    w.flow(0, 1, 0)                                   # zero bytes: no time of its own
    f3 = w.flow(2, 3, 4096, after=[f1], delay_ps=7)
    alone = training_mod._alone_ps(w, pm)
    rate = 100 * 10**9                                # every NIC of TOPO: 100 Gb/s

    def by_hand(a, b, m):
        wire = m + -(-m // (pm.mtu - pm.header)) * pm.header
        return pm.alpha_ps(a, b, m) + -(-8 * wire * 10**12 // rate)
    assert alone.tolist() == [0, by_hand(0, 1, 1 << 20), 0, by_hand(2, 3, 4096)]
    # the uncontended path through them: compute, then f1, then 7 ps and f3
    own = training_mod.np.where(w.arrays()["kind"] == 1, w.arrays()["size"], 0) + alone
    assert training_mod._longest_paths(w.arrays(), own, [0, 1], [4, 4]) == [
        5_000_000 + alone[f1] + 7 + alone[f3], alone[f1] + 7 + alone[f3]]
