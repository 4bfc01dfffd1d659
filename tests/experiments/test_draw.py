"""Drawing: what is drawn, not only that a file appeared (matplotlib is in the test extra).

Matplotlib's SVG writer keeps every text element as a comment, so the labels, the title
and the legend entries of a drawing can be read back."""
import re

import pytest

from uesim.experiments.topo_cli import _layout, draw_main
from uesim.topologies import fail_links, fat_tree, hgx, hybrid, leaf_spine, write_graphml

pytest.importorskip("matplotlib")


def svg_texts(path):
    return re.findall(r"<!-- (.*?) -->", path.read_text())


def test_fat_tree_svg_has_every_label_title_and_legend(tmp_path, capsys):
    out = tmp_path / "ft.svg"
    assert draw_main("fat_tree:k=4", str(out)) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out} (36 nodes, 48 edges)"
    texts = svg_texts(out)
    G = fat_tree(4)
    assert set(G.nodes) <= set(texts)                      # every node labelled (<= 80 nodes)
    assert "fat_tree: 16 GPUs, 20 switches, 48 edges" in texts
    assert [t for t in texts if re.fullmatch(r"\w+ \(\d+\)", t)] == ["host (16)", "tor (8)", "agg (8)", "core (4)"]
    assert "scale_out link" in texts and "failed link" not in texts


def test_failed_links_get_their_legend_entry(tmp_path):
    G = fail_links(leaf_spine(2, 2, 2), count=1, seed=1)
    src = tmp_path / "g.graphml"
    write_graphml(G, src)
    out = tmp_path / "g.svg"
    assert draw_main(str(src), str(out)) == 0
    texts = svg_texts(out)
    assert "failed link" in texts and "host (4)" in texts and "spine (2)" in texts


def test_layout_rows_and_spread():
    pos = _layout(fat_tree(4))
    assert len(pos) == 36
    assert sorted({y for _, y in pos.values()}) == [0.0, 1.0, 2.0, 3.0]
    hosts = sorted((x for n, (x, y) in pos.items() if n.startswith("gpu")))
    assert hosts == [(i + 0.5) / 16 for i in range(16)]
    assert all(pos[f"core{i}"][1] == 3.0 for i in range(4))
    # scale-up switches form a band under the GPUs
    pos = _layout(hybrid(hgx(2), leaf_spine(2, 2, 8)))
    assert {y for n, (_, y) in pos.items() if n.startswith("nvs")} == {-0.8}
