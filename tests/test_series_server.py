"""Generated series written to a real influxd read back exactly as ``to_frame()`` says.

Batches are POSTed with plain ``requests``; answers come from the ``influxdb`` PyPI client
(``epoch=ns``), compared per measurement, point by point and field by field.
"""

from __future__ import annotations

import math
from urllib.parse import urlsplit

import pandas as pd
import pytest
import requests

from pytest_influxperf.series import Series, SeriesFactory

from .conftest import require_module

influxdb_client = require_module("influxdb", "pip install -e '.[test]'")

CASES = [
    ("simple", dict(hosts=10, points=2_000)),
    ("cpu-only", dict(hosts=5, points=1_000)),
    ("devops", dict(hosts=2, points=900)),
    ("iot", dict(hosts=10, points=1_500)),
    ("custom", dict(hosts=1, points=600, measurement="odd name,1", tags={"zone": 3, "request id": "uuid"},
                    fields={"t": {"type": "float", "decimals": 4, "min": -1, "max": 1},
                            "big": {"type": "int", "dist": "uniform", "min": -9e15, "max": 9e15},
                            "up": "bool",
                            "note": {"type": "str", "choices": ['q"uote', "b\\s", "new\nline", "é,= "]}})),
    ("cpu-only", dict(hosts=3, points=300, precision="s", align_now=True)),
]


@pytest.fixture
def store(influxdb, influx_database):
    """(write(series), query(q)) against the test database, independent of our client."""
    if influxdb.api != "v1":
        pytest.skip("the read-back client speaks the v1 API")
    url = urlsplit(influxdb.url)
    client = influxdb_client.InfluxDBClient(host=url.hostname, port=url.port, database=influx_database,
                                            timeout=30)
    session = requests.Session()
    precisions = {"ns": "n", "us": "u", "ms": "ms", "s": "s"}

    def write(series: Series) -> None:
        for batch in series.batches(5_000):
            r = session.post(f"{influxdb.url}/write", data=batch, timeout=30,
                             params={"db": influx_database, "precision": precisions[series.precision]})
            assert r.status_code == 204, r.text

    yield write, client
    client.close()
    session.close()


def _quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


@pytest.mark.parametrize(("shape", "params"), CASES, ids=[f"{s}-{i}" for i, (s, _) in enumerate(CASES)])
def test_series_reads_back_as_its_frame(store, shape, params):
    write, client = store
    series = SeriesFactory(None)(shape, seed=11, **params)
    write(series)
    frame = series.to_frame()
    for meas in series.measurements:
        expected = frame[frame["measurement"] == meas]
        tags = series.tag_keys[meas]
        fields = series.field_keys[meas]
        answer = client.query(f"SELECT * FROM {_quote(meas)}", epoch="ns").raw["series"]
        assert len(answer) == 1
        got_rows = [dict(zip(answer[0]["columns"], v)) for v in answer[0]["values"]]
        assert len(got_rows) == len(expected), meas

        def key(time_ns, row):
            return (time_ns,) + tuple(None if _missing(row[t]) else row[t] for t in tags)

        got = {key(r["time"], r): r for r in got_rows}
        times = expected["time"].astype("int64").tolist()
        for time_ns, (_, row) in zip(times, expected.iterrows()):
            stored = got[key(time_ns, row)]
            for name, kind in fields.items():
                want, have = row[name], stored[name]
                if _missing(want):
                    assert have is None, (meas, name)
                elif kind == "float":
                    assert isinstance(have, (int, float)) and float(have) == float(want), (meas, name)
                elif kind == "int":
                    assert type(have) is int and have == int(want), (meas, name)
                else:
                    assert have == want, (meas, name)
