"""Sweeps: expand a scenario's ``[sweep]`` table into points and run them (locally on all
cores, or on a Dask cluster), storing each point's results once (see docs/sweeps.md)."""
from uesim.experiments.sweeps.expand import Point, expand_sweep, load_sweep, point_key

__all__ = ["Point", "expand_sweep", "load_sweep", "point_key"]
