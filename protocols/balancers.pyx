# cython: language_level=3
"""Ultra Ethernet load balancers, after htsim's ``UecMultipath`` family.

Each class chooses the entropy value (EV) of every data packet from ``P = n_paths``
indices ``0..P-1`` and learns from per-packet feedback, as htsim's ``uec_mp.cpp`` and
``buffer_reps.cpp`` do (see ``MODEL-uec.md`` section 6).  Randomness comes from the flow's
own seeded xorshift stream (:class:`~uesim.protocols.LoadBalancer`), not glibc's ``rand()``,
so sequences match htsim statistically, not value for value.  The fabric hashes
(flow, entropy) at each switch, so htsim's per-flow random upper EV bits are not needed:
every EV returned here lies in ``0..P-1`` (recycled EVs are returned as given).

=====================  =====================  ==========================================
name (``LB_REGISTRY``)  class                  what it does
=====================  =====================  ==========================================
``"oblivious"``        :class:`HtsimOblivious`  every block of P packets uses each index once,
                                               in a new random order per block
``"bitmap"``           :class:`Bitmap`          oblivious walk skipping penalised indices
``"reps"``             :class:`Reps`            recycles EVs of clean ACKs (8-entry buffer)
``"mixed"``            :class:`Mixed`           recycles every clean EV (FIFO), else bitmap
=====================  =====================  ==========================================

What a transport must do
------------------------
- per data packet, new or retransmitted: ``pk.entropy = lb.next_entropy()``;
- per ACK: ``lb.on_feedback(ev, ecn=ecn_echo)`` with ``ev`` the entropy of the data packet
  that triggered the ACK;
- per NACK: for a trim at the last hop ``lb.on_feedback(ev, ecn=ce_bit)`` (GOOD or ECN),
  otherwise ``lb.on_feedback(ev, nack=True)``;
- per retransmission timeout: ``lb.on_feedback(ev_of_lost_packet, timeout=True)``;
- before each of these calls, ``lb.now_ps = now`` (only :class:`Reps` reads it, to time
  its freeze; a C transport writes the field directly).

Feedback is one of GOOD (no flag), ECN, NACK or TIMEOUT; if several flags are set the
strongest wins (timeout > nack > ecn).

Examples
--------
>>> from uesim.protocols import LB_REGISTRY
>>> lb = LB_REGISTRY["reps"](seed=7, n_paths=128)
>>> lb.on_feedback(42)            # a clean ACK for a packet sent on EV 42
>>> lb.next_entropy()             # ... so the next packet reuses it
42
>>> 0 <= lb.next_entropy() < 128  # buffer used up: a random EV
True
"""
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc, realloc
from libc.string cimport memset

from uesim.protocols.hooks cimport LoadBalancer
from uesim.protocols.hooks import restore_balancer

cdef enum:
    REPS_SIZE = 8       # htsim repsBufferSize
    REPS_EXPLORE = 16   # random EVs after a freeze ends
    MAX_PENALTY = 15    # htsim UecMpBitmap::_max_penalty


cdef inline bint is_pow2(uint32_t n) noexcept:
    return n != 0 and (n & (n - 1)) == 0


cdef class BlockWalk(LoadBalancer):
    """Base of :class:`HtsimOblivious` and :class:`Bitmap`: walks indices in shuffled blocks.

    Every block of ``n_paths`` steps visits each index ``0..n_paths-1`` exactly once.  For a
    power of two the order is ``(idx XOR x) & (n_paths - 1)`` with a new random ``x`` per
    block, as htsim; otherwise a Fisher-Yates reshuffle per block.  ``next_entropy``
    returns the current candidate and advances.

    Parameters
    ----------
    seed : int
        Seeds this flow's random stream.
    n_paths : int
        Number of entropy values P (> 0).

    Examples
    --------
    >>> from uesim.protocols.balancers import BlockWalk
    >>> lb = BlockWalk(seed=1, n_paths=6)
    >>> sorted(lb.next_entropy() for _ in range(6))
    [0, 1, 2, 3, 4, 5]
    """

    def __init__(self, uint64_t seed=0, int n_paths=128):
        LoadBalancer.__init__(self, seed)
        self._init_walk(n_paths)

    def __dealloc__(self):
        free(self.perm)

    # pickling: C arrays travel as lists; subclasses extend the state tuple
    def __reduce__(self):
        return (restore_balancer, (type(self), self._state(), getattr(self, "__dict__", None)))

    def _state(self):
        perm = [self.perm[i] for i in range(self.n_paths)] if self.perm != NULL else None
        return (self.rng, self.now_ps, self.n_paths, self.idx, self.xor_, perm)

    def _set_state(self, state):
        cdef uint32_t i
        self.rng, self.now_ps, n_paths, idx, xor_, perm = state[:6]
        self.n_paths = n_paths
        self.pow2 = is_pow2(self.n_paths)
        self.mask = self.n_paths - 1
        self.idx, self.xor_ = idx, xor_
        free(self.perm)
        self.perm = NULL
        if perm is not None:
            self.perm = <uint32_t*> malloc(self.n_paths * sizeof(uint32_t))
            if self.perm == NULL:
                raise MemoryError()
            for i in range(self.n_paths):
                self.perm[i] = perm[i]

    cdef int _init_walk(self, int n_paths) except -1:
        cdef uint32_t i
        if n_paths <= 0:
            raise ValueError(f"n_paths must be > 0, got {n_paths}")
        self.n_paths = n_paths
        self.pow2 = is_pow2(self.n_paths)
        self.mask = self.n_paths - 1
        free(self.perm)
        self.perm = NULL
        if not self.pow2:
            self.perm = <uint32_t*> malloc(self.n_paths * sizeof(uint32_t))
            if self.perm == NULL:
                raise MemoryError()
            for i in range(self.n_paths):
                self.perm[i] = i
        self.idx = 0
        self._new_block()
        return 0

    cdef void _new_block(self) noexcept:
        cdef uint32_t i, j, tmp
        if self.pow2:
            self.xor_ = self.rand32() & self.mask
            return
        for i in range(self.n_paths - 1, 0, -1):
            j = self.rand32() % (i + 1)
            tmp = self.perm[i]
            self.perm[i] = self.perm[j]
            self.perm[j] = tmp

    cdef uint32_t _candidate(self) noexcept:
        if self.pow2:
            return (self.idx ^ self.xor_) & self.mask
        return self.perm[self.idx]

    cdef void _advance(self) noexcept:
        self.idx += 1
        if self.idx == self.n_paths:
            self.idx = 0
            self._new_block()

    cdef uint32_t _index_of(self, uint32_t entropy) noexcept:
        if self.pow2:
            return entropy & self.mask
        return entropy % self.n_paths

    cpdef uint32_t next_entropy(self) except? 0xFFFFFFFF:
        cdef uint32_t ev = self._candidate()
        self._advance()
        return ev


cdef class HtsimOblivious(BlockWalk):
    """Oblivious spraying as htsim's ``UecMpOblivious``: a new random order every P packets.

    Packets ``k*P .. k*P+P-1`` use every entropy value ``0..P-1`` exactly once.  For P a
    power of two the order of block k is ``i XOR x_k`` (htsim's scheme, P possible orders);
    otherwise block k is a fresh Fisher-Yates shuffle.  Feedback is ignored.  (The older
    :class:`~uesim.protocols.ObliviousSpray` cycles one fixed permutation instead.)

    Parameters
    ----------
    seed : int
        Seeds this flow's random stream (from the scenario seed and the flow id).
    n_paths : int
        Number of entropy values P (default 128, htsim's ``-paths`` in the reference runs).

    Examples
    --------
    >>> from uesim.protocols import HtsimOblivious
    >>> lb = HtsimOblivious(seed=3, n_paths=8)
    >>> blocks = [[lb.next_entropy() for _ in range(8)] for _ in range(20)]
    >>> all(sorted(b) == list(range(8)) for b in blocks)
    True
    >>> len({tuple(b) for b in blocks}) > 1   # the order changes between blocks
    True
    """

    def __init__(self, uint64_t seed=0, int n_paths=128):
        BlockWalk.__init__(self, seed, n_paths)

    cdef LoadBalancer fresh(self, uint64_t seed):
        cdef HtsimOblivious h = self.blank(HtsimOblivious, seed)
        if h is not None:
            h._init_walk(self.n_paths)
        return h


cdef class Bitmap(BlockWalk):
    """htsim's ``UecMpBitmap``: the oblivious walk, skipping indices with a penalty.

    Each index has a penalty counter in ``0..15``: feedback adds 1 (ECN), 4 (NACK) or 15
    (timeout), capped at 15; GOOD adds nothing.  ``next_entropy`` takes the walk's
    candidate; while the candidate's penalty is > 0 it moves on to the next candidate,
    decrementing the penalty of only the first skipped index, and gives up after P moves
    (returning the candidate it reached).  The walk then advances past the returned
    index; a new block order is drawn whenever the walk wraps.

    Parameters
    ----------
    seed : int
        Seeds this flow's random stream.
    n_paths : int
        Number of entropy values P (default 64, htsim's default ``-paths``).

    Examples
    --------
    >>> from uesim.protocols import Bitmap
    >>> lb = Bitmap(seed=5, n_paths=4)
    >>> lb.on_feedback(2, ecn=True); lb.on_feedback(2, nack=True); lb.penalty_of(2)
    5
    >>> lb.on_feedback(2, timeout=True); lb.penalty_of(2)   # capped at 15
    15
    >>> evs = [lb.next_entropy() for _ in range(12)]
    >>> sorted(set(evs))                                   # EV 2 is skipped ...
    [0, 1, 3]
    >>> lb.penalty_of(2)                                   # ... 4 times, 1 less each
    11
    """

    def __init__(self, uint64_t seed=0, int n_paths=64):
        BlockWalk.__init__(self, seed, n_paths)
        free(self.penalty)
        self.penalty = <uint8_t*> malloc(self.n_paths * sizeof(uint8_t))
        if self.penalty == NULL:
            raise MemoryError()
        memset(self.penalty, 0, self.n_paths * sizeof(uint8_t))

    def __dealloc__(self):
        free(self.penalty)

    def _state(self):
        return BlockWalk._state(self) + (self.penalties(),)

    def _set_state(self, state):
        cdef uint32_t i
        BlockWalk._set_state(self, state)
        free(self.penalty)
        self.penalty = <uint8_t*> malloc(self.n_paths * sizeof(uint8_t))
        if self.penalty == NULL:
            raise MemoryError()
        for i in range(self.n_paths):
            self.penalty[i] = state[6][i]

    def penalty_of(self, uint32_t entropy):
        """The penalty counter (0..15) of the index of ``entropy``."""
        return self.penalty[self._index_of(entropy)]

    def penalties(self):
        """The penalty counters of indices ``0..n_paths-1`` as a list."""
        return [self.penalty[i] for i in range(self.n_paths)]

    cdef uint32_t _bitmap_next(self) noexcept:
        cdef uint32_t ev = self._candidate()
        cdef uint32_t moves = 0
        while self.penalty[ev] > 0 and moves < self.n_paths:
            if moves == 0:
                self.penalty[ev] -= 1
            self._advance()
            ev = self._candidate()
            moves += 1
        self._advance()
        return ev

    cdef void _bitmap_feedback(self, uint32_t entropy, bint ecn, bint nack, bint timeout) noexcept:
        cdef uint32_t i = self._index_of(entropy)
        cdef uint32_t p
        if timeout:
            p = MAX_PENALTY
        elif nack:
            p = 4
        elif ecn:
            p = 1
        else:
            return
        p += self.penalty[i]
        self.penalty[i] = MAX_PENALTY if p > MAX_PENALTY else p

    cpdef uint32_t next_entropy(self) except? 0xFFFFFFFF:
        return self._bitmap_next()

    cpdef void on_feedback(self, uint32_t entropy, bint ecn=False, bint nack=False,
                           bint timeout=False) except *:
        self._bitmap_feedback(entropy, ecn, nack, timeout)


cdef class Reps(LoadBalancer):
    """REPS as htsim's ``UecMpReps``: recycle the EVs of clean ACKs, explore otherwise.

    An 8-entry circular buffer holds recently acknowledged EVs, each with a fresh flag.

    - GOOD feedback writes the EV at ``head`` (overwriting the oldest), marks it fresh
      (the fresh count is capped at 8) and advances ``head``.  ECN and NACK feedback
      recycle nothing.
    - ``next_entropy``: while ``explore > 0`` (16 after a freeze ends) a random EV
      ``rand % P``; else, if no entry is fresh, a random EV; else the oldest fresh entry,
      at ``(head - fresh) mod 8``, which stops being fresh (each recycled EV is used once).
    - Freeze: a timeout while not frozen and with ``explore == 0`` freezes the buffer until
      ``now_ps + freeze_ps``.  While frozen, EVs cycle through the filled slots whether
      fresh or not (random while the buffer is empty), and GOOD feedback still adds EVs.
      The first feedback with ``now_ps > exit_freeze_ps`` unfreezes, empties the buffer and
      sets ``explore = 16``.  The time comes from ``now_ps``, which the transport sets.

    Parameters
    ----------
    seed : int
        Seeds this flow's random stream.
    n_paths : int
        Range of random EVs, ``0..n_paths-1`` (default 128).
    freeze_ps : int
        Freeze length in ps (default 10 ms, htsim's ``exit_freeze_after``); 0 never freezes
        (htsim freezes only with trimming on).

    Examples
    --------
    >>> from uesim.protocols import Reps
    >>> lb = Reps(seed=1)
    >>> for ev in (5, 6, 7):
    ...     lb.on_feedback(ev)
    >>> lb.on_feedback(9, ecn=True)          # marked: not recycled
    >>> [lb.next_entropy() for _ in range(3)], lb.fresh
    ([5, 6, 7], 0)
    >>> lb.now_ps = 1_000
    >>> lb.on_feedback(5, timeout=True)
    >>> lb.frozen, lb.exit_freeze_ps
    (True, 10000001000)
    >>> [lb.next_entropy() for _ in range(4)]  # frozen: cycle through the buffer
    [5, 6, 7, 5]
    >>> lb.now_ps = 20_000_000_000
    >>> lb.on_feedback(6)                    # first feedback after the freeze
    >>> lb.frozen, lb.explore, lb.count
    (False, 16, 1)
    """

    def __init__(self, uint64_t seed=0, int n_paths=128, int64_t freeze_ps=10_000_000_000):
        if n_paths <= 0:
            raise ValueError(f"n_paths must be > 0, got {n_paths}")
        if freeze_ps < 0:
            raise ValueError(f"freeze_ps must be >= 0, got {freeze_ps}")
        LoadBalancer.__init__(self, seed)
        self.n_paths = n_paths
        self.freeze_ps = freeze_ps
        self.frozen = False
        self.exit_freeze_ps = 0
        self.explore = 0
        self._reset()

    cdef void _reset(self) noexcept:
        cdef int i
        for i in range(REPS_SIZE):
            self.values[i] = 0
            self.valid[i] = False
        self.head = 0
        self.count = 0
        self.fresh = 0
        self.head_frozen = 0

    cdef void _add(self, uint32_t entropy) noexcept:
        if not self.valid[self.head]:
            self.fresh += 1
        self.values[self.head] = entropy
        self.valid[self.head] = True
        self.head = (self.head + 1) % REPS_SIZE
        if self.count < REPS_SIZE:
            self.count += 1

    def buffer(self):
        """The buffer as a list of ``(entropy, fresh)`` in slot order, filled slots only."""
        return [(self.values[i], bool(self.valid[i])) for i in range(self.count)]

    cpdef uint32_t next_entropy(self) except? 0xFFFFFFFF:
        cdef uint32_t slot, ev
        if self.explore > 0:
            self.explore -= 1
            return self.rand32() % self.n_paths
        if self.frozen:
            if self.count == 0:
                return self.rand32() % self.n_paths
            slot = self.head_frozen
            ev = self.values[slot]
            if self.valid[slot]:
                self.valid[slot] = False
                self.fresh -= 1
            self.head_frozen = (slot + 1) % self.count
            return ev
        if self.fresh == 0:
            return self.rand32() % self.n_paths
        slot = (self.head + REPS_SIZE - self.fresh) % REPS_SIZE
        self.valid[slot] = False
        self.fresh -= 1
        return self.values[slot]

    cpdef void on_feedback(self, uint32_t entropy, bint ecn=False, bint nack=False,
                           bint timeout=False) except *:
        if timeout and not self.frozen and self.explore == 0 and self.freeze_ps > 0:
            self.frozen = True
            self.exit_freeze_ps = self.now_ps + self.freeze_ps
        if self.frozen and self.now_ps > self.exit_freeze_ps:
            self.frozen = False
            self._reset()
            self.explore = REPS_EXPLORE
        if not (ecn or nack or timeout):
            self._add(entropy)


cdef class Mixed(Bitmap):
    """htsim's default ``UecMpMixed``: recycle every clean EV (FIFO), else :class:`Bitmap`.

    GOOD feedback appends the EV to an unbounded FIFO (htsim's REPS-legacy part); every
    feedback also updates the bitmap penalties.  ``next_entropy`` pops the oldest EV of the
    FIFO if there is one, otherwise takes the bitmap's next EV.

    Parameters
    ----------
    seed : int
        Seeds this flow's random stream.
    n_paths : int
        Number of entropy values P of the bitmap (default 64, htsim's default ``-paths``).

    Examples
    --------
    >>> from uesim.protocols import Mixed
    >>> lb = Mixed(seed=2, n_paths=4)
    >>> lb.on_feedback(1); lb.on_feedback(2); lb.on_feedback(3, ecn=True)
    >>> lb.queued
    2
    >>> lb.next_entropy(), lb.next_entropy()   # recycled, oldest first
    (1, 2)
    >>> lb.penalty_of(3)                       # ECN still penalises the bitmap
    1
    >>> 0 <= lb.next_entropy() < 4             # FIFO empty: the bitmap
    True
    """

    def __init__(self, uint64_t seed=0, int n_paths=64):
        Bitmap.__init__(self, seed, n_paths)
        self.fifo_head = 0
        self.queued = 0
        if self.fifo == NULL:
            self.fifo_cap = 16
            self.fifo = <uint32_t*> malloc(self.fifo_cap * sizeof(uint32_t))
            if self.fifo == NULL:
                raise MemoryError()

    def __dealloc__(self):
        free(self.fifo)

    def _state(self):
        queued = [self.fifo[(self.fifo_head + i) % self.fifo_cap] for i in range(self.queued)]
        return Bitmap._state(self) + (self.fifo_cap, queued)

    def _set_state(self, state):
        cdef uint64_t i
        Bitmap._set_state(self, state)
        cap, queued = state[7], state[8]
        free(self.fifo)
        self.fifo_cap, self.fifo_head, self.queued = cap, 0, len(queued)
        self.fifo = <uint32_t*> malloc(self.fifo_cap * sizeof(uint32_t))
        if self.fifo == NULL:
            raise MemoryError()
        for i in range(self.queued):
            self.fifo[i] = queued[i]

    cdef int _push(self, uint32_t entropy) except -1:
        cdef uint64_t i, n, new_cap
        cdef uint32_t* grown
        if self.queued == self.fifo_cap:   # full: unroll into a buffer twice as large
            new_cap = self.fifo_cap * 2
            grown = <uint32_t*> malloc(new_cap * sizeof(uint32_t))
            if grown == NULL:
                raise MemoryError()
            n = self.queued
            for i in range(n):
                grown[i] = self.fifo[(self.fifo_head + i) % self.fifo_cap]
            free(self.fifo)
            self.fifo = grown
            self.fifo_cap = new_cap
            self.fifo_head = 0
        self.fifo[(self.fifo_head + self.queued) % self.fifo_cap] = entropy
        self.queued += 1
        return 0

    cpdef uint32_t next_entropy(self) except? 0xFFFFFFFF:
        cdef uint32_t ev
        if self.queued > 0:
            ev = self.fifo[self.fifo_head]
            self.fifo_head += 1
            if self.fifo_head == self.fifo_cap:
                self.fifo_head = 0
            self.queued -= 1
            return ev
        return self._bitmap_next()

    cpdef void on_feedback(self, uint32_t entropy, bint ecn=False, bint nack=False,
                           bint timeout=False) except *:
        self._bitmap_feedback(entropy, ecn, nack, timeout)
        if not (ecn or nack or timeout):
            self._push(entropy)
