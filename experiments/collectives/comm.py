"""Communicators: groups of ranks placed on the GPUs (hosts) of a topology."""
from __future__ import annotations

import numpy as np

PLACEMENTS = ("sequential", "rail", "random")


def _host_nodes(G) -> list:
    return [n for n, k in G.nodes(data="kind") if k == "gpu"]


def place_ranks(G, n_ranks: int, placement: str = "sequential", seed: int = 0,
                hosts=None) -> list[int]:
    """Host indices (GPUs in graph node order) for ranks ``0 .. n_ranks-1``.

    Parameters
    ----------
    G : networkx.Graph
        The topology (its ``kind == "gpu"`` nodes, in order, are host indices).
    n_ranks : int
        Ranks in the communicator (at most the number of GPUs).
    placement : {"sequential", "rail", "random"}
        ``sequential``: rank i on host i (neighbouring ranks share a server).
        ``rail``: rank order by (``rail`` or local GPU index, then ``server``/``scaleup_domain``),
        so neighbouring ranks sit on the same rail of different servers (a flat ring then
        stays rail-local on rail-optimised fabrics); graphs without these attributes fall
        back to sequential. ``random``: a permutation drawn from ``seed``.
    seed : int
        Seed of the random placement.
    hosts : list of int, optional
        Place on these host indices only (in this order for ``sequential``).

    Examples
    --------
    >>> from uesim.topologies import hgx
    >>> place_ranks(hgx(2, gpus_per_server=4, n_nvswitches=2), 8, "rail")
    [0, 4, 1, 5, 2, 6, 3, 7]
    >>> place_ranks(hgx(1), 4, "bogus")
    Traceback (most recent call last):
    ...
    ValueError: placement = 'bogus': allowed: sequential, rail, random
    """
    if placement not in PLACEMENTS:
        raise ValueError(f"placement = {placement!r}: allowed: {', '.join(PLACEMENTS)}")
    names = _host_nodes(G)
    pool = list(range(len(names))) if hosts is None else [int(h) for h in hosts]
    if not 1 <= n_ranks <= len(pool):
        raise ValueError(f"n_ranks = {n_ranks}: must be between 1 and the {len(pool)} GPUs available")
    if placement == "random":
        rng = np.random.default_rng(seed)
        return [pool[i] for i in rng.permutation(len(pool))[:n_ranks]]
    if placement == "rail":
        def key(h):
            d = G.nodes[names[h]]
            server = d.get("server", d.get("scaleup_domain"))
            rail = d.get("rail")
            if server is None:
                return (0, h)
            if rail is None:   # local index inside the server = position among its GPUs
                rail = sum(1 for g in pool if G.nodes[names[g]].get(
                    "server", G.nodes[names[g]].get("scaleup_domain")) == server and g < h)
            return (rail, server, h)
        pool = sorted(pool, key=key)
    return pool[:n_ranks]


def scaleup_domains(G, hosts: list[int]) -> list:
    """The scale-up domain (``scaleup_domain``, else ``server``, else None) of each host."""
    names = _host_nodes(G)
    out = []
    for h in hosts:
        d = G.nodes[names[h]]
        out.append(d.get("scaleup_domain", d.get("server")))
    return out


class Communicator:
    """Ranks ``0 .. n-1`` mapped to host indices.

    Parameters
    ----------
    hosts : list of int
        ``hosts[r]`` is the host index (GPU) of rank ``r``; no host twice.

    Examples
    --------
    >>> c = Communicator([3, 1, 2])
    >>> c.size, c.host(0)
    (3, 3)
    """

    def __init__(self, hosts):
        self.hosts = [int(h) for h in hosts]
        if len(set(self.hosts)) != len(self.hosts):
            raise ValueError("a communicator places one rank per GPU; a host appears twice")
        if not self.hosts:
            raise ValueError("a communicator needs at least one rank")

    @classmethod
    def place(cls, G, n_ranks: int, placement: str = "sequential", seed: int = 0, hosts=None):
        """A communicator of ``n_ranks`` placed by :func:`place_ranks`."""
        return cls(place_ranks(G, n_ranks, placement, seed, hosts))

    @property
    def size(self) -> int:
        return len(self.hosts)

    def host(self, rank: int) -> int:
        return self.hosts[rank]
