"""RoCEv2: the RC transport (go-back-N, cumulative ACKs, CNPs) for DCQCN."""
from uesim.protocols.roce.rc import NoCongestionControl, RoceFlow

__all__ = ["NoCongestionControl", "RoceFlow"]
