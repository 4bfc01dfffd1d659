"""GPU collectives as workload DAGs: communicators, algorithms, the alpha-beta model, runs.

See ``docs/collectives.md``. :func:`run_collective` compiles an operation (all-reduce,
reduce-scatter, all-gather, all-to-all, broadcast, reduce, send/recv) with an algorithm
(ring, tree, halving-doubling, direct, hierarchical) into a DAG of flows, runs it through
:class:`~uesim.experiments.Simulation` and compares it with its ideal time.
"""
from uesim.experiments._lazy import lazy_namespace

_M = "uesim.experiments.collectives."
_LAZY = {name: _M + module for module, names in {
    "algorithms": ("ALGOS", "BUSBW_FACTOR", "OP_ALGOS", "OPS", "Compiled", "compile_collective"),
    "comm": ("PLACEMENTS", "Communicator", "place_ranks", "scaleup_domains"),
    "model": ("PathModel", "ideal_times"),
    "runner": ("DEFAULT_TRANSPORT", "CollectiveResult", "run_collective"),
    "training": ("PreparedStep", "StepResult", "TrainingModel", "build_step", "prepare_step", "run_training_step"),
    "jobs": ("JOB_PLACEMENTS", "place_jobs", "run_jobs"),
}.items() for name in names}

__all__ = sorted(_LAZY)
# imported on first use: checking a scenario imports collectives.scenario, and every run
# checks one
__getattr__, __dir__ = lazy_namespace(__name__, _LAZY, globals())
