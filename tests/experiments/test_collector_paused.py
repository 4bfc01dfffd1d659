"""The cyclic garbage collector stays out of a workload's launch and of the event loop."""
import gc
import sys

import pytest

from uesim.experiments import Simulation
from uesim.experiments.collectives import compile_collective
from uesim.experiments.simulation import collector_paused

TOPO = "leaf_spine:n_leaves=2,n_spines=2,hosts_per_leaf=8"


@pytest.fixture
def eager_collector():
    """The collector on, collecting after every 10 allocations; the passes that start
    inside a workload's launch (a ``WorkloadRun`` being built) are listed."""
    was_on, thresholds = gc.isenabled(), gc.get_threshold()
    passes = []

    def count(phase, info):
        frame = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_name == "__init__" and type(frame.f_locals.get("self")).__name__ == "WorkloadRun":
                if phase == "start":
                    passes.append(info["generation"])
                return
            frame = frame.f_back
    gc.enable()
    gc.set_threshold(10, 2, 2)
    gc.callbacks.append(count)
    yield passes
    gc.callbacks.remove(count)
    gc.set_threshold(*thresholds)
    (gc.enable if was_on else gc.disable)()


def test_launching_an_all_to_all_runs_no_collection(eager_collector):
    sim = Simulation(TOPO)
    w = compile_collective("all_to_all", list(range(16)), 1 << 20, "direct").workload
    eager_collector.clear()
    run = w.launch(sim)               # 240 flows made at once
    assert eager_collector == []
    assert gc.isenabled()             # and the collector is back on after
    sim.run()
    assert run.done


def test_collector_paused_restores_the_previous_state():
    was_on = gc.isenabled()
    try:
        for start_on in (True, False):
            (gc.enable if start_on else gc.disable)()
            with collector_paused():
                assert not gc.isenabled()
            assert gc.isenabled() is start_on
        gc.enable()
        with pytest.raises(RuntimeError):
            with collector_paused():
                raise RuntimeError("a failing block")
        assert gc.isenabled()
    finally:
        (gc.enable if was_on else gc.disable)()
