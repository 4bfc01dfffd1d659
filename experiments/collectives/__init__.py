"""GPU collectives as workload DAGs: communicators, algorithms, the alpha-beta model, runs.

See ``docs/collectives.md``. :func:`run_collective` compiles an operation (all-reduce,
reduce-scatter, all-gather, all-to-all, broadcast, reduce, send/recv) with an algorithm
(ring, tree, halving-doubling, direct, hierarchical) into a DAG of flows, runs it through
:class:`~uesim.experiments.Simulation` and compares it with its ideal time.
"""
from uesim.experiments.collectives.algorithms import (ALGOS, BUSBW_FACTOR, OP_ALGOS, OPS, Compiled,
                                                      compile_collective)
from uesim.experiments.collectives.comm import PLACEMENTS, Communicator, place_ranks, scaleup_domains
from uesim.experiments.collectives.model import PathModel, ideal_times
from uesim.experiments.collectives.runner import DEFAULT_TRANSPORT, CollectiveResult, run_collective
from uesim.experiments.collectives.training import (PreparedStep, StepResult, TrainingModel, build_step,
                                                    prepare_step, run_training_step)
from uesim.experiments.collectives.jobs import JOB_PLACEMENTS, place_jobs, run_jobs

__all__ = ["ALGOS", "BUSBW_FACTOR", "OP_ALGOS", "OPS", "Compiled", "compile_collective", "PLACEMENTS",
           "Communicator", "place_ranks", "scaleup_domains", "PathModel", "ideal_times",
           "DEFAULT_TRANSPORT", "CollectiveResult", "run_collective",
           "StepResult", "TrainingModel", "build_step", "run_training_step", "PreparedStep", "prepare_step",
           "JOB_PLACEMENTS", "place_jobs", "run_jobs"]
