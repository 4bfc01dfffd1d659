"""Rate traces: each flow's pacing rate over time, as numbers and as a plot.

A RoCE run with ``transport.trace_rate = true`` records ``(t_ps, rate_bps)`` at every change
of a flow's pacing rate (DCQCN cuts and increases); ``RunResult.rate_trace`` holds them
as a DataFrame.  The rate holds between changes (a step function), so :func:`rate_at`
samples it and :func:`plot_rate_trace` draws it with steps.
"""
from __future__ import annotations

import numpy as np


def rate_at(trace, flow_id: int, t_ps) -> np.ndarray:
    """The rate (bit/s) of ``flow_id`` at times ``t_ps`` (before its first entry: its first rate).

    Parameters
    ----------
    trace : DataFrame or dict of arrays
        ``flow_id, t_ps, rate_bps`` columns (``RunResult.rate_trace`` or ``trace_cols``).
    flow_id : int
    t_ps : int or array of int

    Examples
    --------
    >>> tr = {"flow_id": np.array([1, 1, 1]), "t_ps": np.array([0, 100, 300]),
    ...       "rate_bps": np.array([100, 50, 75])}
    >>> rate_at(tr, 1, [0, 99, 100, 250, 400]).tolist()
    [100, 100, 50, 50, 75]
    """
    fid = np.asarray(trace["flow_id"])
    sel = fid == flow_id
    if not sel.any():
        raise ValueError(f"flow {flow_id} has no rate trace")
    t = np.asarray(trace["t_ps"])[sel]
    r = np.asarray(trace["rate_bps"])[sel]
    idx = np.searchsorted(t, np.asarray(t_ps), side="right") - 1
    return r[np.clip(idx, 0, len(r) - 1)]


def plot_rate_trace(result_or_trace, flows=None, ax=None, until_ps=None):
    """Plot each flow's pacing rate over time as steps (Gb/s against us).

    Parameters
    ----------
    result_or_trace : RunResult, DataFrame or dict of arrays
        A run with ``transport.trace_rate = true``, or its ``rate_trace``.
    flows : list of int, optional
        Flow ids to draw (default all).
    ax : matplotlib Axes, optional
        Draw into it (default: a new figure).
    until_ps : int, optional
        Extend the last step of every flow to this time (default: the last change).

    Returns
    -------
    matplotlib Axes
    """
    try:
        import matplotlib.pyplot as plt
    except ImportError:
        raise ImportError("plotting a rate trace needs matplotlib: pip install matplotlib") from None
    trace = getattr(result_or_trace, "trace_cols", result_or_trace)
    if trace is None:
        raise ValueError("no rate trace: run with transport.trace_rate = true")
    fid = np.asarray(trace["flow_id"])
    t = np.asarray(trace["t_ps"])
    r = np.asarray(trace["rate_bps"])
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    for f in (sorted(set(fid.tolist())) if flows is None else flows):
        sel = fid == f
        if not sel.any():
            raise ValueError(f"flow {f} has no rate trace")
        x, y = t[sel] / 1e6, r[sel] / 1e9
        if until_ps is not None and until_ps / 1e6 > x[-1]:
            x, y = np.append(x, until_ps / 1e6), np.append(y, y[-1])
        ax.step(x, y, where="post", label=f"flow {f}")
    ax.set_xlabel("time (us)")
    ax.set_ylabel("rate (Gb/s)")
    ax.legend(fontsize="small")
    return ax
