"""Results of one run: per-flow and per-port columns, as DataFrames on demand, plus a summary.

The columns are numpy arrays, so front ends that print a few numbers (``uesim htsim``)
never import pandas (about half a second of start-up); ``.flows`` and ``.ports`` build
DataFrames the first time they are read.
"""
from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np



def percentile(values, q: float) -> float:
    """The ``q``-th percentile of ``values``, equal to ``np.percentile(values, q)`` to the bit.

    numpy's default method (linear interpolation between the order statistics around
    the virtual index ``(n - 1) q / 100``), in its own order of operations.  Written out
    because ``np.percentile`` calls ``np.unique``, which imports ``numpy.ma`` in numpy 2:
    about 30 ms, a tenth of a small run's start-up.

    Examples
    --------
    >>> percentile([1.0, 2.0, 3.0, 4.0], 50), percentile([5.0, 1.0, 3.0], 99)
    (2.5, 4.96)
    """
    a = np.sort(np.asarray(values, dtype=float).ravel())
    n = a.size
    if n == 0:
        raise ValueError("percentile of no values")
    qf = q / 100
    virtual = (n - 1) * qf
    lo = min(max(math.floor(virtual), 0), n - 1)
    hi = min(lo + 1, n - 1)
    gamma = virtual - math.floor(virtual)
    x, y = a[lo], a[hi]
    diff = y - x
    if gamma >= 0.5:                                       # numpy's _lerp, both branches
        return float(y - diff * (1 - gamma))
    return float(x + diff * gamma)

@dataclass
class RunResult:
    """What a scenario run produced.

    Attributes
    ----------
    flow_cols : dict of numpy arrays
        One entry per flow: ``flow_id, src, dst, size_bytes, start_ps, end_ps`` (-1 if
        unfinished), ``fct_us`` (NaN if unfinished), ``rx_done_ps`` (-1), ``finished``,
        ``packets_sent, retransmits, timeouts, ecn_echoes`` and, for the UET transport,
        ``packets_new, acks, nacks``.  ``end_ps`` is when the sender processed the last
        ACK (htsim's convention).
    port_cols : dict of numpy arrays (or lists)
        One entry per egress port: ``port, node, peer, link, fabric, rate_gbps,
        tx_packets, tx_bytes, drops, drop_bytes, ecn_marks, trims, max_queue_bytes``.
    config : dict
        The resolved scenario.
    stats : dict
        Engine and transport counters: events, packet hops, packets, wall time, ...
    timeseries_data : uesim.experiments.timeseries.TimeSeries, optional
        Sampled port and flow series (``[outputs] timeseries_interval_ps``), or None.
    trace_cols : dict of numpy arrays, optional
        The pacing rate of every flow over time (transport option ``trace_rate``):
        ``flow_id, t_ps, rate_bps``, one row per change; None when nothing was traced.
    """

    flow_cols: dict
    port_cols: dict
    config: dict
    stats: dict = field(default_factory=dict)
    timeseries_data: object = None
    trace_cols: dict | None = None
    _frames: dict = field(default_factory=dict, repr=False)

    def flow_columns(self) -> dict:
        """The per-flow columns as numpy arrays (no pandas needed)."""
        return self.flow_cols

    @property
    def flows(self):
        """One row per flow (a pandas DataFrame; ``end_ps``/``rx_done_ps`` nullable)."""
        if "flows" not in self._frames:
            import pandas as pd
            df = pd.DataFrame(self.flow_cols)
            for col in ("end_ps", "rx_done_ps"):
                if col in df:
                    df[col] = df[col].astype("Int64").mask(df[col] < 0)
            self._frames["flows"] = df
        return self._frames["flows"]

    @property
    def ports(self):
        """One row per egress port (a pandas DataFrame)."""
        if "ports" not in self._frames:
            import pandas as pd
            self._frames["ports"] = pd.DataFrame(self.port_cols)
        return self._frames["ports"]

    @property
    def timeseries(self):
        """Sampled series as a long DataFrame ``t_us, kind, id, metric, value`` (see
        :mod:`uesim.experiments.timeseries`), or None when sampling was off.  Settable
        (a frame of your own is then what :meth:`write` saves)."""
        if "timeseries" not in self._frames:
            if self.timeseries_data is None:
                return None
            self._frames["timeseries"] = self.timeseries_data.to_frame()
        return self._frames["timeseries"]

    @timeseries.setter
    def timeseries(self, frame):
        if frame is None:
            self._frames.pop("timeseries", None)
            self.timeseries_data = None
        else:
            self._frames["timeseries"] = frame

    @property
    def rate_trace(self):
        """Each flow's pacing rate over time (a pandas DataFrame: ``flow_id, t_ps,
        rate_bps, t_us, rate_gbps``), or None without ``transport.trace_rate``.  Plot it
        with :func:`uesim.experiments.ratetrace.plot_rate_trace`."""
        if self.trace_cols is None:
            return None
        if "rate_trace" not in self._frames:
            import pandas as pd
            df = pd.DataFrame(self.trace_cols)
            df["t_us"] = df["t_ps"] / 1e6
            df["rate_gbps"] = df["rate_bps"] / 1e9
            self._frames["rate_trace"] = df
        return self._frames["rate_trace"]

    def summary(self) -> dict:
        """Headline numbers (the JSON line of ``uesim run --json``)."""
        fin = np.asarray(self.flow_cols["finished"], dtype=bool)
        fct = np.asarray(self.flow_cols["fct_us"], dtype=float)[fin]
        pct = (lambda q: round(percentile(fct, q), 6)) if len(fct) else (lambda q: None)
        return {
            "scenario": self.config.get("name"),
            "flows": int(len(fin)),
            "finished": int(fin.sum()),
            "last_fct_us": round(float(fct.max()), 6) if len(fct) else None,
            "fct_p50_us": pct(50),
            "fct_p99_us": pct(99),
            "retransmits": int(np.sum(self.flow_cols["retransmits"])),
            "drops": int(np.sum(self.port_cols["drops"])),
            "ecn_marks": int(np.sum(self.port_cols["ecn_marks"])),
            "trims": int(np.sum(self.port_cols["trims"])) if "trims" in self.port_cols else 0,
            **{k: self.stats[k] for k in ("pfc_pauses", "events", "packet_hops", "wall_s")
               if k in self.stats and (k != "pfc_pauses" or self.stats[k])},
            **({"cnps": self.stats["cnps_sent"]} if "cnps_sent" in self.stats else {}),
        }

    def write(self, folder: str | Path) -> Path:
        """Write ``flows.parquet``, ``ports.parquet``, ``timeseries.parquet`` (if sampled)
        and ``run.json`` (config, stats, summary) into ``folder``, each atomically (a
        temporary file renamed)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        frames = [("flows", self.flows), ("ports", self.ports)]
        if self.timeseries is not None:
            frames.append(("timeseries", self.timeseries))
        for name, df in frames:
            _atomic(folder / f"{name}.parquet", lambda p, df=df: df.to_parquet(p, index=False))
        meta = {"config": self.config, "stats": self.stats, "summary": self.summary()}
        _atomic(folder / "run.json", lambda p: Path(p).write_text(json.dumps(meta, indent=1, default=str)))
        return folder


def _atomic(path: Path, write):
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
