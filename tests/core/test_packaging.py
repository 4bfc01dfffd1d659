"""Every Python package folder is listed in pyproject's explicit ``packages``: a folder left
out works in the editable install and is missing from a wheel."""
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOP = {"fabric": "uesim.fabric", "protocols": "uesim.protocols", "topologies": "uesim.topologies",
       "experiments": "uesim.experiments"}


def test_every_package_folder_is_listed():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = set()
    for folder, name in TOP.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([name, *rel.parts]))
    assert found - listed == set()
