"""``uesim topo describe`` / ``draw`` functions: reports, JSON, and one-line errors."""
from __future__ import annotations

import json
import sys

import pytest

from uesim.experiments.topo_cli import MAX_DRAW_NODES, describe_main, draw_main
from uesim.topologies import (fail_links, fat_tree, hgx, hybrid, leaf_spine, rail_optimized,
                              write_graphml, write_json)

PREFIX = "uesim topo: error: "


def _one_error_line(capsys, *needles):
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(PREFIX), err
    assert "Traceback" not in err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


# ---------------------------------------------------------------------------- describe

def test_describe_fat_tree_report(capsys):
    assert describe_main("fat_tree:k=4") == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.startswith("topology fat_tree (k=4")
    assert "hosts 16, switches 20" in out
    assert "host 16, tor 8, agg 8, core 4" in out
    assert "100 Gbps x 48" in out
    assert "diameter: 6 hops" in out
    assert "bisection bandwidth: 800 Gbps" in out
    assert "tor 1.00:1, agg 1.00:1" in out
    assert "path diversity" in out and "max 4" in out


def test_describe_json_is_one_object(capsys):
    assert describe_main("leaf_spine:n_leaves=4,n_spines=2,hosts_per_leaf=8",
                         as_json=True) == 0
    out, _ = capsys.readouterr()
    assert len(out.strip().splitlines()) == 1
    d = json.loads(out)
    assert d["name"] == "leaf_spine" and d["n_hosts"] == 32
    assert d["links_by_rate"] == {"100000000000": 32 + 8}
    assert d["oversubscription"]["leaf"] == 4.0 and d["oversubscription"]["spine"] is None
    assert d["bisection_bandwidth_bps"] == 2 * 2 * 100_000_000_000
    assert d["params"]["n_leaves"] == 4 and d["notes"] == []


def test_describe_mixed_rates_and_failures(tmp_path, capsys):
    G = fail_links(hybrid(hgx(2), rail_optimized(2, 8, 2)), count=1, seed=0)
    path = tmp_path / "hybrid.json"
    write_json(G, path)
    assert describe_main(str(path)) == 0
    out, _ = capsys.readouterr()
    assert "100 Gbps x" in out and "900 Gbps x 64" in out
    assert "scale_up 64" in out and "failed: 1" in out
    assert "nvswitch" in out


def test_describe_scale_up_only_domains_is_a_note_not_an_error(capsys):
    assert describe_main("hgx:n_servers=2") == 0
    out, err = capsys.readouterr()
    assert err == "" and "note: scale-up only graph" in out
    assert "diameter: none" in out


@pytest.mark.parametrize("spec, needles", [
    ("fat_tree:k=3", ["k must be an even int"]),
    ("no_such_topology:k=4", ["unknown topology generator 'no_such_topology'", "fat_tree"]),
    ("fat_tree:k", ["expected key=value"]),
    ("fat_tree:k=4,radix=2", ["unknown parameter 'radix'"]),
    ("leaf_spine:n_leaves=2", ["missing required parameter"]),
    ("", ["non-empty"]),
    ("missing_file.graphml", ["missing_file.graphml", "no such file"]),
])
def test_describe_bad_specs(spec, needles, capsys):
    assert describe_main(spec) == 2
    _one_error_line(capsys, *needles)


def _broken(tmp_path, name, mutate, fmt="graphml"):
    G = leaf_spine(2, 2, 2)
    mutate(G)
    path = tmp_path / f"{name}.{fmt}"
    (write_graphml if fmt == "graphml" else write_json)(G, path)
    return str(path)


def _del_rate(G):
    del G.edges["leaf1", "spine0"]["rate_bps"]


def _zero_rate(G):
    G.edges["gpu2", "leaf1"]["rate_bps"] = 0


def _disconnect_host(G):
    G.remove_edge("gpu3", "leaf1")


def _host_on_island(G):
    G.remove_edge("gpu3", "leaf1")
    G.add_node("island", kind="switch", role="tor")
    G.add_edge("gpu3", "island", rate_bps=10, delay_ps=0, fabric="scale_out")


def _unknown_role(G):
    G.nodes["spine1"]["role"] = "superspine"


def _bad_fabric(G):
    G.edges["leaf0", "spine0"]["fabric"] = "nvlink"


@pytest.mark.parametrize("fmt", ["graphml", "json"])
@pytest.mark.parametrize("mutate, needles", [
    (_del_rate, ["('leaf1', 'spine0')", "missing attribute 'rate_bps'"]),
    (_zero_rate, ["('gpu2', 'leaf1')", "rate_bps must be > 0"]),
    (_disconnect_host, ["'gpu3'", "no switch neighbour"]),
    (_host_on_island, ["gpu3", "disconnected"]),
    (_unknown_role, ["'spine1'", "unknown role 'superspine'"]),
    (_bad_fabric, ["unknown fabric 'nvlink'"]),
])
def test_describe_broken_files(tmp_path, capsys, mutate, needles, fmt):
    path = _broken(tmp_path, mutate.__name__, mutate, fmt)
    assert describe_main(path) == 2
    line = _one_error_line(capsys, *needles)
    assert path in line


def test_describe_unreadable_files(tmp_path, capsys):
    bad_xml = tmp_path / "bad.graphml"
    bad_xml.write_text("<graphml><graph")
    assert describe_main(str(bad_xml)) == 2
    _one_error_line(capsys, "bad.graphml")
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{not json")
    assert describe_main(str(bad_json)) == 2
    _one_error_line(capsys, "bad.json")
    not_topology = tmp_path / "list.json"
    not_topology.write_text("[1, 2]")
    assert describe_main(str(not_topology)) == 2
    _one_error_line(capsys, "node-link")
    no_source = tmp_path / "nosrc.json"
    no_source.write_text('{"nodes": [{"id": "gpu0", "kind": "gpu", "role": "host"}], '
                         '"edges": [{"target": "gpu0"}]}')
    assert describe_main(str(no_source)) == 2
    _one_error_line(capsys, "nosrc.json", "'source'")
    bad_nodes = tmp_path / "nodes.json"
    bad_nodes.write_text('{"nodes": 5}')
    assert describe_main(str(bad_nodes)) == 2
    _one_error_line(capsys, "nodes.json")


# -------------------------------------------------------------------------------- draw

def test_draw_without_matplotlib(monkeypatch, tmp_path, capsys):
    monkeypatch.setitem(sys.modules, "matplotlib", None)   # import fails
    assert draw_main("fat_tree:k=4", str(tmp_path / "x.png")) == 2
    _one_error_line(capsys, "matplotlib", "uesim[plot]")
    assert not (tmp_path / "x.png").exists()


def test_draw_refuses_large_and_bad_output(tmp_path, capsys):
    assert draw_main("fat_tree:k=24", str(tmp_path / "big.png")) == 2
    _one_error_line(capsys, "4,176 nodes", f"at most {MAX_DRAW_NODES:,}", "describe")
    assert draw_main("fat_tree:k=4", str(tmp_path / "x.txt")) == 2
    _one_error_line(capsys, ".png")
    assert draw_main("fat_tree:k=5", str(tmp_path / "x.png")) == 2
    _one_error_line(capsys, "even")


PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("spec", [
    "fat_tree:k=4",
    "torus:dims=3x3",
    "dragonfly:groups=5,routers_per_group=2,hosts_per_router=1,global_links_per_router=2",
    "hgx:n_servers=2",
    "multi_plane:base=leaf_spine,planes=2,n_leaves=2,n_spines=2,hosts_per_leaf=4",
])
def test_draw_writes_png(spec, tmp_path, capsys):
    pytest.importorskip("matplotlib")
    out = tmp_path / "topo.png"
    assert draw_main(spec, str(out)) == 0
    stdout, err = capsys.readouterr()
    assert err == "" and "wrote" in stdout
    assert out.read_bytes()[:8] == PNG_MAGIC


def test_draw_hybrid_with_failures_from_file(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    G = fail_links(hybrid(hgx(2), fat_tree(4)), count=2, seed=1)
    src = tmp_path / "h.graphml"
    write_graphml(G, src)
    for ext in ("png", "svg"):
        out = tmp_path / f"h.{ext}"
        assert draw_main(str(src), str(out)) == 0
        assert out.stat().st_size > 1000
    assert (tmp_path / "h.png").read_bytes()[:8] == PNG_MAGIC


def test_draw_unwritable_output(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    assert draw_main("fat_tree:k=4", str(tmp_path / "no" / "dir" / "x.png")) == 2
    _one_error_line(capsys, "cannot write")


def test_docstring_examples():
    import doctest

    import uesim.experiments.topo_cli as topo_cli
    import uesim.fabric.routing as routing
    for mod in (topo_cli, routing):
        assert doctest.testmod(mod, optionflags=doctest.ELLIPSIS).failed == 0
