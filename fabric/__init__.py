"""uesim.fabric: the discrete-event engine and the packet-level data plane."""
from uesim.fabric.engine import EventHandler, Simulator, Timer
from uesim.fabric.network import Endpoint, Network, RecordingSink
from uesim.fabric.units import gbps, mbps, ms, ns, ps_to_us, tx_time_ps, us
from uesim.fabric.build import FabricConfig, build_network, BuiltNetwork
from uesim.fabric.pfc import CbfcConfig, LlrConfig, PfcConfig

__all__ = [
    "EventHandler", "Simulator", "Timer", "Endpoint", "Network", "RecordingSink",
    "gbps", "mbps", "ms", "ns", "ps_to_us", "tx_time_ps", "us",
    "FabricConfig", "build_network", "BuiltNetwork", "PfcConfig", "CbfcConfig", "LlrConfig",
]
