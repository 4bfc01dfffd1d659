# The packet-level data plane: packets, egress ports, switches, host NICs.
cimport cython
from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t, uint64_t

from uesim.fabric.engine cimport EventHandler, Simulator

cdef enum:
    N_CLASSES = 8       # traffic classes per port (802.1p)

# packet kinds
cdef enum:
    PKT_DATA = 0
    PKT_ACK = 1
    PKT_NACK = 2
    PKT_CNP = 3
    PKT_CTRL = 4

# packet flags
cdef enum:
    PF_ECT = 1          # ECN-capable: switches may mark it
    PF_CE = 2           # congestion experienced (marked by a switch)
    PF_ECN_ECHO = 4     # an ACK echoing CE
    PF_RETX = 8         # a retransmission
    PF_TRIMMED = 16     # payload cut by a switch
    PF_AR = 32          # ack request: the receiver acknowledges at once
    PF_LAST_HOP = 64    # trimmed at the last switch (the receiver's downlink)
    PF_SPEC = 128       # sent on speculative credit (RCCC)
    PF_GAP = 256        # a NACK of a gap in ordered delivery, not of a trimmed packet
    PF_PINNED = 512     # one path end to end: a multi-port NIC sends it on its hashed port

# port modes
cdef enum:
    PM_DEQUEUE = 1      # real dequeue events (priorities, dequeue-time ECN)
    PM_ECN = 2          # ECN marking enabled
    PM_ECN_AT_DEQUEUE = 4
    PM_TRIM = 8         # UET trimming: an overflowing data packet is cut to a header
    PM_PFC = 16         # priority flow control: pausable egress, ingress accounting at its peer
    PM_LLR = 32         # frame errors on this link (replayed by link-level retry, or lost)

# event kinds of the network handler
cdef enum:
    EV_ARRIVE = 0       # arg = packet (+ egress there + 1 << 32): it reaches the switch at the far end of its wire
    EV_TX_DONE = 1      # arg = port (+ head packet + 1 << 32): the packet in service finished serialisation
    EV_FORWARD = 2      # arg = packet (+ its egress port + 1 << 32): switch latency elapsed, enqueue at pkt.port
    EV_NIC_PULL = 3     # arg = NIC ring: its port drained, ask the next ready endpoint for a packet
    EV_PFC_FRAME = 4    # arg = packet: a PFC control frame reaches the port it pauses (frames mode)
    EV_PFC_OOB = 5      # arg = 2 * port + on: an out-of-band PAUSE/RESUME lands (htsim mode)
    EV_PFC_TIMER = 6    # arg = 2 * (port * N_CLASSES + class) + watchdog: a pause may have ended
    EV_PFC_REFRESH = 7  # arg = ingress port: re-send its PAUSE before the quanta run out
    EV_LOST = 8         # arg = packet: a corrupted frame reaches the far end (no LLR): discarded
    EV_DELIVER = 9      # arg = packet (+ endpoint + 1 << 32): it reaches the host at the far end of its wire

# PFC modes
cdef enum:
    PFC_OFF = 0
    PFC_FRAMES = 1      # 802.1Qbb frames: per class, quanta, sent on the reverse link
    PFC_HTSIM = 2       # htsim's lossless input queues: on/off, whole port, out of band
    PFC_CBFC = 3        # credit-based flow control: a class is sent only against receiver credit


ctypedef struct Packet:
    # first cache line: what forwarding and queueing touch at every hop
    int32_t at_node      # on a wire: the node it arrives at
    int32_t dst          # destination host index
    int32_t flow         # flow id
    uint32_t entropy     # load-balancing entropy value (hashed with flow by switches)
    int32_t size         # bytes on the wire
    int32_t port         # port the packet is crossing now
    int32_t next         # free-list / queue link
    int32_t prev         # queue link backwards (class FIFOs; stale at the head, see class_unlink)
    int32_t endpoint     # endpoint id that receives this packet at dst
    int32_t src          # source host index
    int32_t hops         # links crossed so far
    int32_t payload      # payload bytes carried
    int32_t ref          # transport-defined (SACK base)
    uint16_t flags       # PF_*
    uint8_t kind         # PKT_*
    uint8_t prio         # traffic class 0 (highest) .. N_CLASSES-1
    uint8_t table        # forwarding table: 0 scale-out, 1 scale-up (same scale-up domain)
    uint8_t pfc_hr       # PFC: its bytes are charged to its ingress headroom, not the shared pool
    uint16_t route_tag   # on a wire to a switch: Network.route_epoch when its egress there was chosen
    int32_t in_port      # port (link) it entered the current switch by, -1 from a host (PFC)
    # second cache line: what the transports read at the ends
    int64_t seq          # transport sequence number (data) or acknowledged number (ACK)
    int64_t ts_ps        # sender timestamp, echoed by ACKs (RTT samples)
    int64_t aux          # transport-defined (cumulative ACK, credit, ...)
    int64_t aux2         # transport-defined (bytes received echo, pull target, ...)
    uint64_t sack        # transport-defined (selective ACK bitmap)
    int64_t pad1[3]      # 128 bytes: a packet is exactly two cache lines


ctypedef struct Port:
    # 320 bytes, cache-line aligned.  Line 0 and 1 hold what every enqueue and service
    # start touches; line 2 the class FIFOs (dequeue path only), line 3 the FIFO fast
    # path's ring and the rest of ECN; line 4 counters of rare events.  At a thousand
    # hosts a port is rarely in cache when a packet reaches it: each line is a miss.
    # line 0
    int64_t busy_until    # when the transmitter frees up (dequeue path: the packet in service)
    int64_t queued_bytes  # bytes held (including the one being serialised)
    int64_t hdr_bytes     # bytes of class-0 packets held (in service included)
    int64_t ps_per_byte   # exact serialisation time per byte, or 0 if the rate needs a division
    int64_t delay_ps
    int64_t buffer_bytes
    int32_t peer          # receiving node
    int32_t mode          # PM_*
    int32_t in_service    # dequeue path: packet being serialised (on the wire already), or -1
    int32_t n_waiting     # dequeue path: packets in the class FIFOs (not the one in service)
    # line 1
    int64_t drain_at      # when everything held will have been serialised
    int64_t max_queue_bytes
    int64_t tx_packets
    int64_t tx_bytes
    int64_t ecn_kmin      # ECN (RED-style, linear between kmin and kmax; always above kmax)
    int32_t svc_size      # bytes of the packet in service (held until TX_DONE or the next enqueue)
    uint8_t tx_pending    # a TX_DONE event is scheduled at busy_until
    uint8_t svc_hdr       # the packet in service is of class 0
    uint8_t svc_data      # the packet in service is ECN-markable data (not class 0, ECT)
    uint8_t up
    int32_t ring_head     # fast path: finish times and sizes of packets held, oldest first
    int32_t ring_len
    int32_t ring_cap
    int32_t trim_bytes    # size of a trimmed packet (PM_TRIM)
    # line 2: dequeue path: per-class FIFOs linked through Packet.next/prev; class 0 is
    # the header class (ACKs, NACKs, trimmed packets).  The packet in service was put on
    # the wire when its service began; a TX_DONE event exists only while packets wait.
    int32_t q_head[N_CLASSES]
    int32_t q_tail[N_CLASSES]
    # line 3
    int64_t* ring_t
    int32_t* ring_sz
    int64_t ecn_kmax
    uint32_t ecn_pmax_q32   # pmax scaled to 2^32
    uint32_t trim_tail_q32  # probability (x 2^32) of trimming the newest queued packet instead
    int32_t node          # owner (transmitting) node
    int32_t reverse       # port in the other direction of the same cable, or -1
    int64_t rate_bps
    int64_t drops
    int64_t drop_bytes
    # line 4
    int64_t ecn_marks
    int64_t trims
    int64_t hdr_drops     # header-class packets dropped (its limit is 2 x buffer_bytes)
    int64_t pad_end[5]


ctypedef struct PfcPort:
    # PFC state of one port (link): the ingress side lives at the port's peer switch
    # (bytes that entered by this link and are still held there), the pause side at
    # the port's own node (whether this port may transmit a class)
    int64_t in_bytes[N_CLASSES]     # ingress occupancy at the peer, per class
    int64_t paused_until[N_CLASSES] # this port may not send the class before this time
    int64_t pause_start[N_CLASSES]  # when the open pause began
    int64_t paused_ps[N_CLASSES]    # total paused time, closed pauses
    int64_t sent[N_CLASSES]         # PAUSE (quanta > 0) frames sent on this port, per class
    int64_t received[N_CLASSES]     # PAUSE frames received by this port, per class
    int64_t max_in_bytes            # peak ingress occupancy (all classes)
    int64_t xoff_bytes              # static XOFF threshold of this ingress
    int64_t xon_bytes
    int64_t headroom_bytes
    int64_t refresh_at              # frames mode: when the pending refresh is due (0: none)
    int64_t watchdog_trips
    int64_t quanta_ps               # duration of one PAUSE at this port's rate (frames mode)
    int32_t svc_in                  # ingress port of the packet in service, or -1
    uint8_t svc_cls                 # its accounting class
    uint8_t svc_hr                  # it is charged to headroom
    uint8_t xoff                    # bit per class: the peer has paused this link
    uint8_t open_mask               # bit per class: a pause of this port is running
    uint8_t wd_off                  # bit per class: the watchdog made this port ignore pauses
    uint8_t ctrl_pending            # a control frame waits for this port's transmitter
    uint8_t ctrl_mask               # classes to announce in it (their state at send time)
    uint8_t cb_block                # CBFC: packets wait and none of their classes has credit
    int64_t hr_used                 # ingress bytes charged to this ingress's headroom
    int64_t credits[N_CLASSES]      # CBFC: bytes this port may still send per class
    int64_t credit_limit            # CBFC: the receiver's buffer per class (initial credit)
    int64_t stall_start             # CBFC: when the open credit stall began
    int64_t stall_ps                # CBFC: time with packets waiting and no credit, closed stalls


cdef class Endpoint(EventHandler):
    cdef public int32_t endpoint_id
    cdef public Network net
    cdef int on_packet(self, int32_t pkt) except -1
    cdef int32_t pull(self) except -2
    cdef bint can_send(self) noexcept


@cython.final
cdef class Network(EventHandler):
    cdef readonly int32_t n_nodes
    cdef readonly int32_t n_hosts
    cdef readonly int32_t n_ports
    cdef int32_t port_cap
    cdef Port* ports
    cdef int32_t* node_host       # node -> host index, or -1 for switches
    cdef int32_t* host_node       # host index -> node
    cdef uint64_t* node_salt
    cdef readonly int32_t n_tables  # 1, or 2 when scale-up domains have their own table
    cdef int32_t* host_domain     # host -> scale-up domain, or -1
    # forwarding (see set_forwarding): destination hosts routed alike share a group
    cdef readonly int32_t n_groups
    cdef int32_t* host_group      # (table * n_hosts + dst) -> group
    cdef int32_t* fwd_row         # (node * n_groups + group) -> row, or ~row: dst's exceptions first
    cdef int64_t* fwd_off         # row -> offset into fwd_ports (n_rows + 1 entries)
    cdef int32_t* fwd_ports
    cdef int64_t* ovr_off         # (table * n_hosts + dst) -> offset into ovr_node / ovr_row
    cdef int32_t* ovr_node        # exceptions of a destination: node ...
    cdef int32_t* ovr_row         # ... and its row
    cdef readonly int64_t switch_latency_ps
    cdef uint16_t route_epoch      # bumped whenever forwarding changes (see put_on_wire)
    # packet pool
    cdef Packet* pkts
    cdef int32_t pkt_cap
    cdef int32_t free_head
    cdef readonly int64_t live_packets
    cdef readonly int64_t allocated_packets
    # endpoints
    cdef list endpoints
    cdef void** endpoint_ptrs
    cdef int32_t n_endpoints
    cdef int32_t endpoint_cap
    # host NIC schedulers: endpoints with data to send wait in a round-robin ring per
    # (host, forwarding table) and are asked for one packet at a time when the port the
    # ring last sent on has drained
    cdef int32_t* ready_head        # per ring (host * 2 + table)
    cdef int32_t* ready_tail        # per ring
    cdef int32_t* ready_next        # per endpoint: next in its ring, -1 last, -2 not queued
    cdef uint8_t* nic_pending       # per ring: an EV_NIC_PULL is scheduled
    cdef int32_t* nic_port          # per ring: the port it last sent on, or -1
    cdef int64_t* ring_ports_off    # per ring: the ports it may send on (CSR; NULL if unset)
    cdef int32_t* ring_ports
    # random stream (xorshift64*) for ECN coin flips
    cdef uint64_t rng
    # network-wide counters
    cdef readonly int64_t packet_hops
    cdef readonly int64_t sent
    cdef readonly int64_t delivered
    cdef readonly int64_t dropped
    cdef readonly int64_t unroutable
    cdef readonly int64_t trimmed
    cdef int64_t ev_count[16]         # network events handled, per kind (EV_*)
    # priority flow control (NULL / 0 when off)
    cdef PfcPort* pfc
    cdef readonly int32_t pfc_mode      # PFC_*
    cdef readonly int32_t pfc_classes   # bit mask of lossless classes
    cdef int64_t pfc_quanta
    cdef int64_t pfc_watchdog_ps
    cdef int64_t pfc_alpha_q16          # dynamic threshold factor x 2^16 (0: static)
    cdef int64_t* sw_used               # per node: bytes its egress queues hold
    cdef int64_t* sw_shared             # per node: shared buffer (0: no shared-buffer limit)
    cdef int64_t* sw_max_used
    cdef readonly int64_t lossless_overflow   # lossless packets held beyond XOFF + headroom
    cdef readonly int64_t pfc_pauses          # PAUSE frames sent (all ports and classes)
    # link-level retry / frame errors (NULL when no link has errors)
    cdef uint32_t* llr_fer            # per port: frame error probability x 2^32
    cdef int64_t* llr_errors          # per port: frames found corrupted at the far end
    cdef int64_t* llr_replay_ps       # per port: transmitter time spent on replays
    cdef readonly bint llr_replay     # corrupted frames are replayed (LLR) rather than lost
    cdef bint llr_lost                # the frame just scheduled is corrupted and not replayed
    cdef uint64_t llr_rng
    cdef readonly int64_t frames_lost
    cdef readonly int64_t ctrl_live           # PFC control frames allocated and not yet delivered
    cdef object _host_rates
    # last, so the hot fields above keep their cache lines
    cdef int32_t* ep_out            # per endpoint: its packets alive (in flight or queued)
    cdef Endpoint _retired           # takes the packets of retired endpoints

    cdef int32_t alloc(self) except -1
    cdef void release(self, int32_t p) noexcept
    cpdef void retire_endpoint(self, int32_t endpoint_id) except *
    cpdef int32_t add_endpoint(self, Endpoint ep) except -1
    cpdef int64_t host_rate_bps(self, int32_t host, int32_t dst=*, bint one_port=*) except -1
    cdef inline bint busy(self, int32_t endpoint) noexcept:
        # queued at a NIC, or packets of its own still alive
        return self.ready_next[endpoint] != -2 or self.ep_out[endpoint] != 0
    cdef inline void own(self, int32_t p, int32_t endpoint) noexcept:
        # packet p belongs to endpoint (counted until released)
        self.pkts[p].endpoint = endpoint
        self.ep_out[endpoint] += 1
    cdef void _register_prefetch(self) noexcept
    cdef inline int send(self, int32_t p) except -1
    cdef int nic_ready(self, Endpoint ep, int32_t src, int32_t dst) except -1
    cdef int nic_pull(self, int32_t ring) except -1
    cdef int64_t nic_free_at(self, int32_t ring) noexcept
    cdef inline int64_t port_free_at(self, int32_t port) noexcept
    cdef int32_t earliest_free(self, int64_t lo, int64_t cnt, int32_t hashed) noexcept
    cdef int32_t route(self, int32_t table, int32_t node, int32_t dst) noexcept
    cdef int forward(self, int32_t node, int32_t p, int32_t ahead) except -1
    cdef int32_t egress(self, int32_t node, Packet* pk) noexcept
    cdef int enqueue(self, int32_t port, int32_t p) except -1
    cdef int _grow_ring(self, Port* pt) except -1
    cdef inline int start_service(self, Port* pt, int32_t port) except -1
    cdef int begin_tx(self, Port* pt, int32_t port, int32_t p) except -1
    cdef inline void finish_service(self, Port* pt) noexcept
    cdef int trim_packet(self, Port* pt, int32_t p) except -1
    cdef int enqueue_dequeue_path(self, Port* pt, int32_t port, int32_t p) except -1
    cdef int admit(self, Port* pt, int32_t port, int32_t p) except -1
    cdef int32_t newest_data(self, Port* pt) noexcept
    cdef inline int64_t ecn_queue(self, Port* pt) noexcept
    cdef inline void class_push(self, Port* pt, int32_t p) noexcept
    cdef inline void class_unlink(self, Port* pt, int32_t c, int32_t p) noexcept
    cdef int tx_done(self, int32_t port) except -1
    cdef inline int put_on_wire(self, Port* pt, int32_t port, int32_t p, int64_t due) except -1
    cdef bint ecn_decide(self, Port* pt, int64_t qbytes) noexcept
    cdef uint32_t rand32(self) noexcept
    # link faults (see set_port_loss): per-port frame loss, NULL until a loss is set
    cdef uint32_t* loss_q32       # per port: loss probability x 2^32
    cdef uint64_t* loss_rng       # per port: its own xorshift64* stream
    cdef int64_t* port_lost       # per port: frames lost on its wire
    cdef int32_t loss_n           # ports covered by the arrays above
    cdef readonly int64_t lost    # frames lost on wires (also counted in dropped)
    cdef bint wire_loss(self, int32_t p) noexcept
    # PFC
    cdef int pfc_enqueue(self, Port* pt, int32_t port, int32_t p) except -1
    cdef int pfc_start_service(self, Port* pt, int32_t port) except -1
    cdef void pfc_charge(self, Port* pt, int32_t p) noexcept
    cdef void pfc_uncharge(self, int32_t node, int32_t in_port, int32_t cls, int64_t size, bint hr) noexcept
    cdef int pfc_after_release(self, int32_t in_port) except -1
    cdef int pfc_signal(self, int32_t in_port, int32_t mask) except -1
    cdef int pfc_send_ctrl(self, Port* pt, int32_t port) except -1
    cdef int pfc_apply(self, int32_t port, int32_t cls, bint on, int64_t until) except -1
    cdef int pfc_timer(self, int64_t arg) except -1
    cdef int pfc_event(self, int32_t kind, int64_t arg) except -1
    cdef int pfc_tx_done(self, Port* pt, int32_t port) except -1
    cdef int64_t llr_start(self, Port* pt, int32_t port, int64_t start, int64_t tx) noexcept
    cdef int cbfc_return(self, int32_t port, int32_t in_port, int32_t cls, int64_t size) except -1
    cdef int pfc_admit(self, Port* pt, int32_t port, int32_t p) except -1
    cdef int pfc_kick(self, int32_t port) except -1
    cdef inline bint pfc_paused(self, int32_t port, int32_t cls) noexcept
    cdef inline int64_t pfc_xoff_at(self, int32_t in_port) noexcept
