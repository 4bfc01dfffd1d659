# The discrete-event engine: integer picosecond time, a C binary heap of events.
from libc.stdint cimport int32_t, int64_t

cdef extern from *:
    # (time << 64 | insertion counter): one unsigned 128-bit compare orders events by
    # time, and equal times in insertion (FIFO) order
    ctypedef unsigned long long uint128 "unsigned __int128"

ctypedef struct Event:
    uint128 key
    int64_t arg       # handler-defined payload (packet index, port id, timer generation)
    int32_t handler   # index into Simulator.handlers
    int32_t kind      # handler-defined event kind


cdef class EventHandler:
    cdef public int32_t handler_id
    cdef public Simulator sim
    cdef int on_event(self, int32_t kind, int64_t arg) except -1


cdef class Simulator:
    cdef Event* heap
    cdef int64_t heap_len
    cdef int64_t heap_cap
    cdef readonly int64_t now
    cdef int64_t next_seq
    cdef readonly int64_t events
    cdef readonly int64_t seed
    cdef list handlers
    cdef void** handler_ptrs
    cdef int32_t n_handlers
    cdef int32_t handler_cap
    cdef bint stopped
    cdef object _callbacks

    cdef int schedule(self, int64_t time, int32_t handler, int32_t kind, int64_t arg) except -1
    cdef int _grow(self) except -1
    cdef inline Event _pop(self) noexcept
    cpdef int32_t register(self, EventHandler handler) except -1
    cpdef bint step(self) except -1


cdef inline int push_event(Simulator sim, int64_t time, int32_t handler, int32_t kind,
                           int64_t arg) except -1:
    """Schedule an event (inlined into every compiled module that cimports it)."""
    cdef int64_t i, parent
    cdef uint128 key
    cdef Event* h
    if time < sim.now:
        raise ValueError(f"cannot schedule at {time} ps, before now ({sim.now} ps)")
    if sim.heap_len == sim.heap_cap:
        sim._grow()
    h = sim.heap
    key = ((<uint128> time) << 64) | <uint128> sim.next_seq
    sim.next_seq += 1
    i = sim.heap_len
    sim.heap_len += 1
    # sift up with a hole (4-ary heap: fewer levels, children share cache lines)
    while i > 0:
        parent = (i - 1) >> 2
        if h[parent].key < key:
            break
        h[i] = h[parent]
        i = parent
    h[i].key = key
    h[i].arg = arg
    h[i].handler = handler
    h[i].kind = kind
    return 0
