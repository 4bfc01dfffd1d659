"""Package namespaces whose names are imported on first use (start-up stays short)."""
from __future__ import annotations

from importlib import import_module


def lazy_namespace(package: str, names: dict[str, str], namespace: dict):
    """``(__getattr__, __dir__)`` for ``package``: ``names`` maps each exported name to the
    module that defines it; a name is imported when first read and then kept in
    ``namespace`` (the package's globals)."""
    def __getattr__(name):
        if name in names:
            value = getattr(import_module(names[name]), name)
            namespace[name] = value
            return value
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(namespace) | set(names))

    return __getattr__, __dir__
