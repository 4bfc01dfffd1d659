# DCTCP window congestion control (Alizadeh et al., SIGCOMM 2010).
from libc.stdint cimport int64_t

from uesim.protocols.hooks cimport CCContext, CongestionControl


cdef class Dctcp(CongestionControl):
    cdef object _cwnd0
    cdef object _min_cwnd0
    cdef bint _mtu_given
    cdef readonly double g
    cdef readonly double alpha
    cdef readonly double alpha_init
    cdef readonly bint slow_start
    cdef readonly int64_t initial_window_mtus
    cdef readonly int64_t ssthresh_bytes
    cdef readonly int64_t min_cwnd_bytes
    cdef readonly int64_t max_cwnd_bytes     # 0 = no cap
    cdef readonly int64_t acked_total_bytes
    cdef readonly int64_t window_end_bytes
    cdef readonly int64_t window_acked_bytes
    cdef readonly int64_t window_marked_bytes
    cdef readonly int64_t n_windows
    cdef readonly int64_t n_cuts
    cdef readonly int64_t n_nack_dec
    cdef readonly int64_t n_timeouts
    cdef void end_window(self) noexcept
    cdef inline void clamp(self) noexcept
