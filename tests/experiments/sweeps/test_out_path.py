"""``uesim sweep FILE --out PATH`` where PATH cannot be a store folder (a regular file, a
file where its points folder or a parent goes): one error line naming the path, exit
status 2, before any point is expanded or run, and the file left as it was."""
import pytest

from uesim.experiments.cli import main
from uesim.experiments.schema import ScenarioError
from uesim.experiments.sweeps import runner


@pytest.fixture
def no_runs(monkeypatch):
    """Fail the test if a point is expanded or run."""
    import uesim.experiments.sweeps as sweeps

    def boom(*args, **kwargs):
        raise AssertionError("a point was expanded or run before --out was checked")
    monkeypatch.setattr(sweeps, "load_sweep", boom)
    monkeypatch.setattr(runner, "run_point", boom)


def bad_outs(tmp_path):
    afile = tmp_path / "results.txt"
    afile.write_text("my notes\n")
    store = tmp_path / "store"
    store.mkdir()
    (store / "points").write_text("")
    return {
        "a regular file": (afile, f"--out '{afile}': a file, not a folder"),
        "a file as parent": (afile / "sub", f"--out '{afile / 'sub'}': '{afile}' is a file"),
        "a file as points": (store, f"--out '{store}': '{store / 'points'}' is a file"),
    }


@pytest.mark.parametrize("case", ["a regular file", "a file as parent", "a file as points"])
def test_sweep_into_a_file_fails_up_front(small_sweep, tmp_path, capsys, no_runs, case):
    path = small_sweep()
    out, message = bad_outs(tmp_path)[case]
    assert main(["sweep", str(path), "--out", str(out), "--jobs", "1"]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"uesim: error: {message}"), captured.err
    assert captured.err.count("\n") == 1 and captured.out == ""
    assert (tmp_path / "results.txt").read_text() == "my notes\n"


def test_run_sweep_checks_the_folder_before_running(small_sweep, tmp_path, monkeypatch):
    from uesim.experiments.sweeps import load_sweep
    points = load_sweep(small_sweep())
    out, _ = bad_outs(tmp_path)["a regular file"]
    calls = []
    monkeypatch.setattr(runner, "run_point", lambda *a, **k: calls.append(a))
    with pytest.raises(ScenarioError, match="a file, not a folder"):
        runner.run_sweep(points, out, jobs=1, progress=False)
    assert calls == []


def test_a_new_or_existing_folder_is_fine(tmp_path):
    assert runner.check_store_path(tmp_path / "a" / "b") == tmp_path / "a" / "b"
    assert runner.check_store_path(tmp_path) == tmp_path
