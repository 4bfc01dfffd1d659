"""Policy objects copied from a prototype are the objects their constructor makes."""
import pytest

from uesim.protocols import CC_REGISTRY, CongestionControl, Nscc
from uesim.protocols.cc.dcqcn import Dcqcn
from uesim.protocols.prototype import _shared_dict, copier

CASES = [(name, {"mtu_bytes": 4096}) for name in CC_REGISTRY if CC_REGISTRY[name].__module__.startswith("uesim.")]
CASES += [("nscc", {"mtu_bytes": 9000, "target_qdelay_ps": 3_000_000, "fi": 2.5}),
          ("dcqcn", {"mtu_bytes": 4096, "params": "nic"}), ("fixed", {"cwnd_bytes": 12_345, "mtu_bytes": 4096})]


@pytest.mark.parametrize("name,params", CASES)
def test_a_copy_has_the_whole_state_of_a_constructed_one(name, params):
    cls = CC_REGISTRY[name]
    fresh = copier(cls(**params))
    assert fresh is not None, f"{name}: compiled CCs must be copyable"
    a = fresh()
    assert type(a) is cls
    # the pickle state is every cdef field, private ones included
    assert a.__reduce_ex__(2) == cls(**params).__reduce_ex__(2)


def test_copies_are_independent():
    fresh = copier(CongestionControl(cwnd_bytes=8192))
    a, b = fresh(), fresh()
    a.cwnd_bytes = 1
    assert b.cwnd_bytes == 8192 and fresh().cwnd_bytes == 8192


def test_python_plug_ins_are_constructed_not_copied():
    class Halve(CongestionControl):
        def on_ack(self, ctx):
            self.cwnd_bytes //= 2

    class SlottedNscc(Nscc):
        __slots__ = ()

    assert copier(Halve()) is None
    assert copier(SlottedNscc(mtu_bytes=4096)) is None


def test_only_declared_dicts_are_shared():
    assert _shared_dict(Nscc, {"a": 1, "b": None})
    assert not _shared_dict(Nscc, {"a": [1]})          # a mutable value inside
    assert not _shared_dict(Dcqcn, {"a": 1})           # Dcqcn declares none
