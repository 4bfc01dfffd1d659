"""Soak: random small scenarios with mid-run faults, every invariant checked.

    python benchmarks/soak.py --minutes 5 [--seed S] [--quiet]

Prints one line per scenario run (topology, transport, CC, LB, traffic, fault count,
flows finished / stuck, frames lost, invariant checks, events) and a summary; exits 1
with the failing scenario if an invariant is violated.  See uesim.experiments.soak.
"""
from __future__ import annotations

import argparse
import collections
import sys
import time


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--quiet", action="store_true", help="print the summary only")
    args = ap.parse_args(argv)
    from uesim.experiments.invariants import InvariantError
    from uesim.experiments.soak import soak
    t = time.perf_counter()
    try:
        rows = soak(args.minutes * 60, seed=args.seed, out=None if args.quiet else print)
    except InvariantError as exc:
        print(f"INVARIANT VIOLATED: {exc}", file=sys.stderr)
        return 1
    wall = time.perf_counter() - t
    by = lambda key: dict(collections.Counter(r[key] for r in rows))  # noqa: E731
    print(f"\nsoak: {len(rows)} scenarios in {wall:.0f} s, seed {args.seed}; every invariant held")
    print(f"  {sum(r['checks'] for r in rows):,} invariant checks over {sum(r['events'] for r in rows):,} events")
    print(f"  {sum(r['faults'] for r in rows):,} fault events; {sum(r['lost'] for r in rows):,} frames lost, "
          f"{sum(r['drops'] for r in rows):,} drops")
    print(f"  flows: {sum(r['flows'] for r in rows):,}, finished {sum(r['finished'] for r in rows):,}, "
          f"stuck (cut off by a fault) {sum(r['stuck'] for r in rows):,}")
    for key in ("topology", "transport", "cc", "lb", "pattern", "lossless"):
        print(f"  {key}: {by(key)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
