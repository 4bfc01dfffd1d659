"""The trigger executor, with fake flows and a fake clock (no simulator)."""
import doctest

import pytest

from uesim.experiments.workloads import triggers as trig_mod
from uesim.experiments.workloads.triggers import wire_triggers


class Sim:
    now = 0


class Fake:
    def __init__(self, name):
        self.name, self.start_ps, self.on_finish, self.on_rx_done = name, 0, None, None
        self.attached_at = None

    def attach(self, net):
        self.attached_at = net.sim.now
        net.attached.append(self.name)
        return self


class Net:
    def __init__(self, sim):
        self.sim, self.attached = sim, []


def setup(flows, triggers):
    sim = Sim()
    net = Net(sim)
    objs = [Fake(i) for i in range(len(flows))]
    ex = wire_triggers(objs, flows, triggers, net, sim)
    return sim, net, objs, ex


def finish(sim, obj, t):
    sim.now = t
    obj.on_finish(obj)


def test_doctests():
    assert doctest.testmod(trig_mod).failed == 0


def test_oneshot_starts_all_targets_at_activation_time():
    flows = [{"send_done_trigger": 1}, {"start_trigger": 1}, {"start_trigger": 1}, {}]
    sim, net, objs, ex = setup(flows, [{"id": 1, "kind": "oneshot", "count": 0}])
    assert net.attached == []                      # nothing triggered before the activation
    finish(sim, objs[0], 1234)
    assert net.attached == [1, 2]
    assert objs[1].start_ps == objs[2].start_ps == 1234 == objs[1].attached_at
    assert ex.started == [(1, 1234), (2, 1234)] and ex.unstarted() == []
    assert ex.triggers[1].fired_at_ps == [1234]


def test_oneshot_second_activation_is_recorded_not_fatal():
    flows = [{"send_done_trigger": 1}, {"send_done_trigger": 1}, {"start_trigger": 1}]
    sim, net, objs, ex = setup(flows, [{"id": 1, "kind": "oneshot", "count": 0}])
    finish(sim, objs[0], 10)
    finish(sim, objs[1], 20)
    assert net.attached == [2] and objs[2].start_ps == 10
    assert len(ex.problems) == 1 and "htsim would abort" in ex.problems[0]


def test_multishot_starts_one_target_per_activation_in_file_order():
    flows = [{"send_done_trigger": 7}, {"send_done_trigger": 7}, {"send_done_trigger": 7},
             {"start_trigger": 7}, {"start_trigger": 7}]
    sim, net, objs, ex = setup(flows, [{"id": 7, "kind": "multishot", "count": 0}])
    finish(sim, objs[0], 5)
    assert net.attached == [3] and objs[3].start_ps == 5
    finish(sim, objs[1], 9)
    assert net.attached == [3, 4] and objs[4].start_ps == 9
    finish(sim, objs[2], 11)                       # nobody left: nothing happens
    assert net.attached == [3, 4] and ex.problems == []


def test_barrier_fires_on_the_count_th_activation():
    flows = [{"send_done_trigger": 3}, {"send_done_trigger": 3}, {"recv_done_trigger": 3},
             {"start_trigger": 3}, {"start_trigger": 3}]
    sim, net, objs, ex = setup(flows, [{"id": 3, "kind": "barrier", "count": 3}])
    finish(sim, objs[0], 1)
    finish(sim, objs[1], 2)
    assert net.attached == []
    sim.now = 7
    objs[2].on_rx_done(objs[2])                   # the receiver-side completion counts too
    assert net.attached == [3, 4] and objs[3].start_ps == objs[4].start_ps == 7
    assert ex.unstarted() == []


def test_barrier_never_reached_leaves_targets_unstarted():
    flows = [{"send_done_trigger": 3}, {"start_trigger": 3}]
    sim, net, objs, ex = setup(flows, [{"id": 3, "kind": "barrier", "count": 2}])
    finish(sim, objs[0], 1)
    assert net.attached == [] and ex.unstarted() == [1]


def test_chains_and_existing_callbacks_are_kept():
    flows = [{"send_done_trigger": 1}, {"start_trigger": 1, "send_done_trigger": 2}, {"start_trigger": 2}]
    sim = Sim()
    net = Net(sim)
    objs = [Fake(i) for i in range(3)]
    seen = []
    objs[0].on_finish = lambda f: seen.append(f.name)
    wire_triggers(objs, flows, [{"id": 1, "kind": "oneshot", "count": 0},
                                {"id": 2, "kind": "oneshot", "count": 0}], net, sim)
    finish(sim, objs[0], 100)
    assert seen == [0] and net.attached == [1]
    finish(sim, objs[1], 300)
    assert net.attached == [1, 2] and objs[2].start_ps == 300


def test_a_flow_activates_its_trigger_once():
    flows = [{"send_done_trigger": 1}, {"start_trigger": 1}]
    sim, net, objs, ex = setup(flows, [{"id": 1, "kind": "barrier", "count": 2}])
    finish(sim, objs[0], 1)
    finish(sim, objs[0], 2)                       # a repeated callback does not count twice
    assert net.attached == [] and ex.triggers[1].activations == 1


def test_errors():
    with pytest.raises(ValueError, match="not a defined trigger"):
        setup([{"start_trigger": 4}], [])
    with pytest.raises(ValueError, match="kind 'sometimes'"):
        setup([{}], [{"id": 1, "kind": "sometimes", "count": 0}])
    with pytest.raises(ValueError, match="2 flow objects for 1 flows"):
        wire_triggers([Fake(0), Fake(1)], [{}], [], None, Sim())


class ReadOnlyStart:
    """Like a Cython flow whose start_ps is readonly and which has no on_rx_done."""
    __slots__ = ("on_finish",)

    @property
    def start_ps(self):
        return 0

    def attach(self, net):
        pass


def test_read_only_flows_give_a_clear_error():
    sim, net = Sim(), None
    with pytest.raises(TypeError, match="no writable 'on_rx_done'"):
        wire_triggers([ReadOnlyStart()], [{"recv_done_trigger": 1}], [{"id": 1, "kind": "oneshot", "count": 0}], net, sim)
    objs = [Fake(0), ReadOnlyStart()]
    objs[1].on_finish = None
    ex = wire_triggers(objs, [{"send_done_trigger": 1}, {"start_trigger": 1}],
                       [{"id": 1, "kind": "oneshot", "count": 0}], Net(sim), sim)
    sim.now = 5
    with pytest.raises(TypeError, match="start_ps is read-only"):
        objs[0].on_finish(objs[0])


def test_custom_attach_function():
    flows = [{"send_done_trigger": 1}, {"start_trigger": 1}]
    sim = Sim()
    objs = [Fake(0), Fake(1)]
    calls = []
    wire_triggers(objs, flows, [{"id": 1, "kind": "oneshot", "count": 0}], None, sim,
                  attach=lambda o: calls.append((o.name, o.start_ps)))
    finish(sim, objs[0], 42)
    assert calls == [(1, 42)]
