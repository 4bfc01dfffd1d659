"""uesim vs ns-3 on the same topology and paced UDP traffic (experiments/crosscheck.py).

The ns-3 tests each start one ns-3 worker (about 4-6 s, mostly loading ns-3); they skip
where ns-3 is not installed.  The PacedFlow tests need no ns-3.
"""
import json
from pathlib import Path

import networkx as nx
import pytest

from uesim.experiments import ScenarioError
from uesim.experiments import crosscheck
from uesim.experiments.ns3 import ns3_available
from uesim.fabric import build_network
from uesim.protocols import TRANSPORT_REGISTRY, PacedFlow

needs_ns3 = pytest.mark.skipif(not ns3_available(), reason="ns-3 not installed: pip install 'uesim[ns3]'")

ROOT = Path(__file__).resolve().parents[2]
LEAFSPINE16 = ROOT / "experiments" / "scenarios" / "crosscheck_leafspine16.toml"
GBPS = 10**9
US = 10**6

INCAST = """
name = "incast4"
seed = 1
[topology]          # one switch (a single leaf): one path, 5 GPUs at 100 Gb/s, 1 us links
generator = "leaf_spine"
n_leaves = 1
n_spines = 1
hosts_per_leaf = 5
[traffic]           # GPUs 1-4 each send 200 kB to GPU 0
pattern = "incast"
receiver = 0
n_senders = 4
size_bytes = 200_000
[crosscheck]
payload_bytes = 1000
"""


def two_hosts(rate=100 * GBPS, delay=US):
    G = nx.Graph()
    G.add_nodes_from(["gpu0", "gpu1"], kind="gpu", role="host")
    G.add_edge("gpu0", "gpu1", rate_bps=rate, delay_ps=delay)
    return G


# ------------------------------------------------------------------ PacedFlow alone

def test_paced_is_registered():
    assert TRANSPORT_REGISTRY["paced"] is PacedFlow


def test_paced_schedule_is_exact_floor_of_cumulative_wire_bytes():
    # 3 Gb/s pacing on a 100 Gb/s link: no queueing, so the last packet arrives at its
    # send time + 82.4 ns serialisation + 1 us; 8 * 1030 * 10**12 / 3e9 is not an integer.
    built = build_network(two_hosts())
    n, payload, wire, rate = 7, 1000, 1030, 3 * GBPS
    f = PacedFlow(0, 0, 1, n * payload - 1, 5 * US, None, None, mtu_bytes=wire,
                  header_bytes=30, rate_bps=rate).attach(built.net)
    built.sim.run()
    last_send = 5 * US + (8 * (n - 1) * wire * 10**12) // rate
    last_wire = wire - 1
    assert f.finished and f.rx_packets == n and f.rx_bytes == n * payload - 1
    assert f.sent_packets == n and f.retx_packets == 0 and f.timeouts == 0 and f.ecn_echoes == 0
    assert f.first_rx_ps == 5 * US + wire * 80 + US
    assert f.last_rx_ps == last_send + last_wire * 80 + US
    assert f.end_ps == f.rx_done_ps == f.last_rx_ps
    assert f.fct_ps == f.last_rx_ps - 5 * US
    assert built.sim.events == n + n   # one send event and one arrival per packet


def test_paced_needs_a_rate():
    with pytest.raises(ValueError, match="rate_bps"):
        PacedFlow(0, 0, 1, 1000, 0, None, None, mtu_bytes=1030, header_bytes=30)


def test_crosscheck_table_is_checked(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text(INCAST + "bogus = 1\n")
    with pytest.raises(ScenarioError, match="crosscheck.bogus"):
        crosscheck.load_crosscheck(p)


def test_missing_ns3_gives_install_hint(monkeypatch, capsys):
    import uesim.experiments.ns3 as ns3pkg
    monkeypatch.setattr(ns3pkg, "ns3_available", lambda: False)
    assert crosscheck.main(str(LEAFSPINE16)) == 2
    assert "pip install 'uesim[ns3]'" in capsys.readouterr().err


# ------------------------------------------------------------------ against ns-3

@needs_ns3
def test_leafspine16_permutation_fcts_within_1pct(capsys):
    # through the CLI entry point, --json: the summary is the last line
    assert crosscheck.main(str(LEAFSPINE16), as_json=True) == 0
    res = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert len(res["flows"]) == 16 and res["complete"]
    for f in res["flows"]:
        assert abs(f["rel_diff"]) <= 0.01, f
    assert res["max_rel_diff"] <= 0.01
    assert res["uesim_events"] > 0 and res["ns3_events"] > 0
    assert res["uesim_wall_s"] > 0 and res["ns3_wall_s"] > 0
    assert res["max_queue_diff_packets"] <= 1


def run_incast(tmp_path, extra=""):
    p = tmp_path / "incast.toml"
    p.write_text(INCAST + extra)
    sc, cross = crosscheck.load_crosscheck(p)
    return crosscheck.run_crosscheck(sc, cross)


@needs_ns3
def test_incast_4to1_fcts_and_queue_depth(tmp_path):
    # 4 senders paced at line rate into one 100 Gb/s port, buffer unlimited: no loss.
    res = run_incast(tmp_path)
    assert res["complete"] and res["uesim_dropped"] == 0 and res["ns3_dropped"] == 0
    for f in res["flows"]:
        assert abs(f["rel_diff"]) <= 0.01, f
    b = res["bottleneck"]
    assert (b["node"], b["neighbor"]) == ("leaf0", "gpu0")
    n = 200                                  # packets per sender
    # arrivals coincide with transmission ends: ns-3 enqueues them before it dequeues
    # the next packet, so its depth equals uesim's count including the packet in service
    assert b["ns3_max_packets"] == 3 * n + 1
    assert b["uesim_max_bytes"] == (3 * n + 1) * res["wire_bytes"]
    assert res["max_queue_diff_packets"] <= 1


@needs_ns3
def test_incast_below_line_rate_shows_the_packet_in_service(tmp_path):
    # paced at 90 Gb/s, arrivals fall in the middle of transmissions: ns-3's device
    # queue then excludes the packet being serialised, uesim's count includes it.
    res = run_incast(tmp_path, "rate_bps = 90_000_000_000\n")
    assert res["complete"]
    for f in res["flows"]:
        assert abs(f["rel_diff"]) <= 0.01, f
    b = res["bottleneck"]
    assert b["uesim_max_bytes"] - b["ns3_max_bytes"] == res["wire_bytes"]   # exactly one packet
    assert all(0 <= q["diff_packets"] <= 1 for q in res["queues"])
