"""Compiled congestion controls copy themselves field for field (CongestionControl.fresh)."""
import pytest

from uesim.protocols import Nscc
from uesim.protocols.cc.dcqcn import Dcqcn
from uesim.protocols.hooks import CongestionControl, _fresh


def _state(cc):
    reduced = cc.__reduce_ex__(2)
    return reduced[2] if len(reduced) == 3 else reduced[1][2]


def _every_field_set(cc):
    """``cc`` with every field of its pickled state moved off its default (ints and
    floats to distinct values, flags on, strings renamed), so a field the copy leaves
    out shows."""
    moved = []
    for i, v in enumerate(_state(cc)):
        if isinstance(v, bool):
            moved.append(not v)
        elif isinstance(v, int):
            moved.append(1000 + 7 * i)
        elif isinstance(v, float):
            moved.append(0.5 + i)
        elif isinstance(v, str):
            moved.append(v + "-x")
        else:
            moved.append(v)
    cc.__setstate__(tuple(moved))
    return cc


@pytest.mark.parametrize("make", [lambda: Nscc(mtu_bytes=4096), lambda: Nscc(mtu_bytes=2048, cwnd_bytes=90_000),
                                  lambda: Dcqcn(), lambda: Dcqcn(params="nic")],
                         ids=["nscc", "nscc-set", "dcqcn", "dcqcn-nic"])
def test_fresh_copies_every_field(make):
    proto = make()
    copy = _fresh(proto)
    assert copy is not proto and type(copy) is type(proto)
    assert _state(copy) == _state(proto)
    moved = _every_field_set(make())
    assert _state(_fresh(moved)) == _state(moved)


def test_a_subclass_or_the_base_is_not_copied_so():
    class Mine(Nscc):
        pass
    assert _fresh(Mine(mtu_bytes=4096)) is None
    assert _fresh(CongestionControl()) is None
