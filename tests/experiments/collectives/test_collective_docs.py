"""The examples of docs/collectives.md run."""
import doctest
import pathlib

DOC = pathlib.Path(__file__).resolve().parents[3] / "docs" / "collectives.md"


def test_collectives_doc_examples():
    res = doctest.testfile(str(DOC), module_relative=False, optionflags=doctest.ELLIPSIS)
    assert res.failed == 0 and res.attempted >= 10
