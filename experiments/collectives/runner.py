"""Run a collective through the Simulation API and measure it against its ideal."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from uesim.experiments.collectives.algorithms import BUSBW_FACTOR, OP_ALGOS, compile_collective
from uesim.experiments.collectives.comm import Communicator, scaleup_domains
from uesim.experiments.collectives.model import ideal_in
from uesim.experiments.simulation import collector_paused

#: transport of collectives unless told otherwise: UET with NSCC and oblivious spraying
DEFAULT_TRANSPORT = {"name": "uet", "cc": {"name": "nscc"}, "lb": {"name": "oblivious"}}


@dataclass
class CollectiveResult:
    """One collective: times in ps, bandwidths in Gbit/s (``*_GBps``: GB/s as nccl-tests).

    ``ideal_ps`` is the DAG on a perfect fabric with NICs shared fairly
    (:func:`~.model.ideal_times`); ``critical_ps`` the algorithm's critical path with
    every message alone, so ``endpoint_ps = ideal_ps - critical_ps`` is NIC
    serialisation beyond the critical path (time no fabric could remove);
    ``stall_ps = time_ps - ideal_ps`` is the network stall, split in ``stall_by_cause``
    (see :func:`stall_by_cause`). ``phases`` lists per phase ``name, actual_ps,
    ideal_ps`` (a phase ends when its last message arrives); ``sources`` holds the
    counters that explain a stall: retransmitted packets, RTO timeouts (and those with
    nothing lost), drops, trims, ECN marks, the deepest queue, bytes per fabric, and PFC
    pause time when the fabric reports it.
    """

    op: str
    algo: str
    n_ranks: int
    size_bytes: int
    time_ps: int
    ideal_ps: int
    phases: list = field(default_factory=list)
    sources: dict = field(default_factory=dict)
    run: object = None
    critical_ps: int = 0
    stall_by_cause: dict = field(default_factory=dict)
    bound_ps: int = 0

    def warnings(self) -> list[str]:
        """What makes this result suspect (empty: it passed every check): unfinished
        messages, timeouts with nothing lost, a time below the proven lower bound
        (always a bug) or more than 2% inside the ideal."""
        out = []
        s = self.sources
        if not s.get("finished", True):
            out.append("unfinished: some messages never arrived")
        if s.get("timeouts_no_loss"):
            out.append(f"{s['timeouts_no_loss']} retransmission timeouts with nothing lost")
        if self.time_ps < self.bound_ps:
            out.append(f"time {self.time_ps / 1e6:.3f} us below the proven lower bound "
                       f"{self.bound_ps / 1e6:.3f} us")
        elif self.time_ps < 0.98 * self.ideal_ps:
            out.append(f"time {100 * (1 - self.time_ps / self.ideal_ps):.1f}% inside the ideal")
        return out

    @property
    def endpoint_ps(self) -> int:
        return self.ideal_ps - self.critical_ps

    @property
    def stall_ps(self) -> int:
        return self.time_ps - self.ideal_ps

    @property
    def algbw_gbps(self) -> float:
        return 8e3 * self.size_bytes / self.time_ps if self.time_ps > 0 else float("nan")

    @property
    def busbw_gbps(self) -> float:
        return self.algbw_gbps * BUSBW_FACTOR[self.op](self.n_ranks)

    def row(self) -> dict:
        """The numbers of one table row (``uesim collective --json``)."""
        return {
            "op": self.op, "algo": self.algo, "ranks": self.n_ranks, "bytes": self.size_bytes,
            "time_us": round(self.time_ps / 1e6, 4), "algbw_gbps": round(self.algbw_gbps, 3),
            "busbw_gbps": round(self.busbw_gbps, 3), "algbw_GBps": round(self.algbw_gbps / 8, 3),
            "busbw_GBps": round(self.busbw_gbps / 8, 3), "ideal_us": round(self.ideal_ps / 1e6, 4),
            "critical_us": round(self.critical_ps / 1e6, 4), "bound_us": round(self.bound_ps / 1e6, 4), "endpoint_us": round(self.endpoint_ps / 1e6, 4),
            "stall_us": round(self.stall_ps / 1e6, 4),
            "stall_pct": round(100 * self.stall_ps / self.ideal_ps, 3) if self.ideal_ps else None,
            **{f"stall_{k}_us": round(v / 1e6, 4) for k, v in self.stall_by_cause.items()},
            **{k: v for k, v in self.sources.items() if not isinstance(v, dict)},
            "warnings": "; ".join(self.warnings()),      # one string: rows become DataFrame columns
        }


def run_collective(op: str, size_bytes: int, *, sim=None, topology=None, n_ranks: int | None = None,
                   algo: str | None = None, placement: str = "sequential", hosts=None,
                   channels: int = 1, chunks: int = 1, root: int = 0, inter_algo: str = "ring",
                   transport: dict | None = None, fabric: dict | None = None, seed: int = 0,
                   until_ps: int | None = None, on_built=None, progress=None) -> CollectiveResult:
    """Compile, run and measure one collective.

    Parameters
    ----------
    op, algo : str
        Operation and algorithm (see :data:`~.algorithms.OP_ALGOS`).
    size_bytes : int
        Buffer size, nccl-tests convention.
    sim : Simulation, optional
        Run in this simulation (its fabric and transport); else one is built from
        ``topology``, ``transport``, ``fabric`` and ``seed`` (with neither transport nor
        fabric given: the ``uet`` preset of :mod:`uesim.experiments.presets`).
    topology : networkx.Graph, str or dict
        Topology when ``sim`` is not given.
    n_ranks : int, optional
        Ranks (default: every GPU).
    placement : {"sequential", "rail", "random"}
        Rank placement (random draws from ``seed``); ``hosts`` fixes the hosts instead.
    channels, chunks, root, inter_algo
        See :func:`~.algorithms.compile_collective`.
    until_ps : int, optional
        Stop the run at this time (the result then covers finished messages only).
    on_built : callable, optional
        Called as ``on_built(sim, workload)`` once the DAG is compiled, before its ideal
        and its run (the CLI estimates, prints or refuses the run there).
    progress : callable, optional
        ``progress(now_ps, events)`` during the run (:meth:`Simulation.run`).

    Examples
    --------
    >>> from uesim.experiments.collectives import run_collective
    >>> r = run_collective("all_reduce", 1 << 20, topology="leaf_spine:n_leaves=2,n_spines=2,hosts_per_leaf=4")
    >>> r.n_ranks, r.algo, 0.97 < r.ideal_ps / r.time_ps <= 1.0
    (8, 'ring', True)
    """
    from uesim.experiments.run import derive_seed
    from uesim.experiments.simulation import Simulation
    if sim is None:
        if topology is None:
            raise ValueError("run_collective needs sim= or topology=")
        if transport is None and fabric is None:
            from uesim.experiments.presets import preset
            p = preset("uet")
            transport, fabric = p["transport"], p["fabric"]
        sim = Simulation(topology, transport=transport or DEFAULT_TRANSPORT, fabric=fabric, seed=seed)
    G = sim.graph
    algo = algo or OP_ALGOS.get(op, ("ring",))[0]
    if hosts is None:
        n = sim.n_hosts if n_ranks is None else n_ranks
        from uesim.experiments.collectives.comm import place_ranks
        hosts = place_ranks(G, n, placement, seed=derive_seed(seed, 7), hosts=None)
    comm = Communicator(hosts)
    domains = scaleup_domains(G, comm.hosts) if algo == "hier" else None
    compiled = compile_collective(op, comm.hosts, size_bytes, algo, channels=channels, chunks=chunks,
                                  root=root, domains=domains, inter_algo=inter_algo)
    if on_built is not None:
        on_built(sim, compiled.workload)
    ideal = ideal_in(sim, compiled.workload)
    before = _counters(sim)
    t0 = sim.now_ps
    ev0, wall0 = sim.built.sim.events, time.perf_counter()
    with collector_paused():      # one pause: the launch's flows are retired before it ends
        run = compiled.workload.launch(sim)
        sim.run(until_ps=until_ps, progress=progress)
    after = _counters(sim)
    after["events"], before["events"] = sim.built.sim.events, ev0
    end = int(run.end_ps.max()) if run.done else sim.now_ps
    time_ps = end - t0
    phases = _phases(compiled, run, ideal["finish_ps"], t0)
    sources = {k: int(after[k] - before[k]) for k in after if not isinstance(after[k], np.ndarray)}
    sources["max_queue_bytes"] = after["max_queue_bytes"]       # a maximum, not a delta
    sources["wall_s"] = round(time.perf_counter() - wall0, 4)      # launch and run, not the ideal
    for fab in ("scale_out", "scale_up"):
        sent = after[f"_{fab}_nic_tx"] - before[f"_{fab}_nic_tx"]
        if len(sent):
            sources[f"{fab}_nics_used"] = int((sent > 0).sum())
            sources[f"{fab}_busiest_nic_bytes"] = int(sent.max())
    fids = run.flow_id[run.flow_id >= 0]
    counts = {k: sim.flow_column(k) for k in ("retx_packets", "timeouts", "timeouts_no_loss", "ooo_discards")}
    sources["retransmits"] = int(counts["retx_packets"][fids].sum())
    sources["timeouts"] = int(counts["timeouts"][fids].sum())
    sources["timeouts_no_loss"] = int(counts["timeouts_no_loss"][fids].sum())
    sources["finished"] = bool(run.done)
    causes = stall_by_cause(compiled.workload, run, counts, ideal["finish_ps"], t0, time_ps - int(ideal["total_ps"]),
                            paused_ps=sources.get("pfc_paused_ps", 0) + sources.get("cbfc_stall_ps", 0))
    return CollectiveResult(op, algo, comm.size, int(size_bytes), time_ps, int(ideal["total_ps"]),
                            phases=phases, sources=sources, run=run, critical_ps=int(ideal["critical_ps"]),
                            stall_by_cause=causes, bound_ps=int(ideal["bound_ps"]))


#: the causes a stall is split into, in the order a message is charged to them
CAUSES = ("loss_recovery", "reordering", "pause", "queueing", "other")


def stall_by_cause(w, run, counts, ideal_finish, t0: int, stall_ps: int, *, paused_ps: int) -> dict:
    """Split a stall by cause along the run's critical path.

    From the message that finished last, walk back through the predecessor that
    released each node (the one that finished last). Each message on that path is late
    by its actual minus its ideal duration, less the slack the ideal schedule left between
    it and the next node on the path (the next one's ideal start minus its ideal finish:
    that much of its lateness delayed nothing), so the path's messages add up to how late
    the last one finished (compute nodes and zero-byte flows count with the message
    before them); the lateness is charged to one cause, by
    what its flow counted (``counts``: per flow id, arrays ``retx_packets``, ``timeouts`` and
    ``ooo_discards``, as :meth:`~uesim.experiments.Simulation.flow_column` gives them): ``loss_recovery`` if it retransmitted or timed out,
    ``reordering`` if its receiver discarded out-of-order packets (RoCE), else
    ``pause`` up to what is left of the time the fabric's ports spent paused (PFC) or
    waiting for credit (CBFC) during the run, summed over ports (a pause delays a
    message by no more), and ``queueing`` for the rest. The end of the collective counts
    as a node after every other (the last message's slack is the ideal schedule's end
    less its ideal finish), so the named causes add up to the time less the ideal
    schedule's end; ``other`` is the rest, the part of the ideal that is its proven bound
    beyond that schedule, so the causes add up to the stall exactly.
    """
    out = dict.fromkeys(CAUSES, 0)
    if not run.done or len(w) == 0:
        out["other"] = stall_ps
        return out
    frm = np.asarray(w.edges_from, dtype=np.int64)
    to = np.asarray(w.edges_to, dtype=np.int64)
    order = np.argsort(to, kind="stable")
    pred_ptr = np.zeros(len(w) + 1, dtype=np.int64)
    np.cumsum(np.bincount(to, minlength=len(w)), out=pred_ptr[1:])
    preds = frm[order]
    end, start = run.end_ps, run.start_ps
    v = int(np.argmax(end))
    explained = carry = 0
    # the end waits for every node: the last one's slack is the ideal's end less its finish
    slack_after = int(ideal_finish.max()) - int(ideal_finish[v])
    pause_left = int(paused_ps)
    while v >= 0:
        p0, p1 = pred_ptr[v], pred_ptr[v + 1]
        prev = int(preds[p0:p1][np.argmax(end[preds[p0:p1]])]) if p1 > p0 else -1
        ideal_start = int(ideal_finish[preds[p0:p1]].max()) if p1 > p0 else 0
        own = int(end[v] - start[v]) - (int(ideal_finish[v]) - ideal_start - int(w.delay[v]))
        # a node is charged its own lateness less the slack the ideal gave it before the
        # next node on the path (its lateness delayed that one only by the rest): along
        # the path these add up to how late the last node finished
        carry += own - slack_after
        slack_after = ideal_start - int(ideal_finish[prev]) if prev >= 0 else 0
        if w.kind[v] == 0 and run.flow_id[v] >= 0:
            late, carry = carry, 0           # a message carries the compute nodes after it
            fid = int(run.flow_id[v])
            if counts["retx_packets"][fid] or counts["timeouts"][fid]:
                cause = "loss_recovery"
            elif counts["ooo_discards"][fid]:
                cause = "reordering"
            else:
                cause = "queueing"
            # pauses delay a message by no more than the fabric was paused in all
            pause = min(late, pause_left) if cause == "queueing" and late > 0 else 0
            pause_left -= pause
            out["pause"] += pause
            out[cause] += late - pause
            explained += late
        v = prev
    out["other"] = stall_ps - explained
    return out


def _counters(sim) -> dict:
    c = sim.net.port_counters()
    fab = np.asarray([sim.graph.edges[u, v].get("fabric", "scale_out") for u, v, _ in sim.built.port_link])
    out = {"drops": int(c["drops"].sum()), "trims": int(c["trims"].sum()),
           "ecn_marks": int(c["ecn_marks"].sum()), "max_queue_bytes": int(c["max_queue_bytes"].max()),
           "scale_out_tx_bytes": int(c["tx_bytes"][fab == "scale_out"].sum()),
           "scale_up_tx_bytes": int(c["tx_bytes"][fab == "scale_up"].sum())}
    # bytes sent per GPU on each fabric (all its ports on that fabric): how evenly NICs work
    host_of = {name: i for i, name in enumerate(sim.built.host_names)}
    owner = np.asarray([host_of.get(u, -1) for u, _, _ in sim.built.port_link])
    for name in ("scale_out", "scale_up"):
        sel = (owner >= 0) & (fab == name)
        out[f"_{name}_nic_tx"] = np.bincount(owner[sel], weights=c["tx_bytes"][sel],
                                             minlength=sim.n_hosts)[:sim.n_hosts] if sel.any() \
            else np.zeros(0)
    for key in c:                                # PFC pause time, when the fabric counts it
        if "pause" in key and key not in out and np.issubdtype(np.asarray(c[key]).dtype, np.number):
            out[key] = int(np.asarray(c[key]).sum())
    return out


def _phases(compiled, run, ideal_finish, t0) -> list[dict]:
    """Per phase: its name, actual and ideal duration, each from the previous phase's
    last arrival to its own."""
    bounds = [r0 for _, r0 in compiled.phases] + [compiled.n_rounds]
    node_round = compiled.node_rounds()
    ideal_finish = np.asarray(ideal_finish, dtype=np.int64)
    out, prev_end, prev_ideal = [], t0, 0
    for i, (name, r0) in enumerate(compiled.phases):
        sel = (node_round >= r0) & (node_round < bounds[i + 1])
        ends = run.end_ps[sel]
        end = int(ends.max()) if len(ends) and (ends >= 0).all() else prev_end
        ideal_end = int(ideal_finish[sel].max()) if sel.any() else prev_ideal
        out.append({"name": name, "actual_ps": end - prev_end, "ideal_ps": ideal_end - prev_ideal})
        prev_end, prev_ideal = end, ideal_end
    return out
