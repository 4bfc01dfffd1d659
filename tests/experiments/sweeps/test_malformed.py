"""Twenty-odd malformed scenario files: each gives one clear ``uesim: error:`` line and exit
status 2 through ``uesim check``, ``uesim run`` and ``uesim sweep``, never a traceback."""
import subprocess
import sys
from pathlib import Path

import pytest

from uesim.experiments.cli import main

GOOD = {
    "head": 'name = "m"\nseed = 1\n',
    "topology": '[topology]\ngenerator = "leaf_spine"\nn_leaves = 2\nn_spines = 1\nhosts_per_leaf = 2\n',
    "transport": '[transport]\nname = "window"\ncc = { name = "fixed", cwnd_bytes = 8192 }\n',
    "traffic": '[traffic]\npattern = "permutation"\nsize_bytes = 1000\n',
    "sweep": None,            # only the sweep_* cases have a [sweep] table
}


def scenario(**parts):
    return "".join(parts.get(k, v) for k, v in GOOD.items() if parts.get(k, v) is not None)



CASES = {
    "not_toml": ("topology = [", "not valid TOML"),
    "seed_type": (scenario(head='seed = "one"\n'), "seed = 'one': must be an integer"),
    "unknown_section": (scenario(head='bogus = 1\n'), "unknown key 'bogus'"),
    "missing_traffic": (scenario(traffic=None), "missing key 'traffic'"),
    "missing_topology": (scenario(topology=None), "missing key 'topology'"),
    "unknown_generator": (scenario(topology='[topology]\ngenerator = "fat_trees"\nk = 4\n'),
                          "topology.generator = 'fat_trees': unknown; allowed:"),
    "unknown_topology_param": (scenario(topology='[topology]\ngenerator = "fat_tree"\nk4 = 4\n'),
                               "unknown key 'topology.k4' for generator 'fat_tree'"),
    "missing_topology_param": (scenario(topology='[topology]\ngenerator = "leaf_spine"\nn_leaves = 2\n'),
                               "missing key 'topology.n_spines'"),
    "rate_with_unit": (scenario(topology='[topology]\ngenerator = "fat_tree"\nk = 4\nrate_bps = "100Gbps"\n'),
                       "topology"),
    "unknown_cc": (scenario(transport='[transport]\ncc = { name = "cubic" }\n'),
                   "transport.cc.name = 'cubic': unknown congestion control; allowed:"),
    "unknown_lb": (scenario(transport='[transport]\nlb = { name = "magic" }\n'),
                   "transport.lb.name = 'magic': unknown load balancer"),
    "mtu_with_unit": (scenario(transport='[transport]\nmtu_bytes = "4KB"\n'),
                      "transport.mtu_bytes = '4KB': must be an integer"),
    "negative_size": (scenario(traffic='[traffic]\npattern = "permutation"\nsize_bytes = -5\n'),
                      "traffic.size_bytes = -5: must be an integer >= 1"),
    "prob_out_of_range": (scenario(head='[fabric]\ntrim_tail_prob = 1.5\n'),
                          "fabric.trim_tail_prob = 1.5: must be a number <= 1.0"),
    "ecn_kmin_above_kmax": (scenario(head='[fabric]\necn = { kmin_bytes = 10, kmax_bytes = 5 }\n'),
                            "fabric.ecn.kmin_bytes = 10: must be <= kmax_bytes"),
    "unknown_transport": (scenario(transport='[transport]\nname = "tcp"\n'),
                          "transport.name = 'tcp': unknown; allowed:"),
    "unknown_pattern": (scenario(traffic='[traffic]\npattern = "alltoall"\n'),
                        "traffic.pattern = 'alltoall': unknown; allowed:"),
    "incast_no_receiver": (scenario(traffic='[traffic]\npattern = "incast"\nsize_bytes = 10\n'),
                           "missing key 'traffic.receiver'"),
    "bad_plugin": (scenario(head='plugins = ["no_such_plugin_mod"]\n'),
                   "plugins[0] = 'no_such_plugin_mod': cannot import it"),
    "topology_file_missing": (scenario(topology='[topology]\nfile = "nowhere.graphml"\n'),
                              "nowhere.graphml"),
    "sweep_unknown_axis": (scenario(sweep='[sweep]\ngrid = { "bogus.x" = [1] }\n'),
                           "sweep.grid.'bogus.x': unknown key 'bogus'"),
    "sweep_unequal_zip": (scenario(sweep='[sweep]\nzip = { seed = [1, 2], "traffic.size_bytes" = [5] }\n'),
                          "sweep.zip: axes must have equal lengths"),
    "sweep_bad_value": (scenario(sweep='[sweep]\ngrid = { "traffic.size_bytes" = [100, 0] }\n'),
                        "sweep.grid.'traffic.size_bytes' = 0:"),
    "sweep_empty_axis": (scenario(sweep='[sweep]\ngrid = { "transport.mtu_bytes" = [] }\n'),
                         "an axis needs at least one value"),
    "sweep_zero_seeds": (scenario(sweep='[sweep]\nseeds = 0\n'), "sweep.seeds = 0"),
    "sweep_topology_param": (scenario(sweep='[sweep]\ngrid = { "topology.n_spines" = [1, "two"] }\n'),
                             "n_spines"),
}


def _sweep_case(name):
    return name.startswith("sweep_")


@pytest.mark.parametrize("command", ["check", "run", "sweep"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_file_gives_one_clear_error(name, command, tmp_path, capsys):
    text, message = CASES[name]
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    argv = [command, str(path)] + (["--out", str(tmp_path / "out"), "--jobs", "1"] if command == "sweep" else [])
    assert main(argv) == 2
    captured = capsys.readouterr()
    err = captured.err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("uesim: error: "), captured.err
    assert "Traceback" not in captured.err + captured.out
    if command == "run" and _sweep_case(name):
        assert "describes a sweep" in err[0]        # run points at uesim sweep
    else:
        assert message in err[0], err[0]
    assert not (tmp_path / "out" / "points").exists() or not any((tmp_path / "out" / "points").iterdir())


def test_twenty_or_more_cases():
    assert len(CASES) >= 20


def test_console_script_error_is_one_line(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text(CASES["sweep_unequal_zip"][0])
    uesim = Path(sys.executable).parent / "uesim"
    proc = subprocess.run([str(uesim), "sweep", str(path), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("uesim: error: sweep.zip: axes must have equal lengths")
    assert "Traceback" not in proc.stderr
