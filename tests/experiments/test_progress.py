"""The live progress line of long runs (experiments/progress.py)."""
import io
import sys

from uesim.experiments.progress import progress_printer


def test_no_progress_line_when_stderr_is_not_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    assert progress_printer() is None


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_on_a_terminal_it_reports_simulated_time_and_events(monkeypatch):
    updates = []

    class FakeStatus:
        def __init__(self, text):
            updates.append(text)

        def start(self):
            updates.append("started")

        def update(self, text):
            updates.append(text)

        def stop(self):
            updates.append("stopped")

    import rich.console
    monkeypatch.setattr(sys, "stderr", _Tty())
    monkeypatch.setattr(rich.console.Console, "status", lambda self, text: FakeStatus(text))
    progress = progress_printer()
    progress(12_500_000, 3_000_000)
    progress.stop()
    assert updates[:2] == ["simulating...", "started"]
    assert updates[2].startswith("simulated 12.5 us, 3,000,000 events (")
    assert updates[-1] == "stopped"


def test_the_status_line_has_flows_done_a_share_of_the_estimate_and_an_eta():
    from uesim.experiments.progress import status_line
    line = status_line(1_000_000, 5_000_000, 2.0, total_events=20_000_000, flows_done=7)
    # 2.5 M events/s: 15 M events left take 6 s
    assert line == "simulated 1.0 us, 5,000,000 events (2.5 M/s), 7 flows done, 25% of about 20.0 M events, ETA 0:06"
    assert "ETA" not in status_line(1, 5, 1.0)


def test_a_monitored_run_on_a_terminal_shows_its_estimate_and_flows_done(monkeypatch):
    import rich.console
    from uesim.experiments.collectives import run_collective
    from uesim.experiments.progress import WorkloadMonitor
    updates = []

    class FakeStatus:
        def __init__(self, text):
            pass

        def start(self):
            pass

        def update(self, text):
            updates.append(text)

        def stop(self):
            updates.append("stopped")
    tty = _Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    monkeypatch.setattr(rich.console.Console, "status", lambda self, text: FakeStatus(text))
    mon = WorkloadMonitor()
    # 32 MiB: over 2**20 events, so the line is updated at least once
    run_collective("all_reduce", 32 << 20, topology="fat_tree:k=4", on_built=mon.on_built, progress=mon.progress)
    mon.stop()
    assert tty.getvalue().startswith("# estimate: ") and mon.estimate["flows"] == 480
    assert updates and "flows done" in updates[0] and "ETA" in updates[0] and updates[-1] == "stopped"
