"""benchmarks/collective_bench.py: what one row reports."""
import json

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("collective_bench")


def test_small_counts_run_on_a_leaf_spine_larger_on_the_smallest_fat_tree(bench):
    assert bench.topology_for(16) == "leaf_spine:n_leaves=2,n_spines=8,hosts_per_leaf=8"
    assert bench.topology_for(128) == "fat_tree:k=8"
    assert bench.topology_for(1024) == "fat_tree:k=16"


def test_a_row_reports_time_ideal_cost_and_the_estimate_beside_the_measurement(bench, capsys):
    assert bench.main(["--gpus", "8", "--sizes", "256K", "--op", "all_gather", "--json"]) == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert row["op"] == "all_gather" and row["ranks"] == 8 and row["bytes"] == 256 * 1024
    assert row["time_us"] >= row["bound_us"] > 0 and not row["warnings"]
    assert row["flows"] == 8 * 7 and row["events"] > 1000 and row["cpu_s"] > 0
    # the peak RSS is the process's so far (here the test run's): only the events compare
    assert 0.5 <= row["estimate_events_x"] <= 2 and row["estimate_peak_x"] > 0


def test_the_reference_permutation_is_run_and_every_row_compared_with_it(bench, capsys):
    assert bench.main(["--gpus", "8", "--sizes", "64K", "--reference", "perm16"]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    assert last.startswith("# reference perm16: ") and "M per CPU s (process)" in last
    assert bench.main(["--gpus", "8", "--sizes", "64K", "--json", "--reference", "perm16"]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.strip().splitlines()]
    row, ref = lines[-2], lines[-1]
    assert ref["reference"] == "perm16" and ref["events"] > 0 and ref["cpu_s"] > 0
    assert ref["rows_over_reference"] == [round(row["events_per_cpu_s"] / ref["events_per_cpu_s"], 3)]
