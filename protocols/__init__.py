"""uesim.protocols: transports, congestion control and load balancing."""
from uesim.protocols.hooks import (CCContext, CongestionControl, FixedEntropy, LoadBalancer,
                                   ObliviousSpray, RandomSpray)
from uesim.protocols.balancers import Bitmap, HtsimOblivious, Mixed, Reps
from uesim.protocols.cc import Dctcp, Nscc
from uesim.protocols.paced import PacedFlow
from uesim.protocols.flow import Flow
from uesim.protocols.window import WindowFlow
from uesim.protocols.registry import (CC_REGISTRY, LB_REGISTRY, TRANSPORT_REGISTRY, lookup, policy_params,
                                      register_cc, register_lb, register_transport)

__all__ = [
    "CCContext", "CongestionControl", "Nscc", "Dctcp", "LoadBalancer", "FixedEntropy", "ObliviousSpray", "RandomSpray",
    "HtsimOblivious", "Bitmap", "Reps", "Mixed",
    "Flow", "WindowFlow", "PacedFlow", "CC_REGISTRY", "LB_REGISTRY", "TRANSPORT_REGISTRY", "lookup",
    "policy_params", "register_cc", "register_lb", "register_transport",
]
