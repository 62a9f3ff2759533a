"""Small, robust statistics for the gate: medians and the noise a set of rounds shows.

Benchmarks on shared machines have outliers (another job steals the CPU for a second), so
the gate reads noise with robust figures (median, MAD) rather than mean and stddev, which
one slow round can double.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence

#: 1.4826 × MAD estimates the standard deviation of normally distributed rounds.
MAD_TO_SIGMA = 1.4826


def median(values: Sequence[float]) -> float:
    """The median of ``values``; raises ``ValueError`` for an empty sequence."""
    if not values:
        raise ValueError("median of no values: record at least one round")
    return float(statistics.median(values))


def relative_spread(values: Sequence[float]) -> float:
    """Robust relative noise of ``values``: 1.4826 × MAD / |median| (0.0 for < 2 values).

    Example: rounds ``[100, 102, 98, 101, 99]`` give about 0.015 (1.5 % noise).
    """
    finite = [float(v) for v in values if math.isfinite(v)]
    if len(finite) < 2:
        return 0.0
    mid = median(finite)
    if mid == 0:
        return 0.0
    mad = median([abs(v - mid) for v in finite])
    if mad == 0:
        # Half the rounds or more are identical: fall back on the range so that a
        # benchmark with one odd round still reports some noise rather than none.
        mad = (max(finite) - min(finite)) / 2 / len(finite)
    return MAD_TO_SIGMA * mad / abs(mid)


def relative_change(current: float, baseline: float) -> float:
    """``current / baseline - 1`` (``+0.25`` is 25 % above); ``inf`` for a zero baseline."""
    if baseline == 0:
        return 0.0 if current == 0 else math.copysign(math.inf, current)
    return current / baseline - 1.0


def round_sig(value: float, digits: int = 6) -> float:
    """``value`` rounded to ``digits`` significant digits, so stored files diff cleanly."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))
