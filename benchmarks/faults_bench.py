"""Faults, limits and the cost of the fault hooks.

    python benchmarks/faults_bench.py lb        # link down mid-run: REPS vs oblivious (+ others)
    python benchmarks/faults_bench.py htsim     # uesim htsim ... -load_balancing_algo reps -failed 8
    python benchmarks/faults_bench.py limits    # an impossible size, refused up front
    python benchmarks/faults_bench.py check     # wall time of check mode vs the end-of-run check

``lb`` runs experiments/scenarios/link_down_reps.toml (two core links of a k=4 fat tree fail
20 us in, routing never reconverges) once per load balancer and prints last FCT,
retransmissions, timeouts and frames lost, then the same with routing reconverging 10 us
after the failure.
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCEN = ROOT / "experiments" / "scenarios" / "link_down_reps.toml"
CM = ROOT / "benchmarks" / "reference" / "htsim" / "perm_1024n_1024c_0u_2000000b.cm"


def lb_table() -> None:
    from uesim.experiments.run import run_scenario
    from uesim.experiments.scenario import load_scenario
    for title, extra in (("no reconvergence", {}), ("reconvergence after 10 us", {"reconverge_ps": 10_000_000})):
        print(f"link_down_reps.toml, {title}")
        print(f"{'lb':<10} {'last FCT us':>12} {'p50 FCT us':>11} {'retransmits':>12} {'timeouts':>9} "
              f"{'lost':>6} {'drops':>6} {'wall s':>7}")
        for lb in ("reps", "oblivious", "mixed", "bitmap"):
            over = {"transport": {"lb": {"name": lb, "n_paths": 64}}, "run": {"check": False}}
            if extra:
                over["faults"] = dict(extra)
            sc = load_scenario(SCEN, None)
            sc = load_scenario(SCEN, {**over, "faults": {**sc["faults"], **extra}} if extra else over)
            t = time.perf_counter()
            res = run_scenario(sc)
            f = res.flows
            print(f"{lb:<10} {f['fct_us'].max():>12.1f} {f['fct_us'].median():>11.1f} "
                  f"{int(f['retransmits'].sum()):>12} {int(f['timeouts'].sum()):>9} "
                  f"{res.stats['packets_lost']:>6} {res.stats['packets_dropped']:>6} "
                  f"{time.perf_counter() - t:>7.2f}")
        print()


def htsim_failed() -> None:
    argv = [sys.executable, "-m", "uesim.experiments.cli", "htsim", "-tm", str(CM), "-sender_cc_only",
            "-load_balancing_algo", "reps", "-paths", "128", "-failed", "8", "--json"]
    t = time.perf_counter()
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    wall = time.perf_counter() - t
    s = json.loads(out.strip().splitlines()[-1])
    print("uesim htsim -tm perm_1024n_1024c_0u_2000000b.cm -sender_cc_only -load_balancing_algo reps "
          "-paths 128 -failed 8")
    print(f"  flows finished {s['flows_finished']}/{s['flows_total']}, last FCT {s['last_fct_us']:.1f} us, "
          f"p50 {s['fct_p50_us']:.1f} us, retransmits {s['packets_rtx']}, trims {s['trims']}")
    print(f"  {s['events']:,} events; simulation {s['wall_s']:.2f} s, command {wall:.2f} s wall")


def limits() -> None:
    from uesim.experiments import check_scenario, run_scenario
    from uesim.experiments.schema import ScenarioError
    sc = check_scenario({"topology": {"generator": "fat_tree", "k": 128},
                         "traffic": {"pattern": "permutation", "size_bytes": 2_000_000}})
    t = time.perf_counter()
    try:
        run_scenario(sc)
    except ScenarioError as exc:
        print(f"fat_tree(k=128), permutation: refused in {1000 * (time.perf_counter() - t):.1f} ms:\n  {exc}")
    argv = [sys.executable, "-m", "uesim.experiments.cli", "collective", "all_to_all", "--topology",
            "fat_tree:k=128", "--quiet"]
    t = time.perf_counter()
    p = subprocess.run(argv, capture_output=True, text=True)
    print(f"uesim collective all_to_all --topology fat_tree:k=128: exit {p.returncode} after "
          f"{time.perf_counter() - t:.2f} s (whole command):\n  {p.stderr.strip()}")


def check_cost() -> None:
    from uesim.experiments.run import run_scenario
    from uesim.experiments.scenario import load_scenario
    for mode in (False, True):
        sc = load_scenario(SCEN, {"run": {"check": mode}})
        t = time.perf_counter()
        res = run_scenario(sc)
        print(f"check={mode}: {res.stats['invariant_checks']} checks, {res.stats['events']:,} events, "
              f"{time.perf_counter() - t:.3f} s")


def main(argv=None) -> int:
    what = (argv if argv is not None else sys.argv[1:]) or ["lb", "htsim", "limits", "check"]
    for w in what:
        {"lb": lb_table, "htsim": htsim_failed, "limits": limits, "check": check_cost}[w]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
