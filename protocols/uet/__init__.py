"""The Ultra Ethernet transport: packet delivery (PDS: RUD, ROD, UUD) and the RCCC pull pacer."""
from uesim.protocols.uet.pds import (MODES, PullPacer, UetFlow, rccc_credit_request, sack_bitmap,
                                     sacked_psns)

__all__ = ["MODES", "PullPacer", "UetFlow", "rccc_credit_request", "sack_bitmap", "sacked_psns"]
