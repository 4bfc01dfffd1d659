"""Plug-in congestion controls at the protocols layer: CongestionControl's defaults (a
subclass without __init__ works), its checked parameters (NaN, infinity, non-numbers and
out-of-range values are errors that name the parameter), the context fields a hook reads
(ctx.now_ps, ctx.flow), and that a window of 0 or less at a transport slows a flow to one
packet at a time but never stops it (so a zero window cannot leave a flow stuck; the run
pipeline reports it as an error: tests/experiments/test_plugin_failures.py)."""
import numpy as np
import pytest

from uesim.fabric import build_network
from uesim.protocols import CCContext, CongestionControl, FixedEntropy, WindowFlow
from uesim.protocols.uet import UetFlow
from uesim.topologies import leaf_spine


class NoInit(CongestionControl):
    """A plug-in with no __init__ and no parameters."""

    def on_ack(self, ctx):
        self.cwnd_bytes += 0


def test_a_cc_without_init_starts_at_16_packets_and_line_rate():
    cc = NoInit()
    assert (cc.cwnd_bytes, cc.mtu_bytes, cc.rate_bps) == (16 * 4096, 4096, 0)
    cc = NoInit(mtu_bytes=4150)                      # what a run passes
    assert (cc.cwnd_bytes, cc.mtu_bytes, cc.rate_bps) == (16 * 4150, 4150, 0)
    assert CongestionControl(cwnd_bytes=None, mtu_bytes=1000).cwnd_bytes == 16_000


@pytest.mark.parametrize("kw, error, message", [
    (dict(cwnd_bytes=0), ValueError, "cwnd_bytes must be > 0, got 0"),
    (dict(cwnd_bytes=-4096), ValueError, "cwnd_bytes must be > 0, got -4096"),
    (dict(cwnd_bytes=float("nan")), ValueError, "cwnd_bytes must be finite, got nan"),
    (dict(cwnd_bytes=float("inf")), ValueError, "cwnd_bytes must be finite, got inf"),
    (dict(cwnd_bytes=2.0 ** 70), ValueError, "cwnd_bytes must be < 2**63, got 1.1805916207174113e+21"),
    (dict(cwnd_bytes="64K"), TypeError, "cwnd_bytes must be a number, got '64K'"),
    (dict(cwnd_bytes=True), TypeError, "cwnd_bytes must be a number, got True"),
    (dict(rate_bps=-1), ValueError, "rate_bps must be >= 0, got -1"),
    (dict(rate_bps=float("inf")), ValueError, "rate_bps must be finite, got inf"),
    (dict(mtu_bytes=0), ValueError, "mtu_bytes must be > 0, got 0"),
    (dict(mtu_bytes=float("nan")), ValueError, "mtu_bytes must be finite, got nan"),
])
def test_bad_parameters_name_the_parameter_and_the_value(kw, error, message):
    with pytest.raises(error, match=f"^{message.replace('*', '[*]').replace('+', '[+]')}$"):
        CongestionControl(**kw)
    with pytest.raises(error, match="must be"):
        NoInit(**kw)


def test_finite_floats_round_down_and_numpy_numbers_are_accepted():
    cc = CongestionControl(cwnd_bytes=8191.9, rate_bps=np.float64(1e9 + 0.5), mtu_bytes=np.int64(4096))
    assert (cc.cwnd_bytes, cc.rate_bps, cc.mtu_bytes) == (8191, 1_000_000_000, 4096)
    assert CongestionControl(rate_bps=0).rate_bps == 0        # 0: line rate, allowed


def test_ctx_now_ps_and_flow_are_what_a_hook_reads():
    seen = []

    class Record(CongestionControl):
        def on_start(self, ctx):
            seen.append(("start", ctx.now_ps, ctx.flow))

        def on_ack(self, ctx):
            seen.append(("ack", ctx.now_ps, ctx.flow))

    built = build_network(leaf_spine(1, 1, 2))
    f = WindowFlow(0, 0, 1, 3 * 4032, 7_000, Record(), FixedEntropy(1)).attach(built.net)
    built.sim.run()
    assert f.finished and [s[0] for s in seen] == ["start", "ack", "ack", "ack"]
    assert seen[0][1] == 7_000                                 # the flow's start time
    times = [s[1] for s in seen]
    assert times == sorted(times) and times[-1] == f.end_ps    # the last ACK ends the flow
    assert all(s[2] is f for s in seen)
    assert CCContext.for_test().flow is None and CCContext.for_test(now_ps=5).now_ps == 5


class SetWindow(CongestionControl):
    """Sets the window given (bypassing no check: a Python CC at the protocols layer)."""

    def __init__(self, window, mtu_bytes=4096):
        super().__init__(mtu_bytes=mtu_bytes)
        self.window = window

    def on_start(self, ctx):
        self.cwnd_bytes = self.window

    def on_ack(self, ctx):
        self.cwnd_bytes = self.window


@pytest.mark.parametrize("window", [0, -4096])
@pytest.mark.parametrize("transport", ["window", "uet"])
def test_a_window_of_zero_or_less_slows_a_flow_but_never_stops_it(transport, window):
    built = build_network(leaf_spine(1, 1, 4))
    flows = []
    for i in range(4):
        cc = SetWindow(window)
        if transport == "window":
            f = WindowFlow(i, i, (i + 1) % 4, 10 * 4032, 0, cc, FixedEntropy(i))
        else:
            f = UetFlow(i, i, (i + 1) % 4, 10 * 4032, 0, cc, FixedEntropy(i), mtu_bytes=4096)
        flows.append(f.attach(built.net, base_rtt_ps=4_000_000))
    built.sim.run()
    assert all(f.finished for f in flows)
    assert all(f.cc.cwnd_bytes == window for f in flows)       # the values were kept as set
    # one packet per round trip: 10 packets take about 10 RTTs, not one window's worth
    one_at_a_time = max(f.fct_ps for f in flows)
    built = build_network(leaf_spine(1, 1, 4))
    wide = [WindowFlow(i, i, (i + 1) % 4, 10 * 4032, 0, CongestionControl(1 << 20), FixedEntropy(i))
            .attach(built.net) for i in range(4)]
    built.sim.run()
    assert one_at_a_time > 3 * max(f.fct_ps for f in wide)
