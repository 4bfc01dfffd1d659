"""A short soak (experiments/soak.py): random scenarios with faults, invariants checked."""
import random

from uesim.experiments.soak import random_scenario, soak
from uesim.experiments.scenario import check_scenario


def test_random_scenarios_are_valid_and_seeded():
    a = [random_scenario(random.Random(s), s) for s in range(30)]
    b = [random_scenario(random.Random(s), s) for s in range(30)]
    assert a == b
    for raw in a:
        check_scenario(raw)
    assert len({r["topology"]["generator"] for r in a}) >= 4
    assert sum(bool(r.get("faults")) for r in a) >= 15


def test_short_soak_holds_every_invariant():
    rows = soak(seconds=15, seed=7, out=None)
    assert len(rows) >= 50
    assert sum(r["faults"] for r in rows) > 50 and sum(r["lost"] for r in rows) > 0
    assert all(r["checks"] >= 1 for r in rows)
    assert len({r["transport"] for r in rows}) == 4 and len({r["lb"] for r in rows}) >= 4
