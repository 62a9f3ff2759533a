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


#: Expected range of n normal samples in standard deviations (d2 of quality control):
#: range / d2(n) estimates sigma, and for 2 to 10 samples it is steadier than the MAD,
#: which for three rounds is simply the smaller of two deviations.
RANGE_TO_SIGMA = {2: 1.128, 3: 1.693, 4: 2.059, 5: 2.326, 6: 2.534, 7: 2.704, 8: 2.847,
                  9: 2.970, 10: 3.078}


def relative_spread(values: Sequence[float]) -> float:
    """Relative noise of ``values``, a standard deviation over |median| (0.0 for < 2 values).

    Up to 10 values it is range / d2(n); beyond, 1.4826 × MAD, which one outlier cannot move.
    Example: rounds ``[100, 102, 98, 101, 99]`` give about 0.017 (1.7 % noise).
    """
    finite = [float(v) for v in values if math.isfinite(v)]
    if len(finite) < 2:
        return 0.0
    mid = median(finite)
    if mid == 0:
        return 0.0
    if len(finite) in RANGE_TO_SIGMA:
        return (max(finite) - min(finite)) / RANGE_TO_SIGMA[len(finite)] / abs(mid)
    mad = median([abs(v - mid) for v in finite])
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
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))
