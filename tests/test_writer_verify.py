"""``verify=True`` counts what InfluxDB stores: one point per series key and timestamp.

No server here: the parsing of the data and the read-back arithmetic are checked against
hand-counted cases and a stand-in client that answers the two read-back queries as
influxd 1.x does. ``test_writer.py`` runs the same cases against a real influxd.
"""

from __future__ import annotations

import dataclasses
import gzip

from pytest_influxperf.harness.writer import _count_stored, _raw_bodies, point_keys, prepare_batches


def keys(*bodies: str):
    return point_keys([b.encode() for b in bodies])


def test_points_of_one_series_with_different_fields_are_two_points():
    """The issue's case: old verify read back 1 (the largest per-field count), not 2."""
    found = keys("m a=1 1\nm b=2 2\n")
    assert (found.duplicates, found.uniform_fields) == (0, False)


def test_the_same_series_and_timestamp_is_one_point():
    # 3 lines, 2 keys: (m{h=a}, 5) twice - the tags in another order are the same series
    found = keys("m,h=a,g=b v=1 5\n", "m,g=b,h=a v=2 5\nm,h=b v=1 5\n")
    assert (found.duplicates, found.uniform_fields) == (1, True)


def test_a_repeated_block_counts_each_repeat_once():
    lines = [f"cpu,host=host{i % 10} usage={i}.5 {1000 + i // 10}" for i in range(100)]
    body = "\n".join(lines + lines[:30]) + "\n"
    assert keys(body).duplicates == 30


def test_points_without_timestamp_share_the_clock_of_their_request():
    # the server stamps a request's points with one time: two in one request merge,
    # one in another request is a point of its own
    assert keys("m v=1\nm v=2\n", "m v=3\n").duplicates == 1


def test_lines_that_do_not_parse_are_not_counted():
    found = keys("m v=1 1\njunk\ncpu,host=broken usage= 3\nm v=1 1\n")
    assert (found.duplicates, found.uniform_fields) == (1, True)


def test_gzipped_bodies_are_read_as_sent():
    batches = prepare_batches(["m a=1 1", "m a=2 1"], 10, gzip=True)
    assert gzip.decompress(batches[0].body) == b"m a=1 1\nm a=2 1\n"
    assert point_keys(_raw_bodies(batches, True)).duplicates == 1


@dataclasses.dataclass
class Answer:
    rows: list[dict]


class StandIn:
    """``server.client().query(q, db)`` answering as influxd 1.x does for ``m a=1 1`` and
    ``m b=2 2``: one series, each field counted once, two rows of ``SELECT *``."""

    def __init__(self) -> None:
        self.queries: list[str] = []

    def client(self) -> StandIn:
        return self

    def query(self, q: str, database: str) -> Answer:
        self.queries.append(q)
        if q.startswith("SELECT count(*)"):
            return Answer([{"name": "m", "time": 0, "count_a": 1, "count_b": 1}])
        return Answer([{"name": "m", "time": 1, "a": 1.0, "b": None},
                       {"name": "m", "time": 2, "a": None, "b": 2.0}])


def test_read_back_counts_rows_when_fields_differ():
    server = StandIn()
    assert _count_stored(server, "db", by_row=False) == 1  # what the old verify reported
    assert _count_stored(server, "db", by_row=True) == 2
    assert server.queries == ["SELECT count(*) FROM /.*/ GROUP BY *",
                              "SELECT * FROM /.*/ GROUP BY *"]
