"""Run a checked scenario: topology -> network -> flows -> events -> results."""
from __future__ import annotations

from pathlib import Path

import networkx as nx

from uesim.experiments.results import RunResult
from uesim.experiments.plugin_guard import PluginError, guarded
from uesim.experiments.schema import ScenarioError
from uesim.experiments import traffic as patterns

MASK64 = (1 << 64) - 1


def derive_seed(seed: int, *parts: int) -> int:
    """A 63-bit seed for one random stream (a flow's load balancer, say) from the
    scenario seed: splitmix64 over the parts, so streams are independent and stable."""
    x = seed & MASK64
    for part in parts:
        x = (x + 0x9E3779B97F4A7C15 + (part & MASK64)) & MASK64
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK64
        x ^= x >> 31
    return x >> 1


def build_topology(topo: dict, faults: dict | None = None, seed: int = 0) -> nx.Graph:
    """The graph a scenario's ``[topology]`` table describes, validated, with the
    ``[faults]`` table applied (random picks seeded by ``seed``)."""
    from uesim.topologies import GENERATORS, TopologyError, read_graphml, read_json, validate_topology
    generator = None
    try:
        if "file" in topo:
            path = Path(topo["file"])
            if not path.exists():
                raise ScenarioError(f"topology.file = {str(path)!r}: file not found")
            reader = {".graphml": read_graphml, ".json": read_json}.get(path.suffix.lower())
            if reader is None:
                raise ScenarioError(f"topology.file = {str(path)!r}: must end in .graphml or .json")
            G = reader(path)
        else:
            params = {k: v for k, v in topo.items() if k != "generator"}
            generator = GENERATORS[topo["generator"]]
            G = generator(**params)
        # uesim's own generators are tested to build valid graphs (tests/topologies);
        # files and other generators are checked (about 80 ms at 1024 hosts)
        if "file" in topo or not generator.__module__.startswith("uesim.topologies"):
            validate_topology(G)
        if faults:
            from uesim.experiments.faults import apply_faults
            G = apply_faults(G, faults, seed)
    except (TopologyError, ValueError, TypeError, KeyError, IndexError, AttributeError,
            OSError, nx.NetworkXError, SyntaxError) as exc:
        # SyntaxError covers xml.etree's ParseError (a broken GraphML file)
        if isinstance(exc, ScenarioError):
            raise
        where = f"topology.file = {str(topo['file'])!r}" if "file" in topo else "topology"
        raise ScenarioError(f"{where}: {type(exc).__name__}: {exc}"
                            if isinstance(exc, (KeyError, IndexError, AttributeError, SyntaxError))
                            else f"{where}: {exc}") from None
    return G


def make_flows(sc: dict, n_hosts: int) -> list[dict]:
    """The scenario's flows (host indices, bytes, picoseconds)."""
    return make_workload(sc, n_hosts)[0]


def make_workload(sc: dict, n_hosts: int) -> tuple[list[dict], list[dict]]:
    """The scenario's flows and triggers (htsim ``.cm`` files may start flows on triggers:
    such a flow has ``start_ps = None`` and a ``start_trigger``)."""
    t = sc["traffic"]
    if t["pattern"] == "collective":
        return [], []             # compiled on the graph when the scenario runs
    if t["pattern"] == "cm":
        from uesim.experiments.workloads.cm import read_cm
        cm = read_cm(t["file"], n_hosts)
        return cm.flows, cm.triggers
    return _pattern_flows(sc, n_hosts), []


def _pattern_flows(sc: dict, n_hosts: int) -> list[dict]:
    t = sc["traffic"]
    pattern = t["pattern"]
    if pattern == "permutation":
        return patterns.permutation(n_hosts, t["size_bytes"], seed=derive_seed(sc["seed"], 1),
                                    start_ps=t["start_ps"])
    if pattern == "incast":
        return patterns.incast(n_hosts, t["size_bytes"], receiver=t["receiver"],
                               senders=t.get("senders"), n_senders=t.get("n_senders"),
                               start_ps=t["start_ps"])
    return patterns.explicit(n_hosts, t["flows"])


def network_base_rtt_ps(G, mtu_bytes: int, ack_bytes: int) -> int:
    """Unloaded RTT across the fabric's longest host-to-host path (htsim's
    ``network_max_unloaded_rtt``): a full data packet out and an ACK back, store and
    forward, over the hop diameter between hosts, with the slowest rate and longest delay
    of the graph's links (exact on uniform fabrics)."""
    import networkx as nx
    hosts = {n for n, d in G.nodes(data=True) if d.get("kind") == "gpu"}
    switches = G.subgraph(n for n in G if n not in hosts)
    attach = {nb for h in hosts for nb in G.adj[h] if nb not in hosts}
    hops = 1 if not attach else 0
    for t in attach:
        far = max(nx.single_source_shortest_path_length(switches, t).values())
        hops = max(hops, far + 2)
    rates = [d["rate_bps"] for _, _, d in G.edges(data=True) if d.get("up", True)]
    delays = [d["delay_ps"] for _, _, d in G.edges(data=True) if d.get("up", True)]
    rate, delay = min(rates), max(delays)
    tx = lambda size: (size * 8_000_000_000_000 + rate - 1) // rate  # noqa: E731
    return hops * (2 * delay + tx(mtu_bytes) + tx(ack_bytes))


def _buffer_bytes(sc: dict, base_rtt_ps: int, rate_bps: int) -> int:
    """A switch port's buffer: ``fabric.buffer_bytes``, or ``buffer_bdp`` x BDP rounded up
    to whole MTUs (htsim sizes queues in packets)."""
    f = sc["fabric"]
    if "buffer_bdp" not in f:
        return f["buffer_bytes"]
    mtu = sc["transport"]["mtu_bytes"]
    bdp = base_rtt_ps * rate_bps // 8_000_000_000_000
    packets = -(-bdp // mtu)
    return max(mtu, int(round(f["buffer_bdp"] * packets)) * mtu)


def network_sizing(sc: dict, G) -> tuple[int, int, int]:
    """``(base_rtt_ps, rate_bps, buffer_bytes)`` of the scenario on graph ``G``: the
    transport's ``base_rtt_ps`` or the graph's, its slowest link, and the port buffer."""
    tr = sc["transport"]
    base_rtt = tr.get("base_rtt_ps") or network_base_rtt_ps(G, tr["mtu_bytes"], tr["ack_bytes"])
    rate = min(d["rate_bps"] for _, _, d in G.edges(data=True))
    return base_rtt, rate, _buffer_bytes(sc, base_rtt, rate)


def _fabric_config(sc: dict, buffer_bytes: int):
    from uesim.fabric import FabricConfig
    f = sc["fabric"]
    ecn = f.get("ecn") or {}
    pfc = None
    if (f.get("pfc") or {}).get("enabled"):
        from uesim.fabric import PfcConfig
        p = f["pfc"]
        pfc = PfcConfig(mode=p["mode"], classes=p.get("classes"), xoff_bytes=p.get("xoff_bytes"),
                        xon_bytes=p.get("xon_bytes"), headroom_bytes=p.get("headroom_bytes"),
                        quanta=p["quanta"], alpha=p["alpha"], shared_buffer_bytes=p["shared_buffer_bytes"],
                        watchdog_ps=p["watchdog_ps"], mtu_bytes=sc["transport"]["mtu_bytes"])
    cbfc = None
    if (f.get("cbfc") or {}).get("enabled"):
        from uesim.fabric import CbfcConfig
        cbfc = CbfcConfig(credit_bytes=f["cbfc"].get("credit_bytes"))
    llr = None
    if (f.get("llr") or {}).get("enabled"):
        from uesim.fabric import LlrConfig
        llr = LlrConfig(frame_error_rate=f["llr"]["frame_error_rate"], replay=f["llr"]["replay"])
    return FabricConfig(pfc=pfc, cbfc=cbfc, llr=llr,
        buffer_bytes=buffer_bytes, nic_buffer_bytes=f["nic_buffer_bytes"],
        ecn_kmin_bytes=ecn.get("kmin_bytes"), ecn_kmax_bytes=ecn.get("kmax_bytes"),
        ecn_pmax=ecn.get("pmax"), ecn_at_dequeue=ecn.get("at_dequeue", False),
        ecn_host_downlinks=ecn.get("host_downlinks", True),
        dequeue_path=f["dequeue_path"], switch_latency_ps=f["switch_latency_ps"],
        trimming=f["trimming"], trim_bytes=f["trim_bytes"], trim_tail_prob=f["trim_tail_prob"],
        seed=derive_seed(sc["seed"], 2))


class TransportFactory:
    """Makes the scenario's transport flow objects: the transport, CC and load-balancer
    classes and their parameters resolved once, so a flow costs its constructors only
    (a workload DAG makes one per message while the run goes on)."""

    def __init__(self, sc: dict, net, *, base_rtt_ps: int = 0, rto_ps: int | None = None,
                 pacers: dict | None = None):
        from uesim.protocols import CC_REGISTRY, LB_REGISTRY, TRANSPORT_REGISTRY
        tr = sc["transport"]
        self.sc, self.net, self.base_rtt_ps = sc, net, base_rtt_ps
        self.flow_cls = TRANSPORT_REGISTRY[tr["name"]]
        self.cc_cls = guarded(CC_REGISTRY[tr["cc"]["name"]], tr["cc"]["name"], zero_window_ok=tr["name"] == "roce")
        self.lb_cls = LB_REGISTRY[tr["lb"]["name"]]
        self.cc_params = {"mtu_bytes": tr["mtu_bytes"], **{k: v for k, v in tr["cc"].items() if k != "name"}}
        self.lb_params = {k: v for k, v in tr["lb"].items() if k != "name"}
        kw = {"mtu_bytes": tr["mtu_bytes"], "header_bytes": tr["header_bytes"], "ack_bytes": tr["ack_bytes"]}
        if "rate_bps" in tr:
            kw["rate_bps"] = tr["rate_bps"]
        if tr["name"] == "uet":
            kw.update(ack_every_bytes=tr["ack_every_bytes"], mode=tr["mode"], sender_cc=tr["sender_cc"],
                      receiver_cc=tr["receiver_cc"], max_rto_retries=tr["max_rto_retries"],
                      ack_request_age=float(tr["ack_request_age"]))
        if tr["name"] == "roce":
            from uesim.experiments.scenario import ROCE_ONLY
            kw.update({k: tr[k] for k in ROCE_ONLY})
        else:                                  # roce: its timer is min_rto_ps
            kw["rto_ps"] = rto_ps or tr.get("rto_ps", 100_000_000)
        self.kw = kw
        self.pull = tr["name"] == "uet" and tr["receiver_cc"]
        self.pacers = {} if pacers is None else pacers
        self.seed = sc["seed"]
        self.trimming = sc["fabric"]["trimming"]
        from uesim.protocols.prototype import copier
        self._cc_proto = None                   # the never-used CC the copies come from
        try:      # a compiled CC is copied from a prototype (no keyword parsing per flow)
            proto = self.cc_cls(**self.cc_params)
            self._fresh_cc = copier(proto) or self._new_cc
            if self._fresh_cc is not self._new_cc:
                self._cc_proto = proto
        except (TypeError, ValueError, OverflowError, PluginError):
            self._fresh_cc = self._new_cc       # the first flow reports the error
        #: the compiled FlowSpawner of UET and RoCE flows (None: flows are constructed)
        self.spawner = self._spawner()

    def _spawner(self):
        """A compiled :class:`~uesim.protocols.flow.FlowSpawner` for the built-in UET
        and RoCE flows (the flow a template's settings and a fresh CC and load balancer
        make, without a Python constructor call), or None: another transport, UET's
        receiver pull (its pacers are made on first use), or settings that fail (the
        first flow then reports them as before)."""
        if self.sc["transport"]["name"] not in ("uet", "roce") or self.pull:
            return None                 # (without importing those transports)
        from uesim.protocols.flow import FlowSpawner
        from uesim.protocols.roce import RoceFlow
        from uesim.protocols.uet import UetFlow
        if self.flow_cls not in (UetFlow, RoceFlow):
            return None
        try:
            lb = self.lb_cls(seed=0, **self.lb_params)
            template = self.flow_cls(0, 0, 1, 1, 0, self._fresh_cc(), lb, **self.kw)
        except (TypeError, ValueError, OverflowError, PluginError):
            return None
        return FlowSpawner(template, self._fresh_cc, self.lb_cls, dict(self.lb_params), self.net,
                           base_rtt_ps=self.base_rtt_ps, trimming=self.trimming, seed=self.seed,
                           lb_proto=lb, cc_proto=self._cc_proto)

    def _new_cc(self):
        return self.cc_cls(**self.cc_params)

    def make(self, fid: int, src: int, dst: int, size_bytes: int, start_ps: int, attach: bool = True):
        """One flow object (attached to the network unless ``attach`` is False)."""
        try:
            if self.spawner is not None:
                return self.spawner(fid, src, dst, size_bytes, start_ps, attach)
            cc = self._fresh_cc()
            lb = self.lb_cls(seed=derive_seed(self.seed, 3, fid), **self.lb_params)
            kw = self.kw
            if self.pull:
                kw = {**kw, "pacer": self._pacer(dst)}
            obj = self.flow_cls(fid, src, dst, size_bytes, start_ps, cc, lb, **kw)
            if attach:
                obj.attach(self.net, base_rtt_ps=self.base_rtt_ps, trimming=self.trimming)
        except PluginError:
            raise
        except (TypeError, ValueError, OverflowError) as exc:
            raise ScenarioError(f"transport: flow {fid}: {exc}") from None
        return obj

    def _pacer(self, dst: int):
        """The receiver pull pacer of host ``dst`` (one per host, shared by its flows)."""
        if dst not in self.pacers:
            from uesim.protocols.uet import PullPacer
            max_credit = 3 * (self.base_rtt_ps * self.net.host_rate_bps(dst) // 8_000_000_000_000) // 2
            self.pacers[dst] = PullPacer(self.net, dst, max_credit)
        return self.pacers[dst]


def make_transport_flows(sc: dict, flows: list[dict], net, *, base_rtt_ps: int = 0,
                         rto_ps: int | None = None, pacers: dict | None = None, factory=None) -> list:
    """Create and attach one transport flow object per flow (``pacers``: receiver pull
    pacers by destination host, shared across calls when given; ``factory``: a
    :class:`TransportFactory` to reuse)."""
    factory = factory or TransportFactory(sc, net, base_rtt_ps=base_rtt_ps, rto_ps=rto_ps, pacers=pacers)
    return [factory.make(f["id"], f["src"], f["dst"], f["size_bytes"], f["start_ps"] or 0,
                         attach=f.get("start_trigger") is None) for f in flows]


def _flow_columns(objs) -> dict:
    import numpy as np
    n = len(objs)
    get = lambda name, dtype=np.int64: np.fromiter((getattr(o, name) for o in objs), dtype=dtype, count=n)  # noqa: E731
    finished = get("finished", bool)
    end = np.where(finished, get("end_ps"), -1)
    start = get("start_ps")
    cols = {
        "flow_id": get("flow_id"), "src": get("src"), "dst": get("dst"),
        "size_bytes": get("size_bytes"), "start_ps": start, "end_ps": end,
        "fct_us": np.where(finished, (end - start) / 1e6, np.nan),
        "rx_done_ps": get("rx_done_ps"), "finished": finished,
        "packets_sent": get("sent_packets"), "retransmits": get("retx_packets"),
        "timeouts": get("timeouts"), "timeouts_no_loss": get("timeouts_no_loss"),
        "ecn_echoes": get("ecn_echoes"),
    }
    if n and hasattr(objs[0], "acks_received"):
        cols["aborted"] = get("aborted", bool)
        cols["packets_new"] = get("new_packets")
        cols["acks"] = get("acks_received")
        cols["nacks"] = get("nacks_received")
    if n and hasattr(objs[0], "cnps_sent"):
        cols["cnps_sent"] = get("cnps_sent")
        cols["cnps_received"] = get("cnps_received")
    return cols


def _tick(now_ps, events):
    """The do-nothing progress callback: calling Python lets a pending Ctrl-C raise."""


def _checked(sc) -> dict:
    """``sc`` if it is a resolved scenario, else a ScenarioError naming what is wrong."""
    if not isinstance(sc, dict):
        raise ScenarioError(f"run_scenario needs a scenario dict (from check_scenario), got {type(sc).__name__}")
    missing = [k for k in ("topology", "fabric", "transport", "traffic", "run", "seed") if k not in sc]
    if missing:
        from uesim.experiments.scenario import check_scenario
        return check_scenario(sc)      # a raw mapping: check it (names the first bad key)
    return sc


def _rate_trace_cols(objs) -> dict | None:
    """Every flow's recorded pacing rate (transport option ``trace_rate``) as columns
    ``flow_id, t_ps, rate_bps``, or None if no flow recorded one."""
    import numpy as np
    parts = [(o.flow_id, *o.rate_trace()) for o in objs if getattr(o, "trace_rate", False)]
    if not parts:
        return None
    return {"flow_id": np.concatenate([np.full(len(t), fid, dtype=np.int64) for fid, t, _ in parts]),
            "t_ps": np.concatenate([t for _, t, _ in parts]),
            "rate_bps": np.concatenate([r for _, _, r in parts])}


def run_scenario(sc: dict, progress=None) -> RunResult:
    """Run a checked scenario (see :func:`~uesim.experiments.scenario.load_scenario`).

    Parameters
    ----------
    sc : dict
        A resolved scenario.
    progress : callable, optional
        ``progress(now_ps, events)``, called about every million events.

    Returns
    -------
    RunResult
        ``stats["partial"]`` is True if the run was interrupted (Ctrl-C); the
        ``stuck`` flow column flags flows that cannot finish (see ``docs/faults.md``).

    Raises
    ------
    ScenarioError
        Bad input, or a run too large for this machine's memory.
    InvariantError
        A simulation invariant failed (see :mod:`uesim.experiments.invariants`).

    Examples
    --------
    >>> from uesim.experiments import check_scenario, run_scenario
    >>> sc = check_scenario({
    ...     "topology": {"generator": "leaf_spine", "n_leaves": 2, "n_spines": 2, "hosts_per_leaf": 2},
    ...     "traffic": {"pattern": "permutation", "size_bytes": 100_000}, "seed": 1})
    >>> res = run_scenario(sc)
    >>> len(res.flows), bool(res.flows["finished"].all())
    (4, True)
    """
    from uesim.experiments.limits import check_memory
    from uesim.experiments.simulation import Simulation

    sc = _checked(sc)
    if progress is not None and not callable(progress):
        raise ScenarioError(f"run_scenario: progress = {progress!r}: must be callable(now_ps, events) or None")
    # refuse a hopeless size before building anything (from the generator's parameters),
    # or right after reading a topology file
    G = None
    if check_memory(sc, build=False) is None:
        G = build_topology(sc["topology"])
        check_memory(sc, G)
    if sc["traffic"]["pattern"] == "collective":
        from uesim.experiments.collectives.scenario import run_collective_scenario
        return run_collective_scenario(sc, progress, G)
    sim = Simulation.from_scenario(sc, G)
    sampler = _timeseries_sampler(sc, sim)
    sim.run(until_ps=sc["run"].get("until_ps"), progress=progress)
    return with_timeseries(sim.result(), sampler)


def _timeseries_sampler(sc: dict, sim):
    """A :class:`~uesim.experiments.timeseries.Sampler` on ``sim`` (a
    :class:`~uesim.experiments.simulation.Simulation`) if ``[outputs]
    timeseries_interval_ps`` is set, else None."""
    out = sc.get("outputs") or {}
    interval = out.get("timeseries_interval_ps") or 0
    if interval <= 0:
        return None
    from uesim.experiments.timeseries import Sampler, ports_from_spec
    try:
        ports = ports_from_spec(out.get("timeseries_ports", "busy"), sim.built.port_link)
        # the live list: flows added later are sampled from then on
        return Sampler(sim.sim, sim.net, sim.flow_objs, interval, ports=ports,
                       flow_ids=out.get("timeseries_flows", "all"))
    except ValueError as exc:
        raise ScenarioError(str(exc) if str(exc).startswith("outputs.") else f"outputs.timeseries_ports: {exc}") from None


def with_timeseries(result: RunResult, sampler) -> RunResult:
    """``result`` with the sampler's series attached (``result.timeseries``) and the
    sampler's wake-ups taken out of ``stats["events"]``; unchanged if ``sampler`` is None."""
    if sampler is None:
        return result
    result.stats["events"] -= sampler.n_samples      # not simulation events
    result.stats["timeseries_samples"] = sampler.n_samples
    result.timeseries_data = sampler.result()
    return result
