"""Loud failures for plug-in congestion controls written in Python.

A user CC sets ``cwnd_bytes`` and ``rate_bps`` from its hooks. A window of 0 or less
would leave its flows waiting forever, a NaN or an infinity cannot become a window at
all, and a hook that raises would surface as a traceback from deep in the engine. The
pipeline therefore runs every Python subclass of
:class:`~uesim.protocols.CongestionControl` through :func:`guarded`, a subclass that

* checks each value assigned to ``cwnd_bytes`` or ``rate_bps``: a window must be > 0
  (or 0 under RoCE, where 0 means no window), a rate >= 0 (0 = line rate), both finite
  numbers; a finite float is rounded down to whole bytes or bit/s;
* turns any exception raised by a hook into one :class:`PluginError` naming the CC, the
  hook and what went wrong.

Compiled CCs (NSCC, DCQCN, DCTCP, the constant window) are never wrapped, and a plug-in
pays only for the hooks it defines in Python (a Python subclass of a compiled CC keeps the
compiled hooks it does not override at C speed). Any class defined in Python is guarded,
``__slots__`` or not; a window may be any real number (``int``, ``float``, numpy scalars).

Examples
--------
>>> from uesim.protocols import CongestionControl
>>> class Halve(CongestionControl):
...     def on_ack(self, ctx):
...         self.cwnd_bytes = self.cwnd_bytes / 2 if ctx.ecn else self.cwnd_bytes
>>> cc = guarded(Halve, "halve")(cwnd_bytes=8192)
>>> from uesim.protocols.hooks import CCContext
>>> ctx = CCContext.for_test().set_event(ecn=True)
>>> cc.on_ack(ctx); cc.cwnd_bytes
4096
>>> cc.cwnd_bytes = 0
Traceback (most recent call last):
...
uesim.experiments.plugin_guard.PluginError: congestion control 'halve' set cwnd_bytes = 0 in __init__ or outside a hook (a window must be > 0)
"""
from __future__ import annotations

import math
import numbers

from uesim.experiments.schema import ScenarioError

#: the hooks a CC may override, as the transports call them
HOOKS = ("on_start", "on_ack", "on_nack", "on_timeout", "on_cnp", "on_timer")

#: the largest value the transports' int64 fields hold
INT64_MAX = (1 << 63) - 1

#: ``Py_TPFLAGS_HEAPTYPE``: set on every class a ``class`` statement (or ``type()``) makes,
#: clear on the static types of compiled Cython ``cdef`` classes
_HEAPTYPE = 1 << 9


class PluginError(ScenarioError):
    """A plug-in set an impossible value or raised: the message names the plug-in, the
    hook and the value (``uesim`` prints it as one line and exits with status 2)."""


def _in_python(cls) -> bool:
    """True for a class made by a ``class`` statement, False for a compiled ``cdef`` class."""
    return bool(cls.__flags__ & _HEAPTYPE)


def needs_guard(cls) -> bool:
    """True for a CC class defined in Python outside uesim's compiled core.

    Examples
    --------
    >>> from uesim.protocols import CongestionControl
    >>> from uesim.protocols.cc import Nscc
    >>> class Slotted(CongestionControl):
    ...     __slots__ = ()
    >>> needs_guard(Nscc), needs_guard(CongestionControl), needs_guard(Slotted)
    (False, False, True)
    """
    from uesim.protocols import CongestionControl
    if not (isinstance(cls, type) and issubclass(cls, CongestionControl)):
        return False
    if getattr(cls, "_uesim_guarded", False):
        return False
    # not "has a __dict__": a Python class with __slots__ = () has none either
    return _in_python(cls)


def _python_hooks(cls) -> list[str]:
    """The hooks whose nearest definition in ``cls``'s MRO is a Python class."""
    found = []
    for hook in HOOKS:
        owner = next(k for k in cls.__mro__ if hook in vars(k))
        if _in_python(owner):
            found.append(hook)
    return found


def _check(name: str, hook: str, attr: str, value, zero_window_ok: bool):
    """``value`` as the int the transport reads, or a :class:`PluginError`."""
    where = f"in {hook}" if hook else "in __init__ or outside a hook"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise PluginError(f"congestion control {name!r} set {attr} = {value!r} {where} (must be a number)")
    if not math.isfinite(value):
        raise PluginError(f"congestion control {name!r} set {attr} = {value!r} {where} (must be finite)")
    v = math.floor(value)
    if v > INT64_MAX:
        raise PluginError(f"congestion control {name!r} set {attr} = {value!r} {where} "
                          f"(must be < 2**63)")
    if attr == "cwnd_bytes" and (v < 0 or (v == 0 and not zero_window_ok)):
        rule = "a window must be >= 0 (0: no window)" if zero_window_ok else "a window must be > 0"
        raise PluginError(f"congestion control {name!r} set {attr} = {value!r} {where} ({rule})")
    if attr == "rate_bps" and v < 0:
        raise PluginError(f"congestion control {name!r} set {attr} = {value!r} {where} "
                          "(a rate must be >= 0, 0: line rate)")
    return v


def _hook(hook: str, base_method):
    def call(self, *args):
        outer = self._uesim_hook        # a hook may call another: name the innermost
        self._uesim_hook = hook
        try:
            base_method(self, *args)
        except PluginError:
            raise
        except Exception as exc:        # noqa: BLE001 - any failure of user code, named
            raise PluginError(f"congestion control {self._uesim_name!r} raised in {hook}: "
                              f"{type(exc).__name__}: {exc}") from exc
        finally:
            self._uesim_hook = outer
    call.__name__ = hook
    return call


_cache: dict = {}


def guarded(cls, name: str | None = None, *, zero_window_ok: bool = False):
    """The checked subclass of CC class ``cls`` (``cls`` itself when it is compiled).

    Parameters
    ----------
    cls : type
        A :class:`~uesim.protocols.CongestionControl` subclass.
    name : str, optional
        Its registered name, for messages (default: the class name).
    zero_window_ok : bool
        Allow ``cwnd_bytes = 0`` (RoCE reads it as no window).
    """
    if not needs_guard(cls):
        return cls
    key = (cls, name, zero_window_ok)
    if key in _cache:
        return _cache[key]
    label = name or cls.__name__

    def __setattr__(self, attr, value):
        if attr in ("cwnd_bytes", "rate_bps"):
            value = _check(label, self.__dict__.get("_uesim_hook", ""), attr, value, zero_window_ok)
        object.__setattr__(self, attr, value)

    def __init__(self, *args, **kwargs):
        object.__setattr__(self, "_uesim_hook", "")
        object.__setattr__(self, "_uesim_name", label)
        try:
            cls.__init__(self, *args, **kwargs)
        except PluginError:
            raise
        except (TypeError, ValueError) as exc:       # a bad parameter
            raise PluginError(f"congestion control {label!r}: {exc}") from exc
        except Exception as exc:                      # noqa: BLE001 - user code, named
            raise PluginError(f"congestion control {label!r} raised in __init__: "
                              f"{type(exc).__name__}: {exc}") from exc

    body = {"__init__": __init__, "__setattr__": __setattr__, "_uesim_guarded": True,
            "__module__": cls.__module__, "__qualname__": cls.__qualname__, "__doc__": cls.__doc__}
    for hook in _python_hooks(cls):         # compiled hooks stay C calls
        body[hook] = _hook(hook, getattr(cls, hook))
    sub = type(cls.__name__, (cls,), body)
    _cache[key] = sub
    return sub
