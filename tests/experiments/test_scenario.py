"""Scenario checking in process: resolved defaults (values, not presence), one clear
message per mistake, path resolution, overrides, the registry and the unit helpers."""
import pytest

from uesim.experiments import ScenarioError, check_scenario, load_scenario
from uesim.experiments.scenario import read_toml, resolve_paths
from uesim.experiments.schema import Field, check_table
from uesim.fabric.units import gbps, mbps, ms, ns, ps_to_us, tx_time_ps, us
from uesim.protocols import (CC_REGISTRY, LB_REGISTRY, TRANSPORT_REGISTRY, CongestionControl,
                             FixedEntropy, ObliviousSpray, PacedFlow, WindowFlow, lookup,
                             policy_params, register_cc, register_lb, register_transport)

TOPO = {"generator": "leaf_spine", "n_leaves": 2, "n_spines": 2, "hosts_per_leaf": 2}
PERM = {"pattern": "permutation", "size_bytes": 1000}


def sc(**kw):
    raw = {"topology": dict(TOPO), "traffic": dict(PERM)}
    raw.update(kw)
    return check_scenario(raw)


def test_defaults_are_filled_in_with_their_values():
    s = sc()
    assert s["name"] == "scenario" and s["seed"] == 0
    assert s["fabric"] == {"buffer_bytes": 1 << 30, "nic_buffer_bytes": 1 << 40,
                           "switch_latency_ps": 0, "dequeue_path": False, "trimming": False,
                           "trim_bytes": 64, "trim_tail_prob": 0.0}
    assert s["transport"] == {"name": "window", "mtu_bytes": 4096, "header_bytes": 64, "ack_bytes": 64,
                              "rto_ps": 100_000_000, "cc": {"name": "fixed", "cwnd_bytes": 65536},
                              "lb": {"name": "oblivious"}}
    assert s["traffic"] == {"pattern": "permutation", "size_bytes": 1000, "start_ps": 0}
    assert s["run"] == {}


def test_ecn_defaults_and_float_from_int():
    s = sc(fabric={"ecn": {"kmin_bytes": 10, "kmax_bytes": 20, "pmax": 1}})
    assert s["fabric"]["ecn"] == {"kmin_bytes": 10, "kmax_bytes": 20, "pmax": 1.0, "at_dequeue": False,
                                  "host_downlinks": True}
    assert type(s["fabric"]["ecn"]["pmax"]) is float
    assert sc(fabric={"ecn": {"kmin_bytes": 10, "kmax_bytes": 10}})["fabric"]["ecn"]["pmax"] == 1.0


def test_input_is_not_modified():
    raw = {"topology": dict(TOPO), "traffic": dict(PERM)}
    check_scenario(raw)
    assert raw == {"topology": TOPO, "traffic": PERM}


@pytest.mark.parametrize("kw, message", [
    ({"fabric": {"ecn": {"kmin_bytes": 30, "kmax_bytes": 20}}},
     "fabric.ecn.kmin_bytes = 30: must be <= kmax_bytes (20)"),
    ({"fabric": {"ecn": {"kmin_bytes": 1, "kmax_bytes": 2, "pmax": 1.5}}},
     "fabric.ecn.pmax = 1.5: must be a number <= 1.0"),
    ({"fabric": {"ecn": {"kmax_bytes": 2}}}, "missing key 'fabric.ecn.kmin_bytes' (an integer)"),
    ({"fabric": {"dequeue_path": 1}}, "fabric.dequeue_path = 1: must be true or false"),
    ({"seed": -1}, "seed = -1: must be an integer >= 0"),
    ({"seed": True}, "seed = True: must be an integer"),
    ({"name": 3}, "name = 3: must be a string"),
    ({"fabric": 3}, "fabric = 3: must be a table"),
    ({"transport": {"mtu_bytes": 64, "header_bytes": 64}}, "transport.header_bytes = 64: must be < mtu_bytes (64)"),
    ({"transport": {"mtu_bytes": 65, "header_bytes": 64}}, None),
    ({"transport": {"name": "paced"}}, "missing key 'transport.rate_bps' (the pacing rate, required by transport 'paced')"),
    ({"transport": {"name": "paced", "rate_bps": 10}}, None),
    ({"transport": {"cc": {"cwnd_bytes": 5}}}, "transport.cc.name: missing or not a string; allowed: {cc}"),
    ({"transport": {"cc": {"name": "fixed", "cwnd_bytes": -5}}}, "transport.cc.cwnd_bytes = -5: must be >= 0"),
    ({"transport": {"cc": {"name": "fixed", "mtu_bytes": 5}}},
     "unknown key 'transport.cc.mtu_bytes' for congestion control 'fixed'; allowed: name, cwnd_bytes, rate_bps"),
    ({"transport": {"lb": {"name": "oblivious", "seed": 5}}},
     "unknown key 'transport.lb.seed' for load balancer 'oblivious'; allowed: name, n_paths"),
    ({"transport": {"lb": {"name": "oblivious", "n_paths": 4}}}, None),
    ({"traffic": {"pattern": "incast", "size_bytes": 5}}, "missing key 'traffic.receiver' (needed by pattern 'incast')"),
    ({"traffic": {"pattern": "explicit"}}, "missing key 'traffic.flows' (needed by pattern 'explicit')"),
    ({"traffic": {"pattern": "cm"}}, "missing key 'traffic.file' (needed by pattern 'cm')"),
    ({"traffic": {"size_bytes": 5}}, "missing key 'traffic.pattern' (a string)"),
    ({"run": {"until_ps": -1}}, "run.until_ps = -1: must be an integer >= 0"),
    ({"topology": {"generator": "leaf_spine", "n_leaves": 2, "n_spines": 2}},
     "missing key 'topology.hosts_per_leaf' (required by generator 'leaf_spine')"),
    ({"topology": {"n_leaves": 2}}, "topology needs exactly one of 'generator' (a name) or 'file' (GraphML/JSON)"),
    ({"topology": {"generator": "fat_tree", "file": "x.json"}},
     "topology needs exactly one of 'generator' (a name) or 'file' (GraphML/JSON)"),
    ({"topology": {"file": 5}}, "topology.file = 5: must be a string"),
    ({"bogus": 1}, "unknown key 'bogus'; allowed in the scenario: fabric, faults, name, outputs, plugins, run, seed, sweep, topology, traffic, transport"),
])
def test_errors_name_key_value_and_rule(kw, message):
    if message is None:
        sc(**kw)
        return
    with pytest.raises(ScenarioError) as info:
        sc(**kw)
    # the whole message, not a fragment (other tests may have registered more CCs)
    assert str(info.value) == message.replace("{cc}", ", ".join(sorted(CC_REGISTRY)))


def test_field_rules():
    assert Field(float).check("x", 3) == 3.0
    assert Field(int, minimum=2, maximum=4).check("x", 4) == 4
    assert Field(int, minimum=2, maximum=4).check("x", 2) == 2      # bounds are inclusive
    with pytest.raises(ScenarioError, match="^x = 5: must be an integer <= 4$"):
        Field(int, maximum=4).check("x", 5)
    with pytest.raises(ScenarioError, match="^x = 1: must be an integer >= 2$"):
        Field(int, minimum=2).check("x", 1)
    with pytest.raises(ScenarioError, match=r"^x = 'c': unknown; allowed: a, b$"):
        Field(str, choices=lambda: ["a", "b"]).check("x", "c")
    assert Field(str, choices=["a"]).check("x", "a") == "a"
    with pytest.raises(ScenarioError, match="^x = 1.5: must be an integer$"):
        Field(int).check("x", 1.5)
    import dataclasses
    with pytest.raises(dataclasses.FrozenInstanceError):      # shared field specs stay as declared
        Field(int).minimum = 3
    with pytest.raises(ScenarioError, match="^x = 3: must be an array$"):
        Field(list).check("x", 3)
    with pytest.raises(ScenarioError, match="^x = 'a': must be a number$"):
        Field(float).check("x", "a")
    with pytest.raises(ScenarioError, match="^x = 1: must be true or false$"):
        Field(bool).check("x", 1)
    assert check_table("t", {"a": 1, "z": 2}, {"a": Field(int)}, extra_ok=True) == {"a": 1, "z": 2}
    assert check_table("t", {}, {"a": Field(int, default=7), "b": Field(int)}) == {"a": 7}
    with pytest.raises(ScenarioError, match="^missing key 't.a' \\(the a\\)$"):
        check_table("t", {}, {"a": Field(int, required=True, help="the a")})
    with pytest.raises(ScenarioError, match="^t = 3: must be a table$"):
        check_table("t", 3, {})
    with pytest.raises(ScenarioError, match="^unknown key 't.q'; allowed in t: a, b$"):
        check_table("t", {"q": 1}, {"b": Field(int), "a": Field(int)})


def test_load_scenario_resolves_paths_and_overrides(tmp_path):
    (tmp_path / "sub").mkdir()
    path = tmp_path / "sub" / "s.toml"
    path.write_text('seed = 3\n[topology]\nfile = "g.json"\n[traffic]\npattern = "cm"\nfile = "../t.cm"\n')
    s = load_scenario(path, overrides={"seed": 9, "traffic": {"start_ps": 5}, "fabric": {"buffer_bytes": 7}})
    assert s["seed"] == 9 and s["traffic"]["start_ps"] == 5 and s["fabric"]["buffer_bytes"] == 7
    assert s["topology"]["file"] == str(tmp_path / "sub" / "g.json")
    assert s["traffic"]["file"] == str(tmp_path / "t.cm")
    absolute = {"topology": {"file": "/abs/g.json"}, "traffic": {"file": "/abs/t.cm"}}
    assert resolve_paths(absolute, path) == {"topology": {"file": "/abs/g.json"}, "traffic": {"file": "/abs/t.cm"}}


def test_read_toml_errors(tmp_path):
    with pytest.raises(ScenarioError, match="scenario file '.*nope.toml' not found"):
        read_toml(tmp_path / "nope.toml")
    (tmp_path / "bad.toml").write_text("x = [1")
    with pytest.raises(ScenarioError, match="bad.toml: not valid TOML"):
        read_toml(tmp_path / "bad.toml")
    (tmp_path / "ok.toml").write_text("x = 1\n[t]\ny = 'a'\n")
    assert read_toml(tmp_path / "ok.toml") == {"x": 1, "t": {"y": "a"}}


def test_units():
    assert (ns(1.5), us(2), ms(0.001), gbps(400), mbps(2.5)) == (1500, 2_000_000, 1_000_000,
                                                                  400_000_000_000, 2_500_000)
    assert us(0.0000004) == 0 and us(0.0000006) == 1          # rounded to the nearest ps
    assert ps_to_us(1_500_000) == 1.5
    assert tx_time_ps(4096, gbps(100)) == 327680 and tx_time_ps(1, 3) == 2_666_666_666_667
    with pytest.raises(ValueError, match="^time must be >= 0, got -1$"):
        us(-1)
    with pytest.raises(ValueError, match="^rate must be >= 0, got -2$"):
        gbps(-2)
    with pytest.raises(ValueError, match="^rate_bps must be > 0, got 0$"):
        tx_time_ps(10, 0)
    assert tx_time_ps(1, 1) == 8 * 10**12                  # 1 bit/s is a valid rate
    for fn, what in ((ns, "time"), (ms, "time"), (us, "time"), (mbps, "rate"), (gbps, "rate")):
        with pytest.raises(ValueError, match=f"^{what} must be >= 0, got -0.5$"):
            fn(-0.5)
    assert ns(0) == us(0) == 0
    assert (ns(1), us(1), ms(1), gbps(1), mbps(1)) == (10**3, 10**6, 10**9, 10**9, 10**6)


def test_registry_values():
    assert lookup(CC_REGISTRY, "congestion control", "fixed") is CongestionControl
    assert LB_REGISTRY["ecmp"] is FixedEntropy and LB_REGISTRY["oblivious_fixed"] is ObliviousSpray
    assert TRANSPORT_REGISTRY == {"window": WindowFlow, "paced": PacedFlow} | {
        k: v for k, v in TRANSPORT_REGISTRY.items() if k not in ("window", "paced")}
    with pytest.raises(ValueError, match="^unknown load balancer 'x'; allowed: ecmp, oblivious, random$"):
        lookup({"random": 1, "ecmp": 2, "oblivious": 3}, "load balancer", "x")
    assert policy_params(CongestionControl) == ("cwnd_bytes", "mtu_bytes", "rate_bps")
    assert policy_params(ObliviousSpray) == ("seed", "n_paths")
    from uesim.protocols import RandomSpray
    assert LB_REGISTRY["random"] is RandomSpray and CC_REGISTRY["fixed"] is CongestionControl
    assert policy_params(FixedEntropy) == policy_params(RandomSpray) == ("seed",)

    class Py(CongestionControl):
        def __init__(self, cwnd_bytes, mtu_bytes=4096, *, gain=0.5):
            super().__init__(cwnd_bytes, mtu_bytes)

    class Kw(CongestionControl):
        def __init__(self, **kw):
            super().__init__(1)
    assert policy_params(Py) == ("cwnd_bytes", "mtu_bytes", "gain")
    assert policy_params(Kw) is None


def test_register_decorators():
    saved = (dict(CC_REGISTRY), dict(LB_REGISTRY), dict(TRANSPORT_REGISTRY))
    try:
        @register_cc("t_cc")
        class C(CongestionControl):
            pass
        assert CC_REGISTRY["t_cc"] is C and register_cc("t_cc")(C) is C   # same class again: fine
        with pytest.raises(ValueError, match="^congestion control 't_cc' is already registered \\(C\\)$"):
            register_cc("t_cc")(type("D", (CongestionControl,), {}))
        register_lb("t_lb")(FixedEntropy)
        assert LB_REGISTRY["t_lb"] is FixedEntropy
        register_transport("t_tr")(WindowFlow)
        assert TRANSPORT_REGISTRY["t_tr"] is WindowFlow
        with pytest.raises(ValueError, match="^transport 't_tr' is already registered \\(WindowFlow\\)$"):
            register_transport("t_tr")(PacedFlow)
        with pytest.raises(ValueError, match="^load balancer 't_lb' is already registered \\(FixedEntropy\\)$"):
            register_lb("t_lb")(ObliviousSpray)
    finally:
        for reg, old in zip((CC_REGISTRY, LB_REGISTRY, TRANSPORT_REGISTRY), saved):
            reg.clear()
            reg.update(old)
