# Policy hooks: congestion control (window/rate math) and load balancing (entropy choice).
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t

from uesim.fabric.engine cimport Simulator

cdef enum:
    CC_TIMER_KINDS = 8        # timer kinds a congestion control may arm (0..7)
    EV_CC_TIMER = 64          # flow event kinds EV_CC_TIMER + kind are CC timers


cdef class CCContext:
    """What a congestion-control hook sees: the flow's state and the event's numbers."""
    # the flow (set once)
    cdef readonly int32_t flow_id
    cdef readonly int64_t base_rtt_ps     # unloaded network RTT (htsim: the fabric's longest)
    cdef readonly int64_t bdp_bytes       # base_rtt x link rate
    cdef readonly int64_t link_rate_bps   # the sender's NIC rate
    cdef readonly int64_t mtu_bytes       # full packet on the wire
    cdef readonly int64_t mss_bytes       # payload of a full packet
    cdef readonly int64_t size_bytes      # flow payload
    cdef readonly bint trimming           # the fabric trims instead of dropping
    # the flow now (updated before every hook)
    cdef readonly int64_t now_ps
    cdef readonly int64_t inflight_bytes  # wire bytes sent and not yet acked, nacked or timed out
    cdef readonly int64_t backlog_bytes   # wire bytes not yet sent (new data)
    # the event
    cdef readonly int64_t acked_bytes     # wire bytes newly acknowledged by this ACK
    cdef readonly int64_t acked_payload   # payload bytes newly acknowledged
    cdef readonly int64_t rtt_ps          # RTT sample of the packet that triggered the ACK, or -1
    cdef readonly bint ecn                # the ACK/NACK echoes a CE mark
    cdef readonly int64_t nacked_bytes    # wire size of the trimmed/lost packet (on_nack)
    cdef readonly bint last_hop           # the NACKed packet was trimmed at the last hop
    cdef readonly int64_t lost_bytes      # bytes declared lost by the timeout (on_timeout)
    # timers
    cdef Simulator sim
    cdef int32_t handler_id
    cdef int64_t timer_gen[CC_TIMER_KINDS]
    cdef public object flow               # the transport flow (Python-level access)

    cdef void setup(self, Simulator sim, int32_t handler_id, int32_t flow_id, int64_t base_rtt_ps,
                    int64_t link_rate_bps, int64_t mtu_bytes, int64_t mss_bytes,
                    int64_t size_bytes, bint trimming) noexcept
    cdef inline void clear_event(self) noexcept
    cpdef void arm_timer(self, int64_t at_ps, int kind=*) except *
    cpdef void cancel_timer(self, int kind=*) except *
    cpdef void cancel_timers(self) except *
    cdef bint timer_is_current(self, int kind, int64_t gen) noexcept


cdef class CongestionControl:
    cdef public int64_t cwnd_bytes        # window: wire bytes allowed in flight (0 = no window)
    cdef public int64_t rate_bps          # pacing rate (0 = line rate)
    cdef public int64_t mtu_bytes
    cpdef void on_start(self, CCContext ctx) except *
    cpdef void on_ack(self, CCContext ctx) except *
    cpdef void on_nack(self, CCContext ctx) except *
    cpdef void on_timeout(self, CCContext ctx) except *
    cpdef void on_cnp(self, CCContext ctx) except *
    cpdef void on_timer(self, CCContext ctx, int kind) except *
    cdef CongestionControl fresh(self)


cdef class LoadBalancer:
    cdef uint64_t rng
    cdef public int64_t now_ps    # simulated time, set by the transport before each hook call
    cpdef uint32_t next_entropy(self) except? 0xFFFFFFFF
    cpdef void on_feedback(self, uint32_t entropy, bint ecn=*, bint nack=*, bint timeout=*) except *
    cdef uint32_t rand32(self) noexcept
    cdef void seed_rng(self, uint64_t seed) noexcept
    cdef LoadBalancer fresh(self, uint64_t seed)
    cdef LoadBalancer blank(self, type cls, uint64_t seed)
