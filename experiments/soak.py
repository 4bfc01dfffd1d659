"""Soak test: many random small scenarios with faults, every invariant checked.

Each round draws (from one seeded stream) a small topology, a transport with its
congestion control and load balancer, a traffic pattern and a few mid-run faults
(links down and up, degraded links, lossy links, a failed switch, with or without
routing reconvergence), runs it in check mode (invariants every few thousand events
and at the end) and records one line.  A violated invariant stops the soak with the
scenario that broke it.  ``python benchmarks/soak.py --minutes 5`` runs it from the
command line; the test suite runs a short one.

Examples
--------
>>> rows = soak(seconds=0.5, seed=1, out=None)
>>> len(rows) >= 1 and all(r["checks"] >= 1 for r in rows)
True
"""
from __future__ import annotations

import random
import time

TOPOLOGIES = [
    {"generator": "leaf_spine", "n_leaves": 2, "n_spines": 2, "hosts_per_leaf": 2},
    {"generator": "leaf_spine", "n_leaves": 4, "n_spines": 2, "hosts_per_leaf": 3},
    {"generator": "fat_tree", "k": 4},
    {"generator": "rail_optimized", "n_servers": 2, "gpus_per_server": 4, "n_spines": 2},
    {"generator": "dragonfly", "groups": 3, "routers_per_group": 2, "hosts_per_router": 2,
     "global_links_per_router": 1},
    {"generator": "torus", "dims": [3, 3]},
]
TRANSPORTS = [
    ("window", {"name": "fixed", "cwnd_bytes": 32768}, ["oblivious", "ecmp", "random"]),
    ("window", {"name": "dctcp"}, ["oblivious", "ecmp"]),
    ("uet", {"name": "nscc"}, ["reps", "oblivious", "mixed", "bitmap"]),
    ("uet", {"name": "constant", "cwnd_bytes": 65536}, ["reps", "oblivious"]),
    ("paced", {"name": "fixed", "cwnd_bytes": 65536}, ["oblivious", "ecmp"]),
    ("roce", {"name": "dcqcn"}, ["ecmp"]),
]


def random_scenario(rng: random.Random, seed: int) -> dict:
    """One random small scenario (raw, for :func:`check_scenario`)."""
    from uesim.experiments.run import build_topology
    topo = dict(rng.choice(TOPOLOGIES))
    G = build_topology(topo)
    hosts = [n for n, k in G.nodes(data="kind") if k == "gpu"]
    switches = [n for n, k in G.nodes(data="kind") if k == "switch"]
    links = sorted((str(u), str(v)) for u, v in G.edges())
    sw_links = [e for e in links if e[0] in switches and e[1] in switches] or links
    name, cc, lbs = rng.choice(TRANSPORTS)
    trimming = name == "uet" and rng.random() < 0.7
    size = rng.choice([8_000, 50_000, 200_000])
    pattern = rng.choice(["permutation", "permutation", "incast", "explicit"])
    traffic = {"pattern": pattern, "size_bytes": size}
    if pattern == "incast":
        traffic.update(receiver=rng.randrange(len(hosts)), n_senders=min(len(hosts) - 1, rng.randint(2, 6)))
    elif pattern == "explicit":
        flows = []
        for _ in range(rng.randint(1, 8)):
            src, dst = rng.sample(range(len(hosts)), 2)
            flows.append({"src": src, "dst": dst, "size_bytes": rng.choice([4_000, 30_000, 120_000]),
                          "start_ps": rng.randrange(0, 20_000_000)})
        traffic = {"pattern": "explicit", "flows": flows}
    events = []
    for _ in range(rng.randint(0, 4)):
        at = rng.randrange(0, 30_000_000)
        kind = rng.choice(["down_up", "down", "degrade", "loss", "switch"])
        link = list(rng.choice(sw_links))
        if kind == "down_up":
            events += [{"at_ps": at, "action": "link_down", "link": link},
                       {"at_ps": at + rng.randrange(1_000_000, 30_000_000), "action": "link_up", "link": link}]
        elif kind == "down":
            events.append({"at_ps": at, "action": "link_down", "link": link})
        elif kind == "degrade":
            events.append({"at_ps": at, "action": "degrade", "link": link, "factor": rng.choice([0.1, 0.25, 0.5])})
        elif kind == "loss":
            events.append({"at_ps": at, "action": "loss", "link": list(rng.choice(links)),
                           "prob": rng.choice([0.001, 0.01, 0.05])})
        else:
            sw = rng.choice(switches)
            events += [{"at_ps": at, "action": "switch_down", "switch": sw},
                       {"at_ps": at + rng.randrange(1_000_000, 20_000_000), "action": "switch_up", "switch": sw}]
    faults = {"events": events} if events else {}
    if events and rng.random() < 0.6:
        faults["reconverge_ps"] = rng.choice([0, 1_000_000, 10_000_000])
    sc = {
        "name": f"soak{seed}", "seed": seed, "topology": topo,
        "fabric": {"buffer_bytes": rng.choice([30_000, 100_000, 1_000_000]), "trimming": trimming,
                   "dequeue_path": rng.random() < 0.3},
        "transport": {"name": name, "cc": dict(cc), "lb": {"name": rng.choice(lbs)},
                      **({"rate_bps": rng.choice([25, 50, 100]) * 1_000_000_000} if name == "paced" else {})},
        "traffic": traffic,
        "run": {"check": True, "check_every": rng.choice([500, 5_000]), "until_ps": 2_000_000_000},
    }
    if rng.random() < 0.4:
        sc["fabric"]["ecn"] = {"kmin_bytes": 10_000, "kmax_bytes": 40_000, "pmax": 0.5}
    lossless = rng.random()
    if lossless < 0.25:
        sc["fabric"]["pfc"] = {"mode": rng.choice(["frames", "htsim"])}
    elif lossless < 0.35 and not trimming:      # credits and trimming do not mix (docs/lossless.md)
        sc["fabric"]["cbfc"] = {"enabled": True}
    if faults:
        sc["faults"] = faults
    return sc


def soak(seconds: float, seed: int = 0, out=print) -> list[dict]:
    """Run random scenarios for ``seconds`` of wall time; return one row per run.

    Raises
    ------
    InvariantError
        With the round's seed and scenario appended, if an invariant fails.
    """
    from uesim.experiments import check_scenario, run_scenario
    from uesim.experiments.invariants import InvariantError
    rng = random.Random(seed)
    rows = []
    end = time.perf_counter() + seconds
    i = 0
    while time.perf_counter() < end:
        round_seed = rng.randrange(1 << 30)
        raw = random_scenario(random.Random(round_seed), round_seed)
        t = time.perf_counter()
        try:
            res = run_scenario(check_scenario(raw))
        except InvariantError as exc:
            raise InvariantError(f"{exc}\n  soak round {i} (seed {round_seed}): {raw}") from None
        f = res.flows
        row = {"round": i, "seed": round_seed, "topology": raw["topology"]["generator"],
               "transport": raw["transport"]["name"], "cc": raw["transport"]["cc"]["name"],
               "lb": raw["transport"]["lb"]["name"], "pattern": raw["traffic"]["pattern"],
               "lossless": ("pfc-" + raw["fabric"]["pfc"]["mode"] if "pfc" in raw["fabric"]
                            else "cbfc" if "cbfc" in raw["fabric"] else "none"),
               "faults": len(raw.get("faults", {}).get("events", [])),
               "flows": len(f), "finished": int(f["finished"].sum()), "stuck": int(f["stuck"].sum()),
               "lost": res.stats["packets_lost"], "drops": res.stats["packets_dropped"],
               "checks": res.stats["invariant_checks"], "events": res.stats["events"],
               "wall_s": round(time.perf_counter() - t, 3)}
        rows.append(row)
        if out is not None:
            out(" ".join(f"{k}={v}" for k, v in row.items()))
        i += 1
    return rows
