"""A congestion control written in Python against the same algorithm compiled.

Runs the 128-host permutation (htsim's ``perm_128n_128c_2MB.cm`` on a k=8 fat tree, UET
with trimming and ECN, oblivious spraying over 128 entropies) twice: with the tutorial's
Python DCTCP (``docs/examples/my_dctcp.py``) and with the compiled ``dctcp``, which does
the same arithmetic.  Prints the simulation wall time of each (median over repeats), the
ratio, and whether the two runs gave identical flow completion times (they should: the
same algorithm on the same events).

Run:  python benchmarks/python_cc.py [--repeat 3] [--json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REF = ROOT / "benchmarks" / "reference" / "htsim"


def scenario(cc_name: str) -> dict:
    from uesim.experiments import check_scenario
    return check_scenario({
        "seed": 1, "plugins": ["my_dctcp"],
        "topology": {"generator": "fat_tree", "k": 8},
        "fabric": {"buffer_bdp": 1.0, "trimming": True, "trim_tail_prob": 0.5,
                   "ecn": {"kmin_bytes": 37350, "kmax_bytes": 145250, "pmax": 1.0,
                           "at_dequeue": True}},
        "transport": {"name": "uet", "mtu_bytes": 4150, "cc": {"name": cc_name},
                      "lb": {"name": "oblivious", "n_paths": 128}},
        "traffic": {"pattern": "cm", "file": str(REF / "perm_128n_128c_2MB.cm")},
    })


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "docs" / "examples"))
    from uesim.experiments import run_scenario
    out, fcts = {}, {}
    for name in ("dctcp", "my_dctcp"):
        walls = []
        for _ in range(args.repeat):
            res = run_scenario(scenario(name))
            walls.append(res.stats["wall_s"])
        fcts[name] = list(res.flow_columns()["end_ps"])
        out[name] = {"wall_s": statistics.median(walls), "events": res.stats["events"],
                     "acks": res.stats["acks"], "nacks": res.stats["nacks"]}
    out["ratio"] = round(out["my_dctcp"]["wall_s"] / out["dctcp"]["wall_s"], 2)
    out["identical_fcts"] = fcts["dctcp"] == fcts["my_dctcp"]
    if args.json:
        print(json.dumps(out))
        return 0
    print("128-host permutation, UET + DCTCP, oblivious spraying (median of "
          f"{args.repeat} runs, simulation phase)")
    for name, label in (("dctcp", "compiled dctcp"), ("my_dctcp", "Python my_dctcp")):
        r = out[name]
        print(f"  {label:16s} {r['wall_s']:.3f} s  {r['events']:,} events  "
              f"{r['acks']:,} ACKs + {r['nacks']:,} NACKs reach the CC")
    print(f"  Python / compiled: {out['ratio']:.2f}x; identical FCTs: {out['identical_fcts']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
