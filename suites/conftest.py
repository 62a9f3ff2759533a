"""Suite-level fixtures: the scale, the series factory and the query dataset written once.

Every comparison the guide makes (A against B) is measured in one run, on the same data,
interleaved: round 1 runs A then B, round 2 runs A then B, and so on, so that drift in the
machine's load lands on both sides alike (helpers in ``suitekit.py``). Datasets that many
benchmarks query are written once per session and dropped at the end; write benchmarks
write every round into a fresh database of their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from suitekit import QueryDataset, check_write, scratch_database

from pytest_influxperf import scales
from pytest_influxperf.plugin import option


# -- sizes -----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def scale(pytestconfig: pytest.Config) -> scales.Scale:
    """The sizes of this run (``--influx-scale``, default ``small``)."""
    return scales.get(option(pytestconfig, "influx_scale"))


@pytest.fixture(scope="session")
def seed(pytestconfig: pytest.Config) -> int:
    """Seed of every generated dataset (``--influx-seed``, default 42)."""
    return int(option(pytestconfig, "influx_seed"))


@pytest.fixture(scope="session")
def series_factory(pytestconfig: pytest.Config) -> Any:
    """The session's series factory (the ``influx_series`` fixture is per test; datasets
    shared by a module or the session need one that lives as long)."""
    from pathlib import Path

    from pytest_influxperf.series import SeriesFactory

    cache = getattr(pytestconfig, "cache", None)
    cache_dir = Path(cache.mkdir("influxperf-series")) if cache is not None else None
    return SeriesFactory(cache_dir=cache_dir)


# -- the query dataset ------------------------------------------------------------------
@pytest.fixture(scope="session")
def query_dataset(influxdb: Any, series_factory: Any, scale: scales.Scale,
                  seed: int) -> Iterator[QueryDataset]:
    """``scale.query_hosts`` hosts of TSBS cpu data over ``scale.query_span_s``, written once
    and dropped at the end of the session."""
    from pytest_influxperf.harness import Writer

    series = series_factory("cpu-only", hosts=scale.query_hosts, points=scale.query_points,
                            seed=seed, interval_s=scale.query_interval_s)
    with scratch_database(influxdb, "q") as database:
        result = Writer(influxdb, default_database=database).write(
            series, batch_size=5000, workers=2, timeout=60.0)
        check_write(result)
        client = influxdb.client()
        first = client.query('SELECT FIRST("usage_user") FROM "cpu"', database).rows[0]["time"]
        last = client.query('SELECT LAST("usage_user") FROM "cpu"', database).rows[0]["time"]
        hosts = sorted({row["value"] for row in client.query(
            'SHOW TAG VALUES FROM "cpu" WITH KEY = "hostname"', database).rows},
            key=lambda h: (len(h), h))
        fields = tuple(row["fieldKey"] for row in client.query(
            'SHOW FIELD KEYS FROM "cpu"', database).rows)
        yield QueryDataset(database, "cpu", "hostname", tuple(hosts), fields, len(series),
                           int(first), int(last))
