"""Every scenario the test suite runs is checked continuously (check mode): invariants
every 20,000 events as well as at the end (see uesim.experiments.invariants)."""
import importlib.util
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(autouse=True)
def _invariants_in_check_mode(monkeypatch):
    monkeypatch.setenv("UESIM_CHECK_EVERY", "20000")


def _load_benchmark(name: str):
    """Import ``benchmarks/<name>.py`` (a script folder, not a package) as module ``name``."""
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="session")
def load_benchmark():
    """A function that imports a script of ``benchmarks/`` by name."""
    return _load_benchmark
