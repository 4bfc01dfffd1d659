# Policy hooks: congestion control (window/rate math) and load balancing (entropy choice).
from libc.stdint cimport int64_t, uint32_t, uint64_t


cdef class CongestionControl:
    cdef public int64_t cwnd_bytes
    cdef public int64_t mtu_bytes
    cpdef void on_ack(self, int64_t now_ps, int64_t acked_bytes, int64_t rtt_ps, bint ecn) except *
    cpdef void on_nack(self, int64_t now_ps, int64_t nacked_bytes) except *
    cpdef void on_timeout(self, int64_t now_ps, int64_t lost_bytes) except *


cdef class LoadBalancer:
    cdef uint64_t rng
    cdef public int64_t now_ps    # simulated time, set by the transport before each hook call
    cpdef uint32_t next_entropy(self) except? 0xFFFFFFFF
    cpdef void on_feedback(self, uint32_t entropy, bint ecn=*, bint nack=*, bint timeout=*) except *
    cdef uint32_t rand32(self) noexcept
