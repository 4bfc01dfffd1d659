# cython: language_level=3
"""The common part of transport flows: identity, packetisation, attach, results.

A :class:`Flow` is an :class:`~uesim.fabric.network.Endpoint` that is both ends of one
transfer of ``size_bytes`` payload bytes from host ``src`` to host ``dst``, cut into
packets of ``mtu_bytes`` on the wire (``header_bytes`` of it header; the last packet
carries the rest).  Subclasses (``WindowFlow``, ``PacedFlow``) add the sending rules.
"""
from libc.stdint cimport uint64_t
from uesim.fabric.engine cimport push_event
from uesim.fabric.network cimport Network, Packet, PKT_DATA
from uesim.protocols.hooks cimport EV_CC_TIMER

from uesim.protocols.hooks import FixedEntropy

# Methods only compiled code calls: a Python subclass that defines one would be silently
# ignored, so defining one is an error (see Flow.__init__).
COMPILED_ONLY = ("on_packet", "pull", "can_send", "on_event", "payload_of", "new_data_packet",
                 "finish", "rx_done", "cc_timer", "try_send", "next_seq", "send_packet",
                 "on_data", "on_ack_packet", "on_rto", "arm_timer", "on_nack_packet")


def check_python_overrides(obj, names):
    """Raise TypeError if a Python subclass of a compiled class defines a compiled-only method.

    Compiled (``cdef``) methods never appear in a class ``__dict__``, so a name of ``names``
    found in the ``__dict__`` of a class of the MRO was written in Python, and compiled code
    would never call it.
    """
    for klass in type(obj).__mro__:
        for name in names:
            if name in klass.__dict__:
                raise TypeError(
                    f"{klass.__qualname__}.{name} overrides a method that only compiled code "
                    f"calls, so it would be silently ignored; override the Python-visible hooks "
                    f"instead (congestion control: on_start, on_ack, on_nack, on_timeout, on_cnp, "
                    f"on_timer; load balancing: next_entropy, on_feedback) or write it in Cython")


cdef class Flow(Endpoint):
    """Base class of transport flows (not used on its own).

    Parameters
    ----------
    flow_id, src, dst : int
        Flow id and source/destination host indices.
    size_bytes : int
        Payload bytes to deliver.
    start_ps : int
        When the sender starts (an event of kind 0 is scheduled then by :meth:`attach`).
    cc : CongestionControl or None
    lb : LoadBalancer or None
    mtu_bytes, header_bytes : int
        On-the-wire size of a full packet and of its header.
    data_prio : int
        Traffic class of data packets (0 is served first on priority ports).
    """

    def __init__(self, int32_t flow_id, int32_t src, int32_t dst, int64_t size_bytes,
                 int64_t start_ps, CongestionControl cc, LoadBalancer lb, *,
                 int32_t mtu_bytes=4096, int32_t header_bytes=64, int data_prio=1):
        self.init_flow(flow_id, src, dst, size_bytes, start_ps, cc, lb, mtu_bytes, header_bytes, data_prio)
        if not type(self).__module__.startswith("uesim."):
            check_python_overrides(self, COMPILED_ONLY)

    cdef int init_flow(self, int32_t flow_id, int32_t src, int32_t dst, int64_t size_bytes,
                       int64_t start_ps, CongestionControl cc, LoadBalancer lb, int32_t mtu_bytes,
                       int32_t header_bytes, int data_prio) except -1:
        """What ``__init__`` sets (shared with :meth:`spawn`, which bypasses it)."""
        if size_bytes <= 0:
            raise ValueError(f"size_bytes must be > 0, got {size_bytes}")
        if start_ps < 0:
            raise ValueError(f"start_ps must be >= 0, got {start_ps}")
        if not (0 <= header_bytes < mtu_bytes):
            raise ValueError(f"need 0 <= header_bytes < mtu_bytes, got {header_bytes}, {mtu_bytes}")
        if src == dst:
            raise ValueError(f"a flow needs src != dst, got {src} -> {dst}")
        self.flow_id = flow_id
        self.src = src
        self.dst = dst
        self.size_bytes = size_bytes
        self.start_ps = start_ps
        self.cc = cc
        self.lb = lb
        self.mtu_bytes = mtu_bytes
        self.header_bytes = header_bytes
        self.data_prio = data_prio
        self.n_packets = (size_bytes + (mtu_bytes - header_bytes) - 1) // (mtu_bytes - header_bytes)
        self.end_ps = -1
        self.rx_done_ps = -1
        self.ctx = CCContext()
        self.ctx.flow = self
        return 0

    cdef int init_like(self, Flow template, int32_t flow_id, int32_t src, int32_t dst,
                       int64_t size_bytes, int64_t start_ps, CongestionControl cc,
                       LoadBalancer lb) except -1:
        """:meth:`init_flow` with ``template``'s packet settings (for :meth:`spawn`)."""
        return self.init_flow(flow_id, src, dst, size_bytes, start_ps, cc, lb, template.mtu_bytes,
                              template.header_bytes, template.data_prio)

    cdef Flow spawn(self, int32_t flow_id, int32_t src, int32_t dst, int64_t size_bytes,
                    int64_t start_ps, CongestionControl cc, LoadBalancer lb, object extra):
        """A new, unattached flow of this class with this flow's settings (a template
        never attached): what ``type(self)(flow_id, ..., **settings)`` makes, without
        parsing keywords. ``extra``: a transport's per-flow object (UET's pull pacer)."""
        raise TypeError(f"{type(self).__name__} flows cannot be spawned from a template")

    cpdef Flow attach(self, Network net, int64_t base_rtt_ps=0, bint trimming=False):
        """Attach to ``net`` and schedule the start; return self.

        ``base_rtt_ps`` (the unloaded network RTT) and ``trimming`` go to the congestion
        control's context, with the sender's NIC rate towards ``dst`` read from ``net``: all
        the ports its NIC sprays over to reach ``dst``, or one of them for a single-path
        flow (load balancer ``FixedEntropy``, ECMP).
        """
        if not (0 <= self.src < net.n_hosts and 0 <= self.dst < net.n_hosts):
            raise ValueError(f"flow {self.flow_id}: hosts {self.src}->{self.dst} out of range "
                             f"0..{net.n_hosts - 1}")
        if base_rtt_ps < 0:
            raise ValueError(f"base_rtt_ps must be >= 0, got {base_rtt_ps}")
        net.add_endpoint(self)
        self.ctx.setup(self.sim, self.handler_id, self.flow_id, base_rtt_ps,
                       net.host_rate_bps(self.src, self.dst, isinstance(self.lb, FixedEntropy)), self.mtu_bytes,
                       self.mtu_bytes - self.header_bytes, self.size_bytes, trimming)
        push_event(self.sim, self.start_ps if self.start_ps > self.sim.now else self.sim.now,
                   self.handler_id, 0, 0)
        return self

    @property
    def quiet(self):
        """Finished, nothing queued at a NIC and no packet of its own alive (an ACK or an
        ACK request still under way): retiring it now changes no other flow."""
        return self.finished and (self.net is None or self.endpoint_id < 0
                                  or not self.net.busy(self.endpoint_id))

    def retire(self):
        """Hand a finished flow's network and simulator slots back, so that nothing but
        the caller keeps it alive: packets and timer events still under way for it are
        dropped on arrival. Its counters stay readable. Raises ValueError if unfinished.
        """
        self.hand_back()

    cdef int hand_back(self) except -1:
        if not self.finished:
            raise ValueError(f"flow {self.flow_id} is not finished: it cannot be retired")
        if self.net is None or self.endpoint_id < 0:
            return 0
        self.net.retire_endpoint(self.endpoint_id)
        self.sim.retire(self.handler_id)
        self.ctx.flow = None            # no cycle left: the flow is freed with its last reference
        self.on_finish = None
        self.on_rx_done = None
        return 0

    cdef inline int32_t payload_of(self, int64_t seq) noexcept:
        cdef int64_t per = self.mtu_bytes - self.header_bytes
        if seq == self.n_packets - 1:
            return <int32_t> (self.size_bytes - seq * per)
        return <int32_t> per

    cdef int32_t new_data_packet(self, int64_t seq) except -1:
        """A data packet for ``seq`` with every field set but ``flags`` and ``entropy``."""
        cdef Network net = self.net
        cdef int32_t p = net.alloc()
        cdef Packet* pk = &net.pkts[p]
        cdef int32_t payload = self.payload_of(seq)
        pk.kind = PKT_DATA
        pk.flow = self.flow_id
        net.own(p, self.endpoint_id)
        pk.src = self.src
        pk.dst = self.dst
        pk.seq = seq
        pk.ts_ps = self.sim.now
        pk.payload = payload
        pk.size = self.header_bytes + payload
        pk.prio = self.data_prio
        self.sent_packets += 1
        return p

    cdef int rx_done(self) except -1:
        """Record that the receiver holds every byte now and call ``on_rx_done``."""
        self.rx_done_ps = self.sim.now
        if self.on_rx_done is not None:
            self.on_rx_done(self)
        return 0

    cdef int cc_timer(self, int32_t kind, int64_t gen) except -1:
        """Deliver a congestion-control timer event (kind ``EV_CC_TIMER + k``) if still armed."""
        cdef int k = kind - EV_CC_TIMER
        if self.cc is not None and not self.finished and self.ctx.timer_is_current(k, gen):
            self.ctx.now_ps = self.sim.now
            self.cc.on_timer(self.ctx, k)
        return 0

    cdef int finish(self) except -1:
        """Record completion now and call ``on_finish``."""
        self.finished = True
        self.end_ps = self.sim.now
        if self.on_finish is not None:
            self.on_finish(self)
        return 0

    cdef bint counter(self, int code, int64_t* out) noexcept:
        """Write counter ``code`` (a ``CTR_*``) to ``out``; False if this class has none
        by that code (subclasses add theirs, then ask this)."""
        if code == CTR_FLOW_ID: out[0] = self.flow_id
        elif code == CTR_SRC: out[0] = self.src
        elif code == CTR_DST: out[0] = self.dst
        elif code == CTR_SIZE_BYTES: out[0] = self.size_bytes
        elif code == CTR_START_PS: out[0] = self.start_ps
        elif code == CTR_END_PS: out[0] = self.end_ps
        elif code == CTR_RX_DONE_PS: out[0] = self.rx_done_ps
        elif code == CTR_FINISHED: out[0] = self.finished
        elif code == CTR_SENT_PACKETS: out[0] = self.sent_packets
        elif code == CTR_RETX_PACKETS: out[0] = self.retx_packets
        elif code == CTR_TIMEOUTS: out[0] = self.timeouts
        elif code == CTR_TIMEOUTS_NO_LOSS: out[0] = self.timeouts_no_loss
        elif code == CTR_ECN_ECHOES: out[0] = self.ecn_echoes
        elif code == CTR_N_PACKETS: out[0] = self.n_packets
        else: return False
        return True

    @property
    def fct_ps(self):
        """Completion time (``end_ps - start_ps``), or None if unfinished."""
        return self.end_ps - self.start_ps if self.finished else None


#: the names of the ``CTR_*`` counter codes (flow.pxd), in code order
COUNTER_NAMES = ("flow_id", "src", "dst", "size_bytes", "start_ps", "end_ps", "rx_done_ps",
                 "finished", "sent_packets", "retx_packets", "timeouts", "timeouts_no_loss",
                 "ecn_echoes", "n_packets", "aborted", "new_packets", "acks_received",
                 "nacks_received", "cnps_sent", "cnps_received", "ooo_discards", "n_send",
                 "rx_packets", "acks_sent", "nacks_sent")
assert len(COUNTER_NAMES) == N_COUNTERS


def counter_table(list flows, tuple names):
    """The counters ``names`` of ``flows`` (all of one compiled uesim flow class) as an
    int64 table, a row per flow, read in compiled code; None if that class does not
    give every one of them by code (the caller then reads the attributes).

    >>> from uesim.protocols import PacedFlow
    >>> f = PacedFlow(7, 1, 2, 10_000, 0, None, None, mtu_bytes=4096, rate_bps=10**11)
    >>> counter_table([f], ("flow_id", "src", "size_bytes", "n_packets", "rx_packets")).tolist()
    [[7, 1, 10000, 3, 0]]
    >>> counter_table([f], ("flow_id", "acks_sent")) is None       # a paced flow sends none
    True
    """
    import numpy as np
    cdef Py_ssize_t i, j, n = len(flows), k = len(names)
    cdef int64_t value
    cdef Flow f
    if n == 0:
        return np.zeros((0, k), dtype=np.int64)
    if any(name not in COUNTER_NAMES for name in names):
        return None
    cdef int[:] codes = np.array([COUNTER_NAMES.index(name) for name in names], dtype=np.intc)
    f = flows[0]
    for j in range(k):
        if not f.counter(codes[j], &value):
            return None
    out = np.empty((n, k), dtype=np.int64)
    cdef int64_t[:, ::1] table = out
    for i in range(n):
        f = flows[i]
        for j in range(k):
            f.counter(codes[j], &table[i, j])
    return out


def retire_all(list flows):
    """``retire()`` each of ``flows`` (finished ones): in compiled code where that is
    :meth:`Flow.retire` itself, else the object's own method."""
    cdef object o, cls, last = None
    cdef bint own = False
    for o in flows:
        cls = type(o)
        if cls is not last:
            last, own = cls, isinstance(o, Flow) and getattr(cls, "retire", None) is Flow.retire
        if own:
            (<Flow> o).hand_back()
        else:
            o.retire()


cdef inline uint64_t _mix(uint64_t x, uint64_t part) noexcept:
    # one splitmix64 step of uesim.experiments.run.derive_seed (arithmetic mod 2**64)
    x = x + 0x9E3779B97F4A7C15ULL + part
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL
    return x ^ (x >> 31)


def flow_seed(seed, int64_t flow_id):
    """``derive_seed(seed, 3, flow_id)``: the seed of flow ``flow_id``'s load balancer
    (:func:`uesim.experiments.run.derive_seed`), in compiled code.

    >>> from uesim.experiments.run import derive_seed
    >>> flow_seed(7, 12) == derive_seed(7, 3, 12)
    True
    """
    return _mix(_mix(<uint64_t> (seed & 0xFFFFFFFFFFFFFFFF), 3), <uint64_t> flow_id) >> 1


cdef class FlowSpawner:
    """Makes and attaches flows like ``template`` in compiled code: a workload DAG's
    flows (millions in a large collective) without a Python constructor call each.

    Per flow: a congestion control from ``fresh_cc()`` (None: no CC; or, the same,
    ``cc_proto``, the never-used CC that ``fresh_cc`` copies, by its ``fresh``), a load balancer
    ``lb_cls(seed=flow_seed(seed, flow_id), **lb_kw)`` (or, the same, ``lb_proto``, a
    balancer made so, copied by its ``fresh`` with the flow's seed), ``extra_of(dst)`` when given
    (UET's pull pacer of the receiver), the flow from :meth:`Flow.spawn` and
    :meth:`Flow.attach` to ``net`` with ``base_rtt_ps`` and ``trimming``: the flow
    ``type(template)(flow_id, ..., cc, lb, **settings).attach(net, ...)`` makes.
    """
    def __init__(self, Flow template not None, fresh_cc, lb_cls, dict lb_kw, Network net not None, *,
                 int64_t base_rtt_ps=0, bint trimming=False, seed=0, extra_of=None,
                 LoadBalancer lb_proto=None, CongestionControl cc_proto=None):
        self.template, self.fresh_cc, self.lb_cls, self.lb_kw = template, fresh_cc, lb_cls, lb_kw
        # a compiled CC that says how to copy itself (CongestionControl.fresh) is copied so
        self.cc_proto = cc_proto if cc_proto is not None and cc_proto.fresh() is not None else None
        # a compiled balancer that says how to copy itself (LoadBalancer.fresh) is copied
        self.lb_proto = lb_proto if lb_proto is not None and lb_proto.fresh(0) is not None else None
        self.net, self.base_rtt_ps, self.trimming = net, base_rtt_ps, trimming
        self.seed = <uint64_t> (seed & 0xFFFFFFFFFFFFFFFF)
        self.extra_of = extra_of

    def __call__(self, int32_t flow_id, int32_t src, int32_t dst, int64_t size_bytes, int64_t start_ps,
                 bint attach=True):
        return self.make(flow_id, src, dst, size_bytes, start_ps, attach)

    cdef Flow make(self, int32_t flow_id, int32_t src, int32_t dst, int64_t size_bytes, int64_t start_ps,
                   bint attach):
        cdef object cc = (self.cc_proto.fresh() if self.cc_proto is not None
                          else self.fresh_cc() if self.fresh_cc is not None else None)
        cdef uint64_t lb_seed = _mix(_mix(self.seed, 3), <uint64_t> flow_id) >> 1
        cdef object lb = (self.lb_proto.fresh(lb_seed) if self.lb_proto is not None
                          else self.lb_cls(seed=lb_seed, **self.lb_kw))
        cdef Flow f = self.template.spawn(flow_id, src, dst, size_bytes, start_ps, cc, lb,
                                          self.extra_of(dst) if self.extra_of is not None else None)
        if attach:
            f.attach(self.net, self.base_rtt_ps, self.trimming)
        return f
