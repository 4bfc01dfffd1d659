# Ultra Ethernet load balancers after htsim's UecMultipath family (uec_mp.cpp, buffer_reps.cpp).
from libc.stdint cimport int64_t, uint8_t, uint32_t, uint64_t

from uesim.protocols.hooks cimport LoadBalancer


cdef class BlockWalk(LoadBalancer):
    # Walks 0..n_paths-1 in blocks of n_paths: every block visits each index once, in a new
    # random order ((idx XOR x) & mask with a new x per block for a power of two, else a
    # Fisher-Yates reshuffle of ``perm``).
    cdef readonly uint32_t n_paths
    cdef uint32_t mask             # n_paths - 1 (power of two only)
    cdef bint pow2
    cdef uint32_t idx              # position in the current block
    cdef uint32_t xor_             # the block's XOR key (power of two only)
    cdef uint32_t* perm            # the block's order (other n_paths only)
    cdef int _init_walk(self, int n_paths) except -1
    cdef uint32_t _candidate(self) noexcept
    cdef void _advance(self) noexcept
    cdef void _new_block(self) noexcept
    cdef uint32_t _index_of(self, uint32_t entropy) noexcept


cdef class HtsimOblivious(BlockWalk):
    pass


cdef class Bitmap(BlockWalk):
    cdef uint8_t* penalty          # per index, 0..max_penalty
    cdef uint32_t _bitmap_next(self) noexcept
    cdef void _bitmap_feedback(self, uint32_t entropy, bint ecn, bint nack, bint timeout) noexcept


cdef class Reps(LoadBalancer):
    cdef readonly uint32_t n_paths
    cdef readonly int64_t freeze_ps
    cdef uint32_t values[8]
    cdef bint valid[8]             # "fresh": not yet reused
    cdef uint32_t head             # next slot to write
    cdef readonly uint32_t count   # slots ever written since the last reset, <= 8
    cdef readonly uint32_t fresh   # number of fresh entries, <= 8
    cdef uint32_t head_frozen      # next slot to reuse while frozen
    cdef readonly bint frozen
    cdef readonly int64_t exit_freeze_ps
    cdef readonly uint32_t explore
    cdef void _reset(self) noexcept
    cdef void _add(self, uint32_t entropy) noexcept


cdef class Mixed(Bitmap):
    cdef uint32_t* fifo            # ring buffer of recycled EVs, grows by doubling
    cdef uint64_t fifo_cap
    cdef uint64_t fifo_head        # index of the oldest entry
    cdef readonly uint64_t queued  # number of entries
    cdef int _push(self, uint32_t entropy) except -1
