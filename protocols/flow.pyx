# cython: language_level=3
"""The common part of transport flows: identity, packetisation, attach, results.

A :class:`Flow` is an :class:`~uesim.fabric.network.Endpoint` that is both ends of one
transfer of ``size_bytes`` payload bytes from host ``src`` to host ``dst``, cut into
packets of ``mtu_bytes`` on the wire (``header_bytes`` of it header; the last packet
carries the rest).  Subclasses (``WindowFlow``, ``PacedFlow``) add the sending rules.
"""
from uesim.fabric.engine cimport push_event
from uesim.fabric.network cimport Network, Packet, PKT_DATA


cdef class Flow(Endpoint):
    """Base class of transport flows (not used on its own).

    Parameters
    ----------
    flow_id, src, dst : int
        Flow id and source/destination host indices.
    size_bytes : int
        Payload bytes to deliver.
    start_ps : int
        When the sender starts (an event of kind 0 is scheduled then by :meth:`attach`).
    cc : CongestionControl or None
    lb : LoadBalancer or None
    mtu_bytes, header_bytes : int
        On-the-wire size of a full packet and of its header.
    data_prio : int
        Traffic class of data packets (0 is served first on priority ports).
    """

    def __init__(self, int32_t flow_id, int32_t src, int32_t dst, int64_t size_bytes,
                 int64_t start_ps, CongestionControl cc, LoadBalancer lb, *,
                 int32_t mtu_bytes=4096, int32_t header_bytes=64, int data_prio=1):
        if size_bytes <= 0:
            raise ValueError(f"size_bytes must be > 0, got {size_bytes}")
        if start_ps < 0:
            raise ValueError(f"start_ps must be >= 0, got {start_ps}")
        if not (0 <= header_bytes < mtu_bytes):
            raise ValueError(f"need 0 <= header_bytes < mtu_bytes, got {header_bytes}, {mtu_bytes}")
        if src == dst:
            raise ValueError(f"a flow needs src != dst, got {src} -> {dst}")
        self.flow_id = flow_id
        self.src = src
        self.dst = dst
        self.size_bytes = size_bytes
        self.start_ps = start_ps
        self.cc = cc
        self.lb = lb
        self.mtu_bytes = mtu_bytes
        self.header_bytes = header_bytes
        self.data_prio = data_prio
        self.n_packets = (size_bytes + (mtu_bytes - header_bytes) - 1) // (mtu_bytes - header_bytes)
        self.end_ps = -1
        self.rx_done_ps = -1

    def attach(self, Network net):
        """Attach to ``net`` and schedule the start; return self."""
        if not (0 <= self.src < net.n_hosts and 0 <= self.dst < net.n_hosts):
            raise ValueError(f"flow {self.flow_id}: hosts {self.src}->{self.dst} out of range "
                             f"0..{net.n_hosts - 1}")
        net.add_endpoint(self)
        push_event(self.sim, self.start_ps, self.handler_id, 0, 0)
        return self

    cdef inline int32_t payload_of(self, int64_t seq) noexcept:
        cdef int64_t per = self.mtu_bytes - self.header_bytes
        if seq == self.n_packets - 1:
            return <int32_t> (self.size_bytes - seq * per)
        return <int32_t> per

    cdef int32_t new_data_packet(self, int64_t seq) except -1:
        """A data packet for ``seq`` with every field set but ``flags`` and ``entropy``."""
        cdef Network net = self.net
        cdef int32_t p = net.alloc()
        cdef Packet* pk = &net.pkts[p]
        cdef int32_t payload = self.payload_of(seq)
        pk.kind = PKT_DATA
        pk.flow = self.flow_id
        pk.endpoint = self.endpoint_id
        pk.src = self.src
        pk.dst = self.dst
        pk.seq = seq
        pk.ts_ps = self.sim.now
        pk.payload = payload
        pk.size = self.header_bytes + payload
        pk.prio = self.data_prio
        self.sent_packets += 1
        return p

    cdef int finish(self) except -1:
        """Record completion now and call ``on_finish``."""
        self.finished = True
        self.end_ps = self.sim.now
        if self.on_finish is not None:
            self.on_finish(self)
        return 0

    @property
    def fct_ps(self):
        """Completion time (``end_ps - start_ps``), or None if unfinished."""
        return self.end_ps - self.start_ps if self.finished else None
