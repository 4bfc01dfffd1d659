"""Time series of a run, sampled off the hot path.

A :class:`Sampler` wakes every ``interval_ps`` of simulated time (one Python callback
through :meth:`Simulator.schedule_at`, never per packet) and records

* per egress port: the bytes it holds (``queue_bytes``) and the bytes it has finished
  serialising, whose difference over an interval gives its ``utilisation`` (output
  bits over rate x interval, 0..1);
* per flow: its congestion control's window (``cwnd_bytes``) and pacing rate
  (``rate_bps``), and the payload bytes acknowledged so far (``acked_bytes``).

Samples go into preallocated numpy arrays that double when full.  Sampling only reads
state: the flows and ports of a run are the same bit for bit with it on or off.

In a scenario::

    [outputs]
    timeseries_interval_ps = 1_000_000    # every 1 us (0 or absent: off)
    timeseries_ports = "busy"             # "all", "busy" (sent anything) or a list
    timeseries_flows = "all"              # "all", "none" or a list of flow ids

The result is a long DataFrame (:meth:`TimeSeries.to_frame`), one row per sample, object
and metric, with columns ``t_us, kind, id, metric, value``: ``kind`` is ``"port"``
(``id`` the port index of ``RunResult.ports``) or ``"flow"`` (``id`` the flow id).
Long, because every plot selects one metric and groups by ``id``; ``pivot`` gives the
wide form (:meth:`TimeSeries.wide`).
"""
from __future__ import annotations

import numpy as np

PORT_METRICS = ("queue_bytes", "utilisation")
FLOW_METRICS = ("cwnd_bytes", "rate_bps", "acked_bytes")


def _acked_reader(flow):
    """A function giving the payload bytes acknowledged to ``flow``'s sender so far.

    Transports count differently: the window transport counts acknowledged packets, UET
    its cumulative ACK (packets), the paced transport (no ACKs) the bytes received.
    Packets carry ``mtu - header`` payload bytes except the last, so counts of packets
    are exact for in-order prefixes and within one packet otherwise.
    """
    size = flow.size_bytes
    mss = max(1, flow.mtu_bytes - flow.header_bytes)
    if hasattr(flow, "acked_packets"):
        return lambda f: min(f.acked_packets * mss, size)
    if hasattr(flow, "cum_ack"):
        return lambda f: min(f.cum_ack * mss, size)
    if hasattr(flow, "rx_bytes"):
        return lambda f: f.rx_bytes
    return lambda f: size if f.finished else 0


class Sampler:
    """Record port and flow state every ``interval_ps`` while a simulation runs.

    Parameters
    ----------
    sim : uesim.fabric.Simulator
        The simulator (the sampler schedules itself on it).
    net : uesim.fabric.Network
        The network whose ports are sampled.
    flows : list of Flow
        Transport flows whose ``cc`` is sampled (may be empty).  A list is read live:
        flows appended to it later (``Simulation.add_flow``) are sampled from then on.
    interval_ps : int
        Simulated time between samples (> 0).  The first sample is at ``interval_ps``
        after the current time; sampling ends with the first sample that finds no event
        left to run.
    ports : "all", "busy" or sequence of int
        Ports to keep.  ``"busy"`` samples all and keeps, at the end, the ports that sent
        anything; a list keeps those port indices.
    port_rate_bps : sequence of int, optional
        Rate per port (for utilisation); read from ``net.port_counters()`` if omitted.
    flow_ids : "all", "none" or sequence of int
        Flows sampled: all, none, or those with these flow ids.

    Examples
    --------
    >>> from uesim.fabric import Network, Simulator
    >>> sim = Simulator()
    >>> net = Network(sim, 2, 2)
    >>> port = net.add_port(0, 1, 100_000_000_000, 1_000, 1_000_000)
    >>> s = Sampler(sim, net, [], interval_ps=1_000_000)
    >>> sim.run()                    # nothing to simulate: one sample, then it stops
    >>> s.n_samples, s.result().t_ps.tolist()
    (1, [1000000])
    """

    def __init__(self, sim, net, flows, interval_ps: int, ports="busy", port_rate_bps=None,
                 flow_ids="all"):
        interval_ps = int(interval_ps)
        if interval_ps <= 0:
            raise ValueError(f"interval_ps must be > 0, got {interval_ps}")
        n_ports = net.n_ports
        if isinstance(ports, str):
            if ports not in ("all", "busy"):
                raise ValueError(f"ports = {ports!r}: allowed: 'all', 'busy' or a list of port indices")
            self._keep = None
        else:
            keep = np.asarray(list(ports), dtype=np.int64)
            bad = keep[(keep < 0) | (keep >= n_ports)]
            if len(bad):
                raise ValueError(f"ports: no port {int(bad[0])} (the network has {n_ports})")
            self._keep = keep
        self.ports_mode = ports if isinstance(ports, str) else "list"
        self.sim, self.net = sim, net
        self.flows = flows if isinstance(flows, list) else list(flows)
        if isinstance(flow_ids, str):
            if flow_ids not in ("all", "none"):
                raise ValueError(f"flow_ids = {flow_ids!r}: allowed: 'all', 'none' or a list of flow ids")
            self._want = None if flow_ids == "all" else frozenset()
        else:
            self._want = frozenset(int(i) for i in flow_ids)
        self._seen = 0              # flows of the (live) list looked at so far
        self._tracked = []          # the sampled ones, one column each
        self.interval_ps = interval_ps
        if port_rate_bps is None:
            port_rate_bps = net.port_counters()["rate_bps"]
        self.port_rate_bps = np.asarray(port_rate_bps, dtype=np.int64)
        self._acked = []
        self.n_samples = 0
        cap = 64
        nf = max(len(self.flows) if self._want is None else len(self._want), 1)
        self._t = np.zeros(cap, dtype=np.int64)
        self._q = np.zeros((cap, n_ports), dtype=np.int64)
        self._sent = np.zeros((cap, n_ports), dtype=np.int64)
        self._cwnd = np.zeros((cap, nf), dtype=np.int64)
        self._rate = np.zeros((cap, nf), dtype=np.int64)
        self._ack = np.zeros((cap, nf), dtype=np.int64)
        self._active = np.zeros((cap, nf), dtype=bool)
        # bytes already sent when sampling starts (the first interval's baseline)
        self._q0 = np.zeros(n_ports, dtype=np.int64)
        self._sent0 = np.zeros(n_ports, dtype=np.int64)
        net.port_levels(self._q0, self._sent0)
        self.t0_ps = sim.now
        self._token = sim.schedule_at(sim.now + interval_ps, self._sample)

    def _grow(self):
        cap = 2 * len(self._t)
        for name in ("_t", "_q", "_sent", "_cwnd", "_rate", "_ack", "_active"):
            old = getattr(self, name)
            new = np.zeros((cap,) + old.shape[1:], dtype=old.dtype)
            new[: len(old)] = old
            setattr(self, name, new)

    def _grow_flows(self, nf: int):
        cols = max(nf, 2 * self._cwnd.shape[1])
        for name in ("_cwnd", "_rate", "_ack", "_active"):
            old = getattr(self, name)
            new = np.zeros((old.shape[0], cols), dtype=old.dtype)
            new[:, : old.shape[1]] = old
            setattr(self, name, new)

    def _sample(self):
        k = self.n_samples
        if k == len(self._t):
            self._grow()
        if len(self.flows) > self._seen:        # flows added since the last sample
            new = self.flows[self._seen:]
            self._seen += len(new)
            if self._want is not None:
                new = [f for f in new if f.flow_id in self._want]
            if len(self._tracked) + len(new) > self._cwnd.shape[1]:
                self._grow_flows(len(self._tracked) + len(new))
            self._tracked.extend(new)
            self._acked.extend(_acked_reader(f) for f in new)
        now = self.sim.now
        self._t[k] = now
        self.net.port_levels(self._q[k], self._sent[k])
        cwnd, rate, ack, active = self._cwnd[k], self._rate[k], self._ack[k], self._active[k]
        for i, f in enumerate(self._tracked):
            cc = f.cc
            cwnd[i] = cc.cwnd_bytes
            rate[i] = cc.rate_bps
            ack[i] = self._acked[i](f)
            # a flow is active from its start to its last ACK
            active[i] = f.start_ps <= now and not (f.finished and f.end_ps <= now)
        self.n_samples = k + 1
        if self.sim.pending_events > 0:       # something still to simulate
            self._token = self.sim.schedule_at(now + self.interval_ps, self._sample)
        else:
            self._token = None

    def result(self) -> "TimeSeries":
        """The samples taken so far as a :class:`TimeSeries`."""
        n = self.n_samples
        nf = len(self._tracked)                 # flows seen by the last sample
        q, sent = self._q[:n], self._sent[:n]
        if self._keep is not None:
            ports = self._keep
        elif self.ports_mode == "busy":
            ports = np.flatnonzero(sent[-1] > self._sent0) if n else np.zeros(0, np.int64)
        else:
            ports = np.arange(q.shape[1], dtype=np.int64)
        sent_all = np.vstack([self._sent0[None, :], sent])[:, ports]
        t_all = np.concatenate([[self.t0_ps], self._t[:n]])
        dt = np.diff(t_all).astype(float)
        rate = self.port_rate_bps[ports].astype(float)
        with np.errstate(invalid="ignore", divide="ignore"):
            util = np.diff(sent_all, axis=0) * 8e12 / (dt[:, None] * rate[None, :])
        return TimeSeries(
            t_ps=self._t[:n].copy(), port_ids=np.asarray(ports, dtype=np.int64),
            port={"queue_bytes": q[:, ports].astype(float), "utilisation": util},
            flow_ids=np.array([f.flow_id for f in self._tracked], dtype=np.int64),
            flow={"cwnd_bytes": np.where(self._active[:n, :nf], self._cwnd[:n, :nf], np.nan),
                  "rate_bps": np.where(self._active[:n, :nf], self._rate[:n, :nf], np.nan),
                  "acked_bytes": self._ack[:n, :nf].astype(float)},
            interval_ps=self.interval_ps)


class TimeSeries:
    """Sampled series of one run: 2-D arrays ``(sample, object)`` per metric.

    Attributes
    ----------
    t_ps : numpy.ndarray
        Sample times (picoseconds).
    port_ids, flow_ids : numpy.ndarray
        Which port / flow each column is.
    port, flow : dict of str to numpy.ndarray
        ``port["queue_bytes"]``, ``port["utilisation"]``; ``flow["cwnd_bytes"]``,
        ``flow["rate_bps"]`` (NaN while the flow is not active), ``flow["acked_bytes"]``.
    interval_ps : int
        The sampling interval.
    """

    def __init__(self, t_ps, port_ids, port, flow_ids, flow, interval_ps):
        self.t_ps, self.port_ids, self.port = t_ps, port_ids, port
        self.flow_ids, self.flow, self.interval_ps = flow_ids, flow, interval_ps

    def __len__(self):
        return len(self.t_ps)

    def to_frame(self):
        """The long DataFrame: ``t_us, kind, id, metric, value``, one row per sample,
        object and metric (ports first, then flows; samples in time order)."""
        import pandas as pd
        t_us = self.t_ps / 1e6
        kinds, metrics = ["port", "flow"], list(PORT_METRICS) + list(FLOW_METRICS)
        cols = {"t_us": [], "kind": [], "id": [], "metric": [], "value": []}
        for k, (kind, ids, table) in enumerate((("port", self.port_ids, self.port),
                                                ("flow", self.flow_ids, self.flow))):
            for metric, arr in table.items():
                n, m = arr.shape
                if n * m == 0:
                    continue
                cols["t_us"].append(np.repeat(t_us, m))
                cols["kind"].append(np.full(n * m, k, dtype=np.int8))
                cols["id"].append(np.tile(ids, n))
                cols["metric"].append(np.full(n * m, metrics.index(metric), dtype=np.int8))
                cols["value"].append(arr.reshape(-1).astype(float))
        cat = lambda parts, dtype: np.concatenate(parts) if parts else np.zeros(0, dtype)  # noqa: E731
        return pd.DataFrame({
            "t_us": cat(cols["t_us"], float),
            "kind": pd.Categorical.from_codes(cat(cols["kind"], np.int8), categories=kinds),
            "id": cat(cols["id"], np.int64),
            "metric": pd.Categorical.from_codes(cat(cols["metric"], np.int8), categories=metrics),
            "value": cat(cols["value"], float)})

    def wide(self, kind: str, metric: str):
        """One metric as a wide DataFrame: index ``t_us``, one column per id."""
        import pandas as pd
        table, ids = (self.port, self.port_ids) if kind == "port" else (self.flow, self.flow_ids)
        if metric not in table:
            raise KeyError(f"metric {metric!r}; allowed for {kind}: {', '.join(table)}")
        return pd.DataFrame(table[metric], index=pd.Index(self.t_ps / 1e6, name="t_us"), columns=ids)


def wide(frame, kind: str, metric: str):
    """Pivot a long time-series DataFrame (``t_us, kind, id, metric, value``) to one
    metric, index ``t_us`` and one column per ``id``.

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"t_us": [1.0, 1.0, 2.0, 2.0], "kind": "port", "id": [0, 1, 0, 1],
    ...                    "metric": "queue_bytes", "value": [10.0, 0.0, 20.0, 5.0]})
    >>> wide(df, "port", "queue_bytes").to_dict()
    {0: {1.0: 10.0, 2.0: 20.0}, 1: {1.0: 0.0, 2.0: 5.0}}
    """
    sel = frame[(frame["kind"] == kind) & (frame["metric"] == metric)]
    out = sel.pivot_table(index="t_us", columns="id", values="value", aggfunc="first", observed=True)
    out.columns.name = None
    return out


def ports_from_spec(spec, port_link) -> "str | list[int]":
    """Resolve ``[outputs] timeseries_ports``: ``"all"``, ``"busy"`` or a list of port
    indices and/or ``[from_node, to_node]`` pairs (every port from one to the other)."""
    if isinstance(spec, str):
        return spec
    out = []
    for i, item in enumerate(spec):
        if isinstance(item, int) and not isinstance(item, bool):
            out.append(item)
        else:
            u, v = item
            found = [p for p, (a, b, _) in enumerate(port_link) if a == u and b == v]
            if not found:
                raise ValueError(f"outputs.timeseries_ports[{i}] = {list(item)!r}: no port from {u!r} to {v!r}")
            out.extend(found)
    return out
