# cython: language_level=3
"""The packet-level data plane.

One :class:`Network` object holds every egress port, the forwarding tables and the
packet pool as C arrays, and is a single event handler for packet arrivals.  A
packet is an index into the pool; nothing on the forwarding path creates a Python
object.

Egress ports have two service paths, chosen per port from its configuration:

* **FIFO fast path** (one event per hop): the departure is computed when the packet
  is enqueued (``start = max(now, busy_until)``) and its arrival at the next hop is
  scheduled at once.  The bytes a port holds are tracked with a ring of finish
  times, so drop-tail and enqueue-time ECN see the same occupancy a dequeue model
  would.
* **Dequeue path**: per-class FIFOs served in strict priority with a real
  "serialisation done" event per packet; ECN can then be marked on the bytes left
  behind when a packet leaves (as htsim does).

A port holds a packet from its arrival until its last bit is serialised, so the
occupancy used for drops and ECN includes the packet being transmitted.
"""
cimport cython
from uesim.fabric.engine cimport push_event
from libc.stdlib cimport free, malloc, realloc, calloc
from libc.string cimport memcpy, memset
from libc.stdint cimport INT32_MAX, INT64_MAX, UINT32_MAX

import numpy as np

PS_PER_S = 1_000_000_000_000


cdef int64_t BITS_PS = 8 * 1000 * 1000 * 1000 * 1000   # bits per byte x ps per second


cdef inline int64_t tx_time(int64_t size, int64_t rate_bps) noexcept:
    # exact: the last bit leaves after ceil(size * 8 / rate) seconds, in ps
    return (size * BITS_PS + rate_bps - 1) // rate_bps


cdef inline int64_t tx_done_arg(int32_t port, int32_t head) noexcept:
    # an end-of-service event names its port, and in the high half (plus one) the packet
    # then at the head of the port's queue, for the engine to prefetch (see _register_prefetch)
    return <int64_t> port | ((<int64_t> head + 1) << 32)


cdef inline int64_t port_tx_time(Port* pt, int64_t size) noexcept:
    if pt.ps_per_byte:          # 100 Gb/s is exactly 80 ps per byte: no division
        return size * pt.ps_per_byte
    return tx_time(size, pt.rate_bps)


cdef inline int64_t exact_ps_per_byte(int64_t rate_bps) noexcept:
    return BITS_PS // rate_bps if BITS_PS % rate_bps == 0 else 0


cdef inline uint64_t mix_hash(uint64_t flow, uint64_t entropy, uint64_t salt) noexcept:
    # splitmix64 finaliser over (flow, entropy, per-switch salt); mirrored in tests/refmodel.py
    cdef uint64_t x = flow * 0x9E3779B97F4A7C15ULL + entropy * 0xC2B2AE3D27D4EB4FULL + salt
    x ^= x >> 30
    x *= 0xBF58476D1CE4E5B9ULL
    x ^= x >> 27
    x *= 0x94D049BB133111EBULL
    x ^= x >> 31
    return x


cdef extern from "stdlib.h":
    int posix_memalign(void** ptr, size_t alignment, size_t size) nogil


cdef Packet* alloc_packets(int64_t n) noexcept:
    # cache-line aligned: each 128-byte packet is exactly two lines, the hot one first
    cdef void* mem = NULL
    if posix_memalign(&mem, 64, n * sizeof(Packet)) != 0:
        return NULL
    return <Packet*> mem


cdef Port* alloc_ports(int64_t n) noexcept:
    # zeroed and cache-line aligned: a port's hot fields are its first two lines
    cdef void* mem = NULL
    if posix_memalign(&mem, 64, n * sizeof(Port)) != 0:
        return NULL
    memset(mem, 0, n * sizeof(Port))
    return <Port*> mem


cdef class Endpoint(EventHandler):
    """Something at a host that packets are addressed to (a transport flow, a sink).

    Subclasses override ``on_packet`` (Cython) and take ownership of the packet:
    they must release it or send it on (for example turned into an ACK).
    """

    def __cinit__(self):
        self.endpoint_id = -1

    cdef int on_packet(self, int32_t pkt) except -1:
        self.net.release(pkt)
        return 0

    cdef int32_t pull(self) except -2:
        """The host NIC is free: return a packet to send now (fields filled), or -1."""
        return -1

    cdef bint can_send(self) noexcept:
        """Whether :meth:`pull` would return a packet now."""
        return False


cdef class RecordingSink(Endpoint):
    """Test helper: records ``(time_ps, flow, seq, size, flags)`` of every packet it receives."""
    cdef public list log

    def __init__(self):
        self.log = []

    cdef int on_packet(self, int32_t p) except -1:
        cdef Packet* pk = &self.net.pkts[p]
        self.log.append((self.sim.now, pk.flow, pk.seq, pk.size, pk.flags))
        self.net.release(p)
        return 0


@cython.final
cdef class Network(EventHandler):
    """Ports, forwarding tables and packets of one simulated fabric.

    Usually built from a networkx graph with :func:`uesim.fabric.build_network`.

    Parameters
    ----------
    sim : Simulator
    n_nodes, n_hosts : int
        Nodes are numbered ``0 .. n_nodes-1``; hosts (endpoints with a NIC) also
        have a host index ``0 .. n_hosts-1``.
    seed : int
        Seeds the ECN coin flips and the per-switch hash salts.
    switch_latency_ps : int
        Delay between a packet's arrival at a switch and its enqueue at the egress.
    """

    def __init__(self, Simulator sim, int32_t n_nodes, int32_t n_hosts, uint64_t seed=0,
                 int64_t switch_latency_ps=0):
        cdef int32_t i
        if n_nodes <= 0 or n_hosts <= 0 or n_hosts > n_nodes:
            raise ValueError(f"need 0 < n_hosts <= n_nodes, got n_nodes={n_nodes}, n_hosts={n_hosts}")
        if switch_latency_ps < 0:
            raise ValueError(f"switch_latency_ps must be >= 0, got {switch_latency_ps}")
        self.n_nodes = n_nodes
        self.n_hosts = n_hosts
        self.switch_latency_ps = switch_latency_ps
        self.node_host = <int32_t*> malloc(n_nodes * sizeof(int32_t))
        self.host_node = <int32_t*> malloc(n_hosts * sizeof(int32_t))
        self.host_domain = <int32_t*> malloc(n_hosts * sizeof(int32_t))
        self.n_tables = 1
        self.node_salt = <uint64_t*> malloc(n_nodes * sizeof(uint64_t))
        if sizeof(Port) % 64 or sizeof(Packet) != 128:
            raise AssertionError("Port must fill whole cache lines and Packet two")
        self.port_cap = 64
        self.ports = alloc_ports(self.port_cap)
        self.pkt_cap = 4096
        self.pkts = alloc_packets(self.pkt_cap)
        self.endpoint_cap = 64
        self.endpoint_ptrs = <void**> malloc(self.endpoint_cap * sizeof(void*))
        self.ready_next = <int32_t*> malloc(self.endpoint_cap * sizeof(int32_t))
        self.ep_out = <int32_t*> calloc(self.endpoint_cap, sizeof(int32_t))
        self.ready_head = <int32_t*> malloc(2 * n_hosts * sizeof(int32_t))
        self.ready_tail = <int32_t*> malloc(2 * n_hosts * sizeof(int32_t))
        self.nic_port = <int32_t*> malloc(2 * n_hosts * sizeof(int32_t))
        self.nic_pending = <uint8_t*> calloc(2 * n_hosts, sizeof(uint8_t))
        if (self.node_host == NULL or self.host_node == NULL or self.host_domain == NULL or self.node_salt == NULL or
                self.ports == NULL or self.pkts == NULL or self.endpoint_ptrs == NULL or
                self.ready_next == NULL or self.ready_head == NULL or self.ready_tail == NULL or
                self.nic_pending == NULL or self.nic_port == NULL):
            raise MemoryError()
        self.rng = (seed * 0x9E3779B97F4A7C15ULL) ^ 0xD1B54A32D192ED03ULL
        if self.rng == 0:
            self.rng = 1
        for i in range(n_nodes):
            self.node_host[i] = -1
            self.node_salt[i] = mix_hash(<uint64_t> i, seed, 0x5851F42D4C957F2DULL)
        for i in range(n_hosts):
            self.host_node[i] = -1
            self.host_domain[i] = -1
        for i in range(2 * n_hosts):
            self.ready_head[i] = -1
            self.ready_tail[i] = -1
            self.nic_port[i] = -1
        for i in range(self.pkt_cap):
            self.pkts[i].next = i + 1 if i + 1 < self.pkt_cap else -1
        self.free_head = 0
        self.endpoints = []
        sim.register(self)
        self._register_prefetch()

    def __dealloc__(self):
        cdef int32_t i
        if self.ports != NULL:
            for i in range(self.n_ports):
                free(self.ports[i].ring_t)
                free(self.ports[i].ring_sz)
        free(self.ports)
        free(self.node_host)
        free(self.host_node)
        free(self.host_domain)
        free(self.node_salt)
        free(self.host_group)
        free(self.fwd_row)
        free(self.fwd_off)
        free(self.fwd_ports)
        free(self.ovr_off)
        free(self.ovr_node)
        free(self.ovr_row)
        free(self.pkts)
        free(self.endpoint_ptrs)
        free(self.ready_next)
        free(self.ep_out)
        free(self.ready_head)
        free(self.ready_tail)
        free(self.nic_pending)
        free(self.nic_port)
        free(self.ring_ports_off)
        free(self.ring_ports)
        free(self.loss_q32)
        free(self.loss_rng)
        free(self.port_lost)
        free(self.pfc)
        free(self.sw_used)
        free(self.sw_shared)
        free(self.sw_max_used)
        free(self.llr_fer)
        free(self.llr_errors)
        free(self.llr_replay_ps)

    # ------------------------------------------------------------------ setup
    def set_host(self, int32_t host, int32_t node):
        """Declare ``node`` to be the NIC of host index ``host``."""
        if not (0 <= host < self.n_hosts and 0 <= node < self.n_nodes):
            raise IndexError(f"host {host} or node {node} out of range")
        self.host_node[host] = node
        self.node_host[node] = host

    def add_port(self, int32_t node, int32_t peer, int64_t rate_bps, int64_t delay_ps,
                 int64_t buffer_bytes, int32_t reverse=-1):
        """Add an egress port from ``node`` to ``peer``; return its id."""
        cdef Port* pt
        cdef int32_t c
        if not (0 <= node < self.n_nodes and 0 <= peer < self.n_nodes):
            raise IndexError(f"port endpoints ({node}, {peer}) out of range 0..{self.n_nodes - 1}")
        if rate_bps <= 0:
            raise ValueError(f"rate_bps must be > 0, got {rate_bps}")
        if delay_ps < 0:
            raise ValueError(f"delay_ps must be >= 0, got {delay_ps}")
        if buffer_bytes <= 0:
            raise ValueError(f"buffer_bytes must be > 0, got {buffer_bytes}")
        if self.pfc != NULL or self.llr_fer != NULL:
            raise RuntimeError("add ports before configure_pfc / configure_llr")
        if self.n_ports == self.port_cap:
            pt = alloc_ports(2 * self.port_cap)
            if pt == NULL:
                raise MemoryError()
            memcpy(pt, self.ports, self.port_cap * sizeof(Port))
            free(self.ports)
            self.ports = pt
            self._register_prefetch()
            self.port_cap *= 2
        pt = &self.ports[self.n_ports]
        pt.node = node
        pt.peer = peer
        pt.reverse = reverse
        pt.rate_bps = rate_bps
        pt.ps_per_byte = exact_ps_per_byte(rate_bps)
        pt.delay_ps = delay_ps
        pt.buffer_bytes = buffer_bytes
        pt.in_service = -1
        pt.up = 1
        for c in range(N_CLASSES):
            pt.q_head[c] = -1
            pt.q_tail[c] = -1
        self.n_ports += 1
        return self.n_ports - 1

    def set_reverse(self, int32_t port, int32_t reverse):
        self._check_port(port)
        self.ports[port].reverse = reverse

    def configure_ecn(self, int32_t port, int64_t kmin_bytes, int64_t kmax_bytes, double pmax,
                      bint at_dequeue=False):
        """Mark ECN-capable packets: never below ``kmin``, with probability rising
        linearly to ``pmax`` at ``kmax``, always above ``kmax``.  Occupancy is read
        at enqueue (before the packet is added) or, with ``at_dequeue``, as the bytes
        left behind when the packet leaves."""
        self._check_port(port)
        if not (0 <= kmin_bytes <= kmax_bytes):
            raise ValueError(f"need 0 <= kmin_bytes <= kmax_bytes, got {kmin_bytes}, {kmax_bytes}")
        if not (0.0 <= pmax <= 1.0):
            raise ValueError(f"pmax must be in [0, 1], got {pmax}")
        cdef Port* pt = &self.ports[port]
        pt.ecn_kmin = kmin_bytes
        pt.ecn_kmax = kmax_bytes
        pt.ecn_pmax_q32 = <uint32_t> min(pmax * 4294967296.0, 4294967295.0)
        pt.mode |= PM_ECN
        if at_dequeue:
            pt.mode |= PM_ECN_AT_DEQUEUE | PM_DEQUEUE
        else:
            pt.mode &= ~PM_ECN_AT_DEQUEUE

    def configure_trimming(self, int32_t port, int32_t trim_bytes=64, double tail_prob=0.0):
        """UET packet trimming on ``port``.

        A data packet (class > 0) that would take the data classes over ``buffer_bytes``
        is cut to ``trim_bytes`` and served in class 0, ahead of data (flag ``PF_TRIMMED``,
        plus ``PF_LAST_HOP`` if the port leads to a host).  With probability ``tail_prob``
        the newest queued data packet is trimmed instead and the arrival queued in full
        (htsim does this with probability 0.5).  Class 0 (headers) has its own limit of
        2 x ``buffer_bytes``.  Implies the dequeue path.
        """
        self._check_port(port)
        if trim_bytes <= 0:
            raise ValueError(f"trim_bytes must be > 0, got {trim_bytes}")
        if not (0.0 <= tail_prob <= 1.0):
            raise ValueError(f"tail_prob must be in [0, 1], got {tail_prob}")
        if self.ports[port].queued_bytes:
            raise RuntimeError("cannot configure trimming on a busy port")
        cdef Port* pt = &self.ports[port]
        pt.trim_bytes = trim_bytes
        pt.trim_tail_q32 = <uint32_t> min(tail_prob * 4294967296.0, 4294967295.0)
        pt.mode |= PM_TRIM | PM_DEQUEUE

    cpdef int64_t host_rate_bps(self, int32_t host, int32_t dst=-1, bint one_port=False) except -1:
        """Rate of the first egress port of ``host``'s NIC (0 if it has none); with ``dst``,
        the summed rate of the ports the NIC sprays over towards ``dst`` (its scale-up or
        scale-out ports, all planes), when the NIC's ports are set; with ``one_port`` the
        fastest of those ports (a single-path flow keeps to one)."""
        cdef int32_t i, d, ring
        cdef int64_t k, r, total = 0
        if dst >= 0 and self.ring_ports_off != NULL and 0 <= host < self.n_hosts and dst < self.n_hosts:
            d = self.host_domain[host]
            ring = 2 * host + (1 if (d >= 0 and d == self.host_domain[dst]) else 0)
            for k in range(self.ring_ports_off[ring], self.ring_ports_off[ring + 1]):
                r = self.ports[self.ring_ports[k]].rate_bps
                total = (r if r > total else total) if one_port else total + r
            if total > 0:
                return total
        if self._host_rates is None:
            rates = np.zeros(self.n_hosts, dtype=np.int64)
            for i in range(self.n_ports - 1, -1, -1):
                if self.node_host[self.ports[i].node] >= 0:
                    rates[self.node_host[self.ports[i].node]] = self.ports[i].rate_bps
            self._host_rates = rates
        if not (0 <= host < self.n_hosts):
            raise IndexError(f"host {host} out of range 0..{self.n_hosts - 1}")
        return self._host_rates[host]

    def use_dequeue_path(self, int32_t port, bint on=True):
        """Serve ``port`` with real dequeue events (needed for priorities)."""
        self._check_port(port)
        if self.ports[port].queued_bytes:
            raise RuntimeError("cannot change the service path of a busy port")
        if on:
            self.ports[port].mode |= PM_DEQUEUE
        elif not (self.ports[port].mode & (PM_ECN_AT_DEQUEUE | PM_TRIM)):
            self.ports[port].mode &= ~PM_DEQUEUE

    def set_port_up(self, int32_t port, bint up):
        """Take a port down (packets sent to it are dropped) or back up."""
        self._check_port(port)
        self.ports[port].up = 1 if up else 0

    def set_port_rate(self, int32_t port, int64_t rate_bps):
        """Change a port's rate (applies to packets enqueued from now on)."""
        self._check_port(port)
        if rate_bps <= 0:
            raise ValueError(f"rate_bps must be > 0, got {rate_bps}")
        self.ports[port].rate_bps = rate_bps
        self.ports[port].ps_per_byte = exact_ps_per_byte(rate_bps)

    def _check_port(self, int32_t port):
        if not (0 <= port < self.n_ports):
            raise IndexError(f"port {port} out of range 0..{self.n_ports - 1}")

    def set_forwarding(self, host_group, node_rows, row_offsets, row_ports, override_offsets,
                       override_nodes, override_rows, host_domains=None):
        """Install forwarding tables (as made by :func:`uesim.fabric.routing.forwarding_tables`).

        Destination hosts that every node but a few routes alike share a *group*.  The
        equal-cost egress ports of ``node`` towards host ``dst`` in table ``t`` are
        ``row_ports[row_offsets[r] : row_offsets[r + 1]]``, where ``r`` is
        ``node_rows[node * n_groups + host_group[t * n_hosts + dst]]``; a negative entry
        ``~r`` means that ``node`` may be an exception for ``dst``: if ``node`` is among
        ``override_nodes[override_offsets[i] : override_offsets[i + 1]]``
        (``i = t * n_hosts + dst``), the matching ``override_rows`` entry is the row,
        otherwise ``r``.  Table 0 is used unless ``host_domains`` (scale-up domain per
        host, -1 for none) is given: then a packet between two hosts of the same domain
        uses table 1, and where table 1 has no port it falls back to table 0.

        Parameters
        ----------
        host_group : array of int32
            ``n_tables * n_hosts`` groups, each in ``0 .. n_groups-1``.
        node_rows : array of int32
            ``n_nodes * n_groups`` rows (``n_groups`` follows from its length).
        row_offsets : array of int64
            ``n_rows + 1`` non-decreasing offsets from 0 to ``len(row_ports)``.
        row_ports : array of int32
            Port ids.
        override_offsets : array of int64
            ``n_tables * n_hosts + 1`` non-decreasing offsets from 0 to
            ``len(override_nodes)``.
        override_nodes, override_rows : array of int32
            Node ids and rows, of equal length.
        host_domains : sequence of int, optional
        """
        cdef int32_t[::1] hg = np.ascontiguousarray(host_group, dtype=np.int32)
        cdef int32_t[::1] nr = np.ascontiguousarray(node_rows, dtype=np.int32)
        cdef int64_t[::1] off = np.ascontiguousarray(row_offsets, dtype=np.int64)
        cdef int32_t[::1] pv = np.ascontiguousarray(row_ports, dtype=np.int32)
        cdef int64_t[::1] ooff = np.ascontiguousarray(override_offsets, dtype=np.int64)
        cdef int32_t[::1] onode = np.ascontiguousarray(override_nodes, dtype=np.int32)
        cdef int32_t[::1] orow = np.ascontiguousarray(override_rows, dtype=np.int32)
        cdef int32_t n_tables = 1 if host_domains is None else 2
        cdef int64_t n_keys = <int64_t> n_tables * self.n_hosts
        cdef int64_t n_rows = off.shape[0] - 1
        cdef int64_t i, n_groups, r
        if nr.shape[0] == 0 or nr.shape[0] % self.n_nodes:
            raise ValueError(f"node_rows needs n_nodes * n_groups entries (n_nodes={self.n_nodes}), "
                             f"got {nr.shape[0]}")
        n_groups = nr.shape[0] // self.n_nodes
        if n_groups > INT32_MAX:
            raise ValueError(f"too many groups: {n_groups}")
        if hg.shape[0] != n_keys:
            raise ValueError(f"host_group must have {n_keys} entries for {n_tables} table(s), "
                             f"got {hg.shape[0]}")
        for i in range(n_keys):
            if not (0 <= hg[i] < n_groups):
                raise ValueError(f"host_group[{i}]={hg[i]} out of range 0..{n_groups - 1}")
        if n_rows < 1 or off[0] != 0 or off[n_rows] != pv.shape[0]:
            raise ValueError("row_offsets must run from 0 to len(row_ports)")
        for i in range(n_rows):
            if off[i + 1] < off[i]:
                raise ValueError("row_offsets must be non-decreasing")
        for i in range(pv.shape[0]):
            if not (0 <= pv[i] < self.n_ports):
                raise ValueError(f"forwarding port {pv[i]} out of range")
        for i in range(nr.shape[0]):
            r = nr[i] if nr[i] >= 0 else ~nr[i]
            if r >= n_rows:
                raise ValueError(f"node_rows[{i}]={nr[i]} names no row (there are {n_rows})")
        if (ooff.shape[0] != n_keys + 1 or ooff[0] != 0 or ooff[n_keys] != onode.shape[0]
                or orow.shape[0] != onode.shape[0]):
            raise ValueError(f"override_offsets must have {n_keys + 1} entries from 0 to "
                             "len(override_nodes) == len(override_rows)")
        for i in range(n_keys):
            if ooff[i + 1] < ooff[i]:
                raise ValueError("override_offsets must be non-decreasing")
        for i in range(onode.shape[0]):
            if not (0 <= onode[i] < self.n_nodes and 0 <= orow[i] < n_rows):
                raise ValueError(f"override {i}: node {onode[i]} or row {orow[i]} out of range")
        if host_domains is not None:
            if len(host_domains) != self.n_hosts:
                raise ValueError(f"host_domains needs {self.n_hosts} entries, got {len(host_domains)}")
            for i in range(self.n_hosts):
                self.host_domain[i] = host_domains[i]
        free(self.host_group)
        free(self.fwd_row)
        free(self.fwd_off)
        free(self.fwd_ports)
        free(self.ovr_off)
        free(self.ovr_node)
        free(self.ovr_row)
        self.host_group = <int32_t*> malloc(n_keys * sizeof(int32_t))
        self.fwd_row = <int32_t*> malloc(nr.shape[0] * sizeof(int32_t))
        self.fwd_off = <int64_t*> malloc((n_rows + 1) * sizeof(int64_t))
        self.fwd_ports = <int32_t*> malloc(max(pv.shape[0], 1) * sizeof(int32_t))
        self.ovr_off = <int64_t*> malloc((n_keys + 1) * sizeof(int64_t))
        self.ovr_node = <int32_t*> malloc(max(onode.shape[0], 1) * sizeof(int32_t))
        self.ovr_row = <int32_t*> malloc(max(onode.shape[0], 1) * sizeof(int32_t))
        if (self.host_group == NULL or self.fwd_row == NULL or self.fwd_off == NULL or
                self.fwd_ports == NULL or self.ovr_off == NULL or self.ovr_node == NULL or
                self.ovr_row == NULL):
            raise MemoryError()
        self.n_tables = n_tables
        self.n_groups = <int32_t> n_groups
        memcpy(self.host_group, &hg[0], n_keys * sizeof(int32_t))
        memcpy(self.fwd_row, &nr[0], nr.shape[0] * sizeof(int32_t))
        memcpy(self.fwd_off, &off[0], (n_rows + 1) * sizeof(int64_t))
        if pv.shape[0]:
            memcpy(self.fwd_ports, &pv[0], pv.shape[0] * sizeof(int32_t))
        memcpy(self.ovr_off, &ooff[0], (n_keys + 1) * sizeof(int64_t))
        if onode.shape[0]:
            memcpy(self.ovr_node, &onode[0], onode.shape[0] * sizeof(int32_t))
            memcpy(self.ovr_row, &orow[0], onode.shape[0] * sizeof(int32_t))
        self.route_epoch += 1             # egresses chosen before now are stale
        self._register_prefetch()

    def endpoint_busy(self, int32_t endpoint_id):
        """Whether the endpoint waits in a NIC ring with something to send, or packets
        of its own are still alive (in flight, queued, or held)."""
        if not 0 <= endpoint_id < self.n_endpoints:
            raise IndexError(f"endpoint {endpoint_id} out of range 0..{self.n_endpoints - 1}")
        return self.busy(endpoint_id)

    cpdef void retire_endpoint(self, int32_t endpoint_id) except *:
        """Forget endpoint ``endpoint_id``: packets still addressed to it are released on
        arrival (counted delivered) and the network no longer keeps it alive. The id is
        never reused."""
        if not 0 <= endpoint_id < self.n_endpoints:
            raise IndexError(f"endpoint {endpoint_id} out of range 0..{self.n_endpoints - 1}")
        if self._retired is None:
            self._retired = Endpoint()
            self._retired.net = self
            self._retired.sim = self.sim
        self.endpoints[endpoint_id] = self._retired
        self.endpoint_ptrs[endpoint_id] = <void*> self._retired

    cpdef int32_t add_endpoint(self, Endpoint ep) except -1:
        """Attach an endpoint (and register it with the simulator); return its id."""
        if ep.endpoint_id >= 0:
            raise ValueError("endpoint is already attached to a network")
        if self.n_endpoints == self.endpoint_cap:
            ptrs = <void**> realloc(self.endpoint_ptrs, 2 * self.endpoint_cap * sizeof(void*))
            if ptrs == NULL:
                raise MemoryError()
            self.endpoint_ptrs = ptrs
            nxt = <int32_t*> realloc(self.ready_next, 2 * self.endpoint_cap * sizeof(int32_t))
            if nxt == NULL:
                raise MemoryError()
            self.ready_next = nxt
            out = <int32_t*> realloc(self.ep_out, 2 * self.endpoint_cap * sizeof(int32_t))
            if out == NULL:
                raise MemoryError()
            memset(out + self.endpoint_cap, 0, self.endpoint_cap * sizeof(int32_t))
            self.ep_out = out
            self.endpoint_cap *= 2
            self._register_prefetch()
        self.ready_next[self.n_endpoints] = -2
        self.endpoints.append(ep)
        self.endpoint_ptrs[self.n_endpoints] = <void*> ep
        ep.endpoint_id = self.n_endpoints
        ep.net = self
        self.n_endpoints += 1
        if ep.handler_id < 0:
            self.sim.register(ep)
        return ep.endpoint_id

    # ------------------------------------------------------------ packet pool
    cdef int32_t alloc(self) except -1:
        cdef int32_t p, i, old
        cdef Packet* grown
        if self.free_head < 0:
            old = self.pkt_cap
            grown = alloc_packets(2 * old)
            if grown == NULL:
                raise MemoryError()
            memcpy(grown, self.pkts, old * sizeof(Packet))
            free(self.pkts)
            self.pkts = grown
            self.pkt_cap = 2 * old
            self._register_prefetch()
            for i in range(old, self.pkt_cap):
                self.pkts[i].next = i + 1 if i + 1 < self.pkt_cap else -1
            self.free_head = old
        p = self.free_head
        self.free_head = self.pkts[p].next
        memset(&self.pkts[p], 0, sizeof(Packet))
        self.pkts[p].next = -1
        self.pkts[p].endpoint = -1            # nobody's until own()
        self.pkts[p].port = -1
        self.live_packets += 1
        self.allocated_packets += 1
        return p

    cdef void _register_prefetch(self) noexcept:
        # what the engine prefetches when an event's bucket is loaded: an arrival's
        # packet and the forwarding entry its switch will read; an end-of-service's
        # port and the packet at the head of its queue when the event was scheduled
        # (served next unless a header overtakes it)
        self.sim.pf_handler = self.handler_id
        self.sim.pf_lo[EV_ARRIVE] = <char*> self.pkts
        self.sim.pf_lo_stride[EV_ARRIVE] = sizeof(Packet)
        self.sim.pf_lo[EV_TX_DONE] = <char*> self.ports
        self.sim.pf_lo_stride[EV_TX_DONE] = sizeof(Port)
        self.sim.pf_lo_span[EV_TX_DONE] = 192          # its hot lines and the class FIFOs
        self.sim.pf_hi[EV_TX_DONE] = <char*> self.pkts
        self.sim.pf_hi_stride[EV_TX_DONE] = sizeof(Packet)
        self.sim.pf_hi[EV_ARRIVE] = <char*> self.ports
        self.sim.pf_hi_stride[EV_ARRIVE] = sizeof(Port)
        self.sim.pf_hi_span[EV_ARRIVE] = 192
        self.sim.pf_lo[EV_FORWARD] = <char*> self.pkts       # switch latency elapsed:
        self.sim.pf_lo_stride[EV_FORWARD] = sizeof(Packet)   # the packet and its egress
        self.sim.pf_hi[EV_FORWARD] = <char*> self.ports
        self.sim.pf_hi_stride[EV_FORWARD] = sizeof(Port)
        self.sim.pf_hi_span[EV_FORWARD] = 192
        self.sim.pf_lo[EV_DELIVER] = <char*> self.pkts
        self.sim.pf_lo_stride[EV_DELIVER] = sizeof(Packet)
        self.sim.pf_lo_span[EV_DELIVER] = sizeof(Packet)   # the transport reads both lines
        self.sim.pf_hi[EV_DELIVER] = <char*> self.endpoint_ptrs
        self.sim.pf_hi_stride[EV_DELIVER] = sizeof(void*)
        self.sim.pf_hi_ptr[EV_DELIVER] = True
        self.sim.pf_hi_span[EV_DELIVER] = 512              # a transport flow's fields

    cdef void release(self, int32_t p) noexcept:
        if self.pkts[p].endpoint >= 0:
            self.ep_out[self.pkts[p].endpoint] -= 1
        self.pkts[p].next = self.free_head
        self.free_head = p
        self.live_packets -= 1

    cdef uint32_t rand32(self) noexcept:
        # xorshift64*
        cdef uint64_t x = self.rng
        x ^= x >> 12
        x ^= x << 25
        x ^= x >> 27
        self.rng = x
        return <uint32_t> ((x * 0x2545F4914F6CDD1DULL) >> 32)

    # ------------------------------------------------------------- data plane
    cdef int send(self, int32_t p) except -1:
        """A host NIC sends packet ``p`` (fields filled by the caller)."""
        cdef Packet* pk = &self.pkts[p]
        cdef int32_t d = self.host_domain[pk.src]
        self.sent += 1
        pk.table = 1 if (d >= 0 and d == self.host_domain[pk.dst]) else 0
        return self.forward(self.host_node[pk.src], p, -1)

    cdef int nic_ready(self, Endpoint ep, int32_t src, int32_t dst) except -1:
        """``ep`` at host ``src`` has a packet for host ``dst``: queue it for the NIC.

        The NIC asks ready endpoints in round robin for one packet at a time, when the
        port it last sent on has drained, so a packet is created (and timestamped) when it
        can leave and the flows of a host share its NIC fairly, as htsim's host queue.
        Scale-up and scale-out traffic have separate rings (they leave by different ports);
        a host with several scale-out ports sends on one at a time.
        """
        cdef int32_t d = self.host_domain[src]
        cdef int32_t ring = 2 * src + (1 if (d >= 0 and d == self.host_domain[dst]) else 0)
        cdef int32_t e = ep.endpoint_id
        cdef int64_t free_at
        if self.ready_next[e] == -2:
            self.ready_next[e] = -1
            if self.ready_tail[ring] < 0:
                self.ready_head[ring] = e
            else:
                self.ready_next[self.ready_tail[ring]] = e
            self.ready_tail[ring] = e
        if not self.nic_pending[ring]:
            free_at = self.nic_free_at(ring)
            if free_at <= self.sim.now:
                return self.nic_pull(ring)
            if free_at == INT64_MAX:
                return 0                   # paused by PFC: the resume pulls
            self.nic_pending[ring] = 1
            push_event(self.sim, free_at, self.handler_id, EV_NIC_PULL, ring)
        return 0

    cdef inline int64_t port_free_at(self, int32_t port) noexcept:
        # when the port will have serialised everything it holds
        if self.ports[port].mode & PM_DEQUEUE:
            if (self.ports[port].mode & PM_PFC) and (self.pfc[port].open_mask or self.pfc[port].cb_block):
                return INT64_MAX           # paused (or out of credit): the NIC waits for the resume
            return self.ports[port].drain_at
        return self.ports[port].busy_until

    cdef int64_t nic_free_at(self, int32_t ring) noexcept:
        # a NIC with several ports for this ring (multi-plane) is free when any of them
        # is; otherwise when the port it last sent on has drained
        cdef int64_t i, t, best
        cdef int32_t port
        if self.ring_ports_off != NULL and self.ring_ports_off[ring + 1] - self.ring_ports_off[ring] > 1:
            best = INT64_MAX
            for i in range(self.ring_ports_off[ring], self.ring_ports_off[ring + 1]):
                t = self.port_free_at(self.ring_ports[i])
                if t < best:
                    best = t
            return best
        port = self.nic_port[ring]
        if port < 0:
            return self.sim.now
        return self.port_free_at(port)

    cdef int nic_pull(self, int32_t ring) except -1:
        """The NIC port of ``ring`` is free: send one packet from the next ready endpoint."""
        cdef int32_t e, p
        cdef int64_t free_at
        cdef Endpoint ep
        if self.pfc != NULL and self.nic_free_at(ring) == INT64_MAX:
            return 0                       # paused by PFC: the resume pulls
        while self.ready_head[ring] >= 0:
            e = self.ready_head[ring]
            self.ready_head[ring] = self.ready_next[e]
            if self.ready_head[ring] < 0:
                self.ready_tail[ring] = -1
            self.ready_next[e] = -2
            ep = <Endpoint> self.endpoint_ptrs[e]
            p = ep.pull()
            if p < 0:
                continue
            if ep.can_send():             # back of the ring: round robin between flows
                self.ready_next[e] = -1
                if self.ready_tail[ring] < 0:
                    self.ready_head[ring] = e
                else:
                    self.ready_next[self.ready_tail[ring]] = e
                self.ready_tail[ring] = e
            self.pkts[p].port = -1
            self.send(p)
            # the slot still holds the port it was enqueued on (or -1 if it was dropped
            # before that): nothing has been allocated since
            self.nic_port[ring] = self.pkts[p].port
            break
        if self.ready_head[ring] >= 0:
            free_at = self.nic_free_at(ring)
            if free_at == INT64_MAX:
                return 0                   # paused by PFC: the resume pulls
            self.nic_pending[ring] = 1
            push_event(self.sim, free_at if free_at > self.sim.now else self.sim.now,
                       self.handler_id, EV_NIC_PULL, ring)
        return 0

    cdef int32_t route(self, int32_t table, int32_t node, int32_t dst) noexcept:
        # the row of (node, dst): its group's, unless node is one of dst's exceptions
        # (attached switch, dst's own NIC); a negative entry says whether to look
        cdef int64_t h, i, end
        cdef int32_t r
        while True:
            h = <int64_t> table * self.n_hosts + dst
            r = self.fwd_row[<int64_t> node * self.n_groups + self.host_group[h]]
            if r < 0:
                r = ~r
                end = self.ovr_off[h + 1]
                for i in range(self.ovr_off[h], end):
                    if self.ovr_node[i] == node:
                        r = self.ovr_row[i]
                        break
            if table == 0 or self.fwd_off[r + 1] != self.fwd_off[r]:
                return r
            table = 0                            # no scale-up route: use scale-out

    cdef int32_t egress(self, int32_t node, Packet* pk) noexcept:
        """The port switch ``node`` sends ``pk`` on, or -1 if it has no route."""
        cdef int32_t r = self.route(pk.table, node, pk.dst)
        cdef int64_t lo = self.fwd_off[r]
        cdef int64_t cnt = self.fwd_off[r + 1] - lo
        if cnt == 1:
            return self.fwd_ports[lo]
        if cnt > 1:
            return self.fwd_ports[lo + <int64_t> (mix_hash(<uint64_t> pk.flow, pk.entropy,
                                                           self.node_salt[node]) % <uint64_t> cnt)]
        return -1

    cdef int forward(self, int32_t node, int32_t p, int32_t ahead) except -1:
        # ``ahead``: the egress chosen when the packet left the previous hop (see
        # put_on_wire), valid if forwarding has not changed since
        cdef Packet* pk = &self.pkts[p]
        cdef int32_t r, port
        cdef int64_t lo, cnt
        pk.in_port = pk.port          # the link it came in by (PFC ingress accounting)
        if ahead >= 0 and pk.route_tag == self.route_epoch:
            port = ahead
        else:
            port = self.egress(node, pk)
        if port < 0:
            self.unroutable += 1
            self.dropped += 1
            self.release(p)
            return 0
        if self.node_host[node] >= 0 and not (pk.flags & PF_PINNED):
            # (a pinned packet, a RoCE queue pair's, keeps the port its hash chose: the
            # NIC spreading one queue pair over its ports would reorder it)
            r = self.route(pk.table, node, pk.dst)
            lo = self.fwd_off[r]
            cnt = self.fwd_off[r + 1] - lo
            if cnt > 1:
                port = self.earliest_free(lo, cnt, port)
        elif self.switch_latency_ps > 0:
            pk.port = port
            return push_event(self.sim, self.sim.now + self.switch_latency_ps, self.handler_id,
                              EV_FORWARD, p | ((<int64_t> port + 1) << 32))
        return self.enqueue(port, p)

    cdef int32_t earliest_free(self, int64_t lo, int64_t cnt, int32_t hashed) noexcept:
        # a NIC with several ports towards dst (multi-plane) sends on the one free first,
        # so each port is paced on its own and the host reaches the aggregate rate; the
        # hashed port wins ties (spraying spreads packets when all are idle)
        cdef int64_t i, t, best = self.port_free_at(hashed)
        cdef int64_t now = self.sim.now
        cdef int32_t port = hashed
        if best <= now:
            return hashed
        for i in range(lo, lo + cnt):
            t = self.port_free_at(self.fwd_ports[i])
            if t < best:
                best = t
                port = self.fwd_ports[i]
        return port

    def set_nic_ports(self, offsets, ports):
        """The egress ports each NIC ring (``2 * host + table``) may send on: CSR arrays,
        ``ports[offsets[r] : offsets[r + 1]]``.  A ring with several ports is ready to
        send when any of them is free (multi-plane NICs)."""
        cdef int64_t[::1] off = np.ascontiguousarray(offsets, dtype=np.int64)
        cdef int32_t[::1] pv = np.ascontiguousarray(ports, dtype=np.int32)
        cdef int64_t i
        if off.shape[0] != 2 * self.n_hosts + 1 or off[off.shape[0] - 1] != pv.shape[0]:
            raise ValueError(f"need {2 * self.n_hosts + 1} offsets ending at len(ports)")
        for i in range(pv.shape[0]):
            if not (0 <= pv[i] < self.n_ports):
                raise ValueError(f"port {pv[i]} out of range")
        free(self.ring_ports_off)
        free(self.ring_ports)
        self.ring_ports_off = <int64_t*> malloc(off.shape[0] * sizeof(int64_t))
        self.ring_ports = <int32_t*> malloc(max(pv.shape[0], 1) * sizeof(int32_t))
        if self.ring_ports_off == NULL or self.ring_ports == NULL:
            raise MemoryError()
        for i in range(off.shape[0]):
            self.ring_ports_off[i] = off[i]
        for i in range(pv.shape[0]):
            self.ring_ports[i] = pv[i]

    cdef bint ecn_decide(self, Port* pt, int64_t qbytes) noexcept:
        cdef uint64_t prob
        if qbytes <= pt.ecn_kmin:
            return False
        if qbytes >= pt.ecn_kmax:
            return True
        prob = (<uint64_t> pt.ecn_pmax_q32 * <uint64_t> (qbytes - pt.ecn_kmin)) // <uint64_t> (pt.ecn_kmax - pt.ecn_kmin)
        return self.rand32() < prob

    cdef int enqueue(self, int32_t port, int32_t p) except -1:
        cdef Port* pt = &self.ports[port]
        cdef Packet* pk = &self.pkts[p]
        cdef int64_t now = self.sim.now
        cdef int64_t start, finish, size = pk.size
        cdef int32_t idx
        if not pt.up:
            pt.drops += 1
            pt.drop_bytes += size
            self.dropped += 1
            self.release(p)
            return 0
        if pt.mode & PM_DEQUEUE:
            if pt.mode & PM_PFC:
                return self.pfc_enqueue(pt, port, p)
            return self.enqueue_dequeue_path(pt, port, p)
        # fast path: let go of packets whose last bit has left by now
        while pt.ring_len > 0 and pt.ring_t[pt.ring_head] <= now:
            pt.queued_bytes -= pt.ring_sz[pt.ring_head]
            pt.ring_head += 1
            if pt.ring_head == pt.ring_cap:
                pt.ring_head = 0
            pt.ring_len -= 1
        if pt.queued_bytes + size > pt.buffer_bytes:
            pt.drops += 1
            pt.drop_bytes += size
            self.dropped += 1
            self.release(p)
            return 0
        if (pt.mode & PM_ECN) and (pk.flags & PF_ECT):
            if self.ecn_decide(pt, pt.queued_bytes):
                pk.flags |= PF_CE
                pt.ecn_marks += 1
        pt.queued_bytes += size
        if pt.queued_bytes > pt.max_queue_bytes:
            pt.max_queue_bytes = pt.queued_bytes
        pk.port = port
        pk.hops += 1
        # departure known now, one event (the arrival at the next hop)
        start = pt.busy_until if pt.busy_until > now else now
        if pt.mode & PM_LLR:
            # a replayed frame holds the transmitter (and the frames behind it) back
            start = self.llr_start(pt, port, start, port_tx_time(pt, size))
        finish = start + port_tx_time(pt, size)
        pt.busy_until = finish
        if pt.ring_len == pt.ring_cap:
            self._grow_ring(pt)
        idx = pt.ring_head + pt.ring_len
        if idx >= pt.ring_cap:
            idx -= pt.ring_cap
        pt.ring_t[idx] = finish
        pt.ring_sz[idx] = <int32_t> size
        pt.ring_len += 1
        pt.tx_packets += 1
        pt.tx_bytes += size
        if (pt.mode & PM_LLR) and self.llr_lost:
            pk.next = -1
            return push_event(self.sim, finish + pt.delay_ps, self.handler_id, EV_LOST, p)
        return self.put_on_wire(pt, port, p, finish + pt.delay_ps)

    cdef int enqueue_dequeue_path(self, Port* pt, int32_t port, int32_t p) except -1:
        """Enqueue on a port with class FIFOs (priorities, trimming, dequeue-time ECN)."""
        cdef Packet* pk = &self.pkts[p]
        cdef int64_t now = self.sim.now
        cdef int64_t size
        cdef int32_t victim
        # the packet in service left with nobody waiting behind it: let go of it now
        if pt.in_service >= 0 and not pt.tx_pending and pt.busy_until <= now:
            self.finish_service(pt)
        if pk.prio != 0 and (pt.mode & PM_TRIM) and pk.kind == PKT_DATA:
            if pt.queued_bytes - pt.hdr_bytes + pk.size > pt.buffer_bytes:
                # UET trimming: the data class is full.  htsim flips a coin: trim the
                # newest queued data packet (and queue this one in full) or this one.
                victim = -1
                if pt.trim_tail_q32 and self.rand32() < pt.trim_tail_q32:
                    victim = self.newest_data(pt)
                if victim >= 0:
                    # the victim moves, still held, to the tail of the header class
                    if pt.mode & PM_PFC:
                        self.pfc_uncharge(pt.node, self.pkts[victim].in_port,
                                          0 if self.pfc_mode == PFC_HTSIM else self.pkts[victim].prio,
                                          self.pkts[victim].size, self.pkts[victim].pfc_hr)
                    self.class_unlink(pt, self.pkts[victim].prio, victim)
                    pt.queued_bytes -= self.pkts[victim].size
                    pt.drain_at -= port_tx_time(pt, self.pkts[victim].size)
                    self.trim_packet(pt, victim)
                    if pt.hdr_bytes + pt.trim_bytes > 2 * pt.buffer_bytes:
                        pt.n_waiting -= 1
                        pt.hdr_drops += 1
                        pt.drops += 1
                        pt.drop_bytes += pt.trim_bytes
                        self.dropped += 1
                        self.release(victim)
                    else:
                        pt.queued_bytes += pt.trim_bytes
                        pt.hdr_bytes += pt.trim_bytes
                        pt.drain_at += port_tx_time(pt, pt.trim_bytes)
                        self.class_push(pt, victim)
                        if pt.mode & PM_PFC:
                            self.pfc_charge(pt, victim)
                else:
                    self.trim_packet(pt, p)
        size = pk.size
        if pk.prio == 0 and (pt.mode & PM_TRIM):
            if pt.hdr_bytes + size > 2 * pt.buffer_bytes:
                pt.hdr_drops += 1
                pt.drops += 1
                pt.drop_bytes += size
                self.dropped += 1
                self.release(p)
                return 0
        elif pt.queued_bytes + size > pt.buffer_bytes and not (pt.mode & PM_TRIM):
            pt.drops += 1
            pt.drop_bytes += size
            self.dropped += 1
            self.release(p)
            return 0
        elif (pt.mode & PM_TRIM) and pt.queued_bytes - pt.hdr_bytes + size > pt.buffer_bytes + pt.buffer_bytes:
            # a data packet that a coin let in over the limit may not pile up without bound
            pt.drops += 1
            pt.drop_bytes += size
            self.dropped += 1
            self.release(p)
            return 0
        if ((pt.mode & PM_ECN) and not (pt.mode & PM_ECN_AT_DEQUEUE) and
                (pk.flags & (PF_ECT | PF_TRIMMED)) == PF_ECT):
            if self.ecn_decide(pt, self.ecn_queue(pt)):
                pk.flags |= PF_CE
                pt.ecn_marks += 1
        return self.admit(pt, port, p)

    cdef int admit(self, Port* pt, int32_t port, int32_t p) except -1:
        """Hold ``p`` (already admitted): serve it now if the port is idle, else queue it."""
        cdef Packet* pk = &self.pkts[p]
        cdef int64_t now = self.sim.now
        cdef int64_t size = pk.size
        pt.queued_bytes += size
        if pk.prio == 0:
            pt.hdr_bytes += size
        if pt.queued_bytes > pt.max_queue_bytes:
            pt.max_queue_bytes = pt.queued_bytes
        # a work-conserving port drains everything it holds at the same time whatever the
        # service order: the host NIC scheduler waits for that
        pt.drain_at = (pt.drain_at if pt.drain_at > now else now) + port_tx_time(pt, size)
        pk.port = port
        pk.hops += 1
        if pt.mode & PM_PFC:
            return self.pfc_admit(pt, port, p)
        if pt.tx_pending or pt.busy_until > now:
            self.class_push(pt, p)
            pt.n_waiting += 1
            if not pt.tx_pending:
                pt.tx_pending = 1
                push_event(self.sim, pt.busy_until, self.handler_id, EV_TX_DONE,
                           tx_done_arg(port, p))
            return 0
        return self.begin_tx(pt, port, p)

    cdef inline int64_t ecn_queue(self, Port* pt) noexcept:
        # the occupancy ECN marks on: with trimming the data classes only (htsim's
        # low-priority queue), otherwise everything the port holds
        if pt.mode & PM_TRIM:
            return pt.queued_bytes - pt.hdr_bytes
        return pt.queued_bytes

    cdef int32_t newest_data(self, Port* pt) noexcept:
        """The most recently queued waiting data packet (lowest class first), or -1."""
        cdef int32_t c
        for c in range(N_CLASSES - 1, 0, -1):
            if pt.q_tail[c] >= 0:
                return pt.q_tail[c]
        return -1

    cdef int trim_packet(self, Port* pt, int32_t p) except -1:
        """Cut ``p`` to a header that is served in class 0 (it is not held by ``pt`` now)."""
        cdef Packet* pk = &self.pkts[p]
        pk.size = pt.trim_bytes
        pk.payload = 0
        pk.prio = 0
        pk.flags |= PF_TRIMMED
        if self.node_host[pt.peer] >= 0:
            pk.flags |= PF_LAST_HOP
        pt.trims += 1
        self.trimmed += 1
        return 0

    cdef inline void class_push(self, Port* pt, int32_t p) noexcept:
        cdef int32_t c = self.pkts[p].prio
        self.pkts[p].next = -1
        self.pkts[p].prev = pt.q_tail[c]
        if pt.q_tail[c] < 0:
            pt.q_head[c] = p
        else:
            self.pkts[pt.q_tail[c]].next = p
        pt.q_tail[c] = p

    cdef inline void class_unlink(self, Port* pt, int32_t c, int32_t p) noexcept:
        # packets leave a class FIFO at its head (service) or its tail (a trimmed
        # victim), so only a packet behind another needs a valid ``prev``: a head's is
        # never read, and taking the head leaves its successor's stale rather than
        # touching that packet (a cache miss per service at scale)
        cdef int32_t a, b = self.pkts[p].next
        if pt.q_head[c] == p:
            pt.q_head[c] = b
            if b < 0:
                pt.q_tail[c] = -1
        else:
            a = self.pkts[p].prev
            self.pkts[a].next = b
            if b < 0:
                pt.q_tail[c] = a
            else:
                self.pkts[b].prev = a
        self.pkts[p].next = -1

    cdef int put_on_wire(self, Port* pt, int32_t port, int32_t p, int64_t due) except -1:
        # one arrival event per packet, naming the packet: the arrival then touches only
        # the packet (and the next hop), not the port it left nor its neighbour on the
        # wire -- at a thousand hosts those are cache misses that cost more than the
        # larger event queue
        cdef Packet* pk = &self.pkts[p]
        cdef int32_t node = pt.peer
        cdef int64_t hint = 0
        pk.next = -1
        pk.at_node = node
        if self.node_host[node] >= 0:
            # at a host: the engine prefetches the endpoint that will take the packet
            if 0 <= pk.endpoint < self.n_endpoints:
                hint = pk.endpoint + 1
            return push_event(self.sim, due, self.handler_id, EV_DELIVER, p | (hint << 32))
        if self.host_group != NULL:
            # at a switch: choose its egress now, so that the engine prefetches that port
            # when the arrival's bucket is loaded (forward() takes it unless forwarding
            # has changed by the time the packet arrives)
            hint = self.egress(node, pk) + 1
            pk.route_tag = self.route_epoch
        return push_event(self.sim, due, self.handler_id, EV_ARRIVE, p | (hint << 32))

    cdef int _grow_ring(self, Port* pt) except -1:
        cdef int32_t newcap = 64 if pt.ring_cap == 0 else 2 * pt.ring_cap
        cdef int64_t* t = <int64_t*> malloc(newcap * sizeof(int64_t))
        cdef int32_t* s = <int32_t*> malloc(newcap * sizeof(int32_t))
        cdef int32_t i, j
        if t == NULL or s == NULL:
            raise MemoryError()
        for i in range(pt.ring_len):
            j = pt.ring_head + i
            if j >= pt.ring_cap:
                j -= pt.ring_cap
            t[i] = pt.ring_t[j]
            s[i] = pt.ring_sz[j]
        free(pt.ring_t)
        free(pt.ring_sz)
        pt.ring_t = t
        pt.ring_sz = s
        pt.ring_head = 0
        pt.ring_cap = newcap
        return 0

    cdef int begin_tx(self, Port* pt, int32_t port, int32_t p) except -1:
        """Start serialising ``p`` now: it goes on the wire at once (its arrival is known)."""
        cdef Packet* pk = &self.pkts[p]
        cdef int64_t tx = port_tx_time(pt, pk.size)
        cdef int64_t start
        pt.in_service = p
        pt.svc_size = pk.size
        pt.svc_hdr = pk.prio == 0
        pt.svc_data = (pk.flags & (PF_ECT | PF_TRIMMED)) == PF_ECT   # headers are never marked
        if pt.mode & PM_LLR:
            # a replayed frame holds the transmitter back (kept off the common path)
            start = self.llr_start(pt, port, self.sim.now, tx)
            pt.drain_at += start - self.sim.now
            pt.busy_until = start + tx
        else:
            pt.busy_until = self.sim.now + tx
        pt.tx_packets += 1
        pt.tx_bytes += pk.size
        if (pt.mode & PM_ECN_AT_DEQUEUE) and pt.delay_ps == 0 and pt.svc_data:
            # no time on the wire to mark it at the end of service: mark it now on the
            # bytes left behind
            pt.svc_data = 0
            if self.ecn_decide(pt, self.ecn_queue(pt) - pk.size):
                pk.flags |= PF_CE
                pt.ecn_marks += 1
        if (pt.mode & PM_LLR) and self.llr_lost:
            pk.next = -1
            return push_event(self.sim, pt.busy_until + pt.delay_ps, self.handler_id, EV_LOST, p)
        return self.put_on_wire(pt, port, p, pt.busy_until + pt.delay_ps)

    cdef inline void finish_service(self, Port* pt) noexcept:
        # the packet in service has been serialised: the port stops holding its bytes
        pt.queued_bytes -= pt.svc_size
        if pt.svc_hdr:
            pt.hdr_bytes -= pt.svc_size
        pt.in_service = -1

    cdef int start_service(self, Port* pt, int32_t port) except -1:
        """Serve the head of the highest non-empty class; keep a TX_DONE while others wait."""
        cdef int32_t c, p
        for c in range(N_CLASSES):
            p = pt.q_head[c]
            if p >= 0:
                self.class_unlink(pt, c, p)
                pt.n_waiting -= 1
                self.begin_tx(pt, port, p)
                if pt.n_waiting > 0:
                    pt.tx_pending = 1
                    while pt.q_head[c] < 0:      # the next head: this class or a lower one
                        c += 1
                    push_event(self.sim, pt.busy_until, self.handler_id, EV_TX_DONE,
                               tx_done_arg(port, pt.q_head[c]))
                return 0
        return 0

    cdef int tx_done(self, int32_t port) except -1:
        # the packet in service finished serialising while others wait behind it
        cdef Port* pt = &self.ports[port]
        cdef int32_t p = pt.in_service
        if pt.mode & PM_PFC:
            return self.pfc_tx_done(pt, port)
        pt.tx_pending = 0
        if p >= 0:
            self.finish_service(pt)
            # htsim marks at dequeue on the data bytes left behind; the packet is still on
            # the wire (delay > 0), so its mark is set before it arrives
            if (pt.mode & PM_ECN_AT_DEQUEUE) and pt.svc_data:
                if self.ecn_decide(pt, self.ecn_queue(pt)):
                    self.pkts[p].flags |= PF_CE
                    pt.ecn_marks += 1
        return self.start_service(pt, port)

    cdef int pfc_tx_done(self, Port* pt, int32_t port) except -1:
        # tx_done of a PFC/CBFC port: the bytes leave the switch, so its ingress counter
        # and buffer let go of them (and CBFC returns the credit); then serve the next
        cdef int32_t p = pt.in_service
        cdef int32_t in_port = -1
        cdef PfcPort* pf = &self.pfc[port]
        pt.tx_pending = 0
        if p >= 0:
            in_port = pf.svc_in
            if in_port >= 0:
                self.pfc_uncharge(pt.node, in_port, pf.svc_cls, pt.svc_size, pf.svc_hr)
                pf.svc_in = -1
            if self.pfc_mode == PFC_CBFC:
                self.cbfc_return(port, in_port, pf.svc_cls, pt.svc_size)
            self.finish_service(pt)
            if (pt.mode & PM_ECN_AT_DEQUEUE) and pt.svc_data:
                if self.ecn_decide(pt, self.ecn_queue(pt)):
                    self.pkts[p].flags |= PF_CE
                    pt.ecn_marks += 1
        if in_port >= 0:
            self.pfc_after_release(in_port)
            if pt.tx_pending:
                # the release sent a PFC frame on this very port (a packet that came in
                # from the port's own peer and turned back, as during a reroute): the
                # frame holds the port, its end of service serves the next packet
                return 0
        return self.pfc_start_service(pt, port)

    cdef int on_event(self, int32_t kind, int64_t arg) except -1:
        cdef int32_t p = <int32_t> arg
        cdef int32_t node, host
        cdef Packet* pk
        cdef Port* pt
        self.ev_count[kind & 15] += 1
        if kind == EV_ARRIVE or kind == EV_DELIVER:
            pk = &self.pkts[p]
            if self.loss_q32 != NULL and self.wire_loss(p):
                return 0                          # a lost/corrupted frame (link faults only)
            node = pk.at_node
            self.packet_hops += 1
            host = self.node_host[node]
            if host < 0:
                return self.forward(node, p, <int32_t> (arg >> 32) - 1)
            if host == pk.dst:
                self.delivered += 1
                return (<Endpoint> self.endpoint_ptrs[pk.endpoint]).on_packet(p)
            # hosts never forward: a packet at the wrong host is lost
            self.unroutable += 1
            self.dropped += 1
            self.release(p)
            return 0
        if kind == EV_TX_DONE:
            return self.tx_done(p)
        if kind == EV_FORWARD:
            return self.enqueue(self.pkts[p].port, p)
        if kind == EV_NIC_PULL:
            self.nic_pending[p] = 0
            return self.nic_pull(p)
        if kind >= EV_PFC_FRAME:
            return self.pfc_event(kind, arg)
        raise ValueError(f"unknown network event kind {kind}")

    # ------------------------------------------------------------------- PFC
    # Priority flow control.  The ingress side of link ``l`` (port ``l``) lives at its
    # peer switch: ``pfc[l].in_bytes[c]`` counts the bytes that entered by ``l`` in
    # class ``c`` and are still held in that switch's egress queues (the packet in
    # service included).  The pause side lives at port ``l`` itself: it may not start
    # a packet of a paused class.  The switch tells the upstream with control frames
    # on the reverse port (frames mode) or out of band one link delay later (htsim).

    cdef inline int64_t pfc_xoff_at(self, int32_t in_port) noexcept:
        # static threshold, or the dynamic one: alpha x the free shared buffer
        cdef int32_t node
        cdef int64_t free_b
        if self.pfc_alpha_q16 == 0:
            return self.pfc[in_port].xoff_bytes
        node = self.ports[in_port].peer
        free_b = self.sw_shared[node] - self.sw_used[node]
        if free_b < 0:
            free_b = 0
        return (free_b * self.pfc_alpha_q16) >> 16

    cdef inline bint pfc_paused(self, int32_t port, int32_t cls) noexcept:
        return (self.pfc[port].open_mask >> cls) & 1

    cdef void pfc_charge(self, Port* pt, int32_t p) noexcept:
        """Account ``p`` (just held by switch port ``pt``) to its ingress and the buffer."""
        cdef Packet* pk = &self.pkts[p]
        cdef int32_t in_port = pk.in_port, node = pt.node
        cdef int32_t cls
        cdef int64_t size = pk.size, to_hr = 0, over
        cdef PfcPort* pf
        pk.pfc_hr = 0
        if in_port < 0 or self.node_host[node] >= 0:
            return
        pf = &self.pfc[in_port]
        if self.pfc_mode == PFC_HTSIM:
            cls = 0
        else:
            cls = pk.prio
            if self.pfc_mode == PFC_FRAMES and (self.pfc_classes >> cls) & 1:
                if self.sw_shared[node] and self.sw_used[node] + size > self.sw_shared[node]:
                    to_hr = size            # the pool is full: the ingress's headroom holds it
                else:
                    # only the bytes beyond the threshold go to headroom: the packet that
                    # crosses XOFF is partly below it (the headroom formula counts from XOFF)
                    over = pf.in_bytes[cls] + size - self.pfc_xoff_at(in_port)
                    if over > 0:
                        to_hr = over if over < size else size
                if to_hr > 0:
                    pk.pfc_hr = 1
                    pf.hr_used += to_hr
                    if pf.hr_used > pf.headroom_bytes:
                        self.lossless_overflow += 1
        if to_hr < size:
            self.sw_used[node] += size - to_hr
            if self.sw_used[node] > self.sw_max_used[node]:
                self.sw_max_used[node] = self.sw_used[node]
        pf.in_bytes[cls] += size
        if pf.in_bytes[cls] > pf.max_in_bytes:
            pf.max_in_bytes = pf.in_bytes[cls]

    cdef void pfc_uncharge(self, int32_t node, int32_t in_port, int32_t cls, int64_t size, bint hr) noexcept:
        # departures free the ingress's headroom first (as switch MMUs do), so a busy
        # ingress that dips below XOFF gets its whole headroom back for the next round
        cdef int64_t from_hr
        if in_port < 0 or self.node_host[node] >= 0:
            return
        self.pfc[in_port].in_bytes[cls] -= size
        from_hr = self.pfc[in_port].hr_used if self.pfc[in_port].hr_used < size else size
        self.pfc[in_port].hr_used -= from_hr
        self.sw_used[node] -= size - from_hr

    cdef int pfc_enqueue(self, Port* pt, int32_t port, int32_t p) except -1:
        """Enqueue on a PFC port: lossless classes are never dropped for want of buffer."""
        cdef Packet* pk = &self.pkts[p]
        cdef int32_t node = pt.node
        if self.pfc_mode == PFC_HTSIM or (self.pfc_classes >> pk.prio) & 1:
            if ((pt.mode & PM_ECN) and not (pt.mode & PM_ECN_AT_DEQUEUE) and
                    (pk.flags & (PF_ECT | PF_TRIMMED)) == PF_ECT):
                if self.ecn_decide(pt, self.ecn_queue(pt)):
                    pk.flags |= PF_CE
                    pt.ecn_marks += 1
            return self.admit(pt, port, p)
        # a lossy class: the shared pool (without the headroom) bounds it as well
        if self.sw_shared[node] and self.sw_used[node] + pk.size > self.sw_shared[node]:
            pt.drops += 1
            pt.drop_bytes += pk.size
            self.dropped += 1
            self.release(p)
            return 0
        return self.enqueue_dequeue_path(pt, port, p)

    cdef int pfc_admit(self, Port* pt, int32_t port, int32_t p) except -1:
        """Hold ``p`` on a PFC port: account it, serve it if allowed, send XOFF if needed."""
        cdef Packet* pk = &self.pkts[p]
        cdef PfcPort* pf = &self.pfc[port]
        cdef PfcPort* ip
        cdef int32_t cls = 0 if self.pfc_mode == PFC_HTSIM else pk.prio
        cdef int32_t in_port = -1
        cdef bint lossless = self.pfc_mode == PFC_HTSIM or (self.pfc_classes >> pk.prio) & 1
        cdef bint blocked
        cdef int64_t size = pk.size
        if self.node_host[pt.node] < 0 and pk.in_port >= 0:
            in_port = pk.in_port
            self.pfc_charge(pt, p)
        if self.pfc_mode == PFC_CBFC:
            blocked = pf.credits[cls] < size
            lossless = False             # no XOFF: credits bound the ingress
        else:
            blocked = (pf.open_mask >> cls) & 1
        if pt.tx_pending or pt.busy_until > self.sim.now or blocked:
            # a PFC port keeps its end-of-service event while busy; a paused one is
            # started again by the resume (a credit-starved one by the credit)
            self.class_push(pt, p)
            pt.n_waiting += 1
            if blocked and not pt.tx_pending and pt.busy_until <= self.sim.now and self.pfc_mode == PFC_CBFC:
                if not pf.cb_block:
                    pf.cb_block = 1
                    pf.stall_start = self.sim.now
        else:
            if self.pfc_mode == PFC_CBFC:
                pf.credits[cls] -= size
            pf.svc_in = in_port
            pf.svc_cls = cls
            pf.svc_hr = pk.pfc_hr
            self.begin_tx(pt, port, p)
            pt.tx_pending = 1
            push_event(self.sim, pt.busy_until, self.handler_id, EV_TX_DONE, port)
        if in_port >= 0 and lossless:
            ip = &self.pfc[in_port]
            if not ((ip.xoff >> cls) & 1) and ip.in_bytes[cls] > self.pfc_xoff_at(in_port):
                ip.xoff |= 1 << cls
                return self.pfc_signal(in_port, 1 << cls)
        return 0

    cdef int pfc_start_service(self, Port* pt, int32_t port) except -1:
        """Send a pending control frame, else the head of the highest unpaused class."""
        cdef PfcPort* pf = &self.pfc[port]
        cdef int32_t c, p
        cdef bint htsim = self.pfc_mode == PFC_HTSIM
        cdef Packet* pk
        if pf.ctrl_pending:
            return self.pfc_send_ctrl(pt, port)
        if pt.n_waiting == 0 or (htsim and pf.open_mask):
            return 0
        for c in range(N_CLASSES):
            p = pt.q_head[c]
            if p < 0:
                continue
            if self.pfc_mode == PFC_CBFC:
                if pf.credits[c] < self.pkts[p].size:
                    continue             # no credit for this virtual channel
                pf.credits[c] -= self.pkts[p].size
                if pf.cb_block:
                    pf.cb_block = 0
                    pf.stall_ps += self.sim.now - pf.stall_start
            if htsim or not (pf.open_mask >> c) & 1:
                self.class_unlink(pt, c, p)
                pt.n_waiting -= 1
                pk = &self.pkts[p]
                pf.svc_in = pk.in_port if self.node_host[pt.node] < 0 else -1
                pf.svc_cls = 0 if htsim else c
                pf.svc_hr = pk.pfc_hr
                self.begin_tx(pt, port, p)
                pt.tx_pending = 1
                return push_event(self.sim, pt.busy_until, self.handler_id, EV_TX_DONE, port)
        if self.pfc_mode == PFC_CBFC and not pf.cb_block:
            pf.cb_block = 1              # packets wait, none has credit: a credit stall
            pf.stall_start = self.sim.now
        return 0

    cdef int pfc_after_release(self, int32_t in_port) except -1:
        # XON once the ingress falls below its XON threshold (strictly), or empties
        cdef PfcPort* ip = &self.pfc[in_port]
        cdef int64_t xon
        cdef int32_t c, mask = 0
        if not ip.xoff:
            return 0
        xon = self.pfc_xoff_at(in_port) - (ip.xoff_bytes - ip.xon_bytes)
        for c in range(N_CLASSES):
            if (ip.xoff >> c) & 1 and (ip.in_bytes[c] < xon or ip.in_bytes[c] == 0):
                mask |= 1 << c
        if mask:
            ip.xoff &= ~mask
            return self.pfc_signal(in_port, mask)
        return 0

    cdef int pfc_signal(self, int32_t in_port, int32_t mask) except -1:
        """The switch at the far end of ``in_port`` announces the state of ``mask`` classes."""
        cdef int32_t q = self.ports[in_port].reverse
        cdef int32_t on
        cdef PfcPort* pq
        if self.pfc_mode == PFC_HTSIM:
            # htsim: on/off, not serialised, exactly one link delay later
            on = self.pfc[in_port].xoff & 1
            if on and q >= 0:
                self.pfc[q].sent[0] += 1
                self.pfc_pauses += 1
            return push_event(self.sim, self.sim.now + self.ports[in_port].delay_ps, self.handler_id,
                              EV_PFC_OOB, 2 * <int64_t> in_port + on)
        if q < 0:
            return 0
        pq = &self.pfc[q]
        pq.ctrl_mask |= mask
        if not pq.ctrl_pending:
            pq.ctrl_pending = 1
            if not self.ports[q].tx_pending:
                return self.pfc_send_ctrl(&self.ports[q], q)
        return 0

    cdef int pfc_send_ctrl(self, Port* pt, int32_t port) except -1:
        """Serialise a PFC frame on idle ``port``: ahead of data, never itself paused."""
        cdef PfcPort* pf = &self.pfc[port]
        cdef int32_t in_link = pt.reverse
        cdef PfcPort* ip = &self.pfc[in_link]
        cdef int32_t mask = pf.ctrl_mask, on, c, p
        cdef int64_t now = self.sim.now, dur
        cdef Packet* pk
        on = ip.xoff & mask
        pf.ctrl_pending = 0
        pf.ctrl_mask = 0
        p = self.alloc()
        self.ctrl_live += 1
        pk = &self.pkts[p]
        pk.kind = PKT_CTRL
        pk.size = 64
        pk.aux = mask
        pk.aux2 = on
        pk.seq = self.pfc_quanta if on else 0
        pk.port = port
        pk.src = -1
        pk.dst = -1
        for c in range(N_CLASSES):
            if (on >> c) & 1:
                pf.sent[c] += 1
                self.pfc_pauses += 1
        pt.busy_until = now + port_tx_time(pt, 64)
        pt.in_service = -1
        pf.svc_in = -1
        pt.tx_pending = 1
        pk.at_node = pt.peer
        push_event(self.sim, pt.busy_until, self.handler_id, EV_TX_DONE, port)
        push_event(self.sim, pt.busy_until + pt.delay_ps, self.handler_id, EV_PFC_FRAME, p)
        if on:
            # refresh at half the pause time while the ingress stays congested, but no
            # more often than every 4 frame times: PAUSE frames may not starve the link
            dur = self.pfc_quanta * port_tx_time(&self.ports[in_link], 64) // 2
            if dur < 4 * port_tx_time(pt, 64):
                dur = 4 * port_tx_time(pt, 64)
            ip.refresh_at = now + (dur if dur > 0 else 1)
            push_event(self.sim, ip.refresh_at, self.handler_id, EV_PFC_REFRESH, in_link)
        return 0

    cdef int pfc_apply(self, int32_t port, int32_t cls, bint on, int64_t until) except -1:
        """A PAUSE (``on``, until ``until``) or RESUME of ``cls`` reaches ``port``."""
        cdef PfcPort* pf = &self.pfc[port]
        cdef int32_t bit = 1 << cls
        cdef int64_t now = self.sim.now
        if on:
            pf.received[cls] += 1
            if pf.wd_off & bit:
                return 0
            if not (pf.open_mask & bit):
                pf.open_mask |= bit
                pf.pause_start[cls] = now
                if self.pfc_watchdog_ps > 0:
                    push_event(self.sim, now + self.pfc_watchdog_ps, self.handler_id, EV_PFC_TIMER,
                               2 * (<int64_t> port * N_CLASSES + cls) + 1)
            pf.paused_until[cls] = until
            if until != INT64_MAX:
                push_event(self.sim, until, self.handler_id, EV_PFC_TIMER,
                           2 * (<int64_t> port * N_CLASSES + cls))
            return 0
        if pf.open_mask & bit:
            pf.paused_ps[cls] += now - pf.pause_start[cls]
            pf.paused_until[cls] = now
            pf.open_mask &= ~bit
            return self.pfc_kick(port)
        return 0

    cdef int pfc_event(self, int32_t kind, int64_t arg) except -1:
        # kept out of on_event so the packet events' path stays as lean as without PFC
        cdef int32_t p = <int32_t> arg, port, mask, on, c
        cdef int64_t dur
        cdef Packet* pk
        if kind == EV_LOST:
            self.frames_lost += 1
            self.dropped += 1
            self.release(p)
            return 0
        if kind == EV_PFC_FRAME:
            pk = &self.pkts[p]
            port = self.ports[pk.port].reverse     # the port the frame controls
            mask = <int32_t> pk.aux                # classes it names
            on = <int32_t> pk.aux2                 # of which paused
            dur = pk.seq * port_tx_time(&self.ports[port], 64)   # quanta of 512 bit times
            self.release(p)
            self.ctrl_live -= 1
            for c in range(N_CLASSES):
                if (mask >> c) & 1:
                    self.pfc_apply(port, c, (on >> c) & 1, self.sim.now + dur)
            return 0
        if kind == EV_PFC_OOB:
            if self.pfc_mode == PFC_CBFC:
                # credit returned: arg = (port * N_CLASSES + class) << 24 | bytes
                port = <int32_t> ((arg >> 24) // N_CLASSES)
                self.pfc[port].credits[(arg >> 24) % N_CLASSES] += arg & 0xFFFFFF
                return self.pfc_kick(port)
            return self.pfc_apply(<int32_t> (arg >> 1), 0, arg & 1, INT64_MAX)
        if kind == EV_PFC_TIMER:
            return self.pfc_timer(arg)
        if kind == EV_PFC_REFRESH:
            if self.pfc[p].refresh_at == self.sim.now and self.pfc[p].xoff:
                self.pfc[p].refresh_at = 0
                return self.pfc_signal(p, self.pfc[p].xoff)
            return 0
        raise ValueError(f"unknown network event kind {kind}")

    cdef int64_t llr_start(self, Port* pt, int32_t port, int64_t start, int64_t tx) noexcept:
        """When a frame due to start at ``start`` really starts its good copy.

        The far end finds a corrupted frame bad when it has arrived and NACKs it (64 B on
        the reverse link); the sender replays from that frame when the NACK is back.
        Frames sent behind it in the meantime are discarded there and replayed after
        it in the same order, so the link's deliveries are those of a transmitter that
        stalls for ``tx + 2 x delay + NACK`` and sends the frame again (which may fail
        again).  Without LLR a corrupted frame is lost (``llr_lost``).
        """
        cdef uint32_t fer = self.llr_fer[port]
        cdef int64_t t = start, nack
        cdef uint64_t x
        self.llr_lost = 0
        while fer:
            x = self.llr_rng                       # xorshift64*, its own stream
            x ^= x >> 12
            x ^= x << 25
            x ^= x >> 27
            self.llr_rng = x
            if <uint32_t> ((x * 0x2545F4914F6CDD1DULL) >> 32) >= fer:
                break
            self.llr_errors[port] += 1
            if not self.llr_replay:
                self.llr_lost = 1
                break
            nack = port_tx_time(&self.ports[pt.reverse] if pt.reverse >= 0 else pt, 64)
            t += tx + 2 * pt.delay_ps + nack
        if t != start:
            self.llr_replay_ps[port] += t - start
        return t

    def configure_llr(self, double frame_error_rate, bint replay=True, uint64_t seed=0, port_rates=None):
        """Frame errors on every link, replayed by link-level retry (or lost).

        Parameters
        ----------
        frame_error_rate : float
            Probability that a frame (every packet is one frame) arrives corrupted,
            0 .. 0.5; ``port_rates`` (one value per port) overrides it per link.
        replay : bool
            LLR: the far end NACKs a corrupted frame and the sender replays from it
            (see ``llr_start``); otherwise the frame is lost and the transport must
            recover it end to end.
        seed : int
            Seeds the frame-error stream.
        """
        cdef int32_t i
        rates = [frame_error_rate] * self.n_ports if port_rates is None else list(port_rates)
        if len(rates) != self.n_ports:
            raise ValueError(f"port_rates needs {self.n_ports} values, got {len(rates)}")
        for r in rates:
            if not (0.0 <= r <= 0.5):
                raise ValueError(f"frame_error_rate must be in [0, 0.5], got {r}")
        for i in range(self.n_ports):
            if self.ports[i].queued_bytes:
                raise RuntimeError("cannot configure frame errors on a busy network")
        free(self.llr_fer)
        free(self.llr_errors)
        free(self.llr_replay_ps)
        self.llr_fer = <uint32_t*> calloc(max(self.n_ports, 1), sizeof(uint32_t))
        self.llr_errors = <int64_t*> calloc(max(self.n_ports, 1), sizeof(int64_t))
        self.llr_replay_ps = <int64_t*> calloc(max(self.n_ports, 1), sizeof(int64_t))
        if self.llr_fer == NULL or self.llr_errors == NULL or self.llr_replay_ps == NULL:
            raise MemoryError()
        self.llr_replay = replay
        self.llr_rng = (seed * 0x9E3779B97F4A7C15ULL) ^ 0x94D049BB133111EBULL
        if self.llr_rng == 0:
            self.llr_rng = 1
        for i in range(self.n_ports):
            self.llr_fer[i] = <uint32_t> min(rates[i] * 4294967296.0, 4294967295.0)
            if self.llr_fer[i]:
                self.ports[i].mode |= PM_LLR
            else:
                self.ports[i].mode &= ~PM_LLR

    def llr_counters(self):
        """Per port: ``frame_errors`` (frames the far end found corrupted: each one
        replayed with LLR, lost without) and ``replay_ps`` (transmitter time spent on
        replays); ``None`` if no frame errors are configured."""
        cdef int32_t i
        if self.llr_fer == NULL:
            return None
        err = np.zeros(self.n_ports, dtype=np.int64)
        rps = np.zeros(self.n_ports, dtype=np.int64)
        for i in range(self.n_ports):
            err[i] = self.llr_errors[i]
            rps[i] = self.llr_replay_ps[i]
        return {"frame_errors": err, "replay_ps": rps}

    cdef int cbfc_return(self, int32_t port, int32_t in_port, int32_t cls, int64_t size) except -1:
        # the packet in service at ``port`` left its switch: the credit goes back over
        # the link it came in by; a host consumes on arrival, so the credit of a host
        # downlink comes back one delay after the packet lands
        cdef int64_t now = self.sim.now
        if in_port >= 0:
            push_event(self.sim, now + self.ports[in_port].delay_ps, self.handler_id, EV_PFC_OOB,
                       ((<int64_t> in_port * N_CLASSES + cls) << 24) | size)
        if self.node_host[self.ports[port].peer] >= 0:
            push_event(self.sim, now + 2 * self.ports[port].delay_ps, self.handler_id, EV_PFC_OOB,
                       ((<int64_t> port * N_CLASSES + cls) << 24) | size)
        return 0

    cdef int pfc_timer(self, int64_t arg) except -1:
        # a pause's quanta ran out, or the watchdog looks at a long pause
        cdef bint wd = arg & 1
        cdef int64_t idx = arg >> 1
        cdef int32_t port = <int32_t> (idx // N_CLASSES), cls = <int32_t> (idx % N_CLASSES)
        cdef PfcPort* pf = &self.pfc[port]
        cdef int32_t bit = 1 << cls
        cdef int64_t now = self.sim.now
        if not (pf.open_mask & bit):
            return 0
        if wd:
            if now - pf.pause_start[cls] < self.pfc_watchdog_ps:
                return 0
            pf.wd_off |= bit
            pf.watchdog_trips += 1
            pf.paused_ps[cls] += now - pf.pause_start[cls]
        else:
            if pf.paused_until[cls] > now:
                return 0                 # refreshed since
            pf.paused_ps[cls] += pf.paused_until[cls] - pf.pause_start[cls]
        pf.open_mask &= ~bit
        return self.pfc_kick(port)

    cdef int pfc_kick(self, int32_t port) except -1:
        """A class of ``port`` may send again: restart service, and its NIC's pulls."""
        cdef Port* pt = &self.ports[port]
        cdef PfcPort* pf = &self.pfc[port]
        cdef int64_t now = self.sim.now, start, waiting, free_at
        cdef int32_t host, ring
        waiting = pt.queued_bytes - (pt.svc_size if pt.in_service >= 0 else 0)
        start = pt.busy_until if pt.busy_until > now else now
        pt.drain_at = start + port_tx_time(pt, waiting)
        if not pt.tx_pending and (pt.n_waiting > 0 or pf.ctrl_pending):
            self.pfc_start_service(pt, port)
        host = self.node_host[pt.node]
        if host >= 0 and not pf.open_mask and not pf.cb_block:
            for ring in range(2 * host, 2 * host + 2):
                if self.ready_head[ring] >= 0 and not self.nic_pending[ring]:
                    free_at = self.nic_free_at(ring)
                    if free_at != INT64_MAX:
                        self.nic_pending[ring] = 1
                        push_event(self.sim, free_at if free_at > now else now, self.handler_id,
                                   EV_NIC_PULL, ring)
        return 0

    # --------------------------------------------------------------- python API
    def inject(self, int32_t src, int32_t dst, int32_t size, int32_t endpoint, *, int32_t flow=0,
               int64_t seq=0, uint32_t entropy=0, int32_t prio=0, bint ect=False):
        """Send one raw packet from host ``src`` to ``endpoint`` at host ``dst`` now
        (for tests and component checks; transports build packets in Cython)."""
        if not (0 <= src < self.n_hosts and 0 <= dst < self.n_hosts):
            raise IndexError(f"hosts ({src}, {dst}) out of range 0..{self.n_hosts - 1}")
        if not (0 <= endpoint < self.n_endpoints):
            raise IndexError(f"endpoint {endpoint} is not attached")
        if not (0 <= prio < N_CLASSES):
            raise ValueError(f"prio must be in 0..{N_CLASSES - 1}, got {prio}")
        if size <= 0:
            raise ValueError(f"size must be > 0, got {size}")
        cdef int32_t p = self.alloc()
        cdef Packet* pk = &self.pkts[p]
        pk.src = src
        pk.dst = dst
        pk.size = size
        pk.payload = size
        self.own(p, endpoint)
        pk.flow = flow
        pk.seq = seq
        pk.entropy = entropy
        pk.prio = <uint8_t> prio
        pk.kind = PKT_DATA
        pk.ts_ps = self.sim.now
        if ect:
            pk.flags = PF_ECT
        self.send(p)

    def configure_pfc(self, mode="frames", classes=None, int64_t xoff_bytes=60_000,
                      int64_t xon_bytes=48_000, int64_t headroom_bytes=1 << 40, int64_t quanta=65535,
                      double alpha=0.0, int64_t shared_buffer_bytes=0, int64_t watchdog_ps=0,
                      int64_t credit_bytes=0):
        """Turn on priority flow control on every port (call before any traffic).

        Every switch counts, per ingress link and class, the bytes that entered by that
        link and are still held in its egress queues; above ``xoff_bytes`` it pauses the
        upstream port for that class, below ``xon_bytes`` it resumes it.  All ports use
        the dequeue path; lossless classes are never dropped for want of buffer.

        Parameters
        ----------
        mode : {"frames", "htsim"}
            ``"frames"``: 64 B PFC frames with quanta (512 bit times each) sent ahead of
            data on the reverse port, refreshed at half their time while congested, one
            pause state per class.  ``"htsim"``: htsim's lossless input queues: one class,
            on/off, delivered out of band one link delay later, the whole port stops.
        classes : sequence of int, optional
            Lossless classes (default: all).  Ignored in htsim mode (everything is).
        xoff_bytes, xon_bytes : int
            Default per-ingress thresholds (change one link's with :meth:`set_pfc_port`).
            With ``alpha`` the XOFF threshold is dynamic and ``xoff_bytes - xon_bytes``
            is the hysteresis.
        headroom_bytes : int
            Per ingress: the bytes it may hold beyond its XOFF threshold; a lossless
            packet beyond that counts in :attr:`lossless_overflow` (it is still queued).
        quanta : int
            Pause time of a PAUSE frame, in 512-bit times of the paused link (1..65535).
        alpha : float
            Dynamic threshold: XOFF when an ingress holds more than ``alpha`` x the free
            shared buffer of its switch (0: static ``xoff_bytes``).
        shared_buffer_bytes : int
            Shared buffer per switch (0: none).  Lossy classes drop when it is full; the
            lossless overflow into per-ingress headroom.
        watchdog_ps : int
            A port paused in one class for longer than this ignores that class's pauses
            from then on (0: no watchdog).
        credit_bytes : int
            ``mode="cbfc"``: credit-based flow control (UE link layer) instead of PAUSE.
            The receiving end of every link grants this many bytes of buffer per class;
            a port sends a packet only against credit, and the credit comes back over
            the link (one link delay) when the packet leaves the receiving switch (a
            host: when it arrives).
        """
        cdef int32_t i, c, n
        if mode not in ("frames", "htsim", "cbfc"):
            raise ValueError(f"mode = {mode!r}: allowed: frames, htsim, cbfc")
        if mode == "cbfc" and credit_bytes <= 0:
            raise ValueError(f"credit_bytes must be > 0, got {credit_bytes}")
        if self.pfc != NULL:
            raise RuntimeError("PFC is already configured")
        for i in range(self.n_ports):
            if self.ports[i].queued_bytes:
                raise RuntimeError("cannot configure PFC on a busy network")
        mask = 0
        for c in (range(N_CLASSES) if classes is None else classes):
            if not (0 <= c < N_CLASSES):
                raise ValueError(f"classes: {c} is not a class 0..{N_CLASSES - 1}")
            mask |= 1 << c
        if not (0 <= xon_bytes <= xoff_bytes):
            raise ValueError(f"need 0 <= xon_bytes <= xoff_bytes, got {xon_bytes}, {xoff_bytes}")
        if headroom_bytes < 0:
            raise ValueError(f"headroom_bytes must be >= 0, got {headroom_bytes}")
        if not (1 <= quanta <= 65535):
            raise ValueError(f"quanta must be in 1..65535, got {quanta}")
        if alpha < 0 or (alpha > 0 and shared_buffer_bytes <= 0):
            raise ValueError(f"alpha = {alpha}: must be >= 0, and > 0 needs shared_buffer_bytes > 0")
        if shared_buffer_bytes < 0 or watchdog_ps < 0:
            raise ValueError("shared_buffer_bytes and watchdog_ps must be >= 0")
        n = max(self.n_ports, 1)
        self.pfc = <PfcPort*> calloc(n, sizeof(PfcPort))
        self.sw_used = <int64_t*> calloc(self.n_nodes, sizeof(int64_t))
        self.sw_shared = <int64_t*> calloc(self.n_nodes, sizeof(int64_t))
        self.sw_max_used = <int64_t*> calloc(self.n_nodes, sizeof(int64_t))
        if self.pfc == NULL or self.sw_used == NULL or self.sw_shared == NULL or self.sw_max_used == NULL:
            raise MemoryError()
        self.pfc_mode = {"frames": PFC_FRAMES, "htsim": PFC_HTSIM, "cbfc": PFC_CBFC}[mode]
        self.pfc_classes = mask
        self.pfc_quanta = quanta
        self.pfc_watchdog_ps = watchdog_ps
        self.pfc_alpha_q16 = <int64_t> (alpha * 65536.0 + 0.5)
        for i in range(self.n_nodes):
            if self.node_host[i] < 0:
                self.sw_shared[i] = shared_buffer_bytes
        for i in range(self.n_ports):
            self.pfc[i].svc_in = -1
            self.pfc[i].xoff_bytes = xoff_bytes
            self.pfc[i].xon_bytes = xon_bytes
            self.pfc[i].headroom_bytes = headroom_bytes
            self.pfc[i].credit_limit = credit_bytes
            for c in range(N_CLASSES):
                self.pfc[i].credits[c] = credit_bytes
            self.ports[i].mode |= PM_PFC | PM_DEQUEUE

    def set_pfc_port(self, int32_t port, int64_t xoff_bytes, int64_t xon_bytes, int64_t headroom_bytes):
        """Thresholds of the ingress at the far end of ``port`` (the link ``port`` feeds)."""
        self._check_port(port)
        if self.pfc == NULL:
            raise RuntimeError("PFC is not configured: call configure_pfc first")
        if not (0 <= xon_bytes <= xoff_bytes) or headroom_bytes < 0:
            raise ValueError(f"need 0 <= xon_bytes <= xoff_bytes and headroom_bytes >= 0, got "
                             f"{xon_bytes}, {xoff_bytes}, {headroom_bytes}")
        self.pfc[port].xoff_bytes = xoff_bytes
        self.pfc[port].xon_bytes = xon_bytes
        self.pfc[port].headroom_bytes = headroom_bytes

    def pfc_counters(self):
        """PFC counters as numpy arrays: per (port, class) ``pauses_sent`` (PAUSE frames
        this port transmitted), ``pauses_received``, ``paused_ps`` (open pauses counted up
        to now), ``ingress_bytes`` (now) and ``credits`` (CBFC: bytes it may still send);
        per port ``watchdog_trips``, ``credit_stall_ps`` (CBFC),
        ``max_ingress_bytes`` (peak of one class of the ingress this port feeds) and
        ``headroom_bytes`` (in use now); ``None`` if PFC is off."""
        cdef int32_t i, c, n = self.n_ports
        cdef PfcPort* pf
        if self.pfc == NULL:
            return None
        out = {k: np.zeros((n, N_CLASSES), dtype=np.int64) for k in (
            "pauses_sent", "pauses_received", "paused_ps", "ingress_bytes", "credits")}
        for k in ("watchdog_trips", "max_ingress_bytes", "headroom_bytes", "credit_stall_ps"):
            out[k] = np.zeros(n, dtype=np.int64)
        cdef int64_t[:, ::1] snt = out["pauses_sent"], rcv = out["pauses_received"]
        cdef int64_t[:, ::1] pps = out["paused_ps"], ing = out["ingress_bytes"]
        cdef int64_t now = self.sim.now
        for i in range(n):
            pf = &self.pfc[i]
            for c in range(N_CLASSES):
                snt[i, c] = pf.sent[c]
                rcv[i, c] = pf.received[c]
                pps[i, c] = pf.paused_ps[c]
                if (pf.open_mask >> c) & 1:
                    pps[i, c] += min(now, pf.paused_until[c]) - pf.pause_start[c]
                ing[i, c] = pf.in_bytes[c]
                out["credits"][i, c] = pf.credits[c]
            out["watchdog_trips"][i] = pf.watchdog_trips
            out["max_ingress_bytes"][i] = pf.max_in_bytes
            out["headroom_bytes"][i] = pf.hr_used
            out["credit_stall_ps"][i] = pf.stall_ps + (now - pf.stall_start if pf.cb_block else 0)
        return out

    def switch_buffer_bytes(self, int32_t node):
        """``(held, peak)`` bytes of the shared buffer of switch ``node`` (PFC on)."""
        if not (0 <= node < self.n_nodes) or self.pfc == NULL:
            raise ValueError("PFC is off or node out of range")
        return self.sw_used[node], self.sw_max_used[node]

    def port_counters(self):
        """Per-port counters as a dict of numpy arrays (one entry per port)."""
        cdef int32_t i, n = self.n_ports
        cols = {name: np.zeros(n, dtype=np.int64) for name in (
            "node", "peer", "rate_bps", "delay_ps", "buffer_bytes", "tx_packets", "tx_bytes",
            "drops", "drop_bytes", "ecn_marks", "max_queue_bytes", "queued_bytes", "up", "trims")}
        cdef int64_t[::1] node = cols["node"], peer = cols["peer"], rate = cols["rate_bps"]
        cdef int64_t[::1] delay = cols["delay_ps"], buf = cols["buffer_bytes"]
        cdef int64_t[::1] txp = cols["tx_packets"], txb = cols["tx_bytes"], dr = cols["drops"]
        cdef int64_t[::1] drb = cols["drop_bytes"], ecn = cols["ecn_marks"]
        cdef int64_t[::1] mq = cols["max_queue_bytes"], qb = cols["queued_bytes"], up = cols["up"]
        cdef int64_t[::1] tr = cols["trims"]
        for i in range(n):
            node[i] = self.ports[i].node
            peer[i] = self.ports[i].peer
            rate[i] = self.ports[i].rate_bps
            delay[i] = self.ports[i].delay_ps
            buf[i] = self.ports[i].buffer_bytes
            txp[i] = self.ports[i].tx_packets
            txb[i] = self.ports[i].tx_bytes
            dr[i] = self.ports[i].drops
            drb[i] = self.ports[i].drop_bytes
            ecn[i] = self.ports[i].ecn_marks
            mq[i] = self.ports[i].max_queue_bytes
            qb[i] = self.queue_bytes(i)
            up[i] = self.ports[i].up
            tr[i] = self.ports[i].trims
        pfc = self.pfc_counters()
        for key, col in (("pfc_pauses_sent", "pauses_sent"), ("pfc_pauses_received", "pauses_received"),
                         ("pfc_paused_ps", "paused_ps")):
            cols[key] = pfc[col].sum(axis=1) if pfc is not None else np.zeros(n, dtype=np.int64)
        cols["pfc_watchdog_trips"] = pfc["watchdog_trips"] if pfc is not None else np.zeros(n, dtype=np.int64)
        cols["cbfc_stall_ps"] = pfc["credit_stall_ps"] if pfc is not None else np.zeros(n, dtype=np.int64)
        llr = self.llr_counters()
        cols["llr_frame_errors"] = llr["frame_errors"] if llr is not None else np.zeros(n, dtype=np.int64)
        cols["llr_replay_ps"] = llr["replay_ps"] if llr is not None else np.zeros(n, dtype=np.int64)
        return cols

    def queue_bytes(self, int32_t port):
        """Bytes held by ``port`` now (including the packet being serialised)."""
        self._check_port(port)
        cdef Port* pt = &self.ports[port]
        cdef int64_t q
        cdef int32_t i, j
        if pt.mode & PM_DEQUEUE:
            if pt.in_service >= 0 and not pt.tx_pending and pt.busy_until <= self.sim.now:
                return pt.queued_bytes - pt.svc_size
            return pt.queued_bytes
        q = 0
        for i in range(pt.ring_len):
            j = (pt.ring_head + i) % pt.ring_cap
            if pt.ring_t[j] > self.sim.now:
                q += pt.ring_sz[j]
        return q

    def port_levels(self, int64_t[::1] queue_out, int64_t[::1] sent_out):
        """Fill, per port, the bytes held now and the bytes serialised by now.

        Read-only (a time-series sampler calls it between events).  ``queue_out[i]`` is
        :meth:`queue_bytes` of port ``i``; ``sent_out[i]`` counts the bytes put on the
        wire by now, the packet being serialised pro rata (``tx_bytes`` less what is
        still to serialise), so its difference between two samples is the port's
        output over the interval.  Both arrays need ``n_ports`` entries.
        """
        cdef int32_t i, j, k
        cdef int64_t q, rest, left, size, now = self.sim.now
        cdef double per_ps
        cdef Port* pt
        if queue_out.shape[0] < self.n_ports or sent_out.shape[0] < self.n_ports:
            raise ValueError(f"port_levels needs arrays of {self.n_ports} entries")
        for i in range(self.n_ports):
            pt = &self.ports[i]
            if pt.mode & PM_DEQUEUE:
                q = pt.queued_bytes
                rest = 0
                if pt.in_service >= 0 and pt.busy_until <= now:
                    if not pt.tx_pending:
                        q -= pt.svc_size          # finished, let go of at the next enqueue
                elif pt.in_service >= 0:
                    left = pt.busy_until - now
                    size = pt.svc_size
                    per_ps = pt.rate_bps / 8e12       # bytes serialised per picosecond
                    rest = size if left * per_ps >= size else <int64_t> (left * per_ps)
                queue_out[i] = q
                sent_out[i] = pt.tx_bytes - rest
            else:
                # fast path: packets in the ring whose finish time is still ahead are
                # held; the first of them is being serialised (FIFO)
                q = 0
                rest = 0
                per_ps = pt.rate_bps / 8e12
                for k in range(pt.ring_len):
                    j = (pt.ring_head + k) % pt.ring_cap
                    if pt.ring_t[j] > now:
                        size = pt.ring_sz[j]
                        if q:
                            rest += size
                        else:                     # in service: only its unsent part
                            left = pt.ring_t[j] - now
                            rest += size if left * per_ps >= size else <int64_t> (left * per_ps)
                        q += size
                queue_out[i] = q
                sent_out[i] = pt.tx_bytes - rest
        return None

    def check_invariants(self):
        """Check every port's bookkeeping; return a list of violations (empty if sound).

        Per dequeue-path port: the class FIFOs hold ``n_waiting`` packets, a TX_DONE is
        pending whenever packets wait, and the bytes held are the waiting packets, plus
        the one in service until it has been let go of.  Every port: held bytes >= 0.
        """
        cdef int32_t i, c, p, n
        cdef int64_t held, hdr
        cdef Port* pt
        out = []
        for i in range(self.n_ports):
            pt = &self.ports[i]
            if pt.queued_bytes < 0 or pt.hdr_bytes < 0:
                out.append(f"port {i}: negative occupancy {pt.queued_bytes} / {pt.hdr_bytes}")
            if not (pt.mode & PM_DEQUEUE):
                continue
            n = 0
            held = 0
            hdr = 0
            for c in range(N_CLASSES):
                p = pt.q_head[c]
                while p >= 0:
                    n += 1
                    held += self.pkts[p].size
                    if c == 0:
                        hdr += self.pkts[p].size
                    p = self.pkts[p].next
            if n != pt.n_waiting:
                out.append(f"port {i}: {n} packets queued but n_waiting = {pt.n_waiting}")
            if n > 0 and not pt.tx_pending and not (pt.mode & PM_PFC and self._pfc_blocked(i)):
                out.append(f"port {i}: {n} packets wait and no end-of-service event is pending")
            if pt.in_service >= 0:
                held += pt.svc_size
                if pt.svc_hdr:
                    hdr += pt.svc_size
            if held != pt.queued_bytes or hdr != pt.hdr_bytes:
                out.append(f"port {i}: holds {held} B ({hdr} B headers) by its queues, "
                           f"{pt.queued_bytes} B ({pt.hdr_bytes} B) by its counters")
        if self.pfc != NULL:
            out.extend(self._pfc_invariants())
        return out

    def _pfc_blocked(self, int32_t port):
        # every class with waiting packets is paused
        cdef int32_t c
        cdef Port* pt = &self.ports[port]
        if self.pfc_mode == PFC_HTSIM:
            return bool(self.pfc[port].open_mask & 1)
        for c in range(N_CLASSES):
            if self.pfc_mode == PFC_CBFC:
                if pt.q_head[c] >= 0 and self.pfc[port].credits[c] >= self.pkts[pt.q_head[c]].size:
                    return False
            elif pt.q_head[c] >= 0 and not (self.pfc[port].open_mask >> c) & 1:
                return False
        return True

    def _pfc_invariants(self):
        # ingress counters = bytes held in the switch's egress queues that entered by
        # that link; headroom and shared-pool use agree; nothing negative
        cdef int32_t i, c, p, cls
        cdef Port* pt
        cdef Packet* pk
        n = self.n_ports
        ing = np.zeros((n, N_CLASSES), dtype=np.int64)
        hr = np.zeros(n, dtype=np.int64)
        used = np.zeros(self.n_nodes, dtype=np.int64)
        out = []
        for i in range(n):
            pt = &self.ports[i]
            if self.node_host[pt.node] >= 0:
                continue
            for c in range(N_CLASSES):
                p = pt.q_head[c]
                while p >= 0:
                    pk = &self.pkts[p]
                    if pk.in_port >= 0:
                        cls = 0 if self.pfc_mode == PFC_HTSIM else pk.prio
                        if self.ports[pk.in_port].peer != pt.node:
                            out.append(f"port {i}: packet {p} entered by port {pk.in_port}, "
                                       f"which does not lead here")
                        ing[pk.in_port, cls] += pk.size
                    p = pk.next
            if pt.in_service >= 0 and self.pfc[i].svc_in >= 0:
                ing[self.pfc[i].svc_in, self.pfc[i].svc_cls] += pt.svc_size
        for i in range(n):
            for c in range(N_CLASSES):
                if self.pfc[i].in_bytes[c] != ing[i, c] or ing[i, c] < 0:
                    out.append(f"ingress {i} class {c}: counter {self.pfc[i].in_bytes[c]} B, "
                               f"queues hold {ing[i, c]} B")
            if not (0 <= self.pfc[i].hr_used <= ing[i].sum()):
                out.append(f"ingress {i}: headroom use {self.pfc[i].hr_used} B outside 0..{ing[i].sum()} B")
            elif self.node_host[self.ports[i].peer] < 0:
                used[self.ports[i].peer] += ing[i].sum() - self.pfc[i].hr_used
        if self.pfc_mode == PFC_CBFC:
            for i in range(n):
                for c in range(N_CLASSES):
                    # credit never goes negative nor above the grant; what the receiver
                    # holds from this link was paid for
                    if not (0 <= self.pfc[i].credits[c] <= self.pfc[i].credit_limit):
                        out.append(f"port {i} class {c}: credit {self.pfc[i].credits[c]} outside "
                                   f"0..{self.pfc[i].credit_limit}")
                    if ing[i, c] > self.pfc[i].credit_limit - self.pfc[i].credits[c]:
                        out.append(f"ingress {i} class {c}: holds {ing[i, c]} B, more than the "
                                   f"{self.pfc[i].credit_limit - self.pfc[i].credits[c]} B of credit used")
        for i in range(self.n_nodes):
            if self.sw_used[i] != used[i] or self.sw_used[i] < 0:
                out.append(f"node {i}: shared buffer counter {self.sw_used[i]} B, queues {used[i]} B")
        if self.lossless_overflow:
            out.append(f"{self.lossless_overflow} lossless packets went beyond XOFF + headroom")
        return out

    def event_counts(self):
        """Network events handled so far, by kind: arrivals at the far end of a wire,
        end-of-service events of ports with waiting packets, delayed forwards (switch
        latency), host NIC pulls."""
        out = {"arrive": self.ev_count[EV_ARRIVE] + self.ev_count[EV_DELIVER],
               "tx_done": self.ev_count[EV_TX_DONE],
               "forward": self.ev_count[EV_FORWARD], "nic_pull": self.ev_count[EV_NIC_PULL]}
        if self.pfc != NULL:
            out["pfc"] = (self.ev_count[EV_PFC_FRAME] + self.ev_count[EV_PFC_OOB] +
                          self.ev_count[EV_PFC_TIMER] + self.ev_count[EV_PFC_REFRESH])
        return out

    def in_flight(self):
        """Packets allocated and not yet released (queued, on a wire, or held by an endpoint)."""
        return self.live_packets

    def next_hops(self, int32_t node, int32_t dst_host, int32_t table=0):
        """Equal-cost egress ports of ``node`` towards host ``dst_host`` in ``table``."""
        if not (0 <= node < self.n_nodes and 0 <= dst_host < self.n_hosts and 0 <= table < self.n_tables):
            raise IndexError(f"node {node}, host {dst_host} or table {table} out of range")
        if self.fwd_row == NULL:
            raise RuntimeError("no forwarding tables: call set_forwarding first")
        cdef int32_t r = self.route(table, node, dst_host)
        return [self.fwd_ports[i] for i in range(self.fwd_off[r], self.fwd_off[r + 1])]

    def pick_port(self, int32_t node, int32_t dst_host, int32_t flow, uint32_t entropy,
                  int32_t table=0):
        """The egress port ``node`` would choose for (flow, entropy) towards ``dst_host``."""
        hops = self.next_hops(node, dst_host, table)
        if len(hops) <= 1:
            return hops[0] if hops else -1
        return hops[mix_hash(<uint64_t> flow, entropy, self.node_salt[node]) % <uint64_t> len(hops)]

    def port_endpoints(self, int32_t port):
        """(node, peer) of a port."""
        self._check_port(port)
        return self.ports[port].node, self.ports[port].peer

    def host_of_node(self, int32_t node):
        return self.node_host[node]

    def node_of_host(self, int32_t host):
        return self.host_node[host]

    # ------------------------------------------------------------ link faults
    cdef bint wire_loss(self, int32_t p) noexcept:
        # a frame that crossed a lossy wire is lost (or failed its FCS) with the port's
        # probability, drawn from the port's own stream so one link's draws never shift
        # another's
        cdef int32_t port = self.pkts[p].port
        cdef uint64_t x
        if port < 0 or port >= self.loss_n or self.loss_q32[port] == 0:
            return False
        x = self.loss_rng[port]
        x ^= x >> 12
        x ^= x << 25
        x ^= x >> 27
        self.loss_rng[port] = x
        if <uint32_t> ((x * 0x2545F4914F6CDD1DULL) >> 32) >= self.loss_q32[port]:
            return False
        self.port_lost[port] += 1
        self.lost += 1
        self.dropped += 1
        self.release(p)
        return True

    def set_port_loss(self, int32_t port, double prob, uint64_t seed=0):
        """Lose each frame sent on ``port``'s wire with probability ``prob`` (a lossy or
        corrupting link: the frame is serialised, then discarded at the far end).

        The port draws from its own random stream seeded by ``seed``; ``prob = 0``
        makes the wire clean again.  Lost frames are counted in :attr:`lost`, in the
        port's ``lost`` counter (:meth:`port_lost_counts`) and in :attr:`dropped`.
        """
        cdef int32_t i
        self._check_port(port)
        if not (0.0 <= prob <= 1.0):
            raise ValueError(f"loss probability must be in [0, 1], got {prob}")
        if self.loss_n < self.n_ports:
            self.loss_q32 = <uint32_t*> realloc(self.loss_q32, self.n_ports * sizeof(uint32_t))
            self.loss_rng = <uint64_t*> realloc(self.loss_rng, self.n_ports * sizeof(uint64_t))
            self.port_lost = <int64_t*> realloc(self.port_lost, self.n_ports * sizeof(int64_t))
            if self.loss_q32 == NULL or self.loss_rng == NULL or self.port_lost == NULL:
                raise MemoryError()
            for i in range(self.loss_n, self.n_ports):
                self.loss_q32[i] = 0
                self.loss_rng[i] = 1
                self.port_lost[i] = 0
            self.loss_n = self.n_ports
        self.loss_q32[port] = <uint32_t> min(prob * 4294967296.0, 4294967295.0)
        self.loss_rng[port] = mix_hash(<uint64_t> port, seed, 0xA0761D6478BD642FULL) | 1

    def port_lost_counts(self):
        """Frames lost on each port's wire (numpy int64 array, one entry per port)."""
        out = np.zeros(self.n_ports, dtype=np.int64)
        cdef int32_t i
        for i in range(min(self.loss_n, self.n_ports)):
            out[i] = self.port_lost[i]
        return out

    def port_state(self, int32_t port):
        """``(up, rate_bps)`` of a port."""
        self._check_port(port)
        return bool(self.ports[port].up), self.ports[port].rate_bps
