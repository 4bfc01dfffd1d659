"""RED/ECN marking on one port, driven packet by packet.

Setup: ``n`` packets of 1000 B injected at time 0 from gpu0; they all queue at gpu0's
NIC port (configured with ECN here), so packet ``k`` sees exactly ``k * 1000`` bytes held
when it is enqueued, and leaves ``(n - 1 - k) * 1000`` bytes behind when it is dequeued.
The marking rule (``Network.configure_ecn``): never at or below kmin, always at or above
kmax, with probability ``pmax * (q - kmin) / (kmax - kmin)`` in between.  The bounds
below come from that formula (binomial mean +- >= 4 standard deviations), not from
recorded runs.
"""
import math

import networkx as nx
import pytest

from uesim.fabric import FabricConfig, RecordingSink, build_network

US = 1_000_000
SIZE = 1000
CE = 2


def pair():
    G = nx.Graph()
    G.add_nodes_from(["gpu0", "gpu1"], kind="gpu", role="host")
    G.add_node("sw", kind="switch", role="tor")
    G.add_edge("gpu0", "sw", rate_bps=100_000_000_000, delay_ps=US)
    G.add_edge("sw", "gpu1", rate_bps=100_000_000_000, delay_ps=US)
    return G


def blast(n, kmin, kmax, pmax, *, at_dequeue=False, ect=True, seed=0):
    """Return ({seq: marked}, ecn_marks counter of the NIC port)."""
    built = build_network(pair(), config=FabricConfig(seed=seed))
    port = built.ports_between("gpu0", "sw")[0]
    built.net.configure_ecn(port, kmin, kmax, pmax, at_dequeue)
    sink = RecordingSink()
    ep = built.net.add_endpoint(sink)
    for k in range(n):
        built.net.inject(0, 1, SIZE, ep, seq=k, ect=ect)
    built.sim.run()
    assert len(sink.log) == n
    marked = {seq: bool(flags & CE) for _, _, seq, _, flags in sink.log}
    return marked, int(built.net.port_counters()["ecn_marks"][port])


def binomial_bounds(probs, sigmas=5):
    mean = sum(probs)
    sd = math.sqrt(sum(p * (1 - p) for p in probs))
    return mean - sigmas * sd - 1, mean + sigmas * sd + 1


def test_threshold_marking_at_enqueue():
    """pmax = 0: mark exactly when the queue seen at enqueue is >= kmax."""
    marked, count = blast(20, 4_500, 5_500, 0.0)
    assert [s for s, m in sorted(marked.items()) if m] == list(range(6, 20))
    assert count == 14


@pytest.mark.parametrize("pmax", [0.2, 0.5, 1.0])
def test_red_marks_linearly_between_kmin_and_kmax(pmax):
    n, kmin, kmax = 2000, 500_000, 1_500_000
    marked, count = blast(n, kmin, kmax, pmax, seed=3)
    q = {k: k * SIZE for k in range(n)}
    below = [k for k in range(n) if q[k] <= kmin]
    above = [k for k in range(n) if q[k] >= kmax]
    middle = [k for k in range(n) if kmin < q[k] < kmax]
    assert not any(marked[k] for k in below)
    assert all(marked[k] for k in above)
    probs = [pmax * (q[k] - kmin) / (kmax - kmin) for k in middle]
    lo, hi = binomial_bounds(probs)
    got = sum(marked[k] for k in middle)
    assert lo <= got <= hi, (got, lo, hi)
    assert count == sum(marked.values())
    # mid-queue: the marking fraction near (kmin + kmax) / 2 is about pmax / 2, not 1
    mid = [k for k in middle if abs(q[k] - (kmin + kmax) // 2) <= 150_000]
    frac = sum(marked[k] for k in mid) / len(mid)
    assert abs(frac - pmax / 2) <= 5 * math.sqrt(pmax / 2 * (1 - pmax / 2) / len(mid)) + 0.01, frac
    # the probability rises with the queue: more marks in the upper half of the band
    half = len(middle) // 2
    assert sum(marked[k] for k in middle[half:]) > sum(marked[k] for k in middle[:half])


def test_red_with_pmax_02_marks_about_a_tenth_of_the_band():
    n, kmin, kmax = 1000, 0, 1_000_000
    marked, _ = blast(n, kmin, kmax, 0.2, seed=11)
    inside = [k for k in range(1, n)]
    frac = sum(marked[k] for k in inside) / len(inside)
    assert 0.06 <= frac <= 0.14, frac


def test_not_ect_packets_are_never_marked():
    marked, count = blast(50, 0, 1_000, 1.0, ect=False)
    assert not any(marked.values()) and count == 0


def test_dequeue_marking_sets_the_ce_flag_on_bytes_left_behind():
    """At dequeue the first packets leave the most bytes behind: they are the marked ones."""
    n = 20
    marked, count = blast(n, 4_500, 5_500, 0.0, at_dequeue=True)
    left_behind = {k: (n - 1 - k) * SIZE for k in range(n)}
    expected = [k for k in range(n) if left_behind[k] >= 5_500]
    assert [s for s, m in sorted(marked.items()) if m] == expected == list(range(0, 14))
    assert count == 14


def test_dequeue_red_marking_fraction():
    n, kmin, kmax, pmax = 2000, 500_000, 1_500_000, 0.2
    marked, count = blast(n, kmin, kmax, pmax, at_dequeue=True, seed=5)
    q = {k: (n - 1 - k) * SIZE for k in range(n)}
    middle = [k for k in range(n) if kmin < q[k] < kmax]
    assert all(marked[k] for k in range(n) if q[k] >= kmax)
    assert not any(marked[k] for k in range(n) if q[k] <= kmin)
    lo, hi = binomial_bounds([pmax * (q[k] - kmin) / (kmax - kmin) for k in middle])
    assert lo <= sum(marked[k] for k in middle) <= hi
    assert count == sum(marked.values())


def test_queue_exactly_at_kmax_with_pmax_0_is_not_marked_and_above_is():
    """q == kmax marks always; q == kmin never (pmax 0 makes the band itself clean)."""
    marked, count = blast(10, 2_000, 5_000, 0.0)
    # packet k sees k * 1000 B: k = 5 sees exactly kmax
    assert [s for s, m in sorted(marked.items()) if m] == [5, 6, 7, 8, 9] and count == 5


def test_kmin_equal_kmax_marks_strictly_above():
    """kmin == kmax == 3000: q = 3000 is at kmin (never marked), q = 4000 above."""
    marked, count = blast(6, 3_000, 3_000, 1.0)
    assert [s for s, m in sorted(marked.items()) if m] == [4, 5] and count == 2
