"""The engine's timing wheel (WHEEL_SIZE buckets of 2**WHEEL_SHIFT ps) and the heap
behind it must keep exact (time, insertion) order, including events at and around the
wheel's horizon (4096 * 1024 ps = 4,194,304 ps ahead of now) and after the clock moved."""
import pytest
from hypothesis import given, settings, strategies as st

from uesim.fabric import Simulator

BUCKET = 1 << 10
HORIZON = 4096 * BUCKET          # 4,194,304 ps


def run_order(times, sim=None):
    sim = sim or Simulator()
    seen = []
    for i, t in enumerate(times):
        sim.schedule_at(t, lambda i=i: seen.append((sim.now, i)))
    sim.run()
    return seen


def test_event_just_past_the_horizon_runs_after_a_near_one():
    seen = run_order([4_194_309, 1_500])
    assert seen == [(1_500, 1), (4_194_309, 0)]


def test_events_at_each_side_of_the_horizon():
    times = [HORIZON + 5, HORIZON - 1, HORIZON, 0, 1, BUCKET, HORIZON + BUCKET,
             2 * HORIZON, 2 * HORIZON - 1, 3 * HORIZON + 7, 1_500]
    seen = run_order(times)
    assert [t for t, _ in seen] == sorted(times)


def test_horizon_counts_from_now_not_from_zero():
    sim = Simulator()
    seen = []
    start = 10 * HORIZON + 777

    def later():
        # now = start: schedule around now + horizon and a near one
        for i, dt in enumerate([HORIZON + 5, HORIZON, HORIZON - 1, 1_500, 0]):
            sim.schedule_at(sim.now + dt, lambda i=i: seen.append((sim.now, i)))
    sim.schedule_at(start, later)
    sim.run()
    assert seen == [(start, 4), (start + 1_500, 3), (start + HORIZON - 1, 2),
                    (start + HORIZON, 1), (start + HORIZON + 5, 0)]


def test_peek_and_pending_with_far_events():
    sim = Simulator()
    sim.schedule_at(HORIZON + 9, lambda: None)
    sim.schedule_at(2_000, lambda: None)
    assert sim.peek_time() == 2_000 and sim.pending_events == 2
    sim.step()
    assert sim.now == 2_000 and sim.peek_time() == HORIZON + 9
    sim.run(until_ps=HORIZON)
    assert sim.now == HORIZON and sim.pending_events == 1
    sim.run()
    assert sim.now == HORIZON + 9 and sim.events == 2 and sim.peek_time() is None


near_far = st.one_of(
    st.integers(0, 4 * HORIZON),
    st.integers(-3, 3).flatmap(lambda d: st.sampled_from(
        [max(0, k * HORIZON + d) for k in (1, 2, 3)] + [max(0, BUCKET + d)])),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(near_far, min_size=1, max_size=200),
       st.lists(st.tuples(st.integers(0, 199), st.integers(0, 2 * HORIZON)), max_size=40))
def test_order_across_wheel_and_heap(times, follow_ups):
    """Random times up to 4 horizons (and exactly at bucket/horizon edges), plus events
    scheduled from inside events (so the wheel's start has moved)."""
    sim = Simulator()
    seen = []
    expected = []
    extra = {}
    for parent, dt in follow_ups:
        if parent < len(times):
            extra.setdefault(parent, []).append(dt)

    def fire(tag):
        seen.append((sim.now, tag))
        if isinstance(tag, int):
            for j, dt in enumerate(extra.get(tag, [])):
                sim.schedule_at(sim.now + dt, fire, (tag, j))

    for i, t in enumerate(times):
        sim.schedule_at(t, fire, i)
    sim.run()
    for i, t in enumerate(times):
        expected.append(t)
        for dt in extra.get(i, []):
            expected.append(t + dt)
    assert [t for t, _ in seen] == sorted(expected)
    assert len(seen) == len(expected) == sim.events
    # ties keep insertion order among the events scheduled up front
    firsts = [tag for _, tag in seen if isinstance(tag, int)]
    assert firsts == sorted(range(len(times)), key=lambda i: (times[i], i))


def test_run_until_includes_events_at_the_limit():
    sim = Simulator()
    seen = []
    for t in (999, 1_000, 1_001, HORIZON + 1_000):
        sim.schedule_at(t, seen.append, t)
    sim.run(until_ps=1_000)
    assert seen == [999, 1_000] and sim.now == 1_000
    sim.run(until_ps=5 * HORIZON)
    assert seen == [999, 1_000, 1_001, HORIZON + 1_000] and sim.now == 5 * HORIZON
    assert sim.events == 4


def test_events_scheduled_at_now_run_in_order():
    sim = Simulator()
    seen = []

    def first():
        seen.append(("first", sim.now))
        sim.schedule_at(sim.now, seen.append, ("same-time", sim.now))
        sim.schedule_in(0, seen.append, ("same-time-2", sim.now))
    sim.schedule_at(50, first)
    sim.run()
    assert seen == [("first", 50), ("same-time", 50), ("same-time-2", 50)]


def test_scheduling_one_ps_in_the_past_is_refused():
    import pytest
    sim = Simulator()
    sim.schedule_at(1_000, lambda: None)
    sim.run()
    with pytest.raises(ValueError, match="cannot schedule at 999 ps, before now \\(1000 ps\\)"):
        sim.schedule_at(999, lambda: None)
    sim.schedule_at(1_000, lambda: None)          # now itself is allowed
    sim.run()
    assert sim.events == 2


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_many_far_events_pop_in_order(seed):
    """Thousands of events beyond the wheel live in the 4-ary heap: pushes in random order
    exercise sift-up through several levels, pops sift-down; the order must be exact."""
    import random
    rng = random.Random(seed)
    times = [rng.randrange(HORIZON, 200 * HORIZON) for _ in range(3000)]
    times += [t for t in times[:300]]               # duplicates: FIFO among equals
    seen = run_order(times)
    assert seen == sorted(((t, i) for i, t in enumerate(times)))


@pytest.mark.parametrize("start_bucket", [0, 10, 63, 64, 100, 4000, 4095])
def test_wrapped_buckets_of_the_next_rotation_wait_their_turn(start_bucket):
    """With the clock in bucket s, an event almost a horizon ahead lands in a bucket before
    s (the wheel wrapped): it must not run before nearer events in later buckets, even in
    the same 64-bucket word of the occupancy bitmap."""
    sim = Simulator()
    seen = []
    start = 3 * HORIZON + start_bucket * BUCKET + 7
    offsets = [HORIZON - 1 - k * BUCKET for k in range(0, 70, 3)] + \
              [k * BUCKET + 5 for k in range(0, 70, 4)] + [HORIZON // 2, 1]

    def arm():
        for i, d in enumerate(offsets):
            sim.schedule_at(sim.now + d, lambda d=d: seen.append(d))
    sim.schedule_at(start, arm)
    sim.run()
    assert seen == sorted(offsets)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 3), min_size=1, max_size=12),
       st.integers(0, 2**32 - 1))
def test_crowded_buckets_span_many_chunks_and_keep_order(buckets, seed):
    """A bucket holds its events in 31-event chunks that are recycled once emptied:
    hundreds of events in a few buckets (many chunks each), some scheduling more events
    into later buckets while theirs is drained (reusing chunks just emptied), run in
    exact (time, insertion) order."""
    import random
    rng = random.Random(seed)
    sim = Simulator()
    seen, expected = [], []

    def fire(tag, t):
        seen.append((sim.now, tag))
        if tag[0] == "first" and tag[1] % 7 == 0:          # a follow-up one bucket later
            t2 = sim.now + BUCKET + rng.randrange(BUCKET)
            sim.schedule_at(t2, fire, ("then", tag[1]), t2)

    k = 0
    for b in buckets:
        for _ in range(rng.randrange(1, 150)):
            t = b * BUCKET + rng.randrange(BUCKET)
            sim.schedule_at(t, fire, ("first", k), t)
            expected.append((t, k))
            k += 1
    assert sim.pending_events == k
    sim.run()
    firsts = [(t, tag[1]) for t, tag in seen if tag[0] == "first"]
    assert firsts == sorted(expected)
    assert [t for t, _ in seen] == sorted(t for t, _ in seen)
    assert sim.events == len(seen) == k + sum(1 for _, i in expected if i % 7 == 0)
    assert sim.pending_events == 0
