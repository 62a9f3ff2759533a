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


def t_sf(t: float, dof: float) -> float:
    """P(T > t) for Student's t with ``dof`` degrees of freedom (scipy's survival function)."""
    from scipy import stats  # imported when a gate is judged, not when the plugin loads

    return float(stats.t.sf(t, dof))


def t_quantile(q: float, dof: float) -> float:
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
    #: Degrees of freedom of the test: pairs - 1, plus the prior's with a moderated test.
    dof: float = 0.0


#: Degrees of freedom beyond which t is taken as normal (a prior that says "all alike").
MAX_DOF = 1e6


@dataclasses.dataclass(frozen=True)
class VariancePrior:
    """What the other metrics of a family say about one metric's pair-to-pair variance:
    ``variance`` (s0²) worth ``dof`` (d0) degrees of freedom (Smyth 2004, limma)."""

    variance: float
    dof: float

    def moderate(self, variance: float, dof: int) -> tuple[float, float]:
        """The posterior variance and its degrees of freedom for a metric's own
        ``variance`` on ``dof`` degrees of freedom."""
        if self.dof >= MAX_DOF:
            return self.variance, MAX_DOF
        total = self.dof + dof
        return (self.dof * self.variance + dof * variance) / total, total


def fit_variance_prior(samples: Sequence[tuple[float, int]]) -> VariancePrior | None:
    """Fit a scaled inverse chi-square prior to the sample variances of a family of metrics
    (``(variance, dof)`` each), by the moments of their logarithms: limma's ``fitFDist``.

    With five pairs a metric's own variance rests on 4 degrees of freedom, and a t-test on
    4 dof needs t > 13 for p < 1e-4, which a family of 80 metrics asks of its smallest
    p-value: the plain test can hardly ever find a regression. The family's variances,
    pooled as far as they look alike (``dof`` large when they scatter no more than sampling
    explains, small when they differ), lend each metric the degrees of freedom it lacks.
    Returns None with fewer than three usable variances.
    """
    from scipy import optimize, special

    usable = [(v, d) for v, d in samples if v > 0 and math.isfinite(v) and d >= 1]
    if len(usable) < 3:
        return None
    e = [math.log(v) - float(special.digamma(d / 2)) + math.log(d / 2) for v, d in usable]
    mean = math.fsum(e) / len(e)
    spread = math.fsum((x - mean) ** 2 for x in e) / (len(e) - 1)
    excess = spread - math.fsum(float(special.polygamma(1, d / 2)) for _, d in usable) / len(e)
    if excess <= 0:
        return VariancePrior(math.exp(mean), MAX_DOF)

    def trigamma_gap(x: float) -> float:
        return float(special.polygamma(1, x)) - excess

    half_dof = optimize.brentq(trigamma_gap, 1e-8, 1e7)
    d0 = 2 * half_dof
    if d0 >= MAX_DOF:
        return VariancePrior(math.exp(mean), MAX_DOF)
    s0 = math.exp(mean + float(special.digamma(d0 / 2)) - math.log(d0 / 2))
    return VariancePrior(s0, d0)


def sample_variance(worse: Sequence[float]) -> float:
    """The sample variance of the pairs' log-ratios (0.0 for fewer than two)."""
    n = len(worse)
    if n < 2:
        return 0.0
    mean = math.fsum(worse) / n
    return math.fsum((w - mean) ** 2 for w in worse) / (n - 1)


def paired_test(worse: Sequence[float], direction: Direction, *,
                level: float = 0.95, prior: VariancePrior | None = None) -> PairedTest | None:
    """One-sided t-tests and a ``level`` interval from worse-signed log-ratios.

    With a ``prior`` (:func:`fit_variance_prior` of the metric's family) the test is
    moderated: the metric's variance is shrunk towards the family's, and the test has the
    prior's degrees of freedom on top of its own. Returns None with fewer than two pairs
    (no spread can be seen). Without a prior and with no spread at all (every pair gave the
    same ratio), the p-value is 0 or 1 on the side the ratio points and 0.5 for no change:
    identical pairs are as sure as a measurement gets.
    """
    n = len(worse)
    if n < 2:
        return None
    mean = math.fsum(worse) / n
    sd = math.sqrt(sample_variance(worse))
    # Below 1e-12 the spread is rounding: every pair gave the same ratio.
    variance, dof = (sd * sd if sd > 1e-12 else 0.0), float(n - 1)
    if prior is not None:
        variance, dof = prior.moderate(variance, n - 1)
    se = math.sqrt(variance / n)
    if se == 0.0:
        p_worse = 0.0 if mean > 0 else 1.0 if mean < 0 else 0.5
        half = 0.0
    else:
        p_worse = t_sf(mean / se, dof)
        half = t_quantile(0.5 + level / 2, dof) * se
    p_better = 1.0 - p_worse if se else (0.0 if mean < 0 else 1.0 if mean > 0 else 0.5)
    # Back to head/base in the metric's own terms: worse-signed means are flipped for
    # "higher" metrics, where a worse head has a lower figure.
    sign = -1.0 if direction == "higher" else 1.0
    ends = sorted((math.exp(sign * (mean - half)) - 1.0, math.exp(sign * (mean + half)) - 1.0))
    return PairedTest(pairs=n, change=math.exp(sign * mean) - 1.0, low=ends[0], high=ends[1],
                      p_worse=p_worse, p_better=p_better, pair_sd=sd, level=level, dof=dof)


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
