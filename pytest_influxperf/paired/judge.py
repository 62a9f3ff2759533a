"""The paired gate's verdict: every metric, the run's throughput index, and broken tests.

A metric is a **regression** only when both hold:

1. its geometric-mean change over the pairs is worse than the threshold (``--threshold``,
   5 % by default), so that a real but negligible difference does not fail a build; and
2. its one-sided p-value of "the head is worse", adjusted over the whole family of gated
   metrics (Benjamini-Hochberg by default, Holm on request), is at most ``alpha``: the pairs
   themselves show the change is beyond their noise. The t-test is *moderated* (Smyth
   2004, limma): each metric's pair-to-pair variance is shrunk towards the variances of
   its family (same unit and direction) as far as they look alike, because five pairs
   alone give a variance on 4 degrees of freedom, too few to survive a family of eighty.

The **throughput index** (geometric mean of every throughput metric's head/base ratio, per
pair) is the run's primary figure: a change that slows the server moves all throughputs,
and their mean is far steadier than any one. It is one pre-declared test, not one of a
family, so it is tested on its own at ``index_alpha`` (0.05 by default) with the same
threshold; the threshold keeps its false alarms rare (an A/A index must also *look* 5 %
worse, which at the noise measured here is itself a 1-2 % event).

Tail latencies (p95, p99, p999, max) are reported with their change, never gated: at CI
scale they rest on a handful of requests. A test that passes on every base run and fails on
a head run is **broken by the head**: a functional failure, judged apart from speed.
"""

from __future__ import annotations

import dataclasses
import math
import statistics
from collections.abc import Iterable, Sequence
from typing import Literal, cast

from ..bench.gate import is_tail, is_throughput
from .runs import MetricKey, MetricValue, RunResult
from .stats import (
    Adjustment,
    Direction,
    PairedTest,
    VariancePrior,
    adjust,
    fit_variance_prior,
    paired_test,
    sample_variance,
    worse_log_ratios,
)

Status = Literal["regression", "improvement", "pass", "tail", "not judged", "added",
                 "removed"]

TestStatus = Literal["broken by head", "fixed by head", "failing on both", "added", "removed"]

INDEX_NAME = "throughput index"


@dataclasses.dataclass(frozen=True)
class GateSettings:
    """How the gate judges: a change must pass ``threshold`` and be significant at
    ``alpha`` after ``adjustment`` over the family; intervals are shown at ``level``."""

    threshold: float = 0.05
    alpha: float = 0.01
    index_alpha: float = 0.05
    adjustment: Adjustment = "bh"
    level: float = 0.95
    #: Moderated t-tests: each metric's variance shrunk towards its family's (limma).
    moderate: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.threshold < 1.0:
            raise ValueError(f"threshold is a fraction in [0, 1), such as 0.05, not "
                             f"{self.threshold!r}")
        for name, value in (("alpha", self.alpha), ("index_alpha", self.index_alpha)):
            if not 0.0 < value < 0.5:
                raise ValueError(f"{name} is a significance level in (0, 0.5), such as 0.01, "
                                 f"not {value!r}")
        if self.adjustment not in ("bh", "holm"):
            raise ValueError(f"adjustment is 'bh' or 'holm', not {self.adjustment!r}")
        if not 0.5 <= self.level < 1.0:
            raise ValueError(f"level is a confidence in [0.5, 1), not {self.level!r}")


@dataclasses.dataclass
class MetricVerdict:
    """One metric (or the index) judged over the pairs."""

    benchmark: str
    metric: str
    unit: str
    direction: str
    base: float | None
    head: float | None
    test: PairedTest | None = None
    p_adjusted: float | None = None
    status: Status = "not judged"

    @property
    def change(self) -> float | None:
        return self.test.change if self.test else None

    def to_dict(self) -> dict[str, object]:
        test = self.test
        return {"benchmark": self.benchmark, "metric": self.metric, "unit": self.unit,
                "direction": self.direction, "base": self.base, "head": self.head,
                "change": test.change if test else None, "low": test.low if test else None,
                "high": test.high if test else None, "pairs": test.pairs if test else 0,
                "p_worse": test.p_worse if test else None, "p_adjusted": self.p_adjusted,
                "pair_sd": test.pair_sd if test else None, "status": self.status}


@dataclasses.dataclass
class TestVerdict:
    """A test whose outcome differs between the sides, or that exists on one side only."""

    test: str
    status: TestStatus
    base_failed: int
    base_runs: int
    head_failed: int
    head_runs: int

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


@dataclasses.dataclass
class GateVerdict:
    """Everything the gate decided, and the exit code that follows from it."""

    settings: GateSettings
    pairs: int
    metrics: list[MetricVerdict]
    index: MetricVerdict | None
    tests: list[TestVerdict]

    @property
    def regressions(self) -> list[MetricVerdict]:
        found = [m for m in self.metrics if m.status == "regression"]
        if self.index is not None and self.index.status == "regression":
            found.insert(0, self.index)
        return found

    @property
    def broken(self) -> list[TestVerdict]:
        return [t for t in self.tests if t.status == "broken by head"]

    @property
    def failed(self) -> bool:
        return bool(self.regressions or self.broken)

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for m in self.metrics:
            out[m.status] = out.get(m.status, 0) + 1
        return out

    def headline(self) -> str:
        """One line: the verdict and why."""
        if self.failed:
            parts = [f"{len(self.regressions)} regression(s)"] if self.regressions else []
            if self.broken:
                parts.append(f"{len(self.broken)} test(s) broken by the head")
            return f"gate FAILED over {self.pairs} pairs: " + ", ".join(parts)
        judged = sum(m.status in ("pass", "improvement", "regression") for m in self.metrics)
        return (f"gate passed over {self.pairs} pairs: {judged} metric(s) judged, none worse "
                f"than {self.settings.threshold:.0%} beyond the noise of the pairs")


def judge(pairs: Sequence[tuple[RunResult, RunResult]],
          settings: GateSettings | None = None) -> GateVerdict:
    """Judge ``pairs`` of (base run, head run); see the module docstring for the rule."""
    settings = settings or GateSettings()
    if not pairs:
        raise ValueError("the gate needs at least one pair of runs")
    bases = [b for b, _ in pairs]
    heads = [h for _, h in pairs]
    metrics = _judge_metrics(bases, heads, settings)
    index = _judge_index(bases, heads, settings)
    return GateVerdict(settings, len(pairs), metrics, index, judge_tests(bases, heads))


def _values(runs: Sequence[RunResult], key: MetricKey) -> list[float | None]:
    return [r.metrics[key].value if key in r.metrics else None for r in runs]


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return float(statistics.median(present)) if present else None


def _first(runs: Sequence[RunResult], key: MetricKey) -> MetricValue | None:
    return next((r.metrics[key] for r in runs if key in r.metrics), None)


def _judge_metrics(bases: Sequence[RunResult], heads: Sequence[RunResult],
                   settings: GateSettings) -> list[MetricVerdict]:
    keys = sorted({k for r in [*bases, *heads] for k in r.metrics})
    verdicts: list[MetricVerdict] = []
    gated: list[tuple[MetricVerdict, list[float]]] = []
    for key in keys:
        base_vals, head_vals = _values(bases, key), _values(heads, key)
        base_meta, head_meta = _first(bases, key), _first(heads, key)
        meta = base_meta or head_meta
        assert meta is not None  # the key came from one of the runs
        verdict = MetricVerdict(key[0], key[1], meta.unit, meta.direction,
                                _median(base_vals), _median(head_vals))
        verdicts.append(verdict)
        if verdict.base is None or verdict.head is None:
            verdict.status = "added" if verdict.base is None else "removed"
            continue
        if base_meta is None or head_meta is None or base_meta.direction != head_meta.direction:
            continue  # a metric that changed meaning is shown, not judged
        ratios = worse_log_ratios(_filled(base_vals), _filled(head_vals), meta.direction)
        if len(ratios) < 2:
            continue
        if is_tail(key[1], meta.unit):
            verdict.test = paired_test(ratios, meta.direction, level=settings.level)
            verdict.status = "tail"
        else:
            gated.append((verdict, ratios))
    priors = family_priors(gated) if settings.moderate else {}
    for verdict, ratios in gated:
        verdict.test = paired_test(ratios, cast(Direction, verdict.direction),
                                   level=settings.level,
                                   prior=priors.get((verdict.direction, verdict.unit)))
    _decide([v for v, _ in gated], settings)
    return verdicts


def family_priors(gated: Sequence[tuple[MetricVerdict, list[float]]],
                  ) -> dict[tuple[str, str], VariancePrior]:
    """The variance prior of each family of metrics (same direction and unit): a shared
    machine moves the figures of one family alike, so they inform each other's noise."""
    samples: dict[tuple[str, str], list[tuple[float, int]]] = {}
    for verdict, ratios in gated:
        samples.setdefault((verdict.direction, verdict.unit), []).append(
            (sample_variance(ratios), len(ratios) - 1))
    out = {}
    for family, values in samples.items():
        prior = fit_variance_prior(values)
        if prior is not None:
            out[family] = prior
    return out


def _filled(values: Sequence[float | None]) -> list[float]:
    # worse_log_ratios skips non-positive figures; NaN marks a side that did not measure.
    return [math.nan if v is None else v for v in values]


def _worse_than_threshold(change: float, direction: str, threshold: float) -> bool:
    return change < -threshold if direction == "higher" else change > threshold


def _significant(change: float, direction: str, p_worse: float, p_better: float,
                 threshold: float, alpha: float) -> Literal["regression", "improvement"] | None:
    """The rule: a change past ``threshold`` in a direction whose p-value is <= ``alpha``."""
    if _worse_than_threshold(change, direction, threshold) and p_worse <= alpha:
        return "regression"
    if _worse_than_threshold(-change, direction, threshold) and p_better <= alpha:
        return "improvement"
    return None


def _decide(gated: list[MetricVerdict], settings: GateSettings) -> None:
    """Set each gated metric's status from its change and its family-adjusted p-value."""
    tests = [v.test for v in gated if v.test is not None]
    worse_adj = adjust([t.p_worse for t in tests], settings.adjustment)
    better_adj = adjust([t.p_better for t in tests], settings.adjustment)
    for verdict, p_worse, p_better in zip(gated, worse_adj, better_adj, strict=True):
        test = verdict.test
        assert test is not None
        kind = _significant(test.change, verdict.direction, p_worse, p_better,
                            settings.threshold, settings.alpha)
        if kind is not None:
            verdict.status = kind
            verdict.p_adjusted = p_worse if kind == "regression" else p_better
        else:
            verdict.status = "pass"
            points_worse = _worse_than_threshold(test.change, verdict.direction, 0.0)
            verdict.p_adjusted = p_worse if points_worse else p_better


def index_metrics(bases: Sequence[RunResult], heads: Sequence[RunResult]) -> list[MetricKey]:
    """The throughput metrics of the index: higher-is-better rates (points/s, queries/s),
    not tails, with a positive figure on both sides of every pair (so that each pair's index
    averages the same metrics)."""
    runs = [*bases, *heads]
    if not runs:
        return []
    common = set(runs[0].metrics).intersection(*(r.metrics for r in runs[1:]))
    return sorted(k for k in common
                  if is_throughput(k[1], runs[0].metrics[k].unit, runs[0].metrics[k].direction)
                  and not is_tail(k[1], runs[0].metrics[k].unit)
                  and all(r.metrics[k].value > 0 for r in runs))


def pair_indices(bases: Sequence[RunResult], heads: Sequence[RunResult],
                 keys: Sequence[MetricKey] | None = None) -> list[float]:
    """Per pair, the worse-signed mean log-ratio of the index metrics (positive: slower);
    ``keys``: :func:`index_metrics`, when the caller has them already."""
    keys = index_metrics(bases, heads) if keys is None else keys
    if not keys:
        return []
    return [-math.fsum(math.log(h.metrics[k].value / b.metrics[k].value) for k in keys)
            / len(keys) for b, h in zip(bases, heads, strict=True)]


def _judge_index(bases: Sequence[RunResult], heads: Sequence[RunResult],
                 settings: GateSettings) -> MetricVerdict | None:
    keys = index_metrics(bases, heads)
    if len(keys) < 2:
        return None
    test = paired_test(pair_indices(bases, heads, keys), "higher", level=settings.level)
    verdict = MetricVerdict("(run)", f"{INDEX_NAME} of {len(keys)} throughputs", "", "higher",
                            1.0, None if test is None else 1.0 + test.change, test)
    if test is None:
        return verdict
    kind = _significant(test.change, "higher", test.p_worse, test.p_better,
                        settings.threshold, settings.index_alpha)
    verdict.status = kind or "pass"
    verdict.p_adjusted = test.p_better if kind == "improvement" else test.p_worse
    return verdict


def judge_tests(bases: Sequence[RunResult], heads: Sequence[RunResult]) -> list[TestVerdict]:
    """Tests whose outcome differs between the sides, or that exist on one side only.

    Broken by the head: passed in every base run that ran it and failed in at least one
    head run. Skips count as neither (a skip is the test's own choice).
    """
    names = sorted({t for r in [*bases, *heads] for t in r.outcomes})
    out = []
    for name in names:
        b_ran = [r.outcomes[name] for r in bases if name in r.outcomes]
        h_ran = [r.outcomes[name] for r in heads if name in r.outcomes]
        b_failed, h_failed = b_ran.count("failed"), h_ran.count("failed")
        status: TestStatus | None = None
        if not b_ran:
            status = "added"
        elif not h_ran:
            status = "removed"
        elif h_failed and not b_failed:
            status = "broken by head"
        elif b_failed and not h_failed:
            status = "fixed by head"
        elif b_failed and h_failed:
            status = "failing on both"
        if status is not None:
            out.append(TestVerdict(name, status, b_failed, len(b_ran), h_failed, len(h_ran)))
    return out
