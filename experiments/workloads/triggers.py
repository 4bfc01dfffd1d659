"""htsim triggers on uesim flows: start flows when other flows finish.

Semantics (htsim ``trigger.cpp``/``trigger.h``, uet-htsim 40ccb05):

* A flow line's ``trigger K`` makes the flow a *target* of trigger ``K``; targets are kept
  in file order. Such a flow does not start at a time; it starts when ``K`` fires.
* ``send_done_trigger K`` activates ``K`` once, when that flow's sender has every ACK
  (the flow object's ``on_finish``); ``recv_done_trigger K`` activates ``K`` once, when
  its receiver has every byte (``on_rx_done``).
* ``oneshot``: the first activation starts every target. htsim aborts on a second
  activation; here it is ignored and recorded in :attr:`TriggerExecutor.problems`.
* ``multishot``: activation *i* starts target *i* (file order); activations beyond the
  last target do nothing (htsim prints "Noone left to activate").
* ``barrier`` with ``count N``: the N-th activation starts every target. htsim aborts on
  more than N activations; here they are ignored and recorded in ``problems``.
* A target starts at the simulated time of the activation (htsim schedules it "now").

Differences from htsim: ``htsim_uec`` sets the receiver's end trigger but never activates
it (``UecSink`` has no call to it), so there a ``recv_done_trigger`` never fires; here it
fires when the receiver has every byte, as the format intends (and as htsim's other
transports do).
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class TriggerState:
    """One trigger while a run goes on."""

    id: int
    kind: str
    count: int
    targets: list = field(default_factory=list)      # flow indices, file order
    activations: int = 0
    started: int = 0                                  # targets started so far
    fired_at_ps: list = field(default_factory=list)  # times at which it started targets


class TriggerExecutor:
    """Wires :class:`TriggerState` objects to flow objects; see :func:`wire_triggers`."""

    def __init__(self, flow_objs, flows, triggers, net, sim, attach=None):
        if len(flow_objs) != len(flows):
            raise ValueError(f"{len(flow_objs)} flow objects for {len(flows)} flows")
        self.flow_objs = list(flow_objs)
        self.net = net
        self.sim = sim
        self.attach = attach if attach is not None else (lambda obj: obj.attach(net))
        self.triggers: dict[int, TriggerState] = {}
        self.problems: list[str] = []
        self.started: list[tuple[int, int]] = []     # (flow index, start time ps) of triggered starts
        for t in triggers:
            if t["kind"] not in ("oneshot", "multishot", "barrier"):
                raise ValueError(f"trigger {t['id']}: kind {t['kind']!r}; allowed: oneshot, multishot, barrier")
            if t["kind"] == "barrier" and t.get("count", 0) < 1:
                raise ValueError(f"trigger {t['id']}: a barrier needs count >= 1")
            self.triggers[t["id"]] = TriggerState(t["id"], t["kind"], int(t.get("count", 0)))
        for i, f in enumerate(flows):
            for key in ("start_trigger", "send_done_trigger", "recv_done_trigger"):
                k = f.get(key)
                if k is not None and k not in self.triggers:
                    raise ValueError(f"flow {f.get('cm_id', i)}: {key} {k} is not a defined trigger")
            if f.get("start_trigger") is not None:
                self.triggers[f["start_trigger"]].targets.append(i)
        for i, f in enumerate(flows):
            obj = self.flow_objs[i]
            if f.get("send_done_trigger") is not None:
                self._chain(obj, "on_finish", f["send_done_trigger"])
            if f.get("recv_done_trigger") is not None:
                self._chain(obj, "on_rx_done", f["recv_done_trigger"])

    def _chain(self, obj, hook: str, trigger_id: int) -> None:
        previous = getattr(obj, hook, None)
        done = []

        def callback(flow, _previous=previous, _done=done):
            if _previous is not None:
                _previous(flow)
            if not _done:                 # a flow activates its trigger once
                _done.append(True)
                self.activate(trigger_id)
        try:
            setattr(obj, hook, callback)
        except AttributeError:
            raise TypeError(f"{type(obj).__name__} has no writable {hook!r}: this transport cannot "
                            f"drive {'recv_done_trigger' if hook == 'on_rx_done' else 'send_done_trigger'}") from None

    def _start(self, index: int) -> None:
        obj = self.flow_objs[index]
        now = self.sim.now
        try:
            obj.start_ps = now
        except AttributeError:
            if getattr(obj, "start_ps", None) != now:
                raise TypeError(f"{type(obj).__name__}.start_ps is read-only: a triggered flow must be "
                                f"able to take its start time when the trigger fires") from None
        self.attach(obj)
        self.started.append((index, now))

    def activate(self, trigger_id: int) -> None:
        """Activate trigger ``trigger_id`` once (what a finishing flow does)."""
        t = self.triggers[trigger_id]
        t.activations += 1
        if t.kind == "multishot":
            if t.started < len(t.targets):
                t.fired_at_ps.append(self.sim.now)
                t.started += 1
                self._start(t.targets[t.started - 1])
            return
        needed = 1 if t.kind == "oneshot" else t.count
        if t.activations < needed:
            return
        if t.activations > needed:
            self.problems.append(f"trigger {t.id} ({t.kind}) activated {t.activations} times, "
                                 f"{needed} expected; htsim would abort; ignored")
            return
        t.fired_at_ps.append(self.sim.now)
        for index in t.targets:
            t.started += 1
            self._start(index)

    def unstarted(self) -> list[int]:
        """Indices of triggered flows whose trigger never started them."""
        done = {i for i, _ in self.started}
        return [i for t in self.triggers.values() for i in t.targets if i not in done]


def wire_triggers(flow_objs, flows, triggers, net, sim, attach=None) -> TriggerExecutor:
    """Make ``flow_objs`` follow the ``.cm`` triggers.

    Parameters
    ----------
    flow_objs : list
        Transport flow objects in the order of ``flows``: each has ``attach(net)`` (schedules
        its start at ``start_ps``), a writable ``start_ps``, and writable ``on_finish`` /
        ``on_rx_done`` callbacks (called with the flow). Flows with a ``start_trigger``
        must **not** be attached by the caller; the executor attaches each when its
        trigger fires, with ``start_ps`` set to that time.
    flows : list of dict
        The flow dicts of :func:`uesim.experiments.workloads.cm.read_cm` (keys
        ``start_trigger``, ``send_done_trigger``, ``recv_done_trigger``).
    triggers : list of dict
        ``{"id", "kind", "count"}`` as read from the ``.cm`` file.
    net, sim
        The network (passed to ``attach``) and the simulator (its ``now`` is the start
        time of a triggered flow).
    attach : callable, optional
        ``attach(obj)`` starts a triggered flow (after its ``start_ps`` is set); default
        ``obj.attach(net)``. Pass e.g. ``lambda o: o.attach(net, base_rtt_ps=rtt,
        trimming=True)`` when attaching needs more arguments.

    Returns
    -------
    TriggerExecutor
        With ``started``, ``problems``, ``triggers`` and ``unstarted()`` for reporting.

    Examples
    --------
    >>> class Sim: now = 0
    >>> class F:
    ...     def __init__(self): self.start_ps, self.on_finish, self.on_rx_done = 0, None, None
    ...     def attach(self, net): net.append(self)
    >>> objs, net, sim = [F(), F()], [], Sim()
    >>> flows = [{"send_done_trigger": 1}, {"start_trigger": 1}]
    >>> ex = wire_triggers(objs, flows, [{"id": 1, "kind": "oneshot", "count": 0}], net, sim)
    >>> sim.now = 5; objs[0].on_finish(objs[0])
    >>> net == [objs[1]], objs[1].start_ps
    (True, 5)
    """
    return TriggerExecutor(flow_objs, flows, triggers, net, sim, attach)
