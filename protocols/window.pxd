from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t

from uesim.protocols.flow cimport Flow
from uesim.protocols.hooks cimport CongestionControl, LoadBalancer


cdef class WindowFlow(Flow):
    cdef bint counter(self, int code, int64_t* out) noexcept
    cdef readonly int32_t ack_bytes
    cdef readonly int64_t rto_ps
    cdef readonly int64_t rto_now_ps    # current timeout (RFC 6298), doubled per timeout
    cdef readonly int64_t srtt_ps
    cdef readonly int64_t rttvar_ps
    cdef readonly uint8_t ack_prio
    # sender state
    cdef uint8_t* state         # per packet: 0 unsent, 1 in flight, 2 lost, 3 acked
    cdef int64_t* sent_at
    cdef int64_t* rtx           # ring of packets waiting for retransmission
    cdef int64_t rtx_head
    cdef int64_t rtx_len
    cdef int64_t next_new
    cdef int64_t low_unacked
    cdef readonly int64_t acked_packets
    cdef readonly int64_t inflight_bytes
    cdef int64_t timer_gen
    cdef bint timer_armed
    # receiver state
    cdef uint8_t* received
    cdef readonly int64_t rx_packets
    cdef int64_t rx_cum
    cdef readonly int64_t dup_packets

    cdef int64_t next_seq(self) noexcept
    cdef int try_send(self) except -1
    cdef int32_t send_packet(self, int64_t seq) except -2
    cdef int on_data(self, int32_t p) except -1
    cdef int on_ack_packet(self, int32_t p) except -1
    cdef int on_rto(self) except -1
    cdef int arm_timer(self, int64_t at_ps) except -1
