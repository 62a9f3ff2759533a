"""Guide 8.4, the query profiler: its three queries (simple, aggregation, complex), timed
as its ``QueryProfiler.profile_query`` times them (5 runs: avg, min, max, size, rows, rows/s),
and judged against the latency bands of 8.1.

InfluxQL renderings of the guide's SQL: ``date_bin`` is ``GROUP BY time``, ``AVG`` is
``MEAN``, ``APPROX_PERCENTILE`` is the exact ``PERCENTILE``, and ``HAVING`` is a subquery
with an outer ``WHERE``. InfluxQL cannot ``ORDER BY`` a field: the complex query's rows come
back by host, not by ``avg_cpu`` (the guide's ordering is not timed here).
"""

from __future__ import annotations

from typing import Any

import pytest
from suitekit import DAY_NS, HOUR_NS, record_resources

pytestmark = pytest.mark.influx_bench(group="8.4 query profiler")

PROFILES = {
    "simple": (lambda ds: f'SELECT * FROM "cpu" WHERE {ds.where(HOUR_NS)} LIMIT 1000',
               "8.1/simple-query"),
    "aggregation": (lambda ds: f'SELECT MEAN("usage_user") AS "avg_cpu" FROM "cpu" WHERE '
                               f'{ds.where(DAY_NS)} GROUP BY time(5m), "{ds.host_key}"',
                    "8.1/aggregation-query"),
    "complex": (lambda ds: 'SELECT * FROM (SELECT MEAN("usage_user") AS "avg_cpu", '
                           'MAX("usage_user") AS "max_cpu", PERCENTILE("usage_user", 95) AS '
                           f'"p95_cpu" FROM "cpu" WHERE {ds.where(7 * DAY_NS)} GROUP BY '
                           f'"{ds.host_key}") WHERE "avg_cpu" > 50',
                "8.1/complex-query"),
}


@pytest.mark.parametrize("name", list(PROFILES))
def test_profile(name: str, query_dataset: Any, influx_query: Any, influx_bench: Any,
                 influxdb: Any, scale: Any) -> None:
    """One of the profiler's queries: latency percentiles, bytes, rows and rows/s."""
    render, claim = PROFILES[name]
    text = render(query_dataset)
    result = influx_bench.measure(lambda: _profile(influx_bench, influx_query, text,
                                                   query_dataset.database, scale.query_rounds))
    lat = result.latency_ms
    influx_bench.info("query", text)
    influx_bench.info("avg ms", round(lat.mean, 3))
    influx_bench.info("min ms", round(lat.min, 3))
    influx_bench.info("max ms", round(lat.max, 3))
    influx_bench.info("rows/s", round(result.rows / (lat.mean / 1000)) if lat.mean else None)
    assert result.consistent, "the same query answered differently between runs"
    influx_bench.claim(claim, lat.p50,
                       detail=f"{result.rows:,} rows, {result.bytes:,} bytes, {result.runs} "
                              f"runs, {query_dataset.points:,} points")
    record_resources(influx_bench, influxdb)


def _profile(bench: Any, runner: Any, text: str, database: str, runs: int) -> Any:
    result = runner.run(text, database=database, runs=runs, warmup=1)
    bench.record_query(result)
    return result
