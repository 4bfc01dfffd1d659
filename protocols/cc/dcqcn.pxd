# DCQCN reaction point: rate-based congestion control for RoCE (Zhu et al., SIGCOMM 2015).
from libc.stdint cimport int64_t

from uesim.protocols.hooks cimport CCContext, CongestionControl


cdef class Dcqcn(CongestionControl):
    cdef readonly str params
    cdef readonly double g
    cdef readonly double alpha_init
    cdef readonly int64_t alpha_interval_ps
    cdef readonly int64_t rate_timer_ps
    cdef readonly int64_t byte_counter_bytes      # 0 = no byte counter
    cdef readonly int64_t fast_recovery_stages    # F
    cdef readonly int64_t mi_thresh
    cdef readonly double rate_ai_bps
    cdef readonly double rate_hai_bps
    cdef readonly double min_rate_bps
    cdef readonly double rate_on_first_cnp
    cdef readonly bint clamp_target
    cdef readonly int64_t rate_decrease_interval_ps
    # state
    cdef readonly double line_rate_bps
    cdef readonly double rc                       # current rate, bit/s
    cdef readonly double rt                       # target rate, bit/s
    cdef readonly double alpha
    cdef readonly int64_t timer_stages
    cdef readonly int64_t byte_stages
    cdef readonly int64_t stage_bytes             # acked bytes since the last byte stage
    cdef readonly bint cnp_in_interval            # a CNP came since the last alpha update
    cdef readonly bint seen_cnp
    cdef readonly int64_t last_cut_ps
    cdef readonly int64_t next_alpha_ps           # when the alpha timer is due
    cdef readonly int64_t next_rate_ps            # when the rate-increase timer is due
    cdef readonly int64_t n_cnps
    cdef readonly int64_t n_cuts
    cdef readonly int64_t n_fast_recovery
    cdef readonly int64_t n_additive
    cdef readonly int64_t n_hyper
    cdef void increase(self) noexcept
    cdef void arm(self, CCContext ctx, int64_t at_ps, int kind) except *
    cdef CongestionControl fresh(self)
