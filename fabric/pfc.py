"""Priority flow control settings and the vendor-style headroom arithmetic.

The mechanism itself (ingress accounting, PAUSE/RESUME, paused egress) is in
:mod:`uesim.fabric.network` (``Network.configure_pfc``); this module holds the
settings a :class:`~uesim.fabric.FabricConfig` carries and derives per-link
thresholds from them.  See ``docs/lossless.md``.
"""
from __future__ import annotations

from dataclasses import dataclass

#: Bytes the sender may still put on the wire after a PAUSE frame has landed, while
#: it reacts: 60 pause quanta of 512 bit times = 3840 B, the figure vendors (Cisco's
#: PFC white paper, Mellanox's headroom notes) use for the response time.
RESPONSE_BYTES = 3840

#: htsim's lossless input queue thresholds: 15 and 12 packets of 4000 B (main_roce.cpp).
HTSIM_XOFF_BYTES = 15 * 4000
HTSIM_XON_BYTES = 12 * 4000

PFC_MODES = ("frames", "htsim")


@dataclass(frozen=True)
class PfcConfig:
    """PFC settings applied to every link of a fabric.

    Parameters
    ----------
    mode : {"frames", "htsim"}
        uesim's 802.1Qbb model (per-class PAUSE frames with quanta on the reverse
        link) or htsim's lossless input queues (on/off, out of band, whole port).
    classes : tuple of int, optional
        Lossless classes; default all eight.
    xoff_bytes, xon_bytes : int, optional
        Static thresholds per ingress (link) and class.  Default: derived (see
        :func:`pfc_thresholds`); htsim mode: 60 000 and 48 000 B.
    headroom_bytes : int, optional
        Buffer per ingress for the bytes that arrive after XOFF; default derived.
    quanta : int
        Pause time of a PAUSE frame in 512-bit times (frames mode).
    alpha : float
        Dynamic threshold factor on the free shared buffer (0: static).
    shared_buffer_bytes : int
        Shared buffer per switch (0: none).
    watchdog_ps : int
        Ignore a class's pauses on a port paused longer than this (0: off).
    mtu_bytes : int
        Largest packet on the wire, for the derived headroom.
    """

    mode: str = "frames"
    classes: tuple | None = None
    xoff_bytes: int | None = None
    xon_bytes: int | None = None
    headroom_bytes: int | None = None
    quanta: int = 65535
    alpha: float = 0.0
    shared_buffer_bytes: int = 0
    watchdog_ps: int = 0
    mtu_bytes: int = 4096

    def __post_init__(self):
        if self.mode not in PFC_MODES:
            raise ValueError(f"pfc mode = {self.mode!r}: allowed: {', '.join(PFC_MODES)}")
        if self.classes is not None:
            object.__setattr__(self, "classes", tuple(self.classes))
            for c in self.classes:
                if isinstance(c, bool) or not isinstance(c, int) or not 0 <= c < 8:
                    raise ValueError(f"pfc classes: {c!r} is not a class 0..7")
        for key in ("xoff_bytes", "xon_bytes", "headroom_bytes"):
            v = getattr(self, key)
            if v is not None and v < 0:
                raise ValueError(f"pfc {key} must be >= 0, got {v}")
        if self.xoff_bytes is not None and self.xon_bytes is not None and self.xon_bytes > self.xoff_bytes:
            raise ValueError(f"pfc xon_bytes ({self.xon_bytes}) must be <= xoff_bytes ({self.xoff_bytes})")
        if not 1 <= self.quanta <= 65535:
            raise ValueError(f"pfc quanta must be in 1..65535, got {self.quanta}")
        if self.alpha < 0 or (self.alpha > 0 and self.shared_buffer_bytes <= 0):
            raise ValueError("pfc alpha must be >= 0, and alpha > 0 needs shared_buffer_bytes > 0")
        if self.shared_buffer_bytes < 0 or self.watchdog_ps < 0 or self.mtu_bytes <= 0:
            raise ValueError("pfc shared_buffer_bytes and watchdog_ps must be >= 0, mtu_bytes > 0")


def headroom_bytes(rate_bps: int, delay_ps: int, mtu_bytes: int) -> int:
    """Vendor headroom of one link: what can still arrive after XOFF is decided.

    ``2 x (cable delay x rate) + 2 x MTU + response``: the XOFF frame's flight and the
    last bits already on the cable back, the packet the sender has in service when the
    frame lands and the one being received when XOFF is decided, and the sender's
    response time (:data:`RESPONSE_BYTES`).

    Examples
    --------
    >>> headroom_bytes(100_000_000_000, 1_000_000, 4096)   # 100 Gb/s, 1 us cable
    37032
    """
    in_flight = -(-delay_ps * rate_bps // 8_000_000_000_000)
    return 2 * in_flight + 2 * mtu_bytes + RESPONSE_BYTES


def pfc_thresholds(cfg: PfcConfig, rate_bps: int, delay_ps: int, budget_bytes: int) -> tuple[int, int, int]:
    """``(xoff, xon, headroom)`` bytes of one ingress link.

    Given values win.  Otherwise headroom is :func:`headroom_bytes`, XOFF is the
    per-port budget (the switch port buffer) minus the headroom (at least one MTU) and
    XON is XOFF minus two MTUs (at least 0); htsim mode defaults to htsim's 60 000 /
    48 000 B and no headroom limit.

    Examples
    --------
    >>> pfc_thresholds(PfcConfig(), 100_000_000_000, 1_000_000, 200_000)
    (162968, 154776, 37032)
    """
    mtu = cfg.mtu_bytes
    if cfg.mode == "htsim":
        hr = cfg.headroom_bytes if cfg.headroom_bytes is not None else 1 << 40
        xoff = cfg.xoff_bytes if cfg.xoff_bytes is not None else HTSIM_XOFF_BYTES
        xon = cfg.xon_bytes if cfg.xon_bytes is not None else min(HTSIM_XON_BYTES, xoff)
        return xoff, xon, hr
    hr = cfg.headroom_bytes if cfg.headroom_bytes is not None else headroom_bytes(rate_bps, delay_ps, mtu)
    xoff = cfg.xoff_bytes if cfg.xoff_bytes is not None else max(budget_bytes - hr, mtu)
    xon = cfg.xon_bytes if cfg.xon_bytes is not None else max(xoff - 2 * mtu, 0)
    return xoff, min(xon, xoff), hr


@dataclass(frozen=True)
class CbfcConfig:
    """Credit-based flow control (the UE link layer's CBFC) on every link.

    Parameters
    ----------
    credit_bytes : int, optional
        Buffer the receiving end of each link grants per class (virtual channel), in
        bytes; default: the switch port buffer.  To keep a link busy it must cover the
        credit loop: ``2 x cable delay x rate + MTU`` (25 kB + MTU at 100 Gb/s on 1 us).
    """

    credit_bytes: int | None = None

    def __post_init__(self):
        if self.credit_bytes is not None and not 0 < self.credit_bytes < (1 << 24):
            raise ValueError(f"cbfc credit_bytes must be in 1..{(1 << 24) - 1}, got {self.credit_bytes}")


@dataclass(frozen=True)
class LlrConfig:
    """Frame errors on every link and the UE link layer's link-level retry (LLR).

    Parameters
    ----------
    frame_error_rate : float
        Probability that a frame arrives corrupted, 0 .. 0.5; a graph edge's
        ``frame_error_rate`` attribute overrides it for that link (both directions).
    replay : bool
        LLR on: the far end NACKs a corrupted frame and the sender replays from its
        replay buffer (a link round trip instead of an end-to-end recovery).  Off: the
        frame is lost.
    """

    frame_error_rate: float = 0.0
    replay: bool = True

    def __post_init__(self):
        if not 0.0 <= self.frame_error_rate <= 0.5:
            raise ValueError(f"llr frame_error_rate must be in [0, 0.5], got {self.frame_error_rate}")
