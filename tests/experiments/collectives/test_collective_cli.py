"""``uesim collective OP``: the nccl-tests table, the JSON line, clear errors."""
from __future__ import annotations

import doctest
import json

import pytest

import uesim.experiments.frontends.collective as front
from uesim.experiments.cli import main

TOPO = "leaf_spine:n_leaves=1,n_spines=1,hosts_per_leaf=8"


def test_doctests():
    res = doctest.testmod(front, optionflags=doctest.ELLIPSIS)
    assert res.failed == 0 and res.attempted > 0


def test_json_rows(capsys):
    assert main(["collective", "all_reduce", "--gpus", "8", "--topology", TOPO,
                 "-b", "256K", "-e", "1M", "-f", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    rows = out["rows"]
    assert [r["bytes"] for r in rows] == [256 << 10, 512 << 10, 1 << 20]
    for r in rows:
        for key in ("bytes", "time_us", "algbw_gbps", "busbw_gbps", "ideal_us", "stall_us"):
            assert key in r
        assert r["busbw_gbps"] == pytest.approx(r["algbw_gbps"] * 2 * 7 / 8, rel=1e-3)
        assert abs(r["stall_us"]) <= 0.03 * r["ideal_us"]
    assert rows[0]["busbw_gbps"] < rows[-1]["busbw_gbps"]
    # each row's cost: its events grow with the bytes, its wall time is measured
    assert 0 < rows[0]["events"] < rows[-1]["events"] and all(r["wall_s"] > 0 for r in rows)


def test_table_and_options(capsys):
    assert main(["collective", "all-gather", "-t", TOPO, "--algo", "direct", "-b", "64K", "--channels", "2"]) == 0
    out = capsys.readouterr().out
    assert "algo direct, 8 ranks" in out and "busbw" in out and "(GB/s)" in out and "65536" in out


def test_hybrid_scale_up_option(capsys):
    assert main(["collective", "all_reduce", "-t", "leaf_spine:n_leaves=2,n_spines=4,hosts_per_leaf=8",
                 "--scale-up", "hgx:n_servers=2", "--algo", "hier", "-b", "1M", "--json"]) == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["rows"][0]
    assert row["algo"] == "hier" and len(row["phases"]) == 3


@pytest.mark.parametrize("argv,message", [
    (["bogus"], "OP = 'bogus': allowed: all_reduce"),
    (["all_reduce", "--algo", "fast"], "--algo = 'fast': allowed: ring, tree, hd, direct, hier"),
    (["all_to_all", "--algo", "ring"], "--algo = 'ring' for all_to_all: allowed: direct"),
    (["all_reduce", "--placement", "x"], "--placement = 'x': allowed: sequential, rail, random"),
    (["all_reduce", "--transport", "tcp"], "--transport = 'tcp': allowed:"),
    (["all_reduce", "--cc", "cubic"], "--cc = 'cubic': allowed:"),
    (["all_reduce", "-b", "2M", "-e", "1M"], "--max-bytes (1048576) must be >= --min-bytes"),
    (["all_reduce", "-b", "lots"], "--min-bytes = 'lots'"),
    (["all_reduce", "--gpus", "99", "-t", TOPO], "--gpus = 99: must be between 2 and the topology's 8 GPUs"),
    (["all_reduce", "-t", "nope"], "--topology: unknown topology generator 'nope'"),
    (["all_reduce", "--chunks", "0"], "--chunks = 0: must be >= 1"),
    (["all_reduce", "--preset", "roce", "--cc-param", "bogus=1"],
     "unknown key 'transport.cc.bogus' for congestion control 'dcqcn'; allowed: name, alpha_init"),
    (["all_reduce", "--preset", "roce", "--cc-param", "g=2"], "transport.cc ('dcqcn'): g must be in (0, 1], got 2"),
    (["all_reduce", "--cc-param", "alpha"], "--cc-param = 'alpha': expected KEY=VALUE"),
    (["all_reduce", "--lb-param", "name=ecmp"], "--lb-param = 'name=ecmp': expected KEY=VALUE"),
])
def test_errors(argv, message, capsys):
    assert main(["collective", *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("uesim: error: ") and message in err


def test_cc_params_move_the_result(capsys):
    """DCQCN's "nic" set (ns-3's: no byte counter, a slow timer, cuts that keep the
    target) against the preset's "paper" set on a 16 MiB all-to-all whose ECMP
    collisions mark packets: another time; the options show in the header."""
    rows = {}
    for extra in ([], ["--cc-param", "params=nic", "--cc-param", "rate_ai_bps=5e6"]):
        assert main(["collective", "all_to_all", "-t", "fat_tree:k=4", "--preset", "roce", "-b", "16M",
                     "--json", *extra]) == 0
        out = capsys.readouterr().out
        rows[bool(extra)] = json.loads(out.strip().splitlines()[-1])["rows"][0]
        if extra:
            assert "params=nic rate_ai_bps=5e6" in out
    assert rows[False]["ecn_marks"] > 0 and rows[True]["ecn_marks"] > 0
    assert abs(rows[True]["time_us"] / rows[False]["time_us"] - 1) > 0.1
