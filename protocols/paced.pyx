# cython: language_level=3
"""A paced datagram transport: fixed-rate, no ACKs, no window, no retransmission.

Each :class:`PacedFlow` is both ends of one flow.  The sender puts packet ``k`` on its
NIC at exactly ``start_ps + floor(8 * W_k * 10**12 / rate_bps)`` ps, where ``W_k`` is
the on-the-wire bytes (payload + ``header_bytes``) of packets ``0 .. k-1``: the same
schedule as the ns-3 cross-check sender (``experiments/ns3/runner.py``), so the two
simulators inject identical traffic.  The schedule is kept as an exact quotient and
remainder, so it never overflows and never drifts.  One event per packet sent.

The receiver counts packets and bytes; the flow is finished when every packet arrived
(``end_ps = rx_done_ps = last_rx_ps``), and ``fct_ps = last_rx_ps - start_ps``.  Lost
packets are not recovered: a flow that lost one never finishes.

``cc``, ``ack_bytes`` and ``rto_ps`` are accepted (so scenario code that builds any
transport with the same call can build this one) and ignored; ``lb`` picks each packet's
entropy (``None``: entropy 0, i.e. one ECMP path per flow).

Examples
--------
>>> import networkx as nx
>>> from uesim.fabric import build_network
>>> from uesim.protocols import PacedFlow
>>> G = nx.Graph()
>>> G.add_nodes_from(["gpu0", "gpu1"], kind="gpu", role="host")
>>> G.add_edge("gpu0", "gpu1", rate_bps=100 * 10**9, delay_ps=10**6)
>>> built = build_network(G)
>>> f = PacedFlow(0, 0, 1, 4000, 0, None, None, mtu_bytes=1030, header_bytes=30,
...               rate_bps=100 * 10**9).attach(built.net)
>>> built.sim.run()
>>> f.finished, f.fct_ps   # 3 x 82.4 ns + 82.4 ns + 1 us
(True, 1329600)
"""
from uesim.fabric.engine cimport Simulator, push_event
from uesim.fabric.network cimport Network, Packet, PKT_DATA
from uesim.protocols.flow cimport CTR_RX_PACKETS

cdef enum:
    EV_SEND = 0

cdef int64_t PS_PER_S = 1_000_000_000_000


cdef class PacedFlow(Flow):
    """One paced datagram flow (sender and receiver).

    Parameters
    ----------
    flow_id, src, dst : int
        Flow id and source/destination host indices.
    size_bytes : int
        Payload bytes to deliver.
    start_ps : int
        When packet 0 is sent.
    cc : CongestionControl or None
        Ignored (accepted for a uniform transport signature).
    lb : LoadBalancer or None
        Entropy per packet; ``None`` means entropy 0 for every packet.
    mtu_bytes : int
        On-the-wire size of a full packet; payload per packet is ``mtu - header``.
    header_bytes : int
        On-the-wire header bytes of every packet (30 to match ns-3's UDP/IPv4/PPP).
    rate_bps : int
        Pacing rate of on-the-wire bytes (required).
    ack_bytes, rto_ps : int
        Ignored.
    data_prio : int
        Traffic class of the data packets.
    """

    def __init__(self, int32_t flow_id, int32_t src, int32_t dst, int64_t size_bytes,
                 int64_t start_ps, CongestionControl cc, LoadBalancer lb, *,
                 int32_t mtu_bytes=4096, int32_t header_bytes=64, int32_t ack_bytes=64,
                 int64_t rto_ps=100_000_000, rate_bps=None, int data_prio=1):
        if rate_bps is None:
            raise ValueError("PacedFlow needs rate_bps (the pacing rate of wire bytes)")
        if isinstance(rate_bps, bool) or int(rate_bps) != rate_bps or rate_bps <= 0:
            raise ValueError(f"rate_bps must be an integer > 0, got {rate_bps!r}")
        Flow.__init__(self, flow_id, src, dst, size_bytes, start_ps, cc, lb,
                      mtu_bytes=mtu_bytes, header_bytes=header_bytes, data_prio=data_prio)
        self.rate_bps = int(rate_bps)
        bits_ps = 8 * mtu_bytes * PS_PER_S            # fits int64 for any sane MTU
        self.full_q = bits_ps // self.rate_bps
        self.full_r = bits_ps % self.rate_bps
        self.first_rx_ps = -1
        self.last_rx_ps = -1

    cdef int on_event(self, int32_t kind, int64_t arg) except -1:
        cdef int64_t seq = arg
        if kind != EV_SEND:
            return 0
        self.send_packet(seq)
        if seq + 1 < self.n_packets:
            # every packet but the last is full-size, so W advances by one MTU
            self.sched_q += self.full_q
            self.sched_r += self.full_r
            if self.sched_r >= self.rate_bps:
                self.sched_r -= self.rate_bps
                self.sched_q += 1
            push_event(self.sim, self.start_ps + self.sched_q, self.handler_id, EV_SEND, seq + 1)
        return 0

    cdef int send_packet(self, int64_t seq) except -1:
        cdef Network net = self.net
        cdef int32_t p = self.new_data_packet(seq)
        cdef Packet* pk = &net.pkts[p]
        pk.flags = 0
        pk.entropy = self.lb.next_entropy() if self.lb is not None else 0
        self.sent_bytes += pk.size
        return net.send(p)

    cdef int on_packet(self, int32_t p) except -1:
        cdef Network net = self.net
        cdef int64_t now = self.sim.now
        cdef int32_t payload = net.pkts[p].payload
        net.release(p)
        if self.first_rx_ps < 0:
            self.first_rx_ps = now
        self.last_rx_ps = now
        self.rx_packets += 1
        self.rx_bytes += payload
        if self.rx_packets == self.n_packets and not self.finished:
            self.rx_done()              # records rx_done_ps, calls on_rx_done
            return self.finish()
        return 0

    cdef bint counter(self, int code, int64_t* out) noexcept:
        if code == CTR_RX_PACKETS: out[0] = self.rx_packets
        else: return Flow.counter(self, code, out)
        return True
