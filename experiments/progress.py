"""Progress display for long runs on stderr (tty only): simulated time, events, their
rate, flows done and, given an estimate of the events, an ETA."""
from __future__ import annotations

import sys
import time


def status_line(now_ps: int, events: int, elapsed_s: float, total_events: int | None = None,
                flows_done: int | None = None) -> str:
    """The text of one progress update.

    >>> status_line(2_500_000, 3_000_000, 1.5, total_events=9_000_000, flows_done=120)
    'simulated 2.5 us, 3,000,000 events (2.0 M/s), 120 flows done, 33% of about 9.0 M events, ETA 0:03'
    """
    rate = events / max(elapsed_s, 1e-9)
    text = f"simulated {now_ps / 1e6:,.1f} us, {events:,} events ({rate / 1e6:.1f} M/s)"
    if flows_done is not None:
        text += f", {flows_done:,} flows done"
    if total_events:
        left = max(0.0, (total_events - events) / max(rate, 1.0))
        text += (f", {min(99, 100 * events // total_events)}% of about {total_events / 1e6:,.1f} M events, "
                 f"ETA {int(left // 60)}:{int(left % 60):02d}")
    return text


def progress_printer(total_events: int | None = None, flows_done=None):
    """A ``progress(now_ps, events)`` callback showing a live status line, or None when
    stderr is not a terminal (logs and pipes stay clean).  Call ``.stop()`` when done.

    ``total_events`` (an estimate, :func:`uesim.experiments.workloads.estimate.estimate_workload`)
    adds a percentage and an ETA; ``flows_done`` (a function returning a count) adds
    the flows finished so far."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    console = Console(stderr=True)
    start = time.perf_counter()
    status = console.status("simulating...")
    status.start()

    def progress(now_ps, events):
        status.update(status_line(now_ps, events, time.perf_counter() - start, total_events,
                                  flows_done() if flows_done is not None else None))
    progress.stop = status.stop
    return progress


class WorkloadMonitor:
    """What a CLI shows around a workload run: the up-front estimate (one ``# estimate``
    line on stderr), the refusal of a run that will not fit in memory (``force`` runs it
    anyway) and the live status line with its ETA.

    Pass :meth:`on_built` and :meth:`progress` to ``run_collective`` or
    ``run_training_step``; call :meth:`stop` when the run returns.
    """

    def __init__(self, *, force: bool = False, quiet: bool = False, available: int | None = None):
        self.force, self.quiet, self.available = force, quiet, available
        self.estimate = None
        self._printer = None
        self._sim = None

    def on_built(self, sim, workload) -> None:
        from uesim.experiments.workloads.estimate import check_fits, estimate_workload
        self.stop()
        self.estimate = estimate_workload(sim, workload)
        line = check_fits(self.estimate, force=self.force, available=self.available)
        if not self.quiet:
            print(f"# {line}", file=sys.stderr, flush=True)
        self._sim = sim
        self._printer = None if self.quiet else progress_printer(
            total_events=self.estimate["events"], flows_done=lambda: sim.flows_retired)

    def progress(self, now_ps, events) -> None:
        if self._printer is not None:
            self._printer(now_ps, events)

    def stop(self) -> None:
        if self._printer is not None:
            self._printer.stop()
            self._printer = None
