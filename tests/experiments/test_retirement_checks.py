"""The bulk retirement check flags exactly the flows the per-flow invariants report."""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from uesim.experiments.invariants import CHECK_FIELDS, InvariantError, _flow_problems, failing_rows
from uesim.experiments.simulation import RetiredFlows

# the counter sets of the transports: UET (new packets, ACKs and NACKs both ways),
# RoCE (n_send, ACKs received only), the window transport (the base counters)
KINDS = {
    "uet": ("new_packets", "rx_packets", "acks_sent", "acks_received", "nacks_sent", "nacks_received"),
    "roce": ("n_send", "acks_received", "nacks_received"),
    "window": (),
}


class FakeFlow:
    def __init__(self, **kw):
        self.__dict__.update(kw)


@st.composite
def flows(draw, kind):
    """A flow whose counters are consistent, then (mostly) one of them moved a little:
    each check is then the only one that fails about as often as it holds."""
    n = draw(st.integers(1, 8))
    new = draw(st.integers(0, n))
    retx = draw(st.integers(0, 4))
    acks = draw(st.integers(0, 6))
    kw = {"flow_id": draw(st.integers(0, 50)), "n_packets": n, "new_packets": new, "retx_packets": retx,
          "sent_packets": new + retx, "n_send": n + draw(st.integers(0, 1)), "rx_packets": draw(st.sampled_from([0, new + retx, new + retx + 1])),
          "acks_sent": acks, "nacks_sent": 1, "acks_received": draw(st.sampled_from([0, acks, acks + 1])), "nacks_received": draw(st.integers(0, 1)),
          "finished": new == n and draw(st.booleans()), "start_ps": 20, "end_ps": draw(st.sampled_from([19, 20, 65, 110, 111]))}
    kw = {k: v for k, v in kw.items() if k in KINDS[kind] or k not in ALL_OPTIONAL}
    if draw(st.integers(0, 3)):                      # move one counter by -2..+2
        key = draw(st.sampled_from(sorted(kw)))
        if key != "flow_id":
            kw[key] = (not kw[key]) if key == "finished" else kw[key] + draw(st.sampled_from([-2, -1, 1, 2]))
    return FakeFlow(**kw)


ALL_OPTIONAL = {k for ks in KINDS.values() for k in ks}


@pytest.mark.parametrize("kind", sorted(KINDS))
@settings(max_examples=500, deadline=None)
@given(data=st.data())
def test_failing_rows_are_the_flows_with_problems(kind, data):
    objs = data.draw(st.lists(flows(kind), min_size=1, max_size=3))
    now = 110
    fields = tuple(k for k in CHECK_FIELDS if hasattr(objs[0], k))
    table = np.array([[int(getattr(o, k)) for k in fields] for o in objs], dtype=np.int64)
    mask = failing_rows(table, fields, now)
    assert mask.tolist() == [bool(_flow_problems([o], now, True)) for o in objs]


def good(fid, **kw):
    base = dict(flow_id=fid, src=0, dst=1, size_bytes=100, start_ps=0, end_ps=5, rx_done_ps=4,
                finished=True, sent_packets=2, retx_packets=0, timeouts=0, timeouts_no_loss=0,
                ecn_echoes=0, n_packets=2)
    base.update(kw)
    return FakeFlow(**base)


def test_a_batch_is_kept_whole_or_not_at_all():
    r = RetiredFlows()
    r.add_checked([good(0), good(3)], now=10)
    assert r.count == 2 and r.column("flow_id").tolist() == [0, 3] and r.is_retired(3) and not r.is_retired(1)
    with pytest.raises(InvariantError, match="at 10 ps: flow 7: finished after sending 1 of its 2 packets"):
        r.add_checked([good(5), good(7, sent_packets=1)], now=10)
    assert r.count == 2 and not r.is_retired(5)
    with pytest.raises(InvariantError, match="flow 8: finished at 50 ps"):
        r.add_checked([good(8, end_ps=50)], now=10)
