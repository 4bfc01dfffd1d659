"""The compiled fluid schedule: fair sharing, strict priority, components, DAG paths."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from fluid_reference import reference_finish
from uesim.fabric.fluid import _sort_pairs, dag_paths, fluid_finish, one_resource_bounds, range_longest, widest_level


def _dag(n, edges):
    """CSR successors and predecessor counts of ``edges`` (pairs, from < to)."""
    frm = np.array([a for a, _ in edges], dtype=np.int64)
    to = np.array([b for _, b in edges], dtype=np.int64)
    order = np.argsort(frm, kind="stable")
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(frm, minlength=n), out=ptr[1:])
    return ptr, to[order], np.bincount(to, minlength=n).astype(np.int64)


def _run(res, wire, cap, edges=(), alpha=None, delay=None, flow_cap=None, weight=None, kind=None,
         priority=None):
    n = len(res)
    res = np.asarray(res, dtype=np.int64).reshape(n, -1)
    ptr, succ, npred = _dag(n, list(edges))
    return fluid_finish(np.zeros(n, np.int8) if kind is None else np.asarray(kind, np.int8),
                        np.asarray(wire, dtype=np.int64), np.asarray(wire, dtype=np.float64), res,
                        np.ones(res.shape) if weight is None else np.asarray(weight, float),
                        np.asarray(cap, float), np.full(n, np.inf) if flow_cap is None else np.asarray(flow_cap, float),
                        np.zeros(n, np.int64) if alpha is None else np.asarray(alpha, np.int64),
                        np.zeros(n, np.int64) if delay is None else np.asarray(delay, np.int64),
                        ptr, succ, npred, priority=priority)


def test_messages_on_one_resource_share_it_equally():
    # two 100-byte messages on a 1 byte/ps resource: 50 each until 200 ps
    assert _run([[0], [0]], [100, 100], [1.0]).tolist() == [200.0, 200.0]


def test_a_message_that_ends_leaves_its_share_to_the_others():
    # 50 and 150 bytes: both at 0.5 until 100 ps, then the second alone at 1.0: 200 ps
    assert _run([[0], [0]], [50, 150], [1.0]).tolist() == [100.0, 200.0]


def test_twice_the_capacity_halves_the_transfer():
    one = _run([[0]], [1000], [1.0])[0]
    two = _run([[0]], [1000], [2.0])[0]
    assert one == 2 * two == 1000.0


def test_max_min_gives_the_unbottlenecked_message_the_rest():
    # m0 uses r0 and r1, m1 only r0, m2 only r1 whose capacity is small: m2 and m0 share r1
    # at 0.25 each; m1 takes the 0.75 of r0 that m0 leaves
    fin = _run([[0, 1], [0, 0], [1, 1]], [25, 75, 25], [1.0, 0.5],
               weight=[[1.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    assert fin.tolist() == pytest.approx([100.0, 100.0, 100.0])


def test_flow_cap_limits_a_message():
    assert _run([[0]], [100], [10.0], flow_cap=[2.0]).tolist() == [50.0]


def test_latency_and_delay_follow_the_dag():
    # m0 then (5 ps delay) m1; m0's latency 7 ps
    fin = _run([[0], [0]], [10, 10], [1.0], edges=[(0, 1)], alpha=[7, 0], delay=[0, 5])
    assert fin.tolist() == [17.0, 32.0]


def test_compute_nodes_take_their_duration():
    fin = _run([[0], [0]], [40, 10], [1.0], edges=[(0, 1)], kind=[1, 0])
    assert fin.tolist() == [40.0, 50.0]


def test_strict_priority_serves_the_largest_first():
    fin = _run([[0], [0]], [100, 100], [1.0], priority=np.array([1.0, 2.0]))
    assert fin.tolist() == [200.0, 100.0]


def test_a_change_in_one_component_leaves_the_other_alone():
    # m0 alone on r0; m1 and m2 share r1, m2 starts late: m0's finish never moves
    alone = _run([[0]], [100], [1.0])[0]
    fin = _run([[0], [1], [1]], [100, 100, 100], [1.0, 1.0], delay=[0, 0, 30])
    assert fin[0] == alone
    assert fin[1] == pytest.approx(30 + 2 * 70)


def test_a_resource_without_capacity_is_an_error():
    with pytest.raises(ValueError, match="can never finish"):
        _run([[0]], [100], [0.0])


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_it_matches_the_plain_numpy_schedule(data):
    n = data.draw(st.integers(1, 14))
    n_res = data.draw(st.integers(1, 5))
    res = np.array([data.draw(st.lists(st.integers(0, n_res - 1), min_size=2, max_size=2)) for _ in range(n)])
    # a first column of weight 0 too: a message loading nothing runs at its cap
    weight = np.array([[data.draw(st.sampled_from([1.0, 1.0, 1.0, 0.0])), data.draw(st.sampled_from([0.0, 0.01, 0.5, 1.0]))]
                       for _ in range(n)])
    wire = np.array([data.draw(st.integers(1, 10_000)) for _ in range(n)], dtype=np.int64)
    cap = np.array([data.draw(st.sampled_from([0.5, 1.0, 3.0])) for _ in range(n_res)])
    edges = sorted({(a, b) for a, b in data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                                                          max_size=2 * n)) if a < b})
    alpha = np.array([data.draw(st.integers(0, 500)) for _ in range(n)], dtype=np.int64)
    delay = np.array([data.draw(st.integers(0, 500)) for _ in range(n)], dtype=np.int64)
    flow_cap = np.array([data.draw(st.sampled_from([np.inf, 0.3, 2.0])) for _ in range(n)])
    flow_cap[(weight == 0).all(axis=1)] = 0.3     # one that loads nothing needs its own cap
    ptr, succ, npred = _dag(n, edges)
    args = (np.zeros(n, np.int8), wire, wire.astype(float), res, weight, cap, flow_cap, alpha, delay,
            ptr, succ, npred)
    got = fluid_finish(*args)
    want = reference_finish(*args)
    assert got == pytest.approx(want, rel=1e-9, abs=1e-6)


def test_dag_paths_and_levels():
    ptr, succ, _ = _dag(4, [(0, 1), (0, 2), (1, 3), (2, 3)])
    through, after = dag_paths(ptr, succ, np.array([1.0, 5.0, 2.0, 1.0]), np.zeros(4, np.int64))
    assert through.tolist() == [1.0, 6.0, 3.0, 7.0]
    assert after.tolist() == [6.0, 1.0, 1.0, 0.0]
    assert widest_level(ptr, succ, np.zeros(4, np.int8)) == 2


def test_one_resource_bound_is_jacksons_schedule():
    # both released at 0 on one resource: serve the long tail first: 3 + 10 = 13
    assert one_resource_bounds(np.array([0, 0]), np.zeros(2), np.array([5.0, 3.0]),
                               np.array([1.0, 10.0])) == 13.0
    # on two resources they do not interfere
    assert one_resource_bounds(np.array([0, 1]), np.zeros(2), np.array([5.0, 3.0]),
                               np.array([1.0, 10.0])) == 13.0
    # a late release waits: released at 20, 5 of work, tail 1
    assert one_resource_bounds(np.array([0]), np.array([20.0]), np.array([5.0]), np.array([1.0])) == 26.0


def test_a_resource_whose_loading_messages_all_stopped_at_their_caps_never_fills():
    # message 1 is on resource 0 with weight 0 (and alone on resource 1); message 0, the
    # only one loading resource 0, stops at its cap of 0.3: resource 0 never fills, so
    # message 1 runs at resource 1's full capacity
    res = np.array([[0, 0], [1, 0]])
    weight = np.array([[1.0, 0.0], [1.0, 0.0]])
    wire = np.array([3, 2])
    fin = fluid_finish(np.zeros(2, np.int8), wire, wire.astype(float), res, weight, np.array([0.5, 1.0]),
                       np.array([0.3, np.inf]), np.zeros(2, np.int64), np.zeros(2, np.int64),
                       np.zeros(3, np.int64), np.zeros(0, np.int64), np.zeros(2, np.int64))
    assert fin.tolist() == pytest.approx([10.0, 2.0])


def test_a_resource_filled_by_messages_that_froze_elsewhere_stops_its_weightless_ones():
    # message 0 fills resources 0 and 1 at the same level (it is resource 1's only load);
    # message 1 is on resource 1 with weight 0: it stops there too (rate 0.5, not 50)
    # until message 0 ends at 2 ps, then runs at 50 bytes/ps
    res = np.array([[0, 1], [1, 2]])
    weight = np.array([[1.0, 1.0], [0.0, 0.01]])
    wire = np.array([1, 10])
    fin = fluid_finish(np.zeros(2, np.int8), wire, wire.astype(float), res, weight, np.array([0.5, 0.5, 0.5]),
                       np.full(2, np.inf), np.zeros(2, np.int64), np.zeros(2, np.int64),
                       np.zeros(3, np.int64), np.zeros(0, np.int64), np.zeros(2, np.int64))
    assert fin.tolist() == pytest.approx([2.0, 2.18])


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_range_longest_is_the_longest_path_inside_each_range(data):
    n = data.draw(st.integers(1, 12))
    edges = sorted({(a, b) for a, b in data.draw(st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)),
                                                           max_size=25)) if a < b})
    own = np.array([float(data.draw(st.integers(0, 1000))) for _ in range(n)])
    delay = np.array([data.draw(st.integers(0, 100)) for _ in range(n)], dtype=np.int64)
    ranges = [sorted(data.draw(st.lists(st.integers(0, n), min_size=2, max_size=2))) for _ in range(3)]
    ptr, succ, _ = _dag(n, edges)
    got = range_longest(ptr, succ, own, delay, np.array([r[0] for r in ranges]), np.array([r[1] for r in ranges]))
    for (lo, hi), g in zip(ranges, got.tolist()):
        finish = {}                          # plain: predecessors inside the range only
        for v in range(lo, hi):
            start = max([finish[u] for u, w in edges if w == v and lo <= u], default=0.0)
            finish[v] = start + delay[v] + own[v]
        assert g == max(finish.values(), default=0.0)


def test_a_range_outside_the_dag_is_an_error():
    with pytest.raises(ValueError, match="range 0..3 outside the DAG's 2 nodes"):
        range_longest(np.array([0, 0, 0]), np.zeros(0, np.int64), np.zeros(2), np.zeros(2, np.int64),
                      np.array([0]), np.array([3]))


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-10**12, 10**12), unique=True, max_size=300))
def test_the_component_sort_orders_pairs_by_key(keys):
    values = [3 * k + 1 for k in keys]
    got_k, got_v = _sort_pairs(keys, values)
    assert got_k.tolist() == sorted(keys)                     # insertion sort and heap sort alike
    assert got_v.tolist() == [3 * k + 1 for k in sorted(keys)]  # each value moves with its key


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(-10**12, 10**12), unique=True, min_size=49, max_size=400))
def test_the_heap_sort_of_large_components_orders_pairs_by_key(keys):
    got_k, got_v = _sort_pairs(keys, [-k for k in keys])
    assert got_k.tolist() == sorted(keys) and got_v.tolist() == [-k for k in sorted(keys)]


def test_a_large_component_matches_the_plain_numpy_schedule():
    """120 messages over 6 resources, started in a shuffled order: components beyond the
    insertion sort's size, re-solved as messages come and go."""
    rng = np.random.default_rng(5)
    n = 120
    res = rng.integers(0, 6, size=(n, 2))
    wire = rng.integers(1_000, 50_000, size=n).astype(np.int64)
    delay = rng.permutation(n).astype(np.int64) * 7
    ptr, succ, npred = _dag(n, [])
    args = (np.zeros(n, np.int8), wire, wire.astype(float), res, np.ones((n, 2)), np.full(6, 1.0),
            np.full(n, np.inf), np.zeros(n, np.int64), delay, ptr, succ, npred)
    stats = {}
    got = fluid_finish(*args, stats=stats)
    assert stats["comp_messages"] / stats["solves"] > 48        # the heap sort did run
    assert got == pytest.approx(reference_finish(*args), rel=1e-9, abs=1e-6)
