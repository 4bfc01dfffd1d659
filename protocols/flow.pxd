from libc.stdint cimport int32_t, int64_t, uint8_t, uint64_t

from uesim.fabric.network cimport Endpoint, Network
from uesim.protocols.hooks cimport CCContext, CongestionControl, LoadBalancer


# the counters a retired flow's result row and its retirement check read, by code
# (``COUNTER_NAMES`` in flow.pyx names them in this order)
cdef enum:
    CTR_FLOW_ID, CTR_SRC, CTR_DST, CTR_SIZE_BYTES, CTR_START_PS, CTR_END_PS, CTR_RX_DONE_PS
    CTR_FINISHED, CTR_SENT_PACKETS, CTR_RETX_PACKETS, CTR_TIMEOUTS, CTR_TIMEOUTS_NO_LOSS
    CTR_ECN_ECHOES, CTR_N_PACKETS, CTR_ABORTED, CTR_NEW_PACKETS, CTR_ACKS_RECEIVED
    CTR_NACKS_RECEIVED, CTR_CNPS_SENT, CTR_CNPS_RECEIVED, CTR_OOO_DISCARDS, CTR_N_SEND
    CTR_RX_PACKETS, CTR_ACKS_SENT, CTR_NACKS_SENT, N_COUNTERS


cdef class Flow(Endpoint):
    """What every transport flow is: both ends of one src -> dst transfer."""
    cdef readonly int32_t flow_id
    cdef readonly int32_t src
    cdef readonly int32_t dst
    cdef readonly int64_t size_bytes
    cdef public int64_t start_ps         # settable until attach (a triggered flow starts when its trigger fires)
    cdef readonly int32_t mtu_bytes
    cdef readonly int32_t header_bytes
    cdef readonly int64_t n_packets
    cdef readonly uint8_t data_prio
    cdef public CongestionControl cc
    cdef public LoadBalancer lb
    cdef readonly CCContext ctx
    cdef public object on_finish
    cdef public object on_rx_done
    # results
    cdef readonly int64_t end_ps
    cdef readonly int64_t rx_done_ps
    cdef readonly int64_t sent_packets
    cdef readonly int64_t retx_packets
    cdef readonly int64_t ecn_echoes
    cdef readonly int64_t timeouts
    cdef readonly int64_t timeouts_no_loss   # timer expiries for packets the receiver already had
    cdef readonly bint finished

    cdef int init_flow(self, int32_t flow_id, int32_t src, int32_t dst, int64_t size_bytes,
                       int64_t start_ps, CongestionControl cc, LoadBalancer lb, int32_t mtu_bytes,
                       int32_t header_bytes, int data_prio) except -1
    cdef int init_like(self, Flow template, int32_t flow_id, int32_t src, int32_t dst,
                       int64_t size_bytes, int64_t start_ps, CongestionControl cc,
                       LoadBalancer lb) except -1
    cdef Flow spawn(self, int32_t flow_id, int32_t src, int32_t dst, int64_t size_bytes,
                    int64_t start_ps, CongestionControl cc, LoadBalancer lb, object extra)
    cdef inline int32_t payload_of(self, int64_t seq) noexcept
    cdef int32_t new_data_packet(self, int64_t seq) except -1
    cdef int finish(self) except -1
    cdef int rx_done(self) except -1
    cdef int cc_timer(self, int32_t kind, int64_t gen) except -1
    cdef bint counter(self, int code, int64_t* out) noexcept
    cdef int hand_back(self) except -1
    cpdef Flow attach(self, Network net, int64_t base_rtt_ps=*, bint trimming=*)


cdef class FlowSpawner:
    """Flows like a template flow, made and attached in compiled code."""
    cdef Flow template
    cdef object fresh_cc, lb_cls, extra_of
    cdef dict lb_kw
    cdef Network net
    cdef int64_t base_rtt_ps
    cdef bint trimming
    cdef uint64_t seed
    cdef LoadBalancer lb_proto          # copied with a new seed (None: lb_cls is called)
    cdef CongestionControl cc_proto     # copied by its fresh() (None: fresh_cc is called)

    cdef Flow make(self, int32_t flow_id, int32_t src, int32_t dst, int64_t size_bytes, int64_t start_ps,
                   bint attach)
