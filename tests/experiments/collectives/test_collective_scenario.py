"""``[traffic] pattern = "collective"``: one collective per run, stored by sweeps, plotted."""
from __future__ import annotations

import doctest

import pytest

import uesim.experiments.collectives.scenario as scen_mod
from uesim.experiments import check_scenario, run_scenario
from uesim.experiments.schema import ScenarioError

BASE = {"topology": {"generator": "leaf_spine", "n_leaves": 2, "n_spines": 1, "hosts_per_leaf": 4},
        "transport": {"name": "uet", "cc": {"name": "nscc"}}, "seed": 1}


def test_doctests():
    res = doctest.testmod(scen_mod, optionflags=doctest.ELLIPSIS)
    assert res.failed == 0 and res.attempted > 0


def coll(**traffic):
    return run_scenario(check_scenario({**BASE, "traffic": {"pattern": "collective", **traffic}})).collectives


def test_keys_move_the_result():
    small, big = coll(op="all_reduce", size_bytes=64 << 10), coll(op="all_reduce", size_bytes=4 << 20)
    assert big["busbw_gbps"][0] > small["busbw_gbps"][0] and big["time_us"][0] > small["time_us"][0]
    four = coll(op="all_reduce", size_bytes=1 << 20, n_ranks=4)
    assert four["ranks"][0] == 4
    tree = coll(op="all_reduce", size_bytes=1 << 20, algo="tree")
    assert tree["algo"][0] == "tree"
    ag = coll(op="all_gather", size_bytes=1 << 20, channels=2)
    assert ag["op"][0] == "all_gather"
    # rail placement on a flat leaf-spine is sequential; random crosses the spine more
    seq = coll(op="all_reduce", size_bytes=4 << 20)
    rnd = coll(op="all_reduce", size_bytes=4 << 20, placement="random")
    assert rnd["time_us"][0] != seq["time_us"][0]


@pytest.mark.parametrize("traffic,msg", [
    ({"op": "allreduce", "size_bytes": 1}, "traffic.op = 'allreduce': allowed: all_reduce"),
    ({"op": "all_to_all", "size_bytes": 1, "algo": "ring"}, "traffic.algo = 'ring' for all_to_all: allowed: direct"),
    ({"op": "all_reduce", "size_bytes": 1, "placement": "x"}, "traffic.placement = 'x': allowed: sequential"),
    ({"size_bytes": 1}, "missing key 'traffic.op'"),
])
def test_errors(traffic, msg):
    with pytest.raises(ScenarioError, match=msg):
        check_scenario({**BASE, "traffic": {"pattern": "collective", **traffic}})


def test_collective_keys_only_for_the_collective_pattern():
    with pytest.raises(ScenarioError, match="traffic.op: only for pattern 'collective'"):
        check_scenario({**BASE, "traffic": {"pattern": "permutation", "size_bytes": 1, "op": "all_reduce"}})


def test_too_many_ranks():
    with pytest.raises(ScenarioError, match="traffic.n_ranks = 9: the topology has 8 GPUs"):
        coll(op="all_reduce", size_bytes=1 << 20, n_ranks=9)


def test_sweep_stores_collectives_and_plots(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    from uesim.experiments.cli import main
    from uesim.experiments.store import load
    f = tmp_path / "s.toml"
    f.write_text("""
seed = 1
[topology]
generator = "leaf_spine"
n_leaves = 2
n_spines = 1
hosts_per_leaf = 4
[transport]
name = "uet"
cc = { name = "nscc" }
[traffic]
pattern = "collective"
op = "all_reduce"
size_bytes = 65536
[sweep.grid]
"traffic.size_bytes" = [65536, 1048576]
"traffic.algo" = ["ring", "tree"]
""")
    assert main(["sweep", str(f), "--out", str(tmp_path / "st"), "--jobs", "1"]) == 0
    c = load(tmp_path / "st").collectives
    assert len(c) == 4 and set(c["algo"]) == {"ring", "tree"}
    for col in ("point", "bytes", "time_us", "algbw_gbps", "busbw_gbps", "ideal_us", "stall_us"):
        assert col in c.columns
    capsys.readouterr()
    for kind in ("busbw", "stall"):
        assert main(["plot", str(tmp_path / "st"), kind, "-o", str(tmp_path / f"{kind}.png")]) == 0
        assert (tmp_path / f"{kind}.png").stat().st_size > 1000
