"""Series shapes, without a server: bytes agree with the frame, seeds, order, validation.

The central check parses every line the fast renderer wrote with the reference parser
(``lineprotocol.parse_line``) and compares it, field by field, with ``to_frame()``.
"""

from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pandas as pd
import pytest

from pytest_influxperf.errors import EncodingError
from pytest_influxperf.series import Series, SeriesFactory
from pytest_influxperf.series.lineprotocol import parse_line
from pytest_influxperf.series.shapes import CPU_FIELDS, HOST_TAG_KEYS, TSBS_START_NS

CUSTOM = dict(
    measurement="my meas,x=y",
    tags={"region": 3, "dc": 2, "req id": "uuid"},
    fields={
        "temp": {"type": "float", "dist": "walk", "min": -50, "max": 50, "decimals": 2},
        "count": {"type": "int", "dist": "uniform", "min": -1000, "max": 1000},
        "ok": "bool",
        "msg": {"type": "str", "choices": ['say "hi"', "back\\slash", "a,b=c d", "ü😀", "line\nbreak"]},
        "n": {"type": "float", "dist": "normal", "mean": 0, "std": 1e6, "decimals": 0},
    },
)

SHAPES = [
    ("simple", {}),
    ("cpu-only", {}),
    ("devops", {}),
    ("iot", {}),
    ("custom", CUSTOM),
]


@pytest.fixture
def make() -> SeriesFactory:
    return SeriesFactory(cache_dir=None)


def _frame_point(row: pd.Series, series: Series) -> tuple:
    meas = row["measurement"]
    tags = {k: row[k] for k in series.tag_keys[meas] if isinstance(row[k], str)}
    fields = {}
    for key, kind in series.field_keys[meas].items():
        value = row[key]
        if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
            continue
        fields[key] = {"float": float, "int": int, "bool": bool, "str": str}[kind](value)
    return meas, tags, fields


def assert_lines_match_frame(series: Series) -> None:
    """Every line, parsed, equals its frame row: measurement, tags, fields and types, time."""
    frame = series.to_frame()
    lines = list(series.lines())
    assert len(lines) == len(frame) == len(series)
    unit = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000}[series.precision]
    times = frame["time"].astype("int64").to_numpy()
    for i, line in enumerate(lines):
        meas, tags, fields, ts = parse_line(line)
        f_meas, f_tags, f_fields = _frame_point(frame.iloc[i], series)
        assert (meas, tags) == (f_meas, f_tags), line
        assert ts * unit == times[i], line
        assert list(fields) == list(f_fields), line
        for key, value in fields.items():
            assert type(value) is type(f_fields[key]) and value == f_fields[key], (line, key)


@pytest.mark.parametrize(("shape", "params"), SHAPES, ids=[s for s, _ in SHAPES])
def test_lines_agree_with_the_frame(make, shape, params):
    series = make(shape, hosts=4, points=777, seed=3, **params)
    assert len(series) == 777
    assert_lines_match_frame(series)


@pytest.mark.parametrize(("shape", "params"), SHAPES, ids=[s for s, _ in SHAPES])
def test_batches_are_whole_lines_and_add_up(make, shape, params):
    if shape == "custom":  # a newline inside a string value would spoil the line count below
        params = {**params, "fields": {"v": {"type": "str", "choices": ["a b", 'q"']}}}
    series = make(shape, hosts=3, points=1001, seed=1, **params)
    batches = list(series.batches(100))
    assert len(batches) == 11
    assert all(isinstance(b, bytes) and b.endswith(b"\n") for b in batches)
    assert [b.count(b"\n") for b in batches] == [100] * 10 + [1]
    assert sum(map(len, batches)) == series.nbytes == len(series.to_bytes())
    assert b"".join(batches) == series.to_bytes()


@pytest.mark.parametrize(("shape", "params"), SHAPES, ids=[s for s, _ in SHAPES])
def test_deterministic_for_a_seed(make, shape, params):
    a = make(shape, hosts=3, points=500, seed=42, **params)
    b = make(shape, hosts=3, points=500, seed=42, **params)
    c = make(shape, hosts=3, points=500, seed=43, **params)
    assert a.to_bytes() == b.to_bytes()
    pd.testing.assert_frame_equal(a.to_frame(), b.to_frame())
    if shape != "simple":  # the guide's lines have nothing random in them
        assert a.to_bytes() != c.to_bytes()


@pytest.mark.parametrize(("shape", "params"), SHAPES, ids=[s for s, _ in SHAPES])
def test_no_two_points_share_a_series_and_time(make, shape, params):
    series = make(shape, hosts=5, points=3000, seed=9, **params)
    frame = series.to_frame()
    tag_cols = sorted({k for keys in series.tag_keys.values() for k in keys})
    assert not frame.duplicated(subset=["measurement", "time"] + tag_cols).any()


def test_simple_is_the_guides_lines(make):
    series = make("simple", hosts=10, points=2500, seed=0)
    expected = [f"benchmark,host=server{i % 10:02d} value={i} {TSBS_START_NS + i * 1_000_000}"
                for i in range(2500)]
    assert list(series.lines()) == expected
    assert series.measurements == ["benchmark"]
    assert series.field_keys == {"benchmark": {"value": "float"}}


def test_cpu_only_is_tsbs_cpu(make):
    series = make("cpu-only", hosts=7, points=7 * 300, seed=5)
    frame = series.to_frame()
    assert series.tag_keys == {"cpu": sorted(HOST_TAG_KEYS)}
    assert list(series.field_keys["cpu"]) == CPU_FIELDS
    values = frame[CPU_FIELDS].to_numpy()
    assert values.min() >= 0 and values.max() <= 100
    # A random walk: consecutive values of one host differ by small steps, mostly.
    host0 = frame[frame["hostname"] == "host_0"]["usage_user"].to_numpy()
    assert len(host0) == 300 and np.median(np.abs(np.diff(host0))) <= 2
    times = frame["time"].astype("int64").to_numpy()
    assert np.all(np.diff(times.reshape(300, 7)[:, 0]) == 10 * 10**9)
    assert frame.groupby("hostname")["region"].nunique().max() == 1
    line = next(series.lines())
    assert re.fullmatch(r"cpu,arch=x(64|86),datacenter=\S+,hostname=host_0,.* usage_user=\d+i,.*,"
                        r"usage_guest_nice=\d+i \d{19}", line)


def test_cpu_only_cuts_the_last_tick_short(make):
    series = make("cpu-only", hosts=4, points=10, seed=1)
    frame = series.to_frame()
    assert list(frame["hostname"]) == ["host_0", "host_1", "host_2", "host_3"] * 2 + ["host_0", "host_1"]


def test_devops_writes_nine_measurements_per_host_per_tick(make):
    series = make("devops", hosts=2, points=2 * 9 * 5, seed=2)
    frame = series.to_frame()
    names = ["cpu", "diskio", "disk", "kernel", "mem", "net", "nginx", "postgresql", "redis"]
    assert series.measurements == names
    assert list(frame["measurement"][:18]) == names * 2
    assert list(frame["hostname"][:18]) == ["host_0"] * 9 + ["host_1"] * 9
    assert "serial" in series.tag_keys["diskio"] and "interface" in series.tag_keys["net"]
    mem = frame[frame["measurement"] == "mem"]
    assert (mem["used"] + mem["available"] == mem["total"]).all()
    assert series.field_keys["mem"]["used_percent"] == "float"
    counters = frame[frame["measurement"] == "net"].groupby("hostname")["bytes_sent"]
    assert counters.apply(lambda s: bool(np.all(np.diff(s.to_numpy()) >= 0))).all()


def test_iot_has_missing_late_and_partial_points(make):
    hosts, points = 20, 20_000
    series = make("iot", hosts=hosts, points=points, seed=4)
    frame = series.to_frame()
    assert series.measurements == ["readings", "diagnostics"]
    assert frame["name"].notna().all()
    times = frame["time"].astype("int64").to_numpy()
    assert (np.diff(times) < 0).sum() > 100, "some lines arrive after later ones"
    ticks = (series.end_ns - series.start_ns) // series.interval_ns + 1
    expected_if_complete = ticks * hosts * 2
    assert len(series) < 0.95 * expected_if_complete, "about 10 % of lines go missing"
    readings = frame[frame["measurement"] == "readings"]
    partial = readings[list(series.field_keys["readings"])].isna().any(axis=1).mean()
    assert 0.07 < partial < 0.13, "10 % of lines leave one field out"
    assert frame[["fleet", "driver", "model"]].isna().any(axis=1).sum() > 0


def test_custom_tags_fields_and_uuid(make):
    series = make("custom", hosts=1, points=600, seed=8, **CUSTOM)
    frame = series.to_frame()
    assert series.measurements == ["my meas,x=y"]
    assert frame.groupby(["region", "dc"]).ngroups == 6
    assert frame["req id"].is_unique
    assert frame["req id"].str.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}").all()
    assert frame["temp"].between(-50, 50).all()
    assert frame["count"].between(-1000, 1000).all() and frame["count"].dtype == np.int64
    assert frame["ok"].dtype == bool and frame["ok"].any() and not frame["ok"].all()
    assert set(frame["msg"]) <= set(CUSTOM["fields"]["msg"]["choices"])
    assert series.field_keys["my meas,x=y"] == {"temp": "float", "count": "int", "ok": "bool",
                                                "msg": "str", "n": "float"}
    assert_lines_match_frame(series)


def test_custom_default_is_one_float_per_host(make):
    series = make("custom", hosts=3, points=30, seed=1)
    assert series.tag_keys == {"custom": ["host"]}
    assert set(series.to_frame()["host"]) == {"host_0", "host_1", "host_2"}


@pytest.mark.parametrize("precision", ["s", "ms", "us", "ns"])
def test_precision(make, precision):
    series = make("cpu-only", hosts=2, points=20, seed=1, precision=precision)
    assert series.precision == precision
    digits = {"s": 10, "ms": 13, "us": 16, "ns": 19}[precision]
    assert all(len(line.rsplit(" ", 1)[1]) == digits for line in series.lines())
    assert_lines_match_frame(series)


def test_start_and_interval(make):
    start = dt.datetime(2020, 5, 1, 12, tzinfo=dt.timezone.utc)
    a = make("cpu-only", hosts=2, points=6, start=start, interval_s=60)
    b = make("cpu-only", hosts=2, points=6, start="2020-05-01T12:00:00Z", interval_s=60)
    c = make("cpu-only", hosts=2, points=6, start=int(start.timestamp()) * 10**9, interval_s=60)
    assert a.to_bytes() == b.to_bytes() == c.to_bytes()
    assert a.start_ns == int(start.timestamp()) * 10**9
    assert a.end_ns - a.start_ns == 2 * 60 * 10**9


def test_align_now_ends_at_now(make):
    now = 1_700_000_123_456_789_000
    series = make("cpu-only", hosts=3, points=300, seed=1, align_now=True, now_ns=now)
    assert series.end_ns == now // (10 * 10**9) * (10 * 10**9)
    assert series.end_ns - series.start_ns == 99 * 10 * 10**9
    assert_lines_match_frame(series)
    shifted = make("simple", points=1000, align_now=True, now_ns=now)
    assert shifted.end_ns == now // 10**6 * 10**6
    assert_lines_match_frame(shifted)


def test_align_now_default_is_recent(make):
    import time

    series = make("simple", points=100, align_now=True)
    assert abs(series.end_ns - time.time_ns()) < 60 * 10**9


@pytest.mark.parametrize(
    ("args", "kwargs", "error", "words"),
    [
        (("nope",), {}, ValueError, ["'nope'", "simple", "cpu-only", "devops", "iot", "custom"]),
        (("simple",), {"measurement": "x"}, TypeError, ["measurement"]),
        (("simple",), {"points": 0}, ValueError, ["points"]),
        (("simple",), {"hosts": True}, ValueError, ["hosts"]),
        (("simple",), {"seed": -1}, ValueError, ["seed"]),
        (("simple",), {"precision": "m"}, ValueError, ["precision", "'m'"]),
        (("simple",), {"precision": "s"}, ValueError, ["interval_s"]),
        (("cpu-only",), {"interval_s": 0.5, "precision": "s"}, ValueError, ["interval_s", "overwrite"]),
        (("cpu-only",), {"interval_s": -1}, ValueError, ["interval_s"]),
        (("cpu-only",), {"start": 1, "align_now": True}, ValueError, ["align_now"]),
        (("cpu-only",), {"now_ns": 1}, ValueError, ["align_now"]),
        (("cpu-only",), {"start": "yesterday"}, ValueError, ["'yesterday'", "ISO"]),
        (("cpu-only",), {"start": dt.datetime(2020, 1, 1)}, ValueError, ["time zone"]),
        (("custom",), {"tags": {"a": 0}}, ValueError, ["'a'", "cardinality"]),
        (("custom",), {"tags": {"a": 1000, "b": 1001}}, ValueError, ["series"]),
        (("custom",), {"fields": {"x": "complex"}}, ValueError, ["'x'", "'complex'"]),
        (("custom",), {"fields": {"x": {"type": "float", "dist": "zipf"}}}, ValueError, ["'zipf'"]),
        (("custom",), {"tags": {"a": 2}, "fields": {"a": "int"}}, ValueError, ["'a'", "both"]),
        (("custom",), {"fields": {}}, ValueError, ["fields"]),
        (("custom",), {"measurement": "#m"}, EncodingError, ["'#m'"]),
        (("custom",), {"tags": {"bad\n": 2}}, EncodingError, ["newline"]),
        (("custom",), {"fields": {"time": "int"}}, EncodingError, ["'time'"]),
    ],
)
def test_arguments_are_checked_up_front(make, args, kwargs, error, words):
    with pytest.raises(error) as info:
        make(*args, **kwargs)
    for word in words:
        assert word in str(info.value)


def test_batch_size_is_checked(make):
    series = make("simple", points=10)
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="batch size"):
            list(series.batches(bad))


@pytest.mark.parametrize("shape", ["cpu-only", "devops", "iot"])
def test_thread_count_does_not_change_the_data(make, shape, monkeypatch):
    from pytest_influxperf.series import threads

    many = make(shape, hosts=4, points=20_000, seed=5).to_bytes()
    monkeypatch.setattr(threads, "THREADS", 1)
    assert make(shape, hosts=4, points=20_000, seed=5).to_bytes() == many
