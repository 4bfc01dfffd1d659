"""Collectives on an idle fabric against their alpha-beta ideal (acceptance tests 1 and 2)."""
from __future__ import annotations

import doctest

import pytest

import uesim.experiments.collectives.algorithms as algorithms_mod
import uesim.experiments.collectives.comm as comm_mod
import uesim.experiments.collectives.runner as runner_mod
from uesim.experiments.collectives import run_collective

RATE = 100_000_000_000
DELAY = 1_000_000
MTU, HDR, ACK, ACK_EVERY = 4096, 64, 64, 16384


def switch(n):
    """``n`` GPUs on one switch: every path is 2 links."""
    return f"leaf_spine:n_leaves=1,n_spines=1,hosts_per_leaf={n}"


def tx(nbytes, rate=RATE):
    return -(-8 * nbytes * 10**12 // rate)


def wire(m):
    return m + -(-m // (MTU - HDR)) * HDR


def acks(m):
    return -(-m // ACK_EVERY) * ACK


def alpha(m, hops=2):
    return hops * DELAY + (hops - 1) * tx(min(MTU, m + HDR))


@pytest.mark.parametrize("mod", [algorithms_mod, comm_mod, runner_mod])
def test_doctests(mod):
    res = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert res.failed == 0 and res.attempted > 0


@pytest.mark.parametrize("n,size", [(8, 1 << 20), (16, 4 << 20)])
def test_ring_allreduce_ideal_is_the_closed_form_and_matches(n, size):
    r = run_collective("all_reduce", size, topology=switch(n), algo="ring")
    m = size // n
    # 2(n-1) steps; a rank's egress carries its message and the ACKs of the one it receives
    assert r.ideal_ps == 2 * (n - 1) * (alpha(m) + tx(wire(m) + acks(m)))
    assert abs(r.time_ps - r.ideal_ps) <= 0.03 * r.ideal_ps
    assert r.sources["retransmits"] == 0 and r.sources["finished"]


def test_ring_allreduce_on_a_fat_tree_and_busbw_near_link_rate():
    small = run_collective("all_reduce", 1 << 20, topology="fat_tree:k=4", algo="ring")
    big = run_collective("all_reduce", 16 << 20, topology="fat_tree:k=4", algo="ring")
    for r in (small, big):
        assert abs(r.stall_ps) <= 0.03 * r.ideal_ps
    # busbw grows with size and approaches the 100 Gb/s NIC (less headers and ACKs)
    assert small.busbw_gbps < big.busbw_gbps
    assert 0.9 * 100 < big.busbw_gbps < 100


@pytest.mark.slow
@pytest.mark.parametrize("n", [8, 32, 128])
@pytest.mark.parametrize("size", [1 << 20, 16 << 20, 256 << 20])
def test_ring_allreduce_grid(n, size):
    if n == 128 and size > 16 << 20:
        pytest.skip("minutes of run time")
    topo = "fat_tree:k=8" if n == 128 else f"leaf_spine:n_leaves={n // 8},n_spines=8,hosts_per_leaf=8"
    r = run_collective("all_reduce", size, topology=topo, algo="ring")
    assert abs(r.stall_ps) <= 0.03 * r.ideal_ps, r.row()


def test_halving_doubling_allreduce():
    n, S = 16, 4 << 20
    r = run_collective("all_reduce", S, topology=switch(n), algo="hd")
    levels = [S >> (lv + 1) for lv in range(4)]
    expected = 2 * sum(alpha(m) + tx(wire(m) + acks(m)) for m in levels)
    assert r.ideal_ps == expected
    assert abs(r.stall_ps) <= 0.03 * r.ideal_ps
    with pytest.raises(ValueError, match="power-of-two"):
        run_collective("all_reduce", S, topology=switch(12), algo="hd")


def test_direct_all_to_all():
    n, S = 16, 4 << 20
    r = run_collective("all_to_all", S, topology=switch(n))
    m = S // n
    assert r.algo == "direct"
    assert r.ideal_ps == alpha(m) + tx((n - 1) * (wire(m) + acks(m)))
    assert abs(r.stall_ps) <= 0.03 * r.ideal_ps
    assert r.busbw_gbps == pytest.approx(r.algbw_gbps * (n - 1) / n)


def test_tree():
    # one binary tree, pipelined: broadcast within 3% of its ideal
    b = run_collective("broadcast", 4 << 20, topology=switch(16), algo="tree", chunks=8)
    assert abs(b.stall_ps) <= 0.03 * b.ideal_ps
    # the double binary tree all-reduce: the model charges both trees' messages of a round
    # to a NIC for the whole round, so it may overestimate (a negative stall) but within 10%
    r = run_collective("all_reduce", 4 << 20, topology=switch(16), algo="tree", chunks=16)
    assert abs(r.stall_ps) <= 0.10 * r.ideal_ps
    # pipelining slices shortens a tree all-reduce (each level forwards sooner)
    one = run_collective("all_reduce", 4 << 20, topology=switch(16), algo="tree", chunks=1)
    assert r.time_ps < 0.5 * one.time_ps


@pytest.mark.parametrize("op", ["reduce_scatter", "all_gather", "send_recv"])
def test_other_ops_match(op):
    r = run_collective(op, 4 << 20, topology=switch(8))
    assert abs(r.stall_ps) <= 0.03 * r.ideal_ps


def test_ring_broadcast_pipelines_with_chunks():
    t = {c: run_collective("broadcast", 4 << 20, topology=switch(8), algo="ring", chunks=c).time_ps
         for c in (1, 8)}
    assert t[8] < 0.4 * t[1]


def test_channels_and_placement_move_the_result():
    base = run_collective("all_reduce", 2 << 20, topology="fat_tree:k=4")
    two = run_collective("all_reduce", 2 << 20, topology="fat_tree:k=4", channels=2)
    assert len(two.run.flow_id) > len(base.run.flow_id)
    assert two.time_ps != base.time_ps
    # random placement: ring neighbours are far apart more often -> more alpha per step
    rnd = run_collective("all_reduce", 1 << 20, topology="fat_tree:k=4", placement="random", seed=3)
    seq = run_collective("all_reduce", 1 << 20, topology="fat_tree:k=4")
    assert rnd.ideal_ps > seq.ideal_ps
    again = run_collective("all_reduce", 1 << 20, topology="fat_tree:k=4", placement="random", seed=3)
    assert again.time_ps == rnd.time_ps


def test_bad_arguments():
    with pytest.raises(ValueError, match="op = 'all_reduction'"):
        run_collective("all_reduction", 10, topology=switch(4))
    with pytest.raises(ValueError, match="algo = 'hier' for broadcast"):
        run_collective("broadcast", 10, topology=switch(4), algo="hier")
    with pytest.raises(ValueError, match="chunks = 0"):
        run_collective("all_reduce", 10, topology=switch(4), chunks=0)
    with pytest.raises(ValueError, match="placement = 'x'"):
        run_collective("all_reduce", 10, topology=switch(4), placement="x")
    with pytest.raises(ValueError, match="scale-up domain"):
        run_collective("all_reduce", 10, topology=switch(4), algo="hier")


def test_rail_placement_keeps_a_flat_ring_on_its_rails():
    from uesim.topologies import rail_optimized
    G = rail_optimized(4, gpus_per_server=4, n_spines=2)
    seq = run_collective("all_reduce", 1 << 20, topology=G, placement="sequential")
    rail = run_collective("all_reduce", 1 << 20, topology=G, placement="rail")
    # sequential neighbours sit on different rails (leaf -> spine -> leaf); rail-ordered
    # neighbours share a rail leaf except where the ring moves to the next rail
    assert rail.ideal_ps < seq.ideal_ps and rail.time_ps < seq.time_ps


def test_root_and_inter_algo():
    b = run_collective("broadcast", 1 << 20, topology=switch(8), algo="ring", root=5)
    first = min(range(len(b.run.start_ps)), key=lambda i: (b.run.start_ps[i], i))
    assert b.run.src[b.run.flow_id >= 0][0] == 5 and b.run.kind[first] == 0
    from uesim.topologies import hgx, hybrid, leaf_spine
    G = hybrid(hgx(4), leaf_spine(n_leaves=4, n_spines=8, hosts_per_leaf=8))
    ring = run_collective("all_reduce", 4 << 20, topology=G, algo="hier")
    hd = run_collective("all_reduce", 4 << 20, topology=G, algo="hier", inter_algo="hd")
    assert hd.phases[1]["name"] == "scale-out all-reduce (hd)"
    # 4 domains: hd needs 2 exchange levels per direction where the ring needs 3 steps
    assert hd.phases[1]["ideal_ps"] < ring.phases[1]["ideal_ps"]


def test_the_ideal_bounds_from_below_and_charges_shared_nics():
    # all-to-all: every GPU sends n-1 messages at once through its one NIC; the ideal is
    # their bytes at the NIC rate (plus ACKs), far above the critical path of one message
    from uesim.experiments.collectives.model import ideal_times
    n, S = 8, 8 << 20
    r = run_collective("all_to_all", S, topology=switch(n))
    m = S // n
    assert r.critical_ps == alpha(m) + tx(wire(m))
    assert r.ideal_ps == alpha(m) + tx((n - 1) * (wire(m) + acks(m)))
    assert r.endpoint_ps == r.ideal_ps - r.critical_ps > 6 * tx(wire(m))
    assert ideal_times.__doc__ and r.time_ps >= r.ideal_ps


def test_a_pinned_queue_pair_gets_one_port_of_a_multi_port_nic():
    # RoCE on an HGX server: a GPU has 4 NVLink ports of 900 Gb/s; one queue pair is held
    # to one of them, so its ideal is 4x the sprayed one's serialisation
    from uesim.experiments.presets import preset
    from uesim.topologies import hgx
    p_uet, p_roce = preset("uet"), preset("roce")
    uet = run_collective("send_recv", 8 << 20, topology=hgx(n_servers=1), n_ranks=2,
                         transport=p_uet["transport"], fabric=p_uet["fabric"])
    roce = run_collective("send_recv", 8 << 20, topology=hgx(n_servers=1), n_ranks=2,
                          transport=p_roce["transport"], fabric=p_roce["fabric"])
    assert roce.critical_ps == pytest.approx(4 * uet.critical_ps, rel=0.02)
    assert roce.sources["retransmits"] == 0 and abs(roce.stall_ps) <= 0.02 * roce.ideal_ps


@pytest.mark.parametrize("fabric, cause", [
    ({"buffer_bytes": 1_000_000, "trimming": True}, "loss_recovery"),     # trims, NACKs, resends
    ({"buffer_bytes": 1 << 30}, "queueing")])                             # deep queues, no loss
def test_the_stall_causes_add_up_to_the_stall(fabric, cause):
    # an 8:1 oversubscribed leaf-spine: the stall is real, and its parts sum to it exactly
    r = run_collective("all_to_all", 1 << 20, topology="leaf_spine:n_leaves=2,n_spines=1,hosts_per_leaf=8",
                       transport={"name": "uet", "cc": {"name": "nscc"}, "lb": {"name": "oblivious"}},
                       fabric=fabric)
    assert set(r.stall_by_cause) == set(runner_mod.CAUSES)
    assert sum(r.stall_by_cause.values()) == r.stall_ps
    assert r.stall_ps > 0.5 * r.ideal_ps and r.stall_by_cause[cause] > 0.5 * r.stall_ps


@pytest.mark.parametrize("op,algo,closed_form", [
    ("reduce_scatter", "ring", lambda n, S: (n - 1) * (alpha(S // n) + tx(wire(S // n) + acks(S // n)))),
    ("all_gather", "direct", lambda n, S: alpha(S // n) + tx((n - 1) * (wire(S // n) + acks(S // n)))),
    ("all_reduce", "direct", lambda n, S: 2 * (alpha(S // n) + tx((n - 1) * (wire(S // n) + acks(S // n))))),
    ("send_recv", "direct", lambda n, S: alpha(S) + tx(wire(S) + acks(S))),
    # a chain of n ranks, one slice: n - 1 hops one after the other, each the whole
    # buffer (a rank's ACKs leave before it sends, so they share no NIC with data)
    ("broadcast", "ring", lambda n, S: (n - 1) * (alpha(S) + tx(wire(S)))),
])
def test_the_ideal_is_the_closed_form_of_docs_collectives(op, algo, closed_form):
    n, S = 8, 1 << 20
    r = run_collective(op, S, topology=switch(n), algo=algo)
    assert r.ideal_ps == closed_form(n, S)


def test_the_ideal_never_falls_below_its_proven_bound():
    from uesim.experiments.collectives.model import ideal_in
    from uesim.experiments.simulation import Simulation
    from uesim.experiments.collectives.algorithms import compile_collective
    sim = Simulation("fat_tree:k=4")
    for op, algo in [("all_reduce", "tree"), ("all_reduce", "ring"), ("all_to_all", "direct"),
                     ("reduce", "tree")]:
        c = compile_collective(op, list(range(8)), 1 << 20, algo)
        ideal = ideal_in(sim, c.workload)
        assert ideal["total_ps"] == max(min(ideal["fair_share_ps"], ideal["priority_ps"]), ideal["bound_ps"])
        assert ideal["bound_ps"] >= ideal["critical_ps"]
        assert ideal["bound_ps"] >= 0.5 * ideal["nic_bound_ps"]


def test_a_result_warns_of_what_would_make_it_wrong():
    from uesim.experiments.collectives.runner import CollectiveResult
    ok = CollectiveResult("all_reduce", "ring", 8, 1 << 20, time_ps=1000, ideal_ps=1000, bound_ps=900,
                          sources={"finished": True, "timeouts_no_loss": 0})
    assert ok.warnings() == [] and ok.row()["warnings"] == ""
    inside = CollectiveResult("all_reduce", "ring", 8, 1 << 20, time_ps=950, ideal_ps=1000, bound_ps=900,
                              sources={"finished": True})
    assert inside.warnings() == ["time 5.0% inside the ideal"]
    below = CollectiveResult("all_reduce", "ring", 8, 1 << 20, time_ps=800, ideal_ps=1000, bound_ps=900,
                             sources={"finished": False, "timeouts_no_loss": 3})
    w = below.warnings()
    assert w[0].startswith("unfinished") and w[1].startswith("3 retransmission timeouts")
    assert "below the proven lower bound" in w[2]


def test_the_collective_cli_prints_its_checks(capsys):
    from uesim.experiments.frontends.collective import main
    assert main(["all_reduce", "-t", "fat_tree:k=4", "--gpus", "8", "-b", "64K"]) == 0
    out = capsys.readouterr().out
    assert "# checks: every size finished, 0 timeouts with nothing lost" in out


def test_a_stall_is_charged_to_pause_no_more_than_the_fabric_paused():
    from uesim.experiments.presets import preset
    p = preset("roce")
    topo = "leaf_spine:n_leaves=2,n_spines=1,hosts_per_leaf=8"      # 8:1 oversubscribed
    out = {}
    for buf in (2_000_000, 200_000):                  # PFC pauses only with the small buffers
        fab = dict(p["fabric"], buffer_bytes=buf, ecn={"kmin_bytes": 100_000, "kmax_bytes": 150_000, "pmax": 0.2})
        r = run_collective("all_to_all", 1 << 20, topology=topo, transport=p["transport"], fabric=fab)
        assert sum(r.stall_by_cause.values()) == r.stall_ps > 0.5 * r.ideal_ps
        assert r.stall_by_cause["pause"] <= r.sources["pfc_paused_ps"]
        out[buf] = r
    assert out[2_000_000].sources["pfc_paused_ps"] == 0 == out[2_000_000].stall_by_cause["pause"]
    assert out[200_000].stall_by_cause["pause"] > 0.5 * out[200_000].stall_ps


def test_pause_is_capped_by_the_paused_time():
    import numpy as np
    from types import SimpleNamespace
    from uesim.experiments.workloads.dag import Workload
    w = Workload()
    a = w.flow(0, 1, 1000)
    w.flow(1, 2, 1000, after=[a])
    run = SimpleNamespace(done=True, start_ps=np.array([0, 150]), end_ps=np.array([150, 300]),
                          flow_id=np.array([0, 1]))
    counts = {k: np.zeros(2, dtype=np.int64) for k in ("retx_packets", "timeouts", "ooo_discards")}
    ideal = np.array([100, 200])             # each message 50 late
    causes = runner_mod.stall_by_cause(w, run, counts, ideal, 0, 100, paused_ps=70)
    assert causes == {"loss_recovery": 0, "reordering": 0, "pause": 70, "queueing": 30, "other": 0}


@pytest.mark.parametrize("spec", ["fat_tree:k=4", "hybrid"])
def test_path_latency_is_a_shortest_path_searched_once_per_group_of_alike_hosts(spec):
    import networkx as nx
    from uesim.experiments.collectives.model import PathModel, SCALE_OUT, SCALE_UP
    from uesim.topologies import hgx, hybrid, leaf_spine, parse_topology_spec
    G = hybrid(hgx(2), leaf_spine(2, 2, 8)) if spec == "hybrid" else parse_topology_spec(spec)
    pm = PathModel(G, mtu_bytes=MTU, header_bytes=HDR)
    gpus = pm.hosts
    for a in range(len(gpus)):
        for b in range(len(gpus)):
            if a == b:
                continue
            fab = pm.fabric_of(a, b)
            # GPUs do not forward: drop the other GPUs, keep the fabric's edges
            H = G.edge_subgraph([(u, v) for u, v, d in G.edges(data=True)
                                 if not pm.hybrid or d.get("fabric", SCALE_OUT) == fab])
            H = H.subgraph([n for n in H if n in (gpus[a], gpus[b]) or G.nodes[n].get("kind") != "gpu"])
            path = nx.shortest_path(H, gpus[a], gpus[b])
            links = [G.edges[u, v] for u, v in zip(path, path[1:])]
            last = min(MTU, 65536 + HDR)
            expected = sum(d["delay_ps"] for d in links) + sum(tx(last, d["rate_bps"]) for d in links[1:])
            assert pm.alpha_ps(a, b, 65536) == expected
            if spec == "hybrid":
                assert fab == (SCALE_UP if a // 8 == b // 8 else SCALE_OUT)
    # one search per group of hosts with the same links (plus one per group representative)
    groups = len({pm._signature(a, f) for a in range(len(gpus)) for f in (SCALE_UP, SCALE_OUT)})
    assert len(pm._paths) <= 2 * groups + len(gpus)


def test_the_priority_schedule_is_tried_by_the_work_it_costs():
    from uesim.experiments.collectives.algorithms import compile_collective
    from uesim.experiments.collectives.model import ideal_in
    from uesim.experiments.simulation import Simulation
    from uesim.topologies import hgx, hybrid, leaf_spine
    sim = Simulation(hybrid(hgx(4), leaf_spine(4, 8, 8)))
    # a flat ring over 32 GPUs of 4 HGX servers: few messages in flight at once, so the
    # longest-tail-first schedule runs, and beats fair sharing (older messages first)
    ring = ideal_in(sim, compile_collective("all_reduce", list(range(32)), 1 << 20, "ring").workload)
    assert ring["priority_ps"] is not None and ring["priority_ps"] < ring["fair_share_ps"]
    assert ring["total_ps"] == max(ring["priority_ps"], ring["bound_ps"])
    # an all-to-all puts every message in flight at once: too costly, fair share alone
    import uesim.experiments.collectives.model as model
    a2a = compile_collective("all_to_all", list(range(32)), 1 << 20, "direct").workload
    from uesim.fabric.fluid import widest_level
    arr = a2a.arrays()
    assert widest_level(arr["succ_ptr"], arr["succ"], arr["kind"]) == 32 * 31
    old = model.PRIORITY_MAX_WORK
    try:
        model.PRIORITY_MAX_WORK = 32 * 31 * 32 * 31 - 1
        assert ideal_in(sim, a2a)["priority_ps"] is None
    finally:
        model.PRIORITY_MAX_WORK = old



def test_the_causes_add_up_along_a_path_with_ideal_slack():
    """c waits for a and b; in the ideal a is its last predecessor (b had 50 ps of slack),
    in the run b is (110 ps late): b delayed c by 60 ps, the stall, and is charged that,
    not all of its own 110 ps (which the old split charged, explaining 183%)."""
    import numpy as np
    from types import SimpleNamespace
    from uesim.experiments.workloads.dag import Workload
    w = Workload()
    a = w.flow(0, 1, 1000)
    b = w.flow(2, 3, 1000)
    w.flow(1, 3, 1000, after=[a, b])
    run = SimpleNamespace(done=True, start_ps=np.array([0, 0, 160]), end_ps=np.array([100, 160, 260]),
                          flow_id=np.array([0, 1, 2]))
    counts = {k: np.zeros(3, dtype=np.int64) for k in ("retx_packets", "timeouts", "ooo_discards")}
    counts["retx_packets"][1] = 2                 # b resent: its share is loss recovery
    ideal = np.array([100, 50, 200])
    causes = runner_mod.stall_by_cause(w, run, counts, ideal, 0, 60, paused_ps=0)
    assert causes == {"loss_recovery": 60, "reordering": 0, "pause": 0, "queueing": 0, "other": 0}
    assert sum(causes.values()) == 60
    # the same run starting at t0 = 1000: the same split
    later = SimpleNamespace(done=True, start_ps=run.start_ps + 1000, end_ps=run.end_ps + 1000,
                            flow_id=run.flow_id)
    assert runner_mod.stall_by_cause(w, later, counts, ideal, 1000, 60, paused_ps=0) == causes


def test_a_compute_node_on_the_path_counts_with_the_message_before_it():
    """a -> compute (30 ps) -> c, with b (slack 40 in the ideal) also before the compute:
    in the run b is last; the compute gives back b's slack, charged to b."""
    import numpy as np
    from types import SimpleNamespace
    from uesim.experiments.workloads.dag import Workload
    w = Workload()
    a = w.flow(0, 1, 1000)
    b = w.flow(2, 1, 1000)
    k = w.compute(1, 30, after=[a, b])
    w.flow(1, 3, 1000, after=[k])
    run = SimpleNamespace(done=True, start_ps=np.array([0, 0, 150, 180]), end_ps=np.array([100, 150, 180, 300]),
                          flow_id=np.array([0, 1, -1, 2]))
    counts = {key: np.zeros(3, dtype=np.int64) for key in ("retx_packets", "timeouts", "ooo_discards")}
    ideal = np.array([100, 60, 130, 230])      # b 60 in the ideal: 40 before the compute starts
    causes = runner_mod.stall_by_cause(w, run, counts, ideal, 0, 70, paused_ps=0)
    # c: 120 - 100 = 20 late; b: 150 - 60 = 90 late, less its 40 of slack = 50
    assert causes == {"loss_recovery": 0, "reordering": 0, "pause": 0, "queueing": 70, "other": 0}


def test_the_last_message_is_charged_only_what_delayed_the_end():
    """Two independent messages: in the ideal b ends last (at 300), in the run a does (at
    320, 220 late); the collective ended 20 late, and a is charged those 20. With an
    ideal of 310 (its proven bound above the schedule's 300) the 10 is ``other``."""
    import numpy as np
    from types import SimpleNamespace
    from uesim.experiments.workloads.dag import Workload
    w = Workload()
    w.flow(0, 1, 1000)
    w.flow(2, 3, 1000)
    run = SimpleNamespace(done=True, start_ps=np.array([0, 0]), end_ps=np.array([320, 290]),
                          flow_id=np.array([0, 1]))
    counts = {k: np.zeros(2, dtype=np.int64) for k in ("retx_packets", "timeouts", "ooo_discards")}
    ideal = np.array([100, 300])
    assert runner_mod.stall_by_cause(w, run, counts, ideal, 0, 20, paused_ps=0) == {
        "loss_recovery": 0, "reordering": 0, "pause": 0, "queueing": 20, "other": 0}
    assert runner_mod.stall_by_cause(w, run, counts, ideal, 0, 10, paused_ps=0) == {
        "loss_recovery": 0, "reordering": 0, "pause": 0, "queueing": 20, "other": -10}
