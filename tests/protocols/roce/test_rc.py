"""The RoCE RC transport: timing, go-back-N, timeouts, duplicates, ACK coalescing, CNPs."""
import doctest

import pytest

from uesim.fabric import build_network
from uesim.protocols import CongestionControl, FixedEntropy
from uesim.protocols.roce import NoCongestionControl, RoceFlow
from uesim.topologies import fat_tree, leaf_spine

G100 = 100_000_000_000
US = 1_000_000
TX_DATA = 325_120      # 4064 B at 100 Gb/s
TX_ACK = 5_120         # 64 B


def star(n_hosts=2, **cfg):
    """``n_hosts`` hosts on one switch, 100 Gb/s, 1 us links."""
    from uesim.fabric import FabricConfig
    G = leaf_spine(1, 1, n_hosts, host_rate_bps=G100, fabric_rate_bps=G100, delay_ps=US)
    return build_network(G, config=FabricConfig(**cfg))


def downlink(built, host):
    name = built.host_names[host]
    (port,) = [p for p, (a, b, _) in enumerate(built.port_link) if b == name]
    return port


def flow(built, src, dst, size, **kw):
    kw.setdefault("mtu_bytes", 4064)
    return RoceFlow(src * 100 + dst, src, dst, size, 0, kw.pop("cc", None),
                    kw.pop("lb", FixedEntropy(7)), **kw).attach(built.net)


def test_docstring_examples():
    import uesim.protocols.roce.rc as m
    res = doctest.testmod(m, optionflags=doctest.ELLIPSIS)
    assert res.failed == 0 and res.attempted >= 5


@pytest.mark.parametrize("dst, hops, fct_ns", [(1, 2, 166_900), (2, 4, 171_560), (15, 6, 176_220)])
def test_single_flow_matches_the_closed_form(dst, hops, fct_ns):
    # MODEL-roce.md 3: (n-1) data serialisations + per hop a data packet and an ACK
    built = build_network(fat_tree(4, rate_bps=G100, delay_ps=US))
    f = flow(built, 0, dst, 2_000_000)
    built.sim.run()
    exact = 499 * TX_DATA + hops * (TX_DATA + US) + hops * (TX_ACK + US)
    assert f.finished and f.fct_ps == exact
    assert round(f.fct_ps / 1000, -1) == fct_ns
    assert (f.sent_packets, f.retx_packets, f.nacks_received, f.timeouts) == (500, 0, 0, 0)
    assert f.acks_sent == 500 and f.rx_packets == 500
    assert built.net.live_packets == 0 and built.net.sent == built.net.delivered == 1000
    # restarting the timer per ACK moves a deadline; it costs no event
    assert f.rto_events <= 1


def test_htsim_extra_packet_is_an_option():
    for extra, sent in ((False, 500), (True, 501)):
        built = build_network(fat_tree(4, rate_bps=G100, delay_ps=US))
        f = flow(built, 0, 15, 2_000_000, htsim_extra_packet=extra)
        built.sim.run()
        assert f.finished and f.sent_packets == sent
        # the extra packet leaves after the last one: the completion time is the same
        assert f.fct_ps == 499 * TX_DATA + 6 * (TX_DATA + US) + 6 * (TX_ACK + US)
    # not a multiple of the payload: no extra packet, as htsim
    built = build_network(fat_tree(4, rate_bps=G100, delay_ps=US))
    f = flow(built, 0, 15, 2_001_000, htsim_extra_packet=True)
    built.sim.run()
    assert f.sent_packets == f.n_packets == 501


@pytest.mark.parametrize("every, acks", [(1, 500), (4, 125), (3, 167), (1000, 1)])
def test_ack_coalescing_acks_every_n_and_always_the_last(every, acks):
    built = star()
    f = flow(built, 0, 1, 2_000_000, ack_every_packets=every)
    built.sim.run()
    assert f.finished and f.acks_sent == acks == f.acks_received
    # the last packet is acknowledged at once: the completion time does not change
    assert f.fct_ps == 499 * TX_DATA + 2 * (TX_DATA + US) + 2 * (TX_ACK + US)


def run_with_port_down(built, port, t_down, t_up):
    built.sim.run(until_ps=t_down)
    built.net.set_port_up(port, False)
    built.sim.run(until_ps=t_up)
    built.net.set_port_up(port, True)
    built.sim.run()


def test_a_lost_packet_is_nacked_once_and_resent_go_back_n():
    built = star()
    f = flow(built, 0, 1, 1_000_000)
    # packet k reaches the switch at (k + 1) x TX + 1 us: drop exactly packet 100
    t = 101 * TX_DATA + US
    run_with_port_down(built, downlink(built, 1), t - TX_DATA // 2, t + TX_DATA // 2)
    assert f.finished and f.rx_packets == f.n_packets
    assert built.net.port_counters()["drops"][downlink(built, 1)] == 1
    assert f.nacks_sent == 1 == f.nacks_received and f.go_back_n == 1
    assert f.ooo_discards >= 1 and f.dup_packets == 0
    # go back N: the lost packet and everything sent after it until the NACK came back
    assert f.retx_packets == f.ooo_discards + 1
    assert f.sent_packets == f.n_packets + f.retx_packets
    assert f.timeouts == 0
    # one NACK per gap: more lost packets later in the same gap episode add none
    built2 = star()
    g = flow(built2, 0, 1, 1_000_000)
    run_with_port_down(built2, downlink(built2, 1), t - TX_DATA // 2, t + 3 * TX_DATA + TX_DATA // 2)
    assert built2.net.port_counters()["drops"][downlink(built2, 1)] == 4
    assert g.finished and g.nacks_sent == 1 and g.go_back_n == 1


def test_many_drops_all_flows_finish():
    # a 5-packet buffer and two flows paced at 80 Gb/s into one port: drops, NACKs, and
    # retransmissions lost again (the gap was NACKed once already: the timer recovers)
    built = star(3, buffer_bytes=5 * 4064)
    fs = []
    for s in (1, 2):
        cc = NoCongestionControl()
        cc.rate_bps = 80_000_000_000
        fs.append(flow(built, s, 0, 1_000_000, cc=cc, min_rto_ps=100 * US))
    built.sim.run()
    assert built.net.port_counters()["drops"].sum() > 10
    assert sum(f.nacks_received for f in fs) >= 1 and sum(f.ooo_discards for f in fs) > 0
    for f in fs:
        assert f.finished and f.rx_packets == f.n_packets
        assert f.sent_packets == f.new_packets + f.retx_packets
        assert f.nacks_received <= f.nacks_sent
    assert any(f.retx_packets > 0 and f.timeouts > 0 for f in fs)
    # every packet (data, ACK, NACK) was delivered or dropped, and given back to the pool
    net = built.net
    assert net.live_packets == 0 and net.sent == net.delivered + net.dropped
    assert net.check_invariants() == []


def test_a_lost_last_packet_is_resent_after_the_timeout():
    built = star()
    f = flow(built, 0, 1, 400_000, min_rto_ps=50 * US)
    n = f.n_packets
    t = n * TX_DATA + US
    run_with_port_down(built, downlink(built, 1), t - TX_DATA // 2, t + TX_DATA // 2)
    assert f.finished and f.timeouts == 1 and f.nacks_received == 0
    assert f.retx_packets == 1 and f.go_back_n == 1
    # the timer was restarted by the ACK of the packet before: it fires one RTO later
    assert f.fct_ps > 50 * US
    # htsim arms no timer: min_rto_ps = 0 never recovers
    built = star()
    g = flow(built, 0, 1, 400_000, min_rto_ps=0)
    run_with_port_down(built, downlink(built, 1), t - TX_DATA // 2, t + TX_DATA // 2)
    assert not g.finished and g.timeouts == 0


def test_retry_limit_aborts_a_queue_pair_that_cannot_progress():
    built = star()
    f = flow(built, 0, 1, 400_000, min_rto_ps=20 * US, retry_limit=3)
    built.net.set_port_up(downlink(built, 1), False)
    built.sim.run()
    assert f.aborted and not f.finished and f.timeouts == 4


def test_an_aborted_queue_pair_stops_its_congestion_control_timers():
    """DCQCN re-arms its timers from its own timer hook: a queue pair that gave up must
    cancel them, or the run never drains."""
    from uesim.protocols.cc.dcqcn import Dcqcn
    built = star()
    f = flow(built, 0, 1, 400_000, min_rto_ps=20 * US, retry_limit=3, cc=Dcqcn(mtu_bytes=4064))
    built.net.set_port_up(downlink(built, 1), False)
    until = 100_000 * US
    built.sim.run(until_ps=until)
    assert f.aborted
    # 503 events with the timers cancelled; about 4,100 when they keep ticking to `until`
    assert built.sim.pending_events == 0 and built.sim.events < 1000


def test_a_spurious_timeout_makes_duplicates_that_are_discarded():
    built = star()
    f = flow(built, 0, 1, 400_000, min_rto_ps=2 * US)   # below the 4.66 us RTT
    built.sim.run()
    assert f.finished and f.timeouts >= 1
    assert f.dup_packets > 0 and f.rx_packets == f.n_packets
    # after the first RTT sample the timer is above the RTT: no more timeouts
    assert f.rto_ps > 4 * US


def test_window_cap_limits_bytes_in_flight():
    built = star()
    cc = CongestionControl(2 * 4064, 4064)
    f = flow(built, 0, 1, 400_000, cc=cc)
    built.sim.run()
    # two packets per RTT (4.66 us) instead of line rate
    rtt = 2 * (TX_DATA + US) + 2 * (TX_ACK + US)
    assert f.finished and f.fct_ps > (f.n_packets // 2 - 1) * rtt


def test_pacing_follows_the_congestion_control_rate():
    built = star()
    cc = NoCongestionControl()
    cc.rate_bps = G100 // 4
    f = flow(built, 0, 1, 400_000, cc=cc)
    built.sim.run()
    gap = 4 * TX_DATA
    assert f.finished and abs(f.fct_ps - ((f.n_packets - 1) * gap + 2 * (TX_DATA + US) + 2 * (TX_ACK + US))) < 1000


def marking_star(n_hosts=2):
    """A star whose downlink to host 0... n runs at half rate, with ECN marking every
    packet that finds a queue (kmin = kmax = 0)."""
    built = star(n_hosts, ecn_kmin_bytes=0, ecn_kmax_bytes=0, ecn_pmax=1.0)
    for h in range(n_hosts):
        built.net.set_port_rate(downlink(built, h), G100 // 2)
    return built


@pytest.mark.parametrize("interval_us", [0, 10, 50])
def test_at_most_one_cnp_per_interval_per_qp(interval_us):
    built = marking_star()
    f = flow(built, 0, 1, 2_000_000, cnp_interval_ps=interval_us * US)
    built.sim.run()
    # every packet but the first finds the one before it still in the queue
    assert f.ce_received == f.n_packets - 1
    if interval_us == 0:
        assert f.cnps_sent == f.n_packets - 1
    else:
        # marked packets arrive every 2 x TX; a CNP goes with the first of them at least
        # one interval after the previous CNP
        sent, last = 0, None
        for j in range(f.n_packets - 1):
            t = j * 2 * TX_DATA
            if last is None or t - last >= interval_us * US:
                sent, last = sent + 1, t
        assert f.cnps_sent == sent
        assert sent <= (f.n_packets - 2) * 2 * TX_DATA // (interval_us * US) + 1
    assert f.cnps_received == f.cnps_sent
    # two QPs to one receiver: the interval is per QP
    built = marking_star(3)
    a = flow(built, 1, 0, 1_000_000, cnp_interval_ps=50 * US)
    b = flow(built, 2, 0, 1_000_000, cnp_interval_ps=50 * US)
    built.sim.run()
    assert a.cnps_sent >= 2 and b.cnps_sent >= 2


def test_cnps_reach_dcqcn_and_cut_the_rate():
    from uesim.protocols.cc import Dcqcn
    built = marking_star()
    cc = Dcqcn(params="paper", mtu_bytes=4064)
    f = flow(built, 0, 1, 2_000_000, cc=cc, trace_rate=True)
    built.sim.run()
    assert f.finished and cc.n_cnps == f.cnps_received > 0 and cc.n_cuts > 0
    t, r = f.rate_trace()
    assert t[0] == 0 and r[0] == G100 and r.min() < G100 // 2
    assert (t[1:] >= t[:-1]).all() and (r[1:] != r[:-1]).all()
    # a paced flow takes longer than one at line rate
    assert f.fct_ps > 499 * TX_DATA * 1.2


def test_bad_arguments_name_the_parameter():
    built = star()
    for kw, match in [({"ack_every_packets": 0}, "ack_every_packets"),
                      ({"cnp_interval_ps": -1}, "cnp_interval_ps"),
                      ({"min_rto_ps": -1}, "min_rto_ps"), ({"retry_limit": -1}, "retry_limit"),
                      ({"ack_bytes": 0}, "ack_bytes"), ({"cnp_bytes": 0}, "cnp_bytes")]:
        with pytest.raises(ValueError, match=match):
            RoceFlow(0, 0, 1, 1000, 0, None, None, **kw)


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=25, deadline=None)
@given(size=st.integers(1, 600_000), every=st.integers(1, 8),
       windows=st.lists(st.tuples(st.integers(0, 200), st.integers(1, 6)), max_size=3),
       ack_side=st.booleans())
def test_property_any_losses_are_recovered_in_order(size, every, windows, ack_side):
    """Whatever data packets (or ACKs) are lost, the QP delivers every packet exactly once
    in order and every packet is accounted for."""
    built = star()
    f = flow(built, 0, 1, size, ack_every_packets=every, min_rto_ps=20 * US, retry_limit=0)
    port = downlink(built, 0 if ack_side else 1)
    for start, n in sorted(windows):
        t = max(built.sim.now, start * TX_DATA + US)
        built.sim.run(until_ps=t)
        built.net.set_port_up(port, False)
        built.sim.run(until_ps=t + n * TX_DATA)
        built.net.set_port_up(port, True)
    built.sim.run()
    assert f.finished and f.rx_packets == f.n_packets and f.expected == f.n_packets
    assert f.sent_packets == f.new_packets + f.retx_packets and f.new_packets == f.n_packets
    net = built.net
    assert net.live_packets == 0 and net.sent == net.delivered + net.dropped


def test_a_python_subclass_cannot_silently_override_compiled_methods():
    class Mine(RoceFlow):
        def send_cnp(self, p):
            pass
    with pytest.raises(TypeError, match="send_cnp overrides a method that only compiled code"):
        Mine(0, 0, 1, 1000, 0, None, None)

    class Fine(RoceFlow):
        pass
    assert Fine(0, 0, 1, 1000, 0, None, None).n_packets == 1


def test_a_new_rate_applies_to_the_waiting_packet_at_once():
    class SpeedUpOnAck(CongestionControl):
        def on_ack(self, ctx):
            self.rate_bps = 0                  # line rate from the first ACK on
    built = star()
    cc = SpeedUpOnAck(1 << 30, 4064, 1_000_000_000)      # start at 1 Gb/s: 32.5 us per packet
    f = flow(built, 0, 1, 8000, cc=cc, trace_rate=True)
    built.sim.run()
    rtt = 2 * (TX_DATA + US) + 2 * (TX_ACK + US)
    # the second packet leaves when the first ACK raises the rate, not 32.5 us after the first
    assert f.finished and f.fct_ps == rtt + rtt
    t, r = f.rate_trace()
    assert r.tolist() == [1_000_000_000, G100] and t[1] == rtt


def test_pacing_costs_about_one_event_per_packet_under_dcqcn():
    from uesim.protocols.cc import Dcqcn
    built = marking_star()
    cc = Dcqcn(params="nic", mtu_bytes=4064)
    f = flow(built, 0, 1, 2_000_000, cc=cc, cnp_interval_ps=4 * US)
    built.sim.run()
    assert cc.n_cuts > 3 and f.finished
    assert f.pace_events <= f.sent_packets + cc.n_cuts + 10


def test_a_queue_pair_leaves_a_multi_port_nic_by_one_port_and_arrives_in_order():
    # an HGX GPU has a port to each of 4 NVSwitches; the NIC spreads other traffic over
    # whichever port is free first, but a queue pair's packets keep the port their hash
    # chose: spread over 4 ports they would overtake each other and go back N for nothing
    from uesim.topologies import hgx
    built = build_network(hgx(n_servers=1))
    f = flow(built, 0, 1, 2_000_000)
    built.sim.run()
    tx = built.net.port_counters()["tx_packets"]
    gpu0 = [p for p, (a, _, _) in enumerate(built.port_link) if a == "gpu0"]
    assert len(gpu0) == 4
    used = [p for p in gpu0 if tx[p] > 0]
    assert len(used) == 1 and tx[used[0]] == f.sent_packets
    assert f.finished and f.retx_packets == 0 and f.ooo_discards == 0 and f.timeouts_no_loss == 0
