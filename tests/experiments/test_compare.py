"""``uesim compare``: RoCE vs UET variants of one scenario in one table (issue 8)."""
import json
from pathlib import Path

import pytest

from uesim.experiments import cli
from uesim.experiments.compare import expand_compare, format_table, load_compare, main, run_compare
from uesim.experiments.schema import ScenarioError
from uesim.experiments.scenario import check_scenario, read_toml

SCEN = Path(__file__).resolve().parents[2] / "experiments" / "scenarios"


def rows_of(name, only=None):
    variants, victims = load_compare(SCEN / name)
    if only:
        variants = [v for v in variants if v.name in only]
    return {r["variant"]: r for r in run_compare(variants, victims)}, variants


def test_victim_congestion_spreading():
    # acceptance 3: PFC pauses the spine -> leaf1 link behind the incast, so a flow to an
    # idle host loses most of its throughput; DCQCN keeps the incast below XOFF and the
    # victim runs at line rate; UET needs no PAUSE at all
    rows, variants = rows_of("compare_victim.toml")
    assert [v.name for v in variants] == ["roce_pfc", "roce_dcqcn", "uet_nscc", "uet_rccc", "uet_cbfc"]
    pfc, dcqcn = rows["RoCE, PFC"], rows["RoCE, PFC + DCQCN"]
    assert pfc["victim_gbps"] < 50 and pfc["pauses"] > 100 and pfc["paused_us"] > 1000
    assert dcqcn["victim_gbps"] > 90 and dcqcn["pauses"] < pfc["pauses"] / 10
    assert dcqcn["paused_us"] < pfc["paused_us"] / 10
    for label in ("UET, NSCC", "UET, NSCC + RCCC", "UET over CBFC, NSCC"):
        assert rows[label]["victim_gbps"] > 90 and rows[label]["pauses"] == 0
    assert rows["UET over CBFC, NSCC"]["stall_us"] > 0
    for r in rows.values():
        assert r["done"] == "4/4" and r["drops"] == 0
    # the incast itself is bound by gpu4's downlink either way: 3 x 8 MB at 100 Gb/s
    assert pfc["last_us"] > 1920


def test_victim_column_changes_with_the_victim():
    raw = read_toml(SCEN / "compare_victim.toml")
    raw["compare"]["variants"] = {"pfc": raw["compare"]["variants"]["roce_pfc"]}
    rows = run_compare(*expand_compare(raw))
    # with flow 3 out of the victims it counts in the FCT columns, and there is no column
    raw["compare"]["victim_flows"] = []
    plain = run_compare(*expand_compare(raw))
    assert "victim_gbps" in rows[0] and "victim_gbps" not in plain[0]
    assert plain[0]["p50_us"] != rows[0]["p50_us"]      # the victim's FCT is among them


def test_permutation_ecmp_tail_and_spraying():
    # acceptance 4: single-path ECMP collisions give RoCE a long tail; UET's spraying removes it
    rows, _ = rows_of("compare_perm128.toml", only=("roce_pfc", "uet_nscc"))
    roce, uet = rows["RoCE, PFC"], rows["UET, NSCC"]
    assert roce["done"] == uet["done"] == "128/128"
    assert roce["p99_us"] > 2 * uet["p99_us"] and roce["last_us"] > 2 * uet["last_us"]
    assert roce["p50_us"] > 1.3 * uet["p50_us"]
    assert uet["last_us"] < 260 and roce["pauses"] > 0 and uet["pauses"] == 0
    table = format_table(list(rows.values()))
    assert "RoCE, PFC" in table and "p99_us" in table


def test_incast15_lossless_variants():
    rows, _ = rows_of("compare_incast15.toml", only=("roce_pfc", "uet_nscc"))
    roce, uet = rows["RoCE, PFC"], rows["UET, NSCC"]
    # line rate: 15 x 2 MB of payload is 2403 us; PFC loses nothing
    assert roce["drops"] == roce["retx"] == 0 and roce["pauses"] > 0
    assert 2403 < roce["last_us"] < 2403 * 1.03
    assert uet["trims"] > 0 and uet["retx"] > 0 and uet["last_us"] < 2403 * 1.05


def test_cli_prints_the_table(capsys):
    f = str(SCEN / "compare_victim.toml")
    assert cli.main(["compare", f, "--only", "roce_pfc,uet_nscc"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("| variant ") and "victim_gbps" in out[0]
    assert len(out) == 4 and out[2].startswith("| RoCE, PFC ") and out[3].startswith("| UET, NSCC ")
    assert main([f, "--only", "uet_nscc", "--json"]) == 0
    row = json.loads(capsys.readouterr().out.strip())
    assert row["variant"] == "UET, NSCC" and row["victim_gbps"] > 90
    # --seed replaces the file's seed (it moves the UET spraying, so the numbers)
    assert main([f, "--only", "uet_nscc", "--json", "--seed", "7"]) == 0
    assert json.loads(capsys.readouterr().out.strip()) != row
    assert cli.main(["compare", f, "--only", "nope"]) == 2
    assert "--only 'nope': no such variant" in capsys.readouterr().err
    assert cli.main(["check", f]) == 0
    assert "ok (comparison of 5 variants: roce_pfc, roce_dcqcn" in capsys.readouterr().out
    # uesim run on a comparison file says what to use
    assert cli.main(["run", f]) == 2
    assert "uesim compare FILE" in capsys.readouterr().err


BASE = {"topology": {"generator": "leaf_spine", "n_leaves": 1, "n_spines": 1, "hosts_per_leaf": 3},
        "traffic": {"pattern": "incast", "receiver": 0, "n_senders": 2, "size_bytes": 10_000}}


@pytest.mark.parametrize("compare, msg", [
    (None, "missing table 'compare'"),
    ({"variants": {}}, "compare.variants = {}: must be a table of at least one"),
    ({"variants": {"a": {}}, "bogus": 1}, "unknown key 'compare.bogus'"),
    ({"variants": {"a": 3}}, "compare.variants.a = 3: must be a table"),
    ({"variants": {"a": {"label": ""}}}, "compare.variants.a.label"),
    ({"variants": {"a": {"transport": {"name": "tcp"}}}}, "compare.variants.a: transport.name = 'tcp'"),
    ({"variants": {"a": {"fabric": {"pfc": {"mode": "x"}}}}}, "compare.variants.a: fabric.pfc.mode"),
    ({"variants": {"a": {}}, "victim_flows": [-1]}, "compare.victim_flows"),
    ({"variants": {"a": {"sweep": {}}}}, "cannot set 'compare' or 'sweep'"),
])
def test_errors_name_the_key(compare, msg):
    raw = dict(BASE) if compare is None else {**BASE, "compare": compare}
    with pytest.raises(ScenarioError, match=msg.replace("(", r"\(").replace("{", r"\{").replace("}", r"\}")):
        expand_compare(raw)


def test_unknown_victim_flow():
    variants, _ = expand_compare({**BASE, "compare": {"variants": {"a": {}}, "victim_flows": [7]}})
    with pytest.raises(ScenarioError, match="victim_flows: flow 7 is not in the traffic"):
        run_compare(variants, [7])


def test_variant_tables_are_not_filled_from_defaults():
    # the base has no transport.cc: a variant's cc is taken as written, not merged into
    # the fixed-window default (whose cwnd_bytes would become NSCC's initial window)
    variants, _ = expand_compare({**BASE, "compare": {"variants": {
        "n": {"transport": {"name": "uet", "cc": {"name": "nscc"}}}}}})
    assert "cwnd_bytes" not in variants[0].config["transport"]["cc"]
    assert variants[0].config == check_scenario({**BASE, "name": "compare/n",
                                                 "transport": {"name": "uet", "cc": {"name": "nscc"}}})


def test_check_names_a_missing_victim(tmp_path, capsys):
    f = tmp_path / "c.toml"
    f.write_text('[topology]\ngenerator = "leaf_spine"\nn_leaves = 1\nn_spines = 1\nhosts_per_leaf = 3\n'
                 '[traffic]\npattern = "incast"\nreceiver = 0\nn_senders = 2\nsize_bytes = 1000\n'
                 '[compare]\nvictim_flows = [9]\n[compare.variants.a]\n')
    assert cli.main(["check", str(f)]) == 2
    assert "compare.victim_flows: flow 9 is not in the traffic" in capsys.readouterr().err
