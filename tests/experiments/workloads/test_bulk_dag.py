"""Workload.flows (many flow nodes in one call) builds the DAG flow() builds node by node."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from uesim.experiments.collectives.algorithms import compile_collective
from uesim.experiments.workloads.dag import Workload


def same_dag(a: Workload, b: Workload) -> bool:
    x, y = a.arrays(), b.arrays()
    return x.keys() == y.keys() and all(np.array_equal(x[k], y[k]) for k in x)


@st.composite
def batches(draw):
    """A DAG as batches of flow nodes, each node with up to 3 predecessors (or none)."""
    out, n = [], 0
    for _ in range(draw(st.integers(1, 5))):
        size = draw(st.integers(1, 6))
        k = draw(st.integers(0, 3))
        after = [[draw(st.integers(-1, n - 1)) if n else -1 for _ in range(size)] for _ in range(k)]
        src = [draw(st.integers(0, 3)) for _ in range(size)]
        dst = [(s + draw(st.integers(1, 3))) % 4 for s in src]
        nbytes = [draw(st.integers(0, 10_000)) for _ in range(size)]
        out.append((src, dst, nbytes, after))
        n += size
    return out


@settings(max_examples=200, deadline=None)
@given(batches())
def test_flows_in_bulk_are_flow_called_per_node(spec):
    bulk, one = Workload(), Workload()
    for src, dst, nbytes, after in spec:
        nodes = bulk.flows(src, dst, nbytes, after=after)
        for i in range(len(src)):
            node = one.flow(src[i], dst[i], nbytes[i], after=[a[i] for a in after if a[i] >= 0])
            assert node == nodes[i]
    assert same_dag(bulk, one)


def test_flows_share_scalars_and_reject_what_flow_rejects():
    w = Workload()
    first = w.flows([0, 1, 2], 3, 4096)
    assert first.tolist() == [0, 1, 2] and w.arrays()["dst"].tolist() == [3, 3, 3]
    with pytest.raises(ValueError, match="predecessor 3 does not exist yet"):
        w.flows([0], [1], 1, after=[[3]])
    with pytest.raises(ValueError, match="src = dst = 3"):
        w.flows([0, 3], [1, 3], 1)
    with pytest.raises(ValueError, match="size_bytes must be >= 0"):
        w.flows([0], [1], -1)
    assert len(w) == 3                   # a rejected batch adds nothing


def test_a_long_join_is_the_same_as_a_short_one():
    # compute(after=...) takes thousands of predecessors in bulk: the same edges
    a, b = Workload(), Workload()
    for w in (a, b):
        w.flows(np.zeros(40, dtype=int), 1, 100)
    a.compute(1, 0, after=list(range(40)))
    b.compute(1, 0, after=list(range(20)) + list(range(20, 40)))
    assert same_dag(a, b)
    with pytest.raises(ValueError, match="predecessor 41 does not exist yet"):
        a.compute(1, 0, after=list(range(17)) + [41])


def reference_ring(n, piece, steps, channels, chunks):
    """The ring primitive written node by node (how it was before the bulk builder)."""
    w = Workload()
    split = lambda size, parts: [size // parts + (1 if i < size % parts else 0) for i in range(parts)]  # noqa: E731
    received = [[] for _ in range(n)]
    for ch in split(piece, channels):
        last = [[None] * n for _ in range(steps)]
        for m in split(ch, chunks):
            prev = [None] * n
            for k in range(steps):
                cur = [None] * n
                for i in range(n):
                    after = [] if k == 0 else [prev[(i - 1) % n]]
                    if last[k][i] is not None:
                        after.append(last[k][i])
                    cur[i] = w.flow(i, (i + 1) % n, m, after=after)
                for i in range(n):
                    received[(i + 1) % n].append(cur[i])
                prev = last[k] = cur
    for i in range(n):
        w.compute(i, 0, after=received[i])
    return w


@pytest.mark.parametrize("n, channels, chunks", [(2, 1, 1), (5, 1, 1), (8, 2, 1), (6, 1, 3), (4, 2, 2)])
def test_the_bulk_ring_is_the_ring_sent_node_by_node(n, channels, chunks):
    c = compile_collective("reduce_scatter", list(range(n)), n << 20, "ring", channels=channels, chunks=chunks)
    assert same_dag(c.workload, reference_ring(n, 1 << 20, n - 1, channels, chunks))


def test_the_bulk_direct_sends_every_pair_once_after_its_sender_is_ready():
    n = 6
    c = compile_collective("all_to_all", list(range(n)), n * n << 10, "direct")
    a = c.workload.arrays()
    flows = np.flatnonzero(a["kind"] == 0)
    pairs = set(zip(a["src"][flows].tolist(), a["dst"][flows].tolist()))
    assert pairs == {(i, j) for i in range(n) for j in range(n) if i != j} and len(flows) == n * (n - 1)
    assert (a["size"][flows] == n << 10).all() and (a["n_pred"][flows] == 0).all()
    joins = np.flatnonzero(a["kind"] == 1)
    assert (a["n_pred"][joins] == n - 1).all()      # each rank's join waits for its n-1 receives
