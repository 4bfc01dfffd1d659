"""Every scenario the test suite runs is checked continuously (check mode): invariants
every 20,000 events as well as at the end (see uesim.experiments.invariants)."""
import pytest


@pytest.fixture(autouse=True)
def _invariants_in_check_mode(monkeypatch):
    monkeypatch.setenv("UESIM_CHECK_EVERY", "20000")
