"""RCCC's unsolicited slow pulls (MODEL-uec.md section 8): a sender with a packet to
retransmit and no credit has no data packet to ask with; the idle receiver's pacer
grants it credit anyway, so every flow finishes."""
from pathlib import Path

from uesim.experiments.compare import load_compare
from uesim.experiments.simulation import Simulation

SCEN = Path(__file__).resolve().parents[2] / "experiments" / "scenarios" / "compare_perm128.toml"


def test_rccc_permutation_finishes_with_slow_pulls():
    # before slow pulls, 4 of these 128 flows (seed 1) stalled for good with credit <= 0
    variants, _ = load_compare(SCEN, seed=1)
    sc = next(v.config for v in variants if v.name == "uet_rccc")
    sim = Simulation.from_scenario(sc)
    sim.run(until_ps=sc["run"]["until_ps"])
    res = sim.result()
    assert bool(res.flow_cols["finished"].all())
    assert res.flow_cols["retransmits"].sum() > 0           # trims were recovered
    pacers = {id(f.pacer): f.pacer for f in sim.flow_objs}.values()
    slow = sum(p.slow_pulls for p in pacers)
    assert slow > 0
    # bounded: per idle episode at most max_credit_bytes of unsolicited credit
    assert all(p.unsolicited_bytes <= p.max_credit_bytes + p.pull_bytes for p in pacers)
    assert sum(p.pulls for p in pacers) > slow
