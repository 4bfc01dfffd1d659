"""DCTCP (Alizadeh et al. 2010) window math, with no simulator; expectations from the formulas."""
import pytest

from uesim.protocols import CC_REGISTRY, CCContext, policy_params
from uesim.protocols.cc import Dctcp

MTU = 4096
G = 1 / 16


def ctx(**event):
    return CCContext.for_test(base_rtt_ps=12_000_000, link_rate_bps=100_000_000_000,
                              mtu_bytes=MTU, mss_bytes=MTU - 64, **event)


def started(**kw):
    cc = Dctcp(mtu_bytes=MTU, **kw)
    cc.on_start(ctx())
    return cc


def ack(cc, acked, ecn=False):
    cc.on_ack(ctx(acked_bytes=acked, ecn=ecn))


def test_starts_at_the_bdp_or_a_given_window():
    assert started().cwnd_bytes == 150_000                 # 12 us x 100 Gb/s
    assert started(cwnd_bytes=65_536).cwnd_bytes == 65_536
    assert started(slow_start=True).cwnd_bytes == 10 * MTU
    cc = Dctcp(cwnd_bytes=65_536)                          # MTU from the context
    cc.on_start(ctx())
    assert cc.mtu_bytes == MTU and cc.min_cwnd_bytes == MTU
    assert started().alpha == 1.0 and started(alpha_init=0.0).alpha == 0.0


def test_halves_at_alpha_one():
    cc = started(cwnd_bytes=100_000)
    ack(cc, 60_000, ecn=True)
    assert cc.cwnd_bytes == 100_000 and cc.n_windows == 0  # window not over yet
    ack(cc, 40_000, ecn=True)
    assert cc.alpha == 1.0 and cc.cwnd_bytes == 50_000 and cc.n_cuts == 1
    assert cc.window_end_bytes == 100_000 + 50_000


def test_alpha_is_an_ewma_of_the_marked_fraction():
    cc = started(cwnd_bytes=100_000, alpha_init=0.0, max_cwnd_bytes=100_000)
    ack(cc, 25_000, ecn=True)
    ack(cc, 75_000)
    alpha = (1 - G) * 0.0 + G * 0.25
    assert cc.alpha == pytest.approx(alpha)
    assert cc.cwnd_bytes == int(100_000 * (1 - alpha / 2))


def test_alpha_converges_to_the_marked_fraction():
    cc = started(cwnd_bytes=200_000)
    alpha = 1.0
    for _ in range(300):
        w = cc.window_end_bytes - cc.acked_total_bytes     # bytes left in this window
        ack(cc, w // 4, ecn=True)
        ack(cc, w - w // 4)
        alpha = (1 - G) * alpha + G * (w // 4) / w
        assert cc.alpha == pytest.approx(alpha, rel=1e-12)
    assert cc.alpha == pytest.approx(0.25, abs=1e-3)


def test_additive_increase_of_one_mtu_per_unmarked_window():
    cc = started(cwnd_bytes=40_960)
    for i in range(3):
        w = cc.cwnd_bytes
        ack(cc, w // 2)
        assert cc.cwnd_bytes == w
        ack(cc, w - w // 2)
        assert cc.cwnd_bytes == w + MTU
    assert cc.alpha == pytest.approx((1 - G) ** 3)
    assert cc.n_cuts == 0 and cc.n_windows == 3


def test_slow_start_until_the_first_mark():
    cc = started(slow_start=True)
    ack(cc, 4 * MTU)
    assert cc.cwnd_bytes == 14 * MTU                       # + acked bytes per ACK
    ack(cc, 6 * MTU)                                       # window of 10 MTU over: no AI in SS
    assert cc.cwnd_bytes == 20 * MTU
    ack(cc, 20 * MTU, ecn=True)
    alpha = (1 - G) * ((1 - G) * 1.0) + G * 1.0           # an unmarked window, then all marked
    cut = int(20 * MTU * (1 - alpha / 2))
    assert cc.cwnd_bytes == cut == cc.ssthresh_bytes
    ack(cc, cut)                                           # now congestion avoidance
    assert cc.cwnd_bytes == cut + MTU


def test_nack_and_timeout():
    cc = started(cwnd_bytes=100_000)
    cc.on_nack(ctx(nacked_bytes=4_096))
    assert cc.cwnd_bytes == 95_904
    cc.cwnd_bytes = 5_000
    cc.on_nack(ctx(nacked_bytes=4_096))
    assert cc.cwnd_bytes == MTU
    cc.cwnd_bytes = 100_000
    cc.on_timeout(ctx(lost_bytes=4_096))
    assert cc.cwnd_bytes == MTU and cc.n_timeouts == 1
    cc = started(cwnd_bytes=100_000, slow_start=True)
    cc.on_timeout(ctx(lost_bytes=4_096))
    assert cc.cwnd_bytes == MTU and cc.ssthresh_bytes == 50_000


def test_clamps():
    cc = started(cwnd_bytes=10_000, min_cwnd_bytes=8_192, max_cwnd_bytes=12_000)
    ack(cc, 10_000)
    assert cc.cwnd_bytes == 12_000                         # + MTU capped
    ack(cc, 12_000, ecn=True)
    assert cc.cwnd_bytes == 8_192                          # halved, floored


def test_registered_with_its_keywords():
    assert CC_REGISTRY["dctcp"] is Dctcp
    assert set(policy_params(Dctcp)) >= {"mtu_bytes", "cwnd_bytes", "g", "slow_start"}
    with pytest.raises(ValueError):
        Dctcp(g=0)
    with pytest.raises(ValueError):
        Dctcp(cwnd_bytes=0)
