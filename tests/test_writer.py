"""The Writer against the real influxd of the session (plugin fixtures)."""

from __future__ import annotations

import psutil
import pytest

from pytest_influxperf.errors import DatabaseNotFound
from pytest_influxperf.harness import WriteResult
from pytest_influxperf.harness.accounting import REFUSED

BASE_NS = 1_700_000_000_000_000_000


def lines(n: int, hosts: int = 10, measurement: str = "cpu") -> list[str]:
    """``n`` distinct points over ``hosts`` series, one second apart per series."""
    return [f"{measurement},host=host{i % hosts} usage={i % 97}.5,n={i}i "
            f"{BASE_NS + (i // hosts) * 1_000_000_000}" for i in range(n)]


def assert_balanced(result: WriteResult) -> None:
    assert result.points_sent == result.points_accepted + result.points_rejected
    assert result.points_rejected == result.points_refused + result.points_failed
    assert result.points_total == result.points_sent + result.points_unsent


def test_every_point_is_accepted_and_read_back(influx_writer):
    result = influx_writer.write(lines(12_000), batch_size=5000, verify=True)
    assert_balanced(result)
    assert (result.points_sent, result.points_accepted, result.points_rejected) == (12_000, 12_000, 0)
    assert result.verified_count == 12_000 and result.verified is True
    assert result.requests == result.batches == 3 and result.retries == 0
    assert result.latency_ms.count == 3 and result.latency_ms.p50 > 0
    assert result.errors == [] and result.aborted is None
    assert result.points_per_second == pytest.approx(12_000 / result.elapsed_s)


def test_a_series_like_object_is_written_batch_by_batch(influx_writer):
    class Series:
        def __init__(self, data: list[str]) -> None:
            self.data = data

        def __len__(self) -> int:
            return len(self.data)

        def batches(self, size: int):
            for i in range(0, len(self.data), size):
                yield ("\n".join(self.data[i:i + size]) + "\n").encode()

    result = influx_writer.write(Series(lines(3000)), batch_size=1000, verify=True)
    assert result.batches == 3 and result.verified_count == 3000


@pytest.mark.parametrize("workers", [1, 4])
def test_threads_share_the_batches_without_double_sending(influx_writer, workers):
    result = influx_writer.write(lines(20_000), batch_size=1000, workers=workers, verify=True)
    assert_balanced(result)
    assert result.batches == 20 and result.points_accepted == 20_000
    assert result.verified_count == 20_000


def test_worker_processes_write_their_shares(influx_writer):
    result = influx_writer.write(lines(20_000), batch_size=1000, workers=2, processes=True,
                                 verify=True)
    assert_balanced(result)
    assert result.processes and result.batches == 20 and result.verified_count == 20_000
    assert result.latency_ms.count == 20


def test_gzip_cuts_bytes_on_the_wire_and_the_server_reads_it(influx_writer):
    result = influx_writer.write(lines(10_000), batch_size=5000, gzip=True, gzip_level=6,
                                 verify=True)
    assert result.verified_count == 10_000
    assert result.bytes_on_wire < result.bytes_sent / 3
    assert result.compression_ratio > 3


def _client_ports(server_port: int) -> set[int]:
    """Client-side ports of every TCP connection to the server the kernel still knows
    (open or in TIME_WAIT): each distinct port is one connection."""
    ports = set()
    for conn in psutil.net_connections(kind="tcp"):
        if conn.raddr and conn.raddr.port == server_port and conn.laddr.ip == "127.0.0.1":
            ports.add(conn.laddr.port)
        elif conn.laddr and conn.laddr.port == server_port and conn.raddr:
            ports.add(conn.raddr.port)
    return ports


@pytest.mark.parametrize("pooled", [True, False], ids=["pooled", "unpooled"])
def test_pooled_reuses_connections_and_unpooled_opens_one_per_request(
        influx_writer, influxdb, pooled):
    port = int(influxdb.url.rsplit(":", 1)[1])
    before = _client_ports(port)
    result = influx_writer.write(lines(4000), batch_size=200, workers=2, pooled=pooled)
    new_ports = _client_ports(port) - before
    assert result.requests == 20
    if pooled:
        assert result.connections_opened <= 2
        assert len(new_ports) <= 2 + 2  # + the fixture client's own, at most
    else:
        # Counted by the harness and seen by the kernel: one TCP connection per request.
        assert result.connections_opened == 20
        assert len(new_ports) >= 20


def test_malformed_lines_are_counted_exactly(influx_writer):
    good = lines(1000)
    data = []
    for i, line in enumerate(good):
        data.append(line)
        if i % 27 == 0:
            data.append(f"cpu,host=broken usage= {i}")  # missing field value
    bad = len(data) - len(good)
    result = influx_writer.write(data, batch_size=100, verify=True)
    assert_balanced(result)
    assert result.points_refused == bad and result.points_accepted == 1000
    assert result.verified_count == 1000
    assert result.rejected_by_reason == {REFUSED: bad}
    (record,) = result.errors
    assert record.status == 400 and record.count == result.requests
    assert "unable to parse" in record.message


def test_many_bad_lines_in_one_batch_are_all_counted(influx_writer):
    """The server's message is long (one line per bad line): counting must read it all."""
    data = lines(10) + [f"junk{i}" for i in range(400)]
    result = influx_writer.write(data, batch_size=1000, verify=True)
    assert result.points_refused == 400 and result.points_accepted == 10
    assert result.verified_count == 10


def test_points_dropped_by_the_engine_are_counted(influx_writer):
    """A field type conflict: v1 answers 'partial write: ... dropped=N'."""
    influx_writer.write(lines(10), batch_size=10)
    conflicting = [f"cpu,host=host{i} usage=\"text\" {BASE_NS + 10**12 + i}" for i in range(5)]
    result = influx_writer.write(lines(20, measurement="other") + conflicting, batch_size=100,
                                 verify=True)
    assert_balanced(result)
    assert result.points_refused == 5 and result.points_accepted == 20
    assert result.verified_count == 20
    assert "dropped=5" in result.errors[0].message


def test_a_missing_database_is_a_clear_error_with_the_partial_result(influx_writer):
    with pytest.raises(DatabaseNotFound, match="does not exist: create it first") as info:
        influx_writer.write(lines(3000), database="no_such_db_here", batch_size=1000, workers=2)
    result = info.value.result
    assert_balanced(result)
    assert result.points_accepted == 0 and result.points_refused == result.points_sent > 0
    assert result.aborted


def test_target_rate_paces_the_requests(influx_writer):
    result = influx_writer.write(lines(20_000), batch_size=1000, target_rate=20_000)
    # The 20th request may not start before 19_000 / 20_000 s: pacing, not speed.
    assert result.elapsed_s >= 0.9
    assert result.intended_latency_ms is not None and result.intended_latency_ms.count == 20
    assert result.points_accepted == 20_000


def test_max_duration_stops_sending_and_counts_the_rest_as_unsent(influx_writer):
    result = influx_writer.write(lines(50_000), batch_size=1000, target_rate=10_000,
                                 max_duration=1.0)
    assert_balanced(result)
    assert 0 < result.points_sent < 50_000
    assert result.points_unsent == 50_000 - result.points_sent
    assert result.points_accepted == result.points_sent


def test_server_resources_are_sampled_during_the_run(influx_writer):
    result = influx_writer.write(lines(20_000, hosts=25), batch_size=2000)
    res = result.server_resources
    assert res["rss_bytes_peak"] >= res["rss_bytes_before"] > 0
    assert res["cpu_seconds"] > 0
    assert res["database_disk_bytes"] > 0
    assert res["series_cardinality"] == 25
    assert len(result.resource_samples) >= 2


@pytest.mark.parametrize("kwargs, message", [
    ({"batch_size": 0}, "batch_size must be a positive integer"),
    ({"workers": 0}, "workers must be"),
    ({"timeout": 0}, "timeout must be > 0"),
    ({"precision": "h"}, "precision must be one of"),
    ({"gzip_level": 12}, "gzip_level"),
    ({"target_rate": -1}, "target_rate"),
])
def test_bad_arguments_say_what_to_pass(influx_writer, kwargs, message):
    with pytest.raises(ValueError, match=message):
        influx_writer.write(lines(10), **kwargs)


def test_nothing_to_write_is_an_error(influx_writer):
    with pytest.raises(ValueError, match="nothing to write"):
        influx_writer.write([])


def test_a_generated_series_is_written_with_its_own_precision(influx_writer, influx_series):
    series = influx_series("cpu-only", hosts=5, points=2000, seed=7, precision="s")
    result = influx_writer.write(series, batch_size=500, verify=True)
    assert result.points_accepted == len(series) == result.verified_count
    with pytest.raises(ValueError, match="generated with precision 's'"):
        influx_writer.write(series, precision="ns")


def test_a_missing_database_is_the_same_error_from_worker_processes(influx_writer):
    with pytest.raises(DatabaseNotFound, match="create it first") as info:
        influx_writer.write(lines(2000), database="no_such_db_here", batch_size=1000, workers=2,
                            processes=True)
    assert info.value.result.points_accepted == 0


def test_read_back_expects_duplicates_stored_once(influx_writer):
    """The same point twice is accepted twice and stored once: verify expects just that."""
    data = lines(100) + lines(100)[:30]
    result = influx_writer.write(data, batch_size=50, verify=True)
    assert result.points_accepted == 130 and result.verified_count == 100
    assert result.expected_count == 100 and result.verified is True
    assert "read back" not in result.summary()


@pytest.mark.parametrize("data, stored", [
    (["m a=1 1", "m b=2 2"], 2),   # one series, two timestamps: old verify read back 1
    (["m a=1 1", "m b=2 1"], 1),   # one series and timestamp: merged into one point
], ids=["two-points", "merged"])
def test_read_back_counts_series_and_timestamps(influx_writer, data, stored):
    result = influx_writer.write(data, verify=True)
    assert result.points_accepted == 2
    assert result.verified_count == result.expected_count == stored
    assert result.verified is True


def test_string_fields_with_newlines_count_as_one_point_each(influxdb, influx_database,
                                                             influx_writer):
    from pytest_influxperf.series.lineprotocol import encode_point

    body = "\n".join(encode_point("m", {"h": "a"}, {"s": f"first\nsecond {i}"}, i + 1)
                     for i in range(50))
    result = influx_writer.write(body, batch_size=7)
    assert result.points_sent == result.points_accepted == 50
    rows = influxdb.client().query('SELECT count("s") FROM "m"', influx_database).rows
    assert rows[0]["count"] == 50
