"""FlowSpawner: flows made from a template in compiled code are the flows the
constructors make."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from uesim.experiments import Simulation
from uesim.experiments.collectives import run_collective
from uesim.experiments.presets import preset
from uesim.experiments.run import derive_seed
from uesim.protocols import Nscc, ObliviousSpray
from uesim.protocols.flow import FlowSpawner, flow_seed
from uesim.protocols.hooks import FixedEntropy
from uesim.protocols.roce import RoceFlow
from uesim.protocols.uet import UetFlow


def readable(obj) -> dict:
    """Every plain attribute a flow shows to Python (numbers, flags, names)."""
    out = {}
    for k in dir(obj):
        if k.startswith("_"):
            continue
        v = getattr(obj, k)
        if isinstance(v, (int, float, bool, str)) or v is None:
            out[k] = v
    return out


@settings(max_examples=300, deadline=None)
@given(st.integers(-(1 << 70), 1 << 70), st.integers(0, (1 << 31) - 1))
def test_flow_seed_is_derive_seed(seed, fid):
    assert flow_seed(seed, fid) == derive_seed(seed, 3, fid)


UET_KW = dict(mtu_bytes=2048, header_bytes=48, ack_bytes=80, rto_ps=7_000_000, ack_every_bytes=8192,
              mode="rod", data_prio=2, max_rto_retries=9)
ROCE_KW = dict(mtu_bytes=1088, header_bytes=64, ack_bytes=72, cnp_bytes=90, ack_every_packets=3,
               cnp_interval_ps=4_000_000, min_rto_ps=5_000_000, retry_limit=3, htsim_extra_packet=True,
               trace_rate=True, data_prio=3)


@pytest.mark.parametrize("cls, kw, lb_cls", [(UetFlow, UET_KW, ObliviousSpray), (RoceFlow, ROCE_KW, FixedEntropy)])
@pytest.mark.parametrize("size", [1, 1024, 1000 * 1024, 12345])
def test_a_spawned_flow_is_the_constructed_flow(cls, kw, lb_cls, size):
    sim = Simulation("leaf_spine:n_leaves=2,n_spines=2,hosts_per_leaf=2")
    template = cls(0, 0, 1, 1, 0, Nscc(mtu_bytes=kw["mtu_bytes"]), lb_cls(seed=0), **kw)
    spawner = FlowSpawner(template, lambda: Nscc(mtu_bytes=kw["mtu_bytes"]), lb_cls, {}, sim.net,
                          base_rtt_ps=3_000_000, trimming=True, seed=11)
    made = spawner(5, 3, 2, size, 7_000, False)
    built = cls(5, 3, 2, size, 7_000, Nscc(mtu_bytes=kw["mtu_bytes"]), lb_cls(seed=derive_seed(11, 3, 5)), **kw)
    assert type(made) is cls and readable(made) == readable(built)
    assert made.lb.__reduce__() == built.lb.__reduce__() and made.cc.__reduce_ex__(2) == built.cc.__reduce_ex__(2)
    if cls is RoceFlow:
        assert made.n_send == built.n_send == made.n_packets + (size % (1088 - 64) == 0)
    with pytest.raises(ValueError, match="size_bytes must be > 0"):
        spawner(6, 3, 2, 0, 0, False)
    with pytest.raises(ValueError, match="src != dst"):
        spawner(6, 2, 2, 10, 0, False)


@pytest.mark.parametrize("name", ["uet", "roce"])
def test_spawned_and_constructed_flows_run_the_same(name):
    # the factory spawns the presets' flows; forced back to the constructors, the same run
    p = preset(name)
    runs = []
    for spawn in (True, False):
        sim = Simulation("fat_tree:k=4", transport=p["transport"], fabric=p["fabric"], seed=5)
        assert sim.factory.spawner is not None
        if not spawn:
            sim.factory.spawner = None
        r = run_collective("all_to_all", 1 << 20, sim=sim, n_ranks=16)
        runs.append((r.time_ps, r.run.end_ps, sim.built.sim.events))
    assert runs[0][0] == runs[1][0] and np.array_equal(runs[0][1], runs[1][1]) and runs[0][2] == runs[1][2]


def test_only_built_in_uet_and_roce_flows_without_pull_are_spawned():
    window = Simulation("fat_tree:k=4")                          # the scenario default: window
    pull = Simulation("fat_tree:k=4", transport={"name": "uet", "cc": {"name": "nscc"}, "receiver_cc": True})
    assert window.factory.spawner is None and pull.factory.spawner is None
    f = pull.new_flow(0, 5, 100_000, 0)                        # made by the constructor, with its pacer
    assert f.receiver_cc and f.pacer.host == 5


def test_a_template_of_another_class_cannot_spawn():
    from uesim.protocols import WindowFlow
    sim = Simulation("fat_tree:k=4")
    t = WindowFlow(0, 0, 1, 1, 0, None, None)
    with pytest.raises(TypeError, match="cannot be spawned"):
        FlowSpawner(t, None, FixedEntropy, {}, sim.net)(1, 0, 1, 10, 0)


def test_a_workload_spawns_its_flows_as_new_flow_would():
    # the walker's compiled path hands out the simulation's flow ids and fills its list
    p = preset("uet")
    sim = Simulation("fat_tree:k=4", transport=p["transport"], fabric=p["fabric"])
    sim.new_flow(0, 1, 1000, 0)                                  # id 0, made the Python way
    r = run_collective("all_gather", 1 << 20, sim=sim, n_ranks=8)
    ids = r.run.flow_id[r.run.flow_id >= 0]
    assert sorted(ids.tolist()) == list(range(1, 1 + len(ids))) and sim._n_added == 1 + len(ids)


def test_a_walker_with_a_spawner_needs_its_owner():
    from uesim.protocols.workload import DagWalker
    p = preset("uet")
    sim = Simulation("fat_tree:k=4", transport=p["transport"], fabric=p["fabric"])
    z = np.zeros(1, dtype=np.int64)
    with pytest.raises(ValueError, match="needs its owner"):
        DagWalker(sim.built.sim, sim.built.net, np.zeros(1, np.int8), z, z + 1, z + 10, z,
                  np.array([0, 0]), np.zeros(0, np.int64), z, sim.new_flow, spawner=sim.factory.spawner)


class PySpray(FixedEntropy):
    """A Python subclass: not copied by fresh (its class may hold more than the base)."""


@pytest.mark.parametrize("lb_cls, kw", [("HtsimOblivious", {"n_paths": 128}), ("HtsimOblivious", {"n_paths": 6}),
                                        ("FixedEntropy", {}), ("PySpray", {})])
def test_a_balancer_copied_with_a_new_seed_is_the_constructed_one(lb_cls, kw):
    from uesim.protocols import HtsimOblivious
    cls = {"HtsimOblivious": HtsimOblivious, "FixedEntropy": FixedEntropy, "PySpray": PySpray}[lb_cls]
    sim = Simulation("leaf_spine:n_leaves=2,n_spines=2,hosts_per_leaf=2")
    proto = cls(seed=0, **kw)
    template = UetFlow(0, 0, 1, 1, 0, Nscc(mtu_bytes=4150), proto)
    spawner = FlowSpawner(template, lambda: Nscc(mtu_bytes=4150), cls, kw, sim.net, seed=9, lb_proto=proto)
    for fid in (0, 1, 77):
        made = spawner(fid, 0, 3, 50_000, 0, False).lb
        built = cls(seed=derive_seed(9, 3, fid), **kw)
        assert type(made) is cls and made.__reduce__()[1:] == built.__reduce__()[1:]
        assert [made.next_entropy() for _ in range(300)] == [built.next_entropy() for _ in range(300)]
