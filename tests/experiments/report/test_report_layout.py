"""How a sweep's varying keys are sorted into colour, panel and style axes, dependent keys
and seeds; the labels they give; and the sort order of tables."""
import doctest
import importlib

import pandas as pd
import pytest

from uesim.experiments.report.layout import short_names, sort_points, sweep_layout, tag_points


def grid(**axes):
    """A points table with every combination of ``axes`` (in the order given), keys in
    hash-like order (so store order is not sorted)."""
    idx = pd.MultiIndex.from_product(list(axes.values()), names=list(axes))
    pts = idx.to_frame(index=False)
    pts.insert(0, "point", [f"{(i * 7919) % 1000:04x}" for i in range(len(pts))])
    return pts.sort_values("point").reset_index(drop=True)


def test_docstring_examples():
    result = doctest.testmod(importlib.import_module("uesim.experiments.report.layout"))
    assert result.failed == 0 and result.attempted > 5


def test_names_come_first_seed_is_aggregated():
    pts = grid(**{"traffic.size_bytes": [8, 64], "transport.cc.name": ["nscc", "dctcp", "fixed"],
                  "seed": [1, 2, 3]})
    lay = sweep_layout(pts)
    assert (lay.colour.key, lay.panel.key, lay.style) == ("transport.cc.name", "traffic.size_bytes", [])
    assert (lay.seed, lay.n_seeds) == ("seed", 3)
    assert lay.keys == ["transport.cc.name", "traffic.size_bytes", "seed"]
    assert lay.group_keys == ["transport.cc.name", "traffic.size_bytes"]
    tags = tag_points(pts, lay)
    assert set(tags["colour"]) == {"cc=nscc", "cc=dctcp", "cc=fixed"}
    assert set(tags["panel"]) == {"size_bytes=8", "size_bytes=64"}
    assert tags.groupby("group")["seed"].nunique().eq(3).all() and tags["group"].nunique() == 6


def test_a_table_axis_is_one_axis():
    # "transport.cc" = [{name = "nscc"}, {name = "fixed", cwnd_bytes = 8192}, {name = "fixed", cwnd_bytes = 65536}]
    pts = pd.DataFrame({"point": list("abc"), "transport.cc.name": ["nscc", "fixed", "fixed"],
                        "transport.cc.cwnd_bytes": pd.array([None, 8192, 65536], dtype="Int64")})
    lay = sweep_layout(pts)
    assert len(lay.axes) == 1 and lay.colour.members == ("transport.cc.name", "transport.cc.cwnd_bytes")
    assert list(tag_points(pts, lay)["colour"]) == ["cc=nscc", "cc=fixed (cwnd_bytes=8192)",
                                                    "cc=fixed (cwnd_bytes=65536)"]
    # a parameter that follows the name is not repeated in the label
    one = pts.iloc[:2]
    assert list(tag_points(one, sweep_layout(one))["colour"]) == ["cc=nscc", "cc=fixed"]


def test_a_zip_partner_is_dependent_and_a_third_key_is_a_line_style():
    pts = grid(**{"topology.k": [4, 6], "transport.lb.name": ["ecmp", "mixed"], "fabric.trimming": [True, False]})
    pts["traffic.n_senders"] = pts["topology.k"].map({4: 15, 6: 53})         # zipped with k
    lay = sweep_layout(pts)
    assert [a.short for a in lay.axes] == ["lb", "trimming", "k"]       # names and flags before numbers
    assert lay.dependent == ["traffic.n_senders"] and lay.seed is None
    assert lay.style[0].numeric and not lay.panel.numeric and not lay.colour.numeric
    assert set(tag_points(pts, lay)["style"]) == {"k=4", "k=6"}


def test_colour_and_panel_can_be_chosen():
    pts = grid(**{"transport.cc.name": ["nscc", "dctcp"], "traffic.size_bytes": [8, 64], "seed": [1, 2]})
    lay = sweep_layout(pts, colour="size_bytes", panel="transport.cc.name")
    assert (lay.colour.short, lay.panel.short) == ("size_bytes", "cc")
    assert [a.short for a in sweep_layout(pts, panel="cc").axes] == ["size_bytes", "cc"]
    assert [a.short for a in sweep_layout(pts, colour="cc").axes] == ["cc", "size_bytes"]
    with pytest.raises(ValueError, match=r"colour 'seed': not a varying key .*varying: cc \(transport.cc.name\), "
                                         r"size_bytes \(traffic.size_bytes\)"):
        sweep_layout(pts, colour="seed")
    with pytest.raises(ValueError, match="the same key"):
        sweep_layout(pts, colour="cc", panel="transport.cc.name")


def test_sorted_by_the_varying_keys_not_the_point_key():
    pts = grid(**{"transport.cc.name": ["nscc", "dctcp"], "traffic.size_bytes": [64, 8], "seed": [2, 1]})
    assert list(pts["point"]) == sorted(pts["point"])                # store order: by key
    out = sort_points(pts, sweep_layout(pts))
    rows = list(out[["transport.cc.name", "traffic.size_bytes", "seed"]].itertuples(index=False, name=None))
    assert rows == sorted(rows) and rows != list(pts[["transport.cc.name", "traffic.size_bytes", "seed"]]
                                                 .itertuples(index=False, name=None))
    mixed = pts.assign(**{"traffic.size_bytes": [8, "big"] * 4})      # mixed types: ordered by their text
    assert len(sort_points(mixed, sweep_layout(mixed))) == 8


def test_short_names_stay_unique():
    names = short_names(["transport.cc.name", "transport.lb.name", "fabric.ecn.kmin_bytes", "other.kmin_bytes",
                         "topology.generator"])
    assert names == {"transport.cc.name": "cc", "transport.lb.name": "lb", "fabric.ecn.kmin_bytes": "ecn.kmin_bytes",
                     "other.kmin_bytes": "other.kmin_bytes", "topology.generator": "topology"}


def test_one_point_or_only_seeds():
    one = pd.DataFrame({"point": ["a"], "seed": [1], "traffic.size_bytes": [8]})
    lay = sweep_layout(one)
    assert lay.axes == [] and lay.seed is None and lay.fixed == ["seed", "traffic.size_bytes"]
    seeds = pd.DataFrame({"point": ["a", "b"], "seed": [1, 2], "traffic.size_bytes": [8, 8]})
    lay = sweep_layout(seeds)
    assert lay.axes == [] and lay.keys == ["seed"] and lay.n_seeds == 2
    assert set(tag_points(seeds, lay)["group"]) == {""}


def topology_sweep():
    """A ``topology = [{...}, ...]`` table axis x two load balancers (as
    experiments/scenarios/sweep_topologies.toml): each generator's parameters are NA at
    the other generators' points."""
    topos = [{"topology.generator": "leaf_spine", "topology.n_spines": 2, "topology.n_leaves": 4},
             {"topology.generator": "leaf_spine", "topology.n_spines": 4, "topology.n_leaves": 4},
             {"topology.generator": "fat_tree", "topology.k": 4},
             {"topology.generator": "rail_optimized", "topology.n_spines": 2, "topology.n_servers": 2}]
    rows = [{**t, "transport.lb.name": lb, "seed": s} for t in topos for lb in ("ecmp", "oblivious") for s in (1, 2)]
    pts = pd.DataFrame(rows)
    for c in ("topology.n_spines", "topology.n_leaves", "topology.k", "topology.n_servers"):
        pts[c] = pts[c].astype("Int64")
    return pts.assign(point=[f"{i:02x}" for i in range(len(pts))])


def test_keys_missing_at_some_points_still_group():
    # NA cells are a value of their own when checking what follows what (pandas 3 keeps
    # NA through astype(str)): the load balancer does not follow the topology
    pts = topology_sweep()
    lay = sweep_layout(pts)
    assert [a.short for a in lay.axes] == ["topology", "lb"] and lay.dependent == []
    assert lay.colour.members[0] == "topology.generator" and len(lay.colour.members) == 5
    assert tag_points(pts, lay)["group"].nunique() == 8


def test_a_parameter_is_labelled_where_it_tells_points_apart():
    pts = topology_sweep()
    labels = tag_points(pts, sweep_layout(pts)).drop_duplicates("colour")["colour"].tolist()
    assert labels == ["topology=leaf_spine (n_spines=2)", "topology=leaf_spine (n_spines=4)",
                      "topology=fat_tree", "topology=rail_optimized"]


def test_a_zip_partner_that_repeats_values_is_dependent():
    # "traffic.size_bytes" zipped with "run.until_ps", whose values repeat: the limit
    # follows the size, not the other way round (run. sorts before traffic.)
    pts = pd.DataFrame({"point": list("abcd"), "run.until_ps": [10, 10, 20, 40],
                        "traffic.size_bytes": [4, 16, 64, 256]})
    lay = sweep_layout(pts)
    assert [a.key for a in lay.axes] == ["traffic.size_bytes"] and lay.dependent == ["run.until_ps"]
