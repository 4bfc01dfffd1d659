"""uesim beside htsim on the reference cases, through ``uesim htsim --json``.

Each case runs the htsim_uec command line of the reference README as a subprocess
(``uesim htsim -tm FILE ... --json``), so its wall time is process start to exit, and
prints uesim beside htsim: last flow done, FCT p50 and p99, retransmitted packets and
wall time, with the ratio uesim/htsim and whether uesim is inside htsim's range over
seeds widened by 5% (``[lo x 0.95, hi x 1.05]``).

The htsim figures are read from the reference folder, never typed in here:
``README.md`` (the results table: last flow, packets new/retransmitted, events, wall
time; the constant-window table), ``ranges.json`` (p50/p99/last ranges over seeds) and
the ``*.fct.csv`` files (p50/p99 of seed 13, numpy linear interpolation). Where the
reference has no range over seeds the seed-13 value is the range (marked "seed 13").

Usage::

    python benchmarks/htsim_compare.py                      # every case
    python benchmarks/htsim_compare.py --cases perm16,one   # some
    python benchmarks/htsim_compare.py --dry-run            # htsim figures and commands only
    python benchmarks/htsim_compare.py --json               # one JSON object
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

def _default_ref() -> Path:
    """$UESIM_HTSIM_REF, else the repository's copy of htsim's reference results."""
    if os.environ.get("UESIM_HTSIM_REF"):
        return Path(os.environ["UESIM_HTSIM_REF"])
    return Path(__file__).resolve().parent / "reference" / "htsim"


DEFAULT_REF = _default_ref()
WIDEN = 0.05
NSCC_OBL = ["-sender_cc_only", "-load_balancing_algo", "oblivious", "-paths", "128"]


@dataclass(frozen=True)
class Case:
    name: str
    cm: str
    args: tuple
    row: tuple = ()          # (scenario label, settings substring) in the README results table
    ranges: str = ""         # key in ranges.json
    csv: str = ""            # fct csv
    const: tuple = ()        # (case label, N) in the README constant-window table


def _const(label, cm, n):
    return Case(f"{label}_c{n}", cm, ("-sender_cc_algo", "constant", "-cwnd", str(n), "-load_balancing_algo",
                                      "oblivious", "-paths", "128", "-end", "5000"), const=(label, n))


P16, P128, P1024 = "perm_16n_16c_2MB.cm", "perm_128n_128c_2MB.cm", "perm_1024n_1024c_0u_2000000b.cm"
CASES = [
    Case("one", "one.cm", (), row=("one flow", ""), ranges="one"),
    Case("perm16", P16, tuple(NSCC_OBL), row=("16-host permutation", ""), ranges="perm16",
         csv="perm16_nscc_oblivious.fct.csv"),
    Case("perm128", P128, tuple(NSCC_OBL), row=("128-host permutation", ""), ranges="perm128",
         csv="perm128_nscc_oblivious.fct.csv"),
    Case("perm1024", P1024, tuple(NSCC_OBL), row=("1024-host permutation", "NSCC, oblivious"), ranges="perm1024",
         csv="perm1024_nscc_oblivious.fct.csv"),
    Case("perm1024_reps", P1024, ("-sender_cc_only", "-load_balancing_algo", "reps", "-paths", "128"),
         row=("1024-host permutation", "REPS"), ranges="perm1024_reps", csv="perm1024_nscc_reps.fct.csv"),
    Case("perm1024_rccc", P1024, ("-sender_cc", "-receiver_cc", "-paths", "128", "-end", "400"),
         row=("1024-host permutation", "RCCC"), ranges="perm1024_rccc", csv="perm1024_nscc_rccc.fct.csv"),
    Case("incast", "incast.cm", ("-sender_cc_only", "-end", "3000"), row=("15:1 incast", ""), ranges="incast15",
         csv="incast16_nscc.fct.csv"),
    _const("perm16", P16, 12), _const("perm16", P16, 40),
    _const("perm128", P128, 12), _const("perm128", P128, 40),
    _const("perm1024", P1024, 12), _const("perm1024", P1024, 40),
]
METRICS = ("last", "p50", "p99", "rtx", "wall")


# ------------------------------------------------------------------ reference files

def _num(text: str) -> float:
    return float(text.replace(",", "").strip("* "))


def _table(lines: list[str], start: int) -> list[list[str]]:
    """Body rows of the markdown table that starts at or after line ``start``."""
    i = start
    while i < len(lines) and not lines[i].startswith("|"):
        i += 1
    rows = []
    for line in lines[i + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def _wall(text: str):
    m = re.search(r"median ([\d.]+)", text)
    if m:
        return float(m.group(1))
    nums = [float(x) for x in re.findall(r"\d+(?:\.\d+)?", text)]
    return sum(nums[:2]) / len(nums[:2]) if nums else None


def read_reference(ref: Path) -> dict:
    """htsim's figures per case, from README.md, ranges.json and the fct csv files."""
    import numpy as np
    readme = (ref / "README.md").read_text().splitlines()
    ranges = json.loads((ref / "ranges.json").read_text())
    res_at = next(i for i, l in enumerate(readme) if l.startswith("## Results"))
    const_at = next(i for i, l in enumerate(readme) if l.startswith("## Constant window"))
    results = _table(readme, res_at)
    const_rows = _table(readme, const_at)
    no_rtx = any("No run retransmitted" in l for l in readme[const_at:])
    out = {}
    for case in CASES:
        h = {"source": {}}
        if case.row:
            label, setting = case.row
            row = next(r for r in results if label in r[0] and setting in r[2])
            h["last"] = _num(row[3])
            new, rtx = (int(_num(x)) for x in row[5].split("/"))
            h["new"], h["rtx"] = new, rtx
            h["events"] = int(_num(row[6])) if re.search(r"\d", row[6]) else None
            h["wall"] = _wall(row[7])
            h["source"]["last/rtx/wall"] = "README results table"
        if case.csv:
            with open(ref / case.csv) as f:
                fct = np.array([float(r["fct_us"]) for r in csv.DictReader(f)])
            h["p50"], h["p99"] = float(np.percentile(fct, 50)), float(np.percentile(fct, 99))
            h.setdefault("last", float(fct.max()))
            h["source"]["p50/p99"] = case.csv
        if case.ranges:
            r = ranges[case.ranges]
            h["range"] = {m: tuple(r[m]) for m in ("p50", "p99", "last")}
            h["range_seeds"] = r["seeds"]
            if "p50" not in h:
                h["p50"], h["p99"] = r["p50"][0], r["p99"][0]
                h["source"]["p50/p99"] = "ranges.json"
        if case.const:
            label, n = case.const
            row = next(r for r in const_rows if r[0].replace(" ", "") == f"{label},N={n}")
            p50, p99, last = (_num(x) for x in re.match(r"([\d.]+) / ([\d.]+) / ([\d.]+)", row[1]).groups())
            h.update(p50=p50, p99=p99, last=last, rtx=0 if no_rtx else None)
            m = re.search(r"wall ([\d.\-]+) s", row[1])
            h["wall"] = _wall(m.group(1)) if m else None
            rng = {}
            m = re.search(r"p50 ([\d.]+)-([\d.]+)", row[1])
            if m:
                rng["p50"] = (float(m.group(1)), float(m.group(2)))
            m = re.search(r"last ([\d.]+)-([\d.]+)", row[1])
            if m:
                rng["last"] = (float(m.group(1)), float(m.group(2)))
            if rng:
                h["range"] = rng
                h["range_seeds"] = "seeds in README"
            h["source"]["all"] = "README constant-window table"
        out[case.name] = h
    return out


# ------------------------------------------------------------------ running uesim

def uesim_command() -> list[str]:
    exe = Path(sys.executable).with_name("uesim")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("uesim")
    return [found] if found else [sys.executable, "-m", "uesim.experiments.cli"]


def run_case(case: Case, ref: Path, timeout: float, extra: list[str]) -> dict:
    cmd = [*uesim_command(), "htsim", "-tm", str(ref / case.cm), *case.args, *extra, "--json"]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout} s", "cmd": cmd}
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        err = (proc.stderr.strip().splitlines() or ["(no message)"])[-1]
        return {"error": f"exit {proc.returncode}: {err} ({wall:.2f} s)", "cmd": cmd}
    js = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"last": js["last_fct_us"], "p50": js["fct_p50_us"], "p99": js["fct_p99_us"],
            "rtx": js["packets_rtx"], "new": js["packets_new"], "events": js["events"], "wall": wall,
            "finished": f"{js['flows_finished']}/{js['flows_total']}", "cmd": cmd}


def compare(h: dict, u: dict) -> list[dict]:
    rows = []
    for m in METRICS:
        hv, uv = h.get(m), u.get(m)
        ratio = uv / hv if isinstance(uv, (int, float)) and isinstance(hv, (int, float)) and hv else None
        lo_hi, seeds = (h.get("range") or {}).get(m), "seeds"
        if lo_hi is None and m in ("last", "p50", "p99") and hv is not None:
            lo_hi, seeds = (hv, hv), "seed 13"
        inside = None
        if lo_hi is not None and isinstance(uv, (int, float)):
            inside = lo_hi[0] * (1 - WIDEN) <= uv <= lo_hi[1] * (1 + WIDEN)
        rows.append({"metric": m, "htsim": hv, "uesim": uv, "ratio": ratio,
                     "range": list(lo_hi) if lo_hi else None, "range_of": seeds if lo_hi else None,
                     "inside": inside})
    return rows


def _fmt(x, digits=1):
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:.{digits}f}" if abs(x) < 1e5 else f"{x:.3g}"
    return str(x)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", help="comma-separated: " + ",".join(c.name for c in CASES))
    ap.add_argument("--ref", type=Path, default=DEFAULT_REF, help=f"reference folder (default {DEFAULT_REF})")
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    ap.add_argument("--dry-run", action="store_true", help="print htsim's figures and the commands, run nothing")
    ap.add_argument("--timeout", type=float, default=600.0, help="seconds per case (default 600)")
    ap.add_argument("--seed", type=int, help="pass -seed S to every case")
    args = ap.parse_args(argv)
    by_name = {c.name: c for c in CASES}
    names = args.cases.split(",") if args.cases else list(by_name)
    unknown = [n for n in names if n not in by_name]
    if unknown:
        ap.error(f"unknown case {unknown[0]!r}; choose from {', '.join(by_name)}")
    ref = read_reference(args.ref)
    extra = ["-seed", str(args.seed)] if args.seed is not None else []
    report = []
    for name in names:
        case = by_name[name]
        if args.dry_run:
            u = {"cmd": [*uesim_command(), "htsim", "-tm", str(args.ref / case.cm), *case.args, *extra, "--json"]}
        else:
            u = run_case(case, args.ref, args.timeout, extra)
        entry = {"case": name, "htsim": ref[name], "uesim": u, "rows": compare(ref[name], u)}
        report.append(entry)
        if not args.json:
            print(f"\n{name}: {' '.join(u['cmd'][1:] if len(u['cmd']) == 1 else u['cmd'])}")
            if "error" in u:
                print(f"  uesim failed: {u['error']}")
            print(f"  {'':6} {'htsim':>10} {'uesim':>10} {'ratio':>7}  {'htsim range':<24} inside (range +-5%)")
            for r in entry["rows"]:
                rng = f"{_fmt(r['range'][0])}-{_fmt(r['range'][1])} ({r['range_of']})" if r["range"] else "-"
                inside = {True: "yes", False: "NO", None: "-"}[r["inside"]]
                print(f"  {r['metric']:6} {_fmt(r['htsim'], 2):>10} {_fmt(r['uesim'], 2):>10} "
                      f"{_fmt(r['ratio'], 3):>7}  {rng:<24} {inside}")
            sys.stdout.flush()
    if args.json:
        print(json.dumps(report, default=str))
    failed = [e["case"] for e in report if "error" in e["uesim"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
