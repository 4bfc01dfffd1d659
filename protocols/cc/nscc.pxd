# NSCC: the UET sender-side congestion control (window; ECN + delay), as htsim_uec has it.
from libc.stdint cimport int64_t, uint32_t

from uesim.protocols.hooks cimport CCContext, CongestionControl


cdef class Nscc(CongestionControl):
    # keyword overrides given to __init__ (None = derive in on_start)
    cdef dict _overrides
    cdef bint _maxwnd_fixed               # maxwnd_bytes was given: base-RTT updates stay below it
    cdef public bint receiver_cc          # RCCC also runs: last-hop NACKs keep cwnd
    cdef readonly bint started
    # parameters (derived in on_start; htsim initNsccParams / initNscc)
    cdef readonly int64_t network_rtt_ps
    cdef readonly int64_t link_rate_bps
    cdef readonly int64_t network_bdp_bytes
    cdef readonly int64_t reference_rtt_ps
    cdef readonly int64_t reference_rate_bps
    cdef readonly int64_t reference_bdp_bytes
    cdef readonly int64_t mss_bytes
    cdef readonly int64_t min_cwnd_bytes
    cdef readonly int64_t configured_maxwnd_bytes
    cdef readonly double maxwnd_factor
    cdef readonly int64_t target_qdelay_ps
    cdef readonly double qa_threshold_ps
    cdef readonly int qa_gate
    cdef readonly double scaling_a
    cdef readonly double scaling_b
    cdef readonly double alpha
    cdef readonly double fi
    cdef readonly double eta
    cdef readonly double fi_scale
    cdef readonly double gamma
    cdef readonly double delay_alpha
    cdef readonly int64_t adjust_period_ps
    cdef readonly int64_t adjust_bytes
    cdef readonly int64_t fast_increase_delay_ps
    cdef readonly bint disable_quick_adapt
    cdef readonly bint update_base_rtt_on_nack
    # per-flow state
    cdef readonly int64_t base_rtt_ps
    cdef readonly int64_t bdp_bytes
    cdef readonly int64_t maxwnd_bytes
    cdef readonly int64_t avg_delay_ps
    cdef readonly uint32_t inc_bytes
    cdef readonly uint32_t fi_count
    cdef readonly int64_t achieved_bytes
    cdef readonly int64_t received_bytes
    cdef readonly uint32_t bytes_ignored
    cdef readonly uint32_t bytes_to_ignore
    cdef readonly int64_t qa_endtime_ps
    cdef readonly int64_t last_adjust_ps
    cdef readonly int64_t last_dec_ps
    cdef readonly bint trigger_qa
    cdef readonly bint increasing         # htsim _increase (fast-increase mode)
    cdef readonly int64_t last_delay_ps   # delay used by the last on_ack
    # counters (htsim's NSCC stats / the gdb counts of MODEL-uec.md §7)
    cdef readonly int64_t n_fair_inc
    cdef readonly int64_t n_prop_inc
    cdef readonly int64_t n_fast_inc
    cdef readonly int64_t n_md
    cdef readonly int64_t n_qa
    cdef readonly int64_t n_nack_dec
    cdef readonly int64_t n_base_rtt
    cdef readonly int64_t n_fulfill
    cdef CongestionControl fresh(self)

    cdef void update_base_rtt(self, int64_t raw_rtt) noexcept
    cdef void update_delay(self, int64_t raw_rtt, bint update_avg, bint skip) noexcept
    cdef bint quick_adapt(self, int64_t now, int64_t inflight, bint is_loss, bint skip,
                          int64_t delay) noexcept
    cdef void fair_increase(self, uint32_t newly_acked) noexcept
    cdef void proportional_increase(self, uint32_t newly_acked, int64_t delay) noexcept
    cdef void fast_increase(self, uint32_t newly_acked, int64_t delay) noexcept
    cdef void multiplicative_decrease(self, int64_t now) noexcept
    cdef void fulfill_adjustment(self, int64_t now) noexcept
    cdef inline void set_cwnd_bounds(self) noexcept
    cdef void ack_update(self, int64_t now, int64_t inflight, bint skip, int64_t delay,
                         int64_t newly_acked) noexcept
    cdef void nack_update(self, int64_t now, int64_t inflight, int64_t nacked, bint last_hop) noexcept
