"""One simulation API: a topology, a fabric, a transport, then flows added at any time.

:class:`Simulation` is the single build-and-run pipeline of uesim: sizing (base RTT,
slowest link, buffer), the fabric built from the graph, transport flow objects created
through the scenario's transport/CC/LB tables, the event loop (resumable, to a time or
to quiescence) and the result columns. ``run_scenario``, the ns-3 cross-check, the
engine benchmark, workload DAGs and collectives all run through it.

Flows may be added before the run or from inside it (a completion callback adding the
next flow): a flow added without ``start_ps`` starts at the current simulated time.

Examples
--------
>>> from uesim.experiments import Simulation
>>> sim = Simulation("leaf_spine:n_leaves=2,n_spines=2,hosts_per_leaf=2", seed=1)
>>> done = []
>>> def next_hop(flow):                       # chain: 0 -> 1, then 1 -> 2
...     done.append(flow.flow_id)
...     if flow.flow_id == 0:
...         sim.add_flow(1, 2, 100_000, on_done=next_hop)
>>> _ = sim.add_flow(0, 1, 100_000, on_done=next_hop)
>>> sim.run()
>>> res = sim.result()
>>> done, bool(res.flows["finished"].all()), bool(res.flow_cols["start_ps"][1] == res.flow_cols["end_ps"][0])
([0, 1], True, True)
"""
from __future__ import annotations

import gc
import os
import time
from contextlib import contextmanager

from uesim.experiments.schema import ScenarioError

_EMPTY_TRAFFIC = {"pattern": "explicit", "flows": []}


@contextmanager
def collector_paused():
    """Pause Python's cyclic garbage collector for the block (restored after, if it was on).

    Launching a workload and running the event loop make flow, congestion-control and
    load-balancer objects by the hundred thousand and no reference cycles; each full
    collection would traverse every one alive (a quarter of a 512-GPU all-to-all's CPU).
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def _resolve_graph(topology, seed: int):
    """``(graph, topology table for the config)`` from a graph, spec string or table."""
    import networkx as nx
    if isinstance(topology, nx.Graph):
        return topology, {"graph": topology.graph.get("name", "custom")}
    if isinstance(topology, str):
        from uesim.topologies import parse_topology_spec
        try:
            return parse_topology_spec(topology), {"spec": topology}
        except (ValueError, TypeError) as exc:
            raise ScenarioError(f"topology = {topology!r}: {exc}") from None
    if isinstance(topology, dict):
        from uesim.experiments.run import build_topology
        from uesim.experiments.scenario import _check_generator
        table = _check_generator(dict(topology))
        return build_topology(table), table
    raise ScenarioError(f"topology = {topology!r}: must be a networkx graph, a spec string "
                        f"(e.g. 'fat_tree:k=4') or a table with 'generator' or 'file'")


def uet_default_rto_ps(fabric: dict, base_rtt_ps: int, rate_bps: int, buffer_bytes: int) -> int:
    """The UET retransmission timeout when the scenario sets none: htsim's, 15 us plus six
    drain times of a full port queue at the slowest link rate.

    With the never-dropping default buffer (1 GiB) that is about half a second: nothing
    is lost there, so the timer only matters after faults, and a shorter one would fire
    for packets that are merely queued (an 8:1 incast queues milliseconds). The presets
    (:mod:`uesim.experiments.presets`) set 1 MB buffers: about 0.5 ms.

    >>> uet_default_rto_ps({"buffer_bytes": 178_450}, 14_022_720, 100_000_000_000, 178_450)
    100656000
    """
    return 15_000_000 + 6 * (buffer_bytes * 8_000_000_000_000 // rate_bps)


class RetiredFlows:
    """The result rows of retired flows, as compact int64 columns (see
    :meth:`Simulation.retire`)."""

    #: the counters a flow row keeps (those a transport lacks are left out)
    FIELDS = ("flow_id", "src", "dst", "size_bytes", "start_ps", "end_ps", "rx_done_ps", "finished",
              "sent_packets", "retx_packets", "timeouts", "timeouts_no_loss", "ecn_echoes", "aborted",
              "new_packets", "acks_received", "nacks_received", "cnps_sent", "cnps_received",
              "ooo_discards")

    def __init__(self):
        from array import array
        self.rows = array("q")          # one row of len(fields) counters per retired flow
        self.fields: tuple = ()
        self._get = None
        self._check_type = self._check_fields = self._check_get = None
        self._compiled = False
        self.ids = bytearray()          # per flow id: 1 once retired
        self.pending = 0                # retired but still in the flow list
        self.count = 0

    def add_checked(self, flows: list, now: int) -> None:
        """Check and keep the rows of finished ``flows`` in one pass (a batch of one
        class: one attrgetter call per flow reads both the counters kept and those the
        per-flow invariants check, the checks run in numpy); raises
        :class:`~uesim.experiments.invariants.InvariantError` naming the first flow that
        breaks one, before any row is kept."""
        import numpy as np
        from itertools import chain
        from operator import attrgetter
        from uesim.experiments.invariants import CHECK_FIELDS, InvariantError, _flow_problems, failing_rows
        from uesim.protocols.flow import counter_table
        if not flows:
            return
        if len(set(map(type, flows))) > 1:          # mixed transports: flow by flow
            problems = _flow_problems(flows, now, True)
            if problems:
                raise InvariantError(f"at {now} ps: {problems[0]}")
            for o in flows:
                self.add(o)
            return
        first = flows[0]
        self._init_fields(first)
        if self._check_type is not type(first):
            self._check_type = type(first)
            extra = tuple(k for k in CHECK_FIELDS if k not in self.fields and hasattr(first, k))
            self._check_fields = self.fields + extra
            self._check_get = attrgetter(*self._check_fields)
            # uesim's own flow classes give their counters to compiled code (a Python
            # subclass might shadow one with a property: it is read by attribute)
            self._compiled = type(first).__module__.startswith("uesim.protocols")
        table = counter_table(flows, self._check_fields) if self._compiled else None
        if table is None:            # a class that does not give its counters by code
            width = len(self._check_fields)
            table = np.fromiter(chain.from_iterable(map(self._check_get, flows)), dtype=np.int64,
                                count=len(flows) * width).reshape(len(flows), width)
        bad = np.flatnonzero(failing_rows(table, self._check_fields, now))
        if len(bad):
            problems = _flow_problems([flows[i] for i in bad], now, True) or [
                f"flow {flows[bad[0]].flow_id}: its counters fail the retirement check"]
            raise InvariantError(f"at {now} ps: {problems[0]}")
        self.rows.frombytes(np.ascontiguousarray(table[:, :len(self.fields)]).tobytes())
        fids = table[:, self.fields.index("flow_id")]
        top = int(fids.max())
        if top >= len(self.ids):
            self.ids.extend(bytes(max(top + 1 - len(self.ids), len(self.ids))))
        np.frombuffer(self.ids, dtype=np.uint8)[fids] = 1
        self.pending += len(flows)
        self.count += len(flows)

    def _init_fields(self, flow) -> None:
        if self._get is None:
            from operator import attrgetter
            self.fields = tuple(k for k in self.FIELDS if hasattr(flow, k))
            self._get = attrgetter(*self.fields)        # one C call per flow

    def add(self, flow) -> None:
        self._init_fields(flow)
        self.rows.extend(self._get(flow))
        fid = flow.flow_id
        if fid >= len(self.ids):
            self.ids.extend(bytes(max(fid + 1 - len(self.ids), len(self.ids))))
        self.ids[fid] = 1
        self.pending += 1
        self.count += 1

    @property
    def cols(self) -> tuple:
        return self.fields

    def is_retired(self, fid: int) -> bool:
        return fid < len(self.ids) and self.ids[fid] == 1

    def n_ids(self, live) -> int:
        top = max((o.flow_id for o in live), default=-1)
        rid = self.column("flow_id")
        return int(max(top, int(rid.max()) if len(rid) else -1)) + 1

    def column(self, name: str):
        import numpy as np
        if name not in self.fields:
            return np.zeros(self.count, dtype=np.int64)
        table = np.frombuffer(self.rows, dtype=np.int64).reshape(self.count, len(self.fields))
        return table[:, self.fields.index(name)].copy()

    def merge(self, live_cols: dict) -> dict:
        """``live_cols`` (from the flows still held) with the retired rows, by flow id."""
        import numpy as np
        if not self.count:
            return live_cols
        rename = {"sent_packets": "packets_sent", "retx_packets": "retransmits",
                  "new_packets": "packets_new", "acks_received": "acks", "nacks_received": "nacks"}
        ret = {rename.get(k, k): self.column(k) for k in self.cols}
        ret["finished"] = ret["finished"].astype(bool)
        if "aborted" in ret:
            ret["aborted"] = ret["aborted"].astype(bool)
        ret["fct_us"] = (ret["end_ps"] - ret["start_ps"]) / 1e6
        out = {}
        live = len(live_cols["flow_id"]) > 0
        for k in (live_cols if live else [k for k in ret if k != "ooo_discards"]):
            if k in ret:
                out[k] = np.concatenate([ret[k], np.asarray(live_cols[k])]) if live else ret[k].copy()
        order = np.argsort(out["flow_id"], kind="stable")
        return {k: v[order] for k, v in out.items()}


class Simulation:
    """Build a network once, add flows (any time), run, read results.

    Parameters
    ----------
    topology : networkx.Graph, str or dict
        A topology graph, a spec string for :func:`uesim.topologies.parse_topology_spec`,
        or a scenario ``[topology]`` table.
    fabric, transport : dict, optional
        Scenario ``[fabric]`` and ``[transport]`` tables (checked; defaults filled in as
        in scenario files).
    seed : int
        Scenario seed: hash salts, ECN coins and per-flow load-balancer streams derive from it.
    faults : dict, optional
        A scenario ``[faults]`` table, applied after the fabric is sized.
    fabric_config : uesim.fabric.FabricConfig, optional
        Use this data-plane configuration as is instead of the one derived from ``fabric``.

    Attributes
    ----------
    sc : dict
        The resolved scenario (its ``traffic`` is the empty explicit pattern unless built
        :meth:`from_scenario`).
    graph : networkx.Graph
    built : uesim.fabric.build.BuiltNetwork
    flow_objs : list
        Transport flow objects in the order they were added.
    base_rtt_ps, rto_ps, buffer_bytes : int
    """

    def __init__(self, topology, *, fabric: dict | None = None, transport: dict | None = None,
                 seed: int = 0, faults: dict | None = None, fabric_config=None):
        from uesim.experiments.scenario import check_scenario
        t0 = time.perf_counter()
        G, table = _resolve_graph(topology, seed)
        raw = {"topology": {"file": "<graph>"}, "fabric": fabric or {}, "transport": transport or {},
               "traffic": dict(_EMPTY_TRAFFIC), "seed": seed}
        if faults:
            raw["faults"] = faults
        sc = check_scenario(raw)
        sc["topology"] = table
        self._setup(sc, G, t0, fabric_config=fabric_config)

    @classmethod
    def from_scenario(cls, sc: dict, G=None) -> "Simulation":
        """A simulation of a checked scenario (see :func:`~uesim.experiments.check_scenario`),
        with the scenario's own traffic (pattern, ``.cm`` file and its triggers) added
        (``G``: its topology graph if already built)."""
        from uesim.experiments.run import build_topology, make_workload
        t0 = time.perf_counter()
        self = cls.__new__(cls)
        self._setup(sc, build_topology(sc["topology"]) if G is None else G, t0)
        flows, triggers = make_workload(sc, self.built.n_hosts)
        self.add_flows(flows, triggers=triggers)
        return self

    @classmethod
    def from_parts(cls, sc: dict, G, *, faults: bool = True, fabric_config=None) -> "Simulation":
        """A simulation of checked scenario ``sc`` on graph ``G`` with no traffic yet
        (``faults=False`` ignores the scenario's ``[faults]`` table)."""
        self = cls.__new__(cls)
        if not faults and sc.get("faults"):
            sc = {k: v for k, v in sc.items() if k != "faults"}
        self._setup(sc, G, time.perf_counter(), fabric_config=fabric_config)
        return self

    # -- building ---------------------------------------------------------------------------
    def _setup(self, sc: dict, G, t0: float, fabric_config=None) -> None:
        from uesim.experiments.run import _fabric_config, derive_seed, network_sizing
        from uesim.fabric import build_network
        self.sc = sc
        tr = sc["transport"]
        base_rtt, rate, buffer_bytes = network_sizing(sc, G)
        rto = tr.get("rto_ps", tr.get("min_rto_ps"))     # roce: the floor of its adaptive timer
        if rto is None:
            rto = uet_default_rto_ps(sc["fabric"], base_rtt, rate, buffer_bytes) if tr["name"] == "uet" \
                else 100_000_000
        if sc.get("faults"):
            # sizes above come from the nominal fabric (as htsim sizes them); faults act after
            from uesim.experiments.faults import apply_faults
            G = apply_faults(G, sc["faults"], derive_seed(sc["seed"], 4))
        self.graph = G
        self.base_rtt_ps, self.rto_ps, self.buffer_bytes = base_rtt, rto, buffer_bytes
        try:
            self.built = build_network(G, config=fabric_config or _fabric_config(sc, buffer_bytes))
        except (ValueError, OverflowError) as exc:
            # e.g. a rate or delay beyond 64-bit picoseconds / bit/s
            raise ScenarioError(f"topology: cannot build the network: {exc}") from None
        self.flow_objs: list = []
        self._retired = RetiredFlows()
        self._retire_waiting: list = []
        self._retire_check_at = 64
        self._n_added = 0               # flow ids handed out so far
        from uesim.experiments.faults import start_faults
        from uesim.experiments.invariants import InvariantChecker
        # both hold the flow list itself, so flows added later are watched and checked too
        self._injector, self._watchdog = start_faults(sc, self.built, self.flow_objs, rto)
        self._checker = InvariantChecker(self.built, self.flow_objs, trimming=sc["fabric"]["trimming"])
        self.partial = False
        self.invariant_note = None
        self._pacers: dict = {}
        self._factory = None
        self._executors: list = []
        self._build_s = time.perf_counter() - t0
        self._run_s = 0.0

    @property
    def sim(self):
        """The event engine (:class:`uesim.fabric.engine.Simulator`)."""
        return self.built.sim

    @property
    def net(self):
        """The data plane (:class:`uesim.fabric.network.Network`)."""
        return self.built.net

    @property
    def now_ps(self) -> int:
        """Current simulated time."""
        return self.built.sim.now

    @property
    def n_hosts(self) -> int:
        return self.built.n_hosts

    @property
    def flows_retired(self) -> int:
        """Flows finished and retired so far (their rows kept, their objects freed)."""
        return self._retired.count

    def host(self, h) -> int:
        """Host index of ``h`` (an index, or a GPU node name such as ``"gpu3"``)."""
        if isinstance(h, str):
            return self.built.host_index(h)
        h = int(h)
        if not 0 <= h < self.built.n_hosts:
            raise ValueError(f"host {h} out of range 0..{self.built.n_hosts - 1}")
        return h

    # -- traffic ----------------------------------------------------------------------------
    def add_flow(self, src, dst, size_bytes: int, start_ps: int | None = None, on_done=None):
        """Add one flow of the scenario's transport; return its flow object.

        ``start_ps`` None (or in the past) starts it now. ``on_done(flow)`` is called when
        the sender has every ACK (the flow's ``on_finish``).
        """
        src, dst = self.host(src), self.host(dst)
        now = self.built.sim.now
        fid = self._n_added
        obj = self.factory.make(fid, src, dst, int(size_bytes),
                                now if start_ps is None or start_ps < now else start_ps)
        if on_done is not None:
            obj.on_finish = on_done
        self.flow_objs.append(obj)
        self._n_added = fid + 1
        return obj

    @property
    def factory(self):
        """The :class:`~uesim.experiments.run.TransportFactory` of this simulation's
        transport (made on first use)."""
        if self._factory is None:
            from uesim.experiments.run import TransportFactory
            self._factory = TransportFactory(self.sc, self.built.net, base_rtt_ps=self.base_rtt_ps,
                                             rto_ps=self.rto_ps, pacers=self._pacers)
        return self._factory

    def add_flows(self, flows: list[dict], *, triggers=None, on_done=None) -> list:
        """Add flows (dicts with ``src, dst, size_bytes``, optional ``start_ps``, ``id`` and
        htsim trigger keys); return their flow objects.

        ``triggers`` (the trigger dicts of a ``.cm`` file) wires the flows' trigger keys;
        ``on_done(flow)`` is set as every new flow's completion callback.
        """
        from uesim.experiments.run import make_transport_flows
        now = self.built.sim.now
        first = self._n_added          # not len(flow_objs): retired flows leave that list
        fl = []
        for i, f in enumerate(flows):
            f = dict(f)
            f.setdefault("id", first + i)
            if f.get("start_trigger") is None and (f.get("start_ps") is None or f["start_ps"] < now):
                f["start_ps"] = now
            fl.append(f)
        objs = make_transport_flows(self.sc, fl, self.built.net, factory=self.factory)
        if on_done is not None:
            for o in objs:
                o.on_finish = on_done
        self.flow_objs.extend(objs)
        self._n_added = max(self._n_added, max((o.flow_id for o in objs), default=-1) + 1)
        if triggers:
            from uesim.experiments.workloads.triggers import wire_triggers
            trimming = self.sc["fabric"]["trimming"]
            self._executors.append(wire_triggers(
                objs, fl, triggers, self.built.net, self.built.sim,
                attach=lambda o: o.attach(self.built.net, base_rtt_ps=self.base_rtt_ps, trimming=trimming)))
        return objs

    def attach(self, obj, **attach_kwargs):
        """Attach a flow object made by the caller (any transport); return it.

        ``attach_kwargs`` go to ``obj.attach(net, ...)``; default: the simulation's base
        RTT and trimming setting.
        """
        if not attach_kwargs:
            attach_kwargs = {"base_rtt_ps": self.base_rtt_ps, "trimming": self.sc["fabric"]["trimming"]}
        obj.attach(self.built.net, **attach_kwargs)
        self.flow_objs.append(obj)
        self._n_added = max(self._n_added, obj.flow_id + 1)
        return obj

    def retire(self, flow) -> None:
        """Keep only the result row of finished ``flow`` and free the flow itself.

        Its counters are copied to compact columns (:meth:`result` and
        :meth:`flow_column` read them as if the flow were still here), its slots in the
        network and the engine are handed back, and it leaves :attr:`flow_objs` (at the
        next compaction), so a run's memory follows the flows in flight, not every flow
        it ever ran. Workload DAGs retire their flows as they finish.
        """
        from uesim.experiments.invariants import check_flow_finished
        # a flow with packets still under way (its receiver's last ACKs) waits: retiring
        # it would drop them and change the other flows' timing
        check_flow_finished(flow, self.built.sim.now)
        self._retire_waiting.append(flow)
        if len(self._retire_waiting) >= self._retire_check_at:
            self.retire_pending(current=flow)

    def retire_pending(self, current=None) -> None:
        """Retire the flows waiting for their last packets that no longer have any
        (``current``: a flow running its own callback now, kept in the list)."""
        quiet, still = [], []
        for o in self._retire_waiting:
            (quiet if o.quiet else still).append(o)
        self._retire_waiting[:] = still
        self._retire_check_at = 2 * len(still) + 64      # amortised: O(1) per flow
        if quiet:
            self._retire_quiet(quiet, current)

    def retire_flows(self, flows: list, current=None) -> None:
        """Retire finished ``flows`` that have no packet alive (checked first: a retired
        flow is out of the invariant checker's reach); ``current`` is a flow running its
        own callback now, kept in the list."""
        self._retired.add_checked(flows, self.built.sim.now)
        self._hand_back(flows, current)

    def _retire_quiet(self, flows: list, current) -> None:
        add = self._retired.add
        for o in flows:
            add(o)
        self._hand_back(flows, current)

    def _hand_back(self, flows: list, current) -> None:
        """Free retired ``flows`` (their rows are kept) and, now and then, drop them from
        :attr:`flow_objs`."""
        from uesim.protocols.flow import retire_all
        retire_all(flows)
        lst = self.flow_objs
        if self._retired.pending > 1024 and 2 * self._retired.pending > len(lst):
            # in place: the fault injector, the watchdog and the checker hold this list;
            # the flow retiring now is still running its own callback, so it stays
            ids, n = self._retired.ids, len(self._retired.ids)
            lst[:] = [o for o in lst if o is current or o.flow_id >= n or not ids[o.flow_id]]
            self._retired.pending = 1

    def new_flow(self, src: int, dst: int, size_bytes: int, start_ps: int):
        """A flow of the scenario's transport from host index ``src`` to ``dst`` that
        starts at ``start_ps`` (not before now): the lean :meth:`add_flow` that compiled
        workload walkers call, with no host-name lookup and no callback."""
        fid = self._n_added
        obj = self.factory.make(fid, src, dst, size_bytes, start_ps)
        self.flow_objs.append(obj)
        self._n_added = fid + 1
        return obj

    def add_workload(self, dag):
        """Run a :class:`~uesim.experiments.workloads.dag.Workload` (a DAG of flows and
        compute delays) in this simulation; return its runner (per-node start/end)."""
        return dag.launch(self)

    # -- running ----------------------------------------------------------------------------
    def run(self, until_ps: int | None = None, progress=None) -> None:
        """Run events up to ``until_ps`` (inclusive) or until none is left; resumable.

        In check mode (``[run] check = true``, or ``UESIM_CHECK_EVERY=N`` in the
        environment as the test suite sets it) the invariants are checked every
        ``check_every`` events; they are always checked when the run returns. Ctrl-C stops
        the run cleanly and marks the result partial.
        """
        from uesim.experiments.run import _tick
        run_opts = self.sc.get("run") or {}
        check_mode = run_opts.get("check", False)
        check_every = run_opts.get("check_every", 10_000)
        env = os.environ.get("UESIM_CHECK_EVERY", "")
        if env.isdigit() and int(env) > 0 and run_opts.get("check") is not False:
            check_mode, check_every = True, run_opts.get("check_every", int(env))
        self._checker.inner = progress
        t1 = time.perf_counter()
        try:
            with collector_paused():     # the event loop makes no reference cycles
                # a Python callback at least every 2**20 events also lets Ctrl-C through
                self.built.sim.run(until_ps=until_ps,
                                   progress=self._checker if check_mode else (progress or _tick),
                                   progress_every=check_every if check_mode else 1 << 20)
        except KeyboardInterrupt:
            self.partial = True      # stop cleanly: report what ran, marked partial
        finally:
            self._run_s += time.perf_counter() - t1
        try:
            self._checker.final()
        except Exception as exc:
            if not self.partial:
                raise
            # Ctrl-C may land inside a Python hook with an update half done: report, not raise
            self.invariant_note = str(exc)

    def flow_column(self, name: str):
        """One per-flow counter (``retx_packets``, ``timeouts``, ...) as an int64 array
        indexed by flow id, over every flow added (retired ones included; 0 where a
        transport lacks it)."""
        import numpy as np
        out = np.zeros(self._retired.n_ids(self.flow_objs), dtype=np.int64)
        rid = self._retired.column("flow_id")
        if len(rid):
            out[rid] = self._retired.column(name)
        live = [o for o in self.flow_objs if not self._retired.is_retired(o.flow_id)]
        if live:
            ids = np.fromiter((o.flow_id for o in live), dtype=np.int64, count=len(live))
            out[ids] = np.fromiter((getattr(o, name, 0) for o in live), dtype=np.int64, count=len(live))
        return out

    def result(self):
        """The :class:`~uesim.experiments.results.RunResult` so far (flows, ports, stats)."""
        from uesim.experiments.results import RunResult
        from uesim.experiments.run import _flow_columns, _rate_trace_cols
        built, G = self.built, self.graph
        flow_cols = self._retired.merge(_flow_columns(
            [o for o in self.flow_objs if not self._retired.is_retired(o.flow_id)]))
        stalled = self._watchdog is not None and self._watchdog.fired
        unfinished = ~flow_cols["finished"]
        # a flow that cannot finish: given up (aborted), stopped by the stall watchdog, or
        # still unfinished when the run drained; an interrupted or time-limited run's flows
        # are merely unfinished
        drained = built.sim.pending_events == 0
        stuck = unfinished & (flow_cols.get("aborted", False) | stalled | drained)
        flow_cols["stuck"] = stuck
        counters = built.net.port_counters()
        port_cols = {
            "port": list(range(built.net.n_ports)),
            "node": [u for u, _, _ in built.port_link],
            "peer": [v for _, v, _ in built.port_link],
            "link": [k for _, _, k in built.port_link],
            "fabric": [G.edges[u, v].get("fabric", "scale_out") for u, v, _ in built.port_link],
            "rate_gbps": counters["rate_bps"] / 1e9,
            **{k: counters[k] for k in ("tx_packets", "tx_bytes", "drops", "drop_bytes", "ecn_marks",
                                        "trims", "max_queue_bytes", "pfc_pauses_sent",
                                        "pfc_pauses_received", "pfc_paused_ps", "cbfc_stall_ps",
                                        "llr_frame_errors", "llr_replay_ps")},
        }
        stats = {
            "events": built.sim.events, "packet_hops": built.net.packet_hops,
            "packets_sent": built.net.sent, "packets_dropped": built.net.dropped,
            "packets_delivered": built.net.delivered, "packets_in_flight": built.net.live_packets,
            "unroutable": built.net.unroutable, "packets_trimmed": built.net.trimmed,
            "sim_time_us": built.sim.now / 1e6, "base_rtt_ps": self.base_rtt_ps,
            "buffer_bytes": self.buffer_bytes, "rto_ps": self.rto_ps,
            "pfc_pauses": built.net.pfc_pauses, "lossless_overflow": built.net.lossless_overflow,
            "frames_lost": built.net.frames_lost,
            "llr_frame_errors": int(counters["llr_frame_errors"].sum()),
            "network_events": built.net.event_counts(), "build_s": round(self._build_s, 4),
            "wall_s": round(self._run_s, 4),
        }
        stats["partial"] = self.partial
        if self.invariant_note is not None:
            stats["invariant_after_interrupt"] = self.invariant_note
        stats["unfinished_flows"] = int(unfinished.sum())
        stats["stuck_flows"] = [int(i) for i in flow_cols["flow_id"][stuck]]
        stats["stalled"] = stalled
        stats["packets_lost"] = built.net.lost
        stats["invariant_checks"] = self._checker.checks
        if self._injector is not None:
            stats["fault_log"] = [list(e) for e in self._injector.log]
            stats["reconvergences"] = self._injector.reconvergences
        if self._executors:
            stats["trigger_problems"] = [p for ex in self._executors for p in ex.problems]
            stats["unstarted_flows"] = [ex.flow_objs[i].flow_id for ex in self._executors
                                        for i in ex.unstarted()]
        stats["timeouts"] = int(flow_cols["timeouts"].sum())
        # a timer that fired for a packet the receiver already had: nothing was lost, so
        # the ACK path (or an RTO below the RTT) is at fault; expected 0
        stats["timeouts_no_loss"] = int(flow_cols["timeouts_no_loss"].sum())
        if stats["timeouts_no_loss"]:
            stats.setdefault("warnings", []).append(
                f"{stats['timeouts_no_loss']} retransmission timeouts of packets the receiver "
                f"already had (nothing lost): an ACK that never came or an RTO below the RTT")
        for key, col in (("packets_new", "packets_new"), ("packets_rtx", "retransmits"),
                         ("acks", "acks"), ("nacks", "nacks")):
            if col in flow_cols:
                stats[key] = int(flow_cols[col].sum())
        for key in ("cnps_sent", "cnps_received"):
            if key in flow_cols:
                stats[key] = int(flow_cols[key].sum())
        return RunResult(flow_cols=flow_cols, port_cols=port_cols, config=self.sc, stats=stats,
                         trace_cols=_rate_trace_cols(self.flow_objs))
