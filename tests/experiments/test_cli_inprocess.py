"""The CLI called in process (tests/core/test_cli.py runs it as a subprocess): values of
the table, the JSON summary, the Parquet results, `check`, `topo` and errors."""
import json
from pathlib import Path

import pandas as pd
import pytest

from uesim.experiments.cli import main

ROOT = Path(__file__).resolve().parents[2]
QUICKSTART = ROOT / "experiments" / "scenarios" / "quickstart.toml"
SMALL = """
name = "small"
seed = 1
[topology]
generator = "leaf_spine"
n_leaves = 2
n_spines = 2
hosts_per_leaf = 2
[traffic]
pattern = "explicit"
flows = [{src = 0, dst = 1, size_bytes = 12096}, {src = 2, dst = 0, size_bytes = 100, start_ps = 5}]
"""


def test_run_json_summary_values(capsys):
    assert main(["run", str(QUICKSTART), "--json"]) == 0
    s = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (s["scenario"], s["flows"], s["finished"], s["retransmits"], s["drops"], s["ecn_marks"]) == \
        ("quickstart", 16, 16, 0, 0, 4)
    assert s["last_fct_us"] == pytest.approx(215.77984, rel=0.01)


def test_run_table_out_and_seed_override(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(SMALL)
    out = tmp_path / "res"
    assert main(["run", str(path), "--out", str(out), "--seed", "7", "--rows", "1"]) == 0
    text = capsys.readouterr().out
    assert "flows finished" in text
    assert f"results written to {out}" in text
    flows = pd.read_parquet(out / "flows.parquet")
    assert list(flows["size_bytes"]) == [12096, 100] and flows["finished"].all()
    assert list(flows["start_ps"]) == [0, 5]
    run = json.loads((out / "run.json").read_text())
    assert run["config"]["seed"] == 7 and run["config"]["name"] == "small"
    ports = pd.read_parquet(out / "ports.parquet")
    assert ports["tx_packets"].sum() > 0 and len(ports) == 2 * 8    # 8 cables, 2 ports each


def test_check_prints_counts(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text(SMALL)
    assert main(["check", str(path)]) == 0
    assert capsys.readouterr().out.strip() == f"{path}: ok (4 hosts, 2 flows)"


def test_errors_are_one_line_and_status_2(tmp_path, capsys):
    path = tmp_path / "bad.toml"
    path.write_text(SMALL.replace("n_spines = 2", "n_spines = 0"))
    assert main(["run", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("uesim: error: ")
    assert main(["check", str(tmp_path / "none.toml")]) == 2
    assert capsys.readouterr().err.strip() == f"uesim: error: scenario file {str(tmp_path / 'none.toml')!r} not found"


def test_topo_describe_json(capsys):
    assert main(["topo", "describe", "leaf_spine:n_leaves=2,n_spines=2,hosts_per_leaf=2", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert (d["n_hosts"], d["n_switches"], d["diameter"], d["bisection_bandwidth_bps"]) == (4, 4, 4, 200 * 10**9)
    assert d["counts_by_role"] == {"host": 4, "leaf": 2, "spine": 2}
    assert d["path_diversity"] == {"min": 1, "median": 2.0, "max": 2, "pairs": 32}
