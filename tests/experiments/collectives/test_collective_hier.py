"""Hierarchical all-reduce on a hybrid HGX + scale-out topology (acceptance test 3)."""
from __future__ import annotations

from uesim.experiments.collectives import run_collective
from uesim.topologies import hgx, hybrid, leaf_spine


def test_hier_beats_flat_ring_and_the_breakdown_shows_why():
    # 4 HGX servers (8 GPUs, 3.6 Tb/s NVLink each) on a non-blocking 100 Gb/s leaf-spine
    G = hybrid(hgx(4), leaf_spine(n_leaves=4, n_spines=8, hosts_per_leaf=8))
    S = 16 << 20
    flat = run_collective("all_reduce", S, topology=G, algo="ring")
    hier = run_collective("all_reduce", S, topology=G, algo="hier")
    assert flat.sources["finished"] and hier.sources["finished"]
    assert hier.time_ps < flat.time_ps / 3
    # why: the flat ring crosses the scale-out fabric at 4 server boundaries only, so 4 NICs
    # carry all of it (each its 2(n-1)/n share of S) and the whole ring runs at their pace ...
    n = 32
    assert flat.sources["scale_out_busiest_nic_bytes"] >= 2 * (n - 1) / n * S
    assert abs(flat.stall_ps) <= 0.03 * flat.ideal_ps
    # ... while hier's scale-out phase moves 1/8 of the data over all 32 NICs at once
    assert hier.sources["scale_out_nics_used"] == 32
    assert hier.sources["scale_out_busiest_nic_bytes"] < flat.sources["scale_out_busiest_nic_bytes"] / 8
    names = [p["name"] for p in hier.phases]
    assert names == ["scale-up reduce-scatter", "scale-out all-reduce (ring)", "scale-up all-gather"]
    assert sum(p["actual_ps"] for p in hier.phases) == hier.time_ps
    out = hier.phases[1]
    assert out["actual_ps"] < flat.time_ps / 4
    assert out["ideal_ps"] > hier.phases[0]["ideal_ps"]     # scale-out is still the slow part
