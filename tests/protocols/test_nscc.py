"""NSCC update rules against MODEL-uec.md §7 (htsim_uec), with no simulator.

Expected numbers are computed here from the formulas of the model, not by the class.
"""
import pytest

from uesim.protocols import CC_REGISTRY, CCContext, policy_params
from uesim.protocols.cc import Nscc

RTT = 14_022_720          # htsim network_max_unloaded_rtt, 3-tier fat tree
RATE = 100_000_000_000
MTU, MSS = 4150, 4086

# the printed table of MODEL-uec.md §7, from the formulas
BDP = 175_284
A = BDP / 150_000                         # 100 Gb/s x 12 us reference
TARGET = 10_517_040                       # 0.75 x RTT
B = TARGET / 12_000_000
ALPHA = 4 * MSS * A * B / TARGET
FI = 5 * MSS * A
ETA = 0.15 * MSS * A
FI_SCALE = 0.25 * A
MAXWND = 262_926


def ctx(trimming=True, **event):
    return CCContext.for_test(base_rtt_ps=RTT, link_rate_bps=RATE, mtu_bytes=MTU,
                              mss_bytes=MSS, trimming=trimming, **event)


def started(cwnd=None, **kw):
    cc = Nscc(mtu_bytes=MTU, **kw)
    cc.on_start(ctx())
    if cwnd is not None:
        cc.cwnd_bytes = cwnd
    return cc


def ack(cc, now, acked=MTU, delay=None, ecn=False, inflight=0, rtt=None):
    """One ACK; ``delay`` is queueing delay above the base RTT (None: no valid sample)."""
    if rtt is None:
        rtt = -1 if delay is None else cc.base_rtt_ps + delay
    cc.on_ack(ctx(now_ps=now, acked_bytes=acked, rtt_ps=rtt, ecn=ecn, inflight_bytes=inflight))


def nack(cc, now, nacked=MTU, last_hop=False, inflight=0, rtt=-1):
    cc.on_nack(ctx(now_ps=now, nacked_bytes=nacked, last_hop=last_hop, inflight_bytes=inflight,
                   rtt_ps=rtt))


# ---------------------------------------------------------------- parameters

def test_parameters_reproduce_the_printed_table():
    cc = started()
    assert cc.network_bdp_bytes == 175_284
    assert cc.bdp_bytes == 175_284
    assert cc.maxwnd_bytes == 262_926 == cc.configured_maxwnd_bytes
    assert cc.cwnd_bytes == 262_926                     # starts at maxwnd (line rate)
    assert cc.min_cwnd_bytes == 4_150
    assert cc.target_qdelay_ps == 10_517_040
    assert cc.qa_threshold_ps == 42_068_160
    assert cc.scaling_a == pytest.approx(1.16856, abs=1e-9)
    assert cc.scaling_b == pytest.approx(0.87642, abs=1e-9)
    assert cc.alpha == pytest.approx(0.00159158, rel=1e-5)
    assert cc.fi == pytest.approx(23_873.7, abs=0.05)          # printed with 6 digits
    assert cc.eta == pytest.approx(716.21, abs=0.001)
    assert cc.fi_scale == pytest.approx(0.29214, abs=1e-9)
    assert cc.gamma == 0.8 and cc.delay_alpha == 0.0125
    assert cc.adjust_period_ps == 14_022_720
    assert cc.adjust_bytes == 33_200
    assert cc.qa_gate == 3 and cc.maxwnd_bytes >> cc.qa_gate == 32_865
    assert cc.base_rtt_ps == RTT and cc.avg_delay_ps == 0
    assert cc.mss_bytes == MSS and cc.mtu_bytes == MTU
    assert cc.params()["alpha"] == cc.alpha


def test_parameters_without_trimming_use_a_full_rtt_target():
    cc = Nscc(mtu_bytes=MTU)
    cc.on_start(ctx(trimming=False))
    assert cc.target_qdelay_ps == RTT
    assert cc.qa_threshold_ps == 4 * RTT
    assert cc.scaling_b == pytest.approx(RTT / 12_000_000)
    assert cc.alpha == pytest.approx(4 * MSS * A * (RTT / 12_000_000) / RTT)


def test_every_parameter_can_be_overridden():
    cc = started(target_qdelay_ps=5_000_000, qa_gate=2, maxwnd_bytes=100_000, cwnd_bytes=50_000,
                 gamma=0.5, delay_alpha=0.25, fi=1.0, eta=10.0, fi_scale=0.5, alpha=1e-3,
                 adjust_period_ps=7_000_000, adjust_bytes=10_000, min_cwnd_bytes=8_300,
                 qa_threshold_ps=1e7)
    assert (cc.target_qdelay_ps, cc.qa_gate, cc.maxwnd_bytes, cc.cwnd_bytes) == (5_000_000, 2, 100_000, 50_000)
    assert (cc.gamma, cc.delay_alpha, cc.fi, cc.eta, cc.fi_scale, cc.alpha) == (0.5, 0.25, 1.0, 10.0, 0.5, 1e-3)
    assert (cc.adjust_period_ps, cc.adjust_bytes, cc.min_cwnd_bytes, cc.qa_threshold_ps) == (7_000_000, 10_000, 8_300, 1e7)
    # b follows the overridden target
    assert cc.scaling_b == pytest.approx(5_000_000 / 12_000_000)
    cc2 = started(network_rtt_ps=12_000_000, link_rate_bps=RATE)
    assert cc2.network_bdp_bytes == 150_000 and cc2.scaling_a == 1.0
    assert cc2.maxwnd_bytes == 225_000


def test_bad_parameters_are_rejected():
    with pytest.raises(ValueError):
        Nscc(target_qdelay_ps=0)
    with pytest.raises(ValueError):
        Nscc(qa_gate=-1)
    with pytest.raises(ValueError):
        Nscc(delay_alpha=2.0)
    cc = Nscc(mtu_bytes=MTU)
    with pytest.raises(ValueError):
        cc.on_start(CCContext.for_test(base_rtt_ps=0))


def test_registered_with_its_keywords():
    assert CC_REGISTRY["nscc"] is Nscc
    params = policy_params(Nscc)
    for name in ("mtu_bytes", "target_qdelay_ps", "maxwnd_bytes", "qa_gate", "gamma",
                 "delay_alpha", "fi_scale", "receiver_cc"):
        assert name in params
    Nscc(**{p: None for p in params if p in ("cwnd_bytes", "maxwnd_bytes")})  # all accepted


# ---------------------------------------------------------------- delay filter, base RTT

def test_delay_filter():
    cc = started()
    # no ECN, delay above target: pulled towards base_rtt/4, not the sample
    ack(cc, 1_000_000, delay=11_000_000)
    assert cc.avg_delay_ps == int(0.0125 * RTT * 0.25) == 43_821
    # ECN: towards the sample
    ack(cc, 1_100_000, delay=11_000_000, ecn=True)
    assert cc.avg_delay_ps == int(0.0125 * 11_000_000 + 0.9875 * 43_821)
    # no ECN, delay under target: towards the sample
    before = cc.avg_delay_ps
    ack(cc, 1_200_000, delay=2_000_000)
    assert cc.avg_delay_ps == int(0.0125 * 2_000_000 + 0.9875 * before)
    # no valid sample: filter untouched
    before = cc.avg_delay_ps
    ack(cc, 1_300_000)
    assert cc.avg_delay_ps == before and cc.last_delay_ps == before


def test_update_base_rtt_lowers_bdp_and_maxwnd():
    cc = started()
    ack(cc, 1_000_000, rtt=10_000_000)
    assert cc.base_rtt_ps == 10_000_000
    assert cc.bdp_bytes == int(10.0 * RATE / 8_000_000) == 125_000
    assert cc.maxwnd_bytes == int(1.5 * 125_000) == 187_500
    assert cc.cwnd_bytes == 187_500                     # clamped to the new maxwnd
    assert cc.n_base_rtt == 1
    ack(cc, 1_100_000, rtt=12_000_000)                  # larger: no change
    assert cc.base_rtt_ps == 10_000_000 and cc.n_base_rtt == 1
    # same-ToR flow (MODEL-uec.md §7): maxwnd 87,642
    cc = started()
    ack(cc, 1_000_000, rtt=4_674_240)
    assert cc.bdp_bytes == int(4.67424 * RATE / 8_000_000) == 58_428
    assert cc.maxwnd_bytes == 87_642


def test_nack_rtt_lowers_base_rtt_unless_disabled():
    cc = started()
    nack(cc, 1_000_000, rtt=13_300_000)
    assert cc.base_rtt_ps == 13_300_000
    assert cc.maxwnd_bytes == int(1.5 * int(13.3 * RATE / 8_000_000))
    cc = started(update_base_rtt_on_nack=False)
    nack(cc, 1_000_000, rtt=13_300_000)
    assert cc.base_rtt_ps == RTT


def test_maxwnd_override_caps_base_rtt_updates():
    cc = started(maxwnd_bytes=100_000)
    ack(cc, 1_000_000, rtt=10_000_000)                  # 1.5 x BDP = 187,500 > 100,000
    assert cc.maxwnd_bytes == 100_000
    ack(cc, 1_100_000, rtt=4_000_000)                   # 1.5 x 50,000 = 75,000
    assert cc.maxwnd_bytes == 75_000


# ---------------------------------------------------------------- the four quadrants

def test_fair_increase_no_ecn_delay_above_target():
    cc = started(cwnd=100_000)
    ack(cc, 1_000_000, acked=4_150, delay=11_000_000)
    inc = int(FI * 4_150)
    assert cc.inc_bytes == inc and cc.n_fair_inc == 1
    assert cc.cwnd_bytes == 100_000                     # batched, not applied yet
    ack(cc, 2_000_000, acked=30_000, delay=TARGET)      # delay == target is still "fair"
    inc = int(inc + FI * 30_000)
    # received 34,150 > 33,200: fulfill, no eta (less than an RTT since last adjust at 0)
    assert cc.cwnd_bytes == 100_000 + inc // 100_000
    assert cc.inc_bytes == 0 and cc.received_bytes == 0 and cc.n_fair_inc == 2


def test_fair_increase_accumulator_is_uint32():
    cc = started(cwnd=100_000)
    ack(cc, 1_000_000, acked=200_000, delay=11_000_000, inflight=0)
    # 23,873.7 x 200,000 = 4.77e9 wraps modulo 2^32 (then fulfill divides it by cwnd)
    assert cc.cwnd_bytes == 100_000 + (int(FI * 200_000) % 2**32) // 100_000


def test_proportional_increase_no_ecn_delay_below_target():
    cc = started(cwnd=100_000)
    ack(cc, 1_000_000, acked=4_150, delay=2_000_000)
    assert cc.inc_bytes == int(ALPHA * 4_150 * (TARGET - 2_000_000))
    assert cc.n_prop_inc == 1 and cc.n_fast_inc == 0 and cc.fi_count == 0
    assert cc.cwnd_bytes == 100_000


def test_multiplicative_decrease_once_per_base_rtt():
    cc = started(cwnd=200_000, delay_alpha=0.5)
    t0 = 20_000_000                                      # > base RTT after last_dec = 0
    ack(cc, t0, delay=30_000_000, ecn=True)
    avg = int(0.5 * 30_000_000)
    assert cc.avg_delay_ps == avg == 15_000_000
    f = 1 - 0.8 * (avg - TARGET) / avg
    cwnd = int(200_000 * f)
    cwnd = int(cwnd + ETA)                               # this ACK also fulfills (t0 > RTT): + eta
    assert cc.cwnd_bytes == cwnd and cc.n_md == 1 and cc.last_dec_ps == t0
    # within a base RTT: no second decrease
    ack(cc, t0 + 1_000_000, delay=30_000_000, ecn=True)
    avg = int(0.5 * 30_000_000 + 0.5 * avg)
    assert cc.cwnd_bytes == cwnd and cc.n_md == 1
    ack(cc, t0 + RTT, delay=30_000_000, ecn=True)        # exactly one base RTT: still not (strict)
    avg = int(0.5 * 30_000_000 + 0.5 * avg)
    assert cc.cwnd_bytes == cwnd and cc.n_md == 1
    ack(cc, t0 + RTT + 1, delay=30_000_000, ecn=True)
    avg = int(0.5 * 30_000_000 + 0.5 * avg)
    assert cc.avg_delay_ps == avg
    assert avg == 28_125_000 and 1 - 0.8 * (avg - TARGET) / avg < 0.5
    cwnd = int(cwnd * max(1 - 0.8 * (avg - TARGET) / avg, 0.5))
    cwnd = int(cwnd + ETA)                               # fulfill: t0+RTT+1 - t0 > RTT
    assert cc.cwnd_bytes == cwnd and cc.n_md == 2


def test_multiplicative_decrease_needs_filtered_delay_above_target():
    cc = started(cwnd=200_000)
    ack(cc, 20_000_000, delay=30_000_000, ecn=True)      # avg = 375,000 < target
    assert cc.n_md == 0
    assert cc.cwnd_bytes == int(200_000 + ETA)           # only the fulfill's eta


def test_multiplicative_decrease_floor_half_and_min_cwnd():
    cc = started(cwnd=200_000, delay_alpha=1.0)
    ack(cc, 20_000_000, delay=60_000_000, ecn=True)      # 1 - 0.8 x 0.825 = 0.34 -> 0.5
    assert 1 - 0.8 * (60_000_000 - TARGET) / 60_000_000 < 0.5
    assert cc.cwnd_bytes == int(100_000 + ETA) and cc.n_md == 1
    cc = started(cwnd=6_000, delay_alpha=1.0, eta=0.0)
    ack(cc, 20_000_000, delay=60_000_000, ecn=True)      # 3,000 -> floor MTU
    assert cc.cwnd_bytes == MTU


def test_ecn_with_low_delay_changes_nothing():
    cc = started(cwnd=100_000)
    ack(cc, 1_000_000, acked=4_150, delay=2_000_000)
    inc, fi_count = cc.inc_bytes, cc.fi_count
    ack(cc, 1_100_000, acked=4_150, delay=2_000_000, ecn=True)
    assert cc.cwnd_bytes == 100_000 and cc.inc_bytes == inc and cc.fi_count == fi_count
    assert (cc.n_fair_inc, cc.n_prop_inc, cc.n_fast_inc, cc.n_md) == (0, 1, 0, 0)


# ---------------------------------------------------------------- fast increase

def test_fast_increase_after_a_window_of_tiny_delay():
    cc = started(cwnd=20_000)
    for i in range(4):                                   # fi_count 4,150 .. 16,600 <= cwnd
        ack(cc, 1_000_000 + i, acked=4_150, delay=500_000)
        assert cc.fi_count == 4_150 * (i + 1) and not cc.increasing
    assert cc.n_prop_inc == 4 and cc.cwnd_bytes == 20_000
    ack(cc, 1_000_010, acked=4_150, delay=500_000)       # 20,750 > 20,000
    assert cc.increasing and cc.n_fast_inc == 1
    assert cc.cwnd_bytes == int(20_000 + 4_150 * FI_SCALE) == 21_212
    ack(cc, 1_000_020, acked=4_150, delay=500_000)       # flag set: again
    assert cc.cwnd_bytes == int(21_212 + 4_150 * FI_SCALE) and cc.n_fast_inc == 2
    assert cc.n_prop_inc == 4
    ack(cc, 1_000_030, acked=4_150, delay=1_000_000)     # 1 us: leaves fast increase
    assert not cc.increasing and cc.fi_count == 0 and cc.n_prop_inc == 5


def test_multiplicative_decrease_branch_resets_fast_increase():
    cc = started(cwnd=20_000)
    for i in range(6):
        ack(cc, 1_000_000 + i, acked=4_150, delay=500_000)
    assert cc.increasing
    ack(cc, 1_000_100, acked=4_150, delay=TARGET, ecn=True)
    assert not cc.increasing and cc.fi_count == 0


# ---------------------------------------------------------------- fulfill_adjustment

def test_fulfill_after_more_than_8_mtu():
    cc = started(cwnd=100_000)
    inc = 0
    for i in range(8):                                   # 8 x 4150 = 33,200: not more than
        ack(cc, 1_000_000 + i, acked=4_150, delay=3_000_000)
        inc = int(inc + ALPHA * 4_150 * (TARGET - 3_000_000))
    assert cc.inc_bytes == inc and cc.received_bytes == 33_200 and cc.cwnd_bytes == 100_000
    ack(cc, 1_000_010, acked=4_150, delay=3_000_000)
    inc = int(inc + ALPHA * 4_150 * (TARGET - 3_000_000))
    assert cc.cwnd_bytes == 100_000 + inc // 100_000     # no eta: less than an RTT
    assert cc.inc_bytes == 0 and cc.received_bytes == 0 and cc.last_adjust_ps == 0
    assert cc.n_fulfill == 1


def test_fulfill_every_rtt_with_eta():
    cc = started(cwnd=100_000)
    t1 = RTT + 1                                         # strictly more than an RTT since 0
    ack(cc, t1, acked=100, delay=3_000_000)
    inc = int(ALPHA * 100 * (TARGET - 3_000_000))
    cwnd = int(100_000 + inc // 100_000 + ETA)
    assert cc.cwnd_bytes == cwnd and cc.last_adjust_ps == t1 and cc.n_fulfill == 1
    ack(cc, t1 + RTT, acked=100, delay=3_000_000)        # exactly an RTT: not yet
    assert cc.n_fulfill == 1 and cc.cwnd_bytes == cwnd
    ack(cc, t1 + RTT + 1, acked=100, delay=3_000_000)
    inc = int(int(ALPHA * 100 * (TARGET - 3_000_000)) + ALPHA * 100 * (TARGET - 3_000_000))
    assert cc.cwnd_bytes == int(cwnd + inc // cwnd + ETA) and cc.n_fulfill == 2


def test_bytes_triggered_fulfill_gets_eta_at_exactly_one_rtt():
    cc = started(cwnd=100_000)
    ack(cc, RTT + 1, acked=100, delay=3_000_000)         # last_adjust = RTT + 1
    cwnd = cc.cwnd_bytes
    ack(cc, 2 * RTT + 1, acked=40_000, delay=3_000_000)  # bytes > 8 MTU, now - last == RTT
    inc = int(ALPHA * 40_000 * (TARGET - 3_000_000))
    assert cc.cwnd_bytes == int(cwnd + inc // cwnd + ETA)


# ---------------------------------------------------------------- quick adapt

def test_quick_adapt_on_nack_when_little_got_through():
    cc = started()
    ack(cc, 1_000_000, acked=4_150, delay=2_000_000)     # arms: qa_endtime = now + base + target
    assert cc.qa_endtime_ps == 1_000_000 + RTT + TARGET and cc.achieved_bytes == 0
    ack(cc, 2_000_000, acked=4_150, delay=2_000_000)
    assert cc.achieved_bytes == 4_150
    cwnd = cc.cwnd_bytes
    t = 26_000_000                                        # after qa_endtime (25,539,760)
    nack(cc, t, inflight=50_000)
    assert cc.n_qa == 1 and cc.n_nack_dec == 0
    assert cc.cwnd_bytes == max(4_150, MTU) < cwnd
    assert cc.bytes_to_ignore == 50_000 and cc.bytes_ignored == 0 and not cc.trigger_qa
    assert cc.achieved_bytes == 0 and cc.qa_endtime_ps == t + RTT + TARGET
    assert cc.inc_bytes == 0 and cc.received_bytes == 0
    # while fewer than bytes_to_ignore came back: ECN ACKs and NACKs are ignored
    cc.cwnd_bytes = 100_000
    ack(cc, t + 1_000, acked=4_150, delay=TARGET + 1, ecn=True)
    assert cc.cwnd_bytes == 100_000 and cc.bytes_ignored == 4_150
    nack(cc, t + 2_000)
    assert cc.cwnd_bytes == 100_000 and cc.n_nack_dec == 0 and cc.bytes_ignored == 8_300
    # a non-ECN ACK is never ignored
    ack(cc, t + 3_000, acked=4_150, delay=2_000_000)
    assert cc.n_prop_inc == 3


def test_quick_adapt_does_not_fire_when_achieved_bytes_are_high():
    cc = started(cwnd=200_000)
    ack(cc, 1_000_000, acked=4_150, delay=2_000_000)
    ack(cc, 2_000_000, acked=32_865, delay=2_000_000)    # achieved = maxwnd >> 3: not below
    assert cc.achieved_bytes == 32_865
    cwnd = cc.cwnd_bytes
    nack(cc, 26_000_000)
    assert cc.n_qa == 0 and cc.n_nack_dec == 1
    assert cc.cwnd_bytes == cwnd - 4_150
    assert cc.achieved_bytes == 0 and cc.qa_endtime_ps == 26_000_000 + RTT + TARGET


def test_quick_adapt_on_large_delay_and_on_earlier_nack():
    cc = started()
    ack(cc, 1_000_000, acked=4_150, delay=2_000_000)
    ack(cc, 2_000_000, acked=4_150, delay=2_000_000)
    ack(cc, 26_000_000, acked=4_150, delay=42_068_161)   # > 4 x target, no ECN
    assert cc.n_qa == 1 and cc.cwnd_bytes == 8_300 and cc.n_fair_inc == 0
    # a NACK inside the window only sets trigger_qa; the next ACK after the window fires
    cc = started()
    ack(cc, 1_000_000, acked=4_150, delay=2_000_000)
    nack(cc, 2_000_000)
    assert cc.n_qa == 0 and cc.n_nack_dec == 1 and cc.trigger_qa
    ack(cc, 26_000_000, acked=4_150, delay=2_000_000)
    assert cc.n_qa == 1 and cc.cwnd_bytes == 4_150 and not cc.trigger_qa


def test_quick_adapt_first_ack_only_arms_and_can_be_disabled():
    cc = started()
    ack(cc, 1_000_000, acked=100, delay=50_000_000)      # huge delay, but qa_endtime was 0
    assert cc.n_qa == 0 and cc.qa_endtime_ps == 1_000_000 + RTT + TARGET
    cc = started(disable_quick_adapt=True)
    ack(cc, 1_000_000, acked=100, delay=2_000_000)
    nack(cc, 30_000_000)
    assert cc.n_qa == 0 and cc.qa_endtime_ps == 0 and cc.n_nack_dec == 1


# ---------------------------------------------------------------- NACK, timeout, clamps

def test_nack_decrements_and_updates_the_filter():
    cc = started(cwnd=100_000)
    nack(cc, 1_000_000, nacked=4_150)
    assert cc.cwnd_bytes == 95_850 and cc.n_nack_dec == 1
    assert cc.avg_delay_ps == int(0.0125 * RTT)          # sample fixed at the network RTT
    assert cc.bytes_ignored == 4_150 and cc.trigger_qa
    nack(cc, 1_100_000, nacked=4_150)
    assert cc.cwnd_bytes == 91_700
    assert cc.avg_delay_ps == int(0.0125 * RTT + 0.9875 * int(0.0125 * RTT))


def test_rccc_last_hop_nacks_keep_cwnd():
    cc = started(cwnd=100_000, receiver_cc=True)
    nack(cc, 1_000_000, last_hop=True)
    assert cc.cwnd_bytes == 100_000 and cc.n_nack_dec == 0
    nack(cc, 1_100_000, last_hop=False)
    assert cc.cwnd_bytes == 95_850 and cc.n_nack_dec == 1
    cc = started(cwnd=100_000)                           # without RCCC last hop counts
    nack(cc, 1_000_000, last_hop=True)
    assert cc.cwnd_bytes == 95_850
    cc.receiver_cc = True                                # the transport may set it later
    nack(cc, 1_100_000, last_hop=True)
    assert cc.cwnd_bytes == 95_850


def test_clamps():
    cc = started(cwnd=5_000)
    nack(cc, 1_000_000)                                  # 850 -> min cwnd
    assert cc.cwnd_bytes == MTU
    cc = started(cwnd=MAXWND - 10)
    ack(cc, RTT + 1, acked=40_000, delay=11_000_000)     # fair increase + eta beyond maxwnd
    assert cc.cwnd_bytes == MAXWND


def test_timeout_takes_lost_bytes_off_cwnd():
    cc = started(cwnd=100_000)
    cc.on_timeout(ctx(now_ps=1, lost_bytes=4_150))
    assert cc.cwnd_bytes == 95_850
    cc.cwnd_bytes = 10_000
    cc.on_timeout(ctx(now_ps=2, lost_bytes=8_300))
    assert cc.cwnd_bytes == MTU


def test_counters_dict():
    cc = started()
    assert cc.counters() == dict(n_fair_inc=0, n_prop_inc=0, n_fast_inc=0, n_md=0, n_qa=0,
                                 n_nack_dec=0, n_base_rtt=0, n_fulfill=0)


# ---------------------------------------------------------------- invariants

from hypothesis import given, settings, strategies as st  # noqa: E402

EVENT = st.one_of(
    st.tuples(st.just("ack"), st.integers(1, 3_000_000), st.integers(0, 200_000),
              st.one_of(st.just(-1), st.integers(2_000_000, 80_000_000)), st.booleans()),
    st.tuples(st.just("nack"), st.integers(1, 3_000_000), st.sampled_from([64, 4_150]),
              st.one_of(st.just(-1), st.integers(2_000_000, 20_000_000)), st.booleans()),
    st.tuples(st.just("rto"), st.integers(1, 3_000_000), st.just(4_150), st.just(-1),
              st.just(False)),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(EVENT, max_size=120), st.booleans())
def test_cwnd_stays_between_mtu_and_the_initial_maxwnd(events, rccc):
    cc = started(receiver_cc=rccc)
    now = 0
    for kind, dt, size, rtt, flag in events:
        now += dt
        if kind == "ack":
            cc.on_ack(ctx(now_ps=now, acked_bytes=size, rtt_ps=rtt, ecn=flag, inflight_bytes=100_000))
        elif kind == "nack":
            cc.on_nack(ctx(now_ps=now, nacked_bytes=size, rtt_ps=rtt, last_hop=flag,
                           inflight_bytes=100_000))
        else:
            cc.on_timeout(ctx(now_ps=now, lost_bytes=size))
        assert MTU <= cc.cwnd_bytes <= MAXWND
        assert cc.maxwnd_bytes <= MAXWND and cc.base_rtt_ps <= RTT
        assert 0 <= cc.avg_delay_ps
