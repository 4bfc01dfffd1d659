#!/usr/bin/env python
"""Mutation testing of the compiled core (the Cython ``.pyx``/``.pxd`` sources).

mutmut and friends cannot mutate Cython, so this script carries a hand-written list of
mutants: (file, an exact source snippet that must occur exactly once, its replacement,
kind).  For each mutant it

1. copies a pre-built baseline of the repository (tracked and untracked-but-not-ignored
   files, built once with ``python setup.py build_ext --inplace``) to a temp folder,
   keeping modification times, so only the mutated module and the modules that
   ``cimport`` it are recompiled;
2. applies the mutation and rebuilds in place;
3. runs the default test suite (``python -m pytest -x -q``) against the copy, through a
   temp ``uesim/`` folder of symlinks (``uesim/fabric -> fabric/`` ...) on ``PYTHONPATH``
   with ``PYTHONNOUSERSITE=1`` (the baseline check prints which ``uesim.fabric.network``
   is imported, so an editable install elsewhere cannot shadow the copy);
4. records killed (tests failed or timed out) / survived, and the time taken.

The sources are edited concurrently by other people: a mutant whose snippet is no longer
found exactly once is reported as "stale" and skipped, not counted.  A mutant that does
not compile is "invalid" (not counted either).

Usage::

    python tools/mutate_core.py --list
    python tools/mutate_core.py --jobs 2
    python tools/mutate_core.py --only window          # mutants whose id/file/kind contains it
    python tools/mutate_core.py --only planted --jobs 2

Equivalent mutants in the list (they survive; see docs/testing.md for why):
``heap-four-children``, ``win-inflight-ack``, ``win-cum-ack``.

Equivalent mutants kept out of the list (no test can kill them):

* ``pk.hops += 1`` dropped in ``Network.enqueue``: ``Packet.hops`` is written and never read.
* ``while cur >= 0 and nodes[cur].key < key`` -> ``<=`` in ``push_event`` and
  ``if last_key < h[best].key`` -> ``<=`` in ``_heap_pop``: keys are ``time << 64 | seq``
  with a unique ``seq``, so two keys are never equal.
* ``if self.rng == 0: self.rng = 1`` dropped in ``LoadBalancer.__init__``: the seed mix
  ``seed * odd + c`` is 0 for exactly one 64-bit seed, which ``derive_seed`` (63 bits) never
  produces for the scenario flows.
"""
from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"fabric": "fabric", "protocols": "protocols", "topologies": "topologies",
            "experiments": "experiments"}


@dataclass(frozen=True)
class Mutant:
    id: str
    file: str
    old: str
    new: str
    kind: str
    note: str = ""


FLIP, OBO, COUNTER, FLAG, ROUND, SKIP = ("flipped comparison", "off-by-one", "dropped counter",
                                         "dropped flag", "wrong rounding", "skipped branch")

E_PXD, E_PYX, NET = "fabric/engine.pxd", "fabric/engine.pyx", "fabric/network.pyx"
WIN, FLOW, HOOKS, PACED = ("protocols/window.pyx", "protocols/flow.pyx", "protocols/hooks.pyx",
                           "protocols/paced.pyx")
PDS = "protocols/uet/pds.pyx"
RC, BAL, WALK = "protocols/roce/rc.pyx", "protocols/balancers.pyx", "protocols/workload.pyx"

MUTANTS = [
    # --- the five planted bugs that survived the original suite -------------------------
    Mutant("planted-tx-time-floor", NET, "(size * BITS_PS + rate_bps - 1) // rate_bps",
           "(size * BITS_PS) // rate_bps", ROUND, "serialisation rounded down"),
    Mutant("planted-no-ecn-echo", WIN,
           "pk.flags = (PF_ECN_ECHO if (pk.flags & PF_CE) else 0) | (pk.flags & PF_RETX)",
           "pk.flags = (pk.flags & PF_RETX)", FLAG, "receiver never echoes CE"),
    Mutant("planted-dequeue-ecn-no-flag", NET,
           "                    self.pkts[p].flags |= PF_CE\n                    pt.ecn_marks += 1\n"
           "        return self.start_service(pt, port)",
           "                    pt.ecn_marks += 1\n        return self.start_service(pt, port)", FLAG,
           "dequeue marking counts but never sets CE"),
    Mutant("planted-red-always", NET, "return self.rand32() < prob", "return True", SKIP,
           "always mark between kmin and kmax"),
    Mutant("planted-wheel-horizon", E_PXD,
           "(sim.now >> WHEEL_SHIFT) >= WHEEL_SIZE:", "(sim.now >> WHEEL_SHIFT) > WHEEL_SIZE:", OBO,
           "an event one horizon ahead lands in the current bucket"),
    # --- engine.pxd: push_event -----------------------------------------------------------
    Mutant("pxd-past-check", E_PXD, "if time < sim.now:", "if time < sim.now - 1:", OBO),
    Mutant("pxd-seq-counter", E_PXD, "sim.next_seq += 1", "sim.next_seq += 0", COUNTER,
           "equal times lose FIFO order"),
    Mutant("pxd-current-bucket", E_PXD, "if tb <= sim.cur_abs:", "if tb < sim.cur_abs:", OBO,
           "an event for the bucket being drained goes to a bucket already passed"),
    Mutant("pxd-bucket-len", E_PXD, "    c.n += 1\n", "    c.n += 0\n", COUNTER),
    Mutant("pxd-wheel-len", E_PXD, "    sim.wheel_len += 1\n", "    sim.wheel_len += 0\n", COUNTER),
    Mutant("pxd-bitmap-set", E_PXD, "sim.bits[b >> 6] |= (<uint64_t> 1) << (b & 63)",
           "sim.bits[b >> 6] |= (<uint64_t> 1) << ((b + 1) & 63)", OBO),
    # --- engine.pyx ------------------------------------------------------------------------
    Mutant("heap-siftup", E_PYX, "            parent = (i - 1) >> 2\n            if h[parent].key < key:",
           "            parent = (i - 1) >> 2\n            if h[parent].key > key:", FLIP),
    Mutant("cur-siftup", E_PYX, "            parent = (i - 1) >> 1\n            if h[parent].key < key:",
           "            parent = (i - 1) >> 1\n            if h[parent].key > key:", FLIP),
    Mutant("heap-parent", E_PYX, "parent = (i - 1) >> 2", "parent = i >> 2", OBO),
    Mutant("heap-child1", E_PYX, "if h[child + 1].key < h[best].key:",
           "if h[child + 1].key > h[best].key:", FLIP),
    Mutant("heap-four-children", E_PYX, "if child + 3 < n:", "if child + 2 < n:", OBO),
    Mutant("heap-siftdown-stop", E_PYX, "if last_key < h[best].key:", "if last_key > h[best].key:", FLIP),
    Mutant("heap-len", E_PYX, "        self.heap_len -= 1\n        n = self.heap_len",
           "        n = self.heap_len - 1", COUNTER),
    Mutant("wheel-first-now", E_PYX, "            first = self.now >> WHEEL_SHIFT\n",
           "            first = first\n", SKIP, "after far events the scan starts at a stale bucket"),
    Mutant("cur-sift-child", E_PYX, "if child + 1 < n and h[child + 1].key < h[child].key:",
           "if child + 1 < n and h[child + 1].key > h[child].key:", FLIP),
    Mutant("load-wheel-len", E_PYX, "            self.wheel_len -= c.n\n", "            self.wheel_len -= 0\n", COUNTER),
    Mutant("load-clear-bit", E_PYX, "self.bits[b >> 6] &= ~((<uint64_t> 1) << (b & 63))",
           "self.bits[b >> 6] &= ~((<uint64_t> 1) << ((b + 1) & 63))", OBO),
    Mutant("pop-cur-vs-heap", E_PYX, "self.cur[0].key < self.heap[0].key):",
           "self.cur[0].key > self.heap[0].key):", FLIP),
    Mutant("wheel-first-mask", E_PYX,
           "word = self.bits[w] & (~(<uint64_t> 0) << (start & 63))",
           "word = self.bits[w]", SKIP, "ignores buckets before the scan's start in the word"),
    Mutant("wheel-scan-words", E_PYX, "for k in range(1, WHEEL_WORDS + 1):",
           "for k in range(1, WHEEL_WORDS // 2):", OBO),
    Mutant("peek-heap-first", E_PYX, "if self.heap_len > 0 and self.heap[0].key < key[0]:",
           "if self.heap_len > 0 and self.heap[0].key > key[0]:", FLIP),
    Mutant("pop-load-empty", E_PYX, "        if self.cur_len == 0 and self.wheel_len > 0:\n            self._load_bucket()\n        if self.cur_len > 0 and",
           "        if self.cur_len == 1 and self.wheel_len > 0:\n            self._load_bucket()\n        if self.cur_len > 0 and", OBO),
    Mutant("run-events-counter", E_PYX,
           "                ev = self._pop()\n                self.events += 1",
           "                ev = self._pop()", COUNTER),
    Mutant("run-until-limit", E_PYX, "if <int64_t> (key >> 64) > limit:",
           "if <int64_t> (key >> 64) >= limit:", OBO, "events at until_ps itself must run"),
    Mutant("run-until-advance", E_PYX,
           "self.now < limit:\n            self.now = limit", "self.now < limit:\n            pass", SKIP),
    Mutant("timer-generation", E_PYX, "if arg != self.generation:", "if arg == self.generation:", FLIP),
    Mutant("timer-cancel", E_PYX, "    def cancel(self):\n        self.generation += 1\n",
           "    def cancel(self):\n        pass\n", SKIP),
    # --- network.pyx ----------------------------------------------------------------------
    Mutant("exact-ps-per-byte", NET, "BITS_PS // rate_bps if BITS_PS % rate_bps == 0 else 0",
           "BITS_PS // rate_bps", ROUND, "per-byte shortcut used for rates that do not divide"),
    Mutant("ecn-kmin", NET, "if qbytes <= pt.ecn_kmin:", "if qbytes < pt.ecn_kmin:", OBO),
    Mutant("ecn-kmax", NET, "if qbytes >= pt.ecn_kmax:", "if qbytes > pt.ecn_kmax:", OBO),
    Mutant("ecn-prob-kmin", NET, "* <uint64_t> (qbytes - pt.ecn_kmin)) //",
           "* <uint64_t> (qbytes)) //", SKIP, "probability not measured from kmin"),
    Mutant("ecn-coin-flip", NET, "return self.rand32() < prob", "return self.rand32() > prob", FLIP),
    Mutant("ring-release", NET, "pt.ring_t[pt.ring_head] <= now:", "pt.ring_t[pt.ring_head] < now:", OBO),
    Mutant("drop-tail-limit", NET, "if pt.queued_bytes + size > pt.buffer_bytes:",
           "if pt.queued_bytes + size >= pt.buffer_bytes:", OBO),
    Mutant("drop-counter", NET,
           "            pt.drops += 1\n            pt.drop_bytes += size\n            self.dropped += 1\n"
           "            self.release(p)\n            return 0\n        if (pt.mode & PM_ECN)",
           "            pt.drop_bytes += size\n            self.dropped += 1\n"
           "            self.release(p)\n            return 0\n        if (pt.mode & PM_ECN)", COUNTER),
    Mutant("port-down", NET, "if not pt.up:", "if pt.up < 0:", SKIP, "down ports still forward"),
    Mutant("enqueue-ce-flag", NET,
           "                pk.flags |= PF_CE\n                pt.ecn_marks += 1\n        pt.queued_bytes += size",
           "                pt.ecn_marks += 1\n        pt.queued_bytes += size", FLAG),
    Mutant("enqueue-ecn-counter", NET,
           "                pk.flags |= PF_CE\n                pt.ecn_marks += 1\n        pt.queued_bytes += size",
           "                pk.flags |= PF_CE\n        pt.queued_bytes += size", COUNTER),
    Mutant("enqueue-ect-check", NET,
           "        if (pt.mode & PM_ECN) and (pk.flags & PF_ECT):",
           "        if (pt.mode & PM_ECN):", SKIP, "marks packets that are not ECN-capable"),
    Mutant("max-queue", NET, "        pt.queued_bytes += size\n        if pt.queued_bytes > pt.max_queue_bytes:",
           "        pt.queued_bytes += size\n        if pt.queued_bytes < pt.max_queue_bytes:", FLIP),
    Mutant("fifo-start", NET,
           "start = pt.busy_until if pt.busy_until > now else now\n        if pt.mode & PM_LLR:",
           "start = now\n        if pt.mode & PM_LLR:", SKIP, "no queueing delay on the fast path"),
    Mutant("fifo-tx-counter", NET,
           "        pt.tx_packets += 1\n        pt.tx_bytes += size\n        if (pt.mode & PM_LLR)",
           "        pt.tx_bytes += size\n        if (pt.mode & PM_LLR)", COUNTER),
    Mutant("dequeue-queued-bytes", NET, "        pt.queued_bytes -= pt.svc_size\n",
           "        pt.queued_bytes -= 0\n", COUNTER),
    Mutant("dequeue-tail-reset", NET,
           "            if b < 0:\n                pt.q_tail[c] = -1",
           "            if b < -1:\n                pt.q_tail[c] = -1", SKIP),
    # --- priority path, trimming (UET) --------------------------------------------------
    Mutant("lazy-finish", NET, "if pt.in_service >= 0 and not pt.tx_pending and pt.busy_until <= now:",
           "if pt.in_service >= 0 and not pt.tx_pending and pt.busy_until < now:", OBO,
           "a port idle since exactly now keeps its last packet's bytes"),
    Mutant("tx-done-pending", NET, "                if pt.n_waiting > 0:\n                    pt.tx_pending = 1",
           "                if pt.n_waiting > 1:\n                    pt.tx_pending = 1", OBO,
           "the last waiting packet gets no end-of-service event"),
    Mutant("trim-size", NET, "        pk.size = pt.trim_bytes\n", "        pk.size = pk.size\n", SKIP,
           "a trimmed packet keeps its payload"),
    Mutant("trim-last-hop", NET, "        if self.node_host[pt.peer] >= 0:\n            pk.flags |= PF_LAST_HOP",
           "        if self.node_host[pt.peer] >= 1:\n            pk.flags |= PF_LAST_HOP", OBO),
    Mutant("trim-header-class", NET, "        pk.prio = 0\n        pk.flags |= PF_TRIMMED",
           "        pk.flags |= PF_TRIMMED", SKIP, "a trimmed packet waits behind data"),
    Mutant("trim-threshold", NET, "if pt.queued_bytes - pt.hdr_bytes + pk.size > pt.buffer_bytes:",
           "if pt.queued_bytes - pt.hdr_bytes + pk.size > pt.buffer_bytes + pk.size:", OBO),
    Mutant("hdr-bytes", NET, "        if pk.prio == 0:\n            pt.hdr_bytes += size",
           "        if pk.prio == 1:\n            pt.hdr_bytes += size", FLIP),
    Mutant("ecn-no-headers", NET, "pt.svc_data = (pk.flags & (PF_ECT | PF_TRIMMED)) == PF_ECT",
           "pt.svc_data = (pk.flags & PF_ECT) == PF_ECT", SKIP, "trimmed headers get marked"),
    Mutant("nic-multiport", NET, "            if t < best:\n                best = t\n                port = self.fwd_ports[i]",
           "            if t > best:\n                best = t\n                port = self.fwd_ports[i]", FLIP,
           "a multi-plane NIC sends on the busiest port"),
    Mutant("ecmp-ignores-entropy", NET, "mix_hash(<uint64_t> pk.flow, pk.entropy,",
           "mix_hash(<uint64_t> pk.flow, 0,", SKIP, "per-packet spraying collapses to per-flow ECMP"),
    Mutant("switch-latency-hosts", NET, "        if self.node_host[node] >= 0:\n            r = self.route(",
           "        if self.node_host[node] > 0:\n            r = self.route(", OBO,
           "host 0's NIC gets the switch latency"),
    Mutant("arrive-wrong-host", NET, "if host == pk.dst:", "if host >= pk.dst:", FLIP),
    Mutant("wire-node", NET, "        cdef int32_t node = pt.peer\n        cdef int64_t hint = 0\n",
           "        cdef int32_t node = pt.node\n        cdef int64_t hint = 0\n", OBO,
           "a packet arrives back where it left"),
    Mutant("nic-round-robin", NET, "if ep.can_send():             # back of the ring",
           "if False:             # back of the ring", SKIP, "a flow with more to send leaves the ring"),
    Mutant("nic-free-now", NET, "if free_at <= self.sim.now:\n                return self.nic_pull(ring)",
           "if free_at < self.sim.now:\n                return self.nic_pull(ring)", OBO),
    Mutant("scale-up-table", NET, "pk.table = 1 if (d >= 0 and d == self.host_domain[pk.dst]) else 0",
           "pk.table = 1 if (d > 0 and d == self.host_domain[pk.dst]) else 0", OBO),
    Mutant("delivered-counter", NET, "                self.delivered += 1\n", "", COUNTER),
    Mutant("sent-counter", NET, "        self.sent += 1\n", "", COUNTER),
    Mutant("live-packets", NET, "        self.live_packets += 1\n", "", COUNTER),
    Mutant("queue-bytes-now", NET, "if pt.ring_t[j] > self.sim.now:", "if pt.ring_t[j] >= self.sim.now:", OBO),
    # --- window.pyx -----------------------------------------------------------------------
    Mutant("win-dup-counter", WIN, "            self.dup_packets += 1\n", "            pass\n", COUNTER),
    Mutant("win-cwnd-limit", WIN, "self.payload_of(seq) > self.cc.cwnd_bytes):",
           "self.payload_of(seq) >= self.cc.cwnd_bytes):", OBO),
    Mutant("win-karn", WIN, "if not (pk_flags & PF_RETX):", "if (pk_flags & PF_RETX) or True:", SKIP,
           "RTT samples from retransmissions"),
    Mutant("win-rto-adapt", WIN, "self.rto_now_ps = max(self.rto_ps, self.srtt_ps + 4 * self.rttvar_ps)",
           "self.rto_now_ps = self.rto_ps", SKIP),
    Mutant("win-inflight-ack", WIN, "if st == IN_FLIGHT:\n            self.inflight_bytes",
           "if st != LOST:\n            self.inflight_bytes", FLIP),
    Mutant("win-echo-counter", WIN, "            self.ecn_echoes += 1\n", "            pass\n", COUNTER),
    Mutant("win-rto-expiry", WIN, "if self.sent_at[seq] + self.rto_now_ps <= now:",
           "if self.sent_at[seq] + self.rto_now_ps < now:", OBO),
    Mutant("win-rto-backoff", WIN, "                self.rto_now_ps *= 2\n", "                pass\n", SKIP),
    Mutant("win-timeouts-counter", WIN, "            self.timeouts += 1\n", "", COUNTER),
    Mutant("win-retx-counter", WIN, "            pk.flags |= PF_RETX\n            self.retx_packets += 1",
           "            pk.flags |= PF_RETX", COUNTER),
    Mutant("win-retx-flag", WIN, "            pk.flags |= PF_RETX\n            self.retx_packets += 1",
           "            self.retx_packets += 1", FLAG),
    Mutant("win-ect", WIN, "        pk.flags = PF_ECT\n", "        pk.flags = 0\n", FLAG),
    Mutant("win-rx-done", FLOW, "        self.rx_done_ps = self.sim.now", "        pass", SKIP),
    Mutant("win-cum-ack", WIN, "while self.rx_cum < self.n_packets and self.received[self.rx_cum]:",
           "while self.rx_cum < self.n_packets - 1 and self.received[self.rx_cum]:", OBO),
    # --- flow.pyx -------------------------------------------------------------------------
    Mutant("flow-last-payload", FLOW, "if seq == self.n_packets - 1:", "if seq == self.n_packets:", OBO),
    Mutant("flow-n-packets", FLOW, "(size_bytes + (mtu_bytes - header_bytes) - 1) //",
           "(size_bytes) //", ROUND),
    Mutant("flow-sent-counter", FLOW, "        self.sent_packets += 1\n", "", COUNTER),
    Mutant("flow-end-time", FLOW, "        self.end_ps = self.sim.now\n", "", SKIP),
    Mutant("flow-src-eq-dst", FLOW, "if src == dst:", "if src == dst and src < 0:", SKIP),
    # --- hooks.pyx ------------------------------------------------------------------------
    Mutant("spray-wrap", HOOKS, "            self.pos = 0\n        return v", "            self.pos = 1\n        return v", OBO),
    Mutant("spray-shuffle", HOOKS, "j = self.rand32() % (i + 1)", "j = self.rand32() % (i + 1) * 0", SKIP,
           "no shuffle: every flow sprays in the same order"),
    Mutant("cc-cwnd-check", HOOKS, "if cwnd_bytes <= 0:", "if cwnd_bytes < 0:", OBO),
    Mutant("random-spray", HOOKS, "        return self.rand32()\n", "        return 0\n", SKIP),
    Mutant("fixed-entropy", HOOKS, "        self.value = self.rand32()\n", "        self.value = 0\n", SKIP),
    # --- paced.pyx ------------------------------------------------------------------------
    Mutant("paced-carry", PACED, "if self.sched_r >= self.rate_bps:", "if self.sched_r > self.rate_bps:", OBO),
    Mutant("paced-carry-q", PACED, "                self.sched_q += 1\n", "", COUNTER),
    Mutant("paced-last", PACED, "if seq + 1 < self.n_packets:", "if seq + 2 < self.n_packets:", OBO),
    Mutant("paced-first-rx", PACED, "if self.first_rx_ps < 0:", "if self.first_rx_ps < -1:", OBO),
    Mutant("paced-rx-bytes", PACED, "        self.rx_bytes += payload\n", "", COUNTER),
    Mutant("paced-entropy", PACED, "pk.entropy = self.lb.next_entropy() if self.lb is not None else 0",
           "pk.entropy = 0", SKIP),
    # --- protocols/uet/pds.pyx: the UET transport ---------------------------------------
    Mutant("pds-ack-every", PDS, "self.accepted_bytes >= self.ack_every_bytes", "self.accepted_bytes > 10 * self.ack_every_bytes", OBO),
    Mutant("pds-ar-last", PDS, "            if self.next_psn == self.n_packets:\n                pk.flags |= PF_AR",
           "            if self.next_psn == self.n_packets + 1:\n                pk.flags |= PF_AR", OBO, "the last packet asks no ACK"),
    Mutant("pds-ar-window", PDS, "elif self.sender_cc and self.inflight_bytes + size >= self.cc.cwnd_bytes:",
           "elif self.sender_cc and self.inflight_bytes + size > 2 * self.cc.cwnd_bytes:", OBO),
    Mutant("pds-nack-rtx", PDS, "        self.queue_rtx(psn)\n        if self.mode == MODE_ROD:",
           "        if self.mode == MODE_ROD:", SKIP, "a NACKed packet is never sent again"),
    Mutant("pds-inflight-newly", PDS, "            self.inflight_bytes -= newly\n", "            self.inflight_bytes -= 0\n", COUNTER),
    Mutant("pds-rtx-addback", PDS, "            self.inflight_bytes += self.wire_size(psn)\n            return self.payload_of(psn)",
           "            return self.payload_of(psn)", COUNTER),
    Mutant("pds-sack-bound", PDS, "        if ref + i >= n:\n            break", "        if ref + i > n:\n            break", OBO),
    Mutant("pds-sack-read", PDS, "            if (sack & 1) and 0 <= ref + i < self.n_packets:",
           "            if (sack & 2) and 0 <= ref + i < self.n_packets:", OBO),
    Mutant("pds-cum-clamp", PDS, "        for q in range(self.cum_ack, cum):\n            payload += self.ack_one(q)",
           "        for q in range(self.cum_ack + 1, cum):\n            payload += self.ack_one(q)", OBO),
    Mutant("pds-rto-expired", PDS, "            if self.send_ts[psn] + self.rto_ps <= now:",
           "            if self.send_ts[psn] + 2 * self.rto_ps <= now:", OBO),
    Mutant("pds-rto-ev", PDS, "self.lb.on_feedback(self.tx_ev[psn], False, False, True)",
           "self.lb.on_feedback(0, False, False, True)", FLAG, "a timeout loses the entropy it was sent on"),
    Mutant("pds-nack-trimmed", PDS, "        if flags & PF_TRIMMED:\n            if self.mode == MODE_UUD:",
           "        if flags & PF_RETX & PF_TRIMMED:\n            if self.mode == MODE_UUD:", SKIP,
           "a trimmed packet is taken for a whole one"),
    Mutant("pds-ecn-echo", PDS, "pk.flags = (PF_ECN_ECHO if (pk.flags & PF_CE) else 0) | (pk.flags & keep)",
           "pk.flags = (pk.flags & keep)", FLAG, "ACKs and NACKs never echo CE"),
    Mutant("pds-retry-limit", PDS, "if self.tx_count[psn] > self.max_rto_retries:",
           "if self.tx_count[psn] >= self.max_rto_retries:", OBO, "gives up one retry early"),
    Mutant("pds-credit-min", PDS, "    if speculating and want < mtu:\n        want = mtu", "    if speculating and want < 0:\n        want = mtu", OBO),
    Mutant("pds-window-check", PDS, "            if self.cc.cwnd_bytes < self.inflight_bytes + size:",
           "            if self.cc.cwnd_bytes < self.inflight_bytes:", OBO, "the window lets one packet too many out"),
    # --- flows made from a template (FlowSpawner, Flow.spawn, LoadBalancer.fresh) --------
    Mutant("spawn-uet-rto", PDS, "f.init_uet(self.ack_bytes, self.rto_ps,", "f.init_uet(self.ack_bytes, self.rto_ps + 1,",
           OBO, "a spawned UET flow's timer differs from the template's"),
    Mutant("spawn-like-prio", FLOW, "template.header_bytes, template.data_prio)", "template.header_bytes, 1)",
           FLAG, "a spawned flow loses its traffic class"),
    Mutant("spawn-roce-extra", RC, "if htsim_extra_packet and self.size_bytes % (self.mtu_bytes - self.header_bytes) == 0:",
           "if htsim_extra_packet:", SKIP, "htsim's extra RoCE packet for every size"),
    Mutant("spawner-lb-seed", FLOW, "cdef uint64_t lb_seed = _mix(_mix(self.seed, 3), <uint64_t> flow_id) >> 1",
           "cdef uint64_t lb_seed = _mix(_mix(self.seed, 3), <uint64_t> flow_id) >> 2", OBO,
           "spawned balancers draw other streams than constructed ones"),
    Mutant("flow-seed-mix", FLOW, "    return x ^ (x >> 31)", "    return x ^ (x >> 30)", OBO,
           "flow_seed is not derive_seed"),
    Mutant("fresh-oblivious-walk", BAL, "            h._init_walk(self.n_paths)", "            h._init_walk(self.n_paths + 1)",
           OBO, "a copied oblivious balancer walks one path more"),
    Mutant("fresh-blank-seed", HOOKS, "        lb = cls.__new__(cls)\n        lb.seed_rng(seed)\n",
           "        lb = cls.__new__(cls)\n", SKIP, "copied balancers all draw the same stream"),
    Mutant("fresh-fixed-value", HOOKS, "            f.value = f.rand32()\n        return f", "            pass\n        return f", SKIP,
           "a copied ECMP balancer always hashes to entropy 0"),
    Mutant("walker-spawn-fid", WALK, "self.owner._n_added = fid + 1", "self.owner._n_added = fid", COUNTER,
           "every spawned flow gets the same id"),
    # compiled counter reads, bulk retirement, CC copies and the fluid's sorts
    Mutant("ctr-uet-acks-sent", PDS, "elif code == CTR_ACKS_SENT: out[0] = self.acks_sent",
           "elif code == CTR_ACKS_SENT: out[0] = self.acks_received", SKIP,
           "a retired UET flow's row holds the ACKs it received as sent"),
    Mutant("ctr-roce-ooo", RC, "elif code == CTR_OOO_DISCARDS: out[0] = self.ooo_discards",
           "elif code == CTR_OOO_DISCARDS: out[0] = self.cnps_sent", SKIP,
           "a retired RoCE flow reports CNPs as out-of-order discards"),
    Mutant("ctr-base-end", FLOW, "elif code == CTR_END_PS: out[0] = self.end_ps",
           "elif code == CTR_END_PS: out[0] = self.rx_done_ps", SKIP, "rows end when the receiver did"),
    Mutant("ctr-uet-fallback", PDS, "        else: return Flow.counter(self, code, out)\n        return True",
           "        else: return False\n        return True", SKIP,
           "UET flows give no base counter by code (every batch falls back to attributes)"),
    Mutant("retire-all-override", FLOW, 'last, own = cls, isinstance(o, Flow) and getattr(cls, "retire", None) is Flow.retire',
           "last, own = cls, isinstance(o, Flow)", SKIP, "a subclass's own retire() is bypassed"),
    Mutant("fresh-nscc-alpha", "protocols/cc/nscc.pyx", "        c.alpha = self.alpha\n", "", SKIP,
           "a copied NSCC loses its alpha"),
    Mutant("fresh-dcqcn-ai", "protocols/cc/dcqcn.pyx", "        c.rate_ai_bps = self.rate_ai_bps\n", "", SKIP,
           "a copied DCQCN loses its additive increase"),
    Mutant("fluid-heap-sort-child", "fabric/fluid.pyx", "if c + 1 < n and kv[2 * c + 2] > kv[2 * c]:",
           "if c + 1 < n and kv[2 * c + 2] < kv[2 * c]:", FLIP, "the heap sort picks the smaller child"),
    Mutant("fluid-insertion-sort", "fabric/fluid.pyx", "while j >= 0 and kv[2 * j] > k:",
           "while j > 0 and kv[2 * j] > k:", OBO, "the insertion sort never moves a pair to the front"),
]


# wall-clock assertions fail under the load of parallel mutant builds: a "kill" by them
# would be noise, so they are left out of mutant runs (the default suite still runs them)
TIMING_TESTS = ["tests/topologies/test_validate.py::test_validate_is_fast"]


def repo_files(root: Path) -> list[str]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
                         cwd=root, capture_output=True, check=True).stdout
    return [f for f in out.decode().split("\0") if f and (root / f).is_file()]


def status(m: Mutant, root: Path) -> str:
    """'ok' if the snippet occurs exactly once, else 'stale'."""
    path = root / m.file
    if not path.exists():
        return "stale"
    return "ok" if path.read_text().count(m.old) == 1 else "stale"


def make_view(src: Path, view: Path) -> None:
    """``view/uesim/<pkg>`` -> ``src/<folder>`` so ``uesim.*`` imports the copy."""
    (view / "uesim").mkdir(parents=True, exist_ok=True)
    for pkg, folder in PACKAGES.items():
        link = view / "uesim" / pkg
        if not link.exists():
            os.symlink(src / folder, link)


def env_for(view: Path) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(view)
    env["PYTHONNOUSERSITE"] = "1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env.setdefault("UESIM_OPT", "-O0")      # setup.py: compile fast; the tests do not need -O3
    env.pop("PYTEST_ADDOPTS", None)
    return env


def build(src: Path, env: dict) -> subprocess.CompletedProcess:
    shutil.rmtree(src / "build" / "cython-include", ignore_errors=True)   # symlinks to the copy
    return subprocess.run([sys.executable, "setup.py", "build_ext", "--inplace", "-q"], cwd=src,
                          env=env, capture_output=True, text=True)


def which_network(src: Path, env: dict) -> str:
    return subprocess.run([sys.executable, "-c",
                           "import os, uesim.fabric.network as m, uesim.protocols.window as w; "
                           "print(os.path.realpath(m.__file__)); print(os.path.realpath(w.__file__))"],
                          cwd=src, env=env, capture_output=True, text=True).stdout.strip()


def run_tests(src: Path, env: dict, timeout: float, extra: list[str]) -> tuple[str, str]:
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
           *[f"--deselect={t}" for t in TIMING_TESTS], *extra]
    try:
        out = subprocess.run(cmd, cwd=src, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return "killed", "timeout"
    tail = [ln for ln in out.stdout.strip().splitlines() if ln.strip()][-3:]
    if out.returncode == 0:
        return "survived", tail[-1] if tail else ""
    failed = [ln for ln in out.stdout.splitlines() if ln.startswith(("FAILED", "ERROR"))]
    return "killed", (failed[0] if failed else (tail[-1] if tail else f"exit {out.returncode}"))


def prepare_base(root: Path, work: Path) -> tuple[Path, Path]:
    base, view = work / "base" / "src", work / "base" / "view"
    base.mkdir(parents=True)
    for f in repo_files(root):
        if f.endswith(".bak"):
            continue
        dst = base / f
        dst.parent.mkdir(parents=True, exist_ok=True)
        # a mutmut run in the same checkout mutates files in place and keeps the
        # original as FILE.bak meanwhile: copy the original
        bak = root / (f + ".bak")
        shutil.copy2(bak if bak.exists() else root / f, dst)
    make_view(base, view)
    env = env_for(view)
    t0 = time.perf_counter()
    out = build(base, env)
    if out.returncode != 0:
        sys.exit(f"baseline build failed:\n{out.stderr[-3000:]}")
    where = which_network(base, env)
    print(f"baseline built in {time.perf_counter() - t0:.0f} s; imports:\n  " + where.replace("\n", "\n  "))
    if not all(line.startswith(str(base.resolve())) for line in where.splitlines()):
        sys.exit(f"uesim is imported from {where!r}, not the copy {base}: something shadows PYTHONPATH")
    return base, view


def run_mutant(m: Mutant, base: Path, work: Path, timeout: float, extra: list[str]) -> dict:
    t0 = time.perf_counter()
    d = work / m.id
    src, view = d / "src", d / "view"
    shutil.copytree(base, src, symlinks=True)          # copy2: keeps mtimes of .c/.so
    path = src / m.file
    text = path.read_text()
    path.write_text(text.replace(m.old, m.new, 1))
    make_view(src, view)
    env = env_for(view)
    out = build(src, env)
    if out.returncode != 0:
        result, detail = "invalid", (out.stderr.strip().splitlines() or ["build failed"])[-1]
    else:
        result, detail = run_tests(src, env, timeout, extra)
    shutil.rmtree(d, ignore_errors=True)
    return {"mutant": m, "result": result, "detail": detail, "seconds": time.perf_counter() - t0}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=1, help="mutants built and tested in parallel")
    ap.add_argument("--only", help="run mutants whose id, file or kind contains this text (comma: any of several)")
    ap.add_argument("--list", action="store_true", help="list the mutants and whether each applies")
    ap.add_argument("--root", type=Path, default=ROOT, help="repository to mutate (default: this one)")
    ap.add_argument("--timeout", type=float, default=None,
                    help="seconds per test run, then killed (default: 4 x the baseline run, at least 120)")
    ap.add_argument("--skip", help="leave out mutants whose id contains this text (comma: any of several)")
    ap.add_argument("--pytest-args", default="", help="extra pytest arguments, e.g. 'tests/fabric'")
    ap.add_argument("--keep", action="store_true", help="keep the temp folder")
    args = ap.parse_args(argv)
    root = args.root.resolve()

    patterns = [p for p in (args.only or "").split(",") if p]
    mutants = [m for m in MUTANTS if not patterns or any(p in m.id or p in m.file or p in m.kind
                                                         for p in patterns)]
    skips = [p for p in (args.skip or "").split(",") if p]
    mutants = [m for m in mutants if not any(p in m.id for p in skips)]
    ids = [m.id for m in MUTANTS]
    assert len(ids) == len(set(ids)), "duplicate mutant ids"
    if args.list:
        for m in mutants:
            print(f"{status(m, root):5}  {m.id:28} {m.file:22} {m.kind:18} {m.note}")
        print(f"{len(mutants)} mutants")
        return 0
    live = [m for m in mutants if status(m, root) == "ok"]
    stale = [m for m in mutants if m not in live]
    for m in stale:
        print(f"stale     {m.id:28} {m.file}: snippet not found exactly once; skipped")
    if not live:
        print("no mutant to run")
        return 1

    work = Path(tempfile.mkdtemp(prefix="uesim-mutate-"))
    results = []
    t_start = time.perf_counter()
    try:
        base, view = prepare_base(root, work)
        t0 = time.perf_counter()
        res, detail = run_tests(base, env_for(view), args.timeout or 3600, args.pytest_args.split())
        baseline_s = time.perf_counter() - t0
        print(f"baseline tests: {'pass' if res == 'survived' else 'FAIL'} in {baseline_s:.0f} s ({detail})")
        if args.timeout is None:
            args.timeout = max(120.0, 4 * baseline_s)
        print(f"timeout per mutant test run: {args.timeout:.0f} s")
        if res != "survived":
            print("the unmutated copy fails its tests: fix that first")
            return 2
        with cf.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futs = [pool.submit(run_mutant, m, base, work, args.timeout, args.pytest_args.split())
                    for m in live]
            for fut in cf.as_completed(futs):
                r = fut.result()
                results.append(r)
                m = r["mutant"]
                print(f"{r['result']:9} {m.id:28} {r['seconds']:5.0f} s  {r['detail'][:110]}", flush=True)
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)

    counted = [r for r in results if r["result"] in ("killed", "survived")]
    killed = [r for r in counted if r["result"] == "killed"]
    survivors = [r for r in counted if r["result"] == "survived"]
    invalid = [r for r in results if r["result"] == "invalid"]
    print()
    print(f"mutants: {len(mutants)} listed, {len(stale)} stale, {len(invalid)} invalid (did not build), "
          f"{len(counted)} run; wall {time.perf_counter() - t_start:.0f} s")
    if counted:
        print(f"kill rate: {len(killed)}/{len(counted)} = {100 * len(killed) / len(counted):.1f}%")
    for r in sorted(survivors, key=lambda r: r["mutant"].id):
        m = r["mutant"]
        print(f"SURVIVOR  {m.id:28} {m.file}: {m.old.strip()!r} -> {m.new.strip()!r} ({m.kind})")
    for r in invalid:
        print(f"invalid   {r['mutant'].id}: {r['detail'][:200]}")
    return 0 if not survivors else 1


if __name__ == "__main__":
    sys.exit(main())
