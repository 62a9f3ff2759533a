"""The merge gate: each metric against its baseline, in its direction, within its noise.

Tolerance. A fixed percentage raises false alarms on shared runners, because their noise
differs from metric to metric and machine to machine. Here each metric's tolerance is the
larger of a floor (``--influx-tolerance``, the marker's ``tolerance=``, or the metric's
own) and ``NOISE_FACTOR`` × the relative noise the *baseline* showed: the larger of its
spread across rounds within a run and across the runs saved for the same build (a standard
deviation over the median, see ``stats.relative_spread``), shrunk towards the pooled noise
of its family in the baseline as far as its own figure rests on few values
(:func:`tolerance_for`). A metric whose baseline scattered by 5 % therefore gets about
15 %, a steady one gets the floor.

Within-run rounds miss what hurts most on a shared machine: the load of other jobs that
changes from one run to the next. Saving the baseline two or three times from the same
commit records that run-to-run noise (``baseline.save_baseline``).

Confirm on fail lives in the session (it needs the recorder to measure again); this module
only judges figures and words the outcome.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Mapping

from .records import BenchmarkRecord, Metric
from .stats import median, relative_change, relative_spread

NOISE_FACTOR = 3.0

KINDS = ("pass", "regression", "improvement", "no-baseline", "env-mismatch", "error")

# Metric statuses: how one figure compared.
PASS, REGRESSION, IMPROVEMENT = "pass", "regression", "improvement"
NEW, MISSING, UNCONFIRMED, NOT_JUDGED = "new", "missing", "unconfirmed", "not judged"
#: A tail latency beyond its tolerance: shown with its change, never failing a test.
TAIL_REPORTED = "tail, not gated"

_TAIL = re.compile(r" (p9\d+|max)$")


def is_tail(name: str, unit: str) -> bool:
    """Tail latencies (p95, p99, p999, max) are reported beside the gate, not gated.

    At CI scale a tail percentile rests on a handful of requests: in this project's own
    runs (same build, quiet 2-core machine) p95/p99 moved +86 to +256 % between runs and
    stayed there on re-measure, while the median and the throughput of the same runs held.
    The median latency and the throughput carry the gate; the tails inform.
    """
    return unit == "ms" and bool(_TAIL.search(name))


def format_value(value: float | None) -> str:
    """``240000`` -> ``240,000``; ``12.345`` -> ``12.3``; ``0.01234`` -> ``0.0123``."""
    if value is None or not math.isfinite(value):
        return "-"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 100:
        return f"{value:.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}"


def format_percent(fraction: float | None, *, signed: bool = False) -> str:
    """``0.25`` -> ``25%`` (``+25%`` when signed); small ones keep a decimal."""
    if fraction is None or not math.isfinite(fraction):
        return "-"
    pct = fraction * 100
    text = f"{abs(pct):.1f}%" if abs(pct) < 10 else f"{abs(pct):.0f}%"
    if signed:
        return ("-" if pct < 0 else "+") + text
    return text


def with_unit(name: str, value: float | None, unit: str) -> str:
    """The value with its unit, unless the metric's name already ends with the unit."""
    text = format_value(value)
    return text if not unit or name.endswith(unit) else f"{text} {unit}"


def metric_noise(metric: Metric) -> float:
    """A baseline metric's own noise: the larger of its round and run spreads."""
    return max(metric.spread, metric.run_spread)


#: Weight (in degrees of freedom) of the baseline's pooled noise against a metric's own.
POOL_WEIGHT = 4


def family(metric: Metric) -> tuple[str, str]:
    """Metrics that share a direction and a unit share their kind of noise."""
    return metric.direction, metric.unit


def pooled_noise(benchmarks: Iterable[BenchmarkRecord]) -> dict[tuple[str, str], float]:
    """The baseline's typical noise per metric family (:func:`family`): the median own
    noise of the metrics that had two or more rounds or runs to show one.

    Two or three values say little about one metric, but a shared machine moves all the
    figures of a family alike, so the whole baseline estimates their noise far better.
    """
    by_family: dict[tuple[str, str], list[float]] = {}
    for record in benchmarks:
        for metric in record.metrics.values():
            if _dof(metric) > 0:
                by_family.setdefault(family(metric), []).append(metric_noise(metric))
    return {f: median(values) for f, values in by_family.items()}


def _dof(metric: Metric) -> int:
    return max(len(metric.rounds), len(metric.runs)) - 1


def tolerance_for(baseline: Metric, floor: float, pooled: float | None = None) -> float:
    """The tolerance one metric gets: max(floor, NOISE_FACTOR × noise).

    The noise is the metric's own (rounds, runs), shrunk towards the pooled noise of its
    family in proportion to how little it saw: own and pooled variances weighted by the
    own degrees of freedom and :data:`POOL_WEIGHT`. A metric measured once gets the pooled
    noise; one with many runs keeps nearly its own.
    """
    own, dof = metric_noise(baseline), _dof(baseline)
    if pooled is None:
        return max(floor, NOISE_FACTOR * own)
    # x * x, not x ** 2: a float product overflows to inf, a power raises OverflowError
    # (a baseline whose rounds span 1e-100 to 1e100 has a noise of 1e200)
    noise = math.sqrt((dof * own * own + POOL_WEIGHT * pooled * pooled) / (dof + POOL_WEIGHT))
    return max(floor, NOISE_FACTOR * noise)


def is_worse(change: float, direction: str, tolerance: float) -> bool:
    """Whether ``change`` (current/baseline - 1) is a regression beyond ``tolerance``."""
    return change < -tolerance if direction == "higher" else change > tolerance


def is_better(change: float, direction: str, tolerance: float) -> bool:
    """Whether ``change`` is an improvement beyond ``tolerance``."""
    return is_worse(-change, direction, tolerance)


@dataclasses.dataclass
class MetricComparison:
    """How one metric compared with its baseline."""

    name: str
    unit: str
    direction: str
    current: float | None
    baseline: float | None
    change: float | None = None
    tolerance: float | None = None
    status: str = NOT_JUDGED
    remeasured: float | None = None
    remeasured_change: float | None = None

    def sentence(self, tier: str) -> str:
        """The verdict as a sentence, e.g. ``write points/s 180,000 is 25% below baseline
        240,000 on tier X (tolerance 12%)``."""
        if self.baseline is None or self.change is None:
            return f"{self.name} {with_unit(self.name, self.current, self.unit)} ({self.status})"
        way = "below" if self.change < 0 else "above"
        text = (f"{self.name} {with_unit(self.name, self.current, self.unit)} is "
                f"{format_percent(self.change)} {way} baseline "
                f"{with_unit(self.name, self.baseline, self.unit)} on tier {tier} "
                f"(tolerance {format_percent(self.tolerance)})")
        if self.remeasured is not None:
            text += (f"; re-measured {with_unit(self.name, self.remeasured, self.unit)} "
                     f"({format_percent(self.remeasured_change, signed=True)})")
        return text

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def compare_metric(current: Metric, baseline: Metric, floor: float,
                   pooled: float | None = None) -> MetricComparison:
    """Judge one metric: ``pass``, ``regression`` or ``improvement``."""
    if current.tolerance is not None:
        floor = current.tolerance
    tolerance = tolerance_for(baseline, floor, pooled)
    change = relative_change(current.value, baseline.value)
    status = PASS
    if is_worse(change, current.direction, tolerance):
        status = REGRESSION
    elif is_better(change, current.direction, tolerance):
        status = IMPROVEMENT
    if status != PASS and is_tail(current.name, current.unit):
        status = TAIL_REPORTED
    return MetricComparison(current.name, current.unit, current.direction, current.value,
                            baseline.value, change, tolerance, status)


def compare_records(current: BenchmarkRecord, baseline: BenchmarkRecord, floor: float,
                    pooled: Mapping[tuple[str, str], float] | None = None,
                    ) -> list[MetricComparison]:
    """Every metric of ``current`` against ``baseline``; new and missing ones are listed too.

    ``pooled`` is :func:`pooled_noise` of the whole baseline the entry belongs to.
    """
    pooled = pooled or {}
    out = []
    for name, metric in sorted(current.metrics.items()):
        base = baseline.metrics.get(name)
        if base is None:
            out.append(MetricComparison(name, metric.unit, metric.direction, metric.value,
                                        None, status=NEW))
        elif base.direction != metric.direction:
            # A metric that changed meaning cannot be judged against its old figure.
            out.append(MetricComparison(name, metric.unit, metric.direction, metric.value,
                                        base.value, status=NOT_JUDGED))
        else:
            out.append(compare_metric(metric, base, floor, pooled.get(family(base))))
    for name, base in sorted(baseline.metrics.items()):
        if name not in current.metrics:
            out.append(MetricComparison(name, base.unit, base.direction, None, base.value,
                                        status=MISSING))
    return out


def not_judged(current: BenchmarkRecord,
               baseline: BenchmarkRecord | None) -> list[MetricComparison]:
    """The figures side by side, without a verdict (no baseline, environment mismatch)."""
    out = []
    for name, metric in sorted(current.metrics.items()):
        base = baseline.metrics.get(name) if baseline else None
        change = relative_change(metric.value, base.value) if base else None
        out.append(MetricComparison(name, metric.unit, metric.direction, metric.value,
                                    base.value if base else None, change, None, NOT_JUDGED))
    return out


@dataclasses.dataclass
class Outcome:
    """What ``finish_test`` returns: ``kind`` (one of :data:`KINDS`) and a readable message."""

    kind: str
    message: str
    comparisons: list[MetricComparison] = dataclasses.field(default_factory=list)
    tier: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"outcome kind must be one of {KINDS}, not {self.kind!r}")

    @property
    def is_regression(self) -> bool:
        return self.kind == "regression"

    def to_dict(self) -> dict[str, object]:
        return {"kind": self.kind, "message": self.message}


def outcome_from(comparisons: list[MetricComparison], tier: str) -> Outcome:
    """Word the outcome of judged comparisons: regression > improvement > pass."""
    regressed = [c for c in comparisons if c.status == REGRESSION]
    if regressed:
        return Outcome("regression", "; ".join(c.sentence(tier) for c in regressed),
                       comparisons, tier)
    # A metric that vanished may hide a regression; a new one is only in the table.
    notes = [f"{c.name} missing (in the baseline, not measured now)"
             for c in comparisons if c.status == MISSING]
    unconfirmed = [c for c in comparisons if c.status == UNCONFIRMED]
    if unconfirmed:
        notes.append("not confirmed on re-measure: "
                     + "; ".join(c.sentence(tier) for c in unconfirmed))
    improved = [c for c in comparisons if c.status == IMPROVEMENT]
    if improved:
        text = "; ".join(c.sentence(tier) for c in improved)
        text += " - an improvement: save a new baseline with --influx-save-baseline to keep it"
        return Outcome("improvement", "; ".join([text, *notes]), comparisons, tier)
    judged = sum(c.status in (PASS, UNCONFIRMED) for c in comparisons)
    text = f"{judged} metric(s) within tolerance of the baseline on tier {tier}"
    return Outcome("pass", "; ".join([text, *notes]), comparisons, tier)


# -- the throughput index: one figure for the whole run --------------------------------
INDEX_NAME = "throughput index"
_JUDGED = (PASS, REGRESSION, IMPROVEMENT, UNCONFIRMED)


def is_throughput(name: str, unit: str, direction: str) -> bool:
    """Rates where higher is better (points/s, queries/s) make up the throughput index."""
    return direction == "higher" and unit.endswith("/s")


def _geomean_change(ratios: Iterable[float]) -> float:
    """The geometric mean of ``ratios``, minus 1 (NaN when none can be averaged).

    Only positive, finite ratios have a logarithm. A validated baseline holds no zero or
    negative figure, but a benchmark may record one now; it is left out here rather than
    end the session with "math domain error" before its summary.
    """
    logs = [math.log(r) for r in ratios if math.isfinite(r) and r > 0]
    if not logs:
        return math.nan
    try:
        return math.exp(math.fsum(logs) / len(logs)) - 1.0
    except OverflowError:  # ratios near the float limit, e.g. against a 1e-300 baseline
        return math.inf


def saved_run_indices(benchmarks: Iterable[BenchmarkRecord]) -> list[float]:
    """The index of each saved run against the baseline's values (empty: one run saved).

    Runs are aligned from the most recent: every save appends one value to every metric.
    """
    series = [m for r in benchmarks for m in r.metrics.values()
              if is_throughput(m.name, m.unit, m.direction) and len(m.runs) >= 2 and m.value > 0]
    if not series:
        return []
    count = min(len(m.runs) for m in series)
    return [_geomean_change([m.runs[i - count] / m.value for m in series if m.runs[i - count] > 0])
            for i in range(count)]


def judge_index(comparisons: Iterable[MetricComparison], benchmarks: Iterable[BenchmarkRecord],
                floor: float, tier: str) -> Outcome | None:
    """Judge the geometric mean change of every judged throughput metric of the run
    (reported beside the per-test gate; see ``BenchSession.run_outcome``).

    One metric's throughput swings with the machine's load; a change that slows the
    server (half the CPU, a costlier write path) moves all of them, and their mean is far
    steadier than any one. Its tolerance: max(floor, NOISE_FACTOR × the spread of the same
    index over the baseline's saved runs, or the pooled throughput noise with one run).
    """
    benchmarks = list(benchmarks)
    ratios = [c.current / c.baseline for c in comparisons
              if c.status in _JUDGED and is_throughput(c.name, c.unit, c.direction)
              and c.current is not None and c.current > 0
              and c.baseline is not None and c.baseline > 0]
    ratios = [r for r in ratios if math.isfinite(r)]
    if len(ratios) < 2:
        return None
    runs = saved_run_indices(benchmarks)
    if len(runs) >= 2:
        noise = relative_spread([1.0 + x for x in runs])
    else:
        noise = max((v for (d, u), v in pooled_noise(benchmarks).items()
                     if is_throughput("", u, d)), default=0.0)
    comparison = MetricComparison(INDEX_NAME, "", "higher", 1.0 + _geomean_change(ratios), 1.0,
                                  _geomean_change(ratios), max(floor, NOISE_FACTOR * noise))
    change, tolerance = comparison.change or 0.0, comparison.tolerance or 0.0
    comparison.status = (REGRESSION if is_worse(change, "higher", tolerance) else
                         IMPROVEMENT if is_better(change, "higher", tolerance) else PASS)
    what = (f"{INDEX_NAME} (geometric mean of {len(ratios)} throughput metrics) is "
            f"{format_percent(change)} {'below' if change < 0 else 'above'} the baseline on "
            f"tier {tier} (tolerance {format_percent(tolerance)})")
    kind = {REGRESSION: "regression", IMPROVEMENT: "improvement"}.get(comparison.status, "pass")
    return Outcome(kind, what, [comparison], tier)
