"""Results of one run: per-flow and per-port DataFrames plus a summary."""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass
class RunResult:
    """What a scenario run produced.

    Attributes
    ----------
    flows : pandas.DataFrame
        One row per flow: ``flow_id, src, dst, size_bytes, start_ps, end_ps, fct_us,
        rx_done_ps, finished, packets_sent, retransmits, timeouts, ecn_echoes``.
        ``end_ps`` is when the sender processed the last ACK (htsim's convention).
    ports : pandas.DataFrame
        One row per egress port: ``port, node, peer, link, fabric, rate_gbps, tx_packets,
        tx_bytes, drops, drop_bytes, ecn_marks, max_queue_bytes``.
    config : dict
        The resolved scenario.
    stats : dict
        Engine counters: events, packet hops, packets allocated/dropped/in flight, wall time.
    """

    flows: pd.DataFrame
    ports: pd.DataFrame
    config: dict
    stats: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """Headline numbers (the JSON line of ``uesim run --json``)."""
        done = self.flows[self.flows["finished"]]
        fct = done["fct_us"].to_numpy()
        pct = (lambda q: round(float(np.percentile(fct, q)), 6)) if len(fct) else (lambda q: None)
        return {
            "scenario": self.config.get("name"),
            "flows": int(len(self.flows)),
            "finished": int(len(done)),
            "last_fct_us": round(float(fct.max()), 6) if len(fct) else None,
            "fct_p50_us": pct(50),
            "fct_p99_us": pct(99),
            "retransmits": int(self.flows["retransmits"].sum()),
            "drops": int(self.ports["drops"].sum()),
            "ecn_marks": int(self.ports["ecn_marks"].sum()),
            **{k: self.stats[k] for k in ("events", "packet_hops", "wall_s")
               if k in self.stats},
        }

    def write(self, folder: str | Path) -> Path:
        """Write ``flows.parquet``, ``ports.parquet`` and ``run.json`` (config, stats,
        summary) into ``folder``, each atomically (a temporary file renamed)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for name, df in (("flows", self.flows), ("ports", self.ports)):
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
