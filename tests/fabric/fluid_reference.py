"""A plain numpy fluid schedule (every change re-solves every message in flight): the
reference that the compiled, component-wise :mod:`uesim.fabric.fluid` must match."""
from __future__ import annotations

import heapq

import numpy as np


def max_min(res, weight, cap, flow_cap):
    n = len(res)
    rate = np.zeros(n)
    live = np.ones(n, dtype=bool)
    remcap = cap.astype(np.float64).copy()
    full = np.zeros(len(cap), dtype=bool)
    while live.any():
        idx = np.flatnonzero(live)
        r, wt = res[idx], weight[idx]
        wsum = np.bincount(r.ravel(), weights=wt.ravel(), minlength=len(cap))
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.where(wsum > 0, remcap / wsum, np.inf)
        level = min(share.min(), (flow_cap[idx] - rate[idx]).min())
        rate[idx] += level
        remcap -= level * wsum
        full |= (wsum > 0) & (remcap <= 1e-9 * cap)
        stop = full[r].any(axis=1) & (wt > 0).any(axis=1) | (rate[idx] >= flow_cap[idx] * (1 - 1e-12))
        stop |= ~np.isfinite(level)
        live[idx[stop]] = False
    return rate


def reference_finish(kind, size, wire, res, weight, cap, flow_cap, alpha, delay, succ_ptr, succ, n_pred):
    n = len(kind)
    waiting = list(n_pred)
    finish = np.zeros(n)
    ready = np.zeros(n)
    heap = [(float(delay[v]), 0, v) for v in range(n) if waiting[v] == 0]
    heapq.heapify(heap)
    active, remaining = [], {}
    t, rates, rem = 0.0, np.zeros(0), np.zeros(0)
    while heap or active:
        if active:
            idx = np.asarray(active)
            rates = max_min(res[idx], weight[idx], cap, flow_cap[idx])
            rem = np.asarray([remaining[v] for v in active])
        t_fin = t + float((rem / rates).min()) if active else np.inf
        t_evt = heap[0][0] if heap else np.inf
        if t_fin <= t_evt:
            rem = rem - rates * (t_fin - t)
            t = t_fin
            keep = []
            for v, left, r in zip(active, rem.tolist(), rates.tolist()):
                if left <= r * 0.5 + 1e-9 * wire[v]:
                    heapq.heappush(heap, (t + alpha[v], 1, v))
                else:
                    keep.append(v)
                    remaining[v] = left
            active = keep
            continue
        for v, left in zip(active, (rem - rates * (t_evt - t)).tolist()):
            remaining[v] = left
        t = t_evt
        while heap and heap[0][0] <= t:
            at, what, v = heapq.heappop(heap)
            if what == 1:
                finish[v] = at
                for k in range(succ_ptr[v], succ_ptr[v + 1]):
                    s2 = succ[k]
                    ready[s2] = max(ready[s2], at)
                    waiting[s2] -= 1
                    if waiting[s2] == 0:
                        heapq.heappush(heap, (ready[s2] + delay[s2], 0, s2))
            elif kind[v] == 1 or size[v] == 0:
                heapq.heappush(heap, (at + (size[v] if kind[v] == 1 else 0), 1, v))
            else:
                active.append(v)
                remaining[v] = wire[v]
    return finish
