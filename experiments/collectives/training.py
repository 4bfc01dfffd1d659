"""A training-step model: compute phases and collectives in one DAG, run on the fabric.

One step of data (DP), tensor (TP), pipeline (PP) and expert (EP) parallel training,
GPipe schedule (all micro-batches forward, then all backward):

* GPU ``g = (d * pp + s) * tp + t`` holds TP rank ``t`` of pipeline stage ``s`` of data
  replica ``d`` (TP groups are consecutive GPUs: one scale-up domain when ``tp`` divides
  the domain size).
* Per micro-batch and layer: a forward compute on each GPU of the stage (a GPU runs one
  compute at a time, in program order), then a TP all-reduce of ``tp_bytes`` when
  ``tp > 1``; every ``moe_every``-th layer adds two all-to-alls of ``ep_bytes`` over the
  EP group (``ep`` replicas with the same stage and TP rank). A stage sends
  ``pp_bytes`` of activations to the next stage (forward) and of gradients back.
* Backward mirrors forward (``backward_us`` per layer). Each layer's gradient
  (``grad_bytes_per_layer / tp`` per GPU) is ready after its backward on the last
  micro-batch; gradients fill buckets of ``bucket_bytes`` in backward order, and each
  full bucket starts a DP all-reduce over the replicas that overlaps the remaining
  backward compute (as DDP/FSDP buckets do). The step ends when the last bucket is reduced.

Outputs (:class:`StepResult`): step time; the compute-only step (the same DAG with
free communication); exposed communication = step - compute-only step; GPU idle % (1 -
busy / step, averaged over GPUs); the uncontended step (every message alone on the
fabric: its alpha plus its bytes at the NIC rate); the ideal step (the DAG on a perfect
fabric whose NICs are shared by the messages using them at once,
:func:`~.model.ideal_times`); the endpoint-bound time = ideal - uncontended step (NIC
serialisation beyond the critical path: what no fabric can remove), the NIC-bound time
(the busiest NIC direction's bytes at its rate) and the network stall = step - ideal
step; and their cost per million tokens at ``gpu_hour_usd`` and ``tokens_per_step``.

Examples
--------
>>> from uesim.experiments.collectives.training import TrainingModel, run_training_step
>>> m = TrainingModel(layers=4, forward_us=20.0, dp=4, tp=2, grad_bytes_per_layer=4 << 20,
...                   bucket_bytes=8 << 20, tp_bytes=1 << 20)
>>> r = run_training_step(m, topology="leaf_spine:n_leaves=1,n_spines=1,hosts_per_leaf=8")
>>> r.step_us > r.compute_only_us == 4 * 60.0, 0 < r.gpu_idle_pct < 100
(True, True)
"""
from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from uesim.experiments.collectives.algorithms import compile_collective
from uesim.experiments.simulation import collector_paused
from uesim.experiments.workloads.dag import Workload


@dataclass
class TrainingModel:
    """Parameters of one training step (times in microseconds, sizes in bytes)."""

    layers: int = 8
    forward_us: float = 50.0
    backward_us: float | None = None          # default 2 x forward
    micro_batches: int = 1
    dp: int = 2
    tp: int = 1
    pp: int = 1
    ep: int = 1
    grad_bytes_per_layer: int = 16 << 20
    bucket_bytes: int = 25 << 20
    tp_bytes: int = 0
    pp_bytes: int = 0
    moe_every: int = 0
    ep_bytes: int = 0
    dp_algo: str = "ring"
    tp_algo: str = "ring"
    tokens_per_step: int = 1 << 20
    gpu_hour_usd: float = 2.0

    def __post_init__(self):
        for name in ("layers", "micro_batches", "dp", "tp", "pp", "ep", "bucket_bytes", "tokens_per_step"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 1:
                raise ValueError(f"model.{name} = {v!r}: must be an integer >= 1")
        for name in ("grad_bytes_per_layer", "tp_bytes", "pp_bytes", "moe_every", "ep_bytes"):
            v = getattr(self, name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"model.{name} = {v!r}: must be an integer >= 0")
        for name in ("forward_us", "gpu_hour_usd"):
            v = getattr(self, name)
            if not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0:
                raise ValueError(f"model.{name} = {v!r}: must be a number >= 0")
        if self.backward_us is None:
            self.backward_us = 2.0 * self.forward_us
        if self.layers % self.pp:
            raise ValueError(f"model.layers = {self.layers}: must be a multiple of pp = {self.pp}")
        if self.dp % self.ep:
            raise ValueError(f"model.ep = {self.ep}: must divide dp = {self.dp}")
        for name in ("dp_algo", "tp_algo"):
            if getattr(self, name) not in ("ring", "tree", "hd", "direct"):
                raise ValueError(f"model.{name} = {getattr(self, name)!r}: allowed: ring, tree, hd, direct")

    @property
    def n_gpus(self) -> int:
        return self.dp * self.tp * self.pp

    @classmethod
    def from_toml(cls, path) -> "TrainingModel":
        """Read the ``[model]`` table of a TOML file (unknown keys are errors)."""
        table = tomllib.loads(Path(path).read_text()).get("model", {})
        allowed = [f.name for f in fields(cls)]
        for key in table:
            if key not in allowed:
                raise ValueError(f"unknown key 'model.{key}'; allowed: {', '.join(allowed)}")
        return cls(**table)


@dataclass
class StepResult:
    model: TrainingModel
    step_us: float
    compute_only_us: float
    uncontended_us: float
    gpu_idle_pct: float
    run: object = None
    collectives: list = field(default_factory=list)
    ideal_us: float = 0.0
    nic_bound_us: float = 0.0
    bound_us: float = 0.0                 # the proven lower bound of the step

    def warnings(self) -> list[str]:
        """What makes this step's numbers suspect (empty: none): a step below the proven
        lower bound (a bug), or one that beats the ideal's schedules by more than 2%
        (they are fluid heuristics, not optimal: many collectives sharing NICs can be
        served better than fairly; the stall is then negative and says so)."""
        out = []
        if self.step_us < self.bound_us - 1e-6:
            out.append(f"step {self.step_us:.3f} us below the proven lower bound {self.bound_us:.3f} us")
        elif self.step_us < 0.98 * self.ideal_us:
            out.append(f"step {100 * (1 - self.step_us / self.ideal_us):.1f}% inside the ideal: its fluid "
                       f"schedules are beaten here (the proven bound is {self.bound_us:.1f} us; the step "
                       f"is {self.step_us - self.bound_us:.1f} us above it)")
        return out

    @property
    def exposed_comm_us(self) -> float:
        return self.step_us - self.compute_only_us

    @property
    def endpoint_us(self) -> float:
        """NIC sharing beyond the critical path: ideal step - uncontended step."""
        return self.ideal_us - self.uncontended_us

    @property
    def network_stall_us(self) -> float:
        """What the fabric adds: step - ideal step."""
        return self.step_us - self.ideal_us

    @property
    def main_busbw_gbps(self) -> float | None:
        """Mean bus bandwidth (Gbit/s) of the DP gradient all-reduces (else the kind of
        collective that moves the most bytes), as measured inside the step."""
        if not self.collectives:
            return None
        main = next((c for c in self.collectives if c["kind"] == "dp"), None) \
            or max(self.collectives, key=lambda c: c["bytes"])
        return main["busbw_gbps"]

    def cost_per_million_tokens(self, us: float) -> float:
        """USD per million tokens of ``us`` of whole-cluster time per step."""
        m = self.model
        return us * 1e-6 / 3600 * m.n_gpus * m.gpu_hour_usd / m.tokens_per_step * 1e6

    def summary(self) -> dict:
        return {"gpus": self.model.n_gpus, "step_us": round(self.step_us, 3),
                "compute_only_us": round(self.compute_only_us, 3),
                "exposed_comm_us": round(self.exposed_comm_us, 3),
                "uncontended_us": round(self.uncontended_us, 3),
                "ideal_us": round(self.ideal_us, 3),
                "endpoint_us": round(self.endpoint_us, 3),
                "nic_bound_us": round(self.nic_bound_us, 3),
                "network_stall_us": round(self.network_stall_us, 3),
                "bound_us": round(self.bound_us, 3),
                "warnings": "; ".join(self.warnings()),
                "gpu_idle_pct": round(self.gpu_idle_pct, 3),
                "idle_usd_per_mtok": self.cost_per_million_tokens(self.step_us * self.gpu_idle_pct / 100),
                "stall_usd_per_mtok": self.cost_per_million_tokens(self.network_stall_us),
                "exposed_usd_per_mtok": self.cost_per_million_tokens(self.exposed_comm_us),
                "main_busbw_gbps": self.main_busbw_gbps,
                "collectives": self.collectives,
                "model": asdict(self.model)}


def build_step(m: TrainingModel, hosts: list[int]) -> Workload:
    """The DAG of one step on ``hosts`` (``m.n_gpus`` of them, GPU order as in the module doc)."""
    if len(hosts) < m.n_gpus:
        raise ValueError(f"the model needs dp*tp*pp = {m.n_gpus} GPUs, the topology has {len(hosts)}")
    w = Workload()
    tp, pp, dp = m.tp, m.pp, m.dp
    gpu = lambda d, s, t: hosts[(d * pp + s) * tp + t]   # noqa: E731
    last = {}                                   # host -> its last compute node (program order)
    per_stage = m.layers // pp
    fwd_ps, bwd_ps = int(m.forward_us * 1e6), int(m.backward_us * 1e6)

    def compute(h, dur, deps):
        node = w.compute(h, dur, after=([last[h]] if h in last else []) + deps)
        last[h] = node
        return node

    w.collectives = []                          # (label, op, ranks, bytes, first node, end node)

    def collective(op, members, size, deps, algo="ring", label="tp"):
        if len(members) < 2 or size == 0:
            return deps
        lo = len(w)
        c = compile_collective(op, members, size, algo, workload=w, ready=deps)
        w.collectives.append((label, op, len(members), int(size), lo, len(w)))
        return [[x] for x in c.done]

    def send(a, b, deps):
        f = w.flow(a, b, m.pp_bytes, after=deps)
        if m.pp_bytes:
            w.collectives.append(("pp", "send_recv", 2, int(m.pp_bytes), f, f + 1))
        return f

    def layer(d_list, s, mb, li, dur):
        """One layer on stage s for replicas d_list; deps per (d, t) in `state`."""
        for d in d_list:
            nodes = [compute(gpu(d, s, t), dur, state[(d, t)]) for t in range(tp)]
            done = collective("all_reduce", [gpu(d, s, t) for t in range(tp)], m.tp_bytes,
                              [[x] for x in nodes], m.tp_algo) if tp > 1 and m.tp_bytes else [[x] for x in nodes]
            for t in range(tp):
                state[(d, t)] = done[t]
        if m.moe_every and m.ep > 1 and (li + 1) % m.moe_every == 0 and m.ep_bytes:
            for t in range(tp):
                for g0 in range(0, dp, m.ep):
                    grp = list(range(g0, g0 + m.ep))
                    deps = [state[(d, t)] for d in grp]
                    for _ in range(2):                 # dispatch and combine
                        deps = collective("all_to_all", [gpu(d, s, t) for d in grp], m.ep_bytes, deps, "direct",
                                          label="ep")
                    for d, dep in zip(grp, deps):
                        state[(d, t)] = dep

    replicas = list(range(dp))
    # forward, GPipe: stage by stage per micro-batch
    act = {}                                    # (mb, s, d, t) -> deps arriving at stage s
    for mb in range(m.micro_batches):
        for s in range(pp):
            state = {(d, t): act.get((mb, s, d, t), []) for d in replicas for t in range(tp)}
            for li in range(s * per_stage, (s + 1) * per_stage):
                layer(replicas, s, mb, li, fwd_ps)
            if s + 1 < pp:
                for d in replicas:
                    for t in range(tp):
                        f = send(gpu(d, s, t), gpu(d, s + 1, t), state[(d, t)])
                        act[(mb, s + 1, d, t)] = [f]
    # backward, last stage first; gradient buckets after the last micro-batch
    grad = {}
    buckets = []                                # (stage, bytes, deps per (d, t))
    for mb in range(m.micro_batches):
        for s in range(pp - 1, -1, -1):
            state = {(d, t): grad.get((mb, s, d, t), []) for d in replicas for t in range(tp)}
            pending, pending_bytes = None, 0
            for li in range((s + 1) * per_stage - 1, s * per_stage - 1, -1):
                layer(replicas, s, mb, li, bwd_ps)
                if mb == m.micro_batches - 1 and dp > 1 and m.grad_bytes_per_layer:
                    pending = {(d, t): [last[gpu(d, s, t)]] for d in replicas for t in range(tp)}
                    pending_bytes += m.grad_bytes_per_layer // tp
                    if pending_bytes >= m.bucket_bytes or li == s * per_stage:
                        buckets.append((s, pending_bytes, pending))
                        for t in range(tp):     # start this bucket's DP all-reduce now
                            collective("all_reduce", [gpu(d, s, t) for d in replicas], pending_bytes,
                                       [pending[(d, t)] for d in replicas], m.dp_algo, label="dp")
                        pending, pending_bytes = None, 0
            if s > 0:
                for d in replicas:
                    for t in range(tp):
                        f = send(gpu(d, s, t), gpu(d, s - 1, t), state[(d, t)])
                        grad[(mb, s - 1, d, t)] = [f]
    return w


def _longest_paths(arrays: dict, own: np.ndarray, lo, hi) -> list[int]:
    """Longest path (ps) through each node range ``lo[i] .. hi[i]-1`` of a DAG's
    ``arrays`` (edges from outside a range are ignored) when node v takes ``own[v]``
    after its delay; exact integers (every sum stays far below 2**53 ps)."""
    from uesim.fabric.fluid import range_longest
    out = range_longest(arrays["succ_ptr"], arrays["succ"], own.astype(np.float64), arrays["delay"],
                        np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64))
    return [int(x) for x in out]


def _alone_ps(w: Workload, pm) -> np.ndarray:
    """Per node of ``w``, a message's time alone on an idle fabric (its latency plus its
    wire bytes at the slower NIC, rounded up to a ps); 0 for compute and zero-byte nodes.
    Worked out once per distinct (source, destination, size)."""
    out = np.zeros(len(w), dtype=np.int64)
    msg, uniq, _, inverse = w.distinct_messages()
    if len(msg):
        per = np.empty(len(uniq), dtype=np.int64)
        for u, (a, b, m) in enumerate(uniq.tolist()):
            fab = pm.fabric_of(a, b)
            rate = min(pm.nic_rate_bps(a, fab), pm.nic_rate_bps(b, fab))
            per[u] = pm.alpha_ps(a, b, m) + -(-8 * pm.wire_bytes(m) * 10**12 // rate)
        out[msg] = per[inverse]
    return out


@dataclass
class PreparedStep:
    """One step's DAG on its GPUs with its compute-only and uncontended lengths (ps), ready
    to :meth:`launch` in a simulation (alone or next to other jobs)."""

    model: TrainingModel
    hosts: list
    workload: Workload
    compute_only_ps: int
    uncontended_ps: int
    alone_ps: np.ndarray = None                 # per node: a message's time alone on the fabric
    ideal_ps: int = 0                           # the step on a perfect fabric, NICs shared
    nic_bound_ps: int = 0                       # the busiest NIC direction's bytes at its rate
    bound_ps: int = 0                           # proven lower bound (critical path, per-NIC Jackson)

    def launch(self, sim):
        """Start the DAG now; returns ``(run, t0)`` for :meth:`measure`."""
        return self.workload.launch(sim), sim.now_ps

    def measure(self, run, t0: int, n_hosts: int) -> "StepResult":
        """The :class:`StepResult` of a finished run."""
        m, w = self.model, self.workload
        if not run.done:
            raise RuntimeError(f"the step did not finish: {len(run.unfinished())} nodes left")
        step = int(run.end_ps.max()) - t0
        busy = np.zeros(n_hosts)
        comp = np.asarray(w.kind) == 1
        np.add.at(busy, np.asarray(w.src)[comp], np.asarray(w.size)[comp])
        used = busy[np.asarray(sorted(set(self.hosts[:m.n_gpus])))]
        idle = 100.0 * float(np.mean(1 - used / step)) if step else 0.0
        return StepResult(m, step / 1e6, self.compute_only_ps / 1e6, self.uncontended_ps / 1e6, idle, run,
                          collectives=self.breakdown(run), ideal_us=self.ideal_ps / 1e6,
                          nic_bound_us=self.nic_bound_ps / 1e6, bound_us=self.bound_ps / 1e6)

    def breakdown(self, run) -> list[dict]:
        """Per kind of collective (``tp``, ``dp``, ``ep``, ``pp``): how many, bytes (per-rank
        buffers, summed), total and mean duration (first start to last arrival of each
        instance), the same instances alone on an idle fabric, and the mean bus bandwidth
        (Gbit/s, nccl-tests factor)."""
        from uesim.experiments.collectives.algorithms import BUSBW_FACTOR
        rows = {}
        colls = self.workload.collectives
        a = self.workload.arrays()
        own = np.where(a["kind"] == 1, a["size"], 0) + self.alone_ps
        alone_of = _longest_paths(a, own, [c[4] for c in colls], [c[5] for c in colls])
        for (label, op, n, size, lo, hi), alone in zip(colls, alone_of):
            t = int(run.end_ps[lo:hi].max() - run.start_ps[lo:hi].min())
            r = rows.setdefault(label, {"kind": label, "op": op, "ranks": n, "count": 0, "bytes": 0,
                                        "time_us": 0.0, "alone_us": 0.0, "_bw": []})
            r["count"] += 1
            r["bytes"] += size
            r["time_us"] += t / 1e6
            r["alone_us"] += alone / 1e6
            if t > 0:
                r["_bw"].append(8e3 * size / t * BUSBW_FACTOR[op](n))
        out = []
        for label in ("tp", "ep", "pp", "dp"):
            if label in rows:
                r = rows[label]
                bw = r.pop("_bw")
                r["mean_us"] = r["time_us"] / r["count"]
                r["stall_us"] = r["time_us"] - r["alone_us"]
                r["busbw_gbps"] = float(np.mean(bw)) if bw else float("nan")
                out.append({k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items()})
        return out


def prepare_step(m: TrainingModel, sim, hosts: list[int], on_built=None) -> PreparedStep:
    """Build the step's DAG on ``hosts`` of ``sim``'s fabric and its ideal lengths
    (``on_built(sim, workload)`` is called once the DAG is built, before the ideal)."""
    from uesim.experiments.collectives.model import ideal_in, path_model
    w = build_step(m, hosts)
    if on_built is not None:
        on_built(sim, w)
    pm = path_model(sim)
    a = w.arrays()
    alone = _alone_ps(w, pm)
    compute = np.where(a["kind"] == 1, a["size"], 0)           # alone is 0 on compute nodes
    (compute_only,), (uncontended,) = (_longest_paths(a, own, [0], [len(w)]) for own in (compute, compute + alone))
    ideal = ideal_in(sim, w, pm)
    return PreparedStep(m, list(hosts), w, compute_only, uncontended, alone,
                        ideal_ps=ideal["total_ps"], nic_bound_ps=ideal["nic_bound_ps"],
                        bound_ps=ideal["bound_ps"])


def run_training_step(m: TrainingModel, *, sim=None, topology=None, transport=None, fabric=None,
                      seed: int = 0, placement: str = "sequential", hosts=None, on_built=None,
                      progress=None) -> StepResult:
    """Build one step's DAG on the topology's GPUs, run it, and measure it.

    ``hosts`` (GPU indices, one per rank in the module doc's order) overrides ``placement``;
    ``on_built(sim, workload)`` is called once the DAG is built (before its ideal and its
    run); ``progress(now_ps, events)`` during the run.
    """
    from uesim.experiments.collectives.comm import place_ranks
    from uesim.experiments.collectives.runner import DEFAULT_TRANSPORT
    from uesim.experiments.simulation import Simulation
    if sim is None:
        sim = Simulation(topology, transport=transport or DEFAULT_TRANSPORT, fabric=fabric, seed=seed)
    if hosts is None:
        hosts = place_ranks(sim.graph, min(m.n_gpus, sim.n_hosts), placement, seed=seed)
    prep = prepare_step(m, sim, hosts, on_built)
    with collector_paused():      # one pause: the launch's flows are retired before it ends
        run, t0 = prep.launch(sim)
        sim.run(progress=progress)
    return prep.measure(run, t0, sim.n_hosts)
