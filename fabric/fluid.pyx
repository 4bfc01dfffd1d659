# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True, initializedcheck=False
"""Fluid schedules: a DAG of messages over shared resources, at flow level (no packets).

A message loads ``K`` resources (NIC directions, links) at ``weight`` times its rate and
holds ``wire`` bytes; resource ``r`` carries at most ``cap[r]`` bytes per ps and a
message at most ``flow_cap``. The messages in flight share the resources either max-min
fairly (progressive filling) or in strict priority (largest ``priority`` first, each
taking what its resources have left). Rates change only when a message starts or its
last byte leaves; a message finishes ``alpha`` ps after that, a compute node after its
duration, and a node starts ``delay`` ps after its last predecessor finished.

The schedule is an event loop over message starts, transfer ends and node finishes,
ordered as ``(time, start before finish, node)``; each change of the messages in flight
re-solves the allocation of the *component* it touches: the messages connected to the
started or ended ones through shared resources (two components share nothing, so the
rest keep their rates). This is :func:`uesim.experiments.collectives.model.ideal_times`'s
perfect-fabric schedule, in compiled code: a 1,024-rank ring all-reduce (2 M messages)
takes about 3.5 s where the numpy version it replaces took minutes (its plain form is
kept as the tests' reference, ``tests/fabric/fluid_reference.py``).

Examples
--------
Two messages share resource 0 (capacity 1 byte/ps), a third has resource 1 alone; the
third depends on the first and starts 5 ps after it finishes:

>>> import numpy as np
>>> from uesim.fabric.fluid import fluid_finish
>>> res = np.array([[0], [0], [1]]); weight = np.ones((3, 1))
>>> fin = fluid_finish(np.zeros(3, np.int8), np.array([10, 20, 10]), np.array([10.0, 20.0, 10.0]),
...                    res, weight, np.array([1.0, 1.0]), np.full(3, np.inf),
...                    np.array([0, 0, 0]), np.array([0, 0, 5]),
...                    np.array([0, 1, 1, 1]), np.array([2]), np.array([0, 0, 1]))
>>> fin.tolist()          # 0 and 1 share: 0 done at 20; 2 starts at 25, alone: 35; 1 at 30
[20.0, 30.0, 35.0]
"""
import numpy as np

from libc.math cimport INFINITY, isfinite, isnan
from libc.stdint cimport int64_t
from libc.stdlib cimport free, malloc, realloc

cdef enum:
    START = 0
    DONE = 1

ctypedef struct Ev:
    double t
    int what
    int64_t v


cdef inline bint _less(Ev* a, Ev* b) nogil:
    if a.t != b.t:
        return a.t < b.t
    if a.what != b.what:
        return a.what < b.what
    return a.v < b.v


#: components up to this many messages are put in start order by insertion sort (most
#: are this small), larger ones by heap sort
cdef enum:
    SMALL_SORT = 48


cdef inline void _insertion_sort_pairs(int64_t* kv, Py_ssize_t n) noexcept nogil:
    """Sort ``n`` (key, value) pairs stored flat in ``kv`` by key, in place."""
    cdef Py_ssize_t i, j
    cdef int64_t k, v
    for i in range(1, n):
        k, v = kv[2 * i], kv[2 * i + 1]
        j = i - 1
        while j >= 0 and kv[2 * j] > k:
            kv[2 * j + 2], kv[2 * j + 3] = kv[2 * j], kv[2 * j + 1]
            j -= 1
        kv[2 * j + 2], kv[2 * j + 3] = k, v


cdef inline void _sift_pairs(int64_t* kv, Py_ssize_t i, Py_ssize_t n) noexcept nogil:
    """Move pair ``i`` down the max-heap of the first ``n`` pairs of ``kv`` (by key)."""
    cdef Py_ssize_t c
    cdef int64_t k = kv[2 * i], v = kv[2 * i + 1]
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and kv[2 * c + 2] > kv[2 * c]:
            c += 1
        if kv[2 * c] <= k:
            break
        kv[2 * i], kv[2 * i + 1] = kv[2 * c], kv[2 * c + 1]
        i = c
    kv[2 * i], kv[2 * i + 1] = k, v


cdef inline void _heap_sort_pairs(int64_t* kv, Py_ssize_t n) noexcept nogil:
    """Sort ``n`` (key, value) pairs stored flat in ``kv`` by key, in place, with no
    allocation and no call through a comparison pointer (qsort's)."""
    cdef Py_ssize_t i
    cdef int64_t k, v
    for i in range(n // 2 - 1, -1, -1):
        _sift_pairs(kv, i, n)
    for i in range(n - 1, 0, -1):
        k, v = kv[0], kv[1]
        kv[0], kv[1] = kv[2 * i], kv[2 * i + 1]
        kv[2 * i], kv[2 * i + 1] = k, v
        _sift_pairs(kv, 0, i)


def _sort_pairs(keys, values):
    """``(keys, values)`` sorted by key as the component sort does it (insertion sort up
    to ``SMALL_SORT`` pairs, heap sort beyond); for the tests.

    >>> [a.tolist() for a in _sort_pairs([3, 1, 2], [30, 10, 20])]
    [[1, 2, 3], [10, 20, 30]]
    """
    cdef int64_t[::1] kv = np.ravel(np.stack([np.asarray(keys, dtype=np.int64),
                                              np.asarray(values, dtype=np.int64)], axis=1)).copy()
    cdef Py_ssize_t n = kv.shape[0] // 2
    if n > 1:
        if n <= SMALL_SORT:
            _insertion_sort_pairs(&kv[0], n)
        else:
            _heap_sort_pairs(&kv[0], n)
    out = np.asarray(kv).reshape(-1, 2)
    return out[:, 0].copy(), out[:, 1].copy()


cdef class _Heap:
    """A binary min-heap of events (time, kind, node)."""
    cdef Ev* ev
    cdef Py_ssize_t n, cap

    def __cinit__(self):
        self.cap = 1024
        self.n = 0
        self.ev = <Ev*>malloc(self.cap * sizeof(Ev))
        if self.ev == NULL:
            raise MemoryError()

    def __dealloc__(self):
        free(self.ev)

    cdef int push(self, double t, int what, int64_t v) except -1:
        cdef Ev* grown
        cdef Py_ssize_t i, parent
        cdef Ev e
        if self.n == self.cap:
            grown = <Ev*>realloc(self.ev, 2 * self.cap * sizeof(Ev))
            if grown == NULL:
                raise MemoryError()
            self.ev, self.cap = grown, 2 * self.cap
        e.t, e.what, e.v = t, what, v
        i = self.n
        self.n += 1
        while i > 0:
            parent = (i - 1) >> 1
            if not _less(&e, &self.ev[parent]):
                break
            self.ev[i] = self.ev[parent]
            i = parent
        self.ev[i] = e
        return 0

    cdef Ev pop(self) nogil:
        cdef Ev top = self.ev[0]
        cdef Ev last
        cdef Py_ssize_t i = 0, c
        self.n -= 1
        if self.n > 0:
            last = self.ev[self.n]
            while True:
                c = 2 * i + 1
                if c >= self.n:
                    break
                if c + 1 < self.n and _less(&self.ev[c + 1], &self.ev[c]):
                    c += 1
                if not _less(&self.ev[c], &last):
                    break
                self.ev[i] = self.ev[c]
                i = c
            self.ev[i] = last
        return top


cdef class _EndHeap:
    """An indexed min-heap of predicted transfer ends, one entry per message (a new
    prediction moves the message's entry; no stale entries pile up)."""
    cdef double* key
    cdef int64_t* node
    cdef int64_t[:] at           # per message: its place in the heap, -1 if none
    cdef Py_ssize_t n

    def __cinit__(self, Py_ssize_t n_nodes):
        self.key = <double*>malloc(max(n_nodes, 1) * sizeof(double))
        self.node = <int64_t*>malloc(max(n_nodes, 1) * sizeof(int64_t))
        if self.key == NULL or self.node == NULL:
            raise MemoryError()
        self.at = np.full(max(n_nodes, 1), -1, dtype=np.int64)
        self.n = 0

    def __dealloc__(self):
        free(self.key)
        free(self.node)

    cdef inline bint _lt(self, double k1, int64_t v1, double k2, int64_t v2) noexcept nogil:
        return k1 < k2 or (k1 == k2 and v1 < v2)

    cdef void _place(self, Py_ssize_t i, double k, int64_t v) noexcept:
        """Put (k, v) at hole ``i`` and restore the heap order around it."""
        cdef Py_ssize_t p, c
        while i > 0:
            p = (i - 1) >> 1
            if not self._lt(k, v, self.key[p], self.node[p]):
                break
            self.key[i], self.node[i] = self.key[p], self.node[p]
            self.at[self.node[i]] = i
            i = p
        while True:
            c = 2 * i + 1
            if c >= self.n:
                break
            if c + 1 < self.n and self._lt(self.key[c + 1], self.node[c + 1], self.key[c], self.node[c]):
                c += 1
            if not self._lt(self.key[c], self.node[c], k, v):
                break
            self.key[i], self.node[i] = self.key[c], self.node[c]
            self.at[self.node[i]] = i
            i = c
        self.key[i], self.node[i] = k, v
        self.at[v] = i

    cdef void set(self, int64_t v, double k) noexcept:
        if self.at[v] < 0:
            self.n += 1
            self._place(self.n - 1, k, v)
        else:
            self._place(self.at[v], k, v)

    cdef void drop(self, int64_t v) noexcept:
        cdef Py_ssize_t i = self.at[v]
        if i < 0:
            return
        self.at[v] = -1
        self.n -= 1
        if i < self.n:
            self._place(i, self.key[self.n], self.node[self.n])


cdef class _Fluid:
    """Messages in flight, the resources they load, and their rates (see the module doc).

    Each resource keeps the list of (message, column) codes that load it, so a change
    re-solves only its component; each message keeps its bytes left as of ``upd`` and its
    current rate, so moving the clock costs nothing for the messages it does not touch.
    """
    cdef const int64_t[:, ::1] res
    cdef const double[:, ::1] weight
    cdef const double[:] cap, flow_cap, wire, priority
    cdef int K
    cdef int code_bits          # a user code is f << code_bits | column (a shift, not a division)
    cdef bint by_priority
    # per message
    cdef double[:] rate, remaining, upd
    cdef int64_t[:] slot, start_seq, pos
    cdef char[:] in_comp
    cdef int64_t seq
    # per resource: codes (f << code_bits) | j of the messages that load it
    cdef int64_t** users
    cdef int64_t[:] n_users, cap_users
    cdef double[:] remcap, wsum
    cdef char[:] full
    cdef int64_t[:] res_stamp, seed_stamp
    cdef int64_t stamp, seed_epoch
    # scratch
    cdef int64_t[:] comp, touched, seeds, active, keyed, growing
    cdef public int64_t n_comp_total, n_solves, n_iters   # work done, for benchmarks
    cdef Py_ssize_t n_seeds, n_active
    cdef Py_ssize_t R

    def __init__(self, res, weight, cap, flow_cap, wire, priority, int64_t n):
        cdef Py_ssize_t r
        self.res, self.weight, self.cap, self.flow_cap, self.wire = res, weight, cap, flow_cap, wire
        self.by_priority = priority is not None
        self.priority = priority if priority is not None else np.zeros(1)
        self.K = res.shape[1]
        self.code_bits = 0
        while (1 << self.code_bits) < self.K:
            self.code_bits += 1
        self.rate = np.zeros(n)
        self.remaining = np.zeros(n)
        self.upd = np.zeros(n)
        self.slot = np.zeros(max(n << self.code_bits, 1), dtype=np.int64)
        self.start_seq = np.zeros(n, dtype=np.int64)
        self.pos = np.full(n, -1, dtype=np.int64)
        self.in_comp = np.zeros(n, dtype=np.int8)
        self.seq = 0
        self.R = R = len(cap)
        self.users = <int64_t**>malloc(max(R, 1) * sizeof(int64_t*))
        if self.users == NULL:
            raise MemoryError()
        for r in range(R):
            self.users[r] = NULL
        self.n_users = np.zeros(R, dtype=np.int64)
        self.cap_users = np.zeros(R, dtype=np.int64)
        self.remcap = np.zeros(R)
        self.wsum = np.zeros(R)
        self.full = np.zeros(R, dtype=np.int8)
        self.res_stamp = np.zeros(R, dtype=np.int64)
        self.seed_stamp = np.zeros(R, dtype=np.int64)
        self.stamp = 0
        self.seed_epoch = 1
        self.comp = np.zeros(max(n, 1), dtype=np.int64)
        self.touched = np.zeros(max(R, 1), dtype=np.int64)
        self.seeds = np.zeros(max(R, 1), dtype=np.int64)
        self.active = np.zeros(max(n, 1), dtype=np.int64)
        self.growing = np.zeros(max(n, 1), dtype=np.int64)
        self.keyed = np.zeros(2 * max(n, 1), dtype=np.int64)
        self.n_comp_total = self.n_solves = self.n_iters = 0
        self.n_seeds = 0
        self.n_active = 0

    def __dealloc__(self):
        cdef Py_ssize_t r
        if self.users != NULL:
            for r in range(self.R):
                free(self.users[r])
            free(self.users)

    cdef int _seed(self, int64_t f) except -1:
        """Mark ``f``'s resources as changed (their component is re-solved)."""
        cdef int j
        cdef int64_t r
        for j in range(self.K):
            r = self.res[f, j]
            if self.seed_stamp[r] != self.seed_epoch:
                self.seed_stamp[r] = self.seed_epoch
                self.seeds[self.n_seeds] = r
                self.n_seeds += 1
        return 0

    cdef int add(self, int64_t f, double t) except -1:
        """Message ``f`` starts transferring at ``t``."""
        cdef int j
        cdef int64_t r, m
        cdef int64_t* grown
        for j in range(self.K):
            r = self.res[f, j]
            m = self.n_users[r]
            if m == self.cap_users[r]:
                grown = <int64_t*>realloc(self.users[r], max(8, 2 * m) * sizeof(int64_t))
                if grown == NULL:
                    raise MemoryError()
                self.users[r] = grown
                self.cap_users[r] = max(8, 2 * m)
            self.users[r][m] = (f << self.code_bits) | j
            self.slot[(f << self.code_bits) | j] = m
            self.n_users[r] = m + 1
        self.remaining[f] = self.wire[f]
        self.upd[f] = t
        self.rate[f] = 0.0
        self.start_seq[f] = self.seq
        self.seq += 1
        self.pos[f] = self.n_active
        self.active[self.n_active] = f
        self.n_active += 1
        self._seed(f)
        return 0

    cdef int remove(self, int64_t f) except -1:
        """Message ``f``'s last byte has left: it no longer loads its resources."""
        cdef int j
        cdef int64_t r, last, p
        for j in range(self.K):
            r = self.res[f, j]
            p = self.slot[(f << self.code_bits) | j]
            last = self.users[r][self.n_users[r] - 1]
            self.users[r][p] = last
            self.slot[last] = p
            self.n_users[r] -= 1
        p = self.pos[f]
        last = self.active[self.n_active - 1]
        self.active[p] = last
        self.pos[last] = p
        self.pos[f] = -1
        self.n_active -= 1
        self._seed(f)
        return 0

    cdef Py_ssize_t component(self) except -1:
        """The messages connected to the changed resources through shared resources
        (all messages in flight under strict priority), into ``comp``, in start order."""
        cdef Py_ssize_t nc = 0, qi = 0, i, k
        cdef int64_t r, f, r2, code
        cdef int j
        if self.by_priority:
            for i in range(self.n_active):
                self.comp[i] = self.active[i]
            nc = self.n_active
        else:
            self.stamp += 1
            for i in range(self.n_seeds):          # resources to visit: a queue in touched
                r = self.seeds[i]
                if self.res_stamp[r] != self.stamp:
                    self.res_stamp[r] = self.stamp
                    self.touched[qi] = r
                    qi += 1
            i = 0
            while i < qi:
                r = self.touched[i]
                i += 1
                for k in range(self.n_users[r]):
                    code = self.users[r][k]
                    f = code >> self.code_bits
                    if self.in_comp[f]:
                        continue
                    self.in_comp[f] = 1
                    self.comp[nc] = f
                    nc += 1
                    for j in range(self.K):
                        r2 = self.res[f, j]
                        if self.res_stamp[r2] != self.stamp:
                            self.res_stamp[r2] = self.stamp
                            self.touched[qi] = r2
                            qi += 1
            for i in range(nc):
                self.in_comp[self.comp[i]] = 0
        self.n_seeds = 0
        self.seed_epoch += 1
        # start order: the same component gives the same rates however it was reached
        # (start numbers are unique: any sort gives the same order)
        if nc > 1:
            for i in range(nc):
                self.keyed[2 * i] = self.start_seq[self.comp[i]]
                self.keyed[2 * i + 1] = self.comp[i]
            if nc <= SMALL_SORT:
                _insertion_sort_pairs(&self.keyed[0], nc)
            else:
                _heap_sort_pairs(&self.keyed[0], nc)
            for i in range(nc):
                self.comp[i] = self.keyed[2 * i + 1]
        self.n_comp_total += nc
        self.n_solves += 1
        return nc

    cdef Py_ssize_t _touch(self, int64_t[:] flows, Py_ssize_t nf) except -1:
        """Collect the resources of ``flows`` into ``touched``; return how many."""
        cdef Py_ssize_t i, nt = 0
        cdef int j
        cdef int64_t r
        self.stamp += 1
        for i in range(nf):
            for j in range(self.K):
                r = self.res[flows[i], j]
                if self.res_stamp[r] != self.stamp:
                    self.res_stamp[r] = self.stamp
                    self.touched[nt] = r
                    nt += 1
        return nt

    cdef int fair(self, int64_t[:] act, Py_ssize_t na) except -1:
        """Max-min fair rates of the ``na`` messages ``act`` (progressive filling: all grow
        together until a resource is full or a message reaches its cap; those freeze)."""
        cdef Py_ssize_t i, nt, kept, nlive = na
        cdef int j
        cdef int64_t f, r
        cdef double level, s, c
        cdef bint hit, weighted
        cdef int64_t[:] grow = self.growing       # the messages still growing, in act order
        nt = self._touch(act, na)
        for i in range(nt):
            r = self.touched[i]
            self.remcap[r] = self.cap[r]
            self.full[r] = 0
        for i in range(na):
            f = act[i]
            self.rate[f] = 0.0
            grow[i] = f
        while nlive > 0:
            self.n_iters += 1
            for i in range(nt):
                self.wsum[self.touched[i]] = 0.0
            for i in range(nlive):
                f = grow[i]
                for j in range(self.K):
                    self.wsum[self.res[f, j]] += self.weight[f, j]
            level = INFINITY
            for i in range(nt):
                r = self.touched[i]
                if self.wsum[r] > 0:
                    s = self.remcap[r] / self.wsum[r]
                    if s < level:
                        level = s
            for i in range(nlive):
                f = grow[i]
                c = self.flow_cap[f] - self.rate[f]
                if c < level:
                    level = c
            for i in range(nlive):
                self.rate[grow[i]] += level
            for i in range(nt):
                r = self.touched[i]
                self.remcap[r] -= level * self.wsum[r]
                if self.wsum[r] > 0 and self.remcap[r] <= 1e-9 * self.cap[r]:
                    self.full[r] = 1
            kept = 0
            for i in range(nlive):
                f = grow[i]
                hit = False
                weighted = False
                for j in range(self.K):
                    if self.full[self.res[f, j]]:
                        hit = True
                    if self.weight[f, j] > 0:
                        weighted = True
                # a message whose resources are all weightless for it stops at its cap
                if not ((hit and weighted) or self.rate[f] >= self.flow_cap[f] * (1 - 1e-12)
                        or not isfinite(level)):
                    grow[kept] = f                  # still growing: kept, in order
                    kept += 1
            nlive = kept
        return 0

    cdef int strict(self, int64_t[:] act, Py_ssize_t na) except -1:
        """Strict-priority rates: largest priority first (ties in start order), each
        taking what its resources have left at full speed."""
        cdef Py_ssize_t i, nt
        cdef int j
        cdef int64_t f, r
        cdef double x, w
        nt = self._touch(act, na)
        for i in range(nt):
            r = self.touched[i]
            self.remcap[r] = self.cap[r]
        prio = np.asarray(self.priority)
        idx = np.asarray(act[:na])
        cdef int64_t[:] order = idx[np.argsort(-prio[idx], kind="stable")]
        for i in range(na):
            f = order[i]
            x = self.flow_cap[f]
            for j in range(self.K):
                w = self.weight[f, j]
                if w > 0 and self.remcap[self.res[f, j]] / w < x:
                    x = self.remcap[self.res[f, j]] / w
            if x < 0:
                x = 0.0
            self.rate[f] = x
            for j in range(self.K):
                self.remcap[self.res[f, j]] -= x * self.weight[f, j]
        return 0


def fluid_finish(const signed char[:] kind, const int64_t[:] size, const double[:] wire,
                 res, weight, cap, flow_cap, const int64_t[:] alpha, const int64_t[:] delay,
                 const int64_t[:] succ_ptr, const int64_t[:] succ, const int64_t[:] n_pred,
                 priority=None, dict stats=None):
    """Finish time (ps, float) of every node of a DAG run as a fluid schedule.

    Parameters
    ----------
    kind : int8 array
        0 for a message, 1 for a compute node (its ``size`` is its duration in ps).
    size : int64 array
        Message payload bytes (a message of 0 bytes or 0 ``wire`` bytes is a pure
        dependency) or compute duration.
    wire : float array
        Bytes each message puts through its resources.
    res, weight : (n, K) arrays
        Resource ids of each message and the load per unit of its rate on each.
    cap : float array
        Capacity of each resource, bytes per ps.
    flow_cap : float array
        Each message's own rate limit (``inf`` for none).
    alpha, delay : int64 arrays
        Latency after a message's last byte; wait after a node's last predecessor.
    succ_ptr, succ, n_pred : int64 arrays
        Successors in CSR form and predecessor counts.
    priority : float array, optional
        Strict priority instead of max-min fair sharing (largest first).
    stats : dict, optional
        Filled with the work done: ``solves`` (allocations re-solved), ``comp_messages``
        (messages over all of them) and ``iterations`` (progressive-filling rounds).

    Returns
    -------
    numpy.ndarray
        Per node, the time it finished.

    Raises
    ------
    ValueError
        Messages in flight that no resource lets progress (a capacity of 0).
    """
    cdef Py_ssize_t n = len(kind), i, nc
    cdef _Fluid fl = _Fluid(np.ascontiguousarray(res, dtype=np.int64),
                            np.ascontiguousarray(weight, dtype=np.float64),
                            np.ascontiguousarray(cap, dtype=np.float64),
                            np.ascontiguousarray(flow_cap, dtype=np.float64),
                            wire, None if priority is None else np.ascontiguousarray(priority, dtype=np.float64),
                            n)
    cdef _Heap heap = _Heap()       # node starts and finishes
    cdef _EndHeap ends = _EndHeap(n)     # predicted transfer ends
    cdef double[:] finish = np.zeros(n)
    cdef double[:] ready_at = np.zeros(n)
    cdef int64_t[:] waiting = np.array(n_pred, dtype=np.int64)
    cdef double[:] rate = fl.rate, remaining = fl.remaining, upd = fl.upd
    cdef int64_t[:] comp = fl.comp
    cdef double t = 0.0, t_fin, t_evt, dt
    cdef bint dirty = False
    cdef int64_t v, s2, k
    cdef Ev e
    for v in range(n):
        if waiting[v] == 0:
            heap.push(<double>delay[v], START, v)
    while heap.n > 0 or fl.n_active > 0:
        if dirty and fl.n_active > 0:
            nc = fl.component()
            for i in range(nc):                 # bring their bytes left to now
                v = comp[i]
                remaining[v] -= rate[v] * (t - upd[v])
                upd[v] = t
            if fl.by_priority:
                fl.strict(comp, nc)
            else:
                fl.fair(comp, nc)
            for i in range(nc):
                v = comp[i]
                if rate[v] > 0:
                    ends.set(v, t + remaining[v] / rate[v])
                else:
                    ends.drop(v)                # held back until its component changes
        dirty = False
        t_fin = ends.key[0] if ends.n > 0 else INFINITY
        t_evt = heap.ev[0].t if heap.n > 0 else INFINITY
        if t_fin == INFINITY and t_evt == INFINITY:
            raise ValueError(f"{fl.n_active} messages in flight can never finish "
                             f"(a resource of capacity 0?)")
        if t_fin <= t_evt:
            t = t_fin
            # every message whose last byte leaves within half a ps ends now
            while ends.n > 0:
                v = ends.node[0]
                remaining[v] -= rate[v] * (t - upd[v])
                upd[v] = t
                if remaining[v] > rate[v] * 0.5 + 1e-9 * wire[v]:
                    ends.set(v, t + remaining[v] / rate[v])     # not yet (float rounding)
                    if ends.node[0] == v:
                        break
                    continue
                ends.drop(v)
                fl.remove(v)
                heap.push(t + alpha[v], DONE, v)
            dirty = True
            continue
        t = t_evt
        while heap.n > 0 and heap.ev[0].t <= t:
            e = heap.pop()
            v = e.v
            if e.what == DONE:
                finish[v] = e.t
                for k in range(succ_ptr[v], succ_ptr[v + 1]):
                    s2 = succ[k]
                    if e.t > ready_at[s2]:
                        ready_at[s2] = e.t
                    waiting[s2] -= 1
                    if waiting[s2] == 0:
                        heap.push(ready_at[s2] + delay[s2], START, s2)
            elif kind[v] == 1 or size[v] == 0 or wire[v] == 0:
                heap.push(e.t + (size[v] if kind[v] == 1 else 0), DONE, v)
            else:
                fl.add(v, t)
                dirty = True
    if stats is not None:
        stats.update(solves=fl.n_solves, comp_messages=fl.n_comp_total, iterations=fl.n_iters)
    return np.asarray(finish)


def dag_paths(const int64_t[:] succ_ptr, const int64_t[:] succ, const double[:] own,
              const int64_t[:] delay):
    """Longest paths through a DAG whose nodes are numbered in a topological order.

    Node ``v`` takes ``delay[v] + own[v]`` after its last predecessor. Returns
    ``(through, after)``: ``through[v]``, the longest path from the roots to ``v``'s end;
    ``after[v]``, the longest path that follows ``v``'s end.

    >>> import numpy as np
    >>> through, after = dag_paths(np.array([0, 2, 3, 3]), np.array([1, 2, 2]),
    ...                            np.array([1.0, 2.0, 3.0]), np.array([0, 0, 1]))
    >>> through.tolist(), after.tolist()
    ([1.0, 3.0, 7.0], [6.0, 4.0, 0.0])
    """
    cdef Py_ssize_t n = len(own), v, k
    cdef double[:] through = np.zeros(n), after = np.zeros(n), best = np.zeros(n)
    cdef double c
    cdef int64_t s2
    for v in range(n):
        through[v] = best[v] + delay[v] + own[v]
        for k in range(succ_ptr[v], succ_ptr[v + 1]):
            s2 = succ[k]
            if through[v] > best[s2]:
                best[s2] = through[v]
    for v in range(n - 1, -1, -1):
        c = 0.0
        for k in range(succ_ptr[v], succ_ptr[v + 1]):
            s2 = succ[k]
            if delay[s2] + own[s2] + after[s2] > c:
                c = delay[s2] + own[s2] + after[s2]
        after[v] = c
    return np.asarray(through), np.asarray(after)


def range_longest(const int64_t[:] succ_ptr, const int64_t[:] succ, const double[:] own,
                  const int64_t[:] delay, const int64_t[:] lo, const int64_t[:] hi):
    """Per range ``lo[i] .. hi[i]-1`` of a DAG numbered in a topological order, its
    longest path with the edges from outside the range left out (node ``v`` takes
    ``delay[v] + own[v]`` after its last predecessor in the range; 0 for an empty range).

    >>> import numpy as np
    >>> ptr, succ = np.array([0, 1, 2, 2]), np.array([1, 2])     # a chain 0 -> 1 -> 2
    >>> range_longest(ptr, succ, np.array([1.0, 2.0, 3.0]), np.zeros(3, np.int64),
    ...               np.array([0, 1, 3]), np.array([3, 3, 3])).tolist()
    [6.0, 5.0, 0.0]
    """
    cdef Py_ssize_t n = len(own), i, v, k
    cdef double[:] best = np.zeros(n)
    cdef double[:] out = np.zeros(len(lo))
    cdef double t, m
    cdef int64_t s2
    for i in range(len(lo)):
        if lo[i] < 0 or hi[i] > n:
            raise ValueError(f"range {lo[i]}..{hi[i]} outside the DAG's {n} nodes")
        for v in range(lo[i], hi[i]):
            best[v] = 0.0
        m = 0.0
        for v in range(lo[i], hi[i]):
            t = best[v] + delay[v] + own[v]
            if t > m:
                m = t
            for k in range(succ_ptr[v], succ_ptr[v + 1]):
                s2 = succ[k]
                if s2 < hi[i] and t > best[s2]:
                    best[s2] = t
        out[i] = m
    return np.asarray(out)


def widest_level(const int64_t[:] succ_ptr, const int64_t[:] succ, const signed char[:] kind):
    """The most messages (``kind == 0``) at one DAG depth (nodes in topological order):
    a cheap estimate of how many can be in flight at once.

    >>> import numpy as np
    >>> widest_level(np.array([0, 2, 2, 2]), np.array([1, 2]), np.zeros(3, np.int8))
    2
    """
    cdef Py_ssize_t n = len(kind), v, k
    cdef int64_t[:] level = np.zeros(n, dtype=np.int64)
    cdef int64_t[:] count = np.zeros(n + 1, dtype=np.int64)
    cdef int64_t widest = 0
    for v in range(n):
        if kind[v] == 0:
            count[level[v]] += 1
            if count[level[v]] > widest:
                widest = count[level[v]]
        for k in range(succ_ptr[v], succ_ptr[v + 1]):
            if level[v] + 1 > level[succ[k]]:
                level[succ[k]] = level[v] + 1
    return int(widest)


ctypedef struct Job:
    double neg_tail
    double work


cdef inline bint _job_less(Job* a, Job* b) nogil:
    if a.neg_tail != b.neg_tail:
        return a.neg_tail < b.neg_tail
    return a.work < b.work


cdef void _job_sift_down(Job* h, Py_ssize_t n, Py_ssize_t i) noexcept nogil:
    cdef Job x = h[i]
    cdef Py_ssize_t c
    while True:
        c = 2 * i + 1
        if c >= n:
            break
        if c + 1 < n and _job_less(&h[c + 1], &h[c]):
            c += 1
        if not _job_less(&h[c], &x):
            break
        h[i] = h[c]
        i = c
    h[i] = x


def one_resource_bounds(resource, release, work, tail):
    """The largest, over resources, of the optimal preemptive one-machine makespan.

    Each job needs ``work`` ps of its ``resource`` (a NIC direction), may start at
    ``release`` and is followed by ``tail`` ps that need no resource. Jackson's
    preemptive schedule (serve the released job with the longest tail first) minimises
    ``max(completion + tail)`` on one machine, so it bounds from below any schedule
    that also shares the resource with others.

    >>> import numpy as np
    >>> one_resource_bounds(np.array([0, 0]), np.array([0.0, 0.0]), np.array([5.0, 3.0]),
    ...                     np.array([1.0, 10.0]))
    13.0
    """
    cdef Py_ssize_t n = len(resource), i = 0, j, k, nh, p
    cdef double best = 0.0, t, nxt
    if n == 0:
        return best
    order = np.lexsort((release, resource))
    cdef const int64_t[:] r_s = np.ascontiguousarray(np.asarray(resource, dtype=np.int64)[order])
    cdef const double[:] rel_s = np.ascontiguousarray(np.asarray(release, dtype=np.float64)[order])
    cdef const double[:] w_s = np.ascontiguousarray(np.asarray(work, dtype=np.float64)[order])
    cdef const double[:] q_s = np.ascontiguousarray(np.asarray(tail, dtype=np.float64)[order])
    cdef Job* heap = <Job*>malloc(n * sizeof(Job))
    cdef Job x
    if heap == NULL:
        raise MemoryError()
    try:
        while i < n:
            j = i
            while j < n and r_s[j] == r_s[i]:
                j += 1
            t = rel_s[i]
            nh = 0
            k = i
            while k < j or nh > 0:
                if nh == 0 and t < rel_s[k]:
                    t = rel_s[k]
                while k < j and rel_s[k] <= t:
                    x.neg_tail, x.work = -q_s[k], w_s[k]       # push
                    p = nh
                    nh += 1
                    while p > 0 and _job_less(&x, &heap[(p - 1) >> 1]):
                        heap[p] = heap[(p - 1) >> 1]
                        p = (p - 1) >> 1
                    heap[p] = x
                    k += 1
                nxt = rel_s[k] if k < j else INFINITY
                if t + heap[0].work <= nxt:
                    t += heap[0].work
                    if t - heap[0].neg_tail > best:
                        best = t - heap[0].neg_tail
                    nh -= 1                                     # pop
                    if nh > 0:
                        heap[0] = heap[nh]
                        _job_sift_down(heap, nh, 0)
                else:
                    heap[0].work -= nxt - t        # less work: still the heap's smallest
                    t = nxt
            i = j
    finally:
        free(heap)
    return best
