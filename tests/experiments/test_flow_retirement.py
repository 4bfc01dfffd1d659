"""Retiring finished flows: memory follows the flows in flight, results do not change."""
from __future__ import annotations

import sys

import numpy as np
import pytest

from uesim.experiments import Simulation
from uesim.experiments.collectives.algorithms import compile_collective
from uesim.experiments.presets import preset


def _ring(preset_name: str, retire: bool, n: int = 32, size: int = 4 << 20):
    p = preset(preset_name)
    sim = Simulation("fat_tree:k=6", transport=p["transport"], fabric=p["fabric"], seed=3)
    c = compile_collective("all_reduce", list(range(n)), size, "ring")
    run = c.workload.launch(sim, retire=retire)
    sim.run()
    return sim, run


@pytest.mark.parametrize("name", ["uet", "roce"])
def test_retiring_changes_no_flow(name):
    kept, run_kept = _ring(name, retire=False)
    freed, run_freed = _ring(name, retire=True)
    assert run_kept.done and run_freed.done
    assert np.array_equal(run_kept.end_ps, run_freed.end_ps)
    a, b = kept.result().flow_cols, freed.result().flow_cols
    assert set(a) == set(b)
    for key in a:
        assert np.array_equal(np.asarray(a[key]), np.asarray(b[key]), equal_nan=a[key].dtype.kind == "f"), key
    assert kept.result().stats["acks"] == freed.result().stats["acks"]


def test_retired_flows_leave_the_flow_list_and_are_freed():
    # 5,724 flows: the walker hands finished ones back 1,024 at a time at least
    sim, run = _ring("uet", retire=True, n=54, size=1 << 20)
    n_flows = int((run.flow_id >= 0).sum())
    assert len(sim.flow_objs) < n_flows / 2             # most have left
    assert sim._retired.count > n_flows / 2
    assert len(sim.result().flow_cols["flow_id"]) == n_flows
    assert np.array_equal(np.sort(sim.result().flow_cols["flow_id"]), np.arange(n_flows))


def test_a_retired_flow_is_freed_without_the_garbage_collector():
    p = preset("uet")
    sim = Simulation("leaf_spine:n_leaves=2,n_spines=2,hosts_per_leaf=2", transport=p["transport"],
                     fabric=p["fabric"])
    flow = sim.add_flow(0, 3, 100_000)
    sim.run()
    assert flow.quiet                      # finished, nothing of its own under way
    sim.retire(flow)
    sim._retire_check_at = 0
    sim.retire_pending()
    sim.flow_objs.clear()
    # nothing but this frame holds it (no cycle through its CC context): freed at "del"
    assert sys.getrefcount(flow) == 2
    row = sim.result().flow_cols
    assert row["finished"].tolist() == [True] and row["size_bytes"].tolist() == [100_000]


def test_an_unfinished_flow_cannot_be_retired():
    sim = Simulation("leaf_spine:n_leaves=2,n_spines=2,hosts_per_leaf=2")
    flow = sim.add_flow(0, 3, 100_000)
    with pytest.raises(ValueError, match="not finished"):
        flow.retire()


def test_a_flow_with_packets_under_way_is_not_quiet():
    sim = Simulation("leaf_spine:n_leaves=2,n_spines=2,hosts_per_leaf=2")
    flow = sim.add_flow(0, 3, 100_000)
    sim.run(until_ps=sim.now_ps + 2_000_000)         # packets in flight, unfinished
    assert not flow.quiet
    assert sim.net.endpoint_busy(flow.endpoint_id)
    sim.run()
    assert flow.quiet and not sim.net.endpoint_busy(flow.endpoint_id)


def test_flow_column_covers_retired_and_live_flows():
    sim, run = _ring("uet", retire=True, n=8, size=1 << 20)
    retx = sim.flow_column("retx_packets")
    cols = sim.result().flow_cols
    assert len(retx) == len(cols["flow_id"])
    assert np.array_equal(retx[cols["flow_id"]], cols["retransmits"])
    assert sim.flow_column("no_such_counter").sum() == 0
