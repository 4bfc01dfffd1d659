"""benchmarks/train_bench.py: the scaled example step and what one row reports."""
import json

import pytest


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("train_bench")


def test_the_fat_tree_is_the_smallest_that_holds_the_gpus(bench):
    assert bench.fat_tree_for(16) == "fat_tree:k=4"
    assert bench.fat_tree_for(17) == "fat_tree:k=6"
    assert bench.fat_tree_for(1024) == "fat_tree:k=16"
    assert bench.fat_tree_for(4096) == "fat_tree:k=26"


def test_a_row_reports_the_step_its_bounds_events_and_cost(bench, capsys):
    assert bench.main(["--gpus", "8", "--json"]) == 0
    row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert row["gpus"] == 8 and row["topology"] == "fat_tree:k=4"
    assert row["step_us"] >= row["bound_us"] > 0       # never below what is proven
    assert row["ideal_us"] > 0 and row["events"] > 10_000
    assert row["events_per_cpu_s"] == pytest.approx(row["events"] / row["cpu_s"], rel=0.02)
    assert 10 < row["peak_rss_mb"] < 4000
    assert isinstance(row["warnings"], list)
    # the up-front estimate, side by side with what was measured
    assert row["estimate_events_x"] == pytest.approx(row["estimated_events"] / row["events"], abs=0.01)
    assert 0.5 <= row["estimate_events_x"] <= 2
    assert row["estimate_peak_x"] > 0      # against the process's peak: the test run's, not this step's


def test_a_gpu_count_that_tp_does_not_divide_is_refused(bench):
    with pytest.raises(SystemExit, match="multiple of tp = 2"):
        bench.main(["--gpus", "7"])
