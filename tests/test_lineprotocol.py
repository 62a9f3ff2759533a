"""Line protocol encoding, without a server: escaping, refusals, and encode/parse agreement.

The same rules are checked against a real influxd in ``test_lineprotocol_server.py``.
"""

from __future__ import annotations

import math
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_influxperf.errors import EncodingError
from pytest_influxperf.series.lineprotocol import (
    INT64_MAX,
    INT64_MIN,
    encode_point,
    escape_key,
    escape_measurement,
    escape_string_value,
    parse_line,
)
from pytest_influxperf.series.strategies import points

# CI (CI=true) replays a fixed set of examples; local runs explore new ones.
IN_CI = bool(os.environ.get("CI"))


@pytest.mark.parametrize(
    ("measurement", "tags", "fields", "ts", "expected"),
    [
        ("cpu", {"host": "a"}, {"v": 1.5}, 10, "cpu,host=a v=1.5 10"),
        ("cpu load", {}, {"v": 1}, None, "cpu\\ load v=1i"),
        ("a,b", {"k,1": "v 1"}, {"f=x": 2}, 1, "a\\,b,k\\,1=v\\ 1 f\\=x=2i 1"),
        ("m=eq", {"k=": "=v"}, {"x": True}, 1, "m=eq,k\\==\\=v x=true 1"),
        ("m", {"b": "2", "a": "1"}, {"z": False, "y": "s"}, 1, 'm,a=1,b=2 z=false,y="s" 1'),
        ("m", {}, {"s": 'say "hi" \\ bye'}, 1, 'm s="say \\"hi\\" \\\\ bye" 1'),
        ("m", {}, {"i": INT64_MIN, "j": INT64_MAX}, 1, f"m i={INT64_MIN}i,j={INT64_MAX}i 1"),
        ("m", {}, {"f": 1e300, "g": -0.1, "h": 3.0}, 1, "m f=1e+300,g=-0.1,h=3.0 1"),
        ("m\\x", {"k": "a\\b"}, {"v": 1}, 1, "m\\x,k=a\\b v=1i 1"),
        ("mü", {"ключ": "値"}, {"😀": "ü"}, 1, 'mü,ключ=値 😀="ü" 1'),
    ],
)
def test_encode_point_escapes_per_the_reference(measurement, tags, fields, ts, expected):
    assert encode_point(measurement, tags, fields, ts) == expected


def test_escape_helpers():
    assert escape_measurement("a b,c=d") == "a\\ b\\,c=d"
    assert escape_key("a b,c=d") == "a\\ b\\,c\\=d"
    assert escape_string_value('a"b\\c\nd') == '"a\\"b\\\\c\nd"'


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("m", {}, {"v": math.nan}, 1), ["'v'", "nan"]),
        (("m", {}, {"v": math.inf}, 1), ["'v'", "inf"]),
        (("m", {}, {"v": -math.inf}, 1), ["'v'", "-inf"]),
        (("m", {"host": ""}, {"v": 1}, 1), ["'host'", "empty"]),
        (("m", {"host": "a\nb"}, {"v": 1}, 1), ["'a\\nb'", "newline"]),
        (("m", {"a\nb": "x"}, {"v": 1}, 1), ["'a\\nb'", "newline"]),
        (("m\n", {}, {"v": 1}, 1), ["measurement", "newline"]),
        (("", {}, {"v": 1}, 1), ["measurement", "empty"]),
        (("#m", {}, {"v": 1}, 1), ["'#m'", "comment"]),
        (("m", {"time": "x"}, {"v": 1}, 1), ["'time'", "'x'"]),
        (("m", {}, {"time": 1}, 1), ["'time'"]),
        (("m", {}, {"": 1}, 1), ["field key", "empty"]),
        (("m", {}, {"v": 2**63}, 1), ["'v'", str(2**63)]),
        (("m", {}, {"v": INT64_MIN - 1}, 1), ["'v'", str(INT64_MIN - 1)]),
        (("m", {}, {"v": None}, 1), ["'v'", "None"]),
        (("m", {}, {}, 1), ["at least one field"]),
        (("m", {"k": "ends\\"}, {"v": 1}, 1), ["'ends\\\\'", "backslash"]),
        (("m", {"k": "a\\,b"}, {"v": 1}, 1), ["backslash"]),
        (("m", {}, {"f\\": 1}, 1), ["field key", "backslash"]),
        (("m", {}, {"v": 1}, 1.5), ["1.5"]),
        (("\tm", {}, {"v": 1}, 1), ["measurement", "tab"]),
        (("m", {}, {"\x00v": 1}, 1), ["field key", "NUL"]),
        (("m", {"k": 5}, {"v": 1}, 1), ["5", "int"]),
    ],
)
def test_what_cannot_be_encoded_is_refused_with_its_name_and_value(args, words):
    with pytest.raises(EncodingError) as info:
        encode_point(*args)
    for word in words:
        assert word in str(info.value)


def test_encoding_error_is_also_a_value_error():
    with pytest.raises(ValueError):
        encode_point("m", {}, {"v": math.nan}, 1)


def test_parse_line_reads_what_encode_point_wrote():
    line = encode_point("a b", {"k,=": "v v"}, {"s": 'x"y\\', "i": -5, "b": True, "f": 0.5}, 7)
    assert parse_line(line) == ("a b", {"k,=": "v v"}, {"s": 'x"y\\', "i": -5, "b": True, "f": 0.5}, 7)


@settings(max_examples=200, deadline=None, derandomize=IN_CI)
@given(points())
def test_any_encodable_point_parses_back_identically(point):
    measurement, tags, fields, ts = point
    got = parse_line(encode_point(measurement, tags, fields, ts))
    assert got[0] == measurement
    assert got[1] == tags
    assert got[3] == ts
    assert list(got[2]) == list(fields)
    for key, value in fields.items():
        assert type(got[2][key]) is type(value), key
        assert got[2][key] == value, key


# -- cutting bodies into points (what the writer counts) -----------------------------
from pytest_influxperf.series.lineprotocol import count_points, split_points  # noqa: E402


@pytest.mark.parametrize(("body", "expected"), [
    (b"m v=1 1\nm v=2 2\n", [b"m v=1 1", b"m v=2 2"]),
    (b'm s="two\nlines" 1\nm v=2 2', [b'm s="two\nlines" 1', b"m v=2 2"]),
    (b'm s="esc \\" quote\nstill" 1\n', [b'm s="esc \\" quote\nstill" 1']),
    (b'm,t=a"b v=1 1\nm v=2 2\n', [b'm,t=a"b v=1 1', b"m v=2 2"]),  # a quote in a tag is literal
    (b"# comment\n\n  \nm v=1 1\n", [b"m v=1 1"]),
    (b'broken "line\nm v=1 1', [b'broken "line', b"m v=1 1"]),
])
def test_split_points_follows_the_servers_quoting(body, expected):
    assert split_points(body) == expected
    assert count_points(body) == len(expected)


@settings(derandomize=IN_CI)
@given(st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1),
                min_size=1, max_size=20))
def test_a_string_field_with_newlines_is_one_point(values):
    body = "\n".join(encode_point("m", {}, {"s": v}, i) for i, v in enumerate(values)).encode()
    assert count_points(body) == len(values)
    assert [parse_line(p.decode())[2]["s"] for p in split_points(body)] == values
