"""Plug-ins by entry point (groups uesim.cc, uesim.lb, uesim.transports, uesim.topologies)."""
import pytest

from uesim.experiments.plugins import load_entry_points
from uesim.experiments.schema import ScenarioError

MODULE = '''
import networkx as nx
from uesim.protocols import CongestionControl, RandomSpray
from uesim.topologies import leaf_spine

class EpCC(CongestionControl):
    def __init__(self, mtu_bytes=4096, cwnd_bytes=8192):
        super().__init__(cwnd_bytes=cwnd_bytes, mtu_bytes=mtu_bytes)

class EpLB(RandomSpray):
    pass

def ep_pair(n_spines: int = 1):
    return leaf_spine(2, n_spines, 1)
'''


def _dist(root, name, entry_points):
    info = root / f"{name}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(entry_points)


def test_entry_points_register_cc_lb_topology(tmp_path, monkeypatch):
    from uesim.experiments import check_scenario, run_scenario
    from uesim.protocols import CC_REGISTRY, LB_REGISTRY
    from uesim.topologies import GENERATORS
    (tmp_path / "ep_test_mod.py").write_text(MODULE)
    _dist(tmp_path, "ep_test_pkg", "[uesim.cc]\nep_cc = ep_test_mod:EpCC\n"
                                   "[uesim.lb]\nep_lb = ep_test_mod:EpLB\n"
                                   "[uesim.topologies]\nep_pair = ep_test_mod:ep_pair\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        done = load_entry_points(force=True)
        assert {"uesim.cc:ep_cc", "uesim.lb:ep_lb", "uesim.topologies:ep_pair"} <= set(done)
        sc = check_scenario({"topology": {"generator": "ep_pair", "n_spines": 2},
                             "transport": {"cc": {"name": "ep_cc", "cwnd_bytes": 4096}, "lb": {"name": "ep_lb"}},
                             "traffic": {"pattern": "permutation", "size_bytes": 10_000}})
        res = run_scenario(sc)
        assert len(res.flows) == 2 and res.flows["finished"].all()
    finally:
        CC_REGISTRY.pop("ep_cc", None)
        LB_REGISTRY.pop("ep_lb", None)
        GENERATORS.pop("ep_pair", None)


def test_broken_entry_point_is_a_clear_error(tmp_path, monkeypatch):
    _dist(tmp_path, "ep_broken_pkg", "[uesim.cc]\nbroken_cc = no_such_module_ep:Thing\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ScenarioError, match="entry point 'broken_cc' in group 'uesim.cc'.*cannot load it"):
        load_entry_points(force=True)
