"""A collective as scenario traffic: ``[traffic] pattern = "collective"``.

One collective of ``size_bytes`` (nccl-tests convention) per scenario run, so a sweep
over ``traffic.size_bytes``, ``traffic.algo``, the topology or the transport stores one
``collectives`` row per point (``op, algo, ranks, bytes, time_us, algbw_gbps,
busbw_gbps, ideal_us, stall_us, stall_pct`` and the stall counters) next to its flows
and ports; ``uesim plot DIR busbw`` and ``uesim plot DIR stall`` read them.

Keys: ``op`` (required), ``size_bytes`` (required), ``algo``, ``n_ranks``,
``placement``, ``channels``, ``chunks``. The scenario's ``[transport]`` is used as
written (its defaults are the ``window`` transport's; set ``name = "uet"`` and ``cc =
{name = "nscc"}`` for UET).

Examples
--------
>>> from uesim.experiments import check_scenario, run_scenario
>>> sc = check_scenario({"topology": {"generator": "leaf_spine", "n_leaves": 1, "n_spines": 1,
...                                   "hosts_per_leaf": 4},
...                      "transport": {"name": "uet", "cc": {"name": "nscc"}},
...                      "traffic": {"pattern": "collective", "op": "all_reduce", "size_bytes": 1 << 20}})
>>> res = run_scenario(sc)
>>> c = res.collectives
>>> int(c["bytes"][0]), str(c["algo"][0]), len(res.flows), bool(abs(c["stall_us"][0]) < 0.01 * c["ideal_us"][0])
(1048576, 'ring', 24, True)
"""
from __future__ import annotations

import numpy as np

from uesim.experiments.schema import ScenarioError


#: ``[traffic]`` keys of the collective pattern only
COLLECTIVE_KEYS = ("op", "algo", "n_ranks", "placement", "channels", "chunks")


def check_collective_traffic(t: dict) -> None:
    """Check the collective keys of a ``[traffic]`` table (errors name the key); other
    patterns must not set them."""
    if t["pattern"] != "collective":
        for key in COLLECTIVE_KEYS:
            if key in t:
                raise ScenarioError(f"traffic.{key}: only for pattern 'collective' (pattern is {t['pattern']!r})")
        return
    # only now: importing the collectives package costs every other run its start-up
    from uesim.experiments.collectives.algorithms import OP_ALGOS, OPS
    from uesim.experiments.collectives.comm import PLACEMENTS
    if t["op"] not in OPS:
        raise ScenarioError(f"traffic.op = {t['op']!r}: allowed: {', '.join(OPS)}")
    if t.get("algo") is not None and t["algo"] not in OP_ALGOS[t["op"]]:
        raise ScenarioError(f"traffic.algo = {t['algo']!r} for {t['op']}: allowed: {', '.join(OP_ALGOS[t['op']])}")
    if t.get("placement", "sequential") not in PLACEMENTS:
        raise ScenarioError(f"traffic.placement = {t.get('placement')!r}: allowed: {', '.join(PLACEMENTS)}")


def run_collective_scenario(sc: dict, progress=None, graph=None):
    """Run a checked scenario whose traffic is a collective; a ``RunResult`` with
    ``collectives`` (one row, numpy columns). ``graph``: the topology, if already built."""
    from uesim.experiments.collectives.runner import run_collective
    from uesim.experiments.run import _timeseries_sampler, with_timeseries
    from uesim.experiments.simulation import Simulation
    t = sc["traffic"]
    sim = Simulation.from_scenario(sc, graph)
    if t.get("n_ranks") is not None and t["n_ranks"] > sim.n_hosts:
        raise ScenarioError(f"traffic.n_ranks = {t['n_ranks']}: the topology has {sim.n_hosts} GPUs")
    sampler = _timeseries_sampler(sc, sim)
    res = run_collective(t["op"], t["size_bytes"], sim=sim, n_ranks=t.get("n_ranks"), algo=t.get("algo"),
                         placement=t.get("placement", "sequential"), channels=t.get("channels", 1),
                         chunks=t.get("chunks", 1), seed=sc["seed"],
                         until_ps=sc["run"].get("until_ps"))
    out = with_timeseries(sim.result(), sampler)
    row = res.row()
    out.collectives = {k: np.asarray([v]) for k, v in row.items()}
    return out
