"""Guide 8.1 (storage efficiency) and 8.6/8.10 (disk, capacity): bytes per point on disk
and the compression ratio against raw line protocol, measured on a server of its own.

influxd 1.x keeps fresh writes in its WAL and cache and writes compressed TSM files only
when the cache is snapshotted (after 10 minutes without writes, by default). This module
starts its own ``influxd`` (the same binary as the run's) with a 2-second cold period and
a cache too large to snapshot early, so that one write is first measured as WAL and then
as TSM: the first gives the compaction figure, the second bytes per point and the
compression ratio. The measured bytes per point feed the guide's capacity formula
(``influxperf capacity --from-report`` reads the same ``disk_bytes_per_point`` info key).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from pytest_influxperf.servers.disk import bytes_on_disk, file_bytes
from suitekit import check_write, record_resources, scratch_database

pytestmark = pytest.mark.influx_bench(group="8.6 storage")

COLD = {"cache-snapshot-write-cold-duration": "2s", "compact-full-write-cold-duration": "2s",
        "cache-snapshot-memory-size": "1g", "cache-max-memory-size": "2g"}
SETTLE_TIMEOUT_S = 60.0


@pytest.fixture(scope="module")
def storage_server(influxdb: Any) -> Iterator[Any]:
    """A second influxd with short cold periods: the run's binary with the process provider,
    else the ``influxd`` on PATH (the docker provider's image is built from it)."""
    from pytest_influxperf.servers.process import ProcessServer, find_binary

    binary = find_binary(getattr(influxdb, "binary", None))
    if binary is None:
        pytest.skip("bytes on disk are measured on an influxd of the suite's own, and none is "
                    "installed (apt-get install influxdb, or --influx-binary PATH)")
    with ProcessServer(binary, config={"data": COLD}) as server:
        yield server


def _settle(server: Any, database: str) -> tuple[int, int]:
    """Wait (bounded) until the WAL is snapshotted into TSM files; ``(tsm bytes, seconds)``."""
    data, wal = server.root / "data" / database, server.root / "wal" / database
    began, last = time.monotonic(), -1
    while time.monotonic() - began < SETTLE_TIMEOUT_S:
        tsm = file_bytes(data, "*.tsm")
        if tsm and file_bytes(wal, "*.wal") == 0 and tsm == last:
            return tsm, round(time.monotonic() - began)
        last = tsm
        time.sleep(1.0)
    raise AssertionError(f"influxd did not snapshot its WAL within {SETTLE_TIMEOUT_S:.0f}s "
                         f"(WAL {file_bytes(wal, '*.wal'):,} B, "
                         f"TSM {file_bytes(data, '*.tsm'):,} B)")


@pytest.mark.parametrize("shape", ["simple", "cpu-only"])
def test_bytes_per_point(shape: str, storage_server: Any, series_factory: Any, influx_bench: Any,
                         influxdb: Any, scale: Any, seed: int) -> None:
    """Raw line protocol, WAL and TSM bytes per point of ``scale.write_points`` points."""
    from pytest_influxperf.capacity import GIB, REPORT_DISK_KEY, REPORT_RAW_KEY, estimate
    from pytest_influxperf.harness import Writer

    series = series_factory(shape, hosts=100, points=scale.write_points, seed=seed)
    raw = series.nbytes
    with scratch_database(storage_server, "st") as database:
        result = check_write(Writer(storage_server).write(series, database=database,
                                                          batch_size=5000))
        wal = file_bytes(storage_server.root / "wal" / database, "*.wal")
        tsm, waited = _settle(storage_server, database)
        index = bytes_on_disk(storage_server.root / "data" / database / "_series")
    points = result.points_accepted
    influx_bench.record_write(result)
    influx_bench.metric("disk bytes per point", tsm / points, unit="B", direction="lower")
    influx_bench.info(REPORT_DISK_KEY, round(tsm / points, 3))
    influx_bench.info(REPORT_RAW_KEY, round(raw / points, 3))
    influx_bench.info("wal_bytes_per_point", round(wal / points, 3))
    influx_bench.info("series file bytes allocated", index)
    influx_bench.info("seconds until TSM", waited)
    influx_bench.info("storage server",
                      f"own influxd {storage_server.version} ({storage_server.binary})")
    influx_bench.claim("8.1/compression", raw / tsm,
                       detail=f"{shape}: {raw / points:.1f} B raw -> {tsm / points:.2f} B TSM "
                              "per point (series index not counted)")
    if wal:
        influx_bench.claim("8.1/compaction", 100 * (1 - tsm / wal),
                           detail=f"{shape}: WAL {wal:,} B -> TSM {tsm:,} B")
    # the guide's capacity example (1,000 points/s, 90 days) with this measured size
    est = estimate(points_per_second=1000, point_size_bytes=raw / points, retention_days=90,
                   compression_ratio=raw / tsm)
    influx_bench.info("capacity 1000 pts/s 90 d provision GiB (measured)",
                      round(est.recommended_bytes / GIB, 2))
    record_resources(influx_bench, influxdb)
