"""Hybrid scale-up + scale-out: each traffic class stays on its own fabric."""
from __future__ import annotations

import numpy as np
import pytest

from uesim.fabric.routing import port_fabrics
from uesim.topologies import hgx, hybrid, rail_optimized

from fabric_test_helpers import build, run_flows

GPUS_PER_SERVER = 8
N_SERVERS = 8
N = GPUS_PER_SERVER * N_SERVERS


def _graph():
    return hybrid(hgx(n_servers=N_SERVERS, gpus_per_server=GPUS_PER_SERVER),
                  rail_optimized(n_servers=N_SERVERS, gpus_per_server=GPUS_PER_SERVER,
                                 n_spines=4))


def _pairs(intra: bool | None):
    server = lambda i: i // GPUS_PER_SERVER   # noqa: E731
    return [(s, d) for s in range(N) for d in range(N)
            if s != d and (intra is None or (server(s) == server(d)) == intra)]


def _run(pairs):
    G = _graph()
    built = build(G)
    flows = run_flows(built, pairs)
    assert all(f.finished for f in flows)
    assert sum(f.retx_packets for f in flows) == 0
    counters = built.net.port_counters()
    assert counters["drops"].sum() == 0 and built.net.unroutable == 0
    return built, counters["tx_packets"], port_fabrics(G, built.port_link)


def test_two_tables_and_domains():
    built = build(_graph())
    assert built.n_hosts == N and built.net.n_tables == 2


def test_intra_server_traffic_uses_only_scale_up():
    pairs = _pairs(intra=True)
    assert len(pairs) == N_SERVERS * GPUS_PER_SERVER * (GPUS_PER_SERVER - 1)
    built, tx, up = _run(pairs)
    assert tx[~up].sum() == 0
    assert tx[up].sum() > 0
    # every NVSwitch carried traffic (ECMP spreads over the 4 switches of each server)
    nvs = {a for (a, b, _), u in zip(built.port_link, up) if u and a.startswith("nvswitch")}
    for sw in nvs:
        sent = sum(tx[p] for p, (a, _, _) in enumerate(built.port_link) if a == sw)
        assert sent > 0, sw


def test_inter_server_traffic_uses_only_scale_out():
    built, tx, up = _run(_pairs(intra=False))
    assert tx[up].sum() == 0
    assert tx[~up].sum() > 0
    # rail-optimised: cross-rail pairs go through spines, same-rail pairs stay on a leaf
    spine_tx = sum(tx[p] for p, (a, _, _) in enumerate(built.port_link)
                   if a.startswith("spine"))
    assert spine_tx > 0


def test_full_all_to_all_completes_on_both_fabrics():
    pairs = _pairs(intra=None)
    assert len(pairs) == N * (N - 1)
    built, tx, up = _run(pairs)
    assert tx[up].sum() > 0 and tx[~up].sum() > 0
    # hop counts do not depend on ECMP choices and nothing is retransmitted, so each
    # fabric carries exactly the packets of its own traffic class run alone
    _, tx_intra, _ = _run(_pairs(intra=True))
    _, tx_inter, _ = _run(_pairs(intra=False))
    assert tx[up].sum() == tx_intra[up].sum()
    assert tx[~up].sum() == tx_inter[~up].sum()
