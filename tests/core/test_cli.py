"""The command line: quickstart runs, --json ends with one JSON object, bad files give
one clear message and exit status 2, never a traceback."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "experiments" / "scenarios" / "quickstart.toml"


def uesim(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "uesim.experiments.cli", *map(str, args)],
                          capture_output=True, text=True, cwd=cwd, timeout=120)


def test_quickstart_json_last_line():
    out = uesim("run", QUICKSTART, "--json")
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout.strip().splitlines()[-1])
    for key in ("flows", "last_fct_us", "fct_p50_us", "fct_p99_us", "events", "wall_s"):
        assert key in summary
    assert summary["flows"] == summary["finished"] == 16


def test_quickstart_table_and_parquet(tmp_path):
    out = uesim("run", QUICKSTART, "--out", tmp_path / "res")
    assert out.returncode == 0, out.stderr
    assert "flows finished" in out.stdout and "fct_us" in out.stdout
    import pandas as pd
    flows = pd.read_parquet(tmp_path / "res" / "flows.parquet")
    assert len(flows) == 16 and flows["finished"].all()
    assert json.loads((tmp_path / "res" / "run.json").read_text())["config"]["seed"] == 1


BASE = """
seed = 1
[topology]
generator = "leaf_spine"
n_leaves = 2
n_spines = 2
hosts_per_leaf = 2
[traffic]
pattern = "permutation"
size_bytes = 10000
"""


@pytest.mark.parametrize("edit, message", [
    (("[traffic]", "[traffic]\nbogus = 1"), "unknown key 'traffic.bogus'; allowed in traffic: "),
    (("size_bytes = 10000", "size_bytes = \"big\""), "traffic.size_bytes = 'big': must be an integer"),
    (("generator = \"leaf_spine\"", "generator = \"mesh\""), "topology.generator = 'mesh': unknown; allowed: "),
    (("seed = 1", "seed = 1\n[transport]\nname = \"tcp\""), "transport.name = 'tcp': unknown; allowed: "),
    (("seed = 1", "seed = 1\n[transport]\ncc = { name = \"cubic\" }"), "transport.cc.name = 'cubic': unknown congestion control; allowed: "),
    (("hosts_per_leaf = 2", "hosts_per_leaf = 2\nhost_rate_bps = -100"), "host_rate_bps"),
    (("n_spines = 2", "n_spines = 2\nwidth = 3"), "unknown key 'topology.width' for generator 'leaf_spine'; allowed: "),
    (("seed = 1", "seed = 1\n[fabric]\nbuffer_bytes = 0"), "fabric.buffer_bytes = 0: must be an integer >= 1"),
    (("pattern = \"permutation\"", "pattern = \"shuffle\""), "traffic.pattern = 'shuffle': unknown; allowed: permutation, incast, explicit, cm"),
    (("seed = 1", "seed = 1\n[transport]\nlb = { name = \"oblivious\", n_path = 4 }"), "unknown key 'transport.lb.n_path'"),
    (("[traffic]", "[traffic]\n[traffic.x]"), "unknown key 'traffic.x'"),
    (("seed = 1", "seed = [1"), "not valid TOML"),
])
def test_bad_scenarios_give_one_clear_message(tmp_path, edit, message):
    path = tmp_path / "bad.toml"
    path.write_text(BASE.replace(*edit, 1))
    out = uesim("run", path)
    assert out.returncode == 2
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("uesim: error: "), out.stderr
    assert message in lines[0]


def test_missing_file():
    out = uesim("run", "/nonexistent/x.toml")
    assert out.returncode == 2 and "not found" in out.stderr
