"""The event engine: time order, FIFO ties, timers, run limits."""
import pytest
from hypothesis import given, settings, strategies as st

from uesim.fabric import Simulator, Timer


def test_events_run_in_time_order_and_fifo_on_ties(sim):
    seen = []
    for name, t in [("c", 30), ("a", 10), ("b1", 20), ("b2", 20), ("b3", 20)]:
        sim.schedule_at(t, seen.append, name)
    sim.run()
    assert seen == ["a", "b1", "b2", "b3", "c"]
    assert sim.now == 30 and sim.events == 5


def test_cannot_schedule_in_the_past(sim):
    sim.schedule_at(100, lambda: None)
    sim.run()
    with pytest.raises(ValueError, match="before now"):
        sim.schedule_at(50, lambda: None)


def test_run_until_stops_before_later_events(sim):
    seen = []
    sim.schedule_at(10, seen.append, 1)
    sim.schedule_at(1_000, seen.append, 2)
    sim.run(until_ps=500)
    assert seen == [1] and sim.now == 500
    sim.run()
    assert seen == [1, 2]


def test_step_and_cancel(sim):
    seen = []
    tok = sim.schedule_at(5, seen.append, "x")
    sim.schedule_at(6, seen.append, "y")
    sim.cancel(tok)
    assert sim.step() and sim.step() and not sim.step()
    assert seen == ["y"]


def test_timer_rearm_cancels_previous_expiry(sim):
    hits = []
    t = Timer(sim, lambda: hits.append(sim.now))
    t.set(100)
    t.set(300)
    sim.schedule_at(200, t.cancel)
    sim.schedule_at(250, t.set, 400)
    sim.run()
    assert hits == [400]


def test_two_simulators_are_independent():
    a, b = Simulator(), Simulator()
    a.schedule_at(10, lambda: None)
    a.run()
    assert a.now == 10 and b.now == 0 and b.events == 0


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=300))
def test_time_never_goes_backwards(times):
    sim = Simulator()
    seen = []
    for i, t in enumerate(times):
        sim.schedule_at(t, lambda i=i: seen.append((sim.now, i)))
    sim.run()
    assert [t for t, _ in seen] == sorted(times)
    # equal times keep insertion order
    expected = sorted(range(len(times)), key=lambda i: (times[i], i))
    assert [i for _, i in seen] == expected
