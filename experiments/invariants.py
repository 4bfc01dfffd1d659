"""Invariants of a run, checked from counters (cheap) at the end of every run and,
in check mode (``[run] check = true`` / ``uesim run --check``), every ``check_every``
events while it runs.

What is checked (:class:`InvariantChecker`):

* **time** never goes backwards between checks;
* **packet conservation, network-wide**: every packet a NIC sent was delivered,
  dropped (a full or down port, no route, a lost frame) or is still in the network:
  ``sent == delivered + dropped + in_flight``;
* **per port**: occupancy never negative and never above what its buffer admits
  (``buffer_bytes``; with trimming, headers may use another 2 x buffer and data one
  more buffer over the limit, so 4 x), drops never above what was offered, and each
  dequeue-path port's queues agree with its counters (:meth:`Network.check_invariants`);
* **per switch, at the end of a run that drained**: packets in over its ingress wires
  (minus those lost on them) equal packets out (sent or dropped at its egress ports),
  up to packets with no route (``unroutable``);
* **per flow**: every transmission is a new packet or a counted retransmission
  (``sent = new + retransmits``), no more new packets than the flow has, its receiver
  got no more data packets than were sent and its sender no more ACKs/NACKs than the
  receiver sent, a finished flow sent all of them and ended after it started;
* **lossless**: if the network counts ``lossless_drops`` (PFC), it is 0.

A violation raises :class:`InvariantError` naming the port, node or flow and the
numbers.

Examples
--------
>>> from uesim.experiments import check_scenario, run_scenario
>>> sc = check_scenario({
...     "topology": {"generator": "leaf_spine", "n_leaves": 2, "n_spines": 2, "hosts_per_leaf": 2},
...     "traffic": {"pattern": "permutation", "size_bytes": 50_000}, "run": {"check": True}})
>>> res = run_scenario(sc)
>>> res.stats["invariant_checks"] >= 1
True
"""
from __future__ import annotations


class InvariantError(AssertionError):
    """A simulation invariant does not hold; the message names where and the numbers."""


def _flow_problems(objs, now: int, final: bool) -> list[str]:
    out = []
    for o in objs:
        fid = o.flow_id
        sent, retx = o.sent_packets, o.retx_packets
        if retx < 0 or retx > sent:
            out.append(f"flow {fid}: {retx} retransmissions out of {sent} packets sent")
            continue
        new = getattr(o, "new_packets", None)
        if new is not None and sent != new + retx:
            out.append(f"flow {fid}: sent {sent} packets but {new} new + {retx} retransmitted "
                       f"= {new + retx} (a transmission not accounted)")
        if new is None:
            new = sent - retx
        # a transport may send more distinct packets than its payload needs (RoCE's
        # htsim-compatible extra packet): it says so in n_send
        limit = getattr(o, "n_send", o.n_packets)
        if new > limit:
            out.append(f"flow {fid}: {new} new packets sent, the flow has only {limit}")
        rx = getattr(o, "rx_packets", None)
        if rx is not None and rx > sent:
            out.append(f"flow {fid}: its receiver got {rx} data packets, its sender sent only {sent}")
        acks_sent = getattr(o, "acks_sent", None)
        if acks_sent is not None and hasattr(o, "acks_received"):
            got = o.acks_received + getattr(o, "nacks_received", 0)
            made = acks_sent + getattr(o, "nacks_sent", 0)
            if got > made:
                out.append(f"flow {fid}: {got} ACKs/NACKs received, only {made} sent")
        if o.finished:
            if new < o.n_packets:
                out.append(f"flow {fid}: finished after sending {new} of its {o.n_packets} packets")
            if o.end_ps < o.start_ps or o.end_ps > now:
                out.append(f"flow {fid}: finished at {o.end_ps} ps, started {o.start_ps} ps, now {now} ps")
    return out


#: the counters :func:`failing_rows` reads (those a transport lacks are left out)
CHECK_FIELDS = ("sent_packets", "retx_packets", "new_packets", "n_send", "n_packets", "rx_packets",
                "acks_sent", "acks_received", "nacks_sent", "nacks_received", "finished", "end_ps",
                "start_ps")


def failing_rows(table, fields, now: int):
    """Which rows of ``table`` (one flow's counters per row, columns named by ``fields``
    as in :data:`CHECK_FIELDS`) break a per-flow invariant: a boolean mask, true exactly
    where :func:`_flow_problems` would report the flow, computed in numpy for a batch of
    retiring flows (the messages then come from ``_flow_problems`` on those alone)."""
    import numpy as np
    col = {k: table[:, i] for i, k in enumerate(fields)}
    zero = np.zeros(len(table), dtype=np.int64)
    sent, retx = col["sent_packets"], col["retx_packets"]
    bad = (retx < 0) | (retx > sent)
    new = col.get("new_packets")
    if new is not None:
        bad |= sent != new + retx
    else:
        new = sent - retx
    bad |= new > col.get("n_send", col["n_packets"])
    if "rx_packets" in col:
        bad |= col["rx_packets"] > sent
    if "acks_sent" in col and "acks_received" in col:
        got = col["acks_received"] + col.get("nacks_received", zero)
        bad |= got > col["acks_sent"] + col.get("nacks_sent", zero)
    end, fin = col["end_ps"], col["finished"] != 0
    bad |= fin & ((new < col["n_packets"]) | (end < col["start_ps"]) | (end > now))
    return bad


def check_flow_finished(flow, now: int) -> None:
    """Raise :class:`InvariantError` if a flow about to be retired breaks a per-flow
    invariant (checked now: a retired flow is out of the checker's reach)."""
    problems = _flow_problems([flow], now, True)
    if problems:
        raise InvariantError(f"at {now} ps: {problems[0]}")


def network_problems(net, *, trimming: bool = False, drained: bool = False, port_names=None) -> list[str]:
    """Violated network invariants (a list of messages, empty if all hold).

    Parameters
    ----------
    net : Network
    trimming : bool
        Ports trim (their header class may exceed ``buffer_bytes``).
    drained : bool
        No event is pending: nothing is on a wire or in a queue, so per-switch
        conservation must hold exactly.
    port_names : list of (u, v, link), optional
        To name ports in messages.
    """
    import numpy as np
    out = list(net.check_invariants())
    name = (lambda p: f"port {p} ({port_names[p][0]}->{port_names[p][1]})") if port_names else (lambda p: f"port {p}")
    # PFC control frames are made by switches, not sent by endpoints: leave them out
    live = net.live_packets - getattr(net, "ctrl_live", 0)
    if net.sent != net.delivered + net.dropped + live:
        out.append(f"network: sent {net.sent} packets != delivered {net.delivered} + dropped "
                   f"{net.dropped} + in flight {live} (= {net.delivered + net.dropped + live})")
    lossless = getattr(net, "lossless_drops", 0)
    if lossless:
        out.append(f"network: {lossless} drops in lossless classes (must be 0)")
    c = net.port_counters()
    lost = net.port_lost_counts()
    limit = c["buffer_bytes"] * (4 if trimming else 1)
    if getattr(net, "pfc_mode", 0):
        # lossless fabric: a port may hold more than its own share (shared buffer, headroom);
        # the bound is that no lossless packet overflowed XOFF + headroom
        # (check_invariants above reports lossless_overflow)
        limit = np.full_like(c["max_queue_bytes"], np.iinfo(np.int64).max)
    for p in np.flatnonzero(c["max_queue_bytes"] > limit):
        out.append(f"{name(p)}: queue reached {c['max_queue_bytes'][p]} B, above its limit {limit[p]} B")
    for p in np.flatnonzero((c["queued_bytes"] < 0) | (c["drops"] < 0) | (c["tx_packets"] < 0)):
        out.append(f"{name(p)}: negative counter (queued {c['queued_bytes'][p]} B, "
                   f"drops {c['drops'][p]}, tx {c['tx_packets'][p]})")
    port_drops = int(c["drops"].sum())
    llr_lost = getattr(net, "frames_lost", 0)       # corrupted frames with link-level retry off
    if port_drops + int(lost.sum()) + llr_lost + net.unroutable != net.dropped:
        out.append(f"network: dropped {net.dropped} != port drops {port_drops} + lost on wires "
                   f"{int(lost.sum())} + corrupted {llr_lost} + unroutable {net.unroutable}")
    if drained and live == 0:
        n = net.n_nodes
        arrivals = np.bincount(c["peer"], weights=c["tx_packets"] - lost, minlength=n)
        departures = np.bincount(c["node"], weights=c["tx_packets"] + c["drops"], minlength=n)
        diff = arrivals - departures
        for node in range(n):
            if net.host_of_node(node) < 0 and diff[node] < 0:
                out.append(f"node {node}: {int(departures[node])} packets out of its ports but only "
                           f"{int(arrivals[node])} came in")
        switch_unroutable = sum(int(diff[v]) for v in range(n) if net.host_of_node(v) < 0)
        if switch_unroutable > net.unroutable + llr_lost:
            out.append(f"network: switches lost {switch_unroutable} packets between ingress and egress, "
                       f"more than the {net.unroutable} unroutable and {llr_lost} corrupted")
    return out


class InvariantChecker:
    """Checks a running simulation; use as the ``progress`` callback of
    :meth:`Simulator.run` (check mode) and call :meth:`final` at the end.

    Parameters
    ----------
    built : BuiltNetwork
    objs : list
        The transport flow objects.
    trimming : bool
    inner : callable, optional
        Another progress callback to call too.
    """

    def __init__(self, built, objs, *, trimming: bool = False, inner=None):
        self.built, self.objs, self.trimming, self.inner = built, objs, trimming, inner
        self.last_now = -1
        self.checks = 0
        self._inner_at = 0

    def check(self, drained: bool = False) -> None:
        net, sim = self.built.net, self.built.sim
        now = sim.now
        problems = []
        if now < self.last_now:
            problems.append(f"time went backwards: {now} ps after {self.last_now} ps")
        self.last_now = now
        problems += network_problems(net, trimming=self.trimming, drained=drained,
                                     port_names=self.built.port_link)
        problems += _flow_problems(self.objs, now, drained)
        self.checks += 1
        if problems:
            more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
            raise InvariantError(f"at {now} ps: {problems[0]}{more}")

    def __call__(self, now_ps, events):
        self.check()
        # the caller's progress callback keeps its pace (about every 2**20 events)
        if self.inner is not None and events >> 20 != self._inner_at:
            self._inner_at = events >> 20
            self.inner(now_ps, events)

    def final(self) -> None:
        """The end-of-run check (exact per-switch conservation if nothing is pending)."""
        self.check(drained=self.built.sim.pending_events == 0)
