"""benchmarks/collective_matrix.py: its cases, its verdicts and a small slice of it."""
from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def matrix(load_benchmark):
    return load_benchmark("collective_matrix")


def _row(**kw):
    row = {"op": "all_reduce", "algo": "ring", "topology": "fat_tree", "preset": "uet", "gpus": 8,
           "bytes": 1 << 20, "time_us": 100.0, "ideal_us": 100.0, "ratio": 1.0, "finished": True,
           "no_loss_timeouts": 0, **{f"stall_{c}_us": 0.0 for c in
                                     ("loss_recovery", "reordering", "pause", "queueing", "other")}}
    row.update(kw)
    return row


def test_cases_cover_every_algorithm_and_keep_hier_to_the_hybrid(matrix):
    from uesim.experiments.collectives.algorithms import OP_ALGOS
    cs = matrix.cases(list(OP_ALGOS), ["fat_tree", "hgx_ls"], ["uet", "roce"], [8], [1 << 20])
    pairs = {(c[0], c[1]) for c in cs}
    assert pairs == {(op, a) for op, algos in OP_ALGOS.items() for a in algos}
    assert {c[2] for c in cs if c[1] == "hier"} == {"hgx_ls"}
    # 512 GPUs stop at 16 MiB
    big = matrix.cases(["all_to_all"], ["fat_tree"], ["uet"], [512], [16 << 20, 64 << 20])
    assert [c[5] for c in big] == [16 << 20]


def test_topologies_are_sized_to_the_gpus_and_non_blocking_where_claimed(matrix):
    import networkx as nx
    from uesim.topologies import parse_topology_spec
    for kind in matrix.TOPOLOGIES:
        G, placement = matrix.topology(kind, 32)
        G = parse_topology_spec(G) if isinstance(G, str) else G
        gpus = [v for v, d in G.nodes(data=True) if d.get("kind", d.get("role")) in ("gpu", "host")]
        assert len(gpus) >= 32, kind
        assert isinstance(G, nx.Graph)
    assert matrix.topology("rail", 32)[1] == "rail"
    with pytest.raises(ValueError, match="allowed: fat_tree"):
        matrix.topology("torus", 8)


def test_verdicts_flag_each_kind_of_wrong_row(matrix):
    assert matrix.verdicts(_row()) == []
    assert matrix.verdicts(_row(ratio=1.2, time_us=120.0)) == ["beyond 1.05x"]
    assert matrix.verdicts(_row(ratio=1.2, preset="roce")) == []          # within RoCE's 1.3x
    assert matrix.verdicts(_row(ratio=1.2, topology="ls2to1")) == []      # blocking: no bound
    assert matrix.verdicts(_row(ratio=0.9)) == ["below its ideal (0.900x)"]
    assert matrix.verdicts(_row(no_loss_timeouts=2)) == ["2 timeouts with nothing lost"]
    assert matrix.verdicts(_row(finished=False)) == ["unfinished"]


def test_explain_names_the_causes_and_what_they_explain(matrix):
    line = matrix.explain(_row(time_us=150.0, stall_queueing_us=40.0, stall_other_us=10.0))
    assert "excess 50.0 us" in line and "queueing 40.0 us" in line and "explain 80%" in line


def test_a_slice_runs_and_its_summary_counts_what_its_rows_show(matrix, capsys):
    assert matrix.main(["--ops", "all_reduce", "all_to_all", "--topologies", "fat_tree", "hgx_ls",
                        "--gpus", "8", "--sizes", "64K"]) == 0
    out = capsys.readouterr().out.splitlines()
    rows = [line for line in out if line.startswith(("all_reduce", "all_to_all"))]
    # all_reduce: 4 algorithms on the fat tree, 5 on the hybrid; all_to_all 1 each; 2 presets
    assert len(rows) == 2 * (4 + 5 + 1 + 1)
    summary = [line for line in out if line.startswith("# 22 rows in")]
    assert summary and "0 timeouts with nothing lost" in summary[0]
    assert "0 rows below 0.98x" in summary[0] and "0 unfinished" in summary[0]
