# cython: language_level=3
"""A simple reliable window-based transport.

Each :class:`WindowFlow` is both ends of one flow: the sender keeps at most
``cc.cwnd_bytes`` (on-the-wire bytes of unacknowledged packets) in flight and
asks its load balancer for each packet's entropy; the receiver turns every data
packet into an ACK in place (same pool slot), echoing the sequence number, the
send timestamp, the entropy and the ECN mark, with the cumulative ACK in ``aux``.
ACKs are selective (one per packet), so spraying's reordering costs nothing.
Loss is recovered by a retransmission timer: a packet unacknowledged ``rto_ps``
after it was sent is declared lost and resent.  The timeout adapts as in RFC 6298:
``max(rto_ps, srtt + 4 rttvar)`` from the RTT samples of packets sent once (Karn), doubled
per timeout up to 64 x; so queueing longer than ``rto_ps`` (a deep NIC queue in an
all-to-all, say) does not collapse into endless spurious retransmissions.

Packets leave through the host NIC's scheduler (:meth:`Network.nic_ready`): the flow
says it has something to send and the NIC pulls one packet at a time when it is free,
round robin between the flows of the host, so a packet's timestamp is its departure.

The flow is finished when the sender holds an ACK for every packet (htsim's
convention: ``end_ps`` is when the last ACK is processed); ``rx_done_ps`` is when
the receiver held every byte.
"""
from libc.stdlib cimport calloc, free, malloc
from libc.stdint cimport INT64_MAX

from uesim.fabric.engine cimport Simulator, push_event
from uesim.protocols.hooks cimport CCContext, EV_CC_TIMER
from uesim.fabric.network cimport (Network, Packet, PKT_DATA, PKT_ACK, PF_ECT, PF_CE,
                                   PF_ECN_ECHO, PF_RETX)
from uesim.protocols.flow cimport CTR_RX_PACKETS

cdef enum:
    EV_START = 0
    EV_RTO = 1

cdef enum:
    UNSENT = 0
    IN_FLIGHT = 1
    LOST = 2
    ACKED = 3


cdef class WindowFlow(Flow):
    """One flow of the window transport (sender and receiver).

    Parameters
    ----------
    flow_id, src, dst : int
        Flow id and source/destination host indices.
    size_bytes : int
        Payload bytes to deliver.
    start_ps : int
        When the sender starts.
    cc : CongestionControl
    lb : LoadBalancer
    mtu_bytes : int
        On-the-wire size of a full data packet (header included).
    header_bytes : int
        On-the-wire header of a data packet; payload per packet is ``mtu - header``.
    ack_bytes : int
        On-the-wire size of an ACK.
    rto_ps : int
        Retransmission timeout.
    data_prio, ack_prio : int
        Traffic classes (0 is served first on priority ports).
    """

    def __init__(self, int32_t flow_id, int32_t src, int32_t dst, int64_t size_bytes,
                 int64_t start_ps, CongestionControl cc, LoadBalancer lb, *,
                 int32_t mtu_bytes=4096, int32_t header_bytes=64, int32_t ack_bytes=64,
                 int64_t rto_ps=100_000_000, int data_prio=1, int ack_prio=0):
        Flow.__init__(self, flow_id, src, dst, size_bytes, start_ps, cc, lb,
                      mtu_bytes=mtu_bytes, header_bytes=header_bytes, data_prio=data_prio)
        if ack_bytes <= 0:
            raise ValueError(f"ack_bytes must be > 0, got {ack_bytes}")
        if rto_ps <= 0:
            raise ValueError(f"rto_ps must be > 0, got {rto_ps}")
        self.ack_bytes = ack_bytes
        self.rto_ps = rto_ps
        self.rto_now_ps = rto_ps
        self.ack_prio = ack_prio
        self.state = <uint8_t*> calloc(self.n_packets, sizeof(uint8_t))
        self.received = <uint8_t*> calloc(self.n_packets, sizeof(uint8_t))
        self.sent_at = <int64_t*> calloc(self.n_packets, sizeof(int64_t))
        self.rtx = <int64_t*> calloc(self.n_packets, sizeof(int64_t))
        if self.state == NULL or self.received == NULL or self.sent_at == NULL or self.rtx == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.state)
        free(self.received)
        free(self.sent_at)
        free(self.rtx)

    cdef int on_event(self, int32_t kind, int64_t arg) except -1:
        if kind == EV_START:
            self.ctx.now_ps = self.sim.now
            self.cc.on_start(self.ctx)
            return self.try_send()
        if kind >= EV_CC_TIMER:
            self.cc_timer(kind, arg)
            return self.try_send()
        if kind == EV_RTO:
            if arg == self.timer_gen:
                self.timer_armed = False
                return self.on_rto()
        return 0

    cdef int arm_timer(self, int64_t at_ps) except -1:
        self.timer_gen += 1
        self.timer_armed = True
        push_event(self.sim, at_ps, self.handler_id, EV_RTO, self.timer_gen)
        return 0

    cdef int64_t next_seq(self) noexcept:
        """The packet to send next (a retransmission first), if the window allows it; else -1."""
        cdef int64_t seq
        while self.rtx_len > 0 and self.state[self.rtx[self.rtx_head]] != LOST:
            self.rtx_head = (self.rtx_head + 1) % self.n_packets   # acked meanwhile
            self.rtx_len -= 1
        if self.rtx_len > 0:
            seq = self.rtx[self.rtx_head]
        elif self.next_new < self.n_packets:
            seq = self.next_new
        else:
            return -1
        if (self.inflight_bytes > 0 and
                self.inflight_bytes + self.header_bytes + self.payload_of(seq) > self.cc.cwnd_bytes):
            return -1
        return seq

    cdef int try_send(self) except -1:
        """Tell the host NIC when there is something to send; it pulls packets one by one."""
        if self.next_seq() >= 0:
            self.net.nic_ready(self, self.src, self.dst)
        return 0

    cdef bint can_send(self) noexcept:
        return self.next_seq() >= 0

    cdef int32_t pull(self) except -2:
        cdef int64_t seq = self.next_seq()
        if seq < 0:
            return -1
        if self.rtx_len > 0 and self.rtx[self.rtx_head] == seq:
            self.rtx_head = (self.rtx_head + 1) % self.n_packets
            self.rtx_len -= 1
        else:
            self.next_new += 1
        return self.send_packet(seq)

    cdef int32_t send_packet(self, int64_t seq) except -2:
        """Build the data packet for ``seq`` and record it in flight; the NIC sends it."""
        cdef Network net = self.net
        cdef int32_t p = self.new_data_packet(seq)
        cdef Packet* pk = &net.pkts[p]
        cdef int64_t now = self.sim.now
        pk.flags = PF_ECT
        if self.state[seq] == LOST:
            pk.flags |= PF_RETX
            self.retx_packets += 1
        self.lb.now_ps = now
        pk.entropy = self.lb.next_entropy()
        self.state[seq] = IN_FLIGHT
        self.sent_at[seq] = now
        self.inflight_bytes += pk.size
        if not self.timer_armed:
            self.arm_timer(now + self.rto_now_ps)
        return p

    cdef int on_packet(self, int32_t p) except -1:
        if self.net.pkts[p].kind == PKT_DATA:
            return self.on_data(p)
        return self.on_ack_packet(p)

    cdef int on_data(self, int32_t p) except -1:
        cdef Network net = self.net
        cdef Packet* pk = &net.pkts[p]
        cdef int64_t seq = pk.seq
        if self.received[seq]:
            self.dup_packets += 1
        else:
            self.received[seq] = 1
            self.rx_packets += 1
            while self.rx_cum < self.n_packets and self.received[self.rx_cum]:
                self.rx_cum += 1
            if self.rx_packets == self.n_packets:
                self.rx_done()          # records rx_done_ps, calls on_rx_done
        # the data packet becomes its ACK
        pk.kind = PKT_ACK
        pk.flags = (PF_ECN_ECHO if (pk.flags & PF_CE) else 0) | (pk.flags & PF_RETX)
        pk.src = self.dst
        pk.dst = self.src
        pk.size = self.ack_bytes
        pk.payload = 0
        pk.aux = self.rx_cum
        pk.prio = self.ack_prio
        return net.send(p)

    cdef int on_ack_packet(self, int32_t p) except -1:
        cdef Network net = self.net
        cdef Packet* pk = &net.pkts[p]
        cdef int64_t seq = pk.seq
        cdef bint ecn = (pk.flags & PF_ECN_ECHO) != 0
        cdef int64_t rtt = self.sim.now - pk.ts_ps
        cdef uint32_t entropy = pk.entropy
        cdef uint8_t pk_flags = pk.flags
        cdef int32_t payload
        cdef uint8_t st = self.state[seq]
        cdef CCContext ctx
        net.release(p)
        if ecn:
            self.ecn_echoes += 1
        if st == ACKED:
            return 0
        payload = self.payload_of(seq)
        if not (pk_flags & PF_RETX):          # Karn: only packets sent once give RTT samples
            if self.srtt_ps == 0:
                self.srtt_ps = rtt
                self.rttvar_ps = rtt // 2
            else:
                self.rttvar_ps = (3 * self.rttvar_ps + (self.srtt_ps - rtt if self.srtt_ps > rtt else rtt - self.srtt_ps)) // 4
                self.srtt_ps = (7 * self.srtt_ps + rtt) // 8
            self.rto_now_ps = max(self.rto_ps, self.srtt_ps + 4 * self.rttvar_ps)
        if st == IN_FLIGHT:
            self.inflight_bytes -= self.header_bytes + payload
        self.state[seq] = ACKED
        self.acked_packets += 1
        while self.low_unacked < self.n_packets and self.state[self.low_unacked] == ACKED:
            self.low_unacked += 1
        ctx = self.ctx
        ctx.clear_event()
        ctx.now_ps = self.sim.now
        ctx.inflight_bytes = self.inflight_bytes
        ctx.acked_bytes = self.header_bytes + payload
        ctx.acked_payload = payload
        ctx.rtt_ps = rtt if not (pk_flags & PF_RETX) else -1
        ctx.ecn = ecn
        self.cc.on_ack(ctx)
        self.lb.now_ps = self.sim.now
        self.lb.on_feedback(entropy, ecn, False, False)
        if self.acked_packets == self.n_packets:
            self.timer_gen += 1      # cancel the timer (lazily)
            self.timer_armed = False
            return self.finish()
        return self.try_send()

    cdef int on_rto(self) except -1:
        cdef int64_t now = self.sim.now
        cdef int64_t seq, oldest = INT64_MAX, lost_bytes = 0
        cdef int64_t idx
        if self.finished:
            return 0
        for seq in range(self.low_unacked, self.next_new):
            if self.state[seq] != IN_FLIGHT:
                continue
            if self.sent_at[seq] + self.rto_now_ps <= now:
                self.state[seq] = LOST
                if self.received[seq]:
                    self.timeouts_no_loss += 1     # it had arrived: its ACK was late or lost
                self.inflight_bytes -= self.header_bytes + self.payload_of(seq)
                lost_bytes += self.header_bytes + self.payload_of(seq)
                idx = (self.rtx_head + self.rtx_len) % self.n_packets
                self.rtx[idx] = seq
                self.rtx_len += 1
            elif self.sent_at[seq] < oldest:
                oldest = self.sent_at[seq]
        if lost_bytes > 0:
            self.timeouts += 1
            if self.rto_now_ps < 64 * self.rto_ps:
                self.rto_now_ps *= 2
            self.ctx.clear_event()
            self.ctx.now_ps = now
            self.ctx.inflight_bytes = self.inflight_bytes
            self.ctx.lost_bytes = lost_bytes
            self.cc.on_timeout(self.ctx)
            self.lb.now_ps = now
            self.lb.on_feedback(0, False, False, True)
            self.try_send()
        if not self.timer_armed:
            if oldest != INT64_MAX:
                self.arm_timer(max(oldest + self.rto_now_ps, now + 1))
            elif self.rtx_len > 0 or self.inflight_bytes > 0:
                self.arm_timer(now + self.rto_now_ps)
        return 0

    cdef bint counter(self, int code, int64_t* out) noexcept:
        if code == CTR_RX_PACKETS: out[0] = self.rx_packets
        else: return Flow.counter(self, code, out)
        return True
