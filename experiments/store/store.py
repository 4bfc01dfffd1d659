"""Result store implementation (see :mod:`uesim.experiments.store`)."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

from uesim.experiments.sweeps.expand import point_key

#: Headline metrics of a point (stats.json "summary", the columns of ``uesim results``).
HEADLINE = ("flows", "finished", "fct_p50_us", "fct_p99_us", "fct_max_us", "drops", "wall_s")
REQUIRED = ("config.json", "flows.parquet", "ports.parquet", "stats.json")
OPTIONAL_FRAMES = ("timeseries", "collectives")
MANIFEST = "manifest.json"


def _json_default(obj):
    import numpy as np
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    return str(obj)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def headline(result) -> dict:
    """The headline metrics of a RunResult (plus the rest of its summary)."""
    s = dict(result.summary())
    s["fct_max_us"] = s.get("last_fct_us")
    return s


class ResultStore:
    """A store folder: write points, check them, list them.

    Parameters
    ----------
    root : path
        The store folder (created on the first write).

    Examples
    --------
    >>> import tempfile
    >>> from uesim.experiments import check_scenario, run_scenario
    >>> from uesim.experiments.store import ResultStore, point_key
    >>> sc = check_scenario({"topology": {"generator": "leaf_spine", "n_leaves": 2, "n_spines": 1,
    ...     "hosts_per_leaf": 2}, "traffic": {"pattern": "permutation", "size_bytes": 10_000}})
    >>> store = ResultStore(tempfile.mkdtemp())
    >>> key = point_key(sc)
    >>> store.status(key)
    'missing'
    >>> _ = store.write(key, sc, run_scenario(sc))
    >>> store.status(key), store.keys() == [key]
    ('ok', True)
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.points_dir = self.root / "points"

    def path(self, key: str) -> Path:
        """The folder of point ``key``."""
        return self.points_dir / key

    def status(self, key: str) -> str:
        """``"ok"`` (manifest verifies), ``"missing"`` or ``"corrupt"`` (with a reason in
        :meth:`problem`)."""
        return "ok" if self.problem(key) is None else \
            ("missing" if not self.path(key).exists() else "corrupt")

    def problem(self, key: str) -> str | None:
        """Why point ``key`` does not verify, or None if it does."""
        folder = self.path(key)
        if not folder.is_dir():
            return "missing"
        try:
            manifest = json.loads((folder / MANIFEST).read_text())
            files = manifest["files"]
        except (OSError, ValueError, KeyError, TypeError):
            return "no readable manifest"
        if manifest.get("key") != key:
            return f"manifest names key {manifest.get('key')!r}"
        for name in REQUIRED:
            if name not in files:
                return f"manifest lacks {name}"
        for name, meta in files.items():
            f = folder / name
            try:
                size = f.stat().st_size
            except OSError:
                return f"{name} missing"
            if size != meta.get("bytes"):
                return f"{name} has {size} bytes, manifest says {meta.get('bytes')}"
            if _sha256(f) != meta.get("sha256"):
                return f"{name} checksum differs"
        return None

    def keys(self) -> list[str]:
        """Keys of the points that verify, sorted."""
        if not self.points_dir.is_dir():
            return []
        return sorted(p.name for p in self.points_dir.iterdir()
                      if not p.name.startswith(".") and p.is_dir() and self.problem(p.name) is None)

    def all_keys(self) -> list[str]:
        """Keys of every point folder, verified or not."""
        if not self.points_dir.is_dir():
            return []
        return sorted(p.name for p in self.points_dir.iterdir() if not p.name.startswith(".") and p.is_dir())

    def write(self, key: str, config: dict, result) -> Path:
        """Write ``result`` (a RunResult) of ``config`` as point ``key``, atomically.

        A damaged earlier copy of the point is replaced.  The key must be
        ``point_key(config)``: a mismatch is a ValueError (it would be a wrong cache hit).
        """
        if point_key(config) != key:
            raise ValueError(f"point key {key!r} is not the hash of its config ({point_key(config)!r})")
        self.points_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.points_dir / f".tmp-{key}-{uuid.uuid4().hex[:8]}"
        tmp.mkdir()
        try:
            (tmp / "config.json").write_text(json.dumps(config, indent=1, sort_keys=True, default=_json_default))
            result.flows.to_parquet(tmp / "flows.parquet", index=False)
            result.ports.to_parquet(tmp / "ports.parquet", index=False)
            for name in OPTIONAL_FRAMES:
                frame = getattr(result, name, None)
                if isinstance(frame, dict):          # numpy columns, as RunResult keeps flows
                    import pandas as pd
                    frame = pd.DataFrame(frame)
                if frame is not None:
                    frame.to_parquet(tmp / f"{name}.parquet", index=False)
            stats = {"summary": headline(result), "stats": result.stats}
            (tmp / "stats.json").write_text(json.dumps(stats, indent=1, default=_json_default))
            files = {f.name: {"bytes": f.stat().st_size, "sha256": _sha256(f)}
                     for f in sorted(tmp.iterdir())}
            manifest = {"version": 1, "key": key, "files": files}
            (tmp / MANIFEST).write_text(json.dumps(manifest, indent=1))   # last: marks complete
            for f in tmp.iterdir():
                with open(f, "rb") as fh:
                    os.fsync(fh.fileno())
            final = self.path(key)
            if final.exists():                     # a damaged copy: move aside, then replace
                trash = self.points_dir / f".trash-{key}-{uuid.uuid4().hex[:8]}"
                final.rename(trash)
                shutil.rmtree(trash, ignore_errors=True)
            tmp.rename(final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return self.path(key)

    def read_config(self, key: str) -> dict:
        return json.loads((self.path(key) / "config.json").read_text())

    def read_stats(self, key: str) -> dict:
        return json.loads((self.path(key) / "stats.json").read_text())


def flatten(table: dict, prefix: str = "") -> dict:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; arrays become JSON text (hashable cells).

    Examples
    --------
    >>> flatten({"seed": 1, "transport": {"cc": {"name": "nscc"}}, "plugins": ["x"]})
    {'seed': 1, 'transport.cc.name': 'nscc', 'plugins': '["x"]'}
    """
    out = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, list):
            out[name] = json.dumps(value, sort_keys=True)
        else:
            out[name] = value
    return out


class StoreView:
    """A store read back as pandas DataFrames (what :func:`load` returns).

    Attributes
    ----------
    points : DataFrame
        One row per verified point: ``point`` (the key), every config key flattened to a
        dotted column (``seed``, ``transport.cc.name``, ``topology.k``, ...; arrays as JSON
        text), then the headline metrics ``flows, finished, fct_p50_us, fct_p99_us,
        fct_max_us, drops, wall_s`` and the rest of the run summary (``retransmits``,
        ``ecn_marks``, ``trims``, ``events``, ``packet_hops``).
    flows : DataFrame
        Every point's flows (columns of :attr:`RunResult.flows`) with a first column
        ``point``; join to ``points`` on it.
    ports : DataFrame
        Every point's egress ports (:attr:`RunResult.ports`), with ``point``.
    timeseries, collectives : DataFrame or None
        The same for points that stored them (None if none did).
    config_columns : list of str
        The flattened config columns of ``points``; :meth:`varying` those that differ.
    problems : dict
        Point folders that did not verify: key -> reason (they are left out).
    """

    def __init__(self, root: str | Path):
        self.store = ResultStore(root)
        self.problems = {}
        self.keys = []
        for key in self.store.all_keys():
            why = self.store.problem(key)
            if why is None:
                self.keys.append(key)
            else:
                self.problems[key] = why
        self._cache = {}

    def __len__(self) -> int:
        return len(self.keys)

    def __repr__(self) -> str:
        return f"StoreView({str(self.store.root)!r}, {len(self.keys)} points)"

    @property
    def points(self):
        if "points" not in self._cache:
            import pandas as pd
            rows, cfg_cols = [], []
            for key in self.keys:
                cfg = flatten(self.store.read_config(key))
                for c in cfg:
                    if c not in cfg_cols:
                        cfg_cols.append(c)
                summary = self.store.read_stats(key)["summary"]
                rows.append({"point": key, **cfg, **{k: summary.get(k) for k in HEADLINE},
                             **{k: v for k, v in summary.items() if k not in HEADLINE
                                and k not in ("scenario", "last_fct_us")}})
            self.config_columns = cfg_cols
            df = pd.DataFrame(rows) if rows else pd.DataFrame(columns=["point", *HEADLINE])
            for c in cfg_cols:        # integer keys absent at some points: keep them integers
                vals = [r[c] for r in rows if c in r]
                if len(vals) < len(rows) and all(isinstance(v, int) and not isinstance(v, bool)
                                                 for v in vals):
                    df[c] = df[c].astype("Int64")
            self._cache["points"] = df
        return self._cache["points"]

    @property
    def config_columns(self) -> list[str]:
        if "config_columns" not in self._cache:
            self.points
        return self._cache.get("config_columns", [])

    @config_columns.setter
    def config_columns(self, value):
        self._cache["config_columns"] = value

    def varying(self) -> list[str]:
        """Config columns whose value is not the same at every point."""
        df = self.points
        return [c for c in self.config_columns
                if df[c].astype(str).nunique(dropna=False) > 1]

    def _frame(self, name: str, required: bool = True):
        if name not in self._cache:
            import pandas as pd
            parts = []
            for key in self.keys:
                f = self.store.path(key) / f"{name}.parquet"
                if not f.exists():
                    continue
                df = pd.read_parquet(f)
                df.insert(0, "point", key)
                parts.append(df)
            if parts:
                self._cache[name] = pd.concat(parts, ignore_index=True)
            else:
                self._cache[name] = pd.DataFrame(columns=["point"]) if required else None
        return self._cache[name]

    @property
    def flows(self):
        return self._frame("flows")

    @property
    def ports(self):
        return self._frame("ports")

    @property
    def timeseries(self):
        return self._frame("timeseries", required=False)

    @property
    def collectives(self):
        return self._frame("collectives", required=False)


def load(root: str | Path) -> StoreView:
    """Read the result store in folder ``root`` (written by ``uesim sweep --out root``).

    Returns
    -------
    StoreView
        ``.points`` (one row per point: ``point`` key, flattened config columns such as
        ``transport.cc.name``, headline metrics ``flows, finished, fct_p50_us,
        fct_p99_us, fct_max_us, drops, wall_s``), ``.flows`` and ``.ports`` (every
        point's rows, each with its ``point`` key), ``.timeseries`` / ``.collectives``
        (or None), ``.varying()`` (config columns that differ between points) and
        ``.problems`` (damaged points left out).  Points that do not verify against
        their manifest are never returned.

    Examples
    --------
    >>> import tempfile
    >>> from uesim.experiments import load
    >>> view = load(tempfile.mkdtemp())
    >>> len(view), list(view.points.columns)[:3]
    (0, ['point', 'flows', 'finished'])
    """
    return StoreView(root)
