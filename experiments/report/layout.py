"""Which config keys a sweep varies, and how figures and tables show them.

A sweep's points table has one row per point and one column per config key.  A
:class:`SweepLayout` sorts the keys that vary into

* **axes**: independent keys, in order.  The first one (``colour``) gets one colour per
  value, the second (``panel``) one panel per value in a CDF and the x axis of a scalar
  plot, further ones (``style``) a line style each;
* **dependent** keys: they vary, but follow the axes (``transport.cc.cwnd_bytes`` set for
  the fixed window only, or a ``zip`` partner): no split of their own, shown in tables;
* the **seed** (the scenario's top-level ``seed`` key): points that differ only by
  seed are replicates, aggregated into one curve with a band or one mean with error bars;
* **fixed** keys: the same at every point, stated once.

How the axes are found and ordered:

1. a key named ``...name`` or ``...generator`` (a *chooser*: ``transport.cc.name``,
   ``topology.generator``) takes in the varying keys of its table that do not apply at
   every point or that follow it (``transport.cc.cwnd_bytes`` of the fixed window), so a
   table axis such as ``"transport.cc" = [{name = "nscc"}, {name = "fixed", cwnd_bytes
   = 65536}]`` is one axis;
2. names (any values but numbers: strings, booleans) come before numbers, then
   config order; a key asked for as ``colour=`` comes first, one asked for as
   ``panel=`` second;
3. an axis whose values follow another axis (but not the other way round: the run
   limit zipped with the message size) or the axes before it is dependent.

Legend labels are ``short=value`` (``cc=nscc``, ``size_bytes=65536``): a chooser is named
by its table (``transport.cc.name`` -> ``cc``, ``topology.generator`` -> ``topology``), any
other key by its last part, longer where two would clash.
"""
from __future__ import annotations

from dataclasses import dataclass, field

#: The scenario's seed key (``uesim.experiments.scenario.TOP``): replicates differ by it.
SEED = "seed"
#: Last parts of a key that names what a table is (its parameters are the other keys).
CHOOSERS = ("name", "generator")


@dataclass(frozen=True)
class Axis:
    """One independent varying key (with the keys folded into it).

    Attributes
    ----------
    key : str
        The column naming the axis (``transport.cc.name``).
    members : tuple of str
        ``key`` and the parameters folded into it (``transport.cc.cwnd_bytes``).
    short : str
        Its name in legends and titles (``cc``).
    numeric : bool
        Its values are numbers (ordered: a scalar plot joins them with lines).
    """

    key: str
    members: tuple
    short: str
    numeric: bool = False


@dataclass
class SweepLayout:
    """How the varying keys of a points table are shown (see the module docstring).

    Attributes
    ----------
    axes : list of Axis
        Independent varying keys: colour, panel, then line styles.
    dependent : list of str
        Varying columns that follow the axes.
    seed : str or None
        The seed column, if the seed varies.
    fixed : list of str
        Config columns with one value at every point.
    n_seeds : int
        Distinct seeds among the points (1 if the seed does not vary).
    """

    axes: list = field(default_factory=list)
    dependent: list = field(default_factory=list)
    seed: str | None = None
    fixed: list = field(default_factory=list)
    n_seeds: int = 1

    @property
    def colour(self) -> Axis | None:
        """The axis drawn with one colour per value."""
        return self.axes[0] if self.axes else None

    @property
    def panel(self) -> Axis | None:
        """The axis drawn with one panel per value (x axis of a scalar plot)."""
        return self.axes[1] if len(self.axes) > 1 else None

    @property
    def style(self) -> list:
        """Axes drawn with one line style per combination of values."""
        return self.axes[2:]

    @property
    def keys(self) -> list[str]:
        """Varying columns in table order: axis members, dependent keys, the seed."""
        cols = [m for a in self.axes for m in a.members] + list(self.dependent)
        return cols + ([self.seed] if self.seed else [])

    @property
    def group_keys(self) -> list[str]:
        """Varying columns but the seed: points equal in these are replicates."""
        return [k for k in self.keys if k != self.seed]

    def describe(self) -> str:
        """One sentence on how figures show the axes (for captions)."""
        parts = []
        if self.colour:
            parts.append(f"one colour per {self.colour.short}")
        if self.panel:
            parts.append(f"one panel per {self.panel.short}")
        if self.style:
            parts.append(f"line style by {', '.join(a.short for a in self.style)}")
        if self.n_seeds > 1:
            parts.append(f"{self.n_seeds} seeds aggregated")
        return "; ".join(parts)


def varying_columns(points, config=None) -> tuple[list, list]:
    """``(varying, fixed)`` config columns of a points table.

    ``config`` names the config columns (a result store knows them); otherwise they are
    the dotted names (``transport.cc.name``) and ``seed``.

    Examples
    --------
    >>> import pandas as pd
    >>> varying_columns(pd.DataFrame({"seed": [1, 2], "traffic.size_bytes": [8, 8], "fct_us": [1.0, 2.0]}))
    (['seed'], ['traffic.size_bytes'])
    """
    if points is None:
        return [], []
    if config is None:
        config = [c for c in points.columns if "." in str(c) or c == SEED]
    config = [c for c in config if c in points.columns]
    counts = points[config].astype(str).nunique(dropna=False)
    varying = [c for c in config if counts[c] > 1]
    return varying, [c for c in config if c not in varying]


def _is_chooser(col: str) -> bool:
    return "." in col and col.rsplit(".", 1)[1] in CHOOSERS


def _follows(points, keys, col) -> bool:
    """Whether ``col`` has one value for each combination of ``keys`` (NA is a value)."""
    if not keys:
        return False
    cells = points[[*keys, col]].astype(str)        # pandas 3 keeps NA here: group it too
    return bool((cells.groupby(list(keys), dropna=False)[col].nunique(dropna=False) <= 1).all())


def _proto_axes(points, candidates) -> list[list[str]]:
    """Group the varying keys: each chooser takes in its table's parameters that do not
    apply everywhere or that follow it; every other key is an axis of its own."""
    choosers = [c for c in candidates if _is_chooser(c)]
    members = {c: [c] for c in choosers}
    alone = []
    for col in candidates:
        if col in members:
            continue
        owners = [c for c in choosers if col.startswith(c.rsplit(".", 1)[0] + ".")]
        owner = max(owners, key=len) if owners else None
        if owner and (points[col].isna().any() or _follows(points, [owner], col)):
            members[owner].append(col)
        else:
            alone.append([col])
    return [members[c] for c in choosers] + alone


def _follows_all(points, keys, group) -> bool:
    """Whether every column of ``group`` follows ``keys``."""
    return all(_follows(points, keys, m) for m in group)


def _coarser(points, groups) -> list:
    """Groups that another group determines but that do not determine it (a zip partner
    such as a run limit that grows with the size): dependent whatever the order."""
    return [g for g in groups
            if any(h is not g and _follows_all(points, h, g) and not _follows_all(points, g, h) for h in groups)]


def _numeric(series) -> bool:
    import pandas as pd
    vals = series.dropna()
    return len(vals) > 0 and pd.api.types.is_numeric_dtype(vals) and not pd.api.types.is_bool_dtype(vals)


def _find(groups, name: str, shorts: dict, role: str) -> list:
    """The group holding key ``name`` (dotted or short), else a ValueError naming ``role``."""
    for g in groups:
        if name in g or any(shorts.get(m) == name for m in g):
            return g
    allowed = ", ".join(f"{shorts[g[0]]} ({g[0]})" for g in groups) or "none"
    raise ValueError(f"{role} {name!r}: not a varying key of these points (the seed is aggregated); "
                     f"varying: {allowed}")


def _place(groups, shorts, colour, panel):
    """``groups`` with the one of ``colour`` first and the one of ``panel`` second (either
    may be None: the rest keep their order), and the groups so placed."""
    col = _find(groups, colour, shorts, "colour") if colour is not None else None
    pan = _find(groups, panel, shorts, "panel") if panel is not None else None
    if col is not None and col is pan:
        raise ValueError(f"colour {colour!r} and panel {panel!r} are the same key")
    rest = [g for g in groups if g is not col and g is not pan]
    head = [col] if col is not None else rest[:1]
    order = head + ([pan] if pan is not None else []) + rest[len(head) if col is None else 0:]
    return order, [g for g in (col, pan) if g is not None]


def short_names(cols) -> dict:
    """Legend name of each column: a chooser by its table (``transport.cc.name`` ->
    ``cc``), others by the last part, with more parts where two names would clash.

    Examples
    --------
    >>> short_names(["transport.cc.name", "traffic.size_bytes", "topology.generator", "seed"])
    {'transport.cc.name': 'cc', 'traffic.size_bytes': 'size_bytes', 'topology.generator': 'topology', 'seed': 'seed'}
    >>> short_names(["fabric.ecn.kmin_bytes", "other.kmin_bytes"])
    {'fabric.ecn.kmin_bytes': 'ecn.kmin_bytes', 'other.kmin_bytes': 'other.kmin_bytes'}
    """
    def name(col, n):
        parts = str(col).split(".")
        if _is_chooser(col):
            parts = parts[:-1]
        return ".".join(parts[-n:])
    depth = {c: 1 for c in cols}
    while True:
        names = {c: name(c, depth[c]) for c in cols}
        clash = [c for c in cols if list(names.values()).count(names[c]) > 1
                 and depth[c] < len(str(c).split("."))]
        if not clash:
            return names
        for c in clash:
            depth[c] += 1


def sweep_layout(points, config=None, *, colour: str | None = None, panel: str | None = None) -> SweepLayout:
    """The :class:`SweepLayout` of a points table.

    Parameters
    ----------
    points : pandas.DataFrame
        One row per point with config columns (dotted names, or those in ``config``).
    config : list of str, optional
        The config columns (``StoreView.config_columns``).
    colour, panel : str, optional
        A varying key (dotted or short name) to put first (colour) or second (panel).

    Returns
    -------
    SweepLayout

    Raises
    ------
    ValueError
        ``colour`` or ``panel`` is not a varying key.

    Examples
    --------
    >>> import pandas as pd
    >>> pts = pd.DataFrame({"point": list("abcdef"), "seed": [1, 2] * 3,
    ...                     "traffic.size_bytes": [8, 8, 8, 64, 64, 64],
    ...                     "transport.cc.name": ["nscc", "nscc", "fixed", "fixed", "nscc", "nscc"],
    ...                     "transport.cc.cwnd_bytes": [None, None, 9.0, 9.0, None, None]})
    >>> lay = sweep_layout(pts)
    >>> [a.short for a in lay.axes], lay.colour.members, lay.seed, lay.n_seeds
    (['cc', 'size_bytes'], ('transport.cc.name', 'transport.cc.cwnd_bytes'), 'seed', 2)
    >>> [a.short for a in sweep_layout(pts, colour="size_bytes").axes]
    ['size_bytes', 'cc']
    """
    varying, fixed = varying_columns(points, config)
    seed = SEED if SEED in varying else None
    groups = _proto_axes(points, [c for c in varying if c != SEED])
    shorts = short_names([g[0] for g in groups] + [m for g in groups for m in g[1:]])
    order = {c: i for i, c in enumerate(varying)}
    groups.sort(key=lambda g: (_numeric(points[g[0]]), order[g[0]]))
    groups, wanted = _place(groups, shorts, colour, panel)
    coarse = _coarser(points, groups)
    axes, dependent, chosen = [], [], []
    for g in groups:
        if all(g is not w for w in wanted) and (any(g is c for c in coarse) or _follows_all(points, chosen, g)):
            dependent.extend(g)
            continue
        chosen.extend(g)
        axes.append(Axis(key=g[0], members=tuple(g), short=shorts[g[0]],
                         numeric=_numeric(points[g[0]])))
    n_seeds = int(points[seed].nunique()) if seed else 1
    return SweepLayout(axes=axes, dependent=dependent, seed=seed, fixed=fixed, n_seeds=n_seeds)


def format_value(value) -> str:
    """A config value as legends show it (``65536``, ``0.5``, ``nscc``).

    Examples
    --------
    >>> format_value(65536), format_value(0.0625), format_value(4.0), format_value("nscc")
    ('65536', '0.0625', '4', 'nscc')
    """
    if isinstance(value, float) and value == int(value) and abs(value) < 1e15:
        return str(int(value))
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _missing(value) -> bool:
    import pandas as pd
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):     # arrays and lists are values
        return False


def _axis_labels(points, axis: Axis, shorts: dict):
    """``short=value`` of ``axis`` at each point: the chooser's value, with those of its
    parameters that differ between points of that same value (``topology=leaf_spine
    (n_spines=4)``, but ``topology=fat_tree``)."""
    head = points[axis.key].map(lambda v: f"{axis.short}={format_value(v)}")
    cells = points[list(axis.members)].astype(str)
    spread = cells.groupby(axis.key, dropna=False).nunique(dropna=False)       # per chooser value
    shown = {m: set(spread.index[spread[m] > 1]) for m in axis.members[1:] if (spread[m] > 1).any()}
    if not shown:
        return head

    def params(row):
        parts = [f"{shorts[m]}={format_value(row[m])}" for m, where in shown.items()
                 if str(row[axis.key]) in where and not _missing(row[m])]
        return f" ({', '.join(parts)})" if parts else ""
    return head + points.apply(params, axis=1)


def tag_points(points, layout: SweepLayout):
    """Each point's place in the layout: a DataFrame indexed like ``points`` with columns
    ``colour``, ``panel``, ``style`` (legend text, ``""`` where the layout has no such
    axis), ``group`` (all three joined) and ``seed``.

    Examples
    --------
    >>> import pandas as pd
    >>> pts = pd.DataFrame({"point": ["a", "b", "c", "d"], "seed": [1, 2, 1, 2],
    ...                     "transport.cc.name": ["nscc", "nscc", "dctcp", "dctcp"]})
    >>> tags = tag_points(pts, sweep_layout(pts))
    >>> tags["group"].tolist(), tags["seed"].tolist(), set(tags["panel"])
    (['cc=nscc', 'cc=nscc', 'cc=dctcp', 'cc=dctcp'], [1, 2, 1, 2], {''})
    """
    import pandas as pd
    shorts = short_names([m for a in layout.axes for m in a.members])
    shorts.update({a.key: a.short for a in layout.axes})
    labels = [_axis_labels(points, a, shorts) for a in layout.axes]
    empty = pd.Series("", index=points.index)
    style = empty
    if len(labels) > 2:
        style = labels[2].str.cat(labels[3:], sep=", ") if len(labels) > 3 else labels[2]
    out = pd.DataFrame({"colour": labels[0] if labels else empty,
                        "panel": labels[1] if len(labels) > 1 else empty, "style": style})
    out["group"] = out.apply(lambda r: ", ".join(v for v in r if v), axis=1)
    out["seed"] = points[layout.seed] if layout.seed else 0
    return out


def sort_points(points, layout: SweepLayout):
    """``points`` sorted by the layout's varying keys (axes, dependent keys, seed).

    Examples
    --------
    >>> import pandas as pd
    >>> pts = pd.DataFrame({"point": ["x", "y", "z"], "seed": [2, 1, 1],
    ...                     "traffic.size_bytes": [8, 64, 8]})
    >>> sort_points(pts, sweep_layout(pts))["point"].tolist()
    ['z', 'x', 'y']
    """
    keys = [k for k in layout.keys if k in points.columns]
    if not keys:
        return points
    try:
        return points.sort_values(keys, kind="stable", na_position="first")
    except TypeError:           # mixed value types in a column: order by their text
        return points.sort_values(keys, kind="stable", na_position="first", key=lambda s: s.astype(str))


def ordered(values) -> list:
    """Distinct values in order of first appearance (of sorted points)."""
    return list(dict.fromkeys(values))
