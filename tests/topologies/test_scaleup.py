"""hgx, nvl72, scaleup_switch_domain."""

import pytest

from uesim.topologies import (
    TopologyError,
    bisection_bandwidth,
    describe_topology,
    hgx,
    nvl72,
    scaleup_switch_domain,
    validate_topology,
)


def test_hgx_single_server(check_schema, count_roles):
    G = hgx()
    validate_topology(G)
    assert check_schema(G) == 8
    assert count_roles(G) == {"host": 8, "nvswitch": 4}
    for i in range(8):
        assert sorted(G[f"gpu{i}"]) == [f"nvswitch{j}" for j in range(4)]
        assert G.nodes[f"gpu{i}"]["scaleup_domain"] == 0
    for _, _, d in G.edges(data=True):
        assert d["fabric"] == "scale_up"
        assert d["rate_bps"] == 900_000_000_000 and d["delay_ps"] == 100_000
    # per-GPU aggregate = 3.6 Tbps; bisection = 4 GPUs x 3.6 Tbps
    assert bisection_bandwidth(G) == 4 * 3_600_000_000_000
    d = describe_topology(G)
    assert d["diameter"] == 2 and d["path_diversity"]["min"] == 4
    assert d["oversubscription"] == {"nvswitch": None}


def test_hgx_multi_server_is_an_ingredient():
    G = hgx(3, 4, 2, gpu_rate_bps=2_000_000_000_000)
    validate_topology(G, connected=False)
    with pytest.raises(TopologyError, match="disconnected"):
        validate_topology(G)
    for i in range(12):
        s = i // 4
        assert G.nodes[f"gpu{i}"]["scaleup_domain"] == s
        assert sorted(G[f"gpu{i}"]) == [f"nvswitch{2 * s}", f"nvswitch{2 * s + 1}"]
    assert G.nodes["nvswitch5"]["scaleup_domain"] == 2
    with pytest.raises(ValueError, match="must be divisible by n_nvswitches=3"):
        hgx(1, 8, 3, gpu_rate_bps=1000)


def test_nvl72(check_schema):
    G = nvl72(2)
    validate_topology(G, connected=False)
    assert check_schema(G) == 144
    assert sum(1 for _, r in G.nodes(data="role") if r == "nvswitch") == 36
    for i in (0, 71, 72, 143):
        rack = i // 72
        assert sorted(G[f"gpu{i}"], key=lambda n: int(n[8:])) == [
            f"nvswitch{rack * 18 + j}" for j in range(18)]
    assert G.edges["gpu0", "nvswitch0"]["rate_bps"] == 400_000_000_000
    single = nvl72()
    validate_topology(single)
    assert bisection_bandwidth(single) == 36 * 7_200_000_000_000


def test_scaleup_switch_domain(check_schema):
    G = scaleup_switch_domain(16, 4, n_domains=2, link_rate_bps=200_000_000_000)
    validate_topology(G, connected=False)
    assert check_schema(G) == 32
    assert G.nodes["uaswitch5"] == {"kind": "switch", "role": "nvswitch", "scaleup_domain": 1}
    assert sorted(G["gpu20"]) == [f"uaswitch{j}" for j in range(4, 8)]
    assert G.edges["gpu20", "uaswitch4"]["rate_bps"] == 200_000_000_000
    with pytest.raises(ValueError, match="n_switches must be an int >= 1, got 0"):
        scaleup_switch_domain(8, 0)
