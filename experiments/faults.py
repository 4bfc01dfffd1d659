"""A scenario's ``[faults]`` table applied to its topology graph.

Keys (all optional; an empty table changes nothing):

``degrade_links`` : int
    How many switch-to-switch links to run at ``degrade_factor`` of their rate, picked at
    random (seeded by the scenario seed) among the scale-out switch-switch edges.
``degrade_edges`` : list of [u, v]
    Named links to degrade instead (e.g. the links htsim's ``-failed N`` picks, which are
    not random; see ``uesim htsim``). Give at most one of ``degrade_links`` and
    ``degrade_edges``.
``degrade_factor`` : float in (0, 1]
    The fraction of the rate a degraded link keeps, default 0.25 (htsim's
    ``_failed_link_ratio``).
"""
from __future__ import annotations

from uesim.experiments.schema import ScenarioError

DEFAULT_DEGRADE_FACTOR = 0.25


def apply_faults(G, faults: dict | None, seed: int):
    """Return ``G`` with ``faults`` applied (a copy if anything changes).

    Parameters
    ----------
    G : networkx.Graph
    faults : dict or None
        The checked ``[faults]`` table.
    seed : int
        Seed of the random picks (pass a stream derived from the scenario seed).

    Returns
    -------
    networkx.Graph

    Raises
    ------
    ScenarioError
        Naming the key when the table asks for something the graph does not allow.

    Examples
    --------
    >>> from uesim.topologies import fat_tree
    >>> H = apply_faults(fat_tree(4), {"degrade_links": 3}, seed=1)
    >>> sorted(d["rate_bps"] for *_, d in H.edges(data=True) if "nominal_rate_bps" in d)
    [25000000000, 25000000000, 25000000000]
    >>> H = apply_faults(fat_tree(4), {"degrade_edges": [["agg0", "core0"]], "degrade_factor": 0.5}, seed=0)
    >>> H.edges["agg0", "core0"]["rate_bps"]
    50000000000
    """
    if not faults:
        return G
    from uesim.topologies import degrade_links
    count = faults.get("degrade_links")
    edges = faults.get("degrade_edges")
    factor = faults.get("degrade_factor", DEFAULT_DEGRADE_FACTOR)
    if count is not None and edges is not None:
        raise ScenarioError("faults: give at most one of 'degrade_links' (a random count) and "
                            "'degrade_edges' (named links)")
    if count is None and edges is None:
        return G
    if count == 0 or edges == []:
        return G
    try:
        if edges is not None:
            return degrade_links(G, factor, edges=[tuple(e) for e in edges])
        return degrade_links(G, factor, count=count, seed=seed)
    except ValueError as exc:
        key = "degrade_edges" if edges is not None else "degrade_links"
        raise ScenarioError(f"faults.{key}: {exc}") from None


# ---------------------------------------------------------------- mid-run faults
ACTIONS = {
    # action: (needs, optional keys)
    "link_down": ("link", ()),
    "link_up": ("link", ()),
    "degrade": ("link", ("factor",)),
    "restore": ("link", ()),
    "loss": ("link", ("prob",)),
    "switch_down": ("switch", ()),
    "switch_up": ("switch", ()),
}
EVENT_KEYS = ("at_ps", "action", "link", "switch", "factor", "prob")


def check_events(events) -> list[dict]:
    """Check the ``faults.events`` array (types and keys; names are checked against the
    topology when the run builds it); return it with defaults filled in.

    Examples
    --------
    >>> check_events([{"at_ps": 5, "action": "link_down", "link": ["a", "b"]}])[0]["action"]
    'link_down'
    >>> check_events([{"at_ps": 5, "action": "explode"}])
    Traceback (most recent call last):
    ...
    uesim.experiments.schema.ScenarioError: faults.events[0].action = 'explode': unknown; allowed: degrade, link_down, link_up, loss, restore, switch_down, switch_up
    """
    if not isinstance(events, list):
        raise ScenarioError(f"faults.events = {events!r}: must be an array of tables")
    out = []
    for i, ev in enumerate(events):
        where = f"faults.events[{i}]"
        if not isinstance(ev, dict):
            raise ScenarioError(f"{where} = {ev!r}: must be a table with at_ps and action")
        for key in ev:
            if key not in EVENT_KEYS:
                raise ScenarioError(f"unknown key '{where}.{key}'; allowed: {', '.join(EVENT_KEYS)}")
        for key in ("at_ps", "action"):
            if key not in ev:
                raise ScenarioError(f"missing key '{where}.{key}'")
        at = ev["at_ps"]
        if isinstance(at, bool) or not isinstance(at, int) or at < 0:
            raise ScenarioError(f"{where}.at_ps = {at!r}: must be an integer >= 0 (picoseconds)")
        action = ev["action"]
        if not isinstance(action, str) or action not in ACTIONS:
            raise ScenarioError(f"{where}.action = {action!r}: unknown; allowed: {', '.join(sorted(ACTIONS))}")
        needs, optional = ACTIONS[action]
        for key in ("link", "switch", "factor", "prob"):
            if key in ev and key != needs and key not in optional:
                raise ScenarioError(f"{where}.{key}: not used by action {action!r} "
                                    f"(it takes {', '.join([needs, *optional])})")
        if needs not in ev:
            raise ScenarioError(f"missing key '{where}.{needs}' (needed by action {action!r})")
        ev = dict(ev)
        if needs == "link":
            link = ev["link"]
            if (not isinstance(link, list) or len(link) != 2
                    or not all(isinstance(x, (str, int)) and not isinstance(x, bool) for x in link)):
                raise ScenarioError(f"{where}.link = {link!r}: must be [u, v], two node names")
        elif not isinstance(ev["switch"], (str, int)) or isinstance(ev["switch"], bool):
            raise ScenarioError(f"{where}.switch = {ev['switch']!r}: must be a node name")
        if action == "degrade":
            f = ev.setdefault("factor", DEFAULT_DEGRADE_FACTOR)
            if isinstance(f, bool) or not isinstance(f, (int, float)) or not 0 < f <= 1:
                raise ScenarioError(f"{where}.factor = {f!r}: must be a number in (0, 1]")
        if action == "loss":
            if "prob" not in ev:
                raise ScenarioError(f"missing key '{where}.prob' (needed by action 'loss')")
            p = ev["prob"]
            if isinstance(p, bool) or not isinstance(p, (int, float)) or not 0 <= p <= 1:
                raise ScenarioError(f"{where}.prob = {p!r}: must be a number in [0, 1]")
        out.append(ev)
    return out


def check_event_targets(G, events) -> None:
    """Raise :class:`ScenarioError` naming the first event whose link or switch is not
    in the graph ``G`` (``uesim check`` and the run both check this)."""
    for i, ev in enumerate(events):
        if "link" in ev:
            u, v = ev["link"]
            if not G.has_edge(u, v):
                raise ScenarioError(f"faults.events[{i}].link = {[u, v]!r}: no such link in the topology")
        elif ev["switch"] not in G or G.nodes[ev["switch"]].get("kind") != "switch":
            raise ScenarioError(f"faults.events[{i}].switch = {ev['switch']!r}: no such switch in the topology")


class FaultInjector:
    """Applies ``faults.events`` to a built network while it runs.

    Every event is a :meth:`Simulator.schedule_at` callback (Python, never per packet).
    A link that goes down stops both directions: its ports drop what is sent to them
    and every frame still queued or on the wire is lost (the port's loss probability
    is 1 while down).  With ``reconverge_ps`` the forwarding tables are recomputed
    without the failed links that long after each change and installed with
    :meth:`Network.set_forwarding`; without it routes never change (the failed path
    stays a black hole that only the transport's load balancer can avoid).

    Parameters
    ----------
    built : BuiltNetwork
    events : list of dict
        Checked by :func:`check_events`.
    seed : int
        Seeds the per-link loss streams (each port gets its own, derived from it).
    reconverge_ps : int or None
    """

    def __init__(self, built, events, seed: int, reconverge_ps=None):
        import numpy as np
        self.built, self.net, self.sim = built, built.net, built.sim
        self.seed = seed
        self.reconverge_ps = reconverge_ps
        self.nominal_rate = [self.net.port_state(p)[1] for p in range(self.net.n_ports)]
        self.down = np.zeros(self.net.n_ports, dtype=bool)     # per port
        self.loss = {}                                          # port -> set probability
        self.held: dict = {}                                    # port -> what holds it down
        self._loss_sets: dict = {}                              # port -> loss (re)settings
        self.log: list[tuple] = []                              # (time_ps, action, target)
        self.reconvergences = 0
        self._pending_reconverge = None
        self.events = []
        for i, ev in enumerate(events):
            ports = self._ports(i, ev)
            self.events.append((ev, ports))

    def _ports(self, i, ev):
        b = self.built
        if "link" in ev:
            u, v = ev["link"]
            ports = b.ports_between(u, v) + b.ports_between(v, u)
            if not ports:
                raise ScenarioError(f"faults.events[{i}].link = {[u, v]!r}: no such link in the topology")
            return ports
        s = ev["switch"]
        if s not in b.node_index or b.graph.nodes[s].get("kind") != "switch":
            raise ScenarioError(f"faults.events[{i}].switch = {s!r}: no such switch in the topology")
        return [p for p, (a, c, _) in enumerate(b.port_link) if a == s or c == s]

    def schedule(self) -> None:
        for ev, ports in self.events:
            self.sim.schedule_at(ev["at_ps"], self.apply, ev, ports)

    def apply(self, ev, ports) -> None:
        action = ev["action"]
        net = self.net
        target = ev.get("link", ev.get("switch"))
        self.log.append((self.sim.now, action, target))
        if action in ("link_down", "switch_down", "link_up", "switch_up"):
            # a port is up only while nothing holds it down: its link, and the switches at
            # either end (a link_up does not revive a link of a switch that is still down)
            reason = "link" if action.startswith("link") else ("switch", ev["switch"])
            for p in ports:
                held = self.held.setdefault(p, set())
                if action.endswith("_up"):
                    held.discard(reason)
                else:
                    held.add(reason)
                up = not held
                if up == (not self.down[p]):
                    continue
                net.set_port_up(p, up)
                self.down[p] = not up
                # while down, frames already queued or on the wire are lost
                net.set_port_loss(p, self.loss.get(p, 0.0) if up else 1.0, self._port_seed(p))
            if self.reconverge_ps is not None:
                if self._pending_reconverge is not None:
                    self.sim.cancel(self._pending_reconverge)
                self._pending_reconverge = self.sim.schedule_in(self.reconverge_ps, self.reconverge)
        elif action == "degrade":
            for p in ports:
                net.set_port_rate(p, max(1, int(self.nominal_rate[p] * ev["factor"])))
        elif action == "restore":
            for p in ports:
                net.set_port_rate(p, self.nominal_rate[p])
        elif action == "loss":
            for p in ports:
                self.loss[p] = float(ev["prob"])
                if not self.down[p]:
                    net.set_port_loss(p, float(ev["prob"]), self._port_seed(p))

    def _port_seed(self, port: int) -> int:
        # a fresh stream each time the port's loss is (re)set, so a flapping link does
        # not replay the same losses; still a pure function of the seed and the history
        from uesim.experiments.run import derive_seed
        self._loss_sets[port] = self._loss_sets.get(port, 0) + 1
        return derive_seed(self.seed, 7, port, self._loss_sets[port])

    def reconverge(self) -> None:
        """Install forwarding tables computed without the ports that are down now."""
        from uesim.fabric.routing import forwarding_tables
        import numpy as np
        b = self.built
        self._pending_reconverge = None
        is_host = np.zeros(len(b.node_names), dtype=bool)
        is_host[[b.node_index[n] for n in b.host_names]] = True
        tables = forwarding_tables(b.graph, b.node_names, b.node_index, is_host, b.host_names,
                                   b.port_link, exclude=self.down)
        self.net.set_forwarding(*tables)
        self.reconvergences += 1
        self.log.append((self.sim.now, "reconverge", int(self.down.sum())))


class Watchdog:
    """Stops a run whose unfinished flows have made no progress for ``stall_ps``.

    Progress is a flow finishing or getting data acknowledged (``cum_ack``,
    ``acked_packets``; for a transport without ACKs, new data received): not mere
    deliveries, since a sender whose ACKs die on a failed link retransmits data that
    keeps arriving as duplicates.  A flow that can never finish (its destination cut
    off, or a transport that retries forever) would otherwise keep the simulation going;
    the watchdog ends it and the run reports those flows as stalled.
    It checks every ``stall_ps / 4`` of simulated time (a Python callback, not per packet)
    and stops rescheduling itself once every flow has finished.
    """

    def __init__(self, sim, net, objs, stall_ps: int):
        self.sim, self.net, self.objs = sim, net, objs
        self.stall_ps = stall_ps
        self.step = max(1, stall_ps // 4)
        self.last_progress = -1
        self.last_progress_ps = 0
        self.fired = False

    def start(self) -> None:
        self.sim.schedule_in(self.step, self.tick)

    def tick(self) -> None:
        if all(o.finished for o in self.objs):
            return
        # flows that gave up (aborted) may leave timers running (a rate controller's, say)
        # that would keep the run alive forever: keep watching until nothing progresses
        progress = self.progress()
        if progress != self.last_progress:
            self.last_progress = progress
            self.last_progress_ps = self.sim.now
        elif self.sim.now - self.last_progress_ps >= self.stall_ps:
            self.fired = True
            self.sim.stop()
            return
        self.sim.schedule_in(self.step, self.tick)


    def progress(self) -> int:
        """A count that grows whenever some flow makes progress."""
        total = 0
        fallback = False
        for o in self.objs:
            total += 1 if o.finished else 0
            for name in ("cum_ack", "acked_packets"):
                value = getattr(o, name, None)
                if value is not None:
                    total += value
                    break
            else:
                rx = getattr(o, "rx_packets", None)
                if rx is None:
                    fallback = True
                else:
                    total += rx - getattr(o, "dup_packets", 0)
        return total + (self.net.delivered if fallback else 0)


def start_faults(sc: dict, built, objs, rto_ps: int):
    """Schedule the scenario's ``faults.events`` and, with them, a stall watchdog.

    Returns ``(injector, watchdog)``, both None when there are no events.
    """
    events = (sc.get("faults") or {}).get("events")
    if not events:
        return None, None
    from uesim.experiments.run import derive_seed
    f = sc["faults"]
    injector = FaultInjector(built, events, derive_seed(sc["seed"], 5), f.get("reconverge_ps"))
    injector.schedule()
    stall = f.get("stall_ps") or max(50 * rto_ps, 1_000_000_000)
    watchdog = Watchdog(built.sim, built.net, objs, stall)
    watchdog.start()
    return injector, watchdog
