"""``results.percentile`` is numpy's default percentile, to the bit."""
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from uesim.experiments.results import percentile

finite = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)


@settings(max_examples=300, deadline=None)
@given(st.lists(finite, min_size=1, max_size=80), st.floats(min_value=0, max_value=100))
def test_percentile_equals_numpys_linear_method(values, q):
    assert percentile(values, q) == float(np.percentile(np.array(values), q))


def test_percentile_of_the_usual_points():
    v = np.random.default_rng(7).random(1024) * 200
    for q in (0, 1, 50, 99, 99.9, 100):
        assert percentile(v, q) == float(np.percentile(v, q))


def test_percentile_of_nothing_is_an_error():
    import pytest
    with pytest.raises(ValueError):
        percentile([], 50)


def test_building_a_network_and_summarising_a_run_do_not_import_numpy_ma():
    """The reason the function exists: np.percentile and np.unique import numpy.ma (30 ms
    of start-up); the forwarding tables use their own sorted unique for the same reason."""
    import subprocess
    import sys
    code = ("import sys; from uesim.experiments.results import percentile; "
            "percentile([1.0, 2.0, 3.0], 99); from uesim.topologies import fat_tree; "
            "from uesim.fabric import build_network; build_network(fat_tree(4)); "
            "print('numpy.ma' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_docstring_examples_of_the_results_module():
    import doctest

    import uesim.experiments.results as results
    assert doctest.testmod(results, optionflags=doctest.ELLIPSIS).failed == 0
