"""Flow counters read in compiled code equal the attributes, for every transport."""
import numpy as np
import pytest

from uesim.experiments import Simulation
from uesim.experiments.invariants import CHECK_FIELDS
from uesim.experiments.simulation import RetiredFlows
from uesim.protocols.flow import COUNTER_NAMES, counter_table, retire_all
from uesim.protocols.uet.pds import UetFlow

TOPO = "leaf_spine:n_leaves=2,n_spines=2,hosts_per_leaf=4"
# small buffers: an incast loses (or trims) packets, so the loss counters move too
FABRIC = {"buffer_bytes": 30_000}


def finished_flows(transport: str) -> list:
    tr = {"name": transport, **({"rate_bps": 50 * 10**9} if transport == "paced" else {})}
    sim = Simulation(TOPO, transport=tr, fabric=FABRIC, seed=3)
    for s in range(1, 8):
        sim.add_flow(s, 0, 200_000 + 4_096 * s)       # a 7:1 incast
    sim.add_flow(0, 5, 1_000)
    sim.run()
    return list(sim.flow_objs)


def test_every_kept_or_checked_counter_has_a_code():
    assert set(RetiredFlows.FIELDS) | set(CHECK_FIELDS) <= set(COUNTER_NAMES)
    assert len(set(COUNTER_NAMES)) == len(COUNTER_NAMES)


@pytest.mark.parametrize("transport", ["uet", "roce", "window", "paced"])
def test_counter_table_equals_the_attributes(transport):
    flows = finished_flows(transport)
    names = tuple(k for k in COUNTER_NAMES if hasattr(flows[0], k))
    table = counter_table(flows, names)
    assert table is not None and table.shape == (len(flows), len(names))
    expect = np.array([[int(getattr(o, k)) for k in names] for o in flows], dtype=np.int64)
    assert (table == expect).all()
    # the run moved more than the identities: some loss-side counter is not 0
    moved = {k for k in names if table[:, names.index(k)].any()}
    assert moved - {"flow_id", "src", "dst", "size_bytes", "start_ps", "end_ps", "rx_done_ps",
                    "finished", "n_packets", "sent_packets"}


@pytest.mark.parametrize("transport", ["uet", "roce"])
def test_counter_table_mid_run_when_the_two_ends_disagree(transport):
    """Stopped while ACKs are on the wire: a receiver has sent more than its sender got,
    so counters that agree once a flow is done differ here, and the table still reads
    each one."""
    sim = Simulation(TOPO, transport={"name": transport}, fabric=FABRIC, seed=3)
    for s in range(1, 8):
        sim.add_flow(s, 0, 200_000 + 4_096 * s)
    sim.run(until_ps=15_000_000)
    flows = list(sim.flow_objs)
    names = tuple(k for k in COUNTER_NAMES if hasattr(flows[0], k))
    table = counter_table(flows, names)
    expect = np.array([[int(getattr(o, k)) for k in names] for o in flows], dtype=np.int64)
    assert (table == expect).all()
    sent, got = table[:, names.index("acks_sent")], table[:, names.index("acks_received")]
    assert (sent != got).any()


def test_counter_table_refuses_what_a_class_lacks():
    flows = finished_flows("paced")
    assert counter_table(flows, ("flow_id", "acks_sent")) is None
    assert counter_table(flows, ("flow_id", "no_such_counter")) is None
    assert counter_table([], ("flow_id",)).shape == (0, 1)


class Shadowed(UetFlow):
    """A Python subclass that reports its own timeouts and counts its retirements."""
    retired = 0

    @property
    def timeouts(self):
        return 5

    def retire(self):
        type(self).retired += 1


def test_a_python_subclass_is_read_by_attribute():
    from uesim.protocols import Nscc
    from uesim.protocols.balancers import HtsimOblivious
    flows = [Shadowed(i, 0, 1, 10_000, 0, Nscc(), HtsimOblivious()) for i in range(3)]
    kept = RetiredFlows()
    kept.add_checked(flows, 0)
    assert not kept._compiled
    assert kept.column("timeouts").tolist() == [5, 5, 5]


def test_retire_all_hands_back_in_compiled_code_or_calls_an_override():
    flows = finished_flows("uet")
    assert all(o.ctx.flow is o for o in flows)
    Shadowed.retired = 0
    from uesim.protocols import Nscc
    from uesim.protocols.balancers import HtsimOblivious
    other = [Shadowed(90 + i, 0, 1, 10_000, 0, Nscc(), HtsimOblivious()) for i in range(2)]
    retire_all(flows[:3] + other + flows[3:])
    assert Shadowed.retired == 2
    assert all(o.ctx.flow is None for o in flows)       # Flow.retire's hand-back ran


def test_retire_all_refuses_an_unfinished_flow():
    from uesim.protocols import Nscc
    from uesim.protocols.balancers import HtsimOblivious
    with pytest.raises(ValueError, match="flow 4 is not finished"):
        retire_all([UetFlow(4, 0, 1, 10_000, 0, Nscc(), HtsimOblivious())])
