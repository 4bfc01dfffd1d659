"""Shared helpers of the sweep and store tests: a small scenario and a plug-in CC file."""
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]

SMALL = """
name = "small"
seed = 1
[topology]
generator = "leaf_spine"
n_leaves = 2
n_spines = 2
hosts_per_leaf = 2
[transport]
cc = {{ name = "fixed", cwnd_bytes = 16_384 }}
[traffic]
pattern = "permutation"
size_bytes = 20_000
{sweep}
"""


@pytest.fixture
def small_sweep(tmp_path):
    """Write a 4-point sweep (2 windows x 2 seeds) and return its path."""
    def make(sweep='[sweep]\ngrid = { "transport.cc.cwnd_bytes" = [8192, 65536] }\nseeds = 2', name="s.toml"):
        path = tmp_path / name
        path.write_text(SMALL.format(sweep=sweep))
        return path
    return make


@pytest.fixture
def plugin_scenario():
    """The function :func:`write_plugin_scenario`."""
    return write_plugin_scenario


def write_plugin_scenario(folder: Path, cc_name: str, seeds: int, size_bytes: int) -> Path:
    """A UET incast sweep under a Python DCTCP plug-in module ``cc_name`` written next to it
    (the tutorial's docs/examples/my_dctcp.py under another registry name)."""
    folder.mkdir(parents=True, exist_ok=True)
    src = (REPO / "docs" / "examples" / "my_dctcp.py").read_text().replace("my_dctcp", cc_name)
    (folder / f"{cc_name}.py").write_text(src)
    path = folder / "sweep.toml"
    path.write_text(f"""
name = "plugin-sweep"
seed = 1
plugins = ["{cc_name}"]
[topology]
generator = "fat_tree"
k = 4
[fabric]
buffer_bdp = 1.0
trimming = true
ecn = {{ kmin_bytes = 37_350, kmax_bytes = 145_250, pmax = 1.0, at_dequeue = true }}
[transport]
name = "uet"
mtu_bytes = 4150
cc = {{ name = "{cc_name}" }}
lb = {{ name = "mixed", n_paths = 64 }}
[traffic]
pattern = "incast"
receiver = 15
n_senders = 15
size_bytes = {size_bytes}
[run]
until_ps = 5_000_000_000
[sweep]
seeds = {seeds}
""")
    return path


FLAKY = """
import multiprocessing, os, pathlib
from uesim.protocols import CongestionControl, register_cc

marker = pathlib.Path(os.environ["UESIM_FLAKY_MARKER"])
if multiprocessing.parent_process() is not None or os.environ.get("UESIM_FLAKY_HERE"):
    if not marker.exists():               # the first try anywhere fails
        marker.write_text("failed once")
        raise RuntimeError("flaky plug-in: first import fails")

@register_cc("flaky_cc")
class FlakyCC(CongestionControl):
    pass
"""


@pytest.fixture
def flaky_plugin():
    """A scenario whose plug-in module raises on its first import in a worker process
    (a marker file remembers it), so a point fails once and then succeeds."""
    def make(tmp_path, monkeypatch, seeds):
        (tmp_path / "flaky_mod.py").write_text(FLAKY)
        monkeypatch.syspath_prepend(str(tmp_path))
        monkeypatch.setenv("UESIM_FLAKY_MARKER", str(tmp_path / "marker"))
        monkeypatch.delenv("UESIM_FLAKY_HERE", raising=False)
        return {"plugins": ["flaky_mod"],
                "topology": {"generator": "leaf_spine", "n_leaves": 2, "n_spines": 1, "hosts_per_leaf": 1},
                "transport": {"cc": {"name": "flaky_cc", "cwnd_bytes": 8192}},
                "traffic": {"pattern": "permutation", "size_bytes": 5000},
                "sweep": {"seeds": seeds}}
    return make
