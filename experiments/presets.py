"""Transport presets: the two fabrics an architect compares, one definition for every front end.

``uesim collective --preset``, ``uesim train --transport``, ``uesim stall`` plans
(``preset = "roce"``), ``uesim compare`` variants and scenario files
(``preset = "roce"`` at the top level) all take their transport and fabric tables from
here, so "RoCE" means the same thing everywhere:

``uet``
    Ultra Ethernet: NSCC (sender window on ECN and delay), oblivious per-packet spraying,
    RUD, switch packet trimming (a packet that finds the queue full is cut to a header
    and NACKed, not dropped), 1 MB port buffers, ECN marking between 100 KB and 400 KB.
``roce``
    RoCEv2 RC: one path per queue pair (ECMP hash, pinned to one NIC port), go-back-N,
    DCQCN with the parameters of Zhu et al. (g = 1/256, 55 us timers, 10 MiB byte
    counter) and at most one CNP per 50 us per flow, PFC (lossless), 2 MB port buffers
    and HPCC-style ECN marking scaled to 100 Gb/s (100 KB / 400 KB per 25 Gb/s, so
    400 KB / 1.6 MB, Pmax 0.2): below the buffer, so DCQCN sees marks before PFC pauses.
    (The NIC-style set, ``params = "nic"``, recovers on a 1.5 ms timer alone: a queue
    pair cut once in a millisecond-long collective never regains its share, and a
    128-GPU 8 MiB all-to-all then takes 2.2x its ideal instead of 1.2x.)

A preset is a starting point: a front end's own options (``--cc``, ``--buffer``, a
scenario's ``[transport]`` keys) are merged over it key by key.

Examples
--------
>>> from uesim.experiments.presets import preset, PRESETS
>>> sorted(PRESETS)
['roce', 'uet']
>>> p = preset("roce")
>>> p["transport"]["lb"]["name"], p["fabric"]["pfc"]["enabled"], p["label"]
('ecmp', True, 'RoCE/DCQCN+PFC')
>>> preset("ib")
Traceback (most recent call last):
...
ValueError: preset = 'ib': allowed: uet, roce
"""
from __future__ import annotations

import copy

#: ECN marking of both presets: NSCC and DCQCN both react to it (1 MB port buffers;
#: the HPCC-style thresholds of 100 KB / 400 KB, Pmax 0.2)
ECN = {"kmin_bytes": 100_000, "kmax_bytes": 400_000, "pmax": 0.2}
BUFFER_BYTES = 1_000_000
#: RoCE's marking: HPCC's 100 KB / 400 KB per 25 Gb/s at 100 Gb/s, in 2 MB buffers
ROCE_ECN = {"kmin_bytes": 400_000, "kmax_bytes": 1_600_000, "pmax": 0.2}
ROCE_BUFFER_BYTES = 2_000_000
#: RoCE's retransmission timer: a queue pair's local ACK timeout, 4.096 us x 2**t, with
#: t = 18 (about 1.07 s a try; NCCL's connections give up after about 7 s, 7 tries). On a
#: lossless (PFC) fabric a timer fires only for an ACK held behind paused queues, which
#: htsim's 1 ms minimum (the transport's default) turns into a go-back-N of a whole window
ROCE_RTO_PS = 4_096_000 * 2**18

PRESETS = {
    "uet": {"label": "UET/NSCC",
            "description": "Ultra Ethernet: NSCC, oblivious spraying, trimming, ECN, 1 MB buffers",
            "transport": {"name": "uet", "cc": {"name": "nscc"}, "lb": {"name": "oblivious"}},
            "fabric": {"buffer_bytes": BUFFER_BYTES, "ecn": dict(ECN), "trimming": True}},
    "roce": {"label": "RoCE/DCQCN+PFC",
             "description": "RoCEv2 RC: one path per queue pair (ECMP), go-back-N, DCQCN, ECN, PFC, 2 MB buffers",
             "transport": {"name": "roce", "cnp_interval_ps": 50_000_000, "min_rto_ps": ROCE_RTO_PS,
                           "cc": {"name": "dcqcn", "params": "paper"}, "lb": {"name": "ecmp"}},
             "fabric": {"buffer_bytes": ROCE_BUFFER_BYTES, "ecn": dict(ROCE_ECN), "pfc": {"enabled": True}}},
}


def preset(name: str) -> dict:
    """A deep copy of preset ``name``: ``label``, ``description``, ``transport``, ``fabric``."""
    if name not in PRESETS:
        raise ValueError(f"preset = {name!r}: allowed: {', '.join(PRESETS)}")
    return copy.deepcopy(PRESETS[name])


def merge(base: dict, over: dict | None) -> dict:
    """``base`` with ``over`` merged in key by key at any depth (a copy; ``over`` wins).

    >>> merge({"cc": {"name": "nscc", "a": 1}}, {"cc": {"name": "dctcp"}})
    {'cc': {'name': 'dctcp', 'a': 1}}
    """
    out = copy.deepcopy(base)
    for k, v in (over or {}).items():
        out[k] = merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out
