# cython: language_level=3
"""NSCC, the Ultra Ethernet sender-side congestion control, as the UEC reference simulator has it.

The update rules, parameters and integer types follow ``htsim_uec`` (uet-htsim 40ccb05,
``htsim/sim/uec.cpp``: ``initNsccParams``, ``initNscc``, ``updateCwndOnAck_NSCC``,
``updateCwndOnNack_NSCC``, ``quick_adapt``, ``fair_increase``, ``proportional_increase``,
``fast_increase``, ``multiplicative_decrease``, ``fulfill_adjustment``, ``update_base_rtt``,
``update_delay``), as described in ``shared/reference/htsim/MODEL-uec.md`` §6-§7.
"""
from libc.stdint cimport int64_t, uint32_t

from uesim.protocols.hooks cimport CCContext, CongestionControl

# htsim: _reference_network_rtt = 12 us, _reference_network_linkspeed = 100 Gb/s
REFERENCE_RTT_PS = 12_000_000
REFERENCE_RATE_BPS = 100_000_000_000

PARAMS = ("mtu_bytes", "cwnd_bytes", "network_rtt_ps", "link_rate_bps", "base_rtt_ps",
           "mss_bytes", "min_cwnd_bytes", "maxwnd_bytes", "maxwnd_factor", "target_qdelay_ps",
           "qa_threshold_ps", "qa_gate", "reference_rtt_ps", "reference_rate_bps", "scaling_a",
           "scaling_b", "alpha", "fi", "eta", "fi_scale", "gamma", "delay_alpha",
           "adjust_period_ps", "adjust_bytes", "fast_increase_delay_ps", "disable_quick_adapt",
           "update_base_rtt_on_nack", "receiver_cc")


cdef inline uint32_t to_u32(double x) noexcept:
    # htsim assigns doubles to uint32 fields; gcc on x86-64 truncates through a 64-bit
    # integer, i.e. wraps modulo 2^32.  Done explicitly here to keep it defined.
    return <uint32_t> (<int64_t> x)


# parameter dicts shared between Nscc objects built with the same arguments (read-only)
_SHARED_OVERRIDES = {}


cdef class Nscc(CongestionControl):
    """NSCC: window congestion control from ECN and queueing delay (UET sender CC).

    Every ACK falls in one of four cases of (ECN echo, delay vs ``target_qdelay_ps``):
    no ECN and delay >= target -> *fair increase* ``inc += fi * acked``; no ECN and delay <
    target -> *proportional increase* ``inc += alpha * acked * (target - delay)`` (or *fast
    increase* ``cwnd += fi_scale * acked`` while delay < 1 us for a window); ECN and delay >=
    target -> *multiplicative decrease* ``cwnd *= max(1 - gamma*(avg-target)/avg, 0.5)`` at
    most once per base RTT while the filtered delay exceeds the target; ECN and delay <
    target -> no change.  The increases are applied in batches (``cwnd += inc / cwnd`` plus
    ``eta`` once per ``adjust_period_ps``) every ``adjust_bytes`` acked or every RTT.  *Quick
    adapt* cuts cwnd to the bytes delivered in the last ``base_rtt + target`` when a NACK or
    a delay above ``qa_threshold_ps`` shows that little got through; a NACK otherwise takes
    its bytes off cwnd.  cwnd stays in ``[min_cwnd_bytes, maxwnd_bytes]``.

    This follows htsim_uec (uet-htsim ``uec.cpp``; MODEL-uec.md §7) including its integer
    types: cwnd and maxwnd are int64 and truncate at each update, the increase accumulator
    is uint32, the filtered delay an integer number of ps.

    Parameters
    ----------
    mtu_bytes : int, optional
        Full packet on the wire (None: ``ctx.mtu_bytes`` at start).
    cwnd_bytes : int, optional
        Initial window (None: ``maxwnd_bytes``, i.e. start at line rate).
    network_rtt_ps : int, optional
        Unloaded network RTT the parameters scale with (None: ``ctx.base_rtt_ps``).
    link_rate_bps : int, optional
        NIC rate (None: ``ctx.link_rate_bps``).
    base_rtt_ps : int, optional
        The flow's initial base RTT (None: ``network_rtt_ps``; htsim without
        ``-enable_accurate_base_rtt``).  Lowered by smaller RTT samples.
    mss_bytes : int, optional
        Payload of a full packet (None: ``ctx.mss_bytes``).
    min_cwnd_bytes : int, optional
        Lower clamp (None: MTU).
    maxwnd_bytes : int, optional
        Upper clamp (None: ``maxwnd_factor x BDP``).  When given, base-RTT updates never
        raise maxwnd above it.
    maxwnd_factor : float
        maxwnd = factor x BDP (1.5).
    target_qdelay_ps : int, optional
        Target queueing delay (None: 0.75 x network RTT with trimming, 1.0 x without).
    qa_threshold_ps : float, optional
        Delay that triggers quick adapt (None: 4 x target).
    qa_gate : int, optional
        Quick adapt needs achieved bytes < ``maxwnd >> qa_gate`` (None: 3).
    reference_rtt_ps, reference_rate_bps : int
        The reference network the constants are tuned for (12 us, 100 Gb/s).
    scaling_a : float, optional
        None: network BDP / reference BDP (150,000 B).
    scaling_b : float, optional
        None: target / reference RTT.
    alpha : float, optional
        Proportional gain in B/ps (None: ``4 * mss * a * b / target``).
    fi : float, optional
        Fair increase per acked byte (None: ``5 * mss * a``).
    eta : float, optional
        Additive increase per adjust period (None: ``0.15 * mss * a``).
    fi_scale : float, optional
        Fast-increase gain per acked byte (None: ``0.25 * a``).
    gamma : float
        Multiplicative-decrease gain (0.8).
    delay_alpha : float
        Gain of the delay filter (0.0125).
    adjust_period_ps : int, optional
        None: network RTT.
    adjust_bytes : int, optional
        None: 8 x MTU.
    fast_increase_delay_ps : int
        Delay below which fast increase counts (1 us).
    disable_quick_adapt : bool
        htsim ``_disable_quick_adapt`` (False).
    update_base_rtt_on_nack : bool
        A NACK's RTT sample (``ctx.rtt_ps`` in ``on_nack``) may lower the base RTT (True).
    receiver_cc : bool
        RCCC runs as well: NACKs of last-hop trims do not reduce cwnd.  The transport may
        also set the attribute later.

    Notes
    -----
    The transport feeds it as htsim's ``UecSrc`` does (MODEL-uec.md §6): ``on_ack`` with
    ``acked_bytes`` = newly received wire bytes, ``rtt_ps`` = now - send time of the packet
    that triggered the ACK (-1 if not a valid sample, then the filtered delay is used),
    ``ecn`` = the ACK's ECN echo and ``inflight_bytes`` already reduced by ``acked_bytes``;
    ``on_nack`` with ``nacked_bytes``, ``last_hop``, ``rtt_ps`` = the NACK's RTT and
    ``inflight_bytes`` still including the NACKed packet; ``on_timeout`` with
    ``lost_bytes``.  Quick adapt sets ``bytes_to_ignore = inflight_bytes``.

    Examples
    --------
    The parameters of htsim's 3-tier fat tree (14.02272 us, 100 Gb/s, MTU 4150):

    >>> from uesim.protocols import CCContext
    >>> from uesim.protocols.cc import Nscc
    >>> ctx = CCContext.for_test(base_rtt_ps=14_022_720, link_rate_bps=100_000_000_000,
    ...                          mtu_bytes=4150, mss_bytes=4086, trimming=True)
    >>> cc = Nscc(mtu_bytes=4150)
    >>> cc.on_start(ctx)
    >>> cc.cwnd_bytes, cc.maxwnd_bytes, cc.target_qdelay_ps, round(cc.eta, 2)
    (262926, 262926, 10517040, 716.21)

    A NACK takes the trimmed packet's bytes off the window:

    >>> _ = ctx.set_event(now_ps=1_000_000, nacked_bytes=4150, inflight_bytes=200_000)
    >>> cc.on_nack(ctx)
    >>> cc.cwnd_bytes, cc.n_nack_dec
    (258776, 1)
    """

    #: ``_overrides`` is shared between instances and never written after ``__init__``
    #: (so :func:`uesim.protocols.prototype.copier` may copy it by reference)
    SHARED_READ_ONLY_DICTS = True

    def __init__(self, *, mtu_bytes=None, cwnd_bytes=None, network_rtt_ps=None,
                 link_rate_bps=None, base_rtt_ps=None, mss_bytes=None, min_cwnd_bytes=None,
                 maxwnd_bytes=None, maxwnd_factor=1.5, target_qdelay_ps=None,
                 qa_threshold_ps=None, qa_gate=None, reference_rtt_ps=REFERENCE_RTT_PS,
                 reference_rate_bps=REFERENCE_RATE_BPS, scaling_a=None, scaling_b=None, alpha=None,
                 fi=None, eta=None, fi_scale=None, gamma=0.8, delay_alpha=0.0125,
                 adjust_period_ps=None, adjust_bytes=None, fast_increase_delay_ps=1_000_000,
                 disable_quick_adapt=False, update_base_rtt_on_nack=True, receiver_cc=False):
        CongestionControl.__init__(self, cwnd_bytes if cwnd_bytes is not None else 1,
                                   mtu_bytes if mtu_bytes is not None else 4096)
        for name, v in (("mtu_bytes", mtu_bytes), ("cwnd_bytes", cwnd_bytes),
                        ("network_rtt_ps", network_rtt_ps), ("link_rate_bps", link_rate_bps),
                        ("base_rtt_ps", base_rtt_ps), ("mss_bytes", mss_bytes),
                        ("min_cwnd_bytes", min_cwnd_bytes), ("maxwnd_bytes", maxwnd_bytes),
                        ("target_qdelay_ps", target_qdelay_ps),
                        ("reference_rtt_ps", reference_rtt_ps),
                        ("reference_rate_bps", reference_rate_bps),
                        ("adjust_period_ps", adjust_period_ps), ("adjust_bytes", adjust_bytes)):
            if v is not None and v <= 0:
                raise ValueError(f"{name} must be > 0, got {v}")
        if qa_gate is not None and not (0 <= qa_gate < 63):
            raise ValueError(f"qa_gate must be in 0..62, got {qa_gate}")
        if maxwnd_factor <= 0:
            raise ValueError(f"maxwnd_factor must be > 0, got {maxwnd_factor}")
        if not (0.0 <= delay_alpha <= 1.0):
            raise ValueError(f"delay_alpha must be in [0, 1], got {delay_alpha}")
        if fast_increase_delay_ps < 0:
            raise ValueError(f"fast_increase_delay_ps must be >= 0, got {fast_increase_delay_ps}")
        self._overrides = {
            "mtu_bytes": mtu_bytes, "cwnd_bytes": cwnd_bytes, "network_rtt_ps": network_rtt_ps,
            "link_rate_bps": link_rate_bps, "base_rtt_ps": base_rtt_ps, "mss_bytes": mss_bytes,
            "min_cwnd_bytes": min_cwnd_bytes, "maxwnd_bytes": maxwnd_bytes,
            "target_qdelay_ps": target_qdelay_ps, "qa_threshold_ps": qa_threshold_ps,
            "qa_gate": qa_gate, "scaling_a": scaling_a, "scaling_b": scaling_b, "alpha": alpha,
            "fi": fi, "eta": eta, "fi_scale": fi_scale, "adjust_period_ps": adjust_period_ps,
            "adjust_bytes": adjust_bytes,
        }
        # one shared (read-only) dict per distinct set of arguments: a dict per flow cost
        # about 1 KB, 2 GB over the two million flows of a 1024-GPU ring all-reduce
        self._overrides = _SHARED_OVERRIDES.setdefault(tuple(self._overrides.values()), self._overrides)
        self.maxwnd_factor = maxwnd_factor
        self.reference_rtt_ps = reference_rtt_ps
        self.reference_rate_bps = reference_rate_bps
        self.gamma = gamma
        self.delay_alpha = delay_alpha
        self.fast_increase_delay_ps = fast_increase_delay_ps
        self.disable_quick_adapt = disable_quick_adapt
        self.update_base_rtt_on_nack = update_base_rtt_on_nack
        self.receiver_cc = receiver_cc
        self.started = False

    # ------------------------------------------------------------------ parameters
    cpdef void on_start(self, CCContext ctx) except *:
        """Derive the parameters from the flow (htsim ``initNsccParams`` + ``initNscc``)."""
        o = self._overrides
        if o["mtu_bytes"] is None:
            self.mtu_bytes = ctx.mtu_bytes
        self.network_rtt_ps = o["network_rtt_ps"] if o["network_rtt_ps"] is not None else ctx.base_rtt_ps
        self.link_rate_bps = o["link_rate_bps"] if o["link_rate_bps"] is not None else ctx.link_rate_bps
        self.mss_bytes = o["mss_bytes"] if o["mss_bytes"] is not None else ctx.mss_bytes
        if self.network_rtt_ps <= 0 or self.link_rate_bps <= 0 or self.mss_bytes <= 0:
            raise ValueError("Nscc needs a positive network RTT, link rate and MSS")
        # mem_b = timeAsSec(rtt) * (linkspeed / 8), truncated
        self.reference_bdp_bytes = <int64_t> ((<double> self.reference_rtt_ps / 1e12)
                                              * <double> (self.reference_rate_bps // 8))
        self.network_bdp_bytes = <int64_t> ((<double> self.network_rtt_ps / 1e12)
                                            * <double> (self.link_rate_bps // 8))
        self.min_cwnd_bytes = o["min_cwnd_bytes"] if o["min_cwnd_bytes"] is not None else self.mtu_bytes
        if o["target_qdelay_ps"] is not None:
            self.target_qdelay_ps = o["target_qdelay_ps"]
        elif ctx.trimming:
            self.target_qdelay_ps = <int64_t> (<double> self.network_rtt_ps * 0.75)
        else:
            self.target_qdelay_ps = self.network_rtt_ps
        self.qa_gate = o["qa_gate"] if o["qa_gate"] is not None else 3
        self.qa_threshold_ps = (o["qa_threshold_ps"] if o["qa_threshold_ps"] is not None
                                else 4.0 * <double> self.target_qdelay_ps)
        self.scaling_a = (o["scaling_a"] if o["scaling_a"] is not None
                          else <double> self.network_bdp_bytes / <double> self.reference_bdp_bytes)
        self.scaling_b = (o["scaling_b"] if o["scaling_b"] is not None
                          else <double> self.target_qdelay_ps / <double> self.reference_rtt_ps)
        self.alpha = (o["alpha"] if o["alpha"] is not None else
                      4.0 * self.mss_bytes * self.scaling_a * self.scaling_b / <double> self.target_qdelay_ps)
        self.fi = o["fi"] if o["fi"] is not None else 5 * self.mss_bytes * self.scaling_a
        self.eta = o["eta"] if o["eta"] is not None else 0.15 * self.mss_bytes * self.scaling_a
        self.fi_scale = o["fi_scale"] if o["fi_scale"] is not None else 0.25 * self.scaling_a
        self.adjust_period_ps = (o["adjust_period_ps"] if o["adjust_period_ps"] is not None
                                 else self.network_rtt_ps)
        self.adjust_bytes = o["adjust_bytes"] if o["adjust_bytes"] is not None else 8 * self.mtu_bytes
        # per flow (initNscc)
        self.base_rtt_ps = o["base_rtt_ps"] if o["base_rtt_ps"] is not None else self.network_rtt_ps
        self.bdp_bytes = <int64_t> ((<double> self.base_rtt_ps / 1e12) * <double> (self.link_rate_bps // 8))
        self._maxwnd_fixed = o["maxwnd_bytes"] is not None
        if self._maxwnd_fixed:
            self.configured_maxwnd_bytes = o["maxwnd_bytes"]
        else:
            self.configured_maxwnd_bytes = <int64_t> (self.maxwnd_factor * <double> self.bdp_bytes)
        self.maxwnd_bytes = self.configured_maxwnd_bytes
        self.cwnd_bytes = o["cwnd_bytes"] if o["cwnd_bytes"] is not None else self.maxwnd_bytes
        self.avg_delay_ps = 0
        self.inc_bytes = 0
        self.fi_count = 0
        self.achieved_bytes = 0
        self.received_bytes = 0
        self.bytes_ignored = 0
        self.bytes_to_ignore = 0
        self.qa_endtime_ps = 0
        self.last_adjust_ps = 0
        self.last_dec_ps = 0
        self.trigger_qa = False
        self.increasing = False
        self.started = True

    def params(self):
        """The derived parameters as a dict (what htsim prints at start)."""
        return {name: getattr(self, name) for name in (
            "network_rtt_ps", "link_rate_bps", "network_bdp_bytes", "reference_bdp_bytes",
            "mss_bytes", "min_cwnd_bytes", "maxwnd_bytes", "configured_maxwnd_bytes",
            "target_qdelay_ps", "qa_threshold_ps", "qa_gate", "scaling_a", "scaling_b", "alpha",
            "fi", "eta", "fi_scale", "gamma", "delay_alpha", "adjust_period_ps", "adjust_bytes",
            "base_rtt_ps", "bdp_bytes")}

    def counters(self):
        """The event counters as a dict."""
        return {name: getattr(self, name) for name in (
            "n_fair_inc", "n_prop_inc", "n_fast_inc", "n_md", "n_qa", "n_nack_dec",
            "n_base_rtt", "n_fulfill")}

    # ------------------------------------------------------------------ helpers
    cdef void update_base_rtt(self, int64_t raw_rtt) noexcept:
        cdef int64_t maxwnd
        if self.base_rtt_ps > raw_rtt:
            self.base_rtt_ps = raw_rtt
            # htsim: _bdp = timeAsUs(raw) * linkspeed / 8000000; _maxwnd = 1.5 * _bdp
            self.bdp_bytes = <int64_t> ((<double> raw_rtt / 1000000.0) * <double> self.link_rate_bps
                                        / 8000000.0)
            maxwnd = <int64_t> (self.maxwnd_factor * <double> self.bdp_bytes)
            if self._maxwnd_fixed and maxwnd > self.configured_maxwnd_bytes:
                maxwnd = self.configured_maxwnd_bytes
            self.maxwnd_bytes = maxwnd
            self.n_base_rtt += 1

    cdef void update_delay(self, int64_t raw_rtt, bint update_avg, bint skip) noexcept:
        cdef int64_t delay = raw_rtt - self.base_rtt_ps
        cdef double r
        if update_avg:
            if not skip and delay > self.target_qdelay_ps:
                # pulled towards base_rtt/4, not towards the sample
                self.avg_delay_ps = <int64_t> ((self.delay_alpha * <double> self.base_rtt_ps) * 0.25
                                               + (1.0 - self.delay_alpha) * <double> self.avg_delay_ps)
            else:
                r = 0.0125 if delay > 5 * self.base_rtt_ps else self.delay_alpha
                self.avg_delay_ps = <int64_t> (r * <double> delay
                                               + (1.0 - r) * <double> self.avg_delay_ps)

    cdef bint quick_adapt(self, int64_t now, int64_t inflight, bint is_loss, bint skip,
                          int64_t delay) noexcept:
        cdef bint done = False
        if self.disable_quick_adapt:
            return False
        if self.bytes_ignored < self.bytes_to_ignore and skip:
            done = True
        elif now > self.qa_endtime_ps:
            if (self.qa_endtime_ps != 0
                    and (self.trigger_qa or is_loss or <double> delay > self.qa_threshold_ps)
                    and self.achieved_bytes < (self.maxwnd_bytes >> self.qa_gate)):
                self.cwnd_bytes = (self.achieved_bytes if self.achieved_bytes > self.min_cwnd_bytes
                                   else self.min_cwnd_bytes)
                self.bytes_to_ignore = <uint32_t> inflight
                self.bytes_ignored = 0
                self.trigger_qa = False
                self.n_qa += 1
                done = True
            self.achieved_bytes = 0
            self.qa_endtime_ps = now + self.base_rtt_ps + self.target_qdelay_ps
        if done:
            self.inc_bytes = 0
            self.received_bytes = 0
        return done

    cdef void fair_increase(self, uint32_t newly_acked) noexcept:
        self.inc_bytes = to_u32(<double> self.inc_bytes + self.fi * <double> newly_acked)
        self.n_fair_inc += 1

    cdef void proportional_increase(self, uint32_t newly_acked, int64_t delay) noexcept:
        self.fast_increase(newly_acked, delay)
        if self.increasing:
            return
        self.inc_bytes = to_u32(<double> self.inc_bytes
                                + self.alpha * <double> newly_acked
                                * <double> (self.target_qdelay_ps - delay))
        self.n_prop_inc += 1

    cdef void fast_increase(self, uint32_t newly_acked, int64_t delay) noexcept:
        if delay < self.fast_increase_delay_ps:
            self.fi_count += newly_acked
            if <int64_t> self.fi_count > self.cwnd_bytes or self.increasing:
                self.cwnd_bytes = <int64_t> (<double> self.cwnd_bytes
                                             + <double> newly_acked * self.fi_scale)
                self.increasing = True
                self.n_fast_inc += 1
                return
        else:
            self.fi_count = 0
        self.increasing = False

    cdef void multiplicative_decrease(self, int64_t now) noexcept:
        cdef int64_t avg = self.avg_delay_ps
        cdef double f
        self.increasing = False
        self.fi_count = 0
        if avg > self.target_qdelay_ps and now - self.last_dec_ps > self.base_rtt_ps:
            f = 1.0 - self.gamma * <double> (avg - self.target_qdelay_ps) / <double> avg
            if f < 0.5:
                f = 0.5
            self.cwnd_bytes = <int64_t> (<double> self.cwnd_bytes * f)
            if self.cwnd_bytes < self.min_cwnd_bytes:
                self.cwnd_bytes = self.min_cwnd_bytes
            self.last_dec_ps = now
            self.n_md += 1

    cdef void fulfill_adjustment(self, int64_t now) noexcept:
        self.cwnd_bytes += (<int64_t> self.inc_bytes) // self.cwnd_bytes
        if now - self.last_adjust_ps >= self.adjust_period_ps:
            self.cwnd_bytes = <int64_t> (<double> self.cwnd_bytes + self.eta)
            self.last_adjust_ps = now
        self.inc_bytes = 0
        self.received_bytes = 0
        self.n_fulfill += 1

    cdef inline void set_cwnd_bounds(self) noexcept:
        if self.cwnd_bytes < self.min_cwnd_bytes:
            self.cwnd_bytes = self.min_cwnd_bytes
        if self.cwnd_bytes > self.maxwnd_bytes:
            self.cwnd_bytes = self.maxwnd_bytes

    cdef void ack_update(self, int64_t now, int64_t inflight, bint skip, int64_t delay,
                         int64_t newly_acked) noexcept:
        """htsim updateCwndOnAck_NSCC."""
        cdef uint32_t acked = <uint32_t> newly_acked
        if self.quick_adapt(now, inflight, False, skip, delay):
            return
        if not skip:
            if delay >= self.target_qdelay_ps:
                self.fair_increase(acked)
            else:
                self.proportional_increase(acked, delay)
        elif delay >= self.target_qdelay_ps:
            self.multiplicative_decrease(now)
        # else ECN with a small delay: no change (the load balancer moves)
        self.set_cwnd_bounds()
        if (self.received_bytes > self.adjust_bytes
                or now - self.last_adjust_ps > self.adjust_period_ps):
            self.fulfill_adjustment(now)
        self.set_cwnd_bounds()

    cdef void nack_update(self, int64_t now, int64_t inflight, int64_t nacked, bint last_hop) noexcept:
        """htsim updateCwndOnNack_NSCC."""
        self.bytes_ignored = <uint32_t> (self.bytes_ignored + <uint32_t> nacked)
        # the sample is fixed at the network RTT (an estimate of the trimming threshold)
        self.update_delay(self.base_rtt_ps + self.network_rtt_ps, True, True)
        self.trigger_qa = True
        if self.quick_adapt(now, inflight, True, True, 0):
            return
        if not self.receiver_cc or not last_hop:
            self.cwnd_bytes -= nacked
            self.set_cwnd_bounds()
            self.n_nack_dec += 1

    # ------------------------------------------------------------------ hooks
    cpdef void on_ack(self, CCContext ctx) except *:
        """Per ACK: byte counters, RTT sample (base RTT, delay filter), then the NSCC update."""
        cdef int64_t acked = ctx.acked_bytes if ctx.acked_bytes > 0 else 0
        cdef int64_t raw = ctx.rtt_ps
        cdef int64_t delay
        self.achieved_bytes += acked
        self.received_bytes += acked
        self.bytes_ignored = <uint32_t> (self.bytes_ignored + <uint32_t> acked)
        if raw >= 0:
            self.update_base_rtt(raw)
            if raw >= self.base_rtt_ps:
                self.update_delay(raw, True, ctx.ecn)
                delay = raw - self.base_rtt_ps
            else:
                delay = self.avg_delay_ps
        else:
            delay = self.avg_delay_ps
        self.last_delay_ps = delay
        self.ack_update(ctx.now_ps, ctx.inflight_bytes, ctx.ecn, delay, acked)

    cpdef void on_nack(self, CCContext ctx) except *:
        """Per NACK: the NACK's RTT may lower the base RTT, then the NSCC NACK update."""
        if self.update_base_rtt_on_nack and ctx.rtt_ps >= 0:
            self.update_base_rtt(ctx.rtt_ps)
        self.nack_update(ctx.now_ps, ctx.inflight_bytes, ctx.nacked_bytes, ctx.last_hop)

    cpdef void on_timeout(self, CCContext ctx) except *:
        """Per RTO: ``cwnd = max(cwnd - lost_bytes, MTU)`` (htsim ``mark_packet_for_retransmission``)."""
        self.cwnd_bytes -= ctx.lost_bytes
        if self.cwnd_bytes < self.mtu_bytes:
            self.cwnd_bytes = self.mtu_bytes

    cdef CongestionControl fresh(self):
        """A copy of this never-used Nscc, field for field (no keyword parsing; a
        test holds the list whole against the pickled state); None for a subclass."""
        if type(self) is not Nscc:
            return None
        cdef Nscc c = Nscc.__new__(Nscc)
        c.cwnd_bytes = self.cwnd_bytes
        c.rate_bps = self.rate_bps
        c.mtu_bytes = self.mtu_bytes
        c._overrides = self._overrides
        c._maxwnd_fixed = self._maxwnd_fixed
        c.receiver_cc = self.receiver_cc
        c.started = self.started
        c.network_rtt_ps = self.network_rtt_ps
        c.link_rate_bps = self.link_rate_bps
        c.network_bdp_bytes = self.network_bdp_bytes
        c.reference_rtt_ps = self.reference_rtt_ps
        c.reference_rate_bps = self.reference_rate_bps
        c.reference_bdp_bytes = self.reference_bdp_bytes
        c.mss_bytes = self.mss_bytes
        c.min_cwnd_bytes = self.min_cwnd_bytes
        c.configured_maxwnd_bytes = self.configured_maxwnd_bytes
        c.maxwnd_factor = self.maxwnd_factor
        c.target_qdelay_ps = self.target_qdelay_ps
        c.qa_threshold_ps = self.qa_threshold_ps
        c.qa_gate = self.qa_gate
        c.scaling_a = self.scaling_a
        c.scaling_b = self.scaling_b
        c.alpha = self.alpha
        c.fi = self.fi
        c.eta = self.eta
        c.fi_scale = self.fi_scale
        c.gamma = self.gamma
        c.delay_alpha = self.delay_alpha
        c.adjust_period_ps = self.adjust_period_ps
        c.adjust_bytes = self.adjust_bytes
        c.fast_increase_delay_ps = self.fast_increase_delay_ps
        c.disable_quick_adapt = self.disable_quick_adapt
        c.update_base_rtt_on_nack = self.update_base_rtt_on_nack
        c.base_rtt_ps = self.base_rtt_ps
        c.bdp_bytes = self.bdp_bytes
        c.maxwnd_bytes = self.maxwnd_bytes
        c.avg_delay_ps = self.avg_delay_ps
        c.inc_bytes = self.inc_bytes
        c.fi_count = self.fi_count
        c.achieved_bytes = self.achieved_bytes
        c.received_bytes = self.received_bytes
        c.bytes_ignored = self.bytes_ignored
        c.bytes_to_ignore = self.bytes_to_ignore
        c.qa_endtime_ps = self.qa_endtime_ps
        c.last_adjust_ps = self.last_adjust_ps
        c.last_dec_ps = self.last_dec_ps
        c.trigger_qa = self.trigger_qa
        c.increasing = self.increasing
        c.last_delay_ps = self.last_delay_ps
        c.n_fair_inc = self.n_fair_inc
        c.n_prop_inc = self.n_prop_inc
        c.n_fast_inc = self.n_fast_inc
        c.n_md = self.n_md
        c.n_qa = self.n_qa
        c.n_nack_dec = self.n_nack_dec
        c.n_base_rtt = self.n_base_rtt
        c.n_fulfill = self.n_fulfill
        return c
