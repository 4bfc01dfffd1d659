# cython: language_level=3
"""Hook points for policy, kept apart from transport mechanics.

A transport owns sequence numbers, ACKs, retransmission and timers; it asks a
:class:`CongestionControl` how many bytes may be in flight (``cwnd_bytes``) and how fast
to send (``rate_bps``), and tells it what happened: ``on_start``, ``on_ack``, ``on_nack``
(a trimmed or lost packet), ``on_timeout``, ``on_cnp`` and ``on_timer`` (timers the CC
armed itself).  Every hook gets the flow's :class:`CCContext`: its base RTT, BDP, link
rate, MTU and MSS, the bytes in flight, and the numbers of the event (bytes acked on the
wire and in payload, the RTT sample, the ECN echo, ...).  A compiled CC reads them as C
fields; a Python subclass reads the same names as attributes.

A :class:`LoadBalancer` chooses the entropy value (path) of each packet and hears what
happened to packets sent on it (``on_feedback``).

Both are Cython classes with ``cpdef`` hooks, so a Python subclass can override any hook
(at Python speed), while the compiled implementations cost a C call.

Examples
--------
A congestion control written in Python:

>>> from uesim.protocols import CongestionControl, CCContext
>>> class HalveOnEcn(CongestionControl):
...     def on_ack(self, ctx):
...         if ctx.ecn:
...             self.cwnd_bytes = max(self.mtu_bytes, self.cwnd_bytes // 2)
>>> cc = HalveOnEcn(cwnd_bytes=65536, mtu_bytes=4096)
>>> ctx = CCContext.for_test(ecn=True)
>>> cc.on_ack(ctx); cc.cwnd_bytes
32768
"""
import math
import numbers

from libc.stdlib cimport free, malloc

from uesim.fabric.engine cimport push_event


cdef class CCContext:
    """The flow state and event numbers a congestion-control hook reads.

    A transport owns one per flow and refreshes it before each hook; all fields are
    read-only to the CC.  Times in ps, sizes in bytes, rates in bit/s.

    Attributes
    ----------
    flow_id : int
    base_rtt_ps : int
        Unloaded network round-trip time (a full data packet out, an ACK back).
    bdp_bytes : int
        ``base_rtt_ps x link_rate_bps / 8``.
    link_rate_bps : int
        The sender's NIC rate.
    mtu_bytes, mss_bytes : int
        Full packet on the wire, and its payload.
    size_bytes : int
        Payload of the whole flow.
    trimming : bool
        Whether the fabric trims packets (UET) instead of dropping them.
    now_ps, inflight_bytes, backlog_bytes : int
        Time, wire bytes in flight, wire bytes not yet sent.
    acked_bytes, acked_payload : int
        Newly acknowledged wire and payload bytes (``on_ack``).
    rtt_ps : int
        The RTT sample the ACK gave, or -1 if it gave none (a retransmitted packet).
    ecn : bool
        The ACK or NACK echoes a CE mark.
    nacked_bytes : int
        Wire size of the packet a NACK reports (``on_nack``).
    last_hop : bool
        The NACKed packet was trimmed at the last switch (the receiver's downlink).
    lost_bytes : int
        Wire bytes declared lost (``on_timeout``).
    flow : object
        The transport flow itself (``UetFlow``, ``WindowFlow``, ``RoceFlow``, ...), for
        reading what the fields above do not carry; a CC must not change it.  None on a
        context from :meth:`for_test`.

    Methods ``arm_timer(at_ps, kind=0)``, ``cancel_timer(kind=0)`` and ``cancel_timers()``
    schedule and forget calls of the CC's ``on_timer(ctx, kind)`` (kinds 0..7).
    """

    cdef void setup(self, Simulator sim, int32_t handler_id, int32_t flow_id, int64_t base_rtt_ps,
                    int64_t link_rate_bps, int64_t mtu_bytes, int64_t mss_bytes,
                    int64_t size_bytes, bint trimming) noexcept:
        self.sim = sim
        self.handler_id = handler_id
        self.flow_id = flow_id
        self.base_rtt_ps = base_rtt_ps
        self.link_rate_bps = link_rate_bps
        self.bdp_bytes = (base_rtt_ps * (link_rate_bps // 1000)) // 8_000_000_000
        self.mtu_bytes = mtu_bytes
        self.mss_bytes = mss_bytes
        self.size_bytes = size_bytes
        self.trimming = trimming
        self.rtt_ps = -1

    cdef inline void clear_event(self) noexcept:
        self.acked_bytes = 0
        self.acked_payload = 0
        self.rtt_ps = -1
        self.ecn = False
        self.nacked_bytes = 0
        self.last_hop = False
        self.lost_bytes = 0

    @staticmethod
    def for_test(*, int64_t base_rtt_ps=12_000_000, int64_t link_rate_bps=100_000_000_000,
                 int64_t mtu_bytes=4096, int64_t mss_bytes=4032, int64_t size_bytes=1 << 20,
                 bint trimming=True, int64_t now_ps=0, int64_t inflight_bytes=0,
                 int64_t backlog_bytes=0, int64_t acked_bytes=0, int64_t acked_payload=0,
                 int64_t rtt_ps=-1, bint ecn=False, int64_t nacked_bytes=0, bint last_hop=False,
                 int64_t lost_bytes=0):
        """A context with the given numbers and no simulator, for testing a CC's math.

        Timers cannot be armed on it.
        """
        cdef CCContext c = CCContext()
        c.setup(None, -1, 0, base_rtt_ps, link_rate_bps, mtu_bytes, mss_bytes, size_bytes,
                trimming)
        c.set_event(now_ps=now_ps, inflight_bytes=inflight_bytes, backlog_bytes=backlog_bytes,
                    acked_bytes=acked_bytes, acked_payload=acked_payload, rtt_ps=rtt_ps, ecn=ecn,
                    nacked_bytes=nacked_bytes, last_hop=last_hop, lost_bytes=lost_bytes)
        return c

    def set_event(self, *, now_ps=None, inflight_bytes=None, backlog_bytes=None,
                  acked_bytes=None, acked_payload=None, rtt_ps=None, ecn=None,
                  nacked_bytes=None, last_hop=None, lost_bytes=None):
        """Set event numbers (tests and Python-driven experiments); None keeps a value."""
        if now_ps is not None: self.now_ps = now_ps
        if inflight_bytes is not None: self.inflight_bytes = inflight_bytes
        if backlog_bytes is not None: self.backlog_bytes = backlog_bytes
        if acked_bytes is not None: self.acked_bytes = acked_bytes
        if acked_payload is not None: self.acked_payload = acked_payload
        if rtt_ps is not None: self.rtt_ps = rtt_ps
        if ecn is not None: self.ecn = ecn
        if nacked_bytes is not None: self.nacked_bytes = nacked_bytes
        if last_hop is not None: self.last_hop = last_hop
        if lost_bytes is not None: self.lost_bytes = lost_bytes
        return self

    cpdef void arm_timer(self, int64_t at_ps, int kind=0) except *:
        """Call the CC's ``on_timer(ctx, kind)`` at ``at_ps``; re-arming a kind replaces it."""
        if not (0 <= kind < CC_TIMER_KINDS):
            raise ValueError(f"timer kind must be in 0..{CC_TIMER_KINDS - 1}, got {kind}")
        if self.sim is None:
            raise RuntimeError("this context has no simulator (CCContext.for_test)")
        self.timer_gen[kind] += 1
        push_event(self.sim, at_ps if at_ps > self.sim.now else self.sim.now, self.handler_id,
                   EV_CC_TIMER + kind, self.timer_gen[kind])

    cpdef void cancel_timer(self, int kind=0) except *:
        """Forget the pending timer of ``kind`` (lazily: its event is ignored)."""
        if not (0 <= kind < CC_TIMER_KINDS):
            raise ValueError(f"timer kind must be in 0..{CC_TIMER_KINDS - 1}, got {kind}")
        self.timer_gen[kind] += 1

    cpdef void cancel_timers(self) except *:
        """Forget every pending timer (a flow that gave up must not keep its CC ticking)."""
        cdef int k
        for k in range(CC_TIMER_KINDS):
            self.timer_gen[k] += 1

    cdef bint timer_is_current(self, int kind, int64_t gen) noexcept:
        return 0 <= kind < CC_TIMER_KINDS and self.timer_gen[kind] == gen


def _whole(str name, value):
    """``value`` as an int64 (a finite float rounded down), or a TypeError/ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number, got {value!r}")
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    v = math.floor(value)
    if not -(1 << 63) <= v < (1 << 63):
        raise ValueError(f"{name} must be < 2**63, got {value!r}")
    return v


def _fresh(CongestionControl cc):
    """``cc.fresh()`` (compiled only): for the tests."""
    return cc.fresh()


cdef class CongestionControl:
    """Constant window: the base class; every hook is a no-op.

    Subclasses set ``cwnd_bytes`` (a window of wire bytes in flight), ``rate_bps`` (a
    pacing rate; 0 means line rate) or both, from the hooks.

    Parameters
    ----------
    cwnd_bytes : int, optional
        Bytes allowed in flight (on-the-wire size of unacknowledged packets), > 0.
        Default (None): 16 full packets, ``16 * mtu_bytes`` (a subclass without its own
        ``__init__`` starts there; ``self.cwnd_bytes = ctx.bdp_bytes`` in ``on_start``
        starts it at one BDP instead).
    mtu_bytes : int
        On-the-wire size of a full packet, > 0 (default 4096; a run passes the
        transport's ``mtu_bytes``).
    rate_bps : int
        Pacing rate, >= 0; 0 (the default) for none: the transport sends at line rate.

    Raises
    ------
    TypeError
        A parameter that is not a real number.
    ValueError
        A parameter out of range, NaN or infinite.  A finite float is rounded down.

    Notes
    -----
    A hook must keep the same ranges: a window > 0 (``roce`` also reads 0 as no window)
    and a rate >= 0.  A run built from a scenario (``uesim run``, ``run_scenario``) stops
    a Python CC that breaks them, or whose hook raises, with one
    ``uesim.experiments.plugin_guard.PluginError`` naming the CC, the hook and the value.

    Examples
    --------
    >>> class Bare(CongestionControl):
    ...     pass
    >>> cc = Bare()
    >>> cc.cwnd_bytes, cc.mtu_bytes, cc.rate_bps
    (65536, 4096, 0)
    >>> CongestionControl(cwnd_bytes=float("nan"))
    Traceback (most recent call last):
    ...
    ValueError: cwnd_bytes must be finite, got nan
    """

    def __init__(self, cwnd_bytes=None, mtu_bytes=4096, rate_bps=0):
        mtu_bytes = _whole("mtu_bytes", mtu_bytes)
        if mtu_bytes <= 0:
            raise ValueError(f"mtu_bytes must be > 0, got {mtu_bytes}")
        cwnd_bytes = 16 * mtu_bytes if cwnd_bytes is None else _whole("cwnd_bytes", cwnd_bytes)
        if cwnd_bytes <= 0:
            raise ValueError(f"cwnd_bytes must be > 0, got {cwnd_bytes}")
        rate_bps = _whole("rate_bps", rate_bps)
        if rate_bps < 0:
            raise ValueError(f"rate_bps must be >= 0, got {rate_bps}")
        self.cwnd_bytes = cwnd_bytes
        self.mtu_bytes = mtu_bytes
        self.rate_bps = rate_bps

    cdef CongestionControl fresh(self):
        """A copy of this never-used congestion control made without its constructor, or
        None where a class does not say how (then it is copied through its pickled state,
        :mod:`uesim.protocols.prototype`, or constructed)."""
        return None

    cpdef void on_start(self, CCContext ctx) except *:
        """Called once when the flow starts (``ctx`` has the base RTT, BDP, rates)."""
        pass

    cpdef void on_ack(self, CCContext ctx) except *:
        """Called per ACK: ``ctx.acked_bytes``, ``ctx.rtt_ps``, ``ctx.ecn``."""
        pass

    cpdef void on_nack(self, CCContext ctx) except *:
        """Called per NACK (a trimmed packet): ``ctx.nacked_bytes``, ``ctx.last_hop``, ``ctx.ecn``."""
        pass

    cpdef void on_timeout(self, CCContext ctx) except *:
        """Called when the retransmission timer declares ``ctx.lost_bytes`` lost."""
        pass

    cpdef void on_cnp(self, CCContext ctx) except *:
        """Called per congestion notification packet (RoCE DCQCN)."""
        pass

    cpdef void on_timer(self, CCContext ctx, int kind) except *:
        """Called when a timer armed with ``ctx.arm_timer(at_ps, kind)`` fires."""
        pass


def restore_balancer(cls, state, attrs=None):
    """Rebuild a pickled balancer whose state includes C arrays (see ``__reduce__``)."""
    obj = cls.__new__(cls)
    obj._set_state(state)
    if attrs:
        obj.__dict__.update(attrs)
    return obj


cdef class LoadBalancer:
    """Chooses the entropy value of each packet; the base class keeps one value (ECMP).

    Parameters
    ----------
    seed : int
        Seeds this flow's random stream (from the scenario seed and the flow id).

    Attributes
    ----------
    now_ps : int
        The current simulated time in ps.  A transport sets it before every call to
        ``next_entropy`` and ``on_feedback`` (``lb.now_ps = now``); balancers that keep
        timers (REPS freezing) read it, the others ignore it.  Starts at 0.
    """

    def __init__(self, uint64_t seed=0):
        if "rand32" in type(self).__dict__:
            raise TypeError(f"{type(self).__qualname__}.rand32 overrides a compiled-only method "
                            f"that would be silently ignored; override next_entropy instead")
        self.now_ps = 0
        self.seed_rng(seed)

    cdef void seed_rng(self, uint64_t seed) noexcept:
        self.rng = seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL
        if self.rng == 0:
            self.rng = 1

    cdef LoadBalancer fresh(self, uint64_t seed):
        """A new balancer like this one with stream ``seed`` (as the constructor with the
        same parameters makes it), or None where a class does not say how (then it is
        constructed)."""
        return None

    cdef LoadBalancer blank(self, type cls, uint64_t seed):
        """For :meth:`fresh`: a new ``cls`` with stream ``seed`` and nothing else set, or
        None unless this balancer is exactly a ``cls`` (a subclass may hold more)."""
        cdef LoadBalancer lb
        if type(self) is not cls:
            return None
        lb = cls.__new__(cls)
        lb.seed_rng(seed)
        return lb

    cdef uint32_t rand32(self) noexcept:
        cdef uint64_t x = self.rng
        x ^= x >> 12
        x ^= x << 25
        x ^= x >> 27
        self.rng = x
        return <uint32_t> ((x * 0x2545F4914F6CDD1DULL) >> 32)

    cpdef uint32_t next_entropy(self) except? 0xFFFFFFFF:
        return 0

    cpdef void on_feedback(self, uint32_t entropy, bint ecn=False, bint nack=False,
                           bint timeout=False) except *:
        """Called per ACK (``ecn``), NACK (``nack``) or timeout of a packet sent on ``entropy``.

        All flags False means GOOD (a clean ACK).  The flags default to False.
        """
        pass


cdef class FixedEntropy(LoadBalancer):
    """Single path per flow, as RoCE ECMP: one random entropy value drawn at start."""
    cdef uint32_t value

    def __init__(self, uint64_t seed=0):
        LoadBalancer.__init__(self, seed)
        self.value = self.rand32()

    cdef LoadBalancer fresh(self, uint64_t seed):
        cdef FixedEntropy f = self.blank(FixedEntropy, seed)
        if f is not None:
            f.value = f.rand32()
        return f

    cpdef uint32_t next_entropy(self) except? 0xFFFFFFFF:
        return self.value


cdef class ObliviousSpray(LoadBalancer):
    """Per-packet spraying: round-robin over a seeded permutation of ``n_paths`` entropy values."""
    cdef uint32_t* values
    cdef readonly uint32_t n_paths
    cdef uint32_t pos

    def __init__(self, uint64_t seed=0, int n_paths=256):
        cdef uint32_t i, j, tmp
        if n_paths <= 0:
            raise ValueError(f"n_paths must be > 0, got {n_paths}")
        LoadBalancer.__init__(self, seed)
        free(self.values)
        self.values = <uint32_t*> malloc(n_paths * sizeof(uint32_t))
        if self.values == NULL:
            raise MemoryError()
        self.n_paths = n_paths
        for i in range(self.n_paths):
            self.values[i] = i
        for i in range(self.n_paths - 1, 0, -1):  # Fisher-Yates with this flow's stream
            j = self.rand32() % (i + 1)
            tmp = self.values[i]
            self.values[i] = self.values[j]
            self.values[j] = tmp
        self.pos = 0

    def __dealloc__(self):
        free(self.values)

    # pickling (a sweep worker may receive one): the C array travels as a list
    def __reduce__(self):
        return (restore_balancer, (type(self), self._state(), getattr(self, "__dict__", None)))

    def _state(self):
        return (self.rng, self.now_ps, self.pos, [self.values[i] for i in range(self.n_paths)])

    def _set_state(self, state):
        cdef uint32_t i
        self.rng, self.now_ps, self.pos, values = state
        free(self.values)
        self.n_paths = len(values)
        self.values = <uint32_t*> malloc(self.n_paths * sizeof(uint32_t))
        if self.values == NULL:
            raise MemoryError()
        for i in range(self.n_paths):
            self.values[i] = values[i]

    cpdef uint32_t next_entropy(self) except? 0xFFFFFFFF:
        cdef uint32_t v = self.values[self.pos]
        self.pos += 1
        if self.pos == self.n_paths:
            self.pos = 0
        return v


cdef class RandomSpray(LoadBalancer):
    """Per-packet spraying: an independent random entropy value per packet."""

    cpdef uint32_t next_entropy(self) except? 0xFFFFFFFF:
        return self.rand32()
