"""Progress display for long runs: simulated time and event rate on stderr (tty only)."""
from __future__ import annotations

import sys
import time


def progress_printer():
    """A ``progress(now_ps, events)`` callback showing a live status line, or None when
    stderr is not a terminal (logs and pipes stay clean).  Call ``.stop()`` when done."""
    if not sys.stderr.isatty():
        return None
    from rich.console import Console
    console = Console(stderr=True)
    start = time.perf_counter()
    status = console.status("simulating...")
    status.start()

    def progress(now_ps, events):
        rate = events / max(time.perf_counter() - start, 1e-9)
        status.update(f"simulated {now_ps / 1e6:,.1f} us, {events:,} events ({rate / 1e6:.1f} M/s)")
    progress.stop = status.stop
    return progress
