"""GraphML and node-link JSON round trips keep every attribute and its type."""

import json

import pytest

from uesim.topologies import (
    degrade_links,
    dragonfly,
    fail_links,
    fat_tree,
    hgx,
    hybrid,
    leaf_spine,
    multi_plane,
    read_graphml,
    read_json,
    torus,
    validate_topology,
    write_graphml,
    write_json,
)


def typed(attrs):
    return {k: (type(v).__name__, v) for k, v in attrs.items()}


def assert_same(G, H):
    assert list(G.nodes) == list(H.nodes)  # host numbering depends on node order
    assert typed(G.graph) == typed(H.graph)
    for n in G:
        assert typed(G.nodes[n]) == typed(H.nodes[n]), n
    assert {frozenset(e) for e in G.edges} == {frozenset(e) for e in H.edges}
    for u, v, d in G.edges(data=True):
        assert typed(d) == typed(H.edges[u, v]), (u, v)


GRAPHS = {
    "leaf_spine": lambda: leaf_spine(2, 2, 3, links_per_spine=2, host_rate_bps=400_000_000_000),
    "fat_tree_oversub": lambda: fat_tree(4, tor_oversubscription=1.5, agg_oversubscription=2),
    "hybrid": lambda: hybrid(hgx(2), multi_plane(fat_tree, planes=2, k=4), nics_per_gpu=2),
    "torus": lambda: torus((3, 2)),
    "dragonfly": lambda: dragonfly(5, 2, 1, 2, "relative"),
    "failed": lambda: degrade_links(fail_links(fat_tree(4), count=2), 0.5, count=3, seed=3),
}


@pytest.mark.parametrize("name", GRAPHS)
@pytest.mark.parametrize("fmt", ["graphml", "json"])
def test_round_trip(name, fmt, tmp_path):
    G = GRAPHS[name]()
    path = tmp_path / f"g.{fmt}"
    if fmt == "graphml":
        write_graphml(G, path)
        H = read_graphml(path)
    else:
        write_json(G, path)
        H = read_json(path)
    assert_same(G, H)
    validate_topology(H)


def test_graphml_declares_long_for_big_ints(tmp_path):
    G = leaf_spine(1, 1, 2, host_rate_bps=3_200_000_000_000)
    path = tmp_path / "g.graphml"
    write_graphml(G, path)
    text = path.read_text()
    assert 'attr.name="rate_bps" attr.type="long"' in text
    assert 'attr.type="int"' not in text
    assert read_graphml(path).edges["gpu0", "leaf0"]["rate_bps"] == 3_200_000_000_000


HAND_WRITTEN = """<?xml version="1.0" encoding="UTF-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key id="kind" for="node" attr.name="kind" attr.type="string"/>
  <key id="role" for="node" attr.name="role" attr.type="string"/>
  <key id="pod" for="node" attr.name="pod" attr.type="int"/>
  <key id="rate" for="edge" attr.name="rate_bps" attr.type="long"/>
  <key id="delay" for="edge" attr.name="delay_ps" attr.type="double"/>
  <key id="fabric" for="edge" attr.name="fabric" attr.type="string"/>
  <key id="links" for="edge" attr.name="links" attr.type="int"/>
  <key id="up" for="edge" attr.name="up" attr.type="boolean"/>
  <key id="name" for="graph" attr.name="name" attr.type="string"/>
  <graph id="G" edgedefault="undirected">
    <data key="name">my_lab</data>
    <node id="gpu0"><data key="kind">gpu</data><data key="role">host</data></node>
    <node id="gpu1"><data key="kind">gpu</data><data key="role">host</data></node>
    <node id="gpu2"><data key="kind">gpu</data><data key="role">host</data></node>
    <node id="tor0"><data key="kind">switch</data><data key="role">tor</data><data key="pod">0</data></node>
    <node id="tor1"><data key="kind">switch</data><data key="role">tor</data><data key="pod">1</data></node>
    <node id="spine0"><data key="kind">switch</data><data key="role">spine</data></node>
    <node id="spine1"><data key="kind">switch</data><data key="role">spine</data></node>
    <edge source="gpu0" target="tor0"><data key="rate">400000000000</data><data key="delay">500000</data><data key="fabric">scale_out</data></edge>
    <edge source="gpu1" target="tor0"><data key="rate">400000000000</data><data key="delay">500000</data><data key="fabric">scale_out</data></edge>
    <edge source="gpu2" target="tor1"><data key="rate">400000000000</data><data key="delay">500000</data><data key="fabric">scale_out</data></edge>
    <edge source="tor0" target="spine0"><data key="rate">800000000000</data><data key="delay">1000000</data><data key="fabric">scale_out</data><data key="links">2</data><data key="up">true</data></edge>
    <edge source="tor1" target="spine0"><data key="rate">800000000000</data><data key="delay">1000000</data><data key="fabric">scale_out</data><data key="links">2</data><data key="up">True</data></edge>
    <edge source="tor1" target="spine1"><data key="rate">800000000000</data><data key="delay">1000000</data><data key="fabric">scale_out</data><data key="links">2</data><data key="up">false</data></edge>
    <edge source="tor1" target="gpu0"><data key="rate">400000000000</data><data key="delay">500000</data><data key="fabric">scale_out</data></edge>
  </graph>
</graphml>
"""


def test_hand_written_graphml(tmp_path):
    path = tmp_path / "lab.graphml"
    path.write_text(HAND_WRITTEN)
    G = read_graphml(path)
    assert list(G)[:3] == ["gpu0", "gpu1", "gpu2"]
    assert G.graph == {"name": "my_lab"}
    e = G.edges["tor1", "spine1"]
    assert e == {"rate_bps": 800_000_000_000, "delay_ps": 1_000_000, "fabric": "scale_out",
                 "links": 2, "up": False}
    assert type(e["delay_ps"]) is int  # declared double, coerced: integral schema int
    assert G.edges["tor0", "spine0"]["up"] is True and "up" not in G.edges["gpu0", "tor0"]
    assert G.nodes["tor1"]["pod"] == 1
    validate_topology(G)  # spine1 has only a failed link: physically connected, fine
    G.edges["tor1", "spine0"]["up"] = False
    # gpu0 is dual-homed (tor0, tor1) and still reaches gpu2; gpu1 (tor0 only) does not
    with pytest.raises(ValueError, match="host 'gpu1' has no path to host 'gpu2'"):
        validate_topology(G)


def test_directed_graphml_becomes_undirected(tmp_path):
    path = tmp_path / "d.graphml"
    path.write_text(HAND_WRITTEN.replace('edgedefault="undirected"', 'edgedefault="directed"'))
    G = read_graphml(path)
    assert not G.is_directed()
    assert G.has_edge("spine0", "tor0")


def test_read_json_accepts_networkx_links_key(tmp_path):
    G = leaf_spine(1, 1, 2)
    path = tmp_path / "g.json"
    write_json(G, path)
    data = json.loads(path.read_text())
    data["links"] = data.pop("edges")
    path.write_text(json.dumps(data))
    assert_same(G, read_json(path))
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="not node-link JSON"):
        read_json(path)


def test_write_rejects_non_scalar_attributes(tmp_path):
    G = leaf_spine(1, 1, 1)
    G.graph["dims"] = (2, 2)
    with pytest.raises(ValueError, match="graph: attribute 'dims' must be a bool, int, float or str"):
        write_graphml(G, tmp_path / "x.graphml")
