"""Run the docstring Examples of fabric/, protocols/ and experiments/ modules, compiled
(``.pyx``) ones included: Cython keeps docstrings, and doctest finds them through the
module's classes and its ``__test__`` dict.  topologies/ has its own test_doctests.py."""
import doctest
import importlib
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def modules():
    for folder in ("fabric", "protocols", "experiments"):
        for path in sorted((ROOT / folder).glob("*.py*")):
            if path.suffix in (".py", ".pyx") and path.stem != "__init__":
                yield f"uesim.{folder}.{path.stem}"


# modules whose docstrings carry Examples: they must run some, not silently none
WITH_EXAMPLES = {"uesim.fabric.engine", "uesim.fabric.build", "uesim.fabric.units", "uesim.fabric.routing",
                 "uesim.protocols.hooks", "uesim.protocols.paced", "uesim.protocols.registry",
                 "uesim.protocols.prototype",
                 "uesim.experiments.run", "uesim.experiments.traffic", "uesim.experiments.faults",
                 "uesim.experiments.invariants", "uesim.experiments.limits", "uesim.experiments.soak",
                 "uesim.experiments.plugin_guard", "uesim.experiments.progress"}


@pytest.mark.parametrize("name", sorted(set(modules())))
def test_docstring_examples(name):
    try:
        mod = importlib.import_module(name)
    except ImportError as exc:          # optional extras (ns-3) may be missing
        pytest.skip(f"{name}: {exc}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS, verbose=False, report=True)
    assert result.failed == 0
    if name in WITH_EXAMPLES:
        assert result.attempted > 0, f"{name}: no example found (docstrings lost?)"


def test_examples_list_is_current():
    assert WITH_EXAMPLES <= set(modules())
