"""Run the docstring Examples of the compiled congestion-control modules.

pytest does not collect doctests from extension modules, so run them with doctest.testmod.
"""
import doctest
import importlib

import pytest

MODULES = ["uesim.protocols.cc", "uesim.protocols.cc.nscc", "uesim.protocols.cc.dctcp",
           "uesim.protocols.cc.dcqcn"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.failed == 0
    if name != "uesim.protocols.cc":
        assert result.attempted > 0


def test_every_cc_class_has_an_example():
    import uesim.protocols.cc as cc
    for name in cc.__all__:
        obj = getattr(cc, name)
        assert obj.__doc__ and "Examples" in obj.__doc__ and ">>>" in obj.__doc__, name
