"""DESIGN.md's dependency direction: fabric never imports protocols or experiments;
protocols never import experiments; topologies import only networkx (and the stdlib)."""
import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def imported_modules(folder):
    for path in sorted((ROOT / folder).rglob("*")):
        if path.suffix not in (".py", ".pyx", ".pxd"):
            continue
        text = path.read_text()
        if path.suffix != ".py":        # Cython: read the (c)import lines only
            for line in text.splitlines():
                words = line.split()
                if len(words) >= 2 and words[0] in ("import", "cimport", "from"):
                    yield path, words[1]
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, alias.name
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                yield path, node.module


@pytest.mark.parametrize("folder, forbidden", [
    ("fabric", ("uesim.protocols", "uesim.experiments", "uesim.topologies")),
    ("protocols", ("uesim.experiments", "uesim.topologies")),
])
def test_lower_layers_do_not_import_upper_ones(folder, forbidden):
    bad = [(p.name, m) for p, m in imported_modules(folder) if m.startswith(forbidden)]
    assert not bad, f"{folder}/ imports an upper layer: {bad}"


def test_topologies_import_only_networkx():
    allowed = set(sys.stdlib_module_names) | {"networkx", "uesim"}
    bad = [(p.name, m) for p, m in imported_modules("topologies")
           if m.split(".")[0] not in allowed or (m.startswith("uesim.") and not m.startswith("uesim.topologies"))]
    assert not bad, f"topologies/ imports more than networkx: {bad}"
