"""The topology generator registry: name -> generator function.

Scenario files and spec strings (``"fat_tree:k=8"``) name generators by these names.
uesim's own generators register themselves with :func:`register_topology` where they are
defined; other packages add theirs with the decorator (from a module named in a
scenario's ``plugins``) or through the ``uesim.topologies`` entry-point group (loaded by
``uesim.experiments.plugins.load_entry_points``).  This module imports nothing from the
package, so every generator module can import it without a cycle.

Examples
--------
>>> import networkx as nx
>>> from uesim.topologies import GENERATORS, register_topology, unregister_topology
>>> @register_topology("my_ring")
... def my_ring(n: int = 4) -> nx.Graph:
...     return nx.cycle_graph(n)
>>> "my_ring" in GENERATORS
True
>>> unregister_topology("my_ring")
>>> "my_ring" in GENERATORS
False
"""
from __future__ import annotations

from typing import Callable

__all__ = ["GENERATORS", "register_topology", "unregister_topology"]

#: Generators reachable by name from spec strings and scenario files (registration order).
GENERATORS: dict[str, Callable] = {}


def register_topology(name: str):
    """Decorator: make a generator function available by ``name``.

    Registering another function under a taken name raises ValueError; registering the
    same function again (a module imported twice) is allowed.

    Examples
    --------
    >>> import networkx as nx
    >>> from uesim.topologies import parse_topology_spec, register_topology, unregister_topology
    >>> @register_topology("path_of")
    ... def path_of(n: int = 2):
    ...     return nx.path_graph(n)
    >>> parse_topology_spec("path_of:n=3").number_of_edges()
    2
    >>> unregister_topology("path_of")
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"topology generator name must be a non-empty string, got {name!r}")

    def decorate(fn):
        old = GENERATORS.get(name)
        if old is not None and old is not fn and _qualname(old) != _qualname(fn):
            raise ValueError(f"topology generator {name!r} is already registered ({_qualname(old)})")
        GENERATORS[name] = fn
        return fn
    return decorate


def unregister_topology(name: str) -> None:
    """Remove ``name`` from the registry (tests, interactive sessions).

    Examples
    --------
    >>> from uesim.topologies import GENERATORS, register_topology, unregister_topology
    >>> _ = register_topology("nothing")(lambda: None)
    >>> unregister_topology("nothing"); "nothing" in GENERATORS
    False
    """
    GENERATORS.pop(name, None)


def _qualname(fn) -> str:
    return f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', repr(fn))}"
