"""The generated scenario reference is current; docs never point outside the repository;
the docstring examples of the sweep and store packages run."""
import doctest
import importlib
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]


def test_scenario_reference_page_is_current():
    from uesim.experiments.reference import scenario_reference
    page = (REPO / "docs" / "scenario-reference.md").read_text()
    assert page == scenario_reference(), (
        "docs/scenario-reference.md is stale: regenerate it with "
        "python -m uesim.experiments.reference docs/scenario-reference.md")


def test_reference_lists_every_schema_key():
    from uesim.experiments import scenario as s
    from uesim.experiments.reference import scenario_reference
    text = scenario_reference()
    for key in s.TOP:
        assert f"| `{key}` |" in text
    for path, fields in s._SUBTABLES.items():
        for key in fields:
            assert f"| `{path}.{key}` |" in text, f"{path}.{key}"


def test_docs_reference_nothing_outside_the_repository():
    bad = []
    for md in sorted((REPO / "docs").rglob("*.md")) + [REPO / "README.md"]:
        text = md.read_text()
        for m in re.finditer(r"(/work/|shared/DESIGN|\.\./shared|/root/|/tmp/pytest)", text):
            bad.append(f"{md.relative_to(REPO)}: {m.group(0)}")
        for m in re.finditer(r"\]\(([^)#]+)\)", text):          # Markdown links to files
            target = m.group(1)
            if "://" in target or target.startswith("mailto:"):
                continue
            resolved = (md.parent / target).resolve()
            if REPO not in resolved.parents and resolved != REPO:
                bad.append(f"{md.relative_to(REPO)}: link {target}")
    assert bad == []


@pytest.mark.parametrize("name", ["uesim.experiments.sweeps.expand", "uesim.experiments.sweeps.runner",
                                  "uesim.experiments.store.store", "uesim.experiments.plugins",
                                  "uesim.experiments.reference", "uesim.experiments.scenario"])
def test_docstring_examples(name):
    mod = importlib.import_module(name)
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


def test_reference_ignores_plugins_registered_at_run_time():
    from uesim.experiments.reference import scenario_reference
    from uesim.protocols import CC_REGISTRY, CongestionControl, register_cc
    before = scenario_reference()

    @register_cc("ref_test_cc")
    class RefTestCC(CongestionControl):
        pass
    try:
        assert scenario_reference() == before
    finally:
        CC_REGISTRY.pop("ref_test_cc")
