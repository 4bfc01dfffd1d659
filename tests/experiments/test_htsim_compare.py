"""benchmarks/htsim_compare.py reads htsim's figures from the reference files."""
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REF = Path(__file__).resolve().parents[2] / "benchmarks" / "reference" / "htsim"
pytestmark = pytest.mark.skipif(not REF.exists(), reason="htsim reference files not present")


@pytest.fixture(scope="module")
def bench(load_benchmark):
    return load_benchmark("htsim_compare")


def test_reference_figures(bench):
    ref = bench.read_reference(REF)
    assert set(ref) == {c.name for c in bench.CASES}
    assert ref["one"]["last"] == 176.2 and ref["one"]["new"] == 490 and ref["one"]["rtx"] == 0
    assert ref["perm1024"]["last"] == 212.794 and ref["perm1024"]["rtx"] == 628 and ref["perm1024"]["wall"] == 17.6
    assert ref["perm1024"]["range"]["p99"] == (209.607, 214.528)
    assert ref["perm1024_reps"]["rtx"] == 44 and ref["perm1024_rccc"]["last"] == 202.633
    assert ref["incast"]["rtx"] == 811 and ref["incast"]["range"]["last"] == (2455.39, 2503.26)
    assert ref["perm128"]["wall"] == pytest.approx(0.58)
    assert (ref["perm16_c40"]["p50"], ref["perm16_c40"]["last"]) == (226.3, 228.5)
    assert ref["perm16_c40"]["range"] == {"p50": (224.0, 226.6), "last": (226.7, 229.9)}
    assert ref["perm1024_c12"]["wall"] == pytest.approx(16.4) and ref["perm1024_c40"]["wall"] == 15.0
    assert ref["perm16_c12"]["rtx"] == 0


def test_compare_widens_by_5_percent(bench):
    h = {"last": 200.0, "p50": 190.0, "p99": 199.0, "rtx": 10, "wall": 1.0,
         "range": {"last": (195.0, 205.0)}}
    rows = {r["metric"]: r for r in bench.compare(h, {"last": 215.0, "p50": 200.0, "p99": 210.0, "rtx": 5, "wall": 0.5})}
    assert rows["last"]["inside"] is True                 # 215 <= 205 x 1.05
    assert rows["p50"]["inside"] is False and rows["p50"]["range_of"] == "seed 13"   # 200 > 190 x 1.05
    assert rows["rtx"]["ratio"] == 0.5 and rows["rtx"]["inside"] is None
