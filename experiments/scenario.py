"""Scenario files (TOML): load, check every key, resolve to plain values.

A scenario names a topology (generator + parameters, or a GraphML/JSON file), the
fabric settings, the transport with its congestion control and load balancer, the
traffic and a seed.  Everything is checked before anything runs.  See
``experiments/scenarios/quickstart.toml`` and ``docs/scenarios.md``.
"""
from __future__ import annotations

import copy
import inspect
import tomllib
from pathlib import Path

from uesim.experiments.schema import Field, ScenarioError, check_table

TRANSPORT_NAMES = lambda: sorted(__import__("uesim.protocols", fromlist=["x"]).TRANSPORT_REGISTRY)  # noqa: E731
PATTERNS = ["permutation", "incast", "explicit", "cm", "collective"]

TOP = {
    "name": Field(str, default="scenario"),
    "seed": Field(int, default=0, minimum=0),
    "topology": Field(dict, required=True, help="a table with 'generator' or 'file'"),
    "fabric": Field(dict, default={}),
    "transport": Field(dict, default={}),
    "traffic": Field(dict, required=True, help="a table with 'pattern'"),
    "run": Field(dict, default={}),
    "plugins": Field(list, default=[], help="modules to import first (your CC or LB)"),
    "faults": Field(dict),
    "outputs": Field(dict, default={}),
    "sweep": Field(dict, help="grid/zip axes and seeds/replicates: see docs/sweeps.md"),
}
FAULTS = {
    "degrade_links": Field(int, minimum=0, help="random switch-to-switch links to slow down"),
    "degrade_edges": Field(list, help="named links [[u, v], ...] to slow down"),
    "degrade_factor": Field(float, default=0.25, minimum=0.0001, maximum=1.0),
    "events": Field(list, help="mid-run faults: [{at_ps, action, link | switch, ...}, ...]"),
    "reconverge_ps": Field(int, minimum=0, help="routing excludes failed links this long after a change"),
    "stall_ps": Field(int, minimum=1, help="stop when no packet was delivered for this long"),
}
#: the port buffer when a scenario sets none: big enough never to drop (a stand-in for
#: "unbounded", not a buffer size anyone configured)
DEFAULT_BUFFER_BYTES = 1 << 30
FABRIC = {
    "buffer_bytes": Field(int, default=DEFAULT_BUFFER_BYTES, minimum=1),
    "nic_buffer_bytes": Field(int, default=1 << 40, minimum=1),
    "switch_latency_ps": Field(int, default=0, minimum=0),
    "buffer_bdp": Field(float, minimum=0.001, help="buffer in multiples of the fabric's BDP"),
    "dequeue_path": Field(bool, default=False),
    "trimming": Field(bool, default=False),
    "trim_bytes": Field(int, default=64, minimum=1),
    "trim_tail_prob": Field(float, default=0.0, minimum=0.0, maximum=1.0),
    "ecn": Field(dict),
    "pfc": Field(dict, help="priority flow control (docs/lossless.md)"),
    "cbfc": Field(dict, help="credit-based flow control (docs/lossless.md)"),
    "llr": Field(dict, help="frame errors and link-level retry (docs/lossless.md)"),
}
LLR = {
    "enabled": Field(bool, default=True),
    "frame_error_rate": Field(float, default=0.0, minimum=0.0, maximum=0.5),
    "replay": Field(bool, default=True, help="false: corrupted frames are lost"),
}
CBFC = {
    "enabled": Field(bool, default=True),
    "credit_bytes": Field(int, minimum=1, maximum=(1 << 24) - 1, help="default: the port buffer"),
}
PFC = {
    "enabled": Field(bool, default=True),
    "mode": Field(str, default="frames", choices=["frames", "htsim"]),
    "classes": Field(list, help="lossless classes 0..7 (default all)"),
    "xoff_bytes": Field(int, minimum=0, help="default: port buffer minus headroom (htsim: 60000)"),
    "xon_bytes": Field(int, minimum=0, help="default: xoff_bytes minus 2 MTU (htsim: 48000)"),
    "quanta": Field(int, default=65535, minimum=1, maximum=65535),
    "headroom_bytes": Field(int, minimum=0, help="default: 2 x cable bytes + 2 x MTU + 3840"),
    "alpha": Field(float, default=0.0, minimum=0.0),
    "shared_buffer_bytes": Field(int, default=0, minimum=0),
    "watchdog_ps": Field(int, default=0, minimum=0),
}
ECN = {
    "kmin_bytes": Field(int, required=True, minimum=0),
    "kmax_bytes": Field(int, required=True, minimum=0),
    "pmax": Field(float, default=1.0, minimum=0.0, maximum=1.0),
    "at_dequeue": Field(bool, default=False),
    "host_downlinks": Field(bool, default=True),
}
TRANSPORT = {
    "name": Field(str, default="window", choices=TRANSPORT_NAMES),
    "mtu_bytes": Field(int, default=4096, minimum=2),
    "header_bytes": Field(int, default=64, minimum=0),
    "ack_bytes": Field(int, default=64, minimum=1),
    "rto_ps": Field(int, minimum=1, help="default 100 us (window), 15 us + 6 queue drains (uet)"),
    "base_rtt_ps": Field(int, minimum=1, help="default: the fabric's longest unloaded RTT"),
    "mode": Field(str, choices=["rud", "rod", "uud"]),
    "ack_every_bytes": Field(int, minimum=1),
    "sender_cc": Field(bool),
    "receiver_cc": Field(bool),
    "max_rto_retries": Field(int, minimum=1, maximum=250, help="uet: give up when a packet times out after this many retries"),
    "ack_request_age": Field(float, minimum=0.0, maximum=0.999,
                             help="uet: ask for an ACK once the oldest packet in flight is this x rto_ps old (0: never, as htsim)"),
    "rate_bps": Field(int, minimum=1, help="pacing rate, required by transport 'paced'"),
    # roce (protocols/roce/rc.pyx)
    "ack_every_packets": Field(int, minimum=1, help="roce: ACK every this many in-order packets"),
    "cnp_interval_ps": Field(int, minimum=0, help="roce: at most one CNP per QP per interval (0: per marked packet)"),
    "cnp_bytes": Field(int, minimum=1, help="roce: CNP size"),
    "min_rto_ps": Field(int, minimum=0, help="roce: minimum retransmission timeout (0: no timer)"),
    "retry_limit": Field(int, minimum=0, help="roce: timeouts in a row before a QP gives up (0: never)"),
    "htsim_extra_packet": Field(bool, help="roce: send htsim_roce's extra packet"),
    "trace_rate": Field(bool, help="roce: record each flow's pacing rate over time"),
    "cc": Field(dict, default={"name": "fixed", "cwnd_bytes": 65536}),
    "lb": Field(dict, default={"name": "oblivious"}),
}
TRAFFIC = {
    "pattern": Field(str, required=True, choices=PATTERNS),
    "size_bytes": Field(int, minimum=1),
    "start_ps": Field(int, default=0, minimum=0),
    "receiver": Field(int, minimum=0),
    "n_senders": Field(int, minimum=1),
    "senders": Field(list),
    "flows": Field(list),
    "file": Field(str),
    "op": Field(str, help="collective: all_reduce, all_gather, ... (docs/collectives.md)"),
    "algo": Field(str, help="collective: ring, tree, hd, direct, hier (default: the op's first)"),
    "n_ranks": Field(int, minimum=2, help="collective: ranks (default: every GPU)"),
    "placement": Field(str, help="collective: sequential (default), rail, random"),
    "channels": Field(int, minimum=1, help="collective: parallel channels (default 1)"),
    "chunks": Field(int, minimum=1, help="collective: pipelined slices per channel (default 1)"),
}
RUN = {
    "until_ps": Field(int, minimum=0),
    "check": Field(bool, help="check invariants every check_every events (default false)"),
    "check_every": Field(int, minimum=1, help="events between checks in check mode (default 10000)"),
    "allow_large": Field(bool, help="run even if the memory estimate exceeds the machine (default false)"),
}
OUTPUTS = {
    "timeseries_interval_ps": Field(int, default=0, minimum=0,
                                    help="sample ports and flows every this much simulated time; 0: off"),
    "timeseries_ports": Field(object, default="busy",
                              help='ports sampled: "all", "busy" (sent anything), or a list of port '
                                   'indices and [from_node, to_node] pairs'),
    "timeseries_flows": Field(object, default="all",
                              help='flows sampled: "all", "none", or a list of flow ids'),
    "plot": Field(str, help="image file (.png, .svg, .pdf) for the FCT CDF, with queue depth when sampled"),
}


def _check_selection(key: str, value, words: tuple, item_ok, item: str) -> None:
    """``value`` is one of ``words`` or a list whose every entry passes ``item_ok``."""
    if isinstance(value, str):
        if value not in words:
            raise ScenarioError(f"{key} = {value!r}: unknown; allowed: {', '.join(words)}, "
                               f"or a list (each entry {item})")
    elif isinstance(value, list):
        for i, x in enumerate(value):
            if not item_ok(x):
                raise ScenarioError(f"{key}[{i}] = {x!r}: must be {item}")
    else:
        raise ScenarioError(f"{key} = {value!r}: must be {' or '.join(map(repr, words))} or an array")


def _check_outputs(table) -> dict:
    out = check_table("outputs", table, OUTPUTS)
    _check_selection("outputs.timeseries_ports", out["timeseries_ports"], ("all", "busy"),
                     lambda x: (isinstance(x, int) and not isinstance(x, bool) and x >= 0) or
                     (isinstance(x, list) and len(x) == 2 and all(isinstance(n, str) for n in x)),
                     "a port index (an integer >= 0) or a [from_node, to_node] pair of names")
    _check_selection("outputs.timeseries_flows", out["timeseries_flows"], ("all", "none"),
                     lambda x: isinstance(x, int) and not isinstance(x, bool) and x >= 0,
                     "a flow id (an integer >= 0)")
    return out
# the field tables of nested tables, by dotted path (the reference page and defaults)
_SUBTABLES = {"fabric": FABRIC, "fabric.ecn": ECN, "transport": TRANSPORT, "traffic": TRAFFIC,
              "run": RUN, "faults": FAULTS, "outputs": OUTPUTS}


def _check_pfc(table) -> dict:
    pfc = check_table("fabric.pfc", table, PFC)
    for i, c in enumerate(pfc.get("classes", [])):
        if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c <= 7:
            raise ScenarioError(f"fabric.pfc.classes[{i}] = {c!r}: must be a class 0..7")
    if "xon_bytes" in pfc and "xoff_bytes" in pfc and pfc["xon_bytes"] > pfc["xoff_bytes"]:
        raise ScenarioError(f"fabric.pfc.xon_bytes = {pfc['xon_bytes']}: must be <= xoff_bytes "
                            f"({pfc['xoff_bytes']})")
    if pfc["alpha"] > 0 and pfc["shared_buffer_bytes"] <= 0:
        raise ScenarioError(f"fabric.pfc.alpha = {pfc['alpha']}: needs shared_buffer_bytes > 0")
    return pfc


def _signature_params(fn, skip=()):
    sig = inspect.signature(fn)
    return {name: p for name, p in sig.parameters.items()
            if name not in skip and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}


def _check_generator(topo: dict) -> dict:
    from uesim.topologies import GENERATORS
    if ("generator" in topo) == ("file" in topo):
        raise ScenarioError("topology needs exactly one of 'generator' (a name) or 'file' (GraphML/JSON)")
    if "file" in topo:
        extra = sorted(set(topo) - {"file"})
        if extra:
            raise ScenarioError(f"unknown key 'topology.{extra[0]}'; with topology.file only 'file' is allowed")
        Field(str).check("topology.file", topo["file"])
        return topo
    name = Field(str, choices=sorted(GENERATORS)).check("topology.generator", topo["generator"])
    params = _signature_params(GENERATORS[name])
    for key, value in topo.items():
        if key == "generator":
            continue
        if key not in params:
            raise ScenarioError(f"unknown key 'topology.{key}' for generator {name!r}; "
                                f"allowed: {', '.join(params)}")
    missing = [k for k, p in params.items() if p.default is p.empty and k not in topo]
    if missing:
        raise ScenarioError(f"missing key 'topology.{missing[0]}' (required by generator {name!r})")
    return topo


def _check_policy(path: str, table: dict, registry: dict, kind: str, fixed: set) -> dict:
    table = dict(table)
    if not isinstance(table.get("name"), str):
        raise ScenarioError(f"{path}.name: missing or not a string; allowed: {', '.join(sorted(registry))}")
    if table["name"] not in registry:
        raise ScenarioError(f"{path}.name = {table['name']!r}: unknown {kind}; "
                            f"allowed: {', '.join(sorted(registry))}")
    from uesim.protocols import policy_params
    allowed = policy_params(registry[table["name"]])
    if allowed is not None:
        for key in table:
            if key != "name" and (key not in allowed or key in fixed):
                ok = sorted(set(allowed) - fixed)
                raise ScenarioError(f"unknown key '{path}.{key}' for {kind} {table['name']!r}; "
                                    f"allowed: {', '.join(['name', *ok])}")
    for key, value in table.items():
        if key != "name" and isinstance(value, (int, float)) and not isinstance(value, bool):
            if value != value or value in (float("inf"), float("-inf")):   # TOML has nan, inf
                raise ScenarioError(f"{path}.{key} = {value!r}: must be a finite number")
            if value < 0:
                raise ScenarioError(f"{path}.{key} = {value!r}: must be >= 0")
    return table


UET_ONLY = {"mode": "rud", "ack_every_bytes": 16384, "sender_cc": True, "receiver_cc": False,
            "max_rto_retries": 100, "ack_request_age": 0.5}
# transport 'roce': its keys and defaults (cnp_interval 50 us: the DCQCN paper's N;
# min RTO 1 ms: htsim's; retry limit 7: the largest an InfiniBand QP takes)
ROCE_ONLY = {"ack_every_packets": 1, "cnp_interval_ps": 50_000_000, "cnp_bytes": 64,
             "min_rto_ps": 1_000_000_000, "retry_limit": 7, "htsim_extra_packet": False,
             "trace_rate": False}


def import_plugins(modules, where: str = "plugins") -> None:
    """Import plug-in modules (they register CCs, LBs, transports by decorator)."""
    import importlib
    import sys
    if "" not in sys.path and "." not in sys.path:
        sys.path.insert(0, "")        # modules next to where the user runs uesim
    for i, mod in enumerate(modules):
        if not isinstance(mod, str) or not mod:
            raise ScenarioError(f"{where}[{i}] = {mod!r}: must be a module name")
        try:
            importlib.import_module(mod)
        except Exception as exc:   # an import error of any kind is the user's plug-in
            raise ScenarioError(f"{where}[{i}] = {mod!r}: cannot import it: "
                                f"{type(exc).__name__}: {exc}") from None


def check_scenario(raw: dict) -> dict:
    """Check a scenario mapping and return it resolved (defaults filled in).

    Raises
    ------
    ScenarioError
        With one message naming the first bad key, its value and what is allowed.
    """
    from uesim.protocols import CC_REGISTRY, LB_REGISTRY

    from uesim.experiments.plugins import load_entry_points
    if isinstance(raw, dict) and "sweep" in raw:
        raise ScenarioError("sweep: this file describes a sweep of scenarios; run it with "
                            "'uesim sweep FILE --out DIR' (check it with 'uesim check FILE')")
    if isinstance(raw, dict) and "compare" in raw:
        raise ScenarioError("compare: this file describes a comparison of variants; run it with "
                            "'uesim compare FILE'")
    load_entry_points()
    sc = check_table("", copy.deepcopy(raw), TOP)
    import_plugins(sc["plugins"])
    sc["topology"] = _check_generator(sc["topology"])
    if "faults" in sc:
        sc["faults"] = check_table("faults", sc["faults"], FAULTS)
        for i, e in enumerate(sc["faults"].get("degrade_edges") or []):
            if (not isinstance(e, list) or len(e) != 2
                    or not all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in e)):
                raise ScenarioError(f"faults.degrade_edges[{i}] = {e!r}: must be [u, v], two node names")
        if "events" in sc["faults"]:
            from uesim.experiments.faults import check_events
            sc["faults"]["events"] = check_events(sc["faults"]["events"])
    sc["fabric"] = check_table("fabric", sc["fabric"], FABRIC)
    if "buffer_bdp" in sc["fabric"] and "buffer_bytes" in (raw.get("fabric") or {}):
        raise ScenarioError("fabric: give buffer_bytes or buffer_bdp, not both")
    if "ecn" in sc["fabric"]:
        ecn = check_table("fabric.ecn", sc["fabric"]["ecn"], ECN)
        if ecn["kmin_bytes"] > ecn["kmax_bytes"]:
            raise ScenarioError(f"fabric.ecn.kmin_bytes = {ecn['kmin_bytes']}: must be <= kmax_bytes "
                                f"({ecn['kmax_bytes']})")
        sc["fabric"]["ecn"] = ecn
    if "pfc" in sc["fabric"]:
        sc["fabric"]["pfc"] = _check_pfc(sc["fabric"]["pfc"])
    if "llr" in sc["fabric"]:
        sc["fabric"]["llr"] = check_table("fabric.llr", sc["fabric"]["llr"], LLR)
    if "cbfc" in sc["fabric"]:
        sc["fabric"]["cbfc"] = check_table("fabric.cbfc", sc["fabric"]["cbfc"], CBFC)
        if sc["fabric"]["cbfc"]["enabled"] and sc["fabric"].get("pfc", {}).get("enabled"):
            raise ScenarioError("fabric: enable pfc or cbfc, not both")
    tr = check_table("transport", sc["transport"], TRANSPORT)
    if tr["name"] == "roce":
        if "rto_ps" in tr:
            raise ScenarioError("unknown key 'transport.rto_ps' for transport 'roce'; its timer is "
                                "set by transport.min_rto_ps (0: none)")
        given = raw.get("transport") or {}
        if "cc" not in given:
            tr["cc"] = {"name": "none"}        # htsim_roce without -dcqcn: no CC
        if "lb" not in given:
            tr["lb"] = {"name": "ecmp"}        # one path per queue pair
    elif tr["name"] != "uet":
        tr.setdefault("rto_ps", 100_000_000)     # uet derives it from the fabric at run time
    for only, owner in ((UET_ONLY, "uet"), (ROCE_ONLY, "roce")):
        for key, default in only.items():
            if tr["name"] == owner:
                tr.setdefault(key, default)
            elif key in tr:
                raise ScenarioError(f"unknown key 'transport.{key}' for transport {tr['name']!r} "
                                    f"(it belongs to transport {owner!r})")
    if tr["header_bytes"] >= tr["mtu_bytes"]:
        raise ScenarioError(f"transport.header_bytes = {tr['header_bytes']}: must be < mtu_bytes ({tr['mtu_bytes']})")
    if tr["name"] == "paced" and "rate_bps" not in tr:
        raise ScenarioError("missing key 'transport.rate_bps' (the pacing rate, required by transport 'paced')")
    tr["cc"] = _check_policy("transport.cc", check_table("transport.cc", tr["cc"], {}, extra_ok=True),
                             CC_REGISTRY, "congestion control", fixed={"mtu_bytes"})
    if tr["cc"]["name"] in ("dcqcn", "none") and tr["name"] in ("uet", "window"):
        # rate-only CCs set no window (cwnd 0), which these window transports read as
        # one packet in flight at a time
        raise ScenarioError(f"transport.cc.name = {tr['cc']['name']!r}: a rate-based CC without a window; "
                            f"it needs transport 'roce' (transport.name is {tr['name']!r})")
    if tr["cc"]["name"] in ("dcqcn", "none"):
        # compiled CCs check their values when built: build one now, so a bad value is
        # reported before anything runs
        try:
            CC_REGISTRY[tr["cc"]["name"]](mtu_bytes=tr["mtu_bytes"],
                                          **{k: v for k, v in tr["cc"].items() if k != "name"})
        except (TypeError, ValueError) as exc:
            raise ScenarioError(f"transport.cc ({tr['cc']['name']!r}): {exc}") from None
    tr["lb"] = _check_policy("transport.lb", check_table("transport.lb", tr["lb"], {}, extra_ok=True),
                             LB_REGISTRY, "load balancer", fixed={"seed"})
    sc["transport"] = tr
    traffic = check_table("traffic", sc["traffic"], TRAFFIC)
    needs = {"permutation": ["size_bytes"], "incast": ["size_bytes", "receiver"],
             "explicit": ["flows"], "cm": ["file"], "collective": ["size_bytes", "op"]}[traffic["pattern"]]
    for key in needs:
        if key not in traffic:
            raise ScenarioError(f"missing key 'traffic.{key}' (needed by pattern {traffic['pattern']!r})")
    from uesim.experiments.collectives.scenario import check_collective_traffic
    check_collective_traffic(traffic)
    sc["traffic"] = traffic
    sc["run"] = check_table("run", sc["run"], RUN)
    sc["outputs"] = _check_outputs(sc["outputs"])
    return sc


def read_toml(path: str | Path) -> dict:
    """The raw mapping of a TOML scenario file, or a ScenarioError naming the problem."""
    path = Path(path)
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ScenarioError(f"scenario file {str(path)!r} not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{path}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ScenarioError(f"{path}: not a text file (TOML must be UTF-8)") from None
    except OSError as exc:
        raise ScenarioError(f"scenario file {str(path)!r}: {exc.strerror or exc}") from None


def resolve_paths(sc: dict, path: str | Path) -> dict:
    """Make the topology and traffic file paths of ``sc`` absolute, relative to ``path``'s folder."""
    for table in (sc["topology"], sc["traffic"]):
        if "file" in table and not Path(table["file"]).is_absolute():
            table["file"] = str((Path(path).parent / table["file"]).resolve())
    return sc


def load_scenario(path: str | Path, overrides: dict | None = None) -> dict:
    """Read, merge ``overrides`` (a nested mapping) into, and check a TOML scenario.

    Relative file paths inside the scenario are resolved against its folder.
    """
    import sys
    raw = read_toml(path)
    folder = str(Path(path).resolve().parent)
    if folder not in sys.path:                 # plug-in modules next to the scenario file
        sys.path.append(folder)
    raw = deep_merge(raw, overrides or {})
    return resolve_paths(check_scenario(raw), path)


def table_default(dotted: str) -> dict:
    """A copy of the default of the table at ``dotted`` (``"transport.cc"`` -> the fixed
    window CC), or ``{}``: an override of one key of an absent table starts from it."""
    parts = dotted.split(".")
    fields = TOP
    for i, part in enumerate(parts):
        field = fields.get(part) if fields is not None else None
        if field is None or field.type is not dict:
            return {}
        if i == len(parts) - 1:
            return copy.deepcopy(field.default) if field.default else {}
        fields = _SUBTABLES.get(".".join(parts[:i + 1]))
    return {}


def deep_merge(base: dict, overrides: dict, _path: str = "") -> dict:
    """``base`` with ``overrides`` merged in at any depth: tables merge key by key,
    everything else (numbers, strings, arrays) replaces.  Neither input is changed.

    Examples
    --------
    >>> base = {"transport": {"name": "uet", "cc": {"name": "nscc", "cwnd_bytes": 1}}}
    >>> deep_merge(base, {"transport": {"cc": {"cwnd_bytes": 2}}})
    {'transport': {'name': 'uet', 'cc': {'name': 'nscc', 'cwnd_bytes': 2}}}
    >>> deep_merge({"plugins": ["a"]}, {"plugins": ["b"]})
    {'plugins': ['b']}
    >>> deep_merge({}, {"transport": {"cc": {"cwnd_bytes": 2}}})   # an absent table: its default
    {'transport': {'cc': {'name': 'fixed', 'cwnd_bytes': 2}}}
    """
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        path = f"{_path}.{key}" if _path else key
        if isinstance(value, dict) and key not in out:
            out[key] = table_default(path)
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value, path)
        else:
            out[key] = copy.deepcopy(value)
    return out
