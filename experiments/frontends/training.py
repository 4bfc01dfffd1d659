"""``uesim train`` and ``uesim stall``: what the network costs a training step.

``uesim train MODEL.toml [--topology SPEC] [--scale-up SPEC] [--transport uet|roce] [--json]``
    one training step (the ``[model]`` table, see
    :mod:`uesim.experiments.collectives.training`): step time, exposed communication,
    GPU idle %, network stall, their cost per million tokens, and a per-collective
    breakdown (TP, EP, PP, DP).
``uesim stall FILE [--json]``
    a comparison plan: the same ``[model]`` on every ``[[topologies]]`` entry under every
    ``[[transports]]`` entry, one row each; with ``[[jobs]]`` the noisy-neighbour table
    instead: each job's step alone and sharing the fabric with the others.

Plan files (``experiments/scenarios/stall_comparison.toml``, ``two_jobs.toml``) hold:
``name``, ``seed``, ``placement`` (jobs: separated, interleaved, random), ``[model]``,
``[fabric]`` (shared by all rows), ``[[topologies]]`` (``name``, ``spec``, optional
``scale_up``), ``[[transports]]`` (``name`` and ``preset`` = ``uet`` or ``roce``, or a
``transport`` table; an optional ``fabric`` table merged over the shared one) and
``[[jobs]]`` (``name`` and ``model``, a table of ``[model]`` keys that differ for that job).

Examples
--------
>>> from uesim.experiments.frontends.training import TRANSPORT_PRESETS
>>> sorted(TRANSPORT_PRESETS)
['roce', 'uet']
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
import os
import sys
import tomllib
from pathlib import Path

from uesim.experiments.presets import PRESETS as TRANSPORT_PRESETS   # one set for every front end
from uesim.experiments.presets import merge as _merge

PLAN_KEYS = ("name", "description", "seed", "placement", "model", "fabric", "topologies", "transports", "jobs")


def _graph(spec: str, scale_up: str | None, what: str):
    from uesim.topologies import hybrid, parse_topology_spec
    try:
        G = parse_topology_spec(spec)
        if scale_up:
            G = hybrid(parse_topology_spec(scale_up), G, nics_per_gpu=None)
    except (ValueError, TypeError, OSError) as exc:
        raise ValueError(f"{what}: {exc}") from None
    return G


def _transport_entry(entry: dict, what: str) -> tuple[str, dict, dict]:
    """``(label, transport table, fabric table)`` of a ``[[transports]]`` entry."""
    for k in entry:
        if k not in ("name", "preset", "transport", "fabric"):
            raise ValueError(f"unknown key '{what}.{k}'; allowed: name, preset, transport, fabric")
    if "preset" in entry:
        if entry["preset"] not in TRANSPORT_PRESETS:
            raise ValueError(f"{what}.preset = {entry['preset']!r}: allowed: {', '.join(TRANSPORT_PRESETS)}")
        p = TRANSPORT_PRESETS[entry["preset"]]
        tr, fab, label = _merge(p["transport"], entry.get("transport")), p["fabric"], p["label"]
    elif "transport" in entry:
        tr, fab, label = dict(entry["transport"]), {}, entry["transport"].get("name", "?")
    else:
        raise ValueError(f"{what}: needs preset (uet, roce) or a transport table")
    return entry.get("name", label), tr, _merge(fab, entry.get("fabric"))


def load_plan(path) -> dict:
    """Read and check a plan file (see the module doc); errors name the key."""
    from uesim.experiments.collectives.jobs import JOB_PLACEMENTS
    raw = tomllib.loads(Path(path).read_text())
    for k in raw:
        if k not in PLAN_KEYS:
            raise ValueError(f"unknown key '{k}'; allowed: {', '.join(PLAN_KEYS)}")
    model = _model(raw.get("model", {}), "model")
    topos = raw.get("topologies") or []
    if not isinstance(topos, list) or not topos:
        raise ValueError("topologies: needs at least one [[topologies]] entry with a spec")
    plan = {"name": raw.get("name", Path(path).stem), "seed": int(raw.get("seed", 0)),
            "placement": raw.get("placement", "separated"), "model": model, "topologies": [], "transports": []}
    if plan["placement"] not in JOB_PLACEMENTS:
        raise ValueError(f"placement = {plan['placement']!r}: allowed: {', '.join(JOB_PLACEMENTS)}")
    for i, t in enumerate(topos):
        what = f"topologies[{i}]"
        for k in t:
            if k not in ("name", "spec", "scale_up"):
                raise ValueError(f"unknown key '{what}.{k}'; allowed: name, spec, scale_up")
        if "spec" not in t:
            raise ValueError(f"{what}.spec: required (e.g. 'fat_tree:k=4')")
        plan["topologies"].append({"name": t.get("name", t["spec"]), "spec": t["spec"],
                                   "scale_up": t.get("scale_up"),
                                   "graph": _graph(t["spec"], t.get("scale_up"), f"{what}.spec")})
    trs = raw.get("transports") or [{"preset": "uet"}, {"preset": "roce"}]
    for i, e in enumerate(trs):
        label, tr, fab = _transport_entry(e, f"transports[{i}]")
        plan["transports"].append({"name": label, "transport": tr, "fabric": _merge(raw.get("fabric", {}), fab)})
    jobs = raw.get("jobs")
    if jobs is not None:
        if not isinstance(jobs, list) or not jobs:
            raise ValueError("jobs: needs [[jobs]] entries")
        plan["jobs"] = []
        for i, j in enumerate(jobs):
            for k in j:
                if k not in ("name", "model"):
                    raise ValueError(f"unknown key 'jobs[{i}].{k}'; allowed: name, model")
            plan["jobs"].append({"name": j.get("name", f"job{i}"),
                                 "model": _model({**raw.get("model", {}), **j.get("model", {})},
                                                 f"jobs[{i}].model")})
    return plan


def _model(table: dict, what: str):
    from uesim.experiments.collectives.training import TrainingModel
    allowed = [f.name for f in dataclasses.fields(TrainingModel)]
    for k in table:
        if k not in allowed:
            raise ValueError(f"unknown key '{what}.{k}'; allowed: {', '.join(allowed)}")
    try:
        return TrainingModel(**table)
    except ValueError as exc:
        raise ValueError(str(exc).replace("model.", f"{what}.", 1)) from None


def _row(res) -> dict:
    s = res.summary()
    return {k: s[k] for k in ("gpus", "step_us", "compute_only_us", "exposed_comm_us", "uncontended_us",
                              "ideal_us", "endpoint_us", "nic_bound_us", "network_stall_us", "gpu_idle_pct", "idle_usd_per_mtok",
                              "exposed_usd_per_mtok", "stall_usd_per_mtok", "main_busbw_gbps", "bound_us", "warnings")}


def _events(res):
    """The packet simulation's events of a step (``None`` when it ran none)."""
    return res.run.sim.built.sim.events if res.run is not None else None


def run_comparison(plan: dict, progress=None) -> list[dict]:
    """One row per topology x transport: the plan's model, one step each."""
    from uesim.experiments.collectives.training import run_training_step
    rows = []
    for topo in plan["topologies"]:
        for tr in plan["transports"]:
            t0 = time.perf_counter()
            res = run_training_step(plan["model"], topology=topo["graph"], transport=tr["transport"],
                                    fabric=tr["fabric"], seed=plan["seed"])
            rows.append({"topology": topo["name"], "transport": tr["name"], **_row(res),
                         "events": _events(res), "wall_s": round(time.perf_counter() - t0, 3),
                         "collectives": res.collectives})
            if progress:
                progress(rows[-1])
    return rows


def run_noisy(plan: dict, progress=None) -> list[dict]:
    """One row per topology x transport x job: the step alone and shared, and the slowdown."""
    from uesim.experiments.collectives.jobs import run_jobs
    rows = []
    for topo in plan["topologies"]:
        for tr in plan["transports"]:
            t0 = time.perf_counter()
            res = run_jobs([j["model"] for j in plan["jobs"]], topology=topo["graph"],
                           transport=tr["transport"], fabric=tr["fabric"], seed=plan["seed"],
                           placement=plan["placement"], names=[j["name"] for j in plan["jobs"]])
            wall_s = round(time.perf_counter() - t0, 3)     # all jobs, alone and shared
            for r in res:
                a, s = _row(r["alone"]), _row(r["shared"])
                rows.append({"topology": topo["name"], "transport": tr["name"], "job": r["name"],
                             "placement": plan["placement"], "gpus": a["gpus"],
                             "alone_step_us": a["step_us"], "shared_step_us": s["step_us"],
                             "slowdown_pct": round(100 * (r["slowdown"] - 1), 3),
                             "alone_stall_us": a["network_stall_us"], "shared_stall_us": s["network_stall_us"],
                             "alone_idle_pct": a["gpu_idle_pct"], "shared_idle_pct": s["gpu_idle_pct"],
                             "alone_busbw_gbps": a["main_busbw_gbps"], "shared_busbw_gbps": s["main_busbw_gbps"],
                             "shared_stall_usd_per_mtok": s["stall_usd_per_mtok"],
                             "alone_events": _events(r["alone"]), "shared_events": _events(r["shared"]),
                             "wall_s": wall_s})
                if progress:
                    progress(rows[-1])
    return rows


def _fmt(v, width, prec=1):
    if v is None or (isinstance(v, float) and v != v):
        return f"{'-':>{width}}"
    if isinstance(v, float):
        return f"{v:>{width}.4g}" if prec == "g" else f"{v:>{width}.{prec}f}"
    return f"{v!s:>{width}}"


COMPARISON_COLS = [("topology", "topology", 24, 0), ("transport", "transport", 15, 0),
                   ("step_us", "step us", 9, 1), ("exposed_comm_us", "exposed us", 10, 1),
                   ("gpu_idle_pct", "GPU idle %", 10, 1), ("ideal_us", "ideal us", 9, 1),
                   ("endpoint_us", "endpoint us", 11, 1), ("network_stall_us", "stall us", 9, 1),
                   ("stall_usd_per_mtok", "stall $/Mtok", 12, "g"), ("main_busbw_gbps", "DP busbw Gb/s", 13, 1)]
NOISY_COLS = [("topology", "topology", 24, 0), ("transport", "transport", 15, 0), ("job", "job", 6, 0),
              ("alone_step_us", "alone us", 9, 1), ("shared_step_us", "shared us", 9, 1),
              ("slowdown_pct", "slowdown %", 10, 1), ("alone_stall_us", "stall alone", 11, 1),
              ("shared_stall_us", "stall shared", 12, 1), ("shared_idle_pct", "idle % shared", 13, 1),
              ("shared_busbw_gbps", "DP busbw Gb/s", 13, 1)]


def _header(cols):
    return " ".join(f"{title:<{w}}" if i < 2 else f"{title:>{w}}" for i, (_, title, w, _) in enumerate(cols))


def _line(row, cols):
    return " ".join(f"{str(row[k]):<{w}}" if i < 2 else _fmt(row[k], w, p)
                    for i, (k, _, w, p) in enumerate(cols))


def stall_main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="uesim stall", description="Step time and network stall per "
                                "topology and transport; with [[jobs]], each job alone and sharing the fabric.")
    p.add_argument("file", help="plan TOML (experiments/scenarios/stall_comparison.toml, two_jobs.toml)")
    p.add_argument("--placement", help="jobs: separated, interleaved or random (overrides the file)")
    p.add_argument("--json", action="store_true", help="print one JSON line")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    try:
        plan = load_plan(args.file)
        if args.placement:
            from uesim.experiments.collectives.jobs import JOB_PLACEMENTS
            if args.placement not in JOB_PLACEMENTS:
                raise ValueError(f"--placement = {args.placement!r}: allowed: {', '.join(JOB_PLACEMENTS)}")
            plan["placement"] = args.placement
        noisy = "jobs" in plan
        cols = NOISY_COLS if noisy else COMPARISON_COLS
        printed = []

        def show(row):
            if args.json:
                return
            if not printed:
                m = plan["model"]
                print(f"# {plan['name']}: " + (f"{len(plan['jobs'])} jobs, placement {plan['placement']}"
                                                 if noisy else f"{m.n_gpus} GPUs (dp {m.dp} x tp {m.tp} x pp {m.pp})"))
                print(_header(cols))
            printed.append(row)
            print(_line(row, cols), flush=True)
        rows = run_noisy(plan, show) if noisy else run_comparison(plan, show)
    except (ValueError, OSError, tomllib.TOMLDecodeError) as exc:
        if os.environ.get("UESIM_DEBUG"):
            raise
        print(f"uesim: error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps({"name": plan["name"], "kind": "jobs" if noisy else "comparison", "rows": rows}))
    return 0


def train_main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="uesim train", description="Run one training step on a fabric.")
    p.add_argument("file", help="TOML with a [model] table (docs/examples/training_step.toml)")
    p.add_argument("--topology", "-t", default="fat_tree:k=4", help="topology spec (default fat_tree:k=4)")
    p.add_argument("--scale-up", help="scale-up spec joined with --topology (hgx:n_servers=2)")
    p.add_argument("--transport", default="uet", help="uet (NSCC) or roce (DCQCN with PFC)")
    p.add_argument("--placement", default="sequential", help="sequential, rail or random")
    p.add_argument("--gpu-hour-usd", type=float, help="price of one GPU hour (overrides the model)")
    p.add_argument("--tokens-per-step", type=int, help="tokens per step (overrides the model)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print one JSON line")
    p.add_argument("--force", action="store_true",
                   help="run even if the up-front memory estimate exceeds what this machine has available")
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    from uesim.experiments.collectives.comm import PLACEMENTS
    from uesim.experiments.progress import WorkloadMonitor
    from uesim.experiments.collectives.training import run_training_step
    try:
        if args.transport not in TRANSPORT_PRESETS:
            raise ValueError(f"--transport = {args.transport!r}: allowed: {', '.join(TRANSPORT_PRESETS)}")
        if args.placement not in PLACEMENTS:
            raise ValueError(f"--placement = {args.placement!r}: allowed: {', '.join(PLACEMENTS)}")
        raw = tomllib.loads(Path(args.file).read_text())
        table = dict(raw.get("model", {}))
        if args.gpu_hour_usd is not None:
            table["gpu_hour_usd"] = args.gpu_hour_usd
        if args.tokens_per_step is not None:
            table["tokens_per_step"] = args.tokens_per_step
        m = _model(table, "model")
        G = _graph(args.topology, args.scale_up, "--topology" if not args.scale_up else "--topology/--scale-up")
        n = sum(1 for _, k in G.nodes(data="kind") if k == "gpu")
        if m.n_gpus > n:
            raise ValueError(f"the model needs dp*tp*pp = {m.n_gpus} GPUs, the topology has {n}")
        preset = TRANSPORT_PRESETS[args.transport]
        t0 = time.perf_counter()
        monitor = WorkloadMonitor(force=args.force)
        try:
            res = run_training_step(m, topology=G, transport=preset["transport"], fabric=preset["fabric"],
                                    seed=args.seed, placement=args.placement, on_built=monitor.on_built,
                                    progress=monitor.progress)
        finally:
            monitor.stop()
        wall_s = round(time.perf_counter() - t0, 3)
    except (ValueError, OSError, tomllib.TOMLDecodeError) as exc:
        if os.environ.get("UESIM_DEBUG"):
            raise
        print(f"uesim: error: {exc}", file=sys.stderr)
        return 2
    row = {"topology": args.topology, "scale_up": args.scale_up, "transport": preset["label"], **_row(res),
           "tokens_per_step": m.tokens_per_step, "gpu_hour_usd": m.gpu_hour_usd, "collectives": res.collectives,
           # events: the step's packet simulation; wall_s: all of it (ideal and baselines too)
           "events": _events(res), "wall_s": wall_s,
           "estimated_events": monitor.estimate["events"], "estimated_peak_bytes": monitor.estimate["peak_bytes"]}
    if args.json:
        print(json.dumps(row))
        return 0
    print(f"# training step: {m.n_gpus} GPUs (dp {m.dp} x tp {m.tp} x pp {m.pp}, ep {m.ep}), "
          f"{m.layers} layers, on {args.topology}{' + ' + args.scale_up if args.scale_up else ''}, "
          f"{preset['label']}")
    print(f"step time          {row['step_us']:>12.1f} us")
    print(f"compute only       {row['compute_only_us']:>12.1f} us")
    print(f"exposed comm       {row['exposed_comm_us']:>12.1f} us   ${row['exposed_usd_per_mtok']:.4g} per M tokens")
    print(f"uncontended step   {row['uncontended_us']:>12.1f} us   (every message alone on the fabric)")
    print(f"ideal step         {row['ideal_us']:>12.1f} us   (perfect fabric, NICs shared)")
    print(f"endpoint-bound     {row['endpoint_us']:>12.1f} us   (ideal - uncontended: NIC time no fabric removes; "
          f"busiest NIC {row['nic_bound_us']:.1f} us)")
    print(f"network stall      {row['network_stall_us']:>12.1f} us   ${row['stall_usd_per_mtok']:.4g} per M tokens "
          "(step - ideal)")
    print(f"GPU idle           {row['gpu_idle_pct']:>12.1f} %    ${row['idle_usd_per_mtok']:.4g} per M tokens")
    print(f"  (at ${m.gpu_hour_usd:g} per GPU hour, {m.tokens_per_step:,} tokens per step)")
    print(f"# checks: step >= proven bound {row['bound_us']:.1f} us, within 2% of the ideal or above it")
    for warning in res.warnings():
        print(f"# WARNING: {warning}")
    print()
    print(f"{'collective':<20} {'count':>6} {'MB':>10} {'time us':>10} {'alone us':>10} {'over alone':>10} "
          f"{'busbw Gb/s':>11}")
    for c in res.collectives:
        print(f"{c['kind'] + ' ' + c['op']:<20} {c['count']:>6} {c['bytes'] / 1e6:>10.2f} {c['time_us']:>10.1f} "
              f"{c['alone_us']:>10.1f} {c['stall_us']:>10.1f} {_fmt(c['busbw_gbps'], 11)}")
    return 0
