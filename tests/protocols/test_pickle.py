"""Every CC and LB class a sweep worker may receive pickles, and the copy continues the
same random stream and state as the original."""
import pickle

import pytest

from uesim.protocols import (Bitmap, CongestionControl, Dctcp, FixedEntropy, HtsimOblivious,
                             Mixed, Nscc, ObliviousSpray, RandomSpray, Reps)
from uesim.protocols.cc.dcqcn import Dcqcn

BALANCERS = [
    lambda: FixedEntropy(seed=1), lambda: RandomSpray(seed=2),
    lambda: ObliviousSpray(seed=3), lambda: ObliviousSpray(seed=3, n_paths=7),
    lambda: HtsimOblivious(seed=4), lambda: HtsimOblivious(seed=4, n_paths=6),
    lambda: Bitmap(seed=5, n_paths=8), lambda: Bitmap(seed=5, n_paths=10),
    lambda: Reps(seed=6), lambda: Mixed(seed=7, n_paths=6), lambda: Mixed(seed=7),
]


@pytest.mark.parametrize("make", BALANCERS)
def test_balancer_pickles_mid_stream(make):
    lb = make()
    for _ in range(5):
        lb.next_entropy()
    lb.on_feedback(3, ecn=True)
    lb.on_feedback(1, nack=True)
    for ev in range(40):          # Mixed: grows its FIFO past the first capacity
        lb.on_feedback(ev)
    copy = pickle.loads(pickle.dumps(lb))
    assert type(copy) is type(lb)
    assert [copy.next_entropy() for _ in range(60)] == [lb.next_entropy() for _ in range(60)]


def test_fresh_balancer_pickles():
    lb = ObliviousSpray(seed=9, n_paths=5)
    copy = pickle.loads(pickle.dumps(lb))
    assert copy.n_paths == 5
    assert [copy.next_entropy() for _ in range(10)] == [lb.next_entropy() for _ in range(10)]


class Tagged(ObliviousSpray):
    def __init__(self, seed=0, n_paths=4, tag="x"):
        super().__init__(seed, n_paths)
        self.tag = tag


def test_python_subclass_keeps_its_attributes():
    lb = Tagged(seed=1, tag="mine")
    copy = pickle.loads(pickle.dumps(lb))
    assert type(copy) is Tagged and copy.tag == "mine"
    assert [copy.next_entropy() for _ in range(8)] == [lb.next_entropy() for _ in range(8)]


@pytest.mark.parametrize("make", [lambda: CongestionControl(65536), lambda: Nscc(mtu_bytes=4096),
                                  lambda: Dctcp(mtu_bytes=4096), lambda: Dcqcn(mtu_bytes=4096)])
def test_cc_pickles(make):
    cc = make()
    copy = pickle.loads(pickle.dumps(cc))
    assert type(copy) is type(cc)
    assert (copy.cwnd_bytes, copy.mtu_bytes, copy.rate_bps) == (cc.cwnd_bytes, cc.mtu_bytes, cc.rate_bps)
