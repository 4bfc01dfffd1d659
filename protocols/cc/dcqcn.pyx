# cython: language_level=3
"""DCQCN reaction point: the rate-based congestion control of RoCEv2 NICs.

Sources (numbers only):

- Y. Zhu, H. Eran, D. Firestone, C. Guo, M. Lipshteyn, Y. Liron, J. Padhye, S. Raindel,
  M. H. Yahia, M. Zhang, "Congestion Control for Large-Scale RDMA Deployments", ACM SIGCOMM
  2015, §3.1-3.2 (the reaction point: cut ``Rt <- Rc, Rc <- Rc (1 - alpha/2)`` and
  ``alpha <- (1-g) alpha + g`` per CNP, alpha decay ``(1-g) alpha`` per interval K without
  CNPs, rate increase from a timer and a byte counter through fast recovery, additive and
  hyper increase) and its parameter table: g = 1/256, K = 55 us, timer 55 us, byte
  counter 10 MB, F = 5, R_AI = 40 Mb/s.
- The ns-3 RDMA code base of HPCC (Y. Li et al., SIGCOMM 2019), ``RdmaHw`` attribute
  defaults of its Mellanox-style DCQCN: EwmaGain 1/16, RateAI 5 Mb/s, RateHAI 50 Mb/s,
  AlphaResumInterval 55 us, RateDecreaseInterval 4 us, RPTimer 1500 us,
  FastRecoveryTimes 5, MiThresh 5, MinRate 100 Mb/s, RateOnFirstCnp 1.0,
  ClampTargetRate false (no byte counter).
"""
from libc.stdint cimport int64_t

from uesim.protocols.hooks cimport CCContext, CongestionControl

PARAMS = ("mtu_bytes", "params", "g", "alpha_init", "alpha_interval_ps", "rate_timer_ps",
          "byte_counter_bytes", "fast_recovery_stages", "mi_thresh", "rate_ai_bps",
          "rate_hai_bps", "min_rate_bps", "rate_on_first_cnp", "clamp_target",
          "rate_decrease_interval_ps")

# timer kinds armed with ctx.arm_timer
ALPHA_TIMER = 0
RATE_TIMER = 1

PARAM_SETS = {
    # Zhu et al. 2015.  R_HAI and the minimum rate are not in the paper's table (see
    # docs/protocols.md); the byte counter is 10 MiB.
    "paper": dict(g=1.0 / 256, alpha_init=1.0, alpha_interval_ps=55_000_000,
                  rate_timer_ps=55_000_000, byte_counter_bytes=10 * 1024 * 1024,
                  fast_recovery_stages=5, mi_thresh=5, rate_ai_bps=40e6, rate_hai_bps=100e6,
                  min_rate_bps=100e6, rate_on_first_cnp=1.0, clamp_target=True,
                  rate_decrease_interval_ps=0),
    # ns-3 HPCC code base RdmaHw defaults
    "nic": dict(g=1.0 / 16, alpha_init=1.0, alpha_interval_ps=55_000_000,
                rate_timer_ps=1_500_000_000, byte_counter_bytes=0,
                fast_recovery_stages=5, mi_thresh=5, rate_ai_bps=5e6, rate_hai_bps=50e6,
                min_rate_bps=100e6, rate_on_first_cnp=1.0, clamp_target=False,
                rate_decrease_interval_ps=4_000_000),
}


cdef class Dcqcn(CongestionControl):
    """DCQCN reaction point (Zhu et al., SIGCOMM 2015): a rate set by CNPs, timers and bytes.

    A rate-based control: it sets ``rate_bps`` (the current rate ``rc``) and leaves
    ``cwnd_bytes`` at 0 (no window).  It starts at line rate with ``rc = rt`` (target
    rate) and ``alpha = alpha_init``.

    On a CNP (``on_cnp``): ``alpha <- (1 - g) alpha + g`` after the cut, and the cut is

    - ``rt <- rc`` (always with ``clamp_target``; otherwise only if a rate-increase stage
      happened since the last cut, as the ns-3 NIC model);
    - ``rc <- max(min_rate, rc (1 - alpha / 2))``; on the first CNP of the flow ``rc`` is
      first capped at ``rate_on_first_cnp`` x line rate;
    - the stage counters and the byte counter restart, and the rate timer is re-armed.

    A CNP less than ``rate_decrease_interval_ps`` after the last cut raises alpha only.

    Alpha timer (kind 0, every ``alpha_interval_ps``): ``alpha <- (1 - g) alpha`` if no CNP
    came in the interval.  Rate increase events come from the rate timer (kind 1, every
    ``rate_timer_ps``: one *timer stage*) and the byte counter (every
    ``byte_counter_bytes`` acknowledged: one *byte stage*).  With T and B the stages
    completed since the last cut (before this event) and F = ``fast_recovery_stages``,
    each event does

    - fast recovery while ``max(T, B) < F``: ``rc <- (rt + rc) / 2``;
    - hyper increase when ``min(T, B) >= mi_thresh``: ``rt += i * rate_hai`` with
      ``i = min(T, B) - mi_thresh + 1``, then ``rc <- (rt + rc) / 2``;
    - additive increase otherwise: ``rt += rate_ai``, then ``rc <- (rt + rc) / 2``;

    with ``rt`` and ``rc`` capped at the line rate (``ctx.link_rate_bps``).  Without a
    byte counter (``byte_counter_bytes = 0``, the ns-3 NIC model) the timer stages alone
    decide: fast recovery while ``T < F``, hyper increase (``rt += rate_hai``, once per
    stage) when ``T > mi_thresh``, additive increase otherwise.

    Parameters
    ----------
    params : {"paper", "nic"}
        Named parameter set: ``"paper"`` (Zhu et al. 2015) or ``"nic"`` (the ns-3 RDMA code
        base of HPCC).  Every other keyword overrides one value of the set.
    g : float
        Alpha gain, in (0, 1] (paper 1/256, nic 1/16).
    alpha_init : float
        Initial alpha, in [0, 1] (1.0).
    alpha_interval_ps : int
        Alpha decay interval, > 0 (55 us).
    rate_timer_ps : int
        Rate-increase timer period, > 0 (paper 55 us, nic 1500 us).
    byte_counter_bytes : int
        Acknowledged bytes per byte stage, >= 0, 0 = no byte counter (paper 10 MiB, nic 0).
    fast_recovery_stages : int
        F, stages of fast recovery, >= 1 (5).
    mi_thresh : int
        Stages before hyper increase, >= 1 (5).
    rate_ai_bps, rate_hai_bps : float
        Additive / hyper increase steps, >= 0 (paper 40 / 100 Mb/s, nic 5 / 50 Mb/s).
    min_rate_bps : float
        Rate floor, > 0 (100 Mb/s).
    rate_on_first_cnp : float
        Cap of the rate on the first CNP, as a fraction of line rate, in (0, 1] (1.0).
    clamp_target : bool
        ``rt <- rc`` on every cut (paper True, nic False).
    rate_decrease_interval_ps : int
        Shortest time between two cuts, >= 0 (paper 0, nic 4 us).
    mtu_bytes : int, optional
        Packet size (unused by the rate math; kept for the transport).

    Examples
    --------
    A CNP at line rate with alpha 1 halves the rate; the next timer stage recovers half
    of the gap to the target.

    >>> from uesim.protocols import CCContext
    >>> from uesim.protocols.cc import Dcqcn
    >>> cc = Dcqcn(params="paper")
    >>> ctx = CCContext.for_test(link_rate_bps=100_000_000_000)
    >>> cc.on_start(ctx)
    >>> cc.rate_bps, cc.cwnd_bytes
    (100000000000, 0)
    >>> cc.on_cnp(ctx)
    >>> cc.rate_bps, cc.rt, cc.alpha
    (50000000000, 100000000000.0, 1.0)
    >>> cc.on_timer(ctx, 1)
    >>> cc.rate_bps
    75000000000
    """

    def __init__(self, *, params="paper", mtu_bytes=None, **overrides):
        CongestionControl.__init__(self, 1, mtu_bytes if mtu_bytes is not None else 4096)
        self.cwnd_bytes = 0           # no window: the rate alone limits the sender
        if params not in PARAM_SETS:
            raise ValueError(f"params must be one of {sorted(PARAM_SETS)}, got {params!r}")
        unknown = sorted(set(overrides) - set(PARAM_SETS[params]))
        if unknown:
            raise ValueError(f"unknown DCQCN parameter {unknown[0]!r}; allowed: "
                             + ", ".join(PARAMS))
        p = dict(PARAM_SETS[params])
        p.update(overrides)
        if not (0.0 < p["g"] <= 1.0):
            raise ValueError(f"g must be in (0, 1], got {p['g']}")
        if not (0.0 <= p["alpha_init"] <= 1.0):
            raise ValueError(f"alpha_init must be in [0, 1], got {p['alpha_init']}")
        for k in ("alpha_interval_ps", "rate_timer_ps"):
            if p[k] <= 0:
                raise ValueError(f"{k} must be > 0, got {p[k]}")
        for k in ("byte_counter_bytes", "rate_decrease_interval_ps", "rate_ai_bps",
                  "rate_hai_bps"):
            if p[k] < 0:
                raise ValueError(f"{k} must be >= 0, got {p[k]}")
        for k in ("fast_recovery_stages", "mi_thresh"):
            if p[k] < 1:
                raise ValueError(f"{k} must be >= 1, got {p[k]}")
        if p["min_rate_bps"] <= 0:
            raise ValueError(f"min_rate_bps must be > 0, got {p['min_rate_bps']}")
        if not (0.0 < p["rate_on_first_cnp"] <= 1.0):
            raise ValueError(f"rate_on_first_cnp must be in (0, 1], got {p['rate_on_first_cnp']}")
        if p["clamp_target"] not in (True, False):
            raise ValueError(f"clamp_target must be True or False, got {p['clamp_target']!r}")
        self.params = params
        self.g = p["g"]
        self.alpha_init = p["alpha_init"]
        self.alpha_interval_ps = p["alpha_interval_ps"]
        self.rate_timer_ps = p["rate_timer_ps"]
        self.byte_counter_bytes = p["byte_counter_bytes"]
        self.fast_recovery_stages = p["fast_recovery_stages"]
        self.mi_thresh = p["mi_thresh"]
        self.rate_ai_bps = p["rate_ai_bps"]
        self.rate_hai_bps = p["rate_hai_bps"]
        self.min_rate_bps = p["min_rate_bps"]
        self.rate_on_first_cnp = p["rate_on_first_cnp"]
        self.clamp_target = p["clamp_target"]
        self.rate_decrease_interval_ps = p["rate_decrease_interval_ps"]
        self.alpha = self.alpha_init

    cdef void arm(self, CCContext ctx, int64_t at_ps, int kind) except *:
        # a test context (CCContext.for_test) has no simulator: only remember the due time
        if kind == ALPHA_TIMER:
            self.next_alpha_ps = at_ps
        else:
            self.next_rate_ps = at_ps
        if ctx.sim is not None:
            ctx.arm_timer(at_ps, kind)

    cpdef void on_start(self, CCContext ctx) except *:
        """Start at line rate, alpha at ``alpha_init``; arm the alpha and rate timers."""
        self.line_rate_bps = <double> ctx.link_rate_bps
        self.rc = self.line_rate_bps
        self.rt = self.line_rate_bps
        self.rate_bps = ctx.link_rate_bps
        self.cwnd_bytes = 0
        self.alpha = self.alpha_init
        self.timer_stages = 0
        self.byte_stages = 0
        self.stage_bytes = 0
        self.cnp_in_interval = False
        self.seen_cnp = False
        self.last_cut_ps = -(1 << 62)
        self.arm(ctx, ctx.now_ps + self.alpha_interval_ps, ALPHA_TIMER)
        self.arm(ctx, ctx.now_ps + self.rate_timer_ps, RATE_TIMER)

    cpdef void on_cnp(self, CCContext ctx) except *:
        """Cut the rate with the current alpha, then raise alpha."""
        self.n_cnps += 1
        self.cnp_in_interval = True
        if ctx.now_ps - self.last_cut_ps >= self.rate_decrease_interval_ps:
            if not self.seen_cnp and self.rc > self.rate_on_first_cnp * self.line_rate_bps:
                self.rc = self.rate_on_first_cnp * self.line_rate_bps
            if self.clamp_target or self.timer_stages > 0 or self.byte_stages > 0:
                self.rt = self.rc
            self.rc = self.rc * (1.0 - self.alpha / 2.0)
            if self.rc < self.min_rate_bps:
                self.rc = self.min_rate_bps
            self.rate_bps = <int64_t> self.rc
            self.last_cut_ps = ctx.now_ps
            self.timer_stages = 0
            self.byte_stages = 0
            self.stage_bytes = 0
            self.n_cuts += 1
            self.arm(ctx, ctx.now_ps + self.rate_timer_ps, RATE_TIMER)
        self.seen_cnp = True
        self.alpha = (1.0 - self.g) * self.alpha + self.g

    cdef void increase(self) noexcept:
        # the stage counts are those completed before this event (the first event after a
        # cut sees 0 and 0), so fast recovery lasts F events
        cdef int64_t t = self.timer_stages
        cdef int64_t b = self.byte_stages
        cdef int64_t lo = t if t < b else b
        cdef int64_t hi = t if t > b else b
        if self.byte_counter_bytes <= 0:
            # timer only (ns-3 NIC model): one additive step at mi_thresh, then R_HAI per stage
            if t < self.fast_recovery_stages:
                self.n_fast_recovery += 1
            elif t > self.mi_thresh:
                self.rt += self.rate_hai_bps
                self.n_hyper += 1
            else:
                self.rt += self.rate_ai_bps
                self.n_additive += 1
        elif hi < self.fast_recovery_stages:
            self.n_fast_recovery += 1
        elif lo >= self.mi_thresh:
            self.rt += (lo - self.mi_thresh + 1) * self.rate_hai_bps
            self.n_hyper += 1
        else:
            self.rt += self.rate_ai_bps
            self.n_additive += 1
        if self.rt > self.line_rate_bps:
            self.rt = self.line_rate_bps
        self.rc = (self.rt + self.rc) / 2.0
        if self.rc > self.line_rate_bps:
            self.rc = self.line_rate_bps
        self.rate_bps = <int64_t> self.rc

    cpdef void on_timer(self, CCContext ctx, int kind) except *:
        """Kind 0: alpha decay (without CNPs in the interval); kind 1: a timer stage."""
        if kind == ALPHA_TIMER:
            if not self.cnp_in_interval:
                self.alpha = (1.0 - self.g) * self.alpha
            self.cnp_in_interval = False
            self.arm(ctx, ctx.now_ps + self.alpha_interval_ps, ALPHA_TIMER)
        elif kind == RATE_TIMER:
            self.increase()
            self.timer_stages += 1
            self.arm(ctx, ctx.now_ps + self.rate_timer_ps, RATE_TIMER)

    cpdef void on_ack(self, CCContext ctx) except *:
        """Count acknowledged bytes; every ``byte_counter_bytes`` is a byte stage."""
        if self.byte_counter_bytes <= 0 or ctx.acked_bytes <= 0:
            return
        self.stage_bytes += ctx.acked_bytes
        while self.stage_bytes >= self.byte_counter_bytes:
            self.stage_bytes -= self.byte_counter_bytes
            self.increase()
            self.byte_stages += 1

    cdef CongestionControl fresh(self):
        """A copy of this never-used Dcqcn, field for field (no keyword parsing; a
        test holds the list whole against the pickled state); None for a subclass."""
        if type(self) is not Dcqcn:
            return None
        cdef Dcqcn c = Dcqcn.__new__(Dcqcn)
        c.cwnd_bytes = self.cwnd_bytes
        c.rate_bps = self.rate_bps
        c.mtu_bytes = self.mtu_bytes
        c.params = self.params
        c.g = self.g
        c.alpha_init = self.alpha_init
        c.alpha_interval_ps = self.alpha_interval_ps
        c.rate_timer_ps = self.rate_timer_ps
        c.byte_counter_bytes = self.byte_counter_bytes
        c.fast_recovery_stages = self.fast_recovery_stages
        c.mi_thresh = self.mi_thresh
        c.rate_ai_bps = self.rate_ai_bps
        c.rate_hai_bps = self.rate_hai_bps
        c.min_rate_bps = self.min_rate_bps
        c.rate_on_first_cnp = self.rate_on_first_cnp
        c.clamp_target = self.clamp_target
        c.rate_decrease_interval_ps = self.rate_decrease_interval_ps
        c.line_rate_bps = self.line_rate_bps
        c.rc = self.rc
        c.rt = self.rt
        c.alpha = self.alpha
        c.timer_stages = self.timer_stages
        c.byte_stages = self.byte_stages
        c.stage_bytes = self.stage_bytes
        c.cnp_in_interval = self.cnp_in_interval
        c.seen_cnp = self.seen_cnp
        c.last_cut_ps = self.last_cut_ps
        c.next_alpha_ps = self.next_alpha_ps
        c.next_rate_ps = self.next_rate_ps
        c.n_cnps = self.n_cnps
        c.n_cuts = self.n_cuts
        c.n_fast_recovery = self.n_fast_recovery
        c.n_additive = self.n_additive
        c.n_hyper = self.n_hyper
        return c
