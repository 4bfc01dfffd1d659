"""DCTCP in Python: the congestion control of the tutorial in docs/protocols.md.

Run it from a scenario:  uesim run incast_my_dctcp.toml --plugin my_dctcp
"""
from uesim.protocols import CongestionControl, register_cc


@register_cc("my_dctcp")
class MyDctcp(CongestionControl):
    """Cut the window in proportion to the fraction of ECN-marked bytes, once per window."""

    def __init__(self, mtu_bytes=4096, g=1 / 16):
        super().__init__(cwnd_bytes=mtu_bytes, mtu_bytes=mtu_bytes)
        self.g, self.alpha = g, 1.0

    def on_start(self, ctx):
        self.cwnd_bytes = ctx.bdp_bytes              # start at one bandwidth-delay product
        self.acked = self.marked = 0
        self.window_end = self.total = 0
        self.window_end = self.cwnd_bytes

    def on_ack(self, ctx):
        if ctx.acked_bytes <= 0:
            return
        self.total += ctx.acked_bytes
        self.acked += ctx.acked_bytes
        self.marked += ctx.acked_bytes if ctx.ecn else 0
        if self.total >= self.window_end:            # a window of bytes has been acked
            self.alpha = (1.0 - self.g) * self.alpha + self.g * (self.marked / self.acked)
            if self.marked:
                self.cwnd_bytes = int(self.cwnd_bytes * (1.0 - self.alpha / 2.0))
            else:
                self.cwnd_bytes += self.mtu_bytes
            self.cwnd_bytes = max(self.cwnd_bytes, self.mtu_bytes)
            self.acked = self.marked = 0
            self.window_end = self.total + self.cwnd_bytes

    def on_nack(self, ctx):                          # a trimmed packet
        self.cwnd_bytes = max(self.cwnd_bytes - ctx.nacked_bytes, self.mtu_bytes)

    def on_timeout(self, ctx):
        self.cwnd_bytes = self.mtu_bytes
        self.acked = self.marked = 0
        self.window_end = self.total + self.cwnd_bytes
