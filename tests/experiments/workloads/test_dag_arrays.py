"""A DAG's arrays are worked out once and follow it as it grows."""
from uesim.experiments.workloads.dag import Workload


def test_arrays_are_kept_until_the_dag_grows():
    w = Workload()
    a = w.flow(0, 1, 4096)
    first = w.arrays()
    assert w.arrays() is first                      # asked again: the same arrays
    del first                                       # (arrays held by a caller pin the buffers)
    w.flow(1, 2, 8192, after=[a])                   # the cache lets go: the buffers can grow
    grown = w.arrays()
    assert grown["size"].tolist() == [4096, 8192] and grown["n_pred"].tolist() == [0, 1]
    del grown
    w.flows([2, 3], [3, 0], 100, after=[[1, -1]])
    assert w.arrays()["succ"].tolist() == [1, 2] and len(w.arrays()["kind"]) == 4
    w.compute(0, 5, after=[3])
    assert w.arrays()["kind"].tolist() == [0, 0, 0, 0, 1]
