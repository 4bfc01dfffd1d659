"""Congestion-control algorithms (window and rate math behind the CongestionControl hooks)."""
from uesim.protocols.cc.dcqcn import Dcqcn
from uesim.protocols.cc.dctcp import Dctcp
from uesim.protocols.cc.nscc import Nscc

__all__ = ["Nscc", "Dctcp", "Dcqcn"]
