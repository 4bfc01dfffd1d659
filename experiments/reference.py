"""Generate ``docs/scenario-reference.md`` from the scenario schema's Field definitions.

Every key of every table, with its type, unit, default, allowed range or values and a
line of description, comes from :mod:`uesim.experiments.scenario` (``TOP``, ``FABRIC``,
``TRANSPORT``, ...), the sweep keys from :mod:`uesim.experiments.sweeps.expand` and the
topology generators' parameters from their signatures; a test keeps the committed page
equal to :func:`scenario_reference`.  Regenerate it after changing the schema::

    python -m uesim.experiments.reference docs/scenario-reference.md
"""
from __future__ import annotations

import inspect
import sys

# descriptions of keys whose Field has no ``help`` (the Field's own help wins)
DESCRIPTIONS = {
    "name": "label of the scenario (results, tables; not part of a sweep point's key)",
    "seed": "every random choice of the run derives from it",
    "fabric": "switch buffers, ECN, trimming",
    "transport": "the transport, its congestion control and load balancer",
    "run": "when to stop",
    "faults": "slow links down before the run",
    "outputs": "time series and plot of the run (docs/plots.md)",
    "fabric.buffer_bytes": "drop-tail buffer per switch egress port",
    "fabric.nic_buffer_bytes": "buffer per host NIC egress port",
    "fabric.switch_latency_ps": "added per switch traversal",
    "fabric.dequeue_path": "true: every port gets real dequeue events (needed by priorities)",
    "fabric.trimming": "UET trimming: an overflowing data packet is cut to a header",
    "fabric.trim_bytes": "size of a trimmed packet",
    "fabric.trim_tail_prob": "probability of trimming the newest queued packet instead (htsim: 0.5)",
    "fabric.ecn": "ECN marking table; absent: no marking",
    "fabric.ecn.kmin_bytes": "queue depth where marking starts",
    "fabric.ecn.kmax_bytes": "queue depth where the marking probability reaches pmax",
    "fabric.ecn.pmax": "marking probability at kmax_bytes",
    "fabric.ecn.at_dequeue": "mark on the bytes left behind at dequeue (htsim) instead of at enqueue",
    "fabric.ecn.host_downlinks": "false: no marking on switch-to-host ports",
    "faults.degrade_factor": "a degraded link runs at this fraction of its rate",
    "transport.name": "the transport protocol (a registered name)",
    "transport.mtu_bytes": "on-the-wire size of a full data packet",
    "transport.header_bytes": "header part of every packet (payload = mtu_bytes - header_bytes)",
    "transport.ack_bytes": "size of an ACK or NACK",
    "transport.mode": "uet: reliable unordered (rud), ordered (rod) or unreliable (uud)",
    "transport.ack_every_bytes": "uet: coalesce ACKs over this many bytes",
    "transport.sender_cc": "uet: apply the congestion control's window",
    "transport.receiver_cc": "uet: receiver credit pacing (RCCC pull pacer)",
    "transport.cc": "congestion control: {name = ..., parameters}; see docs/protocols.md",
    "transport.lb": "load balancer: {name = ..., parameters}; see docs/protocols.md",
    "traffic.pattern": "the workload",
    "traffic.size_bytes": "bytes per flow (permutation, incast)",
    "traffic.start_ps": "start time of every flow",
    "traffic.receiver": "incast: the receiving host index",
    "traffic.n_senders": "incast: the first n hosts other than the receiver send",
    "traffic.senders": "incast: explicit sender host indices",
    "traffic.flows": "explicit: [{src, dst, size_bytes, start_ps}, ...]",
    "traffic.file": "cm: an htsim connection-matrix file (relative to the scenario)",
    "run.until_ps": "stop the simulation at this time (default: when every flow is done)",
}

SWEEP_KEYS = [
    ("grid", "table of arrays", "-", "-", "axes `\"dotted.key\" = [values]`: every combination"),
    ("zip", "table of arrays", "-", "-", "axes of equal length, advanced together"),
    ("seeds", "integer or array", "-", ">= 1", "N copies with seed = base seed + 0..N-1, or the seeds to use"),
    ("replicates", "integer or array", "-", ">= 1", "alias of seeds"),
]

_TYPES = {int: "integer", float: "number", str: "string", bool: "boolean", list: "array", dict: "table",
          object: "string or array"}


def unit_of(key: str) -> str:
    """The unit a key's name declares (uesim's naming rule).

    Examples
    --------
    >>> [unit_of(k) for k in ("rto_ps", "mtu_bytes", "rate_bps", "pmax", "buffer_bdp", "seed")]
    ['ps', 'bytes', 'bit/s', 'probability', 'x BDP', '-']
    """
    for suffix, unit in (("_ps", "ps"), ("_bytes", "bytes"), ("_bps", "bit/s"), ("_prob", "probability"),
                         ("_bdp", "x BDP"), ("_factor", "fraction")):
        if key.endswith(suffix):
            return unit
    return "probability" if key == "pmax" else "-"


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (dict, list)):
        import json
        return "`" + json.dumps(value).replace("|", "\\|") + "`"
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value}`"


def _range(field) -> str:
    parts = []
    if field.minimum is not None:
        parts.append(f">= {field.minimum:g}")
    if field.maximum is not None:
        parts.append(f"<= {field.maximum:g}")
    if field.choices is not None:
        if callable(field.choices):
            parts.append("a registered name")
        else:
            parts.append("one of " + ", ".join(f"`{c}`" for c in field.choices))
    return ", ".join(parts) or "-"


def _table(path: str, fields: dict) -> list[str]:
    lines = ["| key | type | unit | default | allowed | description |", "|---|---|---|---|---|---|"]
    for key, field in fields.items():
        dotted = f"{path}.{key}" if path else key
        default = "required" if field.required else _cell(field.default)
        desc = field.help or DESCRIPTIONS.get(dotted, "")
        lines.append(f"| `{dotted}` | {_TYPES.get(field.type, field.type.__name__)} | {unit_of(key)} | "
                     f"{default} | {_range(field)} | {desc} |")
    return lines


def _generators() -> list[str]:
    from uesim.topologies import GENERATORS
    lines = ["| generator | parameters (default) |", "|---|---|"]
    for name, fn in GENERATORS.items():
        params = []
        for p in inspect.signature(fn).parameters.values():
            if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
                params.append(f"`**{p.name}`")
            elif p.default is p.empty:
                params.append(f"`{p.name}` (required)")
            else:
                params.append(f"`{p.name}` ({_cell(p.default).strip('`')})")
        lines.append(f"| `{name}` | {', '.join(params)} |")
    return lines


def _policies(registry: dict, fixed: set) -> list[str]:
    from uesim.protocols import policy_params
    lines = ["| name | class | parameters |", "|---|---|---|"]
    for name in sorted(registry):
        cls = registry[name]
        mod = sys.modules.get(cls.__module__)
        # uesim's own classes only: plug-ins (and classes made by tests) are not the reference
        if not cls.__module__.startswith("uesim.") or getattr(mod, cls.__qualname__, None) is not cls:
            continue
        params = policy_params(cls)
        shown = "any (the class takes **kwargs)" if params is None else \
            ", ".join(f"`{p}`" for p in params if p not in fixed) or "-"
        lines.append(f"| `{name}` | `{cls.__module__}.{cls.__qualname__}` | {shown} |")
    return lines


def scenario_reference() -> str:
    """The Markdown text of ``docs/scenario-reference.md``.

    Examples
    --------
    >>> from uesim.experiments.reference import scenario_reference
    >>> text = scenario_reference()
    >>> "| `transport.mtu_bytes` | integer | bytes | `4096` |" in text
    True
    """
    from uesim.experiments import scenario as s
    out = [
        "# Scenario reference",
        "",
        "<!-- generated by `python -m uesim.experiments.reference docs/scenario-reference.md`;"
        " do not edit: a test compares it with the schema -->",
        "",
        "Every key a scenario file may hold, from the checker's own definitions "
        "(`experiments/scenario.py`). Units follow the key's name: `*_ps` picoseconds, "
        "`*_bytes` bytes, `*_bps` bits per second, all integers. A dash means no default "
        "(the key is optional; the description says what its absence means). "
        "See docs/scenarios.md for a worked file and docs/sweeps.md for sweeps.",
        "",
        "## Top level", "", *_table("", s.TOP), "",
    ]
    for path, title in (("fabric", "[fabric]"), ("fabric.ecn", "[fabric.ecn] (or fabric.ecn = {...})"),
                        ("faults", "[faults]"), ("transport", "[transport]"), ("traffic", "[traffic]"),
                        ("run", "[run]"), ("outputs", "[outputs] (docs/plots.md)")):
        out += [f"## {title}", "", *_table(path, s._SUBTABLES[path]), ""]
    out += [
        "Transport `uet` fills " + ", ".join(f"`{k}`" for k in s.UET_ONLY) + " with " + ", ".join(f"`{k} = {_cell(v).strip('`')}`" for k, v in s.UET_ONLY.items())
        + "; other transports reject them. "
        "`transport.cc` and `transport.lb` take `name` plus the parameters of the named "
        "class (checked against its signature; docs/protocols.md describes them):",
        "",
        "### transport.cc names", "",
        "`mtu_bytes` comes from the transport; parameter units follow the names.", "",
        *_policies(__import__("uesim.protocols", fromlist=["x"]).CC_REGISTRY, {"mtu_bytes"}), "",
        "### transport.lb names", "",
        "`seed` is derived from the scenario seed and the flow id.", "",
        *_policies(__import__("uesim.protocols", fromlist=["x"]).LB_REGISTRY, {"seed"}), "",
        "## [topology]", "",
        "Either `file = \"fabric.graphml\"` (GraphML or JSON, relative to the scenario) or "
        "`generator = NAME` with that generator's parameters (docs/topologies.md):", "",
        *_generators(), "",
        "## [sweep]", "",
        "| key | type | unit | default | allowed | description |", "|---|---|---|---|---|---|",
        *[f"| `sweep.{k}` | {t} | - | {d} | {r} | {desc} |" for k, t, d, r, desc in SWEEP_KEYS],
        "",
    ]
    return "\n".join(out)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    text = scenario_reference()
    if argv:
        with open(argv[0], "w") as f:
            f.write(text)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
