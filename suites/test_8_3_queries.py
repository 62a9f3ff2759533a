"""Guide 8.3 (and anti-patterns 2, 3 and 4 of 8.8), query optimization: each optimization
against its bad twin, interleaved on the session's TSBS cpu dataset.

The guide's queries are SQL for InfluxDB 3 (``now() - INTERVAL '1 hour'``); here they are
InfluxQL with absolute bounds at the end of the dataset (the data is TSBS's, dated 2016), so
"the last hour" is the dataset's last hour. InfluxQL has no ``date_bin``; ``GROUP BY
time(10s)`` is its equivalent and, like the guide's windows, yields one row per bucket.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections.abc import Callable
from typing import Any

import pytest
from suitekit import (DAY_NS, HOUR_NS, check_write, interleave, record_resources,
                      scratch_database, spread)

pytestmark = pytest.mark.influx_bench(group="8.3 queries")


@dataclasses.dataclass(frozen=True)
class Pair:
    """A good query and its bad twin; ``claims`` are judged on bad/good ratios."""

    good: Callable[[Any, int], str]    # (dataset, raw rows cap) -> InfluxQL
    bad: Callable[[Any, int], str]
    latency_claims: tuple[str, ...] = ()
    bytes_claims: tuple[str, ...] = ()
    window: tuple[str, int, str, str] | None = None   # (label, ns, bucket, rows claim)
    sides: tuple[str, str] = ("good", "bad")          # metric prefixes in the summary


def _host(ds: Any) -> str:
    return f"\"{ds.host_key}\" = '{ds.hosts[0]}'"


def _windowed(length: int, bucket: str) -> Callable[[Any, int], str]:
    return lambda ds, cap: (f'SELECT MEAN("usage_user") FROM "cpu" WHERE '
                            f"{ds.where(length, cap)} GROUP BY time({bucket})")


def _raw(length: int) -> Callable[[Any, int], str]:
    return lambda ds, cap: f'SELECT "usage_user" FROM "cpu" WHERE {ds.where(length, cap)}'


PAIRS: dict[str, Pair] = {
    # 8.3 optimization 1 / anti-pattern 2 / takeaway: one measurement, three claims
    "time-filter": Pair(
        good=lambda ds, cap: f'SELECT MEAN("usage_user") FROM "cpu" WHERE {_host(ds)} AND '
                             f"{ds.where(HOUR_NS)}",
        bad=lambda ds, cap: f'SELECT MEAN("usage_user") FROM "cpu" WHERE {_host(ds)}',
        latency_claims=("8.3/time-filter", "8.8/ap2-time-filter", "takeaway/time-filter"),
        sides=("last hour", "no time filter")),
    # 8.3 optimization 2: the last hour, 3 columns against all 21
    "projection-1h": Pair(
        good=lambda ds, cap: f'SELECT "usage_user", "{ds.host_key}" FROM "cpu" WHERE '
                             f"{ds.where(HOUR_NS, cap)}",
        bad=lambda ds, cap: f'SELECT * FROM "cpu" WHERE {ds.where(HOUR_NS, cap)}',
        bytes_claims=("8.3/projection",), sides=("3 columns", "SELECT *")),
    # anti-pattern 3: the same over 7 days
    "select-star-7d": Pair(
        good=lambda ds, cap: f'SELECT "usage_user", "{ds.host_key}" FROM "cpu" WHERE '
                             f"{ds.where(7 * DAY_NS, cap)}",
        bad=lambda ds, cap: f'SELECT * FROM "cpu" WHERE {ds.where(7 * DAY_NS, cap)}',
        latency_claims=("8.8/ap3-select-star",), bytes_claims=("8.8/ap3-bytes",),
        sides=("3 columns", "SELECT *")),
    # 8.3 optimization 4: the guide's adaptive windows against the raw points they sum up
    "window-1h": Pair(good=_windowed(HOUR_NS, "10s"), bad=_raw(HOUR_NS),
                      latency_claims=("8.3/window-1h-speedup",),
                      window=("1h", HOUR_NS, "10s", "8.3/window-1h-rows"),
                      sides=("10s windows", "raw points")),
    "window-24h": Pair(good=_windowed(DAY_NS, "5m"), bad=_raw(DAY_NS),
                       latency_claims=("8.3/window-24h-speedup",),
                       window=("24h", DAY_NS, "5m", "8.3/window-24h-rows"),
                      sides=("5m windows", "raw points")),
    "window-7d": Pair(good=_windowed(7 * DAY_NS, "1h"), bad=_raw(7 * DAY_NS),
                      latency_claims=("8.3/window-7d-speedup",),
                      window=("7d", 7 * DAY_NS, "1h", "8.3/window-7d-rows"),
                      sides=("1h windows", "raw points")),
}


def _run_pair(runner: Any, good: str, bad: str, database: str, rounds: int) -> dict[str, list]:
    """One warm-up each, then good, bad, good, bad... one timed run per turn."""
    def once(text: str) -> Callable[[], Any]:
        return lambda: runner.run(text, database=database, runs=1, warmup=0,
                                  sample_resources=False)

    once(good)()
    once(bad)()
    return interleave({"good": once(good), "bad": once(bad)}, rounds)


def _p50s(results: list[Any]) -> list[float]:
    return [r.latency_ms.p50 for r in results]


@pytest.fixture(scope="module")
def runner(influxdb: Any) -> Any:
    from pytest_influxperf.harness import QueryRunner

    return QueryRunner(influxdb)


@pytest.mark.parametrize("name", list(PAIRS))
def test_query_pair(name: str, query_dataset: Any, runner: Any, influx_bench: Any,
                    influxdb: Any, scale: Any) -> None:
    """Good against bad query, ABAB; latency and bytes of both, the guide's claims on
    their ratios."""
    pair, ds = PAIRS[name], query_dataset
    good, bad = pair.good(ds, scale.raw_rows_cap), pair.bad(ds, scale.raw_rows_cap)

    def measure() -> dict[str, list]:
        runs = _run_pair(runner, good, bad, ds.database, scale.query_rounds)
        return _record_pair(influx_bench, runs, pair.sides)

    runs = influx_bench.measure(measure)
    influx_bench.info("good query", good)
    influx_bench.info("bad query", bad)
    ratios = [b / g for b, g in zip(_p50s(runs["bad"]), _p50s(runs["good"]))]
    for claim in pair.latency_claims:
        influx_bench.claim(claim, statistics.median(ratios),
                           detail=f"p50 bad/good, {spread(ratios)}; {ds.points:,} points, "
                                  f"{runs['bad'][-1].rows:,} vs {runs['good'][-1].rows:,} rows")
    bytes_ratio = runs["bad"][-1].bytes / max(1, runs["good"][-1].bytes)
    influx_bench.info("bytes ratio bad/good", round(bytes_ratio, 3))
    for claim in pair.bytes_claims:
        influx_bench.claim(claim, bytes_ratio, detail=f"{runs['bad'][-1].bytes:,} vs "
                                                      f"{runs['good'][-1].bytes:,} bytes answered")
    if pair.window is not None:
        label, _length, bucket, rows_claim = pair.window
        rows = runs["good"][-1].rows
        influx_bench.claim(rows_claim, rows, detail=f"{label} at {bucket}: {rows} rows from "
                                                    f"{runs['bad'][-1].rows:,} raw points")
    record_resources(influx_bench, influxdb)


def test_aggregation_pushdown(query_dataset: Any, runner: Any, influx_bench: Any,
                              influxdb: Any, scale: Any) -> None:
    """8.3 optimization 3 / anti-pattern 4: the mean over the whole dataset (7 days at
    ``small``; the guide says 7 and 30 days) at the server against rows fetched and
    averaged in pandas. Both sides must give the same mean."""
    ds = query_dataset
    length = min(30 * DAY_NS, ds.end() - ds.first_ns)
    where = ds.where(length, scale.raw_rows_cap)
    server_q = f'SELECT MEAN("usage_user") FROM "cpu" WHERE {where}'
    raw_q = f'SELECT "usage_user" FROM "cpu" WHERE {where}'

    def server() -> Any:
        return runner.run(server_q, database=ds.database, runs=1, warmup=0,
                          sample_resources=False)

    def client() -> Any:
        return runner.client_side_aggregate(raw_q, "mean", "usage_user", database=ds.database,
                                            runs=1, warmup=0)

    def measure() -> dict[str, list]:
        runs = interleave({"server": server, "client": client}, scale.query_rounds)
        for result in runs["server"]:
            influx_bench.record_query(result, prefix="server-side")
        for result in runs["client"]:
            influx_bench.metric("client-side total p50", result.total_ms.p50, unit="ms",
                                direction="lower")
        return runs

    server(), client()  # warm-up, as every other pair
    runs = influx_bench.measure(measure)
    server_mean = runs["server"][-1].answer.rows[0]["mean"]
    client_mean = runs["client"][-1].value
    assert client_mean == pytest.approx(server_mean, rel=1e-9), \
        "client-side and server-side means differ: the comparison would be void"
    # the server side pays the same JSON parse as the client side: count it on both
    server_ms = [r.latency_ms.p50 + r.parse_ms.p50 for r in runs["server"]]
    client_ms = [r.total_ms.p50 for r in runs["client"]]
    ratios = [c / s for c, s in zip(client_ms, server_ms)]
    detail = (f"{runs['client'][-1].rows:,} rows ({runs['client'][-1].bytes:,} bytes) over "
              f"{length / DAY_NS:.1f} days vs 1 row; {spread(ratios)}")
    influx_bench.claim("8.3/aggregation-pushdown", statistics.median(ratios), detail=detail)
    influx_bench.claim("8.8/ap4-client-side", statistics.median(ratios), detail=detail)
    record_resources(influx_bench, influxdb)


# -- 8.3 optimization 5: a tag filter against the same filter on a field -------------------
SEGMENTS = ("free", "premium", "enterprise")


def _segment_lines(points: int, start_ns: int) -> list[str]:
    """The guide's api_requests: ``user_segment`` both as a tag and, with the same value, as
    a field, so one database answers both filters and both must count the same rows."""
    return [f"api_requests,user_segment={SEGMENTS[i % 3]},endpoint=/api/e{i % 20} "
            f"segment_field=\"{SEGMENTS[i % 3]}\",user_id=\"user_{i * 7919 % 1_000_003}\","
            f"latency_ms={i % 997}i {start_ns + i * 1_000_000_000}"
            for i in range(points)]


@pytest.fixture(scope="module")
def segment_database(influxdb: Any, scale: Any) -> Any:
    from pytest_influxperf.harness import Writer

    lines = _segment_lines(min(scale.query_points, 200_000), 1_451_606_400 * 10**9)
    with scratch_database(influxdb, "idx") as database:
        check_write(Writer(influxdb).write(lines, database=database, batch_size=5000))
        yield database, len(lines)


def test_tag_index(segment_database: Any, runner: Any, influx_bench: Any, influxdb: Any,
                   scale: Any) -> None:
    """Tags are indexed, fields are not: the same count by a tag and by a field."""
    database, points = segment_database
    tag_q = "SELECT COUNT(\"latency_ms\") FROM \"api_requests\" WHERE \"user_segment\" = 'premium'"
    field_q = ("SELECT COUNT(\"latency_ms\") FROM \"api_requests\" WHERE "
               "\"segment_field\" = 'premium'")
    runs = influx_bench.measure(lambda: _record_pair(
        influx_bench, _run_pair(runner, tag_q, field_q, database, scale.query_rounds),
        ("tag filter", "field filter")))
    tag_count = runs["good"][-1].answer.rows[0]["count"]
    assert tag_count == runs["bad"][-1].answer.rows[0]["count"] == (points + 1) // 3  # i % 3 == 1
    ratios = [b / g for b, g in zip(_p50s(runs["bad"]), _p50s(runs["good"]))]
    influx_bench.claim("8.3/tag-index", statistics.median(ratios),
                       detail=f"p50 field/tag over {points:,} points, {spread(ratios)}")
    record_resources(influx_bench, influxdb)


def _record_pair(bench: Any, runs: dict[str, list], names: tuple[str, str]) -> dict[str, list]:
    """Each side's latency, one round per ABAB turn. A turn is a single timed run, so only
    the median over rounds is recorded: a p95 of one run would just repeat it."""
    for side, prefix in zip(("good", "bad"), names):
        latencies = _p50s(runs[side])
        bench.metric(f"{prefix} latency p50", statistics.median(latencies), unit="ms",
                     direction="lower", rounds=latencies)
        bench.info(f"{prefix} rows", runs[side][-1].rows)
        bench.info(f"{prefix} bytes", runs[side][-1].bytes)
    return runs
