"""The topology generator registry: decorator registration and no import cycles."""
import ast
from pathlib import Path

import networkx as nx
import pytest

import uesim.topologies as topo
from uesim.topologies import GENERATORS, parse_topology_spec, register_topology, unregister_topology

PKG = Path(topo.__file__).parent


def _imports(path: Path) -> set[str]:
    """Sibling modules ``path`` imports anywhere (top level or inside functions)."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level == 1:
                out.add(mod.split(".")[0] if mod else "")
                if not mod:
                    out.update(a.name for a in node.names)
            elif mod.startswith("uesim.topologies."):
                out.add(mod.split(".")[2])
    return {m for m in out if m and (PKG / f"{m}.py").exists()}


def test_no_import_cycle_between_topology_modules():
    graph = {p.stem: _imports(p) for p in PKG.glob("*.py") if p.stem != "__init__"}
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for nxt in graph.get(node, ()):
            if state.get(nxt) == "open":
                pytest.fail(f"import cycle: {' -> '.join(stack + [node, nxt])}")
            if nxt not in state:
                visit(nxt, stack + [node])
        state[node] = "done"

    for node in graph:
        if node not in state:
            visit(node, [])
    assert graph["registry"] == set()      # the registry imports no sibling


def test_builtin_generators_registered_in_order():
    assert list(GENERATORS)[:3] == ["leaf_spine", "fat_tree", "rail_optimized"]
    assert GENERATORS["multi_plane"] is topo.multi_plane


def test_register_by_decorator_reaches_spec_strings():
    @register_topology("test_ring")
    def ring(n: int = 3, rate_bps: int = 1):
        return nx.cycle_graph(n)
    try:
        assert parse_topology_spec("test_ring:n=5").number_of_nodes() == 5
        with pytest.raises(ValueError, match="already registered"):
            register_topology("test_ring")(lambda: None)
    finally:
        unregister_topology("test_ring")
    assert "test_ring" not in GENERATORS
