"""Training-step benchmark: the shipped example step scaled by data parallelism, and its cost.

The model is ``docs/examples/training_step.toml`` (8 layers, TP 2, 8 MiB gradient
buckets) with ``dp`` raised so the step spans ``--gpus`` GPUs, on the smallest k-ary fat
tree that holds them (all 100 Gb/s, the ``uet`` preset: NSCC, oblivious spraying, 1 MB
buffers). Per GPU count it prints the step, its ideal and proven bound, the stall, the
packet simulation's events, the CPU seconds of the whole step (DAG build, ideal,
baselines, run), events per CPU second, the process's peak RSS so far, and the step's
checks (its warnings; "ok" when it has none), and the up-front estimate over the
measurement (``est_x`` for events, ``est_mem_x`` for the peak RSS).

Run:  python benchmarks/train_bench.py [--gpus 16 64 256] [--json]
      python benchmarks/train_bench.py --gpus 1024          # fat tree k=16
"""
from __future__ import annotations

import argparse
import json
import resource
import time
from dataclasses import replace
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[1] / "docs" / "examples" / "training_step.toml"


def fat_tree_for(n: int) -> str:
    from uesim.topologies import fat_tree_radix_for
    return f"fat_tree:k={fat_tree_radix_for(n)}"


def main(argv=None) -> int:
    from uesim.experiments.collectives.training import TrainingModel, run_training_step
    from uesim.experiments.presets import preset
    from uesim.experiments.workloads.estimate import estimate_workload
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gpus", type=int, nargs="+", default=[16, 64, 256])
    p.add_argument("--json", action="store_true")
    args = p.parse_args(argv)
    base = TrainingModel.from_toml(EXAMPLE)
    pre = preset("uet")
    if not args.json:
        print(f"{'gpus':>5} {'step_us':>10} {'ideal_us':>10} {'bound_us':>10} {'stall_us':>9} "
              f"{'events':>11} {'cpu_s':>7} {'Mev/cpu_s':>9} {'rss_mb':>7} {'est_x':>5} {'est_mem_x':>9}  "
              "checks; topology")
    for n in args.gpus:
        if n % base.tp:
            raise SystemExit(f"--gpus {n}: must be a multiple of tp = {base.tp}")
        m = replace(base, dp=n // base.tp, tokens_per_step=base.tokens_per_step * n // base.n_gpus)
        topo = fat_tree_for(n)
        t0, c0 = time.perf_counter(), time.process_time()
        est = {}
        res = run_training_step(m, topology=topo, transport=pre["transport"], fabric=pre["fabric"],
                                on_built=lambda sim, w: est.update(estimate_workload(sim, w)))
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        events = res.run.sim.built.sim.events
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        row = {"gpus": n, "topology": topo, "step_us": round(res.step_us, 3), "ideal_us": round(res.ideal_us, 3),
               "bound_us": round(res.bound_us, 3), "stall_us": round(res.network_stall_us, 3),
               "events": events, "cpu_s": round(cpu, 3), "wall_s": round(wall, 3),
               "events_per_cpu_s": round(events / cpu) if cpu else None, "peak_rss_mb": round(rss_mb),
               "estimated_events": est["events"], "estimated_peak_mb": round(est["peak_bytes"] / 2**20),
               "warnings": res.warnings()}
        row["estimate_events_x"] = round(est["events"] / events, 2) if events else None
        row["estimate_peak_x"] = round(est["peak_bytes"] / 2**20 / rss_mb, 2)
        if args.json:
            print(json.dumps(row))
        else:
            checks = "; ".join(row["warnings"]) or "ok"
            print(f"{n:>5} {row['step_us']:>10.1f} {row['ideal_us']:>10.1f} {row['bound_us']:>10.1f} "
                  f"{row['stall_us']:>9.1f} {events:>11,} {cpu:>7.1f} {events / cpu / 1e6:>9.2f} "
                  f"{rss_mb:>7.0f} {row['estimate_events_x']:>5.2f} {row['estimate_peak_x']:>9.2f}  {checks}; {topo}",
                  flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
