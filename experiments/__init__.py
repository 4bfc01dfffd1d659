"""uesim.experiments: scenarios, traffic, runs, results and the command line.

The names below are imported on first use, so ``uesim`` commands that need little (the
htsim front end on a small run) start fast.
"""
from uesim.experiments._lazy import lazy_namespace

_LAZY = {
    "ScenarioError": "uesim.experiments.schema",
    "check_scenario": "uesim.experiments.scenario",
    "load_scenario": "uesim.experiments.scenario",
    "run_scenario": "uesim.experiments.run",
    "derive_seed": "uesim.experiments.run",
    "RunResult": "uesim.experiments.results",
    "Simulation": "uesim.experiments.simulation",
    "load": "uesim.experiments.store",
    "ResultStore": "uesim.experiments.store",
    "expand_sweep": "uesim.experiments.sweeps",
    "load_sweep": "uesim.experiments.sweeps",
    "run_sweep": "uesim.experiments.sweeps.runner",
}

__all__ = list(_LAZY)


__getattr__, __dir__ = lazy_namespace(__name__, _LAZY, globals())
