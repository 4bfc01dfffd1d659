"""The Ultra Ethernet transport (protocols/uet): exact single-flow times, SACK and credit
helpers, trimming -> NACK -> retransmission, modes, plug-ins, and agreement with htsim."""
import json
from pathlib import Path

import numpy as np
import pytest

from uesim.experiments import check_scenario, run_scenario
from uesim.fabric import FabricConfig, build_network
from uesim.protocols import CongestionControl, LoadBalancer, ObliviousSpray
from uesim.protocols.cc.nscc import Nscc
from uesim.protocols.uet import UetFlow, rccc_credit_request, sack_bitmap, sacked_psns
from uesim.topologies import fat_tree

REF = Path(__file__).resolve().parents[2] / "benchmarks" / "reference" / "htsim"
HTSIM_FABRIC = {"buffer_bdp": 1.0, "trimming": True, "trim_tail_prob": 0.5,
                "ecn": {"kmin_bytes": 37350, "kmax_bytes": 145250, "pmax": 1.0, "at_dequeue": True}}


def htsim_scenario(k, cm, *, cc=None, lb=None, seed=1, **transport):
    return check_scenario({
        "seed": seed,
        "topology": {"generator": "fat_tree", "k": k},
        "fabric": dict(HTSIM_FABRIC),
        "transport": {"name": "uet", "mtu_bytes": 4150, "cc": cc or {"name": "nscc"},
                      "lb": lb or {"name": "oblivious", "n_paths": 128}, **transport},
        "traffic": {"pattern": "cm", "file": str(REF / cm)},
    })


def htsim_config(**kw):
    base = dict(buffer_bytes=178450, trimming=True, trim_tail_prob=0.5, ecn_kmin_bytes=37350,
                ecn_kmax_bytes=145250, ecn_pmax=1.0, ecn_at_dequeue=True, seed=1)
    base.update(kw)
    return FabricConfig(**base)


def test_single_flow_is_exact():
    # htsim's store-and-forward formula (MODEL-uec.md §2): 489 full packets of 4150 B and a
    # last one of 2010 B over 6 hops of 100 Gb/s and 1 us, an ACK of 64 B back
    built = build_network(fat_tree(4), config=htsim_config())
    f = UetFlow(0, 0, 13, 2_000_000, 0, CongestionControl(262_926, 4150), ObliviousSpray(1, 128),
                mtu_bytes=4150).attach(built.net, base_rtt_ps=14_022_720, trimming=True)
    built.sim.run()
    n, hops = 490, 6
    expected = (n - 2) * 332_000 + hops * 1_332_000 + 160_800 + hops * 1_005_120
    assert f.finished and f.fct_ps == expected == 176_199_520
    assert (f.new_packets, f.retx_packets, f.nacks_received) == (490, 0, 0)
    # every packet ends acknowledged, and nothing is left counted in flight
    assert {f.psn_state(q)["state"] for q in range(f.n_packets)} == {"acked"}
    assert f.inflight_bytes == 0
    # ACK every 16 KiB (every 4th full packet), plus the first and the ack-requested last
    assert f.acks_sent == f.acks_received and 120 <= f.acks_sent <= 130


def test_ack_every_bytes_moves_the_ack_count():
    counts = {}
    for every in (16384, 4150):
        built = build_network(fat_tree(4), config=htsim_config())
        f = UetFlow(0, 0, 13, 400_000, 0, CongestionControl(262_926, 4150), ObliviousSpray(1, 8),
                    mtu_bytes=4150, ack_every_bytes=every).attach(built.net, base_rtt_ps=14_022_720)
        built.sim.run()
        counts[every] = f.acks_sent
    assert counts[4150] == f.n_packets == 98         # one per packet
    assert counts[16384] < counts[4150] / 3


def test_sack_bitmap_and_its_reading():
    received = [1, 1, 0, 1, 0, 0, 1, 1]
    bits = sack_bitmap(received, 1)
    assert bits == 0b1100101
    assert sacked_psns(1, bits, len(received)) == [1, 3, 6, 7]
    assert sack_bitmap(received, 6) == 0b11                       # stops at the last PSN
    assert sack_bitmap([1] * 10, 6, n_packets=8) == 0b11           # never past the flow's end
    assert sacked_psns(100, (1 << 64) - 1, 130) == list(range(100, 130))


def test_rccc_credit_request():
    kw = dict(rtx_backlog=0, window_cap=266_000, max_credit=262_926, mtu=4150)
    # capped by the maximum credit, less the credit held, in whole 256 B quanta
    assert rccc_credit_request(backlog=10**6, credit=0, speculating=False, **kw) == 263_168
    assert rccc_credit_request(backlog=10**6, credit=100_000, speculating=False, **kw) == 163_072
    # a nearly done sender asks only for its backlog; speculating, at least one MTU
    assert rccc_credit_request(backlog=5000, credit=4000, speculating=False, **kw) == 1024
    assert rccc_credit_request(backlog=5000, credit=4000, speculating=True, **kw) == 4352
    assert rccc_credit_request(backlog=0, credit=1000, speculating=False, **kw) == 0


def test_incast_trims_nacks_and_recovers():
    res = run_scenario(htsim_scenario(4, "incast.cm", lb={"name": "mixed", "n_paths": 64}))
    cols, s = res.flow_columns(), res.stats
    assert cols["finished"].all()
    assert s["packets_trimmed"] > 100 and s["packets_dropped"] == 0
    # every trimmed packet is NACKed and sent again.  A sender whose window shrank below
    # packets it sent without the ack-request bit can stall until its RTO (htsim has the
    # same rules, SLEEK off; it measured 0 RTOs on its seed): rare, never a hang
    assert s["nacks"] == s["packets_trimmed"]
    assert s["nacks"] <= s["packets_rtx"] <= s["nacks"] + 4
    assert cols["timeouts"].sum() <= 2
    ref = json.loads((REF / "ranges.json").read_text())["incast15"]
    fct = cols["fct_us"]
    for key, value in (("p50", np.percentile(fct, 50)), ("last", fct.max())):
        lo, hi = ref[key]
        assert lo * 0.95 <= value <= hi * 1.05, (key, value, ref[key])


@pytest.mark.parametrize("lb", ["oblivious", "reps"])
def test_perm16_inside_htsim_range(lb):
    res = run_scenario(htsim_scenario(4, "perm_16n_16c_2MB.cm", lb={"name": lb, "n_paths": 128}))
    fct = res.flow_columns()["fct_us"]
    ref = json.loads((REF / "ranges.json").read_text())["perm16"]
    for key, value in (("p50", np.percentile(fct, 50)), ("p99", np.percentile(fct, 99)),
                       ("last", fct.max())):
        lo, hi = ref[key]
        assert lo * 0.95 <= value <= hi * 1.05, (key, value, ref[key])


def test_same_seed_same_results_and_seed_matters():
    a = run_scenario(htsim_scenario(4, "incast.cm", seed=3)).flow_columns()["end_ps"]
    b = run_scenario(htsim_scenario(4, "incast.cm", seed=3)).flow_columns()["end_ps"]
    c = run_scenario(htsim_scenario(4, "incast.cm", seed=4)).flow_columns()["end_ps"]
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_trimming_off_drops_and_times_out():
    sc = htsim_scenario(4, "incast.cm")
    sc["fabric"]["trimming"] = False
    res = run_scenario(sc)
    s = res.stats
    assert s["packets_trimmed"] == 0 and s["packets_dropped"] > 0
    assert res.flow_columns()["timeouts"].sum() > 0 and res.flow_columns()["finished"].all()


def test_receiver_credit_sends_pulls():
    res = run_scenario(htsim_scenario(4, "perm_16n_16c_2MB.cm", receiver_cc=True))
    assert res.flow_columns()["finished"].all()
    base = run_scenario(htsim_scenario(4, "perm_16n_16c_2MB.cm"))
    # pulls are extra control packets: more packet-hops than without receiver credit
    assert res.stats["packet_hops"] > base.stats["packet_hops"]


@pytest.mark.parametrize("mode", ["rod", "uud"])
def test_modes_finish(mode):
    built = build_network(fat_tree(4), config=htsim_config())
    lb = LoadBalancer(1) if mode == "rod" else ObliviousSpray(1, 16)   # ROD keeps one path
    f = UetFlow(0, 0, 13, 300_000, 0, CongestionControl(262_926, 4150), lb, mtu_bytes=4150,
                mode=mode).attach(built.net, base_rtt_ps=14_022_720)
    built.sim.run()
    assert f.finished and f.mode_name == mode
    if mode == "uud":
        assert f.acks_sent == 0 and f.rx_packets == f.n_packets


def test_timeout_reports_the_lost_packets_entropy():
    class Recorder(LoadBalancer):
        def __init__(self, seed=0):
            super().__init__(seed)
            self.sent, self.timeouts, self.n = [], [], 0

        def next_entropy(self):
            self.n += 1
            self.sent.append(self.n)
            return self.n

        def on_feedback(self, entropy, ecn=False, nack=False, timeout=False):
            if timeout:
                self.timeouts.append(entropy)

    built = build_network(fat_tree(4), config=htsim_config(trimming=False))
    lb = Recorder()
    f = UetFlow(0, 0, 13, 50_000, 0, CongestionControl(262_926, 4150), lb, mtu_bytes=4150,
                rto_ps=50_000_000).attach(built.net, base_rtt_ps=14_022_720)
    # take the receiver's downlink down for a while: everything sent meanwhile is lost
    tor = built.node_index[next(iter(built.graph.adj["gpu13"]))]
    down = [p for p in built.net.next_hops(tor, 13)]
    for p in down:
        built.net.set_port_up(p, False)
    built.sim.schedule_at(20_000_000, lambda: [built.net.set_port_up(p, True) for p in down])
    built.sim.run()
    assert f.finished and f.timeouts >= 1
    assert lb.timeouts and set(lb.timeouts) <= set(lb.sent[:f.n_packets])


def test_python_cc_plugin_runs_and_compiled_only_override_is_refused():
    calls = []

    class Halving(CongestionControl):
        def on_ack(self, ctx):
            calls.append((ctx.acked_bytes, ctx.rtt_ps, ctx.base_rtt_ps, ctx.bdp_bytes))
            if ctx.ecn:
                self.cwnd_bytes = max(self.mtu_bytes, self.cwnd_bytes // 2)

    built = build_network(fat_tree(4), config=htsim_config())
    f = UetFlow(0, 0, 13, 200_000, 0, Halving(100_000, 4150), ObliviousSpray(1, 8),
                mtu_bytes=4150).attach(built.net, base_rtt_ps=14_022_720)
    built.sim.run()
    assert f.finished and calls
    assert calls[0][2:] == (14_022_720, 175_284)
    assert sum(c[0] for c in calls) == f.n_packets * 64 + 200_000     # every wire byte acked once

    class Sneaky(UetFlow):
        def on_packet(self, p):          # compiled code would never call this
            pass

    with pytest.raises(TypeError, match="on_packet overrides a method that only compiled code"):
        Sneaky(0, 0, 1, 1000, 0, CongestionControl(10_000, 4150), ObliviousSpray(1, 8))


def test_window_limits_inflight_and_ar_bit_paces_acks():
    # a window of 3 packets: the flow runs at about 3 packets per RTT, not line rate
    built = build_network(fat_tree(4), config=htsim_config())
    f = UetFlow(0, 0, 13, 400_000, 0, CongestionControl(3 * 4150, 4150), ObliviousSpray(1, 8),
                mtu_bytes=4150).attach(built.net, base_rtt_ps=14_022_720)
    built.sim.run()
    rtts = f.n_packets / 3
    assert f.finished and f.fct_ps > 0.9 * rtts * 14_022_720


def test_a_flow_that_cannot_finish_gives_up_and_the_run_ends():
    # the receiver's only link is down for good: a packet times out, is sent again,
    # times out again ... after max_rto_retries retries the sender gives up, and the run
    # ends with the flow reported unfinished
    built = build_network(fat_tree(4), config=htsim_config())
    f = UetFlow(0, 0, 13, 50_000, 0, CongestionControl(262_926, 4150), ObliviousSpray(1, 8),
                mtu_bytes=4150, rto_ps=10_000_000, max_rto_retries=5).attach(built.net)
    tor = built.node_index[next(iter(built.graph.adj["gpu13"]))]
    for p in built.net.next_hops(tor, 13):
        built.net.set_port_up(p, False)
    built.sim.run()
    assert f.aborted and not f.finished
    # the packet that gave up was sent once and retried five times
    assert max(f.psn_state(q)["transmissions"] for q in range(f.n_packets)) == 6
    assert built.sim.now < 100_000_000


def test_cc_timers_fire_at_their_time_and_rearming_replaces():
    fired = []

    class Paced(CongestionControl):
        def on_start(self, ctx):
            ctx.arm_timer(ctx.now_ps + 5_000_000, 1)
            ctx.arm_timer(ctx.now_ps + 7_000_000, 2)
            ctx.arm_timer(ctx.now_ps + 9_000_000, 2)     # replaces the 7 us one

        def on_timer(self, ctx, kind):
            fired.append((kind, ctx.now_ps))
            if kind == 1:
                self.cwnd_bytes = 2 * 4150                # the window changes mid-flow

    built = build_network(fat_tree(4), config=htsim_config())
    f = UetFlow(0, 0, 13, 400_000, 0, Paced(262_926, 4150), ObliviousSpray(1, 8),
                mtu_bytes=4150).attach(built.net, base_rtt_ps=14_022_720)
    built.sim.run()
    assert fired == [(1, 5_000_000), (2, 9_000_000)]
    assert f.finished and f.cc.cwnd_bytes == 8300
    with pytest.raises(ValueError, match="timer kind"):
        f.ctx.arm_timer(0, 9)


def test_spurious_timeouts_leave_the_in_flight_count_exact():
    # an RTO far below the RTT: packets time out while their ACKs are on the way; when
    # the ACK comes, a packet queued for retransmission is taken back into the count
    built = build_network(fat_tree(4), config=htsim_config())
    f = UetFlow(0, 0, 13, 200_000, 0, CongestionControl(262_926, 4150), ObliviousSpray(1, 8),
                mtu_bytes=4150, rto_ps=8_000_000).attach(built.net, base_rtt_ps=14_022_720)
    built.sim.run()
    assert f.finished and f.timeouts > 0 and f.retx_packets > 0
    assert f.inflight_bytes == 0


def test_timeouts_of_different_packets_do_not_add_up_to_giving_up():
    # three outages, each making several packets time out once or twice: a flow allowed
    # two retries per packet must still finish
    built = build_network(fat_tree(4), config=htsim_config())
    f = UetFlow(0, 0, 13, 2_000_000, 0, CongestionControl(262_926, 4150), ObliviousSpray(1, 8),
                mtu_bytes=4150, rto_ps=30_000_000, max_rto_retries=2).attach(built.net)
    tor = built.node_index[next(iter(built.graph.adj["gpu13"]))]
    down = built.net.next_hops(tor, 13)
    for start in (20_000_000, 150_000_000, 280_000_000):
        built.sim.schedule_at(start, lambda: [built.net.set_port_up(p, False) for p in down])
        built.sim.schedule_at(start + 40_000_000, lambda: [built.net.set_port_up(p, True) for p in down])
    built.sim.run()
    assert f.timeouts >= 3 and f.finished and not f.aborted


def test_a_late_ack_of_a_packet_waiting_for_retransmission_restores_the_count():
    # NSCC shrinks the window on a timeout, so with an RTO below the incast's RTT packets
    # wait in the retransmission queue; the late ACK of such a packet must take it back
    # into the in-flight count before the received-bytes echo takes it out
    built = build_network(fat_tree(4), config=htsim_config())
    flows = [UetFlow(i, i, 15, 300_000, 0, Nscc(mtu_bytes=4150), ObliviousSpray(i, 8), mtu_bytes=4150,
                     rto_ps=6_000_000, sender_cc=True).attach(built.net, base_rtt_ps=14_022_720)
             for i in range(8)]
    built.sim.run()
    assert all(f.finished for f in flows)
    assert sum(f.timeouts for f in flows) > 100
    assert [f.inflight_bytes for f in flows] == [0] * 8


class _CutOnFirstAck(CongestionControl):
    """Starts at ``cwnd_bytes``; the first ACK cuts the window to one packet (as NSCC's
    multiplicative decrease can, to its minimum, while packets are in flight)."""

    def on_ack(self, ctx):
        self.cwnd_bytes = self.mtu_bytes


def test_a_window_cut_below_what_is_in_flight_asks_for_an_ack_instead_of_timing_out():
    # a window far above what one round trip sends: about 40 packets leave at line rate
    # before the first ACK, none with an ack request; the ACK cuts the window to one
    # packet, later ACKs (one per 16 KiB) bring what is in flight down to fewer than 4
    # packets, which the receiver would never answer: without the ACK request the sender
    # waits for its RTO with nothing lost
    built = build_network(fat_tree(4), config=htsim_config())
    f = UetFlow(0, 0, 13, 400_000, 0, _CutOnFirstAck(1_000_000, 4150), ObliviousSpray(1, 8),
                mtu_bytes=4150, rto_ps=1_000_000_000).attach(built.net, base_rtt_ps=14_022_720)
    built.sim.run()
    assert f.finished and f.timeouts == 0 and f.timeouts_no_loss == 0
    assert f.ack_requests > 0
    # one packet per round trip after the cut (about 97 packets), nowhere near an RTO
    assert f.fct_ps < 1.5 * f.n_packets * 14_022_720


def test_a_timed_out_packet_the_receiver_had_counts_as_a_timeout_with_no_loss():
    # an RTO below the RTT: packets time out while their ACKs are on the way, nothing lost
    built = build_network(fat_tree(4), config=htsim_config())
    f = UetFlow(0, 0, 13, 200_000, 0, CongestionControl(262_926, 4150), ObliviousSpray(1, 8),
                mtu_bytes=4150, rto_ps=12_000_000).attach(built.net, base_rtt_ps=14_022_720)
    built.sim.run()
    assert built.net.dropped == 0 and built.net.trimmed == 0
    assert f.timeouts > 0 and 0 < f.timeouts_no_loss <= f.retx_packets
