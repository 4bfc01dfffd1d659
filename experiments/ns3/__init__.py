"""ns-3 cross-check backend: run a uesim topology and fixed-rate UDP flows in ns-3.

Needs the optional extra ``pip install 'uesim[ns3]'`` (the ``ns3`` wheel, cppyy
bindings, g++ at run time).  ns-3 runs in a subprocess (``worker.py``); this
package itself imports neither ns-3 nor pandas until :func:`run_ns3` is called.
"""

from .runner import HEADER_BYTES, Ns3Result, ns3_available, run_ns3

__all__ = ["HEADER_BYTES", "Ns3Result", "ns3_available", "run_ns3"]
