"""Process wall time, events per second and peak memory of large ``uesim htsim`` runs.

Each run is one ``uesim htsim -tm FILE -sender_cc_only -load_balancing_algo oblivious
-paths 128 --json`` subprocess (NSCC, oblivious spraying over 128 entropies, 2 MB flows),
timed from process start to exit, with its peak resident memory read from the kernel's
accounting of that child (``os.wait4``).  It prints, per run: process wall, the
simulation phase (``wall_s`` of the JSON line), events, events per second of the
simulation phase, peak RSS, finished flows and the last FCT; then the medians.

Cases:

* ``perm1024``: htsim's reference permutation, 1,024 hosts
  (``benchmarks/reference/htsim/perm_1024n_1024c_0u_2000000b.cm``); htsim itself takes a
  median 17.6 s here (``reference/htsim/README.md``);
* ``permN`` for any other N that ``uesim htsim`` sizes a fat tree for (K^3/4 hosts:
  16, 54, 128, 250, 432, 1024, 3456, 8192; ``perm8192`` is the 8,192-host scale case): a
  permutation of N hosts in htsim's ``.cm`` format, written to a temporary folder.  Every host sends 2 MB
  to one other host; the pairing is one cycle drawn by Sattolo's algorithm from
  ``random.Random(seed)``, so no host sends to itself and the file is the same for the
  same seed.

Usage::

    python benchmarks/htsim_scale.py                       # perm1024, three runs
    python benchmarks/htsim_scale.py --cases perm8192 --repeat 1
    python benchmarks/htsim_scale.py --json                # one JSON object at the end
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REFERENCE_CM = Path(__file__).resolve().parent / "reference" / "htsim" / "perm_1024n_1024c_0u_2000000b.cm"
FLAGS = ["-sender_cc_only", "-load_balancing_algo", "oblivious", "-paths", "128", "--json"]
FLOW_BYTES = 2_000_000


def write_permutation(path: Path, n_hosts: int, seed: int, size: int = FLOW_BYTES) -> Path:
    """Write an ``n_hosts`` permutation (one cycle, no host to itself) as a ``.cm`` file.

    >>> import tempfile, pathlib
    >>> p = write_permutation(pathlib.Path(tempfile.mkdtemp()) / "p.cm", 4, seed=1)
    >>> lines = p.read_text().splitlines()
    >>> lines[:2], len(lines)
    (['Nodes 4', 'Connections 4'], 6)
    >>> sorted(int(l.split("->")[1].split()[0]) for l in lines[2:])
    [0, 1, 2, 3]
    """
    dst = list(range(n_hosts))
    rng = random.Random(seed)
    for i in range(n_hosts - 1, 0, -1):          # Sattolo: a single cycle
        j = rng.randrange(i)
        dst[i], dst[j] = dst[j], dst[i]
    rows = [f"Nodes {n_hosts}", f"Connections {n_hosts}"]
    rows += [f"{s}->{d} id {s + 1} start 0 size {size}" for s, d in enumerate(dst)]
    path.write_text("\n".join(rows) + "\n")
    return path


def uesim_command() -> list[str]:
    """The installed ``uesim`` console script, else ``python -m uesim.experiments.cli``."""
    exe = shutil.which("uesim")
    return [exe] if exe else [sys.executable, "-m", "uesim.experiments.cli"]


def run_once(cm: Path, timeout: float) -> dict:
    """One ``uesim htsim`` process: its wall time, peak RSS and JSON summary."""
    cmd = uesim_command() + ["htsim", "-tm", str(cm)] + FLAGS
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        killer = threading.Timer(timeout, proc.kill)
        killer.start()
        try:
            _, status, usage = os.wait4(proc.pid, 0)     # this child's own peak RSS
        finally:
            killer.cancel()
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
        err.seek(0)
        last_error = (err.read().strip().splitlines() or [""])[-1]
    if proc.returncode != 0:
        raise SystemExit(f"htsim_scale: {' '.join(cmd)} exited {proc.returncode}: {last_error}")
    summary = json.loads(text.strip().splitlines()[-1])
    sim_s = summary["wall_s"]
    cpu = usage.ru_utime + usage.ru_stime
    return {"process_wall_s": round(wall, 3), "sim_wall_s": sim_s, "events": summary["events"],
            "events_per_s": round(summary["events"] / sim_s) if sim_s else None,
            "cpu_s": round(cpu, 3), "events_per_cpu_s": round(summary["events"] / cpu) if cpu else None,
            "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),      # kB on Linux
            "flows_finished": summary["flows_finished"], "last_fct_us": summary["last_fct_us"]}


def case_file(name: str, folder: Path, seed: int) -> Path:
    """The ``.cm`` file of a case name (``perm1024`` or ``permN``)."""
    if not name.startswith("perm") or not name[4:].isdigit():
        raise SystemExit(f"htsim_scale: case {name!r}: unknown; allowed: perm1024 or permN (N hosts)")
    n = int(name[4:])
    if n == 1024:
        return REFERENCE_CM
    if n < 2:
        raise SystemExit(f"htsim_scale: case {name!r}: needs at least 2 hosts")
    return write_permutation(folder / f"perm_{n}.cm", n, seed)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", default="perm1024", help="comma-separated: perm1024, permN")
    ap.add_argument("--repeat", type=int, default=3, help="runs per case (default 3)")
    ap.add_argument("--seed", type=int, default=1, help="seed of generated permutations")
    ap.add_argument("--timeout", type=float, default=1800.0, help="seconds per run")
    ap.add_argument("--json", action="store_true", help="end with one JSON object")
    args = ap.parse_args(argv)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.cases.split(","):
            cm = case_file(name.strip(), Path(tmp), args.seed)
            runs = []
            for i in range(args.repeat):
                r = run_once(cm, args.timeout)
                runs.append(r)
                print(f"{name} run {i + 1}: process {r['process_wall_s']:.2f} s, simulation "
                      f"{r['sim_wall_s']:.2f} s, {r['events']:,} events, "
                      f"{r['events_per_s'] / 1e6:.2f} M events/s, peak RSS "
                      f"{r['peak_rss_mb']} MB, "
                      f"{r['flows_finished']} flows finished, last {r['last_fct_us']} us", flush=True)
            med = {k: statistics.median(r[k] for r in runs)
                   for k in ("process_wall_s", "sim_wall_s", "events_per_s")}
            print(f"{name} median of {len(runs)}: process {med['process_wall_s']:.2f} s, simulation "
                  f"{med['sim_wall_s']:.2f} s, {med['events_per_s'] / 1e6:.2f} M events/s")
            results[name] = {"runs": runs, "median": med}
    if args.json:
        print(json.dumps({"benchmark": "htsim_scale", "command": uesim_command() + ["htsim", "-tm", "FILE"] + FLAGS,
                          "cases": results}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
