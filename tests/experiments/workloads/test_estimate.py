"""The up-front estimate of a workload run (experiments/workloads/estimate.py) and the
CLI's refusal of a run that will not fit."""
import doctest
import json
import subprocess
import sys

import pytest

from uesim.experiments.cli import main
from uesim.experiments.collectives.algorithms import compile_collective
from uesim.experiments.presets import preset
from uesim.experiments.simulation import Simulation
from uesim.experiments.workloads.estimate import check_fits, estimate_workload

def test_docstring_examples():
    import uesim.experiments.workloads.estimate as mod
    res = doctest.testmod(mod)
    assert res.failed == 0 and res.attempted > 0


MEASURE = """
import json, sys
from uesim.experiments.collectives.algorithms import compile_collective
from uesim.experiments.collectives.model import ideal_in
from uesim.experiments.presets import preset
from uesim.experiments.simulation import Simulation
from uesim.experiments.workloads.estimate import estimate_workload
op, algo, n, size, name, topo = sys.argv[1:]
p = preset(name)
sim = Simulation(topo, transport=p["transport"], fabric=p["fabric"])
w = compile_collective(op, list(range(int(n))), int(size), algo).workload
est = estimate_workload(sim, w)
ideal_in(sim, w)
run = w.launch(sim)
sim.run()
assert run.done
# VmHWM: this process's own peak (ru_maxrss would carry the forking parent's over)
hwm = next(int(line.split()[1]) * 1024 for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"events": sim.built.sim.events, "rss": hwm,
                  "est_events": est["events"], "est_rss": est["peak_bytes"]}))
"""


@pytest.mark.parametrize("case", [("all_reduce", "ring", 64, 8 << 20, "uet", "fat_tree:k=8"),
                                  ("all_reduce", "ring", 32, 4 << 20, "roce", "fat_tree:k=8"),
                                  ("all_to_all", "direct", 64, 1 << 20, "uet", "fat_tree:k=8"),
                                  ("all_gather", "ring", 16, 1 << 20, "uet", "leaf_spine:n_leaves=4,n_spines=2,hosts_per_leaf=4")])
def test_the_estimate_is_within_2x_of_the_measured_events_and_peak_memory(case):
    # a fresh process each, so its peak RSS is this run's
    out = subprocess.run([sys.executable, "-c", MEASURE, *map(str, case)], capture_output=True, text=True, check=True)
    m = json.loads(out.stdout)
    assert 0.5 <= m["est_events"] / m["events"] <= 2.0
    assert 0.5 <= m["est_rss"] / m["rss"] <= 2.0


def _est(op="all_reduce", n=16, size=1 << 20, algo="ring", name="uet", topo="fat_tree:k=4"):
    p = preset(name)
    sim = Simulation(topo, transport=p["transport"], fabric=p["fabric"])
    return estimate_workload(sim, compile_collective(op, list(range(n)), size, algo).workload)


def test_events_follow_the_packets_and_the_links_they_cross():
    one = _est(size=1 << 20)
    assert _est(size=4 << 20)["packets"] == pytest.approx(4 * one["packets"], rel=0.05)
    assert _est(size=4 << 20)["events"] > 3 * one["events"]
    # the same ring on a leaf-spine with 2 hosts per leaf: more hops between neighbours
    near = _est(n=8, topo="leaf_spine:n_leaves=1,n_spines=1,hosts_per_leaf=8")
    far = _est(n=8, topo="leaf_spine:n_leaves=4,n_spines=1,hosts_per_leaf=2")
    assert far["packets"] == near["packets"] and far["events"] > near["events"]


def test_an_all_to_all_holds_every_flow_in_flight_a_ring_one_per_rank():
    assert _est("all_to_all", algo="direct")["in_flight"] == 16 * 15
    assert _est()["in_flight"] == 16


def test_a_run_that_does_not_fit_is_refused_unless_forced():
    est = {"events": 10**9, "peak_bytes": 3 * 10**9, "flows": 5}
    with pytest.raises(ValueError, match=r"run refused: estimate: 1,000.0 M events, 3.0 GB peak memory "
                                         r"\(1.0 GB available\), 5 flows; --force runs it anyway"):
        check_fits(est, available=10**9)
    assert check_fits(est, available=10**9, force=True).startswith("estimate: 1,000.0 M events")


@pytest.mark.parametrize("cli", [["collective", "all_reduce", "-t", "fat_tree:k=4", "-b", "64K"],
                                 ["train", "docs/examples/training_step.toml"]])
def test_the_cli_prints_the_estimate_refuses_and_runs_with_force(cli, monkeypatch, capsys):
    import uesim.experiments.workloads.estimate as est_mod
    assert main([*cli, "--json"]) == 0
    cap = capsys.readouterr()
    assert cap.err.startswith("# estimate: ") and "peak memory" in cap.err
    out = json.loads(cap.out.strip().splitlines()[-1])
    row = out["rows"][0] if "rows" in out else out
    assert 0.5 <= row["estimated_events"] / row["events"] <= 2.0
    monkeypatch.setattr(est_mod, "machine_memory_bytes", lambda: 1000)        # a machine with 1 kB
    assert main([*cli, "--json"]) == 2
    err = capsys.readouterr().err
    assert "uesim: error: run refused: estimate: " in err and "--force runs it anyway" in err
    assert main([*cli, "--json", "--force"]) == 0
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1])
