from libc.stdint cimport int32_t, int64_t, uint8_t, uint16_t, uint32_t

from uesim.fabric.engine cimport EventHandler
from uesim.fabric.network cimport Network, Packet
from uesim.protocols.flow cimport Flow

cdef enum:
    MODE_RUD = 0      # reliable, unordered delivery (packet spraying)
    MODE_ROD = 1      # reliable, ordered delivery (one path, go-back-N)
    MODE_UUD = 2      # unreliable, unordered delivery (no ACKs)


cdef class PullPacer(EventHandler):
    """RCCC: one per receiving host; grants credit to its active sinks, one pull at a time."""
    cdef readonly int32_t host
    cdef Network net
    cdef readonly int64_t ps_per_quantum
    cdef readonly int32_t quantum_bytes
    cdef readonly int32_t quanta_per_pull
    cdef readonly int32_t pull_bytes
    cdef readonly int64_t max_credit_bytes
    cdef list active                    # sinks (UetFlow) waiting for credit, round robin
    cdef int32_t head
    cdef bint pending                   # a pull event is scheduled
    cdef readonly int64_t pulls
    cdef list idle                      # sinks fully granted and not finished (slow pulls)
    cdef int32_t idle_head
    cdef readonly int64_t unsolicited_bytes   # slow-pull credit since demand last rose
    cdef readonly int64_t slow_pulls
    cdef int wake(self) except -1
    cdef int add(self, UetFlow f) except -1


cdef class UetFlow(Flow):
    cdef bint counter(self, int code, int64_t* out) noexcept
    # configuration
    cdef readonly int32_t ack_bytes
    cdef readonly int64_t ack_every_bytes
    cdef readonly double ack_request_age  # a new packet asks for an ACK once the oldest in flight is this x RTO old
    cdef int64_t ar_age_ps                # that age in ps (0: never)
    cdef readonly int64_t rto_ps
    cdef readonly int32_t mode
    cdef readonly bint sender_cc
    cdef readonly bint receiver_cc
    cdef readonly PullPacer pacer
    cdef readonly int32_t max_rto_retries
    cdef readonly bint aborted            # gave up: a packet timed out after max_rto_retries retries
    # sender, per PSN
    cdef int64_t* send_ts
    cdef uint32_t* tx_ev
    cdef uint8_t* tx_count
    cdef uint8_t* st
    # sender
    cdef int64_t next_psn
    cdef readonly int64_t cum_ack
    cdef int64_t rtx_pending
    cdef readonly int64_t inflight_bytes
    cdef readonly int64_t backlog_bytes
    cdef int64_t last_recvd_bytes
    cdef readonly int64_t credit_bytes
    cdef bint speculating
    cdef int64_t pull_seen
    cdef int64_t timer_gen
    cdef bint timer_armed
    cdef readonly int64_t new_packets
    cdef readonly int64_t acks_received
    cdef readonly int64_t nacks_received
    cdef readonly int64_t pulls_received
    cdef int64_t ar_psn                   # PSN of the latest transmission that asked for an ACK
    cdef readonly int64_t ack_requests    # ACK-request control packets sent (window closed, no ACK due)
    # receiver
    cdef uint8_t* rcv
    cdef readonly int64_t expected
    cdef readonly int64_t recvd_bytes
    cdef int64_t accepted_bytes
    cdef bint ack_request
    cdef int64_t highest_rx
    cdef readonly int64_t rx_packets
    cdef readonly int64_t rx_lost
    cdef readonly int64_t acks_sent
    cdef readonly int64_t nacks_sent
    cdef readonly int64_t dup_packets
    cdef int64_t rod_nacked
    cdef int64_t ack_horizon             # an ACK request: ACK once every PSN below this has arrived
    # receiver credit (RCCC)
    cdef int64_t pull_target
    cdef int64_t granted
    cdef bint in_pacer

    cdef int init_uet(self, int32_t ack_bytes, int64_t rto_ps, int64_t ack_every_bytes, int mode,
                      bint sender_cc, bint receiver_cc, PullPacer pacer, int32_t max_rto_retries, double ack_request_age) except -1
    cdef inline int32_t wire_size(self, int64_t psn) noexcept
    cdef int64_t next_to_send(self) noexcept
    cdef int try_send(self) except -1
    cdef int on_data(self, int32_t p) except -1
    cdef int send_ack(self, int32_t p, int64_t psn, bint ar) except -1
    cdef int send_nack(self, int32_t p, int64_t psn, bint gap=*) except -1
    cdef inline void reply(self, Packet* pk, uint8_t kind, int64_t psn, uint16_t keep) noexcept
    cdef int on_ack_packet(self, int32_t p) except -1
    cdef int on_nack_packet(self, int32_t p) except -1
    cdef int on_pull_packet(self, int32_t p) except -1
    cdef int on_ack_request(self, int32_t p) except -1
    cdef bint ack_due(self) noexcept
    cdef int request_ack(self) except -1
    cdef int64_t ack_one(self, int64_t psn) noexcept
    cdef int64_t rtx_bytes(self) noexcept
    cdef int uud_check(self) except -1
    cdef int queue_rtx(self, int64_t psn) noexcept
    cdef int on_rto(self) except -1
    cdef int arm_timer(self, int64_t at_ps) except -1
    cdef int stop_speculating(self) noexcept
    cdef int32_t grant(self, int32_t quanta) except -2
    cdef int32_t grant_unsolicited(self, int32_t quanta) except -2
    cdef int send_pull(self, int32_t q) except -1
