from libc.stdint cimport int32_t, int64_t, uint8_t

from uesim.protocols.flow cimport Flow
from uesim.protocols.hooks cimport CongestionControl, LoadBalancer


cdef class PacedFlow(Flow):
    cdef bint counter(self, int code, int64_t* out) noexcept
    cdef readonly int64_t rate_bps
    # sender state: exact schedule 8 * W * 10**12 = q * rate_bps + r
    cdef int64_t sched_q
    cdef int64_t sched_r
    cdef int64_t full_q        # 8 * wire(full packet) * 10**12 = full_q * rate + full_r
    cdef int64_t full_r
    cdef readonly int64_t sent_bytes
    # receiver state
    cdef readonly int64_t rx_packets
    cdef readonly int64_t rx_bytes
    cdef readonly int64_t first_rx_ps
    cdef readonly int64_t last_rx_ps

    cdef int send_packet(self, int64_t seq) except -1
