"""The traced all-to-all case: 128 GPUs, 8 MiB, on a k=8 fat tree.

NSCC cut a flow's window to what was in flight; the receiver held fewer than 16 KiB
unacknowledged and no packet had asked for an ACK, so nothing moved until an RTO sized
from a 1 GiB buffer (515 ms): 516,038 us against an ideal of 687 us. The sender now asks
for an ACK when its window closes with data in flight.
"""
from __future__ import annotations

import pytest

from uesim.experiments.collectives import run_collective
from uesim.experiments.presets import preset

UET_NO_FABRIC_SETTINGS = ({"name": "uet", "cc": {"name": "nscc"}, "lb": {"name": "oblivious"}}, {})


@pytest.mark.parametrize("setup", ["uet preset", "uet, unconfigured fabric", "roce preset"])
def test_the_128_gpu_8_mib_all_to_all_finishes_near_its_ideal_without_a_timeout(setup):
    if setup == "uet, unconfigured fabric":
        transport, fabric = UET_NO_FABRIC_SETTINGS
    else:
        p = preset(setup.split()[0])
        transport, fabric = p["transport"], p["fabric"]
    r = run_collective("all_to_all", 8 << 20, topology="fat_tree:k=8", n_ranks=128,
                       transport=transport, fabric=fabric)
    assert r.sources["finished"]
    assert r.sources["timeouts_no_loss"] == 0
    assert r.sources["timeouts"] == 0
    assert r.ideal_ps <= r.time_ps < 1.25 * r.ideal_ps, r.time_ps / r.ideal_ps


def test_an_ack_request_covers_only_what_is_in_flight():
    # a 4:1 leaf-spine trims; a flow's window closes at one packet (PSN 500 in flight)
    # while PSNs 501-502, trimmed, wait in its retransmission queue. Its ACK request
    # used to name everything up to its next PSN (503) as the horizon, so the receiver
    # waited for 501-502 before answering, and the sender waited for that answer: 4 RTOs
    # of 495 us with nothing lost. The horizon is now the highest PSN in flight, and
    # every packet below it is ACKed on arrival while the request is pending.
    p = preset("uet")
    r = run_collective("all_to_all", 64 << 20, topology="leaf_spine:n_leaves=4,n_spines=2,hosts_per_leaf=8",
                       transport=p["transport"], fabric=p["fabric"])
    assert r.sources["trims"] > 1000 and r.sources["finished"]
    assert r.sources["timeouts_no_loss"] == 0 and r.sources["timeouts"] == 0
