"""Guide 8.2, write performance tuning: batch size, parallel writers, connection pooling,
gzip.

Each sweep runs once per module, interleaved (every variant once per round, every round
into a fresh database, on the same series); the parametrized tests then record their own
variant's rounds and the guide claims that compare it with another variant.
"""

from __future__ import annotations

import statistics
from typing import Any

import pytest

from suitekit import check_write, fresh_write, interleave, median_ratio, record_resources, spread

pytestmark = pytest.mark.influx_bench(group="8.2 writes")

BATCH_REFERENCE = 100  # the guide's batch table is read against its first row
BATCH_SIZES = (100, 500, 1_000, 5_000, 10_000, 20_000)
WORKERS = (1, 2, 4, 8)
GZIP_BATCH = 10_000


def _pps(results: list[Any]) -> list[float]:
    return [r.points_per_second for r in results]


@pytest.fixture(scope="module")
def write_series(series_factory: Any, scale: Any, seed: int) -> Any:
    """The guide's benchmark lines (``benchmark,host=serverNN value=i``), 10 hosts as in
    its parallel example, ``scale.write_points`` of them (100,000 at ``small``)."""
    return series_factory("simple", hosts=10, points=scale.write_points, seed=seed)


@pytest.fixture(scope="module")
def writer(influxdb: Any) -> Any:
    from pytest_influxperf.harness import Writer

    return Writer(influxdb)


def _sweep(influxdb: Any, writer: Any, series: Any, rounds: int,
           variants: dict[Any, dict[str, Any]]) -> dict[Any, list[Any]]:
    return interleave({key: (lambda kw=kw: check_write(fresh_write(influxdb, writer, series,
                                                                   **kw)))
                       for key, kw in variants.items()}, rounds)


@pytest.fixture(scope="module")
def batch_sweep(influxdb: Any, writer: Any, write_series: Any, scale: Any) -> dict[int, list[Any]]:
    return _sweep(influxdb, writer, write_series, scale.rounds,
                  {size: {"batch_size": size} for size in scale.batch_sizes})


@pytest.fixture(scope="module")
def workers_sweep(influxdb: Any, writer: Any, write_series: Any,
                  scale: Any) -> dict[int, list[Any]]:
    return _sweep(influxdb, writer, write_series, scale.rounds,
                  {n: {"batch_size": 5000, "workers": n} for n in scale.workers})


@pytest.fixture(scope="module")
def pooling_series(series_factory: Any, scale: Any, seed: int) -> Any:
    """"High-frequency writes": many small requests, where a TCP handshake per request shows."""
    return series_factory("simple", hosts=10, points=scale.pooling_points, seed=seed)


@pytest.fixture(scope="module")
def pooling_sweep(influxdb: Any, writer: Any, pooling_series: Any,
                  scale: Any) -> dict[bool, list[Any]]:
    return _sweep(influxdb, writer, pooling_series, scale.rounds,
                  {pooled: {"batch_size": scale.pooling_batch, "pooled": pooled}
                   for pooled in (True, False)})


@pytest.fixture(scope="module")
def gzip_series(series_factory: Any, scale: Any, seed: int) -> Any:
    """Tags and several fields per line, like the guide's gzip example."""
    return series_factory("cpu-only", hosts=100, points=scale.write_points, seed=seed)


@pytest.fixture(scope="module")
def gzip_sweep(influxdb: Any, writer: Any, gzip_series: Any, scale: Any) -> dict[bool, list[Any]]:
    return _sweep(influxdb, writer, gzip_series, scale.rounds,
                  {gz: {"batch_size": GZIP_BATCH, "gzip": gz} for gz in (False, True)})


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
def test_batch_size(batch_size: int, batch_sweep: dict[int, list[Any]], influxdb: Any,
                    writer: Any, write_series: Any, influx_bench: Any) -> None:
    """8.2 optimization 1: points/s and batch latency per batch size; claims against the
    guide's table, each size read against batch 100 as the guide's table is."""
    if batch_size not in batch_sweep:
        pytest.skip(f"batch size {batch_size} is not part of this scale")
    for result in batch_sweep[batch_size]:
        influx_bench.record_write(result)
    influx_bench.info("batch_size", batch_size)
    influx_bench.remeasure(lambda: influx_bench.record_write(
        check_write(fresh_write(influxdb, writer, write_series, batch_size=batch_size))))
    if batch_size != BATCH_REFERENCE and BATCH_REFERENCE in batch_sweep:
        ratios = [a / b for a, b in zip(_pps(batch_sweep[batch_size]),
                                        _pps(batch_sweep[BATCH_REFERENCE]))]
        influx_bench.claim(f"8.2/batch-{batch_size}", statistics.median(ratios),
                           detail=f"points/s vs batch 100, {spread(ratios)}")
    if batch_size == 20_000 and 10_000 in batch_sweep:
        ratio = median_ratio(_pps(batch_sweep[10_000]), _pps(batch_sweep[20_000]))
        influx_bench.claim("8.2/batch-20000-diminishing", ratio,
                           detail="points/s of batch 10,000 over batch 20,000")
    if batch_size == 5_000:
        p99 = statistics.median(r.latency_ms.p99 for r in batch_sweep[5_000])
        influx_bench.claim("8.1/write-latency-p99", p99, detail="batch of 5,000 points")
    record_resources(influx_bench, influxdb)


def test_batch_optimum(batch_sweep: dict[int, list[Any]], influx_bench: Any, influxdb: Any,
                       writer: Any, write_series: Any) -> None:
    """8.1/8.2: where the best batch size lies (median points/s over the rounds)."""
    medians = {size: statistics.median(_pps(rs)) for size, rs in batch_sweep.items()}
    best = max(medians, key=medians.__getitem__)
    for size, pps in medians.items():
        influx_bench.info(f"batch {size} points/s", round(pps))
    influx_bench.metric("best batch points/s", medians[best], unit="points/s",
                        direction="higher", rounds=_pps(batch_sweep[best]))
    influx_bench.info("best batch size", best)
    influx_bench.remeasure(lambda: influx_bench.metric(
        "best batch points/s", check_write(fresh_write(influxdb, writer, write_series,
                                                       batch_size=best)).points_per_second,
        unit="points/s", direction="higher"))
    influx_bench.claim("8.1/batch-optimum", best,
                       detail=", ".join(f"{s}: {p:,.0f}/s" for s, p in medians.items()))
    record_resources(influx_bench, influxdb)


@pytest.mark.parametrize("workers", WORKERS)
def test_parallel_writers(workers: int, workers_sweep: dict[int, list[Any]], influxdb: Any,
                          writer: Any, write_series: Any, influx_bench: Any) -> None:
    """8.2 optimization 2: 1, 2, 4 and 8 writer threads at batch 5,000."""
    for result in workers_sweep[workers]:
        influx_bench.record_write(result)
    influx_bench.info("workers", workers)
    influx_bench.remeasure(lambda: influx_bench.record_write(check_write(
        fresh_write(influxdb, writer, write_series, batch_size=5000, workers=workers))))
    if workers in (4, 8) and 1 in workers_sweep:
        ratios = [a / b for a, b in zip(_pps(workers_sweep[workers]), _pps(workers_sweep[1]))]
        influx_bench.claim(f"8.2/parallel-{workers}", statistics.median(ratios),
                           detail=f"points/s vs 1 writer, {spread(ratios)}")
    record_resources(influx_bench, influxdb)


@pytest.mark.parametrize("pooled", [True, False], ids=["pooled", "new-connection"])
def test_connection_pooling(pooled: bool, pooling_sweep: dict[bool, list[Any]], influxdb: Any,
                            writer: Any, pooling_series: Any, influx_bench: Any,
                            scale: Any) -> None:
    """8.2 optimization 3: keep-alive connections against a new TCP connection per request,
    at ``scale.pooling_batch`` points per request."""
    influx_bench.remeasure(lambda: influx_bench.record_write(check_write(fresh_write(
        influxdb, writer, pooling_series, batch_size=scale.pooling_batch, pooled=pooled))))
    for result in pooling_sweep[pooled]:
        influx_bench.record_write(result)
        influx_bench.info("connections opened", result.connections_opened)
    influx_bench.info("batch_size", scale.pooling_batch)
    if not pooled:
        on, off = pooling_sweep[True], pooling_sweep[False]
        influx_bench.claim("8.2/pooling", median_ratio(_pps(on), _pps(off)),
                           detail=f"points/s pooled over unpooled, {scale.pooling_batch}/request")
        overhead = [b.latency_ms.p50 - a.latency_ms.p50 for a, b in zip(on, off)]
        for claim in ("8.2/pooling-overhead", "8.7/keepalive-overhead"):
            influx_bench.claim(claim, statistics.median(overhead),
                               detail=f"p50 per request over loopback, {spread(overhead)} ms")
    record_resources(influx_bench, influxdb)


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
def test_gzip(gzip: bool, gzip_sweep: dict[bool, list[Any]], influxdb: Any, writer: Any,
              gzip_series: Any, influx_bench: Any) -> None:
    """8.2 optimization 4 / 8.7: gzip on and off, with bytes on the wire and the ratio."""
    influx_bench.remeasure(lambda: influx_bench.record_write(check_write(fresh_write(
        influxdb, writer, gzip_series, batch_size=GZIP_BATCH, gzip=gzip))))
    for result in gzip_sweep[gzip]:
        influx_bench.record_write(result)
    last = gzip_sweep[gzip][-1]
    influx_bench.info("bytes per point on the wire", last.bytes_on_wire / last.points_accepted)
    if gzip:
        detail = f"{last.bytes_sent:,} -> {last.bytes_on_wire:,} bytes, TSBS cpu, level 6"
        influx_bench.claim("8.2/gzip-ratio", last.bytes_sent / last.bytes_on_wire, detail=detail)
        influx_bench.claim("8.2/gzip-savings", 100 * (1 - last.bytes_on_wire / last.bytes_sent),
                           detail=detail)
        plain = gzip_sweep[False]
        influx_bench.info("points/s gzip over plain (loopback)",
                          round(median_ratio(_pps(gzip_sweep[True]), _pps(plain)), 3))
    record_resources(influx_bench, influxdb)
