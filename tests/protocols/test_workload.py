"""The compiled DAG walker: same walk as a plain Python one, retirement, errors."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from uesim.experiments import Simulation
from uesim.experiments.workloads.dag import COMPUTE, Workload
from uesim.protocols.workload import DagWalker

SPEC = "leaf_spine:n_leaves=2,n_spines=2,hosts_per_leaf=4"


def python_walk(w: Workload, sim) -> tuple[np.ndarray, np.ndarray]:
    """The reference: the DAG walked in Python, node order and event order as documented."""
    a = w.arrays()
    n = len(a["kind"])
    waiting = list(a["n_pred"])
    start, end = np.full(n, -1), np.full(n, -1)
    node_of = {}

    def finish(node):
        now = sim.now_ps
        end[node] = now
        for i in range(a["succ_ptr"][node], a["succ_ptr"][node + 1]):
            s = a["succ"][i]
            waiting[s] -= 1
            if waiting[s] == 0:
                begin(s, now + a["delay"][s])

    def begin(node, at):
        start[node] = at
        if a["kind"][node] == COMPUTE or a["size"][node] == 0:
            dur = a["size"][node] if a["kind"][node] == COMPUTE else 0
            sim.sim.schedule_at(at + dur, finish, node)
            return
        obj = sim.add_flow(int(a["src"][node]), int(a["dst"][node]), int(a["size"][node]), start_ps=at)
        obj.on_rx_done = lambda f: finish(node_of.pop(f.flow_id))
        node_of[obj.flow_id] = node

    for node in range(n):
        if waiting[node] == 0:
            begin(node, sim.now_ps + a["delay"][node])
    sim.run()
    return start, end


def random_dag(rng: np.random.Generator, n: int) -> Workload:
    w = Workload()
    for node in range(n):
        after = sorted(set(rng.integers(0, node, size=rng.integers(0, min(node, 3) + 1)).tolist())) if node else []
        delay = int(rng.choice([0, 0, 500_000]))
        if rng.random() < 0.25:
            w.compute(int(rng.integers(0, 8)), int(rng.integers(0, 3_000_000)), after=after, delay_ps=delay)
        else:
            src = int(rng.integers(0, 8))
            dst = (src + 1 + int(rng.integers(0, 7))) % 8
            w.flow(src, dst, int(rng.choice([0, 4_000, 60_000, 300_000])), after=after, delay_ps=delay)
    return w


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**32 - 1), st.integers(1, 40))
def test_compiled_walk_equals_the_python_walk(seed, n):
    w = random_dag(np.random.default_rng(seed), n)
    ref_sim = Simulation(SPEC, seed=3)
    ref_start, ref_end = python_walk(w, ref_sim)
    sim = Simulation(SPEC, seed=3)
    run = w.launch(sim, retire=False)
    sim.run()
    assert run.done
    assert np.array_equal(run.start_ps, ref_start) and np.array_equal(run.end_ps, ref_end)
    a, b = sim.result().flow_cols, ref_sim.result().flow_cols
    for k in ("flow_id", "src", "dst", "start_ps", "end_ps", "rx_done_ps", "packets_sent"):
        assert np.array_equal(a[k], b[k]), k
    assert sim.sim.events == ref_sim.sim.events


def test_retired_flows_are_quiet_and_keep_their_rows():
    w = Workload()
    prev = []
    for i in range(2500):      # enough finished flows for the list to be compacted
        prev = [w.flow(i % 8, (i + 3) % 8, 20_000, after=prev)]
    sim = Simulation(SPEC, seed=1)
    handed = []
    orig = sim.retire_flows

    def spy(flows, current):
        for f in flows:
            assert f.finished and not sim.net.endpoint_busy(f.endpoint_id)
        handed.extend(f.flow_id for f in flows)
        orig(flows, current)

    sim.retire_flows = spy
    run = w.launch(sim)
    sim.run()
    assert run.done and len(handed) >= 2000
    cols = sim.result().flow_cols
    assert len(cols["flow_id"]) == 2500 and cols["finished"].all()
    assert len(sim.flow_objs) < 1500            # retired flows left the list


def test_done_on_ack_releases_successors_at_the_last_ack():
    w = Workload(done_on="ack")
    a = w.flow(0, 5, 200_000)
    b = w.flow(5, 6, 1000, after=[a])
    sim = Simulation(SPEC, seed=1)
    run = w.launch(sim, retire=False)
    sim.run()
    obj = sim.flow_objs[run.flow_id[a]]
    assert run.end_ps[a] == obj.end_ps == run.start_ps[b] and obj.end_ps > obj.rx_done_ps


def test_bad_arrays_and_factories_are_refused():
    sim = Simulation(SPEC)
    one = np.zeros(1, dtype=np.int64)
    with pytest.raises(ValueError, match="differ in length"):
        DagWalker(sim.sim, sim.net, np.zeros(2, dtype=np.int8), one, one, one, one,
                  np.zeros(3, dtype=np.int64), one[:0], one, sim.new_flow)
    walker = DagWalker(sim.sim, sim.net, np.zeros(1, dtype=np.int8), one, one + 1, one + 100, one,
                       np.zeros(2, dtype=np.int64), one[:0], one, lambda *a: "not a flow")
    with pytest.raises(TypeError):
        walker.start()
