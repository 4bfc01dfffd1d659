from libc.stdint cimport int32_t, int64_t, uint8_t

from uesim.protocols.flow cimport Flow
from uesim.protocols.hooks cimport CongestionControl


cdef class NoCongestionControl(CongestionControl):
    pass


cdef class RoceFlow(Flow):
    cdef bint counter(self, int code, int64_t* out) noexcept
    # configuration
    cdef readonly int32_t ack_bytes
    cdef readonly int32_t cnp_bytes
    cdef readonly int64_t ack_every_packets
    cdef readonly int64_t cnp_interval_ps
    cdef readonly int64_t min_rto_ps
    cdef readonly int32_t retry_limit
    cdef readonly bint htsim_extra_packet
    cdef readonly bint trace_rate
    cdef readonly bint aborted
    cdef readonly int64_t n_send        # PSNs the sender may send (n_packets, + 1 htsim-compat)
    # sender
    cdef readonly int64_t next_psn      # next PSN to send (go-back-N moves it back)
    cdef readonly int64_t highest_sent  # one past the highest PSN ever sent
    cdef readonly int64_t cum_ack       # PSNs acknowledged (all below it)
    cdef int64_t next_send_ps           # pacing: earliest time of the next data packet
    cdef int64_t last_send_ps           # when the last data packet left, and its size
    cdef int64_t last_size
    cdef bint pace_pending
    cdef int64_t pace_gen               # only the newest pacing event counts
    cdef readonly int64_t pace_events    # pacing events handled (engine cost)
    cdef readonly int64_t rto_events     # timer events handled, stale ones included
    cdef int64_t rto_gen
    cdef bint rto_armed                 # a timer event is pending (at rto_event_at)
    cdef int64_t rto_event_at
    cdef int64_t rto_deadline           # when the timer expires; 0 = stopped
    cdef int64_t srtt_ps
    cdef int64_t rttvar_ps
    cdef readonly int64_t rto_ps
    cdef int32_t retries                # timeouts in a row without progress
    cdef readonly int64_t new_packets
    cdef readonly int64_t acks_received
    cdef readonly int64_t nacks_received
    cdef readonly int64_t cnps_received
    cdef readonly int64_t go_back_n
    # receiver
    cdef readonly int64_t expected
    cdef int64_t since_ack
    cdef bint nack_sent                 # a NACK of the current gap went out
    cdef int64_t last_cnp_ps
    cdef readonly int64_t rx_packets
    cdef readonly int64_t acks_sent
    cdef readonly int64_t nacks_sent
    cdef readonly int64_t cnps_sent
    cdef readonly int64_t ce_received
    cdef readonly int64_t dup_packets
    cdef readonly int64_t ooo_discards
    # rate trace (t_ps, rate_bps), grown by doubling
    cdef int64_t* tr_t
    cdef int64_t* tr_rate
    cdef int64_t tr_len
    cdef int64_t tr_cap
    cdef int64_t tr_last

    cdef int init_roce(self, int32_t ack_bytes, int32_t cnp_bytes, int64_t ack_every_packets,
                       int64_t cnp_interval_ps, int64_t min_rto_ps, int32_t retry_limit,
                       bint htsim_extra_packet, bint trace_rate) except -1
    cdef inline int64_t wire_of(self, int64_t psn) noexcept
    cdef int64_t wire_between(self, int64_t a, int64_t b) noexcept
    cdef bint has_window(self) noexcept
    cdef int64_t send_time(self) noexcept
    cdef int try_send(self) except -1
    cdef int schedule_pace(self, int64_t t) except -1
    cdef int record_rate(self) except -1
    cdef int rate_changed(self) except -1
    cdef int64_t pace_after(self, int64_t t, int64_t size) noexcept
    cdef int arm_rto(self) except -1
    cdef int push_rto(self) except -1
    cdef int on_rto(self) except -1
    cdef int on_data(self, int32_t p) except -1
    cdef int reply(self, int32_t p, uint8_t kind) except -1
    cdef int send_cnp(self, int32_t p) except -1
    cdef int on_ack_packet(self, int32_t p, bint nack) except -1
    cdef int on_cnp_packet(self, int32_t p) except -1
    cdef int cc_event(self) except -1
