"""benchmarks/htsim_scale.py: generated permutations and what one run reports."""
import doctest
import json

import pytest

@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("htsim_scale")


def test_docstring_examples(bench):
    assert doctest.testmod(bench).failed == 0


def test_a_generated_permutation_is_one_cycle_and_the_same_for_a_seed(bench, tmp_path):
    a = bench.write_permutation(tmp_path / "a.cm", 54, seed=3).read_text()
    b = bench.write_permutation(tmp_path / "b.cm", 54, seed=3).read_text()
    c = bench.write_permutation(tmp_path / "c.cm", 54, seed=4).read_text()
    assert a == b and a != c
    dst = {int(r.split("->")[0]): int(r.split("->")[1].split()[0]) for r in a.splitlines()[2:]}
    seen, h = set(), 0
    while h not in seen:                       # following the pairs visits every host once
        seen.add(h)
        h = dst[h]
    assert len(seen) == 54 and all(s != d for s, d in dst.items())


def test_a_run_reports_wall_events_and_peak_memory(bench, capsys):
    assert bench.main(["--cases", "perm16", "--repeat", "1", "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    res = json.loads(out[-1])["cases"]["perm16"]["runs"][0]
    assert res["flows_finished"] == 16 and res["events"] > 10_000
    assert res["process_wall_s"] > res["sim_wall_s"] > 0
    assert 10 < res["peak_rss_mb"] < 2000
    assert out[0].startswith("perm16 run 1: process")


def test_an_unknown_case_names_what_is_allowed(bench):
    with pytest.raises(SystemExit, match="allowed: perm1024 or permN"):
        bench.main(["--cases", "incast", "--repeat", "1"])
