"""Several training jobs on one fabric: each job's step alone and next to the others.

Each job is a :class:`~uesim.experiments.collectives.training.TrainingModel` on its own
GPUs (its own communicators). :func:`place_jobs` lays the jobs' GPUs out on the
topology: ``separated`` (each job on a contiguous block of GPUs, i.e. its own leaves or
pods when it fills them), ``interleaved`` (GPUs dealt to the jobs in turn, so every
job spans every switch) or ``random`` (a seeded permutation). :func:`run_jobs` runs
every job alone (a fresh simulation of the same fabric, the job on the same GPUs) and
all jobs together in one :class:`~uesim.experiments.Simulation`, starting at the same
time; the slowdown of a job is its shared step time over its step time alone.

Examples
--------
>>> from uesim.experiments.collectives import TrainingModel
>>> from uesim.experiments.collectives.jobs import place_jobs, run_jobs
>>> from uesim.topologies import parse_topology_spec
>>> G = parse_topology_spec("leaf_spine:n_leaves=2,n_spines=1,hosts_per_leaf=4")
>>> place_jobs(G, [4, 4], "separated"), place_jobs(G, [4, 4], "interleaved")
([[0, 1, 2, 3], [4, 5, 6, 7]], [[0, 2, 4, 6], [1, 3, 5, 7]])
>>> m = TrainingModel(layers=2, forward_us=10.0, dp=4, grad_bytes_per_layer=1 << 20, bucket_bytes=1 << 20)
>>> res = run_jobs([m, m], topology=G, placement="interleaved")
>>> [r["name"] for r in res], all(r["shared"].step_us >= r["alone"].step_us for r in res)
(['job0', 'job1'], True)
"""
from __future__ import annotations

import numpy as np

from uesim.experiments.simulation import collector_paused

JOB_PLACEMENTS = ("separated", "interleaved", "random")


def place_jobs(G, sizes: list[int], placement: str = "separated", seed: int = 0) -> list[list[int]]:
    """Host indices of each job (``sizes[j]`` GPUs for job ``j``), no GPU twice.

    Parameters
    ----------
    G : networkx.Graph
        The topology (its ``kind == "gpu"`` nodes, in order, are the host indices).
    sizes : list of int
        GPUs per job.
    placement : {"separated", "interleaved", "random"}
        ``separated``: job 0 on the first GPUs, job 1 on the next, ...; ``interleaved``:
        GPUs dealt round robin to the jobs that still need some; ``random``: a
        permutation drawn from ``seed``, then cut in order.
    """
    if placement not in JOB_PLACEMENTS:
        raise ValueError(f"placement = {placement!r}: allowed: {', '.join(JOB_PLACEMENTS)}")
    n_hosts = sum(1 for _, k in G.nodes(data="kind") if k == "gpu")
    if sum(sizes) > n_hosts:
        raise ValueError(f"the jobs need {sum(sizes)} GPUs ({' + '.join(map(str, sizes))}), "
                         f"the topology has {n_hosts}")
    if placement == "interleaved":
        out = [[] for _ in sizes]
        h = 0
        while h < sum(sizes):
            for j, n in enumerate(sizes):
                if len(out[j]) < n:
                    out[j].append(h)
                    h += 1
        return out
    order = list(range(n_hosts))
    if placement == "random":
        order = [int(x) for x in np.random.default_rng(seed).permutation(n_hosts)]
    out, i = [], 0
    for n in sizes:
        out.append(order[i:i + n])
        i += n
    return out


def run_jobs(models, *, topology, transport=None, fabric=None, seed: int = 0,
             placement: str = "separated", hosts=None, names=None) -> list[dict]:
    """Run each job alone and all together; one dict per job.

    Parameters
    ----------
    models : list of TrainingModel
        One per job.
    topology : networkx.Graph, str or dict
        The shared fabric.
    transport, fabric : dict, optional
        Scenario ``[transport]`` and ``[fabric]`` tables (default: UET/NSCC/oblivious).
    seed : int
        Scenario seed (and the random placement's).
    placement : {"separated", "interleaved", "random"}
        See :func:`place_jobs`; ``hosts`` (a host list per job) overrides it.
    names : list of str, optional
        Job names (default ``job0``, ``job1``, ...).

    Returns
    -------
    list of dict
        ``name, hosts, alone, shared`` (:class:`StepResult`) and ``slowdown`` (shared
        step over alone step).
    """
    from uesim.experiments.collectives.runner import DEFAULT_TRANSPORT
    from uesim.experiments.collectives.training import prepare_step, run_training_step
    from uesim.experiments.simulation import Simulation
    models = list(models)
    if not models:
        raise ValueError("run_jobs needs at least one job")
    names = list(names) if names is not None else [f"job{j}" for j in range(len(models))]
    transport = transport or DEFAULT_TRANSPORT
    sim = Simulation(topology, transport=transport, fabric=fabric, seed=seed)
    if hosts is None:
        hosts = place_jobs(sim.graph, [m.n_gpus for m in models], placement, seed=seed)
    preps = [prepare_step(m, sim, h) for m, h in zip(models, hosts)]
    with collector_paused():      # one pause: the launch's flows are retired before it ends
        launched = [p.launch(sim) for p in preps]
        sim.run()
    shared = [p.measure(run, t0, sim.n_hosts) for p, (run, t0) in zip(preps, launched)]
    out = []
    for name, m, h, s in zip(names, models, hosts, shared):
        alone = run_training_step(m, topology=sim.graph, transport=transport, fabric=fabric, seed=seed,
                                  hosts=h)
        out.append({"name": name, "hosts": list(h), "alone": alone, "shared": s,
                    "slowdown": s.step_us / alone.step_us if alone.step_us else float("nan")})
    return out
