"""Expand a scenario's ``[sweep]`` table into points: fully resolved, checked scenarios.

A sweep is a base scenario (the rest of the file) plus a ``[sweep]`` table::

    [sweep]
    grid = { "transport.cc.name" = ["nscc", "dctcp"], "traffic.size_bytes" = [65536, 1048576] }
    zip = { "topology.k" = [4, 6], "traffic.n_senders" = [15, 53] }
    seeds = 3                 # or replicates = 3, or seeds = [1, 7, 42]

* ``grid``: every combination of the axes (a product, in the order written);
* ``zip``: axes of equal length advanced together (one more product factor);
* ``seeds`` / ``replicates`` (aliases): N copies with ``seed = base seed + 0..N-1``, or
  an explicit list of seeds.

An axis is a dotted key into the scenario; its value *replaces* what is at that key (a
table value, such as ``"transport.cc" = [{name = "nscc"}, {name = "dctcp", g = 0.0625}]``,
replaces the whole table; keys of the base it does not name stay).  Every point is checked
like a scenario file; a bad axis gives one ScenarioError naming it.
"""
from __future__ import annotations

import copy
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

from uesim.experiments.schema import ScenarioError

SWEEP_KEYS = ("grid", "zip", "seeds", "replicates")

# keys of the resolved config that cannot change a result: left out of the point key
_NOT_IN_KEY = ("name",)


@dataclass
class Point:
    """One scenario of a sweep.

    Attributes
    ----------
    key : str
        16 hex digits: a hash of the canonical JSON of ``config`` (see :func:`point_key`).
    config : dict
        The resolved, checked scenario (defaults filled in, file paths absolute).
    axes : dict
        The sweep's axis values of this point (dotted key -> value).
    index : int
        Position in the expansion order.
    """

    key: str
    config: dict
    axes: dict = field(default_factory=dict)
    index: int = 0

    @property
    def plugins(self) -> list[str]:
        """Modules a worker imports before running this point."""
        return list(self.config.get("plugins", []))


def canonical_json(config: dict) -> str:
    """The config as JSON with sorted keys and no spaces (the text the key hashes)."""
    return json.dumps(config, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=True, default=str)


def point_key(config: dict) -> str:
    """Short hash naming a resolved config in the result store.

    Everything that can change a result is hashed (all keys but ``name``).

    Examples
    --------
    >>> a = point_key({"name": "a", "seed": 1, "traffic": {"size_bytes": 10}})
    >>> a == point_key({"traffic": {"size_bytes": 10}, "seed": 1, "name": "b"})
    True
    >>> a == point_key({"name": "a", "seed": 2, "traffic": {"size_bytes": 10}})
    False
    >>> len(a)
    16
    """
    body = {k: v for k, v in config.items() if k not in _NOT_IN_KEY}
    return hashlib.sha256(canonical_json(body).encode()).hexdigest()[:16]


def set_dotted(table: dict, dotted: str, value, axis: str) -> None:
    """Set ``table[a][b][c] = value`` for ``dotted = "a.b.c"``, creating tables on the way."""
    parts = dotted.split(".")
    node = table
    for i, part in enumerate(parts[:-1]):
        nxt = node.get(part)
        if nxt is None:
            from uesim.experiments.scenario import table_default
            nxt = node[part] = table_default(".".join(parts[:i + 1]))
        elif not isinstance(nxt, dict):
            where = ".".join(parts[:i + 1])
            raise ScenarioError(f"{axis}: {where!r} is {nxt!r}, not a table, so {dotted!r} cannot be set")
        node = nxt
    node[parts[-1]] = copy.deepcopy(value)


def _axes(sweep: dict, kind: str) -> dict[str, list]:
    table = sweep.get(kind, {})
    if not isinstance(table, dict):
        raise ScenarioError(f"sweep.{kind} = {table!r}: must be a table of axes "
                            f"(\"dotted.key\" = [values, ...])")
    from uesim.experiments.scenario import TOP
    for key, values in table.items():
        axis = f"sweep.{kind}.{key!r}" if "." in key else f"sweep.{kind}.{key}"
        parts = key.split(".")
        if not all(parts):
            raise ScenarioError(f"{axis}: not a dotted scenario key")
        if parts[0] not in TOP or parts[0] in ("sweep", "name"):
            allowed = ", ".join(sorted(k for k in TOP if k not in ("sweep", "name")))
            raise ScenarioError(f"{axis}: unknown key {parts[0]!r}; an axis starts with one of: {allowed}")
        if not isinstance(values, list):
            raise ScenarioError(f"{axis} = {values!r}: must be an array of values")
        if not values:
            raise ScenarioError(f"{axis} = []: an axis needs at least one value")
    return table


def _seeds(sweep: dict, base_seed: int) -> list[int] | None:
    given = [k for k in ("seeds", "replicates") if k in sweep]
    if len(given) == 2:
        raise ScenarioError("sweep: give seeds or replicates (aliases), not both")
    if not given:
        return None
    name = given[0]
    value = sweep[name]
    if isinstance(value, bool) or not isinstance(value, (int, list)):
        raise ScenarioError(f"sweep.{name} = {value!r}: must be an integer >= 1 or an array of seeds")
    if isinstance(value, int):
        if value < 1:
            raise ScenarioError(f"sweep.{name} = {value!r}: must be an integer >= 1")
        return [base_seed + i for i in range(value)]
    if not value:
        raise ScenarioError(f"sweep.{name} = []: needs at least one seed")
    for s in value:
        if isinstance(s, bool) or not isinstance(s, int) or s < 0:
            raise ScenarioError(f"sweep.{name} = {value!r}: seeds must be integers >= 0 (found {s!r})")
    return list(value)


def _blame(message: str, axes: dict) -> str:
    """The axis a point's error comes from: the longest axis key the message names."""
    named = [k for k in axes if k in message]
    return max(named, key=len) if named else next(iter(axes))


def expand_sweep(raw: dict, path: str | Path | None = None) -> list[Point]:
    """The points of scenario mapping ``raw`` (a single point if it has no ``[sweep]``).

    Parameters
    ----------
    raw : dict
        The scenario as read from TOML, with its ``sweep`` table.
    path : path, optional
        The scenario file: relative file paths are resolved against its folder.

    Returns
    -------
    list of Point
        Distinct points in expansion order (a point whose config equals an earlier
        one's is dropped).

    Raises
    ------
    ScenarioError
        The base scenario or an axis is invalid; the message names the axis.

    Examples
    --------
    >>> from uesim.experiments.sweeps import expand_sweep
    >>> raw = {"topology": {"generator": "leaf_spine", "n_leaves": 2, "n_spines": 2, "hosts_per_leaf": 2},
    ...        "traffic": {"pattern": "permutation", "size_bytes": 1000},
    ...        "sweep": {"grid": {"transport.cc.cwnd_bytes": [8192, 65536]}, "seeds": 2}}
    >>> points = expand_sweep(raw)
    >>> [(p.config["transport"]["cc"]["cwnd_bytes"], p.config["seed"]) for p in points]
    [(8192, 0), (8192, 1), (65536, 0), (65536, 1)]
    >>> expand_sweep({**raw, "sweep": {"zip": {"seed": [1, 2], "traffic.size_bytes": [5]}}})
    Traceback (most recent call last):
    ...
    uesim.experiments.schema.ScenarioError: sweep.zip: axes must have equal lengths; 'seed' has 2 values, 'traffic.size_bytes' has 1
    """
    from uesim.experiments.scenario import check_scenario, resolve_paths
    raw = copy.deepcopy(raw)
    sweep = raw.pop("sweep", None) or {}
    if not isinstance(sweep, dict):
        raise ScenarioError(f"sweep = {sweep!r}: must be a table with grid, zip, seeds or replicates")
    unknown = sorted(set(sweep) - set(SWEEP_KEYS))
    if unknown:
        raise ScenarioError(f"unknown key 'sweep.{unknown[0]}'; allowed in sweep: {', '.join(SWEEP_KEYS)}")
    # the base alone must be valid: then a point's error is its axes' fault
    base = check_scenario(raw)
    grid, zipped = _axes(sweep, "grid"), _axes(sweep, "zip")
    both = sorted(set(grid) & set(zipped))
    if both:
        raise ScenarioError(f"sweep: axis {both[0]!r} is in both grid and zip")
    lengths = {k: len(v) for k, v in zipped.items()}
    if len(set(lengths.values())) > 1:
        (k1, n1), (k2, n2) = sorted(lengths.items(), key=lambda kv: -kv[1])[0], \
            sorted(lengths.items(), key=lambda kv: kv[1])[0]
        raise ScenarioError(f"sweep.zip: axes must have equal lengths; {k1!r} has {n1} values, "
                            f"{k2!r} has {n2}")
    seeds = _seeds(sweep, base["seed"])
    if seeds is not None and ("seed" in grid or "seed" in zipped):
        raise ScenarioError("sweep: 'seed' is an axis and seeds/replicates is given; use one")

    factors: list[list[dict]] = [[{k: v} for v in vals] for k, vals in grid.items()]
    if zipped:
        n = next(iter(lengths.values()))
        factors.append([{k: vals[i] for k, vals in zipped.items()} for i in range(n)])
    if seeds is not None:
        factors.append([{"seed": s} for s in seeds])
    axis_names = {**{k: f"sweep.grid.{k!r}" for k in grid}, **{k: f"sweep.zip.{k!r}" for k in zipped}}
    axis_names["seed"] = axis_names.get("seed", "sweep.seeds" if "seeds" in sweep else "sweep.replicates")

    points, seen = [], set()
    for combo in itertools.product(*factors):
        axes = {k: v for part in combo for k, v in part.items()}
        cfg = copy.deepcopy(raw)
        for key, value in axes.items():
            set_dotted(cfg, key, value, axis_names[key])
        try:
            resolved = check_scenario(cfg)
        except ScenarioError as exc:
            bad = _blame(str(exc), axes)
            raise ScenarioError(f"{axis_names[bad]} = {axes[bad]!r}: {exc}") from None
        if path is not None:
            resolve_paths(resolved, path)
        key = point_key(resolved)
        if key in seen:
            continue
        seen.add(key)
        points.append(Point(key=key, config=resolved, axes=axes, index=len(points)))
    return points


def load_sweep(path: str | Path, overrides: dict | None = None) -> list[Point]:
    """Read a scenario file (with or without ``[sweep]``) and expand it into points.

    ``overrides`` (a nested mapping) are merged into the base at any depth first.
    """
    import sys
    from uesim.experiments.scenario import deep_merge, read_toml
    raw = read_toml(path)
    folder = str(Path(path).resolve().parent)
    if folder not in sys.path:                 # plug-in modules next to the scenario file
        sys.path.append(folder)
    return expand_sweep(deep_merge(raw, overrides or {}), path)
