"""Workload DAGs: flows and compute delays with dependencies, driven by completions.

A :class:`Workload` is a directed acyclic graph whose nodes are **flows** (``src -> dst``,
bytes) or **compute** delays (a duration on one GPU), and whose edges say "starts after".
A node starts when its last predecessor finishes, plus its own ``delay_ps``; nodes
without predecessors start at their ``delay_ps``. A flow node finishes when its sender
has every ACK; a compute node after its duration.

The bookkeeping is integer arrays: per node a count of unfinished predecessors, start
and end times; successors in CSR form (``succ_ptr``/``succ``), walked by compiled code
(:mod:`uesim.protocols.workload`) as flows and compute delays complete; a flow object
is created only when its node starts, so a DAG of millions of steps does not build
millions of idle flows up front, and it is retired (its result row kept) once done.

Examples
--------
>>> from uesim.experiments import Simulation
>>> from uesim.experiments.workloads.dag import Workload
>>> w = Workload()
>>> a = w.flow(0, 1, 100_000)
>>> c = w.compute(1, 2_000_000, after=[a])           # 2 us on GPU 1 once a arrived
>>> b = w.flow(1, 2, 100_000, after=[c], delay_ps=500_000)
>>> sim = Simulation("leaf_spine:n_leaves=2,n_spines=2,hosts_per_leaf=2", seed=1)
>>> run = sim.add_workload(w)
>>> sim.run()
>>> bool(run.done), int(run.start_ps[c] - run.end_ps[a]), int(run.start_ps[b] - run.end_ps[c])
(True, 0, 500000)
"""
from __future__ import annotations

from array import array

import numpy as np

FLOW, COMPUTE = 0, 1


KIND_NAMES = ("flow", "compute")


class Workload:
    """A DAG of flow and compute nodes (built up front, run by :meth:`launch`).

    Parameters
    ----------
    done_on : {"rx", "ack"}
        When a flow node counts as finished: ``"rx"`` when its receiver holds every byte
        (what a collective's next step waits for; htsim's ``recv_done_trigger``),
        ``"ack"`` when its sender has every ACK (``send_done_trigger``).
    """

    def __init__(self, done_on: str = "rx"):
        if done_on not in ("rx", "ack"):
            raise ValueError(f"done_on = {done_on!r}: allowed: rx, ack")
        self.done_on = done_on
        # compact int arrays: a million-node DAG stays tens of MB
        self.kind = array("b")
        self.src = array("q")           # flow: source host; compute: the GPU
        self.dst = array("q")           # flow: destination host; compute: -1
        self.size = array("q")          # flow: bytes; compute: duration ps
        self.delay = array("q")
        self.tag = array("q")
        self.edges_from = array("q")
        self.edges_to = array("q")
        self._arrays = self._messages = None     # arrays() and distinct_messages(), until the DAG grows

    def __len__(self) -> int:
        return len(self.kind)

    def _add(self, kind, src, dst, size, after, delay_ps, tag) -> int:
        self._arrays = self._messages = None
        node = len(self.kind)
        if delay_ps < 0:
            raise ValueError(f"delay_ps must be >= 0, got {delay_ps}")
        if len(after) > 16:                    # a join after thousands of receives: in bulk
            pred = np.asarray(after, dtype=np.int64)
            bad = (pred < 0) | (pred >= node)
            if bad.any():
                raise ValueError(f"node {node}: predecessor {int(pred[bad][0])} does not exist yet "
                                 f"(nodes 0..{node - 1}); add predecessors first")
            self.edges_from.frombytes(pred.tobytes())
            self.edges_to.frombytes(np.full(len(pred), node, dtype=np.int64).tobytes())
        else:
            for p in after:
                p = int(p)
                if not 0 <= p < node:
                    raise ValueError(f"node {node}: predecessor {p} does not exist yet "
                                     f"(nodes 0..{node - 1}); add predecessors first")
                self.edges_from.append(p)
                self.edges_to.append(node)
        self.kind.append(kind)
        self.src.append(int(src))
        self.dst.append(int(dst))
        self.size.append(int(size))
        self.delay.append(int(delay_ps))
        self.tag.append(int(tag))
        return node

    def flow(self, src: int, dst: int, size_bytes: int, *, after=(), delay_ps: int = 0,
             tag: int = 0) -> int:
        """Add a flow node (host indices, bytes); return its node id.

        A zero-byte flow is a pure dependency: it finishes the moment it starts.
        """
        if size_bytes < 0:
            raise ValueError(f"size_bytes must be >= 0, got {size_bytes}")
        if src == dst:
            raise ValueError(f"a flow needs two hosts, got src = dst = {src}")
        return self._add(FLOW, src, dst, size_bytes, after, delay_ps, tag)

    def flows(self, src, dst, size_bytes, *, after=(), delay_ps: int = 0, tag: int = 0) -> np.ndarray:
        """Add ``len(src)`` flow nodes at once; return their node ids (consecutive).

        ``src``, ``dst`` and ``size_bytes`` are arrays of one value per node (a scalar is
        shared). ``after`` is a sequence of arrays, each naming one predecessor per new
        node (a negative entry: none): the same DAG as :meth:`flow` called per node with
        ``after=[a[i] for a in after if a[i] >= 0]``, edges in the same order, at numpy
        speed (a 1,024-rank ring step is one call, not 1,024).

        >>> w = Workload()
        >>> first = w.flows([0, 1], [1, 2], 4096)
        >>> w.flows([2, 3], [3, 0], [10, 20], after=[first, [-1, 0]]).tolist()
        [2, 3]
        >>> w.arrays()["succ"].tolist(), w.arrays()["n_pred"].tolist()
        ([2, 3, 3], [0, 0, 1, 2])
        """
        self._arrays = self._messages = None
        src = np.asarray(src, dtype=np.int64).ravel()
        n = len(src)
        dst = np.broadcast_to(np.asarray(dst, dtype=np.int64), (n,))
        size = np.broadcast_to(np.asarray(size_bytes, dtype=np.int64), (n,))
        if delay_ps < 0:
            raise ValueError(f"delay_ps must be >= 0, got {delay_ps}")
        if (size < 0).any():
            raise ValueError(f"size_bytes must be >= 0, got {int(size[size < 0][0])}")
        if (src == dst).any():
            raise ValueError(f"a flow needs two hosts, got src = dst = {int(src[src == dst][0])}")
        first = len(self.kind)
        nodes = np.arange(first, first + n, dtype=np.int64)
        if len(after):
            # row-major: node i's predecessors in the order given, node by node (as flow())
            pred = np.stack([np.broadcast_to(np.asarray(a, dtype=np.int64), (n,)) for a in after], axis=1).ravel()
            to = np.repeat(nodes, len(after))
            keep = pred >= 0
            pred, to = pred[keep], to[keep]
            if (pred >= first).any():
                bad = int(np.flatnonzero(pred >= first)[0])
                raise ValueError(f"node {int(to[bad])}: predecessor {int(pred[bad])} does not exist yet "
                                 f"(nodes 0..{first - 1}); add predecessors first")
            self.edges_from.frombytes(pred.tobytes())
            self.edges_to.frombytes(to.tobytes())
        self.kind.frombytes(np.full(n, FLOW, dtype=np.int8).tobytes())
        self.src.frombytes(src.tobytes())
        self.dst.frombytes(np.ascontiguousarray(dst).tobytes())
        self.size.frombytes(np.ascontiguousarray(size).tobytes())
        self.delay.frombytes(np.full(n, delay_ps, dtype=np.int64).tobytes())
        self.tag.frombytes(np.full(n, tag, dtype=np.int64).tobytes())
        return nodes

    def compute(self, gpu: int, duration_ps: int, *, after=(), delay_ps: int = 0, tag: int = 0) -> int:
        """Add a compute node: ``duration_ps`` of work on ``gpu``; return its node id."""
        if duration_ps < 0:
            raise ValueError(f"duration_ps must be >= 0, got {duration_ps}")
        return self._add(COMPUTE, gpu, -1, duration_ps, after, delay_ps, tag)

    def arrays(self) -> dict:
        """The DAG as numpy arrays (``kind, src, dst, size, delay, tag, succ_ptr, succ,
        n_pred``), shared with the DAG (read them, do not write) and kept until it grows:
        the ideal, the estimate and the launch of a million-message DAG each ask."""
        if self._arrays is not None:
            return self._arrays
        n = len(self.kind)
        frm = np.asarray(self.edges_from, dtype=np.int64)
        to = np.asarray(self.edges_to, dtype=np.int64)
        order = np.argsort(frm, kind="stable")
        succ = to[order]
        succ_ptr = np.zeros(n + 1, dtype=np.int64)
        np.cumsum(np.bincount(frm, minlength=n), out=succ_ptr[1:])
        self._arrays = {
            "kind": np.asarray(self.kind, dtype=np.int8), "src": np.asarray(self.src, dtype=np.int64),
            "dst": np.asarray(self.dst, dtype=np.int64), "size": np.asarray(self.size, dtype=np.int64),
            "delay": np.asarray(self.delay, dtype=np.int64), "tag": np.asarray(self.tag, dtype=np.int64),
            "succ_ptr": succ_ptr, "succ": succ,
            "n_pred": np.bincount(to, minlength=n).astype(np.int64),
        }
        return self._arrays

    def distinct_messages(self) -> tuple:
        """``(msg, rows, first, inverse)``: the message nodes that carry bytes, their
        distinct ``(source, destination, size)`` rows (sorted), each row's first message
        (an index into ``msg``) and each message's row; kept until the DAG grows (the
        ideal, the estimate and a training step's baselines each work per row).

        >>> w = Workload()
        >>> _ = w.flows([0, 1, 0], [1, 0, 1], [8, 8, 8]); _ = w.compute(0, 5)
        >>> msg, rows, first, inverse = w.distinct_messages()
        >>> msg.tolist(), rows.tolist(), first.tolist(), inverse.tolist()
        ([0, 1, 2], [[0, 1, 8], [1, 0, 8]], [0, 1], [0, 1, 0])
        """
        if self._messages is None:
            a = self.arrays()
            msg = np.flatnonzero((a["kind"] == FLOW) & (a["size"] > 0))
            self._messages = (msg, *_distinct_rows(a["src"][msg], a["dst"][msg], a["size"][msg]))
        return self._messages

    def launch(self, sim, *, retire: bool = True) -> "WorkloadRun":
        """Start this DAG in ``sim`` (a :class:`~uesim.experiments.Simulation`): roots are
        scheduled now (plus their delay); the rest follow completions during ``sim.run``.

        ``retire`` (default): each flow is retired when its sender finishes
        (:meth:`~uesim.experiments.Simulation.retire`): its result row stays, the object
        is freed, so memory follows the flows in flight. False keeps every flow object
        in ``sim.flow_objs``."""
        from uesim.experiments.simulation import collector_paused
        self._messages = None            # the ideal's and the estimate's: not needed to run
        with collector_paused():         # the roots' flows, all at once in an all-to-all
            return WorkloadRun(self, sim, retire=retire)


class WorkloadRun:
    """A DAG in progress: per-node ``start_ps``/``end_ps`` (-1 until known), ``flow_id``
    (-1 for compute nodes and zero-byte flows) and :attr:`done`.

    The walk itself is compiled (:class:`uesim.protocols.workload.DagWalker`): a flow's
    completion releases its successors without a Python call per node."""

    def __init__(self, workload: Workload, sim, *, retire: bool = True):
        from uesim.protocols.workload import DagWalker
        a = workload.arrays()
        n = len(a["kind"])
        self.sim = sim
        self.kind, self.src, self.dst = a["kind"], a["src"], a["dst"]
        self.size, self.delay, self.tag = a["size"], a["delay"], a["tag"]
        self.n_nodes = n
        if n and sim.built.n_hosts:
            for arr, name in ((self.src, "src"), (self.dst[self.kind == FLOW], "dst")):
                bad = arr[(arr < 0) | (arr >= sim.built.n_hosts)]
                if len(bad):
                    raise ValueError(f"workload: {name} host {int(bad[0])} out of range "
                                     f"0..{sim.built.n_hosts - 1}")
        self._walker = DagWalker(sim.built.sim, sim.built.net, a["kind"], a["src"], a["dst"], a["size"],
                                 a["delay"], a["succ_ptr"], a["succ"], a["n_pred"], sim.new_flow,
                                 sim.retire_flows if retire else None, done_on_rx=workload.done_on == "rx",
                                 spawner=sim.factory.spawner, owner=sim)
        self.start_ps, self.end_ps, self.flow_id = (self._walker.start_ps, self._walker.end_ps,
                                                    self._walker.flow_id)
        self._walker.start()

    @property
    def finished(self) -> int:
        """Nodes finished so far."""
        return self._walker.finished

    @property
    def done(self) -> bool:
        """Whether every node has finished."""
        return self._walker.finished == self.n_nodes

    def unfinished(self) -> np.ndarray:
        """Node ids that have not finished (stuck behind an unfinished flow, say)."""
        return np.flatnonzero(self.end_ps < 0)

    def span_ps(self, tag: int | None = None) -> tuple[int, int]:
        """``(first start, last end)`` over the nodes (with ``tag``, if given)."""
        sel = slice(None) if tag is None else (self.tag == tag)
        return int(self.start_ps[sel].min()), int(self.end_ps[sel].max())

    def columns(self) -> dict:
        """Per-node columns: ``node, kind, src, dst, size, delay_ps, tag, start_ps, end_ps,
        flow_id`` (``size`` is bytes for flows, ps for compute)."""
        return {"node": np.arange(self.n_nodes), "kind": self.kind, "src": self.src, "dst": self.dst,
                "size": self.size, "delay_ps": self.delay, "tag": self.tag,
                "start_ps": self.start_ps, "end_ps": self.end_ps, "flow_id": self.flow_id}

    @property
    def nodes(self):
        """The per-node columns as a pandas DataFrame (``kind`` as names)."""
        import pandas as pd
        df = pd.DataFrame(self.columns())
        df["kind"] = np.asarray(KIND_NAMES)[self.kind]
        return df


def _distinct_rows(a, b, c):
    """The distinct ``(a, b, c)`` triples (int arrays), each one's first index, and per
    row its triple's number: ``np.unique(axis=0)`` with one stable sort.

    >>> u, first, inv = _distinct_rows(np.array([1, 0, 1]), np.array([2, 3, 2]), np.array([5, 5, 5]))
    >>> u.tolist(), first.tolist(), inv.tolist()
    ([[0, 3, 5], [1, 2, 5]], [1, 0], [1, 0, 1])
    """
    order = np.lexsort((c, b, a))
    a_s, b_s, c_s = a[order], b[order], c[order]
    new = np.ones(len(order), dtype=bool)
    new[1:] = (a_s[1:] != a_s[:-1]) | (b_s[1:] != b_s[:-1]) | (c_s[1:] != c_s[:-1])
    group = np.cumsum(new) - 1
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = group
    starts = np.flatnonzero(new)
    first = order[starts]          # lexsort is stable: the first row of each group
    return np.stack([a_s[starts], b_s[starts], c_s[starts]], axis=1), first, inverse
