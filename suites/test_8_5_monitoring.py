"""Guide 8.5 (memory) and 8.6 (disk I/O) monitors as figures: the server's RSS, CPU time and
bytes on disk while it takes a write load, and the Go runtime's own heap figures.

The guide's ``MemoryMonitor`` polls psutil for the ``influxd`` process; the harness's
resource sampler does the same for the server of this run (every benchmark records the
same figures at its end through ``record_resources``).
"""

from __future__ import annotations

from typing import Any

import pytest
from suitekit import check_write, record_resources, runtime_stats, scratch_database

pytestmark = pytest.mark.influx_bench(group="8.5 monitoring")

MB = 1024 * 1024


@pytest.mark.parametrize("shape", ["simple", "cpu-only"])
def test_resources_under_write_load(shape: str, influxdb: Any, influx_writer: Any,
                                    series_factory: Any, influx_bench: Any, scale: Any,
                                    seed: int) -> None:
    """RSS before/after/peak, CPU seconds per 100,000 points, bytes on disk per point,
    series cardinality and Go heap, for ``scale.write_points`` points of ``shape``."""
    series = series_factory(shape, hosts=100, points=scale.write_points, seed=seed)

    def measure() -> Any:
        with scratch_database(influxdb, "mon") as database:
            heap_before = runtime_stats(influxdb).get("HeapInUse")
            result = check_write(influx_writer.write(series, database=database,
                                                     batch_size=5000))
            heap_after = runtime_stats(influxdb).get("HeapInUse")
            influx_bench.record_write(result)
        res = result.server_resources
        if res.get("cpu_seconds") is not None:
            influx_bench.metric("server cpu seconds per 100k points",
                                res["cpu_seconds"] / result.points_accepted * 100_000,
                                unit="s", direction="lower")
        for key in ("rss_bytes_before", "rss_bytes_after", "rss_bytes_peak"):
            if res.get(key) is not None:
                influx_bench.info(f"server {key[:-6]} MB", round(res[key] / MB, 1))
        if res.get("database_disk_bytes"):
            influx_bench.info("database bytes on disk per point (file lengths)",
                              round(res["database_disk_bytes"] / result.points_accepted, 2))
        if res.get("series_cardinality") is not None:
            influx_bench.info("series cardinality", res["series_cardinality"])
        if heap_before and heap_after:
            influx_bench.info("go heap in use growth MB", round((heap_after - heap_before) / MB, 1))
        return result

    result = influx_bench.measure(measure)
    assert result.points_accepted == len(series)
    record_resources(influx_bench, influxdb)
