# cython: language_level=3
"""Hook points for policy, kept apart from transport mechanics.

A transport owns sequence numbers, ACKs, retransmission and timers; it asks a
:class:`CongestionControl` how many bytes may be in flight and tells it what
happened (``on_ack``, ``on_nack``, ``on_timeout``), and asks a
:class:`LoadBalancer` which entropy value (path) the next packet takes.  Both are
Cython classes with ``cpdef`` hooks, so a Python subclass can override any hook
(at Python speed), while the compiled implementations cost a C call.

Examples
--------
A congestion control written in Python:

>>> from uesim.protocols import CongestionControl
>>> class HalveOnEcn(CongestionControl):
...     def on_ack(self, now_ps, acked_bytes, rtt_ps, ecn):
...         if ecn:
...             self.cwnd_bytes = max(self.mtu_bytes, self.cwnd_bytes // 2)
>>> cc = HalveOnEcn(cwnd_bytes=65536, mtu_bytes=4096)
>>> cc.on_ack(0, 4096, 12_000_000, True); cc.cwnd_bytes
32768
"""
from libc.stdlib cimport free, malloc


cdef class CongestionControl:
    """Fixed-window congestion control: the base class; every hook is a no-op.

    Parameters
    ----------
    cwnd_bytes : int
        Bytes allowed in flight (on-the-wire size of unacknowledged packets).
    mtu_bytes : int
        On-the-wire size of a full packet.
    """

    def __init__(self, int64_t cwnd_bytes, int64_t mtu_bytes=4096):
        if cwnd_bytes <= 0:
            raise ValueError(f"cwnd_bytes must be > 0, got {cwnd_bytes}")
        if mtu_bytes <= 0:
            raise ValueError(f"mtu_bytes must be > 0, got {mtu_bytes}")
        self.cwnd_bytes = cwnd_bytes
        self.mtu_bytes = mtu_bytes

    cpdef void on_ack(self, int64_t now_ps, int64_t acked_bytes, int64_t rtt_ps, bint ecn) except *:
        """Called per acknowledged packet with its RTT sample and ECN echo."""
        pass

    cpdef void on_nack(self, int64_t now_ps, int64_t nacked_bytes) except *:
        """Called when the receiver reports a lost or trimmed packet."""
        pass

    cpdef void on_timeout(self, int64_t now_ps, int64_t lost_bytes) except *:
        """Called when the retransmission timer declares packets lost."""
        pass


cdef class LoadBalancer:
    """Chooses the entropy value of each packet; the base class keeps one value (ECMP).

    Parameters
    ----------
    seed : int
        Seeds this flow's random stream (from the scenario seed and the flow id).

    Attributes
    ----------
    now_ps : int
        The current simulated time in ps.  A transport sets it before every call to
        ``next_entropy`` and ``on_feedback`` (``lb.now_ps = now``); balancers that keep
        timers (REPS freezing) read it, the others ignore it.  Starts at 0.
    """

    def __init__(self, uint64_t seed=0):
        self.now_ps = 0
        self.rng = seed * 0x9E3779B97F4A7C15ULL + 0x632BE59BD9B4E019ULL
        if self.rng == 0:
            self.rng = 1

    cdef uint32_t rand32(self) noexcept:
        cdef uint64_t x = self.rng
        x ^= x >> 12
        x ^= x << 25
        x ^= x >> 27
        self.rng = x
        return <uint32_t> ((x * 0x2545F4914F6CDD1DULL) >> 32)

    cpdef uint32_t next_entropy(self) except? 0xFFFFFFFF:
        return 0

    cpdef void on_feedback(self, uint32_t entropy, bint ecn=False, bint nack=False,
                           bint timeout=False) except *:
        """Called per ACK (``ecn``), NACK (``nack``) or timeout of a packet sent on ``entropy``.

        All flags False means GOOD (a clean ACK).  The flags default to False.
        """
        pass


cdef class FixedEntropy(LoadBalancer):
    """Single path per flow, as RoCE ECMP: one random entropy value drawn at start."""
    cdef uint32_t value

    def __init__(self, uint64_t seed=0):
        LoadBalancer.__init__(self, seed)
        self.value = self.rand32()

    cpdef uint32_t next_entropy(self) except? 0xFFFFFFFF:
        return self.value


cdef class ObliviousSpray(LoadBalancer):
    """Per-packet spraying: round-robin over a seeded permutation of ``n_paths`` entropy values."""
    cdef uint32_t* values
    cdef readonly uint32_t n_paths
    cdef uint32_t pos

    def __init__(self, uint64_t seed=0, int n_paths=256):
        cdef uint32_t i, j, tmp
        if n_paths <= 0:
            raise ValueError(f"n_paths must be > 0, got {n_paths}")
        LoadBalancer.__init__(self, seed)
        free(self.values)
        self.values = <uint32_t*> malloc(n_paths * sizeof(uint32_t))
        if self.values == NULL:
            raise MemoryError()
        self.n_paths = n_paths
        for i in range(self.n_paths):
            self.values[i] = i
        for i in range(self.n_paths - 1, 0, -1):  # Fisher-Yates with this flow's stream
            j = self.rand32() % (i + 1)
            tmp = self.values[i]
            self.values[i] = self.values[j]
            self.values[j] = tmp
        self.pos = 0

    def __dealloc__(self):
        free(self.values)

    cpdef uint32_t next_entropy(self) except? 0xFFFFFFFF:
        cdef uint32_t v = self.values[self.pos]
        self.pos += 1
        if self.pos == self.n_paths:
            self.pos = 0
        return v


cdef class RandomSpray(LoadBalancer):
    """Per-packet spraying: an independent random entropy value per packet."""

    cpdef uint32_t next_entropy(self) except? 0xFFFFFFFF:
        return self.rand32()
