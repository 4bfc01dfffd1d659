"""Sweep expansion: grid, zip, seeds; deep overrides; one clear error per bad axis."""
import pytest

from uesim.experiments.scenario import load_scenario
from uesim.experiments.schema import ScenarioError
from uesim.experiments.sweeps import expand_sweep, load_sweep, point_key

BASE = {"topology": {"generator": "leaf_spine", "n_leaves": 2, "n_spines": 2, "hosts_per_leaf": 2},
        "traffic": {"pattern": "permutation", "size_bytes": 1000}, "seed": 5}


def sweep(**table):
    return {**BASE, "sweep": table}


def test_grid_is_a_product_in_written_order():
    pts = expand_sweep(sweep(grid={"traffic.size_bytes": [1, 2, 3], "transport.mtu_bytes": [1500, 4096]}))
    assert [(p.config["traffic"]["size_bytes"], p.config["transport"]["mtu_bytes"]) for p in pts] == \
        [(1, 1500), (1, 4096), (2, 1500), (2, 4096), (3, 1500), (3, 4096)]
    assert pts[1].axes == {"traffic.size_bytes": 1, "transport.mtu_bytes": 4096}
    assert [p.index for p in pts] == list(range(6))
    assert len({p.key for p in pts}) == 6


def test_zip_advances_together_and_multiplies_with_grid():
    pts = expand_sweep(sweep(zip={"traffic.size_bytes": [10, 20], "run.until_ps": [100, 200]},
                             grid={"transport.lb.name": ["ecmp", "random"]}))
    got = [(p.config["transport"]["lb"]["name"], p.config["traffic"]["size_bytes"],
            p.config["run"]["until_ps"]) for p in pts]
    assert got == [("ecmp", 10, 100), ("ecmp", 20, 200), ("random", 10, 100), ("random", 20, 200)]


@pytest.mark.parametrize("table,seeds", [({"seeds": 3}, [5, 6, 7]), ({"replicates": 2}, [5, 6]),
                                         ({"seeds": [1, 42]}, [1, 42])])
def test_seeds_and_replicates(table, seeds):
    assert [p.config["seed"] for p in expand_sweep(sweep(**table))] == seeds


def test_no_sweep_is_one_point_and_points_are_resolved():
    (p,) = expand_sweep(dict(BASE))
    assert p.config["transport"]["cc"] == {"name": "fixed", "cwnd_bytes": 65536}   # defaults filled
    assert p.key == point_key(p.config)


def test_table_axis_replaces_the_table():
    raw = {**BASE, "transport": {"cc": {"name": "dctcp", "g": 0.5}},
           "sweep": {"grid": {"transport.cc": [{"name": "fixed", "cwnd_bytes": 8192}, {"name": "nscc"}]}}}
    pts = expand_sweep(raw)
    assert pts[0].config["transport"]["cc"] == {"name": "fixed", "cwnd_bytes": 8192}
    assert pts[1].config["transport"]["cc"]["name"] == "nscc" and "g" not in pts[1].config["transport"]["cc"]


def test_nested_axis_into_absent_table_starts_from_its_default():
    pts = expand_sweep(sweep(grid={"transport.cc.cwnd_bytes": [8192, 16384]}))
    assert [p.config["transport"]["cc"] for p in pts] == [
        {"name": "fixed", "cwnd_bytes": 8192}, {"name": "fixed", "cwnd_bytes": 16384}]


def test_equal_points_are_dropped():
    pts = expand_sweep(sweep(grid={"seed": [1, 1, 2]}))
    assert [p.config["seed"] for p in pts] == [1, 2]


def test_name_is_not_in_the_key_but_everything_else_is():
    (a,) = expand_sweep({**BASE, "name": "a"})
    (b,) = expand_sweep({**BASE, "name": "b"})
    (c,) = expand_sweep({**BASE, "plugins": []})
    (d,) = expand_sweep({**BASE, "fabric": {"trim_bytes": 65}})
    assert a.key == b.key == c.key != d.key


def test_deep_override_of_a_nested_key(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('[topology]\ngenerator = "leaf_spine"\nn_leaves = 2\nn_spines = 1\nhosts_per_leaf = 2\n'
                    '[transport]\ncc = { name = "fixed", cwnd_bytes = 4096 }\n'
                    '[traffic]\npattern = "permutation"\nsize_bytes = 100\n')
    sc = load_scenario(path, {"transport": {"cc": {"cwnd_bytes": 9000}}, "fabric": {"ecn": {
        "kmin_bytes": 1, "kmax_bytes": 2}}})
    assert sc["transport"]["cc"] == {"name": "fixed", "cwnd_bytes": 9000}
    assert sc["fabric"]["ecn"]["kmax_bytes"] == 2
    pts = load_sweep(path, {"transport": {"cc": {"cwnd_bytes": 9000}}})
    assert pts[0].config["transport"]["cc"]["cwnd_bytes"] == 9000


@pytest.mark.parametrize("table,message", [
    ({"grid": {"bogus.key": [1]}}, "sweep.grid.'bogus.key': unknown key 'bogus'"),
    ({"grid": {"traffic.size_bytes": []}}, "sweep.grid.'traffic.size_bytes' = []: an axis needs at least one value"),
    ({"grid": {"traffic.size_bytes": 5}}, "sweep.grid.'traffic.size_bytes' = 5: must be an array"),
    ({"zip": {"seed": [1, 2], "traffic.size_bytes": [5]}}, "sweep.zip: axes must have equal lengths"),
    ({"grid": {"traffic.size_bytes": [10, -1]}}, "sweep.grid.'traffic.size_bytes' = -1: traffic.size_bytes = -1: must be an integer >= 1"),
    ({"grid": {"transport.cc.name": ["nscc", "nope"]}}, "sweep.grid.'transport.cc.name' = 'nope': transport.cc.name = 'nope': unknown congestion control"),
    ({"grid": {"transport.cc.bogus": [1]}}, "sweep.grid.'transport.cc.bogus' = 1: unknown key 'transport.cc.bogus'"),
    ({"grid": {"seed": [1]}, "seeds": 2}, "'seed' is an axis and seeds/replicates is given"),
    ({"seeds": 2, "replicates": 2}, "give seeds or replicates"),
    ({"seeds": 0}, "sweep.seeds = 0: must be an integer >= 1"),
    ({"replicates": "3"}, "sweep.replicates = '3': must be an integer"),
    ({"grid": {"seed": [1]}, "zip": {"seed": [2]}}, "axis 'seed' is in both grid and zip"),
    ({"gird": {}}, "unknown key 'sweep.gird'; allowed in sweep: grid, zip, seeds, replicates"),
    ({"grid": [1]}, "sweep.grid = [1]: must be a table of axes"),
    ({"grid": {"seed.x": [1]}}, "'seed' is 5, not a table"),
])
def test_bad_axes_give_one_clear_error(table, message):
    with pytest.raises(ScenarioError) as info:
        expand_sweep(sweep(**table))
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_base_is_reported_as_the_base():
    with pytest.raises(ScenarioError, match="^missing key 'traffic'"):
        expand_sweep({"topology": BASE["topology"], "sweep": {"seeds": 2}})
