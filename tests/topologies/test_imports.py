"""topologies/ imports only the standard library and networkx (DESIGN.md dependency rule)."""

import ast
import pathlib
import sys

TOPOLOGIES = pathlib.Path(__file__).resolve().parents[2] / "topologies"
ALLOWED = set(sys.stdlib_module_names) | {"networkx", "__future__"}


def imported_roots(path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:  # relative imports stay inside the package
                yield node.lineno, node.module.split(".")[0]


def test_topologies_imports_only_stdlib_and_networkx():
    files = sorted(TOPOLOGIES.glob("**/*.py"))
    assert (TOPOLOGIES / "__init__.py") in files
    bad = [
        f"{path.relative_to(TOPOLOGIES.parent)}:{line} imports {name}"
        for path in files
        for line, name in imported_roots(path)
        if name not in ALLOWED
    ]
    assert not bad, "\n".join(bad)


def test_no_uesim_init_namespace_layout():
    # uesim is a PEP 420 namespace package: topologies/ must not import uesim absolutely
    for path in TOPOLOGIES.glob("**/*.py"):
        for _, name in imported_roots(path):
            assert name != "uesim", path
