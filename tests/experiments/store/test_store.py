"""The result store: atomic points, manifests, damaged points detected and recomputed."""
import json
import os

import pytest

from uesim.experiments.store import ResultStore, load
from uesim.experiments.sweeps import load_sweep
from uesim.experiments.sweeps.runner import run_sweep

SMALL = """
[topology]
generator = "leaf_spine"
n_leaves = 2
n_spines = 1
hosts_per_leaf = 2
[traffic]
pattern = "permutation"
size_bytes = 10_000
[sweep]
seeds = 3
"""


@pytest.fixture
def stored(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text(SMALL)
    points = load_sweep(path)
    out = tmp_path / "store"
    assert run_sweep(points, out, jobs=1, progress=False).ok
    return points, out


def _damage_delete(folder):
    (folder / "flows.parquet").unlink()


def _damage_truncate(folder):
    f = folder / "ports.parquet"
    f.write_bytes(f.read_bytes()[:100])


def _damage_flip(folder):
    f = folder / "stats.json"
    f.write_text(f.read_text().replace('"flows"', '"flowz"'))


def _damage_manifest(folder):
    (folder / "manifest.json").write_text("{not json")


def _damage_no_manifest(folder):
    (folder / "manifest.json").unlink()


@pytest.mark.parametrize("damage", [_damage_delete, _damage_truncate, _damage_flip, _damage_manifest,
                                    _damage_no_manifest])
def test_damaged_point_is_detected_and_only_it_rerun(stored, damage):
    points, out = stored
    store = ResultStore(out)
    victim = points[1].key
    others = {p.key: (out / "points" / p.key / "manifest.json").stat().st_mtime_ns
              for p in points if p.key != victim}
    before = (out / "points" / victim / "flows.parquet").read_bytes() if damage is not _damage_delete else None
    damage(out / "points" / victim)
    assert store.status(victim) == "corrupt"
    assert victim in load(out).problems and len(load(out)) == 2
    report = run_sweep(points, out, jobs=1, progress=False)
    assert report.done == [victim] and sorted(report.skipped) == sorted(others)
    assert store.status(victim) == "ok"
    assert {k: (out / "points" / k / "manifest.json").stat().st_mtime_ns for k in others} == others
    if before is not None:
        assert (out / "points" / victim / "flows.parquet").read_bytes() == before
    assert sorted(os.listdir(out / "points")) == sorted(p.key for p in points)


def test_deleted_point_folder_is_rerun(stored):
    import shutil
    points, out = stored
    shutil.rmtree(out / "points" / points[0].key)
    assert run_sweep(points, out, jobs=1, progress=False).done == [points[0].key]


def test_manifest_lists_sizes_and_checksums(stored):
    points, out = stored
    folder = out / "points" / points[0].key
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["key"] == points[0].key
    assert set(manifest["files"]) == {"config.json", "flows.parquet", "ports.parquet", "stats.json"}
    for name, meta in manifest["files"].items():
        assert meta["bytes"] == (folder / name).stat().st_size and len(meta["sha256"]) == 64
    stats = json.loads((folder / "stats.json").read_text())["summary"]
    for key in ("flows", "finished", "fct_p50_us", "fct_p99_us", "fct_max_us", "drops", "wall_s"):
        assert key in stats


def test_write_rejects_a_key_that_is_not_the_config_hash(stored, tmp_path):
    points, out = stored
    from uesim.experiments.run import run_scenario
    with pytest.raises(ValueError, match="not the hash of its config"):
        ResultStore(tmp_path / "x").write(points[1].key, points[0].config, run_scenario(points[0].config))


def test_optional_frames_are_stored_when_the_result_has_them(stored, tmp_path):
    import pandas as pd
    from uesim.experiments.run import run_scenario
    points, _ = stored
    res = run_scenario(points[0].config)
    res.timeseries = pd.DataFrame({"t_us": [0.0, 1.0], "queue_bytes": [0, 5]})
    store = ResultStore(tmp_path / "x")
    store.write(points[0].key, points[0].config, res)
    assert store.status(points[0].key) == "ok"
    view = load(tmp_path / "x")
    assert list(view.timeseries.columns) == ["point", "t_us", "queue_bytes"]
    assert view.collectives is None
