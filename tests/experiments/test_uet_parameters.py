"""Every UET scenario parameter moves the result the known way (a setting that silently
changes nothing is a bug).  The base case is htsim's 15:1 incast on a k=4 fat tree."""
import copy
from pathlib import Path

import numpy as np
import pytest

from uesim.experiments import check_scenario, run_scenario

REF = Path(__file__).resolve().parents[2] / "benchmarks" / "reference" / "htsim"
BASE = {
    "seed": 2,
    "topology": {"generator": "fat_tree", "k": 4},
    "fabric": {"buffer_bdp": 1.0, "trimming": True, "trim_tail_prob": 0.5,
               "ecn": {"kmin_bytes": 37350, "kmax_bytes": 145250, "pmax": 1.0, "at_dequeue": True}},
    "transport": {"name": "uet", "mtu_bytes": 4150, "cc": {"name": "nscc"},
                  "lb": {"name": "mixed", "n_paths": 64}},
    "traffic": {"pattern": "cm", "file": str(REF / "incast.cm")},
}


def run(**changes):
    sc = copy.deepcopy(BASE)
    for path, value in changes.items():
        table = sc
        *parents, key = path.split("__")
        for p in parents:
            table = table[p]
        if value is None:
            del table[key]
        else:
            table[key] = value
    res = run_scenario(check_scenario(sc))
    out = dict(res.stats)
    out["fct"] = res.flow_columns()["fct_us"]
    out["ecn_marks"] = int(np.sum(res.port_cols["ecn_marks"]))
    out["wire_bytes"] = int(np.sum(res.port_cols["tx_bytes"]))
    return out


@pytest.fixture(scope="module")
def base():
    return run()


def test_bigger_buffers_trim_less(base):
    assert run(fabric__buffer_bdp=3.0)["packets_trimmed"] < 0.8 * base["packets_trimmed"]


def test_trim_tail_prob_changes_which_packet_is_cut(base):
    other = run(fabric__trim_tail_prob=0.0)
    assert not np.array_equal(other["fct"], base["fct"])


def test_trim_bytes_is_the_size_of_a_cut_packet(base):
    big = run(fabric__trim_bytes=1000)
    # same number of trims give or take, each carrying 936 more bytes on every hop left
    assert big["wire_bytes"] > base["wire_bytes"] + 500 * base["packets_trimmed"]


def test_ecn_on_host_downlinks(base):
    off = run(fabric__ecn={**BASE["fabric"]["ecn"], "host_downlinks": False})
    # the incast's queue is the receiver's downlink: without ECN there, far fewer marks
    assert off["ecn_marks"] < base["ecn_marks"] / 2


def test_ack_every_bytes():
    # a permutation marks few packets, so most ACKs come from the byte count
    perm = {"traffic__file": str(REF / "perm_16n_16c_2MB.cm")}
    every_16k = run(**perm)
    every_packet = run(transport__ack_every_bytes=4150, **perm)
    assert every_packet["acks"] >= every_packet["packets_new"] > 2 * every_16k["acks"]


def test_base_rtt_sets_nscc_window(base):
    # a longer base RTT gives NSCC a larger maximum window and a later delay target
    slow = run(transport__base_rtt_ps=3 * 14_022_720)
    assert not np.array_equal(slow["fct"], base["fct"])


def test_receiver_credit_only(base):
    rc = run(transport__sender_cc=False, transport__receiver_cc=True)
    assert np.isfinite(rc["fct"]).all()
    # the receiver's pull pacer shares its link: the senders finish close together
    # (NSCC alone leaves the same-ToR sender far ahead)
    assert rc["fct"].min() / rc["fct"].max() > 0.9
    assert base["fct"].min() / base["fct"].max() < 0.8


def test_mode_rod_goes_back_n(base):
    window = {"name": "constant", "cwnd_bytes": 8 * 4150}
    rod = run(transport__mode="rod", transport__lb={"name": "ecmp"}, transport__cc=window)
    rud = run(transport__mode="rud", transport__lb={"name": "ecmp"}, transport__cc=window)
    assert np.isfinite(rod["fct"]).all()
    # going back N resends packets that had arrived: more retransmissions than trims,
    # and an incast suffers for it
    assert rod["packets_rtx"] > rod["packets_trimmed"]
    assert rud["packets_rtx"] == rud["packets_trimmed"]
    assert rod["fct"].max() > 2 * rud["fct"].max()


def test_rto_ps_bounds_recovery_when_trimming_is_off():
    fast = run(fabric__trimming=False, transport__rto_ps=100_000_000)
    slow = run(fabric__trimming=False, transport__rto_ps=1_000_000_000)
    assert fast["fct"].max() < slow["fct"].max()
