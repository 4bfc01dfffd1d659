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
