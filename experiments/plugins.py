"""Plug-ins: user congestion controls, load balancers, transports and topology generators.

Two ways in:

* a module that registers by decorator (``@register_cc("name")``,
  ``@register_lb``, ``@register_transport``, ``@register_topology``), named in a
  scenario's ``plugins = ["my_cc"]`` (or ``--plugin``); a sweep point carries that list
  and every worker imports the modules before it runs the point;
* an installed package that declares entry points in one of the groups
  ``uesim.cc``, ``uesim.lb``, ``uesim.transports``, ``uesim.topologies``
  (entry-point name = registry name, object = the class or generator function).  They
  are loaded once per process, before a scenario is checked.

Examples
--------
A package's ``pyproject.toml``::

    [project.entry-points."uesim.cc"]
    my_dctcp = "my_package.cc:MyDctcp"
"""
from __future__ import annotations

from uesim.experiments.schema import ScenarioError

GROUPS = ("uesim.cc", "uesim.lb", "uesim.transports", "uesim.topologies")
_loaded = False


def _registrar(group: str):
    from uesim.protocols import register_cc, register_lb, register_transport
    from uesim.topologies import register_topology
    return {"uesim.cc": register_cc, "uesim.lb": register_lb,
            "uesim.transports": register_transport, "uesim.topologies": register_topology}[group]


def load_entry_points(force: bool = False) -> list[str]:
    """Register every installed ``uesim.*`` entry point; return ``group:name`` of each.

    Runs once per process unless ``force``.  A broken entry point is a ScenarioError
    naming it (the run would otherwise fail later with an unknown name).

    Examples
    --------
    >>> from uesim.experiments.plugins import load_entry_points
    >>> isinstance(load_entry_points(), list)
    True
    """
    global _loaded
    if _loaded and not force:
        return []
    _loaded = True
    from importlib.metadata import entry_points
    done = []
    installed = entry_points()          # one scan of the installed distributions
    for group in GROUPS:
        for ep in installed.select(group=group):
            try:
                obj = ep.load()
                _registrar(group)(ep.name)(obj)
            except Exception as exc:     # the user's package: report, do not crash
                raise ScenarioError(f"entry point {ep.name!r} in group {group!r} ({ep.value}): "
                                    f"cannot load it: {type(exc).__name__}: {exc}") from None
            done.append(f"{group}:{ep.name}")
    return done
