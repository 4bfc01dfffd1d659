"""Collective algorithms compiled to workload DAGs.

Every algorithm is written as rank-level sends: a flow node ``src rank -> dst rank`` of
some bytes that starts when the data it carries has arrived (``after`` = the receive
nodes it depends on). Each flow node also gets a **round**: its step in the lock-step
schedule of the algorithm (ring step + pipeline slice, tree level + slice, ...), which
the alpha-beta model (:mod:`.model`) uses for the ideal time. Phases (the scale-up
reduce-scatter of a hierarchical all-reduce, say) are consecutive blocks of rounds.

Composition: each primitive takes ``ready[i]`` (node ids member ``i`` must wait for
before sending) and returns ``done[i]`` (a zero-length compute node per member that
finishes when every byte the member receives has arrived), so phases chain per rank,
as NCCL's do, without a global barrier.

Data sizes follow nccl-tests: ``size_bytes`` is the per-rank buffer of all-reduce,
broadcast, reduce and send/recv, and the total (all ranks') buffer of reduce-scatter,
all-gather and all-to-all. ``channels`` splits the data over parallel copies of the
algorithm (NCCL channels: concurrent flows between the same GPUs); ``chunks`` splits
each channel's data into slices pipelined through ring steps and tree levels.
"""
from __future__ import annotations

from array import array
from dataclasses import dataclass, field

import numpy as np

from uesim.experiments.workloads.dag import Workload

OPS = ("all_reduce", "reduce_scatter", "all_gather", "all_to_all", "broadcast", "reduce", "send_recv")
ALGOS = ("ring", "tree", "hd", "direct", "hier")
#: algorithms available per operation (the first is the default)
OP_ALGOS = {
    "all_reduce": ("ring", "tree", "hd", "direct", "hier"),
    "reduce_scatter": ("ring", "hd", "direct"),
    "all_gather": ("ring", "hd", "direct"),
    "all_to_all": ("direct",),
    "broadcast": ("ring", "tree"),
    "reduce": ("ring", "tree"),
    "send_recv": ("direct",),
}
#: nccl-tests bus-bandwidth factor as a function of the rank count
BUSBW_FACTOR = {
    "all_reduce": lambda n: 2 * (n - 1) / n,
    "reduce_scatter": lambda n: (n - 1) / n,
    "all_gather": lambda n: (n - 1) / n,
    "all_to_all": lambda n: (n - 1) / n,
    "broadcast": lambda n: 1.0,
    "reduce": lambda n: 1.0,
    "send_recv": lambda n: 1.0,
}


@dataclass
class Compiled:
    """A collective as a DAG: the workload, each flow node's round, phase names and
    the first round of each phase, and the per-rank completion nodes."""

    workload: Workload
    round_of: array = field(default_factory=lambda: array("q"))   # per node from first_node: round, -1 if none
    phases: list = field(default_factory=list)       # (name, first round)
    done: list = field(default_factory=list)
    n_rounds: int = 0
    first_node: int = 0          # the workload's size when this collective was added to it

    def node_rounds(self) -> np.ndarray:
        """Round of every node of the workload (-1 for compute nodes, nodes of other
        collectives and nodes added later)."""
        out = np.full(len(self.workload), -1, dtype=np.int64)
        ro = np.frombuffer(self.round_of, dtype=np.int64) if len(self.round_of) else np.zeros(0, np.int64)
        out[self.first_node:self.first_node + len(ro)] = ro
        return out


class _Builder:
    def __init__(self, hosts: list[int], channels: int, chunks: int, workload=None):
        self.w = Workload() if workload is None else workload
        self.c = Compiled(self.w, first_node=len(self.w))
        self.hosts = hosts
        self.host_of = np.asarray(hosts, dtype=np.int64)
        self.channels, self.chunks = channels, chunks

    def phase(self, name: str) -> int:
        """Start a phase; return its first round."""
        self.c.phases.append((name, self.c.n_rounds))
        return self.c.n_rounds

    def send(self, a: int, b: int, size: int, after, rnd: int) -> int:
        """Flow node rank ``a`` -> rank ``b`` (ranks of the communicator)."""
        node = self.w.flow(self.hosts[a], self.hosts[b], size, after=after)
        self._rounds(node, 1, rnd)
        return node

    def send_many(self, a, b, size: int, after, rnd: int) -> np.ndarray:
        """Flow nodes rank ``a[i]`` -> rank ``b[i]`` (int arrays), all of round ``rnd``:
        :meth:`send` per pair in one call (``after``: arrays of one predecessor per pair,
        -1 for none)."""
        nodes = self.w.flows(self.host_of[a], self.host_of[b], size, after=after)
        if len(nodes):
            self._rounds(int(nodes[0]), len(nodes), rnd)
        return nodes

    def _rounds(self, first: int, count: int, rnd: int) -> None:
        """Give ``count`` nodes from ``first`` round ``rnd`` (the nodes since the last
        message: -1, not messages of a round)."""
        ro = self.c.round_of
        gap = first - self.c.first_node - len(ro)
        if gap > 0:
            ro.extend(array("q", [-1]) * gap)
        ro.extend(array("q", [rnd]) * count)
        self.c.n_rounds = max(self.c.n_rounds, rnd + 1)

    def join(self, members, received) -> list[int]:
        """Per member a zero-time node after everything it received (``received[i]``)."""
        return [self.w.compute(self.hosts[m], 0, after=received[i]) for i, m in enumerate(members)]

    def split(self, size: int, parts: int) -> list[int]:
        q, r = divmod(size, parts)
        return [q + (1 if i < r else 0) for i in range(parts)]

    # -- primitives over a list of member ranks -------------------------------------------
    def ring(self, members, piece: int, steps: int, ready) -> list[int]:
        """``steps`` ring steps: member i sends a ``piece``-byte message to member i+1 per
        step, channel and slice; step k needs step k-1 of member i-1 received."""
        n = len(members)
        r0 = self.c.n_rounds
        mem = np.asarray(members, dtype=np.int64)
        nxt = np.roll(mem, -1)
        sent = []                                   # per step: the node of each member
        for ch_bytes in self.split(piece, self.channels):
            last = [None] * steps                   # the previous slice's nodes per step
            for j, m in enumerate(self.split(ch_bytes, self.chunks)):
                prev = None
                for k in range(steps):
                    if k == 0:                      # after what each member was ready on
                        cur = np.empty(n, dtype=np.int64)
                        for i in range(n):
                            after = list(ready[i])
                            if last[0] is not None:  # slices leave a GPU in order
                                after.append(int(last[0][i]))
                            cur[i] = self.send(members[i], members[(i + 1) % n], m, after, r0 + j)
                    else:                           # after member i-1's previous step
                        after = [np.roll(prev, 1)] if last[k] is None else [np.roll(prev, 1), last[k]]
                        cur = self.send_many(mem, nxt, m, after, r0 + k + j)
                    sent.append(cur)
                    prev = last[k] = cur
        return self.join(members, _received(np.tile(np.arange(1, n + 1) % n, len(sent)),
                                            np.concatenate(sent) if sent else sent, n))

    def chain(self, members, size: int, ready) -> list[int]:
        """Pipeline along members[0] -> members[1] -> ... (ring broadcast / reduce)."""
        n = len(members)
        r0 = self.c.n_rounds
        received = [[] for _ in range(n)]
        for ch_bytes in self.split(size, self.channels):
            last = [None] * n
            for j, m in enumerate(self.split(ch_bytes, self.chunks)):
                prev = None
                for i in range(n - 1):
                    after = ready[i] if prev is None else [prev] + ready[i]
                    if last[i] is not None:                 # slices leave a GPU in order
                        after = after + [last[i]]
                    prev = last[i] = self.send(members[i], members[i + 1], m, after, r0 + i + j)
                    received[i + 1].append(prev)
        return self.join(members, received)

    def halving_doubling(self, members, size: int, ready, halving: bool) -> list[int]:
        """Recursive halving (reduce-scatter: distances n/2 .. 1, halving the data) or
        recursive doubling (all-gather: distances 1 .. n/2, doubling it); ``size`` is
        the whole buffer."""
        n = len(members)
        if n & (n - 1):
            raise ValueError(f"algorithm 'hd' needs a power-of-two number of ranks, got {n}; "
                             f"use ring, tree or direct")
        levels = n.bit_length() - 1
        r0 = self.c.n_rounds
        received = [[] for _ in range(n)]
        for ch_bytes in self.split(size, self.channels):
            got = [list(ready[i]) for i in range(n)]
            for lv in range(levels):
                dist = (n >> (lv + 1)) if halving else (1 << lv)
                part = ch_bytes >> (lv + 1) if halving else (ch_bytes // n) << lv
                new = [None] * n
                for i in range(n):
                    new[i] = self.send(members[i], members[i ^ dist], part, list(got[i]), r0 + lv)
                for i in range(n):
                    got[i ^ dist].append(new[i])
                    received[i ^ dist].append(new[i])
        return self.join(members, received)

    def direct(self, members, piece: int, ready) -> list[int]:
        """Every member sends ``piece`` bytes to every other member at once."""
        n = len(members)
        r0 = self.c.n_rounds
        mem = np.asarray(members, dtype=np.int64)
        targets, nodes = [], []
        for ch_bytes in self.split(piece, self.channels):
            for i in range(n):
                t = (i + np.arange(1, n)) % n
                after = [np.full(n - 1, p, dtype=np.int64) for p in ready[i]]
                nodes.append(self.send_many(np.full(n - 1, members[i], dtype=np.int64), mem[t],
                                            ch_bytes, after, r0))
                targets.append(t)
        if not nodes:
            return self.join(members, [[] for _ in range(n)])
        return self.join(members, _received(np.concatenate(targets), np.concatenate(nodes), n))

    def tree(self, members, size: int, ready, up: bool, down: bool, double: bool) -> list[int]:
        """Binary tree(s) over members (heap order; the second tree of a double binary
        tree mirrors the first so that one tree's inner ranks are the other's leaves);
        ``up`` reduces to the root, ``down`` broadcasts from it; slices pipeline."""
        n = len(members)
        trees = [list(range(n))] + ([list(range(n - 1, -1, -1))] if double and n > 2 else [])
        height = [0] * n                    # by heap position
        for p in range(n - 1, -1, -1):
            kids = [c for c in (2 * p + 1, 2 * p + 2) if c < n]
            height[p] = 1 + max(height[c] for c in kids) if kids else 0
        depth = [0] * n
        for p in range(1, n):
            depth[p] = depth[(p - 1) // 2] + 1
        H = height[0]
        r0 = self.c.n_rounds
        received = [[] for _ in range(n)]
        for t_bytes in self.split(size, len(trees)):
            for ch_bytes in self.split(t_bytes, self.channels):
                for tree in trees:       # tree[p] = member index at heap position p
                    last_up, last_down = [None] * n, [None] * n    # previous slice, in order
                    for j, m in enumerate(self.split(ch_bytes, self.chunks)):
                        upnode = [None] * n
                        if up:
                            for p in range(n - 1, 0, -1):
                                kids = [upnode[c] for c in (2 * p + 1, 2 * p + 2) if c < n]
                                i = tree[p]
                                order = [last_up[p]] if last_up[p] is not None else []
                                upnode[p] = last_up[p] = self.send(
                                    members[i], members[tree[(p - 1) // 2]], m, kids + ready[i] + order,
                                    r0 + j + height[p] - 1)
                                received[tree[(p - 1) // 2]].append(upnode[p])
                        if down:
                            base = r0 + j + (H if up else 0)
                            root_after = [upnode[c] for c in (1, 2) if c < n and upnode[c] is not None]
                            root_after += ready[tree[0]]
                            downnode = [None] * n
                            for p in range(1, n):
                                par = (p - 1) // 2
                                after = list(root_after) if par == 0 else [downnode[par]]
                                if last_down[p] is not None:
                                    after.append(last_down[p])
                                downnode[p] = last_down[p] = self.send(
                                    members[tree[par]], members[tree[p]], m, after, base + depth[p] - 1)
                                received[tree[p]].append(downnode[p])
        return self.join(members, received)


def compile_collective(op: str, hosts: list[int], size_bytes: int, algo: str | None = None, *,
                       channels: int = 1, chunks: int = 1, root: int = 0,
                       domains: list | None = None, inter_algo: str = "ring",
                       workload: Workload | None = None, ready: list | None = None) -> Compiled:
    """Compile one collective over ranks placed on ``hosts`` into a workload DAG.

    Parameters
    ----------
    op : str
        One of :data:`OPS`.
    hosts : list of int
        Host index of each rank.
    size_bytes : int
        Buffer size, nccl-tests convention (see the module docstring).
    algo : str, optional
        One of ``OP_ALGOS[op]`` (default: the first).
    channels, chunks : int
        Parallel channels and pipelined slices per channel (>= 1).
    root : int
        Root rank of broadcast and reduce.
    domains : list, optional
        Scale-up domain of each rank (``hier`` only; ranks of a domain must be equally
        many in every domain).
    inter_algo : str
        ``hier``: the scale-out all-reduce algorithm (ring, tree, hd or direct).
    workload : Workload, optional
        Add the collective to this workload (a training step, say) instead of a new one.
    ready : list of lists, optional
        ``ready[r]``: node ids rank ``r`` waits for before it starts (default: none).

    Examples
    --------
    >>> c = compile_collective("all_reduce", [0, 1, 2, 3], 4096, "ring")
    >>> len(c.workload), c.n_rounds          # 4 ranks x 6 steps + 4 joins; 2(n-1) rounds
    (28, 6)
    >>> compile_collective("all_to_all", [0, 1], 64, "ring")
    Traceback (most recent call last):
    ...
    ValueError: algo = 'ring' for all_to_all: allowed: direct
    """
    if op not in OPS:
        raise ValueError(f"op = {op!r}: allowed: {', '.join(OPS)}")
    algo = algo or OP_ALGOS[op][0]
    if algo not in OP_ALGOS[op]:
        raise ValueError(f"algo = {algo!r} for {op}: allowed: {', '.join(OP_ALGOS[op])}")
    for name, v in (("channels", channels), ("chunks", chunks)):
        if int(v) < 1:
            raise ValueError(f"{name} = {v!r}: must be an integer >= 1")
    if size_bytes < 0:
        raise ValueError(f"size_bytes = {size_bytes}: must be >= 0")
    n = len(hosts)
    if n < 2:
        raise ValueError(f"a collective needs at least 2 ranks, got {n}")
    if not 0 <= root < n:
        raise ValueError(f"root = {root}: must be a rank 0..{n - 1}")
    b = _Builder(list(hosts), int(channels), int(chunks), workload)
    ranks = list(range(n))
    if ready is None:
        ready = [[] for _ in ranks]
    elif len(ready) != n:
        raise ValueError(f"ready has {len(ready)} entries for {n} ranks")
    else:
        ready = [list(x) for x in ready]
    S = int(size_bytes)
    if algo == "hier":
        b.c.done = _hier(b, S, domains, inter_algo, ready)
    elif op in ("all_reduce", "reduce_scatter", "all_gather"):
        b.phase(algo)
        if algo == "ring":
            steps = {"all_reduce": 2 * (n - 1), "reduce_scatter": n - 1, "all_gather": n - 1}[op]
            b.c.done = b.ring(ranks, S // n, steps, ready)
        elif algo == "hd":
            if op in ("all_reduce", "reduce_scatter"):
                ready = b.halving_doubling(ranks, S, ready, halving=True)
                ready = [[x] for x in ready]
            if op in ("all_reduce", "all_gather"):
                if op == "all_reduce":
                    b.phase("hd-allgather")
                ready = [[x] for x in b.halving_doubling(ranks, S, ready, halving=False)]
            b.c.done = [r[0] for r in ready]
        elif algo == "direct":
            if op in ("all_reduce", "reduce_scatter"):
                ready = [[x] for x in b.direct(ranks, S // n, ready)]
            if op in ("all_reduce", "all_gather"):
                if op == "all_reduce":
                    b.phase("direct-allgather")
                ready = [[x] for x in b.direct(ranks, S // n, ready)]
            b.c.done = [r[0] for r in ready]
        else:   # tree all-reduce
            b.c.done = b.tree(ranks, S, ready, up=True, down=True, double=True)
    elif op == "all_to_all":
        b.phase("direct")
        b.c.done = b.direct(ranks, S // n, ready)
    elif op == "send_recv":
        b.phase("direct")
        received = [[] for _ in ranks]
        for ch in b.split(S, b.channels):
            for piece in b.split(ch, b.chunks):
                for i in ranks:
                    received[(i + 1) % n].append(b.send(i, (i + 1) % n, piece, ready[i], 0))
        b.c.done = b.join(ranks, received)
    else:   # broadcast / reduce from/to root
        b.phase(algo)
        if algo == "ring":
            order = [(root + i) % n for i in range(n)]
            if op == "reduce":
                order = order[1:] + order[:1]
            done = b.chain(order, S, ready)
            b.c.done = [done[order.index(r)] for r in ranks]
        else:
            order = [(root + i) % n for i in range(n)]
            done = b.tree(order, S, ready, up=op == "reduce", down=op == "broadcast", double=False)
            b.c.done = [done[order.index(r)] for r in ranks]
    return b.c


def _hier(b: _Builder, S: int, domains, inter_algo: str, ready) -> list[int]:
    """Hierarchical all-reduce: ring reduce-scatter inside each scale-up domain, an
    all-reduce of each 1/g slice across domains (one group per local index), ring
    all-gather inside each domain."""
    n = len(b.hosts)
    if domains is None or any(d is None for d in domains):
        raise ValueError("algo 'hier' needs a scale-up domain per rank (a hybrid topology whose GPUs "
                         "carry 'scaleup_domain' or 'server')")
    groups: dict = {}
    for r, d in enumerate(domains):
        groups.setdefault(d, []).append(r)
    local = list(groups.values())
    g = len(local[0])
    if any(len(x) != g for x in local):
        raise ValueError("algo 'hier' needs the same number of ranks in every scale-up domain, got "
                         + ", ".join(str(len(x)) for x in local))
    if inter_algo not in ("ring", "tree", "hd", "direct"):
        raise ValueError(f"inter_algo = {inter_algo!r}: allowed: ring, tree, hd, direct")

    def per_domain(fn):
        out = [None] * n
        for members in local:
            for r, node in zip(members, fn(members)):
                out[r] = [node]
        return out

    if g > 1:
        b.phase("scale-up reduce-scatter")
        ready = per_domain(lambda m: b.ring(m, S // g, g - 1, [ready[r] for r in m]))
    if len(local) > 1:
        b.phase(f"scale-out all-reduce ({inter_algo})")
        r0 = b.c.n_rounds
        out = [None] * n
        for i in range(g):
            members = [x[i] for x in local]
            b.c.n_rounds = r0           # the g groups run side by side, in the same rounds
            rd = [ready[r] for r in members]
            piece = S // g
            k = len(members)
            if inter_algo == "ring":
                done = b.ring(members, piece // k, 2 * (k - 1), rd)
            elif inter_algo == "hd":
                d1 = b.halving_doubling(members, piece, rd, halving=True)
                done = b.halving_doubling(members, piece, [[x] for x in d1], halving=False)
            elif inter_algo == "direct":
                d1 = b.direct(members, piece // k, rd)
                done = b.direct(members, piece // k, [[x] for x in d1])
            else:
                done = b.tree(members, piece, rd, up=True, down=True, double=True)
            for r, node in zip(members, done):
                out[r] = [node]
        ready = out
    if g > 1:
        b.phase("scale-up all-gather")
        ready = per_domain(lambda m: b.ring(m, S // g, g - 1, [ready[r] for r in m]))
    return [r[0] for r in ready]


def _received(targets: np.ndarray, nodes: np.ndarray, n: int) -> list[np.ndarray]:
    """Per member ``0..n-1`` the nodes it receives (``nodes[i]`` goes to member
    ``targets[i]``), each member's in the order given.

    >>> [a.tolist() for a in _received(np.array([1, 0, 1]), np.array([7, 8, 9]), 3)]
    [[8], [7, 9], []]
    """
    if not len(nodes):
        return [np.zeros(0, dtype=np.int64) for _ in range(n)]
    order = np.argsort(targets, kind="stable")
    cuts = np.cumsum(np.bincount(targets, minlength=n))[:-1]
    return np.split(np.asarray(nodes, dtype=np.int64)[order], cuts)
