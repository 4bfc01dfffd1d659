"""uesim.experiments: scenarios, traffic, runs, results and the command line."""
from uesim.experiments.schema import ScenarioError
from uesim.experiments.scenario import check_scenario, load_scenario
from uesim.experiments.run import run_scenario, derive_seed
from uesim.experiments.results import RunResult

__all__ = ["ScenarioError", "check_scenario", "load_scenario", "run_scenario", "derive_seed", "RunResult"]
