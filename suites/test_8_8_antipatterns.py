"""Guide 8.8, anti-patterns 1 (high-cardinality tags) and 5 (single-point writes).

Anti-patterns 2, 3 and 4 are queries: they are measured with their 8.3 twins in
``test_8_3_queries.py`` (the time filter, SELECT * and client-side aggregation pairs).
"""

from __future__ import annotations

import statistics
from typing import Any

import pytest

from pytest_influxperf.servers.disk import bytes_on_disk
from suitekit import (check_write, fresh_write, interleave, median_ratio,
                      record_resources, heap_after_gc, scratch_database, spread)

pytestmark = pytest.mark.influx_bench(group="8.8 anti-patterns")

MB = 1024 * 1024
SEGMENTS = ("free", "premium", "enterprise")
GUIDE_POINTS = 100_000  # anti-pattern 5 writes 100,000 points one by one


# -- anti-pattern 1 ----------------------------------------------------------------------
def _events(points: int, *, as_tag: bool) -> list[str]:
    """The guide's user_events: one user id per point, as a tag (bad) or a field (good);
    the same ids, segments, values and times either way."""
    start = 1_451_606_400 * 10**9
    out = []
    for i in range(points):
        user = f"{(i * 2_654_435_761) % 2**32:08x}-{i:08d}"   # unique, UUID-like
        seg, t, v = SEGMENTS[i % 3], start + i * 1_000_000_000, i % 1000
        if as_tag:
            out.append(f"user_events,user_segment={seg},user_id={user} value={v}i {t}")
        else:
            out.append(f"user_events,user_segment={seg} user_id=\"{user}\",value={v}i {t}")
    return out


def _write_schema(server: Any, writer: Any, lines: list[str], query: str,
                  runs: int) -> dict[str, Any]:
    from pytest_influxperf.harness import QueryRunner

    with scratch_database(server, "card") as database:
        heap0 = heap_after_gc(server)
        rss0 = server.resources().rss_bytes
        result = check_write(writer.write(lines, database=database, batch_size=5000))
        heap1 = heap_after_gc(server)
        rss1 = server.resources().rss_bytes
        card = server.client().query("SHOW SERIES CARDINALITY", database).rows
        q = QueryRunner(server).run(query, database=database, runs=runs, warmup=1,
                                    sample_resources=False)
        root = getattr(server, "root", None)
        disk = None if root is None else (bytes_on_disk(root / "data" / database)
                                          + bytes_on_disk(root / "wal" / database))
    return {"write": result, "query": q, "disk": disk,
            "heap": (heap1 - heap0) if heap0 and heap1 else None,
            "rss": (rss1 - rss0) if rss0 and rss1 else None,
            "series": sum(v for row in card for k, v in row.items()
                          if k != "_measurement" and isinstance(v, (int, float)))}


COUNT_QUERY = "SELECT COUNT(\"value\") FROM \"user_events\" WHERE \"user_segment\" = 'premium'"


@pytest.fixture(scope="module")
def cardinality_runs(influxdb: Any, scale: Any) -> dict[str, Any]:
    """One zero-argument run per schema (write into a fresh database, measure, drop)."""
    from pytest_influxperf.harness import Writer

    writer = Writer(influxdb)
    data = {name: _events(scale.cardinality_points, as_tag=name == "tags")
            for name in ("tags", "fields")}
    return {name: (lambda lines=lines: _write_schema(influxdb, writer, lines, COUNT_QUERY,
                                                     scale.query_rounds))
            for name, lines in data.items()}


@pytest.fixture(scope="module")
def cardinality_sweep(cardinality_runs: dict[str, Any],
                      scale: Any) -> dict[str, list[dict[str, Any]]]:
    return interleave(cardinality_runs, scale.rounds)


@pytest.mark.parametrize("schema", ["tags", "fields"])
def test_high_cardinality(schema: str, cardinality_sweep: dict[str, list[dict[str, Any]]],
                          cardinality_runs: dict[str, Any], influx_bench: Any, influxdb: Any,
                          scale: Any) -> None:
    """Anti-pattern 1: a unique id per point as a tag against the same id as a field:
    write throughput, series cardinality, server memory growth, bytes on disk, a query."""
    rounds = cardinality_sweep[schema]

    def record(r: dict[str, Any]) -> None:
        influx_bench.record_write(r["write"])
        influx_bench.record_query(r["query"], prefix="count by segment")

    for r in rounds:
        record(r)
    influx_bench.remeasure(lambda: record(cardinality_runs[schema]()))
    influx_bench.info("series cardinality", rounds[-1]["series"])
    for key, label in (("heap", "go heap growth after GC MB"), ("rss", "server rss growth MB"),
                       ("disk", "bytes on disk MB")):
        values = [r[key] for r in rounds if r[key] is not None]
        if values:
            influx_bench.info(label, round(statistics.median(values) / MB, 2))
    if schema == "tags":
        tags, fields = cardinality_sweep["tags"], cardinality_sweep["fields"]
        assert tags[-1]["series"] > 100 * fields[-1]["series"], "the tag schema did not " \
            "create a series per id: the comparison is void"
        influx_bench.info("write points/s fields over tags", round(median_ratio(
            [r["write"].points_per_second for r in fields],
            [r["write"].points_per_second for r in tags]), 3))
        grow = [(t["heap"], f["heap"]) for t, f in zip(tags, fields) if t["heap"] and f["heap"]]
        if grow:
            ratios = [t / f for t, f in grow if f > 0]
            if ratios:
                influx_bench.claim("8.8/ap1-memory", statistics.median(ratios),
                                   detail=f"Go heap growth (after GC) tag/field, {spread(ratios)}")
            per_series = statistics.median(max(0, t - f) for t, f in grow) / tags[-1]["series"]
            influx_bench.claim("8.8/ap1-index-size", per_series * 1_000_000 / 1e9,
                               detail=f"extrapolated from {tags[-1]['series']:,} series: "
                                      f"{per_series:,.0f} B of live heap per series")
        q = median_ratio([r["query"].latency_ms.p50 for r in tags],
                         [r["query"].latency_ms.p50 for r in fields])
        influx_bench.claim("8.8/ap1-queries", q, detail="p50 of a count by segment, tag/field")
    record_resources(influx_bench, influxdb)


# -- anti-pattern 5 ----------------------------------------------------------------------
@pytest.fixture(scope="module")
def single_point_runs(influxdb: Any, series_factory: Any, scale: Any, seed: int) -> dict[str, Any]:
    """One zero-argument write per mode: single points (``scale.single_points`` of them),
    or the whole series in batches of 5,000."""
    from pytest_influxperf.harness import Writer

    series = series_factory("simple", hosts=10, points=scale.write_points, seed=seed)
    first = next(iter(series.batches(scale.single_points)))
    singles = first.splitlines()
    writer = Writer(influxdb)
    return {
        "single": lambda: check_write(fresh_write(influxdb, writer, singles, batch_size=1)),
        "batched": lambda: check_write(fresh_write(influxdb, writer, series, batch_size=5000)),
    }


@pytest.fixture(scope="module")
def single_point_sweep(single_point_runs: dict[str, Any], scale: Any) -> dict[str, list[Any]]:
    return interleave(single_point_runs, scale.rounds)


@pytest.mark.parametrize("mode", ["single", "batched"])
def test_single_point_writes(mode: str, single_point_sweep: dict[str, list[Any]],
                             single_point_runs: dict[str, Any], influx_bench: Any,
                             influxdb: Any, scale: Any) -> None:
    """Anti-pattern 5: one point per request against batches of 5,000.

    Single-point writes are measured on ``scale.single_points`` points (1,000 at small),
    not the guide's 100,000: the rate is measured, the time for 100,000 is extrapolated
    from it (reported as such)."""
    for result in single_point_sweep[mode]:
        influx_bench.record_write(result)
    influx_bench.remeasure(lambda: influx_bench.record_write(single_point_runs[mode]()))
    pps = statistics.median(r.points_per_second for r in single_point_sweep[mode])
    influx_bench.info(f"extrapolated s for {GUIDE_POINTS:,} points", round(GUIDE_POINTS / pps, 2))
    if mode == "single":
        influx_bench.info("points really sent per round", scale.single_points)
        ratio = median_ratio([r.points_per_second for r in single_point_sweep["batched"]],
                             [r.points_per_second for r in single_point_sweep["single"]])
        detail = (f"points/s batched over single ({scale.single_points:,} single-point "
                  f"writes measured, 100,000 extrapolated: {GUIDE_POINTS / pps:,.0f} s)")
        influx_bench.claim("8.8/ap5-single-point", ratio, detail=detail)
        influx_bench.claim("takeaway/batching", ratio, detail=detail)
        single_ms = statistics.median(r.latency_ms.p50 for r in single_point_sweep["single"])
        for claim in ("8.8/ap5-request-time", "8.7/request-overhead"):
            influx_bench.claim(claim, single_ms, detail="p50 of one single-point write, loopback")
    else:
        batch_ms = statistics.median(r.latency_ms.p50 for r in single_point_sweep["batched"])
        influx_bench.claim("8.8/ap5-batch-time", batch_ms, detail="p50 of one 5,000-point write")
    record_resources(influx_bench, influxdb)
