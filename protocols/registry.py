"""Name -> implementation registries for transports, congestion control and load balancing.

Scenario files choose implementations by these names.  Register your own with the
decorators, from any module imported before the scenario runs.

Examples
--------
>>> from uesim.protocols import CongestionControl, register_cc, CC_REGISTRY
>>> @register_cc("halve_on_ecn")
... class HalveOnEcn(CongestionControl):
...     def on_ack(self, ctx):
...         if ctx.ecn:
...             self.cwnd_bytes = max(self.mtu_bytes, self.cwnd_bytes // 2)
>>> "halve_on_ecn" in CC_REGISTRY
True
"""
from __future__ import annotations

from uesim.protocols.balancers import Bitmap, HtsimOblivious, Mixed, Reps
from uesim.protocols.cc.dcqcn import PARAMS as _DCQCN_PARAMS, Dcqcn
from uesim.protocols.cc.dctcp import PARAMS as _DCTCP_PARAMS, Dctcp
from uesim.protocols.cc.nscc import PARAMS as _NSCC_PARAMS, Nscc
from uesim.protocols.hooks import (CongestionControl, FixedEntropy, LoadBalancer,
                                   ObliviousSpray, RandomSpray)
from uesim.protocols.paced import PacedFlow
from uesim.protocols.roce.rc import NoCongestionControl, RoceFlow
from uesim.protocols.window import WindowFlow
from uesim.protocols.uet.pds import UetFlow

CC_REGISTRY: dict[str, type] = {
    "fixed": CongestionControl,
    "constant": CongestionControl,   # alias of "fixed": a constant window
    "nscc": Nscc,
    "dctcp": Dctcp,
    "dcqcn": Dcqcn,
    "none": NoCongestionControl,     # no window, no pacing (RoCE without DCQCN)
}
LB_REGISTRY: dict[str, type] = {
    "ecmp": FixedEntropy,
    "oblivious": HtsimOblivious,         # htsim's: a new random order every n_paths packets
    "oblivious_fixed": ObliviousSpray,   # one fixed permutation, cycled (uesim's original)
    "random": RandomSpray,
    "bitmap": Bitmap,
    "reps": Reps,
    "mixed": Mixed,                      # htsim's default
}
TRANSPORT_REGISTRY: dict[str, type] = {"window": WindowFlow, "paced": PacedFlow, "uet": UetFlow,
                                       "roce": RoceFlow}

# Scenario-settable parameters of the compiled classes (Cython hides their signatures;
# for Python subclasses they are read from ``__init__``).  ``mtu_bytes`` and ``seed``
# are supplied by the transport and the scenario seed.
COMPILED_PARAMS: dict[type, tuple[str, ...]] = {
    CongestionControl: ("cwnd_bytes", "mtu_bytes", "rate_bps"),
    Nscc: _NSCC_PARAMS,
    Dctcp: _DCTCP_PARAMS,
    Dcqcn: _DCQCN_PARAMS,
    NoCongestionControl: ("mtu_bytes",),
    FixedEntropy: ("seed",),
    ObliviousSpray: ("seed", "n_paths"),
    RandomSpray: ("seed",),
    HtsimOblivious: ("seed", "n_paths"),
    Bitmap: ("seed", "n_paths"),
    Reps: ("seed", "n_paths", "freeze_ps"),
    Mixed: ("seed", "n_paths"),
}


def policy_params(cls) -> tuple[str, ...] | None:
    """Keyword parameters of a CC or LB class, or None if they cannot be known."""
    if cls in COMPILED_PARAMS:
        return COMPILED_PARAMS[cls]
    import inspect
    try:
        sig = inspect.signature(cls.__init__)
    except (TypeError, ValueError):
        return None
    if any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values()):
        return None
    return tuple(n for n, p in sig.parameters.items()
                 if n != "self" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY))


def _register(registry: dict, kind: str, name: str):
    def decorate(cls):
        if name in registry and registry[name] is not cls:
            raise ValueError(f"{kind} {name!r} is already registered ({registry[name].__name__})")
        registry[name] = cls
        return cls
    return decorate


def register_cc(name: str):
    """Class decorator: make a :class:`CongestionControl` available by ``name``."""
    return _register(CC_REGISTRY, "congestion control", name)


def register_lb(name: str):
    """Class decorator: make a :class:`LoadBalancer` available by ``name``."""
    return _register(LB_REGISTRY, "load balancer", name)


def register_transport(name: str):
    """Class decorator: make a transport flow class available by ``name``."""
    return _register(TRANSPORT_REGISTRY, "transport", name)


def lookup(registry: dict, kind: str, name: str):
    """The class registered as ``name``, or a ValueError listing the allowed names."""
    try:
        return registry[name]
    except KeyError:
        allowed = ", ".join(sorted(registry))
        raise ValueError(f"unknown {kind} {name!r}; allowed: {allowed}") from None
