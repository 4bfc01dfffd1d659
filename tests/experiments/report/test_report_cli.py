"""``uesim run --plot`` and ``[outputs] plot``: the quickstart writes its plot."""
from pathlib import Path

import pytest

pytest.importorskip("matplotlib", reason="plots need matplotlib (pip install 'uesim[plots]')")

from uesim.experiments.cli import main  # noqa: E402

ROOT = Path(__file__).resolve().parents[3]
QUICKSTART = ROOT / "experiments" / "scenarios" / "quickstart.toml"
SMALL = """
name = "small"
seed = 1
[topology]
generator = "leaf_spine"
n_leaves = 2
n_spines = 1
hosts_per_leaf = 2
[traffic]
pattern = "incast"
size_bytes = 40000
receiver = 0
n_senders = 3
"""


def png_size(path):
    import matplotlib.image as mpimg
    img = mpimg.imread(path)
    return img.shape[1], img.shape[0]


def test_quickstart_plot(tmp_path, capsys):
    out = tmp_path / "quickstart.png"
    assert main(["run", str(QUICKSTART), "--plot", str(out), "--rows", "2"]) == 0
    assert f"plot written to {out}" in capsys.readouterr().out
    w, h = png_size(out)
    assert h > w            # sampled (quickstart.toml sets timeseries_interval_ps): CDF above queues


def test_plot_key_in_the_scenario_and_without_sampling(tmp_path, capsys):
    path = tmp_path / "s.toml"
    plot = tmp_path / "figs" / "fct.svg"
    path.write_text(SMALL + f'[outputs]\nplot = "{plot}"\n')
    assert main(["run", str(path), "--json"]) == 0
    assert plot.read_text().lstrip().startswith("<?xml")
    flat = tmp_path / "flat.png"
    path.write_text(SMALL)
    assert main(["run", str(path), "--plot", str(flat)]) == 0
    w, h = png_size(flat)
    assert w > h            # not sampled: the FCT CDF alone


def test_bad_plot_file_is_one_error_line(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(SMALL)
    assert main(["run", str(path), "--plot", str(tmp_path / "fct.gif")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("uesim: error: plot ") and "unknown image format '.gif'" in err
