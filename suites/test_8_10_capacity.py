"""Guide 8.10, capacity planning: the hardware sizing table as a verdict on the write rate
this machine sustains, and the guide's capacity formula computed right.

The sustained rate is the best-practice configuration of 8.2 (batches of 5,000, 2 writers:
this machine's core count, pooled connections) held for ``scale.sustained_s`` seconds,
each pass of the series into a fresh database. The sizing claims name boxes with 4 to 32+
cores; a rate short of one on a smaller machine is ``weaker``, never ``contradicted``.
"""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from suitekit import check_write, fresh_write, record_resources

pytestmark = pytest.mark.influx_bench(group="8.10 capacity")

MAX_PASSES = 200  # a bound on the loop whatever the rate


@pytest.mark.parametrize("shape", ["simple", "cpu-only"])
def test_sustained_write_rate(shape: str, influxdb: Any, series_factory: Any, influx_bench: Any,
                              scale: Any, seed: int) -> None:
    """Points/s sustained over ``scale.sustained_s`` s; judged against Small (10K),
    Medium (50K), Large (200K) and Clustered (500K+) deployments.

    The guide does not say what a point is: ``simple`` is its own benchmark line (one
    field), ``cpu-only`` TSBS's (ten tags, ten fields); both are judged, each labelled."""
    from pytest_influxperf.harness import Writer

    series = series_factory(shape, hosts=10, points=scale.write_points, seed=seed)
    writer = Writer(influxdb)

    def measure() -> float:
        points, elapsed, passes, began = 0, 0.0, 0, time.perf_counter()
        while passes < MAX_PASSES and time.perf_counter() - began < scale.sustained_s:
            result = check_write(fresh_write(influxdb, writer, series, batch_size=5000,
                                             workers=2))
            influx_bench.record_write(result, prefix="pass")
            points, elapsed, passes = points + result.points_accepted, elapsed + result.elapsed_s, \
                passes + 1
        rate = points / elapsed
        influx_bench.metric("sustained points/s", rate, unit="points/s", direction="higher")
        influx_bench.info("passes", passes)
        influx_bench.info("points", points)
        return rate

    rate = influx_bench.measure(measure)
    cores = len(os.sched_getaffinity(0))
    detail = f"{shape} points, {scale.sustained_s:g} s on {cores} cores"
    for claim in ("8.10/small", "8.10/medium", "8.10/large", "8.10/clustered",
                  "8.1/write-throughput"):
        influx_bench.claim(claim, rate, detail=detail)
    record_resources(influx_bench, influxdb)


def test_capacity_formula(influx_bench: Any, influxdb: Any) -> None:
    """The guide's example (1,000 points/s, 200 B, 90 days, 7x) computed right, and each
    printed line it does not follow from its formula (recorded as info, not as a claim:
    arithmetic is not a measurement)."""
    from pytest_influxperf.capacity import GB, GIB, GUIDE_EXAMPLE, check_guide_example, estimate

    est = estimate(**GUIDE_EXAMPLE)
    for label, value in est.figures():
        influx_bench.info(f"{label} GB", round(value / GB, 2))
        influx_bench.info(f"{label} GiB", round(value / GIB, 2))
    wrong = [line for line in check_guide_example() if not line.follows]
    for line in wrong:
        influx_bench.info(f"guide misprint: {line.label}", line.describe())
    assert [line.label for line in wrong] == ["Raw data per day", "Total storage needed",
                                              "With overhead (20%)", "Recommended provision"]
    record_resources(influx_bench, influxdb)
