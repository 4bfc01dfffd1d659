"""Traffic patterns as flow lists: permutation, incast, explicit lists and htsim ``.cm`` files.

A flow is a dict ``{"id", "src", "dst", "size_bytes", "start_ps"}`` with host indices.
"""
from __future__ import annotations

import random
from pathlib import Path

from uesim.experiments.schema import ScenarioError


def permutation(n_hosts: int, size_bytes: int, *, seed: int, start_ps: int = 0) -> list[dict]:
    """Every host sends to a distinct other host (a seeded random derangement).

    Examples
    --------
    >>> flows = permutation(4, 1000, seed=1)
    >>> sorted(f["dst"] for f in flows), all(f["src"] != f["dst"] for f in flows)
    ([0, 1, 2, 3], True)
    """
    if n_hosts < 2:
        raise ScenarioError(f"traffic.pattern = 'permutation' needs at least 2 hosts, got {n_hosts}")
    rng = random.Random(seed)
    dst = list(range(n_hosts))
    while True:          # rejection sampling keeps every derangement equally likely
        rng.shuffle(dst)
        if all(i != d for i, d in enumerate(dst)):
            break
    return [{"id": i, "src": i, "dst": d, "size_bytes": size_bytes, "start_ps": start_ps}
            for i, d in enumerate(dst)]


def incast(n_hosts: int, size_bytes: int, *, receiver: int, senders: list[int] | None = None,
           n_senders: int | None = None, start_ps: int = 0) -> list[dict]:
    """``n_senders`` hosts (or the listed ``senders``) all send to ``receiver``."""
    if not 0 <= receiver < n_hosts:
        raise ScenarioError(f"traffic.receiver = {receiver}: must be a host index 0..{n_hosts - 1}")
    if senders is None:
        others = [h for h in range(n_hosts) if h != receiver]
        n = len(others) if n_senders is None else n_senders
        if not 1 <= n <= len(others):
            raise ScenarioError(f"traffic.n_senders = {n}: must be 1..{len(others)}")
        senders = others[:n]
    for s in senders:
        if not 0 <= s < n_hosts or s == receiver:
            raise ScenarioError(f"traffic.senders contains {s}: must be host indices 0..{n_hosts - 1} "
                                f"other than the receiver")
    return [{"id": i, "src": s, "dst": receiver, "size_bytes": size_bytes, "start_ps": start_ps}
            for i, s in enumerate(senders)]


def explicit(n_hosts: int, flows: list) -> list[dict]:
    """A list of ``{src, dst, size_bytes, start_ps?}`` tables from the scenario file."""
    out = []
    for i, f in enumerate(flows):
        path = f"traffic.flows[{i}]"
        if not isinstance(f, dict):
            raise ScenarioError(f"{path} = {f!r}: must be a table {{src, dst, size_bytes, start_ps}}")
        unknown = set(f) - {"src", "dst", "size_bytes", "start_ps"}
        if unknown:
            raise ScenarioError(f"unknown key {path}.{sorted(unknown)[0]!r}; allowed: dst, size_bytes, src, start_ps")
        for key in ("src", "dst", "size_bytes"):
            if key not in f:
                raise ScenarioError(f"missing key {path}.{key!r}")
        for key, lo in (("src", 0), ("dst", 0), ("size_bytes", 1), ("start_ps", 0)):
            v = f.get(key, 0)
            if isinstance(v, bool) or not isinstance(v, int) or v < lo:
                raise ScenarioError(f"{path}.{key} = {v!r}: must be an integer >= {lo}")
        for key in ("src", "dst"):
            if f[key] >= n_hosts:
                raise ScenarioError(f"{path}.{key} = {f[key]}: must be a host index 0..{n_hosts - 1}")
        if f["src"] == f["dst"]:
            raise ScenarioError(f"{path}: src and dst are both {f['src']}")
        out.append({"id": i, "src": f["src"], "dst": f["dst"], "size_bytes": f["size_bytes"],
                    "start_ps": f.get("start_ps", 0)})
    if not out:
        raise ScenarioError("traffic.flows is empty")
    return out


def read_cm(path: str | Path, n_hosts: int | None = None) -> list[dict]:
    """The flows of an htsim connection matrix (see :mod:`uesim.experiments.workloads.cm`).

    htsim truncates start times to whole microseconds; so does this reader. Flows started
    by a trigger have ``start_ps = None`` and a ``start_trigger``; the triggers themselves
    come from :func:`uesim.experiments.workloads.cm.read_cm`.
    """
    from uesim.experiments.workloads.cm import read_cm as _read
    return _read(path, n_hosts).flows
