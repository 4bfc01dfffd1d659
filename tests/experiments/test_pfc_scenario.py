"""fabric.pfc in scenario files: checking, and what reaches the run result."""
from __future__ import annotations

from pathlib import Path

import pytest

from uesim.experiments import check_scenario, run_scenario
from uesim.experiments.schema import ScenarioError

ROOT = Path(__file__).resolve().parents[2]


def scenario(pfc, size=400_000):
    return {"topology": {"generator": "leaf_spine", "n_leaves": 4, "n_spines": 2, "hosts_per_leaf": 4},
            "fabric": {"buffer_bytes": 100_000, **({"pfc": pfc} if pfc is not None else {})},
            "transport": {"name": "window", "mtu_bytes": 4064, "rto_ps": 1_000_000_000,
                          "cc": {"name": "fixed", "cwnd_bytes": 1_000_000}},
            "traffic": {"pattern": "incast", "size_bytes": size, "receiver": 0, "n_senders": 15},
            "seed": 1}


def test_pfc_scenario_result_columns_and_stats():
    on = run_scenario(check_scenario(scenario({"mode": "frames"})))
    off = run_scenario(check_scenario(scenario({"enabled": False})))
    assert on.stats["packets_dropped"] == 0 and off.stats["packets_dropped"] > 0
    assert on.stats["pfc_pauses"] > 0 and off.stats["pfc_pauses"] == 0
    assert on.stats["lossless_overflow"] == 0
    ports = on.port_cols
    assert sum(ports["pfc_pauses_sent"]) == on.stats["pfc_pauses"]
    assert sum(ports["pfc_pauses_received"]) == on.stats["pfc_pauses"]
    assert sum(ports["pfc_paused_ps"]) > 0
    assert bool(on.flows["finished"].all())


def test_pfc_mode_and_thresholds_reach_the_network():
    a = run_scenario(check_scenario(scenario({"mode": "htsim"})))
    b = run_scenario(check_scenario(scenario({"mode": "htsim", "xoff_bytes": 200_000, "xon_bytes": 150_000})))
    assert b.stats["pfc_pauses"] < a.stats["pfc_pauses"]


def test_example_scenario_runs():
    from uesim.experiments.scenario import load_scenario
    sc = load_scenario(ROOT / "experiments" / "scenarios" / "incast15_pfc.toml")
    sc["traffic"]["size_bytes"] = 200_000
    res = run_scenario(sc)
    assert res.stats["packets_dropped"] == 0 and res.stats["pfc_pauses"] > 0


@pytest.mark.parametrize("pfc, msg", [
    ({"mode": "lossy"}, "fabric.pfc.mode = 'lossy': unknown; allowed: frames, htsim"),
    ({"classes": [9]}, r"fabric.pfc.classes\[0\] = 9: must be a class 0..7"),
    ({"xoff_bytes": 10, "xon_bytes": 20}, "fabric.pfc.xon_bytes = 20: must be <= xoff_bytes"),
    ({"quanta": 70000}, "fabric.pfc.quanta = 70000: must be an integer <= 65535"),
    ({"alpha": 0.5}, "fabric.pfc.alpha = 0.5: needs shared_buffer_bytes > 0"),
    ({"xof_bytes": 1}, "unknown key 'fabric.pfc.xof_bytes'"),
    ({"watchdog_ps": -1}, "fabric.pfc.watchdog_ps = -1"),
])
def test_pfc_scenario_errors(pfc, msg):
    with pytest.raises(ScenarioError, match=msg):
        check_scenario(scenario(pfc))
