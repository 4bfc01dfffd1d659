"""DCQCN reaction point (Zhu et al. 2015; ns-3 HPCC NIC defaults), driven hook by hook with no
simulator; expectations worked out from the update rules."""
import pytest

from uesim.protocols import CC_REGISTRY, CCContext, policy_params
from uesim.protocols.cc import Dcqcn
from uesim.protocols.cc.dcqcn import PARAM_SETS, PARAMS

LINE = 100e9
US = 1_000_000


def ctx(now_ps=0, **event):
    return CCContext.for_test(link_rate_bps=int(LINE), now_ps=now_ps, **event)


def started(**kw):
    cc = Dcqcn(**kw)
    cc.on_start(ctx())
    return cc


def timer(cc, kind, now_ps=0):
    cc.on_timer(ctx(now_ps), kind)


def test_starts_at_line_rate_with_no_window_and_arms_both_timers():
    cc = Dcqcn()
    cc.on_start(ctx(now_ps=7 * US))
    assert cc.rate_bps == int(LINE) and cc.rc == cc.rt == LINE and cc.cwnd_bytes == 0
    assert cc.alpha == 1.0 and cc.params == "paper"
    assert cc.next_alpha_ps == 7 * US + 55 * US
    assert cc.next_rate_ps == 7 * US + 55 * US
    nic = Dcqcn(params="nic")
    nic.on_start(ctx())
    assert nic.next_rate_ps == 1500 * US and nic.next_alpha_ps == 55 * US


def test_cut_on_cnp_uses_alpha_then_raises_it():
    cc = started(alpha_init=0.5)
    cc.on_cnp(ctx())
    assert cc.rc == pytest.approx(LINE * (1 - 0.25)) and cc.rt == LINE
    assert cc.rate_bps == int(LINE * 0.75)
    g = 1 / 256
    assert cc.alpha == pytest.approx((1 - g) * 0.5 + g)
    cc.on_cnp(ctx())
    assert cc.rt == pytest.approx(LINE * 0.75)                 # clamp_target: rt <- rc
    assert cc.rc == pytest.approx(LINE * 0.75 * (1 - ((1 - g) * 0.5 + g) / 2))
    assert cc.n_cnps == 2 and cc.n_cuts == 2


def test_alpha_decays_on_its_timer_only_without_cnps():
    g = 1 / 256
    cc = started()
    cc.on_cnp(ctx())
    assert cc.alpha == 1.0
    timer(cc, 0, 55 * US)
    assert cc.alpha == 1.0 and cc.next_alpha_ps == 110 * US   # a CNP in this interval
    timer(cc, 0, 110 * US)
    assert cc.alpha == pytest.approx(1 - g)
    timer(cc, 0, 165 * US)
    assert cc.alpha == pytest.approx((1 - g) ** 2)
    cc2 = started(alpha_init=0.2)
    cc2.on_cnp(ctx())
    assert cc2.alpha == pytest.approx((1 - g) * 0.2 + g)


def test_fast_recovery_halves_the_gap_for_f_stages():
    cc = started()
    cc.on_cnp(ctx())
    assert cc.rc == LINE / 2 and cc.rt == LINE
    for k in range(1, 6):
        timer(cc, 1)
        assert cc.rc == pytest.approx(LINE - LINE / 2 / 2 ** k)
        assert cc.rt == LINE
    assert cc.n_fast_recovery == 5 and cc.n_additive == 0


def test_additive_then_hyper_increase():
    # start below line rate so the increases are not capped
    cc = started(byte_counter_bytes=1000, fast_recovery_stages=2, mi_thresh=2)
    cc.on_cnp(ctx())
    cc.on_cnp(ctx())                              # rt = 50 G, rc = 25 G
    rt = LINE / 2
    assert cc.rt == rt
    rc = cc.rc
    for _ in range(2):                            # T = 0, 1: fast recovery
        timer(cc, 1)
        rc = (rt + rc) / 2
    assert cc.rt == rt and cc.rc == pytest.approx(rc)
    timer(cc, 1)                                  # T = 2 >= F, B = 0: additive
    rt += 40e6
    rc = (rt + rc) / 2
    assert cc.rt == pytest.approx(rt) and cc.rc == pytest.approx(rc) and cc.n_additive == 1
    cc.on_ack(ctx(acked_bytes=1000))              # B = 0: additive (T = 3)
    cc.on_ack(ctx(acked_bytes=1000))              # B = 1: additive
    rt += 2 * 40e6
    assert cc.rt == pytest.approx(rt) and cc.n_additive == 3
    cc.on_ack(ctx(acked_bytes=1000))              # T = 3, B = 2: hyper, i = 1
    rt += 100e6
    assert cc.rt == pytest.approx(rt) and cc.n_hyper == 1
    timer(cc, 1)                                  # T = 3, B = 3: hyper, i = 2
    rt += 2 * 100e6
    assert cc.rt == pytest.approx(rt) and cc.n_hyper == 2


def test_timer_only_increase_of_the_nic_model():
    cc = started(params="nic")
    cc.on_cnp(ctx())
    assert cc.rt == LINE                          # no stage yet: target not clamped
    cc.on_cnp(ctx(now_ps=10 * US))
    assert cc.rt == LINE and cc.rc == pytest.approx(LINE / 4)   # alpha stays 1
    c2 = started(params="nic")
    c2.on_cnp(ctx())
    for _ in range(5):
        timer(c2, 1)
    assert c2.n_fast_recovery == 5 and c2.rt == LINE
    c3 = started(params="nic")
    c3.on_cnp(ctx())
    c3.on_cnp(ctx(now_ps=10 * US))
    timer(c3, 1)
    c3.on_cnp(ctx(now_ps=20 * US))                # a stage happened: rt <- rc
    rt = c3.rt
    assert rt < LINE
    for _ in range(5):
        timer(c3, 1)
    assert c3.rt == rt
    timer(c3, 1)                                  # T = 5 = mi_thresh: additive
    assert c3.rt == pytest.approx(rt + 5e6) and c3.n_additive == 1
    timer(c3, 1)                                  # T = 6: hyper, R_HAI once
    timer(c3, 1)
    assert c3.rt == pytest.approx(rt + 5e6 + 2 * 50e6) and c3.n_hyper == 2


def test_byte_counter_triggers_increases():
    cc = started(byte_counter_bytes=10_000)
    cc.on_cnp(ctx())
    cc.on_ack(ctx(acked_bytes=9_999))
    assert cc.rc == LINE / 2 and cc.stage_bytes == 9_999
    cc.on_ack(ctx(acked_bytes=1))
    assert cc.rc == pytest.approx(0.75 * LINE) and cc.byte_stages == 1
    cc.on_ack(ctx(acked_bytes=20_000))            # two stages at once
    assert cc.byte_stages == 3 and cc.rc == pytest.approx(LINE - LINE / 16)
    off = started(byte_counter_bytes=0)
    off.on_cnp(ctx())
    off.on_ack(ctx(acked_bytes=10**9))
    assert off.rc == LINE / 2
    paper = started()                             # 10 MiB per stage
    paper.on_cnp(ctx())
    paper.on_ack(ctx(acked_bytes=10 * 2**20 - 1))
    assert paper.byte_stages == 0
    paper.on_ack(ctx(acked_bytes=1))
    assert paper.byte_stages == 1


def test_a_cnp_restarts_stages_and_the_rate_timer():
    cc = started(byte_counter_bytes=10_000)
    cc.on_cnp(ctx())
    timer(cc, 1)
    cc.on_ack(ctx(acked_bytes=15_000))
    assert cc.timer_stages == 1 and cc.byte_stages == 1 and cc.stage_bytes == 5_000
    cc.on_cnp(ctx(now_ps=30 * US))
    assert cc.timer_stages == cc.byte_stages == cc.stage_bytes == 0
    assert cc.next_rate_ps == 30 * US + 55 * US


def test_min_rate_floor():
    cc = started(min_rate_bps=30e9)
    cc.on_cnp(ctx())
    cc.on_cnp(ctx())
    assert cc.rc == 30e9 and cc.rate_bps == 30_000_000_000
    low = started()
    for _ in range(200):
        low.on_cnp(ctx())
    assert low.rc == 100e6


def test_line_rate_cap():
    cc = started(rate_hai_bps=50e9, rate_ai_bps=50e9, fast_recovery_stages=1, mi_thresh=1,
                 byte_counter_bytes=0)
    cc.on_cnp(ctx())
    for _ in range(10):
        timer(cc, 1)
        assert cc.rt <= LINE and cc.rc <= LINE
    assert cc.rt == LINE and cc.rc == pytest.approx(LINE, rel=1e-3)
    fresh = started()
    for _ in range(10):
        timer(fresh, 1)
    assert fresh.rc == fresh.rt == LINE


def test_rate_decrease_interval_spaces_the_cuts():
    cc = started(rate_decrease_interval_ps=4 * US)
    cc.on_cnp(ctx(now_ps=0))
    cc.on_cnp(ctx(now_ps=3 * US))                 # too soon: alpha only
    assert cc.n_cuts == 1 and cc.rc == LINE / 2 and cc.n_cnps == 2
    cc.on_cnp(ctx(now_ps=4 * US))
    assert cc.n_cuts == 2 and cc.rc < LINE / 2
    every = started(rate_decrease_interval_ps=0)
    every.on_cnp(ctx(now_ps=0))
    every.on_cnp(ctx(now_ps=3 * US))
    assert every.n_cuts == 2


def test_rate_on_first_cnp_caps_only_the_first_cut():
    cc = started(rate_on_first_cnp=0.5, clamp_target=True)
    cc.on_cnp(ctx())
    assert cc.rt == LINE / 2 and cc.rc == LINE / 4
    timer(cc, 1)
    rc = cc.rc
    cc.on_cnp(ctx())
    assert cc.rt == rc and cc.rc == pytest.approx(rc / 2)    # alpha 1: a plain halving
    assert started(rate_on_first_cnp=1.0).rc == LINE


def test_clamp_target():
    on = started(clamp_target=True)
    off = started(clamp_target=False)
    for cc in (on, off):
        cc.on_cnp(ctx())
        cc.on_cnp(ctx())
    assert on.rt == LINE / 2 and off.rt == LINE     # no increase stage between the cuts
    timer(off, 1)
    off.on_cnp(ctx())
    assert off.rt < LINE


def test_parameter_sets_differ_and_follow_their_sources():
    paper, nic = PARAM_SETS["paper"], PARAM_SETS["nic"]
    assert paper["g"] == 1 / 256 and nic["g"] == 1 / 16
    assert paper["rate_ai_bps"] == 40e6 and nic["rate_ai_bps"] == 5e6
    assert nic["rate_hai_bps"] == 50e6 and nic["rate_timer_ps"] == 1500 * US
    assert nic["rate_decrease_interval_ps"] == 4 * US and nic["min_rate_bps"] == 100e6
    assert paper["byte_counter_bytes"] == 10 * 2**20 and paper["fast_recovery_stages"] == 5
    a, b = started(params="paper"), started(params="nic")
    for cc in (a, b):
        cc.on_cnp(ctx())
        cc.on_cnp(ctx(now_ps=10 * US))
        for _ in range(3):
            timer(cc, 0)
        for _ in range(8):
            timer(cc, 1)
    assert a.alpha == pytest.approx((1 - 1 / 256) ** 2)     # the first interval had CNPs
    assert b.alpha == pytest.approx((1 - 1 / 16) ** 2)
    assert a.rt == pytest.approx(LINE / 2 + 3 * 40e6)        # 5 fast recovery, 3 additive
    assert b.rt == pytest.approx(LINE + 0)                   # nic: target kept at line rate


BYTES = dict(byte_counter_bytes=1000)


@pytest.mark.parametrize("key, lo, hi, outcome, base", [
    # more gain: alpha rises faster on CNPs
    ("g", 1 / 256, 1 / 2, lambda cc: -cc.alpha_after_two_cnps, dict(alpha_init=0.0)),
    ("alpha_init", 0.1, 0.9, lambda cc: cc.rc_after_cut, {}),
    ("rate_ai_bps", 1e6, 1e9, lambda cc: -cc.rt_after_increase, BYTES),
    ("rate_hai_bps", 1e6, 1e9, lambda cc: -cc.rt_after_increase, BYTES),
    ("fast_recovery_stages", 1, 8, lambda cc: cc.rt_after_increase, BYTES),
    ("mi_thresh", 1, 8, lambda cc: cc.rt_after_increase, BYTES),
    ("byte_counter_bytes", 1_000, 1_000_000, lambda cc: cc.rc_after_bytes, {}),
    ("min_rate_bps", 1e6, 40e9, lambda cc: -cc.rc_after_many_cnps, {}),
    ("rate_on_first_cnp", 0.2, 1.0, lambda cc: -cc.rc_after_cut, {}),
    ("rate_decrease_interval_ps", 0, 5 * US, lambda cc: -cc.rc_after_two_cnps, {}),
])
def test_each_parameter_moves_the_result_the_known_way(key, lo, hi, outcome, base):
    """``outcome`` is larger for the low value than for the high one."""
    def run(value):
        class R:
            pass
        r = R()
        cc = started(**base, **{key: value})
        cc.on_cnp(ctx())
        r.rc_after_cut = cc.rc
        cc.on_cnp(ctx(now_ps=1 * US))
        r.rc_after_two_cnps = cc.rc
        r.alpha_after_two_cnps = cc.alpha
        for i in range(12):
            timer(cc, 1)
            cc.on_ack(ctx(acked_bytes=2_000))
        r.rt_after_increase = cc.rt
        for _ in range(300):
            cc.on_cnp(ctx())
        r.rc_after_many_cnps = cc.rc
        b = started(**{key: value})
        b.on_cnp(ctx())
        b.on_ack(ctx(acked_bytes=50_000))
        r.rc_after_bytes = b.rc
        return r
    assert outcome(run(lo)) > outcome(run(hi))


def test_timers_move_the_schedule():
    for key, kind, attr in (("alpha_interval_ps", 0, "next_alpha_ps"),
                            ("rate_timer_ps", 1, "next_rate_ps")):
        cc = started(**{key: 9 * US})
        timer(cc, kind, 9 * US)
        assert getattr(cc, attr) == 18 * US
    fast, slow = started(alpha_interval_ps=10 * US), started(alpha_interval_ps=100 * US)
    for cc in (fast, slow):
        t = 0
        while t < 1000 * US:
            t += cc.alpha_interval_ps
            timer(cc, 0, t)
    assert fast.alpha < slow.alpha


def test_registry_name_and_keywords():
    assert CC_REGISTRY["dcqcn"] is Dcqcn
    assert policy_params(Dcqcn) == PARAMS
    for k in PARAM_SETS["paper"]:
        assert k in PARAMS
    assert set(PARAM_SETS["paper"]) == set(PARAM_SETS["nic"])


@pytest.mark.parametrize("kw, match", [
    (dict(params="ns3"), "params must be one of"),
    (dict(g=0.0), r"g must be in \(0, 1\]"),
    (dict(g=1.5), r"g must be in \(0, 1\]"),
    (dict(alpha_init=-0.1), "alpha_init"),
    (dict(alpha_interval_ps=0), "alpha_interval_ps must be > 0"),
    (dict(rate_timer_ps=-1), "rate_timer_ps must be > 0"),
    (dict(byte_counter_bytes=-1), "byte_counter_bytes must be >= 0"),
    (dict(fast_recovery_stages=0), "fast_recovery_stages must be >= 1"),
    (dict(mi_thresh=0), "mi_thresh must be >= 1"),
    (dict(rate_ai_bps=-1), "rate_ai_bps"),
    (dict(rate_hai_bps=-1), "rate_hai_bps"),
    (dict(min_rate_bps=0), "min_rate_bps must be > 0"),
    (dict(rate_on_first_cnp=0), "rate_on_first_cnp"),
    (dict(clamp_target="yes"), "clamp_target must be True or False"),
    (dict(rate_decrease_interval_ps=-1), "rate_decrease_interval_ps"),
    (dict(cwnd_bytes=1000), "unknown DCQCN parameter 'cwnd_bytes'"),
])
def test_invalid_parameters_name_the_key(kw, match):
    with pytest.raises(ValueError, match=match):
        Dcqcn(**kw)


def test_timers_fire_in_a_simulation():
    # no RoCE transport yet: drive the CC from a UET flow, with a window so that it sends
    from uesim.fabric import FabricConfig, build_network
    from uesim.protocols import ObliviousSpray
    from uesim.protocols.uet import UetFlow
    from uesim.topologies import fat_tree
    fired = []

    class Windowed(Dcqcn):
        def on_start(self, ctx):
            super().on_start(ctx)
            self.cwnd_bytes = 262_926

        def on_timer(self, ctx, kind):
            fired.append((kind, ctx.now_ps))
            super().on_timer(ctx, kind)

    built = build_network(fat_tree(4), config=FabricConfig(buffer_bytes=178450, seed=1))
    cc = Windowed(rate_timer_ps=5 * US, alpha_interval_ps=7 * US)
    f = UetFlow(0, 0, 13, 400_000, 0, cc, ObliviousSpray(1, 8),
                mtu_bytes=4150).attach(built.net, base_rtt_ps=14_022_720)
    built.sim.run()
    assert f.finished and fired
    rate = [t for k, t in fired if k == 1]
    alpha = [t for k, t in fired if k == 0]
    assert rate == [5 * US * (i + 1) for i in range(len(rate))] and len(rate) >= 5
    assert alpha == [7 * US * (i + 1) for i in range(len(alpha))] and len(alpha) >= 3
    assert cc.alpha == pytest.approx((1 - 1 / 256) ** len(alpha))
    assert cc.n_fast_recovery == 5 and cc.n_additive + cc.n_hyper == len(rate) - 5
    assert cc.rate_bps == 100 * 10**9                       # no CNP: still at line rate
