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
