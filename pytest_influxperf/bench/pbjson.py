"""Our results as pytest-benchmark JSON entries, so tools built on its file keep working.

pytest-benchmark's entries describe *seconds per operation* (``stats.mean``) and
operations per second (``stats.ops``). Each gated metric that can be read that way becomes
one entry: a rate such as ``points/s`` becomes seconds per point (so ``ops`` is the
points/s figure again), a latency in ``ms`` becomes seconds. Metrics in other units stay
in ``extra_info`` only. Our own figures (value, unit, baseline, change, outcome, tier) are
in ``extra_info["influxperf"]`` of every entry.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .report import short_name

if TYPE_CHECKING:
    from .session import TestResult

_TIME_UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6, "ns": 1e-9}


def seconds_per_op(value: float, unit: str) -> float | None:
    """A metric round as seconds per operation, or None when its unit is no time or rate."""
    if unit in _TIME_UNITS:
        return value * _TIME_UNITS[unit]
    if unit.endswith("/s") and value > 0:
        return 1.0 / value
    return None


def _stats(data: Sequence[float]) -> dict[str, Any]:
    from pytest_benchmark.stats import Stats

    stats = Stats()
    for duration in data:
        stats.update(duration)
    out = stats.as_dict()
    out.update(data=list(data), iterations=1)
    return out


def entries(results: Sequence[TestResult], tier: str) -> list[dict[str, Any]]:
    """pytest-benchmark ``benchmarks`` entries for every time- or rate-like metric."""
    out = []
    for result in results:
        record = result.record
        by_name = {c.name: c for c in result.outcome.comparisons}
        for name, metric in sorted(record.metrics.items()):
            data = [seconds_per_op(r, metric.unit) for r in metric.rounds or [metric.value]]
            if any(d is None or d <= 0 for d in data):
                continue
            comparison = by_name.get(name)
            extra = {"metric": name, "value": metric.value, "unit": metric.unit,
                     "direction": metric.direction, "rounds": metric.rounds, "tier": tier,
                     "outcome": result.outcome.kind,
                     "baseline": comparison.baseline if comparison else None,
                     "change": comparison.change if comparison else None,
                     "info": record.to_dict()["info"]}
            out.append({"group": record.group, "name": f"{short_name(record.nodeid)}[{name}]",
                        "fullname": f"{record.nodeid}[{name}]", "params": None, "param": None,
                        "extra_info": {"influxperf": extra},
                        "options": {"source": "pytest-influxperf"},
                        "stats": _stats([d for d in data if d is not None])})
    return out
