# cython: language_level=3
"""RoCEv2 reliable connection (RC) transport: go-back-N, cumulative ACKs, CNPs.

Each :class:`RoceFlow` is one queue pair (QP): both ends of one flow, as htsim's
``RoceSrc``/``RoceSink`` (behaviour per ``MODEL-roce.md`` §3 of the reference) with the
pieces a real RC NIC adds (a retransmission timer, a notification point that sends CNPs).

Sender (requester)
    Packet sequence numbers (PSNs) count packets.  Every packet of a QP takes one path: the
    load balancer (``FixedEntropy``, the "ecmp" balancer, by default) gives the same entropy
    value to each, so switches hash the flow to one ECMP path.  The sender offers a packet
    to its host NIC's scheduler when it has one to send, the congestion control's window
    (``cc.cwnd_bytes``; 0 = none) allows it and its pacing time has come: after a packet
    of ``W`` wire bytes the next may leave ``8 W / cc.rate_bps`` later (no pacing when the
    rate is 0 or the line rate: the NIC serialises); a rate change reschedules the waiting
    packet at once.  A NACK carrying PSN ``e`` acknowledges
    everything below ``e`` and sends the sender back to ``e`` (go-back-N).  A per-QP timer
    (``max(min_rto_ps, srtt + 4 rttvar)``, restarted on progress) sends it back to the
    oldest unacknowledged PSN; ``retry_limit`` timeouts in a row without progress abort
    the QP (reported unfinished).
Receiver (responder)
    Accepts only the expected PSN.  It sends a cumulative ACK (64 B, class 0, carrying the
    next expected PSN) every ``ack_every_packets`` accepted packets and always for the last
    one; an out-of-order packet is discarded and answered by ONE NACK per gap episode
    (until the expected PSN arrives); a duplicate is discarded and re-acknowledged on the
    same coalescing rule (so a lost ACK cannot stall the QP; htsim drops duplicates
    silently, which only matters when packets are lost).
Notification point
    A CE-marked data packet makes the receiver send a CNP (``PKT_CNP``, ``cnp_bytes``,
    class 0) to the sender, at most one per ``cnp_interval_ps`` per QP (0 = one per marked
    packet).  The sender passes it to ``cc.on_cnp`` (DCQCN's reaction point).

Congestion control hooks: ``on_start``, ``on_ack`` (``ctx.acked_bytes``: wire bytes newly
acknowledged, which DCQCN's byte counter counts), ``on_nack``, ``on_timeout``, ``on_cnp``
and ``on_timer`` (timers the CC armed).  With ``trace_rate`` every change of the pacing
rate is recorded as ``(t_ps, rate_bps)`` (see :meth:`RoceFlow.rate_trace`).

htsim compatibility: htsim_roce sends while ``packets_sent x mss <= size``, so a flow whose
size is a multiple of the payload per packet sends one extra full packet (2 MB: 501
packets).  ``htsim_extra_packet=True`` reproduces that; the default sends exactly what
the flow needs.  htsim arms no retransmission timer: ``min_rto_ps=0`` turns it off.

Examples
--------
One 2 MB flow across a 3-tier fat tree at 100 Gb/s, 1 us per link (htsim one.cm,
``MODEL-roce.md`` §3): 499 packets of 4064 B plus 6 hops of a data packet and of an ACK.

>>> from uesim.fabric import build_network
>>> from uesim.topologies import fat_tree
>>> from uesim.protocols.roce import RoceFlow
>>> built = build_network(fat_tree(4, rate_bps=100_000_000_000, delay_ps=1_000_000))
>>> f = RoceFlow(0, 0, 15, 2_000_000, 0, None, None, mtu_bytes=4064).attach(built.net)
>>> built.sim.run()
>>> f.finished, f.n_packets, f.retx_packets, f.fct_ps   # 499 x 325.12 ns + 6 x (325.12 + 1000) + 6 x (5.12 + 1000)
(True, 500, 0, 176216320)
"""
from libc.stdlib cimport free, realloc
from libc.stdint cimport INT64_MAX, int32_t, int64_t, uint8_t, uint16_t, uint32_t

import numpy as np

from uesim.fabric.engine cimport push_event
from uesim.fabric.network cimport (Network, Packet, PKT_DATA, PKT_ACK, PKT_NACK, PKT_CNP,
                                   PF_ECT, PF_CE, PF_ECN_ECHO, PF_RETX, PF_PINNED)
from uesim.protocols.hooks cimport CCContext, CongestionControl, LoadBalancer, EV_CC_TIMER
from uesim.protocols.flow cimport (CTR_ABORTED, CTR_N_SEND, CTR_NEW_PACKETS, CTR_ACKS_RECEIVED,
                                   CTR_NACKS_RECEIVED, CTR_CNPS_SENT, CTR_CNPS_RECEIVED,
                                   CTR_OOO_DISCARDS, CTR_RX_PACKETS, CTR_ACKS_SENT, CTR_NACKS_SENT)
from uesim.protocols.flow import check_python_overrides

# compiled-only methods of RoceFlow beyond Flow's (a Python override would be ignored)
ROCE_COMPILED_ONLY = ("wire_of", "wire_between", "has_window", "send_time", "record_rate",
                      "arm_rto", "push_rto", "on_rto", "reply", "send_cnp", "on_ack_packet",
                      "on_cnp_packet", "cc_event", "rate_changed", "pace_after", "schedule_pace")

cdef enum:
    EV_START = 0
    EV_RTO = 1
    EV_PACE = 2

cdef int64_t PS_BITS = 8_000_000_000_000      # ps per byte at 1 bit/s


cdef class NoCongestionControl(CongestionControl):
    """No congestion control: no window, no pacing (the sender runs at line rate).

    Registered as ``"none"``; the RoCE transport's default (htsim_roce without ``-dcqcn``).

    Examples
    --------
    >>> from uesim.protocols.roce import NoCongestionControl
    >>> cc = NoCongestionControl()
    >>> cc.cwnd_bytes, cc.rate_bps
    (0, 0)
    """

    def __init__(self, *, mtu_bytes=4096):
        CongestionControl.__init__(self, 1, mtu_bytes, 0)
        self.cwnd_bytes = 0


cdef class RoceFlow(Flow):
    """One RoCEv2 RC queue pair (sender and receiver).

    Parameters
    ----------
    flow_id, src, dst, size_bytes, start_ps
        As for every :class:`~uesim.protocols.Flow`.
    cc : CongestionControl or None
        Window (``cwnd_bytes``, 0 = none) and pacing rate (``rate_bps``, 0 = line rate);
        ``None``: neither.  DCQCN (``"dcqcn"``) is the usual one.
    lb : LoadBalancer or None
        Entropy of the QP's packets (``None``: entropy 0).  Use one that keeps a single
        value (``FixedEntropy``): go-back-N assumes in-order delivery.
    mtu_bytes, header_bytes : int
        Full data packet and its header on the wire (htsim: 4064 and 64).
    ack_bytes : int
        Size of an ACK or NACK (64).
    cnp_bytes : int, optional
        Size of a CNP (default ``ack_bytes``).
    ack_every_packets : int
        Coalescing: the receiver ACKs every this many in-order packets, and always the
        last one (htsim: 1).
    cnp_interval_ps : int
        Shortest time between two CNPs of a QP; 0 sends one per CE-marked packet.  The
        default, 50 us, is the DCQCN paper's N (Zhu et al. 2015, §3.1).
    min_rto_ps : int
        Lower bound of the retransmission timeout (default 1 ms, htsim's minimum RTO);
        0 turns the timer off (htsim arms none).
    retry_limit : int
        Timeouts in a row without progress before the QP gives up (``aborted``); 0 = never.
        Default 7, the largest retry count an InfiniBand QP can be given.
    htsim_extra_packet : bool
        Send the extra packet htsim_roce sends when the size is a multiple of the payload.
    trace_rate : bool
        Record ``(t_ps, rate_bps)`` at every change of the pacing rate.
    data_prio : int
        Traffic class of data packets (ACKs, NACKs and CNPs use class 0).
    """

    def __init__(self, int32_t flow_id, int32_t src, int32_t dst, int64_t size_bytes,
                 int64_t start_ps, CongestionControl cc, LoadBalancer lb, *,
                 int32_t mtu_bytes=4064, int32_t header_bytes=64, int32_t ack_bytes=64,
                 cnp_bytes=None, int64_t ack_every_packets=1, int64_t cnp_interval_ps=50_000_000,
                 int64_t min_rto_ps=1_000_000_000, int32_t retry_limit=7,
                 bint htsim_extra_packet=False, bint trace_rate=False, int data_prio=1):
        Flow.__init__(self, flow_id, src, dst, size_bytes, start_ps, cc, lb,
                      mtu_bytes=mtu_bytes, header_bytes=header_bytes, data_prio=data_prio)
        if ack_bytes <= 0:
            raise ValueError(f"ack_bytes must be > 0, got {ack_bytes}")
        if cnp_bytes is None:
            cnp_bytes = ack_bytes
        if cnp_bytes <= 0:
            raise ValueError(f"cnp_bytes must be > 0, got {cnp_bytes}")
        if ack_every_packets < 1:
            raise ValueError(f"ack_every_packets must be >= 1, got {ack_every_packets}")
        if cnp_interval_ps < 0:
            raise ValueError(f"cnp_interval_ps must be >= 0, got {cnp_interval_ps}")
        if min_rto_ps < 0:
            raise ValueError(f"min_rto_ps must be >= 0 (0 = no timer), got {min_rto_ps}")
        if retry_limit < 0:
            raise ValueError(f"retry_limit must be >= 0 (0 = unlimited), got {retry_limit}")
        self.init_roce(ack_bytes, cnp_bytes, ack_every_packets, cnp_interval_ps, min_rto_ps, retry_limit,
                       htsim_extra_packet, trace_rate)
        if not type(self).__module__.startswith("uesim."):
            check_python_overrides(self, ROCE_COMPILED_ONLY)

    cdef int init_roce(self, int32_t ack_bytes, int32_t cnp_bytes, int64_t ack_every_packets,
                       int64_t cnp_interval_ps, int64_t min_rto_ps, int32_t retry_limit,
                       bint htsim_extra_packet, bint trace_rate) except -1:
        """What ``__init__`` sets beyond :meth:`Flow.init_flow` (shared with :meth:`spawn`)."""
        self.ack_bytes = ack_bytes
        self.cnp_bytes = cnp_bytes
        self.ack_every_packets = ack_every_packets
        self.cnp_interval_ps = cnp_interval_ps
        self.min_rto_ps = min_rto_ps
        self.rto_ps = min_rto_ps
        self.retry_limit = retry_limit
        self.htsim_extra_packet = htsim_extra_packet
        self.trace_rate = trace_rate
        self.n_send = self.n_packets
        if htsim_extra_packet and self.size_bytes % (self.mtu_bytes - self.header_bytes) == 0:
            self.n_send += 1
        self.last_cnp_ps = -(1 << 62)
        self.tr_last = -1
        return 0

    cdef Flow spawn(self, int32_t flow_id, int32_t src, int32_t dst, int64_t size_bytes,
                    int64_t start_ps, CongestionControl cc, LoadBalancer lb, object extra):
        # the template's settings were checked by its __init__
        cdef RoceFlow f = RoceFlow.__new__(RoceFlow)
        f.init_like(self, flow_id, src, dst, size_bytes, start_ps, cc, lb)
        f.init_roce(self.ack_bytes, self.cnp_bytes, self.ack_every_packets, self.cnp_interval_ps,
                    self.min_rto_ps, self.retry_limit, self.htsim_extra_packet, self.trace_rate)
        return f

    def __dealloc__(self):
        free(self.tr_t)
        free(self.tr_rate)

    # ------------------------------------------------------------------ helpers
    cdef inline int64_t wire_of(self, int64_t psn) noexcept:
        return self.header_bytes + self.payload_of(psn)

    cdef int64_t wire_between(self, int64_t a, int64_t b) noexcept:
        """Wire bytes of PSNs ``a .. b-1``."""
        cdef int64_t n
        if b <= a:
            return 0
        n = (b - a) * self.mtu_bytes
        if a <= self.n_packets - 1 < b:
            n -= self.mtu_bytes - self.wire_of(self.n_packets - 1)
        return n

    cdef bint has_window(self) noexcept:
        cdef int64_t cwnd = self.cc.cwnd_bytes if self.cc is not None else 0
        cdef int64_t inflight
        if cwnd <= 0:
            return True
        inflight = self.wire_between(self.cum_ack, self.next_psn)
        # with nothing in flight one packet may go, whatever the window
        return inflight == 0 or inflight + self.wire_of(self.next_psn) <= cwnd

    cdef int64_t send_time(self) noexcept:
        """When the next data packet may leave, or -1 if there is none it may send."""
        if self.finished or self.aborted or self.next_psn >= self.n_send:
            return -1
        if not self.has_window():
            return -1
        return self.next_send_ps

    cdef int try_send(self) except -1:
        cdef int64_t t = self.send_time()
        if t < 0:
            return 0
        if t <= self.sim.now:
            return self.net.nic_ready(self, self.src, self.dst)
        if not self.pace_pending:
            self.schedule_pace(t)
        return 0

    cdef int schedule_pace(self, int64_t t) except -1:
        # a new pacing event replaces any pending one (lazily: older ones are ignored)
        self.pace_gen += 1
        self.pace_pending = True
        return push_event(self.sim, t, self.handler_id, EV_PACE, self.pace_gen)

    cdef bint can_send(self) noexcept:
        cdef int64_t t = self.send_time()
        return 0 <= t <= self.sim.now

    cdef int record_rate(self) except -1:
        cdef int64_t r, cap
        cdef int64_t* nt
        cdef int64_t* nr
        if not self.trace_rate:
            return 0
        r = self.cc.rate_bps if self.cc is not None else 0
        if r <= 0 or r > self.ctx.link_rate_bps:
            r = self.ctx.link_rate_bps
        if r == self.tr_last:
            return 0
        if self.tr_len == self.tr_cap:
            cap = 2 * self.tr_cap if self.tr_cap else 64
            nt = <int64_t*> realloc(self.tr_t, cap * sizeof(int64_t))
            if nt == NULL:
                raise MemoryError()
            self.tr_t = nt
            nr = <int64_t*> realloc(self.tr_rate, cap * sizeof(int64_t))
            if nr == NULL:
                raise MemoryError()
            self.tr_rate = nr
            self.tr_cap = cap
        self.tr_t[self.tr_len] = self.sim.now
        self.tr_rate[self.tr_len] = r
        self.tr_len += 1
        self.tr_last = r
        return 0

    cdef int64_t pace_after(self, int64_t t, int64_t size) noexcept:
        """When the packet after one of ``size`` wire bytes sent at ``t`` may leave."""
        cdef int64_t rate = self.cc.rate_bps if self.cc is not None else 0
        if 0 < rate < self.ctx.link_rate_bps:
            return t + (size * PS_BITS + rate - 1) // rate
        return t

    cdef int rate_changed(self) except -1:
        """After a CC hook: trace the rate, and apply a new rate to the packet waiting
        for its pacing time at once (as a NIC rate limiter does), not after the gap the
        old rate set."""
        cdef int64_t t
        self.record_rate()
        if self.last_size == 0:
            return 0
        t = self.pace_after(self.last_send_ps, self.last_size)
        if t == self.next_send_ps:
            return 0
        self.next_send_ps = t
        if t > self.sim.now and self.next_psn < self.n_send:
            self.schedule_pace(t)
        return 0

    def rate_trace(self):
        """The recorded pacing rate: ``(t_ps, rate_bps)``, two int64 numpy arrays, one
        entry per change (line rate where the CC sets no rate); empty without
        ``trace_rate``."""
        cdef int64_t i
        t = np.empty(self.tr_len, dtype=np.int64)
        r = np.empty(self.tr_len, dtype=np.int64)
        for i in range(self.tr_len):
            t[i] = self.tr_t[i]
            r[i] = self.tr_rate[i]
        return t, r

    cdef int cc_event(self) except -1:
        self.ctx.now_ps = self.sim.now
        self.ctx.inflight_bytes = self.wire_between(self.cum_ack, self.next_psn)
        self.ctx.backlog_bytes = self.wire_between(self.next_psn, self.n_packets)
        return 0

    # ------------------------------------------------------------------ events
    cdef int on_event(self, int32_t kind, int64_t arg) except -1:
        if kind == EV_START:
            if self.cc is not None:
                self.ctx.clear_event()
                self.cc_event()
                self.cc.on_start(self.ctx)
            self.rate_changed()
            return self.try_send()
        if kind == EV_PACE:
            self.pace_events += 1
            if arg != self.pace_gen:
                return 0
            self.pace_pending = False
            return self.try_send()
        if kind == EV_RTO:
            self.rto_events += 1
            if arg != self.rto_gen or not self.rto_armed:
                return 0
            self.rto_armed = False
            if self.rto_deadline == 0:
                return 0                       # stopped since
            if self.rto_deadline > self.sim.now:
                return self.push_rto()         # restarted since: sleep until the new deadline
            self.rto_deadline = 0
            return self.on_rto()
        if kind >= EV_CC_TIMER:
            self.cc_timer(kind, arg)
            self.rate_changed()
            return self.try_send()
        return 0

    cdef int arm_rto(self) except -1:
        """(Re)start the timer.  A restart only moves the deadline: the pending event, if
        it is not later, wakes up and sleeps on to it (one event per timeout period, not
        one per ACK)."""
        if self.min_rto_ps <= 0:
            self.rto_deadline = 0
            return 0
        self.rto_deadline = self.sim.now + self.rto_ps
        if self.rto_armed and self.rto_event_at <= self.rto_deadline:
            return 0
        return self.push_rto()

    cdef int push_rto(self) except -1:
        self.rto_gen += 1
        self.rto_armed = True
        self.rto_event_at = self.rto_deadline
        return push_event(self.sim, self.rto_deadline, self.handler_id, EV_RTO, self.rto_gen)

    cdef int on_rto(self) except -1:
        cdef int64_t lost
        if self.finished or self.aborted or self.cum_ack >= self.highest_sent:
            return 0
        self.retries += 1
        self.timeouts += 1
        if self.expected > self.cum_ack:
            self.timeouts_no_loss += 1     # the receiver had the oldest unacknowledged packet
        if self.retry_limit > 0 and self.retries > self.retry_limit:
            self.aborted = True            # reported unfinished; no more timers
            self.ctx.cancel_timers()         # nor CC timers (DCQCN's would tick for ever)
            return 0
        lost = self.wire_between(self.cum_ack, self.next_psn)
        self.next_psn = self.cum_ack       # go back N from the oldest unacknowledged
        self.go_back_n += 1
        if self.cc is not None:
            self.ctx.clear_event()
            self.cc_event()
            self.ctx.lost_bytes = lost
            self.cc.on_timeout(self.ctx)
            self.rate_changed()
        self.arm_rto()
        return self.try_send()

    # ------------------------------------------------------------------ sender
    cdef int32_t pull(self) except -2:
        cdef int64_t now = self.sim.now
        cdef int64_t psn, t_next
        cdef int32_t p
        cdef Packet* pk
        if not self.can_send():
            # a rate cut may have moved the pacing time after the NIC queued this flow
            t_next = self.send_time()
            if t_next > now and not self.pace_pending:
                self.schedule_pace(t_next)
            return -1
        psn = self.next_psn
        p = self.new_data_packet(psn)
        pk = &self.net.pkts[p]
        pk.flags = PF_ECT | PF_PINNED      # a queue pair leaves by one NIC port
        if psn < self.highest_sent:
            pk.flags |= PF_RETX
            self.retx_packets += 1
        else:
            self.highest_sent = psn + 1
            self.new_packets += 1
        self.next_psn = psn + 1
        if self.lb is not None:
            self.lb.now_ps = now
            pk.entropy = self.lb.next_entropy()
        else:
            pk.entropy = 0
        self.last_send_ps = now
        self.last_size = pk.size
        self.next_send_ps = self.pace_after(now, pk.size)
        if self.next_send_ps > now and self.next_psn < self.n_send:
            self.schedule_pace(self.next_send_ps)
        if self.rto_deadline == 0:
            self.arm_rto()
        return p

    cdef int on_ack_packet(self, int32_t p, bint nack) except -1:
        cdef Network net = self.net
        cdef Packet* pk = &net.pkts[p]
        cdef int64_t cum = pk.aux, ts = pk.ts_ps, now = self.sim.now
        cdef uint16_t flags = pk.flags
        cdef int64_t newly = 0, count = 0, r, d
        cdef CCContext ctx = self.ctx
        net.release(p)
        if nack:
            self.nacks_received += 1
        else:
            self.acks_received += 1
        if flags & PF_ECN_ECHO:
            self.ecn_echoes += 1
        if self.finished or self.aborted:
            return 0
        if cum > self.n_send:
            cum = self.n_send
        if cum > self.cum_ack:
            count = cum - self.cum_ack
            newly = self.wire_between(self.cum_ack, cum)
            self.cum_ack = cum
            self.retries = 0
            if self.next_psn < cum:
                self.next_psn = cum
            if not (flags & PF_RETX):
                # RTT estimate (RFC 6298 gains) from a first transmission only (Karn)
                r = now - ts
                if self.srtt_ps == 0:
                    self.srtt_ps = r
                    self.rttvar_ps = r // 2
                else:
                    d = self.srtt_ps - r
                    self.rttvar_ps += ((d if d > 0 else -d) - self.rttvar_ps) // 4
                    self.srtt_ps += (r - self.srtt_ps) // 8
                self.rto_ps = self.srtt_ps + 4 * self.rttvar_ps
                if self.rto_ps < self.min_rto_ps:
                    self.rto_ps = self.min_rto_ps
        if self.cc is not None and (newly > 0 or not nack):
            ctx.clear_event()
            self.cc_event()
            ctx.acked_bytes = newly
            ctx.acked_payload = newly - count * self.header_bytes
            ctx.ecn = (flags & PF_ECN_ECHO) != 0
            if count > 0 and not (flags & PF_RETX):
                ctx.rtt_ps = now - ts
            self.cc.on_ack(ctx)
        if nack and cum == self.cum_ack and cum < self.next_psn:
            # go back N: everything from the expected PSN is sent again
            if self.cc is not None:
                ctx.clear_event()
                self.cc_event()
                ctx.nacked_bytes = self.wire_of(cum)
                ctx.ecn = (flags & PF_ECN_ECHO) != 0
                self.cc.on_nack(ctx)
            self.next_psn = cum
            self.go_back_n += 1
        self.rate_changed()
        if self.cum_ack >= self.n_packets:
            self.rto_deadline = 0
            return self.finish()
        if count > 0 or nack:
            if self.cum_ack < self.highest_sent:
                self.arm_rto()
            else:
                self.rto_deadline = 0
        return self.try_send()

    cdef int on_cnp_packet(self, int32_t p) except -1:
        self.net.release(p)
        self.cnps_received += 1
        if self.finished or self.aborted or self.cc is None:
            return 0
        self.ctx.clear_event()
        self.cc_event()
        self.cc.on_cnp(self.ctx)
        self.rate_changed()
        return 0

    # ---------------------------------------------------------------- receiver
    cdef int on_packet(self, int32_t p) except -1:
        cdef uint8_t kind = self.net.pkts[p].kind
        if kind == PKT_DATA:
            return self.on_data(p)
        if kind == PKT_ACK:
            return self.on_ack_packet(p, False)
        if kind == PKT_NACK:
            return self.on_ack_packet(p, True)
        if kind == PKT_CNP:
            return self.on_cnp_packet(p)
        self.net.release(p)
        return 0

    cdef int on_data(self, int32_t p) except -1:
        cdef Network net = self.net
        cdef int64_t psn = net.pkts[p].seq
        cdef int64_t now = self.sim.now
        if net.pkts[p].flags & PF_CE:
            self.ce_received += 1
            if now - self.last_cnp_ps >= self.cnp_interval_ps:
                self.send_cnp(p)
        if psn == self.expected:
            self.expected += 1
            self.nack_sent = False
            self.rx_packets += 1
            self.since_ack += 1
            if self.expected == self.n_packets:
                self.rx_done()
            if self.since_ack >= self.ack_every_packets or psn >= self.n_packets - 1:
                return self.reply(p, PKT_ACK)
            net.release(p)
            return 0
        if psn > self.expected:
            self.ooo_discards += 1
            if not self.nack_sent:
                self.nack_sent = True
                return self.reply(p, PKT_NACK)
            net.release(p)
            return 0
        # a duplicate: re-acknowledge (the ACK it had may have been lost)
        self.dup_packets += 1
        self.since_ack += 1
        if self.since_ack >= self.ack_every_packets or psn >= self.n_packets - 1:
            return self.reply(p, PKT_ACK)
        net.release(p)
        return 0

    cdef int reply(self, int32_t p, uint8_t kind) except -1:
        """Turn data packet ``p`` into an ACK or NACK carrying the expected PSN."""
        cdef Packet* pk = &self.net.pkts[p]
        pk.kind = kind
        pk.flags = (PF_ECN_ECHO if (pk.flags & PF_CE) else 0) | (pk.flags & PF_RETX)
        pk.src = self.dst
        pk.dst = self.src
        pk.size = self.ack_bytes
        pk.payload = 0
        pk.prio = 0
        pk.aux = self.expected
        pk.hops = 0
        if kind == PKT_NACK:
            self.nacks_sent += 1
        else:
            self.since_ack = 0
            self.acks_sent += 1
        return self.net.send(p)

    cdef int send_cnp(self, int32_t p) except -1:
        """Send a CNP for the marked data packet ``p`` (which stays untouched)."""
        cdef Network net = self.net
        cdef uint32_t ev = net.pkts[p].entropy
        cdef int64_t psn = net.pkts[p].seq
        cdef int32_t q = net.alloc()        # may move the pool: no Packet* held across it
        cdef Packet* pk = &net.pkts[q]
        pk.kind = PKT_CNP
        pk.flow = self.flow_id
        net.own(q, self.endpoint_id)
        pk.src = self.dst
        pk.dst = self.src
        pk.size = self.cnp_bytes
        pk.prio = 0
        pk.entropy = ev
        pk.seq = psn
        pk.ts_ps = self.sim.now
        self.last_cnp_ps = self.sim.now
        self.cnps_sent += 1
        return net.send(q)

    @property
    def nacks(self):
        """NACKs the sender received."""
        return self.nacks_received

    cdef bint counter(self, int code, int64_t* out) noexcept:
        if code == CTR_ABORTED: out[0] = self.aborted
        elif code == CTR_N_SEND: out[0] = self.n_send
        elif code == CTR_NEW_PACKETS: out[0] = self.new_packets
        elif code == CTR_ACKS_RECEIVED: out[0] = self.acks_received
        elif code == CTR_NACKS_RECEIVED: out[0] = self.nacks_received
        elif code == CTR_CNPS_SENT: out[0] = self.cnps_sent
        elif code == CTR_CNPS_RECEIVED: out[0] = self.cnps_received
        elif code == CTR_OOO_DISCARDS: out[0] = self.ooo_discards
        elif code == CTR_RX_PACKETS: out[0] = self.rx_packets
        elif code == CTR_ACKS_SENT: out[0] = self.acks_sent
        elif code == CTR_NACKS_SENT: out[0] = self.nacks_sent
        else: return Flow.counter(self, code, out)
        return True
