# The discrete-event engine: integer picosecond time, a timing wheel plus a heap of events.
from libc.stdint cimport int32_t, int64_t, uint64_t

cdef extern from *:
    # (time << 64 | insertion counter): one unsigned 128-bit compare orders events by
    # time, and equal times in insertion (FIFO) order
    ctypedef unsigned long long uint128 "unsigned __int128"

cdef extern from *:
    int ctz64 "__builtin_ctzll" (unsigned long long) nogil
    void prefetch_read "__builtin_prefetch" (const void*) nogil

cdef enum:
    # Near events (within WHEEL_SIZE buckets of 2^WHEEL_SHIFT ps, about 4.2 us) go to a
    # timing wheel; later ones to a 4-ary heap.  Both keep the (time, seq) order exactly.
    WHEEL_SHIFT = 10
    WHEEL_SIZE = 4096
    WHEEL_WORDS = 64          # WHEEL_SIZE / 64 bits of the occupancy bitmap
    PF_KINDS = 16             # event kinds (0 .. PF_KINDS - 1) that may carry prefetch hints

ctypedef struct Event:
    uint128 key
    int64_t arg       # handler-defined payload (packet index, port id, timer generation)
    int32_t handler   # index into Simulator.handlers
    int32_t kind      # handler-defined event kind


cdef enum:
    CHUNK_EVENTS = 31         # events per wheel chunk: with its header a chunk is 1 kB
    CHUNKS_PER_SLAB = 64      # chunks allocated together (64 kB)

cdef struct Chunk:
    # a piece of a wheel bucket: buckets are lists of chunks, and emptied chunks go to
    # a free list, most recently emptied first, so the memory events are written to
    # was read a moment ago and is still in cache
    Chunk* next
    int32_t n
    int32_t pad[5]            # the events start 32 bytes in: 1024 bytes in all
    Event ev[CHUNK_EVENTS]


cdef class EventHandler:
    cdef public int32_t handler_id
    cdef public Simulator sim
    cdef int on_event(self, int32_t kind, int64_t arg) except -1


cdef class Simulator:
    # timing wheel: per bucket an unsorted list of chunks of events (contiguous, so a
    # bucket is read with few cache misses when the clock reaches it), and an occupancy
    # bitmap
    cdef Chunk** bucket_head
    cdef Chunk** bucket_tail
    cdef uint64_t* bits
    cdef int64_t wheel_len
    cdef Chunk* free_chunks
    cdef void** slabs
    cdef int32_t n_slabs
    cdef int32_t slab_cap
    # the wheel bucket being drained, as a small binary heap (buckets themselves are
    # unsorted lists: a bucket is ordered once, when the clock reaches it)
    cdef Event* cur
    cdef int64_t cur_len
    cdef int64_t cur_cap
    cdef int64_t cur_abs          # absolute bucket number (time >> WHEEL_SHIFT) loaded in cur
    # prefetch: an event of handler ``pf_handler`` and kind ``k < PF_KINDS`` may name
    # array elements in its argument: the low 32 bits index the array at ``pf_lo[k]``,
    # the high 32 bits (when not zero) index the one at ``pf_hi[k]`` plus one; with
    # ``pf_hi_ptr[k]`` that array holds pointers and the element pointed to is
    # prefetched.  ``span`` bytes of each element are prefetched (whole lines) when the
    # event's bucket is loaded, so they are in cache when the event runs (a packet's
    # arrival, the port that serves it, the endpoint that receives it)
    cdef int32_t pf_handler
    cdef char* pf_lo[PF_KINDS]
    cdef int64_t pf_lo_stride[PF_KINDS]
    cdef int64_t pf_lo_span[PF_KINDS]
    cdef char* pf_hi[PF_KINDS]
    cdef int64_t pf_hi_stride[PF_KINDS]
    cdef int64_t pf_hi_span[PF_KINDS]
    cdef bint pf_hi_ptr[PF_KINDS]
    # far events
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
    cdef EventHandler _retired       # takes the events of retired handlers

    cdef int schedule(self, int64_t time, int32_t handler, int32_t kind, int64_t arg) except -1
    cdef int _grow(self) except -1
    cpdef void retire(self, int32_t handler_id) except *
    cdef Chunk* _add_chunk(self, int32_t b) except NULL
    cdef int _heap_push(self, uint128 key, int32_t handler, int32_t kind, int64_t arg) except -1
    cdef int _cur_push(self, uint128 key, int32_t handler, int32_t kind, int64_t arg) except -1
    cdef inline Event _cur_pop(self) noexcept
    cdef int _load_bucket(self) except -1
    cdef inline Event _heap_pop(self) noexcept
    cdef inline bint _peek(self, uint128* key) noexcept
    cdef inline Event _pop(self) noexcept
    cpdef int32_t register(self, EventHandler handler) except -1
    cpdef bint step(self) except -1


cdef inline int push_event(Simulator sim, int64_t time, int32_t handler, int32_t kind,
                           int64_t arg) except -1:
    """Schedule an event (inlined into every compiled module that cimports it)."""
    cdef uint128 key
    cdef int32_t b
    cdef int64_t tb
    cdef Event* ev
    cdef Chunk* c
    if time < sim.now:
        raise ValueError(f"cannot schedule at {time} ps, before now ({sim.now} ps)")
    key = ((<uint128> time) << 64) | <uint128> sim.next_seq
    sim.next_seq += 1
    tb = time >> WHEEL_SHIFT
    if tb <= sim.cur_abs:              # the bucket being drained (or before it)
        return sim._cur_push(key, handler, kind, arg)
    if tb - (sim.now >> WHEEL_SHIFT) >= WHEEL_SIZE:
        return sim._heap_push(key, handler, kind, arg)
    b = <int32_t> (tb & (WHEEL_SIZE - 1))
    c = sim.bucket_tail[b]
    if c == NULL or c.n == CHUNK_EVENTS:
        c = sim._add_chunk(b)
    ev = &c.ev[c.n]                    # unsorted: ordered when the bucket is loaded
    c.n += 1
    ev.key = key
    ev.arg = arg
    ev.handler = handler
    ev.kind = kind
    sim.bits[b >> 6] |= (<uint64_t> 1) << (b & 63)
    sim.wheel_len += 1
    return 0
