# cython: language_level=3
"""DCTCP: window congestion control from the fraction of ECN-marked bytes.

M. Alizadeh, A. Greenberg, D. A. Maltz, J. Padhye, P. Patel, B. Prabhakar, S. Sengupta,
M. Sridharan, "Data Center TCP (DCTCP)", ACM SIGCOMM 2010, §3.1 (the sender's estimate
``alpha <- (1 - g) alpha + g F`` once per window of data, with g = 1/16, and the cut
``cwnd <- cwnd (1 - alpha/2)``).  Also RFC 8257 §3.3-3.4 for the per-window bookkeeping.
"""
from libc.stdint cimport int64_t

from uesim.protocols.hooks cimport CCContext, CongestionControl

PARAMS = ("mtu_bytes", "cwnd_bytes", "g", "alpha_init", "slow_start", "initial_window_mtus",
          "min_cwnd_bytes", "max_cwnd_bytes")


cdef class Dctcp(CongestionControl):
    """DCTCP (Alizadeh et al., SIGCOMM 2010): cut the window in proportion to the ECN marks.

    The sender counts the wire bytes acknowledged and, of those, the bytes whose ACK echoed
    ECN.  A *window* ends when as many bytes as cwnd at its start have been acknowledged;
    then, with F the marked fraction of the window,

    - ``alpha <- (1 - g) * alpha + g * F``;
    - if any byte was marked: ``cwnd <- cwnd * (1 - alpha / 2)`` (at least ``min_cwnd_bytes``)
      and ``ssthresh <- cwnd``;
    - otherwise, out of slow start: ``cwnd += MTU`` (additive increase of one MTU per window).

    With ``slow_start``, every unmarked ACK adds its bytes to cwnd while cwnd < ssthresh
    (ssthresh starts unlimited).  A NACK (trimmed packet) takes its bytes off cwnd; a
    timeout resets cwnd to ``min_cwnd_bytes`` (and, with slow start, sets ssthresh to half
    the old cwnd, at least 2 MTU).

    The cut is applied once per window, at its end, with the alpha of that window (Linux
    cuts on the first ECE of a window with the alpha of the previous window instead).  An
    ACK's ECN echo counts for all the bytes it acknowledges.

    Parameters
    ----------
    mtu_bytes : int, optional
        Full packet on the wire (None: ``ctx.mtu_bytes`` at start).
    cwnd_bytes : int, optional
        Initial window (None: the BDP ``ctx.bdp_bytes``, or ``initial_window_mtus`` MTUs
        with slow start).
    g : float
        Gain of the alpha estimate (1/16).
    alpha_init : float
        Initial alpha (1.0, as Linux ``dctcp_alpha_on_init``).
    slow_start : bool
        Grow by the acked bytes per ACK until the first mark (False).
    initial_window_mtus : int
        Initial window with slow start, in MTUs (10).
    min_cwnd_bytes : int, optional
        Lower clamp (None: MTU).
    max_cwnd_bytes : int
        Upper clamp, 0 for none.

    Examples
    --------
    Every byte of a window marked, with alpha at 1: the window halves.

    >>> from uesim.protocols import CCContext
    >>> from uesim.protocols.cc import Dctcp
    >>> cc = Dctcp(mtu_bytes=4096, cwnd_bytes=40960)
    >>> ctx = CCContext.for_test(mtu_bytes=4096)
    >>> cc.on_start(ctx)
    >>> _ = ctx.set_event(acked_bytes=40960, ecn=True)
    >>> cc.on_ack(ctx)
    >>> cc.alpha, cc.cwnd_bytes
    (1.0, 20480)

    A window with no marks: alpha decays by 1 - g, cwnd grows by one MTU.

    >>> _ = ctx.set_event(acked_bytes=20480, ecn=False)
    >>> cc.on_ack(ctx)
    >>> cc.alpha, cc.cwnd_bytes
    (0.9375, 24576)
    """

    def __init__(self, *, mtu_bytes=None, cwnd_bytes=None, g=1.0 / 16, alpha_init=1.0,
                 slow_start=False, initial_window_mtus=10, min_cwnd_bytes=None,
                 max_cwnd_bytes=0):
        CongestionControl.__init__(self, cwnd_bytes if cwnd_bytes is not None else 1,
                                   mtu_bytes if mtu_bytes is not None else 4096)
        if cwnd_bytes is not None and cwnd_bytes <= 0:
            raise ValueError(f"cwnd_bytes must be > 0, got {cwnd_bytes}")
        if not (0.0 < g <= 1.0):
            raise ValueError(f"g must be in (0, 1], got {g}")
        if not (0.0 <= alpha_init <= 1.0):
            raise ValueError(f"alpha_init must be in [0, 1], got {alpha_init}")
        if initial_window_mtus <= 0:
            raise ValueError(f"initial_window_mtus must be > 0, got {initial_window_mtus}")
        if min_cwnd_bytes is not None and min_cwnd_bytes <= 0:
            raise ValueError(f"min_cwnd_bytes must be > 0, got {min_cwnd_bytes}")
        if max_cwnd_bytes < 0:
            raise ValueError(f"max_cwnd_bytes must be >= 0, got {max_cwnd_bytes}")
        self._mtu_given = mtu_bytes is not None
        self._cwnd0 = cwnd_bytes
        self._min_cwnd0 = min_cwnd_bytes
        self.g = g
        self.alpha_init = alpha_init
        self.alpha = alpha_init
        self.slow_start = slow_start
        self.initial_window_mtus = initial_window_mtus
        self.max_cwnd_bytes = max_cwnd_bytes
        self.min_cwnd_bytes = min_cwnd_bytes if min_cwnd_bytes is not None else self.mtu_bytes
        self.ssthresh_bytes = 0

    cpdef void on_start(self, CCContext ctx) except *:
        """Set the initial window (BDP, or ``initial_window_mtus`` MTUs with slow start)."""
        if not self._mtu_given:
            self.mtu_bytes = ctx.mtu_bytes
        self.min_cwnd_bytes = self._min_cwnd0 if self._min_cwnd0 is not None else self.mtu_bytes
        if self._cwnd0 is not None:
            self.cwnd_bytes = self._cwnd0
        elif self.slow_start:
            self.cwnd_bytes = self.initial_window_mtus * self.mtu_bytes
        else:
            self.cwnd_bytes = ctx.bdp_bytes
        self.clamp()
        self.alpha = self.alpha_init
        self.ssthresh_bytes = (1 << 62) if self.slow_start else 0
        self.acked_total_bytes = 0
        self.window_acked_bytes = 0
        self.window_marked_bytes = 0
        self.window_end_bytes = self.cwnd_bytes

    cdef inline void clamp(self) noexcept:
        if self.max_cwnd_bytes > 0 and self.cwnd_bytes > self.max_cwnd_bytes:
            self.cwnd_bytes = self.max_cwnd_bytes
        if self.cwnd_bytes < self.min_cwnd_bytes:
            self.cwnd_bytes = self.min_cwnd_bytes

    cdef void end_window(self) noexcept:
        cdef double f = 0.0
        if self.window_acked_bytes > 0:
            f = <double> self.window_marked_bytes / <double> self.window_acked_bytes
        self.alpha = (1.0 - self.g) * self.alpha + self.g * f
        if self.window_marked_bytes > 0:
            self.cwnd_bytes = <int64_t> (<double> self.cwnd_bytes * (1.0 - self.alpha / 2.0))
            self.clamp()
            self.ssthresh_bytes = self.cwnd_bytes
            self.n_cuts += 1
        elif not (self.slow_start and self.cwnd_bytes < self.ssthresh_bytes):
            self.cwnd_bytes += self.mtu_bytes
            self.clamp()
        self.n_windows += 1
        self.window_acked_bytes = 0
        self.window_marked_bytes = 0
        self.window_end_bytes = self.acked_total_bytes + self.cwnd_bytes

    cpdef void on_ack(self, CCContext ctx) except *:
        """Count acked and marked bytes; at the end of a window update alpha and cwnd."""
        cdef int64_t acked = ctx.acked_bytes
        if acked <= 0:
            return
        self.acked_total_bytes += acked
        self.window_acked_bytes += acked
        if ctx.ecn:
            self.window_marked_bytes += acked
        elif self.slow_start and self.cwnd_bytes < self.ssthresh_bytes:
            self.cwnd_bytes += acked
            self.clamp()
        if self.acked_total_bytes >= self.window_end_bytes:
            self.end_window()

    cpdef void on_nack(self, CCContext ctx) except *:
        """A trimmed packet: ``cwnd -= nacked_bytes`` (at least ``min_cwnd_bytes``)."""
        self.cwnd_bytes -= ctx.nacked_bytes
        self.clamp()
        self.n_nack_dec += 1

    cpdef void on_timeout(self, CCContext ctx) except *:
        """Retransmission timeout: cwnd back to ``min_cwnd_bytes`` (one MTU)."""
        if self.slow_start:
            self.ssthresh_bytes = self.cwnd_bytes // 2
            if self.ssthresh_bytes < 2 * self.mtu_bytes:
                self.ssthresh_bytes = 2 * self.mtu_bytes
        self.cwnd_bytes = self.min_cwnd_bytes
        self.n_timeouts += 1
        self.window_acked_bytes = 0
        self.window_marked_bytes = 0
        self.window_end_bytes = self.acked_total_bytes + self.cwnd_bytes
