"""Paired statistics for the gate: one log-ratio per pair, a t-test, family-wise control.

Base and head are measured in the same job, alternately (A B, B A, ...). Whatever the
machine does during one pair (another job on the cores, a slow disk) hits both sides of it,
so the ratio head/base of one pair carries far less noise than either figure alone. The
gate judges those ratios:

- per pair, ``d = ln(head / base)``, turned so that positive means *worse* in the
  metric's direction (for points/s, lower is worse; for latency, higher is worse);
- over the pairs, a one-sided Student t-test of "the head is worse" (mean of ``d`` > 0),
  and the geometric-mean change ``exp(mean ln ratio) - 1`` with its confidence interval;
- over all metrics of a run, a Benjamini-Hochberg (or Holm) adjustment of the p-values, so
  that a hundred metrics at 1 % each do not raise a false alarm in every other run.

Log-ratios make the test symmetric (a ratio of 2 and one of 1/2 are equally far from 1) and
scale-free, which is why the same rule fits points/s and milliseconds.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Literal

Direction = Literal["higher", "lower"]
Adjustment = Literal["bh", "holm"]
ADJUSTMENTS: tuple[Adjustment, ...] = ("bh", "holm")


def t_sf(t: float, dof: int) -> float:
    """P(T > t) for Student's t with ``dof`` degrees of freedom (scipy's survival function)."""
    from scipy import stats  # imported when a gate is judged, not when the plugin loads

    return float(stats.t.sf(t, dof))


def t_quantile(q: float, dof: int) -> float:
    """The ``q`` quantile of Student's t with ``dof`` degrees of freedom."""
    from scipy import stats

    return float(stats.t.ppf(q, dof))


def worse_log_ratios(base: Sequence[float], head: Sequence[float],
                     direction: Direction) -> list[float]:
    """``ln(head/base)`` per pair, signed so that a positive value means the head is worse.

    Pairs where either side is missing, zero, negative or not finite are left out: a log
    ratio needs two positive figures.
    """
    if len(base) != len(head):
        raise ValueError(f"pairs must line up: {len(base)} base values, {len(head)} head")
    sign = -1.0 if direction == "higher" else 1.0
    out = []
    for b, h in zip(base, head, strict=True):
        if _positive(b) and _positive(h):
            out.append(sign * math.log(h / b))
    return out


def _positive(value: float | None) -> bool:
    return value is not None and math.isfinite(value) and value > 0


@dataclasses.dataclass(frozen=True)
class PairedTest:
    """The paired comparison of one metric (or the run's throughput index).

    ``change`` is the geometric-mean relative change head/base - 1 (``-0.11``: the head is
    11 % lower); ``low``/``high`` bound it at ``level`` confidence; ``p_worse`` and
    ``p_better`` are the one-sided p-values of the head being worse or better.
    """

    pairs: int
    change: float
    low: float
    high: float
    p_worse: float
    p_better: float
    pair_sd: float
    level: float


def paired_test(worse: Sequence[float], direction: Direction, *,
                level: float = 0.95) -> PairedTest | None:
    """One-sided t-tests and a ``level`` interval from worse-signed log-ratios.

    Returns None with fewer than two pairs (no spread can be seen). With no spread at all
    (every pair gave the same ratio), the p-value is 0 or 1 on the side the ratio points
    and 0.5 for no change: identical pairs are as sure as a measurement gets.
    """
    n = len(worse)
    if n < 2:
        return None
    mean = math.fsum(worse) / n
    sd = math.sqrt(math.fsum((w - mean) ** 2 for w in worse) / (n - 1))
    # Below 1e-12 the spread is rounding: every pair gave the same ratio.
    se = sd / math.sqrt(n) if sd > 1e-12 else 0.0
    if se == 0.0:
        p_worse = 0.0 if mean > 0 else 1.0 if mean < 0 else 0.5
        half = 0.0
    else:
        p_worse = t_sf(mean / se, n - 1)
        half = t_quantile(0.5 + level / 2, n - 1) * se
    p_better = 1.0 - p_worse if se else (0.0 if mean < 0 else 1.0 if mean > 0 else 0.5)
    # Back to head/base in the metric's own terms: worse-signed means are flipped for
    # "higher" metrics, where a worse head has a lower figure.
    sign = -1.0 if direction == "higher" else 1.0
    ends = sorted((math.exp(sign * (mean - half)) - 1.0, math.exp(sign * (mean + half)) - 1.0))
    return PairedTest(pairs=n, change=math.exp(sign * mean) - 1.0, low=ends[0], high=ends[1],
                      p_worse=p_worse, p_better=p_better, pair_sd=sd, level=level)


def adjust(p_values: Sequence[float], method: Adjustment = "bh") -> list[float]:
    """Adjusted p-values, in the input order, for a family of tests.

    ``bh``: Benjamini-Hochberg step-up (controls the false discovery rate; under "no change
    anywhere", as in an A/A run, that is the chance of any false alarm). ``holm``: Holm's
    step-down (controls the family-wise error rate under any dependence; stricter).
    A metric is significant at level ``alpha`` when its adjusted p-value is <= ``alpha``.
    """
    m = len(p_values)
    if m == 0:
        return []
    for p in p_values:
        if not 0.0 <= p <= 1.0 or math.isnan(p):
            raise ValueError(f"a p-value lies in [0, 1], not {p!r}")
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    if method == "bh":
        running = 1.0
        for rank in range(m, 0, -1):  # from the largest p down: a running minimum
            i = order[rank - 1]
            running = min(running, p_values[i] * m / rank)
            adjusted[i] = running
    elif method == "holm":
        running = 0.0
        for rank, i in enumerate(order):  # from the smallest p up: a running maximum
            running = max(running, min(1.0, (m - rank) * p_values[i]))
            adjusted[i] = running
    else:
        raise ValueError(f"adjustment is one of {ADJUSTMENTS}, not {method!r}")
    return adjusted


def drift_cancelling_order(pairs: int) -> list[tuple[int, str]]:
    """The run order of ``pairs`` pairs: A B, B A, A B, ... as (pair index, side).

    Alternating which side goes first makes a steady drift (the machine warming up, a
    background job winding down) add as much to the head's runs as to the base's.
    """
    if pairs < 1:
        raise ValueError(f"a gate needs at least one pair, not {pairs}")
    order: list[tuple[int, str]] = []
    for i in range(pairs):
        sides = ("base", "head") if i % 2 == 0 else ("head", "base")
        order.extend((i, side) for side in sides)
    return order
