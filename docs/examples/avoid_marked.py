"""A load balancer in Python: the second example of docs/protocols.md.

Spray round robin over ``n_paths`` entropy values, skipping those whose last feedback was
an ECN mark, a NACK or a timeout, until a clean ACK clears them.
"""
from uesim.protocols import LoadBalancer, register_lb


@register_lb("avoid_marked")
class AvoidMarked(LoadBalancer):
    def __init__(self, seed=0, n_paths=64):
        super().__init__(seed)
        self.n_paths, self.next, self.bad = n_paths, 0, set()

    def next_entropy(self):
        for _ in range(self.n_paths):
            ev, self.next = self.next, (self.next + 1) % self.n_paths
            if ev not in self.bad:
                return ev
        self.bad.clear()                     # every path looked bad: start afresh
        return self.next

    def on_feedback(self, entropy, ecn=False, nack=False, timeout=False):
        if ecn or nack or timeout:
            self.bad.add(entropy)
        else:
            self.bad.discard(entropy)
