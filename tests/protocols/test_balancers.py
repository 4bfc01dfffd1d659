"""The Ultra Ethernet load balancers of uesim.protocols.balancers, driven directly (no simulator)."""
import doctest

import pytest

import uesim.protocols.balancers as balancers
from uesim.protocols import (LB_REGISTRY, Bitmap, HtsimOblivious, LoadBalancer, Mixed,
                             ObliviousSpray, Reps, policy_params)

MS10 = 10_000_000_000


def draw(lb, n):
    return [lb.next_entropy() for _ in range(n)]


# --- oblivious --------------------------------------------------------------------------

@pytest.mark.parametrize("n_paths", [1, 2, 8, 64, 128, 6, 100])
def test_oblivious_covers_each_value_once_per_block(n_paths):
    lb = HtsimOblivious(seed=11, n_paths=n_paths)
    for _ in range(30):
        assert sorted(draw(lb, n_paths)) == list(range(n_paths))


@pytest.mark.parametrize("n_paths", [8, 128, 6, 100])
def test_oblivious_order_changes_between_blocks(n_paths):
    lb = HtsimOblivious(seed=4, n_paths=n_paths)
    blocks = {tuple(draw(lb, n_paths)) for _ in range(40)}
    assert len(blocks) > 1


def test_oblivious_power_of_two_blocks_are_xor_orders():
    """htsim's scheme: block k is i XOR x_k for i = 0..P-1."""
    lb = HtsimOblivious(seed=9, n_paths=16)
    xs = set()
    for _ in range(50):
        block = draw(lb, 16)
        x = block[0]
        assert block == [i ^ x for i in range(16)]
        xs.add(x)
    assert len(xs) > 8    # x is redrawn per block


def test_oblivious_ignores_feedback():
    a, b = HtsimOblivious(seed=3, n_paths=8), HtsimOblivious(seed=3, n_paths=8)
    for ev in range(8):
        a.on_feedback(ev, nack=True)
        a.on_feedback(ev, timeout=True)
    assert draw(a, 40) == draw(b, 40)


def test_oblivious_bad_n_paths():
    with pytest.raises(ValueError, match="n_paths"):
        HtsimOblivious(seed=1, n_paths=0)


# --- bitmap -----------------------------------------------------------------------------

def test_bitmap_without_feedback_is_oblivious():
    lb = Bitmap(seed=2, n_paths=8)
    for _ in range(10):
        assert sorted(draw(lb, 8)) == list(range(8))


def test_bitmap_penalties_add_and_cap():
    lb = Bitmap(seed=1, n_paths=8)
    lb.on_feedback(3, ecn=True)
    assert lb.penalty_of(3) == 1
    lb.on_feedback(3, nack=True)
    assert lb.penalty_of(3) == 5
    lb.on_feedback(3)                       # GOOD: no change
    assert lb.penalty_of(3) == 5
    lb.on_feedback(4, timeout=True)
    assert lb.penalty_of(4) == 15
    for _ in range(4):
        lb.on_feedback(3, nack=True)
    assert lb.penalty_of(3) == 15           # capped
    lb.on_feedback(8 + 5, ecn=True)         # EVs map to their index modulo P
    assert lb.penalty_of(5) == 1
    assert lb.penalties() == [0, 0, 0, 15, 15, 1, 0, 0]


def test_bitmap_skips_penalised_and_decrements_first_skipped_only():
    lb = Bitmap(seed=7, n_paths=8)
    # Find the walk's next two candidates on a clone, then penalise both.
    probe = Bitmap(seed=7, n_paths=8)
    first, second = draw(probe, 2)
    lb.on_feedback(first, nack=True)        # 4
    lb.on_feedback(second, ecn=True)        # 1
    ev = lb.next_entropy()
    assert ev not in (first, second)
    assert lb.penalty_of(first) == 3        # the first skipped index is decremented ...
    assert lb.penalty_of(second) == 1       # ... the second is skipped without decay


def test_bitmap_decays_to_reuse():
    lb = Bitmap(seed=5, n_paths=4)
    lb.on_feedback(2, ecn=True)             # penalty 1: skipped once, then usable
    evs = draw(lb, 12)
    assert lb.penalty_of(2) == 0
    assert 2 in evs
    # Skipped exactly once: 12 returns over 13 walk steps, index 2 missing from one block.
    assert evs.count(2) == 2 and len(evs) == 12


def test_bitmap_all_penalised_stops_after_p_moves():
    P = 8
    lb = Bitmap(seed=3, n_paths=P)
    for ev in range(P):
        lb.on_feedback(ev, timeout=True)
    ev = lb.next_entropy()                  # every candidate penalised: gives up
    assert 0 <= ev < P
    assert sum(lb.penalties()) == 15 * P - 1
    pens = lb.penalties()
    assert pens.count(14) == 1


def test_bitmap_skip_is_a_walk_over_the_blocks():
    """With one penalised index, the returned EVs are the walk with that index removed once."""
    P = 16
    probe, lb = Bitmap(seed=21, n_paths=P), Bitmap(seed=21, n_paths=P)
    walk = draw(probe, 3 * P)
    bad = walk[5]
    lb.on_feedback(bad, ecn=True)
    got = draw(lb, 3 * P - 1)
    expect = walk[:5] + walk[6:]
    assert got == expect


# --- REPS -------------------------------------------------------------------------------

def test_reps_recycles_clean_ack_ev():
    lb = Reps(seed=1)
    lb.on_feedback(77)
    assert lb.next_entropy() == 77
    assert lb.fresh == 0


def test_reps_oldest_fresh_first_each_used_once():
    lb = Reps(seed=1, n_paths=1 << 20)       # random EVs almost surely not among ours
    for ev in (10, 11, 12):
        lb.on_feedback(ev)
    assert lb.fresh == 3
    assert draw(lb, 3) == [10, 11, 12]
    nxt = lb.next_entropy()                  # nothing fresh: random
    assert nxt not in (10, 11, 12)


def test_reps_buffer_keeps_last_eight():
    lb = Reps(seed=1, n_paths=1 << 20)
    for ev in range(100, 112):               # 12 clean ACKs into 8 slots
        lb.on_feedback(ev)
    assert lb.fresh == 8 and lb.count == 8
    assert draw(lb, 8) == list(range(104, 112))
    assert lb.fresh == 0


def test_reps_interleaved_feedback_and_sends():
    lb = Reps(seed=1, n_paths=1 << 20)
    lb.on_feedback(1)
    lb.on_feedback(2)
    assert lb.next_entropy() == 1
    lb.on_feedback(3)
    assert draw(lb, 2) == [2, 3]


@pytest.mark.parametrize("flags", [dict(ecn=True), dict(nack=True)])
def test_reps_does_not_recycle_ecn_or_nack(flags):
    lb = Reps(seed=1, n_paths=1 << 20)
    lb.on_feedback(5, **flags)
    assert lb.fresh == 0 and lb.count == 0
    assert lb.next_entropy() != 5


def test_reps_explores_randomly_when_empty():
    lb = Reps(seed=8, n_paths=128)
    evs = draw(lb, 2000)
    assert all(0 <= ev < 128 for ev in evs)
    assert len(set(evs)) > 100               # uniform-ish over 128 values


def test_reps_freezes_on_timeout_and_resets_after():
    lb = Reps(seed=1, n_paths=1 << 20)
    for ev in (1, 2, 3):
        lb.on_feedback(ev)
    assert lb.next_entropy() == 1            # 2 and 3 stay fresh
    lb.now_ps = 5_000
    lb.on_feedback(9, timeout=True)
    assert lb.frozen and lb.exit_freeze_ps == 5_000 + MS10
    # Frozen: cycle through the filled slots whether fresh or not.
    assert draw(lb, 7) == [1, 2, 3, 1, 2, 3, 1]
    assert lb.fresh == 0
    lb.on_feedback(4)                        # GOOD while frozen still adds
    assert lb.count == 4
    lb.now_ps = 5_000 + MS10                 # not yet past the end
    lb.on_feedback(9, ecn=True)
    assert lb.frozen
    lb.on_feedback(9, timeout=True)          # already frozen: no re-arm
    assert lb.exit_freeze_ps == 5_000 + MS10
    lb.now_ps = 5_001 + MS10
    lb.on_feedback(9, ecn=True)              # first feedback after the freeze
    assert not lb.frozen and lb.count == 0 and lb.fresh == 0 and lb.explore == 16
    lb.on_feedback(42)                       # explore beats fresh entries
    evs = draw(lb, 16)
    assert lb.explore == 0 and 42 not in evs
    assert lb.next_entropy() == 42


def test_reps_no_freeze_while_exploring():
    lb = Reps(seed=1, freeze_ps=100)
    lb.on_feedback(1, timeout=True)
    lb.now_ps = 101
    lb.on_feedback(1)
    assert lb.explore == 16 and not lb.frozen
    lb.on_feedback(1, timeout=True)          # explore > 0: no freeze
    assert not lb.frozen
    draw(lb, 16)
    lb.on_feedback(1, timeout=True)
    assert lb.frozen


def test_reps_frozen_empty_buffer_is_random():
    lb = Reps(seed=1, n_paths=128)
    lb.on_feedback(0, timeout=True)
    assert lb.frozen and lb.count == 0
    assert all(0 <= ev < 128 for ev in draw(lb, 50))


def test_reps_freeze_can_be_disabled():
    lb = Reps(seed=1, freeze_ps=0)
    lb.on_feedback(3, timeout=True)
    assert not lb.frozen


def test_reps_bad_params():
    with pytest.raises(ValueError, match="n_paths"):
        Reps(seed=1, n_paths=0)
    with pytest.raises(ValueError, match="freeze_ps"):
        Reps(seed=1, freeze_ps=-1)


# --- mixed ------------------------------------------------------------------------------

def test_mixed_prefers_recycled_then_bitmap():
    lb = Mixed(seed=3, n_paths=8)
    probe = Bitmap(seed=3, n_paths=8)        # same stream: the bitmap part's walk
    for ev in (1000, 1001, 1002):
        lb.on_feedback(ev)
    lb.on_feedback(1003, ecn=True)           # not recycled (and penalises index 1003 % 8 = 3)
    lb.on_feedback(1004, nack=True)          # not recycled (penalises index 4)
    assert lb.queued == 3
    assert draw(lb, 3) == [1000, 1001, 1002]
    assert lb.queued == 0
    evs = draw(lb, 8)
    assert all(0 <= ev < 8 for ev in evs)
    assert lb.penalty_of(3) + lb.penalty_of(4) < 5     # the bitmap skipped them
    probe.on_feedback(3, ecn=True)
    probe.on_feedback(4, nack=True)
    assert evs == draw(probe, 8)


def test_mixed_fifo_is_unbounded_and_in_order():
    lb = Mixed(seed=1, n_paths=64)
    evs = list(range(5000, 5000 + 1000))
    for ev in evs[:600]:
        lb.on_feedback(ev)
    assert draw(lb, 300) == evs[:300]
    for ev in evs[600:]:                     # wraps and grows the ring buffer
        lb.on_feedback(ev)
    assert lb.queued == 700
    assert draw(lb, 700) == evs[300:]
    assert lb.queued == 0


# --- common -----------------------------------------------------------------------------

CLASSES = [HtsimOblivious, Bitmap, Reps, Mixed]


def scripted(cls, seed):
    """A fixed mix of sends and feedback; returns the EVs sent."""
    lb = cls(seed=seed)
    out = []
    for i in range(400):
        lb.now_ps = i * 1_000_000
        ev = lb.next_entropy()
        out.append(ev)
        if i % 3 == 0:
            lb.on_feedback(ev)
        elif i % 7 == 0:
            lb.on_feedback(ev, ecn=True)
        elif i % 11 == 0:
            lb.on_feedback(ev, nack=True)
    return out


@pytest.mark.parametrize("cls", CLASSES)
def test_deterministic_per_seed(cls):
    assert scripted(cls, 5) == scripted(cls, 5)
    assert scripted(cls, 5) != scripted(cls, 6)


@pytest.mark.parametrize("cls", CLASSES)
def test_python_subclass_override_is_called(cls):
    calls = []

    class Traced(cls):
        def next_entropy(self):
            calls.append("next")
            return 1234

        def on_feedback(self, entropy, ecn=False, nack=False, timeout=False):
            calls.append(("fb", entropy, ecn, nack, timeout))
            super().on_feedback(entropy, ecn, nack, timeout)

    lb = Traced(seed=1)
    assert isinstance(lb, LoadBalancer)
    assert lb.next_entropy() == 1234
    lb.on_feedback(7, ecn=True)
    assert calls == ["next", ("fb", 7, True, False, False)]


@pytest.mark.parametrize("cls", CLASSES)
def test_python_subclass_override_is_called_from_compiled_transport(cls):
    """WindowFlow calls the hooks from C; the Python overrides must be the ones that run."""
    import networkx as nx
    from uesim.fabric import build_network
    from uesim.protocols import CongestionControl, WindowFlow
    sent, fed = [], []

    class Traced(cls):
        def next_entropy(self):
            ev = super().next_entropy()
            sent.append(ev)
            return ev

        def on_feedback(self, entropy, ecn=False, nack=False, timeout=False):
            fed.append(entropy)
            super().on_feedback(entropy, ecn, nack, timeout)

    G = nx.Graph()
    G.add_nodes_from(["gpu0", "gpu1"], kind="gpu", role="host")
    G.add_node("sw", kind="switch", role="tor")
    for h in ("gpu0", "gpu1"):
        G.add_edge(h, "sw", rate_bps=100_000_000_000, delay_ps=1_000_000)
    built = build_network(G)
    f = WindowFlow(0, 0, 1, 10 * 4032, 0, CongestionControl(65536, 4096), Traced(seed=1),
                   mtu_bytes=4096, header_bytes=64, ack_bytes=64)
    f.attach(built.net)
    built.sim.run()
    assert len(sent) >= 10 and len(fed) >= 10
    assert set(fed) <= set(sent)    # feedback carries the EVs the overrides chose


def test_registry_and_params():
    assert LB_REGISTRY["oblivious"] is HtsimOblivious
    assert LB_REGISTRY["oblivious_fixed"] is ObliviousSpray
    assert LB_REGISTRY["bitmap"] is Bitmap
    assert LB_REGISTRY["reps"] is Reps
    assert LB_REGISTRY["mixed"] is Mixed
    assert policy_params(Reps) == ("seed", "n_paths", "freeze_ps")
    for cls in (HtsimOblivious, Bitmap, Mixed):
        assert policy_params(cls) == ("seed", "n_paths")


def test_defaults_follow_htsim():
    assert HtsimOblivious().n_paths == 128
    assert Reps().n_paths == 128 and Reps().freeze_ps == MS10
    assert Bitmap().n_paths == 64
    assert Mixed().n_paths == 64


def test_base_feedback_flags_default_false():
    lb = LoadBalancer(seed=1)
    lb.on_feedback(3)                        # GOOD, with the flags defaulted
    lb.on_feedback(3, False, False, True)    # the positional form still works
    assert lb.now_ps == 0
    lb.now_ps = 123
    assert lb.now_ps == 123


def test_module_doctests():
    """pytest does not collect doctests of compiled modules: run them here."""
    result = doctest.testmod(balancers, optionflags=doctest.ELLIPSIS, verbose=False)
    assert result.attempted > 20 and result.failed == 0
