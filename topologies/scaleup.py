"""Scale-up domains: switched GPU-to-GPU interconnects (NVSwitch HGX, NVL72, UALink).

All edges are ``fabric="scale_up"``; every accelerator connects to every scale-up
switch of its domain; switches have role ``nvswitch``; GPUs and switches carry
``scaleup_domain``. Domains are not connected to each other: a multi-domain graph is
an ingredient for :func:`uesim.topologies.hybrid` (validate it alone with
``validate_topology(G, connected=False)``).
"""

from __future__ import annotations

import networkx as nx

from .registry import register_topology
from ._schema import (
    DEFAULT_HGX_GPU_RATE_BPS,
    DEFAULT_NVL72_GPU_RATE_BPS,
    DEFAULT_SCALEUP_DELAY_PS,
    DEFAULT_UALINK_RATE_BPS,
    SCALE_UP,
    add_gpus,
    add_link,
    add_switch,
    check_delay,
    check_int,
    check_rate,
    new_graph,
)

__all__ = ["hgx", "nvl72", "scaleup_switch_domain"]


def _switched_domains(
    G: nx.Graph, n_domains: int, per_domain: int, n_switches: int, prefix: str,
    link_rate_bps: int, delay_ps: int,
) -> nx.Graph:
    add_gpus(
        G, n_domains * per_domain,
        scaleup_domain=lambda i: i // per_domain, server=lambda i: i // per_domain,
    )
    for d in range(n_domains):
        for j in range(n_switches):
            add_switch(G, f"{prefix}{d * n_switches + j}", "nvswitch", scaleup_domain=d)
    for i in range(n_domains * per_domain):
        d = i // per_domain
        for j in range(n_switches):
            add_link(G, f"gpu{i}", f"{prefix}{d * n_switches + j}", link_rate_bps, delay_ps, SCALE_UP)
    return G


def _split_rate(gpu_rate_bps: int, n_switches: int, what: str) -> int:
    if gpu_rate_bps % n_switches:
        raise ValueError(
            f"gpu_rate_bps={gpu_rate_bps} must be divisible by {what}={n_switches} "
            f"(each GPU's rate is split evenly over its switch links, in whole bits/s)"
        )
    return gpu_rate_bps // n_switches


@register_topology("hgx")
def hgx(
    n_servers: int = 1,
    gpus_per_server: int = 8,
    n_nvswitches: int = 4,
    *,
    gpu_rate_bps: int = DEFAULT_HGX_GPU_RATE_BPS,
    delay_ps: int = DEFAULT_SCALEUP_DELAY_PS,
) -> nx.Graph:
    """HGX-style servers: every GPU connects to every NVSwitch of its server.

    Parameters
    ----------
    n_servers : int, optional
        Number of servers (scale-up domains), default 1.
    gpus_per_server : int, optional
        GPUs per server, default 8.
    n_nvswitches : int, optional
        NVSwitch chips per server, default 4 (HGX H100).
    gpu_rate_bps : int, optional
        Scale-up rate of one GPU per direction, split evenly over its
        ``n_nvswitches`` links (must be divisible). Default 3.6 Tbps = 450 GB/s
        (H100: 18 NVLink4 links x 25 GB/s per direction), i.e. 900 Gbps per
        GPU-NVSwitch edge with 4 NVSwitches.
    delay_ps : int, optional
        Propagation delay of every link, default 100 ns.

    Returns
    -------
    networkx.Graph
        GPUs ``gpu0 ..`` (``server = scaleup_domain = i // gpus_per_server``), then
        ``nvswitch{server * n_nvswitches + j}``.

    Examples
    --------
    >>> from uesim.topologies import hgx
    >>> G = hgx(2)
    >>> sorted(G["gpu9"])
    ['nvswitch4', 'nvswitch5', 'nvswitch6', 'nvswitch7']
    >>> G.edges["gpu0", "nvswitch0"]["rate_bps"], G.edges["gpu0", "nvswitch0"]["fabric"]
    (900000000000, 'scale_up')
    """
    n_servers = check_int("n_servers", n_servers, 1)
    gpus_per_server = check_int("gpus_per_server", gpus_per_server, 1)
    n_nvswitches = check_int("n_nvswitches", n_nvswitches, 1)
    gpu_rate_bps = check_rate("gpu_rate_bps", gpu_rate_bps)
    delay_ps = check_delay("delay_ps", delay_ps)
    link_rate = _split_rate(gpu_rate_bps, n_nvswitches, "n_nvswitches")
    G = new_graph(
        "hgx", n_servers=n_servers, gpus_per_server=gpus_per_server,
        n_nvswitches=n_nvswitches, gpu_rate_bps=gpu_rate_bps, delay_ps=delay_ps,
    )
    return _switched_domains(
        G, n_servers, gpus_per_server, n_nvswitches, "nvswitch", link_rate, delay_ps
    )


@register_topology('nvl72')
def nvl72(
    n_racks: int = 1,
    *,
    gpus_per_rack: int = 72,
    n_switches: int = 18,
    gpu_rate_bps: int = DEFAULT_NVL72_GPU_RATE_BPS,
    delay_ps: int = DEFAULT_SCALEUP_DELAY_PS,
) -> nx.Graph:
    """GB200 NVL72-style racks: 72 GPUs on 18 NVLink switch chips, each GPU to every chip.

    Parameters
    ----------
    n_racks : int, optional
        Number of racks (scale-up domains), default 1.
    gpus_per_rack : int, optional
        GPUs per rack, default 72.
    n_switches : int, optional
        NVLink switch chips per rack, default 18 (9 switch trays x 2 chips).
    gpu_rate_bps : int, optional
        Scale-up rate of one GPU per direction, split evenly over its links. Default
        7.2 Tbps = 900 GB/s (18 NVLink5 links x 50 GB/s per direction), i.e. 400 Gbps
        per GPU-switch edge.
    delay_ps : int, optional
        Propagation delay of every link, default 100 ns.

    Returns
    -------
    networkx.Graph
        GPUs (``scaleup_domain`` = rack), then ``nvswitch{rack * n_switches + j}``.

    Examples
    --------
    >>> from uesim.topologies import nvl72
    >>> G = nvl72()
    >>> G.number_of_nodes(), G.number_of_edges()
    (90, 1296)
    >>> G.edges["gpu71", "nvswitch17"]["rate_bps"]
    400000000000
    """
    n_racks = check_int("n_racks", n_racks, 1)
    gpus_per_rack = check_int("gpus_per_rack", gpus_per_rack, 1)
    n_switches = check_int("n_switches", n_switches, 1)
    gpu_rate_bps = check_rate("gpu_rate_bps", gpu_rate_bps)
    delay_ps = check_delay("delay_ps", delay_ps)
    link_rate = _split_rate(gpu_rate_bps, n_switches, "n_switches")
    G = new_graph(
        "nvl72", n_racks=n_racks, gpus_per_rack=gpus_per_rack, n_switches=n_switches,
        gpu_rate_bps=gpu_rate_bps, delay_ps=delay_ps,
    )
    return _switched_domains(G, n_racks, gpus_per_rack, n_switches, "nvswitch", link_rate, delay_ps)


@register_topology("scaleup_switch_domain")
def scaleup_switch_domain(
    n_accelerators: int,
    n_switches: int,
    *,
    n_domains: int = 1,
    link_rate_bps: int = DEFAULT_UALINK_RATE_BPS,
    delay_ps: int = DEFAULT_SCALEUP_DELAY_PS,
) -> nx.Graph:
    """Generic UALink-style switched scale-up domain(s).

    Each accelerator has one port (edge) to every one of the ``n_switches`` switches of
    its domain. Switches are named ``uaswitch{domain * n_switches + j}`` with role
    ``nvswitch`` (the schema's role for any scale-up switch).

    Parameters
    ----------
    n_accelerators : int
        Accelerators per domain, >= 1.
    n_switches : int
        Scale-up switches per domain, >= 1.
    n_domains : int, optional
        Number of independent domains, default 1.
    link_rate_bps : int, optional
        Rate of each accelerator-switch edge, default 800 Gbps (one x4 UALink 200G
        port).
    delay_ps : int, optional
        Propagation delay of every link, default 100 ns.

    Returns
    -------
    networkx.Graph

    Examples
    --------
    >>> from uesim.topologies import scaleup_switch_domain
    >>> G = scaleup_switch_domain(8, 4)
    >>> sorted(G["gpu3"])
    ['uaswitch0', 'uaswitch1', 'uaswitch2', 'uaswitch3']
    >>> G.nodes["uaswitch0"]["role"]
    'nvswitch'
    """
    n_accelerators = check_int("n_accelerators", n_accelerators, 1)
    n_switches = check_int("n_switches", n_switches, 1)
    n_domains = check_int("n_domains", n_domains, 1)
    link_rate_bps = check_rate("link_rate_bps", link_rate_bps)
    delay_ps = check_delay("delay_ps", delay_ps)
    G = new_graph(
        "scaleup_switch_domain", n_accelerators=n_accelerators, n_switches=n_switches,
        n_domains=n_domains, link_rate_bps=link_rate_bps, delay_ps=delay_ps,
    )
    return _switched_domains(
        G, n_domains, n_accelerators, n_switches, "uaswitch", link_rate_bps, delay_ps
    )
