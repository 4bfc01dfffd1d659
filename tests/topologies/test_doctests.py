"""Run the docstring Examples of every uesim.topologies module."""

import doctest
import importlib
import pathlib

import pytest

TOPOLOGIES = pathlib.Path(__file__).resolve().parents[2] / "topologies"
MODULES = sorted(p.stem for p in TOPOLOGIES.glob("*.py"))


@pytest.mark.parametrize("module", MODULES)
def test_docstring_examples(module):
    name = "uesim.topologies" if module == "__init__" else f"uesim.topologies.{module}"
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0


def test_public_functions_have_examples():
    import uesim.topologies as t

    for name in t.__all__:
        obj = getattr(t, name)
        if callable(obj) and not isinstance(obj, type):
            assert obj.__doc__ and "Examples" in obj.__doc__, name
