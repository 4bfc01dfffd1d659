# cython: language_level=3
"""The Ultra Ethernet packet delivery sublayer (PDS) and the RCCC pull pacer.

Each :class:`UetFlow` is both ends of one flow, as in htsim's ``UecSrc``/``UecSink``
(behaviour per ``MODEL-uec.md`` §6, §8, §9 of the reference):

Sender
    Packets carry sequence numbers (PSNs).  A packet may leave when there is something to
    send (retransmissions first, lowest PSN first), the congestion control's window allows
    it (``cwnd >= in_flight + size``) and, with receiver credit (RCCC), credit is positive.
    Every packet asks its load balancer for an entropy value (EV).  The ack-request bit
    (``PF_AR``) is set on the last packet, when the window has no room for another packet,
    when credit is used up, on every retransmission and (unlike htsim, whose front end
    turns it off) once the oldest packet in flight was sent ``ack_request_age`` x
    ``rto_ps`` ago.  Bytes in flight fall by the
    cumulative received bytes each ACK echoes, and by the size of a NACKed or timed-out
    packet.  A trimmed packet comes back as a NACK and is retransmitted at once; a packet
    unacknowledged ``rto_ps`` after it was sent is retransmitted, and its EV is reported to
    the load balancer as a timeout.
Receiver
    ACKs an ECN-marked packet, an ack-request packet, the first packet, a duplicate, and
    otherwise every ``ack_every_bytes`` of wire bytes (16 KB: every 4th full packet); an
    ACK carries the cumulative ACK, a 64-bit SACK bitmap, the PSN and EV of the packet that
    triggered it, its ECN mark, and the wire bytes received so far.  A trimmed packet is
    answered by a NACK (with a last-hop flag when it was cut at the receiver's downlink).

Modes: RUD (reliable unordered, the default, for spraying), ROD (reliable ordered: the
receiver accepts only the next PSN and NACKs it once per gap; the sender goes back N) and
UUD (unreliable: no ACKs, no retransmission; the flow ends when every packet has arrived
or been reported trimmed at the receiver).

ACKs, NACKs and pulls are 64 B header packets of class 0, served ahead of data.
"""
from libc.stdlib cimport calloc, free
from libc.stdint cimport INT64_MAX, uint16_t, uint64_t

from uesim.fabric.engine cimport Simulator, push_event
from uesim.fabric.network cimport (Network, Packet, PKT_DATA, PKT_ACK, PKT_NACK, PKT_CTRL,
                                   PF_ECT, PF_CE, PF_ECN_ECHO, PF_RETX, PF_TRIMMED, PF_AR,
                                   PF_LAST_HOP, PF_SPEC, PF_GAP)
from uesim.protocols.hooks cimport CCContext, CongestionControl, LoadBalancer, EV_CC_TIMER
from uesim.protocols.flow cimport (CTR_ABORTED, CTR_NEW_PACKETS, CTR_ACKS_RECEIVED,
                                   CTR_NACKS_RECEIVED, CTR_RX_PACKETS, CTR_ACKS_SENT,
                                   CTR_NACKS_SENT)

cdef enum:
    EV_START = 0
    EV_RTO = 1
    EV_PULL = 2

cdef enum:
    UNSENT = 0
    OUTSTANDING = 1
    RTX_QUEUED = 2
    ACKED = 3

MODES = {"rud": MODE_RUD, "rod": MODE_ROD, "uud": MODE_UUD}


cdef inline int64_t imax(int64_t a, int64_t b) noexcept:
    return a if a > b else b


cdef inline int64_t imin(int64_t a, int64_t b) noexcept:
    return a if a < b else b


cdef inline uint64_t sack_bits(const uint8_t* received, int64_t n, int64_t ref) noexcept:
    """64-bit SACK bitmap: bit i set if PSN ``ref + i`` (< n) has been received."""
    cdef uint64_t bits = 0
    cdef int64_t i
    for i in range(64):
        if ref + i >= n:
            break
        if ref + i >= 0 and received[ref + i]:
            bits |= (<uint64_t> 1) << i
    return bits


cdef inline int64_t credit_request(int64_t backlog, int64_t rtx_backlog, int64_t window_cap,
                                   int64_t max_credit, int64_t credit, bint speculating,
                                   int64_t mtu, int64_t quantum) noexcept:
    """RCCC: the credit a sender asks for beyond what it was granted (htsim
    ``computePullTarget``): what it could send, capped by its window plus an MTU and its
    maximum credit, less the credit it holds; at least an MTU while speculating; whole
    quanta."""
    cdef int64_t want = imin(imin(backlog + rtx_backlog, window_cap), max_credit) - credit
    if speculating and want < mtu:
        want = mtu
    if want < 0:
        want = 0
    return (want + quantum - 1) // quantum * quantum


def sack_bitmap(received, int64_t ref, n_packets=None):
    """The SACK bitmap an ACK carries for ``received`` (a sequence of 0/1 per PSN) from
    ``ref``, for a flow of ``n_packets`` (default: ``len(received)``).

    Examples
    --------
    >>> bin(sack_bitmap([1, 1, 0, 1, 0, 0, 1], 1))
    '0b100101'
    """
    cdef bytes buf = bytes(bytearray(1 if r else 0 for r in received))
    n = len(buf) if n_packets is None else n_packets
    if not (0 <= n <= len(buf)):
        raise ValueError(f"n_packets must be in 0..{len(buf)}, got {n}")
    return sack_bits(<const uint8_t*> <char*> buf, n, ref)


def sacked_psns(int64_t ref, uint64_t bits, int64_t n_packets):
    """PSNs a SACK bitmap from ``ref`` acknowledges (the sender's reading of it).

    Examples
    --------
    >>> sacked_psns(1, 0b100101, 7)
    [1, 3, 6]
    """
    return [ref + i for i in range(64) if (bits >> i) & 1 and 0 <= ref + i < n_packets]


def rccc_credit_request(*, int64_t backlog, int64_t rtx_backlog, int64_t window_cap,
                        int64_t max_credit, int64_t credit, bint speculating, int64_t mtu,
                        int64_t quantum=256):
    """RCCC's credit request beyond what was granted, as the sender computes it per packet.

    Examples
    --------
    >>> rccc_credit_request(backlog=1_000_000, rtx_backlog=0, window_cap=266_000,
    ...                     max_credit=262_926, credit=-4150, speculating=False, mtu=4150)
    267264
    """
    return credit_request(backlog, rtx_backlog, window_cap, max_credit, credit, speculating,
                          mtu, quantum)


cdef class PullPacer(EventHandler):
    """RCCC's receiver-side pull pacer: one per receiving host, shared by its flows.

    It sends one pull at a time, round robin over the flows that asked for credit, each
    granting up to ``quanta_per_pull`` quanta of ``quantum_bytes``; the next pull is due
    after the granted quanta at ``rate_share`` of the host's link rate (htsim: 256 B quanta,
    16 KiB per pull, 99% of line rate).  A flow whose request is fully granted goes to an
    idle list; while no flow is active, idle flows get unsolicited "slow pulls" of
    ``quanta_per_pull`` quanta each, round robin, until the unsolicited credit reaches
    ``max_credit_bytes`` (reset when a flow asks again), as htsim's pacer does
    (MODEL-uec.md section 8).  This is how a sender that has used up its credit and has
    a packet to retransmit, so no data packet to ask with, gets to send again.

    Parameters
    ----------
    net : Network
    host : int
        The receiving host.
    max_credit_bytes : int
        Most credit a sender may hold (htsim: its maximum window, 1.5 BDP).
    quantum_bytes, quanta_per_pull : int
    rate_share : float
    """

    def __init__(self, Network net, int32_t host, int64_t max_credit_bytes, *,
                 int32_t quantum_bytes=256, int32_t quanta_per_pull=64, double rate_share=0.99):
        if quantum_bytes <= 0 or quanta_per_pull <= 0:
            raise ValueError("quantum_bytes and quanta_per_pull must be > 0")
        if not (0.0 < rate_share <= 1.0):
            raise ValueError(f"rate_share must be in (0, 1], got {rate_share}")
        self.net = net
        self.host = host
        self.quantum_bytes = quantum_bytes
        self.quanta_per_pull = quanta_per_pull
        self.pull_bytes = quantum_bytes * quanta_per_pull
        self.max_credit_bytes = max_credit_bytes
        rate = net.host_rate_bps(host)
        self.ps_per_quantum = <int64_t> ((8 * quantum_bytes * 1_000_000_000_000 // rate) / rate_share)
        self.active = []
        self.head = 0
        self.idle = []
        self.idle_head = 0
        net.sim.register(self)

    cdef int add(self, UetFlow f) except -1:
        if not f.in_pacer:
            f.in_pacer = True
            self.active.append(f)
            self.unsolicited_bytes = 0
            self.wake()
        return 0

    cdef int wake(self) except -1:
        if not self.pending:
            self.pending = True
            push_event(self.sim, self.sim.now, self.handler_id, EV_PULL, 0)
        return 0

    cdef int on_event(self, int32_t kind, int64_t arg) except -1:
        cdef UetFlow f
        cdef int32_t q
        self.pending = False
        while self.active:
            if self.head >= len(self.active):
                self.head = 0
            f = <UetFlow> self.active[self.head]
            q = f.grant(self.quanta_per_pull)
            if f.pull_target <= f.granted or f.finished:
                f.in_pacer = False
                del self.active[self.head]
                if not f.finished:
                    self.idle.append(f)
            else:
                self.head += 1
            if q > 0:
                self.pulls += 1
                self.pending = True
                push_event(self.sim, self.sim.now + q * self.ps_per_quantum, self.handler_id,
                           EV_PULL, 0)
                return 0
        # no flow is asking: unsolicited slow pulls to the idle ones
        while self.idle and self.unsolicited_bytes < self.max_credit_bytes:
            if self.idle_head >= len(self.idle):
                self.idle_head = 0
            f = <UetFlow> self.idle[self.idle_head]
            if f.finished or f.in_pacer:
                del self.idle[self.idle_head]
                continue
            q = f.grant_unsolicited(self.quanta_per_pull)
            self.idle_head += 1
            self.unsolicited_bytes += q * self.quantum_bytes
            self.pulls += 1
            self.slow_pulls += 1
            self.pending = True
            push_event(self.sim, self.sim.now + q * self.ps_per_quantum, self.handler_id, EV_PULL, 0)
            return 0
        return 0


cdef class UetFlow(Flow):
    """One Ultra Ethernet flow (sender and receiver).

    Parameters
    ----------
    flow_id, src, dst, size_bytes, start_ps
        As for every :class:`~uesim.protocols.Flow`.
    cc : CongestionControl
        The sender's congestion control (its ``cwnd_bytes`` is the window); ignored when
        ``sender_cc`` is False.
    lb : LoadBalancer
    mtu_bytes, header_bytes, ack_bytes : int
        Full packet and header on the wire; ACK/NACK/pull size.
    rto_ps : int
        Retransmission timeout of a packet (htsim: 15 us + 6 queue drain times).
    ack_every_bytes : int
        The receiver ACKs at least every this many wire bytes.
    mode : {"rud", "rod", "uud"}
    sender_cc : bool
        Apply the congestion control's window.
    receiver_cc : bool
        RCCC: send only against credit granted by the receiver's :class:`PullPacer`
        (``pacer``), starting with speculative credit of 1.5 BDP.
    pacer : PullPacer, optional
        Required with ``receiver_cc``.
    ack_request_age : float
        In [0, 1): a new packet carries the ACK-request bit once the oldest packet in
        flight was sent this fraction of ``rto_ps`` ago (0.5; 0: never, as htsim), so an
        ACK held back for ``ack_every_bytes`` cannot outwait the timer.
    max_rto_retries : int
        Give up (``aborted``; the flow is reported unfinished) when a packet that has been
        sent this many times more times out again, so a flow that cannot finish (every
        path down) never keeps a run going forever.

    Examples
    --------
    >>> from uesim.fabric import build_network
    >>> from uesim.topologies import leaf_spine
    >>> from uesim.protocols import CongestionControl, ObliviousSpray
    >>> from uesim.protocols.uet import UetFlow
    >>> built = build_network(leaf_spine(2, 2, 2, host_rate_bps=100_000_000_000,
    ...     fabric_rate_bps=100_000_000_000, delay_ps=1_000_000))
    >>> f = UetFlow(0, 0, 3, 2_000_000, 0, CongestionControl(200_000, 4150), ObliviousSpray(1, 16),
    ...             mtu_bytes=4150, rto_ps=100_000_000).attach(built.net, base_rtt_ps=9_400_000)
    >>> built.sim.run()
    >>> f.finished, f.n_packets, f.retx_packets, round(f.fct_ps / 1e6, 1)
    (True, 490, 0, 171.5)
    """

    def __init__(self, int32_t flow_id, int32_t src, int32_t dst, int64_t size_bytes,
                 int64_t start_ps, CongestionControl cc, LoadBalancer lb, *,
                 int32_t mtu_bytes=4150, int32_t header_bytes=64, int32_t ack_bytes=64,
                 int64_t rto_ps=100_656_000, int64_t ack_every_bytes=16384, str mode="rud",
                 bint sender_cc=True, bint receiver_cc=False, PullPacer pacer=None,
                 int data_prio=1, int32_t max_rto_retries=100, double ack_request_age=0.5):
        Flow.__init__(self, flow_id, src, dst, size_bytes, start_ps, cc, lb,
                      mtu_bytes=mtu_bytes, header_bytes=header_bytes, data_prio=data_prio)
        if ack_bytes <= 0:
            raise ValueError(f"ack_bytes must be > 0, got {ack_bytes}")
        if rto_ps <= 0:
            raise ValueError(f"rto_ps must be > 0, got {rto_ps}")
        if ack_every_bytes <= 0:
            raise ValueError(f"ack_every_bytes must be > 0, got {ack_every_bytes}")
        if mode not in MODES:
            raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if sender_cc and cc is None:
            raise ValueError("sender_cc needs a congestion control")
        if lb is None:
            raise ValueError("a UET flow needs a load balancer")
        if receiver_cc and pacer is None:
            raise ValueError("receiver_cc needs the receiving host's PullPacer")
        if pacer is not None and pacer.host != dst:
            raise ValueError(f"the pacer belongs to host {pacer.host}, not to the receiver {dst}")
        if not (1 <= max_rto_retries <= 250):
            raise ValueError(f"max_rto_retries must be in 1..250, got {max_rto_retries}")
        if not (0.0 <= ack_request_age < 1.0):
            raise ValueError(f"ack_request_age must be in [0, 1), got {ack_request_age}")
        self.init_uet(ack_bytes, rto_ps, ack_every_bytes, MODES[mode], sender_cc, receiver_cc, pacer,
                      max_rto_retries, ack_request_age)

    cdef int init_uet(self, int32_t ack_bytes, int64_t rto_ps, int64_t ack_every_bytes, int mode,
                      bint sender_cc, bint receiver_cc, PullPacer pacer, int32_t max_rto_retries,
                      double ack_request_age) except -1:
        """What ``__init__`` sets beyond :meth:`Flow.init_flow` (shared with :meth:`spawn`)."""
        self.max_rto_retries = max_rto_retries
        self.ack_request_age = ack_request_age
        self.ar_age_ps = <int64_t> (ack_request_age * rto_ps)
        self.ack_bytes = ack_bytes
        self.rto_ps = rto_ps
        self.ack_every_bytes = ack_every_bytes
        self.mode = mode
        self.sender_cc = sender_cc and self.mode != MODE_UUD
        self.receiver_cc = receiver_cc and self.mode != MODE_UUD
        self.pacer = pacer
        if self.receiver_cc and self.cc is not None and hasattr(self.cc, "receiver_cc"):
            self.cc.receiver_cc = True        # NSCC: last-hop trims do not cut the window
        n = self.n_packets
        self.send_ts = <int64_t*> calloc(n, sizeof(int64_t))
        self.tx_ev = <uint32_t*> calloc(n, sizeof(uint32_t))
        self.tx_count = <uint8_t*> calloc(n, sizeof(uint8_t))
        self.st = <uint8_t*> calloc(n, sizeof(uint8_t))
        self.rcv = <uint8_t*> calloc(n, sizeof(uint8_t))
        if (self.send_ts == NULL or self.tx_ev == NULL or self.tx_count == NULL or
                self.st == NULL or self.rcv == NULL):
            raise MemoryError()
        self.backlog_bytes = n * self.header_bytes + self.size_bytes
        self.highest_rx = -1
        self.rod_nacked = -1
        self.ar_psn = -1
        return 0

    cdef Flow spawn(self, int32_t flow_id, int32_t src, int32_t dst, int64_t size_bytes,
                    int64_t start_ps, CongestionControl cc, LoadBalancer lb, object extra):
        # the template's settings were checked by its __init__; ``extra``: the receiver's pacer
        cdef UetFlow f = UetFlow.__new__(UetFlow)
        f.init_like(self, flow_id, src, dst, size_bytes, start_ps, cc, lb)
        if self.receiver_cc and (extra is None or (<PullPacer?> extra).host != dst):
            raise ValueError(f"flow {flow_id}: receiver_cc needs the receiving host's PullPacer")
        f.init_uet(self.ack_bytes, self.rto_ps, self.ack_every_bytes, self.mode, self.sender_cc,
                   self.receiver_cc, extra, self.max_rto_retries, self.ack_request_age)
        return f

    def __dealloc__(self):
        free(self.send_ts)
        free(self.tx_ev)
        free(self.tx_count)
        free(self.st)
        free(self.rcv)

    def psn_state(self, int64_t psn):
        """Sender and receiver state of one packet (for tests and debugging): a dict with
        ``state`` (unsent, outstanding, rtx_queued, acked), ``transmissions``,
        ``sent_ps`` (last transmission), ``entropy`` and ``received``."""
        if not (0 <= psn < self.n_packets):
            raise IndexError(f"psn {psn} out of range 0..{self.n_packets - 1}")
        return {"state": ("unsent", "outstanding", "rtx_queued", "acked")[self.st[psn]],
                "transmissions": self.tx_count[psn], "sent_ps": self.send_ts[psn],
                "entropy": self.tx_ev[psn], "received": bool(self.rcv[psn])}

    @property
    def mode_name(self):
        return {MODE_RUD: "rud", MODE_ROD: "rod", MODE_UUD: "uud"}[self.mode]

    cdef inline int32_t wire_size(self, int64_t psn) noexcept:
        return self.header_bytes + self.payload_of(psn)

    # ------------------------------------------------------------------ events
    cdef int on_event(self, int32_t kind, int64_t arg) except -1:
        if kind == EV_START:
            self.ctx.now_ps = self.sim.now
            self.ctx.backlog_bytes = self.backlog_bytes
            if self.cc is not None:
                self.cc.on_start(self.ctx)
            if self.receiver_cc:
                self.speculating = True
                self.credit_bytes = self.pacer.max_credit_bytes
            return self.try_send()
        if kind == EV_RTO:
            if arg == self.timer_gen and self.timer_armed:
                self.timer_armed = False
                return self.on_rto()
            return 0
        if kind >= EV_CC_TIMER:
            self.cc_timer(kind, arg)
            return self.try_send()
        return 0

    cdef int arm_timer(self, int64_t at_ps) except -1:
        self.timer_gen += 1
        self.timer_armed = True
        push_event(self.sim, at_ps, self.handler_id, EV_RTO, self.timer_gen)
        return 0

    # ------------------------------------------------------------------ sender
    cdef int64_t next_to_send(self) noexcept:
        """The PSN to send now (a retransmission first), if permitted; else -1."""
        cdef int64_t psn, size
        if self.finished or self.aborted:
            return -1
        if self.rtx_pending > 0:
            psn = self.cum_ack
            while self.st[psn] != RTX_QUEUED:
                psn += 1
        elif self.next_psn < self.n_packets:
            psn = self.next_psn
        else:
            return -1
        if self.receiver_cc and self.credit_bytes <= 0:
            return -1
        if self.sender_cc and self.inflight_bytes > 0:
            # (with nothing in flight one packet may go, whatever the window: a window
            # below one packet would otherwise stop the flow for good)
            size = self.wire_size(psn)
            if self.cc.cwnd_bytes < self.inflight_bytes + size:
                return -1
        return psn

    cdef int try_send(self) except -1:
        if self.next_to_send() >= 0:
            self.net.nic_ready(self, self.src, self.dst)
        elif (self.sender_cc and self.inflight_bytes > 0 and not self.finished and not self.aborted
              and (self.rtx_pending > 0 or self.next_psn < self.n_packets)
              and not (self.receiver_cc and self.credit_bytes <= 0) and not self.ack_due()):
            # the window closed below what is in flight, and nothing in flight makes the
            # receiver answer (no ack-request packet, fewer than ack_every_bytes): without
            # help the flow would wait for its RTO with nothing lost
            self.request_ack()
        return 0

    cdef bint ack_due(self) noexcept:
        """An ACK is coming without asking: an ack-request packet is still outstanding, or
        at least ``ack_every_bytes`` are in flight (the receiver ACKs every that many)."""
        if self.ar_psn >= 0 and self.st[self.ar_psn] == OUTSTANDING:
            return True
        return self.inflight_bytes >= self.ack_every_bytes

    cdef int request_ack(self) except -1:
        """Send an ACK request (a 64 B control packet, the PDS's ACK_REQ): the receiver
        ACKs what it has now, and again once every PSN sent so far has arrived."""
        cdef Network net = self.net
        cdef int32_t p
        cdef Packet* pk
        cdef int64_t psn = self.next_psn - 1
        while psn >= self.cum_ack and self.st[psn] != OUTSTANDING:
            psn -= 1
        if psn < self.cum_ack:
            return 0                  # nothing outstanding: in flight is only rtx-queued echo
        self.ar_psn = psn             # answered when the receiver has everything up to it
        self.ack_requests += 1
        p = net.alloc()
        pk = &net.pkts[p]
        pk.kind = PKT_CTRL
        pk.flags = PF_AR
        pk.flow = self.flow_id
        net.own(p, self.endpoint_id)
        pk.src = self.src
        pk.dst = self.dst
        pk.size = self.ack_bytes
        pk.payload = 0
        pk.prio = 0
        pk.seq = -1
        # the horizon: everything sent and still in flight (PSNs queued for retransmission
        # above the highest outstanding one are not coming until the window opens)
        pk.aux = psn + 1
        pk.entropy = self.tx_ev[psn]
        pk.ts_ps = self.sim.now
        net.send(p)
        return 0

    cdef bint can_send(self) noexcept:
        return self.next_to_send() >= 0

    cdef int32_t pull(self) except -2:
        cdef int64_t psn = self.next_to_send()
        cdef int64_t now = self.sim.now
        cdef int32_t p, size
        cdef int64_t cap
        cdef Packet* pk
        cdef bint rtx
        if psn < 0:
            return -1
        p = self.new_data_packet(psn)
        pk = &self.net.pkts[p]
        size = pk.size
        rtx = self.st[psn] == RTX_QUEUED
        pk.flags = PF_ECT
        if rtx:
            pk.flags |= PF_RETX | PF_AR
            self.rtx_pending -= 1
            self.retx_packets += 1
        else:
            self.next_psn += 1
            self.new_packets += 1
            self.backlog_bytes -= size
        if self.tx_count[psn] < 255:
            self.tx_count[psn] += 1
        self.st[psn] = OUTSTANDING
        self.send_ts[psn] = now
        self.lb.now_ps = now
        self.tx_ev[psn] = self.lb.next_entropy()
        pk.entropy = self.tx_ev[psn]
        self.inflight_bytes += size
        if self.receiver_cc:
            self.credit_bytes -= size
            if self.speculating:
                pk.flags |= PF_SPEC
            # the credit this sender wants granted in all, carried to the receiver
            cap = self.cc.cwnd_bytes + self.mtu_bytes if self.sender_cc else INT64_MAX
            pk.aux2 = self.pull_seen + credit_request(
                self.backlog_bytes, self.rtx_bytes(), cap, self.pacer.max_credit_bytes,
                self.credit_bytes, self.speculating, self.mtu_bytes, self.pacer.quantum_bytes)
        if not rtx:
            if self.next_psn == self.n_packets:
                pk.flags |= PF_AR
            elif self.receiver_cc and self.credit_bytes <= 0:
                pk.flags |= PF_AR
            elif self.sender_cc and self.inflight_bytes + size >= self.cc.cwnd_bytes:
                pk.flags |= PF_AR
            elif (self.ar_age_ps > 0 and self.st[self.cum_ack] == OUTSTANDING
                  and now - self.send_ts[self.cum_ack] >= self.ar_age_ps):
                # the oldest packet in flight is well into its timeout, and its ACK may
                # wait for ack_every_bytes more: a flow held to a small share of its NIC
                # (hundreds of peers in an all-to-all) would time out with nothing lost
                pk.flags |= PF_AR
        if pk.flags & PF_AR:
            self.ar_psn = psn
        if self.mode != MODE_UUD and not self.timer_armed:
            self.arm_timer(now + self.rto_ps)
        return p

    cdef int64_t rtx_bytes(self) noexcept:
        cdef int64_t psn, n = 0, left = self.rtx_pending
        psn = self.cum_ack
        while left > 0 and psn < self.next_psn:
            if self.st[psn] == RTX_QUEUED:
                n += self.wire_size(psn)
                left -= 1
            psn += 1
        return n

    cdef int64_t ack_one(self, int64_t psn) noexcept:
        """Mark ``psn`` acknowledged; return its payload if this newly acknowledged it."""
        cdef uint8_t s = self.st[psn]
        if s == OUTSTANDING:
            self.st[psn] = ACKED
            return self.payload_of(psn)
        if s == RTX_QUEUED:
            # acked after all: it left the in-flight count when it was NACKed or timed
            # out, and the received-bytes echo takes it out once more
            self.st[psn] = ACKED
            self.rtx_pending -= 1
            self.inflight_bytes += self.wire_size(psn)
            return self.payload_of(psn)
        return 0

    cdef int queue_rtx(self, int64_t psn) noexcept:
        self.st[psn] = RTX_QUEUED
        self.rtx_pending += 1
        self.inflight_bytes -= self.wire_size(psn)
        return 0

    cdef int stop_speculating(self) noexcept:
        if self.speculating:
            self.speculating = False
            if self.credit_bytes > 0:
                self.credit_bytes = 0
        return 0

    cdef int on_ack_packet(self, int32_t p) except -1:
        cdef Network net = self.net
        cdef Packet* pk = &net.pkts[p]
        cdef int64_t now = self.sim.now
        cdef int64_t psn = pk.seq, cum = pk.aux, recvd = pk.aux2, ref = pk.ref
        cdef uint64_t sack = pk.sack
        cdef bint ecn = (pk.flags & PF_ECN_ECHO) != 0
        cdef bint rtx_echo = (pk.flags & PF_RETX) != 0
        cdef uint32_t ev = pk.entropy
        cdef int64_t newly = 0, raw = -1, payload = 0, q, i
        cdef CCContext ctx = self.ctx
        net.release(p)
        self.acks_received += 1
        if ecn:
            self.ecn_echoes += 1
        if self.finished:
            return 0
        if recvd > self.last_recvd_bytes:
            newly = recvd - self.last_recvd_bytes
            self.last_recvd_bytes = recvd
            self.inflight_bytes -= newly
        # an RTT sample only from a packet whose transmission the echo identifies
        if 0 <= psn < self.n_packets and self.st[psn] == OUTSTANDING:
            if (self.tx_count[psn] == 1 and not rtx_echo) or (self.tx_count[psn] == 2 and rtx_echo):
                raw = now - self.send_ts[psn]
        if cum > self.n_packets:
            cum = self.n_packets
        for q in range(self.cum_ack, cum):
            payload += self.ack_one(q)
        if cum > self.cum_ack:
            self.cum_ack = cum
        i = 0
        while sack != 0 and i < 64:
            if (sack & 1) and 0 <= ref + i < self.n_packets:
                payload += self.ack_one(ref + i)
            sack >>= 1
            i += 1
        self.lb.now_ps = now
        self.lb.on_feedback(ev, ecn, False, False)
        if self.cc is not None:
            ctx.clear_event()
            ctx.now_ps = now
            ctx.inflight_bytes = self.inflight_bytes
            ctx.backlog_bytes = self.backlog_bytes
            ctx.acked_bytes = newly
            ctx.acked_payload = payload
            ctx.rtt_ps = raw
            ctx.ecn = ecn
            self.cc.on_ack(ctx)
        self.stop_speculating()
        if self.cum_ack >= self.n_packets:
            self.timer_gen += 1
            self.timer_armed = False
            return self.finish()
        return self.try_send()

    cdef int on_nack_packet(self, int32_t p) except -1:
        cdef Network net = self.net
        cdef Packet* pk = &net.pkts[p]
        cdef int64_t now = self.sim.now
        cdef int64_t psn = pk.seq, q
        cdef bint ecn = (pk.flags & PF_ECN_ECHO) != 0
        cdef bint last_hop = (pk.flags & PF_LAST_HOP) != 0
        cdef uint32_t ev = pk.entropy
        cdef uint16_t pk_flags = pk.flags
        cdef CCContext ctx = self.ctx
        net.release(p)
        self.nacks_received += 1
        if self.finished or not (0 <= psn < self.n_packets) or self.st[psn] != OUTSTANDING:
            return 0
        if self.cc is not None:
            ctx.clear_event()
            ctx.now_ps = now
            ctx.inflight_bytes = self.inflight_bytes
            ctx.backlog_bytes = self.backlog_bytes
            ctx.nacked_bytes = self.wire_size(psn)
            ctx.rtt_ps = -1 if (pk_flags & PF_GAP) else now - self.send_ts[psn]
            ctx.ecn = ecn
            ctx.last_hop = last_hop
            self.cc.on_nack(ctx)
        self.queue_rtx(psn)
        if self.mode == MODE_ROD:
            # go back N: everything sent after the lost packet is sent again
            for q in range(psn + 1, self.next_psn):
                if self.st[q] == OUTSTANDING:
                    self.queue_rtx(q)
        self.lb.now_ps = now
        if last_hop:
            self.lb.on_feedback(ev, ecn, False, False)
        else:
            self.lb.on_feedback(ev, False, True, False)
        self.stop_speculating()
        return self.try_send()

    cdef int on_pull_packet(self, int32_t p) except -1:
        cdef int64_t granted = self.net.pkts[p].aux
        self.net.release(p)
        self.pulls_received += 1
        if self.finished:
            return 0
        self.stop_speculating()
        if granted > self.pull_seen:
            self.credit_bytes += granted - self.pull_seen
            self.pull_seen = granted
            if self.credit_bytes > self.pacer.max_credit_bytes:
                self.credit_bytes = self.pacer.max_credit_bytes
        return self.try_send()

    cdef int on_rto(self) except -1:
        cdef int64_t now = self.sim.now
        cdef int64_t psn, oldest = INT64_MAX, lost = 0
        cdef CCContext ctx = self.ctx
        if self.finished or self.aborted:
            return 0
        for psn in range(self.cum_ack, self.next_psn):
            if self.st[psn] != OUTSTANDING:
                continue
            if self.send_ts[psn] + self.rto_ps <= now:
                if self.tx_count[psn] > self.max_rto_retries:
                    self.aborted = True      # reported unfinished; no more timers
                    self.ctx.cancel_timers()         # nor CC timers (DCQCN's would tick for ever)
                    return 0
                lost += self.wire_size(psn)
                if self.rcv[psn]:
                    self.timeouts_no_loss += 1     # it had arrived: its ACK was what was missing
                self.queue_rtx(psn)
                self.lb.now_ps = now
                self.lb.on_feedback(self.tx_ev[psn], False, False, True)
            elif self.send_ts[psn] < oldest:
                oldest = self.send_ts[psn]
        if lost > 0:
            self.timeouts += 1
            if self.cc is not None:
                ctx.clear_event()
                ctx.now_ps = now
                ctx.inflight_bytes = self.inflight_bytes
                ctx.backlog_bytes = self.backlog_bytes
                ctx.lost_bytes = lost
                self.cc.on_timeout(ctx)
        if oldest != INT64_MAX:
            self.arm_timer(oldest + self.rto_ps)
        return self.try_send()

    # ---------------------------------------------------------------- receiver
    cdef int on_packet(self, int32_t p) except -1:
        cdef uint8_t kind = self.net.pkts[p].kind
        if kind == PKT_DATA:
            return self.on_data(p)
        if kind == PKT_ACK:
            return self.on_ack_packet(p)
        if kind == PKT_NACK:
            return self.on_nack_packet(p)
        if kind == PKT_CTRL:
            if self.net.pkts[p].flags & PF_AR:
                return self.on_ack_request(p)
            return self.on_pull_packet(p)
        self.net.release(p)
        return 0

    cdef int on_data(self, int32_t p) except -1:
        cdef Network net = self.net
        cdef Packet* pk = &net.pkts[p]
        cdef int64_t psn = pk.seq
        cdef uint16_t flags = pk.flags
        cdef bint ack_now
        if self.receiver_cc and pk.aux2 > self.pull_target:
            self.pull_target = pk.aux2
            if self.pull_target > self.granted and not self.in_pacer:
                self.pacer.add(self)
        if flags & PF_TRIMMED:
            if self.mode == MODE_UUD:
                self.rx_lost += 1
                net.release(p)
                return self.uud_check()
            if self.rcv[psn]:
                return self.send_ack(p, psn, True)
            return self.send_nack(p, psn)
        if self.rcv[psn]:
            self.dup_packets += 1
            if self.mode == MODE_UUD:
                net.release(p)
                return 0
            return self.send_ack(p, psn, True)
        if self.mode == MODE_ROD and psn != self.expected:
            # ordered delivery: only the next PSN is accepted; the gap is NACKed once
            if psn > self.expected and self.rod_nacked != self.expected:
                self.rod_nacked = self.expected
                pk.flags &= ~PF_CE
                return self.send_nack(p, self.expected, True)
            net.release(p)
            return 0
        self.rcv[psn] = 1
        self.rx_packets += 1
        self.recvd_bytes += pk.size
        self.accepted_bytes += pk.size
        if psn > self.highest_rx:
            self.highest_rx = psn
        while self.expected < self.n_packets and self.rcv[self.expected]:
            self.expected += 1
        if self.rx_packets == self.n_packets:
            self.rx_done()
        if self.mode == MODE_UUD:
            net.release(p)
            return self.uud_check()
        ack_now = ((flags & PF_CE) != 0 or self.accepted_bytes >= self.ack_every_bytes or
                   (flags & PF_AR) != 0 or self.rx_packets == 1)
        if (flags & PF_AR) and self.expected <= self.highest_rx:
            self.ack_request = True          # ACK again once the holes before it fill
        elif self.ack_request and self.expected > self.highest_rx:
            self.ack_request = False
            ack_now = True
        if self.ack_horizon > 0:
            # an ACK request is pending: every packet it covers is ACKed on arrival (the
            # sender's window is closed; holes below the horizon may be waiting in its
            # retransmission queue), until all of them are here
            if psn < self.ack_horizon:
                ack_now = True
            if self.expected >= self.ack_horizon:
                self.ack_horizon = 0
                ack_now = True
        if ack_now:
            return self.send_ack(p, psn, (flags & (PF_CE | PF_AR)) != 0)
        net.release(p)
        return 0

    cdef int on_ack_request(self, int32_t p) except -1:
        """The sender's window is closed and it asks for an ACK: ACK what has arrived
        now (if anything is unacknowledged), and once more when every PSN below the
        request's horizon has arrived."""
        cdef Packet* pk = &self.net.pkts[p]
        cdef int64_t horizon = pk.aux
        pk.flags = 0
        if self.mode == MODE_UUD:
            self.net.release(p)
            return 0
        if self.expected >= horizon:
            return self.send_ack(p, -1, False)
        if horizon > self.ack_horizon:
            self.ack_horizon = horizon
        if self.accepted_bytes > 0:
            return self.send_ack(p, -1, False)
        self.net.release(p)
        return 0

    cdef int uud_check(self) except -1:
        if self.rx_packets + self.rx_lost >= self.n_packets and not self.finished:
            return self.finish()
        return 0

    cdef int send_ack(self, int32_t p, int64_t psn, bint ref_at_psn) except -1:
        """Turn the data packet ``p`` into the ACK it triggers and send it back."""
        cdef Network net = self.net
        cdef Packet* pk = &net.pkts[p]
        cdef int64_t ref
        cdef uint64_t bits
        self.accepted_bytes = 0
        ref = psn if ref_at_psn else imax(psn - 63, self.expected + 1)
        bits = sack_bits(self.rcv, self.n_packets, ref)
        self.reply(pk, PKT_ACK, psn, PF_RETX)
        pk.ref = <int32_t> ref
        pk.sack = bits
        self.acks_sent += 1
        return net.send(p)

    cdef int send_nack(self, int32_t p, int64_t psn, bint gap=False) except -1:
        """Turn the (trimmed) data packet ``p`` into a NACK of ``psn`` (``gap``: of a PSN
        missing in ordered delivery, which gives the sender no RTT sample)."""
        self.reply(&self.net.pkts[p], PKT_NACK, psn, PF_RETX | PF_LAST_HOP)
        if gap:
            self.net.pkts[p].flags |= PF_GAP
        self.nacks_sent += 1
        return self.net.send(p)

    cdef inline void reply(self, Packet* pk, uint8_t kind, int64_t psn, uint16_t keep) noexcept:
        # a data packet becomes a 64 B header back to the sender, echoing its CE mark and
        # the flags in ``keep``, with the receiver's cumulative state
        pk.kind = kind
        pk.flags = (PF_ECN_ECHO if (pk.flags & PF_CE) else 0) | (pk.flags & keep)
        pk.src = self.dst
        pk.dst = self.src
        pk.size = self.ack_bytes
        pk.payload = 0
        pk.prio = 0
        pk.seq = psn
        pk.aux = self.expected
        pk.aux2 = self.recvd_bytes
        pk.hops = 0

    cdef int32_t grant(self, int32_t quanta) except -2:
        """The pacer grants this flow up to ``quanta``; send the pull; return quanta granted."""
        cdef int64_t want = self.pull_target - self.granted
        cdef int32_t q
        if want <= 0 or self.finished:
            return 0
        q = <int32_t> imin((want + self.pacer.quantum_bytes - 1) // self.pacer.quantum_bytes, quanta)
        self.send_pull(q)
        return q

    cdef int32_t grant_unsolicited(self, int32_t quanta) except -2:
        """An unsolicited (slow) pull of ``quanta``; return quanta granted."""
        self.send_pull(quanta)
        return quanta

    cdef int send_pull(self, int32_t q) except -1:
        cdef Network net = self.net
        cdef int32_t p
        cdef Packet* pk
        self.granted += q * self.pacer.quantum_bytes
        p = net.alloc()
        pk = &net.pkts[p]
        pk.kind = PKT_CTRL
        pk.flow = self.flow_id
        net.own(p, self.endpoint_id)
        pk.src = self.dst
        pk.dst = self.src
        pk.size = self.ack_bytes
        pk.prio = 0
        pk.aux = self.granted
        pk.entropy = <uint32_t> (self.pacer.pulls & 127)
        pk.ts_ps = self.sim.now
        net.send(p)
        return 0

    cdef bint counter(self, int code, int64_t* out) noexcept:
        if code == CTR_ABORTED: out[0] = self.aborted
        elif code == CTR_NEW_PACKETS: out[0] = self.new_packets
        elif code == CTR_ACKS_RECEIVED: out[0] = self.acks_received
        elif code == CTR_NACKS_RECEIVED: out[0] = self.nacks_received
        elif code == CTR_RX_PACKETS: out[0] = self.rx_packets
        elif code == CTR_ACKS_SENT: out[0] = self.acks_sent
        elif code == CTR_NACKS_SENT: out[0] = self.nacks_sent
        else: return Flow.counter(self, code, out)
        return True
