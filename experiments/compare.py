"""``uesim compare FILE [--only A,B] [--seed N] [--json]``: run one scenario under several transports / fabrics, print a table.

A comparison file is a scenario (the *base*: topology, traffic, and whatever the variants
share) plus a ``[compare]`` table naming the *variants*, each a table of overrides merged
into the base::

    [compare]
    victim_flows = [3]                 # optional: flows reported apart, by throughput

    [compare.variants.roce_pfc]
    label = "RoCE, PFC"                # optional: the row's name (default: the table's key)
    transport = { name = "roce", mtu_bytes = 4160 }
    fabric = { pfc = { mode = "frames" } }

    [compare.variants.uet_nscc]
    label = "UET, NSCC"
    transport = { name = "uet", mtu_bytes = 4160, cc = { name = "nscc" }, lb = { name = "oblivious" } }
    fabric = { trimming = true }

A variant's tables merge into the base key by key at any depth; a table the base does not
have is taken as written (not filled from the schema's defaults first, so a variant's
``transport.cc = {name = "nscc"}`` is NSCC with its own defaults); anything else replaces.
Every variant is checked like a scenario file before any runs. The variants run one
after the other in file order (all in this process) and the table has one row per variant:

======================  ===================================================================
column                  meaning
======================  ===================================================================
variant                 the label
done                    finished / total flows (victims included)
last_us, p50_us,        FCT over the finished flows that are not victims (numpy percentiles)
p99_us
drops                   packets dropped at switch and NIC ports
trims                   packets trimmed to a header (UET over a lossy fabric)
retx                    packets retransmitted by the transports
pauses                  PFC PAUSE frames sent (stats ``pfc_pauses``)
paused_us               time ports had a class paused, summed over ports (``pfc_paused_ps``)
stall_us                time ports waited for CBFC credit, summed over ports (``cbfc_stall_ps``)
victim_gbps             the victim flows' bytes x 8 / their FCT, summed, Gb/s (when
                        ``victim_flows`` is given; None while a victim is unfinished)
======================  ===================================================================

Examples
--------
>>> from uesim.experiments.compare import expand_compare, run_compare, format_table
>>> raw = {"topology": {"generator": "leaf_spine", "n_leaves": 1, "n_spines": 1, "hosts_per_leaf": 3},
...        "traffic": {"pattern": "incast", "receiver": 0, "n_senders": 2, "size_bytes": 200_000},
...        "fabric": {"buffer_bytes": 50_000},
...        "transport": {"mtu_bytes": 4096, "cc": {"name": "fixed", "cwnd_bytes": 400_000}},
...        "compare": {"variants": {"lossy": {}, "pfc": {"fabric": {"pfc": {"mode": "htsim"}}}}}}
>>> variants, victims = expand_compare(raw)
>>> rows = run_compare(variants, victims)
>>> [(r["variant"], r["drops"] > 0, r["pauses"] > 0) for r in rows]
[('lossy', True, False), ('pfc', False, True)]
>>> print(format_table(rows).splitlines()[0])
| variant | done | last_us | p50_us | p99_us | drops | trims | retx | pauses | paused_us | stall_us |
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
from dataclasses import dataclass
from pathlib import Path

from uesim.experiments.schema import ScenarioError

COMPARE_KEYS = ("variants", "victim_flows")
COLUMNS = ("variant", "done", "last_us", "p50_us", "p99_us", "drops", "trims", "retx", "pauses",
           "paused_us", "stall_us")
VICTIM_COLUMN = "victim_gbps"


@dataclass
class Variant:
    """One row of a comparison.

    Attributes
    ----------
    name : str
        The key of its ``[compare.variants.NAME]`` table.
    label : str
        The row's name in the table.
    config : dict
        The resolved, checked scenario (base merged with the variant's overrides).
    """

    name: str
    label: str
    config: dict


def merge(base: dict, overrides: dict) -> dict:
    """``base`` with ``overrides`` merged in: tables present in both merge key by key,
    everything else (a table ``base`` lacks included) is taken from ``overrides``.

    Examples
    --------
    >>> merge({"fabric": {"buffer_bytes": 1, "pfc": {"mode": "htsim"}}},
    ...       {"fabric": {"pfc": {"enabled": False}}, "transport": {"cc": {"name": "nscc"}}})
    {'fabric': {'buffer_bytes': 1, 'pfc': {'mode': 'htsim', 'enabled': False}}, 'transport': {'cc': {'name': 'nscc'}}}
    """
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _victims(table: dict) -> list[int]:
    victims = table.get("victim_flows", [])
    if not isinstance(victims, list) or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 0
                                                for v in victims):
        raise ScenarioError(f"compare.victim_flows = {victims!r}: must be an array of flow ids (integers >= 0)")
    return list(victims)


def expand_compare(raw: dict, path: str | Path | None = None) -> tuple[list[Variant], list[int]]:
    """The variants of a comparison mapping and its victim flow ids.

    Parameters
    ----------
    raw : dict
        A scenario as read from TOML, with its ``[compare]`` table.
    path : path, optional
        The file: relative topology/traffic file paths are resolved against its folder.

    Raises
    ------
    ScenarioError
        Naming ``compare.variants.NAME`` and the bad key.
    """
    from uesim.experiments.scenario import check_scenario, resolve_paths
    if not isinstance(raw, dict):
        raise ScenarioError(f"a comparison must be a table, got {type(raw).__name__}")
    base = copy.deepcopy(raw)
    table = base.pop("compare", None)
    if table is None:
        raise ScenarioError("missing table 'compare' (with compare.variants.NAME tables of overrides; "
                            "see docs/compare.md)")
    if not isinstance(table, dict):
        raise ScenarioError(f"compare = {table!r}: must be a table")
    unknown = sorted(set(table) - set(COMPARE_KEYS))
    if unknown:
        raise ScenarioError(f"unknown key 'compare.{unknown[0]}'; allowed in compare: {', '.join(COMPARE_KEYS)}")
    if "sweep" in base:
        raise ScenarioError("compare: a comparison cannot also have a [sweep] table")
    victims = _victims(table)
    variants_raw = table.get("variants")
    if not isinstance(variants_raw, dict) or not variants_raw:
        raise ScenarioError(f"compare.variants = {variants_raw!r}: must be a table of at least one "
                            f"variant (compare.variants.NAME = {{ overrides }})")
    variants = []
    for name, over in variants_raw.items():
        where = f"compare.variants.{name}"
        if not isinstance(over, dict):
            raise ScenarioError(f"{where} = {over!r}: must be a table of overrides")
        over = dict(over)
        label = over.pop("label", name)
        if not isinstance(label, str) or not label:
            raise ScenarioError(f"{where}.label = {label!r}: must be a non-empty string")
        if "compare" in over or "sweep" in over:
            raise ScenarioError(f"{where}: a variant cannot set 'compare' or 'sweep'")
        cfg = merge(base, over)
        cfg["name"] = f"{base.get('name', 'compare')}/{name}"
        try:
            sc = check_scenario(cfg)
        except ScenarioError as exc:
            raise ScenarioError(f"{where}: {exc}") from None
        if path is not None:
            resolve_paths(sc, path)
        variants.append(Variant(name=name, label=label, config=sc))
    return variants, victims


def load_compare(path: str | Path, seed: int | None = None) -> tuple[list[Variant], list[int]]:
    """Read a comparison file and expand it (see :func:`expand_compare`); ``seed``
    replaces the file's seed."""
    from uesim.experiments.scenario import read_toml
    folder = str(Path(path).resolve().parent)
    if folder not in sys.path:               # plug-in modules next to the file
        sys.path.append(folder)
    raw = read_toml(path)
    if seed is not None:
        raw["seed"] = seed
    return expand_compare(raw, path)


def check_compare(path) -> int:
    """``uesim check`` of a comparison file: every variant checked, its flows made."""
    from uesim.experiments.run import build_topology, derive_seed, make_flows
    variants, victims = load_compare(path)
    for v in variants:
        sc = v.config
        try:
            G = build_topology(sc["topology"], sc.get("faults"), derive_seed(sc["seed"], 4))
            ids = {f["id"] for f in make_flows(sc, sum(1 for _, k in G.nodes(data="kind") if k == "gpu"))}
        except (ScenarioError, ValueError, TypeError) as exc:
            raise ScenarioError(f"compare.variants.{v.name}: {exc}") from None
        missing = sorted(set(victims) - ids)
        if missing:
            raise ScenarioError(f"compare.victim_flows: flow {missing[0]} is not in the traffic")
    print(f"{path}: ok (comparison of {len(variants)} variants: {', '.join(v.name for v in variants)})")
    return 0


def _r(x, nd=3):
    return None if x is None else round(float(x), nd)


def compare_row(label: str, result, victims: list[int] | None = None) -> dict:
    """The table row of one run (a :class:`~uesim.experiments.results.RunResult`).

    FCT columns are over the finished flows that are not victims; ``victim_gbps`` is
    given only when ``victims`` is not empty.
    """
    import numpy as np
    victims = list(victims or [])
    fc, pc = result.flow_cols, result.port_cols
    ids = np.asarray(fc["flow_id"])
    fin = np.asarray(fc["finished"], dtype=bool)
    fct = np.asarray(fc["fct_us"], dtype=float)
    is_victim = np.isin(ids, victims)
    missing = sorted(set(victims) - set(ids.tolist()))
    if missing:
        raise ScenarioError(f"compare.victim_flows: flow {missing[0]} is not in the traffic "
                            f"(flow ids {int(ids.min()) if len(ids) else '-'}..{int(ids.max()) if len(ids) else '-'})")
    main = fct[fin & ~is_victim]
    pct = (lambda q: _r(np.percentile(main, q))) if len(main) else (lambda q: None)
    total = lambda col: int(np.sum(pc[col])) if col in pc else 0  # noqa: E731
    row = {
        "variant": label,
        "done": f"{int(fin.sum())}/{len(fin)}",
        "last_us": _r(main.max()) if len(main) else None,
        "p50_us": pct(50),
        "p99_us": pct(99),
        "drops": total("drops"),
        "trims": total("trims"),
        "retx": int(np.sum(fc["retransmits"])),
        "pauses": int(result.stats.get("pfc_pauses", 0) or 0),
        "paused_us": _r(total("pfc_paused_ps") / 1e6, 1),
        "stall_us": _r(total("cbfc_stall_ps") / 1e6, 1),
    }
    if victims:
        if fin[is_victim].all():
            size = np.asarray(fc["size_bytes"], dtype=float)[is_victim]
            row[VICTIM_COLUMN] = _r(np.sum(size * 8 / (fct[is_victim] * 1e-6)) / 1e9, 2)
        else:
            row[VICTIM_COLUMN] = None
    return row


def run_compare(variants: list[Variant], victims: list[int] | None = None, *, on_row=None) -> list[dict]:
    """Run every variant (in order, in this process) and return the table rows.

    ``on_row(row)``, if given, is called as each row is done (to print as it goes).
    """
    from uesim.experiments.run import run_scenario
    rows = []
    for v in variants:
        row = compare_row(v.label, run_scenario(v.config), victims)
        rows.append(row)
        if on_row is not None:
            on_row(row)
    return rows


def _cell(x) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.1f}" if abs(x) >= 1000 else f"{x:.2f}" if abs(x) < 100 else f"{x:.1f}"
    return str(x)


def format_table(rows: list[dict]) -> str:
    """The rows as a Markdown table (readable in a terminal, pastable into docs)."""
    if not rows:
        return ""
    cols = [c for c in (*COLUMNS, VICTIM_COLUMN) if any(c in r for r in rows)]
    cells = [[_cell(r.get(c)) for c in cols] for r in rows]
    width = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(cols)]
    line = lambda vals: "| " + " | ".join(  # noqa: E731
        v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(vals, width))) + " |"
    sep = "|" + "|".join("-" * (w + 1) + ("-" if i == 0 else ":") for i, w in enumerate(width)) + "|"
    return "\n".join([line(cols), sep, *(line(r) for r in cells)])


def add_parser(sub) -> None:
    """Add the ``compare`` subcommand to ``uesim``'s subparsers."""
    p = sub.add_parser("compare", help="run a scenario's [compare] variants and print one table")
    _arguments(p)
    p.set_defaults(fn=cmd_compare)


def _arguments(p) -> None:
    p.add_argument("file", help="scenario TOML file with a [compare] table")
    p.add_argument("--only", metavar="NAMES", help="comma-separated variant names to run (default all)")
    p.add_argument("--seed", type=int, help="override the scenario seed")
    p.add_argument("--json", action="store_true", help="print one JSON object per variant instead of the table")


def cmd_compare(args) -> int:
    variants, victims = load_compare(args.file, args.seed)
    if args.only:
        want = [s.strip() for s in args.only.split(",") if s.strip()]
        names = [v.name for v in variants]
        bad = [w for w in want if w not in names]
        if bad:
            raise ScenarioError(f"--only {bad[0]!r}: no such variant; variants: {', '.join(names)}")
        variants = [v for v in variants if v.name in want]
    if args.json:
        run_compare(variants, victims, on_row=lambda r: print(json.dumps(r), flush=True))
        return 0
    print(f"{args.file}: {len(variants)} variants" + (f"; victim flows {victims}" if victims else ""),
          file=sys.stderr)
    rows = run_compare(variants, victims,
                       on_row=lambda r: print(f"  {r['variant']}: done", file=sys.stderr, flush=True))
    print(format_table(rows))
    return 0


def main(argv=None) -> int:
    """``python -m uesim.experiments.compare FILE [--only A,B] [--json]``."""
    p = argparse.ArgumentParser(prog="uesim compare", description=__doc__.split("\n")[0])
    _arguments(p)
    try:
        args = p.parse_args(argv)
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 2
    try:
        return cmd_compare(args)
    except ScenarioError as exc:
        print(f"uesim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
