"""Fresh policy objects copied from a prototype instead of constructed.

A workload DAG makes a congestion control per message, millions in a large collective.
Constructing one checks and parses its keyword parameters (about 5 us for NSCC); a
compiled class's whole state, every ``cdef`` field included, is also what its pickle
support reads and writes, so a never-used prototype can be copied field for field in a
tenth of that. Only compiled uesim classes whose state holds immutable values are
copied: a Python plug-in's ``__dict__`` or a mutable field would be shared between
copies, so those are constructed as before.

Examples
--------
>>> from uesim.protocols import Nscc
>>> fresh = copier(Nscc(mtu_bytes=4096))
>>> a, b = fresh(), fresh()
>>> a is not b, a.__reduce_ex__(2) == Nscc(mtu_bytes=4096).__reduce_ex__(2)
(True, True)
"""
from __future__ import annotations

_IMMUTABLE = (int, float, bool, str, bytes, type(None))


def _immutable(value) -> bool:
    if isinstance(value, _IMMUTABLE):
        return True
    if isinstance(value, tuple):
        return all(_immutable(v) for v in value)
    return False


def copier(proto):
    """A function returning fresh copies of ``proto`` (made by its constructor and never
    used since), or None when ``proto`` cannot be copied safely (not a compiled uesim
    class, or state that copies would share)."""
    cls = type(proto)
    if not cls.__module__.startswith("uesim.protocols") or hasattr(proto, "__dict__"):
        return None
    try:
        reduced = proto.__reduce_ex__(2)
    except (TypeError, ValueError):
        return None
    # Cython's forms: (unpickle, (cls, checksum, state)) or, for a class holding a
    # dict, (unpickle, (cls, checksum, None), state); the state may hold a dict a class
    # shares between its instances on purpose (NSCC's keyword overrides, never written
    # after __init__), everything else must be immutable
    if len(reduced) == 2 and len(reduced[1]) == 3:
        make, args = reduced
        state, later = args[2], False
    elif len(reduced) == 3 and reduced[2] is not None:
        make, args, state = reduced
        later = True
    else:
        return None
    if not (isinstance(args, tuple) and args[:1] == (cls,) and isinstance(state, tuple)):
        return None
    if not all(_immutable(v) or _shared_dict(cls, v) for v in state):
        return None
    if not later:
        return lambda: make(*args)

    def fresh():
        obj = make(*args)
        obj.__setstate__(state)
        return obj
    return fresh


def _shared_dict(cls, value) -> bool:
    """Whether ``value`` is a dict ``cls`` documents as shared and read-only."""
    return isinstance(value, dict) and getattr(cls, "SHARED_READ_ONLY_DICTS", False) \
        and all(_immutable(v) for v in value.values())
