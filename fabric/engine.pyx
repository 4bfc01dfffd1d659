# cython: language_level=3
"""The discrete-event engine.

A :class:`Simulator` owns the clock (integer picoseconds) and the pending events,
ordered by ``(time, seq)``: near ones in a timing wheel (buckets of about 1 ns over
about 4 us, with an occupancy bitmap), later ones in a 4-ary heap.  A bucket is an
unsorted list of 1 kB chunks of events until the clock reaches it, then a small binary
heap; emptied chunks are handed out again most recently emptied first, so events are
written to memory that is still in cache.  ``seq`` is an insertion counter, so events
at the same picosecond run in the order they were scheduled, which makes every run
deterministic.  Events are delivered to :class:`EventHandler` objects
(a packet-level network, a transport flow, a Python callback adaptor) through a C
virtual call; nothing on this path creates Python objects.
"""
from libc.stdlib cimport calloc, free, malloc, realloc

cdef extern from "stdlib.h":
    int posix_memalign(void** ptr, size_t alignment, size_t size) nogil
from cpython.ref cimport PyObject

from libc.stdint cimport INT64_MAX, uint32_t

cdef int64_t NO_LIMIT = INT64_MAX


cdef class EventHandler:
    """Base class of everything that receives events.

    Subclasses (Cython ``cdef class``) override :meth:`on_event`.  A handler is
    bound to one simulator by :meth:`Simulator.register`.
    """

    def __cinit__(self):
        self.handler_id = -1

    cdef int on_event(self, int32_t kind, int64_t arg) except -1:
        return 0


cdef class _CallbackHandler(EventHandler):
    """Adapts Python callables to events (for setup code and tests, not the hot path)."""
    cdef dict pending
    cdef int64_t next_token

    def __cinit__(self):
        self.pending = {}
        self.next_token = 0

    cdef int on_event(self, int32_t kind, int64_t arg) except -1:
        entry = self.pending.pop(arg, None)
        if entry is not None:
            fn, args = entry
            fn(*args)
        return 0


cdef class Simulator:
    """A discrete-event simulator with integer picosecond time.

    Parameters
    ----------
    seed : int
        Seed for every random stream derived from this simulator.

    Examples
    --------
    >>> from uesim.fabric import Simulator
    >>> sim = Simulator(seed=1)
    >>> fired = []
    >>> _ = sim.schedule_at(2_000, fired.append, "b")
    >>> _ = sim.schedule_at(1_000, fired.append, "a")
    >>> sim.run()
    >>> fired, sim.now, sim.events
    (['a', 'b'], 2000, 2)
    """

    def __cinit__(self, int64_t seed=0):
        cdef int32_t i
        self.heap_cap = 1024
        self.heap = <Event*> malloc(self.heap_cap * sizeof(Event))
        self.cur_cap = 256
        self.cur = <Event*> malloc(self.cur_cap * sizeof(Event))
        self.cur_len = 0
        self.cur_abs = -1
        self.pf_handler = -1
        for i in range(PF_KINDS):
            self.pf_lo[i] = NULL
            self.pf_hi[i] = NULL
            self.pf_lo_stride[i] = 0
            self.pf_lo_span[i] = 64
            self.pf_hi_stride[i] = 0
            self.pf_hi_span[i] = 64
            self.pf_hi_ptr[i] = False
        if sizeof(Chunk) != 1024 or sizeof(Event) != 32:
            raise AssertionError("a wheel chunk must be 1 kB of 32-byte events")
        self.bucket_head = <Chunk**> calloc(WHEEL_SIZE, sizeof(Chunk*))
        self.bucket_tail = <Chunk**> calloc(WHEEL_SIZE, sizeof(Chunk*))
        self.free_chunks = NULL
        self.slab_cap = 16
        self.n_slabs = 0
        self.slabs = <void**> malloc(self.slab_cap * sizeof(void*))
        self.bits = <uint64_t*> calloc(WHEEL_WORDS, sizeof(uint64_t))
        self.handler_cap = 64
        self.handler_ptrs = <void**> malloc(self.handler_cap * sizeof(void*))
        if self.heap == NULL or self.cur == NULL or self.handler_ptrs == NULL or self.bucket_head == NULL or self.bits == NULL or self.bucket_tail == NULL or self.slabs == NULL:
            raise MemoryError()
        self.wheel_len = 0
        self.heap_len = 0
        self.now = 0
        self.next_seq = 0
        self.events = 0
        self.n_handlers = 0
        self.handlers = []
        self.seed = seed
        self.stopped = False
        cb = _CallbackHandler()
        self._callbacks = cb
        self.register(cb)

    def __dealloc__(self):
        free(self.heap)
        free(self.cur)
        cdef int32_t i
        if self.slabs != NULL:
            for i in range(self.n_slabs):
                free(self.slabs[i])
        free(self.slabs)
        free(self.bucket_head)
        free(self.bucket_tail)
        free(self.bits)
        free(self.handler_ptrs)

    cpdef int32_t register(self, EventHandler handler) except -1:
        """Bind ``handler`` to this simulator and return its handler id."""
        if handler.handler_id >= 0:
            raise ValueError("handler is already registered with a simulator")
        if self.n_handlers == self.handler_cap:
            self.handler_cap *= 2
            ptrs = <void**> realloc(self.handler_ptrs, self.handler_cap * sizeof(void*))
            if ptrs == NULL:
                raise MemoryError()
            self.handler_ptrs = ptrs
        self.handlers.append(handler)  # keeps the object alive; the C array borrows it
        self.handler_ptrs[self.n_handlers] = <void*> handler
        handler.handler_id = self.n_handlers
        handler.sim = self
        self.n_handlers += 1
        return handler.handler_id

    cpdef void retire(self, int32_t handler_id) except *:
        """Forget handler ``handler_id``: its later events are dropped and the simulator
        no longer keeps the object alive (a finished flow's stale timers, say). The id is
        never reused.

        >>> sim = Simulator()
        >>> h = EventHandler(); hid = sim.register(h)
        >>> sim.retire(hid); sim.retire(hid)          # twice is harmless
        """
        if not 0 <= handler_id < self.n_handlers:
            raise IndexError(f"handler {handler_id} out of range 0..{self.n_handlers - 1}")
        if self._retired is None:
            self._retired = EventHandler()
        self.handlers[handler_id] = self._retired
        self.handler_ptrs[handler_id] = <void*> self._retired

    cdef int _grow(self) except -1:
        cdef Event* h = <Event*> realloc(self.heap, 2 * self.heap_cap * sizeof(Event))
        if h == NULL:
            raise MemoryError()
        self.heap = h
        self.heap_cap *= 2
        return 0

    cdef Chunk* _add_chunk(self, int32_t b) except NULL:
        """Append an empty chunk to bucket ``b`` (the last one emptied, or a new one)."""
        cdef Chunk* c
        cdef void* slab = NULL
        cdef void** grown
        cdef int32_t i
        if self.free_chunks == NULL:
            if self.n_slabs == self.slab_cap:
                grown = <void**> realloc(self.slabs, 2 * self.slab_cap * sizeof(void*))
                if grown == NULL:
                    raise MemoryError()
                self.slabs = grown
                self.slab_cap *= 2
            if posix_memalign(&slab, 64, CHUNKS_PER_SLAB * sizeof(Chunk)) != 0:
                raise MemoryError()
            self.slabs[self.n_slabs] = slab
            self.n_slabs += 1
            for i in range(CHUNKS_PER_SLAB - 1, -1, -1):
                c = &(<Chunk*> slab)[i]
                c.next = self.free_chunks
                self.free_chunks = c
        c = self.free_chunks
        self.free_chunks = c.next
        c.next = NULL
        c.n = 0
        if self.bucket_tail[b] == NULL:
            self.bucket_head[b] = c
        else:
            self.bucket_tail[b].next = c
        self.bucket_tail[b] = c
        return c

    cdef int schedule(self, int64_t time, int32_t handler, int32_t kind, int64_t arg) except -1:
        """Schedule an event; ``time`` must not be in the past."""
        return push_event(self, time, handler, kind, arg)

    cdef int _heap_push(self, uint128 key, int32_t handler, int32_t kind, int64_t arg) except -1:
        cdef int64_t i, parent
        cdef Event* h
        if self.heap_len == self.heap_cap:
            self._grow()
        h = self.heap
        i = self.heap_len
        self.heap_len += 1
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

    cdef inline Event _heap_pop(self) noexcept:
        cdef Event top = self.heap[0]
        cdef Event* h = self.heap
        cdef int64_t n, i, child, c, best
        cdef uint128 last_key
        self.heap_len -= 1
        n = self.heap_len
        if n > 0:
            last_key = h[n].key
            i = 0
            while True:
                child = 4 * i + 1
                if child >= n:
                    break
                best = child
                if child + 3 < n:       # the common case: four children, unrolled
                    if h[child + 1].key < h[best].key:
                        best = child + 1
                    if h[child + 2].key < h[best].key:
                        best = child + 2
                    if h[child + 3].key < h[best].key:
                        best = child + 3
                else:
                    for c in range(child + 1, n):
                        if h[c].key < h[best].key:
                            best = c
                if last_key < h[best].key:
                    break
                h[i] = h[best]
                i = best
            h[i] = h[n]
        return top

    cdef int _cur_push(self, uint128 key, int32_t handler, int32_t kind, int64_t arg) except -1:
        cdef int64_t i, parent
        cdef Event* h
        if self.cur_len == self.cur_cap:
            h = <Event*> realloc(self.cur, 2 * self.cur_cap * sizeof(Event))
            if h == NULL:
                raise MemoryError()
            self.cur = h
            self.cur_cap *= 2
        h = self.cur
        i = self.cur_len
        self.cur_len += 1
        while i > 0:
            parent = (i - 1) >> 1
            if h[parent].key < key:
                break
            h[i] = h[parent]
            i = parent
        h[i].key = key
        h[i].arg = arg
        h[i].handler = handler
        h[i].kind = kind
        return 0

    cdef inline Event _cur_pop(self) noexcept:
        cdef Event top = self.cur[0]
        cdef Event* h = self.cur
        cdef int64_t n, i, child
        cdef uint128 last_key
        self.cur_len -= 1
        n = self.cur_len
        if n > 0:
            last_key = h[n].key
            i = 0
            while True:
                child = 2 * i + 1
                if child >= n:
                    break
                if child + 1 < n and h[child + 1].key < h[child].key:
                    child += 1
                if last_key < h[child].key:
                    break
                h[i] = h[child]
                i = child
            h[i] = h[n]
        return top

    cdef int _load_bucket(self) except -1:
        """Move the earliest occupied wheel bucket into the (empty) current heap.

        Every wheel event lies in a bucket after ``cur_abs``, at or after now's, and less
        than one wheel turn after now's, so the first occupied bucket circularly from
        ``max(cur_abs + 1, now's bucket)`` is the earliest.
        """
        cdef int64_t first = self.cur_abs + 1
        cdef int32_t start, w, k, b = -1, n
        cdef uint64_t word
        cdef Chunk* c
        cdef Chunk* nxt
        cdef Event* ev
        cdef char* a
        cdef int64_t off
        cdef int64_t hi
        if (self.now >> WHEEL_SHIFT) > first:   # the clock moved on through far events
            first = self.now >> WHEEL_SHIFT
        start = <int32_t> (first & (WHEEL_SIZE - 1))
        w = start >> 6
        word = self.bits[w] & (~(<uint64_t> 0) << (start & 63))
        if word:
            b = (w << 6) + ctz64(word)
        else:
            for k in range(1, WHEEL_WORDS + 1):
                w = (w + 1) & (WHEEL_WORDS - 1)
                word = self.bits[w]
                if word:
                    b = (w << 6) + ctz64(word)
                    break
        c = self.bucket_head[b]
        self.cur_abs = <int64_t> (c.ev[0].key >> 64) >> WHEEL_SHIFT
        while c != NULL:
            for k in range(c.n):
                ev = &c.ev[k]
                if ev.handler == self.pf_handler and <uint32_t> ev.kind < PF_KINDS:
                    if self.pf_lo[ev.kind] != NULL:
                        a = self.pf_lo[ev.kind] + <int64_t> (<uint32_t> ev.arg) * self.pf_lo_stride[ev.kind]
                        for off in range(0, self.pf_lo_span[ev.kind], 64):
                            prefetch_read(a + off)
                    hi = ev.arg >> 32
                    if hi != 0 and self.pf_hi[ev.kind] != NULL:
                        a = self.pf_hi[ev.kind] + (hi - 1) * self.pf_hi_stride[ev.kind]
                        if self.pf_hi_ptr[ev.kind]:
                            a = (<char**> a)[0]
                        if a != NULL:
                            for off in range(0, self.pf_hi_span[ev.kind], 64):
                                prefetch_read(a + off)
                self._cur_push(ev.key, ev.handler, ev.kind, ev.arg)
            self.wheel_len -= c.n
            nxt = c.next
            c.next = self.free_chunks          # emptied: the next chunk handed out
            self.free_chunks = c
            c = nxt
        self.bucket_head[b] = NULL
        self.bucket_tail[b] = NULL
        self.bits[b >> 6] &= ~((<uint64_t> 1) << (b & 63))
        return 0

    cdef inline bint _peek(self, uint128* key) noexcept:
        """The smallest pending key, or False if none."""
        if self.cur_len == 0 and self.wheel_len > 0:
            self._load_bucket()
        if self.cur_len > 0:
            key[0] = self.cur[0].key
            if self.heap_len > 0 and self.heap[0].key < key[0]:
                key[0] = self.heap[0].key
            return True
        if self.heap_len > 0:
            key[0] = self.heap[0].key
            return True
        return False

    cdef inline Event _pop(self) noexcept:
        """Remove and return the earliest event (there is one); advance the clock."""
        cdef Event ev
        if self.cur_len == 0 and self.wheel_len > 0:
            self._load_bucket()
        if self.cur_len > 0 and (self.heap_len == 0 or self.cur[0].key < self.heap[0].key):
            ev = self._cur_pop()
        else:
            ev = self._heap_pop()
        self.now = <int64_t> (ev.key >> 64)
        return ev

    cpdef bint step(self) except -1:
        """Run the next event; return False when no event is left."""
        cdef Event ev
        if self.heap_len == 0 and self.wheel_len == 0 and self.cur_len == 0:
            return False
        ev = self._pop()
        self.events += 1
        (<EventHandler> self.handler_ptrs[ev.handler]).on_event(ev.kind, ev.arg)
        return True

    def run(self, until_ps=None, progress=None, int64_t progress_every=1 << 20):
        """Run events in time order.

        Parameters
        ----------
        until_ps : int, optional
            Stop before the first event later than this time (the clock is then
            advanced to ``until_ps``).  ``None`` runs until no event is left or
            :meth:`stop` is called.
        progress : callable, optional
            Called as ``progress(now_ps, events)`` about every million events.
        progress_every : int
            Events between calls of ``progress`` (default 2**20).
        """
        cdef int64_t limit = NO_LIMIT if until_ps is None else <int64_t> until_ps
        cdef Event ev
        cdef int64_t chunk
        cdef EventHandler handler
        cdef uint128 key
        self.stopped = False
        while (self.heap_len > 0 or self.wheel_len > 0 or self.cur_len > 0) and not self.stopped:
            chunk = progress_every if progress_every > 0 else 1 << 20
            while chunk > 0 and not self.stopped:
                if limit != NO_LIMIT:
                    if not self._peek(&key):
                        break
                    if <int64_t> (key >> 64) > limit:
                        self.now = limit
                        return
                elif self.heap_len == 0 and self.wheel_len == 0 and self.cur_len == 0:
                    break
                ev = self._pop()
                self.events += 1
                (<EventHandler> self.handler_ptrs[ev.handler]).on_event(ev.kind, ev.arg)
                chunk -= 1
            if progress is not None:
                progress(self.now, self.events)
        if until_ps is not None and self.heap_len == 0 and self.wheel_len == 0 and self.cur_len == 0 and self.now < limit:
            self.now = limit

    def stop(self):
        """Make :meth:`run` return after the current event."""
        self.stopped = True

    def schedule_at(self, int64_t time_ps, fn, *args):
        """Call ``fn(*args)`` at ``time_ps``; return a token for :meth:`cancel`."""
        cdef _CallbackHandler cb = self._callbacks
        token = cb.next_token
        cb.next_token += 1
        cb.pending[token] = (fn, args)
        self.schedule(time_ps, cb.handler_id, 0, token)
        return token

    def schedule_in(self, int64_t delay_ps, fn, *args):
        """Call ``fn(*args)`` ``delay_ps`` after now; return a token for :meth:`cancel`."""
        return self.schedule_at(self.now + delay_ps, fn, *args)

    def cancel(self, token):
        """Cancel a callback scheduled with :meth:`schedule_at` (lazily: its event stays queued)."""
        (<_CallbackHandler> self._callbacks).pending.pop(token, None)

    @property
    def pending_events(self):
        """Number of events in the queue (cancelled ones included until they fire)."""
        return self.heap_len + self.wheel_len + self.cur_len

    def peek_time(self):
        """Time of the next event, or None."""
        cdef uint128 key
        return <int64_t> (key >> 64) if self._peek(&key) else None


cdef class Timer(EventHandler):
    """A re-armable timer calling a Python function; cancel is lazy (generation number).

    Examples
    --------
    >>> from uesim.fabric import Simulator, Timer
    >>> sim = Simulator()
    >>> hits = []
    >>> t = Timer(sim, lambda: hits.append(sim.now))
    >>> t.set(500); t.set(800)   # re-arming cancels the 500 ps expiry
    >>> sim.run(); hits
    [800]
    """
    cdef int64_t generation
    cdef readonly int64_t expiry
    cdef object fn

    def __init__(self, Simulator sim, fn):
        self.fn = fn
        self.generation = 0
        self.expiry = -1
        sim.register(self)

    def set(self, int64_t time_ps):
        """Arm (or re-arm) the timer to fire at ``time_ps``."""
        self.generation += 1
        self.expiry = time_ps
        self.sim.schedule(time_ps, self.handler_id, 0, self.generation)

    def cancel(self):
        self.generation += 1
        self.expiry = -1

    @property
    def armed(self):
        return self.expiry >= 0

    cdef int on_event(self, int32_t kind, int64_t arg) except -1:
        if arg != self.generation:
            return 0
        self.expiry = -1
        self.fn()
        return 0
