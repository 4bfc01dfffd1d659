"""Shared fixtures for the topology tests (usable with any pytest import mode)."""

import networkx as nx
import pytest

INT_NODE_ATTRS = ("pod", "rail", "plane", "scaleup_domain", "group", "server", "x", "y", "z")


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def schema_check(G):
    """Assert every documented attribute is present with the right type."""
    assert type(G) is nx.Graph
    assert isinstance(G.graph["name"], str)
    for key, value in G.graph.items():
        assert isinstance(value, (bool, int, float, str)), (key, value)
    seen_switch = False
    host = 0
    for n, d in G.nodes(data=True):
        assert isinstance(n, str)
        assert d["kind"] in ("gpu", "switch"), (n, d)
        if d["kind"] == "gpu":
            assert not seen_switch, f"{n} added after a switch"
            assert n == f"gpu{host}"
            assert d["role"] == "host"
            host += 1
        else:
            seen_switch = True
            assert d["role"] in ("tor", "leaf", "agg", "spine", "core", "nvswitch"), (n, d)
        for attr in INT_NODE_ATTRS:
            if attr in d:
                assert _is_int(d[attr]), (n, attr, d[attr])
    for u, v, d in G.edges(data=True):
        assert _is_int(d["rate_bps"]) and d["rate_bps"] > 0, (u, v, d)
        assert _is_int(d["delay_ps"]) and d["delay_ps"] >= 0, (u, v, d)
        assert d["fabric"] in ("scale_up", "scale_out"), (u, v, d)
        assert _is_int(d.get("links", 1)) and d.get("links", 1) >= 1
        assert isinstance(d.get("up", True), bool)
        assert not (G.nodes[u]["kind"] == "gpu" and G.nodes[v]["kind"] == "gpu")
    return host


@pytest.fixture
def check_schema():
    return schema_check


def role_counts(G):
    out = {}
    for _, r in G.nodes(data="role"):
        out[r] = out.get(r, 0) + 1
    return out


@pytest.fixture
def count_roles():
    return role_counts
