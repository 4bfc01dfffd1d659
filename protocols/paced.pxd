from libc.stdint cimport int32_t, int64_t, uint8_t

from uesim.fabric.network cimport Endpoint
from uesim.protocols.hooks cimport CongestionControl, LoadBalancer


cdef class PacedFlow(Endpoint):
    # what the flow is
    cdef readonly int32_t flow_id
    cdef readonly int32_t src
    cdef readonly int32_t dst
    cdef readonly int64_t size_bytes
    cdef readonly int64_t start_ps
    cdef readonly int64_t rate_bps
    cdef readonly int32_t mtu_bytes
    cdef readonly int32_t header_bytes
    cdef readonly int64_t n_packets
    cdef readonly uint8_t data_prio
    cdef public CongestionControl cc
    cdef public LoadBalancer lb
    cdef public object on_finish
    # sender state: exact schedule 8 * W * 10**12 = q * rate_bps + r
    cdef int64_t sched_q
    cdef int64_t sched_r
    cdef int64_t full_q        # 8 * wire(full packet) * 10**12 = full_q * rate + full_r
    cdef int64_t full_r
    cdef readonly int64_t sent_packets
    cdef readonly int64_t sent_bytes
    # receiver state
    cdef readonly int64_t rx_packets
    cdef readonly int64_t rx_bytes
    cdef readonly int64_t first_rx_ps
    cdef readonly int64_t last_rx_ps
    # results (WindowFlow's names)
    cdef readonly int64_t end_ps
    cdef readonly int64_t rx_done_ps
    cdef readonly int64_t retx_packets
    cdef readonly int64_t timeouts
    cdef readonly int64_t ecn_echoes
    cdef readonly bint finished

    cdef inline int32_t payload_of(self, int64_t seq) noexcept
    cdef int send_packet(self, int64_t seq) except -1
