"""Workload DAGs: nodes start when their predecessors finish (plus a delay)."""
from __future__ import annotations

import doctest

import numpy as np
import pytest

import uesim.experiments.workloads.dag as dag_mod
from uesim.experiments import Simulation
from uesim.experiments.workloads.dag import Workload

SPEC = "leaf_spine:n_leaves=2,n_spines=2,hosts_per_leaf=4"


def test_doctests():
    res = doctest.testmod(dag_mod, optionflags=doctest.ELLIPSIS)
    assert res.failed == 0 and res.attempted > 0


def test_fan_in_waits_for_the_last_predecessor():
    w = Workload()
    small = w.flow(0, 4, 10_000)
    big = w.flow(1, 5, 1_000_000)
    join = w.flow(4, 6, 10_000, after=[small, big])
    sim = Simulation(SPEC, seed=1)
    run = sim.add_workload(w)
    sim.run()
    assert run.done
    assert run.end_ps[big] > run.end_ps[small]
    assert run.start_ps[join] == run.end_ps[big]


def test_delay_and_compute_duration():
    for delay, dur in ((0, 1_000_000), (3_000_000, 1_000_000), (0, 5_000_000)):
        w = Workload()
        a = w.flow(0, 1, 50_000)
        c = w.compute(1, dur, after=[a], delay_ps=delay)
        b = w.flow(1, 2, 50_000, after=[c])
        sim = Simulation(SPEC, seed=1)
        run = sim.add_workload(w)
        sim.run()
        assert run.start_ps[c] == run.end_ps[a] + delay
        assert run.end_ps[c] == run.start_ps[c] + dur == run.start_ps[b]


def test_done_on_ack_is_later_than_on_receipt():
    ends = {}
    for mode in ("rx", "ack"):
        w = Workload(done_on=mode)
        a = w.flow(0, 5, 200_000)
        w.flow(5, 6, 1000, after=[a])
        sim = Simulation(SPEC, seed=1)
        run = sim.add_workload(w)
        sim.run()
        obj = sim.flow_objs[run.flow_id[a]]
        ends[mode] = run.end_ps[a]
        assert run.end_ps[a] == (obj.rx_done_ps if mode == "rx" else obj.end_ps)
    assert ends["ack"] > ends["rx"]


def test_zero_byte_flow_is_a_pure_dependency():
    w = Workload()
    a = w.flow(0, 1, 0, delay_ps=7)
    b = w.flow(1, 2, 1000, after=[a])
    sim = Simulation(SPEC)
    run = sim.add_workload(w)
    sim.run()
    assert run.end_ps[a] == 7 and run.start_ps[b] == 7 and run.flow_id[a] == -1
    assert len(sim.flow_objs) == 1


def test_columns_and_frame():
    w = Workload()
    w.flow(0, 1, 1000, tag=3)
    w.compute(2, 10, tag=3)
    sim = Simulation(SPEC)
    run = sim.add_workload(w)
    sim.run()
    cols = run.columns()
    assert list(cols["tag"]) == [3, 3] and (cols["end_ps"] >= 0).all()
    assert list(run.nodes["kind"]) == ["flow", "compute"]
    assert run.span_ps(3)[0] == 0


def test_errors():
    w = Workload()
    with pytest.raises(ValueError, match="predecessor 5 does not exist"):
        w.flow(0, 1, 10, after=[5])
    with pytest.raises(ValueError, match="two hosts"):
        w.flow(1, 1, 10)
    with pytest.raises(ValueError, match="done_on"):
        Workload(done_on="never")
    w.flow(0, 99, 10)
    with pytest.raises(ValueError, match="dst host 99 out of range"):
        w.launch(Simulation(SPEC))
