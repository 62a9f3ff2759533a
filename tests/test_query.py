"""The QueryRunner against the real influxd of the session."""

from __future__ import annotations

import threading

import pytest

from pytest_influxperf.errors import DatabaseNotFound, QueryError
from pytest_influxperf.harness import Query

from .test_writer import lines


@pytest.fixture
def loaded(influx_writer):
    result = influx_writer.write(lines(5000, hosts=5), batch_size=5000)
    assert result.points_accepted == 5000
    return influx_writer.default_database


def test_runs_are_timed_after_the_warmup(loaded, influx_query):
    result = influx_query.run('SELECT count("usage") FROM "cpu"', runs=4, warmup=2)
    assert result.runs == 4 and result.warmup == 2
    assert result.latency_ms.count == 4 and result.parse_ms.count == 4
    assert result.rows == 1 and result.answer.rows[0]["count"] == 5000
    assert result.bytes == result.answer.nbytes > 0
    assert result.consistent and result.distinct_answers == 1
    assert "cpu_seconds" in result.server_resources


def test_a_builder_query_is_rendered_for_the_server(loaded, influx_query):
    result = influx_query.run(Query("cpu").aggregate("mean", "usage").group_by("host"), runs=2)
    assert result.query_text.startswith('SELECT MEAN("usage")')
    assert result.rows == 5


def test_a_time_budget_bounds_the_runs(loaded, influx_query):
    result = influx_query.run('SELECT last("usage") FROM "cpu"', budget_s=0.3, warmup=0)
    assert result.runs >= 1 and result.elapsed_s >= 0.3
    capped = influx_query.run('SELECT last("usage") FROM "cpu"', budget_s=30, max_runs=3)
    assert capped.runs == 3


def test_an_error_inside_a_200_answer_raises(loaded, influx_query):
    """InfluxQL reports this in results[].error with HTTP 200: it is not a fast success."""
    with pytest.raises(QueryError, match="aggregate"):
        influx_query.run('SELECT "usage" FROM "cpu" WHERE time > now() - 1h GROUP BY time(1m)',
                         runs=1, warmup=0)


def test_a_missing_database_raises(influx_query):
    with pytest.raises(DatabaseNotFound):
        influx_query.run('SELECT * FROM "cpu"', database="no_such_db_here", runs=1, warmup=0)


def test_changing_answers_are_reported_not_hidden(loaded, influx_query, influxdb):
    stop = threading.Event()

    def keep_writing() -> None:
        client, i = influxdb.client(), 0
        while not stop.is_set() and i < 2000:  # bounded
            client.write(f"cpu,host=new usage=1 {1_800_000_000_000_000_000 + i}", loaded)
            i += 1

    writer = threading.Thread(target=keep_writing, daemon=True)
    writer.start()
    try:
        result = influx_query.run('SELECT count("usage") FROM "cpu"', runs=15, warmup=1)
    finally:
        stop.set()
        writer.join(timeout=30)
    assert not result.consistent and result.distinct_answers > 1


def test_client_side_aggregation_is_timed_in_parts_and_agrees_with_the_server(loaded, influx_query):
    raw = Query("cpu").select("usage", "host")
    client = influx_query.client_side_aggregate(raw, "mean", "usage", runs=2, warmup=1)
    server = influx_query.run(Query("cpu").aggregate("mean", "usage"), runs=2)
    assert client.value == pytest.approx(server.answer.rows[0]["mean_usage"])
    assert client.rows == 5000 and client.bytes > 100 * server.bytes
    for part in (client.transfer_ms, client.parse_ms, client.aggregate_ms, client.total_ms):
        assert part.count == 2
    assert client.total_ms.max >= client.fetch_ms.min
    by_host = influx_query.client_side_aggregate(raw, "count", "usage", by="host", runs=1,
                                                 warmup=0)
    assert dict(by_host.value) == {f"host{i}": 1000 for i in range(5)}


def test_client_side_aggregation_names_a_missing_column(loaded, influx_query):
    with pytest.raises(ValueError, match="not in the answer"):
        influx_query.client_side_aggregate('SELECT "usage" FROM "cpu"', "mean", "nope",
                                           runs=1, warmup=0)


@pytest.mark.parametrize("kwargs, message", [({"runs": 0}, "runs"), ({"warmup": -1}, "warmup"),
                                             ({"budget_s": 0}, "budget_s")])
def test_bad_arguments_say_what_to_pass(influx_query, kwargs, message):
    with pytest.raises(ValueError, match=message):
        influx_query.run('SELECT * FROM "cpu"', **kwargs)


def test_sql_on_a_v1_server_says_it_needs_influxdb_3(influx_query):
    with pytest.raises(QueryError, match="SQL queries need an InfluxDB 3 server"):
        influx_query.run(Query("cpu").select("usage"), language="sql", runs=1, warmup=0)
