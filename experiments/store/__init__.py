"""The result store: one folder per sweep point, written atomically, verified by a manifest.

Layout of a store folder ``DIR``::

    DIR/points/<key>/config.json        the resolved scenario (its hash is <key>)
    DIR/points/<key>/flows.parquet      one row per flow (RunResult.flows)
    DIR/points/<key>/ports.parquet      one row per egress port (RunResult.ports)
    DIR/points/<key>/stats.json         {"summary": headline metrics, "stats": engine counters}
    DIR/points/<key>/timeseries.parquet, collectives.parquet   when the result has them
    DIR/points/<key>/manifest.json      bytes and sha256 of every file above; written last

A point is written into ``DIR/points/.tmp-<key>-...`` and renamed into place, so a point
folder is complete or absent; the manifest catches later damage (a deleted or truncated
file).  :func:`load` reads a store back as DataFrames.
"""
from uesim.experiments.store.store import (HEADLINE, ResultStore, StoreView, load,
                                           point_key)

__all__ = ["HEADLINE", "ResultStore", "StoreView", "load", "point_key"]
