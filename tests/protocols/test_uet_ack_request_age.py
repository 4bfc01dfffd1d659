"""A flow held to a small share of its NIC asks for an ACK before its timer runs out."""
import pytest

from uesim.experiments.presets import preset
from uesim.experiments.simulation import Simulation


def _fanout(age: float):
    """60 flows of 32 KiB (8 packets) from one GPU: each gets 1/60 of its NIC, a packet
    every 20 us, so four packets (the receiver's ACK every 16 KiB) take longer than a
    60 us timer."""
    p = preset("uet")
    tr = {**p["transport"], "rto_ps": 60_000_000, "ack_request_age": age}
    sim = Simulation("leaf_spine:n_leaves=2,n_spines=2,hosts_per_leaf=8", transport=tr, fabric=p["fabric"])
    for i in range(60):
        sim.add_flow(0, 1 + i % 15, 32 << 10)
    sim.run()
    return sim.result().flows


def test_without_the_age_rule_the_timer_fires_with_nothing_lost():
    f = _fanout(0.0)                          # htsim's rules (its front end sets 0)
    assert f["timeouts_no_loss"].sum() > 20 and f["timeouts_no_loss"].sum() == f["timeouts"].sum()


def test_with_it_no_timer_fires_and_more_acks_come():
    off, on = _fanout(0.0), _fanout(0.5)
    assert on["timeouts"].sum() == 0 and on["retransmits"].sum() == 0
    assert on["acks"].sum() > off["acks"].sum()
    assert on["finished"].all()


def test_the_age_is_checked():
    from uesim.experiments.schema import ScenarioError
    with pytest.raises(ScenarioError, match="ack_request_age"):
        Simulation("leaf_spine:n_leaves=1,n_spines=1,hosts_per_leaf=2",
                   transport={"name": "uet", "ack_request_age": 1.5})
    from uesim.protocols import Nscc
    from uesim.protocols.uet.pds import UetFlow
    from uesim.protocols.balancers import HtsimOblivious
    with pytest.raises(ValueError, match=r"ack_request_age must be in \[0, 1\)"):
        UetFlow(0, 0, 1, 1000, 0, Nscc(), HtsimOblivious(), ack_request_age=-0.1)
