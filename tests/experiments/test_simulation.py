"""The one simulation API: flows added any time, resumable runs, same results as run_scenario."""
from __future__ import annotations

import doctest

import numpy as np
import pytest

from uesim.experiments import ScenarioError, Simulation, check_scenario, run_scenario
import uesim.experiments.simulation as simulation_mod

SPEC = "leaf_spine:n_leaves=2,n_spines=2,hosts_per_leaf=4"


def test_doctests():
    res = doctest.testmod(simulation_mod, optionflags=doctest.ELLIPSIS)
    assert res.failed == 0 and res.attempted > 0


def test_run_scenario_equals_simulation_from_scenario():
    sc = check_scenario({"topology": {"generator": "leaf_spine", "n_leaves": 2, "n_spines": 2,
                                      "hosts_per_leaf": 4},
                         "transport": {"name": "uet"},
                         "traffic": {"pattern": "permutation", "size_bytes": 200_000}, "seed": 3})
    a = run_scenario(sc)
    sim = Simulation.from_scenario(sc)
    sim.run()
    b = sim.result()
    assert a.stats["events"] == b.stats["events"]
    assert np.array_equal(a.flow_cols["end_ps"], b.flow_cols["end_ps"])


def test_resumable_run_gives_the_same_result():
    def make():
        sim = Simulation(SPEC, seed=2)
        for s in range(8):
            sim.add_flow(s, (s + 3) % 8, 300_000)
        return sim
    whole = make()
    whole.run()
    parts = make()
    parts.run(until_ps=5_000_000)
    assert parts.now_ps == 5_000_000
    assert not parts.result().flow_cols["finished"].all()
    parts.run()
    assert np.array_equal(whole.result().flow_cols["end_ps"], parts.result().flow_cols["end_ps"])
    assert whole.result().stats["events"] == parts.result().stats["events"]


def test_flow_added_mid_run_starts_now():
    sim = Simulation(SPEC, seed=1)
    sim.add_flow("gpu0", "gpu5", 100_000)
    sim.run(until_ps=3_000_000)
    late = sim.add_flow(1, 2, 100_000)
    assert late.start_ps == 3_000_000
    sim.run()
    assert late.finished and late.end_ps > 3_000_000


def test_chained_flows_from_callbacks():
    sim = Simulation(SPEC, seed=1)
    order = []

    def done(flow):
        order.append((flow.flow_id, flow.end_ps))
        if flow.flow_id < 3:
            sim.add_flow(flow.dst, (flow.dst + 1) % 8, 50_000, on_done=done)
    sim.add_flow(0, 1, 50_000, on_done=done)
    sim.run()
    assert [i for i, _ in order] == [0, 1, 2, 3]
    starts = sim.result().flow_cols["start_ps"]
    assert all(starts[i + 1] == order[i][1] for i in range(3))


def test_bad_topology_and_host_errors():
    with pytest.raises(ScenarioError, match="topology"):
        Simulation("nope:k=4")
    sim = Simulation(SPEC)
    with pytest.raises(ValueError, match="out of range"):
        sim.add_flow(0, 99, 1000)
    with pytest.raises(ScenarioError, match="transport.name"):
        Simulation(SPEC, transport={"name": "bogus"})
