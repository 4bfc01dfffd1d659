"""experiments/faults.py: the [faults] table on a topology graph."""
import doctest

import pytest

from uesim.experiments import faults as faults_mod
from uesim.experiments.faults import apply_faults
from uesim.experiments.schema import ScenarioError
from uesim.topologies import fat_tree


def slow(G):
    return sorted((u, v) for u, v, d in G.edges(data=True) if "nominal_rate_bps" in d)


def test_doctests():
    assert doctest.testmod(faults_mod).failed == 0


def test_empty_tables_change_nothing():
    G = fat_tree(4)
    assert apply_faults(G, None, 1) is G and apply_faults(G, {}, 1) is G
    assert apply_faults(G, {"degrade_links": 0}, 1) is G


def test_random_links_are_seeded_switch_links():
    G = fat_tree(4)
    a, b, c = (apply_faults(G, {"degrade_links": 8}, s) for s in (1, 1, 2))
    assert slow(a) == slow(b) != slow(c) and len(slow(a)) == 8
    assert all(G.nodes[u]["kind"] == G.nodes[v]["kind"] == "switch" for u, v in slow(a))
    assert {d["rate_bps"] for *_, d in a.edges(data=True) if "nominal_rate_bps" in d} == {25_000_000_000}
    assert slow(G) == []                       # the input graph is not modified


def test_named_links_and_factor():
    H = apply_faults(fat_tree(4), {"degrade_edges": [["tor0", "agg0"]], "degrade_factor": 0.5}, 0)
    assert slow(H) == [("tor0", "agg0")] and H.edges["tor0", "agg0"]["rate_bps"] == 50_000_000_000


def test_errors_name_the_key():
    with pytest.raises(ScenarioError, match="faults.degrade_edges: edges: .*not an edge"):
        apply_faults(fat_tree(4), {"degrade_edges": [["tor0", "core0"]]}, 0)
    with pytest.raises(ScenarioError, match="faults.degrade_links: count=999"):
        apply_faults(fat_tree(4), {"degrade_links": 999}, 0)
    with pytest.raises(ScenarioError, match="at most one of"):
        apply_faults(fat_tree(4), {"degrade_links": 1, "degrade_edges": [["tor0", "agg0"]]}, 0)
