# cython: language_level=3
"""The compiled walker of workload DAGs: completions release successors in C.

A :class:`DagWalker` holds a DAG of flow and compute nodes in arrays (per node its kind,
endpoints, size, delay, count of unfinished predecessors; successors in CSR form) and
walks it as the run goes on. A compute node (or a zero-byte flow) is an event of the
walker itself; a flow node's transport flow calls the walker back when its receiver
holds every byte (or its sender has every ACK), and the walker releases the node's
successors in the same C call. With a :class:`~uesim.protocols.flow.FlowSpawner` (UET
and RoCE) the walker makes each flow in compiled code too; no Python runs per DAG node
then but the load balancer's and CC's own constructors (compiled) and the batched
retirement of finished flows; other transports' flows come from ``new_flow``.

Node order, flow creation order and event order are those of a plain walk in node
order, so a run gives the same results bit for bit whichever walker drives it.
:class:`uesim.experiments.workloads.dag.Workload` builds the arrays and wraps this.
"""
from libc.stdint cimport int8_t, int32_t, int64_t

from uesim.fabric.engine cimport EventHandler, Simulator, push_event
from uesim.fabric.network cimport Network
from uesim.protocols.flow cimport Flow, FlowSpawner

import numpy as np

cdef enum:
    NODE_FLOW = 0
    NODE_COMPUTE = 1


cdef class _FlowHook:
    """A flow's completion callback (``on_rx_done`` or ``on_finish``) into its walker."""
    cdef DagWalker walker
    cdef bint rx

    def __call__(self, flow):
        if self.rx:
            self.walker.flow_rx(<Flow> flow)
        else:
            self.walker.flow_sent(<Flow> flow)


#: finished flows handed back together, at least: a batch's check and row keeping cost
#: about 40 us whatever its size (numpy calls), a held flow about 2 KB
cdef enum:
    RETIRE_BATCH = 1024


cdef class DagWalker(EventHandler):
    """Run a DAG in a simulation: roots start at :meth:`start`, the rest as their
    predecessors finish.

    Parameters
    ----------
    sim : Simulator
    net : Network
    kind, src, dst, size, delay : int arrays, one entry per node
        ``kind`` 0 for a flow (``size`` bytes ``src -> dst``), 1 for compute (``size``
        ps on GPU ``src``); ``delay`` ps between the last predecessor's end and the start.
    succ_ptr, succ, n_pred : int arrays
        Successors in CSR form and the number of predecessors of each node.
    new_flow : callable
        ``new_flow(src, dst, size_bytes, start_ps)``: a transport flow, attached, that
        starts at ``start_ps`` (never in the past).
    spawner, owner : FlowSpawner and Simulation, optional
        Instead of calling ``new_flow``, make each flow with ``spawner`` in compiled
        code, exactly as ``owner.new_flow`` would: flow id ``owner._n_added`` (then
        incremented), appended to ``owner.flow_objs``.
    retire_flows : callable or None
        ``retire_flows(flows, current)``: hand finished flows with no packet alive back
        (``current``: the flow whose callback is running, or None); None keeps them.
    done_on_rx : bool
        A flow node finishes when its receiver holds every byte (else at its last ACK).
    """
    cdef Network net
    cdef const int8_t[::1] kind
    cdef const int64_t[::1] src, dst, size, delay, succ_ptr, succ
    cdef int64_t[::1] waiting
    cdef int64_t[::1] start_v, end_v, fid_v
    cdef readonly object start_ps, end_ps, flow_id
    cdef readonly int64_t n_nodes
    cdef readonly int64_t finished
    cdef dict node_of               # flow id -> node, while the node is unfinished
    cdef object new_flow
    cdef FlowSpawner spawner
    cdef object owner
    cdef list owner_flows
    cdef object retire_flows
    cdef bint on_rx
    cdef list held                  # finished flows waiting for their last packets
    cdef Py_ssize_t check_at
    cdef _FlowHook rx_hook, sent_hook

    def __init__(self, Simulator sim, Network net, kind, src, dst, size, delay, succ_ptr, succ,
                 n_pred, new_flow, retire_flows=None, bint done_on_rx=True, FlowSpawner spawner=None,
                 owner=None):
        self.net = net
        self.kind = np.ascontiguousarray(kind, dtype=np.int8)
        self.src = np.ascontiguousarray(src, dtype=np.int64)
        self.dst = np.ascontiguousarray(dst, dtype=np.int64)
        self.size = np.ascontiguousarray(size, dtype=np.int64)
        self.delay = np.ascontiguousarray(delay, dtype=np.int64)
        self.succ_ptr = np.ascontiguousarray(succ_ptr, dtype=np.int64)
        self.succ = np.ascontiguousarray(succ, dtype=np.int64)
        self.waiting = np.array(n_pred, dtype=np.int64)
        self.n_nodes = self.kind.shape[0]
        if not (self.src.shape[0] == self.dst.shape[0] == self.size.shape[0] == self.delay.shape[0]
                == self.waiting.shape[0] == self.n_nodes and self.succ_ptr.shape[0] == self.n_nodes + 1):
            raise ValueError("DagWalker: the per-node arrays differ in length")
        self.start_ps = np.full(self.n_nodes, -1, dtype=np.int64)
        self.end_ps = np.full(self.n_nodes, -1, dtype=np.int64)
        self.flow_id = np.full(self.n_nodes, -1, dtype=np.int64)
        self.start_v, self.end_v, self.fid_v = self.start_ps, self.end_ps, self.flow_id
        self.node_of = {}
        self.new_flow, self.retire_flows = new_flow, retire_flows
        if spawner is not None and owner is None:
            raise ValueError("DagWalker: a spawner needs its owner (the Simulation)")
        self.spawner, self.owner = spawner, owner
        self.owner_flows = owner.flow_objs if spawner is not None else None
        self.on_rx = done_on_rx
        self.held = []
        self.check_at = RETIRE_BATCH
        self.rx_hook, self.sent_hook = _FlowHook(), _FlowHook()
        self.rx_hook.walker = self.sent_hook.walker = self
        self.rx_hook.rx = True
        sim.register(self)

    def start(self):
        """Start the roots (nodes without predecessors) now plus their delay."""
        cdef int64_t node, now = self.sim.now
        for node in range(self.n_nodes):
            if self.waiting[node] == 0:
                self.start_node(node, now + self.delay[node])

    cdef int start_node(self, int64_t node, int64_t at_ps) except -1:
        cdef Flow f
        cdef int64_t fid
        self.start_v[node] = at_ps
        if self.kind[node] == NODE_COMPUTE:
            push_event(self.sim, at_ps + self.size[node], self.handler_id, 0, node)
            return 0
        if self.size[node] == 0:                # a pure dependency
            push_event(self.sim, at_ps, self.handler_id, 0, node)
            return 0
        if self.spawner is not None:         # Simulation.new_flow, without a Python frame
            fid = self.owner._n_added
            f = self.spawner.make(fid, self.src[node], self.dst[node], self.size[node], at_ps, True)
            self.owner._n_added = fid + 1
            self.owner_flows.append(f)
        else:
            f = <Flow?> self.new_flow(self.src[node], self.dst[node], self.size[node], at_ps)
        if self.on_rx:
            f.on_rx_done = self.rx_hook
        f.on_finish = self.sent_hook
        self.node_of[f.flow_id] = node
        self.fid_v[node] = f.flow_id
        return 0

    cdef int on_event(self, int32_t kind, int64_t arg) except -1:
        return self.finish_node(arg)          # a compute node or a zero-byte flow ends

    cdef int finish_node(self, int64_t node) except -1:
        cdef int64_t i, s, now = self.sim.now
        self.end_v[node] = now
        self.finished += 1
        for i in range(self.succ_ptr[node], self.succ_ptr[node + 1]):
            s = self.succ[i]
            self.waiting[s] -= 1
            if self.waiting[s] == 0:
                self.start_node(s, now + self.delay[s])
        return 0

    cdef int flow_rx(self, Flow f) except -1:
        return self.finish_node(self.node_of.pop(f.flow_id))

    cdef int flow_sent(self, Flow f) except -1:
        if not self.on_rx:
            self.flow_rx(f)
        if self.retire_flows is not None:
            self.held.append(f)
            if len(self.held) >= self.check_at:
                self.retire_quiet(f)
        return 0

    cdef int retire_quiet(self, Flow current) except -1:
        """Hand back the held flows that have no packet alive any more (amortised: the
        next check waits until the held list has doubled)."""
        cdef list quiet = [], still = []
        cdef Flow f
        for f in self.held:
            if f.endpoint_id < 0 or not self.net.busy(f.endpoint_id):
                quiet.append(f)
            else:
                still.append(f)
        self.held = still
        self.check_at = 2 * len(still) + RETIRE_BATCH
        if quiet:
            self.retire_flows(quiet, current)
        return 0

    @property
    def held_flows(self):
        """Finished flows not yet retired (packets of theirs were still alive)."""
        return list(self.held)
