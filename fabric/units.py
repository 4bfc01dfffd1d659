"""Unit helpers: time is integer picoseconds, sizes integer bytes, rates integer bit/s.

Examples
--------
>>> from uesim.fabric.units import us, gbps, tx_time_ps
>>> us(1.5), gbps(400)
(1500000, 400000000000)
>>> tx_time_ps(4096, gbps(100))   # 4096 B at 100 Gb/s
327680
"""
PS_PER_NS = 1_000
PS_PER_US = 1_000_000
PS_PER_MS = 1_000_000_000
PS_PER_S = 1_000_000_000_000


def _to_int(value, scale, what):
    result = round(value * scale)
    if result < 0:
        raise ValueError(f"{what} must be >= 0, got {value}")
    return int(result)


def ns(value: float) -> int:
    """Nanoseconds to integer picoseconds."""
    return _to_int(value, PS_PER_NS, "time")


def us(value: float) -> int:
    """Microseconds to integer picoseconds."""
    return _to_int(value, PS_PER_US, "time")


def ms(value: float) -> int:
    """Milliseconds to integer picoseconds."""
    return _to_int(value, PS_PER_MS, "time")


def gbps(value: float) -> int:
    """Gigabits per second to integer bits per second."""
    return _to_int(value, 1_000_000_000, "rate")


def mbps(value: float) -> int:
    """Megabits per second to integer bits per second."""
    return _to_int(value, 1_000_000, "rate")


def tx_time_ps(size_bytes: int, rate_bps: int) -> int:
    """Serialisation time of ``size_bytes`` at ``rate_bps``, rounded up to a whole picosecond.

    This is exactly the rounding the compiled ports use.
    """
    if rate_bps <= 0:
        raise ValueError(f"rate_bps must be > 0, got {rate_bps}")
    return -(-size_bytes * 8 * PS_PER_S // rate_bps)


def ps_to_us(value_ps) -> float:
    """Picoseconds to float microseconds (for result columns and human output)."""
    return value_ps / PS_PER_US
