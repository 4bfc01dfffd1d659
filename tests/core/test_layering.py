"""DESIGN.md's dependency direction: fabric never imports protocols or experiments;
protocols never import experiments; topologies import only networkx (and the stdlib).

Every way of importing counts: ``import x``, ``from x import y``, relative imports
(``from ..experiments import run``, resolved against the file's package), Cython
``cimport`` lines, and dynamic imports with a literal name (``importlib.import_module("x")``,
``__import__("x")``, ``import_module(".x", "pkg")``).
"""
import ast
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FOLDERS = {"fabric": "uesim.fabric", "protocols": "uesim.protocols",
           "topologies": "uesim.topologies", "experiments": "uesim.experiments"}

_DYNAMIC = re.compile(r"""(?:import_module|__import__)\(\s*(['"])([.\w]+)\1(?:\s*,\s*(['"])([.\w]+)\3)?""")


def package_of(path, root):
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    parts[0] = FOLDERS.get(parts[0], parts[0])
    pkg = ".".join(parts[:-1])                  # __init__ and modules alike live in their folder
    return pkg


def resolve(name, level, pkg):
    """Absolute module name of ``from <level dots><name> import ...`` inside package ``pkg``."""
    if level == 0:
        return name
    base = pkg.split(".")
    if level - 1 > len(base):
        return "<beyond top level>"
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _dynamic(text, pkg):
    for m in _DYNAMIC.finditer(text):
        name, anchor = m.group(2), m.group(4)
        if name.startswith("."):
            level = len(name) - len(name.lstrip("."))
            yield resolve(name.lstrip("."), level, anchor or pkg)
        else:
            yield name


def imported_modules(folder, root=ROOT):
    for path in sorted((root / folder).rglob("*")):
        if path.suffix not in (".py", ".pyx", ".pxd"):
            continue
        text = path.read_text()
        pkg = package_of(path, root)
        if path.suffix != ".py":        # Cython: read the (c)import lines only
            for line in text.splitlines():
                words = line.split()
                if len(words) >= 2 and words[0] in ("import", "cimport", "from"):
                    name = words[1].rstrip(",")
                    level = len(name) - len(name.lstrip("."))
                    yield path, resolve(name.lstrip("."), level, pkg)
            for name in _dynamic(text, pkg):
                yield path, name
            continue
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield path, alias.name
            elif isinstance(node, ast.ImportFrom):
                base = resolve(node.module or "", node.level, pkg)
                yield path, base
                if node.level and not node.module:      # from . import x: x is a module too
                    for alias in node.names:
                        yield path, f"{base}.{alias.name}"
            elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                    and isinstance(node.args[0].value, str):
                fn = node.func
                fname = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", "")
                if fname in ("import_module", "__import__"):
                    name = node.args[0].value
                    anchor = node.args[1].value if (len(node.args) > 1 and isinstance(node.args[1], ast.Constant)) else pkg
                    level = len(name) - len(name.lstrip("."))
                    yield path, resolve(name.lstrip("."), level, anchor) if level else name


def upward_imports(folder, forbidden, root=ROOT):
    return [(p.name, m) for p, m in imported_modules(folder, root) if m.startswith(forbidden)]


@pytest.mark.parametrize("folder, forbidden", [
    ("fabric", ("uesim.protocols", "uesim.experiments", "uesim.topologies")),
    ("protocols", ("uesim.experiments", "uesim.topologies")),
])
def test_lower_layers_do_not_import_upper_ones(folder, forbidden):
    bad = upward_imports(folder, forbidden)
    assert not bad, f"{folder}/ imports an upper layer: {bad}"


def test_topologies_import_only_networkx():
    allowed = set(sys.stdlib_module_names) | {"networkx", "uesim"}
    bad = [(p.name, m) for p, m in imported_modules("topologies")
           if m.split(".")[0] not in allowed or (m.startswith("uesim.") and not m.startswith("uesim.topologies"))]
    assert not bad, f"topologies/ imports more than networkx: {bad}"


@pytest.mark.parametrize("source, suffix, expected", [
    ("from ..experiments import run\n", ".py", "uesim.experiments"),
    ("from ..experiments.run import x\n", ".py", "uesim.experiments.run"),
    ("from .. import experiments\n", ".py", "uesim.experiments"),
    ("import importlib\nm = importlib.import_module('uesim.experiments.run')\n", ".py", "uesim.experiments.run"),
    ("from importlib import import_module\nm = import_module('..protocols', 'uesim.fabric')\n", ".py",
     "uesim.protocols"),
    ("m = __import__('uesim.protocols', fromlist=['x'])\n", ".py", "uesim.protocols"),
    ("from ..protocols.hooks cimport CongestionControl\n", ".pyx", "uesim.protocols.hooks"),
    ("import importlib\nm = importlib.import_module(\"uesim.protocols\")\n", ".pyx", "uesim.protocols"),
])
def test_scanner_sees_every_way_of_importing(tmp_path, source, suffix, expected):
    """The scanner itself: a planted upward import in a fake fabric/ is reported."""
    (tmp_path / "fabric").mkdir()
    (tmp_path / "fabric" / f"sneaky{suffix}").write_text(source)
    found = [m for _, m in imported_modules("fabric", tmp_path)]
    assert expected in found, found
    assert upward_imports("fabric", ("uesim.protocols", "uesim.experiments"), tmp_path)


def test_scanner_resolves_sibling_relative_imports_inside_the_layer(tmp_path):
    (tmp_path / "fabric").mkdir()
    (tmp_path / "fabric" / "ok.py").write_text("from .units import us\nfrom . import engine\n")
    found = [m for _, m in imported_modules("fabric", tmp_path)]
    assert found == ["uesim.fabric.units", "uesim.fabric", "uesim.fabric.engine"]
    assert not upward_imports("fabric", ("uesim.protocols", "uesim.experiments"), tmp_path)
